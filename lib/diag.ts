// mptcp.connections(): every MPTCP connection of the calling process's
// network namespace, whoever owns it, as `ss -M` lists them: the request ss
// makes (NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY with inet_diag_req_v2 and
// INET_DIAG_REQ_PROTOCOL = IPPROTO_MPTCP, since 262 does not fit the u8
// protocol field), on the addon's netlink socket, parsed strictly. Port and
// address filters are compiled to inet_diag bytecode (INET_DIAG_REQ_BYTECODE)
// so that the kernel filters; subflows come from the TCP dump, where each
// MPTCP subflow carries INET_DIAG_ULP_INFO ("mptcp": tokens, ids, flags).
// References: sock_diag(7), linux/inet_diag.h, linux/mptcp.h, kernel-abi.md 7.
import * as net from 'node:net';
import { constants as os } from 'node:os';
import { decodeMptcpInfo, decodeTcpInfo, formatIPv6, tcpStateName, type MptcpInfo, type Subflow, type TcpState } from './decode';
import { errInvalidArgType, errInvalidArgValue, errOutOfRange } from './errors';
import {
  NLM_F_DUMP, NLM_F_REQUEST, NetlinkChannel, NetlinkParseError, getString, getU32, getU8, netlinkMessage, parseAttrs, pickAttrs,
  u32, type Attr, type NlMessage,
} from './netlink';
import { getInfo, type AnySocket } from './info';
import { ipBytes } from './pm-common';
import { validatePort } from './validators';

const SOCK_DIAG_BY_FAMILY = 20;
const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const IPPROTO_MPTCP = 262;

/** inet_diag request attributes and reply attributes (linux/inet_diag.h). */
const INET_DIAG_REQ_BYTECODE = 1;
const INET_DIAG_REQ_PROTOCOL = 3;
const INET_DIAG_INFO = 2;
const INET_DIAG_ULP_INFO = 19;
/** Bytecode ops. */
const BC_JMP = 1;
const BC_S_COND = 7;
const BC_D_COND = 8;
const BC_S_EQ = 11;
const BC_D_EQ = 12;
/** INET_DIAG_ULP_INFO nest: INET_ULP_INFO_NAME, INET_ULP_INFO_MPTCP. */
const ULP_NAME = 1;
const ULP_MPTCP = 3;
/** MPTCP_SUBFLOW_ATTR_* inside the "mptcp" ULP nest. */
const SF = { TOKEN_REM: 1, TOKEN_LOC: 2, FLAGS: 8, ID_REM: 9, ID_LOC: 10 } as const;
/** MPTCP_SUBFLOW_FLAG_*. */
const SF_FLAG = { MCAP_REM: 1, MCAP_LOC: 2, JOIN_REM: 4, JOIN_LOC: 8, BKUP_REM: 16, BKUP_LOC: 32, FULLY_ESTABLISHED: 64, CONNECTED: 128 } as const;

/** The reply attributes read (the others are length-checked, not kept). */
const kWanted = [INET_DIAG_INFO, INET_DIAG_ULP_INFO] as const;

const TCP_LISTEN = 10;
const ALL_STATES = 0xfff;
const inetDiagMsgLen = 72;

/** Options of {@link connections}. */
export interface ConnectionsOptions {
  /** Listening sockets too (as `ss -Ma`). */
  listening?: boolean;
  /** Each connection's subflows (from the TCP dump; their ULP info needs CAP_NET_ADMIN, as for `ss -ti`). */
  subflows?: boolean;
  /** Only connections with this local or remote port (filtered by the kernel). */
  port?: number;
  /** Only connections with this local or remote address, or in this prefix (`'10.0.1.0/24'`); filtered by the kernel. */
  address?: string;
  /** Only the connection with this token (`getInfo(socket).token`, the hex `ss -M` prints). */
  token?: number;
}

/** A subflow as the kernel's diag dump reports it: a {@link Subflow} with MPTCP's own view of it. */
export interface ConnectionSubflow extends Subflow {
  /** The local address id (0 for the initial subflow's). */
  localId: number;
  /** The peer's address id. */
  remoteId: number;
  /** This end asked for the subflow to be a backup (MP_PRIO / MP_JOIN backup bit). */
  backup: boolean;
  /** The peer asked for it to be a backup. */
  backupRemote: boolean;
  /** Joined with MP_JOIN (false for the initial, MP_CAPABLE, subflow). */
  join: boolean;
  /** Fully established (MP_CAPABLE or MP_JOIN handshake completed). */
  fullyEstablished: boolean;
  /** The socket's inode (as `ss -e` prints it). */
  inode: number;
}

/** One MPTCP connection (or listener) of the namespace, as `ss -M` shows it. */
export interface Connection {
  family: 'IPv4' | 'IPv6';
  state: TcpState;
  localAddress: string;
  localPort: number;
  /** The peer; `'0.0.0.0'` / `'::'` and 0 for a listener. */
  remoteAddress: string;
  remotePort: number;
  /** The connection's local token (`ss -M`'s `token:`); absent when the kernel sent no `mptcp_info`. */
  token?: number;
  /** The socket's owner and inode, as `ss -e` prints them. */
  uid: number;
  inode: number;
  /** `struct mptcp_info`, decoded as getInfo() decodes it; null when the kernel sent none. */
  info: MptcpInfo | null;
  /** With `{ subflows: true }`: the connection's subflows, the initial one first. */
  subflows?: ConnectionSubflow[];
}

// ---------------------------------------------------------- requests ----

class DiagSocket extends NetlinkChannel {
  constructor() {
    super('NETLINK_SOCK_DIAG');
  }

  protected override hint(errno: number): string | undefined {
    return errno === os.errno.ENOENT ? 'the kernel has no diag module for this protocol (CONFIG_INET_MPTCP_DIAG)' : undefined;
  }

  /** One SOCK_DIAG_BY_FAMILY dump: the inet_diag messages. */
  dump(family: number, protocol: number, states: number, bytecode: Buffer | null): Promise<NlMessage[]> {
    const head = Buffer.alloc(56);
    head[0] = family;
    head[1] = protocol & 0xff; // 262 does not fit: the attribute carries it
    head[2] = 1 << (INET_DIAG_INFO - 1);
    head.writeUInt32LE(states, 4);
    const attrs: Attr[] = [];
    if (bytecode) attrs.push([INET_DIAG_REQ_BYTECODE, bytecode]);
    if (protocol > 0xff) attrs.push([INET_DIAG_REQ_PROTOCOL, u32(protocol)]);
    const what = protocol === IPPROTO_MPTCP ? 'mptcp' : 'tcp';
    return this.send((seq) => netlinkMessage(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, seq, head, attrs),
      { dump: true, syscall: `sock_diag ${what}` });
  }
}

// ---------------------------------------------------------- bytecode ----

interface Cond { code: number; body: Buffer }

/** `ss`'s `sport = :P or dport = :P` (S_EQ / D_EQ carry the port in the next op's `no`). */
function portConds(port: number): Cond[] {
  const body = Buffer.alloc(4);
  body.writeUInt16LE(port, 2);
  return [{ code: BC_S_EQ, body }, { code: BC_D_EQ, body }];
}

/** `src PREFIX or dst PREFIX`: S_COND / D_COND with an inet_diag_hostcond (port -1: any). */
function addressConds(address: string, prefix: number, family: 4 | 6): Cond[] {
  const bytes = ipBytes(address, family);
  const body = Buffer.alloc(8 + bytes.length);
  body[0] = family === 4 ? AF_INET : AF_INET6;
  body[1] = prefix;
  body.writeInt32LE(-1, 4);
  bytes.copy(body, 8);
  return [{ code: BC_S_COND, body }, { code: BC_D_COND, body }];
}

/**
 * Bytecode accepting a socket when every clause has a true condition (an
 * AND of ORs), laid out as ss lays it out. Each op is { code, yes, no }, jumps
 * in bytes from the op; the kernel audits the chain of `yes` jumps, so every
 * op's `yes` is the next op. A true condition that is not its clause's last
 * reaches a JMP (which always takes `no`) past the rest of the clause; a
 * false one goes to the next condition, or, for the last, to "reject" (4
 * bytes past the end). Running off the end is "accept".
 */
function compile(clauses: Cond[][]): Buffer | null {
  if (clauses.length === 0) return null;
  interface Op { code: number; body: Buffer; yes: number; no: number | 'reject' }
  const ops: Op[] = [];
  for (const cl of clauses) {
    const jumps: Op[] = [];
    for (const [j, c] of cl.entries()) {
      const last = j === cl.length - 1;
      ops.push({ code: c.code, body: c.body, yes: 4 + c.body.length, no: last ? 'reject' : 4 + c.body.length + 4 });
      if (!last) {
        const jmp: Op = { code: BC_JMP, body: Buffer.alloc(0), yes: 4, no: 0 };
        ops.push(jmp);
        jumps.push(jmp);
      }
    }
    // Each JMP lands at the clause's end: past the ops after it in the clause.
    for (const jmp of jumps) {
      const i = ops.indexOf(jmp);
      jmp.no = ops.slice(i).reduce((n, o) => n + 4 + o.body.length, 0);
    }
  }
  const total = ops.reduce((n, o) => n + 4 + o.body.length, 0);
  const out = Buffer.alloc(total);
  let off = 0;
  for (const o of ops) {
    out[off] = o.code;
    out[off + 1] = o.yes;
    out.writeUInt16LE(o.no === 'reject' ? total + 4 - off : o.no, off + 2);
    o.body.copy(out, off + 4);
    off += 4 + o.body.length;
  }
  return out;
}

// ------------------------------------------------------------ parsing ----

interface DiagEntry {
  family: 'IPv4' | 'IPv6';
  state: number;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  uid: number;
  inode: number;
  attrs: Map<number, Buffer>;
}

function address(b: Buffer, off: number, family: number): string {
  if (family === AF_INET) return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  return formatIPv6(new DataView(b.buffer, b.byteOffset, b.length), off);
}

/** One inet_diag_msg and its attributes, every length checked. */
function parseEntry(m: NlMessage): DiagEntry {
  const p = m.payload;
  if (m.type !== SOCK_DIAG_BY_FAMILY) throw new NetlinkParseError(`sock_diag reply of type ${m.type}`);
  if (p.length < inetDiagMsgLen) throw new NetlinkParseError(`inet_diag_msg of ${p.length} bytes, need ${inetDiagMsgLen}`);
  const family = p[0];
  if (family !== AF_INET && family !== AF_INET6) throw new NetlinkParseError(`inet_diag_msg of family ${family}`);
  return {
    family: family === AF_INET ? 'IPv4' : 'IPv6',
    state: p[1],
    localPort: p.readUInt16BE(4),
    remotePort: p.readUInt16BE(6),
    localAddress: address(p, 8, family),
    remoteAddress: address(p, 24, family),
    uid: p.readUInt32LE(64),
    inode: p.readUInt32LE(68),
    attrs: pickAttrs(p.subarray(inetDiagMsgLen), kWanted),
  };
}

function toConnection(e: DiagEntry): Connection {
  const raw = e.attrs.get(INET_DIAG_INFO);
  const info = raw && raw.length >= 40 ? decodeMptcpInfo(new DataView(raw.buffer, raw.byteOffset, raw.length), 0, raw.length) : null;
  const c: Connection = {
    family: e.family, state: tcpStateName(e.state), localAddress: e.localAddress, localPort: e.localPort,
    remoteAddress: e.remoteAddress, remotePort: e.remotePort, uid: e.uid, inode: e.inode, info,
  };
  if (info) c.token = info.token;
  return c;
}

/** A TCP dump entry that is an MPTCP subflow: its subflow and the local token it belongs to. */
function toSubflow(e: DiagEntry): { token: number; subflow: ConnectionSubflow } | null {
  const ulp = e.attrs.get(INET_DIAG_ULP_INFO);
  if (!ulp) return null;
  const nest = parseAttrs(ulp);
  if (getString(nest, ULP_NAME) !== 'mptcp') return null;
  const m = nest.get(ULP_MPTCP);
  if (!m) return null;
  const a = parseAttrs(m);
  const token = getU32(a, SF.TOKEN_LOC, 'subflow token');
  if (token === undefined) return null;
  const flags = getU32(a, SF.FLAGS, 'subflow flags') ?? 0;
  const tcp = e.attrs.get(INET_DIAG_INFO) ?? Buffer.alloc(0);
  if (tcp.length < 104) throw new NetlinkParseError(`tcp_info of ${tcp.length} bytes, need 104`);
  const subflow = decodeTcpInfo(new DataView(tcp.buffer, tcp.byteOffset, tcp.length), 0, tcp.length, {
    family: e.family,
    localAddress: e.localAddress,
    localPort: e.localPort,
    remoteAddress: e.remoteAddress,
    remotePort: e.remotePort,
    localId: getU8(a, SF.ID_LOC, 'subflow local id') ?? 0,
    remoteId: getU8(a, SF.ID_REM, 'subflow remote id') ?? 0,
    backup: (flags & SF_FLAG.BKUP_LOC) !== 0,
    backupRemote: (flags & SF_FLAG.BKUP_REM) !== 0,
    join: (flags & (SF_FLAG.JOIN_LOC | SF_FLAG.JOIN_REM)) !== 0,
    fullyEstablished: (flags & SF_FLAG.FULLY_ESTABLISHED) !== 0,
    inode: e.inode,
  });
  return { token, subflow };
}

/** @internal A reply message of the MPTCP dump as a connection (for the parser fuzz). */
export function decodeConnectionEntry(m: NlMessage): Connection {
  return toConnection(parseEntry(m));
}

/** @internal A reply message of the TCP dump as an MPTCP subflow, or null (for the parser fuzz). */
export function decodeSubflowEntry(m: NlMessage): { token: number; subflow: ConnectionSubflow } | null {
  return toSubflow(parseEntry(m));
}

// ---------------------------------------------------------------- API ----

function validate(options: unknown): { listening: boolean; subflows: boolean; clauses: Cond[][]; token?: number } {
  if (options === undefined) return { listening: false, subflows: false, clauses: [] };
  if (options === null || typeof options !== 'object') throw errInvalidArgType('options', ['Object'], options);
  const o = options as ConnectionsOptions;
  for (const k of ['listening', 'subflows'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'boolean') throw errInvalidArgType(`options.${k}`, ['boolean'], o[k]);
  }
  const clauses: Cond[][] = [];
  if (o.port !== undefined) {
    if (typeof o.port !== 'number') throw errInvalidArgType('options.port', ['number'], o.port);
    clauses.push(portConds(validatePort(o.port, 'options.port')));
  }
  if (o.address !== undefined) {
    if (typeof o.address !== 'string') throw errInvalidArgType('options.address', ['string'], o.address);
    const [addr, bits, extra] = o.address.split('/');
    const family = net.isIP(addr);
    if (!family || extra !== undefined) throw errInvalidArgValue('options.address', o.address, 'must be an IP address or prefix');
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (!/^\d+$/.test(bits ?? '0') || prefix > max) throw errInvalidArgValue('options.address', o.address, `must have a prefix length of 0 to ${max}`);
    clauses.push(addressConds(addr, prefix, family as 4 | 6));
  }
  if (o.token !== undefined && (typeof o.token !== 'number' || !Number.isInteger(o.token))) throw errInvalidArgType('options.token', ['integer'], o.token);
  if (o.token !== undefined && (o.token < 0 || o.token > 0xffffffff)) throw errOutOfRange('options.token', '>= 0 and <= 4294967295', o.token);
  return { listening: o.listening === true, subflows: o.subflows === true, clauses, token: o.token };
}

/**
 * Every MPTCP connection of the calling process's network namespace,
 * whoever owns it (an iperf3 under mptcpize, a Python client, this process),
 * as `ss -M` lists them; with `{ listening: true }` listeners too, with
 * `{ subflows: true }` each connection's subflows. `port` and `address`
 * are filtered by the kernel, `token` here.
 *
 * @example
 * for (const c of await mptcp.connections({ subflows: true })) {
 *   console.log(c.token?.toString(16), c.remoteAddress, c.subflows?.length);
 * }
 */
export async function connections(options?: ConnectionsOptions): Promise<Connection[]> {
  const o = validate(options);
  const states = o.listening ? ALL_STATES : ALL_STATES & ~(1 << TCP_LISTEN);
  const bytecode = compile(o.clauses);
  const sock = new DiagSocket();
  try {
    // Subflow listeners are TCP sockets with the MPTCP ULP too: connections only.
    const dumpBoth = (protocol: number, code: Buffer | null): Promise<NlMessage[][]> => {
      const s = protocol === IPPROTO_MPTCP ? states : ALL_STATES & ~(1 << TCP_LISTEN);
      return Promise.all([sock.dump(AF_INET, protocol, s, code), sock.dump(AF_INET6, protocol, s, code)]);
    };
    const entries = (await dumpBoth(IPPROTO_MPTCP, bytecode)).flat().map(parseEntry);
    let list = entries.map(toConnection);
    if (o.token !== undefined) list = list.filter((c) => c.token === o.token);
    if (!o.subflows || list.length === 0) return list;

    const byToken = new Map<number, ConnectionSubflow[]>();
    const collect = (msgs: NlMessage[][]): void => {
      byToken.clear();
      for (const m of msgs.flat()) {
        const s = toSubflow(parseEntry(m));
        if (!s) continue;
        const l = byToken.get(s.token);
        if (l) l.push(s.subflow);
        else byToken.set(s.token, [s.subflow]);
      }
    };
    collect(await dumpBoth(IPPROTO_TCP, bytecode));
    // A joined subflow may use other ports or addresses than the filter's:
    // when one is missing, ask again without the filter.
    const missing = (c: Connection): boolean => c.info !== null && c.state !== 'LISTEN' &&
      (byToken.get(c.token!)?.length ?? 0) < Math.max(1, c.info.subflowsTotal ?? c.info.subflows + 1);
    if (bytecode && list.some(missing)) collect(await dumpBoth(IPPROTO_TCP, null));
    for (const c of list) {
      if (c.token === undefined || c.state === 'LISTEN') continue;
      c.subflows = (byToken.get(c.token) ?? []).sort((a, b) => Number(a.join) - Number(b.join) || a.localId - b.localId);
    }
    return list;
  } finally {
    sock.close();
  }
}

/**
 * The subflows of one of this process's sockets, as getSubflows() gives
 * them plus what only the kernel's diag dump reports: each subflow's
 * `backup` / `backupRemote` flags (MP_PRIO, MP_JOIN's backup bit), address
 * ids and `join`. Resolves `[]` when the socket is not an MPTCP connection.
 * Needs CAP_NET_ADMIN for the flags, as `ss -ti` does.
 *
 * @example
 * const backups = (await mptcp.getSubflowFlags(socket)).filter((s) => s.backup);
 */
export async function getSubflowFlags(socket: AnySocket): Promise<ConnectionSubflow[]> {
  const info = getInfo(socket);
  if (!info) return [];
  const port = (socket).localPort;
  const list = await connections({ token: info.token, subflows: true, ...(port ? { port } : {}) });
  return list.find((c) => c.token === info.token)?.subflows ?? [];
}
