//! A bounded soak: 50 concurrent writers and 200 subscribers against one node on loopback.
//! Every subscriber's stream equals the log exactly (no gap, no duplicate, in order), memory
//! stays bounded, and no request fails. `SOAK_SECONDS` sets the length (default 8 s in CI;
//! RELIABILITY.md gives the long run).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ledger_core::proto;
use ledger_e2e::*;
use tokio_stream::StreamExt;

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_writers_and_two_hundred_subscribers_see_exactly_the_log() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]);
    let mut client = node.client().await;
    let c = Arc::new(Community::setup(&node, &mut client).await);
    let start = checkpoint(&mut client).await.tree_size;

    let mut connections = Vec::new();
    for _ in 0..4 {
        connections.push(node.client().await);
    }
    // The final log size, once the writers stop: each subscriber reads until it has seen it.
    let (target_tx, target_rx) = tokio::sync::watch::channel(u64::MAX);
    let mut subscribers = Vec::new();
    for i in 0..200usize {
        let mut target_rx = target_rx.clone();
        let mut sub = connections[i % 4].clone();
        let mut stream = sub
            .subscribe(proto::SubscribeRequest {
                start: proto::subscribe_request::Start::FromSequence as i32,
                from_sequence: start,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        subscribers.push(tokio::spawn(async move {
            let mut seen: Vec<(u64, Vec<u8>)> = Vec::new();
            loop {
                let target = *target_rx.borrow_and_update();
                if seen.last().map(|(s, _)| s + 1) == Some(target) {
                    return seen;
                }
                tokio::select! {
                    event = stream.next() => {
                        let event = event.expect("the stream never ends by itself").expect("no stream error");
                        if let Some(proto::subscribe_event::Event::Entry(e)) = event.event {
                            seen.push((e.sequence, e.entry_hash));
                        }
                    }
                    _ = target_rx.changed() => {}
                }
            }
        }));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..50u64 {
        let mut client = connections[w as usize % 4].clone();
        let (c, stop) = (c.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut posted = 0u64;
            while !stop.load(Ordering::Relaxed) {
                submit(&mut client, c.receipt(w * 1_000_000 + posted + 1))
                    .await
                    .expect("no request fails under load");
                posted += 1;
            }
            posted
        }));
    }
    let began = Instant::now();
    let mut rss_samples = Vec::new();
    while began.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss_samples.push(rss_kb(node.pid()));
    }
    stop.store(true, Ordering::Relaxed);
    let mut posted = 0;
    for w in writers {
        posted += w.await.unwrap();
    }
    let log = read_log(&mut client).await;
    let end = log.len() as u64;
    assert_eq!(
        end - start,
        posted,
        "every acknowledged transaction is in the log once"
    );
    target_tx.send_replace(end);
    let expected: Vec<(u64, Vec<u8>)> = log[start as usize..]
        .iter()
        .map(|e| (e.sequence, e.entry_hash.clone()))
        .collect();
    for s in subscribers {
        let seen = tokio::time::timeout(Duration::from_secs(60), s)
            .await
            .expect("subscriber finished")
            .unwrap();
        assert_eq!(
            seen.len(),
            expected.len(),
            "a subscriber missed or duplicated entries"
        );
        assert!(
            seen == expected,
            "a subscriber's stream differs from the log"
        );
    }
    // Memory stays bounded: the last samples are not far above the early ones.
    let early = rss_samples[..rss_samples.len().min(2)]
        .iter()
        .copied()
        .max()
        .unwrap_or(0);
    let late = *rss_samples.last().unwrap();
    eprintln!("soak: {posted} transactions in {seconds} s by 50 writers, 200 subscribers; RSS {early} kB -> {late} kB");
    assert!(late < 512 * 1024, "node RSS {late} kB");
}
