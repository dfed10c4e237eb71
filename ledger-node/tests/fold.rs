//! A start resumes from the saved fold and replays only the tail; a missing, damaged or
//! unconfirmed saved fold means a full replay; both give exactly the same state.

use std::path::Path;

use ledger_node::{bootstrap, engine, fold_file, server};

fn open(dir: &Path, rebuild: bool) -> (std::sync::Arc<engine::Shared>, engine::OpenSummary) {
    let key = ledger_keys::read(&bootstrap::node_key_path(dir)).unwrap();
    let (shared, _writer, summary) = engine::open(dir, key, rebuild).unwrap();
    (shared, summary)
}

/// The fold as a value: without its handle on the index (which would keep the index open).
fn state_of(shared: &engine::Shared) -> ledger_core::state::State {
    let mut state = shared.state.read().unwrap().clone();
    state.history = Default::default();
    state
}

/// Every entry's transaction record as the fold reads it (from the index), and that the fold
/// keeps none of them in memory.
fn records_of(shared: &engine::Shared) -> Vec<ledger_core::state::TxRecord> {
    let state = shared.state.read().unwrap();
    assert!(
        state.txs.is_empty(),
        "the index holds every record after a start"
    );
    (0..shared.head().size)
        .map(|seq| {
            let (entry, _) = shared.read_entry(seq).unwrap();
            let tx_id = ledger_core::rules::prepare(&entry.envelope)
                .unwrap()
                .tx
                .tx_id;
            let record = state.tx(&tx_id).unwrap().expect("every entry's record");
            assert_eq!(record.sequence, seq);
            record
        })
        .collect()
}

/// Runs the writer over `txs` and stops it (which saves the fold).
fn run_writer(dir: &Path, txs: Vec<ledger_core::proto::SignedEnvelope>) {
    let key = ledger_keys::read(&bootstrap::node_key_path(dir)).unwrap();
    let (shared, writer, _) = engine::open(dir, key, false).unwrap();
    let (queue, thread) = writer.start(64, 256);
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(server::submit_all(&queue, &shared, txs))
        .unwrap();
    drop(queue);
    thread.join().unwrap();
}

#[test]
fn a_resumed_start_and_a_full_replay_give_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let keys = bootstrap::create_dev_ledger(&data, "fold test").unwrap();
    let (shared, summary) = open(&data, false);
    assert_eq!(summary.replayed, 1, "a new ledger: the genesis");
    let txs = bootstrap::demo_transactions(&shared.ledger_id, &keys).unwrap();
    drop(shared);
    let count = txs.len() as u64;
    run_writer(&data, txs);
    assert!(
        data.join(fold_file::FOLD_FILE).exists(),
        "a clean stop saves the fold"
    );

    let (resumed, summary) = open(&data, false);
    assert_eq!(summary.entries, count + 1);
    assert_eq!(summary.replayed, 0, "nothing after the saved fold");
    let resumed_state = state_of(&resumed);
    let resumed_records = records_of(&resumed);
    assert!(
        resumed_records.iter().any(|r| r.reversed_by.is_some()),
        "the demo reverses an entry: its record says so"
    );
    let resumed_head = resumed.head();
    drop(resumed);

    let (full, summary) = open(&data, true);
    assert_eq!(summary.replayed, count + 1, "rebuild replays everything");
    assert_eq!(state_of(&full), resumed_state);
    assert_eq!(records_of(&full), resumed_records);
    assert_eq!(full.head().root, resumed_head.root);
    drop(full);

    // A damaged saved fold, one whose point the log does not confirm, or none: a full replay
    // to the same state.
    let path = data.join(fold_file::FOLD_FILE);
    let good = std::fs::read(&path).unwrap();
    let mut damaged = good.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    std::fs::write(&path, &damaged).unwrap();
    let (s, summary) = open(&data, false);
    assert_eq!(
        (summary.replayed, state_of(&s)),
        (count + 1, resumed_state.clone())
    );
    drop(s);
    std::fs::remove_file(&path).unwrap();
    let (s, summary) = open(&data, false);
    assert_eq!(
        (summary.replayed, state_of(&s)),
        (count + 1, resumed_state.clone())
    );
    drop(s);
    // A fold saved for a point whose entry hash is not the log's.
    let node_key = ledger_keys::read(&bootstrap::node_key_path(&data)).unwrap();
    let saved = fold_file::load_bytes(&good, &[node_key.verifying_key()]).unwrap();
    fold_file::save(
        &data,
        &node_key,
        saved.size,
        &saved.root,
        &[7; 32],
        &saved.state,
    )
    .unwrap();
    let (s, summary) = open(&data, false);
    assert_eq!(
        (summary.replayed, state_of(&s)),
        (count + 1, resumed_state.clone())
    );
    drop(s);
    // One that is right in every way but not signed by the node's key.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    fold_file::save(
        &data,
        &stranger,
        saved.size,
        &saved.root,
        &saved.last_hash,
        &saved.state,
    )
    .unwrap();
    let (s, summary) = open(&data, false);
    assert_eq!(
        (summary.replayed, state_of(&s)),
        (count + 1, resumed_state.clone())
    );
    drop(s);
    // Even with the stranger's key planted where the node keeps its retired and next keys
    // (adversary review): only the key the node runs with signs a fold it will use.
    for planted in ["node.key.retired-1", "node.key.next"] {
        ledger_keys::write_new(&data.join(planted), &stranger).unwrap();
        let (s, summary) = open(&data, false);
        assert_eq!(
            (summary.replayed, state_of(&s)),
            (count + 1, resumed_state.clone()),
            "{planted}"
        );
        drop(s);
        std::fs::remove_file(data.join(planted)).unwrap();
    }
}

#[test]
fn a_mark_signed_by_a_key_file_planted_in_the_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let keys = bootstrap::create_dev_ledger(&data, "mark test").unwrap();
    let (shared, _) = open(&data, false);
    let txs = bootstrap::demo_transactions(&shared.ledger_id, &keys).unwrap();
    let head = shared.head();
    drop(shared);
    run_writer(&data, txs);
    // The real tree's checkpoint, signed by a stranger whose key is planted as a retired node key.
    let (shared, _) = open(&data, false);
    let head_now = shared.head();
    assert!(head_now.size > head.size);
    drop(shared);
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[11; 32]);
    let forged = ledger_core::checkpoint::Checkpoint {
        origin: keys_ledger_id(&data),
        tree_size: head_now.size,
        root: head_now.root,
    }
    .sign(&stranger);
    std::fs::write(data.join("checkpoint"), forged.text).unwrap();
    ledger_keys::write_new(&data.join("node.key.retired-1"), &stranger).unwrap();
    let key = ledger_keys::read(&bootstrap::node_key_path(&data)).unwrap();
    let refused = engine::open(&data, key, false).err().expect("refused");
    assert!(
        refused.to_string().contains("names at its size"),
        "{refused}"
    );
}

fn keys_ledger_id(data: &Path) -> String {
    let (shared, _) = open(data, false);
    shared.ledger_id.clone()
}
