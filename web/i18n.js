// The page's words in Chinese (the default: residents read Chinese) and English.

const WORDS = {
  zh: {
    title: "阳光账本",
    subtitle: "社区资金公开账本：每一分钱的来源与去向",
    switchTo: "English",
    connecting: "正在连接…",
    live: "实时",
    reconnecting: "连接中断，正在重连…",
    entries: "条记录",
    updated: "更新于",
    received: "已收到资金",
    allocated: "已拨付项目",
    allocatedShort: "已拨付",
    spent: "已支出",
    reserve: "风险准备金",
    bySource: "资金来源",
    bySourceNote: "按来源统计的到账金额（扣除冲正）",
    total: "合计",
    noneYet: "暂无",
    projects: "项目",
    budget: "预算",
    remaining: "余额",
    held: "待支付",
    unfunded: "预算未到位",
    pending: "待审批的支出",
    pendingNote: "需要居民代表批准后才能执行",
    approvals: "批准",
    payee: "收款方",
    proposedAt: "申请于第",
    proposedAtEnd: "条",
    feed: "实时流水",
    feedNote: "最新在上；点开查看签名人、文件哈希和冲正对象",
    verify: "自己核验",
    checkpoint: "最新检查点",
    treeSize: "记录数",
    root: "根哈希指纹",
    nodeKey: "节点密钥指纹",
    download: "下载当前快照",
    step1: "下载快照文件（上面的链接）。",
    step2: "运行下面的命令，指纹必须与社区公告栏上公布的一致：",
    step3: "显示 “✅ 通过 VERIFIED” 即说明每个签名、哈希链和每笔余额都已核对无误；否则会指出第一条有问题的记录。",
    sequence: "序号",
    time: "时间",
    txId: "交易编号",
    entryHash: "记录哈希",
    signers: "签名人",
    documents: "文件哈希",
    contract: "合同",
    invoice: "发票",
    document: "凭证",
    contributor: "出资人承诺",
    reverses: "冲正对象",
    target: "所指记录",
    reason: "原因",
    memo: "备注",
    loading: "加载中…",
    unknownKey: "未知密钥",
    undecodable: "无法解析的记录",
    error: "出错了",
    checkedHere: "本浏览器的核对",
    checkedHereNote: "以下各项由你的浏览器自行计算，不依赖节点的说法；完整核对（每个签名和每笔余额）请用 verifier。",
    checkFingerprint: "节点密钥指纹由本浏览器算出，请与公告栏核对",
    checkSignatureOk: "检查点的签名有效",
    checkSignatureBad: "检查点的签名无效",
    checkChainOk: "页面上的记录哈希与哈希链完整",
    checkChainBad: "记录的哈希或哈希链不对",
    checkChainGap: "节点漏发了记录（实时记录不连续）",
    checkSignaturesOk: "页面上每条记录的签名都有效，且签名人是账本登记的密钥",
    checkSignaturesBad: "有记录的签名无效",
    checkInclusionOk: "最新一条记录在已签名的 Merkle 树中",
    checkInclusionBad: "最新一条记录不在已签名的 Merkle 树中",
    checkConsistencyOk: "打开本页以来的检查点前后一致，历史没有被改写",
    checkConsistencyBad: "新检查点与旧检查点不一致：历史被改写了",
    checkKeyChanged: "节点密钥在本页打开期间变了",
    checkPending: "核对中…",
    alarm: "⚠ 本浏览器发现账本数据不一致，请用 verifier 核对并告知社区：",
    records: "条",
    checkpointsSeen: "个检查点",
    kinds: {
      genesis: "账本创建",
      key_registered: "登记密钥",
      key_revoked: "吊销密钥",
      account_opened: "开设账户",
      project_created: "创建项目",
      funds_received: "收到资金",
      funds_allocated: "拨付项目",
      disbursement_proposed: "申请支出",
      disbursement_approved: "批准支出",
      disbursement_rejected: "否决支出",
      disbursement_executed: "执行支出",
      disbursement_voided: "作废支出",
      entry_reversed: "冲正",
      entry_annotated: "审计批注",
    },
    roles: {
      ROLE_ADMIN: "管理员",
      ROLE_FINANCE: "财务",
      ROLE_APPROVER: "居民代表",
      ROLE_AUDITOR: "审计",
    },
    sources: {
      FUND_SOURCE_FISCAL: "财政",
      FUND_SOURCE_SOCIAL_CAPITAL: "社会资本",
      FUND_SOURCE_RESIDENT: "居民自筹",
      FUND_SOURCE_CROWDFUNDING: "众筹",
      FUND_SOURCE_DONATION: "慈善捐赠",
      FUND_SOURCE_LOAN: "银行贷款",
      FUND_SOURCE_OTHER: "其他",
    },
  },
  en: {
    title: "Sunshine Ledger",
    subtitle: "The community's public ledger: where every fen comes from and where it goes",
    switchTo: "中文",
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Connection lost, reconnecting…",
    entries: "entries",
    updated: "updated",
    received: "Received",
    allocated: "Allocated to projects",
    allocatedShort: "Allocated",
    spent: "Spent",
    reserve: "Risk reserve",
    bySource: "Money by source",
    bySourceNote: "Money received per source, less reversed receipts",
    total: "Total",
    noneYet: "None yet",
    projects: "Projects",
    budget: "Budget",
    remaining: "Remaining",
    held: "Awaiting payment",
    unfunded: "Budget not yet funded",
    pending: "Disbursements awaiting approval",
    pendingNote: "Residents' representatives must approve before money moves",
    approvals: "Approvals",
    payee: "Payee",
    proposedAt: "Proposed at entry",
    proposedAtEnd: "",
    feed: "Live feed",
    feedNote: "Newest first; open an entry for its signers, document hashes and what it corrects",
    verify: "Check it yourself",
    checkpoint: "Latest checkpoint",
    treeSize: "Entries",
    root: "Root hash fingerprint",
    nodeKey: "Node key fingerprint",
    download: "Download the current snapshot",
    step1: "Download the snapshot file (the link above).",
    step2: "Run this command; the fingerprint must match the one on the community notice board:",
    step3: "“✅ 通过 VERIFIED” means every signature, the hash chain and every balance check out; otherwise it names the first entry that does not.",
    sequence: "Sequence",
    time: "Time",
    txId: "Transaction id",
    entryHash: "Entry hash",
    signers: "Signed by",
    documents: "Document hashes",
    contract: "contract",
    invoice: "invoice",
    document: "document",
    contributor: "Contributor commitment",
    reverses: "Corrects",
    target: "Refers to",
    reason: "Reason",
    memo: "Memo",
    loading: "Loading…",
    unknownKey: "unknown key",
    undecodable: "Undecodable entry",
    error: "Error",
    checkedHere: "Checked by this browser",
    checkedHereNote: "Your browser computes these itself instead of taking the node's word; for the full check (every signature, every balance) use verifier.",
    checkFingerprint: "Node key fingerprint computed by this browser; compare it with the notice board",
    checkSignatureOk: "The checkpoint's signature is valid",
    checkSignatureBad: "The checkpoint's signature is NOT valid",
    checkChainOk: "Entry hashes and the hash chain on this page are intact",
    checkChainBad: "An entry's hash or the hash chain is wrong",
    checkChainGap: "The node left entries out of the live feed (sequence numbers skip)",
    checkSignaturesOk: "Every entry on this page is signed by a key the ledger registered, and the signatures are valid",
    checkSignaturesBad: "An entry's signature is NOT valid",
    checkInclusionOk: "The newest entry is in the signed Merkle tree",
    checkInclusionBad: "The newest entry is NOT in the signed Merkle tree",
    checkConsistencyOk: "Every checkpoint since the page opened extends the one before: history was not rewritten",
    checkConsistencyBad: "A new checkpoint does not extend the old one: history was rewritten",
    checkKeyChanged: "The node's key changed while the page was open",
    checkPending: "Checking…",
    alarm: "⚠ This browser found the ledger inconsistent; check it with verifier and tell the community:",
    records: "entries",
    checkpointsSeen: "checkpoints",
    kinds: {
      genesis: "Ledger created",
      key_registered: "Key registered",
      key_revoked: "Key revoked",
      account_opened: "Account opened",
      project_created: "Project created",
      funds_received: "Money received",
      funds_allocated: "Allocated to project",
      disbursement_proposed: "Disbursement proposed",
      disbursement_approved: "Disbursement approved",
      disbursement_rejected: "Disbursement rejected",
      disbursement_executed: "Disbursement paid",
      disbursement_voided: "Disbursement voided",
      entry_reversed: "Correction",
      entry_annotated: "Auditor's note",
    },
    roles: {
      ROLE_ADMIN: "admin",
      ROLE_FINANCE: "finance",
      ROLE_APPROVER: "residents' representative",
      ROLE_AUDITOR: "auditor",
    },
    sources: {
      FUND_SOURCE_FISCAL: "Fiscal",
      FUND_SOURCE_SOCIAL_CAPITAL: "Social capital",
      FUND_SOURCE_RESIDENT: "Residents' own funds",
      FUND_SOURCE_CROWDFUNDING: "Crowdfunding",
      FUND_SOURCE_DONATION: "Donations",
      FUND_SOURCE_LOAN: "Bank loan",
      FUND_SOURCE_OTHER: "Other",
    },
  },
};

export const SOURCE_ORDER = [
  "FUND_SOURCE_FISCAL", "FUND_SOURCE_SOCIAL_CAPITAL", "FUND_SOURCE_RESIDENT",
  "FUND_SOURCE_CROWDFUNDING", "FUND_SOURCE_DONATION", "FUND_SOURCE_LOAN", "FUND_SOURCE_OTHER",
];

export const SOURCE_COLORS = {
  FUND_SOURCE_FISCAL: "#c0392b",
  FUND_SOURCE_SOCIAL_CAPITAL: "#2471a3",
  FUND_SOURCE_RESIDENT: "#d68910",
  FUND_SOURCE_CROWDFUNDING: "#229954",
  FUND_SOURCE_DONATION: "#8e44ad",
  FUND_SOURCE_LOAN: "#5d6d7e",
  FUND_SOURCE_OTHER: "#95a5a6",
};

function initialLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked === "zh" || asked === "en") return asked;
  const saved = localStorage.getItem("ledger-lang");
  return saved === "en" ? "en" : "zh";
}

let current = initialLanguage();

export function language() {
  return current;
}

export function setLanguage(lang) {
  current = lang === "en" ? "en" : "zh";
  localStorage.setItem("ledger-lang", current);
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
}

/** The word for `key` in the current language. */
export function t(key) {
  return WORDS[current][key] ?? WORDS.zh[key] ?? key;
}

export function sourceName(source) {
  return WORDS[current].sources[source] ?? String(source);
}

export function kindName(kind) {
  return WORDS[current].kinds[kind] ?? kind;
}

export function roleName(role) {
  return WORDS[current].roles[role] ?? String(role);
}
