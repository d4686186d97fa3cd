// The soak benchmark's printed tables (see bench/soak.mjs), from the result
// object that docs/bench-soak.json holds.
import path from 'node:path';
import { table } from './common.mjs';
import { CONSUMERS, SHORT } from './soak-monitor.mjs';
import { MB, sum } from './soak-shared.mjs';

const f = (x, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const mb = (b) => f(b / MB, 1);
const smb = (b) => `${b >= 0 ? '+' : ''}${f(b / MB, 1)}`;
const sme = (s, k, fmt) => `${fmt(s.start[k])} / ${fmt(s.mid[k])} / ${fmt(s.end[k])}`;
const num = (x) => (typeof x === 'number' ? x.toLocaleString('en-US') : 'n/a');
const byTypeText = (o) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');

/** What a monitor's counts say, in a few words: all delivered, or delivered + dropped against the oracle. */
function monitorCheck(x, mo) {
  const oracle = mo.ipEvents + mo.oracleDrops;
  const ipText = `ip mptcp monitor${mo.oracleDrops ? ` (${num(mo.ipEvents)} + ${num(mo.oracleDrops)} dropped)` : ''}`;
  if (!x.kernelDrops && !x.overruns.events) {
    return x.libEvents === oracle ? `all ${num(x.libEvents)} events, = ${ipText}` : `${num(x.libEvents)} events, ${ipText} ${num(oracle)}`;
  }
  const o = x.overruns;
  const after = o.eventsAfterLast > 0 && o.fewestEventsBetween !== 0 ? 'delivering after each' : 'NOT delivering after each';
  return `${num(x.libEvents)} + ${num(x.kernelDrops)} dropped ${x.deliveredPlusDropped === oracle ? '=' : '!='} ${ipText} ${num(oracle)}; ` +
    `${num(o.events)} overrun${o.events === 1 ? '' : 's'}, ${after}`;
}

/** soak / count / fds / RSS / heap / rate / check, one row per process measured (also README-ready). */
function summaryTable(result) {
  const rows = [];
  const c = result.cycles;
  if (c) {
    const what = { lib: 'lib connect/echo/close', net: 'net connect/echo/close (baseline)' };
    for (const [n, s] of Object.entries(c.sides)) {
      const mptcp = n === 'lib'
        ? (s.clientMptcp === s.cycles && s.serverMptcp === s.accepted ? 'all MPTCP' : `MPTCP ${num(s.clientMptcp)} / ${num(s.serverMptcp)}`)
        : (s.clientMptcp === 0 && s.serverMptcp === 0 ? 'all TCP' : `MPTCP ${num(s.clientMptcp)} / ${num(s.serverMptcp)}`);
      rows.push([what[n] ?? n, `${num(s.cycles)} cycles`, sme(s, 'fds', String), sme(s, 'rss', mb), sme(s, 'heapUsed', mb),
        `${num(Math.round(s.cyclesPerSec))} cycles/s`, `echoes ${num(s.echoOk)}/${num(s.cycles)}, ${mptcp}`]);
    }
  }
  const mo = result.monitor;
  if (mo && !mo.skipped) {
    for (const x of Object.values(mo.monitors)) {
      rows.push([`monitor, ${CONSUMERS[x.consume]}${mo.rateCap ? ` (${mo.rateCap} conn/s cap)` : ''}`, `${num(mo.connections)} connections`,
        sme(x, 'fds', String), sme(x, 'rss', mb), sme(x, 'heapUsed', mb),
        `${num(Math.round(mo.connectionsPerSec))} conn/s, ${num(Math.round(x.eventsPerSec))} events/s`, monitorCheck(x, mo)]);
    }
  }
  return table(['soak', 'count', 'fds start/mid/end', 'RSS MB start/mid/end', 'heap MB start/mid/end', 'rate', 'check'], rows,
    ['l', 'r', 'r', 'r', 'r', 'r', 'l']);
}

/** Prints the result as tables on stdout; `written` is the JSON file's path. */
export function printTables(result, written) {
  const out = [];
  const env = result.env;
  out.push(`mptcp soak benchmark  node ${env.node}  kernel ${env.kernel}  cpus ${env.cpus}  ${env.date}${env.quick ? '  [quick]' : ''}  ` +
    `load average ${env.loadavgAtStart.map((x) => x.toFixed(1)).join(' ')} at start, ${env.loadavgAtEnd.map((x) => x.toFixed(1)).join(' ')} at end`);
  out.push('memory and descriptors are sampled in each worker process after a forced full GC (node --expose-gc)');
  out.push('');

  const c = result.cycles;
  if (c) {
    const S = c.sides;
    out.push(`1. connect / echo ${c.payloadBytes} B / close: ${num(c.cycles)} cycles per side, ${c.concurrency} in flight, client and server in one process per side, ` +
      `sides alternating in ${c.chunks} chunks after ${num(c.warmup)} warm-up cycles (start = after warm-up, mid = after ${num(S.lib.midAt)})`);
    out.push(table(['side', 'cycles', 'fds start/mid/end', 'RSS MB start/mid/end', 'RSS growth MB (1st/2nd half)', 'heap MB start/mid/end', 'cycles/s'],
      Object.entries(S).map(([n, s]) => [n, num(s.cycles), sme(s, 'fds', String), sme(s, 'rss', mb),
        `${smb(s.growth.rss)} (${smb(s.growth.rssFirstHalf)} / ${smb(s.growth.rssSecondHalf)})`, sme(s, 'heapUsed', mb), f(s.cyclesPerSec, 0)]),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r']));
    out.push('');
    out.push(table(['lib / net', 'RSS growth start->end', 'RSS growth, lib - net (MB)', 'RSS at end', 'cycles/s'],
      [['ratio', c.ratios.rssGrowth === null ? 'n/a (net grew < 1 MB)' : f(c.ratios.rssGrowth, 2), smb(c.ratios.rssGrowthDiff), f(c.ratios.rssEnd, 3), f(c.ratios.throughput, 3)]],
      ['l', 'r', 'r', 'r', 'r']));
    out.push('');
    out.push(table(['side', 'echoes ok', 'failed', 'client isMptcp', 'accepted', 'server isMptcp', 'server sockets left'],
      Object.entries(S).map(([n, s]) => [n, `${num(s.echoOk)}/${num(s.cycles)}`, sum(s.failures) ? `${sum(s.failures)} (${byTypeText(s.failures)})` : '0',
        `${num(s.clientMptcp)}/${num(s.cycles)}`, num(s.accepted), `${num(s.serverMptcp)}/${num(s.accepted)}`, s.maxServerSocketsLeft]),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r']));
    out.push('');
    out.push('   per checkpoint (cycles done after warm-up; fds, RSS MB, heap used / total MB)');
    out.push(table(['cycles', 'lib fds', 'lib RSS', 'lib heap', 'net fds', 'net RSS', 'net heap'],
      S.lib.points.map((p, i) => {
        const q = S.net.points[i];
        return [num(p.at), p.fds, mb(p.rss), `${mb(p.heapUsed)} / ${mb(p.heapTotal)}`, q.fds, mb(q.rss), `${mb(q.heapUsed)} / ${mb(q.heapTotal)}`];
      }), ['r', 'r', 'r', 'r', 'r', 'r', 'r']));
    out.push('');
  }

  const mo = result.monitor;
  if (mo?.skipped) {
    out.push(`2. monitor under churn: skipped (${mo.skipped})`);
    out.push('');
  } else if (mo) {
    const ms = Object.values(mo.monitors);
    out.push(`2. mptcp.monitor() under churn: ${num(mo.connections)} library connect / echo / close cycles, ${mo.concurrency} in flight, ` +
      `${mo.rateCap ? `at most ${mo.rateCap} started/s` : 'uncapped'}, on loopback in a namespace of its own; each monitor in a process of its own ` +
      `(read with ${ms.map((x) => CONSUMERS[x.consume]).join(', ')}), \`ip -rcvbuf ${mo.oracleRcvbuf} mptcp monitor\` alongside as the count oracle ` +
      `(counted after ${num(mo.warmup)} warm-up connections, compared once each chunk's events have arrived)`);
    out.push(table(['monitor read with', 'connections/s', 'fds start/mid/end', 'RSS MB start/mid/end', 'heap MB start/mid/end', 'receive buffer', 'peak queue',
      'events (monitor)', 'kernel drops', 'overruns (events / counter)', 'monitor + drops', 'events (ip mptcp monitor)', 'monitor / ip', 'events/s', 'socket errors'],
    ms.map((x) => [CONSUMERS[x.consume], f(mo.connectionsPerSec, 0), sme(x, 'fds', String), sme(x, 'rss', mb), sme(x, 'heapUsed', mb), num(x.recvBufferSize), num(x.peakQueueBytes),
      num(x.libEvents), num(x.kernelDrops), `${num(x.overruns.events)} / ${num(x.overruns.counter)}`, num(x.deliveredPlusDropped), num(mo.ipEvents),
      f(x.libOverIp, 4), f(x.eventsPerSec, 0), sum(x.socketErrors) ? byTypeText(x.socketErrors) : '0']),
    ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));
    out.push('');
    out.push('   receive buffer: mon.recvBufferSize (the kernel reports twice the size asked for); peak queue: the most the kernel held ' +
      'queued for the socket (bytes) at any poll every 20 ms since subscribed');
    out.push(`   ip mptcp monitor: ${byTypeText(mo.ipByType)} (${f(mo.ipEventsPerConnection, 2)} per connection; kernel drops for ip: ${num(mo.oracleDrops)})`);
    for (const x of ms) {
      const o = x.overruns;
      out.push(`   ${CONSUMERS[x.consume]}: ${byTypeText(x.byType)}; monitor + kernel drops = ${num(x.deliveredPlusDropped)}` +
        (o.events || o.duringWarmup
          ? `; overruns ${num(o.events)} (mon.overruns ${num(o.counter)}, ${num(o.duringWarmup)} during warm-up), ` +
            `events after the last ${num(o.eventsAfterLast)}, fewest between two ${o.fewestEventsBetween === null ? 'n/a' : num(o.fewestEventsBetween)}` +
            (o.lastInChunk ? `, last in chunk ${o.lastInChunk}, ${num(o.eventsInLaterChunks)} events in the chunks after` : '')
          : '; no overruns') +
        `${x.stalled ? `; STOPPED after ${num(x.stalled.afterEvents)} events (by ${num(x.stalled.byConnections)} connections)` : ''}`);
    }
    out.push(`   churn: echoes ok ${num(mo.churn.echoOk)}/${num(mo.connections)}, failed ${mo.churn.failures}, client isMptcp ${num(mo.churn.clientMptcp)}, ` +
      `server isMptcp ${num(mo.churn.serverMptcp)}/${num(mo.churn.accepted)}`);
    out.push('');
    out.push('   per checkpoint (connections done; each monitoring process: fds, RSS MB, heap used MB, events so far, kernel drops, overruns)');
    const heads = ['connections', 'ip'];
    for (const x of ms) heads.push(...['fds', 'RSS', 'heap', 'events', 'drops', 'overruns'].map((h) => `${SHORT[x.consume]} ${h}`));
    out.push(table(heads, ms[0].points.map((p, i) => [num(p.at), num(p.ipEvents),
      ...ms.flatMap((x) => { const q = x.points[i]; return [q.fds, mb(q.rss), mb(q.heapUsed), num(q.libEvents), num(q.kernelDrops), num(q.overrunEvents)]; })]),
    heads.map(() => 'r')));
    out.push('');
  }
  if (c || (mo && !mo.skipped)) {
    out.push('summary');
    out.push(summaryTable(result));
    out.push('');
  }
  for (const w of result.warnings) out.push(`WARNING: ${w}`);
  for (const e of result.errors) out.push(`ERROR: ${e}`);
  out.push(`(${result.elapsedSec.toFixed(0)} s; written: ${path.relative(process.cwd(), written)})`);
  process.stdout.write(out.join('\n') + '\n');
}
