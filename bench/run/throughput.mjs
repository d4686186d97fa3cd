// Phase 1 of the loopback benchmark: bulk transfers, one per mode per round
// (modes rotating), rate measured at the receiver; fresh process pairs every
// respawnEvery rounds, each checked with ss and warmed up.
import { bootstrapRatio, median, quantile, rotated } from '../common.mjs';
import { CFG, active, log } from './config.mjs';
import { agree, ssCheck, startPairs, stopPairs } from './peers.mjs';

export async function throughputPhase(result) {
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
          verified[name].kernel = agree(verified[name].kernel, await ssCheck(pairs[name]));
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
