// What the lab benchmark's phases share: timing, building a lab with its two
// agents, telling which path a subflow runs on, recording progress samples,
// and judging what a scripted transfer delivered.
import { createRequire } from 'node:module';
import { median } from '../common.mjs';

const require = createRequire(import.meta.url);
export const { Lab, labUnavailableReason } = require('../../dist/lab/lab.js');

export const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Settles a promise into { value, error: message | null }. */
export async function outcome(p) {
  try {
    return { value: await p, error: null };
  } catch (err) {
    return { value: undefined, error: err.message };
  }
}

/** A promise that never causes an unhandled rejection before it is awaited. */
export function quiet(p) {
  p.catch(() => {});
  return p;
}

export const goodputMbit = (bytes, ms) => (ms > 0 ? (bytes * 8) / ms / 1000 : NaN);

/** Builds a lab with a client and a server agent; runs fn; always tears down. */
export async function withLab(options, fn) {
  const lab = await Lab.create(options);
  const extras = [];
  try {
    const [client, server] = await Promise.all([lab.agent('client'), lab.agent('server')]);
    return await fn({ lab, client, server, extras });
  } finally {
    await Promise.all(extras.map((x) => x.stop().catch(() => {})));
    await lab.destroy();
  }
}

/** Which lab path (1-based) a subflow runs on, by its addresses; 0 if none. */
export function pathOf(lab, sf) {
  const p = lab.paths.find((x) => x.clientAddress === sf.localAddress || x.serverAddress === sf.remoteAddress
    || x.clientAddress === sf.remoteAddress || x.serverAddress === sf.localAddress);
  return p ? p.index : 0;
}

/** A compact subflow record for the JSON. */
export function sfRec(lab, sf) {
  return {
    id: sf.id, path: pathOf(lab, sf), local: `${sf.localAddress}:${sf.localPort}`, remote: `${sf.remoteAddress}:${sf.remotePort}`,
    state: sf.state, bytesAcked: sf.bytesAcked === undefined ? null : Number(sf.bytesAcked), mss: sf.mss, pmtu: sf.pmtu,
  };
}

/** Waits until the connection has an ESTABLISHED subflow on every path (or times out). */
export async function waitForSubflows(ctx, conn, paths, timeoutMs = 3000) {
  const until = now() + timeoutMs;
  while (now() < until) {
    const r = await ctx.client.request({ cmd: 'info', conn });
    const on = new Set(r.subflows.filter((sf) => sf.state === 'ESTABLISHED').map((sf) => pathOf(ctx.lab, sf)));
    if (paths.every((p) => on.has(p))) return r.subflows.map((sf) => sfRec(ctx.lab, sf));
    await sleep(50);
  }
  return null;
}

/**
 * One library connection for a scripted transfer: a lib server, the client
 * connected to the path-1 address, both subflows up (`before`: the subflows
 * then, null if they did not come up), and `got`, the server's 'received'.
 */
export async function libConnection(ctx) {
  const { lab, client, server } = ctx;
  const { port } = await server.request({ cmd: 'serve', kind: 'lib' });
  const got = quiet(server.waitFor((m) => m.type === 'received', 120_000));
  const { conn, isMptcp } = await client.request({ cmd: 'connect', kind: 'lib', host: lab.paths[0].serverAddress, port });
  const before = await waitForSubflows(ctx, conn, [1, 2]);
  return { conn, isMptcp, before, got };
}

/**
 * The end of a transfer: what was sent, then (after `between`) what the
 * server received; `error` is the first failure of either.
 */
export async function settle(sendP, got, between = async () => {}) {
  let { value: sent, error } = await outcome(sendP);
  await between();
  const rx = error ? null : await got.catch((err) => { error = err.message; return null; });
  return { sent, rx, error };
}

/** The client's 'progress' samples of one connection, until stop(). */
export function recordProgress(ctx, conn) {
  const samples = [];
  const onProgress = (m) => {
    if (m.type === 'progress' && m.conn === conn) samples.push({ t: m.t, bytes: m.bytes, subflows: m.subflows.map((sf) => sfRec(ctx.lab, sf)) });
  };
  ctx.client.on('message', onProgress);
  return { samples, stop: () => ctx.client.off('message', onProgress) };
}

/** What arrived of a transfer against what was sent, and the longest receive gap. */
export function delivery(sent, rx) {
  return {
    bytesSent: sent?.bytes ?? null, bytesReceived: rx?.bytes ?? null,
    bytesLost: sent && rx ? sent.bytes - rx.bytes : null,
    checksumOk: sent && rx ? sent.sha256 === rx.sha256 : false,
    stallMs: rx ? rx.maxGapMs : null, stallAtMs: rx ? rx.maxGapAtMs : null,
  };
}

/**
 * The longest stretch of low delivery, from the server's 50 ms bins: the
 * longest run of bins each carrying less than half the median bin (the last,
 * partial bin excluded). maxGapMs alone misses outages during which a few
 * reinjected segments trickle in every RTO.
 */
export function outage(bins, binMs = 50) {
  const xs = (bins ?? []).slice(0, -1);
  if (xs.length < 3) return { ms: 0, atMs: null };
  const limit = median(xs) / 2;
  let best = { len: 0, at: null };
  let run = 0;
  xs.forEach((b, i) => {
    run = b < limit ? run + 1 : 0;
    if (run > best.len) best = { len: run, at: i - run + 1 };
  });
  return { ms: best.len * binMs, atMs: best.at === null ? null : best.at * binMs, thresholdBytesPerBin: Math.round(limit) };
}

/** The worst outcome over a scenario's runs (null where any run has no value). */
export function worstOf(runs) {
  const max = (get) => {
    const xs = runs.map(get);
    return xs.some((x) => typeof x !== 'number') ? null : Math.max(...xs);
  };
  return {
    runs: runs.length,
    error: runs.find((r) => r.error)?.error ?? null,
    bytesLost: max((r) => r.bytesLost),
    checksumOk: runs.every((r) => r.checksumOk === true),
    stallMs: max((r) => r.stallMs),
    outage: { ms: max((r) => r.outage?.ms) },
    restoreToNewSubflowMs: max((r) => r.restoreToNewSubflowMs),
    backupAckedBeforeCut: max((r) => r.backupAckedBeforeCut),
  };
}
