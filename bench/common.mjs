// Helpers shared by the benchmarks (bench/run.mjs, bench/lab.mjs, bench/soak.mjs).
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

/**
 * A positive number (or 0, with `{ zero: true }`) given on the command line
 * as `--name N` or `--name=N`, or `def` when the option is absent.
 */
export function argNumber(argv, name, def, { zero = false } = {}) {
  let v;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name) v = argv[i + 1];
    else if (argv[i].startsWith(`${name}=`)) v = argv[i].slice(name.length + 1);
  }
  if (v === undefined) return def;
  const n = Number(v);
  if (v === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !zero)) {
    throw new Error(`${name} must be a ${zero ? 'non-negative' : 'positive'} number, got ${v ?? 'nothing'}`);
  }
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
