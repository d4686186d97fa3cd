// getInfo / getSubflows report what the kernel reports: consistent with the
// bytes the test moved, and with ss -M / ss -ti for the same connection.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mptcp, skipReason, supported } from '../helpers/net';

const haveSs = (() => { try { execFileSync('ss', ['-V'], { stdio: 'ignore' }); return true; } catch { return false; } })();

describe.skipIf(!supported)(`getInfo / getSubflows${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let server: net.Server;
  let serverSide: net.Socket;
  let client: net.Socket;
  const SENT = 300_000;
  const BACK = 12_345;

  beforeAll(async () => {
    server = mptcp.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    client = mptcp.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    [serverSide] = await accepted;
    let got = 0;
    await new Promise<void>((resolve) => {
      serverSide.on('data', (d: Buffer) => {
        got += d.length;
        if (got === SENT) serverSide.write(Buffer.alloc(BACK, 1), () => resolve());
      });
      client.write(Buffer.alloc(SENT, 2));
    });
    let back = 0;
    await new Promise<void>((resolve) => client.on('data', (d: Buffer) => { back += d.length; if (back === BACK) resolve(); }));
    await new Promise((r) => setTimeout(r, 100)); // let the last ACKs land
  });
  afterAll(async () => {
    client.destroy();
    serverSide.destroy();
    await new Promise((r) => server.close(r));
  });

  it('getInfo: byte counters match the bytes moved, on both sides', () => {
    const c = mptcp.getInfo(client)!;
    const s = mptcp.getInfo(serverSide)!;
    expect(c).not.toBeNull();
    expect(s).not.toBeNull();
    expect(c.bytesSent).toBe(BigInt(SENT));
    expect(c.bytesAcked).toBe(BigInt(SENT));
    expect(c.bytesReceived).toBe(BigInt(BACK));
    expect(s.bytesReceived).toBe(BigInt(SENT));
    expect(s.bytesSent).toBe(BigInt(BACK));
    expect(c.remoteKeyReceived).toBe(true);
    expect(c.fallback).toBe(false);
    expect(c.subflows).toBe(0);
    expect(c.subflowsTotal).toBe(1);
    expect(c.token).not.toBe(0);
    expect(c.token).not.toBe(s.token);
    // MPTCP-level sequence numbers: what one side wrote is what the other expects next.
    expect(c.writeSeq).toBe(s.rcvNxt);
    expect(s.writeSeq).toBe(c.rcvNxt);
    expect(c.sndUna).toBe(c.writeSeq);
    expect(typeof c.lastDataSent).toBe('number');
  });

  it('getSubflows: one subflow with the connection addresses and matching tcp_info', () => {
    const [sf, ...rest] = mptcp.getSubflows(client);
    expect(rest).toEqual([]);
    expect(sf).toMatchObject({
      id: 1, family: 'IPv4', state: 'ESTABLISHED',
      localAddress: '127.0.0.1', localPort: client.localPort,
      remoteAddress: '127.0.0.1', remotePort: client.remotePort,
    });
    // tcpi_bytes_sent counts data sent again too (a loopback retransmit under load).
    expect(sf.bytesSent - sf.bytesRetrans).toBe(BigInt(SENT));
    expect(sf.bytesReceived).toBe(BigInt(BACK));
    expect(sf.rtt).toBeGreaterThan(0);
    expect(sf.mss).toBeGreaterThan(0);
    expect(sf.cwnd).toBeGreaterThan(0);
    const [ss] = mptcp.getSubflows(serverSide);
    expect(ss).toMatchObject({ localPort: client.remotePort, remotePort: client.localPort, bytesReceived: BigInt(SENT) });
    const snap = mptcp.getSnapshot(client)!;
    expect(snap.info.token).toBe(mptcp.getInfo(client)!.token);
    expect(snap.subflows).toHaveLength(1);
  });

  it.skipIf(!haveSs)('agrees with ss -M (MPTCP level) and ss -ti (subflow level)', () => {
    const info = mptcp.getInfo(client)!;
    const m = execFileSync('ss', ['-Mni', 'state', 'all', `sport = :${client.localPort}`]).toString();
    expect(m).toContain(`token:${info.token.toString(16)}`);
    expect(m).toContain(`write_seq:${info.writeSeq.toString(16)}`);
    expect(m).toContain(`snd_una:${info.sndUna.toString(16)}`);
    expect(m).toContain(`rcv_nxt:${info.rcvNxt.toString(16)}`);
    const t = execFileSync('ss', ['-tni', `sport = :${client.localPort}`]).toString();
    const [sf] = mptcp.getSubflows(client);
    expect(t).toContain('tcp-ulp-mptcp');
    expect(t).toContain(`bytes_sent:${sf.bytesSent}`);
    expect(t).toContain(`bytes_acked:${sf.bytesAcked}`);
    expect(t).toContain(`bytes_received:${sf.bytesReceived}`);
    expect(t).toContain(`mss:${sf.mss}`);
    expect(t).toContain(`pmtu:${sf.pmtu}`);
    expect(t).toMatch(new RegExp(`token:[0-9a-f]+\\(id:\\d+\\)/${info.token.toString(16)}\\(id:`));
  });

  it('the legacy MPTCP_TCPINFO + MPTCP_SUBFLOW_ADDRS path (kernels 5.16-6.4) reads the same subflow', async () => {
    const { readSubflowsLegacy, fdOf } = (await import('node:module')).createRequire(import.meta.url)('../../dist/info.js');
    const [legacy] = readSubflowsLegacy(fdOf(client));
    const [full] = mptcp.getSubflows(client);
    expect(legacy.id).toBeUndefined();
    expect({ ...legacy, id: full.id, lastDataSent: 0, lastDataRecv: 0, rtt: 0, rttVar: 0, pacingRate: 0n, deliveryRate: 0n })
      .toEqual({ ...full, lastDataSent: 0, lastDataRecv: 0, rtt: 0, rttVar: 0, pacingRate: 0n, deliveryRate: 0n });
  });
});
