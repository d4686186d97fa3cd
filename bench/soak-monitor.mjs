// The soak benchmark's monitor phase (see bench/soak.mjs): mptcp.monitor()
// in processes of their own under connection churn, `ip mptcp monitor` as the
// count oracle, the kernel's per-socket drop counters as the loss oracle.
import { spawn } from 'node:child_process';
import { MB, Worker, cleanup, createNetns, monitorUnavailableReason, pick, sleep, sum, summarizeSeries, track } from './soak-shared.mjs';

export const CONSUMERS = { events: "'event' listener", iterator: '`for await`' };
export const SHORT = { events: 'listener', iterator: 'for-await' };

/**
 * `ip mptcp monitor` in a namespace: event lines counted, by type ("[       CREATED] token=...").
 * `rcvbuf` is passed as `ip -rcvbuf` (SO_RCVBUF, capped by net.core.rmem_max).
 */
class IpMonitor {
  constructor(netns, rcvbuf) {
    this.total = 0;
    this.byType = {};
    this.stderr = '';
    this.child = track(spawn('ip', ['netns', 'exec', netns, 'ip', '-rcvbuf', String(rcvbuf), 'mptcp', 'monitor'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let rest = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop();
      for (const line of lines) {
        const mm = /^\[\s*([A-Z_]+)\]/.exec(line);
        if (!mm) continue;
        this.total++;
        this.byType[mm[1]] = (this.byType[mm[1]] ?? 0) + 1;
      }
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000); });
    this.exited = new Promise((resolve) => this.child.on('exit', resolve));
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGINT');
    await this.exited;
  }
}

/** Every monitor's event counts and netlink view, once nothing has moved for `quietMs` (at most `maxMs`). */
async function quiesce(mons, ip, quietMs = 400, maxMs = 10_000) {
  const t0 = Date.now();
  let last = null;
  let since = Date.now();
  for (;;) {
    const evs = await Promise.all(mons.map((x) => x.worker.request('events')));
    const key = `${evs.map((e) => `${e.total}:${e.overrunEvents}`).join('/')}/${ip.total}`;
    if (key !== last) {
      last = key;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return evs;
    }
    if (Date.now() - t0 > maxMs) return evs;
    await sleep(50);
  }
}

const diff = (a, b) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]).filter(([, v]) => v > 0));

/** Runs the phase; its results go to `result.monitor`, its warnings to `result.warnings`. */
export async function monitorPhase(result, CFG, log) {
  const reason = monitorUnavailableReason();
  if (reason) {
    result.monitor = { skipped: reason };
    log(`monitor: skipped: ${reason}`);
    return;
  }
  const netns = createNetns();
  // The churning worker (and its listener) first, then the monitors.
  const churn = new Worker('churn', ['cycles', 'lib'], netns);
  const mons = [];
  let ip = null;
  try {
    await churn.ready;
    for (const consume of CFG.consume) {
      const worker = new Worker(`monitor (${consume})`, ['monitor', consume, ...(CFG.recvBuffer ? [String(CFG.recvBuffer)] : [])], netns);
      mons.push({ consume, worker, points: [] });
      await worker.ready;
    }
    ip = new IpMonitor(netns, CFG.oracleRcvbuf);
    // All subscribed: single connections until each has seen an event
    // (`ip mptcp monitor` has no ready signal), then quiet.
    for (let i = 0; ; i++) {
      await churn.request('run', { n: 1, concurrency: 1 });
      await sleep(50);
      const evs = await Promise.all(mons.map((x) => x.worker.request('events')));
      if (evs.every((e) => e.total > 0) && ip.total > 0) break;
      if (i >= 100) throw new Error(`the monitors saw no events (monitor ${evs.map((e) => e.total).join(', ')}, ip ${ip.total}): ${ip.stderr.trim()}`);
    }
    await churn.request('run', { n: CFG.churnWarmup, concurrency: CFG.churnConcurrency, rate: CFG.churnRate });
    const ev0 = await quiesce(mons, ip);
    // Which subscribed netlink sockets are the monitors' (each knows its own); the rest is the oracle's.
    const monInodes = new Set(ev0.flatMap((e) => e.netlink.filter((x) => x.own).map((x) => x.inode)));
    const view = (ev) => ({
      drops: ev.netlink.filter((x) => x.own).reduce((a, x) => a + x.drops, 0),
      rmem: ev.netlink.filter((x) => x.own).reduce((a, x) => a + x.rmem, 0),
      oracleDrops: ev.netlink.filter((x) => !monInodes.has(x.inode)).reduce((a, x) => a + x.drops, 0),
    });
    const ipBase = { total: ip.total, byType: { ...ip.byType } };
    mons.forEach((x, i) => { x.base = { ev: ev0[i], k: view(ev0[i]) }; });
    const record = async (at, ms, evs) => {
      const samples = await Promise.all(mons.map((x) => x.worker.request('sample')));
      mons.forEach((x, i) => {
        const e = evs[i];
        const b = x.base;
        const k = view(e);
        x.points.push({
          at, ms, ...pick(samples[i]), libEvents: e.total - b.ev.total, ipEvents: ip.total - ipBase.total,
          socketErrors: sum(e.warnings), kernelDrops: k.drops - b.k.drops, oracleDrops: k.oracleDrops - b.k.oracleDrops, rmem: k.rmem,
          overrunEvents: e.overrunEvents - b.ev.overrunEvents, overruns: e.overruns - b.ev.overruns,
        });
      });
    };
    await record(0, 0, ev0);
    log(`monitor: warmed up (${CFG.churnWarmup} connections, monitor ${ev0.map((e) => e.total).join(', ')} events, ip ${ip.total}; ` +
      `overruns ${ev0.map((e) => e.overruns).join(', ')}); ` +
      `${CFG.churn} connections, ${CFG.churnConcurrency} in flight${CFG.churnRate ? `, at most ${CFG.churnRate}/s` : ', uncapped'}, in ${CFG.chunks} chunks; ` +
      `monitors read with ${CFG.consume.map((c) => CONSUMERS[c]).join(', ')}, receive buffers ${ev0.map((e) => e.recvBufferSize).join(', ')} bytes`);
    const per = Math.ceil(CFG.churn / CFG.chunks);
    let done = 0;
    let churnMs = 0;
    let failed = 0;
    let serverLeft = 0;
    let totals = null;
    const churnBase = await churn.request('totals');
    for (let k = 0; k < CFG.chunks; k++) {
      const count = Math.min(per, CFG.churn - k * per);
      if (count <= 0) break;
      const r = await churn.request('run', { n: count, concurrency: CFG.churnConcurrency, rate: CFG.churnRate });
      done += count;
      churnMs += r.ms;
      failed += r.failed;
      serverLeft = Math.max(serverLeft, r.serverLeft);
      totals = r.totals;
      await record(done, churnMs, await quiesce(mons, ip));
      log(`monitor: ${done}/${CFG.churn}: ${(count / (r.ms / 1000)).toFixed(0)} connections/s, ip ${ip.total - ipBase.total} events; ` +
        mons.map(({ consume, points }) => {
          const p = points.at(-1);
          return `${consume}: ${p.libEvents} events${p.overrunEvents ? `, overruns ${p.overrunEvents}` : ''}${p.kernelDrops ? `, kernel dropped ${p.kernelDrops}` : ''}` +
            `${p.socketErrors ? `, socket errors ${p.socketErrors}` : ''}, fds ${p.fds}, rss ${(p.rss / MB).toFixed(1)} MB, heap ${(p.heapUsed / MB).toFixed(1)} MB`;
        }).join('; ') + (r.failed ? `; ${r.failed} FAILED` : ''));
    }
    const evEnd = await Promise.all(mons.map((x) => x.worker.request('events')));
    await ip.stop();
    const ipEvents = ip.total - ipBase.total;
    const oracleDrops = view(evEnd[0]).oracleDrops - mons[0].base.k.oracleDrops;
    const monitors = {};
    mons.forEach((x, i) => {
      const { points } = x;
      const e = evEnd[i];
      const b = x.base;
      const kEnd = view(e);
      const libEvents = e.total - b.ev.total;
      const kernelDrops = kEnd.drops - b.k.drops;
      // Stalled: from some checkpoint on, the count never moved again while the oracle's did.
      const lastMove = points.findLastIndex((p, j) => j > 0 && p.libEvents !== points[j - 1].libEvents);
      const still = Math.max(lastMove, 0);
      const stalled = still < points.length - 1 && points.at(-1).ipEvents > points[still].ipEvents
        ? { afterEvents: points[still].libEvents, byConnections: points[still + 1].at, receiveQueueBytes: kEnd.rmem }
        : null;
      // The first checkpoint after the last overrun, and the events delivered from then on.
      const lastOverrunAt = points.findLastIndex((p, j) => j > 0 && p.overrunEvents !== points[j - 1].overrunEvents);
      monitors[x.consume] = {
        consume: x.consume,
        recvBufferSize: e.recvBufferSize,
        // The largest receive queue a poll saw, since subscribed (warm-up included).
        peakQueueBytes: e.peakQueueBytes,
        libEvents,
        libOverIp: ipEvents > 0 ? libEvents / ipEvents : null,
        eventsPerSec: libEvents / (churnMs / 1000),
        byType: diff(e.byType, b.ev.byType),
        // The event messages the kernel dropped for the monitor's socket (/proc/net/netlink),
        // and what the monitor said about them: 'overrun' events and mon.overruns.
        kernelDrops,
        deliveredPlusDropped: libEvents + kernelDrops,
        overruns: {
          events: e.overrunEvents - b.ev.overrunEvents,
          counter: e.overruns - b.ev.overruns,
          duringWarmup: b.ev.overrunEvents,
          // Events delivered after the last overrun (this process's life), the fewest
          // between two consecutive ones, and those delivered in the chunks after the
          // chunk of the last overrun (none had an overrun).
          eventsAfterLast: e.eventsAtLastOverrun === null ? null : e.total - e.eventsAtLastOverrun,
          fewestEventsBetween: e.fewestBetweenOverruns,
          lastInChunk: lastOverrunAt > 0 ? lastOverrunAt : null,
          eventsInLaterChunks: lastOverrunAt > 0 ? points.at(-1).libEvents - points[lastOverrunAt].libEvents : null,
          log: e.overrunLog,
        },
        // Other socket errors reported as 'warning', by code.
        socketErrors: e.warnings,
        stalled,
        eventsAfterFirstSocketError: e.firstWarningMs ? e.afterFirstWarning : null,
        ...summarizeSeries(points),
        points,
      };
    });
    result.monitor = {
      connections: done, concurrency: CFG.churnConcurrency, rateCap: CFG.churnRate || null, warmup: CFG.churnWarmup, chunks: CFG.chunks,
      recvBufferRequested: CFG.recvBuffer,
      netns: 'own (loopback only)',
      churnSec: churnMs / 1000,
      connectionsPerSec: done / (churnMs / 1000),
      ipEvents,
      ipEventsPerConnection: ipEvents / done,
      ipByType: diff(ip.byType, ipBase.byType),
      oracleRcvbuf: CFG.oracleRcvbuf,
      oracleDrops,
      ipStderr: ip.stderr.trim().split('\n').filter(Boolean).slice(-5),
      monitors,
      churn: {
        failures: failed,
        echoOk: totals.ok - churnBase.ok,
        clientMptcp: totals.clientMptcp - churnBase.clientMptcp,
        serverMptcp: totals.serverMptcp - churnBase.serverMptcp,
        accepted: totals.accepted - churnBase.accepted,
        maxServerSocketsLeft: serverLeft,
      },
    };
    const r = result.monitor;
    for (const [name, mo] of Object.entries(monitors)) {
      const w = (msg) => result.warnings.push(`monitor (${CONSUMERS[name]}): ${msg}`);
      const o = mo.overruns;
      // Every event the kernel sent is either delivered or counted as dropped, for the monitor as for the oracle.
      if (mo.deliveredPlusDropped !== ipEvents + oracleDrops) {
        w(`delivered ${mo.libEvents} + dropped ${mo.kernelDrops} = ${mo.deliveredPlusDropped} events; ip mptcp monitor printed ${ipEvents} (+ ${oracleDrops} dropped)`);
      }
      if (o.events !== o.counter) w(`${o.events} 'overrun' events but mon.overruns counted ${o.counter}`);
      if (mo.kernelDrops && !o.events) w(`the kernel dropped ${mo.kernelDrops} events for its socket and no 'overrun' was emitted`);
      if (o.events && !mo.kernelDrops) w(`${o.events} 'overrun' events while the kernel counted no drops for its socket`);
      if (o.eventsAfterLast === 0 || o.fewestEventsBetween === 0) w(`delivered nothing after an overrun (after the last: ${o.eventsAfterLast}; fewest between two: ${o.fewestEventsBetween})`);
      if (sum(mo.socketErrors)) w(`socket errors reported as 'warning': ${Object.entries(mo.socketErrors).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      if (mo.stalled) {
        w(`stopped delivering after ${mo.stalled.afterEvents} events (by ${mo.stalled.byConnections} connections) while ip mptcp monitor kept counting; ` +
          `its socket's receive queue holds ${mo.stalled.receiveQueueBytes} bytes, unread`);
      }
      if (mo.growth.fds > 0) w(`the monitoring process's descriptors grew by ${mo.growth.fds}`);
    }
    if (oracleDrops) result.warnings.push(`monitor: the kernel dropped ${oracleDrops} messages for ip mptcp monitor too: the oracle undercounts`);
    if (failed) result.warnings.push(`monitor: ${failed} churn cycles failed`);
    if (r.churn.clientMptcp !== done || r.churn.serverMptcp !== r.churn.accepted) {
      result.warnings.push(`monitor: churn connections not all MPTCP (client ${r.churn.clientMptcp}, server ${r.churn.serverMptcp} of ${done})`);
    }
  } finally {
    await Promise.all([churn.stop(), ...mons.map((x) => x.worker.stop()), ip?.stop()]);
    cleanup();
  }
}
