// Small text helpers shared by the demos (examples/demo.mjs, examples/demo-lab.mjs).

/**
 * Prints rows as an aligned table. `align` has one letter per column, 'l' or
 * 'r'; by default the first column is left-aligned and the others right-aligned.
 */
export function table(rows, head, align = 'l' + 'r'.repeat(head.length - 1)) {
  const cells = [head, ...rows].map((r) => r.map(String));
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => `  ${r.map((c, i) => (align[i] === 'l' ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')}`.trimEnd();
  console.log(line(cells[0]));
  console.log(`  ${w.map((n) => '-'.repeat(n)).join('  ')}`);
  for (const r of cells.slice(1)) console.log(line(r));
}

/** Bytes (number or bigint) as megabytes, one decimal. */
export const mb = (n) => (Number(n) / 1e6).toFixed(1);

/** Megabits per second for `bytes` moved in `ms` milliseconds. */
export const mbitPerSec = (bytes, ms) => (ms > 0 ? (Number(bytes) * 8) / (ms * 1000) : 0);
