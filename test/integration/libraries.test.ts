// Real libraries and real clients over MPTCP, each checked on the server
// side: the connection the server accepted is MPTCP (isMptcp on the server's
// own socket, the kernel's listener table, or an independent Python peer's
// TCP_IS_MPTCP), and the bytes that crossed are the bytes that were sent.
// Covers http, https, tls, http2, express, fastify, ws; curl with and
// without mptcpize; Python IPPROTO_MPTCP peers both ways; the NODE_MPTCP
// switch with express and fastify apps that never call the library; and
// examples/express.mjs and examples/fetch.mjs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import * as https from 'node:https';
import type * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import * as tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import express from 'express';
import Fastify from 'fastify';
import { WebSocket, WebSocketServer } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { externalEnv, mptcp, recordingServer, selfSignedCert, skipReason, supported } from '../helpers/net';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = path.join(root, 'test/fixtures');
const peer = path.join(fixtures, 'mptcp-peer.py');

const hasCommand = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
/** Why a group cannot run here (MPTCP unavailable, a tool missing), or '' when it can. */
function missing(...tools: string[]): string {
  if (!supported) return skipReason;
  const absent = tools.filter((t) => !hasCommand(t));
  return absent.length ? `not installed: ${absent.join(', ')}` : '';
}
const title = (name: string, why: string): string => (why ? `${name} (skipped: ${why})` : name);

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const port = (server: net.Server): number => (server.address() as net.AddressInfo).port;

// What each test opened, closed after it whatever its outcome.
const cleanups: (() => Promise<void> | void)[] = [];
const children = new Set<ChildProcess>();
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await Promise.all([...children].map(stop));
});

/** Kills a child (if still running) and waits for its exit. */
async function stop(child: ChildProcess): Promise<void> {
  children.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

/** Listens `server` over MPTCP on 127.0.0.1 (port chosen by the kernel) and closes it after the test. */
async function listenMptcp<S extends net.Server>(server: S): Promise<S> {
  mptcp.listen(server, 0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((r) => {
    (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    server.close(() => r());
  }));
  return server;
}

/** Runs a command to completion, `input` on its stdin. */
function run(cmd: string, args: string[], input?: Buffer | string, env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const child = spawn(cmd, args, { env: cmd === process.execPath ? env ?? process.env : externalEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  const out: Buffer[] = [];
  let err = '';
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  child.stdin!.on('error', () => {});
  child.stdin!.end(input ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      children.delete(child);
      resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

/** A long-running child whose stdout lines are collected; `line(re)` waits for the first line matching (match[0]: the whole line when `re` spans it). */
function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; lines: string[]; line: (re: RegExp) => Promise<RegExpMatchArray> } {
  const child = spawn(cmd, args, { cwd: root, env: cmd === process.execPath ? env : externalEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const rl = readline.createInterface({ input: child.stdout! });
  rl.on('line', (l) => { lines.push(l); child.emit('line', l); });
  const line = (re: RegExp) => new Promise<RegExpMatchArray>((resolve, reject) => {
    const hit = lines.map((l) => l.match(re)).find((m) => m !== null);
    if (hit) return resolve(hit);
    const onLine = (l: string) => { const m = l.match(re); if (m) { done(); resolve(m); } };
    const onExit = (code: number | null, signal: string | null) => { done(); reject(new Error(`${cmd} ${args.join(' ')} exited (${code ?? signal}) before printing ${re}: ${stderr}`)); };
    const done = () => { child.off('line', onLine); child.off('exit', onExit); };
    child.on('line', onLine);
    child.once('exit', onExit);
  });
  return { child, lines, line };
}

/** The Python MPTCP client: sends `payload`, reads to EOF; its own TCP_IS_MPTCP and what it read. */
async function pythonClient(p: number, payload: Buffer | string, halfClose = false): Promise<{ isMptcp: number; received: Buffer }> {
  const r = await run('python3', [peer, 'client', String(p), ...(halfClose ? ['--half-close'] : [])], payload);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout.toString()) as { isMptcp: number; received: string };
  return { isMptcp: j.isMptcp, received: Buffer.from(j.received, 'base64') };
}

/** Splits a raw HTTP/1.1 response (Connection: close, no chunking expected) into status and body. */
function parseHttp(raw: Buffer): { status: number; headers: string; body: string } {
  const text = raw.toString();
  const i = text.indexOf('\r\n\r\n');
  const headers = text.slice(0, i);
  let body = text.slice(i + 4);
  if (/^transfer-encoding: *chunked/im.test(headers)) {
    let rest = body;
    body = '';
    for (;;) {
      const n = parseInt(rest, 16);
      if (!n) break;
      const start = rest.indexOf('\r\n') + 2;
      body += rest.slice(start, start + n);
      rest = rest.slice(start + n + 2);
    }
  }
  return { status: Number(headers.split(' ')[1]), headers, body };
}

/** The kernel's view: whether an MPTCP listener is bound to this local port (ss -M). */
function mptcpListenerOn(p: number): boolean {
  const r = spawnSync('ss', ['-HMln', 'sport', '=', `:${p}`], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  return r.stdout.trim() !== '';
}

/** An http(s) request whose connection `connect` makes; resolves with status and body. */
function request(mod: typeof http | typeof https, opts: https.RequestOptions, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = mod.request(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Reads a request body to the end. */
function readBody(req: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const tlsWhy = missing('openssl');
describe.skipIf(tlsWhy)(title('libraries on mptcp.listen, MPTCP clients, checked server side', tlsWhy), () => {
  let key: Buffer;
  let cert: Buffer;
  beforeAll(() => ({ key, cert } = selfSignedCert()));

  /** An MPTCP connection with TLS over it, for https / tls / http2 clients. */
  const tlsOverMptcp = (p: number, alpn?: string[]) => () =>
    tls.connect({ socket: mptcp.connect(p, '127.0.0.1'), ca: cert, servername: 'localhost', ALPNProtocols: alpn });

  it('http: POST body through an MPTCP agent; the server sees MPTCP and the same bytes', async () => {
    const seen: { mptcp: boolean; sha: string; length: number }[] = [];
    const server = await listenMptcp(http.createServer(async (req, res) => {
      const body = await readBody(req);
      seen.push({ mptcp: mptcp.isMptcp(req.socket), sha: sha256(body), length: body.length });
      res.end(body);
    }));
    const agent = new http.Agent();
    agent.createConnection = mptcp.createConnection as unknown as typeof agent.createConnection;
    cleanups.push(() => agent.destroy());
    const payload = randomBytes(300_000);
    const r = await request(http, { port: port(server), host: '127.0.0.1', method: 'POST', path: '/echo', agent }, payload);
    expect(r.status).toBe(200);
    expect(r.body.equals(payload)).toBe(true);
    expect(seen).toEqual([{ mptcp: true, sha: sha256(payload), length: payload.length }]);
  });

  it('https: self-signed certificate, TLS over an MPTCP connection', async () => {
    const seen: { mptcp: boolean; sha: string }[] = [];
    const server = await listenMptcp(https.createServer({ key, cert }, async (req, res) => {
      const body = await readBody(req);
      seen.push({ mptcp: mptcp.isMptcp(req.socket), sha: sha256(body) });
      res.end(sha256(body));
    }));
    const payload = randomBytes(200_000);
    const r = await request(https, {
      // No agent: http uses createConnection only then (agent: false would make a fresh https.Agent).
      port: port(server), host: '127.0.0.1', method: 'POST',
      createConnection: tlsOverMptcp(port(server)),
    } as https.RequestOptions, payload);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(sha256(payload));
    expect(seen).toEqual([{ mptcp: true, sha: sha256(payload) }]);
  });

  it('tls: tls.createServer and tls.connect({ socket: mptcp.connect() }) echo the bytes', async () => {
    const seen: boolean[] = [];
    const received: Buffer[] = [];
    const server = await listenMptcp(tls.createServer({ key, cert }, (s) => {
      seen.push(mptcp.isMptcp(s));
      s.on('data', (d: Buffer) => { received.push(d); s.write(d); });
      s.on('end', () => s.end());
    }));
    const payload = randomBytes(150_000);
    const c = tlsOverMptcp(port(server))();
    await once(c, 'secureConnect');
    expect(c.authorized).toBe(true);
    expect(mptcp.isMptcp(c)).toBe(true);
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    c.end(payload);
    await once(c, 'end');
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
    expect(Buffer.concat(received).equals(payload)).toBe(true);
    expect(seen).toEqual([true]);
    c.destroy();
  });

  it('http2 over TLS: createSecureServer, http2.connect with createConnection over MPTCP', async () => {
    const seen: { mptcp: boolean; alpn: string | false | null; sha: string }[] = [];
    const connections: boolean[] = [];
    const server = await listenMptcp(http2.createSecureServer({ key, cert }));
    server.on('secureConnection', (s: tls.TLSSocket) => connections.push(mptcp.isMptcp(s)));
    server.on('stream', async (stream, headers) => {
      const body = await readBody(stream);
      // session.socket is http2's proxy of the TLSSocket: what users hold.
      const socket = stream.session!.socket as tls.TLSSocket;
      seen.push({ mptcp: mptcp.isMptcp(socket), alpn: socket.alpnProtocol, sha: sha256(body) });
      stream.respond({ ':status': 200 });
      stream.end(`${headers[':path']} ${sha256(body)}`);
    });
    const client = http2.connect(`https://localhost:${port(server)}`, { createConnection: tlsOverMptcp(port(server), ['h2']) });
    cleanups.push(() => { client.destroy(); });
    const payload = randomBytes(100_000);
    for (const p of ['/one', '/two']) {
      const req = client.request({ ':method': 'POST', ':path': p });
      req.end(payload);
      const [res] = await Promise.all([once(req, 'response') as Promise<[http2.IncomingHttpHeaders]>, readBody(req).then((b) => expect(b.toString()).toBe(`${p} ${sha256(payload)}`))]);
      expect(res[0][':status']).toBe(200);
    }
    // Two streams, one MPTCP connection.
    expect(seen).toEqual([1, 2].map(() => ({ mptcp: true, alpn: 'h2', sha: sha256(payload) })));
    expect(connections).toEqual([true]);
  });

  it('http2 cleartext (h2c): http2.createServer, createConnection returning mptcp.connect()', async () => {
    const seen: boolean[] = [];
    const server = await listenMptcp(http2.createServer());
    server.on('stream', async (stream) => {
      const body = await readBody(stream);
      seen.push(mptcp.isMptcp(stream.session!.socket as net.Socket));
      stream.respond({ ':status': 200 });
      stream.end(body);
    });
    const client = http2.connect(`http://127.0.0.1:${port(server)}`, { createConnection: () => mptcp.connect(port(server), '127.0.0.1') });
    cleanups.push(() => { client.destroy(); });
    const payload = randomBytes(80_000);
    const req = client.request({ ':method': 'POST', ':path': '/' });
    req.end(payload);
    expect((await readBody(req)).equals(payload)).toBe(true);
    expect(seen).toEqual([true]);
  });

  it('express: an app on mptcp.listen(http.createServer(app)); MPTCP and plain clients told apart', async () => {
    const seen: boolean[] = [];
    const app = express();
    app.post('/items/:id', express.raw({ type: '*/*', limit: '1mb' }), (req, res) => {
      seen.push(mptcp.isMptcp(req.socket));
      res.json({ id: req.params.id, length: (req.body as Buffer).length, sha: sha256(req.body as Buffer) });
    });
    const server = await listenMptcp(http.createServer(app));
    const agent = new http.Agent();
    agent.createConnection = mptcp.createConnection as unknown as typeof agent.createConnection;
    cleanups.push(() => agent.destroy());
    const payload = randomBytes(250_000);
    const opts = { port: port(server), host: '127.0.0.1', method: 'POST', path: '/items/42', headers: { 'content-type': 'application/octet-stream' } };
    const viaMptcp = await request(http, { ...opts, agent }, payload);
    const viaTcp = await request(http, { ...opts, agent: false }, payload);
    for (const r of [viaMptcp, viaTcp]) {
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body.toString())).toEqual({ id: '42', length: payload.length, sha: sha256(payload) });
    }
    expect(seen).toEqual([true, false]);
  });

  it('fastify: serverFactory returning an http.Server whose listen is mptcp.listen; fastify.listen() and close() as usual', async () => {
    const seen: boolean[] = [];
    // The form the README recommends.
    const app = Fastify({
      serverFactory: (handler) => {
        const server = http.createServer(handler);
        server.listen = ((...args: unknown[]) => mptcp.listen(server, ...(args as [number]))) as typeof server.listen;
        return server;
      },
    });
    app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: 1 << 20 }, (_req, body, done) => done(null, body));
    app.post('/upload', (req, reply) => {
      seen.push(mptcp.isMptcp(req.raw.socket));
      const body = req.body as Buffer;
      reply.send({ length: body.length, sha: sha256(body) });
    });
    let closed = false;
    cleanups.push(async () => { if (!closed) await app.close(); });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const p = port(app.server);
    expect(address).toBe(`http://127.0.0.1:${p}`);
    expect(mptcpListenerOn(p)).toBe(true);
    const agent = new http.Agent();
    agent.createConnection = mptcp.createConnection as unknown as typeof agent.createConnection;
    cleanups.push(() => agent.destroy());
    const payload = randomBytes(200_000);
    const r = await request(http, { port: p, host: '127.0.0.1', method: 'POST', path: '/upload', agent, headers: { 'content-type': 'application/octet-stream' } }, payload);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.toString())).toEqual({ length: payload.length, sha: sha256(payload) });
    expect(seen).toEqual([true]);
    await app.close();
    closed = true;
    expect(app.server.listening).toBe(false);
    expect(mptcpListenerOn(p)).toBe(false);
  });

  it('ws: a WebSocketServer on an MPTCP http server, a client whose createConnection is mptcp.connect()', async () => {
    const seen: boolean[] = [];
    const received: Buffer[] = [];
    const server = await listenMptcp(http.createServer());
    const wss = new WebSocketServer({ server });
    cleanups.push(() => new Promise<void>((r) => { for (const c of wss.clients) c.terminate(); wss.close(() => r()); }));
    wss.on('connection', (ws, req) => {
      seen.push(mptcp.isMptcp(req.socket));
      ws.on('message', (data: Buffer) => { received.push(data); ws.send(sha256(data)); });
    });
    const p = port(server);
    const client = new WebSocket(`ws://127.0.0.1:${p}/chat`, { createConnection: (() => mptcp.connect(p, '127.0.0.1')) as never });
    cleanups.push(() => client.terminate());
    await once(client, 'open');
    const answers: string[] = [];
    const messages = [randomBytes(70_000), randomBytes(10)];
    for (const m of messages) {
      const answer = once(client, 'message') as Promise<[Buffer]>;
      client.send(m);
      answers.push(String((await answer)[0]));
    }
    expect(answers).toEqual(messages.map(sha256));
    expect(Buffer.concat(received).equals(Buffer.concat(messages))).toBe(true);
    expect(seen).toEqual([true]);
  });
});

const curlWhy = missing('curl', 'mptcpize');
describe.skipIf(curlWhy)(title('curl against an MPTCP http server, with and without mptcpize', curlWhy), () => {
  const seen: boolean[] = [];
  let server: http.Server;
  beforeAll(async () => {
    server = http.createServer(async (req, res) => {
      const body = await readBody(req);
      seen.push(mptcp.isMptcp(req.socket));
      res.end(`${req.url} ${body.toString()}`);
    });
    mptcp.listen(server, 0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const curl = (wrap: string[], payload: string) => {
    const [cmd, ...pre] = [...wrap, 'curl'];
    return run(cmd, [...pre, '-sS', '--max-time', '10', '--data-binary', '@-', `http://127.0.0.1:${port(server)}/curl`], payload);
  };

  it('mptcpize run curl: the server sees MPTCP, the body crosses', async () => {
    seen.length = 0;
    const r = await curl(['mptcpize', 'run'], 'over-mptcp');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('/curl over-mptcp');
    expect(seen).toEqual([true]);
  });

  it('plain curl: served over TCP by the same listener, isMptcp false', async () => {
    seen.length = 0;
    const r = await curl([], 'over-tcp');
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('/curl over-tcp');
    expect(seen).toEqual([false]);
  });
});

const pyWhy = missing('python3');
describe.skipIf(pyWhy)(title('Python IPPROTO_MPTCP peers', pyWhy), () => {
  it('a Python MPTCP client: the library server sees MPTCP and receives its bytes; the echo arrives intact', async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '127.0.0.1']);
    cleanups.push(() => rec.close());
    const payload = randomBytes(400_000);
    const r = await pythonClient(rec.port, payload, true);
    expect(rec.accepted).toEqual([true]);
    expect(sha256(rec.received[0])).toBe(sha256(payload));
    expect(r.isMptcp).toBe(1);
    expect(r.received.equals(payload)).toBe(true);
  });

  it('mptcp.connect to a Python MPTCP server: its accepted socket says TCP_IS_MPTCP = 1 and it got the bytes', async () => {
    const py = start('python3', [peer, 'server']);
    const [portLine] = await py.line(/^\d+$/);
    const payload = randomBytes(1 << 20);
    const c = mptcp.connect(Number(portLine), '127.0.0.1');
    cleanups.push(() => { c.destroy(); });
    await once(c, 'connect');
    expect(mptcp.isMptcp(c)).toBe(true);
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    c.end(payload);
    await once(c, 'end');
    expect(JSON.parse(Buffer.concat(chunks).toString())).toEqual({ isMptcp: 1, length: payload.length, sha256: sha256(payload) });
  });
});

const scopeWhy = missing('python3', 'ss');
describe.skipIf(scopeWhy)(title('NODE_MPTCP with express and fastify apps that never call the library', scopeWhy), () => {
  const cases = [
    { app: 'express', scope: 'servers', flag: '--require' },
    { app: 'express', scope: 'clients', flag: '--require' },
    { app: 'fastify', scope: 'servers', flag: '--require' },
    { app: 'fastify', scope: 'clients', flag: '--require' },
    { app: 'express', scope: 'servers', flag: '--import' },
  ];
  for (const { app, scope, flag } of cases) it(`${app} under node ${flag} mptcp/register, NODE_MPTCP=${scope}: ${scope === 'servers' ? 'MPTCP listener' : 'plain TCP listener, the MPTCP client falls back'}`, async () => {
    const servers = scope === 'servers';
    const child = start(process.execPath, [flag, 'mptcp/register', path.join(fixtures, `${app}-app.cjs`)], { ...process.env, NODE_MPTCP: scope });
    const p = Number(JSON.parse((await child.line(/^\{"port".*$/))[0]).port);
    // The kernel's view of the app's listener.
    expect(mptcpListenerOn(p)).toBe(servers);
    const r = await pythonClient(p, `GET /from/python?n=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    // An MPTCP client of a plain TCP listener falls back to TCP, and is served all the same.
    expect(r.isMptcp).toBe(servers ? 1 : 0);
    const res = parseHttp(r.received);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ app, path: app === 'express' ? '/from/python' : '/from/python?n=1', isMptcp: servers, scope });
  });
});

const exampleWhy = missing('curl', 'mptcpize');
describe.skipIf(exampleWhy)(title('examples/express.mjs', exampleWhy), () => {
  it('serves an MPTCP client and a plain one, printing a line per request with MPTCP and subflows', async () => {
    const ex = start(process.execPath, [path.join(root, 'examples/express.mjs'), '0']);
    const [, p] = await ex.line(/^listening on port (\d+) over MPTCP$/);
    expect(mptcpListenerOn(Number(p))).toBe(true);
    const url = `http://127.0.0.1:${p}/hello?from=curl`;
    const viaMptcp = await run('mptcpize', ['run', 'curl', '-sS', '--max-time', '10', url]);
    expect(viaMptcp.code).toBe(0);
    expect(viaMptcp.stdout.toString()).toBe('Hello over MPTCP (1 subflow)\n');
    const [mptcpLine] = await ex.line(/^.* GET \/hello\?from=curl mptcp=true subflows=\d+$/);
    expect(mptcpLine).toMatch(/^::ffff:127\.0\.0\.1:\d+ GET \/hello\?from=curl mptcp=true subflows=1$/);
    const viaTcp = await run('curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${p}/plain`]);
    expect(viaTcp.code).toBe(0);
    expect(viaTcp.stdout.toString()).toBe('Hello over plain TCP\n');
    const [tcpLine] = await ex.line(/^.* GET \/plain mptcp=false$/);
    expect(tcpLine).toMatch(/^::ffff:127\.0\.0\.1:\d+ GET \/plain mptcp=false$/);
    expect(ex.lines).toHaveLength(3);
  });
});

describe.skipIf(!supported)(title('examples/fetch.mjs', supported ? '' : skipReason), () => {
  it('fetch() through setGlobalDispatcher and mptcp.connector(): its own server says MPTCP, the subflow is printed', async () => {
    const r = await run(process.execPath, [path.join(root, 'examples/fetch.mjs')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.toString().trim().split('\n');
    expect(lines[0]).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/ -> 200, 18 bytes: served over MPTCP$/);
    expect(lines[1]).toBe('MPTCP, 1 subflow:');
    expect(lines[2]).toMatch(/^ {2}127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+ \S+ rtt \d+ us cwnd \d+ sent \d+ B received \d+ B$/);
    expect(lines).toHaveLength(3);
  });
});
