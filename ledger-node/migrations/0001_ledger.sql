-- Sunshine Ledger on PostgreSQL, schema version 1 (ledger-node/src/pg.rs applies it once, in a
-- transaction, under an advisory lock, and records it in ledger_schema).
--
-- One row per ledger: where its log ends and who may append to it. Every append is one
-- transaction that first moves this row from (next_sequence, last_hash) to the new end, and only
-- if the lease epoch and holder are the writer's and the lease has not expired by the
-- database's clock: a writer that lost its lease cannot append, even for one group.
CREATE TABLE ledger_heads (
    ledger_id     text PRIMARY KEY,
    next_sequence bigint NOT NULL CHECK (next_sequence >= 0),
    last_hash     bytea NOT NULL CHECK (length(last_hash) = 32),
    -- false while a node uploads an embedded log it already had: a head behind a node's own
    -- log is then an unfinished upload, not lost entries.
    seeded        boolean NOT NULL DEFAULT false,
    lease_epoch   bigint NOT NULL DEFAULT 0,
    lease_holder  text NOT NULL DEFAULT '',
    lease_expires timestamptz NOT NULL DEFAULT '-infinity'
);

-- The entries, as their canonical encoding (ledger_core::entry::Entry::encode) and blake3 hash.
-- Readers check both: the database is storage, not a source of trust.
CREATE TABLE ledger_entries (
    ledger_id text NOT NULL REFERENCES ledger_heads (ledger_id),
    sequence  bigint NOT NULL CHECK (sequence >= 0),
    hash      bytea NOT NULL CHECK (length(hash) = 32),
    entry     bytea NOT NULL,
    -- the lease epoch of the writer that appended it (for the operator's forensics)
    epoch     bigint NOT NULL,
    PRIMARY KEY (ledger_id, sequence)
);

-- Transaction id -> sequence: a transaction is in a ledger at most once, enforced here too.
CREATE TABLE ledger_tx_ids (
    ledger_id text NOT NULL REFERENCES ledger_heads (ledger_id),
    tx_id     bytea NOT NULL CHECK (length(tx_id) = 16),
    sequence  bigint NOT NULL,
    PRIMARY KEY (ledger_id, tx_id)
);

-- The latest checkpoint the writer signed, written in the same transaction as its entries.
CREATE TABLE ledger_checkpoints (
    ledger_id  text PRIMARY KEY REFERENCES ledger_heads (ledger_id),
    tree_size  bigint NOT NULL,
    checkpoint text NOT NULL
);
