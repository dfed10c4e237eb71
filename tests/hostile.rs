//! Hostile input over gRPC: each kind gets its specific status code and reason, and the store is
//! unchanged (same checkpoint, same entry count, same balances). Limits give RESOURCE_EXHAUSTED
//! to the client that exceeds them and leave others unaffected.

use ed25519_dalek::SigningKey;
use ledger_core::build;
use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::state::{FundSource, Role};
use ledger_e2e::*;
use prost::Message;
use tonic::Code;

fn tx_id_of(receipt: &proto::TxReceipt) -> Vec<u8> {
    let env =
        proto::SignedEnvelope::decode(receipt.entry.as_ref().unwrap().envelope.as_slice()).unwrap();
    proto::TransactionBody::decode(env.body.as_slice())
        .unwrap()
        .tx_id
}

/// s + L: the same scalar, not canonical.
fn non_canonical(mut env: proto::SignedEnvelope) -> proto::SignedEnvelope {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let sig = &mut env.signatures[0].signature;
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = sig[32 + i] as u16 + L[i] as u16 + carry;
        sig[32 + i] = sum as u8;
        carry = sum >> 8;
    }
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_transactions_get_their_status_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        dir.path(),
        &["--max-batch", "20", "--max-message-bytes", "262144"],
    );
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    let s = &c.signer;
    submit(&mut client, c.receipt(100_000)).await.unwrap();
    // A revoked key, a pending and an executed disbursement to misuse.
    let leaver = SigningKey::from_bytes(&random_seed());
    submit(
        &mut client,
        s.envelope(register(&leaver, Role::Finance, "leaver"), &[&c.admin]),
    )
    .await
    .unwrap();
    let leaver_id = ledger_core::signing::KeyId::of(&leaver.verifying_key());
    submit(
        &mut client,
        s.envelope(
            Kind::KeyRevoked(proto::KeyRevoked {
                key_id: leaver_id.0.to_vec(),
                reason: String::new(),
            }),
            &[&c.admin],
        ),
    )
    .await
    .unwrap();
    submit(
        &mut client,
        s.envelope(
            Kind::FundsAllocated(proto::FundsAllocated {
                from_account: "pool:fiscal".into(),
                project_id: "elevator".into(),
                amounts: build::source_amounts(&[(FundSource::Fiscal, 50_000 * YUAN)]),
                memo: String::new(),
            }),
            &[&c.finance],
        ),
    )
    .await
    .unwrap();
    let propose = |yuan: u64| {
        Kind::DisbursementProposed(proto::DisbursementProposed {
            project_id: "elevator".into(),
            payee_account: "payee:builder".into(),
            amounts: build::source_amounts(&[(FundSource::Fiscal, yuan * YUAN)]),
            contract_hash: vec![2; 32],
            invoice_hash: vec![],
            memo: String::new(),
        })
    };
    let pending = submit(
        &mut client,
        s.envelope(propose(20_000), &[&c.finance, &c.approver1]),
    )
    .await
    .unwrap();
    let executed = submit(&mut client, s.envelope(propose(1_000), &[&c.finance]))
        .await
        .unwrap();
    submit(
        &mut client,
        s.envelope(
            Kind::DisbursementExecuted(proto::DisbursementExecuted {
                proposal_tx_id: tx_id_of(&executed),
            }),
            &[&c.finance],
        ),
    )
    .await
    .unwrap();
    let replayed = c.receipt(3);
    submit(&mut client, replayed.clone()).await.unwrap();

    let small_order = {
        let mut k = build::public_key(&leaver, Role::Approver, "weak");
        k.ed25519 = hex::decode("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
            .unwrap();
        k
    };
    let long_memo = Kind::FundsReceived(proto::FundsReceived {
        source: 1,
        to_account: "pool:fiscal".into(),
        amount_fen: 1,
        memo: "很".repeat(1000),
        ..Default::default()
    });
    let too_many_sources = Kind::ProjectCreated(proto::ProjectCreated {
        project_id: "p2".into(),
        name: "x".into(),
        description: String::new(),
        budget: (1..=8)
            .map(|i| proto::SourceAmount {
                source: (i % 7) + 1,
                amount_fen: 1,
            })
            .collect(),
    });
    let overflow = Kind::FundsReceived(proto::FundsReceived {
        source: 1,
        to_account: "pool:fiscal".into(),
        amount_fen: u64::MAX,
        ..Default::default()
    });
    let wrong_key_sig = {
        let mut env = c.receipt(1);
        env.signatures[0].signature = build::signature(&env.body, &c.approver2).signature;
        env
    };
    let huge_body = {
        let body = vec![0x0A; 20_000];
        build::envelope(body, &[&c.finance])
    };
    let unknown_enum = {
        let mut body = proto::TransactionBody::decode(
            c.signer
                .envelope(
                    receipt_kind(FundSource::Fiscal, "pool:fiscal", 1),
                    &[&c.finance],
                )
                .body
                .as_slice(),
        )
        .unwrap();
        if let Some(Kind::FundsReceived(r)) = body.kind.as_mut() {
            r.source = 42;
        }
        build::envelope(body.encode_to_vec(), &[&c.finance])
    };
    let cases: Vec<(&str, proto::SignedEnvelope, Code, &str)> = vec![
        (
            "oversized body",
            huge_body,
            Code::InvalidArgument,
            "TOO_LARGE",
        ),
        (
            "unknown enum value",
            unknown_enum,
            Code::InvalidArgument,
            "INVALID_FIELD",
        ),
        (
            "over-long string",
            s.envelope(long_memo, &[&c.finance]),
            Code::InvalidArgument,
            "INVALID_FIELD",
        ),
        (
            "over-long list",
            s.envelope(too_many_sources, &[&c.admin]),
            Code::InvalidArgument,
            "INVALID_FIELD",
        ),
        (
            "amount over the ledger's bound (MAX_AMOUNT_FEN)",
            s.envelope(overflow, &[&c.finance]),
            Code::InvalidArgument,
            "INVALID_FIELD",
        ),
        (
            "signature by the wrong key",
            wrong_key_sig,
            Code::Unauthenticated,
            "BAD_SIGNATURE",
        ),
        (
            "non-canonical signature",
            non_canonical(c.receipt(1)),
            Code::Unauthenticated,
            "BAD_SIGNATURE",
        ),
        (
            "small-order key",
            s.envelope(
                Kind::KeyRegistered(proto::KeyRegistered {
                    key: Some(small_order),
                }),
                &[&c.admin],
            ),
            Code::InvalidArgument,
            "WEAK_KEY",
        ),
        (
            "revoked key",
            s.envelope(
                receipt_kind(FundSource::Fiscal, "pool:fiscal", 1),
                &[&leaver],
            ),
            Code::PermissionDenied,
            "KEY_REVOKED",
        ),
        (
            "approval of one's own proposal",
            s.envelope(
                Kind::DisbursementApproved(proto::DisbursementApproved {
                    proposal_tx_id: tx_id_of(&pending),
                }),
                &[&c.approver1],
            ),
            Code::PermissionDenied,
            "SELF_APPROVAL",
        ),
        (
            "approval after execution",
            s.envelope(
                Kind::DisbursementApproved(proto::DisbursementApproved {
                    proposal_tx_id: tx_id_of(&executed),
                }),
                &[&c.approver2],
            ),
            Code::FailedPrecondition,
            "NOT_PENDING",
        ),
    ];
    for (what, envelope, code, reason) in cases {
        expect_refused(&mut client, what, envelope, code, reason).await;
    }
    // A replayed envelope is not a second transaction: the original receipt, nothing written.
    let before = checkpoint(&mut client).await;
    let again = submit(&mut client, replayed).await.unwrap();
    assert!(again.duplicate);
    assert_eq!(checkpoint(&mut client).await.tree_size, before.tree_size);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_give_resource_exhausted_to_the_offender_only() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        dir.path(),
        &[
            "--max-batch",
            "20",
            "--max-message-bytes",
            "262144",
            "--max-subscribers",
            "3",
        ],
    );
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    // Too many transactions in one batch.
    let status = client
        .submit_batch(proto::SubmitBatchRequest {
            envelopes: (0..21).map(|i| c.receipt(i + 1)).collect(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::ResourceExhausted,
        "{}",
        status.message()
    );
    // A message over the size limit.
    let big: Vec<_> = (0..20)
        .map(|_| build::envelope(vec![0x0A; 15_000], &[&c.finance]))
        .collect();
    let status = client
        .submit_batch(proto::SubmitBatchRequest { envelopes: big })
        .await
        .unwrap_err();
    assert_eq!(
        status.code(),
        Code::ResourceExhausted,
        "{}",
        status.message()
    );
    // Subscribers beyond the limit.
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(
            client
                .subscribe(proto::SubscribeRequest::default())
                .await
                .unwrap()
                .into_inner(),
        );
    }
    let status = client
        .subscribe(proto::SubscribeRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    // Everyone else is unaffected.
    submit(&mut client, c.receipt(1)).await.unwrap();
    drop(streams);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    client
        .subscribe(proto::SubscribeRequest::default())
        .await
        .expect("a slot is free again once a subscriber leaves");
}
