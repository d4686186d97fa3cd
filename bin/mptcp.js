#!/usr/bin/env node
// The `mptcp` command: MPTCP status, endpoints and limits of this network
// namespace, through the library (no iproute2 needed).
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
//
// Exit codes: 0 success, 1 the kernel refused (message says why), 2 usage error.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const USAGE = `Usage: mptcp <command> [arguments] [--json]

Commands:
  status                                show MPTCP support, sysctls, limits and endpoints
  endpoint list                         list the path manager's endpoints
  endpoint add ADDRESS [id N] [port N] [dev IFNAME] [FLAG ...]
                                        add an endpoint; FLAG: signal subflow backup fullmesh laminar
  endpoint delete id N                  delete an endpoint
  endpoint flush                        delete every endpoint
  endpoint set (id N | ADDRESS) [backup|nobackup] [fullmesh|nofullmesh]
                                        change an endpoint's flags
  limits                                show the limits
  limits set [subflows N] [add_addr_accepted N]
                                        change the limits (each 0-8)
  monitor                               print path-manager events as they happen (Ctrl+C stops)

Options:
  --json    print JSON instead of text
  --help    show this help

Everything applies to this process's network namespace; changes need CAP_NET_ADMIN.`;

class UsageError extends Error {}

function load() {
  return require(path.join(__dirname, '..', 'dist', 'index.js'));
}

function intArg(value, name) {
  if (value === undefined || !/^\d+$/.test(value)) throw new UsageError(`${name} needs a number, got ${value === undefined ? 'nothing' : `'${value}'`}`);
  return Number(value);
}

function formatEndpoint(e) {
  let s = `${e.address}`;
  if (e.port) s += ` port ${e.port}`;
  s += ` id ${e.id}`;
  if (e.flags.length) s += ` ${e.flags.join(' ')}`;
  if (e.unknownFlags) s += ` rawflags 0x${e.unknownFlags.toString(16)}`;
  if (e.ifname) s += ` dev ${e.ifname}`;
  else if (e.ifindex) s += ` ifindex ${e.ifindex}`;
  return s;
}

function sysctls() {
  const out = {};
  const dir = '/proc/sys/net/mptcp';
  let names;
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

const FLAG_WORDS = ['signal', 'subflow', 'backup', 'fullmesh', 'laminar'];

async function endpointAdd(pm, args) {
  if (!args.length) throw new UsageError('endpoint add needs an ADDRESS');
  const opts = { address: args[0], flags: [] };
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a === 'id') opts.id = intArg(args[++i], 'id');
    else if (a === 'port') opts.port = intArg(args[++i], 'port');
    else if (a === 'dev') {
      opts.ifname = args[++i];
      if (!opts.ifname) throw new UsageError('dev needs an interface name');
    } else if (FLAG_WORDS.includes(a)) opts.flags.push(a);
    else throw new UsageError(`unknown word '${a}' for endpoint add`);
  }
  return pm.add(opts);
}

async function endpointSet(pm, args) {
  let target;
  let i;
  if (args[0] === 'id') {
    target = intArg(args[1], 'id');
    i = 2;
  } else if (args[0]) {
    target = args[0];
    i = 1;
  } else {
    throw new UsageError('endpoint set needs id N or an ADDRESS');
  }
  // Start from the endpoint's current changeable flags; words change them.
  const current = typeof target === 'number' ? await pm.get(target) : (await pm.list()).find((e) => e.address === target);
  if (!current) {
    const err = new Error(`no endpoint ${typeof target === 'number' ? `with id ${target}` : `for ${target}`}`);
    err.code = 'ENOENT';
    throw err;
  }
  const flags = new Set(current.flags.filter((f) => f === 'backup' || f === 'fullmesh'));
  if (i >= args.length) throw new UsageError('endpoint set needs backup, nobackup, fullmesh or nofullmesh');
  for (; i < args.length; i++) {
    const w = args[i];
    if (w === 'backup' || w === 'fullmesh') flags.add(w);
    else if (w === 'nobackup' || w === 'nofullmesh') flags.delete(w.slice(2));
    else throw new UsageError(`unknown word '${w}' for endpoint set`);
  }
  await pm.setFlags(target, [...flags]);
  return typeof target === 'number' ? pm.get(target) : (await pm.list()).find((e) => e.id === current.id);
}

async function limitsSet(pm, args) {
  const limits = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === 'subflows') limits.subflows = intArg(args[++i], 'subflows');
    else if (args[i] === 'add_addr_accepted') limits.addAddrAccepted = intArg(args[++i], 'add_addr_accepted');
    else throw new UsageError(`unknown word '${args[i]}' for limits set`);
  }
  if (!Object.keys(limits).length) throw new UsageError('limits set needs subflows N and/or add_addr_accepted N');
  return pm.setLimits(limits);
}

async function main(argv) {
  const json = argv.includes('--json');
  const args = argv.filter((a) => a !== '--json');
  if (!args.length || args.includes('--help') || args.includes('-h') || args[0] === 'help') {
    process.stdout.write(USAGE + '\n');
    return args.length ? 0 : 2;
  }
  const m = load();
  const { pm } = m;
  const print = (value, text) => process.stdout.write((json ? JSON.stringify(value, null, 2) : text) + '\n');
  const [cmd, sub, ...rest] = args;

  if (cmd === 'status') {
    const support = m.support();
    const status = { support, sysctls: sysctls(), limits: null, endpoints: null };
    try {
      status.limits = await pm.getLimits();
      status.endpoints = await pm.list();
    } catch (err) {
      status.pathManagerError = err.message;
    }
    const lines = [
      `MPTCP: ${support.available ? 'available' : `unavailable (${support.reason})`}`,
      `kernel features: ${Object.entries(support.features).map(([k, v]) => `${k} ${v ? 'yes' : 'no'}`).join(', ')}`,
      'sysctls:',
      ...Object.entries(status.sysctls).map(([k, v]) => `  net.mptcp.${k} = ${v}`),
    ];
    if (status.limits) lines.push(`limits: subflows ${status.limits.subflows} add_addr_accepted ${status.limits.addAddrAccepted}`);
    if (status.endpoints) lines.push(`endpoints: ${status.endpoints.length ? '' : 'none'}`, ...status.endpoints.map((e) => `  ${formatEndpoint(e)}`));
    if (status.pathManagerError) lines.push(`path manager: ${status.pathManagerError}`);
    print(status, lines.join('\n'));
    return 0;
  }
  if (cmd === 'endpoint' || cmd === 'endpoints') {
    if (sub === undefined || sub === 'list' || sub === 'show') {
      const eps = await pm.list();
      print(eps, eps.map(formatEndpoint).join('\n') || '(no endpoints)');
      return 0;
    }
    if (sub === 'add') {
      const e = await endpointAdd(pm, rest);
      print(e, formatEndpoint(e));
      return 0;
    }
    if (sub === 'delete' || sub === 'del') {
      if (rest[0] !== 'id') throw new UsageError('endpoint delete needs id N');
      const id = intArg(rest[1], 'id');
      if (rest.length > 2) throw new UsageError(`unexpected '${rest[2]}' after endpoint delete id ${id}`);
      await pm.delete(id);
      print({ deleted: id }, `deleted endpoint ${id}`);
      return 0;
    }
    if (sub === 'flush') {
      await pm.flush();
      print({ flushed: true }, 'all endpoints deleted');
      return 0;
    }
    if (sub === 'set' || sub === 'change') {
      const e = await endpointSet(pm, rest);
      print(e, formatEndpoint(e));
      return 0;
    }
    throw new UsageError(`unknown endpoint command '${sub}'`);
  }
  if (cmd === 'limits') {
    if (sub === undefined || sub === 'show') {
      const l = await pm.getLimits();
      print(l, `subflows ${l.subflows} add_addr_accepted ${l.addAddrAccepted}`);
      return 0;
    }
    if (sub === 'set') {
      const l = await limitsSet(pm, rest);
      print(l, `subflows ${l.subflows} add_addr_accepted ${l.addAddrAccepted}`);
      return 0;
    }
    throw new UsageError(`unknown limits command '${sub}'`);
  }
  if (cmd === 'monitor') {
    if (sub !== undefined) throw new UsageError(`unexpected '${sub}' after monitor`);
    return runMonitor(m, json);
  }
  throw new UsageError(`unknown command '${cmd}'`);
}

function formatEvent(e) {
  const hex = (n) => n.toString(16).padStart(8, '0');
  const parts = [`[${e.type}]`];
  if (e.token !== undefined) parts.push(`token=${hex(e.token)}`);
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

function runMonitor(m, json) {
  const mon = m.monitor();
  return new Promise((resolve, reject) => {
    mon.on('error', reject);
    mon.on('event', (e) => process.stdout.write((json ? JSON.stringify(e) : formatEvent(e)) + '\n'));
    mon.on('ready', () => process.stderr.write('listening for MPTCP events (Ctrl+C stops)\n'));
    // As ip monitor does: say so, and go on.
    mon.on('overrun', ({ overruns }) => process.stderr.write(`mptcp: events lost: the kernel dropped events (receive buffer full; ${overruns} overrun${overruns === 1 ? '' : 's'} so far)\n`));
    mon.on('warning', (w) => process.stderr.write(`mptcp: ${w.message}\n`));
    const stop = () => {
      mon.close();
      resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, (err) => {
  const json = process.argv.includes('--json');
  if (err instanceof UsageError) {
    process.stderr.write(`mptcp: ${err.message}\nTry 'mptcp --help'.\n`);
    process.exitCode = 2;
    return;
  }
  if (json) process.stderr.write(JSON.stringify({ error: { code: err.code, message: err.message, kernelMessage: err.kernelMessage } }) + '\n');
  else process.stderr.write(`mptcp: ${err.message}\n`);
  // Argument errors found by the library are usage errors too.
  process.exitCode = typeof err.code === 'string' && err.code.startsWith('ERR_') ? 2 : 1;
});
