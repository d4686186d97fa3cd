// Benchmark: the mptcp library against named baselines, measured side by
// side in one run and reported as ratios.
//
//   lib       mptcp.connect -> mptcp.createServer                (under test)
//   mptcpize  plain `net`, run under `mptcpize run` (LD_PRELOAD, mptcpd)
//   tcp       plain `net`, plain TCP
//
// Every peer is a fresh process (bench/peer.mjs), senders/clients pinned to
// CPU 0 and receivers/servers to CPU 1. Modes alternate transfer by transfer
// (and chunk by chunk for latency), so drift in the machine hits all alike.
//
// Usage: npm run bench [-- --json] [-- --quick] [-- --only=throughput,latency,calls]
//   --json            print the results as JSON instead of tables
//   --quick           ~30 s run (also BENCH_QUICK=1)
//   --only=LIST       run only these phases: throughput,latency,calls,pm (also BENCH_ONLY)
// Env overrides: BENCH_ROUNDS, BENCH_MIB (per transfer), BENCH_CHUNK_KIB,
//   BENCH_LAT_N (connects per mode), BENCH_CALLS (timed calls per function).
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { envNumber, median, quantile, table, which } from './common.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PEER = path.join(here, 'peer.mjs');
const require = createRequire(import.meta.url);
const m = require('../dist/index.js');

// ---------------------------------------------------------------- config ----

const argv = process.argv.slice(2);
const JSON_OUT = argv.includes('--json');
const QUICK = argv.includes('--quick') || /^(1|true|yes)$/i.test(process.env.BENCH_QUICK ?? '');
const envInt = envNumber;
const ONLY = (argv.find((a) => a.startsWith('--only='))?.slice(7) ?? process.env.BENCH_ONLY ?? 'throughput,latency,calls,pm').split(',');
const CFG = {
  // throughput: one transfer per mode per round, fresh process pairs every respawnEvery rounds
  rounds: envInt('BENCH_ROUNDS', QUICK ? 40 : 120),
  mib: envInt('BENCH_MIB', QUICK ? 64 : 128),
  warmMib: QUICK ? 32 : 64,
  chunkKib: envInt('BENCH_CHUNK_KIB', 256),
  respawnEvery: envInt('BENCH_RESPAWN', QUICK ? 10 : 20),
  // connect latency: sequential connects per mode, alternating in chunks
  latN: envInt('BENCH_LAT_N', QUICK ? 600 : 3000),
  latChunk: 100,
  latWarm: QUICK ? 100 : 200,
  latRespawn: QUICK ? 300 : 1000,
  // per-call cost
  calls: envInt('BENCH_CALLS', QUICK ? 50_000 : 200_000),
  callBatches: 10,
  callWarm: QUICK ? 20_000 : 50_000,
};

const TARGETS = {
  tputRatio: 0.98, // lib / mptcpize, p90 transfer rate, >=
  latMedianRatio: 1.05, // lib / mptcpize, median connect latency, <=
  isMptcp: 0.3, // µs per call, <=
  getInfo: 1,
  getSubflows: 3,
};

const log = (...a) => { if (!JSON_OUT) process.stderr.write(a.join(' ') + '\n'); };

// ----------------------------------------------------------- environment ----


const MPTCPIZE = which('mptcpize');
const TASKSET = which('taskset');
const SS = which('ss');
const NCPU = os.availableParallelism?.() ?? os.cpus().length;
const CPU_SEND = 0;
const CPU_RECV = NCPU > 1 ? 1 : 0;

const MODES = [
  { name: 'lib', peer: 'lib', wrap: [], expectMptcp: true, available: true },
  { name: 'mptcpize', peer: 'net', wrap: MPTCPIZE ? [MPTCPIZE, 'run'] : [], expectMptcp: true, available: Boolean(MPTCPIZE) },
  { name: 'tcp', peer: 'net', wrap: [], expectMptcp: false, available: true },
];
const active = () => MODES.filter((x) => x.available);

// ----------------------------------------------------------------- peers ----

class Peer {
  constructor(mode, role, cpu) {
    this.mode = mode;
    this.role = role;
    const cmd = [...(TASKSET ? [TASKSET, '-c', String(cpu)] : []), ...mode.wrap, process.execPath, PEER, role, mode.peer];
    this.child = spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.queue = [];
    this.waiters = [];
    this.stderr = '';
    this.exited = false;
    this.child.stderr.on('data', (d) => { this.stderr += d; });
    this.child.on('exit', (code, sig) => {
      this.exited = true;
      const err = new Error(`${mode.name} ${role} exited (${code ?? sig}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      for (const w of this.waiters.splice(0)) w.reject(err);
    });
    this.child.on('error', (err) => { for (const w of this.waiters.splice(0)) w.reject(err); });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      let msg;
      try { msg = JSON.parse(line); } catch { return; }
      const i = this.waiters.findIndex((w) => w.type === msg.type || msg.type === 'error');
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        if (msg.type === 'error') w.reject(new Error(`${mode.name} ${role}: ${msg.where}: ${msg.message}`));
        else w.resolve(msg);
      } else {
        this.queue.push(msg);
      }
    });
  }

  next(type, timeoutMs = 60_000) {
    const i = this.queue.findIndex((q) => q.type === type || q.type === 'error');
    if (i >= 0) {
      const [msg] = this.queue.splice(i, 1);
      if (msg.type === 'error') return Promise.reject(new Error(`${this.mode.name} ${this.role}: ${msg.where}: ${msg.message}`));
      return Promise.resolve(msg);
    }
    if (this.exited) return Promise.reject(new Error(`${this.mode.name} ${this.role} has exited: ${this.stderr.trim()}`));
    return new Promise((resolve, reject) => {
      const w = { type, resolve, reject };
      const timer = setTimeout(() => {
        const j = this.waiters.indexOf(w);
        if (j >= 0) this.waiters.splice(j, 1);
        reject(new Error(`${this.mode.name} ${this.role}: timed out waiting for ${type}`));
      }, timeoutMs);
      w.resolve = (v) => { clearTimeout(timer); resolve(v); };
      w.reject = (e) => { clearTimeout(timer); reject(e); };
      this.waiters.push(w);
    });
  }

  request(cmd, type, timeoutMs) {
    this.child.stdin.write(JSON.stringify(cmd) + '\n');
    return this.next(type, timeoutMs);
  }

  stop() {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.child.kill('SIGKILL'); }, 2000);
      this.child.once('exit', () => { clearTimeout(t); resolve(); });
      try { this.child.stdin.end(JSON.stringify({ cmd: 'exit' }) + '\n'); } catch { this.child.kill(); }
    });
  }
}

/** A fresh server (CPU_RECV) + client (CPU_SEND) process pair for a mode. */
async function startPair(mode) {
  const server = new Peer(mode, 'server', CPU_RECV);
  const client = new Peer(mode, 'client', CPU_SEND);
  const [ports] = await Promise.all([server.next('ready', 20_000), client.next('ready', 20_000)]);
  return { mode, server, client, ports };
}

async function startPairs() {
  const pairs = {};
  for (const mode of active()) pairs[mode.name] = await startPair(mode);
  return pairs;
}

async function stopPairs(pairs) {
  await Promise.all(Object.values(pairs).flatMap((p) => [p.server.stop(), p.client.stop()]));
}

// ----------------------------------------------------------------- stats ----


/** Quantile of an already sorted typed array. */
function sortedQuantile(s, q) {
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * Bootstrap 90% interval of quantile(a, q) / quantile(b, q): how far the
 * ratio could move from sampling noise alone. Deterministic (fixed seed).
 */
function bootstrapRatio(a, b, q, iters = 1000) {
  let seed = 0x9e3779b9;
  const rand = () => {
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return seed / 4294967296;
  };
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

/** Rotates the mode order each round: no mode always runs first or last. */
function rotated(list, round) {
  const k = round % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

// ------------------------------------------------------- MPTCP checks -------

/**
 * Independent of the library: holds one connection of this mode open and
 * asks the kernel (`ss -tni`) whether its TCP socket is an MPTCP subflow
 * ("tcp-ulp-mptcp"). null when ss is unavailable.
 */
async function ssCheck(pair) {
  if (!SS) return null;
  const held = await pair.client.request({ cmd: 'hold', port: pair.ports.echo }, 'held');
  try {
    const r = spawnSync(SS, ['-tniH', 'state', 'established', `( sport = :${held.localPort} )`], { encoding: 'utf8' });
    if (r.status !== 0) return null;
    return /tcp-ulp-mptcp/.test(r.stdout);
  } finally {
    await pair.client.request({ cmd: 'release' }, 'released');
  }
}

// -------------------------------------------------------------- phases ------

async function throughputPhase(result) {
  const bytes = Math.round(CFG.mib * 1024 * 1024);
  const warm = Math.round(CFG.warmMib * 1024 * 1024);
  const chunk = Math.round(CFG.chunkKib * 1024);
  const rates = {}; // Gbit/s, receiver side
  const verified = {};
  for (const mode of active()) {
    rates[mode.name] = [];
    verified[mode.name] = { kernel: null, transfers: 0, mptcp: 0 };
  }
  const names = Object.keys(rates);
  let pairs = null;
  const transfer = async (name, n) => {
    const p = pairs[name];
    const [sent, sink] = await Promise.all([
      p.client.request({ cmd: 'send', port: p.ports.sink, bytes: n, chunk }, 'sent', 120_000),
      p.server.next('sink', 120_000),
    ]);
    if (sink.bytes !== n) throw new Error(`${name}: receiver got ${sink.bytes} of ${n} bytes`);
    verified[name].transfers++;
    if (sent.mptcp && sink.mptcp) verified[name].mptcp++;
    return (sink.bytes * 8) / sink.ns; // bits per ns = Gbit/s
  };
  try {
    for (let r = 0; r < CFG.rounds; r++) {
      if (r % CFG.respawnEvery === 0) {
        // Fresh process pairs, each checked with ss and warmed up.
        if (pairs) await stopPairs(pairs);
        pairs = await startPairs();
        for (const name of names) {
          const k = await ssCheck(pairs[name]);
          const v = verified[name];
          v.kernel = v.kernel === null ? k : v.kernel === k ? k : 'mixed';
          await transfer(name, warm);
        }
      }
      for (const name of rotated(names, r)) rates[name].push(await transfer(name, bytes));
      log(`throughput: round ${r + 1}/${CFG.rounds} ` + names.map((n) => `${n} ${rates[n].at(-1).toFixed(1)}`).join('  ') + ' Gbit/s');
    }
  } finally {
    if (pairs) await stopPairs(pairs);
  }
  const stats = {};
  for (const [name, xs] of Object.entries(rates)) {
    stats[name] = { n: xs.length, median: median(xs), p90: quantile(xs, 0.9), min: Math.min(...xs), max: Math.max(...xs), samples: xs };
  }
  const ci = {};
  if (rates.mptcpize) ci.libVsMptcpizeP90 = bootstrapRatio(rates.lib, rates.mptcpize, 0.9);
  result.throughput = { unit: 'Gbit/s', mibPerTransfer: CFG.mib, chunkKib: CFG.chunkKib, rounds: CFG.rounds, respawnEvery: CFG.respawnEvery, stats, ci, verified };
}

async function latencyPhase(result) {
  const samples = {};
  const connectSamples = {};
  const verified = {};
  for (const mode of active()) {
    samples[mode.name] = [];
    connectSamples[mode.name] = [];
    verified[mode.name] = { client: null, server: null, checked: 0, serverMptcp: 0 };
  }
  const names = Object.keys(samples);
  const chunks = Math.ceil(CFG.latN / CFG.latChunk);
  const perPair = Math.max(1, Math.round(CFG.latRespawn / CFG.latChunk));
  let pairs = null;
  const closePairs = async () => {
    if (!pairs) return;
    for (const name of names) {
      const s = await pairs[name].server.request({ cmd: 'echoStats' }, 'echoStats');
      verified[name].checked += s.checked;
      verified[name].serverMptcp += s.mptcp;
    }
    await stopPairs(pairs);
    pairs = null;
  };
  const noteClient = (name, mp) => {
    const v = verified[name];
    v.client = v.client === null ? mp : v.client === mp ? mp : 'mixed';
  };
  try {
    for (let c = 0; c < chunks; c++) {
      if (c % perPair === 0) {
        // Fresh process pairs, warmed up (JIT, allocator, listen queue).
        await closePairs();
        pairs = await startPairs();
        for (const name of names) {
          const w = await pairs[name].client.request({ cmd: 'latency', port: pairs[name].ports.echo, n: CFG.latWarm }, 'latency');
          noteClient(name, w.mptcp);
        }
      }
      const n = Math.min(CFG.latChunk, CFG.latN - c * CFG.latChunk);
      for (const name of rotated(names, c)) {
        const r = await pairs[name].client.request({ cmd: 'latency', port: pairs[name].ports.echo, n }, 'latency', 120_000);
        samples[name].push(...r.us);
        connectSamples[name].push(...r.connectUs);
        noteClient(name, r.mptcp);
      }
    }
    await closePairs();
  } finally {
    if (pairs) await stopPairs(pairs);
  }
  for (const name of names) {
    const v = verified[name];
    v.server = v.checked === 0 ? null : v.serverMptcp === v.checked ? true : v.serverMptcp === 0 ? false : 'mixed';
  }
  const stats = {};
  for (const [name, xs] of Object.entries(samples)) {
    stats[name] = {
      n: xs.length, median: median(xs), p90: quantile(xs, 0.9), p99: quantile(xs, 0.99), min: Math.min(...xs),
      connectMedian: median(connectSamples[name]),
    };
  }
  const ci = {};
  if (samples.mptcpize) ci.libVsMptcpizeMedian = bootstrapRatio(samples.lib, samples.mptcpize, 0.5);
  log(`latency: ${CFG.latN} connects per mode done`);
  result.latency = { unit: 'µs', iterations: CFG.latN, respawnEvery: perPair * CFG.latChunk, stats, ci, verified };
}

async function callsPhase(result) {
  const lib = MODES[0];
  const pair = await startPair(lib);
  let r;
  try {
    r = await pair.client.request({
      cmd: 'calls', port: pair.ports.echo, warm: CFG.callWarm,
      batches: CFG.callBatches, per: Math.ceil(CFG.calls / CFG.callBatches),
    }, 'calls', 120_000);
  } finally {
    await stopPairs({ lib: pair });
  }
  const stats = {};
  for (const [name, ns] of Object.entries(r.results)) {
    stats[name] = { usMedian: median(ns) / 1e3, usMin: Math.min(...ns) / 1e3, usMax: Math.max(...ns) / 1e3 };
  }
  log('per-call: done');
  result.calls = { unit: 'µs/call', calls: CFG.calls, batches: CFG.callBatches, mptcp: r.mptcp, subflows: r.subflows, stats };
}

/**
 * Path-manager round trips in this process: pm.list() (GET_ADDR dump) and
 * pm.getLimits() over the library's netlink socket, against the way an app
 * would otherwise ask: one `ip mptcp endpoint show` process. Read-only.
 */
async function pmPhase(result) {
  const n = QUICK ? 500 : 2000;
  const batches = 10;
  const per = Math.ceil(n / batches);
  const time = async (fn) => {
    for (let i = 0; i < Math.min(200, per); i++) await fn();
    const us = [];
    for (let b = 0; b < batches; b++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < per; i++) await fn();
      us.push(Number(process.hrtime.bigint() - t0) / 1e3 / per);
    }
    return { usMedian: median(us), usMin: Math.min(...us), usMax: Math.max(...us) };
  };
  const stats = {};
  try {
    stats['pm.list()'] = await time(() => m.pm.list());
    stats['pm.getLimits()'] = await time(() => m.pm.getLimits());
  } catch (err) {
    result.warnings.push(`pm round trips not measured: ${err.message}`);
    return;
  }
  // Concurrent calls: the shared socket queues dumps (one per socket at a
  // time in the kernel) against the alternative design, a socket per call
  // (socket + bind + request + close, with the family id already known).
  try {
    const conc = 64;
    const rounds = QUICK ? 20 : 100;
    const { GenlSocket } = require('../dist/netlink.js');
    const probe = new GenlSocket();
    const family = await probe.resolveFamily('mptcp_pm');
    probe.close();
    const perCall = async () => {
      const sock = new GenlSocket();
      try {
        return await sock.request(family.id, 3 /* GET_ADDR */, 1, [], { dump: true, syscall: 'mptcp_pm get_addr' });
      } finally {
        sock.close();
      }
    };
    const batch = async (fn) => {
      const us = [];
      for (let r = 0; r < rounds; r++) {
        const t0 = process.hrtime.bigint();
        await Promise.all(Array.from({ length: conc }, fn));
        us.push(Number(process.hrtime.bigint() - t0) / 1e3 / conc);
      }
      return { usMedian: median(us), usMin: Math.min(...us), usMax: Math.max(...us) };
    };
    stats[`${conc} concurrent pm.list(), shared socket (queued)`] = await batch(() => m.pm.list());
    stats[`${conc} concurrent list dumps, a socket per call`] = await batch(perCall);
  } catch (err) {
    result.warnings.push(`pm concurrency not measured: ${err.message}`);
  }
  const ip = which('ip');
  if (ip) {
    const { execFile } = await import('node:child_process');
    const run = () => new Promise((resolve, reject) => execFile(ip, ['mptcp', 'endpoint', 'show'], (err) => (err ? reject(err) : resolve())));
    const us = [];
    for (let i = 0; i < (QUICK ? 20 : 60); i++) {
      const t0 = process.hrtime.bigint();
      await run();
      us.push(Number(process.hrtime.bigint() - t0) / 1e3);
    }
    stats['ref: `ip mptcp endpoint show` process'] = { usMedian: median(us), usMin: Math.min(...us), usMax: Math.max(...us) };
  }
  const endpoints = (await m.pm.list()).length;
  log('pm: done');
  result.pm = { unit: 'µs/call', calls: n, batches, endpoints, stats };
}

// -------------------------------------------------------------- output ------


const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const yesNo = (v) => (v === null || v === undefined ? 'n/a' : v === true ? 'yes' : v === false ? 'no' : String(v));

function summarize(result) {
  const rows = [];
  const push = (metric, measured, target, pass) => rows.push({ metric, measured, target, pass });
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? a / b : NaN);
  const noBase = 'baseline unavailable';

  if (result.throughput) {
    const tp = result.throughput.stats;
    if (tp.mptcpize) {
      const r = ratio(tp.lib.p90, tp.mptcpize.p90);
      push('throughput lib/mptcpize (p90)', r, `>= ${TARGETS.tputRatio}`, r >= TARGETS.tputRatio);
      push('throughput lib/mptcpize (median)', ratio(tp.lib.median, tp.mptcpize.median), '(info)', null);
    } else {
      push('throughput lib/mptcpize (p90)', NaN, `>= ${TARGETS.tputRatio}`, noBase);
    }
    push('throughput lib/tcp (p90)', ratio(tp.lib.p90, tp.tcp.p90), '(info)', null);
  }
  if (result.latency) {
    const lt = result.latency.stats;
    if (lt.mptcpize) {
      const r = ratio(lt.lib.median, lt.mptcpize.median);
      push('connect latency lib/mptcpize (median)', r, `<= ${TARGETS.latMedianRatio}`, r <= TARGETS.latMedianRatio);
      push('connect latency lib/mptcpize (p99)', ratio(lt.lib.p99, lt.mptcpize.p99), '(info)', null);
    } else {
      push('connect latency lib/mptcpize (median)', NaN, `<= ${TARGETS.latMedianRatio}`, noBase);
    }
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

function ratioRows(stats, cols) {
  const rows = [];
  const r = (a, b, k) => f(stats[a][k] / stats[b][k], 3);
  if (stats.mptcpize) rows.push(['lib / mptcpize', ...cols.map((k) => r('lib', 'mptcpize', k))]);
  else rows.push(['lib / mptcpize', ...cols.map(() => 'baseline unavailable')]);
  rows.push(['lib / tcp', ...cols.map((k) => r('lib', 'tcp', k))]);
  if (stats.mptcpize) rows.push(['mptcpize / tcp', ...cols.map((k) => r('mptcpize', 'tcp', k))]);
  return rows;
}

function printTables(result) {
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
      ['l', 'r', 'r', 'r', 'r', 'r', 'l', 'r']));
    out.push('');
    out.push(table(['ratio', 'p90', 'median'], ratioRows(t.stats, ['p90', 'median']), ['l', 'r', 'r']));
    if (t.ci.libVsMptcpizeP90) out.push(`lib/mptcpize p90 ratio, bootstrap 90% interval from sampling noise: ${f(t.ci.libVsMptcpizeP90.lo, 3)} .. ${f(t.ci.libVsMptcpizeP90.hi, 3)}`);
    out.push('');
  }

  const l = result.latency;
  if (l) {
    out.push(`2. Connect latency: sequential connect + 1-byte echo + close, µs (${l.iterations} per mode, modes alternating in chunks of ` +
      `${CFG.latChunk}, fresh warmed-up process pairs every ${l.respawnEvery})`);
    out.push(table(['mode', 'n', 'median', 'p90', 'p99', 'min', "median to 'connect'", 'MPTCP (client/server)'],
      Object.entries(l.stats).map(([name, s]) => [name, s.n, f(s.median, 1), f(s.p90, 1), f(s.p99, 1), f(s.min, 1),
        f(s.connectMedian, 1), `${yesNo(l.verified[name].client)}/${yesNo(l.verified[name].server)}`]),
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'l']));
    out.push('');
    out.push(table(['ratio', 'median', 'p99', "median to 'connect'"], ratioRows(l.stats, ['median', 'p99', 'connectMedian']), ['l', 'r', 'r', 'r']));
    if (l.ci.libVsMptcpizeMedian) out.push(`lib/mptcpize median ratio, bootstrap 90% interval from sampling noise: ${f(l.ci.libVsMptcpizeMedian.lo, 3)} .. ${f(l.ci.libVsMptcpizeMedian.hi, 3)}`);
    out.push('');
  }

  const c = result.calls;
  if (c) {
    out.push(`3. Per-call cost on an established MPTCP connection, µs/call (${c.subflows} subflow${c.subflows === 1 ? '' : 's'}; ` +
      `${c.calls} calls per function in ${c.batches} batches after ${CFG.callWarm} warm-up)`);
    out.push(table(['function', 'median batch', 'best batch', 'worst batch', 'target'],
      Object.entries(c.stats).map(([name, s]) => [name, f(s.usMedian, 3), f(s.usMin, 3), f(s.usMax, 3),
        TARGETS[name] !== undefined ? `<= ${TARGETS[name]}` : '(reference)']),
      ['l', 'r', 'r', 'r', 'l']));
    out.push('');
  }

  const p = result.pm;
  if (p) {
    out.push(`4. Path-manager round trip in this process, µs/call (${p.calls} sequential awaited calls in ${p.batches} batches; ${p.endpoints} endpoint(s) here)`);
    out.push(table(['call', 'median', 'best', 'worst'],
      Object.entries(p.stats).map(([name, s]) => [name, f(s.usMedian, 1), f(s.usMin, 1), f(s.usMax, 1)]), ['l', 'r', 'r', 'r']));
    const ref = p.stats['ref: `ip mptcp endpoint show` process'];
    if (ref) out.push(`pm.list() / one ip process: ${f(p.stats['pm.list()'].usMedian / ref.usMedian, 4)}`);
    out.push('');
  }

  out.push('Summary (pass/fail is informative only)');
  out.push(table(['metric', 'measured', 'target', 'pass/fail'],
    result.summary.map((r) => [r.metric,
      typeof r.measured === 'number' ? f(r.measured, 3) : yesNo(r.measured),
      r.target,
      r.pass === null ? '-' : r.pass === true ? 'PASS' : r.pass === false ? 'FAIL' : r.pass]),
    ['l', 'r', 'l', 'l']));
  for (const w of result.warnings) out.push(`WARNING: ${w}`);
  out.push(`(${result.elapsedSec.toFixed(0)} s)`);
  process.stdout.write(out.join('\n') + '\n');
}

// ---------------------------------------------------------------- main ------

/**
 * Whether every connection of a mode had the expected kind (MPTCP or not),
 * by every check that ran; null when the mode did not run.
 */
function modeCheck(result, name, want) {
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

async function main() {
  const t0 = Date.now();
  const sup = m.support();
  if (!sup.available) throw new Error(`MPTCP unavailable here (${sup.reason}): nothing to benchmark`);
  if (MPTCPIZE) {
    // mptcpize must be able to run node at all (its LD_PRELOAD library present).
    const r = spawnSync(MPTCPIZE, ['run', process.execPath, '-e', '0'], { encoding: 'utf8' });
    if (r.status !== 0) {
      MODES[1].available = false;
      log(`mptcpize present but not usable: ${(r.stderr || r.error?.message || '').trim()}`);
    }
  } else {
    log('mptcpize not found (apt-get install -y mptcpd): the mptcpize baseline is unavailable');
  }

  const result = {
    env: {
      node: process.version, kernel: os.release(), cpus: NCPU, taskset: Boolean(TASKSET),
      mptcpize: MODES[1].available ? MPTCPIZE : null, quick: QUICK, support: sup,
    },
    config: CFG,
    targets: TARGETS,
    warnings: [],
  };
  if (NCPU < 2) result.warnings.push('fewer than 2 CPUs: sender and receiver share one CPU');

  if (ONLY.includes('throughput')) await throughputPhase(result);
  if (ONLY.includes('latency')) await latencyPhase(result);
  if (ONLY.includes('calls')) await callsPhase(result);
  if (ONLY.includes('pm')) await pmPhase(result);

  result.checks = {
    lib: modeCheck(result, 'lib', true),
    mptcpize: MODES[1].available ? modeCheck(result, 'mptcpize', true) : null,
    tcp: modeCheck(result, 'tcp', false),
  };
  if (result.checks.mptcpize === false) result.warnings.push('the mptcpize baseline did NOT run over MPTCP: its ratios are meaningless');
  if (result.checks.lib === false) result.warnings.push('library connections were not all MPTCP');
  if (result.checks.tcp === false) result.warnings.push('the plain TCP baseline was unexpectedly MPTCP');
  result.summary = summarize(result);
  result.elapsedSec = (Date.now() - t0) / 1e3;

  if (JSON_OUT) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printTables(result);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
