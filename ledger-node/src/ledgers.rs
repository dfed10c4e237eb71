//! Many ledgers on one node. The data directory's own ledger (the default) is always open; each
//! added ledger lives whole in `<data>/ledgers/<name>/` (its own genesis, node key, log, index,
//! tiles, fold, mark and witnesses: the same layout as the data directory itself) and is opened
//! on its first request, closed again when idle or when room is needed for another.
//!
//! A request names its ledger with the `ledger-id` metadata (the page's `/l/<ledger>/` path
//! sets it); a request without one is for the default ledger. Nothing a client sends creates
//! anything: only a directory `ledger-node init` made can be opened.
//!
//! Lifecycle of an added ledger: a cell per directory holds `None` (closed) or the open ledger.
//! Opening and closing both hold the cell's lock, so a ledger is never opened twice or opened
//! while it is still closing (its index is locked by one process, once). A ledger is closed
//! only when no request, stream or download holds it (the registry's reference is the only one).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::mpsc;

use crate::engine::{self, Job, Shared};

/// Where added ledgers live, under the data directory.
pub const LEDGERS_DIR: &str = "ledgers";
/// The request metadata (gRPC) or header (gRPC-Web) naming a ledger.
pub const LEDGER_ID_HEADER: &str = "ledger-id";
/// The most ledgers `--max-open-ledgers` may allow open at once (threads: writer, mark keeper
/// and the index's flusher each).
pub const MAX_OPEN_LEDGERS: usize = 4096;
/// The most ledgers the index page and `/ledgers` list (a directory with more is still served;
/// the list says how many were left out).
pub const MAX_LISTED: usize = 10_000;

/// A ledger id as a directory name: letters, digits, `-` and `_` stay; `.`, `/` and `:` (the
/// other characters an id may have) become `%2E`, `%2F`, `%3A`. The mapping is one to one, and
/// no name is `.` or `..` or holds a separator, so an id can never name a path outside
/// `ledgers/`.
pub fn dir_name(ledger_id: &str) -> String {
    let mut name = String::with_capacity(ledger_id.len() * 3);
    for c in ledger_id.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' => name.push(c),
            c => name.push_str(&format!("%{:02X}", c as u32)),
        }
    }
    name
}

/// The ledger id a directory name stands for, if it is one `dir_name` makes.
pub fn ledger_id_of_dir(name: &str) -> Option<String> {
    percent_decoded_id(name).filter(|id| dir_name(id) == name)
}

/// The ledger id `text` spells with percent-escapes (`%2F`, `%2e`, …: any escape of a
/// character an id may hold), if it is one. For directory names and URL path segments alike.
pub fn percent_decoded_id(text: &str) -> Option<String> {
    let mut id = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(hex) = rest.strip_prefix('%') {
            let byte = u8::from_str_radix(hex.get(..2)?, 16).ok()?;
            id.push(char::from(byte));
            rest = &hex[2..];
        } else {
            id.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    valid_id(&id).then_some(id)
}

/// Whether `id` is a ledger id the rules accept (`ledger_core::tx`'s identifier).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= ledger_core::limits::MAX_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b':'))
}

/// The directory of added ledger `ledger_id` under the data directory `root`.
pub fn added_ledger_dir(root: &Path, ledger_id: &str) -> PathBuf {
    assert!(valid_id(ledger_id));
    root.join(LEDGERS_DIR).join(dir_name(ledger_id))
}

/// How every ledger's writer runs.
#[derive(Clone, Debug)]
pub struct OpenSettings {
    pub fold_every: u64,
    pub queue_depth: usize,
    pub max_group: usize,
    pub witness_interval: Duration,
}

/// What runs for an open ledger, taken when it closes.
struct Parts {
    writer: std::thread::JoinHandle<()>,
    keeper: (std::thread::JoinHandle<()>, Arc<AtomicBool>),
    tasks: Vec<tokio::task::AbortHandle>,
}

/// One open ledger: its read side, its writer's queue, what runs for it.
pub struct OpenLedger {
    pub shared: Arc<Shared>,
    pub data_dir: PathBuf,
    /// Disclosure statements made and kept for this ledger (`reports.rs`).
    pub reports: crate::reports::Reports,
    /// Taken at close: the writer stops once the queue has no sender.
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    parts: Mutex<Option<Parts>>,
    /// Milliseconds since the registry was made, at the last request.
    last_used_ms: AtomicI64,
    /// Subscribe streams holding this ledger open, and the signal that ends them when the node
    /// needs the room for another ledger.
    streams: AtomicUsize,
    evict: tokio::sync::watch::Sender<bool>,
}

/// Counts a stream as holding its ledger while it lives.
pub struct StreamGuard<'a>(&'a AtomicUsize);

impl Drop for StreamGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for OpenLedger {
    /// A ledger is closed before it is dropped; one that was not (a bug) is closed here rather
    /// than left with its writer and mark keeper running and its files open.
    fn drop(&mut self) {
        if self.parts.get_mut().map(|p| p.is_some()).unwrap_or(false) {
            tracing::error!(ledger = %self.shared.ledger_id, "a ledger was dropped without being closed; closing it now");
            if let Err(e) = self.close() {
                tracing::error!(error = %format!("{e:#}"), "closing a dropped ledger failed");
            }
        }
    }
}

impl OpenLedger {
    /// Opens the ledger in `data_dir` and starts its writer and mark keeper (blocking). With
    /// `store`, the ledger is kept in PostgreSQL and `data_dir` holds this node's copy
    /// (`pg.rs`): the copy must be a prefix of the database's log. Needs a Tokio runtime.
    pub fn start(
        data_dir: &Path,
        settings: &OpenSettings,
        store: Option<&crate::pg::PgSettings>,
    ) -> anyhow::Result<OpenLedger> {
        let key =
            ledger_keys::read(&crate::bootstrap::node_key_path(data_dir)).with_context(|| {
                format!(
                    "需要 {} 中账本的节点密钥 / the node key of the ledger in {} is needed",
                    data_dir.display(),
                    data_dir.display()
                )
            })?;
        let (shared, writer, summary) = engine::open(data_dir, key, false)?;
        if let Some(torn) = &summary.torn {
            eprintln!(
                "账本 {id} 的日志末尾有一次未完成的写入（{b} 字节，{r} 条未确认的记录），已截去。\n\
                 The log of {id} ended in an unfinished write ({b} bytes, {r} unacknowledged records: {why}); it was cut.",
                id = shared.ledger_id,
                b = torn.bytes,
                r = torn.records,
                why = torn.why
            );
        }
        tracing::info!(entries = summary.entries, reindexed = summary.reindexed, replayed = summary.replayed, ledger = %shared.ledger_id, "ledger opened");
        let mut writer = writer.fold_every(settings.fold_every);
        if let Some(store) = store {
            let shown = store.shown_url();
            let store = &store.for_node(data_dir).with_context(|| {
                format!(
                    "无法读写 / cannot read or write {}",
                    data_dir.join(crate::pg::NODE_ID_FILE).display()
                )
            })?;
            // The blocking client runs its own runtime: off this (possibly async) thread.
            let replica = std::thread::scope(|scope| {
                scope
                    .spawn(|| -> anyhow::Result<crate::pg::Replica> {
                        let mut replica =
                            crate::pg::Replica::connect(store.clone(), &shared.ledger_id)
                                .with_context(|| {
                                    format!("无法使用数据库 / cannot use the store {shown}")
                                })?;
                        engine::check_copy(&mut replica, &shared).with_context(|| {
                            format!("数据库 {shown} 与本节点的副本 / the store {shown} and this node's copy")
                        })?;
                        // A node restarted on its directory, or the first of its ledger, writes
                        // from its first request; the others follow until the lease expires.
                        if let Err(e) = replica.try_take_lease() {
                            tracing::warn!(error = %e, "cannot try the write lease at start");
                        }
                        Ok(replica)
                    })
                    .join()
                    .map_err(|_| anyhow::anyhow!("connecting to the store panicked"))?
            })?;
            writer = writer.replicated(replica, tokio::runtime::Handle::current());
        }
        let (queue, writer) = writer.start(settings.queue_depth, settings.max_group);
        let keeper = crate::mark::keep(shared.clone(), data_dir.to_path_buf());
        Ok(OpenLedger {
            shared,
            data_dir: data_dir.to_path_buf(),
            reports: crate::reports::Reports::default(),
            queue: Mutex::new(Some(queue)),
            parts: Mutex::new(Some(Parts {
                writer,
                keeper,
                tasks: Vec::new(),
            })),
            last_used_ms: AtomicI64::new(0),
            streams: AtomicUsize::new(0),
            evict: tokio::sync::watch::channel(false).0,
        })
    }

    /// Counts a Subscribe stream as holding this ledger while the guard lives.
    pub fn stream_guard(&self) -> StreamGuard<'_> {
        self.streams.fetch_add(1, Ordering::SeqCst);
        StreamGuard(&self.streams)
    }

    /// Turns true when the node closes this ledger to make room: its streams end then.
    pub fn evicted(&self) -> tokio::sync::watch::Receiver<bool> {
        self.evict.subscribe()
    }

    /// The writer's queue; `None` once the ledger is closing.
    pub fn queue(&self) -> Option<mpsc::Sender<Job>> {
        self.queue.lock().expect("queue lock").clone()
    }

    /// A task that runs for this ledger (its witnessing) and ends when it closes.
    pub fn add_task(&self, task: tokio::task::AbortHandle) {
        match self.parts.lock().expect("parts lock").as_mut() {
            Some(parts) => parts.tasks.push(task),
            None => task.abort(),
        }
    }

    /// Stops the ledger (blocking): the writer finishes what is queued, syncs, saves its fold
    /// and stops; the index is flushed; the mark is saved once more. Requests still holding it
    /// get UNAVAILABLE for writes. A second call does nothing.
    pub fn close(&self) -> anyhow::Result<()> {
        drop(self.queue.lock().expect("queue lock").take());
        let Some(parts) = self.parts.lock().expect("parts lock").take() else {
            return Ok(());
        };
        for task in &parts.tasks {
            task.abort();
        }
        parts.writer.join().map_err(|_| {
            anyhow::anyhow!("the writer thread of {} panicked", self.shared.ledger_id)
        })?;
        self.shared.store.flush()?;
        parts.keeper.1.store(true, Ordering::SeqCst);
        parts.keeper.0.thread().unpark();
        parts.keeper.0.join().map_err(|_| {
            anyhow::anyhow!("the mark keeper of {} panicked", self.shared.ledger_id)
        })?;
        tracing::info!(ledger = %self.shared.ledger_id, "ledger closed");
        Ok(())
    }
}

/// Why a request's ledger could not be given.
#[derive(Debug)]
pub enum PickError {
    /// The `ledger-id` value is not a ledger id.
    Invalid(String),
    /// No such ledger on this node.
    Unknown(String),
    /// Every open ledger is in use and the limit is reached.
    Busy { limit: usize },
    /// `ledger-id` was given more than once.
    Repeated,
    /// The ledger's directory could not be opened (why, in Chinese and in English).
    Unopenable {
        ledger: String,
        why_zh: String,
        why_en: String,
    },
}

impl PickError {
    /// The stable machine code (`ledger-reason`).
    pub fn reason(&self) -> &'static str {
        use ledger_proto::ledger_reasons as code;
        match self {
            PickError::Invalid(_) | PickError::Repeated => code::INVALID_LEDGER_ID,
            PickError::Unknown(_) => code::UNKNOWN_LEDGER,
            PickError::Busy { .. } => code::LEDGERS_BUSY,
            PickError::Unopenable { .. } => code::LEDGER_UNOPENABLE,
        }
    }
}

impl std::fmt::Display for PickError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PickError::Invalid(v) => write!(
                f,
                "ledger-id {v:?} 不是账本标识（1 到 64 个字符：A-Z a-z 0-9 - _ . / :）\n\
                 ledger-id {v:?} is not a ledger id (1 to 64 characters from A-Z a-z 0-9 - _ . / :)"
            ),
            PickError::Unknown(id) => write!(
                f,
                "本节点没有账本 {id}（节点的账本列表在网页 /l/）\n\
                 this node serves no ledger {id} (its ledgers are listed on the page at /l/)"
            ),
            PickError::Busy { limit } => write!(
                f,
                "节点同时打开的 {limit} 个账本都在使用中，请稍后重试\n\
                 all {limit} ledgers the node keeps open are in use (--max-open-ledgers); retry in a moment"
            ),
            PickError::Repeated => write!(
                f,
                "ledger-id 只能给一次\nledger-id was given more than once: name one ledger"
            ),
            PickError::Unopenable {
                ledger,
                why_zh,
                why_en,
            } => write!(
                f,
                "账本 {ledger} 无法打开：{why_zh}\nledger {ledger} cannot be opened: {why_en}"
            ),
        }
    }
}

type Cell = tokio::sync::Mutex<Option<Arc<OpenLedger>>>;

/// The node's ledgers.
pub struct Ledgers {
    root: PathBuf,
    default: Arc<OpenLedger>,
    /// A cell per added ledger asked for whose directory exists (so bounded by the directories
    /// `init` made, not by what clients send).
    added: Mutex<HashMap<String, Arc<Cell>>>,
    open: AtomicUsize,
    settings: OpenSettings,
    max_open: usize,
    idle: Duration,
    born: Instant,
}

/// One line of the node's list of ledgers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub ledger_id: String,
    pub default: bool,
    pub open: bool,
}

impl Ledgers {
    pub fn new(
        root: &Path,
        default: OpenLedger,
        settings: OpenSettings,
        max_open: usize,
        idle: Duration,
    ) -> Arc<Ledgers> {
        assert!((1..=MAX_OPEN_LEDGERS).contains(&max_open));
        // Closing and reopening ledgers must not leak sled's memory each time (index.rs).
        crate::index::park_closed_indexes();
        Arc::new(Ledgers {
            root: root.to_path_buf(),
            default: Arc::new(default),
            added: Mutex::new(HashMap::new()),
            open: AtomicUsize::new(0),
            settings,
            max_open,
            idle,
            born: Instant::now(),
        })
    }

    pub fn default_ledger(&self) -> &Arc<OpenLedger> {
        &self.default
    }

    fn now_ms(&self) -> i64 {
        self.born.elapsed().as_millis() as i64
    }

    /// The ledger a request names (`None`: the default), opened if it is closed.
    pub async fn get(
        self: &Arc<Self>,
        ledger_id: Option<&str>,
    ) -> Result<Arc<OpenLedger>, PickError> {
        let id = match ledger_id {
            None => return Ok(self.default.clone()),
            Some(id) if id == self.default.shared.ledger_id => return Ok(self.default.clone()),
            Some(id) if !valid_id(id) => return Err(PickError::Invalid(id.to_string())),
            Some(id) => id,
        };
        let cell = self.cell(id)?;
        if let Some(open) = cell.lock().await.as_ref() {
            open.last_used_ms.store(self.now_ms(), Ordering::Relaxed);
            return Ok(open.clone());
        }
        // Opened on a task of its own: a request that goes away while its ledger opens must
        // not leave that ledger opened and unregistered (its threads and files would leak).
        let (ledgers, owned) = (self.clone(), id.to_string());
        tokio::spawn(async move { ledgers.open_in(&cell, &owned).await })
            .await
            .map_err(|e| unopenable(id, e.to_string()))?
    }

    /// Opens added ledger `id` into `cell` unless someone did meanwhile.
    async fn open_in(&self, cell: &Cell, id: &str) -> Result<Arc<OpenLedger>, PickError> {
        let mut slot = cell.lock().await;
        if let Some(open) = slot.as_ref() {
            open.last_used_ms.store(self.now_ms(), Ordering::Relaxed);
            return Ok(open.clone());
        }
        let dir = added_ledger_dir(&self.root, id);
        if !crate::store::has_log(&dir) {
            return Err(PickError::Unknown(id.to_string())); // deleted since
        }
        // Before anything is opened or written there: a directory moved, copied or linked
        // under another ledger's name would show one community another's books.
        let named = dir.clone();
        let holds = tokio::task::spawn_blocking(move || crate::store::ledger_id_of(&named))
            .await
            .map_err(|e| unopenable(id, e.to_string()))?
            .map_err(|e| unopenable(id, format!("{e:#}")))?;
        if holds != id {
            tracing::error!(ledger = %id, %holds, "a ledger directory holds another ledger");
            return Err(PickError::Unopenable {
                ledger: id.to_string(),
                why_zh: format!("目录中是另一个账本 {holds}"),
                why_en: format!("its directory holds another ledger, {holds}"),
            });
        }
        self.reserve_slot().await?;
        let settings = self.settings.clone();
        let started =
            tokio::task::spawn_blocking(move || OpenLedger::start(&dir, &settings, None)).await;
        let opened = match started {
            Ok(Ok(opened)) => Arc::new(opened),
            Ok(Err(e)) => {
                self.open.fetch_sub(1, Ordering::SeqCst);
                return Err(unopenable(id, format!("{e:#}")));
            }
            Err(e) => {
                self.open.fetch_sub(1, Ordering::SeqCst);
                return Err(unopenable(id, e.to_string()));
            }
        };
        assert_eq!(opened.shared.ledger_id, id, "the genesis was checked above");
        self.start_witnessing(&opened).await;
        opened.last_used_ms.store(self.now_ms(), Ordering::Relaxed);
        *slot = Some(opened.clone());
        Ok(opened)
    }

    /// The cell of added ledger `id`, made when its directory holds a ledger.
    fn cell(&self, id: &str) -> Result<Arc<Cell>, PickError> {
        let mut added = self.added.lock().expect("ledgers lock");
        if let Some(cell) = added.get(id) {
            return Ok(cell.clone());
        }
        if !crate::store::has_log(&added_ledger_dir(&self.root, id)) {
            return Err(PickError::Unknown(id.to_string()));
        }
        let cell = Arc::new(Cell::new(None));
        added.insert(id.to_string(), cell.clone());
        Ok(cell)
    }

    /// Takes one of the `max_open` places (atomically, so concurrent opens cannot pass the
    /// limit), closing the least recently used idle ledger for it, or else one held only by
    /// Subscribe streams (they end with where to resume); `Busy` when every open ledger is in
    /// use by requests.
    async fn reserve_slot(&self) -> Result<(), PickError> {
        let mut attempts = 0;
        loop {
            let open = self.open.load(Ordering::SeqCst);
            if open < self.max_open {
                let taken =
                    self.open
                        .compare_exchange(open, open + 1, Ordering::SeqCst, Ordering::SeqCst);
                if taken.is_ok() {
                    return Ok(());
                }
                continue;
            }
            let idle = self
                .idle_cells(i64::MAX)
                .into_iter()
                .min_by_key(|(_, used)| *used);
            let closed = match idle {
                // Another opener may close the same one first: then look again (bounded).
                Some((cell, _)) => self.close_if_idle(&cell, i64::MAX).await || attempts < 16,
                None => self.evict_streamed().await,
            };
            attempts += 1;
            if !closed {
                return Err(PickError::Busy {
                    limit: self.max_open,
                });
            }
        }
    }

    /// Ends the streams of the least recently used ledger held only by streams, and closes
    /// it. Anonymous readers of the public page must not be able to keep every place: a stream
    /// can resume, a refused community cannot post.
    async fn evict_streamed(&self) -> bool {
        let victim = self
            .open_cells_where(|open| {
                let streams = open.streams.load(Ordering::SeqCst);
                streams > 0 && Arc::strong_count(open) == 1 + streams
            })
            .into_iter()
            .min_by_key(|(_, used)| *used);
        let Some((cell, _)) = victim else {
            return false;
        };
        let held = cell.lock().await.clone();
        if let Some(open) = held {
            tracing::warn!(ledger = %open.shared.ledger_id, "closing a ledger held only by streams, to open another");
            let _ = open.evict.send(true);
            // Its streams end at their next step; `open` here and the cell's are what remain.
            let deadline = Instant::now() + Duration::from_secs(2);
            while Arc::strong_count(&open) > 2 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let closed = self.close_if_idle(&cell, i64::MAX).await;
        if !closed {
            // Still open (someone took it meanwhile): new streams must not be ended at once.
            if let Some(open) = cell.lock().await.as_ref() {
                let _ = open.evict.send(false);
            }
        }
        closed
    }

    /// Open ledgers no one holds, used at or before `used_before` (ms), with when.
    fn idle_cells(&self, used_before: i64) -> Vec<(Arc<Cell>, i64)> {
        self.open_cells_where(|open| {
            Arc::strong_count(open) == 1 && open.last_used_ms.load(Ordering::Relaxed) <= used_before
        })
    }

    /// The cells whose open ledger `pick` accepts, with when each was last used. A cell busy
    /// (opening, closing, or being looked at) is passed over.
    fn open_cells_where(&self, pick: impl Fn(&Arc<OpenLedger>) -> bool) -> Vec<(Arc<Cell>, i64)> {
        self.cells()
            .into_iter()
            .filter_map(|cell| {
                let used = {
                    let slot = cell.try_lock().ok()?;
                    let open = slot.as_ref().filter(|open| pick(open))?;
                    open.last_used_ms.load(Ordering::Relaxed)
                };
                Some((cell, used))
            })
            .collect()
    }

    /// The cells of the added ledgers asked for so far (a snapshot: the lock is not held).
    fn cells(&self) -> Vec<Arc<Cell>> {
        let added = self.added.lock().expect("ledgers lock");
        added.values().cloned().collect()
    }

    /// Closes the ledger in `cell` if no one holds it and it was last used at or before
    /// `used_before`. The cell stays locked while it closes, so no one opens it meanwhile.
    async fn close_if_idle(&self, cell: &Cell, used_before: i64) -> bool {
        let mut slot = cell.lock().await;
        let idle = slot.as_ref().is_some_and(|open| {
            Arc::strong_count(open) == 1 && open.last_used_ms.load(Ordering::Relaxed) <= used_before
        });
        if !idle {
            return false;
        }
        let open = slot.take().expect("checked above");
        self.open.fetch_sub(1, Ordering::SeqCst);
        let id = open.shared.ledger_id.clone();
        let closing = move || {
            open.close()?;
            // Aborted tasks drop their handles on their next poll; the index is parked for the
            // next open only when the last one is gone (index.rs), so wait for that (bounded).
            let deadline = Instant::now() + Duration::from_secs(5);
            while Arc::strong_count(&open.shared) > 1 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            anyhow::Ok(())
        };
        match tokio::task::spawn_blocking(closing).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(ledger = %id, error = %format!("{e:#}"), "closing an idle ledger failed")
            }
            Err(e) => tracing::error!(ledger = %id, error = %e, "closing an idle ledger failed"),
        }
        true
    }

    /// Closes every added ledger unused for the idle time.
    pub async fn close_idle(&self) {
        crate::index::prune_parked();
        let before = self.now_ms() - self.idle.as_millis() as i64;
        for (cell, _) in self.idle_cells(before) {
            let _ = self.close_if_idle(&cell, before).await;
        }
    }

    /// Closes idle ledgers every so often until `stop` turns true.
    pub fn spawn_reaper(self: &Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let ledgers = self.clone();
        let every = (self.idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
        tokio::spawn(async move {
            loop {
                let stopped = tokio::select! {
                    _ = tokio::time::sleep(every) => false,
                    r = stop.wait_for(|s| *s) => { drop(r); true }
                };
                if stopped {
                    return;
                }
                ledgers.close_idle().await;
            }
        });
    }

    /// Closes every ledger, the default last (at shutdown, after the ports stopped).
    pub async fn close_all(&self) -> anyhow::Result<()> {
        for cell in self.cells() {
            let mut slot = cell.lock().await;
            if let Some(open) = slot.take() {
                self.open.fetch_sub(1, Ordering::SeqCst);
                tokio::task::spawn_blocking(move || open.close()).await??;
            }
        }
        let default = self.default.clone();
        tokio::task::spawn_blocking(move || default.close()).await?
    }

    /// The default ledger and every open added ledger (for metrics).
    pub fn open_ledgers(&self) -> Vec<Arc<OpenLedger>> {
        let mut open = vec![self.default.clone()];
        for cell in self.cells() {
            // A cell busy opening or closing is left out of this scrape.
            if let Ok(slot) = cell.try_lock() {
                open.extend(slot.as_ref().cloned());
            }
        }
        open.sort_by(|a, b| a.shared.ledger_id.cmp(&b.shared.ledger_id));
        open
    }

    /// The node's ledgers (the default first, then the added ones by id), at most
    /// `MAX_LISTED`, and how many more there are.
    pub fn list(&self) -> (Vec<Listed>, usize) {
        let mut ids: Vec<String> = std::fs::read_dir(self.root.join(LEDGERS_DIR))
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter_map(|e| ledger_id_of_dir(&e.file_name().to_string_lossy()))
                    .filter(|id| crate::store::has_log(&added_ledger_dir(&self.root, id)))
                    .filter(|id| *id != self.default.shared.ledger_id)
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        let more = ids.len().saturating_sub(MAX_LISTED - 1);
        ids.truncate(MAX_LISTED - 1);
        let added = self.added.lock().expect("ledgers lock");
        let is_open = |id: &str| {
            added
                .get(id)
                .and_then(|c| c.try_lock().ok().map(|s| s.is_some()))
                .unwrap_or(false)
        };
        let mut list = vec![Listed {
            ledger_id: self.default.shared.ledger_id.clone(),
            default: true,
            open: true,
        }];
        list.extend(ids.into_iter().map(|id| Listed {
            open: is_open(&id),
            ledger_id: id,
            default: false,
        }));
        (list, more)
    }

    /// Asks the witnesses of an added ledger for cosignatures: the demo witnesses its
    /// directory holds, and the URLs in its `witness-urls` file (one per line).
    async fn start_witnessing(&self, open: &Arc<OpenLedger>) {
        let dir = open.data_dir.clone();
        crate::witnessing::restore(&open.shared, &dir);
        let mut urls: Vec<String> = std::fs::read_to_string(dir.join(WITNESS_URLS_FILE))
            .map(|text| {
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        match crate::witnessing::start_local_witnesses(&dir).await {
            Ok((local, servers)) => {
                urls.extend(local);
                for server in servers {
                    open.add_task(server);
                }
            }
            Err(e) => {
                tracing::error!(ledger = %open.shared.ledger_id, error = %format!("{e:#}"), "cannot start the ledger's demo witnesses")
            }
        }
        let task = tokio::spawn(crate::witnessing::run(
            open.shared.clone(),
            dir,
            urls,
            self.settings.witness_interval,
        ));
        open.add_task(task.abort_handle());
    }
}

/// An added ledger's witnesses' URLs (the default ledger's come from `--witness-url`).
pub const WITNESS_URLS_FILE: &str = "witness-urls";

/// A ledger that cannot be opened, for a reason whose text is the same in both languages (an
/// error from below, itself bilingual where it is ours).
fn unopenable(id: &str, why: String) -> PickError {
    tracing::error!(ledger = %id, %why, "cannot open a ledger");
    PickError::Unopenable {
        ledger: id.to_string(),
        why_zh: why.clone(),
        why_en: why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_has_one_directory_name_and_back() {
        for id in [
            "a",
            "xingfuli.example.gov.cn/fund",
            "..",
            ".",
            "a:b/c.d-e_f",
            "ABC123",
        ] {
            let name = dir_name(id);
            assert!(!name.contains('/') && !name.contains('.') && name != "..");
            assert_eq!(ledger_id_of_dir(&name).as_deref(), Some(id), "{name}");
        }
    }

    #[test]
    fn names_no_id_makes_are_not_ledgers() {
        for name in [
            "..", ".", "a.b", "%2e", "%41", "%2", "%", ".tmp-x", "", "a b",
        ] {
            assert_eq!(ledger_id_of_dir(name), None, "{name:?}");
        }
    }
}
