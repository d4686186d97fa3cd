// `mptcp top` on the real kernel, run inside the client namespace of a
// two-path lab (test/lab/lab.ts) while a transfer runs, with ss as the
// oracle: the connection's token, its subflows' addresses and count; rates
// on the subflows carrying data; a connection of a process that is not the
// library's (a Python client under mptcpize); the pipe mode until SIGINT;
// the terminal mode under script(1), where q quits.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { externalEnv } from '../helpers/net';
import { Lab, labUnavailableReason, type LabProcess } from './lab';

const reason = labUnavailableReason();
if (reason) console.log(`lab tests skipped: ${reason}`);
const has = (cmd: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const noMptcpize = has('mptcpize') && fs.existsSync('/usr/bin/python3') ? null : 'needs mptcpize and /usr/bin/python3';
const noScript = has('script') ? null : 'needs script(1) from util-linux (bsdutils)';

const cli = path.join(__dirname, '..', '..', 'bin', 'mptcp.js');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface SubflowRow {
  localAddress: string; localPort: number; remoteAddress: string; remotePort: number; state: string; join: boolean;
  sendRate: number | null; receiveRate: number | null; bytesSent: number | null; rtt: number; cwnd: number;
}
interface ConnectionRow { token: string | null; localPort: number; remoteAddress: string; remotePort: number; sendRate: number | null; subflows: SubflowRow[] }
interface View { seconds: number; totals: { connections: number; subflows: number; fallback: number; mibFallbacks: { total: number } | null }; connections: ConnectionRow[] }

let lab: Lab | null = null;
const children = new Set<ChildProcess>();
afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
  await lab?.destroy();
  lab = null;
});

/** Starts a command in a namespace (ip netns exec runs it in its place: the pid is the command's). */
function start(ns: string, args: string[], stdio: 'pipe' | 'ignore' = 'pipe'): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  // A program that runs no node (python under mptcpize) runs without an ASan
  // run's sanitizer preload, which is meant for the addon.
  const env = args[0] === 'mptcpize' ? externalEnv() : process.env;
  const child = spawn('ip', ['netns', 'exec', ns, ...args], { env, stdio: [stdio, 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr!.resume();
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

async function transfer(l: Lab): Promise<{ server: LabProcess; client: LabProcess; port: number; conn: number }> {
  const [server, client] = await Promise.all([l.agent('server'), l.agent('client')]);
  const { port } = await server.request<{ port: number }>({ cmd: 'serve', kind: 'lib' });
  const { conn } = await client.request<{ conn: number }>({ cmd: 'connect', kind: 'lib', host: l.paths[0].serverAddress, port });
  // Both subflows established (ss counts them) before the data flows.
  for (let until = Date.now() + 5000; ;) {
    const tcp = (await l.exec('client', ['ss', '-tnH', 'state', 'established', `dport = :${port}`])).stdout.trim();
    if (tcp.split('\n').filter(Boolean).length === 2) break;
    if (Date.now() > until) throw new Error(`two subflows never established: ${tcp}`);
    await sleep(50);
  }
  return { server, client, port, conn };
}

/** `ss -Mni` and `ss -tni` in the client namespace: the MPTCP connection's token and its TCP subflows (local > remote). */
async function ssOracle(l: Lab, port: number): Promise<{ tokens: string[]; subflows: string[] }> {
  const msk = (await l.exec('client', ['ss', '-MniH', 'state', 'established', `dport = :${port}`])).stdout;
  const tokens = [...msk.matchAll(/token:([0-9a-f]+)/g)].map((m) => m[1].padStart(8, '0'));
  const tcp = (await l.exec('client', ['ss', '-tniH', 'state', 'established', `dport = :${port}`])).stdout;
  const subflows = [...tcp.matchAll(/(\d+\.\d+\.\d+\.\d+:\d+)\s+(\d+\.\d+\.\d+\.\d+:\d+)[^\n]*\n[^\n]*tcp-ulp-mptcp/g)].map((m) => `${m[1]}>${m[2]}`).sort();
  return { tokens, subflows };
}

const subflowKeys = (c: ConnectionRow): string[] => c.subflows.map((s) => `${s.localAddress}:${s.localPort}>${s.remoteAddress}:${s.remotePort}`).sort();

describe.skipIf(reason !== null)('mptcp top in a two-path lab', () => {
  it('--once --json and the text form during a transfer: one connection, two subflows on the lab paths, rates where the data goes; ss agrees', async () => {
    lab = await Lab.create({ paths: [{ rateMbit: 40 }, { rateMbit: 40 }] });
    const { server, client, port, conn } = await transfer(lab);
    const [p1, p2] = lab.paths;
    const received = server.waitFor((m) => m.type === 'received', 30_000);
    const sending = client.request<{ bytes: number }>({ cmd: 'send', conn, seconds: 5 }, 30_000);
    await sleep(800);

    const r = await lab.mptcp('client', ['top', '--once', '--json', '--port', String(port)]);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const v = JSON.parse(lines[0]) as View;
    const oracle = await ssOracle(lab, port);
    expect(v.seconds).toBeGreaterThan(0.9);
    expect(v.totals).toMatchObject({ connections: 1, subflows: 2, fallback: 0 });
    expect(v.totals.mibFallbacks).not.toBeNull();
    const [c] = v.connections;
    expect(oracle.tokens).toEqual([c.token]);
    expect(c.token).toMatch(/^[0-9a-f]{8}$/);
    expect(subflowKeys(c)).toEqual(oracle.subflows);
    expect(c.subflows.map((s) => `${s.localAddress}>${s.remoteAddress}:${s.remotePort}`).sort())
      .toEqual([`${p1.clientAddress}>${p1.serverAddress}:${port}`, `${p2.clientAddress}>${p2.serverAddress}:${port}`]);
    expect(c.subflows.map((s) => s.join)).toEqual([false, true]);
    // Two 40 Mbit/s paths, both used: each sends, the total is most of 10 MB/s and no more.
    expect(c.sendRate).toBeGreaterThan(1e6);
    expect(c.sendRate).toBeLessThan(11e6);
    for (const s of c.subflows) {
      expect(s.state).toBe('ESTABLISHED');
      expect(s.sendRate).toBeGreaterThan(0);
      expect(s.rtt).toBeGreaterThan(0);
      expect(s.cwnd).toBeGreaterThan(0);
    }
    const sum = c.subflows.reduce((a, s) => a + s.sendRate!, 0);
    expect(sum).toBeGreaterThan(c.sendRate! * 0.8); // subflow bytes include retransmissions and headers: not less than the data

    const text = await lab.mptcp('client', ['top', '--once', '--interval', '0.5']);
    const t = text.stdout.split('\n');
    expect(t[1]).toMatch(/^connections 1 {2}subflows 2 {2}fallback 0 {2}MIB fallbacks \d+/);
    const row = t.find((l) => l.startsWith(c.token!))!;
    expect(row).toMatch(new RegExp(`^${c.token} +ESTABLISHED +${p1.clientAddress.replace(/\./g, '\\.')}:\\d+ +${p1.serverAddress.replace(/\./g, '\\.')}:${port} +2 `));
    expect(row).toMatch(/[0-9.]+ [kM]B\/s/);
    const sfRows = t.slice(t.indexOf(row) + 1, t.indexOf(row) + 3);
    expect(sfRows[0]).toMatch(new RegExp(`^ {2}0/0 +ESTABLISHED +${p1.clientAddress.replace(/\./g, '\\.')}:`));
    expect(sfRows[1]).toMatch(new RegExp(`^ {2}\\d+/\\d+ +ESTABLISHED +${p2.clientAddress.replace(/\./g, '\\.')}:\\d+ +${p2.serverAddress.replace(/\./g, '\\.')}:${port} +join`));

    await sending;
    await received;
  }, 60_000);

  it.skipIf(noMptcpize !== null)('lists a connection of a process that is not the library\'s: a Python client under mptcpize', async () => {
    lab = await Lab.create({ paths: 2 });
    const server = await lab.agent('server');
    const { port } = await server.request<{ port: number }>({ cmd: 'serve', kind: 'lib' });
    const py = 'import socket, sys, time\ns = socket.create_connection((sys.argv[1], int(sys.argv[2])))\nfor _ in range(600):\n    s.sendall(b"x" * 65536)\n    time.sleep(0.05)\n';
    const peer = start(lab.nsOf('client'), ['mptcpize', 'run', '/usr/bin/python3', '-c', py, lab.paths[0].serverAddress, String(port)], 'ignore');
    let v: View | null = null;
    let oracle: { tokens: string[]; subflows: string[] } = { tokens: [], subflows: [] };
    for (let until = Date.now() + 10_000; Date.now() < until;) {
      oracle = await ssOracle(lab, port);
      v = JSON.parse((await lab.mptcp('client', ['top', '--once', '--json', '--interval', '0.5', '--address', lab.paths[0].serverAddress])).stdout) as View;
      if (oracle.tokens.length === 1 && oracle.subflows.length === 2 && v.connections[0]?.subflows.length === 2) break;
      await sleep(100);
    }
    expect(peer.child.exitCode).toBeNull(); // still sending
    expect(v!.totals.connections).toBe(1);
    const [c] = v!.connections;
    expect(oracle.tokens).toEqual([c.token]);
    expect(subflowKeys(c)).toEqual(oracle.subflows);
    expect(c.remotePort).toBe(port);
    expect(c.sendRate).toBeGreaterThan(0);
    peer.child.kill('SIGKILL');
    await peer.exited;
  }, 60_000);

  it('on a pipe: one block per interval until SIGINT, then exit 0', async () => {
    lab = await Lab.create({ paths: 2 });
    const { port } = await transfer(lab);
    const top = start(lab.nsOf('client'), [process.execPath, cli, 'top', '--interval', '0.5']);
    await sleep(1600);
    top.child.kill('SIGINT');
    expect(await top.exited).toBe(0);
    const blocks = top.out().split('\n\n').filter((b) => b.startsWith('mptcp top '));
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    expect(blocks.length).toBeLessThanOrEqual(4);
    for (const b of blocks) {
      expect(b).toMatch(/over 0\.[4-6]s/);
      expect(b).toContain('connections 1  subflows 2');
      expect(b).toMatch(new RegExp(`:${port} +2 `));
    }
    expect(top.out()).not.toContain('\x1b[');
  }, 60_000);

  it.skipIf(noScript !== null)('on a terminal (script(1)): drawn in place on the alternate screen, q quits with exit 0', async () => {
    lab = await Lab.create({ paths: 2 });
    await transfer(lab);
    const tty = start(lab.nsOf('client'), ['script', '-qfec', `${process.execPath} ${cli} top --interval 0.3`, '/dev/null']);
    for (let until = Date.now() + 10_000; !tty.out().includes('subflows 2') && Date.now() < until;) await sleep(50);
    await sleep(700);
    tty.child.stdin!.write('s');
    await sleep(400);
    tty.child.stdin!.write('q');
    const code = await Promise.race([tty.exited, sleep(5000).then(() => 'timeout')]);
    expect(code).toBe(0);
    const out = tty.out();
    expect(out.startsWith('\x1b[?1049h')).toBe(true);
    expect(out.trimEnd().endsWith('\x1b[?1049l')).toBe(true);
    expect(out.split('\x1b[H').length - 1).toBeGreaterThanOrEqual(3);
    expect(out).toContain('sort rate  (s: sort, q: quit)');
    expect(out).toContain('sort rtt  (s: sort, q: quit)');
    expect(out).toContain('connections 1  subflows 2');
  }, 60_000);
});
