//! The page's checked-in schema must be what the generator makes of the current `proto/`:
//! otherwise the page would decode the node's answers with an old table.

#[test]
fn the_checked_in_schema_matches_the_protos() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/gen/ledger_pb.js");
    let expected = ledger_web::schema::generate(ledger_proto::FILE_DESCRIPTOR_SET).unwrap();
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is out of date with proto/: run `cargo run -p ledger-web --bin ledger-web-gen` and commit the result",
        path.display()
    );
}
