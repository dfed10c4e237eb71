//! kill -9 under load: every acknowledged transaction survives, exactly once, and the ledger
//! the node serves after a restart equals a fresh replay of its log. The long version (50+
//! cycles) is the reliability suite's; this one runs a few cycles in every CI run.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ledger_core::proto;
use ledger_core::state::FundSource;
use ledger_e2e::*;

/// Kill cycles: 4 in every CI run; `CRASH_CYCLES=50` for the long version (RELIABILITY.md).
fn cycles() -> usize {
    std::env::var("CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_load_loses_no_acknowledged_transaction() {
    let dir = tempfile::tempdir().unwrap();
    // The fold is saved every 50 entries, so restarts resume from a save made mid-load and
    // replay only the tail after it: the balances below must still equal a fresh replay.
    let args = ["--fold-every", "50"];
    let mut node = Node::start(dir.path(), &args);
    let mut client = node.client().await;
    let c = Arc::new(Community::setup(&node, &mut client).await);
    let acknowledged: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();

    for cycle in 0..cycles() {
        let mut writers = Vec::new();
        for w in 0..8u64 {
            let mut client = node.client().await;
            let (c, acknowledged) = (c.clone(), acknowledged.clone());
            writers.push(tokio::spawn(async move {
                for i in 0.. {
                    let tx_id = random_tx_id();
                    let env = c.signer.envelope_with(
                        tx_id,
                        receipt_kind(
                            FundSource::Fiscal,
                            "pool:fiscal",
                            (w * 10_000 + i + 1) * YUAN,
                        ),
                        &[&c.finance],
                    );
                    match submit(&mut client, env).await {
                        Ok(_) => acknowledged.lock().unwrap().push(tx_id.to_vec()),
                        Err(_) => return, // the node died under us
                    }
                }
            }));
        }
        let pause = 150 + (random_seed()[0] as u64 * 3);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        node.kill9();
        for w in writers {
            let _ = w.await;
        }
        node = Node::start(dir.path(), &args);
        let resumed = metric(&node, "ledger_start_replayed_entries");
        let mut client = node.client().await;
        let replayed = verify_whole_log(&node, &mut client).await;
        assert!(
            resumed < replayed.next_sequence,
            "cycle {cycle}: the start resumed from a saved fold (replayed {resumed} of {})",
            replayed.next_sequence
        );
        // Every acknowledged transaction is there, exactly once.
        let log = read_log(&mut client).await;
        let mut seen = HashSet::new();
        for e in &log {
            let env: proto::SignedEnvelope = prost::Message::decode(e.envelope.as_slice()).unwrap();
            let body: proto::TransactionBody = prost::Message::decode(env.body.as_slice()).unwrap();
            assert!(seen.insert(body.tx_id), "a transaction appears twice");
        }
        let acked = acknowledged.lock().unwrap().clone();
        assert!(
            !acked.is_empty(),
            "cycle {cycle}: the load acknowledged something"
        );
        for (i, id) in acked.iter().enumerate() {
            assert!(
                seen.contains(id),
                "cycle {cycle}: acknowledged transaction {} lost",
                hex::encode(id)
            );
            if i % 10 != 0 && i + 1 != acked.len() {
                continue;
            }
            // The index was repaired from the log: lookups by id work (a sample, and the last).
            client
                .get_entry(proto::GetEntryRequest {
                    by: Some(proto::get_entry_request::By::TxId(id.clone())),
                })
                .await
                .unwrap();
        }
        // The balances served equal a fresh replay of the log.
        let served = client
            .get_balances(proto::GetBalancesRequest { as_of_tree_size: 0 })
            .await
            .unwrap()
            .into_inner();
        let pool = served
            .accounts
            .iter()
            .find(|a| a.account_id == "pool:fiscal")
            .unwrap();
        assert_eq!(
            pool.balance[0].amount_fen,
            replayed.accounts["pool:fiscal"]
                .balance
                .get(FundSource::Fiscal)
        );
        assert_eq!(
            served.received[0].amount_fen,
            replayed.received.get(FundSource::Fiscal)
        );
    }
}

/// The transaction ids in a snapshot, in log order (the snapshot verified first).
fn tx_ids_of(snapshot: &[u8], fingerprint: &str) -> Vec<Vec<u8>> {
    let trust = ledger_verifier::trust::Trust::Ledger(fingerprint.to_string());
    let mut ids = Vec::new();
    let outcome = ledger_verifier::check::verify_snapshot(
        snapshot,
        &trust,
        &[],
        1,
        |v| ids.push(v.prepared.tx.tx_id.0.to_vec()),
        |_, _| {},
    );
    if let Some(f) = outcome.failure {
        panic!(
            "the snapshot of {fingerprint} does not verify: {}",
            f.message
        );
    }
    ids
}

/// kill -9 while eight writers load three ledgers of one node (its own and two added): after
/// each restart, every ledger holds each of its acknowledged transactions exactly once, and
/// each ledger's snapshot verifies against its own fingerprint (chain, signatures, rules,
/// checkpoint).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_over_several_ledgers_loses_nothing_in_any() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = ["--fold-every", "50"];
    let mut node = Node::start(&data, &args);
    let mut own = node.client().await;
    let c = Arc::new(Community::setup(&node, &mut own).await);
    let own_fingerprint = ledger_fingerprint_of(&export(&mut own).await, &data);
    let added: Vec<Arc<AddedLedger>> = ["a.example/fund", "b.example/fund"]
        .iter()
        .map(|id| Arc::new(add_ledger(&data, id, "社区")))
        .collect();
    for l in &added {
        l.fund_pool(&mut node.client_for(&l.ledger_id).await).await;
    }
    // Acknowledged transaction ids per ledger: the node's own first, then the added ones.
    let acknowledged: Arc<Vec<Mutex<Vec<Vec<u8>>>>> =
        Arc::new((0..3).map(|_| Mutex::default()).collect());

    for cycle in 0..cycles().min(4) {
        let mut writers = Vec::new();
        for w in 0..8u64 {
            let which = (w % 3) as usize;
            let acknowledged = acknowledged.clone();
            let (c, added) = (c.clone(), added.clone());
            let mut own = node.client().await;
            let mut other = match which {
                0 => None,
                n => Some(node.client_for(&added[n - 1].ledger_id).await),
            };
            writers.push(tokio::spawn(async move {
                for i in 0.. {
                    let tx_id = random_tx_id();
                    let yuan = w * 10_000 + i + 1;
                    let sent = match &mut other {
                        None => {
                            let kind = receipt_kind(FundSource::Fiscal, "pool:fiscal", yuan * YUAN);
                            submit(&mut own, c.signer.envelope_with(tx_id, kind, &[&c.finance]))
                                .await
                        }
                        Some(client) => {
                            submit_to(client, added[which - 1].receipt(tx_id, yuan)).await
                        }
                    };
                    match sent {
                        Ok(_) => acknowledged[which].lock().unwrap().push(tx_id.to_vec()),
                        Err(_) => return, // the node died under us
                    }
                }
            }));
        }
        let pause = 200 + (random_seed()[0] as u64 * 3);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        node.kill9();
        for w in writers {
            let _ = w.await;
        }
        node = Node::start(&data, &args);
        let mut snapshots = vec![(
            export(&mut node.client().await).await,
            own_fingerprint.clone(),
        )];
        for l in &added {
            let snapshot = export_of(&mut node.client_for(&l.ledger_id).await).await;
            snapshots.push((snapshot, l.fingerprint.clone()));
        }
        for (which, (snapshot, fingerprint)) in snapshots.iter().enumerate() {
            let ids = tx_ids_of(snapshot, fingerprint);
            let seen: HashSet<&Vec<u8>> = ids.iter().collect();
            assert_eq!(
                seen.len(),
                ids.len(),
                "cycle {cycle}: a transaction appears twice"
            );
            let acked = acknowledged[which].lock().unwrap().clone();
            assert!(
                !acked.is_empty(),
                "cycle {cycle}: ledger {which} acknowledged something"
            );
            for id in &acked {
                assert!(
                    seen.contains(id),
                    "cycle {cycle}: ledger {which} lost acknowledged transaction {}",
                    hex::encode(id)
                );
            }
        }
    }
}
