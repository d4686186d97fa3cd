// Phase 4 of the loopback benchmark: path-manager round trips in this process,
// pm.list() (GET_ADDR dump) and pm.getLimits() over the library's netlink
// socket, against the way an app would otherwise ask: one
// `ip mptcp endpoint show` process. Read-only.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { which } from '../common.mjs';
import { QUICK, log } from './config.mjs';
import { usStats } from './calls.mjs';

const require = createRequire(import.meta.url);
const m = require('../../dist/index.js');

/** µs per call of `fn` in each of `rounds` rounds of `per` awaited calls (`parallel`: all at once). */
async function timeRounds(fn, rounds, per, parallel = false) {
  const us = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    if (parallel) await Promise.all(Array.from({ length: per }, fn));
    else for (let i = 0; i < per; i++) await fn();
    us.push(Number(process.hrtime.bigint() - t0) / 1e3 / per);
  }
  return us;
}

export async function pmPhase(result) {
  const n = QUICK ? 500 : 2000;
  const batches = 10;
  const per = Math.ceil(n / batches);
  const time = async (fn) => {
    for (let i = 0; i < Math.min(200, per); i++) await fn();
    return usStats(await timeRounds(fn, batches, per));
  };
  const stats = {};
  try {
    stats['pm.list()'] = await time(() => m.pm.list());
    stats['pm.getLimits()'] = await time(() => m.pm.getLimits());
  } catch (err) {
    result.warnings.push(`pm round trips not measured: ${err.message}`);
    return;
  }
  // Concurrent calls: the shared socket queues dumps (one per socket at a
  // time in the kernel) against the alternative design, a socket per call
  // (socket + bind + request + close, with the family id already known).
  try {
    const conc = 64;
    const rounds = QUICK ? 20 : 100;
    const { GenlSocket } = require('../../dist/netlink.js');
    const probe = new GenlSocket();
    const family = await probe.resolveFamily('mptcp_pm');
    probe.close();
    const perCall = async () => {
      const sock = new GenlSocket();
      try {
        return await sock.request(family.id, 3 /* GET_ADDR */, 1, [], { dump: true, syscall: 'mptcp_pm get_addr' });
      } finally {
        sock.close();
      }
    };
    stats[`${conc} concurrent pm.list(), shared socket (queued)`] = usStats(await timeRounds(() => m.pm.list(), rounds, conc, true));
    stats[`${conc} concurrent list dumps, a socket per call`] = usStats(await timeRounds(perCall, rounds, conc, true));
  } catch (err) {
    result.warnings.push(`pm concurrency not measured: ${err.message}`);
  }
  const ip = which('ip');
  if (ip) {
    const run = () => new Promise((resolve, reject) => execFile(ip, ['mptcp', 'endpoint', 'show'], (err) => (err ? reject(err) : resolve())));
    stats['ref: `ip mptcp endpoint show` process'] = usStats(await timeRounds(run, QUICK ? 20 : 60, 1));
  }
  const endpoints = (await m.pm.list()).length;
  log('pm: done');
  result.pm = { unit: 'µs/call', calls: n, batches, endpoints, stats };
}
