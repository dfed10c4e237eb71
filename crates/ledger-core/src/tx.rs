//! From bytes to a checked transaction: decode the envelope, check its signatures' shape, and
//! turn the protobuf body into domain types with every field validated and bounded.
//!
//! Whether the signers may do what the body says is the rules' business ([`crate::rules`]);
//! here we only answer "is this a well-formed transaction at all".

use ed25519_dalek::VerifyingKey;
use prost::Message;

use crate::checkpoint::WitnessKey;
use crate::decode_error::{DecodeError, SignatureError};
use crate::hashing::body_hash;
use crate::limits::*;
use crate::proto;
use crate::signing::{self, KeyId};
use crate::types::{Amounts, FundSource, Policy, Role};
use crate::Hash;

/// A client-chosen 128-bit transaction id.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct TxId(pub [u8; 16]);

impl std::fmt::Debug for TxId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TxId({})", hex::encode(self.0))
    }
}

impl std::fmt::Display for TxId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// A signed envelope whose shape is checked (sizes, lengths); signatures not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub body: Vec<u8>,
    pub signatures: Vec<(KeyId, [u8; 64])>,
}

impl Envelope {
    pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(DecodeError::TooLarge {
                what: "envelope",
                size: bytes.len(),
                limit: MAX_ENVELOPE_BYTES,
            });
        }
        let raw = proto::SignedEnvelope::decode(bytes).map_err(|e| DecodeError::Malformed {
            what: "envelope",
            detail: e.to_string(),
        })?;
        require_canonical("envelope", &raw, bytes)?;
        Envelope::from_proto(raw)
    }

    pub fn from_proto(raw: proto::SignedEnvelope) -> Result<Envelope, DecodeError> {
        if raw.body.len() > MAX_BODY_BYTES {
            return Err(DecodeError::TooLarge {
                what: "transaction body",
                size: raw.body.len(),
                limit: MAX_BODY_BYTES,
            });
        }
        if raw.signatures.is_empty() {
            return Err(DecodeError::NoSignature);
        }
        if raw.signatures.len() > MAX_SIGNATURES {
            return Err(DecodeError::TooMany {
                what: "signatures",
                count: raw.signatures.len(),
                limit: MAX_SIGNATURES,
            });
        }
        let mut signatures: Vec<(KeyId, [u8; 64])> = Vec::with_capacity(raw.signatures.len());
        for sig in raw.signatures {
            let key_id = KeyId::from_slice(&sig.key_id)
                .ok_or_else(|| DecodeError::invalid("signatures.key_id", "a key id is 32 bytes"))?;
            let signature: [u8; 64] = sig.signature.as_slice().try_into().map_err(|_| {
                DecodeError::invalid("signatures.signature", "an Ed25519 signature is 64 bytes")
            })?;
            if signatures.iter().any(|(k, _)| *k == key_id) {
                return Err(DecodeError::DuplicateSigner {
                    key: key_id.fingerprint(),
                });
            }
            signatures.push((key_id, signature));
        }
        Ok(Envelope {
            body: raw.body,
            signatures,
        })
    }

    pub fn to_proto(&self) -> proto::SignedEnvelope {
        proto::SignedEnvelope {
            body: self.body.clone(),
            signatures: self
                .signatures
                .iter()
                .map(|(k, s)| proto::Signature {
                    key_id: k.0.to_vec(),
                    signature: s.to_vec(),
                })
                .collect(),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        self.to_proto().encode_to_vec()
    }

    /// Verifies every signature with `verify_strict` against the key `lookup` gives for its id.
    /// Returns the signers in envelope order. A signature whose key is unknown is refused:
    /// nothing in the ledger is signed by a stranger.
    pub fn verify_signatures(
        &self,
        mut lookup: impl FnMut(&KeyId) -> Option<VerifyingKey>,
    ) -> Result<Vec<KeyId>, SignatureError> {
        // Every key is looked up before any signature is checked: an envelope naming an unknown
        // key costs no signature work at all.
        let keys = self
            .signatures
            .iter()
            .map(|(key_id, _)| {
                lookup(key_id).ok_or(SignatureError::UnknownKey {
                    key: key_id.fingerprint(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut signers = Vec::with_capacity(self.signatures.len());
        for ((key_id, signature), key) in self.signatures.iter().zip(keys) {
            if !signing::verify_body(&key, &self.body, signature) {
                return Err(SignatureError::BadSignature {
                    key: key_id.fingerprint(),
                });
            }
            signers.push(*key_id);
        }
        Ok(signers)
    }

    /// Idempotency fingerprint of the body.
    pub fn body_hash(&self) -> Hash {
        body_hash(&self.body)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    pub public_key: VerifyingKey,
    pub key_id: KeyId,
    pub role: Role,
    pub name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewAccountKind {
    FundPool(FundSource),
    Payee,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Genesis {
        ledger_name: String,
        currency: String,
        admin_keys: Vec<NewKey>,
        policy: Policy,
        /// The key the node signs checkpoints with.
        checkpoint_key: VerifyingKey,
        /// The witnesses whose cosignatures make a checkpoint trusted, and how many it needs.
        witnesses: Vec<WitnessKey>,
        witness_quorum: u32,
    },
    CheckpointKeyRotated {
        new_key: VerifyingKey,
        reason: String,
    },
    /// A new policy; the admin quorum and the approver quorum (of the policy in force) sign it.
    PolicyChanged {
        policy: Policy,
        reason: String,
    },
    KeyRegistered(NewKey),
    KeyRevoked {
        key_id: KeyId,
        reason: String,
    },
    AccountOpened {
        account_id: String,
        kind: NewAccountKind,
        name: String,
    },
    ProjectCreated {
        project_id: String,
        name: String,
        description: String,
        budget: Amounts,
    },
    FundsReceived {
        source: FundSource,
        to_account: String,
        amount: u64,
        contributor_commitment: Option<Hash>,
        memo: String,
        document_hash: Option<Hash>,
    },
    FundsAllocated {
        from_account: String,
        project_id: String,
        amounts: Amounts,
        memo: String,
    },
    DisbursementProposed {
        project_id: String,
        payee_account: String,
        amounts: Amounts,
        contract_hash: Hash,
        invoice_hash: Option<Hash>,
        memo: String,
    },
    DisbursementApproved {
        proposal: TxId,
    },
    DisbursementRejected {
        proposal: TxId,
        reason: String,
    },
    DisbursementExecuted {
        proposal: TxId,
    },
    DisbursementVoided {
        proposal: TxId,
        reason: String,
    },
    EntryReversed {
        target: TxId,
        reason: String,
    },
    EntryAnnotated {
        target: TxId,
        note: String,
        document_hash: Option<Hash>,
    },
    ObjectionFiled {
        proposal: TxId,
        text: String,
        document_hash: Option<Hash>,
    },
    ObjectionAnswered {
        objection: TxId,
        text: String,
        document_hashes: Vec<Hash>,
    },
    ObjectionResolved {
        objection: TxId,
        upheld: bool,
        reason: String,
    },
    ProjectCompleted {
        project_id: String,
        memo: String,
        document_hash: Option<Hash>,
    },
    ProjectEvaluated {
        project_id: String,
        satisfied: bool,
        comment: String,
        report_hash: Option<Hash>,
    },
    ProjectAccepted {
        project_id: String,
        memo: String,
    },
    ProjectClosed {
        project_id: String,
        memo: String,
    },
}

impl Kind {
    /// The name of the kind as in the protobuf oneof (used by filters and reports).
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Genesis { .. } => "genesis",
            Kind::CheckpointKeyRotated { .. } => "checkpoint_key_rotated",
            Kind::PolicyChanged { .. } => "policy_changed",
            Kind::KeyRegistered(_) => "key_registered",
            Kind::KeyRevoked { .. } => "key_revoked",
            Kind::AccountOpened { .. } => "account_opened",
            Kind::ProjectCreated { .. } => "project_created",
            Kind::FundsReceived { .. } => "funds_received",
            Kind::FundsAllocated { .. } => "funds_allocated",
            Kind::DisbursementProposed { .. } => "disbursement_proposed",
            Kind::DisbursementApproved { .. } => "disbursement_approved",
            Kind::DisbursementRejected { .. } => "disbursement_rejected",
            Kind::DisbursementExecuted { .. } => "disbursement_executed",
            Kind::DisbursementVoided { .. } => "disbursement_voided",
            Kind::EntryReversed { .. } => "entry_reversed",
            Kind::EntryAnnotated { .. } => "entry_annotated",
            Kind::ObjectionFiled { .. } => "objection_filed",
            Kind::ObjectionAnswered { .. } => "objection_answered",
            Kind::ObjectionResolved { .. } => "objection_resolved",
            Kind::ProjectCompleted { .. } => "project_completed",
            Kind::ProjectEvaluated { .. } => "project_evaluated",
            Kind::ProjectAccepted { .. } => "project_accepted",
            Kind::ProjectClosed { .. } => "project_closed",
        }
    }

    /// Every kind name: the one list that filters, reports, the page and the tests that each
    /// kind is described are checked against.
    pub const NAMES: [&'static str; 23] = [
        "genesis",
        "key_registered",
        "key_revoked",
        "account_opened",
        "project_created",
        "funds_received",
        "funds_allocated",
        "disbursement_proposed",
        "disbursement_approved",
        "disbursement_rejected",
        "disbursement_executed",
        "disbursement_voided",
        "entry_reversed",
        "entry_annotated",
        "checkpoint_key_rotated",
        "policy_changed",
        "objection_filed",
        "objection_answered",
        "objection_resolved",
        "project_completed",
        "project_evaluated",
        "project_accepted",
        "project_closed",
    ];
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    pub ledger_id: String,
    pub tx_id: TxId,
    pub timestamp_ms: i64,
    pub kind: Kind,
}

impl Transaction {
    /// Decodes and validates a body. Every field is checked here; nothing later trusts raw input.
    pub fn decode(body: &[u8]) -> Result<Transaction, DecodeError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(DecodeError::TooLarge {
                what: "transaction body",
                size: body.len(),
                limit: MAX_BODY_BYTES,
            });
        }
        let raw = proto::TransactionBody::decode(body).map_err(|e| DecodeError::Malformed {
            what: "transaction body",
            detail: e.to_string(),
        })?;
        require_canonical("transaction body", &raw, body)?;
        let ledger_id = identifier("ledger_id", raw.ledger_id)?;
        let tx_id = TxId(
            raw.tx_id
                .as_slice()
                .try_into()
                .map_err(|_| DecodeError::invalid("tx_id", "a transaction id is 16 bytes"))?,
        );
        let kind = raw.kind.ok_or_else(|| {
            DecodeError::invalid(
                "kind",
                "the body names no transaction kind (or one this node does not know)",
            )
        })?;
        Ok(Transaction {
            ledger_id,
            tx_id,
            timestamp_ms: raw.timestamp_ms,
            kind: decode_kind(kind)?,
        })
    }
}

fn decode_kind(kind: proto::transaction_body::Kind) -> Result<Kind, DecodeError> {
    use proto::transaction_body::Kind as K;
    Ok(match kind {
        K::Genesis(g) => {
            if g.admin_keys.is_empty() || g.admin_keys.len() > MAX_GENESIS_KEYS {
                return Err(DecodeError::invalid(
                    "genesis.admin_keys",
                    &format!("name between 1 and {MAX_GENESIS_KEYS} admin keys"),
                ));
            }
            let admin_keys = g
                .admin_keys
                .into_iter()
                .map(new_key)
                .collect::<Result<Vec<_>, _>>()?;
            if admin_keys.iter().any(|k| k.role != Role::Admin) {
                return Err(DecodeError::invalid(
                    "genesis.admin_keys.role",
                    "every genesis key is an admin key",
                ));
            }
            for (i, k) in admin_keys.iter().enumerate() {
                if admin_keys[..i].iter().any(|o| o.key_id == k.key_id) {
                    return Err(DecodeError::invalid(
                        "genesis.admin_keys",
                        "the same key is named twice",
                    ));
                }
            }
            let currency = g.currency;
            if currency != "CNY" {
                return Err(DecodeError::invalid(
                    "genesis.currency",
                    "the ledger keeps CNY (fen); write \"CNY\"",
                ));
            }
            let policy = policy(g.policy, admin_keys.len())?;
            let checkpoint_key = public_key("genesis.checkpoint_key", &g.checkpoint_key)?;
            let witnesses = witnesses(g.witnesses)?;
            check_witness_quorum(witnesses.len(), g.witness_quorum)?;
            Kind::Genesis {
                ledger_name: name("genesis.ledger_name", g.ledger_name)?,
                currency,
                admin_keys,
                policy,
                checkpoint_key,
                witnesses,
                witness_quorum: g.witness_quorum,
            }
        }
        // The admin quorum's bound against the admins there are is the rules' business.
        K::PolicyChanged(p) => Kind::PolicyChanged {
            policy: policy(p.policy, MAX_SIGNATURES)?,
            reason: text("policy_changed.reason", p.reason)?,
        },
        K::CheckpointKeyRotated(r) => Kind::CheckpointKeyRotated {
            new_key: public_key("checkpoint_key_rotated.new_key", &r.new_key)?,
            reason: text("checkpoint_key_rotated.reason", r.reason)?,
        },
        K::KeyRegistered(k) => Kind::KeyRegistered(new_key(
            k.key
                .ok_or_else(|| DecodeError::invalid("key_registered.key", "missing"))?,
        )?),
        K::KeyRevoked(k) => Kind::KeyRevoked {
            key_id: KeyId::from_slice(&k.key_id).ok_or_else(|| {
                DecodeError::invalid("key_revoked.key_id", "a key id is 32 bytes")
            })?,
            reason: text("key_revoked.reason", k.reason)?,
        },
        K::AccountOpened(a) => {
            let kind = match proto::AccountKind::try_from(a.kind) {
                Ok(proto::AccountKind::FundPool) => {
                    NewAccountKind::FundPool(source("account_opened.source", a.source)?)
                }
                Ok(proto::AccountKind::Payee) => {
                    if a.source != 0 {
                        return Err(DecodeError::invalid(
                            "account_opened.source",
                            "a payee account takes money of any source; leave source unset",
                        ));
                    }
                    NewAccountKind::Payee
                }
                _ => {
                    return Err(DecodeError::invalid(
                        "account_opened.kind",
                        "fund_pool or payee",
                    ))
                }
            };
            Kind::AccountOpened {
                account_id: identifier("account_opened.account_id", a.account_id)?,
                kind,
                name: name("account_opened.name", a.name)?,
            }
        }
        K::ProjectCreated(p) => Kind::ProjectCreated {
            project_id: identifier("project_created.project_id", p.project_id)?,
            name: name("project_created.name", p.name)?,
            description: text("project_created.description", p.description)?,
            budget: amounts("project_created.budget", p.budget)?,
        },
        K::FundsReceived(r) => {
            check_amount("funds_received.amount_fen", r.amount_fen)?;
            Kind::FundsReceived {
                source: source("funds_received.source", r.source)?,
                to_account: identifier("funds_received.to_account", r.to_account)?,
                amount: r.amount_fen,
                contributor_commitment: optional_hash(
                    "funds_received.contributor_commitment",
                    r.contributor_commitment,
                )?,
                memo: text("funds_received.memo", r.memo)?,
                document_hash: optional_hash("funds_received.document_hash", r.document_hash)?,
            }
        }
        K::FundsAllocated(a) => Kind::FundsAllocated {
            from_account: identifier("funds_allocated.from_account", a.from_account)?,
            project_id: identifier("funds_allocated.project_id", a.project_id)?,
            amounts: amounts("funds_allocated.amounts", a.amounts)?,
            memo: text("funds_allocated.memo", a.memo)?,
        },
        K::DisbursementProposed(d) => Kind::DisbursementProposed {
            project_id: identifier("disbursement_proposed.project_id", d.project_id)?,
            payee_account: identifier("disbursement_proposed.payee_account", d.payee_account)?,
            amounts: amounts("disbursement_proposed.amounts", d.amounts)?,
            contract_hash: optional_hash("disbursement_proposed.contract_hash", d.contract_hash)?
                .ok_or_else(|| {
                DecodeError::invalid(
                    "disbursement_proposed.contract_hash",
                    "a disbursement names the hash of its contract",
                )
            })?,
            invoice_hash: optional_hash("disbursement_proposed.invoice_hash", d.invoice_hash)?,
            memo: text("disbursement_proposed.memo", d.memo)?,
        },
        K::DisbursementApproved(d) => Kind::DisbursementApproved {
            proposal: tx_ref("disbursement_approved.proposal_tx_id", &d.proposal_tx_id)?,
        },
        K::DisbursementRejected(d) => Kind::DisbursementRejected {
            proposal: tx_ref("disbursement_rejected.proposal_tx_id", &d.proposal_tx_id)?,
            reason: text("disbursement_rejected.reason", d.reason)?,
        },
        K::DisbursementExecuted(d) => Kind::DisbursementExecuted {
            proposal: tx_ref("disbursement_executed.proposal_tx_id", &d.proposal_tx_id)?,
        },
        K::DisbursementVoided(d) => Kind::DisbursementVoided {
            proposal: tx_ref("disbursement_voided.proposal_tx_id", &d.proposal_tx_id)?,
            reason: text("disbursement_voided.reason", d.reason)?,
        },
        K::EntryReversed(r) => Kind::EntryReversed {
            target: tx_ref("entry_reversed.target_tx_id", &r.target_tx_id)?,
            reason: text("entry_reversed.reason", r.reason)?,
        },
        K::EntryAnnotated(a) => Kind::EntryAnnotated {
            target: tx_ref("entry_annotated.target_tx_id", &a.target_tx_id)?,
            note: text("entry_annotated.note", a.note)?,
            document_hash: optional_hash("entry_annotated.document_hash", a.document_hash)?,
        },
        K::ObjectionFiled(o) => Kind::ObjectionFiled {
            proposal: tx_ref("objection_filed.proposal_tx_id", &o.proposal_tx_id)?,
            text: required_text("objection_filed.text", o.text)?,
            document_hash: optional_hash("objection_filed.document_hash", o.document_hash)?,
        },
        K::ObjectionAnswered(a) => {
            if a.document_hashes.len() > MAX_ANSWER_DOCUMENTS {
                return Err(DecodeError::invalid(
                    "objection_answered.document_hashes",
                    &format!("at most {MAX_ANSWER_DOCUMENTS} documents"),
                ));
            }
            let document_hashes = a
                .document_hashes
                .into_iter()
                .map(|h| {
                    optional_hash("objection_answered.document_hashes", h)?.ok_or_else(|| {
                        DecodeError::invalid(
                            "objection_answered.document_hashes",
                            "a hash is 32 bytes",
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Kind::ObjectionAnswered {
                objection: tx_ref("objection_answered.objection_tx_id", &a.objection_tx_id)?,
                text: required_text("objection_answered.text", a.text)?,
                document_hashes,
            }
        }
        K::ObjectionResolved(r) => Kind::ObjectionResolved {
            objection: tx_ref("objection_resolved.objection_tx_id", &r.objection_tx_id)?,
            upheld: r.upheld,
            reason: required_text("objection_resolved.reason", r.reason)?,
        },
        K::ProjectCompleted(p) => Kind::ProjectCompleted {
            project_id: identifier("project_completed.project_id", p.project_id)?,
            memo: text("project_completed.memo", p.memo)?,
            document_hash: optional_hash("project_completed.document_hash", p.document_hash)?,
        },
        K::ProjectEvaluated(e) => Kind::ProjectEvaluated {
            project_id: identifier("project_evaluated.project_id", e.project_id)?,
            satisfied: e.satisfied,
            comment: text("project_evaluated.comment", e.comment)?,
            report_hash: optional_hash("project_evaluated.report_hash", e.report_hash)?,
        },
        K::ProjectAccepted(a) => Kind::ProjectAccepted {
            project_id: identifier("project_accepted.project_id", a.project_id)?,
            memo: text("project_accepted.memo", a.memo)?,
        },
        K::ProjectClosed(c) => Kind::ProjectClosed {
            project_id: identifier("project_closed.project_id", c.project_id)?,
            memo: text("project_closed.memo", c.memo)?,
        },
    })
}

/// A policy (the genesis's, or a change of it), each field within its bound; the admin quorum
/// at most `admins` (the admin keys there are).
fn policy(raw: Option<proto::Policy>, admins: usize) -> Result<Policy, DecodeError> {
    let raw = raw.ok_or_else(|| DecodeError::invalid("policy", "a ledger needs a policy"))?;
    let policy = Policy {
        approval_threshold_fen: raw.approval_threshold_fen,
        approver_quorum: raw.approver_quorum,
        admin_quorum: raw.admin_quorum,
        reserve_ratio_bp: raw.reserve_ratio_bp,
        approval_window_days: raw.approval_window_days,
        notice_days: raw.notice_days,
        objection_response_days: raw.objection_response_days,
    };
    match policy_problems(&policy, admins).into_iter().next() {
        Some(problem) => Err(problem),
        None => Ok(policy),
    }
}

/// Every field of `policy` outside its bound, in field order (empty: the policy is valid). The
/// decoder refuses with the first; a genesis file's check reports them all at once.
pub fn policy_problems(policy: &Policy, admins: usize) -> Vec<DecodeError> {
    let mut problems = Vec::new();
    if policy.notice_days > MAX_NOTICE_DAYS {
        problems.push(DecodeError::invalid(
            "policy.notice_days",
            &format!("0 to {MAX_NOTICE_DAYS} days (e.g. 7): how long an approved large disbursement stays on public notice"),
        ));
    }
    let response_ok = if policy.notice_days == 0 {
        policy.objection_response_days <= MAX_RESPONSE_DAYS
    } else {
        (1..=MAX_RESPONSE_DAYS).contains(&policy.objection_response_days)
    };
    if !response_ok {
        problems.push(DecodeError::invalid(
            "policy.objection_response_days",
            &format!("1 to {MAX_RESPONSE_DAYS} days (e.g. 10): how long the finance office has to answer an objection"),
        ));
    }
    if !(1..=MAX_APPROVAL_WINDOW_DAYS).contains(&policy.approval_window_days) {
        problems.push(DecodeError::invalid(
            "policy.approval_window_days",
            &format!("1 to {MAX_APPROVAL_WINDOW_DAYS} days (e.g. 30): payments without approval are added up over this window"),
        ));
    }
    if policy.approval_threshold_fen > MAX_AMOUNT_FEN {
        problems.push(DecodeError::invalid(
            "policy.approval_threshold_fen",
            "the threshold is over the largest amount a transaction may name",
        ));
    }
    if policy.approver_quorum == 0 || policy.approver_quorum as usize > MAX_SIGNATURES {
        problems.push(DecodeError::invalid(
            "policy.approver_quorum",
            &format!("between 1 and {MAX_SIGNATURES}"),
        ));
    }
    if policy.admin_quorum == 0 || policy.admin_quorum as usize > admins {
        problems.push(DecodeError::invalid(
            "policy.admin_quorum",
            "between 1 and the number of admin keys",
        ));
    }
    if policy.reserve_ratio_bp > MAX_RESERVE_RATIO_BP {
        problems.push(DecodeError::invalid(
            "policy.reserve_ratio_bp",
            &format!("at most {MAX_RESERVE_RATIO_BP} (50%)"),
        ));
    }
    problems
}

fn public_key(field: &'static str, bytes: &[u8]) -> Result<VerifyingKey, DecodeError> {
    signing::parse_public_key(bytes).map_err(|e| match e {
        signing::KeyError::Weak => DecodeError::WeakKey,
        signing::KeyError::NonCanonical => DecodeError::NonCanonical { what: "public key" },
        other => DecodeError::invalid(field, &other.to_string()),
    })
}

/// The genesis's witnesses: valid C2SP key names, each name and key named once.
fn witnesses(raw: Vec<proto::Witness>) -> Result<Vec<WitnessKey>, DecodeError> {
    if raw.len() > MAX_WITNESSES {
        return Err(DecodeError::invalid(
            "genesis.witnesses",
            &format!("at most {MAX_WITNESSES} witnesses"),
        ));
    }
    let mut out: Vec<WitnessKey> = Vec::with_capacity(raw.len());
    for w in raw {
        if !crate::checkpoint::is_valid_key_name(&w.name) {
            return Err(DecodeError::invalid(
                "genesis.witnesses.name",
                &format!("a witness name is 1 to {MAX_ID_BYTES} bytes without spaces or '+', e.g. witness.example/township"),
            ));
        }
        let key = public_key("genesis.witnesses.ed25519", &w.ed25519)?;
        if out.iter().any(|o| o.name == w.name || o.key == key) {
            return Err(DecodeError::invalid(
                "genesis.witnesses",
                "the same witness name or key is named twice",
            ));
        }
        out.push(WitnessKey { name: w.name, key });
    }
    Ok(out)
}

/// A quorum of more than half the witnesses, so two different histories can never both reach
/// it (each witness cosigns only one); 0 exactly when no witness is named.
fn check_witness_quorum(witnesses: usize, quorum: u32) -> Result<(), DecodeError> {
    let quorum = quorum as usize;
    let ok = if witnesses == 0 {
        quorum == 0
    } else {
        quorum * 2 > witnesses && quorum <= witnesses
    };
    if ok {
        Ok(())
    } else {
        Err(DecodeError::invalid(
            "genesis.witness_quorum",
            &format!("more than half of the {witnesses} witnesses and at most all of them (0 when there are none), so that two different histories can never both be cosigned"),
        ))
    }
}

fn new_key(k: proto::PublicKey) -> Result<NewKey, DecodeError> {
    let public_key = public_key("key.ed25519", &k.ed25519)?;
    let role = match proto::Role::try_from(k.role) {
        Ok(proto::Role::Admin) => Role::Admin,
        Ok(proto::Role::Finance) => Role::Finance,
        Ok(proto::Role::Approver) => Role::Approver,
        Ok(proto::Role::Auditor) => Role::Auditor,
        Ok(proto::Role::Resident) => Role::Resident,
        _ => {
            return Err(DecodeError::invalid(
                "key.role",
                "admin, finance, approver, auditor or resident",
            ))
        }
    };
    Ok(NewKey {
        key_id: KeyId::of(&public_key),
        public_key,
        role,
        name: name("key.name", k.name)?,
    })
}

fn identifier(field: &'static str, value: String) -> Result<String, DecodeError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_ID_BYTES
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/' | b':'));
    if ok {
        Ok(value)
    } else {
        Err(DecodeError::invalid(
            field,
            &format!("1 to {MAX_ID_BYTES} characters from A-Z a-z 0-9 - _ . / :"),
        ))
    }
}

fn name(field: &'static str, value: String) -> Result<String, DecodeError> {
    if value.trim().is_empty()
        || value.len() > MAX_NAME_BYTES
        || value.chars().any(char::is_control)
    {
        return Err(DecodeError::invalid(
            field,
            &format!("a name is 1 to {MAX_NAME_BYTES} bytes of text without control characters"),
        ));
    }
    Ok(value)
}

fn text(field: &'static str, value: String) -> Result<String, DecodeError> {
    if value.len() > MAX_TEXT_BYTES || value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(DecodeError::invalid(
            field,
            &format!("at most {MAX_TEXT_BYTES} bytes, no control characters but newlines"),
        ));
    }
    Ok(value)
}

/// Text a person must actually write (an objection, its answer, a decision's reason).
fn required_text(field: &'static str, value: String) -> Result<String, DecodeError> {
    if value.trim().is_empty() {
        return Err(DecodeError::invalid(
            field,
            "write the text: it cannot be empty",
        ));
    }
    text(field, value)
}

fn optional_hash(field: &'static str, value: Vec<u8>) -> Result<Option<Hash>, DecodeError> {
    if value.is_empty() {
        return Ok(None);
    }
    value
        .as_slice()
        .try_into()
        .map(Some)
        .map_err(|_| DecodeError::invalid(field, "a hash is 32 bytes"))
}

fn tx_ref(field: &'static str, value: &[u8]) -> Result<TxId, DecodeError> {
    value
        .try_into()
        .map(TxId)
        .map_err(|_| DecodeError::invalid(field, "a transaction id is 16 bytes"))
}

fn source(field: &'static str, value: i32) -> Result<FundSource, DecodeError> {
    FundSource::from_proto(value).ok_or_else(|| {
        DecodeError::invalid(
            field,
            "fiscal, social_capital, resident, crowdfunding, donation, loan or other",
        )
    })
}

/// Refuses bytes that are not exactly what encoding their decoded message gives. Protobuf
/// decoders may read a repeated field, an unknown field or a merged sub-message differently
/// (prost merges a repeated sub-message, a hand-written decoder may keep the last one); with
/// only canonical bytes accepted, the node, the verifier and the page decode one meaning.
fn require_canonical(
    what: &'static str,
    decoded: &impl Message,
    bytes: &[u8],
) -> Result<(), DecodeError> {
    if decoded.encoded_len() != bytes.len() || decoded.encode_to_vec() != bytes {
        return Err(DecodeError::NonCanonical { what });
    }
    Ok(())
}

/// An amount is more than zero and at most [`MAX_AMOUNT_FEN`].
fn check_amount(field: &'static str, fen: u64) -> Result<(), DecodeError> {
    if fen == 0 {
        return Err(DecodeError::invalid(
            field,
            "an amount must be more than zero",
        ));
    }
    if fen > MAX_AMOUNT_FEN {
        return Err(DecodeError::Invalid {
            field,
            why: format!(
                "{fen} fen is over the largest amount a transaction may name ({} yuan)",
                crate::amount::format_yuan(MAX_AMOUNT_FEN)
            ),
        });
    }
    Ok(())
}

fn amounts(field: &'static str, list: Vec<proto::SourceAmount>) -> Result<Amounts, DecodeError> {
    if list.is_empty() || list.len() > FundSource::ALL.len() {
        return Err(DecodeError::invalid(
            field,
            "name between one and seven (source, amount) pairs",
        ));
    }
    let mut out = Amounts::ZERO;
    for item in list {
        let s = source(field, item.source)?;
        check_amount(field, item.amount_fen)?;
        if out.get(s) != 0 {
            return Err(DecodeError::invalid(
                field,
                "the same source is named twice",
            ));
        }
        out.set(s, item.amount_fen);
    }
    Ok(out)
}
