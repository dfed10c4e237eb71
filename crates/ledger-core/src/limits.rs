//! Every size the ledger accepts has an explicit bound, so no input can make the node or the
//! verifier allocate without limit. The node's gRPC limits are derived from these.

/// Largest serialized `TransactionBody` accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Largest serialized `SignedEnvelope` accepted (body plus signatures plus framing).
pub const MAX_ENVELOPE_BYTES: usize = MAX_BODY_BYTES + MAX_SIGNATURES * 128;
/// Signatures on one envelope (multi-party approvals travel as several signatures).
pub const MAX_SIGNATURES: usize = 16;
/// Admin keys named in the genesis transaction.
pub const MAX_GENESIS_KEYS: usize = 16;
/// Identifiers: ledger ids, account ids, project ids.
pub const MAX_ID_BYTES: usize = 64;
/// Names of ledgers, accounts, projects and key holders.
pub const MAX_NAME_BYTES: usize = 256;
/// Memos, reasons, descriptions and notes.
pub const MAX_TEXT_BYTES: usize = 2048;
/// A client timestamp may be at most this far ahead of the node's clock.
pub const MAX_CLOCK_SKEW_MS: i64 = 5 * 60 * 1000;
/// A client timestamp may be at most this old when the node sequences it. Long enough for a
/// disbursement to be signed offline by several approvers on different machines.
pub const MAX_TX_AGE_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// The longest approval window: a year (and a day).
pub const MAX_APPROVAL_WINDOW_DAYS: u32 = 366;
/// The largest ratio of a receipt that can go to the risk reserve, in basis points.
/// Longest public-notice period (公示) and objection response time a policy may set, in days.
pub const MAX_NOTICE_DAYS: u32 = 90;
pub const MAX_RESPONSE_DAYS: u32 = 90;
/// Undecided objections one disbursement may have at once: each needs an answer and a decision,
/// so keys registered only to object cannot bury a disbursement (and the office) in them.
pub const MAX_UNRESOLVED_OBJECTIONS: usize = 32;
/// Documents an answer to an objection may name.
pub const MAX_ANSWER_DOCUMENTS: usize = 8;
pub const MAX_RESERVE_RATIO_BP: u32 = 5_000;
/// Lines of a checkpoint note and its signatures.
pub const MAX_CHECKPOINT_BYTES: usize = 8 * 1024;
/// Witnesses named by a genesis. With the node's signature they stay well inside
/// `MAX_CHECKPOINT_SIGNATURES`, leaving room for lines of witnesses a resident chose.
pub const MAX_WITNESSES: usize = 8;
/// Signature lines on one checkpoint.
pub const MAX_CHECKPOINT_SIGNATURES: usize = 16;
/// Most entries in one group commit (one write, one sync). Bounds how long a torn tail can be:
/// the log's open refuses as corruption any damaged tail longer than one group.
pub const MAX_GROUP_ENTRIES: usize = 16_384;
/// The largest single amount a transaction may name, in fen: 1,000,000,000,000.00 yuan (one
/// trillion). Larger amounts are refused on input (INVALID_FIELD), by the node and by `ledger`.
pub const MAX_AMOUNT_FEN: u64 = 100_000_000_000_000;
/// The largest total the ledger keeps for one source (a balance, a hold, money received, a
/// project's budget, allocation or spending), in fen: 100 trillion yuan. A transaction that
/// would take any total above it is refused (AMOUNT_OVERFLOW). Seven sources' totals, and any
/// three figures of a project added together, stay far below `u64::MAX`.
pub const MAX_TOTAL_FEN: u64 = 10_000_000_000_000_000;
