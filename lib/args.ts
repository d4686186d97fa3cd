// The argument forms of connect() and listen(), normalized and validated as
// net does: normalizeArgs (`(port[, host][, cb])`, `(path[, cb])`,
// `(options[, cb])`, the callback being the last argument when it is a
// function), then each option in net's order, with net's error codes.
import * as net from 'node:net';
import { errInvalidArgType, errInvalidIpAddress, errOutOfRange } from './errors';
import { validateBoolean, validateFunction, validatePort } from './validators';

/** A listener passed positionally. */
export type Callback = (...args: unknown[]) => void;

/** net's toNumber: a non-negative number, or false. */
export function toNumber(x: unknown): number | false {
  const n = Number(x);
  return n >= 0 ? n : false;
}

/** net's normalizeArgs: the options object (a fresh one for the positional forms) and the callback. */
export function normalizeArgs(args: unknown[]): [Record<string, unknown>, Callback | null] {
  if (args.length === 0) return [{}, null];
  const arg0 = args[0];
  let options: Record<string, unknown> = {};
  if (arg0 !== null && typeof arg0 === 'object') {
    options = arg0 as Record<string, unknown>;
  } else if (typeof arg0 === 'string' && toNumber(arg0) === false) {
    options.path = arg0;
  } else {
    options.port = arg0;
    if (args.length > 1 && typeof args[1] === 'string') options.host = args[1];
  }
  const last = args[args.length - 1];
  return [options, typeof last === 'function' ? (last as Callback) : null];
}

// ------------------------------------------------------------ connect ----

/** Options that net.connect checks first, in its Socket constructor and setTimeout(). */
const kCheckedFirst = ['signal', 'timeout', 'keepAliveInitialDelay', 'objectMode', 'readableObjectMode', 'writableObjectMode',
  'highWaterMark', 'readableHighWaterMark', 'writableHighWaterMark', 'onread', 'readable', 'writable', 'allowHalfOpen'] as const;

/**
 * Validates what net.connect validates before anything else, with net's own
 * code, so the same mistakes throw the same errors in the same order: a
 * handle-less net.Socket is built from those options (and given the
 * timeout), then dropped. Only when one of them is present: the common call
 * pays nothing.
 */
export function checkSocketOptions(options: Record<string, unknown>): void {
  let probe: Record<string, unknown> | null = null;
  for (const key of kCheckedFirst) {
    if (options[key] !== undefined) (probe ??= {})[key] = options[key];
  }
  if (!probe) return;
  const timeout = probe.timeout;
  delete probe.timeout;
  const socket = new net.Socket(probe);
  socket.on('error', () => { /* an already aborted signal destroys the probe with an AbortError */ });
  try {
    if (timeout) socket.setTimeout(timeout as number);
  } finally {
    socket.destroy();
  }
}

/** A TCP connect's options once validated, in the shapes the library uses. */
export interface ConnectSpec {
  port: number;
  /** The host as given, 'localhost' when absent. */
  host: string;
  /** 4 or 6 when the host is an IP literal, else 0. */
  ipFamily: number;
  /** options.family as dns.lookup takes it (4, 6, or what was given). */
  family: unknown;
  hints: number;
  localAddress?: string;
  /** Set when truthy: net binds then, a falsy localPort ('' or false) as port 0. */
  localPort?: number;
  autoSelectFamily: boolean;
  attemptTimeout: number;
  lookup?: LookupFunction;
  noDelay: boolean;
  keepAlive: boolean;
  /** Seconds, as net keeps it. */
  keepAliveInitialDelay: number;
}

/** Node 22 and later reject a truthy non-string host first (Node 20 hands it to the lookup). */
const kNetChecksHost = Number(process.versions.node.split('.')[0]) >= 22;

/** A lookup function as net.connect takes it. */
export type LookupFunction = NonNullable<net.TcpSocketConnectOpts['lookup']>;

/**
 * The rest of net.connect's validation, in net's order (lookupAndConnect):
 * localAddress, localPort, port, autoSelectFamily and its attempt timeout,
 * and, for a host name only, lookup.
 */
export function connectSpec(options: Record<string, unknown>): ConnectSpec {
  if (kNetChecksHost && options.host && typeof options.host !== 'string') throw errInvalidArgType('options.host', ['string'], options.host);
  const localAddress = options.localAddress;
  const localPort = options.localPort;
  if (localAddress && !net.isIP(localAddress as string)) throw errInvalidIpAddress(localAddress);
  if (localPort && typeof localPort !== 'number') throw errInvalidArgType('options.localPort', ['number'], localPort);
  const port = options.port;
  if (port !== undefined) {
    if (typeof port !== 'number' && typeof port !== 'string') throw errInvalidArgType('options.port', ['number', 'string'], port);
    validatePort(port);
  }
  let autoSelectFamily = net.getDefaultAutoSelectFamily();
  if (options.autoSelectFamily != null) autoSelectFamily = validateBoolean(options.autoSelectFamily, 'options.autoSelectFamily');
  let attemptTimeout = net.getDefaultAutoSelectFamilyAttemptTimeout();
  const t = options.autoSelectFamilyAttemptTimeout;
  if (t != null) {
    if (typeof t !== 'number') throw errInvalidArgType('options.autoSelectFamilyAttemptTimeout', ['number'], t);
    if (!Number.isInteger(t)) throw errOutOfRange('options.autoSelectFamilyAttemptTimeout', 'an integer', t);
    if (t < 1 || t > 2147483647) throw errOutOfRange('options.autoSelectFamilyAttemptTimeout', '>= 1 && <= 2147483647', t);
    attemptTimeout = Math.max(t, 10);
  }
  const delay = options.keepAliveInitialDelay;
  if (delay !== undefined && typeof delay !== 'number') throw errInvalidArgType('options.keepAliveInitialDelay', ['number'], delay);
  const host = (options.host as string) || 'localhost';
  const ipFamily = net.isIP(host);
  // As net: the lookup function only matters (and is only checked) for a name.
  const lookup = options.lookup;
  if (!ipFamily && lookup != null) validateFunction(lookup, 'options.lookup');
  const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
  return {
    port: (port as number) | 0,
    host,
    ipFamily,
    family,
    hints: (options.hints as number) || 0,
    localAddress: localAddress ? (localAddress as string) : undefined,
    localPort: localPort ? (localPort as number) : undefined,
    autoSelectFamily,
    attemptTimeout,
    lookup: lookup == null ? undefined : (lookup as LookupFunction),
    noDelay: Boolean(options.noDelay),
    keepAlive: Boolean(options.keepAlive),
    keepAliveInitialDelay: ~~((delay ?? 0) / 1000),
  };
}
