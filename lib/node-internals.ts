// The one place that reads or writes Node's private fields. Each accessor
// says what it is for; every one was checked on Node 20, 22, 24 and 26, and
// test/unit/node-internals.test.ts fails loudly on a Node where one is gone.
import type * as net from 'node:net';

interface ServerInternals { _listeningId?: unknown }

/**
 * `net.Server#_listeningId`: net bumps it on every listen() and close(), and
 * drops the result of a host lookup when it changed meanwhile (a close()
 * during the lookup wins). Undefined if this Node has no such field.
 */
export function listeningGeneration(server: net.Server): number | undefined {
  const id = (server as net.Server & ServerInternals)._listeningId;
  return typeof id === 'number' ? id : undefined;
}
