//! The append-only log file: the ledger's source of truth.
//!
//! Each record is a frame that can be checked on its own (PROTOCOL.md §"The log file"):
//!
//! ```text
//! u32 len | u8 flags | 3 zero bytes | 8-byte header check | entry encoding (len bytes) | entry hash (32)
//! ```
//!
//! The header check is the first 8 bytes of blake3 `derive_key("sunshine-ledger v1 log frame",
//! first 8 header bytes)`, so a damaged length or flag is told apart from a write cut short; the
//! entry hash checks the rest. Flag bit 0 marks the last record of a group commit. The writer
//! appends a whole group in one positional write and one `sync_data`, and acknowledges nothing
//! in the group before the sync returns.
//!
//! Opening scans the log read-only ([`scan`]). Only damage that can be proven to be an
//! unfinished final write is a torn tail, which the caller may cut ([`LogWriter::open`]): it
//! lies after the last whole group, nothing valid follows it, and it is a header cut short, a
//! record cut short behind a valid header, or a zero-filled end. Anything else is corruption:
//! the scan names the entry and byte offset and the file is left byte-for-byte as it was,
//! because serving or cutting a damaged ledger is worse than not serving it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use ledger_core::entry::{hash_encoded, ChainHead, Entry, ENTRY_HEADER_BYTES};
use ledger_core::limits::{MAX_ENVELOPE_BYTES, MAX_GROUP_ENTRIES};
use ledger_core::Hash;

/// The log's file name inside a data directory. Only this module and `engine::create` know it.
pub const LOG_FILE: &str = "ledger.log";

/// Bytes of a frame header.
pub const FRAME_HEADER_BYTES: usize = 16;
const FRAME_TRAILER_BYTES: usize = 32;
/// Largest entry encoding a valid log can hold.
const MAX_ENTRY_BYTES: usize = ENTRY_HEADER_BYTES + MAX_ENVELOPE_BYTES;
/// Largest record, and largest group commit: a torn tail is never longer than one group.
pub const MAX_RECORD_BYTES: usize = FRAME_HEADER_BYTES + MAX_ENTRY_BYTES + FRAME_TRAILER_BYTES;
pub const MAX_GROUP_BYTES: u64 = MAX_RECORD_BYTES as u64 * MAX_GROUP_ENTRIES as u64;
const FLAG_GROUP_END: u8 = 1;
const FRAME_CONTEXT: &str = "sunshine-ledger v1 log frame";
/// A write cut short leaves zeros at least this long at the end of a record (its entry hash),
/// which one flipped bit cannot produce.
const MIN_TORN_ZEROS: u64 = FRAME_TRAILER_BYTES as u64;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("log file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("账本日志在第 {sequence} 条（字节 {offset}）损坏，节点拒绝启动，文件未被改动；请保留 {path} 的副本，并从备份恢复数据目录（或向见证方和邻居索取已公布的快照）。\nThe log is corrupt at entry {sequence} (byte offset {offset}): {what}. The node will not serve or cut a damaged ledger, and left the file as it was. Stop here, keep a copy of {path}, and restore the data directory from a backup (or ask the witnesses and neighbours for the published snapshot); see RELIABILITY.md.")]
    Corrupt {
        path: PathBuf,
        sequence: u64,
        offset: u64,
        what: String,
    },
    #[error("账本日志 {path} 上次写入失败且无法恢复到最后一个完整批次，在此之前不再写入；请检查磁盘。\nLog file {path}: an earlier write failed and the file could not be cut back to its last whole group ({source}); nothing more is written until it can. Check the disk")]
    Poisoned { path: PathBuf, source: io::Error },
}

/// One whole record of a whole group, found by the scan.
pub struct Scanned {
    pub entry: Entry,
    pub hash: Hash,
    pub offset: u64,
}

/// An unfinished final write found by the scan: `[from, from + bytes)` may be cut.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    pub from: u64,
    pub bytes: u64,
    /// Whole records in the unfinished group (never acknowledged, cut with it).
    pub records: u64,
    pub why: &'static str,
}

/// What the read-only scan found.
pub struct ScanReport {
    pub entries: u64,
    /// Where the last whole group ends.
    pub end: u64,
    pub head: ChainHead,
    pub torn: Option<TornTail>,
}

/// How a frame header reads.
#[derive(Debug, PartialEq, Eq)]
enum Header {
    Valid { len: usize, group_end: bool },
    Zero,
    Damaged(&'static str),
}

fn header_check(first8: &[u8]) -> [u8; 8] {
    let hash = ledger_core::hashing::derive(FRAME_CONTEXT, &[first8]);
    hash[..8].try_into().expect("8 bytes")
}

fn encode_header(len: usize, group_end: bool) -> [u8; FRAME_HEADER_BYTES] {
    assert!((ENTRY_HEADER_BYTES..=MAX_ENTRY_BYTES).contains(&len));
    let mut h = [0u8; FRAME_HEADER_BYTES];
    h[0..4].copy_from_slice(&(len as u32).to_be_bytes());
    h[4] = if group_end { FLAG_GROUP_END } else { 0 };
    let check = header_check(&h[0..8]);
    h[8..16].copy_from_slice(&check);
    h
}

fn parse_header(h: &[u8; FRAME_HEADER_BYTES]) -> Header {
    if h.iter().all(|b| *b == 0) {
        return Header::Zero;
    }
    if header_check(&h[0..8]) != h[8..16] {
        return Header::Damaged("its frame header check does not match (length or flags damaged)");
    }
    let len = u32::from_be_bytes(h[0..4].try_into().expect("4 bytes")) as usize;
    if h[4] & !FLAG_GROUP_END != 0 || h[5..8] != [0, 0, 0] {
        return Header::Damaged("its frame header has unknown flags");
    }
    if !(ENTRY_HEADER_BYTES..=MAX_ENTRY_BYTES).contains(&len) {
        return Header::Damaged("its frame header gives an impossible length");
    }
    Header::Valid {
        len,
        group_end: h[4] & FLAG_GROUP_END != 0,
    }
}

fn frame_bytes(len: usize) -> u64 {
    (FRAME_HEADER_BYTES + len + FRAME_TRAILER_BYTES) as u64
}

/// The records of one group commit, as one buffer written with one write.
#[derive(Default)]
pub struct GroupRecords {
    buf: Vec<u8>,
    last: Option<(usize, usize)>,
    sizes: Vec<u64>,
}

impl GroupRecords {
    pub fn push(&mut self, entry: &Entry, hash: &Hash) {
        let start = self.buf.len();
        self.buf.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
        entry.encode_into(&mut self.buf);
        let len = self.buf.len() - start - FRAME_HEADER_BYTES;
        self.buf[start..start + FRAME_HEADER_BYTES].copy_from_slice(&encode_header(len, false));
        self.buf.extend_from_slice(hash);
        self.last = Some((start, len));
        self.sizes.push(frame_bytes(len));
    }

    pub fn is_empty(&self) -> bool {
        self.last.is_none()
    }

    /// Each record's size in bytes, in order.
    pub fn sizes(&self) -> &[u64] {
        &self.sizes
    }

    /// The group's bytes, its last record marked as the end of the group.
    fn finish(&mut self) -> &[u8] {
        let (start, len) = self.last.expect("a group has at least one record");
        self.buf[start..start + FRAME_HEADER_BYTES].copy_from_slice(&encode_header(len, true));
        &self.buf
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads the log at `path` without changing it, calls `each` for every record of every whole
/// group in order, and reports where the whole groups end and any torn tail after them.
pub fn scan(
    path: &Path,
    each: impl FnMut(Scanned) -> Result<(), LogError>,
) -> Result<ScanReport, LogError> {
    scan_from(path, 0, ChainHead::default(), each)
}

/// As [`scan`], from byte `start`, which must be the end of a whole group whose last entry
/// gives `head` (a point the node recorded itself, checked by the caller): only the tail
/// after it is read.
pub fn scan_from(
    path: &Path,
    start: u64,
    start_head: ChainHead,
    mut each: impl FnMut(Scanned) -> Result<(), LogError>,
) -> Result<ScanReport, LogError> {
    let file = File::open(path).map_err(io_err(path))?;
    let file_len = file.metadata().map_err(io_err(path))?.len();
    assert!(start <= file_len, "a resume point inside the log");
    let mut reader = io::BufReader::with_capacity(1 << 20, &file);
    io::Seek::seek(&mut reader, io::SeekFrom::Start(start)).map_err(io_err(path))?;
    let corrupt = |sequence: u64, offset: u64, what: String| LogError::Corrupt {
        path: path.to_path_buf(),
        sequence,
        offset,
        what,
    };
    let mut committed = start_head.clone();
    let mut head = start_head;
    let mut group_start = start;
    // Records read but not yet known to belong to a whole group.
    let mut pending: Vec<Scanned> = Vec::new();
    let mut offset = start;
    let mut damage: Option<&'static str> = None;
    let mut buf = Vec::new();
    while offset < file_len {
        let remaining = file_len - offset;
        if remaining < FRAME_HEADER_BYTES as u64 {
            damage = Some("the file ends inside a frame header");
            break;
        }
        let mut h = [0u8; FRAME_HEADER_BYTES];
        reader.read_exact(&mut h).map_err(io_err(path))?;
        let (len, group_end) = match parse_header(&h) {
            Header::Valid { len, group_end } => (len, group_end),
            Header::Zero => {
                damage = Some("zero bytes where a frame header should be");
                break;
            }
            Header::Damaged(what) => {
                damage = Some(what);
                break;
            }
        };
        if frame_bytes(len) > remaining {
            damage = Some("the file ends inside the record");
            break;
        }
        buf.resize(len + FRAME_TRAILER_BYTES, 0);
        reader.read_exact(&mut buf).map_err(io_err(path))?;
        let (encoded, stored) = buf.split_at(len);
        let hash = hash_encoded(encoded);
        if hash != stored {
            damage = Some("its stored hash does not match its content");
            break;
        }
        // A checked frame whose entry does not decode or link was written wrong, not torn.
        let sequence = head.next_sequence;
        let entry = Entry::decode(encoded).map_err(|e| corrupt(sequence, offset, e.to_string()))?;
        head.link_hashed(&entry, hash)
            .map_err(|e| corrupt(sequence, offset, e.to_string()))?;
        pending.push(Scanned {
            entry,
            hash,
            offset,
        });
        offset += frame_bytes(len);
        if group_end {
            for scanned in pending.drain(..) {
                each(scanned)?;
            }
            committed = head.clone();
            group_start = offset;
        }
    }
    let torn = if damage.is_none() && pending.is_empty() {
        None
    } else {
        let at = if damage.is_some() { offset } else { file_len };
        let sequence = head.next_sequence;
        let why = damage.unwrap_or("the last group has no end mark");
        Some(
            torn_tail(&file, file_len, group_start, at, pending.len() as u64, why)
                .map_err(|e| e.into_log_error(path, sequence, at))?,
        )
    };
    Ok(ScanReport {
        entries: committed.next_sequence,
        end: group_start,
        head: committed,
        torn,
    })
}

/// Why damage at `at` is not a torn tail.
enum NotTorn {
    Io(io::Error),
    Corrupt(String),
}

impl NotTorn {
    fn into_log_error(self, path: &Path, sequence: u64, offset: u64) -> LogError {
        match self {
            NotTorn::Io(source) => LogError::Io {
                path: path.to_path_buf(),
                source,
            },
            NotTorn::Corrupt(what) => LogError::Corrupt {
                path: path.to_path_buf(),
                sequence,
                offset,
                what,
            },
        }
    }
}

/// Decides whether the bytes from `group_start` on are an unfinished final write, given that
/// the first damage (or the end of the file) is at `at`.
fn torn_tail(
    file: &File,
    file_len: u64,
    group_start: u64,
    at: u64,
    records: u64,
    why: &'static str,
) -> Result<TornTail, NotTorn> {
    let bytes = file_len - group_start;
    if bytes > MAX_GROUP_BYTES {
        return Err(NotTorn::Corrupt(format!(
            "{why}, and the {bytes} bytes after the last whole group are more than one group \
             commit can write"
        )));
    }
    let mut tail = vec![0u8; (file_len - at) as usize];
    file.read_exact_at(&mut tail, at).map_err(NotTorn::Io)?;
    let zeros_from = tail.len() - tail.iter().rev().take_while(|b| **b == 0).count();
    // A header cut short (or the file ends on a record boundary mid-group), or zeros from a
    // record's start: the group's blocks never reached the disk.
    let unfinished = if tail.len() < FRAME_HEADER_BYTES || zeros_from == 0 {
        true
    } else {
        let header: [u8; FRAME_HEADER_BYTES] = tail[..FRAME_HEADER_BYTES].try_into().expect("16");
        match parse_header(&header) {
            Header::Valid { len, .. } => {
                let frame = frame_bytes(len);
                let zeros = tail.len() as u64 - zeros_from as u64;
                // Cut short behind a valid header, or its end (with its hash) never written.
                frame > tail.len() as u64
                    || (zeros >= MIN_TORN_ZEROS && (zeros_from as u64) < frame)
            }
            Header::Zero | Header::Damaged(_) => false,
        }
    };
    if !unfinished {
        return Err(NotTorn::Corrupt(format!(
            "{why}; this is not a write cut short"
        )));
    }
    if let Some(found) = whole_record_in(&tail[1.min(tail.len())..]) {
        return Err(NotTorn::Corrupt(format!(
            "{why}, and a whole record follows at byte offset {}",
            at + 1 + found as u64
        )));
    }
    Ok(TornTail {
        from: group_start,
        bytes,
        records,
        why,
    })
}

/// The position of the first whole, checked record anywhere in `bytes`, if any.
fn whole_record_in(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len().saturating_sub(FRAME_HEADER_BYTES)).find(|&i| {
        let header: [u8; FRAME_HEADER_BYTES] = bytes[i..i + FRAME_HEADER_BYTES]
            .try_into()
            .expect("16 bytes");
        // Cheap tests first: reserved bytes are zero and the length is possible.
        if header[5..8] != [0, 0, 0] || header[4] & !FLAG_GROUP_END != 0 {
            return false;
        }
        let Header::Valid { len, .. } = parse_header(&header) else {
            return false;
        };
        let end = i + frame_bytes(len) as usize;
        end <= bytes.len() && {
            let encoded = &bytes[i + FRAME_HEADER_BYTES..i + FRAME_HEADER_BYTES + len];
            hash_encoded(encoded) == bytes[end - FRAME_TRAILER_BYTES..end]
        }
    })
}

pub struct LogWriter {
    file: File,
    path: PathBuf,
    len: u64,
    /// Set when a failed group could not be cut back: the file may be longer than `len`.
    poisoned: bool,
}

/// Reads records at known offsets; shared by every reader thread (`read_at` takes `&self`).
pub struct LogReader {
    file: File,
    path: PathBuf,
}

/// Creates a new, empty log file (never over an existing one) and makes its name durable.
pub fn create(path: &Path) -> Result<LogWriter, LogError> {
    // Not `create_new`: an operator may point `ledger.log` at another disk with a symlink.
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err(path))?;
    let len = file.metadata().map_err(io_err(path))?.len();
    if len != 0 {
        return Err(LogError::Io {
            path: path.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("it already holds {len} bytes; a new ledger is never written over a log"),
            ),
        });
    }
    file.sync_all().map_err(io_err(path))?;
    sync_parent_dir(path).map_err(io_err(path))?;
    Ok(LogWriter {
        file,
        path: path.to_path_buf(),
        len: 0,
        poisoned: false,
    })
}

/// fsyncs the directory holding `path`, so a file just created there survives a power loss.
pub fn sync_parent_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

impl LogWriter {
    /// Opens the scanned log for appending after its last whole group, cutting the torn tail
    /// the scan found (only that: the caller has decided that cutting it is safe).
    pub fn open(path: &Path, report: &ScanReport) -> Result<LogWriter, LogError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        let len = file.metadata().map_err(io_err(path))?.len();
        match &report.torn {
            None => assert_eq!(len, report.end, "the log changed since it was scanned"),
            Some(torn) => {
                assert_eq!(torn.from, report.end);
                assert_eq!(
                    len,
                    torn.from + torn.bytes,
                    "the log changed since it was scanned"
                );
                file.set_len(report.end).map_err(io_err(path))?;
                file.sync_all().map_err(io_err(path))?;
            }
        }
        Ok(LogWriter {
            file,
            path: path.to_path_buf(),
            len: report.end,
            poisoned: false,
        })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a group of records and makes them durable; returns where the group starts. On
    /// failure the file is cut back to where it was, so the next group starts on a group
    /// boundary; if even that fails, nothing more is written until a later call can cut it.
    pub fn append_durable(&mut self, group: &mut GroupRecords) -> Result<u64, LogError> {
        if self.poisoned {
            self.cut_back()?;
        }
        let start = self.len;
        let bytes = group.finish();
        let result = self
            .file
            .write_all_at(bytes, start)
            .and_then(|_| self.file.sync_data());
        if let Err(source) = result {
            if let Err(cut) = self.cut_back() {
                tracing::error!(error = %cut, "could not cut a failed group back");
            }
            return Err(LogError::Io {
                path: self.path.clone(),
                source,
            });
        }
        self.len += bytes.len() as u64;
        Ok(start)
    }

    /// Cuts the file back to the end of the last durable group.
    fn cut_back(&mut self) -> Result<(), LogError> {
        let result = self
            .file
            .set_len(self.len)
            .and_then(|_| self.file.sync_all());
        self.poisoned = result.is_err();
        result.map_err(|source| LogError::Poisoned {
            path: self.path.clone(),
            source,
        })
    }

    pub fn reader(&self) -> Result<LogReader, LogError> {
        let file = File::open(&self.path).map_err(io_err(&self.path))?;
        Ok(LogReader {
            file,
            path: self.path.clone(),
        })
    }
}

impl LogReader {
    /// A reader of the log at `path` (for checks before the writer opens it).
    pub fn open(path: &Path) -> Result<LogReader, LogError> {
        let file = File::open(path).map_err(io_err(path))?;
        Ok(LogReader {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Reads and checks the record at `offset`.
    pub fn read_at(&self, offset: u64) -> Result<(Entry, Hash), LogError> {
        self.read_record(offset)
            .map(|(entry, hash, _)| (entry, hash))
    }

    /// Reads and checks the record at `offset`; also returns where it ends and whether it
    /// ends its group.
    pub fn read_record(&self, offset: u64) -> Result<(Entry, Hash, (u64, bool)), LogError> {
        let corrupt = |what: String| LogError::Corrupt {
            path: self.path.clone(),
            sequence: u64::MAX,
            offset,
            what,
        };
        let mut header = [0u8; FRAME_HEADER_BYTES];
        self.file
            .read_exact_at(&mut header, offset)
            .map_err(io_err(&self.path))?;
        let (len, group_end) = match parse_header(&header) {
            Header::Valid { len, group_end } => (len, group_end),
            Header::Zero => {
                return Err(corrupt("zero bytes where a frame header should be".into()))
            }
            Header::Damaged(what) => return Err(corrupt(what.into())),
        };
        let mut buf = vec![0u8; len + FRAME_TRAILER_BYTES];
        self.file
            .read_exact_at(&mut buf, offset + FRAME_HEADER_BYTES as u64)
            .map_err(io_err(&self.path))?;
        let (encoded, stored) = buf.split_at(len);
        let hash = hash_encoded(encoded);
        if hash != stored {
            return Err(corrupt("its stored hash does not match its content".into()));
        }
        let entry = Entry::decode(encoded).map_err(|e| corrupt(e.to_string()))?;
        Ok((entry, hash, (offset + frame_bytes(len), group_end)))
    }
}

#[cfg(test)]
mod tests;
