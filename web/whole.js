// 核验整个账本 / verify the whole ledger: the snapshot (downloaded from this node, or a file the
// resident picks from a USB stick or a WeChat download) is checked in this browser by the
// project's own Rust verifier, compiled to WebAssembly and run in a Web Worker: every signature,
// the chain, the checkpoint and every fund rule. The only things trusted are what the resident
// types from the notice board: the ledger fingerprint and, if they choose, witness keys. Neither
// is ever filled in from the node.

import { el, replace } from "./dom.js";
import { formatYuan } from "./money.js";
import { language } from "./i18n.js";

const WORDS = {
  zh: {
    title: "核验整个账本",
    note: "用与节点和 verifier 相同的 Rust 代码（在本浏览器中运行）核验全部签名、链条、检查点和每一条资金规则。只信任你从公示栏抄来的账本指纹（和你选填的见证方公钥）。",
    fingerprint: "公示栏上的账本指纹",
    placeholder: "例如 3F2A-9C01-77B4-E0D2-5A18-0B6C-D4E1-7F03",
    witnesses: "要求的见证方公钥（选填，每行一个，按见证方公布的样子）",
    download: "下载本节点的快照并核验",
    file: "或选择快照文件（核验时不需要网络）：",
    reading: "正在读取快照",
    checking: "正在核验",
    needFingerprint: "请先填写公示栏上的账本指纹。",
    passed: "✅ 通过：每一条记录、签名、规则和签名检查点都核对无误。",
    failed: "❌ 未通过：这份账本没有通过核验。",
    unusable: "⚠️ 无法核验：这个文件不是完整的账本快照。",
    tooLarge: "⚠️ 快照太大（超过 1 GiB），网页无法核验：请在电脑上用 verifier 程序核验。",
    what: "发生了什么：",
    todo: "请这样做：",
    entries: "条记录",
    seconds: "秒",
    error: "核验程序出错：",
    governance: "谁能做什么",
    witnessQuorum: (n, all) => `见证方：${all} 个中需 ${n} 个联署`,
    noWitnesses: "本账本没有指定见证方：无法排除运营方给不同的人看不同的账本。",
    witnessed: (size, by) => `前 ${size} 条记录已由见证方联署：${by}`,
    unwitnessed: (n) => `最新的 ${n} 条记录尚未联署`,
    policy: (p) => `超过 ${formatYuan(BigInt(p.approval_threshold_fen))} 的支付需 ${p.approver_quorum} 位居民代表批准，并公示 ${p.notice_days} 天；异议须在 ${p.objection_response_days} 天内答复`,
    received: "各来源收到资金",
    reserve: "风险储备金",
    projects: "项目（预算 / 已拨付 / 已支付 / 冻结 / 剩余）",
    pending: "待支付",
    approvals: (have, need) => `批准 ${have}/${need}`,
    noticeEnds: (t) => `公示至 ${t}`,
    objections: "异议",
    none: "无",
  },
  en: {
    title: "Verify the whole ledger",
    note: "Every signature, the chain, the checkpoint and every fund rule, checked in this browser by the same Rust code the node and verifier run. Only the ledger fingerprint you copy from the notice board (and any witness keys you add) is trusted.",
    fingerprint: "Ledger fingerprint from the notice board",
    placeholder: "e.g. 3F2A-9C01-77B4-E0D2-5A18-0B6C-D4E1-7F03",
    witnesses: "Witness keys you require (optional, one per line, as each witness publishes it)",
    download: "Download this node's snapshot and verify it",
    file: "Or pick a snapshot file (no network needed to check it):",
    reading: "Reading the snapshot",
    checking: "Verifying",
    needFingerprint: "Type the ledger fingerprint from the notice board first.",
    passed: "✅ VERIFIED: every entry, signature, rule and the signed checkpoint check out.",
    failed: "❌ NOT VERIFIED: this ledger does not check out.",
    unusable: "⚠️ NOT CHECKED: this file is not a whole ledger snapshot.",
    tooLarge: "⚠️ The snapshot is too large (over 1 GiB) for the page: check it with the verifier program on a computer.",
    what: "What happened: ",
    todo: "What to do: ",
    entries: "entries",
    seconds: "s",
    error: "The verifier failed: ",
    governance: "Who may do what",
    witnessQuorum: (n, all) => `Witnesses: ${n} of ${all} must cosign`,
    noWitnesses: "This ledger names no witnesses: nothing shows that everyone is shown this same history.",
    witnessed: (size, by) => `The first ${size} entries are cosigned by: ${by}`,
    unwitnessed: (n) => `The newest ${n} entries are not cosigned yet`,
    policy: (p) => `Payments above ${formatYuan(BigInt(p.approval_threshold_fen))} need ${p.approver_quorum} resident approvers and ${p.notice_days} days of public notice; objections must be answered within ${p.objection_response_days} days`,
    received: "Money received, by source",
    reserve: "Risk reserve",
    projects: "Projects (budget / allocated / spent / held / remaining)",
    pending: "Waiting to be paid",
    approvals: (have, need) => `approved ${have}/${need}`,
    noticeEnds: (t) => `on notice until ${t}`,
    objections: "Objections",
    none: "none",
  },
};

const w = (key) => WORDS[language()][key];
const zh = () => language() === "zh";
const source = (f) => (zh() ? f.source_zh : f.source.replaceAll("_", " "));
const yuan = (fen) => el("span", { "data-fen": String(fen) }, formatYuan(BigInt(fen)));

const worker = new Worker("./verify-worker.js");
let nextId = 1;
const waiting = new Map();
worker.onmessage = (event) => {
  const message = event.data;
  const job = waiting.get(message.id);
  if (!job) return;
  if (message.phase) {
    job.progress(message);
    return;
  }
  waiting.delete(message.id);
  job.done(message);
};
// Load the verifier now, so a file picked later is checked with no network at all.
worker.postMessage({ id: 0 });

/** Runs one check in the worker: `what` is {url} or {file}. */
function run(trust, what, progress) {
  const id = nextId++;
  return new Promise((done) => {
    waiting.set(id, { done, progress });
    worker.postMessage({ id, trust, ...what });
  });
}

function progressView({ phase, done, total }) {
  const label = phase === "read" ? w("reading") : w("checking");
  const unit = phase === "read" ? " MB" : ` ${w("entries")}`;
  const scale = phase === "read" ? 1e6 : 1;
  const shown = (n) => (phase === "read" ? (n / scale).toFixed(1) : String(n));
  const bar = total > 0 ? el("progress", { id: "whole-progress", max: total, value: done }) : null;
  return [
    el("p", { class: "muted", "data-phase": phase }, `${label}… ${shown(done)}${total > 0 ? " / " + shown(total) : ""}${unit}`),
    bar,
  ];
}

function failureView(r) {
  const parts = [];
  if (r.usage_error) parts.push(el("p", {}, r.usage_error));
  if (r.failure_plain) {
    parts.push(el("p", {}, w("what"), zh() ? r.failure_plain.zh : r.failure_plain.en));
    parts.push(el("p", {}, w("todo"), zh() ? r.failure_plain.todo_zh : r.failure_plain.todo_en));
  }
  if (r.failure) {
    parts.push(el("p", { class: "muted", id: "whole-code" }, `${r.failure.code}${r.failure.reason ? " / " + r.failure.reason : ""}: ${r.failure.message}`));
  }
  return parts;
}

function governanceView(r) {
  const g = r.governance;
  const witnessing = r.witnessing;
  const lines = [];
  if (g.witnesses.length === 0) lines.push(el("li", { class: "alarm" }, w("noWitnesses")));
  else lines.push(el("li", {}, w("witnessQuorum")(g.witness_quorum, g.witnesses.length), ": ", g.witnesses.map((x) => x.name).join(", ")));
  if (witnessing.witnessed_tree_size !== null) {
    lines.push(el("li", {}, w("witnessed")(witnessing.witnessed_tree_size, witnessing.cosigned_by.join(", "))));
  }
  if (witnessing.unwitnessed_entries > 0) lines.push(el("li", {}, w("unwitnessed")(witnessing.unwitnessed_entries)));
  if (r.ledger) lines.push(el("li", {}, w("policy")(r.ledger)));
  return [el("h3", {}, w("governance")), el("ul", { id: "whole-governance" }, lines)];
}

function sourceList(id, figures) {
  if (figures.length === 0) return el("p", { id, class: "muted" }, w("none"));
  return el("ul", { id }, figures.map((f) => el("li", { "data-source": f.source }, `${source(f)}: `, yuan(f.fen))));
}

function projectsView(projects) {
  const rows = projects.map((p) => el("tbody", { "data-project": p.id },
    el("tr", {}, el("th", { colspan: 6 }, `${p.name} · ${zh() ? p.stage_zh : p.stage}`)),
    p.figures.map((f) => el("tr", { "data-source": f.source },
      el("td", {}, source(f)),
      [f.budget_fen, f.allocated_fen, f.spent_fen, f.held_fen, f.remaining_fen].map((fen) => el("td", { class: "amount" }, yuan(fen)))))));
  return [el("h3", {}, w("projects")), projects.length ? el("table", { id: "whole-projects" }, rows) : el("p", { class: "muted" }, w("none"))];
}

function pendingView(pending) {
  const items = pending.map((d) => el("li", { "data-tx": d.proposal_tx_id },
    `${d.payee_name || d.payee} · ${d.project} · `,
    d.amounts.flatMap((f) => [`${source(f)} `, yuan(f.fen), " "]),
    `· ${w("approvals")(d.approvals.length, d.approvals_needed)}`,
    d.notice_ends ? ` · ${w("noticeEnds")(d.notice_ends)}` : "",
    d.objections.length ? ` · ${w("objections")} ${d.objections.length}` : ""));
  return [el("h3", {}, w("pending")), items.length ? el("ul", { id: "whole-pending" }, items) : el("p", { class: "muted" }, w("none"))];
}

function objectionsView(objections) {
  const items = objections.map((o) => el("li", { "data-tx": o.objection_tx_id, "data-state": o.state },
    `${o.filed_time} · ${o.state} · ${o.text}`, o.answer ? ` → ${o.answer}` : ""));
  return [el("h3", {}, w("objections")), items.length ? el("ul", { id: "whole-objections" }, items) : el("p", { class: "muted" }, w("none"))];
}

function verdictView(result) {
  if (result.error) {
    const message = result.error === "too-large" ? w("tooLarge") : w("error") + result.error;
    return el("p", { class: "alarm", id: "whole-verdict", "data-code": "error" }, message);
  }
  const r = result.report;
  const headline = result.exitCode === 0 ? w("passed") : result.exitCode === 2 ? w("unusable") : w("failed");
  const parts = [el("p", { id: "whole-verdict", "data-code": String(result.exitCode), class: result.exitCode === 0 ? "ok" : "alarm" }, headline)];
  parts.push(...failureView(r));
  // Figures only from a ledger that passed: what a failed one says proves nothing.
  if (r.figures_trusted) {
    parts.push(el("p", { class: "muted", id: "whole-facts" }, `${r.entries_checked} ${w("entries")} · ${(result.millis / 1000).toFixed(1)} ${w("seconds")} · ${r.ledger_fingerprint}`));
    if (r.governance) parts.push(...governanceView(r));
    parts.push(el("h3", {}, w("received")), sourceList("whole-received", r.received));
    parts.push(el("h3", {}, w("reserve")), sourceList("whole-reserve", r.reserve));
    parts.push(...projectsView(r.projects), ...pendingView(r.pending_disbursements), ...objectionsView(r.objections));
  }
  return parts;
}

async function verify(what) {
  const fingerprint = document.getElementById("whole-fingerprint").value;
  const witnesses = document.getElementById("whole-witnesses").value;
  if (!fingerprint.trim()) {
    replace("whole-result", el("p", { class: "alarm" }, w("needFingerprint")));
    return;
  }
  // One line: the fingerprint; every further line a witness key (crates/ledger-wasm).
  const trust = `${fingerprint.replace(/[\r\n]/g, " ")}\n${witnesses}`;
  replace("whole-result", progressView({ phase: "read", done: 0, total: 0 }));
  const result = await run(trust, what, (p) => replace("whole-result", progressView(p)));
  replace("whole-result", verdictView(result));
}

/** Draws the section (again, after a language switch; what was typed is kept). */
export function renderWhole() {
  const typed = document.getElementById("whole-fingerprint")?.value ?? "";
  const typedWitnesses = document.getElementById("whole-witnesses")?.value ?? "";
  const witnesses = el("textarea", { id: "whole-witnesses", rows: 2, cols: 60, autocomplete: "off", spellcheck: "false" });
  witnesses.value = typedWitnesses;
  replace(
    "whole",
    el("h2", {}, w("title")),
    el("p", { class: "muted" }, w("note")),
    el("label", {}, w("fingerprint"), el("br"),
      el("input", { id: "whole-fingerprint", type: "text", autocomplete: "off", spellcheck: "false", placeholder: w("placeholder"), value: typed, size: 44 })),
    el("details", {}, el("summary", {}, w("witnesses")), witnesses),
    el("p", {}, el("button", {
      id: "whole-download", type: "button",
      onclick: () => verify({ url: "./snapshot" }),
    }, w("download"))),
    el("p", {}, w("file"), el("input", {
      id: "whole-file", type: "file",
      onchange: (event) => {
        const file = event.target.files[0];
        if (file) verify({ file });
      },
    })),
    el("div", { id: "whole-result", "aria-live": "polite" }),
  );
}
