// 公开报表 / public statements: the periods this ledger spans, each with its statement for the
// notice board (printable page with a QR code), the Excel workbook and the open-data package.
// The node makes them from the same snapshot it serves; a resident remakes any of them with
// `verifier report` and compares the bytes, so the page only lists them and trusts nothing.

import { el, replace } from "./dom.js";
import { language } from "./i18n.js";

const WORDS = {
  zh: {
    title: "公开报表",
    note: "按季度、年度和月份的财务公开报表，可打印张贴。任何人都可以下载账本快照，用 verifier report 重新生成，逐字节比对，证明张贴的报表出自本账本。",
    print: "打印版",
    excel: "Excel 表格",
    data: "开放数据包",
    months: "按月",
    none: "账本还没有记录。",
    failed: "无法读取报表列表：",
  },
  en: {
    title: "Public statements",
    note: "Quarterly, yearly and monthly statements to print and post. Anyone can download the snapshot, remake a statement with `verifier report` and compare the bytes, proving the posted sheet is this ledger's.",
    print: "printable",
    excel: "Excel",
    data: "open-data package",
    months: "Months",
    none: "The ledger has no entries yet.",
    failed: "Cannot read the list of statements: ",
  },
};

let periods = null;
let problem = null;

const words = () => WORDS[language()] ?? WORDS.zh;

function row(p) {
  const w = words();
  const lang = language() === "en" ? "en" : "zh";
  const base = `./reports/${encodeURIComponent(p.name)}/`;
  return el(
    "li",
    { class: "report", "data-period": p.name },
    el("span", { class: "report-title" }, lang === "en" ? p.title_en : p.title_zh),
    " ",
    el("a", { href: `${base}statement.html?lang=${lang}`, target: "_blank", rel: "noopener" }, w.print),
    " · ",
    el("a", { href: `${base}statement.xlsx?lang=${lang}` }, w.excel),
    " · ",
    el("a", { href: `${base}datapackage.json`, target: "_blank", rel: "noopener" }, w.data),
  );
}

export function renderReports() {
  const w = words();
  const parts = [el("h2", {}, w.title), el("p", { class: "muted" }, w.note)];
  if (problem) parts.push(el("p", { class: "alarm" }, w.failed + problem));
  else if (periods && periods.length === 0) parts.push(el("p", { class: "muted" }, w.none));
  else if (periods) {
    const months = periods.filter((p) => /^\d{4}-\d{2}$/.test(p.name));
    const others = periods.filter((p) => !months.includes(p));
    parts.push(el("ul", { id: "report-list" }, others.map(row)));
    if (months.length) parts.push(el("details", {}, el("summary", {}, w.months), el("ul", {}, months.map(row))));
  }
  replace("reports", parts);
}

export async function loadReports() {
  try {
    const response = await fetch("./reports", { cache: "no-cache" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const index = await response.json();
    periods = Array.isArray(index.periods) ? index.periods.filter((p) => typeof p.name === "string") : [];
    problem = null;
  } catch (e) {
    problem = String(e.message ?? e);
  }
  renderReports();
}
