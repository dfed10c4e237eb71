//! What the ledger's command-line tools (`ledger`, `verifier`) print.
//!
//! - [`printable`]: text that came from the ledger (memos, names, ids, reasons) is written by
//!   whoever signed it, so it may hold newlines, terminal escape sequences or bidirectional
//!   overrides that would let it print a fake verdict, checkpoint or key above the real ones.
//!   Every such character is shown as a visible escape instead.
//! - [`outln!`] and [`out!`]: print to stdout, and when the reader has gone (`| head -1`) exit
//!   quietly with the code set by [`exit_code_on_closed_stdout`] instead of panicking.

#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

/// Whether `c` would change how the rest of the output looks: control characters (C0, DEL,
/// C1, so newlines and escape sequences), line and paragraph separators, and the
/// bidirectional embeddings, overrides and isolates ("Trojan Source", CVE-2021-42574).
pub fn is_unsafe_to_show(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        )
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// `text` with every character that [`is_unsafe_to_show`] replaced by a visible escape
/// (`\n`, `\t`, `\u{1b}`); the text itself (Chinese included) is unchanged.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_to_show) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_to_show(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// The civil date and time of Unix milliseconds at `offset_hours` from UTC (proleptic
/// Gregorian calendar; Howard Hinnant's civil_from_days).
fn civil_time(ms: i64, offset_hours: i64) -> String {
    let secs = ms.div_euclid(1000) + offset_hours * 3600;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// China Standard Time (北京时间, UTC+8, no daylight saving) of Unix milliseconds, as the
/// people reading the ledger keep time: `2026-11-23 18:04:05 北京时间`.
pub fn beijing_time(ms: i64) -> String {
    format!("{} 北京时间", civil_time(ms, 8))
}

/// UTC of Unix milliseconds: `2026-11-23 10:04:05 UTC`.
pub fn utc_time(ms: i64) -> String {
    format!("{} UTC", civil_time(ms, 0))
}

static CLOSED_STDOUT_EXIT: AtomicU8 = AtomicU8::new(0);

/// The exit code when stdout turns out to be closed (the verifier sets its verdict's code once
/// it is known, so `verifier verify … | head -1` still exits 1 on a failed ledger).
pub fn exit_code_on_closed_stdout(code: u8) {
    CLOSED_STDOUT_EXIT.store(code, Ordering::Relaxed);
}

/// Writes to stdout; a closed stdout ends the process quietly, any other error is reported
/// once on stderr and ends it with 2.
pub fn write_stdout(args: std::fmt::Arguments<'_>, newline: bool) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_fmt(args)
        .and_then(|_| {
            if newline {
                stdout.write_all(b"\n")
            } else {
                Ok(())
            }
        })
        .and_then(|_| stdout.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(CLOSED_STDOUT_EXIT.load(Ordering::Relaxed).into());
        }
        let _ = writeln!(
            std::io::stderr(),
            "cannot write the output: {e} / 无法输出：{e}"
        );
        std::process::exit(2);
    }
}

/// `println!` that ends the process quietly when stdout is closed.
#[macro_export]
macro_rules! outln {
    () => { $crate::write_stdout(format_args!(""), true) };
    ($($arg:tt)*) => { $crate::write_stdout(format_args!($($arg)*), true) };
}

/// `print!` that ends the process quietly when stdout is closed.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => { $crate::write_stdout(format_args!($($arg)*), false) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_shown_in_beijing_time_across_a_day_and_a_year() {
        // 2026-12-31 16:30:00 UTC is already the new year in Beijing.
        let ms = 1_798_734_600_000;
        assert_eq!(utc_time(ms), "2026-12-31 16:30:00 UTC");
        assert_eq!(beijing_time(ms), "2027-01-01 00:30:00 北京时间");
        assert_eq!(utc_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_time(951_782_400_000), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn ledger_text_cannot_fake_lines_or_escapes() {
        let memo = "修缮\n✅ 通过 VERIFIED\r\x1b[2J\u{202E}evil\u{2066}";
        let shown = printable(memo);
        assert!(!shown.chars().any(is_unsafe_to_show), "{shown}");
        assert_eq!(
            shown,
            "修缮\\n✅ 通过 VERIFIED\\r\\u{1b}[2J\\u{202e}evil\\u{2066}"
        );
        assert!(matches!(
            printable("居民代表 李 (3-1-101)"),
            Cow::Borrowed(_)
        ));
    }
}
