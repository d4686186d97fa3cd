// The process-wide switch's state (`--import mptcp/register` or
// `--require mptcp/register`, scope from NODE_MPTCP), the marker by which a
// cluster primary tells its workers that it makes their shared listeners
// over MPTCP, and the one warning the library emits when MPTCP is asked for
// but no MPTCP socket can be made in this process at all (the addon cannot
// be loaded, or the platform is not Linux). register.ts installs the switch;
// server.ts, connect.ts and support.ts read it.
import cluster from 'node:cluster';
import { getBindingError } from './binding';
import { reasonWithoutAddon } from './policy';

/**
 * What the switch turns to MPTCP: `'servers'` (every `net.Server` listen,
 * the default), `'clients'` (every outgoing `net.Socket` connect), `'all'`,
 * or `'off'` (the switch is loaded but changes nothing).
 */
export type Scope = 'servers' | 'clients' | 'all' | 'off';

const SCOPES: readonly Scope[] = ['servers', 'clients', 'all', 'off'];

/** The environment variable a cluster primary sets for its workers: its pid. */
export const PRIMARY_MARKER = 'NODE_MPTCP_PRIMARY';

let active: Scope | null = null;

/** The active scope, or null when the switch is not loaded in this process. */
export function activeScope(): Scope | null {
  return active;
}

/** Records the scope the switch applies (register.ts); returns false if one was already set. */
export function setActiveScope(scope: Scope): boolean {
  if (active !== null) return false;
  active = scope;
  return true;
}

/**
 * NODE_MPTCP's value as a scope: unset or empty means `'servers'`. Any other
 * value gives `'off'` and a warning, so that a typo changes nothing unseen.
 */
export function parseScope(value: string | undefined): Scope {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '') return 'servers';
  if ((SCOPES as readonly string[]).includes(v)) return v as Scope;
  process.emitWarning(
    `NODE_MPTCP=${JSON.stringify(value)} is not one of ${SCOPES.join(', ')}: the MPTCP switch is off`,
    { code: 'MPTCP_INVALID_SCOPE' },
  );
  return 'off';
}

/** Whether the scope covers servers / clients. */
export const coversServers = (s: Scope | null): boolean => s === 'servers' || s === 'all';
export const coversClients = (s: Scope | null): boolean => s === 'clients' || s === 'all';

/** Whether this process is a cluster worker. */
export function isClusterWorker(): boolean {
  return cluster.isWorker === true;
}

/**
 * In a cluster worker: whether the primary makes the listeners it shares
 * with its workers over MPTCP (its switch covers servers, and it said so in
 * the environment it forked this worker with).
 */
export function primaryListensOverMptcp(): boolean {
  return process.env[PRIMARY_MARKER] === String(process.ppid);
}

/** In a cluster primary whose switch covers servers: tells the workers it forks. */
export function announceToWorkers(): void {
  if (cluster.isPrimary) process.env[PRIMARY_MARKER] = String(process.pid);
}

let warned = false;

/**
 * The warning for MPTCP asked for without an addon to make MPTCP sockets
 * with: emitted once per process (code MPTCP_UNAVAILABLE), saying why.
 */
export function warnUnavailable(): void {
  if (warned) return;
  warned = true;
  const reason = reasonWithoutAddon();
  const why = reason === 'platform'
    ? `Multipath TCP is Linux-only and this is ${process.platform}`
    : `the native addon could not be loaded (${getBindingError()?.message.split('\n')[0] ?? 'unknown error'})`;
  process.emitWarning(`MPTCP is off (${reason}): ${why}; connections use plain TCP`, { code: 'MPTCP_UNAVAILABLE' });
}
