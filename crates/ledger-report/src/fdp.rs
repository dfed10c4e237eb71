//! Export for open-data portals: a Fiscal Data Package (frictionless data), budget against
//! actual per project and fund source at the period's end. `datapackage.json` describes
//! `budget.csv` with a Table Schema (types, a primary key) and carries the Fiscal Data
//! Package's `model` (measures and dimensions), so the `frictionless` validator and
//! OpenSpending-style tools read it. The JSON is written field by field in a fixed order, so
//! the same statement gives the same bytes from the node and the verifier.

use crate::csv;
use crate::statement::Statement;
use crate::table::{Cell, Lang};

/// The projects table's columns the package carries, by key, with their Table Schema types.
const FIELDS: [(&str, &str, &str); 9] = [
    ("project", "string", "项目编号 project id"),
    ("name", "string", "项目名称 project name"),
    ("stage", "string", "阶段 stage"),
    ("source", "string", "资金来源 fund source"),
    ("budget", "number", "预算（元）budget (yuan)"),
    ("allocated", "number", "已拨款（元）allocated (yuan)"),
    (
        "held",
        "number",
        "冻结（元）held by pending payments (yuan)",
    ),
    ("spent", "number", "已支出（元）spent (yuan)"),
    ("remaining", "number", "结余（元）remaining (yuan)"),
];

fn json(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

/// `budget.csv`: one row per project and source, amounts in plain yuan, English codes.
pub fn budget_csv(s: &Statement) -> Vec<u8> {
    let projects = s
        .tables
        .iter()
        .find(|t| t.key == "projects")
        .expect("every statement has a projects table");
    let index: Vec<usize> = FIELDS
        .iter()
        .map(|(key, _, _)| {
            projects
                .columns
                .iter()
                .position(|c| c.key == *key)
                .expect("the projects table has every field")
        })
        .collect();
    let mut out = String::new();
    let mut header: Vec<String> = FIELDS.iter().map(|(k, _, _)| k.to_string()).collect();
    header.push("period".into());
    csv::line(&mut out, header);
    for row in &projects.rows {
        let mut fields: Vec<String> = index
            .iter()
            .map(|&i| match &row[i] {
                Cell::Label(_, en) => en.to_string(),
                Cell::Text(t) => csv::defuse(t),
                other => other.plain(Lang::English),
            })
            .collect();
        fields.push(s.period.name());
        csv::line(&mut out, fields);
    }
    out.into_bytes()
}

pub fn datapackage(s: &Statement) -> Vec<u8> {
    let name = format!(
        "sunshine-ledger-{}-{}",
        s.ledger_fingerprint.to_lowercase(),
        s.period.name().to_lowercase()
    );
    let mut fields: Vec<String> = FIELDS
        .iter()
        .map(|(key, kind, title)| {
            format!(
                "          {{\"name\": {}, \"type\": \"{kind}\", \"title\": {}}}",
                json(key),
                json(title)
            )
        })
        .collect();
    fields.push(
        "          {\"name\": \"period\", \"type\": \"string\", \"title\": \"期间 period\"}".into(),
    );
    let measures: Vec<String> = ["budget", "allocated", "held", "spent", "remaining"]
        .iter()
        .map(|m| format!("      \"{m}\": {{\"source\": \"{m}\", \"currency\": \"CNY\"}}"))
        .collect();
    let text = format!(
        "{{\n  \"profile\": \"tabular-data-package\",\n  \"name\": {name},\n  \"title\": {title},\n  \"description\": {description},\n  \"version\": \"1.0.0\",\n  \"resources\": [\n    {{\n      \"name\": \"budget\",\n      \"path\": \"budget.csv\",\n      \"profile\": \"tabular-data-resource\",\n      \"format\": \"csv\",\n      \"mediatype\": \"text/csv\",\n      \"encoding\": \"utf-8\",\n      \"schema\": {{\n        \"fields\": [\n{fields}\n        ],\n        \"primaryKey\": [\"project\", \"source\"]\n      }}\n    }}\n  ],\n  \"model\": {{\n    \"measures\": {{\n{measures}\n    }},\n    \"dimensions\": {{\n      \"project\": {{\"attributes\": {{\"id\": {{\"source\": \"project\"}}, \"name\": {{\"source\": \"name\"}}, \"stage\": {{\"source\": \"stage\"}}}}, \"primaryKey\": \"id\", \"dimensionType\": \"classification\"}},\n      \"source\": {{\"attributes\": {{\"source\": {{\"source\": \"source\"}}}}, \"primaryKey\": \"source\", \"dimensionType\": \"classification\"}},\n      \"period\": {{\"attributes\": {{\"period\": {{\"source\": \"period\"}}}}, \"primaryKey\": \"period\", \"dimensionType\": \"datetime\"}}\n    }}\n  }},\n  \"ledger\": {{\"fingerprint\": {fp}, \"tree_size\": {size}, \"root\": \"{root}\"}}\n}}\n",
        name = json(&name),
        title = json(&format!("{} {}", s.ledger_name, s.period.title(false))),
        description = json("Budget and actual per project and fund source at the period's end, recomputed from the Sunshine Ledger (阳光账本) log. Amounts in yuan."),
        fields = fields.join(",\n"),
        measures = measures.join(",\n"),
        fp = json(&s.ledger_fingerprint),
        size = s.tree_size,
        root = hex::encode(s.root),
    );
    text.into_bytes()
}
