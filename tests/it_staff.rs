//! Everyday use by community IT staff, with the real `ledger-node` and `ledger` binaries: a
//! genesis from `init --example`, every genesis problem at once, the admin key that is not in
//! the file, flags before `serve`, a second process on a running node's data directory, the
//! start-up warning about a quorum no keys can reach, and logs without colour codes.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};

use ledger_e2e::{binary, Cli, Node};

fn node(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::new(binary("ledger-node"))
        .args(args)
        .current_dir(dir)
        .env_remove("LEDGER_DATA_DIR")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts `ledger-node` with `args`, waits for its serving line, stops it; returns the serving
/// line and everything it wrote to stderr (a file, as a service manager would give it).
fn serve_once(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> (String, String) {
    let log = dir.join("node-stderr.log");
    let mut child = Command::new(binary("ledger-node"))
        .args(args)
        .current_dir(dir)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let serving = loop {
        let line = lines
            .next()
            .unwrap_or_else(|| {
                panic!(
                    "ledger-node exited: {}",
                    std::fs::read_to_string(&log).unwrap()
                )
            })
            .unwrap();
        if line.starts_with("ledger-node serving ") {
            break line;
        }
    };
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let mut stderr = String::new();
    std::fs::File::open(&log)
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (serving, stderr)
}

#[test]
fn a_genesis_from_the_example_makes_a_ledger_and_the_node_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let cli = Cli {
        node: "http://127.0.0.1:1".into(),
        dir: dir.path(),
    };
    let (code, example, _) = node(&["init", "--example"], dir.path());
    assert_eq!(code, 0);
    assert!(example.contains("[[admin]]") && example.contains("审批门槛"));
    // The IT person puts the admins' real keys in, as the example's comments say.
    let a = cli.keygen("a.key");
    let b = cli.keygen("b.key");
    let edited = example
        .replace(
            "a39da392811c5474884bec140ff5dede188e1552a35738b035d59678fbc61415",
            &a,
        )
        .replace(
            "b44bf7cb9f3f4684ea7850b819cc6043170bb86427f02d26f7ce26c9b2eba79b",
            &b,
        );
    std::fs::write(dir.path().join("genesis.toml"), &edited).unwrap();

    // A key file that is not one of the admins is named, with its fingerprint.
    cli.keygen("stranger.key");
    let (code, _, err) = node(
        &[
            "init",
            "--genesis",
            "genesis.toml",
            "--admin-key",
            "a.key",
            "--admin-key",
            "stranger.key",
            "--data-dir",
            "data",
        ],
        dir.path(),
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("stranger.key") && err.contains("不是 genesis.toml 中的管理员"),
        "{err}"
    );
    assert!(
        !dir.path().join("data/ledger.log").exists(),
        "nothing is created"
    );
    // One admin of a quorum of two is not enough, and it says so.
    let (code, _, err) = node(
        &[
            "init",
            "--genesis",
            "genesis.toml",
            "--admin-key",
            "a.key",
            "--data-dir",
            "data",
        ],
        dir.path(),
    );
    assert_ne!(code, 0);
    assert!(err.contains("admin_quorum"), "{err}");

    let (code, out, err) = node(
        &[
            "init",
            "--genesis",
            "genesis.toml",
            "--admin-key",
            "a.key",
            "--admin-key",
            "b.key",
            "--data-dir",
            "data",
        ],
        dir.path(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("账本指纹") && out.contains("role approver"),
        "{out}"
    );

    // The new ledger has no representatives: the node says approvals cannot happen yet. Its
    // log, written to a file, has no colour codes.
    let (serving, stderr) = serve_once(
        &[
            "serve",
            "--data-dir",
            "data",
            "--listen",
            "127.0.0.1:0",
            "--http",
            "off",
        ],
        dir.path(),
        &[("RUST_LOG", "info")],
    );
    assert!(
        serving.contains("xingfuli.example.gov.cn/fund"),
        "{serving}"
    );
    assert!(
        stderr.contains("审批需要 2 位居民代表签名") && stderr.contains("0 active approver keys"),
        "{stderr}"
    );
    assert!(
        stderr.contains("INFO"),
        "the info log was written: {stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a log file: {stderr:?}"
    );
}

#[test]
fn a_broken_genesis_gets_every_problem_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("genesis.toml"),
        "name = \"幸福里\"\napproval_threshold_yuan = \"十万\"\napprover_quorum = 2\n\
         admin_quorum = 1\nreserve_ratio_bp = 1000\nnotice_days = 400\n",
    )
    .unwrap();
    let cli = Cli {
        node: "http://127.0.0.1:1".into(),
        dir: dir.path(),
    };
    cli.keygen("a.key");
    let (code, _, err) = node(
        &["init", "--genesis", "genesis.toml", "--admin-key", "a.key"],
        dir.path(),
    );
    assert_ne!(code, 0);
    for expected in [
        "缺少 missing `ledger_id`",
        "缺少 missing `admin`",
        "`approval_threshold_yuan` = 十万",
        "`notice_days` 超出范围",
        "init --example",
    ] {
        assert!(err.contains(expected), "{expected:?} not in:\n{err}");
    }
    assert!(!dir.path().join("data").exists(), "nothing is created");
}

#[tokio::test]
async fn flags_before_serve_count_and_a_second_process_is_told_the_node_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("elsewhere");
    // Flags written before the subcommand are the node's settings too.
    let (serving, _) = serve_once(
        &[
            "--listen",
            "127.0.0.1:0",
            "--http",
            "off",
            "--data-dir",
            data.to_str().unwrap(),
            "serve",
        ],
        dir.path(),
        &[],
    );
    assert!(!serving.contains(":50051"), "{serving}");
    assert!(
        data.join("ledger.log").exists(),
        "served {}",
        data.display()
    );
    assert!(!dir.path().join("data").exists(), "not the default ./data");
    // Two different values for one flag are refused rather than one silently winning.
    let (code, _, err) = node(
        &["--max-batch", "5", "serve", "--max-batch", "6"],
        dir.path(),
    );
    assert_eq!(code, 1);
    assert!(err.contains("--max-batch"), "{err}");
    // A serving flag with a command that does not serve is refused, not ignored.
    let (code, _, err) = node(
        &["--listen", "127.0.0.1:1", "export", "x.snapshot"],
        dir.path(),
    );
    assert_eq!(code, 1);
    assert!(err.contains("--listen") && err.contains("serve"), "{err}");

    // While the node runs, export and a second node are told what is going on.
    let running = Node::start(&data, &[]);
    let (code, _, err) = node(
        &["export", "x.snapshot", "--data-dir", data.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("正被另一个运行中的 ledger-node 使用") && err.contains("/snapshot"),
        "{err}"
    );
    assert!(!err.contains("WouldBlock"), "{err}");
    let (code, _, err) = node(
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--http",
            "off",
        ],
        dir.path(),
    );
    assert_eq!(code, 1);
    assert!(err.contains("stop the running node first"), "{err}");
    drop(running);
}
