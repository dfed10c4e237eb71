//! The printable statement: one HTML file, A4, print CSS, each table a section that starts a
//! new page, and on the first page the ledger fingerprint, the tree size and root the
//! statement is the fold at, with a QR code of the same, so a printed sheet can be checked
//! against the ledger. Nothing in it depends on when or where it was made.

use std::fmt::Write;

use ledger_core::amount::format_yuan;

use crate::statement::Statement;
use crate::table::{Cell, Lang, Table};

const STYLE: &str = "\
@page { size: A4; margin: 14mm 12mm; }
body { font-family: \"Noto Sans CJK SC\", \"Noto Sans SC\", \"Source Han Sans SC\", \"Microsoft YaHei\", \"PingFang SC\", sans-serif; font-size: 9.5pt; color: #000; margin: 0; }
h1 { font-size: 16pt; margin: 0 0 2mm; }
h2 { font-size: 12.5pt; margin: 0 0 1.5mm; }
p.note { margin: 0 0 2mm; color: #333; }
header { display: flex; gap: 6mm; align-items: flex-start; border-bottom: 0.4mm solid #000; padding-bottom: 3mm; margin-bottom: 4mm; }
header .id { flex: 1; }
header .id div { margin: 0.6mm 0; word-break: break-all; }
header .qr svg { width: 36mm; height: 36mm; }
section { break-before: page; }
section:first-of-type { break-before: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 0.2mm solid #777; padding: 0.8mm 1.2mm; vertical-align: top; }
th { background: #eee; font-weight: bold; text-align: left; }
td.n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.h { font-family: monospace; font-size: 8pt; word-break: break-all; }
tr { break-inside: avoid; }
footer { margin-top: 3mm; font-size: 8pt; color: #333; }
";

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What the QR code carries: ASCII only, so every reader decodes it the same.
pub fn qr_text(s: &Statement) -> String {
    format!(
        "sunshine-ledger-statement/v1 fingerprint={} size={} root={} period={}",
        s.ledger_fingerprint,
        s.tree_size,
        hex::encode(s.root),
        s.period.name()
    )
}

fn qr_svg(text: &str) -> String {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .expect("the QR text is a few hundred ASCII bytes, within a QR code's capacity");
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .build();
    // Drop the XML declaration: the SVG is inline in HTML.
    match svg.find("<svg") {
        Some(at) => svg[at..].to_string(),
        None => svg,
    }
}

fn cell(out: &mut String, c: &Cell, lang: Lang) {
    let _ = match c {
        Cell::Fen(fen) => write!(out, "<td class=\"n\">{}</td>", format_yuan(*fen)),
        Cell::Count(n) => write!(out, "<td class=\"n\">{n}</td>"),
        Cell::Label(zh, en) => write!(out, "<td>{}</td>", escape(lang.pick(zh, en))),
        Cell::Text(t) if t.len() >= 16 && t.bytes().all(|b| b.is_ascii_hexdigit()) => {
            write!(out, "<td class=\"h\">{t}</td>")
        }
        Cell::Text(t) => write!(out, "<td>{}</td>", escape(t)),
    };
}

fn section(out: &mut String, t: &Table, lang: Lang) {
    let _ = write!(
        out,
        "<section id=\"{}\"><h2>{}</h2><p class=\"note\">{}</p>",
        t.key,
        escape(t.title(lang)),
        escape(t.note(lang))
    );
    if t.rows.is_empty() {
        let _ = writeln!(
            out,
            "<p>{}</p></section>",
            lang.pick("本期无。", "None in the period.")
        );
        return;
    }
    out.push_str("<table><thead><tr>");
    for c in &t.columns {
        let _ = write!(out, "<th>{}</th>", escape(lang.pick(c.zh, c.en)));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for c in row {
            cell(out, c, lang);
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></section>\n");
}

pub fn statement(s: &Statement, lang: Lang) -> Vec<u8> {
    let mut out = String::new();
    let title = format!(
        "{} {}",
        s.ledger_name,
        lang.pick("财务公开报表", "financial statement")
    );
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{} {}</title><style>{STYLE}</style></head><body>\n",
        lang.pick("zh-CN", "en"),
        escape(&title),
        escape(&s.period.name())
    );
    let qr = qr_text(s);
    let _ = writeln!(
        out,
        "<header><div class=\"id\"><h1>{}</h1><div><b>{}</b> {}</div><div><b>{}</b> {}</div><div><b>{}</b> {} {}</div><div><b>{}</b> <code>{}</code></div><div>{}</div></div><div class=\"qr\" title=\"{}\">{}</div></header>",
        escape(&title),
        lang.pick("期间：", "Period:"),
        escape(&s.period.title(lang == Lang::English)),
        lang.pick("账本指纹：", "Ledger fingerprint:"),
        escape(&s.ledger_fingerprint),
        lang.pick("本表依据账本前", "Made from the ledger's first"),
        s.tree_size,
        lang.pick("条记录", "entries"),
        lang.pick("默克尔根：", "Merkle root:"),
        hex::encode(s.root),
        escape(lang.pick(
            "核对方法：从公示栏抄下账本指纹，下载账本快照，运行 verifier report 快照文件 --trust 账本指纹 --period 期间 --out 文件夹（本期未结束时另加 --at 条目数），生成的 statement.html 应与本表逐字节相同；或扫描右侧二维码比对指纹、条目数与默克尔根。",
            "To check: copy the ledger fingerprint from the notice board, download a snapshot, run verifier report SNAPSHOT --trust FINGERPRINT --period PERIOD --out FOLDER (with --at COUNT if the period was still running); the statement.html it makes is byte for byte this one. Or scan the QR code and compare the fingerprint, size and root.",
        )),
        escape(&qr),
        qr_svg(&qr)
    );
    for t in &s.tables {
        section(&mut out, t, lang);
    }
    out.push_str("</body></html>\n");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn text_from_the_ledger_cannot_become_markup() {
        assert_eq!(
            escape("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }
}
