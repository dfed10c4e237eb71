//! What the verifier tells people: a verdict first, then what the ledger says, in yuan. The
//! same facts as a JSON report (for auditors and scripts) and as CSV files (for spreadsheets).

use ledger_term::printable;
use std::fmt::Write as _;

use ledger_core::amount::{format_yuan, format_yuan_plain};
use ledger_core::signing::KeyId;
use ledger_core::state::{Amounts, DisbursementState, State, RESERVE_ACCOUNT};
use serde::Serialize;

use crate::check::{Failure, Outcome};

#[derive(Serialize)]
pub struct SourceFigure {
    pub source: &'static str,
    pub source_zh: &'static str,
    pub fen: u64,
    pub yuan: String,
}

fn figures(a: &Amounts) -> Vec<SourceFigure> {
    a.iter()
        .map(|(s, fen)| SourceFigure {
            source: s.slug(),
            source_zh: s.chinese_name(),
            fen,
            yuan: format_yuan_plain(fen),
        })
        .collect()
}

#[derive(Serialize)]
pub struct LedgerSummary {
    pub id: String,
    pub name: String,
    pub currency: String,
    pub approval_threshold_fen: u64,
    /// Days over which unapproved payments per payee are added up.
    pub approval_window_days: u32,
    pub approver_quorum: u32,
    pub admin_quorum: u32,
    pub reserve_ratio_bp: u32,
    /// Days of public notice (公示) before an approved large disbursement is paid.
    pub notice_days: u32,
    /// Days the finance office has to answer an objection.
    pub objection_response_days: u32,
}

/// A policy in force from `sequence` on, with who signed it (the genesis for the first).
#[derive(Serialize)]
pub struct PolicySummary {
    pub sequence: u64,
    pub time: String,
    pub approval_threshold_fen: u64,
    pub approval_window_days: u32,
    pub approver_quorum: u32,
    pub admin_quorum: u32,
    pub reserve_ratio_bp: u32,
    pub notice_days: u32,
    pub objection_response_days: u32,
    pub reason: String,
    pub signed_by: Vec<String>,
}

#[derive(Serialize)]
pub struct EvaluationSummary {
    pub key: String,
    pub role: &'static str,
    pub satisfied: bool,
    pub comment: String,
    pub report_hash: Option<String>,
    pub at: u64,
}

/// An objection (异议) and where it stands at the snapshot's last entry.
#[derive(Serialize)]
pub struct ObjectionSummary {
    pub objection_tx_id: String,
    pub disbursement: String,
    pub filed_by: String,
    pub filed_role: &'static str,
    pub filed_at: u64,
    pub filed_time: String,
    pub text: String,
    pub state: &'static str,
    pub response_due: String,
    /// Unanswered past the deadline at the last entry's time, or answered after it.
    pub answer_overdue: bool,
    pub answer: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_by: Vec<String>,
}

#[derive(Serialize)]
pub struct CheckpointSummary {
    pub tree_size: u64,
    pub root: String,
    pub fingerprint: String,
    pub text: String,
}

#[derive(Serialize)]
pub struct ProjectFigure {
    pub source: &'static str,
    pub source_zh: &'static str,
    pub budget_fen: u64,
    pub allocated_fen: u64,
    pub spent_fen: u64,
    pub held_fen: u64,
    pub remaining_fen: u64,
}

#[derive(Serialize)]
pub struct ProjectSummary {
    pub id: String,
    pub name: String,
    pub figures: Vec<ProjectFigure>,
    /// "in_progress", "completed", "accepted", "closed".
    pub stage: &'static str,
    pub stage_zh: &'static str,
    pub evaluations: Vec<EvaluationSummary>,
    /// What went back to the pools at closing.
    pub returned: Vec<SourceFigure>,
}

#[derive(Serialize)]
pub struct AccountSummary {
    pub id: String,
    pub kind: &'static str,
    pub name: String,
    pub balance: Vec<SourceFigure>,
    pub held: Vec<SourceFigure>,
}

#[derive(Serialize)]
pub struct PendingSummary {
    pub proposal_tx_id: String,
    pub proposed_at: u64,
    pub project: String,
    pub payee: String,
    /// The payee's name, as its account was opened.
    pub payee_name: String,
    pub amounts: Vec<SourceFigure>,
    pub approvals: Vec<String>,
    pub approvals_needed: u32,
    pub memo: String,
    /// When its public notice ends (node time), if the quorum put it on notice.
    pub notice_ends: Option<String>,
    pub objections: Vec<String>,
}

#[derive(Serialize)]
pub struct KeySummary {
    pub fingerprint: String,
    pub role: &'static str,
    pub name: String,
    pub registered_at: u64,
    /// Fingerprints of the keys that signed its registration (for the genesis admins, the
    /// genesis's signers).
    pub registered_by: Vec<String>,
    pub revoked_at: Option<u64>,
    pub revoked_by: Vec<String>,
}

#[derive(Serialize)]
pub struct WitnessSummary {
    pub name: String,
    /// What a resident passes to `--witness`.
    pub vkey: String,
}

#[derive(Serialize)]
pub struct CheckpointKeySummary {
    pub fingerprint: String,
    /// The smallest tree size it signs.
    pub from_tree_size: u64,
}

/// Who may do what, which a resident must be able to judge before the money.
#[derive(Serialize)]
pub struct Governance {
    pub witnesses: Vec<WitnessSummary>,
    pub witness_quorum: u32,
    pub checkpoint_keys: Vec<CheckpointKeySummary>,
}

/// What the witnesses vouch for.
#[derive(Serialize)]
pub struct Witnessing {
    pub witnessed_tree_size: Option<u64>,
    pub cosigned_by: Vec<String>,
    pub unwitnessed_entries: u64,
}

#[derive(Serialize)]
pub struct Report {
    pub passed: bool,
    pub verdict: &'static str,
    pub failure: Option<Failure>,
    /// The failure in plain words, and what a resident should do next.
    pub failure_plain: Option<Plain>,
    /// Whether the figures below may be believed: false whenever the ledger failed (they are
    /// what was read up to the failure, for an auditor, and prove nothing).
    pub figures_trusted: bool,
    pub ledger: Option<LedgerSummary>,
    /// Derived here from entry 0: compare it with the notice board.
    pub ledger_fingerprint: Option<String>,
    pub node_key_fingerprint: Option<String>,
    pub entries_checked: u64,
    pub first_entry_time: Option<String>,
    pub last_entry_time: Option<String>,
    pub checkpoint: Option<CheckpointSummary>,
    pub received: Vec<SourceFigure>,
    pub reserve: Vec<SourceFigure>,
    pub projects: Vec<ProjectSummary>,
    pub pending_disbursements: Vec<PendingSummary>,
    pub accounts: Vec<AccountSummary>,
    pub kinds: std::collections::BTreeMap<&'static str, u64>,
    pub keys: Vec<KeySummary>,
    pub policy_history: Vec<PolicySummary>,
    pub objections: Vec<ObjectionSummary>,
    pub governance: Option<Governance>,
    pub witnessing: Witnessing,
}

/// `3F2A-9C01-77B4-E0D2-5A18`: the first 10 bytes of a hash, for people to compare.
pub fn short_hash(hash: &[u8]) -> String {
    let hex = hex::encode_upper(&hash[..10]);
    (0..5)
        .map(|i| &hex[i * 4..i * 4 + 4])
        .collect::<Vec<_>>()
        .join("-")
}

/// UTC date and time of Unix milliseconds, for CSV columns named `time_utc`.
pub fn utc(ms: i64) -> String {
    ledger_term::utc_time(ms)
}

/// The time people read: China Standard Time (北京时间), stated.
fn local(ms: i64) -> String {
    ledger_term::beijing_time(ms)
}

pub fn project_figures(state: &State) -> Vec<ProjectSummary> {
    state
        .projects
        .values()
        .map(|p| {
            let figures = state
                .project_figures(p)
                .into_iter()
                .map(|f| ProjectFigure {
                    source: f.source.slug(),
                    source_zh: f.source.chinese_name(),
                    budget_fen: f.budget,
                    allocated_fen: f.allocated,
                    spent_fen: f.spent,
                    held_fen: f.held,
                    remaining_fen: f.remaining,
                })
                .collect();
            ProjectSummary {
                id: p.id.clone(),
                name: p.name.clone(),
                figures,
                stage: p.stage.name(),
                stage_zh: p.stage.chinese_name(),
                evaluations: p
                    .evaluations
                    .values()
                    .map(|e| EvaluationSummary {
                        key: e.key_id.fingerprint(),
                        role: e.role.name(),
                        satisfied: e.satisfied,
                        comment: e.comment.clone(),
                        report_hash: e.report_hash.map(hex::encode),
                        at: e.at,
                    })
                    .collect(),
                returned: self::figures(&p.returned),
            }
        })
        .collect()
}

impl Report {
    pub fn from_outcome(outcome: &Outcome) -> Report {
        let state = &outcome.state;
        let quorum = state.policy().map(|p| p.approver_quorum).unwrap_or(0);
        let mut pending: Vec<_> = state
            .disbursements
            .values()
            .filter(|d| d.state == DisbursementState::Pending)
            .collect();
        pending.sort_by_key(|d| d.proposed_at);
        Report {
            passed: outcome.passed(),
            verdict: if outcome.passed() {
                "通过 VERIFIED"
            } else {
                "未通过 NOT VERIFIED"
            },
            failure: outcome.failure.clone(),
            failure_plain: outcome.failure.as_ref().map(|f| plain(f.code)),
            figures_trusted: outcome.passed(),
            ledger: state.ledger.as_ref().map(|l| LedgerSummary {
                id: l.ledger_id.clone(),
                name: l.name.clone(),
                currency: l.currency.clone(),
                approval_threshold_fen: l.policy.approval_threshold_fen,
                approval_window_days: l.policy.approval_window_days,
                approver_quorum: l.policy.approver_quorum,
                admin_quorum: l.policy.admin_quorum,
                reserve_ratio_bp: l.policy.reserve_ratio_bp,
                notice_days: l.policy.notice_days,
                objection_response_days: l.policy.objection_response_days,
            }),
            ledger_fingerprint: outcome.ledger_fingerprint.clone(),
            node_key_fingerprint: outcome
                .header
                .as_ref()
                .and_then(|h| ed25519_dalek::VerifyingKey::from_bytes(&h.node_public_key).ok())
                .map(|k| KeyId::of(&k).fingerprint()),
            entries_checked: outcome.entries_checked,
            first_entry_time: outcome.first_timestamp_ms.map(local),
            last_entry_time: outcome.last_timestamp_ms.map(local),
            checkpoint: outcome.checkpoint.as_ref().map(|c| CheckpointSummary {
                tree_size: c.checkpoint.tree_size,
                root: hex::encode(c.checkpoint.root),
                fingerprint: short_hash(&c.checkpoint.root),
                text: c.text.clone(),
            }),
            received: figures(&state.received),
            reserve: state
                .accounts
                .get(RESERVE_ACCOUNT)
                .map(|a| figures(&a.balance))
                .unwrap_or_default(),
            projects: project_figures(state),
            pending_disbursements: pending
                .into_iter()
                .map(|d| PendingSummary {
                    proposal_tx_id: d.proposal.to_string(),
                    proposed_at: d.proposed_at,
                    project: d.project_id.clone(),
                    payee: d.payee_account.clone(),
                    payee_name: state
                        .accounts
                        .get(&d.payee_account)
                        .map(|a| a.name.clone())
                        .unwrap_or_default(),
                    amounts: figures(&d.amounts),
                    approvals: d.approvals.iter().map(|k| k.fingerprint()).collect(),
                    approvals_needed: if d.needs_quorum { quorum } else { 0 },
                    memo: d.memo.clone(),
                    notice_ends: d.notice_ends_ms.map(local),
                    objections: d.objections.iter().map(|o| o.to_string()).collect(),
                })
                .collect(),
            policy_history: outcome.policy_history.iter().map(policy_summary).collect(),
            objections: state
                .objections
                .values()
                .map(|o| objection_summary(o, outcome.last_timestamp_ms.unwrap_or(0)))
                .collect(),
            accounts: state
                .accounts
                .values()
                .map(|a| AccountSummary {
                    id: a.id.clone(),
                    kind: a.kind.name(),
                    name: a.name.clone(),
                    balance: figures(&a.balance),
                    held: figures(&a.held),
                })
                .collect(),
            kinds: outcome.kinds.clone(),
            keys: state
                .keys
                .values()
                .map(|k| KeySummary {
                    fingerprint: k.key_id.fingerprint(),
                    role: k.role.name(),
                    name: k.name.clone(),
                    registered_at: k.registered_at,
                    registered_by: fingerprints(
                        outcome.key_history.get(&k.key_id).map(|h| &h.registered_by),
                    ),
                    revoked_at: k.revoked_at,
                    revoked_by: fingerprints(
                        outcome.key_history.get(&k.key_id).map(|h| &h.revoked_by),
                    ),
                })
                .collect(),
            governance: state.ledger.as_ref().map(|l| Governance {
                witnesses: l
                    .witnesses
                    .iter()
                    .map(|w| WitnessSummary {
                        name: w.name.clone(),
                        vkey: ledger_core::checkpoint::witness_vkey(w),
                    })
                    .collect(),
                witness_quorum: l.witness_quorum,
                checkpoint_keys: l
                    .checkpoint_keys
                    .iter()
                    .map(|(from, k)| CheckpointKeySummary {
                        fingerprint: KeyId::of(k).fingerprint(),
                        from_tree_size: *from,
                    })
                    .collect(),
            }),
            witnessing: Witnessing {
                witnessed_tree_size: outcome.witnessed.as_ref().map(|w| w.checkpoint.tree_size),
                cosigned_by: outcome.witnessed_by.clone(),
                unwitnessed_entries: outcome.unwitnessed_entries,
            },
        }
    }

    /// Exit code: 0 verified, 1 not verified, 2 the file could not be checked at all.
    pub fn exit_code(&self) -> u8 {
        match &self.failure {
            None => 0,
            Some(f) if f.code == UNUSABLE => 2,
            Some(_) => 1,
        }
    }

    /// A failed ledger: what happened in plain words, what to do, the detail for an auditor,
    /// and no figures (numbers from a ledger that failed are not to be believed).
    fn human_failure(&self, w: &mut String) {
        let unusable = self.exit_code() == 2;
        let _ = writeln!(
            w,
            "{}",
            if unusable {
                "⚠️ 无法核验 NOT CHECKED: 这个文件无法核验 this file could not be checked."
            } else {
                "❌ 未通过 NOT VERIFIED: 这份账本没有通过核验 this ledger does not check out."
            }
        );
        let (Some(f), Some(p)) = (&self.failure, &self.failure_plain) else {
            return;
        };
        let _ = writeln!(w, "\n   发生了什么：{}\n   What happened: {}", p.zh, p.en);
        let _ = writeln!(
            w,
            "\n   请这样做：{}\n   What to do: {}",
            p.todo_zh, p.todo_en
        );
        let place = f
            .sequence
            .map(|seq| format!("第 {seq} 条 entry {seq}: "))
            .unwrap_or_default();
        let _ = writeln!(
            w,
            "\n   技术细节（给审计人员）For auditors: {place}{} (code {}{})",
            printable(&f.message),
            f.code,
            f.reason
                .map(|r| format!(", reason {r}"))
                .unwrap_or_default()
        );
        if !unusable {
            let _ = writeln!(
                w,
                "\n   未通过核验的账本中的金额和名单不可信，因此不显示（--json 给出读到出错处为止的内容，并标明不可信）。\n   \
                 Figures and names from a ledger that failed cannot be trusted and are not shown \
                 (--json has what was read up to the failure, marked figures_trusted: false)."
            );
        }
    }

    /// The witnesses' part of the verdict, right under it.
    fn human_witnessing(&self, w: &mut String) {
        let Some(g) = &self.governance else { return };
        if g.witnesses.is_empty() {
            let _ = writeln!(w, "⚠️  本账本没有指定见证方：无法排除运营方给不同的人看不同的账本。/ This ledger names no witnesses: nothing shows that everyone is shown this same history.");
            return;
        }
        if let Some(size) = self.witnessing.witnessed_tree_size {
            let _ = writeln!(
                w,
                "见证 Witnessed: 前 {size} 条已由 {} 联署 / the first {size} entries are cosigned by {}",
                self.witnessing.cosigned_by.len(),
                self.witnessing.cosigned_by.iter().map(|n| printable(n).into_owned()).collect::<Vec<_>>().join(", ")
            );
            if self.witnessing.unwitnessed_entries > 0 {
                let _ = writeln!(
                    w,
                    "   其后 {} 条尚未见证（稍后再下载核对）/ {} later entries are not witnessed yet (check again later): their figures below are the node's word alone",
                    self.witnessing.unwitnessed_entries, self.witnessing.unwitnessed_entries
                );
            }
        }
    }

    /// Who may do what: the policy, the witnesses, every key and the node's checkpoint keys.
    fn human_governance(&self, w: &mut String) {
        let (Some(l), Some(g)) = (&self.ledger, &self.governance) else {
            return;
        };
        let _ = writeln!(
            w,
            "\n治理 Governance (核对这些人与规则 / check these people and rules):"
        );
        let _ = writeln!(
            w,
            "  审批门槛 Approval threshold: {} 元 (每个收款方 {} 天内未经批准的累计 / unapproved per payee within {} days; 财务自开的收款方合并计算 / payees finance opened count as one), {} 位居民代表批准 approvers needed",
            format_yuan(l.approval_threshold_fen),
            l.approval_window_days,
            l.approval_window_days,
            l.approver_quorum
        );
        let _ = writeln!(
            w,
            "  管理员法定数 Admin quorum: {}; 风险准备金 reserve ratio: {}.{:02}%",
            l.admin_quorum,
            l.reserve_ratio_bp / 100,
            l.reserve_ratio_bp % 100
        );
        let _ = writeln!(
            w,
            "  公示期 Public notice: {} 天 days; 异议答复期限 objections answered within {} 天 days",
            l.notice_days, l.objection_response_days
        );
        for p in &self.policy_history {
            let _ = writeln!(
                w,
                "  规则 Policy from entry {} ({}): threshold {} 元, window {} d, {} approvers, {} admins, reserve {} bp, notice {} d, answers {} d — signed by {}{}",
                p.sequence,
                p.time,
                format_yuan(p.approval_threshold_fen),
                p.approval_window_days,
                p.approver_quorum,
                p.admin_quorum,
                p.reserve_ratio_bp,
                p.notice_days,
                p.objection_response_days,
                p.signed_by.join(", "),
                if p.reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", printable(&p.reason))
                }
            );
        }
        let _ = writeln!(
            w,
            "  见证方 Witnesses: {} of {} needed",
            g.witness_quorum,
            g.witnesses.len()
        );
        for wk in &g.witnesses {
            let _ = writeln!(w, "    {}", printable(&wk.vkey));
        }
        let _ = writeln!(
            w,
            "  密钥 Keys (role, fingerprint, holder, registered at entry):"
        );
        for k in &self.keys {
            let revoked = k
                .revoked_at
                .map(|r| {
                    format!(
                        ", 已撤销 revoked at entry {r} by {}",
                        k.revoked_by.join(", ")
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                w,
                "    {:<8} {} {} (entry {}, signed by {}{revoked})",
                k.role,
                k.fingerprint,
                printable(&k.name),
                k.registered_at,
                k.registered_by.join(", ")
            );
        }
        for c in &g.checkpoint_keys {
            let _ = writeln!(
                w,
                "  节点签名密钥 Checkpoint key: {} (from tree size {})",
                c.fingerprint, c.from_tree_size
            );
        }
    }

    /// The resident's view: verdict first, then the money, in yuan. Every text from the ledger
    /// is shown escaped ([`printable`]): a memo cannot print a line of its own.
    pub fn human(&self) -> String {
        ledger_term::exit_code_on_closed_stdout(self.exit_code());
        let mut out = String::new();
        let w = &mut out;
        if self.passed {
            let _ = writeln!(w, "✅ 通过 VERIFIED: every entry, signature, rule and the signed checkpoint check out.");
        } else {
            self.human_failure(w);
            return out;
        }
        self.human_witnessing(w);
        let _ = writeln!(w);
        if let Some(fp) = &self.ledger_fingerprint {
            let _ = writeln!(
                w,
                "账本指纹 Ledger fingerprint: {fp}  (与公示栏核对 / compare with the notice board)"
            );
        }
        if let Some(l) = &self.ledger {
            let _ = writeln!(
                w,
                "账本 Ledger:        {} ({})",
                printable(&l.name),
                printable(&l.id)
            );
        }
        let _ = writeln!(w, "条目 Entries:       {} checked", self.entries_checked);
        if let (Some(a), Some(b)) = (&self.first_entry_time, &self.last_entry_time) {
            let _ = writeln!(w, "时间 Time span:     {a} — {b}");
        }
        self.human_governance(w);
        if !self.received.is_empty() {
            let _ = writeln!(w, "\n收到资金 Money received, by source:");
            for f in &self.received {
                // Chinese last: terminals give CJK characters double width, which breaks padding.
                let _ = writeln!(
                    w,
                    "  {:<15} {:>20} 元  {}",
                    f.source,
                    format_yuan(f.fen),
                    f.source_zh
                );
            }
        }
        if !self.reserve.is_empty() {
            let total = fen_total(self.reserve.iter().map(|f| f.fen));
            let _ = writeln!(w, "\n风险准备金 Risk reserve: {} 元", total);
        }
        for p in &self.projects {
            let _ = writeln!(
                w,
                "\n项目 Project: {} ({}) — {} {}",
                printable(&p.name),
                printable(&p.id),
                p.stage_zh,
                p.stage
            );
            for e in &p.evaluations {
                let _ = writeln!(
                    w,
                    "  评价 Evaluation by {} {} (entry {}): {} {}",
                    e.role,
                    e.key,
                    e.at,
                    if e.satisfied {
                        "满意/合格 satisfied"
                    } else {
                        "不满意/不合格 NOT satisfied"
                    },
                    printable(&e.comment)
                );
            }
            if !p.returned.is_empty() {
                let back = fen_total(p.returned.iter().map(|f| f.fen));
                let _ = writeln!(w, "  结项退回 Returned to its pools at closing: {back} 元");
            }
            // remaining = allocated − spent − held: the held column makes the row add up.
            let _ = writeln!(
                w,
                "  {:<15} {:>16} {:>16} {:>16} {:>16} {:>16}",
                "source",
                "budget 预算",
                "allocated 拨付",
                "spent 支出",
                "held 冻结待付",
                "remaining 余额"
            );
            for f in &p.figures {
                let _ = writeln!(
                    w,
                    "  {:<15} {:>16} {:>16} {:>16} {:>16} {:>16}",
                    f.source,
                    format_yuan(f.budget_fen),
                    format_yuan(f.allocated_fen),
                    format_yuan(f.spent_fen),
                    format_yuan(f.held_fen),
                    format_yuan(f.remaining_fen)
                );
            }
        }
        if !self.pending_disbursements.is_empty() {
            let _ = writeln!(w, "\n待审批支出 Pending disbursements:");
            for d in &self.pending_disbursements {
                let total = fen_total(d.amounts.iter().map(|f| f.fen));
                let _ = writeln!(
                    w,
                    "  {} 元 to {} [{}] from {} ({}) — approvals {}/{}",
                    total,
                    printable(&d.payee_name),
                    printable(&d.payee),
                    printable(&d.project),
                    printable(&d.memo),
                    d.approvals.len(),
                    d.approvals_needed
                );
                if let Some(ends) = &d.notice_ends {
                    let _ = writeln!(w, "    公示中 on public notice until {ends}");
                }
            }
        }
        if !self.objections.is_empty() {
            let _ = writeln!(w, "\n异议 Objections:");
            for o in &self.objections {
                let _ = writeln!(
                    w,
                    "  {} by {} {} on disbursement {} ({}): {} — {}{}",
                    o.objection_tx_id,
                    o.filed_role,
                    o.filed_by,
                    o.disbursement,
                    o.filed_time,
                    printable(&o.text),
                    o.state,
                    if o.answer_overdue {
                        format!(" — 答复逾期 answer overdue (due {})", o.response_due)
                    } else {
                        String::new()
                    }
                );
            }
        }
        if let Some(c) = &self.checkpoint {
            let _ = writeln!(
                w,
                "\n检查点 Checkpoint: {} entries, root {}",
                c.tree_size, c.fingerprint
            );
            let _ = writeln!(w, "  Compare this root with your neighbours': the same size must always have the same root.");
        }
        if let Some(fp) = &self.node_key_fingerprint {
            let _ = writeln!(w, "节点密钥 Node key:  {fp}");
        }
        out
    }
}

fn policy_summary(r: &crate::check::PolicyRecord) -> PolicySummary {
    let p = &r.policy;
    PolicySummary {
        sequence: r.sequence,
        time: local(r.timestamp_ms),
        approval_threshold_fen: p.approval_threshold_fen,
        approval_window_days: p.approval_window_days,
        approver_quorum: p.approver_quorum,
        admin_quorum: p.admin_quorum,
        reserve_ratio_bp: p.reserve_ratio_bp,
        notice_days: p.notice_days,
        objection_response_days: p.objection_response_days,
        reason: r.reason.clone(),
        signed_by: r.signers.iter().map(|k| k.fingerprint()).collect(),
    }
}

fn objection_summary(o: &ledger_core::state::Objection, now_ms: i64) -> ObjectionSummary {
    ObjectionSummary {
        objection_tx_id: o.id.to_string(),
        disbursement: o.proposal.to_string(),
        filed_by: o.filed_by.fingerprint(),
        filed_role: o.filed_role.name(),
        filed_at: o.filed_at,
        filed_time: local(o.filed_ms),
        text: o.text.clone(),
        state: o.state().name(),
        response_due: local(o.response_due_ms),
        answer_overdue: o.answer_overdue(now_ms),
        answer: o.answer.as_ref().map(|a| a.text.clone()),
        decision_reason: o.resolution.as_ref().map(|r| r.reason.clone()),
        decided_by: o
            .resolution
            .as_ref()
            .map(|r| r.by.iter().map(|k| k.fingerprint()).collect())
            .unwrap_or_default(),
    }
}

fn fingerprints(ids: Option<&Vec<KeyId>>) -> Vec<String> {
    ids.map(|v| v.iter().map(|k| k.fingerprint()).collect())
        .unwrap_or_default()
}

/// Yuan of a sum of amounts, checked: the amounts come from a file nobody vouches for yet.
fn fen_total(mut amounts: impl Iterator<Item = u64>) -> String {
    amounts
        .try_fold(0u64, |acc, f| acc.checked_add(f))
        .map(format_yuan)
        .unwrap_or_else(|| "(too large to add up / 超出范围)".into())
}

/// A CSV field, quoted when it must be. A text that a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, a tab or a carriage return: OWASP's CSV injection) gets a
/// leading `'`, so it shows as the text it is.
pub fn csv_field(s: &str) -> String {
    let s: std::borrow::Cow<str> = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}").into()
    } else {
        s.into()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.into_owned()
    }
}

/// UTF-8 byte order mark, so spreadsheet programs read Chinese text correctly.
pub const BOM: &str = "\u{feff}";

/// The code of a file that is not a whole snapshot (a web page, an interrupted download): it
/// proves nothing either way, so the verifier exits 2, not 1.
pub const UNUSABLE: &str = "SNAPSHOT_UNUSABLE";

/// A failure in words a resident can act on.
#[derive(Serialize, Clone, Debug)]
pub struct Plain {
    pub zh: &'static str,
    pub en: &'static str,
    pub todo_zh: &'static str,
    pub todo_en: &'static str,
}

const TELL_ZH: &str = "1. 保留这个文件，不要删除或修改；2. 告诉社区居委会、居民代表或见证方（街道、监督委员会）；3. 请邻居用他们自己下载的文件核验，比较结果。";
const TELL_EN: &str = "1. keep this file, do not delete or change it; 2. tell the community committee, the residents' representatives or a witness (the street office, the supervision committee); 3. ask neighbours to check their own download and compare.";

/// The plain explanation of every failure code (`check::FAILURE_CODES`; a test checks each
/// has one).
pub fn plain(code: &str) -> Plain {
    let (zh, en) = match code {
        UNUSABLE => (
            "这不是一个完整的账本快照文件（下载中断了，或下载到的是网页、别的文件）。这既不说明账本有问题，也没有核验任何内容。",
            "this is not a whole ledger snapshot (the download was cut short, or it is a web page or another file). It says nothing about the ledger either way, and nothing was checked.",
        ),
        "SNAPSHOT_MALFORMED" => (
            "快照文件的内容格式不对：文件被改动过，或已损坏。",
            "the snapshot's content is malformed: the file was changed or damaged.",
        ),
        "TILES_MALFORMED" => (
            "发布的账本瓦片（检查点、记录包或哈希瓦片）格式不对：被改动过，或已损坏。",
            "the published ledger tiles (checkpoint, entry bundles or hash tiles) are malformed: they were changed or damaged.",
        ),
        "LEDGER_NOT_TRUSTED" => (
            "这不是公示栏上的那本账：账本指纹不一致。可能是指纹输错了，也可能有人另造了一本账。",
            "this is not the ledger on the notice board: its fingerprint differs. The fingerprint may be mistyped, or someone made another ledger.",
        ),
        "NODE_KEY_NOT_TRUSTED" => (
            "账本的检查点不是由你信任的节点密钥签名的。",
            "the ledger's checkpoint is not signed by the node key you trust.",
        ),
        "CHAIN_BROKEN" => (
            "记录之间的链条断了：有记录被改动、删除或插入过。",
            "the chain between entries is broken: an entry was changed, removed or inserted.",
        ),
        "ENTRY_REFUSED" => (
            "有一条记录违反了账本规则（签名、权限或资金规则），这样的记录本不应进入账本。",
            "an entry breaks the ledger's rules (a signature, a permission or a fund rule); it should never have been accepted.",
        ),
        "LEDGER_ID_MISMATCH" => (
            "文件中有属于另一本账的记录。",
            "the file holds an entry of another ledger.",
        ),
        "CHECKPOINT_WRONG_LEDGER" => (
            "签名的检查点属于另一本账。",
            "the signed checkpoint is of another ledger.",
        ),
        "CHECKPOINT_WRONG_SIZE" => (
            "签名的检查点与文件中的记录条数不一致：有记录被删掉或加进来。",
            "the signed checkpoint and the number of entries in the file disagree: entries were removed or added.",
        ),
        "ROOT_MISMATCH" => (
            "文件中的记录与节点签名的内容不一致：记录被改动过。",
            "the entries in the file are not what the node signed: they were changed.",
        ),
        "CHECKPOINT_SIGNATURE_INVALID" => (
            "检查点的签名无效：检查点是伪造的或被改动过。",
            "the checkpoint's signature is invalid: it was forged or changed.",
        ),
        "EMPTY_LEDGER" => ("文件中没有任何记录。", "the file holds no entries."),
        "NOT_WITNESSED" => (
            "没有见证方联署这本账的检查点：无法确认你看到的和别人看到的是同一本账。",
            "no witness cosigned this ledger's checkpoint: nothing shows you see the same ledger as everyone else.",
        ),
        "WITNESSED_CHECKPOINT_MISMATCH" => (
            "见证方联署的检查点与这本账不符：节点可能给不同的人看了不同的账本。",
            "the checkpoint the witnesses cosigned does not match this ledger: the node may show different ledgers to different people.",
        ),
        "WITNESS_QUORUM_NOT_MET" => (
            "联署的见证方少于账本规定的人数。",
            "fewer witnesses cosigned than the ledger requires.",
        ),
        "TIMESTAMP_AFTER_COSIGNATURE" => (
            "节点把记录的时间写晚了（晚于见证方联署的时间），例如为了让公示期提前结束。",
            "the node dated entries later than the witnesses saw them (e.g. to end a public notice early).",
        ),
        _ => (
            "账本没有通过核验。",
            "the ledger did not pass.",
        ),
    };
    let (todo_zh, todo_en) = if code == UNUSABLE {
        (
            "重新下载快照（http://<节点>:8080/snapshot 或社区发布的文件）再核验；如果一再出现，告诉社区。",
            "download the snapshot again (http://<node>:8080/snapshot or the file your community publishes) and check it again; if this keeps happening, tell the community.",
        )
    } else {
        (TELL_ZH, TELL_EN)
    };
    Plain {
        zh,
        en,
        todo_zh,
        todo_en,
    }
}

#[cfg(test)]
mod plain_tests {
    use super::*;

    #[test]
    fn every_failure_code_has_its_own_plain_explanation() {
        let generic = plain("NO_SUCH_CODE").zh;
        for code in crate::check::FAILURE_CODES {
            let p = plain(code);
            assert_ne!(p.zh, generic, "{code} has no plain explanation");
            assert!(!p.en.is_empty());
        }
    }
}
