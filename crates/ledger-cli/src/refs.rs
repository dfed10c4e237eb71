//! Naming a transaction: by its id (32 hex digits) or by its entry number, as `ledger entries`
//! shows both. An entry number is turned into the id of the transaction at that entry, read
//! from the node, before anything is built or signed; what is signed is always the id.

use ledger_client::LedgerClient;
use ledger_core::proto as pb;
use prost::Message;

use crate::{DisburseCmd, Failure, TxKind};

/// Whether `text` is an entry number rather than a transaction id.
fn entry_number(text: &str) -> Option<u64> {
    let t = text.trim().trim_start_matches('#');
    (t.len() < 20 && !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
}

/// Every place `kind` names a transaction (every variant listed, so a new one is not missed).
fn refs_mut(kind: &mut TxKind) -> Vec<&mut String> {
    match kind {
        TxKind::Reverse { target, .. } | TxKind::Annotate { target, .. } => vec![target],
        TxKind::Object { disbursement, .. } => vec![disbursement],
        TxKind::Answer { objection, .. } | TxKind::Resolve { objection, .. } => vec![objection],
        TxKind::Disburse(d) => match d {
            DisburseCmd::Approve { proposal }
            | DisburseCmd::Reject { proposal, .. }
            | DisburseCmd::Execute { proposal }
            | DisburseCmd::Void { proposal, .. } => vec![proposal],
            DisburseCmd::Propose { .. } => vec![],
        },
        TxKind::Key(_)
        | TxKind::Account(_)
        | TxKind::Project(_)
        | TxKind::Receipt(_)
        | TxKind::Allocate { .. }
        | TxKind::Policy(_) => vec![],
    }
}

/// Whether `kind` names any transaction by its entry number (and so needs the node).
pub fn names_entries(kind: &mut TxKind) -> bool {
    refs_mut(kind)
        .into_iter()
        .any(|r| entry_number(r).is_some())
}

/// Replaces every entry number in `kind` by the id of the transaction at that entry. The node
/// answers which transaction that is, so what it said is shown (on stderr) before anything is
/// signed: the signature covers the id, and the person sees what the id is.
pub async fn resolve(kind: &mut TxKind, client: &mut LedgerClient) -> Result<(), Failure> {
    for text in refs_mut(kind) {
        if let Some(number) = entry_number(text) {
            let (id, summary) = transaction_at(client, number).await?;
            eprintln!(
                "第 {number} 条 entry {number} = 交易号 tx {id}: {}",
                ledger_term::printable(&summary)
            );
            *text = id;
        }
    }
    Ok(())
}

/// The transaction id (hex) of entry `number`.
pub async fn tx_id_at(client: &mut LedgerClient, number: u64) -> Result<String, Failure> {
    Ok(transaction_at(client, number).await?.0)
}

/// The transaction id (hex) of entry `number`, and what the transaction does.
async fn transaction_at(
    client: &mut LedgerClient,
    number: u64,
) -> Result<(String, String), Failure> {
    let entry = client.entry(number).await.map_err(|e| match e {
        ledger_client::ClientError::Rejected { .. } | ledger_client::ClientError::Status(_) => {
            Failure::Local(anyhow::anyhow!(
                "账本中没有第 {number} 条 / there is no entry {number} in the ledger ({e})"
            ))
        }
        other => Failure::from(other),
    })?;
    let tx = pb::SignedEnvelope::decode(entry.envelope.as_slice())
        .ok()
        .and_then(|env| ledger_core::tx::Transaction::decode(&env.body).ok())
        .ok_or_else(|| {
            Failure::Node(format!(
                "the node sent entry {number} undecodable; it is not a correct node"
            ))
        })?;
    Ok((tx.tx_id.to_string(), ledger_client::describe::describe(&tx)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_entries_and_hex_ids_are_ids() {
        assert_eq!(entry_number("20"), Some(20));
        assert_eq!(entry_number("#7"), Some(7));
        assert_eq!(entry_number("0"), Some(0));
        // An id is 32 hex digits, even when they are all decimal digits.
        assert_eq!(entry_number("12345678901234567890123456789012"), None);
        assert_eq!(entry_number("1a"), None);
        assert_eq!(entry_number(""), None);
    }
}
