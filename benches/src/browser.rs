//! The browser row: the page's whole-ledger check (ledger-verifier compiled to WebAssembly, run
//! in the page's own Web Worker in headless Chromium) against the same library run natively,
//! on the same snapshot in the same run. `ledger-bench --browser --entries 10000`.
//!
//! Both sides are timed the same way: the snapshot is already in memory, the clock covers the
//! verification alone (parse, every signature, the chain, the tree, the rules, the checkpoint),
//! and each figure is the best of [`ROUNDS`] runs, since the machine is shared.

use std::time::{Duration, Instant};

use ledger_client::LedgerClient;
use ledger_e2e::webdriver::Browser;
use ledger_verifier::check::verify_snapshot;
use ledger_verifier::trust::Trust;
use serde_json::json;

use crate::{filled, Filled};

const ROUNDS: usize = 3;

/// Starts the page's worker on `./snapshot` `rounds` times; `window.bench` collects each run's
/// milliseconds, exit code and entries checked, and `window.benchLog` what happened.
const IN_THE_PAGE: &str = r#"
const [trust, rounds] = arguments;
window.bench = null;
window.benchLog = [];
(async () => {
  const bytes = await (await fetch("./snapshot")).arrayBuffer();
  benchLog.push(`snapshot ${bytes.byteLength} bytes`);
  const file = new File([bytes], "bench.snapshot");
  const worker = new Worker("./verify-worker.js");
  worker.onerror = (e) => benchLog.push(`worker error ${e.message}`);
  const ask = (message) => new Promise((resolve) => {
    worker.onmessage = (e) => {
      if (e.data.phase) benchLog.push(`${e.data.phase} ${e.data.done}/${e.data.total}`);
      else resolve(e.data);
    };
    worker.postMessage(message);
  });
  await ask({ id: 0 });
  benchLog.push("worker ready");
  const runs = [];
  for (let i = 1; i <= rounds; i++) {
    const r = await ask({ id: i, trust, file });
    if (r.error) throw new Error(r.error);
    runs.push([r.millis, r.exitCode, Number(r.report.entries_checked)]);
  }
  worker.terminate();
  window.bench = runs;
})().catch((e) => { window.bench = String(e); });
"#;

/// Best time of the native library on `threads` threads.
fn native(
    snapshot: &[u8],
    trust: &Trust,
    threads: usize,
    entries: u64,
) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let outcome = verify_snapshot(snapshot, trust, &[], threads, |_| {}, |_, _| {});
        best = best.min(t.elapsed());
        anyhow::ensure!(outcome.passed(), "the native verifier refused the snapshot");
        anyhow::ensure!(
            outcome.entries_checked == entries,
            "the native verifier checked {} of {entries} entries",
            outcome.entries_checked
        );
    }
    Ok(best)
}

/// Best time of the page's worker in headless Chromium, and the entries it checked.
fn in_the_page(http: &str, trust: &str, entries: u64) -> anyhow::Result<Duration> {
    let browser = Browser::start(800, 600);
    browser.goto(&format!("http://{http}/"));
    browser.run(IN_THE_PAGE, json!([trust, ROUNDS]));
    let deadline = Instant::now() + Duration::from_secs(60 + entries / 100);
    let runs = loop {
        let runs = browser.run("return window.bench;", json!([]));
        if !runs.is_null() {
            break runs;
        }
        if Instant::now() > deadline {
            let log = browser.run("return window.benchLog;", json!([]));
            anyhow::bail!("the page's check did not finish: {log}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let runs = runs
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("the page's check failed: {runs}"))?;
    let mut best = f64::MAX;
    for run in runs {
        anyhow::ensure!(run[1] == 0, "the page refused the snapshot: {run}");
        anyhow::ensure!(
            run[2] == entries,
            "the page checked {} of {entries}",
            run[2]
        );
        best = best.min(run[0].as_f64().unwrap_or(f64::MAX));
    }
    Ok(Duration::from_secs_f64(best / 1000.0))
}

fn chromium_version() -> String {
    std::process::Command::new("/usr/bin/chromium")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "chromium".into())
}

/// The node's snapshot once it carries all `size` entries: a snapshot ends at the newest
/// checkpoint the node has signed, which trails the last write by up to one checkpoint interval.
pub async fn whole_snapshot(
    client: &mut LedgerClient,
    trust: &Trust,
    size: u64,
    cores: usize,
) -> anyhow::Result<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut snapshot = Vec::new();
        client.export_snapshot(&mut snapshot).await?;
        let outcome = verify_snapshot(snapshot.as_slice(), trust, &[], cores, |_| {}, |_, _| {});
        anyhow::ensure!(outcome.passed(), "the native verifier refused the snapshot");
        if outcome.entries_checked == size {
            return Ok(snapshot);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the node's snapshot still ends at {} of {size} entries after 30 s",
            outcome.entries_checked
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub async fn run(entries: u64) -> anyhow::Result<()> {
    let Filled {
        _dir,
        node,
        size,
        trust_text,
        trust,
        cores,
        snapshot,
    } = filled(entries).await?;

    eprintln!("native verifier on {size} entries…");
    let one = native(&snapshot, &trust, 1, size)?;
    let all = native(&snapshot, &trust, cores, size)?;
    eprintln!("the page's verifier in headless Chromium…");
    let http = node.http.clone();
    let page = tokio::task::spawn_blocking(move || in_the_page(&http, &trust_text, size)).await??;
    node.terminate()?;

    let rate = |d: Duration| size as f64 / d.as_secs_f64();
    let (one, all, page) = (rate(one), rate(all), rate(page));
    println!(
        "Snapshot of {size} entries, {} bytes; {}; {cores} cores.\n",
        snapshot.len(),
        chromium_version()
    );
    println!("| row | measured | target | met |\n|---|---|---|---|");
    println!("| native verifier library, 1 thread | {one:.0} entries/s | — | — |");
    println!("| native verifier library, {cores} threads | {all:.0} entries/s = {:.2} × 1 thread | — | — |", all / one);
    println!(
        "| 7. the page's verifier (WebAssembly, one worker) | {page:.0} entries/s = {:.2} × native per core, {:.2} × native on all cores; {size} entries in {:.2} s | ≥ 0.3 × native per core | {} |",
        page / one,
        page / all,
        size as f64 / page,
        if page / one >= 0.3 { "yes" } else { "**no**" }
    );
    Ok(())
}
