// The loopback benchmark's settings (command line and environment, see
// bench/run.mjs), its targets, and what this machine offers: the baselines'
// tools, CPUs to pin to, and the modes that can run.
import os from 'node:os';
import { benchArgs, envNumber, makeLog, which } from '../common.mjs';

export const PHASES = ['throughput', 'latency', 'calls', 'http', 'memory', 'pm', 'diag'];
const args = benchArgs(process.argv.slice(2), 'BENCH', PHASES);
export const JSON_OUT = args.json;
export const QUICK = args.quick;
export const ONLY = args.only;

export const CFG = {
  // throughput: one transfer per mode per round, fresh process pairs every respawnEvery rounds
  rounds: envNumber('BENCH_ROUNDS', QUICK ? 40 : 120),
  mib: envNumber('BENCH_MIB', QUICK ? 64 : 128),
  warmMib: QUICK ? 32 : 64,
  chunkKib: envNumber('BENCH_CHUNK_KIB', 256),
  respawnEvery: envNumber('BENCH_RESPAWN', QUICK ? 10 : 20),
  // connect latency: sequential connects per mode, alternating in chunks
  latN: envNumber('BENCH_LAT_N', QUICK ? 600 : 3000),
  latChunk: 100,
  // in one process: connects of a kind in a row before the next kind's (see bench/peer.mjs latencyPaired)
  latBlock: envNumber('BENCH_LAT_BLOCK', 1),
  latWarm: envNumber('BENCH_LAT_WARM', QUICK ? 100 : 200),
  // connects made, not measured, at the start of every turn: the first
  // connects after a turn of the other modes' run on idle cores and cold
  // caches (the first one 3 to 4 times the median, the tenth within 2 %),
  // one sample in a hundred: a turn's first connect would be the p99
  latRewarm: envNumber('BENCH_LAT_REWARM', QUICK ? 5 : 10),
  // the latency peers' helper threads under SCHED_IDLE (bench/run/peers.mjs idleHelpers)
  latIdleHelpers: process.env.BENCH_LAT_IDLE_HELPERS !== '0',
  // across processes, the pairs not taking their turn stopped (bench/run/peers.mjs holdPair)
  latHold: process.env.BENCH_LAT_HOLD !== '0',
  // fresh process pairs every this many connects: a process keeps an offset
  // of its own, for each kind of connect apart (code placement, JIT
  // history), so the latency intervals resample whole process pairs
  latRespawn: envNumber('BENCH_LAT_RESPAWN', QUICK ? 300 : 500),
  // connect latency by name ('localhost'), lib against mptcpize
  latNameN: envNumber('BENCH_LAT_NAME_N', QUICK ? 300 : 3000),
  // per-call cost: rounds of (C floor, then the JavaScript calls), each in
  // batches; many short rounds, as the machine drifts between a round's C
  // and JavaScript runs (syscalls took 0.24 µs one day and 0.65 the next,
  // batch to batch ±20 %): 60 rounds of 50,000 calls per kind resolved 3 to
  // 8 %, 20 of 200,000 10 to 15 %
  calls: envNumber('BENCH_CALLS', 50_000),
  callBatches: 10,
  callRounds: envNumber('BENCH_CALL_ROUNDS', QUICK ? 3 : 60),
  callWarm: 20_000,
  // HTTP servers under autocannon: rounds of one short run per server per
  // kind (many short paired runs resolve more than a few long ones here)
  httpRounds: envNumber('BENCH_HTTP_ROUNDS', QUICK ? 6 : 60),
  // fresh server processes every this many rounds: a server process keeps
  // an offset of its own (memory layout, JIT history) that pairing in time
  // cannot remove; the interval resamples whole process pairs
  httpRespawn: envNumber('BENCH_HTTP_RESPAWN', QUICK ? 3 : 5),
  httpSeconds: envNumber('BENCH_HTTP_SECONDS', 1), // autocannon counts whole seconds
  httpConnections: envNumber('BENCH_HTTP_CONNECTIONS', 10),
  // memory: concurrent connections held open by one client process, per run
  memConns: envNumber('BENCH_MEM_CONNS', QUICK ? 2_000 : 10_000),
  memRounds: envNumber('BENCH_MEM_ROUNDS', QUICK ? 2 : 12), // ~4 s a run; RSS varies run to run by a few %
};

/**
 * The targets, each a ratio to a baseline of the same run. A ratio passes
 * only when its whole bootstrap interval is inside the target.
 */
export const TARGETS = {
  tputRatio: 0.98, // throughput lib / mptcpize, p90 transfer rate, >=
  latMedianRatio: 1.02, // connect + 1-byte echo lib / mptcpize, median, <=
  latP99Ratio: 1.05, // the same, p99, <=
  callFloorRatio: 1.2, // isMptcp / getInfo / getSubflows per call over their C floor, <=
  httpRpsRatio: 0.98, // HTTP requests/s lib / the mptcpize'd plain program, >=
  memRatio: 1.05, // heap and RSS per open connection lib / mptcpize'd net, <=
};

export const log = makeLog(JSON_OUT);

// ----------------------------------------------------------- environment ----

export const MPTCPIZE = which('mptcpize');
export const TASKSET = which('taskset');
export const CHRT = which('chrt');
export const SS = which('ss');
export const NCPU = os.availableParallelism?.() ?? os.cpus().length;
export const CPU_SEND = 0;
export const CPU_RECV = NCPU > 1 ? 1 : 0;

/** The modes measured side by side; `available` is cleared when a baseline cannot run. */
export const MODES = [
  { name: 'lib', peer: 'lib', wrap: [], expectMptcp: true, available: true },
  { name: 'mptcpize', peer: 'net', wrap: MPTCPIZE ? [MPTCPIZE, 'run'] : [], expectMptcp: true, available: Boolean(MPTCPIZE) },
  { name: 'tcp', peer: 'net', wrap: [], expectMptcp: false, available: true },
];
export const active = () => MODES.filter((x) => x.available);

/**
 * The connect-latency phase's extra mode: the floor of the library's way
 * of connecting (bench/peer.mjs makeFloorDial), against the library's server.
 */
export const FLOOR_MODE = { name: 'floor', peer: 'floor', wrap: [], expectMptcp: true, available: true };
