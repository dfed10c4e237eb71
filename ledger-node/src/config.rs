//! Settings: command-line flags, then a TOML config file, then environment variables, then
//! defaults, in that order of precedence. Every limit is explicit and has a default that fits
//! a 2-core community server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct ServeArgs {
    /// Address to serve gRPC on [default: 127.0.0.1:50051] [env: LEDGER_LISTEN]
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Directory holding the log, the index and the node key [default: ./data; ./demo-data for
    /// `demo`] [env: LEDGER_DATA_DIR]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// TOML file with any of these settings (same names, with underscores) [env: LEDGER_CONFIG]
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Most transactions in one SubmitBatch call [default: 1000]
    #[arg(long)]
    pub max_batch: Option<usize>,
    /// Most transactions in one group commit (one write, one sync) [default: 2048, at most 16384]
    #[arg(long)]
    pub max_group: Option<usize>,
    /// Submissions waiting for the writer before new ones get RESOURCE_EXHAUSTED [default: 4096]
    #[arg(long)]
    pub queue_depth: Option<usize>,
    /// Concurrent Subscribe streams on the gRPC port [default: 1024]
    #[arg(long)]
    pub max_subscribers: Option<usize>,
    /// Concurrent Subscribe streams from the public page on the HTTP port, counted apart so
    /// page viewers cannot crowd out auditors and dashboards [default: 1024]
    #[arg(long)]
    pub max_page_subscribers: Option<usize>,
    /// Largest gRPC message accepted, in bytes [default: 8388608]
    #[arg(long)]
    pub max_message_bytes: Option<usize>,
    /// Concurrent streams per HTTP/2 connection [default: 256]
    #[arg(long)]
    pub max_streams_per_connection: Option<u32>,
    /// Open connections per port (gRPC and HTTP each); more wait in the kernel's queue [default: 512]
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers on the HTTP port [default: 10]
    #[arg(long)]
    pub header_timeout_secs: Option<u64>,
    /// /snapshot downloads at once on the HTTP port; more get 503 [default: 4]
    #[arg(long)]
    pub max_downloads: Option<usize>,
    /// Seconds a client may take nothing from a stream, a download or a response before the
    /// node ends it and frees its slot [default: 60]
    #[arg(long)]
    pub stall_timeout_secs: Option<u64>,
    /// HTTP port: the public page, /metrics, /snapshot (TLS too with --tls-cert); "off" disables it [default: 127.0.0.1:8080] [env: LEDGER_HTTP]
    #[arg(long)]
    pub http: Option<String>,
    /// Browser origin allowed to call the gRPC-Web API (repeatable; "*" for any). The HTTP port's
    /// own origin is always allowed.
    #[arg(long = "cors-origin")]
    pub cors_origins: Vec<String>,
    /// Serve TLS with this certificate chain (PEM); needs --tls-key [env: LEDGER_TLS_CERT]
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM) [env: LEDGER_TLS_KEY]
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// A witness (C2SP tlog-witness submission prefix, http://host:port[/path]) to send
    /// checkpoints to (repeatable). Which witnesses count is the genesis's business; a data
    /// directory with demo witnesses (witnesses/) runs them itself.
    #[arg(long = "witness-url")]
    pub witness_urls: Vec<String>,
    /// Milliseconds between rounds of asking the witnesses to cosign a new checkpoint: the
    /// witnessed checkpoint trails the log by about this much [default: 1000]
    #[arg(long)]
    pub witness_interval_ms: Option<u64>,
    /// Also keep the log as C2SP tlog-tiles (checkpoint, hash tiles, entry bundles) in this
    /// directory, for any static web server, CDN or object-storage sync to publish; readers
    /// verify it with `verifier verify --tiles` [env: LEDGER_TILES_DIR]
    #[arg(long)]
    pub tiles_dir: Option<PathBuf>,
    /// Save the fold (the ledger's state, `<data>/fold`) after this many new entries: after a
    /// crash a start replays at most about this many; a clean stop always saves it [default: 65536]
    #[arg(long)]
    pub fold_every: Option<u64>,
    /// Ledgers open at once besides the data directory's own (each added ledger lives in
    /// <data>/ledgers/); the least recently used idle one is closed to open another, and the
    /// metrics carry at most this many ledger labels [default: 256]
    #[arg(long)]
    pub max_open_ledgers: Option<usize>,
    /// Seconds an added ledger may go unused before it is closed (its writer stopped, its fold
    /// saved) [default: 300]
    #[arg(long)]
    pub ledger_idle_secs: Option<u64>,
    /// Keep the node's own ledger in PostgreSQL (postgres://user@host:port/db), shared with any
    /// number of nodes of which one writes at a time (README: high availability); the data
    /// directory then holds this node's copy. Default: the embedded store only [env: LEDGER_STORE]
    #[arg(long)]
    pub store: Option<String>,
    /// Milliseconds the write lease lasts without renewal: the longest writes wait after the
    /// writing node dies (500 to 120000) [default: 5000]
    #[arg(long)]
    pub lease_ms: Option<u64>,
}

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    max_batch: Option<usize>,
    max_group: Option<usize>,
    queue_depth: Option<usize>,
    max_subscribers: Option<usize>,
    max_page_subscribers: Option<usize>,
    max_message_bytes: Option<usize>,
    max_streams_per_connection: Option<u32>,
    max_connections: Option<usize>,
    header_timeout_secs: Option<u64>,
    max_downloads: Option<usize>,
    stall_timeout_secs: Option<u64>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    http: Option<String>,
    cors_origins: Option<Vec<String>>,
    witness_urls: Option<Vec<String>>,
    witness_interval_ms: Option<u64>,
    tiles_dir: Option<PathBuf>,
    fold_every: Option<u64>,
    max_open_ledgers: Option<usize>,
    ledger_idle_secs: Option<u64>,
    store: Option<String>,
    lease_ms: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub max_batch: usize,
    pub max_group: usize,
    pub queue_depth: usize,
    pub max_subscribers: usize,
    pub max_page_subscribers: usize,
    pub max_message_bytes: usize,
    pub max_streams_per_connection: u32,
    pub max_connections: usize,
    pub header_timeout_secs: u64,
    pub max_downloads: usize,
    pub stall_timeout_secs: u64,
    /// Certificate chain and private key files; plain TCP when absent (loopback development).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The HTTP port's rustls configuration from those files: parsed while the settings are
    /// resolved, so an unusable certificate stops the node before it touches its data.
    pub http_tls: Option<std::sync::Arc<tokio_rustls::rustls::ServerConfig>>,
    /// The HTTP port, unless turned off.
    pub http: Option<SocketAddr>,
    /// Origins allowed to call gRPC-Web, besides the HTTP port's own.
    pub cors_origins: Vec<String>,
    /// Witnesses to ask for cosignatures, and how often.
    pub witness_urls: Vec<String>,
    pub witness_interval_ms: u64,
    /// Where to keep a tlog-tiles copy of the log for static publishing, if anywhere.
    pub tiles_dir: Option<PathBuf>,
    /// Entries between saves of the fold.
    pub fold_every: u64,
    /// Added ledgers open at once, and how long an unused one stays open.
    pub max_open_ledgers: usize,
    pub ledger_idle_secs: u64,
    /// The PostgreSQL store of the node's own ledger, if any.
    pub store: Option<crate::pg::PgSettings>,
}

fn env<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("environment variable {name}={v:?} is invalid: {e}")),
        Err(_) => Ok(None),
    }
}

/// Joins two settings of one value: the same flag may stand before the subcommand and after it,
/// but not with two different values.
fn join<T: PartialEq + std::fmt::Debug>(
    name: &str,
    after: Option<T>,
    before: Option<T>,
) -> anyhow::Result<Option<T>> {
    match (after, before) {
        (Some(a), Some(b)) if a != b => anyhow::bail!(
            "--{name} 给了两个不同的值 given twice with different values: {b:?} and {a:?}"
        ),
        (a, b) => Ok(a.or(b)),
    }
}

/// Every single-valued serving flag, once: `merge` and `given` both go through this list, so a
/// new flag cannot be merged and forgotten by the other (the two repeatable ones are handled
/// beside it).
macro_rules! single_valued_flags {
    ($apply:ident) => {
        $apply!(
            listen,
            data_dir,
            config,
            max_batch,
            max_group,
            queue_depth,
            max_subscribers,
            max_page_subscribers,
            max_message_bytes,
            max_streams_per_connection,
            max_connections,
            header_timeout_secs,
            max_downloads,
            stall_timeout_secs,
            http,
            tls_cert,
            tls_key,
            witness_interval_ms,
            tiles_dir,
            fold_every,
            max_open_ledgers,
            ledger_idle_secs,
            store,
            lease_ms
        )
    };
}

impl ServeArgs {
    /// Merges the flags written after `serve`/`demo` (`self`) with those written before it, so
    /// `ledger-node --listen X serve` and `ledger-node serve --listen X` mean the same.
    pub fn merge(self, before: ServeArgs) -> anyhow::Result<ServeArgs> {
        macro_rules! one {
            ($($field:ident),*) => {
                ServeArgs {
                    $($field: join(&stringify!($field).replace('_', "-"), self.$field, before.$field)?,)*
                    cors_origins: [before.cors_origins, self.cors_origins].concat(),
                    witness_urls: [before.witness_urls, self.witness_urls].concat(),
                }
            };
        }
        Ok(single_valued_flags!(one))
    }

    /// The flags given, by name (`data_dir` apart: every command takes it): for refusing
    /// serve flags with a command that does not serve.
    pub fn given(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        macro_rules! check {
            ($($field:ident),*) => {
                $(if self.$field.is_some() { names.push(stringify!($field)); })*
            };
        }
        single_valued_flags!(check);
        names.retain(|n| *n != "data_dir");
        if !self.cors_origins.is_empty() {
            names.push("cors_origin");
        }
        if !self.witness_urls.is_empty() {
            names.push("witness_url");
        }
        names
    }

    pub fn resolve(&self, default_data_dir: &Path) -> anyhow::Result<Settings> {
        let config_path = match &self.config {
            Some(p) => Some(p.clone()),
            None => env::<PathBuf>("LEDGER_CONFIG")?,
        };
        let file: FileSettings = match &config_path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("config file {} is invalid", path.display()))?
            }
            None => FileSettings::default(),
        };
        macro_rules! pick {
            ($field:ident, $env:literal, $default:expr) => {
                match self.$field.clone().or(file.$field.clone()) {
                    Some(v) => v,
                    None => env($env)?.unwrap_or($default),
                }
            };
        }
        let settings = Settings {
            listen: pick!(
                listen,
                "LEDGER_LISTEN",
                "127.0.0.1:50051".parse().expect("valid")
            ),
            data_dir: pick!(data_dir, "LEDGER_DATA_DIR", default_data_dir.to_path_buf()),
            max_batch: pick!(max_batch, "LEDGER_MAX_BATCH", 1000),
            max_group: pick!(max_group, "LEDGER_MAX_GROUP", 2048),
            queue_depth: pick!(queue_depth, "LEDGER_QUEUE_DEPTH", 4096),
            max_subscribers: pick!(max_subscribers, "LEDGER_MAX_SUBSCRIBERS", 1024),
            max_page_subscribers: pick!(max_page_subscribers, "LEDGER_MAX_PAGE_SUBSCRIBERS", 1024),
            max_message_bytes: pick!(max_message_bytes, "LEDGER_MAX_MESSAGE_BYTES", 8 << 20),
            max_streams_per_connection: pick!(
                max_streams_per_connection,
                "LEDGER_MAX_STREAMS_PER_CONNECTION",
                256
            ),
            max_connections: pick!(max_connections, "LEDGER_MAX_CONNECTIONS", 512),
            header_timeout_secs: pick!(header_timeout_secs, "LEDGER_HEADER_TIMEOUT_SECS", 10),
            max_downloads: pick!(max_downloads, "LEDGER_MAX_DOWNLOADS", 4),
            stall_timeout_secs: pick!(stall_timeout_secs, "LEDGER_STALL_TIMEOUT_SECS", 60),
            tls: None,
            http_tls: None,
            http: None,
            cors_origins: if self.cors_origins.is_empty() {
                file.cors_origins.clone().unwrap_or_default()
            } else {
                self.cors_origins.clone()
            },
            witness_urls: if self.witness_urls.is_empty() {
                file.witness_urls.clone().unwrap_or_default()
            } else {
                self.witness_urls.clone()
            },
            witness_interval_ms: pick!(witness_interval_ms, "LEDGER_WITNESS_INTERVAL_MS", 1000),
            fold_every: pick!(
                fold_every,
                "LEDGER_FOLD_EVERY",
                crate::fold_file::SAVE_EVERY
            ),
            max_open_ledgers: pick!(max_open_ledgers, "LEDGER_MAX_OPEN_LEDGERS", 256),
            ledger_idle_secs: pick!(ledger_idle_secs, "LEDGER_IDLE_SECS", 300),
            store: match self.store.clone().or(file.store.clone()) {
                Some(url) => Some(url),
                None => env::<String>("LEDGER_STORE")?,
            }
            .map(|url| {
                let ms = pick!(lease_ms, "LEDGER_LEASE_MS", 5000);
                anyhow::ensure!(
                    (crate::pg::MIN_LEASE_MS..=crate::pg::MAX_LEASE_MS).contains(&ms),
                    "--lease-ms 必须在 {0} 到 {1} 之间 / --lease-ms must be between {0} and {1}",
                    crate::pg::MIN_LEASE_MS,
                    crate::pg::MAX_LEASE_MS
                );
                anyhow::ensure!(
                    url.starts_with("postgres://") || url.starts_with("postgresql://"),
                    "--store {url:?}：请给出 postgres:// 地址 / give a postgres:// URL (the embedded store needs no flag)"
                );
                Ok(crate::pg::PgSettings::new(
                    url,
                    std::time::Duration::from_millis(ms),
                ))
            })
            .transpose()?,
            tiles_dir: match self.tiles_dir.clone().or(file.tiles_dir.clone()) {
                Some(dir) => Some(dir),
                None => env::<PathBuf>("LEDGER_TILES_DIR")?,
            },
        };
        anyhow::ensure!(
            settings.store.is_some()
                || (self.lease_ms.is_none() && file.lease_ms.is_none() && env::<u64>("LEDGER_LEASE_MS")?.is_none()),
            "--lease-ms 只用于 --store / --lease-ms applies only with --store postgres://… (the embedded store has no lease)"
        );
        let http = match self.http.clone().or(file.http.clone()) {
            Some(h) => h,
            None => env::<String>("LEDGER_HTTP")?.unwrap_or_else(|| "127.0.0.1:8080".into()),
        };
        let http = match http.as_str() {
            "off" => None,
            addr => Some(
                addr.parse::<SocketAddr>()
                    .map_err(|e| anyhow::anyhow!("--http {addr:?}: {e}; give host:port or off"))?,
            ),
        };
        let settings = Settings { http, ..settings };
        let cert = match self.tls_cert.clone().or(file.tls_cert.clone()) {
            Some(c) => Some(c),
            None => env::<PathBuf>("LEDGER_TLS_CERT")?,
        };
        let key = match self.tls_key.clone().or(file.tls_key.clone()) {
            Some(k) => Some(k),
            None => env::<PathBuf>("LEDGER_TLS_KEY")?,
        };
        let settings = match (cert, key) {
            (Some(c), Some(k)) => Settings {
                http_tls: Some(crate::http::tls_config(&c, &k)?),
                tls: Some((c, k)),
                ..settings
            },
            (None, None) => settings,
            _ => anyhow::bail!("TLS needs both a certificate (--tls-cert) and its key (--tls-key)"),
        };
        for (name, value) in [
            ("max-batch", settings.max_batch),
            ("max-group", settings.max_group),
            ("queue-depth", settings.queue_depth),
            ("max-subscribers", settings.max_subscribers),
            ("max-page-subscribers", settings.max_page_subscribers),
            ("max-connections", settings.max_connections),
            ("header-timeout-secs", settings.header_timeout_secs as usize),
            ("max-downloads", settings.max_downloads),
            ("stall-timeout-secs", settings.stall_timeout_secs as usize),
            ("witness-interval-ms", settings.witness_interval_ms as usize),
            ("fold-every", settings.fold_every as usize),
            ("max-open-ledgers", settings.max_open_ledgers),
            ("ledger-idle-secs", settings.ledger_idle_secs as usize),
        ] {
            anyhow::ensure!(value > 0, "--{name} must be at least 1");
        }
        anyhow::ensure!(
            settings.max_open_ledgers <= crate::ledgers::MAX_OPEN_LEDGERS,
            "--max-open-ledgers must be at most {} (each open ledger has a writer thread, a \
             mark keeper and an index)",
            crate::ledgers::MAX_OPEN_LEDGERS
        );
        anyhow::ensure!(
            settings.max_group <= ledger_core::limits::MAX_GROUP_ENTRIES,
            "--max-group must be at most {} (a torn tail is never longer than one group)",
            ledger_core::limits::MAX_GROUP_ENTRIES
        );
        anyhow::ensure!(
            settings.max_message_bytes >= 64 * 1024,
            "--max-message-bytes must be at least 65536"
        );
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, "max_batch = 7\nmax_group = 9\n").unwrap();
        let args = ServeArgs {
            config: Some(path.clone()),
            max_batch: Some(3),
            ..Default::default()
        };
        let s = args.resolve(Path::new("./data")).unwrap();
        assert_eq!((s.max_batch, s.max_group, s.queue_depth), (3, 9, 4096));
    }

    #[test]
    fn flags_mean_the_same_before_and_after_the_subcommand() {
        let before = ServeArgs {
            listen: Some("127.0.0.1:1".parse().unwrap()),
            cors_origins: vec!["a".into()],
            ..Default::default()
        };
        let after = ServeArgs {
            data_dir: Some("d".into()),
            cors_origins: vec!["b".into()],
            ..Default::default()
        };
        let merged = after.merge(before).unwrap();
        assert_eq!(merged.listen, Some("127.0.0.1:1".parse().unwrap()));
        assert_eq!(merged.data_dir, Some("d".into()));
        assert_eq!(merged.cors_origins, ["a", "b"]);
        let clash = ServeArgs {
            max_batch: Some(2),
            ..Default::default()
        }
        .merge(ServeArgs {
            max_batch: Some(3),
            ..Default::default()
        })
        .unwrap_err();
        assert!(clash.to_string().contains("--max-batch"), "{clash}");
    }

    #[test]
    fn unknown_settings_and_zero_limits_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, "max_bach = 7\n").unwrap();
        let err = ServeArgs {
            config: Some(path),
            ..Default::default()
        }
        .resolve(Path::new("d"))
        .unwrap_err();
        assert!(format!("{err:#}").contains("max_bach"));
        let err = ServeArgs {
            max_group: Some(0),
            ..Default::default()
        }
        .resolve(Path::new("d"))
        .unwrap_err();
        assert!(err.to_string().contains("max-group"));
    }

    #[test]
    fn the_postgres_store_settings_are_checked() {
        let resolve = |store: Option<&str>, lease_ms: Option<u64>| {
            ServeArgs {
                store: store.map(String::from),
                lease_ms,
                ..Default::default()
            }
            .resolve(Path::new("d"))
        };
        let url = "postgres://ledger@127.0.0.1:5432/ledger";
        let s = resolve(Some(url), None).unwrap();
        let store = s.store.unwrap();
        assert_eq!((store.url.as_str(), store.lease.as_millis()), (url, 5000));
        assert_eq!(
            resolve(Some(url), Some(800))
                .unwrap()
                .store
                .unwrap()
                .lease
                .as_millis(),
            800
        );
        for (store, lease, says) in [
            (Some(url), Some(0), "--lease-ms"),
            (Some(url), Some(10_000_000), "--lease-ms"),
            (Some("mysql://x"), None, "postgres://"),
            (Some("/var/lib/ledger"), None, "postgres://"),
            (None, Some(2000), "--lease-ms"),
        ] {
            let err = resolve(store, lease).unwrap_err();
            assert!(err.to_string().contains(says), "{store:?} {lease:?}: {err}");
        }
    }
}
