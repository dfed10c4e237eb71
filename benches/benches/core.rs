//! Micro-benchmarks of the pure core: what every transaction costs before any I/O.
//! Run: `cargo bench -p ledger-bench --bench core`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ed25519_dalek::SigningKey;
use ledger_core::build;
use ledger_core::entry::Entry;
use ledger_core::merkle::{self, CompactTree, PerfectSubtrees};
use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::rules::{self, EntryContext};
use ledger_core::signing::{sign_body, verify_body};
use ledger_core::state::{FundSource, Role, State};
use ledger_core::Hash;
use prost::Message;

fn receipt_body(i: u64) -> Vec<u8> {
    let kind = Kind::FundsReceived(proto::FundsReceived {
        source: FundSource::Fiscal.to_proto() as i32,
        to_account: "pool:fiscal".into(),
        amount_fen: 100 + i,
        memo: "区财政专项资金".into(),
        ..Default::default()
    });
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&i.to_be_bytes());
    build::body("bench.example/ledger", id, 1_700_000_000_000, kind)
}

/// Perfect-subtree hashes in memory, level by level, as the node keeps them in sled.
struct Levels(Vec<Vec<Hash>>);

impl PerfectSubtrees for Levels {
    type Error = std::convert::Infallible;
    fn perfect(&self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        Ok(self.0[level as usize][index as usize])
    }
}

fn tree_of(n: u64) -> (Levels, CompactTree) {
    let mut levels: Vec<Vec<Hash>> = vec![Vec::new(); 64];
    let mut tree = CompactTree::new();
    for i in 0..n {
        tree.append(merkle::leaf_hash(&i.to_be_bytes()), |level, _, h| {
            levels[level as usize].push(*h)
        });
    }
    (Levels(levels), tree)
}

fn crypto(c: &mut Criterion) {
    let key = SigningKey::from_bytes(&[7; 32]);
    let body = receipt_body(1);
    let sig = sign_body(&key, &body);
    let vk = key.verifying_key();
    let mut g = c.benchmark_group("crypto");
    g.throughput(Throughput::Elements(1));
    g.bench_function("pae_and_sign", |b| {
        b.iter(|| sign_body(&key, black_box(&body)))
    });
    g.bench_function("verify_strict", |b| {
        b.iter(|| assert!(verify_body(&vk, black_box(&body), &sig)))
    });
    let entry = Entry {
        sequence: 42,
        prev_hash: [1; 32],
        timestamp_ms: 1,
        envelope: build::envelope(body.clone(), &[&key]).encode_to_vec(),
    };
    g.bench_function("entry_hash", |b| b.iter(|| black_box(&entry).hash()));
    g.finish();
}

fn decoding_and_rules(c: &mut Criterion) {
    let admin = SigningKey::from_bytes(&[1; 32]);
    let finance = SigningKey::from_bytes(&[2; 32]);
    let ledger = "bench.example/ledger";
    let mut state = State::new();
    let mut seq = 0u64;
    let mut push = |state: &mut State, kind: Kind, key: &SigningKey| {
        let mut id = [0xFFu8; 16];
        id[..8].copy_from_slice(&seq.to_be_bytes());
        let env = build::envelope(build::body(ledger, id, 1_700_000_000_000, kind), &[key])
            .encode_to_vec();
        rules::apply_entry(
            state,
            &Entry {
                sequence: seq,
                prev_hash: [0; 32],
                timestamp_ms: 1_700_000_000_000,
                envelope: env,
            },
        )
        .unwrap();
        seq += 1;
    };
    push(
        &mut state,
        Kind::Genesis(proto::Genesis {
            ledger_name: "bench".into(),
            currency: "CNY".into(),
            admin_keys: vec![build::public_key(&admin, Role::Admin, "a")],
            policy: Some(proto::Policy {
                approval_threshold_fen: 1,
                approver_quorum: 1,
                admin_quorum: 1,
                reserve_ratio_bp: 1000,
                approval_window_days: 30,
                notice_days: 0,
                objection_response_days: 0,
            }),
            checkpoint_key: admin.verifying_key().to_bytes().to_vec(),
            witnesses: vec![],
            witness_quorum: 0,
        }),
        &admin,
    );
    push(
        &mut state,
        Kind::KeyRegistered(proto::KeyRegistered {
            key: Some(build::public_key(&finance, Role::Finance, "f")),
        }),
        &admin,
    );
    push(
        &mut state,
        Kind::AccountOpened(proto::AccountOpened {
            account_id: "pool:fiscal".into(),
            kind: proto::AccountKind::FundPool as i32,
            source: 1,
            name: "p".into(),
        }),
        &admin,
    );
    let envelope = build::envelope(receipt_body(1), &[&finance]).encode_to_vec();
    let mut g = c.benchmark_group("core");
    g.throughput(Throughput::Elements(1));
    g.bench_function("envelope_decode_and_validate", |b| {
        b.iter(|| rules::prepare(black_box(&envelope)).unwrap())
    });
    let prepared = rules::prepare(&envelope).unwrap();
    let signers: Vec<_> = prepared
        .envelope
        .signatures
        .iter()
        .map(|(k, _)| *k)
        .collect();
    let ctx = EntryContext {
        sequence: seq,
        timestamp_ms: 1_700_000_000_000,
    };
    g.bench_function("rules_apply_receipt", |b| {
        b.iter(|| {
            rules::apply(
                black_box(&state),
                &ctx,
                &prepared.tx,
                &prepared.body_hash,
                &signers,
            )
            .unwrap()
        })
    });
    g.bench_function("rules_apply_and_commit_receipt", |b| {
        b.iter_batched(
            || state.clone(),
            |mut s| {
                let e =
                    rules::apply(&s, &ctx, &prepared.tx, &prepared.body_hash, &signers).unwrap();
                s.commit(e, ctx.timestamp_ms);
                s
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn merkle_at_a_million(c: &mut Criterion) {
    const N: u64 = 1_000_000;
    let (levels, tree) = tree_of(N);
    let mut g = c.benchmark_group("merkle");
    g.throughput(Throughput::Elements(1));
    g.bench_function("append", |b| {
        b.iter_batched(
            || tree.clone(),
            |mut t| {
                t.append([9; 32], |_, _, h| {
                    black_box(h);
                });
                t
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("inclusion_proof_1M", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7919) % N;
            merkle::inclusion_proof(&levels, i, N).unwrap().unwrap()
        })
    });
    g.bench_function("consistency_proof_1M", |b| {
        let mut m = 1u64;
        b.iter(|| {
            m = (m + 104_729) % (N - 1) + 1;
            merkle::consistency_proof(&levels, m, N).unwrap().unwrap()
        })
    });
    let root = tree.root();
    let proof = merkle::inclusion_proof(&levels, 123_456, N)
        .unwrap()
        .unwrap();
    let leaf = levels.0[0][123_456];
    g.bench_function("verify_inclusion_1M", |b| {
        b.iter(|| merkle::verify_inclusion(&leaf, 123_456, N, black_box(&proof), &root).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = crypto, decoding_and_rules, merkle_at_a_million
}
criterion_main!(benches);
