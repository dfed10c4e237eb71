//! Tables as CSV (RFC 4180): CRLF line ends, a field quoted when it holds a comma, a quote or
//! a line break. The file starts with a UTF-8 byte-order mark so that Excel and WPS open the
//! Chinese correctly (the data package's CSV has none: its readers need none).

use crate::table::{Cell, Lang, Table};

fn field(out: &mut String, text: &str) {
    if text.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

pub fn line(out: &mut String, fields: impl IntoIterator<Item = String>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, &f);
    }
    out.push_str("\r\n");
}

/// Text from the ledger that a spreadsheet would run as a formula (CSV injection): `=`, `+`,
/// `-` or `@` first (also full-width, or after spaces, a no-break space or a byte-order mark),
/// or a tab or carriage return first, gets a leading `'`, which Excel and WPS show as text.
pub fn defuse(text: &str) -> String {
    let first = text
        .trim_start_matches([' ', '\u{a0}', '\u{3000}', '\u{feff}'])
        .chars()
        .next();
    let risky = text.starts_with(['\t', '\r'])
        || matches!(
            first,
            Some('=' | '+' | '-' | '@' | '＝' | '＋' | '－' | '＠')
        );
    if risky {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// A cell as CSV text: ledger text defused, amounts and counts (never text) as they are.
fn defused(cell: &Cell, lang: Lang) -> String {
    match cell {
        Cell::Text(t) => defuse(t),
        other => other.plain(lang),
    }
}

/// One table as a CSV file, with a byte-order mark.
pub fn table(t: &Table, lang: Lang) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    line(
        &mut out,
        t.columns.iter().map(|c| lang.pick(c.zh, c.en).to_string()),
    );
    for row in &t.rows {
        line(&mut out, row.iter().map(|c| defused(c, lang)));
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_quotes_and_line_breaks_are_quoted() {
        let mut out = String::new();
        line(
            &mut out,
            [
                "a".into(),
                "b,c".into(),
                "say \"hi\"".into(),
                "two\nlines".into(),
                "一".into(),
            ],
        );
        assert_eq!(out, "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\",一\r\n");
    }

    #[test]
    fn ledger_text_cannot_become_a_spreadsheet_formula() {
        for evil in [
            "=HYPERLINK(\"http://x\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
        ] {
            assert!(
                defused(&Cell::Text(evil.into()), Lang::Chinese).starts_with('\''),
                "{evil}"
            );
        }
        assert_eq!(
            defused(&Cell::Text("住户分摊".into()), Lang::Chinese),
            "住户分摊"
        );
        assert_eq!(defused(&Cell::Fen(12345), Lang::Chinese), "123.45");
    }
}
