// Soak benchmark: does the library hold its descriptors and memory flat over
// many connections, and does mptcp.monitor() account for every event under
// connection churn? A benchmark, not a test: nothing here is a timed
// assertion; it measures and reports, and the exit status is non-zero only on
// errors.
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
//   2. monitor  mptcp.monitor() (default recvBufferSize unless `--recv-buffer`) in processes
//               of their own, one read with an 'event' listener and one with
//               `for await` (`--consume`), counting the events of their
//               namespace while `--churn` library connections (default
//               50,000) go through the same connect / echo / close cycle from
//               another worker, as fast as they go unless `--churn-rate` caps
//               the connections started per second. Measured per monitoring
//               process: descriptors and memory (flat: an 'event' listener
//               alone retains nothing), events delivered, mon.recvBufferSize,
//               the overruns it reported ('overrun' events and mon.overruns),
//               the events the kernel dropped for its socket (the Drops of
//               /proc/net/netlink), and whether it went on delivering after
//               each overrun. `ip mptcp monitor` runs alongside as the count
//               oracle, with a receive buffer as large (`ip -rcvbuf`) and its
//               own drops counted: every event the kernel sent is either
//               delivered or dropped, so delivered + dropped should equal
//               what the oracle printed (+ what it dropped).
//               Needs root: it runs in a network namespace of its own
//               (loopback only), deleted afterwards.
//
// Usage: npm run bench:soak [-- --quick] [-- --json] [-- --only=cycles,monitor]
//                           [-- --cycles N] [-- --churn N] [-- --concurrency N]
//                           [-- --churn-concurrency N] [-- --churn-rate N]
//                           [-- --consume=events,iterator] [-- --recv-buffer N] [-- --out FILE]
//   --quick               10,000 cycles per side, 5,000 churned connections (also SOAK_QUICK=1)
//   --cycles N            phase 1 cycles per side (also SOAK_CYCLES)
//   --churn N             phase 2 connections (also SOAK_CHURN)
//   --concurrency N       phase 1 cycles in flight per side (also SOAK_CONCURRENCY)
//   --churn-concurrency N phase 2 connections in flight (also SOAK_CHURN_CONCURRENCY)
//   --churn-rate N        phase 2 connections started per second at most; 0 = uncapped,
//                         the default (also SOAK_CHURN_RATE)
//   --consume=LIST        phase 2 monitors, one process each: read with an 'event' listener
//                         (events) and/or with `for await` (iterator); both by default (also SOAK_CONSUME)
//   --recv-buffer N       phase 2 monitors' recvBufferSize in bytes (default: the library's,
//                         4 MiB) (also SOAK_RECV_BUFFER)
//   --only=LIST           run only these phases (also SOAK_ONLY)
//   --json                print the results as JSON instead of tables
//   --out FILE            where the JSON results go (also SOAK_OUT; default docs/bench-soak.json)
// Always writes the JSON results (docs/bench-soak.json unless --out says otherwise).
// Files: soak-peer.mjs (the worker processes), soak-shared.mjs (driving them,
// the namespace), soak-monitor.mjs (phase 2), soak-report.mjs (the tables).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { argNumber, envNumber } from './common.mjs';
import { monitorPhase } from './soak-monitor.mjs';
import { printTables } from './soak-report.mjs';
import { MB, Worker, pick, sum, summarizeSeries } from './soak-shared.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const m = require('../dist/index.js');

// ---------------------------------------------------------------- config ----

const argv = process.argv.slice(2);
const JSON_OUT = argv.includes('--json');
const QUICK = argv.includes('--quick') || /^(1|true|yes)$/i.test(process.env.SOAK_QUICK ?? '');
const ONLY = (argv.find((a) => a.startsWith('--only='))?.slice(7) ?? process.env.SOAK_ONLY ?? 'cycles,monitor').split(',');
const int = (x) => Math.round(x);
const argString = (name) => {
  const i = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const v = argv[i] === name ? argv[i + 1] : argv[i].slice(name.length + 1);
  if (!v) throw new Error(`${name} needs a value`);
  return v;
};
const OUT = path.resolve(argString('--out') ?? process.env.SOAK_OUT ?? path.join(here, '..', 'docs', 'bench-soak.json'));
const envRate = process.env.SOAK_CHURN_RATE;
const CFG = {
  cycles: int(argNumber(argv, '--cycles', envNumber('SOAK_CYCLES', QUICK ? 10_000 : 100_000))),
  concurrency: int(argNumber(argv, '--concurrency', envNumber('SOAK_CONCURRENCY', 8))),
  churn: int(argNumber(argv, '--churn', envNumber('SOAK_CHURN', QUICK ? 5_000 : 50_000))),
  churnConcurrency: int(argNumber(argv, '--churn-concurrency', envNumber('SOAK_CHURN_CONCURRENCY', 8))),
  // Connections started per second in phase 2; 0 = as fast as they go (the default).
  churnRate: argNumber(argv, '--churn-rate', !envRate || envRate === '0' ? 0 : envNumber('SOAK_CHURN_RATE', 0), { zero: true }),
  // How the monitors are read, one monitor process each: an 'event' listener, `for await` (also SOAK_CONSUME).
  consume: (argv.find((a) => a.startsWith('--consume='))?.slice(10) ?? process.env.SOAK_CONSUME ?? 'events,iterator').split(','),
  // The monitors' recvBufferSize; null = the library's default.
  recvBuffer: int(argNumber(argv, '--recv-buffer', envNumber('SOAK_RECV_BUFFER', 0))) || null,
  // Cycles per worker before the first sample. Phase 1 allocates fast enough
  // for V8 to grow its young generation (heapTotal ~13 -> ~38 MB) within the
  // first few thousand cycles; the warm-up lets that happen before "start".
  warmup: QUICK ? 2_000 : 10_000,
  churnWarmup: QUICK ? 500 : 2_000, // phase 2 connections before the first sample
  chunks: 10, // samples after warm-up and after each of this many chunks
  oracleRcvbuf: 4 * MB, // `ip -rcvbuf` of the oracle: the monitor's default recvBufferSize
  payloadBytes: 64,
};

if (!CFG.consume.length || CFG.consume.some((c) => !['events', 'iterator'].includes(c))) {
  throw new Error(`--consume must be a comma list of events, iterator; got ${CFG.consume.join(',')}`);
}

const log = (...a) => { if (!JSON_OUT) process.stderr.write(a.join(' ') + '\n'); };

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

// ------------------------------------------------------------------ main ----

function readNumber(file) {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return null;
  }
}

async function main() {
  const t0 = Date.now();
  const sup = m.support();
  if (!sup.available) throw new Error(`MPTCP unavailable here (${sup.reason}): nothing to soak`);
  const result = {
    env: {
      node: process.version, kernel: os.release(), cpus: os.availableParallelism?.() ?? os.cpus().length,
      date: new Date().toISOString(), quick: QUICK, support: sup, loadavgAtStart: os.loadavg(),
      // Caps the oracle's SO_RCVBUF (not the monitor's SO_RCVBUFFORCE).
      rmemMax: readNumber('/proc/sys/net/core/rmem_max'),
    },
    config: CFG,
    warnings: [],
    errors: [],
  };
  for (const [phase, fn] of [['cycles', cyclesPhase], ['monitor', (r) => monitorPhase(r, CFG, log)]]) {
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
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(result, null, 2) + '\n');
  if (JSON_OUT) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printTables(result, OUT);
  if (result.errors.length) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`soak bench failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
