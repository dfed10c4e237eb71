// Generated from proto/ by `cargo run -p ledger-web --bin ledger-web-gen`. Do not edit:
// crates/ledger-web/tests/generated.rs fails when this file is out of date.
//
// Each message is a list of its fields: number, name, wire type, repeated, the full name
// of its message or enum type, and the oneof it belongs to. web/protobuf.js reads and
// writes messages from these tables.

// Source files: ledger/v1/ledger.proto, ledger/v1/transaction.proto

export const messages = {
  "ledger.v1.SubmitRequest": [
    { no: 1, name: "envelope", type: "message", repeated: false, ref: "ledger.v1.SignedEnvelope", oneof: null },
  ],
  "ledger.v1.Rejection": [
    { no: 1, name: "reason", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "message", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "code", type: "int32", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.TxReceipt": [
    { no: 1, name: "sequence", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 2, name: "entry_hash", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 3, name: "checkpoint", type: "string", repeated: false, ref: null, oneof: null },
    { no: 4, name: "inclusion_proof", type: "bytes", repeated: true, ref: null, oneof: null },
    { no: 5, name: "entry", type: "message", repeated: false, ref: "ledger.v1.Entry", oneof: null },
    { no: 6, name: "duplicate", type: "bool", repeated: false, ref: null, oneof: null },
    { no: 7, name: "genesis", type: "message", repeated: false, ref: "ledger.v1.Entry", oneof: null },
    { no: 8, name: "genesis_inclusion_proof", type: "bytes", repeated: true, ref: null, oneof: null },
  ],
  "ledger.v1.SubmitResponse": [
    { no: 1, name: "receipt", type: "message", repeated: false, ref: "ledger.v1.TxReceipt", oneof: null },
  ],
  "ledger.v1.SubmitResult": [
    { no: 1, name: "receipt", type: "message", repeated: false, ref: "ledger.v1.TxReceipt", oneof: "outcome" },
    { no: 2, name: "rejection", type: "message", repeated: false, ref: "ledger.v1.Rejection", oneof: "outcome" },
  ],
  "ledger.v1.SubmitBatchRequest": [
    { no: 1, name: "envelopes", type: "message", repeated: true, ref: "ledger.v1.SignedEnvelope", oneof: null },
  ],
  "ledger.v1.SubmitBatchResponse": [
    { no: 1, name: "results", type: "message", repeated: true, ref: "ledger.v1.SubmitResult", oneof: null },
  ],
  "ledger.v1.Entry": [
    { no: 1, name: "sequence", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 2, name: "prev_hash", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 3, name: "timestamp_ms", type: "int64", repeated: false, ref: null, oneof: null },
    { no: 4, name: "envelope", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 5, name: "entry_hash", type: "bytes", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.GetReceiptRequest": [
    { no: 1, name: "tx_id", type: "bytes", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.GetEntryRequest": [
    { no: 1, name: "sequence", type: "uint64", repeated: false, ref: null, oneof: "by" },
    { no: 2, name: "tx_id", type: "bytes", repeated: false, ref: null, oneof: "by" },
  ],
  "ledger.v1.ReadEntriesRequest": [
    { no: 1, name: "from_sequence", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 2, name: "limit", type: "uint64", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.GetCheckpointRequest": [
  ],
  "ledger.v1.Checkpoint": [
    { no: 1, name: "text", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "tree_size", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 3, name: "root_hash", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 4, name: "node_public_key", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 5, name: "node_key_fingerprint", type: "string", repeated: false, ref: null, oneof: null },
    { no: 6, name: "witnessed_text", type: "string", repeated: false, ref: null, oneof: null },
    { no: 7, name: "witness_quorum", type: "uint32", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.GetInclusionProofRequest": [
    { no: 1, name: "sequence", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 2, name: "tree_size", type: "uint64", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.InclusionProof": [
    { no: 1, name: "sequence", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 2, name: "tree_size", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 3, name: "leaf_hash", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 4, name: "hashes", type: "bytes", repeated: true, ref: null, oneof: null },
  ],
  "ledger.v1.GetConsistencyProofRequest": [
    { no: 1, name: "old_size", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 2, name: "new_size", type: "uint64", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.ConsistencyProof": [
    { no: 1, name: "old_size", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 2, name: "new_size", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 3, name: "hashes", type: "bytes", repeated: true, ref: null, oneof: null },
  ],
  "ledger.v1.GetBalancesRequest": [
    { no: 1, name: "as_of_tree_size", type: "uint64", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.AccountBalance": [
    { no: 1, name: "account_id", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "kind", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "name", type: "string", repeated: false, ref: null, oneof: null },
    { no: 4, name: "balance", type: "message", repeated: true, ref: "ledger.v1.SourceAmount", oneof: null },
    { no: 5, name: "held", type: "message", repeated: true, ref: "ledger.v1.SourceAmount", oneof: null },
  ],
  "ledger.v1.Balances": [
    { no: 1, name: "tree_size", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 2, name: "accounts", type: "message", repeated: true, ref: "ledger.v1.AccountBalance", oneof: null },
    { no: 3, name: "received", type: "message", repeated: true, ref: "ledger.v1.SourceAmount", oneof: null },
  ],
  "ledger.v1.ListProjectsRequest": [
  ],
  "ledger.v1.ProjectSourceFigures": [
    { no: 1, name: "source", type: "enum", repeated: false, ref: "ledger.v1.FundSource", oneof: null },
    { no: 2, name: "budget_fen", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 3, name: "allocated_fen", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 4, name: "spent_fen", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 5, name: "held_fen", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 6, name: "remaining_fen", type: "uint64", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.Project": [
    { no: 1, name: "project_id", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "name", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "description", type: "string", repeated: false, ref: null, oneof: null },
    { no: 4, name: "figures", type: "message", repeated: true, ref: "ledger.v1.ProjectSourceFigures", oneof: null },
    { no: 5, name: "stage", type: "string", repeated: false, ref: null, oneof: null },
    { no: 6, name: "evaluations", type: "message", repeated: true, ref: "ledger.v1.Evaluation", oneof: null },
    { no: 7, name: "returned", type: "message", repeated: true, ref: "ledger.v1.SourceAmount", oneof: null },
  ],
  "ledger.v1.Evaluation": [
    { no: 1, name: "key", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "role", type: "enum", repeated: false, ref: "ledger.v1.Role", oneof: null },
    { no: 3, name: "satisfied", type: "bool", repeated: false, ref: null, oneof: null },
    { no: 4, name: "comment", type: "string", repeated: false, ref: null, oneof: null },
    { no: 5, name: "report_hash", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 6, name: "at", type: "uint64", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.Projects": [
    { no: 1, name: "tree_size", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 2, name: "projects", type: "message", repeated: true, ref: "ledger.v1.Project", oneof: null },
  ],
  "ledger.v1.ListKeysRequest": [
  ],
  "ledger.v1.KeyInfo": [
    { no: 1, name: "key_id", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "fingerprint", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "public_key", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 4, name: "role", type: "enum", repeated: false, ref: "ledger.v1.Role", oneof: null },
    { no: 5, name: "name", type: "string", repeated: false, ref: null, oneof: null },
    { no: 6, name: "registered_at", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 7, name: "revoked", type: "bool", repeated: false, ref: null, oneof: null },
    { no: 8, name: "revoked_at", type: "uint64", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.Keys": [
    { no: 1, name: "keys", type: "message", repeated: true, ref: "ledger.v1.KeyInfo", oneof: null },
  ],
  "ledger.v1.ListDisbursementsRequest": [
  ],
  "ledger.v1.DisbursementInfo": [
    { no: 1, name: "proposal_tx_id", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "project_id", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "payee_account", type: "string", repeated: false, ref: null, oneof: null },
    { no: 4, name: "amounts", type: "message", repeated: true, ref: "ledger.v1.SourceAmount", oneof: null },
    { no: 5, name: "state", type: "string", repeated: false, ref: null, oneof: null },
    { no: 6, name: "approvals", type: "string", repeated: true, ref: null, oneof: null },
    { no: 7, name: "approvals_needed", type: "uint32", repeated: false, ref: null, oneof: null },
    { no: 8, name: "proposed_at", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 9, name: "memo", type: "string", repeated: false, ref: null, oneof: null },
    { no: 10, name: "notice_ends_ms", type: "int64", repeated: false, ref: null, oneof: null },
    { no: 11, name: "objections", type: "message", repeated: true, ref: "ledger.v1.ObjectionInfo", oneof: null },
    { no: 12, name: "ended_at", type: "uint64", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.ObjectionInfo": [
    { no: 1, name: "objection_tx_id", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "filed_by", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "filed_role", type: "enum", repeated: false, ref: "ledger.v1.Role", oneof: null },
    { no: 4, name: "filed_ms", type: "int64", repeated: false, ref: null, oneof: null },
    { no: 5, name: "text", type: "string", repeated: false, ref: null, oneof: null },
    { no: 6, name: "state", type: "string", repeated: false, ref: null, oneof: null },
    { no: 7, name: "response_due_ms", type: "int64", repeated: false, ref: null, oneof: null },
    { no: 8, name: "answer", type: "string", repeated: false, ref: null, oneof: null },
    { no: 9, name: "answered_ms", type: "int64", repeated: false, ref: null, oneof: null },
    { no: 10, name: "resolution_reason", type: "string", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.Disbursements": [
    { no: 1, name: "disbursements", type: "message", repeated: true, ref: "ledger.v1.DisbursementInfo", oneof: null },
  ],
  "ledger.v1.SubscribeRequest": [
    { no: 1, name: "start", type: "enum", repeated: false, ref: "ledger.v1.SubscribeRequest.Start", oneof: null },
    { no: 2, name: "from_sequence", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 3, name: "kinds", type: "string", repeated: true, ref: null, oneof: null },
    { no: 4, name: "accounts", type: "string", repeated: true, ref: null, oneof: null },
    { no: 5, name: "projects", type: "string", repeated: true, ref: null, oneof: null },
  ],
  "ledger.v1.CaughtUp": [
    { no: 1, name: "tree_size", type: "uint64", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.SubscribeEvent": [
    { no: 1, name: "entry", type: "message", repeated: false, ref: "ledger.v1.Entry", oneof: "event" },
    { no: 2, name: "checkpoint", type: "message", repeated: false, ref: "ledger.v1.Checkpoint", oneof: "event" },
    { no: 3, name: "caught_up", type: "message", repeated: false, ref: "ledger.v1.CaughtUp", oneof: "event" },
  ],
  "ledger.v1.ExportSnapshotRequest": [
  ],
  "ledger.v1.SnapshotChunk": [
    { no: 1, name: "data", type: "bytes", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.Signature": [
    { no: 1, name: "key_id", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "signature", type: "bytes", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.SignedEnvelope": [
    { no: 1, name: "body", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "signatures", type: "message", repeated: true, ref: "ledger.v1.Signature", oneof: null },
  ],
  "ledger.v1.SourceAmount": [
    { no: 1, name: "source", type: "enum", repeated: false, ref: "ledger.v1.FundSource", oneof: null },
    { no: 2, name: "amount_fen", type: "uint64", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.Policy": [
    { no: 1, name: "approval_threshold_fen", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 2, name: "approver_quorum", type: "uint32", repeated: false, ref: null, oneof: null },
    { no: 3, name: "admin_quorum", type: "uint32", repeated: false, ref: null, oneof: null },
    { no: 4, name: "reserve_ratio_bp", type: "uint32", repeated: false, ref: null, oneof: null },
    { no: 5, name: "approval_window_days", type: "uint32", repeated: false, ref: null, oneof: null },
    { no: 6, name: "notice_days", type: "uint32", repeated: false, ref: null, oneof: null },
    { no: 7, name: "objection_response_days", type: "uint32", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.PublicKey": [
    { no: 1, name: "ed25519", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "role", type: "enum", repeated: false, ref: "ledger.v1.Role", oneof: null },
    { no: 3, name: "name", type: "string", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.Genesis": [
    { no: 1, name: "ledger_name", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "currency", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "admin_keys", type: "message", repeated: true, ref: "ledger.v1.PublicKey", oneof: null },
    { no: 4, name: "policy", type: "message", repeated: false, ref: "ledger.v1.Policy", oneof: null },
    { no: 5, name: "checkpoint_key", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 6, name: "witnesses", type: "message", repeated: true, ref: "ledger.v1.Witness", oneof: null },
    { no: 7, name: "witness_quorum", type: "uint32", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.Witness": [
    { no: 1, name: "name", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "ed25519", type: "bytes", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.PolicyChanged": [
    { no: 1, name: "policy", type: "message", repeated: false, ref: "ledger.v1.Policy", oneof: null },
    { no: 2, name: "reason", type: "string", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.CheckpointKeyRotated": [
    { no: 1, name: "new_key", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "reason", type: "string", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.KeyRegistered": [
    { no: 1, name: "key", type: "message", repeated: false, ref: "ledger.v1.PublicKey", oneof: null },
  ],
  "ledger.v1.KeyRevoked": [
    { no: 1, name: "key_id", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "reason", type: "string", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.AccountOpened": [
    { no: 1, name: "account_id", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "kind", type: "enum", repeated: false, ref: "ledger.v1.AccountKind", oneof: null },
    { no: 3, name: "source", type: "enum", repeated: false, ref: "ledger.v1.FundSource", oneof: null },
    { no: 4, name: "name", type: "string", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.ProjectCreated": [
    { no: 1, name: "project_id", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "name", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "description", type: "string", repeated: false, ref: null, oneof: null },
    { no: 4, name: "budget", type: "message", repeated: true, ref: "ledger.v1.SourceAmount", oneof: null },
  ],
  "ledger.v1.FundsReceived": [
    { no: 1, name: "source", type: "enum", repeated: false, ref: "ledger.v1.FundSource", oneof: null },
    { no: 2, name: "to_account", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "amount_fen", type: "uint64", repeated: false, ref: null, oneof: null },
    { no: 4, name: "contributor_commitment", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 5, name: "memo", type: "string", repeated: false, ref: null, oneof: null },
    { no: 6, name: "document_hash", type: "bytes", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.FundsAllocated": [
    { no: 1, name: "from_account", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "project_id", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "amounts", type: "message", repeated: true, ref: "ledger.v1.SourceAmount", oneof: null },
    { no: 4, name: "memo", type: "string", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.DisbursementProposed": [
    { no: 1, name: "project_id", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "payee_account", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "amounts", type: "message", repeated: true, ref: "ledger.v1.SourceAmount", oneof: null },
    { no: 4, name: "contract_hash", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 5, name: "invoice_hash", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 6, name: "memo", type: "string", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.DisbursementApproved": [
    { no: 1, name: "proposal_tx_id", type: "bytes", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.DisbursementRejected": [
    { no: 1, name: "proposal_tx_id", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "reason", type: "string", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.DisbursementExecuted": [
    { no: 1, name: "proposal_tx_id", type: "bytes", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.DisbursementVoided": [
    { no: 1, name: "proposal_tx_id", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "reason", type: "string", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.EntryReversed": [
    { no: 1, name: "target_tx_id", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "reason", type: "string", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.EntryAnnotated": [
    { no: 1, name: "target_tx_id", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "note", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "document_hash", type: "bytes", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.ObjectionFiled": [
    { no: 1, name: "proposal_tx_id", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "text", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "document_hash", type: "bytes", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.ObjectionAnswered": [
    { no: 1, name: "objection_tx_id", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "text", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "document_hashes", type: "bytes", repeated: true, ref: null, oneof: null },
  ],
  "ledger.v1.ObjectionResolved": [
    { no: 1, name: "objection_tx_id", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 2, name: "upheld", type: "bool", repeated: false, ref: null, oneof: null },
    { no: 3, name: "reason", type: "string", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.ProjectCompleted": [
    { no: 1, name: "project_id", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "memo", type: "string", repeated: false, ref: null, oneof: null },
    { no: 3, name: "document_hash", type: "bytes", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.ProjectEvaluated": [
    { no: 1, name: "project_id", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "satisfied", type: "bool", repeated: false, ref: null, oneof: null },
    { no: 3, name: "comment", type: "string", repeated: false, ref: null, oneof: null },
    { no: 4, name: "report_hash", type: "bytes", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.ProjectAccepted": [
    { no: 1, name: "project_id", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "memo", type: "string", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.ProjectClosed": [
    { no: 1, name: "project_id", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "memo", type: "string", repeated: false, ref: null, oneof: null },
  ],
  "ledger.v1.TransactionBody": [
    { no: 1, name: "ledger_id", type: "string", repeated: false, ref: null, oneof: null },
    { no: 2, name: "tx_id", type: "bytes", repeated: false, ref: null, oneof: null },
    { no: 3, name: "timestamp_ms", type: "int64", repeated: false, ref: null, oneof: null },
    { no: 10, name: "genesis", type: "message", repeated: false, ref: "ledger.v1.Genesis", oneof: "kind" },
    { no: 11, name: "key_registered", type: "message", repeated: false, ref: "ledger.v1.KeyRegistered", oneof: "kind" },
    { no: 12, name: "key_revoked", type: "message", repeated: false, ref: "ledger.v1.KeyRevoked", oneof: "kind" },
    { no: 13, name: "account_opened", type: "message", repeated: false, ref: "ledger.v1.AccountOpened", oneof: "kind" },
    { no: 14, name: "project_created", type: "message", repeated: false, ref: "ledger.v1.ProjectCreated", oneof: "kind" },
    { no: 15, name: "funds_received", type: "message", repeated: false, ref: "ledger.v1.FundsReceived", oneof: "kind" },
    { no: 16, name: "funds_allocated", type: "message", repeated: false, ref: "ledger.v1.FundsAllocated", oneof: "kind" },
    { no: 17, name: "disbursement_proposed", type: "message", repeated: false, ref: "ledger.v1.DisbursementProposed", oneof: "kind" },
    { no: 18, name: "disbursement_approved", type: "message", repeated: false, ref: "ledger.v1.DisbursementApproved", oneof: "kind" },
    { no: 19, name: "disbursement_rejected", type: "message", repeated: false, ref: "ledger.v1.DisbursementRejected", oneof: "kind" },
    { no: 20, name: "disbursement_executed", type: "message", repeated: false, ref: "ledger.v1.DisbursementExecuted", oneof: "kind" },
    { no: 21, name: "disbursement_voided", type: "message", repeated: false, ref: "ledger.v1.DisbursementVoided", oneof: "kind" },
    { no: 22, name: "entry_reversed", type: "message", repeated: false, ref: "ledger.v1.EntryReversed", oneof: "kind" },
    { no: 23, name: "entry_annotated", type: "message", repeated: false, ref: "ledger.v1.EntryAnnotated", oneof: "kind" },
    { no: 24, name: "checkpoint_key_rotated", type: "message", repeated: false, ref: "ledger.v1.CheckpointKeyRotated", oneof: "kind" },
    { no: 25, name: "policy_changed", type: "message", repeated: false, ref: "ledger.v1.PolicyChanged", oneof: "kind" },
    { no: 26, name: "objection_filed", type: "message", repeated: false, ref: "ledger.v1.ObjectionFiled", oneof: "kind" },
    { no: 27, name: "objection_answered", type: "message", repeated: false, ref: "ledger.v1.ObjectionAnswered", oneof: "kind" },
    { no: 28, name: "objection_resolved", type: "message", repeated: false, ref: "ledger.v1.ObjectionResolved", oneof: "kind" },
    { no: 29, name: "project_completed", type: "message", repeated: false, ref: "ledger.v1.ProjectCompleted", oneof: "kind" },
    { no: 30, name: "project_evaluated", type: "message", repeated: false, ref: "ledger.v1.ProjectEvaluated", oneof: "kind" },
    { no: 31, name: "project_accepted", type: "message", repeated: false, ref: "ledger.v1.ProjectAccepted", oneof: "kind" },
    { no: 32, name: "project_closed", type: "message", repeated: false, ref: "ledger.v1.ProjectClosed", oneof: "kind" },
  ],
};

export const enums = {
  "ledger.v1.SubscribeRequest.Start": {
    0: "START_UNSPECIFIED",
    1: "START_FROM_SEQUENCE",
    2: "START_FROM_BEGINNING",
    3: "START_ONLY_NEW",
  },
  "ledger.v1.FundSource": {
    0: "FUND_SOURCE_UNSPECIFIED",
    1: "FUND_SOURCE_FISCAL",
    2: "FUND_SOURCE_SOCIAL_CAPITAL",
    3: "FUND_SOURCE_RESIDENT",
    4: "FUND_SOURCE_CROWDFUNDING",
    5: "FUND_SOURCE_DONATION",
    6: "FUND_SOURCE_LOAN",
    7: "FUND_SOURCE_OTHER",
  },
  "ledger.v1.Role": {
    0: "ROLE_UNSPECIFIED",
    1: "ROLE_ADMIN",
    2: "ROLE_FINANCE",
    3: "ROLE_APPROVER",
    4: "ROLE_AUDITOR",
    5: "ROLE_RESIDENT",
  },
  "ledger.v1.AccountKind": {
    0: "ACCOUNT_KIND_UNSPECIFIED",
    1: "ACCOUNT_KIND_FUND_POOL",
    2: "ACCOUNT_KIND_PAYEE",
  },
};

export const services = {
  "ledger.v1.Ledger": {
    Submit: { input: "ledger.v1.SubmitRequest", output: "ledger.v1.SubmitResponse", serverStreaming: false, clientStreaming: false },
    SubmitBatch: { input: "ledger.v1.SubmitBatchRequest", output: "ledger.v1.SubmitBatchResponse", serverStreaming: false, clientStreaming: false },
    GetEntry: { input: "ledger.v1.GetEntryRequest", output: "ledger.v1.Entry", serverStreaming: false, clientStreaming: false },
    GetReceipt: { input: "ledger.v1.GetReceiptRequest", output: "ledger.v1.TxReceipt", serverStreaming: false, clientStreaming: false },
    ReadEntries: { input: "ledger.v1.ReadEntriesRequest", output: "ledger.v1.Entry", serverStreaming: true, clientStreaming: false },
    GetCheckpoint: { input: "ledger.v1.GetCheckpointRequest", output: "ledger.v1.Checkpoint", serverStreaming: false, clientStreaming: false },
    GetInclusionProof: { input: "ledger.v1.GetInclusionProofRequest", output: "ledger.v1.InclusionProof", serverStreaming: false, clientStreaming: false },
    GetConsistencyProof: { input: "ledger.v1.GetConsistencyProofRequest", output: "ledger.v1.ConsistencyProof", serverStreaming: false, clientStreaming: false },
    GetBalances: { input: "ledger.v1.GetBalancesRequest", output: "ledger.v1.Balances", serverStreaming: false, clientStreaming: false },
    ListProjects: { input: "ledger.v1.ListProjectsRequest", output: "ledger.v1.Projects", serverStreaming: false, clientStreaming: false },
    ListKeys: { input: "ledger.v1.ListKeysRequest", output: "ledger.v1.Keys", serverStreaming: false, clientStreaming: false },
    ListDisbursements: { input: "ledger.v1.ListDisbursementsRequest", output: "ledger.v1.Disbursements", serverStreaming: false, clientStreaming: false },
    Subscribe: { input: "ledger.v1.SubscribeRequest", output: "ledger.v1.SubscribeEvent", serverStreaming: true, clientStreaming: false },
    ExportSnapshot: { input: "ledger.v1.ExportSnapshotRequest", output: "ledger.v1.SnapshotChunk", serverStreaming: true, clientStreaming: false },
  },
};
