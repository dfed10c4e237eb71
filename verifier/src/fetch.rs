//! Where `verifier verify --tiles` reads a tiled log from: a directory (a copy of the node's
//! `--tiles-dir`), or an http(s) URL prefix (the node's HTTP port, nginx, a CDN). Every file
//! is size-limited here and checked by `ledger_verifier::tiles`; the server is not trusted.

use std::io::ErrorKind;
use std::path::PathBuf;
use std::time::Duration;

use ledger_verifier::tiles::{Fetch, MAX_TILE_BYTES};

/// One request may take this long before the verifier gives up (and says nothing was checked).
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

pub enum Tiles {
    Dir(PathBuf),
    Http { agent: ureq::Agent, prefix: String },
}

impl Tiles {
    /// `http://…` or `https://…` is a URL prefix; anything else a directory.
    pub fn new(location: &str) -> anyhow::Result<Tiles> {
        if location.starts_with("http://") || location.starts_with("https://") {
            let agent = ureq::Agent::config_builder()
                .timeout_global(Some(FETCH_TIMEOUT))
                .user_agent(concat!(
                    "sunshine-ledger-verifier/",
                    env!("CARGO_PKG_VERSION")
                ))
                .build()
                .into();
            return Ok(Tiles::Http {
                agent,
                prefix: location.trim_end_matches('/').to_string(),
            });
        }
        let dir = PathBuf::from(location);
        if !dir.is_dir() {
            anyhow::bail!(
                "--tiles {location:?} 既不是 http(s) 网址，也不是一个目录 / is neither an http(s) URL nor a directory"
            );
        }
        Ok(Tiles::Dir(dir))
    }
}

impl Fetch for Tiles {
    fn fetch(&mut self, path: &str) -> Result<Option<Vec<u8>>, String> {
        match self {
            Tiles::Dir(dir) => {
                let file = dir.join(path);
                match std::fs::metadata(&file) {
                    Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(e.to_string()),
                    Ok(m) if m.len() > MAX_TILE_BYTES as u64 => {
                        return Err(format!(
                            "{} is {} bytes, too large for a tile",
                            file.display(),
                            m.len()
                        ))
                    }
                    Ok(_) => {}
                }
                std::fs::read(&file).map(Some).map_err(|e| e.to_string())
            }
            Tiles::Http { agent, prefix } => {
                let url = format!("{prefix}/{path}");
                match agent.get(&url).call() {
                    Ok(mut response) => response
                        .body_mut()
                        .with_config()
                        .limit(MAX_TILE_BYTES as u64)
                        .read_to_vec()
                        .map(Some)
                        .map_err(|e| format!("{url}: {e}")),
                    Err(ureq::Error::StatusCode(404)) => Ok(None),
                    Err(e) => Err(format!("{url}: {e}")),
                }
            }
        }
    }
}
