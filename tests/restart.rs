//! A start replays only the log's tail after the fold the node saved (at a clean stop, and
//! every `fold_file::SAVE_EVERY` entries), so restart time does not grow with history; after
//! kill -9 it replays what came after the last save; a damaged saved fold means a full replay;
//! every answer is the same either way.

use ledger_core::proto;
use ledger_e2e::*;

async fn balances(node: &Node) -> proto::Balances {
    node.client()
        .await
        .get_balances(proto::GetBalancesRequest { as_of_tree_size: 0 })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_replays_only_the_tail_after_the_saved_fold() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut node = Node::start(&data, &[]);
    let mut client = node.client().await;
    let community = Community::setup(&node, &mut client).await;
    for i in 0..300u64 {
        submit(&mut client, community.receipt(1 + i)).await.unwrap();
    }
    let size = checkpoint(&mut client).await.tree_size;
    let before = balances(&node).await;
    assert!(node.terminate(), "a clean stop");

    // Clean stop: the fold was saved at the end; nothing is replayed.
    let mut node = Node::start(&data, &[]);
    assert_eq!(metric(&node, "ledger_start_replayed_entries"), 0);
    assert_eq!(balances(&node).await, before);
    let mut client = node.client().await;
    for i in 0..40u64 {
        submit(&mut client, community.receipt(1000 + i))
            .await
            .unwrap();
    }
    let after = balances(&node).await;
    node.kill9();

    // kill -9: the 40 acknowledged entries after the save are replayed, and only they.
    let mut node = Node::start(&data, &[]);
    assert_eq!(metric(&node, "ledger_start_replayed_entries"), 40);
    assert_eq!(balances(&node).await, after);
    assert_eq!(
        checkpoint(&mut node.client().await).await.tree_size,
        size + 40
    );
    assert!(node.terminate());

    // A damaged saved fold is not used: the whole log is replayed, to the same answers.
    let fold = data.join("fold");
    let mut bytes = std::fs::read(&fold).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x40;
    std::fs::write(&fold, bytes).unwrap();
    let node = Node::start(&data, &[]);
    assert_eq!(metric(&node, "ledger_start_replayed_entries"), size + 40);
    assert_eq!(balances(&node).await, after);
    let mut client = node.client().await;
    verify_whole_log(&node, &mut client).await;
}
