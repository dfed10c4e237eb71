//! README's walkthrough as written: every `ledger` command of its shell block is run with the
//! real binary, flags and files exactly as the README gives them (placeholders such as
//! `<tx id>` filled in, shell variables and `>` redirections honoured). With no node to talk
//! to, each must get as far as asking the node (exit 3) or finish offline (exit 0): a usage
//! error, an unknown flag, a bad amount or a missing file is exit 2 and fails here, naming the
//! README line. `tests/story.rs` runs the same story against a real node.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

use ledger_e2e::binary;

/// The shell block under "## Walkthrough", as logical lines (continuations joined).
fn walkthrough() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let section = readme
        .split_once("## Walkthrough")
        .expect("README has a walkthrough")
        .1;
    let block = section
        .split_once("```sh\n")
        .expect("a shell block")
        .1
        .split_once("\n```")
        .expect("closed")
        .0;
    let mut lines = Vec::new();
    let mut current = String::new();
    for raw in block.lines() {
        let code = match raw.find(" #") {
            Some(at) if !raw[..at].contains('"') || raw[..at].matches('"').count() % 2 == 0 => {
                &raw[..at]
            }
            _ => raw,
        };
        let code = if code.trim_start().starts_with('#') {
            ""
        } else {
            code
        };
        match code.trim_end().strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(code);
                if !current.trim().is_empty() {
                    lines.push(current.trim().to_string());
                }
                current.clear();
            }
        }
    }
    lines
}

/// Shell words: double quotes group, `<…>` placeholders are one word.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                for q in chars.by_ref() {
                    if q == '"' {
                        break;
                    }
                    word.push(q);
                }
            }
            '<' if word.is_empty() => {
                word.push('<');
                for q in chars.by_ref() {
                    word.push(q);
                    if q == '>' {
                        break;
                    }
                }
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn public_key_of(dir: &Path, file: &str) -> String {
    let key = ledger_keys::read(&dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    hex::encode(key.verifying_key().as_bytes())
}

/// What a reader puts in place of a placeholder.
fn fill(placeholder: &str, dir: &Path) -> String {
    match placeholder {
        "<finance public key>" => public_key_of(dir, "finance.key"),
        "<li public key>" => public_key_of(dir, "li.key"),
        "<wang public key>" => public_key_of(dir, "wang.key"),
        "<household public key>" => public_key_of(dir, "household.key"),
        "<auditor public key>" => public_key_of(dir, "auditor.key"),
        "<ledger id>" => "xingfuli.example.gov.cn/fund".into(),
        "<ledger fingerprint>" => "3F2A-9C01-77B4-E0D2-5A18-0B6C-D4E1-7F03".into(),
        p if p.contains("tx id") => "0123456789abcdef0123456789abcdef".into(),
        other => {
            panic!("README placeholder {other} is new: say here what a reader puts in its place")
        }
    }
}

#[test]
fn every_ledger_command_of_the_readme_walkthrough_is_accepted_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    for file in ["contract.pdf", "quote.pdf", "inspection.pdf"] {
        std::fs::write(work.join(file), file.as_bytes()).unwrap();
    }
    std::fs::write(
        work.join("receipts.csv"),
        "kind,source,amount,account,memo\nreceipt,resident,10,pool:resident,补缴\n",
    )
    .unwrap();
    // `ledger-node` made this on its first start.
    std::fs::create_dir_all(work.join("data/keys")).unwrap();
    let made = Command::new(binary("ledger"))
        .args(["keygen", "--out", "data/keys/admin.key"])
        .current_dir(work)
        .output()
        .unwrap();
    assert!(made.status.success());

    let mut vars: HashMap<String, String> = HashMap::new();
    let mut ran = 0;
    for line in walkthrough() {
        for command in line.split("; ") {
            let command = command.trim();
            if let Some((name, value)) = command.split_once('=').filter(|(n, _)| {
                !n.is_empty() && n.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            }) {
                vars.insert(format!("${name}"), value.to_string());
                continue;
            }
            let mut args = words(command);
            if args.first().map(String::as_str) != Some("ledger") {
                continue; // ledger-node and verifier have their own tests
            }
            let mut stdout_to = None;
            if let Some(at) = args.iter().position(|a| a == ">") {
                stdout_to = Some(args[at + 1].clone());
                args.truncate(at);
            }
            let args: Vec<String> = args[1..]
                .iter()
                .map(|a| match vars.get(a) {
                    Some(v) => v.clone(),
                    None if a.starts_with('<') => fill(a, work),
                    None => a.clone(),
                })
                .collect();
            let out = Command::new(binary("ledger"))
                .args(&args)
                .current_dir(work)
                .env("LEDGER_NODE", "http://127.0.0.1:1")
                .env_remove("LEDGER_CONFIRM_ABOVE")
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let code = out.status.code();
            assert!(
                code == Some(0) || code == Some(3),
                "README line `{command}` exits {code:?}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if let Some(file) = stdout_to {
                std::fs::write(work.join(file), &out.stdout).unwrap();
            }
            ran += 1;
        }
    }
    assert!(ran >= 30, "only {ran} ledger commands found in the README");
    // The offline steps really produced the signed file the README submits.
    let signed = std::fs::read_to_string(work.join("tx.signed")).unwrap();
    assert!(signed.contains("signatures"), "{signed}");
}
