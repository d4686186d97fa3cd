// The package as users load it: CommonJS and ESM entry points expose the same
// API from one instance; decoders agree with Node's own address formatting.
import * as net from 'node:net';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

describe('entry points', () => {
  it('require("mptcp") and import("mptcp") give the same functions', async () => {
    const cjs = require('mptcp');
    const esm = await import('mptcp');
    // Every export of the CommonJS entry is a named export of the ESM entry, the same object.
    const names = Object.keys(cjs).sort();
    expect(names).toEqual(expect.arrayContaining(['connect', 'createServer', 'isMptcp', 'monitor', 'pm', 'support']));
    expect(Object.keys(esm).filter((n) => n !== 'default').sort()).toEqual(names);
    for (const name of names) expect((esm as Record<string, unknown>)[name], name).toBe(cjs[name]);
    expect(esm.default).toBe(cjs);
    expect(new cjs.Server()).toBeInstanceOf(net.Server);
  });
  it('support() reports availability with a reason and features', () => {
    const s = require('mptcp').support();
    expect(typeof s.available).toBe('boolean');
    expect(s.available ? s.reason === null : typeof s.reason === 'string').toBe(true);
    expect(Object.keys(s.features).sort()).toEqual(['fullInfo', 'mptcpInfo', 'tcpIsMptcp']);
  });
});

describe('native build', () => {
  it('native/build.json lists every native/*.cc, and both builds read it', () => {
    const fs = require('node:fs') as typeof import('node:fs');
    const path = require('node:path') as typeof import('node:path');
    const root = path.join(__dirname, '..', '..');
    const list = (JSON.parse(fs.readFileSync(path.join(root, 'native', 'build.json'), 'utf8')) as { sources: string[] }).sources;
    const onDisk = fs.readdirSync(path.join(root, 'native')).filter((f) => f.endsWith('.cc')).map((f) => `native/${f}`);
    expect([...list].sort()).toEqual(onDisk.sort());
    expect(fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8')).toContain("require('./native/build.json').sources");
    expect(fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8')).toContain("require('./native/build.json').sources");
  });
});

describe('decoders', () => {
  const { formatIPv6, decodeMptcpInfo } = require('../../dist/decode.js');
  it('IPv6 text form matches Node (inet_ntop) for random and edge-case addresses', () => {
    const cases: Uint8Array[] = [];
    const edge = ['::', '::1', '1::', 'fe80::1:0:0:1', '2001:db8:0:0:1:0:0:1', '::ffff:10.0.0.1', '1:0:0:2:0:0:0:3', '0:1:0:0:0:0:0:0', '1:2:3:4:5:6:7:8', '1:0:2:0:3:0:4:0'];
    for (const e of edge) cases.push(Uint8Array.from(ipv6Bytes(e)));
    for (let i = 0; i < 2000; i++) {
      const b = new Uint8Array(16);
      for (let j = 0; j < 16; j++) b[j] = Math.random() < 0.4 ? 0 : Math.floor(Math.random() * 256);
      cases.push(b);
    }
    for (const b of cases) {
      const text = formatIPv6(new DataView(b.buffer, b.byteOffset, 16), 0);
      expect(net.isIPv6(text)).toBe(true);
      expect(text).toBe(new net.SocketAddress({ address: text, family: 'ipv6' }).address);
      expect(Buffer.from(ipv6Bytes(text)).equals(Buffer.from(b))).toBe(true);
    }
  });
  it('mptcp_info: a field past the returned length is absent, not 0', () => {
    const buf = new Uint8Array(96);
    const v = new DataView(buf.buffer);
    v.setUint32(12, 0xdeadbeef, true);
    const short = decodeMptcpInfo(v, 0, 48);
    expect(short.token).toBe(0xdeadbeef);
    expect(short.retransmits).toBe(0);
    expect('bytesSent' in short).toBe(false);
    expect('lastDataSent' in short).toBe(false);
    const full = decodeMptcpInfo(v, 0, 96);
    expect(full.bytesSent).toBe(0n);
    expect(full.lastAckRecv).toBe(0);
  });
});

/** Parses an IPv6 literal into its 16 bytes (test oracle, independent of the decoder). */
function ipv6Bytes(text: string): number[] {
  let head = text;
  let v4: number[] = [];
  const m = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (m) { v4 = m[1].split('.').map(Number); head = text.slice(0, -m[1].length) + '0:0'; }
  const [l, r] = head.includes('::') ? head.split('::') : [head, undefined];
  const left = l ? l.split(':') : [];
  const right = r ? r.split(':') : [];
  const words = r === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const out = words.flatMap((w) => { const n = parseInt(w, 16); return [n >> 8, n & 255]; });
  if (v4.length) out.splice(12, 4, ...v4);
  return out;
}
