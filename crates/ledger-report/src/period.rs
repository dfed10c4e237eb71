//! Reporting periods: a month, a quarter, a year or any two dates, in China Standard Time
//! (UTC+8, no daylight saving), which is the time the finance office and the notice board use.
//! Node timestamps are UTC milliseconds; a period is the half-open range of them it covers.

use std::fmt;

/// Milliseconds in a day, and China Standard Time's offset from UTC.
const DAY_MS: i64 = 86_400_000;
const CST_OFFSET_MS: i64 = 8 * 3_600_000;
/// Years a period may name: the ledger has no entries before 2000, and dates past 9999 do not
/// print in four digits.
const FIRST_YEAR: i32 = 2000;
const LAST_YEAR: i32 = 9999;

/// A calendar date (proleptic Gregorian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// The date, if it exists and lies in the years a period may name.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        let ok = (FIRST_YEAR..=LAST_YEAR).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        ok.then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    pub fn days_since_epoch(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date of a day count (Hinnant's `civil_from_days`).
    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// UTC milliseconds at 00:00 China Standard Time of this date.
    pub fn start_ms(self) -> i64 {
        self.days_since_epoch() * DAY_MS - CST_OFFSET_MS
    }

    fn parse(text: &str) -> Option<Date> {
        if !text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
            return None;
        }
        let mut parts = text.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    }

    fn next_day(self) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch() + 1)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 31,
    }
}

/// "2026-03-31 14:05" in China Standard Time, for a node timestamp.
pub fn format_cst(timestamp_ms: i64) -> String {
    let local = timestamp_ms + CST_OFFSET_MS;
    let date = Date::from_days_since_epoch(local.div_euclid(DAY_MS));
    let minute = local.rem_euclid(DAY_MS) / 60_000;
    format!("{date} {:02}:{:02}", minute / 60, minute % 60)
}

/// A reporting period: the dates it runs from and to, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub first: Date,
    pub last: Date,
    kind: PeriodKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PeriodKind {
    Month,
    Quarter,
    Year,
    Range,
}

/// Why a period could not be read; the message says what to type instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "无法识别期间 \"{0}\"：请写 2026-03（月）、2026-Q1（季度）、2026（年）或 2026-01-01..2026-03-31（起止日期，含两端），年份 2000–9999。\n\
     cannot read the period \"{0}\": write 2026-03 (a month), 2026-Q1 (a quarter), 2026 (a year) or 2026-01-01..2026-03-31 (two dates, both included), years 2000–9999"
)]
pub struct PeriodError(pub String);

impl Period {
    pub fn month(year: i32, month: u32) -> Option<Period> {
        let first = Date::new(year, month, 1)?;
        let last = Date::new(year, month, days_in_month(year, month))?;
        Some(Period {
            first,
            last,
            kind: PeriodKind::Month,
        })
    }

    pub fn quarter(year: i32, quarter: u32) -> Option<Period> {
        if !(1..=4).contains(&quarter) {
            return None;
        }
        let first = Date::new(year, quarter * 3 - 2, 1)?;
        let last = Date::new(year, quarter * 3, days_in_month(year, quarter * 3))?;
        Some(Period {
            first,
            last,
            kind: PeriodKind::Quarter,
        })
    }

    pub fn year(year: i32) -> Option<Period> {
        let (first, last) = (Date::new(year, 1, 1)?, Date::new(year, 12, 31)?);
        Some(Period {
            first,
            last,
            kind: PeriodKind::Year,
        })
    }

    /// Parses what a person types: `2026-03`, `2026-Q1` (or `2026q1`), `2026`,
    /// `2026-01-01..2026-03-31`. The text is also the period's stable name ([`Period::name`]).
    pub fn parse(text: &str) -> Result<Period, PeriodError> {
        let bad = || PeriodError(text.chars().take(64).collect());
        let t = text.trim();
        if let Some((a, b)) = t.split_once("..") {
            let (first, last) = (Date::parse(a.trim()), Date::parse(b.trim()));
            return match (first, last) {
                (Some(first), Some(last)) if first <= last => Ok(Period {
                    first,
                    last,
                    kind: PeriodKind::Range,
                }),
                _ => Err(bad()),
            };
        }
        let digits = |t: &str, n: usize| t.len() == n && t.bytes().all(|b| b.is_ascii_digit());
        let year = |y: &str| -> Option<i32> { digits(y, 4).then(|| y.parse().ok()).flatten() };
        // `2026Q1` as well as `2026-Q1`.
        let split = t
            .split_once('-')
            .or_else(|| t.find(['Q', 'q']).map(|at| (&t[..at], &t[at..])));
        let period = match split {
            None => year(t).and_then(Period::year),
            Some((y, rest)) => {
                let y = year(y);
                if let Some(q) = rest.strip_prefix(['Q', 'q']) {
                    y.zip(digits(q, 1).then(|| q.parse().ok()).flatten())
                        .and_then(|(y, q)| Period::quarter(y, q))
                } else {
                    y.zip(digits(rest, 2).then(|| rest.parse().ok()).flatten())
                        .and_then(|(y, m)| Period::month(y, m))
                }
            }
        };
        period.ok_or_else(bad)
    }

    /// The stable name: what [`Period::parse`] reads back, used in file names and URLs.
    pub fn name(&self) -> String {
        match self.kind {
            PeriodKind::Month => format!("{:04}-{:02}", self.first.year, self.first.month),
            PeriodKind::Quarter => {
                format!("{:04}-Q{}", self.first.year, self.first.month.div_ceil(3))
            }
            PeriodKind::Year => format!("{:04}", self.first.year),
            PeriodKind::Range => format!("{}..{}", self.first, self.last),
        }
    }

    /// How a person reads it: "2026年第1季度 (2026-01-01 至 2026-03-31)".
    pub fn title(&self, english: bool) -> String {
        let (f, l) = (self.first, self.last);
        match (self.kind, english) {
            (PeriodKind::Month, false) => format!("{}年{}月", f.year, f.month),
            (PeriodKind::Quarter, false) => {
                format!("{}年第{}季度（{f} 至 {l}）", f.year, f.month.div_ceil(3))
            }
            (PeriodKind::Year, false) => format!("{}年", f.year),
            (PeriodKind::Range, false) => format!("{f} 至 {l}"),
            (PeriodKind::Month, true) => format!("{f} to {l} (month)"),
            (PeriodKind::Quarter, true) => {
                format!("Q{} {} ({f} to {l})", f.month.div_ceil(3), f.year)
            }
            (PeriodKind::Year, true) => format!("year {}", f.year),
            (PeriodKind::Range, true) => format!("{f} to {l}"),
        }
    }

    /// Whether it is two dates rather than a calendar month, quarter or year.
    pub fn is_range(&self) -> bool {
        self.kind == PeriodKind::Range
    }

    /// UTC milliseconds of the period's first instant.
    pub fn start_ms(&self) -> i64 {
        self.first.start_ms()
    }

    /// UTC milliseconds just after the period (the start of the day after `last`).
    pub fn end_ms(&self) -> i64 {
        self.last.next_day().start_ms()
    }

    /// The months, quarters and years that hold any time from `first_ms` to `last_ms`, newest
    /// first: what the page offers. Bounded by the years a period may name.
    pub fn all_touching(first_ms: i64, last_ms: i64) -> Vec<Period> {
        let date = |ms: i64| Date::from_days_since_epoch((ms + CST_OFFSET_MS).div_euclid(DAY_MS));
        let (a, b) = (date(first_ms.min(last_ms)), date(last_ms.max(first_ms)));
        let mut out = Vec::new();
        for year in (a.year.max(FIRST_YEAR)..=b.year.min(LAST_YEAR)).rev() {
            out.extend(Period::year(year));
            for q in (1..=4).rev() {
                let p = Period::quarter(year, q).expect("valid quarter");
                if p.last >= a && p.first <= b {
                    out.push(p);
                }
            }
            for m in (1..=12).rev() {
                let p = Period::month(year, m).expect("valid month");
                if p.last >= a && p.first <= b {
                    out.push(p);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_period_reads_back_from_its_name() {
        for text in [
            "2026-03",
            "2026-Q1",
            "2026",
            "2026-01-15..2026-02-10",
            "2024-02",
        ] {
            let p = Period::parse(text).unwrap();
            assert_eq!(p.name(), text);
            assert_eq!(Period::parse(&p.name()).unwrap(), p);
        }
        assert_eq!(Period::parse("2026q4").unwrap().name(), "2026-Q4");
        assert_eq!(
            Period::parse("2024-02").unwrap().last,
            Date::new(2024, 2, 29).unwrap()
        );
        assert_eq!(
            Period::parse("2026-Q2").unwrap().last,
            Date::new(2026, 6, 30).unwrap()
        );
    }

    #[test]
    fn bad_periods_are_refused_with_what_to_type() {
        for text in [
            "",
            "26-03",
            "2026-13",
            "2026-Q5",
            "2026-Q",
            "1999",
            "2026-02-30..2026-03-01",
            "2026-03-02..2026-03-01",
            "2026-3",
            "2026-03-01..",
            "１２３４",
            "2026-Q1-1",
        ] {
            let e = Period::parse(text).unwrap_err();
            assert!(e.to_string().contains("2026-Q1"), "{text}: {e}");
        }
    }

    #[test]
    fn only_digits_are_read_as_numbers() {
        for text in [
            "2026-+1",
            "+026-01",
            "2026-Q+",
            "2026-+1-01..2026-12-+3",
            "2026-0x",
        ] {
            assert!(Period::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn a_period_covers_its_days_in_china_standard_time() {
        let q1 = Period::parse("2026-Q1").unwrap();
        // 2026-01-01 00:00 CST is 2025-12-31 16:00 UTC.
        assert_eq!(q1.start_ms(), 1_767_196_800_000);
        assert_eq!(format_cst(q1.start_ms()), "2026-01-01 00:00");
        assert_eq!(format_cst(q1.end_ms() - 1), "2026-03-31 23:59");
        assert_eq!(format_cst(q1.end_ms()), "2026-04-01 00:00");
    }

    #[test]
    fn dates_round_trip_through_day_counts() {
        for days in (10_957..2_932_896).step_by(997) {
            let d = Date::from_days_since_epoch(days);
            assert_eq!(d.days_since_epoch(), days);
            assert_eq!(Date::new(d.year, d.month, d.day), Some(d));
        }
    }

    #[test]
    fn the_page_offers_every_month_quarter_and_year_touched() {
        let a = Period::parse("2026-02").unwrap().start_ms();
        let b = Period::parse("2026-04").unwrap().start_ms() + 5;
        let names: Vec<_> = Period::all_touching(a, b)
            .iter()
            .map(Period::name)
            .collect();
        assert_eq!(
            names,
            ["2026", "2026-Q2", "2026-Q1", "2026-04", "2026-03", "2026-02"]
        );
    }
}
