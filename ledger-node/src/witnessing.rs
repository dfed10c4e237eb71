//! Getting the node's checkpoints cosigned by the ledger's witnesses (C2SP tlog-witness).
//!
//! Acknowledgements never wait for witnesses: a task wakes when the log grows, at most once per
//! `interval`, sends the newest checkpoint with a consistency proof from the size each witness
//! holds (learnt from its 409 answers), and keeps the cosignatures of the witnesses the genesis
//! names. When they reach the genesis's quorum, that checkpoint becomes the witnessed one: kept
//! in `<data>/witnessed` (replaced atomically), served by GetCheckpoint, `/checkpoint` and
//! snapshots. Which witnesses count is decided by the genesis, not by this configuration: a URL
//! whose witness the genesis does not name adds nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ledger_core::checkpoint::{SignedCheckpoint, WitnessKey};
use ledger_witness::client::{self, Submitted};

use crate::engine::{Head, Shared};

/// The witnessed checkpoint's file in the data directory.
pub const WITNESSED_FILE: &str = "witnessed";
/// How long one witness may take to answer.
const WITNESS_TIMEOUT: Duration = Duration::from_secs(10);

/// One witness endpoint and the size it is known to hold.
struct Endpoint {
    url: String,
    held: u64,
    /// The last failure, logged once until it changes.
    last_error: Option<String>,
}

/// Loads `<data>/witnessed` if it is a checkpoint of this log with the quorum; else nothing.
pub fn restore(shared: &Shared, data_dir: &Path) {
    let path = data_dir.join(WITNESSED_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    match check_stored(shared, &text) {
        Ok(cp) => *shared.witnessed.write().expect("witnessed lock") = Some(Arc::new(cp)),
        Err(why) => tracing::warn!(%why, "ignoring {}", path.display()),
    }
}

/// Why a witnessed checkpoint from elsewhere was not taken.
#[derive(Debug)]
pub enum NotAdopted {
    /// Not a checkpoint of this ledger signed by its key with the witness quorum: not
    /// evidence of anything (anyone can write garbage).
    Invalid(String),
    /// Valid, for more entries than this node's copy holds yet.
    Ahead(u64),
    /// Valid, and this node's log has another root at its size: a fork or a rewrite that the
    /// witnesses' signatures prove.
    Contradicts(u64),
    /// It could not be checked or stored.
    Io(String),
}

/// Takes `text`, a witnessed checkpoint from elsewhere (another node of the ledger, through
/// the database), when it checks out against this node's own log and is larger than the one
/// it has; stores it in `<data>/witnessed`. Returns whether it was taken.
pub fn adopt(shared: &Shared, data_dir: &Path, text: &str) -> Result<bool, NotAdopted> {
    let cp = check_signed(shared, text).map_err(NotAdopted::Invalid)?;
    let size = cp.checkpoint.tree_size;
    if size > shared.head().size {
        return Err(NotAdopted::Ahead(size));
    }
    match shared.root_at(size) {
        Ok(root) if root == cp.checkpoint.root => {}
        Ok(_) => return Err(NotAdopted::Contradicts(size)),
        Err(e) => return Err(NotAdopted::Io(e.to_string())),
    }
    let have = shared
        .witnessed
        .read()
        .expect("witnessed lock")
        .as_ref()
        .map_or(0, |w| w.checkpoint.tree_size);
    if size <= have {
        return Ok(false);
    }
    crate::mark::save_as(data_dir, WITNESSED_FILE, text)
        .map_err(|e| NotAdopted::Io(e.to_string()))?;
    *shared.witnessed.write().expect("witnessed lock") = Some(Arc::new(cp));
    Ok(true)
}

fn check_stored(shared: &Shared, text: &str) -> Result<SignedCheckpoint, String> {
    let cp = check_signed(shared, text)?;
    let size = cp.checkpoint.tree_size;
    if size > shared.head().size {
        return Err(format!("it is for {size} entries, more than the log holds"));
    }
    let root = shared.root_at(size).map_err(|e| e.to_string())?;
    if root != cp.checkpoint.root {
        return Err("its root is not this log's".into());
    }
    Ok(cp)
}

/// A checkpoint of this ledger, signed by the key in force at its size, with the genesis's
/// witness quorum (nothing about this node's log yet).
fn check_signed(shared: &Shared, text: &str) -> Result<SignedCheckpoint, String> {
    let cp = SignedCheckpoint::parse(text).map_err(|e| e.to_string())?;
    if cp.checkpoint.origin != shared.ledger_id {
        return Err(format!("it is a checkpoint of {:?}", cp.checkpoint.origin));
    }
    let key = {
        let state = shared.state.read().expect("state lock");
        let ledger = state.ledger.as_ref().expect("an open ledger has a genesis");
        ledger.checkpoint_key_at(cp.checkpoint.tree_size)
    };
    cp.verify(&shared.ledger_id, &key)
        .map_err(|e| format!("it is not signed by the key in force at its size: {e}"))?;
    let (witnesses, quorum) = witness_policy(shared);
    cp.check_witnesses(&witnesses, quorum, &[])
        .map_err(|e| e.to_string())?;
    Ok(cp)
}

fn witness_policy(shared: &Shared) -> (Vec<WitnessKey>, u32) {
    let state = shared.state.read().expect("state lock");
    let ledger = state.ledger.as_ref().expect("an open ledger has a genesis");
    (ledger.witnesses.clone(), ledger.witness_quorum)
}

/// Runs until the process ends. Does nothing when the genesis names no witness.
pub async fn run(shared: Arc<Shared>, data_dir: PathBuf, urls: Vec<String>, interval: Duration) {
    let (witnesses, quorum) = witness_policy(&shared);
    if witnesses.is_empty() {
        return;
    }
    if urls.is_empty() {
        tracing::warn!("本账本要求见证，但未配置见证方地址 the genesis names witnesses but no --witness-url is configured: checkpoints will not be witnessed");
        return;
    }
    let mut endpoints: Vec<Endpoint> = urls
        .into_iter()
        .map(|url| Endpoint {
            url,
            held: 0,
            last_error: None,
        })
        .collect();
    let mut grown = shared.head_watch.subscribe();
    loop {
        let head = shared.head();
        let witnessed = shared
            .witnessed
            .read()
            .expect("witnessed lock")
            .as_ref()
            .map(|c| c.checkpoint.tree_size);
        if witnessed.is_none_or(|w| w < head.size) {
            round(
                &shared,
                &data_dir,
                &mut endpoints,
                &head,
                &witnesses,
                quorum,
            )
            .await;
        }
        tokio::time::sleep(interval).await;
        if shared.head().size == head.size && witnessed.is_some_and(|w| w >= head.size) {
            let _ = grown.changed().await;
        }
    }
}

/// Asks every witness to cosign `head`; keeps the result when it reaches the quorum.
async fn round(
    shared: &Shared,
    data_dir: &Path,
    endpoints: &mut [Endpoint],
    head: &Head,
    witnesses: &[WitnessKey],
    quorum: u32,
) {
    let Ok(checkpoint) = SignedCheckpoint::parse(&head.checkpoint) else {
        return;
    };
    let mut lines = String::new();
    for endpoint in endpoints.iter_mut() {
        match ask(shared, endpoint, head).await {
            Ok(reply) => {
                endpoint.last_error = None;
                lines.push_str(&only_valid_lines(&checkpoint, &reply, witnesses));
            }
            Err(e) => {
                if endpoint.last_error.as_ref() != Some(&e) {
                    tracing::warn!(witness = %endpoint.url, error = %e, "见证方未签 a witness did not cosign");
                }
                endpoint.last_error = Some(e);
            }
        }
    }
    let Ok(cosigned) = checkpoint.with_lines(&lines) else {
        return;
    };
    if cosigned.check_witnesses(witnesses, quorum, &[]).is_err() {
        return;
    }
    let saved = tokio::task::block_in_place(|| {
        crate::mark::save_as(data_dir, WITNESSED_FILE, &cosigned.text)
    });
    if let Err(e) = saved {
        tracing::error!(error = %e, "cannot store the witnessed checkpoint");
        return;
    }
    tracing::debug!(size = head.size, "checkpoint witnessed");
    *shared.witnessed.write().expect("witnessed lock") = Some(Arc::new(cosigned));
}

/// The cosignature lines of `reply` that are valid cosignatures of a named witness on
/// `checkpoint` (a witness's answer is not trusted: nothing else reaches the served text).
fn only_valid_lines(
    checkpoint: &SignedCheckpoint,
    reply: &str,
    witnesses: &[WitnessKey],
) -> String {
    let mut out = String::new();
    for line in reply.lines().take(witnesses.len().max(1) * 2) {
        let line = format!("{line}\n");
        let Ok(with) = checkpoint.with_lines(&line) else {
            continue;
        };
        let new_valid = witnesses.iter().any(|w| {
            with.verify_cosignature(w).is_ok() && checkpoint.verify_cosignature(w).is_err()
        });
        if new_valid && !out.contains(&line) {
            out.push_str(&line);
        }
    }
    out
}

/// One add-checkpoint exchange, retried once with the size the witness says it holds.
async fn ask(shared: &Shared, endpoint: &mut Endpoint, head: &Head) -> Result<String, String> {
    for _ in 0..2 {
        let old = endpoint.held;
        if old > head.size {
            endpoint.held = 0;
            return Err(format!(
                "the witness holds a tree of {old} entries, larger than this log's {}: this node's log is behind what was witnessed",
                head.size
            ));
        }
        let proof = shared
            .consistency_proof(old, head.size)
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        match client::add_checkpoint(
            &endpoint.url,
            old,
            &proof,
            &head.checkpoint,
            WITNESS_TIMEOUT,
        )
        .await
        {
            Ok(Submitted::Cosigned(lines)) => {
                endpoint.held = head.size;
                return Ok(lines);
            }
            Ok(Submitted::SizeConflict(size)) => endpoint.held = size,
            Ok(Submitted::Refused { status, message }) => {
                return Err(format!("HTTP {status}: {}", message.trim()))
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err("the witness's size kept changing".into())
}

/// Where a demo or development ledger keeps the witnesses the node runs itself.
pub const LOCAL_WITNESSES_DIR: &str = "witnesses";

/// Starts the witnesses kept in `<data>/witnesses/*` (a demo ledger's: run by the same
/// operator, they show how witnessing works and prove nothing) on loopback ports; their URLs,
/// and their servers' tasks.
pub async fn start_local_witnesses(
    data_dir: &Path,
) -> anyhow::Result<(Vec<String>, Vec<tokio::task::AbortHandle>)> {
    let dir = data_dir.join(LOCAL_WITNESSES_DIR);
    let Ok(items) = std::fs::read_dir(&dir) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut urls = Vec::new();
    let mut servers = Vec::new();
    for item in items {
        let path = item?.path();
        let witness = Arc::new(ledger_witness::Witness::open(&path)?);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tracing::info!(witness = %witness.public_key().name, %url, "演示见证方 demo witness run by this node (it proves nothing: the same operator runs it)");
        servers.push(tokio::spawn(ledger_witness::server::serve(listener, witness)).abort_handle());
        urls.push(url);
    }
    urls.sort();
    Ok((urls, servers))
}
