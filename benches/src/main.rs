//! `ledger-bench`: the ledger's speed as measured facts, against a real `ledger-node` on
//! loopback, with a baseline measured in the same run (bare `verify_strict` of the same
//! signatures on all cores), since absolute figures on a shared machine drift.
//!
//! Run: `cargo run --release -p ledger-bench -- --entries 1000000`. It prints a Markdown table
//! (the one in BENCHMARKS.md).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use ed25519_dalek::SigningKey;
use ledger_client::LedgerClient;
use ledger_core::build;
use ledger_core::proto::{self as pb, transaction_body::Kind};
use ledger_core::state::{FundSource, Role};
use tokio_stream::StreamExt;

mod browser;
mod ledgers;
mod pg;
mod report;

#[derive(Parser)]
struct Args {
    /// Entries in the ledger for the large-ledger rows (verifier, proofs, restart, disk, RSS).
    #[arg(long, default_value_t = 1_000_000)]
    entries: u64,
    /// Transactions for each throughput row.
    #[arg(long, default_value_t = 40_000)]
    ingest: usize,
    /// Seconds of fixed offered load for the latency rows.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Keep the node's data here instead of a temporary directory (must not exist yet).
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Only the browser row: the page's WebAssembly verifier in headless Chromium against the
    /// native verifier library, on a ledger of --entries entries (try 10000).
    #[arg(long)]
    browser: bool,
    /// Only the statement rows: a public statement against verifying the same snapshot, and
    /// the node's /reports latency, on a ledger of --entries entries (try 10000).
    #[arg(long)]
    report: bool,
    /// Only the many-ledgers rows: one node serving this many ledgers (try 1000), ingest spread
    /// over them against ingest into one, RSS, opening a closed ledger.
    #[arg(long)]
    ledgers: Option<usize>,
    /// Only the PostgreSQL rows: ingest and latency with the ledger kept in PostgreSQL
    /// (--store) against the embedded store, alternating, in one run (installs and starts a
    /// PostgreSQL of its own).
    #[arg(long)]
    postgres: bool,
}

const LEDGER_BATCH: usize = 1000;
const FINANCE_KEYS: usize = 16;

fn bin_dir() -> PathBuf {
    std::env::current_exe()
        .expect("exe")
        .parent()
        .expect("dir")
        .to_path_buf()
}

fn ensure_binaries() -> anyhow::Result<()> {
    if bin_dir().join("ledger-node").exists() && bin_dir().join("verifier").exists() {
        return Ok(());
    }
    let release = bin_dir().ends_with("release");
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["build", "-p", "ledger-node", "-p", "verifier"]);
    if release {
        cmd.arg("--release");
    }
    anyhow::ensure!(
        cmd.status()?.success(),
        "building ledger-node and verifier failed"
    );
    Ok(())
}

struct Node {
    child: Child,
    addr: String,
    /// The page's address (host:port).
    http: String,
}

fn start_node(dir: &Path) -> anyhow::Result<(Node, Duration)> {
    start_node_with(dir, &[])
}

/// Starts the node with extra serving flags.
fn start_node_with(dir: &Path, extra: &[&str]) -> anyhow::Result<(Node, Duration)> {
    let started = Instant::now();
    let mut child = Command::new(bin_dir().join("ledger-node"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--max-batch",
            "1000",
            "--queue-depth",
            "65536",
            "--max-subscribers",
            "2048",
            "--http",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (addr, http) = loop {
        let line = lines.next().context("the node exited")??;
        if let Some(rest) = line.strip_prefix("ledger-node serving ") {
            let mut on = rest.split(" on ").skip(1);
            let grpc = on.next().and_then(|s| s.split(' ').next());
            let http = on.next().and_then(|s| s.split(')').next());
            break (
                grpc.context("address")?.to_string(),
                http.context("page address")?.to_string(),
            );
        }
    };
    let elapsed = started.elapsed();
    std::thread::spawn(move || for _ in lines {});
    Ok((
        Node {
            child,
            addr: format!("http://{addr}"),
            http,
        },
        elapsed,
    ))
}

impl Node {
    fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    }

    fn terminate(mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        self.child.wait()?;
        Ok(())
    }
}

/// A bench that fails part-way must not leave its node running (and holding the caller's pipe).
impl Drop for Node {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut out);
    out
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

struct Community {
    ledger_id: String,
    finance: Vec<SigningKey>,
}

impl Community {
    fn envelope(&self, kind: Kind, key: usize) -> pb::SignedEnvelope {
        build::envelope(
            build::body(&self.ledger_id, random(), now_ms(), kind),
            &[&self.finance[key % self.finance.len()]],
        )
    }

    /// A realistic stream of work for one client: mostly receipts, with allocations and small
    /// disbursements proposed and executed. Self-consistent in order.
    fn workload(&self, client: usize, count: usize) -> Vec<pb::SignedEnvelope> {
        let sources = [
            (FundSource::Fiscal, "pool:fiscal"),
            (FundSource::SocialCapital, "pool:social"),
            (FundSource::Resident, "pool:resident"),
            (FundSource::Crowdfunding, "pool:crowd"),
        ];
        let mut out = Vec::with_capacity(count);
        let mut last_proposal: Option<Vec<u8>> = None;
        for i in 0..count {
            let key = client * 7 + i;
            let kind = match i % 10 {
                7 => Kind::FundsAllocated(pb::FundsAllocated {
                    from_account: "pool:fiscal".into(),
                    project_id: "project".into(),
                    amounts: build::source_amounts(&[(FundSource::Fiscal, 100)]),
                    memo: String::new(),
                }),
                8 => Kind::DisbursementProposed(pb::DisbursementProposed {
                    project_id: "project".into(),
                    payee_account: "payee".into(),
                    amounts: build::source_amounts(&[(FundSource::Fiscal, 50)]),
                    contract_hash: vec![1; 32],
                    invoice_hash: vec![],
                    memo: "bench".into(),
                }),
                9 if last_proposal.is_some() => {
                    Kind::DisbursementExecuted(pb::DisbursementExecuted {
                        proposal_tx_id: last_proposal.take().unwrap(),
                    })
                }
                _ => {
                    let (source, pool) = sources[i % 4];
                    Kind::FundsReceived(pb::FundsReceived {
                        source: source.to_proto() as i32,
                        to_account: pool.into(),
                        amount_fen: 10_000 + i as u64,
                        memo: "bench receipt".into(),
                        ..Default::default()
                    })
                }
            };
            let env = self.envelope(kind, key);
            if i % 10 == 8 {
                let body: pb::TransactionBody =
                    prost::Message::decode(env.body.as_slice()).unwrap();
                last_proposal = Some(body.tx_id);
            }
            out.push(env);
        }
        out
    }

    fn receipts(&self, count: usize, salt: usize) -> Vec<pb::SignedEnvelope> {
        (0..count)
            .map(|i| {
                self.envelope(
                    Kind::FundsReceived(pb::FundsReceived {
                        source: 1,
                        to_account: "pool:fiscal".into(),
                        amount_fen: 100 + i as u64,
                        memo: "bench".into(),
                        ..Default::default()
                    }),
                    i + salt,
                )
            })
            .collect()
    }
}

async fn setup(client: &mut LedgerClient, admin: &SigningKey) -> anyhow::Result<Community> {
    let ledger_id = client.ledger_id().await?;
    let c = Community {
        ledger_id: ledger_id.clone(),
        finance: (0..FINANCE_KEYS)
            .map(|_| SigningKey::from_bytes(&random()))
            .collect(),
    };
    let admin_env =
        |kind| build::envelope(build::body(&ledger_id, random(), now_ms(), kind), &[admin]);
    let mut setup = Vec::new();
    for (i, k) in c.finance.iter().enumerate() {
        setup.push(admin_env(Kind::KeyRegistered(pb::KeyRegistered {
            key: Some(build::public_key(k, Role::Finance, &format!("finance {i}"))),
        })));
    }
    for (id, source) in [
        ("pool:fiscal", 1),
        ("pool:social", 2),
        ("pool:resident", 3),
        ("pool:crowd", 4),
    ] {
        setup.push(admin_env(Kind::AccountOpened(pb::AccountOpened {
            account_id: id.into(),
            kind: pb::AccountKind::FundPool as i32,
            source,
            name: id.into(),
        })));
    }
    setup.push(admin_env(Kind::AccountOpened(pb::AccountOpened {
        account_id: "payee".into(),
        kind: pb::AccountKind::Payee as i32,
        source: 0,
        name: "payee".into(),
    })));
    setup.push(admin_env(Kind::ProjectCreated(pb::ProjectCreated {
        project_id: "project".into(),
        name: "p".into(),
        description: String::new(),
        budget: build::source_amounts(&[(FundSource::Fiscal, ledger_core::limits::MAX_AMOUNT_FEN)]),
    })));
    setup.push(c.envelope(
        Kind::FundsReceived(pb::FundsReceived {
            source: 1,
            to_account: "pool:fiscal".into(),
            amount_fen: ledger_core::limits::MAX_AMOUNT_FEN,
            ..Default::default()
        }),
        0,
    ));
    for env in setup {
        client.submit(env).await?;
    }
    Ok(c)
}

/// Bare `verify_strict` of the same signatures on every core: signatures per second.
fn baseline_verify(c: &Community, envelopes: &[pb::SignedEnvelope]) -> f64 {
    let keys: std::collections::HashMap<Vec<u8>, ed25519_dalek::VerifyingKey> = c
        .finance
        .iter()
        .map(|k| {
            (
                ledger_core::signing::KeyId::of(&k.verifying_key())
                    .0
                    .to_vec(),
                k.verifying_key(),
            )
        })
        .collect();
    let items: Vec<(ed25519_dalek::VerifyingKey, &[u8], [u8; 64])> = envelopes
        .iter()
        .map(|e| {
            (
                keys[&e.signatures[0].key_id],
                e.body.as_slice(),
                e.signatures[0].signature.as_slice().try_into().unwrap(),
            )
        })
        .collect();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let started = Instant::now();
    std::thread::scope(|s| {
        for part in items.chunks(items.len().div_ceil(threads)) {
            s.spawn(move || {
                for (k, body, sig) in part {
                    assert!(ledger_core::signing::verify_body(k, body, sig));
                }
            });
        }
    });
    items.len() as f64 / started.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn batch_ingest(
    url: &str,
    c: &Community,
    total: usize,
    clients: usize,
) -> anyhow::Result<f64> {
    let per = total / clients;
    let work: Vec<Vec<pb::SignedEnvelope>> = (0..clients).map(|i| c.workload(i, per)).collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for envs in work {
        let mut client = LedgerClient::connect(url, None).await?;
        tasks.push(tokio::spawn(async move {
            let mut ok = 0usize;
            let mut envs = envs;
            while !envs.is_empty() {
                let rest = envs.split_off(envs.len().min(LEDGER_BATCH));
                let batch = std::mem::replace(&mut envs, rest);
                ok += client
                    .submit_batch(batch)
                    .await
                    .unwrap()
                    .iter()
                    .filter(|r| r.is_ok())
                    .count();
            }
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await?;
    }
    Ok(ok as f64 / started.elapsed().as_secs_f64())
}

async fn unary_ingest(
    url: &str,
    c: &Community,
    total: usize,
    clients: usize,
) -> anyhow::Result<f64> {
    let per = total / clients;
    let work: Vec<Vec<pb::SignedEnvelope>> = (0..clients).map(|i| c.workload(i, per)).collect();
    let mut connections = Vec::new();
    for _ in 0..4 {
        connections.push(LedgerClient::connect(url, None).await?);
    }
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, envs) in work.into_iter().enumerate() {
        let mut client = connections[i % connections.len()].clone();
        tasks.push(tokio::spawn(async move {
            let mut ok = 0usize;
            for env in envs {
                if client.submit(env).await.is_ok() {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await?;
    }
    Ok(ok as f64 / started.elapsed().as_secs_f64())
}

/// Offers `rate` transactions per second for `seconds`; returns each acknowledgement latency.
async fn fixed_load(
    url: &str,
    c: &Community,
    rate: u64,
    seconds: u64,
) -> anyhow::Result<Vec<Duration>> {
    let envs = c.receipts((rate * seconds) as usize, 99);
    let client = LedgerClient::connect(url, None).await?;
    let mut interval = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(envs.len());
    for env in envs {
        interval.tick().await;
        let mut client = client.clone();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            client.submit(env).await.map(|_| t.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    for t in tasks {
        latencies.push(t.await??);
    }
    latencies.sort();
    Ok(latencies)
}

/// Fills the ledger to `entries` entries with receipts, from two batch clients.
async fn fill(addr: &str, c: &Community, entries: u64) -> anyhow::Result<()> {
    eprintln!("filling the ledger to {entries} entries…");
    let mut client = LedgerClient::connect(addr, None).await?;
    let have = client.checkpoint().await?.tree_size;
    let mut fill_clients = Vec::new();
    let missing = entries.saturating_sub(have) as usize;
    for part in 0..2usize {
        let mut fc = LedgerClient::connect(addr, None).await?;
        let envs_count = missing / 2 + if part == 0 { missing % 2 } else { 0 };
        let community = Community {
            ledger_id: c.ledger_id.clone(),
            finance: c.finance.clone(),
        };
        fill_clients.push(tokio::spawn(async move {
            let mut done = 0;
            while done < envs_count {
                let n = (envs_count - done).min(LEDGER_BATCH);
                let envs = community.receipts(n, done);
                let results = fc.submit_batch(envs).await.unwrap();
                assert!(results.iter().all(|r| r.is_ok()));
                done += n;
            }
        }));
    }
    for f in fill_clients {
        f.await?;
    }
    Ok(())
}

/// A node in a temporary directory filled to `entries`, and its whole snapshot: what the
/// browser and statement rows measure on.
struct Filled {
    _dir: tempfile::TempDir,
    node: Node,
    size: u64,
    /// The node's public key in hex, as `--trust` and the page take it.
    trust_text: String,
    trust: ledger_verifier::trust::Trust,
    cores: usize,
    snapshot: Vec<u8>,
}

async fn filled(entries: u64) -> anyhow::Result<Filled> {
    let dir = tempfile::tempdir()?;
    let (node, _) = start_node(dir.path())?;
    let admin = ledger_keys::read(&dir.path().join("keys/admin.key"))?;
    let mut client = LedgerClient::connect(&node.addr, None).await?;
    let c = setup(&mut client, &admin).await?;
    fill(&node.addr, &c, entries).await?;
    let cp = client.checkpoint().await?;
    let trust_text = hex::encode(&cp.node_public_key);
    let trust = ledger_verifier::trust::Trust::parse(&trust_text).map_err(anyhow::Error::msg)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let snapshot = browser::whole_snapshot(&mut client, &trust, cp.tree_size, cores).await?;
    Ok(Filled {
        _dir: dir,
        node,
        size: cp.tree_size,
        trust_text,
        trust,
        cores,
        snapshot,
    })
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure_binaries()?;
    if args.browser {
        return browser::run(args.entries).await;
    }
    if args.report {
        return report::run(args.entries).await;
    }
    if let Some(count) = args.ledgers {
        return ledgers::run(count, args.ingest).await;
    }
    if args.postgres {
        return pg::run(args.ingest, args.seconds).await;
    }
    let temp = tempfile::tempdir()?;
    let dir_path = args
        .keep
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    struct Dir(PathBuf);
    impl Dir {
        fn path(&self) -> &Path {
            &self.0
        }
    }
    let dir = Dir(dir_path);
    let (node, _) = start_node(dir.path())?;
    let admin = ledger_keys::read(&dir.path().join("keys/admin.key"))?;
    let mut client = LedgerClient::connect(&node.addr, None).await?;
    let c = setup(&mut client, &admin).await?;
    eprintln!("measuring the baseline…");
    let sample = c.receipts(20_000, 7);
    let base = baseline_verify(&c, &sample);
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    let mut row = |name: &str, value: String, target: &str, met: bool| {
        eprintln!("{name}: {value}");
        rows.push((
            name.to_string(),
            value,
            target.to_string(),
            if met { "yes".into() } else { "**no**".into() },
        ));
    };
    row(
        "baseline: bare verify_strict on all cores",
        format!("{base:.0} sig/s"),
        "—",
        true,
    );

    eprintln!("batch ingest…");
    let batch = batch_ingest(&node.addr, &c, args.ingest, 2).await?;
    row(
        "1. batch ingest (SubmitBatch of 1000, 2 clients)",
        format!("{batch:.0} tx/s = {:.2} × baseline", batch / base),
        "≥ 0.6 × baseline",
        batch / base >= 0.6,
    );
    eprintln!("unary ingest…");
    let unary = unary_ingest(&node.addr, &c, args.ingest / 2, 64).await?;
    row(
        "2. unary ingest (Submit, 64 concurrent clients)",
        format!("{unary:.0} tx/s = {:.2} × baseline", unary / base),
        "≥ 0.28 × baseline (before issue 18)",
        unary / base >= 0.28,
    );
    eprintln!("acknowledgement latency at 1,000 tx/s…");
    let lat = fixed_load(&node.addr, &c, 1000, args.seconds).await?;
    row(
        "3. ack latency at 1,000 tx/s offered",
        format!(
            "p50 {} / p99 {} / max {}",
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.99)),
            ms(*lat.last().unwrap())
        ),
        "p99 < 10 ms",
        percentile(&lat, 0.99) < Duration::from_millis(10),
    );

    eprintln!("stream delivery to 100 subscribers…");
    let mut subscribers = Vec::new();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(100);
    let deadline = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for i in 0..100 {
        let mut sub_client = LedgerClient::connect(&node.addr, None).await?;
        let ready = ready_tx.clone();
        let stop = deadline.clone();
        let _ = i;
        subscribers.push(tokio::spawn(async move {
            let mut stream = sub_client
                .subscribe(pb::SubscribeRequest {
                    start: pb::subscribe_request::Start::OnlyNew as i32,
                    ..Default::default()
                })
                .await
                .unwrap();
            let mut delays = Vec::new();
            let mut announced = false;
            while let Some(Ok(event)) = stream.next().await {
                match event {
                    pb::subscribe_event::Event::CaughtUp(_) if !announced => {
                        announced = true;
                        let _ = ready.send(()).await;
                    }
                    pb::subscribe_event::Event::Entry(e) => {
                        delays.push(Duration::from_millis(
                            (now_ms() - e.timestamp_ms).max(0) as u64
                        ));
                    }
                    _ => {}
                }
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
            }
            delays
        }));
    }
    for _ in 0..100 {
        ready_rx.recv().await;
    }
    fixed_load(&node.addr, &c, 1000, args.seconds.min(5)).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    deadline.store(true, std::sync::atomic::Ordering::Relaxed);
    client.submit(c.receipts(1, 5)[0].clone()).await?; // wakes every subscriber so it sees the stop flag
    let mut delays = Vec::new();
    for s in subscribers {
        delays.extend(s.await?);
    }
    delays.sort();
    row(
        "4. stream delivery (commit → subscriber), 100 subscribers at 1,000 tx/s",
        format!(
            "p50 {} / p99 {} ({} deliveries; node clock has ms resolution)",
            ms(percentile(&delays, 0.5)),
            ms(percentile(&delays, 0.99)),
            delays.len()
        ),
        "p99 < 20 ms",
        percentile(&delays, 0.99) < Duration::from_millis(20),
    );

    fill(&node.addr, &c, args.entries).await?;
    let size = client.checkpoint().await?.tree_size;
    eprintln!("ledger has {size} entries");

    let mut proof_lat = Vec::new();
    for i in 0..2000u64 {
        let t = Instant::now();
        client.inclusion_proof((i * 7919) % size, 0).await?;
        proof_lat.push(t.elapsed());
    }
    proof_lat.sort();
    row(
        &format!("6a. inclusion proof latency at {size} entries (gRPC round trip)"),
        format!(
            "p50 {} / p99 {}",
            ms(percentile(&proof_lat, 0.5)),
            ms(percentile(&proof_lat, 0.99))
        ),
        "< 1 ms",
        percentile(&proof_lat, 0.5) < Duration::from_millis(1),
    );
    let rss = node.peak_rss_mb();
    row(
        "6d. node peak RSS",
        format!("{rss:.0} MB"),
        "≤ 100 MB",
        rss <= 100.0,
    );

    let snapshot = dir.path().join("bench.snapshot");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&snapshot)?);
    client.export_snapshot(&mut file).await?;
    drop(file);
    let cp = client.checkpoint().await?;
    let node_key =
        ed25519_dalek::VerifyingKey::from_bytes(cp.node_public_key.as_slice().try_into()?)?;
    let fingerprint = ledger_core::signing::KeyId::of(&node_key).fingerprint();
    let raw_bytes = std::fs::metadata(&snapshot)?.len();
    node.terminate()?;

    // The embedded store's files (ledger-node/src/store.rs) and the saved fold.
    let log_bytes = std::fs::metadata(dir.path().join("ledger.log"))?.len();
    let index_bytes = dir_size(&dir.path().join("index"));
    let tiles_bytes = dir_size(&dir.path().join("tiles"));
    let fold_bytes = std::fs::metadata(dir.path().join("fold")).map_or(0, |m| m.len());
    let total = log_bytes + index_bytes + tiles_bytes + fold_bytes;
    let per_entry = total as f64 / size as f64;
    let raw_per_entry = raw_bytes as f64 / size as f64;
    let per = |b: u64| b as f64 / size as f64;
    row(
        "6c. disk bytes per entry (log + sled + hash tiles + saved fold) vs raw entry (snapshot bytes / entries)",
        format!(
            "{per_entry:.0} B vs {raw_per_entry:.0} B = {:.2} × (log {:.0} B, sled {:.0} B, tiles {:.0} B, fold {:.0} B)",
            per_entry / raw_per_entry,
            per(log_bytes),
            per(index_bytes),
            per(tiles_bytes),
            per(fold_bytes)
        ),
        "≤ 1.6 ×",
        per_entry / raw_per_entry <= 1.6,
    );

    let (node2, restart) = start_node(dir.path())?;
    row(
        &format!("6b. node restart with {size} entries after a clean stop (resumes at the saved fold; until serving)"),
        ms(restart),
        "≤ 0.5 s",
        restart <= Duration::from_millis(500),
    );
    let rss_restarted = node2.peak_rss_mb();
    row(
        "6d'. node peak RSS after that restart (no replay)",
        format!("{rss_restarted:.0} MB"),
        "≤ 100 MB",
        rss_restarted <= 100.0,
    );
    node2.terminate()?;
    std::fs::remove_file(dir.path().join("fold"))?;
    let (node3, full_restart) = start_node(dir.path())?;
    row(
        &format!("6b'. node restart with {size} entries and no saved fold (replays them all)"),
        ms(full_restart),
        "— (what a crash before the first save, or a damaged fold, costs)",
        true,
    );
    let tiles_url = format!("http://{}", node3.http);

    let base_end = baseline_verify(&c, &sample);
    row(
        "baseline again, before the verifier row",
        format!("{base_end:.0} sig/s"),
        "—",
        true,
    );
    eprintln!("verifier on the snapshot…");
    let t = Instant::now();
    let status = Command::new(bin_dir().join("verifier"))
        .args(["verify", "--json", "--trust", &fingerprint])
        .arg(&snapshot)
        .stdout(Stdio::null())
        .status()?;
    let took = t.elapsed();
    anyhow::ensure!(
        status.success(),
        "the verifier refused the benchmark snapshot"
    );
    let vrate = size as f64 / took.as_secs_f64();
    row(
        &format!("5. verifier on a snapshot of {size} entries"),
        format!(
            "{vrate:.0} entries/s = {:.2} × baseline ({:.1} s)",
            vrate / base_end,
            took.as_secs_f64()
        ),
        "≥ 0.9 × baseline",
        vrate / base_end >= 0.9,
    );

    eprintln!("verifier from the node's tiles…");
    let t = Instant::now();
    let status = Command::new(bin_dir().join("verifier"))
        .args([
            "verify",
            "--json",
            "--trust",
            &fingerprint,
            "--tiles",
            &tiles_url,
        ])
        .stdout(Stdio::null())
        .status()?;
    let took_tiles = t.elapsed();
    anyhow::ensure!(status.success(), "the verifier refused the node's tiles");
    node3.terminate()?;
    let trate = size as f64 / took_tiles.as_secs_f64();
    row(
        &format!("5b. verifier from the node's tlog-tiles over HTTP, {size} entries"),
        format!(
            "{trate:.0} entries/s = {:.2} × the snapshot row ({:.1} s)",
            trate / vrate,
            took_tiles.as_secs_f64()
        ),
        "—",
        true,
    );

    println!("| row | measured | target | met |\n|---|---|---|---|");
    for (name, value, target, met) in &rows {
        println!("| {name} | {value} | {target} | {met} |");
    }
    Ok(())
}

fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            let m = e.metadata().ok();
            total += match m {
                Some(m) if m.is_dir() => dir_size(&e.path()),
                Some(m) => m.len(),
                None => 0,
            };
        }
    }
    total
}
