// Phase 2 of the lab benchmark: a SHA-256-checked transfer over 2 paths; path
// 2 (then path 1, the initial subflow's) is cut mid-transfer (link down, then
// endpoint withdrawn and addresses removed) and restored, while the client's
// view of the connection is polled for the rejoin.
import { CFG, log } from './config.mjs';
import { delivery, goodputMbit, libConnection, now, outage, quiet, settle, sfRec, sleep, withLab, worstOf } from './kit.mjs';

/** Polls the client's view of the connection every pollMs until stopped. */
function startPoller(ctx, conn, t0) {
  const timeline = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const at = now();
      try {
        const r = await ctx.client.request({ cmd: 'info', conn }, 5000);
        timeline.push({ t: now() - t0, subflows: r.subflows.map((sf) => sfRec(ctx.lab, sf)) });
      } catch { /* connection gone */ }
      await sleep(at + CFG.pollMs - now());
    }
  })();
  return { timeline, stop: async () => { running = false; await done; } };
}

/**
 * From the poller's timeline: restore -> a new ESTABLISHED subflow on the cut
 * path, and (for path 1 the old subflow may simply resume) restore -> the
 * path's subflows carry data again, i.e. their bytesAcked grows. `cutPorts`:
 * the local ends of the cut path's subflows before the cut.
 */
function rejoin(timeline, cut, cutPorts, restore) {
  let newSubflowMs = null;
  let carriesDataMs = null;
  let ackedAtRestore = null;
  for (const s of timeline) {
    const onCut = s.subflows.filter((sf) => sf.path === cut);
    const acked = onCut.reduce((a, sf) => a + (sf.bytesAcked ?? 0), 0);
    if (s.t < restore.tDone) {
      ackedAtRestore = acked;
      continue;
    }
    if (newSubflowMs === null && onCut.some((sf) => sf.state === 'ESTABLISHED' && !cutPorts.has(sf.local))) newSubflowMs = s.t - restore.tDone;
    // bytesAcked of a fresh subflow starts near zero: count data carried by any subflow
    // that is new, or growth on an old one.
    const fresh = onCut.filter((sf) => !cutPorts.has(sf.local)).reduce((a, sf) => a + (sf.bytesAcked ?? 0), 0);
    const old = onCut.filter((sf) => cutPorts.has(sf.local)).reduce((a, sf) => a + (sf.bytesAcked ?? 0), 0);
    const oldAtRestore = ackedAtRestore ?? 0;
    if (carriesDataMs === null && (fresh > 65536 || old - oldAtRestore > 65536)) carriesDataMs = s.t - restore.tDone;
  }
  return { newSubflowMs, carriesDataMs };
}

async function failoverRun(cut) {
  const other = cut === 1 ? 2 : 1;
  const bytes = CFG.failoverMib * 1024 * 1024;
  const rate = CFG.failoverRate;
  return withLab({ paths: [{ rateMbit: rate }, { rateMbit: rate }] }, async (ctx) => {
    const { lab, client } = ctx;
    const { conn, isMptcp, before, got } = await libConnection(ctx);
    const cutPorts = new Set((before ?? []).filter((sf) => sf.path === cut).map((sf) => sf.local));
    const events = [];
    const t0 = now();
    const poller = startPoller(ctx, conn, t0);
    const sendP = quiet(client.request({ cmd: 'send', conn, bytes }, 120_000));
    let sendDone = false;
    sendP.then(() => { sendDone = true; }, () => { sendDone = true; });
    const at = async (ms, what, fn) => {
      await sleep(t0 + ms - now());
      if (sendDone) {
        events.push({ what, skipped: 'transfer already finished', t: now() - t0 });
        return false;
      }
      const start = now() - t0;
      await fn();
      events.push({ what, t: start, tDone: now() - t0 });
      return true;
    };
    const script = (async () => {
      await at(CFG.cutAtMs, `path ${cut} link down`, () => lab.setLink(cut, false));
      await at(CFG.withdrawAtMs, `path ${cut} endpoint withdrawn, addresses removed`, async () => {
        await lab.withdraw(cut); // no-op for path 1: it is not an announced endpoint
        await lab.setAddresses(cut, false);
      });
      await at(CFG.restoreAtMs, `path ${cut} restored`, async () => {
        await lab.setAddresses(cut, true);
        await lab.setLink(cut, true);
        if (cut !== 1) await lab.announce(cut);
      });
    })();
    const { sent, rx, error } = await settle(sendP, got, () => script);
    await poller.stop();
    await client.request({ cmd: 'close', conn }).catch(() => {});

    const restore = events.find((e) => e.what.endsWith('restored') && !e.skipped);
    const { newSubflowMs, carriesDataMs } = restore ? rejoin(poller.timeline, cut, cutPorts, restore) : {};
    const cutEvent = events.find((e) => e.what.endsWith('link down') && !e.skipped);
    const gapStartMs = rx ? rx.maxGapAtMs : null;
    return {
      cutPath: cut, otherPath: other, rateMbit: rate, bytesRequested: bytes, isMptcp,
      subflowsBefore: before, error,
      ...delivery(sent, rx),
      // the stall ended at (or after) the restore: the restore, not the failover, may have ended it
      stallEndedByRestore: Boolean(rx && restore && cutEvent && gapStartMs + rx.maxGapMs >= restore.t && gapStartMs <= restore.t),
      outage: rx ? outage(rx.bins) : null,
      transferMs: sent?.ms ?? null, receiverMs: rx?.ms ?? null,
      goodputMbit: rx ? goodputMbit(rx.bytes, rx.ms) : null,
      restoreToNewSubflowMs: newSubflowMs ?? null, restoreToDataMs: carriesDataMs ?? null,
      subflowsAtEnd: rx?.subflowsAtEnd ?? null,
      events, timeline: poller.timeline, bins50ms: rx?.bins ?? null,
    };
  });
}

export async function failoverPhase(result) {
  const runs = { path2: [], path1: [] };
  for (let rep = 0; rep < CFG.scenarioReps; rep++) {
    for (const cut of [2, 1]) {
      log(`failover: cutting path ${cut}, run ${rep + 1}/${CFG.scenarioReps} (${CFG.failoverMib} MiB over 2 x ${CFG.failoverRate} Mbit/s)`);
      let r;
      try {
        r = await failoverRun(cut);
      } catch (err) {
        r = { cutPath: cut, error: err.message };
      }
      if (r.error) result.errors.push(`failover (cut path ${cut}, run ${rep + 1}): ${r.error}`);
      runs[`path${cut}`].push(r);
      log(`failover: cut path ${cut}: stall ${r.stallMs?.toFixed(0)} ms, outage ${r.outage?.ms} ms, lost ${r.bytesLost}, checksum ${r.checksumOk ? 'ok' : 'MISMATCH'}`);
    }
  }
  result.failover = { runs, worst: { path2: worstOf(runs.path2), path1: worstOf(runs.path1) } };
}
