//! Every way a transaction can be refused: a stable reason code for machines, a gRPC status
//! class, and a message a person can act on.

use crate::amount::format_yuan;
pub use crate::decode_error::{DecodeError, SignatureError};

/// The gRPC status a rejection maps to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    InvalidArgument,
    Unauthenticated,
    PermissionDenied,
    FailedPrecondition,
    AlreadyExists,
    /// Nothing is wrong with the transaction: the node could not read what the rules need.
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The bytes are not a well-formed transaction (no state needed to tell).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A signature does not verify by the key its id names, or names no known key.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("key {key} was revoked at entry {revoked_at} and can sign nothing after it")]
    KeyRevoked { key: String, revoked_at: u64 },
    #[error("{kind} must be signed by a key with role {needed}; the signers hold {held}")]
    RoleNotAllowed {
        kind: &'static str,
        needed: &'static str,
        held: String,
    },
    #[error("{kind} needs {needed} distinct {role} signatures, it has {got}")]
    QuorumNotMet {
        kind: &'static str,
        role: &'static str,
        needed: u32,
        got: u32,
    },
    #[error("key {key} signed the proposal and cannot approve or reject it: another residents' representative must")]
    SelfApproval { key: String },
    #[error("this transaction is for ledger {found:?}, but this ledger is {expected:?}")]
    WrongLedger { expected: String, found: String },
    #[error("the transaction's timestamp {tx_ms} ms is too far from the ledger clock {entry_ms} ms (at most 5 minutes ahead or 30 days behind); check the signing computer's clock")]
    TimestampOutOfRange { tx_ms: i64, entry_ms: i64 },
    #[error("transaction id {tx_id} was already used, at entry {sequence}, for a different transaction; choose a new id")]
    TxIdConflict { tx_id: String, sequence: u64 },
    #[error("transaction {tx_id} is already in the ledger at entry {sequence}")]
    Duplicate { tx_id: String, sequence: u64 },
    #[error("the ledger has no genesis yet: the first transaction must be genesis")]
    NoGenesis,
    #[error("genesis can only be the first entry; this ledger already has one")]
    GenesisNotFirst,
    #[error("key {key} is already registered")]
    KeyExists { key: String },
    #[error("key {key} has already been this ledger's checkpoint key; a rotation needs a new key (`ledger-node keygen`)")]
    CheckpointKeyReused { key: String },
    #[error("key {key} is not registered, so it cannot be revoked")]
    NoSuchKey { key: String },
    #[error("key {key} is already revoked")]
    AlreadyRevoked { key: String },
    #[error("revoking key {key} would leave fewer active {role} keys than the {role} quorum of {quorum}; register another {role} first")]
    WouldLockOut {
        key: String,
        role: &'static str,
        quorum: u32,
    },
    #[error("account or project id {id:?} is already taken")]
    AccountExists { id: String },
    #[error("there is no account {id:?}; open it first")]
    UnknownAccount { id: String },
    #[error("account {id:?} is a {found} account, but this needs {needed}")]
    WrongAccount {
        id: String,
        found: &'static str,
        needed: String,
    },
    #[error("there is no project {id:?}")]
    UnknownProject { id: String },
    #[error("account {account:?} has {available} yuan of {source_name} available, {requested} yuan is needed")]
    InsufficientFunds {
        account: String,
        source_name: &'static str,
        available: String,
        requested: String,
    },
    #[error("project {project:?} has a {source_name} budget of {budget} yuan with {allocated} yuan allocated; {requested} yuan more is over budget")]
    OverBudget {
        project: String,
        source_name: &'static str,
        budget: String,
        allocated: String,
        requested: String,
    },
    #[error("the amounts add up to more than the ledger can count")]
    AmountOverflow,
    /// The rules could not read the transaction index (an I/O failure on the node): refused,
    /// never guessed, so a duplicate cannot slip through; the same bytes may be sent again.
    #[error("{0}; nothing was written, send the same transaction again later")]
    HistoryUnavailable(#[from] crate::state::HistoryError),
    #[error("there is no transaction {tx_id} in this ledger")]
    UnknownTransaction { tx_id: String },
    #[error("transaction {tx_id} is not a disbursement proposal")]
    UnknownDisbursement { tx_id: String },
    #[error("disbursement {tx_id} is {state}, not pending")]
    NotPending { tx_id: String, state: &'static str },
    #[error("key {key} already approved disbursement {tx_id}")]
    AlreadyApproved { key: String, tx_id: String },
    #[error("{payee} received {} yuan without approval in the last {days} days; with this {} yuan it would reach the approval threshold of {} yuan: residents' representatives must approve disbursement {tx_id} (approvals at the quorum execute it)", format_yuan(*.paid), format_yuan(*.requested), format_yuan(*.threshold))]
    UnapprovedLimit {
        payee: String,
        days: u32,
        paid: u64,
        requested: u64,
        threshold: u64,
        tx_id: String,
    },
    #[error("disbursement {tx_id} is at or above the approval threshold: {needed} residents' representatives must approve it (it has {have}); then it is paid, after its public notice when the policy has one")]
    NeedsApproval {
        tx_id: String,
        have: u32,
        needed: u32,
    },
    #[error("a {kind} entry cannot be reversed{hint}")]
    NotReversible {
        kind: &'static str,
        hint: &'static str,
    },
    #[error("transaction {tx_id} was already reversed by {by}")]
    AlreadyReversed { tx_id: String, by: String },
    #[error("disbursement {tx_id} is on public notice (公示) for {} more; {what}", describe_ms(*.left_ms))]
    InNotice {
        tx_id: String,
        left_ms: i64,
        what: &'static str,
    },
    #[error("disbursement {tx_id} is not on public notice: objections are filed while an approved disbursement at or above the threshold is on notice")]
    NotInNotice { tx_id: String },
    #[error("disbursement {tx_id} has objection {objection} {state}: the finance office answers it and the residents' representatives decide it before the money can move")]
    ObjectionUnresolved {
        tx_id: String,
        objection: String,
        state: &'static str,
    },
    #[error("key {key} already has objection {objection} open against disbursement {tx_id}; add to it with a comment (`entry_annotated`)")]
    AlreadyObjected {
        key: String,
        tx_id: String,
        objection: String,
    },
    #[error("transaction {tx_id} is not an objection")]
    UnknownObjection { tx_id: String },
    #[error("objection {objection} is {state}; {needed}")]
    WrongObjectionState {
        objection: String,
        state: &'static str,
        needed: &'static str,
    },
    #[error("project {project:?} is {stage}; {needed}")]
    WrongProjectStage {
        project: String,
        stage: &'static str,
        needed: &'static str,
    },
    #[error("project {project:?} cannot be accepted yet: it needs an auditor's passing inspection and no failing one ({auditors_passed} passed, {auditors_failed} failed), and {needed} satisfied residents' representatives ({satisfied} so far)")]
    EvaluationIncomplete {
        project: String,
        auditors_passed: u32,
        auditors_failed: u32,
        satisfied: u32,
        needed: u32,
    },
    #[error("project {project:?} still has {count} pending disbursement(s); execute, void or reject them before closing it")]
    ProjectHasPending { project: String, count: usize },
}

/// "3 days 4 hours" style, for periods left.
fn describe_ms(ms: i64) -> String {
    let hour = 60 * 60 * 1000;
    let hours = (ms.max(0) + hour - 1) / hour;
    match (hours / 24, hours % 24) {
        (0, h) => format!("{h} hour(s)"),
        (d, 0) => format!("{d} day(s)"),
        (d, h) => format!("{d} day(s) {h} hour(s)"),
    }
}

/// Every reason code, for documentation and for the test that each one is exercised.
pub const ALL_REASONS: [&str; 50] = [
    "MALFORMED",
    "NON_CANONICAL",
    "TOO_LARGE",
    "TOO_MANY",
    "INVALID_FIELD",
    "NO_SIGNATURE",
    "DUPLICATE_SIGNER",
    "WEAK_KEY",
    "BAD_SIGNATURE",
    "UNKNOWN_KEY",
    "KEY_REVOKED",
    "ROLE_NOT_ALLOWED",
    "QUORUM_NOT_MET",
    "SELF_APPROVAL",
    "WRONG_LEDGER",
    "TIMESTAMP_OUT_OF_RANGE",
    "TX_ID_CONFLICT",
    "DUPLICATE",
    "NO_GENESIS",
    "GENESIS_NOT_FIRST",
    "KEY_EXISTS",
    "CHECKPOINT_KEY_REUSED",
    "NO_SUCH_KEY",
    "ALREADY_REVOKED",
    "WOULD_LOCK_OUT",
    "ACCOUNT_EXISTS",
    "UNKNOWN_ACCOUNT",
    "WRONG_ACCOUNT",
    "UNKNOWN_PROJECT",
    "INSUFFICIENT_FUNDS",
    "OVER_BUDGET",
    "AMOUNT_OVERFLOW",
    "UNKNOWN_TRANSACTION",
    "UNKNOWN_DISBURSEMENT",
    "NOT_PENDING",
    "ALREADY_APPROVED",
    "NEEDS_APPROVAL",
    "UNAPPROVED_LIMIT",
    "NOT_REVERSIBLE",
    "ALREADY_REVERSED",
    "IN_NOTICE",
    "NOT_IN_NOTICE",
    "OBJECTION_UNRESOLVED",
    "ALREADY_OBJECTED",
    "UNKNOWN_OBJECTION",
    "WRONG_OBJECTION_STATE",
    "WRONG_PROJECT_STAGE",
    "EVALUATION_INCOMPLETE",
    "PROJECT_HAS_PENDING",
    "STORAGE_UNAVAILABLE",
];

impl Rejection {
    pub fn invalid(field: &'static str, why: &str) -> Rejection {
        Rejection::Decode(DecodeError::invalid(field, why))
    }

    /// Stable machine-readable reason; listed in PROTOCOL.md. Never renamed.
    pub fn reason(&self) -> &'static str {
        use Rejection::*;
        match self {
            Decode(d) => d.reason(),
            Signature(s) => s.reason(),
            KeyRevoked { .. } => "KEY_REVOKED",
            RoleNotAllowed { .. } => "ROLE_NOT_ALLOWED",
            QuorumNotMet { .. } => "QUORUM_NOT_MET",
            SelfApproval { .. } => "SELF_APPROVAL",
            WrongLedger { .. } => "WRONG_LEDGER",
            TimestampOutOfRange { .. } => "TIMESTAMP_OUT_OF_RANGE",
            TxIdConflict { .. } => "TX_ID_CONFLICT",
            Duplicate { .. } => "DUPLICATE",
            NoGenesis => "NO_GENESIS",
            GenesisNotFirst => "GENESIS_NOT_FIRST",
            KeyExists { .. } => "KEY_EXISTS",
            CheckpointKeyReused { .. } => "CHECKPOINT_KEY_REUSED",
            NoSuchKey { .. } => "NO_SUCH_KEY",
            AlreadyRevoked { .. } => "ALREADY_REVOKED",
            WouldLockOut { .. } => "WOULD_LOCK_OUT",
            AccountExists { .. } => "ACCOUNT_EXISTS",
            UnknownAccount { .. } => "UNKNOWN_ACCOUNT",
            WrongAccount { .. } => "WRONG_ACCOUNT",
            UnknownProject { .. } => "UNKNOWN_PROJECT",
            InsufficientFunds { .. } => "INSUFFICIENT_FUNDS",
            OverBudget { .. } => "OVER_BUDGET",
            AmountOverflow => "AMOUNT_OVERFLOW",
            UnknownTransaction { .. } => "UNKNOWN_TRANSACTION",
            UnknownDisbursement { .. } => "UNKNOWN_DISBURSEMENT",
            NotPending { .. } => "NOT_PENDING",
            AlreadyApproved { .. } => "ALREADY_APPROVED",
            NeedsApproval { .. } => "NEEDS_APPROVAL",
            UnapprovedLimit { .. } => "UNAPPROVED_LIMIT",
            NotReversible { .. } => "NOT_REVERSIBLE",
            AlreadyReversed { .. } => "ALREADY_REVERSED",
            InNotice { .. } => "IN_NOTICE",
            NotInNotice { .. } => "NOT_IN_NOTICE",
            ObjectionUnresolved { .. } => "OBJECTION_UNRESOLVED",
            AlreadyObjected { .. } => "ALREADY_OBJECTED",
            UnknownObjection { .. } => "UNKNOWN_OBJECTION",
            WrongObjectionState { .. } => "WRONG_OBJECTION_STATE",
            WrongProjectStage { .. } => "WRONG_PROJECT_STAGE",
            EvaluationIncomplete { .. } => "EVALUATION_INCOMPLETE",
            ProjectHasPending { .. } => "PROJECT_HAS_PENDING",
            HistoryUnavailable(_) => "STORAGE_UNAVAILABLE",
        }
    }

    pub fn status(&self) -> StatusClass {
        use Rejection::*;
        match self {
            Decode(DecodeError::NoSignature) => StatusClass::Unauthenticated,
            Decode(_) | WrongLedger { .. } | TimestampOutOfRange { .. } => {
                StatusClass::InvalidArgument
            }
            Signature(SignatureError::BadSignature { .. }) => StatusClass::Unauthenticated,
            Signature(SignatureError::UnknownKey { .. })
            | KeyRevoked { .. }
            | RoleNotAllowed { .. }
            | QuorumNotMet { .. }
            | SelfApproval { .. } => StatusClass::PermissionDenied,
            TxIdConflict { .. } | Duplicate { .. } => StatusClass::AlreadyExists,
            HistoryUnavailable(_) => StatusClass::Unavailable,
            _ => StatusClass::FailedPrecondition,
        }
    }
}
