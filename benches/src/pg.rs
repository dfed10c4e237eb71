//! `ledger-bench --postgres`: ingest with the ledger kept in PostgreSQL (`--store`) against the
//! embedded store, in the same run, on the same machine: a real PostgreSQL (Debian's package,
//! started by the test harness in a temporary directory, `fsync=on`, `synchronous_commit=on`)
//! on loopback. The two stores alternate over rounds, each round on a fresh ledger, so drift on
//! a shared machine hits both alike.

use std::time::Duration;

use ledger_client::LedgerClient;

use crate::{batch_ingest, fixed_load, ms, percentile, setup, start_node_with, unary_ingest};

/// Alternating rounds of each store.
const ROUNDS: usize = 3;

struct Measured {
    batch: Vec<f64>,
    unary: Vec<f64>,
    p50: Vec<Duration>,
    p99: Vec<Duration>,
}

pub async fn run(ingest: usize, seconds: u64) -> anyhow::Result<()> {
    let pg = ledger_e2e::Postgres::start();
    let mut embedded = Measured::new();
    let mut postgres = Measured::new();
    for round in 0..ROUNDS {
        for on_postgres in [false, true] {
            let url = on_postgres.then(|| pg.database(&format!("bench{round}")));
            let measured = if on_postgres {
                &mut postgres
            } else {
                &mut embedded
            };
            measure(url.as_deref(), ingest, seconds, measured).await?;
            eprintln!(
                "round {round} {}: batch {:.0} tx/s, unary {:.0} tx/s",
                if on_postgres { "postgres" } else { "embedded" },
                measured.batch.last().unwrap(),
                measured.unary.last().unwrap()
            );
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let worst = |v: &[Duration]| v.iter().max().copied().unwrap_or_default();
    println!("| row | embedded | PostgreSQL | PostgreSQL ÷ embedded |");
    println!("|---|---|---|---|");
    for (name, e, p) in [
        (
            "batch ingest (SubmitBatch of 1000, 2 clients), median tx/s",
            &embedded.batch,
            &postgres.batch,
        ),
        (
            "unary ingest (Submit, 64 concurrent), median tx/s",
            &embedded.unary,
            &postgres.unary,
        ),
    ] {
        println!(
            "| {name} | {:.0} | {:.0} | {:.2} × |",
            median(e),
            median(p),
            median(p) / median(e)
        );
    }
    println!(
        "| ack latency at 1,000 tx/s offered, p50 / p99 (worst round) | {} / {} | {} / {} | — |",
        ms(worst(&embedded.p50)),
        ms(worst(&embedded.p99)),
        ms(worst(&postgres.p50)),
        ms(worst(&postgres.p99)),
    );
    Ok(())
}

impl Measured {
    fn new() -> Measured {
        Measured {
            batch: Vec::new(),
            unary: Vec::new(),
            p50: Vec::new(),
            p99: Vec::new(),
        }
    }
}

/// One round on a fresh ledger: batch ingest, unary ingest, latency at a fixed load.
async fn measure(
    store: Option<&str>,
    ingest: usize,
    seconds: u64,
    into: &mut Measured,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let extra: Vec<&str> = match store {
        Some(url) => vec!["--store", url],
        None => Vec::new(),
    };
    let (node, _) = start_node_with(dir.path(), &extra)?;
    let admin = ledger_keys::read(&dir.path().join("keys/admin.key"))?;
    let mut client = LedgerClient::connect(&node.addr, None).await?;
    // The first node of a database uploads its genesis and takes the lease as it starts.
    let c = setup(&mut client, &admin).await?;
    into.batch
        .push(batch_ingest(&node.addr, &c, ingest, 2).await?);
    into.unary
        .push(unary_ingest(&node.addr, &c, ingest / 4, 64).await?);
    let mut lat = fixed_load(&node.addr, &c, 1000, seconds).await?;
    lat.sort();
    into.p50.push(percentile(&lat, 0.5));
    into.p99.push(percentile(&lat, 0.99));
    Ok(())
}
