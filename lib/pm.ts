// The in-kernel path manager over generic netlink (family `mptcp_pm`):
// endpoints and limits of the calling process's network namespace, the same
// objects `ip mptcp endpoint` and `ip mptcp limits` manage. No iproute2,
// libnl or mptcpd at run time. The userspace path manager's per-connection
// calls are in pm-userspace.ts; both are `mptcp.pm`.
import { constants as os } from 'node:os';
import { formatAddressBytes } from './decode';
import { errInvalidArgType, errInvalidArgValue } from './errors';
import { getU32, netlinkError, s32, u16, u32, u8, type Attr } from './netlink';
import {
  ADDR, ATTR, CMD, ENDPOINT_FLAGS, addrAttr, call, closeChannel, decodeEndpoint, interfaceOf, validateAddress, validateFlags,
  validateId, validateLimit, type AddEndpointOptions, type Endpoint, type EndpointFlag, type Limits,
} from './pm-common';
import { validateObject, validatePortNumber } from './validators';

export { ENDPOINT_FLAGS, decodeEndpoint, type AddEndpointOptions, type Endpoint, type EndpointFlag, type Limits } from './pm-common';
export * from './pm-userspace';

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
  closeChannel();
}

