//! The ledger's value types: fund sources, amounts per source, roles and the policy. They
//! depend on nothing but the limits and the wire enums, so every other module can use them
//! and imports run one way: `types` → `amount` → `tx` → `state` → `rules`.

use crate::limits::MAX_TOTAL_FEN;
use crate::proto;

/// Where money comes from. Every fen in the ledger stays tagged with its source.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum FundSource {
    Fiscal,
    SocialCapital,
    Resident,
    Crowdfunding,
    Donation,
    Loan,
    Other,
}

impl FundSource {
    pub const ALL: [FundSource; 7] = [
        FundSource::Fiscal,
        FundSource::SocialCapital,
        FundSource::Resident,
        FundSource::Crowdfunding,
        FundSource::Donation,
        FundSource::Loan,
        FundSource::Other,
    ];

    fn index(self) -> usize {
        self as usize
    }

    pub fn from_proto(value: i32) -> Option<FundSource> {
        match proto::FundSource::try_from(value).ok()? {
            proto::FundSource::Unspecified => None,
            proto::FundSource::Fiscal => Some(FundSource::Fiscal),
            proto::FundSource::SocialCapital => Some(FundSource::SocialCapital),
            proto::FundSource::Resident => Some(FundSource::Resident),
            proto::FundSource::Crowdfunding => Some(FundSource::Crowdfunding),
            proto::FundSource::Donation => Some(FundSource::Donation),
            proto::FundSource::Loan => Some(FundSource::Loan),
            proto::FundSource::Other => Some(FundSource::Other),
        }
    }

    pub fn to_proto(self) -> proto::FundSource {
        match self {
            FundSource::Fiscal => proto::FundSource::Fiscal,
            FundSource::SocialCapital => proto::FundSource::SocialCapital,
            FundSource::Resident => proto::FundSource::Resident,
            FundSource::Crowdfunding => proto::FundSource::Crowdfunding,
            FundSource::Donation => proto::FundSource::Donation,
            FundSource::Loan => proto::FundSource::Loan,
            FundSource::Other => proto::FundSource::Other,
        }
    }

    /// English identifier, as typed on the command line and used in reports.
    pub fn slug(self) -> &'static str {
        match self {
            FundSource::Fiscal => "fiscal",
            FundSource::SocialCapital => "social_capital",
            FundSource::Resident => "resident",
            FundSource::Crowdfunding => "crowdfunding",
            FundSource::Donation => "donation",
            FundSource::Loan => "loan",
            FundSource::Other => "other",
        }
    }

    /// Other names people write for it, in Chinese and English: all accepted wherever a source
    /// is typed.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            FundSource::Fiscal => &["财政资金", "财政拨款", "政府拨款"],
            FundSource::SocialCapital => &["社会资金", "social"],
            FundSource::Resident => &["居民", "自筹", "居民出资"],
            FundSource::Crowdfunding => &["众筹资金", "crowd"],
            FundSource::Donation => &["捐赠", "捐款", "慈善"],
            FundSource::Loan => &["贷款", "借款"],
            FundSource::Other => &["其它"],
        }
    }

    pub fn chinese_name(self) -> &'static str {
        match self {
            FundSource::Fiscal => "财政",
            FundSource::SocialCapital => "社会资本",
            FundSource::Resident => "居民自筹",
            FundSource::Crowdfunding => "众筹",
            FundSource::Donation => "慈善捐赠",
            FundSource::Loan => "银行贷款",
            FundSource::Other => "其他",
        }
    }
}

/// One amount in fen per fund source.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Amounts([u64; 7]);

impl Amounts {
    pub const ZERO: Amounts = Amounts([0; 7]);

    pub fn get(&self, source: FundSource) -> u64 {
        self.0[source.index()]
    }

    pub fn set(&mut self, source: FundSource, fen: u64) {
        self.0[source.index()] = fen;
    }

    pub fn single(source: FundSource, fen: u64) -> Amounts {
        let mut a = Amounts::ZERO;
        a.set(source, fen);
        a
    }

    /// Non-zero entries in source order.
    pub fn iter(&self) -> impl Iterator<Item = (FundSource, u64)> + '_ {
        FundSource::ALL
            .into_iter()
            .map(|s| (s, self.get(s)))
            .filter(|(_, v)| *v != 0)
    }

    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|v| *v == 0)
    }

    /// The sum over sources, or `None` above [`MAX_TOTAL_FEN`].
    pub fn checked_total(&self) -> Option<u64> {
        self.0
            .iter()
            .try_fold(0u64, |acc, v| acc.checked_add(*v))
            .filter(|t| *t <= MAX_TOTAL_FEN)
    }

    /// The sum per source, or `None` when any source's total would pass [`MAX_TOTAL_FEN`]: the
    /// one bound every balance, hold and project figure is kept under.
    pub fn checked_add(&self, other: &Amounts) -> Option<Amounts> {
        let mut out = *self;
        for i in 0..7 {
            out.0[i] = out.0[i]
                .checked_add(other.0[i])
                .filter(|t| *t <= MAX_TOTAL_FEN)?;
        }
        Some(out)
    }

    pub fn checked_sub(&self, other: &Amounts) -> Option<Amounts> {
        let mut out = *self;
        for i in 0..7 {
            out.0[i] = out.0[i].checked_sub(other.0[i])?;
        }
        Some(out)
    }

    pub fn to_proto(&self) -> Vec<proto::SourceAmount> {
        self.iter()
            .map(|(s, fen)| proto::SourceAmount {
                source: s.to_proto() as i32,
                amount_fen: fen,
            })
            .collect()
    }
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Role {
    Admin,
    Finance,
    Approver,
    Auditor,
    /// A household: objects to disbursements on notice and comments, nothing else.
    Resident,
}

impl Role {
    /// Every role: the one list pages and reports are checked against.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Finance,
        Role::Approver,
        Role::Auditor,
        Role::Resident,
    ];

    pub fn to_proto(self) -> proto::Role {
        match self {
            Role::Admin => proto::Role::Admin,
            Role::Finance => proto::Role::Finance,
            Role::Approver => proto::Role::Approver,
            Role::Auditor => proto::Role::Auditor,
            Role::Resident => proto::Role::Resident,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Finance => "finance",
            Role::Approver => "approver",
            Role::Auditor => "auditor",
            Role::Resident => "resident",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    pub approval_threshold_fen: u64,
    pub approver_quorum: u32,
    pub admin_quorum: u32,
    pub reserve_ratio_bp: u32,
    /// Days over which unapproved payments to a payee are added up (rules.rs, PROTOCOL §5).
    pub approval_window_days: u32,
    /// Days an approved disbursement at or above the threshold stays on public notice (公示)
    /// before it may be executed; 0 for none.
    pub notice_days: u32,
    /// Days the finance office has to answer an objection before the answer is overdue.
    pub objection_response_days: u32,
}

/// Milliseconds in a day, for the policy's periods (node time, UTC).
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

impl Policy {
    pub fn approval_window_ms(&self) -> i64 {
        i64::from(self.approval_window_days) * DAY_MS
    }

    pub fn notice_ms(&self) -> i64 {
        i64::from(self.notice_days) * DAY_MS
    }

    pub fn objection_response_ms(&self) -> i64 {
        i64::from(self.objection_response_days) * DAY_MS
    }
}

/// Every fund source name a person may type, for `--help` and error messages.
pub const SOURCE_NAMES_HELP: &str = "fiscal 财政 (财政资金, 财政拨款, 政府拨款); social-capital 社会资本 (社会资金, social); \
resident 居民自筹 (居民, 自筹, 居民出资); crowdfunding 众筹 (众筹资金, crowd); donation 慈善捐赠 (捐赠, 捐款, 慈善); \
loan 银行贷款 (贷款, 借款); other 其他 (其它)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_help_names_every_source_and_alias_and_no_alias_is_shared() {
        let mut seen = std::collections::BTreeSet::new();
        for s in FundSource::ALL {
            let names = [s.slug().replace('_', "-"), s.chinese_name().to_string()];
            for name in names
                .iter()
                .map(String::as_str)
                .chain(s.aliases().iter().copied())
            {
                assert!(
                    SOURCE_NAMES_HELP.contains(name),
                    "{name} is not in the help"
                );
                assert!(seen.insert(name.to_string()), "{name} names two sources");
            }
        }
    }
}
