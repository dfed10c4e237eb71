//! Everyday use by a finance-office clerk, with the real `ledger` and `ledger-node` binaries:
//! entries newest first with their ids and entry numbers usable as targets, what the second
//! approval did, who rejected a disbursement and why, the confirmation of a large amount,
//! an offline build that names --ledger-id, keygen's register command, structured JSON.

use ledger_e2e::{Cli, Node};
use serde_json_value::Value;

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json_value::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_reads_entries_names_them_by_number_and_sees_what_approvals_did() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let cli = Cli {
        node: node.addr.clone(), // host:port, as a person types it
        dir: work.path(),
    };
    let admin = data.path().join("keys/admin.key");
    let admin = admin.to_str().unwrap();

    // keygen names the role the key was made for in the register command it prints.
    let out = cli.ok(&[
        "keygen",
        "--out",
        "li.key",
        "--role",
        "approver",
        "--name",
        "居民代表 李",
    ]);
    assert!(
        out.contains("--role approver --name \"居民代表 李\""),
        "{out}"
    );
    let li = ledger_keys::read(&work.path().join("li.key")).unwrap();
    let li = hex::encode(li.verifying_key().as_bytes());
    let wang = cli.keygen("wang.key");
    let finance = cli.keygen("finance.key");
    for (public, role, name) in [
        (finance.as_str(), "finance", "街道财政所"),
        (li.as_str(), "approver", "居民代表 李"),
        (wang.as_str(), "approver", "居民代表 王"),
    ] {
        cli.post(&[
            "key", "register", "--public", public, "--role", role, "--name", name, "--key", admin,
        ]);
    }
    cli.post(&[
        "account",
        "open",
        "--id",
        "pool:fiscal",
        "--kind",
        "fund-pool",
        "--source",
        "财政",
        "--name",
        "区财政",
        "--key",
        admin,
    ]);
    cli.post(&[
        "account",
        "open",
        "--id",
        "payee:lift",
        "--kind",
        "payee",
        "--name",
        "安达电梯",
        "--key",
        "finance.key",
    ]);
    cli.post(&[
        "project",
        "create",
        "--id",
        "lift",
        "--name",
        "加装电梯",
        "--budget",
        "fiscal=5000000",
        "--key",
        admin,
    ]);

    // An amount above the confirmation line (default 1,000,000 yuan) is not posted from a
    // script without --yes; nothing is written.
    let receipt = [
        "receipt",
        "--source",
        "fiscal",
        "--to",
        "pool:fiscal",
        "--amount",
        "2000000",
        "--key",
        "finance.key",
    ];
    let before = json_lines(&cli.ok(&["entries", "--json", "--limit", "100"])).len();
    let (code, _, err) = cli.run(&receipt);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--yes") && err.contains("¥2,000,000.00"),
        "{err}"
    );
    assert_eq!(
        json_lines(&cli.ok(&["entries", "--json", "--limit", "100"])).len(),
        before
    );
    let mut meant = receipt.to_vec();
    meant.push("--yes");
    cli.post(&meant);
    // A lower line set by the environment applies to smaller amounts too.
    let (code, _, err) = {
        let out = std::process::Command::new(ledger_e2e::binary("ledger"))
            .args([
                "allocate",
                "--from",
                "pool:fiscal",
                "--project",
                "lift",
                "--amount",
                "fiscal=900000",
                "--key",
                "finance.key",
            ])
            .env("LEDGER_NODE", &node.addr)
            .env("LEDGER_CONFIRM_ABOVE", "100000")
            .current_dir(work.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::new(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("¥100,000.00"), "{err}");
    // A refusal from the ledger reads in Chinese first, then English; --lang en leaves English.
    let overdraw = [
        "allocate",
        "--from",
        "pool:fiscal",
        "--project",
        "lift",
        "--amount",
        "fiscal=3000000",
        "--yes",
        "--key",
        "finance.key",
    ];
    let err = cli.refused(&overdraw, "INSUFFICIENT_FUNDS");
    let zh_at = err.find("余额不足").unwrap_or_else(|| panic!("{err}"));
    assert!(zh_at < err.find("available").unwrap(), "{err}");
    let mut english = overdraw.to_vec();
    english.extend(["--lang", "en"]);
    let err = cli.refused(&english, "INSUFFICIENT_FUNDS");
    assert!(
        !err.contains("余额不足") && err.contains("available"),
        "{err}"
    );
    // Above the ledger's bound an amount is refused outright.
    let (code, _, err) = cli.run(&[
        "receipt",
        "--source",
        "fiscal",
        "--to",
        "pool:fiscal",
        "--amount",
        "99999999999999999",
        "--yes",
        "--key",
        "finance.key",
    ]);
    assert_eq!(code, 2, "{err}");
    cli.post(&[
        "allocate",
        "--from",
        "pool:fiscal",
        "--project",
        "lift",
        "--amount",
        "fiscal=900000",
        "--key",
        "finance.key",
    ]);

    // Entries: newest first, each with its entry number and transaction id, and how to page.
    let out = cli.ok(&["entries", "--limit", "3"]);
    let numbers: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let size = json_lines(&cli.ok(&["entries", "--json", "--limit", "100"])).len();
    let newest: Vec<String> = (size - 3..size).rev().map(|n| format!("#{n}")).collect();
    assert_eq!(numbers, newest, "{out}");
    assert!(
        out.contains("交易号 tx ") && out.contains("北京时间"),
        "{out}"
    );
    assert!(
        out.contains(&format!("ledger entries --before {}", size - 3)),
        "{out}"
    );
    let older = cli.ok(&[
        "entries",
        "--before",
        &(size - 3).to_string(),
        "--limit",
        "2",
    ]);
    let older_numbers: Vec<&str> = older
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        older_numbers,
        [format!("#{}", size - 4), format!("#{}", size - 5)],
        "{older}"
    );

    // A proposal at or above the threshold (10,000): approvals say where it stands.
    std::fs::write(work.path().join("contract.pdf"), b"contract").unwrap();
    let proposal = cli.post(&[
        "disburse",
        "propose",
        "--project",
        "lift",
        "--payee",
        "payee:lift",
        "--amount",
        "fiscal=300000",
        "--contract",
        "contract.pdf",
        "--key",
        "finance.key",
    ]);
    let first = cli.ok(&[
        "disburse",
        "approve",
        "--proposal",
        &proposal,
        "--key",
        "li.key",
    ]);
    assert!(first.contains("还需 1 位居民代表批准"), "{first}");
    // The second approval names the proposal by its entry number, as `ledger entries` shows it.
    let entry_of_proposal = json_lines(&cli.ok(&["entries", "--json", "--limit", "100"]))
        .into_iter()
        .find(|e| e["tx_id"] == proposal.as_str())
        .unwrap()["sequence"]
        .as_u64()
        .unwrap()
        .to_string();
    let second = cli.ok(&[
        "disburse",
        "approve",
        "--proposal",
        &entry_of_proposal,
        "--key",
        "wang.key",
    ]);
    assert!(
        second.contains("已达法定人数") && second.contains("公示") && second.contains("北京时间"),
        "{second}"
    );

    // A rejected proposal shows why and who rejected it, by name.
    let other = cli.post(&[
        "disburse",
        "propose",
        "--project",
        "lift",
        "--payee",
        "payee:lift",
        "--amount",
        "fiscal=20000",
        "--contract",
        "contract.pdf",
        "--key",
        "finance.key",
    ]);
    cli.post(&[
        "disburse",
        "reject",
        "--proposal",
        &other,
        "--reason",
        "报价过高",
        "--key",
        "wang.key",
    ]);
    let list = cli.ok(&["disbursements"]);
    let rejected = list
        .split_once(&other)
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        rejected.contains("报价过高") && rejected.contains("居民代表 王"),
        "{list}"
    );

    // Structured JSON: the proposal's payee, project and fen per source.
    let proposed = json_lines(&cli.ok(&["entries", "--json", "--limit", "100"]))
        .into_iter()
        .find(|e| e["tx_id"] == proposal.as_str())
        .unwrap();
    assert_eq!(proposed["kind"], "disbursement_proposed");
    assert_eq!(proposed["payee"], "payee:lift");
    assert_eq!(proposed["project"], "lift");
    assert_eq!(proposed["amounts"][0]["fen"], 30_000_000);
    assert_eq!(proposed["amounts"][0]["source"], "fiscal");

    // A reversal names the mistaken receipt by its entry number.
    cli.post(&[
        "receipt",
        "--source",
        "fiscal",
        "--to",
        "pool:fiscal",
        "--amount",
        "100",
        "--key",
        "finance.key",
    ]);
    let receipt_entry = json_lines(&cli.ok(&["entries", "--json", "--limit", "1"])).remove(0);
    assert_eq!(receipt_entry["kind"], "funds_received");
    let (code, out, err) = cli.run(&[
        "reverse",
        "--target",
        &receipt_entry["sequence"].to_string(),
        "--reason",
        "重复录入",
        "--key",
        "finance.key",
        "--json",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    // What the node said the entry is, is shown before it is signed.
    let target = receipt_entry["tx_id"].as_str().unwrap();
    assert!(
        err.contains(&format!("= 交易号 tx {target}")) && err.contains("receive"),
        "{err}"
    );
    let reversed: Value = serde_json_value::from_str(out.trim()).unwrap();
    let reversed = reversed["tx_id"].as_str().unwrap().to_string();
    let reversal = json_lines(&cli.ok(&["entries", "--json", "--limit", "1"]));
    assert_eq!(reversal[0]["tx_id"], reversed.as_str());
    assert_eq!(reversal[0]["target_tx_id"], receipt_entry["tx_id"]);

    // An entry number that does not exist is a local error naming it.
    let (code, _, err) = cli.run(&[
        "reverse",
        "--target",
        "999",
        "--reason",
        "x",
        "--key",
        "finance.key",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("没有第 999 条"), "{err}");
}

#[test]
fn an_offline_build_without_a_node_asks_for_the_ledger_id() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("contract.pdf"), b"contract").unwrap();
    let cli = Cli {
        node: "http://127.0.0.1:1".into(),
        dir: work.path(),
    };
    let build = [
        "tx",
        "build",
        "disburse",
        "propose",
        "--project",
        "lift",
        "--payee",
        "payee:lift",
        "--amount",
        "fiscal=300000",
        "--contract",
        "contract.pdf",
    ];
    let (code, _, err) = cli.run(&build);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--ledger-id"), "{err}");
    let mut offline = build.to_vec();
    offline.extend(["--ledger-id", "xingfuli.example.gov.cn/fund"]);
    let out = cli.ok(&offline);
    assert!(out.contains("\"body\""), "{out}");
}
