// Node's private fields the library relies on (lib/node-internals.ts): each
// must exist and behave as the library expects on the Node running the tests
// (CI runs the suite on Node 20, 22, 24 and 26). A failure here names the
// field that changed.
import { once } from 'node:events';
import * as net from 'node:net';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const internals = require('../../dist/node-internals.js') as typeof import('../../lib/node-internals');

async function connectedPair(): Promise<{ server: net.Server; client: net.Socket; close: () => Promise<void> }> {
  const server = net.createServer((s) => s.on('error', () => {}));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  return { server, client, close: async () => { client.destroy(); await new Promise((r) => server.close(r)); } };
}

type Priv = Record<string, unknown>;

describe(`Node ${process.version} internals used by the library`, () => {
  it('net.Server#_listeningId: a number, bumped by listen() and by close()', () => {
    const server = net.createServer();
    const g0 = internals.listeningGeneration(server);
    expect(g0, 'net.Server#_listeningId is gone: close() during a listen lookup would no longer win').toEqual(expect.any(Number));
    server.listen(0, '127.0.0.1');
    const g1 = internals.listeningGeneration(server)!;
    expect(g1).not.toBe(g0);
    server.close();
    expect(internals.listeningGeneration(server)).not.toBe(g1);
  });

  it('socket._handle.fd: the descriptor (handleOf, handleFd), gone once destroyed', async () => {
    const { client, close } = await connectedPair();
    const h = internals.handleOf(client);
    expect(h?.fd, 'net.Socket#_handle.fd is gone: isMptcp/getInfo could not find the descriptor').toEqual(expect.any(Number));
    expect(internals.handleFd(client)).toBe(h!.fd);
    await close();
    expect(internals.handleOf(client)).toBeNull();
  });

  it('_sockname, _unrefTimer, _destroy and a writable connecting: what markConnected and beforeDestroy use', async () => {
    const { client, close } = await connectedPair();
    const p = client as unknown as Priv;
    expect('_sockname' in p || p._sockname === undefined).toBe(true);
    expect(typeof p._unrefTimer, 'net.Socket#_unrefTimer is gone').toBe('function');
    expect(typeof p._destroy, 'net.Socket#_destroy is gone').toBe('function');
    internals.setConnecting(client, true);
    expect(client.connecting, 'net.Socket#connecting is no longer a plain field').toBe(true);
    internals.markConnected(client);
    expect(client.connecting).toBe(false);
    expect(client.address()).toMatchObject({ address: '127.0.0.1' }); // _sockname dropped: asked again
    let cancelled = 0;
    internals.beforeDestroy(client, () => cancelled++);
    const closed = once(client, 'close');
    client.destroy();
    await closed;
    expect(cancelled).toBe(1);
    await close();
  });

  it("net's TCP handle class is learned from a socket and wraps a descriptor the addon made", async () => {
    const { getBinding } = require('../../dist/binding.js') as typeof import('../../lib/binding');
    const b = getBinding();
    if (!b) return; // no addon here: the library never wraps descriptors then
    const { client, close } = await connectedPair();
    internals.learnTcpHandleClass(client);
    const fd = b.socket(4, b.constants.IPPROTO_TCP);
    expect(fd).toBeGreaterThanOrEqual(0);
    const handle = internals.tcpHandleOn(fd);
    expect(handle, "net.Socket#_handle is no longer of a class named TCP with open(fd)").not.toBeNull();
    const wrapped = new net.Socket({ handle } as unknown as net.SocketConstructorOpts);
    expect(internals.handleFd(wrapped)).toBe(fd);
    wrapped.destroy();
    await once(wrapped, 'close');
    await close();
  });

  it('autoSelectFamilyAttemptedAddresses: the list net keeps for autoSelectFamily connects', async () => {
    const server = net.createServer((s) => s.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const lookup = (h: string, o: unknown, cb: (e: null, a: { address: string; family: number }[]) => void): void =>
      cb(null, [{ address: '127.0.0.1', family: 4 }, { address: '127.0.0.2', family: 4 }]);
    const s = net.connect({ port: (server.address() as net.AddressInfo).port, host: 'x.test', autoSelectFamily: true, lookup: lookup as never });
    await once(s, 'connect');
    expect((s as unknown as Priv).autoSelectFamilyAttemptedAddresses, 'net no longer keeps autoSelectFamilyAttemptedAddresses').toEqual(expect.any(Array));
    expect(internals.attemptedAddresses(s)).toBe((s as unknown as Priv).autoSelectFamilyAttemptedAddresses);
    s.destroy();
    await new Promise((r) => server.close(r));
  });

  it("kSetNoDelay / kSetKeepAlive / kSetKeepAliveInitialDelay: what net applies after its connect (reapplyStreamOptions)", () => {
    const s = new net.Socket({ noDelay: true, keepAlive: true, keepAliveInitialDelay: 5000 } as net.SocketConstructorOpts);
    const byName = Object.fromEntries(Object.getOwnPropertySymbols(s).map((k) => [k.description, (s as unknown as Record<symbol, unknown>)[k]]));
    expect(byName, "net.Socket no longer keeps kSetNoDelay/kSetKeepAlive: constructor noDelay/keepAlive would be lost on a native connect")
      .toMatchObject({ kSetNoDelay: true, kSetKeepAlive: true, kSetKeepAliveInitialDelay: 5 });
    s.destroy();
  });

  it("_host: the name a connect resolved (tls.connect's default for a socket it is given)", async () => {
    const server = net.createServer((c) => c.on('error', () => {}));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const s = net.connect({ port: (server.address() as net.AddressInfo).port, host: 'localhost', family: 4 });
    expect(internals.connectHost(s), 'net.Socket#_host is gone: tls.connect({ socket }) would check the wrong name').toBe('localhost');
    await once(s, 'connect');
    s.destroy();
    await new Promise((r) => server.close(r));
  });

  it('net._createServerHandle: a writable export of net that cluster\'s shared handles use', () => {
    const d = Object.getOwnPropertyDescriptor(require('node:net'), '_createServerHandle');
    expect(d, 'net._createServerHandle is gone: SCHED_NONE cluster listeners would stay plain TCP under the switch').toMatchObject({ writable: true });
    expect(typeof d!.value).toBe('function');
    expect(internals.netOriginals(require('node:net')).createServerHandle).toBe(d!.value);
  });
});
