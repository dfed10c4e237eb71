//! The witness's rule, against a dishonest log operator who holds the real node key: cosign
//! only checkpoints that extend what was cosigned before; never two roots for one size; keep
//! refusing after a restart.

use ed25519_dalek::SigningKey;
use ledger_core::build;
use ledger_core::checkpoint::{Checkpoint, SignedCheckpoint};
use ledger_core::entry::{ledger_fingerprint, Entry};
use ledger_core::merkle::{consistency_proof, leaf_hash, root_of_leaves};
use ledger_core::proto;
use ledger_core::state::Role;
use ledger_core::Hash;
use ledger_witness::protocol::AddCheckpoint;
use ledger_witness::witness::{self, Reply, Witness};

const ORIGIN: &str = "sunshine.example/test-community";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn genesis(node: &SigningKey) -> Entry {
    let admin = key(1);
    let kind = proto::transaction_body::Kind::Genesis(proto::Genesis {
        ledger_name: "测试社区".into(),
        currency: "CNY".into(),
        admin_keys: vec![build::public_key(&admin, Role::Admin, "admin")],
        policy: Some(proto::Policy {
            approval_threshold_fen: 100,
            approver_quorum: 1,
            admin_quorum: 1,
            reserve_ratio_bp: 0,
            approval_window_days: 30,
            notice_days: 0,
            objection_response_days: 0,
        }),
        checkpoint_key: node.verifying_key().to_bytes().to_vec(),
        witnesses: vec![],
        witness_quorum: 0,
    });
    let body = build::body(ORIGIN, [9; 16], 1_700_000_000_000, kind);
    let envelope = prost::Message::encode_to_vec(&build::envelope(body, &[&admin]));
    Entry {
        sequence: 0,
        prev_hash: [0; 32],
        timestamp_ms: 1_700_000_000_000,
        envelope,
    }
}

/// A history: leaf hashes, different per `branch` after `fork_at`.
fn leaves(n: usize, branch: u8, fork_at: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(&[i as u8, if i >= fork_at { branch } else { 0 }]))
        .collect()
}

fn request(leaves: &[Hash], old: usize, node: &SigningKey) -> Vec<u8> {
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        tree_size: leaves.len() as u64,
        root: root_of_leaves(leaves),
    }
    .sign(node);
    let proof = if old == 0 {
        vec![]
    } else {
        consistency_proof(leaves, old as u64, leaves.len() as u64)
            .unwrap()
            .unwrap()
    };
    AddCheckpoint::encode(old as u64, &proof, &cp.text).into_bytes()
}

fn set_up() -> (tempfile::TempDir, SigningKey) {
    let dir = tempfile::tempdir().unwrap();
    let node = key(7);
    witness::init(dir.path(), "witness.example/township").unwrap();
    let g = genesis(&node);
    witness::add_ledger(dir.path(), &ledger_fingerprint(&g), &g).unwrap();
    (dir, node)
}

fn cosigned(reply: Reply) -> String {
    match reply {
        Reply::Cosigned(line) => line,
        other => panic!("expected a cosignature, got {other:?}"),
    }
}

/// The witness's clock in the mirror tests: after the entries' 1_700_000_000_000.
const NOW_MS: i64 = 1_700_000_100_000;

#[test]
fn an_extending_checkpoint_is_cosigned_and_the_cosignature_verifies() {
    let (dir, node) = set_up();
    let w = Witness::open(dir.path()).unwrap();
    let honest = leaves(10, 1, 5);
    let line = cosigned(w.add_checkpoint(&request(&honest[..4], 0, &node), 1_700_000_000));
    let line2 = cosigned(w.add_checkpoint(&request(&honest, 4, &node), 1_700_000_001));
    let body = String::from_utf8(request(&honest, 4, &node)).unwrap();
    let cp = SignedCheckpoint::parse(body.split_once("\n\n").unwrap().1).unwrap();
    let with = cp.with_lines(&line2).unwrap();
    assert_eq!(
        with.verify_cosignature(&w.public_key()).unwrap(),
        1_700_000_001
    );
    // The older line was for another tree: it does not verify on this one.
    assert!(cp
        .with_lines(&line)
        .unwrap()
        .verify_cosignature(&w.public_key())
        .is_err());
    assert_eq!(
        with.check_witnesses(&[w.public_key()], 1, &[]).unwrap(),
        vec!["witness.example/township".to_string()]
    );
}

#[test]
fn a_fork_signed_with_the_real_node_key_is_refused_also_after_a_restart() {
    let (dir, node) = set_up();
    let honest = leaves(8, 1, 5);
    let forked = leaves(8, 2, 5);
    {
        let w = Witness::open(dir.path()).unwrap();
        cosigned(w.add_checkpoint(&request(&honest, 0, &node), 1));
        // Same size, another root: 409 with the size held.
        assert_eq!(
            w.add_checkpoint(&request(&forked, 8, &node), 2),
            Reply::SizeConflict(8)
        );
    }
    // A restart (the state is on disk) changes nothing.
    let w = Witness::open(dir.path()).unwrap();
    assert_eq!(
        w.add_checkpoint(&request(&forked, 8, &node), 3),
        Reply::SizeConflict(8)
    );
    // A longer fork with a proof from the honest size does not verify: 422.
    let longer_fork = leaves(12, 2, 5);
    let mut body = request(&longer_fork, 8, &node);
    assert!(matches!(w.add_checkpoint(&body, 4), Reply::Refused(422, _)));
    // Claiming an older size gets 409 with the real one; a smaller tree can never be cosigned.
    body = request(&forked[..6], 5, &node);
    assert_eq!(w.add_checkpoint(&body, 5), Reply::SizeConflict(8));
    // The fork attempts are kept as evidence.
    let evidence = std::fs::read_dir(
        dir.path()
            .join("ledgers")
            .join(w.ledgers().next().unwrap().fingerprint.clone())
            .join("evidence"),
    )
    .unwrap()
    .count();
    assert_eq!(evidence, 3);
    // The honest log goes on.
    let more = leaves(12, 1, 5);
    cosigned(w.add_checkpoint(&request(&more, 8, &node), 6));
    assert_eq!(w.ledgers().next().unwrap().held().unwrap().0, 12);
}

#[test]
fn each_kind_of_bad_request_gets_its_status_and_changes_nothing() {
    let (dir, node) = set_up();
    let w = Witness::open(dir.path()).unwrap();
    let history = leaves(6, 1, 9);
    cosigned(w.add_checkpoint(&request(&history[..3], 0, &node), 1));
    // Signed by another key (the operator's own): 403.
    assert!(matches!(
        w.add_checkpoint(&request(&history, 3, &key(8)), 2),
        Reply::Refused(403, _)
    ));
    // Another ledger: 404.
    let other = Checkpoint {
        origin: "other.example/x".into(),
        tree_size: 1,
        root: [1; 32],
    }
    .sign(&node);
    let body = AddCheckpoint::encode(0, &[], &other.text);
    assert!(matches!(
        w.add_checkpoint(body.as_bytes(), 3),
        Reply::Refused(404, _)
    ));
    // Old size above the checkpoint's: 400.
    let body = String::from_utf8(request(&history, 3, &node))
        .unwrap()
        .replacen("old 3", "old 7", 1);
    assert!(matches!(
        w.add_checkpoint(body.as_bytes(), 4),
        Reply::Refused(400, _)
    ));
    // Garbage: 400.
    assert!(matches!(
        w.add_checkpoint(b"hello", 5),
        Reply::Refused(400, _)
    ));
    // A proof with an old size of 0: 422.
    let mut with_proof = request(&history, 0, &node);
    let text = String::from_utf8(with_proof.clone()).unwrap().replacen(
        "old 0\n",
        "old 0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        1,
    );
    with_proof = text.into_bytes();
    assert_eq!(w.add_checkpoint(&with_proof, 6), Reply::SizeConflict(3));
    assert_eq!(
        w.ledgers().next().unwrap().held().unwrap().0,
        3,
        "nothing changed"
    );
}

#[test]
fn a_genesis_with_another_fingerprint_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    witness::init(dir.path(), "witness.example/a").unwrap();
    let g = genesis(&key(7));
    let err = witness::add_ledger(dir.path(), "0000-0000-0000-0000-0000-0000", &g).unwrap_err();
    assert!(err.to_string().contains("账本指纹不符"), "{err}");
    assert!(
        witness::init(dir.path(), "witness.example/a").is_err(),
        "never replaces a key"
    );
    assert!(witness::init(tempfile::tempdir().unwrap().path(), "bad name").is_err());
}

/// The replaying witness's log: entries the rules refuse are never kept, a refused checkpoint's
/// entries are cut back, and a restart keeps exactly what was cosigned.
#[test]
fn the_mirror_refuses_entries_the_rules_refuse_and_cuts_back_to_what_was_cosigned() {
    use ledger_witness::mirror::Mirror;
    let dir = tempfile::tempdir().unwrap();
    let node = key(7);
    let admin = key(1);
    let g = genesis(&node);
    let entry = |seq: u64, prev: [u8; 32], kind| {
        let body = build::body(ORIGIN, [seq as u8 + 100; 16], 1_700_000_000_000, kind);
        Entry {
            sequence: seq,
            prev_hash: prev,
            timestamp_ms: 1_700_000_000_000,
            envelope: prost::Message::encode_to_vec(&build::envelope(body, &[&admin])),
        }
    };
    let open_pool = |id: &str| {
        proto::transaction_body::Kind::AccountOpened(proto::AccountOpened {
            account_id: id.into(),
            kind: proto::AccountKind::FundPool as i32,
            source: 1,
            name: id.into(),
        })
    };
    let e1 = entry(1, g.hash(), open_pool("pool:fiscal"));
    // The same account opened twice: ACCOUNT_EXISTS.
    let bad = entry(2, e1.hash(), open_pool("pool:fiscal"));
    let good = entry(2, e1.hash(), open_pool("pool:crowd"));

    let mut mirror = Mirror::open(dir.path(), 0, &[0; 32]).unwrap();
    mirror.extend(&[g.clone(), e1.clone()], NOW_MS).unwrap();
    let cosigned_root = mirror.root();
    let saved = mirror.save_point().unwrap();
    let err = mirror.extend(&[bad], NOW_MS).unwrap_err();
    assert!(err.contains("ACCOUNT_EXISTS"), "{err}");
    mirror.restore(saved).unwrap();
    assert_eq!(mirror.size(), 2);
    // Entries of a checkpoint that was then refused (the root did not match) are cut back.
    let saved = mirror.save_point().unwrap();
    mirror.extend(std::slice::from_ref(&good), NOW_MS).unwrap();
    assert_eq!(mirror.size(), 3);
    mirror.restore(saved).unwrap();
    drop(mirror);
    let reopened = Mirror::open(dir.path(), 2, &cosigned_root).unwrap();
    assert_eq!((reopened.size(), reopened.root()), (2, cosigned_root));
    // A mirror that ran ahead of the cosigned size (a crash before the cosignature was stored)
    // is cut back to it on start.
    let mut ahead = reopened;
    ahead.extend(&[good], NOW_MS).unwrap();
    drop(ahead);
    let reopened = Mirror::open(dir.path(), 2, &cosigned_root).unwrap();
    assert_eq!(reopened.size(), 2);
    // One that holds fewer entries than were cosigned, or another root, refuses to start.
    assert!(Mirror::open(dir.path(), 3, &cosigned_root).is_err());
    assert!(Mirror::open(dir.path(), 2, &[9; 32]).is_err());
}

/// Found by the adversary review: a second ledger with the same origin (the operator's
/// re-made ledger, "same village id") made the witness forget the first one's history, so it
/// cosigned a fork of it. One origin is one ledger; a stray file in `ledgers/` is skipped.
#[test]
fn a_second_ledger_with_the_same_origin_is_refused() {
    let (dir, _) = set_up();
    let other = genesis(&key(8));
    let err = witness::add_ledger(dir.path(), &ledger_fingerprint(&other), &other).unwrap_err();
    assert!(err.to_string().contains("同名账本"), "{err}");
    // Placed by hand instead: the witness refuses to start rather than pick one.
    let sneaked = dir.path().join("ledgers").join(ledger_fingerprint(&other));
    std::fs::create_dir_all(&sneaked).unwrap();
    std::fs::write(sneaked.join("genesis"), other.encode()).unwrap();
    assert!(Witness::open(dir.path()).is_err());
    std::fs::remove_dir_all(&sneaked).unwrap();
    std::fs::write(dir.path().join("ledgers").join("notes.txt"), "hello").unwrap();
    let w = Witness::open(dir.path()).unwrap();
    assert_eq!(w.ledgers().count(), 1);
}
