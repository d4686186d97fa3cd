// Node-shaped errors. Programmer errors carry the same `ERR_*` codes and
// classes as `net`'s; system errors carry `code`, `errno` (negative, as in
// Node), `syscall`, `address` and `port`, with net's message shapes
// ("connect ECONNREFUSED 127.0.0.1:80", "listen EADDRINUSE: address already
// in use :::8080").
import * as util from 'node:util';

/** A netlink message the kernel sent that does not parse (code ERR_MPTCP_NETLINK_MALFORMED). */
export class NetlinkParseError extends Error {
  readonly code = 'ERR_MPTCP_NETLINK_MALFORMED';
  constructor(message: string) {
    super(`malformed netlink message: ${message}`);
    this.name = 'NetlinkParseError';
  }
}

/**
 * A kernel error from a path-manager request (generic netlink), shaped like
 * Node's system errors: `code` (`'EEXIST'`), `errno` (negative, as in Node),
 * `syscall` (`'mptcp_pm add_addr'`), and the kernel's own extended-ack text
 * in `kernelMessage` when it sent one.
 */
export class NetlinkError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  /** The kernel's extended-ack message, when it sent one. */
  readonly kernelMessage?: string;

  /** `errno` is the positive errno; `message` explains a failure the kernel did not describe. */
  constructor(errno: number, syscall: string, detail: { kernelMessage?: string; message?: string; hint?: string } = {}) {
    const [code, text] = util.getSystemErrorMap().get(-errno) ?? ['UNKNOWN', 'unknown error'];
    let message = `${syscall} ${code}: ${detail.kernelMessage ?? detail.message ?? text}`;
    if (detail.hint) message += ` (${detail.hint})`;
    super(message);
    this.name = 'NetlinkError';
    this.code = code;
    this.errno = -errno;
    this.syscall = syscall;
    if (detail.kernelMessage) this.kernelMessage = detail.kernelMessage;
  }
}

/** An error with an errno's `code` and (negative) `errno`, and a message of its own. `errno` is positive. */
export function errnoError(errno: number, message: string): Error & { code: string; errno: number } {
  const err = new Error(message) as Error & { code: string; errno: number };
  err.code = systemName(errno);
  err.errno = -errno;
  return err;
}

/** A {@link NetlinkError}; `errno` is positive. */
export function netlinkError(errno: number, syscall: string, detail?: { kernelMessage?: string; message?: string; hint?: string }): NetlinkError {
  return new NetlinkError(errno, syscall, detail);
}

/** An error with Node's `code` property. */
export interface CodedError extends Error {
  code: string;
}

/** A system error as `net` reports it. */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
  localAddress?: string;
  localPort?: number;
}

type ErrorClass = new (message: string) => Error;

function coded<E extends ErrorClass>(Base: E, code: string, message: string): CodedError {
  const err = new Base(message) as CodedError;
  err.code = code;
  if (err.stack) err.stack = err.stack.replace(/^(\w*Error)/, `$1 [${code}]`);
  return err;
}

/** Mirrors Node's description of a received value in ERR_* messages. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return ` Received ${value}`;
  if (typeof value === 'function') return ` Received function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = value.constructor?.name;
    return name ? ` Received an instance of ${name}` : ` Received ${util.inspect(value, { depth: -1 })}`;
  }
  let shown = util.inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return ` Received type ${typeof value} (${shown})`;
}

export function errInvalidArgType(name: string, expected: string[], actual: unknown): CodedError {
  const kind = name.includes('.') ? 'property' : 'argument';
  // Node's wording: primitives and 'Object' are "of type x", classes "an instance of X".
  const types = expected.filter((t) => t === 'Object' || t === t.toLowerCase()).map((t) => t.toLowerCase());
  const classes = expected.filter((t) => t !== 'Object' && t !== t.toLowerCase());
  const parts: string[] = [];
  if (types.length) parts.push(types.length === 1 ? `of type ${types[0]}` : `one of type ${types.slice(0, -1).join(', ')} or ${types[types.length - 1]}`);
  if (classes.length) parts.push(classes.length === 1 ? `an instance of ${classes[0]}` : `an instance of ${classes.slice(0, -1).join(', ')} or ${classes[classes.length - 1]}`);
  const list = parts.join(' or ');
  return coded(TypeError, 'ERR_INVALID_ARG_TYPE', `The "${name}" ${kind} must be ${list}.${describe(actual)}`);
}

export function errInvalidArgValue(name: string, value: unknown, reason = 'is invalid'): CodedError {
  const kind = name.includes('.') ? 'property' : 'argument';
  let shown = util.inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  return coded(TypeError, 'ERR_INVALID_ARG_VALUE', `The ${kind} '${name}' ${reason}. Received ${shown}`);
}

export function errOutOfRange(name: string, range: string, value: unknown): CodedError {
  return coded(RangeError, 'ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be ${range}. Received ${util.inspect(value)}`);
}

export function errSocketBadPort(name: string, port: unknown, allowZero = true): CodedError {
  const op = allowZero ? '>=' : '>';
  const received = describe(port).slice(1);
  return coded(RangeError, 'ERR_SOCKET_BAD_PORT', `${name} should be ${op} 0 and < 65536. ${received}.`);
}

export function errInvalidIpAddress(address: unknown): CodedError {
  return coded(TypeError, 'ERR_INVALID_IP_ADDRESS', `Invalid IP address: ${String(address)}`);
}

export function errInvalidAddressFamily(family: unknown, host: unknown, port: unknown): CodedError & { host: unknown; port: unknown } {
  const err = coded(RangeError, 'ERR_INVALID_ADDRESS_FAMILY', `Invalid address family: ${String(family)} ${String(host)}:${String(port)}`) as CodedError & { host: unknown; port: unknown };
  err.host = host; // as net's error carries them
  err.port = port;
  return err;
}

export function errMissingArgs(...names: string[]): CodedError {
  const quoted = names.map((n) => `"${n}"`);
  const list = quoted.length > 2 ? `${quoted.slice(0, -1).join(' or ')} or ${quoted[quoted.length - 1]}` : quoted.join(' or ');
  return coded(TypeError, 'ERR_MISSING_ARGS', `The ${list} argument must be specified`);
}

export function errServerAlreadyListen(): CodedError {
  return coded(Error, 'ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
}

/** A connect to an address the socket's `blockList` (net.BlockList, Node 22+) blocks. */
export function errIpBlocked(address: string): CodedError {
  return coded(Error, 'ERR_IP_BLOCKED', `IP(${address}) is blocked by net.BlockList`);
}

export function errSocketConnectionTimeout(): CodedError {
  return coded(Error, 'ERR_SOCKET_CONNECTION_TIMEOUT', 'Socket connection timeout');
}

function systemName(errno: number): string {
  try {
    return util.getSystemErrorName(-errno);
  } catch {
    return `Unknown system error ${-errno}`;
  }
}

function hostPort(address: string | undefined, port: number | undefined): string {
  if (port && port > 0) return ` ${address}:${port}`;
  if (address) return ` ${address}`;
  return '';
}

function decorate(err: Error, errno: number, code: string, syscall: string, address?: string, port?: number): SystemError {
  const e = err as SystemError;
  e.errno = -errno;
  e.code = code;
  e.syscall = syscall;
  if (address !== undefined) e.address = address;
  if (port) e.port = port;
  return e;
}

/**
 * net's ExceptionWithHostPort: `connect ECONNREFUSED 127.0.0.1:80`.
 * `errno` is the positive kernel errno.
 */
export function exceptionWithHostPort(errno: number, syscall: string, address?: string, port?: number, local?: string): SystemError {
  const code = systemName(errno);
  let details = hostPort(address, port);
  if (local) details += ` - Local (${local})`;
  return decorate(new Error(`${syscall} ${code}${details}`), errno, code, syscall, address, port);
}

/** net's UVExceptionWithHostPort: `listen EADDRINUSE: address already in use :::80`. */
export function uvExceptionWithHostPort(errno: number, syscall: string, address?: string, port?: number): SystemError {
  const entry = util.getSystemErrorMap().get(-errno);
  const code = entry?.[0] ?? 'UNKNOWN';
  const message = entry?.[1] ?? 'unknown error';
  return decorate(new Error(`${syscall} ${code}: ${message}${hostPort(address, port)}`), errno, code, syscall, address, port);
}
