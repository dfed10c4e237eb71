//! Public disclosure statements (issue 17), with the real node on a clock moved by libfaketime
//! so that its ledger spans two quarters: the node's statements and the ones `verifier report`
//! remakes from a snapshot are the same bytes; their figures equal the verifier's own fold at
//! the period's end and reconcile; the workbook, the data package, the printed page and its QR
//! code are checked with independent readers (openpyxl, frictionless, Chromium's print,
//! poppler, zbar).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use ledger_core::build;
use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::state::{FundSource, Role};
use ledger_e2e::webdriver::Browser;
use ledger_e2e::*;
use ledger_report::period::Date;
use serde_json_value::Value;

/// Unix milliseconds of a UTC time, as libfaketime's clock starts at it.
fn utc_ms(year: i32, month: u32, day: u32, hour: i64) -> i64 {
    Date::new(year, month, day).unwrap().days_since_epoch() * 86_400_000 + hour * 3_600_000
}

fn faketime(at: &str) -> [(&'static str, String); 3] {
    [
        ("LD_PRELOAD", ensure_faketime().to_string()),
        ("FAKETIME", format!("@{at}")),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".into()),
    ]
}

fn start(dir: &Path, at: &str) -> Node {
    let env = faketime(at);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Node::start_with_env(dir, "serve", "127.0.0.1:0", "127.0.0.1:0", &[], &env)
}

/// The community's keys, and transactions stamped with the node's (faked) time of day.
struct Office {
    ledger_id: String,
    admin: SigningKey,
    finance: SigningKey,
    li: SigningKey,
    wang: SigningKey,
    /// The client time put in the bodies: the phase's start, which the node's clock passed.
    now_ms: i64,
}

impl Office {
    fn envelope(&self, kind: Kind, keys: &[&SigningKey]) -> (proto::SignedEnvelope, [u8; 16]) {
        let id = random_tx_id();
        let body = build::body(&self.ledger_id, id, self.now_ms, kind);
        (build::envelope(body, keys), id)
    }

    async fn post(&self, node: &Node, kind: Kind, keys: &[&SigningKey]) -> [u8; 16] {
        let mut client =
            proto::ledger_client::LedgerClient::connect(format!("http://{}", node.addr))
                .await
                .unwrap();
        let (envelope, id) = self.envelope(kind, keys);
        submit(&mut client, envelope)
            .await
            .expect("the node accepts it");
        id
    }
}

fn receipt(source: FundSource, pool: &str, yuan: u64, who: Option<&str>, memo: &str) -> Kind {
    Kind::FundsReceived(proto::FundsReceived {
        source: source.to_proto() as i32,
        to_account: pool.into(),
        amount_fen: yuan * YUAN,
        contributor_commitment: who
            .map(|w| ledger_core::hashing::contributor_commitment(&[9u8; 32], w).to_vec())
            .unwrap_or_default(),
        memo: memo.into(),
        document_hash: vec![],
    })
}

fn allocate(from: &str, source: FundSource, yuan: u64) -> Kind {
    Kind::FundsAllocated(proto::FundsAllocated {
        from_account: from.into(),
        project_id: "elevator".into(),
        amounts: build::source_amounts(&[(source, yuan * YUAN)]),
        memo: "拨付电梯项目".into(),
    })
}

fn propose(amounts: &[(FundSource, u64)], contract: &str) -> Kind {
    let fen: Vec<_> = amounts.iter().map(|(s, y)| (*s, y * YUAN)).collect();
    Kind::DisbursementProposed(proto::DisbursementProposed {
        project_id: "elevator".into(),
        payee_account: "payee:builder".into(),
        amounts: build::source_amounts(&fen),
        contract_hash: ledger_core::hashing::document_hash(contract.as_bytes()).to_vec(),
        invoice_hash: vec![],
        memo: contract.into(),
    })
}

fn open(id: &str, kind: proto::AccountKind, source: Option<FundSource>) -> Kind {
    Kind::AccountOpened(proto::AccountOpened {
        account_id: id.into(),
        kind: kind as i32,
        source: source.map_or(0, |s| s.to_proto() as i32),
        name: id.into(),
    })
}

/// Q3 2026: keys, pools, the project, receipts (one entered twice and reversed), allocations,
/// a small payment under the approval threshold.
async fn third_quarter(node: &Node, o: &Office) {
    for (key, role, name) in [
        (&o.finance, Role::Finance, "街道财政所"),
        (&o.li, Role::Approver, "居民代表 李"),
        (&o.wang, Role::Approver, "居民代表 王"),
    ] {
        o.post(node, register(key, role, name), &[&o.admin]).await;
    }
    o.post(
        node,
        open(
            "pool:fiscal",
            proto::AccountKind::FundPool,
            Some(FundSource::Fiscal),
        ),
        &[&o.admin],
    )
    .await;
    o.post(
        node,
        open(
            "pool:resident",
            proto::AccountKind::FundPool,
            Some(FundSource::Resident),
        ),
        &[&o.admin],
    )
    .await;
    o.post(
        node,
        open("payee:builder", proto::AccountKind::Payee, None),
        &[&o.admin],
    )
    .await;
    let budget = build::source_amounts(&[
        (FundSource::Fiscal, 600_000 * YUAN),
        (FundSource::Resident, 200_000 * YUAN),
    ]);
    let project = Kind::ProjectCreated(proto::ProjectCreated {
        project_id: "elevator".into(),
        name: "3号楼加装电梯".into(),
        description: String::new(),
        budget,
    });
    o.post(node, project, &[&o.admin]).await;
    let f = &o.finance;
    o.post(
        node,
        receipt(
            FundSource::Fiscal,
            "pool:fiscal",
            500_000,
            None,
            "区财政专项",
        ),
        &[f],
    )
    .await;
    // A careless (or hostile) memo a spreadsheet would run as a formula.
    for (home, memo) in [
        ("101", "住户分摊"),
        ("201", "=1+2 住户分摊"),
        ("301", "住户分摊"),
    ] {
        o.post(
            node,
            receipt(
                FundSource::Resident,
                "pool:resident",
                50_000,
                Some(home),
                memo,
            ),
            &[f],
        )
        .await;
    }
    let twice = o
        .post(
            node,
            receipt(
                FundSource::Resident,
                "pool:resident",
                50_000,
                Some("301"),
                "住户分摊（重复录入）",
            ),
            &[f],
        )
        .await;
    let reversal = Kind::EntryReversed(proto::EntryReversed {
        target_tx_id: twice.to_vec(),
        reason: "重复录入，冲正".into(),
    });
    o.post(node, reversal, &[f]).await;
    o.post(
        node,
        allocate("pool:fiscal", FundSource::Fiscal, 300_000),
        &[f],
    )
    .await;
    o.post(
        node,
        allocate("pool:resident", FundSource::Resident, 100_000),
        &[f],
    )
    .await;
    let small = o
        .post(
            node,
            propose(&[(FundSource::Fiscal, 9_000)], "勘察合同 2026-031"),
            &[f],
        )
        .await;
    let execute = Kind::DisbursementExecuted(proto::DisbursementExecuted {
        proposal_tx_id: small.to_vec(),
    });
    o.post(node, execute, &[f]).await;
}

/// Waits until the node's snapshot (its witnessed checkpoint) covers every entry, and returns it.
async fn whole_snapshot(node: &Node) -> Vec<u8> {
    let mut client = proto::ledger_client::LedgerClient::connect(format!("http://{}", node.addr))
        .await
        .unwrap();
    let size = client
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    let size = ledger_core::checkpoint::SignedCheckpoint::parse(&size.text)
        .unwrap()
        .checkpoint
        .tree_size;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let index = get_json(node, "/reports");
        if index["snapshot_size"] == size {
            let r = request(&node.http, "GET", "/snapshot", &[], b"");
            assert_eq!(r.status, 200);
            return r.body;
        }
        assert!(
            Instant::now() < deadline,
            "the witnesses did not cosign {size} entries: {index}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn get_json(node: &Node, path: &str) -> Value {
    let r = request(&node.http, "GET", path, &[], b"");
    assert_eq!(
        r.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    serde_json_value::from_slice(&r.body).unwrap()
}

fn verifier(args: &[&str]) -> (i32, String) {
    let out = Command::new(binary("verifier"))
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// A CSV file as rows of fields (the statements' CSV quote nothing our test data needs).
fn csv(dir: &Path, name: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    let text = text
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark for Excel");
    text.split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

fn fen(yuan: &str) -> u64 {
    ledger_core::amount::parse_yuan(yuan)
        .or_else(|_| (yuan == "0.00").then_some(0).ok_or(()))
        .unwrap()
}

/// `sources.csv` as source → [opening, received, paid, reversed in, reversed out, closing] in fen.
fn sources(dir: &Path) -> BTreeMap<String, [u64; 6]> {
    csv(dir, "sources.csv")[1..]
        .iter()
        .map(|r| (r[0].clone(), std::array::from_fn(|i| fen(&r[i + 1]))))
        .collect()
}

/// Per source in fen (pools + projects + reserve); per (project, source) its five figures; the
/// reserve per source.
type Fold = (
    BTreeMap<String, u64>,
    BTreeMap<(String, String), [u64; 5]>,
    BTreeMap<String, u64>,
);

/// What `verifier verify --json` says a snapshot holds per source in pools, projects and the
/// reserve, and per project and source.
fn verifier_fold(dir: &Path, snapshot: &[u8], trust: &str) -> Fold {
    let file = dir.join("fold.snapshot");
    std::fs::write(&file, snapshot).unwrap();
    let (code, out) = verifier(&["verify", file.to_str().unwrap(), "--trust", trust, "--json"]);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json_value::from_str(&out).unwrap();
    let mut held = BTreeMap::new();
    for a in v["accounts"].as_array().unwrap() {
        if ["fund_pool", "project", "reserve"].contains(&a["kind"].as_str().unwrap()) {
            for f in a["balance"].as_array().unwrap() {
                *held
                    .entry(f["source_zh"].as_str().unwrap().to_string())
                    .or_default() += f["fen"].as_u64().unwrap();
            }
        }
    }
    let mut projects = BTreeMap::new();
    for p in v["projects"].as_array().unwrap() {
        for f in p["figures"].as_array().unwrap() {
            let n = |k: &str| f[k].as_u64().unwrap();
            projects.insert(
                (
                    p["id"].as_str().unwrap().to_string(),
                    f["source_zh"].as_str().unwrap().to_string(),
                ),
                [
                    n("budget_fen"),
                    n("allocated_fen"),
                    n("held_fen"),
                    n("spent_fen"),
                    n("remaining_fen"),
                ],
            );
        }
    }
    let reserve = v["reserve"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["source_zh"].as_str().unwrap().to_string(),
                f["fen"].as_u64().unwrap(),
            )
        })
        .collect();
    (held, projects, reserve)
}

/// Checks a statement's figures against the verifier's fold of a snapshot ending at the period's
/// end, and that each source reconciles.
fn figures_equal_the_fold(statement: &Path, work: &Path, fold_snapshot: &[u8], trust: &str) {
    let (held, projects, reserve) = verifier_fold(work, fold_snapshot, trust);
    for (source, [opening, received, paid, rev_in, rev_out, closing]) in sources(statement) {
        assert_eq!(
            opening + received + rev_in - paid - rev_out,
            closing,
            "{source} reconciles"
        );
        assert_eq!(
            held.get(&source).copied().unwrap_or(0),
            closing,
            "{source}: closing = the verifier's pools + projects + reserve"
        );
    }
    let rows = csv(statement, "projects.csv");
    assert_eq!(
        rows.len() - 1,
        projects.len(),
        "one row per project and source"
    );
    for r in &rows[1..] {
        let figures: [u64; 5] = std::array::from_fn(|i| fen(&r[4 + i]));
        assert_eq!(projects[&(r[0].clone(), r[3].clone())], figures, "{r:?}");
    }
    for r in &csv(statement, "reserve.csv")[1..] {
        assert_eq!(
            reserve.get(&r[0]).copied().unwrap_or(0),
            fen(&r[4]),
            "reserve {r:?}"
        );
    }
}

/// A venv under target/ with openpyxl and frictionless, made once.
fn python() -> PathBuf {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-check");
    python_venv(
        &base,
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("report/requirements.txt"),
    )
}

fn check_with_python(args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("report/check.py");
    let out = Command::new(python())
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "check.py {args:?}: {text}");
    eprintln!("{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_for_two_quarters_are_the_ledgers_and_anyone_can_remake_them() {
    let data = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();

    // Q3: the ledger is created on 10 August 2026 (UTC) and the quarter's business done.
    let mut node = start(data.path(), "2026-08-10 02:00:00");
    let mut o = Office {
        ledger_id: Signer::of(
            &mut proto::ledger_client::LedgerClient::connect(format!("http://{}", node.addr))
                .await
                .unwrap(),
        )
        .await
        .ledger_id,
        admin: node.admin_key(),
        finance: SigningKey::from_bytes(&random_seed()),
        li: SigningKey::from_bytes(&random_seed()),
        wang: SigningKey::from_bytes(&random_seed()),
        now_ms: utc_ms(2026, 8, 10, 2),
    };
    third_quarter(&node, &o).await;
    let q3_snapshot = whole_snapshot(&node).await;
    let trust = ledger_fingerprint_of(&q3_snapshot, data.path());
    assert!(node.terminate());

    // Q4: receipts, an allocation, a large payment approved by both representatives (7 days'
    // notice), a new key; paid after the notice, on 20 November.
    node = start(data.path(), "2026-11-05 02:00:00");
    o.now_ms = utc_ms(2026, 11, 5, 2);
    let f = o.finance.clone();
    o.post(
        &node,
        receipt(
            FundSource::Fiscal,
            "pool:fiscal",
            100_000,
            None,
            "区财政第二批",
        ),
        &[&f],
    )
    .await;
    o.post(
        &node,
        receipt(
            FundSource::Resident,
            "pool:resident",
            50_000,
            Some("401"),
            "住户分摊",
        ),
        &[&f],
    )
    .await;
    o.post(
        &node,
        allocate("pool:resident", FundSource::Resident, 40_000),
        &[&f],
    )
    .await;
    let big = o
        .post(
            &node,
            propose(
                &[
                    (FundSource::Fiscal, 200_000),
                    (FundSource::Resident, 50_000),
                ],
                "电梯采购安装合同 2026-017",
            ),
            &[&f],
        )
        .await;
    for rep in [o.li.clone(), o.wang.clone()] {
        o.post(
            &node,
            Kind::DisbursementApproved(proto::DisbursementApproved {
                proposal_tx_id: big.to_vec(),
            }),
            &[&rep],
        )
        .await;
    }
    let auditor = SigningKey::from_bytes(&random_seed());
    o.post(
        &node,
        register(&auditor, Role::Auditor, "第三方审计"),
        &[&o.admin],
    )
    .await;
    assert!(node.terminate());
    node = start(data.path(), "2026-11-20 02:00:00");
    o.now_ms = utc_ms(2026, 11, 20, 2);
    // The Q4 sheet as the office would print it now, while Q4 is still running.
    let posted_size = whole_snapshot(&node).await;
    let posted_size = ledger_core::snapshot::SnapshotReader::open(posted_size.as_slice())
        .unwrap()
        .header()
        .entry_count;
    let posted = request(
        &node.http,
        "GET",
        "/reports/2026-Q4/statement.html",
        &[],
        b"",
    );
    assert_eq!(posted.status, 200);
    o.post(
        &node,
        Kind::DisbursementExecuted(proto::DisbursementExecuted {
            proposal_tx_id: big.to_vec(),
        }),
        &[&f],
    )
    .await;
    let snapshot = whole_snapshot(&node).await;
    let snapshot_file = w.join("ledger.snapshot");
    std::fs::write(&snapshot_file, &snapshot).unwrap();

    // The node lists the periods its ledger spans.
    let index = get_json(&node, "/reports");
    let names: Vec<&str> = index["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for p in ["2026", "2026-Q4", "2026-Q3", "2026-11", "2026-08"] {
        assert!(names.contains(&p), "{p} in {names:?}");
    }
    assert_eq!(
        index["files"].as_array().unwrap().len(),
        ledger_report::FILES.len()
    );

    // Node and verifier make the same bytes, file by file, in both languages.
    for (period, lang) in [
        ("2026-Q3", "zh"),
        ("2026-Q4", "zh"),
        ("2026", "zh"),
        ("2026-Q3", "en"),
    ] {
        let out = w.join(format!("{period}-{lang}"));
        let (code, text) = verifier(&[
            "report",
            snapshot_file.to_str().unwrap(),
            "--trust",
            &trust,
            "--period",
            period,
            "--out",
            out.to_str().unwrap(),
            "--lang",
            lang,
        ]);
        assert_eq!(code, 0, "{text}");
        assert!(
            text.contains("快照已核验") && text.contains("verified"),
            "{text}"
        );
        for name in ledger_report::FILES {
            let r = request(
                &node.http,
                "GET",
                &format!("/reports/{period}/{name}?lang={lang}"),
                &[],
                b"",
            );
            assert_eq!(
                r.status,
                200,
                "{period}/{name}: {}",
                String::from_utf8_lossy(&r.body)
            );
            assert_eq!(
                r.header("content-type"),
                Some(ledger_report::content_type(name))
            );
            if name.ends_with(".html") {
                let csp = r.header("content-security-policy").unwrap_or_default();
                assert!(
                    csp.contains("default-src 'none'"),
                    "no script in a statement: {csp}"
                );
            }
            let remade = std::fs::read(out.join(name)).unwrap();
            assert!(
                r.body == remade,
                "{period}/{name} ({lang}): the node's file and the verifier's differ"
            );
        }
    }

    // A clerk's `ledger report` makes the same files on the clerk's machine; with a stranger's
    // fingerprint it refuses and writes nothing.
    let cli = Cli {
        node: format!("http://{}", node.addr),
        dir: w,
    };
    let clerk = w.join("clerk");
    cli.ok(&[
        "report",
        "--period",
        "2026-Q3",
        "--trust",
        &trust,
        "--out",
        clerk.to_str().unwrap(),
    ]);
    for name in ledger_report::FILES {
        let (a, b) = (
            std::fs::read(clerk.join(name)).unwrap(),
            std::fs::read(w.join("2026-Q3-zh").join(name)).unwrap(),
        );
        assert!(
            a == b,
            "ledger report's {name} differs from verifier report's"
        );
    }
    let stranger = stranger_ledger();
    let refused = w.join("clerk-refused");
    let (code, _, err) = cli.run(&[
        "report",
        "--period",
        "2026-Q3",
        "--trust",
        &stranger,
        "--out",
        refused.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("未通过核验") && !refused.exists(), "{err}");

    // Q3's figures are the verifier's fold of the ledger as it stood at the quarter's end; Q4
    // opens where Q3 closed and its figures are the fold of the whole ledger.
    let (q3, q4) = (w.join("2026-Q3-zh"), w.join("2026-Q4-zh"));
    figures_equal_the_fold(&q3, w, &q3_snapshot, &trust);
    figures_equal_the_fold(&q4, w, &snapshot, &trust);
    let (s3, s4) = (sources(&q3), sources(&q4));
    for (source, figures) in &s4 {
        assert_eq!(
            figures[0],
            s3.get(source).map_or(0, |f| f[5]),
            "{source}: Q4 opens where Q3 closed"
        );
    }
    // The story, in yuan: fiscal 500,000 in, 9,000 paid in Q3; 100,000 in and 200,000 paid in Q4.
    // Residents paid 4 × 50,000 in Q3, one entered twice and reversed (3 contributors).
    assert_eq!(
        s3["财政"],
        [0, 500_000 * YUAN, 9_000 * YUAN, 0, 0, 491_000 * YUAN]
    );
    assert_eq!(
        s3["居民自筹"],
        [0, 200_000 * YUAN, 0, 0, 50_000 * YUAN, 150_000 * YUAN]
    );
    assert_eq!(
        s4["财政"],
        [
            491_000 * YUAN,
            100_000 * YUAN,
            200_000 * YUAN,
            0,
            0,
            391_000 * YUAN
        ]
    );
    assert_eq!(
        s4["居民自筹"],
        [
            150_000 * YUAN,
            50_000 * YUAN,
            50_000 * YUAN,
            0,
            0,
            150_000 * YUAN
        ]
    );
    let q3_rows = csv(&q3, "sources.csv");
    let resident = q3_rows.iter().find(|r| r[0] == "居民自筹").unwrap();
    assert_eq!(
        &resident[7..],
        ["4", "3", "0"],
        "receipts, contributors, receipts without a commitment"
    );
    assert_eq!(csv(&q3, "reversals.csv").len(), 2, "one reversal in Q3");
    let receipts = csv(&q3, "receipts.csv");
    assert!(
        receipts.iter().any(|r| r[7] == "'=1+2 住户分摊"),
        "a formula in a memo is defused: {receipts:?}"
    );
    assert_eq!(
        csv(&q4, "reversals.csv").len(),
        1,
        "none in Q4 (the header only)"
    );
    let q4_pay = csv(&q4, "disbursements.csv");
    assert_eq!(
        q4_pay.len(),
        3,
        "the large payment, one row per source: {q4_pay:?}"
    );
    assert!(
        q4_pay[1].contains(&"已支付".to_string()) && q4_pay[1].contains(&"2".to_string()),
        "{q4_pay:?}"
    );
    let q4_keys = csv(&q4, "governance.csv");
    assert!(
        q4_keys
            .iter()
            .any(|r| r.iter().any(|c| c.contains("第三方审计"))),
        "{q4_keys:?}"
    );
    // Whether a period is over is said by the command, not printed in the files: the Q3
    // statement made from the snapshot taken while Q3 was still running is the same bytes as
    // the one made after Q4 began.
    let q3_then = w.join("2026-Q3-then");
    let q3_then_snapshot = w.join("q3.snapshot");
    std::fs::write(&q3_then_snapshot, &q3_snapshot).unwrap();
    let report = |snapshot: &Path, period: &str, out: &Path, extra: &[&str]| {
        let mut args = vec![
            "report",
            snapshot.to_str().unwrap(),
            "--trust",
            &trust,
            "--period",
            period,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        verifier(&args)
    };
    let (code, then) = report(&q3_then_snapshot, "2026-Q3", &q3_then, &[]);
    assert_eq!(code, 0, "{then}");
    assert!(then.contains("未结束"), "{then}");
    let (_, now) = report(&snapshot_file, "2026-Q3", &w.join("2026-Q3-now"), &[]);
    assert!(now.contains("已结束"), "{now}");
    for name in ledger_report::FILES {
        let (a, b) = (
            std::fs::read(q3_then.join(name)).unwrap(),
            std::fs::read(q3.join(name)).unwrap(),
        );
        assert!(a == b, "{name}: the Q3 statement changed once Q3 was over");
    }
    // The Q4 sheet printed before the last payment is remade from today's snapshot with --at.
    let at = posted_size.to_string();
    let (code, text) = report(
        &snapshot_file,
        "2026-Q4",
        &w.join("2026-Q4-at"),
        &["--at", &at],
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        std::fs::read(w.join("2026-Q4-at/statement.html")).unwrap() == posted.body,
        "--at {at} remakes the posted Q4 sheet"
    );
    let (code, text) = report(
        &snapshot_file,
        "2026-Q4",
        &w.join("2026-Q4-beyond"),
        &["--at", "100000"],
    );
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("--at 100000"), "{text}");

    // The workbook and the data package, read by others' code.
    let tables: Vec<&str> = ledger_report::FILES
        .iter()
        .filter(|n| n.ends_with(".csv") && **n != "budget.csv")
        .map(|n| n.trim_end_matches(".csv"))
        .collect();
    let mut args = vec!["xlsx", q3.to_str().unwrap()];
    args.extend(&tables);
    check_with_python(&args);
    check_with_python(&["package", q4.to_str().unwrap()]);

    // The printed page: A4, one page per section, Chinese text, a QR code that decodes to the
    // ledger fingerprint, size and root.
    printed_statement(&node, &q3, w, &trust);

    // Many residents asking for the same new statement at once: one makes it, all get it.
    let askers: Vec<_> = (0..8)
        .map(|i| {
            let http = node.http.clone();
            std::thread::spawn(move || {
                let name = ledger_report::FILES[i % ledger_report::FILES.len()];
                request(&http, "GET", &format!("/reports/2026-11/{name}"), &[], b"").status
            })
        })
        .collect();
    for asker in askers {
        assert_eq!(asker.join().unwrap(), 200);
    }

    bad_requests_change_nothing(&node, &snapshot_file, &trust, w);
    an_operators_rewritten_ledger_gets_no_statement(&node, &snapshot, &trust, w);
}

fn printed_statement(node: &Node, statement: &Path, work: &Path, trust: &str) {
    assert!(
        Path::new("/usr/bin/pdftoppm").exists() && Path::new("/usr/bin/zbarimg").exists() || apt_install(&["poppler-utils", "zbar-tools"]),
        "this test reads the printed statement with poppler and zbar: apt-get install poppler-utils zbar-tools"
    );
    // The page lists the periods and links each statement; the link is what gets printed.
    let page = format!("http://{}/", node.http);
    let (pdf, offered) = tokio::task::block_in_place(|| {
        let b = Browser::start(1000, 1400);
        b.goto(&page);
        let link = b.wait_for(
            "the Q3 statement in the page's list",
            Duration::from_secs(30),
            "const a = document.querySelector('li[data-period=\"2026-Q3\"] a'); return a ? a.href : null;",
        );
        let offered = b.run(
            "return [...document.querySelectorAll('#reports li')].map(li => li.dataset.period);",
            serde_json_value::json!([]),
        );
        b.goto(link.as_str().unwrap());
        (b.print_pdf(), offered)
    });
    let offered: Vec<&str> = offered
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for p in ["2026", "2026-Q4", "2026-Q3", "2026-11", "2026-08"] {
        assert!(offered.contains(&p), "the page offers {p}: {offered:?}");
    }
    let pdf_file = work.join("statement.pdf");
    std::fs::write(&pdf_file, &pdf).unwrap();
    let info = String::from_utf8(
        Command::new("pdfinfo")
            .arg(&pdf_file)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        info.contains("595.") && info.contains("841.") && info.contains("(A4)"),
        "{info}"
    );
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(pages, 9, "one page per section: {info}");
    let text = String::from_utf8(
        Command::new("pdftotext")
            .args(["-layout"])
            .arg(&pdf_file)
            .arg("-")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    for words in [
        "财务公开报表",
        "资金来源与余额",
        "收入明细",
        "风险准备金",
        "项目预算与执行",
        "491,000.00",
    ] {
        assert!(
            text.contains(words),
            "the printed statement says {words}: {text}"
        );
    }
    // Every page as an image, kept under target/ for a person to look at.
    let kept = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("statement-page");
    let ok = Command::new("pdftoppm")
        .args(["-r", "150", "-png"])
        .arg(&pdf_file)
        .arg(&kept)
        .status()
        .unwrap();
    assert!(ok.success());
    let png = PathBuf::from(format!("{}-1.png", kept.display()));
    assert!(png.exists(), "pdftoppm wrote {}", png.display());
    let out = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(&png)
        .output()
        .unwrap();
    let decoded = String::from_utf8(out.stdout).unwrap();
    let summary: BTreeMap<String, String> = csv(statement, "summary.csv")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let expected = format!(
        "sunshine-ledger-statement/v1 fingerprint={trust} size={} root={} period=2026-Q3",
        summary["账本条目数（本表所据）"], summary["该条目数下的默克尔根"]
    );
    assert_eq!(
        decoded.trim(),
        expected,
        "the QR code on the printed page (kept at {})",
        kept.display()
    );
}

/// The fingerprint of some other ledger: eight groups of four, as on a notice board.
fn stranger_ledger() -> String {
    let digits = hex::encode_upper(&random_seed()[..16]);
    (0..8)
        .map(|i| &digits[i * 4..i * 4 + 4])
        .collect::<Vec<_>>()
        .join("-")
}

fn bad_requests_change_nothing(node: &Node, snapshot: &Path, trust: &str, work: &Path) {
    let before = get_json(node, "/reports");
    for (path, status, says) in [
        ("/reports/2026-Q5/statement.html", 400, "2026-Q1"),
        ("/reports/2026-Q3/nope.csv", 404, "sources.csv"),
        ("/reports/2025-Q1/statement.html", 404, "before"),
        ("/reports/2031/statement.html", 404, "after"),
        ("/reports/2026-Q3/statement.html?lang=fr", 400, "zh or en"),
        ("/reports/2026-+3/statement.html", 400, "2026-Q1"),
        (
            "/reports/2026-07-01..2026-08-01/statement.html",
            400,
            "verifier report",
        ),
    ] {
        let r = request(&node.http, "GET", path, &[], b"");
        let body = String::from_utf8_lossy(&r.body);
        assert_eq!(r.status, status, "{path}: {body}");
        assert!(body.contains(says), "{path}: {body}");
    }
    assert_eq!(get_json(node, "/reports"), before);

    let snap = snapshot.to_str().unwrap();
    let out = work.join("refused");
    let out_s = out.to_str().unwrap();
    let (code, text) = verifier(&[
        "report", snap, "--trust", trust, "--period", "2026-13", "--out", out_s,
    ]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("无法识别期间") && text.contains("2026-Q1"),
        "{text}"
    );
    let (code, text) = verifier(&[
        "report", snap, "--trust", trust, "--period", "2026-Q3", "--out", out_s, "--lang", "fr",
    ]);
    assert_eq!(code, 2, "{text}");
    // A tampered snapshot and a stranger's fingerprint: refused, nothing written.
    let mut bytes = std::fs::read(snapshot).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 1;
    let tampered = work.join("tampered.snapshot");
    std::fs::write(&tampered, &bytes).unwrap();
    let (code, text) = verifier(&[
        "report",
        tampered.to_str().unwrap(),
        "--trust",
        trust,
        "--period",
        "2026-Q3",
        "--out",
        out_s,
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("未通过核验"), "{text}");
    let stranger = stranger_ledger();
    let (code, text) = verifier(&[
        "report", snap, "--trust", &stranger, "--period", "2026-Q3", "--out", out_s,
    ]);
    assert_eq!(code, 1, "{text}");
    // A node key's fingerprint is not enough for a statement: a ledger remade with the real
    // node key would pass it.
    let node_key =
        ledger_core::snapshot::SnapshotReader::open(std::fs::read(snapshot).unwrap().as_slice())
            .unwrap()
            .header()
            .node_public_key;
    let node_key_fp = ledger_core::signing::KeyId::of(
        &ed25519_dalek::VerifyingKey::from_bytes(&node_key).unwrap(),
    )
    .fingerprint();
    let (code, text) = verifier(&[
        "report",
        snap,
        "--trust",
        &node_key_fp,
        "--period",
        "2026-Q3",
        "--out",
        out_s,
    ]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("账本指纹") && text.contains("ledger fingerprint"),
        "{text}"
    );
    // A file that is no snapshot says nothing about the ledger: exit 2, as `verify` says it.
    let junk = work.join("junk.snapshot");
    std::fs::write(&junk, b"not a snapshot").unwrap();
    let (code, text) = verifier(&[
        "report",
        junk.to_str().unwrap(),
        "--trust",
        trust,
        "--period",
        "2026-Q3",
        "--out",
        out_s,
    ]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("无法核验"), "{text}");
    // Judged before anything is said about what it holds: not "nothing recorded in 2031".
    for (file, fp) in [
        (snap, stranger.as_str()),
        (tampered.to_str().unwrap(), trust),
    ] {
        let (code, text) = verifier(&[
            "report", file, "--trust", fp, "--period", "2031", "--out", out_s,
        ]);
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("未通过核验"), "{text}");
    }
    assert!(!out.exists(), "nothing is written for a refused snapshot");
}

/// What the node's operator could publish instead, signed with the real node key: a ledger
/// with a new genesis under the real ledger id, and the real ledger with its last entry (the
/// large payment) hidden. Neither gets a statement against the notice board's fingerprint.
fn an_operators_rewritten_ledger_gets_no_statement(
    node: &Node,
    snapshot: &[u8],
    trust: &str,
    work: &Path,
) {
    let node_key = ledger_keys::read(&node.data_dir.join("node.key")).unwrap();
    let mut reader = ledger_core::snapshot::SnapshotReader::open(snapshot).unwrap();
    let ledger_id = reader.header().ledger_id.clone();
    let mut entries = Vec::new();
    while let Some(e) = reader.next_entry().unwrap() {
        entries.push((e.timestamp_ms, e.envelope));
    }
    entries.pop();
    let forged_genesis = forged_genesis_snapshot(
        &ledger_id,
        &node_key,
        &SigningKey::from_bytes(&random_seed()),
    );
    let hidden_payment = forge_snapshot(&ledger_id, &node_key, entries, &[]);
    for (name, bytes, code) in [
        ("genesis", forged_genesis, "LEDGER_NOT_TRUSTED"),
        ("hidden", hidden_payment, "NOT_WITNESSED"),
    ] {
        let file = work.join(format!("{name}.snapshot"));
        std::fs::write(&file, bytes).unwrap();
        let out = work.join(format!("{name}-statement"));
        let (status, text) = verifier(&[
            "report",
            file.to_str().unwrap(),
            "--trust",
            trust,
            "--period",
            "2026-Q4",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(status, 1, "{name}: {text}");
        assert!(text.contains(code), "{name}: {text}");
        assert!(!out.exists(), "{name}: nothing written");
    }
}
