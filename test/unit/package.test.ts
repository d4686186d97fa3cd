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
  it('every subpath of "exports": the ESM entry has exactly the CommonJS names, the same objects, and the module as default', () => {
    const fs = require('node:fs') as typeof import('node:fs');
    const path = require('node:path') as typeof import('node:path');
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const root = path.join(__dirname, '..', '..');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json');
    expect(subpaths).toContain('.');
    // In a child: loading mptcp/register installs the switch (NODE_MPTCP=off: installs nothing).
    const script = `
      const subpaths = ${JSON.stringify(subpaths)};
      (async () => {
        const out = {};
        for (const sub of subpaths) {
          const spec = 'mptcp' + sub.slice(1);
          const cjs = require(spec);
          const esm = await import(spec);
          const cjsNames = Object.keys(cjs).filter((k) => k !== '__esModule').sort();
          const esmNames = Object.keys(esm).filter((k) => k !== 'default').sort();
          out[sub] = { cjsNames, esmNames, same: esmNames.filter((k) => esm[k] !== cjs[k]), defaultIsModule: esm.default === cjs || (cjsNames.length === 0 && esm.default === undefined) };
        }
        process.stdout.write(JSON.stringify(out));
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: root, env: { ...process.env, NODE_MPTCP: 'off' }, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as Record<string, { cjsNames: string[]; esmNames: string[]; same: string[]; defaultIsModule: boolean }>;
    for (const sub of subpaths) {
      expect(out[sub].esmNames, sub).toEqual(out[sub].cjsNames);
      expect(out[sub].same, `${sub}: ESM exports that are not the CommonJS objects`).toEqual([]);
      expect(out[sub].defaultIsModule, sub).toBe(true);
    }
    expect(out['.'].cjsNames).toEqual(expect.arrayContaining(['connect', 'createServer', 'isMptcp', 'monitor', 'pm', 'support', 'http', 'https', 'connector']));
    expect(out['./net'].cjsNames).toEqual(Object.keys(require('node:net')).sort());
  });

  it('the typings of every subpath, as a user resolves them through "exports"', () => {
    const path = require('node:path') as typeof import('node:path');
    const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
    const root = path.join(__dirname, '..', '..');
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--skipLibCheck',
      '--types', 'node', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', path.join(root, 'test', 'types', 'subpaths.ts')],
    { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
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
  it('the one-literal decoders of the hot path give what the field-by-field ones give', () => {
    const { decodeSubflow, decodeSubflowAt, decodeMptcpInfoAt, viewsOf } = require('../../dist/decode.js');
    // A 64-bit field is random, zero (0n without a BigInt), or has one half zero.
    const u64 = (v: DataView, off: number, i: number): void => {
      const kind = i % 4;
      if (kind === 1) v.setBigUint64(off, 0n, true);
      else if (kind === 2) v.setBigUint64(off, 1n << 32n, true);
      else if (kind === 3) v.setBigUint64(off, 0xffffffffn, true);
    };
    for (let i = 0; i < 500; i++) {
      const buf = new Uint8Array(1024);
      for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(Math.random() * 256);
      const v = new DataView(buf.buffer);
      for (const off of [16, 24, 32, 48, 56, 64, 72]) u64(v, off, i + off);
      for (const off of [104, 120, 128, 160, 200, 208]) u64(v, 304 + off, i + off);
      const views = viewsOf(buf.buffer);
      // mptcp_info: 96 bytes (one literal, typed views) against the fields a 95-byte read decodes, plus the last three.
      const full = decodeMptcpInfoAt(views, 0, 96);
      const fields = decodeMptcpInfo(v, 0, 95);
      expect(full).toEqual({ ...fields, lastDataSent: v.getUint32(84, true), lastDataRecv: v.getUint32(88, true), lastAckRecv: v.getUint32(92, true) });
      // The general entry point copies an unaligned struct (a netlink attribute's) to decode it the same way.
      const shifted = new Uint8Array(200);
      shifted.set(buf.subarray(0, 96), 4);
      expect(decodeMptcpInfo(new DataView(shifted.buffer), 4, 96)).toEqual(full);
      // A subflow: both sockaddrs IPv4 or IPv6 (random bytes otherwise), tcp_info of 280 bytes.
      const family = i % 2 ? 2 : 10;
      v.setUint16(0, family, true);
      v.setUint16(128, family, true);
      const id = v.getUint32(1000, true);
      const general = decodeSubflow(v, undefined, 0, 304, 280);
      general.id = id;
      expect(decodeSubflow(v, id, 0, 304, 280)).toEqual(general);
      expect(decodeSubflowAt(views, id, 0, 304, 280)).toEqual(general);
      expect(decodeSubflowAt(views, id, 0, 304, 280)).toEqual(general); // from the address cache
    }
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
