//! `ledger import FILE.csv`: many receipts or disbursement proposals at once.
//!
//! The file has a header row and these columns (any order; unused ones may be empty):
//! `kind` (receipt or disbursement), `source`, `amount` (yuan), `account` (the fund pool of a
//! receipt), `project`, `payee`, `contract_hash` (64 hex digits, disbursements), `memo`.
//!
//! Each row's transaction id is derived from the file's content and the row number, so running
//! the same import twice posts nothing twice: the second run finds every row already there.

use std::path::Path;

use anyhow::Context;
use ed25519_dalek::SigningKey;
use ledger_client::LedgerClient;
use ledger_core::amount::parse_yuan;
use ledger_core::build;
use ledger_core::proto::{self as pb, transaction_body::Kind};

use crate::Failure;

/// Parses CSV text: commas, double-quoted fields with `""` escapes, CRLF or LF, optional BOM.
pub fn parse_csv(text: &str) -> anyhow::Result<Vec<Vec<String>>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    anyhow::ensure!(!quoted, "a quoted field is not closed");
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows.retain(|r| !(r.len() == 1 && r[0].trim().is_empty()));
    Ok(rows)
}

struct Row {
    line: usize,
    kind: Kind,
}

fn rows(text: &str) -> anyhow::Result<Vec<Row>> {
    let table = parse_csv(text)?;
    let (header, body) = table
        .split_first()
        .context("the file is empty; it needs a header row")?;
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let kind_col =
        col("kind").context("the header needs a `kind` column (receipt or disbursement)")?;
    let get = |row: &Vec<String>, name: &str| {
        col(name)
            .and_then(|i| row.get(i))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for (i, row) in body.iter().enumerate() {
        let line = i + 2;
        let at = |e: anyhow::Error| e.context(format!("row {line}"));
        let source = || {
            crate::source(&get(row, "source"))
                .map(|s| s.to_proto() as i32)
                .map_err(at)
        };
        let amount = || parse_yuan(&get(row, "amount")).map_err(|e| at(e.into()));
        let kind = match row.get(kind_col).map(|s| s.trim()) {
            Some("receipt") => Kind::FundsReceived(pb::FundsReceived {
                source: source()?,
                to_account: get(row, "account"),
                amount_fen: amount()?,
                contributor_commitment: vec![],
                memo: get(row, "memo"),
                document_hash: vec![],
            }),
            Some("disbursement") => Kind::DisbursementProposed(pb::DisbursementProposed {
                project_id: get(row, "project"),
                payee_account: get(row, "payee"),
                amounts: vec![pb::SourceAmount {
                    source: source()?,
                    amount_fen: amount()?,
                }],
                contract_hash: hex::decode(get(row, "contract_hash"))
                    .ok()
                    .filter(|h| h.len() == 32)
                    .with_context(|| format!("row {line}: contract_hash is 64 hex digits"))?,
                invoice_hash: vec![],
                memo: get(row, "memo"),
            }),
            other => anyhow::bail!(
                "row {line}: kind {:?} is not receipt or disbursement",
                other.unwrap_or("")
            ),
        };
        out.push(Row { line, kind });
    }
    Ok(out)
}

/// `Err(sequence)`: posted by an earlier run; `Ok(result)`: this run's result.
type RowOutcome = Result<ledger_client::ItemResult, u64>;

fn tonic_code_not_found() -> ledger_client::Code {
    ledger_client::Code::NotFound
}

/// The transaction id of row `line` of a file: the same file always gives the same ids.
pub fn row_tx_id(file_hash: &[u8; 32], line: usize) -> [u8; 16] {
    let h = ledger_core::hashing::derive(
        "sunshine-ledger v1 csv import row",
        &[file_hash, &(line as u64).to_be_bytes()],
    );
    h[..16].try_into().expect("16 bytes")
}

pub async fn run(
    client: &mut LedgerClient,
    path: &Path,
    keys: &[SigningKey],
    batch: usize,
    json: bool,
) -> Result<(), Failure> {
    if !(1..=1000).contains(&batch) {
        return Err(Failure::Local(anyhow::anyhow!(
            "--batch is between 1 and 1000"
        )));
    }
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8(bytes.clone()).context("the CSV file is not UTF-8")?;
    let rows = rows(&text)?;
    let file_hash = *blake3::hash(&bytes).as_bytes();
    let ledger_id = client.ledger_id().await?;
    let refs: Vec<&SigningKey> = keys.iter().collect();
    let now = crate::now_ms();
    let bar = if !json && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        Some(indicatif::ProgressBar::new(rows.len() as u64))
    } else {
        None
    };
    let (mut posted, mut already, mut refused) = (0, 0, 0);
    for chunk in rows.chunks(batch) {
        // A row already posted by an earlier run has its id in the log (with that run's
        // timestamp, so its bytes differ from what we would sign now): skip it.
        let mut fresh = Vec::new();
        let mut report: Vec<(usize, u64)> = Vec::new();
        for row in chunk {
            let id = row_tx_id(&file_hash, row.line);
            match client
                .raw()
                .get_entry(pb::GetEntryRequest {
                    by: Some(pb::get_entry_request::By::TxId(id.to_vec())),
                })
                .await
            {
                Ok(entry) => report.push((row.line, entry.into_inner().sequence)),
                Err(status) if status.code() == tonic_code_not_found() => fresh.push(row),
                Err(status) => {
                    return Err(Failure::Node(format!(
                        "cannot look up row {}: {}",
                        row.line,
                        status.message()
                    )))
                }
            }
        }
        let envelopes = fresh
            .iter()
            .map(|r| {
                build::envelope(
                    build::body(
                        &ledger_id,
                        row_tx_id(&file_hash, r.line),
                        now,
                        r.kind.clone(),
                    ),
                    &refs,
                )
            })
            .collect();
        let results = if fresh.is_empty() {
            vec![]
        } else {
            client.submit_batch(envelopes).await?
        };
        let mut outcomes: Vec<(usize, RowOutcome)> = report
            .into_iter()
            .map(|(line, seq)| (line, Err(seq)))
            .collect();
        outcomes.extend(
            fresh
                .iter()
                .map(|r| r.line)
                .zip(results.into_iter().map(Ok)),
        );
        outcomes.sort_by_key(|(line, _)| *line);
        for (line, result) in outcomes {
            let (status, detail) = match &result {
                Err(sequence) => {
                    already += 1;
                    ("already", format!("entry {sequence}"))
                }
                Ok(Ok(r)) if r.duplicate => {
                    already += 1;
                    ("already", format!("entry {}", r.sequence))
                }
                Ok(Ok(r)) => {
                    posted += 1;
                    ("posted", format!("entry {}", r.sequence))
                }
                Ok(Err(rej)) => {
                    refused += 1;
                    ("refused", format!("{}: {}", rej.reason, rej.message))
                }
            };
            if json {
                println!(
                    "{}",
                    serde_json::json!({"row": line, "status": status, "detail": detail})
                );
            } else if let Some(bar) = &bar {
                bar.println(format!("row {line:>5}: {status:<8} {detail}"));
            } else {
                println!("row {line:>5}: {status:<8} {detail}");
            }
        }
        if let Some(bar) = &bar {
            bar.inc(chunk.len() as u64);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if json {
        println!(
            "{}",
            serde_json::json!({"posted": posted, "already": already, "refused": refused})
        );
    } else {
        println!("{posted} posted, {already} already in the ledger, {refused} refused");
    }
    if refused > 0 {
        return Err(Failure::Refused(format!("{refused} rows were refused; fix them and run the import again (posted rows are not posted twice)")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_handles_quotes_bom_and_crlf() {
        let rows = parse_csv(
            "\u{feff}kind,memo\r\nreceipt,\"a, \"\"quoted\"\" memo\"\r\n\r\nreceipt,plain\n",
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["kind", "memo"],
                vec!["receipt", "a, \"quoted\" memo"],
                vec!["receipt", "plain"]
            ]
        );
        assert!(parse_csv("a,\"open").is_err());
    }

    #[test]
    fn row_ids_depend_on_the_file_and_the_row() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert_eq!(row_tx_id(&a, 2), row_tx_id(&a, 2));
        assert_ne!(row_tx_id(&a, 2), row_tx_id(&a, 3));
        assert_ne!(row_tx_id(&a, 2), row_tx_id(&b, 2));
    }

    #[test]
    fn bad_rows_are_named() {
        let err = rows("kind,source,amount,account\nreceipt,fiscal,1.005,pool\n")
            .err()
            .unwrap();
        assert!(format!("{err:#}").contains("row 2"), "{err:#}");
        let err = rows("kind,source,amount\ngift,fiscal,1\n").err().unwrap();
        assert!(err.to_string().contains("gift"));
    }
}
