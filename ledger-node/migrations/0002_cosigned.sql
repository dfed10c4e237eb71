-- Sunshine Ledger on PostgreSQL, schema version 2: the latest checkpoint that reached the
-- genesis's witness quorum, with its cosignatures, so a node that takes over serves it at once.
-- Every node checks it (signature, quorum, root against its own copy) before it serves it: the
-- database is storage, not a source of trust.
CREATE TABLE ledger_cosigned (
    ledger_id  text PRIMARY KEY REFERENCES ledger_heads (ledger_id),
    tree_size  bigint NOT NULL,
    checkpoint text NOT NULL
);
