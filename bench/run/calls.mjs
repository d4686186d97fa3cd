// Phase 3 of the loopback benchmark: the cost of isMptcp / getInfo /
// getSubflows per call on one established MPTCP connection, against two
// floors measured in the same run, round by round (floor, library, floor,
// library...):
//   C floor     the bare getsockopt(2) each call makes, in C++
//               (native/floor.cc, build/Release/mptcp_floor), its own
//               MPTCP loopback connection of one subflow;
//   N-API floor the addon's own call each function makes, bare, from the
//               same JavaScript process on the same descriptor;
//   decode floor for getInfo and getSubflows, that call and the library's
//               decode of the struct into the returned objects, nothing
//               else: the least a call returning them costs.
// Each is timed in batches; a ratio's interval is a bootstrap over batches.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { blockBootstrapRatio, median } from '../common.mjs';
import { CFG, CPU_SEND, MODES, TASKSET, log } from './config.mjs';
import { startPair, stopPairs } from './peers.mjs';

export const FLOOR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'Release', 'mptcp_floor');

/** The library function, its addon call and its getsockopt, by function. */
export const FLOORS = {
  isMptcp: { napi: 'napi: tcpIsMptcp', c: 'isMptcp', syscall: 'getsockopt(TCP_IS_MPTCP)' },
  getInfo: { napi: 'napi: mptcpInfoScratch', decoded: 'napi + decode: mptcpInfoScratch', c: 'getInfo', syscall: 'getsockopt(MPTCP_INFO)' },
  getSubflows: { napi: 'napi: fullInfoScratch', decoded: 'napi + decode: fullInfoScratch', c: 'getSubflows', syscall: 'getsockopt(MPTCP_FULL_INFO)' },
};

/** Median, best and worst of per-batch times (divided by `scale`, e.g. 1e3 for ns to µs). */
export function usStats(xs, scale = 1) {
  return { usMedian: median(xs) / scale, usMin: Math.min(...xs) / scale, usMax: Math.max(...xs) / scale };
}

/** One run of the C floor program: ns per call for each batch, by call. */
function runFloor(per) {
  const cmd = [...(TASKSET ? [TASKSET, '-c', String(CPU_SEND)] : []), FLOOR, String(CFG.callWarm), String(CFG.callBatches), String(per)];
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${FLOOR}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
  return JSON.parse(r.stdout);
}

export async function callsPhase(result) {
  const haveFloor = existsSync(FLOOR);
  if (!haveFloor) result.warnings.push(`no C floor program at ${FLOOR} (npm run build:gyp builds it): per-call ratios to the C floor are missing`);
  const lib = MODES[0];
  const pair = await startPair(lib);
  const per = Math.ceil(CFG.calls / CFG.callBatches);
  const js = {};
  const floor = {};
  let r;
  try {
    for (let round = 0; round < CFG.callRounds; round++) {
      if (haveFloor) {
        const f = runFloor(per);
        if (!f.mptcp) throw new Error('the C floor connection was not MPTCP');
        for (const [name, ns] of Object.entries(f.ns)) (floor[name] ??= []).push(...ns);
      }
      r = await pair.client.request({ cmd: 'calls', port: pair.ports.echo, warm: CFG.callWarm, batches: CFG.callBatches, per }, 'calls', 120_000);
      for (const [name, ns] of Object.entries(r.results)) (js[name] ??= []).push(...ns);
    }
  } finally {
    await stopPairs({ lib: pair });
  }
  const stats = {};
  for (const [name, ns] of Object.entries(js)) stats[name] = usStats(ns, 1e3);
  const floorStats = {};
  for (const [name, ns] of Object.entries(floor)) floorStats[name] = usStats(ns, 1e3);
  // Ratios of medians per batch, with bootstrap intervals resampling whole
  // rounds (the floor's and the library's batches of one round together).
  const ratios = {};
  const bootstrapRatio = (a, b, q) => blockBootstrapRatio(a, b, q, CFG.callBatches);
  for (const [fn, f] of Object.entries(FLOORS)) {
    const row = {};
    if (floor[f.c]) {
      row.libVsC = { ratio: median(js[fn]) / median(floor[f.c]), ...bootstrapRatio(js[fn], floor[f.c], 0.5) };
      row.napiVsC = { ratio: median(js[f.napi]) / median(floor[f.c]), ...bootstrapRatio(js[f.napi], floor[f.c], 0.5) };
      if (f.decoded) row.decodedVsC = { ratio: median(js[f.decoded]) / median(floor[f.c]), ...bootstrapRatio(js[f.decoded], floor[f.c], 0.5) };
    }
    row.libVsNapi = { ratio: median(js[fn]) / median(js[f.napi]), ...bootstrapRatio(js[fn], js[f.napi], 0.5) };
    if (f.decoded) row.libVsDecoded = { ratio: median(js[fn]) / median(js[f.decoded]), ...bootstrapRatio(js[fn], js[f.decoded], 0.5) };
    ratios[fn] = row;
  }
  log('per-call: done');
  result.calls = {
    unit: 'µs/call', calls: CFG.calls, batches: CFG.callBatches, rounds: CFG.callRounds, mptcp: r.mptcp, subflows: r.subflows,
    stats, floor: floorStats, ratios,
  };
}
