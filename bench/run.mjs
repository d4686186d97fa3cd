// Benchmark: the mptcp library against named baselines, measured side by
// side in one run and reported as ratios with bootstrap intervals.
//
//   lib       mptcp.connect -> mptcp.createServer                (under test)
//   mptcpize  plain `net`, run under `mptcpize run` (LD_PRELOAD, mptcpd)
//   tcp       plain `net`, plain TCP
//   floors    per call: the bare getsockopt in C++ (native/floor/floor.cc)
//             and the addon call alone from JavaScript
//
// Every peer is a fresh process (bench/peer.mjs, bench/http-server.mjs),
// senders/clients pinned to CPU 0 and receivers/servers to CPU 1. Modes
// alternate transfer by transfer (chunk by chunk for latency, run by run for
// HTTP and memory, round by round for the floors), so drift in the machine
// hits all alike.
//
// Usage: npm run bench [-- --json] [-- --quick] [-- --only=throughput,latency,calls]
//   --json            print the results as JSON instead of tables
//   --quick           a short run (also BENCH_QUICK=1)
//   --only=LIST       run only these phases: throughput,latency,calls,http,memory,pm,diag (also BENCH_ONLY)
// Env overrides: BENCH_ROUNDS, BENCH_MIB (per transfer), BENCH_CHUNK_KIB,
//   BENCH_LAT_N (connects per mode), BENCH_CALLS (timed calls per function
//   and round), BENCH_CALL_ROUNDS, BENCH_HTTP_ROUNDS, BENCH_HTTP_SECONDS,
//   BENCH_HTTP_CONNECTIONS, BENCH_MEM_CONNS (connections held open per run),
//   BENCH_MEM_ROUNDS, BENCH_DIAG_CONNS (connections open for the
//   connections() phase).
//
// Layout: run/config.mjs (settings, targets, modes), run/peers.mjs (peer
// processes), one module per phase (run/throughput.mjs, latency.mjs,
// calls.mjs, http.mjs, memory.mjs, pm.mjs, diag.mjs), run/report.mjs
// (checks, summary, tables).
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { createRequire } from 'node:module';
import { runMain } from './common.mjs';
import { CFG, JSON_OUT, MODES, MPTCPIZE, NCPU, ONLY, QUICK, TARGETS, TASKSET, log } from './run/config.mjs';
import { throughputPhase } from './run/throughput.mjs';
import { latencyPhase } from './run/latency.mjs';
import { callsPhase } from './run/calls.mjs';
import { httpPhase } from './run/http.mjs';
import { memoryPhase } from './run/memory.mjs';
import { pmPhase } from './run/pm.mjs';
import { diagPhase } from './run/diag.mjs';
import { checkRows, modeCheck, printTables, summarize } from './run/report.mjs';

const require = createRequire(import.meta.url);
const m = require('../dist/index.js');

const PHASES = {
  throughput: throughputPhase, latency: latencyPhase, calls: callsPhase, http: httpPhase, memory: memoryPhase, pm: pmPhase, diag: diagPhase,
};

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

  for (const [name, phase] of Object.entries(PHASES)) if (ONLY.includes(name)) await phase(result);

  result.checks = {
    lib: modeCheck(result, 'lib', true),
    mptcpize: MODES[1].available ? modeCheck(result, 'mptcpize', true) : null,
    tcp: modeCheck(result, 'tcp', false),
  };
  if (result.checks.mptcpize === false) result.warnings.push('the mptcpize baseline did NOT run over MPTCP: its ratios are meaningless');
  if (result.checks.lib === false) result.warnings.push('library connections were not all MPTCP');
  if (result.checks.tcp === false) result.warnings.push('the plain TCP baseline was unexpectedly MPTCP');
  result.summary = summarize(result);
  result.checkRows = checkRows(result);
  result.elapsedSec = (Date.now() - t0) / 1e3;

  if (JSON_OUT) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printTables(result);
}

runMain(main, 'bench');
