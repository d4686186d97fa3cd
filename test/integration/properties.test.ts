// Property-based parity with node:net. Generated argument lists for
// connect / createConnection, createServer, Server#listen and
// listen(server, ...) are given to net and to the library, one after the
// other: both must throw synchronously with the same error class and `code`,
// or neither; when neither throws, the asynchronous outcome (the events up
// to 'connect' / 'listening' / 'error', the error's class, code, syscall,
// address and port) must be the same, within a bounded wait. Every run
// closes what it opened; each property counts /proc/self/fd before and after.
// The generators and the harness are in test/helpers/parity.ts.
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configure, fc } from '../helpers/fc';
import { mptcp, skipReason, supported } from '../helpers/net';
import {
  apis, attempt, cbTag, connectOptions, junk, listenBadKeys, listenOptions, localBinding, materialize, mptcpMode, oneBadKey, positionalConnect,
  positionalListen, runConnect, runListen, serverModes, setUp, severalBadKeys, shown, tallyFor, tearDown, withoutFdLeak,
  type ListenKey, type ListenWay, type Sync,
} from '../helpers/parity';

configure('test/integration/properties.test.ts');

// A failing property shrinks, which reruns it many times: room for that.
describe.skipIf(!supported)(`parity with node:net, generated arguments${skipReason ? ` (skipped: ${skipReason})` : ''}`, { timeout: 60_000 }, () => {
  beforeAll(setUp);
  afterAll(tearDown);

  it('connect: one documented option with a wrong value throws what net throws', async () => {
    const tally = tallyFor('connect, one bad option');
    await withoutFdLeak(() => fc.assert(fc.asyncProperty(
      fc.constantFrom('connect', 'createConnection') as fc.Arbitrary<keyof typeof apis>,
      connectOptions(oneBadKey, { portless: true }),
      fc.option(cbTag, { nil: undefined }),
      async (api, options, cb) => runConnect(api, cb ? [options, cb] : [options], false, tally),
    ), { numRuns: 300 }));
  });

  it('connect: several wrong options at once throw what net throws (validation order)', async () => {
    const tally = tallyFor('connect, several bad options');
    await withoutFdLeak(() => fc.assert(fc.asyncProperty(
      fc.constantFrom('connect', 'createConnection') as fc.Arbitrary<keyof typeof apis>,
      connectOptions(severalBadKeys),
      async (api, options) => runConnect(api, [options], false, tally),
    ), { numRuns: 200 }));
  });

  it('connect: the net.Socket options net.connect also takes are validated as net does', async () => {
    const tally = tallyFor('connect, socket options');
    await withoutFdLeak(() => fc.assert(fc.asyncProperty(
      connectOptions(fc.constant([]), { junk: true }),
      async (options) => runConnect('connect', [options], true, tally),
    ), { numRuns: 200 }));
  });

  it('connect: positional forms, junk arguments and callbacks in odd places behave as in net', async () => {
    const tally = tallyFor('connect, positional');
    await withoutFdLeak(() => fc.assert(fc.asyncProperty(
      fc.constantFrom('connect', 'createConnection') as fc.Arbitrary<keyof typeof apis>,
      positionalConnect,
      async (api, args) => runConnect(api, args, true, tally),
    ), { numRuns: 200 }));
  });

  it('connect: valid options give the same events and errors as net (bounded), over MPTCP', async () => {
    const tally = tallyFor('connect, async outcome');
    await withoutFdLeak(() => fc.assert(fc.asyncProperty(
      fc.constantFrom('connect', 'createConnection') as fc.Arbitrary<keyof typeof apis>,
      connectOptions(fc.constant([])),
      fc.option(cbTag, { nil: undefined }),
      async (api, options, cb) => runConnect(api, cb ? [options, cb] : [options], true, tally),
    ), { numRuns: 400 }));
  });

  it('connect: local address and port options bind as in net, whatever the resolved family', async () => {
    const tally = tallyFor('connect, local binding');
    await withoutFdLeak(() => fc.assert(fc.asyncProperty(
      localBinding,
      async (options) => runConnect('connect', [options], true, tally),
    ), { numRuns: 300 }));
  });

  it('createServer: generated options and listeners are accepted or rejected as net does', async () => {
    const tally = tallyFor('createServer');
    const serverOption = {
      allowHalfOpen: fc.constantFrom<unknown>(undefined, true, false, 0, 'x', null),
      pauseOnConnect: fc.constantFrom<unknown>(undefined, true, false, 1, 'x'),
      noDelay: fc.constantFrom<unknown>(undefined, true, false, 1, 'x'),
      keepAlive: fc.constantFrom<unknown>(undefined, true, false, 1, 'x'),
      keepAliveInitialDelay: fc.constantFrom<unknown>(undefined, 0, 1000, 2500, -1, NaN, 'x', null, true, {}),
      highWaterMark: fc.constantFrom<unknown>(undefined, 0, 1024, -1, 1.5, NaN, 'x', null, {}),
      mptcp: mptcpMode,
      foo: junk,
    };
    const options = fc.oneof(
      fc.record(serverOption, { requiredKeys: [] }),
      fc.constantFrom<unknown>(undefined, null, 0, 1, 'x', '', true, false, [], 10n, Symbol.for('opts')),
      cbTag,
    );
    await withoutFdLeak(() => fc.assert(fc.asyncProperty(fc.array(fc.oneof(options, junk), { maxLength: 3 }), async (args) => {
      const fields = (s: net.Server): unknown => {
        const x = s as net.Server & Record<string, unknown>;
        return { allowHalfOpen: x.allowHalfOpen, pauseOnConnect: x.pauseOnConnect, noDelay: x.noDelay, keepAlive: x.keepAlive,
          keepAliveInitialDelay: x.keepAliveInitialDelay, highWaterMark: x.highWaterMark, listeners: s.listenerCount('connection') };
      };
      const n = attempt(() => (net.createServer as (...a: unknown[]) => net.Server)(...(materialize(args) as unknown[])));
      const l = attempt(() => (mptcp.createServer as (...a: unknown[]) => net.Server)(...(materialize(args) as unknown[])));
      const summary = (r: Sync<net.Server>): unknown => ('threw' in r ? r.threw : fields(r.value));
      expect(summary(l), `createServer(${shown(args)})`).toEqual(summary(n));
      tally.add('threw' in n ? `threw ${n.threw.code}` : 'created');
      if ('value' in l) expect(l.value).toBeInstanceOf(net.Server);
    }), { numRuns: 300 }));
  });

  for (const way of ['Server#listen', 'listen(server)'] as ListenWay[]) {
    it(`${way}: one wrong option throws what net throws, or listens / fails as net does`, async () => {
      const tally = tallyFor(`${way}, one bad option`);
      await withoutFdLeak(() => fc.assert(fc.asyncProperty(
        serverModes,
        listenOptions(fc.oneof(fc.constant([] as ListenKey[]), fc.constantFrom(...listenBadKeys).map((k) => [k]))),
        fc.option(cbTag, { nil: undefined }),
        async (srv, options, cb) => runListen(way, srv, cb ? [options, cb] : [options], tally),
      ), { numRuns: 150 }));
    });

    it(`${way}: several wrong options at once throw what net throws (validation order)`, async () => {
      const tally = tallyFor(`${way}, several bad options`);
      await withoutFdLeak(() => fc.assert(fc.asyncProperty(
        listenOptions(fc.subarray([...listenBadKeys], { minLength: 2 })),
        async (options) => runListen(way, undefined, [options], tally),
      ), { numRuns: 80 }));
    });

    it(`${way}: positional forms, junk arguments and callbacks in odd places behave as in net`, async () => {
      const tally = tallyFor(`${way}, positional`);
      await withoutFdLeak(() => fc.assert(fc.asyncProperty(
        serverModes,
        positionalListen,
        async (srv, args) => runListen(way, srv, args, tally),
      ), { numRuns: 150 }));
    });
  }

  it('listen() followed at once by close() ends closed, as in net', async () => {
    const tally = tallyFor('listen then close()');
    await withoutFdLeak(() => fc.assert(fc.asyncProperty(
      fc.constantFrom<ListenWay>('Server#listen', 'listen(server)'),
      fc.oneof(listenOptions(fc.constant([])).map((o) => [o]), positionalListen),
      async (way, args) => runListen(way, undefined, args, tally, true),
    ), { numRuns: 50 }));
  });

  it('listen(x, ...) with x not a net.Server throws ERR_INVALID_ARG_TYPE', () => {
    fc.assert(fc.property(fc.oneof(junk, fc.constantFrom<unknown>(new net.Socket(), { listen() {} }, net.Server)), positionalListen, (x, args) => {
      const r = attempt(() => (mptcp.listen as (s: unknown, ...a: unknown[]) => unknown)(materialize(x), ...(materialize(args) as unknown[])));
      expect('threw' in r && r.threw).toEqual({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    }), { numRuns: 100 });
  });

  // The minimal counterexamples the properties above found (shrunk by
  // fast-check, then checked by hand against net), one test each so that each
  // fails on its own until its fix lands. The call is run on net and on the
  // library with the same harness as the properties.
  describe('counterexamples found by the properties', () => {
    const open = { '@': 'port', kind: 'open', as: 'number' };
    const closed = { '@': 'port', kind: 'closed', as: 'number' };
    const zero = { '@': 'port', kind: 'zero', as: 'number' };
    const connects: [string, unknown[]][] = [
      // net ignores lookup for an IP literal and connects; the library throws ERR_INVALID_ARG_TYPE.
      ['lookup is not validated for an IP literal host', [{ port: open, host: '127.0.0.1', lookup: 5 }]],
      // net validates the socket's options (signal, timeout, keepAliveInitialDelay) first: ERR_INVALID_ARG_TYPE; the library: ERR_MISSING_ARGS.
      ['socket options are validated before the missing port', [{ signal: 'x' }]],
      // net: ERR_OUT_OF_RANGE (timeout, checked when the socket is made); the library: ERR_SOCKET_BAD_PORT.
      ['timeout is validated before the port', [{ port: -1, timeout: -1 }]],
      // net: ERR_INVALID_ARG_TYPE (signal); the library: ERR_INVALID_IP_ADDRESS.
      ['signal is validated before localAddress', [{ port: open, localAddress: 'nope', signal: 'x' }]],
      // net.connect passes its options to new net.Socket(), which rejects these; the library ignores them.
      ['a negative fd is rejected (net.Socket option)', [{ port: open, fd: -1 }]],
      ['objectMode is rejected (net.Socket option)', [{ port: open, objectMode: true }]],
      ['an invalid highWaterMark is rejected (net.Socket option)', [{ port: open, highWaterMark: 'x' }]],
      // net's ERR_INVALID_ADDRESS_FAMILY carries host and port; the library's has neither.
      ['ERR_INVALID_ADDRESS_FAMILY carries host and port', [{ port: closed, host: 'props.test', lookup: { '@': 'lookup', mode: 'badfamily' } }]],
      // The library passes localPort '' (or false) to the addon's bind, which throws from the lookup callback: an uncaught TypeError.
      ["localPort '' with a localAddress of the other family's attempt crashes the process", [{ port: open, host: 'props.test', family: 6, localAddress: '127.0.0.1', localPort: '', lookup: { '@': 'lookup', mode: 'v4' } }]],
      // The same with a lookup that answers synchronously: a TypeError (no code) thrown from connect(), where net connects.
      ['localPort false with a synchronous lookup throws an uncoded TypeError', [{ port: open, host: 'props.test', family: 6, localAddress: '127.0.0.1', localPort: false, lookup: { '@': 'lookup', mode: 'sync' } }]],
    ];
    for (const [name, args] of connects) {
      it(`connect: ${name}`, () => withoutFdLeak(() => runConnect('connect', args, true, tallyFor('counterexamples'))));
    }

    const listens: [string, unknown[], boolean][] = [
      // net: close() cancels the pending host lookup; the library listens after 'close' (and the server stays open).
      ['close() right after listen(port, host) leaves the server closed', [0, '127.0.0.1'], true],
      ['an aborted signal with a host leaves the server closed', [{ port: zero, host: '127.0.0.1', signal: { '@': 'signal', aborted: true } }], false],
      // net: ERR_INVALID_ARG_TYPE (signal first); the library: ERR_SOCKET_BAD_PORT.
      ['signal is validated before the port', [{ port: -1, signal: 'x' }], false],
      // net: ERR_INVALID_ARG_TYPE (signal); the library: ERR_INVALID_ARG_VALUE (no port).
      ['signal is validated before the missing port', [{ host: '127.0.0.1', signal: 'x' }], false],
      // net accepts an object with an aborted property as a signal (and closes); the library throws ERR_INVALID_ARG_TYPE.
      ['a signal-like object is accepted as net accepts it', [{ port: zero, signal: { aborted: true } }], false],
      // net converts the positional backlog first (a Symbol throws a TypeError); the library validates the port first.
      ['the positional backlog is converted before the port is validated', [-1, '127.0.0.1', Symbol.for('backlog')], false],
      // Without a host, Node 20 ignores ipv6Only and listens dual stack on '::'; Node 22+ and the library
      // make it IPv6-only (compared as such on Node 20: see node20IgnoresIpv6Only).
      ['ipv6Only: true without a host', [{ port: zero, ipv6Only: true }], false],
      // net sets IPV6_V6ONLY only for ipv6Only === true: dual stack here; the library makes an IPv6-only listener.
      ['ipv6Only: 1 is not ipv6Only: true', [{ port: zero, host: '::', ipv6Only: 1 }], false],
      // ... and so binds a v4-mapped address with IPV6_V6ONLY set: EINVAL, where net listens.
      ["ipv6Only: 'x' on a v4-mapped address", [{ port: zero, host: '::ffff:127.0.0.1', ipv6Only: 'x' }], false],
    ];
    for (const way of ['Server#listen', 'listen(server)'] as ListenWay[]) {
      for (const [name, args, closeAtOnce] of listens) {
        it(`${way}: ${name}`, () => withoutFdLeak(() => runListen(way, undefined, args, tallyFor('counterexamples'), closeAtOnce)));
      }
    }
  });
});
