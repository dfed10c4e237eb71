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
        Kind::PolicyChanged { policy, reason } => format!(
            "更改规则 change the policy: threshold {} 元 over {} days, {} approvers, {} admins, reserve {}.{:02}%, notice {} days, answers within {} days ({reason})",
            format_yuan(policy.approval_threshold_fen),
            policy.approval_window_days,
            policy.approver_quorum,
            policy.admin_quorum,
            policy.reserve_ratio_bp / 100,
            policy.reserve_ratio_bp % 100,
            policy.notice_days,
            policy.objection_response_days
        ),
        Kind::CheckpointKeyRotated { new_key, reason } => format!(
            "更换节点签名密钥 replace the node's checkpoint key with {} ({reason})",
            ledger_core::signing::KeyId::of(new_key).fingerprint()
        ),
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
        Kind::ObjectionFiled { proposal, text, .. } => {
            format!("提出异议 object to disbursement {proposal}: {text}")
        }
        Kind::ObjectionAnswered {
            objection, text, ..
        } => format!("答复异议 answer objection {objection}: {text}"),
        Kind::ObjectionResolved {
            objection,
            upheld,
            reason,
        } => format!(
            "{} objection {objection} ({reason})",
            if *upheld {
                "异议成立 uphold"
            } else {
                "驳回异议 dismiss"
            }
        ),
        Kind::ProjectCompleted { project_id, memo, .. } => {
            format!("项目竣工 complete project {project_id} ({memo})")
        }
        Kind::ProjectEvaluated {
            project_id,
            satisfied,
            comment,
            ..
        } => format!(
            "评价项目 evaluate project {project_id}: {} ({comment})",
            if *satisfied {
                "满意/合格 satisfied"
            } else {
                "不满意/不合格 not satisfied"
            }
        ),
        Kind::ProjectAccepted { project_id, memo } => {
            format!("项目验收 accept project {project_id} ({memo})")
        }
        Kind::ProjectClosed { project_id, memo } => format!(
            "项目结项 close project {project_id}, remainder back to its pools ({memo})"
        ),
    }
}

fn hash_hex(h: &ledger_core::Hash) -> String {
    hex::encode(h)
}

fn optional(h: &Option<ledger_core::Hash>) -> String {
    h.as_ref().map(hash_hex).unwrap_or_else(|| "—".into())
}

fn amount_list(a: &Amounts) -> String {
    a.iter()
        .map(|(s, fen)| format!("{} {} 元 ({fen} fen)", s.slug(), format_yuan(fen)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every field of a transaction, labelled, for a person about to sign it: all of what the
/// signed bytes say (ledger, id, time, kind and each field, hashes in full), derived from the
/// decoded body alone. Values are raw: print them with `ledger_term::printable`.
pub fn fields(tx: &Transaction) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("ledger 账本", tx.ledger_id.clone()),
        ("tx id 交易号", tx.tx_id.to_string()),
        ("time 时间 (ms since 1970 UTC)", tx.timestamp_ms.to_string()),
        ("kind 类型", tx.kind.name().to_string()),
    ];
    let mut add = |label: &'static str, value: String| out.push((label, value));
    match &tx.kind {
        Kind::Genesis {
            ledger_name,
            currency,
            admin_keys,
            policy,
            checkpoint_key,
            witnesses,
            witness_quorum,
        } => {
            add("ledger name", ledger_name.clone());
            add("checkpoint key", hex::encode(checkpoint_key.as_bytes()));
            for w in witnesses {
                add("witness 见证方", ledger_core::checkpoint::witness_vkey(w));
            }
            add("witness quorum 见证法定数", witness_quorum.to_string());
            add("currency", currency.clone());
            for k in admin_keys {
                add(
                    "admin key",
                    format!("{} {:?}", k.key_id.fingerprint(), k.name),
                );
            }
            add("policy", format!("{policy:?}"));
        }
        Kind::KeyRegistered(k) => {
            add("key fingerprint", k.key_id.fingerprint());
            add("public key", hex::encode(k.public_key.as_bytes()));
            add("role", k.role.name().into());
            add("name", k.name.clone());
        }
        Kind::KeyRevoked { key_id, reason } => {
            add("key", key_id.fingerprint());
            add("reason", reason.clone());
        }
        Kind::PolicyChanged { policy, reason } => {
            add("new policy 新规则", format!("{policy:?}"));
            add("reason", reason.clone());
        }
        Kind::CheckpointKeyRotated { new_key, reason } => {
            add(
                "new checkpoint key 新节点签名密钥",
                ledger_core::signing::KeyId::of(new_key).fingerprint(),
            );
            add("public key", hex::encode(new_key.as_bytes()));
            add("reason", reason.clone());
        }
        Kind::AccountOpened {
            account_id,
            kind,
            name,
        } => {
            add("account", account_id.clone());
            add("account kind", format!("{kind:?}"));
            add("name", name.clone());
        }
        Kind::ProjectCreated {
            project_id,
            name,
            description,
            budget,
        } => {
            add("project", project_id.clone());
            add("name", name.clone());
            add("description", description.clone());
            add("budget", amount_list(budget));
        }
        Kind::FundsReceived {
            source,
            to_account,
            amount,
            contributor_commitment,
            memo,
            document_hash,
        } => {
            add("source", source.slug().into());
            add("to account", to_account.clone());
            add(
                "amount",
                format!("{} 元 ({amount} fen)", format_yuan(*amount)),
            );
            add("contributor commitment", optional(contributor_commitment));
            add("memo", memo.clone());
            add("document hash", optional(document_hash));
        }
        Kind::FundsAllocated {
            from_account,
            project_id,
            amounts: a,
            memo,
        } => {
            add("from account", from_account.clone());
            add("project", project_id.clone());
            add("amounts", amount_list(a));
            add("memo", memo.clone());
        }
        Kind::DisbursementProposed {
            project_id,
            payee_account,
            amounts: a,
            contract_hash,
            invoice_hash,
            memo,
        } => {
            add("project", project_id.clone());
            add("payee", payee_account.clone());
            add("amounts", amount_list(a));
            add("contract hash", hash_hex(contract_hash));
            add("invoice hash", optional(invoice_hash));
            add("memo", memo.clone());
        }
        Kind::DisbursementApproved { proposal } | Kind::DisbursementExecuted { proposal } => {
            add("proposal", proposal.to_string());
        }
        Kind::DisbursementRejected { proposal, reason }
        | Kind::DisbursementVoided { proposal, reason } => {
            add("proposal", proposal.to_string());
            add("reason", reason.clone());
        }
        Kind::EntryReversed { target, reason } => {
            add("target", target.to_string());
            add("reason", reason.clone());
        }
        Kind::EntryAnnotated {
            target,
            note,
            document_hash,
        } => {
            add("target", target.to_string());
            add("note", note.clone());
            add("document hash", optional(document_hash));
        }
        Kind::ObjectionFiled {
            proposal,
            text,
            document_hash,
        } => {
            add("disbursement 支出", proposal.to_string());
            add("objection 异议", text.clone());
            add("document hash", optional(document_hash));
        }
        Kind::ObjectionAnswered {
            objection,
            text,
            document_hashes,
        } => {
            add("objection 异议", objection.to_string());
            add("answer 答复", text.clone());
            for h in document_hashes {
                add("document hash", hash_hex(h));
            }
        }
        Kind::ObjectionResolved {
            objection,
            upheld,
            reason,
        } => {
            add("objection 异议", objection.to_string());
            add(
                "decision 决定",
                if *upheld {
                    "upheld 成立"
                } else {
                    "dismissed 驳回"
                }
                .into(),
            );
            add("reason", reason.clone());
        }
        Kind::ProjectCompleted {
            project_id,
            memo,
            document_hash,
        } => {
            add("project", project_id.clone());
            add("memo", memo.clone());
            add("document hash", optional(document_hash));
        }
        Kind::ProjectEvaluated {
            project_id,
            satisfied,
            comment,
            report_hash,
        } => {
            add("project", project_id.clone());
            add("satisfied 满意/合格", satisfied.to_string());
            add("comment", comment.clone());
            add("report hash", optional(report_hash));
        }
        Kind::ProjectAccepted { project_id, memo } | Kind::ProjectClosed { project_id, memo } => {
            add("project", project_id.clone());
            add("memo", memo.clone());
        }
    }
    out
}
