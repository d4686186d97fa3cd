// mptcp.connections(): the namespace's MPTCP connections over sock_diag,
// checked against `ss -M` (the same kernel request, iproute2's parser) and
// against the sockets' own view (getInfo), for connections this process
// holds and for one a Python process holds. Listeners only when asked,
// filters, subflows (tcp-ulp-mptcp of `ss -ti`), bad input.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { describe, expect, it } from 'vitest';
import { externalEnv, mptcp, recordingServer, skipReason, supported } from '../helpers/net';

const peer = path.join(__dirname, '..', 'fixtures', 'mptcp-peer.py');
const root = process.getuid?.() === 0;

interface SsEntry { local: string; remote: string; token: number; state: string }

/** `ss -HMni` for connections with local or remote port `port`: iproute2's own view. */
function ssMptcp(port: number, all = false): SsEntry[] {
  const out = execFileSync('ss', [all ? '-HMnia' : '-HMni', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8' });
  const entries: SsEntry[] = [];
  // One socket per line, its info on the same line or the next (indented).
  const lines = out.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\S+)\s+\d+\s+\d+\s+(\S+)\s+(\S+)/.exec(lines[i]);
    if (!m) continue;
    const rest = `${lines[i]} ${/^\s/.test(lines[i + 1] ?? '') ? lines[i + 1] : ''}`;
    const t = /token:([0-9a-f]+)/.exec(rest);
    entries.push({ state: m[1], local: m[2], remote: m[3], token: t ? parseInt(t[1], 16) : 0 });
  }
  return entries;
}

const ends = (c: mptcp.Connection): { local: string; remote: string } => ({
  local: `${c.localAddress}:${c.localPort}`, remote: `${c.remoteAddress}:${c.remotePort}`,
});

describe.skipIf(!supported)(`connections()${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it("lists this process's connections and a Python process's, as ss -M does, tokens as getInfo gives them", async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '127.0.0.1']);
    const py = spawn('python3', [peer, 'server'], { env: externalEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [pyPortLine] = await once(readline.createInterface({ input: py.stdout! }), 'line') as [string];
      const pyPort = Number(pyPortLine);
      const ours = await Promise.all([1, 2].map(() => new Promise<net.Socket>((resolve) => {
        const s = mptcp.connect(rec.port, '127.0.0.1', () => resolve(s));
      })));
      const toPython = await new Promise<net.Socket>((resolve) => { const s = mptcp.connect(pyPort, '127.0.0.1', () => resolve(s)); });
      await new Promise((r) => setTimeout(r, 50));

      const list = await mptcp.connections({ port: rec.port });
      // Both ends of both connections (client sockets here, accepted ones in the server), nothing else.
      expect(list.map(ends).sort((a, b) => a.local.localeCompare(b.local))).toEqual(
        ssMptcp(rec.port).map(({ local, remote }) => ({ local, remote })).sort((a, b) => a.local.localeCompare(b.local)));
      expect(list).toHaveLength(4);
      for (const c of list) {
        expect(c).toMatchObject({ family: 'IPv4', state: 'ESTABLISHED', uid: process.getuid!() });
        expect(c.info).not.toBeNull();
        expect(c.token).toBe(c.info!.token);
        expect(ssMptcp(rec.port).find((e) => e.local === ends(c).local && e.remote === ends(c).remote)?.token).toBe(c.token);
      }
      for (const s of ours) {
        const mine = list.find((c) => c.localPort === s.localPort)!;
        expect(mine.token).toBe(mptcp.getInfo(s)!.token);
        expect(mine.info!.subflowsMax).toBe(mptcp.getInfo(s)!.subflowsMax);
      }
      // The Python server's accepted socket is in the namespace's list too.
      const pyList = await mptcp.connections({ port: pyPort });
      expect(pyList.map(ends)).toEqual(expect.arrayContaining([{ local: `127.0.0.1:${pyPort}`, remote: `127.0.0.1:${toPython.localPort}` }]));
      expect(pyList).toHaveLength(2);
      // token: exactly one connection.
      const t = mptcp.getInfo(ours[0])!.token;
      expect((await mptcp.connections({ token: t })).map(ends)).toEqual([{ local: `127.0.0.1:${ours[0].localPort}`, remote: `127.0.0.1:${rec.port}` }]);
      for (const s of [...ours, toPython]) s.destroy();
    } finally {
      py.kill();
      await rec.close();
    }
  });

  it('listeners only with { listening: true }; address filters, IPv4 and IPv6, in the kernel request', async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '::']);
    try {
      expect((await mptcp.connections({ port: rec.port })).length).toBe(0);
      const listening = await mptcp.connections({ port: rec.port, listening: true });
      expect(listening).toEqual([expect.objectContaining({ state: 'LISTEN', family: 'IPv6', localAddress: '::', localPort: rec.port })]);
      expect(ssMptcp(rec.port, true).map((e) => e.state)).toEqual(['LISTEN']);
      const a = await new Promise<net.Socket>((resolve) => { const s = mptcp.connect(rec.port, '127.0.0.1', () => resolve(s)); });
      const b = await new Promise<net.Socket>((resolve) => { const s = mptcp.connect(rec.port, '::1', () => resolve(s)); });
      await new Promise((r) => setTimeout(r, 50));
      // An IPv4 prefix also matches IPv4-mapped addresses of IPv6 sockets (the kernel's rule, as in ss):
      // the client's end, and the server's (::ffff:127.0.0.1 on its dual-stack listener).
      const v4 = await mptcp.connections({ port: rec.port, address: '127.0.0.0/8' });
      expect(v4.map((c) => `${c.family} ${c.localPort}`).sort()).toEqual([`IPv4 ${a.localPort}`, `IPv6 ${rec.port}`].sort());
      const mapped = await mptcp.connections({ port: rec.port, address: '::ffff:127.0.0.1' });
      expect(mapped.map(ends)).toEqual([{ local: `::ffff:127.0.0.1:${rec.port}`, remote: `::ffff:127.0.0.1:${a.localPort}` }]);
      const v6 = await mptcp.connections({ port: rec.port, address: '::1' });
      expect(v6.map((c) => c.localPort).sort()).toEqual([rec.port, b.localPort].sort());
      expect(await mptcp.connections({ port: rec.port, address: '10.255.255.1' })).toEqual([]);
      a.destroy();
      b.destroy();
    } finally {
      await rec.close();
    }
  });

  it.skipIf(!root)(`subflows, as ss -ti's tcp-ulp-mptcp shows them${root ? '' : ' (skipped: ULP info needs CAP_NET_ADMIN, run as root)'}`, async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '127.0.0.1']);
    try {
      const s = await new Promise<net.Socket>((resolve) => { const c = mptcp.connect(rec.port, '127.0.0.1', () => resolve(c)); });
      s.write('x');
      await new Promise((r) => setTimeout(r, 50));
      // Both ends match the port (the client's local port is the accepted socket's remote one): take ours.
      const both = await mptcp.connections({ port: s.localPort!, address: '127.0.0.1', subflows: true });
      expect(both).toHaveLength(2);
      const mine = both.find((c) => c.localPort === s.localPort)!;
      expect(mine.subflows).toHaveLength(1);
      const [sf] = mine.subflows!;
      const own = mptcp.getSubflows(s)[0];
      expect(sf).toMatchObject({ localAddress: '127.0.0.1', localPort: s.localPort, remotePort: rec.port, localId: 0, remoteId: 0, join: false, backup: false, fullyEstablished: true, state: 'ESTABLISHED' });
      expect([sf.mss, sf.pmtu]).toEqual([own.mss, own.pmtu]);
      const ss = execFileSync('ss', ['-Htni', `( sport = :${s.localPort} )`], { encoding: 'utf8' });
      const ulp = /tcp-ulp-mptcp flags:(\S+) token:([0-9a-f]+)\(id:(\d+)\)\/([0-9a-f]+)\(id:(\d+)\)/.exec(ss)!;
      expect(ulp, ss).not.toBeNull();
      expect(parseInt(ulp[4], 16)).toBe(mine.token);
      expect(Number(ulp[5])).toBe(sf.localId);
      expect(ulp[1].includes('B')).toBe(sf.backupRemote);
      expect(ulp[1].includes('b')).toBe(sf.backup);
      // The socket's own subflows with the diag dump's flags.
      expect(await mptcp.getSubflowFlags(s)).toEqual([expect.objectContaining({ localPort: s.localPort, localId: 0, join: false, backup: false, backupRemote: false })]);
      expect(await mptcp.getSubflowFlags(new net.Socket())).toEqual([]);
      s.destroy();
    } finally {
      await rec.close();
    }
  });

  it('bad options are Node-shaped errors, nothing is sent', async () => {
    const bad: [unknown, string][] = [
      [1, 'ERR_INVALID_ARG_TYPE'], [null, 'ERR_INVALID_ARG_TYPE'], [{ port: '80' }, 'ERR_INVALID_ARG_TYPE'], [{ port: 70000 }, 'ERR_SOCKET_BAD_PORT'],
      [{ address: 'nope' }, 'ERR_INVALID_ARG_VALUE'], [{ address: '10.0.0.0/33' }, 'ERR_INVALID_ARG_VALUE'], [{ address: 5 }, 'ERR_INVALID_ARG_TYPE'],
      [{ token: 1.5 }, 'ERR_INVALID_ARG_TYPE'], [{ token: -1 }, 'ERR_OUT_OF_RANGE'], [{ subflows: 'yes' }, 'ERR_INVALID_ARG_TYPE'],
    ];
    for (const [options, code] of bad) {
      await expect(mptcp.connections(options as mptcp.ConnectionsOptions), JSON.stringify(options)).rejects.toMatchObject({ code });
    }
  });
});
