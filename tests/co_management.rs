//! Co-management as a community lives it, through the real `ledger`, `ledger-node` and
//! `verifier` binaries: a large disbursement approved, put on public notice (公示), objected to
//! by a household, answered, dismissed by the representatives and paid after the notice (the
//! node's clock moved 8 days on with libfaketime); another objected to and upheld; a finance
//! key's split payments to its own payee refused; a project completed, evaluated, accepted and
//! closed with its remainder returned. The verifier replays all of it, and refuses the log a
//! dishonest operator re-signs to pay during the notice or past an open objection.

use ledger_core::snapshot::SnapshotReader;
use ledger_core::tx::{Envelope, Transaction};
use ledger_e2e::*;
use ledger_verifier::check::verify_snapshot;
use ledger_verifier::trust::Trust;

fn json(text: &str) -> serde_json_value::Value {
    serde_json_value::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The disbursements the node lists, by proposal id.
fn disbursement(cli: &Cli<'_>, proposal: &str) -> serde_json_value::Value {
    cli.ok(&["disbursements", "--json"])
        .lines()
        .map(json)
        .find(|d| d["proposal_tx_id"] == proposal)
        .unwrap_or_else(|| panic!("no disbursement {proposal}"))
}

/// Registers the people and opens the accounts of a small community; returns the admin key path.
fn set_up(cli: &Cli<'_>, data: &std::path::Path) -> String {
    let admin = data.join("keys/admin.key").to_string_lossy().into_owned();
    let people = [
        ("finance.key", "finance", "街道财政所"),
        ("li.key", "approver", "居民代表 李"),
        ("wang.key", "approver", "居民代表 王"),
        ("auditor.key", "auditor", "第三方审计"),
    ];
    for (file, role, name) in people {
        let public = cli.keygen(file);
        cli.post(&[
            "key", "register", "--public", &public, "--role", role, "--name", name, "--key", &admin,
        ]);
    }
    // A household is signed up by a residents' representative.
    let household = cli.keygen("household.key");
    cli.post(&[
        "key",
        "register",
        "--public",
        &household,
        "--role",
        "resident",
        "--name",
        "3-1-101 户",
        "--key",
        "li.key",
    ]);
    for (args, key) in [
        (
            vec![
                "account",
                "open",
                "--id",
                "pool:fiscal",
                "--kind",
                "fund-pool",
                "--source",
                "fiscal",
                "--name",
                "区财政",
            ],
            admin.as_str(),
        ),
        (
            vec![
                "account",
                "open",
                "--id",
                "payee:elevator-co",
                "--kind",
                "payee",
                "--name",
                "安达电梯",
            ],
            admin.as_str(),
        ),
        // A payee the finance office opens by itself.
        (
            vec![
                "account",
                "open",
                "--id",
                "payee:friend",
                "--kind",
                "payee",
                "--name",
                "某咨询公司",
            ],
            "finance.key",
        ),
        (
            vec![
                "project",
                "create",
                "--id",
                "elevator",
                "--name",
                "3号楼加装电梯",
                "--budget",
                "fiscal=600000",
            ],
            admin.as_str(),
        ),
        (
            vec![
                "receipt",
                "--source",
                "fiscal",
                "--to",
                "pool:fiscal",
                "--amount",
                "600000",
            ],
            "finance.key",
        ),
        (
            vec![
                "allocate",
                "--from",
                "pool:fiscal",
                "--project",
                "elevator",
                "--amount",
                "fiscal=500000",
            ],
            "finance.key",
        ),
    ] {
        let mut all = args.clone();
        all.extend(["--key", key]);
        cli.post(&all);
    }
    admin
}

fn propose(cli: &Cli<'_>, payee: &str, amount: &str) -> String {
    cli.post(&[
        "disburse",
        "propose",
        "--project",
        "elevator",
        "--payee",
        payee,
        "--amount",
        amount,
        "--contract-hash",
        &"ab".repeat(32),
        "--key",
        "finance.key",
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notice_objections_and_acceptance_are_lived_and_replayed() {
    let faketime = ensure_faketime();
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let mut node = Node::start(data.path(), &[]);
    let cli = Cli {
        node: format!("http://{}", node.addr),
        dir: work.path(),
    };
    set_up(&cli, data.path());
    assert_eq!(
        cli.ok(&["disbursements"]).trim(),
        "暂无支出申请 / no disbursements yet"
    );

    // Splitting under the threshold to a payee the office opened itself: the second is refused.
    let first = propose(&cli, "payee:friend", "fiscal=9999.99");
    cli.post(&[
        "disburse",
        "execute",
        "--proposal",
        &first,
        "--key",
        "finance.key",
    ]);
    let second = propose(&cli, "payee:friend", "fiscal=9999.99");
    cli.refused(
        &[
            "disburse",
            "execute",
            "--proposal",
            &second,
            "--key",
            "finance.key",
        ],
        "UNAPPROVED_LIMIT",
    );
    cli.post(&[
        "disburse",
        "void",
        "--proposal",
        &second,
        "--reason",
        "拆分付款被拒",
        "--key",
        "finance.key",
    ]);

    // A: approved by both representatives, so on 7 days' public notice; a household objects.
    let a = propose(&cli, "payee:elevator-co", "fiscal=300000");
    let pay_a = [
        "disburse",
        "execute",
        "--proposal",
        &a,
        "--key",
        "finance.key",
    ];
    cli.post(&["disburse", "approve", "--proposal", &a, "--key", "li.key"]);
    cli.post(&["disburse", "approve", "--proposal", &a, "--key", "wang.key"]);
    let shown = cli.ok(&["disbursements"]);
    assert!(shown.contains("公示中 on public notice: 7 天"), "{shown}");
    assert!(shown.contains("批准 approvals 2/2"), "{shown}");
    assert!(
        shown.contains("低于审批门槛 below the threshold"),
        "{shown}"
    );
    cli.refused(&pay_a, "IN_NOTICE");
    let objection_a = cli.post(&[
        "object",
        "--disbursement",
        &a,
        "--text",
        "电梯品牌与居民会议议定的不一致",
        "--key",
        "household.key",
    ]);
    assert_eq!(disbursement(&cli, &a)["objections"][0]["state"], "open");
    std::fs::write(work.path().join("minutes.pdf"), b"meeting minutes").unwrap();
    cli.refused(
        &[
            "resolve",
            "--objection",
            &objection_a,
            "--dismiss",
            "--reason",
            "x",
            "--key",
            "li.key",
            "--key",
            "wang.key",
        ],
        "WRONG_OBJECTION_STATE",
    );
    let answer_a = cli.post(&[
        "answer",
        "--objection",
        &objection_a,
        "--text",
        "品牌经居民代表会议复核一致，见会议纪要",
        "--document",
        "minutes.pdf",
        "--key",
        "finance.key",
    ]);
    cli.refused(
        &[
            "resolve",
            "--objection",
            &objection_a,
            "--dismiss",
            "--reason",
            "x",
            "--key",
            "li.key",
        ],
        "QUORUM_NOT_MET",
    );
    let decision_a = cli.post(&[
        "resolve",
        "--objection",
        &objection_a,
        "--dismiss",
        "--reason",
        "答复属实",
        "--key",
        "li.key",
        "--key",
        "wang.key",
    ]);
    assert_eq!(
        disbursement(&cli, &a)["objections"][0]["state"],
        "dismissed"
    );
    cli.refused(&pay_a, "IN_NOTICE");

    // B: approved, objected to by the auditor, upheld: voided, its hold released.
    let b = propose(&cli, "payee:elevator-co", "fiscal=50000");
    cli.post(&[
        "disburse",
        "approve",
        "--proposal",
        &b,
        "--key",
        "li.key",
        "--key",
        "wang.key",
    ]);
    let objection_b = cli.post(&[
        "object",
        "--disbursement",
        &b,
        "--text",
        "未经招标",
        "--key",
        "auditor.key",
    ]);
    cli.post(&[
        "answer",
        "--objection",
        &objection_b,
        "--text",
        "属实",
        "--key",
        "finance.key",
    ]);
    cli.post(&[
        "resolve",
        "--objection",
        &objection_b,
        "--uphold",
        "--reason",
        "须重新招标",
        "--key",
        "li.key",
        "--key",
        "wang.key",
    ]);
    assert_eq!(disbursement(&cli, &b)["state"], "voided");

    // Eight days later (the node's clock, moved by libfaketime), A is paid.
    assert!(node.terminate(), "the node stops cleanly");
    let node = Node::start_with_env(
        data.path(),
        "serve",
        "127.0.0.1:0",
        "127.0.0.1:0",
        &[],
        &[
            ("LD_PRELOAD", faketime),
            ("FAKETIME", "+8d"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
    );
    let cli = Cli {
        node: format!("http://{}", node.addr),
        dir: work.path(),
    };
    cli.post(&[
        "disburse",
        "execute",
        "--proposal",
        &a,
        "--key",
        "finance.key",
    ]);
    assert_eq!(disbursement(&cli, &a)["state"], "executed");

    // 效果共评: completed, inspected, the representatives satisfied, accepted, closed.
    std::fs::write(work.path().join("inspection.pdf"), b"inspection report").unwrap();
    cli.post(&[
        "project",
        "complete",
        "--id",
        "elevator",
        "--memo",
        "竣工",
        "--key",
        "finance.key",
    ]);
    cli.refused(
        &[
            "project",
            "accept",
            "--id",
            "elevator",
            "--key",
            "finance.key",
        ],
        "EVALUATION_INCOMPLETE",
    );
    cli.post(&[
        "project",
        "evaluate",
        "--id",
        "elevator",
        "--satisfied",
        "--report",
        "inspection.pdf",
        "--comment",
        "验收合格",
        "--key",
        "auditor.key",
    ]);
    cli.post(&[
        "project",
        "evaluate",
        "--id",
        "elevator",
        "--satisfied",
        "--comment",
        "居民满意",
        "--key",
        "li.key",
        "--key",
        "wang.key",
    ]);
    cli.post(&[
        "project",
        "accept",
        "--id",
        "elevator",
        "--key",
        "finance.key",
    ]);
    cli.post(&[
        "project",
        "close",
        "--id",
        "elevator",
        "--memo",
        "结项",
        "--key",
        "finance.key",
    ]);
    let projects = json(&cli.ok(&["projects", "--json"]));
    assert_eq!(projects[0]["stage"], "closed");
    let fiscal = &projects[0]["figures"][0];
    // 500,000 allocated, 9,999.99 + 300,000 spent: 190,000.01 went back to the pool.
    assert_eq!(fiscal["spent_fen"], 30_999_999);
    assert_eq!(fiscal["allocated_fen"], 30_999_999);
    assert_eq!(fiscal["remaining_fen"], 0);

    // The verifier replays every rule and shows what happened.
    cli.ok(&["snapshot", "export", "ledger.snapshot"]);
    let fingerprint = ledger_core::signing::KeyId::of(&node.node_public_key()).fingerprint();
    let out = std::process::Command::new(binary("verifier"))
        .args(["verify", "ledger.snapshot", "--trust", &fingerprint])
        .current_dir(work.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    for shown in [
        "已结项 closed",
        "异议 Objections:",
        "dismissed",
        "upheld",
        "公示期 Public notice: 7",
    ] {
        assert!(
            report.contains(shown),
            "the report shows {shown:?}:\n{report}"
        );
    }

    // The operator re-signs a log that pays during the notice, or past an open objection.
    let bytes = std::fs::read(work.path().join("ledger.snapshot")).unwrap();
    let mut reader = SnapshotReader::open(bytes.as_slice()).unwrap();
    let ledger_id = reader.header().ledger_id.clone();
    let mut entries = Vec::new();
    while let Some(e) = reader.next_entry().unwrap() {
        entries.push(e);
    }
    let tx_id = |e: &ledger_core::entry::Entry| {
        let envelope = Envelope::decode(&e.envelope).unwrap();
        Transaction::decode(&envelope.body)
            .unwrap()
            .tx_id
            .to_string()
    };
    let position = |id: &str| entries.iter().position(|e| tx_id(e) == id).unwrap();
    let execute_a = entries
        .iter()
        .position(|e| {
            let envelope = Envelope::decode(&e.envelope).unwrap();
            matches!(
                Transaction::decode(&envelope.body).unwrap().kind,
                ledger_core::tx::Kind::DisbursementExecuted { proposal } if proposal.to_string() == a
            )
        })
        .unwrap();
    let node_key = ledger_keys::read(&data.path().join("node.key")).unwrap();
    let replay = |forged: Vec<(i64, Vec<u8>)>| {
        let snapshot = forge_snapshot(&ledger_id, &node_key, forged, &[]);
        let outcome = verify_snapshot(
            snapshot.as_slice(),
            &Trust::Key(node_key.verifying_key()),
            &[],
            2,
            |_| {},
            |_, _| {},
        );
        outcome.failure.expect("the forged log is refused")
    };
    // Paid one second after the entry before it: inside the notice.
    let mut early: Vec<_> = entries[..=execute_a]
        .iter()
        .map(|e| (e.timestamp_ms, e.envelope.clone()))
        .collect();
    early[execute_a].0 = early[execute_a - 1].0 + 1_000;
    let failure = replay(early);
    assert_eq!(
        (failure.code, failure.reason),
        ("ENTRY_REFUSED", Some("IN_NOTICE"))
    );
    assert_eq!(failure.sequence, Some(execute_a as u64));
    // The answer and the decision left out: the objection is still open when A is paid.
    let (answer, decision) = (position(&answer_a), position(&decision_a));
    let past_objection: Vec<_> = entries[..=execute_a]
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != answer && *i != decision)
        .map(|(_, e)| (e.timestamp_ms, e.envelope.clone()))
        .collect();
    let failure = replay(past_objection);
    assert_eq!(
        (failure.code, failure.reason),
        ("ENTRY_REFUSED", Some("OBJECTION_UNRESOLVED")),
        "{}",
        failure.message
    );

    // The node's clock moved 8 days on is itself the lie of an operator who wants a notice over
    // early. Its demo witnesses shared the lie; witnesses on their own clocks cosign the same
    // entries now, and the verifier sees entries dated after the witnesses saw them.
    let witnesses: Vec<(String, ed25519_dalek::SigningKey)> =
        std::fs::read_dir(data.path().join("witnesses"))
            .unwrap()
            .map(|d| {
                let dir = d.unwrap().path();
                let name = std::fs::read_to_string(dir.join("witness.name")).unwrap();
                let key = ledger_keys::read(&dir.join("witness.key")).unwrap();
                (name.trim().to_string(), key)
            })
            .collect();
    assert_eq!(
        witnesses.len(),
        2,
        "the development ledger's demo witnesses"
    );
    let honest_clocks: Vec<_> = entries[..=execute_a]
        .iter()
        .map(|e| (e.timestamp_ms, e.envelope.clone()))
        .collect();
    let snapshot = forge_snapshot(&ledger_id, &node_key, honest_clocks, &witnesses);
    let outcome = verify_snapshot(
        snapshot.as_slice(),
        &Trust::Key(node_key.verifying_key()),
        &[],
        2,
        |_| {},
        |_, _| {},
    );
    let failure = outcome
        .failure
        .expect("entries dated after their cosignature");
    assert_eq!(
        failure.code, "TIMESTAMP_AFTER_COSIGNATURE",
        "{}",
        failure.message
    );
    assert_eq!(failure.sequence, Some(execute_a as u64));
}
