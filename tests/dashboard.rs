//! The public dashboard in a real browser: `ledger-node demo` serves the page, headless
//! Chromium (Debian's, through chromedriver) opens it, and the test compares what a resident
//! sees with what the gRPC API says, posts a receipt with the real `ledger` CLI and watches it
//! arrive in the live feed, and saves screenshots (desktop and phone) for README.md.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use ledger_core::proto::{self, transaction_body::Kind};
use ledger_e2e::webdriver::Browser;
use ledger_e2e::*;
use prost::Message;
use serde_json_value::{json, Value};

/// ¥1,234.56: written here independently of the page's formatter, which it checks.
fn yuan(fen: u64) -> String {
    let digits = (fen / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("¥{grouped}.{:02}", fen % 100)
}

fn source_name(source: i32) -> String {
    proto::FundSource::try_from(source)
        .unwrap()
        .as_str_name()
        .to_string()
}

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard")
}

const LIVE: &str = "return document.body.dataset.live === 'true' \
    && document.querySelector('#totals .source-row') !== null \
    && document.querySelector('#feed details') !== null";

const TOTALS: &str =
    "return Array.from(document.querySelectorAll('#totals .source-row[data-source]'))\
    .map(r => [r.dataset.source, r.querySelector('.amount').textContent]);";

fn shown_totals(browser: &Browser) -> Vec<(String, String)> {
    browser
        .run(TOTALS, json!([]))
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn expected_totals(balances: &proto::Balances) -> Vec<(String, String)> {
    let mut rows: Vec<_> = balances
        .received
        .iter()
        .filter(|a| a.amount_fen > 0)
        .map(|a| (a.source, a.amount_fen))
        .collect();
    rows.sort();
    rows.into_iter()
        .map(|(s, fen)| (source_name(s), yuan(fen)))
        .collect()
}

async fn balances_now(
    client: &mut proto::ledger_client::LedgerClient<tonic::transport::Channel>,
) -> proto::Balances {
    client
        .get_balances(proto::GetBalancesRequest::default())
        .await
        .unwrap()
        .into_inner()
}

fn text(browser: &Browser, selector: &str) -> String {
    browser
        .run(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
            json!([selector]),
        )
        .as_str()
        .unwrap_or_else(|| panic!("nothing on the page matches {selector}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_ledger_and_follows_it_live() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_command(dir.path(), "demo", &[]);
    let mut client = node.client().await;
    let page = format!("http://{}/", node.http);
    let browser = tokio::task::spawn_blocking({
        let page = page.clone();
        move || {
            let b = Browser::start(1200, 3900);
            b.goto(&page);
            b.wait_for("the live ledger", Duration::from_secs(30), LIVE);
            b
        }
    })
    .await
    .unwrap();

    // The page's own money formatter, on its edge cases, in this browser.
    let failures = browser.run_async(
        "const done = arguments[arguments.length - 1]; \
         import('/money.js').then(m => done(m.selfTest()), e => done([String(e)]));",
        json!([]),
    );
    assert_eq!(failures, json!([]), "formatYuan in the browser");

    // The page's protobuf codec refuses bad bytes with a DecodeError (never another
    // exception, never a wrong value) and carries uint64 to its last bit.
    let codec = browser.run_async(
        "const done = arguments[arguments.length - 1];          import('/protobuf.js').then(pb => {            const bad = { truncated_length: [0x0a], truncated_field: [0x0a, 0x05, 0x41],              long_varint: [0x10, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 0x01],              field_zero: [0x00], wrong_wire_type: [0x0f], not_utf8: [0x0a, 0x02, 0xff, 0xfe],              reserved_wire_type: [0x0b] };            const out = {};            for (const [name, bytes] of Object.entries(bad)) {              try { pb.decode('ledger.v1.Checkpoint', new Uint8Array(bytes)); out[name] = 'accepted'; }              catch (e) { out[name] = e.name; }            }            const max = 18446744073709551615n;            const back = pb.decode('ledger.v1.GetInclusionProofRequest',              pb.encode('ledger.v1.GetInclusionProofRequest', { sequence: max, tree_size: 1n }));            out.uint64_max = back.sequence === max && back.tree_size === 1n;            const unknown = pb.decode('ledger.v1.Checkpoint', new Uint8Array([0x10, 0x07, 0xf8, 0x01, 0x01]));            out.unknown_field_skipped = unknown.tree_size === 7n;            done(out);          }, e => done(String(e)));",
        json!([]),
    );
    assert_eq!(
        codec,
        json!({
            "truncated_length": "DecodeError", "truncated_field": "DecodeError",
            "long_varint": "DecodeError", "field_zero": "DecodeError",
            "wrong_wire_type": "DecodeError", "not_utf8": "DecodeError",
            "reserved_wire_type": "DecodeError",
            "uint64_max": true, "unknown_field_skipped": true,
        })
    );

    // The page's own checks (web/verify.js) against the Rust implementations.
    check_the_pages_verification_code(&browser, &mut client).await;
    for id in [
        "check-fingerprint",
        "check-signature",
        "check-chain",
        "check-signatures",
        "check-inclusion",
        "check-consistency",
    ] {
        browser.wait_for(
            &format!("{id} passing"),
            Duration::from_secs(10),
            &format!("return document.getElementById('{id}')?.dataset.state === 'ok';"),
        );
    }
    assert_eq!(text(&browser, "#alarm"), "", "no alarm on an honest node");
    // The witnessed checkpoint: cosigned by the genesis's two demo witnesses, remembered by
    // this browser on its first visit and checked against on the next.
    browser.wait_for(
        "check-witnessed passing",
        Duration::from_secs(15),
        "return document.getElementById('check-witnessed')?.dataset.state === 'ok';",
    );
    browser.wait_for(
        "the witnessed checkpoint remembered",
        Duration::from_secs(10),
        "return document.getElementById('check-remembered')?.dataset.state === 'first';",
    );
    assert!(
        text(&browser, "#check-witnessed").contains("demo-witness.sunshine-ledger.local/township"),
        "{}",
        text(&browser, "#check-witnessed")
    );
    assert_eq!(text(&browser, "#witness-quorum"), "2 / 2 需联署");
    let shown = browser
        .run(
            "return document.querySelectorAll('#feed details').length;",
            json!([]),
        )
        .as_u64()
        .unwrap();
    assert!(
        text(&browser, "#check-chain").contains(&format!("({shown} 条)")),
        "{}",
        text(&browser, "#check-chain")
    );

    // Totals per source, and their sum, equal GetBalances.
    let balances = balances_now(&mut client).await;
    let expected = expected_totals(&balances);
    assert_eq!(shown_totals(&browser), expected);
    assert!(
        expected.contains(&("FUND_SOURCE_FISCAL".into(), "¥600,000.00".into())),
        "the demo's fiscal receipt: {expected:?}"
    );
    let received: u64 = balances.received.iter().map(|a| a.amount_fen).sum();
    assert_eq!(
        text(&browser, "#totals .source-row.total .amount"),
        yuan(received)
    );
    assert_eq!(text(&browser, "#sum-received .amount"), yuan(received));

    // Each project's budget, allocated, spent and remaining per source equal ListProjects.
    let projects = client
        .list_projects(proto::ListProjectsRequest::default())
        .await
        .unwrap()
        .into_inner();
    for p in &projects.projects {
        for f in &p.figures {
            let row = format!(
                "#projects .project[data-project='{}'] .project-source[data-source='{}']",
                p.project_id,
                source_name(f.source)
            );
            for (class, fen) in [
                ("budget", f.budget_fen),
                ("allocated", f.allocated_fen),
                ("spent", f.spent_fen),
                ("remaining", f.remaining_fen),
            ] {
                assert_eq!(
                    text(&browser, &format!("{row} .fig.{class} .amount")),
                    yuan(fen),
                    "{} {} {class}",
                    p.project_id,
                    source_name(f.source)
                );
            }
        }
    }

    // Pending disbursements with their approvals.
    let disbursements = client
        .list_disbursements(proto::ListDisbursementsRequest::default())
        .await
        .unwrap()
        .into_inner();
    let pending: Vec<_> = disbursements
        .disbursements
        .iter()
        .filter(|d| d.state == "pending")
        .collect();
    assert!(!pending.is_empty(), "the demo leaves one pending");
    let shown = browser.run(
        "return Array.from(document.querySelectorAll('#pending .disbursement'))\
         .map(d => [d.dataset.proposal, d.querySelector('.approvals .count').textContent]);",
        json!([]),
    );
    let expected: Vec<Value> = pending
        .iter()
        .map(|d| {
            json!([
                hex::encode(&d.proposal_tx_id),
                format!("批准 {} / {}", d.approvals.len(), d.approvals_needed)
            ])
        })
        .collect();
    assert_eq!(shown, json!(expected));
    // The demo's approved 500,000 is on its 7 days' public notice, with a household's objection
    // awaiting the office's answer.
    let notice = browser.run(
        "return Array.from(document.querySelectorAll('#pending .notice.running'))\
         .map(n => n.textContent);",
        json!([]),
    );
    assert_eq!(notice, json!(["公示中，还剩 7 天"]));
    let objections = browser.run(
        "return Array.from(document.querySelectorAll('#pending .objection'))\
         .map(o => [o.dataset.state, o.classList.contains('overdue'), o.textContent.includes('居民户')]);",
        json!([]),
    );
    assert_eq!(objections, json!([["open", false, true]]));

    // The checkpoint's fingerprints: the node key's is what `verifier --trust` takes.
    let cp = checkpoint(&mut client).await;
    let node_key =
        ed25519_dalek::VerifyingKey::from_bytes(&cp.node_public_key.clone().try_into().unwrap())
            .unwrap();
    let node_fp = ledger_core::signing::KeyId::of(&node_key).fingerprint();
    assert_eq!(text(&browser, "#node-key"), node_fp);
    // The ledger fingerprint, computed by the page from entry 0 as ledger-core does.
    let genesis = client
        .get_entry(proto::GetEntryRequest {
            by: Some(proto::get_entry_request::By::Sequence(0)),
        })
        .await
        .unwrap()
        .into_inner();
    let published = ledger_core::entry::ledger_fingerprint(&ledger_core::entry::Entry {
        sequence: genesis.sequence,
        prev_hash: genesis.prev_hash.clone().try_into().unwrap(),
        timestamp_ms: genesis.timestamp_ms,
        envelope: genesis.envelope.clone(),
    });
    assert_eq!(text(&browser, "#ledger-fingerprint"), published);
    assert_eq!(
        text(&browser, "#checkpoint-root"),
        ledger_verifier::report::short_hash(&cp.root_hash)
    );
    // The command takes the fingerprint from the notice board, never one the server serves.
    let command = text(&browser, "#verify pre");
    assert!(
        command.contains("--trust <公示栏上的账本指纹>"),
        "{command}"
    );
    assert!(!command.contains(&node_fp), "{command}");

    // The download link gives the snapshot ExportSnapshot gives.
    let exported = export(&mut client).await;
    let downloaded = browser.run_async(
        "const done = arguments[arguments.length - 1]; \
         fetch(document.getElementById('snapshot-link').href).then(r => r.arrayBuffer())\
         .then(b => done(Array.from(new Uint8Array(b))), e => done(String(e)));",
        json!([]),
    );
    let downloaded: Vec<u8> = downloaded
        .as_array()
        .unwrap_or_else(|| panic!("download failed: {downloaded}"))
        .iter()
        .map(|b| b.as_u64().unwrap() as u8)
        .collect();
    assert_eq!(downloaded, exported);

    // Expanding entries: signers by fingerprint, document hashes, the entry a correction reverses.
    let log = read_log(&mut client).await;
    let body_of = |e: &proto::Entry| {
        let env = proto::SignedEnvelope::decode(e.envelope.as_slice()).unwrap();
        (
            proto::TransactionBody::decode(env.body.as_slice()).unwrap(),
            env,
        )
    };
    let keys = client
        .list_keys(proto::ListKeysRequest::default())
        .await
        .unwrap()
        .into_inner();
    let (reversal, target) = log
        .iter()
        .find_map(|e| match body_of(e).0.kind {
            Some(Kind::EntryReversed(r)) => Some((e.sequence, r.target_tx_id)),
            _ => None,
        })
        .expect("the demo has a reversal");
    let target_seq = log
        .iter()
        .find(|e| body_of(e).0.tx_id == target)
        .unwrap()
        .sequence;
    browser.run(
        "document.querySelector(`#feed details[data-seq='${arguments[0]}']`).open = true;",
        json!([reversal]),
    );
    let shown_target = browser.wait_for(
        "the reversed entry",
        Duration::from_secs(5),
        &format!(
            "const t = document.querySelector(\"#feed details[data-seq='{reversal}'] .target\"); \
             return t && t.textContent.startsWith('#') ? t.textContent : null;"
        ),
    );
    assert!(
        shown_target
            .as_str()
            .unwrap()
            .starts_with(&format!("#{target_seq} ")),
        "{shown_target}"
    );
    let (_, envelope) = body_of(&log[reversal as usize]);
    let signer = keys
        .keys
        .iter()
        .find(|k| k.key_id == envelope.signatures[0].key_id)
        .unwrap();
    let shown_signer = text(
        &browser,
        &format!("#feed details[data-seq='{reversal}'] .signers li"),
    );
    assert!(
        shown_signer.contains(&signer.fingerprint) && shown_signer.contains(&signer.name),
        "{shown_signer} should name {} {}",
        signer.fingerprint,
        signer.name
    );
    let (proposal, contract) = log
        .iter()
        .rev()
        .find_map(|e| match body_of(e).0.kind {
            Some(Kind::DisbursementProposed(p)) => Some((e.sequence, p.contract_hash)),
            _ => None,
        })
        .unwrap();
    let hashes = text(
        &browser,
        &format!("#feed details[data-seq='{proposal}'] dl"),
    );
    assert!(hashes.contains(&hex::encode(&contract)), "{hashes}");

    // A new receipt, posted with the real CLI, appears at the top of the feed within 2 s of
    // its acknowledgement, and the totals follow.
    let memo = format!("浏览器测试 {}", hex::encode(random_tx_id()));
    let out = Command::new(binary("ledger"))
        .args(["--node", &format!("http://{}", node.addr), "--json"])
        .args([
            "receipt",
            "--source",
            "crowdfunding",
            "--to",
            "pool:crowd",
            "--amount",
            "88.88",
            "--memo",
            &memo,
        ])
        .arg("--key")
        .arg(dir.path().join("keys/finance.key"))
        .output()
        .unwrap();
    let acknowledged = Instant::now();
    assert!(
        out.status.success(),
        "ledger receipt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let posted: Value = serde_json_value::from_slice(&out.stdout).unwrap();
    let seq = posted["sequence"].as_u64().unwrap();
    let arrived = browser.wait_for(
        "the new receipt in the live feed",
        Duration::from_secs(2),
        &format!(
            "const first = document.querySelector('#feed details'); \
             return first && first.dataset.seq === '{seq}' ? first.textContent : null;"
        ),
    );
    let latency = acknowledged.elapsed();
    assert!(latency <= Duration::from_secs(2), "{latency:?}");
    let arrived = arrived.as_str().unwrap();
    assert!(
        arrived.contains(&memo) && arrived.contains("¥88.88") && arrived.contains("收到资金"),
        "{arrived}"
    );
    let balances = balances_now(&mut client).await;
    let expected = expected_totals(&balances);
    let deadline = Instant::now() + Duration::from_secs(2);
    while shown_totals(&browser) != expected {
        assert!(
            Instant::now() < deadline,
            "totals did not follow the new receipt: {:?} vs {expected:?}",
            shown_totals(&browser)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(text(&browser, "#checkpoint-size"), (seq + 1).to_string());
    // The new checkpoint was checked too: it extends the first, and the receipt is in it.
    browser.wait_for(
        "the new receipt's inclusion proof checked",
        Duration::from_secs(5),
        &format!(
            "const c = document.getElementById('check-inclusion'); \
             return c.dataset.state === 'ok' && c.textContent.includes('#{seq}');"
        ),
    );
    assert!(text(&browser, "#check-consistency").contains("2 个检查点"));
    eprintln!("receipt {seq} shown {latency:?} after its acknowledgement");
    // A co-signed policy change: the page shows the policy in force and who signed the change.
    let key = |file: &str| ledger_keys::read(&dir.path().join("keys").join(file)).unwrap();
    let signers = [
        key("admin.key"),
        key("approver-li.key"),
        key("approver-wang.key"),
    ];
    let change = Kind::PolicyChanged(proto::PolicyChanged {
        policy: Some(proto::Policy {
            approval_threshold_fen: 1_000_000,
            approver_quorum: 2,
            admin_quorum: 1,
            reserve_ratio_bp: 1000,
            approval_window_days: 30,
            notice_days: 5,
            objection_response_days: 10,
        }),
        reason: "居民代表大会决议".into(),
    });
    let signer = Signer::of(&mut client).await;
    submit(
        &mut client,
        signer.envelope(change, &signers.iter().collect::<Vec<_>>()),
    )
    .await
    .unwrap();
    let history = browser.wait_for(
        "the policy change in the governance section",
        Duration::from_secs(15),
        "const li = document.querySelector('#policy-history li'); return li && li.textContent;",
    );
    let history = history.as_str().unwrap();
    assert!(
        history.contains("居民代表大会决议")
            && history.contains("居民代表 李")
            && history.contains("管理员"),
        "{history}"
    );
    assert!(
        text(&browser, "#notice-days").starts_with("5 "),
        "{}",
        text(&browser, "#notice-days")
    );

    let shots = screenshots();
    let desktop = browser.screenshot(&shots.join("dashboard.png"));

    // The English switch changes the words, not the figures.
    browser.run("document.getElementById('lang-switch').click();", json!([]));
    assert_eq!(text(&browser, "#totals-title"), "Money by source");
    assert_eq!(shown_totals(&browser), expected);
    let first = text(&browser, "#feed details summary");
    assert!(first.contains("Policy changed"), "{first}");
    browser.run("document.getElementById('lang-switch').click();", json!([]));
    assert_eq!(text(&browser, "#totals-title"), "资金来源");

    // On a phone-sized screen the page is one column with no sideways scrolling.
    browser.set_window(412, 1800);
    let overflow = browser.run(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
        json!([]),
    );
    assert_eq!(overflow, json!(0), "horizontal overflow on a phone");
    let phone = browser.screenshot(&shots.join("dashboard-phone.png"));
    eprintln!("screenshots: {} and {}", desktop.display(), phone.display());

    // The next visit: the witnessed checkpoint must extend the one this browser remembered.
    browser.goto(&page);
    browser.wait_for("the live ledger again", Duration::from_secs(30), LIVE);
    browser.wait_for(
        "the remembered witnessed checkpoint extended",
        Duration::from_secs(15),
        "return document.getElementById('check-remembered')?.dataset.state === 'ok';",
    );
    // A browser that remembers another tree of the same size (what a forked node would meet)
    // raises the alarm instead.
    browser.run(
        "for (const k of Object.keys(localStorage)) {              if (k.startsWith('sunshine-ledger-witnessed:')) {                const v = JSON.parse(localStorage.getItem(k));                v.root = 'ab'.repeat(32); localStorage.setItem(k, JSON.stringify(v)); } }",
        json!([]),
    );
    browser.goto(&page);
    browser.wait_for(
        "the alarm for a history that does not extend the remembered one",
        Duration::from_secs(15),
        "return document.getElementById('check-remembered')?.dataset.state === 'bad';",
    );
    assert!(
        text(&browser, "#alarm").contains("上次核对过的见证检查点不一致"),
        "{}",
        text(&browser, "#alarm")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_says_when_the_node_goes_away_and_recovers_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(dir.path(), &[]);
    let page = format!("http://{}/", node.http);
    let browser = tokio::task::spawn_blocking(move || {
        let b = Browser::start(800, 1200);
        b.goto(&page);
        b.wait_for(
            "the live ledger",
            Duration::from_secs(30),
            "return document.body.dataset.live === 'true';",
        );
        b
    })
    .await
    .unwrap();
    let (grpc, http) = (node.addr.clone(), node.http.clone());
    // Open Subscribe streams (the page's) end on SIGTERM: the node exits cleanly and soon.
    let stopping = Instant::now();
    assert!(
        node.terminate(),
        "the node exits cleanly under an open page"
    );
    assert!(
        stopping.elapsed() < Duration::from_secs(10),
        "{:?}",
        stopping.elapsed()
    );
    let status = browser.wait_for(
        "that the connection is lost, and why",
        Duration::from_secs(10),
        "const s = document.getElementById('stream-status'); \
         return document.body.dataset.live === 'false' && s ? s.textContent : null;",
    );
    assert!(
        status.as_str().unwrap().contains("shutting down"),
        "the page says the node is shutting down: {status}"
    );
    let node = Node::start_at(dir.path(), "serve", &grpc, &http, &[]);
    browser.wait_for(
        "the live ledger again",
        Duration::from_secs(30),
        "return document.body.dataset.live === 'true';",
    );
    drop(node);
}

/// web/core.js (ledger-core's hashing and signature rule, compiled to WebAssembly) and
/// web/verify.js in the browser, against the blake3, sha2 and ed25519-dalek crates, ledger-core's test
/// vectors and real proofs from the node, including altered inputs that must fail.
async fn check_the_pages_verification_code(
    browser: &Browser,
    client: &mut proto::ledger_client::LedgerClient<tonic::transport::Channel>,
) {
    // Every shape of the BLAKE3 tree: within a block, a chunk, across chunks, several levels.
    let lengths = [
        0usize, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 2049, 3072, 3073, 4096, 4097, 5000, 8193,
        31744, 102400,
    ];
    let inputs: Vec<String> = lengths
        .iter()
        .map(|&n| hex::encode((0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>()))
        .collect();
    let context = "sunshine-ledger v1 entry";
    let expected: Vec<Value> = lengths
        .iter()
        .map(|&n| {
            let input: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
            json!(hex::encode(blake3::derive_key(context, &input)))
        })
        .collect();
    let computed = browser.run_async(
        "const [inputs, context, done] = arguments; \
         const unhex = h => Uint8Array.from(h.match(/../g) || [], b => parseInt(b, 16)); \
         const hex = b => Array.from(b, x => x.toString(16).padStart(2, '0')).join(''); \
         import('/core.js').then(c => done(inputs.map(i => \
           hex(c.deriveKey(context, unhex(i))))), e => done(String(e)));",
        json!([inputs, context]),
    );
    assert_eq!(
        computed,
        json!(expected),
        "the page's BLAKE3 (core.js) against the blake3 crate"
    );

    // SHA-256 and SHA-512 against the sha2 crate, across block boundaries.
    use sha2::Digest;
    let lengths = [
        0usize, 1, 55, 56, 63, 64, 111, 112, 127, 128, 129, 1000, 20000,
    ];
    let inputs: Vec<String> = lengths
        .iter()
        .map(|&n| hex::encode((0..n).map(|i| (i % 253) as u8).collect::<Vec<u8>>()))
        .collect();
    let expected: Vec<Value> = lengths
        .iter()
        .map(|&n| {
            let input: Vec<u8> = (0..n).map(|i| (i % 253) as u8).collect();
            json!(hex::encode(sha2::Sha256::digest(&input)))
        })
        .collect();
    let computed = browser.run_async(
        "const [inputs, done] = arguments; \
         const unhex = h => Uint8Array.from(h.match(/../g) || [], b => parseInt(b, 16)); \
         const hex = b => Array.from(b, x => x.toString(16).padStart(2, '0')).join(''); \
         import('/core.js').then(c => done(inputs.map(i => \
           hex(c.sha256(unhex(i))))), e => done(String(e)));",
        json!([inputs]),
    );
    assert_eq!(
        computed,
        json!(expected),
        "the page's SHA-256 (core.js) against the sha2 crate"
    );

    // Ed25519: the page accepts exactly what ed25519-dalek's verify_strict accepts.
    let cases = signature_cases();
    let expected: Vec<bool> = cases.iter().map(|(_, _, _, ok)| *ok).collect();
    assert!(expected.iter().filter(|ok| **ok).count() >= 10);
    assert!(expected.iter().filter(|ok| !**ok).count() >= 6);
    let given: Vec<Value> = cases
        .iter()
        .map(|(k, s, m, _)| json!([hex::encode(k), hex::encode(s), hex::encode(m)]))
        .collect();
    let computed = browser.run_async(
        "const [cases, done] = arguments; \
         const unhex = h => Uint8Array.from(h.match(/../g) || [], b => parseInt(b, 16)); \
         import('/core.js').then(c => done(cases.map(([k, s, m]) => \
           c.verify(unhex(k), unhex(s), unhex(m)))), e => done(String(e)));",
        json!([given]),
    );
    assert_eq!(
        computed,
        json!(expected),
        "the page's Ed25519 rule (core.js) against verify_strict"
    );

    // Key fingerprints and the signed checkpoint from ledger-core's vectors.
    let vectors: Value = serde_json_value::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../crates/ledger-core/tests/vectors.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let keys: Vec<Value> = vectors["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| json!([k["public_key"], k["fingerprint"]]))
        .collect();
    let verifier_key = vectors["checkpoint"]["verifier_key"].as_str().unwrap();
    let public_key = hex::encode(
        &base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            verifier_key.rsplit('+').next().unwrap(),
        )
        .unwrap()[1..],
    );
    let text = vectors["checkpoint"]["text"].as_str().unwrap();
    let results = browser.run_async(
        "const [keys, text, key, done] = arguments; \
         const unhex = h => Uint8Array.from(h.match(/../g) || [], b => parseInt(b, 16)); \
         import('/verify.js').then(async v => { \
           const out = {}; \
           out.fingerprints = keys.every(([k, fp]) => v.fingerprintOfKey(unhex(k)) === fp); \
           const parsed = v.parseCheckpoint(text); \
           out.size = String(parsed.size); \
           out.signature = v.verifyCheckpointSignature(parsed, unhex(key)); \
           const altered = v.parseCheckpoint(text.replace('\\n4\\n', '\\n5\\n')); \
           out.altered_size = v.verifyCheckpointSignature(altered, unhex(key)); \
           const other = unhex(key); other[0] ^= 1; \
           out.other_key = v.verifyCheckpointSignature(parsed, other); \
           out.garbage = []; \
           for (const bad of ['', 'a\\n1\\n', 'a\\nx\\nAAAA\\n\\n', text.replace('— ', '-- ')]) { \
             try { v.parseCheckpoint(bad); out.garbage.push('accepted'); } \
             catch (e) { out.garbage.push(e.name); } \
           } \
           done(out); \
         }, e => done(String(e)));",
        json!([keys, text, public_key]),
    );
    assert_eq!(
        results,
        json!({
            "fingerprints": true, "size": "4", "signature": true, "altered_size": false,
            "other_key": false,
            "garbage": ["VerifyError", "VerifyError", "VerifyError", "VerifyError"],
        })
    );

    // Merkle proofs from the node: valid ones pass, altered ones fail.
    let cp = checkpoint(client).await;
    let log = read_log(client).await;
    let index = log.len() as u64 / 2;
    let inclusion = client
        .get_inclusion_proof(proto::GetInclusionProofRequest {
            sequence: index,
            tree_size: cp.tree_size,
        })
        .await
        .unwrap()
        .into_inner();
    let old_size = 3u64;
    let consistency = client
        .get_consistency_proof(proto::GetConsistencyProofRequest {
            old_size,
            new_size: cp.tree_size,
        })
        .await
        .unwrap()
        .into_inner();
    let old_tree_root = hex::encode(ledger_core::merkle::root_of_leaves(
        &log[..old_size as usize]
            .iter()
            .map(|e| {
                ledger_core::merkle::entry_leaf_hash(&ledger_core::entry::Entry {
                    sequence: e.sequence,
                    prev_hash: e.prev_hash.clone().try_into().unwrap(),
                    timestamp_ms: e.timestamp_ms,
                    envelope: e.envelope.clone(),
                })
            })
            .collect::<Vec<_>>(),
    ));
    let hexes = |v: &[Vec<u8>]| v.iter().map(hex::encode).collect::<Vec<_>>();
    let entry = &log[index as usize];
    let results = browser.run_async(
        "const [e, index, size, incl, root, oldSize, oldRoot, cons, done] = arguments; \
         const unhex = h => Uint8Array.from(h.match(/../g) || [], b => parseInt(b, 16)); \
         import('/verify.js').then(v => { \
           const entry = { sequence: BigInt(e[0]), prev_hash: unhex(e[1]), timestamp_ms: BigInt(e[2]), \
             envelope: unhex(e[3]) }; \
           const h = v.entryHash(entry); \
           const leaf = v.entryLeafHash(entry); \
           const proof = incl.map(unhex); \
           const flipped = proof.map(p => p.slice()); if (flipped.length) flipped[0][0] ^= 1; \
           const c = cons.map(unhex); \
           const cFlipped = c.map(p => p.slice()); if (cFlipped.length) cFlipped[cFlipped.length - 1][31] ^= 1; \
           done({ \
             entry_hash: Array.from(h, x => x.toString(16).padStart(2, '0')).join(''), \
             inclusion: v.verifyInclusion(index, size, leaf, proof, unhex(root)), \
             inclusion_flipped: v.verifyInclusion(index, size, leaf, flipped, unhex(root)), \
             inclusion_wrong_index: v.verifyInclusion(index + 1, size, leaf, proof, unhex(root)), \
             inclusion_short: v.verifyInclusion(index, size, leaf, proof.slice(1), unhex(root)), \
             consistency: v.verifyConsistency(oldSize, size, c, unhex(oldRoot), unhex(root)), \
             consistency_flipped: v.verifyConsistency(oldSize, size, cFlipped, unhex(oldRoot), unhex(root)), \
             consistency_wrong_old: v.verifyConsistency(oldSize + 1, size, c, unhex(oldRoot), unhex(root)), \
           }); \
         }, e => done(String(e)));",
        json!([
            [
                entry.sequence,
                hex::encode(&entry.prev_hash),
                entry.timestamp_ms,
                hex::encode(&entry.envelope)
            ],
            index,
            cp.tree_size,
            hexes(&inclusion.hashes),
            hex::encode(&cp.root_hash),
            old_size,
            old_tree_root,
            hexes(&consistency.hashes),
        ]),
    );
    assert_eq!(
        results,
        json!({
            "entry_hash": hex::encode(&entry.entry_hash),
            "inclusion": true, "inclusion_flipped": false, "inclusion_wrong_index": false,
            "inclusion_short": false,
            "consistency": true, "consistency_flipped": false, "consistency_wrong_old": false,
        })
    );
}

/// A TCP proxy in front of the node's HTTP port that rewrites `from` into `to` (same length) in
/// everything the node sends: a node lying about an entry, as far as the browser can tell.
fn lying_proxy(upstream: String, from: &'static [u8], to: &'static [u8]) -> String {
    use std::io::{Read, Write};
    assert_eq!(from.len(), to.len());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                let Ok(mut server) = std::net::TcpStream::connect(&upstream) else {
                    return;
                };
                let (mut client_in, mut server_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || std::io::copy(&mut client_in, &mut server_out));
                let mut held: Vec<u8> = Vec::new();
                let mut buf = [0u8; 65536];
                loop {
                    let n = match server.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    held.extend_from_slice(&buf[..n]);
                    while let Some(at) = held.windows(from.len()).position(|w| w == from) {
                        held[at..at + from.len()].copy_from_slice(to);
                    }
                    // Hold back only a tail that could be the start of `from`.
                    let keep = (1..from.len())
                        .rev()
                        .find(|&k| held.len() >= k && held.ends_with(&from[..k]))
                        .unwrap_or(0);
                    let send = held.len() - keep;
                    if client.write_all(&held[..send]).is_err() {
                        break;
                    }
                    held.drain(..send);
                }
                let _ = client.write_all(&held);
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_rewrites_an_entry_sets_off_the_pages_alarm() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_command(dir.path(), "demo", &[]);
    // The demo's first household payment, "住户分摊 第1户", shown as household 7's.
    let proxy = lying_proxy(node.http.clone(), "第1户".as_bytes(), "第7户".as_bytes());
    let seq = tokio::task::spawn_blocking(move || {
        let b = Browser::start(1000, 1400);
        b.goto(&format!("http://{proxy}/"));
        b.wait_for("the live ledger", Duration::from_secs(30), LIVE);
        b.wait_for(
            "the alarm",
            Duration::from_secs(10),
            "return document.getElementById('check-chain').dataset.state === 'bad' \
             && document.getElementById('check-signatures').dataset.state === 'bad';",
        );
        let alarm = b
            .run(
                "return document.getElementById('alarm').textContent;",
                json!([]),
            )
            .as_str()
            .unwrap()
            .to_string();
        let bad = b.run(
            "return Array.from(document.querySelectorAll('#feed details.bad'))\
             .map(d => [d.dataset.seq, d.textContent.includes('第7户')]);",
            json!([]),
        );
        (alarm, bad)
    })
    .await
    .unwrap();
    let (alarm, bad) = seq;
    let rewritten = bad.as_array().unwrap();
    assert_eq!(rewritten.len(), 1, "exactly the rewritten entry: {bad}");
    let at = rewritten[0][0].as_str().unwrap();
    assert_eq!(rewritten[0][1], json!(true));
    assert!(
        alarm.contains("verifier") && alarm.contains(&format!("#{at}")),
        "{alarm}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_plain_http_on_a_network_name_the_page_still_checks_everything_itself() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_command(dir.path(), "demo", &[]);
    // A host name that is not localhost: to the browser this is a plain-HTTP site on the network
    // (a phone on the community's Wi-Fi), where browsers withhold WebCrypto; the page does not
    // need it.
    let port = node.http.rsplit(':').next().unwrap().to_string();
    let states = tokio::task::spawn_blocking(move || {
        let b = Browser::start_with(
            1000,
            1400,
            &["--host-resolver-rules=MAP ledger.community.test 127.0.0.1"],
        );
        b.goto(&format!("http://ledger.community.test:{port}/"));
        b.wait_for("the live ledger", Duration::from_secs(30), LIVE);
        assert_eq!(
            b.run("return window.isSecureContext;", json!([])),
            json!(false)
        );
        b.wait_for(
            "the checks",
            Duration::from_secs(10),
            "return document.getElementById('check-inclusion')?.dataset.state === 'ok' \
             && document.getElementById('check-remembered')?.dataset.state === 'first';",
        );
        b.run(
            "return Object.fromEntries(Array.from(document.querySelectorAll('.check'))\
             .map(c => [c.id, c.dataset.state]));",
            json!([]),
        )
    })
    .await
    .unwrap();
    assert_eq!(
        states,
        json!({
            "check-fingerprint": "ok",
            "check-signature": "ok",
            "check-chain": "ok",
            "check-signatures": "ok",
            "check-inclusion": "ok",
            "check-consistency": "ok",
            "check-witnessed": "ok",
            "check-remembered": "first",
        })
    );
}

/// Public key, signature, message, and whether ed25519-dalek's verify_strict accepts them.
type SignatureCase = (Vec<u8>, Vec<u8>, Vec<u8>, bool);

/// Honest signatures over messages of every SHA-512 block shape, and the refusals that matter.
fn signature_cases() -> Vec<SignatureCase> {
    use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
    let strict = |k: &[u8], s: &[u8], m: &[u8]| {
        let Ok(key) = VerifyingKey::from_bytes(&k.try_into().unwrap()) else {
            return false;
        };
        key.verify_strict(
            m,
            &ed25519_dalek::Signature::from_bytes(&s.try_into().unwrap()),
        )
        .is_ok()
    };
    let mut cases = Vec::new();
    let mut add = |k: Vec<u8>, s: Vec<u8>, m: Vec<u8>| {
        let ok = strict(&k, &s, &m);
        cases.push((k, s, m, ok));
    };
    for (i, n) in [0usize, 1, 63, 64, 111, 112, 127, 128, 1000, 18000]
        .into_iter()
        .enumerate()
    {
        let key = SigningKey::from_bytes(&[i as u8 + 7; 32]);
        let message: Vec<u8> = (0..n).map(|j| (j * 31 + i) as u8).collect();
        let signature = key.sign(&message).to_bytes().to_vec();
        let public = key.verifying_key().to_bytes().to_vec();
        add(public.clone(), signature.clone(), message.clone());
        if i == 4 {
            let mut m = message.clone();
            m[0] ^= 1;
            add(public.clone(), signature.clone(), m); // another message
            let mut r = signature.clone();
            r[3] ^= 1;
            add(public.clone(), r, message.clone()); // R altered
            let mut s = signature.clone();
            s[40] ^= 1;
            add(public.clone(), s, message.clone()); // s altered
                                                     // s + L: the same equation, a non-canonical scalar.
            let l: [u8; 32] =
                hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
                    .unwrap()
                    .try_into()
                    .unwrap();
            let mut s = signature.clone();
            let mut carry = 0u16;
            for (b, l) in s[32..].iter_mut().zip(l) {
                let v = *b as u16 + l as u16 + carry;
                *b = v as u8;
                carry = v >> 8;
            }
            add(public.clone(), s, message.clone());
            // The identity as public key and as R (small order), with s = 0: the equation holds.
            let mut identity = vec![0u8; 32];
            identity[0] = 1;
            let mut forged = identity.clone();
            forged.extend_from_slice(&[0u8; 32]);
            add(identity.clone(), forged.clone(), message.clone());
            // A y coordinate that is not reduced (y = p): not a canonical encoding.
            let mut unreduced =
                hex::decode("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
                    .unwrap();
            add(unreduced.clone(), signature.clone(), message.clone());
            unreduced[31] |= 0x80;
            add(
                public.clone(),
                [unreduced, signature[32..].to_vec()].concat(),
                message.clone(),
            );
        }
    }
    cases
}

/// The page's chain check on entries that skip: a node that leaves entries out of the live
/// feed is flagged, not taken as linked (before, any two non-consecutive entries passed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_flags_entries_left_out_of_the_live_feed() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_command(dir.path(), "demo", &[]);
    let mut client = node.client().await;
    let entries: Vec<Value> = read_log(&mut client)
        .await
        .into_iter()
        .take(4)
        .map(|e| {
            json!({
                "seq": e.sequence.to_string(), "prev": hex::encode(&e.prev_hash),
                "ts": e.timestamp_ms.to_string(), "env": hex::encode(&e.envelope),
                "hash": hex::encode(&e.entry_hash),
            })
        })
        .collect();
    let page = format!("http://{}/", node.http);
    let verdicts = tokio::task::spawn_blocking(move || {
        let b = Browser::start(800, 600);
        b.goto(&page);
        b.run_async(
            "const [entries, done] = arguments; \
             const unhex = h => Uint8Array.from(h.match(/../g) || [], b => parseInt(b, 16)); \
             const item = e => ({ envelope: null, body: null, entry: { sequence: BigInt(e.seq), \
               prev_hash: unhex(e.prev), timestamp_ms: BigInt(e.ts), envelope: unhex(e.env), \
               entry_hash: unhex(e.hash) } }); \
             import('/watchdog.js').then(w => { \
               const run = list => { \
                 const dog = new w.Watchdog({ call: async () => ({}) }, \
                   { lookup: () => undefined, reload: async () => {} }, () => {}); \
                 let previous; \
                 for (const e of list) { const i = item(e); dog.entry(i, previous); previous = i; } \
                 return [dog.checks.chain.state, dog.alarms.join(' | ')]; \
               }; \
               const [e0, e1, e2, e3] = entries; \
               done([run([e0, e1, e2, e3]), run([e0, e1, e3]), run([e1, e0])]); \
             }, e => done(String(e)));",
            json!([entries]),
        )
    })
    .await
    .unwrap();
    let verdicts = verdicts.as_array().expect("three verdicts");
    assert_eq!(
        verdicts[0][0],
        json!("ok"),
        "consecutive entries: {verdicts:?}"
    );
    assert_eq!(
        verdicts[1][0],
        json!("bad"),
        "entry 2 left out: {verdicts:?}"
    );
    assert!(
        verdicts[1][1].as_str().unwrap().contains("#1 → #3"),
        "the alarm names the gap: {verdicts:?}"
    );
    assert_eq!(verdicts[2][0], json!("bad"), "out of order: {verdicts:?}");
}

/// Hands `bytes` to the page's file input as a file the resident picked, as a browser does
/// after a file dialog (a DataTransfer's files), and fires its change event.
const PICK_FILE: &str = "const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0)); \
    const picked = new DataTransfer(); \
    picked.items.add(new File([bytes], arguments[1])); \
    const input = document.getElementById('whole-file'); \
    input.files = picked.files; \
    input.dispatchEvent(new Event('change'));";

const VERDICT: &str = "const v = document.getElementById('whole-verdict'); \
    return v ? [v.dataset.code, v.textContent, \
      Array.from(document.querySelectorAll('#whole-received li')).map(li => li.textContent), \
      (document.getElementById('whole-code') || {}).textContent || '', \
      Array.from(document.querySelectorAll('#whole-result [data-fen]')).map(e => e.dataset.fen), \
      document.querySelectorAll('#whole-pending li').length, \
      document.querySelectorAll('#whole-objections li').length, \
      Array.from(window.wholePhases || [])] : null;";

/// Starts a check: records the progress phases the page shows, then runs `start`.
const START_CHECK: &str = "window.wholePhases = new Set(); \
    document.getElementById('whole-result').replaceChildren(); \
    new MutationObserver(() => document.querySelectorAll('#whole-result [data-phase]') \
      .forEach(e => window.wholePhases.add(e.dataset.phase))) \
      .observe(document.getElementById('whole-result'), {childList: true, subtree: true});";

/// Every amount the verifier's report gives, in the order the page shows them: received and
/// reserve per source, each project's five figures per source, each pending disbursement's
/// amounts.
fn report_fens(r: &ledger_verifier::report::Report) -> Vec<String> {
    let sources = |v: &[ledger_verifier::report::SourceFigure]| {
        v.iter().map(|f| f.fen.to_string()).collect::<Vec<_>>()
    };
    let mut fens = sources(&r.received);
    fens.extend(sources(&r.reserve));
    for p in &r.projects {
        for f in &p.figures {
            for fen in [
                f.budget_fen,
                f.allocated_fen,
                f.spent_fen,
                f.held_fen,
                f.remaining_fen,
            ] {
                fens.push(fen.to_string());
            }
        }
    }
    for d in &r.pending_disbursements {
        fens.extend(sources(&d.amounts));
    }
    fens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_verifies_the_whole_ledger_with_the_projects_own_rust_verifier() {
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start_command(dir.path(), "demo", &[]);
    let mut client = node.client().await;
    wait_witnessed(&mut client).await;
    let snapshot = export_now(&mut client).await;
    // What the notice board carries, computed here from entry 0, and what the native verifier
    // (the same library) makes of the snapshot.
    let fingerprint = ledger_fingerprint_of(&snapshot, dir.path());
    let native = |bytes: &[u8], witnesses: &[&str]| {
        let trust = ledger_verifier::trust::Trust::parse(&fingerprint).unwrap();
        let witnesses: Vec<_> = witnesses
            .iter()
            .map(|v| ledger_core::checkpoint::parse_witness_vkey(v).unwrap())
            .collect();
        let outcome = ledger_verifier::check::verify_snapshot(
            bytes,
            &trust,
            &witnesses,
            2,
            |_| {},
            |_, _| {},
        );
        ledger_verifier::report::Report::from_outcome(&outcome)
    };
    let honest = native(&snapshot, &[]);
    assert!(honest.passed);
    let code_of = |r: &ledger_verifier::report::Report| r.failure.as_ref().unwrap().code;
    let mut tampered = snapshot.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x01;
    let tampered_code = code_of(&native(&tampered, &[]));
    // The node key's holder remakes the ledger with their own genesis.
    let node_key = ledger_keys::read(&dir.path().join("node.key")).unwrap();
    let forged = forged_genesis_snapshot(
        &honest.ledger.as_ref().unwrap().id,
        &node_key,
        &ed25519_dalek::SigningKey::from_bytes(&random_seed()),
    );
    let forged_code = code_of(&native(&forged, &[]));
    assert_eq!(forged_code, "LEDGER_NOT_TRUSTED");
    // A witness the resident requires: one of the ledger's own, and one that never cosigned.
    let governance = honest.governance.as_ref().unwrap();
    let real_witness = governance.witnesses[0].vkey.clone();
    let stranger = ledger_core::checkpoint::witness_vkey(&ledger_core::checkpoint::WitnessKey {
        name: "supervision.example/witness".into(),
        key: ed25519_dalek::SigningKey::from_bytes(&random_seed()).verifying_key(),
    });
    assert!(native(&snapshot, &[&real_witness]).passed);
    let stranger_code = code_of(&native(&snapshot, &[&stranger]));
    let expected_received: Vec<String> = honest
        .received
        .iter()
        .map(|f| format!("{}: {}", f.source_zh, yuan(f.fen)))
        .collect();
    let expected_fens = report_fens(&honest);
    assert!(expected_fens.len() > 10, "the demo has projects and money");
    let b64 = base64::engine::general_purpose::STANDARD;
    let http = node.http.clone();
    let typed = fingerprint.replace('-', "").to_lowercase();
    let page = tokio::task::spawn_blocking({
        let (real_witness, stranger) = (real_witness.clone(), stranger.clone());
        move || {
            let b = Browser::start(1000, 1400);
            b.goto(&format!("http://{http}/"));
            b.wait_for("the live ledger", Duration::from_secs(30), LIVE);
            // Nothing is pre-filled from the node: the resident types the notice board's value
            // (here in lower case, without dashes).
            let prefilled = b.run(
                "return [document.getElementById('whole-fingerprint').value, \
                  document.getElementById('whole-witnesses').value, \
                  document.getElementById('old-browser') === null];",
                json!([]),
            );
            let mut verdicts = Vec::new();
            for witnesses in ["", real_witness.as_str(), stranger.as_str(), "not a key"] {
                b.run(START_CHECK, json!([]));
                b.run(
                    "document.getElementById('whole-fingerprint').value = arguments[0]; \
                     document.getElementById('whole-witnesses').value = arguments[1]; \
                     document.getElementById('whole-download').click();",
                    json!([typed, witnesses]),
                );
                verdicts.push(b.wait_for("the verdict", Duration::from_secs(60), VERDICT));
            }
            b.run(
                "document.getElementById('whole-witnesses').value = '';",
                json!([]),
            );
            (b, prefilled, verdicts)
        }
    })
    .await
    .unwrap();
    let (b, prefilled, downloaded) = page;
    assert_eq!(
        prefilled,
        json!(["", "", true]),
        "the trust inputs are never filled by the node (and this browser is not told it is too old)"
    );
    let plain = &downloaded[0];
    assert_eq!(plain[0], "0", "{plain}");
    assert!(plain[1].as_str().unwrap().contains("通过"), "{plain}");
    assert_eq!(plain[2], json!(expected_received), "{plain}");
    // Every amount the page shows is the native verifier's, in order; so are the counts.
    assert_eq!(plain[4], json!(expected_fens), "{plain}");
    assert_eq!(plain[5], json!(honest.pending_disbursements.len()));
    assert_eq!(plain[6], json!(honest.objections.len()));
    // The page showed how far the download and the check had got.
    assert_eq!(plain[7], json!(["read", "verify"]), "{plain}");
    let (with_real, with_stranger, with_garbage) = (&downloaded[1], &downloaded[2], &downloaded[3]);
    assert_eq!(with_real[0], "0", "{with_real}");
    assert_eq!(with_stranger[0], "1", "{with_stranger}");
    assert!(
        with_stranger[3]
            .as_str()
            .unwrap()
            .starts_with(stranger_code),
        "{with_stranger} vs native {stranger_code}"
    );
    assert_eq!(
        with_stranger[4],
        json!([]),
        "no figures from a failed check"
    );
    assert_eq!(with_garbage[0], "2", "{with_garbage}");
    assert!(
        with_garbage[1].as_str().unwrap().contains("无法核验"),
        "{with_garbage}"
    );

    // With the node gone, files the resident picks are still checked: the verifier was loaded
    // with the page.
    assert!(node.terminate());
    let files = [
        (b64.encode(&tampered), "tampered.snapshot"),
        (b64.encode(&forged), "forged.snapshot"),
        (b64.encode(&snapshot), "ledger.snapshot"),
        (
            b64.encode(b"<!DOCTYPE html><html>login</html>"),
            "snapshot.html",
        ),
    ];
    let picked = tokio::task::spawn_blocking(move || {
        let mut verdicts = Vec::new();
        for (bytes, name) in files {
            b.run(START_CHECK, json!([]));
            b.run(PICK_FILE, json!([bytes, name]));
            verdicts.push(b.wait_for("the verdict", Duration::from_secs(60), VERDICT));
        }
        verdicts
    })
    .await
    .unwrap();
    // The same verdict and failure code as the native verifier, and no figures from it.
    for (page, code) in [(&picked[0], tampered_code), (&picked[1], forged_code)] {
        assert_eq!(page[0], "1", "{page}");
        assert!(
            page[3].as_str().unwrap().starts_with(code),
            "{page} vs native {code}"
        );
        assert_eq!(page[4], json!([]), "no figures from a failed ledger");
        assert!(page[1].as_str().unwrap().contains("未通过"));
    }
    let (honest_page, html_page) = (&picked[2], &picked[3]);
    assert_eq!(honest_page[0], "0", "{honest_page}");
    assert_eq!(honest_page[4], json!(expected_fens));
    assert_eq!(html_page[0], "2", "{html_page}");
    assert!(html_page[1].as_str().unwrap().contains("无法核验"));
}

/// A browser without WebAssembly (Chromium with V8's `--jitless`, which turns it off as an old
/// phone browser lacks it and iPhone Lockdown Mode disables it) is told so in plain words,
/// instead of getting a page that silently does nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_too_old_for_the_page_is_told_so() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start_command(dir.path(), "demo", &[]);
    let http = node.http.clone();
    let notice = tokio::task::spawn_blocking(move || {
        let b = Browser::start_with(800, 1000, &["--js-flags=--jitless"]);
        b.goto(&format!("http://{http}/"));
        b.wait_for(
            "the old-browser notice",
            Duration::from_secs(30),
            "const n = document.getElementById('old-browser'); return n ? n.textContent : null;",
        )
    })
    .await
    .unwrap();
    let notice = notice.as_str().unwrap();
    assert!(notice.contains("无法运行这个页面的核验"), "{notice}");
    assert!(notice.contains("WebAssembly is turned off"), "{notice}");
}

/// A node serving several ledgers: each ledger's page is `/l/<ledger>/`, shows that ledger's
/// money only, and checks that ledger's signatures, chain and proofs itself, like the root page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_ledger_of_a_node_has_its_own_page() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = Node::start_command(&data, "demo", &[]);
    let north = add_ledger(&data, "north.example/fund", "北区共同缔造基金");
    let mut n = node.client_for("north.example/fund").await;
    north.fund_pool(&mut n).await;
    for yuan in [1_200, 35] {
        submit_to(&mut n, north.receipt(random_tx_id(), yuan))
            .await
            .unwrap();
    }
    let balances = |n: &mut LedgerOf| {
        let mut n = n.clone();
        async move {
            n.get_balances(proto::GetBalancesRequest::default())
                .await
                .unwrap()
                .into_inner()
        }
    };
    let before = balances(&mut n).await;
    let page = format!("http://{}/l/north.example%2Ffund/", node.http);
    let browser = tokio::task::spawn_blocking(move || {
        let b = Browser::start(1200, 2400);
        b.goto(&page);
        b.wait_for("the live ledger", Duration::from_secs(30), LIVE);
        b
    })
    .await
    .unwrap();
    assert!(
        text(&browser, "body").contains("北区共同缔造基金"),
        "the page names north's ledger"
    );
    assert_eq!(shown_totals(&browser), expected_totals(&before));
    for id in [
        "check-signature",
        "check-chain",
        "check-signatures",
        "check-inclusion",
    ] {
        browser.wait_for(
            &format!("{id} passing"),
            Duration::from_secs(10),
            &format!("return document.getElementById('{id}')?.dataset.state === 'ok';"),
        );
    }
    assert_eq!(text(&browser, "#alarm"), "", "no alarm on an honest node");
    // A receipt posted now reaches north's page live, and only it.
    submit_to(&mut n, north.receipt(random_tx_id(), 8))
        .await
        .unwrap();
    let after = expected_totals(&balances(&mut n).await);
    let deadline = Instant::now() + Duration::from_secs(15);
    while shown_totals(&browser) != after {
        assert!(
            Instant::now() < deadline,
            "the page never showed the new receipt"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
