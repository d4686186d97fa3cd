// Errors and events match net's: the same ERR_* codes and classes for bad
// arguments (thrown synchronously, before any socket exists), and the same
// events and error fields for EADDRINUSE, ECONNREFUSED, timeouts, aborts.
import * as dns from 'node:dns';
import { once } from 'node:events';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { freePort, leakedSockets, mptcp, openFdTargets, skipReason, stuckListener, supported, trace } from '../helpers/net';

const require = createRequire(import.meta.url);
const binding = require('node-gyp-build')(path.join(__dirname, '..', '..')) as import('../../types/binding').NativeBinding;

function thrown(fn: () => unknown): { name: string; code: unknown; message: string } | 'no throw' {
  try {
    const r = fn() as { destroy?: () => void } | undefined;
    r?.destroy?.();
    return 'no throw';
  } catch (e) {
    const err = e as Error & { code?: unknown };
    return { name: err.constructor.name, code: err.code, message: err.message };
  }
}

const badConnect: unknown[][] = [
  [], [{}], [null], [{ port: true }], [{ port: -1 }], [{ port: 65536 }], [{ port: ' ' }], [{ port: 1.5 }], [-1], [70000],
  [{ port: 80, localAddress: 'nope' }], [{ port: 80, localAddress: 5 }], [{ port: 80, localPort: 'x' }],
  [{ port: 80, autoSelectFamily: 'yes' }], [{ port: 80, autoSelectFamilyAttemptTimeout: 0 }],
  [{ port: 80, autoSelectFamilyAttemptTimeout: 'x' }], [{ port: 80, host: 'x.invalid', lookup: 5 }],
  [{ port: 80, host: 'x.invalid', family: 5 }], [{ port: 80, timeout: 'x' }], [{ port: 80, timeout: -1 }],
  [{ port: 80, signal: 'x' }], [{ port: 80, keepAliveInitialDelay: 'x' }],
];

const badListen: unknown[][] = [
  [{ port: -1 }], [{ port: true }], [{}], [{ host: 'x' }], [65536], [{ port: 0, signal: 'x' }], [{ port: 1.5 }],
];

describe.skipIf(!supported)(`errors and events match net${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it.each(badConnect)('connect(%j) throws what net.connect throws, leaking no fd', (...args) => {
    const before = openFdTargets();
    const expected = thrown(() => (net.connect as (...a: unknown[]) => net.Socket)(...args));
    expect(expected).not.toBe('no throw');
    expect(thrown(() => (mptcp.connect as (...a: unknown[]) => net.Socket)(...args))).toEqual(expected);
    expect(leakedSockets(before)).toEqual([]);
  });

  it.each(badListen)('server.listen(%j) throws what net throws', (...args) => {
    const expected = thrown(() => (net.createServer().listen as (...a: unknown[]) => net.Server)(...args));
    expect(expected).not.toBe('no throw');
    expect(thrown(() => (mptcp.createServer().listen as (...a: unknown[]) => net.Server)(...args))).toEqual(expected);
  });

  it('createServer rejects what net.createServer rejects, and a bad mptcp mode', () => {
    for (const bad of ['x', 5]) {
      expect(thrown(() => mptcp.createServer(bad as never))).toEqual(thrown(() => net.createServer(bad as never)));
    }
    expect(thrown(() => mptcp.createServer({ mptcp: 'maybe' as never }))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    expect(thrown(() => mptcp.connect({ port: 80, mptcp: 1 as never }))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    expect(thrown(() => mptcp.listen({} as never, 0))).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
  });

  async function listenError(make: () => net.Server, args: unknown[]): Promise<Record<string, unknown>> {
    const server = make();
    (server.listen as (...a: unknown[]) => void)(...args);
    const [err] = (await once(server, 'error')) as [NodeJS.ErrnoException & { address?: string; port?: number }];
    return { message: err.message, code: err.code, errno: err.errno, syscall: err.syscall, address: err.address, port: err.port, listening: server.listening };
  }

  it('EADDRINUSE is emitted like net, for the default address and for a host', async () => {
    const holder = net.createServer().listen(0);
    await once(holder, 'listening');
    const { port } = holder.address() as net.AddressInfo;
    for (const args of [[port], [port, '127.0.0.1'], [{ port, host: 'localhost' }]]) {
      const want = await listenError(() => net.createServer(), args);
      expect(want.code).toBe('EADDRINUSE');
      expect(await listenError(() => mptcp.createServer(), args)).toEqual(want);
    }
    holder.close();
  });


  function shape(t: Awaited<ReturnType<typeof trace>>): unknown {
    const e = t.error;
    return { events: t.events, error: e && { name: e.name, message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, address: e.address, port: e.port } };
  }

  it('ECONNREFUSED: same events and error as net', async () => {
    const port = await freePort();
    const want = shape(await trace(net.connect(port, '127.0.0.1')));
    expect(want).toMatchObject({ events: ['error', 'close'], error: { code: 'ECONNREFUSED', syscall: 'connect' } });
    expect(shape(await trace(mptcp.connect(port, '127.0.0.1')))).toEqual(want);
  });

  it('a failed lookup: same events and error as net', async () => {
    const lookup = ((_h: string, _o: unknown, cb: (e: Error) => void) => {
      setImmediate(() => cb(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'nowhere.invalid' })));
    }) as unknown as net.LookupFunction;
    const opts = { port: 80, host: 'nowhere.invalid', lookup, family: 4 };
    const want = shape(await trace(net.connect(opts)));
    expect(want).toMatchObject({ events: ['lookup', 'error', 'close'], error: { code: 'ENOTFOUND' } });
    expect(shape(await trace(mptcp.connect(opts)))).toEqual(want);
  });

  it('timeout option: same events as net', async () => {
    const idle = net.createServer(() => {}).listen(0, '127.0.0.1');
    await once(idle, 'listening');
    const { port } = idle.address() as net.AddressInfo;
    const want = shape(await trace(net.connect({ port, host: '127.0.0.1', timeout: 50 })));
    expect(want).toEqual({ events: ['connect', 'ready', 'timeout', 'close'], error: null });
    expect(shape(await trace(mptcp.connect({ port, host: '127.0.0.1', timeout: 50 })))).toEqual(want);
    idle.close();
  });

  it('AbortSignal, aborted before and during connect: same events and AbortError as net', async () => {
    const port = await freePort();
    const aborted = AbortSignal.abort();
    // net (20.x) emits 'close' twice for an already-aborted signal; the library emits it once.
    const dedupe = (x: unknown): unknown => ({ ...(x as object), events: [...new Set((x as { events: string[] }).events)] });
    const want = dedupe(shape(await trace(net.connect({ port, host: '127.0.0.1', signal: aborted }))));
    expect(want).toMatchObject({ events: ['error', 'close'], error: { name: 'AbortError', code: 'ABORT_ERR' } });
    expect(shape(await trace(mptcp.connect({ port, host: '127.0.0.1', signal: aborted })))).toEqual(want);

    // During a lookup that never answers: the abort must stop everything.
    const stall = (() => {}) as unknown as net.LookupFunction;
    const during = async (connect: (o: net.NetConnectOpts) => net.Socket): Promise<unknown> => {
      const ac = new AbortController();
      const s = connect({ port, host: 'stall.invalid', lookup: stall, signal: ac.signal, family: 4 });
      const t = trace(s);
      setTimeout(() => ac.abort(), 20);
      return shape(await t);
    };
    const wantDuring = await during(net.connect);
    expect(wantDuring).toMatchObject({ events: ['error', 'close'], error: { name: 'AbortError' } });
    expect(await during(mptcp.connect as (o: net.NetConnectOpts) => net.Socket)).toEqual(wantDuring);
  });

  it('destroy() while the native connect is in flight releases the socket and emits close', async () => {
    const stuck = await stuckListener();
    const before = openFdTargets();
    // Two addresses (Happy Eyeballs): the library connects them natively,
    // and the listener never completes the first.
    const lookup = ((_h: string, _o: unknown, cb: (...a: unknown[]) => void) => cb(null, [{ address: '::ffff:127.0.0.1', family: 6 }, { address: '127.0.0.1', family: 4 }])) as unknown as net.LookupFunction;
    const s = mptcp.connect({ port: stuck.port, host: 'stuck.test', autoSelectFamily: true, autoSelectFamilyAttemptTimeout: 5000, lookup });
    const t = trace(s);
    await new Promise((r) => setTimeout(r, 100));
    expect(s.connecting).toBe(true); // the native attempt is under way
    expect(leakedSockets(before)).toHaveLength(2); // the socket's descriptor and the attempt's own
    s.destroy();
    expect(await t).toEqual({ events: ['close'], error: null });
    await new Promise((r) => setTimeout(r, 20));
    expect(leakedSockets(before)).toEqual([]);
    stuck.stop();
  });

  it('destroy() while connecting a name of the other family releases the socket and emits close', async () => {
    const stuck = await stuckListener();
    const before = openFdTargets();
    // One address, of the family the socket was not opened with: an MPTCP
    // descriptor of that family replaces it under the handle, and net connects it.
    const lookup = ((_h: string, _o: unknown, cb: (...a: unknown[]) => void) => cb(null, '::ffff:127.0.0.1', 6)) as unknown as net.LookupFunction;
    const s = mptcp.connect({ port: stuck.port, host: 'stuck.test', autoSelectFamily: false, lookup });
    const t = trace(s);
    await new Promise((r) => setTimeout(r, 100));
    expect(s.connecting).toBe(true);
    const open = leakedSockets(before);
    expect(open).toHaveLength(1); // the socket's own descriptor, no other
    const fd = Number(open[0].split(' ')[0]);
    expect(binding.getsockoptInt(fd, binding.constants.SOL_SOCKET, 39 /* SO_DOMAIN */)).toBe(10); // AF_INET6
    expect(binding.getsockoptInt(fd, binding.constants.SOL_SOCKET, binding.constants.SO_PROTOCOL)).toBe(binding.constants.IPPROTO_MPTCP);
    s.destroy();
    expect(await t).toEqual({ events: ['close'], error: null });
    await new Promise((r) => setTimeout(r, 20));
    expect(leakedSockets(before)).toEqual([]);
    stuck.stop();
  });

  it('a hostname with no answer for the family: errors like net', async () => {
    const lookup = ((_h: string, o: dns.LookupOptions, cb: (...a: unknown[]) => void) => setImmediate(() => cb(null, 'not-an-ip', 4))) as unknown as net.LookupFunction;
    const opts = { port: 80, host: 'weird.invalid', lookup, family: 4 };
    const want = shape(await trace(net.connect(opts)));
    expect(want).toMatchObject({ error: { code: 'ERR_INVALID_IP_ADDRESS' } });
    expect(shape(await trace(mptcp.connect(opts)))).toEqual(want);
  });
});
