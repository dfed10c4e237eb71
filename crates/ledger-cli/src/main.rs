//! `ledger`: post signed transactions and read the Sunshine Ledger from the command line.
//!
//! Exit codes: 0 done; 1 the ledger refused the transaction; 2 usage or local error (a file,
//! a key, an amount); 3 the node could not be reached or is unavailable.

mod confirm;
mod entry_json;
mod import;
mod refs;
mod txfile;

use ledger_term::{outln, printable};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use ed25519_dalek::SigningKey;
use ledger_client::{ClientError, LedgerClient};
use ledger_core::amount::{format_yuan, parse_source, parse_yuan};
use ledger_core::build;
use ledger_core::hashing::{contributor_commitment, document_hash};
use ledger_core::proto::{self as pb, transaction_body::Kind};
use ledger_core::signing::KeyId;
use ledger_core::state::{FundSource, Role};
use prost::Message;
use tokio_stream::StreamExt;
use txfile::TxFile;

#[derive(Parser)]
#[command(
    name = "ledger",
    version,
    about = "Sunshine Ledger (阳光账本) command line: post signed transactions, read balances, follow the ledger live."
)]
struct Cli {
    /// Node address; https:// uses TLS. Several nodes of one ledger kept in PostgreSQL as
    /// `A,B`: reads from the first that answers, and a submission goes on to the next node when
    /// one cannot write (the same bytes: it is written once).
    #[arg(
        long,
        global = true,
        env = "LEDGER_NODE",
        default_value = "http://127.0.0.1:50051"
    )]
    node: String,
    /// Extra CA certificate (PEM) to trust for an https node.
    #[arg(long, global = true, env = "LEDGER_CA")]
    ca: Option<PathBuf>,
    /// Which ledger of a node that serves several (its ledger id); the node's own ledger when
    /// not given.
    #[arg(long, global = true, env = "LEDGER_ID")]
    ledger: Option<String>,
    /// Machine-readable output (JSON; JSON lines for streams).
    #[arg(long, global = true)]
    json: bool,
    /// Key file to sign with (repeat for several signers).
    #[arg(long = "key", global = true)]
    keys: Vec<PathBuf>,
    /// Transaction id (32 hex digits) instead of a random one, to make a retry idempotent.
    #[arg(long, global = true)]
    tx_id: Option<String>,
    /// Write the receipt of a posted transaction here, for `verifier receipt`.
    #[arg(long, global = true)]
    receipt_out: Option<PathBuf>,
    /// Yuan above which a transaction's amount is asked for again before it is signed
    /// [default: 1000000].
    #[arg(long, global = true, env = "LEDGER_CONFIRM_ABOVE")]
    confirm_above: Option<String>,
    /// The large amount is meant: post it without asking (for scripts).
    #[arg(long, global = true)]
    yes: bool,
    /// Language of the ledger's refusals: zh, en, or both (Chinese first) [default: en when
    /// LANG starts with "en", else both] [env: LEDGER_LANG]
    #[arg(long, global = true, env = "LEDGER_LANG")]
    lang: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a key file readable only by you, and print its public key and fingerprint.
    Keygen {
        #[arg(long)]
        out: PathBuf,
        /// What the key is for (admin, finance, approver, auditor, resident): the printed
        /// register command then names it.
        #[arg(long)]
        role: Option<String>,
        /// Whose key it is (a person or an office), for the printed register command.
        #[arg(long)]
        name: Option<String>,
    },
    #[command(flatten)]
    Tx(TxKind),
    /// Offline signing: build, sign (on other machines), submit.
    #[command(name = "tx", subcommand)]
    Offline(OfflineCmd),
    /// Post many receipts or disbursement proposals from a CSV file, idempotently.
    Import {
        file: PathBuf,
        /// Transactions per SubmitBatch call.
        #[arg(long, default_value_t = 500)]
        batch: usize,
    },
    /// Balances of every account, per fund source.
    Balances {
        /// As of this many entries (0: now).
        #[arg(long, default_value_t = 0)]
        as_of: u64,
    },
    /// Projects: budget, allocated, spent, remaining per source.
    Projects,
    /// Disbursements and their approvals.
    Disbursements,
    /// Registered keys, their roles and state.
    Keys,
    /// 账目 Entries of the log, newest first (--from N: oldest first from entry N).
    Entries {
        /// Oldest first, starting at this entry number.
        #[arg(long, conflicts_with = "before")]
        from: Option<u64>,
        /// Newest first, the entries before this entry number (to page back).
        #[arg(long)]
        before: Option<u64>,
        #[arg(long, default_value_t = 20)]
        limit: u64,
    },
    /// 获取收据 The receipt of a posted transaction, proven against the witnessed checkpoint
    /// (waits up to 30 s for the witnesses), for `verifier receipt`.
    FetchReceipt {
        /// The transaction id (32 hex digits, as printed when it was posted) or its entry number
        tx_id: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// The latest signed checkpoint.
    Checkpoint,
    /// An inclusion proof of entry SEQ in the latest checkpoint.
    Proof { sequence: u64 },
    /// Download a snapshot file for `verifier verify`.
    #[command(subcommand)]
    Snapshot(SnapshotCmd),
    /// Make the public statement (公开报表) for a period: the node's snapshot, verified here
    /// against the ledger fingerprint, folded to the period's end; the same files the node
    /// serves under /reports and `verifier report` makes.
    Report {
        /// 2026-03 (a month), 2026-Q1 (a quarter), 2026 (a year) or 2026-01-01..2026-03-31.
        #[arg(long)]
        period: String,
        /// The ledger fingerprint from the notice board.
        #[arg(long)]
        trust: String,
        /// The folder to write the statement's files into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// The statement's language: zh (Chinese, the default, as the node serves it) or en.
        /// (Separate from --lang, which is how this command talks to you.)
        #[arg(long, default_value = "zh")]
        statement_lang: String,
    },
    /// Follow the ledger live.
    Watch {
        /// Start at this sequence number (default: only new entries).
        #[arg(long)]
        from: Option<u64>,
        #[arg(long = "kind")]
        kinds: Vec<String>,
        #[arg(long = "account")]
        accounts: Vec<String>,
    },
}

#[derive(Subcommand)]
enum SnapshotCmd {
    Export { file: PathBuf },
}

#[derive(Subcommand)]
enum OfflineCmd {
    /// Build an unsigned transaction file (JSON) on stdout.
    Build {
        /// The ledger id (on the notice board; `ledger checkpoint` prints it); asked from the
        /// node when not given, so needed offline.
        #[arg(long, global = true)]
        ledger_id: Option<String>,
        #[command(subcommand)]
        kind: TxKind,
    },
    /// Add your signature (--key) to a transaction file; prints the signed file.
    Sign { file: PathBuf },
    /// Post a signed transaction file.
    Submit { file: PathBuf },
}

#[derive(Subcommand, Clone)]
enum TxKind {
    /// Register or revoke a key (admin).
    #[command(subcommand)]
    Key(KeyCmd),
    /// Open a fund pool or a payee account.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Create a project with a budget per source (admin).
    #[command(subcommand)]
    Project(ProjectCmd),
    /// Money received from a fund source.
    Receipt(ReceiptArgs),
    /// Move money from a fund pool (or the reserve) to a project.
    Allocate {
        #[arg(long)]
        from: String,
        #[arg(long)]
        project: String,
        /// SOURCE=YUAN, e.g. fiscal=540000.00 or 财政=540000 (repeatable).
        #[arg(long = "amount", required = true, allow_hyphen_values = true)]
        amounts: Vec<String>,
        #[arg(long, default_value = "")]
        memo: String,
    },
    /// Disbursements: propose, approve, reject, execute, void.
    #[command(subcommand)]
    Disburse(DisburseCmd),
    /// Reverse a receipt, an allocation or an executed disbursement.
    Reverse {
        #[arg(long)]
        target: String,
        #[arg(long)]
        reason: String,
    },
    /// 提出异议 Object to a disbursement on public notice (a representative, auditor or
    /// household key; one signer).
    Object {
        /// The disbursement's proposal (transaction id).
        #[arg(long)]
        disbursement: String,
        #[arg(long)]
        text: String,
        /// A document (a photo, a letter) whose hash is recorded.
        #[arg(long)]
        document: Option<PathBuf>,
    },
    /// 答复异议 Answer an objection (finance office).
    Answer {
        #[arg(long)]
        objection: String,
        #[arg(long)]
        text: String,
        /// Documents the answer rests on (repeatable, at most 8); their hashes are recorded.
        #[arg(long = "document")]
        documents: Vec<PathBuf>,
    },
    /// 处理异议 Decide an answered objection (the representatives' quorum signs):
    /// --uphold voids the disbursement, --dismiss lets it go ahead.
    Resolve {
        #[arg(long)]
        objection: String,
        #[arg(long, conflicts_with = "dismiss", required_unless_present = "dismiss")]
        uphold: bool,
        #[arg(long)]
        dismiss: bool,
        #[arg(long)]
        reason: String,
    },
    /// 更改规则 Replace the ledger's policy (the admin quorum and the approver quorum sign).
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Attach a note or document to a transaction (auditor, representative or household).
    Annotate {
        #[arg(long)]
        target: String,
        #[arg(long)]
        note: String,
        #[arg(long)]
        document: Option<PathBuf>,
    },
}

#[derive(Subcommand, Clone)]
enum PolicyCmd {
    /// The whole new policy: every value is given, none is left as it was by accident.
    Change {
        /// Yuan: disbursements at or above it need the representatives' quorum.
        #[arg(long)]
        threshold: String,
        /// Days over which unapproved payments to a payee are added up (1-366).
        #[arg(long)]
        window_days: u32,
        #[arg(long)]
        approver_quorum: u32,
        #[arg(long)]
        admin_quorum: u32,
        /// Share of each receipt held in the risk reserve, basis points (1000 = 10%).
        #[arg(long)]
        reserve_bp: u32,
        /// Days of public notice (公示) before an approved large disbursement is paid (0-90).
        #[arg(long)]
        notice_days: u32,
        /// Days the finance office has to answer an objection (1-90; 0 only without notice).
        #[arg(long)]
        response_days: u32,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand, Clone)]
enum KeyCmd {
    Register {
        /// The key's public key (64 hex digits), as `ledger keygen` printed it.
        #[arg(long)]
        public: String,
        /// admin, finance, approver, auditor or resident (a household: objects and comments).
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
    },
    Revoke {
        /// The public key (64 hex) of the key to revoke.
        #[arg(long)]
        public: String,
        #[arg(long)]
        reason: String,
    },
    /// 更换节点签名密钥 Replace the node's checkpoint key (admin quorum): the operator first
    /// puts the new key at <data>/node.key.next with `ledger-node keygen`, which prints it.
    RotateNode {
        /// The new checkpoint key's public key (64 hex digits)
        #[arg(long)]
        public: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand, Clone)]
enum AccountCmd {
    Open {
        #[arg(long)]
        id: String,
        /// fund-pool or payee.
        #[arg(long)]
        kind: String,
        /// The source of a fund pool.
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand, Clone)]
enum ProjectCmd {
    Create {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// SOURCE=YUAN (repeatable).
        #[arg(long = "budget", required = true)]
        budget: Vec<String>,
    },
    /// 竣工 The works are finished (finance); evaluation can begin.
    Complete {
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "")]
        memo: String,
        /// The completion report (its hash is recorded).
        #[arg(long)]
        document: Option<PathBuf>,
    },
    /// 效果评价 Evaluate a completed project: an auditor with --report, or a representative.
    Evaluate {
        #[arg(long)]
        id: String,
        #[arg(
            long,
            conflicts_with = "not_satisfied",
            required_unless_present = "not_satisfied"
        )]
        satisfied: bool,
        #[arg(long)]
        not_satisfied: bool,
        #[arg(long, default_value = "")]
        comment: String,
        /// The inspection report (required of an auditor; its hash is recorded).
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// 验收 Accept a completed project once an auditor passed it and the representatives'
    /// quorum is satisfied (finance).
    Accept {
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "")]
        memo: String,
    },
    /// 结项 Close an accepted project: its remainder goes back to the accounts that funded it.
    Close {
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "")]
        memo: String,
    },
}

#[derive(Args, Clone)]
struct ReceiptArgs {
    /// The fund source.
    #[arg(long, long_help = ledger_core::types::SOURCE_NAMES_HELP)]
    source: String,
    /// The fund pool that receives it.
    #[arg(long)]
    to: String,
    /// Yuan, at most two decimals.
    #[arg(long, allow_hyphen_values = true)]
    amount: String,
    #[arg(long, default_value = "")]
    memo: String,
    /// The contributor; recorded only as a salted commitment. The salt is printed: keep it.
    #[arg(long)]
    contributor: Option<String>,
    /// A document (bank slip) whose hash is recorded.
    #[arg(long)]
    document: Option<PathBuf>,
}

#[derive(Subcommand, Clone)]
enum DisburseCmd {
    Propose {
        #[arg(long)]
        project: String,
        #[arg(long)]
        payee: String,
        /// SOURCE=YUAN (repeatable).
        #[arg(long = "amount", required = true, allow_hyphen_values = true)]
        amounts: Vec<String>,
        /// The contract file (its hash is recorded).
        #[arg(long, required_unless_present = "contract_hash")]
        contract: Option<PathBuf>,
        /// Or the contract's hash (64 hex digits).
        #[arg(long)]
        contract_hash: Option<String>,
        #[arg(long)]
        invoice: Option<PathBuf>,
        #[arg(long, default_value = "")]
        memo: String,
    },
    Approve {
        #[arg(long)]
        proposal: String,
    },
    Reject {
        #[arg(long)]
        proposal: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    Execute {
        #[arg(long)]
        proposal: String,
    },
    Void {
        #[arg(long)]
        proposal: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
}

/// Errors with their exit codes.
enum Failure {
    Refused(String),
    Local(anyhow::Error),
    Node(String),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Local(e)
    }
}

/// Which language(s) a refusal from the ledger is shown in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lang {
    Zh,
    En,
    Both,
}

static LANG: std::sync::OnceLock<Lang> = std::sync::OnceLock::new();

fn choose_lang(flag: Option<&str>) -> Result<Lang, String> {
    match flag.map(|f| f.trim().to_ascii_lowercase()) {
        Some(f) if f == "zh" || f == "cn" || f == "中文" => Ok(Lang::Zh),
        Some(f) if f == "en" => Ok(Lang::En),
        Some(f) if f == "both" => Ok(Lang::Both),
        Some(other) => Err(format!("--lang {other:?}: zh, en or both")),
        None if std::env::var("LANG").is_ok_and(|l| l.starts_with("en")) => Ok(Lang::En),
        None => Ok(Lang::Both),
    }
}

/// A refusal in the chosen language(s). The node sends Chinese and English on two lines (an
/// older node English only); each part is ledger text, shown printable.
fn refusal_text(reason: &str, message: &str) -> String {
    let (zh, en) = match message.split_once('\n') {
        Some((zh, en)) => (Some(zh), en),
        None => (None, message),
    };
    // The node could not give the ledger asked for (`--ledger`): nothing was judged.
    let picking = ledger_core::ledger_reasons::ALL.contains(&reason);
    let (zh_what, en_what) = match picking {
        true => ("节点无法提供这个账本", "the node cannot serve that ledger"),
        false => ("账本拒绝了这笔交易", "the ledger refused the transaction"),
    };
    let zh_line = zh.map(|zh| format!("{zh_what}（{reason}）：{}", printable(zh)));
    let en_line = format!("{en_what} ({reason}): {}", printable(en));
    match (LANG.get().copied().unwrap_or(Lang::Both), zh_line) {
        (Lang::En, _) | (_, None) => en_line,
        (Lang::Zh, Some(zh)) => zh,
        (Lang::Both, Some(zh)) => format!("{zh}\n  {en_line}"),
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Rejected {
                ref reason,
                ref message,
                ..
            } => Failure::Refused(refusal_text(reason, message)),
            ClientError::Connect { .. } | ClientError::Unavailable(_) => {
                Failure::Node(e.to_string())
            }
            other => Failure::Local(anyhow::anyhow!(other)),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match choose_lang(cli.lang.as_deref()) {
        Ok(lang) => {
            LANG.set(lang).expect("set once");
        }
        Err(e) => {
            eprintln!("ledger: {e}");
            return ExitCode::from(2);
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ledger: 无法启动 cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused(m)) => {
            eprintln!("ledger: {m}");
            ExitCode::from(1)
        }
        Err(Failure::Local(e)) => {
            eprintln!("ledger: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Node(m)) => {
            eprintln!("ledger: {m}");
            ExitCode::from(3)
        }
    }
}

/// `ledger report`: the statement is made here, from a snapshot this machine verified, so a
/// clerk never posts figures only the node vouches for.
async fn report(
    cli: &Cli,
    period: &str,
    trust: &str,
    out: &std::path::Path,
    lang: &str,
) -> Result<(), Failure> {
    let period =
        ledger_report::Period::parse(period).map_err(|e| anyhow::anyhow!("--period: {e}"))?;
    let lang = ledger_report::Lang::parse(lang)
        .ok_or_else(|| anyhow::anyhow!("--lang {lang:?}：只能是 zh 或 en / must be zh or en"))?;
    let trust =
        ledger_verifier::trust::Trust::parse(trust).map_err(|e| anyhow::anyhow!("--trust: {e}"))?;
    let mut client = connect(cli).await?;
    client
        .wait_witnessed(std::time::Duration::from_secs(30))
        .await?;
    let mut snapshot = Vec::new();
    client.export_snapshot(&mut snapshot).await?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let statement = match ledger_report::make(&snapshot, &trust, &[], threads, period, None) {
        Ok(s) => s,
        Err(e @ ledger_report::ReportError::NotVerified { .. }) => {
            return Err(Failure::Refused(e.to_string()))
        }
        Err(e) => return Err(Failure::Local(anyhow::anyhow!("{e}"))),
    };
    std::fs::create_dir_all(out)
        .with_context(|| format!("无法创建文件夹 cannot create {}", out.display()))?;
    for (name, bytes) in ledger_report::files(&statement, lang) {
        let file = out.join(&name);
        std::fs::write(&file, bytes)
            .with_context(|| format!("无法写入 cannot write {}", file.display()))?;
    }
    if cli.json {
        outln!(
            "{}",
            serde_json::json!({"period": period.name(), "out": out, "tree_size": statement.tree_size,
                "root": hex::encode(statement.root), "closed": statement.closed, "files": ledger_report::FILES})
        );
    } else {
        let (zh, en) = ledger_report::status_words(&statement);
        outln!(
            "已核验并写入 {} 的报表：{}（依据前 {} 条记录；{zh}）；打印 statement.html 张贴。\nverified; the statement for {} is in {} (the fold at {} entries; {en}); print statement.html for the notice board.",
            period.name(), out.display(), statement.tree_size,
            period.name(), out.display(), statement.tree_size
        );
    }
    Ok(())
}

async fn connect(cli: &Cli) -> Result<LedgerClient, Failure> {
    let client = LedgerClient::connect(&cli.node, cli.ca.as_deref()).await?;
    Ok(client.for_ledger(cli.ledger.as_deref())?)
}

fn read_keys(paths: &[PathBuf]) -> anyhow::Result<Vec<SigningKey>> {
    paths
        .iter()
        .map(|p| ledger_keys::read(p).map_err(anyhow::Error::from))
        .collect()
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut out);
    out
}

fn tx_id(cli: &Cli) -> anyhow::Result<[u8; 16]> {
    match &cli.tx_id {
        Some(h) => hex::decode(h)
            .ok()
            .and_then(|b| b.try_into().ok())
            .context("--tx-id 是 32 位十六进制 / --tx-id is 32 hex digits"),
        None => Ok(random_bytes()),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn source(text: &str) -> anyhow::Result<FundSource> {
    parse_source(text).with_context(|| {
        format!(
            "未知的资金来源 {text:?}，可用 / unknown fund source {text:?}; use: {}",
            ledger_core::types::SOURCE_NAMES_HELP
        )
    })
}

/// Parses `SOURCE=YUAN` pairs.
fn source_amounts(items: &[String]) -> anyhow::Result<Vec<pb::SourceAmount>> {
    let mut out = Vec::new();
    for item in items {
        let (s, a) = item
            .split_once('=')
            .with_context(|| format!("{item:?}：请写成 来源=元，如 财政=540000 / write SOURCE=YUAN, e.g. fiscal=540000.00"))?;
        let fen = parse_yuan(a)?;
        out.push(pb::SourceAmount {
            source: source(s)?.to_proto() as i32,
            amount_fen: fen,
        });
    }
    Ok(out)
}

/// Waits (up to 30 s) for the witnesses, then writes the receipt of `tx_id` proven against
/// the witnessed checkpoint. Returns whether it is witnessed (or the ledger names none).
async fn write_witnessed_receipt(
    client: &mut ledger_client::LedgerClient,
    tx_id: [u8; 16],
    path: &Path,
) -> anyhow::Result<bool> {
    client
        .wait_witnessed(std::time::Duration::from_secs(30))
        .await?;
    let quorum = client.checkpoint().await?.witness_quorum;
    let receipt = client.receipt(tx_id).await?;
    std::fs::write(path, receipt.encode_to_vec()).with_context(|| {
        format!(
            "无法写入收据 cannot write the receipt to {}",
            path.display()
        )
    })?;
    let cosigned = ledger_core::checkpoint::SignedCheckpoint::parse(&receipt.checkpoint)
        .map(|c| c.cosignatures.len() >= quorum as usize)
        .unwrap_or(false);
    Ok(cosigned)
}

fn tx_ref(text: &str) -> anyhow::Result<Vec<u8>> {
    hex::decode(text.trim())
        .ok()
        .filter(|b| b.len() == 16)
        .with_context(|| {
            format!(
                "{text:?} 既不是交易号（32 位十六进制）也不是条目号 / is neither a transaction id \
                 (32 hex digits, as printed when it was posted) nor an entry number (as `ledger \
                 entries` shows)"
            )
        })
}

/// The confirmation line in fen, from --confirm-above or LEDGER_CONFIRM_ABOVE (yuan).
fn confirm_line(cli: &Cli) -> anyhow::Result<u64> {
    match &cli.confirm_above {
        None => Ok(confirm::DEFAULT_CONFIRM_ABOVE_FEN),
        Some(text) => parse_yuan(text).with_context(|| format!("--confirm-above {text:?}")),
    }
}

fn file_hash(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("无法读取 cannot read {}", path.display()))?;
    Ok(document_hash(&bytes).to_vec())
}

fn stage_words(stage: &str) -> &str {
    match stage {
        "in_progress" => "建设中 in progress",
        "completed" => "已竣工 completed",
        "accepted" => "已验收 accepted",
        "closed" => "已结项 closed",
        other => other,
    }
}

/// 公示 and 异议 lines under a disbursement, with days by this computer's clock.
fn print_notice(d: &pb::DisbursementInfo) {
    const DAY: i64 = 24 * 60 * 60 * 1000;
    let now = now_ms();
    if d.notice_ends_ms > 0 && d.state == "pending" {
        let left = d.notice_ends_ms - now;
        if left > 0 {
            outln!(
                "    公示中 on public notice: {} 天 days left (until {})",
                (left + DAY - 1) / DAY,
                ledger_term::beijing_time(d.notice_ends_ms)
            );
        } else {
            outln!("    公示期满 notice over: it can be executed once no objection is open");
        }
    }
    for o in &d.objections {
        let overdue = if o.answered_ms > 0 {
            o.answered_ms > o.response_due_ms
        } else {
            o.state == "open" && now > o.response_due_ms
        };
        outln!(
            "    异议 objection {} [{}{}] by {}: {}",
            hex::encode(&o.objection_tx_id),
            o.state,
            if overdue {
                ", 答复逾期 answer overdue"
            } else {
                ""
            },
            o.filed_by,
            printable(&o.text)
        );
        if !o.answer.is_empty() {
            outln!("      答复 answer: {}", printable(&o.answer));
        }
    }
}

fn optional_file_hash(path: &Option<PathBuf>) -> anyhow::Result<Vec<u8>> {
    Ok(path
        .as_deref()
        .map(file_hash)
        .transpose()?
        .unwrap_or_default())
}

fn role(text: &str) -> anyhow::Result<Role> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "admin" => Role::Admin,
        "finance" => Role::Finance,
        "approver" => Role::Approver,
        "auditor" => Role::Auditor,
        "resident" | "household" => Role::Resident,
        other => {
            anyhow::bail!("未知角色 unknown role {other:?}: admin（管理员）, finance（财务）, approver（居民代表）, auditor（审计）or resident（居民户）")
        }
    })
}

fn public_key(text: &str) -> anyhow::Result<Vec<u8>> {
    hex::decode(text.trim())
        .ok()
        .filter(|b| b.len() == 32)
        .context("公钥是 64 位十六进制，即 `ledger keygen` 打印的那一串 / a public key is 64 hex digits, as `ledger keygen` printed it")
}

/// Things to tell the user after building a transaction (a contributor's salt).
#[derive(Default)]
struct Notes {
    salt: Option<String>,
}

fn build_kind(kind: &TxKind, notes: &mut Notes) -> anyhow::Result<Kind> {
    Ok(match kind {
        TxKind::Key(KeyCmd::Register {
            public,
            role: r,
            name,
        }) => Kind::KeyRegistered(pb::KeyRegistered {
            key: Some(pb::PublicKey {
                ed25519: public_key(public)?,
                role: role(r)?.to_proto() as i32,
                name: name.clone(),
            }),
        }),
        TxKind::Key(KeyCmd::Revoke { public, reason }) => {
            let key = ledger_core::signing::parse_public_key(&public_key(public)?)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Kind::KeyRevoked(pb::KeyRevoked {
                key_id: KeyId::of(&key).0.to_vec(),
                reason: reason.clone(),
            })
        }
        TxKind::Key(KeyCmd::RotateNode { public, reason }) => {
            Kind::CheckpointKeyRotated(pb::CheckpointKeyRotated {
                new_key: public_key(public)?,
                reason: reason.clone(),
            })
        }
        TxKind::Account(AccountCmd::Open {
            id,
            kind,
            source: s,
            name,
        }) => {
            let (kind, src) = match kind.as_str() {
                "fund-pool" | "fund_pool" | "pool" => (
                    pb::AccountKind::FundPool,
                    source(s.as_deref().context("资金池需要 --source（资金来源）/ a fund pool needs --source")?)?.to_proto() as i32,
                ),
                "payee" => (pb::AccountKind::Payee, 0),
                other => anyhow::bail!("未知账户类型 unknown account kind {other:?}: fund-pool（资金池）or payee（收款方）"),
            };
            Kind::AccountOpened(pb::AccountOpened {
                account_id: id.clone(),
                kind: kind as i32,
                source: src,
                name: name.clone(),
            })
        }
        TxKind::Project(ProjectCmd::Create {
            id,
            name,
            description,
            budget,
        }) => Kind::ProjectCreated(pb::ProjectCreated {
            project_id: id.clone(),
            name: name.clone(),
            description: description.clone(),
            budget: source_amounts(budget)?,
        }),
        TxKind::Receipt(r) => {
            let commitment = match &r.contributor {
                Some(who) => {
                    let salt: [u8; 32] = random_bytes();
                    notes.salt = Some(hex::encode(salt));
                    contributor_commitment(&salt, who).to_vec()
                }
                None => vec![],
            };
            Kind::FundsReceived(pb::FundsReceived {
                source: source(&r.source)?.to_proto() as i32,
                to_account: r.to.clone(),
                amount_fen: parse_yuan(&r.amount)?,
                contributor_commitment: commitment,
                memo: r.memo.clone(),
                document_hash: r
                    .document
                    .as_deref()
                    .map(file_hash)
                    .transpose()?
                    .unwrap_or_default(),
            })
        }
        TxKind::Allocate {
            from,
            project,
            amounts,
            memo,
        } => Kind::FundsAllocated(pb::FundsAllocated {
            from_account: from.clone(),
            project_id: project.clone(),
            amounts: source_amounts(amounts)?,
            memo: memo.clone(),
        }),
        TxKind::Disburse(d) => match d {
            DisburseCmd::Propose {
                project,
                payee,
                amounts,
                contract,
                contract_hash,
                invoice,
                memo,
            } => {
                let contract_hash = match (contract, contract_hash) {
                    (Some(path), _) => file_hash(path)?,
                    (None, Some(h)) => hex::decode(h).ok().filter(|b| b.len() == 32).context(
                        "--contract-hash 是 64 位十六进制 / --contract-hash is 64 hex digits",
                    )?,
                    (None, None) => {
                        anyhow::bail!("支出申请需要合同：--contract 文件 或 --contract-hash / a disbursement needs --contract FILE or --contract-hash")
                    }
                };
                Kind::DisbursementProposed(pb::DisbursementProposed {
                    project_id: project.clone(),
                    payee_account: payee.clone(),
                    amounts: source_amounts(amounts)?,
                    contract_hash,
                    invoice_hash: invoice
                        .as_deref()
                        .map(file_hash)
                        .transpose()?
                        .unwrap_or_default(),
                    memo: memo.clone(),
                })
            }
            DisburseCmd::Approve { proposal } => {
                Kind::DisbursementApproved(pb::DisbursementApproved {
                    proposal_tx_id: tx_ref(proposal)?,
                })
            }
            DisburseCmd::Reject { proposal, reason } => {
                Kind::DisbursementRejected(pb::DisbursementRejected {
                    proposal_tx_id: tx_ref(proposal)?,
                    reason: reason.clone(),
                })
            }
            DisburseCmd::Execute { proposal } => {
                Kind::DisbursementExecuted(pb::DisbursementExecuted {
                    proposal_tx_id: tx_ref(proposal)?,
                })
            }
            DisburseCmd::Void { proposal, reason } => {
                Kind::DisbursementVoided(pb::DisbursementVoided {
                    proposal_tx_id: tx_ref(proposal)?,
                    reason: reason.clone(),
                })
            }
        },
        TxKind::Reverse { target, reason } => Kind::EntryReversed(pb::EntryReversed {
            target_tx_id: tx_ref(target)?,
            reason: reason.clone(),
        }),
        TxKind::Object {
            disbursement,
            text,
            document,
        } => Kind::ObjectionFiled(pb::ObjectionFiled {
            proposal_tx_id: tx_ref(disbursement)?,
            text: text.clone(),
            document_hash: optional_file_hash(document)?,
        }),
        TxKind::Answer {
            objection,
            text,
            documents,
        } => Kind::ObjectionAnswered(pb::ObjectionAnswered {
            objection_tx_id: tx_ref(objection)?,
            text: text.clone(),
            document_hashes: documents
                .iter()
                .map(|p| file_hash(p))
                .collect::<anyhow::Result<_>>()?,
        }),
        TxKind::Resolve {
            objection,
            uphold,
            reason,
            ..
        } => Kind::ObjectionResolved(pb::ObjectionResolved {
            objection_tx_id: tx_ref(objection)?,
            upheld: *uphold,
            reason: reason.clone(),
        }),
        TxKind::Policy(PolicyCmd::Change {
            threshold,
            window_days,
            approver_quorum,
            admin_quorum,
            reserve_bp,
            notice_days,
            response_days,
            reason,
        }) => Kind::PolicyChanged(pb::PolicyChanged {
            policy: Some(pb::Policy {
                approval_threshold_fen: parse_yuan(threshold)?,
                approver_quorum: *approver_quorum,
                admin_quorum: *admin_quorum,
                reserve_ratio_bp: *reserve_bp,
                approval_window_days: *window_days,
                notice_days: *notice_days,
                objection_response_days: *response_days,
            }),
            reason: reason.clone(),
        }),
        TxKind::Project(ProjectCmd::Complete { id, memo, document }) => {
            Kind::ProjectCompleted(pb::ProjectCompleted {
                project_id: id.clone(),
                memo: memo.clone(),
                document_hash: optional_file_hash(document)?,
            })
        }
        TxKind::Project(ProjectCmd::Evaluate {
            id,
            satisfied,
            comment,
            report,
            ..
        }) => Kind::ProjectEvaluated(pb::ProjectEvaluated {
            project_id: id.clone(),
            satisfied: *satisfied,
            comment: comment.clone(),
            report_hash: optional_file_hash(report)?,
        }),
        TxKind::Project(ProjectCmd::Accept { id, memo }) => {
            Kind::ProjectAccepted(pb::ProjectAccepted {
                project_id: id.clone(),
                memo: memo.clone(),
            })
        }
        TxKind::Project(ProjectCmd::Close { id, memo }) => Kind::ProjectClosed(pb::ProjectClosed {
            project_id: id.clone(),
            memo: memo.clone(),
        }),
        TxKind::Annotate {
            target,
            note,
            document,
        } => Kind::EntryAnnotated(pb::EntryAnnotated {
            target_tx_id: tx_ref(target)?,
            note: note.clone(),
            document_hash: document
                .as_deref()
                .map(file_hash)
                .transpose()?
                .unwrap_or_default(),
        }),
    })
}

/// What ended a disbursement (paid, rejected, voided, reversed): the entry, its time, its
/// reason and who signed it, by name.
async fn ending(
    client: &mut LedgerClient,
    names: &std::collections::HashMap<String, String>,
    sequence: u64,
) -> Result<String, Failure> {
    let e = client.entry(sequence).await?;
    let env = pb::SignedEnvelope::decode(e.envelope.as_slice()).ok();
    let tx = env
        .as_ref()
        .and_then(|env| ledger_core::tx::Transaction::decode(&env.body).ok())
        .ok_or_else(|| Failure::Node(format!("entry {sequence} from the node is undecodable")))?;
    let signers: Vec<String> = env
        .iter()
        .flat_map(|env| env.signatures.iter())
        .filter_map(|s| KeyId::from_slice(&s.key_id))
        .map(|k| {
            let fp = k.fingerprint();
            match names.get(&fp) {
                Some(name) => format!("{} ({fp})", printable(name)),
                None => fp,
            }
        })
        .collect();
    Ok(format!(
        "第 {sequence} 条 entry {sequence}, {}: {} — 签名 signed by {}",
        ledger_term::beijing_time(e.timestamp_ms),
        printable(&ledger_client::describe::describe(&tx)),
        signers.join(", ")
    ))
}

/// After an approval or an execution: where the disbursement stands now, in words.
async fn disbursement_status(client: &mut LedgerClient, proposal: &[u8]) -> Option<String> {
    let list = client.disbursements().await.ok()?;
    let d = list
        .disbursements
        .iter()
        .find(|d| d.proposal_tx_id == proposal)?;
    let total: u64 = d
        .amounts
        .iter()
        .try_fold(0u64, |acc, a| acc.checked_add(a.amount_fen))?;
    let (have, need) = (d.approvals.len(), d.approvals_needed as usize);
    Some(match d.state.as_str() {
        "executed" => format!(
            "已支付 paid: ¥{} → {}",
            format_yuan(total),
            printable(&d.payee_account)
        ),
        "pending" if d.notice_ends_ms > 0 => format!(
            "批准 {have}/{need}，已达法定人数：进入公示，{} 期满后（无未决异议）由财务执行 / quorum \
             reached: on public notice until then; finance executes it after, if no objection is open",
            ledger_term::beijing_time(d.notice_ends_ms)
        ),
        "pending" if have < need => format!(
            "批准 {have}/{need}：还需 {} 位居民代表批准 / {} more approvals needed",
            need - have,
            need - have
        ),
        "pending" => "待财务执行 waiting for the finance office to execute it".to_string(),
        other => format!("状态 state: {other}"),
    })
}

/// The transaction of a body built here (it was checked as it was built).
fn decoded(body: &[u8]) -> anyhow::Result<ledger_core::tx::Transaction> {
    ledger_core::tx::Transaction::decode(body).map_err(|r| anyhow::anyhow!("{r}"))
}

/// An offline build that had to ask the node (for the ledger id, or an entry number) and could
/// not: it says what to give instead.
fn offline_hint(failure: Failure) -> Failure {
    match failure {
        Failure::Node(m) => Failure::Local(anyhow::anyhow!(
            "离线构建交易需要 --ledger-id（账本标识：公示栏上有，`ledger checkpoint` 的第一行也是），\
             并用交易号而不是条目号指代交易。\n\
             building a transaction offline needs --ledger-id (the ledger's id: on the notice board, \
             and the first line of `ledger checkpoint`), and transaction ids rather than entry \
             numbers. Asking the node instead failed: {m}"
        )),
        other => other,
    }
}

/// Builds the body, checking it as the ledger will before anything is signed or sent.
fn build_body(ledger_id: &str, id: [u8; 16], kind: Kind) -> anyhow::Result<Vec<u8>> {
    build_body_at(ledger_id, id, now_ms(), kind)
}

fn build_body_at(
    ledger_id: &str,
    id: [u8; 16],
    timestamp_ms: i64,
    kind: Kind,
) -> anyhow::Result<Vec<u8>> {
    let body = build::body(ledger_id, id, timestamp_ms, kind);
    ledger_core::tx::Transaction::decode(&body).map_err(|r| anyhow::anyhow!("{r}"))?;
    Ok(body)
}

/// For a retry with `--tx-id`: the timestamp of the transaction already in the ledger under
/// that id, so the retry rebuilds exactly its body (the node then answers with the original
/// entry); `None` when the id is new. An id already used for something else is refused here.
async fn timestamp_of_earlier_try(
    client: &mut LedgerClient,
    ledger_id: &str,
    id: [u8; 16],
    kind: &Kind,
) -> Result<Option<i64>, Failure> {
    let found = client
        .raw()
        .get_entry(pb::GetEntryRequest {
            by: Some(pb::get_entry_request::By::TxId(id.to_vec())),
        })
        .await;
    let entry = match found {
        Ok(entry) => entry.into_inner(),
        Err(status) if status.code() == ledger_client::Code::NotFound => return Ok(None),
        Err(status) => return Err(Failure::Node(status.message().to_string())),
    };
    let body = pb::SignedEnvelope::decode(entry.envelope.as_slice())
        .ok()
        .and_then(|env| pb::TransactionBody::decode(env.body.as_slice()).ok());
    match body {
        Some(b) if b.ledger_id == ledger_id && b.kind.as_ref() == Some(kind) => {
            Ok(Some(b.timestamp_ms))
        }
        _ => Err(Failure::Refused(format!(
            "该交易号 {} 已用于第 {} 条的其他内容：重试必须是同一笔交易（新交易请不要用 --tx-id） / \
             transaction id {} is already entry {} with other content; a retry must repeat the \
             same transaction (or leave out --tx-id for a new one)",
            hex::encode(id),
            entry.sequence,
            hex::encode(id),
            entry.sequence
        ))),
    }
}

async fn post(
    cli: &Cli,
    client: &mut LedgerClient,
    envelope: pb::SignedEnvelope,
    notes: &Notes,
) -> Result<(), Failure> {
    let tx_id = ledger_core::tx::Transaction::decode(&envelope.body)
        .map(|t| t.tx_id.to_string())
        .unwrap_or_default();
    let raw_tx_id = ledger_core::tx::Transaction::decode(&envelope.body)
        .map(|t| t.tx_id.0)
        .ok();
    let proposal = ledger_core::tx::Transaction::decode(&envelope.body)
        .ok()
        .and_then(|t| match t.kind {
            ledger_core::tx::Kind::DisbursementApproved { proposal }
            | ledger_core::tx::Kind::DisbursementExecuted { proposal } => Some(proposal.0),
            _ => None,
        });
    let receipt = client.submit(envelope).await?;
    let status = match proposal {
        Some(p) => disbursement_status(client, &p).await,
        None => None,
    };
    if let (Some(path), Some(id)) = (&cli.receipt_out, raw_tx_id) {
        let witnessed = write_witnessed_receipt(client, id, path).await?;
        if !witnessed {
            eprintln!("注意：收据尚未经见证方联署；稍后用 `ledger fetch-receipt {tx_id} --out {}` 重新获取。/ Note: the receipt is not witnessed yet; fetch it again later with `ledger fetch-receipt {tx_id} --out {}`", path.display(), path.display());
        }
    }
    let size = ledger_core::checkpoint::SignedCheckpoint::parse(&receipt.checkpoint)
        .map(|c| c.checkpoint.tree_size)
        .unwrap_or(0);
    if cli.json {
        let v = serde_json::json!({
            "tx_id": tx_id, "sequence": receipt.sequence, "entry_hash": hex::encode(&receipt.entry_hash),
            "duplicate": receipt.duplicate, "checkpoint_size": size, "contributor_salt": notes.salt,
            "disbursement": status,
        });
        outln!("{v}");
    } else {
        let again = if receipt.duplicate {
            " （已在账本中，没有新写入 already in the ledger: nothing new was written）"
        } else {
            ""
        };
        outln!(
            "已记账 posted: 第 {} 条 entry {}, 交易号 tx {tx_id}{again}",
            receipt.sequence,
            receipt.sequence
        );
        if let Some(status) = &status {
            outln!("  {status}");
        }
        outln!(
            "  条目哈希 entry hash {}；已包含在 {size} 条的签名检查点中 covered by the signed checkpoint of {size} entries",
            hex::encode(&receipt.entry_hash)
        );
        if let Some(salt) = &notes.salt {
            outln!("  出资人盐值 contributor salt {salt}\n  请把盐值交给出资人：凭它可以证明这笔款是他们的（verifier receipt --salt）。/ Give this salt to the contributor: with it they can prove this payment is theirs.");
        }
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Keygen {
            out,
            role: for_role,
            name,
        } => {
            if let Some(r) = for_role {
                role(r)?;
            }
            let key = ledger_keys::generate();
            ledger_keys::write_new(out, &key).map_err(anyhow::Error::from)?;
            let public = hex::encode(key.verifying_key().as_bytes());
            let fp = ledger_keys::fingerprint(&key);
            if cli.json {
                outln!(
                    "{}",
                    serde_json::json!({ "file": out, "public_key": public, "fingerprint": fp })
                );
            } else {
                outln!(
                    "wrote {} (readable only by you)\n  public key  {public}\n  fingerprint {fp}",
                    out.display()
                );
                let role_arg = for_role
                    .as_deref()
                    .unwrap_or("<admin|finance|approver|auditor|resident>");
                let name_arg = name.as_deref().unwrap_or("…");
                outln!("把公钥交给管理员登记 / give the public key to an admin to register it:\n  ledger key register --public {public} --role {role_arg} --name \"{}\" --key <admin key>", printable(name_arg));
            }
            Ok(())
        }
        Command::Tx(kind) => {
            let keys = read_keys(&cli.keys)?;
            if keys.is_empty() {
                return Err(Failure::Local(anyhow::anyhow!(
                    "请用 --key 密钥文件 说明由谁签名（多人签名就重复） / say who signs: --key KEYFILE (repeat for several signers)"
                )));
            }
            // Everything local is checked before the node is asked anything (but entry
            // numbers are the node's to turn into transaction ids).
            let mut notes = Notes::default();
            let mut kind = kind.clone();
            let mut early = None;
            if refs::names_entries(&mut kind) {
                let mut client = connect(&cli).await?;
                refs::resolve(&mut kind, &mut client).await?;
                early = Some(client);
            }
            let kind = build_kind(&kind, &mut notes)?;
            let id = tx_id(&cli)?;
            let line = confirm_line(&cli)?;
            let mut client = match early {
                Some(c) => c,
                None => connect(&cli).await?,
            };
            let ledger_id = client.ledger_id().await?;
            let earlier = match cli.tx_id {
                Some(_) => timestamp_of_earlier_try(&mut client, &ledger_id, id, &kind).await?,
                None => None,
            };
            let body = build_body_at(&ledger_id, id, earlier.unwrap_or_else(now_ms), kind)?;
            confirm::large_amount(&decoded(&body)?, line, cli.yes)?;
            let refs: Vec<&SigningKey> = keys.iter().collect();
            post(&cli, &mut client, build::envelope(body, &refs), &notes).await
        }
        Command::Offline(OfflineCmd::Build { ledger_id, kind }) => {
            let mut notes = Notes::default();
            let mut kind = kind.clone();
            if refs::names_entries(&mut kind) {
                refs::resolve(&mut kind, &mut connect(&cli).await.map_err(offline_hint)?).await?;
            }
            let kind = build_kind(&kind, &mut notes)?;
            let id = tx_id(&cli)?;
            let ledger_id = match ledger_id {
                Some(id) => id.clone(),
                None => {
                    connect(&cli)
                        .await
                        .map_err(offline_hint)?
                        .ledger_id()
                        .await?
                }
            };
            let body = build_body(&ledger_id, id, kind)?;
            confirm::large_amount(&decoded(&body)?, confirm_line(&cli)?, cli.yes)?;
            let file = TxFile::new(body)?;
            outln!(
                "{}",
                serde_json::to_string_pretty(&file).map_err(anyhow::Error::from)?
            );
            if let Some(salt) = notes.salt {
                eprintln!(
                    "出资人盐值 contributor salt {salt}（请交给出资人 give it to the contributor）"
                );
            }
            Ok(())
        }
        Command::Offline(OfflineCmd::Sign { file }) => {
            let keys = read_keys(&cli.keys)?;
            if keys.is_empty() {
                return Err(Failure::Local(anyhow::anyhow!(
                    "请用 --key 密钥文件 说明由谁签名 / say who signs: --key KEYFILE"
                )));
            }
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("无法读取 cannot read {}", file.display()))?;
            let mut tx = TxFile::parse(&text)?;
            // What is signed is the body: show all of it, decoded from the bytes themselves.
            let body = ledger_core::tx::Transaction::decode(&tx.body()?).map_err(|r| {
                anyhow::anyhow!("文件中的交易无效 the transaction in the file is invalid: {r}")
            })?;
            eprintln!("将要签名的内容 / you are signing exactly this:");
            for (label, value) in ledger_client::describe::fields(&body) {
                eprintln!("  {label:<32} {}", printable(&value));
            }
            for key in &keys {
                tx.sign(key)?;
            }
            outln!(
                "{}",
                serde_json::to_string_pretty(&tx).map_err(anyhow::Error::from)?
            );
            Ok(())
        }
        Command::Offline(OfflineCmd::Submit { file }) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("无法读取 cannot read {}", file.display()))?;
            let tx = TxFile::parse(&text)?;
            let mut client = connect(&cli).await?;
            post(&cli, &mut client, tx.envelope()?, &Notes::default()).await
        }
        Command::Import { file, batch } => {
            let keys = read_keys(&cli.keys)?;
            if keys.is_empty() {
                return Err(Failure::Local(anyhow::anyhow!(
                    "请用 --key 密钥文件 说明由谁签署导入的交易 / say who signs the imported transactions: --key KEYFILE"
                )));
            }
            let mut client = connect(&cli).await?;
            import::run(&mut client, file, &keys, *batch, cli.json).await
        }
        Command::Balances { as_of } => {
            let b = connect(&cli).await?.balances(*as_of).await?;
            if cli.json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&balances_json(&b))
                        .map_err(anyhow::Error::from)?
                );
                return Ok(());
            }
            outln!(
                "余额（元），截至第 {} 条 balances after {} entries (yuan)",
                b.tree_size,
                b.tree_size
            );
            outln!(
                "{:<24} {:<10} {:<15} {:>18} {:>18}",
                "account",
                "kind",
                "source",
                "balance",
                "held"
            );
            for a in &b.accounts {
                for s in &a.balance {
                    let held = a
                        .held
                        .iter()
                        .find(|h| h.source == s.source)
                        .map(|h| h.amount_fen)
                        .unwrap_or(0);
                    outln!(
                        "{:<24} {:<10} {:<15} {:>18} {:>18}",
                        printable(&a.account_id),
                        a.kind,
                        source_name(s.source),
                        format_yuan(s.amount_fen),
                        format_yuan(held)
                    );
                }
            }
            outln!("\n各来源收到资金 received per source:");
            for s in &b.received {
                outln!(
                    "  {:<15} {:>18}",
                    source_name(s.source),
                    format_yuan(s.amount_fen)
                );
            }
            Ok(())
        }
        Command::Projects => {
            let p = connect(&cli).await?.projects().await?;
            if cli.json {
                let v: Vec<_> = p.projects.iter().map(|p| serde_json::json!({
                    "project_id": p.project_id, "name": p.name, "stage": p.stage,
                    "evaluations": p.evaluations.iter().map(|e| serde_json::json!({"key": e.key, "role": pb::Role::try_from(e.role).map(|r| r.as_str_name()).unwrap_or("?"), "satisfied": e.satisfied, "comment": e.comment})).collect::<Vec<_>>(),
                    "figures": p.figures.iter().map(|f| serde_json::json!({"source": source_name(f.source), "budget_fen": f.budget_fen, "allocated_fen": f.allocated_fen, "spent_fen": f.spent_fen, "held_fen": f.held_fen, "remaining_fen": f.remaining_fen})).collect::<Vec<_>>(),
                })).collect();
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&v).map_err(anyhow::Error::from)?
                );
                return Ok(());
            }
            for p in &p.projects {
                outln!(
                    "{} — {} [{}]",
                    printable(&p.project_id),
                    printable(&p.name),
                    stage_words(&p.stage)
                );
                for e in &p.evaluations {
                    outln!(
                        "  评价 evaluation {} {}: {} {}",
                        pb::Role::try_from(e.role)
                            .map(|r| r.as_str_name())
                            .unwrap_or("?"),
                        e.key,
                        if e.satisfied {
                            "满意/合格 satisfied"
                        } else {
                            "不满意/不合格 not satisfied"
                        },
                        printable(&e.comment)
                    );
                }
                outln!(
                    "  {:<15} {:>16} {:>16} {:>16} {:>16} {:>16}",
                    "source",
                    "budget",
                    "allocated",
                    "spent",
                    "held",
                    "remaining"
                );
                for f in &p.figures {
                    outln!(
                        "  {:<15} {:>16} {:>16} {:>16} {:>16} {:>16}",
                        source_name(f.source),
                        format_yuan(f.budget_fen),
                        format_yuan(f.allocated_fen),
                        format_yuan(f.spent_fen),
                        format_yuan(f.held_fen),
                        format_yuan(f.remaining_fen)
                    );
                }
            }
            Ok(())
        }
        Command::Disbursements => {
            let mut client = connect(&cli).await?;
            let d = client.disbursements().await?;
            let names: std::collections::HashMap<String, String> = client
                .keys()
                .await?
                .keys
                .into_iter()
                .map(|k| (k.fingerprint, k.name))
                .collect();
            if d.disbursements.is_empty() && !cli.json {
                outln!("暂无支出申请 / no disbursements yet");
            }
            for d in &d.disbursements {
                // Checked: the amounts are what the node says, not yet verified.
                let total = d
                    .amounts
                    .iter()
                    .try_fold(0u64, |acc, a| acc.checked_add(a.amount_fen))
                    .ok_or_else(|| {
                        Failure::Local(anyhow::anyhow!(
                            "the node sent amounts that do not add up in 64 bits; it is not a correct node"
                        ))
                    })?;
                if cli.json {
                    outln!(
                        "{}",
                        serde_json::json!({"proposal_tx_id": hex::encode(&d.proposal_tx_id), "project": d.project_id, "payee": d.payee_account, "total_fen": total, "state": d.state, "approvals": d.approvals, "approvals_needed": d.approvals_needed, "memo": d.memo, "notice_ends_ms": d.notice_ends_ms, "objections": d.objections.iter().map(|o| serde_json::json!({"objection_tx_id": hex::encode(&o.objection_tx_id), "state": o.state, "text": o.text, "filed_by": o.filed_by, "response_due_ms": o.response_due_ms, "answer": o.answer})).collect::<Vec<_>>()})
                    );
                } else {
                    let approvals = if d.approvals_needed == 0 {
                        "低于审批门槛 below the threshold".to_string()
                    } else {
                        format!(
                            "批准 approvals {}/{}",
                            d.approvals.len(),
                            d.approvals_needed
                        )
                    };
                    outln!(
                        "{} {:<9} {:>16} 元 {} → {} {approvals} {}",
                        hex::encode(&d.proposal_tx_id),
                        d.state,
                        format_yuan(total),
                        printable(&d.project_id),
                        printable(&d.payee_account),
                        printable(&d.memo)
                    );
                    print_notice(d);
                    if d.ended_at > 0 {
                        outln!("    {}", ending(&mut client, &names, d.ended_at).await?);
                    }
                }
            }
            Ok(())
        }
        Command::Keys => {
            let k = connect(&cli).await?.keys().await?;
            for k in &k.keys {
                let role = pb::Role::try_from(k.role)
                    .map(|r| r.as_str_name())
                    .unwrap_or("?");
                if cli.json {
                    outln!(
                        "{}",
                        serde_json::json!({"fingerprint": k.fingerprint, "public_key": hex::encode(&k.public_key), "role": role, "name": k.name, "registered_at": k.registered_at, "revoked": k.revoked})
                    );
                } else {
                    outln!(
                        "{} {:<14} {:<8} {}",
                        k.fingerprint,
                        role.trim_start_matches("ROLE_").to_lowercase(),
                        if k.revoked { "revoked" } else { "active" },
                        printable(&k.name)
                    );
                }
            }
            Ok(())
        }
        Command::Entries {
            from,
            before,
            limit,
        } => entries(&cli, *from, *before, *limit).await,
        Command::Checkpoint => {
            let mut client = connect(&cli).await?;
            let cp = client.checkpoint().await?;
            let node_key = ed25519_dalek::VerifyingKey::from_bytes(
                cp.node_public_key.as_slice().try_into().unwrap_or(&[0; 32]),
            )
            .ok();
            // Computed here from entry 0, not taken from the node.
            let genesis = client.entry(0).await?;
            let ledger_fp = genesis
                .prev_hash
                .as_slice()
                .try_into()
                .ok()
                .map(|prev_hash| {
                    ledger_core::entry::ledger_fingerprint(&ledger_core::entry::Entry {
                        sequence: genesis.sequence,
                        prev_hash,
                        timestamp_ms: genesis.timestamp_ms,
                        envelope: genesis.envelope.clone(),
                    })
                });
            if cli.json {
                outln!(
                    "{}",
                    serde_json::json!({"tree_size": cp.tree_size, "root": hex::encode(&cp.root_hash), "text": cp.text, "node_public_key": hex::encode(&cp.node_public_key), "node_fingerprint": node_key.map(|k| KeyId::of(&k).fingerprint()), "ledger_fingerprint": ledger_fp})
                );
            } else {
                if let Some(fp) = &ledger_fp {
                    outln!("ledger fingerprint {fp} (账本指纹, computed here from entry 0: compare it with the notice board)\n");
                }
                for line in cp.text.lines() {
                    outln!("{}", printable(line));
                }
                if let Some(k) = node_key {
                    outln!(
                        "\nnode public key {} (fingerprint {})",
                        hex::encode(k.as_bytes()),
                        KeyId::of(&k).fingerprint()
                    );
                }
            }
            Ok(())
        }
        Command::FetchReceipt { tx_id, out } => {
            let mut client = connect(&cli).await?;
            let tx_id = match tx_id.trim().parse::<u64>() {
                Ok(number) if tx_id.trim().len() < 20 => {
                    refs::tx_id_at(&mut client, number).await?
                }
                _ => tx_id.clone(),
            };
            let id: [u8; 16] = tx_ref(&tx_id)?.try_into().expect("16 bytes");
            let witnessed = write_witnessed_receipt(&mut client, id, out).await?;
            if witnessed {
                outln!("已写入经见证的收据 wrote the witnessed receipt to {}; 核对 check it with: verifier receipt {} --trust <公示栏上的账本指纹 ledger fingerprint>", out.display(), out.display());
            } else {
                outln!("已写入收据 wrote the receipt to {}, 但见证方尚未联署 but the witnesses have not cosigned it yet: run this again in a minute", out.display());
            }
            Ok(())
        }
        Command::Proof { sequence } => {
            let p = connect(&cli).await?.inclusion_proof(*sequence, 0).await?;
            let hashes: Vec<String> = p.hashes.iter().map(hex::encode).collect();
            if cli.json {
                outln!(
                    "{}",
                    serde_json::json!({"sequence": p.sequence, "tree_size": p.tree_size, "leaf_hash": hex::encode(&p.leaf_hash), "hashes": hashes})
                );
            } else {
                outln!(
                    "entry {} in the tree of {} entries\nleaf {}",
                    p.sequence,
                    p.tree_size,
                    hex::encode(&p.leaf_hash)
                );
                for h in hashes {
                    outln!("  {h}");
                }
            }
            Ok(())
        }
        Command::Snapshot(SnapshotCmd::Export { file }) => {
            let mut client = connect(&cli).await?;
            let (witnessed, size) = client
                .wait_witnessed(std::time::Duration::from_secs(30))
                .await?;
            if witnessed < size {
                eprintln!(
                    "注意：见证方只联署了前 {witnessed} 条（共 {size} 条），快照只含已见证的部分。/ Note: the witnesses have cosigned {witnessed} of {size} entries; the snapshot holds only those."
                );
            }
            let tmp = file.with_extension("partial");
            let mut out = std::io::BufWriter::new(
                std::fs::File::create(&tmp)
                    .with_context(|| format!("cannot create {}", tmp.display()))?,
            );
            let bytes = client.export_snapshot(&mut out).await?;
            use std::io::Write;
            out.flush().map_err(anyhow::Error::from)?;
            drop(out);
            std::fs::rename(&tmp, file).map_err(anyhow::Error::from)?;
            if cli.json {
                outln!("{}", serde_json::json!({"file": file, "bytes": bytes}));
            } else {
                outln!("已写入 wrote {} ({bytes} bytes); 核对 check it with: verifier verify {} --trust <公示栏上的账本指纹 ledger fingerprint from the notice board>", file.display(), file.display());
            }
            Ok(())
        }
        Command::Report {
            period,
            trust,
            out,
            statement_lang,
        } => report(&cli, period, trust, out, statement_lang).await,
        Command::Watch {
            from,
            kinds,
            accounts,
        } => {
            let mut client = connect(&cli).await?;
            let request = pb::SubscribeRequest {
                start: if from.is_some() {
                    pb::subscribe_request::Start::FromSequence
                } else {
                    pb::subscribe_request::Start::OnlyNew
                } as i32,
                from_sequence: from.unwrap_or(0),
                kinds: kinds.clone(),
                accounts: accounts.clone(),
                projects: vec![],
            };
            let mut stream = client.subscribe(request).await?;
            while let Some(event) = stream.next().await {
                match event? {
                    pb::subscribe_event::Event::Entry(e) => print_entry(&e, cli.json),
                    pb::subscribe_event::Event::Checkpoint(c) if cli.json => outln!(
                        "{}",
                        serde_json::json!({"type": "checkpoint", "tree_size": c.tree_size, "root": hex::encode(&c.root_hash)})
                    ),
                    pb::subscribe_event::Event::CaughtUp(c) if cli.json => outln!(
                        "{}",
                        serde_json::json!({"type": "caught_up", "tree_size": c.tree_size})
                    ),
                    _ => {}
                }
            }
            Err(Failure::Node(
                "节点关闭了数据流 the node closed the stream".into(),
            ))
        }
    }
}

fn source_name(value: i32) -> &'static str {
    FundSource::from_proto(value)
        .map(|s| s.slug())
        .unwrap_or("?")
}

fn balances_json(b: &pb::Balances) -> serde_json::Value {
    let amounts = |list: &[pb::SourceAmount]| {
        list.iter()
            .map(|s| serde_json::json!({"source": source_name(s.source), "fen": s.amount_fen}))
            .collect::<Vec<_>>()
    };
    serde_json::json!({
        "tree_size": b.tree_size,
        "accounts": b.accounts.iter().map(|a| serde_json::json!({"account_id": a.account_id, "kind": a.kind, "name": a.name, "balance": amounts(&a.balance), "held": amounts(&a.held)})).collect::<Vec<_>>(),
        "received": amounts(&b.received),
    })
}

/// `ledger entries`: newest first, or oldest first from `--from`, saying how to see more.
async fn entries(
    cli: &Cli,
    from: Option<u64>,
    before: Option<u64>,
    limit: u64,
) -> Result<(), Failure> {
    let mut client = connect(cli).await?;
    let size = client.checkpoint().await?.tree_size;
    let limit = limit.max(1);
    let (start, newest_first) = match from {
        Some(from) => (from, false),
        None => (before.unwrap_or(size).min(size).saturating_sub(limit), true),
    };
    let end = match from {
        Some(from) => from.saturating_add(limit).min(size),
        None => before.unwrap_or(size).min(size),
    };
    let mut list = Vec::new();
    if start < end {
        let mut stream = client.entries(start, end - start).await?;
        while let Some(e) = stream.next().await {
            list.push(e?);
        }
    }
    if newest_first {
        list.reverse();
    }
    for e in &list {
        print_entry(e, cli.json);
    }
    if cli.json {
        return Ok(());
    }
    if list.is_empty() {
        outln!(
            "（没有条目 no entries here: the ledger has {size} entries, numbered 0 to {})",
            size.saturating_sub(1)
        );
    } else if newest_first && start > 0 {
        outln!("……共 {size} 条，更早的 / {size} entries in all; older ones: ledger entries --before {start}");
    } else if !newest_first && end < size {
        outln!("……共 {size} 条，之后的 / {size} entries in all; next ones: ledger entries --from {end}");
    }
    Ok(())
}

fn print_entry(e: &pb::Entry, json: bool) {
    let decoded = pb::SignedEnvelope::decode(e.envelope.as_slice())
        .ok()
        .and_then(|env| {
            let tx = ledger_core::tx::Transaction::decode(&env.body).ok()?;
            let signers: Vec<String> = env
                .signatures
                .iter()
                .filter_map(|s| KeyId::from_slice(&s.key_id))
                .map(|k| k.fingerprint())
                .collect();
            Some((tx, signers))
        });
    let (kind, tx_id, summary, signers) = match &decoded {
        Some((tx, signers)) => (
            tx.kind.name(),
            tx.tx_id.to_string(),
            ledger_client::describe::describe(tx),
            signers.clone(),
        ),
        None => ("?", String::new(), "(undecodable)".to_string(), vec![]),
    };
    if json {
        let mut v = serde_json::json!({"type": "entry", "sequence": e.sequence, "timestamp_ms": e.timestamp_ms, "kind": kind, "tx_id": tx_id, "summary": summary, "signers": signers, "entry_hash": hex::encode(&e.entry_hash)});
        if let (Some((tx, _)), Some(obj)) = (&decoded, v.as_object_mut()) {
            obj.extend(entry_json::fields(tx));
        }
        outln!("{v}");
    } else {
        outln!(
            "#{:<5} {}  {:<22} {}\n       交易号 tx {tx_id}  签名 signed by [{}]",
            e.sequence,
            ledger_term::beijing_time(e.timestamp_ms),
            kind,
            printable(&summary),
            signers.join(" ")
        );
    }
}
