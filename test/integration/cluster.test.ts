// node:cluster, both ways, checked where it counts: every worker serves,
// each accepted connection is MPTCP in the worker that accepted it, and the
// kernel's listener table shows who owns the MPTCP listener(s): each worker
// (mptcp.listen in workers, or reusePort), or the primary (plain servers
// under `--require mptcp/register`, net's round-robin). A listen that fails
// in a worker leaves no socket open, and the port refuses afterwards.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as http from 'node:http';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, mptcp, skipReason, supported } from '../helpers/net';

const root = path.join(__dirname, '..', '..');
const fixture = path.join(root, 'test', 'fixtures', 'cluster-app.cjs');

type Report = { pid: number; port?: number; error?: string; syscall?: string; socketsBefore?: number; socketsAfter?: number };
interface Cluster { primary: number; workers: Report[]; listening: { pid: number; port: number }[]; child: ChildProcess }

const running = new Set<ChildProcess>();
afterEach(async () => {
  for (const c of running) {
    c.stdin!.end();
    if (c.exitCode === null) await Promise.race([once(c, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
    c.kill('SIGKILL');
  }
  running.clear();
});

async function startCluster(mode: string, port: number, flags: string[] = [], env: Record<string, string> = {}): Promise<Cluster> {
  const child = spawn(process.execPath, [...flags, fixture], { cwd: root, env: { ...process.env, MODE: mode, PORT: String(port), ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  running.add(child);
  const line = await readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next();
  return { ...(JSON.parse(line.value as string) as Omit<Cluster, 'child'>), child };
}


/** `count` requests on new connections from an MPTCP client: who served each, and was it MPTCP there. */
async function requests(port: number, count: number): Promise<{ pid: number; mptcp: boolean }[]> {
  const agent = new mptcp.http.Agent({ mptcp: 'require', keepAlive: false });
  const out: { pid: number; mptcp: boolean }[] = [];
  for (let i = 0; i < count; i++) {
    out.push(await new Promise((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, agent }, (res) => {
        let d = '';
        res.on('data', (c) => (d += c)).on('end', () => resolve(JSON.parse(d))).on('error', reject);
      }).on('error', reject);
    }));
  }
  agent.destroy();
  return out;
}

/** The pids owning MPTCP listeners on `port`, from the kernel (ss -M lists MPTCP sockets only). */
function mptcpListenerPids(port: number): number[] {
  const out = execFileSync('ss', ['-HMlnp', `sport = :${port}`], { encoding: 'utf8' });
  return [...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])).sort();
}

describe.skipIf(!supported)(`cluster${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const modes: [string, string, string[], boolean][] = [
    ['mptcp.listen in the workers: each its own MPTCP listener (SO_REUSEPORT)', 'lib', [], false],
    ['mptcp.listen with reusePort: true', 'lib-reuseport', [], false],
    ['plain server.listen under --require mptcp/register: the primary owns the MPTCP listener', 'plain', ['--require', 'mptcp/register'], true],
    ['mptcp.listen in the workers while the primary runs the switch: the primary owns it', 'lib', ['--require', 'mptcp/register'], true],
    // Node 20's own listen has no reusePort; the switch's listen has it on every Node.
    ['plain listen({ reusePort: true }) under --import mptcp/register', 'plain-reuseport', ['--import', 'mptcp/register'], false],
  ];
  for (const [name, mode, flags, primaryOwns] of modes) {
    it(name, async () => {
      // The primary picks the port when it owns the listener (port 0, as with net); workers with listeners of their own need one port.
      const c = await startCluster(mode, primaryOwns ? 0 : await freePort(), flags);
      const workerPids = c.workers.map((w) => w.pid).sort();
      expect(c.workers.every((w) => w.port && w.port === c.workers[0].port), JSON.stringify(c.workers)).toBe(true);
      const port = c.workers[0].port!;
      expect(mptcpListenerPids(port)).toEqual(primaryOwns ? [c.primary] : workerPids);
      const served = await requests(port, 40);
      expect(served.every((r) => r.mptcp), JSON.stringify(served)).toBe(true);
      expect([...new Set(served.map((r) => r.pid))].sort()).toEqual(workerPids);
      // The primary heard of each worker's listen ('listening'), as with net, where net's path tells it:
      // always through the primary, and for a worker's own shared-mode listener; not for reusePort (exclusive).
      const told = !mode.endsWith('-reuseport');
      expect(c.listening.map((l) => l.pid).sort()).toEqual(told ? workerPids : []);
      if (told) expect(c.listening.every((l) => l.port === port)).toBe(true);
    }, 30_000);
  }

  it("cluster's SCHED_NONE policy under the switch: the primary's shared handle is MPTCP", async () => {
    const c = await startCluster('plain', await freePort(), ['--require', 'mptcp/register'], { NODE_CLUSTER_SCHED_POLICY: 'none' });
    const port = c.workers[0].port!;
    expect(c.workers.every((w) => w.port === port), JSON.stringify(c.workers)).toBe(true);
    expect(mptcpListenerPids(port).length).toBeGreaterThan(0);
    const served = await requests(port, 10);
    expect(served.every((r) => r.mptcp), JSON.stringify(served)).toBe(true);
    expect(served.every((r) => c.workers.some((w) => w.pid === r.pid))).toBe(true);
  }, 30_000);

  for (const [how, mode, flags] of [['mptcp.listen', 'lib', []], ['plain listen under mptcp/register', 'plain', ['--require', 'mptcp/register']]] as const) {
    it(`a failed listen in a worker (${how}) leaves no socket open, and the port refuses afterwards`, async () => {
      const holder = net.createServer().listen(0, '127.0.0.1');
      await once(holder, 'listening');
      const { port } = holder.address() as net.AddressInfo;
      const c = await startCluster(mode, port, [...flags]);
      for (const w of c.workers) {
        expect(w).toMatchObject({ error: 'EADDRINUSE' });
        expect(w.socketsAfter).toBe(w.socketsBefore);
      }
      await new Promise((r) => holder.close(r));
      const s = net.connect(port, '127.0.0.1');
      const [err] = await once(s, 'error') as [NodeJS.ErrnoException];
      expect(err.code).toBe('ECONNREFUSED');
      expect(execFileSync('ss', ['-Htanp', `sport = :${port}`], { encoding: 'utf8' })).not.toMatch(new RegExp(c.workers.map((w) => `pid=${w.pid},`).join('|')));
    }, 30_000);
  }
});

/** The sockets this process has open. */
function openSockets(): number {
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try { return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:'); } catch { return false; }
  }).length;
}

describe.skipIf(!supported)(`a failed listen outside a cluster${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('EADDRINUSE leaves no socket open, and the port refuses afterwards', async () => {
    const holder = net.createServer().listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const { port } = holder.address() as net.AddressInfo;
    const before = openSockets();
    for (const listen of [
      (s: net.Server) => s.listen(port, '127.0.0.1'),
      (s: net.Server) => s.listen({ port, host: '127.0.0.1', reusePort: true }),
      (s: net.Server) => s.listen(port),
    ]) {
      const server = mptcp.createServer();
      listen(server);
      const [err] = await once(server, 'error') as [NodeJS.ErrnoException];
      expect(err.code).toBe('EADDRINUSE');
      expect(server.listening).toBe(false);
      expect(openSockets()).toBe(before);
    }
    await new Promise((r) => holder.close(r));
    const s = net.connect(port, '127.0.0.1');
    const [err] = await once(s, 'error') as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
  });
});
