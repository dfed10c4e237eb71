//! `examples/python/subscribe.py`, the subscriber dashboard developers copy, run against the
//! real node with stubs that grpcio-tools generates from `proto/` (in a virtualenv this test
//! makes with the pinned `requirements.txt`, reused while the requirements stay the same).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ledger_core::proto;
use ledger_e2e::*;
use serde_json_value::Value;

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python")
}

static SETUP: Mutex<Option<(PathBuf, PathBuf)>> = Mutex::new(None);

/// The virtualenv's python and a directory of freshly generated stubs.
fn python() -> (PathBuf, PathBuf) {
    let mut setup = SETUP.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(done) = setup.as_ref() {
        return done.clone();
    }
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-example");
    let python = python_venv(&base, &example_dir().join("requirements.txt"));
    let stubs = base.join("stubs");
    let _ = std::fs::remove_dir_all(&stubs);
    let out = Command::new(&python)
        .arg(example_dir().join("generate.py"))
        .arg("--out")
        .arg(&stubs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "generate.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stubs.join("ledger/v1/ledger_pb2_grpc.py").exists());
    *setup = Some((python.clone(), stubs.clone()));
    (python, stubs)
}

fn subscriber(args: &[&str]) -> Command {
    let (python, stubs) = python();
    let mut cmd = Command::new(python);
    cmd.arg(example_dir().join("subscribe.py"))
        .args(args)
        .env("LEDGER_PY_STUBS", stubs);
    cmd
}

fn lines(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "subscribe.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json_value::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn kind_of(entry: &proto::Entry) -> &'static str {
    let envelope = ledger_core::tx::Envelope::decode(&entry.envelope).unwrap();
    ledger_core::tx::Transaction::decode(&envelope.body)
        .unwrap()
        .kind
        .name()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_subscriber_prints_the_log_and_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    for yuan in [3, 5, 8] {
        submit(&mut client, c.receipt(yuan)).await.unwrap();
    }
    let log = read_log(&mut client).await;
    let addr = node.addr.clone();

    // The whole log from the start: every entry, in order, as the node has it.
    let n = log.len().to_string();
    let out = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || {
            subscriber(&["--node", &addr, "--from", "0", "--limit", &n, "--json"])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let printed = lines(&out);
    assert_eq!(printed.len(), log.len());
    for (p, e) in printed.iter().zip(&log) {
        assert_eq!(p["sequence"], e.sequence);
        assert_eq!(p["entry_hash"], hex::encode(&e.entry_hash));
        assert_eq!(p["kind"], kind_of(e));
    }
    let receipts: Vec<u64> = printed
        .iter()
        .filter(|p| p["kind"] == "funds_received")
        .map(|p| p["amount_fen"].as_u64().unwrap())
        .collect();
    assert_eq!(receipts[receipts.len() - 3..], [300, 500, 800]);

    // Live: it says on stderr when it has caught up; a receipt posted then is printed.
    let mut child = subscriber(&["--node", &addr, "--limit", "1", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    tokio::task::spawn_blocking(move || {
        let line = BufReader::new(stderr).lines().next().unwrap().unwrap();
        assert!(line.contains("caught up"), "{line}");
    })
    .await
    .unwrap();
    let receipt = submit(&mut client, c.receipt(13)).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let out = tokio::task::spawn_blocking(move || loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("subscribe.py did not print the new receipt");
        }
        std::thread::sleep(Duration::from_millis(20));
    })
    .await
    .unwrap();
    let printed = lines(&out);
    assert_eq!(printed.len(), 1);
    assert_eq!(printed[0]["sequence"], receipt.sequence);
    assert_eq!(printed[0]["amount_fen"], 1300);
    let finance = ledger_core::signing::KeyId::of(&c.finance.verifying_key()).fingerprint();
    assert_eq!(printed[0]["signers"][0], finance);
}

#[test]
fn the_python_subscriber_says_what_is_wrong() {
    // Nothing listens on port 1.
    let out = subscriber(&["--node", "127.0.0.1:1", "--from", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the node"));

    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]);
    let out = subscriber(&["--node", &node.addr, "--kinds", "no_such_kind"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("INVALID_ARGUMENT") && err.contains("unknown kind"),
        "{err}"
    );

    // Every address form `ledger` takes reaches the node (the genesis entry comes back).
    for form in [
        node.addr.clone(),
        format!("http://{}", node.addr),
        format!("http://{}/", node.addr),
    ] {
        let out = subscriber(&["--node", &form, "--from", "0", "--limit", "1", "--json"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{form}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("\"kind\": \"genesis\""), "{form}: {stdout}");
    }
    // A path or nothing at all is a usage error that says which forms work.
    let out = subscriber(&["--node", "http://127.0.0.1:1/ledger"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("host:port"));
}
