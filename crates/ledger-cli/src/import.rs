//! `ledger import FILE.csv`: many receipts or disbursement proposals at once.
//!
//! The file has a header row and these columns (any order; unused ones may be empty):
//! `kind` (receipt or disbursement), `source`, `amount` (yuan), `account` (the fund pool of a
//! receipt), `project`, `payee`, `contract_hash` (64 hex digits, disbursements), `memo`.
//!
//! An optional `id` column names each row (a receipt or voucher number, unique in the ledger).
//!
//! Each row's transaction id comes from the row itself, never from the rest of the file: from
//! its `id` when the file has one, else from what the row says (its kind and fields, and, for
//! rows that say exactly the same, which of them it is), together with the ledger and the
//! signing keys. So running the same file again posts nothing twice, and neither does running
//! it again after fixing a refused row, adding rows or reordering them: only rows not yet in
//! the ledger are posted. (A row edited after it was posted is a different row unless the file
//! has an `id` column: use one when rows may be corrected.)

use ledger_term::outln;
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
    /// The `id` column's value, when the file has one and the row fills it.
    id: Option<String>,
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
        let at = |e: anyhow::Error| e.context(format!("第 {line} 行 row {line}"));
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
                    .with_context(|| format!("第 {line} 行 row {line}: contract_hash 是 64 位十六进制 is 64 hex digits"))?,
                invoice_hash: vec![],
                memo: get(row, "memo"),
            }),
            other => anyhow::bail!(
                "row {line}: kind {:?} is not receipt or disbursement",
                other.unwrap_or("")
            ),
        };
        let id = Some(get(row, "id")).filter(|id| !id.is_empty());
        out.push(Row { line, kind, id });
    }
    Ok(out)
}

/// `Err(sequence)`: posted by an earlier run; `Ok(result)`: this run's result.
type RowOutcome = Result<ledger_client::ItemResult, u64>;

fn tonic_code_not_found() -> ledger_client::Code {
    ledger_client::Code::NotFound
}

/// The transaction id of each row, from the row alone (see the module's comment): its `id`, or
/// its content and which occurrence of that content it is; with the ledger and the signers.
fn row_tx_ids(ledger_id: &str, keys: &[SigningKey], rows: &[Row]) -> anyhow::Result<Vec<[u8; 16]>> {
    use prost::Message;
    let mut signers: Vec<[u8; 32]> = keys
        .iter()
        .map(|k| ledger_core::signing::KeyId::of(&k.verifying_key()).0)
        .collect();
    signers.sort();
    let mut seen: std::collections::HashMap<Vec<u8>, u64> = std::collections::HashMap::new();
    let mut explicit: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        let (tag, what): (&[u8], Vec<u8>) = match &row.id {
            Some(id) => {
                if let Some(first) = explicit.insert(id, row.line) {
                    anyhow::bail!("rows {first} and {} have the same id {id:?}", row.line);
                }
                (b"id", id.as_bytes().to_vec())
            }
            None => {
                let content = pb::TransactionBody {
                    kind: Some(row.kind.clone()),
                    ..Default::default()
                }
                .encode_to_vec();
                let n = seen.entry(content.clone()).or_insert(0);
                *n += 1;
                (b"content", [content, n.to_be_bytes().to_vec()].concat())
            }
        };
        let mut parts: Vec<&[u8]> = vec![ledger_id.as_bytes(), &[0], tag, &what];
        for s in &signers {
            parts.push(s);
        }
        let h = ledger_core::hashing::derive("sunshine-ledger v1 csv import row", &parts);
        ids.push(h[..16].try_into().expect("16 bytes"));
    }
    Ok(ids)
}

/// The text of a CSV file; a file that is not UTF-8 (what Excel and WPS save as "CSV" in
/// Chinese Windows is GBK/GB18030) is refused with the row it fails on and how to save it.
fn csv_text(bytes: Vec<u8>) -> anyhow::Result<String> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            let bytes = e.as_bytes();
            let at = e.utf8_error().valid_up_to();
            let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
            let gbk = looks_like_gbk(bytes);
            anyhow::bail!(
                "CSV 文件不是 UTF-8 编码（第 {line} 行{}）：请在 Excel 中“另存为”→“CSV UTF-8（逗号分隔）”，\
                 或在 WPS 中另存为时选择 UTF-8 编码。 / The CSV file is not UTF-8 (row {line}{}). \
                 Save it again as UTF-8: in Excel \"Save As\" → \"CSV UTF-8 (Comma delimited)\"; \
                 in WPS choose UTF-8 when saving.",
                if gbk { "，看起来是 GBK/GB18030 编码" } else { "" },
                if gbk { ", it looks like GBK/GB18030" } else { "" },
            )
        }
    }
}

/// Whether every non-ASCII byte pairs up as a GBK double-byte character.
fn looks_like_gbk(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            0x00..=0x7f => i += 1,
            0x81..=0xfe if matches!(bytes.get(i + 1), Some(0x40..=0x7e | 0x80..=0xfe)) => i += 2,
            _ => return false,
        }
    }
    true
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
    let text = csv_text(bytes)?;
    let rows = rows(&text)?;
    let ledger_id = client.ledger_id().await?;
    let ids = row_tx_ids(&ledger_id, keys, &rows)?;
    let id_of: std::collections::HashMap<usize, [u8; 16]> =
        rows.iter().map(|r| r.line).zip(ids).collect();
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
            let id = id_of[&row.line];
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
                    build::body(&ledger_id, id_of[&r.line], now, r.kind.clone()),
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
                    // Chinese and English come on two lines: one row stays one line.
                    let message = rej.message.replace('\n', " / ");
                    let message = ledger_term::printable(&message);
                    ("refused", format!("{}: {message}", rej.reason))
                }
            };
            if json {
                outln!(
                    "{}",
                    serde_json::json!({"row": line, "status": status, "detail": detail})
                );
            } else if let Some(bar) = &bar {
                bar.println(format!("第 {line:>5} 行 row: {status:<8} {detail}"));
            } else {
                outln!("第 {line:>5} 行 row: {status:<8} {detail}");
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
        outln!(
            "{}",
            serde_json::json!({"posted": posted, "already": already, "refused": refused})
        );
    } else {
        outln!(
            "新记账 {posted} 行，已在账本中 {already} 行，被拒绝 {refused} 行 / {posted} posted, {already} already in the ledger, {refused} refused"
        );
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

    fn ids(text: &str, ledger: &str, key: &SigningKey) -> Vec<[u8; 16]> {
        row_tx_ids(ledger, std::slice::from_ref(key), &rows(text).unwrap()).unwrap()
    }

    /// A row's id depends on the row only: fixing, adding or reordering other rows changes no
    /// other row's id (before, the id came from the whole file's hash, and fixing one refused
    /// amount posted every row again). Identical rows stay distinct; the ledger and the signer
    /// are part of it; an `id` column names a row whatever its content.
    #[test]
    fn a_rows_id_comes_from_the_row_alone() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let head = "kind,source,amount,account,memo\n";
        let a = "receipt,fiscal,100,pool:fiscal,第1户\n";
        let b = "receipt,fiscal,1.005,pool:fiscal,第2户\n";
        let b_fixed = "receipt,fiscal,1.00,pool:fiscal,第2户\n";
        let c = "receipt,fiscal,300,pool:fiscal,第3户\n";
        assert!(
            rows(&format!("{head}{a}{b}{c}")).is_err(),
            "1.005 is refused"
        );
        let first = ids(&format!("{head}{a}{c}"), "L", &key);
        let fixed = ids(&format!("{head}{a}{b_fixed}{c}"), "L", &key);
        assert_eq!((first[0], first[1]), (fixed[0], fixed[2]));
        let reordered = ids(&format!("{head}{c}{b_fixed}{a}"), "L", &key);
        assert_eq!(
            (reordered[2], reordered[1], reordered[0]),
            (fixed[0], fixed[1], fixed[2])
        );
        let twice = ids(&format!("{head}{a}{a}"), "L", &key);
        assert_ne!(twice[0], twice[1], "two identical rows are two receipts");
        assert_eq!(twice[0], first[0]);
        assert_ne!(ids(&format!("{head}{a}"), "M", &key)[0], first[0]);
        let other = SigningKey::from_bytes(&[8; 32]);
        assert_ne!(ids(&format!("{head}{a}"), "L", &other)[0], first[0]);
        let named = "kind,source,amount,account,memo,id\n";
        let v1 = ids(
            &format!("{named}receipt,fiscal,100,pool:fiscal,x,NO.17\n"),
            "L",
            &key,
        );
        let v2 = ids(
            &format!("{named}receipt,fiscal,101,pool:fiscal,y,NO.17\n"),
            "L",
            &key,
        );
        assert_eq!(v1, v2, "an edited row with its id is the same row");
        let dup =
            format!("{named}receipt,fiscal,1,pool:fiscal,x,A\nreceipt,fiscal,2,pool:fiscal,x,A\n");
        assert!(row_tx_ids("L", &[key], &rows(&dup).unwrap()).is_err());
    }

    #[test]
    fn a_gbk_file_is_refused_with_its_row_and_how_to_save_it() {
        // "kind,memo\nreceipt,居民" with 居民 in GBK (be d3 c3 f1).
        let mut gbk = b"kind,memo\nreceipt,".to_vec();
        gbk.extend([0xbe, 0xd3, 0xc3, 0xf1]);
        let err = csv_text(gbk).unwrap_err().to_string();
        assert!(
            err.contains("row 2") && err.contains("GBK") && err.contains("UTF-8"),
            "{err}"
        );
        assert!(err.contains("另存为"), "{err}");
        assert_eq!(
            csv_text("kind\n居民".as_bytes().to_vec()).unwrap(),
            "kind\n居民"
        );
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
