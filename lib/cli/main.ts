// The `mptcp` command (bin/mptcp.js): MPTCP status, endpoints and limits of
// this network namespace, and its path-manager events, through the library
// (no iproute2 needed). Runs a parsed command against the library, writes
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
import { errnoError } from '../errors';
import * as path from 'node:path';
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
import { parse, SET_FLAGS, USAGE, UsageError, type ChangeableFlag, type Command } from './parse';

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
}

/** Where the CLI writes, and how `monitor` learns it should stop. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Calls `stop` when the user interrupts (SIGINT, SIGTERM). */
  onInterrupt(stop: () => void): void;
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

/** The real library. */
export const library: Library = { pm, monitor: () => openMonitor(), support, sysctls: () => readSysctls() };

/** This process's stdout, stderr and signals. */
export const processIo: Io = {
  stdout: (text) => { process.stdout.write(text); },
  stderr: (text) => { process.stderr.write(text); },
  onInterrupt: (stop) => {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
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

/** `dashboard`: serves the page until interrupted; prints its address once listening. */
function serveDashboard(io: Io, host: string, port: number): Promise<number> {
  const handler = dashboard();
  const server = http.createServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address() as AddressInfo;
      const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      io.stdout(`dashboard: http://${shown}:${a.port}/\n`);
      io.onInterrupt(() => {
        handler.close();
        server.close(() => resolve(0));
        server.closeAllConnections();
      });
    });
  });
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
