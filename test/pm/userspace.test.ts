// The userspace path manager through mptcp.pm, in the two-path lab with both
// namespaces on net.mptcp.path_manager=userspace: the server announces an
// address, the client opens a subflow to it, flips it to backup, destroys it;
// checked with getSubflows and the server's events.
import { describe, expect, it, afterEach } from 'vitest';
import { Lab, labUnavailableReason, type LabProcess } from '../lab/lab';

const reason = labUnavailableReason();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sf { localAddress: string; localPort: number; remoteAddress: string; remotePort: number; state: string }
interface Ev { type: string; backup?: boolean; localAddress?: string; remoteId?: number; localId?: number }

let lab: Lab | null = null;
afterEach(async () => {
  await lab?.destroy();
  lab = null;
});

async function pm<T = unknown>(p: LabProcess, fn: string, conn: number | undefined, ...args: unknown[]): Promise<T> {
  return (await p.request<{ value: T }>({ cmd: 'pm', fn, conn, args })).value;
}

async function subflows(p: LabProcess, conn: number): Promise<Sf[]> {
  return (await p.request<{ subflows: Sf[] }>({ cmd: 'info', conn })).subflows;
}

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v) || Date.now() > end) return v;
    await sleep(50);
  }
}

describe.skipIf(reason !== null)('userspace path manager', () => {
  it('announce, listAnnounced, createSubflow, setBackup, destroySubflow, remove', async () => {
    lab = await Lab.create({ paths: 2, userspacePm: ['client', 'server'] });
    const [p1, p2] = lab.paths;
    const [server, client] = await Promise.all([lab.agent('server'), lab.agent('client')]);
    const { port } = await server.request<{ port: number }>({ cmd: 'serve', kind: 'lib' });
    const { conn } = await client.request<{ conn: number }>({ cmd: 'connect', kind: 'lib', host: p1.serverAddress, port });
    const { conns } = await server.request<{ conns: { id: number }[] }>({ cmd: 'conns' });
    const sconn = conns[0].id;
    const events: Ev[] = [];
    server.on('message', (m) => { if (m.type === 'mptcpEvent') events.push(m.event as Ev); });
    await server.request({ cmd: 'monitor', conn: sconn });

    // The server announces its second address; nothing joins by itself under the userspace PM.
    await pm(server, 'announce', sconn, { address: p2.serverAddress, id: 5 });
    expect(await pm(server, 'listAnnounced', sconn)).toEqual([{ id: 5, address: p2.serverAddress, family: 4, flags: ['signal'] }]);
    await sleep(200);
    expect(await subflows(client, conn)).toHaveLength(1);

    // The client opens a subflow over path 2.
    await pm(client, 'createSubflow', conn, { localAddress: p2.clientAddress, localId: 7, remoteAddress: p2.serverAddress, remotePort: port });
    const two = await until(() => subflows(client, conn), (s) => s.filter((x) => x.state === 'ESTABLISHED').length === 2);
    const sf = two.find((x) => x.localAddress === p2.clientAddress)!;
    expect(sf).toMatchObject({ remoteAddress: p2.serverAddress, remotePort: port, state: 'ESTABLISHED' });
    await until(async () => events, (e) => e.some((x) => x.type === 'subflowEstablished'));
    expect(events.find((x) => x.type === 'subflowEstablished')).toMatchObject({ localAddress: p2.serverAddress, localId: 5, remoteId: 7 });

    // Backup on, then off: the server receives MP_PRIO each time.
    const ends = { localAddress: sf.localAddress, localPort: sf.localPort, remoteAddress: sf.remoteAddress, remotePort: sf.remotePort };
    await pm(client, 'setBackup', conn, ends, true);
    await until(async () => events, (e) => e.some((x) => x.type === 'subflowPriority'));
    await pm(client, 'setBackup', conn, ends, false);
    await until(async () => events, (e) => e.filter((x) => x.type === 'subflowPriority').length === 2);
    expect(events.filter((x) => x.type === 'subflowPriority').map((x) => x.backup)).toEqual([true, false]);

    // Destroy it: back to one subflow.
    await pm(client, 'destroySubflow', conn, ends);
    const one = await until(() => subflows(client, conn), (s) => s.length === 1);
    expect(one.map((x) => x.localAddress)).toEqual([p1.clientAddress]);

    await pm(server, 'remove', sconn, 5);
    expect(await pm(server, 'listAnnounced', sconn)).toEqual([]);
  }, 60_000);

  it('kernel refusals reach the caller with its message: a kernel-PM connection, an unknown token', async () => {
    lab = await Lab.create({ paths: 2 }); // in-kernel PM on both sides
    const [server, client] = await Promise.all([lab.agent('server'), lab.agent('client')]);
    const { port } = await server.request<{ port: number }>({ cmd: 'serve', kind: 'lib' });
    const { conn } = await client.request<{ conn: number }>({ cmd: 'connect', kind: 'lib', host: lab.paths[0].serverAddress, port });
    await expect(pm(client, 'announce', conn, { address: lab.paths[1].clientAddress, id: 3 })).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(/^mptcp_pm announce EINVAL: \S/) });
    await expect(pm(client, 'remove', undefined, 12345, 3)).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringContaining('invalid token') });
  }, 60_000);
});
