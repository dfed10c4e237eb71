//! `verifier`: check the Sunshine Ledger yourself.
//!
//! Exit codes: 0 verified, 1 verification failed, 2 usage error or unreadable input.

mod fetch;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ledger_core::amount::format_yuan_plain;
use ledger_core::checkpoint::SignedCheckpoint;
use ledger_core::checkpoint::{parse_witness_vkey, WitnessKey};
use ledger_core::entry::Entry;
use ledger_core::merkle::{self, CompactTree};
use ledger_core::proto as pb;
use ledger_core::snapshot::{SnapshotReader, MAGIC};
use ledger_core::state::FundSource;
use ledger_core::tx::Kind;
use ledger_term::{out, outln, printable};
use ledger_verifier::check::{self, Fold, Verified};
use ledger_verifier::ledger_trust;
use ledger_verifier::report::{csv_field, short_hash, utc, Report, BOM};
use ledger_verifier::trust::Trust;
use prost::Message;

#[derive(Parser)]
#[command(
    name = "verifier",
    version,
    about = "Check a Sunshine Ledger (阳光账本) yourself: every signature, the chain, the rules and the signed checkpoint."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a snapshot file, or a log published as tlog-tiles, completely.
    Verify {
        /// The snapshot file (or give --tiles instead).
        #[arg(required_unless_present = "tiles", conflicts_with = "tiles")]
        snapshot: Option<PathBuf>,
        /// Verify the log published as C2SP tlog-tiles instead of a snapshot: the node's HTTP
        /// address (http://host:8080), any static server or CDN that publishes its tiles
        /// directory, or that directory itself. Only what the checkpoint covers is fetched.
        #[arg(long)]
        tiles: Option<String>,
        /// The node key: its fingerprint from the notice board, or the full public key.
        #[arg(long)]
        trust: String,
        /// Print the complete machine report as JSON.
        #[arg(long)]
        json: bool,
        /// Also write entries, movements, balances and projects as CSV files into this folder.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Threads for signature checks [default: all cores].
        #[arg(long)]
        threads: Option<usize>,
        /// A witness you choose (its vkey, `name+hash+key`, as the witness publishes it) whose
        /// cosignature you require on top of the ledger's own witness quorum (repeatable).
        #[arg(long = "witness")]
        witnesses: Vec<String>,
    },
    /// Check a receipt offline: the entry is in the log the node signed.
    Receipt {
        receipt: PathBuf,
        /// The ledger fingerprint from the notice board (or the node's full public key).
        #[arg(long)]
        trust: String,
        /// A witness you require on top of the ledger's quorum (its vkey; repeatable).
        #[arg(long = "witness")]
        witnesses: Vec<String>,
        /// Your salt (64 hex digits), to prove the payment in this receipt is yours.
        #[arg(long, requires = "contributor")]
        salt: Option<String>,
        /// Also check that the entry is in the ledger as it is published now (the node's HTTP
        /// address, the community's tiles copy on any web host, or that directory): a ledger
        /// rewritten after your receipt was given no longer holds it.
        #[arg(long)]
        tiles: Option<String>,
        /// The contributor name you gave with the salt.
        #[arg(long, requires = "salt")]
        contributor: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Prove that NEW extends OLD (checkpoint text files or snapshots): nothing was rewritten.
    Consistency {
        old: PathBuf,
        new: PathBuf,
        #[arg(long)]
        trust: String,
        /// Ask this node for the consistency proof when both are checkpoints.
        #[arg(long)]
        node: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Make the public statement (公开报表) for a period from a snapshot, after verifying it:
    /// the same files, byte for byte, that the node serves under /reports, so a posted sheet
    /// can be proved to be the ledger's.
    Report {
        snapshot: PathBuf,
        /// The ledger fingerprint from the notice board (or the node's full public key).
        #[arg(long)]
        trust: String,
        /// 2026-03 (a month), 2026-Q1 (a quarter), 2026 (a year) or 2026-01-01..2026-03-31,
        /// in China Standard Time.
        #[arg(long)]
        period: String,
        /// The folder to write statement.html, statement.xlsx, the CSV files and the data
        /// package into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Titles and labels in zh (Chinese, the default) or en (English).
        #[arg(long, default_value = "zh")]
        lang: String,
        /// Use only the ledger's first N entries: remakes a statement printed while its period
        /// was still running (N is the entry count printed on it).
        #[arg(long)]
        at: Option<u64>,
        /// A witness you require on top of the ledger's quorum (its vkey; repeatable).
        #[arg(long = "witness")]
        witnesses: Vec<String>,
        /// Threads for signature checks [default: all cores].
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Follow a live node, verifying every entry as it arrives.
    Audit {
        #[arg(long)]
        node: String,
        /// Which ledger of a node that serves several (its ledger id); the node's own ledger
        /// when not given. Whatever the node sends must still verify against --trust.
        #[arg(long)]
        ledger: Option<String>,
        #[arg(long)]
        trust: String,
        /// Where the last verified checkpoint is kept between runs.
        #[arg(long, default_value = "verifier-audit.json")]
        state: PathBuf,
        /// Stop once caught up with the node instead of following it.
        #[arg(long)]
        once: bool,
        /// Seconds the witnesses may trail the node before its newest entries count as not
        /// witnessed (with a ledger fingerprint as --trust)
        #[arg(long, default_value_t = 30)]
        witness_grace_secs: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Verify {
            snapshot,
            tiles,
            trust,
            json,
            csv,
            threads,
            witnesses,
        } => parse_witnesses(&witnesses)
            .and_then(|w| {
                let source = match (snapshot, tiles) {
                    (Some(path), _) => Source::Snapshot(path),
                    (None, Some(location)) => Source::Tiles(location),
                    (None, None) => unreachable!("clap requires one"),
                };
                verify(&source, &trust, &w, json, csv.as_deref(), threads)
            })
            .map(|code| code as i32),
        Command::Receipt {
            receipt,
            trust,
            witnesses,
            salt,
            contributor,
            tiles,
            json,
        } => parse_witnesses(&witnesses)
            .and_then(|w| {
                receipt_cmd(
                    &receipt,
                    &trust,
                    &w,
                    (salt.as_deref(), contributor.as_deref()),
                    tiles.as_deref(),
                    json,
                )
            })
            .map(verdict),
        Command::Consistency {
            old,
            new,
            trust,
            node,
            json,
        } => consistency(&old, &new, &trust, node.as_deref(), json).map(verdict),
        Command::Report {
            snapshot,
            trust,
            period,
            out,
            lang,
            at,
            witnesses,
            threads,
        } => parse_witnesses(&witnesses)
            .and_then(|w| report_cmd(&snapshot, &trust, (&period, at), &out, &lang, &w, threads)),
        Command::Audit {
            node,
            ledger,
            trust,
            state,
            once,
            witness_grace_secs,
        } => audit(
            (&node, ledger.as_deref()),
            &trust,
            &state,
            once,
            std::time::Duration::from_secs(witness_grace_secs),
        )
        .map(verdict),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("verifier: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Exit code of a verdict: 0 verified, 1 not.
fn verdict(passed: bool) -> i32 {
    if passed {
        0
    } else {
        1
    }
}

fn parse_trust(text: &str) -> anyhow::Result<Trust> {
    Trust::parse(text).map_err(|e| anyhow::anyhow!("--trust: {e}"))
}

/// `--witness` values: C2SP vkeys of cosigners (type 0x04).
fn parse_witnesses(vkeys: &[String]) -> anyhow::Result<Vec<WitnessKey>> {
    vkeys
        .iter()
        .map(|v| {
            parse_witness_vkey(v).ok_or_else(|| {
                anyhow::anyhow!(
                    "--witness {v:?}：不是见证方公钥 is not a witness key; give it as the witness publishes it: name+hash+base64 (what `ledger-witness init` prints as vkey)"
                )
            })
        })
        .collect()
}

fn threads(requested: Option<usize>) -> usize {
    requested
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1)
}

/// What `verifier verify` reads.
enum Source {
    Snapshot(PathBuf),
    Tiles(String),
}

fn verify(
    source: &Source,
    trust: &str,
    required_witnesses: &[WitnessKey],
    json: bool,
    csv: Option<&Path>,
    threads_wanted: Option<usize>,
) -> anyhow::Result<u8> {
    let trust = parse_trust(trust)?;
    let mut csv_out = match csv {
        Some(dir) => Some(CsvOut::create(dir)?),
        None => None,
    };
    let bar = if std::io::stderr().is_terminal() && !json {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} entries ({per_sec}, eta {eta})",
            )
            .expect("template"),
        );
        Some(bar)
    } else {
        None
    };
    let mut csv_error = None;
    let each = |v: check::Verified<'_>| {
        if let Some(out) = csv_out.as_mut() {
            if let Err(e) = out.entry(&v) {
                csv_error.get_or_insert(e);
            }
        }
    };
    let progress = |done, total| {
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
        }
    };
    let threads = threads(threads_wanted);
    let outcome = match source {
        Source::Snapshot(path) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot open snapshot {}", path.display()))?;
            let input = std::io::BufReader::with_capacity(1 << 20, file);
            check::verify_snapshot(input, &trust, required_witnesses, threads, each, progress)
        }
        Source::Tiles(location) => {
            let fetch = fetch::Tiles::new(location)?;
            check::verify_source(
                || ledger_verifier::tiles::TilesSource::open(fetch),
                &trust,
                required_witnesses,
                threads,
                each,
                progress,
            )
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if let Some(e) = csv_error {
        return Err(e);
    }
    let report = Report::from_outcome(&outcome);
    if let Some(out) = csv_out {
        out.finish(&outcome.state)?;
    }
    if json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", report.human());
    }
    Ok(report.exit_code())
}

/// `verifier report`: 0 written, 1 the snapshot failed verification (nothing written), 2 bad
/// input.
fn report_cmd(
    path: &Path,
    trust: &str,
    (period, at): (&str, Option<u64>),
    out: &Path,
    lang: &str,
    required_witnesses: &[WitnessKey],
    threads_wanted: Option<usize>,
) -> anyhow::Result<i32> {
    let trust = parse_trust(trust)?;
    ledger_report::require_ledger_fingerprint(&trust)
        .map_err(|e| anyhow::anyhow!("--trust: {e}"))?;
    let period =
        ledger_report::Period::parse(period).map_err(|e| anyhow::anyhow!("--period: {e}"))?;
    let lang = ledger_report::Lang::parse(lang)
        .ok_or_else(|| anyhow::anyhow!("--lang {lang:?}：只能是 zh 或 en。 must be zh or en"))?;
    let bytes = std::fs::read(path)
        .with_context(|| format!("无法读取快照 cannot read snapshot {}", path.display()))?;
    let statement = match ledger_report::make(
        &bytes,
        &trust,
        required_witnesses,
        threads(threads_wanted),
        period,
        at,
    ) {
        Ok(s) => s,
        // An unreadable file says nothing about the ledger: exit 2, as `verify` does.
        Err(ledger_report::ReportError::NotVerified { code, message })
            if code == ledger_verifier::report::UNUSABLE =>
        {
            outln!("⚠️ 无法核验：这个文件不是完整的账本快照，什么也证明不了。 NOT CHECKED: this file is not a whole ledger snapshot and proves nothing.\n  {code}: {message}");
            return Ok(2);
        }
        Err(e @ ledger_report::ReportError::NotVerified { .. }) => {
            outln!("✗ {e}");
            return Ok(1);
        }
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    };
    std::fs::create_dir_all(out)
        .with_context(|| format!("无法创建文件夹 cannot create {}", out.display()))?;
    for (name, content) in ledger_report::files(&statement, lang) {
        let file = out.join(&name);
        std::fs::write(&file, content)
            .with_context(|| format!("无法写入 cannot write {}", file.display()))?;
    }
    let state = ledger_report::status_words(&statement);
    outln!(
        "✓ 快照已核验，{} 的报表已写入 {}（{}）\n  账本指纹 {}，依据前 {} 条记录，默克尔根 {}\n  打开 statement.html 打印；与公示的报表逐字节比对（如 sha256sum）即可证明其出自本账本。\n✓ verified; the statement for {} is in {} ({})\n  ledger {}, the fold at {} entries, root {}\n  open statement.html to print; compare it byte for byte with the posted one (e.g. sha256sum).",
        period.name(), out.display(), state.0,
        statement.ledger_fingerprint, statement.tree_size, hex::encode(statement.root),
        period.name(), out.display(), state.1,
        statement.ledger_fingerprint, statement.tree_size, hex::encode(statement.root),
    );
    Ok(0)
}

struct CsvOut {
    entries: std::io::BufWriter<std::fs::File>,
    movements: std::io::BufWriter<std::fs::File>,
    dir: PathBuf,
}

fn memo_of(kind: &Kind) -> &str {
    match kind {
        Kind::FundsReceived { memo, .. }
        | Kind::FundsAllocated { memo, .. }
        | Kind::DisbursementProposed { memo, .. } => memo,
        Kind::DisbursementRejected { reason, .. }
        | Kind::DisbursementVoided { reason, .. }
        | Kind::EntryReversed { reason, .. }
        | Kind::KeyRevoked { reason, .. }
        | Kind::CheckpointKeyRotated { reason, .. }
        | Kind::PolicyChanged { reason, .. } => reason,
        Kind::EntryAnnotated { note, .. } => note,
        Kind::ObjectionFiled { text, .. } | Kind::ObjectionAnswered { text, .. } => text,
        Kind::ObjectionResolved { reason, .. } => reason,
        Kind::ProjectEvaluated { comment, .. } => comment,
        Kind::ProjectCompleted { memo, .. }
        | Kind::ProjectAccepted { memo, .. }
        | Kind::ProjectClosed { memo, .. } => memo,
        Kind::ProjectCreated { name, .. } | Kind::AccountOpened { name, .. } => name,
        Kind::Genesis { ledger_name, .. } => ledger_name,
        // Listed, not `_`: a new kind must be placed here, or this does not compile.
        Kind::KeyRegistered(_)
        | Kind::DisbursementApproved { .. }
        | Kind::DisbursementExecuted { .. } => "",
    }
}

impl CsvOut {
    fn create(dir: &Path) -> anyhow::Result<CsvOut> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let open =
            |name: &str, header: &str| -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
                let path = dir.join(name);
                let mut f = std::io::BufWriter::new(
                    std::fs::File::create(&path)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                );
                write!(f, "{BOM}{header}\r\n")?;
                Ok(f)
            };
        Ok(CsvOut {
            entries: open(
                "entries.csv",
                "sequence,time_utc,kind,tx_id,signers,memo,entry_hash",
            )?,
            movements: open(
                "movements.csv",
                "sequence,time_utc,kind,source,source_zh,from_account,to_account,amount_yuan",
            )?,
            dir: dir.to_path_buf(),
        })
    }

    fn entry(&mut self, v: &Verified<'_>) -> anyhow::Result<()> {
        let time = utc(v.entry.timestamp_ms);
        let signers: Vec<String> = v.signers.iter().map(|k| k.fingerprint()).collect();
        let kind = v.prepared.tx.kind.name();
        write!(
            self.entries,
            "{},{},{},{},{},{},{}\r\n",
            v.entry.sequence,
            time,
            kind,
            v.prepared.tx.tx_id,
            signers.join(" "),
            csv_field(memo_of(&v.prepared.tx.kind)),
            hex::encode(v.hash)
        )?;
        for m in v.effects.movements() {
            write!(
                self.movements,
                "{},{},{},{},{},{},{},{}\r\n",
                v.entry.sequence,
                time,
                kind,
                m.source.slug(),
                m.source.chinese_name(),
                csv_field(&m.from),
                csv_field(&m.to),
                format_yuan_plain(m.amount)
            )?;
        }
        Ok(())
    }

    fn finish(mut self, state: &ledger_core::state::State) -> anyhow::Result<()> {
        self.entries.flush()?;
        self.movements.flush()?;
        let mut balances =
            format!("{BOM}account,kind,name,source,source_zh,balance_yuan,held_yuan\r\n");
        for a in state.accounts.values() {
            for s in FundSource::ALL {
                if a.balance.get(s) > 0 || a.held.get(s) > 0 {
                    balances += &format!(
                        "{},{},{},{},{},{},{}\r\n",
                        csv_field(&a.id),
                        a.kind.name(),
                        csv_field(&a.name),
                        s.slug(),
                        s.chinese_name(),
                        format_yuan_plain(a.balance.get(s)),
                        format_yuan_plain(a.held.get(s))
                    );
                }
            }
        }
        std::fs::write(self.dir.join("balances.csv"), balances)?;
        let mut projects = format!("{BOM}project,name,source,budget_yuan,allocated_yuan,spent_yuan,held_yuan,remaining_yuan\r\n");
        for p in ledger_verifier::report::project_figures(state) {
            for f in p.figures {
                projects += &format!(
                    "{},{},{},{},{},{},{},{}\r\n",
                    csv_field(&p.id),
                    csv_field(&p.name),
                    f.source,
                    format_yuan_plain(f.budget_fen),
                    format_yuan_plain(f.allocated_fen),
                    format_yuan_plain(f.spent_fen),
                    format_yuan_plain(f.held_fen),
                    format_yuan_plain(f.remaining_fen)
                );
            }
        }
        std::fs::write(self.dir.join("projects.csv"), projects)?;
        Ok(())
    }
}

fn print_result(
    json: bool,
    passed: bool,
    code: &str,
    lines: &[String],
    extra: serde_json::Value,
) -> bool {
    ledger_term::exit_code_on_closed_stdout(if passed { 0 } else { 1 });
    if json {
        let mut v =
            serde_json::json!({ "passed": passed, "code": code, "message": lines.join("\n") });
        if let (Some(obj), serde_json::Value::Object(more)) = (v.as_object_mut(), extra) {
            obj.extend(more);
        }
        outln!("{}", serde_json::to_string_pretty(&v).expect("json"));
    } else {
        outln!(
            "{}",
            if passed {
                "✅ 通过 VERIFIED"
            } else {
                "❌ 未通过 NOT VERIFIED"
            }
        );
        // Checkpoints given as evidence are several lines; each is shown escaped, so no text
        // from the ledger or the node can print a line of its own.
        for line in lines.iter().flat_map(|l| l.split('\n')) {
            outln!("   {}", printable(line));
        }
    }
    passed
}

fn full_key(trust: &Trust) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
    match trust {
        Trust::Key(k) => Ok(*k),
        Trust::Ledger(_) | Trust::Fingerprint(_) => anyhow::bail!("--trust needs the node's full public key here (64 hex digits): a fingerprint alone cannot check a signature. `ledger checkpoint` or the notice board shows the full key"),
    }
}

fn receipt_cmd(
    path: &Path,
    trust: &str,
    required_witnesses: &[WitnessKey],
    (salt, contributor): (Option<&str>, Option<&str>),
    tiles: Option<&str>,
    json: bool,
) -> anyhow::Result<bool> {
    let trust = parse_trust(trust)?;
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read receipt {}", path.display()))?;
    let receipt = pb::TxReceipt::decode(bytes.as_slice())
        .context("the file is not a Sunshine Ledger receipt")?;
    let fail = |code: &str, msg: String| {
        Ok(print_result(
            json,
            false,
            code,
            &[msg],
            serde_json::json!({}),
        ))
    };
    let Ok(checkpoint) = SignedCheckpoint::parse(&receipt.checkpoint) else {
        return fail(
            "CHECKPOINT_MALFORMED",
            "the receipt's checkpoint is malformed".into(),
        );
    };
    let mut vouched = Vec::new();
    if let Trust::Ledger(fp) = &trust {
        match ledger_trust::check(
            &checkpoint,
            receipt.genesis.as_ref(),
            &receipt.genesis_inclusion_proof,
            fp,
            required_witnesses,
        ) {
            Ok(accepted) => {
                vouched.push(format!("账本指纹 Ledger fingerprint {fp}: 与公示栏一致 the ledger on the notice board."));
                if !accepted.witnessed_by.is_empty() {
                    vouched.push(format!(
                        "见证 Witnessed by: {}",
                        accepted.witnessed_by.join(", ")
                    ));
                }
            }
            Err(r) => return fail(r.code, r.message),
        }
    } else {
        let key = full_key(&trust)?;
        if let Err(e) = checkpoint.verify(&checkpoint.checkpoint.origin, &key) {
            return fail(
                "CHECKPOINT_SIGNATURE_INVALID",
                format!("the receipt's checkpoint is not signed by the trusted node key: {e}"),
            );
        }
    }
    let Some(e) = receipt.entry.as_ref() else {
        return fail("ENTRY_MISSING", "the receipt holds no entry".into());
    };
    let Ok(prev_hash) = e.prev_hash.as_slice().try_into() else {
        return fail(
            "ENTRY_MALFORMED",
            "the entry's previous hash is not 32 bytes".into(),
        );
    };
    let entry = Entry {
        sequence: e.sequence,
        prev_hash,
        timestamp_ms: e.timestamp_ms,
        envelope: e.envelope.clone(),
    };
    if entry.sequence != receipt.sequence
        || entry.hash().as_slice() != receipt.entry_hash.as_slice()
    {
        return fail(
            "ENTRY_HASH_MISMATCH",
            "the entry in the receipt is not the entry it names".into(),
        );
    }
    let Ok(proof) = merkle::hashes_from_bytes(&receipt.inclusion_proof) else {
        return fail("PROOF_MALFORMED", "a proof hash is not 32 bytes".into());
    };
    if let Err(err) = merkle::verify_inclusion(
        &merkle::entry_leaf_hash(&entry),
        entry.sequence,
        checkpoint.checkpoint.tree_size,
        &proof,
        &checkpoint.checkpoint.root,
    ) {
        return fail(
            "INCLUSION_PROOF_INVALID",
            format!("the entry is not proven to be in the signed log: {err}"),
        );
    }
    let prepared = match ledger_core::rules::prepare(&entry.envelope) {
        Ok(p) => p,
        Err(r) => {
            return fail(
                "ENTRY_MALFORMED",
                format!("the entry's transaction cannot be read: {r}"),
            )
        }
    };
    let mut lines = vec![
        format!(
            "Entry {} of ledger {} is in the log the node signed ({} entries, root {}).",
            entry.sequence,
            checkpoint.checkpoint.origin,
            checkpoint.checkpoint.tree_size,
            short_hash(&checkpoint.checkpoint.root)
        ),
        format!(
            "Recorded {} as {}.",
            utc(entry.timestamp_ms),
            prepared.tx.kind.name()
        ),
    ];
    lines.extend(vouched);
    if let Kind::FundsReceived {
        source,
        amount,
        contributor_commitment,
        ..
    } = &prepared.tx.kind
    {
        lines.push(format!(
            "Payment: {} 元 from {} ({}).",
            ledger_core::amount::format_yuan(*amount),
            source.chinese_name(),
            source.slug()
        ));
        if let (Some(salt), Some(name)) = (salt, contributor) {
            let salt: [u8; 32] = hex::decode(salt.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .context("--salt is 64 hex digits")?;
            let mine = ledger_core::hashing::contributor_commitment(&salt, name);
            if contributor_commitment.as_ref() != Some(&mine) {
                return fail(
                    "NOT_YOUR_PAYMENT",
                    "the salt and name you gave do not match this payment's contributor commitment"
                        .into(),
                );
            }
            lines.push(format!(
                "This payment is yours: the commitment matches {name:?} with your salt."
            ));
        }
    } else if salt.is_some() {
        return fail(
            "NOT_A_PAYMENT",
            "this receipt is not a payment, so it cannot prove a contribution".into(),
        );
    }
    let mut extra = serde_json::json!({ "sequence": entry.sequence, "tree_size": checkpoint.checkpoint.tree_size });
    if let Some(location) = tiles {
        match in_published(location, &receipt, &entry, &trust, required_witnesses)? {
            Ok((line, size)) => {
                lines.push(line);
                extra["published_tree_size"] = size.into();
            }
            Err((code, message)) => return fail(code, message),
        }
    }
    Ok(print_result(json, true, "OK", &lines, extra))
}

/// What [`in_published`] found: the line to print and the published size, or the failure code
/// and message.
type Published = Result<(String, u64), (&'static str, String)>;

/// Whether the receipt's entry is in the ledger as published as tiles at `location` now: the
/// published checkpoint must be the trusted ledger's (the receipt's genesis at index 0, its
/// signature, the witnesses' quorum) and hold the entry. `Err` of the outer result: nothing
/// could be checked (exit 2).
fn in_published(
    location: &str,
    receipt: &pb::TxReceipt,
    entry: &Entry,
    trust: &Trust,
    required_witnesses: &[WitnessKey],
) -> anyhow::Result<Published> {
    use ledger_verifier::tiles::{
        fetch_checkpoint, inclusion_in_tiles, inclusion_proof_from_tiles,
    };
    let unusable = |f: check::Failure| anyhow::anyhow!("{}", f.message);
    let mut fetch = fetch::Tiles::new(location)?;
    let published = fetch_checkpoint(&mut fetch).map_err(unusable)?;
    let size = published.checkpoint.tree_size;
    let mut vouched = String::new();
    match trust {
        Trust::Ledger(fp) => {
            let genesis_proof = inclusion_proof_from_tiles(&mut fetch, &published, 0)
                .map_err(unusable)?
                .iter()
                .map(|h| h.to_vec())
                .collect::<Vec<_>>();
            match ledger_trust::check(
                &published,
                receipt.genesis.as_ref(),
                &genesis_proof,
                fp,
                required_witnesses,
            ) {
                Ok(accepted) if !accepted.witnessed_by.is_empty() => {
                    vouched = format!("，见证 witnessed by {}", accepted.witnessed_by.join(", "));
                }
                Ok(_) => {}
                // The genesis's path came from the published hash tiles: if it does not lead to
                // the published root, the tiles were changed.
                Err(r) if r.code == "INCLUSION_PROOF_INVALID" => {
                    return Ok(Err((
                        "TILES_MALFORMED",
                        format!(
                            "发布的哈希瓦片与其检查点不符：文件被改动过。/ The published hash tiles do not match their checkpoint: they were changed ({})",
                            r.message
                        ),
                    )))
                }
                Err(r) => {
                    return Ok(Err((
                        r.code,
                        format!(
                            "发布的账本不是这本账 / the published ledger is not this ledger: {}",
                            r.message
                        ),
                    )))
                }
            }
        }
        _ => {
            let key = full_key(trust)?;
            if let Err(e) = published.verify(&published.checkpoint.origin, &key) {
                return Ok(Err((
                    "CHECKPOINT_SIGNATURE_INVALID",
                    format!("the published checkpoint is not signed by the trusted node key: {e}"),
                )));
            }
        }
    }
    if entry.sequence >= size {
        anyhow::bail!(
            "发布的账本目前只有 {size} 条，还不含第 {} 条；请稍后再核对（这不说明有问题）。/ The published ledger has {size} entries so far and does not reach entry {} yet; check again later (this says nothing is wrong)",
            entry.sequence,
            entry.sequence
        );
    }
    if !inclusion_in_tiles(&mut fetch, &published, entry).map_err(unusable)? {
        return Ok(Err((
            "NOT_IN_PUBLISHED_LEDGER",
            format!(
                "你的收据中的第 {seq} 条记录不在现在发布的账本中（{size} 条）：收据之后账本被改写过，或发布的文件被改动过。请保留收据和这条结果，告知社区和见证方。/ Entry {seq} of your receipt is not proven to be in the ledger as published now ({size} entries): the ledger was rewritten after your receipt was given, or the published files were changed. Keep the receipt and this result, and tell the community and the witnesses",
                seq = entry.sequence
            ),
        )));
    }
    Ok(Ok((
        format!(
            "在现在发布的账本中 In the ledger as published now ({size} entries{vouched}): {location}"
        ),
        size,
    )))
}

/// A checkpoint, and for a snapshot the leaf hashes' compact tree at every size we need.
struct Side {
    checkpoint: SignedCheckpoint,
    snapshot: Option<PathBuf>,
}

fn load_side(path: &Path) -> anyhow::Result<Side> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.starts_with(MAGIC) {
        let reader = SnapshotReader::open(bytes.as_slice())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let checkpoint = reader
            .finish()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        return Ok(Side {
            checkpoint,
            snapshot: Some(path.to_path_buf()),
        });
    }
    let text = String::from_utf8(bytes)
        .with_context(|| format!("{} is neither a snapshot nor a checkpoint", path.display()))?;
    let checkpoint = SignedCheckpoint::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a checkpoint: {e}", path.display()))?;
    Ok(Side {
        checkpoint,
        snapshot: None,
    })
}

/// Root of the first `size` entries of a snapshot (and of all of them).
fn snapshot_roots(path: &Path, size: u64) -> anyhow::Result<([u8; 32], [u8; 32])> {
    let file = std::fs::File::open(path)?;
    let mut reader =
        SnapshotReader::open(std::io::BufReader::new(file)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tree = CompactTree::new();
    let mut prefix = if size == 0 { Some(tree.root()) } else { None };
    while let Some(entry) = reader.next_entry().map_err(|e| anyhow::anyhow!("{e}"))? {
        tree.append(merkle::entry_leaf_hash(&entry), |_, _, _| {});
        if tree.size() == size {
            prefix = Some(tree.root());
        }
    }
    let prefix = prefix
        .ok_or_else(|| anyhow::anyhow!("the snapshot is smaller than the older checkpoint"))?;
    Ok((prefix, tree.root()))
}

/// With a ledger fingerprint, a side of `consistency` must be a snapshot that verifies whole;
/// `Some(printed result)` when it does not.
fn verify_side_against_ledger(
    path: &Path,
    trust: &Trust,
    json: bool,
) -> anyhow::Result<Option<bool>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = std::io::BufReader::new(file);
    let mut magic = [0u8; 28];
    let is_snapshot = std::io::Read::read_exact(&mut reader, &mut magic).is_ok()
        && &magic == ledger_core::snapshot::MAGIC;
    if !is_snapshot {
        anyhow::bail!(
            "{}：用账本指纹核对时，两边都须是快照文件（检查点文件不含创世记录）。/ With a ledger fingerprint both sides must be snapshot files: a checkpoint file does not carry the genesis to check it by",
            path.display()
        );
    }
    let file = std::fs::File::open(path)?;
    let outcome = check::verify_snapshot(
        std::io::BufReader::new(file),
        trust,
        &[],
        threads(None),
        |_| {},
        |_, _| {},
    );
    Ok(outcome.failure.map(|f| {
        print_result(
            json,
            false,
            f.code,
            &[format!("{}: {}", path.display(), f.message)],
            serde_json::json!({}),
        )
    }))
}

fn consistency(
    old: &Path,
    new: &Path,
    trust: &str,
    node: Option<&str>,
    json: bool,
) -> anyhow::Result<bool> {
    let trust = parse_trust(trust)?;
    let key = match trust {
        Trust::Key(k) => Some(k),
        Trust::Ledger(_) => {
            // Against the notice board: both sides must be snapshots, each verified whole
            // (genesis, rules, witnesses); then the proof below ties the two together.
            for path in [old, new] {
                if let Some(refused) = verify_side_against_ledger(path, &trust, json)? {
                    return Ok(refused);
                }
            }
            None
        }
        Trust::Fingerprint(_) => Some({
            // A snapshot carries the node key; use it if its fingerprint is the trusted one.
            let from_snapshot = [old, new].iter().find_map(|p| {
                let bytes = std::fs::read(p).ok()?;
                let reader = SnapshotReader::open(bytes.as_slice()).ok()?;
                ed25519_dalek::VerifyingKey::from_bytes(&reader.header().node_public_key).ok()
            });
            match from_snapshot {
                Some(k) if trust.accepts(&k) => k,
                _ => full_key(&trust)?,
            }
        }),
    };
    let (a, b) = (load_side(old)?, load_side(new)?);
    let fail = |code: &str, lines: Vec<String>| {
        Ok(print_result(
            json,
            false,
            code,
            &lines,
            serde_json::json!({ "old": a.checkpoint.text, "new": b.checkpoint.text }),
        ))
    };
    for side in key.iter().flat_map(|k| [(&a, k), (&b, k)]) {
        let (side, key) = side;
        if let Err(e) = side
            .checkpoint
            .verify(&side.checkpoint.checkpoint.origin, key)
        {
            return fail(
                "CHECKPOINT_SIGNATURE_INVALID",
                vec![format!(
                    "a checkpoint is not signed by the trusted node key: {e}"
                )],
            );
        }
    }
    let (ca, cb) = (&a.checkpoint.checkpoint, &b.checkpoint.checkpoint);
    if ca.origin != cb.origin {
        return fail(
            "DIFFERENT_LEDGERS",
            vec![format!(
                "the two are of different ledgers: {:?} and {:?}",
                ca.origin, cb.origin
            )],
        );
    }
    let fork = |why: &str| {
        fail(
            "FORK",
            vec![
                format!("PROOF OF A FORKED LOG: {why}. Both checkpoints are validly signed by the node key; keep both as evidence:"),
                String::new(),
                a.checkpoint.text.clone(),
                b.checkpoint.text.clone(),
            ],
        )
    };
    if ca.tree_size == cb.tree_size {
        if ca.root == cb.root {
            return Ok(print_result(
                json,
                true,
                "OK",
                &[format!(
                    "Both checkpoints are the same log of {} entries (root {}).",
                    ca.tree_size,
                    short_hash(&ca.root)
                )],
                serde_json::json!({}),
            ));
        }
        return fork(&format!(
            "two different logs of the same size {}",
            ca.tree_size
        ));
    }
    let (older, newer, newer_side) = if ca.tree_size < cb.tree_size {
        (ca, cb, &b)
    } else {
        (cb, ca, &a)
    };
    if let Some(path) = &newer_side.snapshot {
        let (prefix, full) = snapshot_roots(path, older.tree_size)?;
        if full != newer.root {
            return fail(
                "ROOT_MISMATCH",
                vec!["the newer snapshot's entries do not hash to its own checkpoint".into()],
            );
        }
        if prefix != older.root {
            return fork(&format!(
                "the first {} entries of the newer log are not the older log",
                older.tree_size
            ));
        }
    } else {
        let node = node.ok_or_else(|| anyhow::anyhow!("to compare two checkpoints of different sizes, give the newer one as a snapshot, or --node URL to ask the node for a proof"))?;
        let proof = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(async {
                let mut client = pb::ledger_client::LedgerClient::connect(node.to_string())
                    .await
                    .with_context(|| format!("cannot reach {node}"))?;
                anyhow::Ok(
                    // The checkpoints name their ledger: a node serving several is asked for it.
                    client
                        .get_consistency_proof(for_ledger(
                            pb::GetConsistencyProofRequest {
                                old_size: older.tree_size,
                                new_size: newer.tree_size,
                            },
                            Some(&older.origin),
                        )?)
                        .await?
                        .into_inner(),
                )
            })?;
        let hashes = merkle::hashes_from_bytes(&proof.hashes)
            .map_err(|e| anyhow::anyhow!("the node's proof is malformed: {e}"))?;
        if merkle::verify_consistency(
            older.tree_size,
            newer.tree_size,
            &older.root,
            &newer.root,
            &hashes,
        )
        .is_err()
        {
            return fork("the node cannot prove that the newer log extends the older one");
        }
    }
    Ok(print_result(
        json,
        true,
        "OK",
        &[format!(
            "The log of {} entries extends the log of {}: nothing was rewritten or dropped.",
            newer.tree_size, older.tree_size
        )],
        serde_json::json!({}),
    ))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct AuditState {
    ledger_id: String,
    tree_size: u64,
    root: String,
    checkpoint: String,
}

fn save_state(path: &Path, state: &AuditState) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(serde_json::to_string_pretty(state)?.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn audit(
    (node, ledger): (&str, Option<&str>),
    trust: &str,
    state_path: &Path,
    once: bool,
    grace: std::time::Duration,
) -> anyhow::Result<bool> {
    use tokio_stream::StreamExt;
    let trust = parse_trust(trust)?;
    let saved: Option<AuditState> = match std::fs::read_to_string(state_path) {
        Ok(text) => Some(
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not an audit state file", state_path.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", state_path.display())),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut client = pb::ledger_client::LedgerClient::connect(node.to_string()).await.with_context(|| format!("cannot reach node {node}"))?;
        let mut stream = client
            .subscribe(for_ledger(pb::SubscribeRequest { start: pb::subscribe_request::Start::FromBeginning as i32, ..Default::default() }, ledger)?)
            .await
            .context("subscribe")?
            .into_inner();
        let mut fold = Fold::new(threads(None));
        let mut pending: Vec<Entry> = Vec::new();
        let mut prefix_root = None;
        let mut last_saved = saved;
        let fail = |lines: Vec<String>| -> anyhow::Result<bool> { Ok(print_result(false, false, "AUDIT_FAILED", &lines, serde_json::json!({}))) };
        while let Some(event) = stream.next().await {
            let event = event.context("the node's stream failed")?;
            match event.event {
                Some(pb::subscribe_event::Event::Entry(e)) => {
                    let Ok(prev_hash) = e.prev_hash.as_slice().try_into() else { return fail(vec![format!("entry {} is malformed", e.sequence)]) };
                    let entry = Entry { sequence: e.sequence, prev_hash, timestamp_ms: e.timestamp_ms, envelope: e.envelope };
                    if let (0, Trust::Ledger(trusted)) = (entry.sequence, &trust) {
                        let found = ledger_core::entry::ledger_fingerprint(&entry);
                        if &found != trusted {
                            return Ok(print_result(false, false, "LEDGER_NOT_TRUSTED", &[format!("这不是公示栏上的账本：它的账本指纹是 {found}，不是 {trusted}。/ The node serves ledger {found}, not the ledger {trusted} you trust")], serde_json::json!({})));
                        }
                    }
                    pending.push(entry);
                    if pending.len() >= 2048 {
                        if let Err(f) = feed(&mut fold, &mut pending, last_saved.as_ref(), &mut prefix_root) {
                            return fail(vec![format!("entry {}: {}", f.sequence.unwrap_or(0), f.message)]);
                        }
                    }
                }
                Some(pb::subscribe_event::Event::Checkpoint(cp)) => {
                    if let Err(f) = feed(&mut fold, &mut pending, last_saved.as_ref(), &mut prefix_root) {
                        return fail(vec![format!("entry {}: {}", f.sequence.unwrap_or(0), f.message)]);
                    }
                    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(cp.node_public_key.as_slice().try_into().unwrap_or(&[0; 32])) else { return fail(vec!["the node sent no valid public key".into()]) };
                    let accepted = match &trust {
                        // The key the ledger names for this size (the genesis's, or rotated in).
                        Trust::Ledger(_) => fold.state.ledger.as_ref().is_some_and(|l| l.checkpoint_key_at(fold.tree.size()) == key),
                        other => other.accepts(&key),
                    };
                    if !accepted {
                        return fail(vec![format!("the node signs with key {}, not the key you trust", ledger_core::signing::KeyId::of(&key).fingerprint())]);
                    }
                    let signed = match SignedCheckpoint::parse(&cp.text) {
                        Ok(s) => s,
                        Err(e) => return fail(vec![format!("the node's checkpoint is malformed: {e}")]),
                    };
                    if signed.checkpoint.tree_size > 0 {
                        if let Err(f) = fold.check_checkpoint(&signed, &key) {
                            return fail(vec![f.message]);
                        }
                    }
                    if let Some(old) = &last_saved {
                        if old.tree_size > signed.checkpoint.tree_size {
                            return fail(vec![format!("the node's log shrank from {} to {} entries since the last audit: history was rewritten", old.tree_size, signed.checkpoint.tree_size)]);
                        }
                        // The node must prove consistency with what we verified last time.
                        let old_root: [u8; 32] = hex::decode(&old.root).ok().and_then(|b| b.try_into().ok()).context("audit state root")?;
                        let proof = client.get_consistency_proof(for_ledger(pb::GetConsistencyProofRequest { old_size: old.tree_size, new_size: signed.checkpoint.tree_size }, ledger)?).await?.into_inner();
                        let hashes = merkle::hashes_from_bytes(&proof.hashes).unwrap_or_default();
                        if merkle::verify_consistency(old.tree_size, signed.checkpoint.tree_size, &old_root, &signed.checkpoint.root, &hashes).is_err()
                            || prefix_root.is_some_and(|r| r != old_root)
                        {
                            return fail(vec![
                                "THE NODE REWROTE HISTORY: its log is not an extension of the log verified last time. Evidence:".into(),
                                old.checkpoint.clone(),
                                signed.text.clone(),
                            ]);
                        }
                    }
                    if let Trust::Ledger(_) = &trust {
                        match wait_witnessed_live(&mut client, &fold, &signed, grace).await {
                            Ok(Some(size)) => outln!("见证 witnessed up to {size} entries"),
                            Ok(None) => {}
                            Err(why) => return Ok(print_result(false, false, "NOT_WITNESSED", &[why], serde_json::json!({}))),
                        }
                    }
                    let state = AuditState { ledger_id: signed.checkpoint.origin.clone(), tree_size: signed.checkpoint.tree_size, root: hex::encode(signed.checkpoint.root), checkpoint: signed.text.clone() };
                    save_state(state_path, &state)?;
                    outln!("verified {} entries of {} (root {})", state.tree_size, printable(&state.ledger_id), short_hash(&signed.checkpoint.root));
                    last_saved = Some(state);
                    prefix_root = None;
                }
                Some(pb::subscribe_event::Event::CaughtUp(_)) if once => {
                    return Ok(print_result(false, true, "OK", &["Caught up with the node; everything it served checks out.".into()], serde_json::json!({})));
                }
                Some(pb::subscribe_event::Event::CaughtUp(_)) | None => {}
            }
        }
        anyhow::bail!("the node closed the stream")
    })
}

/// The witnessed checkpoint must reach the size just verified within `grace`: entries
/// the witnesses never see may be a history shown to this auditor alone (found by the
/// adversary review: a forked node kept an old witnessed checkpoint and served a private tail).
async fn wait_witnessed_live(
    client: &mut pb::ledger_client::LedgerClient<tonic::transport::Channel>,
    fold: &Fold,
    current: &SignedCheckpoint,
    grace: std::time::Duration,
) -> Result<Option<u64>, String> {
    let deadline = std::time::Instant::now() + grace;
    loop {
        match check_witnessed_live(client, fold, current).await? {
            Some(size) if size < current.checkpoint.tree_size => {
                if std::time::Instant::now() >= deadline {
                    return Err(format!(
                        "节点给出的后 {} 条在 {} 秒内没有经见证方联署，可能只给你一个人看。/ The last {} entries the node served were not cosigned by the witnesses within {} s: they may be a history shown to you alone",
                        current.checkpoint.tree_size - size,
                        grace.as_secs(),
                        current.checkpoint.tree_size - size,
                        grace.as_secs()
                    ));
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            other => return Ok(other),
        }
    }
}

/// When the ledger names witnesses: the node's witnessed checkpoint must carry their quorum, be
/// signed by the key in force at its size, and be a prefix of the log just verified (a
/// consistency proof to `current`). Returns its size; `None` when the ledger names none.
async fn check_witnessed_live(
    client: &mut pb::ledger_client::LedgerClient<tonic::transport::Channel>,
    fold: &Fold,
    current: &SignedCheckpoint,
) -> Result<Option<u64>, String> {
    let ledger = fold.state.ledger.as_ref().ok_or("no genesis yet")?;
    if ledger.witness_quorum == 0 {
        return Ok(None);
    }
    let cp = client
        .get_checkpoint(pb::GetCheckpointRequest {})
        .await
        .map_err(|e| e.to_string())?
        .into_inner();
    let w = SignedCheckpoint::parse(&cp.witnessed_text).map_err(|e| {
        format!("节点没有经见证的检查点 the node serves no witnessed checkpoint: {e}")
    })?;
    if w.checkpoint.origin != ledger.ledger_id {
        return Err(format!(
            "见证检查点属于另一个账本 the witnessed checkpoint is of {:?}, not {:?}",
            w.checkpoint.origin, ledger.ledger_id
        ));
    }
    w.check_witnesses(&ledger.witnesses, ledger.witness_quorum, &[])
        .map_err(|e| e.to_string())?;
    let size = w.checkpoint.tree_size;
    if size > current.checkpoint.tree_size {
        return Ok(Some(size)); // Newer than what was verified: checked on the next round.
    }
    w.verify(&w.checkpoint.origin, &ledger.checkpoint_key_at(size))
        .map_err(|e| format!("the witnessed checkpoint is not signed by the key in force: {e}"))?;
    let proof = client
        .get_consistency_proof(pb::GetConsistencyProofRequest {
            old_size: size,
            new_size: current.checkpoint.tree_size,
        })
        .await
        .map_err(|e| e.to_string())?
        .into_inner();
    let hashes = merkle::hashes_from_bytes(&proof.hashes).map_err(|e| e.to_string())?;
    merkle::verify_consistency(
        size,
        current.checkpoint.tree_size,
        &w.checkpoint.root,
        &current.checkpoint.root,
        &hashes,
    )
    .map_err(|e| format!("见证方看到的账本与节点给你的不同 the witnesses saw another history than the node served you: {e}"))?;
    Ok(Some(size))
}

/// Feeds pending entries, remembering the root at the size verified last time.
fn feed(
    fold: &mut Fold,
    pending: &mut Vec<Entry>,
    saved: Option<&AuditState>,
    prefix_root: &mut Option<[u8; 32]>,
) -> Result<(), check::Failure> {
    let target = saved.map(|s| s.tree_size);
    if target == Some(fold.tree.size()) && prefix_root.is_none() {
        *prefix_root = Some(fold.tree.root());
    }
    // Feed one at a time around the saved size so its root is captured exactly.
    let split = match target {
        Some(t) if t > fold.tree.size() && t <= fold.tree.size() + pending.len() as u64 => {
            (t - fold.tree.size()) as usize
        }
        _ => pending.len(),
    };
    let rest = pending.split_off(split);
    fold.feed(pending, |_| {})?;
    if target == Some(fold.tree.size()) {
        *prefix_root = Some(fold.tree.root());
    }
    fold.feed(&rest, |_| {})?;
    pending.clear();
    Ok(())
}

/// A request naming ledger `ledger` (`ledger-id` metadata) of a node that serves several.
fn for_ledger<T>(message: T, ledger: Option<&str>) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    if let Some(id) = ledger {
        let value = id.parse().map_err(|_| {
            anyhow::anyhow!("账本标识 {id:?} 不可用 / the ledger id {id:?} is not usable")
        })?;
        request.metadata_mut().insert("ledger-id", value);
    }
    Ok(request)
}
