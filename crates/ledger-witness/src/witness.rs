//! The witness: for each ledger it knows (by its genesis), the latest checkpoint it cosigned,
//! kept durably, and the one rule it exists for: cosign only a checkpoint signed by the
//! ledger's checkpoint key whose tree extends the one it holds (C2SP tlog-witness).
//!
//! Directory layout (`<dir>` is the witness's own):
//!
//! ```text
//! <dir>/witness.key                 the witness's Ed25519 key (0600)
//! <dir>/witness.name                its C2SP key name, one line
//! <dir>/ledgers/<fingerprint>/genesis    entry 0 of the ledger (its encoding, PROTOCOL.md §2)
//! <dir>/ledgers/<fingerprint>/latest     the latest cosigned checkpoint, with its signatures
//! <dir>/ledgers/<fingerprint>/node-key   the node key to accept instead of the genesis's, after
//!                                        an admin-signed rotation (`ledger-witness trust-key`)
//! <dir>/ledgers/<fingerprint>/evidence/  checkpoints refused as a fork, kept as proof
//! ```
//!
//! `latest` is replaced atomically (write, fsync, rename, fsync the directory) before a
//! cosignature is returned, under the ledger's lock, so a kill -9 at any point leaves the old
//! or the new state and never a cosignature for a state that was not stored.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::Context;
use ed25519_dalek::{SigningKey, VerifyingKey};
use ledger_core::checkpoint::{cosign, is_valid_key_name, SignedCheckpoint, WitnessKey};
use ledger_core::entry::{ledger_fingerprint, Entry};
use ledger_core::merkle::{empty_root, verify_consistency};
use ledger_core::state::State;
use ledger_core::Hash;

use crate::mirror::{self, Mirror};
use crate::protocol::AddCheckpoint;

/// Evidence files kept per ledger; later forks are only logged.
const MAX_EVIDENCE_FILES: usize = 100;

/// What the witness answers to add-checkpoint, as C2SP tlog-witness defines it.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// 200: the cosignature line(s).
    Cosigned(String),
    /// 409 with `text/x.tlog.size`: the size the witness holds.
    SizeConflict(u64),
    /// Another status with a message for the log's operator.
    Refused(u16, String),
}

/// A ledger the witness follows, known by its genesis.
pub struct Followed {
    pub fingerprint: String,
    pub origin: String,
    pub ledger_name: String,
    /// Keys the witness accepts a checkpoint signature from (a replaying witness takes the
    /// key in force at the checkpoint's size from its own fold instead).
    pub node_keys: Vec<VerifyingKey>,
    dir: PathBuf,
    latest: Mutex<Option<SignedCheckpoint>>,
    /// In replay mode: the node to fetch entries from, and the replayed log. Its lock is taken
    /// first and held for the whole request, so requests of a replayed ledger run one by one.
    replay: Option<(String, tokio::sync::Mutex<Mirror>)>,
}

pub struct Witness {
    key: SigningKey,
    name: String,
    dir: PathBuf,
    /// By origin (the ledger id, which is the checkpoint's first line).
    ledgers: HashMap<String, Followed>,
}

/// Creates a witness directory with a new key. Refuses one that exists.
pub fn init(dir: &Path, name: &str) -> anyhow::Result<WitnessKey> {
    anyhow::ensure!(
        is_valid_key_name(name),
        "见证方名称无效 the witness name {name:?} is not a valid key name: 1 to 64 characters, no spaces, no '+' (e.g. witness.example/township)"
    );
    anyhow::ensure!(
        !dir.join("witness.key").exists(),
        "{} 已有见证方密钥 already holds a witness key; refusing to replace it",
        dir.display()
    );
    fs::create_dir_all(dir.join("ledgers"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let key = ledger_keys::generate();
    ledger_keys::write_new(&dir.join("witness.key"), &key)?;
    write_durably(&dir.join("witness.name"), format!("{name}\n").as_bytes())?;
    Ok(WitnessKey {
        name: name.to_string(),
        key: key.verifying_key(),
    })
}

/// Makes a followed ledger replayed: the witness keeps its whole log, fetched from `node_url`,
/// and runs its rules before it cosigns.
pub fn enable_replay(dir: &Path, fingerprint: &str, node_url: &str) -> anyhow::Result<()> {
    let ledger_dir = dir.join("ledgers").join(fingerprint.trim().to_uppercase());
    anyhow::ensure!(
        ledger_dir.join("genesis").exists(),
        "this witness does not follow {fingerprint}"
    );
    // Already replayed: only the node's address changes.
    let moving = ledger_dir.join(mirror::REPLAY_NODE_FILE).exists();
    anyhow::ensure!(
        moving || !ledger_dir.join("latest").exists(),
        "重放模式须在第一次联署前开启 replay mode must be chosen before the first cosignature (the mirror starts at entry 0)"
    );
    mirror::enable(&ledger_dir, node_url)?;
    Ok(())
}

/// Adds a ledger to follow from its genesis entry, which must have `fingerprint` (as on the
/// notice board). Returns the ledger's origin.
pub fn add_ledger(dir: &Path, fingerprint: &str, genesis: &Entry) -> anyhow::Result<String> {
    let found = ledger_fingerprint(genesis);
    anyhow::ensure!(
        found == fingerprint.trim().to_uppercase(),
        "账本指纹不符 the genesis has ledger fingerprint {found}, not {fingerprint}: this is not the ledger on the notice board"
    );
    let (origin, _) = genesis_info(genesis)?;
    // A witness's state is per origin (C2SP): a second ledger with the same origin would make
    // it forget the first one's history, and cosign a fork of it.
    for other in followed_dirs(dir)? {
        let Ok(bytes) = fs::read(other.join("genesis")) else {
            continue;
        };
        let Ok(entry) = Entry::decode(&bytes) else {
            continue;
        };
        if ledger_fingerprint(&entry) == found {
            continue;
        }
        if genesis_info(&entry).is_ok_and(|(o, _)| o == origin) {
            anyhow::bail!(
                "本见证方已见证另一个同名账本 {origin}（账本指纹 {}）；同一名称只能见证一个账本，否则可能为分叉联署。/ This witness already follows another ledger with origin {origin} (fingerprint {}); one origin is one ledger, or it could be made to cosign a fork",
                ledger_fingerprint(&entry),
                ledger_fingerprint(&entry)
            );
        }
    }
    let ledger_dir = dir.join("ledgers").join(&found);
    fs::create_dir_all(&ledger_dir)?;
    write_durably(&ledger_dir.join("genesis"), &genesis.encode())?;
    Ok(origin)
}

/// The ledger directories under `<dir>/ledgers`: those holding a genesis (anything else there,
/// a stray file or an empty directory, is skipped with a warning).
fn followed_dirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let ledgers = dir.join("ledgers");
    fs::create_dir_all(&ledgers)?;
    let mut out = Vec::new();
    for item in fs::read_dir(&ledgers)? {
        let path = item?.path();
        if path.join("genesis").is_file() {
            out.push(path);
        } else {
            tracing::warn!(path = %path.display(), "not a followed ledger (no genesis): skipped");
        }
    }
    out.sort();
    Ok(out)
}

/// After a rotation of the ledger's checkpoint key (which its operator checked, e.g. in
/// `verifier verify`'s governance list): accept checkpoints signed by `key` only, from now on.
pub fn trust_key(dir: &Path, fingerprint: &str, key: &VerifyingKey) -> anyhow::Result<()> {
    let ledger_dir = dir.join("ledgers").join(fingerprint.trim().to_uppercase());
    anyhow::ensure!(
        ledger_dir.join("genesis").exists(),
        "这个见证方不见证账本 {fingerprint} / this witness does not follow ledger {fingerprint}"
    );
    write_durably(
        &ledger_dir.join("node-key"),
        hex::encode(key.as_bytes()).as_bytes(),
    )?;
    Ok(())
}

/// The origin and checkpoint key of a genesis, checked by the same rules the node applies.
fn genesis_info(genesis: &Entry) -> anyhow::Result<(String, ledger_core::state::LedgerInfo)> {
    let mut state = State::new();
    ledger_core::rules::apply_entry(&mut state, genesis)
        .map_err(|e| anyhow::anyhow!("the genesis entry is not valid: {e}"))?;
    let info = state.ledger.expect("a genesis creates the ledger");
    Ok((info.ledger_id.clone(), info))
}

impl Witness {
    pub fn open(dir: &Path) -> anyhow::Result<Witness> {
        let key = ledger_keys::read(&dir.join("witness.key")).with_context(|| {
            format!(
                "{} 不是见证方目录 is not a witness directory; make one with `ledger-witness init`",
                dir.display()
            )
        })?;
        let name = fs::read_to_string(dir.join("witness.name"))?
            .trim()
            .to_string();
        anyhow::ensure!(
            is_valid_key_name(&name),
            "witness.name is not a valid key name"
        );
        let mut ledgers = HashMap::new();
        for path in followed_dirs(dir)? {
            let followed = Followed::open(&path)?;
            if let Some(other) = ledgers.get(&followed.origin) {
                let other: &Followed = other;
                anyhow::bail!(
                    "两个账本同名 {}（{} 与 {}）：见证方拒绝启动，请移除其中一个。/ Two followed ledgers have the same origin {} ({} and {}): remove one; a witness keeps one history per origin",
                    followed.origin, other.fingerprint, followed.fingerprint,
                    followed.origin, other.fingerprint, followed.fingerprint
                );
            }
            ledgers.insert(followed.origin.clone(), followed);
        }
        Ok(Witness {
            key,
            name,
            dir: dir.to_path_buf(),
            ledgers,
        })
    }

    pub fn public_key(&self) -> WitnessKey {
        WitnessKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn ledgers(&self) -> impl Iterator<Item = &Followed> {
        self.ledgers.values()
    }

    /// C2SP tlog-witness add-checkpoint. `now` is seconds since the epoch (the cosignature's
    /// time). Checking the old size and storing the new checkpoint happen under one lock.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Reply {
        match parse_request(body) {
            Ok(request) => self.add_parsed(&request, now),
            Err(reply) => reply,
        }
    }

    /// add-checkpoint for a parsed request of a plain (not replayed) ledger.
    fn add_parsed(&self, request: &AddCheckpoint, now: u64) -> Reply {
        let cp = &request.checkpoint.checkpoint;
        let Some(ledger) = self.ledgers.get(&cp.origin) else {
            return Reply::Refused(
                404,
                format!(
                    "本见证方不见证这个账本 this witness does not follow {:?}",
                    cp.origin
                ),
            );
        };
        if ledger.replay.is_some() {
            return Reply::Refused(
                500,
                "a replayed ledger is served by add_checkpoint_async".into(),
            );
        }
        if !ledger
            .node_keys
            .iter()
            .any(|k| request.checkpoint.verify(&cp.origin, k).is_ok())
        {
            return Reply::Refused(
                403,
                "检查点不是账本的节点密钥签的 the checkpoint is not signed by the ledger's checkpoint key".into(),
            );
        }
        if request.old_size > cp.tree_size {
            return Reply::Refused(
                400,
                "旧大小大于检查点大小 the old size is larger than the checkpoint's".into(),
            );
        }
        let mut latest = ledger.latest.lock().unwrap_or_else(|p| p.into_inner());
        let (held_size, held_root) = latest
            .as_ref()
            .map(|l| (l.checkpoint.tree_size, l.checkpoint.root))
            .unwrap_or((0, empty_root()));
        if let Err(reply) = ledger.check_held(request, held_size, held_root) {
            return reply;
        }
        self.cosign_and_store(ledger, &mut latest, &request.checkpoint, now)
    }

    /// add-checkpoint for any ledger: plain ones on a blocking thread, replayed ones with
    /// their entries fetched from the node and run through the rules first.
    pub async fn add_checkpoint_async(
        self: &std::sync::Arc<Self>,
        body: Vec<u8>,
        now: u64,
    ) -> Reply {
        let request = match parse_request(&body) {
            Ok(r) => r,
            Err(reply) => return reply,
        };
        let replayed = self
            .ledgers
            .get(&request.checkpoint.checkpoint.origin)
            .filter(|l| l.replay.is_some());
        match replayed {
            Some(ledger) => self.add_replayed(ledger, &request, now).await,
            None => {
                let me = self.clone();
                tokio::task::spawn_blocking(move || me.add_parsed(&request, now))
                    .await
                    .unwrap_or_else(|_| Reply::Refused(500, "the witness failed".into()))
            }
        }
    }

    /// The replaying witness's add-checkpoint: the C2SP checks, then every entry up to the
    /// checkpoint fetched, chained, signature-checked and run through the rules, their root
    /// compared, and the node's signature checked with the key in force at that size.
    async fn add_replayed(&self, ledger: &Followed, request: &AddCheckpoint, now: u64) -> Reply {
        let cp = &request.checkpoint.checkpoint;
        if request.old_size > cp.tree_size {
            return Reply::Refused(
                400,
                "旧大小大于检查点大小 the old size is larger than the checkpoint's".into(),
            );
        }
        let (node_url, mirror) = ledger.replay.as_ref().expect("a replayed ledger");
        let mut mirror = mirror.lock().await;
        let (held_size, held_root) = ledger.held().unwrap_or((0, empty_root()));
        if let Err(reply) = ledger.check_held(request, held_size, held_root) {
            return reply;
        }
        assert_eq!(
            mirror.size(),
            held_size,
            "the mirror holds exactly what was cosigned"
        );
        let Ok(saved) = mirror.save_point() else {
            return Reply::Refused(503, "the witness cannot read its mirror".into());
        };
        let refusal = replay_to(&mut mirror, node_url, cp, held_size, now).await;
        let refusal = refusal.or_else(|| {
            let ledger_info = mirror.state.ledger.as_ref()?;
            let key = ledger_info.checkpoint_key_at(cp.tree_size);
            request.checkpoint.verify(&cp.origin, &key).err().map(|_| {
                Reply::Refused(
                    403,
                    "检查点不是该大小时有效的节点密钥签的 the checkpoint is not signed by the checkpoint key in force at its size"
                        .into(),
                )
            })
        });
        if let Some(reply) = refusal {
            if let Err(e) = mirror.restore(saved) {
                tracing::error!(error = %e, "cannot cut the mirror back; restart the witness");
            }
            if let Reply::Refused(422, why) = &reply {
                ledger.keep_evidence(request, &Fork::RulesRefuse(why.clone()));
            }
            return reply;
        }
        let mut latest = ledger.latest.lock().unwrap_or_else(|p| p.into_inner());
        let reply = tokio::task::block_in_place(|| {
            self.cosign_and_store(ledger, &mut latest, &request.checkpoint, now)
        });
        if !matches!(reply, Reply::Cosigned(_)) {
            let _ = mirror.restore(saved);
        }
        reply
    }

    fn cosign_and_store(
        &self,
        ledger: &Followed,
        latest: &mut Option<SignedCheckpoint>,
        checkpoint: &SignedCheckpoint,
        now: u64,
    ) -> Reply {
        let cosignature = cosign(checkpoint.note_text(), &self.name, &self.key, now);
        let line = cosignature.line();
        let stored = match checkpoint.with_lines(&line) {
            Ok(s) => s,
            Err(e) => return Reply::Refused(400, format!("too many signature lines: {e}")),
        };
        if let Err(e) = write_durably(&ledger.dir.join("latest"), stored.text.as_bytes()) {
            tracing::error!(error = %e, "cannot store the cosigned checkpoint");
            return Reply::Refused(
                503,
                "见证方无法保存状态 the witness cannot store its state".into(),
            );
        }
        *latest = Some(stored);
        Reply::Cosigned(line)
    }

    /// The latest checkpoint this witness cosigned for a ledger (by fingerprint or origin).
    pub fn latest(&self, ledger: &str) -> Option<String> {
        self.ledgers
            .values()
            .find(|l| l.fingerprint == ledger || l.origin == ledger)
            .and_then(|l| l.latest.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .map(|c| c.text)
    }
}

fn parse_request(body: &[u8]) -> Result<AddCheckpoint, Reply> {
    AddCheckpoint::parse(body)
        .map_err(|e| Reply::Refused(400, format!("请求格式错误 malformed request: {e}")))
}

enum Fork {
    SameSizeOtherRoot,
    Inconsistent(ledger_core::merkle::ProofError),
    /// A replaying witness: the entries are not this checkpoint's, or the rules refuse one.
    RulesRefuse(String),
}

impl Fork {
    /// C2SP's answer: 409 with the size held for another root at the same size, else 422.
    fn reply(self, held_size: u64) -> Reply {
        match self {
            Fork::SameSizeOtherRoot => Reply::SizeConflict(held_size),
            Fork::Inconsistent(e) => Reply::Refused(
                422,
                format!("一致性证明不成立 the consistency proof does not verify: {e}"),
            ),
            Fork::RulesRefuse(why) => Reply::Refused(422, why),
        }
    }
}

/// Fetches and folds the entries from `held` to the checkpoint's size; `None` when the
/// replayed log then has the checkpoint's root, else the answer to give.
async fn replay_to(
    mirror: &mut Mirror,
    node_url: &str,
    cp: &ledger_core::checkpoint::Checkpoint,
    held: u64,
    now: u64,
) -> Option<Reply> {
    // Entry times are held against the time this cosignature would carry.
    let now_ms = i64::try_from(now)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    let fetched = mirror::fetch(node_url, &cp.origin, held, cp.tree_size, |chunk| {
        tokio::task::block_in_place(|| mirror.extend(&chunk, now_ms))
    })
    .await;
    if let Err(why) = fetched {
        return Some(Reply::Refused(
            422,
            format!(
                "见证方重放规则后拒绝 the witness replayed the ledger's rules and refuses: {why}"
            ),
        ));
    }
    if !mirror.matches(cp) {
        return Some(Reply::Refused(
            422,
            "节点的记录与检查点的根不符 the node's entries do not have this checkpoint's root"
                .into(),
        ));
    }
    None
}

/// Whether the request's checkpoint extends the tree the witness holds (`held_root` at the
/// request's old size).
fn extends(request: &AddCheckpoint, held_root: Hash) -> Result<(), Fork> {
    let cp = &request.checkpoint.checkpoint;
    if request.old_size == cp.tree_size && cp.root != held_root {
        return Err(Fork::SameSizeOtherRoot);
    }
    if request.old_size == 0 && !request.proof.is_empty() {
        return Err(Fork::Inconsistent(
            ledger_core::merkle::ProofError::WrongLength,
        ));
    }
    verify_consistency(
        request.old_size,
        cp.tree_size,
        &held_root,
        &cp.root,
        &request.proof,
    )
    .map_err(Fork::Inconsistent)
}

impl Followed {
    fn open(dir: &Path) -> anyhow::Result<Followed> {
        let bytes = fs::read(dir.join("genesis"))
            .with_context(|| format!("cannot read {}/genesis", dir.display()))?;
        let genesis = Entry::decode(&bytes)
            .map_err(|e| anyhow::anyhow!("{}/genesis is damaged: {e}", dir.display()))?;
        let fingerprint = ledger_fingerprint(&genesis);
        anyhow::ensure!(
            dir.file_name().and_then(|n| n.to_str()) == Some(fingerprint.as_str()),
            "{} holds the genesis of ledger {fingerprint}, not of the ledger its name says",
            dir.display()
        );
        let (origin, info) = genesis_info(&genesis)?;
        let latest = match fs::read_to_string(dir.join("latest")) {
            Ok(text) => Some(SignedCheckpoint::parse(&text).map_err(|e| {
                anyhow::anyhow!("{}/latest is damaged ({e}); refusing to start, as a witness that forgot what it cosigned could cosign a fork", dir.display())
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        let node_keys = match fs::read_to_string(dir.join("node-key")) {
            Ok(text) => {
                let bytes = hex::decode(text.trim()).unwrap_or_default();
                let key = ledger_core::signing::parse_public_key(&bytes)
                    .map_err(|e| anyhow::anyhow!("{}/node-key is damaged: {e}", dir.display()))?;
                vec![key]
            }
            Err(_) => info.checkpoint_keys.iter().map(|(_, k)| *k).collect(),
        };
        let replay = match fs::read_to_string(dir.join(mirror::REPLAY_NODE_FILE)) {
            Ok(url) => {
                let (size, root) = latest
                    .as_ref()
                    .map(|c: &SignedCheckpoint| (c.checkpoint.tree_size, c.checkpoint.root))
                    .unwrap_or((0, empty_root()));
                let mirror = Mirror::open(dir, size, &root)?;
                Some((url.trim().to_string(), tokio::sync::Mutex::new(mirror)))
            }
            Err(_) => None,
        };
        Ok(Followed {
            fingerprint,
            origin,
            ledger_name: info.name.clone(),
            node_keys,
            dir: dir.to_path_buf(),
            latest: Mutex::new(latest),
            replay,
        })
    }

    /// The size and root the witness holds.
    pub fn held(&self) -> Option<(u64, Hash)> {
        self.latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|c| (c.checkpoint.tree_size, c.checkpoint.root))
    }

    /// C2SP's checks against what the witness holds: the request's old size is the size held
    /// (else 409 with it), and the checkpoint extends the tree held (else evidence, 409 or 422).
    fn check_held(
        &self,
        request: &AddCheckpoint,
        held_size: u64,
        held_root: Hash,
    ) -> Result<(), Reply> {
        if request.old_size != held_size {
            return Err(Reply::SizeConflict(held_size));
        }
        extends(request, held_root).map_err(|why| {
            self.keep_evidence(request, &why);
            why.reply(held_size)
        })
    }

    /// Keeps a checkpoint that is signed by the ledger's key but does not extend what the
    /// witness cosigned: proof that the log forked.
    fn keep_evidence(&self, request: &AddCheckpoint, why: &Fork) {
        let cp = &request.checkpoint.checkpoint;
        tracing::warn!(
            ledger = %self.fingerprint,
            size = cp.tree_size,
            "账本分叉 a checkpoint signed by the ledger's key does not extend the one this witness cosigned: kept as evidence"
        );
        let dir = self.dir.join("evidence");
        let count = fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        if count >= MAX_EVIDENCE_FILES {
            return;
        }
        let what = match why {
            Fork::SameSizeOtherRoot => "same size, another root".to_string(),
            Fork::Inconsistent(e) => format!("consistency proof fails: {e}"),
            Fork::RulesRefuse(why) => format!("replayed and refused: {why}"),
        };
        let text = format!(
            "# {what}\n{}",
            AddCheckpoint::encode(request.old_size, &request.proof, &request.checkpoint.text)
        );
        let _ = fs::create_dir_all(&dir)
            .and_then(|_| write_durably(&dir.join(format!("{count:03}.txt")), text.as_bytes()));
    }
}

/// Writes a file so that after a crash it is either the old content or the new: a temporary
/// file, fsync, rename over, fsync of the directory.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::File::open(dir)?.sync_all()
}
