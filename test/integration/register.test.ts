// The process-wide switch, `node --require mptcp/register` and `node
// --import mptcp/register`, in an app that never calls the library
// (test/fixtures/register-app.cjs). Each NODE_MPTCP scope is checked both
// ways on the far side: the app's own server reports whether the connection
// it accepted from an MPTCP client is MPTCP, and the test's MPTCP servers
// report whether the app's outgoing connections (http.get, the global
// fetch, https.get, new net.Socket().connect, tls.connect, a worker thread's
// http.get) reached them over MPTCP. What a scope covers is MPTCP; what it
// does not stays TCP; IPC passes through.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mptcp, selfSignedCert, skipReason, supported } from '../helpers/net';

const root = path.join(__dirname, '..', '..');
const app = path.join(root, 'test', 'fixtures', 'register-app.cjs');
const cli = path.join(root, 'bin', 'mptcp.js');

interface Targets { http: number; https: number; echo: number; tls: number }
const servers: net.Server[] = [];
let targets: Targets;

const answer = (socket: net.Socket): string => JSON.stringify({ mptcp: mptcp.isMptcp(socket) });

beforeAll(async () => {
  if (!supported) return;
  const cert = selfSignedCert();
  const make = [
    http.createServer((req, res) => res.end(answer(req.socket))),
    https.createServer(cert, (req, res) => res.end(answer(req.socket))),
    net.createServer((s) => s.once('data', () => s.end(answer(s)))),
    tls.createServer(cert, (s) => s.once('data', () => s.end(answer(s)))),
  ];
  const ports: number[] = [];
  for (const s of make) {
    // Dual-stack "::", so that fetch's "localhost" (either family) reaches it.
    mptcp.listen(s, 0);
    await once(s, 'listening');
    servers.push(s);
    ports.push((s.address() as net.AddressInfo).port);
  }
  targets = { http: ports[0], https: ports[1], echo: ports[2], tls: ports[3] };
});

afterAll(async () => {
  for (const s of servers) {
    (s as http.Server).closeAllConnections?.();
    await new Promise((r) => s.close(r));
  }
});

interface AppRun {
  scope: string | null;
  /** What the app's own server reported for a connection from an MPTCP client. */
  served: { mptcp: boolean };
  clients: Record<string, { mptcp?: boolean; error?: string } | string>;
  warnings: { code: string; message: string }[];
}

const children = new Set<ChildProcess>();
afterAll(() => { for (const c of children) c.kill('SIGKILL'); });

/** Runs the app under the switch with `env`, asks its server as an MPTCP client, lets it make its client calls. */
async function runApp(flags: string[], env: Record<string, string | undefined>): Promise<AppRun> {
  const child = spawn(process.execPath, [...flags, app], { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  try {
    const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const first = JSON.parse((await lines.next()).value as string) as { port: number; scope: string | null };
    const agent = new mptcp.http.Agent({ mptcp: 'require' });
    const served = await new Promise<{ mptcp: boolean }>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: first.port, agent }, (res) => {
        let d = '';
        res.on('data', (c) => (d += c)).on('end', () => resolve(JSON.parse(d))).on('error', reject);
      }).on('error', reject);
    });
    agent.destroy();
    child.stdin!.end(`${JSON.stringify(targets)}\n`);
    const last = JSON.parse((await lines.next()).value as string) as Pick<AppRun, 'clients' | 'warnings'>;
    await once(child, 'exit');
    return { scope: first.scope, served, ...last };
  } finally {
    child.kill('SIGKILL');
    children.delete(child);
  }
}

const clientNames = ['httpGet', 'fetch', 'httpsGet', 'socket', 'tlsConnect', 'worker'];
const allClients = (mptcpValue: boolean): Record<string, unknown> =>
  Object.fromEntries([...clientNames.map((n) => [n, { mptcp: mptcpValue }]), ['ipc', 'ipc ok']]);

describe.skipIf(!supported)(`mptcp/register${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const cases: [string, string | undefined, { servers: boolean; clients: boolean; scope: string }][] = [
    ['unset (servers)', undefined, { servers: true, clients: false, scope: 'servers' }],
    ['servers', 'servers', { servers: true, clients: false, scope: 'servers' }],
    ['clients', 'clients', { servers: false, clients: true, scope: 'clients' }],
    ['all', 'all', { servers: true, clients: true, scope: 'all' }],
    ['off', 'off', { servers: false, clients: false, scope: 'off' }],
  ];
  for (const [name, value, want] of cases) {
    it(`--require, NODE_MPTCP ${name}: servers ${want.servers ? 'MPTCP' : 'TCP'}, clients ${want.clients ? 'MPTCP' : 'TCP'}`, async () => {
      const r = await runApp(['--require', 'mptcp/register'], { NODE_MPTCP: value });
      expect(r.scope).toBe(want.scope);
      expect(r.served).toEqual({ mptcp: want.servers });
      expect(r.clients).toEqual(allClients(want.clients));
      expect(r.warnings).toEqual([]);
    }, 30_000);
  }

  it('--import (ESM), and both flags at once, install the same switch once', async () => {
    const r = await runApp(['--import', 'mptcp/register'], { NODE_MPTCP: 'all' });
    expect(r).toMatchObject({ scope: 'all', served: { mptcp: true }, clients: allClients(true), warnings: [] });
    const both = await runApp(['--require', 'mptcp/register', '--import', 'mptcp/register'], { NODE_MPTCP: 'clients' });
    expect(both).toMatchObject({ scope: 'clients', served: { mptcp: false }, clients: allClients(true), warnings: [] });
  }, 30_000);

  it('NODE_OPTIONS carries it too; an unknown NODE_MPTCP is a warning and changes nothing', async () => {
    const r = await runApp([], { NODE_OPTIONS: '--require mptcp/register', NODE_MPTCP: 'all' });
    expect(r).toMatchObject({ scope: 'all', served: { mptcp: true }, clients: allClients(true) });
    const typo = await runApp(['--require', 'mptcp/register'], { NODE_MPTCP: 'client' });
    expect(typo).toMatchObject({ scope: 'off', served: { mptcp: false }, clients: allClients(false) });
    expect(typo.warnings).toEqual([{ code: 'MPTCP_INVALID_SCOPE', message: expect.stringContaining('NODE_MPTCP="client"') }]);
  }, 30_000);

  it('mptcp status run under the switch says which scope is active', () => {
    const status = (env: Record<string, string>, ...args: string[]): string =>
      execFileSync(process.execPath, [cli, 'status', ...args], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(status({ NODE_OPTIONS: '--require mptcp/register', NODE_MPTCP: 'clients' })).toMatch(/^switch: clients /m);
    expect(JSON.parse(status({ NODE_OPTIONS: '--import mptcp/register', NODE_MPTCP: 'all' }, '--json')).support.scope).toBe('all');
    expect(status({})).toMatch(/^switch: not loaded$/m);
  });
});
