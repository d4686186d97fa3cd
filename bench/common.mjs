// Helpers shared by the benchmarks (bench/run.mjs, bench/lab.mjs).
import { accessSync, constants as fsc } from 'node:fs';
import path from 'node:path';

/** A positive number from the environment, or `def`. */
export function envNumber(name, def) {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${v}`);
  return n;
}

/** The absolute path of an executable on PATH, or null. */
export function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir || '.', cmd);
    try {
      accessSync(p, fsc.X_OK);
      return p;
    } catch { /* next */ }
  }
  return null;
}

/** Linear-interpolated quantile (NaN for no samples). */
export function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

export const median = (xs) => quantile(xs, 0.5);

/** A Markdown-style table; `align[i]` is 'l' or 'r'. */
export function table(headers, rows, align) {
  const cells = [headers, ...rows].map((r) => r.map((c) => String(c)));
  const w = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const fmt = (r) => '| ' + r.map((c, i) => ((align?.[i] ?? 'l') === 'r' ? c.padStart(w[i]) : c.padEnd(w[i]))).join(' | ') + ' |';
  const sep = '|' + w.map((x, i) => ((align?.[i] ?? 'l') === 'r' ? '-'.repeat(x + 1) + ':' : '-'.repeat(x + 2))).join('|') + '|';
  return [fmt(cells[0]), sep, ...cells.slice(1).map(fmt)].join('\n');
}
