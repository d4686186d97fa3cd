// mptcp.connections({ subflows: true }) in a two-path lab, run inside the
// client's namespace (whose connections it lists, whoever owns them): one
// connection, a subflow per path with the ids, join and backup flags that
// ss -ti's tcp-ulp-mptcp prints; a priority change (MP_PRIO) reaches the
// backup flags; a withdrawn path's subflow leaves the list.
import { afterEach, describe, expect, it } from 'vitest';
import { Lab, labUnavailableReason, type LabProcess } from './lab';

const reason = labUnavailableReason();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sf { localAddress: string; localPort: number; remoteAddress: string; remotePort: number; localId: number; remoteId: number; join: boolean; backup: boolean; backupRemote: boolean; state: string }
interface Conn { token: number; localAddress: string; remoteAddress: string; remotePort: number; info: { subflows: number }; subflows: Sf[] }

let lab: Lab | null = null;
afterEach(async () => {
  await lab?.destroy();
  lab = null;
});

async function listUntil(p: LabProcess, port: number, pred: (c: Conn[]) => boolean): Promise<Conn[]> {
  const until = Date.now() + 5000;
  for (;;) {
    const { list } = await p.request<{ list: Conn[] }>({ cmd: 'connections', options: { port, subflows: true } });
    if (pred(list)) return list;
    if (Date.now() > until) throw new Error(`connections never matched: ${JSON.stringify(list)}`);
    await sleep(50);
  }
}

/** ss -ti's tcp-ulp-mptcp of each subflow: `local remote` -> flags, local token, ids. */
function ulp(out: string): Map<string, { flags: string; token: number; remoteId: number; localId: number }> {
  const m = new Map<string, { flags: string; token: number; remoteId: number; localId: number }>();
  const lines = out.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = /^\S+\s+\d+\s+\d+\s+(\S+)\s+(\S+)/.exec(lines[i]);
    if (!head) continue;
    const text = `${lines[i]} ${/^\s/.test(lines[i + 1] ?? '') ? lines[i + 1] : ''}`;
    const u = /tcp-ulp-mptcp flags:(\S+) token:[0-9a-f]+\(id:(\d+)\)\/([0-9a-f]+)\(id:(\d+)\)/.exec(text);
    if (u) m.set(`${head[1]} ${head[2]}`, { flags: u[1], remoteId: Number(u[2]), token: parseInt(u[3], 16), localId: Number(u[4]) });
  }
  return m;
}

describe.skipIf(reason !== null)(`connections() in a two-path lab${reason ? ` (skipped: ${reason})` : ''}`, () => {
  it('a subflow per path with ss -ti\'s ids and flags; MP_PRIO sets backup; a withdrawn path leaves', async () => {
    lab = await Lab.create({ paths: 2 });
    const [server, client] = await Promise.all([lab.agent('server'), lab.agent('client')]);
    const { port } = await server.request<{ port: number }>({ cmd: 'serve', kind: 'lib' });
    const [p1, p2] = lab.paths;
    const { conn } = await client.request<{ conn: number }>({ cmd: 'connect', kind: 'lib', host: p1.serverAddress, port });
    const [c] = await listUntil(client, port, (l) => l.length === 1 && l[0].subflows.filter((s) => s.state === 'ESTABLISHED').length === 2);
    expect(c).toMatchObject({ remoteAddress: p1.serverAddress, remotePort: port });
    const [first, joined] = c.subflows;
    expect(first).toMatchObject({ localAddress: p1.clientAddress, remoteAddress: p1.serverAddress, join: false, localId: 0, remoteId: 0 });
    expect(joined).toMatchObject({ localAddress: p2.clientAddress, remoteAddress: p2.serverAddress, join: true, backup: false, backupRemote: false });

    const oracle = ulp((await lab.exec('client', ['ss', '-tniH', `dport = :${port}`])).stdout);
    for (const sf of c.subflows) {
      const o = oracle.get(`${sf.localAddress}:${sf.localPort} ${sf.remoteAddress}:${sf.remotePort}`)!;
      expect(o, JSON.stringify([...oracle.keys()])).toBeDefined();
      expect({ token: o.token, localId: o.localId, remoteId: o.remoteId, join: /[Jj]/.test(o.flags) })
        .toEqual({ token: c.token, localId: sf.localId, remoteId: sf.remoteId, join: sf.join });
    }

    // The server marks its second address backup: MP_PRIO, the client's subflow on it is a backup for the peer.
    await lab.mptcp('server', ['endpoint', 'set', 'id', String(p2.endpointId), 'backup']);
    const [prio] = await listUntil(client, port, (l) => l[0]?.subflows.some((s) => s.backupRemote));
    const marked = prio.subflows.find((s) => s.backupRemote)!;
    expect(marked.localAddress).toBe(p2.clientAddress);
    const after = ulp((await lab.exec('client', ['ss', '-tniH', `dport = :${port}`])).stdout);
    expect(after.get(`${marked.localAddress}:${marked.localPort} ${marked.remoteAddress}:${marked.remotePort}`)!.flags).toContain('B');
    // The same flags for the socket the client holds, through getSubflowFlags().
    const { list: own } = await client.request<{ list: Sf[] }>({ cmd: 'subflowFlags', conn });
    expect(own.map((s) => [s.localAddress, s.backupRemote, s.join]).sort()).toEqual([[p1.clientAddress, false, false], [p2.clientAddress, true, true]].sort());

    await lab.withdraw(2);
    const [gone] = await listUntil(client, port, (l) => l[0]?.subflows.length === 1);
    expect(gone.subflows[0].localAddress).toBe(p1.clientAddress);
  }, 60_000);
});
