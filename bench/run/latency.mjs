// Phase 2 of the loopback benchmark: sequential connect + 1-byte echo + close,
// modes taking turns in chunks of latChunk connects, fresh warmed-up process
// pairs every latRespawn; the servers say whether the echoes they accepted were MPTCP.
import { blockBootstrapRatio, median, quantile, rotated } from '../common.mjs';
import { CFG, FLOOR_MODE, active, log } from './config.mjs';
import { agree, holdPair, idleHelpers, startPair, startPairs, stopPairs } from './peers.mjs';

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
  let helpersIdle = true;
  const closePairs = async () => {
    if (!pairs) return;
    for (const name of names) {
      if (pairs[name].held) holdPair(pairs[name], false);
      const s = await pairs[name].server.request({ cmd: 'echoStats' }, 'echoStats');
      verified[name].checked += s.checked;
      verified[name].serverMptcp += s.mptcp;
    }
    await stopPairs(pairs);
    pairs = null;
  };
  const ping = (name, n, timeoutMs, skip = CFG.latRewarm) => pairs[name].client.request({ cmd: 'latency', port: pairs[name].ports.echo, n, host, skip }, 'latency', timeoutMs);
  const noteClient = (name, mp) => { verified[name].client = agree(verified[name].client, mp); };
  try {
    for (let c = 0; c < chunks; c++) {
      if (c % perPair === 0) {
        // Fresh process pairs, warmed up (JIT, allocator, listen queue).
        await closePairs();
        pairs = await startPairs(modes, CFG.latIdleHelpers);
        for (const name of names) helpersIdle &&= pairs[name].idle;
        for (const name of names) {
          noteClient(name, (await ping(name, CFG.latWarm, undefined, 0)).mptcp);
          if (CFG.latHold) holdPair(pairs[name], true);
        }
      }
      const n = Math.min(CFG.latChunk, latN - c * CFG.latChunk);
      for (const name of rotated(names, c)) {
        if (CFG.latHold) holdPair(pairs[name], false);
        const r = await ping(name, n, 120_000);
        if (CFG.latHold) holdPair(pairs[name], true);
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
  return { samples, stats, verified, respawnEvery: perPair * CFG.latChunk, helpersIdle };
}

/**
 * Connects of several kinds (`kinds`: 'lib', 'floor', 'net') in one client
 * process under `mptcpize run`, taking turns in runs of latBlock, against one
 * mptcpize'd net server; latN rounds in chunks, fresh warmed-up process
 * pairs every latRespawn. Machine drift that a comparison across processes
 * takes chunk by chunk cancels here round by round. What a process keeps
 * of its own (code placement, JIT history) still favours one kind or
 * another, by a percent or two from process to process: the intervals
 * resample whole processes.
 */
async function measureInOneProcess(host, n, kinds) {
  const mptcpize = active().find((m) => m.name === 'mptcpize');
  const client = { ...mptcpize, name: 'one process' };
  const samples = Object.fromEntries(kinds.map((k) => [k, []]));
  const connectSamples = Object.fromEntries(kinds.map((k) => [k, []]));
  const client0 = Object.fromEntries(kinds.map((k) => [k, null]));
  const server = { checked: 0, mptcp: 0 };
  const chunks = Math.ceil(n / CFG.latChunk);
  const perPair = Math.max(1, Math.round(CFG.latRespawn / CFG.latChunk));
  let pair = null;
  let helpersIdle = true;
  const closePair = async () => {
    if (!pair) return;
    const st = await pair.server.request({ cmd: 'echoStats' }, 'echoStats');
    server.checked += st.checked;
    server.mptcp += st.mptcp;
    await stopPairs({ pair });
    pair = null;
  };
  const run = (count, timeoutMs, skip = CFG.latRewarm) => pair.client.request({ cmd: 'latencyPaired', port: pair.ports.echo, n: count, host, kinds, block: CFG.latBlock, skip }, 'latencyPaired', timeoutMs);
  const note = (r) => { for (const k of kinds) client0[k] = agree(client0[k], r.mptcp[k]); };
  try {
    for (let c = 0; c < chunks; c++) {
      if (c % perPair === 0) {
        await closePair();
        pair = await startPair(client, mptcpize, CFG.latIdleHelpers);
        helpersIdle &&= pair.idle;
        note(await run(CFG.latWarm, 120_000, 0));
      }
      const r = await run(Math.min(CFG.latChunk, n - c * CFG.latChunk), 120_000);
      for (const k of kinds) {
        samples[k].push(...r.us[k]);
        connectSamples[k].push(...r.connectUs[k]);
      }
      note(r);
    }
    await closePair();
  } finally {
    if (pair) await stopPairs({ pair });
  }
  const stats = {};
  for (const [k, xs] of Object.entries(samples)) {
    stats[k] = { n: xs.length, median: median(xs), p90: quantile(xs, 0.9), p99: quantile(xs, 0.99), min: Math.min(...xs), connectMedian: median(connectSamples[k]) };
  }
  const serverMptcp = server.checked === 0 ? null : server.mptcp === server.checked ? true : server.mptcp === 0 ? false : 'mixed';
  return { host, iterations: n, samples, stats, verified: { client: client0, server: serverMptcp }, helpersIdle };
}

/**
 * A ratio's interval, resampling whole process pairs (the samples of one
 * pair are consecutive, latRespawn rounded to whole chunks; see
 * blockBootstrapRatio): a process keeps an offset of its own, different
 * for each kind of connect (one process gave the library 1.005 of the
 * floor, the next 1.04), which resampling chunks would take for precision.
 */
const processBlock = () => Math.max(1, Math.round(CFG.latRespawn / CFG.latChunk)) * CFG.latChunk;
const paired = (a, b, q) => blockBootstrapRatio(a, b, q, processBlock());

export async function latencyPhase(result) {
  // This process's own helpers too: its GC between turns must not take a core from a pair's turn.
  if (CFG.latIdleHelpers) idleHelpers(process.pid);
  // By IP literal: every mode, the floor of the library's way of connecting,
  // and mptcpize once more (the same program against itself: how far apart
  // two identical modes come out across processes on this machine).
  const again = active().find((m) => m.name === 'mptcpize');
  const lit = await measure([...active(), FLOOR_MODE, ...(again ? [{ ...again, name: 'mptcpize again' }] : [])], '127.0.0.1', CFG.latN);
  const { samples } = lit;
  const ci = {};
  if (samples.mptcpize) {
    ci.libVsMptcpizeMedian = paired(samples.lib, samples.mptcpize, 0.5);
    ci.libVsMptcpizeP99 = paired(samples.lib, samples.mptcpize, 0.99);
    ci.floorVsMptcpizeMedian = paired(samples.floor, samples.mptcpize, 0.5);
    ci.againVsMptcpizeMedian = paired(samples['mptcpize again'], samples.mptcpize, 0.5);
    ci.againVsMptcpizeP99 = paired(samples['mptcpize again'], samples.mptcpize, 0.99);
  }
  ci.libVsFloorMedian = paired(samples.lib, samples.floor, 0.5);
  ci.libVsFloorP99 = paired(samples.lib, samples.floor, 0.99);
  log(`latency: ${CFG.latN} connects per mode done`);
  // By name ('localhost': a lookup of both families, Happy Eyeballs in Node 20+), lib against mptcpize.
  let byName = null;
  let idleEverywhere = lit.helpersIdle;
  const named = active().filter((m) => m.name !== 'tcp');
  if (named.length === 2 && CFG.latNameN > 0) {
    const r = await measure([...named, { ...again, name: 'mptcpize again' }], 'localhost', CFG.latNameN);
    idleEverywhere &&= r.helpersIdle;
    byName = {
      host: 'localhost', iterations: CFG.latNameN, stats: r.stats, verified: r.verified,
      ci: {
        libVsMptcpizeMedian: paired(r.samples.lib, r.samples.mptcpize, 0.5),
        libVsMptcpizeP99: paired(r.samples.lib, r.samples.mptcpize, 0.99),
        againVsMptcpizeP99: paired(r.samples['mptcpize again'], r.samples.mptcpize, 0.99),
      },
    };
    log(`latency: ${CFG.latNameN} connects by name per mode done`);
  }
  // The same comparisons in one mptcpize'd process, connect by connect.
  let oneProcess = null;
  if (active().some((m) => m.name === 'mptcpize')) {
    // 'net again': net.connect once more, a kind of its own (the A/A of the one-process rows)
    const one = await measureInOneProcess('127.0.0.1', CFG.latN, ['lib', 'net', 'floor', 'net again']);
    const named = CFG.latNameN > 0 ? await measureInOneProcess('localhost', CFG.latNameN, ['lib', 'net', 'net again']) : null;
    const pci = (r) => ({
      libVsMptcpizeMedian: paired(r.samples.lib, r.samples.net, 0.5),
      libVsMptcpizeP99: paired(r.samples.lib, r.samples.net, 0.99),
      againVsMptcpizeMedian: paired(r.samples['net again'], r.samples.net, 0.5),
      againVsMptcpizeP99: paired(r.samples['net again'], r.samples.net, 0.99),
      ...(r.samples.floor ? { floorVsMptcpizeMedian: paired(r.samples.floor, r.samples.net, 0.5), libVsFloorMedian: paired(r.samples.lib, r.samples.floor, 0.5) } : {}),
    });
    idleEverywhere &&= one.helpersIdle && (!named || named.helpersIdle);
    const strip = (r) => ({ host: r.host, iterations: r.iterations, stats: r.stats, verified: r.verified, ci: pci(r) });
    oneProcess = { literal: strip(one), byName: named && strip(named) };
    log(`latency: ${CFG.latN} + ${CFG.latNameN} rounds in one process done`);
  }
  const setup = { rewarm: CFG.latRewarm, helpersIdle: CFG.latIdleHelpers && idleEverywhere, holdIdlePairs: CFG.latHold };
  result.latency = { unit: 'µs', iterations: CFG.latN, respawnEvery: lit.respawnEvery, setup, stats: lit.stats, ci, verified: lit.verified, byName, oneProcess };
}
