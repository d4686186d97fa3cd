// The netlink parsers on random, truncated and corrupted input: every
// failure must be a NetlinkParseError (never a RangeError from reading past
// the end, never a crash), within a bounded time.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const nl = require('../../dist/netlink.js') as typeof import('../../lib/netlink');
const pmInternal = require('../../dist/pm.js') as { decodeEndpoint: (b: Buffer | undefined) => unknown };
const monInternal = require('../../dist/monitor.js') as { decodeEvent: (m: import('../../lib/netlink').GenlMessage) => unknown };
const diag = require('../../dist/diag.js') as typeof import('../../lib/diag');

/** A tiny deterministic PRNG, so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

function validSamples(): Buffer[] {
  const addr: import('../../lib/netlink').Attr = [1, [[1, nl.u16(2)], [2, nl.u8(7)], [3, Buffer.from([10, 0, 0, 1])], [5, nl.u16(80)], [6, nl.u32(5)], [7, nl.s32(3)]]];
  const addr6: import('../../lib/netlink').Attr = [1, [[1, nl.u16(10)], [2, nl.u8(9)], [4, Buffer.alloc(16, 0xab)], [6, nl.u32(2)]]];
  const reply = nl.genlMessage(30, 2, 0, 3, 1, [addr]);
  const reply6 = nl.genlMessage(30, 2, 0, 3, 1, [addr6, [2, nl.u32(4)], [3, nl.u32(8)]]);
  // An NLMSG_ERROR with a capped request echo and an extended-ack message.
  const err = Buffer.alloc(16 + 4 + 16 + 16);
  err.writeUInt32LE(err.length, 0); err.writeUInt16LE(2, 4); err.writeUInt16LE(0x300, 6);
  err.writeInt32LE(-22, 16); err.writeUInt32LE(20, 20);
  err.writeUInt16LE(14, 36); err.writeUInt16LE(1, 38); err.write('bad thing\0', 40);
  const done = Buffer.alloc(20);
  done.writeUInt32LE(20, 0); done.writeUInt16LE(3, 4);
  // A SUB_ESTABLISHED event: token, family, addresses, big-endian ports, ids, backup, if_idx.
  const be16 = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
  const event = nl.genlMessage(30, 0, 0, 10, 1, [[1, nl.u32(0x404b4e83)], [2, nl.u16(2)], [5, Buffer.from([10, 0, 2, 1])], [7, Buffer.from([10, 0, 2, 2])],
    [9, be16(42395)], [10, be16(38757)], [3, nl.u8(1)], [4, nl.u8(12)], [11, nl.u8(1)], [15, nl.s32(4)], [16, nl.u32(1)]]);
  return [reply, reply6, err, done, Buffer.concat([reply, reply6, done]), event, ...diagSamples()];
}

/** sock_diag replies: an MPTCP connection (inet_diag_msg + mptcp_info) and a TCP subflow (tcp_info + ULP "mptcp"). */
function diagSamples(): Buffer[] {
  const head = (family: number): Buffer => {
    const h = Buffer.alloc(72);
    h[0] = family; h[1] = 1; // ESTABLISHED
    h.writeUInt16BE(43210, 4); h.writeUInt16BE(80, 6);
    if (family === 2) { Buffer.from([10, 0, 1, 1]).copy(h, 8); Buffer.from([10, 0, 1, 2]).copy(h, 24); } else { h[8 + 15] = 1; h[24 + 15] = 2; }
    h.writeUInt32LE(1000, 64); h.writeUInt32LE(4242, 68);
    return h;
  };
  const info = Buffer.alloc(96);
  info[0] = 1; info.writeUInt32LE(0x404b4e83, 12); info[80] = 2;
  const conn = nl.netlinkMessage(20, 2, 0, head(2), [[2, info]]);
  const conn6 = nl.netlinkMessage(20, 2, 0, head(10), [[2, info.subarray(0, 48)]]);
  const tcpInfo = Buffer.alloc(232);
  tcpInfo[0] = 1; tcpInfo.writeUInt32LE(1424, 16);
  const ulp: import('../../lib/netlink').Attr = [19, [[1, nl.cstring('mptcp')], [3, [[1, nl.u32(7)], [2, nl.u32(0x404b4e83)], [8, nl.u32(0x4c)], [9, nl.u8(1)], [10, nl.u8(2)]]]]];
  const sub = nl.netlinkMessage(20, 2, 0, head(2), [[2, tcpInfo], ulp]);
  return [conn, conn6, sub, Buffer.concat([conn, sub])];
}

/** Runs every parser over one datagram the way the socket does. */
function parseAll(buf: Buffer): void {
  for (const m of nl.parseMessages(buf)) {
    if (m.type === 2 || m.type === 3) {
      nl.parseError(m);
      continue;
    }
    if (m.type === 20) {
      diag.decodeConnectionEntry(m);
      diag.decodeSubflowEntry(m);
      continue;
    }
    const g = nl.parseGenl(m.payload);
    monInternal.decodeEvent(g);
    const nest = g.cmd <= 7 ? g.attrs.get(1) : undefined; // MPTCP_PM_ATTR_ADDR of a command reply (events are 8+)
    pmInternal.decodeEndpoint(nest);
    if (nest) nl.parseAttrList(nest);
    if (g.cmd <= 7) { nl.getU8(g.attrs, 1); nl.getU16(g.attrs, 2); nl.getBe16(g.attrs, 3); nl.getU32(g.attrs, 4); nl.getS32(g.attrs, 5); nl.getString(g.attrs, 6); }
  }
}

describe('netlink parser fuzz', () => {
  it('valid samples parse', () => {
    for (const s of validSamples()) expect(() => parseAll(s)).not.toThrow();
    const [reply] = validSamples();
    const [m] = nl.parseMessages(reply);
    expect(pmInternal.decodeEndpoint(nl.parseGenl(m.payload).attrs.get(1))).toMatchObject({ id: 7, address: '10.0.0.1', port: 80, flags: ['signal', 'backup'] });
    const ev = nl.parseMessages(validSamples()[5])[0];
    expect(monInternal.decodeEvent(nl.parseGenl(ev.payload))).toEqual({
      type: 'subflowEstablished', token: 0x404b4e83, family: 4, localAddress: '10.0.2.1', remoteAddress: '10.0.2.2',
      localPort: 42395, remotePort: 38757, localId: 1, remoteId: 12, backup: true, ifindex: 4, resetReason: 1, resetReasonName: 'mptcp-error',
    });
    const [conn, , sub] = diagSamples().map((b) => nl.parseMessages(b)[0]);
    expect(diag.decodeConnectionEntry(conn)).toMatchObject({ family: 'IPv4', state: 'ESTABLISHED', localAddress: '10.0.1.1', localPort: 43210, remoteAddress: '10.0.1.2', remotePort: 80, uid: 1000, inode: 4242, token: 0x404b4e83, info: { subflows: 1, subflowsTotal: 2 } });
    expect(diag.decodeSubflowEntry(sub)).toMatchObject({ token: 0x404b4e83, subflow: { localId: 2, remoteId: 1, join: true, backup: false, backupRemote: false, fullyEstablished: true, mss: 1424, state: 'ESTABLISHED' } });
    const errMsg = nl.parseMessages(validSamples()[2])[0];
    expect(nl.parseError(errMsg)).toEqual({ error: -22, message: 'bad thing' });
  });

  it('random, truncated and corrupted messages raise NetlinkParseError only (2 s budget)', () => {
    const rand = rng(0xc0ffee);
    const samples = validSamples();
    const until = Date.now() + 2000;
    let runs = 0;
    let rejected = 0;
    while (Date.now() < until) {
      const base = samples[Math.floor(rand() * samples.length)];
      let buf: Buffer;
      const mode = Math.floor(rand() * 4);
      if (mode === 0) {
        buf = base.subarray(0, Math.floor(rand() * base.length)); // truncated
      } else if (mode === 1) {
        buf = Buffer.from(base); // corrupted bytes
        for (let i = 0, n = 1 + Math.floor(rand() * 6); i < n; i++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
      } else if (mode === 2) {
        buf = Buffer.alloc(Math.floor(rand() * 96)); // pure noise
        for (let i = 0; i < buf.length; i++) buf[i] = Math.floor(rand() * 256);
      } else {
        buf = Buffer.from(base); // lengths set to extremes
        const at = Math.floor(rand() * Math.max(1, buf.length - 4)) & ~1;
        buf.writeUInt16LE([0, 1, 3, 4, 0xffff, buf.length - at][Math.floor(rand() * 6)] & 0xffff, at);
      }
      try {
        parseAll(buf);
      } catch (err) {
        rejected++;
        if (!(err instanceof nl.NetlinkParseError)) throw new Error(`run ${runs}: ${String(err)} for ${buf.toString('hex')}`, { cause: err });
      }
      runs++;
    }
    expect(runs).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(0);
  });
});
