//! Writes `web/gen/ledger_pb.js`, the page's protobuf schema, from `proto/`.
//!
//! Run after changing a `.proto` file: `cargo run -p ledger-web --bin ledger-web-gen`.

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web/gen/ledger_pb.js");
    let js = match ledger_web::schema::generate(ledger_proto::FILE_DESCRIPTOR_SET) {
        Ok(js) => js,
        Err(e) => {
            eprintln!("error: cannot generate the page's schema: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = std::fs::write(&out, js) {
        eprintln!("error: cannot write {}: {e}", out.display());
        std::process::exit(1);
    }
    println!("wrote {}", out.display());
}
