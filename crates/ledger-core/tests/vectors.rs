//! Test vectors for independent implementations (see docs/PROTOCOL.md). Every value in
//! `tests/vectors.json` is re-derived here from fixed seeds; a change to any encoding or hash
//! fails this test. Regenerate deliberately with `UPDATE_VECTORS=1 cargo test -p ledger-core
//! --test vectors` and explain the protocol change in PROTOCOL.md.

use ed25519_dalek::SigningKey;
use ledger_core::build;
use ledger_core::checkpoint::{
    cosign, cosignature_key_hash, key_hash, verifier_key_string, witness_vkey, Checkpoint,
    WitnessKey,
};
use ledger_core::entry::Entry;
use ledger_core::hashing::{contributor_commitment, document_hash};
use ledger_core::merkle::{
    consistency_proof, empty_root, entry_leaf_hash, inclusion_proof, leaf_hash, node_hash, root,
};
use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::signing::{pae, sign_body, KeyId, PAYLOAD_TYPE};
use ledger_core::state::{FundSource, Role};
use ledger_core::Hash;
use prost::Message;
use serde_json::{json, Value};

fn h(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn derive_vectors() -> Value {
    let admin = SigningKey::from_bytes(&[0x11; 32]);
    let finance = SigningKey::from_bytes(&[0x22; 32]);
    let node = SigningKey::from_bytes(&[0x33; 32]);
    let ledger_id = "vectors.example/community-fund";

    let genesis_body = build::body(
        ledger_id,
        [0xA0; 16],
        1_700_000_000_000,
        Kind::Genesis(proto::Genesis {
            ledger_name: "示例社区共同缔造基金".into(),
            currency: "CNY".into(),
            admin_keys: vec![build::public_key(&admin, Role::Admin, "admin")],
            policy: Some(proto::Policy {
                approval_threshold_fen: 1_000_000,
                approver_quorum: 2,
                admin_quorum: 1,
                reserve_ratio_bp: 1000,
                approval_window_days: 30,
                notice_days: 0,
                objection_response_days: 0,
            }),
            checkpoint_key: node.verifying_key().to_bytes().to_vec(),
            witnesses: vec![],
            witness_quorum: 0,
        }),
    );
    let receipt_body = build::body(
        ledger_id,
        [0xA1; 16],
        1_700_000_001_000,
        Kind::FundsReceived(proto::FundsReceived {
            source: FundSource::Fiscal.to_proto() as i32,
            to_account: "pool:fiscal".into(),
            amount_fen: 60_000_000,
            contributor_commitment: vec![],
            memo: "区财政专项资金".into(),
            document_hash: vec![],
        }),
    );
    let genesis_env = build::envelope(genesis_body.clone(), &[&admin]).encode_to_vec();
    let receipt_env = build::envelope(receipt_body.clone(), &[&finance]).encode_to_vec();
    // The entries form a valid ledger: genesis, the finance key registered, a fund pool opened,
    // money received (ledger-core's rules accept each in turn).
    let register_body = build::body(
        ledger_id,
        [0xA2; 16],
        1_700_000_000_600,
        Kind::KeyRegistered(proto::KeyRegistered {
            key: Some(build::public_key(&finance, Role::Finance, "街道财政所")),
        }),
    );
    let pool_body = build::body(
        ledger_id,
        [0xA3; 16],
        1_700_000_000_700,
        Kind::AccountOpened(proto::AccountOpened {
            account_id: "pool:fiscal".into(),
            kind: proto::AccountKind::FundPool as i32,
            source: FundSource::Fiscal.to_proto() as i32,
            name: "财政资金".into(),
        }),
    );
    let envelopes = [
        genesis_env.clone(),
        build::envelope(register_body, &[&admin]).encode_to_vec(),
        build::envelope(pool_body, &[&admin]).encode_to_vec(),
        receipt_env.clone(),
    ];
    let mut ledger_entries: Vec<Entry> = Vec::new();
    for (i, envelope) in envelopes.iter().enumerate() {
        ledger_entries.push(Entry {
            sequence: i as u64,
            prev_hash: ledger_entries.last().map_or([0; 32], Entry::hash),
            timestamp_ms: 1_700_000_000_500 + 500 * i as i64,
            envelope: envelope.clone(),
        });
    }
    let e0 = ledger_entries[0].clone();

    // Merkle vectors over 7 synthetic leaves: the leaf data is the single byte i.
    let leaf_data: Vec<Vec<u8>> = (0u8..7).map(|i| vec![i]).collect();
    let leaves: Vec<Hash> = leaf_data.iter().map(|d| leaf_hash(d)).collect();
    let roots: Vec<String> = (0..=7u64)
        .map(|n| h(&root(leaves.as_slice(), n).unwrap()))
        .collect();
    let inclusion: Vec<Value> = [(0u64, 7u64), (3, 7), (6, 7), (4, 5)]
        .iter()
        .map(|&(m, n)| json!({"index": m, "tree_size": n, "proof": inclusion_proof(leaves.as_slice(), m, n).unwrap().unwrap().iter().map(|x| h(x)).collect::<Vec<_>>()}))
        .collect();
    let consistency: Vec<Value> = [(1u64, 7u64), (3, 7), (4, 7), (6, 7)]
        .iter()
        .map(|&(m, n)| json!({"old_size": m, "new_size": n, "proof": consistency_proof(leaves.as_slice(), m, n).unwrap().unwrap().iter().map(|x| h(x)).collect::<Vec<_>>()}))
        .collect();

    let entry_leaves: Vec<Hash> = ledger_entries.iter().map(entry_leaf_hash).collect();
    let size = entry_leaves.len() as u64;
    let tree_root = root(entry_leaves.as_slice(), size).unwrap();
    let checkpoint = Checkpoint {
        origin: ledger_id.into(),
        tree_size: size,
        root: tree_root,
    }
    .sign(&node);

    // A witness's C2SP tlog-cosignature/v1 on that checkpoint, at a fixed time.
    let witness_key = SigningKey::from_bytes(&[0x57; 32]);
    let witness = WitnessKey {
        name: "witness.example/township".into(),
        key: witness_key.verifying_key(),
    };
    let cosignature = cosign(
        checkpoint.note_text(),
        &witness.name,
        &witness_key,
        1_800_000_000,
    );
    let cosigned = checkpoint.with_lines(&cosignature.line()).unwrap();

    let salt = [0x5A; 32];
    let keys: Vec<Value> = [admin.clone(), finance.clone(), node.clone()]
        .iter()
        .map(|k| {
            json!({
                "seed": h(k.as_bytes()),
                "public_key": h(k.verifying_key().as_bytes()),
                "key_id": h(&KeyId::of(&k.verifying_key()).0),
                "fingerprint": KeyId::of(&k.verifying_key()).fingerprint(),
            })
        })
        .collect();
    let entries: Vec<Value> = ledger_entries.iter().map(|e| json!({
            "sequence": e.sequence, "prev_hash": h(&e.prev_hash), "timestamp_ms": e.timestamp_ms,
            "encoding": h(&e.encode()), "entry_hash": h(&e.hash()), "leaf_hash": h(&entry_leaf_hash(e)),
        })).collect();
    json!({
        "keys": keys,
        "payload_type": PAYLOAD_TYPE,
        "transactions": [
            {"name": "genesis", "body": h(&genesis_body), "pae": h(&pae(PAYLOAD_TYPE, &genesis_body)), "signature": h(&sign_body(&admin, &genesis_body)), "envelope": h(&genesis_env)},
            {"name": "funds_received", "body": h(&receipt_body), "pae": h(&pae(PAYLOAD_TYPE, &receipt_body)), "envelope": h(&receipt_env)},
        ],
        "entries": entries,
        "ledger_fingerprint": ledger_core::entry::ledger_fingerprint(&e0),
        "merkle": {
            "leaf_data": leaf_data.iter().map(|x| h(x)).collect::<Vec<_>>(),
            "leaf_hashes": leaves.iter().map(|x| h(x)).collect::<Vec<_>>(),
            "node_hash_of_leaf0_leaf1": h(&node_hash(&leaves[0], &leaves[1])),
            "empty_root": h(&empty_root()),
            "roots_by_size": roots,
            "inclusion": inclusion,
            "consistency": consistency,
        },
        "checkpoint": {
            "origin": ledger_id,
            "tree_size": size,
            "root": h(&tree_root),
            "key_name": ledger_id,
            "key_hash": h(&key_hash(ledger_id, &node.verifying_key())),
            "verifier_key": verifier_key_string(ledger_id, &node.verifying_key()),
            "text": checkpoint.text,
        },
        "cosigned_checkpoint": {
            "witness_seed": h(witness_key.as_bytes()),
            "witness_name": witness.name,
            "witness_public_key": h(witness.key.as_bytes()),
            "cosignature_key_hash": h(&cosignature_key_hash(&witness.name, &witness.key)),
            "witness_vkey": witness_vkey(&witness),
            "timestamp": 1_800_000_000u64,
            "signed_message": format!("cosignature/v1\ntime 1800000000\n{}", checkpoint.note_text()),
            "line": cosignature.line(),
            "text": cosigned.text,
        },
        "document_hash": {"document": h(DOCUMENT), "hash": h(&document_hash(DOCUMENT))},
        "multi_signature_envelope": {
            "note": "the funds_received body signed by the finance key, then by the admin key: signatures in signing order, each over PAE(payload type, body)",
            "envelope": h(&build::envelope(receipt_body.clone(), &[&finance, &admin]).encode_to_vec()),
        },
        "snapshot": h(&snapshot_of(ledger_id, &node, &ledger_entries, &cosigned.text)),
        "receipt": {
            "note": "ledger.v1.TxReceipt of entry 3 against the cosigned checkpoint, with the genesis and its proof",
            "protobuf": h(&receipt_of(&ledger_entries, 3, &cosigned.text).encode_to_vec()),
        },
        "negative": negative_cases(ledger_id, &ledger_entries, &admin, &finance, &node),
        "contributor_commitment": {"salt": h(&salt), "contributor": "王阿姨 3号楼 2单元", "commitment": h(&contributor_commitment(&salt, "王阿姨 3号楼 2单元"))},
    })
}

const DOCUMENT: &[u8] = "施工合同 3号楼加装电梯 合同金额 1,300,000.00 元".as_bytes();

/// The snapshot file (PROTOCOL.md §6) of `entries`, witnessed whole by `witnessed`.
fn snapshot_of(ledger_id: &str, node: &SigningKey, entries: &[Entry], witnessed: &str) -> Vec<u8> {
    let mut out = ledger_core::snapshot::encode_header(&ledger_core::snapshot::Header {
        ledger_id: ledger_id.into(),
        node_public_key: node.verifying_key().to_bytes(),
        entry_count: entries.len() as u64,
        witnessed: witnessed.into(),
    });
    for e in entries {
        ledger_core::snapshot::encode_entry_frame(e, &mut out);
    }
    out.extend(ledger_core::snapshot::encode_trailer(witnessed));
    out
}

fn proto_entry(e: &Entry) -> proto::Entry {
    proto::Entry {
        sequence: e.sequence,
        prev_hash: e.prev_hash.to_vec(),
        timestamp_ms: e.timestamp_ms,
        envelope: e.envelope.clone(),
        entry_hash: e.hash().to_vec(),
    }
}

/// A receipt (PROTOCOL.md §7) of entry `index` against `checkpoint` over all `entries`.
fn receipt_of(entries: &[Entry], index: u64, checkpoint: &str) -> proto::TxReceipt {
    let leaves: Vec<Hash> = entries.iter().map(entry_leaf_hash).collect();
    let size = leaves.len() as u64;
    let proof = |i| -> Vec<Vec<u8>> {
        inclusion_proof(leaves.as_slice(), i, size)
            .unwrap()
            .unwrap()
            .iter()
            .map(|x| x.to_vec())
            .collect()
    };
    let entry = &entries[index as usize];
    proto::TxReceipt {
        sequence: index,
        entry_hash: entry.hash().to_vec(),
        checkpoint: checkpoint.into(),
        inclusion_proof: proof(index),
        entry: Some(proto_entry(entry)),
        duplicate: false,
        genesis: Some(proto_entry(&entries[0])),
        genesis_inclusion_proof: proof(0),
    }
}

/// Entries that must be refused after `entries`, each with its reason code (PROTOCOL.md §5.1).
fn negative_cases(
    ledger_id: &str,
    entries: &[Entry],
    admin: &SigningKey,
    finance: &SigningKey,
    node: &SigningKey,
) -> Vec<Value> {
    let receipt = |tx: u8, fen: u64| {
        build::body(
            ledger_id,
            [tx; 16],
            1_700_000_003_000,
            Kind::FundsReceived(proto::FundsReceived {
                source: FundSource::Fiscal.to_proto() as i32,
                to_account: "pool:fiscal".into(),
                amount_fen: fen,
                contributor_commitment: vec![],
                memo: String::new(),
                document_hash: vec![],
            }),
        )
    };
    let mut forged = build::envelope(receipt(0xB0, 100), &[finance]);
    forged.signatures[0].signature = sign_body(node, &receipt(0xB0, 100)).to_vec();
    let mut weak_key = vec![0u8; 32];
    weak_key[0] = 1;
    let weak = build::body(
        ledger_id,
        [0xB3; 16],
        1_700_000_003_000,
        Kind::KeyRegistered(proto::KeyRegistered {
            key: Some(proto::PublicKey {
                ed25519: weak_key,
                role: proto::Role::Finance as i32,
                name: "weak".into(),
            }),
        }),
    );
    let mut unknown_field = receipt(0xB4, 100);
    // Field 100, varint 0: no field of the body has that number.
    unknown_field.extend_from_slice(&[0xA0, 0x06, 0x00]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "signature_by_another_key",
            forged.encode_to_vec(),
            "BAD_SIGNATURE",
        ),
        (
            "unknown_signer",
            build::envelope(receipt(0xB1, 100), &[node]).encode_to_vec(),
            "UNKNOWN_KEY",
        ),
        (
            "amount_over_the_bound",
            build::envelope(
                receipt(0xB2, ledger_core::limits::MAX_AMOUNT_FEN + 1),
                &[finance],
            )
            .encode_to_vec(),
            "INVALID_FIELD",
        ),
        (
            "weak_key",
            build::envelope(weak, &[admin]).encode_to_vec(),
            "WEAK_KEY",
        ),
        (
            "unknown_field",
            build::envelope(unknown_field, &[finance]).encode_to_vec(),
            "NON_CANONICAL",
        ),
        (
            "replay_of_entry_3",
            entries[3].envelope.clone(),
            "DUPLICATE",
        ),
    ];
    let last = entries.last().unwrap();
    cases
        .into_iter()
        .map(|(name, envelope, expected)| {
            let entry = Entry {
                sequence: entries.len() as u64,
                prev_hash: last.hash(),
                timestamp_ms: 1_700_000_003_500,
                envelope,
            };
            json!({"name": name, "entry": h(&entry.encode()), "reason": expected})
        })
        .collect()
}

#[test]
fn vectors_file_matches_what_the_code_derives() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors.json");
    let derived = derive_vectors();
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::write(path, serde_json::to_string_pretty(&derived).unwrap() + "\n").unwrap();
    }
    let stored: Value = serde_json::from_str(
        &std::fs::read_to_string(path).expect("tests/vectors.json is checked in"),
    )
    .unwrap();
    assert_eq!(
        stored, derived,
        "the protocol's bytes changed; see the comment at the top of this file"
    );
}

#[test]
fn vectors_verify_with_the_public_algorithms() {
    // A second reading of the stored file, the way an independent verifier would use it.
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors.json"))
            .unwrap(),
    )
    .unwrap();
    let node_pk = hex::decode(v["keys"][2]["public_key"].as_str().unwrap()).unwrap();
    let node_pk = ed25519_dalek::VerifyingKey::from_bytes(&node_pk.try_into().unwrap()).unwrap();
    let cp =
        ledger_core::checkpoint::SignedCheckpoint::parse(v["checkpoint"]["text"].as_str().unwrap())
            .unwrap();
    cp.verify(v["checkpoint"]["key_name"].as_str().unwrap(), &node_pk)
        .unwrap();
    let c = &v["cosigned_checkpoint"];
    let witness = ledger_core::checkpoint::parse_witness_vkey(c["witness_vkey"].as_str().unwrap())
        .expect("the vkey parses");
    let cosigned =
        ledger_core::checkpoint::SignedCheckpoint::parse(c["text"].as_str().unwrap()).unwrap();
    assert_eq!(cosigned.verify_cosignature(&witness), Ok(1_800_000_000));
    let message = c["signed_message"].as_str().unwrap().as_bytes();
    let line = c["line"].as_str().unwrap();
    let blob = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        line.trim_end().rsplit(' ').next().unwrap(),
    )
    .unwrap();
    let signature = ed25519_dalek::Signature::from_bytes(&blob[12..].try_into().unwrap());
    witness.key.verify_strict(message, &signature).unwrap();
    // The entries are a valid ledger; each negative case after them is refused with its code.
    let mut state = ledger_core::state::State::new();
    for e in v["entries"].as_array().unwrap() {
        let entry = Entry::decode(&hex::decode(e["encoding"].as_str().unwrap()).unwrap()).unwrap();
        ledger_core::rules::apply_entry(&mut state, &entry).unwrap();
    }
    for case in v["negative"].as_array().unwrap() {
        let entry = Entry::decode(&hex::decode(case["entry"].as_str().unwrap()).unwrap()).unwrap();
        let refused = ledger_core::rules::apply_entry(&mut state.clone(), &entry).unwrap_err();
        assert_eq!(
            refused.reason(),
            case["reason"].as_str().unwrap(),
            "{}",
            case["name"]
        );
    }
    // The snapshot reads back to the same entries and the cosigned checkpoint.
    let snapshot = hex::decode(v["snapshot"].as_str().unwrap()).unwrap();
    let mut reader = ledger_core::snapshot::SnapshotReader::open(snapshot.as_slice()).unwrap();
    assert_eq!(
        reader.header().witnessed,
        v["cosigned_checkpoint"]["text"].as_str().unwrap()
    );
    let mut count = 0;
    while reader.next_entry().unwrap().is_some() {
        count += 1;
    }
    assert_eq!(count, v["entries"].as_array().unwrap().len());
    assert_eq!(
        reader.finish().unwrap().text,
        v["cosigned_checkpoint"]["text"].as_str().unwrap()
    );
    let doc = hex::decode(v["document_hash"]["document"].as_str().unwrap()).unwrap();
    assert_eq!(
        h(&document_hash(&doc)),
        v["document_hash"]["hash"].as_str().unwrap()
    );
    let e1 = Entry::decode(&hex::decode(v["entries"][1]["encoding"].as_str().unwrap()).unwrap())
        .unwrap();
    assert_eq!(
        h(&e1.prev_hash),
        v["entries"][0]["entry_hash"].as_str().unwrap()
    );
}
