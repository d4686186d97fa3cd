// Misuse and lifecycle races, checked against node:net and on the server
// side: exceptions from the application's callbacks, destroy() inside
// 'connectionAttempt', a lookup calling back twice, close() racing listen(),
// and things that are not sockets given where a socket is expected.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as dc from 'node:diagnostics_channel';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { echo, hasIPv6, leakedSockets, mptcp, openFdTargets, recordingServer, skipReason, supported } from '../helpers/net';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const throwChild = path.join(__dirname, '..', 'fixtures', 'throw-child.cjs');

/** Resolves with `p`, or rejects after `ms` (a hang is a failure, not a stuck run). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, sleep(ms).then(() => { throw new Error(`${what}: no result after ${ms} ms`); })]);
}

async function settle(rec: Awaited<ReturnType<typeof recordingServer>>, fds: Map<string, string>): Promise<void> {
  for (let i = 0; i < 100 && (leakedSockets(fds).length > 0 || rec.sockets.some((s) => !s.destroyed)); i++) await sleep(20);
}

describe.skipIf(!supported || !hasIPv6)('exceptions thrown by callbacks reach the process when thrown', () => {
  if (!supported || !hasIPv6) console.log(`exception tests skipped: ${skipReason || 'no IPv6 loopback'}`);

  for (const scenario of ['connect-throws', 'he-connect-throws']) {
    it(`${scenario === 'he-connect-throws' ? 'Happy Eyeballs: ' : ''}a throwing 'connect' listener on the native path is an uncaught exception at once, as with net`, () => {
      const results = ['lib', 'net'].map((which) => {
        const r = spawnSync(process.execPath, [throwChild, scenario, which], { encoding: 'utf8', timeout: 20_000 });
        expect(r.status).toBe(0);
        return JSON.parse(r.stdout.trim());
      });
      // Before the setImmediate queued just ahead of the throw; never thrown again later.
      expect(results[0]).toEqual({ order: ['uncaught:thrown by the connect listener', 'immediate'], later: 'none' });
      expect(results[0]).toEqual(results[1]);
    });
  }

  it("an unhandled 'error' (ECONNREFUSED, native path) ends the process, as with net", () => {
    for (const which of ['lib', 'net']) {
      const r = spawnSync(process.execPath, [throwChild, 'refused-unhandled', which], { encoding: 'utf8', timeout: 20_000 });
      expect({ which, status: r.status, running: r.stdout.includes('still running') }).toEqual({ which, status: 1, running: false });
      expect(r.stderr).toContain('ECONNREFUSED');
    }
  });
});

describe.skipIf(!supported || !hasIPv6)('lifecycle races on the native connect path', () => {
  const twoFamilies = (h: string, o: unknown, cb: (e: null, a: { address: string; family: number }[]) => void): void => {
    setImmediate(() => cb(null, [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }]));
  };

  it("destroy() inside 'connectionAttempt' stops everything; a socket opened in that listener is its own", async () => {
    const rec = await recordingServer();
    const fds = openFdTargets();
    const events: string[] = [];
    let other: net.Socket | null = null;
    const s = mptcp.connect({ port: rec.port, host: 'he.test', autoSelectFamily: true, lookup: twoFamilies as never });
    for (const e of ['connect', 'connectionAttempt', 'connectionAttemptFailed', 'connectionAttemptTimeout', 'error', 'close']) s.on(e, () => events.push(e));
    s.once('connectionAttempt', () => {
      s.destroy();
      other = mptcp.connect(rec.port, '127.0.0.1');
    });
    await once(s, 'close');
    const r = await within(echo(other!, 'mine'), 3000, 'the socket opened in the listener');
    expect(r).toMatchObject({ mptcp: true });
    expect(r.data.toString()).toBe('mine');
    await sleep(400); // past the 250 ms attempt timeout: nothing more may happen
    expect(events).toEqual(['connectionAttempt', 'close']);
    expect(rec.accepted).toEqual([true]); // only the other socket ever connected
    await settle(rec, fds);
    expect(rec.sockets.every((x) => x.destroyed)).toBe(true);
    expect(leakedSockets(fds)).toEqual([]);
    await rec.close();
  });

  it('a lookup that calls back twice: EALREADY as with net, and no connection is left behind', async () => {
    const rec = await recordingServer();
    const fds = openFdTargets();
    const outcomes = [];
    for (const m of [net, mptcp] as const) {
      const lookup = (h: string, o: unknown, cb: (e: null, a: string, f: number) => void): void => { cb(null, '::1', 6); cb(null, '::1', 6); };
      const s = m.connect({ port: rec.port, host: 'v6.test', autoSelectFamily: false, lookup: lookup as never });
      const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => { s.once('error', resolve); s.once('connect', () => resolve(null)); });
      outcomes.push({ code: err?.code, syscall: err?.syscall, address: (err as { address?: string } | null)?.address });
      if (!s.destroyed) s.destroy();
    }
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(outcomes[1]).toMatchObject({ code: 'EALREADY', syscall: 'connect', address: '::1' });
    await settle(rec, fds);
    expect(rec.sockets.every((x) => x.destroyed)).toBe(true); // the server saw every connection closed
    expect(leakedSockets(fds)).toEqual([]);
    await rec.close();
  });
});

describe.skipIf(!supported)('listen() racing close()', () => {
  async function sequence(make: () => net.Server, start: (s: net.Server) => void): Promise<{ events: string[]; listening: boolean }> {
    const s = make();
    const events: string[] = [];
    for (const e of ['listening', 'close', 'error']) s.on(e, () => events.push(e));
    start(s);
    await sleep(300);
    const listening = s.listening;
    if (listening) s.close();
    return { events, listening };
  }

  it("close() during the host lookup: 'close' only, never 'listening', nothing left open (as with net)", async () => {
    const fds = openFdTargets();
    const run = (make: () => net.Server) => sequence(make, (s) => { s.listen(0, 'localhost'); s.close(); });
    const lib = await run(() => mptcp.createServer());
    expect(lib).toEqual(await run(() => net.createServer()));
    expect(lib).toEqual({ events: ['close'], listening: false });
    expect(leakedSockets(fds)).toEqual([]);
  });

  it("the listen signal aborted during the host lookup: 'close' only (as with net)", async () => {
    const fds = openFdTargets();
    const run = (make: () => net.Server) => sequence(make, (s) => {
      const ac = new AbortController();
      s.listen({ port: 0, host: 'localhost', signal: ac.signal });
      ac.abort();
    });
    const lib = await run(() => mptcp.createServer());
    expect(lib).toEqual(await run(() => net.createServer()));
    expect(lib).toEqual({ events: ['close'], listening: false });
    expect(leakedSockets(fds)).toEqual([]);
  });
});

describe('per-connection functions given something that is not a socket', () => {
  const fns = { isMptcp: mptcp.isMptcp, getInfo: mptcp.getInfo, getSubflows: mptcp.getSubflows, getSnapshot: mptcp.getSnapshot };

  it('throw ERR_INVALID_ARG_TYPE naming net.Socket for undefined, a number, {} and an http.IncomingMessage', async () => {
    let req: http.IncomingMessage | null = null;
    const server = http.createServer((q, res) => { req = q; res.end('ok'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => http.get(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`, (res) => { res.resume(); res.on('end', r); }));
    for (const [name, fn] of Object.entries(fns)) {
      for (const bad of [undefined, 42, {}, req]) {
        let caught: (Error & { code?: string }) | null = null;
        try {
          (fn as (s: unknown) => unknown)(bad);
        } catch (e) {
          caught = e as Error & { code?: string };
        }
        expect({ name, code: caught?.code, type: caught instanceof TypeError }).toEqual({ name, code: 'ERR_INVALID_ARG_TYPE', type: true });
        expect(caught!.message).toMatch(/"socket" argument must be an instance of net\.Socket/);
      }
    }
    server.close();
  });

  it.skipIf(!supported)('keep false / null / [] for real sockets that are plain TCP, still connecting, or closed', async () => {
    const rec = await recordingServer(() => net.createServer(), [0, '127.0.0.1']);
    const s = net.connect(rec.port, '127.0.0.1');
    const want = { isMptcp: false, getInfo: null, getSubflows: [], getSnapshot: null };
    const ask = (): Record<string, unknown> => Object.fromEntries(Object.entries(fns).map(([k, f]) => [k, (f as (x: net.Socket) => unknown)(s)]));
    expect(ask()).toEqual(want); // connecting
    await once(s, 'connect');
    expect(ask()).toEqual(want); // plain TCP
    s.destroy();
    await once(s, 'close');
    expect(ask()).toEqual(want); // closed
    await rec.close();
  });
});

describe.skipIf(!supported || !hasIPv6)('connect by name: the library\'s lookup in front of net\'s', () => {
  type Lookup = (h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) => void;
  /** A lookup answering `list` after `ms`, in the shape net asked for. */
  const answering = (ms: number, list: { address: string; family: number }[]): Lookup => (_h, o, cb) => {
    setTimeout(() => (o.all ? cb(null, list) : cb(null, list[0].address, list[0].family)), ms);
  };

  it('Happy Eyeballs connects to the port given at connect(), even if the options object changes afterwards', async () => {
    const a = await recordingServer(() => mptcp.createServer(), [0, '::']);
    const b = await recordingServer(() => mptcp.createServer(), [0, '::']);
    try {
      const options = { port: a.port, host: 'two.test', autoSelectFamily: true, lookup: answering(20, [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }]) };
      const s = mptcp.connect(options as net.NetConnectOpts);
      options.port = b.port; // after connect(): net has read its options by now
      await once(s, 'connect');
      expect(s.remotePort).toBe(a.port);
      expect(mptcp.isMptcp(s)).toBe(true);
      s.destroy();
      await sleep(20);
      expect(a.accepted).toEqual([true]);
      expect(b.accepted).toEqual([]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('an answer that comes after a destroy and a new connect() is dropped: the new connection is MPTCP', async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '127.0.0.1']);
    try {
      for (const stale of [[{ address: '127.0.0.1', family: 4 }], [{ address: '::1', family: 6 }]]) {
        rec.accepted.length = 0;
        const s = mptcp.connect({ host: 'x.test', port: rec.port, lookup: answering(60, stale) as unknown as net.LookupFunction });
        const events: string[] = [];
        s.on('error', (e: NodeJS.ErrnoException) => events.push(`error ${e.code}`));
        await sleep(5);
        s.destroy();
        await sleep(5);
        s.connect({ host: 'x.test', port: rec.port, lookup: answering(100, [{ address: '127.0.0.1', family: 4 }]) as unknown as net.LookupFunction });
        await once(s, 'connect');
        expect(mptcp.isMptcp(s)).toBe(true);
        await sleep(20);
        expect(rec.accepted).toEqual([true]); // one connection, MPTCP on the server's side
        expect(events).toEqual([]);
        s.destroy();
        await once(s, 'close');
      }
    } finally {
      await rec.close();
    }
  });

  it("one address under two families is two addresses, as net counts them: the connection is still MPTCP", async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '::1']);
    try {
      // ::1 given as family 4 fails (EINVAL); the second attempt, ::1 as 6, connects.
      const lookup = answering(0, [{ address: '::1', family: 4 }, { address: '::1', family: 6 }]) as unknown as net.LookupFunction;
      const outcome = async (m: typeof net | typeof mptcp): Promise<string[]> => {
        const s = m.connect({ host: 'dup.test', port: rec.port, autoSelectFamily: true, lookup });
        const seen: string[] = [];
        s.on('connectionAttempt', (ip: string, _p: number, f: number) => seen.push(`attempt ${ip} ${f}`));
        s.on('connectionAttemptFailed', (ip: string, _p: number, f: number, e: NodeJS.ErrnoException) => seen.push(`failed ${ip} ${f} ${e.code}`));
        await once(s, 'connect');
        seen.push(`connect ${m === mptcp ? mptcp.isMptcp(s) : 'net'}`);
        s.destroy();
        return seen;
      };
      const mine = await outcome(mptcp);
      expect(mine).toEqual(['attempt ::1 4', 'failed ::1 4 EINVAL', 'attempt ::1 6', 'connect true']);
      await sleep(20);
      expect(rec.accepted).toEqual([true]);
      expect((await outcome(net)).slice(0, 3)).toEqual(mine.slice(0, 3)); // the same attempts as net's
    } finally {
      await rec.close();
    }
  });

  it("the caller's lookup is called as net calls it, with no this", async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '127.0.0.1']);
    try {
      const thisOf: unknown[] = [];
      const lookup = function (this: unknown, _h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void): void {
        thisOf.push(this);
        if (o.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
        else cb(null, '127.0.0.1', 4);
      };
      for (const m of [net, mptcp]) {
        const s = m.connect({ host: 'this.test', port: rec.port, lookup: lookup as unknown as net.LookupFunction });
        await once(s, 'connect');
        s.destroy();
      }
      expect(thisOf[1]).toBe(thisOf[0]);
      expect(thisOf[1]).toBeUndefined();
    } finally {
      await rec.close();
    }
  });

  it('Happy Eyeballs applies what net applies after a connect: keep-alive (its interval and count in Node 24+) and type of service', async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '::']);
    const b = createRequire(import.meta.url)('node-gyp-build')(path.join(__dirname, '..', '..')) as import('../../types/binding').NativeBinding;
    const c = b.constants;
    try {
      const read = async (m: typeof net | typeof mptcp): Promise<Record<string, number>> => {
        const lookup = answering(10, [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]) as unknown as net.LookupFunction;
        const s = m.connect({ host: 'he.test', port: rec.port, autoSelectFamily: true, lookup, typeOfService: 16 } as net.NetConnectOpts);
        s.on('error', () => {});
        // Node 24+ takes an options object, with an interval and a count.
        const major = Number(process.versions.node.split('.')[0]);
        if (major >= 24) (s.setKeepAlive as unknown as (o: object) => void)({ enable: true, initialDelay: 5000, interval: 7000, count: 4 });
        else s.setKeepAlive(true, 5000);
        await once(s, 'connect');
        const fd = (s as unknown as { _handle: { fd: number } })._handle.fd;
        const out = {
          keepAlive: b.getsockoptInt(fd, c.SOL_SOCKET, c.SO_KEEPALIVE),
          idle: b.getsockoptInt(fd, c.SOL_TCP, c.TCP_KEEPIDLE),
          interval: b.getsockoptInt(fd, c.SOL_TCP, 5 /* TCP_KEEPINTVL */),
          count: b.getsockoptInt(fd, c.SOL_TCP, 6 /* TCP_KEEPCNT */),
          tos: b.getsockoptInt(fd, 0 /* IPPROTO_IP */, 1 /* IP_TOS */),
        };
        s.destroy();
        return out;
      };
      const theirs = await read(net);
      const mine = await read(mptcp);
      expect(mine).toEqual(theirs);
      expect(mine.keepAlive).toBe(1);
    } finally {
      await rec.close();
    }
  });

  it("each socket is published once on the 'net.client.socket' diagnostics channel, as net.connect's are", async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '127.0.0.1']);
    const seen: unknown[] = [];
    const onSocket = (m: unknown): void => { seen.push((m as { socket: unknown }).socket); };
    dc.subscribe('net.client.socket', onSocket);
    try {
      for (const host of ['127.0.0.1', 'localhost']) {
        for (const m of [net, mptcp]) {
          seen.length = 0;
          const s = m.connect({ port: rec.port, host });
          s.on('error', () => {}); // once() below still rejects on an error
          expect(seen).toEqual([s]); // published by the time connect() returns, once
          await once(s, 'connect');
          s.destroy();
          expect(seen).toEqual([s]);
        }
      }
    } finally {
      dc.unsubscribe('net.client.socket', onSocket);
      await rec.close();
    }
  });
});
