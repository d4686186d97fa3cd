// The in-kernel path manager over generic netlink (family `mptcp_pm`):
// endpoints and limits of the calling process's network namespace, the same
// objects `ip mptcp endpoint` and `ip mptcp limits` manage. No iproute2,
// libnl or mptcpd at run time. Attribute layouts: kernel-abi.md 5.2-5.4.
import { constants as os } from 'node:os';
import { getBinding } from './binding';
import { AF_INET, AF_INET6, formatAddressBytes } from './decode';
import { connectionToken } from './info';
import { errInvalidArgType, errInvalidArgValue } from './errors';
import { validateInteger, validateIp, validateObject, validatePortNumber, validateString } from './validators';
import {
  GenlSocket, getS32, getU16, getU32, getU8, netlinkError, parseAttrs,
  s32, u16, u32, u8, type Attr, type GenlFamily, type GenlMessage,
} from './netlink';

const FAMILY_NAME = 'mptcp_pm';
const PM_VERSION = 1;

const CMD = { ADD_ADDR: 1, DEL_ADDR: 2, GET_ADDR: 3, FLUSH_ADDRS: 4, SET_LIMITS: 5, GET_LIMITS: 6, SET_FLAGS: 7 } as const;
const ATTR = { ADDR: 1, RCV_ADD_ADDRS: 2, SUBFLOWS: 3, TOKEN: 4, LOC_ID: 5, ADDR_REMOTE: 6 } as const;
const ADDR = { FAMILY: 1, ID: 2, ADDR4: 3, ADDR6: 4, PORT: 5, FLAGS: 6, IF_IDX: 7 } as const;

/** Endpoint flags by name (MPTCP_PM_ADDR_FLAG_*). */
export const ENDPOINT_FLAGS = {
  signal: 1 << 0,
  subflow: 1 << 1,
  backup: 1 << 2,
  fullmesh: 1 << 3,
  implicit: 1 << 4,
  laminar: 1 << 5,
} as const;

export type EndpointFlag = keyof typeof ENDPOINT_FLAGS;

/** An in-kernel path-manager endpoint, as `ip mptcp endpoint show` lists it. */
export interface Endpoint {
  id: number;
  address: string;
  family: 4 | 6;
  /** Present when the endpoint has a port (signal endpoints with a listener). */
  port?: number;
  flags: EndpointFlag[];
  /** Flag bits this library has no name for, if any. */
  unknownFlags?: number;
  ifindex?: number;
  ifname?: string;
}

export interface AddEndpointOptions {
  address: string;
  /** 1-255; the kernel picks one when absent. */
  id?: number;
  port?: number;
  flags?: EndpointFlag[];
  ifname?: string;
  ifindex?: number;
}

/** In-kernel path-manager limits (`ip mptcp limits`). */
export interface Limits {
  /** Extra subflows per connection (0-8). */
  subflows: number;
  /** ADD_ADDR announcements accepted per connection (0-8). */
  addAddrAccepted: number;
}

let shared: { sock: GenlSocket; family: Promise<GenlFamily> } | null = null;

/** The process-wide netlink socket and the resolved `mptcp_pm` family. */
async function channel(): Promise<{ sock: GenlSocket; family: GenlFamily }> {
  if (!shared) {
    const sock = new GenlSocket();
    const family = sock.resolveFamily(FAMILY_NAME).catch((err: { code?: string }) => {
      // Only this channel's own entry is dropped: after pm.close() a newer
      // channel may be in place already.
      if (shared?.sock === sock) shared = null;
      sock.close();
      if (err.code === 'ENOENT') throw netlinkError(os.errno.EPROTONOSUPPORT, `genl ${FAMILY_NAME}`, { message: 'the kernel has no MPTCP path manager (mptcp_pm family not found)' });
      throw err;
    });
    shared = { sock, family };
  }
  const s = shared;
  return { sock: s.sock, family: await s.family };
}

async function call(cmd: number, name: string, attrs: Attr[], dump = false): Promise<GenlMessage[]> {
  const { sock, family } = await channel();
  return sock.request(family.id, cmd, PM_VERSION, attrs, { dump, syscall: name });
}

// -------------------------------------------------------- validation ----

/** An endpoint or address id: 1-255. */
function validateId(id: unknown, name: string): number {
  return validateInteger(id, name, 1, 255);
}

/**
 * An IP literal. An IPv6 zone (`fe80::1%eth0`, `%3`) is returned where the
 * call can honour it as the interface (`zone: true`), and rejected elsewhere
 * rather than dropped.
 */
function validateAddress(value: unknown, name: string, zone = false): { family: 4 | 6; bytes: Buffer; ifindex?: number } {
  const v = validateIp(value, name);
  const address = value as string;
  const at = address.indexOf('%');
  if (at < 0) return { family: v, bytes: ipBytes(address, v) };
  if (!zone) throw errInvalidArgValue(name, address, 'cannot carry an IPv6 zone here');
  return { family: 6, bytes: ipBytes(address.slice(0, at), 6), ifindex: zoneIndex(address.slice(at + 1), name) };
}

/** The interface an IPv6 zone names: a name in this namespace, or an index. */
function zoneIndex(zone: string, name: string): number {
  if (/^\d+$/.test(zone)) {
    const idx = Number(zone);
    if (idx < 1 || idx > 0x7fffffff) throw errInvalidArgValue(name, `%${zone}`, 'has a zone that is not a valid interface index');
    return idx;
  }
  return interfaceIndex(zone);
}

function interfaceIndex(ifname: string): number {
  const b = getBinding();
  const idx = b ? b.ifNameToIndex(ifname) : -os.errno.ENODEV;
  if (idx < 0) throw netlinkError(-idx, 'if_nametoindex', { message: `no interface named '${ifname}'` });
  return idx;
}

/** The interface given by options (ifname / ifindex) and by the address's zone; they must agree. */
function interfaceOf(opts: Record<string, unknown>, zoneIfindex: number | undefined, name: string, address: unknown): number | undefined {
  const idx = ifindexOf(opts);
  if (zoneIfindex !== undefined && idx !== undefined && idx !== zoneIfindex) {
    throw errInvalidArgValue(name, address, 'has a zone naming another interface than ifname / ifindex');
  }
  return idx ?? zoneIfindex;
}

function ipBytes(address: string, family: 4 | 6): Buffer {
  if (family === 4) return Buffer.from(address.split('.').map(Number));
  // Expand '::' and an embedded IPv4 tail into 8 groups.
  let s = address;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = v4[1].split('.').map(Number);
    s = s.slice(0, v4.index) + ((b[0] << 8) | b[1]).toString(16) + ':' + ((b[2] << 8) | b[3]).toString(16);
  }
  const [head, tail] = s.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function validateFlags(flags: unknown, name: string, allowed: readonly EndpointFlag[]): number {
  if (flags === undefined) return 0;
  if (!Array.isArray(flags)) throw errInvalidArgType(name, ['Array'], flags);
  let bits = 0;
  for (const f of flags) {
    if (typeof f !== 'string' || !(allowed as readonly string[]).includes(f)) {
      throw errInvalidArgValue(name, flags, `must contain only ${allowed.map((a) => `'${a}'`).join(', ')}`);
    }
    bits |= ENDPOINT_FLAGS[f as EndpointFlag];
  }
  if ((bits & ENDPOINT_FLAGS.signal) && (bits & ENDPOINT_FLAGS.fullmesh)) {
    throw errInvalidArgValue(name, flags, "cannot combine 'signal' and 'fullmesh'");
  }
  return bits;
}

/** A limit: 0-8, as the kernel allows (MPTCP_PM_ADDR_MAX). */
function validateLimit(v: unknown, name: string): number | undefined {
  return v === undefined ? undefined : validateInteger(v, name, 0, 8);
}

function ifindexOf(opts: Record<string, unknown>): number | undefined {
  if (opts.ifname !== undefined && opts.ifindex !== undefined) {
    throw errInvalidArgValue('options.ifname', opts.ifname, 'cannot be given together with options.ifindex');
  }
  if (opts.ifindex !== undefined) return validateInteger(opts.ifindex, 'options.ifindex', 1, 0x7fffffff);
  if (opts.ifname !== undefined) return interfaceIndex(validateString(opts.ifname, 'options.ifname'));
  return undefined;
}

// ----------------------------------------------------------- decoding ----

const flagNames = Object.entries(ENDPOINT_FLAGS) as [EndpointFlag, number][];

/** @internal Decodes one MPTCP_PM_ATTR_ADDR nest; exported for the fuzz test. */
export function decodeEndpoint(nested: Buffer | undefined): Endpoint | null {
  if (!nested) return null;
  const a = parseAttrs(nested);
  const fam = getU16(a, ADDR.FAMILY, 'address family');
  const id = getU8(a, ADDR.ID, 'endpoint id') ?? 0;
  const family: 4 | 6 = fam === AF_INET6 || (fam === undefined && a.has(ADDR.ADDR6)) ? 6 : 4;
  const len = family === 6 ? 16 : 4;
  const raw = a.get(family === 6 ? ADDR.ADDR6 : ADDR.ADDR4);
  if (!raw || raw.length < len) return null;
  const address = formatAddressBytes(raw.subarray(0, len))!;
  const bits = getU32(a, ADDR.FLAGS, 'endpoint flags') ?? 0;
  const ep: Endpoint = { id, address, family, flags: flagNames.filter(([, bit]) => bits & bit).map(([n]) => n) };
  const known = flagNames.reduce((m, [, bit]) => m | bit, 0);
  if (bits & ~known) ep.unknownFlags = (bits & ~known) >>> 0;
  const port = getU16(a, ADDR.PORT, 'endpoint port');
  if (port) ep.port = port;
  const ifindex = getS32(a, ADDR.IF_IDX, 'endpoint ifindex');
  if (ifindex !== undefined && ifindex > 0) {
    ep.ifindex = ifindex;
    const name = getBinding()?.ifIndexToName(ifindex);
    if (typeof name === 'string') ep.ifname = name;
  }
  return ep;
}

function addrAttr(family: 4 | 6, bytes: Buffer): Attr[] {
  return [[ADDR.FAMILY, u16(family === 4 ? AF_INET : AF_INET6)], [family === 4 ? ADDR.ADDR4 : ADDR.ADDR6, bytes]];
}

// ---------------------------------------------------------------- API ----

/** Every endpoint of this network namespace (`ip mptcp endpoint show`). */
export async function list(): Promise<Endpoint[]> {
  const msgs = await call(CMD.GET_ADDR, 'mptcp_pm get_addr', [], true);
  return msgs.map((m) => decodeEndpoint(m.attrs.get(ATTR.ADDR))).filter((e): e is Endpoint => e !== null);
}

/** The endpoint with this id, or null when there is none. */
export async function get(id: number): Promise<Endpoint | null> {
  validateId(id, 'id');
  try {
    const [m] = await call(CMD.GET_ADDR, 'mptcp_pm get_addr', [[ATTR.ADDR, [[ADDR.ID, u8(id)]]]]);
    return m ? decodeEndpoint(m.attrs.get(ATTR.ADDR)) : null;
  } catch (err) {
    // The kernel answers EINVAL "address not found" for an unknown id.
    if ((err as { code?: string }).code === 'EINVAL') return null;
    throw err;
  }
}

/**
 * Adds an endpoint (`ip mptcp endpoint add`). Resolves with the endpoint as
 * the kernel stored it (its id included).
 */
export async function add(options: AddEndpointOptions): Promise<Endpoint> {
  const o = validateObject(options, 'options');
  const { family, bytes, ifindex: zoneIfindex } = validateAddress(o.address, 'options.address', true);
  const id = o.id === undefined ? undefined : validateId(o.id, 'options.id');
  let port: number | undefined;
  if (o.port !== undefined) {
    port = validatePortNumber(o.port, 'options.port');
  }
  const flags = validateFlags(o.flags, 'options.flags', ['signal', 'subflow', 'backup', 'fullmesh', 'laminar']);
  if (port && (!(flags & ENDPOINT_FLAGS.signal) || (flags & ENDPOINT_FLAGS.subflow))) {
    throw errInvalidArgValue('options.port', port, "needs the 'signal' flag and not 'subflow'");
  }
  const ifindex = interfaceOf(o, zoneIfindex, 'options.address', o.address);
  const nested: Attr[] = addrAttr(family, bytes);
  if (id !== undefined) nested.push([ADDR.ID, u8(id)]);
  if (port) nested.push([ADDR.PORT, u16(port)]);
  nested.push([ADDR.FLAGS, u32(flags)]);
  if (ifindex !== undefined) nested.push([ADDR.IF_IDX, s32(ifindex)]);
  await call(CMD.ADD_ADDR, 'mptcp_pm add_addr', [[ATTR.ADDR, nested]]);
  const all = await list();
  const found = all.find((e) => (id !== undefined ? e.id === id : e.address === formatAddressBytes(bytes)));
  if (!found) throw netlinkError(os.errno.ENOENT, 'mptcp_pm add_addr', { message: 'the endpoint was added but is not listed' });
  return found;
}

/** Deletes the endpoint with this id (`ip mptcp endpoint delete id N`). */
async function deleteEndpoint(id: number): Promise<void> {
  validateId(id, 'id');
  await call(CMD.DEL_ADDR, 'mptcp_pm del_addr', [[ATTR.ADDR, [[ADDR.ID, u8(id)]]]]);
}
export { deleteEndpoint as delete };

/** Removes every endpoint (`ip mptcp endpoint flush`). */
export async function flush(): Promise<void> {
  await call(CMD.FLUSH_ADDRS, 'mptcp_pm flush_addrs', []);
}

/**
 * Sets the changeable flags of an endpoint, by id or by address
 * (`ip mptcp endpoint change ... [no]backup [no]fullmesh`). Only `backup` and
 * `fullmesh` can change; a flag left out is cleared. Live subflows over a
 * changed endpoint are told with MP_PRIO.
 */
export async function setFlags(idOrAddress: number | string, flags: EndpointFlag[]): Promise<void> {
  const bits = validateFlags(flags, 'flags', ['backup', 'fullmesh']);
  let nested: Attr[];
  if (typeof idOrAddress === 'number') {
    nested = [[ADDR.ID, u8(validateId(idOrAddress, 'idOrAddress'))]];
  } else if (typeof idOrAddress === 'string') {
    const { family, bytes } = validateAddress(idOrAddress, 'idOrAddress');
    nested = addrAttr(family, bytes);
  } else {
    throw errInvalidArgType('idOrAddress', ['number', 'string'], idOrAddress);
  }
  nested.push([ADDR.FLAGS, u32(bits)]);
  await call(CMD.SET_FLAGS, 'mptcp_pm set_flags', [[ATTR.ADDR, nested]]);
}

/** The in-kernel path manager's limits (`ip mptcp limits show`). */
export async function getLimits(): Promise<Limits> {
  const [m] = await call(CMD.GET_LIMITS, 'mptcp_pm get_limits', []);
  if (!m) throw netlinkError(os.errno.EPROTO, 'mptcp_pm get_limits', { message: 'no reply' });
  return {
    subflows: getU32(m.attrs, ATTR.SUBFLOWS, 'subflows limit') ?? 0,
    addAddrAccepted: getU32(m.attrs, ATTR.RCV_ADD_ADDRS, 'add_addr_accepted limit') ?? 0,
  };
}

/** Sets either limit or both (`ip mptcp limits set`); each is 0-8. Resolves with the new limits. */
export async function setLimits(limits: Partial<Limits>): Promise<Limits> {
  const o = validateObject(limits, 'limits');
  const subflows = validateLimit(o.subflows, 'limits.subflows');
  const accepted = validateLimit(o.addAddrAccepted, 'limits.addAddrAccepted');
  const attrs: Attr[] = [];
  if (accepted !== undefined) attrs.push([ATTR.RCV_ADD_ADDRS, u32(accepted)]);
  if (subflows !== undefined) attrs.push([ATTR.SUBFLOWS, u32(subflows)]);
  if (attrs.length > 0) await call(CMD.SET_LIMITS, 'mptcp_pm set_limits', attrs);
  return getLimits();
}

/** Closes the shared netlink socket (it is reopened on the next call). Never needed for exit: it does not keep the process alive. */
export function close(): void {
  shared?.sock.close();
  shared = null;
}

// ------------------------------------------------ userspace path manager ----
// Per connection, for namespaces running the userspace path manager
// (net.mptcp.path_manager=userspace, or pm_type=1 before 6.15). The
// connection is named by its token or by a socket the process holds.

const UCMD = { ANNOUNCE: 8, REMOVE: 9, SUBFLOW_CREATE: 10, SUBFLOW_DESTROY: 11 } as const;

/** A connection: its token (`getInfo(socket).token`), or the socket itself. */
export type ConnectionRef = number | import('node:net').Socket;

const tokenOf = (ref: unknown): number => connectionToken(ref, 'connection');
const validatePortArg = (port: unknown, name: string): number => validatePortNumber(port, name, false);

function endpointAttr(address: unknown, name: string, extra: Attr[] = []): Attr[] {
  const { family, bytes } = validateAddress(address, name);
  return [...addrAttr(family, bytes), ...extra];
}

/** Userspace PM: announces a local address to the peer (ADD_ADDR). `id` is 1-255. */
export async function announce(connection: ConnectionRef, address: { address: string; id: number; port?: number }): Promise<void> {
  const token = tokenOf(connection);
  const o = validateObject(address, 'address');
  const id = validateId(o.id, 'address.id');
  const extra: Attr[] = [[ADDR.ID, u8(id)], [ADDR.FLAGS, u32(ENDPOINT_FLAGS.signal)]];
  if (o.port !== undefined) extra.push([ADDR.PORT, u16(validatePortArg(o.port, 'address.port'))]);
  await call(UCMD.ANNOUNCE, 'mptcp_pm announce', [[ATTR.TOKEN, u32(token)], [ATTR.ADDR, endpointAttr(o.address, 'address.address', extra)]]);
}

/** Userspace PM: withdraws the address with this local id (RM_ADDR) and closes its subflows. */
export async function remove(connection: ConnectionRef, id: number): Promise<void> {
  const token = tokenOf(connection);
  await call(UCMD.REMOVE, 'mptcp_pm remove', [[ATTR.TOKEN, u32(token)], [ATTR.LOC_ID, u8(validateId(id, 'id'))]]);
}

export interface SubflowEnds {
  localAddress: string;
  /** Local address id for a new subflow (1-255; 0 would be reported as the initial address). */
  localId?: number;
  localPort?: number;
  remoteAddress: string;
  remotePort: number;
  ifname?: string;
  ifindex?: number;
}

/** Userspace PM: opens a new subflow (MP_JOIN) from a local address to a peer address. */
export async function createSubflow(connection: ConnectionRef, ends: SubflowEnds): Promise<void> {
  const token = tokenOf(connection);
  const o = validateObject(ends, 'ends');
  const localId = validateId(o.localId, 'ends.localId');
  const la = validateAddress(o.localAddress, 'ends.localAddress', true);
  const ifindex = interfaceOf(o, la.ifindex, 'ends.localAddress', o.localAddress);
  const local: Attr[] = [...addrAttr(la.family, la.bytes), [ADDR.ID, u8(localId)]];
  if (ifindex !== undefined) local.push([ADDR.IF_IDX, s32(ifindex)]);
  const remote = endpointAttr(o.remoteAddress, 'ends.remoteAddress', [[ADDR.PORT, u16(validatePortArg(o.remotePort, 'ends.remotePort'))]]);
  await call(UCMD.SUBFLOW_CREATE, 'mptcp_pm subflow_create', [[ATTR.TOKEN, u32(token)], [ATTR.ADDR, local], [ATTR.ADDR_REMOTE, remote]]);
}

/** Userspace PM: closes the subflow with these four address/port ends (see getSubflows). */
export async function destroySubflow(connection: ConnectionRef, ends: SubflowEnds): Promise<void> {
  const token = tokenOf(connection);
  const o = validateObject(ends, 'ends');
  const local = endpointAttr(o.localAddress, 'ends.localAddress', [[ADDR.PORT, u16(validatePortArg(o.localPort, 'ends.localPort'))]]);
  const remote = endpointAttr(o.remoteAddress, 'ends.remoteAddress', [[ADDR.PORT, u16(validatePortArg(o.remotePort, 'ends.remotePort'))]]);
  await call(UCMD.SUBFLOW_DESTROY, 'mptcp_pm subflow_destroy', [[ATTR.TOKEN, u32(token)], [ATTR.ADDR, local], [ATTR.ADDR_REMOTE, remote]]);
}

/** Userspace PM: marks a subflow as backup or not (MP_PRIO to the peer). */
export async function setBackup(connection: ConnectionRef, ends: SubflowEnds, backup: boolean): Promise<void> {
  const token = tokenOf(connection);
  const o = validateObject(ends, 'ends');
  if (typeof backup !== 'boolean') throw errInvalidArgType('backup', ['boolean'], backup);
  const localExtra: Attr[] = [[ADDR.FLAGS, u32(backup ? ENDPOINT_FLAGS.backup : 0)]];
  if (o.localPort !== undefined) localExtra.push([ADDR.PORT, u16(validatePortArg(o.localPort, 'ends.localPort'))]);
  const remote = endpointAttr(o.remoteAddress, 'ends.remoteAddress', [[ADDR.PORT, u16(validatePortArg(o.remotePort, 'ends.remotePort'))]]);
  await call(CMD.SET_FLAGS, 'mptcp_pm set_flags', [[ATTR.TOKEN, u32(token)], [ATTR.ADDR, endpointAttr(o.localAddress, 'ends.localAddress', localExtra)], [ATTR.ADDR_REMOTE, remote]]);
}

/** Userspace PM: the addresses this connection announced (Linux 6.9+). */
export async function listAnnounced(connection: ConnectionRef): Promise<Endpoint[]> {
  const token = tokenOf(connection);
  const msgs = await call(CMD.GET_ADDR, 'mptcp_pm get_addr', [[ATTR.TOKEN, u32(token)]], true);
  return msgs.map((m) => decodeEndpoint(m.attrs.get(ATTR.ADDR))).filter((e): e is Endpoint => e !== null);
}
