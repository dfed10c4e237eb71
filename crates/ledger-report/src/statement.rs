//! The disclosure statement for one period: built from a snapshot the verifier has just
//! checked, entry by entry, with the same fold the verifier runs. Node and verifier both call
//! [`make`], so a statement is a pure function of the ledger's entries and the period.
//!
//! Which entries a period covers is fixed by the entries themselves: node time never goes
//! back (a verified rule), so the period is the run of sequence numbers `[first, end)` whose
//! times fall in it. The statement is the fold at `end`, and names the Merkle root at tree
//! size `end`, which any later snapshot of the same ledger reproduces.

use std::collections::BTreeSet;

use ledger_core::merkle::{entry_leaf_hash, CompactTree};
use ledger_core::snapshot::SnapshotReader;
use ledger_core::state::{AccountKind, Amounts, FundSource, State, RESERVE_ACCOUNT};
use ledger_core::tx::{Kind, TxId};
use ledger_core::Hash;
use ledger_verifier::check::{verify_snapshot, Verified};
use ledger_verifier::trust::Trust;

use crate::period::{format_cst, Period};
use crate::table::Table;
use crate::tables;

/// A finished statement: the period, the point of the ledger it is the fold at, its tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub ledger_name: String,
    pub ledger_fingerprint: String,
    pub period: Period,
    /// The first entry in the period, and the first after it (= the tree size the statement is
    /// the fold at).
    pub first_sequence: u64,
    pub tree_size: u64,
    /// The Merkle root of the ledger's first `tree_size` entries.
    pub root: Hash,
    /// Whether an entry after the period exists (among the entries used), so nothing can be
    /// added to it any more. Said by the commands, not in the files: the files must be the
    /// same from any snapshot that holds the same entries.
    pub closed: bool,
    pub tables: Vec<Table>,
}

/// Why no statement was made. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("快照未通过核验，不能据此出报表：{code}：{message}\nthe snapshot failed verification, so no statement is made from it: {code}: {message}")]
    NotVerified { code: &'static str, message: String },
    #[error("期间 {0} 在账本第一条记录之前结束，没有可报告的内容。\nthe period {0} ends before the ledger's first entry: there is nothing to report")]
    BeforeLedger(String),
    #[error("期间 {0} 在账本最后一条记录之后才开始，还没有记录。\nthe period {0} starts after the ledger's last entry: nothing has been recorded in it yet")]
    AfterLedger(String),
    #[error("--at {at} 超出快照的 {size} 条记录。\n--at {at} is beyond the snapshot's {size} entries (and must be at least 1)")]
    BeyondSnapshot { at: u64, size: u64 },
    #[error("报表对不上账（{fund_source}）：期初 {opening} + 流入 {inflow} − 流出 {outflow} ≠ 期末 {closing} 分。这是程序错误，请报告。\nthe statement does not reconcile for {fund_source}: opening {opening} + in {inflow} − out {outflow} ≠ closing {closing} fen. This is a bug; please report it")]
    DoesNotReconcile {
        fund_source: &'static str,
        opening: u64,
        inflow: u64,
        outflow: u64,
        closing: u64,
    },
}

/// Money held by the community per source: in fund pools, projects and the reserve (not paid
/// out to payees, not outside the ledger).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Holdings {
    pub held: Amounts,
    pub reserve: Amounts,
}

impl Holdings {
    fn of(state: &State) -> Holdings {
        let mut out = Holdings::default();
        for account in state.accounts.values() {
            if is_held(Some(account.kind)) {
                out.held = out
                    .held
                    .checked_add(&account.balance)
                    .expect("within MAX_TOTAL_FEN");
            }
            if account.kind == AccountKind::Reserve {
                out.reserve = out
                    .reserve
                    .checked_add(&account.balance)
                    .expect("within MAX_TOTAL_FEN");
            }
        }
        out
    }
}

fn is_held(kind: Option<AccountKind>) -> bool {
    matches!(
        kind,
        Some(AccountKind::FundPool(_) | AccountKind::Project | AccountKind::Reserve)
    )
}

/// Money that crossed the community's holdings in the period, per source, by why.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flows {
    pub received: Amounts,
    pub paid: Amounts,
    pub reversed_in: Amounts,
    pub reversed_out: Amounts,
    /// Any other kind of entry that moved money across: none does today; if one ever does,
    /// the statement refuses to reconcile rather than print a figure without a column.
    pub unexplained_in: Amounts,
    pub unexplained_out: Amounts,
    pub reserve_in: Amounts,
    pub reserve_out: Amounts,
}

fn add(to: &mut Amounts, source: FundSource, fen: u64) {
    let sum = to
        .get(source)
        .checked_add(fen)
        .expect("within MAX_TOTAL_FEN");
    to.set(source, sum);
}

/// A receipt in the period; whether it was later reversed is read at the period's end.
pub struct Receipt {
    pub sequence: u64,
    pub timestamp_ms: i64,
    pub tx_id: TxId,
    pub source: FundSource,
    pub to_account: String,
    pub amount: u64,
    pub contributor: Option<Hash>,
    pub document: Option<Hash>,
    pub memo: String,
}

/// What the fold of the period collects before the tables are made.
pub struct Collected {
    pub opening: Holdings,
    pub closing: Holdings,
    pub flows: Flows,
    pub receipts: Vec<Receipt>,
    /// (sequence, time, from, project, amounts, memo)
    pub allocations: Vec<(u64, i64, String, String, Amounts, String)>,
    /// Disbursements with any entry in the period, by proposal.
    pub disbursements: BTreeSet<TxId>,
    /// (sequence, time, target sequence, target kind, reason)
    pub reversals: Vec<(u64, i64, u64, &'static str, String)>,
    /// (sequence, time, kind, what)
    pub governance: Vec<(u64, i64, &'static str, String)>,
    /// The state at the period's end.
    pub state: State,
}

struct Builder {
    first: u64,
    end: u64,
    tree: CompactTree,
    root: Option<Hash>,
    opening: Option<Holdings>,
    closing: Option<(Holdings, State)>,
    flows: Flows,
    receipts: Vec<Receipt>,
    allocations: Vec<(u64, i64, String, String, Amounts, String)>,
    disbursements: BTreeSet<TxId>,
    reversals: Vec<(u64, i64, u64, &'static str, String)>,
    governance: Vec<(u64, i64, &'static str, String)>,
}

impl Builder {
    fn feed(&mut self, v: Verified<'_>) {
        let sequence = v.entry.sequence;
        if sequence >= self.end {
            return;
        }
        self.tree.append(entry_leaf_hash(v.entry), |_, _, _| {});
        if sequence >= self.first {
            self.record(&v);
        }
        if sequence + 1 == self.first {
            self.opening = Some(Holdings::of(v.state));
        }
        if sequence + 1 == self.end {
            assert_eq!(self.tree.size(), self.end);
            self.root = Some(self.tree.root());
            self.closing = Some((Holdings::of(v.state), v.state.clone()));
        }
    }

    fn record(&mut self, v: &Verified<'_>) {
        let (sequence, at) = (v.entry.sequence, v.entry.timestamp_ms);
        let kind_name = v.prepared.tx.kind.name();
        self.flow(v.state, kind_name, v.effects.movements());
        let tx_id = v.prepared.tx.tx_id;
        match &v.prepared.tx.kind {
            Kind::FundsReceived {
                source,
                to_account,
                amount,
                contributor_commitment,
                memo,
                document_hash,
            } => {
                self.receipts.push(Receipt {
                    sequence,
                    timestamp_ms: at,
                    tx_id,
                    source: *source,
                    to_account: to_account.clone(),
                    amount: *amount,
                    contributor: *contributor_commitment,
                    document: *document_hash,
                    memo: memo.clone(),
                });
            }
            Kind::FundsAllocated {
                from_account,
                project_id,
                amounts,
                memo,
            } => {
                self.allocations.push((
                    sequence,
                    at,
                    from_account.clone(),
                    project_id.clone(),
                    *amounts,
                    memo.clone(),
                ));
            }
            Kind::DisbursementProposed { .. } => {
                self.disbursements.insert(tx_id);
            }
            Kind::DisbursementApproved { proposal }
            | Kind::DisbursementRejected { proposal, .. }
            | Kind::DisbursementExecuted { proposal }
            | Kind::DisbursementVoided { proposal, .. }
            | Kind::ObjectionFiled { proposal, .. } => {
                self.disbursements.insert(*proposal);
            }
            Kind::EntryReversed { target, reason } => {
                let record = v
                    .state
                    .txs
                    .get(target)
                    .expect("a reversal names a recorded entry");
                if record.kind == "disbursement_executed" || record.kind == "disbursement_proposed"
                {
                    if let Some(d) = v
                        .state
                        .disbursements
                        .values()
                        .find(|d| d.ended_at == Some(sequence))
                    {
                        self.disbursements.insert(d.proposal);
                    }
                }
                self.reversals
                    .push((sequence, at, record.sequence, record.kind, reason.clone()));
            }
            Kind::Genesis { .. }
            | Kind::CheckpointKeyRotated { .. }
            | Kind::PolicyChanged { .. }
            | Kind::KeyRegistered(_)
            | Kind::KeyRevoked { .. } => {
                self.governance.push((
                    sequence,
                    at,
                    kind_name,
                    tables::governance_detail(&v.prepared.tx.kind, v.state),
                ));
            }
            Kind::AccountOpened { .. }
            | Kind::ProjectCreated { .. }
            | Kind::EntryAnnotated { .. }
            | Kind::ObjectionAnswered { .. }
            | Kind::ObjectionResolved { .. }
            | Kind::ProjectCompleted { .. }
            | Kind::ProjectEvaluated { .. }
            | Kind::ProjectAccepted { .. }
            | Kind::ProjectClosed { .. } => {}
        }
    }

    /// Classifies each movement by whether it crossed the community's holdings.
    fn flow<'a>(
        &mut self,
        state: &State,
        kind: &str,
        movements: impl Iterator<Item = &'a ledger_core::state::Movement>,
    ) {
        let f = &mut self.flows;
        for m in movements {
            let (from, to) = (
                is_held(state.account_kind(&m.from)),
                is_held(state.account_kind(&m.to)),
            );
            let (s, fen) = (m.source, m.amount);
            match (from, to, kind) {
                (false, true, "funds_received") => add(&mut f.received, s, fen),
                (false, true, "entry_reversed") => add(&mut f.reversed_in, s, fen),
                (false, true, _) => add(&mut f.unexplained_in, s, fen),
                (true, false, "disbursement_executed") => add(&mut f.paid, s, fen),
                (true, false, "entry_reversed") => add(&mut f.reversed_out, s, fen),
                (true, false, _) => add(&mut f.unexplained_out, s, fen),
                _ => {}
            }
            if m.to == RESERVE_ACCOUNT && m.from != RESERVE_ACCOUNT {
                add(&mut f.reserve_in, s, fen);
            }
            if m.from == RESERVE_ACCOUNT && m.to != RESERVE_ACCOUNT {
                add(&mut f.reserve_out, s, fen);
            }
        }
    }
}

/// Opening + in − out = closing, per source, for the holdings and for the reserve alone.
fn reconcile(c: &Collected) -> Result<(), ReportError> {
    let f = &c.flows;
    for source in FundSource::ALL {
        let checks = [
            (
                c.opening.held,
                [f.received, f.reversed_in, f.unexplained_in],
                [f.paid, f.reversed_out, f.unexplained_out],
                c.closing.held,
            ),
            (
                c.opening.reserve,
                [f.reserve_in, Amounts::ZERO, Amounts::ZERO],
                [f.reserve_out, Amounts::ZERO, Amounts::ZERO],
                c.closing.reserve,
            ),
        ];
        for (opening, ins, outs, closing) in checks {
            let inflow: u64 = ins.iter().map(|a| a.get(source)).sum();
            let outflow: u64 = outs.iter().map(|a| a.get(source)).sum();
            let (opening, closing) = (opening.get(source), closing.get(source));
            let ok = f.unexplained_in.get(source) == 0
                && f.unexplained_out.get(source) == 0
                && opening
                    .checked_add(inflow)
                    .and_then(|x| x.checked_sub(outflow))
                    == Some(closing);
            if !ok {
                return Err(ReportError::DoesNotReconcile {
                    fund_source: source.slug(),
                    opening,
                    inflow,
                    outflow,
                    closing,
                });
            }
        }
    }
    Ok(())
}

/// The entries a period covers: `[first, end)` by sequence, found from the entries' times.
fn bounds(
    snapshot: &[u8],
    period: &Period,
    at: Option<u64>,
) -> Result<(u64, u64, u64), ReportError> {
    let not_verified = |e: ledger_core::snapshot::SnapshotError| ReportError::NotVerified {
        code: "SNAPSHOT_MALFORMED",
        message: e.to_string(),
    };
    let mut reader = SnapshotReader::open(snapshot).map_err(not_verified)?;
    let (mut first, mut end, mut total) = (None, None, 0u64);
    let limit = at.unwrap_or(u64::MAX);
    while let Some(entry) = reader.next_entry().map_err(not_verified)? {
        total += 1;
        if entry.sequence >= limit {
            continue;
        }
        if first.is_none() && entry.timestamp_ms >= period.start_ms() {
            first = Some(entry.sequence);
        }
        if end.is_none() && entry.timestamp_ms >= period.end_ms() {
            end = Some(entry.sequence);
        }
    }
    if limit != u64::MAX && (limit > total || limit == 0) {
        return Err(ReportError::BeyondSnapshot {
            at: limit,
            size: total,
        });
    }
    let count = total.min(limit);
    let end = end.unwrap_or(count);
    let first = first.unwrap_or(count).min(end);
    if end == 0 {
        return Err(ReportError::BeforeLedger(period.name()));
    }
    if first == count {
        return Err(ReportError::AfterLedger(period.name()));
    }
    Ok((first, end, count))
}

/// Verifies `snapshot` against `trust` (and the witnesses a resident requires), then makes the
/// statement for `period` from its first `at` entries (all when `None`): `at` remakes a
/// statement printed while its period was still running. Nothing is reported from a snapshot
/// that fails.
pub fn make(
    snapshot: &[u8],
    trust: &Trust,
    required_witnesses: &[ledger_core::checkpoint::WitnessKey],
    threads: usize,
    period: Period,
    at: Option<u64>,
) -> Result<Statement, ReportError> {
    let (first, end, count) = match bounds(snapshot, &period, at) {
        Ok(found) => found,
        // Nothing is said about what a snapshot holds before it is verified: a forged or
        // damaged one must fail as such, not read as "nothing recorded in this period".
        Err(e) => {
            let outcome = verify_snapshot(
                snapshot,
                trust,
                required_witnesses,
                threads,
                |_| {},
                |_, _| {},
            );
            return Err(match outcome.failure {
                Some(f) => ReportError::NotVerified {
                    code: f.code,
                    message: f.message,
                },
                None => e,
            });
        }
    };
    let mut b = Builder {
        first,
        end,
        tree: CompactTree::new(),
        root: None,
        opening: (first == 0).then(Holdings::default),
        closing: None,
        flows: Flows::default(),
        receipts: Vec::new(),
        allocations: Vec::new(),
        disbursements: BTreeSet::new(),
        reversals: Vec::new(),
        governance: Vec::new(),
    };
    let outcome = verify_snapshot(
        snapshot,
        trust,
        required_witnesses,
        threads,
        |v| b.feed(v),
        |_, _| {},
    );
    if let Some(failure) = outcome.failure {
        return Err(ReportError::NotVerified {
            code: failure.code,
            message: failure.message,
        });
    }
    let (closing, state) = b.closing.expect("the fold reached the period's end");
    let collected = Collected {
        opening: b.opening.expect("the fold passed the period's start"),
        closing,
        flows: b.flows,
        receipts: b.receipts,
        allocations: b.allocations,
        disbursements: b.disbursements,
        reversals: b.reversals,
        governance: b.governance,
        state,
    };
    reconcile(&collected)?;
    let ledger = collected
        .state
        .ledger
        .as_ref()
        .expect("a verified ledger has a genesis");
    let mut statement = Statement {
        ledger_name: ledger.name.clone(),
        ledger_fingerprint: outcome
            .ledger_fingerprint
            .expect("a verified ledger has a fingerprint"),
        period,
        first_sequence: first,
        tree_size: end,
        root: b.root.expect("the fold reached the period's end"),
        closed: end < count,
        tables: Vec::new(),
    };
    statement.tables = tables::all(&statement, &collected);
    for table in &statement.tables {
        table.assert_rectangular();
    }
    Ok(statement)
}

/// "2026-03-31 14:05" for a node time, as every table prints it.
pub fn when(ms: i64) -> String {
    format_cst(ms)
}
