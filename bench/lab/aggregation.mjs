// Phase 1 of the lab benchmark: goodput over 2 paths at each rate and MTU,
// lib, kernel and tcp taking turns (median of `reps` runs; tcp, one path, is
// a reference), as ratios to the link sum and to the kernel baseline.
import { median, rotated } from '../common.mjs';
import { CFG, DSS_BYTES, ceiling, log } from './config.mjs';
import { kernelSend, startKernelSink } from './kernel.mjs';
import { goodputMbit, quiet, recordProgress, withLab } from './kit.mjs';

/** One timed agent transfer (kind 'lib' or 'net') to the path-1 address. */
async function agentRun(ctx, kind, port, seconds) {
  const { lab, client, server } = ctx;
  const host = lab.paths[0].serverAddress;
  const got = quiet(server.waitFor((m) => m.type === 'received', (seconds + 60) * 1000));
  const { conn, isMptcp } = await client.request({ cmd: 'connect', kind, host, port });
  const progress = recordProgress(ctx, conn);
  let sent;
  try {
    sent = await client.request({ cmd: 'send', conn, seconds, sampleMs: kind === 'lib' ? 1000 : 0 }, (seconds + 60) * 1000);
  } finally {
    progress.stop();
  }
  const rx = await got;
  await client.request({ cmd: 'close', conn }).catch(() => {});
  const last = progress.samples.at(-1);
  return {
    goodputMbit: goodputMbit(rx.bytes, rx.ms), bytes: rx.bytes, ms: rx.ms, sentBytes: sent.bytes,
    checksumOk: sent.sha256 === rx.sha256, clientMptcp: isMptcp, serverMptcp: rx.isMptcp, subflowsAtEnd: rx.subflowsAtEnd,
    maxGapMs: rx.maxGapMs, bins50ms: rx.bins,
    subflows: last ? last.subflows : [],
  };
}

/** One timed kernel-baseline transfer (Python sender to the Python sink) to the path-1 address. */
async function kernelRun(ctx, sink, python, seconds) {
  const got = quiet(sink.next('received', (seconds + 60) * 1000));
  const snd = await kernelSend(ctx.lab, python, ctx.lab.paths[0].serverAddress, sink.port, seconds);
  const rx = await got;
  return {
    goodputMbit: goodputMbit(rx.bytes, rx.ms), bytes: rx.bytes, ms: rx.ms, sentBytes: snd.bytes,
    clientMptcp: snd.isMptcp, serverMptcp: rx.isMptcp, extraSubflows: snd.extraSubflows, maxGapMs: rx.maxGapMs,
    rcvMss: rx.rcvMss ?? null,
  };
}

/** Every run at one rate and MTU, in one lab: cfg.samples[kind] filled. */
async function measure(cfg, python, progress) {
  await withLab({ paths: [{ rateMbit: cfg.rateMbit }, { rateMbit: cfg.rateMbit }], mtu: cfg.mtu }, async (ctx) => {
    const lib = await ctx.server.request({ cmd: 'serve', kind: 'lib' });
    const net = await ctx.server.request({ cmd: 'serve', kind: 'net' });
    const sink = python.available ? await startKernelSink(ctx, python.path) : null;
    for (let rep = 0; rep < CFG.reps; rep++) {
      const kinds = ['lib', ...(sink ? ['kernel'] : []), ...(rep < CFG.tcpReps ? ['tcp'] : [])];
      for (const kind of rotated(kinds, rep)) {
        let s;
        if (kind === 'lib') s = await agentRun(ctx, 'lib', lib.port, CFG.seconds);
        else if (kind === 'tcp') s = await agentRun(ctx, 'net', net.port, CFG.tcpSeconds);
        else s = await kernelRun(ctx, sink, python.path, CFG.seconds);
        cfg.samples[kind].push(s);
        log(`aggregation [${progress}] MTU ${cfg.mtu}, 2 x ${cfg.rateMbit} Mbit/s, run ${rep + 1}/${CFG.reps}: ${kind} ${s.goodputMbit.toFixed(1)} Mbit/s`);
      }
    }
    // TCP reps beyond lib reps, if asked for.
    for (let rep = CFG.reps; rep < CFG.tcpReps; rep++) cfg.samples.tcp.push(await agentRun(ctx, 'net', net.port, CFG.tcpSeconds));
  });
}

export async function aggregationPhase(result, python) {
  const configs = [];
  const total = CFG.mtus.length * CFG.rates.length;
  let k = 0;
  for (const mtu of CFG.mtus) {
    for (const rate of CFG.rates) {
      k++;
      const cfg = {
        mtu, rateMbit: rate, linkSumMbit: 2 * rate,
        ceiling: { mptcp: ceiling(mtu, true), tcp: ceiling(mtu, false) },
        samples: { lib: [], kernel: [], tcp: [] },
      };
      await measure(cfg, python, `${k}/${total}`);
      const med = (name) => median(cfg.samples[name].map((s) => s.goodputMbit));
      cfg.median = { lib: med('lib'), kernel: python.available ? med('kernel') : NaN, tcp: med('tcp') };
      cfg.ratios = {
        libToLinkSum: cfg.median.lib / cfg.linkSumMbit,
        kernelToLinkSum: cfg.median.kernel / cfg.linkSumMbit,
        libToKernel: cfg.median.lib / cfg.median.kernel,
        libToCeiling: cfg.median.lib / (cfg.linkSumMbit * cfg.ceiling.mptcp),
        tcpToRate: cfg.median.tcp / rate,
      };
      // tcpi_snd_mss leaves out the MPTCP options; tcpi_rcv_mss (kernel sink) is the real payload per segment
      const span = (xs) => (xs.length ? { min: Math.min(...xs), max: Math.max(...xs) } : null);
      cfg.libTcpiSndMss = span(cfg.samples.lib.flatMap((s) => s.subflows.map((sf) => sf.mss)).filter(Number.isFinite));
      cfg.kernelRcvMss = span(cfg.samples.kernel.flatMap((s) => s.rcvMss ?? []).filter(Number.isFinite));
      configs.push(cfg);
    }
  }
  result.aggregation = {
    unit: 'Mbit/s', seconds: CFG.seconds, reps: CFG.reps, tcpReps: CFG.tcpReps, tcpSeconds: CFG.tcpSeconds, dssBytes: DSS_BYTES,
    note: 'server-side goodput, bytes * 8 / (first to last byte); lib and kernel over 2 paths, tcp over path 1 only',
    configs,
  };
}
