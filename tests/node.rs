//! ledger-node end to end: the real binary on a loopback port, driven over gRPC.

use std::time::Duration;

use ledger_core::build;
use ledger_core::checkpoint::SignedCheckpoint;
use ledger_core::merkle::{entry_leaf_hash, verify_consistency, verify_inclusion};
use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::state::{FundSource, Role};
use ledger_e2e::*;
use tokio_stream::StreamExt;
use tonic::Code;

fn proof_hashes(items: &[Vec<u8>]) -> Vec<[u8; 32]> {
    items
        .iter()
        .map(|h| h.as_slice().try_into().unwrap())
        .collect()
}

/// A receipt proves its entry's inclusion offline: checkpoint signature, entry hash, proof.
fn check_receipt(node: &Node, receipt: &proto::TxReceipt) {
    let signed = SignedCheckpoint::parse(&receipt.checkpoint).unwrap();
    signed
        .verify(&signed.checkpoint.origin, &node.node_public_key())
        .unwrap();
    let e = receipt.entry.as_ref().unwrap();
    let entry = ledger_core::entry::Entry {
        sequence: e.sequence,
        prev_hash: e.prev_hash.clone().try_into().unwrap(),
        timestamp_ms: e.timestamp_ms,
        envelope: e.envelope.clone(),
    };
    assert_eq!(entry.hash().to_vec(), receipt.entry_hash);
    verify_inclusion(
        &entry_leaf_hash(&entry),
        receipt.sequence,
        signed.checkpoint.tree_size,
        &proof_hashes(&receipt.inclusion_proof),
        &signed.checkpoint.root,
    )
    .expect("the receipt's inclusion proof verifies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_is_posted_and_each_receipt_proves_inclusion() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    let s = &c.signer;
    let tx = |r: &proto::TxReceipt| {
        r.entry
            .as_ref()
            .map(|e| {
                let env: proto::SignedEnvelope =
                    prost::Message::decode(e.envelope.as_slice()).unwrap();
                let body: proto::TransactionBody =
                    prost::Message::decode(env.body.as_slice()).unwrap();
                body.tx_id
            })
            .unwrap()
    };

    let mut receipts = Vec::new();
    let r = submit(&mut client, c.receipt(600_000)).await.unwrap();
    receipts.push(r.clone());
    let crowd = submit(
        &mut client,
        s.envelope(
            receipt_kind(FundSource::Crowdfunding, "pool:crowd", 1_000 * YUAN),
            &[&c.finance],
        ),
    )
    .await
    .unwrap();
    receipts.push(crowd.clone());
    let alloc = |yuan: u64| {
        Kind::FundsAllocated(proto::FundsAllocated {
            from_account: "pool:fiscal".into(),
            project_id: "elevator".into(),
            amounts: build::source_amounts(&[(FundSource::Fiscal, yuan * YUAN)]),
            memo: String::new(),
        })
    };
    receipts.push(
        submit(&mut client, s.envelope(alloc(500_000), &[&c.finance]))
            .await
            .unwrap(),
    );
    let propose = |yuan: u64| {
        Kind::DisbursementProposed(proto::DisbursementProposed {
            project_id: "elevator".into(),
            payee_account: "payee:builder".into(),
            amounts: build::source_amounts(&[(FundSource::Fiscal, yuan * YUAN)]),
            contract_hash: vec![1; 32],
            invoice_hash: vec![],
            memo: String::new(),
        })
    };
    let big = submit(&mut client, s.envelope(propose(200_000), &[&c.finance]))
        .await
        .unwrap();
    receipts.push(big.clone());
    for approver in [&c.approver1, &c.approver2] {
        receipts.push(
            submit(
                &mut client,
                s.envelope(
                    Kind::DisbursementApproved(proto::DisbursementApproved {
                        proposal_tx_id: tx(&big),
                    }),
                    &[approver],
                ),
            )
            .await
            .unwrap(),
        );
    }
    // The development ledger puts approved large disbursements on 7 days' public notice (公示).
    let execute_big = Kind::DisbursementExecuted(proto::DisbursementExecuted {
        proposal_tx_id: tx(&big),
    });
    expect_refused(
        &mut client,
        "execution during the notice",
        s.envelope(execute_big, &[&c.finance]),
        Code::FailedPrecondition,
        "IN_NOTICE",
    )
    .await;
    // A household objects; the office answers; the representatives uphold it: the money stays.
    let household = ed25519_dalek::SigningKey::from_bytes(&random_seed());
    receipts.push(
        submit(
            &mut client,
            s.envelope(
                Kind::KeyRegistered(proto::KeyRegistered {
                    key: Some(build::public_key(&household, Role::Resident, "3-1-101 户")),
                }),
                &[&c.approver1],
            ),
        )
        .await
        .unwrap(),
    );
    let objection = submit(
        &mut client,
        s.envelope(
            Kind::ObjectionFiled(proto::ObjectionFiled {
                proposal_tx_id: tx(&big),
                text: "报价偏高".into(),
                document_hash: vec![],
            }),
            &[&household],
        ),
    )
    .await
    .unwrap();
    receipts.push(objection.clone());
    for (kind, signers) in [
        (
            Kind::ObjectionAnswered(proto::ObjectionAnswered {
                objection_tx_id: tx(&objection),
                text: "已重新询价".into(),
                document_hashes: vec![vec![3; 32]],
            }),
            vec![&c.finance],
        ),
        (
            Kind::ObjectionResolved(proto::ObjectionResolved {
                objection_tx_id: tx(&objection),
                upheld: true,
                reason: "重新招标".into(),
            }),
            vec![&c.approver1, &c.approver2],
        ),
    ] {
        receipts.push(
            submit(&mut client, s.envelope(kind, &signers))
                .await
                .unwrap(),
        );
    }
    let rejected = submit(&mut client, s.envelope(propose(50_000), &[&c.finance]))
        .await
        .unwrap();
    receipts.push(
        submit(
            &mut client,
            s.envelope(
                Kind::DisbursementRejected(proto::DisbursementRejected {
                    proposal_tx_id: tx(&rejected),
                    reason: "太贵".into(),
                }),
                &[&c.approver1],
            ),
        )
        .await
        .unwrap(),
    );
    let small = submit(&mut client, s.envelope(propose(5_000), &[&c.finance]))
        .await
        .unwrap();
    receipts.push(
        submit(
            &mut client,
            s.envelope(
                Kind::DisbursementExecuted(proto::DisbursementExecuted {
                    proposal_tx_id: tx(&small),
                }),
                &[&c.finance],
            ),
        )
        .await
        .unwrap(),
    );
    let voided = submit(&mut client, s.envelope(propose(1_000), &[&c.finance]))
        .await
        .unwrap();
    receipts.push(
        submit(
            &mut client,
            s.envelope(
                Kind::DisbursementVoided(proto::DisbursementVoided {
                    proposal_tx_id: tx(&voided),
                    reason: String::new(),
                }),
                &[&c.finance],
            ),
        )
        .await
        .unwrap(),
    );
    receipts.push(
        submit(
            &mut client,
            s.envelope(
                Kind::EntryReversed(proto::EntryReversed {
                    target_tx_id: tx(&crowd),
                    reason: "录错".into(),
                }),
                &[&c.finance],
            ),
        )
        .await
        .unwrap(),
    );
    receipts.push(
        submit(
            &mut client,
            s.envelope(
                Kind::EntryAnnotated(proto::EntryAnnotated {
                    target_tx_id: tx(&big),
                    note: "已核对".into(),
                    document_hash: vec![],
                }),
                &[&c.auditor],
            ),
        )
        .await
        .unwrap(),
    );
    // 效果共评: completed, evaluated by the auditor and both representatives, accepted, closed.
    let project = |kind: &str| {
        let project_id = "elevator".to_string();
        match kind {
            "complete" => Kind::ProjectCompleted(proto::ProjectCompleted {
                project_id,
                memo: "竣工".into(),
                document_hash: vec![],
            }),
            "accept" => Kind::ProjectAccepted(proto::ProjectAccepted {
                project_id,
                memo: String::new(),
            }),
            _ => Kind::ProjectClosed(proto::ProjectClosed {
                project_id,
                memo: String::new(),
            }),
        }
    };
    let evaluate = |report: Vec<u8>| {
        Kind::ProjectEvaluated(proto::ProjectEvaluated {
            project_id: "elevator".into(),
            satisfied: true,
            comment: "合格".into(),
            report_hash: report,
        })
    };
    receipts.push(
        submit(&mut client, s.envelope(project("complete"), &[&c.finance]))
            .await
            .unwrap(),
    );
    for (kind, signers) in [
        (evaluate(vec![4; 32]), vec![&c.auditor]),
        (evaluate(vec![]), vec![&c.approver1, &c.approver2]),
        (project("accept"), vec![&c.finance]),
        (project("close"), vec![&c.finance]),
    ] {
        receipts.push(
            submit(&mut client, s.envelope(kind, &signers))
                .await
                .unwrap(),
        );
    }
    receipts.push(
        submit(
            &mut client,
            s.envelope(
                Kind::PolicyChanged(proto::PolicyChanged {
                    policy: Some(proto::Policy {
                        approval_threshold_fen: 5_000 * YUAN,
                        approver_quorum: 2,
                        admin_quorum: 1,
                        reserve_ratio_bp: 1_000,
                        approval_window_days: 30,
                        notice_days: 5,
                        objection_response_days: 10,
                    }),
                    reason: "居民代表大会决议".into(),
                }),
                &[&c.admin, &c.approver1, &c.approver2],
            ),
        )
        .await
        .unwrap(),
    );
    let auditor_id = ledger_core::signing::KeyId::of(&c.auditor.verifying_key());
    receipts.push(
        submit(
            &mut client,
            s.envelope(
                Kind::KeyRevoked(proto::KeyRevoked {
                    key_id: auditor_id.0.to_vec(),
                    reason: "合同到期".into(),
                }),
                &[&c.admin],
            ),
        )
        .await
        .unwrap(),
    );

    for r in &receipts {
        check_receipt(&node, r);
    }
    // The figures the node serves are the figures a fresh replay of its log gives.
    let replayed = verify_whole_log(&node, &mut client).await;
    let projects = client
        .list_projects(proto::ListProjectsRequest {})
        .await
        .unwrap()
        .into_inner();
    let fiscal = projects.projects[0]
        .figures
        .iter()
        .find(|f| f.source == FundSource::Fiscal.to_proto() as i32)
        .unwrap();
    assert_eq!(
        (
            fiscal.budget_fen,
            fiscal.allocated_fen,
            fiscal.spent_fen,
            fiscal.held_fen
        ),
        (600_000 * YUAN, 5_000 * YUAN, 5_000 * YUAN, 0)
    );
    // Closed: what was not spent went back to the fiscal pool.
    assert_eq!(fiscal.remaining_fen, 0);
    assert_eq!(projects.projects[0].stage, "closed");
    assert_eq!(projects.projects[0].evaluations.len(), 3);
    assert_eq!(projects.projects[0].returned[0].amount_fen, 495_000 * YUAN);
    assert_eq!(
        replayed.projects["elevator"].spent.get(FundSource::Fiscal),
        5_000 * YUAN
    );
    let balances = client
        .get_balances(proto::GetBalancesRequest { as_of_tree_size: 0 })
        .await
        .unwrap()
        .into_inner();
    let reserve = balances
        .accounts
        .iter()
        .find(|a| a.account_id == "reserve")
        .unwrap();
    assert_eq!(reserve.balance[0].amount_fen, 60_000 * YUAN);
    let keys = client
        .list_keys(proto::ListKeysRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(keys
        .keys
        .iter()
        .any(|k| k.key_id == auditor_id.0 && k.revoked));
    let disbursements = client
        .list_disbursements(proto::ListDisbursementsRequest {})
        .await
        .unwrap()
        .into_inner();
    let states: Vec<&str> = disbursements
        .disbursements
        .iter()
        .map(|d| d.state.as_str())
        .collect();
    assert_eq!(states, ["voided", "rejected", "executed", "voided"]);
    let objections = &disbursements.disbursements[0].objections;
    assert_eq!(objections.len(), 1);
    assert_eq!(
        (objections[0].state.as_str(), objections[0].text.as_str()),
        ("upheld", "报价偏高")
    );
    assert!(disbursements.disbursements[0].notice_ends_ms > 0);
    // Every kind the ledger knows was posted.
    let mut kinds = std::collections::BTreeSet::new();
    for r in &receipts {
        let entry = client
            .get_entry(proto::GetEntryRequest {
                by: Some(proto::get_entry_request::By::Sequence(r.sequence)),
            })
            .await
            .unwrap()
            .into_inner();
        let envelope = ledger_core::tx::Envelope::decode(&entry.envelope).unwrap();
        kinds.insert(
            ledger_core::tx::Transaction::decode(&envelope.body)
                .unwrap()
                .kind
                .name(),
        );
    }
    // Posted by the node's bootstrap and `Community::setup`, or in the rotation tests.
    let elsewhere = [
        "genesis",
        "account_opened",
        "project_created",
        "checkpoint_key_rotated",
    ];
    let missing: Vec<_> = ledger_core::tx::Kind::NAMES
        .iter()
        .filter(|k| !kinds.contains(**k) && !elsewhere.contains(k))
        .collect();
    assert!(missing.is_empty(), "kinds never posted here: {missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_rejection_has_its_status_code_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    submit(&mut client, c.receipt(1_000)).await.unwrap();
    let s = &c.signer;
    let stranger = ed25519_dalek::SigningKey::from_bytes(&random_seed());
    let used_id = random_tx_id();
    submit(
        &mut client,
        s.envelope_with(
            used_id,
            receipt_kind(FundSource::Fiscal, "pool:fiscal", 5),
            &[&c.finance],
        ),
    )
    .await
    .unwrap();

    let mut bad_sig = c.receipt(1);
    bad_sig.signatures[0].signature[0] ^= 1;
    let mut garbage = c.receipt(1);
    garbage.body = vec![0xFF; 40];
    let mut short_key_id = c.receipt(1);
    short_key_id.signatures[0].key_id.truncate(5);
    let wrong_ledger = build::envelope(
        build::body(
            "another.community/x",
            random_tx_id(),
            now_ms(),
            receipt_kind(FundSource::Fiscal, "pool:fiscal", 1),
        ),
        &[&c.finance],
    );
    let future = build::envelope(
        build::body(
            &s.ledger_id,
            random_tx_id(),
            now_ms() + 3_600_000,
            receipt_kind(FundSource::Fiscal, "pool:fiscal", 1),
        ),
        &[&c.finance],
    );
    let mut weak = build::public_key(&stranger, Role::Finance, "weak");
    weak.ed25519 = {
        let mut k = vec![0u8; 32];
        k[0] = 1;
        k
    };
    let cases: Vec<(&str, proto::SignedEnvelope, Code, &str)> = vec![
        ("garbage body", garbage, Code::InvalidArgument, "MALFORMED"),
        (
            "short key id",
            short_key_id,
            Code::InvalidArgument,
            "INVALID_FIELD",
        ),
        (
            "no signature",
            proto::SignedEnvelope {
                body: c.receipt(1).body,
                signatures: vec![],
            },
            Code::Unauthenticated,
            "NO_SIGNATURE",
        ),
        (
            "bad signature",
            bad_sig,
            Code::Unauthenticated,
            "BAD_SIGNATURE",
        ),
        (
            "unregistered key",
            s.envelope(
                receipt_kind(FundSource::Fiscal, "pool:fiscal", 1),
                &[&stranger],
            ),
            Code::PermissionDenied,
            "UNKNOWN_KEY",
        ),
        (
            "wrong role",
            s.envelope(
                receipt_kind(FundSource::Fiscal, "pool:fiscal", 1),
                &[&c.approver1],
            ),
            Code::PermissionDenied,
            "ROLE_NOT_ALLOWED",
        ),
        (
            "wrong ledger",
            wrong_ledger,
            Code::InvalidArgument,
            "WRONG_LEDGER",
        ),
        (
            "clock far ahead",
            future,
            Code::InvalidArgument,
            "TIMESTAMP_OUT_OF_RANGE",
        ),
        (
            "zero amount",
            s.envelope(
                receipt_kind(FundSource::Fiscal, "pool:fiscal", 0),
                &[&c.finance],
            ),
            Code::InvalidArgument,
            "INVALID_FIELD",
        ),
        (
            "weak key",
            s.envelope(
                Kind::KeyRegistered(proto::KeyRegistered { key: Some(weak) }),
                &[&c.admin],
            ),
            Code::InvalidArgument,
            "WEAK_KEY",
        ),
        (
            "unknown account",
            s.envelope(
                receipt_kind(FundSource::Fiscal, "pool:nowhere", 1),
                &[&c.finance],
            ),
            Code::FailedPrecondition,
            "UNKNOWN_ACCOUNT",
        ),
        (
            "overdraft",
            s.envelope(
                Kind::FundsAllocated(proto::FundsAllocated {
                    from_account: "pool:fiscal".into(),
                    project_id: "elevator".into(),
                    amounts: build::source_amounts(&[(FundSource::Fiscal, 2_000 * YUAN)]),
                    memo: String::new(),
                }),
                &[&c.finance],
            ),
            Code::FailedPrecondition,
            "INSUFFICIENT_FUNDS",
        ),
        (
            "over budget",
            s.envelope(
                Kind::FundsAllocated(proto::FundsAllocated {
                    from_account: "pool:crowd".into(),
                    project_id: "elevator".into(),
                    amounts: build::source_amounts(&[(FundSource::Crowdfunding, 100_001 * YUAN)]),
                    memo: String::new(),
                }),
                &[&c.finance],
            ),
            Code::FailedPrecondition,
            "OVER_BUDGET",
        ),
        (
            "reused id",
            s.envelope_with(
                used_id,
                receipt_kind(FundSource::Fiscal, "pool:fiscal", 6),
                &[&c.finance],
            ),
            Code::AlreadyExists,
            "TX_ID_CONFLICT",
        ),
    ];
    for (what, envelope, code, reason) in cases {
        expect_refused(&mut client, what, envelope, code, reason).await;
    }
    // A request with no envelope at all, and an empty batch, are malformed requests.
    let status = client
        .submit(proto::SubmitRequest { envelope: None })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = client
        .submit_batch(proto::SubmitBatchRequest { envelopes: vec![] })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resubmitted_transaction_gets_its_original_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    let envelope = c.receipt(10);
    let first = submit(&mut client, envelope.clone()).await.unwrap();
    submit(&mut client, c.receipt(20)).await.unwrap();
    let again = submit(&mut client, envelope).await.unwrap();
    assert!(!first.duplicate && again.duplicate);
    assert_eq!(
        (again.sequence, &again.entry_hash),
        (first.sequence, &first.entry_hash)
    );
    check_receipt(&node, &again);
    let cp = checkpoint(&mut client).await;
    assert_eq!(
        cp.tree_size,
        first.sequence + 2,
        "nothing was written twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_answers_every_item_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &["--max-batch", "50"]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    let mut envelopes = Vec::new();
    for i in 0..10u64 {
        if i == 4 {
            envelopes.push(c.signer.envelope(
                receipt_kind(FundSource::Fiscal, "pool:nowhere", 1),
                &[&c.finance],
            ));
        } else {
            envelopes.push(c.receipt(i + 1));
        }
    }
    // An item that registers a key, and a later item signed by that key, in one batch.
    let newcomer = ed25519_dalek::SigningKey::from_bytes(&random_seed());
    envelopes.push(
        c.signer
            .envelope(register(&newcomer, Role::Finance, "新会计"), &[&c.admin]),
    );
    envelopes.push(c.signer.envelope(
        receipt_kind(FundSource::Fiscal, "pool:fiscal", 77),
        &[&newcomer],
    ));
    let results = client
        .submit_batch(proto::SubmitBatchRequest { envelopes })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(results.len(), 12);
    let mut last = 0;
    for (i, r) in results.iter().enumerate() {
        match r.outcome.as_ref().unwrap() {
            proto::submit_result::Outcome::Receipt(receipt) => {
                assert_ne!(i, 4);
                assert!(receipt.sequence > last, "receipts in order");
                last = receipt.sequence;
                check_receipt(&node, receipt);
            }
            proto::submit_result::Outcome::Rejection(rej) => {
                assert_eq!(i, 4);
                assert_eq!(rej.reason, "UNKNOWN_ACCOUNT");
                assert_eq!(rej.code, Code::FailedPrecondition as i32);
            }
        }
    }
    let too_many: Vec<_> = (0..51).map(|_| c.receipt(1)).collect();
    let status = client
        .submit_batch(proto::SubmitBatchRequest {
            envelopes: too_many,
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
}

async fn collect_until(
    stream: &mut tonic::Streaming<proto::SubscribeEvent>,
    size: u64,
) -> (Vec<proto::Entry>, usize) {
    let mut entries = Vec::new();
    let mut checkpoints = 0;
    loop {
        let event = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("stream stalled")
            .expect("stream ended")
            .unwrap();
        match event.event.unwrap() {
            proto::subscribe_event::Event::Entry(e) => entries.push(e),
            proto::subscribe_event::Event::Checkpoint(_) => checkpoints += 1,
            proto::subscribe_event::Event::CaughtUp(c) => {
                if c.tree_size >= size {
                    return (entries, checkpoints);
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_see_exactly_the_log_while_writes_continue() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    let middle = checkpoint(&mut client).await.tree_size - 3;
    let mut from_start = client
        .subscribe(proto::SubscribeRequest {
            start: proto::subscribe_request::Start::FromBeginning as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut from_middle = client
        .subscribe(proto::SubscribeRequest {
            start: proto::subscribe_request::Start::FromSequence as i32,
            from_sequence: middle,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut receipts_only = client
        .subscribe(proto::SubscribeRequest {
            start: proto::subscribe_request::Start::FromBeginning as i32,
            kinds: vec!["funds_received".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    // Writers keep going while the subscribers catch up and follow.
    let mut writers = Vec::new();
    for w in 0..4 {
        let mut client = node.client().await;
        let c = Community {
            signer: c.signer.clone(),
            admin: c.admin.clone(),
            finance: c.finance.clone(),
            approver1: c.approver1.clone(),
            approver2: c.approver2.clone(),
            auditor: c.auditor.clone(),
        };
        writers.push(tokio::spawn(async move {
            for i in 0..50u64 {
                submit(&mut client, c.receipt(w * 1000 + i + 1))
                    .await
                    .unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let log = read_log(&mut client).await;
    let size = log.len() as u64;
    let (all, checkpoints) = collect_until(&mut from_start, size).await;
    assert_eq!(
        all, log,
        "from the start: exactly the log, in order, no gap, no duplicate"
    );
    assert!(checkpoints >= 1);
    let (tail, _) = collect_until(&mut from_middle, size).await;
    assert_eq!(tail, log[middle as usize..].to_vec(), "from the middle");
    let (receipts, _) = collect_until(&mut receipts_only, size).await;
    assert_eq!(receipts.len(), 200);
    assert!(receipts.windows(2).all(|w| w[0].sequence < w[1].sequence));
    let bad = client
        .subscribe(proto::SubscribeRequest {
            kinds: vec!["nonsense".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let beyond = client
        .subscribe(proto::SubscribeRequest {
            from_sequence: size + 10,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(beyond.code(), Code::OutOfRange);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_proofs_and_history_agree_with_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    let first = submit(&mut client, c.receipt(100)).await.unwrap();
    let old = checkpoint(&mut client).await;
    for i in 0..20 {
        submit(&mut client, c.receipt(i + 1)).await.unwrap();
    }
    let new = checkpoint(&mut client).await;
    let proof = client
        .get_consistency_proof(proto::GetConsistencyProofRequest {
            old_size: old.tree_size,
            new_size: 0,
        })
        .await
        .unwrap()
        .into_inner();
    verify_consistency(
        old.tree_size,
        new.tree_size,
        &old.root_hash.clone().try_into().unwrap(),
        &new.root_hash.clone().try_into().unwrap(),
        &proof_hashes(&proof.hashes),
    )
    .unwrap();
    let inclusion = client
        .get_inclusion_proof(proto::GetInclusionProofRequest {
            sequence: first.sequence,
            tree_size: 0,
        })
        .await
        .unwrap()
        .into_inner();
    verify_inclusion(
        &inclusion.leaf_hash.clone().try_into().unwrap(),
        first.sequence,
        new.tree_size,
        &proof_hashes(&inclusion.hashes),
        &new.root_hash.clone().try_into().unwrap(),
    )
    .unwrap();
    let by_seq = client
        .get_entry(proto::GetEntryRequest {
            by: Some(proto::get_entry_request::By::Sequence(first.sequence)),
        })
        .await
        .unwrap()
        .into_inner();
    let tx_id = {
        let env: proto::SignedEnvelope =
            prost::Message::decode(by_seq.envelope.as_slice()).unwrap();
        let b: proto::TransactionBody = prost::Message::decode(env.body.as_slice()).unwrap();
        b.tx_id
    };
    let by_id = client
        .get_entry(proto::GetEntryRequest {
            by: Some(proto::get_entry_request::By::TxId(tx_id)),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_seq, by_id);
    assert_eq!(
        client
            .get_entry(proto::GetEntryRequest {
                by: Some(proto::get_entry_request::By::Sequence(new.tree_size))
            })
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(
        client
            .get_inclusion_proof(proto::GetInclusionProofRequest {
                sequence: 0,
                tree_size: new.tree_size + 1
            })
            .await
            .unwrap_err()
            .code(),
        Code::OutOfRange
    );
    // Balances as of the old checkpoint: only the first receipt's 100 yuan (less the reserve).
    let then = client
        .get_balances(proto::GetBalancesRequest {
            as_of_tree_size: old.tree_size,
        })
        .await
        .unwrap()
        .into_inner();
    let pool = then
        .accounts
        .iter()
        .find(|a| a.account_id == "pool:fiscal")
        .unwrap();
    assert_eq!(pool.balance[0].amount_fen, 90 * YUAN);
    let now = client
        .get_balances(proto::GetBalancesRequest {
            as_of_tree_size: new.tree_size,
        })
        .await
        .unwrap()
        .into_inner();
    let current = client
        .get_balances(proto::GetBalancesRequest { as_of_tree_size: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(now, current);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_restart_and_export_keep_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    for i in 0..10 {
        submit(&mut client, c.receipt(i + 1)).await.unwrap();
    }
    let before = checkpoint(&mut client).await;
    let exported = export(&mut client).await;
    // A subscriber that is following live must not hold the shutdown up: its stream ends with
    // UNAVAILABLE saying where to resume.
    let mut live = client
        .subscribe(proto::SubscribeRequest {
            start: proto::subscribe_request::Start::OnlyNew as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    while !matches!(
        live.message().await.unwrap().unwrap().event,
        Some(proto::subscribe_event::Event::CaughtUp(_))
    ) {}
    drop(client);
    let stopping = std::time::Instant::now();
    assert!(node.terminate(), "SIGTERM ends the node cleanly");
    assert!(
        stopping.elapsed() < std::time::Duration::from_secs(10),
        "shutdown took {:?} with a subscriber open",
        stopping.elapsed()
    );
    let ended = live.message().await.unwrap_err();
    assert_eq!(ended.code(), tonic::Code::Unavailable);
    assert!(
        ended
            .message()
            .contains(&format!("resubscribe from sequence {}", before.tree_size)),
        "{}",
        ended.message()
    );
    // Offline export of the stopped node gives the same entries.
    let file = dir.path().join("offline.snapshot");
    let status = std::process::Command::new(binary("ledger-node"))
        .args(["export"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let offline = std::fs::read(&file).unwrap();
    let mut a = ledger_core::snapshot::SnapshotReader::open(exported.as_slice()).unwrap();
    let mut b = ledger_core::snapshot::SnapshotReader::open(offline.as_slice()).unwrap();
    assert_eq!(a.header(), b.header());
    assert_eq!(a.header().entry_count, before.tree_size);
    while let Some(e) = a.next_entry().unwrap() {
        assert_eq!(Some(e), b.next_entry().unwrap());
    }
    assert_eq!(
        a.finish().unwrap().checkpoint.root,
        b.finish().unwrap().checkpoint.root
    );
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    let after = checkpoint(&mut client).await;
    assert_eq!(
        (after.tree_size, &after.root_hash),
        (before.tree_size, &before.root_hash)
    );
    verify_whole_log(&node, &mut client).await;
}

/// Server reflection answers in both versions clients speak (v1: grpcurl; v1alpha: Python's
/// grpcio-reflection, Postman, evans), listing the ledger's service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_answers_in_v1_and_v1alpha() {
    use tonic_reflection::pb::{v1, v1alpha};
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]);
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", node.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel.clone());
    let request = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.next().await.unwrap().unwrap();
    let Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        answer.message_response
    else {
        panic!("v1: {answer:?}")
    };
    assert!(list.service.iter().any(|s| s.name == "ledger.v1.Ledger"));

    let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
    let request = v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
        ),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let answer = answers.next().await.unwrap().unwrap();
    let Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(list)) =
        answer.message_response
    else {
        panic!("v1alpha: {answer:?}")
    };
    assert!(list.service.iter().any(|s| s.name == "ledger.v1.Ledger"));
}
