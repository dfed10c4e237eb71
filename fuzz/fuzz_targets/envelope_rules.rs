//! Envelope decoding and the fund rules on arbitrary bytes: never a panic. The state is a small
//! ledger with keys, pools, a project and money, so the rules get past the first checks.
#![no_main]

use std::sync::OnceLock;

use ed25519_dalek::SigningKey;
use ledger_core::build;
use ledger_core::entry::Entry;
use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::rules::{self, EntryContext};
use ledger_core::state::{FundSource, Role, State};
use libfuzzer_sys::fuzz_target;
use prost::Message;

const LEDGER: &str = "fuzz.example/ledger";
const NOW: i64 = 1_700_000_000_000;

fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let admin = SigningKey::from_bytes(&[1; 32]);
        let finance = SigningKey::from_bytes(&[2; 32]);
        let approver = SigningKey::from_bytes(&[3; 32]);
        let mut state = State::new();
        let mut seq = 0u64;
        let mut post = |state: &mut State, kind: Kind, key: &SigningKey| {
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&seq.to_be_bytes());
            let envelope = build::envelope(build::body(LEDGER, id, NOW, kind), &[key]).encode_to_vec();
            rules::apply_entry(state, &Entry { sequence: seq, prev_hash: [0; 32], timestamp_ms: NOW, envelope }).expect("fuzz setup");
            seq += 1;
        };
        post(&mut state, Kind::Genesis(proto::Genesis { ledger_name: "fuzz".into(), currency: "CNY".into(), admin_keys: vec![build::public_key(&admin, Role::Admin, "a")], policy: Some(proto::Policy { approval_threshold_fen: 1000, approver_quorum: 1, admin_quorum: 1, reserve_ratio_bp: 1000 }), checkpoint_key: admin.verifying_key().to_bytes().to_vec() }), &admin);
        post(&mut state, Kind::KeyRegistered(proto::KeyRegistered { key: Some(build::public_key(&finance, Role::Finance, "f")) }), &admin);
        post(&mut state, Kind::KeyRegistered(proto::KeyRegistered { key: Some(build::public_key(&approver, Role::Approver, "r")) }), &admin);
        post(&mut state, Kind::AccountOpened(proto::AccountOpened { account_id: "pool".into(), kind: proto::AccountKind::FundPool as i32, source: 1, name: "p".into() }), &admin);
        post(&mut state, Kind::AccountOpened(proto::AccountOpened { account_id: "payee".into(), kind: proto::AccountKind::Payee as i32, source: 0, name: "p".into() }), &admin);
        post(&mut state, Kind::ProjectCreated(proto::ProjectCreated { project_id: "proj".into(), name: "p".into(), description: String::new(), budget: build::source_amounts(&[(FundSource::Fiscal, 1 << 40)]) }), &admin);
        post(&mut state, Kind::FundsReceived(proto::FundsReceived { source: 1, to_account: "pool".into(), amount_fen: 1 << 30, ..Default::default() }), &finance);
        state
    })
}

fuzz_target!(|data: &[u8]| {
    let state = state();
    let Ok(prepared) = rules::prepare(data) else { return };
    let _ = rules::verify_signatures(state, &prepared);
    // Apply as if the envelope's key ids had signed: reaches every rule without valid signatures.
    let signers: Vec<_> = prepared.envelope.signatures.iter().map(|(k, _)| *k).collect();
    let ctx = EntryContext { sequence: state.next_sequence, timestamp_ms: NOW };
    if let Ok(effects) = rules::apply(state, &ctx, &prepared.tx, &prepared.body_hash, &signers) {
        let mut next = state.clone();
        next.commit(effects, NOW);
        assert_eq!(next.internal_total(), Some(next.received), "money was made or lost");
    }
});
