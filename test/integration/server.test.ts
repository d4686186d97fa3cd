// Servers: every listen form ends on an MPTCP listener (proven by an MPTCP
// client's accepted socket), and listen(server) works for http, https, tls.
import { once } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { echo, hasIPv6, mptcp, selfSignedCert, skipReason, supported } from '../helpers/net';

async function accepted(server: net.Server, host = '127.0.0.1'): Promise<{ serverSide: boolean; clientSide: boolean }> {
  const port = (server.address() as net.AddressInfo).port;
  const conn = once(server, 'connection') as Promise<[net.Socket]>;
  const client = mptcp.connect(port, host);
  await once(client, 'connect');
  const [s] = await conn;
  const r = { serverSide: mptcp.isMptcp(s), clientSide: mptcp.isMptcp(client) };
  client.destroy();
  s.destroy();
  return r;
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((r) => (server.listening ? server.close(() => r()) : r()));
}

describe.skipIf(!supported)(`mptcp.createServer listen forms${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('is a net.Server and accepts MPTCP on the default dual-stack address', async () => {
    const server = mptcp.createServer();
    expect(server).toBeInstanceOf(net.Server);
    server.listen(0);
    await once(server, 'listening');
    const addr = server.address() as net.AddressInfo;
    expect(addr.address).toBe(hasIPv6 ? '::' : '0.0.0.0');
    expect(await accepted(server, '127.0.0.1')).toEqual({ serverSide: true, clientSide: true });
    if (hasIPv6) expect(await accepted(server, '::1')).toEqual({ serverSide: true, clientSide: true });
    await closeServer(server);
  });
  it('(port, host, backlog, cb)', async () => {
    const server = mptcp.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', 10, () => r()));
    expect((server.address() as net.AddressInfo).address).toBe('127.0.0.1');
    expect(await accepted(server)).toEqual({ serverSide: true, clientSide: true });
    await closeServer(server);
  });
  it('(cb) and (options with port undefined) pick a free port', async () => {
    const a = mptcp.createServer();
    await new Promise<void>((r) => a.listen(() => r()));
    expect((a.address() as net.AddressInfo).port).toBeGreaterThan(0);
    const b = mptcp.createServer();
    await new Promise<void>((r) => b.listen({ port: undefined, host: '127.0.0.1' }, () => r()));
    expect(await accepted(b)).toEqual({ serverSide: true, clientSide: true });
    await closeServer(a);
    await closeServer(b);
  });
  it('options: host name, backlog, exclusive', async () => {
    const server = mptcp.createServer();
    await new Promise<void>((r) => server.listen({ port: 0, host: 'localhost', backlog: 5, exclusive: true }, () => r()));
    expect((server.address() as net.AddressInfo).address).toBe('127.0.0.1');
    expect(await accepted(server)).toEqual({ serverSide: true, clientSide: true });
    await closeServer(server);
  });
  it.skipIf(!hasIPv6)('ipv6Only refuses IPv4 peers; the default is dual-stack', async () => {
    const server = mptcp.createServer();
    await new Promise<void>((r) => server.listen({ port: 0, host: '::', ipv6Only: true }, () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const c = mptcp.connect(port, '127.0.0.1');
    const [err] = (await once(c, 'error').catch((e) => [e])) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
    expect(await accepted(server, '::1')).toEqual({ serverSide: true, clientSide: true });
    await closeServer(server);
  });
  it('reusePort lets two MPTCP servers share a port', async () => {
    const a = mptcp.createServer();
    await new Promise<void>((r) => a.listen({ port: 0, host: '127.0.0.1', reusePort: true }, () => r()));
    const port = (a.address() as net.AddressInfo).port;
    const b = mptcp.createServer();
    await new Promise<void>((r, j) => { b.once('error', j); b.listen({ port, host: '127.0.0.1', reusePort: true }, () => r()); });
    expect((b.address() as net.AddressInfo).port).toBe(port);
    await closeServer(a);
    expect(await accepted(b)).toEqual({ serverSide: true, clientSide: true });
    await closeServer(b);
  });
  it('signal closes the server on abort', async () => {
    const ac = new AbortController();
    const server = mptcp.createServer();
    await new Promise<void>((r) => server.listen({ port: 0, signal: ac.signal }, () => r()));
    const closedP = once(server, 'close');
    ac.abort();
    await closedP;
    expect(server.listening).toBe(false);
  });
  it('listen twice throws ERR_SERVER_ALREADY_LISTEN like net', async () => {
    const server = mptcp.createServer();
    server.listen(0);
    await once(server, 'listening');
    expect(() => server.listen(0)).toThrow(expect.objectContaining({ code: 'ERR_SERVER_ALREADY_LISTEN' }));
    await closeServer(server);
  });
  it('a server can listen again after close, and connectionListener works', async () => {
    const server = mptcp.createServer((s) => s.end('hi'));
    for (let i = 0; i < 2; i++) {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const c = mptcp.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      const chunks: Buffer[] = [];
      c.on('data', (d) => chunks.push(d));
      await once(c, 'end');
      expect(Buffer.concat(chunks).toString()).toBe('hi');
      c.destroy();
      await closeServer(server);
    }
  });
  it('an IPC path is passed to net unchanged', async () => {
    const p = path.join(os.tmpdir(), `mptcp-test-${process.pid}.sock`);
    const server = mptcp.createServer((s) => s.end('ipc'));
    await new Promise<void>((r) => server.listen(p, () => r()));
    const c = mptcp.connect(p);
    const chunks: Buffer[] = [];
    c.on('data', (d) => chunks.push(d));
    await once(c, 'end');
    expect(Buffer.concat(chunks).toString()).toBe('ipc');
    await closeServer(server);
  });
});

describe.skipIf(!supported)(`mptcp.listen(server) for http, https, tls${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let key: Buffer;
  let cert: Buffer;
  beforeAll(() => ({ key, cert } = selfSignedCert()));

  it('http.Server over MPTCP, requests made through an MPTCP agent', async () => {
    const seen: boolean[] = [];
    const server = http.createServer((req, res) => { seen.push(mptcp.isMptcp(req.socket)); res.end(`hello ${req.url}`); });
    expect(mptcp.listen(server, 0, '127.0.0.1')).toBe(server);
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const agent = new mptcp.http.Agent({ keepAlive: true });
    for (const p of ['/a', '/b']) {
      const body = await new Promise<string>((resolve, reject) => {
        http.get({ port, host: '127.0.0.1', path: p, agent }, (res) => {
          let d = '';
          res.on('data', (c) => (d += c));
          res.on('end', () => resolve(d));
        }).on('error', reject);
      });
      expect(body).toBe(`hello ${p}`);
    }
    expect(seen).toEqual([true, true]);
    agent.destroy();
    await closeServer(server);
  });
  it('https.Server over MPTCP with a self-signed certificate', async () => {
    const seen: boolean[] = [];
    const server = https.createServer({ key, cert }, (req, res) => { seen.push(mptcp.isMptcp(req.socket)); res.end('secure'); });
    mptcp.listen(server, { port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const body = await new Promise<string>((resolve, reject) => {
      https.get({ port, host: '127.0.0.1', ca: cert, servername: 'localhost', createConnection: (o: tls.ConnectionOptions) => tls.connect({ ...o, socket: mptcp.connect(port, '127.0.0.1') }) } as https.RequestOptions, (res) => {
        let d = '';
        res.on('data', (c) => (d += c));
        res.on('end', () => resolve(d));
      }).on('error', reject);
    });
    expect(body).toBe('secure');
    expect(seen).toEqual([true]);
    await closeServer(server);
  });
  it('tls.Server over MPTCP; isMptcp works on TLSSockets of both sides', async () => {
    let serverSide: boolean | undefined;
    const server = tls.createServer({ key, cert }, (s) => { serverSide = mptcp.isMptcp(s); s.end('tls ok'); });
    mptcp.listen(server, 0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const c = tls.connect({ socket: mptcp.connect(port, '127.0.0.1'), ca: cert, servername: 'localhost' });
    await once(c, 'secureConnect');
    expect(c.authorized).toBe(true);
    expect(mptcp.isMptcp(c)).toBe(true);
    expect(mptcp.getInfo(c)).not.toBeNull();
    const chunks: Buffer[] = [];
    c.on('data', (d) => chunks.push(d));
    await once(c, 'end');
    expect(Buffer.concat(chunks).toString()).toBe('tls ok');
    expect(serverSide).toBe(true);
    c.destroy();
    await closeServer(server);
  });
  it('a plain net.Server passed to listen() accepts MPTCP', async () => {
    const server = net.createServer((s) => s.pipe(s));
    mptcp.listen(server, { port: 0, host: '127.0.0.1' });
    await once(server, 'listening');
    expect(await accepted(server)).toEqual({ serverSide: true, clientSide: true });
    const r = await echo(mptcp.connect((server.address() as net.AddressInfo).port, '127.0.0.1'), 'net');
    expect(r.data.toString()).toBe('net');
    await closeServer(server);
  });
});
