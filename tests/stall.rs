//! Clients that try to stall the node: a flood of refused genesis batches, slow and silent
//! HTTP clients, a process out of file descriptors, stalled downloads and streams. In each, a
//! normal Submit and GetBalances keep answering within a generous bound of their unloaded
//! latency measured in the same test (10×, and never less than a floor for a shared machine).

use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use ledger_core::build;
use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::state::Role;
use ledger_e2e::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::transport::Channel;

type Client = proto::ledger_client::LedgerClient<Channel>;

/// One stall test at a time: each bounds a latency or a time to free slots on a 2-core machine,
/// and the flood or the descriptor exhaustion of another would starve it (a fresh-clone CI run
/// saw the silent-connection test take over 60 s next to them).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The slowest of a Submit and a GetBalances, each timed once.
async fn round_trip(client: &mut Client, c: &Community) -> Duration {
    let started = Instant::now();
    submit(client, c.receipt(1)).await.expect("a normal submit");
    let submitted = started.elapsed();
    let started = Instant::now();
    client
        .get_balances(proto::GetBalancesRequest { as_of_tree_size: 0 })
        .await
        .expect("balances");
    submitted.max(started.elapsed())
}

/// The unloaded figure: the median of a few round trips.
async fn unloaded(client: &mut Client, c: &Community) -> Duration {
    let mut times = Vec::new();
    for _ in 0..7 {
        times.push(round_trip(client, c).await);
    }
    times.sort();
    times[3]
}

fn bound(unloaded: Duration) -> Duration {
    (unloaded * 10).max(Duration::from_millis(250))
}

/// Round trips while `load` runs; each must stay within the bound.
async fn assert_responsive(client: &mut Client, c: &Community, limit: Duration, what: &str) {
    for i in 0..5 {
        let took = round_trip(client, c).await;
        assert!(
            took <= limit,
            "{what}: round trip {i} took {took:?}, over the bound of {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A genesis signed by 16 admins: every signature valid, refused only because the ledger has
/// its genesis. Before, the writer verified all 16 signatures of each under the state lock.
fn heavy_genesis(ledger_id: &str) -> proto::SignedEnvelope {
    let admins: Vec<SigningKey> = (0..16)
        .map(|_| SigningKey::from_bytes(&random_seed()))
        .collect();
    let genesis = Kind::Genesis(proto::Genesis {
        ledger_name: "x".repeat(200),
        currency: "CNY".into(),
        admin_keys: admins
            .iter()
            .map(|k| build::public_key(k, Role::Admin, &"名".repeat(60)))
            .collect(),
        policy: Some(proto::Policy {
            approval_threshold_fen: 1,
            approver_quorum: 1,
            admin_quorum: 16,
            reserve_ratio_bp: 0,
            approval_window_days: 30,
            notice_days: 0,
            objection_response_days: 0,
        }),
        checkpoint_key: admins[0].verifying_key().to_bytes().to_vec(),
        witnesses: vec![],
        witness_quorum: 0,
    });
    let refs: Vec<&SigningKey> = admins.iter().collect();
    build::envelope(
        build::body(ledger_id, random_tx_id(), now_ms(), genesis),
        &refs,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_refused_genesis_batches_does_not_stall_others() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    // Witnessing rounds (two demo witnesses, each with an fsync) are kept apart from the
    // latency this test bounds.
    let node = Node::start(dir.path(), &["--witness-interval-ms", "5000"]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    let limit = bound(unloaded(&mut client, &c).await);
    let genesis = heavy_genesis(&c.signer.ledger_id);
    let batch: Vec<_> = (0..1000).map(|_| genesis.clone()).collect();
    let size = prost::Message::encoded_len(&proto::SubmitBatchRequest {
        envelopes: batch.clone(),
    });
    assert!(size > 2_000_000, "each batch is {size} bytes");
    let before = checkpoint(&mut client).await;
    let mut flood = Vec::new();
    for _ in 0..8 {
        let mut attacker = node.client().await;
        let batch = batch.clone();
        flood.push(tokio::spawn(async move {
            let mut refused = 0;
            for _ in 0..3 {
                let answer = attacker
                    .submit_batch(proto::SubmitBatchRequest {
                        envelopes: batch.clone(),
                    })
                    .await
                    .expect("the batch is answered")
                    .into_inner();
                for r in answer.results {
                    match r.outcome {
                        Some(proto::submit_result::Outcome::Rejection(r)) => {
                            assert_eq!(r.reason, "GENESIS_NOT_FIRST");
                            refused += 1;
                        }
                        other => panic!("a second genesis was not refused: {other:?}"),
                    }
                }
            }
            refused
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_responsive(&mut client, &c, limit, "genesis flood").await;
    for f in flood {
        assert_eq!(f.await.unwrap(), 3000);
    }
    let after = checkpoint(&mut client).await;
    assert_eq!(
        after.tree_size,
        before.tree_size + 5,
        "only the normal receipts were added"
    );
}

/// Opens `count` connections to `addr` that send part of a request's headers and then nothing.
async fn slow_clients(addr: &str, count: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..count {
        let Ok(Ok(mut s)) =
            tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await
        else {
            continue; // the kernel's queue is full: that is the cap working
        };
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: slow\r\n").await;
        held.push(s);
    }
    held
}

/// An HTTP GET over a fresh connection: the status line.
async fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = vec![0u8; 64];
    let n = s.read(&mut head).await.unwrap();
    String::from_utf8_lossy(&head[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_http_clients_are_cut_off_and_capped() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        dir.path(),
        &[
            "--witness-interval-ms",
            "5000",
            "--max-connections",
            "64",
            "--header-timeout-secs",
            "2",
        ],
    );
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    let limit = bound(unloaded(&mut client, &c).await);
    let started = Instant::now();
    let mut held = slow_clients(&node.http, 300).await;
    assert!(held.len() >= 64, "opened {}", held.len());
    assert_responsive(&mut client, &c, limit, "300 slow HTTP clients").await;
    // The header timeout closes every slow connection the node accepted...
    let mut closed = 0;
    for s in held.iter_mut().take(64) {
        let mut buf = [0u8; 256];
        let answer = tokio::time::timeout(Duration::from_secs(15), s.read(&mut buf)).await;
        if matches!(answer, Ok(Ok(_)) | Ok(Err(_))) {
            closed += 1;
        }
    }
    assert_eq!(
        closed, 64,
        "slow connections were closed by the header timeout"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    drop(held);
    // ...and the page answers again at once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(http_get(&node.http, "/metrics").await.contains("200"));
}

/// /proc/PID/stat: user + system clock ticks of a process.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_file_descriptors_the_accept_loops_back_off() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    // Witnessing rounds (two demo witnesses, each with an fsync) are kept apart from the
    // latency this test bounds.
    let node = Node::start(dir.path(), &["--witness-interval-ms", "5000"]);
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    submit(&mut client, c.receipt(5)).await.unwrap();
    let limited = std::process::Command::new("prlimit")
        .args(["--nofile=96:96", "--pid", &node.pid().to_string()])
        .status()
        .expect("prlimit (util-linux)");
    assert!(limited.success());
    // More connections than the node has descriptors left, on both ports.
    let mut held = Vec::new();
    for addr in [&node.addr, &node.http] {
        for _ in 0..150 {
            if let Ok(Ok(s)) =
                tokio::time::timeout(Duration::from_millis(100), TcpStream::connect(addr)).await
            {
                held.push(s);
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ticks = cpu_ticks(node.pid());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_ticks(node.pid()) - ticks;
    // 2 s is 200 ticks of one core; a spinning accept loop takes nearly all of them.
    assert!(
        used < 40,
        "the node used {used} ticks of 200 while out of descriptors"
    );
    // The connection it already had keeps working.
    submit(&mut client, c.receipt(6)).await.unwrap();
    drop(held);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut fresh = node.client().await;
    submit(&mut fresh, c.receipt(7)).await.unwrap();
}

/// Receipts with long memos, so the snapshot outgrows every buffer between node and client.
async fn fill(client: &mut Client, c: &Community, count: usize) {
    for chunk in 0..count / 500 {
        let envelopes = (0..500)
            .map(|i| {
                let mut kind = receipt_kind(
                    ledger_core::state::FundSource::Fiscal,
                    "pool:fiscal",
                    100 + i,
                );
                if let Kind::FundsReceived(r) = &mut kind {
                    r.memo = format!("{chunk}-{i} {}", "备注".repeat(330));
                }
                c.signer.envelope(kind, &[&c.finance])
            })
            .collect();
        client
            .submit_batch(proto::SubmitBatchRequest { envelopes })
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_downloads_and_streams_time_out_and_free_their_slots() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        dir.path(),
        &[
            "--max-downloads",
            "2",
            "--max-subscribers",
            "2",
            "--stall-timeout-secs",
            "2",
        ],
    );
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    fill(&mut client, &c, 6000).await;
    let limit = bound(unloaded(&mut client, &c).await);
    // Two downloads that read the status line and then nothing.
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut s = socket.connect(node.http.parse().unwrap()).await.unwrap();
        s.write_all(b"GET /snapshot HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
        stalled.push(s);
    }
    assert!(
        http_get(&node.http, "/snapshot").await.contains("503"),
        "a third download waits for a slot"
    );
    // Two ReadEntries streams that read nothing fill the stream limit the same way.
    let mut readers = Vec::new();
    for _ in 0..2 {
        let mut reader = node.client().await;
        readers.push(
            reader
                .read_entries(proto::ReadEntriesRequest {
                    from_sequence: 0,
                    limit: 0,
                })
                .await
                .unwrap()
                .into_inner(),
        );
    }
    let mut third = node.client().await;
    let refused = third
        .read_entries(proto::ReadEntriesRequest {
            from_sequence: 0,
            limit: 0,
        })
        .await
        .expect_err("over the limit");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
    assert_responsive(&mut client, &c, limit, "stalled downloads and streams").await;
    // After the stall timeout the slots are free again.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(http_get(&node.http, "/snapshot").await.contains("200"));
    let fresh = third
        .read_entries(proto::ReadEntriesRequest {
            from_sequence: 0,
            limit: 1,
        })
        .await;
    assert!(fresh.is_ok(), "{fresh:?}");
    // A stalled stream, read at last, ends with an error saying where to resume: it never
    // looks like the whole log.
    let mut last = None;
    while let Some(item) = tokio_stream::StreamExt::next(&mut readers[0]).await {
        last = Some(item);
    }
    let status = last
        .expect("something was queued")
        .expect_err("the stream ends in an error");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert!(
        status.message().contains("resume from sequence"),
        "{}",
        status.message()
    );
    // The stalled downloads were cut off by the node, not left open.
    for mut s in stalled {
        let mut sink = vec![0u8; 1 << 16];
        let cut = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match s.read(&mut sink).await {
                    Ok(0) | Err(_) => return true,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert_eq!(cut, Ok(true), "the node closed the stalled download");
    }
}

/// Connections that hold a slot of the cap for nothing are closed: on the gRPC port, ones that
/// never send their HTTP/2 handshake (after `--header-timeout-secs`); on the HTTP port, a
/// gRPC-Web POST whose declared body never comes (after `--stall-timeout-secs` of nothing
/// moving). Before, 512 of either blocked the port for good. A live Subscribe stream on a quiet
/// ledger stays open: the node sends its checkpoint as a heartbeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_send_nothing_do_not_keep_their_slots() {
    let _one_at_a_time = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        dir.path(),
        &[
            "--witness-interval-ms",
            "5000",
            "--max-connections",
            "8",
            "--header-timeout-secs",
            "2",
            "--stall-timeout-secs",
            "3",
        ],
    );
    let mut client = node.client().await;
    let c = Community::setup(&node, &mut client).await;
    let mut live = client
        .subscribe(proto::SubscribeRequest {
            start: proto::subscribe_request::Start::OnlyNew as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let started = Instant::now();
    let mut silent = Vec::new();
    for _ in 0..8 {
        silent.push(TcpStream::connect(&node.addr).await.unwrap());
    }
    let mut bodiless = Vec::new();
    for _ in 0..8 {
        let mut s = TcpStream::connect(&node.http).await.unwrap();
        s.write_all(
            b"POST /ledger.v1.Ledger/GetBalances HTTP/1.1\r\nHost: t\r\n\
              Content-Type: application/grpc-web+proto\r\nContent-Length: 100000\r\n\r\n",
        )
        .await
        .unwrap();
        bodiless.push(s);
    }
    // Each connection is read until the node closes it, all at once, with a generous bound:
    // one waiting in the kernel's queue is accepted only when another is closed.
    let mut waiting = Vec::new();
    for (what, conns) in [("silent gRPC", silent), ("bodiless POST", bodiless)] {
        for mut s in conns {
            waiting.push((
                what,
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return what,
                            Ok(_) => {}
                        }
                    }
                }),
            ));
        }
    }
    for (what, w) in waiting {
        let closed = tokio::time::timeout(Duration::from_secs(60), w).await;
        assert!(
            closed.is_ok(),
            "the node closed every connection that sent nothing: a {what} connection was still \
             open after {:?}",
            started.elapsed()
        );
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    // Both ports answer new clients again.
    let mut fresh = node.client().await;
    submit(&mut fresh, c.receipt(3)).await.unwrap();
    assert!(http_get(&node.http, "/metrics").await.contains("200"));
    // The Subscribe stream opened before lived through all of it, and sees the new entry.
    let mut saw_entry = false;
    while let Ok(Some(event)) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_stream::StreamExt::next(&mut live),
    )
    .await
    {
        if let Some(proto::subscribe_event::Event::Entry(_)) =
            event.expect("the stream is alive").event
        {
            saw_entry = true;
            break;
        }
    }
    assert!(saw_entry, "the quiet stream stayed open and got the entry");
}
