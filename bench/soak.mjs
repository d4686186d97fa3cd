// Soak benchmark: does the library hold its descriptors and memory flat over
// many connections, and does mptcp.monitor() keep up under connection churn?
// A benchmark, not a test: nothing here is a timed assertion; it measures and
// reports, and the exit status is non-zero only on errors.
//
//   1. cycles   connect / echo a 64-byte payload / close, `--cycles` times per
//               side (default 100,000), `--concurrency` in flight (default 8),
//               client and echo server in one worker process per side:
//                 lib  mptcp.connect -> mptcp.createServer   (under test)
//                 net  node:net -> node:net                  (baseline)
//               Both workers live for the whole run and take turns chunk by
//               chunk, so drift in the machine hits both alike. Each worker's
//               open descriptors (/proc/self/fd) and memory (RSS, heap) are
//               sampled after a forced GC, after warm-up and after each chunk.
//               Every echo is compared with what was sent, and isMptcp() is
//               asked of every client socket and every accepted socket.
//   2. monitor  mptcp.monitor() in a worker process of its own, counting the
//               events of its namespace while `--churn` library connections
//               (default 50,000) go through the same connect / echo / close
//               cycle from another worker, at most `--churn-rate` started per
//               second (default 250); `ip mptcp monitor` runs alongside as the
//               count oracle, and the kernel's per-socket drop counters
//               (/proc/net/netlink) say how many events each socket lost.
//               Needs root: it runs in a network namespace of its own
//               (loopback only), deleted afterwards.
//               The rate cap: the monitor's socket has the default receive
//               buffer (212992 bytes, ~240 events of ~870 bytes each, about
//               40 connections' worth with both ends in one namespace), and
//               an overrun currently leaves the monitor deaf for good (libuv
//               stops a poll handle whose descriptor reports POLLERR). At
//               250 connections/s the monitor survives ~160 ms without being
//               scheduled; uncapped churn (~3,500/s) overran it within
//               seconds on a shared 2-CPU machine, whatever the concurrency.
//
// Usage: npm run bench:soak [-- --quick] [-- --json] [-- --only=cycles,monitor]
//                           [-- --cycles N] [-- --churn N] [-- --concurrency N]
//                           [-- --churn-concurrency N] [-- --churn-rate N]
//                           [-- --consume=events|iterator]
//   --quick               10,000 cycles per side, 5,000 churned connections (also SOAK_QUICK=1)
//   --cycles N            phase 1 cycles per side (also SOAK_CYCLES)
//   --churn N             phase 2 connections (also SOAK_CHURN)
//   --concurrency N       phase 1 cycles in flight per side (also SOAK_CONCURRENCY)
//   --churn-concurrency N phase 2 connections in flight (also SOAK_CHURN_CONCURRENCY)
//   --churn-rate N        phase 2 connections started per second at most; 0 = uncapped (also SOAK_CHURN_RATE)
//   --consume=MODE        phase 2 reads the monitor with an 'event' listener (events, the
//                         default) or with `for await` (iterator) (also SOAK_CONSUME)
//   --only=LIST           run only these phases (also SOAK_ONLY)
//   --json                print the results as JSON instead of tables
// Always writes docs/bench-soak.json.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { argNumber, envNumber, table, which } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PEER = path.join(here, 'soak-peer.mjs');
const DOCS = path.join(here, '..', 'docs');
const require = createRequire(import.meta.url);
const m = require('../dist/index.js');

// ---------------------------------------------------------------- config ----

const argv = process.argv.slice(2);
const JSON_OUT = argv.includes('--json');
const QUICK = argv.includes('--quick') || /^(1|true|yes)$/i.test(process.env.SOAK_QUICK ?? '');
const ONLY = (argv.find((a) => a.startsWith('--only='))?.slice(7) ?? process.env.SOAK_ONLY ?? 'cycles,monitor').split(',');
const int = (x) => Math.round(x);
const CFG = {
  cycles: int(argNumber(argv, '--cycles', envNumber('SOAK_CYCLES', QUICK ? 10_000 : 100_000))),
  concurrency: int(argNumber(argv, '--concurrency', envNumber('SOAK_CONCURRENCY', 8))),
  churn: int(argNumber(argv, '--churn', envNumber('SOAK_CHURN', QUICK ? 5_000 : 50_000))),
  churnConcurrency: int(argNumber(argv, '--churn-concurrency', envNumber('SOAK_CHURN_CONCURRENCY', 8))),
  // Connections started per second in phase 2; 0 = as fast as they go.
  churnRate: argNumber(argv, '--churn-rate', process.env.SOAK_CHURN_RATE === '0' ? 0 : envNumber('SOAK_CHURN_RATE', 250), { zero: true }),
  // How the monitors are read, one monitor process each: an 'event' listener, `for await` (also SOAK_CONSUME).
  consume: (argv.find((a) => a.startsWith('--consume='))?.slice(10) ?? process.env.SOAK_CONSUME ?? 'events,iterator').split(','),
  // Cycles per worker before the first sample. Phase 1 allocates fast enough
  // for V8 to grow its young generation (heapTotal ~13 -> ~38 MB) within the
  // first few thousand cycles; the warm-up lets that happen before "start".
  warmup: QUICK ? 2_000 : 10_000,
  churnWarmup: QUICK ? 500 : 2_000, // phase 2 connections before the first sample
  chunks: 10, // samples after warm-up and after each of this many chunks
  payloadBytes: 64,
};

if (!CFG.consume.length || CFG.consume.some((c) => !['events', 'iterator'].includes(c))) {
  throw new Error(`--consume must be a comma list of events, iterator; got ${CFG.consume.join(',')}`);
}

const log = (...a) => { if (!JSON_OUT) process.stderr.write(a.join(' ') + '\n'); };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const MB = 1024 * 1024;

// --------------------------------------------------------------- workers ----

const children = new Set();

/** A bench/soak-peer.mjs process (optionally inside a network namespace), driven over IPC. */
class Worker {
  constructor(name, args, netns) {
    this.name = name;
    const node = [process.execPath, '--expose-gc', PEER, ...args];
    const cmd = netns ? ['ip', 'netns', 'exec', netns, ...node] : node;
    this.child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    children.add(this.child);
    this.stderr = '';
    this.nextId = 1;
    this.pending = new Map();
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000); });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, sig) => {
      children.delete(this.child);
      const err = new Error(`${name} worker exited (${code ?? sig}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      resolve();
    }));
    this.child.on('message', (msg) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${name}: ${msg.error}`));
      else p.resolve(msg.value);
    });
    this.ready = new Promise((resolve, reject) => this.pending.set(0, { resolve, reject }));
  }

  request(cmd, args = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...args, cmd, id });
    });
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    this.child.disconnect();
    await this.exited;
    clearTimeout(t);
  }
}

function killChildren() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* gone */ }
  }
}

// ------------------------------------------------------- the namespace ----

const NS_PREFIX = 'mptcpsoak';
let liveNetns = null;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function deleteNetns(name) {
  try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }); } catch { /* already gone */ }
}

/** A fresh network namespace with loopback up; namespaces left by dead runs are swept first. */
function createNetns() {
  let names = [];
  try { names = readdirSync('/run/netns'); } catch { /* none yet */ }
  for (const ns of names) {
    const mm = new RegExp(`^${NS_PREFIX}-(\\d+)$`).exec(ns);
    if (mm && Number(mm[1]) !== process.pid && !alive(Number(mm[1]))) deleteNetns(ns);
  }
  const name = `${NS_PREFIX}-${process.pid}`;
  execFileSync('ip', ['netns', 'add', name]);
  liveNetns = name;
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

function cleanup() {
  killChildren();
  if (liveNetns) deleteNetns(liveNetns);
  liveNetns = null;
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    cleanup();
    process.kill(process.pid, sig);
  });
}

/** Why the monitor phase cannot run here, or null. */
function monitorUnavailableReason() {
  if (process.getuid?.() !== 0) return 'needs root (a network namespace of its own, CAP_NET_ADMIN for the monitor)';
  if (!which('ip')) return 'needs iproute2 (`ip`, also the count oracle `ip mptcp monitor`)';
  if (!existsSync('/proc/sys/net/mptcp/enabled')) return 'this kernel has no MPTCP';
  return null;
}

// ---------------------------------------------------------------- helpers ----

const sum = (o) => Object.values(o ?? {}).reduce((a, b) => a + b, 0);
const pick = (s) => ({ fds: s.fds, rss: s.rss, heapUsed: s.heapUsed, heapTotal: s.heapTotal, external: s.external });

/** Start / mid / end of a series of samples and the growth over each half. */
function summarizeSeries(points) {
  const start = points[0];
  const mid = points[Math.floor((points.length - 1) / 2)];
  const end = points[points.length - 1];
  const d = (k, a, b) => b[k] - a[k];
  return {
    start: pick(start), mid: pick(mid), end: pick(end),
    midAt: mid.at,
    growth: {
      fds: d('fds', start, end), rss: d('rss', start, end), heapUsed: d('heapUsed', start, end),
      rssFirstHalf: d('rss', start, mid), rssSecondHalf: d('rss', mid, end),
      heapFirstHalf: d('heapUsed', start, mid), heapSecondHalf: d('heapUsed', mid, end),
    },
  };
}

// ---------------------------------------------------------- 1. cycles -------

async function cyclesPhase(result) {
  const sides = { lib: new Worker('lib', ['cycles', 'lib']), net: new Worker('net', ['cycles', 'net']) };
  const names = Object.keys(sides);
  try {
    await Promise.all(names.map((n) => sides[n].ready));
    const per = Math.ceil(CFG.cycles / CFG.chunks);
    const out = {};
    for (const n of names) out[n] = { points: [], runMs: 0, cycles: 0, maxServerLeft: 0 };
    const runChunk = async (n, count, measured) => {
      const r = await sides[n].request('run', { n: count, concurrency: CFG.concurrency });
      if (measured) {
        out[n].runMs += r.ms;
        out[n].cycles += count;
      }
      out[n].maxServerLeft = Math.max(out[n].maxServerLeft, r.serverLeft);
      out[n].totals = r.totals;
      const s = await sides[n].request('sample');
      out[n].points.push({ at: out[n].cycles, ms: out[n].runMs, ...pick(s) });
      return r;
    };
    for (const n of names) {
      await runChunk(n, CFG.warmup, false);
      out[n].warmupTotals = out[n].totals;
    }
    log(`cycles: warmed up (${CFG.warmup} cycles per side); ${CFG.cycles} cycles per side, ${CFG.concurrency} in flight, in ${CFG.chunks} chunks`);
    for (let k = 0; k < CFG.chunks; k++) {
      const count = Math.min(per, CFG.cycles - k * per);
      if (count <= 0) break;
      for (const n of k % 2 === 0 ? names : [...names].reverse()) {
        const r = await runChunk(n, count, true);
        const p = out[n].points.at(-1);
        log(`cycles: ${n} ${out[n].cycles}/${CFG.cycles}: ${(count / (r.ms / 1000)).toFixed(0)} cycles/s, ` +
          `fds ${p.fds}, rss ${(p.rss / MB).toFixed(1)} MB, heap ${(p.heapUsed / MB).toFixed(1)} MB${r.failed ? `, ${r.failed} FAILED` : ''}`);
      }
    }
    const sidesOut = {};
    for (const n of names) {
      const o = out[n];
      const t = o.totals;
      const w = o.warmupTotals;
      sidesOut[n] = {
        cycles: o.cycles,
        runSec: o.runMs / 1000,
        cyclesPerSec: o.cycles / (o.runMs / 1000),
        // Correctness over the measured cycles (warm-up excluded; its failures are in warmupFailures).
        echoOk: t.ok - w.ok,
        failures: Object.fromEntries(Object.entries(t.failures).map(([k, v]) => [k, v - (w.failures[k] ?? 0)]).filter(([, v]) => v > 0)),
        clientMptcp: t.clientMptcp - w.clientMptcp,
        accepted: t.accepted - w.accepted,
        serverMptcp: t.serverMptcp - w.serverMptcp,
        serverErrors: t.serverErrors,
        maxServerSocketsLeft: o.maxServerLeft,
        warmupFailures: w.failures,
        ...summarizeSeries(o.points),
        points: o.points,
      };
    }
    const lib = sidesOut.lib;
    const net = sidesOut.net;
    result.cycles = {
      cycles: CFG.cycles, concurrency: CFG.concurrency, warmup: CFG.warmup, chunks: CFG.chunks, payloadBytes: CFG.payloadBytes,
      sides: sidesOut,
      ratios: {
        // A growth ratio is only meaningful when the baseline grew by more than noise (1 MB).
        rssGrowth: net.growth.rss >= MB ? lib.growth.rss / net.growth.rss : null,
        rssGrowthDiff: lib.growth.rss - net.growth.rss,
        rssEnd: lib.end.rss / net.end.rss,
        throughput: lib.cyclesPerSec / net.cyclesPerSec,
      },
    };
    const want = { lib: true, net: false };
    for (const n of names) {
      const s = sidesOut[n];
      const failed = sum(s.failures);
      if (failed) result.warnings.push(`cycles ${n}: ${failed} of ${s.cycles} cycles failed (${JSON.stringify(s.failures)})`);
      if (sum(s.warmupFailures)) result.warnings.push(`cycles ${n}: warm-up failures ${JSON.stringify(s.warmupFailures)}`);
      const expect = want[n] ? s.cycles : 0;
      if (s.clientMptcp !== expect) result.warnings.push(`cycles ${n}: ${s.clientMptcp} of ${s.cycles} client sockets were MPTCP (expected ${expect})`);
      if (s.accepted !== s.cycles) result.warnings.push(`cycles ${n}: the server accepted ${s.accepted} connections for ${s.cycles} cycles`);
      if (s.serverMptcp !== (want[n] ? s.accepted : 0)) result.warnings.push(`cycles ${n}: ${s.serverMptcp} of ${s.accepted} accepted sockets were MPTCP`);
      if (s.maxServerSocketsLeft) result.warnings.push(`cycles ${n}: up to ${s.maxServerSocketsLeft} accepted sockets still open 10 s after a chunk`);
      if (s.growth.fds > 0) result.warnings.push(`cycles ${n}: open descriptors grew by ${s.growth.fds} (${s.start.fds} -> ${s.end.fds})`);
    }
  } finally {
    await Promise.all(names.map((n) => sides[n].stop()));
  }
}

// --------------------------------------------------------- 2. monitor -------

/** `ip mptcp monitor` in a namespace: event lines counted, by type ("[       CREATED] token=..."). */
class IpMonitor {
  constructor(netns) {
    this.total = 0;
    this.byType = {};
    this.stderr = '';
    this.child = spawn('ip', ['netns', 'exec', netns, 'ip', 'mptcp', 'monitor'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(this.child);
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
    this.exited = new Promise((resolve) => this.child.on('exit', () => { children.delete(this.child); resolve(); }));
  }

  async stop() {
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
    const key = `${evs.map((e) => e.total).join('/')}/${ip.total}`;
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

const CONSUMERS = { events: "'event' listener", iterator: '`for await`' };
const SHORT = { events: 'listener', iterator: 'for-await' };

async function monitorPhase(result) {
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
      const worker = new Worker(`monitor (${consume})`, ['monitor', consume], netns);
      mons.push({ consume, worker, points: [] });
      await worker.ready;
    }
    ip = new IpMonitor(netns);
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
        const k = view(evs[i]);
        x.points.push({
          at, ms, ...pick(samples[i]), libEvents: evs[i].total - x.base.ev.total, ipEvents: ip.total - ipBase.total,
          socketErrors: sum(evs[i].warnings), kernelDrops: k.drops - x.base.k.drops, oracleDrops: k.oracleDrops - x.base.k.oracleDrops, rmem: k.rmem,
        });
      });
    };
    await record(0, 0, ev0);
    log(`monitor: warmed up (${CFG.churnWarmup} connections, monitor ${ev0.map((e) => e.total).join(', ')} events, ip ${ip.total}); ` +
      `${CFG.churn} connections, ${CFG.churnConcurrency} in flight${CFG.churnRate ? `, at most ${CFG.churnRate}/s` : ''}, in ${CFG.chunks} chunks; ` +
      `monitors read with ${CFG.consume.map((c) => CONSUMERS[c]).join(', ')}`);
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
          return `${consume}: ${p.libEvents} events${p.socketErrors ? `, socket errors ${p.socketErrors}` : ''}${p.kernelDrops ? `, kernel dropped ${p.kernelDrops}` : ''}, ` +
            `fds ${p.fds}, rss ${(p.rss / MB).toFixed(1)} MB, heap ${(p.heapUsed / MB).toFixed(1)} MB`;
        }).join('; ') + (r.failed ? `; ${r.failed} FAILED` : ''));
    }
    const evEnd = await Promise.all(mons.map((x) => x.worker.request('events')));
    await ip.stop();
    const diff = (a, b) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b[k] ?? 0)]).filter(([, v]) => v > 0));
    const ipEvents = ip.total - ipBase.total;
    const monitors = {};
    mons.forEach((x, i) => {
      const { points } = x;
      const e = evEnd[i];
      const kEnd = view(e);
      const libEvents = e.total - x.base.ev.total;
      // Deaf: from some checkpoint on, the count never moved again while the oracle's did.
      const lastMove = points.findLastIndex((p, j) => j > 0 && p.libEvents !== points[j - 1].libEvents);
      const still = Math.max(lastMove, 0);
      const deaf = still < points.length - 1 && points.at(-1).ipEvents > points[still].ipEvents
        ? { afterEvents: points[still].libEvents, byConnections: points[still + 1].at, receiveQueueBytes: kEnd.rmem }
        : null;
      monitors[x.consume] = {
        consume: x.consume,
        libEvents,
        libOverIp: ipEvents > 0 ? libEvents / ipEvents : null,
        eventsPerSec: libEvents / (churnMs / 1000),
        byType: diff(e.byType, x.base.ev.byType),
        // 'warning's from the monitor, by code, and the event messages the
        // kernel dropped for its socket (/proc/net/netlink).
        socketErrors: e.warnings,
        kernelDrops: kEnd.drops - x.base.k.drops,
        deaf,
        eventsAfterFirstSocketError: e.firstWarningMs ? e.afterFirstWarning : null,
        ...summarizeSeries(points),
        points,
      };
    });
    const first = Object.values(monitors)[0];
    result.monitor = {
      connections: done, concurrency: CFG.churnConcurrency, rateCap: CFG.churnRate || null, warmup: CFG.churnWarmup, chunks: CFG.chunks,
      netns: 'own (loopback only)',
      churnSec: churnMs / 1000,
      connectionsPerSec: done / (churnMs / 1000),
      ipEvents,
      ipEventsPerConnection: ipEvents / done,
      ipByType: diff(ip.byType, ipBase.byType),
      oracleDrops: first.points.at(-1).oracleDrops,
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
      if (mo.libEvents !== ipEvents) w(`delivered ${mo.libEvents} events, ip mptcp monitor printed ${ipEvents}`);
      if (sum(mo.socketErrors)) w(`socket errors reported as 'warning': ${byTypeText(mo.socketErrors)}; ${mo.eventsAfterFirstSocketError} events delivered after the first`);
      if (mo.kernelDrops) w(`the kernel dropped ${mo.kernelDrops} event messages for the monitor's socket (receive queue overrun)`);
      if (mo.deaf) {
        w(`went deaf: no events after ${mo.deaf.afterEvents} (by ${mo.deaf.byConnections} connections) while ip mptcp monitor kept counting; ` +
          `its socket's receive queue holds ${mo.deaf.receiveQueueBytes} bytes, unread`);
      }
      if (mo.growth.fds > 0) w(`the monitoring process's descriptors grew by ${mo.growth.fds}`);
    }
    if (r.oracleDrops) result.warnings.push(`monitor: the kernel dropped ${r.oracleDrops} messages for ip mptcp monitor too: the oracle undercounts`);
    if (failed) result.warnings.push(`monitor: ${failed} churn cycles failed`);
    if (r.churn.clientMptcp !== done || r.churn.serverMptcp !== r.churn.accepted) {
      result.warnings.push(`monitor: churn connections not all MPTCP (client ${r.churn.clientMptcp}, server ${r.churn.serverMptcp} of ${done})`);
    }
  } finally {
    await Promise.all([churn.stop(), ...mons.map((x) => x.worker.stop()), ip?.stop()]);
    cleanup();
  }
}

// ---------------------------------------------------------------- output ----

const f = (x, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const mb = (b) => f(b / MB, 1);
const smb = (b) => `${b >= 0 ? '+' : ''}${f(b / MB, 1)}`;
const sme = (s, k, fmt) => `${fmt(s.start[k])} / ${fmt(s.mid[k])} / ${fmt(s.end[k])}`;
const num = (x) => x.toLocaleString('en-US');
const byTypeText = (o) => Object.entries(o).map(([k, v]) => `${k} ${v}`).join(', ');

function printTables(result) {
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
      `(read with ${ms.map((x) => CONSUMERS[x.consume]).join(', ')}), \`ip mptcp monitor\` alongside as the count oracle ` +
      `(counted after ${num(mo.warmup)} warm-up connections, compared once each chunk's events have arrived)`);
    out.push(table(['monitor read with', 'connections/s', 'fds start/mid/end', 'RSS MB start/mid/end', 'heap MB start/mid/end', 'events (monitor)', 'events (ip mptcp monitor)', 'monitor / ip', 'events/s', 'kernel drops', 'socket errors'],
      ms.map((x) => [CONSUMERS[x.consume], f(mo.connectionsPerSec, 0), sme(x, 'fds', String), sme(x, 'rss', mb), sme(x, 'heapUsed', mb),
        num(x.libEvents), num(mo.ipEvents), f(x.libOverIp, 4), f(x.eventsPerSec, 0), num(x.kernelDrops), sum(x.socketErrors) ? byTypeText(x.socketErrors) : '0']),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));
    out.push('');
    out.push(`   ip mptcp monitor: ${byTypeText(mo.ipByType)} (${f(mo.ipEventsPerConnection, 2)} per connection; kernel drops for ip: ${num(mo.oracleDrops)})`);
    for (const x of ms) {
      out.push(`   ${CONSUMERS[x.consume]}: ${byTypeText(x.byType)}; monitor + kernel drops = ${num(x.libEvents + x.kernelDrops)}` +
        `${x.deaf ? `; DEAF after ${num(x.deaf.afterEvents)} events (by ${num(x.deaf.byConnections)} connections)` : ''}`);
    }
    out.push(`   churn: echoes ok ${num(mo.churn.echoOk)}/${num(mo.connections)}, failed ${mo.churn.failures}, client isMptcp ${num(mo.churn.clientMptcp)}, ` +
      `server isMptcp ${num(mo.churn.serverMptcp)}/${num(mo.churn.accepted)}`);
    out.push('');
    out.push('   per checkpoint (connections done; each monitoring process: fds, RSS MB, heap used MB, events so far, kernel drops)');
    const heads = ['connections', 'ip'];
    for (const x of ms) heads.push(...['fds', 'RSS', 'heap', 'events', 'drops'].map((h) => `${SHORT[x.consume]} ${h}`));
    out.push(table(heads, ms[0].points.map((p, i) => [num(p.at), num(p.ipEvents),
      ...ms.flatMap((x) => { const q = x.points[i]; return [q.fds, mb(q.rss), mb(q.heapUsed), num(q.libEvents), num(q.kernelDrops)]; })]),
    heads.map(() => 'r')));
    out.push('');
  }
  for (const w of result.warnings) out.push(`WARNING: ${w}`);
  for (const e of result.errors) out.push(`ERROR: ${e}`);
  out.push(`(${result.elapsedSec.toFixed(0)} s; written: ${path.relative(process.cwd(), path.join(DOCS, 'bench-soak.json'))})`);
  process.stdout.write(out.join('\n') + '\n');
}

// ------------------------------------------------------------------ main ----

async function main() {
  const t0 = Date.now();
  const sup = m.support();
  if (!sup.available) throw new Error(`MPTCP unavailable here (${sup.reason}): nothing to soak`);
  const result = {
    env: {
      node: process.version, kernel: os.release(), cpus: os.availableParallelism?.() ?? os.cpus().length,
      date: new Date().toISOString(), quick: QUICK, support: sup, loadavgAtStart: os.loadavg(),
    },
    config: CFG,
    warnings: [],
    errors: [],
  };
  for (const [phase, fn] of [['cycles', cyclesPhase], ['monitor', monitorPhase]]) {
    if (!ONLY.includes(phase)) continue;
    try {
      await fn(result);
    } catch (err) {
      result.errors.push(`${phase}: ${err.message}`);
      log(`${phase} failed: ${err.stack ?? err}`);
    }
  }
  result.elapsedSec = (Date.now() - t0) / 1e3;
  result.env.loadavgAtEnd = os.loadavg();
  mkdirSync(DOCS, { recursive: true });
  writeFileSync(path.join(DOCS, 'bench-soak.json'), JSON.stringify(result, null, 2) + '\n');
  if (JSON_OUT) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printTables(result);
  if (result.errors.length) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`soak bench failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
