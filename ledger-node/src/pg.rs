//! The PostgreSQL store: one ledger's entries, transaction ids and latest checkpoint in a
//! database that any number of nodes share, with one writer at a time.
//!
//! PostgreSQL is the log of record. Each node keeps the embedded store (`store.rs`: log file,
//! index, tiles, fold) in its data directory as its own copy, which it serves every read from
//! and which it extends only with what the database committed: the writer commits a group to
//! the database first and to its copy after; every other node follows the database into its
//! copy. A node's copy is therefore never ahead of the database, and a copy that is ahead (the
//! database lost committed entries, say after a failover to a standby that was not synchronous)
//! or disagrees (another history under the same ledger id) is refused, never cut.
//!
//! **Fencing.** The writer holds a lease: an epoch, a holder name and an expiry, in the
//! ledger's `ledger_heads` row, judged by the database's clock. Every append is one transaction
//! whose first statement moves the head from the sequence the writer expects, and only while
//! the lease is still its own and unexpired; anything else appends nothing. A writer that was
//! paused or cut off and wakes up finds another epoch, and stops. Its open transaction, if it
//! was paused inside one, is ended by `idle_in_transaction_session_timeout` (the lease's
//! length), so the row lock it held cannot stall a takeover for longer than that. No consensus
//! of our own: the database's row lock and commit decide.

use std::time::{Duration, Instant};

use ledger_core::entry::Entry;
use ledger_core::tx::TxId;
use ledger_core::Hash;

/// The schema, in order; each is applied once and recorded in `ledger_schema`.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/0001_ledger.sql")),
    (2, include_str!("../migrations/0002_cosigned.sql")),
];

/// A key for `pg_advisory_xact_lock` while migrating (two nodes starting at once).
const MIGRATION_LOCK: i64 = 0x5355_4e53_4849_4e45; // "SUNSHINE"

/// Entries read from the database in one query while following.
pub const FOLLOW_BATCH: i64 = 1024;

/// The file in the data directory that names this node in the lease (`PgSettings::for_node`).
pub const NODE_ID_FILE: &str = "node-id";

/// Bounds of the lease length.
pub const MIN_LEASE_MS: u64 = 500;
pub const MAX_LEASE_MS: u64 = 120_000;

/// How a node reaches the database and holds the lease.
#[derive(Clone, Debug)]
pub struct PgSettings {
    /// `postgres://user@host:port/db` (libpq's URL or key=value form).
    pub url: String,
    /// How long a lease lasts without renewal: the longest a dead writer blocks writes.
    pub lease: Duration,
    /// This process's name in the lease (host, process id and a random part: unique per run).
    pub holder: String,
}

impl PgSettings {
    pub fn new(url: String, lease: Duration) -> PgSettings {
        let mut random = [0u8; 4];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut random);
        PgSettings {
            url,
            lease,
            holder: format!("unnamed/{}:{}", std::process::id(), hex::encode(random)),
        }
    }

    /// Names the lease holder after the node whose copy is in `data_dir`: its host and the
    /// random id in `<data>/node-id` (made on first use), then this process. A node restarted
    /// on the same data directory takes its own lease back at once instead of waiting it out:
    /// its last process is dead, because a running one holds the directory's index lock (and
    /// the new epoch fences it anyway). Make a standby from an empty directory, not a copy.
    pub fn for_node(&self, data_dir: &std::path::Path) -> std::io::Result<PgSettings> {
        let path = data_dir.join(NODE_ID_FILE);
        let id = match std::fs::read_to_string(&path) {
            Ok(id) => id.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut random = [0u8; 8];
                rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut random);
                let id = hex::encode(random);
                std::fs::write(&path, format!("{id}\n"))?;
                id
            }
            Err(e) => return Err(e),
        };
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().replace('/', "_"))
            .unwrap_or_default();
        let process = self.holder.split_once('/').map_or("", |(_, p)| p);
        Ok(PgSettings {
            holder: format!("{host}:{id}/{process}"),
            ..self.clone()
        })
    }

    /// The node part of the holder name (before the `/`).
    fn node(&self) -> &str {
        self.holder.split_once('/').map_or("", |(n, _)| n)
    }

    /// The URL without its password, for messages.
    pub fn shown_url(&self) -> String {
        let Ok(c) = self.url.parse::<postgres::Config>() else {
            return "<unparsable URL>".into();
        };
        let hosts: Vec<String> = c
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let host = match h {
                    postgres::config::Host::Tcp(name) => name.clone(),
                    postgres::config::Host::Unix(path) => path.display().to_string(),
                };
                match c.get_ports().get(i).or(c.get_ports().first()) {
                    Some(port) => format!("{host}:{port}"),
                    None => host,
                }
            })
            .collect();
        format!(
            "postgres://{}@{}/{}",
            c.get_user().unwrap_or(""),
            hosts.join(","),
            c.get_dbname().unwrap_or("")
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The database cannot be reached or failed a statement: nothing of the operation is
    /// acknowledged; retry.
    #[error("PostgreSQL 不可用 / PostgreSQL is unavailable: {0}")]
    Unavailable(String),
    /// COMMIT was sent and no answer came: the group may or may not be in the database, and
    /// asking again failed too.
    #[error("数据库没有确认这次提交，这些交易可能已经写入 / the database did not confirm the commit, so the transactions may have been written: {0}")]
    Unknown(String),
    /// Another node holds the lease (or took it over): this node does not write.
    #[error("本节点不是写入节点（另一节点持有写入租约）/ this node is not the writer: another node holds the write lease")]
    NotWriter,
    /// This node cannot take what the database holds until its operator acts (the message
    /// says how); it tries again.
    #[error("{0}")]
    Waiting(String),
    /// The database and this node's copy disagree: a person must look.
    #[error("{0}")]
    Diverged(String),
}

impl From<postgres::Error> for PgError {
    fn from(e: postgres::Error) -> Self {
        PgError::Unavailable(error_text(&e))
    }
}

/// A database error with its cause ("db error" alone says nothing: the server's message, or
/// the I/O error, is in its source).
fn error_text(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({}): {}", db.severity(), db.code().code(), db.message());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = s.source();
    }
    text
}

/// Where a ledger's log ends in the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PgHead {
    pub next_sequence: u64,
    pub last_hash: Hash,
    pub seeded: bool,
}

/// One entry to append, with its own transaction id.
pub struct Row<'a> {
    pub entry: &'a Entry,
    pub hash: &'a Hash,
    pub tx_id: TxId,
}

/// One node's link to one ledger in the database: a connection (made again after a failure)
/// and the lease epoch it holds, if any.
pub struct Replica {
    settings: PgSettings,
    ledger_id: String,
    client: Option<postgres::Client>,
    /// The epoch of the lease this node holds, and when it last renewed it.
    lease: Option<(i64, Instant)>,
    /// Whether this node takes a lease held under its own name back at once (a restart);
    /// turned off when another live process turns out to use the same name (a copied data
    /// directory), so the two do not take it from each other again and again.
    reclaim_own: bool,
}

impl Replica {
    /// Connects and brings the schema up to date.
    pub fn connect(settings: PgSettings, ledger_id: &str) -> Result<Replica, PgError> {
        let mut replica = Replica {
            settings,
            ledger_id: ledger_id.to_string(),
            client: None,
            lease: None,
            reclaim_own: true,
        };
        migrate(replica.client()?)?;
        Ok(replica)
    }

    pub fn settings(&self) -> &PgSettings {
        &self.settings
    }

    /// The connection, made when there is none (or the last one failed).
    fn client(&mut self) -> Result<&mut postgres::Client, PgError> {
        if self.client.as_mut().is_some_and(|c| c.is_closed()) {
            self.client = None;
        }
        if self.client.is_none() {
            self.client = Some(connect(&self.settings)?);
        }
        Ok(self.client.as_mut().expect("just connected"))
    }

    /// Runs `f`; a failure drops the connection, so the next call makes a new one.
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, PgError>,
    ) -> Result<T, PgError> {
        let result = f(self.client()?);
        if matches!(result, Err(PgError::Unavailable(_) | PgError::Unknown(_))) {
            self.client = None;
        }
        result
    }

    /// Where the ledger's log ends in the database; `None` when the database does not hold it.
    pub fn head(&mut self) -> Result<Option<PgHead>, PgError> {
        let ledger = self.ledger_id.clone();
        self.with(|c| {
            let row = c.query_opt(
                "SELECT next_sequence, last_hash, seeded FROM ledger_heads WHERE ledger_id = $1",
                &[&ledger],
            )?;
            row.map(|r| {
                Ok(PgHead {
                    next_sequence: to_u64(r.get(0))?,
                    last_hash: to_hash(r.get(1))?,
                    seeded: r.get(2),
                })
            })
            .transpose()
        })
    }

    /// The hash of entry `sequence`, if the database holds it.
    pub fn hash_of(&mut self, sequence: u64) -> Result<Option<Hash>, PgError> {
        let ledger = self.ledger_id.clone();
        self.with(|c| {
            c.query_opt(
                "SELECT hash FROM ledger_entries WHERE ledger_id = $1 AND sequence = $2",
                &[&ledger, &(sequence as i64)],
            )?
            .map(|r| to_hash(r.get(0)))
            .transpose()
        })
    }

    /// Up to `limit` entries from `from` on, in order, each decoded and its stored hash
    /// checked against its bytes.
    pub fn entries(&mut self, from: u64, limit: i64) -> Result<Vec<(Entry, Hash)>, PgError> {
        let ledger = self.ledger_id.clone();
        self.with(|c| {
            let rows = c.query(
                "SELECT sequence, hash, entry FROM ledger_entries \
                 WHERE ledger_id = $1 AND sequence >= $2 ORDER BY sequence LIMIT $3",
                &[&ledger, &(from as i64), &limit],
            )?;
            let mut out = Vec::with_capacity(rows.len());
            for (i, r) in rows.iter().enumerate() {
                match checked_entry(r, from + i as u64) {
                    Ok(entry) => out.push(entry),
                    // The entries before a bad one are taken; the next read starts at it.
                    Err(_) if !out.is_empty() => break,
                    Err(e) => return Err(e),
                }
            }
            Ok(out)
        })
    }

    /// Whether this node believes it holds the lease (the database has the last word: every
    /// append checks it).
    pub fn holds_lease(&self) -> bool {
        self.lease.is_some()
    }

    /// Forgets a lease not renewed for its whole length by this node's clock (the database
    /// could not be reached): another node may hold it now. Returns whether it lapsed.
    pub fn lapse_if_expired(&mut self) -> bool {
        let lapsed = self
            .lease
            .is_some_and(|(_, at)| at.elapsed() >= self.settings.lease);
        if lapsed {
            self.step_down("the lease was not renewed in time");
        }
        lapsed
    }

    /// Whether the lease is due for renewal (a third of its length has passed).
    pub fn renewal_due(&self) -> bool {
        self.lease
            .is_some_and(|(_, at)| at.elapsed() >= self.settings.lease / 3)
    }

    /// Takes the lease if it has expired (or was never held), creating the ledger's head row
    /// at `genesis` when the database does not hold the ledger yet. Returns the head when this
    /// node now holds the lease.
    pub fn try_take_lease(&mut self) -> Result<Option<PgHead>, PgError> {
        let ledger = self.ledger_id.clone();
        let holder = self.settings.holder.clone();
        let lease_ms = self.settings.lease.as_millis() as f64;
        let node = if self.reclaim_own {
            self.settings.node().to_string()
        } else {
            "unnamed".to_string()
        };
        let taken = self.with(|c| {
            c.execute(
                "INSERT INTO ledger_heads (ledger_id, next_sequence, last_hash) VALUES ($1, 0, $2) \
                 ON CONFLICT (ledger_id) DO NOTHING",
                &[&ledger, &vec![0u8; 32]],
            )?;
            let row = c.query_opt(
                "UPDATE ledger_heads SET lease_epoch = lease_epoch + 1, lease_holder = $2, \
                   lease_expires = clock_timestamp() + $3 * interval '1 millisecond' \
                 WHERE ledger_id = $1 AND (lease_expires < clock_timestamp() \
                   OR (split_part(lease_holder, '/', 1) = $4 AND $4 <> 'unnamed')) \
                 RETURNING lease_epoch, next_sequence, last_hash, seeded",
                &[&ledger, &holder, &lease_ms, &node],
            )?;
            row.map(|r| {
                Ok((
                    r.get::<_, i64>(0),
                    PgHead {
                        next_sequence: to_u64(r.get(1))?,
                        last_hash: to_hash(r.get(2))?,
                        seeded: r.get(3),
                    },
                ))
            })
            .transpose()
        })?;
        Ok(taken.map(|(epoch, head)| {
            self.lease = Some((epoch, Instant::now()));
            tracing::warn!(epoch, holder = %self.settings.holder, "取得写入租约 / took the write lease");
            head
        }))
    }

    /// Renews the lease; `Err(NotWriter)` when another node has taken it.
    pub fn renew(&mut self) -> Result<(), PgError> {
        let Some((epoch, _)) = self.lease else {
            return Err(PgError::NotWriter);
        };
        let ledger = self.ledger_id.clone();
        let holder = self.settings.holder.clone();
        let lease_ms = self.settings.lease.as_millis() as f64;
        let started = Instant::now();
        let renewed = self.with(|c| {
            Ok(c.execute(
                "UPDATE ledger_heads SET lease_expires = clock_timestamp() + $4 * interval '1 millisecond' \
                 WHERE ledger_id = $1 AND lease_epoch = $2 AND lease_holder = $3",
                &[&ledger, &epoch, &holder, &lease_ms],
            )?)
        });
        match renewed {
            Ok(1) => {
                self.lease = Some((epoch, started));
                Ok(())
            }
            Ok(_) => {
                self.step_down("another node took the lease");
                self.notice_twin();
                Err(PgError::NotWriter)
            }
            Err(e) => Err(e),
        }
    }

    /// After losing the lease: when the holder now has this node's name but is another
    /// process, the data directory was copied (its `node-id` with it). Says so, and stops
    /// taking the lease back at once.
    fn notice_twin(&mut self) {
        let ledger = self.ledger_id.clone();
        let Ok(Some(holder)) = self.with(|c| {
            Ok(c.query_opt(
                "SELECT lease_holder FROM ledger_heads WHERE ledger_id = $1",
                &[&ledger],
            )?
            .map(|r| r.get::<_, String>(0)))
        }) else {
            return;
        };
        let node = holder.split_once('/').map_or("", |(n, _)| n);
        if self.reclaim_own && node == self.settings.node() && holder != self.settings.holder {
            self.reclaim_own = false;
            let why = format!(
                "另一个进程（{holder}）使用与本节点相同的 node-id：数据目录被复制过。请停止其中一个节点，删除它数据目录中的 {NODE_ID_FILE} 文件后再启动。\n\
                 Another process ({holder}) uses this node's node-id: the data directory was \
                 copied. Stop one of the two nodes, delete {NODE_ID_FILE} in its data directory, \
                 and start it again (until then this node no longer takes the lease back early)."
            );
            tracing::error!("{why}");
            eprintln!("{why}");
        }
    }

    /// Gives the lease up (a clean stop): another node may take it at once.
    pub fn release(&mut self) -> Result<(), PgError> {
        let Some((epoch, _)) = self.lease.take() else {
            return Ok(());
        };
        let ledger = self.ledger_id.clone();
        let holder = self.settings.holder.clone();
        self.with(|c| {
            c.execute(
                "UPDATE ledger_heads SET lease_expires = '-infinity' \
                 WHERE ledger_id = $1 AND lease_epoch = $2 AND lease_holder = $3",
                &[&ledger, &epoch, &holder],
            )?;
            Ok(())
        })
    }

    /// Records that the database holds all of an uploaded log: from now on, a head behind a
    /// node's copy means lost entries.
    pub fn mark_seeded(&mut self) -> Result<(), PgError> {
        let Some((epoch, _)) = self.lease else {
            return Err(PgError::NotWriter);
        };
        let ledger = self.ledger_id.clone();
        let holder = self.settings.holder.clone();
        let marked = self.with(|c| {
            Ok(c.execute(
                "UPDATE ledger_heads SET seeded = true \
                 WHERE ledger_id = $1 AND lease_epoch = $2 AND lease_holder = $3",
                &[&ledger, &epoch, &holder],
            )?)
        })?;
        if marked != 1 {
            self.step_down("the lease changed while marking the upload done");
            return Err(PgError::NotWriter);
        }
        Ok(())
    }

    /// Forgets the lease (it was lost, or this node stops writing).
    pub fn step_down(&mut self, why: &str) {
        if let Some((epoch, _)) = self.lease.take() {
            tracing::warn!(epoch, why, "不再持有写入租约 / gave up the write lease");
        }
    }

    /// Appends `rows` (consecutive, starting at `expected.next_sequence`) and records
    /// `checkpoint`, in one transaction that commits only while this node's lease holds. `Ok`
    /// only after COMMIT returned: the rows are then as durable as the database's settings make
    /// a commit (README: high availability). `seeded` marks the end of an upload.
    pub fn append(
        &mut self,
        expected: &PgHead,
        rows: &[Row<'_>],
        checkpoint: Option<(u64, &str)>,
        seeded: bool,
    ) -> Result<(), PgError> {
        let Some((epoch, _)) = self.lease else {
            return Err(PgError::NotWriter);
        };
        assert!(!rows.is_empty());
        assert_eq!(rows[0].entry.sequence, expected.next_sequence);
        let ledger = self.ledger_id.clone();
        let holder = self.settings.holder.clone();
        let last = rows.last().expect("not empty");
        let next = last.entry.sequence as i64 + 1;
        let sequences: Vec<i64> = rows.iter().map(|r| r.entry.sequence as i64).collect();
        let hashes: Vec<&[u8]> = rows.iter().map(|r| &r.hash[..]).collect();
        let encoded: Vec<Vec<u8>> = rows.iter().map(|r| r.entry.encode()).collect();
        let tx_ids: Vec<&[u8]> = rows.iter().map(|r| &r.tx_id.0[..]).collect();
        let result = self.with(|c| {
            let mut tx = c.transaction()?;
            let moved = tx.execute(
                "UPDATE ledger_heads SET next_sequence = $3, last_hash = $4, seeded = seeded OR $7 \
                 WHERE ledger_id = $1 AND next_sequence = $2 AND last_hash = $8 \
                   AND lease_epoch = $5 AND lease_holder = $6 AND lease_expires > clock_timestamp()",
                &[
                    &ledger,
                    &(expected.next_sequence as i64),
                    &next,
                    &&last.hash[..],
                    &epoch,
                    &holder,
                    &seeded,
                    &&expected.last_hash[..],
                ],
            )?;
            if moved != 1 {
                return Err(PgError::NotWriter);
            }
            tx.execute(
                "INSERT INTO ledger_entries (ledger_id, sequence, hash, entry, epoch) \
                 SELECT $1, s, h, e, $5 FROM unnest($2::int8[], $3::bytea[], $4::bytea[]) AS t(s, h, e)",
                &[&ledger, &sequences, &hashes, &encoded, &epoch],
            )?;
            tx.execute(
                "INSERT INTO ledger_tx_ids (ledger_id, tx_id, sequence) \
                 SELECT $1, i, s FROM unnest($2::bytea[], $3::int8[]) AS t(i, s)",
                &[&ledger, &tx_ids, &sequences],
            )?;
            if let Some((size, text)) = checkpoint {
                tx.execute(
                    "INSERT INTO ledger_checkpoints (ledger_id, tree_size, checkpoint) VALUES ($1, $2, $3) \
                     ON CONFLICT (ledger_id) DO UPDATE SET tree_size = $2, checkpoint = $3",
                    &[&ledger, &(size as i64), &text],
                )?;
            }
            tx.execute(
                "SELECT pg_notify('ledger_appended', $1)",
                &[&ledger],
            )?;
            tx.commit().map_err(|e| PgError::Unknown(error_text(&e)))
        });
        match result {
            Err(PgError::NotWriter) => {
                self.step_down("an append found the lease or the head changed");
                self.notice_twin();
                Err(PgError::NotWriter)
            }
            Err(PgError::Unknown(why)) => self.resolve_commit(rows, why),
            result => result,
        }
    }

    /// After a COMMIT that got no answer: asks again, on a new connection, whether the group's
    /// transactions are in the database. All there: it was committed (`Ok`: acknowledge it).
    /// None there: it was not (`Unavailable`: nothing was written). No answer: `Unknown`.
    fn resolve_commit(&mut self, rows: &[Row<'_>], why: String) -> Result<(), PgError> {
        let ledger = self.ledger_id.clone();
        let tx_ids: Vec<&[u8]> = rows.iter().map(|r| &r.tx_id.0[..]).collect();
        let first = rows[0].entry.sequence as i64;
        let found = self.with(|c| {
            let row = c.query_one(
                "SELECT count(*) FROM ledger_tx_ids WHERE ledger_id = $1 AND tx_id = ANY($2) \
                 AND sequence >= $3",
                &[&ledger, &tx_ids, &first],
            )?;
            Ok(row.get::<_, i64>(0))
        });
        match found {
            Ok(n) if n == rows.len() as i64 => {
                tracing::warn!(%why, "COMMIT got no answer, but the group is in the database: acknowledged");
                Ok(())
            }
            Ok(0) => Err(PgError::Unavailable(format!(
                "{why}; the group is not in the database, nothing was written"
            ))),
            Ok(n) => Err(PgError::Diverged(format!(
                "{n} of the {} transactions of one group are in the database: a group is one transaction, so the database is not consistent",
                rows.len()
            ))),
            Err(e) => Err(PgError::Unknown(format!("{why}; asking again: {e}"))),
        }
    }

    /// The latest checkpoint a writer stored with its entries, if any.
    pub fn latest_checkpoint(&mut self) -> Result<Option<String>, PgError> {
        let ledger = self.ledger_id.clone();
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT checkpoint FROM ledger_checkpoints WHERE ledger_id = $1",
                &[&ledger],
            )?
            .map(|r| r.get(0)))
        })
    }

    /// Stores `text`, a witnessed checkpoint of `size` entries, unless a larger one is stored.
    pub fn store_cosigned(&mut self, size: u64, text: &str) -> Result<(), PgError> {
        let ledger = self.ledger_id.clone();
        self.with(|c| {
            c.execute(
                "INSERT INTO ledger_cosigned (ledger_id, tree_size, checkpoint) VALUES ($1, $2, $3) \
                 ON CONFLICT (ledger_id) DO UPDATE SET tree_size = $2, checkpoint = $3 \
                 WHERE ledger_cosigned.tree_size < $2",
                &[&ledger, &(size as i64), &text],
            )?;
            Ok(())
        })
    }

    /// The stored witnessed checkpoint, if its size is above `above`.
    pub fn cosigned_above(&mut self, above: u64) -> Result<Option<String>, PgError> {
        let ledger = self.ledger_id.clone();
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT checkpoint FROM ledger_cosigned WHERE ledger_id = $1 AND tree_size > $2",
                &[&ledger, &(above as i64)],
            )?
            .map(|r| r.get(0)))
        })
    }

    /// The ids of the ledgers the database holds (at most `limit`).
    pub fn ledger_ids(settings: &PgSettings, limit: i64) -> Result<Vec<String>, PgError> {
        let mut c = connect(settings)?;
        migrate(&mut c)?;
        Ok(c.query(
            "SELECT ledger_id FROM ledger_heads WHERE next_sequence > 0 ORDER BY ledger_id LIMIT $1",
            &[&limit],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
    }
}

/// Listens for `ledger_appended` notifications naming `ledger_id` and calls `woken` for each,
/// until `stop`; a lost connection is made again (the writer's poll covers the gap).
pub fn listen(
    settings: &PgSettings,
    ledger_id: &str,
    stop: &std::sync::atomic::AtomicBool,
    woken: impl Fn(),
) {
    use postgres::fallible_iterator::FallibleIterator;
    use std::sync::atomic::Ordering;
    while !stop.load(Ordering::SeqCst) {
        let mut client = match connect(settings).and_then(|mut c| {
            c.batch_execute("LISTEN ledger_appended")
                .map(|()| c)
                .map_err(PgError::from)
        }) {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "LISTEN connection failed; trying again");
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        while !stop.load(Ordering::SeqCst) && !client.is_closed() {
            let mut notifications = client.notifications();
            let mut waiting = notifications.timeout_iter(Duration::from_millis(500));
            match waiting.next() {
                Ok(Some(n)) if n.payload() == ledger_id => woken(),
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "LISTEN connection lost; connecting again");
                    break;
                }
            }
        }
    }
}

/// A new connection with this node's session settings: a statement or a transaction left idle
/// (a paused writer) ends after the lease's length, so it never holds the head's row lock past
/// its lease.
fn connect(settings: &PgSettings) -> Result<postgres::Client, PgError> {
    let mut config: postgres::Config = settings
        .url
        .parse()
        .map_err(|e| PgError::Unavailable(format!("the --store URL is not valid: {e}")))?;
    // The server's timeouts end a paused writer's transaction; these end this side's wait on
    // a database that went silent (a black-holed network answers nothing, not even a reset):
    // data unacknowledged for a lease, or three missed keepalives, drop the connection.
    config
        .connect_timeout(Duration::from_secs(5))
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(2))
        .keepalives_interval(Duration::from_secs(1))
        .keepalives_retries(3)
        .tcp_user_timeout(settings.lease)
        .application_name("ledger-node");
    let mut client = config.connect(postgres::NoTls)?;
    let ms = settings.lease.as_millis();
    client.batch_execute(&format!(
        "SET idle_in_transaction_session_timeout = {ms}; SET statement_timeout = {ms}; \
         SET lock_timeout = {ms}"
    ))?;
    Ok(client)
}

/// Applies the migrations the database lacks, one transaction each, under an advisory lock.
fn migrate(client: &mut postgres::Client) -> Result<(), PgError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS ledger_schema (version integer PRIMARY KEY, \
         applied_at timestamptz NOT NULL DEFAULT now())",
    )?;
    let applied: Vec<i32> = tx
        .query("SELECT version FROM ledger_schema", &[])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if let Some(v) = applied.iter().find(|v| **v > newest) {
        return Err(PgError::Diverged(format!(
            "数据库的表结构版本 {v} 比本节点新；请升级节点 / the database's schema version {v} is newer than this node knows ({newest}); upgrade the node"
        )));
    }
    for (version, sql) in MIGRATIONS {
        if !applied.contains(version) {
            tx.batch_execute(sql)?;
            tx.execute(
                "INSERT INTO ledger_schema (version) VALUES ($1)",
                &[version],
            )?;
            tracing::info!(version, "applied a schema migration");
        }
    }
    tx.commit()?;
    Ok(())
}

/// One row of `ledger_entries`, decoded, at the sequence expected, its stored hash its bytes'.
fn checked_entry(r: &postgres::Row, expected: u64) -> Result<(Entry, Hash), PgError> {
    let sequence = to_u64(r.get(0))?;
    let hash = to_hash(r.get(1))?;
    let bytes: &[u8] = r.get(2);
    let entry = Entry::decode(bytes).map_err(|e| {
        PgError::Diverged(format!(
            "数据库中的第 {sequence} 条无法解码 / entry {sequence} in the database does not decode: {e}"
        ))
    })?;
    if entry.sequence != sequence
        || sequence != expected
        || ledger_core::entry::hash_encoded(bytes) != hash
    {
        return Err(PgError::Diverged(format!(
            "数据库中的第 {sequence} 条与其序号或哈希不符 / entry {sequence} in the database does not match its sequence or hash (expected entry {expected})"
        )));
    }
    Ok((entry, hash))
}

fn to_u64(v: i64) -> Result<u64, PgError> {
    u64::try_from(v)
        .map_err(|_| PgError::Diverged(format!("a negative sequence {v} in the database")))
}

fn to_hash(v: &[u8]) -> Result<Hash, PgError> {
    v.try_into()
        .map_err(|_| PgError::Diverged("a hash in the database is not 32 bytes".into()))
}

/// A node joining a ledger kept in the database with an empty data directory: when the
/// database holds exactly one ledger, its genesis becomes the start of this node's copy (the
/// writer follows the rest). The node key must be there already: every node of a ledger signs
/// its checkpoints with the ledger's one checkpoint key, which only the operator can copy.
pub fn copy_genesis_if_absent(
    settings: &PgSettings,
    data_dir: &std::path::Path,
) -> anyhow::Result<()> {
    if crate::store::has_log(data_dir) {
        return Ok(());
    }
    let shown = settings.shown_url();
    let ids = Replica::ledger_ids(settings, 2)
        .map_err(|e| anyhow::anyhow!("无法使用数据库 / cannot use the store {shown}: {e}"))?;
    let id = match ids.as_slice() {
        [] => return Ok(()),
        [id] => id.clone(),
        _ => anyhow::bail!(
            "数据库 {shown} 中有多个账本，节点不知道该跟随哪一个 / the store {shown} holds several ledgers; \
             start this node from a data directory that holds the one to follow (its log's genesis names it)"
        ),
    };
    let key = crate::bootstrap::node_key_path(data_dir);
    anyhow::ensure!(
        key.exists(),
        "数据库 {shown} 中有账本 {id}，但 {key} 不存在：请从写入节点复制节点密钥（权限 0600），再启动本节点。\n\
         The store {shown} holds ledger {id}, and {key} is missing: copy the node key from the \
         writing node (mode 0600) into this data directory, then start this node again.",
        key = key.display()
    );
    let mut replica = Replica::connect(settings.clone(), &id)?;
    let Some((genesis, _)) = replica.entries(0, 1)?.into_iter().next() else {
        anyhow::bail!("the store {shown} names ledger {id} but holds no genesis entry for it");
    };
    let mut state = ledger_core::state::State::new();
    ledger_core::rules::apply_entry(&mut state, &genesis)
        .map_err(|r| anyhow::anyhow!("the genesis of {id} in the store {shown} is refused: {r}"))?;
    // Nothing is written for a node key that cannot sign this ledger's checkpoints.
    let have = ledger_keys::read(&key)?.verifying_key();
    let named = state
        .ledger
        .as_ref()
        .map(|l| l.checkpoint_key)
        .expect("a genesis makes a ledger");
    let mut signs_latest = || -> bool {
        let Ok(Some(text)) = replica.latest_checkpoint() else {
            return false;
        };
        ledger_core::checkpoint::SignedCheckpoint::parse(&text)
            .is_ok_and(|cp| cp.verify(&id, &have).is_ok())
    };
    anyhow::ensure!(
        have == named || signs_latest(),
        "{key} 不是账本 {id} 的节点密钥（创世条目指定 {n}，此文件是 {h}，也没有签最新的检查点）：请复制写入节点的 node.key。\n\
         {key} is not the node key of ledger {id} (its genesis names {n}, this file holds {h}, \
         which did not sign the latest checkpoint either): copy node.key from the writing node. \
         Nothing was written.",
        key = key.display(),
        n = ledger_core::signing::KeyId::of(&named).fingerprint(),
        h = ledger_core::signing::KeyId::of(&have).fingerprint(),
    );
    crate::store::create(data_dir, &genesis)?;
    eprintln!(
        "已从数据库取得账本 {id} 的创世条目，本节点将跟随数据库补齐副本。\n\
         Took the genesis of ledger {id} from the store {shown}; this node follows the rest into its copy."
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_never_show_the_password() {
        let s = PgSettings::new(
            "postgres://ledger:s3cret@db.internal:5433/funds".into(),
            Duration::from_secs(5),
        );
        let shown = s.shown_url();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("db.internal") && shown.contains("funds"),
            "{shown}"
        );
    }

    #[test]
    fn a_node_keeps_its_name_across_restarts_and_two_directories_differ() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let s = PgSettings::new("postgres://x@h/d".into(), Duration::from_secs(5));
        let first = s.for_node(a.path()).unwrap();
        let again = PgSettings::new("postgres://x@h/d".into(), Duration::from_secs(5))
            .for_node(a.path())
            .unwrap();
        let other = s.for_node(b.path()).unwrap();
        assert_eq!(
            first.node(),
            again.node(),
            "the same directory is the same node"
        );
        assert_ne!(
            first.holder, again.holder,
            "each process holds its own lease"
        );
        assert_ne!(first.node(), other.node());
        assert_ne!(first.node(), "unnamed");
    }
}
