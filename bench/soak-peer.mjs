// Soak benchmark worker, driven by bench/soak.mjs over an IPC channel (one
// message per command, one reply each). Run with --expose-gc: every sample is
// taken after a forced full GC, so heap and RSS are what the process retains.
//
//   node --expose-gc bench/soak-peer.mjs cycles <lib|net>
//       an echo server on 127.0.0.1 and a client in the same process:
//       run { n, concurrency } -> n connect / echo / close cycles
//   node --expose-gc bench/soak-peer.mjs monitor <events|iterator> [recvBufferSize]
//       mptcp.monitor() counting the path-manager events of its namespace,
//       read with an 'event' listener or with `for await`, and its overruns
//       ('overrun' events, mon.overruns; mon.recvBufferSize as the kernel set it)
//
// lib: mptcp.createServer / mptcp.connect (the library under test).
// net: node:net unchanged (the baseline). The library is loaded in both modes,
// in net mode only to check with isMptcp() that the connections were plain TCP.
import net from 'node:net';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const m = require('../dist/index.js');

const [role, mode, recvBuffer] = process.argv.slice(2);
if (!(role === 'cycles' && ['lib', 'net'].includes(mode)) && !(role === 'monitor' && ['events', 'iterator'].includes(mode))) {
  process.stderr.write('usage: soak-peer.mjs cycles <lib|net> | soak-peer.mjs monitor <events|iterator> [recvBufferSize]\n');
  process.exit(2);
}
if (typeof globalThis.gc !== 'function') {
  process.stderr.write('soak-peer.mjs needs node --expose-gc\n');
  process.exit(2);
}
if (!process.send) {
  process.stderr.write('soak-peer.mjs runs under bench/soak.mjs (it needs an IPC channel)\n');
  process.exit(2);
}
const HOST = '127.0.0.1';
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Open descriptors (entries of /proc/self/fd, the listing's own included) and memory, after a full GC. */
function sample() {
  globalThis.gc();
  globalThis.gc();
  const mu = process.memoryUsage();
  return {
    fds: readdirSync('/proc/self/fd').length,
    rss: mu.rss, heapUsed: mu.heapUsed, heapTotal: mu.heapTotal, external: mu.external, arrayBuffers: mu.arrayBuffers,
  };
}

/** The inodes of this process's sockets. */
function socketInodes() {
  const inodes = new Set();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const mm = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (mm) inodes.add(mm[1]);
    } catch { /* closed meanwhile */ }
  }
  return inodes;
}

/**
 * The kernel's view of the generic netlink sockets in this namespace that
 * joined a multicast group (/proc/net/netlink): this process's own (`own`,
 * matched by socket inode) and the others' (here: `ip mptcp monitor`), each
 * with its queued receive memory and the messages the kernel dropped for it.
 */
function netlinkSockets(inodes = socketInodes()) {
  // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
  return readFileSync('/proc/net/netlink', 'utf8').trim().split('\n').slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((r) => r[1] === '16' && /[1-9a-f]/i.test(r[3]))
    .map((r) => ({ own: inodes.has(r[9]), inode: r[9], portId: Number(r[2]), rmem: Number(r[4]), drops: Number(r[8]) }));
}

// ---------------------------------------------------------------- cycles ----

const counters = () => ({
  cycles: 0, ok: 0, failures: {}, clientMptcp: 0, accepted: 0, serverMptcp: 0, serverErrors: {},
});
let totals = counters();
let openServer = 0;
let drainWaiters = [];
let port = 0;

const bump = (obj, key) => { obj[key] = (obj[key] ?? 0) + 1; };

function startServer() {
  const onConn = (c) => {
    openServer++;
    totals.accepted++;
    if (m.isMptcp(c)) totals.serverMptcp++;
    c.on('data', (d) => c.write(d));
    c.on('error', (err) => bump(totals.serverErrors, err.code ?? err.message));
    c.on('close', () => {
      if (--openServer === 0) for (const w of drainWaiters.splice(0)) w();
    });
  };
  const srv = mode === 'lib' ? m.createServer(onConn) : net.createServer(onConn);
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      port = srv.address().port;
      resolve(srv);
    });
  });
}

const dial = () => (mode === 'lib' ? m.connect({ port, host: HOST }) : net.connect({ port, host: HOST }));

/**
 * One cycle: connect, write a payload unique to the cycle, read it back,
 * end; done when the client socket has closed. Resolves with null on
 * success or the failure's name.
 */
function cycle(i) {
  return new Promise((resolve) => {
    const payload = Buffer.from(`soak cycle ${i} `.padEnd(64, '.'));
    const s = dial();
    const got = [];
    let len = 0;
    let failure = null;
    s.setTimeout(30_000, () => {
      failure ??= 'timeout';
      s.destroy();
    });
    s.on('connect', () => {
      if (m.isMptcp(s)) totals.clientMptcp++;
      s.write(payload);
    });
    s.on('data', (d) => {
      got.push(d);
      len += d.length;
      if (len >= payload.length) s.end();
    });
    s.on('error', (err) => { failure ??= err.code ?? err.message; });
    s.on('close', () => {
      if (!failure && !Buffer.concat(got, len).equals(payload)) failure = len < payload.length ? 'echo-short' : 'echo-mismatch';
      resolve(failure);
    });
  });
}

/** Waits until every accepted socket has closed (or 10 s: then reports how many are left). */
function serverDrained() {
  if (openServer === 0) return Promise.resolve(0);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(openServer), 10_000);
    drainWaiters.push(() => { clearTimeout(t); resolve(0); });
  });
}

/**
 * n cycles, `concurrency` in flight; with `rate` (cycles/s), cycle k of the
 * run starts no earlier than k / rate seconds after the first.
 */
async function run({ n, concurrency, rate = 0 }) {
  const before = { ...totals, failures: { ...totals.failures } };
  const t0 = nowMs();
  let started = 0;
  const lane = async () => {
    while (started < n) {
      const k = started++;
      if (rate > 0) {
        const wait = t0 + (k * 1000) / rate - nowMs();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const failure = await cycle(totals.cycles + k);
      if (failure) bump(totals.failures, failure);
      else totals.ok++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  const ms = nowMs() - t0;
  totals.cycles += n;
  const serverLeft = await serverDrained();
  const failed = Object.values(totals.failures).reduce((a, b) => a + b, 0) - Object.values(before.failures).reduce((a, b) => a + b, 0);
  return { n, ms, ok: totals.ok - before.ok, failed, serverLeft, totals };
}

// --------------------------------------------------------------- monitor ----

let mon = null;
const events = {
  total: 0, byType: {}, firstMs: 0, lastMs: 0, warnings: {}, firstWarningMs: 0, afterFirstWarning: 0,
  // 'overrun' events (the kernel dropped events for this socket; the 'events'
  // reply adds mon.overruns, the monitor's own count) and mon.recvBufferSize.
  overrunEvents: 0, recvBufferSize: 0,
  // events.total at the last overrun, the fewest events delivered between two consecutive
  // overruns (null before the second), and the first OVERRUN_LOG overruns: when (ms since
  // subscribed), after how many events.
  eventsAtLastOverrun: null, fewestBetweenOverruns: null, overrunLog: [],
  // The most the kernel held queued for the socket (its Rmem, bytes) at any of
  // the QUEUE_POLL_MS polls. Timers run before the loop reads the socket, so a
  // poll due while the process was not scheduled sees the backlog first.
  peakQueueBytes: 0,
};
const QUEUE_POLL_MS = 20;
let readyMs = 0;
const OVERRUN_LOG = 20;

async function startMonitor() {
  mon = m.monitor(recvBuffer ? { recvBufferSize: Number(recvBuffer) } : {});
  const count = (e) => {
    const t = nowMs();
    if (events.total++ === 0) events.firstMs = t;
    events.lastMs = t;
    bump(events.byType, e.type);
    if (events.firstWarningMs) events.afterFirstWarning++;
  };
  if (mode === 'events') {
    mon.on('event', count);
  } else {
    (async () => {
      for await (const e of mon) count(e);
    })().catch((err) => bump(events.warnings, `iterator ${err.code ?? err.message}`));
  }
  mon.on('overrun', ({ overruns }) => {
    if (events.eventsAtLastOverrun !== null) {
      const between = events.total - events.eventsAtLastOverrun;
      events.fewestBetweenOverruns = Math.min(events.fewestBetweenOverruns ?? between, between);
    }
    events.overrunEvents++;
    events.eventsAtLastOverrun = events.total;
    if (events.overrunLog.length < OVERRUN_LOG) events.overrunLog.push({ ms: nowMs() - readyMs, events: events.total, overruns });
  });
  // Other socket-level errors arrive as 'warning' (an overrun is 'overrun', above).
  mon.on('warning', (err) => {
    if (!events.firstWarningMs) events.firstWarningMs = nowMs();
    bump(events.warnings, err.code ?? err.message);
  });
  mon.on('error', (err) => bump(events.warnings, `error ${err.code ?? err.message}`));
  await mon.ready;
  readyMs = nowMs();
  events.recvBufferSize = mon.recvBufferSize;
  const own = socketInodes();
  setInterval(() => {
    for (const x of netlinkSockets(own)) if (x.own) events.peakQueueBytes = Math.max(events.peakQueueBytes, x.rmem);
  }, QUEUE_POLL_MS).unref();
}

// ------------------------------------------------------------------ main ----

const handlers = {
  sample: () => ({ ...sample(), events: role === 'monitor' ? { ...events } : undefined }),
  run,
  totals: () => totals,
  events: () => ({ ...events, overruns: mon.overruns, overrunLog: [...events.overrunLog], tMs: nowMs(), netlink: netlinkSockets() }),
  exit: () => process.exit(0),
};

process.on('message', async (msg) => {
  try {
    const value = await handlers[msg.cmd](msg);
    process.send({ id: msg.id, value });
  } catch (err) {
    process.send({ id: msg.id, error: err.stack ?? String(err) });
  }
});
process.on('disconnect', () => process.exit(0));

try {
  if (role === 'cycles') await startServer();
  else await startMonitor();
  process.send({ id: 0, value: { pid: process.pid, port, recvBufferSize: mon?.recvBufferSize } });
} catch (err) {
  process.send({ id: 0, error: `${role}: ${err.code ?? ''} ${err.message}` }, () => process.exit(1));
}
