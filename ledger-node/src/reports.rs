//! Disclosure statements on the HTTP port: `/reports` lists the periods the ledger spans and
//! `/reports/<period>/<file>` serves a statement's files (`?lang=en` for English titles).
//!
//! The node makes a statement exactly as `verifier report` does: it assembles the snapshot it
//! serves at `/snapshot`, verifies it against its own ledger fingerprint and hands it to
//! `ledger_report`. Same entries, same code, same bytes: that is what lets a resident prove
//! that a posted sheet is the ledger's. A statement costs a full verification, so they are
//! made one at a time (more wait their turn or get 503) and the last few are kept.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use ledger_core::snapshot;
use ledger_report::{Lang, Period, ReportError};
use ledger_verifier::trust::Trust;

use crate::engine::Shared;
use crate::ledgers::OpenLedger;

/// Statements kept, newest last: each is a few hundred kilobytes.
const CACHED_STATEMENTS: usize = 16;

type Files = Arc<Vec<(String, Vec<u8>)>>;

/// What identifies a statement's bytes: the period, the language and the snapshot's size (a
/// new snapshot can change an open period).
type Key = (String, Lang, u64);

pub struct Reports {
    cache: Mutex<VecDeque<(Key, Files)>>,
    /// One statement is made at a time; a full verification uses a core.
    making: tokio::sync::Semaphore,
}

impl Default for Reports {
    fn default() -> Self {
        Reports {
            cache: Mutex::new(VecDeque::new()),
            making: tokio::sync::Semaphore::new(1),
        }
    }
}

/// A snapshot download that stalls this long is abandoned (the log is local: it never should).
const SNAPSHOT_STALL: std::time::Duration = std::time::Duration::from_secs(60);

fn internal(what: &str, e: impl std::fmt::Display) -> Refusal {
    Refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            "节点无法生成报表（{what}）：{e}\nthe node cannot make the statement ({what}): {e}"
        ),
    )
}

/// The snapshot exactly as `/snapshot` serves it now (the same stream), in memory, with the
/// number of entries it holds.
async fn served_snapshot(ledger: Arc<OpenLedger>) -> Result<(u64, Vec<u8>), Refusal> {
    let mut stream = crate::service::snapshot_chunks(ledger, SNAPSHOT_STALL, None);
    let mut bytes = Vec::new();
    while let Some(chunk) = tokio_stream::StreamExt::next(&mut stream).await {
        bytes.extend(chunk.map_err(|e| internal("reading the log", e))?);
    }
    let size = snapshot::SnapshotReader::open(bytes.as_slice())
        .map_err(|e| internal("reading the snapshot", e))?
        .header()
        .entry_count;
    Ok((size, bytes))
}

/// A request the node cannot answer with a statement: the status and what to tell the person.
pub struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        text(self.0, self.1)
    }
}

fn text(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message + "\n",
    )
        .into_response()
}

impl Reports {
    fn cached(&self, key: &Key) -> Option<Files> {
        let cache = self.cache.lock().expect("report cache lock");
        cache.iter().find(|(k, _)| k == key).map(|(_, f)| f.clone())
    }

    fn keep(&self, key: Key, files: Files) {
        let mut cache = self.cache.lock().expect("report cache lock");
        if cache.len() >= CACHED_STATEMENTS {
            cache.pop_front();
        }
        cache.push_back((key, files));
    }

    /// The files of `period`'s statement at the current snapshot, made or from the cache.
    async fn statement(
        &self,
        ledger: Arc<OpenLedger>,
        period: Period,
        lang: Lang,
    ) -> Result<Files, Refusal> {
        let shared = ledger.shared.clone();
        let size = shared.snapshot_point().0;
        let key = (period.name(), lang, size);
        if let Some(files) = self.cached(&key) {
            return Ok(files);
        }
        let Ok(_turn) =
            tokio::time::timeout(std::time::Duration::from_secs(30), self.making.acquire()).await
        else {
            return Err(Refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "报表正在生成，请稍后再试。\nStatements are being made; try again in a minute."
                    .into(),
            ));
        };
        // Whoever held the turn before may have just made this very statement.
        let size = shared.snapshot_point().0;
        if let Some(files) = self.cached(&(period.name(), lang, size)) {
            return Ok(files);
        }
        let (size, bytes) = served_snapshot(ledger).await?;
        let files = tokio::task::spawn_blocking(move || make(&shared, &bytes, period, lang))
            .await
            .map_err(|e| internal("the statement task", e))??;
        self.keep((period.name(), lang, size), files.clone());
        Ok(files)
    }
}

/// Verifies the node's own snapshot against its ledger fingerprint and makes the statement.
fn make(shared: &Shared, snapshot: &[u8], period: Period, lang: Lang) -> Result<Files, Refusal> {
    let (genesis, _) = shared
        .genesis()
        .map_err(|e| internal("reading entry 0", e))?;
    let trust = Trust::parse(&ledger_core::entry::ledger_fingerprint(&genesis))
        .map_err(|e| internal("the ledger fingerprint", e))?;
    match ledger_report::make(snapshot, &trust, &[], 1, period, None) {
        Ok(statement) => Ok(Arc::new(ledger_report::files(&statement, lang))),
        Err(e @ (ReportError::BeforeLedger(_) | ReportError::AfterLedger(_))) => {
            Err(Refusal(StatusCode::NOT_FOUND, e.to_string()))
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot make a statement from the node's own snapshot");
            Err(internal("verifying its own snapshot", e))
        }
    }
}

/// `GET /reports/<period>/<file>[?lang=en]`.
pub async fn file(
    ledger: Arc<OpenLedger>,
    period: &str,
    name: &str,
    lang: Option<&str>,
) -> Response {
    let period = match Period::parse(period) {
        // Each statement costs a full verification: the node makes them for the calendar
        // periods it lists (a few dozen a year), not for any of the millions of date ranges.
        Ok(p) if p.is_range() => {
            return text(
                StatusCode::BAD_REQUEST,
                "节点只提供按月、季度、年度的报表；任意起止日期的报表请用 ledger report 或 verifier report 生成。\n\
                 the node serves statements for months, quarters and years; make one for any two dates with ledger report or verifier report"
                    .into(),
            )
        }
        Ok(p) => p,
        Err(e) => return text(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let lang = match lang.map(Lang::parse) {
        None => Lang::Chinese,
        Some(Some(lang)) => lang,
        Some(None) => {
            return text(
                StatusCode::BAD_REQUEST,
                "lang 只能是 zh 或 en。\nlang must be zh or en.".into(),
            )
        }
    };
    if !ledger_report::FILES.contains(&name) {
        return text(
            StatusCode::NOT_FOUND,
            format!(
                "报表没有文件 {name:?}；有：{0}\nno file {name:?} in a statement; there are: {0}",
                ledger_report::FILES.join(", ")
            ),
        );
    }
    let files = match ledger.reports.statement(ledger.clone(), period, lang).await {
        Ok(files) => files,
        Err(refusal) => return refusal.into_response(),
    };
    let (_, bytes) = files
        .iter()
        .find(|(n, _)| n == name)
        .expect("files() makes every name in FILES");
    let disposition = if name.ends_with(".html") || name.ends_with(".json") {
        "inline".to_string()
    } else {
        format!("attachment; filename=\"{}-{name}\"", period.name())
    };
    let headers = [
        (
            header::CONTENT_TYPE,
            ledger_report::content_type(name).to_string(),
        ),
        (header::CONTENT_DISPOSITION, disposition),
        (header::CACHE_CONTROL, "no-cache".to_string()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        // The statement is one self-contained file: inline style and SVG, no script at all,
        // though it sits on the same origin as the page's API.
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'"
                .to_string(),
        ),
    ];
    (StatusCode::OK, headers, bytes.clone()).into_response()
}

/// `GET /reports`: the periods the ledger spans, newest first, and each statement's files.
pub fn index(shared: &Shared) -> Response {
    let size = shared.snapshot_point().0;
    let periods = match (
        shared.read_entry(0),
        size.checked_sub(1).map(|last| shared.read_entry(last)),
    ) {
        (Ok((first, _)), Some(Ok((last, _)))) => {
            Period::all_touching(first.timestamp_ms, last.timestamp_ms)
        }
        _ => Vec::new(),
    };
    let list: Vec<serde_json::Value> = periods
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name(),
                "title_zh": p.title(false),
                "title_en": p.title(true),
                "first": p.first.to_string(),
                "last": p.last.to_string(),
            })
        })
        .collect();
    let body = serde_json::json!({
        "snapshot_size": size,
        "files": ledger_report::FILES,
        "periods": list,
    });
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body.to_string(),
    )
        .into_response()
}
