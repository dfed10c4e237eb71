//! The statement as an Excel workbook (rust_xlsxwriter): one sheet per table, amounts as
//! numbers in yuan with a yuan format (not text), so a finance office can add them up.
//!
//! Excel numbers are binary floating point; an amount in yuan is exact in one up to 2^53 fen
//! (about 90 trillion yuan), far above any community's money but below the ledger's
//! `MAX_TOTAL_FEN`. Above that bound the cell holds the exact amount as text instead, as the
//! CSV always does. The workbook's creation time is fixed, so the same
//! statement gives the same bytes.

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, XlsxError};

use crate::statement::Statement;
use crate::table::{Cell, Lang};

/// Largest fen an Excel number holds exactly.
const MAX_EXACT_FEN: u64 = 1 << 53;

/// A table's title as Excel allows a sheet name: at most 31 characters, none of `[]:*?/\\`.
fn sheet_name(title: &str) -> String {
    title
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
        .take(31)
        .collect::<String>()
        .trim()
        .to_string()
}

pub fn statement(s: &Statement, lang: Lang) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let created = ExcelDateTime::from_ymd(2000, 1, 1)?;
    book.set_properties(
        &DocProperties::new()
            .set_title(format!("{} {}", s.ledger_name, s.period.name()))
            .set_author("Sunshine Ledger")
            .set_creation_datetime(&created),
    );
    let header = Format::new().set_bold().set_background_color("#EEEEEE");
    let yuan = Format::new().set_num_format("#,##0.00");
    for t in &s.tables {
        let sheet = book.add_worksheet();
        sheet.set_name(sheet_name(t.title(lang)))?;
        for (c, column) in t.columns.iter().enumerate() {
            sheet.write_string_with_format(
                0,
                c as u16,
                lang.pick(column.zh, column.en),
                &header,
            )?;
            sheet.set_column_width(c as u16, 14)?;
        }
        for (r, row) in t.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, value) in row.iter().enumerate() {
                let c = c as u16;
                match value {
                    Cell::Fen(fen) if *fen <= MAX_EXACT_FEN => {
                        sheet.write_number_with_format(r, c, *fen as f64 / 100.0, &yuan)?;
                    }
                    Cell::Count(n) if *n <= MAX_EXACT_FEN => {
                        sheet.write_number(r, c, *n as f64)?;
                    }
                    other => {
                        sheet.write_string(r, c, other.plain(lang))?;
                    }
                }
            }
        }
    }
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::sheet_name;

    #[test]
    fn titles_become_sheet_names_excel_accepts() {
        assert_eq!(
            sheet_name("Projects: budget and spending"),
            "Projects budget and spending"
        );
        assert_eq!(sheet_name("a/b\\c[d]*e?"), "abcde");
        assert_eq!(sheet_name(&"长".repeat(40)).chars().count(), 31);
    }
}
