//! Money as people type and read it (yuan, `1,234.56`) and as the ledger keeps it (integer
//! fen, 1 yuan = 100 fen). Parsing is exact: no floating point is ever involved.

use crate::types::FundSource;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error(
        "{0:?} 不是金额：请用元填写，如 600000 或 1234.56（数字，最多两位小数） / {0:?} is not an amount: write yuan like 600000 or 1234.56 (digits, at most two decimals)"
    )]
    NotANumber(String),
    #[error("{0:?} 超过两位小数：账本以分（0.01 元）为单位 / {0:?} has more than two decimals: the ledger counts whole fen (0.01 yuan)")]
    TooManyDecimals(String),
    #[error("金额 {0:?} 超过账本上限（1万亿元） / {0:?} is over the largest amount the ledger accepts (1,000,000,000,000.00 yuan)")]
    TooLarge(String),
    #[error("金额必须大于零 / an amount must be more than zero")]
    Zero,
}

/// Parses yuan with up to two decimals into fen. `0.1` is 10 fen; `1.005`, `-3`, `1e3`,
/// `abc`, `0` and anything over [`crate::limits::MAX_AMOUNT_FEN`] are refused. Commas as thousands separators are accepted (`1,234.50`).
pub fn parse_yuan(text: &str) -> Result<u64, AmountError> {
    let trimmed = text.trim();
    let cleaned: String = trimmed.chars().filter(|&c| c != ',').collect();
    let (whole, frac) = match cleaned.split_once('.') {
        Some((w, f)) => (w, f),
        None => (cleaned.as_str(), ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits(whole)
        || !digits(frac)
        || (cleaned.contains('.') && frac.is_empty())
    {
        return Err(AmountError::NotANumber(text.to_string()));
    }
    if frac.len() > 2 {
        return Err(AmountError::TooManyDecimals(text.to_string()));
    }
    let too_large = || AmountError::TooLarge(text.to_string());
    let whole: u64 = whole.parse().map_err(|_| too_large())?;
    let mut frac_fen: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| too_large())?
    };
    if frac.len() == 1 {
        frac_fen *= 10;
    }
    let fen = whole
        .checked_mul(100)
        .and_then(|f| f.checked_add(frac_fen))
        .filter(|f| *f <= crate::limits::MAX_AMOUNT_FEN)
        .ok_or_else(too_large)?;
    if fen == 0 {
        return Err(AmountError::Zero);
    }
    Ok(fen)
}

/// Formats fen as yuan with thousands separators and two decimals: `123456` → `1,234.56`.
pub fn format_yuan(fen: u64) -> String {
    let whole = (fen / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}.{:02}", grouped, fen % 100)
}

/// Formats fen as plain yuan with two decimals and no separators (`1234.56`), for CSV.
pub fn format_yuan_plain(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// Parses a fund source from its English or Chinese name, or one of its common other names
/// ([`FundSource::aliases`]).
pub fn parse_source(text: &str) -> Option<FundSource> {
    FundSource::ALL.into_iter().find(|s| {
        let t = text.trim();
        t.eq_ignore_ascii_case(s.slug())
            || t == s.chinese_name()
            || t.eq_ignore_ascii_case(&s.slug().replace('_', "-"))
            || s.aliases().iter().any(|a| t.eq_ignore_ascii_case(a))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn yuan_parse_exactly_into_fen() {
        assert_eq!(parse_yuan("600000.00"), Ok(60_000_000));
        assert_eq!(parse_yuan("0.1"), Ok(10));
        assert_eq!(parse_yuan("0.01"), Ok(1));
        assert_eq!(parse_yuan("1,234.56"), Ok(123_456));
        assert_eq!(parse_yuan(" 12 "), Ok(1200));
        assert!(matches!(
            parse_yuan("1.005"),
            Err(AmountError::TooManyDecimals(_))
        ));
        for bad in [
            "-3", "1e3", "abc", "", ".5", "5.", "1.2.3", "+1", "NaN", "１２",
        ] {
            assert!(
                matches!(parse_yuan(bad), Err(AmountError::NotANumber(_))),
                "{bad}"
            );
        }
        assert_eq!(parse_yuan("0"), Err(AmountError::Zero));
        assert_eq!(parse_yuan("0.00"), Err(AmountError::Zero));
        assert!(matches!(
            parse_yuan("184467440737095516.16"),
            Err(AmountError::TooLarge(_))
        ));
        // The ledger's bound (MAX_AMOUNT_FEN): one trillion yuan, and not a fen more.
        assert_eq!(
            parse_yuan("1,000,000,000,000.00"),
            Ok(crate::limits::MAX_AMOUNT_FEN)
        );
        assert!(matches!(
            parse_yuan("1000000000000.01"),
            Err(AmountError::TooLarge(_))
        ));
        assert!(matches!(
            parse_yuan("99999999999999999"),
            Err(AmountError::TooLarge(_))
        ));
    }

    #[test]
    fn yuan_format_groups_thousands() {
        assert_eq!(format_yuan(0), "0.00");
        assert_eq!(format_yuan(5), "0.05");
        assert_eq!(format_yuan(123_456), "1,234.56");
        assert_eq!(format_yuan(60_000_000), "600,000.00");
        assert_eq!(format_yuan_plain(60_000_000), "600000.00");
        assert_eq!(format_yuan(u64::MAX), "184,467,440,737,095,516.15");
    }

    #[test]
    fn sources_parse_in_english_and_chinese() {
        assert_eq!(parse_source("fiscal"), Some(FundSource::Fiscal));
        assert_eq!(parse_source("财政"), Some(FundSource::Fiscal));
        assert_eq!(
            parse_source("social-capital"),
            Some(FundSource::SocialCapital)
        );
        assert_eq!(parse_source("众筹"), Some(FundSource::Crowdfunding));
        assert_eq!(parse_source("居民自筹"), Some(FundSource::Resident));
        assert_eq!(parse_source("gold"), None);
        assert_eq!(parse_source("捐赠"), Some(FundSource::Donation));
        assert_eq!(parse_source("贷款"), Some(FundSource::Loan));
        assert_eq!(parse_source(" Crowd "), Some(FundSource::Crowdfunding));
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(fen in 1u64..=crate::limits::MAX_AMOUNT_FEN) {
            prop_assert_eq!(parse_yuan(&format_yuan(fen)), Ok(fen));
            prop_assert_eq!(parse_yuan(&format_yuan_plain(fen)), Ok(fen));
        }
    }
}
