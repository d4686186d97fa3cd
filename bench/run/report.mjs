// The loopback benchmark's report: whether each mode's connections were of
// the expected kind, the summary against the targets, and the tables.
import { fixed as f, passText, table, yesNo } from '../common.mjs';
import { CFG, CPU_RECV, CPU_SEND, TARGETS } from './config.mjs';
import { FLOORS } from './calls.mjs';

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

/**
 * The summary: one row per target, { metric, ratio, lo, hi, target, pass },
 * the ratio measured in this run with its bootstrap 90 % interval. A row
 * passes only when its whole interval is inside the target; then the rows
 * that check each mode's connections were of the kind expected.
 */
export function summarize(result) {
  const rows = [];
  // Adds a row and returns it.
  const judge = (metric, r, cmp, target) => {
    const row = !r || !Number.isFinite(r.ratio)
      ? { metric, ratio: NaN, target: `${cmp} ${target}`, pass: 'not measured' }
      : { metric, ratio: r.ratio, lo: r.lo, hi: r.hi, target: `${cmp} ${target}`, pass: cmp === '<=' ? r.hi <= target : r.lo >= target };
    rows.push(row);
    return row;
  };
  const ratioOf = (a, b, ci) => (ci ? { ratio: a / b, lo: ci.lo, hi: ci.hi } : null);
  // A ceiling that its own floor misses, the floor's whole interval above
  // it, is out of reach on this machine: the floor row gives the limit, the
  // row after it how close the library comes to that floor.
  const floorOf = (main, floor, ceiling) => {
    if (main && main.pass === false && floor.pass === false && floor.lo > ceiling) main.pass = 'out of reach';
  };
  // The same program against itself (A/A), under a target's row: what this
  // machine resolves. When the A/A's own interval reaches past the target,
  // no program, the baseline included, can pass that row here: a failing row
  // is then 'below resolution', not a verdict on the library.
  const aa = (main, metric, r, bound, cmp = '<=') => {
    if (!r || !Number.isFinite(r.ratio)) return;
    rows.push({ metric, ratio: r.ratio, lo: r.lo, hi: r.hi, target: 'resolution', pass: 'info' });
    // ...and only when the row's own interval reaches into the A/A's: a row wholly past its A/A is a verdict.
    const reaches = cmp === '<=' ? r.hi > bound && main?.lo <= r.hi : r.lo < bound && main?.hi >= r.lo;
    if (main && main.pass === false && reaches) main.pass = 'below resolution';
  };
  if (result.throughput) {
    const tp = result.throughput.stats;
    judge('throughput lib/mptcpize (p90)', tp.mptcpize && ratioOf(tp.lib.p90, tp.mptcpize.p90, result.throughput.ci.libVsMptcpizeP90), '>=', TARGETS.tputRatio);
  }
  if (result.latency) {
    const lt = result.latency.stats;
    const ci = result.latency.ci;
    const main = judge('connect + echo lib/mptcpize (median)', lt.mptcpize && ratioOf(lt.lib.median, lt.mptcpize.median, ci.libVsMptcpizeMedian), '<=', TARGETS.latMedianRatio);
    const again = lt['mptcpize again'];
    const p99 = judge('connect + echo lib/mptcpize (p99)', lt.mptcpize && ratioOf(lt.lib.p99, lt.mptcpize.p99, ci.libVsMptcpizeP99), '<=', TARGETS.latP99Ratio);
    if (again && lt.mptcpize) aa(p99, '  A/A: mptcpize again/mptcpize (p99)', ratioOf(again.p99, lt.mptcpize.p99, ci.againVsMptcpizeP99), TARGETS.latP99Ratio);
    const bn = result.latency.byName;
    if (bn) {
      judge("connect + echo by name lib/mptcpize (median)", ratioOf(bn.stats.lib.median, bn.stats.mptcpize.median, bn.ci.libVsMptcpizeMedian), '<=', TARGETS.latMedianRatio);
      const bp99 = judge("connect + echo by name lib/mptcpize (p99)", ratioOf(bn.stats.lib.p99, bn.stats.mptcpize.p99, bn.ci.libVsMptcpizeP99), '<=', TARGETS.latP99Ratio);
      const bagain = bn.stats['mptcpize again'];
      if (bagain) aa(bp99, '  A/A: mptcpize again/mptcpize (p99)', ratioOf(bagain.p99, bn.stats.mptcpize.p99, bn.ci.againVsMptcpizeP99), TARGETS.latP99Ratio);
    }
    if (lt.floor && lt.mptcpize) {
      // The floor of the library's way of connecting, against the same targets: how close the library gets.
      floorOf(main, judge('  floor/mptcpize (median)', ratioOf(lt.floor.median, lt.mptcpize.median, ci.floorVsMptcpizeMedian), '<=', TARGETS.latMedianRatio), TARGETS.latMedianRatio);
      judge('  lib/floor (median)', ratioOf(lt.lib.median, lt.floor.median, ci.libVsFloorMedian), '<=', TARGETS.latMedianRatio);
    }
    if (again && lt.mptcpize) {
      // The same program against itself across processes: what this machine resolves. Not a target.
      const r = ratioOf(again.median, lt.mptcpize.median, ci.againVsMptcpizeMedian);
      rows.push({ metric: '  A/A: mptcpize again/mptcpize (median)', ratio: r.ratio, lo: r.lo, hi: r.hi, target: 'resolution', pass: 'info' });
    }
    const one = result.latency.oneProcess;
    if (one) {
      // In one mptcpize'd process, connect by connect: no process effects between the two.
      const os = one.literal.stats;
      const oneMain = judge('connect + echo in one process lib/mptcpize (median)', ratioOf(os.lib.median, os.net.median, one.literal.ci.libVsMptcpizeMedian), '<=', TARGETS.latMedianRatio);
      const op99 = judge('connect + echo in one process lib/mptcpize (p99)', ratioOf(os.lib.p99, os.net.p99, one.literal.ci.libVsMptcpizeP99), '<=', TARGETS.latP99Ratio);
      if (os['net again']) aa(op99, '  A/A: mptcpize again/mptcpize (p99)', ratioOf(os['net again'].p99, os.net.p99, one.literal.ci.againVsMptcpizeP99), TARGETS.latP99Ratio);
      if (os.floor) {
        floorOf(oneMain, judge('  floor/mptcpize (median)', ratioOf(os.floor.median, os.net.median, one.literal.ci.floorVsMptcpizeMedian), '<=', TARGETS.latMedianRatio), TARGETS.latMedianRatio);
        judge('  lib/floor (median)', ratioOf(os.lib.median, os.floor.median, one.literal.ci.libVsFloorMedian), '<=', TARGETS.latMedianRatio);
      }
      if (one.byName) {
        const ns = one.byName.stats;
        judge('connect + echo by name in one process lib/mptcpize (median)', ratioOf(ns.lib.median, ns.net.median, one.byName.ci.libVsMptcpizeMedian), '<=', TARGETS.latMedianRatio);
        const np99 = judge('connect + echo by name in one process lib/mptcpize (p99)', ratioOf(ns.lib.p99, ns.net.p99, one.byName.ci.libVsMptcpizeP99), '<=', TARGETS.latP99Ratio);
        if (ns['net again']) aa(np99, '  A/A: mptcpize again/mptcpize (p99)', ratioOf(ns['net again'].p99, ns.net.p99, one.byName.ci.againVsMptcpizeP99), TARGETS.latP99Ratio);
      }
    }
  }
  if (result.calls) {
    for (const fn of ['isMptcp', 'getInfo', 'getSubflows']) {
      const r = result.calls.ratios[fn] ?? {};
      const t = TARGETS.callFloorRatio;
      const main = judge(`${fn} / C getsockopt floor`, r.libVsC, '<=', t);
      floorOf(main, judge(`  its bare addon call / C floor`, r.napiVsC, '<=', t), t);
      if (r.decodedVsC) {
        // A result object to build: the floor is the addon's call and the decode.
        floorOf(main, judge(`  its addon call + decode / C floor`, r.decodedVsC, '<=', t), t);
        judge(`  ${fn} / its addon call + decode`, r.libVsDecoded, '<=', TARGETS.callFloorRatio);
      } else {
        judge(`  ${fn} / its bare addon call`, r.libVsNapi, '<=', TARGETS.callFloorRatio);
      }
    }
  }
  if (result.http) {
    for (const [kind, r] of Object.entries(result.http.ratios)) {
      const main = judge(`HTTP ${kind} requests/s lib/mptcpize`, r.rps, '>=', TARGETS.httpRpsRatio);
      if (r.cpu) rows.push({ metric: `  server CPU per request lib/mptcpize`, ratio: r.cpu.ratio, lo: r.cpu.lo, hi: r.cpu.hi, target: 'cost', pass: 'info' });
      // The plain program against itself: what this machine resolves.
      const again = result.http.again?.[kind];
      if (again) aa(main, '  A/A: mptcpize again/mptcpize requests/s', again.rps, TARGETS.httpRpsRatio, '>=');
    }
  }
  if (result.memory) {
    judge('heap per connection lib/mptcpize', result.memory.ratios.heap, '<=', TARGETS.memRatio);
    judge('RSS per connection lib/mptcpize', result.memory.ratios.rss, '<=', TARGETS.memRatio);
  }
  return rows;
}

/** The rows saying whether each mode's connections were of the kind expected, { metric, value, pass }. */
export function checkRows(result) {
  const c = result.checks;
  const noBase = 'baseline unavailable';
  const rows = [
    { metric: 'mptcpize baseline was MPTCP', value: c.mptcpize, pass: c.mptcpize === null ? noBase : c.mptcpize === true },
    { metric: 'lib connections were MPTCP', value: c.lib, pass: c.lib === null ? null : c.lib === true },
    { metric: 'tcp baseline was plain TCP', value: c.tcp, pass: c.tcp === null ? null : c.tcp === true },
  ];
  if (result.http) {
    for (const [name, v] of Object.entries(result.http.verified)) {
      rows.push({ metric: `HTTP ${name} server: accepted connections MPTCP`, value: `${v.mptcp}/${v.connections}`, pass: v.allMptcp });
    }
    const n = result.http.countMismatches;
    if (n !== undefined) rows.push({ metric: "HTTP runs where autocannon's and the server's counts disagree", value: String(n), pass: n === 0 });
  }
  if (result.memory) {
    for (const [name, s] of Object.entries(result.memory.stats)) {
      const ok = s.connected === s.connections && s.mptcp === s.connections;
      rows.push({ metric: `memory ${name}: connections open and MPTCP (fewest of ${s.runs} runs)`, value: `${s.mptcp}/${s.connections}`, pass: ok });
    }
  }
  const bn = result.latency?.byName;
  if (bn) {
    for (const [name, v] of Object.entries(bn.verified)) {
      rows.push({ metric: `connect by name, ${name}: MPTCP (client/server)`, value: `${yesNo(v.client)}/${yesNo(v.server)}`, pass: v.client === true && v.server === true });
    }
  }
  const one = result.latency?.oneProcess;
  if (one) {
    for (const r of [one.literal, one.byName].filter(Boolean)) {
      for (const [kind, v] of Object.entries(r.verified.client)) {
        rows.push({ metric: `one process (${r.host}), ${kind.replace(/^net\b/, 'mptcpize')}: MPTCP (client/server)`, value: `${yesNo(v)}/${yesNo(r.verified.server)}`, pass: v === true && r.verified.server === true });
      }
    }
  }
  if (result.calls) rows.push({ metric: 'per-call connection was MPTCP', value: result.calls.mptcp, pass: result.calls.mptcp === true });
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
    const iv = (x) => (x ? ` (${f(x.lo, 3)}..${f(x.hi, 3)})` : '');
    const rows = ratioRows(l.stats, ['median', 'p99', 'connectMedian']);
    if (l.stats.floor) {
      const r = (a, b, k) => f(l.stats[a][k] / l.stats[b][k], 3);
      rows.push(['lib / floor', r('lib', 'floor', 'median') + iv(l.ci.libVsFloorMedian), r('lib', 'floor', 'p99') + iv(l.ci.libVsFloorP99), r('lib', 'floor', 'connectMedian')]);
      if (l.stats.mptcpize) rows.push(['floor / mptcpize', r('floor', 'mptcpize', 'median') + iv(l.ci.floorVsMptcpizeMedian), r('floor', 'mptcpize', 'p99'), r('floor', 'mptcpize', 'connectMedian')]);
    }
    if (l.stats.mptcpize) {
      rows[0][1] += iv(l.ci.libVsMptcpizeMedian);
      rows[0][2] += iv(l.ci.libVsMptcpizeP99);
    }
    out.push(table(['ratio (90% interval)', 'median', 'p99', "median to 'connect'"], rows, 'lrrr'));
    out.push("floor: net's own connect on a handle opened on an MPTCP descriptor the addon made, nothing else: the least the library's way of connecting costs.");
    out.push('');
    const one = l.oneProcess;
    if (one) {
      const name = (k) => k.replace(/^net\b/, 'mptcpize');
      for (const [label, r] of [['2c', one.literal], ['2d', one.byName]]) {
        if (!r) continue;
        out.push(`${label}. In one process under mptcpize, host '${r.host}': the library's connect, mptcpize'd net.connect${r.stats.floor ? ', the floor' : ''}` +
          `${r.stats['net again'] ? ' and net.connect again (A/A)' : ''} taking turns in runs of ${CFG.latBlock} in a random order, ${r.iterations} each, one mptcpize'd server`);
        const base = r.stats.net;
        out.push(table(['connect', 'n', 'median', 'p90', 'p99', "median to 'connect'", 'median / mptcpize (90% interval)'],
          Object.entries(r.stats).map(([k, st]) => [name(k), st.n, f(st.median, 1), f(st.p90, 1), f(st.p99, 1), f(st.connectMedian, 1),
            k === 'lib' ? `${f(st.median / base.median, 3)}${iv(r.ci.libVsMptcpizeMedian)}` : k === 'floor' ? `${f(st.median / base.median, 3)}${iv(r.ci.floorVsMptcpizeMedian)}`
              : k === 'net again' ? `${f(st.median / base.median, 3)}${iv(r.ci.againVsMptcpizeMedian)}` : '']),
          'lrrrrrl'));
        out.push(`client MPTCP: ${Object.entries(r.verified.client).map(([k, v]) => `${name(k)} ${yesNo(v)}`).join(', ')}; server: ${yesNo(r.verified.server)}`);
        out.push('');
      }
    }
    const bn = l.byName;
    if (bn) {
      out.push(`2b. The same by name (host '${bn.host}': a lookup, both families, Happy Eyeballs), ${bn.iterations} per mode`);
      out.push(table(['mode', 'n', 'median', 'p90', 'p99', "median to 'connect'", 'MPTCP (client/server)', 'lib / mptcpize (90% interval)'],
        Object.entries(bn.stats).map(([name, st]) => [name, st.n, f(st.median, 1), f(st.p90, 1), f(st.p99, 1), f(st.connectMedian, 1),
          `${yesNo(bn.verified[name].client)}/${yesNo(bn.verified[name].server)}`,
          name === 'lib' ? `median ${f(st.median / bn.stats.mptcpize.median, 3)}${iv(bn.ci.libVsMptcpizeMedian)}, p99 ${f(st.p99 / bn.stats.mptcpize.p99, 3)}${iv(bn.ci.libVsMptcpizeP99)}` : '']),
        'lrrrrrll'));
      out.push('');
    }
  }

  const c = result.calls;
  if (c) {
    out.push(`3. Per-call cost on an established MPTCP connection, µs/call (${c.subflows} subflow${c.subflows === 1 ? '' : 's'}; ` +
      `${c.rounds} rounds of ${c.calls} calls per function in ${c.batches} batches after ${CFG.callWarm} warm-up; medians over batches)`);
    const us = (s) => (s ? f(s.usMedian, 3) : 'n/a');
    const iv = (r) => (r ? `${f(r.ratio, 3)} (${f(r.lo, 3)}..${f(r.hi, 3)})` : 'n/a');
    out.push(table(['function', 'library', 'N-API + decode', 'N-API floor', 'C floor', 'library / C', 'N-API / C', 'N-API + decode / C', 'library / N-API'],
      Object.entries(FLOORS).map(([fn, fl]) => [fn, us(c.stats[fn]), fl.decoded ? us(c.stats[fl.decoded]) : '-', us(c.stats[fl.napi]), us(c.floor[fl.c]),
        iv(c.ratios[fn].libVsC), iv(c.ratios[fn].napiVsC), fl.decoded ? iv(c.ratios[fn].decodedVsC) : '-', iv(c.ratios[fn].libVsNapi)]),
      'lrrrrrrrr'));
    out.push('C floor: the bare getsockopt in C++ (native/floor/floor.cc); N-API floor: the addon call alone from JavaScript, same descriptor;');
    out.push('N-API + decode: that call and the library\'s decode of the struct into the returned objects, nothing else.');
    const refs = Object.entries(c.stats).filter(([name]) => name.startsWith('ref: '));
    if (refs.length) out.push(`references: ${refs.map(([name, s]) => `${name.slice(5)} ${f(s.usMedian, 3)} µs`).join(', ')}`);
    out.push('');
  }

  const h = result.http;
  if (h) {
    out.push(`4. HTTP server under autocannon (one autocannon process under mptcpize; ${h.connections} connections, ${h.rounds} rounds of one run of ${h.seconds} s per server and load, the servers taking turns, fresh server processes every ${h.respawnEvery ?? 'n/a'} rounds): medians over runs`);
    const rows = [];
    for (const [name, byKind] of Object.entries(h.stats)) {
      for (const [kind, s] of Object.entries(byKind)) {
        rows.push([name, kind, f(s.rps, 0), f(s.p50, 2), f(s.p90, 2), f(s.p99, 2), f(s.cpuPerRequestUs, 1), `${s.errors}/${s.non2xx}`, `${s.mptcp}/${s.connections}`]);
      }
    }
    out.push(table(['server', 'load', 'requests/s', 'p50 ms', 'p90 ms', 'p99 ms', 'server CPU µs/request', 'errors/non-2xx', 'MPTCP accepted'], rows, 'llrrrrrrr'));
    out.push('');
    const ratioRow = (what, kind, r) => [what, kind, `${f(r.rps.ratio, 3)} (${f(r.rps.lo, 3)}..${f(r.rps.hi, 3)})`,
      r.cpu ? `${f(r.cpu.ratio, 3)} (${f(r.cpu.lo, 3)}..${f(r.cpu.hi, 3)})` : 'n/a', f(r.p50, 3), f(r.p99, 3)];
    out.push(table(['ratio', 'load', 'requests/s (90% interval)', 'server CPU per request (90% interval)', 'p50 ratio', 'p99 ratio'],
      [...Object.entries(h.ratios).map(([kind, r]) => ratioRow('lib/mptcpize', kind, r)),
        ...Object.entries(h.again ?? {}).map(([kind, r]) => ratioRow('A/A: mptcpize again/mptcpize', kind, r))], 'llrrrr'));
    out.push('Connection: close: one request per connection; autocannon closes after each response and connects anew, the server closes too.');
    out.push(`autocannon's response counts checked against the server's after every run: ${h.countMismatches ?? 'n/a'} disagreement(s).`);
    out.push('');
  }

  const mm = result.memory;
  if (mm) {
    out.push(`5. Memory per open connection, bytes (${mm.connections} connections held open at once by one client process; heap and RSS after a full GC ` +
      `with half, then all, open, per connection of the second half; ${mm.rounds} runs per mode, taking turns): medians over runs`);
    out.push(table(['client', 'open', 'MPTCP', 'heap per connection', 'RSS per connection'],
      Object.entries(mm.stats).map(([name, s]) => [name, `${s.connected}/${s.connections}`, `${s.mptcp}`, f(s.heapPerConn, 0), f(s.rssPerConn, 0)]), 'lrrrr'));
    out.push('');
  }

  const p = result.pm;
  if (p) {
    out.push(`6. Path-manager round trip in this process, µs/call (${p.calls} sequential awaited calls in ${p.batches} batches; ${p.endpoints} endpoint(s) here)`);
    out.push(table(['call', 'median', 'best', 'worst'],
      Object.entries(p.stats).map(([name, s]) => [name, f(s.usMedian, 1), f(s.usMin, 1), f(s.usMax, 1)]), 'lrrr'));
    const ref = p.stats['ref: `ip mptcp endpoint show` process'];
    if (ref) out.push(`pm.list() / one ip process: ${f(p.stats['pm.list()'].usMedian / ref.usMedian, 4)}`);
    out.push('');
  }

  const d = result.diag;
  if (d) {
    out.push(`7. connections() with ${d.connections} MPTCP connections open (${d.mptcpSockets} MPTCP sockets listed; ss listed ${d.ssSockets}), ms/call over ${d.rounds} calls`);
    out.push(table(['call', 'median', 'best', 'worst'],
      Object.entries(d.stats).map(([name, s]) => [name, f(s.usMedian / 1e3, 2), f(s.usMin / 1e3, 2), f(s.usMax / 1e3, 2)]), 'lrrr'));
    const r = (a, b) => f(d.stats[a].usMedian / d.stats[b].usMedian, 3);
    out.push(`connections() / one ss -Mni process: whole table ${r('connections() (whole table)', 'ref: one `ss -Mni` process (whole table)')}, ` +
      `one connection by port ${r('connections({ port })', 'ref: one `ss -Mni sport/dport = :P` process')}`);
    out.push('');
  }

  out.push('Summary: each ratio of this run against its target, with its bootstrap 90% interval; PASS only when the whole interval is inside the target;');
  out.push("out of reach: the target's own floor (an indented row below it) misses it with its whole interval; the row after the floor says how close the library comes to it");
  out.push("below resolution: a failing row whose A/A (the baseline against itself, the indented row below it) reaches past the target with its interval: no program can pass it here; read the ratio against the A/A's");
  out.push(table(['metric', 'ratio', '90% interval', 'target', 'verdict'],
    result.summary.map((r) => [r.metric, f(r.ratio, 3), r.lo === undefined ? 'n/a' : `${f(r.lo, 3)} .. ${f(r.hi, 3)}`, r.target, passText(r.pass)]),
    'lrrll'));
  out.push('');
  out.push(table(['check', 'seen', 'verdict'], checkRows(result).map((r) => [r.metric, yesNo(r.value), passText(r.pass)]), 'lrl'));
  for (const w of result.warnings) out.push(`WARNING: ${w}`);
  out.push(`(${result.elapsedSec.toFixed(0)} s)`);
  process.stdout.write(out.join('\n') + '\n');
}
