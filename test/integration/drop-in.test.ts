// mptcp/net as a drop-in for node:net: every name node:net exports, node's
// own objects except the MPTCP ones, instanceof either way, and the MPTCP
// ones really MPTCP, checked on the server's accepted socket: createServer,
// connect, createConnection, and new Socket().connect() (the form database
// drivers use), also by name, with TLS on top, and after a destroy.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as http from 'node:http';
import * as nodeNet from 'node:net';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { echo, mptcp, recordingServer, selfSignedCert, skipReason, supported } from '../helpers/net';

const require = createRequire(import.meta.url);
const mnet = require('mptcp/net') as typeof import('../../lib/net');
/** node:net's exports as CommonJS users see them. */
const netExports = require('node:net') as Record<string, unknown>;
const binding = require('node-gyp-build')(require('node:path').join(__dirname, '..', '..')) as import('../../types/binding').NativeBinding;

/** Once connected: TCP_NODELAY and keep-alive (idle `idleSecs`) on the connection's descriptor, which is MPTCP. */
async function expectStreamOptions(s: nodeNet.Socket, idleSecs: number): Promise<void> {
  const c = binding.constants;
  await once(s, 'connect');
  const fd = (s as unknown as { _handle: { fd: number } })._handle.fd;
  expect(binding.getsockoptInt(fd, c.SOL_TCP, c.TCP_NODELAY)).toBe(1);
  expect(binding.getsockoptInt(fd, c.SOL_SOCKET, c.SO_KEEPALIVE)).toBe(1);
  expect(binding.getsockoptInt(fd, c.SOL_TCP, c.TCP_KEEPIDLE)).toBe(idleSecs);
  expect((await echo(s, 'opts')).mptcp).toBe(true);
}

describe('mptcp/net exports', () => {
  it("every name of node:net, node:net's own objects except the MPTCP ones", async () => {
    const names = Object.keys(netExports).sort();
    expect(Object.keys(mnet).sort()).toEqual(names);
    const mine = ['connect', 'createConnection', 'createServer', 'Server', 'Socket', 'Stream'];
    for (const name of names) {
      const ours = (mnet as Record<string, unknown>)[name];
      if (mine.includes(name)) expect(ours, name).not.toBe(netExports[name]);
      else expect(ours, name).toBe(netExports[name]);
    }
    const esm = await import('mptcp/net');
    expect(esm.default).toBe(mnet);
    expect(Object.keys(esm).filter((k) => k !== 'default').sort()).toEqual(names);
    for (const name of names) expect((esm as Record<string, unknown>)[name], name).toBe((mnet as Record<string, unknown>)[name]);
  });

  it('instanceof holds either way: sockets and servers net or http made are mptcp/net ones, and the reverse', () => {
    const plain = new nodeNet.Socket();
    const ours = new mnet.Socket();
    expect(plain).toBeInstanceOf(mnet.Socket);
    expect(ours).toBeInstanceOf(nodeNet.Socket);
    expect(ours).toBeInstanceOf(mnet.Stream);
    expect(http.createServer()).toBeInstanceOf(mnet.Server);
    expect(mnet.createServer()).toBeInstanceOf(nodeNet.Server);
    expect(mnet.createServer()).toBeInstanceOf(mptcp.Server);
    // A subclass of ours keeps the ordinary test.
    class Mine extends mnet.Socket {}
    expect(plain instanceof Mine).toBe(false);
    expect(new Mine()).toBeInstanceOf(Mine);
    plain.destroy();
    ours.destroy();
  });

  it("sockets and servers made with new, with a call or by a subclass share V8's hidden class, as net's do", () => {
    // With the callable class's proxy as new.target, V8 gave every instance
    // a map of its own: net's code then ran megamorphic on each such socket
    // (connect + echo 1.5 times as slow). Checked in a child with V8's
    // natives syntax, the only view of hidden classes.
    const program = `
      const mnet = require('mptcp/net');
      class Mine extends mnet.Socket {}
      const same = (make) => %HaveSameMap(make(), make());
      process.stdout.write(JSON.stringify({
        newSocket: same(() => new mnet.Socket()), callSocket: same(() => mnet.Socket()),
        newStream: same(() => new mnet.Stream()), subclass: same(() => new Mine()),
        newServer: same(() => new mnet.Server()), createServer: same(() => mnet.createServer()),
        netSocket: same(() => new (require('node:net').Socket)()),
      }));`;
    const r = spawnSync(process.execPath, ['--allow-natives-syntax', '-e', program], { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ newSocket: true, callSocket: true, newStream: true, subclass: true, newServer: true, createServer: true, netSocket: true });
  });
});

describe.skipIf(!supported)(`mptcp/net over MPTCP${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('createServer listens over MPTCP; connect and createConnection connect over MPTCP (the server says so)', async () => {
    const rec = await recordingServer(() => mnet.createServer(), [0, '127.0.0.1']);
    try {
      expect((await echo(mnet.connect(rec.port, '127.0.0.1'), 'a')).data.toString()).toBe('a');
      expect((await echo(mnet.createConnection({ port: rec.port, host: 'localhost', family: 4 }), 'b')).data.toString()).toBe('b');
      // A plain net client gets a TCP connection from the same listener.
      expect((await echo(nodeNet.connect(rec.port, '127.0.0.1'), 'c')).data.toString()).toBe('c');
      expect(rec.accepted).toEqual([true, true, false]);
    } finally {
      await rec.close();
    }
  });

  it('new Socket().connect(): IP, name, autoSelectFamily, reconnect after destroy, TLS over it', async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '::']);
    try {
      const forms: ((s: nodeNet.Socket) => void)[] = [
        (s) => s.connect(rec.port, '127.0.0.1'),
        (s) => s.connect({ port: rec.port, host: 'localhost' }),
        (s) => s.connect({ port: rec.port, host: 'localhost', autoSelectFamily: true, lookup: (_h, _o, cb) => (cb as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }, { address: '127.0.0.2', family: 4 }]) }),
      ];
      for (const [i, connect] of forms.entries()) {
        const s = new mnet.Socket();
        connect(s);
        expect((await echo(s, `form ${i}`)).data.toString()).toBe(`form ${i}`);
      }
      // Reconnecting a destroyed socket, as net allows.
      const again = new mnet.Socket();
      again.connect(rec.port, '127.0.0.1');
      await once(again, 'connect');
      again.destroy();
      await once(again, 'close');
      again.connect(rec.port, '127.0.0.1');
      expect((await echo(again, 'again')).mptcp).toBe(true);
      expect(rec.accepted).toEqual([true, true, true, true, true]);
    } finally {
      await rec.close();
    }
  });

  it('TLS over a Socket connected later: tls.connect({ socket })', async () => {
    const seen: boolean[] = [];
    const server = tls.createServer(selfSignedCert(), (s) => {
      seen.push(mptcp.isMptcp(s));
      s.pipe(s);
    });
    mptcp.listen(server, 0, '127.0.0.1');
    await once(server, 'listening');
    const raw = new mnet.Socket().connect((server.address() as nodeNet.AddressInfo).port, '127.0.0.1');
    const t = tls.connect({ socket: raw, servername: 'localhost', rejectUnauthorized: false });
    await once(t, 'secureConnect');
    t.write('over tls');
    const [d] = await once(t, 'data') as [Buffer];
    expect(d.toString()).toBe('over tls');
    expect(seen).toEqual([true]);
    t.destroy();
    await new Promise((r) => server.close(r));
  });

  it("a TLS socket's readings follow its underlying socket: once that closes, not another connection's under the same number", async () => {
    const server = tls.createServer(selfSignedCert(), (s) => { s.on('error', () => {}); s.resume(); });
    mptcp.listen(server, 0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as nodeNet.AddressInfo).port;
    const raw = mptcp.connect(port, '127.0.0.1');
    const t = tls.connect({ socket: raw, servername: 'localhost', rejectUnauthorized: false });
    t.on('error', () => {});
    await once(t, 'secureConnect');
    const token = mptcp.getInfo(t)?.token;
    expect(token).toBe(mptcp.getInfo(raw)?.token);
    expect(mptcp.isMptcp(t)).toBe(true);
    raw.destroy(); // the descriptor under t closes at once; t itself goes later
    const other = mptcp.connect(port, '127.0.0.1'); // likely the same descriptor number
    await once(other, 'connect');
    const otherToken = mptcp.getInfo(other)!.token;
    const seen = mptcp.getInfo(t);
    expect(seen === null || seen.token !== otherToken).toBe(true);
    expect(seen).toBeNull();
    other.destroy();
    t.destroy();
    await new Promise((r) => server.close(r));
  });

  it('pauseOnCreate is ignored by connect(), as by net.connect (the socket reads once connected)', async () => {
    const server = nodeNet.createServer((c) => c.end('hello'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as nodeNet.AddressInfo).port;
    const read = (s: nodeNet.Socket): Promise<string> => new Promise((resolve) => {
      let got = '';
      s.on('data', (d: Buffer) => { got += d.toString(); });
      s.on('end', () => resolve(got));
      setTimeout(() => resolve(`${got} (timed out)`), 2000);
    });
    const opts = { port, host: '127.0.0.1', pauseOnCreate: true } as nodeNet.NetConnectOpts;
    expect(await read(mptcp.connect(opts))).toBe(await read(nodeNet.connect(opts)));
    await new Promise((r) => server.close(r));
  });

  it('setNoDelay / setKeepAlive while connecting reach the connection (also when another descriptor won)', async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '127.0.0.1']);
    try {
      // Two addresses: the winner is a descriptor of its own, moved onto the socket's.
      const s = mptcp.connect({ port: rec.port, host: 'two.test', autoSelectFamily: true, lookup: (_h, _o, cb) => (cb as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }, { address: '127.0.0.2', family: 4 }]) });
      s.setNoDelay(true);
      s.setKeepAlive(true, 7000);
      await expectStreamOptions(s, 7);
    } finally {
      await rec.close();
    }
  });
});

describe.skipIf(!supported)(`connect options net.connect honours${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  type Lookup = NonNullable<nodeNet.TcpNetConnectOpts['lookup']>;
  const resolveTo = (addresses: string[]): Lookup => ((_h: string, _o: unknown, cb: (e: null, a: { address: string; family: number }[]) => void) =>
    process.nextTick(cb, null, addresses.map((address) => ({ address, family: 4 })))) as unknown as Lookup;

  it('blockList (Node 22+; Node 20 ignores it, as net does): the same outcome as net.connect, MPTCP when it connects', async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '0.0.0.0']);
    try {
      const blockList = new nodeNet.BlockList();
      blockList.addAddress('127.0.0.2');
      const cases: Record<string, unknown>[] = [
        { host: '127.0.0.2' },
        { host: '127.0.0.1' },
        { host: 'one.test', lookup: resolveTo(['127.0.0.2']), autoSelectFamily: false },
        { host: 'two.test', lookup: resolveTo(['127.0.0.2', '127.0.0.1']), autoSelectFamily: true },
        { host: 'two.test', lookup: resolveTo(['127.0.0.2', '127.0.0.3']), autoSelectFamily: true },
      ];
      const ports = new Map<nodeNet.Socket, number>();
      const outcome = (s: nodeNet.Socket): Promise<{ connected: boolean; code?: string; failed: string[] }> => new Promise((resolve) => {
        const failed: string[] = [];
        s.on('connectionAttemptFailed', (address: string, _p: number, _f: number, e: NodeJS.ErrnoException) => failed.push(`${address} ${e.code}`));
        s.once('connect', () => { ports.set(s, s.localPort!); s.end(); resolve({ connected: true, failed }); });
        s.once('error', (e: NodeJS.ErrnoException) => resolve({ connected: false, code: e.code, failed }));
      });
      for (const c of cases) {
        const options = { port: rec.port, blockList, ...c } as nodeNet.NetConnectOpts;
        const viaNet = await outcome(nodeNet.connect(options));
        const socket = mptcp.connect(options as mptcp.ConnectOptions);
        const ours = await outcome(socket);
        expect(ours, JSON.stringify(c)).toEqual(viaNet);
        if (ours.connected) {
          // The server's side of this very connection is MPTCP.
          await expect.poll(() => rec.sockets.findIndex((a) => a.remotePort === ports.get(socket))).toBeGreaterThanOrEqual(0);
          expect(rec.accepted[rec.sockets.findIndex((a) => a.remotePort === ports.get(socket))]).toBe(true);
        }
      }
      if (Number(process.versions.node.split('.')[0]) >= 22) {
        const r = await outcome(mptcp.connect({ port: rec.port, host: '127.0.0.2', blockList } as mptcp.ConnectOptions));
        expect(r).toMatchObject({ connected: false, code: 'ERR_IP_BLOCKED' });
      }
    } finally {
      await rec.close();
    }
  });

  it('highWaterMark, readableHighWaterMark, writableHighWaterMark reach the socket, as with net.connect', async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '127.0.0.1']);
    try {
      for (const o of [{ highWaterMark: 65536 }, { readableHighWaterMark: 1234, writableHighWaterMark: 4321 }]) {
        const theirs = nodeNet.connect({ port: rec.port, host: '127.0.0.1', ...o });
        const ours = mptcp.connect({ port: rec.port, host: '127.0.0.1', ...o } as mptcp.ConnectOptions);
        expect([ours.readableHighWaterMark, ours.writableHighWaterMark]).toEqual([theirs.readableHighWaterMark, theirs.writableHighWaterMark]);
        expect((await echo(ours, 'hwm')).mptcp).toBe(true);
        theirs.destroy();
      }
    } finally {
      await rec.close();
    }
  });
});

describe.skipIf(!supported)(`as net does it, on the native path too${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  type Lookup = NonNullable<nodeNet.TcpNetConnectOpts['lookup']>;
  /** A name resolving to 127.0.0.2 then 127.0.0.1: the winner is a descriptor of its own (the native path). */
  const twoAddresses = ((_h: string, _o: unknown, cb: (e: null, a: { address: string; family: number }[]) => void) =>
    process.nextTick(cb, null, [{ address: '127.0.0.2', family: 4 }, { address: '127.0.0.1', family: 4 }])) as unknown as Lookup;

  it('a second connect() while the first is under way fails with EALREADY (a catchable error, no crash)', async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '0.0.0.0']);
    try {
      for (const make of [() => new mnet.Socket(), () => null]) {
        const first = { port: rec.port, host: 'two.test', lookup: twoAddresses, autoSelectFamily: true };
        const s = make() ?? mptcp.connect(first);
        if (s instanceof mnet.Socket && !s.connecting) s.connect(first);
        s.connect(rec.port, '127.0.0.1');
        const [err] = await once(s, 'error') as [NodeJS.ErrnoException];
        expect(err).toMatchObject({ code: 'EALREADY', syscall: 'connect' });
        await once(s, 'close');
      }
      // Nothing was left half-open on the server.
      await new Promise((r) => setTimeout(r, 50));
      expect(rec.sockets.every((x) => x.destroyed || x.readableEnded || !x.writable) || rec.sockets.length === 0).toBe(true);
    } finally {
      await rec.close();
    }
  });

  it("a socket connect() returned, connected again after a destroy, is MPTCP again (the server's side)", async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '127.0.0.1']);
    try {
      const s = mptcp.connect(rec.port, '127.0.0.1');
      expect(s).toBeInstanceOf(mnet.Socket);
      expect(s.connect).toBe(mnet.Socket.prototype.connect);
      await once(s, 'connect');
      s.destroy();
      await once(s, 'close');
      s.connect(rec.port, '127.0.0.1');
      expect((await echo(s, 'again')).data.toString()).toBe('again');
      expect(rec.accepted).toEqual([true, true]);
    } finally {
      await rec.close();
    }
  });

  it("the constructor's noDelay / keepAlive reach the connection a native attempt won", async () => {
    const rec = await recordingServer(() => mptcp.createServer(), [0, '0.0.0.0']);
    try {
      const s = new mnet.Socket({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 9000 } as nodeNet.SocketConstructorOpts);
      s.connect({ port: rec.port, host: 'two.test', lookup: twoAddresses, autoSelectFamily: true });
      await expectStreamOptions(s, 9);
    } finally {
      await rec.close();
    }
  });

  it("'connectionAttempt' and 'connectionAttemptFailed' come as net's do for a single native attempt", async () => {
    const seen = (s: nodeNet.Socket): Promise<string[]> => new Promise((resolve) => {
      const events: string[] = [];
      s.on('connectionAttempt', (a: string) => events.push(`attempt ${a}`));
      s.on('connectionAttemptFailed', (a: string, _p: number, _f: number, e: NodeJS.ErrnoException) => events.push(`failed ${a} ${e.code}`));
      s.on('error', (e: NodeJS.ErrnoException) => { events.push(`error ${e.code}`); resolve(events); });
    });
    const port = await new Promise<number>((resolve) => { const t = nodeNet.createServer().listen(0, '127.0.0.1', () => { const p = (t.address() as nodeNet.AddressInfo).port; t.close(() => resolve(p)); }); });
    const one = ((_h: string, _o: unknown, cb: (e: null, a: string, f: number) => void) => process.nextTick(cb, null, '::1', 6)) as unknown as Lookup;
    const options = { port, host: 'one.test', lookup: one, autoSelectFamily: false };
    expect(await seen(mptcp.connect(options))).toEqual(await seen(nodeNet.connect(options)));
  });

  it('Socket and Server are callable without new, as net\'s are', () => {
    const s = (mnet.Socket as unknown as (o?: object) => nodeNet.Socket)();
    expect(s).toBeInstanceOf(nodeNet.Socket);
    expect(s.connect).toBe(mnet.Socket.prototype.connect);
    s.destroy();
    expect((mnet.Server as unknown as () => nodeNet.Server)()).toBeInstanceOf(mptcp.Server);
  });

  it("tls.connect({ socket }) checks the certificate against the name the socket connected to, as with net", async () => {
    const { key, cert } = selfSignedCert();
    const server = tls.createServer({ key, cert }, (s) => s.end('ok'));
    mptcp.listen(server, 0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as nodeNet.AddressInfo).port;
    try {
      for (const raw of [new mnet.Socket().connect({ port, host: 'localhost', family: 4 }), mptcp.connect({ port, host: 'localhost', family: 4 })]) {
        const t = tls.connect({ socket: raw, ca: cert });
        await once(t, 'secureConnect');
        expect(t.authorized).toBe(true);
        expect(mptcp.isMptcp(t)).toBe(true);
        t.destroy();
      }
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
