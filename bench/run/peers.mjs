// The loopback benchmark's peer processes (bench/peer.mjs): a server (sink +
// echo) pinned to CPU_RECV and a client pinned to CPU_SEND per mode, and the
// kernel's own view of whether a mode's connections are MPTCP.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonLineChild } from '../child.mjs';
import { CPU_RECV, CPU_SEND, SS, TASKSET, active } from './config.mjs';

const PEER = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'peer.mjs');

/** One peer process of a mode, `role` 'server' or 'client', pinned to `cpu` when taskset is there. */
function startPeer(mode, role, cpu) {
  const cmd = [...(TASKSET ? [TASKSET, '-c', String(cpu)] : []), ...mode.wrap, process.execPath, PEER, role, mode.peer];
  return new JsonLineChild(`${mode.name} ${role}`, cmd, { bye: JSON.stringify({ cmd: 'exit' }) + '\n' });
}

/** A fresh server (CPU_RECV) + client (CPU_SEND) process pair for a mode (the server of `serverMode`'s kind). */
export async function startPair(mode, serverMode = mode) {
  const server = startPeer(serverMode, 'server', CPU_RECV);
  const client = startPeer(mode, 'client', CPU_SEND);
  const [ports] = await Promise.all([server.next('ready', 20_000), client.next('ready', 20_000)]);
  return { mode, server, client, ports };
}

/** A fresh pair for every available mode (or those given), by mode name. */
export async function startPairs(modes = active()) {
  const pairs = {};
  for (const mode of modes) pairs[mode.name] = await startPair(mode);
  return pairs;
}

export async function stopPairs(pairs) {
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
