//! A node with many ledgers closes and reopens their indexes all day. sled 0.34 keeps about
//! 2 MB each time it closes a database (spacejam/sled#1466), so a serving node parks closed
//! indexes instead (`index::park_closed_indexes`). Its own process: parking is process-wide.

use ledger_node::index::{park_closed_indexes, Index, IndexBatch};

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn reopening_a_parked_index_costs_no_memory_and_keeps_its_lock() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = (0..20)
        .map(|i| dir.path().join(format!("l{i}/index")))
        .collect();
    park_closed_indexes();
    // Every index opened once: what stays is sled's cost per ledger opened.
    for p in &paths {
        drop(Index::open(p).unwrap());
    }
    let before = rss_kb();
    for round in 0..40u64 {
        for p in &paths {
            // As a ledger does while open: a group's index writes, then a flush at close.
            let index = Index::open(p).unwrap();
            let mut batch = IndexBatch::default();
            batch.entry(round, round * 300);
            batch.applied(round + 1);
            index.apply(batch).unwrap();
            index.flush().unwrap();
        }
    }
    let grown_mb = rss_kb().saturating_sub(before) / 1024;
    // Without parking, these 800 closes keep over 100 MB (measured: 43 MB for 300).
    assert!(grown_mb < 30, "800 close/reopen cycles kept {grown_mb} MB");
    // Parked, the database is still open: another opener of the directory is refused by its
    // file lock, exactly as while a ledger is open.
    let locked = sled::Config::new().path(&paths[0]).open();
    assert!(locked.is_err(), "a parked index still holds its lock");
}
