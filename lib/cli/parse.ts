// The `mptcp` command's grammar: argv to a typed command, or a UsageError.
// Nothing here touches the kernel; what the words mean (is ADDRESS an IP, is
// a limit 0-8) is checked by the library when the command runs.
//
//   mptcp status [--json]
//   mptcp endpoint list [--json]
//   mptcp endpoint add ADDRESS [id N] [port N] [dev IFNAME] [signal|subflow|backup|fullmesh|laminar ...] [--json]
//   mptcp endpoint delete id N
//   mptcp endpoint flush
//   mptcp endpoint set (id N | ADDRESS) [backup|nobackup] [fullmesh|nofullmesh]
//   mptcp limits [--json]
//   mptcp limits set [subflows N] [add_addr_accepted N] [--json]
//   mptcp monitor [--json]                  one line per event until interrupted
//   mptcp top [--once] [--json] [--interval SECONDS] [--sort rate|rtt|subflows] [--port N] [--address ADDRESS[/PREFIX]]
//   mptcp metrics [--port N] [--host ADDRESS]   a Prometheus exporter (/metrics) until interrupted
//   mptcp dashboard [--port N] [--host H]   a read-only web dashboard until interrupted
import { ENDPOINT_FLAGS, type EndpointFlag, type Limits } from '../pm';
import { SORT_KEYS, type SortKey } from './top';

/** A command line the CLI cannot run as typed: printed with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The flags `endpoint add` accepts: every named endpoint flag but the kernel's read-only `implicit`. */
export const ADD_FLAGS: readonly EndpointFlag[] = (Object.keys(ENDPOINT_FLAGS) as EndpointFlag[]).filter((f) => f !== 'implicit');

/** The flags `endpoint set` can change (the only ones the kernel lets change). */
export const SET_FLAGS = ['backup', 'fullmesh'] as const;

/** A flag `endpoint set` can change. */
export type ChangeableFlag = (typeof SET_FLAGS)[number];

/** The `--help` text. */
export const USAGE = `Usage: mptcp <command> [arguments] [--json]

Commands:
  status                                show MPTCP support, sysctls, limits and endpoints
  endpoint list                         list the path manager's endpoints
  endpoint add ADDRESS [id N] [port N] [dev IFNAME] [FLAG ...]
                                        add an endpoint; FLAG: ${ADD_FLAGS.join(' ')}
  endpoint delete id N                  delete an endpoint
  endpoint flush                        delete every endpoint
  endpoint set (id N | ADDRESS) [backup|nobackup] [fullmesh|nofullmesh]
                                        change an endpoint's flags
  limits                                show the limits
  limits set [subflows N] [add_addr_accepted N]
                                        change the limits (each 0-8)
  monitor                               print path-manager events as they happen (Ctrl+C stops)
  top [--once] [--interval SECONDS] [--sort rate|rtt|subflows] [--port N] [--address ADDRESS[/PREFIX]]
                                        live view of every MPTCP connection and its subflows, with
                                        rates; keys on a terminal: s cycles the sort, q quits; on a
                                        pipe one block per interval (--json: one JSON line each)
  metrics [--port N] [--host ADDRESS]   serve Prometheus metrics on http://HOST:PORT/metrics
                                        (default 127.0.0.1:9464; Ctrl+C stops)
  dashboard [--port N] [--host HOST]    serve a live web dashboard of this namespace's connections,
                                        endpoints and events (default 127.0.0.1:8080; Ctrl+C stops)

Options:
  --json    print JSON instead of text
  --help    show this help

Exit codes:
  0    success
  1    the kernel refused (its message is printed), or its reply did not parse
  2    usage error: a command, word or value this command or the library does not accept

Everything applies to this process's network namespace; changes need CAP_NET_ADMIN.`;

/** What `endpoint add` passes to `pm.add` (flags always present, in the order typed). */
export interface EndpointAddOptions {
  address: string;
  flags: EndpointFlag[];
  id?: number;
  port?: number;
  ifname?: string;
}

/**
 * A parsed command line. `json` is set for every command but `help`
 * (`--json` may appear anywhere in argv).
 */
export type Command =
  /** `--help`, `-h`, `help`, or no command at all (then the exit code is 2). */
  | { command: 'help'; exitCode: 0 | 2 }
  | { command: 'status'; json: boolean }
  | { command: 'endpoint list'; json: boolean }
  | { command: 'endpoint add'; json: boolean; options: EndpointAddOptions }
  | { command: 'endpoint delete'; json: boolean; id: number }
  | { command: 'endpoint flush'; json: boolean }
  /** Each flag named in `changes` is set (true) or cleared (false); the others keep their current value. */
  | { command: 'endpoint set'; json: boolean; target: number | string; changes: Partial<Record<ChangeableFlag, boolean>> }
  | { command: 'limits'; json: boolean }
  | { command: 'limits set'; json: boolean; limits: Partial<Limits> }
  | { command: 'monitor'; json: boolean }
  | { command: 'top'; json: boolean; options: TopOptions }
  /** The exporter: `port` 0-65535 (0: any free port), `host` an address to bind. */
  | { command: 'metrics'; json: boolean; port: number; host: string }
  /** `dashboard`: port 0 picks a free one (the address is printed). */
  | { command: 'dashboard'; json: boolean; port: number; host: string };

/** What `top` runs with. */
export interface TopOptions {
  /** One block (over one interval) and exit. */
  once: boolean;
  /** Seconds between samples (default 1, at least 0.1). */
  interval: number;
  sort: SortKey;
  /** Passed to mptcp.connections(). */
  port?: number;
  address?: string;
}

/** A decimal number word (`id 3`, `subflows 2`): digits only, else a UsageError naming the keyword. */
export function intArg(value: string | undefined, name: string): number {
  if (value === undefined || !/^\d+$/.test(value)) throw new UsageError(`${name} needs a number, got ${value === undefined ? 'nothing' : `'${value}'`}`);
  return Number(value);
}

/**
 * `--port N` and `--host ADDRESS` (also `--port=N`) of the commands that
 * serve HTTP (`metrics`, `dashboard`), with their defaults; port 0-65535.
 */
function serveArgs(cmd: string, args: string[], port: number): { port: number; host: string } {
  const out = { port, host: '127.0.0.1' };
  for (let i = 0; i < args.length; i++) {
    const eq = args[i].indexOf('=');
    const word = args[i].startsWith('--') && eq > 0 ? args[i].slice(0, eq) : args[i];
    if (word !== '--port' && word !== '--host') throw new UsageError(`unknown word '${args[i]}' for ${cmd}`);
    const value = word !== args[i] ? args[i].slice(eq + 1) : args[++i];
    if (word === '--port') {
      out.port = intArg(value, '--port');
      if (out.port > 65535) throw new UsageError(`--port needs a number 0-65535, got '${value}'`);
    } else {
      if (!value) throw new UsageError('--host needs an address');
      out.host = value;
    }
  }
  return out;
}

function endpointAdd(args: string[]): EndpointAddOptions {
  if (!args.length) throw new UsageError('endpoint add needs an ADDRESS');
  const opts: EndpointAddOptions = { address: args[0], flags: [] };
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a === 'id') opts.id = intArg(args[++i], 'id');
    else if (a === 'port') opts.port = intArg(args[++i], 'port');
    else if (a === 'dev') {
      const ifname = args[++i];
      if (!ifname) throw new UsageError('dev needs an interface name');
      opts.ifname = ifname;
    } else if ((ADD_FLAGS as readonly string[]).includes(a)) opts.flags.push(a as EndpointFlag);
    else throw new UsageError(`unknown word '${a}' for endpoint add`);
  }
  return opts;
}

function endpointSet(args: string[]): { target: number | string; changes: Partial<Record<ChangeableFlag, boolean>> } {
  let target: number | string;
  let i: number;
  if (args[0] === 'id') {
    target = intArg(args[1], 'id');
    i = 2;
  } else if (args[0]) {
    target = args[0];
    i = 1;
  } else {
    throw new UsageError('endpoint set needs id N or an ADDRESS');
  }
  if (i >= args.length) throw new UsageError('endpoint set needs backup, nobackup, fullmesh or nofullmesh');
  const changes: Partial<Record<ChangeableFlag, boolean>> = {};
  for (; i < args.length; i++) {
    const w = args[i];
    if (w === 'backup' || w === 'fullmesh') changes[w] = true;
    else if (w === 'nobackup' || w === 'nofullmesh') changes[w.slice(2) as ChangeableFlag] = false;
    else throw new UsageError(`unknown word '${w}' for endpoint set`);
  }
  return { target, changes };
}

function limitsSet(args: string[]): Partial<Limits> {
  const limits: Partial<Limits> = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === 'subflows') limits.subflows = intArg(args[++i], 'subflows');
    else if (args[i] === 'add_addr_accepted') limits.addAddrAccepted = intArg(args[++i], 'add_addr_accepted');
    else throw new UsageError(`unknown word '${args[i]}' for limits set`);
  }
  if (!Object.keys(limits).length) throw new UsageError('limits set needs subflows N and/or add_addr_accepted N');
  return limits;
}

function topOptions(args: string[]): TopOptions {
  const opts: TopOptions = { once: false, interval: 1, sort: 'rate' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const value = (): string | undefined => (eq > 0 ? a.slice(eq + 1) : args[++i]);
    if (flag === '--once' && eq < 0) opts.once = true;
    else if (flag === '--interval' || flag === '-i') {
      const v = value();
      if (v === undefined || !/^(\d+(\.\d*)?|\.\d+)$/.test(v) || Number(v) < 0.1 || Number(v) > 3600) {
        throw new UsageError(`--interval needs a number of seconds from 0.1 to 3600, got ${v === undefined ? 'nothing' : `'${v}'`}`);
      }
      opts.interval = Number(v);
    } else if (flag === '--sort') {
      const v = value();
      if (!(SORT_KEYS as readonly (string | undefined)[]).includes(v)) {
        throw new UsageError(`--sort needs one of ${SORT_KEYS.join(', ')}, got ${v === undefined ? 'nothing' : `'${v}'`}`);
      }
      opts.sort = v as SortKey;
    } else if (flag === '--port') opts.port = intArg(value(), '--port');
    else if (flag === '--address') {
      const v = value();
      if (!v) throw new UsageError('--address needs an ADDRESS or ADDRESS/PREFIX');
      opts.address = v;
    } else throw new UsageError(`unknown ${a.startsWith('-') ? 'option' : 'word'} '${a}' for top`);
  }
  return opts;
}

/**
 * Parses the command line (without `node` and the script: `process.argv.slice(2)`).
 * Throws a {@link UsageError} for a command line the CLI cannot run. Words
 * after `status`, `endpoint list|flush` and `limits [show]` are ignored.
 */
export function parse(argv: readonly string[]): Command {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  if (!args.length || args.includes('--help') || args.includes('-h') || args[0] === 'help') {
    return { command: 'help', exitCode: args.length ? 0 : 2 };
  }
  const [cmd, sub, ...rest] = args;
  if (cmd === 'status') return { command: 'status', json };
  if (cmd === 'endpoint' || cmd === 'endpoints') {
    if (sub === undefined || sub === 'list' || sub === 'show') return { command: 'endpoint list', json };
    if (sub === 'add') return { command: 'endpoint add', json, options: endpointAdd(rest) };
    if (sub === 'delete' || sub === 'del') {
      if (rest[0] !== 'id') throw new UsageError('endpoint delete needs id N');
      const id = intArg(rest[1], 'id');
      if (rest.length > 2) throw new UsageError(`unexpected '${rest[2]}' after endpoint delete id ${id}`);
      return { command: 'endpoint delete', json, id };
    }
    if (sub === 'flush') return { command: 'endpoint flush', json };
    if (sub === 'set' || sub === 'change') return { command: 'endpoint set', json, ...endpointSet(rest) };
    throw new UsageError(`unknown endpoint command '${sub}'`);
  }
  if (cmd === 'limits') {
    if (sub === undefined || sub === 'show') return { command: 'limits', json };
    if (sub === 'set') return { command: 'limits set', json, limits: limitsSet(rest) };
    throw new UsageError(`unknown limits command '${sub}'`);
  }
  if (cmd === 'monitor') {
    if (sub !== undefined) throw new UsageError(`unexpected '${sub}' after monitor`);
    return { command: 'monitor', json };
  }
  if (cmd === 'top') return { command: 'top', json, options: topOptions(args.slice(1)) };
  if (cmd === 'metrics') return { command: 'metrics', json, ...serveArgs(cmd, args.slice(1), METRICS_PORT) };
  if (cmd === 'dashboard') return { command: 'dashboard', json, ...serveArgs(cmd, args.slice(1), DASHBOARD_PORT) };
  throw new UsageError(`unknown command '${cmd}'`);
}

/** The exporter's default port (node_exporter's convention of a fixed port per exporter; 9464 is the OpenTelemetry Prometheus exporter's). */
export const METRICS_PORT = 9464;

/** The dashboard's default port. */
export const DASHBOARD_PORT = 8080;
