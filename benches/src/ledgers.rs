//! `ledger-bench --ledgers N`: one node serving N ledgers (a district's communities), against
//! the same node writing into one of them, in the same run.
//!
//! - ingest spread over all N ledgers against ingest into one: the same transactions, the same
//!   batch size and the same clients, so the ratio is the cost of many ledgers;
//! - RSS with the N ledgers made but closed, with all N open and idle, and after a restart;
//! - how long a closed ledger takes to answer its first request (it is opened then).

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use ledger_client::LedgerClient;
use ledger_core::build;
use ledger_core::proto::{self as pb, transaction_body::Kind};
use ledger_core::state::Role;

use crate::{bin_dir, ms, now_ms, percentile, random, start_node_with};

/// Transactions in each SubmitBatch of both ingest rows.
const BATCH: usize = 40;
/// Clients sending batches at once in both ingest rows.
const CLIENTS: usize = 16;
/// Alternating rounds of the two ingest rows.
const ROUNDS: usize = 4;

fn ledger_id(i: usize) -> String {
    format!("c{i:04}.district.example/fund")
}

fn envelope(ledger: &str, kind: Kind, key: &SigningKey) -> pb::SignedEnvelope {
    build::envelope(build::body(ledger, random(), now_ms(), kind), &[key])
}

fn receipt(ledger: &str, finance: &SigningKey, fen: u64) -> pb::SignedEnvelope {
    let kind = Kind::FundsReceived(pb::FundsReceived {
        source: 1,
        to_account: "pool:fiscal".into(),
        amount_fen: fen,
        memo: "bench".into(),
        ..Default::default()
    });
    envelope(ledger, kind, finance)
}

/// Makes ledger `id` in the running node's data directory with `ledger-node init`.
fn init(data: &Path, work: &Path, id: &str, admin: &SigningKey) -> anyhow::Result<()> {
    let genesis = format!(
        "ledger_id = \"{id}\"\nname = \"社区 {id}\"\napproval_threshold_yuan = 100000\n\
         approver_quorum = 2\nadmin_quorum = 1\nreserve_ratio_bp = 1000\n\
         [[admin]]\nname = \"admin\"\npublic_key = \"{}\"\n",
        hex::encode(admin.verifying_key().as_bytes())
    );
    std::fs::write(work.join("genesis.toml"), genesis)?;
    let out = Command::new(bin_dir().join("ledger-node"))
        .args([
            "init",
            "--genesis",
            "genesis.toml",
            "--admin-key",
            "admin.key",
        ])
        .arg("--data-dir")
        .arg(data)
        .current_dir(work)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "ledger-node init {id}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Sends `batches` (ledger, envelopes) from `CLIENTS` clients; transactions per second. Every
/// transaction must be appended.
async fn ingest(
    addr: &str,
    batches: Vec<(String, Vec<pb::SignedEnvelope>)>,
) -> anyhow::Result<f64> {
    let total: usize = batches.iter().map(|(_, b)| b.len()).sum();
    let queue = Arc::new(Mutex::new(batches));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let client = LedgerClient::connect(addr, None).await?;
        let queue = queue.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let Some((ledger, batch)) = queue.lock().unwrap().pop() else {
                    return anyhow::Ok(());
                };
                let results = client
                    .for_ledger(Some(&ledger))?
                    .submit_batch(batch)
                    .await?;
                if let Some(Err(r)) = results.iter().find(|r| r.is_err()) {
                    anyhow::bail!("{ledger} refused a bench transaction: {}", r.message);
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

pub async fn run(count: usize, transactions: usize) -> anyhow::Result<()> {
    anyhow::ensure!(count >= 2, "--ledgers needs at least 2");
    let temp = tempfile::tempdir()?;
    let data = temp.path().join("data");
    let open_all = ["--max-open-ledgers", "4096", "--ledger-idle-secs", "86400"];
    let (node, _) = start_node_with(&data, &open_all)?;
    let admin = SigningKey::from_bytes(&random());
    let finance = SigningKey::from_bytes(&random());
    ledger_keys::write_new(&temp.path().join("admin.key"), &admin)?;
    let ids: Vec<String> = (0..count).map(ledger_id).collect();
    eprintln!("making {count} ledgers with ledger-node init (the node running)…");
    let made = Instant::now();
    for id in &ids {
        init(&data, temp.path(), id, &admin)?;
    }
    let made = made.elapsed();
    let rss_closed = rss_mb(node.child.id());

    eprintln!("opening each ledger and registering its finance key…");
    let client = LedgerClient::connect(&node.addr, None).await?;
    let mut first_answer = Vec::new();
    for id in &ids {
        let mut ledger = client.for_ledger(Some(id))?;
        let t = Instant::now();
        ledger.checkpoint().await?;
        first_answer.push(t.elapsed());
        let key = build::public_key(&finance, Role::Finance, "finance");
        let register = Kind::KeyRegistered(pb::KeyRegistered { key: Some(key) });
        let pool = Kind::AccountOpened(pb::AccountOpened {
            account_id: "pool:fiscal".into(),
            kind: pb::AccountKind::FundPool as i32,
            source: 1,
            name: "pool".into(),
        });
        let setup = vec![envelope(id, register, &admin), envelope(id, pool, &admin)];
        ledger.submit_batch(setup).await?;
    }
    first_answer.sort();
    let rss_open = rss_mb(node.child.id());

    let per_batch = BATCH.min(transactions);
    let batches = transactions / per_batch;
    // The two rows alternate in rounds (one, spread, one, spread, …) so that a neighbour's load
    // on this shared machine falls on both alike; each row's rate is its total over its rounds.
    eprintln!("ingest into one ledger and spread over {count}, in {ROUNDS} alternating rounds…");
    let batch_of = |id: &str, b: usize| -> (String, Vec<pb::SignedEnvelope>) {
        let envs = (0..per_batch).map(|i| receipt(id, &finance, (b * per_batch + i + 1) as u64));
        (id.to_string(), envs.collect())
    };
    let (mut one_secs, mut spread_secs) = (0.0, 0.0);
    let per_round = batches.div_ceil(ROUNDS);
    for round in 0..ROUNDS {
        let range = (round * per_round)..((round + 1) * per_round).min(batches);
        let one: Vec<_> = range.clone().map(|b| batch_of(&ids[0], b)).collect();
        let spread: Vec<_> = range.map(|b| batch_of(&ids[b % count], b)).collect();
        let sent = (one.len() * per_batch) as f64;
        one_secs += sent / ingest(&node.addr, one).await?;
        spread_secs += sent / ingest(&node.addr, spread).await?;
    }
    let sent = (batches * per_batch) as f64;
    let (single, spread) = (sent / one_secs, sent / spread_secs);
    let rss_after_ingest = rss_mb(node.child.id());
    node.terminate()?;

    eprintln!("restart with {count} closed ledgers…");
    let (node, started) = start_node_with(&data, &open_all)?;
    let rss_restarted = rss_mb(node.child.id());
    let client = LedgerClient::connect(&node.addr, None).await?;
    let mut reopen = Vec::new();
    for id in ids.iter().step_by((count / 100).max(1)) {
        let t = Instant::now();
        client.for_ledger(Some(id))?.checkpoint().await?;
        reopen.push(t.elapsed());
    }
    reopen.sort();
    node.terminate()?;

    eprintln!("every ledger used once, then left idle past --ledger-idle-secs…");
    let idle = ["--max-open-ledgers", "4096", "--ledger-idle-secs", "2"];
    let (node, _) = start_node_with(&data, &idle)?;
    let client = LedgerClient::connect(&node.addr, None).await?;
    for id in &ids {
        client.for_ledger(Some(id))?.checkpoint().await?;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let rss_idle_closed = rss_mb(node.child.id());
    let metrics = ledger_e2e::request(&node.http, "GET", "/metrics", &[], b"");
    let still_open = String::from_utf8_lossy(&metrics.body)
        .lines()
        .find_map(|l| l.strip_prefix("ledger_open_ledgers "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    node.terminate()?;

    let ratio = spread / single;
    println!("| row | measured | target | met |\n|---|---|---|---|");
    println!(
        "| 7a. ingest spread over {count} ledgers vs into one (SubmitBatch of {per_batch}, {CLIENTS} clients, {transactions} tx each) | {spread:.0} vs {single:.0} tx/s = **{ratio:.2}×** | ≥ 0.8× | {} |",
        if ratio >= 0.8 { "yes" } else { "**no**" }
    );
    println!(
        "| 7b. node RSS with {count} idle ledgers open (each opened, 2 entries written, then left) | {rss_open:.0} MB | ≤ 300 MB | {} |",
        if rss_open <= 300.0 { "yes" } else { "**no**" }
    );
    println!("| 7c. node RSS with {count} ledgers made but closed (the node's own open) | {rss_closed:.0} MB | — | — |");
    println!("| 7d. node RSS after ingest with {count} open | {rss_after_ingest:.0} MB | — | — |");
    println!("| 7e. node RSS after a restart ({count} closed until asked) | {rss_restarted:.0} MB | — | — |");
    println!(
        "| 7f. first answer from a closed ledger (it is opened): new / after a restart | p50 {} p99 {} / p50 {} p99 {} | — | — |",
        ms(percentile(&first_answer, 0.5)),
        ms(percentile(&first_answer, 0.99)),
        ms(percentile(&reopen, 0.5)),
        ms(percentile(&reopen, 0.99)),
    );
    println!(
        "| 7g. `ledger-node init` of {count} ledgers into the running node | {:.1} s ({} per ledger) | — | — |",
        made.as_secs_f64(),
        ms(made / count as u32)
    );
    println!(
        "| 7h. restart of the node with {count} ledgers | {} | — | — |",
        ms(started)
    );
    println!(
        "| 7i. node RSS with {count} idle ledgers after each was used once and the idle timer closed them ({still_open} open) | {rss_idle_closed:.0} MB | ≤ 300 MB | {} |",
        if rss_idle_closed <= 300.0 { "yes" } else { "**no**" }
    );
    Ok(())
}
