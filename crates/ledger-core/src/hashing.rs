//! Domain-separated blake3. Every hash the protocol defines uses blake3's own `derive_key`
//! mode with a context string naming what is hashed, so a hash of one kind can never be
//! mistaken for a hash of another. The Merkle tree is the exception: it keeps RFC 6962's
//! one-byte prefixes (see [`crate::merkle`]) so that its proofs read as the RFC's.

use crate::Hash;

/// Context for [`crate::entry::Entry::hash`].
pub const ENTRY_CONTEXT: &str = "sunshine-ledger v1 entry";
/// Context for [`crate::signing::KeyId::of`].
pub const KEY_ID_CONTEXT: &str = "sunshine-ledger v1 key id";
/// Context for [`contributor_commitment`].
pub const CONTRIBUTOR_CONTEXT: &str = "sunshine-ledger v1 contributor commitment";
/// Context for [`body_hash`], the idempotency fingerprint of a transaction body.
pub const BODY_CONTEXT: &str = "sunshine-ledger v1 transaction body";
/// Context for document hashes (contracts, invoices) computed by tools.
pub const DOCUMENT_CONTEXT: &str = "sunshine-ledger v1 document";

/// blake3 `derive_key(context, parts concatenated)`.
pub fn derive(context: &str, parts: &[&[u8]]) -> Hash {
    let mut hasher = blake3::Hasher::new_derive_key(context);
    for part in parts {
        hasher.update(part);
    }
    *hasher.finalize().as_bytes()
}

/// Salted commitment to a contributor, so that the log says *that* someone paid without
/// saying *who*. The contributor keeps the 32-byte salt; showing salt and name later proves
/// the payment was theirs. A fresh random salt per payment keeps payments unlinkable.
pub fn contributor_commitment(salt: &[u8; 32], contributor: &str) -> Hash {
    derive(CONTRIBUTOR_CONTEXT, &[salt, contributor.as_bytes()])
}

/// Fingerprint of a transaction body's exact bytes: a transaction id seen again with the same
/// fingerprint is the same transaction, with another it is a conflict.
pub fn body_hash(body: &[u8]) -> Hash {
    derive(BODY_CONTEXT, &[body])
}

/// Hash of a document (contract, invoice) as tools record it in a transaction.
pub fn document_hash(document: &[u8]) -> Hash {
    derive(DOCUMENT_CONTEXT, &[document])
}
