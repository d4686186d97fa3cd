// mptcp/net: node:net, with connections and servers over Multipath TCP.
// `import net from 'mptcp/net'` (or require) is the whole migration: every
// export of node:net is here under its own name, and is node:net's own
// except these: createServer, connect, createConnection, and the classes
// Server and Socket (with Stream, net's old name for Socket), whose
// listen() / connect() use MPTCP. Those two classes are subclasses of
// net's, and `instanceof` either answers for any net.Server / net.Socket,
// so code that checks `x instanceof net.Socket` with this module as `net`
// keeps working for sockets that http, tls or net made.
import * as nodeNet from 'node:net';
import { callable, connect as mptcpConnect, MptcpSocket } from './connect';
import { Server as MptcpServer, type ServerOptions } from './server';

export * from 'node:net';

/**
 * node:net's Socket whose `connect()` opens a Multipath TCP connection, as
 * mptcp.connect does (fallback to TCP when the kernel refuses MPTCP; the
 * `mptcp` connect option as elsewhere). `new Socket().connect(...)`, the
 * form pg, mysql2 and others use, is MPTCP too, and so is a connect() after
 * a destroy.
 */
class SocketClass extends MptcpSocket {
  /** Any net.Socket is an instance of this class (a subclass keeps the ordinary test). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return this === Socket ? value instanceof nodeNet.Socket : Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** node:net's Server, listening over Multipath TCP (mptcp.Server). */
class ServerClass extends MptcpServer {
  /** Any net.Server is an instance of this class (a subclass keeps the ordinary test). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return this === Server ? value instanceof nodeNet.Server : Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** Callable without `new`, as net's classes are. */
export const Socket = callable(SocketClass);
export type Socket = SocketClass;
export const Server = callable(ServerClass);
export type Server = ServerClass;
/** net's old name for Socket. */
export const Stream = Socket;

/** net.createServer, over MPTCP: same arguments, plus the `mptcp` option. */
export function createServer(connectionListener?: (socket: nodeNet.Socket) => void): Server;
export function createServer(options?: ServerOptions, connectionListener?: (socket: nodeNet.Socket) => void): Server;
export function createServer(options?: ServerOptions | ((socket: nodeNet.Socket) => void), connectionListener?: (socket: nodeNet.Socket) => void): Server {
  return new Server(options as ServerOptions, connectionListener);
}

/** net.connect, over MPTCP (mptcp.connect). */
export const connect = mptcpConnect;
/** net.createConnection, over MPTCP (mptcp.connect). */
export const createConnection = mptcpConnect;
