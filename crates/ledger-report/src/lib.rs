//! Public disclosure statements (定期公开财务状况): for a period (month, quarter, year or any
//! two dates), the fold of a verified snapshot at the period's end, as tables, rendered as a
//! printable HTML page with a QR code, an Excel workbook, CSV files and a Fiscal Data Package.
//!
//! The node and `verifier report` both call [`make`] and [`files`] on the same entries, so
//! their files are byte-identical and a resident who remakes a statement proves that the
//! sheet on the notice board is the ledger's. Nothing here does I/O.

#![forbid(unsafe_code)]

pub mod csv;
pub mod fdp;
pub mod html;
pub mod period;
pub mod statement;
pub mod table;
mod tables;
pub mod xlsx;

pub use period::{Period, PeriodError};
pub use statement::{make, ReportError, Statement};
pub use table::Lang;

/// Every file of a statement, by the name the node serves it under and `verifier report`
/// writes it as: `statement.html`, `statement.xlsx`, one `<table>.csv` per table,
/// `datapackage.json` and its `budget.csv`.
pub fn files(s: &Statement, lang: Lang) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![
        ("statement.html".to_string(), html::statement(s, lang)),
        (
            "statement.xlsx".to_string(),
            xlsx::statement(s, lang).expect("sheet names and cells are within Excel's limits"),
        ),
    ];
    for t in &s.tables {
        out.push((format!("{}.csv", t.key), csv::table(t, lang)));
    }
    out.push(("datapackage.json".to_string(), fdp::datapackage(s)));
    out.push(("budget.csv".to_string(), fdp::budget_csv(s)));
    assert!(
        out.iter().map(|(n, _)| n.as_str()).eq(FILES),
        "FILES lists every file a statement has"
    );
    out
}

/// The files of every statement, in the order [`files`] makes them: the one list the node's
/// routes, the page and the tests use.
pub const FILES: [&str; 13] = [
    "statement.html",
    "statement.xlsx",
    "summary.csv",
    "sources.csv",
    "receipts.csv",
    "allocations.csv",
    "disbursements.csv",
    "reversals.csv",
    "reserve.csv",
    "projects.csv",
    "governance.csv",
    "datapackage.json",
    "budget.csv",
];

/// A statement is checked against the ledger fingerprint on the notice board (which names the
/// genesis), never a node key alone: a ledger made anew with the community's real node key
/// would pass a node-key check.
pub fn require_ledger_fingerprint(trust: &ledger_verifier::trust::Trust) -> Result<(), String> {
    match trust {
        ledger_verifier::trust::Trust::Ledger(_) => Ok(()),
        _ => Err("报表要用公示栏上的账本指纹（账本指纹，8 组，每组 4 个字符），不是节点密钥指纹或公钥。\n\
                  a statement needs the ledger fingerprint from the notice board (8 groups of 4), not a node key's fingerprint or key"
            .into()),
    }
}

/// Whether the period is over, as the commands say it (the files do not: they must be the
/// same from any snapshot holding the same entries). Chinese, English.
pub fn status_words(s: &Statement) -> (String, String) {
    if s.closed {
        (
            "期间已结束：账本已有本期之后的记录".into(),
            "the period is over: the ledger has entries after it".into(),
        )
    } else {
        (
            format!("期间未结束：之后的记录会改变数字；此前张贴的版本用 verifier report --at {} 重现", s.tree_size),
            format!("the period is still running: later entries change it; a sheet posted now is remade with verifier report --at {}", s.tree_size),
        )
    }
}

/// The content type each file is served with.
pub fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("xlsx") => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        Some("csv") => "text/csv; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
