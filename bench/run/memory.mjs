// Phase 5 of the loopback benchmark: memory per open connection. A fresh
// client process per run opens BENCH_MEM_CONNS connections to one library
// server (its own process) and holds them all open at once; it reports how
// many were MPTCP and the heap and RSS per connection over the second half
// of them (readings after a full GC with half, then all, open: what the
// process grows by once is left out). lib (mptcp.connect) and mptcpize
// (net.connect under `mptcpize run`) take turns run by run.
import { blockBootstrapRatio, median, rotated } from '../common.mjs';
import { CFG, MODES, log } from './config.mjs';
import { startPair, stopPairs } from './peers.mjs';

export async function memoryPhase(result) {
  const modes = MODES.filter((m) => m.name !== 'tcp' && m.available);
  if (modes.length < 2) {
    result.warnings.push('memory phase: the mptcpize baseline is unavailable, nothing to compare with');
  }
  const runs = {};
  for (const mode of modes) runs[mode.name] = [];
  for (let round = 0; round < CFG.memRounds; round++) {
    for (const mode of rotated(modes, round)) {
      // A fresh pair: the server (always the library's) and this mode's client.
      const pair = await startPair(mode, MODES[0]);
      try {
        const r = await pair.client.request({ cmd: 'holdMany', port: pair.ports.echo, n: CFG.memConns }, 'heldMany', 300_000);
        runs[mode.name].push(r);
      } finally {
        await stopPairs({ [mode.name]: pair });
      }
    }
    log(`memory: round ${round + 1}/${CFG.memRounds} done`);
  }
  const stats = {};
  for (const [name, rs] of Object.entries(runs)) {
    stats[name] = {
      runs: rs.length, connections: CFG.memConns,
      connected: Math.min(...rs.map((r) => r.n)), mptcp: Math.min(...rs.map((r) => r.mptcp)),
      heapPerConn: median(rs.map((r) => r.heapPerConn)), rssPerConn: median(rs.map((r) => r.rssPerConn)),
      heapAll: rs.map((r) => r.heapPerConn), rssAll: rs.map((r) => r.rssPerConn),
    };
  }
  const ratios = {};
  if (stats.lib && stats.mptcpize) {
    for (const k of ['heap', 'rss']) {
      const a = stats.lib[`${k}All`];
      const b = stats.mptcpize[`${k}All`];
      ratios[k] = { ratio: median(a) / median(b), ...blockBootstrapRatio(a, b, 0.5, 1) }; // paired by round
    }
  }
  result.memory = { connections: CFG.memConns, rounds: CFG.memRounds, stats, ratios };
}
