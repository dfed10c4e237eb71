//! Judging a checkpoint that comes without the whole log (a receipt, a checkpoint file, a live
//! node) by the ledger fingerprint from the notice board: the genesis travels with it and is
//! proven to be entry 0 of the checkpoint's tree; the genesis names the ledger id, the node's
//! checkpoint key and the witnesses whose quorum the checkpoint must carry.

use ledger_core::checkpoint::{SignedCheckpoint, WitnessKey};
use ledger_core::entry::{ledger_fingerprint, Entry};
use ledger_core::merkle;
use ledger_core::proto as pb;
use ledger_core::state::{LedgerInfo, State};

/// Why a checkpoint is not the trusted ledger's: a stable code and plain words.
#[derive(Debug)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

/// What the checks established.
pub struct Accepted {
    pub ledger: LedgerInfo,
    /// Witnesses with a valid cosignature.
    pub witnessed_by: Vec<String>,
    /// The node's signature is by the genesis's key; false when a rotated key signed and the
    /// witnesses vouch for the checkpoint.
    pub genesis_key_signed: bool,
}

/// An entry as the protobuf carries it.
pub fn entry_of(e: &pb::Entry) -> Option<Entry> {
    Some(Entry {
        sequence: e.sequence,
        prev_hash: e.prev_hash.as_slice().try_into().ok()?,
        timestamp_ms: e.timestamp_ms,
        envelope: e.envelope.clone(),
    })
}

/// Checks that `checkpoint` is of the ledger with fingerprint `trusted`, given its genesis and
/// the genesis's inclusion proof in the checkpoint's tree; then the witness quorum (and every
/// witness in `required`), then the node's signature.
pub fn check(
    checkpoint: &SignedCheckpoint,
    genesis: Option<&pb::Entry>,
    genesis_proof: &[Vec<u8>],
    trusted: &str,
    required: &[WitnessKey],
) -> Result<Accepted, Refusal> {
    let genesis = genesis.and_then(entry_of).ok_or_else(|| {
        refuse(
            "GENESIS_MISSING",
            "这份文件没有附带创世记录，无法与账本指纹核对；请用新版 ledger 重新获取。/ It does not carry the ledger's genesis, so it cannot be checked against the ledger fingerprint; fetch it again with a current `ledger`",
        )
    })?;
    let found = ledger_fingerprint(&genesis);
    if genesis.sequence != 0 || found != trusted {
        return Err(refuse(
            "LEDGER_NOT_TRUSTED",
            format!("这不是公示栏上的账本：它的账本指纹是 {found}，不是 {trusted}。/ This is ledger {found}, not the ledger {trusted} you trust"),
        ));
    }
    let cp = &checkpoint.checkpoint;
    let proof = merkle::hashes_from_bytes(genesis_proof)
        .map_err(|_| refuse("PROOF_MALFORMED", "a proof hash is not 32 bytes"))?;
    merkle::verify_inclusion(
        &merkle::entry_leaf_hash(&genesis),
        0,
        cp.tree_size,
        &proof,
        &cp.root,
    )
    .map_err(|e| {
        refuse(
            "INCLUSION_PROOF_INVALID",
            format!("the genesis is not proven to be entry 0 of the checkpoint's tree: {e}"),
        )
    })?;
    let mut state = State::new();
    ledger_core::rules::apply_entry(&mut state, &genesis).map_err(|r| {
        refuse(
            "LEDGER_NOT_TRUSTED",
            format!("the genesis is not valid: {r}"),
        )
    })?;
    let ledger = state.ledger.expect("a valid genesis creates the ledger");
    if cp.origin != ledger.ledger_id {
        return Err(refuse(
            "CHECKPOINT_WRONG_LEDGER",
            format!(
                "the checkpoint is for {:?}, the genesis for {:?}",
                cp.origin, ledger.ledger_id
            ),
        ));
    }
    let witnessed_by = check_witnesses(checkpoint, &ledger, required)?;
    let genesis_key_signed = checkpoint
        .verify(&cp.origin, &ledger.checkpoint_key)
        .is_ok();
    if !genesis_key_signed && ledger.witness_quorum == 0 {
        return Err(refuse(
            "CHECKPOINT_SIGNATURE_INVALID",
            "the checkpoint is not signed by the checkpoint key the genesis names (if the key was rotated since, verify a snapshot: it replays the rotation)",
        ));
    }
    Ok(Accepted {
        ledger,
        witnessed_by,
        genesis_key_signed,
    })
}

fn check_witnesses(
    checkpoint: &SignedCheckpoint,
    ledger: &LedgerInfo,
    required: &[WitnessKey],
) -> Result<Vec<String>, Refusal> {
    if ledger.witness_quorum == 0 && required.is_empty() {
        return Ok(Vec::new());
    }
    let none_valid = ledger
        .witnesses
        .iter()
        .chain(required)
        .all(|w| checkpoint.verify_cosignature(w).is_err());
    if none_valid {
        return Err(refuse(
            "NOT_WITNESSED",
            "这份收据的检查点还没有见证方联署；过一分钟用 `ledger fetch-receipt <交易号> --out <文件>` 重新获取。/ The checkpoint is not cosigned by the witnesses yet; fetch a witnessed receipt in a minute with `ledger fetch-receipt <tx id> --out <file>`",
        ));
    }
    checkpoint
        .check_witnesses(&ledger.witnesses, ledger.witness_quorum, required)
        .map_err(|e| refuse("WITNESS_QUORUM_NOT_MET", e.to_string()))
}
