//! Storage errors: the log's file system fills up. Writes fail with UNAVAILABLE and a clear
//! message, reads keep working, nothing acknowledged is lost, and writes work again once space
//! is freed. The log lives on a small tmpfs (mounting needs root, which CI machines have).

use std::process::Command;

use ledger_core::proto;
use ledger_e2e::*;
use tonic::Code;

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_keeps_reads_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&small)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        mounted,
        "this test mounts a 256 KiB tmpfs for the log and needs root (CI runs as root)"
    );
    let _mount = Mount(small.clone());
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::os::unix::fs::symlink(small.join("ledger.log"), data.join("ledger.log")).unwrap();

    let node = Node::start(&data, &[]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    let mut acked = 0u64;
    let (failure, failed) = loop {
        let envelope = c.receipt(1);
        match submit(&mut client, envelope.clone()).await {
            Ok(_) => acked += 1,
            Err(status) => break (status, envelope),
        }
        assert!(acked < 100_000, "the small file system never filled");
    };
    assert_eq!(failure.code(), Code::Unavailable, "{}", failure.message());
    assert_eq!(
        metric(&node, "ledger_storage_ok"),
        0,
        "monitoring sees the failing disk"
    );
    assert!(metric(&node, "ledger_storage_errors_total") >= 1);
    assert!(
        failure.message().contains("storage"),
        "{}",
        failure.message()
    );
    // Reads keep working and show exactly what was acknowledged.
    let cp = checkpoint(&mut client).await;
    let balances = client
        .get_balances(proto::GetBalancesRequest { as_of_tree_size: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(balances.received[0].amount_fen, acked * YUAN);
    let again = submit(&mut client, c.receipt(1)).await.unwrap_err();
    assert_eq!(again.code(), Code::Unavailable);
    assert_eq!(
        checkpoint(&mut client).await.tree_size,
        cp.tree_size,
        "a failed write changes nothing"
    );
    // The operator frees space: writes work again, and the whole ledger still verifies.
    assert!(Command::new("mount")
        .args(["-o", "remount,size=16m"])
        .arg(&small)
        .status()
        .unwrap()
        .success());
    submit(&mut client, c.receipt(1))
        .await
        .expect("writes work again once there is space");
    assert_eq!(metric(&node, "ledger_storage_ok"), 1);
    // UNAVAILABLE means "not acknowledged: submit the same bytes again". On the embedded store
    // the refused transaction was not written; on PostgreSQL the database may have committed
    // it before the node's copy failed. Either way the retry leaves it in the ledger once.
    let retried = submit(&mut client, failed)
        .await
        .expect("the refused transaction, submitted again");
    let state = verify_whole_log(&node, &mut client).await;
    assert_eq!(
        state.received.get(ledger_core::state::FundSource::Fiscal),
        (acked + 2) * YUAN
    );
    if !test_store_is_postgres() {
        assert!(
            !retried.duplicate,
            "the embedded store wrote nothing of a refused group"
        );
    }
}
