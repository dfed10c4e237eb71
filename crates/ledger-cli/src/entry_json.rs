//! One entry as structured JSON, for `ledger entries --json` and `ledger watch --json`: the
//! kind's own fields with amounts per source in integer fen, accounts, project, payee and the
//! transactions it names, so a dashboard never parses the human summary.

use ledger_core::state::Amounts;
use ledger_core::tx::{Kind, NewAccountKind, Transaction};
use ledger_core::Hash;
use serde_json::{json, Map, Value};

fn amounts(a: &Amounts) -> Value {
    a.iter()
        .map(|(source, fen)| json!({"source": source.slug(), "fen": fen}))
        .collect()
}

fn hash(h: &Option<Hash>) -> Value {
    h.as_ref()
        .map_or(Value::Null, |h| Value::String(hex::encode(h)))
}

/// The kind-specific fields of `tx` (every kind listed: a new one fails to compile here).
pub fn fields(tx: &Transaction) -> Map<String, Value> {
    let v = match &tx.kind {
        Kind::Genesis {
            ledger_name,
            admin_keys,
            witness_quorum,
            witnesses,
            ..
        } => json!({"ledger_name": ledger_name, "admin_keys": admin_keys.len(),
                    "witnesses": witnesses.len(), "witness_quorum": witness_quorum}),
        Kind::CheckpointKeyRotated { new_key, reason } => {
            json!({"new_key": hex::encode(new_key.as_bytes()), "reason": reason})
        }
        Kind::PolicyChanged { policy, reason } => json!({
            "approval_threshold_fen": policy.approval_threshold_fen,
            "approval_window_days": policy.approval_window_days,
            "approver_quorum": policy.approver_quorum, "admin_quorum": policy.admin_quorum,
            "reserve_ratio_bp": policy.reserve_ratio_bp, "notice_days": policy.notice_days,
            "objection_response_days": policy.objection_response_days, "reason": reason}),
        Kind::KeyRegistered(k) => json!({"key": k.key_id.fingerprint(),
            "public_key": hex::encode(k.public_key.as_bytes()), "role": k.role.name(), "name": k.name}),
        Kind::KeyRevoked { key_id, reason } => {
            json!({"key": key_id.fingerprint(), "reason": reason})
        }
        Kind::AccountOpened {
            account_id,
            kind,
            name,
        } => match kind {
            NewAccountKind::FundPool(s) => {
                json!({"account": account_id, "account_kind": "fund_pool", "source": s.slug(), "name": name})
            }
            NewAccountKind::Payee => {
                json!({"account": account_id, "account_kind": "payee", "name": name})
            }
        },
        Kind::ProjectCreated {
            project_id,
            name,
            description,
            budget,
        } => json!({"project": project_id, "name": name, "description": description,
                    "budget": amounts(budget)}),
        Kind::FundsReceived {
            source,
            to_account,
            amount,
            contributor_commitment,
            memo,
            document_hash,
        } => json!({"amounts": [{"source": source.slug(), "fen": amount}], "to": to_account,
                    "contributor_commitment": hash(contributor_commitment), "memo": memo,
                    "document_hash": hash(document_hash)}),
        Kind::FundsAllocated {
            from_account,
            project_id,
            amounts: a,
            memo,
        } => {
            json!({"from": from_account, "project": project_id, "amounts": amounts(a), "memo": memo})
        }
        Kind::DisbursementProposed {
            project_id,
            payee_account,
            amounts: a,
            contract_hash,
            invoice_hash,
            memo,
        } => json!({"project": project_id, "payee": payee_account, "amounts": amounts(a),
                    "contract_hash": hex::encode(contract_hash), "invoice_hash": hash(invoice_hash),
                    "memo": memo}),
        Kind::DisbursementApproved { proposal } | Kind::DisbursementExecuted { proposal } => {
            json!({"proposal_tx_id": proposal.to_string()})
        }
        Kind::DisbursementRejected { proposal, reason }
        | Kind::DisbursementVoided { proposal, reason } => {
            json!({"proposal_tx_id": proposal.to_string(), "reason": reason})
        }
        Kind::EntryReversed { target, reason } => {
            json!({"target_tx_id": target.to_string(), "reason": reason})
        }
        Kind::EntryAnnotated {
            target,
            note,
            document_hash,
        } => json!({"target_tx_id": target.to_string(), "note": note,
                    "document_hash": hash(document_hash)}),
        Kind::ObjectionFiled {
            proposal,
            text,
            document_hash,
        } => json!({"proposal_tx_id": proposal.to_string(), "text": text,
                    "document_hash": hash(document_hash)}),
        Kind::ObjectionAnswered {
            objection,
            text,
            document_hashes,
        } => json!({"objection_tx_id": objection.to_string(), "text": text,
                    "document_hashes": document_hashes.iter().map(hex::encode).collect::<Vec<_>>()}),
        Kind::ObjectionResolved {
            objection,
            upheld,
            reason,
        } => json!({"objection_tx_id": objection.to_string(), "upheld": upheld, "reason": reason}),
        Kind::ProjectCompleted {
            project_id,
            memo,
            document_hash,
        } => json!({"project": project_id, "memo": memo, "document_hash": hash(document_hash)}),
        Kind::ProjectEvaluated {
            project_id,
            satisfied,
            comment,
            report_hash,
        } => json!({"project": project_id, "satisfied": satisfied, "comment": comment,
                    "report_hash": hash(report_hash)}),
        Kind::ProjectAccepted { project_id, memo } | Kind::ProjectClosed { project_id, memo } => {
            json!({"project": project_id, "memo": memo})
        }
    };
    match v {
        Value::Object(map) => map,
        _ => unreachable!("every arm builds an object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::build;
    use ledger_core::proto;
    use ledger_core::state::FundSource;

    #[test]
    fn a_disbursement_carries_its_payee_project_and_fen_per_source() {
        let kind =
            proto::transaction_body::Kind::DisbursementProposed(proto::DisbursementProposed {
                project_id: "elevator".into(),
                payee_account: "payee:elevator-co".into(),
                amounts: build::source_amounts(&[
                    (FundSource::Fiscal, 30_000_000),
                    (FundSource::Resident, 5_000),
                ]),
                contract_hash: vec![7; 32],
                invoice_hash: vec![],
                memo: "第一期".into(),
            });
        let body = build::body("t.example/l", [1; 16], 1_700_000_000_000, kind);
        let tx = Transaction::decode(&body).unwrap();
        let v = Value::Object(fields(&tx));
        assert_eq!(v["payee"], "payee:elevator-co");
        assert_eq!(v["project"], "elevator");
        assert_eq!(
            v["amounts"],
            json!([{"source": "fiscal", "fen": 30_000_000u64}, {"source": "resident", "fen": 5_000u64}])
        );
        assert_eq!(v["contract_hash"], hex::encode([7u8; 32]));
        assert_eq!(v["invoice_hash"], Value::Null);
    }
}
