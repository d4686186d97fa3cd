// The lab benchmark's report: whether each baseline ran as it should, the
// summary against the targets, the tables, and the JSON and SVG in docs/.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bytesText, fixed as f, passText, table, yesNo } from '../common.mjs';
import { CFG, DOCS, DSS_BYTES, JSON_OUT, TARGETS, ceiling } from './config.mjs';
import { renderSvg } from './chart.mjs';

/** Whether lib, kernel and tcp connections were what they should be (null without aggregation). */
export function checks(result) {
  const c = {};
  const a = result.aggregation;
  if (!a) return null;
  const all = (k) => a.configs.flatMap((x) => x.samples[k]);
  c.lib = all('lib').every((s) => s.clientMptcp && s.serverMptcp && s.subflowsAtEnd === 2 && s.checksumOk);
  c.kernel = result.env.python.available ? all('kernel').every((s) => s.clientMptcp && s.serverMptcp && s.extraSubflows === 1) : null;
  c.tcp = all('tcp').every((s) => !s.clientMptcp && !s.serverMptcp);
  return c;
}

/** Worst ratio over the rates of one MTU, with the rate it occurred at. */
function worst(configs, mtu, key) {
  let w = null;
  for (const c of configs.filter((x) => x.mtu === mtu)) {
    const v = c.ratios[key];
    if (!Number.isFinite(v)) return { value: NaN, rate: c.rateMbit };
    if (!w || v < w.value) w = { value: v, rate: c.rateMbit };
  }
  return w ?? { value: NaN, rate: null };
}

/** The summary rows: { metric, measured, target, pass }. */
export function summarize(result) {
  const rows = [];
  const push = (metric, measured, target, pass) => rows.push({ metric, measured, target, pass });
  const a = result.aggregation;
  if (a) {
    for (const mtu of CFG.mtus) {
      const w = worst(a.configs, mtu, 'libToLinkSum');
      const cap = ceiling(mtu, true);
      const note = cap < TARGETS.linkSumRatio ? ` (ceiling ${f(cap, 3)} < target)` : '';
      push(`lib / link sum, MTU ${mtu}, worst rate`, `${f(w.value, 3)} @${w.rate}${note}`, `>= ${TARGETS.linkSumRatio}`, w.value >= TARGETS.linkSumRatio);
    }
    for (const mtu of CFG.mtus) {
      const w = worst(a.configs, mtu, 'libToKernel');
      push(`lib / kernel, MTU ${mtu}, worst rate`, result.env.python.available ? `${f(w.value, 3)} @${w.rate}` : 'n/a',
        `>= ${TARGETS.kernelRatio}`, result.env.python.available ? w.value >= TARGETS.kernelRatio : 'baseline unavailable');
    }
  }
  // r: worstOf(runs); every number is the worst over the runs
  const scenario = (label, r) => {
    if (!r) return;
    const of = r.runs > 1 ? ` (worst of ${r.runs})` : '';
    push(`${label}: bytes lost${of}`, r.bytesLost ?? (r.error ? `error: ${r.error}` : 'n/a'), '= 0', r.bytesLost === TARGETS.bytesLost);
    push(`${label}: checksum${r.runs > 1 ? ` (all ${r.runs})` : ''}`, r.checksumOk ? 'match' : 'MISMATCH', 'match', r.checksumOk === true);
    push(`${label}: stall = max receive gap, ms${of}`, r.stallMs ?? 'n/a', `< ${TARGETS.stallMs}`, typeof r.stallMs === 'number' && r.stallMs < TARGETS.stallMs);
    push(`${label}: outage = time below half rate, ms${of}`, r.outage?.ms ?? 'n/a', `< ${TARGETS.stallMs}`, typeof r.outage?.ms === 'number' && r.outage.ms < TARGETS.stallMs);
  };
  if (result.failover) {
    const w = result.failover.worst;
    scenario('failover, cut path 2', w.path2);
    push(`failover, cut path 2: restore -> new subflow, ms${w.path2.runs > 1 ? ` (worst of ${w.path2.runs})` : ''}`, w.path2.restoreToNewSubflowMs ?? 'none in some run', '(info)', null);
    scenario('failover, cut path 1', w.path1);
  }
  if (result.backup) {
    const w = result.backup.worst;
    scenario('backup switch', w);
    push(`backup subflow: bytes acked before cut${w.runs > 1 ? ` (max of ${w.runs})` : ''}`, w.backupAckedBeforeCut ?? 'n/a', '(info: ~0 = idle)', null);
  }
  const c = result.checks;
  if (c) {
    push('lib connections MPTCP with 2 subflows', c.lib, 'yes', c.lib === true);
    if (c.kernel !== undefined) push('kernel baseline MPTCP with 2 subflows', c.kernel, 'yes', c.kernel === null ? 'baseline unavailable' : c.kernel === true);
    if (c.tcp !== undefined) push('tcp baseline plain TCP', c.tcp, 'yes', c.tcp === true);
  }
  if (result.events) {
    const e = result.events;
    push('monitor: events delivered / ip mptcp monitor', f(e.libOverIp, 3), '= 1 (none lost)', e.libOverIp === 1);
    push('monitor: events per second delivered', f(e.eventsPerSec, 0), '(info)', null);
  }
  return rows;
}

/** Section 1: goodput per rate and MTU, then the targets per MTU against the header ceiling. */
function aggregationTables(result, out) {
  const a = result.aggregation;
  out.push(`1. Aggregation: server-side goodput, Mbit/s, median of ${a.reps} run${a.reps === 1 ? '' : 's'} of ${a.seconds} s ` +
    `(tcp: ${a.tcpReps} run${a.tcpReps === 1 ? '' : 's'} of ${a.tcpSeconds} s); lib and kernel over 2 paths, tcp over path 1 only`);
  out.push(table(
    ['MTU', 'rate/path', 'link sum', 'MPTCP ceiling', 'lib 2-path', 'kernel 2-path', 'tcp 1-path', 'lib/sum', 'kernel/sum', 'lib/kernel', 'lib/ceiling', 'tcp/rate'],
    a.configs.map((c) => [c.mtu, c.rateMbit, c.linkSumMbit, f(c.linkSumMbit * c.ceiling.mptcp, 1),
      f(c.median.lib, 1), f(c.median.kernel, 1), f(c.median.tcp, 1),
      f(c.ratios.libToLinkSum, 3), f(c.ratios.kernelToLinkSum, 3), f(c.ratios.libToKernel, 3), f(c.ratios.libToCeiling, 3), f(c.ratios.tcpToRate, 3)]),
    'r'.repeat(12)));
  out.push('');
  out.push(`Targets, judged on each MTU separately (every rate must pass): lib/sum >= ${TARGETS.linkSumRatio}, lib/kernel >= ${TARGETS.kernelRatio}.`);
  out.push(`Ceiling = payload / frame, payload = MTU - 20 IP - 20 TCP - 12 timestamps - ${DSS_BYTES} DSS (MPTCP) or - 0 (TCP), frame = MTU + 14;`);
  out.push('  "payload/segment" = tcpi_rcv_mss of the kernel-baseline subflows at the receiver (measured, confirms the DSS size).');
  const mssText = (mtu) => {
    const ms = a.configs.filter((c) => c.mtu === mtu && c.kernelRcvMss).map((c) => c.kernelRcvMss);
    if (!ms.length) return 'n/a';
    const lo = Math.min(...ms.map((m) => m.min));
    const hi = Math.max(...ms.map((m) => m.max));
    return lo === hi ? String(lo) : `${lo}-${hi}`;
  };
  const python = result.env.python.available;
  out.push(table(
    ['MTU', 'ceiling MPTCP', 'ceiling TCP', 'payload/segment', `lib/sum worst`, `>= ${TARGETS.linkSumRatio}`, 'lib/kernel worst', `>= ${TARGETS.kernelRatio}`],
    CFG.mtus.map((mtu) => {
      const ws = worst(a.configs, mtu, 'libToLinkSum');
      const wk = worst(a.configs, mtu, 'libToKernel');
      const cap = ceiling(mtu, true);
      return [mtu, f(cap, 3), f(ceiling(mtu, false), 3), mssText(mtu), `${f(ws.value, 3)} @${ws.rate}`,
        passText(ws.value >= TARGETS.linkSumRatio) + (cap < TARGETS.linkSumRatio ? ' (unreachable: ceiling < target)' : ''),
        python ? `${f(wk.value, 3)} @${wk.rate}` : 'n/a',
        python ? passText(wk.value >= TARGETS.kernelRatio) : 'baseline unavailable'];
    }),
    'rrrrrlrl'));
  out.push('');
}

const outageText = (r) => (r.outage ? `${r.outage.ms} @${r.outage.atMs}` : 'n/a');
const noneOr = (ms) => (ms === null || ms === undefined ? 'none' : f(ms, 0));

/** Sections 2 and 3: the failover and backup runs. */
function scenarioTables(result, out) {
  const fo = result.failover;
  const n = CFG.scenarioReps;
  if (fo) {
    out.push(`2. Failover: 2 x ${CFG.failoverRate} Mbit/s, one lib connection sending ${CFG.failoverMib} MiB with SHA-256, ${n} run(s) per cut; ` +
      `link down at ${CFG.cutAtMs} ms, endpoint withdrawn + addresses removed at ${CFG.withdrawAtMs} ms, restored at ${CFG.restoreAtMs} ms ` +
      `(client info polled every ${CFG.pollMs} ms)`);
    const row = (label, r) => (r ? [label, bytesText(r.bytesSent), r.bytesLost ?? 'n/a', r.bytesSent === undefined ? 'n/a' : r.checksumOk ? 'match' : 'MISMATCH',
      f(r.stallMs, 0) + (r.stallEndedByRestore ? ' (ended by restore)' : ''), f(r.stallAtMs, 0), outageText(r),
      noneOr(r.restoreToNewSubflowMs), noneOr(r.restoreToDataMs), f(r.goodputMbit, 1), r.error ? `error: ${r.error}` : ''] : null);
    out.push(table(
      ['cut', 'sent', 'bytes lost', 'sha256', 'stall ms', 'stall at ms', 'outage ms @at', 'restore -> new subflow ms', 'restore -> path carries data ms', 'goodput', 'note'],
      [...fo.runs.path2.map((r, i) => row(`path 2 (joined subflow)${n > 1 ? `, run ${i + 1}` : ''}`, r)),
        ...fo.runs.path1.map((r, i) => row(`path 1 (initial subflow)${n > 1 ? `, run ${i + 1}` : ''}`, r))],
      'lrrlrrrrrrl'));
    out.push('stall = longest gap between data arrivals at the server (agent maxGapMs); "stall at" = when it began, ms after the first byte.');
    out.push('outage = longest run of 50 ms receive bins each below half the median bin: it also counts time in which only');
    out.push('  a few reinjected segments trickle in. "path carries data" = >64 KiB newly acked on the cut path after the restore.');
    out.push('');
  }
  if (result.backup) {
    out.push(`3. Backup: path 1 ${CFG.failoverRate} Mbit/s, path 2 ${CFG.failoverRate} Mbit/s announced as backup, ${n} run(s); lib connection sending for ` +
      `${CFG.backupSeconds} s, path 1 link down at ${CFG.backupCutAtMs} ms (bytesAcked from ${CFG.backupSampleMs} ms progress samples)`);
    out.push(table(
      ['run', 'backup acked before cut (B)', 'primary acked before cut', 'backup acked at end', 'sent', 'bytes lost', 'sha256', 'stall ms', 'stall at ms', 'outage ms @at', 'note'],
      result.backup.runs.map((b, i) => [i + 1, b.backupAckedBeforeCut ?? 'n/a', bytesText(b.primaryAckedBeforeCut), bytesText(b.backupAckedAtEnd), bytesText(b.bytesSent), b.bytesLost ?? 'n/a',
        b.checksumOk ? 'match' : 'MISMATCH', f(b.stallMs, 0), f(b.stallAtMs, 0), outageText(b), b.error ? `error: ${b.error}` : '']),
      'rrrrrrlrrrl'));
    out.push('');
  }
}

/** The report as text, section by section. */
export function printTables(result) {
  const out = [];
  const env = result.env;
  out.push(`mptcp lab benchmark  node ${env.node}  kernel ${env.kernel}  cpus ${env.cpus}  ${env.date}${env.quick ? '  [quick]' : ''}`);
  out.push(env.python.available
    ? `baselines: kernel = Python ${env.python.version} MPTCP sender + sink (${env.python.path}); tcp = plain node:net on path 1; link sum = 2 x tbf rate`
    : `baselines: kernel = UNAVAILABLE (${env.python.reason}); tcp = plain node:net on path 1; link sum = 2 x tbf rate`);
  out.push('');
  if (result.aggregation) aggregationTables(result, out);
  scenarioTables(result, out);
  const ev = result.events;
  if (ev) {
    out.push(`4. Events: ${ev.connections} library connections opened and closed across the lab (8 at a time) while mptcp.monitor() counts in the client namespace`);
    out.push(table(['connections/s', 'events (monitor)', 'events (ip mptcp monitor)', 'monitor / ip', 'events/s delivered', 'by type'],
      [[f(ev.connectionsPerSec, 0), ev.libEvents, ev.ipEvents, f(ev.libOverIp, 3), f(ev.eventsPerSec, 0),
        Object.entries(ev.byType).map(([k, v]) => `${k} ${v}`).join(', ')]], 'rrrrrl'));
    out.push('');
  }
  out.push('Summary (pass/fail is informative only)');
  out.push(table(['metric', 'measured', 'target', 'pass/fail'],
    result.summary.map((r) => [r.metric, typeof r.measured === 'number' ? (Number.isInteger(r.measured) ? String(r.measured) : f(r.measured, 1)) : yesNo(r.measured),
      r.target, passText(r.pass)]),
    'lrll'));
  for (const w of result.warnings) out.push(`WARNING: ${w}`);
  for (const e of result.errors) out.push(`ERROR: ${e}`);
  out.push(`(${result.elapsedSec.toFixed(0)} s; written: ${path.relative(process.cwd(), path.join(DOCS, 'bench-lab.json'))}, ${path.relative(process.cwd(), path.join(DOCS, 'bench-lab.svg'))})`);
  process.stdout.write(out.join('\n') + '\n');
}

/** Writes docs/bench-lab.json and docs/bench-lab.svg, then the JSON (--json) or the tables to stdout. */
export function report(result) {
  mkdirSync(DOCS, { recursive: true });
  writeFileSync(path.join(DOCS, 'bench-lab.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(path.join(DOCS, 'bench-lab.svg'), renderSvg(result));
  if (JSON_OUT) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printTables(result);
}
