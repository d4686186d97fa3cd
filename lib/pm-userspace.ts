// The userspace path manager over generic netlink: per connection, for
// namespaces running it (net.mptcp.path_manager=userspace, or pm_type=1
// before 6.15). The connection is named by its token or by a socket the
// process holds. Part of `mptcp.pm` (see pm.ts).
import type * as net from 'node:net';
import { errInvalidArgType } from './errors';
import { connectionToken } from './info';
import { s32, u16, u32, u8, type Attr } from './netlink';
import {
  ADDR, ATTR, CMD, ENDPOINT_FLAGS, addrAttr, call, decodeEndpoint, interfaceOf, validateAddress, validateId, type Endpoint,
} from './pm-common';
import { validateObject, validatePortNumber } from './validators';

const UCMD = { ANNOUNCE: 8, REMOVE: 9, SUBFLOW_CREATE: 10, SUBFLOW_DESTROY: 11 } as const;

/** A connection: its token (`getInfo(socket).token`), or the socket itself. */
export type ConnectionRef = number | net.Socket;

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

/** The two ends of a subflow, as {@link getSubflows} lists them; what each userspace-PM call needs of them is said there. */
export interface SubflowEnds {
  /** The local address; for createSubflow an IPv6 zone names the interface. */
  localAddress: string;
  /** Local address id for a new subflow (1-255; 0 would be reported as the initial address). */
  localId?: number;
  /** The local port (destroySubflow; setBackup when several subflows share the address). */
  localPort?: number;
  /** The peer's address. */
  remoteAddress: string;
  /** The peer's port. */
  remotePort: number;
  /** createSubflow: the interface to bind the new subflow to, by name. */
  ifname?: string;
  /** createSubflow: the interface to bind the new subflow to, by index. */
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
