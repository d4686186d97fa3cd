// The lab benchmark's settings (command line and environment, see
// bench/lab.mjs), its targets, and the header-overhead model the aggregation
// targets are judged against.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, envList, envNumber, makeLog } from '../common.mjs';

export const PHASES = ['aggregation', 'failover', 'backup', 'events'];
const args = benchArgs(process.argv.slice(2), 'LAB', PHASES);
export const JSON_OUT = args.json;
export const QUICK = args.quick;
export const ONLY = args.only;

/** Where the JSON and the SVG are written. */
export const DOCS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs');

export const CFG = {
  rates: envList('LAB_RATES', [20, 50, 100]), // Mbit/s per path, both paths alike
  mtus: envList('LAB_MTUS', [1500, 9000]),
  seconds: envNumber('LAB_SECONDS', QUICK ? 3 : 8), // per aggregation run
  reps: envNumber('LAB_REPS', QUICK ? 1 : 3), // lib and kernel runs per rate and MTU
  // The one-path TCP reference is stable (and only a reference): one shorter
  // run per rate and MTU keeps the full run under ~6 minutes.
  tcpReps: envNumber('LAB_TCP_REPS', 1),
  tcpSeconds: envNumber('LAB_TCP_SECONDS', 3),
  // Failover and backup outcomes vary run to run (how much data was in flight
  // on the cut path decides how long reinjection takes): several runs, worst reported.
  scenarioReps: envNumber('LAB_SCENARIO_REPS', QUICK ? 1 : 2),
  failoverMib: QUICK ? 24 : 40,
  failoverRate: 50,
  cutAtMs: 1000, // link down
  withdrawAtMs: 1300, // endpoint withdrawn + addresses removed
  restoreAtMs: 2500,
  pollMs: 100, // client `info` polling during failover
  backupSeconds: QUICK ? 3.5 : 4,
  backupCutAtMs: 1500,
  backupSampleMs: 100,
};

export const TARGETS = {
  linkSumRatio: 0.95, // lib goodput / sum of link rates, >=
  kernelRatio: 0.98, // lib goodput / kernel baseline goodput, >=
  stallMs: 1000, // longest receive gap during failover / backup switch, <
  bytesLost: 0,
};

export const log = makeLog(JSON_OUT);

// MPTCP option bytes on every data segment. A first estimate of 20 was 4 short:
// on 6.18 the receiver's tcpi_rcv_mss is 1424 at MTU 1500 (8924 at 9000), i.e.
// 24 bytes of DSS (4 header + 4 data ACK + 14 mapping + 2 checksum/padding).
// The kernel-baseline sink reports rcv_mss each run, so the table shows it.
export const DSS_BYTES = 24;

/** Header-overhead ceiling: payload bytes per Ethernet frame, as a fraction of the frame. */
export function ceiling(mtu, mptcp) {
  const payload = mtu - 20 - 20 - 12 - (mptcp ? DSS_BYTES : 0);
  return payload / (mtu + 14);
}
