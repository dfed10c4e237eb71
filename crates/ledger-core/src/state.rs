//! The ledger's state: what a fold of all entries so far has built. Only [`State::commit`]
//! changes it, with the [`Effects`] that [`crate::rules::apply`] computed and checked, so the
//! node and the verifier can never diverge on what an entry did.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use ed25519_dalek::VerifyingKey;

use crate::signing::KeyId;
use crate::tx::TxId;
pub use crate::types::{Amounts, FundSource, Policy, Role};
use crate::Hash;

/// The payee that all payees opened without the representatives' quorum count as, for
/// unapproved payments: opening many payees (by finance, or by admins, who are not co-managers)
/// does not multiply what may be paid without the representatives.
pub const UNCONFIRMED_PAYEES: &str = "*payees not confirmed by the representatives*";

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerInfo {
    pub ledger_id: String,
    pub name: String,
    pub currency: String,
    pub policy: Policy,
    pub created_ms: i64,
    /// The key checkpoints of this ledger are signed with now (named by the genesis, replaced
    /// by `checkpoint_key_rotated` entries).
    pub checkpoint_key: VerifyingKey,
    /// Every checkpoint key the ledger has had, oldest first, each with the smallest tree size
    /// it signs: the genesis key from 0, a key rotated in at entry `r` from `r + 1` (the first
    /// tree that contains the rotation).
    pub checkpoint_keys: Vec<(u64, VerifyingKey)>,
    /// The witnesses whose cosignatures a checkpoint needs, and how many of them.
    pub witnesses: Vec<crate::checkpoint::WitnessKey>,
    pub witness_quorum: u32,
}

impl LedgerInfo {
    /// The key a checkpoint of `tree_size` must be signed by: the one in force at that size.
    pub fn checkpoint_key_at(&self, tree_size: u64) -> VerifyingKey {
        let (_, key) = self
            .checkpoint_keys
            .iter()
            .rev()
            .find(|(from, _)| *from <= tree_size)
            .expect("the genesis key signs from size 0");
        *key
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyRecord {
    pub key_id: KeyId,
    pub public_key: VerifyingKey,
    pub role: Role,
    pub name: String,
    pub registered_at: u64,
    pub revoked_at: Option<u64>,
}

/// The id of the risk reserve account, opened by genesis.
pub const RESERVE_ACCOUNT: &str = "reserve";
/// Prefix of the implicit external account per source (`external:fiscal`): where money comes
/// from. It is the only kind of account whose balance is not held in the ledger.
pub const EXTERNAL_PREFIX: &str = "external:";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum AccountKind {
    FundPool(FundSource),
    Project,
    Payee,
    Reserve,
    External(FundSource),
}

impl AccountKind {
    pub fn name(self) -> &'static str {
        match self {
            AccountKind::FundPool(_) => "fund_pool",
            AccountKind::Project => "project",
            AccountKind::Payee => "payee",
            AccountKind::Reserve => "reserve",
            AccountKind::External(_) => "external",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    pub id: String,
    pub kind: AccountKind,
    pub name: String,
    pub balance: Amounts,
    /// Part of the balance committed to pending disbursements.
    pub held: Amounts,
}

impl Account {
    /// What can still be moved out: balance less what pending disbursements hold.
    pub fn available(&self) -> Amounts {
        self.balance
            .checked_sub(&self.held)
            .expect("held never exceeds balance")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub description: String,
    pub budget: Amounts,
    pub allocated: Amounts,
    pub spent: Amounts,
    pub stage: ProjectStage,
    /// Net allocations per account the money came from (a fund pool or the reserve): where the
    /// remainder goes back when the project closes.
    pub funded_by: BTreeMap<String, Amounts>,
    /// What went back to the pools at closing, per source.
    pub returned: Amounts,
    /// The latest evaluation by each key (an auditor's inspection, a representative's verdict).
    pub evaluations: BTreeMap<KeyId, Evaluation>,
}

/// Where a project is in its life: 建设中 → 竣工 → 验收 → 结项.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ProjectStage {
    InProgress,
    Completed,
    Accepted,
    Closed,
}

impl ProjectStage {
    pub const ALL: [ProjectStage; 4] = [
        ProjectStage::InProgress,
        ProjectStage::Completed,
        ProjectStage::Accepted,
        ProjectStage::Closed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ProjectStage::InProgress => "in_progress",
            ProjectStage::Completed => "completed",
            ProjectStage::Accepted => "accepted",
            ProjectStage::Closed => "closed",
        }
    }

    pub fn chinese_name(self) -> &'static str {
        match self {
            ProjectStage::InProgress => "建设中",
            ProjectStage::Completed => "已竣工",
            ProjectStage::Accepted => "已验收",
            ProjectStage::Closed => "已结项",
        }
    }
}

/// One key's evaluation of a completed project (效果共评).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    pub key_id: KeyId,
    pub role: Role,
    pub satisfied: bool,
    pub comment: String,
    pub report_hash: Option<Hash>,
    /// Sequence of the entry that made it.
    pub at: u64,
}

/// An objection (异议) to a disbursement on public notice.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Objection {
    pub id: TxId,
    pub proposal: TxId,
    pub filed_by: KeyId,
    pub filed_role: Role,
    pub filed_at: u64,
    pub filed_ms: i64,
    pub text: String,
    pub document_hash: Option<Hash>,
    /// Node time by which the finance office should answer (the policy when it was filed).
    pub response_due_ms: i64,
    pub answer: Option<ObjectionAnswer>,
    pub resolution: Option<ObjectionResolution>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectionAnswer {
    pub at: u64,
    pub at_ms: i64,
    pub text: String,
    pub document_hashes: Vec<Hash>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectionResolution {
    pub at: u64,
    pub at_ms: i64,
    pub upheld: bool,
    pub reason: String,
    pub by: BTreeSet<KeyId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ObjectionState {
    /// Filed, not yet answered by the finance office.
    Open,
    /// Answered, waiting for the representatives' decision.
    Answered,
    Upheld,
    Dismissed,
}

impl ObjectionState {
    pub fn name(self) -> &'static str {
        match self {
            ObjectionState::Open => "open",
            ObjectionState::Answered => "answered",
            ObjectionState::Upheld => "upheld",
            ObjectionState::Dismissed => "dismissed",
        }
    }

    /// Whether it still blocks its disbursement.
    pub fn is_unresolved(self) -> bool {
        matches!(self, ObjectionState::Open | ObjectionState::Answered)
    }
}

impl Objection {
    pub fn state(&self) -> ObjectionState {
        match (&self.answer, &self.resolution) {
            (_, Some(r)) if r.upheld => ObjectionState::Upheld,
            (_, Some(_)) => ObjectionState::Dismissed,
            (Some(_), None) => ObjectionState::Answered,
            (None, None) => ObjectionState::Open,
        }
    }

    /// Unanswered past its response deadline at node time `now_ms`.
    pub fn answer_overdue(&self, now_ms: i64) -> bool {
        let answered_ms = self.answer.as_ref().map(|a| a.at_ms);
        match answered_ms {
            Some(at) => at > self.response_due_ms,
            None => self.resolution.is_none() && now_ms > self.response_due_ms,
        }
    }
}

/// One project's money from one fund source, as the node and the verifier publish it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SourceFigures {
    pub source: FundSource,
    pub budget: u64,
    pub allocated: u64,
    pub spent: u64,
    /// Committed to pending disbursements.
    pub held: u64,
    /// Allocated and neither spent nor held.
    pub remaining: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum DisbursementState {
    Pending,
    Executed,
    Rejected,
    Voided,
    Reversed,
}

impl DisbursementState {
    pub fn name(self) -> &'static str {
        match self {
            DisbursementState::Pending => "pending",
            DisbursementState::Executed => "executed",
            DisbursementState::Rejected => "rejected",
            DisbursementState::Voided => "voided",
            DisbursementState::Reversed => "reversed",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Disbursement {
    pub proposal: TxId,
    pub proposed_at: u64,
    pub proposer: BTreeSet<KeyId>,
    pub project_id: String,
    pub payee_account: String,
    pub amounts: Amounts,
    pub total: u64,
    pub contract_hash: Hash,
    pub invoice_hash: Option<Hash>,
    pub memo: String,
    pub approvals: BTreeSet<KeyId>,
    pub state: DisbursementState,
    /// Whether approver quorum is needed (total at or above the policy threshold).
    pub needs_quorum: bool,
    /// When the approver quorum approved it under a policy with a notice period: the node
    /// time its public notice (公示) ends; it cannot be executed before.
    pub notice_ends_ms: Option<i64>,
    /// Objections filed against it, in order.
    pub objections: Vec<TxId>,
    /// The entry that paid, rejected, voided or reversed it (the latest such); `None` while
    /// pending. Readers show its reason and signers from there.
    pub ended_at: Option<u64>,
}

/// What a reversal of an entry must undo.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reversible {
    Receipt {
        source: FundSource,
        pool: String,
        to_pool: u64,
        to_reserve: u64,
    },
    Allocation {
        from_account: String,
        project_id: String,
        amounts: Amounts,
    },
    Disbursement,
    NotReversible,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxRecord {
    pub sequence: u64,
    pub body_hash: Hash,
    pub kind: &'static str,
    pub reversible: Reversible,
    pub reversed_by: Option<TxId>,
    /// The sequence of the entry that reversed it (with `reversed_by`).
    pub reversed_at: Option<u64>,
}

impl TxRecord {
    /// The sequence of the last entry that changed this record.
    pub fn last_changed(&self) -> u64 {
        self.reversed_at.unwrap_or(self.sequence).max(self.sequence)
    }

    /// This record as it stood before entry `next_sequence`: `None` when it did not exist yet,
    /// without a reversal that came at or after it.
    pub fn seen_before(mut self, next_sequence: u64) -> Option<TxRecord> {
        if self.sequence >= next_sequence {
            return None;
        }
        if self.reversed_at.is_some_and(|at| at >= next_sequence) {
            self.reversed_by = None;
            self.reversed_at = None;
        }
        Some(self)
    }
}

/// Where the records of transactions live that a fold no longer keeps in memory (the node's
/// on-disk index), so its memory does not grow with history. A holder may return a record
/// written by a later entry than the fold has reached (an index ahead of a saved fold):
/// [`State::tx`] hides what the fold has not reached yet.
pub trait TxHistory: Send + Sync {
    /// The record of `tx_id` as last written, `None` when none was. An error must never be
    /// read as `None`: the caller refuses the transaction instead (a duplicate let through
    /// would be worse than a retry).
    fn record(&self, tx_id: &TxId) -> Result<Option<TxRecord>, HistoryError>;
}

/// The history could not be read: the transaction that needed it is refused, to be retried.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the transaction index cannot be read: {0}")]
pub struct HistoryError(pub String);

/// The optional history of a [`State`]. Not part of the fold's value: two states with the same
/// records (in memory or in a history) compare by what they hold in memory only.
#[derive(Clone, Default)]
pub struct History(Option<Arc<dyn TxHistory>>);

impl History {
    pub fn new(history: Arc<dyn TxHistory>) -> History {
        History(Some(history))
    }
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "History(index)"
        } else {
            "History(none)"
        })
    }
}

impl PartialEq for History {
    fn eq(&self, _: &History) -> bool {
        true
    }
}

impl Eq for History {}

/// One movement of money between two accounts, in one source: double entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movement {
    pub from: String,
    pub to: String,
    pub source: FundSource,
    pub amount: u64,
}

/// A single change to the state. [`crate::rules::apply`] produces them only after checking
/// that every one of them is allowed, so [`State::commit`] asserts instead of checking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    LedgerCreated(LedgerInfo),
    /// A new checkpoint key, in force for trees of `from_size` entries and more.
    CheckpointKeyRotated {
        key: VerifyingKey,
        from_size: u64,
    },
    KeyRegistered(KeyRecord),
    KeyRevoked {
        key_id: KeyId,
        at: u64,
    },
    AccountOpened(Account),
    ProjectCreated(Project),
    Moved(Movement),
    Held {
        account: String,
        amounts: Amounts,
    },
    Released {
        account: String,
        amounts: Amounts,
    },
    DisbursementSet(Disbursement),
    /// `target` was reversed: its record (with `reversed_by` set) as it is from now on.
    Reversed {
        target: TxId,
        record: TxRecord,
    },
    /// A payee opened without the approver quorum among its signers.
    PayeeUnconfirmed(String),
    /// The ledger's policy from now on.
    PolicyChanged(Policy),
    ProjectStageSet {
        project_id: String,
        stage: ProjectStage,
    },
    ProjectEvaluated {
        project_id: String,
        evaluation: Evaluation,
    },
    /// What a closing project gave back to the pools (the movements are separate changes).
    ProjectReturned {
        project_id: String,
        returned: Amounts,
    },
    ObjectionSet(Objection),
    /// A payment made without the approver quorum, counted against `bucket`'s window.
    UnapprovedPaid {
        bucket: String,
        at_ms: i64,
        total: u64,
        window_ms: i64,
    },
}

/// What one accepted transaction does to the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effects {
    pub tx_id: TxId,
    pub record: TxRecord,
    pub changes: Vec<Change>,
}

impl Effects {
    /// The transaction records this entry wrote: its own, and a reversed target's.
    pub fn records(&self) -> Vec<(TxId, TxRecord)> {
        let mut records = vec![(self.tx_id, self.record.clone())];
        for change in &self.changes {
            if let Change::Reversed { target, record } = change {
                records.push((*target, record.clone()));
            }
        }
        records
    }

    pub fn movements(&self) -> impl Iterator<Item = &Movement> {
        self.changes.iter().filter_map(|c| match c {
            Change::Moved(m) => Some(m),
            _ => None,
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct State {
    pub ledger: Option<LedgerInfo>,
    pub keys: BTreeMap<KeyId, KeyRecord>,
    pub accounts: BTreeMap<String, Account>,
    pub projects: BTreeMap<String, Project>,
    pub disbursements: HashMap<TxId, Disbursement>,
    pub objections: BTreeMap<TxId, Objection>,
    /// Records of transactions: all of them, or (with a [`History`]) those not yet in it.
    /// Read them through [`State::tx`], which looks in both.
    pub txs: HashMap<TxId, TxRecord>,
    #[serde(skip)]
    pub history: History,
    /// Money that entered the ledger per source (receipts less reversed receipts).
    pub received: Amounts,
    /// Sequence number the next entry will have.
    pub next_sequence: u64,
    /// Node timestamp of the last entry.
    pub last_timestamp_ms: i64,
    /// Payees opened without the approver quorum (they share one unapproved-payment window).
    pub unconfirmed_payees: BTreeSet<String>,
    /// Per payee (or `UNCONFIRMED_PAYEES`): the (node time, total) of each payment made
    /// without the approver quorum within the approval window, oldest first.
    pub unapproved_paid: BTreeMap<String, VecDeque<(i64, u64)>>,
}

pub fn external_account(source: FundSource) -> String {
    format!("{EXTERNAL_PREFIX}{}", source.slug())
}

impl State {
    pub fn new() -> State {
        State::default()
    }

    /// The record of transaction `tx_id` as of this fold: in memory, or in the history.
    pub fn tx(&self, tx_id: &TxId) -> Result<Option<TxRecord>, HistoryError> {
        if let Some(record) = self.txs.get(tx_id) {
            return Ok(Some(record.clone()));
        }
        match &self.history.0 {
            None => Ok(None),
            Some(history) => Ok(history
                .record(tx_id)?
                .and_then(|r| r.seen_before(self.next_sequence))),
        }
    }

    /// Whether transaction `tx_id` is in this fold.
    pub fn knows_tx(&self, tx_id: &TxId) -> Result<bool, HistoryError> {
        Ok(self.tx(tx_id)?.is_some())
    }

    /// Drops from memory the records that the history holds (everything last changed before
    /// entry `indexed`): the holder calls this once the history has them, durably or repaired
    /// from the log on a start.
    pub fn forget_indexed(&mut self, indexed: u64) {
        assert!(
            self.history.0.is_some(),
            "forgetting records needs a history"
        );
        self.txs.retain(|_, r| r.last_changed() >= indexed);
    }

    /// Which window an unapproved payment to `payee` counts in.
    pub fn unapproved_bucket(&self, payee: &str) -> String {
        if self.unconfirmed_payees.contains(payee) {
            UNCONFIRMED_PAYEES.to_string()
        } else {
            payee.to_string()
        }
    }

    /// What `bucket` received without the approver quorum in the window ending at `now_ms`.
    pub fn unapproved_in_window(&self, bucket: &str, now_ms: i64, window_ms: i64) -> u64 {
        self.unapproved_paid
            .get(bucket)
            .map(|paid| {
                paid.iter()
                    .filter(|(t, _)| *t > now_ms - window_ms)
                    .map(|(_, fen)| *fen)
                    .fold(0u64, u64::saturating_add)
            })
            .unwrap_or(0)
    }

    /// Public key of a registered key that may sign at sequence `at` (not revoked before it).
    pub fn signing_key(&self, key_id: &KeyId) -> Option<VerifyingKey> {
        self.keys.get(key_id).map(|k| k.public_key)
    }

    /// A project's figures for each source it has a budget or money from.
    pub fn project_figures(&self, project: &Project) -> Vec<SourceFigures> {
        let held = self
            .accounts
            .get(&project.id)
            .map(|a| a.held)
            .unwrap_or_default();
        FundSource::ALL
            .into_iter()
            .filter(|s| {
                project.budget.get(*s) > 0
                    || project.allocated.get(*s) > 0
                    || project.spent.get(*s) > 0
            })
            .map(|source| {
                let allocated = project.allocated.get(source);
                let (spent, held) = (project.spent.get(source), held.get(source));
                SourceFigures {
                    source,
                    budget: project.budget.get(source),
                    allocated,
                    spent,
                    held,
                    // The rules never let spending and holds exceed what was allocated.
                    remaining: allocated
                        .checked_sub(spent)
                        .and_then(|r| r.checked_sub(held))
                        .expect("invariant: a project's allocation covers its spending and holds"),
                }
            })
            .collect()
    }

    pub fn policy(&self) -> Option<&Policy> {
        self.ledger.as_ref().map(|l| &l.policy)
    }

    pub fn account_kind(&self, id: &str) -> Option<AccountKind> {
        if let Some(slug) = id.strip_prefix(EXTERNAL_PREFIX) {
            return FundSource::ALL
                .into_iter()
                .find(|s| s.slug() == slug)
                .map(AccountKind::External);
        }
        self.accounts.get(id).map(|a| a.kind)
    }

    /// Sum of all internal balances per source. Equals `received` at every point of the log:
    /// money is only ever moved, never made (checked by tests and by `commit` in debug builds).
    pub fn internal_total(&self) -> Option<Amounts> {
        self.accounts
            .values()
            .try_fold(Amounts::ZERO, |acc, a| acc.checked_add(&a.balance))
    }

    /// Accounts and projects a transaction touches, for subscription filters. Transactions that
    /// name a disbursement or an entry touch what that one touched.
    pub fn accounts_touched_by(&self, tx: &crate::tx::Transaction) -> Vec<String> {
        use crate::tx::Kind;
        let disbursement = |id: &TxId| {
            self.disbursements
                .get(id)
                .map(|d| vec![d.project_id.clone(), d.payee_account.clone()])
                .unwrap_or_default()
        };
        match &tx.kind {
            Kind::Genesis { .. }
            | Kind::KeyRegistered(_)
            | Kind::KeyRevoked { .. }
            | Kind::CheckpointKeyRotated { .. }
            | Kind::PolicyChanged { .. } => vec![],
            Kind::AccountOpened { account_id, .. } => vec![account_id.clone()],
            Kind::ProjectCreated { project_id, .. } => vec![project_id.clone()],
            Kind::FundsReceived { to_account, .. } => {
                vec![to_account.clone(), RESERVE_ACCOUNT.to_string()]
            }
            Kind::FundsAllocated {
                from_account,
                project_id,
                ..
            } => vec![from_account.clone(), project_id.clone()],
            Kind::DisbursementProposed {
                project_id,
                payee_account,
                ..
            } => vec![project_id.clone(), payee_account.clone()],
            Kind::DisbursementApproved { proposal }
            | Kind::DisbursementRejected { proposal, .. }
            | Kind::DisbursementExecuted { proposal }
            | Kind::DisbursementVoided { proposal, .. } => disbursement(proposal),
            Kind::ObjectionFiled { proposal, .. } => disbursement(proposal),
            Kind::ObjectionAnswered { objection, .. }
            | Kind::ObjectionResolved { objection, .. } => self
                .objections
                .get(objection)
                .map(|o| disbursement(&o.proposal))
                .unwrap_or_default(),
            Kind::ProjectCompleted { project_id, .. }
            | Kind::ProjectEvaluated { project_id, .. }
            | Kind::ProjectAccepted { project_id, .. } => vec![project_id.clone()],
            Kind::ProjectClosed { project_id, .. } => {
                let mut touched = vec![project_id.clone()];
                if let Some(p) = self.projects.get(project_id) {
                    touched.extend(p.funded_by.keys().cloned());
                }
                touched
            }
            Kind::EntryReversed { target, .. } | Kind::EntryAnnotated { target, .. } => {
                match self.tx(target).ok().flatten().map(|r| r.reversible) {
                    Some(Reversible::Receipt { pool, .. }) => {
                        vec![pool.clone(), RESERVE_ACCOUNT.to_string()]
                    }
                    Some(Reversible::Allocation {
                        from_account,
                        project_id,
                        ..
                    }) => vec![from_account.clone(), project_id.clone()],
                    Some(Reversible::Disbursement) => disbursement(target),
                    _ => vec![],
                }
            }
        }
    }

    pub fn active_admins(&self) -> usize {
        self.active_with_role(Role::Admin)
    }

    /// Registered, unrevoked keys of `role`.
    pub fn active_with_role(&self, role: Role) -> usize {
        self.keys
            .values()
            .filter(|k| k.role == role && k.revoked_at.is_none())
            .count()
    }

    /// Applies effects computed by [`crate::rules::apply`] against this very state.
    pub fn commit(&mut self, effects: Effects, timestamp_ms: i64) {
        assert_eq!(
            effects.record.sequence, self.next_sequence,
            "effects out of order"
        );
        for change in effects.changes {
            match change {
                Change::LedgerCreated(info) => {
                    assert!(self.ledger.is_none());
                    self.ledger = Some(info);
                }
                Change::PolicyChanged(policy) => {
                    self.ledger.as_mut().expect("a policy after genesis").policy = policy;
                }
                Change::PayeeUnconfirmed(id) => {
                    self.unconfirmed_payees.insert(id);
                }
                Change::UnapprovedPaid {
                    bucket,
                    at_ms,
                    total,
                    window_ms,
                } => {
                    let paid = self.unapproved_paid.entry(bucket).or_default();
                    paid.push_back((at_ms, total));
                    // Only payments still inside the window matter: memory stays bounded.
                    while paid.front().is_some_and(|(t, _)| *t <= at_ms - window_ms) {
                        paid.pop_front();
                    }
                }
                Change::CheckpointKeyRotated { key, from_size } => {
                    let ledger = self.ledger.as_mut().expect("rotation after genesis");
                    assert!(ledger.checkpoint_keys.last().expect("genesis key").0 < from_size);
                    ledger.checkpoint_key = key;
                    ledger.checkpoint_keys.push((from_size, key));
                }
                Change::KeyRegistered(record) => {
                    let previous = self.keys.insert(record.key_id, record);
                    assert!(previous.is_none(), "key registered twice");
                }
                Change::KeyRevoked { key_id, at } => {
                    let key = self.keys.get_mut(&key_id).expect("revoked key exists");
                    assert!(key.revoked_at.is_none());
                    key.revoked_at = Some(at);
                }
                Change::AccountOpened(account) => {
                    let previous = self.accounts.insert(account.id.clone(), account);
                    assert!(previous.is_none(), "account opened twice");
                }
                Change::ProjectCreated(project) => {
                    let previous = self.projects.insert(project.id.clone(), project);
                    assert!(previous.is_none(), "project created twice");
                }
                Change::Moved(m) => self.apply_movement(&m),
                Change::Held { account, amounts } => {
                    let a = self
                        .accounts
                        .get_mut(&account)
                        .expect("held account exists");
                    a.held = a.held.checked_add(&amounts).expect("hold checked");
                    assert!(
                        a.balance.checked_sub(&a.held).is_some(),
                        "hold above balance"
                    );
                }
                Change::Released { account, amounts } => {
                    let a = self
                        .accounts
                        .get_mut(&account)
                        .expect("released account exists");
                    a.held = a.held.checked_sub(&amounts).expect("release checked");
                }
                Change::ProjectStageSet { project_id, stage } => {
                    let p = self.projects.get_mut(&project_id).expect("staged project");
                    p.stage = stage;
                }
                Change::ProjectEvaluated {
                    project_id,
                    evaluation,
                } => {
                    let p = self
                        .projects
                        .get_mut(&project_id)
                        .expect("evaluated project");
                    p.evaluations.insert(evaluation.key_id, evaluation);
                }
                Change::ProjectReturned {
                    project_id,
                    returned,
                } => {
                    let p = self.projects.get_mut(&project_id).expect("closed project");
                    p.returned = p.returned.checked_add(&returned).expect("return checked");
                }
                Change::ObjectionSet(o) => {
                    self.objections.insert(o.id, o);
                }
                Change::DisbursementSet(d) => {
                    self.disbursements.insert(d.proposal, d);
                }
                Change::Reversed { target, record } => {
                    assert_eq!(record.reversed_at, Some(effects.record.sequence));
                    assert!(record.reversed_by.is_some());
                    if let Some(before) = self.txs.get(&target) {
                        assert!(before.reversed_by.is_none(), "entry reversed twice");
                    }
                    self.txs.insert(target, record);
                }
            }
        }
        let previous = self.txs.insert(effects.tx_id, effects.record);
        assert!(previous.is_none(), "transaction id recorded twice");
        self.next_sequence += 1;
        self.last_timestamp_ms = timestamp_ms;
        debug_assert_eq!(
            self.internal_total(),
            Some(self.received),
            "money was made or lost"
        );
    }

    fn apply_movement(&mut self, m: &Movement) {
        let one = Amounts::single(m.source, m.amount);
        let from_kind = self
            .account_kind(&m.from)
            .expect("movement from a known account");
        let to_kind = self
            .account_kind(&m.to)
            .expect("movement to a known account");
        match from_kind {
            AccountKind::External(_) => {
                self.received = self
                    .received
                    .checked_add(&one)
                    .expect("receipt sum checked");
            }
            _ => {
                let a = self.accounts.get_mut(&m.from).expect("from account exists");
                a.balance = a.balance.checked_sub(&one).expect("funds checked");
                assert!(
                    a.balance.checked_sub(&a.held).is_some(),
                    "movement took held funds"
                );
            }
        }
        match to_kind {
            AccountKind::External(_) => {
                self.received = self.received.checked_sub(&one).expect("reversal checked");
            }
            _ => {
                let a = self.accounts.get_mut(&m.to).expect("to account exists");
                a.balance = a.balance.checked_add(&one).expect("balance sum checked");
            }
        }
        // Project figures follow from which way money crosses a project account.
        if to_kind == AccountKind::Project {
            let p = self.projects.get_mut(&m.to).expect("project exists");
            if from_kind == AccountKind::Payee {
                p.spent = p
                    .spent
                    .checked_sub(&one)
                    .expect("reversal of spending checked");
            } else {
                p.allocated = p.allocated.checked_add(&one).expect("allocation checked");
                let funded = p.funded_by.entry(m.from.clone()).or_default();
                *funded = funded.checked_add(&one).expect("allocation checked");
            }
        }
        if from_kind == AccountKind::Project {
            let p = self.projects.get_mut(&m.from).expect("project exists");
            if to_kind == AccountKind::Payee {
                p.spent = p.spent.checked_add(&one).expect("spending checked");
            } else {
                p.allocated = p
                    .allocated
                    .checked_sub(&one)
                    .expect("reversal of allocation checked");
                let funded = p
                    .funded_by
                    .get_mut(&m.to)
                    .expect("returned where it came from");
                *funded = funded
                    .checked_sub(&one)
                    .expect("a project returns at most what an account gave it");
            }
        }
    }
}

/// [`TxRecord`] as saved: its kind by its place in [`crate::tx::Kind::NAMES`] (a saved state
/// naming any other place does not load).
#[derive(serde::Deserialize)]
struct SavedTxRecord {
    sequence: u64,
    body_hash: Hash,
    kind: u8,
    reversible: Reversible,
    reversed_by: Option<TxId>,
    reversed_at: Option<u64>,
}

/// The same, borrowed, for saving without copying.
#[derive(serde::Serialize)]
struct SavedTxRecordRef<'a> {
    sequence: u64,
    body_hash: &'a Hash,
    kind: u8,
    reversible: &'a Reversible,
    reversed_by: &'a Option<TxId>,
    reversed_at: Option<u64>,
}

// By hand: serde's derive would require `'de: 'static` for the `&'static str` kind.
impl serde::Serialize for TxRecord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let kind = crate::tx::Kind::NAMES
            .iter()
            .position(|k| *k == self.kind)
            .ok_or_else(|| serde::ser::Error::custom("a transaction kind not in Kind::NAMES"))?;
        SavedTxRecordRef {
            sequence: self.sequence,
            body_hash: &self.body_hash,
            kind: kind as u8,
            reversible: &self.reversible,
            reversed_by: &self.reversed_by,
            reversed_at: self.reversed_at,
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for TxRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = SavedTxRecord::deserialize(d)?;
        let kind = crate::tx::Kind::NAMES
            .get(usize::from(r.kind))
            .copied()
            .ok_or_else(|| {
                serde::de::Error::custom(format!("unknown transaction kind {}", r.kind))
            })?;
        Ok(TxRecord {
            sequence: r.sequence,
            body_hash: r.body_hash,
            kind,
            reversible: r.reversible,
            reversed_by: r.reversed_by,
            reversed_at: r.reversed_at,
        })
    }
}
