// Properties of the netlink parsers (lib/netlink.ts parseMessages,
// parseAttrs, parseAttrList, parseGenl, parseError; lib/monitor.ts
// decodeEvent; lib/pm.ts decodeEndpoint) on generated input: valid messages
// built with genlMessage round-trip; valid messages mutated (bits flipped,
// bytes set, truncated, extended, lengths overwritten with extreme values,
// regions cut or repeated) and arbitrary bytes give a result or a
// NetlinkParseError, never another exception; what does decode is
// well-formed. Pure functions, no sockets.
import { createRequire } from 'node:module';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { configure, fc, Tally } from '../helpers/fc';

const require = createRequire(import.meta.url);
const nl = require('../../dist/netlink.js') as typeof import('../../lib/netlink');
const { decodeEndpoint, ENDPOINT_FLAGS } = require('../../dist/pm.js') as typeof import('../../lib/pm');
const { decodeEvent } = require('../../dist/monitor.js') as typeof import('../../lib/monitor');
const { formatAddressBytes } = require('../../dist/decode.js') as typeof import('../../lib/decode');
type Attr = import('../../lib/netlink').Attr;
type GenlMessage = import('../../lib/netlink').GenlMessage;

configure('test/unit/properties.test.ts');

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const align = (n: number): number => (n + 3) & ~3;

// ---------------------------------------------------------- generators ----

const bytes = (maxLength: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength }).map((u) => Buffer.from(u));
const be16 = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };

/** Any attribute tree: types up to 0x3fff (sometimes with NLA_F_NET_BYTEORDER), leaves of 0-40 bytes, nests up to 3 deep. */
const { tree } = fc.letrec<{ tree: Attr[]; attr: Attr }>((tie) => ({
  tree: fc.array(tie('attr'), { maxLength: 6 }),
  attr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 0x3fff }), fc.integer({ min: 0, max: 0x3fff }).map((t) => t | 0x4000)), bytes(40)) as fc.Arbitrary<Attr>,
    fc.tuple(fc.integer({ min: 0, max: 20 }), tie('tree')) as fc.Arbitrary<Attr>,
  ),
}));

const v4Bytes = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((u) => Buffer.from(u));
const v6Bytes = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((u) => Buffer.from(u)),
  // Mostly zeros, to exercise '::' compression and the mapped / compatible forms.
  fc.array(fc.constantFrom(0, 0, 0, 0, 1, 0xff, 0xab), { minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a)),
  v4Bytes.map((b) => Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]), b])),
  v4Bytes.map((b) => Buffer.concat([Buffer.alloc(12), b])),
);

/** An MPTCP_PM_ATTR_ADDR nest as the kernel sends it in a get_addr reply, with optional parts. */
const endpointNest: fc.Arbitrary<Attr[]> = fc.record({
  v6: fc.boolean(), a4: v4Bytes, a6: v6Bytes, id: fc.integer({ min: 0, max: 255 }), port: fc.option(fc.integer({ min: 0, max: 0xffff })),
  flags: fc.option(fc.integer({ min: 0, max: 0xffffffff })), ifindex: fc.option(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  familyAttr: fc.boolean(),
}).map(({ v6, a4, a6, id, port, flags, ifindex, familyAttr }) => {
  const out: Attr[] = [];
  if (familyAttr) out.push([1, nl.u16(v6 ? 10 : 2)]);
  out.push([2, nl.u8(id)], [v6 ? 4 : 3, v6 ? a6 : a4]);
  if (port !== null) out.push([5, nl.u16(port)]);
  if (flags !== null) out.push([6, nl.u32(flags)]);
  if (ifindex !== null) out.push([7, nl.s32(ifindex)]);
  return out;
});

/** An MPTCP event's attributes: any subset, each of its kernel size, addresses of either family. */
const eventAttrs: fc.Arbitrary<Attr[]> = fc.record({
  token: fc.integer({ min: 0, max: 0xffffffff }).map((v) => [1, nl.u32(v)] as Attr),
  family: fc.constantFrom(2, 10, 0, 7).map((v) => [2, nl.u16(v)] as Attr),
  locId: fc.integer({ min: 0, max: 255 }).map((v) => [3, nl.u8(v)] as Attr),
  remId: fc.integer({ min: 0, max: 255 }).map((v) => [4, nl.u8(v)] as Attr),
  saddr: fc.oneof(v4Bytes.map((b) => [5, b] as Attr), v6Bytes.map((b) => [6, b] as Attr)),
  daddr: fc.oneof(v4Bytes.map((b) => [7, b] as Attr), v6Bytes.map((b) => [8, b] as Attr)),
  sport: fc.integer({ min: 0, max: 0xffff }).map((v) => [9, be16(v)] as Attr),
  dport: fc.integer({ min: 0, max: 0xffff }).map((v) => [10, be16(v)] as Attr),
  backup: fc.integer({ min: 0, max: 255 }).map((v) => [11, nl.u8(v)] as Attr),
  error: fc.integer({ min: 0, max: 255 }).map((v) => [12, nl.u8(v)] as Attr),
  flags: fc.integer({ min: 0, max: 0xffff }).map((v) => [13, nl.u16(v)] as Attr),
  timeout: fc.integer({ min: 0, max: 0xffffffff }).map((v) => [14, nl.u32(v)] as Attr),
  ifindex: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v) => [15, nl.s32(v)] as Attr),
  resetReason: fc.integer({ min: 0, max: 0xffffffff }).map((v) => [16, nl.u32(v)] as Attr),
  resetFlags: fc.integer({ min: 0, max: 0xffffffff }).map((v) => [17, nl.u32(v)] as Attr),
  serverSide: fc.integer({ min: 0, max: 255 }).map((v) => [18, nl.u8(v)] as Attr),
}, { requiredKeys: [] }).map((r) => Object.values(r));

const header = fc.record({
  family: fc.oneof(fc.constantFrom(0x10, 30, 31, NLMSG_ERROR, NLMSG_DONE), fc.integer({ min: 0, max: 0xffff })),
  flags: fc.oneof(fc.constantFrom(0, 2, 0x100, 0x200, 0x300), fc.integer({ min: 0, max: 0xffff })),
  seq: fc.integer({ min: 0, max: 0xffffffff }),
  cmd: fc.integer({ min: 0, max: 255 }),
  version: fc.integer({ min: 0, max: 255 }),
});

/** NLMSG_ERROR (or an ACK): the error, the echoed request (capped: its header only) and extended-ack TLVs. */
const errorMessage: fc.Arbitrary<Buffer> = fc.record({
  error: fc.oneof(fc.constantFrom(0, -1, -22, -17, -95), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })),
  capped: fc.boolean(), acks: fc.boolean(), echo: fc.tuple(header, tree), msg: fc.option(fc.string({ maxLength: 30 })),
  done: fc.boolean(), seq: fc.integer({ min: 0, max: 0xffffffff }),
}).map(({ error, capped, acks, echo, msg, done, seq }) => {
  const [h, attrs] = echo;
  const req = nl.genlMessage(h.family, h.flags, h.seq, h.cmd, h.version, attrs);
  const echoed = capped ? req.subarray(0, 16) : req;
  const tlvs = acks && msg !== null ? nl.genlMessage(0, 0, 0, 0, 0, [[1, nl.cstring(msg)]]).subarray(20) : Buffer.alloc(0);
  const body = done ? nl.s32(error) : Buffer.concat([nl.s32(error), echoed, tlvs]);
  const out = Buffer.alloc(16 + align(body.length));
  out.writeUInt32LE(16 + body.length, 0);
  out.writeUInt16LE(done ? NLMSG_DONE : NLMSG_ERROR, 4);
  out.writeUInt16LE((capped ? 0x100 : 0) | (acks ? 0x200 : 0) | (done ? 2 : 0), 6);
  out.writeUInt32LE(seq, 8);
  body.copy(out, 16);
  return out;
});

/** One valid message of any kind the socket meets. */
const validMessage: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(header, tree).map(([h, attrs]) => nl.genlMessage(h.family, h.flags, h.seq, h.cmd, h.version, attrs)),
  fc.tuple(header, endpointNest, fc.option(tree, { nil: undefined })).map(([h, nest, extra]) => nl.genlMessage(30, 2, h.seq, 3, 1, [[1, nest], ...(extra ?? [])])),
  fc.tuple(header, fc.integer({ min: 0, max: 20 }), eventAttrs).map(([_h, cmd, attrs]) => nl.genlMessage(31, 0, 0, cmd, 1, attrs)),
  errorMessage,
);

/** A datagram: one to four valid messages back to back. */
const validDatagram = fc.array(validMessage, { minLength: 1, maxLength: 4 }).map((ms) => Buffer.concat(ms));

const extremes = (len: number, at: number): number[] => [0, 1, 3, 4, 5, 15, 16, 17, 19, 20, 0x7fff, 0xffff, len - at, len - at + 1, len - at - 1, 0xffffffff];

/** One corruption of a buffer. */
const mutation = fc.oneof(
  fc.tuple(fc.constant('flip' as const), fc.nat(), fc.integer({ min: 0, max: 7 })),
  fc.tuple(fc.constant('set' as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
  fc.tuple(fc.constant('truncate' as const), fc.nat(), fc.constant(0)),
  fc.tuple(fc.constant('extend' as const), fc.integer({ min: 1, max: 24 }), fc.integer({ min: 0, max: 255 })),
  fc.tuple(fc.constant('len16' as const), fc.nat(), fc.nat(15)),
  fc.tuple(fc.constant('len32' as const), fc.nat(), fc.nat(15)),
  fc.tuple(fc.constant('cut' as const), fc.nat(), fc.integer({ min: 1, max: 12 })),
  fc.tuple(fc.constant('repeat' as const), fc.nat(), fc.integer({ min: 1, max: 24 })),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(input: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const [op, x, y] of muts) {
    const at = b.length ? x % b.length : 0;
    switch (op) {
      case 'flip': if (b.length) b[at] ^= 1 << y; break;
      case 'set': if (b.length) b[at] = y; break;
      case 'truncate': b = b.subarray(0, b.length ? x % (b.length + 1) : 0); break;
      case 'extend': b = Buffer.concat([b, Buffer.alloc(x, y)]); break;
      case 'len16': case 'len32': {
        // Length fields sit at 4-byte boundaries (nlmsg_len, nla_len).
        const off = at & ~3;
        const v = extremes(b.length, off)[y];
        if (op === 'len16' && off + 2 <= b.length) b.writeUInt16LE(v & 0xffff, off);
        if (op === 'len32' && off + 4 <= b.length) b.writeUInt32LE(v >>> 0, off);
        break;
      }
      case 'cut': b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + y))]); break;
      case 'repeat': b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + y), b.subarray(at)]); break;
    }
  }
  return b;
}

// ------------------------------------------------------------ checking ----

const eventTypes = new Set(['created', 'established', 'closed', 'announced', 'removed', 'subflowEstablished', 'subflowClosed', 'subflowPriority', 'listenerCreated', 'listenerClosed']);
const flagNames = new Set(Object.keys(ENDPOINT_FLAGS));
const isPort = (p: unknown): boolean => Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 0xffff;

/** What decodeEndpoint returns, when it returns something, is a well-formed endpoint. */
function checkEndpoint(ep: ReturnType<typeof decodeEndpoint>): void {
  if (ep === null) return;
  expect(Number.isInteger(ep.id) && ep.id >= 0 && ep.id <= 255).toBe(true);
  expect(net.isIP(ep.address), ep.address).toBe(ep.family);
  for (const f of ep.flags) expect(flagNames.has(f)).toBe(true);
  if (ep.port !== undefined) expect(isPort(ep.port) && ep.port > 0).toBe(true);
  if (ep.ifindex !== undefined) expect(Number.isInteger(ep.ifindex) && ep.ifindex > 0).toBe(true);
}

/** What decodeEvent returns, when it returns something, is a well-formed event. */
function checkEvent(e: ReturnType<typeof decodeEvent>): void {
  if (e === null) return;
  expect(eventTypes.has(e.type)).toBe(true);
  for (const k of ['localPort', 'remotePort'] as const) if (e[k] !== undefined) expect(isPort(e[k])).toBe(true);
  for (const k of ['localAddress', 'remoteAddress'] as const) if (e[k] !== undefined) expect(net.isIP(e[k]!), e[k]).not.toBe(0);
  if (e.family !== undefined) expect([4, 6]).toContain(e.family);
  if (e.token !== undefined) expect(e.token >>> 0).toBe(e.token);
}

/** Runs every parser over one datagram, as the socket and its users do. */
function parseAll(buf: Buffer): string {
  const msgs = nl.parseMessages(buf);
  for (const m of msgs) {
    expect(m.payload.length).toBeLessThanOrEqual(buf.length - 16);
    if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
      const { error, message } = nl.parseError(m);
      expect(Number.isInteger(error)).toBe(true);
      if (message !== undefined) expect(typeof message).toBe('string');
      continue;
    }
    const g = nl.parseGenl(m.payload);
    checkEvent(decodeEvent(g));
    for (const [, value] of g.attrs) {
      // Any attribute may be a nest (the parsers cannot know): try both readings.
      checkEndpoint(decodeEndpoint(value));
      nl.parseAttrList(value);
    }
    nl.getU8(g.attrs, 1); nl.getU16(g.attrs, 2); nl.getBe16(g.attrs, 3); nl.getU32(g.attrs, 4); nl.getS32(g.attrs, 5); nl.getString(g.attrs, 6);
  }
  return msgs.length === 0 ? 'empty' : `${msgs.length} message(s)`;
}

/** Only a NetlinkParseError may come out of the parsers. */
function resultOrParseError(buf: Buffer, tally: Tally): void {
  try {
    tally.add(parseAll(buf));
  } catch (err) {
    if (err instanceof nl.NetlinkParseError) {
      expect(err.code).toBe('ERR_MPTCP_NETLINK_MALFORMED');
      tally.add('NetlinkParseError');
      return;
    }
    throw new Error(`${(err as Error)?.constructor?.name}: ${(err as Error)?.message} for ${buf.toString('hex')}`, { cause: err });
  }
}

/** The expected attribute map of a tree: the last of each type wins, a nest is its encoding. */
function expectedAttrs(attrs: Attr[]): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (const [type, value] of attrs) {
    out.set(type & 0x3fff, Array.isArray(value) ? nl.genlMessage(0, 0, 0, 0, 0, value).subarray(20) : value);
  }
  return out;
}

/** Node's own text for 16 address bytes (uv_inet_ntop, as in socket.remoteAddress). */
function nodeIPv6(b: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2).toString(16));
  return new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

// ---------------------------------------------------------- properties ----

describe('netlink parser properties', () => {
  it('valid messages built with genlMessage parse back to what was built', () => {
    fc.assert(fc.property(fc.array(fc.tuple(header, tree), { minLength: 1, maxLength: 4 }), (parts) => {
      const buf = Buffer.concat(parts.map(([h, attrs]) => nl.genlMessage(h.family, h.flags, h.seq, h.cmd, h.version, attrs)));
      const msgs = nl.parseMessages(buf);
      expect(msgs).toHaveLength(parts.length);
      msgs.forEach((m, i) => {
        const [h, attrs] = parts[i];
        expect({ type: m.type, flags: m.flags, seq: m.seq, pid: m.pid }).toEqual({ type: h.family, flags: h.flags, seq: h.seq, pid: 0 });
        const g = nl.parseGenl(m.payload);
        expect({ cmd: g.cmd, version: g.version }).toEqual({ cmd: h.cmd, version: h.version });
        expect(g.attrs).toEqual(expectedAttrs(attrs));
        // Nests parse back too, level by level.
        for (const [type, value] of attrs) {
          if (Array.isArray(value) && attrs.filter(([t]) => (t & 0x3fff) === (type & 0x3fff)).length === 1) {
            expect(nl.parseAttrs(g.attrs.get(type & 0x3fff)!)).toEqual(expectedAttrs(value));
            expect(nl.parseAttrList(g.attrs.get(type & 0x3fff)!)).toHaveLength(value.length);
          }
        }
      });
    }), { numRuns: 300 });
  });

  it('endpoint nests decode to what was encoded', () => {
    fc.assert(fc.property(endpointNest, (nest) => {
      const buf = nl.genlMessage(0, 0, 0, 0, 0, nest).subarray(20);
      const ep = decodeEndpoint(buf);
      checkEndpoint(ep);
      const a = new Map(nest.map(([t, v]) => [t, v as Buffer]));
      const v6 = a.has(4);
      expect(ep).toMatchObject({ id: a.get(2)![0], family: v6 ? 6 : 4, address: formatAddressBytes(a.get(v6 ? 4 : 3)!) });
      const flags = a.get(6)?.readUInt32LE(0) ?? 0;
      // unknownFlags is a bit mask of the kernel's u32 flags: never negative.
      if (ep!.unknownFlags !== undefined) expect(ep!.unknownFlags >>> 0, `unknownFlags ${ep!.unknownFlags} for flags 0x${flags.toString(16)}`).toBe(ep!.unknownFlags);
      expect((ep!.flags.reduce((m, f) => m | ENDPOINT_FLAGS[f], 0) | (ep!.unknownFlags ?? 0)) >>> 0).toBe(flags);
      const port = a.get(5)?.readUInt16LE(0);
      expect(ep!.port).toBe(port ? port : undefined);
    }), { numRuns: 300 });
  });

  it('events decode to what was encoded', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 20 }), eventAttrs, (cmd, attrs) => {
      const [m] = nl.parseMessages(nl.genlMessage(31, 0, 0, cmd, 1, attrs));
      const e = decodeEvent(nl.parseGenl(m.payload));
      checkEvent(e);
      const a = new Map(attrs.map(([t, v]) => [t, v as Buffer]));
      if (e === null) return;
      if (a.has(1)) expect(e.token).toBe(a.get(1)!.readUInt32LE(0));
      if (a.has(9)) expect(e.localPort).toBe(a.get(9)!.readUInt16BE(0));
      if (a.has(10)) expect(e.remotePort).toBe(a.get(10)!.readUInt16BE(0));
      if (a.has(5)) expect(e.localAddress).toBe(formatAddressBytes(a.get(5)!));
      else if (a.has(6)) expect(e.localAddress).toBe(formatAddressBytes(a.get(6)!));
    }), { numRuns: 300 });
  });

  it('mutated valid datagrams give a result or a NetlinkParseError, nothing else', () => {
    const tally = new Tally();
    fc.assert(fc.property(validDatagram, fc.array(mutation, { minLength: 1, maxLength: 4 }), (buf, muts) => {
      resultOrParseError(mutate(buf, muts), tally);
    }), { numRuns: 4000 });
    console.log(`[properties] mutated datagrams: ${tally}`);
    expect(tally.get('NetlinkParseError')).toBeGreaterThan(0);
  });

  it('arbitrary bytes, and arbitrary bytes behind a valid header, give a result or a NetlinkParseError', () => {
    const tally = new Tally();
    fc.assert(fc.property(fc.oneof(bytes(96), fc.tuple(header, bytes(80)).map(([h, body]) => {
      const b = Buffer.concat([Buffer.alloc(20), body]);
      b.writeUInt32LE(b.length, 0); b.writeUInt16LE(h.family, 4); b.writeUInt16LE(h.flags, 6); b[16] = h.cmd;
      return b;
    })), (buf) => resultOrParseError(buf, tally)), { numRuns: 2000 });
    console.log(`[properties] arbitrary bytes: ${tally}`);
  });

  it('decodeEvent, decodeEndpoint and parseError on any attribute sizes: a result or a NetlinkParseError', () => {
    const sizedAttrs = fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), bytes(20)), { maxLength: 12 });
    const only = (fn: () => void): void => {
      try { fn(); } catch (err) { if (!(err instanceof nl.NetlinkParseError)) throw err; }
    };
    fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), sizedAttrs, (cmd, attrs) => {
      const g: GenlMessage = { cmd, version: 1, attrs: new Map(attrs) };
      only(() => checkEvent(decodeEvent(g)));
      const nest = nl.genlMessage(0, 0, 0, 0, 0, attrs).subarray(20);
      only(() => checkEndpoint(decodeEndpoint(nest)));
    }), { numRuns: 2000 });
    fc.assert(fc.property(fc.constantFrom(NLMSG_ERROR, NLMSG_DONE), fc.integer({ min: 0, max: 0xffff }), bytes(64), (type, flags, payload) => {
      only(() => nl.parseError({ type, flags, seq: 1, pid: 0, payload }));
    }), { numRuns: 2000 });
  });

  it('addresses are formatted as Node formats them (socket.remoteAddress, inet_ntop)', () => {
    fc.assert(fc.property(v6Bytes, (b) => {
      expect(formatAddressBytes(b), b.toString('hex')).toBe(nodeIPv6(b));
    }), { numRuns: 1000 });
    fc.assert(fc.property(v4Bytes, (b) => {
      expect(formatAddressBytes(b)).toBe(new net.SocketAddress({ address: [...b].join('.') }).address);
    }), { numRuns: 200 });
  });
});
