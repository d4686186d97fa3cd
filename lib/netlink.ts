// Generic netlink over the addon's netlink socket: request/response
// matching and queueing, multicast delivery, family resolution. Messages are
// built and strictly parsed in netlink-message.ts.
// References: netlink(7), genetlink (linux/genetlink.h), kernel-abi.md 5.
import { constants as osConstants } from 'node:os';
import { getBinding, getBindingError } from './binding';
import { reasonWithoutAddon } from './policy';
import { netlinkError } from './errors';
import {
  CTRL, GENL_ID_CTRL, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
  cstring, genlMessage, getString, getU16, getU32, parseAttrList, parseAttrs, parseError, parseGenl, parseMessages,
  NetlinkParseError, type Attr, type GenlMessage, type NlMessage,
} from './netlink-message';
import type { NativeNetlinkSocket } from '../types/binding';

export * from './netlink-message';
export { NetlinkError, netlinkError } from './errors';

const { EBADF, EMSGSIZE, ENOBUFS, EPERM, EPROTONOSUPPORT } = osConstants.errno;

// ------------------------------------------------------------- socket ----

export interface GenlFamily {
  id: number;
  version: number;
  groups: Map<string, number>;
}

interface Pending {
  seq: number;
  message: Buffer;
  parts: NlMessage[];
  dump: boolean;
  syscall: string;
  resolve: (msgs: NlMessage[]) => void;
  reject: (err: Error) => void;
}

/**
 * A netlink socket of any protocol on Node's loop (generic netlink for the
 * path manager, sock_diag for connections). Requests resolve with the reply
 * messages (all parts of a dump); messages that answer no request go to
 * `unsolicited`. Requests keep the process alive; an idle socket does not.
 *
 * Requests may be made concurrently. They are sent in call order; the kernel
 * runs one dump per socket at a time (a second one fails with EBUSY), so a
 * dump, and everything asked after it, waits until the dump in flight ends.
 * Other requests are pipelined.
 */
export class NetlinkChannel {
  protected readonly sock: NativeNetlinkSocket;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  /** Sent, waiting for their reply, by sequence number. */
  private readonly pending = new Map<number, Pending>();
  /** Not sent yet, in call order. */
  private readonly queued: Pending[] = [];
  private dumpInFlight = false;
  private closed = false;
  private keepAlive = false;
  /** A datagram that does not parse; the socket goes on. */
  onError: ((err: Error) => void) | null = null;
  /** The kernel dropped messages for this socket (ENOBUFS); the socket goes on. */
  onOverrun: (() => void) | null = null;
  /** The socket cannot deliver any more (an error other than an overrun); it is closed. */
  onFatal: ((err: Error) => void) | null = null;

  /** `protocol`: a binding constant's name (NETLINK_GENERIC, NETLINK_SOCK_DIAG). */
  constructor(protocol: 'NETLINK_GENERIC' | 'NETLINK_SOCK_DIAG') {
    const b = getBinding();
    if (!b || !b.NetlinkSocket) {
      const message = reasonWithoutAddon() === 'platform'
        ? `netlink is not available on ${process.platform}`
        : `the native addon could not be loaded (${getBindingError()?.message ?? 'unknown error'})`;
      throw netlinkError(EPROTONOSUPPORT, 'socket', { message });
    }
    this.sock = new b.NetlinkSocket((buf, errno) => this.onDatagram(buf, errno));
    let rc = this.sock.open(b[protocol]);
    if (rc < 0) throw netlinkError(-rc, this.sock.failedSyscall);
    rc = this.sock.start();
    if (rc < 0) {
      this.sock.close();
      throw netlinkError(-rc, 'uv_poll_start'); // libuv errors are -errno on Linux
    }
    this.sock.unref();
  }

  /** A message that answers no request (multicast, seq 0). */
  protected unsolicited(_m: NlMessage): void { /* none by default */ }

  /** The kernel's hint for an errno of this channel's requests. */
  protected hint(_errno: number): string | undefined {
    return undefined;
  }

  private onDatagram(buf: Buffer | null, errno: number): void {
    if (!buf) {
      const err = netlinkError(errno, 'recv');
      // A lost datagram may have been a reply: fail what was sent.
      for (const [seq, p] of this.pending) {
        this.pending.delete(seq);
        p.reject(err);
      }
      this.dumpInFlight = false;
      if (errno === ENOBUFS || errno === EMSGSIZE) {
        this.pump();
        this.refresh();
        this.onOverrun?.();
        return;
      }
      this.close();
      this.onFatal?.(err);
      return;
    }
    let msgs: NlMessage[];
    try {
      msgs = parseMessages(buf);
    } catch (err) {
      this.onError?.(err as Error);
      return;
    }
    for (const m of msgs) this.onMessage(m);
    this.refresh();
  }

  private onMessage(m: NlMessage): void {
    const p = m.seq !== 0 ? this.pending.get(m.seq) : undefined;
    if (!p) {
      if (m.seq === 0 && m.type !== NLMSG_ERROR && m.type !== NLMSG_DONE) this.unsolicited(m);
      return;
    }
    if (m.type !== NLMSG_ERROR && m.type !== NLMSG_DONE) {
      // A reply (or one part of a dump); the ACK / NLMSG_DONE that follows finishes it.
      p.parts.push(m);
      return;
    }
    this.settle(p);
    let result: { error: number; message?: string };
    try {
      result = parseError(m);
    } catch (err) {
      p.reject(err as Error);
      return;
    }
    const { error, message } = result;
    if (error < 0) p.reject(netlinkError(-error, p.syscall, { kernelMessage: message, hint: this.hint(-error) }));
    else p.resolve(p.parts);
  }

  /** A request has its answer: the next ones may go. */
  private settle(p: Pending): void {
    this.pending.delete(p.seq);
    if (p.dump) this.dumpInFlight = false;
    this.pump();
  }

  /** Sends queued requests, in order, up to the first dump that must wait. */
  private pump(): void {
    while (this.queued.length > 0 && !this.closed) {
      const p = this.queued[0];
      if (p.dump && this.dumpInFlight) return;
      this.queued.shift();
      const n = this.sock.send(p.message);
      if (n < 0) {
        p.reject(netlinkError(-n, p.syscall));
        continue;
      }
      this.pending.set(p.seq, p);
      if (p.dump) this.dumpInFlight = true;
    }
  }

  /** Keeps the process alive only while requests are waiting. */
  private refresh(): void {
    if (this.closed) return;
    if (this.pending.size > 0 || this.queued.length > 0 || this.keepAlive) this.sock.ref();
    else this.sock.unref();
  }

  /**
   * Sends the message `build(seq)` makes (it should ask for an ACK unless it
   * is a dump, so that every request ends with an ACK, an error or
   * NLMSG_DONE) and resolves with the reply messages.
   */
  protected send(build: (seq: number) => Buffer, opts: { dump?: boolean; syscall: string }): Promise<NlMessage[]> {
    if (this.closed) return Promise.reject(netlinkError(EBADF, opts.syscall, { message: 'netlink socket closed' }));
    const seq = (this.seq = (this.seq + 1) >>> 0 || 1);
    const message = build(seq);
    return new Promise((resolve, reject) => {
      this.queued.push({ seq, message, parts: [], dump: Boolean(opts.dump), syscall: opts.syscall, resolve, reject });
      this.pump();
      this.refresh();
    });
  }

  /** Keeps the process alive while listening for events (or not). */
  setRef(ref: boolean): void {
    this.keepAlive = ref;
    this.refresh();
  }

  /**
   * Sets the receive buffer (SO_RCVBUFFORCE with CAP_NET_ADMIN, else
   * SO_RCVBUF up to net.core.rmem_max): the size the kernel now uses, in bytes.
   */
  setReceiveBuffer(bytes: number): number {
    const n = this.sock.setReceiveBuffer(bytes);
    if (n < 0) throw netlinkError(-n, 'setsockopt SO_RCVBUF');
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
    const waiting = [...this.pending.values(), ...this.queued.splice(0)];
    this.pending.clear();
    for (const p of waiting) p.reject(netlinkError(EBADF, p.syscall, { message: 'netlink socket closed' }));
  }
}

/** A generic netlink socket: requests to a family, multicast events to `onEvent`. */
export class GenlSocket extends NetlinkChannel {
  /**
   * Multicast messages (seq 0). Exceptions it throws are not caught here:
   * they reach the process as uncaught exceptions, as net's do.
   */
  onEvent: ((m: GenlMessage, type: number) => void) | null = null;

  constructor() {
    super('NETLINK_GENERIC');
  }

  protected override unsolicited(m: NlMessage): void {
    if (!this.onEvent) return;
    let g: GenlMessage;
    try {
      g = parseGenl(m.payload);
    } catch (err) {
      this.onError?.(err as Error);
      return;
    }
    this.onEvent(g, m.type);
  }

  protected override hint(errno: number): string | undefined {
    return errno === EPERM ? 'managing MPTCP needs CAP_NET_ADMIN' : undefined;
  }

  /**
   * Sends a request (with NLM_F_ACK, so every request ends with an ACK or an
   * error) and resolves with the reply messages.
   */
  async request(family: number, cmd: number, version: number, attrs: Attr[], opts: { dump?: boolean; syscall: string }): Promise<GenlMessage[]> {
    const flags = NLM_F_REQUEST | NLM_F_ACK | (opts.dump ? NLM_F_DUMP : 0);
    const parts = await this.send((seq) => genlMessage(family, flags, seq, cmd, version, attrs), opts);
    return parts.map((m) => parseGenl(m.payload));
  }

  /** CTRL.CMD_GETFAMILY: the family's id, version and multicast groups. */
  async resolveFamily(name: string): Promise<GenlFamily> {
    const [reply] = await this.request(GENL_ID_CTRL, CTRL.CMD_GETFAMILY, 1, [[CTRL.ATTR_FAMILY_NAME, cstring(name)]], { syscall: `genl ${name}` });
    if (!reply) throw new NetlinkParseError('CTRL.CMD_GETFAMILY without a reply');
    const id = getU16(reply.attrs, CTRL.ATTR_FAMILY_ID, 'family id');
    if (id === undefined) throw new NetlinkParseError('CTRL.CMD_GETFAMILY reply without a family id');
    const groups = new Map<string, number>();
    const g = reply.attrs.get(CTRL.ATTR_MCAST_GROUPS);
    if (g) {
      for (const entry of parseAttrList(g)) {
        const a = parseAttrs(entry);
        const gname = getString(a, CTRL.ATTR_MCAST_GRP_NAME);
        const gid = getU32(a, CTRL.ATTR_MCAST_GRP_ID, 'group id');
        if (gname !== undefined && gid !== undefined) groups.set(gname, gid);
      }
    }
    return { id, version: getU32(reply.attrs, CTRL.ATTR_VERSION, 'family version') ?? 1, groups };
  }

  /** Joins a multicast group: 0 or throws. */
  join(group: number, syscall = 'setsockopt'): void {
    const rc = this.sock.addMembership(group);
    if (rc < 0) throw netlinkError(-rc, syscall, { hint: -rc === EPERM ? 'MPTCP events need CAP_NET_ADMIN' : undefined });
  }
}
