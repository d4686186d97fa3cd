// Phase 3 of the lab benchmark: path 2 announced as a backup; a library
// connection sends over path 1 until that path is cut, and the backup
// subflow is to stay idle before the cut and carry the data after it.
import { CFG, log } from './config.mjs';
import { delivery, goodputMbit, libConnection, now, outage, quiet, recordProgress, settle, sleep, withLab, worstOf } from './kit.mjs';

async function backupRun() {
  const rate = CFG.failoverRate;
  let r;
  try {
    r = await withLab({ paths: [{ rateMbit: rate }, { rateMbit: rate, backup: true }] }, async (ctx) => {
      const { lab, client } = ctx;
      const { conn, isMptcp, before, got } = await libConnection(ctx);
      const progress = recordProgress(ctx, conn);
      const t0 = now();
      const sendP = quiet(client.request({ cmd: 'send', conn, seconds: CFG.backupSeconds, sampleMs: CFG.backupSampleMs }, 120_000));
      await sleep(t0 + CFG.backupCutAtMs - now());
      const cutT = now() - t0;
      await lab.setLink(1, false);
      const { sent, rx, error } = await settle(sendP, got, async () => progress.stop());
      await client.request({ cmd: 'close', conn }).catch(() => {});
      const { samples } = progress;
      const ackedOn = (s, p) => (s ? s.subflows.filter((sf) => sf.path === p).reduce((a, sf) => a + (sf.bytesAcked ?? 0), 0) : null);
      const lastBefore = samples.filter((s) => s.t < cutT).at(-1);
      const last = samples.at(-1);
      return {
        rateMbit: rate, isMptcp, subflowsBefore: before, cutAtMs: cutT, error,
        backupAckedBeforeCut: ackedOn(lastBefore, 2), primaryAckedBeforeCut: ackedOn(lastBefore, 1),
        backupAckedAtEnd: ackedOn(last, 2), primaryAckedAtEnd: ackedOn(last, 1),
        ...delivery(sent, rx),
        outage: rx ? outage(rx.bins) : null,
        goodputMbit: rx ? goodputMbit(rx.bytes, rx.ms) : null,
        samples, bins50ms: rx?.bins ?? null,
      };
    });
  } catch (err) {
    r = { error: err.message };
  }
  return r;
}

export async function backupPhase(result) {
  const runs = [];
  for (let rep = 0; rep < CFG.scenarioReps; rep++) {
    log(`backup: path 2 announced as backup, path 1 cut at ${CFG.backupCutAtMs} ms, run ${rep + 1}/${CFG.scenarioReps}`);
    const r = await backupRun();
    if (r.error) result.errors.push(`backup (run ${rep + 1}): ${r.error}`);
    log(`backup: stall ${r.stallMs?.toFixed(0)} ms, outage ${r.outage?.ms} ms, backup acked before cut ${r.backupAckedBeforeCut}, lost ${r.bytesLost}`);
    runs.push(r);
  }
  result.backup = { runs, worst: worstOf(runs) };
}
