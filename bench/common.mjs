// Helpers shared by the benchmarks (bench/run.mjs, bench/lab.mjs, bench/soak.mjs
// and their modules) and the demos (examples/): command line and environment,
// statistics, number formatting, tables.
import { accessSync, constants as fsc } from 'node:fs';
import path from 'node:path';

// ------------------------------------------------- command line, environment ----

/** A positive number from the environment, or `def`. */
export function envNumber(name, def) {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${v}`);
  return n;
}

/** A comma list of positive numbers from the environment, or `def`. */
export function envList(name, def) {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const xs = v.split(',').map(Number);
  if (xs.some((x) => !Number.isFinite(x) || x <= 0)) throw new Error(`${name} must be a comma list of positive numbers, got ${v}`);
  return xs;
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

/**
 * The options every benchmark takes: `--json`, `--quick` (or PREFIX_QUICK=1)
 * and `--only=LIST` (or PREFIX_ONLY; default: every phase).
 */
export function benchArgs(argv, prefix, phases) {
  return {
    json: argv.includes('--json'),
    quick: argv.includes('--quick') || /^(1|true|yes)$/i.test(process.env[`${prefix}_QUICK`] ?? ''),
    only: (argv.find((a) => a.startsWith('--only='))?.slice(7) ?? process.env[`${prefix}_ONLY`] ?? phases.join(',')).split(','),
  };
}

/** Progress lines on stderr, silent when `quiet` (--json). */
export const makeLog = (quiet) => (...a) => { if (!quiet) process.stderr.write(a.join(' ') + '\n'); };

/** Runs an async main; on failure prints `<what> failed: <stack>` and exits 1. */
export function runMain(main, what) {
  main().catch((err) => {
    process.stderr.write(`${what} failed: ${err.stack ?? err}\n`);
    process.exit(1);
  });
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

// ---------------------------------------------------------------- statistics ----

/** Linear-interpolated quantile of an already sorted array (or typed array). */
export function sortedQuantile(s, q) {
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** Linear-interpolated quantile (NaN for no samples). */
export function quantile(xs, q) {
  if (xs.length === 0) return NaN;
  return sortedQuantile([...xs].sort((a, b) => a - b), q);
}

export const median = (xs) => quantile(xs, 0.5);

/** A seeded xorshift32 generator: () => a number in [0, 1). Deterministic. */
export function seededRandom(seed = 0x9e3779b9) {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

/**
 * Bootstrap 90% interval of quantile(a, q) / quantile(b, q): how far the
 * ratio could move from sampling noise alone. Deterministic (fixed seed).
 */
export function bootstrapRatio(a, b, q, iters = 1000) {
  const rand = seededRandom();
  const ra = new Float64Array(a.length);
  const rb = new Float64Array(b.length);
  const ratios = new Float64Array(iters);
  for (let i = 0; i < iters; i++) {
    for (let j = 0; j < a.length; j++) ra[j] = a[(rand() * a.length) | 0];
    for (let j = 0; j < b.length; j++) rb[j] = b[(rand() * b.length) | 0];
    ra.sort();
    rb.sort();
    ratios[i] = sortedQuantile(ra, q) / sortedQuantile(rb, q);
  }
  ratios.sort();
  return { lo: sortedQuantile(ratios, 0.05), hi: sortedQuantile(ratios, 0.95) };
}

/**
 * As bootstrapRatio, for samples taken in turns, block by block: a and b
 * hold equal-sized blocks (`block` samples each, the k-th block of a taken
 * next to the k-th of b), and whole blocks are resampled, the same block
 * numbers for both. What drifts between blocks (a slow moment of the
 * machine, a fresh process pair) then widens the interval as it should,
 * where resampling single samples would treat them as independent.
 */
export function blockBootstrapRatio(a, b, q, block, iters = 1000) {
  const blocks = Math.min(Math.floor(a.length / block), Math.floor(b.length / block));
  if (blocks < 2) return bootstrapRatio(a, b, q, iters);
  const rand = seededRandom();
  const ra = new Float64Array(blocks * block);
  const rb = new Float64Array(blocks * block);
  const ratios = new Float64Array(iters);
  for (let i = 0; i < iters; i++) {
    for (let k = 0; k < blocks; k++) {
      const from = ((rand() * blocks) | 0) * block;
      for (let j = 0; j < block; j++) {
        ra[k * block + j] = a[from + j];
        rb[k * block + j] = b[from + j];
      }
    }
    ra.sort();
    rb.sort();
    ratios[i] = sortedQuantile(ra, q) / sortedQuantile(rb, q);
  }
  ratios.sort();
  return { lo: sortedQuantile(ratios, 0.05), hi: sortedQuantile(ratios, 0.95) };
}

/** The list rotated left by k: taking turns, no entry always runs first or last. */
export function rotated(list, k) {
  const j = k % list.length;
  return [...list.slice(j), ...list.slice(0, j)];
}

// ------------------------------------------------------------ number formats ----

/** A number with `d` decimals, 'n/a' for anything else (NaN, null, undefined). */
export const fixed = (x, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : 'n/a');

/** true/false as yes/no, null/undefined as n/a, anything else as text. */
export const yesNo = (v) => (v === null || v === undefined ? 'n/a' : v === true ? 'yes' : v === false ? 'no' : String(v));

/** A pass/fail verdict: PASS, FAIL, '-' (none), or the reason given instead. */
export const passText = (p) => (p === null || p === undefined ? '-' : p === true ? 'PASS' : p === false ? 'FAIL' : String(p));

/** A byte count in B, KiB or MiB; 'n/a' for none. */
export const bytesText = (x) => (x === null || x === undefined ? 'n/a' : x >= 1 << 20 ? `${(x / 1048576).toFixed(1)} MiB` : x >= 1024 ? `${(x / 1024).toFixed(1)} KiB` : `${x} B`);

/** Bytes (number or bigint) as megabytes, one decimal. */
export const mb = (n) => (Number(n) / 1e6).toFixed(1);

/** Megabits per second for `bytes` (number or bigint) moved in `ms` milliseconds; 0 for no time. */
export const mbitPerSec = (bytes, ms) => (ms > 0 ? (Number(bytes) * 8) / (ms * 1000) : 0);

// -------------------------------------------------------------------- tables ----

/**
 * A table as text. `align` has one entry per column, 'l' or 'r' (an array,
 * or a string such as 'lrrl'); columns without one are left-aligned.
 * style 'markdown' (the benchmarks): `| a | b |` rows under a `|---|--:|` rule.
 * style 'plain' (the demos): columns two spaces apart, indented by two, dashes under the header.
 */
export function table(headers, rows, align = [], style = 'markdown') {
  const cells = [headers, ...rows].map((r) => r.map((c) => String(c)));
  const w = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const right = (i) => align?.[i] === 'r';
  const pad = (c, i) => (right(i) ? c.padStart(w[i]) : c.padEnd(w[i]));
  let line;
  let rule;
  if (style === 'plain') {
    line = (r) => `  ${r.map(pad).join('  ')}`.trimEnd();
    rule = `  ${w.map((n) => '-'.repeat(n)).join('  ')}`;
  } else {
    line = (r) => `| ${r.map(pad).join(' | ')} |`;
    rule = `|${w.map((n, i) => (right(i) ? `${'-'.repeat(n + 1)}:` : '-'.repeat(n + 2))).join('|')}|`;
  }
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n');
}
