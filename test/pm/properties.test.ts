// Properties of mptcp.pm.* and mptcp.monitor() on generated arguments.
//
// Invalid arguments (built from a valid call with one or more arguments
// made invalid as the README defines them) must reject with an ERR_* code
// of the documented set, before anything is sent: these run in this
// process, with the netlink request path replaced by a trap that fails the
// property (and sends nothing) if a call gets that far, and with the
// descriptors counted (no netlink socket may even be opened).
//
// Valid arguments change the kernel's endpoints and limits, so they only
// ever run in a network namespace of the test's own (as in pm.test.ts): a
// child process per generated sequence of calls, each of which must end in a
// resolved promise or a kernel errno error (code E..., errno, syscall),
// never a crash or a hang.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configure, fc, Tally } from '../helpers/fc';
import { leakedSockets, mptcp, openFdTargets } from '../helpers/net';
import { labUnavailableReason } from '../lab/lab';

const require = createRequire(import.meta.url);
const nl = require('../../dist/netlink.js') as typeof import('../../lib/netlink');

configure('test/pm/properties.test.ts');

const ERR_CODES = ['ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_IP_ADDRESS', 'ERR_SOCKET_BAD_PORT'];
/** The class Node gives each of those codes. */
const ERR_CLASS: Record<string, string> = {
  ERR_INVALID_ARG_TYPE: 'TypeError', ERR_OUT_OF_RANGE: 'RangeError', ERR_INVALID_ARG_VALUE: 'TypeError',
  ERR_INVALID_IP_ADDRESS: 'TypeError', ERR_SOCKET_BAD_PORT: 'RangeError',
};

// ------------------------------------------------------------ arguments ----

/** A value to build in the calling process (a socket); everything else is JSON-able data. */
type Special = { '@': 'plain socket' };
const isSpecial = (v: unknown): v is Special => v !== null && typeof v === 'object' && '@' in (v as object);
function build(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(build);
  if (isSpecial(v)) return new net.Socket();
  const proto = v !== null && typeof v === 'object' ? Object.getPrototypeOf(v) : undefined;
  if (proto === Object.prototype || proto === null) {
    return Object.assign(Object.create(proto) as object, Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, build(x)])));
  }
  return v;
}

// Valid values, as the README defines them.
const validId = fc.oneof(fc.constantFrom(1, 2, 3, 255), fc.integer({ min: 1, max: 255 }));
const v4 = fc.constantFrom('10.9.0.1', '10.9.0.2', '10.9.0.3', '127.0.0.1', '0.0.0.0', '192.0.2.7');
const v6 = fc.constantFrom('2001:db8::1', '2001:db8::2', '::1', 'fe80::1', '::ffff:10.9.0.4', '2001:db8:0:0:0:0:0:3', '::');
const validAddress = fc.oneof(v4, v6);
const validLimit = fc.integer({ min: 0, max: 8 });
const validUserPort = fc.oneof(fc.constantFrom(1, 80, 65535), fc.integer({ min: 1, max: 65535 }));
const validToken = fc.oneof(fc.constantFrom(0, 1, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff }));
const addFlags = fc.subarray(['signal', 'subflow', 'backup', 'fullmesh', 'laminar']).filter((f) => !(f.includes('signal') && f.includes('fullmesh')));
const changeableFlags = fc.subarray(['backup', 'fullmesh']);

// Invalid values, by what makes them invalid.
const badId = fc.oneof(fc.constantFrom<unknown>(0, 256, -1, 1.5, NaN, Infinity, 2 ** 31, '1', null, true, {}, [], 1n), fc.integer({ min: 256 }), fc.integer({ max: 0 }));
const badAddress = fc.oneof(
  fc.constantFrom<unknown>('', '10.0.0', '10.0.0.256', '1.2.3.4.5', ' 10.0.0.1', '10.0.0.1/24', 'localhost', '::g', '2001:db8:::1', ':::', '10.0.0.1 ', 'x'),
  fc.constantFrom<unknown>(undefined, null, 5, true, {}, [], 10n),
  fc.string({ maxLength: 8 }).filter((s) => net.isIP(s) === 0),
);
const badLimit = fc.constantFrom<unknown>(-1, 9, 1.5, NaN, Infinity, '2', null, true, {}, 2n);
const badAddPort = fc.constantFrom<unknown>(-1, 65536, 1.5, NaN, Infinity, '80', null, true, {}, 80n);
const badUserPort = fc.constantFrom<unknown>(0, -1, 65536, 1.5, NaN, '80', null, true, {}, undefined);
const badFlags = fc.constantFrom<unknown>('signal', 5, null, {}, true, ['nope'], ['implicit'], [1], ['signal', 'fullmesh'], ['Signal'], [null]);
const badChangeFlags = fc.constantFrom<unknown>('backup', 5, null, {}, ['signal'], ['subflow'], ['implicit'], ['laminar'], ['nope'], [1]);
const badIfindex = fc.constantFrom<unknown>(0, -1, 1.5, NaN, 2 ** 31, '1', null, true, {});
const badIfname = fc.constantFrom<unknown>(5, null, true, {}, []);
const badToken = fc.constantFrom<unknown>(-1, 2 ** 32, 1.5, NaN, Infinity, 'x', '1', null, undefined, true, 10n, {}, { '@': 'plain socket' });
/** Not an options object: what replaces a whole options argument. */
const badObject = fc.constantFrom<unknown>(undefined, null, 5, 'x', true, [], [1], 10n, Symbol.for('obj'), () => {});
const badBackup = fc.constantFrom<unknown>(undefined, null, 0, 1, 'true', {});

/**
 * A call given as a base of valid arguments and a set of mutations; the
 * arbitrary yields only calls with at least one argument made invalid.
 */
interface Call { fn: string; args: unknown[] }

/** Picks a non-empty set of the named mutations and applies them to `base`. */
function mutated<B>(fn: string, base: fc.Arbitrary<B>, mutations: Record<string, fc.Arbitrary<(b: B) => void>>, toArgs: (b: B) => unknown[]): fc.Arbitrary<Call> {
  const names = Object.keys(mutations);
  return fc.tuple(base, fc.subarray(names, { minLength: 1, maxLength: Math.min(3, names.length) })).chain(([b, picked]) =>
    fc.tuple(...picked.map((n) => mutations[n])).map((muts) => {
      const copy = structuredClone(b) as B;
      for (const m of muts) m(copy);
      return { fn, args: toArgs(copy) };
    }));
}
const set = <B extends Record<string, unknown>>(key: string, arb: fc.Arbitrary<unknown>): fc.Arbitrary<(b: B) => void> =>
  arb.map((v) => { const f = (b: B): void => { (b as Record<string, unknown>)[key] = v; }; return Object.assign(f, { toString: () => `${key}=${fc.stringify(v)}` }); });

const addBase = fc.record({
  address: validAddress, id: fc.option(validId, { nil: undefined }), flags: fc.option(addFlags, { nil: undefined }),
}, { requiredKeys: ['address'] }) as fc.Arbitrary<Record<string, unknown>>;
const endsBase = fc.record({ localAddress: validAddress, localId: validId, localPort: validUserPort, remoteAddress: validAddress, remotePort: validUserPort });
type R = Record<string, unknown>;

const invalidCalls: fc.Arbitrary<Call> = fc.oneof(
  mutated('get', fc.record({ id: validId }), { id: set('id', badId) }, (b) => [b.id]),
  mutated('delete', fc.record({ id: validId }), { id: set('id', badId) }, (b) => [b.id]),
  mutated('add', addBase, {
    options: set('__whole', badObject),
    address: set('address', badAddress),
    id: set('id', badId),
    port: set('port', badAddPort),
    portWithoutSignal: fc.constant((b: R) => { b.port = 80; b.flags = ['subflow']; }),
    flags: set('flags', badFlags),
    ifindex: set('ifindex', badIfindex),
    ifname: set('ifname', badIfname),
    ifnameAndIfindex: fc.constant((b: R) => { b.ifname = 'lo'; b.ifindex = 1; }),
  }, (b) => ['__whole' in b ? b.__whole : b]),
  mutated('setFlags', fc.record({ target: fc.oneof(validId, validAddress) as fc.Arbitrary<unknown>, flags: changeableFlags as fc.Arbitrary<unknown> }), {
    targetId: set('target', badId.filter((v) => typeof v === 'number')),
    targetAddress: set('target', badAddress.filter((v) => typeof v === 'string')),
    targetType: set('target', fc.constantFrom<unknown>(undefined, null, true, {}, [], 10n)),
    flags: set('flags', badChangeFlags),
  }, (b) => [b.target, b.flags]),
  mutated('setLimits', fc.record({ subflows: validLimit, addAddrAccepted: validLimit }, { requiredKeys: [] }) as fc.Arbitrary<R>, {
    limits: set('__whole', badObject),
    subflows: set('subflows', badLimit),
    addAddrAccepted: set('addAddrAccepted', badLimit),
  }, (b) => ['__whole' in b ? b.__whole : b]),
  mutated('announce', fc.record({ token: validToken, address: validAddress, id: validId }) as fc.Arbitrary<R>, {
    token: set('token', badToken),
    whole: set('__whole', badObject),
    address: set('address', badAddress),
    id: set('id', badId),
    port: set('port', badUserPort.filter((p) => p !== undefined)),
  }, (b) => [b.token, '__whole' in b ? b.__whole : { address: b.address, id: b.id, ...('port' in b ? { port: b.port } : {}) }]),
  mutated('remove', fc.record({ token: validToken, id: validId }) as fc.Arbitrary<R>, { token: set('token', badToken), id: set('id', badId) }, (b) => [b.token, b.id]),
  mutated('createSubflow', fc.tuple(validToken, endsBase).map(([token, e]) => ({ token, ...e })) as fc.Arbitrary<R>, {
    token: set('token', badToken),
    ends: set('__whole', badObject),
    localAddress: set('localAddress', badAddress),
    localId: set('localId', badId),
    remoteAddress: set('remoteAddress', badAddress),
    remotePort: set('remotePort', badUserPort),
    ifindex: set('ifindex', badIfindex),
    ifnameAndIfindex: fc.constant((b: R) => { b.ifname = 'lo'; b.ifindex = 1; }),
  }, ({ token, ...ends }) => [token, '__whole' in ends ? ends.__whole : ends]),
  mutated('destroySubflow', fc.tuple(validToken, endsBase).map(([token, e]) => ({ token, ...e })) as fc.Arbitrary<R>, {
    token: set('token', badToken),
    ends: set('__whole', badObject),
    localAddress: set('localAddress', badAddress),
    localPort: set('localPort', badUserPort),
    remoteAddress: set('remoteAddress', badAddress),
    remotePort: set('remotePort', badUserPort),
  }, ({ token, ...ends }) => [token, '__whole' in ends ? ends.__whole : ends]),
  mutated('setBackup', fc.tuple(validToken, endsBase, fc.boolean()).map(([token, e, backup]) => ({ token, ...e, backup })) as fc.Arbitrary<R>, {
    token: set('token', badToken),
    localAddress: set('localAddress', badAddress),
    localPort: set('localPort', badUserPort.filter((p) => p !== undefined)),
    remoteAddress: set('remoteAddress', badAddress),
    remotePort: set('remotePort', badUserPort),
    backup: set('backup', badBackup),
  }, ({ token, backup, ...ends }) => [token, ends, backup]),
  mutated('listAnnounced', fc.record({ token: validToken }) as fc.Arbitrary<R>, { token: set('token', badToken) }, (b) => [b.token]),
);

const invalidMonitorOptions: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, 5, 'x', true, 10n, Symbol.for('m'), () => {}),
  fc.record({ token: fc.constantFrom<unknown>(-1, 2 ** 32, 1.5, NaN, Infinity, 'x', '1', null, true, {}, 10n) }),
  fc.record({ socket: fc.constantFrom<unknown>(5, 'x', null, {}, [], true, { '@': 'plain socket' }), token: fc.option(validToken, { nil: undefined }) }),
);

// --------------------------------------------------------------- the trap ----

let requestsTrapped: string[] = [];
const realRequest = nl.GenlSocket.prototype.request;

/** Replaces the one path by which anything is sent to the kernel. */
function trapRequests(): void {
  nl.GenlSocket.prototype.request = function trapped(this: unknown, family: number, cmd: number): Promise<never> {
    requestsTrapped.push(`family ${family} cmd ${cmd}`);
    return Promise.reject(Object.assign(new Error('a request reached the netlink socket (trapped, not sent)'), { code: 'TRAPPED' }));
  } as typeof realRequest;
}

describe('mptcp.pm and monitor(): generated invalid arguments reject before anything is sent', () => {
  const tally = new Tally();
  beforeAll(() => {
    mptcp.pm.close();
    trapRequests();
  });
  afterAll(() => {
    nl.GenlSocket.prototype.request = realRequest;
    mptcp.pm.close();
    console.log(`[properties] pm invalid arguments: ${tally}`);
  });

  it('every pm function rejects with an ERR_* code of the documented set, sends nothing, opens nothing', async () => {
    const before = openFdTargets();
    await fc.assert(fc.asyncProperty(invalidCalls, async ({ fn, args }) => {
      requestsTrapped = [];
      const fds = openFdTargets();
      const real = build(args) as unknown[];
      let promise: unknown;
      try {
        promise = (mptcp.pm as unknown as Record<string, (...a: unknown[]) => unknown>)[fn](...real);
      } catch (err) {
        throw new Error(`pm.${fn}(${fc.stringify(args)}) threw synchronously instead of rejecting: ${String(err)}`, { cause: err });
      }
      // Validation is synchronous up to the first await: a netlink socket opened now means validation passed.
      expect(leakedSockets(fds), `pm.${fn}(${fc.stringify(args)}) opened a socket`).toEqual([]);
      expect(promise, `pm.${fn} returns a Promise`).toBeInstanceOf(Promise);
      const err = await (promise as Promise<unknown>).then(() => null, (e: unknown) => e as Error & { code?: string });
      expect(requestsTrapped, `pm.${fn}(${fc.stringify(args)}) got as far as sending`).toEqual([]);
      expect(err, `pm.${fn}(${fc.stringify(args)}) resolved`).not.toBeNull();
      const { code, constructor } = err as Error & { code?: string };
      expect(ERR_CODES, `pm.${fn}(${fc.stringify(args)}) rejected with ${String(code)}: ${(err as Error).message}`).toContain(code);
      expect(constructor.name, `class of ${code}`).toBe(ERR_CLASS[code!]);
      tally.add(`${fn} ${code}`);
    }), { numRuns: 600 });
    expect(leakedSockets(before)).toEqual([]);
  });

  it('monitor() throws an ERR_* code synchronously and opens nothing', () => {
    const before = openFdTargets();
    fc.assert(fc.property(invalidMonitorOptions, (options) => {
      requestsTrapped = [];
      let mon: { close(): void } | null = null;
      let error: (Error & { code?: string }) | null = null;
      try {
        mon = mptcp.monitor(build(options) as never);
      } catch (e) {
        error = e as Error & { code?: string };
      }
      mon?.close();
      expect(error, `monitor(${fc.stringify(options)}) did not throw`).not.toBeNull();
      expect(ERR_CODES, `monitor(${fc.stringify(options)}): ${error!.message}`).toContain(error!.code);
      expect(error!.constructor.name).toBe(ERR_CLASS[error!.code!]);
      expect(requestsTrapped).toEqual([]);
      tally.add(`monitor ${error!.code}`);
    }), { numRuns: 150 });
    expect(leakedSockets(before)).toEqual([]);
  });
});

// ------------------------------------------------------- valid arguments ----

const reason = labUnavailableReason();
const child = path.join(__dirname, '..', 'fixtures', 'pm-props-child.cjs');

/** Trailing undefined arguments are dropped (JSON cannot carry them; the call is the same). */
const call = (name: string, ...args: unknown[]): unknown[] => {
  while (args.length && args[args.length - 1] === undefined) args.pop();
  return [name, ...args];
};

const validAdd = fc.record({
  address: validAddress,
  id: fc.option(validId, { nil: undefined }),
  flags: fc.option(addFlags, { nil: undefined }),
  port: fc.option(fc.constantFrom(0, 1, 80, 7777, 65535), { nil: undefined }),
  dev: fc.constantFrom<'none' | 'ifname' | 'ifindex'>('none', 'ifname', 'ifindex'),
  devName: fc.constantFrom('lo', 'veth1'),
}).map(({ address, id, flags, port, dev, devName }) => {
  const o: Record<string, unknown> = { address };
  if (id !== undefined) o.id = id;
  if (flags !== undefined) o.flags = flags;
  // A port only on a signal endpoint that is not also a subflow one.
  if (port !== undefined && flags?.includes('signal') && !flags.includes('subflow')) o.port = port;
  if (dev === 'ifname') o.ifname = devName;
  if (dev === 'ifindex') o.ifindex = 1;
  return call('add', o);
});

const validCall: fc.Arbitrary<unknown[]> = fc.oneof(
  { weight: 4, arbitrary: validAdd },
  fc.constant(call('list')),
  validId.map((id) => call('get', id)),
  { weight: 2, arbitrary: validId.map((id) => call('delete', id)) },
  fc.constant(call('flush')),
  fc.tuple(fc.oneof(validId, validAddress) as fc.Arbitrary<unknown>, fc.option(changeableFlags, { nil: undefined })).map(([t, f]) => call('setFlags', t, f)),
  fc.constant(call('getLimits')),
  fc.record({ subflows: validLimit, addAddrAccepted: validLimit }, { requiredKeys: [] }).map((l) => call('setLimits', l)),
  fc.tuple(validToken, validAddress, validId, fc.option(validUserPort, { nil: undefined })).map(([t, address, id, port]) => call('announce', t, port === undefined ? { address, id } : { address, id, port })),
  fc.tuple(validToken, validId).map(([t, id]) => call('remove', t, id)),
  fc.tuple(validToken, endsBase, fc.constantFrom(undefined, 'lo')).map(([t, e, ifname]) => call('createSubflow', t, { localAddress: e.localAddress, localId: e.localId, remoteAddress: e.remoteAddress, remotePort: e.remotePort, ...(ifname ? { ifname } : {}) })),
  fc.tuple(validToken, endsBase).map(([t, e]) => call('destroySubflow', t, { localAddress: e.localAddress, localPort: e.localPort, remoteAddress: e.remoteAddress, remotePort: e.remotePort })),
  fc.tuple(validToken, endsBase, fc.boolean()).map(([t, e, b]) => call('setBackup', t, { localAddress: e.localAddress, remoteAddress: e.remoteAddress, remotePort: e.remotePort }, b)),
  validToken.map((t) => call('listAnnounced', t)),
  fc.option(fc.record({ token: validToken }, { requiredKeys: [] }), { nil: undefined }).map((o) => call('monitor', o)),
);

/** What add(options) must resolve with: the endpoint as given (address in canonical form). */
function stored(o: Record<string, unknown>): Record<string, unknown> {
  const address = o.address as string;
  const family = net.isIP(address) as 4 | 6;
  const want: Record<string, unknown> = {
    address: family === 4 ? address : new net.SocketAddress({ address, family: 'ipv6' }).address,
    family,
    flags: expect.arrayContaining((o.flags as string[] | undefined) ?? []),
  };
  if (o.id !== undefined) want.id = o.id;
  if (o.port) want.port = o.port;
  if (o.ifindex !== undefined) want.ifindex = o.ifindex;
  if (o.ifname !== undefined) want.ifname = o.ifname;
  return want;
}

type Line = { ok?: unknown; hang?: true; error?: { name: string; code?: string; errno?: number; syscall?: string; message: string } };

let ns = '';
let counter = 0;

describe.skipIf(reason !== null)('mptcp.pm and monitor(): generated valid arguments, in a network namespace of the test\'s own', () => {
  const tally = new Tally();
  afterAll(() => {
    if (ns) spawnSync('ip', ['netns', 'del', ns]);
    console.log(`[properties] pm valid arguments: ${tally}`);
  });

  it('every call resolves or fails with a kernel errno error; no crash, no hang', async () => {
    await fc.assert(fc.asyncProperty(fc.array(validCall, { minLength: 1, maxLength: 12 }), async (calls) => {
      // A fresh namespace per sequence (swept like a lab namespace if the run is killed).
      ns = `mptcplab-${process.pid}-${1000 + ++counter}-s`;
      execFileSync('ip', ['netns', 'add', ns]);
      try {
        execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
        execFileSync('ip', ['-n', ns, 'link', 'add', 'veth1', 'type', 'veth', 'peer', 'name', 'veth1p']);
        const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, child, JSON.stringify(calls)], { encoding: 'utf8', timeout: 30_000 });
        const what = `calls ${JSON.stringify(calls)}`;
        expect(r.error, `${what}: the child did not finish within 30 s`).toBeUndefined();
        expect({ status: r.status, signal: r.signal, stderr: r.stderr }, `${what}: the child crashed`).toEqual({ status: 0, signal: null, stderr: '' });
        const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
        expect(lines, what).toHaveLength(calls.length);
        lines.forEach((line, i) => {
          const c = JSON.stringify(calls[i]);
          expect(line.hang, `${c} did not settle within 5 s`).toBeUndefined();
          if (line.error) {
            const e = line.error;
            expect(e.code, `${c} failed without a kernel errno code: ${e.name} ${e.code} ${e.message}`).toMatch(/^E[A-Z0-9]+$/);
            expect(typeof e.errno === 'number' && e.errno < 0, `${c}: errno ${e.errno}`).toBe(true);
            expect(typeof e.syscall === 'string' && e.syscall.length > 0, `${c}: syscall ${e.syscall}`).toBe(true);
            tally.add(`${calls[i][0]} ${e.code}`);
          } else {
            expect(line).toHaveProperty('ok');
            tally.add(`${calls[i][0]} ok`);
            if (calls[i][0] === 'add') expect(line.ok, `${c} resolved with another endpoint`).toMatchObject(stored(calls[i][1] as Record<string, unknown>));
          }
        });
      } finally {
        spawnSync('ip', ['netns', 'del', ns]);
        ns = '';
      }
    }), { numRuns: 20 });
  }, 180_000); // 20 child processes in fresh namespaces; slower under the sanitizers
});
