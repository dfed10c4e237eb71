//! The statement rows: what a public statement costs against verifying the same snapshot, in
//! the same run. `ledger-bench --report --entries 10000`.
//!
//! A statement is a verification plus the fold's bookkeeping and the rendering (HTML with a QR
//! code, XLSX, CSV, the data package), so its cost is given as a multiple of verifying the
//! snapshot on the same threads; the node's first request for a period adds assembling the
//! snapshot from its log, and a repeated request is served from its cache.

use std::time::{Duration, Instant};

use ledger_report::{Lang, Period};
use ledger_verifier::check::verify_snapshot;

use crate::{filled, Filled};

const ROUNDS: usize = 3;

fn best(mut f: impl FnMut()) -> Duration {
    (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .expect("ROUNDS > 0")
}

/// One plain HTTP/1.1 GET, timed to the last byte; the status must be 200.
fn get(http: &str, path: &str) -> anyhow::Result<Duration> {
    use std::io::{Read, Write};
    let t = Instant::now();
    let mut s = std::net::TcpStream::connect(http)?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {http}\r\nConnection: close\r\n\r\n"
    )?;
    let mut body = Vec::new();
    s.read_to_end(&mut body)?;
    anyhow::ensure!(
        body.starts_with(b"HTTP/1.1 200"),
        "{path}: {}",
        String::from_utf8_lossy(&body[..body.len().min(200)])
    );
    Ok(t.elapsed())
}

pub async fn run(entries: u64) -> anyhow::Result<()> {
    let Filled {
        _dir,
        node,
        size,
        trust,
        cores,
        snapshot,
        ..
    } = filled(entries).await?;
    // Every entry is in the current month, quarter and year.
    let period = Period::all_touching(crate::now_ms(), crate::now_ms())
        .into_iter()
        .find(|p| p.name().contains('Q'))
        .expect("a quarter");

    eprintln!("verifying and making statements of {size} entries…");
    let verify = best(|| {
        assert!(
            verify_snapshot(snapshot.as_slice(), &trust, &[], cores, |_| {}, |_, _| {}).passed()
        );
    });
    let one_thread = best(|| {
        assert!(verify_snapshot(snapshot.as_slice(), &trust, &[], 1, |_| {}, |_, _| {}).passed());
    });
    let statement = best(|| {
        let s =
            ledger_report::make(&snapshot, &trust, &[], cores, period, None).expect("a statement");
        assert_eq!(s.tree_size, size);
        assert_eq!(
            ledger_report::files(&s, Lang::Chinese).len(),
            ledger_report::FILES.len()
        );
    });
    let path = format!("/reports/{}/statement.html", period.name());
    let first = get(&node.http, &path)?;
    let cached = get(&node.http, &path)?;
    node.terminate()?;

    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    println!(
        "Snapshot of {size} entries, {} bytes; {cores} cores; period {}.\n",
        snapshot.len(),
        period.name()
    );
    println!("| row | measured | target | met |\n|---|---|---|---|");
    println!(
        "| verify the snapshot, {cores} threads | {} | — | — |",
        ms(verify)
    );
    println!(
        "| 8a. statement (verify + fold + HTML, XLSX, CSV, data package), {cores} threads | {} = {:.2} × verifying | ≤ 1.5 × verifying | {} |",
        ms(statement),
        statement.as_secs_f64() / verify.as_secs_f64(),
        if statement.as_secs_f64() <= 1.5 * verify.as_secs_f64() { "yes" } else { "**no**" }
    );
    println!(
        "| 8b. the node's first request for a period (assembles the snapshot, verifies on 1 thread) | {} = {:.2} × verifying on 1 thread; repeated (cached) {} | — | — |",
        ms(first),
        first.as_secs_f64() / one_thread.as_secs_f64(),
        ms(cached)
    );
    Ok(())
}
