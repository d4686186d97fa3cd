// The loopback benchmark's peer processes (bench/peer.mjs): a server (sink +
// echo) pinned to CPU_RECV and a client pinned to CPU_SEND per mode, and the
// kernel's own view of whether a mode's connections are MPTCP.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonLineChild } from '../child.mjs';
import { CHRT, CPU_RECV, CPU_SEND, SS, TASKSET, active } from './config.mjs';

const PEER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'peer.mjs');

/** One peer process of a mode, `role` 'server' or 'client', pinned to `cpu` when taskset is there. */
function startPeer(mode, role, cpu) {
  const cmd = [...(TASKSET ? [TASKSET, '-c', String(cpu)] : []), ...mode.wrap, process.execPath, PEER, role, mode.peer];
  return new JsonLineChild(`${mode.name} ${role}`, cmd, { bye: JSON.stringify({ cmd: 'exit' }) + '\n' });
}

/**
 * Puts every thread of process `pid` but its main thread (V8's compiler and
 * GC helpers, made at start) under SCHED_IDLE: on a core of its own
 * process's, a helper then runs only while the main thread waits, instead
 * of holding the core for a scheduler slice (3 ms) while the main thread
 * is ready. Threads made later (libuv's pool, for lookups) keep the
 * normal policy. False when a thread could not be moved.
 */
export function idleHelpers(pid) {
  if (!CHRT || !pid) return false;
  let ok = true;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    if (Number(tid) === pid) continue;
    if (spawnSync(CHRT, ['-i', '-p', '0', tid]).status !== 0) ok = false;
  }
  return ok;
}

/**
 * A fresh server (CPU_RECV) + client (CPU_SEND) process pair for a mode
 * (the server of `serverMode`'s kind); `helpersIdle`: their helper threads
 * under SCHED_IDLE (see idleHelpers).
 */
export async function startPair(mode, serverMode = mode, helpersIdle = false) {
  const server = startPeer(serverMode, 'server', CPU_RECV);
  const client = startPeer(mode, 'client', CPU_SEND);
  const [ports, cready] = await Promise.all([server.next('ready', 20_000), client.next('ready', 20_000)]);
  const idle = helpersIdle ? [idleHelpers(ports.pid), idleHelpers(cready.pid)].every(Boolean) : false;
  return { mode, server, client, ports, clientPid: cready.pid, idle, held: false };
}

/** A fresh pair for every available mode (or those given), by mode name. */
export async function startPairs(modes = active(), helpersIdle = false) {
  const pairs = {};
  for (const mode of modes) pairs[mode.name] = await startPair(mode, mode, helpersIdle);
  return pairs;
}

const heldPids = new Set();
const signal = (pid, sig) => {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if (err.code !== 'ESRCH') throw err; // gone already: nothing to stop or continue
  }
};

/**
 * Stops (SIGSTOP) or continues (SIGCONT) a pair's two processes: a pair
 * whose mode is not taking its turn holds still, so that its background
 * work (V8's compiles and GC of its own last turn) runs in its own next
 * turn, not in another mode's.
 */
export function holdPair(pair, hold) {
  pair.held = hold;
  for (const pid of [pair.ports.pid, pair.clientPid]) {
    if (!pid) continue;
    if (hold) heldPids.add(pid);
    else heldPids.delete(pid);
    signal(pid, hold ? 'SIGSTOP' : 'SIGCONT');
  }
}

// However the bench ends, no peer stays stopped (a stopped peer would not see its stdin close).
const continueHeld = () => {
  for (const pid of heldPids) signal(pid, 'SIGCONT');
  heldPids.clear();
};
process.once('exit', continueHeld);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    continueHeld();
    process.kill(process.pid, sig);
  });
}

export async function stopPairs(pairs) {
  for (const p of Object.values(pairs)) if (p.held) holdPair(p, false);
  await Promise.all(Object.values(pairs).flatMap((p) => [p.server.stop(), p.client.stop()]));
}

/**
 * Independent of the library: holds one connection of this mode open and
 * asks the kernel (`ss -tni`) whether its TCP socket is an MPTCP subflow
 * ("tcp-ulp-mptcp"). null when ss is unavailable.
 */
export async function ssCheck(pair) {
  if (!SS) return null;
  const held = await pair.client.request({ cmd: 'hold', port: pair.ports.echo }, 'held');
  try {
    const r = spawnSync(SS, ['-tniH', 'state', 'established', `( sport = :${held.localPort} )`], { encoding: 'utf8' });
    if (r.status !== 0) return null;
    return /tcp-ulp-mptcp/.test(r.stdout);
  } finally {
    await pair.client.request({ cmd: 'release' }, 'released');
  }
}

/** What a check has said so far: the first answer, or 'mixed' once two differ. */
export const agree = (was, now) => (was === null ? now : was === now ? now : 'mixed');
