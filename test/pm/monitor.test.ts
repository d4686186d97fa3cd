// mptcp.monitor() and `mptcp monitor` against `ip mptcp monitor`, in the
// two-path lab: the same events, with the same fields, for the same connection.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Lab, labUnavailableReason } from '../lab/lab';

const reason = labUnavailableReason();
const cli = path.join(__dirname, '..', '..', 'bin', 'mptcp.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Ev { type: string; token?: number | string; localAddress?: string; remoteAddress?: string; localPort?: number; remotePort?: number; localId?: number; remoteId?: number; backup?: boolean }

const ipTypes: Record<string, string> = {
  CREATED: 'created', ESTABLISHED: 'established', CLOSED: 'closed', ANNOUNCED: 'announced', REMOVED: 'removed',
  SF_ESTABLISHED: 'subflowEstablished', SF_CLOSED: 'subflowClosed', SF_PRIO: 'subflowPriority',
  LISTENER_CREATED: 'listenerCreated', LISTENER_CLOSED: 'listenerClosed', LISTENER_CLOSE: 'listenerClosed',
};

/** `ip mptcp monitor` lines as events of the library's shape. */
function parseIp(out: string): Ev[] {
  return out.trim().split('\n').filter(Boolean).map((line) => {
    const m = /^\[\s*(\w+)\]\s*(.*)$/.exec(line)!;
    const e: Ev = { type: ipTypes[m[1]] ?? m[1] };
    for (const kv of m[2].split(/\s+/)) {
      const [k, v] = kv.split('=');
      if (k === 'token') e.token = v; // as --json writes it too: eight hex digits
      else if (k === 'saddr4' || k === 'saddr6') e.localAddress = v;
      else if (k === 'daddr4' || k === 'daddr6') e.remoteAddress = v;
      else if (k === 'sport') e.localPort = Number(v);
      else if (k === 'dport') e.remotePort = Number(v);
      else if (k === 'locid') e.localId = Number(v);
      else if (k === 'remid') e.remoteId = Number(v);
      else if (k === 'backup') e.backup = v === '1';
    }
    return e;
  });
}

const pick = (e: Ev): Ev => {
  const { type, token, localAddress, remoteAddress, localPort, remotePort, localId, remoteId, backup } = e;
  return JSON.parse(JSON.stringify({ type, token, localAddress, remoteAddress, localPort, remotePort, localId, remoteId, backup }));
};

let lab: Lab | null = null;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await lab?.destroy();
  lab = null;
});

function start(ns: string, argv: string[]): { out: () => string; ready: Promise<void>; stop: () => Promise<void> } {
  const c = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  let out = '';
  let err = '';
  c.stdout!.on('data', (d) => { out += d; });
  const ready = new Promise<void>((resolve) => c.stderr!.on('data', (d) => {
    err += d;
    if (err.includes('listening')) resolve();
  }));
  const exited = new Promise<void>((resolve) => c.on('exit', () => resolve()));
  return { out: () => out, ready, stop: async () => { c.kill('SIGINT'); await exited; } };
}

describe.skipIf(reason !== null)('MPTCP events', () => {
  it('mptcp monitor --json sees what ip mptcp monitor sees: created, established, announced, subflows, priority, removed, closed', async () => {
    lab = await Lab.create({ paths: 2 });
    const ip = start(lab.client, ['ip', 'mptcp', 'monitor']);
    const ours = start(lab.client, [process.execPath, cli, 'monitor', '--json']);
    await ours.ready;
    await sleep(300); // ip mptcp monitor has no ready signal
    const [server, client] = await Promise.all([lab.agent('server'), lab.agent('client')]);
    const { port } = await server.request<{ port: number }>({ cmd: 'serve', kind: 'lib' });
    const { conn } = await client.request<{ conn: number }>({ cmd: 'connect', kind: 'lib', host: lab.paths[0].serverAddress, port });
    await sleep(400);
    await lab.mptcp('server', ['endpoint', 'set', 'id', String(lab.paths[1].endpointId), 'backup']); // MP_PRIO -> SUB_PRIORITY at the client
    await sleep(300);
    await lab.withdraw(2); // RM_ADDR -> REMOVED + SUB_CLOSED at the client
    await sleep(300);
    await client.request({ cmd: 'close', conn });
    await sleep(500);
    await Promise.all([ip.stop(), ours.stop()]);

    const expected = parseIp(ip.out());
    const got = ours.out().trim().split('\n').map((l) => JSON.parse(l) as Ev);
    expect(expected.map((e) => e.type)).toEqual(expect.arrayContaining(['created', 'established', 'announced', 'subflowEstablished', 'subflowPriority', 'removed', 'subflowClosed', 'closed']));
    expect(got.map(pick)).toEqual(expected.map(pick));
    const prio = got.find((e) => e.type === 'subflowPriority')!;
    expect(prio).toMatchObject({ backup: true, localAddress: lab.paths[1].clientAddress });
  }, 60_000);

  it('a per-socket monitor (async iterator) gets only its connection; close() ends the iteration', async () => {
    lab = await Lab.create({ paths: 2 });
    const [server, client] = await Promise.all([lab.agent('server'), lab.agent('client')]);
    const { port } = await server.request<{ port: number }>({ cmd: 'serve', kind: 'lib' });
    const host = lab.paths[0].serverAddress;
    const a = await client.request<{ conn: number }>({ cmd: 'connect', kind: 'lib', host, port });
    const events: Ev[] = [];
    client.on('message', (m) => { if (m.type === 'mptcpEvent') events.push(m.event as Ev); });
    await client.request({ cmd: 'monitor', conn: a.conn });
    const b = await client.request<{ conn: number }>({ cmd: 'connect', kind: 'lib', host, port });
    await sleep(300);
    await client.request({ cmd: 'close', conn: b.conn });
    await client.request({ cmd: 'close', conn: a.conn });
    await sleep(400);
    const infoA = events.length ? events[0].token : undefined;
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((e) => e.token === infoA)).toBe(true);
    expect(events.map((e) => e.type)).toContain('closed');
    const ended = client.waitFor((m) => m.type === 'mptcpEventEnd', 5000);
    await client.request({ cmd: 'unmonitor' });
    await ended; // the for-await loop over the monitor finished
  }, 60_000);

  it('without CAP_NET_ADMIN the monitor fails with EPERM saying so', async () => {
    lab = await Lab.create({ paths: 1 });
    const r = spawnSync('nsenter', [`--net=/run/netns/${lab.client}`, '-S', '65534', '-G', '65534', process.execPath, cli, 'monitor'], { encoding: 'utf8', timeout: 10_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/EPERM.*CAP_NET_ADMIN/);
  });
});
