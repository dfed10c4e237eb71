//! The page names and describes every transaction kind and role the ledger knows: a new kind
//! that the page's feed would show only by its English identifier fails here, not silently.

use ledger_core::tx::Kind;

fn asset_text(path: &str) -> &'static str {
    std::str::from_utf8(ledger_web::asset(path).expect("embedded").bytes).expect("UTF-8")
}

#[test]
fn every_kind_has_a_chinese_and_an_english_name_and_a_description() {
    let words = asset_text("/i18n.js");
    let app = asset_text("/app.js");
    for name in Kind::NAMES {
        let named = words.matches(&format!("\n      {name}: \"")).count();
        assert_eq!(named, 2, "i18n.js names kind {name} in zh and en");
        assert!(
            app.contains(&format!("case \"{name}\"")),
            "app.js describes kind {name} in the feed"
        );
    }
}

#[test]
fn every_role_has_a_chinese_and_an_english_name() {
    for role in ledger_core::state::Role::ALL {
        let name = role.to_proto().as_str_name();
        let named = asset_text("/i18n.js")
            .matches(&format!("\n      {name}: \""))
            .count();
        assert_eq!(named, 2, "i18n.js names role {name} in zh and en");
    }
}
