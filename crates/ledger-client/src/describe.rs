//! One line a person can read for any transaction, in yuan: for `ledger watch`, `ledger tx
//! sign` (so a signer sees what they sign) and dashboards.

use ledger_core::amount::format_yuan;
use ledger_core::state::Amounts;
use ledger_core::tx::{Kind, NewAccountKind, Transaction};

fn amounts(a: &Amounts) -> String {
    a.iter()
        .map(|(s, fen)| format!("{} 元 {}", format_yuan(fen), s.chinese_name()))
        .collect::<Vec<_>>()
        .join(" + ")
}

pub fn describe(tx: &Transaction) -> String {
    match &tx.kind {
        Kind::Genesis {
            ledger_name,
            admin_keys,
            ..
        } => format!(
            "genesis of {ledger_name:?} with {} admin keys",
            admin_keys.len()
        ),
        Kind::KeyRegistered(k) => format!(
            "register key {} ({}) for {:?}",
            k.key_id.fingerprint(),
            k.role.name(),
            k.name
        ),
        Kind::KeyRevoked { key_id, reason } => format!("revoke key {key_id} ({reason})"),
        Kind::AccountOpened {
            account_id,
            kind,
            name,
        } => match kind {
            NewAccountKind::FundPool(s) => format!(
                "open fund pool {account_id} for {} ({name})",
                s.chinese_name()
            ),
            NewAccountKind::Payee => format!("open payee {account_id} ({name})"),
        },
        Kind::ProjectCreated {
            project_id,
            name,
            budget,
            ..
        } => format!(
            "create project {project_id} {name:?}, budget {}",
            amounts(budget)
        ),
        Kind::FundsReceived {
            source,
            to_account,
            amount,
            memo,
            ..
        } => format!(
            "receive {} 元 {} into {to_account} ({memo})",
            format_yuan(*amount),
            source.chinese_name()
        ),
        Kind::FundsAllocated {
            from_account,
            project_id,
            amounts: a,
            ..
        } => format!(
            "allocate {} from {from_account} to project {project_id}",
            amounts(a)
        ),
        Kind::DisbursementProposed {
            project_id,
            payee_account,
            amounts: a,
            memo,
            ..
        } => format!(
            "propose paying {} from {project_id} to {payee_account} ({memo})",
            amounts(a)
        ),
        Kind::DisbursementApproved { proposal } => format!("approve disbursement {proposal}"),
        Kind::DisbursementRejected { proposal, reason } => {
            format!("reject disbursement {proposal} ({reason})")
        }
        Kind::DisbursementExecuted { proposal } => format!("execute disbursement {proposal}"),
        Kind::DisbursementVoided { proposal, reason } => {
            format!("void disbursement {proposal} ({reason})")
        }
        Kind::EntryReversed { target, reason } => {
            format!("reverse transaction {target} ({reason})")
        }
        Kind::EntryAnnotated { target, note, .. } => {
            format!("annotate transaction {target}: {note}")
        }
    }
}
