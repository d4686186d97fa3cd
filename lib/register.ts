// The process-wide switch: `node --import mptcp/register app.js` or
// `node --require mptcp/register app.js`. NODE_MPTCP picks what it turns to
// MPTCP: `servers` (the default: every net.Server listen, hence http, https,
// tls, http2 and every framework's servers), `clients` (every outgoing
// net.Socket connect, hence http.request, tls.connect, the global fetch,
// database drivers), `all`, or `off`. The core's rules apply unchanged:
// fallback to TCP when the kernel refuses MPTCP, IPC paths, handles and
// descriptors passed through, one warning when no MPTCP socket can be made
// at all. Nothing outside this process is touched (no LD_PRELOAD); cluster
// workers and worker threads load it again through the execArgv /
// NODE_OPTIONS Node passes them.
// The module object itself (not an import namespace): _createServerHandle is assigned on it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import net = require('node:net');
import { connectSocket } from './connect';
import { createServerHandleOver, listenOver } from './server';
import { announceToWorkers, coversClients, coversServers, parseScope, setActiveScope, warnUnavailable, type Scope } from './scope';
import { getBinding } from './binding';

export type { Scope } from './scope';

/** Set on `globalThis` once a copy of the library has installed the switch in this realm. */
const kInstalled = Symbol.for('mptcp.register');


function install(scope: Scope): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[kInstalled]) return;
  g[kInstalled] = scope;
  if (coversServers(scope)) {
    // listenOver passes what is not a TCP listen to net's own listen, which server.ts holds.
    net.Server.prototype.listen = function listen(this: net.Server, ...args: unknown[]): net.Server {
      listenOver(this, args, true);
      return this;
    } as typeof net.Server.prototype.listen;
    // A cluster primary's shared handles (SCHED_NONE) are made by this one.
    (net as { _createServerHandle?: typeof createServerHandleOver })._createServerHandle = createServerHandleOver;
    announceToWorkers();
  }
  if (coversClients(scope)) {
    // connectSocket passes what it does not connect itself to net's own connect, which connect.ts holds.
    net.Socket.prototype.connect = function connect(this: net.Socket, ...args: unknown[]): net.Socket {
      return connectSocket(this, args, true);
    };
  }
  if (scope !== 'off' && !getBinding()) warnUnavailable();
}

const scope = parseScope(process.env.NODE_MPTCP);
if (setActiveScope(scope)) install(scope);
