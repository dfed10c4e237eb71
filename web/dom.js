// Small DOM helpers. Text is only ever added as text nodes: nothing from the ledger is parsed
// as HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Replaces the children of the element with this id. */
export function replace(id, ...children) {
  const target = document.getElementById(id);
  target.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

export const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** The same short form as `verifier` and `ledger` print: first 10 bytes, 5 groups of 4. */
export function fingerprint(bytes) {
  const h = hex(bytes.subarray(0, 10)).toUpperCase();
  return [0, 4, 8, 12, 16].map((i) => h.slice(i, i + 4)).join("-");
}
