//! The log as C2SP tlog-tiles: the node serves `/checkpoint` and `/tile/...` on its HTTP port
//! and keeps a copy in `--tiles-dir`; a real nginx publishes that directory; `verifier verify
//! --tiles` checks the ledger from the node, the directory or nginx, with the node stopped, and
//! refuses tiles an operator rewrote. The node's own hash tiles survive a restart, and a
//! damaged one is repaired from the log.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ledger_core::checkpoint::SignedCheckpoint;
use ledger_core::entry::Entry;
use ledger_core::merkle;
use ledger_core::proto;
use ledger_core::snapshot::SnapshotReader;
use ledger_core::tiles::{self, TileId};
use ledger_e2e::*;
use serde_json_value::Value;

fn verifier(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(binary("verifier"))
        .args(args)
        .arg("--json")
        .output()
        .expect("run verifier");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json_value::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

fn failure_code(json: &Value) -> &str {
    json["failure"]["code"].as_str().unwrap_or("")
}

fn get(node_http: &str, path: &str) -> HttpResponse {
    request(node_http, "GET", path, &[], &[])
}

/// Posts `count` receipts (after the community's set-up) and returns the log's size.
async fn fill(node: &Node, count: usize) -> u64 {
    let mut client = node.client().await;
    let community = Community::setup(node, &mut client).await;
    for i in 0..count {
        submit(&mut client, community.receipt(1 + i as u64 % 97))
            .await
            .expect("receipt accepted");
    }
    checkpoint(&mut client).await.tree_size
}

/// Waits until the tiles directory's checkpoint covers `size` entries.
fn wait_exported(dir: &Path, size: u64) -> SignedCheckpoint {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(dir.join("checkpoint")) {
            let cp = SignedCheckpoint::parse(&text).expect("the exported checkpoint parses");
            if cp.checkpoint.tree_size == size {
                return cp;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the tiles directory did not reach {size} entries"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Writes what a publisher of `snapshot` would put on a static server: its checkpoint (the
/// witnessed one if any) and its entry bundles.
fn tiles_of_snapshot(snapshot: &[u8], dir: &Path) {
    let mut reader = SnapshotReader::open(snapshot).unwrap();
    let witnessed = reader.header().witnessed.clone();
    let mut entries = Vec::new();
    while let Some(e) = reader.next_entry().unwrap() {
        entries.push(e);
    }
    let trailer = reader.finish().unwrap();
    write_bundles(&entries, dir);
    let text = if witnessed.is_empty() {
        trailer.text
    } else {
        witnessed
    };
    std::fs::write(dir.join("checkpoint"), text).unwrap();
}

fn write_bundles(entries: &[Entry], dir: &Path) {
    for (index, chunk) in entries.chunks(256).enumerate() {
        let mut bundle = Vec::new();
        for e in chunk {
            tiles::push_bundle_entry(e, &mut bundle);
        }
        let path = dir.join(TileId::entries(index as u64, chunk.len() as u16).path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bundle).unwrap();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

struct Nginx {
    child: Child,
    pub addr: String,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real nginx (Debian's package, installed when missing) serving `root` as static files on a
/// free loopback port, as a community's web host or a CDN would publish the tiles directory.
fn nginx(root: &Path, work: &Path) -> Nginx {
    if Command::new("nginx").arg("-v").output().is_err() {
        eprintln!("installing nginx with apt-get (once per machine)");
        assert!(
            apt_install(&["nginx"]),
            "this test publishes the tiles with nginx: run `apt-get install nginx` as root"
        );
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::create_dir_all(work).unwrap();
    // As root, workers would run as nobody and could not read a private temporary directory.
    // One process (`master_process off`), so killing it leaves no worker behind.
    let user = if unsafe_is_root() { "user root;" } else { "" };
    let conf = format!(
        "{user}\nworker_processes 1;\ndaemon off;\nmaster_process off;\npid {work}/nginx.pid;\nerror_log {work}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {work}/body;\n  proxy_temp_path {work}/proxy;\n\
           fastcgi_temp_path {work}/fastcgi;\n  uwsgi_temp_path {work}/uwsgi;\n  scgi_temp_path {work}/scgi;\n\
           default_type application/octet-stream;\n  gzip on;\n  gzip_types application/octet-stream;\n\
           server {{\n    listen 127.0.0.1:{port};\n    root {root};\n\
             location = /checkpoint {{ default_type \"text/plain; charset=utf-8\"; add_header Cache-Control no-store; }}\n\
             location /tile/ {{ add_header Cache-Control \"public, max-age=31536000, immutable\"; }}\n  }}\n}}\n",
        work = work.display(),
        root = root.display(),
    );
    let conf_path = work.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new("nginx")
        .arg("-c")
        .arg(&conf_path)
        .arg("-p")
        .arg(work)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nginx");
    let addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "nginx did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Nginx { child, addr }
}

fn unsafe_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ledger_published_as_tiles_verifies_from_the_node_the_directory_and_nginx() {
    let root = tmp("tiles-publish");
    let data = root.join("data");
    let published = root.join("published");
    let published_arg = published.to_str().unwrap().to_string();
    let mut node = Node::start(&data, &["--tiles-dir", &published_arg]);
    let size = fill(&node, 600).await;
    assert!(size > 2 * 256, "two full tiles and a partial one");
    let exported = wait_exported(&published, size);
    let snapshot = export_now(&mut node.client().await).await;
    let fingerprint = ledger_fingerprint_of(&snapshot, &data);

    // The node's HTTP port serves the same files the directory holds, with the right headers.
    let http = node.http.clone();
    for tile in [
        TileId::hashes(0, 0, 256),
        TileId::hashes(0, 1, 256),
        TileId::entries(1, 256),
        TileId::hashes(1, 0, (size / 256) as u16),
        TileId::entries(2, (size % 256) as u16),
        TileId::hashes(0, 2, (size % 256) as u16),
    ] {
        let served = get(&http, &format!("/{}", tile.path()));
        assert_eq!(served.status, 200, "{}", tile.path());
        assert_eq!(
            served.body,
            std::fs::read(published.join(tile.path())).unwrap(),
            "{} on the node and in the directory",
            tile.path()
        );
        assert_eq!(
            served.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
    }
    let checkpoint_served = get(&http, "/checkpoint");
    assert_eq!(
        String::from_utf8(checkpoint_served.body).unwrap(),
        exported.text
    );
    // Each entry of a bundle hashes to its place in the level-0 tile.
    let bundle = get(&http, "/tile/entries/001").body;
    let hashes =
        tiles::decode_hash_tile(&TileId::hashes(0, 1, 256), &get(&http, "/tile/0/001").body)
            .unwrap();
    let entries = tiles::decode_bundle(&TileId::entries(1, 256), &bundle, false).unwrap();
    for (e, h) in entries.iter().zip(&hashes) {
        assert_eq!(&merkle::entry_leaf_hash(e), h);
    }
    // Tiles the log does not reach, and names that are not tiles, are 404 with a reason.
    for bad in [
        "/tile/entries/002",
        "/tile/0/005",
        "/tile/0/x000/001",
        "/tile/0/000.p/0",
        "/tile/9/000",
        "/tile/../node.key",
    ] {
        let r = get(&http, bad);
        assert_eq!(r.status, 404, "{bad}");
        assert!(!r.body.is_empty(), "{bad} says why");
    }

    // The verifier from the node's HTTP port and from the directory: the same verdict and
    // figures as from the snapshot.
    let snapshot_path = root.join("ledger.snapshot");
    std::fs::write(&snapshot_path, &snapshot).unwrap();
    let (code, from_snapshot, out) = verifier(&[
        "verify",
        snapshot_path.to_str().unwrap(),
        "--trust",
        &fingerprint,
    ]);
    assert_eq!(code, 0, "{out}");
    for location in [format!("http://{http}"), published_arg.clone()] {
        let (code, json, out) =
            verifier(&["verify", "--tiles", &location, "--trust", &fingerprint]);
        assert_eq!(code, 0, "{location}: {out}");
        assert_eq!(json["entries_checked"], size, "{location}");
        for field in [
            "checkpoint",
            "received",
            "projects",
            "ledger_fingerprint",
            "node_key_fingerprint",
        ] {
            assert_eq!(json[field], from_snapshot[field], "{location}: {field}");
        }
    }

    // The node stops; nginx publishes the directory; the ledger still verifies through it.
    assert!(node.terminate());
    let web = nginx(&published, &root.join("nginx"));
    let (code, json, out) = verifier(&[
        "verify",
        "--tiles",
        &format!("http://{}/", web.addr),
        "--trust",
        &fingerprint,
    ]);
    assert_eq!(code, 0, "through nginx: {out}");
    assert_eq!(json["checkpoint"], from_snapshot["checkpoint"]);
    // A stranger's fingerprint is not this ledger.
    let (code, json, _) = verifier(&[
        "verify",
        "--tiles",
        &format!("http://{}/", web.addr),
        "--trust",
        "0000-0000-0000-0000-0000-0000-0000-0000",
    ]);
    assert_eq!((code, failure_code(&json)), (1, "LEDGER_NOT_TRUSTED"));

    // Whoever serves the files is not trusted: a changed byte, a missing bundle, a foreign
    // checkpoint are refused, each for what it is.
    let tampered = root.join("tampered");
    copy_dir(&published, &tampered);
    let target = tampered.join("tile/entries/001");
    let mut bytes = std::fs::read(&target).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&target, bytes).unwrap();
    let (code, json, out) = verifier(&[
        "verify",
        "--tiles",
        tampered.to_str().unwrap(),
        "--trust",
        &fingerprint,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        [
            "CHAIN_BROKEN",
            "ENTRY_REFUSED",
            "ROOT_MISMATCH",
            "TILES_MALFORMED"
        ]
        .contains(&failure_code(&json)),
        "{out}"
    );
    assert_eq!(json["figures_trusted"], false);

    let missing = root.join("missing");
    copy_dir(&published, &missing);
    std::fs::remove_file(missing.join("tile/entries/000")).unwrap();
    let (code, json, out) = verifier(&[
        "verify",
        "--tiles",
        missing.to_str().unwrap(),
        "--trust",
        &fingerprint,
    ]);
    assert_eq!(
        (code, failure_code(&json)),
        (2, "SNAPSHOT_UNUSABLE"),
        "{out}"
    );

    let short = root.join("short");
    copy_dir(&published, &short);
    let bundle_path = short.join(TileId::entries(2, (size % 256) as u16).path());
    let mut bundle = std::fs::read(&bundle_path).unwrap();
    bundle.truncate(bundle.len() - 10);
    std::fs::write(&bundle_path, bundle).unwrap();
    let (code, json, out) = verifier(&[
        "verify",
        "--tiles",
        short.to_str().unwrap(),
        "--trust",
        &fingerprint,
    ]);
    assert_eq!((code, failure_code(&json)), (1, "TILES_MALFORMED"), "{out}");

    // The operator, holding the real node key, rewrites an amount and re-signs everything: the
    // finance office's signature on the changed transaction no longer holds.
    let mut reader = SnapshotReader::open(snapshot.as_slice()).unwrap();
    let ledger_id = reader.header().ledger_id.clone();
    let mut forged_entries = Vec::new();
    while let Some(e) = reader.next_entry().unwrap() {
        forged_entries.push((e.timestamp_ms, e.envelope));
    }
    let victim = forged_entries.len() - 3;
    let envelope = &mut forged_entries[victim].1;
    let at = envelope.len() - 80;
    envelope[at] ^= 0x01;
    let node_key = ledger_keys::read(&data.join("node.key")).unwrap();
    let forged = forge_snapshot(&ledger_id, &node_key, forged_entries, &[]);
    let rewritten = root.join("rewritten");
    std::fs::create_dir_all(&rewritten).unwrap();
    tiles_of_snapshot(&forged, &rewritten);
    let (code, json, out) = verifier(&[
        "verify",
        "--tiles",
        rewritten.to_str().unwrap(),
        "--trust",
        &fingerprint,
    ]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(failure_code(&json), "ENTRY_REFUSED", "{out}");

    // A new ledger under the real ledger id and node key is another ledger.
    let forger = ed25519_dalek::SigningKey::from_bytes(&random_seed());
    let other = forged_genesis_snapshot(&ledger_id, &node_key, &forger);
    let other_dir = root.join("other-genesis");
    std::fs::create_dir_all(&other_dir).unwrap();
    tiles_of_snapshot(&other, &other_dir);
    let (code, json, out) = verifier(&[
        "verify",
        "--tiles",
        other_dir.to_str().unwrap(),
        "--trust",
        &fingerprint,
    ]);
    assert_eq!(
        (code, failure_code(&json)),
        (1, "LEDGER_NOT_TRUSTED"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_witnessed_ledgers_tiles_carry_the_witnesses_cosignatures() {
    let root = tmp("tiles-witnessed");
    let data = root.join("demo");
    let published = root.join("published");
    let node = Node::start_command(&data, "demo", &["--tiles-dir", published.to_str().unwrap()]);
    let mut client = node.client().await;
    let witnessed = wait_witnessed(&mut client).await;
    let exported = wait_exported(&published, witnessed.tree_size);
    assert!(
        !exported.cosignatures.is_empty(),
        "the exported checkpoint is the witnessed one"
    );
    let snapshot = export(&mut client).await;
    let fingerprint = ledger_fingerprint_of(&snapshot, &data);
    let (code, json, out) = verifier(&[
        "verify",
        "--tiles",
        published.to_str().unwrap(),
        "--trust",
        &fingerprint,
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        json["witnessing"]["cosigned_by"].as_array().map(Vec::len),
        Some(2),
        "{out}"
    );
    assert_eq!(json["witnessing"]["unwitnessed_entries"], 0, "{out}");
    // Without its cosignatures the same tiles prove nothing about what others are shown.
    let stripped = root.join("stripped");
    copy_dir(&published, &stripped);
    let text = exported.text.clone();
    let node_only: String = text
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("— demo-witness"))
        .collect();
    std::fs::write(stripped.join("checkpoint"), node_only).unwrap();
    let (code, json, out) = verifier(&[
        "verify",
        "--tiles",
        stripped.to_str().unwrap(),
        "--trust",
        &fingerprint,
    ]);
    assert_eq!((code, failure_code(&json)), (1, "NOT_WITNESSED"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_nodes_hash_tiles_survive_a_restart_and_a_damaged_one_is_repaired_from_the_log() {
    let root = tmp("tiles-restart");
    let data = root.join("data");
    let mut node = Node::start(&data, &[]);
    let size = fill(&node, 520).await;
    let tile0 = data.join("tiles").join(TileId::hashes(0, 0, 256).path());
    let tile1 = data.join("tiles").join(TileId::hashes(0, 1, 256).path());
    let original0 = std::fs::read(&tile0).expect("full tiles are files under <data>/tiles");
    let original1 = std::fs::read(&tile1).unwrap();
    assert_eq!(original0.len(), 8192);
    assert!(node.terminate());

    std::fs::write(&tile0, vec![0xAB; 8192]).unwrap();
    std::fs::remove_file(&tile1).unwrap();
    let node = Node::start(&data, &[]);
    assert_eq!(
        std::fs::read(&tile0).unwrap(),
        original0,
        "the damaged tile was rewritten"
    );
    assert_eq!(
        std::fs::read(&tile1).unwrap(),
        original1,
        "the missing tile was rewritten"
    );
    let mut client = node.client().await;
    let cp = checkpoint(&mut client).await;
    assert_eq!(cp.tree_size, size);
    for sequence in [0, 200, 300, size - 1] {
        let proof = client
            .get_inclusion_proof(proto::GetInclusionProofRequest {
                sequence,
                tree_size: size,
            })
            .await
            .unwrap()
            .into_inner();
        let hashes = merkle::hashes_from_bytes(&proof.hashes).unwrap();
        let leaf: [u8; 32] = proof.leaf_hash.as_slice().try_into().unwrap();
        let root_hash: [u8; 32] = cp.root_hash.as_slice().try_into().unwrap();
        merkle::verify_inclusion(&leaf, sequence, size, &hashes, &root_hash)
            .unwrap_or_else(|e| panic!("proof for {sequence} after the repair: {e}"));
    }
    verify_whole_log(&node, &mut client).await;
}

/// The demo witnesses' keys, kept in the data directory by the node that runs them: what a
/// node operator who also runs the witnesses (the demo's case) could cosign anything with.
fn demo_witness_keys(data: &Path) -> Vec<(String, ed25519_dalek::SigningKey)> {
    ["township", "committee"]
        .iter()
        .map(|w| {
            let dir = data.join("witnesses").join(w);
            let name = std::fs::read_to_string(dir.join("witness.name")).unwrap();
            let key = ledger_keys::read(&dir.join("witness.key")).unwrap();
            (name.trim().to_string(), key)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receipt_is_checked_against_the_ledger_as_published_now() {
    let root = tmp("tiles-receipt");
    let data = root.join("data");
    let published = root.join("published");
    let node = Node::start(&data, &["--tiles-dir", published.to_str().unwrap()]);
    let mut client = node.client().await;
    let community = Community::setup(&node, &mut client).await;
    let mut tx_ids = Vec::new();
    for i in 0..300u64 {
        let receipt = submit(&mut client, community.receipt(1 + i)).await.unwrap();
        let env: proto::SignedEnvelope =
            prost::Message::decode(receipt.entry.unwrap().envelope.as_slice()).unwrap();
        let body: proto::TransactionBody = prost::Message::decode(env.body.as_slice()).unwrap();
        tx_ids.push(body.tx_id);
    }
    let witnessed = wait_witnessed(&mut client).await;
    wait_exported(&published, witnessed.tree_size);
    let snapshot = export(&mut client).await;
    let fingerprint = ledger_fingerprint_of(&snapshot, &data);
    let mine = tx_ids[280].clone();
    let receipt = client
        .get_receipt(proto::GetReceiptRequest { tx_id: mine })
        .await
        .unwrap()
        .into_inner();
    let receipt_path = root.join("my.receipt");
    std::fs::write(&receipt_path, prost::Message::encode_to_vec(&receipt)).unwrap();
    let check = |location: &str| {
        verifier(&[
            "receipt",
            receipt_path.to_str().unwrap(),
            "--trust",
            &fingerprint,
            "--tiles",
            location,
        ])
    };
    for location in [
        format!("http://{}", node.http),
        published.to_str().unwrap().to_string(),
    ] {
        let (code, json, out) = check(&location);
        assert_eq!(code, 0, "{location}: {out}");
        assert_eq!(json["published_tree_size"], witnessed.tree_size, "{out}");
    }

    // Whoever runs the node (and, in the demo, the witnesses too) rewrites history without the
    // payment and publishes that, cosigned: the receipt shows it.
    let mut reader = SnapshotReader::open(snapshot.as_slice()).unwrap();
    let ledger_id = reader.header().ledger_id.clone();
    let mut entries = Vec::new();
    while let Some(e) = reader.next_entry().unwrap() {
        entries.push((e.timestamp_ms, e.envelope));
    }
    entries.remove(receipt.sequence as usize);
    let node_key = ledger_keys::read(&data.join("node.key")).unwrap();
    let forged = forge_snapshot(&ledger_id, &node_key, entries, &demo_witness_keys(&data));
    let fork = root.join("fork");
    std::fs::create_dir_all(&fork).unwrap();
    tiles_of_snapshot(&forged, &fork);
    // The forger publishes hash tiles too, made from the forged entries.
    write_hash_tiles(&forged, &fork);
    let (code, json, out) = check(fork.to_str().unwrap());
    assert_eq!(code, 1, "{out}");
    assert_eq!(json["code"], "NOT_IN_PUBLISHED_LEDGER", "{out}");
    assert!(out.contains("不在现在发布的账本中"), "{out}");

    // A changed hash tile proves nothing either way: refused, not taken as inclusion.
    let changed = root.join("changed");
    copy_dir(&published, &changed);
    assert!((256..512).contains(&receipt.sequence) && witnessed.tree_size < 512);
    let tile = changed.join(TileId::hashes(0, 1, (witnessed.tree_size % 256) as u16).path());
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[(receipt.sequence as usize - 256) * 32] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    let (code, json, out) = check(changed.to_str().unwrap());
    assert_eq!(
        (code, json["code"].as_str()),
        (1, Some("TILES_MALFORMED")),
        "{out}"
    );
    // Nothing there at all: nothing was checked (exit 2).
    let (code, _, out) = check(root.join("nowhere").to_str().unwrap());
    assert_eq!(code, 2, "{out}");
}

/// Hash tiles of a snapshot's entries, as a publisher of it would write them.
fn write_hash_tiles(snapshot: &[u8], dir: &Path) {
    let mut reader = SnapshotReader::open(snapshot).unwrap();
    let mut level: Vec<[u8; 32]> = Vec::new();
    while let Some(e) = reader.next_entry().unwrap() {
        level.push(merkle::entry_leaf_hash(&e));
    }
    let size = level.len() as u64;
    for l in 0..=tiles::MAX_TILE_LEVEL {
        if level.is_empty() {
            break;
        }
        for (i, chunk) in level.chunks(256).enumerate() {
            let tile = TileId::hashes(l, i as u64, chunk.len() as u16);
            let path = dir.join(tile.path());
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, tiles::encode_hash_tile(chunk)).unwrap();
        }
        level = level
            .chunks_exact(256)
            .map(merkle::root_of_leaves)
            .collect();
    }
    assert!(size > 0);
}
