// No descriptor is leaked across many connect/close cycles, including the
// paths that fail or are cancelled before the socket is handed to Node.
import { once } from 'node:events';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { hasIPv6, leakedFds, mptcp, openFdTargets, skipReason, supported } from '../helpers/net';

async function settle(): Promise<void> {
  // Let libuv run close callbacks of handles closed in the last cycle.
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

describe.skipIf(!supported)(`descriptor hygiene${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('2,000 connect/echo/close cycles leak no fd', async () => {
    const server = mptcp.createServer((s) => { s.on('data', (d) => s.end(d)); s.on('error', () => {}); });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    await settle();
    const before = openFdTargets();
    let mptcpCount = 0;
    for (let i = 0; i < 2000; i++) {
      const host = i % 4 === 3 ? 'localhost' : '127.0.0.1';
      const s = mptcp.connect({ port, host, family: host === 'localhost' ? 4 : 0 });
      await once(s, 'connect');
      if (mptcp.isMptcp(s)) mptcpCount++;
      s.end('x');
      s.resume();
      await once(s, 'close');
    }
    await settle();
    expect(mptcpCount).toBe(2000);
    expect(leakedFds(before)).toEqual([]);
    await new Promise((r) => server.close(r));
  });

  it('refused, aborted and destroyed-while-connecting attempts leak no fd', async () => {
    const probe = net.createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    await settle();
    const before = openFdTargets();
    // A name resolving to ::1 while the socket's first descriptor is IPv4
    // takes the native attempt path (connect in the addon, then hand-over).
    const toV6 = ((_h: string, _o: unknown, cb: (...a: unknown[]) => void) => setImmediate(() => cb(null, '::1', 6))) as unknown as net.LookupFunction;
    for (let i = 0; i < 400; i++) {
      const kind = i % 4;
      const s = kind === 2
        ? mptcp.connect({ port, host: 'localhost', family: 4 })
        : kind === 3 && hasIPv6
          ? mptcp.connect({ port, host: 'v6.invalid', family: 0, autoSelectFamily: false, lookup: toV6 })
          : mptcp.connect(port, '127.0.0.1');
      s.on('error', () => {});
      if (kind === 1) s.destroy();
      else if (kind === 2 || (kind === 3 && i % 8 === 3)) setImmediate(() => s.destroy());
      await new Promise((r) => s.once('close', r));
    }
    await settle();
    expect(leakedFds(before)).toEqual([]);
  });

  it.skipIf(!hasIPv6)('Happy Eyeballs by name: the first address refused or answering, destroyed mid-way or not, leaks no fd', async () => {
    // The server listens on IPv4 only, so ::1 is refused. The descriptor made
    // up front is IPv4: taken by the 127.0.0.1 attempt whichever comes first,
    // closed when the plan ends without it.
    const server = mptcp.createServer((c) => { c.on('data', (d) => c.end(d)); c.on('error', () => {}); });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const both = (first: 4 | 6) => ((_h: string, _o: unknown, cb: (e: null, a: { address: string; family: number }[]) => void) => {
      const v4 = { address: '127.0.0.1', family: 4 };
      const v6 = { address: '::1', family: 6 };
      setImmediate(() => cb(null, first === 6 ? [v6, v4] : [v4, v6]));
    }) as unknown as net.LookupFunction;
    await settle();
    const before = openFdTargets();
    let echoed = 0;
    let mptcpCount = 0;
    for (let i = 0; i < 300; i++) {
      const s = mptcp.connect({ port, host: 'both.test', autoSelectFamily: true, lookup: both(i % 2 ? 6 : 4) });
      s.on('error', () => {});
      if (i % 5 === 4) {
        s.once('connectionAttempt', () => s.destroy());
      } else {
        await once(s, 'connect');
        if (mptcp.isMptcp(s)) mptcpCount++;
        s.end('x');
        s.on('data', () => echoed++);
      }
      await new Promise((r) => s.once('close', r));
    }
    await settle();
    expect(echoed).toBe(240);
    expect(mptcpCount).toBe(240);
    expect(leakedFds(before)).toEqual([]);
    await new Promise((r) => server.close(r));
  });

  it('connect() throwing on an invalid option releases the descriptor it made', async () => {
    // Warm both construction paths (the first socket teaches the library Node's TCP handle class).
    const warm = mptcp.connect({ port: 9, host: '127.0.0.1' });
    warm.on('error', () => {});
    warm.destroy();
    await once(warm, 'close');
    const before = openFdTargets();
    for (let i = 0; i < 100; i++) {
      expect(() => mptcp.connect({ port: 9, host: '127.0.0.1', signal: 'not a signal' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
      // An options object whose getter throws while it is read.
      const hostile = { port: 9, host: '127.0.0.1', get allowHalfOpen(): boolean { throw new Error('getter'); } };
      expect(() => mptcp.connect(hostile)).toThrow('getter');
    }
    expect(leakedFds(before)).toEqual([]);
  });
});
