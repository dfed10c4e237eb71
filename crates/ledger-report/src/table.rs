//! The statement's tables as plain data: what every format (HTML, CSV, XLSX, the data
//! package) renders, so the formats can only differ in layout, never in figures.

/// One cell. Amounts stay integer fen until a format prints them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Text from the ledger (names, memos, hashes, dates), printed as it is.
    Text(String),
    /// A word the statement itself says, in Chinese and English.
    Label(&'static str, &'static str),
    /// Money in fen.
    Fen(u64),
    /// A count or an entry's sequence number.
    Count(u64),
}

/// Which language a statement's titles and labels are printed in. Figures do not change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Chinese,
    English,
}

impl Lang {
    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Chinese => zh,
            Lang::English => en,
        }
    }

    /// `zh` or `en`, as typed after `--lang` and in URLs.
    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "zh" | "zh-CN" => Some(Lang::Chinese),
            "en" => Some(Lang::English),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        self.pick("zh", "en")
    }
}

impl Cell {
    /// The cell as text: amounts as plain yuan (`1234.56`), for CSV.
    pub fn plain(&self, lang: Lang) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Label(zh, en) => lang.pick(zh, en).to_string(),
            Cell::Fen(fen) => ledger_core::amount::format_yuan_plain(*fen),
            Cell::Count(n) => n.to_string(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Stable English identifier: the data package's field name.
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
}

pub const fn col(key: &'static str, zh: &'static str, en: &'static str) -> Column {
    Column { key, zh, en }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// Stable English identifier: the CSV file's name and the XLSX sheet's English name.
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    /// One sentence under the title saying what the table shows.
    pub note_zh: &'static str,
    pub note_en: &'static str,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn title(&self, lang: Lang) -> &'static str {
        lang.pick(self.zh, self.en)
    }

    pub fn note(&self, lang: Lang) -> &'static str {
        lang.pick(self.note_zh, self.note_en)
    }

    /// Asserts what every format relies on: each row has one cell per column.
    pub fn assert_rectangular(&self) {
        for row in &self.rows {
            assert_eq!(
                row.len(),
                self.columns.len(),
                "table {} has a ragged row",
                self.key
            );
        }
    }
}
