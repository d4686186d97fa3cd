// Every connect form ends in an MPTCP connection, proven on the server side
// (the accepted socket is MPTCP), with data intact.
import * as dns from 'node:dns';
import { once } from 'node:events';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, type EchoResult, hasIPv6, mptcp, recordingServer, skipReason, supported, type Recorder } from '../helpers/net';

describe.skipIf(!supported)(`connect forms reach the server over MPTCP${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let rec: Recorder;
  beforeAll(async () => { rec = await recordingServer(); });
  afterAll(async () => { await rec.close(); });

  async function check(make: () => net.Socket, payload = 'hello mptcp'): Promise<EchoResult> {
    const before = rec.accepted.length;
    const socket = make();
    expect(socket).toBeInstanceOf(net.Socket);
    const r = await echo(socket, payload);
    expect(r.data.toString()).toBe(payload);
    expect(r.mptcp).toBe(true);
    expect(rec.accepted.length).toBe(before + 1);
    expect(rec.accepted[before]).toBe(true);
    return r;
  }

  it('(port) goes to localhost', async () => { await check(() => mptcp.connect(rec.port)); });
  it('(port, host) with an IPv4 literal', async () => { await check(() => mptcp.connect(rec.port, '127.0.0.1')); });
  it.skipIf(!hasIPv6)('(port, host) with an IPv6 literal', async () => {
    const s = await check(() => mptcp.connect(rec.port, '::1'));
    expect(s.remoteFamily).toBe('IPv6');
  });
  it('(port as string, host, cb)', async () => {
    let called = false;
    await check(() => mptcp.connect(String(rec.port), '127.0.0.1', () => { called = true; }));
    expect(called).toBe(true);
  });
  it('(port, cb)', async () => {
    let called = false;
    await check(() => mptcp.connect(rec.port, () => { called = true; }));
    expect(called).toBe(true);
  });
  it('createConnection is connect', async () => {
    await check(() => mptcp.createConnection({ port: rec.port, host: '127.0.0.1' }));
  });
  it('a hostname, emitting lookup like net', async () => {
    const lookups: unknown[][] = [];
    await check(() => {
      const s = mptcp.connect({ port: rec.port, host: 'localhost' });
      s.on('lookup', (...a) => lookups.push(a));
      return s;
    });
    expect(lookups.length).toBeGreaterThan(0);
    expect(lookups[0][0]).toBeNull();
    expect(lookups[0][3]).toBe('localhost');
  });
  it('family 4 and family 6 with a hostname', async () => {
    const s4 = await check(() => mptcp.connect({ port: rec.port, host: 'localhost', family: 4 }));
    expect(s4.remoteFamily).toBe('IPv4');
    if (hasIPv6) {
      // /etc/hosts need not map localhost to ::1: resolve through a lookup that checks the family asked for.
      const families: unknown[] = [];
      const lookup = ((_h: string, o: dns.LookupOptions, cb: (...a: unknown[]) => void) => {
        families.push(o.family);
        setImmediate(() => cb(null, '::1', 6));
      }) as unknown as net.LookupFunction;
      const s6 = await check(() => mptcp.connect({ port: rec.port, host: 'v6.invalid', family: 6, lookup }));
      expect(s6.remoteFamily).toBe('IPv6');
      expect(families).toEqual([6]);
    }
  });
  it('hints and a custom lookup are honoured', async () => {
    const calls: unknown[] = [];
    const lookup = ((host: string, opts: dns.LookupOptions, cb: (...a: unknown[]) => void) => {
      calls.push([host, opts.hints]);
      if (opts.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
      else cb(null, '127.0.0.1', 4);
    }) as unknown as net.LookupFunction;
    await check(() => mptcp.connect({ port: rec.port, host: 'mptcp.invalid', hints: dns.ADDRCONFIG, lookup }));
    expect(calls).toEqual([['mptcp.invalid', dns.ADDRCONFIG]]);
  });
  it.skipIf(!hasIPv6)('autoSelectFamily: a name with both families, the first refusing, still ends in MPTCP', async () => {
    const v4only = await recordingServer(() => mptcp.createServer(), [0, '127.0.0.1']);
    try {
      const lookup = ((_h: string, _o: dns.LookupOptions, cb: (...a: unknown[]) => void) => {
        setImmediate(() => cb(null, [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }]));
      }) as unknown as net.LookupFunction;
      const s = mptcp.connect({ port: v4only.port, host: 'dual.invalid', lookup, autoSelectFamily: true });
      const attempts: string[] = [];
      s.on('connectionAttempt', (ip: string) => attempts.push(ip));
      s.on('connectionAttemptFailed', (ip: string) => attempts.push(`failed ${ip}`));
      const r = await echo(s, 'dual');
      expect(r.data.toString()).toBe('dual');
      expect(r.mptcp).toBe(true);
      expect(v4only.accepted).toEqual([true]);
      expect(attempts).toEqual(['::1', 'failed ::1', '127.0.0.1']);
      expect((s as net.Socket & { autoSelectFamilyAttemptedAddresses: string[] }).autoSelectFamilyAttemptedAddresses)
        .toEqual([`::1:${v4only.port}`, `127.0.0.1:${v4only.port}`]);
    } finally {
      await v4only.close();
    }
  });
  it.skipIf(!hasIPv6)('a name that resolves to the other family than first guessed still ends in MPTCP', async () => {
    const lookup = ((_h: string, o: dns.LookupOptions, cb: (...a: unknown[]) => void) => {
      setImmediate(() => (o.all ? cb(null, [{ address: '::1', family: 6 }]) : cb(null, '::1', 6)));
    }) as unknown as net.LookupFunction;
    const r = await check(() => mptcp.connect({ port: rec.port, host: 'v6only.invalid', lookup }));
    expect(r.remoteFamily).toBe('IPv6');
  });
  it.skipIf(!hasIPv6)('autoSelectFamily: IPv4 refused first, then IPv6 succeeds over MPTCP', async () => {
    const v6only = await recordingServer(() => mptcp.createServer(), [{ port: 0, host: '::1', ipv6Only: true }]);
    try {
      const lookup = ((_h: string, _o: dns.LookupOptions, cb: (...a: unknown[]) => void) => {
        setImmediate(() => cb(null, [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]));
      }) as unknown as net.LookupFunction;
      const s = mptcp.connect({ port: v6only.port, host: 'dual.invalid', lookup });
      const r = await echo(s, 'v6 after v4');
      expect(r).toMatchObject({ mptcp: true, remoteFamily: 'IPv6' });
      expect(r.data.toString()).toBe('v6 after v4');
      expect(v6only.accepted).toEqual([true]);
    } finally {
      await v6only.close();
    }
  });
  it('localAddress and localPort are bound', async () => {
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const localPort = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const s = await check(() => mptcp.connect({ port: rec.port, host: '127.0.0.1', localAddress: '127.0.0.1', localPort }));
    expect(s.localPort).toBe(localPort);
    expect(s.localAddress).toBe('127.0.0.1');
  });
  it('writes before connect are buffered and delivered in order', async () => {
    const s = mptcp.connect(rec.port, '127.0.0.1');
    expect(s.connecting).toBe(true);
    expect(s.pending).toBe(true);
    s.write('one,');
    s.write('two,');
    const r = await echo(s, 'three');
    expect(r.data.toString()).toBe('one,two,three');
  });
  it('noDelay and keepAlive reach the MPTCP socket', async () => {
    const s = mptcp.connect({ port: rec.port, host: '127.0.0.1', noDelay: true, keepAlive: true, keepAliveInitialDelay: 7000 });
    await once(s, 'connect');
    const b = (await import('node:module')).createRequire(import.meta.url)('../../dist/binding.js').getBinding();
    const fd = (s as net.Socket & { _handle: { fd: number } })._handle.fd;
    expect(b.getsockoptInt(fd, 6, 1 /* TCP_NODELAY */)).toBe(1);
    expect(b.getsockoptInt(fd, 1, 9 /* SO_KEEPALIVE */)).toBe(1);
    expect(b.getsockoptInt(fd, 6, 4 /* TCP_KEEPIDLE */)).toBe(7);
    expect(mptcp.isMptcp(s)).toBe(true);
    s.destroy();
  });
  it('allowHalfOpen keeps the writable side open after the peer ends', async () => {
    const half = await recordingServer();
    half.server.removeAllListeners('connection');
    half.server.on('connection', (c: net.Socket) => { c.end('bye'); c.on('data', (d) => { c.destroy(); half.received.push(d); }); });
    try {
      const s = mptcp.connect({ port: half.port, host: '127.0.0.1', allowHalfOpen: true });
      s.on('data', () => {});
      await once(s, 'end');
      expect(s.writable).toBe(true);
      s.end('still here');
      await once(s, 'close');
      await new Promise((r) => setTimeout(r, 20));
      expect(half.received.map(String)).toContain('still here');
    } finally {
      await half.close();
    }
  });
  it("stream settings are net's whatever the options say: those net's constructor sets on its copy, on every path", async () => {
    // The library starts its constructor options with those four (lib/connect.ts, ctorBase); net overwrites them.
    const state = (s: net.Socket): unknown[] => {
      const st = s as unknown as { _readableState: Record<string, unknown>; _writableState: Record<string, unknown>; allowHalfOpen: boolean };
      return [st.allowHalfOpen, st._readableState.emitClose, st._readableState.autoDestroy, st._writableState.emitClose,
        st._writableState.autoDestroy, st._writableState.decodeStrings];
    };
    const given = [
      {},
      { allowHalfOpen: 'x', emitClose: true, autoDestroy: false, decodeStrings: true },
      { allowHalfOpen: 0, emitClose: 1, autoDestroy: 0, decodeStrings: 'x' },
    ];
    // An IP literal, a name (one address), a local address (the native path).
    const targets = [{ host: '127.0.0.1' }, { host: 'localhost', family: 4 }, { host: '127.0.0.1', localAddress: '127.0.0.1' }];
    for (const extra of given) {
      for (const t of targets) {
        const opts = { port: rec.port, ...t, ...extra } as net.NetConnectOpts;
        const theirs = net.connect(opts);
        const mine = mptcp.connect(opts as mptcp.ConnectOptions);
        expect(state(mine), JSON.stringify(opts)).toEqual(state(theirs));
        const r = await echo(mine, 'settings');
        expect(r.mptcp).toBe(true);
        theirs.destroy();
      }
    }
  });
  it('connect() returns a genuine net.Socket synchronously with net state', () => {
    const s = mptcp.connect(rec.port, '127.0.0.1');
    // An instance of the library's Socket (mptcp/net's), a subclass of net's adding only connect().
    expect(s).toBeInstanceOf(net.Socket);
    expect(Object.getPrototypeOf(Object.getPrototypeOf(s))).toBe(net.Socket.prototype);
    expect(Object.getOwnPropertyNames(Object.getPrototypeOf(s)).sort()).toEqual(['connect', 'constructor']);
    expect(Object.getPrototypeOf(s).constructor.name).toBe('Socket');
    expect(s.readyState).toBe('opening');
    s.destroy();
  });
});
