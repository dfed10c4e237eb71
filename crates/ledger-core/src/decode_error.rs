//! Why bytes are not a transaction: errors of decoding and of checking each field, told apart
//! from the rules' refusals (which need the ledger's state). `tx` returns these and knows
//! nothing of the rules; [`crate::rules::Rejection`] wraps them with their stable reasons.

/// The bytes or a field are not a well-formed transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the {what} could not be decoded: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("the {what} is not in its canonical protobuf encoding (a field repeated, out of order, an unknown field, or a default value written out), so two readers could decode different meanings; encode it again with a standard protobuf library")]
    NonCanonical { what: &'static str },
    #[error("the {what} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("{count} {what} is more than the limit of {limit}")]
    TooMany {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    #[error("field {field} is invalid: {why}")]
    Invalid { field: &'static str, why: String },
    #[error("the envelope is not signed: every transaction needs at least one signature")]
    NoSignature,
    #[error("key {key} signed the envelope twice")]
    DuplicateSigner { key: String },
    #[error(
        "the public key is a weak (small-order) point; generate a new key with `ledger keygen`"
    )]
    WeakKey,
}

impl DecodeError {
    pub fn invalid(field: &'static str, why: &str) -> DecodeError {
        DecodeError::Invalid {
            field,
            why: why.to_string(),
        }
    }

    /// Stable reason code (PROTOCOL.md §5.1), as listed in `rules::ALL_REASONS`.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Malformed { .. } => "MALFORMED",
            DecodeError::NonCanonical { .. } => "NON_CANONICAL",
            DecodeError::TooLarge { .. } => "TOO_LARGE",
            DecodeError::TooMany { .. } => "TOO_MANY",
            DecodeError::Invalid { .. } => "INVALID_FIELD",
            DecodeError::NoSignature => "NO_SIGNATURE",
            DecodeError::DuplicateSigner { .. } => "DUPLICATE_SIGNER",
            DecodeError::WeakKey => "WEAK_KEY",
        }
    }
}

/// A signature that does not verify, or names a key the ledger does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature by key {key} does not verify: the body was changed after signing, or it was signed by another key")]
    BadSignature { key: String },
    #[error("key {key} is not registered in this ledger; an admin must register it first")]
    UnknownKey { key: String },
}

impl SignatureError {
    pub fn reason(&self) -> &'static str {
        match self {
            SignatureError::BadSignature { .. } => "BAD_SIGNATURE",
            SignatureError::UnknownKey { .. } => "UNKNOWN_KEY",
        }
    }
}
