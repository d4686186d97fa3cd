// Per-connection MPTCP state: isMptcp(), getInfo(), getSubflows(). Works on
// any socket Node holds (made by this library, by plain `net`, or wrapped by
// `tls`), reading the descriptor under Node's own handle. The read buffers
// are allocated once and reused, so a call costs one or two getsockopt(2)
// plus decoding.
import * as net from 'node:net';
import { constants as os } from 'node:os';
import { getBinding } from './binding';
import { decodeMptcpInfoAt, decodeSubflow, decodeSubflowAt, viewsOf, type MptcpInfo, type Subflow, type Views } from './decode';
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
 * What the per-call path caches on a socket's TCP handle (a field of the
 * handle object, symbol-keyed): its descriptor, read once (net's `fd` is a
 * native getter), or kNotMptcp once the connection is known not to be
 * MPTCP. That answer is final: a plain TCP socket never becomes MPTCP and a
 * fallback to TCP is never undone, so later calls skip the kernel. A handle
 * keeps its descriptor for life (the library's dup3 keeps the number) and
 * net drops the handle when it closes it.
 */
const kFd = Symbol('mptcp.fd');
const kNotMptcp = -2;
interface CachedHandle extends HandleLike { [kFd]?: number }

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

// Local bindings of what the per-call hot path uses (an import is a module
// property load on every call in the compiled CommonJS).
const NetSocket = net.Socket;
const handleOfSocket = handleOf;

/**
 * The addon functions the per-call path calls, held in an object of this
 * module's: the addon's exports object is in V8's dictionary mode (its
 * properties were added one at a time), where every load is a hash lookup.
 */
interface Calls {
  tcpIsMptcp: NativeBinding['tcpIsMptcp'];
  mptcpInfo: NativeBinding['mptcpInfo'];
  mptcpInfoScratch: NativeBinding['mptcpInfoScratch'];
  fullInfoScratch: NativeBinding['fullInfoScratch'];
  setScratch: NativeBinding['setScratch'] & { [kScratch]?: Scratch };
  sizes: NativeBinding['sizes'];
}
let calls: Calls | null = null;
function binding(): Calls | null {
  if (calls) return calls;
  const b = getBinding();
  if (!b) return null;
  calls = { tcpIsMptcp: b.tcpIsMptcp, mptcpInfo: b.mptcpInfo, mptcpInfoScratch: b.mptcpInfoScratch, fullInfoScratch: b.fullInfoScratch, setScratch: b.setScratch, sizes: b.sizes };
  return calls;
}

/**
 * The descriptor of a connected socket that may be MPTCP, or a negative
 * number: -1 for a socket still connecting, closed or without a stream
 * handle, kNotMptcp for one known not to be MPTCP. The common call is two
 * field loads. These functions take a connection: a `net.Socket` (a
 * `tls.TLSSocket` is one); anything else, such as an `http.IncomingMessage`
 * passed instead of its `.socket`, is a mistake and throws, as Node's own
 * functions do.
 */
function liveFd(socket: unknown): number {
  if (!(socket instanceof NetSocket)) throw errInvalidArgType('socket', ['net.Socket'], socket);
  const h = (socket as unknown as { _handle?: CachedHandle | null })._handle;
  const fd = h ? h[kFd] : undefined;
  if (fd !== undefined) return socket.connecting ? -1 : fd;
  return lookUpFd(socket);
}

/**
 * liveFd's first call on a handle, and every call on a TLS socket: a
 * TLSWrap's descriptor is its underlying socket's, which can close (and its
 * number be reused) while the TLS socket still holds the wrap, so it is read
 * afresh each time; only a handle that owns its descriptor caches it.
 */
function lookUpFd(socket: net.Socket): number {
  const h: CachedHandle | null = handleOfSocket(socket);
  if (!h) return -1;
  if (socket.connecting) return -1;
  const cached = h[kFd];
  if (cached === kNotMptcp) return kNotMptcp;
  const fd = h.fd ?? -1; // handleOf returns handles with a descriptor only
  const ownsDescriptor = h._parent === undefined && h._parentWrap === undefined;
  if (ownsDescriptor) h[kFd] = fd;
  return fd;
}

/** Remembers that the socket's connection is not MPTCP (see kFd). */
function markNotMptcp(socket: net.Socket): void {
  const h: CachedHandle | null = handleOfSocket(socket);
  if (h) h[kFd] = kNotMptcp;
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
  const fd = liveFd(socket);
  if (fd < 0) return false;
  const b = binding();
  if (!b) return false;
  const v = b.tcpIsMptcp(fd);
  if (v === 1) return true;
  return isMptcpOther(socket, b, fd, v);
}

/** isMptcp for an answer other than 1: a plain or fallen-back connection, or a kernel without TCP_IS_MPTCP. */
function isMptcpOther(socket: net.Socket, b: Calls, fd: number, v: number): boolean {
  let result: boolean;
  if (v === 0) {
    result = false;
  } else if (v === -os.errno.EOPNOTSUPP) {
    // An MPTCP socket on a kernel without TCP_IS_MPTCP: SOL_MPTCP reads
    // succeed unless the connection fell back (kernel-abi.md section 3).
    result = b.mptcpInfo(fd, EMPTY) >= 0;
  } else if (v === -os.errno.ENOPROTOOPT) {
    result = false; // a plain TCP socket on a kernel without TCP_IS_MPTCP
  } else {
    return false; // EBADF and the like: say no, remember nothing
  }
  if (!result) markNotMptcp(socket);
  return result;
}

/**
 * The scratch buffer the addon reads MPTCP_INFO and MPTCP_FULL_INFO into
 * (registered with setScratch, one per environment), sized for `cap`
 * subflows, with typed views over it (decode.ts, Views). Kept on the addon's
 * setScratch function under a registered symbol, so that every copy of this
 * module loaded over the same addon (module registries reset by test
 * runners, bundles) reads the buffer the addon writes into now.
 */
interface Scratch { views: Views; cap: number }
const kScratch = Symbol.for('mptcp.scratch');

function scratchOf(b: Calls): Scratch {
  return b.setScratch[kScratch] ?? ensureScratch(b, 4);
}

function ensureScratch(b: Calls, cap: number): Scratch {
  const s = b.sizes;
  const buf = new ArrayBuffer(s.fullInfoHead + s.mptcpInfo + cap * (s.subflowInfo + s.tcpInfo));
  b.setScratch(buf);
  const scratch = { views: viewsOf(buf), cap };
  b.setScratch[kScratch] = scratch;
  return scratch;
}

const EMPTY = new Uint8Array(0);

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
  const fd = liveFd(socket);
  if (fd < 0) return null;
  const b = binding();
  if (!b) return null;
  const views = scratchOf(b).views;
  const n = b.mptcpInfoScratch(fd);
  if (n >= 16) return decodeMptcpInfoAt(views, 0, n);
  // Not MPTCP (a TCP socket, or one that fell back): final, as for isMptcp.
  if (n === -os.errno.EOPNOTSUPP || n === -os.errno.ENOPROTOOPT) markNotMptcp(socket);
  return null;
}

/**
 * MPTCP_FULL_INFO (6.5+): all subflows, read in one snapshot into the
 * scratch buffer, whose mptcp_info part (fullInfoLength bytes at
 * fullInfoHead) then holds the connection info of the same snapshot, until
 * the next read.
 */
let fullInfoLength = 0;
/** Exported for the benchmark's per-call floor (bench/peer.mjs): the addon's call and the decode, nothing else. */
export function readFull(b: Calls, fd: number): Subflow[] | null {
  const s = b.sizes;
  let scratch = scratchOf(b);
  for (let tries = 0; tries < 4; tries++) {
    const n = b.fullInfoScratch(fd, scratch.cap);
    if (n < 0) return null;
    const views = scratch.views;
    const v = views.v;
    const num = v.getUint32(16, true);
    if (num > scratch.cap) {
      scratch = ensureScratch(b, num + 4);
      continue;
    }
    const tcpLen = v.getUint32(4, true);
    const sfLen = v.getUint32(12, true);
    const sfBase = s.fullInfoHead + s.mptcpInfo;
    const tcpBase = sfBase + scratch.cap * s.subflowInfo;
    const subflows = new Array<Subflow>(num);
    for (let i = 0; i < num; i++) {
      const sfOff = sfBase + i * sfLen;
      subflows[i] = decodeSubflowAt(views, v.getUint32(sfOff, true), sfOff + 8, tcpBase + i * tcpLen, tcpLen);
    }
    fullInfoLength = n - s.fullInfoHead;
    return subflows;
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
      tcp.family = addr.family;
      tcp.localAddress = addr.localAddress;
      tcp.localPort = addr.localPort;
      tcp.remoteAddress = addr.remoteAddress;
      tcp.remotePort = addr.remotePort;
      out[i] = tcp;
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
  const fd = liveFd(socket);
  if (fd < 0) return [];
  const b = binding();
  if (!b) return [];
  const features = getFeatures();
  if (features?.fullInfo) return readFull(b, fd) ?? [];
  return readSubflowsLegacy(fd) ?? [];
}

/**
 * `getInfo` and `getSubflows` from one kernel snapshot (`MPTCP_FULL_INFO`),
 * so the counters and the subflow list agree; null when not MPTCP.
 */
export function getSnapshot(socket: AnySocket): { info: MptcpInfo; subflows: Subflow[] } | null {
  const fd = liveFd(socket);
  if (fd < 0) return null;
  const b = binding();
  if (!b) return null;
  if (getFeatures()?.fullInfo) {
    const subflows = readFull(b, fd);
    if (!subflows || fullInfoLength < 16) return null;
    return { info: decodeMptcpInfoAt(scratchOf(b).views, b.sizes.fullInfoHead, fullInfoLength), subflows };
  }
  const info = getInfo(socket);
  return info ? { info, subflows: readSubflowsLegacy(fd) ?? [] } : null;
}
