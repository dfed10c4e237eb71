//! The statement's tables, one function each, from what the period's fold collected.

use ledger_core::amount::format_yuan;
use ledger_core::state::{DisbursementState, FundSource, State};
use ledger_core::tx::Kind;

use crate::statement::{when, Collected, Statement};
use crate::table::{col, Cell, Table};

/// Hashes are printed as their first 16 hex digits: enough to find the document, short
/// enough for a printed page. The CSV and XLSX carry the same (they are the same tables).
fn short(hash: &[u8]) -> String {
    hex::encode(&hash[..8])
}

fn source_label(s: FundSource) -> Cell {
    Cell::Label(s.chinese_name(), s.slug())
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

pub fn all(s: &Statement, c: &Collected) -> Vec<Table> {
    vec![
        summary(s, c),
        sources(c),
        receipts(c),
        allocations(c),
        disbursements(c),
        reversals(c),
        reserve(c),
        projects(c),
        governance(c),
    ]
}

fn summary(s: &Statement, c: &Collected) -> Table {
    let row = |zh: &'static str, en: &'static str, v: Cell| vec![Cell::Label(zh, en), v];
    let entries = if s.first_sequence < s.tree_size {
        text(format!("{} – {}", s.first_sequence, s.tree_size - 1))
    } else {
        Cell::Label("无", "none")
    };
    Table {
        key: "summary",
        zh: "概况",
        en: "Summary",
        note_zh: "本表由账本记录逐条重算得出；任何人可用 verifier report 从账本快照重新生成并逐字节比对。",
        note_en: "Recomputed entry by entry from the ledger; anyone can remake it from a snapshot with `verifier report` and compare it byte for byte.",
        columns: vec![col("item", "项目", "item"), col("value", "内容", "value")],
        rows: vec![
            row("账本名称", "ledger", text(&s.ledger_name)),
            row("账本指纹（与公示栏核对）", "ledger fingerprint (check against the notice board)", text(&s.ledger_fingerprint)),
            row("期间", "period", text(s.period.name())),
            row("期间起止（北京时间）", "from / to (China Standard Time)", text(format!("{} – {}", s.period.first, s.period.last))),
            row("本期条目（序号）", "entries in the period (sequence numbers)", entries),
            row("账本条目数（本表所据）", "ledger size this statement is the fold at", Cell::Count(s.tree_size)),
            row("该条目数下的默克尔根", "Merkle root at that size", text(hex::encode(s.root))),
            row(
                "所含记录",
                "what it covers",
                Cell::Label(
                    "账本前若干条记录（见“账本条目数”）中属于本期的全部记录。若张贴时本期尚未结束，之后的记录不在本表中：用 verifier report --at 条目数 可逐字节重现本表。",
                    "Every entry of the period among the ledger's first entries (the count above). If the period was still running when this was made, later entries are not in it: verifier report --at COUNT remakes it byte for byte.",
                ),
            ),
            row("期末冻结的待付款", "pending disbursements at the end", Cell::Count(c.state.disbursements.values().filter(|d| d.state == DisbursementState::Pending).count() as u64)),
        ],
    }
}

fn sources(c: &Collected) -> Table {
    let f = &c.flows;
    let mut rows = Vec::new();
    for source in FundSource::ALL {
        let figures = [
            c.opening.held,
            f.received,
            f.paid,
            f.reversed_in,
            f.reversed_out,
            c.closing.held,
        ];
        if figures.iter().all(|a| a.get(source) == 0) {
            continue;
        }
        let receipts: Vec<_> = c.receipts.iter().filter(|r| r.source == source).collect();
        let contributors: std::collections::BTreeSet<_> =
            receipts.iter().filter_map(|r| r.contributor).collect();
        let anonymous = receipts.iter().filter(|r| r.contributor.is_none()).count();
        let mut row = vec![source_label(source)];
        row.extend(figures.iter().map(|a| Cell::Fen(a.get(source))));
        row.extend([
            Cell::Count(receipts.len() as u64),
            Cell::Count(contributors.len() as u64),
            Cell::Count(anonymous as u64),
        ]);
        rows.push(row);
    }
    Table {
        key: "sources",
        zh: "资金来源与余额",
        en: "Money by source",
        note_zh: "期初 + 收入 + 冲正转入 − 支出 − 冲正转出 = 期末（按来源逐项核对）。余额为资金池、项目与风险准备金中尚未付出的钱；出资人只计人数（承诺值），不列姓名。",
        note_en: "Opening + received + reversed in − paid − reversed out = closing, checked per source. Balances are what the pools, projects and reserve still hold; contributors are counted (by commitment), never named.",
        columns: vec![
            col("source", "资金来源", "source"),
            col("opening", "期初余额", "opening"),
            col("received", "本期收入", "received"),
            col("paid", "本期支出", "paid"),
            col("reversed_in", "冲正转入", "reversed in"),
            col("reversed_out", "冲正转出", "reversed out"),
            col("closing", "期末余额", "closing"),
            col("receipts", "收款笔数", "receipts"),
            col("contributors", "出资人数（承诺值）", "contributors (commitments)"),
            col("unnamed_receipts", "无出资人承诺的笔数", "receipts without a commitment"),
        ],
        rows,
    }
}

fn receipts(c: &Collected) -> Table {
    let rows = c.receipts.iter().map(|r| {
        let reversed = c
            .state
            .txs
            .get(&r.tx_id)
            .and_then(|t| t.reversed_by)
            .is_some();
        vec![
            Cell::Count(r.sequence),
            text(when(r.timestamp_ms)),
            source_label(r.source),
            text(&r.to_account),
            Cell::Fen(r.amount),
            text(r.contributor.map(|h| short(&h)).unwrap_or_default()),
            text(r.document.map(|h| short(&h)).unwrap_or_default()),
            text(&r.memo),
            if reversed {
                Cell::Label("已冲正", "reversed")
            } else {
                Cell::Label("", "")
            },
        ]
    });
    Table {
        key: "receipts",
        zh: "收入明细",
        en: "Receipts",
        note_zh: "每一笔进账。出资人一栏是承诺值（哈希），本人可凭自己的收据核对，他人无法由此得知姓名。",
        note_en: "Every receipt. The contributor column is a commitment (hash): contributors can check theirs with their receipt; nobody learns a name from it.",
        columns: vec![
            col("sequence", "序号", "entry"),
            col("time", "时间", "time"),
            col("source", "来源", "source"),
            col("account", "入账账户", "account"),
            col("amount", "金额（元）", "amount (yuan)"),
            col("contributor", "出资人承诺", "contributor commitment"),
            col("document", "凭证哈希", "document hash"),
            col("memo", "摘要", "memo"),
            col("reversed", "冲正", "reversed"),
        ],
        rows: rows.collect(),
    }
}

fn allocations(c: &Collected) -> Table {
    let mut rows = Vec::new();
    for (sequence, at, from, project, amounts, memo) in &c.allocations {
        for (source, fen) in amounts.iter() {
            rows.push(vec![
                Cell::Count(*sequence),
                text(when(*at)),
                text(from),
                text(project),
                source_label(source),
                Cell::Fen(fen),
                text(memo),
            ]);
        }
    }
    Table {
        key: "allocations",
        zh: "项目拨款",
        en: "Allocations to projects",
        note_zh: "从资金池或风险准备金拨给项目的钱，按来源分行。",
        note_en: "Money moved from a fund pool or the reserve to a project, one row per source.",
        columns: vec![
            col("sequence", "序号", "entry"),
            col("time", "时间", "time"),
            col("from_account", "拨出账户", "from"),
            col("project", "项目", "project"),
            col("source", "来源", "source"),
            col("amount", "金额（元）", "amount (yuan)"),
            col("memo", "摘要", "memo"),
        ],
        rows,
    }
}

fn state_label(state: DisbursementState) -> Cell {
    match state {
        DisbursementState::Pending => Cell::Label("待处理", "pending"),
        DisbursementState::Executed => Cell::Label("已支付", "paid"),
        DisbursementState::Rejected => Cell::Label("已驳回", "rejected"),
        DisbursementState::Voided => Cell::Label("已作废", "voided"),
        DisbursementState::Reversed => Cell::Label("已冲正", "reversed"),
    }
}

fn disbursements(c: &Collected) -> Table {
    let mut list: Vec<_> = c
        .disbursements
        .iter()
        .filter_map(|id| c.state.disbursements.get(id))
        .collect();
    list.sort_by_key(|d| d.proposed_at);
    let mut rows = Vec::new();
    for d in list {
        let approvers: Vec<&str> = d
            .approvals
            .iter()
            .filter_map(|k| c.state.keys.get(k))
            .map(|k| k.name.as_str())
            .collect();
        let notice = d.notice_ends_ms.map(when).unwrap_or_default();
        let upheld = d
            .objections
            .iter()
            .filter_map(|o| c.state.objections.get(o))
            .filter(|o| o.state() == ledger_core::state::ObjectionState::Upheld)
            .count();
        for (source, fen) in d.amounts.iter() {
            rows.push(vec![
                Cell::Count(d.proposed_at),
                text(&d.project_id),
                text(&d.payee_account),
                source_label(source),
                Cell::Fen(fen),
                text(short(&d.contract_hash)),
                text(d.invoice_hash.map(|h| short(&h)).unwrap_or_default()),
                Cell::Count(d.approvals.len() as u64),
                text(approvers.join("、")),
                text(notice.clone()),
                Cell::Count(d.objections.len() as u64),
                Cell::Count(upheld as u64),
                state_label(d.state),
                text(d.ended_at.map(|s| s.to_string()).unwrap_or_default()),
                text(&d.memo),
            ]);
        }
    }
    Table {
        key: "disbursements",
        zh: "支出（付款）",
        en: "Disbursements",
        note_zh: "本期有任何动作（提出、批准、公示、异议、支付、驳回、作废、冲正）的每笔付款，状态为期末状态，按来源分行。",
        note_en: "Every disbursement with any action in the period (proposed, approved, noticed, objected to, paid, rejected, voided, reversed); state as at the end; one row per source.",
        columns: vec![
            col("proposal_sequence", "提出序号", "proposed at entry"),
            col("project", "项目", "project"),
            col("payee", "收款方", "payee"),
            col("source", "来源", "source"),
            col("amount", "金额（元）", "amount (yuan)"),
            col("contract", "合同哈希", "contract hash"),
            col("invoice", "发票哈希", "invoice hash"),
            col("approvals", "批准人数", "approvals"),
            col("approvers", "批准人", "approved by"),
            col("notice_ends", "公示截止", "notice ends"),
            col("objections", "异议数", "objections"),
            col("objections_upheld", "异议成立数", "objections upheld"),
            col("state", "期末状态", "state at the end"),
            col("ended_at", "了结序号", "ended at entry"),
            col("memo", "摘要", "memo"),
        ],
        rows,
    }
}

fn reversals(c: &Collected) -> Table {
    let rows = c
        .reversals
        .iter()
        .map(|(sequence, at, target, kind, reason)| {
            vec![
                Cell::Count(*sequence),
                text(when(*at)),
                Cell::Count(*target),
                text(*kind),
                text(reason),
            ]
        });
    Table {
        key: "reversals",
        zh: "冲正",
        en: "Reversals",
        note_zh: "冲正不删除原记录，而是新增一条反向记录；此处列出本期每次冲正及其更正的条目。",
        note_en: "A reversal never deletes the entry it corrects; it adds the opposite movement. Every reversal in the period and the entry it corrected.",
        columns: vec![
            col("sequence", "序号", "entry"),
            col("time", "时间", "time"),
            col("target_sequence", "被冲正条目", "corrected entry"),
            col("target_kind", "被冲正类型", "corrected kind"),
            col("reason", "原因", "reason"),
        ],
        rows: rows.collect(),
    }
}

fn reserve(c: &Collected) -> Table {
    let f = &c.flows;
    let mut rows = Vec::new();
    for source in FundSource::ALL {
        let figures = [
            c.opening.reserve,
            f.reserve_in,
            f.reserve_out,
            c.closing.reserve,
        ];
        if figures.iter().any(|a| a.get(source) > 0) {
            let mut row = vec![source_label(source)];
            row.extend(figures.iter().map(|a| Cell::Fen(a.get(source))));
            rows.push(row);
        }
    }
    Table {
        key: "reserve",
        zh: "风险准备金",
        en: "Risk reserve",
        note_zh: "期初 + 转入 − 转出 = 期末（按来源逐项核对）。",
        note_en: "Opening + in − out = closing, checked per source.",
        columns: vec![
            col("source", "资金来源", "source"),
            col("opening", "期初", "opening"),
            col("in", "转入", "in"),
            col("out", "转出", "out"),
            col("closing", "期末", "closing"),
        ],
        rows,
    }
}

fn projects(c: &Collected) -> Table {
    let mut rows = Vec::new();
    for project in c.state.projects.values() {
        for f in c.state.project_figures(project) {
            rows.push(vec![
                text(&project.id),
                text(&project.name),
                Cell::Label(project.stage.chinese_name(), project.stage.name()),
                source_label(f.source),
                Cell::Fen(f.budget),
                Cell::Fen(f.allocated),
                Cell::Fen(f.held),
                Cell::Fen(f.spent),
                Cell::Fen(f.remaining),
            ]);
        }
    }
    Table {
        key: "projects",
        zh: "项目预算与执行",
        en: "Projects: budget and spending",
        note_zh: "期末每个项目按来源的预算、已拨款、冻结（待付款占用）、已支出、结余；结余 = 已拨款 − 已支出 − 冻结。",
        note_en: "Each project at the end, per source: budget, allocated, held by pending payments, spent, remaining (= allocated − spent − held).",
        columns: vec![
            col("project", "项目编号", "project"),
            col("name", "项目名称", "name"),
            col("stage", "阶段", "stage"),
            col("source", "来源", "source"),
            col("budget", "预算", "budget"),
            col("allocated", "已拨款", "allocated"),
            col("held", "冻结", "held"),
            col("spent", "已支出", "spent"),
            col("remaining", "结余", "remaining"),
        ],
        rows,
    }
}

fn governance_label(kind: &str) -> Cell {
    match kind {
        "genesis" => Cell::Label("建账", "genesis"),
        "checkpoint_key_rotated" => Cell::Label("更换节点签名密钥", "checkpoint key rotated"),
        "policy_changed" => Cell::Label("修改规则", "policy changed"),
        "key_registered" => Cell::Label("登记密钥", "key registered"),
        "key_revoked" => Cell::Label("吊销密钥", "key revoked"),
        other => Cell::Text(other.to_string()),
    }
}

/// What a key or policy entry did, in the ledger's own terms (names, roles, fingerprints,
/// figures), the same in both languages.
pub fn governance_detail(kind: &Kind, state: &State) -> String {
    let policy = |p: &ledger_core::state::Policy| {
        format!(
            "threshold {} / approver_quorum {} / admin_quorum {} / reserve {}bp / notice {}d / window {}d / objection_response {}d",
            format_yuan(p.approval_threshold_fen), p.approver_quorum, p.admin_quorum, p.reserve_ratio_bp,
            p.notice_days, p.approval_window_days, p.objection_response_days
        )
    };
    match kind {
        Kind::Genesis {
            ledger_name,
            policy: p,
            witnesses,
            witness_quorum,
            ..
        } => {
            format!(
                "{ledger_name} / {} / witnesses {}/{}",
                policy(p),
                witness_quorum,
                witnesses.len()
            )
        }
        Kind::CheckpointKeyRotated { new_key, reason } => {
            format!(
                "{} / {reason}",
                ledger_core::signing::KeyId::of(new_key).fingerprint()
            )
        }
        Kind::PolicyChanged { policy: p, reason } => format!("{} / {reason}", policy(p)),
        Kind::KeyRegistered(k) => format!(
            "{} / {} / {}",
            k.name,
            k.role.name(),
            k.key_id.fingerprint()
        ),
        Kind::KeyRevoked { key_id, reason } => {
            let name = state
                .keys
                .get(key_id)
                .map(|k| k.name.as_str())
                .unwrap_or("");
            format!("{name} / {} / {reason}", key_id.fingerprint())
        }
        _ => String::new(),
    }
}

fn governance(c: &Collected) -> Table {
    let rows = c.governance.iter().map(|(sequence, at, kind, what)| {
        vec![
            Cell::Count(*sequence),
            text(when(*at)),
            governance_label(kind),
            text(what),
        ]
    });
    Table {
        key: "governance",
        zh: "密钥与规则变更",
        en: "Key and policy changes",
        note_zh: "本期登记、吊销的密钥，规则（审批门槛、人数、公示期等）的修改，节点签名密钥的更换。",
        note_en: "Keys registered and revoked, policy changes (threshold, quorums, notice period), checkpoint key rotations in the period.",
        columns: vec![
            col("sequence", "序号", "entry"),
            col("time", "时间", "time"),
            col("kind", "类型", "kind"),
            col("detail", "内容", "detail"),
        ],
        rows: rows.collect(),
    }
}
