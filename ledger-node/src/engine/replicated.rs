//! The writer of a ledger kept in PostgreSQL (`pg.rs`). The same thread, fold and copy as the
//! embedded writer; what changes is where a group is committed and who may commit:
//!
//! - **holding the lease**, a group is committed to the database first (one transaction,
//!   conditional on the lease and the head) and to this node's copy after; the lease is renewed
//!   every third of its length;
//! - **not holding it**, jobs are refused with `not_the_writer` (the client goes to another
//!   node), and the writer follows the database into the copy: woken by LISTEN/NOTIFY, with a
//!   poll as the backstop. It tries to take the lease when it has expired, and then first
//!   catches up with everything the last writer committed.
//!
//! Every followed entry goes through the same rules (signatures included) as a submitted one:
//! the database is storage, not a source of trust. An entry that breaks them, a chain that does
//! not link, or a database behind this node's copy stops the node's writing with
//! `store_diverged`, for a person to look at; nothing is cut or rewritten.

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use ledger_proto::ledger_reasons::{NOT_THE_WRITER, STORE_DIVERGED};

use super::*;
use crate::pg::{PgError, PgHead, PgSettings, Replica, Row, FOLLOW_BATCH};
use crate::witnessing::NotAdopted;

/// The longest a follower waits for a notification before it looks at the database anyway.
const POLL: Duration = Duration::from_millis(250);

/// How often a node looks in the database for a newer witnessed checkpoint.
const COSIGNED_EVERY: Duration = Duration::from_millis(1000);

/// Entries uploaded in one transaction when a node brings its embedded log to the database.
const UPLOAD_BATCH: u64 = 1024;

pub(super) struct Replicated {
    replica: Replica,
    /// Where the database's log ends, as the next append expects it; `None` when this writer
    /// does not know (no lease, or an append whose outcome is unknown): it reads it again.
    head: Option<PgHead>,
    runtime: tokio::runtime::Handle,
    /// Woken by the listener thread when the database says the ledger grew.
    wake: Arc<tokio::sync::Notify>,
    listener_stop: Arc<AtomicBool>,
    /// Why this node stopped writing for good (until a person restarts it).
    diverged: Option<String>,
    next_take: Instant,
    /// The size of the witnessed checkpoint last stored in the database, and when this node
    /// last looked for a newer one there.
    cosigned_shared: u64,
    cosigned_checked: Instant,
    /// The last reason following failed, so it is logged once.
    last_follow_error: Option<String>,
    /// When `copy_behind` was last measured.
    lag_measured: Instant,
}

impl WriterHandle {
    /// Keeps the ledger in the database `replica` reaches: the writer commits there when it
    /// holds the lease and follows it when not. `runtime` times the writer's waits.
    pub fn replicated(mut self, replica: Replica, runtime: tokio::runtime::Handle) -> Self {
        let wake = Arc::new(tokio::sync::Notify::new());
        let listener_stop = Arc::new(AtomicBool::new(false));
        spawn_listener(
            replica.settings().clone(),
            self.writer.shared.ledger_id.clone(),
            wake.clone(),
            listener_stop.clone(),
        );
        self.writer.replicated = Some(Replicated {
            replica,
            head: None,
            runtime,
            wake,
            listener_stop,
            diverged: None,
            next_take: Instant::now(),
            cosigned_shared: 0,
            // Looked at before the first lease is tried.
            cosigned_checked: Instant::now()
                .checked_sub(COSIGNED_EVERY)
                .unwrap_or_else(Instant::now),
            last_follow_error: None,
            lag_measured: Instant::now(),
        });
        self
    }
}

/// Checks, before the node serves, that this node's copy is a prefix of the database's log
/// (or the database does not hold the ledger yet, or holds an unfinished upload of this copy).
pub fn check_copy(replica: &mut Replica, shared: &Shared) -> Result<(), PgError> {
    let local = shared.head().size;
    let Some(head) = replica.head()? else {
        return Ok(());
    };
    let common = local.min(head.next_sequence);
    if local > head.next_sequence && head.seeded {
        return Err(PgError::Diverged(behind_message(head.next_sequence, local)));
    }
    if common == 0 {
        return Ok(());
    }
    let (_, ours) = shared
        .read_entry(common - 1)
        .map_err(|e| PgError::Unavailable(format!("this node's copy cannot be read: {e}")))?;
    match replica.hash_of(common - 1)? {
        Some(theirs) if theirs == ours => Ok(()),
        _ => Err(PgError::Diverged(forked_message(common - 1))),
    }
}

fn behind_message(database: u64, copy: u64) -> String {
    format!(
        "数据库中只有 {database} 条，而本节点的副本有 {copy} 条：数据库丢失了已确认的条目（例如切换到了非同步的备库），\
         或者它是另一个账本的数据库。节点不会写入，也不会删除任何一方；请对照见证方的检查点，从备份恢复数据库。\n\
         The database holds {database} entries and this node's copy {copy}: the database lost \
         acknowledged entries (a failover to a standby that was not synchronous?) or belongs to \
         another ledger. The node writes nothing and cuts neither; compare with the witnesses' \
         checkpoints and restore the database from a backup (README: high availability)."
    )
}

fn cut_back_message(held: u64, witnessed: u64) -> String {
    format!(
        "见证方已联署了 {witnessed} 条的检查点，而数据库中只有 {held} 条：数据库中的账本被截短或回滚了。节点不会写入；请对照见证方的检查点，从备份或其他节点的副本恢复数据库。\n\
         The witnesses cosigned a checkpoint of {witnessed} entries and the database holds only \
         {held}: the ledger in the database was cut back or rolled back. The node writes nothing; \
         restore the database from a backup or another node's copy, checked against the \
         witnesses' checkpoint."
    )
}

fn contradicted_message(size: u64) -> String {
    format!(
        "见证方联署的 {size} 条检查点与本节点的副本不一致：账本被改写过。节点不会写入；请保留数据库与副本并对照见证方的检查点。\n\
         The witnesses cosigned a checkpoint of {size} entries whose root is not this node's \
         log at that size: the log was rewritten. The node writes nothing; keep the database and \
         the copies and compare them with the witnesses' checkpoint."
    )
}

fn forked_message(sequence: u64) -> String {
    format!(
        "本节点的副本与数据库在第 {sequence} 条不一致：这是两段不同的历史。节点不会写入；请保留两者并对照见证方的检查点。\n\
         This node's copy and the database differ at entry {sequence}: two different histories \
         under one ledger id. The node writes nothing; keep both and compare them with the \
         witnesses' checkpoints."
    )
}

/// Follows LISTEN/NOTIFY on a connection of its own and wakes the writer when its ledger grew.
fn spawn_listener(
    settings: PgSettings,
    ledger_id: String,
    wake: Arc<tokio::sync::Notify>,
    stop: Arc<AtomicBool>,
) {
    let spawned = std::thread::Builder::new()
        .name("pg-listen".into())
        .spawn(move || crate::pg::listen(&settings, &ledger_id, &stop, || wake.notify_one()));
    if let Err(e) = spawned {
        // The poll still follows the database.
        tracing::error!(error = %e, "cannot start the LISTEN thread; following by polling only");
    }
}

impl Writer {
    fn repl(&mut self) -> &mut Replicated {
        self.replicated.as_mut().expect("a replicated writer")
    }

    pub(super) fn run_replicated(mut self, mut rx: mpsc::Receiver<Job>) {
        self.fold_saver = Some(spawn_fold_saver(self.shared.clone(), self.data_dir.clone()));
        if self.repl().replica.holds_lease() {
            self.took_lease();
        }
        loop {
            self.tend();
            let Some(waited) = self.wait(&mut rx) else {
                break;
            };
            let Some(first) = waited else {
                continue;
            };
            let jobs = self.more_jobs(first, &mut rx);
            if let Some(unwritten) = self.cannot_write() {
                for job in jobs {
                    let _ = job.reply.send(Err(unwritten.clone()));
                }
                continue;
            }
            self.group(jobs);
            self.save_fold_every(self.fold_every);
        }
        let repl = self.repl();
        repl.listener_stop.store(true, Ordering::SeqCst);
        // A clean stop hands the lease on at once instead of making the others wait it out.
        if let Err(e) = repl.replica.release() {
            tracing::warn!(error = %e, "cannot release the write lease; another node takes it when it expires");
        }
        self.shared.counters.is_writer.store(0, Ordering::Relaxed);
        self.stop_fold_saver();
    }

    /// Waits for a job, a notification or the poll: `None` when the queue closed, `Some(None)`
    /// when there is no job.
    fn wait(&mut self, rx: &mut mpsc::Receiver<Job>) -> Option<Option<Job>> {
        let repl = self.repl();
        let wait = POLL.min(repl.replica.settings().lease / 6);
        let wake = repl.wake.clone();
        repl.runtime.block_on(async move {
            tokio::select! {
                job = rx.recv() => job.map(Some),
                _ = wake.notified() => Some(None),
                _ = tokio::time::sleep(wait) => Some(None),
            }
        })
    }

    /// Why this node cannot commit a group now, if it cannot.
    fn cannot_write(&mut self) -> Option<Unwritten> {
        if let Some(why) = &self.repl().diverged {
            return Some(Unwritten {
                reason: Some(STORE_DIVERGED),
                message: why.clone(),
            });
        }
        if !self.repl().replica.holds_lease() {
            return Some(not_the_writer());
        }
        if self.repl().head.is_none() {
            if let Err(e) = self.resync() {
                return Some(self.unwritten(e));
            }
        }
        None
    }

    fn unwritten(&mut self, e: PgError) -> Unwritten {
        match e {
            PgError::NotWriter => not_the_writer(),
            PgError::Diverged(why) => {
                self.diverge(why.clone());
                Unwritten {
                    reason: Some(STORE_DIVERGED),
                    message: why,
                }
            }
            e @ PgError::Unknown(_) => Unwritten {
                reason: None,
                message: format!(
                    "{e}\n请再次提交同样的交易（同一文件或同一 --tx-id）以取得收据，不要新建一笔 / submit the very same \
                     transaction again (the same file or --tx-id) to get its receipt; do not make a new one"
                ),
            },
            e @ (PgError::Unavailable(_) | PgError::Waiting(_)) => Unwritten {
                reason: None,
                message: format!(
                    "数据库不可用，未写入任何内容，请重试 / {e}; nothing was written, submit again (it is idempotent)"
                ),
            },
        }
    }

    /// Keeps the lease (renews it, or takes it when it expired) and, without it, follows.
    fn tend(&mut self) {
        self.measure_lag();
        if self.repl().diverged.is_some() {
            return;
        }
        self.share_cosigned();
        if self.repl().replica.lapse_if_expired() {
            self.lost_lease();
        }
        if self.repl().replica.holds_lease() {
            if self.repl().replica.renewal_due() {
                match self.repl().replica.renew() {
                    Ok(()) => {}
                    Err(PgError::NotWriter) => self.lost_lease(),
                    Err(e) => tracing::warn!(error = %e, "cannot renew the write lease"),
                }
            }
            if self.repl().replica.holds_lease() && self.repl().head.is_none() {
                self.took_lease();
            }
            return;
        }
        match self.follow() {
            Ok(_) => self.repl().last_follow_error = None,
            Err(e) => {
                self.follow_failed(e);
                return;
            }
        }
        if Instant::now() < self.repl().next_take {
            return;
        }
        let lease = self.repl().replica.settings().lease;
        self.repl().next_take = Instant::now() + lease / 4;
        match self.repl().replica.try_take_lease() {
            Ok(Some(_)) => self.took_lease(),
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, "cannot try the write lease"),
        }
    }

    /// Once a second: how far this node's copy is behind the database (`copy_behind`), so a
    /// node that stopped following shows it; unknown (the database unreachable) keeps the last.
    fn measure_lag(&mut self) {
        if self.repl().lag_measured.elapsed() < COSIGNED_EVERY {
            return;
        }
        self.repl().lag_measured = Instant::now();
        if let Ok(Some(head)) = self.repl().replica.head() {
            let behind = head.next_sequence.saturating_sub(self.chain.next_sequence);
            self.shared
                .counters
                .copy_behind
                .store(behind, Ordering::Relaxed);
        }
    }

    /// Brings the witnessed checkpoint through the database: the writer stores a newer one of
    /// its own; every node takes a newer stored one that checks out against its copy (so the
    /// node that takes over serves the witnessed checkpoint at once, cosignatures and all).
    fn share_cosigned(&mut self) {
        let have = self
            .shared
            .witnessed
            .read()
            .expect("witnessed lock")
            .clone();
        let size = have.as_ref().map_or(0, |w| w.checkpoint.tree_size);
        let repl = self.replicated.as_mut().expect("replicated");
        if size > repl.cosigned_shared {
            if let Some(w) = &have {
                if repl.replica.store_cosigned(size, &w.text).is_ok() {
                    repl.cosigned_shared = size;
                }
            }
        }
        if repl.cosigned_checked.elapsed() < COSIGNED_EVERY {
            return;
        }
        repl.cosigned_checked = Instant::now();
        if let Err(e) = self.check_cosigned(size) {
            self.follow_failed(e);
        }
    }

    /// Takes a newer witnessed checkpoint stored in the database, when it checks out. One that
    /// is validly witnessed but contradicts this node's copy, or is larger than the whole log
    /// the database holds, proves that the log was rewritten or cut back: `Diverged`.
    fn check_cosigned(&mut self, have: u64) -> Result<(), PgError> {
        let Some(text) = self.repl().replica.cosigned_above(have)? else {
            return Ok(());
        };
        match crate::witnessing::adopt(&self.shared, &self.data_dir, &text) {
            Ok(_) => Ok(()),
            Err(NotAdopted::Ahead(size)) => {
                let held = self
                    .repl()
                    .replica
                    .head()?
                    .map_or(0, |h| h.next_sequence);
                if held < size {
                    return Err(PgError::Diverged(cut_back_message(held, size)));
                }
                Ok(()) // this node's copy is behind for now; it follows
            }
            Err(NotAdopted::Contradicts(size)) => {
                Err(PgError::Diverged(contradicted_message(size)))
            }
            Err(NotAdopted::Invalid(why)) => Err(PgError::Waiting(format!(
                "数据库中的见证检查点无效，已忽略 / the witnessed checkpoint stored in the database is not valid, so it is ignored: {why}"
            ))),
            Err(NotAdopted::Io(why)) => Err(PgError::Unavailable(why)),
        }
    }

    /// After taking the lease: level the copy and the database; the node counts as the writer
    /// (`ledger_is_writer`) once that is done.
    fn took_lease(&mut self) {
        match self.resync() {
            Ok(()) => self.shared.counters.is_writer.store(1, Ordering::Relaxed),
            Err(e) => self.follow_failed(e),
        }
    }

    fn lost_lease(&mut self) {
        self.repl().head = None;
        self.shared.counters.is_writer.store(0, Ordering::Relaxed);
    }

    fn follow_failed(&mut self, e: PgError) {
        match e {
            PgError::Diverged(why) => self.diverge(why),
            PgError::NotWriter => self.lost_lease(),
            e => {
                // Said once until it changes: the poll tries again four times a second.
                let said = e.to_string();
                if self.repl().last_follow_error.as_ref() != Some(&said) {
                    tracing::warn!(error = %said, "cannot follow the database; trying again");
                    self.repl().last_follow_error = Some(said);
                }
            }
        }
    }

    /// Stops this node's writing for good, loudly.
    fn diverge(&mut self, why: String) {
        tracing::error!("{why}");
        eprintln!("{why}");
        self.shared.storage_ok.store(false, Ordering::Relaxed);
        self.lost_lease();
        let repl = self.repl();
        repl.replica
            .step_down("the database and this node's copy disagree");
        repl.diverged = Some(why);
    }

    /// After taking the lease (or losing track of the head): brings the copy and the database
    /// level: follows what the database has beyond the copy, or uploads the copy's entries the
    /// database lacks when it holds an unfinished upload (or nothing) of them.
    fn resync(&mut self) -> Result<(), PgError> {
        self.repl().head = None;
        self.follow()?;
        let head = self.repl().replica.head()?.ok_or(PgError::NotWriter)?;
        let local = self.chain.next_sequence;
        let head = if head.next_sequence < local {
            if head.seeded {
                return Err(PgError::Diverged(behind_message(head.next_sequence, local)));
            }
            self.upload(head)?
        } else {
            head
        };
        if head.next_sequence != self.chain.next_sequence || head.last_hash != self.chain.last_hash
        {
            return Err(PgError::Diverged(forked_message(
                self.chain.next_sequence.saturating_sub(1),
            )));
        }
        // A witnessed checkpoint beyond the database's end proves entries were removed.
        let have = self
            .shared
            .witnessed
            .read()
            .expect("witnessed lock")
            .as_ref()
            .map_or(0, |w| w.checkpoint.tree_size);
        match self.check_cosigned(have) {
            Err(e @ PgError::Diverged(_)) => return Err(e),
            // A stored checkpoint that is not valid proves nothing: it does not stop a takeover.
            Err(e) => tracing::warn!(error = %e, "not taking the stored witnessed checkpoint"),
            Ok(()) => {}
        }
        if !head.seeded {
            self.repl().replica.mark_seeded()?;
        }
        self.repl().head = Some(PgHead {
            seeded: true,
            ..head
        });
        Ok(())
    }

    /// Uploads this node's entries from `head` on (an embedded ledger moving to the database).
    fn upload(&mut self, mut head: PgHead) -> Result<PgHead, PgError> {
        let local = self.chain.next_sequence;
        let copy = |e: EngineError| PgError::Unavailable(format!("this node's copy: {e}"));
        if head.next_sequence > 0 {
            let (_, ours) = self
                .shared
                .read_entry(head.next_sequence - 1)
                .map_err(copy)?;
            if ours != head.last_hash {
                return Err(PgError::Diverged(forked_message(head.next_sequence - 1)));
            }
        }
        tracing::warn!(
            from = head.next_sequence,
            to = local,
            "把本节点的日志上传到数据库 / uploading this node's log to the database"
        );
        while head.next_sequence < local {
            let end = local.min(head.next_sequence + UPLOAD_BATCH);
            let mut read = Vec::new();
            for sequence in head.next_sequence..end {
                let (entry, hash) = self.shared.read_entry(sequence).map_err(copy)?;
                let tx_id = rules::prepare(&entry.envelope)
                    .map_err(|r| PgError::Diverged(format!("entry {sequence}: {r}")))?
                    .tx
                    .tx_id;
                read.push((entry, hash, tx_id));
            }
            let rows: Vec<Row<'_>> = read
                .iter()
                .map(|(entry, hash, tx_id)| Row {
                    entry,
                    hash,
                    tx_id: *tx_id,
                })
                .collect();
            let checkpoint = self.shared.head();
            let last = end == local;
            self.repl().replica.append(
                &head,
                &rows,
                last.then_some((checkpoint.size, checkpoint.checkpoint.as_str())),
                false,
            )?;
            head = PgHead {
                next_sequence: end,
                last_hash: read.last().expect("not empty").1,
                seeded: false,
            };
        }
        Ok(head)
    }

    /// Applies what the database holds beyond this node's copy, in batches. Returns how many
    /// entries were followed.
    fn follow(&mut self) -> Result<u64, PgError> {
        let mut followed = 0;
        loop {
            let from = self.chain.next_sequence;
            let rows = self.repl().replica.entries(from, FOLLOW_BATCH)?;
            if rows.is_empty() {
                return Ok(followed);
            }
            followed += rows.len() as u64;
            self.apply_followed(rows)?;
        }
    }

    /// Checks and folds entries the database committed, writes them to the copy and publishes
    /// them, as a group of this node's own would be.
    fn apply_followed(&mut self, rows: Vec<(Entry, Hash)>) -> Result<(), PgError> {
        let chain_before = self.chain.clone();
        let tree_before = self.tree.clone();
        let mut applied = Applied::default();
        let mut refused = None;
        for (entry, hash) in rows {
            let chain_at = self.chain.clone();
            if let Err(e) = self.chain.link_hashed(&entry, hash) {
                refused = Some(PgError::Diverged(format!(
                    "{}\n({e})",
                    forked_message(entry.sequence)
                )));
                break;
            }
            let effects = match rules::apply_entry(&mut self.state, &entry) {
                Ok(effects) => effects,
                Err(Rejection::HistoryUnavailable(e)) => {
                    self.chain = chain_at;
                    refused = Some(PgError::Unavailable(format!("the index: {e}")));
                    break;
                }
                Err(r) => {
                    self.chain = chain_at;
                    refused = Some(PgError::Diverged(format!(
                        "数据库中的第 {s} 条违反账本规则，节点不会接受它 / entry {s} in the database breaks the ledger's rules, so this node does not take it: {r}",
                        s = entry.sequence
                    )));
                    break;
                }
            };
            for change in &effects.changes {
                if let Change::KeyRegistered(k) = change {
                    applied.new_keys.push((k.key_id, k.public_key));
                }
            }
            let timestamp_ms = entry.timestamp_ms;
            applied.appended.push(Appended {
                records: effects.records(),
                entry,
                hash,
            });
            applied.effects.push((effects, timestamp_ms));
        }
        // The entries before a refused one are taken (a follower does not stay behind a bad
        // entry by more than it must); none after a rotation to a key this node lacks.
        let missing_key = self.missing_rotated_key();
        let written = match missing_key {
            Some(e) => Err(e),
            None if applied.appended.is_empty() => Err(refused
                .take()
                .unwrap_or_else(|| PgError::Unavailable("nothing to follow".into()))),
            None => self
                .appender
                .append_durable(&applied.appended)
                .map_err(|e| {
                    PgError::Unavailable(format!("this node's copy cannot be written: {e}"))
                }),
        };
        match written {
            Ok(landed) => {
                self.publish(landed, &mut applied);
                let head = self.shared.head();
                self.shared.head_watch.send_replace(head.size);
                refused.map_or(Ok(()), Err)
            }
            Err(e) => {
                self.chain = chain_before;
                self.tree = tree_before;
                self.state = self.shared.state.read().expect("state lock").clone();
                Err(e)
            }
        }
    }

    /// After followed entries rotated the checkpoint key: this node signs with the new key
    /// from now on, so it must hold it (`node.key.next`, copied by the operator, as on the
    /// writer). Until then it follows no further, and says why.
    fn missing_rotated_key(&self) -> Option<PgError> {
        let named = self.state.ledger.as_ref()?.checkpoint_key;
        if named == self.node_key.verifying_key()
            || crate::node_keys::read_next(&self.data_dir)
                .is_some_and(|k| k.verifying_key() == named)
        {
            return None;
        }
        Some(PgError::Waiting(format!(
            "账本更换了检查点密钥，本节点没有新密钥：请把写入节点的 node.key.next 复制到 {dir}（权限 0600）；之前本节点不再跟随。\n\
             The ledger rotated its checkpoint key to {fp} and this node does not hold it: copy \
             node.key.next from the writing node into {dir} (mode 0600); this node follows no \
             further until then.",
            dir = self.data_dir.display(),
            fp = KeyId::of(&named).fingerprint(),
        )))
    }

    /// Commits a group to the database (for a ledger kept there; nothing otherwise). `Ok` only
    /// after COMMIT returned, with the group's checkpoint when it was signed here (publishing
    /// uses it instead of signing again).
    pub(super) fn replicate(&mut self, group: &[Appended]) -> Result<Option<String>, Unwritten> {
        if self.replicated.is_none() {
            return Ok(None);
        }
        let checkpoint = self.group_checkpoint(group);
        let rows: Vec<Row<'_>> = group
            .iter()
            .map(|a| Row {
                entry: &a.entry,
                hash: &a.hash,
                tx_id: a.records[0].0,
            })
            .collect();
        let repl = self.replicated.as_mut().expect("checked");
        let head = repl.head.expect("cannot_write() read the head");
        let appended = repl.replica.append(
            &head,
            &rows,
            checkpoint.as_ref().map(|(n, t)| (*n, t.as_str())),
            true,
        );
        let last = group.last().expect("a group is not empty");
        match appended {
            Ok(()) => {
                repl.head = Some(PgHead {
                    next_sequence: last.entry.sequence + 1,
                    last_hash: last.hash,
                    seeded: true,
                });
                Ok(checkpoint.map(|(_, text)| text))
            }
            Err(e) => {
                // The outcome of a failed COMMIT is unknown: read the head again before the
                // next group (the conditional append refuses a stale one anyway).
                repl.head = None;
                if matches!(e, PgError::NotWriter) {
                    self.lost_lease();
                }
                Err(self.unwritten(e))
            }
        }
    }

    /// The checkpoint the group's publish will sign, to store with it; none for a group that
    /// rotates the checkpoint key (the next group's carries the new key's).
    fn group_checkpoint(&self, group: &[Appended]) -> Option<(u64, String)> {
        let named = self.state.ledger.as_ref()?.checkpoint_key;
        if named != self.node_key.verifying_key() {
            return None;
        }
        let mut tree = self.tree.clone();
        for a in group {
            tree.append(merkle::entry_leaf_hash(&a.entry), |_, _, _| {});
        }
        let checkpoint = Checkpoint {
            origin: self.shared.ledger_id.clone(),
            tree_size: tree.size(),
            root: tree.root(),
        };
        Some((tree.size(), checkpoint.sign(&self.node_key).text))
    }

    /// The copy could not take a group (a full disk, say). For a ledger kept in PostgreSQL the
    /// database has committed it: nobody hears that it was written, the head is read again
    /// before the next group, and the next group first follows the database into the copy
    /// (writes wait with UNAVAILABLE while the copy cannot take it; a client's retry of the
    /// same bytes gets the original receipt once it has).
    pub(super) fn copy_failed(&mut self, e: StoreError) -> Unwritten {
        let Some(repl) = self.replicated.as_mut() else {
            return Unwritten {
                reason: None,
                message: format!("storage is failing, nothing was written: {e}"),
            };
        };
        repl.head = None;
        Unwritten {
            reason: None,
            message: format!(
                "本节点的副本写入失败（{e}）；数据库已收到这一组，请重新提交同样的交易以取得收据（幂等）。\n\
                 This node's storage cannot take the group ({e}); the database has it: submit the \
                 same transactions again for their receipts (it is idempotent)."
            ),
        }
    }

    /// More queued jobs after `first`, up to a group's limit.
    pub(super) fn more_jobs(&self, first: Job, rx: &mut mpsc::Receiver<Job>) -> Vec<Job> {
        let mut count = first.items.len();
        let mut jobs = vec![first];
        while count < self.max_group {
            match rx.try_recv() {
                Ok(job) => {
                    count += job.items.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        jobs
    }
}

fn not_the_writer() -> Unwritten {
    Unwritten {
        reason: Some(NOT_THE_WRITER),
        message: "本节点不是写入节点（另一节点持有写入租约），请把交易提交给另一节点，或稍后重试（提交是幂等的）\n\
                  this node is not the writer (another node holds the write lease): submit to \
                  another node, or again in a moment (it is idempotent)"
            .into(),
    }
}
