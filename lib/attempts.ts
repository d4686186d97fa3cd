// Native connection attempts for connect(): each address tried gets an MPTCP
// descriptor of its own family (the first of the likely family gets the one
// made up front), owned by a native Attempt (native/poller.cc) and connected
// without blocking; completion comes from a poll on Node's loop. The winner
// is opened under the returned socket's handle, which has no descriptor
// until then, before the socket is told it is connected. One
// address at a time, or several in turn with a per-attempt timeout (Happy
// Eyeballs, as net's autoSelectFamily). Destroying the socket cancels the
// attempt under way synchronously.
import * as net from 'node:net';
import { constants as os } from 'node:os';
import type { NativeAttempt, NativeBinding } from '../types/binding';
import { errIpBlocked, errSocketConnectionTimeout, exceptionWithHostPort, type SystemError } from './errors';
import { attemptedAddresses, beforeDestroy, handleFd, markConnected, netOriginals, reapplyStreamOptions, type TcpHandle } from './node-internals';
import { openStream, reasonForErrno, refusalError, type MptcpMode } from './policy';

/** One address to try. */
export interface Address { address: string; family: 4 | 6 }

const kIpv4Default = '0.0.0.0';
const kIpv6Default = '::';

/** One connect() under way. */
export interface Plan {
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
   * The descriptor made up front, of the likely family (anchorFamily), owned
   * by the plan until an attempt of that family takes it (-1 then, or once
   * closed). The socket's handle has no descriptor while the plan runs: the
   * connection that wins is opened under it (or net connects it on this
   * one), so a connect makes no more sockets than it tries addresses.
   */
  anchorFd: number;
  anchorFamily: 4 | 6;
  /** The attempt under way. */
  current: { native: NativeAttempt; timer: NodeJS.Timeout | null } | null;
  /** Whether the lookup has called back (a second call is net's EALREADY). */
  lookedUp: boolean;
  done: boolean;
}

/** net's own Socket#connect (before the switch wraps it). */
const netConnect = netOriginals(net).connect;

/** The connect under way on a socket the library connects (a field of the socket's: cheaper than a WeakMap). */
const kPlan = Symbol('mptcp.plan');
type Tracked = net.Socket & { [kPlan]?: Plan };

/**
 * Registers `plan` as its socket's connect under way, and hooks the
 * socket's destroy() to cancel the attempt under way and close the
 * descriptor made up front, synchronously.
 */
export function track(plan: Plan): void {
  (plan.socket as Tracked)[kPlan] = plan;
  hookDestroy(plan);
}

/** The descriptor made up front if it has `family` (the caller owns it then), else -1. */
function takeAnchor(plan: Plan, family: 4 | 6): number {
  if (plan.anchorFd < 0 || plan.anchorFamily !== family) return -1;
  const fd = plan.anchorFd;
  plan.anchorFd = -1;
  return fd;
}

/** Closes the descriptor made up front, unless an attempt took it. */
function dropAnchor(plan: Plan): void {
  if (plan.anchorFd < 0) return;
  plan.b.close(plan.anchorFd);
  plan.anchorFd = -1;
}

/** The socket's TCP handle, if it has one. */
function streamHandle(socket: net.Socket): TcpHandle | null {
  return (socket as net.Socket & { _handle?: TcpHandle | null })._handle ?? null;
}

/**
 * A connect by name whose lookup the library holds (connect.ts,
 * connectName): until its answer goes to net (`passed`) or the library
 * takes the connect over (`plan`), the library is connecting the socket.
 */
export interface PendingName { passed: boolean; plan: Plan | null }
const kPendingName = Symbol('mptcp.pendingName');
type Pending = net.Socket & { [kPendingName]?: PendingName };

export function holdName(socket: net.Socket, pending: PendingName): void {
  (socket as Pending)[kPendingName] = pending;
}

/** Whether the library is connecting this socket right now (a second connect() is then net's EALREADY). */
export function connectingNatively(socket: net.Socket): boolean {
  if (!socket.connecting || socket.destroyed) return false;
  const p = (socket as Tracked)[kPlan];
  if (p !== undefined) return !p.done;
  const n = (socket as Pending)[kPendingName];
  return n !== undefined && !n.passed && n.plan === null;
}

/** The local-address details net puts in connect errors: "- Local (addr:port)". */
export function localDetails(plan: Plan): string | undefined {
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
  let fd = takeAnchor(plan, a.family);
  if (fd < 0) {
    const o = openStream(b, a.family, plan.mode);
    if (o.fd < 0) {
      done({ ok: false, error: o.refused ? refusalError(o.errno, reasonForErrno(o.errno), a.address, plan.port) : connectError(plan, o.errno, a) });
      return;
    }
    fd = o.fd;
  }
  const native = new b.Attempt(fd);
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
 * Puts the connected descriptor under the socket's handle (which has none
 * yet: open(), or dup3 onto the one it has) and tells the socket it is
 * connected, as net's afterConnect does. Returns false if the socket went
 * away (the attempt is closed then).
 */
function adopt(plan: Plan, native: NativeAttempt): boolean {
  const { socket } = plan;
  const handle = streamHandle(socket);
  if (socket.destroyed || !socket.connecting || plan.done) {
    native.close();
    return false;
  }
  if (!handle) {
    native.close();
    socket.destroy(exceptionWithHostPort(os.errno.EBADF, 'connect', plan.host, plan.port));
    return false;
  }
  // The handle has not polled a descriptor yet (manualStart): what it gets
  // now is invisible to libuv until net starts reading.
  const target = handleFd(socket);
  let rc: number;
  if (target >= 0) {
    rc = native.moveTo(target);
  } else {
    const fd = native.detach();
    rc = handle.open(fd);
    if (rc !== 0) plan.b.close(fd); // libuv errors are -errno on Linux
  }
  if (rc < 0) {
    socket.destroy(exceptionWithHostPort(-rc, 'connect', plan.host, plan.port));
    return false;
  }
  plan.done = true;
  dropAnchor(plan);
  markConnected(socket);
  // What net applies after a connect of its own: the constructor's noDelay /
  // keepAlive, and setNoDelay / setKeepAlive calls made while connecting
  // (libuv has applied them already if the handle had no descriptor then).
  const tosError = reapplyStreamOptions(socket);
  applySocketOptions(plan);
  // As net's afterConnect: a type of service the socket cannot take is an 'error' before 'connect'.
  if (tosError) socket.emit('error', exceptionWithHostPort(-tosError, 'setTypeOfService'));
  socket.emit('connect');
  socket.emit('ready');
  if (socket.readable && !socket.isPaused()) socket.read(0);
  return true;
}

export function attemptSingle(plan: Plan, a: Address): void {
  const anchor = takeAnchor(plan, a.family);
  if (anchor >= 0) {
    // The descriptor made up front has this family: open the socket's
    // handle on it and let net connect it, as net.connect would (its libuv
    // connect, events and errors). With an IP literal net reuses the
    // handle, so the connection stays on the MPTCP descriptor.
    const handle = streamHandle(plan.socket);
    const rc = handle ? handle.open(anchor) : -os.errno.EBADF;
    if (rc !== 0) {
      plan.b.close(anchor);
      plan.socket.destroy(connectError(plan, -rc, a));
      return;
    }
    plan.done = true;
    if (plan.noDelay || plan.keepAlive) plan.socket.prependOnceListener('connect', () => applySocketOptions(plan));
    netConnect.call(plan.socket, { port: plan.port, host: a.address, localAddress: plan.localAddress, localPort: plan.localPort });
    return;
  }
  plan.socket.emit('connectionAttempt', a.address, plan.port, a.family);
  if (!plan.socket.connecting || plan.done) return; // destroyed by a listener
  if (blocked(plan.socket, a)) {
    plan.socket.destroy(errIpBlocked(a.address));
    return;
  }
  startAttempt(plan, a, (r) => {
    if (r.ok) return;
    plan.socket.emit('connectionAttemptFailed', a.address, plan.port, a.family, r.error);
    plan.socket.destroy(r.error);
  });
}

/**
 * Whether the socket's `blockList` (set by the net.Socket constructor on
 * Node 22 and later) blocks the address: net refuses those before connecting.
 */
function blocked(socket: net.Socket, a: Address): boolean {
  const list = (socket as net.Socket & { blockList?: net.BlockList }).blockList;
  return list ? list.check(a.address, a.family === 6 ? 'ipv6' : 'ipv4') : false;
}

/** noDelay / keepAlive, which the socket was created without (see socketOptions). */
function applySocketOptions(plan: Plan): void {
  if (plan.noDelay) plan.socket.setNoDelay(true);
  if (plan.keepAlive) plan.socket.setKeepAlive(true, plan.keepAliveInitialDelay * 1000);
}

export function attemptMultiple(plan: Plan, list: Address[], index: number, timeout: number, errors: Error[]): void {
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
  if (blocked(socket, a)) {
    // As net: counted among the attempts' errors, and the next address is tried.
    const ex = errIpBlocked(a.address);
    errors.push(ex);
    socket.emit('connectionAttemptFailed', a.address, plan.port, a.family, ex);
    attemptMultiple(plan, list, index + 1, timeout, errors);
    return;
  }
  socket.emit('connectionAttempt', a.address, plan.port, a.family);
  if (!socket.connecting || plan.done) return; // destroyed by a listener
  attemptedAddresses(socket).push(`${a.address}:${plan.port}`);
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
  beforeDestroy(plan.socket, () => {
    if (!plan.done) {
      plan.done = true;
      cancelCurrent(plan);
    }
    dropAnchor(plan);
  });
}
