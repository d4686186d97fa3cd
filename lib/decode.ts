// Decoders for the kernel structs the addon copies out (native/sockopt.cc).
// Offsets follow include/uapi/linux/mptcp.h and tcp.h of Linux 6.18; each
// field is read only when the kernel returned the bytes that hold it, so a
// field this kernel does not have is absent (undefined), never 0.
import * as os from 'node:os';

/** `struct mptcp_info`, decoded. Counters count *additional* subflows unless named otherwise. */
export interface MptcpInfo {
  /** Number of additional subflows (the initial one is not counted). Linux 5.9. */
  subflows: number;
  /** ADD_ADDRs this side announced. */
  addAddrSignal: number;
  /** ADD_ADDRs received from the peer and accepted. */
  addAddrAccepted: number;
  /** In-kernel path manager limit `subflows` (0 under the userspace PM). */
  subflowsMax: number;
  /** Number of `signal` endpoints. */
  addAddrSignalMax: number;
  /** In-kernel path manager limit `add_addr_accepted`. */
  addAddrAcceptedMax: number;
  /** Raw `mptcpi_flags`. */
  flags: number;
  /** `MPTCP_INFO_FLAG_FALLBACK`: the connection fell back to TCP. */
  fallback: boolean;
  /** `MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED`: the peer's key was received. */
  remoteKeyReceived: boolean;
  /** Local connection token, as used by the path manager and its events. */
  token: number;
  /** MPTCP-level next sequence number to write (64-bit data sequence). */
  writeSeq: bigint;
  /** MPTCP-level oldest unacknowledged sequence number. */
  sndUna: bigint;
  /** MPTCP-level next expected sequence number. */
  rcvNxt: bigint;
  /** `subflow` endpoints in use. Linux 5.12. */
  localAddrUsed?: number;
  /** Number of `subflow` endpoints. Linux 5.12. */
  localAddrMax?: number;
  /** DSS checksums negotiated. Linux 5.14. */
  csumEnabled?: boolean;
  /** MPTCP-level retransmissions. Linux 6.5. */
  retransmits?: number;
  /** MPTCP-level bytes retransmitted. Linux 6.5. */
  bytesRetrans?: bigint;
  /** MPTCP-level payload bytes sent. Linux 6.5. */
  bytesSent?: bigint;
  /** MPTCP-level payload bytes received. Linux 6.5. */
  bytesReceived?: bigint;
  /** MPTCP-level payload bytes acknowledged by the peer. Linux 6.5. */
  bytesAcked?: bigint;
  /** All subflows, including the initial one while it is attached. Linux 6.8. */
  subflowsTotal?: number;
  /** Number of `laminar` endpoints. Linux 6.18. */
  endpLaminarMax?: number;
  /** Number of `fullmesh` endpoints. Linux 6.19. */
  endpFullmeshMax?: number;
  /** Milliseconds since data was last sent. Linux 6.10. */
  lastDataSent?: number;
  /** Milliseconds since data was last received. Linux 6.10. */
  lastDataRecv?: number;
  /** Milliseconds since an ACK was last received. Linux 6.10. */
  lastAckRecv?: number;
}

/** TCP states as named by the kernel (`tcpi_state`). */
export type TcpState =
  | 'ESTABLISHED' | 'SYN_SENT' | 'SYN_RECV' | 'FIN_WAIT1' | 'FIN_WAIT2' | 'TIME_WAIT' | 'CLOSE'
  | 'CLOSE_WAIT' | 'LAST_ACK' | 'LISTEN' | 'CLOSING' | 'NEW_SYN_RECV' | 'BOUND_INACTIVE' | 'UNKNOWN';

const STATES: TcpState[] = ['UNKNOWN', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT',
  'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING', 'NEW_SYN_RECV', 'BOUND_INACTIVE'];

/** One subflow (a TCP connection) of an MPTCP connection, with its `tcp_info`. */
export interface Subflow {
  /** Per-connection subflow id (1 for the initial subflow); absent before Linux 6.5. */
  id?: number;
  /** The subflow's address family, as `socket.remoteFamily` names it. */
  family: 'IPv4' | 'IPv6';
  /** This end of the subflow: address (as Node writes it) and port. */
  localAddress: string;
  localPort: number;
  /** The peer's end of the subflow. */
  remoteAddress: string;
  remotePort: number;
  /** Backup priority, where the kernel reports it (not through getsockopt as of 6.18). */
  backup?: boolean;
  state: TcpState;
  /** Smoothed round-trip time, microseconds. */
  rtt: number;
  /** Round-trip time variation, microseconds. */
  rttVar: number;
  /** Minimum round-trip time seen, microseconds. */
  minRtt?: number;
  /** Congestion window, segments. */
  cwnd: number;
  /** Slow-start threshold, segments (a very large value means "not set"). */
  ssthresh: number;
  /** Sender maximum segment size, bytes. */
  mss: number;
  /** Path MTU, bytes. */
  pmtu: number;
  /** Retransmission timeout, microseconds. */
  rto: number;
  /** Unrecovered RTO timeouts in a row (`tcpi_retransmits`). */
  retransmits: number;
  /** Total retransmitted segments (`tcpi_total_retrans`). */
  totalRetrans: number;
  /** Segments currently considered lost. */
  lost: number;
  /** Payload bytes sent, retransmissions included. Linux 4.19. */
  bytesSent?: bigint;
  /** Bytes acknowledged by the peer. */
  bytesAcked?: bigint;
  /** Bytes received. */
  bytesReceived?: bigint;
  /** Bytes retransmitted. Linux 4.19. */
  bytesRetrans?: bigint;
  /** Pacing rate, bytes per second. */
  pacingRate?: bigint;
  /** Most recent delivery rate estimate, bytes per second. */
  deliveryRate?: bigint;
  /** Milliseconds since data was last sent / received on this subflow. */
  lastDataSent: number;
  lastDataRecv: number;
}

function kernelAtLeast(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(os.release());
  if (!m) return false;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}

// Bytes 81 and 82 were reserved before 6.18/6.19 and the struct size did not
// change when they were given meaning, so their presence cannot be told from
// the returned length: only here is the running kernel's version consulted.
const HAS_LAMINAR = process.platform === 'linux' && kernelAtLeast(6, 18);
const HAS_FULLMESH = process.platform === 'linux' && kernelAtLeast(6, 19);

/** Decodes `struct mptcp_info` from the first `n` bytes of `v` at `base`. */
export function decodeMptcpInfo(v: DataView, base: number, n: number): MptcpInfo {
  if (n >= 96) return decodeFullMptcpInfo(alignedCopy(v, base, 96), 0);
  const flags = v.getUint32(base + 8, true);
  const info: MptcpInfo = {
    subflows: v.getUint8(base),
    addAddrSignal: v.getUint8(base + 1),
    addAddrAccepted: v.getUint8(base + 2),
    subflowsMax: v.getUint8(base + 3),
    addAddrSignalMax: v.getUint8(base + 4),
    addAddrAcceptedMax: v.getUint8(base + 5),
    flags,
    fallback: (flags & 1) !== 0,
    remoteKeyReceived: (flags & 2) !== 0,
    token: v.getUint32(base + 12, true),
    writeSeq: v.getBigUint64(base + 16, true),
    sndUna: v.getBigUint64(base + 24, true),
    rcvNxt: v.getBigUint64(base + 32, true),
  };
  if (n >= 42) {
    info.localAddrUsed = v.getUint8(base + 40);
    info.localAddrMax = v.getUint8(base + 41);
  }
  if (n >= 43) info.csumEnabled = v.getUint8(base + 42) !== 0;
  if (n >= 48) info.retransmits = v.getUint32(base + 44, true);
  if (n >= 80) {
    info.bytesRetrans = v.getBigUint64(base + 48, true);
    info.bytesSent = v.getBigUint64(base + 56, true);
    info.bytesReceived = v.getBigUint64(base + 64, true);
    info.bytesAcked = v.getBigUint64(base + 72, true);
  }
  if (n >= 81) info.subflowsTotal = v.getUint8(base + 80);
  if (n >= 82 && HAS_LAMINAR) info.endpLaminarMax = v.getUint8(base + 81);
  if (n >= 83 && HAS_FULLMESH) info.endpFullmeshMax = v.getUint8(base + 82);
  if (n >= 96) {
    info.lastDataSent = v.getUint32(base + 84, true);
    info.lastDataRecv = v.getUint32(base + 88, true);
    info.lastAckRecv = v.getUint32(base + 92, true);
  }
  return info;
}

/**
 * Typed views over one buffer, for the decoders of whole structs: the
 * scratch buffer the addon reads into, where every struct starts on 8
 * bytes. Host byte order, as the kernel writes these structs (the DataView
 * reads little-endian, the order of every platform the addon builds for);
 * ports and addresses, in network order, are read through the DataView.
 */
export interface Views { v: DataView; u8: Uint8Array; u32: Uint32Array; b64: BigUint64Array }

export function viewsOf(buf: ArrayBuffer): Views {
  return { v: new DataView(buf), u8: new Uint8Array(buf), u32: new Uint32Array(buf, 0, buf.byteLength >> 2), b64: new BigUint64Array(buf, 0, buf.byteLength >> 3) };
}

/** `n` bytes at `base` of `v` copied to the start of an aligned buffer of this module's (n <= 512, a multiple of 4). */
const copyViews = viewsOf(new ArrayBuffer(512));
function alignedCopy(v: DataView, base: number, n: number): Views {
  const u32 = copyViews.u32;
  for (let i = 0; i < n >> 2; i++) u32[i] = v.getUint32(base + 4 * i, true);
  return copyViews;
}

/**
 * The u64 at byte offset `off` (a multiple of 8): a counter, 0n without
 * allocating a BigInt when it is zero, as many counters are.
 */
function u64(s: Views, off: number): bigint {
  const w = off >> 2;
  return (s.u32[w] | s.u32[w + 1]) === 0 ? 0n : s.b64[off >> 3];
}

/**
 * The whole struct of Linux 6.10 and later (96 bytes, at `base`, a
 * multiple of 8) in one object literal: one allocation of the final shape,
 * where adding the newer fields one by one would grow the object a field
 * at a time (getInfo's hot path).
 */
function decodeFullMptcpInfo(s: Views, base: number): MptcpInfo {
  const { u8, u32 } = s;
  const w = base >> 2;
  const flags = u32[w + 2];
  const info: MptcpInfo = {
    subflows: u8[base],
    addAddrSignal: u8[base + 1],
    addAddrAccepted: u8[base + 2],
    subflowsMax: u8[base + 3],
    addAddrSignalMax: u8[base + 4],
    addAddrAcceptedMax: u8[base + 5],
    flags,
    fallback: (flags & 1) !== 0,
    remoteKeyReceived: (flags & 2) !== 0,
    token: u32[w + 3],
    writeSeq: u64(s, base + 16),
    sndUna: u64(s, base + 24),
    rcvNxt: u64(s, base + 32),
    localAddrUsed: u8[base + 40],
    localAddrMax: u8[base + 41],
    csumEnabled: u8[base + 42] !== 0,
    retransmits: u32[w + 11],
    bytesRetrans: u64(s, base + 48),
    bytesSent: u64(s, base + 56),
    bytesReceived: u64(s, base + 64),
    bytesAcked: u64(s, base + 72),
    subflowsTotal: u8[base + 80],
    lastDataSent: u32[w + 21],
    lastDataRecv: u32[w + 22],
    lastAckRecv: u32[w + 23],
  };
  if (HAS_LAMINAR) info.endpLaminarMax = u8[base + 81];
  if (HAS_FULLMESH) info.endpFullmeshMax = u8[base + 82];
  return info;
}

/** decodeMptcpInfo over the scratch views: `n` bytes at `base`. */
export function decodeMptcpInfoAt(s: Views, base: number, n: number): MptcpInfo {
  return n >= 96 && (base & 7) === 0 ? decodeFullMptcpInfo(s, base) : decodeMptcpInfo(s.v, base, n);
}

function hex4(v: DataView, off: number): string {
  return v.getUint16(off, false).toString(16);
}

/** RFC 5952 text form of the 16-byte IPv6 address at `off`, as inet_ntop(3) prints it. */
export function formatIPv6(v: DataView, off: number): string {
  const w = new Array<number>(8);
  for (let i = 0; i < 8; i++) w[i] = v.getUint16(off + 2 * i, false);
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && (w[5] === 0xffff || (w[5] === 0 && w[6] !== 0))) {
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d), as Node
    // (inet_ntop) writes them.
    const dotted = `${v.getUint8(off + 12)}.${v.getUint8(off + 13)}.${v.getUint8(off + 14)}.${v.getUint8(off + 15)}`;
    return w[5] === 0xffff ? `::ffff:${dotted}` : `::${dotted}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const parts: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      parts.push(i === 0 ? ':' : '');
      i += bestLen - 1;
      if (i === 7) parts.push('');
      continue;
    }
    parts.push(hex4(v, off + 2 * i));
  }
  return parts.join(':');
}

/** A 4-byte (IPv4) or 16-byte (IPv6) address in network order, as text; null for other lengths. */
export function formatAddressBytes(b: Uint8Array): string | null {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length === 16) return formatIPv6(new DataView(b.buffer, b.byteOffset, 16), 0);
  return null;
}

/** Linux address family numbers, as sockaddr and netlink attributes carry them. */
export const AF_INET = 2;
export const AF_INET6 = 10;

interface Endpoint { family: number; address: string; port: number }

/** A sockaddr (sockaddr_in or sockaddr_in6) at `off`. */
function decodeSockaddr(v: DataView, off: number): Endpoint {
  const family = v.getUint16(off, true);
  const port = v.getUint16(off + 2, false);
  if (family === AF_INET) {
    return { family, port, address: `${v.getUint8(off + 4)}.${v.getUint8(off + 5)}.${v.getUint8(off + 6)}.${v.getUint8(off + 7)}` };
  }
  if (family === AF_INET6) return { family, port, address: formatIPv6(v, off + 8) };
  return { family, port, address: '' };
}

/**
 * One subflow from its `mptcp_subflow_addrs` (at `addrOff`, 256 bytes) and
 * its `tcp_info` (at `tcpOff`, `tcpLen` bytes; 0 when not fetched).
 */
export function decodeSubflow(v: DataView, id: number | undefined, addrOff: number, tcpOff: number, tcpLen: number): Subflow {
  const local = decodeSockaddr(v, addrOff);
  const remote = decodeSockaddr(v, addrOff + 128);
  const family = (local.family || remote.family) === AF_INET6 ? 'IPv6' : 'IPv4';
  const sf = decodeTcpInfo(v, tcpOff, tcpLen, {
    family,
    localAddress: local.address,
    localPort: local.port,
    remoteAddress: remote.address,
    remotePort: remote.port,
  });
  if (id !== undefined) sf.id = id;
  return sf;
}

/**
 * Address text by its bytes, for getSubflows' hot path: a connection's
 * addresses repeat on every call, and formatting one costs more than a
 * lookup. Bounded: cleared when it grows past kAddrCacheMax entries.
 */
const addrCache = new Map<number | string, string>();
const kAddrCacheMax = 1024;

function cachedAddress(v: DataView, off: number): string {
  const family = v.getUint16(off, true);
  let key: number | string;
  if (family === AF_INET) key = v.getUint32(off + 4, false);
  else if (family === AF_INET6) key = `${v.getUint32(off + 8)},${v.getUint32(off + 12)},${v.getUint32(off + 16)},${v.getUint32(off + 20)}`;
  else return '';
  let text = addrCache.get(key);
  if (text === undefined) {
    text = decodeSockaddr(v, off).address;
    if (addrCache.size >= kAddrCacheMax) addrCache.clear();
    addrCache.set(key, text);
  }
  return text;
}

/**
 * decodeSubflow over the scratch views: for a kernel with the whole of `tcp_info` the library reads (216
 * bytes and more) and subflow ids (6.5+), the subflow in one object
 * literal, the same fields in the same order as the general path.
 */
export function decodeSubflowAt(s: Views, id: number | undefined, a: number, t: number, tcpLen: number): Subflow {
  if (tcpLen < 216 || id === undefined || ((a | t) & 7) !== 0) return decodeSubflow(s.v, id, a, t, tcpLen);
  const { v, u8, u32 } = s;
  const lf = v.getUint16(a, true);
  const rf = v.getUint16(a + 128, true);
  const w = t >> 2;
  const sf: Subflow = {
    family: (lf || rf) === AF_INET6 ? 'IPv6' : 'IPv4',
    localAddress: cachedAddress(v, a),
    localPort: v.getUint16(a + 2, false),
    remoteAddress: cachedAddress(v, a + 128),
    remotePort: v.getUint16(a + 130, false),
    state: STATES[u8[t]] ?? 'UNKNOWN',
    rtt: u32[w + 17],
    rttVar: u32[w + 18],
    cwnd: u32[w + 20],
    ssthresh: u32[w + 19],
    mss: u32[w + 4],
    pmtu: u32[w + 15],
    rto: u32[w + 2],
    retransmits: u8[t + 2],
    totalRetrans: u32[w + 25],
    lost: u32[w + 8],
    lastDataSent: u32[w + 11],
    lastDataRecv: u32[w + 13],
    pacingRate: u64(s, t + 104),
    bytesAcked: u64(s, t + 120),
    bytesReceived: u64(s, t + 128),
    minRtt: u32[w + 37],
    deliveryRate: u64(s, t + 160),
    bytesSent: u64(s, t + 200),
    bytesRetrans: u64(s, t + 208),
    id,
  };
  return sf;
}

/** The name of a kernel TCP state number (`tcpi_state`, `idiag_state`). */
export function tcpStateName(state: number): TcpState {
  return STATES[state] ?? 'UNKNOWN';
}

/**
 * A subflow's `tcp_info` (at `t`, `tcpLen` bytes) decoded onto its
 * addresses: the fields are added to `ends` (a fresh object of the
 * caller's), which is returned. Adding them in place, rather than spreading
 * `ends` into a new literal, keeps the call allocation-light: a spread
 * followed by more properties takes V8's slow path in Node 20 (microseconds
 * per object).
 */
export function decodeTcpInfo<T extends Pick<Subflow, 'family' | 'localAddress' | 'localPort' | 'remoteAddress' | 'remotePort'>>(
  v: DataView, t: number, tcpLen: number, ends: T): T & Subflow {
  const sf = ends as T & Subflow;
  sf.state = STATES[v.getUint8(t)] ?? 'UNKNOWN';
  sf.rtt = v.getUint32(t + 68, true);
  sf.rttVar = v.getUint32(t + 72, true);
  sf.cwnd = v.getUint32(t + 80, true);
  sf.ssthresh = v.getUint32(t + 76, true);
  sf.mss = v.getUint32(t + 16, true);
  sf.pmtu = v.getUint32(t + 60, true);
  sf.rto = v.getUint32(t + 8, true);
  sf.retransmits = v.getUint8(t + 2);
  sf.totalRetrans = v.getUint32(t + 100, true);
  sf.lost = v.getUint32(t + 32, true);
  sf.lastDataSent = v.getUint32(t + 44, true);
  sf.lastDataRecv = v.getUint32(t + 52, true);
  if (tcpLen >= 120) sf.pacingRate = v.getBigUint64(t + 104, true);
  if (tcpLen >= 136) {
    sf.bytesAcked = v.getBigUint64(t + 120, true);
    sf.bytesReceived = v.getBigUint64(t + 128, true);
  }
  if (tcpLen >= 152) sf.minRtt = v.getUint32(t + 148, true);
  if (tcpLen >= 168) sf.deliveryRate = v.getBigUint64(t + 160, true);
  if (tcpLen >= 216) {
    sf.bytesSent = v.getBigUint64(t + 200, true);
    sf.bytesRetrans = v.getBigUint64(t + 208, true);
  }
  return sf;
}
