// connector(): a connect function for undici's Agent, Pool and Client (and
// so for fetch) whose connections are MPTCP. It follows undici's own
// buildConnector (lib/core/connect.js): the same parameters and callback,
// TLS with servername (SNI), ALPN and a session cache per servername, the
// connect timeout and its UND_ERR_CONNECT_TIMEOUT error, keep-alive and
// no-delay as undici sets them. undici itself is never loaded.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { connect, type ConnectOptions } from './connect';
import { errInvalidArgType, errInvalidArgValue } from './errors';
import { validateMode, type MptcpMode } from './policy';
import { validateBoolean, validateInteger, validateObject } from './validators';

/**
 * Options of {@link connector}: undici's connector options (`allowH2`,
 * `maxCachedSessions`, `socketPath`, `timeout`, `keepAlive`,
 * `keepAliveInitialDelay`, `useH2c`), every `tls.connect` option for https
 * origins (`ca`, `rejectUnauthorized`, `servername`, `session`, ...), the TCP
 * options of `mptcp.connect` (`family`, `lookup`, `autoSelectFamily`, ...),
 * and `mptcp`.
 */
export interface ConnectorOptions extends Omit<tls.ConnectionOptions, 'socket' | 'timeout' | 'host' | 'port' | 'path' | 'lookup'> {
  /** `true` (default) prefers MPTCP and falls back to TCP; `'require'` fails instead; `false` is plain TCP. */
  mptcp?: MptcpMode;
  /** Offer HTTP/2 by ALPN (`['http/1.1', 'h2']`) on https origins; default `false`. A Client's own `allowH2` wins. */
  allowH2?: boolean | null;
  /** Speak HTTP/2 without TLS (h2c) on http origins; default `false`. */
  useH2c?: boolean | null;
  /** TLS sessions kept for reuse, one per servername (default 100; 0 disables reuse). */
  maxCachedSessions?: number | null;
  /** Connect over this Unix socket instead (no MPTCP then). */
  socketPath?: string | null;
  /** Connect timeout in ms, TLS handshake included (default 10 000; 0 disables); fails with UND_ERR_CONNECT_TIMEOUT. */
  timeout?: number | null;
  /** TCP keep-alive (default `true`, as undici). */
  keepAlive?: boolean | null;
  /** Keep-alive initial delay in ms (default 60 000, as undici). */
  keepAliveInitialDelay?: number | null;
  /** As `net.connect`. */
  family?: number;
  /** As `net.connect`. */
  hints?: number;
  /** As `net.connect`. */
  lookup?: net.TcpSocketConnectOpts['lookup'];
  /** As `net.connect`. */
  localPort?: number;
  /** As `net.connect`. */
  autoSelectFamily?: boolean;
  /** As `net.connect`. */
  autoSelectFamilyAttemptTimeout?: number;
}

/** What undici passes to a connector for each new connection. */
export interface ConnectParams {
  hostname: string;
  /** `hostname[:port]`, as in the origin. */
  host?: string;
  /** `'http:'` or `'https:'`. */
  protocol: string;
  port: string | number;
  servername?: string | null;
  localAddress?: string | null;
  /** A connected socket to run TLS over (a proxy tunnel): no new connection is made then. */
  httpSocket?: net.Socket;
  /** A Client's `allowH2`, which undici adds for custom connectors. */
  allowH2?: boolean | null;
  /** A Client's `socketPath`, which undici adds for custom connectors. */
  socketPath?: string | null;
}

/** The connector's callback: `(null, socket)` once connected (and TLS is up), or `(error, null)`. */
export type ConnectCallback = (...args: [null, net.Socket | tls.TLSSocket] | [Error, null]) => void;

/** A connect function as undici's `connect` option takes it. Returns the socket it made. */
export type Connector = (params: ConnectParams, callback: ConnectCallback) => net.Socket | tls.TLSSocket;

const kUndiciError = Symbol.for('undici.error.UND_ERR');
const kConnectTimeoutError = Symbol.for('undici.error.UND_ERR_CONNECT_TIMEOUT');

/**
 * undici's ConnectTimeoutError: code UND_ERR_CONNECT_TIMEOUT, and
 * `instanceof undici.errors.ConnectTimeoutError` (undici recognizes its errors
 * by registered symbols) holds too.
 */
class ConnectTimeoutError extends Error {
  readonly code = 'UND_ERR_CONNECT_TIMEOUT';
  constructor(message: string) {
    super(message);
    this.name = 'ConnectTimeoutError';
  }
  get [kUndiciError](): boolean {
    return true;
  }
  get [kConnectTimeoutError](): boolean {
    return true;
  }
}

/** TLS sessions by servername, held weakly as undici holds them. */
class SessionCache {
  readonly #max: number;
  readonly #sessions = new Map<string, WeakRef<Buffer>>();
  readonly #registry = new FinalizationRegistry<string>((key) => {
    if (this.#sessions.size < this.#max) return;
    const ref = this.#sessions.get(key);
    if (ref !== undefined && ref.deref() === undefined) this.#sessions.delete(key);
  });

  constructor(max: number) {
    this.#max = max;
  }

  get(key: string): Buffer | null {
    return this.#sessions.get(key)?.deref() ?? null;
  }

  set(key: string, session: Buffer): void {
    if (this.#max === 0) return;
    if (this.#sessions.has(key)) {
      this.#sessions.delete(key);
    } else if (this.#sessions.size >= this.#max) {
      let evicted = false;
      for (const [k, ref] of this.#sessions) {
        if (ref.deref() === undefined) {
          this.#sessions.delete(k);
          evicted = true;
          break;
        }
      }
      if (!evicted) {
        const oldest = this.#sessions.keys().next();
        if (!oldest.done) this.#sessions.delete(oldest.value);
      }
    }
    this.#sessions.set(key, new WeakRef(session));
    this.#registry.register(session, key);
  }
}

/** undici's getServerName: the host part of `host`, '' for an IP address (no SNI), null without a host. */
function serverNameOf(host: string | undefined): string | null {
  if (!host) return null;
  let name = host;
  if (name[0] === '[') {
    const end = name.indexOf(']');
    name = end === -1 ? name.slice(1) : name.slice(1, end);
  } else {
    const colon = name.indexOf(':');
    if (colon !== -1) name = name.slice(0, colon);
  }
  return net.isIP(name) ? '' : name;
}

function optionalBoolean(value: unknown, name: string): boolean | undefined {
  return value === undefined || value === null ? undefined : validateBoolean(value, name);
}

function optionalInteger(value: unknown, name: string): number | undefined {
  return value === undefined || value === null ? undefined : validateInteger(value, name, 0, Number.MAX_SAFE_INTEGER);
}

/**
 * Returns a connect function for undici (`new undici.Agent({ connect:
 * mptcp.connector() })`, also `Pool` and `Client`) whose connections are
 * MPTCP, following undici's own connector: https origins get TLS over the
 * MPTCP socket with SNI, ALPN (`allowH2`) and a session cache per servername;
 * the connect (and TLS handshake) times out after `timeout` ms with
 * UND_ERR_CONNECT_TIMEOUT; keep-alive and no-delay are set as undici sets
 * them. Options are checked here: ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE
 * (`mptcp`), ERR_OUT_OF_RANGE.
 *
 * @example
 * const { Agent, setGlobalDispatcher } = require('undici');
 * setGlobalDispatcher(new Agent({ connect: mptcp.connector() })); // fetch() too
 */
export function connector(options?: ConnectorOptions): Connector {
  if (options !== undefined) validateObject(options, 'options');
  const {
    mptcp: modeOption, allowH2: allowH2Option, useH2c: useH2cOption, maxCachedSessions: maxOption, socketPath: socketPathOption,
    timeout: timeoutOption, session: customSession, keepAlive: keepAliveOption, keepAliveInitialDelay: delayOption, ...rest
  } = options ?? {};
  const mode = validateMode(modeOption, 'options.mptcp');
  const allowH2 = optionalBoolean(allowH2Option, 'options.allowH2') ?? false;
  const useH2c = optionalBoolean(useH2cOption, 'options.useH2c') ?? false;
  const keepAlive = optionalBoolean(keepAliveOption, 'options.keepAlive') ?? true;
  const keepAliveInitialDelay = optionalInteger(delayOption, 'options.keepAliveInitialDelay') ?? 60e3;
  const sessions = new SessionCache(optionalInteger(maxOption, 'options.maxCachedSessions') ?? 100);
  const timeout = timeoutOption === undefined || timeoutOption === null ? 10e3 : validateInteger(timeoutOption, 'options.timeout', 0, 2 ** 31 - 1);
  if (socketPathOption !== undefined && socketPathOption !== null && typeof socketPathOption !== 'string') {
    throw errInvalidArgType('options.socketPath', ['string'], socketPathOption);
  }
  if (customSession !== undefined && customSession !== null && !Buffer.isBuffer(customSession)) {
    throw errInvalidArgType('options.session', ['Buffer'], customSession);
  }
  const opts = rest as Record<string, unknown>;

  /** A new TCP connection, MPTCP per `mode`; keep-alive and no-delay applied once it is connected. */
  function tcpTo(hostname: string, port: number | string, localAddress: string | null | undefined, socketPath: string | null | undefined): net.Socket {
    return connect({
      highWaterMark: 64 * 1024,
      ...opts,
      path: socketPath ?? undefined,
      localAddress: localAddress ?? undefined,
      port: port as number,
      host: hostname,
      noDelay: true,
      keepAlive,
      keepAliveInitialDelay,
      mptcp: mode,
    } as ConnectOptions);
  }

  return function mptcpConnect(params: ConnectParams, callback: ConnectCallback): net.Socket | tls.TLSSocket {
    validateObject(params, 'options');
    const { hostname, host, protocol, localAddress, httpSocket } = params;
    const socketPath = params.socketPath ?? socketPathOption;
    let socket: net.Socket | tls.TLSSocket;
    let tcp: net.Socket | undefined;
    let port = params.port;
    if (protocol === 'https:') {
      const servername = params.servername || (opts.servername as string | undefined) || serverNameOf(host) || null;
      const sessionKey = servername || hostname;
      const session = customSession || sessions.get(sessionKey) || null;
      port ||= 443;
      const h2 = params.allowH2 ?? allowH2;
      tcp = httpSocket ? undefined : tcpTo(hostname, port, localAddress, socketPath);
      try {
        socket = tls.connect({
          highWaterMark: 16384,
          ...opts,
          servername: servername as string,
          session: session as Buffer,
          ALPNProtocols: h2 ? ['http/1.1', 'h2'] : ['http/1.1'],
          socket: httpSocket ?? tcp,
          port: port as number,
          host: hostname,
        } as tls.ConnectionOptions);
      } catch (err) {
        tcp?.destroy();
        throw err;
      }
      socket.on('session', (s: Buffer) => sessions.set(sessionKey, s));
      if (httpSocket) {
        // Already connected (undici's own socket): set as undici does.
        if (keepAlive) socket.setKeepAlive(true, keepAliveInitialDelay);
        socket.setNoDelay(true);
      }
    } else {
      if (httpSocket) throw errInvalidArgValue('options.httpSocket', httpSocket, "is for 'https:' only"); // as undici asserts
      port ||= 80;
      socket = tcp = tcpTo(hostname, port, localAddress, socketPath);
      if (useH2c) (socket as net.Socket & { alpnProtocol?: string }).alpnProtocol = 'h2';
    }

    let timer: NodeJS.Timeout | null = null;
    let immediate: NodeJS.Immediate | null = null;
    const clear = (): void => {
      if (timer) clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
      timer = immediate = null;
    };
    if (timeout) {
      timer = setTimeout(() => {
        timer = null;
        // A turn later, so that a socket error of the same moment wins, as in undici.
        immediate = setImmediate(() => {
          immediate = null;
          const tried = tcp?.autoSelectFamilyAttemptedAddresses;
          const where = Array.isArray(tried) ? `attempted addresses: ${tried.join(', ')},` : `attempted address: ${hostname}:${port},`;
          socket.destroy(new ConnectTimeoutError(`Connect Timeout Error (${where} timeout: ${timeout}ms)`));
        });
      }, timeout);
    }
    let cb: ConnectCallback | null = typeof callback === 'function' ? callback : null;
    socket
      .once(protocol === 'https:' ? 'secureConnect' : 'connect', () => {
        queueMicrotask(clear);
        if (cb) {
          const done = cb;
          cb = null;
          done(null, socket);
        }
      })
      .on('error', (err: Error) => {
        queueMicrotask(clear);
        if (cb) {
          const done = cb;
          cb = null;
          done(err, null);
        }
      })
      .once('close', clear);
    return socket;
  };
}
