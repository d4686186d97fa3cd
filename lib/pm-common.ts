// What the path-manager calls (pm.ts, pm-userspace.ts) share: the generic
// netlink family `mptcp_pm` and its attributes (kernel-abi.md 5.2-5.4), the
// process-wide channel to it, argument validation and endpoint decoding.
import { constants as os } from 'node:os';
import { getBinding } from './binding';
import { AF_INET, AF_INET6, formatAddressBytes } from './decode';
import { errInvalidArgType, errInvalidArgValue } from './errors';
import { validateInteger, validateIp, validateString } from './validators';
import {
  GenlSocket, getS32, getU16, getU32, getU8, netlinkError, parseAttrs, u16,
  type Attr, type GenlFamily, type GenlMessage,
} from './netlink';

export const FAMILY_NAME = 'mptcp_pm';
const PM_VERSION = 1;

export const CMD = { ADD_ADDR: 1, DEL_ADDR: 2, GET_ADDR: 3, FLUSH_ADDRS: 4, SET_LIMITS: 5, GET_LIMITS: 6, SET_FLAGS: 7 } as const;
export const ATTR = { ADDR: 1, RCV_ADD_ADDRS: 2, SUBFLOWS: 3, TOKEN: 4, LOC_ID: 5, ADDR_REMOTE: 6 } as const;
export const ADDR = { FAMILY: 1, ID: 2, ADDR4: 3, ADDR6: 4, PORT: 5, FLAGS: 6, IF_IDX: 7 } as const;

/** Endpoint flags by name (MPTCP_PM_ADDR_FLAG_*). */
export const ENDPOINT_FLAGS = {
  signal: 1 << 0,
  subflow: 1 << 1,
  backup: 1 << 2,
  fullmesh: 1 << 3,
  implicit: 1 << 4,
  laminar: 1 << 5,
} as const;

/** An endpoint flag's name: a key of {@link ENDPOINT_FLAGS} (`implicit` is set by the kernel only). */
export type EndpointFlag = keyof typeof ENDPOINT_FLAGS;

/** An in-kernel path-manager endpoint, as `ip mptcp endpoint show` lists it. */
export interface Endpoint {
  /** The endpoint's id (1-255), which `delete`, `get` and `setFlags` take. */
  id: number;
  /** The local IP address, as Node writes addresses (`'10.0.2.1'`, `'fe80::1'`). */
  address: string;
  /** 4 or 6. */
  family: 4 | 6;
  /** Present when the endpoint has a port (signal endpoints with a listener). */
  port?: number;
  /** The endpoint's flags by name. */
  flags: EndpointFlag[];
  /** Flag bits this library has no name for, if any. */
  unknownFlags?: number;
  /** The interface the endpoint is bound to, when bound (`dev` in `ip mptcp`). */
  ifindex?: number;
  /** That interface's name in this namespace, when it still exists. */
  ifname?: string;
}

export interface AddEndpointOptions {
  /** A local IP address; an IPv6 zone (`fe80::1%eth1`) names the interface. */
  address: string;
  /** 1-255; the kernel picks one when absent. */
  id?: number;
  /** For a `signal` endpoint: the port to announce (the kernel then listens on it). */
  port?: number;
  /** `signal`, `subflow`, `backup`, `fullmesh` (not with `signal`), `laminar` (6.18+). */
  flags?: EndpointFlag[];
  /** The interface to bind the endpoint to, by name (or give `ifindex`). */
  ifname?: string;
  /** The interface to bind the endpoint to, by index. */
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

export async function call(cmd: number, name: string, attrs: Attr[], dump = false): Promise<GenlMessage[]> {
  const { sock, family } = await channel();
  return sock.request(family.id, cmd, PM_VERSION, attrs, { dump, syscall: name });
}

// -------------------------------------------------------- validation ----

/** An endpoint or address id: 1-255. */
export function validateId(id: unknown, name: string): number {
  return validateInteger(id, name, 1, 255);
}

/**
 * An IP literal. An IPv6 zone (`fe80::1%eth0`, `%3`) is returned where the
 * call can honour it as the interface (`zone: true`), and rejected elsewhere
 * rather than dropped.
 */
export function validateAddress(value: unknown, name: string, zone = false): { family: 4 | 6; bytes: Buffer; ifindex?: number } {
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
export function interfaceOf(opts: Record<string, unknown>, zoneIfindex: number | undefined, name: string, address: unknown): number | undefined {
  const idx = ifindexOf(opts);
  if (zoneIfindex !== undefined && idx !== undefined && idx !== zoneIfindex) {
    throw errInvalidArgValue(name, address, 'has a zone naming another interface than ifname / ifindex');
  }
  return idx ?? zoneIfindex;
}

/** The 4 or 16 bytes of an IP address in text form (a zone is dropped). */
export function ipBytes(address: string, family: 4 | 6): Buffer {
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

export function validateFlags(flags: unknown, name: string, allowed: readonly EndpointFlag[]): number {
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
export function validateLimit(v: unknown, name: string): number | undefined {
  return v === undefined ? undefined : validateInteger(v, name, 0, 8);
}

export function ifindexOf(opts: Record<string, unknown>): number | undefined {
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

export function addrAttr(family: 4 | 6, bytes: Buffer): Attr[] {
  return [[ADDR.FAMILY, u16(family === 4 ? AF_INET : AF_INET6)], [family === 4 ? ADDR.ADDR4 : ADDR.ADDR6, bytes]];
}

/** Closes the shared netlink socket (the next call opens another). */
export function closeChannel(): void {
  shared?.sock.close();
  shared = null;
}
