//! Witnesses against a dishonest operator who holds the community's real node key: the real
//! `ledger-node`, two real `ledger-witness` processes and the real `verifier` on loopback.
//!
//! - A copy of the data directory extended differently (a fork, signed with the real key) is
//!   never cosigned by a witness that saw the first history, and `verifier` refuses every
//!   snapshot made of it, while the honest one passes against the notice board's fingerprint.
//! - A witness killed with -9 and restarted keeps refusing the fork.
//! - A checkpoint with an extra standard cosignature line from an unknown witness is accepted.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use ledger_core::checkpoint::{cosign, witness_vkey, SignedCheckpoint, WitnessKey};
use ledger_core::entry::Entry;
use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::snapshot::{self, SnapshotReader};
use ledger_e2e::*;

struct WitnessProcess {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
}

impl WitnessProcess {
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn serve(&mut self) {
        let child = Command::new(binary("ledger-witness"))
            .args(["serve", "--dir"])
            .arg(&self.dir)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ledger-witness");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "the witness did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The size and root it holds for the ledger, from its own HTTP interface.
    fn held(&self, fingerprint: &str) -> (u64, [u8; 32]) {
        let text = http_get(self.port, &format!("/ledgers/{fingerprint}/checkpoint"));
        let cp = SignedCheckpoint::parse(&text).expect("the witness serves a checkpoint");
        (cp.checkpoint.tree_size, cp.checkpoint.root)
    }

    fn evidence(&self, fingerprint: &str) -> usize {
        std::fs::read_dir(self.dir.join("ledgers").join(fingerprint).join("evidence"))
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(bin: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(binary(bin)).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// `ledger-witness init`: the witness's directory, and its public key from what it prints.
fn make_witness(root: &Path, name: &str) -> (WitnessProcess, String) {
    let dir = root.join(name.replace('/', "_"));
    let (ok, out) = run(
        "ledger-witness",
        &["init", "--dir", dir.to_str().unwrap(), "--name", name],
    );
    assert!(ok, "{out}");
    let hex = out
        .lines()
        .find_map(|l| l.split("[[witness]]): ").nth(1))
        .expect("the public key line")
        .trim()
        .to_string();
    (
        WitnessProcess {
            child: None,
            dir,
            port: free_port(),
        },
        hex,
    )
}

/// A real ledger made with `ledger-node init`, naming two witnesses with a quorum of two.
/// Returns the ledger fingerprint that `init` printed for the notice board.
fn init_ledger(root: &Path, data: &Path, witnesses: &[(&str, &str)]) -> String {
    let admin = SigningKey::from_bytes(&random_seed());
    let admin_path = root.join("admin.key");
    ledger_keys::write_new(&admin_path, &admin).unwrap();
    let mut genesis = format!(
        "ledger_id = \"sunshine.example/xingfuli\"\nname = \"幸福里社区共同缔造基金\"\n\
         approval_threshold_yuan = \"10000\"\napprover_quorum = 2\nadmin_quorum = 1\n\
         reserve_ratio_bp = 1000\nwitness_quorum = {}\n\n[[admin]]\nname = \"社区管理员\"\n\
         public_key = \"{}\"\n",
        witnesses.len(),
        hex::encode(admin.verifying_key().as_bytes())
    );
    for (name, key) in witnesses {
        genesis.push_str(&format!(
            "\n[[witness]]\nname = \"{name}\"\npublic_key = \"{key}\"\n"
        ));
    }
    let genesis_path = root.join("genesis.toml");
    std::fs::write(&genesis_path, genesis).unwrap();
    let (ok, out) = run(
        "ledger-node",
        &[
            "init",
            "--genesis",
            genesis_path.to_str().unwrap(),
            "--admin-key",
            admin_path.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    // The dev-ledger helpers find the admin key here.
    std::fs::create_dir_all(data.join("keys")).unwrap();
    std::fs::copy(&admin_path, data.join("keys/admin.key")).unwrap();
    out.lines()
        .find_map(|l| l.split("ledger fingerprint: ").nth(1))
        .and_then(|s| s.split_whitespace().next())
        .expect("init prints the ledger fingerprint")
        .to_string()
}

fn node_with(data: &Path, witnesses: &[&WitnessProcess]) -> Node {
    let mut args = vec!["--witness-interval-ms".to_string(), "200".to_string()];
    for w in witnesses {
        args.push("--witness-url".into());
        args.push(w.url());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Node::start(data, &refs)
}

async fn read_entries(
    client: &mut proto::ledger_client::LedgerClient<tonic::transport::Channel>,
) -> Vec<Entry> {
    read_log(client)
        .await
        .into_iter()
        .map(|e| Entry {
            sequence: e.sequence,
            prev_hash: e.prev_hash.as_slice().try_into().unwrap(),
            timestamp_ms: e.timestamp_ms,
            envelope: e.envelope,
        })
        .collect()
}

/// A snapshot file made by hand, as an operator could: any entries, any checkpoints.
fn snapshot_of(entries: &[Entry], checkpoint: &str, witnessed: &str, key: &[u8; 32]) -> Vec<u8> {
    let origin = checkpoint.lines().next().unwrap_or_default();
    let mut out = snapshot::encode_header(&snapshot::Header {
        ledger_id: origin.into(),
        node_public_key: *key,
        entry_count: entries.len() as u64,
        witnessed: witnessed.into(),
    });
    for e in entries {
        snapshot::encode_entry_frame(e, &mut out);
    }
    out.extend(snapshot::encode_trailer(checkpoint));
    out
}

fn verify(
    root: &Path,
    name: &str,
    bytes: &[u8],
    fingerprint: &str,
    extra: &[&str],
) -> (bool, String) {
    let path = root.join(name);
    std::fs::write(&path, bytes).unwrap();
    let mut args = vec![
        "verify",
        path.to_str().unwrap(),
        "--trust",
        fingerprint,
        "--json",
    ];
    args.extend_from_slice(extra);
    run("verifier", &args)
}

fn failure_code(json: &str) -> String {
    let start = json.find('{').expect("json");
    let v: serde_json_value::Value =
        serde_json_value::from_str(&json[start..]).expect("json report");
    v["failure"]["code"].as_str().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_made_with_the_real_node_key_is_never_witnessed_and_never_verifies() {
    let root = tempfile::tempdir().unwrap();
    let (mut w1, key1) = make_witness(root.path(), "township.example/witness");
    let (mut w2, key2) = make_witness(root.path(), "committee.example/witness");
    let a_dir = root.path().join("a");
    let fp = init_ledger(
        root.path(),
        &a_dir,
        &[
            ("township.example/witness", &key1),
            ("committee.example/witness", &key2),
        ],
    );
    let mut a = node_with(&a_dir, &[&w1, &w2]);
    for w in [&mut w1, &mut w2] {
        let (ok, out) = run(
            "ledger-witness",
            &[
                "follow",
                "--dir",
                w.dir.to_str().unwrap(),
                "--fingerprint",
                &fp,
                "--node",
                &format!("http://{}", a.addr),
            ],
        );
        assert!(ok, "{out}");
        w.serve();
    }
    // The honest history, witnessed.
    let mut client = a.client().await;
    let community = Community::setup(&a, &mut client).await;
    submit(&mut client, community.receipt(600_000))
        .await
        .unwrap();
    let honest = export(&mut client).await;
    let (ok, out) = verify(root.path(), "honest.snapshot", &honest, &fp, &[]);
    assert!(ok, "the honest, witnessed snapshot verifies: {out}");
    // What /checkpoint serves is the witnessed checkpoint in C2SP form.
    let served = http_get(
        a.http.rsplit(':').next().unwrap().parse().unwrap(),
        "/checkpoint",
    );
    let served = SignedCheckpoint::parse(&served).unwrap();
    assert_eq!(served.cosignatures.len(), 2, "{}", served.text);

    // The operator copies the data directory and extends each copy differently, both signed
    // with the real node key.
    assert!(a.terminate());
    let b_dir = root.path().join("b");
    let status = Command::new("cp")
        .arg("-a")
        .arg(&a_dir)
        .arg(&b_dir)
        .status()
        .unwrap();
    assert!(status.success());
    let fork_size = {
        let r = SnapshotReader::open(honest.as_slice()).unwrap();
        r.header().entry_count
    };
    let mut a = node_with(&a_dir, &[&w1, &w2]);
    let mut client = a.client().await;
    submit(&mut client, community.receipt(1)).await.unwrap();
    let a_witnessed = wait_witnessed(&mut client).await;
    assert_eq!(a_witnessed.tree_size, fork_size + 1);
    let mut b = node_with(&b_dir, &[&w1, &w2]);
    let mut b_client = b.client().await;
    submit(&mut b_client, community.receipt(999_999))
        .await
        .unwrap();
    submit(&mut b_client, community.receipt(5)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let b_head = checkpoint(&mut b_client).await;
    assert_eq!(b_head.tree_size, fork_size + 2);
    let b_witnessed = SignedCheckpoint::parse(&b_head.witnessed_text).unwrap();
    assert_eq!(
        b_witnessed.checkpoint.tree_size, fork_size,
        "no witness cosigned anything of the fork"
    );
    for w in [&w1, &w2] {
        assert_eq!(
            w.held(&fp),
            (
                a_witnessed.tree_size,
                a_witnessed.root_hash.as_slice().try_into().unwrap()
            )
        );
        assert!(w.evidence(&fp) >= 1, "the fork is kept as evidence");
    }

    // Every snapshot of the fork is refused: with the fork's own old witnessed checkpoint, with
    // the node's checkpoint as if witnessed, and with the honest witnessed checkpoint grafted.
    let node_key = b.node_public_key().to_bytes();
    let fork_entries = read_entries(&mut b_client).await;
    // The operator holds the node key: it can sign a checkpoint of any prefix of the fork.
    let real_key = ledger_keys::read(&b_dir.join("node.key")).unwrap();
    let prefix = &fork_entries[..(fork_size + 1) as usize];
    let leaves: Vec<[u8; 32]> = prefix
        .iter()
        .map(ledger_core::merkle::entry_leaf_hash)
        .collect();
    let prefix_checkpoint = ledger_core::checkpoint::Checkpoint {
        origin: "sunshine.example/xingfuli".into(),
        tree_size: prefix.len() as u64,
        root: ledger_core::merkle::root_of_leaves(&leaves),
    }
    .sign(&real_key)
    .text;
    let cases = [
        (
            "tail",
            &fork_entries[..],
            b_head.text.clone(),
            b_witnessed.text.clone(),
            "NOT_WITNESSED",
        ),
        (
            "self",
            &fork_entries[..],
            b_head.text.clone(),
            b_head.text.clone(),
            "WITNESS_QUORUM_NOT_MET",
        ),
        (
            "graft",
            prefix,
            prefix_checkpoint,
            a_witnessed.witnessed_text.clone(),
            "WITNESSED_CHECKPOINT_MISMATCH",
        ),
    ];
    for (name, entries, checkpoint, witnessed, code) in cases {
        let bytes = snapshot_of(entries, &checkpoint, &witnessed, &node_key);
        let (ok, out) = verify(
            root.path(),
            &format!("fork-{name}.snapshot"),
            &bytes,
            &fp,
            &[],
        );
        assert!(!ok, "{name}: the fork must not verify: {out}");
        assert_eq!(failure_code(&out), code, "{name}: {out}");
    }
    // A live audit of the fork node against the fingerprint: its tail is never witnessed.
    let state = root.path().join("audit-fork.json");
    let (ok, out) = run(
        "verifier",
        &[
            "audit",
            "--node",
            &format!("http://{}", b.addr),
            "--trust",
            &fp,
            "--state",
            state.to_str().unwrap(),
            "--once",
            "--witness-grace-secs",
            "2",
        ],
    );
    assert!(
        !ok && out.contains("NOT_WITNESSED") || out.contains("没有经见证方联署"),
        "{out}"
    );
    assert!(!ok, "{out}");
    let state = root.path().join("audit-honest.json");
    let (ok, out) = run(
        "verifier",
        &[
            "audit",
            "--node",
            &format!("http://{}", a.addr),
            "--trust",
            &fp,
            "--state",
            state.to_str().unwrap(),
            "--once",
        ],
    );
    assert!(ok, "the honest node passes the live audit: {out}");
    // The fork node's own /snapshot holds only what was witnessed: no fork entry at all.
    let b_snapshot = export_now(&mut b_client).await;
    let reader = SnapshotReader::open(b_snapshot.as_slice()).unwrap();
    assert_eq!(reader.header().entry_count, fork_size);

    // A witness killed with -9 and restarted keeps refusing the fork, and keeps cosigning the
    // honest log.
    w1.kill9();
    w1.serve();
    submit(&mut b_client, community.receipt(7)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let b_after = SignedCheckpoint::parse(&checkpoint(&mut b_client).await.witnessed_text).unwrap();
    assert_eq!(b_after.checkpoint.tree_size, fork_size);
    assert_eq!(w1.held(&fp).0, a_witnessed.tree_size);
    submit(&mut client, community.receipt(2)).await.unwrap();
    let a_after = wait_witnessed(&mut client).await;
    assert_eq!(a_after.tree_size, fork_size + 2);
    assert_eq!(w1.held(&fp).0, fork_size + 2);
    b.kill9();
    a.kill9();
}

/// C2SP signed-note: signature lines of unknown keys are skipped. A standard cosignature by a
/// witness nobody named changes nothing; a resident may require it (or another) with
/// `--witness`.
/// Found by the adversary review: thousands of half-sent requests made a witness unreachable.
/// Now a connection cap and a header deadline free it again: idle connections beyond the cap
/// wait in the kernel's queue and those holding a slot are cut after 10 s.
#[test]
fn idle_half_sent_requests_do_not_take_a_witness_away() {
    use std::io::Write;
    let root = tempfile::tempdir().unwrap();
    let (mut w, _) = make_witness(root.path(), "township.example/witness");
    w.serve();
    let mut idle = Vec::new();
    let first_sent = Instant::now();
    for _ in 0..400 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", w.port)).unwrap();
        s.write_all(b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        idle.push(s);
    }
    // The witness itself closes a connection that never finished its headers, after its 10 s
    // deadline (hyper's own default would be 30 s; with none it would stay open).
    use std::io::Read;
    let mut first = idle.swap_remove(0);
    first
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut rest = Vec::new();
    let _ = first.read_to_end(&mut rest);
    assert!(
        first_sent.elapsed() < Duration::from_secs(20),
        "an idle half-sent request was kept open for {:?}",
        first_sent.elapsed()
    );
    let started = Instant::now();
    let answer = http_get(w.port, "/ledgers");
    assert!(answer.contains("\"ledgers\""), "{answer}");
    eprintln!(
        "answered after {:?} with 400 idle connections open",
        started.elapsed()
    );
    drop(idle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_witness_cosignature_is_skipped_and_a_residents_own_witness_is_required() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let node = Node::start(&data, &[]);
    let mut client = node.client().await;
    let community = Community::setup(&node, &mut client).await;
    submit(&mut client, community.receipt(100)).await.unwrap();
    let honest = export(&mut client).await;
    let fp = {
        let mut r = SnapshotReader::open(honest.as_slice()).unwrap();
        ledger_core::entry::ledger_fingerprint(&r.next_entry().unwrap().unwrap())
    };
    let mut reader = SnapshotReader::open(honest.as_slice()).unwrap();
    let header = reader.header().clone();
    let mut entries = Vec::new();
    while let Some(e) = reader.next_entry().unwrap() {
        entries.push(e);
    }
    let witnessed = SignedCheckpoint::parse(&header.witnessed).unwrap();
    let stranger_key = SigningKey::from_bytes(&random_seed());
    let stranger = WitnessKey {
        name: "journalist.example/w".into(),
        key: stranger_key.verifying_key(),
    };
    let line = cosign(
        witnessed.note_text(),
        &stranger.name,
        &stranger_key,
        1_800_000_000,
    )
    .line();
    let with_line = format!("{}{line}", witnessed.text);
    let bytes = snapshot_of(&entries, &with_line, &with_line, &header.node_public_key);
    let (ok, out) = verify(root.path(), "extra.snapshot", &bytes, &fp, &[]);
    assert!(ok, "an extra cosignature line is skipped: {out}");
    let (ok, out) = verify(
        root.path(),
        "extra.snapshot",
        &bytes,
        &fp,
        &["--witness", &witness_vkey(&stranger)],
    );
    assert!(ok, "the resident's own witness cosigned it: {out}");
    let other = WitnessKey {
        name: "other.example/w".into(),
        key: SigningKey::from_bytes(&random_seed()).verifying_key(),
    };
    let (ok, out) = verify(
        root.path(),
        "extra.snapshot",
        &bytes,
        &fp,
        &["--witness", &witness_vkey(&other)],
    );
    assert!(!ok, "a witness the resident requires did not cosign: {out}");
    assert_eq!(failure_code(&out), "WITNESS_QUORUM_NOT_MET", "{out}");
    // A malformed --witness is a usage error that says what to give.
    let (ok, out) = verify(
        root.path(),
        "extra.snapshot",
        &bytes,
        &fp,
        &["--witness", "nonsense"],
    );
    assert!(!ok && out.contains("ledger-witness init"), "{out}");
    // One of the two demo witnesses' cosignatures removed: below the quorum of two.
    let one_less: String = {
        let mut lines: Vec<&str> = witnessed.text.lines().collect();
        lines.pop();
        lines.join("\n") + "\n"
    };
    let bytes = snapshot_of(&entries, &one_less, &one_less, &header.node_public_key);
    let (ok, out) = verify(root.path(), "one-less.snapshot", &bytes, &fp, &[]);
    assert!(!ok);
    assert_eq!(failure_code(&out), "WITNESS_QUORUM_NOT_MET", "{out}");
}

/// Node key rotation by the admin quorum: the node signs with the new key from the tree that
/// contains the rotation; old receipts and snapshots still verify; a checkpoint the retired key
/// signs after the rotation does not; a witness follows once its operator trusts the new key;
/// a rotation cut short by a crash is finished on the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_key_is_rotated_by_the_admins_and_the_retired_key_signs_nothing_after() {
    use prost::Message;
    let root = tempfile::tempdir().unwrap();
    let (mut w1, key1) = make_witness(root.path(), "township.example/witness");
    // The committee's witness replays the whole log and its rules (and so follows rotations).
    let (mut w2, key2) = make_witness(root.path(), "committee.example/witness");
    let data = root.path().join("a");
    let fp = init_ledger(
        root.path(),
        &data,
        &[
            ("township.example/witness", &key1),
            ("committee.example/witness", &key2),
        ],
    );
    let mut node = node_with(&data, &[&w1, &w2]);
    for (w, replay) in [(&mut w1, false), (&mut w2, true)] {
        let node_url = format!("http://{}", node.addr);
        let dir = w.dir.to_str().unwrap().to_string();
        let mut args = vec![
            "follow",
            "--dir",
            &dir,
            "--fingerprint",
            &fp,
            "--node",
            &node_url,
        ];
        if replay {
            args.push("--replay");
        }
        let (ok, out) = run("ledger-witness", &args);
        assert!(ok, "{out}");
        w.serve();
    }
    let mut client = node.client().await;
    let community = Community::setup(&node, &mut client).await;
    let old_receipt = submit(&mut client, community.receipt(600_000))
        .await
        .unwrap();
    let before = export(&mut client).await;
    let old_key = node.node_public_key();
    // The receipt proven against the witnessed checkpoint (what `ledger receipt` fetches).
    let tx_id = {
        let env =
            proto::SignedEnvelope::decode(old_receipt.entry.as_ref().unwrap().envelope.as_slice())
                .unwrap();
        proto::TransactionBody::decode(env.body.as_slice())
            .unwrap()
            .tx_id
    };
    let unwitnessed_receipt = old_receipt;
    let old_receipt = client
        .get_receipt(proto::GetReceiptRequest { tx_id })
        .await
        .unwrap()
        .into_inner();
    assert!(!SignedCheckpoint::parse(&old_receipt.checkpoint)
        .unwrap()
        .cosignatures
        .is_empty());

    // A rotation to a key the node does not hold is refused, and changes nothing.
    let rotate = |key: &[u8]| {
        Kind::CheckpointKeyRotated(proto::CheckpointKeyRotated {
            new_key: key.to_vec(),
            reason: "服务器更换 server replaced".into(),
        })
    };
    let stranger = SigningKey::from_bytes(&random_seed());
    let refused = submit(
        &mut client,
        community.signer.envelope(
            rotate(stranger.verifying_key().as_bytes()),
            &[&community.admin],
        ),
    )
    .await
    .unwrap_err();
    assert!(
        refused.message().contains("node.key.next"),
        "{}",
        refused.message()
    );
    // The operator makes the new key; the admins sign its rotation.
    let next = data.join("node.key.next");
    let (ok, out) = run("ledger-node", &["keygen", "--out", next.to_str().unwrap()]);
    assert!(ok, "{out}");
    let new_key = ledger_keys::read(&next).unwrap();
    // The admins sign it with the `ledger` command.
    let (ok, out) = run(
        "ledger",
        &[
            "key",
            "rotate-node",
            "--node",
            &format!("http://{}", node.addr),
            "--public",
            &hex::encode(new_key.verifying_key().as_bytes()),
            "--reason",
            "服务器更换 server replaced",
            "--json",
            "--key",
            data.join("keys/admin.key").to_str().unwrap(),
        ],
    );
    assert!(ok, "{out}");
    let posted: serde_json_value::Value =
        serde_json_value::from_str(out.lines().next().unwrap()).unwrap();
    let sequence = posted["sequence"].as_u64().unwrap();
    let cp = checkpoint(&mut client).await;
    let rotation = proto::TxReceipt {
        sequence,
        checkpoint: cp.text.clone(),
        ..Default::default()
    };
    assert_eq!(
        cp.node_public_key,
        new_key.verifying_key().to_bytes().to_vec()
    );
    let after_rotation = SignedCheckpoint::parse(&rotation.checkpoint).unwrap();
    after_rotation
        .verify("sunshine.example/xingfuli", &new_key.verifying_key())
        .expect("the checkpoint that holds the rotation is signed by the new key");
    assert!(data
        .join(format!("node.key.retired-{}", rotation.sequence + 1))
        .exists());
    assert_eq!(node.node_public_key(), new_key.verifying_key());

    // The plain witness knows the old key only: it refuses until its operator trusts the new
    // one. The replaying witness found the rotation in the log and cosigns at once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let witnessed = checkpoint(&mut client).await.witnessed_text;
    assert!(
        SignedCheckpoint::parse(&witnessed)
            .unwrap()
            .checkpoint
            .tree_size
            <= rotation.sequence
    );
    assert_eq!(
        w2.held(&fp).0,
        rotation.sequence + 1,
        "the replaying witness follows the rotation"
    );
    assert!(w1.held(&fp).0 <= rotation.sequence);
    // The replaying witness keeps the whole log.
    assert!(
        std::fs::metadata(w2.dir.join("ledgers").join(&fp).join("mirror"))
            .unwrap()
            .len()
            > 0
    );
    let (ok, out) = run(
        "ledger-witness",
        &[
            "trust-key",
            "--dir",
            w1.dir.to_str().unwrap(),
            "--fingerprint",
            &fp,
            "--key",
            &hex::encode(new_key.verifying_key().as_bytes()),
        ],
    );
    assert!(ok, "{out}");
    w1.kill9();
    w1.serve();
    submit(&mut client, community.receipt(1)).await.unwrap();
    let after = export(&mut client).await;
    let (ok, out) = verify(root.path(), "after.snapshot", &after, &fp, &[]);
    assert!(ok, "the rotated ledger verifies: {out}");
    let start = out.find('{').unwrap();
    let report: serde_json_value::Value = serde_json_value::from_str(&out[start..]).unwrap();
    assert_eq!(
        report["governance"]["checkpoint_keys"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{out}"
    );
    // What was published before the rotation still verifies, and so does the old receipt.
    let (ok, out) = verify(root.path(), "before.snapshot", &before, &fp, &[]);
    assert!(ok, "{out}");
    let receipt_path = root.path().join("old.receipt");
    std::fs::write(&receipt_path, old_receipt.encode_to_vec()).unwrap();
    let (ok, out) = run(
        "verifier",
        &["receipt", receipt_path.to_str().unwrap(), "--trust", &fp],
    );
    assert!(ok, "the receipt from before the rotation verifies: {out}");
    // The receipt Submit answered with is the node's word alone: not accepted against the
    // ledger fingerprint, which needs the witnesses.
    std::fs::write(&receipt_path, unwitnessed_receipt.encode_to_vec()).unwrap();
    let (ok, out) = run(
        "verifier",
        &[
            "receipt",
            receipt_path.to_str().unwrap(),
            "--trust",
            &fp,
            "--json",
        ],
    );
    assert!(!ok && out.contains("NOT_WITNESSED"), "{out}");

    // The retired key signs the whole tree after the rotation: refused.
    let mut client = node.client().await;
    let entries = read_entries(&mut client).await;
    let leaves: Vec<[u8; 32]> = entries
        .iter()
        .map(ledger_core::merkle::entry_leaf_hash)
        .collect();
    let retired =
        ledger_keys::read(&data.join(format!("node.key.retired-{}", rotation.sequence + 1)))
            .unwrap();
    assert_eq!(retired.verifying_key(), old_key);
    let forged = ledger_core::checkpoint::Checkpoint {
        origin: "sunshine.example/xingfuli".into(),
        tree_size: entries.len() as u64,
        root: ledger_core::merkle::root_of_leaves(&leaves),
    }
    .sign(&retired)
    .text;
    let bytes = snapshot_of(&entries, &forged, "", &old_key.to_bytes());
    let (ok, out) = verify(root.path(), "retired.snapshot", &bytes, &fp, &[]);
    assert!(!ok, "{out}");
    assert_eq!(failure_code(&out), "NODE_KEY_NOT_TRUSTED", "{out}");

    // A crash between keeping the old key and renaming the new one: the next start finishes.
    let node_addr = node.addr.clone();
    assert!(node.terminate());
    std::fs::rename(data.join("node.key"), data.join("node.key.next")).unwrap();
    std::fs::copy(
        data.join(format!("node.key.retired-{}", rotation.sequence + 1)),
        data.join("node.key"),
    )
    .unwrap();
    // Back on the same address: the replaying witness fetches entries from there.
    let mut args = vec!["--witness-interval-ms".to_string(), "200".to_string()];
    for w in [&w1, &w2] {
        args.push("--witness-url".into());
        args.push(w.url());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let node = Node::start_at(&data, "serve", &node_addr, "127.0.0.1:0", &refs);
    assert_eq!(node.node_public_key(), new_key.verifying_key());
    let mut client = node.client().await;
    submit(&mut client, community.receipt(2)).await.unwrap();
    wait_witnessed(&mut client).await;
}
