// The one sampling module behind both metrics outputs: the prom-client
// collectors (metrics.ts) and the standalone exporter's own text exposition
// (metrics-text.ts, `mptcp metrics`). It reads, at scrape time,
//   - the kernel's MPTCP MIB counters: the `MPTcpExt:` header/value line pair
//     of /proc/net/netstat (net/mptcp/mib.c), every field the kernel prints;
//   - the namespace's MPTCP connections, listeners and subflows (connections(),
//     the sock_diag request ss -M makes; subflows from each connection's
//     mptcp_info, no TCP dump needed);
//   - optionally the process's own tracked sockets (getInfo()).
// and describes them as metric families with Prometheus names. Nothing here
// loads prom-client.
import * as fs from 'node:fs';
import type * as net from 'node:net';
import { connections } from './diag';
import { getInfo } from './info';

/** A metric's type, as the exposition format's `# TYPE` names it. */
export type MetricType = 'counter' | 'gauge';

/** One sample: its labels and value. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** A metric family: name, help, type, label names and, once sampled, its samples. */
export interface Family {
  name: string;
  help: string;
  type: MetricType;
  labelNames: readonly string[];
  samples: Sample[];
}

/** A family before sampling: what to register, and how to read it from a {@link Snapshot}. */
export interface FamilyDescriptor extends Omit<Family, 'samples'> {
  pick: (s: Snapshot) => Sample[];
}

/** The namespace's MPTCP sockets, counted. */
export interface NamespaceCounts {
  connections: number;
  listeners: number;
  subflows: number;
  fallback: number;
}

/** What one tracked socket reports. */
export interface SocketSample {
  label: string;
  subflows: number;
  bytesSent: number;
  bytesReceived: number;
  bytesRetrans: number;
  retransmits: number;
}

/** One scrape's readings; a part that could not be read is null. */
export interface Snapshot {
  mib: Map<string, number> | null;
  namespace: NamespaceCounts | null;
  sockets: SocketSample[];
}

export const NETSTAT = '/proc/net/netstat';
const MIB_GROUP = 'MPTcpExt';
/** MIB fields that are current values (they go down), not event counts: gauges. */
const GAUGE_MIBS: ReadonlySet<string> = new Set(['MPCurrEstab']);

/**
 * The `MPTcpExt:` counters of a netstat file's text, by the kernel's names,
 * in the kernel's order; null when the file has no such group (no MPTCP).
 */
export function parseNetstat(text: string): Map<string, number> | null {
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i].startsWith(`${MIB_GROUP}:`) || !lines[i + 1].startsWith(`${MIB_GROUP}:`)) continue;
    const names = lines[i].split(/\s+/).filter(Boolean).slice(1);
    const values = lines[i + 1].split(/\s+/).filter(Boolean).slice(1);
    if (names.length !== values.length) return null;
    const out = new Map<string, number>();
    names.forEach((n, j) => out.set(n, Number(values[j])));
    return out;
  }
  return null;
}

/** The MPTCP MIB of this network namespace (see {@link parseNetstat}); null when unreadable. */
export function readMib(file = NETSTAT): Map<string, number> | null {
  try {
    return parseNetstat(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * The kernel's CamelCase MIB name in snake_case: a word starts at each
 * capital after a lower-case letter or digit, and at the last capital of a
 * run of capitals followed by a lower-case letter. `MPCapableSYNRX` ->
 * `mp_capable_synrx`, `MPJoinSynAckHMacFailure` -> `mp_join_syn_ack_h_mac_failure`,
 * `MPTCPRetrans` -> `mptcp_retrans`.
 */
export function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2').toLowerCase();
}

/** The series name of a MIB field: `mptcp_mib_<snake_case>_total`, without `_total` for a gauge (MPCurrEstab). */
export function mibSeriesName(field: string): string {
  return `mptcp_mib_${snakeCase(field)}${GAUGE_MIBS.has(field) ? '' : '_total'}`;
}

/** The namespace gauges' names. */
export const SERIES = {
  connections: 'mptcp_connections',
  listeners: 'mptcp_listeners',
  subflows: 'mptcp_subflows',
  fallback: 'mptcp_connections_fallback',
  collectorSuccess: 'mptcp_collector_success',
  socketSubflows: 'mptcp_socket_subflows',
  socketBytesSent: 'mptcp_socket_bytes_sent_total',
  socketBytesReceived: 'mptcp_socket_bytes_received_total',
  socketBytesRetrans: 'mptcp_socket_bytes_retransmitted_total',
  socketRetransmits: 'mptcp_socket_retransmits_total',
} as const;

const one = (value: number | undefined): Sample[] => (value === undefined ? [] : [{ labels: {}, value }]);

/** The MIB families for these kernel field names (in the kernel's order). */
export function mibDescriptors(fields: Iterable<string>): FamilyDescriptor[] {
  return [...fields].map((field) => ({
    name: mibSeriesName(field),
    help: `MPTCP MIB ${field}: ${GAUGE_MIBS.has(field) ? 'current value' : 'events counted'} by the kernel (/proc/net/netstat ${MIB_GROUP}).`,
    type: GAUGE_MIBS.has(field) ? 'gauge' : 'counter',
    labelNames: [],
    pick: (s) => one(s.mib?.get(field)),
  }));
}

// NaN when sock_diag could not be asked (mptcp_collector_success{collector="connections"} says 0).
const ns = (k: keyof NamespaceCounts) => (s: Snapshot): Sample[] => one(s.namespace ? s.namespace[k] : NaN);
const perSocket = (k: keyof Omit<SocketSample, 'label'>) => (s: Snapshot): Sample[] =>
  s.sockets.map((x) => ({ labels: { connection: x.label }, value: x[k] }));

/** The namespace and collector-status families. */
export const NAMESPACE_DESCRIPTORS: readonly FamilyDescriptor[] = [
  { name: SERIES.connections, help: 'MPTCP connections in this network namespace, listeners and sockets in CLOSE not included (ss -M).', type: 'gauge', labelNames: [], pick: ns('connections') },
  { name: SERIES.listeners, help: 'Listening MPTCP sockets in this network namespace.', type: 'gauge', labelNames: [], pick: ns('listeners') },
  { name: SERIES.subflows, help: "Subflows of this network namespace's MPTCP connections (from each connection's mptcp_info).", type: 'gauge', labelNames: [], pick: ns('subflows') },
  { name: SERIES.fallback, help: 'MPTCP connections of this network namespace that fell back to TCP.', type: 'gauge', labelNames: [], pick: ns('fallback') },
  {
    name: SERIES.collectorSuccess,
    help: 'Whether the last scrape read a source: mib (/proc/net/netstat MPTcpExt), connections (sock_diag); 1 or 0.',
    type: 'gauge',
    labelNames: ['collector'],
    pick: (s) => [
      { labels: { collector: 'mib' }, value: s.mib ? 1 : 0 },
      { labels: { collector: 'connections' }, value: s.namespace ? 1 : 0 },
    ],
  },
];

/** The per-socket families (label `connection`: the tracked socket's name). */
export const SOCKET_DESCRIPTORS: readonly FamilyDescriptor[] = [
  { name: SERIES.socketSubflows, help: 'Subflows of a tracked MPTCP socket of this process.', type: 'gauge', labelNames: ['connection'], pick: perSocket('subflows') },
  { name: SERIES.socketBytesSent, help: 'MPTCP-level payload bytes a tracked socket sent (mptcp_info bytes_sent).', type: 'counter', labelNames: ['connection'], pick: perSocket('bytesSent') },
  { name: SERIES.socketBytesReceived, help: 'MPTCP-level payload bytes a tracked socket received (mptcp_info bytes_received).', type: 'counter', labelNames: ['connection'], pick: perSocket('bytesReceived') },
  { name: SERIES.socketBytesRetrans, help: 'MPTCP-level bytes a tracked socket retransmitted (mptcp_info bytes_retrans).', type: 'counter', labelNames: ['connection'], pick: perSocket('bytesRetrans') },
  { name: SERIES.socketRetransmits, help: 'MPTCP-level retransmissions of a tracked socket (mptcp_info retransmits).', type: 'counter', labelNames: ['connection'], pick: perSocket('retransmits') },
];

/** Counts the namespace's MPTCP sockets; rejects when sock_diag cannot be asked. */
export async function countNamespace(): Promise<NamespaceCounts> {
  const list = await connections({ listening: true });
  const counts: NamespaceCounts = { connections: 0, listeners: 0, subflows: 0, fallback: 0 };
  for (const c of list) {
    if (c.state === 'LISTEN') {
      counts.listeners++;
      continue;
    }
    // A socket in CLOSE is no connection: made and not connected yet, or
    // closed and not yet freed by the kernel (ss -M lists it as UNCONN).
    if (c.state === 'CLOSE') continue;
    counts.connections++;
    if (c.info) {
      counts.subflows += c.info.subflowsTotal ?? c.info.subflows + 1;
      if (c.info.fallback) counts.fallback++;
    }
  }
  return counts;
}

/** A tracked socket's readings; null when it is not (or no longer) an MPTCP connection. */
export function sampleSocket(label: string, socket: net.Socket): SocketSample | null {
  let info;
  try {
    info = getInfo(socket);
  } catch {
    return null;
  }
  if (!info) return null;
  return {
    label,
    subflows: info.subflowsTotal ?? info.subflows + 1,
    bytesSent: Number(info.bytesSent ?? 0n),
    bytesReceived: Number(info.bytesReceived ?? 0n),
    bytesRetrans: Number(info.bytesRetrans ?? 0n),
    retransmits: info.retransmits ?? 0,
  };
}

/** Reads everything once: the MIB, the namespace's counts, and the given sockets. */
export async function snapshot(sockets: Iterable<[string, net.Socket]> = [], netstat = NETSTAT): Promise<Snapshot> {
  const mib = readMib(netstat);
  let namespace: NamespaceCounts | null;
  try {
    namespace = await countNamespace();
  } catch {
    namespace = null;
  }
  const out: SocketSample[] = [];
  for (const [label, s] of sockets) {
    const x = sampleSocket(label, s);
    if (x) out.push(x);
  }
  return { mib, namespace, sockets: out };
}

/** Every family with its samples, as the exporter serves them: MIB (this kernel's fields), namespace, then sockets. */
export function families(s: Snapshot, withSockets = false): Family[] {
  const descriptors = [...mibDescriptors(s.mib?.keys() ?? []), ...NAMESPACE_DESCRIPTORS, ...(withSockets ? SOCKET_DESCRIPTORS : [])];
  return descriptors.map((d) => ({ name: d.name, help: d.help, type: d.type, labelNames: d.labelNames, samples: d.pick(s) }));
}

/**
 * Shares one {@link snapshot} among the collectors of one scrape: prom-client
 * calls every metric's collect() at once (Promise.all), so the first call
 * starts the reading and the others join it until it settles.
 */
export class SharedSampler {
  private pending: Promise<Snapshot> | null = null;
  constructor(private readonly sockets: () => Iterable<[string, net.Socket]>) {}

  sample(): Promise<Snapshot> {
    if (!this.pending) {
      const p = snapshot(this.sockets());
      this.pending = p;
      // Kept for the rest of this turn so that every collector of the scrape joins it.
      void p.finally(() => setImmediate(() => { if (this.pending === p) this.pending = null; }));
    }
    return this.pending;
  }
}
