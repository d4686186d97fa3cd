// Generic netlink over the addon's netlink socket: message building, strict
// parsing, request/response matching, family resolution. Every length read
// from the kernel is checked against the bytes actually present; a malformed
// or truncated message raises NetlinkParseError, never an out-of-bounds read.
// References: netlink(7), genetlink (linux/genetlink.h), kernel-abi.md 5.
import { constants as osConstants } from 'node:os';
import { getBinding } from './binding';
import { NetlinkParseError, netlinkError } from './errors';

export { NetlinkError, NetlinkParseError, netlinkError } from './errors';
import type { NativeNetlinkSocket } from '../types/binding';

const NLMSG_HDRLEN = 16;
const GENL_HDRLEN = 4;
const NLA_HDRLEN = 4;
const NLA_TYPE_MASK = 0x3fff;
const NLA_F_NESTED = 0x8000;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
const NLM_F_CAPPED = 0x100;
const NLM_F_ACK_TLVS = 0x200;

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLMSGERR_ATTR_MSG = 1;

const GENL_ID_CTRL = 0x10;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;
const CTRL_ATTR_VERSION = 3;
const CTRL_ATTR_MCAST_GROUPS = 7;
const CTRL_ATTR_MCAST_GRP_NAME = 1;
const CTRL_ATTR_MCAST_GRP_ID = 2;

const align = (n: number): number => (n + 3) & ~3;

const { EBADF, EMSGSIZE, ENOBUFS, EPERM, EPROTONOSUPPORT } = osConstants.errno;

// ------------------------------------------------------------ building ----

/** One attribute, or a nested list of them. */
export type Attr = [type: number, value: Buffer | Attr[]];

export const u8 = (v: number): Buffer => Buffer.from([v & 0xff]);
export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
}
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
export function s32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v | 0);
  return b;
}
export const cstring = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);

function attrsLength(attrs: Attr[]): number {
  let n = 0;
  for (const [, v] of attrs) n += align(NLA_HDRLEN + (Array.isArray(v) ? attrsLength(v) : v.length));
  return n;
}

function writeAttrs(buf: Buffer, off: number, attrs: Attr[]): number {
  for (const [type, v] of attrs) {
    const start = off;
    const nested = Array.isArray(v);
    off += NLA_HDRLEN;
    if (nested) off = writeAttrs(buf, off, v);
    else off += v.copy(buf, off);
    buf.writeUInt16LE(off - start, start);
    buf.writeUInt16LE(type | (nested ? NLA_F_NESTED : 0), start + 2);
    off = align(off);
  }
  return off;
}

/** A whole generic netlink message: nlmsghdr + genlmsghdr + attributes. */
export function genlMessage(family: number, flags: number, seq: number, cmd: number, version: number, attrs: Attr[]): Buffer {
  const len = NLMSG_HDRLEN + GENL_HDRLEN + attrsLength(attrs);
  const buf = Buffer.alloc(len);
  buf.writeUInt32LE(len, 0);
  buf.writeUInt16LE(family, 4);
  buf.writeUInt16LE(flags, 6);
  buf.writeUInt32LE(seq >>> 0, 8);
  buf.writeUInt32LE(0, 12);
  buf[16] = cmd;
  buf[17] = version;
  writeAttrs(buf, NLMSG_HDRLEN + GENL_HDRLEN, attrs);
  return buf;
}

// ------------------------------------------------------------- parsing ----

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** The bytes after the 16-byte header, exactly nlmsg_len - 16 of them. */
  payload: Buffer;
}

/** Splits a datagram into messages, checking every nlmsg_len. */
export function parseMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < NLMSG_HDRLEN) throw new NetlinkParseError(`${buf.length - off} trailing bytes, shorter than a header`);
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || len > buf.length - off) throw new NetlinkParseError(`nlmsg_len ${len} with ${buf.length - off} bytes left`);
    out.push({
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      pid: buf.readUInt32LE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align(len);
  }
  return out;
}

/** Attributes by type (the last one wins, as the kernel's nla_parse does). */
export type Attrs = Map<number, Buffer>;

/** Parses a run of attributes, checking every nla_len. */
export function parseAttrs(buf: Buffer): Attrs {
  const out: Attrs = new Map();
  let off = 0;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || len > buf.length - off) throw new NetlinkParseError(`nla_len ${len} with ${buf.length - off} bytes left`);
    out.set(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + NLA_HDRLEN, off + len));
    off += align(len);
  }
  return out;
}

/** Repeated attributes in order (array-style nests such as mcast groups). */
export function parseAttrList(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || len > buf.length - off) throw new NetlinkParseError(`nla_len ${len} with ${buf.length - off} bytes left`);
    out.push(buf.subarray(off + NLA_HDRLEN, off + len));
    off += align(len);
  }
  return out;
}

function need(b: Buffer | undefined, n: number, what: string): Buffer | undefined {
  if (b === undefined) return undefined;
  if (b.length < n) throw new NetlinkParseError(`${what}: ${b.length} bytes, need ${n}`);
  return b;
}
export const getU8 = (a: Attrs, t: number, what = `attr ${t}`): number | undefined => need(a.get(t), 1, what)?.readUInt8(0);
export const getU16 = (a: Attrs, t: number, what = `attr ${t}`): number | undefined => need(a.get(t), 2, what)?.readUInt16LE(0);
export const getBe16 = (a: Attrs, t: number, what = `attr ${t}`): number | undefined => need(a.get(t), 2, what)?.readUInt16BE(0);
export const getU32 = (a: Attrs, t: number, what = `attr ${t}`): number | undefined => need(a.get(t), 4, what)?.readUInt32LE(0);
export const getS32 = (a: Attrs, t: number, what = `attr ${t}`): number | undefined => need(a.get(t), 4, what)?.readInt32LE(0);
export function getString(a: Attrs, t: number): string | undefined {
  const b = a.get(t);
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

/** A generic netlink message body: command, version and attributes. */
export interface GenlMessage { cmd: number; version: number; attrs: Attrs }

export function parseGenl(payload: Buffer): GenlMessage {
  if (payload.length < GENL_HDRLEN) throw new NetlinkParseError(`genl payload of ${payload.length} bytes`);
  return { cmd: payload[0], version: payload[1], attrs: parseAttrs(payload.subarray(GENL_HDRLEN)) };
}

/** NLMSG_ERROR / NLMSG_DONE: the (negative) error and the extended-ack message. */
export function parseError(m: NlMessage): { error: number; message?: string } {
  const p = m.payload;
  if (p.length < 4) throw new NetlinkParseError(`error message of ${p.length} bytes`);
  const error = p.readInt32LE(0);
  if (m.type === NLMSG_DONE || !(m.flags & NLM_F_ACK_TLVS)) return { error };
  // The request follows: its header only when capped, else the whole request.
  let off = 4;
  if (p.length < off + NLMSG_HDRLEN) throw new NetlinkParseError('error message without the request header');
  off += m.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : align(p.readUInt32LE(off));
  if (off > p.length) throw new NetlinkParseError('error message shorter than the echoed request');
  const tlvs = parseAttrs(p.subarray(off));
  return { error, message: getString(tlvs, NLMSGERR_ATTR_MSG) };
}

// ------------------------------------------------------------- socket ----

export interface GenlFamily {
  id: number;
  version: number;
  groups: Map<string, number>;
}

interface Pending {
  seq: number;
  message: Buffer;
  parts: GenlMessage[];
  dump: boolean;
  syscall: string;
  resolve: (msgs: GenlMessage[]) => void;
  reject: (err: Error) => void;
}

/**
 * A generic netlink socket on Node's loop. Requests resolve with the reply
 * messages (all parts of a dump); multicast messages go to `onEvent`.
 * Requests keep the process alive; an idle socket does not.
 *
 * Requests may be made concurrently. They are sent in call order; the kernel
 * runs one dump per socket at a time (a second one fails with EBUSY), so a
 * dump, and everything asked after it, waits until the dump in flight ends.
 * Other requests are pipelined.
 */
export class GenlSocket {
  private readonly sock: NativeNetlinkSocket;
  private seq = Math.floor(Math.random() * 0x7fffffff);
  /** Sent, waiting for their reply, by sequence number. */
  private readonly pending = new Map<number, Pending>();
  /** Not sent yet, in call order. */
  private readonly queued: Pending[] = [];
  private dumpInFlight = false;
  private closed = false;
  private keepAlive = false;
  /**
   * Multicast messages (seq 0). Exceptions it throws are not caught here:
   * they reach the process as uncaught exceptions, as net's do.
   */
  onEvent: ((m: GenlMessage, type: number) => void) | null = null;
  /** A datagram that does not parse; the socket goes on. */
  onError: ((err: Error) => void) | null = null;
  /** The kernel dropped messages for this socket (ENOBUFS); the socket goes on. */
  onOverrun: (() => void) | null = null;
  /** The socket cannot deliver any more (an error other than an overrun); it is closed. */
  onFatal: ((err: Error) => void) | null = null;

  constructor() {
    const b = getBinding();
    if (!b || !b.NetlinkSocket) throw netlinkError(EPROTONOSUPPORT, 'socket', { message: 'netlink is not available on this platform' });
    this.sock = new b.NetlinkSocket((buf, errno) => this.onDatagram(buf, errno));
    let rc = this.sock.open(b.NETLINK_GENERIC);
    if (rc < 0) throw netlinkError(-rc, this.sock.failedSyscall);
    rc = this.sock.start();
    if (rc < 0) {
      this.sock.close();
      throw netlinkError(-rc, 'uv_poll_start'); // libuv errors are -errno on Linux
    }
    this.sock.unref();
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
      if (m.seq === 0 && m.type !== NLMSG_ERROR && m.type !== NLMSG_DONE && this.onEvent) {
        let g: GenlMessage;
        try {
          g = parseGenl(m.payload);
        } catch (err) {
          this.onError?.(err as Error);
          return;
        }
        this.onEvent(g, m.type);
      }
      return;
    }
    try {
      if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
        const { error, message } = parseError(m);
        this.settle(p);
        if (error < 0) p.reject(netlinkError(-error, p.syscall, { kernelMessage: message, hint: -error === EPERM ? 'managing MPTCP needs CAP_NET_ADMIN' : undefined }));
        else p.resolve(p.parts);
        return;
      }
      // A reply (or one part of a dump); the ACK / NLMSG_DONE that follows finishes it.
      p.parts.push(parseGenl(m.payload));
    } catch (err) {
      this.settle(p);
      p.reject(err as Error);
    }
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
   * Sends a request (with NLM_F_ACK, so every request ends with an ACK or an
   * error) and resolves with the reply messages.
   */
  request(family: number, cmd: number, version: number, attrs: Attr[], opts: { dump?: boolean; syscall: string }): Promise<GenlMessage[]> {
    if (this.closed) return Promise.reject(netlinkError(EBADF, opts.syscall, { message: 'netlink socket closed' }));
    const seq = (this.seq = (this.seq + 1) >>> 0 || 1);
    const flags = NLM_F_REQUEST | NLM_F_ACK | (opts.dump ? NLM_F_DUMP : 0);
    const message = genlMessage(family, flags, seq, cmd, version, attrs);
    return new Promise((resolve, reject) => {
      this.queued.push({ seq, message, parts: [], dump: Boolean(opts.dump), syscall: opts.syscall, resolve, reject });
      this.pump();
      this.refresh();
    });
  }

  /** CTRL_CMD_GETFAMILY: the family's id, version and multicast groups. */
  async resolveFamily(name: string): Promise<GenlFamily> {
    const [reply] = await this.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, [[CTRL_ATTR_FAMILY_NAME, cstring(name)]], { syscall: `genl ${name}` });
    if (!reply) throw new NetlinkParseError('CTRL_CMD_GETFAMILY without a reply');
    const id = getU16(reply.attrs, CTRL_ATTR_FAMILY_ID, 'family id');
    if (id === undefined) throw new NetlinkParseError('CTRL_CMD_GETFAMILY reply without a family id');
    const groups = new Map<string, number>();
    const g = reply.attrs.get(CTRL_ATTR_MCAST_GROUPS);
    if (g) {
      for (const entry of parseAttrList(g)) {
        const a = parseAttrs(entry);
        const gname = getString(a, CTRL_ATTR_MCAST_GRP_NAME);
        const gid = getU32(a, CTRL_ATTR_MCAST_GRP_ID, 'group id');
        if (gname !== undefined && gid !== undefined) groups.set(gname, gid);
      }
    }
    return { id, version: getU32(reply.attrs, CTRL_ATTR_VERSION, 'family version') ?? 1, groups };
  }

  /** Joins a multicast group: 0 or throws. */
  join(group: number, syscall = 'setsockopt'): void {
    const rc = this.sock.addMembership(group);
    if (rc < 0) throw netlinkError(-rc, syscall, { hint: -rc === EPERM ? 'MPTCP events need CAP_NET_ADMIN' : undefined });
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
