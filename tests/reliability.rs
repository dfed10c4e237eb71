//! Faults at rest: torn and zero-filled log tails are cut back (and held nothing acknowledged);
//! a damaged whole entry, at the tail or in the middle, stops the node with a message naming it.

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

fn record_offsets(log: &Path) -> Vec<u64> {
    let bytes = std::fs::read(log).unwrap();
    let mut offsets = Vec::new();
    let mut at = 0usize;
    while at + 4 <= bytes.len() {
        offsets.push(at as u64);
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 4 + len + 32;
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
        bytes[offsets[damaged] as usize + 60] ^= 0x20;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_index_is_rebuilt_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (size, _) = ledger_with_receipts(dir.path(), 5).await;
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    assert_eq!(checkpoint(&mut client).await.tree_size, size);
    for e in read_log(&mut client).await {
        let env: proto::SignedEnvelope = prost::Message::decode(e.envelope.as_slice()).unwrap();
        let body: proto::TransactionBody = prost::Message::decode(env.body.as_slice()).unwrap();
        let by_id = client
            .get_entry(proto::GetEntryRequest {
                by: Some(proto::get_entry_request::By::TxId(body.tx_id)),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(by_id.sequence, e.sequence);
    }
}
