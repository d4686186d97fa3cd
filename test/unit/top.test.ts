// `mptcp top` without the kernel: the view (lib/cli/top.ts) from fake
// samples (rates from two samples, sort, column widths, JSON shape, the MIB
// line), its grammar (lib/cli/parse.ts), and the loop in lib/cli/main.ts
// against a fake library and terminal. test/lab/top.test.ts runs the real
// thing in a two-path lab.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliParse, usageError } from '../helpers/cli';

const require = createRequire(import.meta.url);
const top = require('../../dist/cli/top.js') as typeof import('../../lib/cli/top');
const cliMain = require('../../dist/cli/main.js') as typeof import('../../lib/cli/main');

type Connection = import('../../lib/diag').Connection;
type ConnectionSubflow = import('../../lib/diag').ConnectionSubflow;
type TopSample = import('../../lib/cli/top').TopSample;
type Library = import('../../lib/cli/main').Library;
type Terminal = import('../../lib/cli/main').Terminal;

const bin = path.join(__dirname, '..', '..', 'bin', 'mptcp.js');

function subflow(over: Partial<ConnectionSubflow> = {}): ConnectionSubflow {
  return {
    id: 1, family: 'IPv4', localAddress: '10.0.1.1', localPort: 40000, remoteAddress: '10.0.1.2', remotePort: 5201,
    state: 'ESTABLISHED', rtt: 1500, rttVar: 100, cwnd: 10, ssthresh: 2147483647, mss: 1448, pmtu: 1500, rto: 204000,
    retransmits: 0, totalRetrans: 0, lost: 0, bytesSent: 0n, bytesAcked: 0n, bytesReceived: 0n, lastDataSent: 0, lastDataRecv: 0,
    localId: 0, remoteId: 0, backup: false, backupRemote: false, join: false, fullyEstablished: true, inode: 0, ...over,
  };
}

function connection(token: number, subflows: ConnectionSubflow[], bytes: { sent?: bigint; received?: bigint } = {}, over: Partial<Connection> = {}): Connection {
  const info = {
    subflows: Math.max(0, subflows.length - 1), addAddrSignal: 0, addAddrAccepted: 0, subflowsMax: 2, addAddrSignalMax: 0, addAddrAcceptedMax: 2,
    flags: 0, fallback: false, remoteKeyReceived: true, token, writeSeq: 0n, sndUna: 0n, rcvNxt: 0n,
    bytesSent: bytes.sent, bytesReceived: bytes.received, subflowsTotal: subflows.length,
  };
  return {
    family: 'IPv4', state: 'ESTABLISHED', localAddress: '10.0.1.1', localPort: 40000 + (token % 1000), remoteAddress: '10.0.1.2', remotePort: 5201,
    token, uid: 0, inode: token, info, subflows, ...over,
  };
}

const sample = (at: number, connections: Connection[], mib: Record<string, number> | null = null): TopSample => ({ at, wall: 1_700_000_000_000 + at, connections, mib });

/** Two subflows of token 0xabc: the initial one on path 1 and a join on path 2. */
function twoPaths(sent1: bigint, sent2: bigint, received: bigint, connSent: bigint): Connection {
  return connection(0xabc, [
    subflow({ bytesSent: sent1, bytesReceived: received, inode: 11 }),
    subflow({ id: 2, localAddress: '10.0.2.1', localPort: 40001, remoteAddress: '10.0.2.2', localId: 2, remoteId: 1, join: true, backup: true, inode: 12, bytesSent: sent2, rtt: 25_000, cwnd: 42 }),
  ], { sent: connSent, received });
}

describe('view', () => {
  it('rates are byte-counter deltas over the time between two samples; none on the first sample', () => {
    const first = top.buildView(null, sample(0, [twoPaths(1000n, 0n, 0n, 1000n)]), 'rate');
    expect(first.seconds).toBeNull();
    expect(first.connections[0]).toMatchObject({ token: '00000abc', sendRate: null, receiveRate: null });
    expect(first.connections[0].subflows.map((s) => s.sendRate)).toEqual([null, null]);

    const prev = sample(1000, [twoPaths(1000n, 0n, 0n, 1000n)]);
    const cur = sample(3000, [twoPaths(5000n, 2000n, 600n, 7000n)]);
    const v = top.buildView(prev, cur, 'rate');
    expect(v.seconds).toBe(2);
    const [c] = v.connections;
    expect(c).toMatchObject({ sendRate: 3000, receiveRate: 300, bytesSent: 7000, bytesReceived: 600, rtt: 25_000 });
    expect(c.subflows.map((s) => [s.sendRate, s.receiveRate])).toEqual([[2000, 300], [1000, 0]]);
    expect(c.subflows[1]).toMatchObject({ join: true, backup: true, localId: 2, remoteId: 1, cwnd: 42 });
    expect(v.totals).toMatchObject({ connections: 1, subflows: 2, fallback: 0, mibFallbacks: null });
  });

  it('a subflow or connection new since the last sample, or whose counter went back, has no rate', () => {
    const prev = sample(0, [connection(1, [subflow({ inode: 5, bytesSent: 9000n })], { sent: 9000n, received: 0n })]);
    const cur = sample(1000, [
      connection(1, [subflow({ inode: 5, bytesSent: 100n }), subflow({ inode: 6, localPort: 40009, bytesSent: 50n, join: true })], { sent: 10_000n, received: 0n }),
      connection(2, [subflow({ inode: 7, bytesSent: 1n })], { sent: 1n, received: 0n }),
    ]);
    const v = top.buildView(prev, cur, 'rate');
    const one = v.connections.find((c) => c.token === '00000001')!;
    expect(one.sendRate).toBe(1000);
    expect(one.subflows.map((s) => s.sendRate)).toEqual([null, null]);
    expect(v.connections.find((c) => c.token === '00000002')!.sendRate).toBeNull();
  });

  it('without the MPTCP-level byte counters (before Linux 6.5) a connection rate is its subflows\' sum', () => {
    const prev = sample(0, [connection(3, [subflow({ inode: 1, bytesSent: 0n }), subflow({ inode: 2, localPort: 1, bytesSent: 0n })])]);
    const cur = sample(500, [connection(3, [subflow({ inode: 1, bytesSent: 500n }), subflow({ inode: 2, localPort: 1, bytesSent: 250n })])]);
    expect(top.buildView(prev, cur, 'rate').connections[0]).toMatchObject({ sendRate: 1500, receiveRate: 0 });
  });

  it('sorts by rate, rtt or subflows, largest first; s cycles the keys', () => {
    const fast = connection(0x10, [subflow({ inode: 1, rtt: 1000, bytesSent: 0n })], { sent: 0n, received: 0n });
    const slow = connection(0x20, [subflow({ inode: 2, rtt: 90_000 }), subflow({ inode: 3, rtt: 2000 }), subflow({ inode: 4 })], { sent: 0n, received: 0n });
    const idle = connection(0x30, [subflow({ inode: 5, rtt: 5000 }), subflow({ inode: 6 })], { sent: 0n, received: 0n });
    const later = [
      { ...fast, info: { ...fast.info!, bytesSent: 5_000_000n } },
      { ...slow, info: { ...slow.info!, bytesSent: 1000n } },
      idle,
    ];
    const order = (key: 'rate' | 'rtt' | 'subflows'): (string | null)[] => top.buildView(sample(0, [fast, slow, idle]), sample(1000, later), key).connections.map((c) => c.token);
    expect(order('rate')).toEqual(['00000010', '00000020', '00000030']);
    expect(order('rtt')).toEqual(['00000020', '00000030', '00000010']);
    expect(order('subflows')).toEqual(['00000020', '00000030', '00000010']);
    expect(top.nextSort('rate')).toBe('rtt');
    expect(top.nextSort('rtt')).toBe('subflows');
    expect(top.nextSort('subflows')).toBe('rate');
  });

  it('text: a title, the totals with the MIB fallbacks, and a table whose columns line up', () => {
    const mib = { MPCapableSYNRX: 4, MPCapableFallbackACK: 1, MPCapableFallbackSYNACK: 2, MPFallbackTokenInit: 0, DssFallback: 3, FallbackFailed: 7 };
    const v = top.buildView(sample(0, [twoPaths(0n, 0n, 0n, 0n)]), sample(1000, [
      twoPaths(12_345_678n, 1_000n, 0n, 12_346_678n),
      connection(0xffffffff, [subflow({ inode: 99, family: 'IPv6', localAddress: 'fd00::1', remoteAddress: 'fd00:1234:5678::2', localPort: 1, remotePort: 2 })], {}, { family: 'IPv6', localAddress: 'fd00::1', remoteAddress: 'fd00:1234:5678::2', info: null, token: undefined }),
    ], mib), 'rate');
    expect(v.totals.mibFallbacks).toEqual({ total: 6, counters: { MPCapableFallbackACK: 1, MPCapableFallbackSYNACK: 2, MPFallbackTokenInit: 0, DssFallback: 3 } });
    const lines = top.viewLines(v);
    expect(lines[0]).toMatch(/^mptcp top {2}\d\d:\d\d:\d\d {2}over 1\.0s {2}sort rate$/);
    expect(lines[1]).toBe('connections 2  subflows 3  fallback 0  MIB fallbacks 6 (MPCapableFallbackACK 1, MPCapableFallbackSYNACK 2, MPFallbackTokenInit 0)');
    const tableLines = lines.slice(2);
    expect(tableLines).toHaveLength(6); // header, 2 + 2 rows, 1 + 1 rows
    expect(new Set(tableLines.map((l) => l.length)).size).toBe(1);
    const header = tableLines[0];
    for (const col of ['STATE', 'LOCAL', 'REMOTE', 'FLAGS']) {
      const at = header.indexOf(col);
      // Left-aligned columns start at the header's offset on every row.
      for (const l of tableLines.slice(1)) expect(l[at - 1]).toBe(' ');
    }
    const [, conn, sf1, sf2, conn6] = tableLines;
    expect(conn.startsWith('00000abc  ESTABLISHED  10.0.1.1:40')).toBe(true);
    expect(conn).toContain('12.3 MB/s');
    expect(sf1).toMatch(/^ {2}0\/0 +ESTABLISHED +10\.0\.1\.1:40000 +10\.0\.1\.2:5201 +initial +1\.50ms +10 +12\.3 MB\/s +0 B\/s +0$/);
    expect(sf2).toMatch(/^ {2}2\/1 +ESTABLISHED +10\.0\.2\.1:40001 +10\.0\.2\.2:5201 +join,backup +25\.0ms +42 +1\.00 kB\/s/);
    expect(conn6).toContain('[fd00::1]:40295  [fd00:1234:5678::2]:5201');
    expect(conn6.startsWith('-  ')).toBe(true);
    expect(top.viewLines(top.buildView(null, sample(0, []), 'rtt')).slice(1)).toEqual(['connections 0  subflows 0  fallback 0', '(no MPTCP connections)']);
  });

  it('units: rates SI with 3 digits, RTT in ms', () => {
    expect([null, 0, 999, 999.6, 1234, 12_345, 999_999, 1.5e9].map(top.formatRate)).toEqual(['-', '0 B/s', '999 B/s', '1.00 kB/s', '1.23 kB/s', '12.3 kB/s', '1.00 MB/s', '1.50 GB/s']);
    expect([null, 50, 1500, 25_000, 250_000].map(top.formatRtt)).toEqual(['-', '0.05ms', '1.50ms', '25.0ms', '250ms']);
  });

  it('JSON: the view on one line, numbers for bytes and rates, tokens as ss -M writes them', () => {
    const v = top.buildView(sample(0, [twoPaths(0n, 0n, 0n, 0n)]), sample(1000, [twoPaths(2000n, 0n, 0n, 2000n)], { MPCapableFallbackACK: 1 }), 'subflows');
    const line = top.viewJson(v);
    expect(line).not.toContain('\n');
    const j = JSON.parse(line);
    expect(Object.keys(j)).toEqual(['time', 'seconds', 'sort', 'totals', 'connections']);
    expect(j).toMatchObject({
      time: new Date(1_700_000_001_000).toISOString(), seconds: 1, sort: 'subflows',
      totals: { connections: 1, subflows: 2, fallback: 0, mibFallbacks: { total: 1, counters: { MPCapableFallbackACK: 1 } } },
    });
    expect(Object.keys(j.connections[0])).toEqual([
      'token', 'family', 'state', 'localAddress', 'localPort', 'remoteAddress', 'remotePort', 'fallback', 'sendRate', 'receiveRate',
      'bytesSent', 'bytesReceived', 'rtt', 'totalRetrans', 'subflows',
    ]);
    expect(j.connections[0]).toMatchObject({ token: '00000abc', sendRate: 2000, bytesSent: 2000 });
    expect(Object.keys(j.connections[0].subflows[0])).toEqual([
      'id', 'localId', 'remoteId', 'join', 'backup', 'backupRemote', 'state', 'localAddress', 'localPort', 'remoteAddress', 'remotePort',
      'rtt', 'cwnd', 'sendRate', 'receiveRate', 'bytesSent', 'bytesAcked', 'bytesReceived', 'totalRetrans',
    ]);
  });

  it('the MIB: MPTcpExt names and values of /proc/net/netstat', () => {
    const text = 'TcpExt: SyncookiesSent X\nTcpExt: 0 1\nMPTcpExt: MPCapableSYNRX MPCapableFallbackACK\nMPTcpExt: 5 2\nIpExt: A\nIpExt: 1\n';
    expect(top.parseNetstat(text)).toEqual({ MPCapableSYNRX: 5, MPCapableFallbackACK: 2 });
    expect(top.parseNetstat('TcpExt: A\nTcpExt: 1\n')).toBeNull();
    expect(top.fallbackCounters(null)).toBeNull();
  });

  it('a terminal frame: home, lines cut to the width, cleared; too many lines end in "... N more"', () => {
    expect(top.frame(['abcdef', 'gh'], 4, 10)).toBe('\x1b[Habcd\x1b[K\r\ngh\x1b[K\x1b[J');
    expect(top.frame(['1', '2', '3', '4'], 80, 3)).toBe('\x1b[H1\x1b[K\r\n2\x1b[K\r\n... 2 more lines\x1b[K\x1b[J');
  });
});

describe('grammar', () => {
  const { parse } = cliParse;
  const usage = usageError;

  it('flags, with a value after them or after =', () => {
    expect(parse(['top'])).toEqual({ command: 'top', json: false, options: { once: false, interval: 1, sort: 'rate' } });
    expect(parse(['top', '--once', '--json', '--interval', '0.5', '--sort=rtt', '--port', '5201', '--address', '10.0.1.0/24'])).toEqual({
      command: 'top', json: true, options: { once: true, interval: 0.5, sort: 'rtt', port: 5201, address: '10.0.1.0/24' },
    });
    expect(parse(['top', '--interval=2', '-i', '.25']).command === 'top' && (parse(['top', '-i', '.25']) as { options: { interval: number } }).options.interval).toBe(0.25);
    expect(cliParse.USAGE).toContain('top [--once] [--interval SECONDS]');
  });

  it('bad values and unknown flags are usage errors', () => {
    expect(usage('top', '--interval')).toBe('--interval needs a number of seconds from 0.1 to 3600, got nothing');
    expect(usage('top', '--interval', 'soon')).toBe("--interval needs a number of seconds from 0.1 to 3600, got 'soon'");
    expect(usage('top', '--interval', '0')).toContain("got '0'");
    expect(usage('top', '--interval', '-1')).toContain("got '-1'");
    expect(usage('top', '--interval=1e3')).toContain("got '1e3'");
    expect(usage('top', '--sort', 'name')).toBe("--sort needs one of rate, rtt, subflows, got 'name'");
    expect(usage('top', '--port', 'http')).toBe("--port needs a number, got 'http'");
    expect(usage('top', '--address')).toBe('--address needs an ADDRESS or ADDRESS/PREFIX');
    expect(usage('top', '--frob')).toBe("unknown option '--frob' for top");
    expect(usage('top', 'now')).toBe("unknown word 'now' for top");
    expect(usage('top', '--once=yes')).toBe("unknown option '--once=yes' for top");
  });

  it('exit code 2 with a pointer to --help, from the command itself', () => {
    for (const args of [['--interval', 'x'], ['--bogus']]) {
      const r = spawnSync(process.execPath, [bin, 'top', ...args], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^mptcp: .*\nTry 'mptcp --help'\.\n$/);
      expect(r.stdout).toBe('');
    }
  });
});

describe('the loop (main.ts) against a fake library', () => {
  function fakeLib(samples: Connection[][], fail?: Error): { lib: Library; calls: unknown[] } {
    const calls: unknown[] = [];
    let i = 0;
    const lib = {
      connections: async (o?: unknown) => {
        calls.push(o);
        if (fail) throw fail;
        return samples[Math.min(i++, samples.length - 1)];
      },
      mib: () => ({ MPCapableFallbackACK: 2 }),
    } as unknown as Library;
    return { lib, calls };
  }
  function io(term?: Terminal & { keys: (k: string) => void }) {
    const o = { out: '', err: '', stop: null as null | (() => void) };
    return {
      o,
      sink: { stdout: (t: string) => { o.out += t; }, stderr: (t: string) => { o.err += t; }, onInterrupt: (s: () => void) => { o.stop = s; }, terminal: () => term ?? null },
    };
  }

  it('--once --json: one JSON line over one interval, filters passed to connections()', async () => {
    const { lib, calls } = fakeLib([[twoPaths(0n, 0n, 0n, 0n)], [twoPaths(100n, 100n, 0n, 200n)]]);
    const { o, sink } = io();
    const code = await cliMain.run(['top', '--once', '--json', '--interval', '0.1', '--port', '5201', '--address', '10.0.1.2'], sink, lib);
    expect(code).toBe(0);
    expect(calls).toEqual([{ subflows: true, port: 5201, address: '10.0.1.2' }, { subflows: true, port: 5201, address: '10.0.1.2' }]);
    const lines = o.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]);
    expect(j.seconds).toBeGreaterThanOrEqual(0.09);
    expect(j.connections[0].sendRate).toBeGreaterThan(0);
  });

  it('a pipe: one block per interval until interrupted, exit 0', async () => {
    const { lib } = fakeLib([[]]);
    const { o, sink } = io();
    const running = cliMain.run(['top', '--interval', '0.1'], sink, lib);
    await new Promise((r) => setTimeout(r, 350));
    o.stop!();
    expect(await running).toBe(0);
    const blocks = o.out.split('mptcp top ').length - 1;
    expect(blocks).toBeGreaterThanOrEqual(2);
    expect(blocks).toBeLessThanOrEqual(4);
  });

  it('a kernel error: exit 1 with its message', async () => {
    const err = Object.assign(new Error('sock_diag mptcp: EPERM'), { code: 'EPERM' });
    const { o, sink } = io();
    expect(await cliMain.run(['top', '--once'], sink, fakeLib([], err).lib)).toBe(1);
    expect(o.err).toBe('mptcp: sock_diag mptcp: EPERM\n');
  });

  it('a terminal: drawn at once, redrawn in place; s re-sorts, q quits and gives the terminal back', async () => {
    const { lib } = fakeLib([[twoPaths(0n, 0n, 0n, 0n)]]);
    let keyListener: (k: string) => void = () => {};
    const writes: string[] = [];
    let closed = 0;
    const term = {
      columns: () => 60, rows: () => 20, write: (t: string) => { writes.push(t); },
      onKey: (l: (k: string) => void) => { keyListener = l; }, onResize: () => {}, close: () => { closed++; },
      keys: (k: string) => keyListener(k),
    };
    const { o, sink } = io(term);
    const running = cliMain.run(['top', '--interval', '5'], sink, lib);
    await new Promise((r) => setTimeout(r, 50));
    expect(writes).toHaveLength(1);
    expect(writes[0].startsWith('\x1b[H')).toBe(true);
    expect(writes[0]).toContain('sort rate  (s: sort, q: quit)');
    // eslint-disable-next-line no-control-regex
    for (const l of writes[0].split('\r\n')) expect(l.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').length).toBeLessThanOrEqual(60);
    term.keys('s');
    expect(writes[1]).toContain('sort rtt');
    term.keys('q');
    expect(await running).toBe(0);
    expect(closed).toBe(1);
    expect(o.out).toBe('');
  });
});
