//! Faults at rest: torn and zero-filled log tails are cut back (and held nothing acknowledged);
//! a damaged whole entry, at the tail or in the middle, stops the node with a message naming it;
//! a damaged frame (every bit of every length field) is never taken for a torn tail; a data
//! directory that held a ledger never gets a new one.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use ledger_core::proto;
use ledger_e2e::*;

/// A ledger with some acknowledged receipts, stopped cleanly. Returns the checkpoint size and the
/// byte offset where each record starts.
async fn ledger_with_receipts(dir: &Path, count: u64) -> (u64, Vec<u64>) {
    let mut node = Node::start(dir, &[]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    for i in 0..count {
        submit(&mut client, c.receipt(i + 1)).await.unwrap();
    }
    let size = checkpoint(&mut client).await.tree_size;
    drop(client);
    assert!(node.terminate());
    (size, record_offsets(&dir.join("ledger.log")))
}

/// Where each record of the log starts (PROTOCOL.md §"The log file": a 16-byte frame header
/// whose first 4 bytes are the entry's length, the entry, its 32-byte hash).
fn record_offsets(log: &Path) -> Vec<u64> {
    let bytes = std::fs::read(log).unwrap();
    let mut offsets = Vec::new();
    let mut at = 0usize;
    while at + 16 <= bytes.len() {
        offsets.push(at as u64);
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 16 + len + 32;
    }
    offsets
}

fn start_fails(dir: &Path) -> String {
    let out = Command::new(binary("ledger-node"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the node started on a damaged log");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_and_zero_filled_tails_are_cut_and_everything_acknowledged_survives() {
    let dir = tempfile::tempdir().unwrap();
    let (size, offsets) = ledger_with_receipts(dir.path(), 10).await;
    let log = dir.path().join("ledger.log");
    let whole = std::fs::metadata(&log).unwrap().len();
    // The unacknowledged half of a group write: a record cut in the middle...
    let last = *offsets.last().unwrap();
    let tail = std::fs::read(&log).unwrap()[last as usize..].to_vec();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(&tail[..tail.len() / 2]).unwrap();
    drop(f);
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    assert_eq!(checkpoint(&mut client).await.tree_size, size);
    verify_whole_log(&node, &mut client).await;
    drop(client);
    drop(node);
    assert_eq!(
        std::fs::metadata(&log).unwrap().len(),
        whole,
        "the torn tail was cut"
    );
    // ...and zero-filled blocks from a file system that extended the file but never wrote it.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(&[0u8; 8192]).unwrap();
    drop(f);
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    assert_eq!(checkpoint(&mut client).await.tree_size, size);
    verify_whole_log(&node, &mut client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_whole_entry_stops_the_node_with_a_message_naming_it() {
    for target in ["middle", "tail"] {
        let dir = tempfile::tempdir().unwrap();
        let (size, offsets) = ledger_with_receipts(dir.path(), 6).await;
        let log = dir.path().join("ledger.log");
        let damaged = if target == "middle" {
            5
        } else {
            size as usize - 1
        };
        let mut bytes = std::fs::read(&log).unwrap();
        bytes[offsets[damaged] as usize + 72] ^= 0x20;
        std::fs::write(&log, &bytes).unwrap();
        let message = start_fails(dir.path());
        assert!(
            message.contains(&format!("corrupt at entry {damaged}")),
            "{target}: {message}"
        );
        assert!(
            message.contains("backup"),
            "{target}: the message says what to do: {message}"
        );
        assert_eq!(
            std::fs::read(&log).unwrap(),
            bytes,
            "{target}: a damaged log is never cut or rewritten"
        );
    }
}

/// The index answers for every entry of the log: looked up by its transaction id, it is found
/// at its own sequence.
async fn every_entry_is_found_by_its_tx_id(
    client: &mut proto::ledger_client::LedgerClient<tonic::transport::Channel>,
) {
    for e in read_log(client).await {
        let env: proto::SignedEnvelope = prost::Message::decode(e.envelope.as_slice()).unwrap();
        let body: proto::TransactionBody = prost::Message::decode(env.body.as_slice()).unwrap();
        let by_id = client
            .get_entry(proto::GetEntryRequest {
                by: Some(proto::get_entry_request::By::TxId(body.tx_id)),
            })
            .await
            .unwrap_or_else(|s| panic!("entry {}: {s}", e.sequence))
            .into_inner();
        assert_eq!(by_id.sequence, e.sequence);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_index_is_rebuilt_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (size, _) = ledger_with_receipts(dir.path(), 5).await;
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    assert_eq!(checkpoint(&mut client).await.tree_size, size);
    every_entry_is_found_by_its_tx_id(&mut client).await;
}

/// The index is derived from the log and checked against it, never trusted over it: a data
/// directory given another ledger's index (a copy mistake) does not make the node's own entries
/// look like duplicates of the other ledger's, or hide its own; the node finds the mismatch,
/// rebuilds the index from its log and serves every entry by its transaction id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_from_another_log_is_rebuilt_not_trusted() {
    let other = tempfile::tempdir().unwrap();
    ledger_with_receipts(other.path(), 2).await;
    let dir = tempfile::tempdir().unwrap();
    let (size, _) = ledger_with_receipts(dir.path(), 5).await;
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(other.path().join("index"))
        .arg(dir.path().join("index"))
        .status()
        .unwrap();
    assert!(copied.success());
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    assert_eq!(checkpoint(&mut client).await.tree_size, size);
    every_entry_is_found_by_its_tx_id(&mut client).await;
    verify_whole_log(&node, &mut client).await;
}

/// Every bit of the length field of three records, flipped one at a time in a small log: the real
/// node refuses to start each time, names the damaged entry, and leaves the file byte-for-byte
/// as it was. (Before the checked frame, one such flip in entry 3 of 9 cut the log to 3 entries
/// and the node handed out sequence 3 again.) Every bit of every byte of the file goes through
/// the same scan in `ledger-node`'s unit tests (`log::tests::every_bit_flip_...`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_flipped_length_bit_is_taken_for_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let (size, offsets) = ledger_with_receipts(dir.path(), 3).await;
    assert_eq!(offsets.len() as u64, size);
    let log = dir.path().join("ledger.log");
    let original = std::fs::read(&log).unwrap();
    // The first, a middle and the last entry (each run starts the real node).
    let last = offsets.len() - 1;
    for (entry, offset) in [
        (0, offsets[0]),
        (last / 2, offsets[last / 2]),
        (last, offsets[last]),
    ] {
        let offset = &offset;
        for bit in 0..32 {
            let mut bytes = original.clone();
            bytes[*offset as usize + bit / 8] ^= 0x80 >> (bit % 8);
            std::fs::write(&log, &bytes).unwrap();
            let message = start_fails(dir.path());
            assert!(
                message.contains(&format!("corrupt at entry {entry} (byte offset {offset})")),
                "entry {entry} bit {bit}: {message}"
            );
            assert_eq!(
                std::fs::read(&log).unwrap(),
                bytes,
                "entry {entry} bit {bit}: changed"
            );
        }
    }
    std::fs::write(&log, &original).unwrap();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    assert_eq!(
        checkpoint(&mut client).await.tree_size,
        size,
        "nothing was lost"
    );
}

/// A log shorter than what the index recorded as durable lost acknowledged entries, even
/// though it ends on a whole record: the node says so instead of serving the shorter history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_missing_acknowledged_entries_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (size, offsets) = ledger_with_receipts(dir.path(), 4).await;
    let log = dir.path().join("ledger.log");
    let cut = offsets[size as usize - 2];
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(cut)
        .unwrap();
    let message = start_fails(dir.path());
    assert!(message.contains("acknowledged"), "{message}");
    assert_eq!(
        std::fs::metadata(&log).unwrap().len(),
        cut,
        "left as it was"
    );
}

/// A data directory that holds a node key, keys or an index but no usable log once held a
/// ledger: the node refuses it (leaving it untouched) instead of creating a new ledger signed
/// with the community's node key. A directory that does not exist gets a development ledger
/// with a loud notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_that_held_a_ledger_never_gets_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    ledger_with_receipts(dir.path(), 1).await;
    let log = dir.path().join("ledger.log");
    let node_key = std::fs::read(dir.path().join("node.key")).unwrap();
    // "marker": a stray `.creating` file beside an emptied log (an earlier version took such a
    // directory for an interrupted creation and replaced the node key).
    for damage in ["empty", "marker", "missing"] {
        match damage {
            "empty" => std::fs::write(&log, b"").unwrap(),
            "marker" => std::fs::write(dir.path().join(".creating"), b"").unwrap(),
            _ => std::fs::remove_file(&log).unwrap(),
        }
        let message = start_fails(dir.path());
        assert!(
            message.contains("will not create a new one"),
            "{damage}: {message}"
        );
        assert!(
            message.contains("node.key"),
            "{damage}: names what it found: {message}"
        );
        assert_eq!(
            std::fs::read(dir.path().join("node.key")).unwrap(),
            node_key,
            "{damage}: the node key is untouched"
        );
        assert_eq!(
            log.exists(),
            damage != "missing",
            "{damage}: no log was made"
        );
        assert_eq!(
            std::fs::read(&log).unwrap_or_default(),
            b"",
            "{damage}: still empty"
        );
    }
    let fresh = dir.path().join("mistyped");
    let mut child = Command::new(binary("ledger-node"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--http",
            "off",
            "--data-dir",
        ])
        .arg(&fresh)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let serving = std::io::BufRead::lines(stdout)
        .map_while(Result::ok)
        .any(|line| line.starts_with("ledger-node serving"));
    assert!(serving, "a missing directory gets a development ledger");
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("NOTICE") && stderr.contains("注意"),
        "{stderr}"
    );
    assert!(stderr.contains("mistyped"), "names the directory: {stderr}");
}

/// A frame of the log for `entry` (PROTOCOL.md §5.2), each its own group.
fn frame(entry: &ledger_core::entry::Entry) -> Vec<u8> {
    let encoded = entry.encode();
    let mut header = [0u8; 16];
    header[..4].copy_from_slice(&(encoded.len() as u32).to_be_bytes());
    header[4] = 1; // the end of its group
    let check = blake3::derive_key("sunshine-ledger v1 log frame", &header[..8]);
    header[8..].copy_from_slice(&check[..8]);
    [header.as_slice(), &encoded, &entry.hash()].concat()
}

/// The entries of a log file, read with the real scan's layout.
fn log_entries(log: &Path) -> Vec<ledger_core::entry::Entry> {
    let bytes = std::fs::read(log).unwrap();
    record_offsets(log)
        .iter()
        .map(|&at| {
            let at = at as usize;
            let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            ledger_core::entry::Entry::decode(&bytes[at + 16..at + 16 + len]).unwrap()
        })
        .collect()
}

/// Re-chains `entries` as a correct writer would and writes them as the log.
fn write_log(log: &Path, entries: Vec<ledger_core::entry::Entry>) {
    let mut prev = ledger_core::entry::GENESIS_PREV_HASH;
    let mut out = Vec::new();
    for (i, mut e) in entries.into_iter().enumerate() {
        e.sequence = i as u64;
        e.prev_hash = prev;
        prev = e.hash();
        out.extend(frame(&e));
    }
    std::fs::write(log, out).unwrap();
}

/// The signed checkpoint mark (`<data>/checkpoint`) vouches for what the sled index cannot:
/// with the index deleted, a log cut at a record boundary is still refused; a log rewritten and
/// re-chained below the mark (two receipts swapped) is refused; and an entry appended by someone
/// who can write the file but has no signing key (a valid frame and chain link, a forged
/// signature) is refused instead of being checkpointed by the node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signed_mark_catches_what_the_index_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let (size, offsets) = ledger_with_receipts(dir.path(), 4).await;
    assert!(dir.path().join("checkpoint").exists(), "the mark is kept");
    let log = dir.path().join("ledger.log");
    let original = std::fs::read(&log).unwrap();
    let index = dir.path().join("index");
    let index_copy = dir.path().join("index.copy");
    std::process::Command::new("cp")
        .args(["-a"])
        .arg(&index)
        .arg(&index_copy)
        .status()
        .unwrap();
    let restore = || {
        std::fs::write(&log, &original).unwrap();
        let _ = std::fs::remove_dir_all(&index);
        std::process::Command::new("cp")
            .args(["-a"])
            .arg(&index_copy)
            .arg(&index)
            .status()
            .unwrap();
    };
    // Cut at a record boundary, the index gone with it.
    std::fs::remove_dir_all(&index).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(offsets[size as usize - 2])
        .unwrap();
    let message = start_fails(dir.path());
    assert!(message.contains("acknowledged"), "{message}");
    restore();
    // Two receipts swapped and the chain made whole again: same count, another root.
    let mut entries = log_entries(&log);
    let n = entries.len();
    entries.swap(n - 1, n - 2);
    let (t1, t2) = (entries[n - 2].timestamp_ms, entries[n - 1].timestamp_ms);
    entries[n - 2].timestamp_ms = t1.min(t2);
    entries[n - 1].timestamp_ms = t1.max(t2);
    write_log(&log, entries);
    let message = start_fails(dir.path());
    assert!(message.contains("rewritten"), "{message}");
    restore();
    // An entry appended with a forged signature: the last receipt's envelope with one byte of
    // its signature changed, as a new entry.
    let mut entries = log_entries(&log);
    let mut forged = entries.last().unwrap().clone();
    let len = forged.envelope.len();
    forged.envelope[len - 1] ^= 1;
    entries.push(forged);
    write_log(&log, entries);
    let message = start_fails(dir.path());
    assert!(
        message.contains("BAD_SIGNATURE") || message.contains("signature"),
        "{message}"
    );
    restore();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    assert_eq!(
        checkpoint(&mut client).await.tree_size,
        size,
        "the honest log still serves"
    );
}

/// The genesis names the node's checkpoint key: a node started with another key (a copy of
/// the data directory with a key of its own) refuses to serve instead of signing checkpoints no
/// verifier would accept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_key_the_genesis_does_not_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    ledger_with_receipts(dir.path(), 1).await;
    std::fs::remove_file(dir.path().join("checkpoint")).unwrap();
    std::fs::remove_file(dir.path().join("node.key")).unwrap();
    ledger_keys::write_new(&dir.path().join("node.key"), &ledger_keys::generate()).unwrap();
    let message = start_fails(dir.path());
    assert!(message.contains("not the checkpoint key"), "{message}");
}
