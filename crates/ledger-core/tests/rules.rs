//! Given / when / then, for every transaction kind and every rejection of the fund rules.

mod common;

use common::*;
use ledger_core::build;
use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::rules::{DecodeError, Rejection, SignatureError, StatusClass, ALL_REASONS};
use ledger_core::signing::KeyId;
use ledger_core::state::{
    DisbursementState, FundSource::*, History, HistoryError, Role, TxHistory, TxRecord,
    RESERVE_ACCOUNT,
};
use prost::Message;

fn id(k: &ed25519_dalek::SigningKey) -> KeyId {
    KeyId::of(&k.verifying_key())
}

fn tx_ref(effects: &ledger_core::state::Effects) -> Vec<u8> {
    effects.tx_id.0.to_vec()
}

/// A world with 500,000 yuan fiscal and 20,000 crowdfunding received and 300,000 fiscal
/// allocated to the elevator.
fn funded() -> World {
    let mut w = World::started();
    let f = w.finance.clone();
    w.ok(w.receipt(Fiscal, "pool:fiscal", 500_000 * YUAN), &[&f]);
    w.ok(w.receipt(Crowdfunding, "pool:crowd", 20_000 * YUAN), &[&f]);
    w.ok(
        w.allocation("pool:fiscal", "elevator", &[(Fiscal, 300_000 * YUAN)]),
        &[&f],
    );
    w
}

// ---------- genesis ----------

#[test]
fn genesis_creates_the_ledger_its_admins_and_the_reserve() {
    let mut w = World::empty();
    let admin = w.admin.clone();
    let g = w.genesis_kind(1);
    w.ok(g, &[&admin]);
    let ledger = w.state.ledger.as_ref().unwrap();
    assert_eq!(ledger.ledger_id, LEDGER);
    assert_eq!(ledger.policy.reserve_ratio_bp, 1_000);
    assert_eq!(w.state.keys.len(), 2);
    assert!(w
        .state
        .keys
        .values()
        .all(|k| k.role == Role::Admin && k.registered_at == 0));
    assert!(w.state.accounts.contains_key(RESERVE_ACCOUNT));
}

#[test]
fn genesis_must_come_first_and_only_once() {
    let mut w = World::empty();
    let f = w.finance.clone();
    w.rejects(w.receipt(Fiscal, "pool:fiscal", 1), &[&f], "NO_GENESIS");
    let mut w = World::started();
    let admin = w.admin.clone();
    let g = w.genesis_kind(1);
    w.rejects(g, &[&admin], "GENESIS_NOT_FIRST");
}

#[test]
fn genesis_needs_its_admin_quorum() {
    let mut w = World::empty();
    let admin = w.admin.clone();
    let g = w.genesis_kind(2);
    w.rejects(g, &[&admin], "QUORUM_NOT_MET");
    let (a1, a2) = (w.admin.clone(), w.admin2.clone());
    let g = w.genesis_kind(2);
    w.ok(g, &[&a1, &a2]);
}

#[test]
fn genesis_signed_by_a_key_it_does_not_name_is_refused() {
    let mut w = World::empty();
    let stranger = key(99);
    let g = w.genesis_kind(1);
    w.rejects(g, &[&stranger], "UNKNOWN_KEY");
}

// ---------- keys ----------

#[test]
fn key_registration_needs_admin_quorum_and_a_new_strong_key() {
    let mut w = World::started();
    let (admin, finance) = (w.admin.clone(), w.finance.clone());
    let new = key(50);
    w.rejects(
        Kind::KeyRegistered(proto::KeyRegistered {
            key: Some(build::public_key(&new, Role::Finance, "x")),
        }),
        &[&finance],
        "ROLE_NOT_ALLOWED",
    );
    w.rejects(
        Kind::KeyRegistered(proto::KeyRegistered {
            key: Some(build::public_key(&finance, Role::Finance, "again")),
        }),
        &[&admin],
        "KEY_EXISTS",
    );
    let mut weak = build::public_key(&new, Role::Finance, "weak");
    weak.ed25519 = {
        let mut identity = vec![0u8; 32];
        identity[0] = 1;
        identity
    };
    w.rejects(
        Kind::KeyRegistered(proto::KeyRegistered { key: Some(weak) }),
        &[&admin],
        "WEAK_KEY",
    );
    let effects = w.ok(
        Kind::KeyRegistered(proto::KeyRegistered {
            key: Some(build::public_key(&new, Role::Finance, "新会计")),
        }),
        &[&admin],
    );
    assert_eq!(
        w.state.keys[&id(&new)].registered_at,
        effects.record.sequence
    );
}

#[test]
fn revoked_keys_sign_nothing_after_revocation_but_their_past_stays_valid() {
    let mut w = World::started();
    let (admin, finance) = (w.admin.clone(), w.finance.clone());
    let before = w.ok(w.receipt(Fiscal, "pool:fiscal", 1_000), &[&finance]);
    let revoke = w.ok(
        Kind::KeyRevoked(proto::KeyRevoked {
            key_id: id(&finance).0.to_vec(),
            reason: "离职".into(),
        }),
        &[&admin],
    );
    assert_eq!(
        w.state.keys[&id(&finance)].revoked_at,
        Some(revoke.record.sequence)
    );
    assert!(
        w.state.txs.contains_key(&before.tx_id),
        "what it signed before stays"
    );
    w.rejects(
        w.receipt(Fiscal, "pool:fiscal", 1_000),
        &[&finance],
        "KEY_REVOKED",
    );
    w.rejects(
        Kind::KeyRevoked(proto::KeyRevoked {
            key_id: id(&finance).0.to_vec(),
            reason: String::new(),
        }),
        &[&admin],
        "ALREADY_REVOKED",
    );
    w.rejects(
        Kind::KeyRevoked(proto::KeyRevoked {
            key_id: [9; 32].to_vec(),
            reason: String::new(),
        }),
        &[&admin],
        "NO_SUCH_KEY",
    );
}

#[test]
fn the_last_admins_cannot_be_revoked_below_quorum() {
    let mut w = World::started();
    let admin = w.admin.clone();
    let admin2_id = id(&w.admin2);
    w.ok(
        Kind::KeyRevoked(proto::KeyRevoked {
            key_id: admin2_id.0.to_vec(),
            reason: String::new(),
        }),
        &[&admin],
    );
    let admin_id = id(&admin);
    w.rejects(
        Kind::KeyRevoked(proto::KeyRevoked {
            key_id: admin_id.0.to_vec(),
            reason: String::new(),
        }),
        &[&admin],
        "WOULD_LOCK_OUT",
    );
}

// ---------- accounts and projects ----------

#[test]
fn accounts_open_once_with_ids_that_are_free() {
    let mut w = World::started();
    let (admin, finance, auditor) = (w.admin.clone(), w.finance.clone(), w.auditor.clone());
    w.ok(w.open_pool("pool:resident", Resident), &[&finance]);
    assert!(w.state.accounts.contains_key("pool:resident"));
    w.rejects(
        w.open_pool("pool:resident", Resident),
        &[&admin],
        "ACCOUNT_EXISTS",
    );
    w.rejects(
        w.open_pool("elevator", Resident),
        &[&admin],
        "ACCOUNT_EXISTS",
    );
    w.rejects(
        w.open_pool("external:fiscal", Fiscal),
        &[&admin],
        "ACCOUNT_EXISTS",
    );
    w.rejects(
        w.open_pool("pool:loan", Loan),
        &[&auditor],
        "ROLE_NOT_ALLOWED",
    );
    w.rejects(
        w.open_pool("bad id with spaces", Loan),
        &[&admin],
        "INVALID_FIELD",
    );
}

#[test]
fn projects_are_created_by_admins_with_a_budget() {
    let mut w = World::started();
    let (admin, finance) = (w.admin.clone(), w.finance.clone());
    let project = |id: &str| {
        Kind::ProjectCreated(proto::ProjectCreated {
            project_id: id.into(),
            name: "垃圾分类".into(),
            description: String::new(),
            budget: build::source_amounts(&[(Resident, 5_000 * YUAN)]),
        })
    };
    w.rejects(project("waste"), &[&finance], "ROLE_NOT_ALLOWED");
    w.ok(project("waste"), &[&admin]);
    assert_eq!(w.state.projects["waste"].budget.get(Resident), 5_000 * YUAN);
    w.rejects(project("waste"), &[&admin], "ACCOUNT_EXISTS");
    let huge = Kind::ProjectCreated(proto::ProjectCreated {
        project_id: "huge".into(),
        name: "x".into(),
        description: String::new(),
        budget: build::source_amounts(&[(Resident, u64::MAX), (Fiscal, 1)]),
    });
    w.rejects(huge, &[&admin], "INVALID_FIELD");
}

// ---------- receipts ----------

#[test]
fn a_receipt_credits_the_pool_and_holds_back_the_reserve() {
    let mut w = World::started();
    let f = w.finance.clone();
    let effects = w.ok(w.receipt(Fiscal, "pool:fiscal", 600_000 * YUAN), &[&f]);
    assert_eq!(w.balance("pool:fiscal", Fiscal), 540_000 * YUAN);
    assert_eq!(w.balance(RESERVE_ACCOUNT, Fiscal), 60_000 * YUAN);
    assert_eq!(w.state.received.get(Fiscal), 600_000 * YUAN);
    assert_eq!(
        effects.movements().count(),
        2,
        "double entry: external to pool, external to reserve"
    );
    assert!(effects.movements().all(|m| m.from == "external:fiscal"));
}

#[test]
fn a_receipt_must_go_to_a_pool_of_its_source() {
    let mut w = World::started();
    let (f, approver) = (w.finance.clone(), w.approver1.clone());
    w.rejects(w.receipt(Fiscal, "pool:crowd", 100), &[&f], "WRONG_ACCOUNT");
    w.rejects(
        w.receipt(Fiscal, "pool:nowhere", 100),
        &[&f],
        "UNKNOWN_ACCOUNT",
    );
    w.rejects(
        w.receipt(Fiscal, "pool:fiscal", 100),
        &[&approver],
        "ROLE_NOT_ALLOWED",
    );
    w.rejects(w.receipt(Fiscal, "pool:fiscal", 0), &[&f], "INVALID_FIELD");
}

#[test]
fn amounts_and_totals_have_a_documented_upper_bound() {
    use ledger_core::limits::{MAX_AMOUNT_FEN, MAX_TOTAL_FEN};
    let mut w = World::started();
    let f = w.finance.clone();
    // One amount over the bound is refused on input; at the bound it is taken.
    w.rejects(
        w.receipt(Fiscal, "pool:fiscal", MAX_AMOUNT_FEN + 1),
        &[&f],
        "INVALID_FIELD",
    );
    w.rejects(
        w.receipt(Fiscal, "pool:fiscal", u64::MAX),
        &[&f],
        "INVALID_FIELD",
    );
    // A total may reach the bound and not pass it. (The reserve takes its share of each
    // receipt, so the pool and the reserve together hold what was received.)
    let count = MAX_TOTAL_FEN / MAX_AMOUNT_FEN;
    for _ in 0..count {
        w.ok(w.receipt(Fiscal, "pool:fiscal", MAX_AMOUNT_FEN), &[&f]);
    }
    assert_eq!(w.state.received.get(Fiscal), MAX_TOTAL_FEN);
    w.rejects(
        w.receipt(Fiscal, "pool:fiscal", 1),
        &[&f],
        "AMOUNT_OVERFLOW",
    );
    // A project with every figure at its bound still reports (no sum of figures overflows).
    let admin = w.admin.clone();
    let big = Kind::ProjectCreated(proto::ProjectCreated {
        project_id: "big".into(),
        name: "大项目".into(),
        description: String::new(),
        budget: build::source_amounts(&[(Fiscal, MAX_AMOUNT_FEN), (Resident, MAX_AMOUNT_FEN)]),
    });
    w.ok(big, &[&admin]);
    let figures = w.state.project_figures(&w.state.projects["big"]);
    assert_eq!(figures.len(), 2);
}

#[test]
fn a_contributor_commitment_is_recorded_without_the_name() {
    let mut w = World::started();
    let f = w.finance.clone();
    let salt = [42u8; 32];
    let commitment = ledger_core::hashing::contributor_commitment(&salt, "王阿姨 3号楼");
    let kind = Kind::FundsReceived(proto::FundsReceived {
        source: proto::FundSource::Crowdfunding as i32,
        to_account: "pool:crowd".into(),
        amount_fen: 200 * YUAN,
        contributor_commitment: commitment.to_vec(),
        memo: String::new(),
        document_hash: vec![],
    });
    let env = w.envelope(kind, &[&f]);
    assert!(!env
        .windows("王阿姨".len())
        .any(|win| win == "王阿姨".as_bytes()));
    w.submit_bytes(env).unwrap();
    let bad = Kind::FundsReceived(proto::FundsReceived {
        source: proto::FundSource::Crowdfunding as i32,
        to_account: "pool:crowd".into(),
        amount_fen: 1,
        contributor_commitment: vec![1; 31],
        ..Default::default()
    });
    w.rejects(bad, &[&f], "INVALID_FIELD");
}

// ---------- allocations ----------

#[test]
fn an_allocation_moves_money_from_a_pool_to_a_project_within_budget() {
    let mut w = funded();
    assert_eq!(w.balance("elevator", Fiscal), 300_000 * YUAN);
    assert_eq!(
        w.state.projects["elevator"].allocated.get(Fiscal),
        300_000 * YUAN
    );
    let f = w.finance.clone();
    // 450,000 received into the pool (10% to the reserve), 300,000 allocated: 150,000 left.
    w.rejects(
        w.allocation("pool:fiscal", "elevator", &[(Fiscal, 150_000 * YUAN + 1)]),
        &[&f],
        "INSUFFICIENT_FUNDS",
    );
    w.ok(w.receipt(Fiscal, "pool:fiscal", 400_000 * YUAN), &[&f]);
    w.rejects(
        w.allocation("pool:fiscal", "elevator", &[(Fiscal, 300_000 * YUAN + 1)]),
        &[&f],
        "OVER_BUDGET",
    );
    w.rejects(
        w.allocation("pool:fiscal", "elevator", &[(Crowdfunding, 1)]),
        &[&f],
        "WRONG_ACCOUNT",
    );
    w.rejects(
        w.allocation("pool:fiscal", "no-such", &[(Fiscal, 1)]),
        &[&f],
        "UNKNOWN_PROJECT",
    );
    w.rejects(
        w.allocation("payee:builder", "elevator", &[(Fiscal, 1)]),
        &[&f],
        "WRONG_ACCOUNT",
    );
    w.rejects(
        w.allocation("pool:fiscal", "elevator", &[(Fiscal, 1), (Fiscal, 2)]),
        &[&f],
        "INVALID_FIELD",
    );
}

#[test]
fn the_reserve_is_allocated_only_with_the_representatives_quorum() {
    let mut w = funded();
    let (f, a1, a2) = (w.finance.clone(), w.approver1.clone(), w.approver2.clone());
    w.rejects(
        w.allocation(RESERVE_ACCOUNT, "elevator", &[(Fiscal, 1_000 * YUAN)]),
        &[&f, &a1],
        "QUORUM_NOT_MET",
    );
    w.ok(
        w.allocation(RESERVE_ACCOUNT, "elevator", &[(Fiscal, 1_000 * YUAN)]),
        &[&f, &a1, &a2],
    );
    assert_eq!(w.balance(RESERVE_ACCOUNT, Fiscal), 49_000 * YUAN);
}

// ---------- disbursements ----------

#[test]
fn a_large_disbursement_executes_once_both_representatives_approve() {
    let mut w = funded();
    let (f, a1, a2) = (w.finance.clone(), w.approver1.clone(), w.approver2.clone());
    let p = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 200_000 * YUAN)]),
        &[&f],
    );
    assert_eq!(
        w.state.accounts["elevator"].held.get(Fiscal),
        200_000 * YUAN
    );
    // Held funds cannot be allocated elsewhere or proposed twice.
    w.rejects(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 100_000 * YUAN + 1)]),
        &[&f],
        "INSUFFICIENT_FUNDS",
    );
    w.rejects(
        Kind::DisbursementExecuted(proto::DisbursementExecuted {
            proposal_tx_id: tx_ref(&p),
        }),
        &[&f],
        "NEEDS_APPROVAL",
    );
    w.ok(
        Kind::DisbursementApproved(proto::DisbursementApproved {
            proposal_tx_id: tx_ref(&p),
        }),
        &[&a1],
    );
    assert_eq!(
        w.state.disbursements[&p.tx_id].state,
        DisbursementState::Pending
    );
    w.rejects(
        Kind::DisbursementApproved(proto::DisbursementApproved {
            proposal_tx_id: tx_ref(&p),
        }),
        &[&a1],
        "ALREADY_APPROVED",
    );
    w.ok(
        Kind::DisbursementApproved(proto::DisbursementApproved {
            proposal_tx_id: tx_ref(&p),
        }),
        &[&a2],
    );
    assert_eq!(
        w.state.disbursements[&p.tx_id].state,
        DisbursementState::Executed
    );
    assert_eq!(w.balance("payee:builder", Fiscal), 200_000 * YUAN);
    assert_eq!(w.balance("elevator", Fiscal), 100_000 * YUAN);
    assert_eq!(w.state.accounts["elevator"].held.get(Fiscal), 0);
    assert_eq!(
        w.state.projects["elevator"].spent.get(Fiscal),
        200_000 * YUAN
    );
    w.rejects(
        Kind::DisbursementApproved(proto::DisbursementApproved {
            proposal_tx_id: tx_ref(&p),
        }),
        &[&a1],
        "NOT_PENDING",
    );
}

#[test]
fn both_representatives_may_approve_in_one_envelope() {
    let mut w = funded();
    let (f, a1, a2) = (w.finance.clone(), w.approver1.clone(), w.approver2.clone());
    let p = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 50_000 * YUAN)]),
        &[&f],
    );
    w.ok(
        Kind::DisbursementApproved(proto::DisbursementApproved {
            proposal_tx_id: tx_ref(&p),
        }),
        &[&a1, &a2],
    );
    assert_eq!(
        w.state.disbursements[&p.tx_id].state,
        DisbursementState::Executed
    );
}

#[test]
fn a_proposer_can_never_approve_its_own_disbursement() {
    let mut w = funded();
    let (f, a1) = (w.finance.clone(), w.approver1.clone());
    // A representative who co-signed the proposal is one of its proposers.
    let p = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 50_000 * YUAN)]),
        &[&f, &a1],
    );
    w.rejects(
        Kind::DisbursementApproved(proto::DisbursementApproved {
            proposal_tx_id: tx_ref(&p),
        }),
        &[&a1],
        "SELF_APPROVAL",
    );
    w.rejects(
        Kind::DisbursementRejected(proto::DisbursementRejected {
            proposal_tx_id: tx_ref(&p),
            reason: String::new(),
        }),
        &[&a1],
        "SELF_APPROVAL",
    );
    w.rejects(
        Kind::DisbursementApproved(proto::DisbursementApproved {
            proposal_tx_id: tx_ref(&p),
        }),
        &[&f],
        "ROLE_NOT_ALLOWED",
    );
}

#[test]
fn a_small_disbursement_is_executed_by_the_finance_office() {
    let mut w = funded();
    let f = w.finance.clone();
    let p = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 9_999 * YUAN)]),
        &[&f],
    );
    w.ok(
        Kind::DisbursementExecuted(proto::DisbursementExecuted {
            proposal_tx_id: tx_ref(&p),
        }),
        &[&f],
    );
    assert_eq!(w.balance("payee:builder", Fiscal), 9_999 * YUAN);
    w.rejects(
        Kind::DisbursementExecuted(proto::DisbursementExecuted {
            proposal_tx_id: tx_ref(&p),
        }),
        &[&f],
        "NOT_PENDING",
    );
}

#[test]
fn a_rejected_disbursement_releases_its_hold() {
    let mut w = funded();
    let (f, a2) = (w.finance.clone(), w.approver2.clone());
    let p = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 100_000 * YUAN)]),
        &[&f],
    );
    w.ok(
        Kind::DisbursementRejected(proto::DisbursementRejected {
            proposal_tx_id: tx_ref(&p),
            reason: "报价过高".into(),
        }),
        &[&a2],
    );
    assert_eq!(
        w.state.disbursements[&p.tx_id].state,
        DisbursementState::Rejected
    );
    assert_eq!(w.state.accounts["elevator"].held.get(Fiscal), 0);
    assert_eq!(w.balance("payee:builder", Fiscal), 0);
}

#[test]
fn a_voided_disbursement_releases_its_hold() {
    let mut w = funded();
    let f = w.finance.clone();
    let p = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 100_000 * YUAN)]),
        &[&f],
    );
    w.ok(
        Kind::DisbursementVoided(proto::DisbursementVoided {
            proposal_tx_id: tx_ref(&p),
            reason: "合同作废".into(),
        }),
        &[&f],
    );
    assert_eq!(
        w.state.disbursements[&p.tx_id].state,
        DisbursementState::Voided
    );
    assert_eq!(w.state.accounts["elevator"].held.get(Fiscal), 0);
}

#[test]
fn disbursements_need_a_project_a_payee_a_contract_and_a_real_proposal() {
    let mut w = funded();
    let (f, a1) = (w.finance.clone(), w.approver1.clone());
    w.rejects(
        w.proposal("nowhere", "payee:builder", &[(Fiscal, 1)]),
        &[&f],
        "UNKNOWN_PROJECT",
    );
    w.rejects(
        w.proposal("elevator", "pool:fiscal", &[(Fiscal, 1)]),
        &[&f],
        "WRONG_ACCOUNT",
    );
    w.rejects(
        w.proposal("elevator", "payee:nobody", &[(Fiscal, 1)]),
        &[&f],
        "UNKNOWN_ACCOUNT",
    );
    w.rejects(
        w.proposal("elevator", "payee:builder", &[(Crowdfunding, 1)]),
        &[&f],
        "INSUFFICIENT_FUNDS",
    );
    let mut no_contract = w.proposal("elevator", "payee:builder", &[(Fiscal, 1)]);
    if let Kind::DisbursementProposed(ref mut d) = no_contract {
        d.contract_hash.clear();
    }
    w.rejects(no_contract, &[&f], "INVALID_FIELD");
    w.rejects(
        Kind::DisbursementApproved(proto::DisbursementApproved {
            proposal_tx_id: vec![0xEE; 16],
        }),
        &[&a1],
        "UNKNOWN_TRANSACTION",
    );
    let receipt = w.ok(w.receipt(Fiscal, "pool:fiscal", 1), &[&f]);
    w.rejects(
        Kind::DisbursementApproved(proto::DisbursementApproved {
            proposal_tx_id: tx_ref(&receipt),
        }),
        &[&a1],
        "UNKNOWN_DISBURSEMENT",
    );
}

// ---------- reversals ----------

#[test]
fn a_reversal_undoes_a_receipt_including_its_reserve_share() {
    let mut w = World::started();
    let f = w.finance.clone();
    let r = w.ok(w.receipt(Crowdfunding, "pool:crowd", 1_000 * YUAN), &[&f]);
    let rev = w.ok(
        Kind::EntryReversed(proto::EntryReversed {
            target_tx_id: tx_ref(&r),
            reason: "重复入账".into(),
        }),
        &[&f],
    );
    assert_eq!(w.balance("pool:crowd", Crowdfunding), 0);
    assert_eq!(w.balance(RESERVE_ACCOUNT, Crowdfunding), 0);
    assert_eq!(w.state.received.get(Crowdfunding), 0);
    assert_eq!(w.state.txs[&r.tx_id].reversed_by, Some(rev.tx_id));
    w.rejects(
        Kind::EntryReversed(proto::EntryReversed {
            target_tx_id: tx_ref(&r),
            reason: String::new(),
        }),
        &[&f],
        "ALREADY_REVERSED",
    );
    w.rejects(
        Kind::EntryReversed(proto::EntryReversed {
            target_tx_id: tx_ref(&rev),
            reason: String::new(),
        }),
        &[&f],
        "NOT_REVERSIBLE",
    );
}

#[test]
fn a_reversal_cannot_take_back_money_already_moved_on() {
    let mut w = World::started();
    let f = w.finance.clone();
    let r = w.ok(w.receipt(Fiscal, "pool:fiscal", 1_000 * YUAN), &[&f]);
    w.ok(
        w.allocation("pool:fiscal", "elevator", &[(Fiscal, 500 * YUAN)]),
        &[&f],
    );
    w.rejects(
        Kind::EntryReversed(proto::EntryReversed {
            target_tx_id: tx_ref(&r),
            reason: String::new(),
        }),
        &[&f],
        "INSUFFICIENT_FUNDS",
    );
}

#[test]
fn a_reversal_undoes_an_allocation_and_an_executed_disbursement() {
    let mut w = funded();
    let f = w.finance.clone();
    let alloc = w.ok(
        w.allocation("pool:fiscal", "elevator", &[(Fiscal, 10_000 * YUAN)]),
        &[&f],
    );
    w.ok(
        Kind::EntryReversed(proto::EntryReversed {
            target_tx_id: tx_ref(&alloc),
            reason: String::new(),
        }),
        &[&f],
    );
    assert_eq!(
        w.state.projects["elevator"].allocated.get(Fiscal),
        300_000 * YUAN
    );
    let p = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 5_000 * YUAN)]),
        &[&f],
    );
    w.rejects(
        Kind::EntryReversed(proto::EntryReversed {
            target_tx_id: tx_ref(&p),
            reason: String::new(),
        }),
        &[&f],
        "NOT_REVERSIBLE",
    );
    w.ok(
        Kind::DisbursementExecuted(proto::DisbursementExecuted {
            proposal_tx_id: tx_ref(&p),
        }),
        &[&f],
    );
    w.ok(
        Kind::EntryReversed(proto::EntryReversed {
            target_tx_id: tx_ref(&p),
            reason: "发票错误".into(),
        }),
        &[&f],
    );
    assert_eq!(
        w.state.disbursements[&p.tx_id].state,
        DisbursementState::Reversed
    );
    assert_eq!(w.balance("payee:builder", Fiscal), 0);
    assert_eq!(w.state.projects["elevator"].spent.get(Fiscal), 0);
    w.rejects(
        Kind::EntryReversed(proto::EntryReversed {
            target_tx_id: vec![1; 16],
            reason: String::new(),
        }),
        &[&f],
        "UNKNOWN_TRANSACTION",
    );
}

// ---------- annotations ----------

#[test]
fn an_auditor_annotates_an_existing_entry() {
    let mut w = funded();
    let (f, auditor) = (w.finance.clone(), w.auditor.clone());
    let r = w.ok(w.receipt(Fiscal, "pool:fiscal", YUAN), &[&f]);
    let note = |target: Vec<u8>| {
        Kind::EntryAnnotated(proto::EntryAnnotated {
            target_tx_id: target,
            note: "凭证已核对".into(),
            document_hash: vec![3; 32],
        })
    };
    let effects = w.ok(note(tx_ref(&r)), &[&auditor]);
    assert_eq!(w.state.txs[&effects.tx_id].kind, "entry_annotated");
    w.rejects(note(tx_ref(&r)), &[&f], "ROLE_NOT_ALLOWED");
    w.rejects(note(vec![4; 16]), &[&auditor], "UNKNOWN_TRANSACTION");
}

// ---------- envelopes, signatures, ids and clocks ----------

/// A public key encoded with y >= p is accepted by ed25519-dalek but refused by RFC 8032 and
/// libsodium: registering one would make every RFC-conformant verifier reject the ledger, so it
/// is refused (NON_CANONICAL), at registration and in a genesis.
#[test]
fn non_canonical_public_keys_are_refused() {
    use ed25519_dalek::VerifyingKey;
    // p = 2^255 - 19, little-endian; y = p + k for small k, sign bit clear.
    let mut found = 0;
    for k in 0u8..19 {
        let mut raw = [0xffu8; 32];
        raw[0] = 0xed + k;
        raw[31] = 0x7f;
        let Ok(key) = VerifyingKey::from_bytes(&raw) else {
            continue;
        };
        if key.is_weak() {
            continue;
        }
        found += 1;
        assert_eq!(
            ledger_core::signing::parse_public_key(&raw),
            Err(ledger_core::signing::KeyError::NonCanonical)
        );
        let mut w = World::started();
        let admin = w.admin.clone();
        let kind = Kind::KeyRegistered(proto::KeyRegistered {
            key: Some(proto::PublicKey {
                ed25519: raw.to_vec(),
                role: proto::Role::Finance as i32,
                name: "非规范".into(),
            }),
        });
        w.rejects(kind, &[&admin], "NON_CANONICAL");
    }
    assert!(
        found > 0,
        "ed25519-dalek accepts some non-canonical y >= p keys"
    );
}

/// The genesis names the node's checkpoint key: without one, or with a weak one, no ledger.
#[test]
fn a_genesis_names_a_usable_checkpoint_key() {
    for (key, reason) in [
        (vec![], "INVALID_FIELD"),
        (
            {
                let mut identity = vec![0u8; 32];
                identity[0] = 1;
                identity
            },
            "WEAK_KEY",
        ),
    ] {
        let mut w = World::empty();
        let mut kind = w.genesis_kind(1);
        if let Kind::Genesis(g) = &mut kind {
            g.checkpoint_key = key;
        }
        let admin = w.admin.clone();
        w.rejects(kind, &[&admin], reason);
    }
}

/// The node's checkpoint key is replaced only by the admin quorum, never by a key the ledger
/// had before; checkpoints of smaller trees keep their old key.
#[test]
fn the_checkpoint_key_is_rotated_by_the_admin_quorum_only() {
    let mut w = World::started();
    let (admin, f) = (w.admin.clone(), w.finance.clone());
    let rotate = |key: &ed25519_dalek::SigningKey| {
        Kind::CheckpointKeyRotated(proto::CheckpointKeyRotated {
            new_key: key.verifying_key().to_bytes().to_vec(),
            reason: "节点服务器更换 server replaced".into(),
        })
    };
    let new_key = key(70);
    w.rejects(rotate(&new_key), &[&f], "ROLE_NOT_ALLOWED");
    let old_key = w.state.ledger.as_ref().unwrap().checkpoint_key;
    let at = w.state.next_sequence;
    w.ok(rotate(&new_key), &[&admin]);
    let ledger = w.state.ledger.as_ref().unwrap();
    assert_eq!(ledger.checkpoint_key, new_key.verifying_key());
    assert_eq!(
        ledger.checkpoint_key_at(at),
        old_key,
        "the tree without the rotation"
    );
    assert_eq!(ledger.checkpoint_key_at(at + 1), new_key.verifying_key());
    assert_eq!(ledger.checkpoint_key_at(0), old_key);
    // Back to the retired key: refused, as would be the current one.
    w.rejects(rotate(&key(7)), &[&admin], "CHECKPOINT_KEY_REUSED");
    w.rejects(rotate(&new_key), &[&admin], "CHECKPOINT_KEY_REUSED");
}

/// Witnesses: valid names, each once, and a quorum of more than half (0 only without any).
#[test]
fn a_genesis_names_witnesses_with_a_majority_quorum() {
    let witness = |seed: u8, name: &str| proto::Witness {
        name: name.into(),
        ed25519: key(seed).verifying_key().to_bytes().to_vec(),
    };
    let cases: Vec<(Vec<proto::Witness>, u32, Option<&str>)> = vec![
        (vec![], 0, None),
        (vec![], 1, Some("INVALID_FIELD")),
        (vec![witness(40, "w.example/a")], 0, Some("INVALID_FIELD")),
        (vec![witness(40, "w.example/a")], 1, None),
        (
            vec![witness(40, "w.example/a"), witness(41, "w.example/b")],
            1,
            Some("INVALID_FIELD"),
        ),
        (
            vec![witness(40, "w.example/a"), witness(41, "w.example/b")],
            2,
            None,
        ),
        (
            vec![
                witness(40, "w.example/a"),
                witness(41, "w.example/b"),
                witness(42, "w.example/c"),
            ],
            2,
            None,
        ),
        (
            vec![witness(40, "w.example/a"), witness(40, "w.example/b")],
            2,
            Some("INVALID_FIELD"),
        ),
        (
            vec![witness(40, "w.example/a"), witness(41, "w.example/a")],
            2,
            Some("INVALID_FIELD"),
        ),
        (vec![witness(40, "has space")], 1, Some("INVALID_FIELD")),
        (vec![witness(40, "a+b")], 1, Some("INVALID_FIELD")),
        (vec![witness(40, "")], 1, Some("INVALID_FIELD")),
    ];
    for (witnesses, quorum, expected) in cases {
        let mut w = World::empty();
        let mut kind = w.genesis_kind(1);
        if let Kind::Genesis(g) = &mut kind {
            g.witnesses = witnesses.clone();
            g.witness_quorum = quorum;
        }
        let admin = w.admin.clone();
        match expected {
            None => {
                w.ok(kind, &[&admin]);
                let l = w.state.ledger.as_ref().unwrap();
                assert_eq!(
                    (l.witnesses.len(), l.witness_quorum),
                    (witnesses.len(), quorum)
                );
            }
            Some(reason) => {
                w.rejects(kind, &[&admin], reason);
            }
        }
    }
}

/// A body that decodes to one meaning for prost and another for a reader that keeps the last
/// of a repeated sub-message (the page did: ¥600,000 to the node, ¥0 on the page) is refused,
/// and so is any body or envelope whose bytes are not their canonical encoding.
#[test]
fn only_canonical_encodings_are_accepted() {
    let mut w = World::started();
    let f = w.finance.clone();
    let body = build::body(
        LEDGER,
        [31; 16],
        w.now,
        w.receipt(Fiscal, "pool:fiscal", 600_000),
    );
    // The same body with a second `funds_received` field appended (encoded by prost from a
    // body holding only that kind, so whatever its field number).
    let second = proto::TransactionBody {
        kind: Some(w.receipt(Fiscal, "pool:fiscal", 1)),
        ..Default::default()
    }
    .encode_to_vec();
    let doubled = [body.clone(), second].concat();
    let rejection = w.rejects_bytes(
        build::envelope(doubled, &[&f]).encode_to_vec(),
        "NON_CANONICAL",
    );
    assert_eq!(
        rejection,
        Rejection::Decode(DecodeError::NonCanonical {
            what: "transaction body"
        })
    );
    // An unknown field (number 99, varint 1) appended to the body.
    let unknown = [body.clone(), vec![0x98, 0x06, 0x01]].concat();
    w.rejects_bytes(
        build::envelope(unknown, &[&f]).encode_to_vec(),
        "NON_CANONICAL",
    );
    // The envelope's signature list written twice over (a merge prost accepts).
    let env = build::envelope(body.clone(), &[&f]).encode_to_vec();
    let mut reordered = proto::SignedEnvelope {
        body: vec![],
        signatures: build::envelope(body.clone(), &[&f]).signatures,
    }
    .encode_to_vec();
    reordered.extend(
        proto::SignedEnvelope {
            body: body.clone(),
            signatures: vec![],
        }
        .encode_to_vec(),
    );
    assert_ne!(reordered, env);
    let rejection = w.rejects_bytes(reordered, "NON_CANONICAL");
    assert_eq!(
        rejection,
        Rejection::Decode(DecodeError::NonCanonical { what: "envelope" })
    );
    // The canonical one is accepted.
    w.submit_bytes(env).unwrap();
}

#[test]
fn malformed_and_oversized_envelopes_are_refused() {
    let mut w = World::started();
    let f = w.finance.clone();
    w.rejects_bytes(vec![0xFF, 0xFF, 0xFF], "MALFORMED");
    w.rejects_bytes(
        vec![0u8; ledger_core::limits::MAX_ENVELOPE_BYTES + 1],
        "TOO_LARGE",
    );
    let body = build::body(LEDGER, [1; 16], w.now, w.receipt(Fiscal, "pool:fiscal", 1));
    w.rejects_bytes(
        proto::SignedEnvelope {
            body: body.clone(),
            signatures: vec![],
        }
        .encode_to_vec(),
        "NO_SIGNATURE",
    );
    let many: Vec<_> = (0..17)
        .map(|i| build::signature(&body, &key(100 + i)))
        .collect();
    w.rejects_bytes(
        proto::SignedEnvelope {
            body: body.clone(),
            signatures: many,
        }
        .encode_to_vec(),
        "TOO_MANY",
    );
    w.rejects_bytes(
        build::envelope(body.clone(), &[&f, &f]).encode_to_vec(),
        "DUPLICATE_SIGNER",
    );
    let garbage_body = proto::SignedEnvelope {
        body: vec![0xFF; 10],
        signatures: vec![build::signature(&[0xFF; 10], &f)],
    };
    w.rejects_bytes(garbage_body.encode_to_vec(), "MALFORMED");
    let empty_kind = proto::TransactionBody {
        ledger_id: LEDGER.into(),
        tx_id: vec![2; 16],
        timestamp_ms: w.now,
        kind: None,
    }
    .encode_to_vec();
    w.rejects_bytes(
        build::envelope(empty_kind, &[&f]).encode_to_vec(),
        "INVALID_FIELD",
    );
    let long_memo = Kind::FundsReceived(proto::FundsReceived {
        source: 1,
        to_account: "pool:fiscal".into(),
        amount_fen: 1,
        memo: "x".repeat(5000),
        ..Default::default()
    });
    w.rejects(long_memo, &[&f], "INVALID_FIELD");
    let unknown_source = Kind::FundsReceived(proto::FundsReceived {
        source: 99,
        to_account: "pool:fiscal".into(),
        amount_fen: 1,
        ..Default::default()
    });
    w.rejects(unknown_source, &[&f], "INVALID_FIELD");
}

#[test]
fn signatures_must_verify_by_registered_keys() {
    let mut w = World::started();
    let f = w.finance.clone();
    let body = build::body(LEDGER, [3; 16], w.now, w.receipt(Fiscal, "pool:fiscal", 1));
    let mut env = build::envelope(body.clone(), &[&f]);
    env.signatures[0].signature[10] ^= 1;
    w.rejects_bytes(env.encode_to_vec(), "BAD_SIGNATURE");
    // Signed by one key, claimed for another.
    let mut wrong = build::envelope(body.clone(), &[&key(77)]);
    wrong.signatures[0].key_id = id(&f).0.to_vec();
    w.rejects_bytes(wrong.encode_to_vec(), "BAD_SIGNATURE");
    w.rejects_bytes(
        build::envelope(body.clone(), &[&key(77)]).encode_to_vec(),
        "UNKNOWN_KEY",
    );
    // The body changed after signing.
    let other = build::body(LEDGER, [3; 16], w.now, w.receipt(Fiscal, "pool:fiscal", 2));
    let mut swapped = build::envelope(body, &[&f]);
    swapped.body = other;
    w.rejects_bytes(swapped.encode_to_vec(), "BAD_SIGNATURE");
}

#[test]
fn a_transaction_for_another_ledger_is_refused() {
    let mut w = World::started();
    let f = w.finance.clone();
    let body = build::body(
        "other.community/fund",
        [4; 16],
        w.now,
        w.receipt(Fiscal, "pool:fiscal", 1),
    );
    w.rejects_bytes(build::envelope(body, &[&f]).encode_to_vec(), "WRONG_LEDGER");
}

#[test]
fn timestamps_far_from_the_ledger_clock_are_refused() {
    let mut w = World::started();
    let f = w.finance.clone();
    let ahead = build::body(
        LEDGER,
        [5; 16],
        w.now + 10 * 60 * 1000,
        w.receipt(Fiscal, "pool:fiscal", 1),
    );
    w.rejects_bytes(
        build::envelope(ahead, &[&f]).encode_to_vec(),
        "TIMESTAMP_OUT_OF_RANGE",
    );
    let old = build::body(
        LEDGER,
        [6; 16],
        w.now - 31 * 24 * 3600 * 1000,
        w.receipt(Fiscal, "pool:fiscal", 1),
    );
    w.rejects_bytes(
        build::envelope(old, &[&f]).encode_to_vec(),
        "TIMESTAMP_OUT_OF_RANGE",
    );
    // A week-old signature (offline co-signing) is fine.
    let week = build::body(
        LEDGER,
        [7; 16],
        w.now - 7 * 24 * 3600 * 1000,
        w.receipt(Fiscal, "pool:fiscal", 1),
    );
    w.submit_bytes(build::envelope(week, &[&f]).encode_to_vec())
        .unwrap();
}

#[test]
fn a_transaction_id_is_used_once() {
    let mut w = World::started();
    let f = w.finance.clone();
    let body = build::body(LEDGER, [8; 16], w.now, w.receipt(Fiscal, "pool:fiscal", 1));
    let env = build::envelope(body.clone(), &[&f]).encode_to_vec();
    w.submit_bytes(env.clone()).unwrap();
    let dup = w.rejects_bytes(env, "DUPLICATE");
    assert!(matches!(dup, Rejection::Duplicate { .. }));
    let other = build::body(LEDGER, [8; 16], w.now, w.receipt(Fiscal, "pool:fiscal", 2));
    w.rejects_bytes(
        build::envelope(other, &[&f]).encode_to_vec(),
        "TX_ID_CONFLICT",
    );
}

// ---------- records kept in a history (the node's index) ----------

/// A history like the node's index: records as last written, possibly ahead of the fold.
#[derive(Default)]
struct MapHistory {
    records: std::sync::Mutex<std::collections::HashMap<ledger_core::tx::TxId, TxRecord>>,
    failing: std::sync::atomic::AtomicBool,
}

impl TxHistory for MapHistory {
    fn record(&self, tx_id: &ledger_core::tx::TxId) -> Result<Option<TxRecord>, HistoryError> {
        if self.failing.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(HistoryError("disk read failed".into()));
        }
        Ok(self.records.lock().unwrap().get(tx_id).cloned())
    }
}

/// Moves every record the fold holds into `history`, as the node does once its index has them.
fn index_all(w: &mut World, history: &MapHistory) {
    let mut records = history.records.lock().unwrap();
    for (id, r) in &w.state.txs {
        records.insert(*id, r.clone());
    }
    drop(records);
    w.state.forget_indexed(w.state.next_sequence);
    assert!(w.state.txs.is_empty());
}

fn with_history() -> (World, std::sync::Arc<MapHistory>) {
    let mut w = World::started();
    let history = std::sync::Arc::new(MapHistory::default());
    w.state.history = History::new(history.clone());
    (w, history)
}

#[test]
fn records_moved_to_the_history_still_catch_duplicates_conflicts_and_reversals() {
    let (mut w, history) = with_history();
    let f = w.finance.clone();
    let body = build::body(
        LEDGER,
        [7; 16],
        w.now,
        w.receipt(Crowdfunding, "pool:crowd", 1_000),
    );
    let env = build::envelope(body, &[&f]).encode_to_vec();
    let first = w.submit_bytes(env.clone()).unwrap();
    index_all(&mut w, &history);
    w.rejects_bytes(env, "DUPLICATE");
    let other = build::body(
        LEDGER,
        [7; 16],
        w.now,
        w.receipt(Crowdfunding, "pool:crowd", 2),
    );
    w.rejects_bytes(
        build::envelope(other, &[&f]).encode_to_vec(),
        "TX_ID_CONFLICT",
    );
    let reverse = || {
        Kind::EntryReversed(proto::EntryReversed {
            target_tx_id: first.tx_id.0.to_vec(),
            reason: "重复入账".into(),
        })
    };
    let rev = w.ok(reverse(), &[&f]);
    assert_eq!(w.balance("pool:crowd", Crowdfunding), 0);
    // The updated record is in memory until the history has it, and found there after.
    assert_eq!(
        w.state.tx(&first.tx_id).unwrap().unwrap().reversed_by,
        Some(rev.tx_id)
    );
    w.rejects(reverse(), &[&f], "ALREADY_REVERSED");
    index_all(&mut w, &history);
    w.rejects(reverse(), &[&f], "ALREADY_REVERSED");
    let unknown = Kind::EntryReversed(proto::EntryReversed {
        target_tx_id: vec![9; 16],
        reason: "x".into(),
    });
    w.rejects(unknown, &[&f], "UNKNOWN_TRANSACTION");
}

#[test]
fn a_history_ahead_of_the_fold_shows_only_what_the_fold_has_reached() {
    // A saved fold at entry N with an index that got further: replaying the tail must find
    // neither the tail's own transactions nor their reversals already there.
    let (mut w, history) = with_history();
    let f = w.finance.clone();
    let receipt = w.ok(w.receipt(Crowdfunding, "pool:crowd", 1_000), &[&f]);
    index_all(&mut w, &history);
    let saved = w.state.clone();
    let reversal = w.ok(
        Kind::EntryReversed(proto::EntryReversed {
            target_tx_id: receipt.tx_id.0.to_vec(),
            reason: "重复入账".into(),
        }),
        &[&f],
    );
    index_all(&mut w, &history);
    let mut resumed = saved;
    let seen = resumed
        .tx(&receipt.tx_id)
        .unwrap()
        .expect("before the saved point");
    assert_eq!((seen.reversed_by, seen.reversed_at), (None, None));
    assert_eq!(resumed.tx(&reversal.tx_id).unwrap(), None);
    // Replaying the reversal on the resumed fold gives the same state as the live one.
    resumed.commit(reversal.clone(), w.now);
    assert_eq!(
        resumed.tx(&receipt.tx_id).unwrap(),
        w.state.tx(&receipt.tx_id).unwrap()
    );
    assert_eq!(resumed.accounts, w.state.accounts);
}

#[test]
fn a_history_that_cannot_be_read_refuses_the_transaction_and_changes_nothing() {
    let (mut w, history) = with_history();
    let f = w.finance.clone();
    w.ok(w.receipt(Crowdfunding, "pool:crowd", 1_000), &[&f]);
    index_all(&mut w, &history);
    history
        .failing
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let refused = w.rejects(
        w.receipt(Crowdfunding, "pool:crowd", 5),
        &[&f],
        "STORAGE_UNAVAILABLE",
    );
    assert_eq!(refused.status(), StatusClass::Unavailable);
    history
        .failing
        .store(false, std::sync::atomic::Ordering::Relaxed);
    w.ok(w.receipt(Crowdfunding, "pool:crowd", 5), &[&f]);
}

// ---------- the catalogue ----------

#[test]
fn every_rejection_reason_is_exercised_by_a_test_here() {
    let source = [include_str!("rules.rs"), include_str!("co_management.rs")].concat();
    for reason in ALL_REASONS {
        assert!(
            source.contains(&format!("\"{reason}\"")),
            "no test rejects with {reason}"
        );
    }
}

#[test]
fn status_classes_follow_the_protocol() {
    assert_eq!(
        Rejection::from(DecodeError::NoSignature).status(),
        StatusClass::Unauthenticated
    );
    assert_eq!(
        Rejection::from(SignatureError::UnknownKey { key: String::new() }).status(),
        StatusClass::PermissionDenied
    );
    assert_eq!(
        Rejection::AmountOverflow.status(),
        StatusClass::FailedPrecondition
    );
    assert_eq!(
        Rejection::TxIdConflict {
            tx_id: String::new(),
            sequence: 0
        }
        .status(),
        StatusClass::AlreadyExists
    );
    assert_eq!(
        Rejection::from(DecodeError::WeakKey).status(),
        StatusClass::InvalidArgument
    );
}

// ---------- co-management: unapproved payments add up over a window (issue 14) ----------

fn open_payee(w: &mut World, id: &str, signer: &ed25519_dalek::SigningKey) {
    w.ok(
        Kind::AccountOpened(proto::AccountOpened {
            account_id: id.into(),
            kind: proto::AccountKind::Payee as i32,
            source: 0,
            name: id.into(),
        }),
        &[signer],
    );
}

fn pay_directly(w: &mut World, payee: &str, fen: u64) -> Result<(), Rejection> {
    let f = w.finance.clone();
    let p = w.ok(w.proposal("elevator", payee, &[(Fiscal, fen)]), &[&f]);
    let kind = Kind::DisbursementExecuted(proto::DisbursementExecuted {
        proposal_tx_id: tx_ref(&p),
    });
    w.submit(kind, &[&f]).map(|_| ())
}

/// The review's attack: 9,999.99 five times under a 10,000.00 threshold, to a payee the
/// finance office opened itself. The second payment would bring the payee's unapproved total in
/// the 30-day window to the threshold: refused; approvers can still approve it.
#[test]
fn splitting_a_payment_under_the_threshold_does_not_escape_the_approvers() {
    let mut w = funded();
    let (f, a1, a2) = (w.finance.clone(), w.approver1.clone(), w.approver2.clone());
    open_payee(&mut w, "payee:friend", &f);
    pay_directly(&mut w, "payee:friend", 9_999 * YUAN + 99).unwrap();
    let p = w.ok(
        w.proposal("elevator", "payee:friend", &[(Fiscal, 9_999 * YUAN + 99)]),
        &[&f],
    );
    let refused = w.rejects(
        Kind::DisbursementExecuted(proto::DisbursementExecuted {
            proposal_tx_id: tx_ref(&p),
        }),
        &[&f],
        "UNAPPROVED_LIMIT",
    );
    assert!(refused.to_string().contains("30 days"), "{refused}");
    // The representatives approve it: at the quorum it executes.
    for a in [&a1, &a2] {
        w.ok(
            Kind::DisbursementApproved(proto::DisbursementApproved {
                proposal_tx_id: tx_ref(&p),
            }),
            &[a],
        );
    }
    assert_eq!(w.balance("payee:friend", Fiscal), 2 * (9_999 * YUAN + 99));
}

/// Rotating between payees opened without the representatives (by finance, or admins, who are
/// not co-managers): they count as one payee.
#[test]
fn rotating_between_payees_opened_without_the_representatives_does_not_escape_either() {
    let mut w = funded();
    let f = w.finance.clone();
    for i in 0..3 {
        open_payee(&mut w, &format!("payee:shell{i}"), &f);
    }
    pay_directly(&mut w, "payee:shell0", 6_000 * YUAN).unwrap();
    let refused = pay_directly(&mut w, "payee:shell1", 6_000 * YUAN).unwrap_err();
    assert_eq!(refused.reason(), "UNAPPROVED_LIMIT");
    assert!(
        refused
            .to_string()
            .contains("payees opened without the representatives"),
        "{refused}"
    );
    // Admins are not co-managers: a payee an admin opened counts with them.
    let refused = pay_directly(&mut w, "payee:builder", 6_000 * YUAN).unwrap_err();
    assert_eq!(refused.reason(), "UNAPPROVED_LIMIT");
    // A payee the representatives' quorum confirmed at opening has its own window.
    let (admin, a1, a2) = (w.admin.clone(), w.approver1.clone(), w.approver2.clone());
    w.ok(
        Kind::AccountOpened(proto::AccountOpened {
            account_id: "payee:confirmed".into(),
            kind: proto::AccountKind::Payee as i32,
            source: 0,
            name: "经居民代表确认的施工单位".into(),
        }),
        &[&admin, &a1, &a2],
    );
    pay_directly(&mut w, "payee:confirmed", 6_000 * YUAN).unwrap();
}

/// Outside the window the earlier payments no longer count.
#[test]
fn the_window_slides() {
    let mut w = funded();
    pay_directly(&mut w, "payee:builder", 9_000 * YUAN).unwrap();
    assert_eq!(
        pay_directly(&mut w, "payee:builder", 2_000 * YUAN)
            .unwrap_err()
            .reason(),
        "UNAPPROVED_LIMIT"
    );
    w.now += 30 * 24 * 3600 * 1000;
    // The proposal made inside the window was refused; a new one now passes.
    pay_directly(&mut w, "payee:builder", 2_000 * YUAN).unwrap();
}

/// A genesis names a window of 1 to 366 days.
#[test]
fn a_genesis_names_an_approval_window() {
    for (days, ok) in [(0, false), (1, true), (366, true), (367, false)] {
        let mut w = World::empty();
        let mut kind = w.genesis_kind(1);
        if let Kind::Genesis(g) = &mut kind {
            g.policy.as_mut().unwrap().approval_window_days = days;
        }
        let admin = w.admin.clone();
        if ok {
            w.ok(kind, &[&admin]);
        } else {
            w.rejects(kind, &[&admin], "INVALID_FIELD");
        }
    }
}

/// Admins alone cannot pack the residents' representatives: once there are enough approvers to
/// form their quorum, registering or revoking one needs that quorum's signatures too.
#[test]
fn admins_alone_cannot_register_or_revoke_approvers_once_they_can_form_a_quorum() {
    let mut w = World::started();
    let (admin, a1, a2) = (w.admin.clone(), w.approver1.clone(), w.approver2.clone());
    let newcomer = key(40);
    let register = Kind::KeyRegistered(proto::KeyRegistered {
        key: Some(build::public_key(&newcomer, Role::Approver, "居民代表 三")),
    });
    w.rejects(register.clone(), &[&admin], "ROLE_NOT_ALLOWED");
    w.rejects(register.clone(), &[&admin, &a1], "QUORUM_NOT_MET");
    w.ok(register, &[&admin, &a1, &a2]);
    let revoke = |k: &ed25519_dalek::SigningKey| {
        Kind::KeyRevoked(proto::KeyRevoked {
            key_id: KeyId::of(&k.verifying_key()).0.to_vec(),
            reason: "任期届满".into(),
        })
    };
    w.rejects(revoke(&a2), &[&admin], "ROLE_NOT_ALLOWED");
    w.ok(revoke(&a2), &[&admin, &a1, &newcomer]);
    // Other roles stay the admins' business.
    w.ok(
        Kind::KeyRegistered(proto::KeyRegistered {
            key: Some(build::public_key(&key(41), Role::Auditor, "审计 二")),
        }),
        &[&admin],
    );
}

/// Changing the rules is co-managed: the admin quorum and the approver quorum of the policy in
/// force; the new policy applies from the next entry on.
#[test]
fn a_policy_change_needs_the_admins_and_the_approvers() {
    let mut w = funded();
    let (admin, a1, a2, f) = (
        w.admin.clone(),
        w.approver1.clone(),
        w.approver2.clone(),
        w.finance.clone(),
    );
    let change = |threshold_yuan: u64, admin_quorum: u32| {
        Kind::PolicyChanged(proto::PolicyChanged {
            policy: Some(proto::Policy {
                approval_threshold_fen: threshold_yuan * YUAN,
                approver_quorum: 2,
                admin_quorum,
                reserve_ratio_bp: 1_000,
                approval_window_days: 30,
                notice_days: 0,
                objection_response_days: 0,
            }),
            reason: "居民代表大会决议".into(),
        })
    };
    w.rejects(change(1_000_000, 1), &[&admin], "ROLE_NOT_ALLOWED");
    w.rejects(change(1_000_000, 1), &[&admin, &a1], "QUORUM_NOT_MET");
    w.rejects(change(1_000_000, 1), &[&f, &a1, &a2], "ROLE_NOT_ALLOWED");
    // An admin quorum larger than the admins there are would lock everyone out.
    w.rejects(change(5_000, 3), &[&admin, &a1, &a2], "INVALID_FIELD");
    w.ok(change(5_000, 1), &[&admin, &a1, &a2]);
    assert_eq!(
        w.state.policy().unwrap().approval_threshold_fen,
        5_000 * YUAN
    );
    // From now on 6,000 needs the representatives.
    let p = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 6_000 * YUAN)]),
        &[&f],
    );
    w.rejects(
        Kind::DisbursementExecuted(proto::DisbursementExecuted {
            proposal_tx_id: tx_ref(&p),
        }),
        &[&f],
        "NEEDS_APPROVAL",
    );
}
