//! One node, many ledgers: ledgers added with `ledger-node init` while the node runs, each
//! with its own genesis, node key, log and page; a request names its ledger with `ledger-id`
//! metadata (the page with its `/l/<ledger>/` path). The operator is the adversary: one
//! community's books must never pass for another's, and nothing a client sends creates or
//! opens anything but a ledger `init` made.

use ledger_core::proto;
use ledger_e2e::*;
use prost::Message;

fn with_ledger<T>(message: T, ledger_id: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("ledger-id", ledger_id.parse().unwrap());
    request
}

fn origin_of(checkpoint: &proto::Checkpoint) -> String {
    checkpoint.text.lines().next().unwrap().to_string()
}

fn get(node: &Node, path: &str) -> HttpResponse {
    request(&node.http, "GET", path, &[], b"")
}

/// The verifier's verdict on `snapshot` against a ledger fingerprint: Ok(entries) or the
/// failure's message.
fn verify_against(snapshot: &[u8], fingerprint: &str) -> Result<u64, String> {
    let trust = ledger_verifier::trust::Trust::Ledger(fingerprint.to_string());
    let outcome =
        ledger_verifier::check::verify_snapshot(snapshot, &trust, &[], 1, |_| {}, |_, _| {});
    match outcome.failure {
        None => Ok(outcome.entries_checked),
        Some(f) => Err(f.message),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledgers_added_while_the_node_runs_are_served_apart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut node = Node::start(&data, &[]);
    let mut own = node.client().await;
    let own_id = origin_of(&checkpoint(&mut own).await);

    // Nothing is opened or created for a ledger the node does not have.
    let status = own
        .get_checkpoint(with_ledger(
            proto::GetCheckpointRequest {},
            "north.example/fund",
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    assert_eq!(
        status.metadata().get("ledger-reason").unwrap(),
        "unknown_ledger"
    );
    assert!(
        status.message().contains("本节点没有账本"),
        "{}",
        status.message()
    );
    for hostile in ["../data", "a b", "..", &"x".repeat(65)] {
        let status = own
            .get_checkpoint(with_ledger(proto::GetCheckpointRequest {}, hostile))
            .await
            .unwrap_err();
        assert!(
            matches!(
                status.code(),
                tonic::Code::InvalidArgument | tonic::Code::NotFound
            ),
            "{hostile}: {status:?}"
        );
    }
    assert!(
        !data.join("ledgers").exists(),
        "no request created anything"
    );

    // Two communities' ledgers are added to the running node.
    let north = add_ledger(&data, "north.example/fund", "北区共同缔造基金");
    assert!(north.said.contains("added ledger"), "{}", north.said);
    let south = add_ledger(&data, "south.example/fund", "南区共同缔造基金");
    // The same id again, or the node's own id, is refused and changes nothing.
    for (id, says) in [
        ("north.example/fund", "already has ledger"),
        (own_id.as_str(), "another ledger_id"),
    ] {
        let (ok, _, err, _) = init_added(&data, id, "又一个");
        assert!(!ok && err.contains(says), "{id}: {err}");
    }
    let names: Vec<_> = std::fs::read_dir(data.join("ledgers"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let mut n = node.client_for("north.example/fund").await;
    let mut s = node.client_for("south.example/fund").await;
    north.fund_pool(&mut n).await;
    south.fund_pool(&mut s).await;
    let mut acked = Vec::new();
    for i in 0..5u64 {
        let id = random_tx_id();
        let r = submit_to(&mut n, north.receipt(id, 100 + i)).await.unwrap();
        acked.push((id, r.sequence));
    }
    submit_to(&mut s, south.receipt(random_tx_id(), 7))
        .await
        .unwrap();

    // Each ledger has its own checkpoint, signed by its own node key.
    let (cn, cs, co) = (
        n.get_checkpoint(proto::GetCheckpointRequest {})
            .await
            .unwrap()
            .into_inner(),
        s.get_checkpoint(proto::GetCheckpointRequest {})
            .await
            .unwrap()
            .into_inner(),
        checkpoint(&mut own).await,
    );
    assert_eq!(origin_of(&cn), "north.example/fund");
    assert_eq!(origin_of(&cs), "south.example/fund");
    assert_eq!(origin_of(&co), own_id);
    assert_eq!(cn.tree_size, 8, "genesis, finance key, pool, five receipts");
    assert_eq!(cs.tree_size, 4);
    assert_ne!(cn.node_public_key, cs.node_public_key);
    assert_ne!(cn.node_public_key, co.node_public_key);

    // A transaction of one ledger sent to another is refused by the rules, and stored nowhere.
    let stray = north.receipt(random_tx_id(), 9);
    let status = submit_to(&mut s, stray.clone()).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let status = own
        .submit(proto::SubmitRequest {
            envelope: Some(stray),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let after = s
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.tree_size, 4);

    // Each snapshot verifies against its own fingerprint only: the operator cannot pass one
    // community's books off as another's.
    let north_snapshot = export_of(&mut n).await;
    let south_snapshot = export_of(&mut s).await;
    assert_eq!(verify_against(&north_snapshot, &north.fingerprint), Ok(8));
    assert_eq!(verify_against(&south_snapshot, &south.fingerprint), Ok(4));
    assert!(verify_against(&north_snapshot, &south.fingerprint).is_err());
    assert!(verify_against(&south_snapshot, &north.fingerprint).is_err());

    // The page: an index of the node's ledgers, and each ledger's page under /l/<ledger>/.
    let (page, node_http) = (get(&node, "/l/"), node.http.clone());
    assert_eq!(page.status, 200);
    let index = String::from_utf8(page.body).unwrap();
    for id in [own_id.as_str(), "north.example/fund", "south.example/fund"] {
        assert!(index.contains(id), "{id} missing from the index:\n{index}");
    }
    assert!(index.contains("/l/north.example%2Ffund/"), "{index}");
    let listed: serde_json_value::Value =
        serde_json_value::from_slice(&get(&node, "/ledgers").body).unwrap();
    assert_eq!(listed["ledgers"].as_array().unwrap().len(), 3, "{listed}");
    let redirect = get(&node, "/l/north.example%2Ffund");
    assert_eq!(redirect.status, 308);
    assert_eq!(
        redirect.header("location"),
        Some("/l/north.example%2Ffund/")
    );
    let page = get(&node, "/l/north.example%2Ffund/");
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("阳光账本"));
    let text = String::from_utf8(get(&node, "/l/north.example%2Ffund/checkpoint").body).unwrap();
    assert!(text.starts_with("north.example/fund\n8\n"), "{text}");
    let unknown = get(&node, "/l/nowhere.example/");
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.header("ledger-reason"), Some("unknown_ledger"));
    let downloaded = get(&node, "/l/south.example%2Ffund/snapshot");
    assert_eq!(downloaded.status, 200);
    assert_eq!(verify_against(&downloaded.body, &south.fingerprint), Ok(4));
    // The page's gRPC-Web calls reach the ledger its path names, whatever header it sends.
    let web = tokio::task::spawn_blocking(move || {
        request(
            &node_http,
            "POST",
            "/l/north.example%2Ffund/ledger.v1.Ledger/GetCheckpoint",
            &[
                ("content-type", "application/grpc-web+proto"),
                ("x-grpc-web", "1"),
                ("ledger-id", "south.example/fund"),
            ],
            &[0, 0, 0, 0, 0],
        )
    })
    .await
    .unwrap();
    assert_eq!(web.status, 200);
    let len = u32::from_be_bytes(web.body[1..5].try_into().unwrap()) as usize;
    let cp = proto::Checkpoint::decode(&web.body[5..5 + len]).unwrap();
    assert_eq!(origin_of(&cp), "north.example/fund");

    // Metrics carry each open ledger as a label.
    assert_eq!(metric(&node, "ledger_open_ledgers"), 3);
    assert_eq!(
        metric(&node, "ledger_entries{ledger=\"north.example/fund\"}"),
        8
    );
    assert_eq!(
        metric(&node, "ledger_entries{ledger=\"south.example/fund\"}"),
        4
    );

    // The `ledger` command names a ledger with --ledger.
    let cli = Cli {
        node: format!("http://{}", node.addr),
        dir: dir.path(),
    };
    let out = cli.ok(&["--ledger", "north.example/fund", "balances", "--json"]);
    assert!(
        out.contains("pool:fiscal") && out.contains("51000"),
        "{out}"
    );

    // A resident's auditor follows one ledger of the node: it verifies against that ledger's
    // fingerprint, and the other's fingerprint is refused.
    let audit = |fingerprint: &str, state: &str| {
        std::process::Command::new(binary("verifier"))
            .args(["audit", "--node", &format!("http://{}", node.addr)])
            .args([
                "--ledger",
                "north.example/fund",
                "--trust",
                fingerprint,
                "--once",
            ])
            .arg("--state")
            .arg(dir.path().join(state))
            .output()
            .unwrap()
    };
    let followed = audit(&north.fingerprint, "north.json");
    assert!(
        followed.status.success(),
        "{}",
        String::from_utf8_lossy(&followed.stdout)
    );
    let refused = audit(&south.fingerprint, "south.json");
    assert!(!refused.status.success(), "north's log passed as south's");

    // After a restart every acknowledged transaction is there, and the added ledgers stay
    // closed until someone asks for them.
    assert!(node.terminate(), "a clean stop closes every ledger");
    node = Node::start(&data, &[]);
    assert_eq!(metric(&node, "ledger_open_ledgers"), 1);
    let mut n = node.client_for("north.example/fund").await;
    for (id, sequence) in acked {
        let entry = n
            .get_entry(proto::GetEntryRequest {
                by: Some(proto::get_entry_request::By::TxId(id.to_vec())),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(entry.sequence, sequence);
    }
    assert_eq!(metric(&node, "ledger_open_ledgers"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_ledgers_close_and_the_open_limit_holds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = Node::start(
        &data,
        &["--max-open-ledgers", "1", "--ledger-idle-secs", "1"],
    );
    let a = add_ledger(&data, "a.example/fund", "甲社区");
    let b = add_ledger(&data, "b.example/fund", "乙社区");
    let mut ca = node.client_for("a.example/fund").await;
    let mut cb = node.client_for("b.example/fund").await;
    a.fund_pool(&mut ca).await;
    submit_to(&mut ca, a.receipt(random_tx_id(), 1))
        .await
        .unwrap();
    // Opening b closes a (idle, least recently used) to stay within one open added ledger.
    b.fund_pool(&mut cb).await;
    assert_eq!(
        metric(&node, "ledger_open_ledgers"),
        2,
        "the node's own and b"
    );

    // Streams alone cannot keep the only place (anonymous page readers could lock every
    // other community out): opening a ends b's stream, with where to resume.
    let mut stream = cb
        .subscribe(proto::SubscribeRequest::default())
        .await
        .unwrap()
        .into_inner();
    tokio_stream::StreamExt::next(&mut stream)
        .await
        .unwrap()
        .unwrap();
    ca.get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap();
    let ended = loop {
        match tokio_stream::StreamExt::next(&mut stream).await {
            Some(Ok(_)) => continue,
            Some(Err(status)) => break status,
            None => panic!("the stream ended without saying why"),
        }
    };
    assert_eq!(ended.code(), tonic::Code::Unavailable, "{ended:?}");
    assert_eq!(
        ended.metadata().get("ledger-reason").unwrap(),
        "ledger_closed_for_room"
    );
    assert!(
        ended.message().contains("resubscribe from sequence"),
        "{}",
        ended.message()
    );
    assert_eq!(
        metric(&node, "ledger_open_ledgers"),
        2,
        "the node's own and a"
    );

    // Unused for the idle time, a is closed; it opens again with everything it had.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while metric(&node, "ledger_open_ledgers") != 1 {
        assert!(std::time::Instant::now() < deadline, "a was never closed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let r = submit_to(&mut ca, a.receipt(random_tx_id(), 2))
        .await
        .unwrap();
    assert_eq!(r.sequence, 4, "genesis, key, pool, receipt, and now this");
    let snapshot = export_of(&mut ca).await;
    assert_eq!(verify_against(&snapshot, &a.fingerprint), Ok(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_directory_under_another_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = Node::start(&data, &[]);
    add_ledger(&data, "north.example/fund", "北区");
    // The operator copies north's directory to where east's would be: serving it as east
    // would show east's residents north's books.
    let ledgers = data.join("ledgers");
    let copy = std::process::Command::new("cp")
        .arg("-r")
        .arg(ledgers.join("north%2Eexample%2Ffund"))
        .arg(ledgers.join("east%2Eexample%2Ffund"))
        .status()
        .unwrap();
    assert!(copy.success());
    let files = |dir: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let east_dir = ledgers.join("east%2Eexample%2Ffund");
    let before = files(&east_dir);
    let mut east = node.client_for("east.example/fund").await;
    let status = east
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert_eq!(
        status.metadata().get("ledger-reason").unwrap(),
        "ledger_unopenable"
    );
    assert!(
        status.message().contains("north.example/fund"),
        "{}",
        status.message()
    );
    assert_eq!(
        files(&east_dir),
        before,
        "nothing was written into the misnamed directory"
    );
    // North itself is still served.
    let mut north = node.client_for("north.example/fund").await;
    let cp = north
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(origin_of(&cp), "north.example/fund");
}

/// The `ledger-mark` threads of process `pid`: one per open ledger.
fn keeper_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter(|t| {
            let comm = t.as_ref().unwrap().path().join("comm");
            std::fs::read_to_string(comm).is_ok_and(|c| c.trim() == "ledger-mark")
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_and_concurrent_opens_leak_nothing_and_keep_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = Node::start(&data, &["--max-open-ledgers", "3"]);
    let ids: Vec<String> = (0..12).map(|i| format!("c{i}.example/fund")).collect();
    for id in &ids {
        add_ledger(&data, id, "社区");
    }
    // Requests that give up (a 1 ms deadline) while their ledger opens.
    for id in &ids {
        let mut client = node.client_for(id).await;
        let mut request = tonic::Request::new(proto::GetCheckpointRequest {});
        request.set_timeout(std::time::Duration::from_millis(1));
        let _ = client.get_checkpoint(request).await;
    }
    // Then all at once.
    let mut tasks = Vec::new();
    for id in &ids {
        let mut client = node.client_for(id).await;
        tasks.push(tokio::spawn(async move {
            client.get_checkpoint(proto::GetCheckpointRequest {}).await
        }));
    }
    for t in tasks {
        let answer = t.await.unwrap();
        if let Err(status) = answer {
            assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let open = metric(&node, "ledger_open_ledgers");
    assert!(
        open <= 4,
        "{open} open with --max-open-ledgers 3 (and the node's own)"
    );
    assert_eq!(
        keeper_threads(node.pid()),
        open as usize,
        "every running mark keeper belongs to a registered open ledger"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_made_again_under_its_old_name_is_read_from_its_new_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = Node::start(&data, &["--ledger-idle-secs", "1"]);
    let old = add_ledger(&data, "redo.example/fund", "旧");
    let mut client = node.client_for("redo.example/fund").await;
    old.fund_pool(&mut client).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while metric(&node, "ledger_open_ledgers") != 1 {
        assert!(std::time::Instant::now() < deadline, "never closed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Closed (its index parked), then deleted and made again by its admins.
    std::fs::remove_dir_all(data.join("ledgers/redo%2Eexample%2Ffund")).unwrap();
    let gone = client
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap_err();
    assert_eq!(gone.code(), tonic::Code::NotFound, "{gone:?}");
    assert_eq!(
        gone.metadata().get("ledger-reason").unwrap(),
        "unknown_ledger"
    );
    let new = add_ledger(&data, "redo.example/fund", "新");
    let cp = client
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cp.tree_size, 1, "only the new genesis");
    assert_eq!(
        verify_against(&export_of(&mut client).await, &new.fingerprint),
        Ok(1)
    );

    // Two `init`s of one id at once: one ledger, and nothing left of the other.
    let racers: Vec<_> = (0..4)
        .map(|_| {
            let data = data.clone();
            std::thread::spawn(move || init_added(&data, "race.example/fund", "竞").0)
        })
        .collect();
    let won = racers
        .into_iter()
        .filter_map(|r| r.join().unwrap().then_some(()))
        .count();
    assert_eq!(won, 1);
    let leftovers: Vec<_> = std::fs::read_dir(data.join("ledgers"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_is_not_read_gives_its_place_up_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let node = Node::start(&data, &["--max-open-ledgers", "1"]);
    let a = add_ledger(&data, "a.example/fund", "甲");
    let b = add_ledger(&data, "b.example/fund", "乙");
    let mut ca = node.client_for("a.example/fund").await;
    a.fund_pool(&mut ca).await;
    // Enough entries that a reader who takes nothing leaves the node's send blocked.
    for round in 0..3u64 {
        let batch = (0..1000)
            .map(|i| a.receipt(random_tx_id(), round * 1000 + i + 1))
            .collect();
        ca.submit_batch(proto::SubmitBatchRequest { envelopes: batch })
            .await
            .unwrap();
    }
    let mut stalled = ca
        .subscribe(proto::SubscribeRequest {
            start: proto::subscribe_request::Start::FromBeginning as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    tokio_stream::StreamExt::next(&mut stalled)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // The only place is a's, held by a stream nobody reads: b still opens (before, the
    // eviction waited for the stream's stall time and b got ledgers_busy).
    let mut cb = node.client_for("b.example/fund").await;
    b.fund_pool(&mut cb).await;
    drop(stalled);
}
