//! Making transactions: the body bytes and the signed envelope. Used by the client, the node's
//! demo ledger, benchmarks and tests, so everyone builds envelopes the same way.
//!
//! Pure: the caller chooses the transaction id and the timestamp.

use ed25519_dalek::SigningKey;
use prost::Message;

use crate::proto::{self, transaction_body::Kind};
use crate::signing::{sign_body, KeyId};
use crate::types::{Amounts, FundSource, Role};

/// Serializes a transaction body.
pub fn body(ledger_id: &str, tx_id: [u8; 16], timestamp_ms: i64, kind: Kind) -> Vec<u8> {
    proto::TransactionBody {
        ledger_id: ledger_id.to_string(),
        tx_id: tx_id.to_vec(),
        timestamp_ms,
        kind: Some(kind),
    }
    .encode_to_vec()
}

/// Signs `body` with every key, in order.
pub fn envelope(body: Vec<u8>, keys: &[&SigningKey]) -> proto::SignedEnvelope {
    let signatures = keys.iter().map(|k| signature(&body, k)).collect();
    proto::SignedEnvelope { body, signatures }
}

/// One signature, for adding to an envelope signed elsewhere (offline co-signing).
pub fn signature(body: &[u8], key: &SigningKey) -> proto::Signature {
    proto::Signature {
        key_id: KeyId::of(&key.verifying_key()).0.to_vec(),
        signature: sign_body(key, body).to_vec(),
    }
}

pub fn public_key(key: &SigningKey, role: Role, name: &str) -> proto::PublicKey {
    proto::PublicKey {
        ed25519: key.verifying_key().to_bytes().to_vec(),
        role: role.to_proto() as i32,
        name: name.to_string(),
    }
}

pub fn source_amounts(amounts: &[(FundSource, u64)]) -> Vec<proto::SourceAmount> {
    amounts
        .iter()
        .map(|(s, fen)| proto::SourceAmount {
            source: s.to_proto() as i32,
            amount_fen: *fen,
        })
        .collect()
}

pub fn amounts(amounts: &[(FundSource, u64)]) -> Amounts {
    let mut out = Amounts::ZERO;
    for (s, fen) in amounts {
        out.set(*s, *fen);
    }
    out
}
