// Money on the page: integer fen (分) as BigInt, formatted as yuan. No floating point touches
// an amount; a Number appears only as a bar's width in permille, which is display, not money.

/** ¥1,234.56 from 123456n fen. */
export function formatYuan(fen) {
  if (typeof fen !== "bigint") throw new TypeError(`amounts are BigInt fen, got ${typeof fen}`);
  const negative = fen < 0n;
  const abs = negative ? -fen : fen;
  const digits = (abs / 100n).toString();
  let grouped = "";
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) grouped += ",";
    grouped += digits[i];
  }
  return `${negative ? "-" : ""}¥${grouped}.${(abs % 100n).toString().padStart(2, "0")}`;
}

/** Exact sum of BigInt fen. */
export function sum(amounts) {
  return amounts.reduce((total, a) => total + a, 0n);
}

/** part / whole in permille (0..1000), rounded down: for bar widths only. */
export function permille(part, whole) {
  if (whole <= 0n || part <= 0n) return 0;
  const p = (part * 1000n) / whole;
  return Number(p > 1000n ? 1000n : p);
}

/** Sum of a list of SourceAmount messages. */
export function total(sourceAmounts) {
  return sum(sourceAmounts.map((a) => a.amount_fen));
}

/** Self-check the end-to-end test runs in the browser: the formatter on edge cases. */
export function selfTest() {
  const cases = [
    [0n, "¥0.00"], [1n, "¥0.01"], [10n, "¥0.10"], [100n, "¥1.00"], [123456n, "¥1,234.56"],
    [100000000n, "¥1,000,000.00"], [-150n, "-¥1.50"],
    [18446744073709551615n, "¥184,467,440,737,095,516.15"],
  ];
  return cases.filter(([fen, text]) => formatYuan(fen) !== text).map(([fen, text]) => `${fen} → ${formatYuan(fen)}, expected ${text}`);
}
