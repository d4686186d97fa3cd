// The `mptcp` command's output: endpoints, limits, status and events as the
// text lines it prints (the shapes `ip mptcp` prints), and as JSON. Pure
// functions of their input; main.ts writes what they return.
import type { MptcpEvent } from '../monitor';
import type { Endpoint, Limits } from '../pm';
import type { SupportInfo } from '../support';

/** What `mptcp status` reports (its `--json` shape, in this key order). */
export interface Status {
  support: SupportInfo;
  /** `/proc/sys/net/mptcp/*` by name, sorted. */
  sysctls: Record<string, string>;
  /** null when the path manager could not be asked (see pathManagerError). */
  limits: Limits | null;
  endpoints: Endpoint[] | null;
  /** The path manager's error message, when asking it failed. */
  pathManagerError?: string;
}

/** One endpoint as `ip mptcp endpoint show` prints it, without the trailing space: `10.0.0.1 port 80 id 3 signal dev eth0`. */
export function endpointLine(e: Endpoint): string {
  let s = `${e.address}`;
  if (e.port) s += ` port ${e.port}`;
  s += ` id ${e.id}`;
  if (e.flags.length) s += ` ${e.flags.join(' ')}`;
  if (e.unknownFlags) s += ` rawflags 0x${e.unknownFlags.toString(16)}`;
  if (e.ifname) s += ` dev ${e.ifname}`;
  else if (e.ifindex) s += ` ifindex ${e.ifindex}`;
  return s;
}

/** `endpoint list`: one line per endpoint, or `(no endpoints)`. */
export function endpointListText(endpoints: readonly Endpoint[]): string {
  return endpoints.map(endpointLine).join('\n') || '(no endpoints)';
}

/** The limits: `subflows 2 add_addr_accepted 1`. */
export function limitsLine(l: Limits): string {
  return `subflows ${l.subflows} add_addr_accepted ${l.addAddrAccepted}`;
}

/** `endpoint delete`: the text line. */
export function deletedText(id: number): string {
  return `deleted endpoint ${id}`;
}

/** `endpoint flush`: the text line. */
export const FLUSHED_TEXT = 'all endpoints deleted';

/** `mptcp status` as text lines. */
export function statusLines(status: Status): string[] {
  const { support } = status;
  const lines = [
    `MPTCP: ${support.available ? 'available' : `unavailable (${support.reason})`}`,
    `switch: ${support.scope === null ? 'not loaded' : `${support.scope} (mptcp/register, NODE_MPTCP)`}`,
    `kernel features: ${Object.entries(support.features).map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`).join(', ')}`,
    'sysctls:',
    ...Object.entries(status.sysctls).map(([k, v]) => `  net.mptcp.${k} = ${v}`),
  ];
  if (status.limits) lines.push(`limits: ${limitsLine(status.limits)}`);
  if (status.endpoints) lines.push(`endpoints: ${status.endpoints.length ? '' : 'none'}`, ...status.endpoints.map((e) => `  ${endpointLine(e)}`));
  if (status.pathManagerError) lines.push(`path manager: ${status.pathManagerError}`);
  return lines;
}

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

/**
 * One event as `ip mptcp monitor` prints it:
 * `[created] token=404b4e83 locid=0 remid=0 saddr=10.0.1.1 daddr=10.0.1.2 sport=43674 dport=38757`.
 */
export function eventLine(e: MptcpEvent): string {
  const parts = [`[${e.type}]`];
  if (e.token !== undefined) parts.push(`token=${hex8(e.token)}`);
  if (e.localId !== undefined) parts.push(`locid=${e.localId}`);
  if (e.remoteId !== undefined) parts.push(`remid=${e.remoteId}`);
  if (e.localAddress !== undefined) parts.push(`saddr=${e.localAddress}`);
  if (e.remoteAddress !== undefined) parts.push(`daddr=${e.remoteAddress}`);
  if (e.localPort !== undefined) parts.push(`sport=${e.localPort}`);
  if (e.remotePort !== undefined) parts.push(`dport=${e.remotePort}`);
  if (e.backup !== undefined) parts.push(`backup=${e.backup ? 1 : 0}`);
  if (e.ifindex !== undefined) parts.push(`ifindex=${e.ifindex}`);
  if (e.error !== undefined) parts.push(`error=${e.error}`);
  if (e.resetReasonName !== undefined) parts.push(`reset_reason=${e.resetReasonName}`);
  if (e.serverSide) parts.push('server_side');
  return parts.join(' ');
}

/**
 * One event for `monitor --json`: the event object on one line, its token
 * written as the text line, `ss -M` and `ip mptcp monitor` write it (eight
 * hex digits), so that the two outputs can be matched.
 */
export function eventJson(e: MptcpEvent): string {
  return JSON.stringify(e.token === undefined ? e : { ...e, token: hex8(e.token) });
}

/** The stderr line once the monitor is subscribed. */
export const MONITOR_READY_TEXT = 'listening for MPTCP events (Ctrl+C stops)';

/** The stderr line for a monitor overrun (the kernel dropped events); `overruns` counts them so far. */
export function overrunLine(overruns: number): string {
  return `mptcp: events lost: the kernel dropped events (receive buffer full; ${overruns} overrun${overruns === 1 ? '' : 's'} so far)`;
}

/** The stderr line for a monitor warning (a message that did not parse; the monitor goes on). */
export function warningLine(w: { message: string }): string {
  return `mptcp: ${w.message}`;
}

/** A command's result as `--json` prints it (indented by 2). */
export function resultJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** What the CLI prints for an error under `--json` (on one line, on stderr). */
export function errorJson(error: { code?: unknown; message: string; kernelMessage?: unknown }): string {
  return JSON.stringify({ error: { code: error.code, message: error.message, kernelMessage: error.kernelMessage } });
}
