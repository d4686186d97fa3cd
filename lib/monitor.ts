// MPTCP path-manager events (generic netlink family `mptcp_pm`, multicast
// group `mptcp_pm_events`), decoded and typed: connections created,
// established and closed, addresses announced and removed, subflows up, down
// and changing priority, listeners. Byte orders follow kernel-abi.md 5.6:
// event ports are big-endian, addresses network order.
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import type * as net from 'node:net';
import { errInvalidArgType } from './errors';
import { connectionToken } from './info';
import { validateInteger, validateObject, validateUint32 } from './validators';
import { constants as os } from 'node:os';
import { GenlSocket, netlinkError, getBe16, getS32, getU16, getU32, getU8, type GenlMessage } from './netlink';
import { AF_INET, AF_INET6, formatAddressBytes } from './decode';

const EVENT_GROUP = 'mptcp_pm_events';

/** Event names by the kernel's `MPTCP_EVENT_*` value. */
const EVENT_TYPES: Record<number, MptcpEventType> = {
  1: 'created',
  2: 'established',
  3: 'closed',
  6: 'announced',
  7: 'removed',
  10: 'subflowEstablished',
  11: 'subflowClosed',
  13: 'subflowPriority',
  15: 'listenerCreated',
  16: 'listenerClosed',
};

/** The kind of a path-manager event: the kernel's `MPTCP_EVENT_*` in camelCase. */
export type MptcpEventType =
  | 'created' | 'established' | 'closed' | 'announced' | 'removed'
  | 'subflowEstablished' | 'subflowClosed' | 'subflowPriority'
  | 'listenerCreated' | 'listenerClosed';

/** RFC 8684 MP_TCPRST reason codes. */
const RESET_REASONS = ['unspecified', 'mptcp-error', 'lack-of-resources', 'administratively-prohibited', 'too-much-outstanding-data', 'unacceptable-performance', 'middlebox-interference'] as const;

/** One path-manager event. Fields the kernel did not send are absent. */
export interface MptcpEvent {
  type: MptcpEventType;
  /** The connection's token (as `getInfo(socket).token`); absent for listener events. */
  token?: number;
  family?: 4 | 6;
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
  localId?: number;
  remoteId?: number;
  /** Subflow events: whether the subflow is a backup one. */
  backup?: boolean;
  /** Subflow events: the socket error, when one is set. */
  error?: number;
  /** Subflow events: the interface the subflow is bound to, when bound. */
  ifindex?: number;
  /** `subflowClosed` after an MP_TCPRST: the reason code and its name. */
  resetReason?: number;
  resetReasonName?: string;
  resetFlags?: number;
  /** `created` / `established`: true on the server side. */
  serverSide?: boolean;
  /** Raw MPTCP_ATTR_FLAGS, when sent. */
  flags?: number;
  timeout?: number;
}

const A = {
  TOKEN: 1, FAMILY: 2, LOC_ID: 3, REM_ID: 4, SADDR4: 5, SADDR6: 6, DADDR4: 7, DADDR6: 8, SPORT: 9, DPORT: 10,
  BACKUP: 11, ERROR: 12, FLAGS: 13, TIMEOUT: 14, IF_IDX: 15, RESET_REASON: 16, RESET_FLAGS: 17, SERVER_SIDE: 18,
} as const;
const FLAG_SERVER_SIDE = 1 << 1;

function addr(m: GenlMessage, v4: number, v6: number): { address: string; family: 4 | 6 } | undefined {
  const a4 = m.attrs.get(v4);
  if (a4 && a4.length >= 4) return { address: formatAddressBytes(a4.subarray(0, 4))!, family: 4 };
  const a6 = m.attrs.get(v6);
  if (a6 && a6.length >= 16) return { address: formatAddressBytes(a6.subarray(0, 16))!, family: 6 };
  return undefined;
}

/** @internal Decodes one event message; null for event types this library does not know. Exported for tests. */
export function decodeEvent(m: GenlMessage): MptcpEvent | null {
  const type = EVENT_TYPES[m.cmd];
  if (!type) return null;
  const a = m.attrs;
  const e: MptcpEvent = { type };
  const token = getU32(a, A.TOKEN, 'event token');
  if (token !== undefined) e.token = token;
  const fam = getU16(a, A.FAMILY, 'event family');
  const src = addr(m, A.SADDR4, A.SADDR6);
  const dst = addr(m, A.DADDR4, A.DADDR6);
  if (fam === AF_INET) e.family = 4;
  else if (fam === AF_INET6) e.family = 6;
  else if (src || dst) e.family = (src ?? dst)!.family; // ANNOUNCED has no family attribute
  if (src) e.localAddress = src.address;
  const sport = getBe16(a, A.SPORT, 'event sport');
  if (sport !== undefined) e.localPort = sport;
  if (dst) e.remoteAddress = dst.address;
  const dport = getBe16(a, A.DPORT, 'event dport');
  if (dport !== undefined) e.remotePort = dport;
  const lid = getU8(a, A.LOC_ID, 'event loc_id');
  if (lid !== undefined) e.localId = lid;
  const rid = getU8(a, A.REM_ID, 'event rem_id');
  if (rid !== undefined) e.remoteId = rid;
  const backup = getU8(a, A.BACKUP, 'event backup');
  if (backup !== undefined) e.backup = backup !== 0;
  const error = getU8(a, A.ERROR, 'event error');
  if (error !== undefined) e.error = error;
  const ifindex = getS32(a, A.IF_IDX, 'event if_idx');
  if (ifindex !== undefined) e.ifindex = ifindex;
  const reason = getU32(a, A.RESET_REASON, 'event reset_reason');
  if (reason !== undefined) {
    e.resetReason = reason;
    e.resetReasonName = RESET_REASONS[reason] ?? `unknown-${reason}`;
  }
  const rflags = getU32(a, A.RESET_FLAGS, 'event reset_flags');
  if (rflags !== undefined) e.resetFlags = rflags;
  const flags = getU16(a, A.FLAGS, 'event flags');
  if (flags !== undefined) e.flags = flags;
  const serverSide = getU8(a, A.SERVER_SIDE, 'event server_side');
  if (type === 'created' || type === 'established') e.serverSide = ((flags ?? 0) & FLAG_SERVER_SIDE) !== 0 || serverSide === 1;
  const timeout = getU32(a, A.TIMEOUT, 'event timeout');
  if (timeout !== undefined) e.timeout = timeout;
  return e;
}

/** Options of {@link monitor}: which connection to watch (all by default), and the receive buffer. */
export interface MonitorOptions {
  /** Only events of the connection under this socket (matched by its token). */
  socket?: net.Socket;
  /** Only events of the connection with this token. */
  token?: number;
  /**
   * The netlink socket's receive buffer in bytes (default 4 MiB), set with
   * SO_RCVBUFFORCE as `ip monitor` raises its own. A burst larger than it is
   * an overrun: see the `'overrun'` event.
   */
  recvBufferSize?: number;
}

const kDefaultRecvBuffer = 4 * 1024 * 1024;

/**
 * A live subscription to MPTCP path-manager events of this network namespace.
 * An EventEmitter (`'event'` for every event, and one event per type name,
 * `'ready'` once subscribed, `'overrun'`, `'warning'`, `'error'`, `'close'`)
 * and an async iterator.
 *
 * `'overrun'` means the kernel dropped events because they came faster than
 * they were read (the receive buffer was full): the monitor keeps
 * delivering, but the dropped events are gone, so state built from events
 * should be re-read (`getSubflows`, `pm.list`). `overruns` counts them.
 * A listener that throws is an uncaught exception, as with `net`'s events.
 */
export class Monitor extends EventEmitter implements AsyncIterable<MptcpEvent> {
  private sock: GenlSocket | null = null;
  private closed = false;
  /** How many times the kernel dropped events for this monitor. */
  overruns = 0;
  /** The receive buffer the kernel gave the socket, in bytes (0 until ready). */
  recvBufferSize = 0;
  private readonly token: number | undefined;
  private readonly wantedBuffer: number;
  /** Events not yet taken by an iterator; filled only while one exists. */
  private readonly queue: MptcpEvent[] = [];
  private iterators = 0;
  private readonly waiters: { resolve: (r: IteratorResult<MptcpEvent>) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | null = null;
  /** Resolves once the monitor is subscribed (events from then on are delivered); rejects on EPERM and the like. */
  readonly ready: Promise<void>;

  /** @internal Use {@link monitor}. */
  constructor(token: number | undefined, recvBufferSize = kDefaultRecvBuffer) {
    super();
    this.token = token;
    this.wantedBuffer = recvBufferSize;
    this.ready = this.open();
    this.ready.catch(() => { /* reported as 'error' */ });
  }

  private async open(): Promise<void> {
    let sock: GenlSocket;
    try {
      sock = new GenlSocket();
    } catch (err) {
      this.fail(err as Error);
      throw err;
    }
    this.sock = sock;
    try {
      const family = await sock.resolveFamily('mptcp_pm');
      const group = family.groups.get(EVENT_GROUP);
      if (group === undefined) throw netlinkError(os.errno.ENOENT, 'genl mptcp_pm', { message: `the kernel's mptcp_pm family has no ${EVENT_GROUP} group` });
      if (this.closed) return;
      sock.join(group, `mptcp_pm join ${EVENT_GROUP}`);
      this.recvBufferSize = sock.setReceiveBuffer(this.wantedBuffer);
      sock.onEvent = (m) => this.onMessage(m);
      sock.onError = (err) => this.emit('warning', err);
      sock.onOverrun = () => {
        this.overruns++;
        this.emit('overrun', { overruns: this.overruns });
      };
      sock.onFatal = (err) => this.fail(err, true);
      sock.setRef(true);
      this.emit('ready');
    } catch (err) {
      // close() before the subscription completed: not an error; ready resolves.
      if (this.closed) return;
      this.fail(err as Error);
      throw err;
    }
  }

  private onMessage(m: GenlMessage): void {
    let e: MptcpEvent | null;
    try {
      e = decodeEvent(m);
    } catch (err) {
      this.emit('warning', err);
      return;
    }
    if (!e || (this.token !== undefined && e.token !== this.token)) return;
    this.emit('event', e);
    this.emit(e.type, e);
    const w = this.waiters.shift();
    if (w) w.resolve({ value: e, done: false });
    else if (this.iterators > 0) this.queue.push(e); // kept only for a loop that will read it
  }

  /**
   * Before the subscription is made, the failure rejects `ready` (and is
   * emitted as 'error' only to listeners). Afterwards it goes to waiting
   * iterators, else it is emitted as 'error' the way net does: with no
   * listener it is an uncaught exception.
   */
  private fail(err: Error, subscribed = false): void {
    this.failure = err;
    const waiters = this.waiters.splice(0);
    for (const w of waiters) w.reject(err);
    this.close();
    if (this.listenerCount('error') > 0 || (subscribed && waiters.length === 0)) this.emit('error', err);
  }

  /** Stops the subscription and releases the netlink socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock?.close();
    this.sock = null;
    for (const w of this.waiters.splice(0)) w.resolve({ value: undefined, done: true });
    process.nextTick(() => this.emit('close'));
  }

  /**
   * Iterates over the events from now on (events delivered before the loop
   * started are not replayed). Breaking out of the loop closes the monitor.
   */
  [Symbol.asyncIterator](): AsyncIterator<MptcpEvent> {
    this.iterators++;
    return {
      next: () => {
        const e = this.queue.shift();
        if (e) return Promise.resolve({ value: e, done: false });
        if (this.failure) return Promise.reject(this.failure);
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
      },
      return: () => {
        this.iterators--;
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}

/**
 * Subscribes to MPTCP path-manager events of this network namespace (needs
 * CAP_NET_ADMIN: without it `'error'` / `ready` reject with `EPERM`). With
 * `socket` (or `token`), only that connection's events are delivered.
 *
 * @example
 * const mon = mptcp.monitor();
 * for await (const ev of mon) console.log(ev.type, ev.token, ev.remoteAddress);
 */
export function monitor(options: MonitorOptions = {}): Monitor {
  validateObject(options, 'options');
  let token = options.token === undefined ? undefined : validateUint32(options.token, 'options.token');
  const buf = options.recvBufferSize;
  if (buf !== undefined) validateInteger(buf, 'options.recvBufferSize', 4096, 0x7fffffff);
  if (options.socket !== undefined) {
    if (!(options.socket instanceof Socket)) throw errInvalidArgType('options.socket', ['net.Socket'], options.socket);
    token = connectionToken(options.socket, 'options.socket');
  }
  return new Monitor(token, buf);
}
