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
use ledger_core::hashing::contributor_commitment;
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

    let e0 = Entry {
        sequence: 0,
        prev_hash: [0; 32],
        timestamp_ms: 1_700_000_000_500,
        envelope: genesis_env.clone(),
    };
    let e1 = Entry {
        sequence: 1,
        prev_hash: e0.hash(),
        timestamp_ms: 1_700_000_001_500,
        envelope: receipt_env.clone(),
    };

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

    let tree_root = root(&[entry_leaf_hash(&e0), entry_leaf_hash(&e1)][..], 2).unwrap();
    let checkpoint = Checkpoint {
        origin: ledger_id.into(),
        tree_size: 2,
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
    let keys: Vec<Value> = [admin.clone(), finance, node.clone()]
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
    let entries: Vec<Value> = [e0.clone(), e1.clone()].iter().map(|e| json!({
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
            "tree_size": 2,
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
        "contributor_commitment": {"salt": h(&salt), "contributor": "王阿姨 3号楼 2单元", "commitment": h(&contributor_commitment(&salt, "王阿姨 3号楼 2单元"))},
    })
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
    let e1 = Entry::decode(&hex::decode(v["entries"][1]["encoding"].as_str().unwrap()).unwrap())
        .unwrap();
    assert_eq!(
        h(&e1.prev_hash),
        v["entries"][0]["entry_hash"].as_str().unwrap()
    );
}
