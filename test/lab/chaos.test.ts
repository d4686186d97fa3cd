// Chaos in the two-path lab: one long library transfer (client mptcp.connect,
// server mptcp.createServer, SHA-256 of the whole stream on both ends) while,
// round after round in a fixed order, path 2's link goes down and up, its
// endpoint is removed and re-added, the endpoint's backup flag flips on and
// off, and MPTCP is turned off and on again in the client's namespace.
// mptcp.monitor() runs in both namespaces from the start, with
// `ip mptcp monitor` beside each as the oracle: the two must print the same
// events, in the same order, and the long connection's events must be
// exactly the ones the schedule causes. Nothing may be lost, and no agent may
// hold a descriptor more at the end than before the connections.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { Lab, labUnavailableReason, type LabProcess, type Side } from './lab';

const reason = labUnavailableReason();
if (reason) console.log(`lab tests skipped: ${reason}`);

const ROUNDS = 3;
const RATE_MBIT = 20; // per path: about 5 MB/s over both, 100-odd MB in the whole run
const SEND_BYTES = 4 << 20; // one `send` request of the long transfer
const PROBE_BYTES = 64 << 10;
const ENDPOINT_ID = 12; // lab.announce()'s id for path 2

interface Ev {
  type: string; token?: number; family?: number; localAddress?: string; localPort?: number;
  remoteAddress?: string; remotePort?: number; localId?: number; remoteId?: number; backup?: boolean;
  error?: number; ifindex?: number; resetReason?: number; resetFlags?: number; flags?: number; timeout?: number;
}
interface SubflowJson { localAddress: string; localPort: number; remoteAddress: string; remotePort: number; state: string; bytesAcked: string }
interface InfoReply { isMptcp: boolean; info: { token: number; bytesAcked?: string; addAddrAccepted: number; subflows: number } | null; subflows: SubflowJson[] }
interface Received { conn: number; bytes: number; sha256: string; ms: number; maxGapMs: number; isMptcp: boolean; peer: string; mismatches: { at: number; got: number; bytes: number }[] }
interface Connected { conn: number; isMptcp: boolean; localAddress: string; localPort: number }
interface Sent { bytes: number; sha256: string }
interface Fds { count: number; fds: string[] }

const ipTypes: Record<string, string> = {
  CREATED: 'created', ESTABLISHED: 'established', CLOSED: 'closed', ANNOUNCED: 'announced', REMOVED: 'removed',
  SF_ESTABLISHED: 'subflowEstablished', SF_CLOSED: 'subflowClosed', SF_PRIO: 'subflowPriority',
  LISTENER_CREATED: 'listenerCreated', LISTENER_CLOSED: 'listenerClosed',
  // iproute2 before 6.3 knows no listener events: it prints their number and no fields.
  'UNKNOWN 15': 'listenerCreated', 'UNKNOWN 16': 'listenerClosed',
};

/** `ip mptcp monitor` lines as events of the library's shape; keys it does not know are returned apart. */
function parseIp(out: string): { events: Ev[]; unknown: string[] } {
  const unknown: string[] = [];
  const events = out.split('\n').filter((l) => l.trim() !== '').map((line) => {
    const m = /^\[\s*([^\]]*?)\s*\]\s*(.*)$/.exec(line);
    if (!m) {
      unknown.push(line);
      return { type: `unparsed: ${line}` };
    }
    const e: Ev = { type: ipTypes[m[1]] ?? m[1] };
    for (const kv of m[2].split(/\s+/).filter(Boolean)) {
      const [k, v] = kv.split('=');
      switch (k) {
        case 'token': e.token = parseInt(v, 16); break;
        case 'saddr4': case 'saddr6': e.localAddress = v; break;
        case 'daddr4': case 'daddr6': e.remoteAddress = v; break;
        case 'sport': e.localPort = Number(v); break;
        case 'dport': e.remotePort = Number(v); break;
        case 'locid': e.localId = Number(v); break;
        case 'remid': e.remoteId = Number(v); break;
        case 'backup': e.backup = v === '1'; break;
        case 'error': e.error = Number(v); break;
        case 'ifindex': e.ifindex = Number(v); break;
        case 'reset_reason': e.resetReason = Number(v); break;
        case 'reset_flags': e.resetFlags = Number(v); break;
        case 'flags': e.flags = parseInt(v, 16); break;
        case 'timeout': e.timeout = Number(v); break;
        default: unknown.push(`${m[1]}: ${kv}`);
      }
    }
    return e;
  });
  return { events, unknown };
}

const FIELDS = ['type', 'token', 'localAddress', 'localPort', 'remoteAddress', 'remotePort', 'localId', 'remoteId', 'backup', 'error', 'ifindex', 'resetReason', 'resetFlags', 'flags', 'timeout'] as const;

/** The fields `ip mptcp monitor` prints (none but the type for listener events on an older iproute2). */
function comparable(e: Ev, typeOnly: boolean): Record<string, unknown> {
  if (typeOnly) return { type: e.type };
  const o: Record<string, unknown> = {};
  for (const k of FIELDS) if (e[k] !== undefined) o[k] = e[k];
  return o;
}

/** What the schedule predicts about one event of a connection: its type and, for path events, the path. */
function shape(e: Ev): string {
  switch (e.type) {
    case 'announced': case 'removed': return `${e.type} id ${e.remoteId}${e.remoteAddress ? ` ${e.remoteAddress}` : ''}`;
    case 'subflowEstablished': case 'subflowClosed': return `${e.type} ${e.localAddress} > ${e.remoteAddress}`;
    case 'subflowPriority': return `${e.type} ${e.localAddress} > ${e.remoteAddress} backup=${e.backup}`;
    default: return e.type;
  }
}

/** `actual`, sorted within each stretch as long as the corresponding group of `groups`. */
function inGroups(actual: string[], groups: string[][]): string[] {
  const out: string[] = [];
  let i = 0;
  for (const g of groups) {
    out.push(...actual.slice(i, i + g.length).sort());
    i += g.length;
  }
  return out.concat(actual.slice(i));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` until it returns a truthy value; fails with `what` after `timeoutMs`. */
async function until<T>(what: string, cond: () => T | Promise<T>, timeoutMs = 20_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** `ip mptcp monitor` inside a namespace, ready once its netlink socket has joined a multicast group. */
class IpMonitor {
  private readonly child: ChildProcess;
  private out = '';
  private err = '';
  private readonly exited: Promise<void>;

  constructor(ns: string) {
    // ip's stdout is a pipe, so line-buffer it: a SIGINT would lose a full buffer.
    this.child = spawn('ip', ['netns', 'exec', ns, 'stdbuf', '-oL', 'ip', 'mptcp', 'monitor'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => { this.out += d; });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.err += d; });
    this.exited = new Promise((resolve) => this.child.on('exit', () => resolve()));
  }

  /**
   * `ip netns exec` and stdbuf exec in place, so the child's pid is ip's,
   * and its generic netlink socket (protocol 16) shows the joined group in
   * /proc/<pid>/net/netlink (the first 32 groups; mptcp_pm_events is one).
   */
  async ready(): Promise<void> {
    const pid = this.child.pid!;
    await until('ip mptcp monitor to join mptcp_pm_events', () => {
      if (this.child.exitCode !== null) throw new Error(`ip mptcp monitor exited: ${this.err.trim()}`);
      let table: string;
      try {
        table = fs.readFileSync(`/proc/${pid}/net/netlink`, 'utf8');
      } catch { return false; }
      return table.split('\n').slice(1).some((l) => {
        const [, proto, port, groups] = l.trim().split(/\s+/);
        return proto === '16' && Number(port) === pid && parseInt(groups, 16) !== 0;
      });
    }, 10_000, 20);
  }

  events(): { events: Ev[]; unknown: string[] } {
    return parseIp(this.out);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    await this.exited;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

let lab: Lab | null = null;
const ipMonitors: IpMonitor[] = [];
/** What to print when the test fails, gathered while the lab still exists. */
let diagnostics: (() => Promise<string>) | null = null;
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail' && diagnostics) console.log(await diagnostics().catch((err: Error) => `diagnostics failed: ${err.message}`));
  diagnostics = null;
  for (const m of ipMonitors.splice(0)) m.kill();
  await lab?.destroy();
  lab = null;
});

describe.skipIf(reason !== null)('chaos in the two-path lab', () => {
  // One retry: in about 1 run of 60 this kernel (6.18) fails a rejoin (the
  // server resets the new join with "MPTCP error"), and under heavy load it
  // once delivered 45 segments at the wrong stream offset; both were
  // reproduced with Python MPTCP sockets and iproute2 alone, no library code.
  // A library fault that breaks the stream or the events fails both tries.
  it('a long transfer survives link cuts, endpoint churn, backup flips and MPTCP off/on; every event is accounted for', { timeout: 180_000, retry: 1 }, async () => {
    const t0 = Date.now();
    const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    const timeline: string[] = [];
    let ackedNow: (() => Promise<bigint>) | null = null;
    const mark = async (what: string): Promise<void> => {
      const at = elapsed();
      timeline.push(`${at} ${what}${ackedNow ? ` (long connection: ${await ackedNow()} bytes acked)` : ''}`);
    };

    lab = await Lab.create({ paths: [{ rateMbit: RATE_MBIT }, { rateMbit: RATE_MBIT }] });
    const l = lab;
    const [p1, p2] = l.paths;
    // A dead path is noticed by its subflow's retransmission timeout; make
    // that a few seconds rather than minutes (the default of 15 retries).
    await l.exec('client', ['sysctl', '-q', '-w', 'net.ipv4.tcp_retries2=3']);
    // An ADD_ADDR stays counted against add_addr_accepted when its subflow
    // was gone before the RM_ADDR came (6.18): every link cut uses one up, and
    // so does an endpoint removal whose reset overtakes its RM_ADDR. Three
    // rounds use at most seven.
    await l.mptcp('client', ['limits', 'set', 'subflows', '2', 'add_addr_accepted', '8']);

    // The oracles first, then the library's monitors, before anything else happens.
    const ip: Record<Side, IpMonitor> = { client: new IpMonitor(l.client), server: new IpMonitor(l.server) };
    ipMonitors.push(ip.client, ip.server);
    await Promise.all([ip.client.ready(), ip.server.ready()]);
    const [server, client] = await Promise.all([l.agent('server'), l.agent('client')]);
    const agents: Record<Side, LabProcess> = { client, server };
    const events: Record<Side, Ev[]> = { client: [], server: [] };
    diagnostics = async () => {
      const out = [`chaos failed at ${elapsed()}`, ...timeline.map((t) => `  ${t}`)];
      for (const side of ['client', 'server'] as const) {
        out.push(`${side} mptcp.monitor():`, ...events[side].map((e) => `  ${JSON.stringify(e)}`));
        out.push(`${side} ip mptcp monitor:`, ...ip[side].events().events.map((e) => `  ${JSON.stringify(e)}`));
        const mib = (await l.exec(side, ['nstat', '-az'])).stdout.split('\n').filter((x) => /^MPTcpExt\S+\s+[1-9]/.test(x));
        out.push(`${side} MPTCP counters (non-zero):`, ...mib.map((x) => `  ${x.replace(/\s+\S+$/, '')}`));
        out.push(`${side} sockets:`, ...(await l.exec(side, ['ss', '-tniaH'])).stdout.split('\n').map((x) => `  ${x}`));
      }
      return out.join('\n');
    };
    const monitorErrors: string[] = [];
    for (const side of ['client', 'server'] as const) {
      agents[side].on('message', (m) => {
        if (m.type === 'mptcpEvent') events[side].push(m.event as Ev);
        else if (m.type === 'mptcpEventError' || m.type === 'mptcpEventEnd') monitorErrors.push(`${side}: ${m.type} ${m.error ?? ''}`);
      });
      await agents[side].request({ cmd: 'monitor' });
      await agents[side].request({ cmd: 'pm', fn: 'list' }); // opens the path manager's shared socket
    }
    const received: Received[] = [];
    server.on('message', (m) => { if (m.type === 'received') received.push(m as unknown as Received); });
    const { port } = await server.request<{ port: number }>({ cmd: 'serve', kind: 'lib', verify: true });
    const fdsBefore = {
      client: await client.request<Fds>({ cmd: 'fds' }),
      server: await server.request<Fds>({ cmd: 'fds' }),
    };
    const info = (side: Side, conn: number): Promise<InfoReply> => agents[side].request<InfoReply>({ cmd: 'info', conn });
    const onPath2 = (r: InfoReply, side: Side): SubflowJson[] =>
      r.subflows.filter((s) => s.localAddress === (side === 'client' ? p2.clientAddress : p2.serverAddress));
    const serverConnOf = async (peerPort: number): Promise<number> => {
      const peer = `${p1.clientAddress}:${peerPort}`;
      return until(`the server to accept ${peer}`, async () => {
        const { conns } = await server.request<{ conns: { id: number; role: string; peer: string }[] }>({ cmd: 'conns' });
        return conns.find((c) => c.role === 'server' && c.peer === peer)?.id;
      });
    };
    const receivedFrom = (peerPort: number, timeoutMs = 20_000): Promise<Received> =>
      until(`the server to receive the whole stream of port ${peerPort}`,
        () => received.find((r) => r.peer === `${p1.clientAddress}:${peerPort}`), timeoutMs);

    // The long connection: both subflows up on both ends before the chaos starts.
    const long = await client.request<Connected>({ cmd: 'connect', kind: 'lib', host: p1.serverAddress, port });
    expect(long.isMptcp).toBe(true);
    const longServer = await serverConnOf(long.localPort);
    // Called once path 2's old subflows are gone: any subflow there is a new one.
    const bothUp = async (what: string): Promise<void> => {
      const c = await until(`${what}: the client's subflow on path 2`, async () => {
        const sf = onPath2(await info('client', long.conn), 'client');
        return sf.length === 1 && sf[0].state === 'ESTABLISHED' ? sf[0] : null;
      });
      await until(`${what}: the server's subflows, one per path`, async () => {
        const r = await info('server', longServer);
        return r.subflows.length === 2 && onPath2(r, 'server').length === 1 && onPath2(r, 'server')[0].remotePort === c.localPort;
      });
    };
    await bothUp('start');
    const tokens = {
      client: (await info('client', long.conn)).info!.token,
      server: (await info('server', longServer)).info!.token,
    };

    // The transfer runs in 4 MiB requests until the schedule is done; the
    // agent's digest covers everything sent on the connection.
    let sentBytes = 0;
    let sentSha: string;
    let stopSending = false;
    const pump = (async () => {
      while (!stopSending) {
        const r = await client.request<Sent>({ cmd: 'send', conn: long.conn, bytes: SEND_BYTES, end: false, pattern: true }, 120_000);
        sentBytes += r.bytes;
        sentSha = r.sha256;
      }
    })();
    pump.catch(() => { /* awaited after the schedule */ });
    const acked = async (): Promise<bigint> => BigInt((await info('client', long.conn)).info?.bytesAcked ?? '0');
    ackedNow = acked;
    // Path 2's subflow carries its share: another MiB acked on it from now.
    const path2Acked = async (): Promise<bigint> => BigInt(onPath2(await info('client', long.conn), 'client')[0]?.bytesAcked ?? '0');
    const carrying = async (what: string): Promise<void> => {
      const from = await path2Acked();
      await until(`${what}: path 2 to carry data`, async () => (await path2Acked()) > from + (1n << 20n));
    };

    // The long connection's events, as the schedule predicts them, on each
    // side: one group per step, in the order of the steps; within a step the
    // kernel may report a reset subflow before or after the RM_ADDR.
    const sf = (side: Side, type: string, backup?: boolean): string => {
      const [a, b] = side === 'client' ? [p2.clientAddress, p2.serverAddress] : [p2.serverAddress, p2.clientAddress];
      return backup === undefined ? `${type} ${a} > ${b}` : `${type} ${a} > ${b} backup=${backup}`;
    };
    const expected: Record<Side, string[][]> = {
      client: [['created'], ['established'], [`announced id ${ENDPOINT_ID} ${p2.serverAddress}`], [sf('client', 'subflowEstablished')]],
      server: [['created'], ['established'], [sf('server', 'subflowEstablished')]],
    };
    const linkState = async (side: Side, dev: string): Promise<string> => (await l.ip(side, ['-o', 'link', 'show', 'dev', dev])).stdout;
    const probes: { mode: string; conn: Connected; token?: number }[] = [];

    for (let round = 1; round <= ROUNDS; round++) {
      // (a) Path 2's link goes down on both ends. The client's subflow there
      // times out; the server's, which only sends ACKs, cannot notice.
      await carrying(`round ${round}, before the cut`);
      const ci = (await info('client', long.conn)).info!;
      await mark(`round ${round}: path 2 link down (client: ${ci.subflows} extra subflows, ${ci.addAddrAccepted} addresses accepted)`);
      await l.setLink(2, false);
      await until(`round ${round}: the client's path-2 subflow to time out`, async () => onPath2(await info('client', long.conn), 'client').length === 0, 30_000);
      expected.client.push([sf('client', 'subflowClosed')]);
      await mark(`round ${round}: path 2 link up, address announced again`);
      await l.setLink(2, true);
      await until(`round ${round}: path 2 carrier on both ends`, async () =>
        /LOWER_UP/.test(await linkState('client', p2.clientIf)) && /LOWER_UP/.test(await linkState('server', p2.serverIf)));
      // The in-kernel path manager does not rejoin a path by itself: the server
      // withdraws and announces the address again (the CLI, as lab.ts does);
      // withdrawing also closes the server's stale subflow.
      await l.withdraw(2);
      await l.announce(2);
      await bothUp(`round ${round}, link restored`);
      await carrying(`round ${round}, link restored`);
      expected.client.push([`removed id ${ENDPOINT_ID}`], [`announced id ${ENDPOINT_ID} ${p2.serverAddress}`], [sf('client', 'subflowEstablished')]);
      expected.server.push([sf('server', 'subflowClosed')], [sf('server', 'subflowEstablished')]);

      // (b) The endpoint is removed and re-added, with the library's pm in the server's agent.
      await mark(`round ${round}: endpoint removed`);
      await server.request({ cmd: 'pm', fn: 'delete', args: [ENDPOINT_ID] });
      await until(`round ${round}: path 2's subflows to close on both ends`, async () =>
        onPath2(await info('client', long.conn), 'client').length === 0 && onPath2(await info('server', longServer), 'server').length === 0);
      expected.client.push([`removed id ${ENDPOINT_ID}`, sf('client', 'subflowClosed')]);
      expected.server.push([sf('server', 'subflowClosed')]);
      await mark(`round ${round}: endpoint re-added`);
      const added = await server.request<{ value: { id: number; flags: string[] } }>({
        cmd: 'pm', fn: 'add', args: [{ address: p2.serverAddress, id: ENDPOINT_ID, flags: ['signal'], ifname: p2.serverIf }],
      });
      expect(added.value).toMatchObject({ id: ENDPOINT_ID, flags: ['signal'] });
      await bothUp(`round ${round}, endpoint re-added`);
      await carrying(`round ${round}, endpoint re-added`);
      expected.client.push([`announced id ${ENDPOINT_ID} ${p2.serverAddress}`], [sf('client', 'subflowEstablished')]);
      expected.server.push([sf('server', 'subflowEstablished')]);

      // (c) The endpoint's backup flag flips on and off (MP_PRIO); the client,
      // which receives MP_PRIO, reports each change. Odd rounds through
      // pm.setFlags, even rounds through the `mptcp` command.
      const sfPort = onPath2(await info('client', long.conn), 'client')[0].localPort;
      // The kernel's own view, from ss: the client's subflow marks the peer's
      // backup request (B), the server's its own (b).
      const ssFlags = async (side: Side): Promise<string> => {
        const filter = side === 'client' ? `sport = :${sfPort}` : `dport = :${sfPort}`;
        const out = (await l.exec(side, ['ss', '-tniH', 'state', 'established', filter])).stdout;
        return /tcp-ulp-mptcp flags:(\S+)/.exec(out)?.[1] ?? `(no subflow: ${out.trim()})`;
      };
      for (const backup of [true, false]) {
        await mark(`round ${round}: backup ${backup ? 'on' : 'off'}`);
        const before = events.client.filter((e) => e.type === 'subflowPriority').length;
        if (round % 2 === 1) await server.request({ cmd: 'pm', fn: 'setFlags', args: [ENDPOINT_ID, backup ? ['backup'] : []] });
        else await l.mptcp('server', ['endpoint', 'set', 'id', String(ENDPOINT_ID), backup ? 'backup' : 'nobackup']);
        const { value } = await server.request<{ value: { flags: string[] } }>({ cmd: 'pm', fn: 'get', args: [ENDPOINT_ID] });
        expect(value.flags.sort()).toEqual(backup ? ['backup', 'signal'] : ['signal']);
        await until(`round ${round}: the client to see backup=${backup}`,
          () => events.client.filter((e) => e.type === 'subflowPriority').length > before);
        expected.client.push([sf('client', 'subflowPriority', backup)]);
        const flags = await until(`round ${round}: ss to show backup=${backup} on both ends`, async () => {
          const [c, sv] = [await ssFlags('client'), await ssFlags('server')];
          return c.includes('B') === backup && sv.includes('b') === backup ? `${c} ${sv}` : null;
        }, 5000).catch((err: Error) => err.message);
        expect(flags).toMatch(backup ? /^\S*B\S* \S*b\S*$/ : /^[^B\s]+ [^b\s]+$/);
      }

      // (d) MPTCP off in the client's namespace, for new sockets only.
      await mark(`round ${round}: net.mptcp.enabled=0`);
      const ackedBefore = await acked();
      await l.exec('client', ['sysctl', '-q', '-w', 'net.mptcp.enabled=0']);
      const fallback = await client.request<Connected>({ cmd: 'connect', kind: 'lib', host: p1.serverAddress, port, mptcp: true });
      expect(fallback.isMptcp).toBe(false);
      probes.push({ mode: `round ${round} fallback`, conn: fallback });
      const fallbackAtServer = await info('server', await serverConnOf(fallback.localPort));
      expect(fallbackAtServer).toMatchObject({ isMptcp: false, info: null, subflows: [] });
      const fallbackSent = await client.request<Sent>({ cmd: 'send', conn: fallback.conn, bytes: PROBE_BYTES, pattern: true });
      expect(await receivedFrom(fallback.localPort)).toMatchObject({ bytes: PROBE_BYTES, sha256: fallbackSent.sha256, isMptcp: false, mismatches: [] });
      const refused = await client.request({ cmd: 'connect', kind: 'lib', host: p1.serverAddress, port, mptcp: 'require' })
        .then(() => null, (err: Error & { code?: string }) => err);
      expect(refused).toMatchObject({ code: 'ENOPROTOOPT' });

      await mark(`round ${round}: net.mptcp.enabled=1`);
      await l.exec('client', ['sysctl', '-q', '-w', 'net.mptcp.enabled=1']);
      const again = await client.request<Connected>({ cmd: 'connect', kind: 'lib', host: p1.serverAddress, port, mptcp: true });
      expect(again.isMptcp).toBe(true);
      const againInfo = await until(`round ${round}: the new connection's join on path 2`, async () => {
        const r = await info('client', again.conn);
        return onPath2(r, 'client').some((s) => s.state === 'ESTABLISHED') ? r : null;
      });
      probes.push({ mode: `round ${round} mptcp`, conn: again, token: againInfo.info!.token });
      expect((await info('server', await serverConnOf(again.localPort))).isMptcp).toBe(true);
      const againSent = await client.request<Sent>({ cmd: 'send', conn: again.conn, bytes: PROBE_BYTES, pattern: true });
      expect(await receivedFrom(again.localPort)).toMatchObject({ bytes: PROBE_BYTES, sha256: againSent.sha256, isMptcp: true, mismatches: [] });
      // The long connection kept going meanwhile.
      expect(await until('the long transfer to progress', async () => (await acked()) > ackedBefore)).toBe(true);
    }

    // A last stretch of data after the chaos, then the end of the stream.
    await mark('schedule done');
    stopSending = true;
    await pump;
    const last = await client.request<Sent>({ cmd: 'send', conn: long.conn, bytes: SEND_BYTES, end: true, pattern: true }, 120_000);
    sentBytes += last.bytes;
    sentSha = last.sha256;
    const r = await receivedFrom(long.localPort, 120_000);
    ackedNow = null;
    expected.client.push(['closed']);
    expected.server.push(['closed']);
    await mark('transfer done');

    // Everything closed: the agents hold as many descriptors as before the
    // first connection (waited for, then compared, so a leak shows as a list).
    for (const side of ['client', 'server'] as const) {
      await until(`the ${side} agent's descriptors to drop back`,
        async () => (await agents[side].request<Fds>({ cmd: 'fds' })).count <= fdsBefore[side].count, 10_000)
        .catch(() => undefined);
    }
    const fdsAfter = {
      client: await client.request<Fds>({ cmd: 'fds' }),
      server: await server.request<Fds>({ cmd: 'fds' }),
    };

    // The long connection's last event has come through the library, and
    // both oracles have printed as many events as the library delivered.
    for (const side of ['client', 'server'] as const) {
      await until(`the ${side}'s closed event`, () => events[side].some((e) => e.type === 'closed' && e.token === tokens[side]), 10_000)
        .catch(() => undefined);
    }
    for (const side of ['client', 'server'] as const) {
      await until(`ip mptcp monitor (${side}) to catch up`, () => ip[side].events().events.length >= events[side].length, 5000)
        .catch(() => undefined);
    }
    await Promise.all([ip.client.stop(), ip.server.stop()]);

    const summary = `chaos: ${ROUNDS} rounds in ${elapsed()}, ${sentBytes} bytes (${(sentBytes / 2 ** 20).toFixed(0)} MiB), ` +
      `longest receive gap ${r.maxGapMs.toFixed(0)} ms, events client ${events.client.length} / server ${events.server.length}`;
    console.log(`${summary}\n  ${timeline.join('\n  ')}`);

    // Nothing lost, nothing changed.
    expect(r.isMptcp).toBe(true);
    expect(r.bytes).toBe(sentBytes);
    // Where the stream differs from what was sent, if it does (offsets: see the timeline's acked counts).
    expect(r.mismatches.map((m) => `at ${m.at}: ${m.bytes} bytes of offset ${m.got}`)).toEqual([]);
    expect(r.sha256).toBe(sentSha);
    expect(r.maxGapMs).toBeLessThan(15_000); // a sanity bound only

    // No descriptor kept by either agent.
    expect(fdsAfter.client.fds).toEqual(fdsBefore.client.fds);
    expect(fdsAfter.server.fds).toEqual(fdsBefore.server.fds);

    // The library's monitors delivered exactly what ip mptcp monitor printed.
    expect(monitorErrors).toEqual([]);
    for (const side of ['client', 'server'] as const) {
      const oracle = ip[side].events();
      expect(oracle.unknown, `fields of ip mptcp monitor (${side}) this test does not compare`).toEqual([]);
      const typeOnly = (e: Ev): boolean => e.type.startsWith('listener');
      expect(events[side].map((e) => comparable(e, typeOnly(e))), `${side}: mptcp.monitor() against ip mptcp monitor`)
        .toEqual(oracle.events.map((e) => comparable(e, typeOnly(e))));
    }

    // The long connection's events are those of the schedule, in order.
    for (const side of ['client', 'server'] as const) {
      const mine = events[side].filter((e) => e.token === tokens[side]);
      expect(inGroups(mine.map(shape), expected[side]), `${side}: the long connection's events`).toEqual(expected[side].flatMap((g) => [...g].sort()));
      expect(mine.filter((e) => e.type === 'subflowEstablished' || e.type === 'subflowPriority').every((e) => e.localPort !== undefined)).toBe(true);
    }

    // Each MPTCP probe: created, established, its join, closed; once each. The fallback probes made no event.
    const clientTokens = new Set(events.client.map((e) => e.token).filter((t) => t !== undefined));
    for (const p of probes) {
      if (p.token === undefined) continue;
      const mine = events.client.filter((e) => e.token === p.token).map((e) => e.type);
      expect(mine.filter((t) => t === 'created' || t === 'established' || t === 'closed'), p.mode).toEqual(['created', 'established', 'closed']);
      expect(mine, p.mode).toContain('subflowEstablished');
    }
    expect(clientTokens.size).toBe(1 + probes.filter((p) => p.token !== undefined).length);

    // The server listens once (and is still listening): one listenerCreated.
    // Fails today: mptcp.Server listens natively and then hands the
    // descriptor to net, whose listen() calls listen(2) again, and the kernel
    // reports every listen(2) on an MPTCP socket.
    const listenerEvents = events.server.filter((e) => e.type.startsWith('listener')).map((e) => `${e.type} ${e.localAddress}:${e.localPort}`);
    expect(listenerEvents).toEqual([`listenerCreated 0.0.0.0:${port}`]);
  });
});
