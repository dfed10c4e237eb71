//! A small world for given/when/then tests of the fund rules: a ledger with an admin, a
//! finance office, two residents' representatives and an auditor.
#![allow(dead_code)]

use ed25519_dalek::SigningKey;
use ledger_core::build;
use ledger_core::entry::Entry;
use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::rules::{apply_entry, Rejection};
use ledger_core::state::{Effects, FundSource, Role, State};
use prost::Message;

pub const LEDGER: &str = "test.community/fund";
pub const T0: i64 = 1_700_000_000_000;
pub const YUAN: u64 = 100;

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub struct World {
    pub state: State,
    pub now: i64,
    pub next_tx: u128,
    pub admin: SigningKey,
    pub admin2: SigningKey,
    pub finance: SigningKey,
    pub approver1: SigningKey,
    pub approver2: SigningKey,
    pub auditor: SigningKey,
    /// A household's key; not registered by `started`.
    pub resident: SigningKey,
    pub prev_hash: [u8; 32],
}

impl World {
    /// An empty ledger: no genesis yet.
    pub fn empty() -> World {
        World {
            state: State::new(),
            now: T0,
            next_tx: 1,
            admin: key(1),
            admin2: key(2),
            finance: key(3),
            approver1: key(4),
            approver2: key(5),
            auditor: key(6),
            resident: key(8),
            prev_hash: [0; 32],
        }
    }

    pub fn genesis_kind(&self, admin_quorum: u32) -> Kind {
        Kind::Genesis(proto::Genesis {
            ledger_name: "测试社区共同缔造基金".into(),
            currency: "CNY".into(),
            admin_keys: vec![
                build::public_key(&self.admin, Role::Admin, "admin one"),
                build::public_key(&self.admin2, Role::Admin, "admin two"),
            ],
            policy: Some(proto::Policy {
                approval_threshold_fen: 10_000 * YUAN,
                approver_quorum: 2,
                admin_quorum,
                reserve_ratio_bp: 1_000,
                approval_window_days: 30,
                notice_days: 0,
                objection_response_days: 0,
            }),
            checkpoint_key: key(7).verifying_key().to_bytes().to_vec(),
            witnesses: vec![],
            witness_quorum: 0,
        })
    }

    /// Genesis, keys for every role, fund pools for fiscal and crowdfunding, a payee and an
    /// elevator project with a budget.
    pub fn started() -> World {
        World::started_with(|_| {})
    }

    /// As [`World::started`], with the genesis policy changed by `policy` first.
    pub fn started_with(policy: impl FnOnce(&mut proto::Policy)) -> World {
        let mut w = World::empty();
        let admin = w.admin.clone();
        let mut genesis = w.genesis_kind(1);
        if let Kind::Genesis(g) = &mut genesis {
            policy(g.policy.as_mut().expect("the genesis has a policy"));
        }
        w.ok(genesis, &[&admin]);
        for (k, role, name) in [
            (w.finance.clone(), Role::Finance, "街道财政所"),
            (w.approver1.clone(), Role::Approver, "居民代表 一"),
            (w.approver2.clone(), Role::Approver, "居民代表 二"),
            (w.auditor.clone(), Role::Auditor, "第三方审计"),
        ] {
            w.ok(
                Kind::KeyRegistered(proto::KeyRegistered {
                    key: Some(build::public_key(&k, role, name)),
                }),
                &[&admin],
            );
        }
        w.ok(w.open_pool("pool:fiscal", FundSource::Fiscal), &[&admin]);
        w.ok(
            w.open_pool("pool:crowd", FundSource::Crowdfunding),
            &[&admin],
        );
        w.ok(
            Kind::AccountOpened(proto::AccountOpened {
                account_id: "payee:builder".into(),
                kind: proto::AccountKind::Payee as i32,
                source: 0,
                name: "电梯安装公司".into(),
            }),
            &[&admin],
        );
        w.ok(
            Kind::ProjectCreated(proto::ProjectCreated {
                project_id: "elevator".into(),
                name: "老旧小区加装电梯".into(),
                description: "3号楼".into(),
                budget: build::source_amounts(&[
                    (FundSource::Fiscal, 600_000 * YUAN),
                    (FundSource::Crowdfunding, 100_000 * YUAN),
                ]),
            }),
            &[&admin],
        );
        w
    }

    pub fn open_pool(&self, id: &str, source: FundSource) -> Kind {
        Kind::AccountOpened(proto::AccountOpened {
            account_id: id.into(),
            kind: proto::AccountKind::FundPool as i32,
            source: source.to_proto() as i32,
            name: format!("{} pool", source.slug()),
        })
    }

    pub fn receipt(&self, source: FundSource, pool: &str, fen: u64) -> Kind {
        Kind::FundsReceived(proto::FundsReceived {
            source: source.to_proto() as i32,
            to_account: pool.into(),
            amount_fen: fen,
            ..Default::default()
        })
    }

    pub fn allocation(&self, from: &str, project: &str, amounts: &[(FundSource, u64)]) -> Kind {
        Kind::FundsAllocated(proto::FundsAllocated {
            from_account: from.into(),
            project_id: project.into(),
            amounts: build::source_amounts(amounts),
            memo: String::new(),
        })
    }

    pub fn proposal(&self, project: &str, payee: &str, amounts: &[(FundSource, u64)]) -> Kind {
        Kind::DisbursementProposed(proto::DisbursementProposed {
            project_id: project.into(),
            payee_account: payee.into(),
            amounts: build::source_amounts(amounts),
            contract_hash: vec![7; 32],
            invoice_hash: vec![],
            memo: "电梯首付款".into(),
        })
    }

    pub fn fresh_tx_id(&mut self) -> [u8; 16] {
        let id = self.next_tx.to_be_bytes();
        self.next_tx += 1;
        id
    }

    /// The envelope bytes of a transaction, signed by `signers`.
    pub fn envelope(&mut self, kind: Kind, signers: &[&SigningKey]) -> Vec<u8> {
        let tx_id = self.fresh_tx_id();
        let body = build::body(LEDGER, tx_id, self.now, kind);
        build::envelope(body, signers).encode_to_vec()
    }

    /// Appends the envelope as the next entry if the rules accept it.
    pub fn submit_bytes(&mut self, envelope: Vec<u8>) -> Result<Effects, Rejection> {
        self.now += 1_000;
        let entry = Entry {
            sequence: self.state.next_sequence,
            prev_hash: self.prev_hash,
            timestamp_ms: self.now,
            envelope,
        };
        let effects = apply_entry(&mut self.state, &entry)?;
        self.prev_hash = entry.hash();
        Ok(effects)
    }

    pub fn submit(&mut self, kind: Kind, signers: &[&SigningKey]) -> Result<Effects, Rejection> {
        let env = self.envelope(kind, signers);
        self.submit_bytes(env)
    }

    pub fn ok(&mut self, kind: Kind, signers: &[&SigningKey]) -> Effects {
        let name = format!("{kind:?}");
        let effects = self
            .submit(kind, signers)
            .unwrap_or_else(|r| panic!("expected {name} to be accepted, got {r}"));
        // The one list of kinds that filters, the page and reports are checked against.
        assert!(
            ledger_core::tx::Kind::NAMES.contains(&effects.record.kind),
            "{} is missing from Kind::NAMES",
            effects.record.kind
        );
        effects
    }

    /// Asserts that the envelope is refused with `reason` and that nothing changed.
    pub fn rejects_bytes(&mut self, envelope: Vec<u8>, reason: &str) -> Rejection {
        let before = self.state.clone();
        let result = self.submit_bytes(envelope);
        let rejection = match result {
            Ok(effects) => panic!("expected {reason}, but it was accepted: {effects:?}"),
            Err(r) => r,
        };
        assert_eq!(rejection.reason(), reason, "wrong rejection: {rejection}");
        assert_eq!(
            self.state, before,
            "a rejected transaction changed the state"
        );
        rejection
    }

    pub fn rejects(&mut self, kind: Kind, signers: &[&SigningKey], reason: &str) -> Rejection {
        let env = self.envelope(kind, signers);
        self.rejects_bytes(env, reason)
    }

    /// Lets node time pass (the next entry is stamped `ms` later than it would have been).
    pub fn advance(&mut self, ms: i64) {
        self.now += ms;
    }

    pub fn balance(&self, account: &str, source: FundSource) -> u64 {
        self.state.accounts[account].balance.get(source)
    }
}
