//! The offline transaction file: what `ledger tx build` writes, `ledger tx sign` adds a
//! signature to (on another machine, even an air-gapped one), and `ledger tx submit` posts.
//!
//! JSON, so a person can read what they are about to sign:
//!
//! ```json
//! { "format": "sunshine-ledger-tx-v1", "ledger_id": "…", "tx_id": "hex", "kind": "funds_received",
//!   "summary": "receive 600,000.00 元 财政 into pool:fiscal (…)", "body": "base64",
//!   "signatures": [ { "key_id": "hex", "fingerprint": "3F2A-…", "signature": "base64" } ] }
//! ```

use anyhow::Context;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::SigningKey;
use ledger_core::proto as pb;
use ledger_core::signing::KeyId;
use ledger_core::tx::Transaction;
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "sunshine-ledger-tx-v1";

#[derive(Serialize, Deserialize)]
pub struct TxFile {
    pub format: String,
    pub ledger_id: String,
    pub tx_id: String,
    pub kind: String,
    pub summary: String,
    pub body: String,
    pub signatures: Vec<TxSignature>,
}

#[derive(Serialize, Deserialize)]
pub struct TxSignature {
    pub key_id: String,
    pub fingerprint: String,
    pub signature: String,
}

impl TxFile {
    pub fn new(body: Vec<u8>) -> anyhow::Result<TxFile> {
        let tx = Transaction::decode(&body)
            .map_err(|r| anyhow::anyhow!("the transaction is invalid: {r}"))?;
        Ok(TxFile {
            format: FORMAT.into(),
            ledger_id: tx.ledger_id.clone(),
            tx_id: tx.tx_id.to_string(),
            kind: tx.kind.name().into(),
            summary: ledger_client::describe::describe(&tx),
            body: BASE64.encode(&body),
            signatures: vec![],
        })
    }

    pub fn parse(text: &str) -> anyhow::Result<TxFile> {
        let file: TxFile =
            serde_json::from_str(text).context("not a Sunshine Ledger transaction file (JSON)")?;
        anyhow::ensure!(
            file.format == FORMAT,
            "unknown transaction file format {:?}; expected {FORMAT}",
            file.format
        );
        // The summary is for people; what counts is the body, so check they agree.
        let tx = Transaction::decode(&file.body()?)
            .map_err(|r| anyhow::anyhow!("the transaction in the file is invalid: {r}"))?;
        anyhow::ensure!(
            ledger_client::describe::describe(&tx) == file.summary
                && tx.ledger_id == file.ledger_id
                && tx.tx_id.to_string() == file.tx_id
                && tx.kind.name() == file.kind,
            "文件的摘要、账本、交易号或类型与签名内容不符：文件被改动过，请不要签名 / the file's summary, ledger, id or kind does not match its body: it was edited; do not sign it"
        );
        Ok(file)
    }

    pub fn body(&self) -> anyhow::Result<Vec<u8>> {
        BASE64.decode(&self.body).context("the body is not base64")
    }

    /// Adds a signature, refusing to sign twice with one key.
    pub fn sign(&mut self, key: &SigningKey) -> anyhow::Result<()> {
        let id = KeyId::of(&key.verifying_key());
        anyhow::ensure!(
            !self
                .signatures
                .iter()
                .any(|s| s.key_id == hex::encode(id.0)),
            "key {} already signed this transaction",
            id.fingerprint()
        );
        let sig = ledger_core::build::signature(&self.body()?, key);
        self.signatures.push(TxSignature {
            key_id: hex::encode(&sig.key_id),
            fingerprint: id.fingerprint(),
            signature: BASE64.encode(&sig.signature),
        });
        Ok(())
    }

    pub fn envelope(&self) -> anyhow::Result<pb::SignedEnvelope> {
        let signatures = self
            .signatures
            .iter()
            .map(|s| {
                Ok(pb::Signature {
                    key_id: hex::decode(&s.key_id).context("key_id is hex")?,
                    signature: BASE64.decode(&s.signature).context("signature is base64")?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(
            !signatures.is_empty(),
            "the transaction is not signed yet: run `ledger tx sign --key KEY FILE`"
        );
        Ok(pb::SignedEnvelope {
            body: self.body()?,
            signatures,
        })
    }
}
