//! The storage seam: where one ledger's entries, its indexes and its hash tiles live, behind a
//! narrow read side ([`LedgerStore`], like Tessera's `LogReader`) and a one-writer append side
//! ([`GroupAppender`]). The engine (rules, sequencing, checkpoints) knows neither file names,
//! record sizes nor sled; a second store (PostgreSQL, the next issue) is one more
//! implementation of these two traits.
//!
//! [`FileStore`] is the embedded default: the append-only log file (`log.rs`), the sled index
//! (`index.rs`) and the hash tiles (`tiles.rs`) in the data directory. It is the only code that
//! knows their names (`LOG_FILE`, `INDEX_DIR`, `TILES_DIR`) and the size of a log record.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ledger_core::entry::{ChainHead, Entry};
use ledger_core::merkle::{self, CompactTree};
use ledger_core::state::{TxHistory, TxRecord};
use ledger_core::tiles::TileSubtrees;
use ledger_core::tx::TxId;
use ledger_core::Hash;

use crate::index::{Index, IndexBatch, IndexError};
use crate::log::{self, GroupRecords, LogError, LogReader, LogWriter};
use crate::tiles::{Edge, TileError, TileStore};

pub use crate::log::LOG_FILE;

/// The sled index's directory in the data directory.
pub const INDEX_DIR: &str = "index";

/// Entries indexed in one batch while the store opens (and whose records the fold may then
/// drop from memory).
const INDEX_BATCH: u64 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Tiles(#[from] TileError),
    #[error(transparent)]
    History(#[from] ledger_core::state::HistoryError),
}

impl From<ledger_core::tiles::TileDataError> for StoreError {
    fn from(e: ledger_core::tiles::TileDataError) -> Self {
        StoreError::Tiles(e.into())
    }
}

/// One entry of a group to append, with what the indexes need.
pub struct Appended {
    pub entry: Entry,
    pub hash: Hash,
    /// The transaction records the entry wrote (`Effects::records`).
    pub records: Vec<(TxId, TxRecord)>,
}

/// The read side. Every method answers for durable entries only and never waits for the
/// writer's sync: a group becomes readable when [`GroupAppender::publish`] returns.
pub trait LedgerStore: Send + Sync {
    /// Entry `sequence` and its blake3 hash. Asking for an entry that is not durable and
    /// published is an error (`Missing`), never a guess.
    fn entry(&self, sequence: u64) -> Result<(Entry, Hash), StoreError>;
    /// The sequence of the published entry that carries transaction `tx_id`; `None` when none
    /// does (yet: the group being written is not published).
    fn sequence_of(&self, tx_id: &TxId) -> Result<Option<u64>, StoreError>;
    /// At least `min_width` hashes of hash tile (`level`, `index`) of the published tree (more
    /// when the tile is fuller); an error when the published tree does not reach them.
    fn hash_tile(&self, level: u8, index: u64, min_width: u16) -> Result<Vec<Hash>, StoreError>;
    /// A view of the published tree for one proof or root: its `perfect(level, index)` is the
    /// root of leaves `[index << level, (index + 1) << level)`, an error when the tree (as
    /// published when the view was taken) does not hold them all.
    fn tree_view(&self) -> Box<dyn merkle::PerfectSubtrees<Error = StoreError> + '_>;
    /// Entries in the published tree (what [`LedgerStore::hash_tile`] covers).
    fn tree_size(&self) -> u64;
    /// Bytes the log takes (for metrics).
    fn log_bytes(&self) -> u64;
    /// Makes what is published durable in the indexes too, for a clean stop.
    fn flush(&self) -> Result<(), StoreError>;
    /// Where the records of published transactions are (read by the fold; see `TxHistory`).
    fn history(&self) -> Arc<dyn TxHistory>;
}

/// Where a group landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Landed {
    pub first_sequence: u64,
    pub count: u64,
}

/// The append side: one writer at a time.
pub trait GroupAppender: Send {
    /// Writes `group` (consecutive entries, starting at the store's next sequence) in one
    /// durable write. `Ok` only once all of it is durable: the caller may then acknowledge it.
    /// On error nothing of it is durable or visible, and the next call starts where this one
    /// did.
    fn append_durable(&mut self, group: &[Appended]) -> Result<Landed, StoreError>;
    /// After [`GroupAppender::append_durable`]: indexes the group, extends the hash tiles and
    /// records `checkpoint` (signed for the tree with the group) as the latest, then makes it
    /// readable. An index failure here is logged, not returned: the log is durable and the
    /// index is repaired from it on the next start. Returns whether the group's transaction
    /// records are in the history ([`LedgerStore::history`]) now: only then may the engine
    /// drop them from memory.
    fn publish(&mut self, group: &[Appended], landed: Landed, checkpoint: &str) -> bool;
}

/// The embedded store's read side.
pub struct FileStore {
    log_path: PathBuf,
    reader: LogReader,
    index: Index,
    tiles: TileStore,
}

/// The embedded store's append side.
pub struct FileAppender {
    store: Arc<FileStore>,
    log: LogWriter,
    edge: Edge,
    /// Where each record of the last durable group starts in the log.
    landed_offsets: Vec<u64>,
}

/// What opening the embedded store found and did, for the operator and the engine.
pub struct Opened {
    pub store: Arc<FileStore>,
    pub appender: FileAppender,
    pub report: log::ScanReport,
    pub reindexed: u64,
}

/// One entry as the store's open hands it to the engine's replay.
pub struct Replaying<'a> {
    pub entry: &'a Entry,
    pub hash: &'a Hash,
    /// How many entries the index covered when the open began. The index holds the records
    /// of an entry below it, written from the log as it was then: the replayer checks they
    /// are what it folds, so an index from another log (or a log rewritten under its index)
    /// is found, not trusted.
    pub index_covers: u64,
}

/// Whether `data_dir` holds a ledger log.
pub fn has_log(data_dir: &Path) -> bool {
    data_dir.join(log::LOG_FILE).exists()
}

/// A point of the log where a start may resume: the node saved its fold there
/// (`fold_file.rs`). The store uses it only if its log, index and tiles confirm it.
#[derive(Clone, Copy, Debug)]
pub struct Resume {
    pub size: u64,
    pub root: Hash,
    pub last_hash: Hash,
}

/// What the engine does with the log while the store opens it.
pub trait Replayer {
    type Error: From<StoreError>;
    /// Called once, before any entry: the replay starts after the first `from` entries (0:
    /// from the genesis; else a confirmed [`Resume`] point, whose fold the replayer holds),
    /// whose tree is `tree`; `root_at(n)` is the root of the first `n <= from` entries.
    /// `history` holds the records of every entry the index covers (some may be beyond
    /// `from`: the fold hides those until it replays them).
    fn begin(
        &mut self,
        from: u64,
        tree: CompactTree,
        root_at: &dyn Fn(u64) -> Result<Hash, StoreError>,
        history: Arc<dyn TxHistory>,
    ) -> Result<(), Self::Error>;
    /// Folds the next entry; returns the transaction records it wrote, or stops the open.
    fn entry(&mut self, replaying: Replaying<'_>) -> Result<Vec<(TxId, TxRecord)>, Self::Error>;
    /// The history now holds the records of every entry before `upto`.
    fn indexed(&mut self, upto: u64);
}

/// Where the scan starts: the byte after a whole group, the chain there, the tiles' edge there.
struct Start {
    offset: u64,
    head: ChainHead,
    edge: Edge,
}

impl FileStore {
    /// Opens the store in `data_dir`: scans the log from the start, or from `resume` when the
    /// log, the index and the tiles confirm it, hands every entry after that point in order
    /// to `replayer`, repairs the index from where it got to and checks the hash tiles it
    /// passes against the log. `durable` is the size the node recorded as durable elsewhere
    /// (its signed mark): a log shorter than that, or than the index, is refused, never cut.
    pub fn open<R: Replayer>(
        data_dir: &Path,
        rebuild_index: bool,
        durable: u64,
        resume: Option<Resume>,
        replayer: &mut R,
    ) -> Result<Opened, R::Error> {
        let log_path = data_dir.join(LOG_FILE);
        let index = Index::open(&data_dir.join(INDEX_DIR)).map_err(StoreError::from)?;
        if rebuild_index {
            index.clear().map_err(StoreError::from)?;
        }
        let indexed = index.applied().map_err(StoreError::from)?;
        let tiles = TileStore::new(data_dir);
        let reader = LogReader::open(&log_path).map_err(StoreError::from)?;
        let start = match resume {
            Some(r) if !rebuild_index => resume_point(&reader, &index, &tiles, indexed, &r),
            _ => None,
        };
        let Start {
            offset,
            head,
            mut edge,
        } = start.unwrap_or(Start {
            offset: 0,
            head: ChainHead::default(),
            edge: Edge::default(),
        });
        {
            let subtrees = TileSubtrees(|l, i, w| tiles.read(&edge, l, i, w));
            let tree = CompactTree::from_subtrees(&subtrees, head.next_sequence)
                .map_err(StoreError::from)?;
            replayer.begin(
                head.next_sequence,
                tree,
                &|n| Ok(merkle::root(&subtrees, n)?),
                Arc::new(index.clone()),
            )?;
        }
        let mut batch = IndexBatch::default();
        let mut pending = 0u64;
        let mut reindexed = 0u64;
        let mut failure: Option<R::Error> = None;
        let report = log::scan_from(&log_path, offset, head, |scanned| {
            let sequence = scanned.entry.sequence;
            let stop = |what: &str| LogError::Corrupt {
                path: log_path.clone(),
                sequence,
                offset: scanned.offset,
                what: what.into(),
            };
            let records = match replayer.entry(Replaying {
                entry: &scanned.entry,
                hash: &scanned.hash,
                index_covers: indexed,
            }) {
                Ok(records) => records,
                Err(e) => {
                    failure = Some(e);
                    return Err(stop("it breaks the ledger rules"));
                }
            };
            tiles.append(&mut edge, merkle::entry_leaf_hash(&scanned.entry));
            if sequence < indexed {
                // Its records are in the index already (the fold hides any written later).
                if (sequence + 1) % INDEX_BATCH == 0 {
                    replayer.indexed(sequence + 1);
                }
                return Ok(());
            }
            batch.entry(sequence, scanned.offset);
            for (tx_id, record) in &records {
                batch.record(tx_id, record);
            }
            reindexed += 1;
            pending += 1;
            if pending >= INDEX_BATCH {
                batch.applied(sequence + 1);
                if let Err(e) = index.apply(std::mem::take(&mut batch)) {
                    failure = Some(StoreError::from(e).into());
                    return Err(stop("index write failed"));
                }
                replayer.indexed(sequence + 1);
                pending = 0;
            }
            Ok(())
        })
        .map_err(|e| failure.take().unwrap_or(StoreError::Log(e).into()))?;
        // Before the index moves: a log shorter than the index is refused, and must stay refused.
        check_nothing_acknowledged_lost(&log_path, &report, indexed.max(durable))
            .map_err(StoreError::from)?;
        batch.applied(report.entries);
        index.apply(batch).map_err(StoreError::from)?;
        replayer.indexed(report.entries);
        let log = LogWriter::open(&log_path, &report).map_err(StoreError::from)?;
        tiles.publish(&edge);
        let store = Arc::new(FileStore {
            reader,
            log_path,
            index,
            tiles,
        });
        Ok(Opened {
            appender: FileAppender {
                store: store.clone(),
                log,
                edge,
                landed_offsets: Vec::new(),
            },
            store,
            report,
            reindexed,
        })
    }

    /// Records `checkpoint` as the latest signed one and flushes the index (after an open).
    pub fn record_checkpoint(&self, checkpoint: &str) -> Result<(), StoreError> {
        let mut batch = IndexBatch::default();
        batch.checkpoint(checkpoint);
        self.index.apply(batch)?;
        Ok(self.index.flush()?)
    }
}

/// Whether the log, the index and the tiles confirm `resume`: the index knows its last entry,
/// that entry ends a whole group and has the saved hash, and the tiles there have the saved
/// root. Anything else (including any read failure) means: scan the whole log.
fn resume_point(
    reader: &LogReader,
    index: &Index,
    tiles: &TileStore,
    indexed: u64,
    resume: &Resume,
) -> Option<Start> {
    if resume.size == 0 || resume.size > indexed {
        return None;
    }
    let offset = index.offset_of(resume.size - 1).ok()?;
    let (entry, hash, (end, group_end)) = reader.read_record(offset).ok()?;
    if entry.sequence != resume.size - 1 || hash != resume.last_hash || !group_end {
        return None;
    }
    let leaf = |sequence: u64| -> Result<Hash, StoreError> {
        let (entry, _) = reader.read_at(index.offset_of(sequence)?)?;
        Ok(merkle::entry_leaf_hash(&entry))
    };
    let edge = tiles.edge_at(resume.size, leaf).ok()??;
    let root = merkle::root(
        &TileSubtrees(|l, i, w| tiles.read(&edge, l, i, w)),
        resume.size,
    );
    if root.ok()? != resume.root {
        return None;
    }
    Some(Start {
        offset: end,
        head: ChainHead {
            next_sequence: resume.size,
            last_hash: hash,
            last_timestamp_ms: entry.timestamp_ms,
        },
        edge,
    })
}

/// Creates the log of a new ledger in `data_dir` (which holds none) with its genesis entry, and
/// makes the file and its directory entry durable.
pub fn create(data_dir: &Path, genesis: &Entry) -> Result<(), StoreError> {
    let log_path = data_dir.join(log::LOG_FILE);
    let mut log = log::create(&log_path)?;
    let mut group = GroupRecords::default();
    group.push(genesis, &genesis.hash());
    log.append_durable(&mut group)?;
    Ok(())
}

/// The id of the ledger whose log is in `data_dir`, read from its genesis (entry 0) alone: it
/// works while a node serves the directory (it takes no lock).
pub fn ledger_id_of(data_dir: &Path) -> anyhow::Result<String> {
    let reader = log::LogReader::open(&data_dir.join(log::LOG_FILE))?;
    let (genesis, _) = reader.read_at(0)?;
    let prepared = ledger_core::rules::prepare(&genesis.envelope).map_err(|r| {
        anyhow::anyhow!("the genesis of {} does not decode: {r}", data_dir.display())
    })?;
    Ok(prepared.tx.ledger_id)
}

/// Refuses to go on when the log holds fewer whole entries than the node recorded as durable
/// (and so acknowledged): cutting a tail, or serving a shorter log, would lose them.
fn check_nothing_acknowledged_lost(
    log_path: &Path,
    report: &log::ScanReport,
    durable: u64,
) -> Result<(), LogError> {
    if report.entries >= durable {
        return Ok(());
    }
    let what = match &report.torn {
        Some(torn) => format!(
            "the log ends in damage ({}), and its last whole entry is {} while the node \
             records {durable} entries as durable: the damaged part held acknowledged entries, \
             so it is not cut",
            torn.why,
            report.entries.saturating_sub(1)
        ),
        None => format!(
            "the log holds {} entries but the node recorded {durable} as durable (in its index \
             or its signed checkpoint mark): acknowledged entries are missing (if you restored an \
             older log on purpose, move the `checkpoint` file and the `index` directory away and \
             run `ledger-node rebuild`)",
            report.entries
        ),
    };
    Err(LogError::Corrupt {
        path: log_path.to_path_buf(),
        sequence: report.entries,
        offset: report.end,
        what,
    })
}

impl LedgerStore for FileStore {
    fn entry(&self, sequence: u64) -> Result<(Entry, Hash), StoreError> {
        let offset = self.index.offset_of(sequence)?;
        Ok(self.reader.read_at(offset)?)
    }

    fn sequence_of(&self, tx_id: &TxId) -> Result<Option<u64>, StoreError> {
        Ok(self.index.sequence_of(tx_id)?)
    }

    fn hash_tile(&self, level: u8, index: u64, min_width: u16) -> Result<Vec<Hash>, StoreError> {
        let edge = self.tiles.edge();
        Ok(self.tiles.read(&edge, level, index, min_width)?)
    }

    fn tree_view(&self) -> Box<dyn merkle::PerfectSubtrees<Error = StoreError> + '_> {
        Box::new(TilesView(self.tiles.subtrees()))
    }

    fn tree_size(&self) -> u64 {
        self.tiles.edge().size()
    }

    fn log_bytes(&self) -> u64 {
        std::fs::metadata(&self.log_path)
            .map(|m| m.len())
            .unwrap_or(0)
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(self.index.flush()?)
    }

    fn history(&self) -> Arc<dyn TxHistory> {
        Arc::new(self.index.clone())
    }
}

impl GroupAppender for FileAppender {
    fn append_durable(&mut self, group: &[Appended]) -> Result<Landed, StoreError> {
        let mut records = GroupRecords::default();
        for a in group {
            records.push(&a.entry, &a.hash);
        }
        let first_sequence = group.first().map_or(0, |a| a.entry.sequence);
        let mut offset = self.log.append_durable(&mut records)?;
        self.landed_offsets.clear();
        for size in records.sizes() {
            self.landed_offsets.push(offset);
            offset += size;
        }
        assert_eq!(offset, self.log.len(), "record sizes and the log disagree");
        Ok(Landed {
            first_sequence,
            count: group.len() as u64,
        })
    }

    fn publish(&mut self, group: &[Appended], landed: Landed, checkpoint: &str) -> bool {
        assert_eq!(landed.count, group.len() as u64);
        assert_eq!(
            self.landed_offsets.len(),
            group.len(),
            "publish follows its append"
        );
        assert_eq!(
            landed.first_sequence,
            self.edge.size(),
            "groups are published in order"
        );
        let mut batch = IndexBatch::default();
        for (a, offset) in group.iter().zip(&self.landed_offsets) {
            batch.entry(a.entry.sequence, *offset);
            for (tx_id, record) in &a.records {
                batch.record(tx_id, record);
            }
            self.store
                .tiles
                .append(&mut self.edge, merkle::entry_leaf_hash(&a.entry));
        }
        batch.checkpoint(checkpoint);
        batch.applied(self.edge.size());
        let indexed = match self.store.index.apply(batch) {
            Ok(()) => true,
            Err(e) => {
                // The log is durable; the index is repaired from it on the next start.
                tracing::error!(error = %e, "index update failed after a durable commit; restart the node to repair the index");
                false
            }
        };
        self.store.tiles.publish(&self.edge);
        indexed
    }
}

struct TilesView<'a>(crate::tiles::EdgeSubtrees<'a>);

impl merkle::PerfectSubtrees for TilesView<'_> {
    type Error = StoreError;
    fn perfect(&self, level: u32, index: u64) -> Result<Hash, StoreError> {
        Ok(self.0.perfect(level, index)?)
    }
}
