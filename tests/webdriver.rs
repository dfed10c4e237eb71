//! A minimal W3C WebDriver client for driving Debian's Chromium through chromedriver in the
//! dashboard test: new session, navigate, run a script, resize, screenshot. WebDriver is a
//! handful of JSON-over-HTTP calls; this is smaller than a client crate and its async runtime.
//!
//! The browser is installed by [`ensure_browser`] when it is missing (apt-get, as CI runs as
//! root), so `cargo test --workspace` needs nothing installed by hand.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json_value::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

static INSTALL: Mutex<bool> = Mutex::new(false);

/// Installs Debian's chromium and chromium-driver (and CJK and emoji fonts, so the screenshots
/// show what a phone shows) unless they are there.
pub fn ensure_browser() {
    let mut done = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if *done || (Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists()) {
        *done = true;
        return;
    }
    eprintln!("installing chromium, chromium-driver and fonts with apt-get (once per machine)");
    let installed = crate::apt_install(&[
        "chromium",
        "chromium-driver",
        "fonts-noto-cjk",
        "fonts-noto-color-emoji",
    ]);
    assert!(
        installed && Path::new(CHROMEDRIVER).exists(),
        "the dashboard test needs Debian's Chromium: run `apt-get install chromium chromium-driver \
         fonts-noto-cjk fonts-noto-color-emoji` as root (this test tried and failed)"
    );
    *done = true;
}

struct Reply {
    status: u16,
    body: Value,
}

fn http(addr: &str, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(900)))?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
        payload.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(payload.as_bytes())?;
    // chromedriver keeps the connection open whatever the request says: read the headers,
    // then exactly Content-Length bytes.
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let split = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::other(
                "chromedriver closed before its headers ended",
            ));
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {head}")))?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())
                .flatten()
        })
        .ok_or_else(|| {
            std::io::Error::other(format!("no Content-Length from chromedriver: {head}"))
        })?;
    let mut body = raw[split + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::Error::other(
                "chromedriver closed in the middle of a reply",
            ));
        }
        body.extend_from_slice(&buf[..n]);
    }
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json_value::from_slice(&body).map_err(std::io::Error::other)?
    };
    Ok(Reply { status, body })
}

/// One headless Chromium, driven through its own chromedriver.
pub struct Browser {
    driver: Child,
    addr: String,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless Chromium session of the given
    /// window size.
    pub fn start(width: u32, height: u32) -> Browser {
        Browser::start_with(width, height, &[])
    }

    /// Like [`Browser::start`], with more Chromium flags.
    pub fn start_with(width: u32, height: u32, extra: &[&str]) -> Browser {
        ensure_browser();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let addr = format!("127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Ok(r) = http(&addr, "GET", "/status", None) {
                if r.body["value"]["ready"] == json!(true) {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        // The flags keep Chromium from calling out to the network, which this machine refuses.
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let args: Vec<String> = args
            .into_iter()
            .chain(extra.iter().map(|a| a.to_string()))
            .collect();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let mut browser = Browser {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let reply = browser.call("POST", "/session", Some(caps));
        browser.session = reply["sessionId"]
            .as_str()
            .expect("a session id from chromedriver")
            .to_string();
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let reply = http(&self.addr, method, path, body.as_ref())
            .unwrap_or_else(|e| panic!("chromedriver {method} {path}: {e}"));
        assert!(
            reply.status < 300,
            "chromedriver {method} {path} answered {}: {}",
            reply.status,
            reply.body
        );
        reply.body["value"].clone()
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    pub fn goto(&self, url: &str) {
        self.call(
            "POST",
            &self.session_path("/url"),
            Some(json!({"url": url})),
        );
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns what it returns.
    pub fn run(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            &self.session_path("/execute/sync"),
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Runs an async script: it must call `arguments[arguments.length - 1](result)`.
    pub fn run_async(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            &self.session_path("/execute/async"),
            Some(json!({"script": script, "args": args})),
        )
    }

    /// Polls `script` every 50 ms until it returns something other than null or false.
    pub fn wait_for(&self, what: &str, timeout: Duration, script: &str) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.run(script, json!([]));
            if !v.is_null() && v != json!(false) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "the page did not show {what} within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn set_window(&self, width: u32, height: u32) {
        self.call(
            "POST",
            &self.session_path("/window/rect"),
            Some(json!({"width": width, "height": height})),
        );
    }

    /// The page printed to PDF as the browser's print dialog would, on A4 with the page's own
    /// margins (WebDriver's Print Page command).
    pub fn print_pdf(&self) -> Vec<u8> {
        let encoded = self.call(
            "POST",
            &self.session_path("/print"),
            Some(json!({
                "page": {"width": 21.0, "height": 29.7},
                "margin": {"top": 0, "bottom": 0, "left": 0, "right": 0},
                "background": true,
            })),
        );
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("base64 PDF"))
            .expect("decode the PDF")
    }

    /// Saves a PNG of the window to `path`.
    pub fn screenshot(&self, path: &Path) -> PathBuf {
        let encoded = self.call("GET", &self.session_path("/screenshot"), None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("base64 screenshot"))
            .expect("valid base64");
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
        path.to_path_buf()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = http(&self.addr, "DELETE", &self.session_path(""), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
