//! Creating ledgers: the development ledger an empty data directory gets, a real ledger from a
//! genesis file, and the demo community ledger built from the seed documents' example.

use std::path::{Path, PathBuf};

use anyhow::Context;
use ed25519_dalek::SigningKey;
use ledger_core::build;
use ledger_core::hashing::{contributor_commitment, document_hash};
use ledger_core::proto::{self, transaction_body::Kind};
use ledger_core::state::{FundSource, Role};
use prost::Message;

use crate::engine;
use crate::witnessing::LOCAL_WITNESSES_DIR;
use ledger_core::checkpoint::WitnessKey;

pub const NODE_KEY_FILE: &str = "node.key";

pub fn node_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(NODE_KEY_FILE)
}

/// What a data directory holds, decided before anything is created in it.
#[derive(Debug, PartialEq, Eq)]
pub enum DataDir {
    /// A ledger log with content: open it.
    Ledger,
    /// Nothing of a ledger (missing, empty, or left by a creation that never wrote its log).
    Fresh { existed: bool },
}

/// Decides what `data_dir` holds. A directory that holds a node key, keys or an index but no
/// usable log once held a ledger (or belongs to something else): it is an error, never a place
/// to create a new ledger, because a new ledger there would be signed with the community's key.
pub fn inspect(data_dir: &Path) -> anyhow::Result<DataDir> {
    let log = data_dir.join(crate::store::LOG_FILE);
    if std::fs::metadata(&log)
        .map(|m| m.len() > 0)
        .unwrap_or(false)
    {
        return Ok(DataDir::Ledger);
    }
    let names: Vec<String> = match std::fs::read_dir(data_dir) {
        Ok(dir) => dir
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot list {}", data_dir.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(DataDir::Fresh { existed: false })
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", data_dir.display())),
    };
    // Nothing here is ever deleted or replaced: a node key without a log may be a real
    // ledger's whose log was lost, and only a person can tell.
    let found: Vec<&String> = names
        .iter()
        .filter(|n| *n != crate::store::LOG_FILE)
        .collect();
    if found.is_empty() {
        return Ok(DataDir::Fresh { existed: true });
    }
    let log_state = if log.exists() {
        "is empty"
    } else {
        "is missing"
    };
    anyhow::bail!(
        "数据目录 {dir} 中有 {found}，但账本日志不存在或为空：这里曾保存过账本，节点不会在此新建账本。\
         请从备份恢复 {log}，或指定另一个 --data-dir。\n\
         {dir} holds {found} but its ledger log {log_state}. A ledger was kept here, so the node \
         will not create a new one over it. Restore {log} from a backup; or, if this directory \
         is not a ledger's (a development ledger whose first start was cut off before it wrote \
         its log), move it away yourself or give another --data-dir.",
        dir = data_dir.display(),
        found = found.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
        log = log.display(),
    )
}

/// Says loudly that a new development ledger is about to be made, and where.
fn announce_new_ledger(data_dir: &Path, existed: bool) {
    let shown = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let how = if existed {
        "is empty"
    } else {
        "does not exist"
    };
    eprintln!(
        "\n==================================================================\n\
         注意：数据目录 {path} {zh}，正在新建一个开发测试账本（新的节点密钥）。\n\
         如果您要打开已有的账本，请立即停止（Ctrl-C）并检查 --data-dir。\n\
         NOTICE: the data directory {path} {how}: creating a NEW development ledger\n\
         (with a new node key). If you meant an existing ledger, stop now (Ctrl-C) and\n\
         check --data-dir.\n\
         ==================================================================\n",
        path = shown.display(),
        zh = if existed { "是空的" } else { "不存在" },
    );
}

fn random_tx_id() -> [u8; 16] {
    let mut id = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut id);
    id
}

fn ensure_node_key(data_dir: &Path) -> anyhow::Result<SigningKey> {
    let path = node_key_path(data_dir);
    if path.exists() {
        return Ok(ledger_keys::read(&path)?);
    }
    let key = ledger_keys::generate();
    ledger_keys::write_new(&path, &key)?;
    Ok(key)
}

fn default_policy() -> proto::Policy {
    proto::Policy {
        approval_threshold_fen: 1_000_000,
        approver_quorum: 2,
        admin_quorum: 1,
        reserve_ratio_bp: 1000,
        approval_window_days: 30,
        notice_days: 7,
        objection_response_days: 10,
    }
}

/// Keys of a development or demo ledger, kept in `<data>/keys/`.
pub struct DevKeys {
    pub admin: SigningKey,
    pub dir: PathBuf,
}

/// Creates a development ledger in an empty data directory: node key, admin key, genesis.
pub fn create_dev_ledger(data_dir: &Path, name: &str) -> anyhow::Result<DevKeys> {
    let DataDir::Fresh { existed } = inspect(data_dir)? else {
        anyhow::bail!("{} already holds a ledger", data_dir.display());
    };
    announce_new_ledger(data_dir, existed);
    let key_dir = data_dir.join("keys");
    std::fs::create_dir_all(&key_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let node_key = ensure_node_key(data_dir)?;
    let admin = ledger_keys::generate();
    ledger_keys::write_new(&key_dir.join("admin.key"), &admin)?;
    let witnesses = make_local_witnesses(data_dir)?;
    let ledger_id = format!(
        "dev.sunshine-ledger.local/{}",
        hex::encode(&random_tx_id()[..4])
    );
    let genesis = Kind::Genesis(proto::Genesis {
        ledger_name: name.to_string(),
        currency: "CNY".into(),
        admin_keys: vec![build::public_key(&admin, Role::Admin, "development admin")],
        policy: Some(default_policy()),
        checkpoint_key: node_key.verifying_key().to_bytes().to_vec(),
        witness_quorum: witnesses.len() as u32,
        witnesses: witnesses
            .iter()
            .map(|w| proto::Witness {
                name: w.name.clone(),
                ed25519: w.key.to_bytes().to_vec(),
            })
            .collect(),
    });
    let body = build::body(&ledger_id, random_tx_id(), engine::now_ms(), genesis);
    let genesis = engine::create(data_dir, build::envelope(body, &[&admin]).encode_to_vec())?;
    let fingerprint = ledger_core::entry::ledger_fingerprint(&genesis);
    for w in &witnesses {
        let dir = data_dir
            .join(LOCAL_WITNESSES_DIR)
            .join(local_witness_dir(&w.name));
        ledger_witness::witness::add_ledger(&dir, &fingerprint, &genesis)?;
    }
    println!(
        "Created a development ledger {ledger_id} in {}",
        data_dir.display()
    );
    println!(
        "  账本指纹 ledger fingerprint: {}  (公布在公示栏上 / what a community publishes on its notice board)",
        ledger_core::entry::ledger_fingerprint(&genesis)
    );
    println!(
        "  node key:  {} (fingerprint {})",
        node_key_path(data_dir).display(),
        ledger_keys::fingerprint(&node_key)
    );
    println!(
        "  admin key: {} (fingerprint {})",
        key_dir.join("admin.key").display(),
        ledger_keys::fingerprint(&admin)
    );
    println!(
        "  演示见证方 demo witnesses: {} in {} (此节点自己运行，不证明任何事 / run by this node: they show how witnessing works and prove nothing)",
        witnesses.len(),
        data_dir.join(LOCAL_WITNESSES_DIR).display()
    );
    Ok(DevKeys {
        admin,
        dir: key_dir,
    })
}

/// The two witnesses of a development or demo ledger, which the node runs itself (so a newcomer
/// sees cosigned checkpoints at once). Run by the same operator, they prove nothing; a real
/// ledger names witnesses run by others (`ledger-witness`).
fn make_local_witnesses(data_dir: &Path) -> anyhow::Result<Vec<WitnessKey>> {
    ["township", "committee"]
        .iter()
        .map(|who| {
            let name = format!("demo-witness.sunshine-ledger.local/{who}");
            let dir = data_dir
                .join(LOCAL_WITNESSES_DIR)
                .join(local_witness_dir(&name));
            ledger_witness::witness::init(&dir, &name)
        })
        .collect()
}

fn local_witness_dir(name: &str) -> String {
    name.rsplit('/').next().unwrap_or(name).to_string()
}

/// Creates a real ledger: the genesis file names the admin public keys, and `signing_keys` (key
/// files of at least `admin_quorum` of them) sign the genesis here.
pub fn init_ledger(
    data_dir: &Path,
    genesis_path: &Path,
    signing_keys: &[PathBuf],
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(genesis_path).with_context(|| {
        format!(
            "无法读取创世文件 cannot read the genesis file {}",
            genesis_path.display()
        )
    })?;
    let g = crate::genesis_file::parse(&text)
        .with_context(|| format!("{} 不能用 is not usable", genesis_path.display()))?;
    let signers = admin_signers(&g, genesis_path, signing_keys)?;
    // A node key made beforehand (to publish with the genesis) may be there; nothing else.
    let only_node_key = std::fs::read_dir(data_dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .all(|e| e.file_name() == NODE_KEY_FILE)
        })
        .unwrap_or(false);
    // A data directory that holds a ledger is a node's: the new ledger is added beside it
    // (`<data>/ledgers/`), even while the node runs.
    if !only_node_key && inspect(data_dir)? == DataDir::Ledger {
        return add_ledger(data_dir, &g, &signers);
    }
    std::fs::create_dir_all(data_dir)?;
    let fingerprint = create_in(data_dir, &g, &signers)?;
    let node_key = ledger_keys::read(&node_key_path(data_dir))?;
    println!(
        "已创建账本 created ledger {} ({}) in {}",
        g.ledger_id,
        g.name,
        data_dir.display()
    );
    println!(
        "  账本指纹 ledger fingerprint: {fingerprint}  (公布在公示栏上 / publish it on the notice board)"
    );
    println!(
        "  node key fingerprint: {}  (named in the genesis; it signs the checkpoints)",
        ledger_keys::fingerprint(&node_key)
    );
    println!(
        "  下一步 next: 管理员登记至少 {q} 个居民代表密钥（role approver）；在此之前，达到审批门槛的支出无法获批。\n  \
         an admin registers at least {q} representatives' keys (role approver); until then no \
         disbursement at or above the threshold can be approved:\n    \
         ledger key register --public <64 hex> --role approver --name \"…\" --key <admin key>",
        q = g.policy.approver_quorum
    );
    if !g.witnesses.is_empty() {
        println!(
            "  见证方 witnesses: {} named, {} needed. Each runs:\n    ledger-witness follow --dir <its dir> --fingerprint {fingerprint} --node <this node's gRPC URL>\n  and this node is started with --witness-url <each witness's URL>.",
            g.witnesses.len(),
            g.witness_quorum,
        );
    }
    Ok(())
}

/// Adds ledger `g` to the node whose data directory is `root` (running or not): it is made in
/// a hidden directory beside the others and renamed into `<root>/ledgers/<name>/` only once
/// whole, so a running node never opens half a ledger. Its own node key signs its checkpoints.
fn add_ledger(
    root: &Path,
    g: &crate::genesis_file::GenesisFile,
    signers: &[SigningKey],
) -> anyhow::Result<()> {
    use crate::ledgers;
    let own = crate::store::ledger_id_of(root)?;
    anyhow::ensure!(
        g.ledger_id != own,
        "{root} 中的主账本就是 {id}；新账本需要另一个 ledger_id / the node's own ledger in {root} \
         is already {id}: give the new ledger another ledger_id",
        root = root.display(),
        id = own
    );
    let target = ledgers::added_ledger_dir(root, &g.ledger_id);
    anyhow::ensure!(
        !target.exists(),
        "本节点已有账本 {id}（{dir}）；不会覆盖 / this node already has ledger {id} in {dir}; \
         refusing to create another over it",
        id = g.ledger_id,
        dir = target.display()
    );
    let parent = root.join(ledgers::LEDGERS_DIR);
    std::fs::create_dir_all(&parent)?;
    let building = parent.join(format!(
        ".new-{}-{}",
        ledgers::dir_name(&g.ledger_id),
        std::process::id()
    ));
    std::fs::create_dir(&building)
        .with_context(|| format!("cannot create {}", building.display()))?;
    let made = create_in(&building, g, signers);
    if let Err(e) = made {
        let _ = std::fs::remove_dir_all(&building);
        return Err(e);
    }
    let fingerprint = made.expect("checked");
    // A rename onto an existing directory fails unless it is empty; `target` was checked above
    // and a concurrent `init` of the same id loses here.
    if let Err(e) = std::fs::rename(&building, &target) {
        // Another `init` of the same id won the race (or the disk refused): nothing of this
        // one may stay behind, least of all its node key.
        let _ = std::fs::remove_dir_all(&building);
        anyhow::bail!(
            "无法把新账本放入 {dir}（{e}）；本节点可能已有账本 {id}，什么也没有创建 / cannot move \
             the new ledger into {dir} ({e}); this node may already have ledger {id}: nothing was \
             created",
            dir = target.display(),
            id = g.ledger_id
        );
    }
    crate::log::sync_parent_dir(&target)?;
    println!(
        "已在运行中的节点加入账本 added ledger {} ({}) to the node in {}",
        g.ledger_id,
        g.name,
        root.display()
    );
    println!("  目录 directory: {}", target.display());
    println!(
        "  账本指纹 ledger fingerprint: {fingerprint}  (公布在公示栏上 / publish it on the notice board)"
    );
    println!(
        "  请求时用 ledger-id 元数据（ledger --ledger {id}），网页 /l/{seg}/\n  \
         requests name it with ledger-id metadata (ledger --ledger {id}); its page is /l/{seg}/",
        id = g.ledger_id,
        seg = g.ledger_id.replace('/', "%2F")
    );
    if !g.witnesses.is_empty() {
        println!(
            "  见证方 witnesses: list their URLs in {}/{} (one per line); the node reads it when it opens the ledger",
            target.display(),
            ledgers::WITNESS_URLS_FILE
        );
    }
    Ok(())
}

/// Creates ledger `g` in the empty directory `dir` (a new node key, the signed genesis);
/// returns its fingerprint.
fn create_in(
    dir: &Path,
    g: &crate::genesis_file::GenesisFile,
    signers: &[SigningKey],
) -> anyhow::Result<String> {
    let node_key = ensure_node_key(dir)?;
    let genesis = Kind::Genesis(proto::Genesis {
        ledger_name: g.name.clone(),
        currency: "CNY".into(),
        admin_keys: g.admins.clone(),
        policy: Some(g.policy),
        checkpoint_key: node_key.verifying_key().to_bytes().to_vec(),
        witnesses: g.witnesses.clone(),
        witness_quorum: g.witness_quorum,
    });
    let body = build::body(&g.ledger_id, random_tx_id(), engine::now_ms(), genesis);
    let refs: Vec<&SigningKey> = signers.iter().collect();
    let genesis = engine::create(dir, build::envelope(body, &refs).encode_to_vec())?;
    Ok(ledger_core::entry::ledger_fingerprint(&genesis).to_string())
}

/// Reads the admin key files that sign the genesis: each must be one of the file's `[[admin]]`
/// keys (named, with its fingerprint, when it is not), and together at least `admin_quorum`.
fn admin_signers(
    g: &crate::genesis_file::GenesisFile,
    genesis_path: &Path,
    signing_keys: &[PathBuf],
) -> anyhow::Result<Vec<SigningKey>> {
    let mut signers = Vec::new();
    for path in signing_keys {
        let key = ledger_keys::read(path)?;
        let public = key.verifying_key().to_bytes();
        if !g.admins.iter().any(|a| a.ed25519 == public) {
            anyhow::bail!(
                "密钥文件 {file}（指纹 {fp}，公钥 {hex}）不是 {genesis} 中的管理员：把它的公钥加入一个 [[admin]]，或换用其中一位管理员的密钥。\n\
                 the key file {file} (fingerprint {fp}, public key {hex}) is not one of the [[admin]] \
                 keys in {genesis}: add its public key to an [[admin]] block, or sign with an admin's key file",
                file = path.display(),
                fp = ledger_keys::fingerprint(&key),
                hex = hex::encode(public),
                genesis = genesis_path.display(),
            );
        }
        if !signers
            .iter()
            .any(|s: &SigningKey| s.verifying_key() == key.verifying_key())
        {
            signers.push(key);
        }
    }
    anyhow::ensure!(
        signers.len() >= g.policy.admin_quorum as usize,
        "创世需要 {q} 位管理员签名（admin_quorum），只给了 {n} 个不同的 --admin-key / the genesis \
         needs {q} admins' signatures (admin_quorum) and {n} distinct --admin-key files were given",
        q = g.policy.admin_quorum,
        n = signers.len()
    );
    Ok(signers)
}

const YUAN: u64 = 100;

/// The demo community's story, from the seed documents: an elevator for an old building paid
/// by fiscal 600,000, social capital 400,000 and residents 200,000 yuan, plus crowdfunding.
pub fn demo_transactions(
    ledger_id: &str,
    keys: &DevKeys,
) -> anyhow::Result<Vec<proto::SignedEnvelope>> {
    let mut role_keys = Vec::new();
    for (file, _, _) in DEMO_KEYS {
        let path = keys.dir.join(file);
        let key = if path.exists() {
            ledger_keys::read(&path)?
        } else {
            let k = ledger_keys::generate();
            ledger_keys::write_new(&path, &k)?;
            k
        };
        role_keys.push(key);
    }
    let [finance, rep_li, rep_wang, auditor, household] = [
        &role_keys[0],
        &role_keys[1],
        &role_keys[2],
        &role_keys[3],
        &role_keys[4],
    ];
    let admin = &keys.admin;
    let now = engine::now_ms();
    let mut out = Vec::new();
    let mut tx = |kind: Kind, signers: &[&SigningKey]| -> [u8; 16] {
        let id = random_tx_id();
        out.push(build::envelope(
            build::body(ledger_id, id, now, kind),
            signers,
        ));
        id
    };
    for ((_, role, name), key) in DEMO_KEYS.iter().zip(&role_keys) {
        tx(
            Kind::KeyRegistered(proto::KeyRegistered {
                key: Some(build::public_key(key, *role, name)),
            }),
            &[admin],
        );
    }
    let pool = |id: &str, source: FundSource, name: &str| {
        Kind::AccountOpened(proto::AccountOpened {
            account_id: id.into(),
            kind: proto::AccountKind::FundPool as i32,
            source: source.to_proto() as i32,
            name: name.into(),
        })
    };
    let payee = |id: &str, name: &str| {
        Kind::AccountOpened(proto::AccountOpened {
            account_id: id.into(),
            kind: proto::AccountKind::Payee as i32,
            source: 0,
            name: name.into(),
        })
    };
    tx(
        pool("pool:fiscal", FundSource::Fiscal, "区财政专项资金"),
        &[admin],
    );
    tx(
        pool("pool:social", FundSource::SocialCapital, "社会资本合作方"),
        &[admin],
    );
    tx(
        pool("pool:resident", FundSource::Resident, "居民自筹"),
        &[admin],
    );
    tx(
        pool("pool:crowd", FundSource::Crowdfunding, "社区众筹"),
        &[admin],
    );
    tx(
        payee("payee:elevator-co", "安达电梯安装有限公司"),
        &[finance],
    );
    tx(payee("payee:design", "城建设计院"), &[finance]);
    tx(
        Kind::ProjectCreated(proto::ProjectCreated {
            project_id: "elevator-3".into(),
            name: "3号楼加装电梯".into(),
            description: "老旧小区3号楼加装电梯，含设计、设备与安装".into(),
            budget: build::source_amounts(&[
                (FundSource::Fiscal, 600_000 * YUAN),
                (FundSource::SocialCapital, 400_000 * YUAN),
                (FundSource::Resident, 200_000 * YUAN),
                (FundSource::Crowdfunding, 100_000 * YUAN),
            ]),
        }),
        &[admin],
    );
    let receipt = |source: FundSource, to: &str, yuan: u64, memo: &str, who: Option<&str>| {
        let commitment = who
            .map(|w| contributor_commitment(&[7u8; 32], w).to_vec())
            .unwrap_or_default();
        Kind::FundsReceived(proto::FundsReceived {
            source: source.to_proto() as i32,
            to_account: to.into(),
            amount_fen: yuan * YUAN,
            contributor_commitment: commitment,
            memo: memo.into(),
            document_hash: vec![],
        })
    };
    tx(
        receipt(
            FundSource::Fiscal,
            "pool:fiscal",
            600_000,
            "区财政老旧小区改造专项资金",
            None,
        ),
        &[finance],
    );
    tx(
        receipt(
            FundSource::SocialCapital,
            "pool:social",
            400_000,
            "物业企业投资（合作协议）",
            None,
        ),
        &[finance],
    );
    for (i, household) in ["3-1-101", "3-1-201", "3-1-301", "3-2-401"]
        .iter()
        .enumerate()
    {
        tx(
            receipt(
                FundSource::Resident,
                "pool:resident",
                50_000,
                &format!("住户分摊 第{}户", i + 1),
                Some(household),
            ),
            &[finance],
        );
    }
    let mistaken = tx(
        receipt(
            FundSource::Resident,
            "pool:resident",
            50_000,
            "住户分摊（重复录入）",
            Some("3-2-401"),
        ),
        &[finance],
    );
    tx(
        Kind::EntryReversed(proto::EntryReversed {
            target_tx_id: mistaken.to_vec(),
            reason: "重复录入，冲正".into(),
        }),
        &[finance],
    );
    for (i, yuan) in [30_000u64, 45_000, 25_000, 20_000].iter().enumerate() {
        tx(
            receipt(
                FundSource::Crowdfunding,
                "pool:crowd",
                *yuan,
                &format!("社区众筹 第{}批", i + 1),
                Some(&format!("众筹批次{i}")),
            ),
            &[finance],
        );
    }
    let allocate = |from: &str, source: FundSource, yuan: u64| {
        Kind::FundsAllocated(proto::FundsAllocated {
            from_account: from.into(),
            project_id: "elevator-3".into(),
            amounts: build::source_amounts(&[(source, yuan * YUAN)]),
            memo: "拨付至3号楼电梯项目".into(),
        })
    };
    tx(
        allocate("pool:fiscal", FundSource::Fiscal, 540_000),
        &[finance],
    );
    tx(
        allocate("pool:social", FundSource::SocialCapital, 360_000),
        &[finance],
    );
    tx(
        allocate("pool:resident", FundSource::Resident, 180_000),
        &[finance],
    );
    tx(
        allocate("pool:crowd", FundSource::Crowdfunding, 100_000),
        &[finance],
    );
    let proposal = |payee: &str, amounts: &[(FundSource, u64)], contract: &str, memo: &str| {
        Kind::DisbursementProposed(proto::DisbursementProposed {
            project_id: "elevator-3".into(),
            payee_account: payee.into(),
            amounts: build::source_amounts(
                &amounts
                    .iter()
                    .map(|(s, y)| (*s, y * YUAN))
                    .collect::<Vec<_>>(),
            ),
            contract_hash: document_hash(contract.as_bytes()).to_vec(),
            invoice_hash: vec![],
            memo: memo.into(),
        })
    };
    let first = tx(
        proposal(
            "payee:elevator-co",
            &[
                (FundSource::Fiscal, 300_000),
                (FundSource::SocialCapital, 200_000),
            ],
            "电梯采购安装合同 2026-017",
            "电梯设备首付款",
        ),
        &[finance],
    );
    tx(
        Kind::DisbursementApproved(proto::DisbursementApproved {
            proposal_tx_id: first.to_vec(),
        }),
        &[rep_li],
    );
    tx(
        Kind::DisbursementApproved(proto::DisbursementApproved {
            proposal_tx_id: first.to_vec(),
        }),
        &[rep_wang],
    );
    // Approved, so on public notice (公示) for 7 days; a household objects during it.
    tx(
        Kind::ObjectionFiled(proto::ObjectionFiled {
            proposal_tx_id: first.to_vec(),
            text: "电梯品牌与居民会议议定的不一致，请财务说明".into(),
            document_hash: vec![],
        }),
        &[household],
    );
    let design = tx(
        proposal(
            "payee:design",
            &[(FundSource::Fiscal, 80_000)],
            "设计服务合同 2026-009",
            "设计费",
        ),
        &[finance],
    );
    tx(
        Kind::DisbursementRejected(proto::DisbursementRejected {
            proposal_tx_id: design.to_vec(),
            reason: "报价高于市场价，请重新询价".into(),
        }),
        &[rep_wang],
    );
    tx(
        proposal(
            "payee:design",
            &[(FundSource::Crowdfunding, 45_000)],
            "设计服务合同 2026-011",
            "设计费（重新询价后）",
        ),
        &[finance],
    );
    tx(
        Kind::EntryAnnotated(proto::EntryAnnotated {
            target_tx_id: first.to_vec(),
            note: "合同与付款凭证已核对，金额一致".into(),
            document_hash: document_hash(b"audit report 2026-Q3").to_vec(),
        }),
        &[auditor],
    );
    Ok(out)
}

/// Key files of the demo's people, their roles and names.
pub const DEMO_KEYS: [(&str, Role, &str); 5] = [
    ("finance.key", Role::Finance, "街道财政所 会计"),
    ("approver-li.key", Role::Approver, "居民代表 李"),
    ("approver-wang.key", Role::Approver, "居民代表 王"),
    ("auditor.key", Role::Auditor, "第三方审计"),
    (
        "household-3-1-101.key",
        Role::Resident,
        "3号楼1单元101 住户",
    ),
];
