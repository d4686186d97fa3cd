// `mptcp top`'s view: two samples of the namespace's MPTCP connections (what
// mptcp.connections({ subflows: true }) returns, with the MPTcpExt MIB of
// /proc/net/netstat) become rows with rates from the byte-counter deltas,
// sorted, and then text lines or a JSON line. Pure functions of their input;
// main.ts takes the samples, keeps the clock and writes what these return.
import type { Connection, ConnectionSubflow } from '../diag';

/** One look at the namespace. */
export interface TopSample {
  /** When it was taken, milliseconds on a monotonic clock (rates divide by the difference). */
  at: number;
  /** When it was taken, milliseconds since the epoch (printed). */
  wall: number;
  connections: Connection[];
  /** The MPTcpExt counters of /proc/net/netstat by name; null when unreadable. */
  mib: Record<string, number> | null;
}

/** What rows are sorted by, largest first: send + receive rate, the slowest subflow's RTT, the number of subflows. */
export const SORT_KEYS = ['rate', 'rtt', 'subflows'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** The sort key after `key` (the `s` key). */
export function nextSort(key: SortKey): SortKey {
  return SORT_KEYS[(SORT_KEYS.indexOf(key) + 1) % SORT_KEYS.length];
}

/** One subflow's row. Rates are bytes per second over the interval, null without an earlier sample of it. */
export interface SubflowRow {
  id: number | null;
  localId: number;
  remoteId: number;
  join: boolean;
  backup: boolean;
  backupRemote: boolean;
  state: string;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** Smoothed RTT, microseconds. */
  rtt: number;
  /** Congestion window, segments. */
  cwnd: number;
  /** tcpi_bytes_sent per second (retransmissions included). */
  sendRate: number | null;
  /** tcpi_bytes_received per second. */
  receiveRate: number | null;
  bytesSent: number | null;
  bytesAcked: number | null;
  bytesReceived: number | null;
  /** Retransmitted segments so far (tcpi_total_retrans). */
  totalRetrans: number;
}

/** One connection's row and its subflows' (the initial subflow first). */
export interface ConnectionRow {
  /** The local token as 8 hex digits (as `ss -M` prints it); null when the kernel sent no mptcp_info. */
  token: string | null;
  family: 'IPv4' | 'IPv6';
  state: string;
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** The connection fell back to TCP. */
  fallback: boolean;
  /** MPTCP-level payload bytes per second (mptcpi_bytes_sent / _received deltas; the subflows' sum on kernels without them). */
  sendRate: number | null;
  receiveRate: number | null;
  bytesSent: number | null;
  bytesReceived: number | null;
  /** The largest subflow RTT, microseconds; null without subflows. */
  rtt: number | null;
  /** The subflows' retransmitted segments, summed. */
  totalRetrans: number;
  subflows: SubflowRow[];
}

/** The fallback counters of the MIB: their sum and each (every `*Fallback*` counter but FallbackFailed). */
export interface FallbackCounters {
  total: number;
  counters: Record<string, number>;
}

/** One block of `mptcp top` (its `--json` shape, in this key order). */
export interface TopView {
  /** The sample's time, ISO 8601. */
  time: string;
  /** Seconds since the previous sample; null for the first. */
  seconds: number | null;
  sort: SortKey;
  totals: {
    connections: number;
    subflows: number;
    /** Connections listed that fell back to TCP. */
    fallback: number;
    /** The namespace's MIB fallback counters since it was created; null when unreadable. */
    mibFallbacks: FallbackCounters | null;
  };
  connections: ConnectionRow[];
}

/** The MIB counters printed by name in the text form (the fallbacks of a connection's start). */
export const MAIN_FALLBACK_COUNTERS = ['MPCapableFallbackACK', 'MPCapableFallbackSYNACK', 'MPFallbackTokenInit'] as const;

/** The `MPTcpExt:` counters of /proc/net/netstat (or /proc/net/snmp's format: a line of names, a line of values). */
export function parseNetstat(text: string): Record<string, number> | null {
  const lines = text.split('\n').filter((l) => l.startsWith('MPTcpExt:'));
  if (lines.length < 2) return null;
  const names = lines[0].split(/\s+/).slice(1).filter(Boolean);
  const values = lines[1].split(/\s+/).slice(1).filter(Boolean);
  if (names.length !== values.length) return null;
  const out: Record<string, number> = {};
  for (const [i, n] of names.entries()) out[n] = Number(values[i]);
  return out;
}

/** The fallback counters of a MIB (see {@link FallbackCounters}). */
export function fallbackCounters(mib: Record<string, number> | null): FallbackCounters | null {
  if (!mib) return null;
  const counters: Record<string, number> = {};
  let total = 0;
  for (const [k, v] of Object.entries(mib)) {
    if (!k.includes('Fallback') || k === 'FallbackFailed') continue;
    counters[k] = v;
    total += v;
  }
  return { total, counters };
}

const num = (v: bigint | undefined): number | null => (v === undefined ? null : Number(v));

/** Bytes per second between two counter readings; null when one is missing, no time passed, or the counter went back. */
export function rate(prev: number | null | undefined, cur: number | null | undefined, seconds: number | null): number | null {
  if (prev === null || prev === undefined || cur === null || cur === undefined || seconds === null || seconds <= 0 || cur < prev) return null;
  return (cur - prev) / seconds;
}

const endpoints = (x: { localAddress: string; localPort: number; remoteAddress: string; remotePort: number }): string =>
  `${x.localAddress}:${x.localPort}>${x.remoteAddress}:${x.remotePort}`;
const connKey = (c: Connection): string => `${c.inode}|${c.token ?? '-'}|${endpoints(c)}`;
const subflowKey = (s: ConnectionSubflow): string => `${s.inode}|${endpoints(s)}`;

/** A token as 8 hex digits. */
export const hex8 = (n: number): string => n.toString(16).padStart(8, '0');

function sum(values: (number | null)[]): number | null {
  return values.some((v) => v === null) || values.length === 0 ? null : values.reduce<number>((a, v) => a + v!, 0);
}

/** Sorts rows in place by `key`, largest first; ties by token, then addresses. */
export function sortRows(rows: ConnectionRow[], key: SortKey): ConnectionRow[] {
  const metric = (r: ConnectionRow): number => {
    if (key === 'rate') return (r.sendRate ?? -1) + (r.receiveRate ?? 0);
    if (key === 'rtt') return r.rtt ?? -1;
    return r.subflows.length;
  };
  return rows.sort((a, b) => metric(b) - metric(a) || (a.token ?? '').localeCompare(b.token ?? '') || endpoints(a).localeCompare(endpoints(b)));
}

/** The view of `cur`, with rates against `prev` (null: the first sample, no rates). */
export function buildView(prev: TopSample | null, cur: TopSample, sort: SortKey): TopView {
  const seconds = prev ? (cur.at - prev.at) / 1000 : null;
  const before = new Map<string, Connection>();
  for (const c of prev?.connections ?? []) before.set(connKey(c), c);
  const rows: ConnectionRow[] = cur.connections.map((c) => {
    const old = before.get(connKey(c));
    const oldSubflows = new Map((old?.subflows ?? []).map((s) => [subflowKey(s), s]));
    const subflows = (c.subflows ?? []).map((s): SubflowRow => {
      const o = oldSubflows.get(subflowKey(s));
      const bytesSent = num(s.bytesSent);
      const bytesReceived = num(s.bytesReceived);
      return {
        id: s.id ?? null, localId: s.localId, remoteId: s.remoteId, join: s.join, backup: s.backup, backupRemote: s.backupRemote,
        state: s.state, localAddress: s.localAddress, localPort: s.localPort, remoteAddress: s.remoteAddress, remotePort: s.remotePort,
        rtt: s.rtt, cwnd: s.cwnd,
        sendRate: o ? rate(num(o.bytesSent), bytesSent, seconds) : null,
        receiveRate: o ? rate(num(o.bytesReceived), bytesReceived, seconds) : null,
        bytesSent, bytesAcked: num(s.bytesAcked), bytesReceived, totalRetrans: s.totalRetrans,
      };
    });
    const info = c.info;
    const hasBytes = info?.bytesSent !== undefined && info.bytesReceived !== undefined;
    const bytesSent = num(info?.bytesSent);
    const bytesReceived = num(info?.bytesReceived);
    return {
      token: c.token === undefined ? null : hex8(c.token),
      family: c.family, state: c.state,
      localAddress: c.localAddress, localPort: c.localPort, remoteAddress: c.remoteAddress, remotePort: c.remotePort,
      fallback: info?.fallback ?? false,
      sendRate: !old ? null : hasBytes ? rate(num(old.info?.bytesSent), bytesSent, seconds) : sum(subflows.map((s) => s.sendRate)),
      receiveRate: !old ? null : hasBytes ? rate(num(old.info?.bytesReceived), bytesReceived, seconds) : sum(subflows.map((s) => s.receiveRate)),
      bytesSent, bytesReceived,
      rtt: subflows.length ? Math.max(...subflows.map((s) => s.rtt)) : null,
      totalRetrans: subflows.reduce((a, s) => a + s.totalRetrans, 0),
      subflows,
    };
  });
  sortRows(rows, sort);
  return {
    time: new Date(cur.wall).toISOString(),
    seconds,
    sort,
    totals: {
      connections: rows.length,
      subflows: rows.reduce((a, r) => a + r.subflows.length, 0),
      fallback: rows.filter((r) => r.fallback).length,
      mibFallbacks: fallbackCounters(cur.mib),
    },
    connections: rows,
  };
}

// -------------------------------------------------------------- text ----

/** Bytes per second for people: `0 B/s`, `950 B/s`, `12.3 kB/s`, `1.20 MB/s` (SI, 3 significant digits); `-` when unknown. */
export function formatRate(bps: number | null): string {
  if (bps === null) return '-';
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'];
  let v = bps;
  let i = 0;
  while (v >= 999.5 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  if (i === 0) return `${Math.round(v)} B/s`;
  return `${v.toPrecision(3)} ${units[i]}`;
}

/** An RTT in microseconds as milliseconds: `0.05ms`, `12.3ms`, `250ms`; `-` when unknown. */
export function formatRtt(us: number | null): string {
  if (us === null) return '-';
  const ms = us / 1000;
  return `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)}ms`;
}

const host = (address: string, port: number): string => (address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);

/** The table's columns: header, and whether right-aligned. */
export const COLUMNS = [
  ['TOKEN', false], ['STATE', false], ['LOCAL', false], ['REMOTE', false], ['SF', true], ['FLAGS', false],
  ['RTT', true], ['CWND', true], ['SEND', true], ['RECV', true], ['RETRANS', true],
] as const;

function connectionCells(r: ConnectionRow): string[] {
  return [
    r.token ?? '-', r.state, host(r.localAddress, r.localPort), host(r.remoteAddress, r.remotePort), String(r.subflows.length),
    r.fallback ? 'fallback' : '', formatRtt(r.rtt), '', formatRate(r.sendRate), formatRate(r.receiveRate), String(r.totalRetrans),
  ];
}

function subflowCells(s: SubflowRow): string[] {
  const flags = [s.join ? 'join' : 'initial'];
  if (s.backup) flags.push('backup');
  if (s.backupRemote) flags.push('backup-peer');
  return [
    `  ${s.localId}/${s.remoteId}`, s.state, host(s.localAddress, s.localPort), host(s.remoteAddress, s.remotePort), '',
    flags.join(','), formatRtt(s.rtt), String(s.cwnd), formatRate(s.sendRate), formatRate(s.receiveRate), String(s.totalRetrans),
  ];
}

/** Table rows as aligned lines (every line the same length: columns padded to their widest cell, two spaces apart). */
export function table(rows: string[][]): string[] {
  const widths = COLUMNS.map(([h], i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (COLUMNS[i][1] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(COLUMNS.map(([h]) => h)), ...rows.map(line)];
}

/** The summary line of the totals. */
export function totalsLine(v: TopView): string {
  const t = v.totals;
  let s = `connections ${t.connections}  subflows ${t.subflows}  fallback ${t.fallback}`;
  if (t.mibFallbacks) {
    const main = MAIN_FALLBACK_COUNTERS.filter((k) => k in t.mibFallbacks!.counters).map((k) => `${k} ${t.mibFallbacks!.counters[k]}`);
    s += `  MIB fallbacks ${t.mibFallbacks.total}${main.length ? ` (${main.join(', ')})` : ''}`;
  }
  return s;
}

/** A time of day, HH:MM:SS in local time. */
const clock = (iso: string): string => new Date(iso).toTimeString().slice(0, 8);

/**
 * One block as text: a title line, the totals, the table (a connection, then
 * its subflows indented, their ids `local/remote` in the TOKEN column).
 * `keys`: mention the keys (the TTY view).
 */
export function viewLines(v: TopView, opts: { keys?: boolean } = {}): string[] {
  const every = v.seconds === null ? '' : `  over ${v.seconds.toFixed(1)}s`;
  const title = `mptcp top  ${clock(v.time)}${every}  sort ${v.sort}${opts.keys ? '  (s: sort, q: quit)' : ''}`;
  const rows: string[][] = [];
  for (const c of v.connections) {
    rows.push(connectionCells(c));
    for (const s of c.subflows) rows.push(subflowCells(s));
  }
  const lines = [title, totalsLine(v)];
  if (!rows.length) return [...lines, '(no MPTCP connections)'];
  return [...lines, ...table(rows)];
}

/** One block as `--json` prints it: the view on one line. */
export function viewJson(v: TopView): string {
  return JSON.stringify(v);
}

/**
 * A full-screen frame for a terminal of `columns` x `rows`: cursor home,
 * each line cut to the width and cleared to its end, the rest of the screen
 * cleared; lines past the height become a `... N more` line.
 */
export function frame(lines: readonly string[], columns: number, rows: number): string {
  let shown = [...lines];
  if (rows > 0 && shown.length > rows) {
    const more = shown.length - rows + 1;
    shown = [...shown.slice(0, rows - 1), `... ${more} more line${more === 1 ? '' : 's'}`];
  }
  const cut = (l: string): string => (columns > 0 && l.length > columns ? l.slice(0, columns) : l);
  return `\x1b[H${shown.map((l) => `${cut(l)}\x1b[K`).join('\r\n')}\x1b[J`;
}

/** Enter the terminal view (alternate screen, cursor hidden) and leave it. */
export const ENTER_SCREEN = '\x1b[?1049h\x1b[?25l';
export const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l';
