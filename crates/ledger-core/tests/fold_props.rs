//! Properties of the fold over random sequences of transactions: money is never made or lost,
//! no rule is bypassed, nothing panics, and replaying the accepted entries gives the same state.

mod common;

use common::*;
use ledger_core::entry::Entry;
use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::rules::apply_entry;
use ledger_core::state::FundSource;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Receive(bool, u64),
    Allocate(u64),
    Propose(u64),
    Approve(usize, bool),
    Execute(usize),
    Reject(usize),
    Void(usize),
    Reverse(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let fen = 1u64..2_000_000 * YUAN;
    prop_oneof![
        (any::<bool>(), fen.clone()).prop_map(|(c, a)| Op::Receive(c, a)),
        fen.clone().prop_map(Op::Allocate),
        fen.prop_map(Op::Propose),
        (0usize..64, any::<bool>()).prop_map(|(i, b)| Op::Approve(i, b)),
        (0usize..64).prop_map(Op::Execute),
        (0usize..64).prop_map(Op::Reject),
        (0usize..64).prop_map(Op::Void),
        (0usize..64).prop_map(Op::Reverse),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn money_is_conserved_and_replay_is_deterministic(ops in proptest::collection::vec(op(), 1..60)) {
        let mut w = World::started();
        let (f, a1, a2) = (w.finance.clone(), w.approver1.clone(), w.approver2.clone());
        let mut accepted: Vec<Entry> = Vec::new();
        let mut tx_ids: Vec<Vec<u8>> = Vec::new();
        let pick = |ids: &Vec<Vec<u8>>, i: usize| ids.get(i % ids.len().max(1)).cloned().unwrap_or_else(|| vec![0; 16]);

        for op in ops {
            let (kind, signers): (Kind, Vec<&ed25519_dalek::SigningKey>) = match op {
                Op::Receive(crowd, fen) => {
                    if crowd { (w.receipt(FundSource::Crowdfunding, "pool:crowd", fen), vec![&f]) }
                    else { (w.receipt(FundSource::Fiscal, "pool:fiscal", fen), vec![&f]) }
                }
                Op::Allocate(fen) => (w.allocation("pool:fiscal", "elevator", &[(FundSource::Fiscal, fen)]), vec![&f]),
                Op::Propose(fen) => (w.proposal("elevator", "payee:builder", &[(FundSource::Fiscal, fen)]), vec![&f]),
                Op::Approve(i, first) => (Kind::DisbursementApproved(proto::DisbursementApproved { proposal_tx_id: pick(&tx_ids, i) }), vec![if first { &a1 } else { &a2 }]),
                Op::Execute(i) => (Kind::DisbursementExecuted(proto::DisbursementExecuted { proposal_tx_id: pick(&tx_ids, i) }), vec![&f]),
                Op::Reject(i) => (Kind::DisbursementRejected(proto::DisbursementRejected { proposal_tx_id: pick(&tx_ids, i), reason: String::new() }), vec![&a1]),
                Op::Void(i) => (Kind::DisbursementVoided(proto::DisbursementVoided { proposal_tx_id: pick(&tx_ids, i), reason: String::new() }), vec![&f]),
                Op::Reverse(i) => (Kind::EntryReversed(proto::EntryReversed { target_tx_id: pick(&tx_ids, i), reason: String::new() }), vec![&f]),
            };
            let env = w.envelope(kind, &signers);
            let before = w.state.clone();
            let entry = Entry { sequence: w.state.next_sequence, prev_hash: w.prev_hash, timestamp_ms: w.now + 1_000, envelope: env.clone() };
            match w.submit_bytes(env) {
                Ok(effects) => {
                    tx_ids.push(effects.tx_id.0.to_vec());
                    accepted.push(entry);
                }
                Err(_) => prop_assert_eq!(&w.state, &before),
            }
            // Money is only moved, never made or lost.
            prop_assert_eq!(w.state.internal_total(), Some(w.state.received));
            for p in w.state.projects.values() {
                for s in FundSource::ALL {
                    prop_assert!(p.allocated.get(s) <= p.budget.get(s));
                    prop_assert!(p.spent.get(s) <= p.allocated.get(s));
                }
            }
            for a in w.state.accounts.values() {
                prop_assert!(a.balance.checked_sub(&a.held).is_some());
            }
        }

        // Replaying the whole log from nothing gives exactly the same state.
        let mut full = World::started();
        for entry in &accepted {
            let e = Entry { sequence: full.state.next_sequence, prev_hash: full.prev_hash, ..entry.clone() };
            full.now = entry.timestamp_ms;
            apply_entry(&mut full.state, &e).expect("an accepted entry is accepted again");
            full.prev_hash = e.hash();
        }
        prop_assert_eq!(&full.state, &w.state);
    }
}

#[derive(Clone, Debug)]
enum Spend {
    /// Open a payee, by finance alone (true) or by an admin.
    OpenPayee(bool),
    /// Propose and directly execute a payment to payee i.
    Pay(usize, u64),
    /// Let time pass (hours).
    Wait(u32),
}

fn spend() -> impl Strategy<Value = Spend> {
    prop_oneof![
        any::<bool>().prop_map(Spend::OpenPayee),
        (0usize..8, 1u64..12_000 * YUAN).prop_map(|(i, f)| Spend::Pay(i, f)),
        (1u32..24 * 40).prop_map(Spend::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Issue 14's property: whatever finance and admin keys do alone (open payees, split, rotate,
    /// wait), the money paid without the approver quorum within any approval window stays below
    /// the threshold, all payees opened without the representatives counting as one.
    #[test]
    fn without_the_approvers_no_payee_gets_the_threshold_in_a_window(steps in proptest::collection::vec(spend(), 1..80)) {
        let mut w = World::started();
        let (f, admin) = (w.finance.clone(), w.admin.clone());
        w.ok(w.receipt(FundSource::Fiscal, "pool:fiscal", 1_000_000 * YUAN), &[&f]);
        w.ok(w.allocation("pool:fiscal", "elevator", &[(FundSource::Fiscal, 600_000 * YUAN)]), &[&f]);
        let policy = *w.state.policy().unwrap();
        let (threshold, window) = (policy.approval_threshold_fen, policy.approval_window_ms());
        let mut payees: Vec<(String, bool)> = vec![("payee:builder".into(), false)];
        let mut paid: Vec<(i64, String, u64)> = Vec::new();
        for step in steps {
            match step {
                Spend::OpenPayee(by_finance) => {
                    let id = format!("payee:p{}", payees.len());
                    let kind = Kind::AccountOpened(proto::AccountOpened { account_id: id.clone(), kind: proto::AccountKind::Payee as i32, source: 0, name: id.clone() });
                    w.ok(kind, &[if by_finance { &f } else { &admin }]);
                    payees.push((id, by_finance));
                }
                Spend::Pay(i, fen) => {
                    let (payee, _) = payees[i % payees.len()].clone();
                    let Ok(p) = w.submit(w.proposal("elevator", &payee, &[(FundSource::Fiscal, fen)]), &[&f]) else { continue };
                    let exec = Kind::DisbursementExecuted(proto::DisbursementExecuted { proposal_tx_id: p.tx_id.0.to_vec() });
                    if w.submit(exec, &[&f]).is_ok() {
                        paid.push((w.now, payee, fen));
                    }
                }
                Spend::Wait(hours) => w.now += i64::from(hours) * 3600 * 1000,
            }
        }
        // Neither finance nor admins are co-managers: every payee here was opened without the
        // representatives, so all of them together stay below the threshold in any window.
        let group = |payee: &str| payees.iter().find(|(p, _)| p == payee).map(|_| "*unconfirmed*".to_string()).unwrap();
        for (t, payee, _) in &paid {
            let bucket = group(payee);
            let in_window: u64 = paid.iter().filter(|(t2, p2, _)| group(p2) == bucket && *t2 > t - window && t2 <= t).map(|(_, _, f)| f).sum();
            prop_assert!(in_window < threshold, "{bucket} got {in_window} fen unapproved within a window ending at {t}");
        }
    }
}

#[derive(Clone, Debug)]
enum Notice {
    Propose(u64),
    /// Both representatives approve disbursement i (in one envelope or two).
    Approve(usize, bool),
    Execute(usize),
    Void(usize),
    /// The household (true) or the auditor objects to disbursement i.
    Object(usize, bool),
    Answer(usize),
    Resolve(usize, bool),
    /// Let node time pass (hours).
    Wait(u32),
}

fn notice_step() -> impl Strategy<Value = Notice> {
    prop_oneof![
        (5_000 * YUAN..40_000 * YUAN).prop_map(Notice::Propose),
        (0usize..16, any::<bool>()).prop_map(|(i, b)| Notice::Approve(i, b)),
        (0usize..16).prop_map(Notice::Execute),
        (0usize..16).prop_map(Notice::Void),
        (0usize..16, any::<bool>()).prop_map(|(i, b)| Notice::Object(i, b)),
        (0usize..16).prop_map(Notice::Answer),
        (0usize..16, any::<bool>()).prop_map(|(i, b)| Notice::Resolve(i, b)),
        (1u32..24 * 5).prop_map(Notice::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// 公示 and 异议: whatever order approvals, objections, answers, decisions, voids, executions
    /// and waiting come in, a disbursement at or above the threshold is paid only with the
    /// approver quorum, after its notice ended, and with every objection to it decided and
    /// none upheld; and replaying the accepted entries gives the same state.
    #[test]
    fn no_large_payment_skips_its_notice_or_an_objection(steps in proptest::collection::vec(notice_step(), 1..60)) {
        let mut w = World::started_with(|p| { p.notice_days = 3; p.objection_response_days = 2; });
        let (f, a1, a2, aud, admin) = (w.finance.clone(), w.approver1.clone(), w.approver2.clone(), w.auditor.clone(), w.admin.clone());
        let household = w.resident.clone();
        w.ok(Kind::KeyRegistered(proto::KeyRegistered { key: Some(ledger_core::build::public_key(&household, ledger_core::state::Role::Resident, "户")) }), &[&admin]);
        w.ok(w.receipt(FundSource::Fiscal, "pool:fiscal", 1_000_000 * YUAN), &[&f]);
        w.ok(w.allocation("pool:fiscal", "elevator", &[(FundSource::Fiscal, 600_000 * YUAN)]), &[&f]);
        let quorum = w.state.policy().unwrap().approver_quorum as usize;
        let mut proposals: Vec<Vec<u8>> = Vec::new();
        let mut objections: Vec<Vec<u8>> = Vec::new();
        let pick = |ids: &Vec<Vec<u8>>, i: usize| ids.get(i % ids.len().max(1)).cloned().unwrap_or_else(|| vec![0; 16]);
        for step in steps {
            let (kind, signers): (Kind, Vec<&ed25519_dalek::SigningKey>) = match step {
                Notice::Wait(hours) => { w.advance(i64::from(hours) * 3600 * 1000); continue; }
                Notice::Propose(fen) => (w.proposal("elevator", "payee:builder", &[(FundSource::Fiscal, fen)]), vec![&f]),
                Notice::Approve(i, together) => {
                    let kind = Kind::DisbursementApproved(proto::DisbursementApproved { proposal_tx_id: pick(&proposals, i) });
                    if together { (kind, vec![&a1, &a2]) } else { let _ = w.submit(kind.clone(), &[&a1]); (kind, vec![&a2]) }
                }
                Notice::Execute(i) => (Kind::DisbursementExecuted(proto::DisbursementExecuted { proposal_tx_id: pick(&proposals, i) }), vec![&f]),
                Notice::Void(i) => (Kind::DisbursementVoided(proto::DisbursementVoided { proposal_tx_id: pick(&proposals, i), reason: "撤回".into() }), vec![&f]),
                Notice::Object(i, by_household) => (Kind::ObjectionFiled(proto::ObjectionFiled { proposal_tx_id: pick(&proposals, i), text: "异议".into(), document_hash: vec![] }), vec![if by_household { &household } else { &aud }]),
                Notice::Answer(i) => (Kind::ObjectionAnswered(proto::ObjectionAnswered { objection_tx_id: pick(&objections, i), text: "答复".into(), document_hashes: vec![] }), vec![&f]),
                Notice::Resolve(i, upheld) => (Kind::ObjectionResolved(proto::ObjectionResolved { objection_tx_id: pick(&objections, i), upheld, reason: "决定".into() }), vec![&a1, &a2]),
            };
            let is_filing = matches!(kind, Kind::ObjectionFiled(_));
            let is_proposal = matches!(kind, Kind::DisbursementProposed(_));
            let Ok(effects) = w.submit(kind, &signers) else { continue };
            if is_filing { objections.push(effects.tx_id.0.to_vec()); }
            if is_proposal { proposals.push(effects.tx_id.0.to_vec()); }
            for d in w.state.disbursements.values() {
                if d.state != ledger_core::state::DisbursementState::Executed || !d.needs_quorum { continue; }
                prop_assert!(d.approvals.len() >= quorum);
                let ends = d.notice_ends_ms.expect("a large payment went on notice");
                // Paid at an entry no earlier than the notice's end.
                prop_assert!(w.state.last_timestamp_ms >= ends);
                for o in &d.objections {
                    let state = w.state.objections[o].state();
                    prop_assert_eq!(state, ledger_core::state::ObjectionState::Dismissed, "paid past objection {:?}", o);
                }
            }
            prop_assert_eq!(w.state.internal_total(), Some(w.state.received));
        }
    }
}
