//! The public dashboard (阳光账本 page) that residents open on their phones.
//!
//! The page is plain HTML, CSS and JavaScript modules in `web/` at the top of the repository,
//! embedded here at compile time so the node serves it with no npm, no bundler and no files
//! beside the binary. It talks to the node with gRPC-Web through a small schema-driven protobuf
//! codec; the schema (`web/gen/ledger_pb.js`) is generated from `proto/` by
//! `cargo run -p ledger-web --bin ledger-web-gen`, and a test fails when the checked-in copy
//! differs from what the generator makes of the current `.proto` files.

#![forbid(unsafe_code)]

pub mod schema;

/// One embedded file of the page.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! assets {
    ($($path:literal => $type:literal),* $(,)?) => {
        /// Every file of the page, by the URL path it is served at.
        pub const ASSETS: &[Asset] = &[
            $(Asset {
                path: $path,
                content_type: $type,
                bytes: include_bytes!(concat!("../../../web", $path)),
            },)*
        ];
    };
}

assets! {
    "/index.html" => "text/html; charset=utf-8",
    "/style.css" => "text/css; charset=utf-8",
    "/app.js" => "text/javascript; charset=utf-8",
    "/i18n.js" => "text/javascript; charset=utf-8",
    "/money.js" => "text/javascript; charset=utf-8",
    "/protobuf.js" => "text/javascript; charset=utf-8",
    "/core.js" => "text/javascript; charset=utf-8",
    "/verify.js" => "text/javascript; charset=utf-8",
    "/watchdog.js" => "text/javascript; charset=utf-8",
    "/dom.js" => "text/javascript; charset=utf-8",
    "/grpcweb.js" => "text/javascript; charset=utf-8",
    "/gen/ledger_pb.js" => "text/javascript; charset=utf-8",
    "/whole.js" => "text/javascript; charset=utf-8",
    "/reports.js" => "text/javascript; charset=utf-8",
    "/verify-worker.js" => "text/javascript; charset=utf-8",
    "/old-browser.js" => "text/javascript; charset=utf-8",
    "/gen/verifier.wasm" => "application/wasm",
    "/favicon.svg" => "image/svg+xml",
}

/// The file served at `path` (`/` is the page itself).
pub fn asset(path: &str) -> Option<&'static Asset> {
    let path = if path == "/" { "/index.html" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_page_and_unknown_paths_are_none() {
        assert_eq!(asset("/").unwrap().path, "/index.html");
        assert!(asset("/app.js")
            .unwrap()
            .content_type
            .starts_with("text/javascript"));
        assert!(asset("/../Cargo.toml").is_none());
        assert!(asset("/nothing").is_none());
    }

    #[test]
    fn every_module_the_page_imports_is_embedded() {
        // A module missing from ASSETS would 404 in the browser and leave a blank page.
        for file in ASSETS
            .iter()
            .filter(|a| a.path.ends_with(".js") || a.path.ends_with(".html"))
        {
            let text = std::str::from_utf8(file.bytes).unwrap();
            let mut checked = 0;
            for import in ["from \"./", "src=\"./", "href=\"./"]
                .iter()
                .flat_map(|pattern| text.split(pattern).skip(1))
            {
                checked += 1;
                let target = &import[..import.find('"').unwrap()];
                let dir = file.path.rsplit_once('/').unwrap().0;
                let full = format!("{dir}/{target}");
                assert!(
                    asset(&full).is_some(),
                    "{} imports {full}, which is not embedded",
                    file.path
                );
            }
            if file.path == "/index.html" {
                assert_eq!(
                    checked, 4,
                    "the page loads old-browser.js, app.js, style.css and favicon.svg"
                );
            }
        }
    }
}
