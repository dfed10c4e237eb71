//! Verifying a snapshot as a stream: the chain, every signature, every rule (by replaying the
//! whole fold with ledger-core, the same rules the node applies), the Merkle root, and the
//! checkpoint's signature by the trusted node key.
//!
//! Memory holds the fold's state and one chunk of entries, never the whole log. Signatures are
//! checked on all cores a chunk at a time: a key id is the hash of its public key, so a
//! signature verified against a key known before the chunk stays verified; signatures by keys
//! registered inside the chunk are checked in order, with the rest of the rules.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use ed25519_dalek::VerifyingKey;
use ledger_core::checkpoint::{SignedCheckpoint, WitnessKey};
use ledger_core::entry::{ChainHead, Entry};
use ledger_core::merkle::{entry_leaf_hash, CompactTree};
use ledger_core::rules::{self, EntryContext, Prepared, Rejection};
use ledger_core::signing::KeyId;
use ledger_core::snapshot::{Header, SnapshotError, SnapshotReader};
use ledger_core::state::{Effects, State};
use ledger_core::Hash;

use crate::trust::Trust;

const CHUNK: usize = 2048;

/// An entry decoded, with its signers when they could be verified ahead of the fold.
type PreVerified = Result<(Prepared, Option<Vec<KeyId>>), Rejection>;

/// Why verification failed: a stable code, the entry (if one is to blame), and plain words.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Failure {
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    pub message: String,
}

impl Failure {
    pub(crate) fn new(
        code: &'static str,
        sequence: Option<u64>,
        message: impl Into<String>,
    ) -> Failure {
        assert!(
            FAILURE_CODES.contains(&code),
            "failure code {code} is missing from FAILURE_CODES"
        );
        Failure {
            code,
            reason: None,
            sequence,
            message: message.into(),
        }
    }
}

/// Every failure code, for documentation and tests.
pub const FAILURE_CODES: [&str; 17] = [
    crate::report::UNUSABLE,
    "SNAPSHOT_MALFORMED",
    "TILES_MALFORMED",
    "LEDGER_NOT_TRUSTED",
    "NODE_KEY_NOT_TRUSTED",
    "CHAIN_BROKEN",
    "ENTRY_REFUSED",
    "LEDGER_ID_MISMATCH",
    "CHECKPOINT_WRONG_LEDGER",
    "CHECKPOINT_WRONG_SIZE",
    "ROOT_MISMATCH",
    "CHECKPOINT_SIGNATURE_INVALID",
    "EMPTY_LEDGER",
    "NOT_WITNESSED",
    "WITNESSED_CHECKPOINT_MISMATCH",
    "WITNESS_QUORUM_NOT_MET",
    "TIMESTAMP_AFTER_COSIGNATURE",
];

/// One verified entry, for reports and CSV.
pub struct Verified<'a> {
    pub entry: &'a Entry,
    pub hash: &'a Hash,
    pub prepared: &'a Prepared,
    pub signers: &'a [KeyId],
    pub effects: &'a Effects,
    pub state: &'a State,
}

/// Everything learned, whether or not verification passed.
pub struct Outcome {
    pub header: Option<Header>,
    pub state: State,
    pub entries_checked: u64,
    pub first_timestamp_ms: Option<i64>,
    pub last_timestamp_ms: Option<i64>,
    pub kinds: BTreeMap<&'static str, u64>,
    pub root: Hash,
    pub checkpoint: Option<SignedCheckpoint>,
    /// Derived from entry 0 (PROTOCOL.md §2.1), whatever `--trust` was.
    pub ledger_fingerprint: Option<String>,
    /// The checkpoint with the witnesses' quorum, once checked, and who cosigned it.
    pub witnessed: Option<SignedCheckpoint>,
    pub witnessed_by: Vec<String>,
    /// Entries after the witnessed checkpoint (all of them when there is none).
    pub unwitnessed_entries: u64,
    pub key_history: HashMap<KeyId, KeyHistory>,
    pub policy_history: Vec<PolicyRecord>,
    pub failure: Option<Failure>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// The continuous part of verification, shared by snapshots and the live audit: feed entries in
/// order, then check a checkpoint against what was fed.
pub struct Fold {
    pub state: State,
    pub chain: ChainHead,
    pub tree: CompactTree,
    pub kinds: BTreeMap<&'static str, u64>,
    pub first_timestamp_ms: Option<i64>,
    pub threads: usize,
    /// The tree size whose root to keep while folding (a witnessed checkpoint's), and the root.
    pub capture_at: Option<u64>,
    pub captured_root: Option<Hash>,
    /// The node time of the last entry of that prefix (the latest: times never go back).
    pub captured_timestamp_ms: Option<i64>,
    /// Who signed each key's registration and revocation, for the governance report.
    pub key_history: HashMap<KeyId, KeyHistory>,
    /// Every policy the ledger has had, oldest first.
    pub policy_history: Vec<PolicyRecord>,
}

/// A policy in force from `sequence` on (the genesis's, then each change), with its signers.
#[derive(Clone, Debug)]
pub struct PolicyRecord {
    pub sequence: u64,
    pub timestamp_ms: i64,
    pub policy: ledger_core::state::Policy,
    pub reason: String,
    pub signers: Vec<KeyId>,
}

/// The signers of a key's registration (the genesis for the first admins) and revocation.
#[derive(Clone, Debug, Default)]
pub struct KeyHistory {
    pub registered_by: Vec<KeyId>,
    pub revoked_by: Vec<KeyId>,
}

impl Fold {
    pub fn new(threads: usize) -> Fold {
        Fold {
            state: State::new(),
            chain: ChainHead::default(),
            tree: CompactTree::new(),
            kinds: BTreeMap::new(),
            first_timestamp_ms: None,
            threads: threads.max(1),
            capture_at: None,
            captured_root: None,
            captured_timestamp_ms: None,
            key_history: HashMap::new(),
            policy_history: Vec::new(),
        }
    }

    /// Verifies a chunk of consecutive entries; calls `each` for every entry that passes.
    pub fn feed(
        &mut self,
        entries: &[Entry],
        each: impl FnMut(Verified<'_>),
    ) -> Result<(), Failure> {
        let pre = Fold::pre_verify(&self.known_keys(), entries, self.threads);
        self.apply_chunk(entries, pre, each)
    }

    /// Public keys registered so far: a signature checked against one stays checked.
    pub fn known_keys(&self) -> HashMap<KeyId, VerifyingKey> {
        self.state
            .keys
            .values()
            .map(|k| (k.key_id, k.public_key))
            .collect()
    }

    /// The in-order part: chain, the remaining signatures, the rules, the Merkle tree.
    pub fn apply_chunk(
        &mut self,
        entries: &[Entry],
        pre: Vec<PreVerified>,
        mut each: impl FnMut(Verified<'_>),
    ) -> Result<(), Failure> {
        assert_eq!(entries.len(), pre.len());
        for (entry, pre) in entries.iter().zip(pre) {
            let sequence = entry.sequence;
            let hash = self
                .chain
                .link(entry)
                .map_err(|e| Failure::new("CHAIN_BROKEN", Some(sequence), e.to_string()))?;
            let refused = |r: Rejection| Failure {
                code: "ENTRY_REFUSED",
                reason: Some(r.reason()),
                sequence: Some(sequence),
                message: r.to_string(),
            };
            let (prepared, verified) = pre.map_err(refused)?;
            let signers = match verified {
                Some(s) => s,
                None => rules::verify_signatures(&self.state, &prepared).map_err(refused)?,
            };
            let ctx = EntryContext {
                sequence,
                timestamp_ms: entry.timestamp_ms,
            };
            let effects = rules::apply(
                &self.state,
                &ctx,
                &prepared.tx,
                &prepared.body_hash,
                &signers,
            )
            .map_err(refused)?;
            self.record_governance(&effects, &signers, &prepared.tx.kind, entry);
            self.state.commit(effects.clone(), entry.timestamp_ms);
            self.tree.append(entry_leaf_hash(entry), |_, _, _| {});
            if self.capture_at == Some(self.tree.size()) {
                self.captured_root = Some(self.tree.root());
                self.captured_timestamp_ms = Some(entry.timestamp_ms);
            }
            *self.kinds.entry(prepared.tx.kind.name()).or_default() += 1;
            self.first_timestamp_ms.get_or_insert(entry.timestamp_ms);
            each(Verified {
                entry,
                hash: &hash,
                prepared: &prepared,
                signers: &signers,
                effects: &effects,
                state: &self.state,
            });
        }
        Ok(())
    }

    fn record_governance(
        &mut self,
        effects: &Effects,
        signers: &[KeyId],
        kind: &ledger_core::tx::Kind,
        entry: &Entry,
    ) {
        let reason = match kind {
            ledger_core::tx::Kind::PolicyChanged { reason, .. } => reason.clone(),
            _ => String::new(),
        };
        for change in &effects.changes {
            let policy = match change {
                ledger_core::state::Change::LedgerCreated(info) => Some(info.policy),
                ledger_core::state::Change::PolicyChanged(p) => Some(*p),
                _ => None,
            };
            if let Some(policy) = policy {
                self.policy_history.push(PolicyRecord {
                    sequence: entry.sequence,
                    timestamp_ms: entry.timestamp_ms,
                    policy,
                    reason: reason.clone(),
                    signers: signers.to_vec(),
                });
            }
            match change {
                ledger_core::state::Change::KeyRegistered(k) => {
                    self.key_history.entry(k.key_id).or_default().registered_by = signers.to_vec();
                }
                ledger_core::state::Change::KeyRevoked { key_id, .. } => {
                    self.key_history.entry(*key_id).or_default().revoked_by = signers.to_vec();
                }
                _ => {}
            }
        }
    }

    /// Decodes every entry and verifies the signatures whose keys are in `keys`, on `threads`
    /// threads. `None` in the result means "verify in order".
    pub fn pre_verify(
        keys: &HashMap<KeyId, VerifyingKey>,
        entries: &[Entry],
        threads: usize,
    ) -> Vec<PreVerified> {
        let one = |entry: &Entry| {
            let prepared = rules::prepare(&entry.envelope)?;
            let lookup: Option<Vec<VerifyingKey>> = prepared
                .envelope
                .signatures
                .iter()
                .map(|(id, _)| keys.get(id).copied())
                .collect();
            let genesis = matches!(prepared.tx.kind, ledger_core::tx::Kind::Genesis { .. });
            match lookup {
                Some(found) if !genesis => {
                    let mut it = found.into_iter();
                    let signers = prepared.envelope.verify_signatures(|_| it.next())?;
                    Ok((prepared, Some(signers)))
                }
                _ => Ok((prepared, None)),
            }
        };
        if threads == 1 || entries.len() < 64 {
            return entries.iter().map(one).collect();
        }
        let per = entries.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = entries
                .chunks(per)
                .map(|part| scope.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("verification thread"))
                .collect()
        })
    }

    /// Checks a signed checkpoint of the tree fed so far.
    pub fn check_checkpoint(
        &self,
        checkpoint: &SignedCheckpoint,
        node_key: &VerifyingKey,
    ) -> Result<(), Failure> {
        let ledger_id = self
            .state
            .ledger
            .as_ref()
            .map(|l| l.ledger_id.as_str())
            .unwrap_or("");
        let cp = &checkpoint.checkpoint;
        if cp.origin != ledger_id {
            return Err(Failure::new(
                "CHECKPOINT_WRONG_LEDGER",
                None,
                format!(
                    "检查点属于另一个账本。/ The checkpoint is for ledger {:?}, the entries are of ledger {ledger_id:?}",
                    cp.origin
                ),
            ));
        }
        if cp.tree_size != self.tree.size() {
            return Err(Failure::new(
                "CHECKPOINT_WRONG_SIZE",
                None,
                format!(
                    "the checkpoint covers {} entries, but there are {}",
                    cp.tree_size,
                    self.tree.size()
                ),
            ));
        }
        if cp.root != self.tree.root() {
            return Err(Failure::new("ROOT_MISMATCH", None, "the Merkle root of the entries is not the root the checkpoint signs: the entries were changed after signing"));
        }
        checkpoint.verify(&cp.origin, node_key).map_err(|e| {
            Failure::new(
                "CHECKPOINT_SIGNATURE_INVALID",
                None,
                format!("the checkpoint is not validly signed by the trusted node key: {e}"),
            )
        })
    }
}

/// The witnessed checkpoint must be this ledger's, for a size the entries reach, with the root
/// the entries had at that size, signed by the checkpoint key in force at that size, and
/// cosigned by the genesis's witness quorum (and every witness the resident requires). A
/// ledger whose genesis names witnesses must have one. Returns the witnesses that cosigned.
fn check_witnessed(
    fold: &Fold,
    trailer: &SignedCheckpoint,
    witnessed: Option<&SignedCheckpoint>,
    required: &[WitnessKey],
) -> Result<Vec<String>, Failure> {
    let ledger = fold
        .state
        .ledger
        .as_ref()
        .expect("checked: the ledger has a genesis");
    let Some(w) = witnessed else {
        if ledger.witness_quorum > 0 || !required.is_empty() {
            return Err(Failure::new(
                "NOT_WITNESSED",
                None,
                "这份快照没有经见证方联署的检查点，无法排除运营方向不同的人展示不同的账本。/ The snapshot has no checkpoint cosigned by the witnesses, so nothing shows that everyone is shown this same history; download it again in a minute, or ask the operator why the witnesses do not cosign",
            ));
        }
        return Ok(Vec::new());
    };
    let cp = &w.checkpoint;
    let size = fold.tree.size();
    if ledger.witness_quorum > 0 && cp.tree_size < size {
        let tail = size - cp.tree_size;
        return Err(Failure::new(
            "NOT_WITNESSED",
            Some(cp.tree_size),
            format!(
                "快照的最后 {tail} 条没有经见证方联署（只核对到第 {} 条）；节点提供的快照只含已见证的部分，这份快照可能是给你一个人看的。/ The last {tail} entries of this snapshot are not covered by the witnesses' checkpoint (which covers the first {}): a node's /snapshot holds only witnessed entries, so these may have been shown to you alone",
                cp.tree_size, cp.tree_size
            ),
        ));
    }
    let mismatch = |what: String| {
        Failure::new(
            "WITNESSED_CHECKPOINT_MISMATCH",
            None,
            format!("见证方联署的检查点与这份快照的账本不符。/ {what}"),
        )
    };
    if cp.origin != ledger.ledger_id {
        return Err(mismatch(format!(
            "the witnessed checkpoint is for ledger {:?}, not {:?}",
            cp.origin, ledger.ledger_id
        )));
    }
    if cp.tree_size == 0 || cp.tree_size > fold.tree.size() {
        return Err(mismatch(format!(
            "the witnessed checkpoint is for {} entries; the snapshot has {}",
            cp.tree_size,
            fold.tree.size()
        )));
    }
    if fold.captured_root != Some(cp.root) {
        return Err(mismatch(format!(
            "the witnessed checkpoint's root is not the root of the snapshot's first {} entries: the witnesses saw another history than this snapshot",
            cp.tree_size
        )));
    }
    w.verify(&cp.origin, &ledger.checkpoint_key_at(cp.tree_size))
        .map_err(|e| {
            mismatch(format!(
                "the witnessed checkpoint is not signed by the checkpoint key in force at its size: {e}"
            ))
        })?;
    let by = w
        .check_witnesses(&ledger.witnesses, ledger.witness_quorum, required)
        .map_err(|e| {
            Failure::new(
                "WITNESS_QUORUM_NOT_MET",
                None,
                format!("检查点没有足够的见证方联署，不能排除有人给不同的人看不同的账本。/ {e}"),
            )
        })?;
    check_witnessed_times(fold, w, &ledger.witnesses, ledger.witness_quorum)?;
    // A node's snapshot of a witnessed tree carries the same checkpoint twice; two versions of
    // one checkpoint in one file mean it was edited.
    if cp.tree_size == size && trailer.text != w.text {
        return Err(Failure::new(
            "SNAPSHOT_MALFORMED",
            None,
            "the snapshot holds two different texts of its witnessed checkpoint: it was edited",
        ));
    }
    Ok(by)
}

/// Entries cannot be younger than the witnesses' cosignatures of a tree that holds them: a node
/// that dates an entry later than it was made (to end a public notice early, say) is caught
/// here. The bound is the quorum-th earliest valid cosignature time, so fewer than a quorum of
/// witnesses with a wrong clock cannot accuse an honest node, plus the clock skew the rules
/// allow.
fn check_witnessed_times(
    fold: &Fold,
    w: &SignedCheckpoint,
    witnesses: &[WitnessKey],
    quorum: u32,
) -> Result<(), Failure> {
    let mut times: Vec<u64> = witnesses
        .iter()
        .filter_map(|k| w.verify_cosignature(k).ok())
        .collect();
    times.sort_unstable();
    let (Some(seen_by), Some(last_ms)) = (
        times.get((quorum as usize).saturating_sub(1)),
        fold.captured_timestamp_ms,
    ) else {
        return Ok(());
    };
    let bound_ms = i64::try_from(*seen_by)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000)
        .saturating_add(ledger_core::limits::MAX_CLOCK_SKEW_MS);
    if last_ms > bound_ms {
        return Err(Failure::new(
            "TIMESTAMP_AFTER_COSIGNATURE",
            Some(w.checkpoint.tree_size - 1),
            format!(
                "节点给记录标注的时间晚于见证方联署含有这些记录的检查点的时间：节点把记录的时间往后写了（例如为了让公示期提前结束）。/ Entry {} is dated {} ms, but the witnesses cosigned a tree holding it by {} s: the node dated entries later than they were made (e.g. to end a public notice early)",
                w.checkpoint.tree_size - 1,
                last_ms,
                seen_by
            ),
        ));
    }
    Ok(())
}

fn malformed(e: SnapshotError) -> Failure {
    let sequence = match &e {
        SnapshotError::BadEntry { index, .. } | SnapshotError::EntryTooLarge { index, .. } => {
            Some(*index)
        }
        _ => None,
    };
    // Not a snapshot at all, or cut short: nothing can be judged, and the verdict says so.
    let code = match &e {
        SnapshotError::BadMagic | SnapshotError::Truncated(_) => crate::report::UNUSABLE,
        _ => "SNAPSHOT_MALFORMED",
    };
    Failure::new(code, sequence, e.to_string())
}

/// Where the entries to verify come from: a snapshot file, or a log's tlog-tiles
/// (`crate::tiles`). What a source says about itself is checked, never trusted.
pub trait EntrySource {
    /// The ledger id, entry count and witnessed checkpoint the source claims, and its node key
    /// when it names one.
    fn header(&self) -> &Header;
    /// Whether `header().node_public_key` is the source's claim. Tiles name no key: theirs is
    /// the checkpoint key the genesis (or a rotation) names at the checkpoint's size, accepted
    /// only when the trust accepts it.
    fn names_node_key(&self) -> bool;
    fn next_entry(&mut self) -> Result<Option<Entry>, Failure>;
    /// The signed checkpoint for the entries read.
    fn finish(self) -> Result<SignedCheckpoint, Failure>;
}

/// A snapshot file as an [`EntrySource`].
pub struct SnapshotSource<R: Read>(SnapshotReader<R>);

impl<R: Read> SnapshotSource<R> {
    pub fn open(input: R) -> Result<Self, Failure> {
        SnapshotReader::open(input)
            .map(SnapshotSource)
            .map_err(malformed)
    }
}

impl<R: Read> EntrySource for SnapshotSource<R> {
    fn header(&self) -> &Header {
        self.0.header()
    }
    fn names_node_key(&self) -> bool {
        true
    }
    fn next_entry(&mut self) -> Result<Option<Entry>, Failure> {
        self.0.next_entry().map_err(malformed)
    }
    fn finish(self) -> Result<SignedCheckpoint, Failure> {
        self.0.finish().map_err(malformed)
    }
}

/// Verifies a snapshot read from `input`. `each` sees every verified entry (for CSV);
/// `progress` is told how many entries are done.
pub fn verify_snapshot<R: Read>(
    input: R,
    trust: &Trust,
    required_witnesses: &[WitnessKey],
    threads: usize,
    each: impl FnMut(Verified<'_>),
    progress: impl FnMut(u64, u64),
) -> Outcome {
    verify_source(
        || SnapshotSource::open(input),
        trust,
        required_witnesses,
        threads,
        each,
        progress,
    )
}

/// Verifies the entries of the source `open` gives (a failure to open is the outcome's).
pub fn verify_source<S: EntrySource>(
    open: impl FnOnce() -> Result<S, Failure>,
    trust: &Trust,
    required_witnesses: &[WitnessKey],
    threads: usize,
    mut each: impl FnMut(Verified<'_>),
    mut progress: impl FnMut(u64, u64),
) -> Outcome {
    let mut fold = Fold::new(threads);
    let mut outcome = Outcome {
        header: None,
        state: State::new(),
        entries_checked: 0,
        first_timestamp_ms: None,
        last_timestamp_ms: None,
        kinds: BTreeMap::new(),
        root: fold.tree.root(),
        checkpoint: None,
        ledger_fingerprint: None,
        witnessed: None,
        witnessed_by: Vec::new(),
        unwitnessed_entries: 0,
        key_history: HashMap::new(),
        policy_history: Vec::new(),
        failure: None,
    };
    let result = (|| -> Result<(), Failure> {
        let mut reader = open()?;
        let header = reader.header().clone();
        outcome.header = Some(header.clone());
        let witnessed = match header.witnessed.as_str() {
            "" => None,
            text => Some(SignedCheckpoint::parse(text).map_err(|e| {
                Failure::new(
                    "SNAPSHOT_MALFORMED",
                    None,
                    format!("the snapshot's witnessed checkpoint is malformed: {e}"),
                )
            })?),
        };
        fold.capture_at = witnessed.as_ref().map(|w| w.checkpoint.tree_size);
        let claimed_key = if !reader.names_node_key() {
            None
        } else {
            Some(VerifyingKey::from_bytes(&header.node_public_key)
            .ok()
            .filter(|k| trust.accepts(k))
            .ok_or_else(|| {
                Failure::new(
                    "NODE_KEY_NOT_TRUSTED",
                    None,
                    format!(
                        "this snapshot is signed by node key {}, which is not the key you trust; get the snapshot from your community's own node, or check the fingerprint on the notice board",
                        VerifyingKey::from_bytes(&header.node_public_key).map(|k| KeyId::of(&k).fingerprint()).unwrap_or_else(|_| "(invalid)".into())
                    ),
                )
            })?)
        };
        let total = header.entry_count;
        // A pipeline: the next chunk's signatures are checked on every core while this thread
        // folds the current chunk in order and reads the one after, so the cores never wait.
        let mut read_chunk = || -> Result<Vec<Entry>, Failure> {
            let mut chunk = Vec::with_capacity(CHUNK);
            while chunk.len() < CHUNK {
                match reader.next_entry()? {
                    Some(e) => chunk.push(e),
                    None => break,
                }
            }
            Ok(chunk)
        };
        let mut to_verify = read_chunk()?;
        // The ledger is its genesis: another genesis is another ledger, whoever signed it.
        if let Some(genesis) = to_verify.first() {
            let fingerprint = ledger_core::entry::ledger_fingerprint(genesis);
            outcome.ledger_fingerprint = Some(fingerprint.clone());
            if let Trust::Ledger(trusted) = trust {
                if &fingerprint != trusted {
                    return Err(Failure::new(
                        "LEDGER_NOT_TRUSTED",
                        Some(0),
                        format!(
                            "这不是公示栏上的账本：它的账本指纹是 {fingerprint}，不是 {trusted}。请不要相信其中的数字，\
                             并告知社区、保留此文件。 / This is ledger {fingerprint}, not the ledger \
                             {trusted} you trust: its genesis differs (even if the ledger id and the \
                             node key are the same). Do not trust its figures; tell your community"
                        ),
                    ));
                }
            }
        }
        let mut to_fold: Option<(Vec<Entry>, Vec<PreVerified>)> = None;
        loop {
            let keys = fold.known_keys();
            let threads = fold.threads;
            // One thread (and WebAssembly, which has none to spawn): the same steps in turn.
            let mut fold_and_read = |fold: &mut Fold| {
                let folded = match to_fold.take() {
                    Some((chunk, pre)) => {
                        let last_ts = chunk.last().map(|e| e.timestamp_ms);
                        fold.apply_chunk(&chunk, pre, &mut each).map(|_| last_ts)
                    }
                    None => Ok(None),
                };
                let after = if to_verify.is_empty() {
                    Ok(Vec::new())
                } else {
                    read_chunk()
                };
                (folded, after)
            };
            let (verified, folded, after) = if threads == 1 {
                let verified = Fold::pre_verify(&keys, &to_verify, 1);
                let (folded, after) = fold_and_read(&mut fold);
                (verified, folded, after)
            } else {
                std::thread::scope(|scope| {
                    let verifying = scope.spawn(|| Fold::pre_verify(&keys, &to_verify, threads));
                    let (folded, after) = fold_and_read(&mut fold);
                    (
                        verifying.join().expect("verification thread"),
                        folded,
                        after,
                    )
                })
            };
            if let Some(ts) = folded? {
                outcome.last_timestamp_ms = Some(ts);
                progress(fold.tree.size(), total);
            }
            if to_verify.is_empty() {
                break;
            }
            to_fold = Some((std::mem::replace(&mut to_verify, after?), verified));
        }
        if fold.tree.size() == 0 {
            return Err(Failure::new(
                "EMPTY_LEDGER",
                None,
                "the snapshot holds no entries, not even a genesis",
            ));
        }
        let ledger_id = fold
            .state
            .ledger
            .as_ref()
            .map(|l| l.ledger_id.clone())
            .unwrap_or_default();
        if ledger_id != header.ledger_id {
            return Err(Failure::new(
                "LEDGER_ID_MISMATCH",
                None,
                format!(
                    "the snapshot says it is ledger {:?}, its genesis says {ledger_id:?}",
                    header.ledger_id
                ),
            ));
        }
        // Checkpoints are signed by the key in force at their size (the genesis's, or the one an
        // admin quorum rotated in), and by no other.
        let named = fold
            .state
            .ledger
            .as_ref()
            .map(|l| l.checkpoint_key_at(fold.tree.size()));
        let node_key = match (claimed_key, named) {
            (Some(claimed), Some(named)) if claimed == named => claimed,
            (None, Some(named)) if trust.accepts(&named) => {
                if let Some(h) = outcome.header.as_mut() {
                    h.node_public_key = named.to_bytes();
                }
                named
            }
            (claimed, named) => {
                let shown = claimed.or(named);
                return Err(Failure::new(
                    "NODE_KEY_NOT_TRUSTED",
                    None,
                    format!(
                        "this ledger is signed by node key {}, which is not {}",
                        shown
                            .map(|k| KeyId::of(&k).fingerprint())
                            .unwrap_or_default(),
                        match claimed {
                            Some(_) => format!(
                                "the checkpoint key its genesis names ({})",
                                named
                                    .map(|k| KeyId::of(&k).fingerprint())
                                    .unwrap_or_default()
                            ),
                            None => "the key you trust".to_string(),
                        }
                    ),
                ));
            }
        };
        let checkpoint = reader.finish()?;
        outcome.checkpoint = Some(checkpoint.clone());
        fold.check_checkpoint(&checkpoint, &node_key)?;
        outcome.unwitnessed_entries = fold.tree.size();
        let by = check_witnessed(&fold, &checkpoint, witnessed.as_ref(), required_witnesses)?;
        if let Some(w) = witnessed {
            outcome.unwitnessed_entries = fold.tree.size() - w.checkpoint.tree_size;
            outcome.witnessed = Some(w);
            outcome.witnessed_by = by;
        }
        Ok(())
    })();
    outcome.failure = result.err();
    outcome.entries_checked = fold.tree.size();
    outcome.first_timestamp_ms = fold.first_timestamp_ms;
    outcome.root = fold.tree.root();
    outcome.kinds = std::mem::take(&mut fold.kinds);
    outcome.key_history = std::mem::take(&mut fold.key_history);
    outcome.policy_history = std::mem::take(&mut fold.policy_history);
    outcome.state = fold.state;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (fuzz/run.sh, snapshot_verify): a header claiming a huge entry count made
    /// the verifier reserve memory for it. The count is untrusted; nothing is sized by it.
    #[test]
    fn a_header_claiming_a_huge_entry_count_allocates_nothing_for_it() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key();
        let header = ledger_core::snapshot::encode_header(&Header {
            ledger_id: "x".into(),
            node_public_key: key.to_bytes(),
            entry_count: 1 << 40,
            witnessed: String::new(),
        });
        let outcome = verify_snapshot(
            header.as_slice(),
            &Trust::Key(key),
            &[],
            1,
            |_| {},
            |_, _| {},
        );
        let failure = outcome.failure.expect("a truncated snapshot fails");
        assert_eq!(failure.code, crate::report::UNUSABLE, "{}", failure.message);
    }
}
