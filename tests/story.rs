//! The whole story a community lives, driven through the real `ledger`, `ledger-node` and
//! `verifier` binaries: genesis, keys, accounts, receipts from every source, an allocation,
//! a disbursement proposed offline and approved by both representatives, one rejected, a
//! reversal, a CSV import run twice, and an exported snapshot that the verifier passes, and
//! fails once a single byte is changed.

use std::process::Command;

use ledger_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_community_lives_its_whole_story_through_the_command_line() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let node = Node::start(data.path(), &[]);
    let cli = Cli {
        node: format!("http://{}", node.addr),
        dir: work.path(),
    };
    let admin = data
        .path()
        .join("keys/admin.key")
        .to_string_lossy()
        .into_owned();

    // Keys: a finance office and two residents' representatives, registered by the admin.
    let finance = cli.keygen("finance.key");
    let li = cli.keygen("li.key");
    let wang = cli.keygen("wang.key");
    for (public, role, name) in [
        (&finance, "finance", "街道财政所"),
        (&li, "approver", "居民代表 李"),
        (&wang, "approver", "居民代表 王"),
    ] {
        cli.post(&[
            "key", "register", "--public", public, "--role", role, "--name", name, "--key", &admin,
        ]);
    }
    assert_eq!(cli.ok(&["keys"]).lines().count(), 4);

    // Accounts: a fund pool per source (English or Chinese names), a payee, a project.
    for (id, source) in [
        ("pool:fiscal", "fiscal"),
        ("pool:social", "社会资本"),
        ("pool:resident", "居民自筹"),
        ("pool:crowd", "众筹"),
    ] {
        cli.post(&[
            "account",
            "open",
            "--id",
            id,
            "--kind",
            "fund-pool",
            "--source",
            source,
            "--name",
            id,
            "--key",
            &admin,
        ]);
    }
    cli.post(&[
        "account",
        "open",
        "--id",
        "payee:elevator-co",
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
        "elevator",
        "--name",
        "3号楼加装电梯",
        "--budget",
        "fiscal=600000",
        "--budget",
        "social-capital=400000",
        "--budget",
        "resident=200000",
        "--budget",
        "众筹=100000",
        "--key",
        &admin,
    ]);

    // Receipts from every source; a resident keeps the salt that proves her payment.
    cli.post(&[
        "receipt",
        "--source",
        "fiscal",
        "--to",
        "pool:fiscal",
        "--amount",
        "600000.00",
        "--memo",
        "区财政专项资金",
        "--key",
        "finance.key",
    ]);
    cli.post(&[
        "receipt",
        "--source",
        "social-capital",
        "--to",
        "pool:social",
        "--amount",
        "400,000",
        "--key",
        "finance.key",
    ]);
    let out = cli.ok(&[
        "receipt",
        "--source",
        "居民自筹",
        "--to",
        "pool:resident",
        "--amount",
        "200000",
        "--contributor",
        "3-1-101 王阿姨",
        "--receipt-out",
        "wang.receipt",
        "--key",
        "finance.key",
        "--json",
    ]);
    let v: serde_json_value::Value = serde_json_value::from_str(out.trim()).unwrap();
    let salt = v["contributor_salt"].as_str().unwrap().to_string();
    cli.post(&[
        "receipt",
        "--source",
        "crowdfunding",
        "--to",
        "pool:crowd",
        "--amount",
        "120000.5",
        "--key",
        "finance.key",
    ]);
    let mistake = cli.post(&[
        "receipt",
        "--source",
        "fiscal",
        "--to",
        "pool:fiscal",
        "--amount",
        "1000",
        "--memo",
        "重复录入",
        "--key",
        "finance.key",
    ]);
    cli.post(&[
        "reverse",
        "--target",
        &mistake,
        "--reason",
        "重复录入，冲正",
        "--key",
        "finance.key",
    ]);

    // Sources by their common names (捐赠, 贷款), and an unknown one named with every choice.
    for (name, shown) in [("捐赠", "慈善捐赠"), ("贷款", "银行贷款")] {
        let built = cli.ok(&[
            "tx", "build", "receipt", "--source", name, "--to", "pool:x", "--amount", "1",
        ]);
        assert!(built.contains(shown), "{built}");
    }
    let (code, _, err) = cli.run(&[
        "tx", "build", "receipt", "--source", "gold", "--to", "pool:x", "--amount", "1",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("未知的资金来源") && err.contains("慈善捐赠 (捐赠"),
        "{err}"
    );

    // An allocation, then a disbursement proposed offline: built, signed, submitted.
    cli.post(&[
        "allocate",
        "--from",
        "pool:fiscal",
        "--project",
        "elevator",
        "--amount",
        "fiscal=540000",
        "--key",
        "finance.key",
    ]);
    std::fs::write(work.path().join("contract.pdf"), b"contract 2026-017").unwrap();
    let unsigned = cli.ok(&[
        "tx",
        "build",
        "disburse",
        "propose",
        "--project",
        "elevator",
        "--payee",
        "payee:elevator-co",
        "--amount",
        "财政=300000",
        "--contract",
        "contract.pdf",
        "--memo",
        "电梯首付款",
    ]);
    std::fs::write(work.path().join("tx.json"), &unsigned).unwrap();
    let signed = cli.ok(&["tx", "sign", "--key", "finance.key", "tx.json"]);
    std::fs::write(work.path().join("tx.signed"), &signed).unwrap();
    let proposal = cli.post(&["tx", "submit", "tx.signed"]);
    // Both representatives approve, one of them on another machine through a file.
    cli.post(&[
        "disburse",
        "approve",
        "--proposal",
        &proposal,
        "--key",
        "li.key",
    ]);
    let unsigned = cli.ok(&[
        "tx",
        "build",
        "disburse",
        "approve",
        "--proposal",
        &proposal,
    ]);
    std::fs::write(work.path().join("approve.json"), &unsigned).unwrap();
    std::fs::write(
        work.path().join("approve.signed"),
        cli.ok(&["tx", "sign", "--key", "wang.key", "approve.json"]),
    )
    .unwrap();
    cli.post(&["tx", "submit", "approve.signed"]);
    // A second proposal is rejected by a representative.
    let second = cli.post(&[
        "disburse",
        "propose",
        "--project",
        "elevator",
        "--payee",
        "payee:elevator-co",
        "--amount",
        "fiscal=90000",
        "--contract-hash",
        &"ab".repeat(32),
        "--key",
        "finance.key",
    ]);
    cli.post(&[
        "disburse",
        "reject",
        "--proposal",
        &second,
        "--reason",
        "报价过高",
        "--key",
        "wang.key",
    ]);
    let disbursements = cli.ok(&["disbursements", "--json"]);
    let states: Vec<String> = disbursements
        .lines()
        .map(|l| {
            serde_json_value::from_str::<serde_json_value::Value>(l).unwrap()["state"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // Approved by both, the first waits out the development ledger's 7-day public notice.
    assert_eq!(states, ["pending", "rejected"]);

    // Refusals have meaningful exit codes and change nothing.
    let (code, _, err) = cli.run(&[
        "allocate",
        "--from",
        "pool:fiscal",
        "--project",
        "elevator",
        "--amount",
        "fiscal=1",
        "--key",
        "finance.key",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("INSUFFICIENT_FUNDS"), "{err}");
    let (code, _, err) = cli.run(&[
        "disburse",
        "approve",
        "--proposal",
        &proposal,
        "--key",
        "finance.key",
    ]);
    assert_eq!(code, 1, "{err}");
    for bad in ["1.005", "-3", "1e3", "abc"] {
        let (code, _, err) = cli.run(&[
            "receipt",
            "--source",
            "fiscal",
            "--to",
            "pool:fiscal",
            "--amount",
            bad,
            "--key",
            "finance.key",
        ]);
        assert_eq!(code, 2, "amount {bad}: {err}");
    }
    let (code, _, err) = cli.run(&[
        "receipt",
        "--source",
        "gold",
        "--to",
        "pool:fiscal",
        "--amount",
        "1",
        "--key",
        "finance.key",
    ]);
    assert_eq!(code, 2, "{err}");
    std::fs::copy(work.path().join("li.key"), work.path().join("open.key")).unwrap();
    std::fs::set_permissions(
        work.path().join("open.key"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    let (code, _, err) = cli.run(&[
        "disburse",
        "approve",
        "--proposal",
        &proposal,
        "--key",
        "open.key",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    let unreachable = Cli {
        node: "http://127.0.0.1:9".into(),
        dir: work.path(),
    };
    let (code, _, err) = unreachable.run(&["balances"]);
    assert_eq!(code, 3, "{err}");
    // Chinese first, the root cause once, no cause repeated.
    assert!(err.starts_with("ledger: 连不上节点"), "{err}");
    assert_eq!(err.matches("tcp connect error").count(), 2, "{err}");
    assert!(err.contains("Connection refused"), "{err}");
    // An address without a scheme is the same node.
    let bare = Cli {
        node: node.addr.clone(),
        dir: work.path(),
    };
    bare.ok(&["balances"]);

    // A CSV import, run twice: the second run posts nothing.
    let csv = "\u{feff}kind,source,amount,account,project,payee,contract_hash,memo\r\n\
               receipt,resident,500.00,pool:resident,,,,\"3-2-401, 补缴\"\r\n\
               receipt,众筹,88.8,pool:crowd,,,,众筹第5批\r\n\
               disbursement,fiscal,1000,,elevator,payee:elevator-co,"
        .to_string()
        + &"cd".repeat(32)
        + ",验收款\r\n";
    std::fs::write(work.path().join("import.csv"), csv).unwrap();
    let first = cli.ok(&["import", "import.csv", "--key", "finance.key"]);
    assert!(first.contains("3 posted, 0 already"), "{first}");
    let again = cli.ok(&["import", "import.csv", "--key", "finance.key"]);
    assert!(again.contains("0 posted, 3 already"), "{again}");
    // A file with a row the ledger refuses (an unknown pool); the row fixed, the file runs
    // again: only the fixed row is posted (before, every row's id changed and all were
    // posted twice).
    let rows = |third: &str| {
        format!(
            "kind,source,amount,account,memo\n\
             receipt,resident,10,pool:resident,补缴 A\n\
             receipt,resident,20,pool:resident,补缴 B\n\
             receipt,resident,30,{third},补缴 C\n"
        )
    };
    std::fs::write(work.path().join("fix.csv"), rows("pool:nowhere")).unwrap();
    let (code, out, _) = cli.run(&["import", "fix.csv", "--key", "finance.key"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("2 posted, 0 already in the ledger, 1 refused"),
        "{out}"
    );
    std::fs::write(work.path().join("fix.csv"), rows("pool:resident")).unwrap();
    let fixed = cli.ok(&["import", "fix.csv", "--key", "finance.key"]);
    assert!(fixed.contains("1 posted, 2 already"), "{fixed}");
    // A retry with --tx-id repeats the same transaction (later, so with another clock): the
    // node answers with the original entry instead of TX_ID_CONFLICT.
    let retry = [
        "receipt",
        "--source",
        "resident",
        "--to",
        "pool:resident",
        "--amount",
        "5",
        "--memo",
        "重试",
        "--tx-id",
        "0123456789abcdef0123456789abcdef",
        "--key",
        "finance.key",
    ];
    let first = cli.ok(&retry);
    assert!(first.contains("已记账 posted: 第"), "{first}");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = cli.ok(&retry);
    assert!(second.contains("already in the ledger"), "{second}");
    assert_eq!(
        first.split_whitespace().nth(3),
        second.split_whitespace().nth(3),
        "the same entry: {first} / {second}"
    );
    let mut other = retry.to_vec();
    other[6] = "6";
    let (code, _, err) = cli.run(&other);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("other content"), "{err}");

    // The balances the node serves.
    let balances = cli.ok(&["balances", "--json"]);
    let b: serde_json_value::Value = serde_json_value::from_str(&balances).unwrap();
    let received = |source: &str| {
        b["received"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["source"] == source)
            .unwrap()["fen"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(received("fiscal"), 60_000_000);
    assert_eq!(received("crowdfunding"), 12_000_050 + 8_880);
    let projects = cli.ok(&["projects"]);
    // Held: the 300,000 on public notice and the 1,000 the import proposed.
    assert!(projects.contains("301,000.00"), "{projects}");

    // The resident checks her own payment from her receipt.
    // What the notice board carries: the ledger fingerprint (`ledger checkpoint` computes it
    // from entry 0), typed as a resident might, in lower case without dashes.
    let cp: serde_json_value::Value =
        serde_json_value::from_str(&cli.ok(&["checkpoint", "--json"])).unwrap();
    let ledger_fp = cp["ledger_fingerprint"].as_str().unwrap().to_string();
    let node_key = ledger_fp.replace('-', "").to_lowercase();
    let verifier = |args: &[&str]| {
        let out = Command::new(binary("verifier"))
            .args(args)
            .current_dir(work.path())
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = verifier(&[
        "receipt",
        "wang.receipt",
        "--trust",
        &node_key,
        "--salt",
        &salt,
        "--contributor",
        "3-1-101 王阿姨",
    ]);
    assert_eq!(code, 0, "{out}");

    // The snapshot passes the verifier; with one byte changed it fails.
    cli.ok(&["snapshot", "export", "ledger.snapshot"]);
    let fingerprint = ledger_fp.clone();
    let (code, out) = verifier(&["verify", "ledger.snapshot", "--trust", &fingerprint]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("600,000.00 元") && out.contains("3号楼加装电梯"),
        "{out}"
    );
    // Times in Beijing time, held money in its own column, payees by name.
    assert!(
        out.contains("北京时间") && out.contains("held 冻结待付"),
        "{out}"
    );
    assert!(out.contains("安达电梯"), "{out}");
    let mut bytes = std::fs::read(work.path().join("ledger.snapshot")).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x04;
    std::fs::write(work.path().join("tampered.snapshot"), bytes).unwrap();
    let (code, out) = verifier(&["verify", "tampered.snapshot", "--trust", &fingerprint]);
    assert_eq!(code, 1, "{out}");
    // In plain words, with what to do, and no figures from the failed ledger.
    assert!(
        out.contains("未通过") && out.contains("发生了什么") && out.contains("请这样做"),
        "{out}"
    );
    assert!(
        !out.contains("600,000.00") && !out.contains("3号楼加装电梯"),
        "figures of a failed ledger are not shown: {out}"
    );
    let (_, json) = verifier(&[
        "verify",
        "tampered.snapshot",
        "--trust",
        &fingerprint,
        "--json",
    ]);
    let v: serde_json_value::Value = serde_json_value::from_str(&json).unwrap();
    assert_eq!(v["figures_trusted"], false, "{json}");
    assert!(v["failure_plain"]["zh"].as_str().is_some(), "{json}");
}
