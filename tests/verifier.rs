//! The verifier against snapshots made by the real node, and against every way a snapshot can
//! be tampered with or a node can lie.

use std::path::Path;
use std::process::Command;

use ed25519_dalek::SigningKey;
use ledger_core::build;
use ledger_core::checkpoint::Checkpoint;
use ledger_core::entry::Entry;
use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::snapshot::{self, SnapshotReader};
use ledger_core::state::FundSource;
use ledger_e2e::*;
use ledger_verifier::check::verify_snapshot;
use ledger_verifier::trust::Trust;
use prost::Message;

struct Fixture {
    _dir: tempfile::TempDir,
    node: Node,
    community: Community,
    snapshot: Vec<u8>,
    node_key: SigningKey,
}

fn alloc(yuan: u64) -> Kind {
    Kind::FundsAllocated(proto::FundsAllocated {
        from_account: "pool:fiscal".into(),
        project_id: "elevator".into(),
        amounts: build::source_amounts(&[(FundSource::Fiscal, yuan * YUAN)]),
        memo: String::new(),
    })
}

fn proposal(yuan: u64) -> Kind {
    Kind::DisbursementProposed(proto::DisbursementProposed {
        project_id: "elevator".into(),
        payee_account: "payee:builder".into(),
        amounts: build::source_amounts(&[(FundSource::Fiscal, yuan * YUAN)]),
        contract_hash: vec![9; 32],
        invoice_hash: vec![],
        memo: String::new(),
    })
}

/// A small ledger built by the real node: keys, accounts, a project, receipts, an allocation.
async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    let community = Community::setup(&node, &mut client).await;
    submit(&mut client, community.receipt(100_000))
        .await
        .unwrap();
    submit(
        &mut client,
        community
            .signer
            .envelope(alloc(50_000), &[&community.finance]),
    )
    .await
    .unwrap();
    let snapshot = export(&mut client).await;
    let node_key = ledger_keys::read(&dir.path().join("node.key")).unwrap();
    Fixture {
        _dir: dir,
        node,
        community,
        snapshot,
        node_key,
    }
}

fn trust(key: &SigningKey) -> Trust {
    Trust::Key(key.verifying_key())
}

fn check(bytes: &[u8], trust: &Trust) -> ledger_verifier::check::Outcome {
    verify_snapshot(bytes, trust, &[], 2, |_| {}, |_, _| {})
}

fn envelopes_of(bytes: &[u8]) -> (String, Vec<Entry>) {
    let mut reader = SnapshotReader::open(bytes).unwrap();
    let id = reader.header().ledger_id.clone();
    let mut entries = Vec::new();
    while let Some(e) = reader.next_entry().unwrap() {
        entries.push(e);
    }
    (id, entries)
}

/// What a lying node could publish: any envelopes, chained, Merkle-rooted and signed by
/// `node_key` exactly as a correct node would.
fn forge(ledger_id: &str, node_key: &SigningKey, envelopes: Vec<Vec<u8>>) -> Vec<u8> {
    let ts = now_ms();
    forge_snapshot(
        ledger_id,
        node_key,
        envelopes.into_iter().map(|e| (ts, e)).collect(),
        &[],
    )
}

fn expect_refused(
    bytes: &[u8],
    trust: &Trust,
    code: &str,
    reason: Option<&str>,
) -> ledger_verifier::check::Failure {
    let outcome = check(bytes, trust);
    let failure = outcome
        .failure
        .unwrap_or_else(|| panic!("expected {code} {reason:?}, but it verified"));
    assert_eq!(failure.code, code, "{}", failure.message);
    assert_eq!(failure.reason, reason, "{}", failure.message);
    failure
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_from_the_node_verifies_and_every_single_byte_change_is_detected() {
    let f = fixture().await;
    let t = trust(&f.node_key);
    let good = check(&f.snapshot, &t);
    assert!(good.passed(), "{:?}", good.failure);
    assert_eq!(good.state.received.get(FundSource::Fiscal), 100_000 * YUAN);
    let fp = Trust::parse(&ledger_keys::fingerprint(&f.node_key)).unwrap();
    assert!(
        check(&f.snapshot, &fp).passed(),
        "the fingerprint alone is enough to verify a snapshot"
    );
    // Every byte, changed: never a pass.
    eprintln!("tamper suite: {} bytes x 2 changes each", f.snapshot.len());
    for i in 0..f.snapshot.len() {
        for flip in [0x01u8, 0x80] {
            let mut bad = f.snapshot.clone();
            bad[i] ^= flip;
            let outcome = check(&bad, &t);
            assert!(
                !outcome.passed(),
                "changing byte {i} (xor {flip:#x}) of {} went undetected",
                f.snapshot.len()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_deleted_duplicated_and_reordered_entries_are_detected() {
    let f = fixture().await;
    let t = trust(&f.node_key);
    for cut in [
        0,
        10,
        60,
        f.snapshot.len() / 2,
        f.snapshot.len() - 5,
        f.snapshot.len() - 1,
    ] {
        // A cut file is unusable (exit 2), not a verdict on the ledger.
        expect_refused(&f.snapshot[..cut], &t, "SNAPSHOT_UNUSABLE", None);
    }
    let (id, entries) = envelopes_of(&f.snapshot);
    let mut reader = SnapshotReader::open(f.snapshot.as_slice()).unwrap();
    while reader.next_entry().unwrap().is_some() {}
    let checkpoint = reader.finish().unwrap().text;
    // Entries edited as a file, keeping the node's real checkpoint.
    let rebuild = |entries: &[Entry]| {
        let mut out = snapshot::encode_header(&snapshot::Header {
            ledger_id: id.clone(),
            node_public_key: f.node_key.verifying_key().to_bytes(),
            entry_count: entries.len() as u64,
            witnessed: String::new(),
        });
        for e in entries {
            snapshot::encode_entry_frame(e, &mut out);
        }
        out.extend(snapshot::encode_trailer(&checkpoint));
        out
    };
    let mut deleted = entries.clone();
    deleted.remove(5);
    expect_refused(&rebuild(&deleted), &t, "CHAIN_BROKEN", None);
    let mut last_deleted = entries.clone();
    last_deleted.pop();
    expect_refused(&rebuild(&last_deleted), &t, "CHECKPOINT_WRONG_SIZE", None);
    let mut duplicated = entries.clone();
    duplicated.insert(6, entries[5].clone());
    expect_refused(&rebuild(&duplicated), &t, "CHAIN_BROKEN", None);
    let mut reordered = entries.clone();
    reordered.swap(3, 4);
    expect_refused(&rebuild(&reordered), &t, "CHAIN_BROKEN", None);
    // Reordered and then re-chained so every link holds (entries 3 and 4 register two keys, so
    // the rules still pass): the Merkle root no longer matches the one the node signed.
    let mut swapped: Vec<Vec<u8>> = entries.iter().map(|e| e.envelope.clone()).collect();
    swapped.swap(3, 4);
    let (_, rechained) = envelopes_of(&forge(
        &id,
        &SigningKey::from_bytes(&random_seed()),
        swapped,
    ));
    expect_refused(&rebuild(&rechained), &t, "ROOT_MISMATCH", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cannot_make_bad_bookkeeping_pass_by_signing_it() {
    let f = fixture().await;
    let t = trust(&f.node_key);
    let (id, entries) = envelopes_of(&f.snapshot);
    let c = &f.community;
    let base: Vec<Vec<u8>> = entries.iter().map(|e| e.envelope.clone()).collect();
    let with = |extra: Vec<proto::SignedEnvelope>| {
        let mut all = base.clone();
        all.extend(extra.iter().map(|e| e.encode_to_vec()));
        forge(&id, &f.node_key, all)
    };
    // A faithful re-signing passes every rule and the node's signature, and fails only for
    // want of the witnesses' cosignatures (which a node alone cannot make).
    expect_refused(&with(vec![]), &t, "NOT_WITNESSED", None);
    let stranger = SigningKey::from_bytes(&random_seed());
    let failure = expect_refused(
        &with(vec![c.signer.envelope(
            receipt_kind(FundSource::Fiscal, "pool:fiscal", 1),
            &[&stranger],
        )]),
        &t,
        "ENTRY_REFUSED",
        Some("UNKNOWN_KEY"),
    );
    assert_eq!(
        failure.sequence,
        Some(entries.len() as u64),
        "the first bad entry is named"
    );
    // Overdraft: 90,000 yuan in the pool, 50,000 allocated; allocating 40,001 more overdraws it.
    expect_refused(
        &with(vec![c.signer.envelope(alloc(40_001), &[&c.finance])]),
        &t,
        "ENTRY_REFUSED",
        Some("INSUFFICIENT_FUNDS"),
    );
    // Over budget: the fiscal budget is 600,000.
    let big_receipt = c.signer.envelope(
        receipt_kind(FundSource::Fiscal, "pool:fiscal", 1_000_000 * YUAN),
        &[&c.finance],
    );
    expect_refused(
        &with(vec![
            big_receipt,
            c.signer.envelope(alloc(600_000), &[&c.finance]),
        ]),
        &t,
        "ENTRY_REFUSED",
        Some("OVER_BUDGET"),
    );
    // Self-approval: a representative who co-signed the proposal approves it.
    let p = c
        .signer
        .envelope(proposal(20_000), &[&c.finance, &c.approver1]);
    let body: proto::TransactionBody = Message::decode(p.body.as_slice()).unwrap();
    let approve = c.signer.envelope(
        Kind::DisbursementApproved(proto::DisbursementApproved {
            proposal_tx_id: body.tx_id,
        }),
        &[&c.approver1],
    );
    expect_refused(
        &with(vec![p, approve]),
        &t,
        "ENTRY_REFUSED",
        Some("SELF_APPROVAL"),
    );
    // A revoked key signs after its revocation.
    let revoke = c.signer.envelope(
        Kind::KeyRevoked(proto::KeyRevoked {
            key_id: ledger_core::signing::KeyId::of(&c.finance.verifying_key())
                .0
                .to_vec(),
            reason: String::new(),
        }),
        &[&c.admin],
    );
    expect_refused(
        &with(vec![revoke, c.receipt(1)]),
        &t,
        "ENTRY_REFUSED",
        Some("KEY_REVOKED"),
    );
    // The whole log re-signed by another node key is not the node the resident trusts.
    let other = SigningKey::from_bytes(&random_seed());
    expect_refused(
        &forge(&id, &other, base.clone()),
        &t,
        "NODE_KEY_NOT_TRUSTED",
        None,
    );
    let fp = Trust::parse(&ledger_keys::fingerprint(&f.node_key)).unwrap();
    expect_refused(&forge(&id, &other, base), &fp, "NODE_KEY_NOT_TRUSTED", None);
}

fn verifier(args: &[&str]) -> (i32, String) {
    let out = Command::new(binary("verifier"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verifier_binary_speaks_plainly_and_exits_with_meaning() {
    let f = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.snapshot", &f.snapshot);
    let fp = ledger_keys::fingerprint(&f.node_key);
    let (code, out) = verifier(&["verify", &good, "--trust", &fp]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("✅ 通过 VERIFIED"), "{out}");
    assert!(
        out.contains("100,000.00 元") && out.contains("财政"),
        "{out}"
    );
    let (code, out) = verifier(&[
        "verify",
        &good,
        "--trust",
        &fp,
        "--json",
        "--csv",
        &dir.path().join("csv").to_string_lossy(),
    ]);
    assert_eq!(code, 0);
    let report: serde_json_value::Value = serde_json_value::from_str(&out).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["received"][0]["yuan"], "100000.00");
    let balances = std::fs::read_to_string(dir.path().join("csv/balances.csv")).unwrap();
    assert!(balances.starts_with('\u{feff}'), "CSV starts with a BOM");
    assert!(
        balances.contains("pool:fiscal,fund_pool,pool:fiscal,fiscal,财政,40000.00,0.00"),
        "{balances}"
    );
    let mut bad = f.snapshot.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x10;
    let bad = write(dir.path(), "bad.snapshot", &bad);
    let (code, out) = verifier(&["verify", &bad, "--trust", &fp]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("❌ 未通过 NOT VERIFIED"), "{out}");
    let (code, out) = verifier(&[
        "verify",
        &dir.path().join("missing").to_string_lossy(),
        "--trust",
        &fp,
    ]);
    assert_eq!(code, 2, "{out}");
    let (code, out) = verifier(&["verify", &good, "--trust", "not-a-key"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("fingerprint"), "{out}");
    let (code, _) = verifier(&["verify"]);
    assert_eq!(code, 2, "usage error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_prove_inclusion_and_a_contributor_proves_their_payment() {
    let f = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let mut client = f.node.client().await;
    let c = &f.community;
    let salt = random_seed();
    let commitment = ledger_core::hashing::contributor_commitment(&salt, "王阿姨 3-2-401");
    let kind = Kind::FundsReceived(proto::FundsReceived {
        source: FundSource::Crowdfunding.to_proto() as i32,
        to_account: "pool:crowd".into(),
        amount_fen: 500 * YUAN,
        contributor_commitment: commitment.to_vec(),
        memo: "众筹".into(),
        document_hash: vec![],
    });
    let receipt = submit(&mut client, c.signer.envelope(kind, &[&c.finance]))
        .await
        .unwrap();
    let path = write(dir.path(), "r.receipt", &receipt.encode_to_vec());
    let key = hex::encode(f.node_key.verifying_key().as_bytes());
    let (code, out) = verifier(&["receipt", &path, "--trust", &key]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("500.00 元"), "{out}");
    let salt_hex = hex::encode(salt);
    let (code, out) = verifier(&[
        "receipt",
        &path,
        "--trust",
        &key,
        "--salt",
        &salt_hex,
        "--contributor",
        "王阿姨 3-2-401",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("is yours"), "{out}");
    let (code, out) = verifier(&[
        "receipt",
        &path,
        "--trust",
        &key,
        "--salt",
        &salt_hex,
        "--contributor",
        "someone else",
    ]);
    assert_eq!(code, 1, "{out}");
    let mut forged = receipt.clone();
    forged.inclusion_proof[0][3] ^= 1;
    let (code, out) = verifier(&[
        "receipt",
        &write(dir.path(), "f.receipt", &forged.encode_to_vec()),
        "--trust",
        &key,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not proven"), "{out}");
    let (code, out) = verifier(&[
        "receipt",
        &path,
        "--trust",
        &hex::encode(
            SigningKey::from_bytes(&random_seed())
                .verifying_key()
                .as_bytes(),
        ),
    ]);
    assert_eq!(code, 1, "a receipt signed by another node: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consistency_proves_extension_and_exposes_a_fork() {
    let f = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let mut client = f.node.client().await;
    let old_cp = checkpoint(&mut client).await;
    let old = write(dir.path(), "old.checkpoint", old_cp.text.as_bytes());
    for i in 0..5 {
        submit(&mut client, f.community.receipt(i + 1))
            .await
            .unwrap();
    }
    let new_snapshot = write(dir.path(), "new.snapshot", &export(&mut client).await);
    let new_cp = checkpoint(&mut client).await;
    let new = write(dir.path(), "new.checkpoint", new_cp.text.as_bytes());
    let fp = ledger_keys::fingerprint(&f.node_key);
    let key = hex::encode(f.node_key.verifying_key().as_bytes());
    let (code, out) = verifier(&["consistency", &old, &new_snapshot, "--trust", &fp]);
    assert_eq!(code, 0, "{out}");
    let url = format!("http://{}", f.node.addr);
    let (code, out) = verifier(&["consistency", &old, &new, "--trust", &key, "--node", &url]);
    assert_eq!(code, 0, "{out}");
    // The node signs a second, different log of the same size: a fork, with evidence.
    let (id, _) = envelopes_of(&f.snapshot);
    let forked = Checkpoint {
        origin: id,
        tree_size: new_cp.tree_size,
        root: [7; 32],
    }
    .sign(&f.node_key);
    let forked = write(dir.path(), "forked.checkpoint", forked.text.as_bytes());
    let (code, out) = verifier(&["consistency", &new, &forked, "--trust", &key]);
    assert_eq!(code, 1, "{out}");
    // The evidence: every line of the honest checkpoint, each printed on a line of its own.
    assert!(
        out.contains("FORKED")
            && new_cp
                .text
                .lines()
                .all(|l| out.lines().any(|o| o.trim() == l.trim())),
        "{out}"
    );
    // An older checkpoint whose log the newer snapshot does not extend.
    let (id, _) = envelopes_of(&f.snapshot);
    let rewritten = Checkpoint {
        origin: id,
        tree_size: old_cp.tree_size,
        root: [8; 32],
    }
    .sign(&f.node_key);
    let rewritten = write(
        dir.path(),
        "rewritten.checkpoint",
        rewritten.text.as_bytes(),
    );
    let (code, out) = verifier(&["consistency", &rewritten, &new_snapshot, "--trust", &fp]);
    assert_eq!(code, 1, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_follows_the_node_and_catches_rewritten_history() {
    let f = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("audit.json").to_string_lossy().into_owned();
    let url = format!("http://{}", f.node.addr);
    let fp = ledger_keys::fingerprint(&f.node_key);
    let (code, out) = verifier(&[
        "audit", "--node", &url, "--trust", &fp, "--state", &state, "--once",
    ]);
    assert_eq!(code, 0, "{out}");
    let mut client = f.node.client().await;
    for i in 0..3 {
        submit(&mut client, f.community.receipt(i + 1))
            .await
            .unwrap();
    }
    let (code, out) = verifier(&[
        "audit", "--node", &url, "--trust", &fp, "--state", &state, "--once",
    ]);
    assert_eq!(code, 0, "{out}");
    let saved: serde_json_value::Value =
        serde_json_value::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let size = saved["tree_size"].as_u64().unwrap();
    assert_eq!(size, checkpoint(&mut client).await.tree_size);
    // What the auditor verified last time is not what the node now serves at that size.
    let mut tampered = saved.clone();
    tampered["root"] = serde_json_value::Value::String(hex::encode([5u8; 32]));
    std::fs::write(&state, tampered.to_string()).unwrap();
    let (code, out) = verifier(&[
        "audit", "--node", &url, "--trust", &fp, "--state", &state, "--once",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("REWROTE HISTORY"), "{out}");
    let (code, out) = verifier(&[
        "audit",
        "--node",
        &url,
        "--trust",
        "0000-0000-0000-0000-0000",
        "--state",
        &dir.path().join("other.json").to_string_lossy(),
        "--once",
    ]);
    assert_eq!(code, 1, "an untrusted node key: {out}");
}

/// Text from the ledger cannot forge what the verifier prints: a memo with newlines that would
/// draw a fake verdict, checkpoint and node key is shown escaped on its own line; a memo that a
/// spreadsheet would run as a formula is written to CSV as text; and `| head -1` ends the
/// verifier quietly with its verdict's exit code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_text_cannot_forge_the_verifiers_output() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(&dir.path().join("data"), &[]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    submit(&mut client, c.receipt(200_000)).await.unwrap();
    submit(
        &mut client,
        c.signer.envelope(alloc(100_000), &[&c.finance]),
    )
    .await
    .unwrap();
    let forged =
        "工程款\n\n检查点 Checkpoint: 1 entries, root 0000-FAKE\n节点密钥 Node key:  FAKE-KEY";
    let mut big = proposal(50_000);
    if let Kind::DisbursementProposed(p) = &mut big {
        p.memo = forged.into();
    }
    submit(&mut client, c.signer.envelope(big, &[&c.finance]))
        .await
        .unwrap();
    let mut formula = receipt_kind(FundSource::Fiscal, "pool:fiscal", 100);
    if let Kind::FundsReceived(r) = &mut formula {
        r.memo = "=HYPERLINK(\"http://evil\",\"点此\")".into();
    }
    submit(&mut client, c.signer.envelope(formula, &[&c.finance]))
        .await
        .unwrap();
    let snap = write(dir.path(), "s.snapshot", &export(&mut client).await);
    let fp =
        ledger_keys::fingerprint(&ledger_keys::read(&dir.path().join("data/node.key")).unwrap());
    let csv = dir.path().join("csv");
    let (code, out) = verifier(&[
        "verify",
        &snap,
        "--trust",
        &fp,
        "--csv",
        &csv.to_string_lossy(),
    ]);
    assert_eq!(code, 0, "{out}");
    let starting = |prefix: &str| out.lines().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(starting("检查点 Checkpoint"), 1, "{out}");
    assert_eq!(starting("节点密钥 Node key"), 1, "{out}");
    assert!(
        out.contains("工程款\\n\\n检查点 Checkpoint: 1 entries"),
        "shown escaped: {out}"
    );
    let entries = std::fs::read_to_string(csv.join("entries.csv")).unwrap();
    assert!(
        entries.contains("\"'=HYPERLINK(\"\"http://evil\"\""),
        "{entries}"
    );
    assert!(!entries.contains(",=HYPERLINK"), "{entries}");
    // The reader goes away after the verdict line.
    let mut child = Command::new(binary("verifier"))
        .args(["verify", &snap, "--trust", &fp])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let ended = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&ended.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );
    assert_eq!(ended.status.code(), Some(0), "{err}");
}

/// Issue 13 (1), for `verifier verify`: whoever holds the community's node key can make a new
/// ledger with the same ledger id and another genesis (their own admin key), sign it exactly as
/// the node would, and it verifies against the node key. Against the ledger fingerprint from
/// the notice board (derived from the real genesis) it fails with LEDGER_NOT_TRUSTED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_remade_with_the_real_node_key_fails_against_the_ledger_fingerprint() {
    let f = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let (ledger_id, entries) = envelopes_of(&f.snapshot);
    let published = ledger_core::entry::ledger_fingerprint(&entries[0]);
    let honest = write(dir.path(), "honest.snapshot", &f.snapshot);
    let (code, out) = verifier(&["verify", &honest, "--trust", &published, "--json"]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json_value::Value = serde_json_value::from_str(&out).unwrap();
    assert_eq!(v["ledger_fingerprint"], published.as_str());
    // Governance: who registered each key, as the resident must be able to judge.
    let admin_fp = ledger_keys::fingerprint(&f.community.admin);
    let finance = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "finance")
        .expect("the finance key is listed");
    assert_eq!(
        finance["registered_by"],
        serde_json_value::json!([admin_fp]),
        "{out}"
    );
    assert_eq!(v["governance"]["witness_quorum"], 2, "{out}");
    assert_eq!(v["witnessing"]["unwitnessed_entries"], 0, "{out}");
    // The forger's genesis: their admin key, the real ledger id and the real checkpoint key.
    let forger = SigningKey::from_bytes(&random_seed());
    let forged = forged_genesis_snapshot(&ledger_id, &f.node_key, &forger);
    let forged = write(dir.path(), "forged.snapshot", &forged);
    let (code, out) = verifier(&["verify", &forged, "--trust", &published, "--json"]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json_value::Value = serde_json_value::from_str(&out).unwrap();
    assert_eq!(v["failure"]["code"], "LEDGER_NOT_TRUSTED", "{out}");
    let (code, out) = verifier(&["verify", &forged, "--trust", &published]);
    assert_eq!(code, 1);
    assert!(out.starts_with("❌ 未通过 NOT VERIFIED"), "{out}");
    // The node key alone cannot tell the two apart: that is why `--trust` takes the ledger
    // fingerprint. (The report still shows the forged ledger's own fingerprint.)
    let node_fp = ledger_keys::fingerprint(&f.node_key);
    let (code, out) = verifier(&["verify", &forged, "--trust", &node_fp]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains(&published), "{out}");
    // `consistency` against the fingerprint: two snapshots, each verified whole; a checkpoint
    // file, which carries no genesis, is a usage error that says so.
    let (code, out) = verifier(&["consistency", &honest, &honest, "--trust", &published]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = verifier(&[
        "consistency",
        &honest,
        &forged,
        "--trust",
        &published,
        "--json",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("LEDGER_NOT_TRUSTED"), "{out}");
    let cp_file = write(
        dir.path(),
        "cp.txt",
        SnapshotReader::open(f.snapshot.as_slice())
            .unwrap()
            .header()
            .witnessed
            .as_bytes(),
    );
    let (code, out) = verifier(&["consistency", &cp_file, &honest, "--trust", &published]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("snapshot files"), "{out}");

    // The re-made ledger served by a real node with the real node key: its receipts and a
    // live audit fail against the published fingerprint; the honest node's pass.
    let remade_dir = dir.path().join("remade");
    std::fs::create_dir_all(&remade_dir).unwrap();
    std::fs::copy(
        f.node.data_dir.join("node.key"),
        remade_dir.join("node.key"),
    )
    .unwrap();
    let forger_path = dir.path().join("forger.key");
    ledger_keys::write_new(&forger_path, &forger).unwrap();
    let genesis_toml = dir.path().join("genesis.toml");
    std::fs::write(
        &genesis_toml,
        format!(
            "ledger_id = \"{ledger_id}\"\nname = \"幸福里社区共同缔造基金\"\napproval_threshold_yuan = \"10000\"\n\
             approver_quorum = 1\nadmin_quorum = 1\nreserve_ratio_bp = 0\n[[admin]]\nname = \"admin\"\npublic_key = \"{}\"\n",
            hex::encode(forger.verifying_key().as_bytes())
        ),
    )
    .unwrap();
    let status = std::process::Command::new(binary("ledger-node"))
        .args([
            "init",
            "--genesis",
            genesis_toml.to_str().unwrap(),
            "--admin-key",
        ])
        .arg(&forger_path)
        .arg("--data-dir")
        .arg(&remade_dir)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let remade = Node::start(&remade_dir, &[]);
    let mut remade_client = remade.client().await;
    let signer = Signer::of(&mut remade_client).await;
    let pool = Kind::AccountOpened(proto::AccountOpened {
        account_id: "pool:fiscal".into(),
        kind: proto::AccountKind::FundPool as i32,
        source: FundSource::Fiscal.to_proto() as i32,
        name: "财政".into(),
    });
    let receipt = submit(&mut remade_client, signer.envelope(pool, &[&forger]))
        .await
        .unwrap();
    let receipt_file = write(dir.path(), "remade.receipt", &receipt.encode_to_vec());
    let (code, out) = verifier(&["receipt", &receipt_file, "--trust", &published, "--json"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("LEDGER_NOT_TRUSTED"), "{out}");
    let state = dir.path().join("audit-remade.json");
    let (code, out) = verifier(&[
        "audit",
        "--node",
        &format!("http://{}", remade.addr),
        "--trust",
        &published,
        "--state",
        state.to_str().unwrap(),
        "--once",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("这不是公示栏上的账本"), "{out}");
    // The honest node: a witnessed receipt and a live audit pass against the fingerprint.
    let mut client = f.node.client().await;
    let honest_receipt = client
        .get_receipt(proto::GetReceiptRequest {
            tx_id: {
                let env = proto::SignedEnvelope::decode(entries[1].envelope.as_slice()).unwrap();
                proto::TransactionBody::decode(env.body.as_slice())
                    .unwrap()
                    .tx_id
            },
        })
        .await
        .unwrap()
        .into_inner();
    let receipt_file = write(
        dir.path(),
        "honest.receipt",
        &honest_receipt.encode_to_vec(),
    );
    let (code, out) = verifier(&["receipt", &receipt_file, "--trust", &published]);
    assert_eq!(code, 0, "{out}");
    let state = dir.path().join("audit-honest.json");
    let (code, out) = verifier(&[
        "audit",
        "--node",
        &format!("http://{}", f.node.addr),
        "--trust",
        &published,
        "--state",
        state.to_str().unwrap(),
        "--once",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("witnessed up to"), "{out}");
}
