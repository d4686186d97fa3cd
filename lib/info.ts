// Per-connection MPTCP state: isMptcp(), getInfo(), getSubflows(). Works on
// any socket Node holds (made by this library, by plain `net`, or wrapped by
// `tls`), reading the descriptor under Node's own handle. The read buffers
// are allocated once and reused, so a call costs one or two getsockopt(2)
// plus decoding.
import * as net from 'node:net';
import { constants as os } from 'node:os';
import { getBinding } from './binding';
import { decodeMptcpInfo, decodeSubflow, type MptcpInfo, type Subflow } from './decode';
import { errInvalidArgType, errInvalidArgValue } from './errors';
import { validateUint32 } from './validators';
import { handleOf, type HandleLike } from './node-internals';
import type { NativeBinding } from '../types/binding';
import { getFeatures } from './support';

/** Anything `isMptcp` and friends accept: a `net.Socket` or a `tls.TLSSocket`. */
export type AnySocket = net.Socket;

/** The descriptor under a socket (see handleOf), or -1. */
export function fdOf(socket: unknown): number {
  return handleOf(socket)?.fd ?? -1;
}

/**
 * Handles of connected sockets known not to be MPTCP. The answer is final: a
 * plain TCP socket never becomes MPTCP and a fallback to TCP is never undone,
 * so these skip the kernel on later calls. A handle is never reused for
 * another descriptor once connected, and the set holds it weakly.
 */
const notMptcp = new WeakSet<object>();

/**
 * A connection's token, given as the token itself or as a socket of this
 * process (its MPTCP token; ERR_INVALID_ARG_VALUE when it is not an MPTCP
 * connection). Used by the userspace path manager and monitor().
 */
export function connectionToken(ref: unknown, name: string): number {
  if (typeof ref === 'number') return validateUint32(ref, name);
  if (!(ref instanceof net.Socket)) throw errInvalidArgType(name, ['number', 'net.Socket'], ref);
  const info = getInfo(ref);
  if (!info) throw errInvalidArgValue(name, '[socket]', 'is not an MPTCP connection');
  return info.token;
}

/**
 * These functions take a connection: a `net.Socket` (a `tls.TLSSocket` is
 * one). Anything else, such as an `http.IncomingMessage` passed instead of
 * its `.socket`, is a mistake and throws, as Node's own functions do.
 */
function validateSocket(socket: unknown): void {
  if (!(socket instanceof NetSocket)) throw errInvalidArgType('socket', ['net.Socket'], socket);
}

// Local bindings of what the per-call hot path uses (an import is a module
// property load on every call in the compiled CommonJS).
const NetSocket = net.Socket;
const handleOfSocket = handleOf;
const binding = getBinding;

function connecting(socket: net.Socket): boolean {
  return socket.connecting;
}

/**
 * The handle of a connected socket that may be MPTCP: null without an addon,
 * for a socket still connecting or closed, and for one known not to be
 * MPTCP. Throws for something that is not a socket.
 */
function connectedHandle(socket: unknown, b: NativeBinding | null): HandleLike | null {
  if (!(socket instanceof NetSocket)) throw errInvalidArgType('socket', ['net.Socket'], socket);
  if (!b) return null;
  const h = handleOfSocket(socket);
  if (!h || socket.connecting || notMptcp.has(h)) return null;
  return h;
}

/**
 * Whether this connection negotiated Multipath TCP. `false` for plain TCP
 * sockets (including ones accepted by an MPTCP listener from a TCP client),
 * for MPTCP sockets that fell back to TCP, for sockets still connecting and
 * for closed ones.
 *
 * Uses `TCP_IS_MPTCP` (Linux 6.10+), else the `MPTCP_INFO` probe (5.16+).
 *
 * @example
 * server.on('connection', (s) => console.log(mptcp.isMptcp(s) ? 'MPTCP' : 'TCP'));
 */
export function isMptcp(socket: AnySocket): boolean {
  const b = binding();
  const h = connectedHandle(socket, b);
  if (!h) return false;
  const fd = h.fd as number;
  const v = b!.tcpIsMptcp(fd);
  let result: boolean;
  if (v >= 0) {
    result = v === 1;
  } else if (v === -os.errno.EOPNOTSUPP) {
    // An MPTCP socket on a kernel without TCP_IS_MPTCP: SOL_MPTCP reads
    // succeed unless the connection fell back (kernel-abi.md section 3).
    result = b!.mptcpInfo(fd, EMPTY) >= 0;
  } else if (v === -os.errno.ENOPROTOOPT) {
    result = false; // a plain TCP socket on a kernel without TCP_IS_MPTCP
  } else {
    return false; // EBADF and the like: say no, remember nothing
  }
  if (!result) notMptcp.add(h);
  return result;
}

const EMPTY = new Uint8Array(0);
let infoBuf: Uint8Array | undefined;
let infoView: DataView | undefined;

/**
 * The connection's `struct mptcp_info`, or `null` when the socket is not an
 * MPTCP connection (plain TCP, fallen back, still connecting, closed).
 * Fields this kernel does not report are absent.
 *
 * @example
 * const info = mptcp.getInfo(socket);
 * if (info) console.log(info.subflowsTotal, info.bytesSent);
 */
export function getInfo(socket: AnySocket): MptcpInfo | null {
  const b = binding();
  const h = connectedHandle(socket, b);
  if (!h || !b) return null;
  const fd = h.fd as number;
  if (!infoBuf) {
    infoBuf = new Uint8Array(b.sizes.mptcpInfo);
    infoView = new DataView(infoBuf.buffer, infoBuf.byteOffset, infoBuf.byteLength);
  }
  const n = b.mptcpInfo(fd, infoBuf);
  if (n < 16) return null;
  return decodeMptcpInfo(infoView!, 0, n);
}

let fullCap = 0;
let fullBuf: Uint8Array | undefined;
let fullView: DataView | undefined;

function ensureFull(cap: number): void {
  const b = getBinding()!;
  const s = b.sizes;
  fullCap = cap;
  fullBuf = new Uint8Array(s.fullInfoHead + s.mptcpInfo + cap * (s.subflowInfo + s.tcpInfo));
  fullView = new DataView(fullBuf.buffer, fullBuf.byteOffset, fullBuf.byteLength);
}

/** MPTCP_FULL_INFO (6.5+): the connection info and all subflows in one snapshot. */
function readFull(fd: number, withInfo: boolean): { subflows: Subflow[]; info: MptcpInfo | null } | null {
  const b = getBinding()!;
  const s = b.sizes;
  if (!fullBuf) ensureFull(4);
  for (let tries = 0; tries < 4; tries++) {
    const n = b.fullInfo(fd, fullBuf!, fullCap);
    if (n < 0) return null;
    const v = fullView!;
    const num = v.getUint32(16, true);
    if (num > fullCap) {
      ensureFull(num + 4);
      continue;
    }
    const tcpLen = v.getUint32(4, true);
    const sfLen = v.getUint32(12, true);
    const sfBase = s.fullInfoHead + s.mptcpInfo;
    const tcpBase = sfBase + fullCap * s.subflowInfo;
    const subflows = new Array<Subflow>(num);
    for (let i = 0; i < num; i++) {
      const sfOff = sfBase + i * sfLen;
      subflows[i] = decodeSubflow(v, v.getUint32(sfOff, true), sfOff + 8, tcpBase + i * tcpLen, tcpLen);
    }
    const infoLen = n - s.fullInfoHead;
    const info = withInfo && infoLen >= 16 ? decodeMptcpInfo(v, s.fullInfoHead, infoLen) : null;
    return { subflows, info };
  }
  return null;
}

let legacyTcp: Uint8Array | undefined;
let legacyAddr: Uint8Array | undefined;

/**
 * Kernels 5.16-6.4: MPTCP_TCPINFO and MPTCP_SUBFLOW_ADDRS, paired by index.
 * Two calls, so a subflow can come or go in between; the shorter list wins.
 */
export function readSubflowsLegacy(fd: number): Subflow[] | null {
  const b = getBinding()!;
  const s = b.sizes;
  for (let cap = 4, tries = 0; tries < 4; tries++) {
    if (!legacyTcp || legacyTcp.byteLength < 16 + cap * s.tcpInfo) legacyTcp = new Uint8Array(16 + cap * s.tcpInfo);
    if (!legacyAddr || legacyAddr.byteLength < 16 + cap * s.subflowAddrs) legacyAddr = new Uint8Array(16 + cap * s.subflowAddrs);
    const nt = b.subflowData(fd, b.constants.MPTCP_TCPINFO, s.tcpInfo, legacyTcp);
    const na = b.subflowData(fd, b.constants.MPTCP_SUBFLOW_ADDRS, s.subflowAddrs, legacyAddr);
    if (nt < 0 || na < 0) return null;
    const tv = new DataView(legacyTcp.buffer, legacyTcp.byteOffset, legacyTcp.byteLength);
    const av = new DataView(legacyAddr.buffer, legacyAddr.byteOffset, legacyAddr.byteLength);
    const numT = tv.getUint32(4, true);
    const numA = av.getUint32(4, true);
    const tStride = tv.getUint32(12, true);
    const aStride = av.getUint32(12, true);
    const fitT = tStride ? Math.floor((nt - 16) / tStride) : 0;
    const fitA = aStride ? Math.floor((na - 16) / aStride) : 0;
    if (numT > fitT || numA > fitA) {
      cap = Math.max(numT, numA) + 4;
      continue;
    }
    const num = Math.min(numT, numA);
    const out = new Array<Subflow>(num);
    for (let i = 0; i < num; i++) {
      const addr = decodeSubflow(av, undefined, 16 + i * aStride, 16 + i * aStride, 0);
      const tcp = decodeSubflow(tv, undefined, 16 + i * tStride, 16 + i * tStride, tStride);
      out[i] = { ...tcp, family: addr.family, localAddress: addr.localAddress, localPort: addr.localPort, remoteAddress: addr.remoteAddress, remotePort: addr.remotePort };
    }
    return out;
  }
  return null;
}

/**
 * The subflows of an MPTCP connection, each with its addresses and decoded
 * `tcp_info`; `[]` when the socket is not an MPTCP connection. One
 * consistent snapshot (`MPTCP_FULL_INFO`) where the kernel has it.
 *
 * @example
 * for (const sf of mptcp.getSubflows(socket)) console.log(sf.localAddress, '->', sf.remoteAddress, sf.rtt);
 */
export function getSubflows(socket: AnySocket): Subflow[] {
  const h = connectedHandle(socket, getBinding());
  if (!h) return [];
  const fd = h.fd as number;
  const features = getFeatures();
  if (features?.fullInfo) return readFull(fd, false)?.subflows ?? [];
  return readSubflowsLegacy(fd) ?? [];
}

/**
 * `getInfo` and `getSubflows` from one kernel snapshot (`MPTCP_FULL_INFO`),
 * so the counters and the subflow list agree; null when not MPTCP.
 */
export function getSnapshot(socket: AnySocket): { info: MptcpInfo; subflows: Subflow[] } | null {
  validateSocket(socket);
  const b = getBinding();
  if (!b) return null;
  const fd = fdOf(socket);
  if (fd < 0 || connecting(socket)) return null;
  if (getFeatures()?.fullInfo) {
    const r = readFull(fd, true);
    return r && r.info ? { info: r.info, subflows: r.subflows } : null;
  }
  const info = getInfo(socket);
  return info ? { info, subflows: readSubflowsLegacy(fd) ?? [] } : null;
}
