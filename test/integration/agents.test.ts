// HTTP clients over MPTCP: mptcp.http.Agent, mptcp.https.Agent and
// mptcp.connector() for undici (request, fetch, Agent/Pool/Client, the
// global dispatcher Node's built-in fetch uses). Every request goes to an
// http/https server made to listen with mptcp.listen, which records
// isMptcp(req.socket) for each request: the server-side proof that the
// client used MPTCP. Bodies are echoed back and checked.
import { once } from 'node:events';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import * as undici from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { leakedSockets, mptcp, openFdTargets, selfSignedCert, skipReason, stuckListener, supported } from '../helpers/net';

interface Seen { mptcp: boolean; remotePort: number; servername: string | false | undefined; method: string; url: string; body: string }

interface TestServer {
  port: number;
  origin: string;
  /** One entry per request, in arrival order. */
  seen: Seen[];
  /** Connections accepted (TCP level). */
  connections: number;
  /** TLS handshakes that failed (a cleartext client would cause one). */
  tlsErrors: number;
  close(): Promise<void>;
}

/** An http or https server listening over MPTCP on 127.0.0.1; it answers `METHOD URL BODY`. */
async function serve(server: http.Server | https.Server, scheme: 'http' | 'https', host = '127.0.0.1'): Promise<TestServer> {
  const t: TestServer = {
    port: 0, origin: '', seen: [], connections: 0, tlsErrors: 0,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const socket = req.socket as tls.TLSSocket;
      t.seen.push({ mptcp: mptcp.isMptcp(socket), remotePort: socket.remotePort!, servername: socket.servername, method: req.method!, url: req.url!, body });
      res.end(`${req.method} ${req.url} ${body}`);
    });
  });
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', () => t.connections++);
  server.on('tlsClientError', () => t.tlsErrors++);
  mptcp.listen(server, 0, host);
  await once(server, 'listening');
  t.port = (server.address() as net.AddressInfo).port;
  t.origin = `${scheme}://${host}:${t.port}`;
  return t;
}

interface Got {
  body: string;
  /** The client's socket, and what it said while the response arrived. */
  socket: tls.TLSSocket;
  mptcp: boolean;
  reused: boolean | undefined;
}

/** A request through node:http / node:https; resolves with the body and the client's socket. */
function get(mod: typeof http | typeof https, options: https.RequestOptions, body?: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = mod.request({ method: body === undefined ? 'GET' : 'POST', ...options }, (res) => {
      const socket = res.socket as tls.TLSSocket;
      const got = { socket, mptcp: mptcp.isMptcp(socket), reused: socket.isSessionReused?.() };
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (data += d));
      res.on('end', () => resolve({ body: data, ...got }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

let key: Buffer;
let cert: Buffer;
beforeAll(() => ({ key, cert } = selfSignedCert()));

describe('agent and connector arguments', () => {
  it('the classes are http.Agent / https.Agent subclasses, exported frozen-shaped as mptcp.http / mptcp.https', () => {
    expect(new mptcp.http.Agent()).toBeInstanceOf(http.Agent);
    expect(new mptcp.https.Agent()).toBeInstanceOf(https.Agent);
    expect(new mptcp.http.Agent().mptcp).toBe(true);
    expect(new mptcp.https.Agent({ mptcp: 'require' }).mptcp).toBe('require');
    expect(typeof mptcp.connector()).toBe('function');
  });
  it('a bad mptcp value or options type throws as the rest of the library does', () => {
    for (const Agent of [mptcp.http.Agent, mptcp.https.Agent]) {
      expect(() => new Agent({ mptcp: 'yes' as unknown as boolean })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', name: 'TypeError' }));
      expect(() => new Agent({ mptcp: 1 as unknown as boolean })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      expect(() => new Agent('keepAlive' as unknown as object)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    }
    expect(() => mptcp.connector({ mptcp: 'always' as unknown as boolean })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => mptcp.connector(null as unknown as object)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => mptcp.connector({ allowH2: 'yes' as unknown as boolean })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => mptcp.connector({ timeout: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => mptcp.connector({ maxCachedSessions: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  });
  it('an https agent refuses proxyEnv (its tunnel would be plain TCP), and cannot be given a cleartext createConnection', () => {
    expect(() => new mptcp.https.Agent({ proxyEnv: {} } as https.AgentOptions)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    const agent = new mptcp.https.Agent();
    expect(() => { (agent as unknown as { createConnection: unknown }).createConnection = mptcp.createConnection; }).toThrow(TypeError);
    expect(agent.createConnection).toBe(mptcp.https.Agent.prototype.createConnection);
  });
});

describe.skipIf(!supported)(`mptcp.http.Agent${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('keepAlive: two requests reuse one MPTCP connection; bodies cross both ways', async () => {
    const s = await serve(http.createServer({ keepAliveTimeout: 10_000 }), 'http');
    const agent = new mptcp.http.Agent({ keepAlive: true });
    const a = await get(http, { host: '127.0.0.1', port: s.port, path: '/a', agent }, 'first body');
    const b = await get(http, { host: '127.0.0.1', port: s.port, path: '/b', agent }, 'second body');
    expect(a.body).toBe('POST /a first body');
    expect(b.body).toBe('POST /b second body');
    expect(a.socket).toBe(b.socket);
    expect(a.mptcp).toBe(true);
    expect(s.connections).toBe(1);
    expect(s.seen.map((r) => r.mptcp)).toEqual([true, true]);
    expect(s.seen[1].remotePort).toBe(s.seen[0].remotePort);
    expect(s.seen.map((r) => r.body)).toEqual(['first body', 'second body']);
    agent.destroy();
    await s.close();
  });
  it("mptcp: false is plain TCP on the server side; 'require' is MPTCP", async () => {
    const s = await serve(http.createServer(), 'http');
    const tcp = new mptcp.http.Agent({ mptcp: false });
    const req = new mptcp.http.Agent({ mptcp: 'require' });
    expect((await get(http, { host: '127.0.0.1', port: s.port, path: '/tcp', agent: tcp })).body).toBe('GET /tcp ');
    expect((await get(http, { host: '127.0.0.1', port: s.port, path: '/req', agent: req }, 'r')).body).toBe('POST /req r');
    expect(s.seen.map((r) => [r.url, r.mptcp])).toEqual([['/tcp', false], ['/req', true]]);
    tcp.destroy();
    req.destroy();
    await s.close();
  });
  it('a host name and a refused port behave as with http.Agent', async () => {
    const s = await serve(http.createServer(), 'http');
    const agent = new mptcp.http.Agent();
    expect((await get(http, { host: 'localhost', family: 4, port: s.port, path: '/name', agent })).body).toBe('GET /name ');
    expect(s.seen[0].mptcp).toBe(true);
    const port = s.port;
    await s.close();
    await expect(get(http, { host: '127.0.0.1', port, agent })).rejects.toMatchObject({ code: 'ECONNREFUSED', syscall: 'connect' });
    agent.destroy();
  });
  it('cannot carry an https request (no cleartext by mistake)', () => {
    const agent = new mptcp.http.Agent();
    expect(() => https.request({ host: '127.0.0.1', port: 1, agent: agent as unknown as https.Agent })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_PROTOCOL' }));
    agent.destroy();
  });
});

describe.skipIf(!supported)(`mptcp.https.Agent${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('TLS over MPTCP: SNI from the host name, session reuse on a second connection (keepAlive off)', async () => {
    const s = await serve(https.createServer({ key, cert }), 'https');
    const agent = new mptcp.https.Agent({ ca: cert, keepAlive: false });
    const a = await get(https, { host: 'localhost', family: 4, port: s.port, path: '/one', agent }, 'secret one');
    const b = await get(https, { host: 'localhost', family: 4, port: s.port, path: '/two', agent }, 'secret two');
    expect([a.body, b.body]).toEqual(['POST /one secret one', 'POST /two secret two']);
    expect(a.socket).not.toBe(b.socket);
    expect([a.mptcp, b.mptcp]).toEqual([true, true]);
    expect(a.reused).toBe(false);
    expect(b.reused).toBe(true);
    expect(s.connections).toBe(2);
    expect(s.seen.map((r) => [r.mptcp, r.servername])).toEqual([[true, 'localhost'], [true, 'localhost']]);
    expect(s.seen[1].remotePort).not.toBe(s.seen[0].remotePort);
    // The server speaks TLS only: a cleartext request would have failed its handshake.
    expect(s.tlsErrors).toBe(0);
    agent.destroy();
    await s.close();
  });
  it('keepAlive reuse, an IP host (no SNI), mptcp: false', async () => {
    const s = await serve(https.createServer({ key, cert }), 'https');
    const agent = new mptcp.https.Agent({ ca: cert, keepAlive: true });
    const a = await get(https, { host: '127.0.0.1', port: s.port, path: '/a', agent });
    const b = await get(https, { host: '127.0.0.1', port: s.port, path: '/b', agent }, 'x');
    expect([a.body, b.body]).toEqual(['GET /a ', 'POST /b x']);
    expect(a.socket).toBe(b.socket);
    expect(s.connections).toBe(1);
    expect(s.seen.map((r) => [r.mptcp, r.servername])).toEqual([[true, false], [true, false]]);
    const tcp = new mptcp.https.Agent({ ca: cert, mptcp: false });
    expect((await get(https, { host: '127.0.0.1', port: s.port, path: '/tcp', agent: tcp })).body).toBe('GET /tcp ');
    expect(s.seen[2].mptcp).toBe(false);
    expect(s.tlsErrors).toBe(0);
    agent.destroy();
    tcp.destroy();
    await s.close();
  });
  it('certificate checks and connect errors are https.Agent\'s', async () => {
    const s = await serve(https.createServer({ key, cert }), 'https');
    const untrusted = new mptcp.https.Agent();
    await expect(get(https, { host: 'localhost', family: 4, port: s.port, agent: untrusted })).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    const port = s.port;
    await s.close();
    const agent = new mptcp.https.Agent({ ca: cert });
    await expect(get(https, { host: '127.0.0.1', port, agent })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    untrusted.destroy();
    agent.destroy();
  });
});

describe.skipIf(!supported)(`mptcp.connector() for undici${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  async function both(dispatcher: undici.Dispatcher, origin: string, tag: string): Promise<void> {
    const r = await undici.request(`${origin}/${tag}/request`, { dispatcher, method: 'POST', body: `${tag} req` });
    expect(await r.body.text()).toBe(`POST /${tag}/request ${tag} req`);
    const f = await undici.fetch(`${origin}/${tag}/fetch`, { dispatcher, method: 'POST', body: `${tag} fetch` });
    expect(await f.text()).toBe(`POST /${tag}/fetch ${tag} fetch`);
  }

  it('http: request() and fetch() through Agent, Pool and Client', async () => {
    const s = await serve(http.createServer(), 'http');
    const dispatchers: [string, undici.Dispatcher][] = [
      ['agent', new undici.Agent({ connect: mptcp.connector() })],
      ['pool', new undici.Pool(s.origin, { connect: mptcp.connector() })],
      ['client', new undici.Client(s.origin, { connect: mptcp.connector() })],
    ];
    for (const [tag, d] of dispatchers) await both(d, s.origin, tag);
    expect(s.seen.map((r) => r.url)).toEqual(['agent', 'pool', 'client'].flatMap((t) => [`/${t}/request`, `/${t}/fetch`]));
    expect(s.seen.every((r) => r.mptcp)).toBe(true);
    for (const [, d] of dispatchers) await d.close();
    await s.close();
  });

  it('https: TLS over MPTCP with ca and SNI, or rejectUnauthorized: false; sessions reused per servername', async () => {
    const s = await serve(https.createServer({ key, cert }), 'https');
    const named = `https://localhost:${s.port}`;
    // What each new connection of `agent` says once TLS is up.
    const made: { reused: boolean; mptcp: boolean }[] = [];
    const viaCa = mptcp.connector({ ca: cert });
    const agent = new undici.Agent({
      connect: (o, cb) => viaCa(o, (...args) => {
        const socket = args[1] as tls.TLSSocket | null;
        if (socket) made.push({ reused: socket.isSessionReused(), mptcp: mptcp.isMptcp(socket) });
        cb(...args);
      }),
    });
    const pool = new undici.Pool(s.origin, { connect: mptcp.connector({ rejectUnauthorized: false }) });
    const client = new undici.Client(named, { connect: mptcp.connector({ ca: cert }) });
    await both(agent, named, 'agent');
    await both(pool, s.origin, 'pool');
    await both(client, named, 'client');
    expect(s.seen.every((r) => r.mptcp)).toBe(true);
    expect(s.seen.map((r) => r.servername)).toEqual(['localhost', 'localhost', false, false, 'localhost', 'localhost']);
    // A new connection (the last one was closed after its response) resumes the session.
    const r = await undici.request(`${named}/again`, { dispatcher: agent, reset: true });
    expect(await r.body.text()).toBe('GET /again ');
    const again = await undici.request(`${named}/again`, { dispatcher: agent });
    expect(await again.body.text()).toBe('GET /again ');
    expect(made).toEqual([{ reused: false, mptcp: true }, { reused: true, mptcp: true }]);
    expect(s.tlsErrors).toBe(0);
    for (const d of [agent, pool, client]) await d.close();
    await s.close();
  });

  it('allowH2: HTTP/2 over TLS over MPTCP', async () => {
    const streams: boolean[] = [];
    const server = http2.createSecureServer({ key, cert });
    server.on('stream', (stream) => {
      streams.push(mptcp.isMptcp(stream.session!.socket as tls.TLSSocket));
      stream.respond({ ':status': 200 });
      stream.end(`h2 ${(stream.session!.socket as tls.TLSSocket).alpnProtocol}`);
    });
    mptcp.listen(server, 0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    const agent = new undici.Agent({ connect: mptcp.connector({ ca: cert, allowH2: true }) });
    const r = await undici.request(`https://localhost:${port}/`, { dispatcher: agent });
    expect(await r.body.text()).toBe('h2 h2');
    expect(streams).toEqual([true]);
    await agent.close();
    await new Promise((res) => server.close(res));
  });

  it("mptcp: false is plain TCP; 'require' is MPTCP", async () => {
    const s = await serve(http.createServer(), 'http');
    const tcp = new undici.Agent({ connect: mptcp.connector({ mptcp: false }) });
    const req = new undici.Agent({ connect: mptcp.connector({ mptcp: 'require' }) });
    await (await undici.request(`${s.origin}/tcp`, { dispatcher: tcp })).body.text();
    await (await undici.request(`${s.origin}/req`, { dispatcher: req })).body.text();
    expect(s.seen.map((r) => [r.url, r.mptcp])).toEqual([['/tcp', false], ['/req', true]]);
    await tcp.close();
    await req.close();
    await s.close();
  });

  it('a connect that is not answered fails with UND_ERR_CONNECT_TIMEOUT, and releases its descriptors', async () => {
    const stuck = await stuckListener();
    try {
      const before = openFdTargets();
      for (const scheme of ['http', 'https']) {
        const agent = new undici.Agent({ connect: mptcp.connector({ timeout: 300, rejectUnauthorized: false }) });
        const started = Date.now();
        const err = await undici.request(`${scheme}://127.0.0.1:${stuck.port}/`, { dispatcher: agent }).then(() => null, (e: Error) => e);
        expect(err).toMatchObject({ code: 'UND_ERR_CONNECT_TIMEOUT', name: 'ConnectTimeoutError' });
        expect(err).toBeInstanceOf(undici.errors.ConnectTimeoutError);
        expect(err!.message).toContain(`127.0.0.1:${stuck.port}`);
        expect(Date.now() - started).toBeGreaterThanOrEqual(290);
        await agent.close();
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(leakedSockets(before)).toEqual([]);
    } finally {
      stuck.stop();
    }
  });

  it("Node's built-in fetch goes over MPTCP once setGlobalDispatcher is given the connector", async () => {
    const s = await serve(http.createServer(), 'http');
    const previous = undici.getGlobalDispatcher();
    const agent = new undici.Agent({ connect: mptcp.connector() });
    undici.setGlobalDispatcher(agent);
    try {
      expect(globalThis.fetch).not.toBe(undici.fetch);
      const r = await globalThis.fetch(`${s.origin}/global`, { method: 'POST', body: 'built-in' });
      expect(await r.text()).toBe('POST /global built-in');
      expect(s.seen.map((x) => [x.url, x.mptcp])).toEqual([['/global', true]]);
    } finally {
      undici.setGlobalDispatcher(previous);
      await agent.close();
      await s.close();
    }
  });
});
