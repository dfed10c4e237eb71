//! The replaying witness (`ledger-witness follow --replay`): besides the C2SP rule, it keeps the
//! ledger's whole log and runs the fund rules over it with `ledger-core`, the node's own rules,
//! so it refuses to cosign a checkpoint over entries the rules refuse, however validly the node
//! signed it. It follows checkpoint-key rotations by itself: the key a checkpoint must carry is
//! the one in force at its size in the replayed fold.
//!
//! `<ledger dir>/mirror` holds the entries (`u32 len || encoding(entry)`, PROTOCOL.md §2),
//! appended and fsync'd before a cosignature is given. It may run ahead of the cosigned size
//! (entries fetched for a checkpoint that was then refused); on start it is cut back to the
//! cosigned size, whose root it must have, and replayed.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use ledger_core::checkpoint::Checkpoint;
use ledger_core::entry::{ChainHead, Entry};
use ledger_core::limits::MAX_ENVELOPE_BYTES;
use ledger_core::merkle::{entry_leaf_hash, CompactTree};
use ledger_core::state::State;
use ledger_core::Hash;

pub const MIRROR_FILE: &str = "mirror";
/// Its presence makes a ledger replayed; it holds the node's gRPC URL to fetch entries from.
pub const REPLAY_NODE_FILE: &str = "replay-node";
/// Entries fetched from the node in one request.
pub const FETCH_CHUNK: u64 = 4096;
const MAX_FRAME: usize = ledger_core::entry::ENTRY_HEADER_BYTES + MAX_ENVELOPE_BYTES;

/// A mirror's fold and file length, to go back to.
pub struct SavePoint {
    state: State,
    chain: ChainHead,
    tree: CompactTree,
    file_len: u64,
}

/// The replayed log: its fold, chain and Merkle tree, and the file it is kept in.
pub struct Mirror {
    path: PathBuf,
    pub state: State,
    chain: ChainHead,
    tree: CompactTree,
}

impl Mirror {
    /// Opens `<dir>/mirror`, keeps its first `held` entries (cutting any later ones, which no
    /// cosignature covers), replays them, and checks they have `held_root`.
    pub fn open(dir: &Path, held: u64, held_root: &Hash) -> anyhow::Result<Mirror> {
        let path = dir.join(MIRROR_FILE);
        let mut mirror = Mirror {
            path: path.clone(),
            state: State::new(),
            chain: ChainHead::default(),
            tree: CompactTree::new(),
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let mut reader = BufReader::new(&file);
        let mut offset = 0u64;
        while mirror.size() < held {
            let entry = read_frame(&mut reader)?.ok_or_else(|| {
                anyhow::anyhow!(
                    "{} holds {} entries, fewer than the {held} this witness cosigned: it is damaged; follow the ledger again",
                    path.display(),
                    mirror.size()
                )
            })?;
            offset += 4 + entry.encode().len() as u64;
            mirror.fold(&entry).map_err(|e| {
                anyhow::anyhow!("{}: entry {}: {e}", path.display(), entry.sequence)
            })?;
        }
        anyhow::ensure!(
            mirror.tree.root() == *held_root || held == 0,
            "{} does not have the root of the checkpoint this witness cosigned",
            path.display()
        );
        file.set_len(offset)?;
        file.sync_all()?;
        Ok(mirror)
    }

    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// One entry: the chain, its signatures and every rule, the Merkle tree.
    fn fold(&mut self, entry: &Entry) -> Result<(), String> {
        self.chain.link(entry).map_err(|e| e.to_string())?;
        ledger_core::rules::apply_entry(&mut self.state, entry)
            .map_err(|r| format!("{} ({r})", r.reason()))?;
        self.tree.append(entry_leaf_hash(entry), |_, _, _| {});
        Ok(())
    }

    /// What to go back to when a checkpoint is refused after entries were folded for it.
    pub fn save_point(&self) -> std::io::Result<SavePoint> {
        Ok(SavePoint {
            state: self.state.clone(),
            chain: self.chain.clone(),
            tree: self.tree.clone(),
            file_len: fs::metadata(&self.path)?.len(),
        })
    }

    /// Back to `saved`: the fold, and the file cut to its length then.
    pub fn restore(&mut self, saved: SavePoint) -> std::io::Result<()> {
        (self.state, self.chain, self.tree) = (saved.state, saved.chain, saved.tree);
        let file = OpenOptions::new().write(true).open(&self.path)?;
        file.set_len(saved.file_len)?;
        file.sync_all()
    }

    /// Folds `entries` (the next ones after `size()`) and appends them to the file, fsync'd.
    /// An entry dated ahead of this witness's clock `now_ms` (beyond the skew the rules allow)
    /// is refused: a node that dates entries later than it makes them (to end a public notice
    /// early) gets no cosignature. On a refusal the caller restores its save point.
    pub fn extend(&mut self, entries: &[Entry], now_ms: i64) -> Result<(), String> {
        let mut bytes = Vec::new();
        for entry in entries {
            let latest = now_ms.saturating_add(ledger_core::limits::MAX_CLOCK_SKEW_MS);
            if entry.timestamp_ms > latest {
                return Err(format!(
                    "第 {} 条记录的时间晚于本见证方的时钟：节点把记录的时间往后写了。/ entry {} is dated {} ms, after this witness's clock ({now_ms} ms): the node dates entries later than it makes them",
                    entry.sequence,
                    entry.sequence, entry.timestamp_ms
                ));
            }
            self.fold(entry)
                .map_err(|e| format!("entry {}: {e}", entry.sequence))?;
            let encoded = entry.encode();
            bytes.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
            bytes.extend_from_slice(&encoded);
        }
        OpenOptions::new()
            .append(true)
            .open(&self.path)
            .and_then(|mut f| f.write_all(&bytes).and_then(|_| f.sync_data()))
            .map_err(|e| format!("cannot store the mirror: {e}"))
    }

    /// Whether the replayed log has `checkpoint`'s size and root.
    pub fn matches(&self, checkpoint: &Checkpoint) -> bool {
        self.size() == checkpoint.tree_size && self.root() == checkpoint.root
    }
}

/// Marks a ledger directory as replayed from `node_url`.
pub fn enable(ledger_dir: &Path, node_url: &str) -> std::io::Result<()> {
    fs::write(ledger_dir.join(REPLAY_NODE_FILE), format!("{node_url}\n"))?;
    File::open(ledger_dir)?.sync_all()
}

fn read_frame(reader: &mut impl Read) -> anyhow::Result<Option<Entry>> {
    let mut len = [0u8; 4];
    match reader.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    anyhow::ensure!(
        len <= MAX_FRAME,
        "a mirror record of {len} bytes is over the limit"
    );
    let mut buf = vec![0u8; len];
    match reader.read_exact(&mut buf) {
        Ok(()) => {}
        // A record cut short by a crash: the end of what was stored.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    Ok(Some(Entry::decode(&buf).map_err(|e| {
        anyhow::anyhow!("a mirror record is damaged: {e}")
    })?))
}

/// Fetches entries `[from, to)` from the node, in chunks, handing each chunk to `each`.
pub async fn fetch(
    node_url: &str,
    ledger_id: &str,
    from: u64,
    to: u64,
    mut each: impl FnMut(Vec<Entry>) -> Result<(), String>,
) -> Result<(), String> {
    use tokio_stream::StreamExt;
    // The checkpoint's origin names the ledger: a node may serve several.
    let mut client = ledger_client::LedgerClient::connect(node_url, None)
        .await
        .and_then(|c| c.for_ledger(Some(ledger_id)))
        .map_err(|e| format!("cannot reach the node {node_url}: {e}"))?;
    let mut next = from;
    while next < to {
        let limit = (to - next).min(FETCH_CHUNK);
        let mut stream = client
            .entries(next, limit)
            .await
            .map_err(|e| format!("the node does not serve entries: {e}"))?;
        let mut chunk = Vec::with_capacity(limit as usize);
        while let Some(e) = stream.next().await {
            let e = e.map_err(|e| e.to_string())?;
            let entry = Entry {
                sequence: e.sequence,
                prev_hash: e
                    .prev_hash
                    .as_slice()
                    .try_into()
                    .map_err(|_| "the node sent a malformed entry".to_string())?,
                timestamp_ms: e.timestamp_ms,
                envelope: e.envelope,
            };
            chunk.push(entry);
        }
        if chunk.is_empty() {
            return Err(format!(
                "the node has no entry {next}: its checkpoint claims more than its log holds"
            ));
        }
        next += chunk.len() as u64;
        each(chunk)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::build;
    use ledger_core::proto::{self, transaction_body::Kind};
    use ledger_core::state::Role;
    use prost::Message;

    fn genesis_entry(timestamp_ms: i64) -> Entry {
        let admin = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
        let kind = Kind::Genesis(proto::Genesis {
            ledger_name: "测试".into(),
            currency: "CNY".into(),
            admin_keys: vec![build::public_key(&admin, Role::Admin, "admin")],
            policy: Some(proto::Policy {
                approval_threshold_fen: 100,
                approver_quorum: 1,
                admin_quorum: 1,
                reserve_ratio_bp: 0,
                approval_window_days: 30,
                notice_days: 7,
                objection_response_days: 10,
            }),
            checkpoint_key: ed25519_dalek::SigningKey::from_bytes(&[2; 32])
                .verifying_key()
                .to_bytes()
                .to_vec(),
            witnesses: vec![],
            witness_quorum: 0,
        });
        let body = build::body("test.ledger", [1; 16], timestamp_ms, kind);
        Entry {
            sequence: 0,
            prev_hash: ledger_core::entry::GENESIS_PREV_HASH,
            timestamp_ms,
            envelope: build::envelope(body, &[&admin]).encode_to_vec(),
        }
    }

    #[test]
    fn entries_dated_ahead_of_the_witness_clock_get_no_cosignature() {
        let now = 1_800_000_000_000;
        let dir = tempfile::tempdir().unwrap();
        let mut mirror = Mirror::open(dir.path(), 0, &[0; 32]).unwrap();
        // A week ahead: refused, and nothing folded.
        let ahead = genesis_entry(now + 7 * 24 * 3600 * 1000);
        let refused = mirror.extend(&[ahead], now).unwrap_err();
        assert!(refused.contains("after this witness's clock"), "{refused}");
        assert_eq!(mirror.size(), 0);
        // Within the skew the rules allow: folded.
        mirror.extend(&[genesis_entry(now + 60_000)], now).unwrap();
        assert_eq!(mirror.size(), 1);
    }
}
