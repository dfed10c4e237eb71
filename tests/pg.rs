//! The ledger on PostgreSQL (`--store`), with two nodes on one database: the one holding the
//! write lease writes, the other follows and takes over. Real PostgreSQL (Debian's package,
//! installed when missing), real node binaries, kill -9 and SIGSTOP.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::state::FundSource;
use ledger_e2e::*;

/// The lease the tests give the nodes: a dead writer blocks writes for at most about this.
const LEASE_MS: u64 = 2000;

/// The bound a takeover must meet after the writer dies: the lease, plus a follower's try
/// interval (a quarter lease) and a poll, plus start-up slack on a loaded 2-core machine.
const TAKEOVER_BOUND: Duration = Duration::from_millis(LEASE_MS + LEASE_MS / 4 + 1750);

/// Kill cycles: 10 in every CI run; `PG_FAILOVER_CYCLES=50` for the long version.
fn cycles() -> usize {
    std::env::var("PG_FAILOVER_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}

fn store_args(url: &str) -> Vec<String> {
    [
        "--store",
        url,
        "--lease-ms",
        &LEASE_MS.to_string(),
        "--fold-every",
        "100",
    ]
    .map(String::from)
    .to_vec()
}

/// One node of the pair, restartable where it was.
struct Member {
    dir: tempfile::TempDir,
    listen: String,
    http: String,
    args: Vec<String>,
    node: Option<Node>,
}

impl Member {
    fn new(args: Vec<String>) -> Member {
        Member {
            dir: tempfile::tempdir().unwrap(),
            listen: format!("127.0.0.1:{}", free_port()),
            http: format!("127.0.0.1:{}", free_port()),
            args,
            node: None,
        }
    }

    fn start(&mut self) {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.node = Some(Node::start_at(
            self.dir.path(),
            "serve",
            &self.listen,
            &self.http,
            &args,
        ));
    }

    fn node(&self) -> &Node {
        self.node.as_ref().expect("running")
    }

    fn is_writer(&self) -> bool {
        self.node.is_some() && metric(self.node(), "ledger_is_writer") == 1
    }
}

/// Two nodes on one fresh database: `a` creates the ledger and uploads it; `b` starts from
/// `a`'s node key alone and follows.
fn pair(pg: &Postgres, db: &str) -> (Member, Member) {
    let url = pg.database(db);
    let mut a = Member::new(store_args(&url));
    a.start();
    wait_until("a takes the lease", Duration::from_secs(20), || {
        a.is_writer()
    });
    // A node counts as the writer only once the database holds its log (so b finds it).
    assert!(
        database_counts(pg, db).0 >= 1,
        "a is the writer before its upload"
    );
    let b = standby_of(&a, &url);
    (a, b)
}

fn standby_of(a: &Member, url: &str) -> Member {
    let mut b = Member::new(store_args(url));
    copy_key(a.dir.path(), b.dir.path());
    b.start();
    b
}

fn copy_key(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(from.join("node.key"), to.join("node.key")).unwrap();
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    started.elapsed()
}

/// Submits `envelope` to whichever node takes it: a node that is not the writer, is down or
/// cannot reach the database answers UNAVAILABLE, and the same bytes go to the next (the
/// transaction id makes a repeat harmless). Gives up after `limit`.
/// `preferred` is the node that answered last, tried first (and updated).
async fn submit_anywhere(
    addrs: &[String],
    preferred: &mut usize,
    envelope: proto::SignedEnvelope,
    limit: Duration,
) -> Result<proto::TxReceipt, tonic::Status> {
    let started = Instant::now();
    let mut last = tonic::Status::unavailable("not tried");
    for i in 0.. {
        if started.elapsed() > limit {
            return Err(last);
        }
        let at = (*preferred + i) % addrs.len();
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", addrs[at]))
            .unwrap()
            .connect_timeout(Duration::from_millis(300))
            // A frozen node accepts connections and answers nothing: go on to the next.
            .timeout(Duration::from_secs(2));
        match channel.connect().await {
            Ok(ch) => {
                let mut client = proto::ledger_client::LedgerClient::new(ch);
                match submit(&mut client, envelope.clone()).await {
                    Ok(r) => {
                        *preferred = at;
                        return Ok(r);
                    }
                    Err(s)
                        if matches!(
                            s.code(),
                            tonic::Code::Unavailable
                                | tonic::Code::Unknown
                                | tonic::Code::Cancelled
                                | tonic::Code::DeadlineExceeded
                        ) =>
                    {
                        last = s
                    }
                    Err(s) => return Err(s),
                }
            }
            Err(e) => last = tonic::Status::unavailable(e.to_string()),
        }
        if i % addrs.len() == addrs.len() - 1 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    unreachable!()
}

/// Eight writers submitting receipts to whichever node of `a`, `b` writes, recording what was
/// acknowledged, until [`Load::finish`].
struct Load {
    c: Arc<Community>,
    acknowledged: Arc<Mutex<Vec<[u8; 16]>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    writers: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Sets a community up on `a` (the writer) and starts the writers.
    async fn start(a: &Member, b: &Member) -> Load {
        let mut client = a.node().client().await;
        let c = Arc::new(Community::setup(a.node(), &mut client).await);
        let addrs = vec![a.listen.clone(), b.listen.clone()];
        let acknowledged: Arc<Mutex<Vec<[u8; 16]>>> = Arc::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers = (0..8u64)
            .map(|w| {
                let (c, acknowledged, stop, addrs) =
                    (c.clone(), acknowledged.clone(), stop.clone(), addrs.clone());
                tokio::spawn(async move {
                    let mut i = 0;
                    let mut preferred = w as usize;
                    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                        i += 1;
                        let tx_id = random_tx_id();
                        let env = c.signer.envelope_with(
                            tx_id,
                            receipt_kind(
                                FundSource::Fiscal,
                                "pool:fiscal",
                                (w * 100_000 + i) * YUAN,
                            ),
                            &[&c.finance],
                        );
                        if submit_anywhere(&addrs, &mut preferred, env, Duration::from_secs(30))
                            .await
                            .is_ok()
                        {
                            acknowledged.lock().unwrap().push(tx_id);
                        }
                    }
                })
            })
            .collect();
        Load {
            c,
            acknowledged,
            stop,
            writers,
        }
    }

    /// Transactions acknowledged so far.
    fn acked(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    /// Waits until more than 8 transactions past `before` were acknowledged.
    fn wait_for_writes_after(&self, before: usize, limit: Duration) {
        wait_until("writes resume", limit, || self.acked() > before + 8);
    }

    /// Stops the writers; every transaction acknowledged.
    async fn finish(self) -> Vec<[u8; 16]> {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for w in self.writers {
            w.await.unwrap();
        }
        let acked = self.acknowledged.lock().unwrap().clone();
        acked
    }
}

/// What the database holds: (entries, distinct sequences, max sequence + 1, tx ids, distinct).
fn database_counts(pg: &Postgres, db: &str) -> (u64, u64, u64, u64, u64) {
    let out = pg.sql(
        db,
        "SELECT (SELECT count(*) FROM ledger_entries), (SELECT count(DISTINCT sequence) FROM ledger_entries), \
                (SELECT coalesce(max(sequence) + 1, 0) FROM ledger_entries), \
                (SELECT count(*) FROM ledger_tx_ids), (SELECT count(DISTINCT tx_id) FROM ledger_tx_ids)",
    );
    let v: Vec<u64> = out.split('|').map(|s| s.parse().unwrap()).collect();
    (v[0], v[1], v[2], v[3], v[4])
}

fn database_tx_ids(pg: &Postgres, db: &str) -> HashSet<String> {
    pg.sql(db, "SELECT encode(tx_id, 'hex') FROM ledger_tx_ids")
        .lines()
        .map(String::from)
        .collect()
}

/// Every acknowledged transaction in the database exactly once, sequences dense from 0, and
/// each running node's served log verified whole (chain, signatures, rules, checkpoint) and
/// equal to the database's length.
async fn check_everything(pg: &Postgres, db: &str, members: &[&Member], acked: &[[u8; 16]]) {
    let (entries, distinct, end, tx_ids, distinct_tx) = database_counts(pg, db);
    assert_eq!(
        (entries, distinct, end),
        (entries, entries, entries),
        "sequences are dense and unique"
    );
    assert_eq!(
        (tx_ids, distinct_tx),
        (entries, entries),
        "one tx id per entry, none twice"
    );
    // Fencing: the writers' epochs own disjoint, increasing runs of the log: no entry of an
    // older lease after one of a newer lease.
    let runs = pg.sql(
        db,
        "SELECT epoch, min(sequence), max(sequence) FROM ledger_entries GROUP BY epoch ORDER BY 2",
    );
    let mut last: Option<(i64, i64)> = None;
    for line in runs.lines() {
        let v: Vec<i64> = line.split('|').map(|s| s.parse().unwrap()).collect();
        if let Some((epoch, max)) = last {
            assert!(
                v[0] > epoch && v[1] > max,
                "epoch {} wrote inside or before epoch {epoch}'s run: {runs}",
                v[0]
            );
        }
        last = Some((v[0], v[2]));
    }
    let stored = database_tx_ids(pg, db);
    for id in acked {
        assert!(
            stored.contains(&hex::encode(id)),
            "acknowledged {} is missing",
            hex::encode(id)
        );
    }
    for m in members.iter().filter(|m| m.node.is_some()) {
        let mut client = m.node().client().await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let size = client
                .get_checkpoint(proto::GetCheckpointRequest {})
                .await
                .unwrap()
                .into_inner()
                .tree_size;
            if size == entries {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "a node serves {size} of the database's {entries} entries"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        verify_whole_log(m.node(), &mut client).await;
    }
}

/// Reads `stream` (a Subscribe from `from` on the node that survived a takeover) up to what the
/// database holds now: every entry in order, none twice, none missing, each the database's.
async fn subscriber_saw_the_log(
    pg: &Postgres,
    db: &str,
    mut stream: tonic::Streaming<proto::SubscribeEvent>,
    from: u64,
    cycle: usize,
) {
    let end = database_counts(pg, db).0;
    let hashes: Vec<String> = pg
        .sql(
            db,
            &format!(
                "SELECT encode(hash, 'hex') FROM ledger_entries WHERE sequence >= {from} AND sequence < {end} ORDER BY sequence"
            ),
        )
        .lines()
        .map(String::from)
        .collect();
    let mut next = from;
    while next < end {
        let event = tokio::time::timeout(
            Duration::from_secs(20),
            tokio_stream::StreamExt::next(&mut stream),
        )
        .await
        .unwrap_or_else(|_| panic!("cycle {cycle}: the subscriber stalled at {next} of {end}"))
        .expect("the stream goes on")
        .expect("no error on the survivor's stream");
        if let Some(proto::subscribe_event::Event::Entry(e)) = event.event {
            assert_eq!(
                e.sequence, next,
                "cycle {cycle}: in order, none twice or missing"
            );
            assert_eq!(
                hex::encode(&e.entry_hash),
                hashes[(next - from) as usize],
                "cycle {cycle}: entry {next} is the database's"
            );
            next += 1;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writer_killed_again_and_again_loses_nothing_and_the_other_takes_over() {
    let pg = Postgres::start();
    let (mut a, mut b) = pair(&pg, "failover");
    let load = Load::start(&a, &b).await;
    let mut takeovers = Vec::new();
    for cycle in 0..cycles() {
        tokio::time::sleep(Duration::from_millis(300 + random_seed()[0] as u64 * 2)).await;
        let before = load.acked();
        let (dead, alive) = if a.is_writer() {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        assert!(
            !alive.is_writer(),
            "cycle {cycle}: two nodes claim the lease"
        );
        // A subscriber on the node that survives, from a little before the current end.
        let from = database_counts(&pg, "failover").0.saturating_sub(100);
        let stream = alive
            .node()
            .client()
            .await
            .subscribe(proto::SubscribeRequest {
                start: proto::subscribe_request::Start::FromSequence as i32,
                from_sequence: from,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        dead.node.as_mut().unwrap().kill9();
        dead.node = None;
        let took = wait_until("the other node takes over", TAKEOVER_BOUND, || {
            alive.is_writer()
        });
        // Writes resume on the survivor.
        load.wait_for_writes_after(before, Duration::from_secs(20));
        takeovers.push(took);
        subscriber_saw_the_log(&pg, "failover", stream, from, cycle).await;
        dead.start();
        eprintln!("cycle {cycle}: takeover in {took:?}");
        let _ = cycle;
    }
    let acked = load.finish().await;
    assert!(
        acked.len() > 100,
        "the load was acknowledged ({} txs)",
        acked.len()
    );
    check_everything(&pg, "failover", &[&a, &b], &acked).await;
    let max = takeovers.iter().max().unwrap();
    let mut sorted = takeovers.clone();
    sorted.sort();
    eprintln!(
        "{} takeovers: median {:?}, max {:?} (bound {TAKEOVER_BOUND:?}); {} transactions acknowledged",
        takeovers.len(),
        sorted[sorted.len() / 2],
        max,
        acked.len()
    );
}

fn signal(node: &Node, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &node.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_frozen_while_the_other_takes_over_cannot_append_when_it_wakes() {
    let pg = Postgres::start();
    let (a, b) = pair(&pg, "frozen");
    let load = Load::start(&a, &b).await;
    for round in 0..3 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        let (frozen, other) = if a.is_writer() { (&a, &b) } else { (&b, &a) };
        let epoch_before = pg.sql("frozen", "SELECT lease_epoch FROM ledger_heads");
        // Frozen mid-load: most likely inside a group's transaction, holding the head's lock.
        signal(frozen.node(), "-STOP");
        wait_until("the other node takes over", TAKEOVER_BOUND * 2, || {
            other.is_writer()
        });
        let epoch_after = pg.sql("frozen", "SELECT lease_epoch FROM ledger_heads");
        assert_ne!(epoch_before, epoch_after, "round {round}: a new lease");
        let taken_at: i64 = pg
            .sql("frozen", "SELECT next_sequence FROM ledger_heads")
            .parse()
            .unwrap();
        // Let the new writer write, then wake the old one: the writers have requests queued at
        // it, which it now tries to commit under its old lease.
        let before = load.acked();
        load.wait_for_writes_after(before, Duration::from_secs(20));
        signal(frozen.node(), "-CONT");
        wait_until(
            "the woken node knows it is not the writer",
            Duration::from_secs(10),
            || !frozen.is_writer(),
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        let old_after: i64 = pg
            .sql(
                "frozen",
                &format!("SELECT count(*) FROM ledger_entries WHERE epoch = {epoch_before} AND sequence >= {taken_at}"),
            )
            .parse()
            .unwrap();
        assert_eq!(
            old_after, 0,
            "round {round}: the frozen writer appended after the takeover"
        );
        assert!(
            other.is_writer(),
            "round {round}: the new writer kept its lease"
        );
    }
    let acked = load.finish().await;
    check_everything(&pg, "frozen", &[&a, &b], &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_under_load_refuses_writes_loses_nothing_and_writes_resume() {
    let pg = Postgres::start();
    let (a, b) = pair(&pg, "restarted");
    let load = Load::start(&a, &b).await;
    for round in 0..2 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        pg.crash();
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Both nodes refuse a write with UNAVAILABLE while the database is down.
        for m in [&a, &b] {
            let env = load.c.signer.envelope_with(
                random_tx_id(),
                receipt_kind(FundSource::Fiscal, "pool:fiscal", 7 * YUAN),
                &[&load.c.finance],
            );
            let refused = submit(&mut m.node().client().await, env)
                .await
                .expect_err("a write while the database is down");
            assert_eq!(
                refused.code(),
                tonic::Code::Unavailable,
                "round {round}: {refused:?}"
            );
        }
        // Reads go on from each node's copy.
        for m in [&a, &b] {
            m.node()
                .client()
                .await
                .get_checkpoint(proto::GetCheckpointRequest {})
                .await
                .expect("reads while the database is down");
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let before = load.acked();
        pg.restart();
        load.wait_for_writes_after(before, Duration::from_secs(30));
    }
    let acked = load.finish().await;
    check_everything(&pg, "restarted", &[&a, &b], &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_the_client_go_on_to_the_node_that_writes() {
    let pg = Postgres::start();
    let (mut a, b) = pair(&pg, "clients");
    let work = tempfile::tempdir().unwrap();
    let admin = a.dir.path().join("keys/admin.key");
    let admin = admin.to_str().unwrap();
    // The standby first: it refuses to write, saying so, and the CLI goes on to the writer.
    let both = format!("{},{}", b.listen, a.listen);
    let only_b = Cli {
        node: b.listen.clone(),
        dir: work.path(),
    };
    let finance = only_b.keygen("finance.key");
    only_b.refused(
        &[
            "key",
            "register",
            "--public",
            &finance,
            "--role",
            "finance",
            "--name",
            "财政所",
            "--key",
            admin,
        ],
        "not_the_writer",
    );
    let cli = Cli {
        node: both.clone(),
        dir: work.path(),
    };
    cli.post(&[
        "key",
        "register",
        "--public",
        &finance,
        "--role",
        "finance",
        "--name",
        "财政所",
        "--key",
        admin,
    ]);
    // The standby frozen (it accepts connections and answers nothing): reads and the write
    // still go through, to the writer, after one attempt's deadline.
    let second = cli.keygen("second.key");
    signal(b.node(), "-STOP");
    let started = Instant::now();
    let read = cli.run(&["balances"]);
    cli.post(&[
        "key", "register", "--public", &second, "--role", "approver", "--name", "代表", "--key",
        admin,
    ]);
    let waited = started.elapsed();
    signal(b.node(), "-CONT");
    assert_eq!(read.0, 0, "a read with the first node frozen: {read:?}");
    assert!(waited < Duration::from_secs(30), "waited {waited:?}");
    eprintln!("a read and a write with the first node frozen took {waited:?}");
    // The writer dies; the library client, given both, waits out the takeover and writes once.
    let mut client = ledger_client::LedgerClient::connect(&both, None)
        .await
        .unwrap();
    let signer = Signer::of(&mut a.node().client().await).await;
    a.node.as_mut().unwrap().kill9();
    a.node = None;
    let envelope = signer.envelope(
        register(
            &ed25519_dalek::SigningKey::from_bytes(&random_seed()),
            ledger_core::state::Role::Approver,
            "居民代表",
        ),
        &[&ledger_keys::read(Path::new(admin)).unwrap()],
    );
    let started = Instant::now();
    let receipt = client
        .submit(envelope.clone())
        .await
        .expect("written by b after the takeover");
    eprintln!(
        "the client's submission waited {:?} for the takeover",
        started.elapsed()
    );
    assert!(b.is_writer());
    // The same bytes again, to the other node once it is back: the original receipt.
    a.start();
    let again = ledger_client::LedgerClient::connect(&format!("{},{}", a.listen, b.listen), None)
        .await
        .unwrap()
        .submit(envelope)
        .await
        .unwrap();
    assert_eq!(again.sequence, receipt.sequence);
    assert!(
        again.duplicate,
        "the repeat is recognised, not written twice"
    );
}

/// The witnessed checkpoint of the size the checkpoint served by `m` carries, 0 without one.
async fn witnessed_size(m: &Member) -> u64 {
    let cp = m
        .node()
        .client()
        .await
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    ledger_core::checkpoint::SignedCheckpoint::parse(&cp.witnessed_text)
        .map(|w| w.checkpoint.tree_size)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_that_takes_over_serves_the_witnessed_checkpoint_with_its_cosignatures() {
    let pg = Postgres::start();
    // a runs the development ledger's two witnesses itself; b has none of its own.
    let (mut a, b) = pair(&pg, "cosigned");
    let mut client = a.node().client().await;
    let c = Community::setup(a.node(), &mut client).await;
    for i in 0..5 {
        submit(&mut client, c.receipt(100 + i)).await.unwrap();
    }
    let size = client
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
        .tree_size;
    let mut witnessed = 0;
    for _ in 0..100 {
        witnessed = witnessed_size(&a).await;
        if witnessed >= size {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        witnessed >= size,
        "a's witnesses cosigned {witnessed} of {size}"
    );
    // Through the database, b serves it too; and still once a is dead.
    let mut on_b = 0;
    for _ in 0..100 {
        on_b = witnessed_size(&b).await;
        if on_b >= size {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        on_b >= size,
        "b serves the witnessed checkpoint of {on_b}, a's is {witnessed}"
    );
    a.node.as_mut().unwrap().kill9();
    a.node = None;
    wait_until("b takes over", TAKEOVER_BOUND, || b.is_writer());
    assert!(witnessed_size(&b).await >= size);
    // A forged row in the database is not served: b checks it against its own copy.
    pg.sql(
        "cosigned",
        "UPDATE ledger_cosigned SET tree_size = tree_size + 1000, \
         checkpoint = replace(checkpoint, E'\\n' || tree_size || E'\\n', E'\\n' || (tree_size + 1000) || E'\\n')",
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let served = witnessed_size(&b).await;
    assert!(
        served < size + 1000,
        "b served a forged witnessed checkpoint ({served})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_follows_a_key_rotation_only_once_it_holds_the_new_key() {
    let pg = Postgres::start();
    let (a, b) = pair(&pg, "rotation");
    let mut client = a.node().client().await;
    let c = Community::setup(a.node(), &mut client).await;
    let new_key = ed25519_dalek::SigningKey::from_bytes(&random_seed());
    ledger_keys::write_new(&a.dir.path().join("node.key.next"), &new_key).unwrap();
    let rotation = submit(
        &mut client,
        c.signer.envelope(
            Kind::CheckpointKeyRotated(proto::CheckpointKeyRotated {
                new_key: new_key.verifying_key().to_bytes().to_vec(),
                reason: "服务器更换 server replaced".into(),
            }),
            &[&c.admin],
        ),
    )
    .await
    .unwrap();
    let last = submit(&mut client, c.receipt(1)).await.unwrap();
    let size_of = |m: &Member| {
        let m = m.node().addr.clone();
        async move {
            let mut client = proto::ledger_client::LedgerClient::connect(format!("http://{m}"))
                .await
                .unwrap();
            client
                .get_checkpoint(proto::GetCheckpointRequest {})
                .await
                .unwrap()
                .into_inner()
        }
    };
    // Without node.key.next, b stops before the rotation (it could not sign after it).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        size_of(&b).await.tree_size <= rotation.sequence,
        "b followed past a rotation to a key it does not hold"
    );
    // Monitoring sees it stay behind.
    wait_until(
        "b's metrics show its copy behind",
        Duration::from_secs(5),
        || metric(b.node(), "ledger_copy_behind_entries") >= 1,
    );
    // The operator copies the new key (a has adopted it as its node.key by now).
    ledger_keys::write_new(&b.dir.path().join("node.key.next"), &new_key).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let cp = loop {
        let cp = size_of(&b).await;
        if cp.tree_size > last.sequence {
            break cp;
        }
        assert!(
            Instant::now() < deadline,
            "b did not follow once it held the key"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        cp.node_public_key,
        new_key.verifying_key().to_bytes().to_vec()
    );
    wait_until(
        "b's metrics show it caught up",
        Duration::from_secs(5),
        || metric(b.node(), "ledger_copy_behind_entries") == 0,
    );
    ledger_core::checkpoint::SignedCheckpoint::parse(&cp.text)
        .unwrap()
        .verify(&c.signer.ledger_id, &new_key.verifying_key())
        .expect("b signs with the new key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_cut_back_below_its_witnessed_checkpoint_is_refused_by_a_new_standby() {
    let pg = Postgres::start();
    let (mut a, mut b) = pair(&pg, "rolledback");
    let mut client = a.node().client().await;
    let c = Community::setup(a.node(), &mut client).await;
    for i in 0..6 {
        submit(&mut client, c.receipt(100 + i)).await.unwrap();
    }
    // Wait until the database holds a's witnessed checkpoint of the whole log.
    let size = database_counts(&pg, "rolledback").0;
    wait_until(
        "the witnessed checkpoint reaches the database",
        Duration::from_secs(20),
        || {
            let stored = pg.sql(
                "rolledback",
                "SELECT coalesce(max(tree_size), 0) FROM ledger_cosigned",
            );
            stored.parse::<u64>().unwrap() >= size
        },
    );
    for m in [&mut a, &mut b] {
        m.node.as_mut().unwrap().kill9();
        m.node = None;
    }
    // The operator cuts the last three acknowledged entries out of the database, consistently.
    let keep = size - 3;
    pg.sql(
        "rolledback",
        &format!(
            "BEGIN; DELETE FROM ledger_tx_ids WHERE sequence >= {keep}; \
             DELETE FROM ledger_entries WHERE sequence >= {keep}; \
             UPDATE ledger_heads SET next_sequence = {keep}, lease_expires = '-infinity', \
               last_hash = (SELECT hash FROM ledger_entries WHERE sequence = {keep} - 1); COMMIT"
        ),
    );
    // A new standby from the node key alone: it must not write on the cut-back log.
    let url = pg.url("rolledback");
    let c_node = standby_of(&a, &url);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let refused = submit(&mut c_node.node().client().await, c.receipt(7))
        .await
        .expect_err("a write on a log cut back below its witnessed checkpoint");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert_eq!(
        refused
            .metadata()
            .get("ledger-reason")
            .and_then(|v| v.to_str().ok()),
        Some("store_diverged"),
        "{refused:?}"
    );
    assert!(
        refused.message().contains("witnesses"),
        "{}",
        refused.message()
    );
    assert_eq!(metric(c_node.node(), "ledger_storage_ok"), 0);
    assert_eq!(
        database_counts(&pg, "rolledback").0,
        keep,
        "nothing was appended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_with_the_wrong_node_key_writes_nothing_and_a_copied_directory_stops_fighting() {
    let pg = Postgres::start();
    let (mut a, b) = pair(&pg, "mistakes");
    // A standby given some other node key: refused, and its directory holds only that key.
    let wrong = tempfile::tempdir().unwrap();
    ledger_keys::write_new(
        &wrong.path().join("node.key"),
        &ed25519_dalek::SigningKey::from_bytes(&random_seed()),
    )
    .unwrap();
    let out = std::process::Command::new(binary("ledger-node"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--http",
            "off",
            "--data-dir",
        ])
        .arg(wrong.path())
        .args(["--store", &pg.url("mistakes")])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        said.contains("不是账本") && said.contains("is not the node key"),
        "{said}"
    );
    let left: Vec<_> = std::fs::read_dir(wrong.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, vec!["node.key".to_string()], "nothing was written");
    // A copy of a's data directory (node-id and all) started beside it: they must not take
    // the lease from each other again and again.
    drop(b);
    a.node.as_mut().unwrap().terminate();
    a.node = None;
    let mut twin = Member::new(a.args.clone());
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", a.dir.path().display()))
        .arg(twin.dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    a.start();
    twin.start();
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let epoch = || -> i64 {
        pg.sql("mistakes", "SELECT lease_epoch FROM ledger_heads")
            .parse()
            .unwrap()
    };
    let settled = epoch();
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(
        epoch(),
        settled,
        "the two copies keep taking the lease from each other"
    );
    assert!(
        a.is_writer() != twin.is_writer(),
        "exactly one of the two writes"
    );
}

/// A TCP proxy to PostgreSQL that, once armed, passes one COMMIT on to the server and then cuts
/// the connection before the server's answer comes back: a COMMIT whose outcome the node cannot
/// know. Returns the proxy's port and the arming switch.
async fn commit_answer_dropper(server_port: u16) -> (u16, Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let armed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let switch = armed.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let armed = armed.clone();
            tokio::spawn(async move {
                let server = tokio::net::TcpStream::connect(("127.0.0.1", server_port))
                    .await
                    .unwrap();
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let cut = Arc::new(tokio::sync::Notify::new());
                let cut_up = cut.clone();
                let upstream = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match client_read.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        let commit = buf[..n].windows(6).any(|w| w == b"COMMIT");
                        let drop_answer = commit && armed.swap(false, Ordering::SeqCst);
                        if drop_answer {
                            // Nothing more reaches the node on this connection.
                            cut_up.notify_waiters();
                            tokio::task::yield_now().await;
                        }
                        if server_write.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                        if drop_answer {
                            // Let the server commit, then cut the connection.
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            return;
                        }
                    }
                };
                let downstream = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = tokio::select! {
                            read = server_read.read(&mut buf) => match read {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            },
                            // Relays nothing more; the upstream side ends the connection.
                            _ = cut.notified() => std::future::pending().await,
                        };
                        if client_write.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                };
                // Either side ending drops both halves of both sockets.
                tokio::select! {
                    _ = upstream => {}
                    _ = downstream => {}
                }
            });
        }
    });
    (port, switch)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_is_lost_is_resolved_and_acknowledged_once() {
    let pg = Postgres::start();
    pg.database("lostcommit");
    let (proxy, arm) = commit_answer_dropper(pg.port).await;
    let url = format!("postgres://postgres@127.0.0.1:{proxy}/lostcommit");
    let mut a = Member::new(store_args(&url));
    a.start();
    wait_until("a takes the lease", Duration::from_secs(20), || {
        a.is_writer()
    });
    let mut client = a.node().client().await;
    let c = Community::setup(a.node(), &mut client).await;
    let envelope = c.receipt(42);
    arm.store(true, std::sync::atomic::Ordering::SeqCst);
    // The group's COMMIT reaches the server; its answer never reaches the node. The node asks
    // again, finds the group committed, and acknowledges it (once).
    let receipt = submit(&mut client, envelope.clone())
        .await
        .expect("acknowledged after the node found its commit");
    assert!(
        !arm.load(std::sync::atomic::Ordering::SeqCst),
        "the COMMIT's answer was dropped"
    );
    let again = submit(&mut client, envelope).await.unwrap();
    assert!(again.duplicate && again.sequence == receipt.sequence);
    let (entries, ..) = database_counts(&pg, "lostcommit");
    assert_eq!(
        entries,
        receipt.sequence + 1,
        "written once, nothing after it"
    );
    a.node.as_mut().unwrap().terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_changed_in_the_database_is_refused_and_the_entries_before_it_are_taken() {
    let pg = Postgres::start();
    let (a, mut b) = pair(&pg, "tampered");
    let mut client = a.node().client().await;
    let c = Community::setup(a.node(), &mut client).await;
    for i in 0..4 {
        submit(&mut client, c.receipt(10 + i)).await.unwrap();
    }
    b.node.as_mut().unwrap().kill9();
    b.node = None;
    // The operator changes one byte of a stored entry (its hash column left as it was).
    let size = database_counts(&pg, "tampered").0;
    let bad = size - 2;
    pg.sql(
        "tampered",
        &format!(
            "UPDATE ledger_entries SET entry = overlay(entry placing '\\xff'::bytea from length(entry) - 3) \
             WHERE sequence = {bad}"
        ),
    );
    // A new standby takes every entry before it, refuses it, and writes nothing.
    let standby = standby_of(&a, &pg.url("tampered"));
    wait_until(
        "the standby refuses the changed entry",
        Duration::from_secs(20),
        || metric(standby.node(), "ledger_storage_ok") == 0,
    );
    let served = standby
        .node()
        .client()
        .await
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
        .tree_size;
    assert_eq!(
        served, bad,
        "the entries before the changed one, and none from it on"
    );
    wait_until(
        "monitoring sees the copy behind",
        Duration::from_secs(5),
        || metric(standby.node(), "ledger_copy_behind_entries") >= 2,
    );
    assert!(!standby.is_writer());
    assert_eq!(
        database_counts(&pg, "tampered").0,
        size,
        "nothing was appended"
    );
}
