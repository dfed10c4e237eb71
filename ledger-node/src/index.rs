//! The sled index: everything here can be rebuilt from the log.
//!
//! sled 0.34's `flush` uses `sync_file_range`, not a full fsync, so it is not power-loss
//! durable (sled issues #1452 and #1351). The log is the source of truth; sled holds what
//! makes reads fast, and records how far it got (`applied`) so the node repairs it from the
//! log's tail on start.
//!
//! One tree, keys prefixed by kind, so that one group's index updates are one atomic batch:
//!
//! | key                          | value                                  |
//! |------------------------------|----------------------------------------|
//! | `v`                          | u32: this layout's version             |
//! | `a`                          | u64: entries indexed                   |
//! | `t` tx_id[16]                | the transaction's record (postcard)    |
//! | `o` sequence u64             | u64 log offset                         |
//! | `c`                          | latest signed checkpoint text          |
//!
//! A transaction's record (`TxRecord`: its sequence, body hash, kind, what a reversal needs,
//! whether it was reversed) lives here rather than in the node's fold, so the fold's memory
//! does not grow with history; the fold reads it through `ledger_core::state::TxHistory`. A
//! record may be ahead of a saved fold (the index is written per group, the fold now and then):
//! the fold hides what it has not reached.
//!
//! Merkle node hashes are not here: they are C2SP hash tiles under `<data>/tiles/` (see
//! `tiles.rs`), 32 bytes per entry in files of 8 KiB. Kept in sled they cost 818 bytes of disk
//! per entry and a sixth of the writer's CPU (BENCHMARKS.md).

use std::path::Path;

use ledger_core::state::{HistoryError, TxHistory, TxRecord};
use ledger_core::tx::TxId;

/// The layout above. An index of another layout is dropped on open and rebuilt from the log.
const LAYOUT_VERSION: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("index (sled): {0}")]
    Sled(#[from] sled::Error),
    #[error(
        "数据目录 {0} 正被另一个运行中的 ledger-node 使用（它锁住了索引）。要快照，请在节点运行时下载 \
         http://<节点>:8080/snapshot 或运行 `ledger snapshot export 文件`；要导出、重建或换一个节点，请先停止正在运行的节点。\n\
         The data directory {0} is in use by a running ledger-node (it holds the index's lock). \
         For a snapshot while it runs, download http://<node>:8080/snapshot or run `ledger snapshot \
         export FILE`; to export, rebuild or start another node here, stop the running node first."
    )]
    InUse(std::path::PathBuf),
    #[error("index entry {0} is missing; run `ledger-node rebuild`")]
    Missing(String),
    #[error("index value for {0} is malformed; run `ledger-node rebuild`")]
    Malformed(String),
}

#[derive(Clone)]
pub struct Index {
    db: sled::Db,
    tree: sled::Tree,
    /// Under what to park the database when this index is dropped, if parking is on.
    parks_as: Option<(FileId, std::path::PathBuf)>,
}

/// Which files a sled directory's database is: its `db` file's device and inode, so a parked
/// database is taken back only for the very files it has open (not for a directory deleted and
/// made again under the same name), and is found again when its directory was renamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileId(u64, u64);

impl FileId {
    fn of(index_dir: &Path) -> Option<FileId> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let meta = std::fs::metadata(index_dir.join("db")).ok()?;
            Some(FileId(meta.dev(), meta.ino()))
        }
        #[cfg(not(unix))]
        {
            let _ = index_dir;
            None
        }
    }
}

/// sled 0.34 does not give back the memory of a database it closes (about 2 MB each time,
/// measured; spacejam/sled#1466, open). A node with many ledgers closes and reopens their
/// indexes all day, so a serving node parks a closed index's database here (flushed, still
/// open, its file lock held) and the next open of the same directory takes it back: memory
/// then grows with the ledgers opened at least once, not with how often. Off unless
/// [`park_closed_indexes`] turns it on, so a process that opens a directory, changes its files
/// and opens it again (tests, `rebuild`) always reads the disk.
#[allow(clippy::type_complexity)]
static PARKED: std::sync::Mutex<
    Option<std::collections::HashMap<FileId, (std::path::PathBuf, sled::Db)>>,
> = std::sync::Mutex::new(None);

/// Drops the parked databases whose directory no longer holds their files (deleted, or moved
/// away): their files are closed, and their memory is left to sled.
pub fn prune_parked() {
    if let Some(parked) = PARKED.lock().expect("parked lock").as_mut() {
        parked.retain(|id, (path, _)| FileId::of(path) == Some(*id));
    }
}

/// Turns parking on for this process (the serving node does, at start).
pub fn park_closed_indexes() {
    let mut parked = PARKED.lock().expect("parked lock");
    parked.get_or_insert_with(Default::default);
}

impl Drop for Index {
    fn drop(&mut self) {
        let Some((id, path)) = self.parks_as.take() else {
            return;
        };
        if let Err(e) = self.db.flush() {
            // Not parked: the next open reads the disk.
            tracing::warn!(error = %e, "flushing a closing index failed");
            return;
        }
        if let Some(parked) = PARKED.lock().expect("parked lock").as_mut() {
            parked.insert(id, (path, self.db.clone()));
        }
    }
}

fn offset_key(sequence: u64) -> [u8; 9] {
    let mut k = [b'o'; 9];
    k[1..].copy_from_slice(&sequence.to_be_bytes());
    k
}

fn tx_key(tx_id: &TxId) -> [u8; 17] {
    let mut k = [b't'; 17];
    k[1..].copy_from_slice(&tx_id.0);
    k
}

fn u64_value(v: &[u8], what: impl Fn() -> String) -> Result<u64, IndexError> {
    v.try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| IndexError::Malformed(what()))
}

/// The index updates of one group commit, applied atomically.
#[derive(Default)]
pub struct IndexBatch {
    batch: sled::Batch,
}

impl IndexBatch {
    /// Where entry `sequence` starts in the log.
    pub fn entry(&mut self, sequence: u64, offset: u64) {
        self.batch
            .insert(&offset_key(sequence), &offset.to_be_bytes());
    }

    /// The record of `tx_id` as it is after this batch's entries.
    pub fn record(&mut self, tx_id: &TxId, record: &TxRecord) {
        let value = postcard::to_allocvec(record).expect("a record encodes");
        self.batch.insert(&tx_key(tx_id), value);
    }

    pub fn checkpoint(&mut self, text: &str) {
        self.batch.insert(b"c", text.as_bytes());
    }

    pub fn applied(&mut self, size: u64) {
        self.batch.insert(b"a", &size.to_be_bytes());
    }
}

impl Index {
    pub fn open(path: &Path) -> Result<Index, IndexError> {
        let (db, parks_as) = match Self::take_parked(path) {
            None => (Self::open_db(path)?, None),
            Some(Some(db)) => (db, FileId::of(path).map(|id| (id, path.to_path_buf()))),
            Some(None) => {
                let db = Self::open_db(path)?;
                (db, FileId::of(path).map(|id| (id, path.to_path_buf())))
            }
        };
        let tree = db.open_tree("index")?;
        let index = Index { db, tree, parks_as };
        index.check_layout()?;
        Ok(index)
    }

    /// `None` when parking is off; else the database parked for the files at `path`, if any.
    /// A database parked under this path for other files (the directory was deleted and made
    /// again) is dropped: its files are gone.
    fn take_parked(path: &Path) -> Option<Option<sled::Db>> {
        let mut parked = PARKED.lock().expect("parked lock");
        let parked = parked.as_mut()?;
        let here = FileId::of(path);
        parked.retain(|id, (at, _)| at != path || Some(*id) == here);
        Some(here.and_then(|id| parked.remove(&id)).map(|(_, db)| db))
    }

    fn open_db(path: &Path) -> Result<sled::Db, IndexError> {
        sled::Config::new()
            .path(path)
            .cache_capacity(16 << 20)
            .open()
            .map_err(|e| match e {
                // sled takes an exclusive file lock: a running node holds it.
                // sled 0.34 wraps the lock's WouldBlock in an error of its own text.
                sled::Error::Io(io)
                    if io.kind() == std::io::ErrorKind::WouldBlock
                        || io.to_string().contains("could not acquire lock") =>
                {
                    IndexError::InUse(path.parent().unwrap_or(path).to_path_buf())
                }
                other => IndexError::Sled(other),
            })
    }

    /// An index written in another layout (by an older node) is dropped, to be rebuilt from
    /// the log by this open's scan.
    fn check_layout(&self) -> Result<(), IndexError> {
        let version = self.tree.get(b"v")?;
        if version.as_deref() == Some(&LAYOUT_VERSION.to_be_bytes()[..]) {
            return Ok(());
        }
        if !self.tree.is_empty() {
            tracing::warn!("索引格式已更新，将从日志重建 / the index has an older layout; rebuilding it from the log");
            self.tree.clear()?;
        }
        self.tree.insert(b"v", &LAYOUT_VERSION.to_be_bytes())?;
        Ok(())
    }

    /// Drops everything, for a rebuild from the log.
    pub fn clear(&self) -> Result<(), IndexError> {
        self.tree.clear()?;
        self.tree.insert(b"v", &LAYOUT_VERSION.to_be_bytes())?;
        Ok(())
    }

    pub fn apply(&self, batch: IndexBatch) -> Result<(), IndexError> {
        self.tree.apply_batch(batch.batch)?;
        Ok(())
    }

    pub fn flush(&self) -> Result<(), IndexError> {
        self.db.flush()?;
        Ok(())
    }

    /// How many entries the index covers.
    pub fn applied(&self) -> Result<u64, IndexError> {
        match self.tree.get(b"a")? {
            None => Ok(0),
            Some(v) => u64_value(&v, || "applied".into()),
        }
    }

    pub fn sequence_of(&self, tx_id: &TxId) -> Result<Option<u64>, IndexError> {
        Ok(self.tx_record(tx_id)?.map(|r| r.sequence))
    }

    /// The record of `tx_id` as last written (possibly by entries a reader has not seen yet).
    pub fn tx_record(&self, tx_id: &TxId) -> Result<Option<TxRecord>, IndexError> {
        match self.tree.get(tx_key(tx_id))? {
            None => Ok(None),
            Some(v) => postcard::from_bytes(&v)
                .map(Some)
                .map_err(|_| IndexError::Malformed(format!("tx {tx_id}"))),
        }
    }

    pub fn offset_of(&self, sequence: u64) -> Result<u64, IndexError> {
        let v = self
            .tree
            .get(offset_key(sequence))?
            .ok_or_else(|| IndexError::Missing(format!("offset of entry {sequence}")))?;
        u64_value(&v, || format!("offset of entry {sequence}"))
    }

    pub fn checkpoint(&self) -> Result<Option<String>, IndexError> {
        Ok(self
            .tree
            .get(b"c")?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Bytes sled uses on disk.
    pub fn size_on_disk(&self) -> Result<u64, IndexError> {
        Ok(self.db.size_on_disk()?)
    }
}

impl TxHistory for Index {
    fn record(&self, tx_id: &TxId) -> Result<Option<TxRecord>, HistoryError> {
        self.tx_record(tx_id)
            .map_err(|e| HistoryError(e.to_string()))
    }
}
