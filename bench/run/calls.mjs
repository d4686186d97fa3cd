// Phase 3 of the loopback benchmark: the cost of isMptcp / getInfo /
// getSubflows (and two references) per call on one established MPTCP
// connection, timed in the client peer in batches.
import { median } from '../common.mjs';
import { CFG, MODES, log } from './config.mjs';
import { startPair, stopPairs } from './peers.mjs';

/** Median, best and worst of per-batch times (divided by `scale`, e.g. 1e3 for ns to µs). */
export function usStats(xs, scale = 1) {
  return { usMedian: median(xs) / scale, usMin: Math.min(...xs) / scale, usMax: Math.max(...xs) / scale };
}

export async function callsPhase(result) {
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
  for (const [name, ns] of Object.entries(r.results)) stats[name] = usStats(ns, 1e3);
  log('per-call: done');
  result.calls = { unit: 'µs/call', calls: CFG.calls, batches: CFG.callBatches, mptcp: r.mptcp, subflows: r.subflows, stats };
}
