// The `mptcp` command (bin/mptcp.js): MPTCP status, endpoints and limits of
// this network namespace, and its path-manager events, through the library
// (no iproute2 needed), and `mptcp top`, a live view of the namespace's
// connections (top.ts makes the view). Runs a parsed command against the library, writes
// what format.ts makes of the result, and maps errors to exit codes:
//   0  success
//   1  the kernel refused (an errno error: its message is printed), or the
//      kernel's reply did not parse (NetlinkParseError, its own message)
//   2  usage error: the CLI's own (UsageError, with a pointer to --help), or
//      an argument error the library raised on what the user typed
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dashboard } from '../dashboard';
import { constants as os } from 'node:os';
import { performance } from 'node:perf_hooks';
import { connections, type ConnectionsOptions } from '../diag';
import { errnoError } from '../errors';
import * as path from 'node:path';
import { createExporter } from '../metrics-text';
import { monitor as openMonitor, type MptcpEvent } from '../monitor';
import { NetlinkParseError } from '../netlink';
import * as pm from '../pm';
import { support } from '../support';
import type { Endpoint } from '../pm';
import type { SupportInfo } from '../support';
import {
  deletedText, endpointLine, endpointListText, errorJson, eventJson, eventLine, FLUSHED_TEXT, limitsLine,
  MONITOR_READY_TEXT, overrunLine, resultJson, statusLines, warningLine, type Status,
} from './format';
import { parse, SET_FLAGS, USAGE, UsageError, type ChangeableFlag, type Command, type TopOptions } from './parse';
import {
  buildView, ENTER_SCREEN, frame, LEAVE_SCREEN, nextSort, parseNetstat, sortRows, viewJson, viewLines, type TopSample, type TopView,
} from './top';

/** The path-manager calls the CLI makes (`mptcp.pm`'s). */
export type PathManager = Pick<typeof pm, 'list' | 'get' | 'add' | 'delete' | 'flush' | 'setFlags' | 'getLimits' | 'setLimits'>;

/** What `mptcp monitor` needs of the library's Monitor. */
export interface MonitorLike {
  readonly ready: Promise<void>;
  on(event: 'event', listener: (e: MptcpEvent) => void): unknown;
  on(event: 'overrun', listener: (info: { overruns: number }) => void): unknown;
  on(event: 'warning' | 'error', listener: (err: Error) => void): unknown;
  on(event: 'ready', listener: () => void): unknown;
  close(): void;
}

/** The library as the CLI uses it; tests pass their own. */
export interface Library {
  pm: PathManager;
  monitor(): MonitorLike;
  support(): SupportInfo;
  /** `/proc/sys/net/mptcp/*` by name. */
  sysctls(): Record<string, string>;
  /** `mptcp.connections()`. */
  connections(options?: ConnectionsOptions): ReturnType<typeof connections>;
  /** The MPTcpExt counters of /proc/net/netstat; null when unreadable. */
  mib(): Record<string, number> | null;
}

/** The terminal `top` draws on when stdout is one. */
export interface Terminal {
  columns(): number;
  rows(): number;
  write(text: string): void;
  /** Each key typed (one character; Ctrl+C is `\x03`). */
  onKey(listener: (key: string) => void): void;
  onResize(listener: () => void): void;
  /** Gives the terminal back as it was. */
  close(): void;
}

/** Where the CLI writes, and how `monitor` learns it should stop. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Calls `stop` when the user interrupts (SIGINT, SIGTERM). */
  onInterrupt(stop: () => void): void;
  /** The terminal, taken over (alternate screen, keys unbuffered) when stdout is one; null otherwise. */
  terminal?(): Terminal | null;
}

/** The net.mptcp sysctls of this namespace, sorted by name; {} when there are none to read. */
export function readSysctls(dir = '/proc/sys/net/mptcp'): Record<string, string> {
  const out: Record<string, string> = {};
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names.sort()) {
    try {
      out[n] = fs.readFileSync(path.join(dir, n), 'utf8').trim();
    } catch { /* unreadable */ }
  }
  return out;
}

/** The MPTcpExt counters of this namespace's /proc/net/netstat; null when unreadable. */
export function readMib(file = '/proc/net/netstat'): Record<string, number> | null {
  try {
    return parseNetstat(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** The real library. */
export const library: Library = { pm, monitor: () => openMonitor(), support, sysctls: () => readSysctls(), connections, mib: () => readMib() };

function processTerminal(): Terminal | null {
  const out = process.stdout;
  if (!out.isTTY) return null;
  const input = process.stdin;
  const raw = input.isTTY === true;
  out.write(ENTER_SCREEN);
  if (raw) {
    input.setRawMode(true);
    input.setEncoding('utf8');
  }
  let closed = false;
  return {
    columns: () => out.columns || 80,
    rows: () => out.rows || 24,
    write: (text) => { out.write(text); },
    onKey: (listener) => {
      if (!raw) return;
      input.on('data', (d: string) => { for (const ch of d) listener(ch); });
      input.resume();
    },
    onResize: (listener) => { out.on('resize', listener); },
    close: () => {
      if (closed) return;
      closed = true;
      if (raw) {
        input.setRawMode(false);
        input.pause();
      }
      out.write(LEAVE_SCREEN);
    },
  };
}

/** This process's stdout, stderr, signals and terminal. */
export const processIo: Io = {
  stdout: (text) => { process.stdout.write(text); },
  stderr: (text) => { process.stderr.write(text); },
  onInterrupt: (stop) => {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // The reader of a pipe went away (`mptcp top | head`): stop as if interrupted.
    process.stdout.once('error', stop);
  },
  terminal: processTerminal,
};

// ------------------------------------------------------------ errors ----

/**
 * What went wrong, by exit code: `usage` (the CLI's own UsageError) and
 * `argument` (an argument error from the library) exit 2; `refused` (a
 * system error such as the kernel's EEXIST or EPERM), `malformed` (a kernel
 * reply that did not parse) and `failed` (anything else) exit 1.
 */
export type ErrorKind = 'usage' | 'argument' | 'refused' | 'malformed' | 'failed';

/** The library's argument-error codes: values the user typed that it does not accept. */
export const ARGUMENT_ERROR_CODES: ReadonlySet<string> = new Set([
  'ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_IP_ADDRESS', 'ERR_SOCKET_BAD_PORT',
]);

const MALFORMED_CODE = 'ERR_MPTCP_NETLINK_MALFORMED';

function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Classifies an error a command failed with. */
export function errorKind(err: unknown): ErrorKind {
  if (err instanceof UsageError) return 'usage';
  const code = codeOf(err);
  if (err instanceof NetlinkParseError || code === MALFORMED_CODE) return 'malformed';
  if (typeof code !== 'string') return 'failed';
  if (ARGUMENT_ERROR_CODES.has(code)) return 'argument';
  // errno names (EEXIST, EPERM, ENOENT, UNKNOWN for an errno Node has no name for).
  if (!code.startsWith('ERR_')) return 'refused';
  return 'failed';
}

/** The exit code for an error kind. */
export function exitCodeFor(kind: ErrorKind): 1 | 2 {
  return kind === 'usage' || kind === 'argument' ? 2 : 1;
}

/**
 * What the CLI prints on stderr for an error, and its exit code. Usage
 * errors are text with a pointer to `--help` even under `--json`; the others
 * are `mptcp: MESSAGE`, or `{"error":{code,message,kernelMessage}}` under
 * `--json`. A malformed reply says so: `the kernel's reply did not parse: ...`.
 */
export function describeError(err: unknown, json: boolean): { kind: ErrorKind; exitCode: 1 | 2; text: string } {
  const kind = errorKind(err);
  const exitCode = exitCodeFor(kind);
  if (kind === 'usage') return { kind, exitCode, text: `mptcp: ${messageOf(err)}\nTry 'mptcp --help'.\n` };
  let message = messageOf(err);
  if (kind === 'malformed') message = `the kernel's reply did not parse: ${message.replace(/^malformed netlink message: /, '')}`;
  const fields = typeof err === 'object' && err !== null ? (err as { code?: unknown; kernelMessage?: unknown }) : {};
  const text = json ? errorJson({ code: fields.code, message, kernelMessage: fields.kernelMessage }) : `mptcp: ${message}`;
  return { kind, exitCode, text: `${text}\n` };
}

// ---------------------------------------------------------- commands ----

function noEndpoint(target: number | string): Error {
  return errnoError(os.errno.ENOENT, `no endpoint ${typeof target === 'number' ? `with id ${target}` : `for ${target}`}`);
}

/** `endpoint set`: the endpoint's current changeable flags, changed as asked; resolves with the endpoint after the change. */
async function endpointSet(p: PathManager, target: number | string, changes: Partial<Record<ChangeableFlag, boolean>>): Promise<Endpoint> {
  const current = typeof target === 'number' ? await p.get(target) : (await p.list()).find((e) => e.address === target);
  if (!current) throw noEndpoint(target);
  const flags = new Set(current.flags.filter((f): f is ChangeableFlag => (SET_FLAGS as readonly string[]).includes(f)));
  for (const f of SET_FLAGS) {
    if (changes[f] === true) flags.add(f);
    else if (changes[f] === false) flags.delete(f);
  }
  await p.setFlags(target, [...flags]);
  const after = typeof target === 'number' ? await p.get(target) : (await p.list()).find((e) => e.id === current.id);
  if (!after) throw noEndpoint(target);
  return after;
}

async function status(lib: Library): Promise<Status> {
  const s: Status = { support: lib.support(), sysctls: lib.sysctls(), limits: null, endpoints: null };
  try {
    s.limits = await lib.pm.getLimits();
    s.endpoints = await lib.pm.list();
  } catch (err) {
    s.pathManagerError = messageOf(err);
  }
  return s;
}

/** `monitor`: one line per event on stdout until interrupted; overruns and warnings on stderr. */
function monitor(lib: Library, io: Io, json: boolean): Promise<number> {
  const mon = lib.monitor();
  return new Promise((resolve, reject) => {
    mon.on('error', reject);
    mon.ready.catch(reject);
    mon.on('event', (e) => io.stdout(`${json ? eventJson(e) : eventLine(e)}\n`));
    mon.on('ready', () => io.stderr(`${MONITOR_READY_TEXT}\n`));
    // As ip monitor does: say so, and go on.
    mon.on('overrun', ({ overruns }) => io.stderr(`${overrunLine(overruns)}\n`));
    mon.on('warning', (w) => io.stderr(`${warningLine(w)}\n`));
    io.onInterrupt(() => {
      mon.close();
      resolve(0);
    });
  });
}

/**
 * `top`: a sample now, then one per interval; each block is the view of a
 * sample against the one before (rates over the interval). On a terminal the
 * view is redrawn in place from the first sample on, with keys (q and Ctrl+C
 * quit, s cycles the sort); otherwise one text block (or one JSON line) per
 * interval, the first after one interval; `--once`: only that one. Resolves 0
 * when stopped; rejects with the library's error (the first sample's, at once).
 */
async function top(lib: Library, io: Io, json: boolean, o: TopOptions): Promise<number> {
  const filter: ConnectionsOptions = { subflows: true };
  if (o.port !== undefined) filter.port = o.port;
  if (o.address !== undefined) filter.address = o.address;
  const take = async (): Promise<TopSample> => {
    const list = await lib.connections(filter);
    return { at: performance.now(), wall: Date.now(), connections: list, mib: lib.mib() };
  };
  let prev = await take();
  const term = !json && !o.once ? io.terminal?.() ?? null : null;
  let sort = o.sort;
  let shown: TopView | null = null;
  const start = prev.at;
  const ms = o.interval * 1000;
  return new Promise<number>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    let ticks = 0;
    const finish = (): boolean => {
      if (stopped) return false;
      stopped = true;
      clearTimeout(timer);
      term?.close();
      return true;
    };
    const stop = (): void => { if (finish()) resolve(0); };
    const show = (v: TopView): void => {
      shown = v;
      if (term) term.write(frame(viewLines(v, { keys: true }), term.columns(), term.rows()));
      else io.stdout(json ? `${viewJson(v)}\n` : `${viewLines(v).join('\n')}\n\n`);
    };
    const schedule = (): void => {
      ticks++;
      timer = setTimeout(() => void tick(), Math.max(0, start + ticks * ms - performance.now()));
    };
    const tick = async (): Promise<void> => {
      try {
        const cur = await take();
        if (stopped) return;
        show(buildView(prev, cur, sort));
        prev = cur;
        if (o.once) stop();
        else schedule();
      } catch (err) {
        if (finish()) reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    io.onInterrupt(stop);
    if (term) {
      term.onKey((k) => {
        if (k === 'q' || k === 'Q' || k === '\x03') stop();
        else if ((k === 's' || k === 'S') && !stopped) {
          sort = nextSort(sort);
          if (shown) show({ ...shown, sort, connections: sortRows([...shown.connections], sort) });
        }
      });
      term.onResize(() => { if (shown && !stopped) show(shown); });
      show(buildView(null, prev, sort));
    }
    schedule();
  });
}

/**
 * Serves `server` on HOST:PORT until interrupted (then `onClose`, and the
 * server closed with its connections); `ready(url)` says where, once it
 * listens. A listen error (EADDRINUSE, EACCES) rejects.
 */
function serveUntilInterrupted(io: Io, server: http.Server, host: string, port: number, ready: (url: string) => void, onClose?: () => void): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address() as AddressInfo;
      ready(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/`);
      io.onInterrupt(() => {
        onClose?.();
        server.close(() => resolve(0));
        server.closeAllConnections();
      });
    });
  });
}

/** `metrics`: the exporter until interrupted; says where on stderr (`serving http://127.0.0.1:9464/metrics`). */
function metrics(io: Io, port: number, host: string): Promise<number> {
  return serveUntilInterrupted(io, createExporter(), host, port, (url) => io.stderr(`serving ${url}metrics\n`));
}

/** `dashboard`: serves the page until interrupted; prints its address once listening. */
function serveDashboard(io: Io, host: string, port: number): Promise<number> {
  const handler = dashboard();
  return serveUntilInterrupted(io, http.createServer(handler), host, port, (url) => io.stdout(`dashboard: ${url}\n`), () => handler.close());
}

/** Runs a parsed command (not `help`); resolves with the exit code, rejects with the library's error. */
export async function execute(cmd: Exclude<Command, { command: 'help' }>, lib: Library = library, io: Io = processIo): Promise<number> {
  // Prints the result (JSON with --json) and succeeds.
  const done = (value: unknown, text: string): number => {
    io.stdout(`${cmd.json ? resultJson(value) : text}\n`);
    return 0;
  };
  const p = lib.pm;
  switch (cmd.command) {
    case 'status': {
      const s = await status(lib);
      return done(s, statusLines(s).join('\n'));
    }
    case 'endpoint list': {
      const eps = await p.list();
      return done(eps, endpointListText(eps));
    }
    case 'endpoint add': {
      const e = await p.add(cmd.options);
      return done(e, endpointLine(e));
    }
    case 'endpoint delete':
      await p.delete(cmd.id);
      return done({ deleted: cmd.id }, deletedText(cmd.id));
    case 'endpoint flush':
      await p.flush();
      return done({ flushed: true }, FLUSHED_TEXT);
    case 'endpoint set': {
      const e = await endpointSet(p, cmd.target, cmd.changes);
      return done(e, endpointLine(e));
    }
    case 'limits':
    case 'limits set': {
      const l = cmd.command === 'limits' ? await p.getLimits() : await p.setLimits(cmd.limits);
      return done(l, limitsLine(l));
    }
    case 'monitor':
      return monitor(lib, io, cmd.json);
    case 'top':
      return top(lib, io, cmd.json, cmd.options);
    case 'metrics':
      return metrics(io, cmd.port, cmd.host);
    case 'dashboard':
      return serveDashboard(io, cmd.host, cmd.port);
  }
}

/**
 * Runs the command line (`process.argv.slice(2)`): parses it, runs it,
 * prints the result or the error. Resolves with the exit code; never rejects.
 */
export async function run(argv: readonly string[], io: Io = processIo, lib: Library = library): Promise<number> {
  try {
    const cmd = parse(argv);
    if (cmd.command === 'help') {
      io.stdout(`${USAGE}\n`);
      return cmd.exitCode;
    }
    return await execute(cmd, lib, io);
  } catch (err) {
    const { exitCode, text } = describeError(err, argv.includes('--json'));
    io.stderr(text);
    return exitCode;
  }
}

/** The `mptcp` command's entry point (bin/mptcp.js): runs `process.argv` and sets `process.exitCode`. */
export function main(argv: readonly string[] = process.argv.slice(2)): void {
  void run(argv).then((code) => {
    process.exitCode = code;
  });
}
