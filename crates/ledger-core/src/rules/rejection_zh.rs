//! Every refusal in Chinese, for the people who read the ledger first in Chinese. The English
//! (`Display`) and the stable reason code stay as they are; every variant is listed (no `_`),
//! so a new refusal cannot be added without its Chinese.

use super::rejection::{DecodeError, Rejection, SignatureError};
use crate::amount::format_yuan;

fn role_zh(role: &str) -> &str {
    match role {
        "admin" => "管理员",
        "finance" => "财务",
        "approver" => "居民代表",
        "auditor" => "审计",
        "resident" => "居民户",
        other => other,
    }
}

fn decode_zh(d: &DecodeError) -> String {
    match d {
        DecodeError::Malformed { what, detail } => format!("{what} 无法解码：{detail}"),
        DecodeError::NonCanonical { what } => {
            format!("{what} 不是规范的 protobuf 编码，两个读者可能读出不同的含义；请用标准 protobuf 库重新编码")
        }
        DecodeError::TooLarge { what, size, limit } => {
            format!("{what} 有 {size} 字节，超过上限 {limit}")
        }
        DecodeError::TooMany { what, count, limit } => {
            format!("{what} 有 {count} 个，超过上限 {limit}")
        }
        DecodeError::Invalid { field, why } => format!("字段 {field} 无效：{why}"),
        DecodeError::NoSignature => "交易没有签名：每笔交易至少要有一个签名".to_string(),
        DecodeError::DuplicateSigner { key } => format!("密钥 {key} 签了两次名"),
        DecodeError::WeakKey => {
            "公钥是弱密钥（小阶点）；请用 `ledger keygen` 生成新密钥".to_string()
        }
    }
}

fn signature_zh(s: &SignatureError) -> String {
    match s {
        SignatureError::BadSignature { key } => {
            format!("密钥 {key} 的签名验证不通过：签名后内容被改动，或是用别的密钥签的")
        }
        SignatureError::UnknownKey { key } => {
            format!("密钥 {key} 没有在本账本登记；请先由管理员登记")
        }
    }
}

impl Rejection {
    /// The refusal in Chinese, with the same figures and names as the English.
    pub fn chinese(&self) -> String {
        use Rejection::*;
        match self {
            Decode(d) => decode_zh(d),
            Signature(s) => signature_zh(s),
            KeyRevoked { key, revoked_at } => {
                format!("密钥 {key} 已在第 {revoked_at} 条被吊销，之后不能再签署任何交易")
            }
            RoleNotAllowed { kind, needed, held } => {
                format!("{kind} 必须由{}角色的密钥签署；签名者的角色是 {held}", role_zh(needed))
            }
            QuorumNotMet { kind, role, needed, got } => {
                format!("{kind} 需要 {needed} 个不同的{}签名，现在只有 {got} 个", role_zh(role))
            }
            SelfApproval { key } => {
                format!("密钥 {key} 签署了这笔支出申请，不能自己批准或否决：须由另一位居民代表办理")
            }
            WrongLedger { expected, found } => {
                format!("这笔交易属于账本 {found:?}，而本账本是 {expected:?}")
            }
            TimestampOutOfRange { tx_ms, entry_ms } => format!(
                "交易时间 {tx_ms} 毫秒与账本时钟 {entry_ms} 毫秒相差太多（最多快 5 分钟或慢 30 天）；请检查签名电脑的时钟"
            ),
            TxIdConflict { tx_id, sequence } => format!(
                "交易号 {tx_id} 已在第 {sequence} 条用于另一笔交易；请换一个交易号"
            ),
            Duplicate { tx_id, sequence } => format!("交易 {tx_id} 已在账本第 {sequence} 条"),
            NoGenesis => "账本还没有创世记录：第一笔交易必须是创世".to_string(),
            GenesisNotFirst => "创世只能是第一条；本账本已经有了".to_string(),
            KeyExists { key } => format!("密钥 {key} 已经登记过了"),
            CheckpointKeyReused { key } => format!(
                "密钥 {key} 已经当过本账本的检查点密钥；轮换需要新密钥（`ledger-node keygen`）"
            ),
            NoSuchKey { key } => format!("密钥 {key} 没有登记，无法吊销"),
            AlreadyRevoked { key } => format!("密钥 {key} 已经被吊销"),
            WouldLockOut { key, role, quorum } => format!(
                "吊销密钥 {key} 后，有效的{r}密钥将少于{r}法定人数 {quorum}；请先登记另一个{r}",
                r = role_zh(role)
            ),
            AccountExists { id } => format!("账户或项目编号 {id:?} 已被占用"),
            UnknownAccount { id } => format!("没有账户 {id:?}；请先开立"),
            WrongAccount { id, found, needed } => {
                format!("账户 {id:?} 是 {found} 账户，这里需要 {needed}")
            }
            UnknownProject { id } => format!("没有项目 {id:?}"),
            InsufficientFunds {
                account,
                source_name,
                available,
                requested,
            } => format!(
                "账户 {account:?} 的{source_name}可用余额为 {available} 元，需要 {requested} 元，余额不足"
            ),
            OverBudget {
                project,
                source_name,
                budget,
                allocated,
                requested,
            } => format!(
                "项目 {project:?} 的{source_name}预算为 {budget} 元，已拨付 {allocated} 元；再拨 {requested} 元就超出预算"
            ),
            AmountOverflow => "金额加起来超出了账本能计数的范围".to_string(),
            UnknownTransaction { tx_id } => format!("本账本中没有交易 {tx_id}"),
            HistoryUnavailable(e) => format!(
                "节点读不了交易索引（{}），什么都没有写入；请稍后原样重发这笔交易",
                e.0
            ),
            UnknownDisbursement { tx_id } => format!("交易 {tx_id} 不是支出申请"),
            NotPending { tx_id, state } => format!("支出 {tx_id} 的状态是 {state}，不是待处理"),
            AlreadyApproved { key, tx_id } => format!("密钥 {key} 已经批准过支出 {tx_id}"),
            UnapprovedLimit {
                payee,
                days,
                paid,
                requested,
                threshold,
                tx_id,
            } => format!(
                "{payee} 在最近 {days} 天内未经审批已收款 {} 元；加上这笔 {} 元将达到审批门槛 {} 元：支出 {tx_id} 须经居民代表批准（达到法定人数即执行）",
                format_yuan(*paid),
                format_yuan(*requested),
                format_yuan(*threshold)
            ),
            NeedsApproval { tx_id, have, needed } => format!(
                "支出 {tx_id} 达到审批门槛：需要 {needed} 位居民代表批准（现有 {have} 位）；批准后（有公示期的，公示期满后）才能支付"
            ),
            NotReversible { kind, hint } => format!("{kind} 记录不能冲正{hint}"),
            AlreadyReversed { tx_id, by } => format!("交易 {tx_id} 已被 {by} 冲正"),
            InNotice {
                tx_id,
                left_ms,
                what,
            } => {
                let hours = (left_ms.max(&0) + 3_599_999) / 3_600_000;
                format!(
                    "支出 {tx_id} 正在公示，还剩 {} 天 {} 小时；{what}",
                    hours / 24,
                    hours % 24
                )
            }
            NotInNotice { tx_id } => format!(
                "支出 {tx_id} 不在公示期：异议只能在已批准的大额支出公示期间提出"
            ),
            ObjectionUnresolved {
                tx_id,
                objection,
                state,
            } => format!(
                "支出 {tx_id} 有未决异议 {objection}（{state}）：须由财务答复、居民代表作出决定后，资金才能支付"
            ),
            AlreadyObjected {
                key,
                tx_id,
                objection,
            } => format!(
                "密钥 {key} 对支出 {tx_id} 已有未决异议 {objection}；要补充请用评论（entry_annotated）"
            ),
            UnknownObjection { tx_id } => format!("交易 {tx_id} 不是异议"),
            WrongObjectionState {
                objection,
                state,
                needed,
            } => format!("异议 {objection} 的状态是 {state}；{needed}"),
            WrongProjectStage {
                project,
                stage,
                needed,
            } => format!("项目 {project:?} 处于 {stage} 阶段；{needed}"),
            EvaluationIncomplete {
                project,
                auditors_passed,
                auditors_failed,
                satisfied,
                needed,
            } => format!(
                "项目 {project:?} 还不能验收：需要审计的合格检查且没有不合格（合格 {auditors_passed}，不合格 {auditors_failed}），并需要 {needed} 位居民代表满意（现有 {satisfied} 位）"
            ),
            ProjectHasPending { project, count } => format!(
                "项目 {project:?} 还有 {count} 笔待处理支出；结项前请执行、作废或否决它们"
            ),
        }
    }

    /// Chinese first, then English, on two lines: what the node sends as a refusal's message.
    pub fn bilingual(&self) -> String {
        format!("{}\n{}", self.chinese(), self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_reads_in_chinese_first_with_the_same_figures_then_in_english() {
        let r = Rejection::InsufficientFunds {
            account: "pool:fiscal".into(),
            source_name: "财政",
            available: "900,000.00".into(),
            requested: "1,800,000.00".into(),
        };
        let text = r.bilingual();
        let (zh, en) = text.split_once('\n').unwrap();
        assert!(
            zh.contains("余额不足") && zh.contains("1,800,000.00"),
            "{zh}"
        );
        assert_eq!(en, r.to_string());
        let quorum = Rejection::QuorumNotMet {
            kind: "policy_changed",
            role: "approver",
            needed: 2,
            got: 1,
        };
        assert!(quorum.chinese().contains("2 个不同的居民代表签名"));
    }
}
