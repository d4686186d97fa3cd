// connect() / createConnection(): a genuine net.Socket, returned
// synchronously, whose descriptor is an MPTCP socket made by the addon.
//
// Node creates a plain TCP socket whenever it makes a handle itself (a name
// resolved later, Happy Eyeballs' next attempt), so the library never lets
// it: names are resolved here (honouring `lookup`, `family`, `hints`), each
// address is tried with a descriptor of its own family, connected natively
// (non-blocking connect(2), completion from a uv_poll on Node's loop), and
// the winner is moved onto the descriptor the returned socket's handle was
// opened on (dup3(2)) before the socket is told it is connected. From then on
// all I/O runs on Node's own libuv handle.
import * as dns from 'node:dns';
import * as net from 'node:net';
import { constants as os } from 'node:os';
import { getBinding } from './binding';
import type { NativeAttempt, NativeBinding } from '../types/binding';
import {
  errInvalidAddressFamily,
  errInvalidArgType,
  errInvalidIpAddress,
  errMissingArgs,
  errOutOfRange,
  errSocketBadPort,
  errSocketConnectionTimeout,
  exceptionWithHostPort,
  type SystemError,
} from './errors';
import { openStream, reasonForErrno, reasonWithoutAddon, refusalError, validateMode, type MptcpMode, type OpenedSocket } from './policy';

/** Options of {@link connect}: those of `net.connect` for TCP, plus `mptcp`. */
export interface ConnectOptions extends net.TcpSocketConnectOpts {
  /** `true` (default) prefers MPTCP and falls back to TCP; `'require'` fails instead; `false` is plain TCP. */
  mptcp?: MptcpMode;
  /** Idle timeout set with `socket.setTimeout()` at creation, as `net.connect` does. */
  timeout?: number;
  allowHalfOpen?: boolean;
  signal?: AbortSignal;
  onread?: net.OnReadOpts;
}

type LookupFn = NonNullable<net.TcpSocketConnectOpts['lookup']>;
interface Address { address: string; family: 4 | 6 }

const kIpv4Default = '0.0.0.0';
const kIpv6Default = '::';

function toNumber(x: unknown): number | false {
  const n = Number(x);
  return n >= 0 ? n : false;
}

/** net's normalizeArgs for the connect forms. */
function normalizeArgs(args: unknown[]): [Record<string, unknown>, ((...a: unknown[]) => void) | null] {
  if (args.length === 0) return [{}, null];
  const arg0 = args[0];
  let options: Record<string, unknown> = {};
  if (arg0 !== null && typeof arg0 === 'object') {
    options = arg0 as Record<string, unknown>;
  } else if (typeof arg0 === 'string' && toNumber(arg0) === false) {
    options.path = arg0;
  } else {
    options.port = arg0;
    if (args.length > 1 && typeof args[1] === 'string') options.host = args[1];
  }
  const last = args[args.length - 1];
  return [options, typeof last === 'function' ? (last as (...a: unknown[]) => void) : null];
}

function validatePort(port: unknown, name = 'Port'): number {
  if ((typeof port !== 'number' && typeof port !== 'string') ||
      (typeof port === 'string' && port.trim().length === 0) ||
      +port !== (+port >>> 0) || +port > 0xffff) {
    throw errSocketBadPort(name, port);
  }
  return +port | 0;
}

function socketToDnsFamily(family: unknown): unknown {
  if (family === 'IPv4') return 4;
  if (family === 'IPv6') return 6;
  return family;
}

interface Plan {
  b: NativeBinding;
  socket: net.Socket;
  mode: MptcpMode;
  port: number;
  host: string;
  localAddress?: string;
  localPort?: number;
  noDelay: boolean;
  keepAlive: boolean;
  keepAliveInitialDelay: number;
  /**
   * The family of the descriptor the socket's handle was opened on (owned by
   * that handle; native attempts never use it, they own descriptors of their
   * own and the winner is moved onto the handle's).
   */
  anchorFamily: 4 | 6;
  /** Whether net itself has been asked to connect the handle's descriptor. */
  anchorUsed: boolean;
  /** The attempt under way. */
  current: { native: NativeAttempt; timer: NodeJS.Timeout | null } | null;
  /** Whether the lookup has called back (a second call is net's EALREADY). */
  lookedUp: boolean;
  done: boolean;
  /** Whether destroy() has been hooked to cancel native attempts (only once one starts). */
  hooked: boolean;
}

/**
 * Opens a Multipath TCP connection. Same call forms, options, events and
 * errors as `net.connect` for TCP (`(port[, host][, cb])` or
 * `(options[, cb])`), plus the `mptcp` option. Returns a genuine `net.Socket`
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
  const [options, cb] = normalizeArgs(args);
  if ((options.path !== undefined && options.path !== null && options.path !== '') || options.fd !== undefined) {
    // IPC, or a descriptor the caller already has: net's, unchanged.
    return net.connect(...(args as Parameters<typeof net.connect>));
  }
  validateAsNet(options);
  if (options.port === undefined && options.path == null) throw errMissingArgs('options', 'port', 'path');
  const mode = validateMode(options.mptcp, 'options.mptcp');
  const b = getBinding();
  if (mode === false || !b) {
    if (mode === 'require') return refuseWithoutAddon(options, cb);
    const { mptcp: _ignored, ...rest } = options;
    return net.connect(rest as unknown as net.NetConnectOpts, cb ?? undefined);
  }
  return connectNative(b, options, cb, mode);
}

/** Options that net.connect checks first, in its Socket constructor and setTimeout(). */
const kCheckedFirst = ['signal', 'timeout', 'keepAliveInitialDelay', 'objectMode', 'readableObjectMode', 'writableObjectMode',
  'highWaterMark', 'readableHighWaterMark', 'writableHighWaterMark', 'onread', 'readable', 'writable', 'allowHalfOpen'] as const;

/**
 * Validates what net.connect validates before anything else, with net's own
 * code, so the same mistakes throw the same errors in the same order: a
 * handle-less net.Socket is built from those options (and given the
 * timeout), then dropped. Only when one of them is present: the common call
 * pays nothing.
 */
function validateAsNet(options: Record<string, unknown>): void {
  let probe: Record<string, unknown> | null = null;
  for (const key of kCheckedFirst) {
    if (options[key] !== undefined) (probe ??= {})[key] = options[key];
  }
  if (!probe) return;
  const timeout = probe.timeout;
  delete probe.timeout;
  const socket = new net.Socket(probe);
  socket.on('error', () => { /* an already aborted signal destroys the probe with an AbortError */ });
  try {
    if (timeout) socket.setTimeout(timeout as number);
  } finally {
    socket.destroy();
  }
}

/** Alias of {@link connect}, as in `net`. */
export const createConnection: typeof connect = connect;

function refuseWithoutAddon(options: Record<string, unknown>, cb: ((...a: unknown[]) => void) | null): net.Socket {
  const socket = new net.Socket(socketOptions(options));
  if (cb) socket.once('connect', cb);
  setConnecting(socket, true);
  const reason = reasonWithoutAddon();
  const host = typeof options.host === 'string' ? options.host : 'localhost';
  process.nextTick(() => socket.destroy(refusalError(os.errno.EPROTONOSUPPORT, reason, host, Number(options.port) || undefined)));
  return socket;
}

/** net.Socket#connecting is read-only in the typings but a plain field at run time. */
function setConnecting(socket: net.Socket, value: boolean): void {
  (socket as { connecting: boolean }).connecting = value;
}

/**
 * Options for the net.Socket constructor, added to `into`; noDelay and
 * keepAlive are applied at connect.
 */
function socketOptions(options: Record<string, unknown>, into: Record<string, unknown> = {}): net.SocketConstructorOpts {
  if (options.allowHalfOpen !== undefined) into.allowHalfOpen = options.allowHalfOpen;
  if (options.signal !== undefined) into.signal = options.signal;
  if (options.onread !== undefined) into.onread = options.onread;
  if (options.readable !== undefined) into.readable = options.readable;
  if (options.writable !== undefined) into.writable = options.writable;
  return into;
}

/** The part of Node's TCP handle class used here. */
interface TcpHandle { open(fd: number): number; close(): void }
type TcpHandleClass = new (type: number) => TcpHandle;

/** Node's TCP handle class, learned from the first socket net opens on a descriptor. */
let tcpHandleClass: TcpHandleClass | null = null;
/** tcp_wrap's TCPConstants.SOCKET (a client stream, not a listener). */
const kTcpSocketType = 0;

/**
 * A net.Socket on `fd`, not yet reading (manualStart). The first one is made
 * with `{ fd }`, which lets net identify the descriptor (guessHandleType:
 * three syscalls); later ones wrap the descriptor in a TCP handle of the
 * class net used then, and skip that probing, since the addon made the
 * descriptor and knows it is a TCP stream socket. If the constructor
 * throws (an invalid option), the descriptor is released before rethrowing.
 */
function socketOnFd(b: NativeBinding, fd: number, options: Record<string, unknown>): net.Socket {
  if (tcpHandleClass) {
    const handle = new tcpHandleClass(kTcpSocketType);
    if (handle.open(fd) === 0) {
      try {
        return new net.Socket(socketOptions(options, { handle, manualStart: true }));
      } catch (err) {
        handle.close(); // the handle owns the descriptor now, and closes it
        throw err;
      }
    }
    handle.close();
  }
  let socket: net.Socket;
  try {
    socket = new net.Socket(socketOptions(options, { fd, manualStart: true }));
  } catch (err) {
    b.close(fd);
    throw err;
  }
  const ctor = (socket as net.Socket & { _handle?: { constructor?: unknown } })._handle?.constructor;
  if (typeof ctor === 'function' && ctor.name === 'TCP') tcpHandleClass = ctor as TcpHandleClass;
  return socket;
}

function connectNative(b: NativeBinding, options: Record<string, unknown>, cb: ((...a: unknown[]) => void) | null, mode: MptcpMode): net.Socket {
  // Validation, in net's order (lookupAndConnect).
  const localAddress = options.localAddress as string | undefined;
  const localPort = options.localPort as number | undefined;
  if (localAddress && !net.isIP(localAddress)) throw errInvalidIpAddress(localAddress);
  if (localPort) {
    if (typeof localPort !== 'number') throw errInvalidArgType('options.localPort', ['number'], localPort);
  }
  let port = options.port;
  if (typeof port !== 'undefined') {
    if (typeof port !== 'number' && typeof port !== 'string') throw errInvalidArgType('options.port', ['number', 'string'], port);
    validatePort(port);
  }
  port = (port as number) | 0;
  let autoSelectFamily = options.autoSelectFamily;
  if (autoSelectFamily != null) {
    if (typeof autoSelectFamily !== 'boolean') throw errInvalidArgType('options.autoSelectFamily', ['boolean'], autoSelectFamily);
  } else {
    autoSelectFamily = net.getDefaultAutoSelectFamily();
  }
  let attemptTimeout = options.autoSelectFamilyAttemptTimeout as number | undefined;
  if (attemptTimeout != null) {
    if (typeof attemptTimeout !== 'number') throw errInvalidArgType('options.autoSelectFamilyAttemptTimeout', ['number'], attemptTimeout);
    if (!Number.isInteger(attemptTimeout)) throw errOutOfRange('options.autoSelectFamilyAttemptTimeout', 'an integer', attemptTimeout);
    if (attemptTimeout < 1 || attemptTimeout > 2147483647) throw errOutOfRange('options.autoSelectFamilyAttemptTimeout', '>= 1 && <= 2147483647', attemptTimeout);
    if (attemptTimeout < 10) attemptTimeout = 10;
  } else {
    attemptTimeout = net.getDefaultAutoSelectFamilyAttemptTimeout();
  }
  if (options.keepAliveInitialDelay !== undefined && typeof options.keepAliveInitialDelay !== 'number') {
    throw errInvalidArgType('options.keepAliveInitialDelay', ['number'], options.keepAliveInitialDelay);
  }
  const host = (options.host as string) || 'localhost';
  const ipFamily = net.isIP(host);
  // As net: the lookup function only matters (and is only checked) for a name.
  if (!ipFamily && options.lookup != null && typeof options.lookup !== 'function') throw errInvalidArgType('options.lookup', ['function'], options.lookup);
  const wantFamily = socketToDnsFamily(options.family);
  const guess: 4 | 6 = ipFamily === 6 || (ipFamily === 0 && wantFamily === 6) ? 6 : 4;

  // The descriptor the returned socket is built on: the real one for an IP
  // literal, a stand-in of the likely family for a name.
  const opened = openStream(b, guess, mode);
  let socket: net.Socket;
  if (opened.fd >= 0) {
    socket = socketOnFd(b, opened.fd, options); // releases the descriptor if it throws
  } else {
    socket = new net.Socket(socketOptions(options));
  }
  if (options.timeout) {
    try {
      socket.setTimeout(options.timeout as number);
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }
  if (cb) socket.once('connect', cb);
  setConnecting(socket, true);

  const plan: Plan = {
    b, socket, mode, port: port as number, host,
    // net binds when either is truthy, a falsy localPort ('' or false) as port 0.
    localAddress, localPort: localPort ? localPort : undefined,
    noDelay: Boolean(options.noDelay),
    keepAlive: Boolean(options.keepAlive),
    keepAliveInitialDelay: ~~((options.keepAliveInitialDelay ?? 0) / 1000),
    anchorFamily: guess, anchorUsed: false, current: null, lookedUp: false, done: false, hooked: false,
  };
  try {
    return begin(plan, opened, ipFamily, wantFamily, autoSelectFamily as boolean, attemptTimeout, options);
  } catch (err) {
    // A synchronous throw (a lookup rejecting its options): release the descriptor.
    socket.destroy();
    throw err;
  }
}

function begin(plan: Plan, opened: OpenedSocket, ipFamily: number, wantFamily: unknown, autoSelectFamily: boolean,
  attemptTimeout: number, options: Record<string, unknown>): net.Socket {
  const { socket, host, localAddress } = plan;

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

  const dnsopts: dns.LookupOptions = { family: wantFamily as number, hints: (options.hints as number) || 0 };
  if (dnsopts.family !== 4 && dnsopts.family !== 6 && dnsopts.hints === 0) dnsopts.hints = dns.ADDRCONFIG;
  const lookup = (options.lookup as LookupFn | undefined) ?? dns.lookup;

  if (dnsopts.family !== 4 && dnsopts.family !== 6 && !localAddress && autoSelectFamily) {
    dnsopts.all = true;
    lookup(host, dnsopts, ((err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => {
      if (secondLookup(plan, addresses?.[0]?.address)) return;
      onLookupAll(plan, err, addresses, attemptTimeout, options);
    }) as unknown as Parameters<LookupFn>[2]);
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
  }) as Parameters<LookupFn>[2]);
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
  (socket as net.Socket & { autoSelectFamilyAttemptedAddresses: string[] }).autoSelectFamilyAttemptedAddresses = [];
  attemptMultiple(plan, toAttempt, 0, timeout, []);
}

/** The local-address details net puts in connect errors: "- Local (addr:port)". */
function localDetails(plan: Plan): string | undefined {
  return plan.localAddress && plan.localPort ? `${plan.localAddress}:${plan.localPort}` : undefined;
}

function connectError(plan: Plan, errno: number, a: Address): SystemError {
  const local = localDetails(plan);
  const err = exceptionWithHostPort(errno, 'connect', a.address, plan.port, local);
  if (local) {
    err.localAddress = plan.localAddress;
    err.localPort = plan.localPort;
  }
  return err;
}

type AttemptResult = { ok: true } | { ok: false; error: SystemError };

/**
 * Starts one connection attempt on a descriptor of its own (a native attempt
 * owns it); `done` is called once, asynchronously or synchronously, unless
 * the attempt is cancelled first.
 */
function startAttempt(plan: Plan, a: Address, done: (r: AttemptResult) => void): void {
  const { b } = plan;
  if (!plan.hooked) {
    plan.hooked = true;
    hookDestroy(plan);
  }
  const o = openStream(b, a.family, plan.mode);
  if (o.fd < 0) {
    done({ ok: false, error: o.refused ? refusalError(o.errno, reasonForErrno(o.errno), a.address, plan.port) : connectError(plan, o.errno, a) });
    return;
  }
  const native = new b.Attempt(o.fd);
  const attempt = { native, timer: null as NodeJS.Timeout | null };
  plan.current = attempt;
  const fail = (error: SystemError): void => {
    if (plan.current === attempt) plan.current = null;
    native.close();
    done({ ok: false, error });
  };

  if (plan.localAddress || plan.localPort) {
    const la = plan.localAddress || (a.family === 4 ? kIpv4Default : kIpv6Default);
    const rc = b.bind(native.fd, a.family, la, plan.localPort ?? 0);
    if (rc < 0) {
      fail(exceptionWithHostPort(-rc, 'bind', la, plan.localPort));
      return;
    }
  }
  const finish = (errno: number): void => {
    if (plan.current !== attempt) return; // cancelled: the attempt is closed already
    if (errno !== 0) {
      fail(connectError(plan, errno, a));
      return;
    }
    plan.current = null;
    if (adopt(plan, native)) done({ ok: true });
  };
  const rc = b.connect(native.fd, a.family, a.address, plan.port);
  if (rc === -b.constants.EINPROGRESS) {
    const w = native.watch(finish);
    if (w < 0) fail(connectError(plan, -w, a)); // libuv errors are -errno on Linux
  } else {
    process.nextTick(finish, rc === 0 ? 0 : -rc);
  }
}

/** Stops the attempt under way (if any) and releases its descriptor. */
function cancelCurrent(plan: Plan): void {
  const c = plan.current;
  if (!c) return;
  plan.current = null;
  if (c.timer) clearTimeout(c.timer);
  c.native.close();
}

/**
 * Moves the connected descriptor onto the one the socket's handle owns and
 * tells the socket it is connected, as net's afterConnect does. Returns
 * false if the socket went away (the attempt is closed then).
 */
function adopt(plan: Plan, native: NativeAttempt): boolean {
  const { socket } = plan;
  const target = handleFd(socket);
  if (socket.destroyed || !socket.connecting || plan.done || target < 0) {
    native.close();
    return false;
  }
  // The handle has not polled its descriptor yet (manualStart): replacing
  // the file under that number is invisible to libuv.
  const rc = native.moveTo(target);
  if (rc < 0) {
    socket.destroy(exceptionWithHostPort(-rc, 'connect', plan.host, plan.port));
    return false;
  }
  plan.done = true;
  setConnecting(socket, false);
  const s = socket as net.Socket & { _sockname?: unknown; _unrefTimer?: () => void };
  s._sockname = null;
  s._unrefTimer?.();
  applySocketOptions(plan);
  socket.emit('connect');
  socket.emit('ready');
  if (socket.readable && !socket.isPaused()) socket.read(0);
  return true;
}

/** The descriptor owned by the socket's handle, or -1 when it has none. */
function handleFd(socket: net.Socket): number {
  const fd = (socket as net.Socket & { _handle?: { fd?: number } | null })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

function attemptSingle(plan: Plan, a: Address): void {
  if (!plan.anchorUsed && plan.anchorFamily === a.family) {
    // The socket's own descriptor already has this family: let net connect
    // it, as net.connect would (its libuv connect, events and errors). With
    // an IP literal of the handle's family net reuses the handle, so the
    // connection stays on the MPTCP descriptor.
    plan.anchorUsed = true;
    plan.done = true;
    if (plan.noDelay || plan.keepAlive) plan.socket.prependOnceListener('connect', () => applySocketOptions(plan));
    plan.socket.connect({ port: plan.port, host: a.address, localAddress: plan.localAddress, localPort: plan.localPort });
    return;
  }
  startAttempt(plan, a, (r) => {
    if (r.ok) return;
    plan.socket.emit('connectionAttemptFailed', a.address, plan.port, a.family, r.error);
    plan.socket.destroy(r.error);
  });
}

/** noDelay / keepAlive, which the socket was created without (see socketOptions). */
function applySocketOptions(plan: Plan): void {
  if (plan.noDelay) plan.socket.setNoDelay(true);
  if (plan.keepAlive) plan.socket.setKeepAlive(true, plan.keepAliveInitialDelay * 1000);
}

function attemptMultiple(plan: Plan, list: Address[], index: number, timeout: number, errors: Error[]): void {
  const { socket } = plan;
  if (!socket.connecting) return;
  if (index >= list.length) {
    if (errors.length === 0) {
      socket.destroy(errSocketConnectionTimeout());
      return;
    }
    const agg = new AggregateError(errors) as AggregateError & { code?: string };
    agg.code = (errors[0] as SystemError).code;
    socket.destroy(agg);
    return;
  }
  const a = list[index];
  socket.emit('connectionAttempt', a.address, plan.port, a.family);
  if (!socket.connecting || plan.done) return; // destroyed by a listener
  (socket as net.Socket & { autoSelectFamilyAttemptedAddresses: string[] }).autoSelectFamilyAttemptedAddresses.push(`${a.address}:${plan.port}`);
  let settled = false;
  startAttempt(plan, a, (r) => {
    if (settled) return;
    settled = true;
    if (timer) clearTimeout(timer);
    if (r.ok) return;
    errors.push(r.error);
    socket.emit('connectionAttemptFailed', a.address, plan.port, a.family, r.error);
    if (socket.connecting) attemptMultiple(plan, list, index + 1, timeout, errors);
  });
  let timer: NodeJS.Timeout | null = null;
  if (!settled && index < list.length - 1 && plan.current) {
    timer = setTimeout(() => {
      if (settled || !socket.connecting || plan.done) return;
      settled = true;
      socket.emit('connectionAttemptTimeout', a.address, plan.port, a.family);
      errors.push(connectError(plan, os.errno.ETIMEDOUT, a));
      cancelCurrent(plan);
      if (socket.connecting) attemptMultiple(plan, list, index + 1, timeout, errors);
    }, timeout);
    plan.current.timer = timer;
  }
}

/** Cancels native work synchronously when the socket is destroyed mid-connect. */
function hookDestroy(plan: Plan): void {
  const socket = plan.socket as net.Socket & { _destroy: (err: Error | null, cb: (err: Error | null) => void) => void };
  const original = socket._destroy.bind(socket);
  socket._destroy = function destroyWithNative(this: net.Socket, err, cb) {
    if (!plan.done) {
      plan.done = true;
      cancelCurrent(plan);
    }
    socket._destroy = original;
    return original.call(this, err, cb);
  };
}
