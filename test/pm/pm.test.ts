// mptcp.pm against iproute2 as the oracle, each case in a network namespace
// of the test's own (never the host's): what the library adds, `ip mptcp
// endpoint show` lists, and what `ip mptcp` adds, the library lists.
import { execFileSync, spawnSync } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mptcp } from '../helpers/net';
import { labUnavailableReason } from '../lab/lab';

const reason = labUnavailableReason();
const child = path.join(__dirname, '..', 'fixtures', 'pm-child.cjs');

type Result = { ok?: unknown; error?: { code: string; errno: number; syscall: string; message: string; kernelMessage?: string } };

let ns = '';
let counter = 0;

/** Runs pm calls in the test's namespace, as root or as an unprivileged user. */
function pm(calls: unknown[][], user?: number): Result[] {
  const argv = user === undefined
    ? ['ip', 'netns', 'exec', ns, process.execPath, child, JSON.stringify(calls)]
    : ['nsenter', `--net=/run/netns/${ns}`, '-S', String(user), '-G', String(user), process.execPath, child, JSON.stringify(calls)];
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`pm child failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Result);
}

const ip = (...args: string[]): string => execFileSync('ip', ['-n', ns, 'mptcp', ...args], { encoding: 'utf8' });

/** `ip mptcp endpoint show`, one normalized object per line. */
function ipEndpoints(): { id: number; address: string; port?: number; flags: string[]; dev?: string }[] {
  return ip('endpoint', 'show').trim().split('\n').filter(Boolean).map((line) => {
    const t = line.trim().split(/\s+/);
    const e: { id: number; address: string; port?: number; flags: string[]; dev?: string } = { id: 0, address: t[0], flags: [] };
    for (let i = 1; i < t.length; i++) {
      if (t[i] === 'id') e.id = Number(t[++i]);
      else if (t[i] === 'port') e.port = Number(t[++i]);
      else if (t[i] === 'dev') e.dev = t[++i];
      else e.flags.push(t[i]);
    }
    e.flags.sort();
    return e;
  });
}

describe.skipIf(reason !== null)('mptcp.pm endpoints and limits (iproute2 as the oracle)', () => {
  beforeEach(() => {
    if (reason) return;
    ns = `mptcplab-${process.pid}-${900 + ++counter}-s`; // swept like a lab namespace if a run is killed
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['-n', ns, 'link', 'add', 'dummy1', 'type', 'veth', 'peer', 'name', 'dummy1p']);
  });
  afterEach(() => {
    if (ns) spawnSync('ip', ['netns', 'del', ns]);
    ns = '';
  });

  it('what the library adds, ip mptcp endpoint show lists', () => {
    const r = pm([
      ['add', { address: '10.1.0.1', flags: ['signal'], id: 5 }],
      ['add', { address: '10.1.0.2', flags: ['subflow', 'backup'], ifname: 'dummy1' }],
      ['add', { address: '2001:db8::7', flags: ['subflow', 'fullmesh'] }],
      ['add', { address: '10.1.0.3', flags: ['signal'], port: 0 }],
    ]);
    expect(r.every((x) => x.ok)).toBe(true);
    expect(r[0].ok).toEqual({ id: 5, address: '10.1.0.1', family: 4, flags: ['signal'] });
    expect(r[1].ok).toMatchObject({ address: '10.1.0.2', flags: ['subflow', 'backup'], ifname: 'dummy1' });
    const shown = ipEndpoints();
    expect(shown).toEqual(expect.arrayContaining([
      { id: 5, address: '10.1.0.1', flags: ['signal'] },
      { id: (r[1].ok as { id: number }).id, address: '10.1.0.2', flags: ['backup', 'subflow'], dev: 'dummy1' },
      { id: (r[2].ok as { id: number }).id, address: '2001:db8::7', flags: ['fullmesh', 'subflow'] },
    ]));
    expect(shown).toHaveLength(4);
  });

  it('what ip mptcp adds, the library lists; get, setFlags, delete and flush agree with ip', () => {
    ip('endpoint', 'add', '10.2.0.1', 'id', '3', 'signal');
    ip('endpoint', 'add', '10.2.0.2', 'id', '4', 'subflow', 'backup', 'dev', 'dummy1');
    // A signal endpoint with a port listens on it, so the address must be local.
    execFileSync('ip', ['-n', ns, 'link', 'set', 'dummy1', 'up']);
    execFileSync('ip', ['-n', ns, 'addr', 'add', 'fd00::2/64', 'dev', 'dummy1', 'nodad']);
    ip('endpoint', 'add', 'fd00::2', 'id', '9', 'signal', 'port', '7777');
    const [list, one, missing] = pm([['list'], ['get', 4], ['get', 200]]);
    expect(list.ok).toEqual([
      { id: 3, address: '10.2.0.1', family: 4, flags: ['signal'] },
      { id: 4, address: '10.2.0.2', family: 4, flags: ['subflow', 'backup'], ifindex: expect.any(Number), ifname: 'dummy1' },
      { id: 9, address: 'fd00::2', family: 6, port: 7777, flags: ['signal'] },
    ]);
    expect(one.ok).toEqual((list.ok as unknown[])[1]);
    expect(missing.ok).toBeNull();

    pm([['setFlags', 3, ['backup']], ['setFlags', '10.2.0.2', []]]);
    expect(ipEndpoints().find((e) => e.id === 3)!.flags).toEqual(['backup', 'signal']);
    expect(ipEndpoints().find((e) => e.id === 4)!.flags).toEqual(['subflow']);
    pm([['delete', 3]]);
    expect(ipEndpoints().map((e) => e.id)).toEqual([4, 9]);
    pm([['flush']]);
    expect(ipEndpoints()).toEqual([]);
  });

  it('limits: set by either side, read by the other', () => {
    const [before, set] = pm([['getLimits'], ['setLimits', { subflows: 5, addAddrAccepted: 3 }]]);
    expect(before.ok).toEqual({ subflows: 2, addAddrAccepted: 0 }); // kernel defaults (kernel-abi.md 5.2)
    expect(set.ok).toEqual({ subflows: 5, addAddrAccepted: 3 });
    expect(ip('limits', 'show')).toMatch(/add_addr_accepted 3 subflows 5/);
    ip('limits', 'set', 'subflows', '1', 'add_addr_accepted', '7');
    const [after, partial] = pm([['getLimits'], ['setLimits', { subflows: 4 }]]);
    expect(after.ok).toEqual({ subflows: 1, addAddrAccepted: 7 });
    expect(partial.ok).toEqual({ subflows: 4, addAddrAccepted: 7 });
  });

  it("kernel errors carry errno, code and the kernel's own message", () => {
    ip('endpoint', 'add', '10.3.0.1', 'id', '1', 'signal');
    const [dup, busy, limit] = pm([
      ['add', { address: '10.3.0.1', flags: ['signal'] }],
      ['add', { address: '10.3.0.2', id: 1 }],
      ['add', { address: '10.3.0.9', flags: ['signal'], port: 7000 }],
    ]);
    expect(dup.error).toMatchObject({ code: 'EEXIST', errno: -17, syscall: 'mptcp_pm add_addr' });
    expect(dup.error!.kernelMessage).toMatch(/duplicate/);
    expect(busy.error).toMatchObject({ code: 'EBUSY' });
    // A signal endpoint with a port opens a listener: the address must be local.
    expect(limit.error).toMatchObject({ code: 'EADDRNOTAVAIL' });
    expect(limit.error!.kernelMessage).toMatch(/listen socket/);
  });

  it('concurrent calls all settle truthfully: parallel dumps, and 8 parallel adds x 10 rounds all resolve and are all listed', () => {
    const [lists] = pm([['@all', ['list'], ['list'], ['getLimits'], ['list']]]) as unknown as Result[][];
    expect(lists.map((r) => r.error)).toEqual([undefined, undefined, undefined, undefined]);
    const rounds: unknown[][] = [];
    for (let r = 0; r < 10; r++) {
      rounds.push(['@all', ...Array.from({ length: 8 }, (_, i) => ['add', { address: `10.7.${r}.${i + 1}`, flags: ['subflow'] }])]);
      rounds.push(['flush']);
    }
    // Each round's adds are listed before the flush that ends the round.
    const steps: unknown[][] = [];
    for (let r = 0; r < 10; r++) steps.push(rounds[2 * r], ['list'], rounds[2 * r + 1]);
    const out = pm(steps) as unknown as (Result[] | Result)[];
    for (let r = 0; r < 10; r++) {
      const adds = out[3 * r] as Result[];
      const listed = (out[3 * r + 1] as Result).ok as { address: string; id: number }[];
      expect(adds.map((a) => a.error)).toEqual(Array(8).fill(undefined));
      const want = Array.from({ length: 8 }, (_, i) => `10.7.${r}.${i + 1}`);
      expect(adds.map((a) => (a.ok as { address: string }).address)).toEqual(want);
      expect(listed.map((e) => e.address).sort()).toEqual([...want].sort());
      // Each add resolved with the id the kernel gave that very address.
      for (const a of adds) expect(listed).toContainEqual(a.ok);
    }
  });

  it('pm.close() while the family lookup is pending: both calls settle and no netlink socket is left open', () => {
    const [r] = pm([['@closeDuringLookup']]) as unknown as { results: Result[]; socketsBefore: number; socketsAfter: number }[];
    expect(r.results[0].error).toMatchObject({ code: 'EBADF' }); // its socket was closed under it
    expect(r.results[1].ok).toEqual([]);
    expect(r.socketsAfter).toBe(r.socketsBefore);
  });

  it('an IPv6 zone is the interface: add honours it (and must agree with ifname); elsewhere it is refused, not dropped', () => {
    const [zoned, zonedIdx, clash, setFlagsZone] = pm([
      ['add', { address: 'fe80::1%dummy1', flags: ['subflow'] }],
      ['add', { address: 'fe80::2%1', id: 9, flags: ['subflow'] }],
      ['add', { address: 'fe80::3%dummy1', ifname: 'lo' }],
      ['setFlags', 'fe80::1%dummy1', ['backup']],
    ]);
    expect(zoned.ok).toMatchObject({ address: 'fe80::1', ifname: 'dummy1' });
    expect(zonedIdx.ok).toMatchObject({ address: 'fe80::2', ifindex: 1, ifname: 'lo' });
    expect(clash.error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(setFlagsZone.error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(ipEndpoints()).toEqual(expect.arrayContaining([expect.objectContaining({ address: 'fe80::1', dev: 'dummy1' }), expect.objectContaining({ address: 'fe80::2', id: 9, dev: 'lo' })]));
  });

  it('without CAP_NET_ADMIN changes fail with EPERM saying so; reading still works', () => {
    ip('endpoint', 'add', '10.4.0.1', 'id', '2', 'signal');
    const [add, limits, list] = pm([['add', { address: '10.4.0.2' }], ['setLimits', { subflows: 1 }], ['list']], 65534);
    expect(add.error).toMatchObject({ code: 'EPERM', errno: -1 });
    expect(add.error!.message).toContain('CAP_NET_ADMIN');
    expect(limits.error).toMatchObject({ code: 'EPERM' });
    expect(list.ok).toEqual([{ id: 2, address: '10.4.0.1', family: 4, flags: ['signal'] }]);
  });
});

describe('mptcp.pm rejects invalid input before sending anything', () => {
  const cases: [string, () => Promise<unknown>, string][] = [
    ['get(0)', () => mptcp.pm.get(0), 'ERR_OUT_OF_RANGE'],
    ["get('1')", () => mptcp.pm.get('1' as unknown as number), 'ERR_INVALID_ARG_TYPE'],
    ['delete(256)', () => mptcp.pm.delete(256), 'ERR_OUT_OF_RANGE'],
    ['delete(1.5)', () => mptcp.pm.delete(1.5), 'ERR_OUT_OF_RANGE'],
    ['add()', () => mptcp.pm.add(undefined as never), 'ERR_INVALID_ARG_TYPE'],
    ['add({address: 5})', () => mptcp.pm.add({ address: 5 as never }), 'ERR_INVALID_ARG_TYPE'],
    ["add({address: 'x'})", () => mptcp.pm.add({ address: 'not-an-ip' }), 'ERR_INVALID_IP_ADDRESS'],
    ['add id 0', () => mptcp.pm.add({ address: '10.0.0.1', id: 0 }), 'ERR_OUT_OF_RANGE'],
    ['add bad flag', () => mptcp.pm.add({ address: '10.0.0.1', flags: ['nope' as never] }), 'ERR_INVALID_ARG_VALUE'],
    ['add implicit', () => mptcp.pm.add({ address: '10.0.0.1', flags: ['implicit'] }), 'ERR_INVALID_ARG_VALUE'],
    ['add signal+fullmesh', () => mptcp.pm.add({ address: '10.0.0.1', flags: ['signal', 'fullmesh'] }), 'ERR_INVALID_ARG_VALUE'],
    ['add flags not array', () => mptcp.pm.add({ address: '10.0.0.1', flags: 'signal' as never }), 'ERR_INVALID_ARG_TYPE'],
    ['add port 70000', () => mptcp.pm.add({ address: '10.0.0.1', flags: ['signal'], port: 70000 }), 'ERR_SOCKET_BAD_PORT'],
    ['add port without signal', () => mptcp.pm.add({ address: '10.0.0.1', port: 80 }), 'ERR_INVALID_ARG_VALUE'],
    ['add ifname and ifindex', () => mptcp.pm.add({ address: '10.0.0.1', ifname: 'lo', ifindex: 1 }), 'ERR_INVALID_ARG_VALUE'],
    ['add ifindex -1', () => mptcp.pm.add({ address: '10.0.0.1', ifindex: -1 }), 'ERR_OUT_OF_RANGE'],
    ['add unknown ifname', () => mptcp.pm.add({ address: '10.0.0.1', ifname: 'no-such-if0' }), 'ENODEV'],
    ['setFlags(signal)', () => mptcp.pm.setFlags(1, ['signal']), 'ERR_INVALID_ARG_VALUE'],
    ['setFlags(object)', () => mptcp.pm.setFlags({} as never, []), 'ERR_INVALID_ARG_TYPE'],
    ['setFlags bad address', () => mptcp.pm.setFlags('1.2.3', []), 'ERR_INVALID_IP_ADDRESS'],
    ['setLimits(null)', () => mptcp.pm.setLimits(null as never), 'ERR_INVALID_ARG_TYPE'],
    ['setLimits subflows 9', () => mptcp.pm.setLimits({ subflows: 9 }), 'ERR_OUT_OF_RANGE'],
    ['setLimits accepted -1', () => mptcp.pm.setLimits({ addAddrAccepted: -1 }), 'ERR_OUT_OF_RANGE'],
    ["setLimits subflows '2'", () => mptcp.pm.setLimits({ subflows: '2' as never }), 'ERR_INVALID_ARG_TYPE'],
    ["announce('x')", () => mptcp.pm.announce('x' as never, { address: '10.0.0.1', id: 1 }), 'ERR_INVALID_ARG_TYPE'],
    ['announce id 0', () => mptcp.pm.announce(1, { address: '10.0.0.1', id: 0 }), 'ERR_OUT_OF_RANGE'],
    ['announce bad address', () => mptcp.pm.announce(1, { address: '10.0.0', id: 1 }), 'ERR_INVALID_IP_ADDRESS'],
    ['remove(-1)', () => mptcp.pm.remove(-1, 3), 'ERR_OUT_OF_RANGE'],
    ['createSubflow without localId', () => mptcp.pm.createSubflow(1, { localAddress: '10.0.0.1', remoteAddress: '10.0.0.2', remotePort: 80 }), 'ERR_INVALID_ARG_TYPE'],
    ['createSubflow port 0', () => mptcp.pm.createSubflow(1, { localAddress: '10.0.0.1', localId: 2, remoteAddress: '10.0.0.2', remotePort: 0 }), 'ERR_SOCKET_BAD_PORT'],
    ['destroySubflow bad localPort', () => mptcp.pm.destroySubflow(1, { localAddress: '10.0.0.1', localPort: 70000, remoteAddress: '10.0.0.2', remotePort: 80 }), 'ERR_SOCKET_BAD_PORT'],
    ["setBackup(..., 'yes')", () => mptcp.pm.setBackup(1, { localAddress: '10.0.0.1', remoteAddress: '10.0.0.2', remotePort: 80 }, 'yes' as never), 'ERR_INVALID_ARG_TYPE'],
    ['listAnnounced(plain socket)', () => mptcp.pm.listAnnounced(new net.Socket()), 'ERR_INVALID_ARG_VALUE'],
    ['listAnnounced({})', () => mptcp.pm.listAnnounced({} as never), 'ERR_INVALID_ARG_TYPE'],
    ['add zone on an unknown interface', () => mptcp.pm.add({ address: 'fe80::1%nosuchif0' }), 'ENODEV'],
    ['add zone index 0', () => mptcp.pm.add({ address: 'fe80::1%0' }), 'ERR_INVALID_ARG_VALUE'],
    ['remove zone in setFlags', () => mptcp.pm.setFlags('fe80::1%lo', []), 'ERR_INVALID_ARG_VALUE'],
  ];
  for (const [name, fn, code] of cases) {
    it(name, async () => {
      await expect(fn()).rejects.toMatchObject({ code });
    });
  }
});

describe('mptcp.monitor rejects invalid input synchronously', () => {
  const cases: [string, () => unknown, string][] = [
    ["monitor('x')", () => mptcp.monitor('x' as never), 'ERR_INVALID_ARG_TYPE'],
    ['monitor(null)', () => mptcp.monitor(null as never), 'ERR_INVALID_ARG_TYPE'],
    ['monitor({ token: -1 })', () => mptcp.monitor({ token: -1 }), 'ERR_OUT_OF_RANGE'],
    ['monitor({ token: 1.5 })', () => mptcp.monitor({ token: 1.5 }), 'ERR_OUT_OF_RANGE'],
    ["monitor({ token: '1' })", () => mptcp.monitor({ token: '1' as never }), 'ERR_INVALID_ARG_TYPE'],
    ['monitor({ socket: plain socket })', () => mptcp.monitor({ socket: new net.Socket() }), 'ERR_INVALID_ARG_VALUE'],
    ['monitor({ socket: {} })', () => mptcp.monitor({ socket: {} as never }), 'ERR_INVALID_ARG_TYPE'],
    ["monitor({ recvBufferSize: '1M' })", () => mptcp.monitor({ recvBufferSize: '1M' as never }), 'ERR_INVALID_ARG_TYPE'],
    ['monitor({ recvBufferSize: 100 })', () => mptcp.monitor({ recvBufferSize: 100 }), 'ERR_OUT_OF_RANGE'],
    ['monitor({ recvBufferSize: 1.5e6 + 0.5 })', () => mptcp.monitor({ recvBufferSize: 1.5e6 + 0.5 }), 'ERR_OUT_OF_RANGE'],
  ];
  for (const [name, fn, code] of cases) {
    it(name, () => {
      expect(fn).toThrow(expect.objectContaining({ code }));
    });
  }
});
