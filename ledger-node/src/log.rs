//! The append-only log file: the ledger's source of truth.
//!
//! Each record is `u32 len | entry encoding (len bytes) | entry hash (32 bytes)`. The writer
//! appends a whole group commit in one `write` and one `sync_data`, and acknowledges nothing in
//! the group before the sync returns.
//!
//! On open the log is scanned from the start. A tail that is not a whole record (a write cut
//! short by a crash, or zero-filled by the file system) was never acknowledged, and is cut back
//! to the last whole record. A whole record whose hash or chain link is wrong is corruption:
//! the node refuses to start and names the entry, because serving a damaged ledger silently is
//! worse than not serving it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use ledger_core::entry::{hash_encoded, ChainError, ChainHead, Entry, ENTRY_HEADER_BYTES};
use ledger_core::limits::MAX_ENVELOPE_BYTES;
use ledger_core::Hash;

/// Largest record a valid log can hold.
const MAX_ENTRY_BYTES: usize = ENTRY_HEADER_BYTES + MAX_ENVELOPE_BYTES;
const RECORD_OVERHEAD: usize = 4 + 32;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("log file {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("the log is corrupt at entry {sequence} (byte offset {offset}): {what}. The node will not serve a damaged ledger. Restore {path} from a backup or a published snapshot, or move it away to start over; see RELIABILITY.md")]
    Corrupt {
        path: PathBuf,
        sequence: u64,
        offset: u64,
        what: String,
    },
}

/// One whole record found by the scan.
pub struct Scanned {
    pub entry: Entry,
    pub hash: Hash,
    pub offset: u64,
}

/// What opening the log found.
pub struct OpenReport {
    pub entries: u64,
    /// Bytes cut from a torn tail (0 when the log ended on a whole record).
    pub cut_bytes: u64,
    pub head: ChainHead,
}

pub struct LogWriter {
    file: File,
    path: PathBuf,
    len: u64,
}

/// Reads records at known offsets; shared by every reader thread (`read_at` takes `&self`).
pub struct LogReader {
    file: File,
    path: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens (creating if needed) the log at `path`, calls `each` for every whole record in order,
/// cuts a torn tail, and returns the writer positioned at the end.
pub fn open(
    path: &Path,
    mut each: impl FnMut(Scanned) -> Result<(), LogError>,
) -> Result<(LogWriter, OpenReport), LogError> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(io_err(path))?;
    let file_len = file.metadata().map_err(io_err(path))?.len();
    let mut reader = io::BufReader::with_capacity(1 << 20, file.try_clone().map_err(io_err(path))?);
    reader.seek(SeekFrom::Start(0)).map_err(io_err(path))?;
    let mut head = ChainHead::default();
    let mut offset = 0u64;
    let mut buf = Vec::new();
    let corrupt = |sequence: u64, offset: u64, what: String| LogError::Corrupt {
        path: path.to_path_buf(),
        sequence,
        offset,
        what,
    };
    loop {
        let remaining = file_len - offset;
        if remaining == 0 {
            break;
        }
        if remaining < 4 {
            break; // torn length prefix
        }
        let mut len = [0u8; 4];
        reader.read_exact(&mut len).map_err(io_err(path))?;
        let len = u32::from_be_bytes(len) as usize;
        if !(ENTRY_HEADER_BYTES..=MAX_ENTRY_BYTES).contains(&len) {
            if tail_is_zero(&mut reader, path, remaining - 4)? && len == 0 {
                break; // zero-filled tail of a write that never completed
            }
            if (len as u64) + RECORD_OVERHEAD as u64 > remaining {
                break; // a length prefix from a torn write
            }
            return Err(corrupt(
                head.next_sequence,
                offset,
                format!("the record length {len} is impossible"),
            ));
        }
        if (len + RECORD_OVERHEAD) as u64 > remaining {
            break; // the record was cut short
        }
        buf.resize(len + 32, 0);
        reader.read_exact(&mut buf).map_err(io_err(path))?;
        let (encoded, stored_hash) = buf.split_at(len);
        let hash = hash_encoded(encoded);
        if hash != stored_hash {
            if (encoded.iter().all(|b| *b == 0) || stored_hash.iter().all(|b| *b == 0))
                && tail_is_zero(
                    &mut reader,
                    path,
                    remaining - (len + RECORD_OVERHEAD) as u64,
                )?
            {
                break; // zero-filled blocks at the end: the write never completed
            }
            return Err(corrupt(
                head.next_sequence,
                offset,
                "its stored hash does not match its content".into(),
            ));
        }
        let entry = Entry::decode(encoded)
            .map_err(|e| corrupt(head.next_sequence, offset, e.to_string()))?;
        head.link_hashed(&entry, hash)
            .map_err(|e: ChainError| corrupt(head.next_sequence, offset, e.to_string()))?;
        each(Scanned {
            entry,
            hash,
            offset,
        })?;
        offset += (len + RECORD_OVERHEAD) as u64;
    }
    let cut_bytes = file_len - offset;
    if cut_bytes > 0 {
        file.set_len(offset).map_err(io_err(path))?;
        file.sync_all().map_err(io_err(path))?;
    }
    file.seek(SeekFrom::End(0)).map_err(io_err(path))?;
    Ok((
        LogWriter {
            file,
            path: path.to_path_buf(),
            len: offset,
        },
        OpenReport {
            entries: head.next_sequence,
            cut_bytes,
            head,
        },
    ))
}

/// Whether the next `count` bytes of the reader are all zero (consumes them).
fn tail_is_zero(reader: &mut impl Read, path: &Path, count: u64) -> Result<bool, LogError> {
    let mut rest = Vec::new();
    reader
        .take(count)
        .read_to_end(&mut rest)
        .map_err(io_err(path))?;
    Ok(rest.iter().all(|b| *b == 0))
}

/// Appends one encoded record to a group buffer.
pub fn encode_record(entry: &Entry, hash: &Hash, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    entry.encode_into(out);
    let len = (out.len() - start - 4) as u32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    out.extend_from_slice(hash);
}

impl LogWriter {
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a group of records and makes them durable. On failure the file is cut back to
    /// where it was, so a later group starts on a record boundary.
    pub fn append_durable(&mut self, records: &[u8]) -> Result<u64, LogError> {
        let start = self.len;
        let result = self
            .file
            .write_all(records)
            .and_then(|_| self.file.sync_data());
        if let Err(source) = result {
            let _ = self.file.set_len(start);
            return Err(LogError::Io {
                path: self.path.clone(),
                source,
            });
        }
        self.len += records.len() as u64;
        Ok(start)
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
    /// Reads and checks the record at `offset`.
    pub fn read_at(&self, offset: u64) -> Result<(Entry, Hash), LogError> {
        let mut len = [0u8; 4];
        self.file
            .read_exact_at(&mut len, offset)
            .map_err(io_err(&self.path))?;
        let len = u32::from_be_bytes(len) as usize;
        let corrupt = |what: String| LogError::Corrupt {
            path: self.path.clone(),
            sequence: u64::MAX,
            offset,
            what,
        };
        if !(ENTRY_HEADER_BYTES..=MAX_ENTRY_BYTES).contains(&len) {
            return Err(corrupt(format!("the record length {len} is impossible")));
        }
        let mut buf = vec![0u8; len + 32];
        self.file
            .read_exact_at(&mut buf, offset + 4)
            .map_err(io_err(&self.path))?;
        let (encoded, stored) = buf.split_at(len);
        let hash = hash_encoded(encoded);
        if hash != stored {
            return Err(corrupt("its stored hash does not match its content".into()));
        }
        let entry = Entry::decode(encoded).map_err(|e| corrupt(e.to_string()))?;
        Ok((entry, hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::entry::GENESIS_PREV_HASH;

    fn entries(n: u64) -> Vec<(Entry, Hash)> {
        let mut prev = GENESIS_PREV_HASH;
        (0..n)
            .map(|i| {
                let e = Entry {
                    sequence: i,
                    prev_hash: prev,
                    timestamp_ms: 1000 + i as i64,
                    envelope: vec![i as u8; 10 + i as usize],
                };
                prev = e.hash();
                let h = prev;
                (e, h)
            })
            .collect()
    }

    fn write(path: &Path, items: &[(Entry, Hash)]) -> Vec<u64> {
        let (mut w, _) = open(path, |_| Ok(())).unwrap();
        let mut offsets = vec![];
        for (e, h) in items {
            let mut buf = vec![];
            encode_record(e, h, &mut buf);
            offsets.push(w.append_durable(&buf).unwrap());
        }
        offsets
    }

    fn reopen(path: &Path) -> Result<OpenReport, LogError> {
        open(path, |_| Ok(())).map(|(_, r)| r)
    }

    #[test]
    fn records_read_back_by_scan_and_by_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let items = entries(5);
        let offsets = write(&path, &items);
        let mut seen = vec![];
        let (w, report) = open(&path, |s| {
            seen.push(s.entry.sequence);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
        assert_eq!(report.cut_bytes, 0);
        let reader = w.reader().unwrap();
        assert_eq!(reader.read_at(offsets[3]).unwrap().0, items[3].0);
    }

    #[test]
    fn a_torn_tail_is_cut_back_to_the_last_whole_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        write(&path, &entries(4));
        let full = std::fs::metadata(&path).unwrap().len();
        for cut in [1u64, 3, 20, 40] {
            let copy = dir.path().join(format!("log{cut}"));
            std::fs::copy(&path, &copy).unwrap();
            let f = OpenOptions::new().write(true).open(&copy).unwrap();
            f.set_len(full - cut).unwrap();
            let report = reopen(&copy).unwrap();
            assert_eq!(report.entries, 3, "cut {cut}");
            assert!(report.cut_bytes > 0);
            assert_eq!(reopen(&copy).unwrap().cut_bytes, 0, "the cut is persistent");
        }
    }

    #[test]
    fn a_zero_filled_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        write(&path, &entries(3));
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[0u8; 4096]).unwrap();
        let report = reopen(&path).unwrap();
        assert_eq!((report.entries, report.cut_bytes), (3, 4096));
    }

    #[test]
    fn a_damaged_whole_record_is_corruption_naming_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let offsets = write(&path, &entries(4));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[offsets[1] as usize + 30] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        match reopen(&path) {
            Err(LogError::Corrupt { sequence: 1, .. }) => {}
            Err(other) => panic!("expected corruption at entry 1, got {other}"),
            Ok(_) => panic!("a damaged log opened"),
        }
        // The tail record damaged (not zero, whole) is corruption too, not a torn write.
        let offsets = write(&dir.path().join("log2"), &entries(4));
        let path2 = dir.path().join("log2");
        let mut bytes = std::fs::read(&path2).unwrap();
        bytes[offsets[3] as usize + 10] ^= 1;
        std::fs::write(&path2, &bytes).unwrap();
        assert!(matches!(
            reopen(&path2),
            Err(LogError::Corrupt { sequence: 3, .. })
        ));
    }
}
