// The loopback benchmark's report: whether each mode's connections were of
// the expected kind, the summary against the targets, and the tables.
import { fixed as f, passText, table, yesNo } from '../common.mjs';
import { CFG, CPU_RECV, CPU_SEND, TARGETS } from './config.mjs';

/**
 * Whether every connection of a mode had the expected kind (MPTCP or not),
 * by every check that ran; null when the mode did not run.
 */
export function modeCheck(result, name, want) {
  const seen = [];
  const tv = result.throughput?.verified[name];
  if (tv) {
    if (tv.kernel !== null) seen.push(tv.kernel === want);
    seen.push(want ? tv.mptcp === tv.transfers : tv.mptcp === 0);
  }
  const lv = result.latency?.verified[name];
  if (lv) {
    seen.push(lv.client === want);
    if (lv.server !== null) seen.push(lv.server === want);
  }
  if (name === 'lib' && result.calls) seen.push(result.calls.mptcp === true);
  return seen.length ? seen.every(Boolean) : null;
}

/** The summary rows: { metric, measured, target, pass }. */
export function summarize(result) {
  const rows = [];
  const push = (metric, measured, target, pass) => rows.push({ metric, measured, target, pass });
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? a / b : NaN);
  const noBase = 'baseline unavailable';
  // lib against the mptcpize baseline (judged on `key`, `extra` for information) and against tcp
  const versus = (what, s, key, extra, cmp, target) => {
    if (s.mptcpize) {
      const r = ratio(s.lib[key], s.mptcpize[key]);
      push(`${what} lib/mptcpize (${key})`, r, `${cmp} ${target}`, cmp === '>=' ? r >= target : r <= target);
      push(`${what} lib/mptcpize (${extra})`, ratio(s.lib[extra], s.mptcpize[extra]), '(info)', null);
    } else {
      push(`${what} lib/mptcpize (${key})`, NaN, `${cmp} ${target}`, noBase);
    }
  };
  if (result.throughput) {
    const tp = result.throughput.stats;
    versus('throughput', tp, 'p90', 'median', '>=', TARGETS.tputRatio);
    push('throughput lib/tcp (p90)', ratio(tp.lib.p90, tp.tcp.p90), '(info)', null);
  }
  if (result.latency) {
    const lt = result.latency.stats;
    versus('connect latency', lt, 'median', 'p99', '<=', TARGETS.latMedianRatio);
    push('connect latency lib/tcp (median)', ratio(lt.lib.median, lt.tcp.median), '(info)', null);
  }
  if (result.calls) {
    for (const fn of ['isMptcp', 'getInfo', 'getSubflows']) {
      const v = result.calls.stats[fn]?.usMedian;
      push(`${fn} (µs/call)`, v, `<= ${TARGETS[fn]}`, v <= TARGETS[fn]);
    }
  }
  const c = result.checks;
  push('mptcpize baseline was MPTCP', c.mptcpize, 'yes', c.mptcpize === null ? noBase : c.mptcpize === true);
  push('lib connections were MPTCP', c.lib, 'yes', c.lib === null ? null : c.lib === true);
  push('tcp baseline was plain TCP', c.tcp, 'yes', c.tcp === null ? null : c.tcp === true);
  return rows;
}

/** Ratio rows lib/mptcpize, lib/tcp, mptcpize/tcp for the stats columns `cols`. */
function ratioRows(stats, cols) {
  const rows = [];
  const r = (a, b, k) => f(stats[a][k] / stats[b][k], 3);
  if (stats.mptcpize) rows.push(['lib / mptcpize', ...cols.map((k) => r('lib', 'mptcpize', k))]);
  else rows.push(['lib / mptcpize', ...cols.map(() => 'baseline unavailable')]);
  rows.push(['lib / tcp', ...cols.map((k) => r('lib', 'tcp', k))]);
  if (stats.mptcpize) rows.push(['mptcpize / tcp', ...cols.map((k) => r('mptcpize', 'tcp', k))]);
  return rows;
}

const ciText = (what, ci) => `lib/mptcpize ${what} ratio, bootstrap 90% interval from sampling noise: ${f(ci.lo, 3)} .. ${f(ci.hi, 3)}`;

/** The report as text, section by section. */
export function printTables(result) {
  const out = [];
  const env = result.env;
  out.push(`mptcp benchmark  node ${env.node}  kernel ${env.kernel}  cpus ${env.cpus}  ` +
    `pinning: ${env.taskset ? `senders/clients cpu ${CPU_SEND}, receivers/servers cpu ${CPU_RECV}` : 'none (taskset missing)'}` +
    `${env.quick ? '  [quick]' : ''}`);
  out.push(env.mptcpize
    ? `baselines: mptcpize = the same program on plain net under \`mptcpize run\` (${env.mptcpize}); tcp = plain net`
    : 'baselines: mptcpize = UNAVAILABLE (mptcpize not found or not usable; apt-get install -y mptcpd); tcp = plain net');
  out.push('');

  const t = result.throughput;
  if (t) {
    out.push(`1. Throughput: receiver-side rate per transfer, Gbit/s (${t.mibPerTransfer} MiB per transfer, ${t.chunkKib} KiB writes, ` +
      `${t.rounds} rounds, modes alternating, fresh process pairs every ${t.respawnEvery} rounds)`);
    out.push(table(['mode', 'n', 'median', 'p90', 'min', 'max', 'MPTCP (ss)', 'MPTCP (isMptcp)'],
      Object.entries(t.stats).map(([name, s]) => [name, s.n, f(s.median), f(s.p90), f(s.min), f(s.max),
        yesNo(t.verified[name].kernel), `${t.verified[name].mptcp}/${t.verified[name].transfers}`]),
      'lrrrrrlr'));
    out.push('');
    out.push(table(['ratio', 'p90', 'median'], ratioRows(t.stats, ['p90', 'median']), 'lrr'));
    if (t.ci.libVsMptcpizeP90) out.push(ciText('p90', t.ci.libVsMptcpizeP90));
    out.push('');
  }

  const l = result.latency;
  if (l) {
    out.push(`2. Connect latency: sequential connect + 1-byte echo + close, µs (${l.iterations} per mode, modes alternating in chunks of ` +
      `${CFG.latChunk}, fresh warmed-up process pairs every ${l.respawnEvery})`);
    out.push(table(['mode', 'n', 'median', 'p90', 'p99', 'min', "median to 'connect'", 'MPTCP (client/server)'],
      Object.entries(l.stats).map(([name, s]) => [name, s.n, f(s.median, 1), f(s.p90, 1), f(s.p99, 1), f(s.min, 1),
        f(s.connectMedian, 1), `${yesNo(l.verified[name].client)}/${yesNo(l.verified[name].server)}`]),
      'lrrrrrrl'));
    out.push('');
    out.push(table(['ratio', 'median', 'p99', "median to 'connect'"], ratioRows(l.stats, ['median', 'p99', 'connectMedian']), 'lrrr'));
    if (l.ci.libVsMptcpizeMedian) out.push(ciText('median', l.ci.libVsMptcpizeMedian));
    out.push('');
  }

  const c = result.calls;
  if (c) {
    out.push(`3. Per-call cost on an established MPTCP connection, µs/call (${c.subflows} subflow${c.subflows === 1 ? '' : 's'}; ` +
      `${c.calls} calls per function in ${c.batches} batches after ${CFG.callWarm} warm-up)`);
    out.push(table(['function', 'median batch', 'best batch', 'worst batch', 'target'],
      Object.entries(c.stats).map(([name, s]) => [name, f(s.usMedian, 3), f(s.usMin, 3), f(s.usMax, 3),
        TARGETS[name] !== undefined ? `<= ${TARGETS[name]}` : '(reference)']),
      'lrrrl'));
    out.push('');
  }

  const p = result.pm;
  if (p) {
    out.push(`4. Path-manager round trip in this process, µs/call (${p.calls} sequential awaited calls in ${p.batches} batches; ${p.endpoints} endpoint(s) here)`);
    out.push(table(['call', 'median', 'best', 'worst'],
      Object.entries(p.stats).map(([name, s]) => [name, f(s.usMedian, 1), f(s.usMin, 1), f(s.usMax, 1)]), 'lrrr'));
    const ref = p.stats['ref: `ip mptcp endpoint show` process'];
    if (ref) out.push(`pm.list() / one ip process: ${f(p.stats['pm.list()'].usMedian / ref.usMedian, 4)}`);
    out.push('');
  }

  const d = result.diag;
  if (d) {
    out.push(`5. connections() with ${d.connections} MPTCP connections open (${d.mptcpSockets} MPTCP sockets listed; ss listed ${d.ssSockets}), ms/call over ${d.rounds} calls`);
    out.push(table(['call', 'median', 'best', 'worst'],
      Object.entries(d.stats).map(([name, s]) => [name, f(s.usMedian / 1e3, 2), f(s.usMin / 1e3, 2), f(s.usMax / 1e3, 2)]), 'lrrr'));
    const r = (a, b) => f(d.stats[a].usMedian / d.stats[b].usMedian, 3);
    out.push(`connections() / one ss -Mni process: whole table ${r('connections() (whole table)', 'ref: one `ss -Mni` process (whole table)')}, ` +
      `one connection by port ${r('connections({ port })', 'ref: one `ss -Mni sport/dport = :P` process')}`);
    out.push('');
  }

  out.push('Summary (pass/fail is informative only)');
  out.push(table(['metric', 'measured', 'target', 'pass/fail'],
    result.summary.map((r) => [r.metric, typeof r.measured === 'number' ? f(r.measured, 3) : yesNo(r.measured), r.target, passText(r.pass)]),
    'lrll'));
  for (const w of result.warnings) out.push(`WARNING: ${w}`);
  out.push(`(${result.elapsedSec.toFixed(0)} s)`);
  process.stdout.write(out.join('\n') + '\n');
}
