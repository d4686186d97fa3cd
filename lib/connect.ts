// connect() / createConnection(): a genuine net.Socket, returned
// synchronously, whose descriptor is an MPTCP socket made by the addon.
//
// Node creates a plain TCP socket whenever it makes a handle itself (Happy
// Eyeballs' next attempt, a handle without a descriptor), so the library
// never lets it. An IP literal or a name with one address: net's own
// connect on a handle opened on an MPTCP descriptor of the address's
// family (for a name, the library's lookup sees the answer first). Several
// addresses, or a local address: each is tried with a descriptor of its own
// family, connected natively (non-blocking connect(2), completion from a
// uv_poll on Node's loop), and the winner is put under the returned
// socket's handle before the socket is told it is connected. From then on
// all I/O runs on Node's own libuv handle.
import * as diagnosticsChannel from 'node:diagnostics_channel';
import * as dns from 'node:dns';
import * as net from 'node:net';
import { constants as os } from 'node:os';
import { checkSocketOptions, connectSpec, normalizeArgs, type Callback, type ConnectSpec, type LookupFunction } from './args';
import { attemptMultiple, attemptSingle, connectingNatively, holdName, localDetails, track, type Address, type Plan } from './attempts';
import { getBinding } from './binding';
import type { NativeBinding } from '../types/binding';
import { errInvalidAddressFamily, errInvalidIpAddress, errMissingArgs, exceptionWithHostPort } from './errors';
import {
  attemptedAddresses, bareTcpHandle, connectHost, handleFd, learnTcpHandleClass, learnTcpHandleClassFrom, netOriginals, setConnectHost, socketHandle,
  setConnecting, tcpHandleOn, type TcpHandle,
} from './node-internals';
import { warnUnavailable } from './scope';
import { openStream, reasonForErrno, reasonWithoutAddon, refusalError, validateMode, type MptcpMode, type OpenedSocket } from './policy';

/** Options of {@link connect}: those of `net.connect` for TCP, plus `mptcp`. */
export interface ConnectOptions extends net.TcpSocketConnectOpts {
  /** `true` (default) prefers MPTCP and falls back to TCP; `'require'` fails instead; `false` is plain TCP. */
  mptcp?: MptcpMode;
  /** Idle timeout set with `socket.setTimeout()` at creation, as `net.connect` does. */
  timeout?: number;
  /** Keep the writable side open after the peer ends, as in `net.connect`. */
  allowHalfOpen?: boolean;
  /** Aborting it destroys the socket with an AbortError, as in `net.connect`. */
  signal?: AbortSignal;
  /** Read into a buffer of your own instead of 'data' events, as in `net.connect`. */
  onread?: net.OnReadOpts;
}

/**
 * Opens a Multipath TCP connection. Same call forms, options, events and
 * errors as `net.connect` for TCP (`(port[, host][, cb])` or
 * `(options[, cb])`), plus the `mptcp` option. Returns a genuine `net.Socket` (of
 * the library's subclass, whose connect() is MPTCP too)
 * synchronously; writes made before `'connect'` are buffered. Every address
 * tried (hostnames, both families, `autoSelectFamily`, `localAddress`) uses
 * an MPTCP socket; plain TCP is used only when the kernel refuses MPTCP and
 * `mptcp` is not `'require'`. A `path` (IPC) goes to `net.connect` unchanged.
 *
 * @example
 * const socket = mptcp.connect(8080, 'example.test', () => {
 *   console.log('MPTCP negotiated:', mptcp.isMptcp(socket));
 * });
 */
export function connect(options: ConnectOptions, connectionListener?: () => void): net.Socket;
export function connect(port: number | string, host?: string, connectionListener?: () => void): net.Socket;
export function connect(port: number | string, connectionListener?: () => void): net.Socket;
export function connect(...args: unknown[]): net.Socket {
  // The options form, as normalizeArgs reads it, without its tuple.
  const arg0 = args[0];
  let options: Record<string, unknown>;
  let cb: Callback | null;
  if (arg0 !== null && typeof arg0 === 'object') {
    options = arg0 as Record<string, unknown>;
    const last = args[args.length - 1];
    cb = typeof last === 'function' ? (last as Callback) : null;
  } else {
    [options, cb] = normalizeArgs(args);
  }
  if ((options.path !== undefined && options.path !== null && options.path !== '') || options.fd !== undefined) {
    // IPC, or a descriptor the caller already has: net's, unchanged.
    return net.connect(...(args as Parameters<typeof net.connect>));
  }
  // An IP literal in a mode that can make MPTCP sockets: net.connect's own
  // steps on an MPTCP descriptor (connectLiteral), which validate as net does.
  const host = options.host;
  const mptcp = options.mptcp;
  if ((host === undefined || typeof host === 'string') && options.port !== undefined && (mptcp === undefined || mptcp === true || mptcp === 'require')) {
    const literal = typeof host === 'string' ? literalFamily(host) : 0;
    const b = getBinding();
    if (b && literal !== 0) {
      const socket = connectLiteral(b, options, cb, mptcp ?? true, literal as 4 | 6);
      if (socket) return socket;
    } else if (b && !options.localAddress && !options.localPort && (options.lookup == null || typeof options.lookup === 'function')) {
      // A name: net.connect's own steps with a lookup of the library's in front of the caller's (connectName).
      const socket = connectName(b, options, cb, mptcp ?? true);
      if (socket) return socket;
    }
  }
  if (options === args[0]) checkSocketOptions(options); // the positional forms carry none of those options
  if (options.port === undefined && options.path == null) throw errMissingArgs('options', 'port', 'path');
  const mode = validateMode(options.mptcp, 'options.mptcp');
  const b = getBinding();
  if (mode === false || !b) {
    if (mode === 'require') return refuseWithoutAddon(options, cb);
    if (mode !== false) warnUnavailable();
    const { mptcp: _ignored, ...rest } = options;
    return net.connect(rest as unknown as net.NetConnectOpts, cb ?? undefined);
  }
  return connectNative(b, options, cb, mode);
}

/**
 * net.isIP, remembered for the last text asked about: net's check is two
 * regular expressions, and a client asks about the same text again and
 * again. One per kind of text, so that they do not evict each other:
 * literalFamily for connect()'s host, answerFamily for a lookup's address
 * (a name answers with the same address again and again).
 */
const isIP = net.isIP;
function rememberedIsIP(): (text: string) => number {
  let last = '';
  let family = 0;
  return (text) => {
    if (text !== last) {
      family = isIP(text);
      last = text;
    }
    return family;
  };
}
const literalFamily = rememberedIsIP();
const answerFamily = rememberedIsIP();

/**
 * An IP literal: net.connect's own steps (net's Socket constructor with the
 * caller's options, setTimeout, net's connect, which validates, connects
 * and reports as for any socket of its own) on a handle opened on an MPTCP
 * descriptor of the literal's family, so nothing but the socket(2) differs
 * from a plain net.connect. Null when no descriptor could be made: the
 * general path then reports why (refusal in 'require' mode, EMFILE).
 */
function connectLiteral(b: NativeBinding, options: Record<string, unknown>, cb: Callback | null, mode: MptcpMode, family: 4 | 6): net.Socket | null {
  const socket = socketFor(b, options, mode, family);
  return socket && netConnectOn(socket, options, options.timeout, cb);
}

/**
 * The returned socket of connectLiteral and connectName: the library's
 * Socket, built from a copy of the caller's options (as net's constructor
 * takes them, over ctorBase()), on a TCP handle opened on an MPTCP descriptor
 * of `family`. The copy is made before the descriptor, so that a throwing
 * getter leaves nothing open. Null when no descriptor could be made.
 */
function socketFor(b: NativeBinding, options: Record<string, unknown>, mode: MptcpMode, family: 4 | 6): Socket | null {
  const ctor: Record<string, unknown> = Object.assign(ctorBase(), options);
  ctor.manualStart = true;
  // net.connect builds its socket with no handle, so pauseOnCreate does
  // nothing there; with the handle given here it would stop reading.
  if (ctor.pauseOnCreate !== undefined) delete ctor.pauseOnCreate;
  const opened = openStream(b, family, mode);
  if (opened.fd < 0) return null;
  const socket = socketOnFd(b, opened.fd, ctor); // releases the descriptor if it throws
  connectOverMptcp(socket, mode);
  publishClientSocket(socket);
  return socket;
}

/**
 * Node 20's net.connect publishes each socket it makes on the
 * 'net.client.socket' diagnostics channel, before connecting it; from
 * Node 22 net's Socket#connect does, which the library's literal and name
 * paths call. So on Node 20 the library publishes its sockets itself.
 */
const clientSocketChannel = Number(process.versions.node.split('.')[0]) < 22 ? diagnosticsChannel.channel('net.client.socket') : null;
function publishClientSocket(socket: net.Socket): void {
  if (clientSocketChannel?.hasSubscribers) clientSocketChannel.publish({ socket });
}

/** net's own connect on `socket` (the timeout set first, as net.connect does); the socket is destroyed if either throws. */
function netConnectOn(socket: Socket, connectOptions: Record<string, unknown>, timeout: unknown, cb: Callback | null): Socket {
  try {
    if (timeout) socket.setTimeout(timeout as number);
    if (cb) netConnect.call(socket, connectOptions, cb);
    else netConnect.call(socket, connectOptions);
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return socket;
}

/**
 * A name: net.connect's own steps (net's lookup, events, errors and
 * connect on the socket's handle), on a handle opened on an MPTCP
 * descriptor of the likely family, with a lookup of the library's in front
 * of the caller's (or dns.lookup), which sees the answer before net does:
 *   - one address to connect to (net's count: valid and distinct) of the
 *     descriptor's family: net connects it, as for an IP literal;
 *   - one of the other family: an MPTCP descriptor of that family goes
 *     under the handle first (dup3; the handle has not polled it yet);
 *   - several (Happy Eyeballs, where net would open plain TCP handles for
 *     all but the first): net is never called back, and the library tries
 *     them in net's order with native attempts (onLookupAll), the winner
 *     put under the handle.
 * After the first answer has gone to net, later calls of a lookup that
 * calls back twice go to net as they are (net's EALREADY). Null when no
 * descriptor could be made: the general path then reports why.
 */
interface NameConnect {
  b: NativeBinding;
  socket: Socket;
  mode: MptcpMode;
  /** The family of the descriptor under the socket's handle. */
  family: 4 | 6;
  /** The socket's handle for this connect: another one (a destroy, then a new connect) makes its answer stale. */
  handle: unknown;
  /** The options as given at connect() (a copy, with the library's lookup in). */
  options: Record<string, unknown>;
  /** Whether an answer went to net (the descriptor is final then). */
  passed: boolean;
  /** The library's plan, once it took the connect over. */
  plan: Plan | null;
}

function connectName(b: NativeBinding, options: Record<string, unknown>, cb: Callback | null, mode: MptcpMode): net.Socket | null {
  const family = options.family === 6 || options.family === 'IPv6' ? 6 : 4;
  // What net's connect reads: the caller's options (copied before the
  // descriptor, as in socketFor), with this lookup in front of theirs.
  const connectOptions: Record<string, unknown> = Object.assign({}, options);
  const socket = socketFor(b, options, mode, family);
  if (!socket) return null;
  const callerLookup = (options.lookup as LookupFunction | undefined) ?? dns.lookup;
  const via: NameConnect = {
    b, socket, mode, family, handle: socketHandle(socket), options: connectOptions, passed: false, plan: null,
  };
  holdName(socket, via);
  // Called as net calls a lookup: a plain call, no `this`.
  const lookup: LookupFunction = (hostname, dnsopts, callback) => {
    callerLookup(hostname, dnsopts, (err: NodeJS.ErrnoException | null, address: unknown, addressType?: number) => {
      onNameLookup(via, dnsopts, callback as (...r: unknown[]) => void, err, address, addressType);
    });
  };
  connectOptions.lookup = lookup;
  return netConnectOn(socket, connectOptions, options.timeout, cb);
}

function onNameLookup(via: NameConnect, dnsopts: dns.LookupOptions, callback: (...r: unknown[]) => void,
  err: NodeJS.ErrnoException | null, address: unknown, addressType: number | undefined): void {
  // An answer for a connect that was destroyed (and the socket perhaps
  // connected anew since): nobody waits for it any more.
  if (socketHandle(via.socket) !== via.handle) return;
  if (via.plan) {
    // Taken over: a second answer is net's EALREADY while connecting.
    secondLookup(via.plan, Array.isArray(address) ? (address[0] as dns.LookupAddress | undefined)?.address : address);
    return;
  }
  if (!via.passed && !err && via.socket.connecting) {
    let family = 0;
    if (dnsopts.all) {
      const [count, first] = destinations(address as dns.LookupAddress[]);
      if (count > 1) {
        takeOver(via, address as dns.LookupAddress[]);
        return;
      }
      family = first;
    } else if (typeof address === 'string' && answerFamily(address) !== 0 && (addressType === 4 || addressType === 6)) {
      family = addressType;
    }
    if (family !== 0 && family !== via.family && !refamily(via, family as 4 | 6, address, addressType)) return;
  }
  via.passed = true;
  callback(err, address, addressType);
}

/**
 * How many addresses net would try of a lookup's answer, and the family of
 * the first: valid IPs of family 4 or 6, each once per family (net keeps
 * `{ address: '::1', family: 4 }` and `family: 6` as two). The common
 * answer, one address, takes no arrays.
 */
function destinations(list: dns.LookupAddress[]): [number, number] {
  if (!Array.isArray(list)) return [0, 0];
  if (list.length === 1) {
    const a = list[0];
    return isDestination(a) ? [1, a.family] : [0, 0];
  }
  const seen: [string[], string[]] = [[], []];
  let count = 0;
  let family = 0;
  for (let i = 0; i < list.length; i++) {
    const a = list[i];
    if (!isDestination(a)) continue;
    const mine = seen[a.family === 4 ? 0 : 1];
    if (mine.includes(a.address)) continue;
    mine.push(a.address);
    count++;
    if (!family) family = a.family;
  }
  return [count, family];
}

/** Whether net would connect to this entry of a lookup's answer. */
function isDestination(a: dns.LookupAddress | null | undefined): a is dns.LookupAddress {
  return !!a && typeof a.address === 'string' && (a.family === 4 || a.family === 6) && answerFamily(a.address) !== 0;
}

/** Puts an MPTCP descriptor of `family` under the socket's handle in place of the one there; false (socket destroyed) if it cannot. */
function refamily(via: NameConnect, family: 4 | 6, address: unknown, addressType: number | undefined): boolean {
  const { b, socket } = via;
  const where = Array.isArray(address) ? (address as dns.LookupAddress[]).find((a) => a?.family === family)?.address : address;
  const port = Number(via.options.port) || 0;
  const o = openStream(b, family, via.mode);
  if (o.fd < 0) {
    // What net would have emitted for the answer, then the error its connect would have met.
    const host = (via.options.host as string | undefined) || 'localhost';
    if (Array.isArray(address)) for (const a of address as dns.LookupAddress[]) socket.emit('lookup', null, a?.address, a?.family, host);
    else socket.emit('lookup', null, address, addressType, host);
    socket.destroy(o.refused ? refusalError(o.errno, reasonForErrno(o.errno), where as string, port) : exceptionWithHostPort(o.errno, 'connect', where as string, port));
    return false;
  }
  const rc = b.dup3(o.fd, handleFd(socket));
  b.close(o.fd);
  if (rc < 0) {
    socket.destroy(exceptionWithHostPort(-rc, 'connect', where as string, port));
    return false;
  }
  via.family = family;
  return true;
}

/** Several addresses: the library's Happy Eyeballs over native attempts (see connectName). */
function takeOver(via: NameConnect, list: dns.LookupAddress[]): void {
  let spec: ConnectSpec;
  try {
    spec = connectSpec(via.options); // net has validated these options already
  } catch (err) {
    via.socket.destroy(err as Error);
    return;
  }
  const plan: Plan = {
    b: via.b, socket: via.socket, mode: via.mode, port: spec.port, host: spec.host,
    localAddress: undefined, localPort: undefined,
    noDelay: spec.noDelay, keepAlive: spec.keepAlive, keepAliveInitialDelay: spec.keepAliveInitialDelay,
    // The descriptor made up front is under the handle; the winner replaces it there.
    anchorFd: -1, anchorFamily: via.family, current: null, lookedUp: true, done: false,
  };
  via.plan = plan;
  track(plan);
  onLookupAll(plan, null, list, spec.attemptTimeout, via.options);
}

/** Alias of {@link connect}, as in `net`. */
export const createConnection: typeof connect = connect;

function refuseWithoutAddon(options: Record<string, unknown>, cb: Callback | null): net.Socket {
  const socket = new Socket(socketOptions(options));
  connectOverMptcp(socket, 'require');
  publishClientSocket(socket);
  if (cb) socket.once('connect', cb);
  setConnecting(socket, true);
  const reason = reasonWithoutAddon();
  const host = typeof options.host === 'string' ? options.host : 'localhost';
  process.nextTick(() => socket.destroy(refusalError(os.errno.EPROTONOSUPPORT, reason, host, Number(options.port) || undefined)));
  return socket;
}

const kMode = Symbol('mptcp.mode');

/**
 * node:net's Socket whose `connect()` opens a Multipath TCP connection, as
 * connect() does (fallback to TCP when the kernel refuses MPTCP; the `mptcp`
 * connect option). connect() returns instances of it, so that connecting
 * one again (after a destroy, as net allows) is MPTCP too, in the mode it
 * was made with; mptcp/net exports it as `Socket`, callable without `new`,
 * as net's is. Named Socket, as net's: util.inspect shows it so.
 */
class Socket extends net.Socket {
  /** The mode connect() made it with, when not the default (true). */
  declare [kMode]?: MptcpMode;

  override connect(options: net.SocketConnectOpts & { mptcp?: MptcpMode }, connectionListener?: () => void): this;
  override connect(port: number, host: string, connectionListener?: () => void): this;
  override connect(port: number, connectionListener?: () => void): this;
  override connect(path: string, connectionListener?: () => void): this;
  override connect(...args: unknown[]): this {
    connectSocket(this, args, this[kMode] ?? true);
    return this;
  }
}

/** Remembers a socket's mode for its later connects (see Socket#connect). */
function connectOverMptcp(socket: Socket, mode: MptcpMode): void {
  if (mode !== true) socket[kMode] = mode;
}

/**
 * Makes a class callable without `new` (as net's function-style classes
 * are). `new` on the proxy constructs the class itself: with the proxy as
 * new.target, V8 gives every instance a map of its own (it caches the
 * initial map on a function only), which leaves net's and the streams'
 * property loads megamorphic for every such socket (connects 1.5 times as
 * slow).
 */
export function callable<C extends abstract new (...args: never[]) => object>(cls: C): C {
  const proxy: C = new Proxy(cls, {
    apply: (target, _this, args: unknown[]): object => Reflect.construct(target, args) as object,
    construct: (target, args: unknown[], newTarget: unknown): object =>
      Reflect.construct(target, args, newTarget === proxy ? target : (newTarget as C)) as object,
  });
  return proxy;
}

export const MptcpSocket = callable(Socket);
export type MptcpSocket = Socket;

/**
 * The start of every options object the library gives net's Socket
 * constructor: the four properties the constructor sets on its own copy
 * of its options, with the values it sets (it overwrites whatever is given,
 * and makes allowHalfOpen a boolean, so a caller's value copied over this
 * one means the same). The copy is a spread, and on Node 20 (V8 11.3) a
 * property added to a spread copy takes V8's slow path: the four take about
 * 6 µs, and the rest of the constructor, working on that copy, about 14 µs
 * more (a loop of `new net.Socket(options)`: 18 µs per socket, 4.8 with the
 * four present). net.connect pays it on every connect there. Present from
 * the start, they are stores to existing fields. Node 22 and later are
 * fast either way.
 */
function ctorBase(): Record<string, unknown> {
  return { allowHalfOpen: false, emitClose: false, autoDestroy: true, decodeStrings: false };
}

/**
 * Options for the net.Socket constructor, added to `into` (over
 * ctorBase()); noDelay and keepAlive are applied at connect.
 */
function socketOptions(options: Record<string, unknown>, into: Record<string, unknown> = ctorBase()): net.SocketConstructorOpts {
  if (options.allowHalfOpen !== undefined) into.allowHalfOpen = options.allowHalfOpen;
  if (options.signal !== undefined) into.signal = options.signal;
  if (options.onread !== undefined) into.onread = options.onread;
  if (options.readable !== undefined) into.readable = options.readable;
  // As net.connect: the stream's buffer sizes, and the BlockList (Node 22+)
  // the connection is checked against.
  for (const key of ['highWaterMark', 'readableHighWaterMark', 'writableHighWaterMark', 'blockList'] as const) {
    if (options[key] !== undefined) into[key] = options[key];
  }
  if (options.writable !== undefined) into.writable = options.writable;
  return into;
}

/**
 * A net.Socket on `fd` with the constructor options `ctor` (which should ask
 * for manualStart: not reading yet; it gets `handle` or `fd`). The first one is made
 * with `{ fd }`, which lets net identify the descriptor (guessHandleType:
 * three syscalls); later ones wrap the descriptor in a TCP handle of the
 * class net used then, and skip that probing, since the addon made the
 * descriptor and knows it is a TCP stream socket. If the constructor
 * throws (an invalid option), the descriptor is released before rethrowing.
 */
function socketOnFd(b: NativeBinding, fd: number, ctor: Record<string, unknown>): Socket {
  const handle = tcpHandleOn(fd);
  if (handle) {
    ctor.handle = handle;
    try {
      return new Socket(ctor);
    } catch (err) {
      handle.close(); // the handle owns the descriptor now, and closes it
      throw err;
    }
  }
  ctor.fd = fd;
  let socket: Socket;
  try {
    socket = new Socket(ctor);
  } catch (err) {
    b.close(fd);
    throw err;
  }
  learnTcpHandleClass(socket);
  return socket;
}

/** The likely family of the connection: that of an IP literal, else the one asked for, else IPv4. */
function guessFamily(spec: ConnectSpec): 4 | 6 {
  return spec.ipFamily === 6 || (spec.ipFamily === 0 && spec.family === 6) ? 6 : 4;
}

function connectNative(b: NativeBinding, options: Record<string, unknown>, cb: Callback | null, mode: MptcpMode): net.Socket {
  const spec = connectSpec(options);
  const guess = guessFamily(spec);

  // A descriptor of the likely family, made now (a refusal shows at once);
  // the plan holds it for the first attempt of that family. The returned
  // socket's handle has none until a connection is opened under it.
  const opened = openStream(b, guess, mode);
  const bare = bareHandle(b);
  let socket: Socket;
  try {
    const into = ctorBase();
    if (bare.handle) {
      into.handle = bare.handle;
      into.manualStart = true;
    }
    socket = new Socket(socketOptions(options, into));
  } catch (err) {
    bare.handle?.close();
    if (opened.fd >= 0) b.close(opened.fd);
    throw err;
  }
  connectOverMptcp(socket, mode);
  publishClientSocket(socket);
  if (options.timeout) {
    try {
      socket.setTimeout(options.timeout as number);
    } catch (err) {
      if (opened.fd >= 0) b.close(opened.fd);
      socket.destroy();
      throw err;
    }
  }
  if (!bare.handle) {
    // No TCP handle to give the socket (the throwaway socket that teaches
    // its class could not be made: EMFILE and the like).
    if (opened.fd >= 0) b.close(opened.fd);
    if (cb) socket.once('connect', cb);
    setConnecting(socket, true);
    process.nextTick(() => socket.destroy(exceptionWithHostPort(bare.errno, 'socket', spec.host, spec.port)));
    return socket;
  }
  return startPlan(b, socket, opened, spec, options, cb, mode);
}

/**
 * A TCP handle of net's class with no descriptor yet. Its class is learned
 * once from a throwaway plain TCP socket if no connect has taught it yet.
 */
function bareHandle(b: NativeBinding): { handle: TcpHandle | null; errno: number } {
  let handle = bareTcpHandle();
  if (handle) return { handle, errno: 0 };
  const fd = b.socket(4, b.constants.IPPROTO_TCP);
  if (fd < 0) return { handle: null, errno: -fd };
  learnTcpHandleClassFrom(net.Socket, fd); // the throwaway owns and closes the descriptor
  handle = bareTcpHandle();
  return handle ? { handle, errno: 0 } : { handle: null, errno: os.errno.EBADF };
}

function startPlan(b: NativeBinding, socket: net.Socket, opened: OpenedSocket, spec: ConnectSpec,
  options: Record<string, unknown>, cb: Callback | null, mode: MptcpMode): net.Socket {
  if (cb) socket.once('connect', cb);
  setConnecting(socket, true);
  const guess = guessFamily(spec);
  // As net: the name connected to, which tls.connect({ socket }) verifies the certificate against.
  if (!net.isIP(spec.host)) setConnectHost(socket, spec.host);

  const plan: Plan = {
    b, socket, mode, port: spec.port, host: spec.host,
    localAddress: spec.localAddress, localPort: spec.localPort,
    noDelay: spec.noDelay, keepAlive: spec.keepAlive, keepAliveInitialDelay: spec.keepAliveInitialDelay,
    anchorFd: opened.fd, anchorFamily: guess, current: null, lookedUp: false, done: false,
  };
  track(plan);
  try {
    return begin(plan, opened, spec, options);
  } catch (err) {
    // A synchronous throw (a lookup rejecting its options): release the descriptor.
    socket.destroy();
    throw err;
  }
}

function begin(plan: Plan, opened: OpenedSocket, spec: ConnectSpec, options: Record<string, unknown>): net.Socket {
  const { socket, host, localAddress } = plan;
  const { ipFamily, autoSelectFamily, attemptTimeout } = spec;

  if (opened.fd < 0) {
    const err = opened.refused
      ? refusalError(opened.errno, reasonForErrno(opened.errno), host, plan.port)
      : exceptionWithHostPort(opened.errno, 'connect', host, plan.port);
    process.nextTick(() => socket.destroy(err));
    return socket;
  }

  if (ipFamily) {
    attemptSingle(plan, { address: host, family: ipFamily as 4 | 6 });
    return socket;
  }

  const dnsopts: dns.LookupOptions = { family: spec.family as number, hints: spec.hints };
  if (dnsopts.family !== 4 && dnsopts.family !== 6 && dnsopts.hints === 0) dnsopts.hints = dns.ADDRCONFIG;
  const lookup: LookupFunction = spec.lookup ?? dns.lookup;

  if (dnsopts.family !== 4 && dnsopts.family !== 6 && !localAddress && autoSelectFamily) {
    dnsopts.all = true;
    lookup(host, dnsopts, ((err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => {
      if (secondLookup(plan, addresses?.[0]?.address)) return;
      onLookupAll(plan, err, addresses, attemptTimeout, options);
    }) as unknown as Parameters<LookupFunction>[2]);
    return socket;
  }

  lookup(host, dnsopts, ((err: NodeJS.ErrnoException | null, ip: string, addressType: number) => {
    if (secondLookup(plan, ip)) return;
    socket.emit('lookup', err, ip, addressType, host);
    if (!socket.connecting) return;
    if (err) {
      process.nextTick(() => socket.destroy(err));
    } else if (!net.isIP(ip)) {
      process.nextTick(() => socket.destroy(errInvalidIpAddress(ip)));
    } else if (addressType !== 4 && addressType !== 6) {
      process.nextTick(() => socket.destroy(errInvalidAddressFamily(addressType, options.host, options.port)));
    } else {
      attemptSingle(plan, { address: ip, family: addressType });
    }
  }) as Parameters<LookupFunction>[2]);
  return socket;
}

/**
 * A lookup function that calls back more than once: as with net, the socket
 * fails with EALREADY if it is still connecting, and the call is ignored
 * otherwise. Returns true for such a repeated call.
 */
function secondLookup(plan: Plan, address: unknown): boolean {
  if (!plan.lookedUp) {
    plan.lookedUp = true;
    return false;
  }
  if (plan.socket.connecting && !plan.socket.destroyed) {
    const where = typeof address === 'string' && net.isIP(address) ? address : plan.host;
    plan.socket.destroy(exceptionWithHostPort(os.errno.EALREADY, 'connect', where, plan.port, localDetails(plan)));
  }
  return true;
}

function onLookupAll(plan: Plan, err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[], timeout: number, options: Record<string, unknown>): void {
  const { socket, host } = plan;
  if (!socket.connecting) return;
  if (err) {
    socket.emit('lookup', err, undefined, undefined, host);
    process.nextTick(() => socket.destroy(err));
    return;
  }
  // Order as net does: the first valid address's family leads, families alternate.
  const groups: Address[][] = [[], []];
  let order: Record<number, number> | undefined;
  for (const { address, family } of addresses) {
    socket.emit('lookup', err, address, family, host);
    if (!socket.connecting) return;
    if (net.isIP(address) && (family === 4 || family === 6)) {
      order ??= family === 6 ? { 6: 0, 4: 1 } : { 4: 0, 6: 1 };
      const g = groups[order[family]];
      if (!g.some((a) => a.address === address)) g.push({ address, family });
    }
  }
  if (!groups[0].length && !groups[1].length) {
    const first = addresses[0];
    if (!first || !net.isIP(first.address)) process.nextTick(() => socket.destroy(errInvalidIpAddress(first?.address)));
    else process.nextTick(() => socket.destroy(errInvalidAddressFamily(first.family, options.host, options.port)));
    return;
  }
  const toAttempt: Address[] = [];
  for (let i = 0; i < Math.max(groups[0].length, groups[1].length); i++) {
    if (i < groups[0].length) toAttempt.push(groups[0][i]);
    if (i < groups[1].length) toAttempt.push(groups[1][i]);
  }
  if (toAttempt.length === 1) {
    attemptSingle(plan, toAttempt[0]);
    return;
  }
  attemptedAddresses(socket, true);
  attemptMultiple(plan, toAttempt, 0, timeout, []);
}


// ------------------------------------------- an existing net.Socket ----

type SocketConnect = (this: net.Socket, ...args: unknown[]) => net.Socket;

/** net's own Socket#connect (before the switch wraps it). */
const netConnect: SocketConnect = netOriginals(net).connect;

/** net.connect() passes `socket.connect()` its already normalized [options, cb], marked by a symbol of net's. */
function normalizedByNet(arg: unknown): arg is [Record<string, unknown>, Callback | null] {
  return Array.isArray(arg) && Object.getOwnPropertySymbols(arg).length > 0 && arg[0] !== null && typeof arg[0] === 'object';
}

/** A lookup that never calls back: net's connect() prepares the socket, then waits on it for ever. */
const neverLookup = (): void => { /* the library connects the socket itself */ };

/**
 * `socket.connect(...)` over MPTCP for a socket someone else built (`new
 * net.Socket()`, a `tls.TLSSocket`, net.connect's own): what the switch's
 * client scope and mptcp/net's Socket call instead of net's. IPC paths, sockets that already have a
 * descriptor (`{ fd }`, `{ handle }`), a TLS socket whose wrapped socket is
 * still connecting, and mode `false` go to net unchanged.
 *
 * net first prepares the socket exactly as for a connect of its own (a TCP
 * handle, or TLS's wrapped one, the stream reset after a destroy, the
 * 'net.client.socket' diagnostics channel) for a name whose lookup never
 * answers; the handle is then opened on an MPTCP descriptor and connected
 * as connect() connects (lookups, both families, Happy Eyeballs).
 */
export function connectSocket(socket: net.Socket, args: unknown[], defaultMode: MptcpMode): net.Socket {
  const [options, cb] = normalizedByNet(args[0]) ? args[0] : normalizeArgs(args);
  if (connectingNatively(socket)) {
    // As net, whose second connect(2) on a connecting socket fails; the
    // library's attempt under way is cancelled by the destroy.
    if (cb) socket.once('connect', cb);
    const host = typeof options.host === 'string' && options.host ? options.host : 'localhost';
    process.nextTick(() => socket.destroy(exceptionWithHostPort(os.errno.EALREADY, 'connect', host, Number(options.port) || undefined)));
    return socket;
  }
  const isPath = options.path !== undefined && options.path !== null && options.path !== '';
  const parent = (socket as net.Socket & { _parent?: { connecting?: boolean } | null })._parent;
  if (isPath || options.port === undefined || parent?.connecting || (!socket.destroyed && handleFd(socket) >= 0)) {
    return netConnect.apply(socket, args);
  }
  const mode = validateMode(options.mptcp ?? defaultMode, 'options.mptcp');
  const b = getBinding();
  if (mode === false || (!b && mode !== 'require')) {
    if (mode !== false) warnUnavailable();
    return netConnect.apply(socket, args);
  }
  const spec = connectSpec(options);
  const host = connectHost(socket);
  netConnect.call(socket, { port: spec.port, host: 'mptcp.invalid', lookup: neverLookup, family: 4, autoSelectFamily: false });
  setConnectHost(socket, host); // startPlan sets it for a name, as net does
  if (!b) {
    if (cb) socket.once('connect', cb);
    process.nextTick(() => socket.destroy(refusalError(os.errno.EPROTONOSUPPORT, reasonWithoutAddon(), spec.host, spec.port)));
    return socket;
  }
  // net has given the socket a TCP handle with no descriptor yet; the plan
  // holds the one made now until an attempt takes it, as for connect().
  const opened = openStream(b, guessFamily(spec), mode);
  return startPlan(b, socket, opened, spec, options, cb, mode);
}
