//! The node's ledger: one writer thread that sequences, and a shared read side.
//!
//! The writer owns the log file, the chain head and the Merkle edge. It takes every job
//! waiting (up to `max_group` transactions), applies the rules to each in order, appends the
//! accepted ones in one write and one `sync_data`, updates the sled index in one batch, signs a
//! fresh checkpoint, publishes the new state and head, and only then answers. The writer applies
//! the rules to its own copy of the fold, so readers only ever see durable state and never wait
//! for a group's rules or its `sync_data`: the published state's write lock is held only to
//! commit the effects of a group already on disk.
//!
//! Signature checks happen before the writer, on the request tasks, in parallel: a key id is
//! the hash of its public key, so a signature verified against a known key id stays verified.
//! Only signatures by keys the writer has not published yet (registered in the same group) are
//! checked in the writer.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ed25519_dalek::{SigningKey, VerifyingKey};
use ledger_core::checkpoint::Checkpoint;
use ledger_core::entry::{ChainHead, Entry};
use ledger_core::limits::MAX_GROUP_ENTRIES;
use ledger_core::merkle::{self, CompactTree};
use ledger_core::rules::{self, apply_entry_unverified, EntryContext, Prepared, Rejection};
use ledger_core::signing::KeyId;
use ledger_core::state::{Change, Effects, History, State, TxHistory, TxRecord};
use ledger_core::tx::Kind;
use ledger_core::Hash;
use tokio::sync::{mpsc, oneshot, watch};

mod replicated;
pub use replicated::check_copy;

use crate::log;
use crate::store::{self, Appended, FileStore, GroupAppender, LedgerStore, Replaying, StoreError};

/// Entries kept in memory for subscribers and recent reads.
pub const RECENT_ENTRIES: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("entry {sequence} of the log breaks the ledger rules ({rejection}); the log was not written by a correct node. Restore it from a backup or a published snapshot")]
    RuleBroken { sequence: u64, rejection: Rejection },
    #[error("账本日志的前 {size} 条与本节点签过名的检查点不符：日志被改写过，节点拒绝启动，文件未被改动；请从备份恢复数据目录。\nThe log's first {size} entries do not have the root of the checkpoint this node signed for them: the log was rewritten. The node will not serve it and left the files as they were; restore the data directory from a backup (see RELIABILITY.md)")]
    Rewritten { size: u64 },
    #[error("账本索引与日志第 {sequence} 条不符（索引覆盖前 {index_covers} 条）：日志在建立索引之后被改写过，或索引属于另一份日志。\nThe index does not match entry {sequence} of the log (the index covers the first {index_covers} entries): the log was rewritten after it was indexed, or the index belongs to another log")]
    IndexMismatch { sequence: u64, index_covers: u64 },
    #[error("the log is empty: this node has no ledger yet")]
    NoLedger,
    #[error(
        "快照未完整发送（读取方停顿或读取失败），请重新下载 / the snapshot was cut short (the reader stalled, or a read failed); download it again"
    )]
    SnapshotCutShort,
    #[error("本节点的密钥（{have}）不是账本创世记录指定的检查点密钥（{named}），节点拒绝启动；请使用本账本自己的 node.key。\nThis node's key ({have}) is not the checkpoint key the ledger's genesis names ({named}): the node would sign checkpoints no verifier accepts. Use the ledger's own node.key")]
    WrongNodeKey { have: String, named: String },
    #[error(
        "已签名的检查点记录无法使用：{0}。请从备份恢复数据目录。\nThe signed checkpoint mark is unusable: {0}. Restore the data directory from a backup"
    )]
    Mark(String),
}

/// The latest durable state of the log, as published to readers.
#[derive(Clone, Debug)]
pub struct Head {
    pub size: u64,
    pub root: Hash,
    pub checkpoint: String,
}

/// One transaction handed to the writer.
pub struct Item {
    pub prepared: Result<Prepared, Rejection>,
    /// Signers already verified on the request task; `None` when the writer must verify.
    pub verified: Option<Vec<KeyId>>,
    pub envelope: Vec<u8>,
}

#[derive(Clone, Debug)]
pub enum Outcome {
    Appended(u64),
    /// Already in the log with the same body: the original entry.
    Duplicate(u64),
    Rejected(Rejection),
}

/// The writer's answer to a job: one outcome per item and the head that covers them, or why
/// why nothing in the job was written.
pub type JobResult = Result<(Vec<Outcome>, Arc<Head>), Unwritten>;

/// Why the writer wrote nothing of a job: a message for a person and, where a client can act on
/// it (go to another node), a `ledger-reason` code.
#[derive(Clone, Debug)]
pub struct Unwritten {
    pub reason: Option<&'static str>,
    pub message: String,
}

impl std::fmt::Display for Unwritten {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub struct Job {
    pub items: Vec<Item>,
    pub reply: oneshot::Sender<JobResult>,
}

/// A Prometheus histogram with fixed bucket bounds (cumulative counts are computed on export).
pub struct Histogram {
    pub bounds: &'static [u64],
    pub buckets: Vec<AtomicU64>,
    pub sum: AtomicU64,
    pub count: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [u64]) -> Histogram {
        Histogram {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, value: u64) {
        let i = self
            .bounds
            .iter()
            .position(|b| value <= *b)
            .unwrap_or(self.bounds.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(value, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

pub struct Counters {
    /// Transactions per group commit.
    pub group_size: Histogram,
    /// Group commit duration, in microseconds (rules, write, sync, index, checkpoint).
    pub group_micros: Histogram,
    pub groups: AtomicU64,
    pub appended: AtomicU64,
    pub rejected: AtomicU64,
    pub duplicates: AtomicU64,
    pub storage_errors: AtomicU64,
    /// 1 while this node holds the write lease of a ledger kept in PostgreSQL, else 0.
    pub is_writer: AtomicU64,
    /// Entries the database holds that this node's copy does not yet (PostgreSQL store).
    pub copy_behind: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            group_size: Histogram::new(&[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048]),
            group_micros: Histogram::new(&[
                100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
            ]),
            groups: AtomicU64::new(0),
            appended: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            storage_errors: AtomicU64::new(0),
            is_writer: AtomicU64::new(0),
            copy_behind: AtomicU64::new(0),
        }
    }
}

/// What every request task reads.
pub struct Shared {
    pub ledger_id: String,
    /// The key checkpoints are signed with now (replaced by a rotation).
    current_key: RwLock<VerifyingKey>,
    pub state: RwLock<State>,
    pub keys: RwLock<HashMap<KeyId, VerifyingKey>>,
    head: RwLock<Arc<Head>>,
    pub head_watch: watch::Sender<u64>,
    /// The log, its indexes and its hash tiles (`store.rs`).
    pub store: Arc<dyn LedgerStore>,
    recent: RwLock<VecDeque<(Entry, Hash)>>,
    /// Entries whose rules the start replayed (the tail after the saved fold, or all).
    pub replayed_at_start: u64,
    pub storage_ok: AtomicBool,
    /// Whether every published group's transaction records reached the index (the history the
    /// fold reads): false after an index write failed, until a restart repairs the index. While
    /// false, nothing is dropped from the fold's memory.
    pub records_indexed: AtomicBool,
    pub counters: Counters,
    /// The latest checkpoint that reached the genesis's witness quorum (`witnessing.rs`).
    pub witnessed: RwLock<Option<Arc<ledger_core::checkpoint::SignedCheckpoint>>>,
    /// Entry 0, which never changes, read once (every receipt carries it).
    genesis: std::sync::OnceLock<(Entry, Hash)>,
}

impl Shared {
    pub fn node_key(&self) -> VerifyingKey {
        *self.current_key.read().expect("key lock")
    }

    /// The node key's fingerprint, sent with every checkpoint.
    pub fn node_key_fingerprint(&self) -> String {
        KeyId::of(&self.node_key()).fingerprint()
    }

    pub fn head(&self) -> Arc<Head> {
        self.head.read().expect("head lock").clone()
    }

    /// A durable entry by sequence number.
    pub fn read_entry(&self, sequence: u64) -> Result<(Entry, Hash), EngineError> {
        {
            let recent = self.recent.read().expect("recent lock");
            if let Some((first, _)) = recent.front() {
                if sequence >= first.sequence {
                    if let Some(item) = recent.get((sequence - first.sequence) as usize) {
                        debug_assert_eq!(item.0.sequence, sequence);
                        return Ok(item.clone());
                    }
                }
            }
        }
        Ok(self.store.entry(sequence)?)
    }

    /// The sequence of the durable, published entry carrying transaction `tx_id`.
    pub fn sequence_of(&self, tx_id: &ledger_core::tx::TxId) -> Result<Option<u64>, EngineError> {
        Ok(self.store.sequence_of(tx_id)?)
    }

    /// The Merkle root of the first `size` entries. `size` must be at most the head's.
    pub fn root_at(&self, size: u64) -> Result<Hash, EngineError> {
        Ok(merkle::root(&*self.subtrees(), size)?)
    }

    /// The RFC 9162 audit path of entry `index` in the tree of `size` entries (`size` at most
    /// the head's): a storage failure outside, a request the sizes make impossible inside.
    pub fn inclusion_proof(
        &self,
        index: u64,
        size: u64,
    ) -> Result<Result<Vec<Hash>, merkle::ProofError>, EngineError> {
        Ok(merkle::inclusion_proof(&*self.subtrees(), index, size)?)
    }

    /// The RFC 9162 proof that the tree of `old` entries is a prefix of the tree of `new`
    /// (`new` at most the head's size).
    pub fn consistency_proof(
        &self,
        old: u64,
        new: u64,
    ) -> Result<Result<Vec<Hash>, merkle::ProofError>, EngineError> {
        Ok(merkle::consistency_proof(&*self.subtrees(), old, new)?)
    }

    /// What a snapshot covers: the witnessed checkpoint's tree when there is one (so that an
    /// honest snapshot is witnessed whole, and a verifier can refuse any entry the witnesses
    /// did not see), else the head. Returns (size, checkpoint text, witnessed text or "", the
    /// checkpoint key in force at that size).
    pub fn snapshot_point(&self) -> (u64, String, String, VerifyingKey) {
        let witnessed = self.witnessed.read().expect("witnessed lock").clone();
        let (size, checkpoint, witnessed) = match witnessed {
            Some(w) => (w.checkpoint.tree_size, w.text.clone(), w.text.clone()),
            None => {
                let head = self.head();
                (head.size, head.checkpoint.clone(), String::new())
            }
        };
        let key = self
            .state
            .read()
            .expect("state lock")
            .ledger
            .as_ref()
            .map(|l| l.checkpoint_key_at(size))
            .unwrap_or_else(|| self.node_key());
        (size, checkpoint, witnessed, key)
    }

    /// Entry 0 and its hash, read from the log the first time.
    pub fn genesis(&self) -> Result<(Entry, Hash), EngineError> {
        if let Some(g) = self.genesis.get() {
            return Ok(g.clone());
        }
        let read = self.read_entry(0)?;
        Ok(self.genesis.get_or_init(|| read).clone())
    }

    /// The witnessed checkpoint's text, "" when there is none.
    pub fn witnessed_text(&self) -> String {
        self.witnessed
            .read()
            .expect("witnessed lock")
            .as_ref()
            .map(|c| c.text.clone())
            .unwrap_or_default()
    }

    pub fn log_bytes(&self) -> u64 {
        self.store.log_bytes()
    }

    /// The published tree's perfect subtrees, from the store (one view per proof).
    fn subtrees(&self) -> Box<dyn merkle::PerfectSubtrees<Error = StoreError> + '_> {
        self.store.tree_view()
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The single writer. It keeps its own copy of the fold, which runs ahead of the published one
/// by the group in progress, so the rules (and any signature check) for a group and its
/// `sync_data` never hold a lock that readers take.
struct Writer {
    shared: Arc<Shared>,
    appender: Box<dyn GroupAppender>,
    chain: ChainHead,
    tree: CompactTree,
    state: State,
    node_key: SigningKey,
    max_group: usize,
    data_dir: PathBuf,
    /// The size the fold was last saved at (`fold_file.rs`), and how often to save it.
    fold_saved_at: u64,
    fold_every: u64,
    /// The thread that saves the fold between groups, and how to wake it (with the key to sign
    /// with); started with the writer.
    fold_saver: Option<(
        std::sync::mpsc::SyncSender<SigningKey>,
        std::thread::JoinHandle<()>,
    )>,
    /// The ledger's database, when it is kept in PostgreSQL (`replicated.rs`).
    replicated: Option<replicated::Replicated>,
}

/// What opening found, for the operator.
pub struct OpenSummary {
    pub entries: u64,
    /// The unfinished final write that was cut (never acknowledged).
    pub torn: Option<log::TornTail>,
    pub reindexed: u64,
    /// Entries whose rules were replayed (the tail after the saved fold, or all of them).
    pub replayed: u64,
}

/// What the engine's replay builds while the store opens: the fold, the tree, the recent
/// entries for readers.
struct Replay {
    /// The size and root this node signed (its mark): the log's prefix must have that root.
    mark: Option<(u64, Hash)>,
    tree: CompactTree,
    state: State,
    recent: VecDeque<(Entry, Hash)>,
    /// The saved fold (`fold_file.rs`), taken up when the store resumes at its point.
    saved: Option<State>,
    /// Where the replay started: entries before it were not replayed.
    from: u64,
    /// The store's index, as the fold reads it during the replay (set when it begins).
    history: Option<Arc<EntryMemo>>,
}

/// The index as the replay reads it: the last record looked up is kept for the rest of the
/// entry, so checking an entry's records against the index (`Replay::check_indexed`) does not
/// read again what the duplicate rule just read. Forgotten at every entry: the store writes the
/// index between entries.
struct EntryMemo {
    index: Arc<dyn TxHistory>,
    last: std::sync::Mutex<Option<(ledger_core::tx::TxId, Option<TxRecord>)>>,
}

impl EntryMemo {
    fn next_entry(&self) {
        *self.last.lock().expect("memo lock") = None;
    }
}

impl TxHistory for EntryMemo {
    fn record(
        &self,
        tx_id: &ledger_core::tx::TxId,
    ) -> Result<Option<TxRecord>, ledger_core::state::HistoryError> {
        let mut last = self.last.lock().expect("memo lock");
        if let Some((id, record)) = last.as_ref() {
            if id == tx_id {
                return Ok(record.clone());
            }
        }
        let record = self.index.record(tx_id)?;
        *last = Some((*tx_id, record.clone()));
        Ok(record)
    }
}

impl Replay {
    fn new(mark: Option<(u64, Hash)>) -> Replay {
        Replay {
            mark,
            tree: CompactTree::new(),
            state: State::new(),
            recent: VecDeque::with_capacity(RECENT_ENTRIES),
            saved: None,
            from: 0,
            history: None,
        }
    }

    /// The index's records for what entry `sequence` wrote must be what the fold wrote: the
    /// fold trusts the index for every earlier transaction, so an index built from another
    /// log would otherwise make an honest entry a duplicate, or hide a real one.
    fn check_indexed(
        &self,
        sequence: u64,
        index_covers: u64,
        records: &[(ledger_core::tx::TxId, TxRecord)],
    ) -> Result<(), EngineError> {
        let history = self.history.as_ref().expect("the replay has begun");
        for (tx_id, folded) in records {
            let indexed = history
                .record(tx_id)
                .map_err(StoreError::History)?
                .and_then(|r| r.seen_before(sequence + 1));
            if indexed.as_ref() != Some(folded) {
                return Err(EngineError::IndexMismatch {
                    sequence,
                    index_covers,
                });
            }
        }
        Ok(())
    }
}

impl store::Replayer for Replay {
    type Error = EngineError;

    fn begin(
        &mut self,
        from: u64,
        tree: CompactTree,
        root_at: &dyn Fn(u64) -> Result<Hash, StoreError>,
        history: Arc<dyn TxHistory>,
    ) -> Result<(), EngineError> {
        self.from = from;
        let memo = Arc::new(EntryMemo {
            index: history,
            last: std::sync::Mutex::new(None),
        });
        self.history = Some(memo.clone());
        let saved = self.saved.take();
        if from == 0 {
            self.state.history = History::new(memo);
            return Ok(());
        }
        self.state = saved.expect("the store resumes only at the saved fold's point");
        self.state.history = History::new(memo);
        assert_eq!(
            self.state.next_sequence, from,
            "the saved fold covers the resume point"
        );
        assert_eq!(tree.size(), from);
        self.tree = tree;
        // A mark inside the part not replayed: the tiles there must have its root.
        if let Some((size, root)) = self.mark {
            if size <= from && root_at(size)? != root {
                return Err(EngineError::Rewritten { size });
            }
        }
        Ok(())
    }

    /// Folds one entry of the log. Entries past the signed mark have their signatures checked
    /// too; those before it are under a checkpoint this node signed.
    fn entry(
        &mut self,
        replaying: Replaying<'_>,
    ) -> Result<Vec<(ledger_core::tx::TxId, TxRecord)>, EngineError> {
        let entry = replaying.entry;
        if let Some(memo) = &self.history {
            memo.next_entry();
        }
        let verify_from = self.mark.map_or(0, |(size, _)| size);
        // Key rotations are checked in full even under the mark: they decide which key may
        // sign the mark itself (checked after the replay), so a key file planted in the data
        // directory cannot vouch for entries appended beside it.
        let applied = if entry.sequence >= verify_from || is_key_rotation(entry) {
            rules::apply_entry(&mut self.state, entry)
        } else {
            apply_entry_unverified(&mut self.state, entry)
        };
        let records = applied
            .map_err(|rejection| match rejection {
                Rejection::HistoryUnavailable(e) => EngineError::Store(StoreError::History(e)),
                rejection => EngineError::RuleBroken {
                    sequence: entry.sequence,
                    rejection,
                },
            })?
            .records();
        if entry.sequence < replaying.index_covers {
            self.check_indexed(entry.sequence, replaying.index_covers, &records)?;
        }
        self.tree
            .append(merkle::entry_leaf_hash(entry), |_, _, _| {});
        if let Some((size, root)) = self.mark {
            if self.tree.size() == size && self.tree.root() != root {
                return Err(EngineError::Rewritten { size });
            }
        }
        if self.recent.len() == RECENT_ENTRIES {
            self.recent.pop_front();
        }
        self.recent.push_back((entry.clone(), *replaying.hash));
        Ok(records)
    }

    fn indexed(&mut self, upto: u64) {
        self.state.forget_indexed(upto);
    }
}

/// Whether `entry` rotates the checkpoint key (decoded without checking its signatures).
fn is_key_rotation(entry: &Entry) -> bool {
    rules::prepare(&entry.envelope)
        .is_ok_and(|p| matches!(p.tx.kind, Kind::CheckpointKeyRotated { .. }))
}

/// Opens the ledger in `data_dir`: replays the log, repairs the index, signs a checkpoint.
/// Returns the shared read side and a handle to start the writer with.
pub fn open(
    data_dir: &Path,
    node_key: SigningKey,
    rebuild: bool,
) -> Result<(Arc<Shared>, WriterHandle, OpenSummary), EngineError> {
    if !store::has_log(data_dir) {
        return Err(EngineError::NoLedger);
    }
    let mut candidates = crate::node_keys::all_public_keys(data_dir);
    candidates.push(node_key.verifying_key());
    let mark = crate::mark::load(data_dir, None, &candidates).map_err(EngineError::Mark)?;
    let mut replayed = Replay::new(
        mark.as_ref()
            .map(|m| (m.checkpoint.tree_size, m.checkpoint.root))
            .filter(|(size, _)| *size > 0),
    );
    let marked = replayed.mark.map_or(0, |(size, _)| size);
    let started = Instant::now();
    let saved = match rebuild {
        true => None,
        // Only the key this node runs with (the ledger's checkpoint key, checked below): a key
        // file someone planted in the data directory (node.key.retired-*, node.key.next) must
        // not make their fold acceptable (adversary review).
        false => crate::fold_file::load(data_dir, &[node_key.verifying_key()]).unwrap_or_else(|why| {
            tracing::warn!(%why, "保存的账本状态不可用，将重放整个日志 / the saved fold is unusable; replaying the whole log");
            None
        }),
    };
    let resume = saved.as_ref().map(|f| store::Resume {
        size: f.size,
        root: f.root,
        last_hash: f.last_hash,
    });
    replayed.saved = saved.map(|f| f.state);
    let fold_loaded = started.elapsed();
    let opened = match FileStore::open(data_dir, rebuild, marked, resume, &mut replayed) {
        // The index is derived from the log: rebuild it from the log, and let the signed mark
        // judge the log. Everything the old index covered must still be there.
        Err(EngineError::IndexMismatch {
            sequence,
            index_covers,
        }) if !rebuild => {
            tracing::warn!(
                sequence,
                index_covers,
                "账本索引与日志不符，正在从日志重建索引 / the index does not match the log; rebuilding it from the log"
            );
            replayed = Replay::new(replayed.mark);
            FileStore::open(
                data_dir,
                true,
                marked.max(index_covers),
                None,
                &mut replayed,
            )?
        }
        opened => opened?,
    };
    tracing::info!(
        fold_load_ms = fold_loaded.as_millis() as u64,
        store_open_ms = (started.elapsed() - fold_loaded).as_millis() as u64,
        resumed_at = replayed.from,
        "opened the store"
    );
    // The memo served the replay; from here the index changes under the fold (reversals).
    replayed.state.history = History::new(opened.store.history());
    replayed.history = None;
    if resume.is_some_and(|r| replayed.from != r.size) {
        tracing::warn!("保存的账本状态与日志不符，已重放整个日志 / the saved fold did not match the log; replayed the whole log");
    }
    if let Some(torn) = &opened.report.torn {
        tracing::warn!(
            from = torn.from,
            bytes = torn.bytes,
            records = torn.records,
            why = torn.why,
            "cut an unfinished final write (never acknowledged) from the log's tail"
        );
    }
    let ledger = replayed
        .state
        .ledger
        .as_ref()
        .ok_or(EngineError::NoLedger)?;
    if let Some(mark) = &mark {
        let named = ledger.checkpoint_key_at(mark.checkpoint.tree_size);
        if mark.verify(&mark.checkpoint.origin, &named).is_err() {
            return Err(EngineError::Mark(format!(
                "it is not signed by the checkpoint key the ledger names at its size ({}); a key file in the data directory is not enough",
                KeyId::of(&named).fingerprint()
            )));
        }
    }
    let node_key = if ledger.checkpoint_key == node_key.verifying_key() {
        node_key
    } else {
        crate::node_keys::finish_rotation(
            data_dir,
            &node_key,
            &ledger.checkpoint_key,
            opened.report.entries,
        )
        .ok_or_else(|| EngineError::WrongNodeKey {
            have: KeyId::of(&node_key.verifying_key()).fingerprint(),
            named: KeyId::of(&ledger.checkpoint_key).fingerprint(),
        })?
    };
    let ledger_id = ledger.ledger_id.clone();
    let size = opened.report.entries;
    assert_eq!(
        replayed.tree.size(),
        size,
        "every entry of the log was replayed"
    );
    let root = replayed.tree.root();
    let checkpoint = Checkpoint {
        origin: ledger_id.clone(),
        tree_size: size,
        root,
    }
    .sign(&node_key)
    .text;
    opened.store.record_checkpoint(&checkpoint)?;
    let keys = replayed
        .state
        .keys
        .values()
        .map(|k| (k.key_id, k.public_key))
        .collect();
    let (head_watch, _) = watch::channel(size);
    let shared = Arc::new(Shared {
        ledger_id,
        current_key: RwLock::new(node_key.verifying_key()),
        state: RwLock::new(replayed.state.clone()),
        keys: RwLock::new(keys),
        head: RwLock::new(Arc::new(Head {
            size,
            root,
            checkpoint,
        })),
        head_watch,
        store: opened.store,
        recent: RwLock::new(replayed.recent),
        replayed_at_start: size - replayed.from,
        storage_ok: AtomicBool::new(true),
        records_indexed: AtomicBool::new(true),
        counters: Counters::default(),
        witnessed: RwLock::new(None),
        genesis: std::sync::OnceLock::new(),
    });
    let summary = OpenSummary {
        entries: size,
        torn: opened.report.torn.clone(),
        reindexed: opened.reindexed,
        replayed: size - replayed.from,
    };
    let writer = Writer {
        shared: shared.clone(),
        appender: Box::new(opened.appender),
        chain: opened.report.head,
        tree: replayed.tree,
        state: replayed.state,
        node_key,
        max_group: 0,
        data_dir: data_dir.to_path_buf(),
        fold_saved_at: replayed.from,
        fold_every: crate::fold_file::SAVE_EVERY,
        fold_saver: None,
        replicated: None,
    };
    Ok((shared, WriterHandle { writer }, summary))
}

pub struct WriterHandle {
    writer: Writer,
}

impl WriterHandle {
    /// Saves the fold after every `entries` new entries instead of `fold_file::SAVE_EVERY`.
    pub fn fold_every(mut self, entries: u64) -> Self {
        assert!(entries > 0);
        self.writer.fold_every = entries;
        self
    }

    /// Starts the writer thread. It runs until every sender of the returned queue is dropped,
    /// finishing the jobs already queued.
    pub fn start(
        mut self,
        queue_depth: usize,
        max_group: usize,
    ) -> (mpsc::Sender<Job>, std::thread::JoinHandle<()>) {
        assert!(queue_depth > 0 && (1..=MAX_GROUP_ENTRIES).contains(&max_group));
        self.writer.max_group = max_group;
        let (tx, rx) = mpsc::channel(queue_depth);
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || self.writer.run(rx))
            .expect("spawn writer thread");
        (tx, thread)
    }
}

/// A group's transactions after the rules: what to write, and what to publish once it is
/// durable.
#[derive(Default)]
struct Applied {
    outcomes: Vec<Vec<Outcome>>,
    appended: Vec<Appended>,
    effects: Vec<(Effects, i64)>,
    new_keys: Vec<(KeyId, VerifyingKey)>,
    /// The checkpoint already signed for the group (stored with it in PostgreSQL), so that
    /// publishing does not sign it again.
    signed: Option<String>,
}

impl Writer {
    fn run(self, rx: mpsc::Receiver<Job>) {
        if self.replicated.is_some() {
            return self.run_replicated(rx);
        }
        self.run_embedded(rx)
    }

    fn run_embedded(mut self, mut rx: mpsc::Receiver<Job>) {
        self.fold_saver = Some(spawn_fold_saver(self.shared.clone(), self.data_dir.clone()));
        self.save_fold_every(self.fold_every);
        while let Some(first) = rx.blocking_recv() {
            let jobs = self.more_jobs(first, &mut rx);
            self.group(jobs);
            self.save_fold_every(self.fold_every);
        }
        self.stop_fold_saver();
    }

    /// Stops the fold saver and saves the fold a last time.
    fn stop_fold_saver(&mut self) {
        // The last save is the writer's own, after the saver thread is done: nothing older can
        // replace it.
        if let Some((wake, thread)) = self.fold_saver.take() {
            drop(wake);
            let _ = thread.join();
        }
        self.save_fold_now();
        tracing::info!("writer stopped: queue closed and drained");
    }

    /// Asks the saver thread to save the fold when `every` entries or more came since it was
    /// last asked, so the next start replays at most about that many. The writer goes on: the
    /// saver encodes the published state under its read lock and writes it on its own.
    fn save_fold_every(&mut self, every: u64) {
        let size = self.chain.next_sequence;
        if size - self.fold_saved_at < every {
            return;
        }
        if let Some((wake, _)) = &self.fold_saver {
            // Full: a save is under way; the next group asks again.
            if wake.try_send(self.node_key.clone()).is_ok() {
                self.fold_saved_at = size;
            }
        }
    }

    /// Saves the fold here and now (the writer's state is the published one between groups,
    /// and every entry it covers is durable).
    fn save_fold_now(&mut self) {
        let size = self.chain.next_sequence;
        let started = Instant::now();
        match crate::fold_file::save(
            &self.data_dir,
            &self.node_key,
            size,
            &self.tree.root(),
            &self.chain.last_hash,
            &self.state,
        ) {
            Ok(()) => {
                self.fold_saved_at = size;
                tracing::info!(
                    size,
                    ms = started.elapsed().as_millis() as u64,
                    "saved the fold"
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot save the fold; the next start replays more of the log")
            }
        }
    }

    /// One group commit: apply the rules, write and sync, publish, answer.
    fn group(&mut self, jobs: Vec<Job>) {
        let started = Instant::now();
        let chain_before = self.chain.clone();
        let tree_before = self.tree.clone();
        let mut applied = self.apply_jobs(&jobs);
        if !applied.appended.is_empty() {
            // A ledger kept in PostgreSQL commits there first: the database is the log of
            // record, this node's files its copy.
            let written = match self.replicate(&applied.appended) {
                Ok(signed) => match self.appender.append_durable(&applied.appended) {
                    Ok(landed) => Ok((landed, signed)),
                    Err(e) => Err(self.copy_failed(e)),
                },
                Err(unwritten) => Err(unwritten),
            };
            match written {
                Ok((landed, signed)) => {
                    applied.signed = signed;
                    self.publish(landed, &mut applied)
                }
                Err(unwritten) => {
                    self.chain = chain_before;
                    self.tree = tree_before;
                    self.storage_failed(jobs, unwritten);
                    return;
                }
            }
        }
        let shared = &self.shared;
        let head = shared.head();
        shared.head_watch.send_replace(head.size);
        shared.counters.groups.fetch_add(1, Ordering::Relaxed);
        let appended = applied.appended.len() as u64;
        shared.counters.group_size.observe(appended);
        shared
            .counters
            .group_micros
            .observe(started.elapsed().as_micros() as u64);
        for (job, outcomes) in jobs.into_iter().zip(applied.outcomes) {
            for o in &outcomes {
                let counter = match o {
                    Outcome::Rejected(_) => &shared.counters.rejected,
                    Outcome::Duplicate(_) => &shared.counters.duplicates,
                    Outcome::Appended(_) => &shared.counters.appended,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
            let _ = job.reply.send(Ok((outcomes, head.clone())));
        }
    }

    /// Applies the rules to every item, in order, on the writer's own state.
    fn apply_jobs(&mut self, jobs: &[Job]) -> Applied {
        let mut applied = Applied::default();
        for job in jobs {
            let outcomes = job
                .items
                .iter()
                .map(|item| match self.apply_one(item, &mut applied) {
                    Ok(seq) => Outcome::Appended(seq),
                    Err(Rejection::Duplicate { sequence, .. }) => Outcome::Duplicate(sequence),
                    Err(r) => Outcome::Rejected(r),
                })
                .collect();
            applied.outcomes.push(outcomes);
        }
        applied
    }

    /// Nothing in the group was written: the writer's state goes back to the published
    /// (durable) one, and every job hears why.
    fn storage_failed(&mut self, jobs: Vec<Job>, unwritten: Unwritten) {
        let shared = &self.shared;
        shared
            .counters
            .storage_errors
            .fetch_add(1, Ordering::Relaxed);
        shared.storage_ok.store(false, Ordering::Relaxed);
        tracing::error!(error = %unwritten, "group commit failed; nothing in it was acknowledged");
        self.state = shared.state.read().expect("state lock").clone();
        assert_eq!(self.state.next_sequence, self.chain.next_sequence);
        for job in jobs {
            let _ = job.reply.send(Err(unwritten.clone()));
        }
    }

    /// Makes a durable group visible to readers: index, hash tiles, state, head.
    fn publish(&mut self, landed: store::Landed, applied: &mut Applied) {
        let shared = self.shared.clone();
        shared.storage_ok.store(true, Ordering::Relaxed);
        for a in &applied.appended {
            self.tree
                .append(merkle::entry_leaf_hash(&a.entry), |_, _, _| {});
        }
        let size = self.chain.next_sequence;
        assert_eq!(self.tree.size(), size, "Merkle tree and chain disagree");
        let root = self.tree.root();
        self.adopt_rotated_key(size);
        let sign = || {
            Checkpoint {
                origin: shared.ledger_id.clone(),
                tree_size: size,
                root,
            }
            .sign(&self.node_key)
            .text
        };
        // Ed25519 is deterministic: the text signed before the commit is the one signed here.
        let checkpoint = match applied.signed.take() {
            Some(text) => {
                debug_assert_eq!(
                    text,
                    sign(),
                    "the group's checkpoint was signed for this tree"
                );
                text
            }
            None => sign(),
        };
        let indexed = self
            .appender
            .publish(&applied.appended, landed, &checkpoint)
            && shared.records_indexed.load(Ordering::Relaxed);
        if !indexed {
            shared.records_indexed.store(false, Ordering::Relaxed);
        }
        {
            let mut recent = shared.recent.write().expect("recent lock");
            for a in &applied.appended {
                if recent.len() == RECENT_ENTRIES {
                    recent.pop_front();
                }
                recent.push_back((a.entry.clone(), a.hash));
            }
        }
        if !applied.new_keys.is_empty() {
            let new_keys = std::mem::take(&mut applied.new_keys);
            shared.keys.write().expect("keys lock").extend(new_keys);
        }
        // State and head change together: a reader holding the state lock sees a matching head.
        let mut state = shared.state.write().expect("state lock");
        for (effects, timestamp_ms) in applied.effects.drain(..) {
            state.commit(effects, timestamp_ms);
        }
        assert_eq!(
            state.next_sequence, size,
            "published state and log disagree"
        );
        if indexed {
            // The index has every record now: memory keeps none of them.
            state.forget_indexed(size);
            self.state.forget_indexed(size);
        }
        *shared.head.write().expect("head lock") = Arc::new(Head {
            size,
            root,
            checkpoint,
        });
    }

    /// After a durable group that rotated the checkpoint key: sign from now on with the key
    /// the ledger names (the one `apply_one` checked is in `node.key.next`).
    fn adopt_rotated_key(&mut self, size: u64) {
        let named = self
            .state
            .ledger
            .as_ref()
            .expect("a ledger after genesis")
            .checkpoint_key;
        if named == self.node_key.verifying_key() {
            return;
        }
        let next = crate::node_keys::read_next(&self.data_dir)
            .filter(|k| k.verifying_key() == named)
            .expect("apply_one accepted the rotation only with this key in node.key.next");
        if let Err(e) = crate::node_keys::adopt(&self.data_dir, &self.node_key, size) {
            // The log names the new key; the next start finishes the files (finish_rotation).
            tracing::error!(error = %e, "cannot rename the node key files after a rotation");
        }
        tracing::warn!(
            from = %KeyId::of(&self.node_key.verifying_key()).fingerprint(),
            to = %KeyId::of(&named).fingerprint(),
            size,
            "节点签名密钥已更换 the node's checkpoint key was rotated"
        );
        self.node_key = next;
        *self.shared.current_key.write().expect("key lock") = named;
    }

    /// A rotation is accepted only when the node holds the new key, so it can sign with it.
    fn check_rotation(&self, kind: &Kind) -> Result<(), Rejection> {
        let Kind::CheckpointKeyRotated { new_key, .. } = kind else {
            return Ok(());
        };
        match crate::node_keys::read_next(&self.data_dir) {
            Some(k) if &k.verifying_key() == new_key => Ok(()),
            _ => Err(Rejection::invalid(
                "checkpoint_key_rotated.new_key",
                "节点没有这个新密钥 the node does not hold this key: put its key file at <data>/node.key.next first (`ledger-node keygen --out <data>/node.key.next`), then submit the rotation",
            )),
        }
    }

    fn apply_one(&mut self, item: &Item, applied: &mut Applied) -> Result<u64, Rejection> {
        let prepared = item.prepared.as_ref().map_err(Clone::clone)?;
        let signers = match &item.verified {
            Some(signers) => signers.clone(),
            None => rules::verify_signatures(&self.state, prepared)?,
        };
        // The node's clock never goes back in the log, even if the system clock does.
        let timestamp_ms = now_ms().max(self.state.last_timestamp_ms);
        let ctx = EntryContext {
            sequence: self.state.next_sequence,
            timestamp_ms,
        };
        let effects = rules::apply(
            &self.state,
            &ctx,
            &prepared.tx,
            &prepared.body_hash,
            &signers,
        )?;
        self.check_rotation(&prepared.tx.kind)?;
        let entry = Entry {
            sequence: ctx.sequence,
            prev_hash: self.chain.last_hash,
            timestamp_ms,
            envelope: item.envelope.clone(),
        };
        let hash = self
            .chain
            .link(&entry)
            .expect("the writer builds the next link itself");
        for change in &effects.changes {
            if let Change::KeyRegistered(k) = change {
                applied.new_keys.push((k.key_id, k.public_key));
            }
        }
        debug_assert!(!matches!(prepared.tx.kind, Kind::Genesis { .. }) || ctx.sequence == 0);
        self.state.commit(effects.clone(), timestamp_ms);
        applied.appended.push(Appended {
            entry,
            hash,
            records: effects.records(),
        });
        applied.effects.push((effects, timestamp_ms));
        Ok(ctx.sequence)
    }
}

/// The fold saver: on each wake-up, encodes the published state (under the state's read lock,
/// with the head that matches it) and writes it signed, off the writer thread, so a group never
/// waits for a save's writing and `sync`.
fn spawn_fold_saver(
    shared: Arc<Shared>,
    data_dir: PathBuf,
) -> (
    std::sync::mpsc::SyncSender<SigningKey>,
    std::thread::JoinHandle<()>,
) {
    let (wake, woken) = std::sync::mpsc::sync_channel::<SigningKey>(1);
    let thread = std::thread::Builder::new()
        .name("fold-saver".into())
        .spawn(move || {
            for key in woken {
                let started = Instant::now();
                let encoded = {
                    let state = shared.state.read().expect("state lock");
                    let head = shared.head();
                    assert_eq!(head.size, state.next_sequence, "state and head change together");
                    crate::fold_file::encode(&state).map(|body| (head.size, head.root, body))
                };
                let saved = encoded.and_then(|(size, root, body)| {
                    // A start resumes from this fold only where the index covers it: the
                    // index's writes up to `size` leave the process first, so a kill -9 right
                    // after this save does not make the next start replay the whole log.
                    shared.store.flush()?;
                    let (_, last_hash) = shared.read_entry(size - 1)?;
                    crate::fold_file::write(&data_dir, &key, size, &root, &last_hash, &body)?;
                    Ok(size)
                });
                match saved {
                    Ok(size) => tracing::info!(size, ms = started.elapsed().as_millis() as u64, "saved the fold"),
                    Err(e) => tracing::error!(error = %e, "cannot save the fold; the next start replays more of the log"),
                }
            }
        })
        .expect("spawn the fold saver");
    (wake, thread)
}

/// Creates a new ledger in a data directory that holds none, from a signed genesis envelope.
/// The log file is created new (never over another) and its directory entry is made durable.
/// Returns the genesis entry (the ledger fingerprint is derived from it).
pub fn create(data_dir: &Path, genesis_envelope: Vec<u8>) -> Result<Entry, anyhow::Error> {
    std::fs::create_dir_all(data_dir)?;
    if store::has_log(data_dir) {
        anyhow::bail!(
            "{} already holds a ledger log; refusing to overwrite it",
            data_dir.display()
        );
    }
    let mut state = State::new();
    let entry = Entry {
        sequence: 0,
        prev_hash: ledger_core::entry::GENESIS_PREV_HASH,
        timestamp_ms: now_ms(),
        envelope: genesis_envelope,
    };
    rules::apply_entry(&mut state, &entry)
        .map_err(|r| anyhow::anyhow!("the genesis transaction is refused: {r}"))?;
    store::create(data_dir, &entry)?;
    Ok(entry)
}
