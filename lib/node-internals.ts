// The one place that reads or writes Node's private fields and handle
// classes. Each accessor says what it is for; every one was checked on
// Node 20, 22, 24 and 26, and test/unit/node-internals.test.ts fails loudly
// on a Node where one is gone or behaves otherwise.
import type * as net from 'node:net';
import { constants as os } from 'node:os';

/** What the library reads of a libuv stream handle (tcp_wrap's TCP). */
export interface HandleLike { fd?: number; _parent?: unknown; _parentWrap?: unknown }

interface SocketInternals {
  /** The libuv handle; null once destroyed. */
  _handle?: HandleLike | null;
  /** A TLSSocket's underlying socket, when it wraps one. */
  _parent?: unknown;
  /** net caches the local address here; null makes it ask again. */
  _sockname?: unknown;
  /** Restarts the idle timer (socket.setTimeout) on activity. */
  _unrefTimer?: () => void;
  /** Stream destruction hook: Writable#destroy ends up here. */
  _destroy: (err: Error | null, cb: (err: Error | null) => void) => void;
  /** Set by net for autoSelectFamily connects: the addresses tried. */
  autoSelectFamilyAttemptedAddresses?: string[];
  /** Read-only in the typings, a plain field at run time. */
  connecting: boolean;
}

interface ServerInternals { _listeningId?: unknown }

const internals = (socket: net.Socket): SocketInternals => socket as unknown as SocketInternals;

/**
 * `net.Server#_listeningId`: net bumps it on every listen() and close(), and
 * drops the result of a host lookup when it changed meanwhile (a close()
 * during the lookup wins). Undefined if this Node has no such field.
 */
export function listeningGeneration(server: net.Server): number | undefined {
  const id = (server as net.Server & ServerInternals)._listeningId;
  return typeof id === 'number' ? id : undefined;
}

/** `socket.connecting`, which net sets itself while it connects; the library does when it connects natively. */
export function setConnecting(socket: net.Socket, value: boolean): void {
  internals(socket).connecting = value;
}

/**
 * The libuv handle holding a socket's descriptor, following TLS wrappers
 * (`_parent`, the handle's `_parentWrap`) down to the TCP socket; null when
 * there is none (destroyed, not a stream socket).
 */
export function handleOf(socket: unknown): HandleLike | null {
  let s = socket as Partial<SocketInternals> | undefined;
  for (let depth = 0; depth < 4 && s; depth++) {
    const h = s._handle;
    if (h) {
      const fd = h.fd;
      if (typeof fd === 'number' && fd >= 0) return h;
    }
    s = (s._parent ?? (h && h._parentWrap)) as Partial<SocketInternals> | undefined;
  }
  return null;
}

/** The descriptor owned by the socket's own handle (`_handle.fd`), or -1 when it has none. */
export function handleFd(socket: net.Socket): number {
  const fd = internals(socket)._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

/**
 * Tells a socket whose descriptor the library connected that it is
 * connected, as net's afterConnect does: connecting off, the cached local
 * address dropped (`_sockname`), the idle timer restarted (`_unrefTimer`).
 * The caller then emits 'connect' and 'ready'.
 */
export function markConnected(socket: net.Socket): void {
  const s = internals(socket);
  s.connecting = false;
  s._sockname = null;
  s._unrefTimer?.();
}

/** The list net keeps of the addresses an autoSelectFamily connect tried (starts it empty). */
export function attemptedAddresses(socket: net.Socket, reset = false): string[] {
  const s = internals(socket);
  if (reset || !s.autoSelectFamilyAttemptedAddresses) s.autoSelectFamilyAttemptedAddresses = [];
  return s.autoSelectFamilyAttemptedAddresses;
}

/**
 * Runs `cancel` synchronously when the socket is destroyed, before net
 * closes its handle (a one-time wrap of the stream's `_destroy`): native
 * work on the socket's behalf stops before its descriptor goes away.
 */
export function beforeDestroy(socket: net.Socket, cancel: () => void): void {
  const s = internals(socket);
  const original = s._destroy.bind(socket);
  s._destroy = function destroyWithNative(err, cb) {
    s._destroy = original;
    cancel();
    original(err, cb);
  };
}

/** The part of Node's TCP handle class (tcp_wrap) the library uses. */
export interface TcpHandle { open(fd: number): number; close(): void }
type TcpHandleClass = new (type: number) => TcpHandle;

/** Node's TCP handle class, learned from the first socket net opens on a descriptor. */
let tcpHandleClass: TcpHandleClass | null = null;
/** tcp_wrap's TCPConstants.SOCKET (a client stream) and SERVER (a listener). */
const kTcpSocketType = 0;
const kTcpServerType = 1;

/**
 * Remembers the class of `socket`'s handle when it is net's TCP handle
 * class, so that later descriptors can be wrapped without net's probing.
 */
export function learnTcpHandleClass(socket: net.Socket): void {
  const ctor = (internals(socket)._handle as { constructor?: unknown } | null | undefined)?.constructor;
  if (typeof ctor === 'function' && ctor.name === 'TCP') tcpHandleClass = ctor as TcpHandleClass;
}

/**
 * A TCP handle (net's own class) opened on `fd`, to pass to `new
 * net.Socket({ handle })`; null before a first socket taught the class, or
 * if the handle cannot take the descriptor (the descriptor is then still the
 * caller's). Once returned, the handle owns the descriptor: `close()` it.
 */
export function tcpHandleOn(fd: number): TcpHandle | null {
  return openHandle(kTcpSocketType, fd);
}

/**
 * A listening-type TCP handle (net's own class) opened on the bound
 * descriptor `fd`, to pass to `server.listen(handle)`. net listens on such a
 * handle itself, in a cluster worker too (a handle is never routed through
 * the primary), and closes it, descriptor included, if listen(2) fails.
 * Null when the class is unknown yet (see learnTcpHandleClassFrom) or the
 * handle cannot take the descriptor, which then stays the caller's.
 */
export function tcpServerHandleOn(fd: number): TcpHandle | null {
  return openHandle(kTcpServerType, fd);
}

/**
 * A TCP handle (net's own class) with no descriptor yet, to pass to `new
 * net.Socket({ handle })`: open() puts one under it later, and what is set
 * on it meanwhile (setNoDelay, setKeepAlive) libuv applies then. Null before
 * the class is known (see learnTcpHandleClassFrom).
 */
export function bareTcpHandle(): TcpHandle | null {
  return tcpHandleClass ? new tcpHandleClass(kTcpSocketType) : null;
}

/** Whether the TCP handle class is known. */
export function tcpHandleClassKnown(): boolean {
  return tcpHandleClass !== null;
}

/**
 * Learns the TCP handle class from a throwaway socket net opens on `fd` (an
 * unconnected TCP stream socket, which the throwaway owns and closes).
 */
export function learnTcpHandleClassFrom(NetSocket: typeof net.Socket, fd: number): void {
  const socket = new NetSocket({ fd, manualStart: true, readable: false, writable: false } as net.SocketConstructorOpts);
  learnTcpHandleClass(socket);
  socket.destroy();
}

function openHandle(type: number, fd: number): TcpHandle | null {
  if (!tcpHandleClass) return null;
  const handle = new tcpHandleClass(type);
  if (handle.open(fd) === 0) return handle;
  handle.close();
  return null;
}

// --------------------------------------------------- net's originals ----

type SocketConnect = (this: net.Socket, ...args: unknown[]) => net.Socket;
type ServerListen = (this: net.Server, ...args: unknown[]) => net.Server;
type CreateServerHandle = (address: string | null, port: number, addressType: number, fd?: number, flags?: number) => unknown;

/** What the switch replaces, as net had it before any copy of the library loaded. */
export interface NetOriginals {
  connect: SocketConnect;
  listen: ServerListen;
  /** `net._createServerHandle`, which cluster's shared handles (SCHED_NONE) listen with. */
  createServerHandle: CreateServerHandle;
}

/**
 * net's own `Socket#connect`, `Server#listen` and `_createServerHandle`,
 * kept process-wide (under a registered symbol) by the first copy of the
 * library that loads, so that a second copy (another version elsewhere in
 * node_modules) loaded after the switch is on still reaches net's own.
 */
export function netOriginals(netModule: typeof net): NetOriginals {
  const g = globalThis as Record<symbol, NetOriginals | undefined>;
  const key = Symbol.for('mptcp.net.originals');
  g[key] ??= {
    /* eslint-disable @typescript-eslint/unbound-method -- called with .call/.apply */
    connect: netModule.Socket.prototype.connect as SocketConnect,
    listen: netModule.Server.prototype.listen as ServerListen,
    /* eslint-enable @typescript-eslint/unbound-method */
    createServerHandle: (netModule as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle,
  };
  return g[key];
}

// ------------------------------------------------ what net remembers ----

/** A symbol-keyed field net keeps on the socket, found by its description ('kSetNoDelay', ...). */
function netSymbol(socket: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(socket).find((s) => s.description === description);
}

/** The socket's stream handle (net's `_handle`), or null: which handle a connect under way belongs to. */
export function socketHandle(socket: net.Socket): unknown {
  return (socket as net.Socket & { _handle?: unknown })._handle ?? null;
}

interface OptionHandle {
  setNoDelay?(on: boolean): number;
  setKeepAlive?(on: boolean, delaySecs: number, interval?: number, count?: number): number;
  setTypeOfService?(tos: number): number;
}

/**
 * Applies to the socket's (new) descriptor what net applies after a connect
 * of its own (afterConnect), from what it keeps on the socket, given to the
 * constructor or by setNoDelay/setKeepAlive/setTypeOfService while
 * connecting: `kSetNoDelay`; `kSetKeepAlive` with `kSetKeepAliveInitialDelay`
 * and, in Node 24+, `kSetKeepAliveInterval` and `kSetKeepAliveCount`;
 * `kSetTOS` (Node 24+). Returns the errno (negative) net would report as
 * 'error' for the type of service, else 0.
 */
export function reapplyStreamOptions(socket: net.Socket): number {
  const s = socket as unknown as Record<symbol, unknown> & { _handle?: OptionHandle | null };
  const h = s._handle;
  if (!h) return 0;
  const value = (name: string): unknown => {
    const sym = netSymbol(s, name);
    return sym ? s[sym] : undefined;
  };
  if (value('kSetNoDelay') === true) h.setNoDelay?.(true);
  if (value('kSetKeepAlive') === true) {
    const interval = value('kSetKeepAliveInterval');
    const count = value('kSetKeepAliveCount');
    const delay = Number(value('kSetKeepAliveInitialDelay')) || 0;
    if (interval !== undefined || count !== undefined) h.setKeepAlive?.(true, delay, interval as number, count as number);
    else h.setKeepAlive?.(true, delay);
  }
  const tos = value('kSetTOS');
  if (tos !== undefined && h.setTypeOfService) {
    const err = h.setTypeOfService(tos as number);
    if (err && err !== -os.errno.EBADF) return err;
  }
  return 0;
}

/** `socket._host`: the name net connected to (tls.connect's default servername for a socket it is given). */
export function connectHost(socket: net.Socket): unknown {
  return (socket as net.Socket & { _host?: unknown })._host;
}

export function setConnectHost(socket: net.Socket, host: unknown): void {
  (socket as net.Socket & { _host?: unknown })._host = host;
}

// ------------------------------------------------------------ cluster ----

/**
 * In a cluster worker whose server listens on a listener of its own (not
 * through the primary): tells the primary, as net's cluster path does once
 * the primary's handle listens, so that `worker.on('listening')` and
 * `cluster.on('listening')` fire there. The message is cluster's own
 * internal one ({ cmd: 'NODE_CLUSTER', act: 'listening', ... }).
 */
export function announceListening(server: net.Server, send: ((message: unknown) => boolean) | undefined): void {
  const a = server.address();
  if (!send || !a || typeof a === 'string') return;
  send({ cmd: 'NODE_CLUSTER', act: 'listening', addressType: a.family === 'IPv6' ? 6 : 4, address: a.address, port: a.port, seq: 0 });
}
