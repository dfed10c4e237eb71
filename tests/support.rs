//! Support for end-to-end tests: start the real `ledger-node` binary on a free loopback port
//! with its own data directory, talk to it over gRPC, kill it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use ledger_core::build;
use ledger_core::checkpoint::SignedCheckpoint;
use ledger_core::proto::{self, ledger_client::LedgerClient, transaction_body::Kind};
use ledger_core::state::Role;
use tonic::transport::Channel;

#[path = "webdriver.rs"]
pub mod webdriver;

static BUILD: Once = Once::new();

fn target_dir() -> PathBuf {
    // target/<profile>/deps/<test binary>
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target dir")
        .to_path_buf()
}

/// Path of a workspace binary. `cargo test --workspace` builds every binary before it runs any
/// test (each binary package has integration tests of its own); when this package's tests run
/// alone and a binary is missing, it is built here.
pub fn binary(name: &str) -> PathBuf {
    let path = target_dir().join(name);
    if path.exists() {
        return path;
    }
    BUILD.call_once(|| {
        let profile_release = target_dir().ends_with("release");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--bins"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
        if profile_release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("run cargo build");
        assert!(status.success(), "cargo build --bins failed");
    });
    assert!(path.exists(), "{} was not built", path.display());
    path
}

pub struct Node {
    child: Option<Child>,
    pub addr: String,
    /// The HTTP port (metrics, snapshot download).
    pub http: String,
    pub data_dir: PathBuf,
}

impl Node {
    /// Starts `ledger-node serve` on a free loopback port; an empty directory gets a
    /// development ledger.
    pub fn start(data_dir: &Path, extra: &[&str]) -> Node {
        Node::start_command(data_dir, "serve", extra)
    }

    pub fn start_command(data_dir: &Path, command: &str, extra: &[&str]) -> Node {
        Node::start_at(data_dir, command, "127.0.0.1:0", "127.0.0.1:0", extra)
    }

    /// Starts the node on the given gRPC and HTTP addresses (to restart it where it was).
    pub fn start_at(
        data_dir: &Path,
        command: &str,
        listen: &str,
        http: &str,
        extra: &[&str],
    ) -> Node {
        Node::start_with_env(data_dir, command, listen, http, extra, &[])
    }

    /// As [`Node::start_at`], with extra environment variables (e.g. libfaketime's).
    pub fn start_with_env(
        data_dir: &Path,
        command: &str,
        listen: &str,
        http: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Node {
        let mut child = Command::new(binary("ledger-node"))
            .envs(env.iter().copied())
            .arg(command)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", listen, "--http", http])
            .args(store_flags(data_dir, command, extra))
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ledger-node");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(60);
        let (addr, http) = loop {
            assert!(
                Instant::now() < deadline,
                "ledger-node did not start in time"
            );
            let line = lines
                .next()
                .expect("ledger-node exited before serving")
                .expect("read stdout");
            if let Some(rest) = line.strip_prefix("ledger-node serving ") {
                let addr = rest
                    .split(" on ")
                    .nth(1)
                    .and_then(|s| s.split(' ').next())
                    .expect("address in the serving line");
                let http = rest
                    .split("http on ")
                    .nth(1)
                    .or_else(|| rest.split("https on ").nth(1))
                    .map(|s| s.trim_end_matches(')').to_string())
                    .unwrap_or_default();
                break (addr.to_string(), http);
            }
        };
        // Keep draining stdout so the node never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Node {
            child: Some(child),
            addr,
            http,
            data_dir: data_dir.to_path_buf(),
        }
    }

    pub async fn client(&self) -> LedgerClient<Channel> {
        let url = format!("http://{}", self.addr);
        for _ in 0..100 {
            if let Ok(c) = LedgerClient::connect(url.clone()).await {
                return c.max_decoding_message_size(64 << 20);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("cannot connect to {url}");
    }

    /// kill -9: no chance to flush or sync anything.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then wait for a clean exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn admin_key(&self) -> SigningKey {
        ledger_keys::read(&self.data_dir.join("keys/admin.key"))
            .expect("admin key of the dev ledger")
    }

    pub fn node_public_key(&self) -> ed25519_dalek::VerifyingKey {
        ledger_keys::read(&self.data_dir.join("node.key"))
            .expect("node key")
            .verifying_key()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn random_tx_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut id);
    id
}

/// What a lying node could publish: any (node time, envelope) entries, chained, Merkle-rooted
/// and signed by `node_key` exactly as a correct node would; with `witnesses` (key name, key),
/// the checkpoint is also cosigned by them now, as honest witnesses would.
pub fn forge_snapshot(
    ledger_id: &str,
    node_key: &SigningKey,
    entries: Vec<(i64, Vec<u8>)>,
    witnesses: &[(String, SigningKey)],
) -> Vec<u8> {
    use ledger_core::entry::{Entry, GENESIS_PREV_HASH};
    use ledger_core::merkle::{entry_leaf_hash, CompactTree};
    use ledger_core::snapshot;
    let count = entries.len() as u64;
    let mut frames = Vec::new();
    let mut prev = GENESIS_PREV_HASH;
    let mut tree = CompactTree::new();
    for (i, (timestamp_ms, envelope)) in entries.into_iter().enumerate() {
        let entry = Entry {
            sequence: i as u64,
            prev_hash: prev,
            timestamp_ms,
            envelope,
        };
        prev = entry.hash();
        tree.append(entry_leaf_hash(&entry), |_, _, _| {});
        snapshot::encode_entry_frame(&entry, &mut frames);
    }
    let cp = ledger_core::checkpoint::Checkpoint {
        origin: ledger_id.into(),
        tree_size: tree.size(),
        root: tree.root(),
    }
    .sign(node_key);
    let mut witnessed = String::new();
    if !witnesses.is_empty() {
        witnessed = cp.text.clone();
        let now_s = (now_ms() / 1000) as u64;
        for (name, key) in witnesses {
            witnessed += &ledger_core::checkpoint::cosign(cp.note_text(), name, key, now_s).line();
        }
    }
    let mut out = snapshot::encode_header(&snapshot::Header {
        ledger_id: ledger_id.into(),
        node_public_key: node_key.verifying_key().to_bytes(),
        entry_count: count,
        witnessed,
    });
    out.extend(frames);
    out.extend(snapshot::encode_trailer(&cp.text));
    out
}

/// What whoever holds the community's node key could publish in the community's name: a new
/// ledger with the real ledger id and checkpoint key but its own genesis (the forger's admin
/// key, a quorum of one, no witnesses), signed exactly as the node signs. Only the ledger
/// fingerprint on the notice board tells it apart. `forger` is the forger's admin key.
pub fn forged_genesis_snapshot(
    ledger_id: &str,
    node_key: &SigningKey,
    forger: &SigningKey,
) -> Vec<u8> {
    let genesis = Kind::Genesis(proto::Genesis {
        ledger_name: "幸福里社区共同缔造基金".into(),
        currency: "CNY".into(),
        admin_keys: vec![build::public_key(forger, Role::Admin, "admin")],
        policy: Some(proto::Policy {
            approval_threshold_fen: 1_000_000,
            approver_quorum: 1,
            admin_quorum: 1,
            reserve_ratio_bp: 0,
            approval_window_days: 30,
            notice_days: 0,
            objection_response_days: 0,
        }),
        checkpoint_key: node_key.verifying_key().to_bytes().to_vec(),
        witnesses: vec![],
        witness_quorum: 0,
    });
    let env = build::envelope(
        build::body(ledger_id, random_tx_id(), now_ms(), genesis),
        &[forger],
    );
    forge_snapshot(
        ledger_id,
        node_key,
        vec![(now_ms(), prost::Message::encode_to_vec(&env))],
        &[],
    )
}

/// `apt-get update` and `apt-get install --no-install-recommends PACKAGES`, quietly: how tests
/// install the real components they drive (CI runs as root). Whether both succeeded.
pub fn apt_install(packages: &[&str]) -> bool {
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let install = ["install", "-y", "-qq", "--no-install-recommends"];
    apt(&["update", "-qq"]) && apt(&[&install[..], packages].concat())
}

/// Debian's libfaketime, installed with apt-get when missing: the node's clock moved forward by
/// days, so notice periods can end inside a test. Returns the library.
pub fn ensure_faketime() -> &'static str {
    const LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
    static INSTALL: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut done = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if !*done && !Path::new(LIB).exists() {
        eprintln!("installing libfaketime with apt-get (once per machine)");
        assert!(
            apt_install(&["faketime"]) && Path::new(LIB).exists(),
            "this test moves the node's clock with libfaketime: run `apt-get install faketime` \
             as root (this test tried and failed)"
        );
    }
    *done = true;
    LIB
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Builds and signs transactions for one ledger.
#[derive(Clone)]
pub struct Signer {
    pub ledger_id: String,
}

impl Signer {
    pub async fn of(client: &mut LedgerClient<Channel>) -> Signer {
        let cp = client
            .get_checkpoint(proto::GetCheckpointRequest {})
            .await
            .unwrap()
            .into_inner();
        let parsed = SignedCheckpoint::parse(&cp.text).unwrap();
        Signer {
            ledger_id: parsed.checkpoint.origin,
        }
    }

    pub fn envelope(&self, kind: Kind, keys: &[&SigningKey]) -> proto::SignedEnvelope {
        build::envelope(
            build::body(&self.ledger_id, random_tx_id(), now_ms(), kind),
            keys,
        )
    }

    pub fn envelope_with(
        &self,
        tx_id: [u8; 16],
        kind: Kind,
        keys: &[&SigningKey],
    ) -> proto::SignedEnvelope {
        build::envelope(build::body(&self.ledger_id, tx_id, now_ms(), kind), keys)
    }
}

pub fn register(key: &SigningKey, role: Role, name: &str) -> Kind {
    Kind::KeyRegistered(proto::KeyRegistered {
        key: Some(build::public_key(key, role, name)),
    })
}

pub async fn submit(
    client: &mut LedgerClient<Channel>,
    envelope: proto::SignedEnvelope,
) -> Result<proto::TxReceipt, tonic::Status> {
    client
        .submit(proto::SubmitRequest {
            envelope: Some(envelope),
        })
        .await
        .map(|r| r.into_inner().receipt.expect("receipt"))
}

/// A community on a fresh development ledger: keys for every role, two fund pools, a payee
/// and a project, all posted over gRPC.
pub struct Community {
    pub signer: Signer,
    pub admin: SigningKey,
    pub finance: SigningKey,
    pub approver1: SigningKey,
    pub approver2: SigningKey,
    pub auditor: SigningKey,
}

pub const YUAN: u64 = 100;

impl Community {
    pub async fn setup(node: &Node, client: &mut LedgerClient<Channel>) -> Community {
        use ledger_core::state::FundSource;
        let signer = Signer::of(client).await;
        let c = Community {
            signer,
            admin: node.admin_key(),
            finance: SigningKey::from_bytes(&random_seed()),
            approver1: SigningKey::from_bytes(&random_seed()),
            approver2: SigningKey::from_bytes(&random_seed()),
            auditor: SigningKey::from_bytes(&random_seed()),
        };
        let admin = c.admin.clone();
        for (k, role, name) in [
            (&c.finance, Role::Finance, "街道财政所"),
            (&c.approver1, Role::Approver, "居民代表 李"),
            (&c.approver2, Role::Approver, "居民代表 王"),
            (&c.auditor, Role::Auditor, "审计"),
        ] {
            submit(
                client,
                c.signer.envelope(register(k, role, name), &[&admin]),
            )
            .await
            .expect("register key");
        }
        for (id, source) in [
            ("pool:fiscal", FundSource::Fiscal),
            ("pool:crowd", FundSource::Crowdfunding),
        ] {
            let kind = Kind::AccountOpened(proto::AccountOpened {
                account_id: id.into(),
                kind: proto::AccountKind::FundPool as i32,
                source: source.to_proto() as i32,
                name: id.into(),
            });
            submit(client, c.signer.envelope(kind, &[&admin]))
                .await
                .expect("open pool");
        }
        let payee = Kind::AccountOpened(proto::AccountOpened {
            account_id: "payee:builder".into(),
            kind: proto::AccountKind::Payee as i32,
            source: 0,
            name: "施工单位".into(),
        });
        submit(client, c.signer.envelope(payee, &[&admin]))
            .await
            .expect("open payee");
        let project = Kind::ProjectCreated(proto::ProjectCreated {
            project_id: "elevator".into(),
            name: "加装电梯".into(),
            description: String::new(),
            budget: build::source_amounts(&[
                (FundSource::Fiscal, 600_000 * YUAN),
                (FundSource::Crowdfunding, 100_000 * YUAN),
            ]),
        });
        submit(client, c.signer.envelope(project, &[&admin]))
            .await
            .expect("create project");
        c
    }

    pub fn receipt(&self, yuan: u64) -> proto::SignedEnvelope {
        self.signer.envelope(
            receipt_kind(
                ledger_core::state::FundSource::Fiscal,
                "pool:fiscal",
                yuan * YUAN,
            ),
            &[&self.finance],
        )
    }
}

pub fn receipt_kind(source: ledger_core::state::FundSource, pool: &str, fen: u64) -> Kind {
    Kind::FundsReceived(proto::FundsReceived {
        source: source.to_proto() as i32,
        to_account: pool.into(),
        amount_fen: fen,
        ..Default::default()
    })
}

pub fn random_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
    seed
}

/// Reads the whole log over gRPC.
pub async fn read_log(client: &mut LedgerClient<Channel>) -> Vec<proto::Entry> {
    let mut stream = client
        .read_entries(proto::ReadEntriesRequest {
            from_sequence: 0,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(e) = tokio_stream::StreamExt::next(&mut stream).await {
        out.push(e.unwrap());
    }
    out
}

/// Checks the chain, every signature and rule, and the Merkle root against the node's signed
/// checkpoint; returns the state a fresh replay builds.
pub async fn verify_whole_log(
    node: &Node,
    client: &mut LedgerClient<Channel>,
) -> ledger_core::state::State {
    use ledger_core::entry::{ChainHead, Entry};
    use ledger_core::merkle::{entry_leaf_hash, CompactTree};
    let cp = client
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    let entries = read_log(client).await;
    assert_eq!(
        entries.len() as u64,
        cp.tree_size,
        "the log and the checkpoint disagree on the size"
    );
    let mut chain = ChainHead::default();
    let mut tree = CompactTree::new();
    let mut state = ledger_core::state::State::new();
    for e in &entries {
        let entry = Entry {
            sequence: e.sequence,
            prev_hash: e.prev_hash.clone().try_into().unwrap(),
            timestamp_ms: e.timestamp_ms,
            envelope: e.envelope.clone(),
        };
        let hash = chain.link(&entry).expect("the chain is whole");
        assert_eq!(hash.to_vec(), e.entry_hash);
        tree.append(entry_leaf_hash(&entry), |_, _, _| {});
        ledger_core::rules::apply_entry(&mut state, &entry).expect("every entry passes the rules");
    }
    let signed = SignedCheckpoint::parse(&cp.text).unwrap();
    signed
        .verify(&signed.checkpoint.origin, &node.node_public_key())
        .expect("checkpoint signed by the node key");
    assert_eq!(
        signed.checkpoint.root,
        tree.root(),
        "Merkle root matches the checkpoint"
    );
    state
}

/// Submits `envelope` and expects the ledger to refuse it with `code` and `reason` and a message
/// that explains, leaving the checkpoint, the entry count and the balances exactly as they were.
pub async fn expect_refused(
    client: &mut LedgerClient<Channel>,
    what: &str,
    envelope: proto::SignedEnvelope,
    code: tonic::Code,
    reason: &str,
) {
    let before = client
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    let balances = client
        .get_balances(proto::GetBalancesRequest { as_of_tree_size: 0 })
        .await
        .unwrap()
        .into_inner();
    let status = submit(client, envelope).await.expect_err(what);
    assert_eq!(status.code(), code, "{what}: {}", status.message());
    assert_eq!(
        status
            .metadata()
            .get("ledger-reason")
            .and_then(|v| v.to_str().ok()),
        Some(reason),
        "{what}: {}",
        status.message()
    );
    assert!(
        status.message().len() > reason.len() + 10,
        "{what}: the message explains: {}",
        status.message()
    );
    let after = client
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (after.tree_size, after.text),
        (before.tree_size, before.text),
        "{what}: the store changed"
    );
    let balances_after = client
        .get_balances(proto::GetBalancesRequest { as_of_tree_size: 0 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(balances_after, balances, "{what}: balances changed");
}

/// The value of one metric from the node's `/metrics` page: the first series of that name,
/// whatever its labels (one ledger's, with one ledger open), or an exact series
/// (`name{ledger="x"}`).
pub fn metric(node: &Node, name: &str) -> u64 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(&node.http).expect("the node's HTTP port");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        node.http
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.lines()
        .find(|l| {
            l.starts_with(name)
                && (l[name.len()..].starts_with(' ')
                    || (!name.contains('{') && l[name.len()..].starts_with('{')))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("metric {name} missing"))
}

/// The node's latest signed checkpoint.
pub async fn checkpoint(client: &mut LedgerClient<Channel>) -> proto::Checkpoint {
    client
        .get_checkpoint(proto::GetCheckpointRequest {})
        .await
        .unwrap()
        .into_inner()
}

/// The whole snapshot the node exports over gRPC.
/// Waits (up to 30 s) until the node's witnessed checkpoint covers its whole log, when its
/// genesis names witnesses (a dev ledger's two demo witnesses do). Returns the checkpoint.
pub async fn wait_witnessed(client: &mut LedgerClient<Channel>) -> proto::Checkpoint {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let cp = client
            .get_checkpoint(proto::GetCheckpointRequest {})
            .await
            .unwrap()
            .into_inner();
        let witnessed = ledger_core::checkpoint::SignedCheckpoint::parse(&cp.witnessed_text)
            .map(|w| w.checkpoint.tree_size)
            .unwrap_or(0);
        if witnessed == cp.tree_size {
            return cp;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the witnesses did not cosign size {} within 30 s (witnessed: {witnessed})",
            cp.tree_size
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A snapshot of the node's log, exported once the witnesses have cosigned all of it.
pub async fn export(client: &mut LedgerClient<Channel>) -> Vec<u8> {
    wait_witnessed(client).await;
    export_now(client).await
}

/// A snapshot of the node's log as ExportSnapshot gives it now, without waiting for witnesses.
pub async fn export_now(client: &mut LedgerClient<Channel>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stream = client
        .export_snapshot(proto::ExportSnapshotRequest {})
        .await
        .unwrap()
        .into_inner();
    while let Some(chunk) = tokio_stream::StreamExt::next(&mut stream).await {
        out.extend(chunk.unwrap().data);
    }
    out
}

/// The ledger fingerprint of a snapshot a node in `data_dir` exported: what the community's
/// notice board carries, computed here from its entry 0.
pub fn ledger_fingerprint_of(snapshot: &[u8], data_dir: &Path) -> String {
    let node_key = ledger_keys::read(&data_dir.join("node.key")).expect("node key");
    let trust = ledger_verifier::trust::Trust::Fingerprint(ledger_keys::fingerprint(&node_key));
    ledger_verifier::check::verify_snapshot(snapshot, &trust, &[], 1, |_| {}, |_, _| {})
        .ledger_fingerprint
        .expect("a snapshot with a genesis")
}

/// The `ledger` command line, run against a node from a working directory (where key files are).
pub struct Cli<'a> {
    pub node: String,
    pub dir: &'a Path,
}

impl Cli<'_> {
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(binary("ledger"))
            .args(args)
            .env("LEDGER_NODE", &self.node)
            .current_dir(self.dir)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "ledger {args:?} failed:\n{out}\n{err}");
        out
    }

    /// Posts with --json and returns the transaction id.
    pub fn post(&self, args: &[&str]) -> String {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(&all);
        let v: serde_json_value::Value =
            serde_json_value::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
        v["tx_id"].as_str().unwrap().to_string()
    }

    /// Expects the ledger to refuse: exit code 1 and `reason` in what it says.
    pub fn refused(&self, args: &[&str], reason: &str) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 1, "ledger {args:?} should be refused:\n{out}\n{err}");
        assert!(
            err.contains(reason) || out.contains(reason),
            "ledger {args:?} should say {reason}:\n{out}\n{err}"
        );
        err
    }

    pub fn keygen(&self, name: &str) -> String {
        let out = self.ok(&["keygen", "--out", name, "--json"]);
        let v: serde_json_value::Value = serde_json_value::from_str(out.trim()).unwrap();
        v["public_key"].as_str().unwrap().to_string()
    }
}

/// A plain HTTP/1.1 response, as [`request`] read it.
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request over a new TCP connection, as a browser or a scraper sends it; the
/// body is de-chunked.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head += &format!("{k}: {v}\r\n");
    }
    head += "\r\n";
    std::io::Write::write_all(&mut stream, head.as_bytes()).unwrap();
    std::io::Write::write_all(&mut stream, body).unwrap();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut stream, &mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        let mut out = Vec::new();
        let mut rest = body.as_slice();
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest = &rest[line_end + 2 + size + 2..];
        }
        body = out;
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// A virtualenv at `base/venv` with `requirements` installed, made once and remade when the
/// requirements change; returns its python. Debian's python3 and python3-venv are installed
/// with apt-get when missing, as the other tests install what they drive.
pub fn python_venv(base: &Path, requirements: &Path) -> PathBuf {
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let venv = base.join("venv");
    let python = venv.join("bin/python");
    let wanted = std::fs::read_to_string(requirements).unwrap();
    let stamp = venv.join("requirements.installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return python;
    }
    let make = || {
        let _ = std::fs::remove_dir_all(&venv);
        Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !make() {
        eprintln!("installing python3 and python3-venv with apt-get (once per machine)");
        assert!(
            apt_install(&["python3", "python3-venv"]) && make(),
            "this test needs python3 with venv (CPython 3.9 or later): apt-get install python3-venv"
        );
    }
    let ok = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(requirements)
        .status()
        .unwrap();
    assert!(
        ok.success(),
        "pip install -r {} failed",
        requirements.display()
    );
    std::fs::write(&stamp, &wanted).unwrap();
    python
}

/// A client of one ledger of a node that serves several: every call carries its `ledger-id`.
pub type LedgerOf = proto::ledger_client::LedgerClient<ledger_client::Transport>;

/// A ledger added to a node's data directory with `ledger-node init` (one admin, no
/// witnesses), and the finance key `fund_pool` registers on it.
pub struct AddedLedger {
    pub ledger_id: String,
    pub admin: SigningKey,
    pub finance: SigningKey,
    pub fingerprint: String,
    /// What `ledger-node init` printed.
    pub said: String,
}

/// Runs `ledger-node init` for a new ledger `ledger_id` into `data_dir`, which already holds
/// the node's own ledger (the node may be running).
pub fn add_ledger(data_dir: &Path, ledger_id: &str, name: &str) -> AddedLedger {
    let (ok, said, err, admin) = init_added(data_dir, ledger_id, name);
    assert!(ok, "ledger-node init {ledger_id} failed:\n{said}\n{err}");
    let fingerprint = said
        .lines()
        .find_map(|l| l.trim().strip_prefix("账本指纹 ledger fingerprint: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no fingerprint in:\n{said}"))
        .to_string();
    AddedLedger {
        ledger_id: ledger_id.to_string(),
        admin,
        finance: SigningKey::from_bytes(&random_seed()),
        fingerprint,
        said,
    }
}

/// Runs `ledger-node init` for ledger `ledger_id` into `data_dir` with a new admin key:
/// (success, stdout, stderr, the admin key).
pub fn init_added(
    data_dir: &Path,
    ledger_id: &str,
    name: &str,
) -> (bool, String, String, SigningKey) {
    let work = tempfile::tempdir().unwrap();
    let admin = SigningKey::from_bytes(&random_seed());
    ledger_keys::write_new(&work.path().join("admin.key"), &admin).unwrap();
    let genesis = format!(
        "ledger_id = \"{ledger_id}\"\nname = \"{name}\"\napproval_threshold_yuan = 100000\n\
         approver_quorum = 2\nadmin_quorum = 1\nreserve_ratio_bp = 1000\n\
         [[admin]]\nname = \"社区居委会\"\npublic_key = \"{}\"\n",
        hex::encode(admin.verifying_key().as_bytes())
    );
    std::fs::write(work.path().join("genesis.toml"), genesis).unwrap();
    let out = Command::new(binary("ledger-node"))
        .args([
            "init",
            "--genesis",
            "genesis.toml",
            "--admin-key",
            "admin.key",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .current_dir(work.path())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        admin,
    )
}

impl Node {
    /// A client of ledger `ledger_id` on this node.
    pub async fn client_for(&self, ledger_id: &str) -> LedgerOf {
        let url = format!("http://{}", self.addr);
        for _ in 0..100 {
            if let Ok(c) = ledger_client::LedgerClient::connect(&url, None).await {
                let mut c = c.for_ledger(Some(ledger_id)).unwrap();
                return c.raw().clone().max_decoding_message_size(64 << 20);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("cannot connect to {url}");
    }
}

impl AddedLedger {
    /// An envelope of this ledger, signed by `keys`.
    pub fn envelope(
        &self,
        tx_id: [u8; 16],
        kind: Kind,
        keys: &[&SigningKey],
    ) -> proto::SignedEnvelope {
        build::envelope(build::body(&self.ledger_id, tx_id, now_ms(), kind), keys)
    }

    /// Money received into `pool:fiscal`, signed by the finance key.
    pub fn receipt(&self, tx_id: [u8; 16], yuan: u64) -> proto::SignedEnvelope {
        self.envelope(
            tx_id,
            receipt_kind(
                ledger_core::state::FundSource::Fiscal,
                "pool:fiscal",
                yuan * YUAN,
            ),
            &[&self.finance],
        )
    }

    /// Registers the finance key and opens `pool:fiscal`.
    pub async fn fund_pool(&self, client: &mut LedgerOf) {
        let finance = register(&self.finance, Role::Finance, "街道财政所");
        submit_to(
            client,
            self.envelope(random_tx_id(), finance, &[&self.admin]),
        )
        .await
        .expect("register the finance key");
        let pool = Kind::AccountOpened(proto::AccountOpened {
            account_id: "pool:fiscal".into(),
            kind: proto::AccountKind::FundPool as i32,
            source: ledger_core::state::FundSource::Fiscal.to_proto() as i32,
            name: "财政资金".into(),
        });
        submit_to(client, self.envelope(random_tx_id(), pool, &[&self.admin]))
            .await
            .expect("open the pool");
    }
}

pub async fn submit_to(
    client: &mut LedgerOf,
    envelope: proto::SignedEnvelope,
) -> Result<proto::TxReceipt, tonic::Status> {
    client
        .submit(proto::SubmitRequest {
            envelope: Some(envelope),
        })
        .await
        .map(|r| r.into_inner().receipt.expect("receipt"))
}

/// The whole snapshot of one ledger over gRPC.
pub async fn export_of(client: &mut LedgerOf) -> Vec<u8> {
    let mut stream = client
        .export_snapshot(proto::ExportSnapshotRequest {})
        .await
        .unwrap()
        .into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = tokio_stream::StreamExt::next(&mut stream).await {
        bytes.extend(chunk.unwrap().data);
    }
    bytes
}

/// A real PostgreSQL server for the tests, from Debian's package (installed with apt-get when
/// missing), in a temporary directory on a free loopback port, started and stopped with pg_ctl
/// as the unprivileged `postgres` user when the tests run as root. Trust authentication on
/// loopback only; every test makes its own database.
pub struct Postgres {
    pub dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
}

impl Postgres {
    /// Installs (once per machine), initdb's and starts a server.
    pub fn start() -> Postgres {
        let bin = postgres_bin();
        let dir = tempfile::Builder::new()
            .prefix("ledger-pg-")
            .tempdir()
            .expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("pg data dir");
        as_postgres_owner(dir.path());
        as_postgres_owner(&data);
        let port = free_port();
        let pg = Postgres { dir, port, bin };
        pg.run_as_owner(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-instructions",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        pg.pg_ctl_start();
        pg
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run_as_owner(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid=postgres",
                "--regid=postgres",
                "--init-groups",
                "--",
            ])
            .arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let out = cmd
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("run {tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c max_connections=200 -c fsync=on",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.run_as_owner(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                self.data().to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
            ],
        );
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`).
    pub fn crash(&self) {
        self.run_as_owner(
            "pg_ctl",
            &[
                "stop",
                "-w",
                "-m",
                "immediate",
                "-D",
                self.data().to_str().unwrap(),
            ],
        );
    }

    /// A shell command that stops the server at once, and removes its directory.
    fn stop_command(&self) -> String {
        let ctl = self.bin.join("pg_ctl");
        let data = self.data();
        let stop = format!("{} stop -m immediate -D {}", ctl.display(), data.display());
        let stop = if is_root() {
            format!("setpriv --reuid=postgres --regid=postgres --init-groups -- {stop}")
        } else {
            stop
        };
        format!(
            "{stop} >/dev/null 2>&1; rm -rf {}",
            self.dir.path().display()
        )
    }

    /// Starts the server again after [`Postgres::crash`] (it recovers from its WAL).
    pub fn restart(&self) {
        self.pg_ctl_start();
    }

    /// A new database, and its URL.
    pub fn database(&self, name: &str) -> String {
        self.sql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(name)
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs `sql` with psql in database `db`; its unaligned, tuples-only output.
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
            .args(["-p", &self.port.to_string(), "-U", "postgres", "-d", db])
            .args(["-c", sql])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.data();
        let stop = |p: &Postgres| {
            p.run_as_owner(
                "pg_ctl",
                &["stop", "-m", "immediate", "-D", data.to_str().unwrap()],
            )
        };
        // Already stopped is fine; a panic here would hide the test's own.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stop(self)));
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn as_postgres_owner(path: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(path)
            .status()
            .expect("chown");
        assert!(status.success(), "chown postgres {}", path.display());
    }
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// The directory of Debian's PostgreSQL server programs, installed with apt-get when missing.
fn postgres_bin() -> PathBuf {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _once = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let find = || {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("initdb").exists() && b.join("psql").exists())
            .collect();
        found.sort();
        found.pop()
    };
    if let Some(bin) = find() {
        return bin;
    }
    eprintln!("installing PostgreSQL with apt-get (once per machine)");
    assert!(
        apt_install(&["postgresql"]),
        "these tests run a real PostgreSQL: run `apt-get install postgresql` as root (this \
         test tried and failed)"
    );
    find().expect("postgresql installed but no initdb under /usr/lib/postgresql/*/bin")
}

/// Which store the suite's nodes keep their ledger in: `LEDGER_TEST_STORE=postgres` runs every
/// node a test starts (serve and demo) on PostgreSQL, so the same end-to-end suite checks both
/// stores (`.ci/run` runs the core of it so). Unset or `embedded`: the embedded store.
pub fn test_store_is_postgres() -> bool {
    match std::env::var("LEDGER_TEST_STORE").as_deref() {
        Ok("postgres") => true,
        Ok("embedded") | Err(_) => false,
        Ok(other) => panic!("LEDGER_TEST_STORE={other:?}: give postgres or embedded"),
    }
}

/// `--store <url>` for a node of `data_dir` when the suite runs on PostgreSQL: one server per
/// test process, one database per data directory (so a restarted node finds its ledger).
fn store_flags(data_dir: &Path, command: &str, extra: &[&str]) -> Vec<String> {
    if !test_store_is_postgres()
        || !matches!(command, "serve" | "demo")
        || extra.contains(&"--store")
    {
        return Vec::new();
    }
    let pg = shared_postgres();
    let path = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let name = format!(
        "d{}",
        &blake3::hash(path.to_string_lossy().as_bytes()).to_hex()[..16]
    );
    let exists = pg.sql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
    );
    if exists == "0" {
        pg.sql("postgres", &format!("CREATE DATABASE {name}"));
    }
    vec!["--store".into(), pg.url(&name)]
}

/// The test process's PostgreSQL server, started on first use. A watchdog stops it when the
/// test process ends (statics are never dropped).
pub fn shared_postgres() -> &'static Postgres {
    /// The server, and its watchdog (kept, so it is a child of this process until it ends).
    static SHARED: std::sync::OnceLock<(Postgres, std::sync::Mutex<Child>)> =
        std::sync::OnceLock::new();
    &SHARED
        .get_or_init(|| {
            let pg = Postgres::start();
            let stop = format!(
                "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {ctl}",
                pid = std::process::id(),
                ctl = pg.stop_command()
            );
            let watchdog = Command::new("sh")
                .args(["-c", &stop])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start the PostgreSQL watchdog");
            (pg, std::sync::Mutex::new(watchdog))
        })
        .0
}
