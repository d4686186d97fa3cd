// HTTP agents over MPTCP: subclasses of http.Agent and https.Agent whose
// connections are made by connect(). Pooling, keep-alive, scheduling and
// (for https) servername and TLS session reuse stay the base classes' own:
// only the transport under them changes. The https agent hands the MPTCP
// socket to https.Agent#createConnection as `socket`, so TLS always runs over
// it and the base class keeps its session cache in charge.
import * as http from 'node:http';
import * as https from 'node:https';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { normalizeArgs, type Callback } from './args';
import { connect, type ConnectOptions } from './connect';
import { errInvalidArgType, errInvalidArgValue } from './errors';
import { validateMode, type MptcpMode } from './policy';

/** Options of {@link HttpAgent}: every `http.Agent` option, plus `mptcp`. */
export interface HttpAgentOptions extends http.AgentOptions {
  /** `true` (default) prefers MPTCP and falls back to TCP; `'require'` fails instead; `false` is plain TCP. */
  mptcp?: MptcpMode;
}

/** Options of {@link HttpsAgent}: every `https.Agent` option (TLS options included), plus `mptcp`. */
export interface HttpsAgentOptions extends https.AgentOptions {
  /** `true` (default) prefers MPTCP and falls back to TCP; `'require'` fails instead; `false` is plain TCP. */
  mptcp?: MptcpMode;
}

/** The agent's `mptcp` mode, validated before the base constructor runs. */
function agentMode(options: unknown): MptcpMode {
  if (options === undefined || options === null) return true;
  if (typeof options !== 'object') throw errInvalidArgType('options', ['Object'], options);
  return validateMode((options as { mptcp?: unknown }).mptcp, 'options.mptcp');
}

/**
 * `mptcp.http.Agent`: an `http.Agent` whose connections are MPTCP
 * (`mptcp.connect`). Takes every `http.Agent` option (`keepAlive`,
 * `maxSockets`, `timeout`, `scheduling`, ...) plus `mptcp`; keep-alive reuse,
 * pooling and every other behaviour are `http.Agent`'s.
 *
 * @example
 * const agent = new mptcp.http.Agent({ keepAlive: true });
 * http.get('http://example.test/', { agent }, (res) => {
 *   console.log('MPTCP:', mptcp.isMptcp(res.socket));
 * });
 */
export class HttpAgent extends http.Agent {
  readonly #mode: MptcpMode;

  /** Throws ERR_INVALID_ARG_VALUE for an `mptcp` other than `true`, `false` or `'require'`. */
  constructor(options?: HttpAgentOptions) {
    const mode = agentMode(options);
    super(options);
    this.#mode = mode;
  }

  /** The agent's `mptcp` mode. */
  get mptcp(): MptcpMode {
    return this.#mode;
  }

  /**
   * Opens a connection for the agent with `mptcp.connect`, in the agent's
   * `mptcp` mode; the same call forms as `net.createConnection`.
   */
  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, stream: net.Socket) => void): net.Socket;
  override createConnection(...args: unknown[]): net.Socket {
    const [options, cb] = normalizeArgs(args);
    // As net.createConnection: a callback is a 'connect' listener (the agent
    // has already taken the returned socket by then).
    return connect({ ...options, mptcp: this.#mode } as ConnectOptions, cb ?? undefined);
  }
}

/** https.Agent#createConnection's argument forms: `(options)`, `(port, host, options)`, a callback last. */
function httpsArgs(args: unknown[]): [Record<string, unknown>, Callback | undefined] {
  const [a0, a1, a2] = args;
  let options: Record<string, unknown>;
  if (a0 !== null && typeof a0 === 'object') options = { ...(a0 as Record<string, unknown>) };
  else if (a1 !== null && typeof a1 === 'object') options = { ...(a1 as Record<string, unknown>) };
  else if (a2 !== null && typeof a2 === 'object') options = { ...(a2 as Record<string, unknown>) };
  else options = {};
  if (typeof a0 === 'number') options.port = a0;
  if (typeof a1 === 'string') options.host = a1;
  const last = args[args.length - 1];
  return [options, typeof last === 'function' ? (last as Callback) : undefined];
}

/**
 * `mptcp.https.Agent`: an `https.Agent` whose TLS connections run over MPTCP
 * sockets (`tls.connect({ ...options, socket })` on an `mptcp.connect`
 * socket). Takes every `https.Agent` option (`ca`, `rejectUnauthorized`,
 * `servername`, `maxCachedSessions`, `keepAlive`, ...) plus `mptcp`. SNI, the
 * TLS session cache and keep-alive reuse are `https.Agent`'s own. Every
 * connection it makes is TLS: `createConnection` cannot be replaced on an
 * instance. `proxyEnv` (where Node has it) is refused: its tunnel would be made
 * by Node over plain TCP.
 *
 * @example
 * const agent = new mptcp.https.Agent({ keepAlive: true, ca });
 * https.get('https://example.test/', { agent }, (res) => {
 *   console.log('MPTCP:', mptcp.isMptcp(res.socket));
 * });
 */
export class HttpsAgent extends https.Agent {
  readonly #mode: MptcpMode;

  /**
   * Throws ERR_INVALID_ARG_VALUE for an `mptcp` other than `true`, `false`
   * or `'require'`, and for a `proxyEnv`.
   */
  constructor(options?: HttpsAgentOptions) {
    const mode = agentMode(options);
    const proxyEnv = (options as { proxyEnv?: unknown } | undefined)?.proxyEnv;
    if (proxyEnv !== undefined && proxyEnv !== null) {
      throw errInvalidArgValue('options.proxyEnv', proxyEnv, 'is not supported by mptcp.https.Agent (the tunnel to the proxy would be plain TCP)');
    }
    super(options);
    this.#mode = mode;
  }

  /** The agent's `mptcp` mode. */
  get mptcp(): MptcpMode {
    return this.#mode;
  }

  /**
   * Opens a TLS connection for the agent: an `mptcp.connect` socket in the
   * agent's `mptcp` mode, on which `https.Agent#createConnection` runs TLS
   * (servername, session reuse and caching as it does them). The same call
   * forms as `https.Agent#createConnection`.
   */
  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, stream: tls.TLSSocket) => void): tls.TLSSocket;
  override createConnection(...args: unknown[]): tls.TLSSocket {
    const [options, cb] = httpsArgs(args);
    // The idle timeout belongs on the TLS socket, as tls.connect sets it when it makes the connection itself.
    const { timeout, socket: _ignored, ...tcp } = options;
    const socket = connect({ ...tcp, mptcp: this.#mode } as ConnectOptions);
    let secure: tls.TLSSocket;
    try {
      secure = super.createConnection({ ...options, socket } as http.ClientRequestArgs, cb) as tls.TLSSocket;
    } catch (err) {
      socket.destroy();
      throw err;
    }
    if (timeout) secure.setTimeout(timeout as number);
    return secure;
  }
}

// An instance cannot swap createConnection for a cleartext one (the old
// `agent.createConnection = mptcp.createConnection` recipe); a subclass
// still overrides it with a method of its own.
Object.defineProperty(HttpsAgent.prototype, 'createConnection', { writable: false });
