// Generated argument lists for node:net's entry points and the library's,
// and the harness that runs one call on both and compares the outcomes
// (test/integration/properties.test.ts has the properties).
//
// Arguments are generated as plain descriptions (what a port, a callback, a
// lookup function or a signal is) and turned into fresh values for each side,
// so a counterexample prints readably and neither side sees the other's
// mutations. Traffic goes only to loopback: to a port this file listens on,
// to a port held bound but not listening (refused), or to port 0. Host names
// other than localhost only appear with a lookup function of the test's own
// (or an invalid one, which both sides reject before any lookup), so nothing
// reaches a DNS server; no IPC path is ever listened on.
import * as dns from 'node:dns';
import { EventEmitter, once } from 'node:events';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as util from 'node:util';
import { expect } from 'vitest';
import { fc, Tally } from './fc';
import { leakedSockets, mptcp, openFdTargets } from './net';

const require = createRequire(import.meta.url);
const { getBinding } = require('../../dist/binding.js') as typeof import('../../lib/binding');

/** How long a run may wait for an asynchronous outcome before calling it 'pending'. */
const BOUND_MS = 750;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------ fixtures ----

interface Ports {
  /** An MPTCP listener on '::' (dual stack). */
  open: number;
  /** Bound on '::' (dual stack) but not listening: connections are refused, nobody else can bind it. */
  closed: number;
  /** Free when the file started (listen targets only; never connected to). */
  free: number;
  /** A plain net listener on '::': listening on it is EADDRINUSE. */
  inuse: number;
}

let ports: Ports;
let openServer: net.Server;
let inuseServer: net.Server;
let closedFd = -1;
const accepted = new Set<net.Socket>();

async function listening(server: net.Server, ...args: unknown[]): Promise<number> {
  (server.listen as (...a: unknown[]) => void)(...args);
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  const port = await listening(s, 0, '::');
  await new Promise((r) => s.close(r));
  return port;
}

/** A port bound (dual stack, no SO_REUSEADDR) but not listening. */
async function holdClosedPort(): Promise<number> {
  const b = getBinding()!;
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    const fd = b.socket(6, b.constants.IPPROTO_TCP);
    b.setsockoptInt(fd, b.constants.IPPROTO_IPV6, b.constants.IPV6_V6ONLY, 0);
    if (b.bind(fd, 6, '::', port) === 0) {
      closedFd = fd;
      return port;
    }
    b.close(fd);
  }
  throw new Error('no port could be held closed');
}

/** Two turns of the event loop. */
async function tick(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise((r) => setImmediate(r));
}

async function settleHandles(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  await sleep(10);
}

// -------------------------------------------------------- descriptions ----

type Render = 'number' | 'string' | 'padded' | 'hex' | 'plus' | 'decimal' | 'exp' | 'negzero';
type PortKind = 'open' | 'closed' | 'zero' | 'free' | 'inuse';
type LookupMode = 'v4' | 'v6' | 'v4v6' | 'v6v4' | 'dup' | 'mapped' | 'error' | 'badip' | 'badfamily' | 'sync' | 'throws' | 'never';

/** A value to build afresh for each side; anything else is used as it is (plain objects and arrays are copied). */
type Tag =
  | { '@': 'port'; kind: PortKind; as: Render }
  | { '@': 'cb' }
  | { '@': 'lookup'; mode: LookupMode }
  | { '@': 'signal'; aborted: boolean };

const isTag = (d: unknown): d is Tag => d !== null && typeof d === 'object' && !Array.isArray(d) && '@' in (d as object);

function renderPort(p: number, as: Render): number | string {
  switch (as) {
    case 'number': return p;
    case 'string': return String(p);
    case 'padded': return ` ${p}\t`;
    case 'hex': return `0x${p.toString(16)}`;
    case 'plus': return `+${p}`;
    case 'decimal': return `${p}.000`;
    case 'exp': return `${p / 10}e1`;
    case 'negzero': return p === 0 ? -0 : p;
  }
}

function lookupFn(mode: LookupMode): (host: unknown, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => void {
  const answers: Record<string, [string, number][]> = {
    v4: [['127.0.0.1', 4]], v6: [['::1', 6]], v4v6: [['127.0.0.1', 4], ['::1', 6]], v6v4: [['::1', 6], ['127.0.0.1', 4]],
    dup: [['127.0.0.1', 4], ['127.0.0.1', 4]], mapped: [['::ffff:127.0.0.1', 6]], badip: [['not-an-ip', 4]], badfamily: [['127.0.0.1', 5]],
    sync: [['127.0.0.1', 4]],
  };
  return function testLookup(_host, opts, cb) {
    if (mode === 'never') return;
    if (mode === 'throws') throw Object.assign(new Error('lookup threw'), { code: 'ELOOKUPTHREW' });
    const reply = (): void => {
      if (mode === 'error') {
        cb(Object.assign(new Error('getaddrinfo ENOTFOUND props.test'), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname: 'props.test' }));
        return;
      }
      const a = answers[mode];
      if (opts && opts.all) cb(null, a.map(([address, family]) => ({ address, family })));
      else cb(null, a[0][0], a[0][1]);
    };
    if (mode === 'sync') reply();
    else setImmediate(reply);
  };
}

const noop = function callback(): void {};

/** Builds the real value of a description for one side. */
export function materialize(d: unknown): unknown {
  if (Array.isArray(d)) return d.map(materialize);
  if (isTag(d)) {
    switch (d['@']) {
      case 'port': return renderPort(d.kind === 'zero' ? 0 : ports[d.kind], d.as);
      case 'cb': return noop;
      case 'lookup': return lookupFn(d.mode);
      case 'signal': return d.aborted ? AbortSignal.abort() : new AbortController().signal;
    }
  }
  // A plain object (fast-check's records have a null prototype: kept as it is).
  const proto = d !== null && typeof d === 'object' ? Object.getPrototypeOf(d) : undefined;
  if (proto === Object.prototype || proto === null) {
    const out = Object.create(proto) as Record<string, unknown>;
    for (const [k, v] of Object.entries(d as object)) out[k] = materialize(v);
    return out;
  }
  return d;
}

/** net's toNumber: what decides whether a leading string is a port or an IPC path. */
const toNumber = (x: unknown): number | false => {
  const n = Number(x);
  return n >= 0 ? n : false;
};
const isPipeName = (s: unknown): boolean => typeof s === 'string' && toNumber(s) === false;

/** Whether net's validatePort rejects this value (so no socket is ever aimed at it). */
function badPort(v: unknown): boolean {
  if (typeof v !== 'number' && typeof v !== 'string') return true;
  if (typeof v === 'string' && v.trim().length === 0) return true;
  return +v !== (+v >>> 0) || +v > 0xffff;
}

// ---------------------------------------------------------- arbitraries ----

const renders: Render[] = ['number', 'string', 'padded', 'hex', 'plus', 'decimal', 'exp', 'negzero'];
const portTag = (kinds: PortKind[]): fc.Arbitrary<Tag> =>
  fc.record({ '@': fc.constant('port' as const), kind: fc.constantFrom(...kinds), as: fc.constantFrom(...renders) });

/** Values net's validatePort rejects: wrong types, negatives, fractions, NaN, huge, objects. */
const invalidPort: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(-1, 65536, 1.5, NaN, Infinity, -Infinity, 2 ** 32 + 80, 2 ** 53, '', ' ', '\t\n', 'x', '-1', '1.5', '65536', '0x10000',
    true, false, null, {}, [], [80], { valueOf: () => 80 }, 10n, Symbol.for('port')),
  fc.integer({ min: -(2 ** 31), max: -1 }),
  fc.integer({ min: 65536, max: 2 ** 40 }),
  fc.double({ noInteger: true }),
  fc.string({ maxLength: 6 }),
).filter(badPort);

/** Hosts that never need DNS: loopback literals, the unspecified addresses, localhost, and no host. */
const loopbackHost = fc.constantFrom<unknown>(undefined, '', '127.0.0.1', '::1', 'localhost', '0.0.0.0', '::', '::ffff:127.0.0.1');
/** Names resolved only by the test's lookup function. */
const lookedUpName = fc.constantFrom('props.test', 'a.b.invalid', '127.1', '[::1]', 'LOCALHOST.');
const badHostType = fc.constantFrom<unknown>(5, true, {}, [], 10n);

const lookupTag = (modes: LookupMode[]): fc.Arbitrary<Tag> => fc.record({ '@': fc.constant('lookup' as const), mode: fc.constantFrom(...modes) });
const okLookups: LookupMode[] = ['v4', 'v6', 'v4v6', 'v6v4', 'dup', 'mapped', 'sync'];
const allLookups: LookupMode[] = [...okLookups, 'error', 'badip', 'badfamily', 'throws', 'never'];
const signalTag = fc.record({ '@': fc.constant('signal' as const), aborted: fc.boolean() });
export const cbTag = fc.constant<Tag>({ '@': 'cb' });
/** Anything at all, for "extra junk" positions. */
export const junk = fc.oneof(
  fc.constantFrom<unknown>(undefined, null, 0, 1, -1, NaN, '', 'junk', true, false, {}, [], 10n, Symbol.for('junk')),
  cbTag,
  fc.double(),
  fc.string({ maxLength: 4 }),
);
/**
 * The `mptcp` option, valid values only: its validation is the library's own
 * (README: every entry point takes mptcp: true | false | 'require'), which
 * net, ignoring the key, cannot match.
 */
export const mptcpMode = fc.constantFrom<unknown>(undefined, true, false, 'require');

/** One arbitrary per documented connect option: values net accepts, and values it rejects. */
const connectOptionValues = {
  valid: {
    port: portTag(['open', 'closed', 'zero']),
    host: fc.oneof(loopbackHost, lookedUpName),
    localAddress: fc.constantFrom<unknown>(undefined, '', '127.0.0.1', '::1', '0.0.0.0', '::', '::ffff:127.0.0.1', '198.51.100.1', null),
    localPort: fc.constantFrom<unknown>(undefined, 0, null, false, '', NaN),
    family: fc.constantFrom<unknown>(undefined, 0, 4, 6, 'IPv4', 'IPv6', null),
    hints: fc.constantFrom<unknown>(undefined, 0, dns.ADDRCONFIG, dns.V4MAPPED, dns.ADDRCONFIG | dns.V4MAPPED, dns.ALL | dns.V4MAPPED),
    lookup: fc.oneof(fc.constantFrom<unknown>(undefined, null), lookupTag(allLookups)),
    timeout: fc.constantFrom<unknown>(undefined, 0, NaN, 1, 50, 60_000, 1.5, null, false),
    noDelay: fc.constantFrom<unknown>(undefined, true, false, 0, 1, 'x', null, {}),
    keepAlive: fc.constantFrom<unknown>(undefined, true, false, 0, 1, 'x', null, {}),
    keepAliveInitialDelay: fc.constantFrom<unknown>(undefined, 0, 1000, 1500.5, -5, -Infinity, Infinity, NaN),
    allowHalfOpen: fc.constantFrom<unknown>(undefined, true, false, 0, 1, 'x', null),
    signal: fc.oneof(fc.constantFrom<unknown>(undefined, null, 0, ''), signalTag),
    autoSelectFamily: fc.constantFrom<unknown>(undefined, null, true, false),
    // Not below 250 ms: a 10 ms attempt timer can beat a refusal on a busy machine, on one side only.
    autoSelectFamilyAttemptTimeout: fc.constantFrom<unknown>(undefined, null, 250, 2 ** 31 - 1),
    mptcp: mptcpMode,
  },
  invalid: {
    port: invalidPort,
    host: badHostType,
    localAddress: fc.constantFrom<unknown>('nope', '127.0.0', 5, true, {}, '::1%'),
    localPort: fc.constantFrom<unknown>('x', '80', true, {}, [], 10n, Symbol.for('lp')),
    family: fc.constantFrom<unknown>(5, -1, '4', 'ipv4', true, {}),
    hints: fc.constantFrom<unknown>(-1, 12345, 'x', true, {}),
    lookup: fc.constantFrom<unknown>(5, 'x', true, {}, []),
    timeout: fc.constantFrom<unknown>(-1, 'x', Infinity, -Infinity, true, {}, [], 10n),
    noDelay: fc.constant<unknown>(undefined),
    keepAlive: fc.constant<unknown>(undefined),
    keepAliveInitialDelay: fc.constantFrom<unknown>('x', '1000', null, true, {}, 10n),
    allowHalfOpen: fc.constant<unknown>(undefined),
    signal: fc.constantFrom<unknown>('x', 5, true, {}, [], { aborted: false }),
    autoSelectFamily: fc.constantFrom<unknown>('yes', 1, 0, '', {}),
    autoSelectFamilyAttemptTimeout: fc.constantFrom<unknown>(0, -1, 1.5, NaN, Infinity, 2 ** 31, 'x', true, {}),
    mptcp: mptcpMode,
  },
};
type ConnectKey = keyof typeof connectOptionValues.valid;
const connectKeys = Object.keys(connectOptionValues.valid) as ConnectKey[];

/** Options net.connect hands to the net.Socket constructor (README: the options are net.connect's). */
const socketJunk = fc.record({
  objectMode: fc.constantFrom<unknown>(true, 1, false),
  readableObjectMode: fc.constantFrom<unknown>(true, false),
  writableObjectMode: fc.constantFrom<unknown>(true, false),
  highWaterMark: fc.constantFrom<unknown>(16, 0, -1, 'x', NaN, 1.5),
  readableHighWaterMark: fc.constantFrom<unknown>(16, -1, 'x'),
  // Never a descriptor >= 0: net would wrap it.
  fd: fc.constantFrom<unknown>(-1, 'x', null, 1.5, -0.5),
  onread: fc.constantFrom<unknown>(null, 5, {}, { buffer: 5, callback: 5 }),
  // A falsy path is not an IPC path: net connects over TCP.
  path: fc.constantFrom<unknown>(undefined, null, '', 0, false),
  // The properties net's constructor sets on its copy of the options, whatever is given (lib/connect.ts presets them).
  emitClose: fc.constantFrom<unknown>(true, false),
  autoDestroy: fc.constantFrom<unknown>(true, false, 0),
  decodeStrings: fc.constantFrom<unknown>(true, false, 'x'),
  foo: junk,
}, { requiredKeys: [] });

/**
 * Fixes a generated connect option set so that it sends nothing off the
 * loopback: a host name gets the test's lookup unless its lookup is invalid
 * (rejected before any lookup), and a fixed local port is only ever used
 * towards the refused port (a connected one would leave TIME_WAIT behind and
 * make the second side's bind fail).
 */
function confine(o: Record<string, unknown>): Record<string, unknown> {
  // (A host that is not a string reaches dns.lookup, which rejects it before any query.)
  const name = typeof o.host === 'string' && o.host !== '' && o.host !== 'localhost' && net.isIP(o.host) === 0;
  if (name && (o.lookup === undefined || o.lookup === null)) o.lookup = { '@': 'lookup', mode: 'v4' };
  if (typeof o.localPort === 'number' && o.localPort && isTag(o.port) && o.port['@'] === 'port' && o.port.kind === 'open') {
    o.port = { ...o.port, kind: 'closed' };
  }
  return o;
}

/**
 * A connect options object whose every present key has a valid value,
 * except those in `bad`; with `portless`, now and then without a port.
 */
export function connectOptions(bad: fc.Arbitrary<ConnectKey[]>, opts: { junk?: boolean; portless?: boolean } = {}): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(bad, fc.record(connectOptionValues.valid, { requiredKeys: [] }), fc.record(connectOptionValues.invalid),
    opts.junk ? socketJunk : fc.constant({}), fc.nat(9)).map(([badKeys, valid, invalid, extra, dice]) => {
    const o: Record<string, unknown> = { ...valid, ...extra };
    for (const k of badKeys) o[k] = invalid[k];
    // net.connect constructs its socket before validating the other options;
    // an aborted signal destroys that socket with an AbortError, and when the
    // validation then throws, nobody can listen for that orphan's 'error' (it
    // is uncaught, in net as in the library). So an aborted signal only comes
    // with options that are otherwise valid, and not with a lookup function
    // that throws (which makes connect() throw just the same).
    if ((badKeys.length || Object.keys(extra).length) && isTag(o.signal)) o.signal = { '@': 'signal', aborted: false };
    if (isTag(o.signal) && o.signal['@'] === 'signal' && o.signal.aborted && isTag(o.lookup) && o.lookup['@'] === 'lookup' && o.lookup.mode === 'throws') {
      o.lookup = { '@': 'lookup', mode: 'v4' };
    }
    // Without a port, both throw ERR_MISSING_ARGS.
    if (!('port' in o) && (!opts.portless || dice > 0)) o.port = { '@': 'port', kind: dice > 3 ? 'open' : 'closed', as: 'number' };
    return confine(o);
  });
}

/**
 * Connect options that bind the local end: every valid localAddress and
 * (unset or zero) localPort, with hosts of both families, literal or looked
 * up by the test's function, and any family / autoSelectFamily.
 */
export const localBinding: fc.Arbitrary<Record<string, unknown>> = fc.record({
  port: portTag(['open', 'closed']),
  host: fc.oneof(loopbackHost, lookedUpName),
  lookup: lookupTag(okLookups),
  family: fc.constantFrom<unknown>(undefined, 0, 4, 6, 'IPv4', 'IPv6'),
  localAddress: fc.constantFrom<unknown>(undefined, '', '127.0.0.1', '::1', '0.0.0.0', '::', '::ffff:127.0.0.1'),
  localPort: fc.constantFrom<unknown>(undefined, 0, null, false, '', NaN),
  autoSelectFamily: fc.constantFrom<unknown>(undefined, true, false),
}, { requiredKeys: ['port', 'localAddress'] }).map(confine);

export const oneBadKey = fc.constantFrom(...connectKeys.filter((k) => !['noDelay', 'keepAlive', 'allowHalfOpen', 'mptcp'].includes(k))).map((k) => [k]);
export const severalBadKeys = fc.subarray(connectKeys.filter((k) => !['noDelay', 'keepAlive', 'allowHalfOpen', 'mptcp'].includes(k)), { minLength: 2, maxLength: 4 });

/** The positional forms: (port[, host][, ...junk][, cb]), callbacks and junk in odd places. */
export const positionalConnect: fc.Arbitrary<unknown[]> = fc.tuple(
  fc.oneof(portTag(['open', 'closed', 'zero']), invalidPort, cbTag, fc.constant(undefined)),
  fc.option(fc.oneof(loopbackHost, badHostType, cbTag, fc.constant(null)), { nil: undefined }),
  fc.array(junk.filter((j) => typeof j !== 'string'), { maxLength: 2 }),
  fc.option(cbTag, { nil: undefined }),
  fc.nat(3),
).map(([port, host, extra, cb, shape]) => {
  const args: unknown[] = [port];
  if (shape >= 1) args.push(host);
  if (shape >= 2) args.push(...extra);
  if (cb !== undefined && shape !== 3) args.push(cb);
  return args;
}).filter((args) => !isPipeName(args[0])); // an IPC path: handed to net unchanged (README)

// ------------------------------------------------------------ outcomes ----

interface ErrorShape { name: string; code: unknown }
export type Sync<T> = { threw: ErrorShape; message: string } | { value: T };

export function attempt<T>(fn: () => T): Sync<T> {
  try {
    return { value: fn() };
  } catch (e) {
    const err = e as Error & { code?: unknown };
    const name = err?.constructor?.name ?? typeof err;
    return { threw: { name, code: err?.code }, message: String(err?.message) };
  }
}

export const shown = (args: unknown): string => util.inspect(args, { depth: 4, breakLength: Infinity });

/** Differences in error messages (the property compares class and code; these are reported, not failed). */
const messageDiffs = new Map<string, string>();

/** Records a message difference once per shape (numbers and quoted values masked). */
function noteMessages(call: string, netMessage: string, libMessage: string): void {
  if (netMessage === libMessage) return;
  const mask = (m: string): string => m.replace(/\d+/g, 'N').replace(/\(.*\)/g, '(...)');
  const key = `${mask(netMessage)} | ${mask(libMessage)}`;
  if (!messageDiffs.has(key)) messageDiffs.set(key, `${call}: net "${netMessage}", library "${libMessage}"`);
}

interface AsyncOutcome {
  /** 'lookup', 'connect', 'listening', 'error', 'close', 'pending' (nothing within the bound), in order. */
  events: string[];
  error?: { name: string; code: unknown; syscall?: unknown; address?: unknown; port?: unknown };
}

function errorShape(err: unknown): AsyncOutcome['error'] {
  const e = err as Error & { code?: unknown; syscall?: unknown; address?: unknown; port?: unknown };
  return { name: e?.constructor?.name, code: e?.code, syscall: e?.syscall, address: e?.address, port: e?.port };
}

/** Waits for 'close' (bounded): a socket or server that never closes is a hang. */
async function closeWithin(emitter: net.Socket | net.Server, what: string): Promise<void> {
  const s = emitter as net.Socket & { closed?: boolean };
  if (s instanceof net.Socket) {
    if (s.closed) return;
    const closed = once(s, 'close');
    s.destroy();
    await Promise.race([closed, sleep(3000).then(() => { throw new Error(`${what}: no 'close' within 3 s of destroy()`); })]);
    return;
  }
  const srv = emitter as net.Server;
  if (!srv.listening) return;
  await Promise.race([new Promise((r) => srv.close(r)), sleep(3000).then(() => { throw new Error(`${what}: server did not close within 3 s`); })]);
}

/** The events of a connecting socket until it connects, fails or closes (bounded). */
function connectOutcome(socket: net.Socket, bound = BOUND_MS): Promise<AsyncOutcome & { mptcp?: boolean }> {
  return new Promise((resolve) => {
    const out: AsyncOutcome & { mptcp?: boolean } = { events: [] };
    let finished = false;
    const onCrash = (): void => { out.events.push('crash'); finish(); };
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      crashEvents.removeListener('crash', onCrash);
      resolve(out);
    };
    const timer = setTimeout(() => { out.events.push('pending'); finish(); }, bound);
    crashEvents.once('crash', onCrash);
    socket.on('error', (err) => {
      if (finished) return;
      out.events.push('error');
      out.error ??= errorShape(err);
    });
    for (const e of ['lookup', 'connect', 'close']) {
      socket.on(e, () => {
        if (finished) return;
        out.events.push(e);
        if (e === 'connect') {
          out.mptcp = mptcp.isMptcp(socket);
          finish();
        }
        if (e === 'close') finish();
      });
    }
  });
}

type ConnectFn = (...a: unknown[]) => net.Socket;
export const apis: Record<'connect' | 'createConnection', { net: ConnectFn; lib: ConnectFn }> = {
  connect: { net: net.connect as ConnectFn, lib: mptcp.connect as ConnectFn },
  createConnection: { net: net.createConnection as ConnectFn, lib: mptcp.createConnection as ConnectFn },
};

/** The mptcp mode a connect call asked for. */
function modeOf(args: unknown[]): unknown {
  const a0 = args[0];
  return a0 !== null && typeof a0 === 'object' && !isTag(a0) ? (a0 as { mptcp?: unknown }).mptcp : undefined;
}

/**
 * Runs one connect call on net, then on the library. Returns both outcomes;
 * with `wait`, the asynchronous ones too (else the sockets are destroyed at once).
 */
export async function runConnect(api: keyof typeof apis, args: unknown[], wait: boolean, tally: Tally): Promise<void> {
  const outcomes: { sync: Sync<net.Socket>; async?: AsyncOutcome & { mptcp?: boolean } }[] = [];
  for (const side of ['net', 'lib'] as const) {
    const sync = attempt(() => apis[api][side](...(materialize(args) as unknown[])));
    let async: (AsyncOutcome & { mptcp?: boolean }) | undefined;
    if ('value' in sync) {
      const socket = sync.value;
      // A lookup that never answers leaves nothing to wait for: a short bound will do.
      if (wait) async = await connectOutcome(socket, hasTag(args, (t) => t['@'] === 'lookup' && t.mode === 'never') ? 50 : BOUND_MS);
      else socket.on('error', () => {});
      await closeWithin(socket, `${side} ${api}(${shown(args)})`);
    }
    await tick();
    expect(takeCrashes(), `${side} ${api}(${shown(args)}) crashed the process${side === 'net' ? ' (net itself: such a case should not be generated)' : ''}`).toEqual([]);
    outcomes.push({ sync, async });
  }
  const [n, l] = outcomes;
  const nThrew = 'threw' in n.sync ? n.sync.threw : null;
  const lThrew = 'threw' in l.sync ? l.sync.threw : null;
  expect(lThrew, `${api}(${shown(args)}): net ${nThrew ? `threw ${shown(nThrew)}` : 'did not throw'}`).toEqual(nThrew);
  if (nThrew) {
    tally.add(`threw ${nThrew.code ?? nThrew.name}`);
    noteMessages(`${api}(${shown(args)})`, (n.sync as { message: string }).message, (l.sync as { message: string }).message);
    return;
  }
  if (!wait) {
    tally.add('no throw');
    return;
  }
  const { mptcp: netMptcp, ...netOutcome } = n.async!;
  const { mptcp: libMptcp, ...libOutcome } = l.async!;
  void netMptcp;
  expect(libOutcome, `${api}(${shown(args)})`).toEqual(netOutcome);
  tally.add(netOutcome.error ? `error ${String(netOutcome.error.code)}` : netOutcome.events[netOutcome.events.length - 1]);
  // No silent downgrade (README): a connection the library made is MPTCP
  // unless mptcp: false (the listener is an MPTCP one).
  if (libOutcome.events.includes('connect')) {
    expect(libMptcp, `${api}(${shown(args)}) connected over plain TCP`).toBe(modeOf(args) !== false);
  }
}

// --------------------------------------------------------------- listen ----

export type ListenWay = 'Server#listen' | 'listen(server)';

/** Listen options: each documented one, valid or not. handle, fd >= 0 and path are handed to net unchanged (README) and not generated. */
const listenOptionValues = {
  valid: {
    port: fc.oneof(portTag(['zero', 'free', 'inuse']), fc.constantFrom<unknown>(undefined, null)),
    host: fc.constantFrom<unknown>(undefined, '', '127.0.0.1', '::1', 'localhost', '0.0.0.0', '::', '::ffff:127.0.0.1', '198.51.100.1'),
    backlog: fc.constantFrom<unknown>(undefined, 0, 1, 511, -1, 2 ** 31, 1.5, NaN, 'x', '5', null, {}),
    ipv6Only: fc.constantFrom<unknown>(undefined, true, false, 1, 'x', null),
    reusePort: fc.constantFrom<unknown>(undefined, true, false, 0, 'x'),
    exclusive: fc.constantFrom<unknown>(undefined, true, false, 'x'),
    signal: fc.oneof(fc.constantFrom<unknown>(undefined), signalTag),
    readableAll: fc.constantFrom<unknown>(undefined, true, 'x'),
    writableAll: fc.constantFrom<unknown>(undefined, true, 'x'),
    // Never a descriptor >= 0: net would listen on it.
    fd: fc.constantFrom<unknown>(undefined, -1, 'x', null, NaN, -0.5),
    mptcp: mptcpMode,
  },
  invalid: {
    port: invalidPort,
    host: badHostType,
    backlog: fc.constant<unknown>(undefined),
    ipv6Only: fc.constant<unknown>(undefined),
    reusePort: fc.constant<unknown>(undefined),
    exclusive: fc.constant<unknown>(undefined),
    signal: fc.constantFrom<unknown>('x', 5, true, {}, null, [], { aborted: true }),
    readableAll: fc.constant<unknown>(undefined),
    writableAll: fc.constant<unknown>(undefined),
    fd: fc.constant<unknown>(undefined),
    mptcp: mptcpMode,
  },
};
export type ListenKey = keyof typeof listenOptionValues.valid;
export const listenBadKeys = ['port', 'host', 'signal'] as const;

export function listenOptions(bad: fc.Arbitrary<ListenKey[]>): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(bad, fc.record(listenOptionValues.valid, { requiredKeys: [] }), fc.record(listenOptionValues.invalid), fc.boolean()).map(
    ([badKeys, valid, invalid, keepPortless]) => {
      const o: Record<string, unknown> = { ...valid };
      for (const k of badKeys) o[k] = invalid[k];
      // Without port (or path), net throws ERR_INVALID_ARG_VALUE: keep a few such, give the rest a port.
      if (!('port' in o) && !keepPortless) o.port = { '@': 'port', kind: 'zero', as: 'number' };
      return o;
    },
  );
}

/** (port[, host][, backlog][, cb]) and friends; a leading non-numeric string would be an IPC path (README: given to net) and is not generated. */
export const positionalListen: fc.Arbitrary<unknown[]> = fc.tuple(
  fc.oneof(portTag(['zero', 'free', 'inuse']), invalidPort, cbTag, fc.constantFrom<unknown>(undefined, null)),
  fc.oneof(listenOptionValues.valid.host, badHostType, cbTag),
  fc.oneof(listenOptionValues.valid.backlog, cbTag, fc.constantFrom<unknown>(Symbol.for('backlog'), 10n)),
  fc.array(junk, { maxLength: 2 }),
  fc.option(cbTag, { nil: undefined }),
  fc.nat(4),
).map(([port, host, backlog, extra, cb, shape]) => {
  const args: unknown[] = shape === 0 ? [] : [port];
  if (shape >= 2) args.push(host);
  if (shape >= 3) args.push(backlog);
  if (shape >= 4) args.push(...extra);
  if (cb !== undefined) args.push(cb);
  return args;
}).filter((args) => !isPipeName(args[0]));

export const serverModes = fc.constantFrom<unknown>(undefined, { mptcp: true }, { mptcp: false }, { mptcp: 'require' }, {});

/** The events of a listening server until 'listening', 'error' or 'close' (bounded). */
function listenOutcome(server: net.Server, settleMs = 5): Promise<AsyncOutcome> {
  return new Promise((resolve) => {
    const out: AsyncOutcome = { events: [] };
    let finished = false;
    let sealed = false;
    const onCrash = (): void => { out.events.push('crash'); finish(); };
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      crashEvents.removeListener('crash', onCrash);
      // Let a 'close' queued right behind (an aborted signal) be seen.
      setTimeout(() => { sealed = true; resolve(out); }, settleMs);
    };
    const timer = setTimeout(() => { out.events.push('pending'); finish(); }, BOUND_MS);
    crashEvents.once('crash', onCrash);
    server.on('error', (err) => {
      if (sealed) return;
      out.events.push('error');
      out.error ??= errorShape(err);
      finish();
    });
    server.on('listening', () => { if (!sealed) out.events.push('listening'); finish(); });
    server.on('close', () => { if (!sealed) out.events.push('close'); finish(); });
  });
}

/** The address a server listens on, without the ephemeral port. */
function bound(server: net.Server, fixedPort: boolean): unknown {
  const a = server.address() as net.AddressInfo | null;
  return a && { address: a.address, family: a.family, ...(fixedPort ? { port: a.port } : {}) };
}

function node20IgnoresIpv6Only(args: unknown): boolean {
  const a0 = real0(args) as { ipv6Only?: unknown; host?: unknown } | undefined;
  return process.versions.node.startsWith('20.') && !!a0 && a0.ipv6Only === true && !a0.host;
}

/** For a server on '::': whether an IPv4 client reaches it (dual stack) or not (ipv6Only). */
async function dualStack(server: net.Server): Promise<unknown> {
  const a = server.address() as net.AddressInfo;
  if (a.address !== '::') return undefined;
  const c = net.connect({ port: a.port, host: '127.0.0.1' });
  c.on('error', () => {});
  const o = await connectOutcome(c);
  await closeWithin(c, 'dual-stack probe');
  return o.error ? o.error.code : o.events[o.events.length - 1];
}

/** Whether an MPTCP client connecting to this server gets MPTCP (i.e. the listener is an MPTCP socket). */
async function servesMptcp(server: net.Server): Promise<boolean> {
  const a = server.address() as net.AddressInfo;
  const host = a.family === 'IPv6' ? (a.address === '::' ? '::1' : a.address) : (a.address === '0.0.0.0' ? '127.0.0.1' : a.address);
  const c = mptcp.connect({ port: a.port, host });
  c.on('error', () => {});
  const o = await connectOutcome(c);
  await closeWithin(c, 'probe');
  return o.mptcp === true;
}

/**
 * Runs one listen call on a net server, then on the library's (or through
 * listen(server)), and compares. With `closeAtOnce`, server.close() follows
 * the call immediately: the server must end up closed, as net's does.
 */
export async function runListen(way: ListenWay, serverOpts: unknown, args: unknown[], tally: Tally, closeAtOnce = false): Promise<void> {
  const results: { sync: Sync<unknown>; async?: AsyncOutcome; address?: unknown; v4?: unknown; again?: Sync<unknown>; mptcp?: boolean; listening?: boolean }[] = [];
  const fixed = hasFixedPort(args);
  for (const side of ['net', 'lib'] as const) {
    const server = side === 'net' ? net.createServer(materialize(serverOpts) as net.ServerOpts)
      : way === 'Server#listen' ? mptcp.createServer(materialize(serverOpts) as never) : net.createServer(materialize(serverOpts) as net.ServerOpts);
    server.on('connection', (s) => { s.on('error', () => {}); s.destroy(); });
    const real = materialize(args) as unknown[];
    const sync = side === 'lib' && way === 'listen(server)'
      ? attempt(() => (mptcp.listen as (s: net.Server, ...a: unknown[]) => net.Server)(server, ...real))
      : attempt(() => (server.listen as (...a: unknown[]) => net.Server)(...real));
    const r: (typeof results)[number] = { sync };
    if ('threw' in sync) await tick(); // what a throwing listen started (net registers the signal first) is not compared
    else if (closeAtOnce) {
      server.close();
      // A host is looked up first: wait past the lookup for a late 'listening'.
      r.async = await listenOutcome(server, 30);
      r.listening = server.listening;
    } else r.async = await listenOutcome(server);
    if (server.listening && !closeAtOnce) {
      r.address = bound(server, fixed);
      r.v4 = await dualStack(server);
      // Listening twice throws the same.
      r.again = attempt(() => (side === 'lib' && way === 'listen(server)'
        ? (mptcp.listen as (s: net.Server, ...a: unknown[]) => net.Server)(server, ...(materialize(args) as unknown[]))
        : (server.listen as (...a: unknown[]) => net.Server)(...(materialize(args) as unknown[]))));
      if (side === 'lib') r.mptcp = await servesMptcp(server);
    }
    server.removeAllListeners('error');
    server.on('error', () => {});
    await closeWithin(server, `${side} ${way}(${shown(args)})`);
    expect(takeCrashes(), `${side} ${way}(${shown(args)}) crashed the process${side === 'net' ? ' (net itself: such a case should not be generated)' : ''}`).toEqual([]);
    results.push(r);
  }
  const [n, l] = results;
  const nThrew = 'threw' in n.sync ? n.sync.threw : null;
  const lThrew = 'threw' in l.sync ? l.sync.threw : null;
  const call = `${way === 'Server#listen' ? `createServer(${shown(serverOpts)}).listen` : 'listen(net.createServer(), ...)'}(${shown(args)})`;
  expect(lThrew, `${call}: net ${nThrew ? `threw ${shown(nThrew)}` : 'did not throw'}`).toEqual(nThrew);
  if (nThrew) {
    tally.add(`threw ${nThrew.code ?? nThrew.name}`);
    noteMessages(call, (n.sync as { message: string }).message, (l.sync as { message: string }).message);
    return;
  }
  if (closeAtOnce) {
    expect({ ...l.async, listening: l.listening }, `${call}, then close()`).toEqual({ ...n.async, listening: n.listening });
    tally.add(`${n.async!.events.join('+')}${n.listening ? ' (listening)' : ''}`);
    return;
  }
  const shape = (r: (typeof results)[number]): unknown => ({ ...r.async, address: r.address, ipv4Client: r.v4, again: r.again && ('threw' in r.again ? r.again.threw : 'no throw') });
  // Node 20 ignores ipv6Only when no host is given and listens dual stack;
  // Node 22 and later honour it, as the library does on every version (README).
  if (node20IgnoresIpv6Only(args) && n.v4 !== undefined) n.v4 = 'ECONNREFUSED';
  expect(shape(l), call).toEqual(shape(n));
  tally.add(n.async!.error ? `error ${String(n.async!.error.code)}` : n.async!.events.join('+'));
  if (l.mptcp !== undefined) {
    const a0 = real0(args);
    const listenMode = a0 && 'mptcp' in a0 ? a0.mptcp : undefined;
    const srvMode = way === 'Server#listen' && serverOpts && typeof serverOpts === 'object' ? (serverOpts as { mptcp?: unknown }).mptcp : undefined;
    const mode = listenMode ?? srvMode ?? true;
    expect(l.mptcp, `${call}: listener over ${l.mptcp ? 'MPTCP' : 'plain TCP'}`).toBe(mode !== false);
  }
}

/** Whether a description holds a tag for which `test` holds. */
function hasTag(d: unknown, test: (t: Tag) => boolean): boolean {
  if (Array.isArray(d)) return d.some((x) => hasTag(x, test));
  if (isTag(d)) return test(d);
  if (d !== null && typeof d === 'object') return Object.values(d).some((x) => hasTag(x, test));
  return false;
}

/** Whether a listen call asks for a fixed port (whose number is then compared too). */
const hasFixedPort = (args: unknown[]): boolean => hasTag(args, (t) => t['@'] === 'port' && t.kind !== 'zero');

function real0(args: unknown[]): Record<string, unknown> | null {
  const a0 = args[0];
  return a0 !== null && typeof a0 === 'object' && !isTag(a0) && !Array.isArray(a0) ? (a0 as Record<string, unknown>) : null;
}

// --------------------------------------------------------------- crashes ----

/** Uncaught exceptions and unhandled rejections seen while a property runs. */
const crashes: string[] = [];
/** Emits 'crash' for each: a run waiting for an outcome stops waiting. */
const crashEvents = new EventEmitter();

/** Takes the crashes recorded since the last call. */
function takeCrashes(): string[] {
  return crashes.splice(0);
}

/**
 * While `run` runs, an uncaught exception or unhandled rejection is recorded
 * (and the run that caused it fails, with its arguments) instead of going to
 * the test runner's own handlers, which are put back afterwards.
 */
async function trappingCrashes(run: () => Promise<void>): Promise<void> {
  const events = ['uncaughtException', 'unhandledRejection'] as const;
  type Listener = (...a: unknown[]) => void;
  const saved = events.map((e) => process.listeners(e as 'uncaughtException') as Listener[]);
  const trap = (err: unknown): void => {
    const e = err as Error;
    crashes.push(`${e?.constructor?.name}: ${e?.message}${e?.stack ? ` (${e.stack.split('\n').slice(1, 3).map((l) => l.trim()).join(' ')})` : ''}`);
    crashEvents.emit('crash');
  };
  for (const e of events) {
    process.removeAllListeners(e);
    process.on(e, trap);
  }
  try {
    await run();
  } finally {
    events.forEach((e, i) => {
      process.removeListener(e, trap);
      for (const l of saved[i]) process.on(e as 'uncaughtException', l);
    });
  }
}

// ----------------------------------------------------------- properties ----

const tallies = new Map<string, Tally>();
export function tallyFor(name: string): Tally {
  let t = tallies.get(name);
  if (!t) tallies.set(name, (t = new Tally()));
  return t;
}

/** Runs a property with an fd count around it, trapping crashes (see trappingCrashes). */
export async function withoutFdLeak(run: () => Promise<void>): Promise<void> {
  await settleHandles();
  const before = openFdTargets();
  let failure: unknown = null;
  try {
    await trappingCrashes(run);
  } catch (err) {
    failure = err;
  }
  for (const s of accepted) s.destroy();
  await settleHandles();
  const leaked = leakedSockets(before);
  if (failure) {
    if (leaked.length && failure instanceof Error) failure.message += `\n(and sockets were left open, everything closed: ${leaked.join(', ')})`;
    throw failure;
  }
  expect(leaked, 'sockets left open after the property, everything closed').toEqual([]);
}

/** Opens the listeners and the held port the properties aim at. */
export async function setUp(): Promise<void> {
  openServer = mptcp.createServer((s) => {
    accepted.add(s);
    s.on('error', () => {});
    s.on('close', () => accepted.delete(s));
    s.resume();
    s.on('end', () => s.end());
  });
  const open = await listening(openServer, 0, '::');
  inuseServer = net.createServer();
  const inuse = await listening(inuseServer, 0, '::');
  const closed = await holdClosedPort();
  ports = { open, closed, free: await freePort(), inuse };
  // Warm up both sides once (lazy handles, the addon, the dns thread pool).
  for (const f of [net.connect, mptcp.connect]) {
    const s = f(open, '127.0.0.1');
    await once(s, 'connect');
    await closeWithin(s, 'warm-up');
  }
}

export async function tearDown(): Promise<void> {
  for (const s of accepted) s.destroy();
  await new Promise((r) => openServer?.close(r));
  await new Promise((r) => inuseServer?.close(r));
  if (closedFd >= 0) getBinding()!.close(closedFd);
  closedFd = -1;
  for (const [name, t] of tallies) console.log(`[properties] ${name}: ${t}`);
  if (messageDiffs.size) console.log(`[properties] error messages that differ from net's (not failed; ${messageDiffs.size}):\n  ${[...messageDiffs.values()].slice(0, 40).join('\n  ')}`);
}
