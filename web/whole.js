// 核验整个账本 / verify the whole ledger: the snapshot (downloaded from this node, or a file the
// resident picks from a USB stick or a WeChat download) is checked in this browser by the
// project's own Rust verifier, compiled to WebAssembly and run in a Web Worker: every signature,
// the chain, the checkpoint and every fund rule. The only thing trusted is the ledger
// fingerprint the resident types from the notice board; it is never filled in from the node.

import { el, replace } from "./dom.js";
import { formatYuan } from "./money.js";
import { language } from "./i18n.js";

const WORDS = {
  zh: {
    title: "核验整个账本",
    note: "用与节点和 verifier 相同的 Rust 代码（在本浏览器中运行）核验全部签名、链条、检查点和每一条资金规则。只信任你从公示栏抄来的账本指纹。",
    fingerprint: "公示栏上的账本指纹",
    placeholder: "例如 3F2A-9C01-77B4-E0D2-5A18-0B6C-D4E1-7F03",
    download: "下载本节点的快照并核验",
    file: "或选择快照文件（核验时不需要网络）：",
    working: "正在核验…",
    needFingerprint: "请先填写公示栏上的账本指纹。",
    passed: "✅ 通过：每一条记录、签名、规则和签名检查点都核对无误。",
    failed: "❌ 未通过：这份账本没有通过核验。",
    unusable: "⚠️ 无法核验：这个文件不是完整的账本快照。",
    what: "发生了什么：",
    todo: "请这样做：",
    entries: "条记录",
    received: "各来源收到资金",
    seconds: "秒",
    error: "核验程序出错：",
  },
  en: {
    title: "Verify the whole ledger",
    note: "Every signature, the chain, the checkpoint and every fund rule, checked in this browser by the same Rust code the node and verifier run. Only the ledger fingerprint you copy from the notice board is trusted.",
    fingerprint: "Ledger fingerprint from the notice board",
    placeholder: "e.g. 3F2A-9C01-77B4-E0D2-5A18-0B6C-D4E1-7F03",
    download: "Download this node's snapshot and verify it",
    file: "Or pick a snapshot file (no network needed to check it):",
    working: "Verifying…",
    needFingerprint: "Type the ledger fingerprint from the notice board first.",
    passed: "✅ VERIFIED: every entry, signature, rule and the signed checkpoint check out.",
    failed: "❌ NOT VERIFIED: this ledger does not check out.",
    unusable: "⚠️ NOT CHECKED: this file is not a whole ledger snapshot.",
    what: "What happened: ",
    todo: "What to do: ",
    entries: "entries",
    received: "Money received, by source",
    seconds: "s",
    error: "The verifier failed: ",
  },
};

const w = (key) => WORDS[language()][key];

const worker = new Worker("./verify-worker.js");
let nextId = 1;
const waiting = new Map();
worker.onmessage = (event) => {
  const done = waiting.get(event.data.id);
  waiting.delete(event.data.id);
  if (done) done(event.data);
};
// Load the verifier now, so a file picked later is checked with no network at all.
worker.postMessage({ id: 0 });

function run(trust, snapshot) {
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    worker.postMessage({ id, trust, snapshot }, [snapshot]);
  });
}

function verdictView(result) {
  if (result.error) return el("p", { class: "alarm", id: "whole-verdict", "data-code": "error" }, w("error"), result.error);
  const r = result.report;
  const zh = language() === "zh";
  const headline = result.exitCode === 0 ? w("passed") : result.exitCode === 2 ? w("unusable") : w("failed");
  const parts = [el("p", { id: "whole-verdict", "data-code": String(result.exitCode), class: result.exitCode === 0 ? "ok" : "alarm" }, headline)];
  if (r.usage_error) parts.push(el("p", {}, r.usage_error));
  if (r.failure_plain) {
    parts.push(el("p", {}, w("what"), zh ? r.failure_plain.zh : r.failure_plain.en));
    parts.push(el("p", {}, w("todo"), zh ? r.failure_plain.todo_zh : r.failure_plain.todo_en));
    parts.push(el("p", { class: "muted", id: "whole-code" }, `${r.failure.code}${r.failure.reason ? " / " + r.failure.reason : ""}: ${r.failure.message}`));
  }
  if (r.figures_trusted) {
    parts.push(el("p", { class: "muted" }, `${r.entries_checked} ${w("entries")} · ${(result.millis / 1000).toFixed(1)} ${w("seconds")} · ${r.ledger_fingerprint}`));
    parts.push(el("h3", {}, w("received")));
    parts.push(el("ul", { id: "whole-received" }, r.received.map((f) =>
      el("li", {}, `${zh ? f.source_zh : f.source}: ${formatYuan(BigInt(f.fen))}`))));
  }
  return parts;
}

async function verify(getSnapshot) {
  const trust = document.getElementById("whole-fingerprint").value;
  if (!trust.trim()) {
    replace("whole-result", el("p", { class: "alarm" }, w("needFingerprint")));
    return;
  }
  replace("whole-result", el("p", { class: "muted" }, w("working")));
  try {
    const snapshot = await getSnapshot();
    replace("whole-result", verdictView(await run(trust, snapshot)));
  } catch (error) {
    replace("whole-result", verdictView({ error: String(error) }));
  }
}

/** Draws the section (again, after a language switch; what was typed is kept). */
export function renderWhole() {
  const typed = document.getElementById("whole-fingerprint")?.value ?? "";
  replace(
    "whole",
    el("h2", {}, w("title")),
    el("p", { class: "muted" }, w("note")),
    el("label", {}, w("fingerprint"), el("br"),
      el("input", { id: "whole-fingerprint", type: "text", autocomplete: "off", spellcheck: "false", placeholder: w("placeholder"), value: typed, size: 44 })),
    el("p", {}, el("button", {
      id: "whole-download", type: "button",
      onclick: () => verify(async () => {
        const response = await fetch("./snapshot");
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return response.arrayBuffer();
      }),
    }, w("download"))),
    el("p", {}, w("file"), el("input", {
      id: "whole-file", type: "file",
      onchange: (event) => {
        const file = event.target.files[0];
        if (file) verify(() => file.arrayBuffer());
      },
    })),
    el("div", { id: "whole-result", "aria-live": "polite" }),
  );
}
