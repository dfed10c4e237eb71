//! `ledger-witness`: set up a witness, follow a ledger, serve. Dispatch only; the work is in
//! the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use ledger_core::checkpoint::witness_vkey;
use ledger_core::entry::Entry;
use ledger_witness::witness::{self, Witness};

/// 阳光账本见证方 Sunshine Ledger witness: cosigns a ledger's checkpoints only when they extend
/// what it cosigned before (C2SP tlog-witness), so the node cannot show two histories.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// 新建见证方 Make a witness directory with a new key; prints the key for the genesis.
    Init {
        /// The witness's directory [e.g. ./witness-data]
        #[arg(long)]
        dir: PathBuf,
        /// Its C2SP key name, e.g. witness.example/township (no spaces, no '+')
        #[arg(long)]
        name: String,
    },
    /// 见证一个账本 Follow a ledger: fetch its genesis from a node and check it against the
    /// ledger fingerprint from the notice board.
    Follow {
        #[arg(long)]
        dir: PathBuf,
        /// The ledger fingerprint (账本指纹) from the notice board
        #[arg(long)]
        fingerprint: String,
        /// The node's gRPC address, e.g. http://127.0.0.1:50051
        #[arg(long)]
        node: String,
        /// Which ledger of a node that serves several (its ledger id); the node's own when not
        /// given. The ledger read must still have --fingerprint.
        #[arg(long)]
        ledger: Option<String>,
        /// 重放模式 Keep the whole log (fetched from --node) and run the fund rules over it:
        /// never cosign a checkpoint over entries the rules refuse; follows key rotations
        #[arg(long)]
        replay: bool,
    },
    /// 更换信任的节点密钥 After the ledger's admins rotated its checkpoint key (check the entry
    /// first: `verifier verify` lists the checkpoint keys), accept only the new key. Restart
    /// `serve` afterwards.
    TrustKey {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        fingerprint: String,
        /// The new checkpoint key, 64 hex digits
        #[arg(long)]
        key: String,
    },
    /// 提供见证服务 Serve C2SP add-checkpoint and the latest cosigned checkpoints.
    Serve {
        #[arg(long)]
        dir: PathBuf,
        /// Address to listen on
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: SocketAddr,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Init { dir, name } => {
            let key = witness::init(&dir, &name)?;
            println!("见证方已建立 witness created in {}", dir.display());
            println!("  名称 name: {}", key.name);
            println!(
                "  公钥 public key (hex, for the genesis's [[witness]]): {}",
                hex::encode(key.key.as_bytes())
            );
            println!("  vkey (for verifier --witness): {}", witness_vkey(&key));
            Ok(())
        }
        Command::Follow {
            dir,
            fingerprint,
            node,
            ledger,
            replay,
        } => runtime()?.block_on(follow(dir, fingerprint, (node, ledger), replay)),
        Command::TrustKey {
            dir,
            fingerprint,
            key,
        } => {
            let bytes = hex::decode(key.trim()).context("--key is not hex")?;
            let key = ledger_core::signing::parse_public_key(&bytes)
                .map_err(|e| anyhow::anyhow!("--key: {e}"))?;
            witness::trust_key(&dir, &fingerprint, &key)?;
            println!("见证方今后只接受该节点密钥 the witness now accepts checkpoints of {fingerprint} signed by this key only; restart `ledger-witness serve`");
            Ok(())
        }
        Command::Serve { dir, listen } => runtime()?.block_on(serve(dir, listen)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

async fn follow(
    dir: PathBuf,
    fingerprint: String,
    (node, ledger): (String, Option<String>),
    replay: bool,
) -> anyhow::Result<()> {
    Witness::open(&dir)?;
    let mut client = ledger_client::LedgerClient::connect(&node, None)
        .await?
        .for_ledger(ledger.as_deref())?;
    let e = client
        .entry(0)
        .await
        .context("cannot read entry 0 from the node")?;
    let genesis = Entry {
        sequence: e.sequence,
        prev_hash: e
            .prev_hash
            .as_slice()
            .try_into()
            .context("entry 0 from the node is malformed")?,
        timestamp_ms: e.timestamp_ms,
        envelope: e.envelope,
    };
    anyhow::ensure!(
        genesis.sequence == 0,
        "the node answered with another entry than 0"
    );
    let origin = witness::add_ledger(&dir, &fingerprint, &genesis)?;
    if replay {
        witness::enable_replay(&dir, &fingerprint, &node)?;
        println!("重放模式 replay mode: the witness keeps the whole log and runs its rules before it cosigns");
    }
    println!("见证方现在见证账本 the witness now follows ledger {origin} ({fingerprint}); restart `ledger-witness serve` to serve it");
    Ok(())
}

async fn serve(dir: PathBuf, listen: SocketAddr) -> anyhow::Result<()> {
    let witness = Arc::new(Witness::open(&dir)?);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let me = witness.public_key();
    eprintln!(
        "见证方 {} 在 http://{} 提供服务，见证 {} 个账本 / witness {} serving on http://{}, following {} ledger(s)",
        me.name,
        listener.local_addr()?,
        witness.ledgers().count(),
        me.name,
        listener.local_addr()?,
        witness.ledgers().count()
    );
    for l in witness.ledgers() {
        let size = l.held().map(|(s, _)| s).unwrap_or(0);
        eprintln!(
            "  {} {} ({}): 已见证 cosigned up to size {size}",
            l.fingerprint, l.origin, l.ledger_name
        );
    }
    ledger_witness::server::serve(listener, witness).await?;
    Ok(())
}
