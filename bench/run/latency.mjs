// Phase 2 of the loopback benchmark: sequential connect + 1-byte echo + close,
// modes taking turns in chunks of latChunk connects, fresh warmed-up process
// pairs every latRespawn; the servers say whether the echoes they accepted were MPTCP.
import { blockBootstrapRatio, median, quantile, rotated } from '../common.mjs';
import { CFG, FLOOR_MODE, active, log } from './config.mjs';
import { agree, startPairs, stopPairs } from './peers.mjs';

/**
 * Sequential connects to `host`, latN of them per mode, the modes taking
 * turns chunk by chunk: the per-connect samples, their statistics and what
 * each side said about MPTCP.
 */
async function measure(modes, host, latN) {
  const samples = {};
  const connectSamples = {};
  const verified = {};
  for (const mode of modes) {
    samples[mode.name] = [];
    connectSamples[mode.name] = [];
    verified[mode.name] = { client: null, server: null, checked: 0, serverMptcp: 0 };
  }
  const names = Object.keys(samples);
  const chunks = Math.ceil(latN / CFG.latChunk);
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
  const ping = (name, n, timeoutMs) => pairs[name].client.request({ cmd: 'latency', port: pairs[name].ports.echo, n, host }, 'latency', timeoutMs);
  const noteClient = (name, mp) => { verified[name].client = agree(verified[name].client, mp); };
  try {
    for (let c = 0; c < chunks; c++) {
      if (c % perPair === 0) {
        // Fresh process pairs, warmed up (JIT, allocator, listen queue).
        await closePairs();
        pairs = await startPairs(modes);
        for (const name of names) noteClient(name, (await ping(name, CFG.latWarm)).mptcp);
      }
      const n = Math.min(CFG.latChunk, latN - c * CFG.latChunk);
      for (const name of rotated(names, c)) {
        const r = await ping(name, n, 120_000);
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
  return { samples, stats, verified, respawnEvery: perPair * CFG.latChunk };
}

/** A ratio's interval, resampling the chunks the modes took in turns (see blockBootstrapRatio). */
const paired = (a, b, q) => blockBootstrapRatio(a, b, q, CFG.latChunk);

export async function latencyPhase(result) {
  // By IP literal: every mode, and the floor of the library's way of connecting.
  const lit = await measure([...active(), FLOOR_MODE], '127.0.0.1', CFG.latN);
  const { samples } = lit;
  const ci = {};
  if (samples.mptcpize) {
    ci.libVsMptcpizeMedian = paired(samples.lib, samples.mptcpize, 0.5);
    ci.libVsMptcpizeP99 = paired(samples.lib, samples.mptcpize, 0.99);
    ci.floorVsMptcpizeMedian = paired(samples.floor, samples.mptcpize, 0.5);
  }
  ci.libVsFloorMedian = paired(samples.lib, samples.floor, 0.5);
  ci.libVsFloorP99 = paired(samples.lib, samples.floor, 0.99);
  log(`latency: ${CFG.latN} connects per mode done`);
  // By name ('localhost': a lookup of both families, Happy Eyeballs in Node 20+), lib against mptcpize.
  let byName = null;
  const named = active().filter((m) => m.name !== 'tcp');
  if (named.length === 2 && CFG.latNameN > 0) {
    const r = await measure(named, 'localhost', CFG.latNameN);
    byName = {
      host: 'localhost', iterations: CFG.latNameN, stats: r.stats, verified: r.verified,
      ci: { libVsMptcpizeMedian: paired(r.samples.lib, r.samples.mptcpize, 0.5), libVsMptcpizeP99: paired(r.samples.lib, r.samples.mptcpize, 0.99) },
    };
    log(`latency: ${CFG.latNameN} connects by name per mode done`);
  }
  result.latency = { unit: 'µs', iterations: CFG.latN, respawnEvery: lit.respawnEvery, stats: lit.stats, ci, verified: lit.verified, byName };
}
