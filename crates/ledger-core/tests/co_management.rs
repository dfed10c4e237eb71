//! Given / when / then for co-management: public notice (公示), objections (异议), household
//! keys, and a project's completion, evaluation, acceptance and closing (效果共评).

mod common;

use common::*;
use ed25519_dalek::SigningKey;
use ledger_core::build;
use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::state::{
    DisbursementState, Effects, FundSource::*, ObjectionState, ProjectStage, Role,
};
use ledger_core::tx::TxId;

const DAY: i64 = 24 * 60 * 60 * 1000;

fn tx_ref(effects: &Effects) -> Vec<u8> {
    effects.tx_id.0.to_vec()
}

/// A ledger with a 7-day notice and 10 days to answer objections, 300,000 fiscal and 10,000
/// crowdfunding allocated to the elevator, and a household key registered by a representative.
fn on_notice_world() -> World {
    let mut w = World::started_with(|p| {
        p.notice_days = 7;
        p.objection_response_days = 10;
    });
    let (f, a1) = (w.finance.clone(), w.approver1.clone());
    w.ok(w.receipt(Fiscal, "pool:fiscal", 500_000 * YUAN), &[&f]);
    w.ok(w.receipt(Crowdfunding, "pool:crowd", 20_000 * YUAN), &[&f]);
    w.ok(
        w.allocation("pool:fiscal", "elevator", &[(Fiscal, 300_000 * YUAN)]),
        &[&f],
    );
    w.ok(
        w.allocation("pool:crowd", "elevator", &[(Crowdfunding, 10_000 * YUAN)]),
        &[&f],
    );
    w.ok(register(&w.resident, Role::Resident, "3-1-101 户"), &[&a1]);
    w
}

fn register(k: &SigningKey, role: Role, name: &str) -> Kind {
    Kind::KeyRegistered(proto::KeyRegistered {
        key: Some(build::public_key(k, role, name)),
    })
}

fn approve(p: &Effects) -> Kind {
    Kind::DisbursementApproved(proto::DisbursementApproved {
        proposal_tx_id: tx_ref(p),
    })
}

fn execute(p: &Effects) -> Kind {
    Kind::DisbursementExecuted(proto::DisbursementExecuted {
        proposal_tx_id: tx_ref(p),
    })
}

fn object(p: &Effects, text: &str) -> Kind {
    Kind::ObjectionFiled(proto::ObjectionFiled {
        proposal_tx_id: tx_ref(p),
        text: text.into(),
        document_hash: vec![],
    })
}

fn answer(o: &Effects) -> Kind {
    Kind::ObjectionAnswered(proto::ObjectionAnswered {
        objection_tx_id: tx_ref(o),
        text: "合同价经三方询价确定，询价记录见附件".into(),
        document_hashes: vec![vec![9; 32]],
    })
}

fn resolve(o: &Effects, upheld: bool) -> Kind {
    Kind::ObjectionResolved(proto::ObjectionResolved {
        objection_tx_id: tx_ref(o),
        upheld,
        reason: "居民代表会议讨论决定".into(),
    })
}

/// Proposes 20,000 fiscal to the builder and has both representatives approve it: it is now
/// on notice.
fn approved_large(w: &mut World) -> Effects {
    let (f, a1, a2) = (w.finance.clone(), w.approver1.clone(), w.approver2.clone());
    let p = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 20_000 * YUAN)]),
        &[&f],
    );
    w.ok(approve(&p), &[&a1, &a2]);
    p
}

fn disbursement_state(w: &World, p: &Effects) -> DisbursementState {
    w.state.disbursements[&p.tx_id].state
}

#[test]
fn an_approved_large_disbursement_waits_out_its_notice_before_it_is_paid() {
    let mut w = on_notice_world();
    let f = w.finance.clone();
    let p = approved_large(&mut w);
    // Approved, but no money moved: it is on notice for 7 days of node time.
    assert_eq!(disbursement_state(&w, &p), DisbursementState::Pending);
    assert_eq!(w.balance("payee:builder", Fiscal), 0);
    let ends = w.state.disbursements[&p.tx_id].notice_ends_ms.unwrap();
    assert_eq!(ends, w.state.last_timestamp_ms + 7 * DAY);
    let refused = w.rejects(execute(&p), &[&f], "IN_NOTICE");
    assert!(refused.to_string().contains("7 day(s)"), "{refused}");
    w.advance(7 * DAY - 10_000);
    w.rejects(execute(&p), &[&f], "IN_NOTICE");
    w.advance(10_000);
    w.ok(execute(&p), &[&f]);
    assert_eq!(disbursement_state(&w, &p), DisbursementState::Executed);
    assert_eq!(w.balance("payee:builder", Fiscal), 20_000 * YUAN);
    // Approved payments do not count against the unapproved window.
    assert!(w.state.unapproved_paid.is_empty());
}

#[test]
fn one_representative_cannot_reject_what_the_quorum_put_on_notice() {
    let mut w = on_notice_world();
    let a1 = w.approver1.clone();
    let p = approved_large(&mut w);
    w.rejects(
        Kind::DisbursementRejected(proto::DisbursementRejected {
            proposal_tx_id: tx_ref(&p),
            reason: "改主意了".into(),
        }),
        &[&a1],
        "IN_NOTICE",
    );
}

#[test]
fn a_household_objection_blocks_payment_until_answered_and_dismissed() {
    let mut w = on_notice_world();
    let (f, a1, a2, r, aud) = (
        w.finance.clone(),
        w.approver1.clone(),
        w.approver2.clone(),
        w.resident.clone(),
        w.auditor.clone(),
    );
    let p = approved_large(&mut w);
    // Given the disbursement on notice, when a household objects,
    w.rejects(object(&p, "价格偏高"), &[&f], "ROLE_NOT_ALLOWED");
    w.rejects(object(&p, "价格偏高"), &[&r, &aud], "INVALID_FIELD");
    w.rejects(object(&p, "   "), &[&r], "INVALID_FIELD");
    let o = w.ok(object(&p, "电梯报价比邻近小区高三成"), &[&r]);
    w.rejects(object(&p, "再说一遍"), &[&r], "ALREADY_OBJECTED");
    // then the payment waits, even after the notice ends,
    w.advance(8 * DAY);
    let refused = w.rejects(execute(&p), &[&f], "OBJECTION_UNRESOLVED");
    assert!(refused.to_string().contains("open"), "{refused}");
    // the representatives decide only an answered objection, and the office answers it,
    w.rejects(resolve(&o, false), &[&a1, &a2], "WRONG_OBJECTION_STATE");
    w.rejects(answer(&o), &[&r], "ROLE_NOT_ALLOWED");
    let objection = &w.state.objections[&o.tx_id];
    assert!(objection.answer_overdue(objection.filed_ms + 11 * DAY));
    w.ok(answer(&o), &[&f]);
    w.rejects(answer(&o), &[&f], "WRONG_OBJECTION_STATE");
    w.rejects(execute(&p), &[&f], "OBJECTION_UNRESOLVED");
    // by their quorum, and dismissed it lets the payment go ahead.
    w.rejects(resolve(&o, false), &[&a1], "QUORUM_NOT_MET");
    w.rejects(resolve(&o, false), &[&a1, &a2, &f], "ROLE_NOT_ALLOWED");
    w.ok(resolve(&o, false), &[&a1, &a2]);
    assert_eq!(
        w.state.objections[&o.tx_id].state(),
        ObjectionState::Dismissed
    );
    w.rejects(resolve(&o, true), &[&a1, &a2], "WRONG_OBJECTION_STATE");
    w.ok(execute(&p), &[&f]);
    assert_eq!(w.balance("payee:builder", Fiscal), 20_000 * YUAN);
}

#[test]
fn an_upheld_objection_voids_the_disbursement_and_releases_its_hold() {
    let mut w = on_notice_world();
    let (f, a1, a2, aud) = (
        w.finance.clone(),
        w.approver1.clone(),
        w.approver2.clone(),
        w.auditor.clone(),
    );
    let p = approved_large(&mut w);
    let held = w.state.accounts["elevator"].held.get(Fiscal);
    assert_eq!(held, 20_000 * YUAN);
    let o = w.ok(object(&p, "合同未经招标"), &[&aud]);
    w.ok(answer(&o), &[&f]);
    w.ok(resolve(&o, true), &[&a1, &a2]);
    assert_eq!(disbursement_state(&w, &p), DisbursementState::Voided);
    assert_eq!(w.state.accounts["elevator"].held.get(Fiscal), 0);
    assert_eq!(w.state.objections[&o.tx_id].state(), ObjectionState::Upheld);
    w.advance(8 * DAY);
    w.rejects(execute(&p), &[&f], "NOT_PENDING");
}

#[test]
fn objections_are_filed_only_against_a_disbursement_on_notice() {
    let mut w = on_notice_world();
    let (f, r) = (w.finance.clone(), w.resident.clone());
    let p = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 20_000 * YUAN)]),
        &[&f],
    );
    // Not approved yet: nothing is on notice.
    w.rejects(object(&p, "太贵"), &[&r], "NOT_IN_NOTICE");
    let approved = approved_large(&mut w);
    w.advance(7 * DAY);
    // The notice is over.
    w.rejects(object(&approved, "太晚了"), &[&r], "NOT_IN_NOTICE");
    // A transaction that is no disbursement, no objection, or nothing at all.
    let receipt = w.ok(w.receipt(Fiscal, "pool:fiscal", 100 * YUAN), &[&f]);
    w.rejects(object(&receipt, "?"), &[&r], "UNKNOWN_DISBURSEMENT");
    w.rejects(answer(&receipt), &[&f], "UNKNOWN_OBJECTION");
    let mut nothing = receipt.clone();
    nothing.tx_id = TxId([0xEE; 16]);
    w.rejects(answer(&nothing), &[&f], "UNKNOWN_TRANSACTION");
}

#[test]
fn a_household_key_is_registered_by_a_representative_and_can_only_object_and_comment() {
    let mut w = on_notice_world();
    let (f, r, admin) = (w.finance.clone(), w.resident.clone(), w.admin.clone());
    let neighbour = key(30);
    w.rejects(
        register(&neighbour, Role::Resident, "3-1-201 户"),
        &[&f],
        "ROLE_NOT_ALLOWED",
    );
    w.ok(
        register(&neighbour, Role::Resident, "3-1-201 户"),
        &[&admin],
    );
    // A household cannot register keys of other roles, receive, propose or approve.
    w.rejects(
        register(&key(31), Role::Approver, "冒名代表"),
        &[&r],
        "ROLE_NOT_ALLOWED",
    );
    w.rejects(
        w.receipt(Fiscal, "pool:fiscal", 100 * YUAN),
        &[&r],
        "ROLE_NOT_ALLOWED",
    );
    let p = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 20_000 * YUAN)]),
        &[&f],
    );
    w.rejects(approve(&p), &[&r], "ROLE_NOT_ALLOWED");
    // It comments on any entry.
    w.ok(
        Kind::EntryAnnotated(proto::EntryAnnotated {
            target_tx_id: tx_ref(&p),
            note: "请公开三家报价".into(),
            document_hash: vec![],
        }),
        &[&r],
    );
}

/// Keys registered only to object cannot bury a disbursement: at most 32 undecided objections.
#[test]
fn a_disbursement_has_a_bounded_number_of_undecided_objections() {
    let mut w = on_notice_world();
    let (f, a1, a2) = (w.finance.clone(), w.approver1.clone(), w.approver2.clone());
    let p = approved_large(&mut w);
    let limit = ledger_core::limits::MAX_UNRESOLVED_OBJECTIONS;
    let households: Vec<SigningKey> = (0..=limit).map(|i| key(100 + i as u8)).collect();
    let mut filed = Vec::new();
    for (i, h) in households.iter().enumerate() {
        w.ok(register(h, Role::Resident, &format!("户 {i}")), &[&a1]);
    }
    for h in &households[..limit] {
        filed.push(w.ok(object(&p, "反对"), &[h]));
    }
    w.rejects(object(&p, "反对"), &[&households[limit]], "TOO_MANY");
    // Deciding one makes room again.
    w.ok(answer(&filed[0]), &[&f]);
    w.ok(resolve(&filed[0], false), &[&a1, &a2]);
    w.ok(object(&p, "反对"), &[&households[limit]]);
}

#[test]
fn an_answer_after_the_response_deadline_is_overdue() {
    let mut w = on_notice_world();
    let (f, r) = (w.finance.clone(), w.resident.clone());
    let p = approved_large(&mut w);
    let o = w.ok(object(&p, "施工单位资质？"), &[&r]);
    let filed = w.state.objections[&o.tx_id].filed_ms;
    assert_eq!(
        w.state.objections[&o.tx_id].response_due_ms,
        filed + 10 * DAY
    );
    assert!(!w.state.objections[&o.tx_id].answer_overdue(filed + 10 * DAY));
    assert!(w.state.objections[&o.tx_id].answer_overdue(filed + 10 * DAY + 1));
    w.advance(11 * DAY);
    w.ok(answer(&o), &[&f]);
    // Answered late stays marked late.
    assert!(w.state.objections[&o.tx_id].answer_overdue(i64::MAX));
}

#[test]
fn a_policy_bounds_its_notice_and_response_days() {
    for (notice, response, ok) in [
        (0, 0, true),
        (7, 10, true),
        (90, 90, true),
        (91, 10, false),
        (7, 0, false),
        (7, 91, false),
    ] {
        let mut w = World::empty();
        let mut kind = w.genesis_kind(1);
        if let Kind::Genesis(g) = &mut kind {
            let p = g.policy.as_mut().unwrap();
            p.notice_days = notice;
            p.objection_response_days = response;
        }
        let admin = w.admin.clone();
        if ok {
            w.ok(kind, &[&admin]);
        } else {
            w.rejects(kind, &[&admin], "INVALID_FIELD");
        }
    }
}

// ---------- 效果共评: completion, evaluation, acceptance, closing ----------

fn project_kind(kind: &str, project: &str) -> Kind {
    let project_id = project.to_string();
    match kind {
        "complete" => Kind::ProjectCompleted(proto::ProjectCompleted {
            project_id,
            memo: "竣工".into(),
            document_hash: vec![],
        }),
        "accept" => Kind::ProjectAccepted(proto::ProjectAccepted {
            project_id,
            memo: "验收通过".into(),
        }),
        "close" => Kind::ProjectClosed(proto::ProjectClosed {
            project_id,
            memo: "结项".into(),
        }),
        other => panic!("no project kind {other}"),
    }
}

fn evaluate(project: &str, satisfied: bool, report: bool) -> Kind {
    Kind::ProjectEvaluated(proto::ProjectEvaluated {
        project_id: project.into(),
        satisfied,
        comment: if satisfied { "满意" } else { "不满意" }.into(),
        report_hash: if report { vec![5; 32] } else { vec![] },
    })
}

#[test]
fn a_project_is_completed_evaluated_accepted_and_closed_with_its_remainder_returned() {
    let mut w = on_notice_world();
    let (f, admin, a1, a2, aud, r) = (
        w.finance.clone(),
        w.admin.clone(),
        w.approver1.clone(),
        w.approver2.clone(),
        w.auditor.clone(),
        w.resident.clone(),
    );
    let small = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 5_000 * YUAN)]),
        &[&f],
    );
    w.ok(execute(&small), &[&f]);
    let fiscal_pool = w.balance("pool:fiscal", Fiscal);
    let crowd_pool = w.balance("pool:crowd", Crowdfunding);

    w.rejects(
        evaluate("elevator", true, true),
        &[&aud],
        "WRONG_PROJECT_STAGE",
    );
    w.rejects(
        project_kind("complete", "elevator"),
        &[&admin],
        "ROLE_NOT_ALLOWED",
    );
    w.rejects(
        project_kind("complete", "nowhere"),
        &[&f],
        "UNKNOWN_PROJECT",
    );
    w.ok(project_kind("complete", "elevator"), &[&f]);
    w.rejects(
        project_kind("complete", "elevator"),
        &[&f],
        "WRONG_PROJECT_STAGE",
    );
    w.rejects(
        project_kind("close", "elevator"),
        &[&f],
        "WRONG_PROJECT_STAGE",
    );

    // Evaluations: an auditor with a report, representatives satisfied or not.
    w.rejects(
        project_kind("accept", "elevator"),
        &[&f],
        "EVALUATION_INCOMPLETE",
    );
    w.rejects(evaluate("elevator", true, false), &[&aud], "INVALID_FIELD");
    w.rejects(evaluate("elevator", true, true), &[&r], "ROLE_NOT_ALLOWED");
    w.rejects(evaluate("elevator", true, true), &[&f], "ROLE_NOT_ALLOWED");
    w.ok(evaluate("elevator", true, true), &[&aud]);
    w.ok(evaluate("elevator", false, false), &[&a1]);
    w.ok(evaluate("elevator", true, false), &[&a2]);
    let refused = w.rejects(
        project_kind("accept", "elevator"),
        &[&f],
        "EVALUATION_INCOMPLETE",
    );
    assert!(refused.to_string().contains("(1 so far)"), "{refused}");
    // A final payment is proposed before acceptance; after it, nothing more is.
    let late = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 1_000 * YUAN)]),
        &[&f],
    );
    // A representative evaluates again after the defects are fixed.
    w.ok(evaluate("elevator", true, false), &[&a1]);
    w.ok(project_kind("accept", "elevator"), &[&f]);
    assert_eq!(w.state.projects["elevator"].stage, ProjectStage::Accepted);
    w.rejects(
        evaluate("elevator", true, true),
        &[&aud],
        "WRONG_PROJECT_STAGE",
    );
    w.rejects(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 100 * YUAN)]),
        &[&f],
        "WRONG_PROJECT_STAGE",
    );
    w.rejects(
        w.allocation("pool:fiscal", "elevator", &[(Fiscal, 100 * YUAN)]),
        &[&f],
        "WRONG_PROJECT_STAGE",
    );

    // The pending disbursement holds the closing back.
    w.rejects(
        project_kind("close", "elevator"),
        &[&f],
        "PROJECT_HAS_PENDING",
    );
    w.ok(
        Kind::DisbursementVoided(proto::DisbursementVoided {
            proposal_tx_id: tx_ref(&late),
            reason: "不再需要".into(),
        }),
        &[&f],
    );
    let closed = w.ok(project_kind("close", "elevator"), &[&f]);

    // Every fen left goes back to where it came from, per source.
    assert_eq!(
        w.balance("pool:fiscal", Fiscal),
        fiscal_pool + 295_000 * YUAN
    );
    assert_eq!(
        w.balance("pool:crowd", Crowdfunding),
        crowd_pool + 10_000 * YUAN
    );
    assert_eq!(
        w.state.accounts["elevator"].balance.checked_total(),
        Some(0)
    );
    let moved: Vec<_> = closed
        .movements()
        .map(|m| (m.to.as_str(), m.amount))
        .collect();
    assert_eq!(
        moved,
        vec![
            ("pool:crowd", 10_000 * YUAN),
            ("pool:fiscal", 295_000 * YUAN)
        ]
    );
    let p = &w.state.projects["elevator"];
    assert_eq!(p.stage, ProjectStage::Closed);
    assert_eq!(p.returned.get(Fiscal), 295_000 * YUAN);
    assert_eq!(p.spent.get(Fiscal), 5_000 * YUAN);

    // Closed: nothing allocated to it, spent from it, or paid back into it.
    w.rejects(
        w.allocation("pool:fiscal", "elevator", &[(Fiscal, 100 * YUAN)]),
        &[&f],
        "WRONG_PROJECT_STAGE",
    );
    w.rejects(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 100 * YUAN)]),
        &[&f],
        "WRONG_PROJECT_STAGE",
    );
    w.rejects(
        Kind::EntryReversed(proto::EntryReversed {
            target_tx_id: tx_ref(&small),
            reason: "退款".into(),
        }),
        &[&f],
        "WRONG_PROJECT_STAGE",
    );
}

#[test]
fn a_failing_inspection_blocks_acceptance_until_the_auditor_passes_it() {
    let mut w = on_notice_world();
    let (f, a1, a2, aud) = (
        w.finance.clone(),
        w.approver1.clone(),
        w.approver2.clone(),
        w.auditor.clone(),
    );
    w.ok(project_kind("complete", "elevator"), &[&f]);
    w.ok(evaluate("elevator", false, true), &[&aud]);
    w.ok(evaluate("elevator", true, false), &[&a1, &a2]);
    let refused = w.rejects(
        project_kind("accept", "elevator"),
        &[&f],
        "EVALUATION_INCOMPLETE",
    );
    assert!(refused.to_string().contains("1 failed"), "{refused}");
    w.ok(evaluate("elevator", true, true), &[&aud]);
    w.ok(project_kind("accept", "elevator"), &[&f]);
}

// ---------- what the adversary review found ----------

fn policy_change(threshold_yuan: u64, approver_quorum: u32, notice_days: u32) -> Kind {
    Kind::PolicyChanged(proto::PolicyChanged {
        policy: Some(proto::Policy {
            approval_threshold_fen: threshold_yuan * YUAN,
            approver_quorum,
            admin_quorum: 1,
            reserve_ratio_bp: 1_000,
            approval_window_days: 30,
            notice_days,
            objection_response_days: 10,
        }),
        reason: "居民代表大会决议".into(),
    })
}

/// The representatives never fall below their quorum: no policy sets it above them, and none of
/// them is revoked below it, so their co-signature on approver keys never lapses.
#[test]
fn the_representatives_cannot_be_lowered_below_their_quorum_and_then_replaced() {
    let mut w = on_notice_world();
    let (admin, a1, a2) = (w.admin.clone(), w.approver1.clone(), w.approver2.clone());
    w.rejects(
        policy_change(10_000, 3, 7),
        &[&admin, &a1, &a2],
        "INVALID_FIELD",
    );
    let revoke = Kind::KeyRevoked(proto::KeyRevoked {
        key_id: ledger_core::signing::KeyId::of(&a1.verifying_key())
            .0
            .to_vec(),
        reason: "任期届满".into(),
    });
    let refused = w.rejects(revoke, &[&admin, &a1, &a2], "WOULD_LOCK_OUT");
    assert!(refused.to_string().contains("approver quorum"), "{refused}");
}

/// Silencing a household that objects is the representatives' decision, not one key's.
#[test]
fn a_household_key_is_revoked_only_by_the_representatives_quorum() {
    let mut w = on_notice_world();
    let (admin, a1, a2) = (w.admin.clone(), w.approver1.clone(), w.approver2.clone());
    let revoke = Kind::KeyRevoked(proto::KeyRevoked {
        key_id: ledger_core::signing::KeyId::of(&w.resident.verifying_key())
            .0
            .to_vec(),
        reason: "搬离".into(),
    });
    w.rejects(revoke.clone(), &[&admin], "ROLE_NOT_ALLOWED");
    w.rejects(revoke.clone(), &[&a1], "QUORUM_NOT_MET");
    w.ok(revoke, &[&a1, &a2]);
}

/// A notice ledger with 50,000 fiscal proposed and approved by one of the two representatives.
fn large_approved_by_one() -> (World, Effects) {
    let mut w = on_notice_world();
    let (f, a1) = (w.finance.clone(), w.approver1.clone());
    let large = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 50_000 * YUAN)]),
        &[&f],
    );
    w.ok(approve(&large), &[&a1]);
    (w, large)
}

/// A lower quorum or threshold never lets money skip the notice: the policy change puts what
/// the new quorum approved on notice, and what is now large needs the quorum.
#[test]
fn a_policy_change_applies_the_notice_to_disbursements_already_pending() {
    // Threshold 10,000 → 5,000, quorum and notice kept: the 8,000 now needs the quorum.
    let (mut w, large) = large_approved_by_one();
    let (f, admin, a1, a2) = (
        w.finance.clone(),
        w.admin.clone(),
        w.approver1.clone(),
        w.approver2.clone(),
    );
    let small = w.ok(
        w.proposal("elevator", "payee:builder", &[(Fiscal, 8_000 * YUAN)]),
        &[&f],
    );
    let change = w.ok(policy_change(5_000, 2, 7), &[&admin, &a1, &a2]);
    assert!(w.state.disbursements[&small.tx_id].needs_quorum);
    w.rejects(execute(&small), &[&f], "NEEDS_APPROVAL");
    assert!(change.changes.len() >= 2, "{:?}", change.changes);
    // The large one, approved by one, is not on notice at quorum 2.
    assert_eq!(w.state.disbursements[&large.tx_id].notice_ends_ms, None);

    // Quorum 2 → 1: the one approval now reaches it, and the notice starts now.
    let (mut w, large) = large_approved_by_one();
    let (f, admin, a1, a2) = (
        w.finance.clone(),
        w.admin.clone(),
        w.approver1.clone(),
        w.approver2.clone(),
    );
    w.ok(policy_change(10_000, 1, 7), &[&admin, &a1, &a2]);
    let ends = w.state.disbursements[&large.tx_id].notice_ends_ms.unwrap();
    assert_eq!(ends, w.state.last_timestamp_ms + 7 * DAY);
    w.rejects(execute(&large), &[&f], "IN_NOTICE");
}

/// An office that never answers cannot hold the decision hostage: past the answer deadline the
/// representatives decide the objection unanswered.
#[test]
fn an_unanswered_objection_is_decided_once_its_answer_is_overdue() {
    let mut w = on_notice_world();
    let (a1, a2, r) = (w.approver1.clone(), w.approver2.clone(), w.resident.clone());
    let p = approved_large(&mut w);
    let o = w.ok(object(&p, "报价过高"), &[&r]);
    w.rejects(resolve(&o, true), &[&a1, &a2], "WRONG_OBJECTION_STATE");
    w.advance(10 * DAY + 1);
    w.ok(resolve(&o, true), &[&a1, &a2]);
    assert_eq!(disbursement_state(&w, &p), DisbursementState::Voided);
}
