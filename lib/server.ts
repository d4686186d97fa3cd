// Servers over MPTCP: mptcp.Server (a net.Server) and listen(server, ...),
// which makes any net.Server (http, https, tls, express) listen on an MPTCP
// socket. The listening socket is made and bound by the addon, with net's
// own choices (SO_REUSEADDR, dual-stack "::" unless ipv6Only, 0.0.0.0 where
// IPv6 is absent), then wrapped in a TCP handle of net's own class and
// handed to Node with `listen(handle)`: net makes the one listen(2) call,
// owns the descriptor from then on (a failed listen closes it), and never
// routes a handle through a cluster primary. Accepting and all I/O are
// Node's. Errors are emitted as net emits them ("listen EADDRINUSE: address
// already in use :::8080").
//
// In a cluster worker, a shared listen (neither `exclusive` nor `reusePort`)
// goes to the primary as net's does when the primary's switch makes those
// listeners over MPTCP; otherwise each worker makes its own MPTCP listener
// with SO_REUSEPORT, and the kernel spreads connections over the workers.
import * as dns from 'node:dns';
import * as net from 'node:net';
import { constants as os } from 'node:os';
import { normalizeArgs, toNumber } from './args';
import { getBinding } from './binding';
import {
  announceListening, learnTcpHandleClassFrom, listeningGeneration, netOriginals, tcpHandleClassKnown, tcpServerHandleOn, type TcpHandle,
} from './node-internals';
import { isClusterWorker, primaryListensOverMptcp, warnUnavailable } from './scope';
import { validatePort } from './validators';
import type { NativeBinding } from '../types/binding';
import {
  errInvalidArgType,
  errInvalidArgValue,
  errServerAlreadyListen,
  uvExceptionWithHostPort,
} from './errors';
import { openStream, reasonForErrno, reasonWithoutAddon, refusalError, validateMode, type MptcpMode } from './policy';

/** Options of {@link createServer}: those of `net.createServer`, plus `mptcp`. */
export interface ServerOptions extends net.ServerOpts {
  /** `true` (default) prefers MPTCP and falls back to TCP; `'require'` fails instead; `false` is plain TCP. */
  mptcp?: MptcpMode;
}

/** Options of `listen()`: those of `net.Server#listen` for TCP, plus `reusePort` and `mptcp`. */
export interface ListenOptions extends net.ListenOptions {
  /** Set SO_REUSEPORT, so several processes can listen on one port. */
  reusePort?: boolean;
  /** Overrides the server's `mptcp` mode for this listen. */
  mptcp?: MptcpMode;
}

/**
 * A handle to listen on, passed to `net` unchanged: a server or socket with
 * a `_handle`, a `{ fd }` object, or a libuv handle.
 */
export type ListenHandle = net.Server | net.Socket | { fd: number } | { _handle: unknown };

const kMode = Symbol('mptcp.mode');

/**
 * A `net.Server` whose `listen()` listens on a Multipath TCP socket. It
 * accepts MPTCP and plain TCP clients alike (a TCP client gets an ordinary
 * TCP socket); use {@link isMptcp} on a connection to tell them apart.
 */
export class Server extends net.Server {
  /** @internal */
  readonly [kMode]: MptcpMode;

  constructor(connectionListener?: (socket: net.Socket) => void);
  constructor(options?: ServerOptions, connectionListener?: (socket: net.Socket) => void);
  constructor(options?: ServerOptions | ((socket: net.Socket) => void), connectionListener?: (socket: net.Socket) => void) {
    if (typeof options === 'function') {
      super(options);
      this[kMode] = true;
      return;
    }
    if (options != null && typeof options !== 'object') {
      throw errInvalidArgType('options', ['Object'], options);
    }
    const { mptcp, ...rest } = options ?? {};
    const mode = validateMode(mptcp, 'options.mptcp');
    super(rest, connectionListener);
    this[kMode] = mode;
  }

  /** The server's MPTCP mode. */
  get mptcp(): MptcpMode {
    return this[kMode];
  }

  /**
   * Starts listening, with every TCP form `net.Server#listen` accepts:
   * `(port[, host][, backlog][, cb])` or `(options[, cb])` with `port`,
   * `host`, `backlog`, `ipv6Only`, `reusePort`, `exclusive`, `signal`.
   * IPC paths, handles and fds are passed to `net` unchanged.
   */
  override listen(port?: number, hostname?: string, backlog?: number, listeningListener?: () => void): this;
  override listen(port?: number, hostname?: string, listeningListener?: () => void): this;
  override listen(port?: number, backlog?: number, listeningListener?: () => void): this;
  override listen(port?: number, listeningListener?: () => void): this;
  override listen(path: string, backlog?: number, listeningListener?: () => void): this;
  override listen(path: string, listeningListener?: () => void): this;
  override listen(options: ListenOptions, listeningListener?: () => void): this;
  override listen(handle: ListenHandle, backlog?: number, listeningListener?: () => void): this;
  override listen(handle: ListenHandle, listeningListener?: () => void): this;
  override listen(...args: unknown[]): this {
    listenOver(this, args, this[kMode]);
    return this;
  }
}

/**
 * Creates an MPTCP {@link Server}; same arguments as `net.createServer`,
 * plus the `mptcp` option.
 *
 * @example
 * const server = mptcp.createServer((socket) => socket.pipe(socket));
 * server.listen(8080);
 */
export function createServer(connectionListener?: (socket: net.Socket) => void): Server;
export function createServer(options?: ServerOptions, connectionListener?: (socket: net.Socket) => void): Server;
export function createServer(options?: ServerOptions | ((socket: net.Socket) => void), connectionListener?: (socket: net.Socket) => void): Server {
  return new Server(options as ServerOptions, connectionListener);
}

/**
 * Makes any existing `net.Server` (an `http.Server`, `https.Server`,
 * `tls.Server`, an express app's server) listen over MPTCP. Takes the same
 * arguments as `server.listen()`, and `mptcp` in the options form.
 *
 * @example
 * const server = http.createServer(app);
 * mptcp.listen(server, 8080, () => console.log('listening'));
 */
export function listen<S extends net.Server>(server: S, port?: number, hostname?: string, backlog?: number, listeningListener?: () => void): S;
export function listen<S extends net.Server>(server: S, port?: number, hostname?: string, listeningListener?: () => void): S;
export function listen<S extends net.Server>(server: S, port?: number, backlog?: number, listeningListener?: () => void): S;
export function listen<S extends net.Server>(server: S, port?: number, listeningListener?: () => void): S;
export function listen<S extends net.Server>(server: S, path: string, backlog?: number, listeningListener?: () => void): S;
export function listen<S extends net.Server>(server: S, path: string, listeningListener?: () => void): S;
export function listen<S extends net.Server>(server: S, options: ListenOptions, listeningListener?: () => void): S;
export function listen<S extends net.Server>(server: S, handle: ListenHandle, backlog?: number, listeningListener?: () => void): S;
export function listen<S extends net.Server>(server: S, handle: ListenHandle, listeningListener?: () => void): S;
export function listen<S extends net.Server>(server: S, ...args: unknown[]): S {
  if (!(server instanceof net.Server)) throw errInvalidArgType('server', ['net.Server'], server);
  listenOver(server, args, server instanceof Server ? server.mptcp : true);
  return server;
}

/** net's own Server#listen (before the switch wraps it). */
const baseListen = netOriginals(net).listen;

/**
 * A listen over MPTCP with `server.listen()`'s arguments; what is not a TCP
 * listen (IPC, handles, descriptors) or is mode false goes to net's own.
 */
export function listenOver(server: net.Server, args: unknown[], defaultMode: MptcpMode): void {
  const normalized = normalizeArgs(args);
  let options = normalized[0];
  const cb = normalized[1];
  if (server.listening) throw errServerAlreadyListen();

  const inner = (options._handle || options.handle || options) as Record<string, unknown>;
  const isTcp = inner === options && !(typeof inner.fd === 'number' && inner.fd >= 0) &&
    !(options.path && typeof options.path === 'string');
  const mode = isTcp ? validateMode(options.mptcp ?? defaultMode, 'options.mptcp') : false;
  const b = getBinding();
  const worker = isTcp && mode !== false && isClusterWorker();
  const shared = worker && options.exclusive !== true && options.reusePort !== true;
  const viaPrimary = shared && b !== null && primaryListensOverMptcp();
  if (!isTcp || mode === false || (!b && mode !== 'require') || viaPrimary) {
    if (isTcp && mode !== false && !b) warnUnavailable();
    if (viaPrimary && mode === 'require') {
      // The primary makes the listener, falling back to TCP where MPTCP is
      // refused: 'require' is checked here (the same namespace's kernel).
      const probe = openStream(b, 4, 'require');
      if (probe.fd < 0) {
        process.nextTick(() => server.emit('error', refusalError(probe.errno, reasonForErrno(probe.errno), options.host as string | undefined, Number(options.port) || 0)));
        return;
      }
      b.close(probe.fd);
    }
    baseListen.apply(server, args);
    return;
  }

  // ([port][, host][, backlog][, cb]) or (options[, cb]); net's Server#listen
  // order: the positional backlog is converted first, then the signal is
  // checked, then the port.
  const backlogFromArgs = toNumber(args.length > 1 && args[1]) || toNumber(args.length > 2 && args[2]);
  const signal = options.signal as AbortSignal | undefined;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal))) {
    throw errInvalidArgType('options.signal', ['AbortSignal'], signal);
  }
  options = { ...options };
  if (args.length === 0 || typeof args[0] === 'function' ||
      (typeof options.port === 'undefined' && 'port' in options) || options.port === null) {
    options.port = 0;
  }
  if (typeof options.port !== 'number' && typeof options.port !== 'string') {
    if (!('port' in options) && !('path' in options)) {
      throw errInvalidArgValue('options', options, 'must have the property "port" or "path"');
    }
    throw errInvalidArgValue('options', options);
  }
  const port = validatePort(options.port, 'options.port');
  // net passes whatever it was given to listen(2) as an int32 (so 'x' becomes 0).
  const backlog = Number(options.backlog || backlogFromArgs || 511) | 0;
  if (cb) server.once('listening', cb);
  if (signal) {
    const onAbort = (): void => { server.close(); };
    if (signal.aborted) process.nextTick(onAbort);
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      server.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }
  const spec: ListenSpec = {
    port,
    backlog,
    // As net: only `true` turns these on.
    ipv6Only: options.ipv6Only === true,
    // A worker's shared listen is a listener of its own in a SO_REUSEPORT
    // group with its siblings'.
    reusePort: options.reusePort === true || shared,
    mode,
  };
  // A worker's shared listen on a listener of its own tells the primary, as
  // net's cluster path does (cluster's 'listening' events).
  if (shared) server.once('listening', () => announceListening(server, process.send?.bind(process)));
  if (!b) {
    const reason = reasonWithoutAddon();
    process.nextTick(() => server.emit('error', refusalError(os.errno.EPROTONOSUPPORT, reason, options.host as string | undefined, port)));
    return;
  }
  const host = options.host as string | undefined;
  if (host) {
    // As net does: a close() (or the signal's abort) during the lookup makes
    // its result moot (net's close() bumps the listen generation, which
    // node-internals.ts reads), and so does a later listen() (it takes the
    // pending slot).
    const token = {};
    pending.set(server, token);
    const generation = listeningGeneration(server);
    dns.lookup(host, (err, ip, family) => {
      if (pending.get(server) !== token) return;
      pending.delete(server);
      if (listeningGeneration(server) !== generation) return;
      if (err) server.emit('error', err);
      else bindAndListen(b, server, ip || '0.0.0.0', ip ? (family as 4 | 6) : 4, spec);
    });
    return;
  }
  bindAndListen(b, server, null, 6, spec);
}

const pending = new WeakMap<net.Server, object>();

interface ListenSpec { port: number; backlog: number; ipv6Only: boolean; reusePort: boolean; mode: MptcpMode }

type Bound = { fd: number; address: string } | { errno: number; syscall: 'listen'; address: string; refused?: boolean };

/** socket + SO_REUSEADDR (+ SO_REUSEPORT, IPV6_V6ONLY) + bind, as libuv binds. */
function openAndBind(b: NativeBinding, address: string, family: 4 | 6, spec: ListenSpec): Bound {
  const o = openStream(b, family, spec.mode);
  if (o.fd < 0) return { errno: o.errno, syscall: 'listen', address, refused: o.refused };
  const c = b.constants;
  const fd = o.fd;
  let rc = b.setsockoptInt(fd, c.SOL_SOCKET, c.SO_REUSEADDR, 1);
  if (rc >= 0 && spec.reusePort) rc = b.setsockoptInt(fd, c.SOL_SOCKET, c.SO_REUSEPORT, 1);
  if (rc >= 0 && family === 6) rc = b.setsockoptInt(fd, c.IPPROTO_IPV6, c.IPV6_V6ONLY, spec.ipv6Only ? 1 : 0);
  if (rc >= 0) rc = b.bind(fd, family, address, spec.port);
  if (rc < 0) {
    b.close(fd);
    return { errno: -rc, syscall: 'listen', address };
  }
  return { fd, address };
}

/**
 * Binds an MPTCP listening socket as net's createServerHandle binds one
 * (no host: dual-stack "::", or 0.0.0.0 where IPv6 cannot be bound; as in
 * libuv, EADDRINUSE on "::" is reported, not retried on IPv4) and wraps it in
 * a listening-type TCP handle of net's class, which owns it from then on.
 */
function boundHandle(b: NativeBinding, address: string | null, family: 4 | 6, spec: ListenSpec): { handle: TcpHandle; address: string } | { failed: Exclude<Bound, { fd: number }> } {
  let bound: Bound;
  if (address === null) {
    bound = openAndBind(b, '::', 6, spec);
    if ('errno' in bound && !bound.refused && bound.errno !== os.errno.EADDRINUSE) {
      bound = openAndBind(b, '0.0.0.0', 4, spec);
    }
  } else {
    bound = openAndBind(b, address, family, spec);
  }
  if ('errno' in bound) return { failed: bound };
  if (!tcpHandleClassKnown()) {
    const probe = b.socket(4, b.constants.IPPROTO_TCP);
    if (probe >= 0) learnTcpHandleClassFrom(net.Socket, probe);
  }
  const handle = tcpServerHandleOn(bound.fd);
  if (!handle) {
    // No handle could take it: the descriptor is still ours.
    b.close(bound.fd);
    return { failed: { errno: os.errno.EBADF, syscall: 'listen', address: bound.address } };
  }
  return { handle, address: bound.address };
}

function bindAndListen(b: NativeBinding, server: net.Server, address: string | null, family: 4 | 6, spec: ListenSpec): void {
  const r = boundHandle(b, address, family, spec);
  if ('failed' in r) {
    const f = r.failed;
    const err = f.refused
      ? refusalError(f.errno, reasonForErrno(f.errno), f.address, spec.port)
      : uvExceptionWithHostPort(f.errno, 'listen', f.address, spec.port);
    process.nextTick(() => server.emit('error', err));
    return;
  }
  // net makes the one listen(2) call (a second one would announce the
  // listener to the path manager twice: two listenerCreated events, one
  // listenerClosed). A listen(2) failure then comes from net, which knows no
  // address for a handle: the error is given the address and port, as net
  // gives them for a listen of its own, before anyone else sees it.
  const where = r.address;
  const onError = (err: Error & { syscall?: string; address?: string | null; port?: number }): void => {
    if (err.syscall === 'listen' && err.address == null && !err.message.includes(where)) {
      err.address = where;
      err.port = spec.port;
      err.message += ` ${where}:${spec.port}`;
    }
  };
  server.prependOnceListener('error', onError);
  server.once('listening', () => server.removeListener('error', onError));
  try {
    baseListen.call(server, r.handle, spec.backlog);
  } catch (err) {
    server.removeListener('error', onError);
    r.handle.close();
    throw err;
  }
}

/** cluster's UV_TCP_IPV6ONLY flag of createServerHandle. */
const kUvTcpIpv6Only = 1;

/**
 * `net._createServerHandle` over MPTCP, for the switch in a cluster primary:
 * the shared handles of cluster's SCHED_NONE policy are made with it (the
 * round-robin policy listens with Server#listen). Same contract as net's: a
 * bound handle, or a negative errno. Descriptors go to net's own.
 */
export function createServerHandleOver(address: string | null, port: number, addressType: number, fd?: number, flags?: number): unknown {
  const original = netOriginals(net).createServerHandle;
  const b = getBinding();
  if ((typeof fd === 'number' && fd >= 0) || !b) return original(address, port, addressType, fd, flags);
  const spec: ListenSpec = { port, backlog: 511, ipv6Only: ((flags ?? 0) & kUvTcpIpv6Only) !== 0, reusePort: false, mode: true };
  const r = boundHandle(b, address || null, addressType === 6 ? 6 : 4, spec);
  return 'failed' in r ? -r.failed.errno : r.handle;
}
