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
    /// Create a real ledger from a genesis file, signed here by admin key files.
    Init {
        #[arg(long)]
        genesis: PathBuf,
        /// Admin key file to sign the genesis with (repeat for each admin of the quorum).
        #[arg(long = "admin-key", required = true)]
        admin_keys: Vec<PathBuf>,
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
    },
    /// 生成新的节点签名密钥 Make a new node key file (for a rotation: --out <data>/node.key.next,
    /// then the admins sign a checkpoint_key_rotated entry naming the public key printed here).
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Rebuild the whole index from the log (the node must be stopped).
    Rebuild {
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
    },
    /// Write a snapshot file of the ledger (the node must be stopped).
    Export {
        file: PathBuf,
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        None => run(cli.serve, Path::new("./data"), false),
        Some(Command::Serve(args)) => run(args, Path::new("./data"), false),
        Some(Command::Demo(args)) => run(args, Path::new("./demo-data"), true),
        Some(Command::Init {
            genesis,
            admin_keys,
            data_dir,
        }) => bootstrap::init_ledger(&data_dir, &genesis, &admin_keys),
        Some(Command::Keygen { out }) => {
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
            let key = ledger_keys::read(&bootstrap::node_key_path(&data_dir))?;
            let (_, _, summary) = engine::open(&data_dir, key, true).context("rebuild failed")?;
            println!("rebuilt the index of {} entries", summary.entries);
            Ok(())
        }
        Some(Command::Export { file, data_dir }) => export(&data_dir, &file),
    }
}

fn run(args: ServeArgs, default_dir: &Path, demo: bool) -> anyhow::Result<()> {
    let settings = args.resolve(default_dir)?;
    let mut demo_keys = None;
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
                let txs = bootstrap::demo_transactions(&running.shared.ledger_id, &keys)?;
                let count = txs.len();
                server::submit_all(&running.queue, &running.shared, txs).await?;
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
    println!("wrote {size} entries to {}", file.display());
    Ok(())
}
