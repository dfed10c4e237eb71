//! `ledger-node`: run the Sunshine Ledger node.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use ledger_node::config::ServeArgs;
use ledger_node::{bootstrap, engine, server};

#[derive(Parser)]
#[command(
    name = "ledger-node",
    version,
    about = "Sunshine Ledger (阳光账本) node: a signed, append-only ledger of community funds over gRPC."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the ledger (the default). A data directory that does not exist or is empty gets a
    /// new development ledger, announced loudly on stderr; one that holds a node key, keys or an
    /// index but no ledger log is refused (a ledger was there: restore its log).
    Serve(ServeArgs),
    /// Serve a demo community ledger (data in ./demo-data unless --data-dir says otherwise).
    Demo(ServeArgs),
    /// 新建账本 Create a real ledger from a genesis file, signed here by admin key files.
    /// `ledger-node init --example > genesis.toml` writes a complete, commented genesis to edit.
    Init {
        /// The genesis file (TOML): the ledger's name, admins, rules and witnesses.
        #[arg(long, required_unless_present = "example")]
        genesis: Option<PathBuf>,
        /// Admin key file to sign the genesis with (repeat for each admin of the quorum).
        #[arg(long = "admin-key", required_unless_present = "example")]
        admin_keys: Vec<PathBuf>,
        /// Print a complete, commented example genesis file and stop.
        #[arg(long, conflicts_with_all = ["genesis", "admin_keys"])]
        example: bool,
        /// [default: ./data] [env: LEDGER_DATA_DIR]
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// 生成新的节点签名密钥 Make a new node key file (for a rotation: --out <data>/node.key.next,
    /// then the admins sign a checkpoint_key_rotated entry naming the public key printed here).
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Rebuild the whole index from the log (the node must be stopped).
    Rebuild {
        /// [default: ./data] [env: LEDGER_DATA_DIR]
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Write a snapshot file of the ledger (the node must be stopped; while it runs, download
    /// http://<node>:8080/snapshot or use `ledger snapshot export`).
    Export {
        file: PathBuf,
        /// [default: ./data] [env: LEDGER_DATA_DIR]
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into a log file or journal.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let before = cli.serve;
    match cli.command {
        None => run(before, Path::new("./data"), false),
        Some(Command::Serve(args)) => run(args.merge(before)?, Path::new("./data"), false),
        Some(Command::Demo(args)) => run(args.merge(before)?, Path::new("./demo-data"), true),
        Some(Command::Init { example: true, .. }) => {
            print!("{}", ledger_node::genesis_file::EXAMPLE);
            Ok(())
        }
        Some(Command::Init {
            genesis,
            admin_keys,
            data_dir,
            ..
        }) => bootstrap::init_ledger(
            &data_dir_of(data_dir, before)?,
            &genesis.expect("clap: required without --example"),
            &admin_keys,
        ),
        Some(Command::Keygen { out }) => {
            only_data_dir(&before, "keygen")?;
            let key = ledger_keys::generate();
            ledger_keys::write_new(&out, &key)?;
            println!("已生成 wrote {}", out.display());
            println!(
                "  公钥 public key: {}",
                hex::encode(key.verifying_key().as_bytes())
            );
            println!("  指纹 fingerprint: {}", ledger_keys::fingerprint(&key));
            Ok(())
        }
        Some(Command::Rebuild { data_dir }) => {
            let data_dir = data_dir_of(data_dir, before)?;
            let key = ledger_keys::read(&bootstrap::node_key_path(&data_dir))?;
            let (_, _, summary) = engine::open(&data_dir, key, true).context("rebuild failed")?;
            println!(
                "已重建 {n} 条的索引 rebuilt the index of {n} entries",
                n = summary.entries
            );
            Ok(())
        }
        Some(Command::Export { file, data_dir }) => export(&data_dir_of(data_dir, before)?, &file),
    }
}

/// The data directory of a command that does not serve: its own --data-dir, or one written
/// before the command, or LEDGER_DATA_DIR, or ./data. Serving flags there are refused rather
/// than silently ignored.
fn data_dir_of(own: Option<PathBuf>, before: ServeArgs) -> anyhow::Result<PathBuf> {
    only_data_dir(&before, "this command")?;
    let before = before.data_dir;
    if let (Some(a), Some(b)) = (&own, &before) {
        anyhow::ensure!(
            a == b,
            "--data-dir 给了两个不同的值 given twice with different values: {} and {}",
            b.display(),
            a.display()
        );
    }
    Ok(own
        .or(before)
        .or_else(|| std::env::var_os("LEDGER_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("./data")))
}

fn only_data_dir(before: &ServeArgs, command: &str) -> anyhow::Result<()> {
    let given = before.given();
    anyhow::ensure!(
        given.is_empty(),
        "{} 只用于 serve 和 demo / {} only apply to serve and demo, not to {command}",
        given
            .iter()
            .map(|g| format!("--{}", g.replace('_', "-")))
            .collect::<Vec<_>>()
            .join(" "),
        given
            .iter()
            .map(|g| format!("--{}", g.replace('_', "-")))
            .collect::<Vec<_>>()
            .join(" "),
    );
    Ok(())
}

fn run(args: ServeArgs, default_dir: &Path, demo: bool) -> anyhow::Result<()> {
    let settings = args.resolve(default_dir)?;
    let mut demo_keys = None;
    if let Some(store) = &settings.store {
        ledger_node::pg::copy_genesis_if_absent(store, &settings.data_dir)?;
    }
    if bootstrap::inspect(&settings.data_dir)? != bootstrap::DataDir::Ledger {
        let name = if demo {
            "幸福里社区共同缔造基金（演示）"
        } else {
            "开发测试账本 development ledger"
        };
        demo_keys = Some(bootstrap::create_dev_ledger(&settings.data_dir, name)?);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let running = server::start(&settings)?;
        if demo {
            if let Some(keys) = demo_keys {
                let ledger = &running.ledger;
                let txs = bootstrap::demo_transactions(&ledger.shared.ledger_id, &keys)?;
                let count = txs.len();
                let queue = ledger.queue().expect("a ledger just opened has its writer");
                server::submit_all(&queue, &ledger.shared, txs).await?;
                println!(
                    "demo ledger filled with {count} transactions; keys in {}",
                    keys.dir.display()
                );
            }
        }
        server::serve(settings, running, server::shutdown_signal()).await
    })
}

fn export(data_dir: &Path, file: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let key = ledger_keys::read(&bootstrap::node_key_path(data_dir))?;
    let (shared, _writer, _) = engine::open(data_dir, key, false)?;
    ledger_node::witnessing::restore(&shared, data_dir);
    let (size, checkpoint, witnessed, key) = shared.snapshot_point();
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(file).with_context(|| format!("cannot create {}", file.display()))?,
    );
    out.write_all(&ledger_core::snapshot::encode_header(
        &ledger_core::snapshot::Header {
            ledger_id: shared.ledger_id.clone(),
            node_public_key: key.to_bytes(),
            entry_count: size,
            witnessed,
        },
    ))?;
    let mut buf = Vec::new();
    for seq in 0..size {
        let (entry, _) = shared.read_entry(seq)?;
        buf.clear();
        ledger_core::snapshot::encode_entry_frame(&entry, &mut buf);
        out.write_all(&buf)?;
    }
    out.write_all(&ledger_core::snapshot::encode_trailer(&checkpoint))?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    println!(
        "已写入 {size} 条 wrote {size} entries to {}",
        file.display()
    );
    Ok(())
}
