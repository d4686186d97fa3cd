// Honest fallback between MPTCP and plain TCP peers: data intact, isMptcp
// false, getInfo null, getSubflows [] on the side that is not MPTCP.
import { once } from 'node:events';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, hasIPv6, mptcp, recordingServer, skipReason, supported, type Recorder } from '../helpers/net';

const payload = Buffer.alloc(256 * 1024, 7).map((_, i) => i % 251);

describe.skipIf(!supported)(`fallback to TCP${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let plain: Recorder;
  let mp: Recorder;
  beforeAll(async () => {
    plain = await recordingServer(() => net.createServer(), [0, hasIPv6 ? '::' : '0.0.0.0']);
    mp = await recordingServer();
  });
  afterAll(async () => { await plain.close(); await mp.close(); });

  for (const host of hasIPv6 ? ['127.0.0.1', '::1'] : ['127.0.0.1']) {
    it(`MPTCP client -> plain net server (${host}): falls back, data intact`, async () => {
      const s = mptcp.connect(plain.port, host);
      await once(s, 'connect');
      expect(mptcp.isMptcp(s)).toBe(false);
      expect(mptcp.getInfo(s)).toBeNull();
      expect(mptcp.getSubflows(s)).toEqual([]);
      const r = await echo(s, payload);
      expect(r.data.equals(payload)).toBe(true);
      expect(plain.accepted.at(-1)).toBe(false);
    });
    it(`plain net client -> MPTCP server (${host}): plain TCP accepted, data intact`, async () => {
      const before = mp.accepted.length;
      const s = net.connect(mp.port, host);
      const r = await echo(s, payload);
      expect(r.data.equals(payload)).toBe(true);
      expect(r.mptcp).toBe(false);
      expect(mp.accepted[before]).toBe(false);
      expect(mp.sockets[before] && mptcp.getInfo(mp.sockets[before])).toBeNull();
    });
  }

  it("mptcp: false makes plain TCP even between library peers", async () => {
    const before = mp.accepted.length;
    const r = await echo(mptcp.connect({ port: mp.port, host: '127.0.0.1', mptcp: false }), 'tcp');
    expect(r).toMatchObject({ mptcp: false });
    expect(mp.accepted[before]).toBe(false);
    const tcpServer = await recordingServer(() => mptcp.createServer({ mptcp: false }), [0, '127.0.0.1']);
    const r2 = await echo(mptcp.connect(tcpServer.port, '127.0.0.1'), 'tcp');
    expect(r2.mptcp).toBe(false);
    expect(tcpServer.accepted).toEqual([false]);
    await tcpServer.close();
  });

  it("mptcp: 'require' connects when MPTCP is available", async () => {
    const r = await echo(mptcp.connect({ port: mp.port, host: '127.0.0.1', mptcp: 'require' }), 'req');
    expect(r.mptcp).toBe(true);
  });

  it('isMptcp is false for a socket made by plain net to a plain server, and for a destroyed one', async () => {
    const s = net.connect(plain.port, '127.0.0.1');
    await once(s, 'connect');
    expect(mptcp.isMptcp(s)).toBe(false);
    s.destroy();
    expect(mptcp.isMptcp(s)).toBe(false);
    expect(mptcp.getInfo(s)).toBeNull();
  });
});
