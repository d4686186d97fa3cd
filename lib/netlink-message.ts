// Netlink messages: building generic netlink requests, and strict parsing of
// what the kernel sends. Every length read from the kernel is checked against
// the bytes actually present; a malformed or truncated message raises
// NetlinkParseError, never an out-of-bounds read.
// References: netlink(7), genetlink (linux/genetlink.h), kernel-abi.md 5.
import { NetlinkParseError } from './errors';

export { NetlinkParseError } from './errors';

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

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
const NLMSGERR_ATTR_MSG = 1;

/** The generic netlink controller (linux/genetlink.h): its family id, command and attributes. */
export const GENL_ID_CTRL = 0x10;
export const CTRL = {
  CMD_GETFAMILY: 3,
  ATTR_FAMILY_ID: 1, ATTR_FAMILY_NAME: 2, ATTR_VERSION: 3, ATTR_MCAST_GROUPS: 7,
  ATTR_MCAST_GRP_NAME: 1, ATTR_MCAST_GRP_ID: 2,
} as const;

const align = (n: number): number => (n + 3) & ~3;


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

/** A whole netlink message: nlmsghdr, a fixed header of the protocol's (`head`), attributes. */
export function netlinkMessage(type: number, flags: number, seq: number, head: Buffer, attrs: Attr[]): Buffer {
  const start = NLMSG_HDRLEN + align(head.length);
  const len = start + attrsLength(attrs);
  const buf = Buffer.alloc(len);
  buf.writeUInt32LE(len, 0);
  buf.writeUInt16LE(type, 4);
  buf.writeUInt16LE(flags, 6);
  buf.writeUInt32LE(seq >>> 0, 8);
  buf.writeUInt32LE(0, 12);
  head.copy(buf, NLMSG_HDRLEN);
  writeAttrs(buf, start, attrs);
  return buf;
}

/** A whole generic netlink message: nlmsghdr + genlmsghdr + attributes. */
export function genlMessage(family: number, flags: number, seq: number, cmd: number, version: number, attrs: Attr[]): Buffer {
  return netlinkMessage(family, flags, seq, Buffer.from([cmd, version, 0, 0]), attrs);
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

/**
 * Like parseAttrs, every nla_len checked, but only the attributes of the
 * `wanted` types are kept (no Buffer for the others): for dumps of many
 * messages that are each read for one or two attributes.
 */
export function pickAttrs(buf: Buffer, wanted: readonly number[]): Attrs {
  const out: Attrs = new Map();
  let off = 0;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || len > buf.length - off) throw new NetlinkParseError(`nla_len ${len} with ${buf.length - off} bytes left`);
    const type = buf.readUInt16LE(off + 2) & NLA_TYPE_MASK;
    if (wanted.includes(type)) out.set(type, buf.subarray(off + NLA_HDRLEN, off + len));
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

