// The `mptcp` command without root and without the kernel: the parser
// (lib/cli/parse.ts: every command and its usage errors), the formatters
// (lib/cli/format.ts: endpoint, limits, status and event lines, JSON), and
// lib/cli/main.ts (commands run against a fake library; the exit code and
// message for each kind of error). test/pm/cli.test.ts runs the real thing
// in a namespace.
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliParse, usageError } from '../helpers/cli';

const require = createRequire(import.meta.url);
const fmt = require('../../dist/cli/format.js') as typeof import('../../lib/cli/format');
const cliMain = require('../../dist/cli/main.js') as typeof import('../../lib/cli/main');
const nl = require('../../dist/netlink.js') as typeof import('../../lib/netlink');
const errors = require('../../dist/errors.js') as typeof import('../../lib/errors');
const { ENDPOINT_FLAGS } = require('../../dist/pm.js') as typeof import('../../lib/pm');

type Endpoint = import('../../lib/pm').Endpoint;
type MptcpEvent = import('../../lib/monitor').MptcpEvent;
type Library = import('../../lib/cli/main').Library;
type PathManager = import('../../lib/cli/main').PathManager;

const { parse, UsageError, USAGE } = cliParse;
const bin = path.join(__dirname, '..', '..', 'bin', 'mptcp.js');

describe('parse', () => {
  it('help: --help, -h, help anywhere (exit 0); nothing at all (exit 2)', () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['endpoint', '--help'], ['limits', 'set', '-h'], ['status', '--json', '--help'], ['help', 'frob']]) {
      expect(parse(argv)).toEqual({ command: 'help', exitCode: 0 });
    }
    expect(parse([])).toEqual({ command: 'help', exitCode: 2 });
    expect(parse(['--json'])).toEqual({ command: 'help', exitCode: 2 });
  });

  it('--json anywhere, for every command', () => {
    expect(parse(['status'])).toEqual({ command: 'status', json: false });
    expect(parse(['--json', 'status'])).toEqual({ command: 'status', json: true });
    expect(parse(['endpoint', '--json', 'delete', 'id', '2'])).toEqual({ command: 'endpoint delete', json: true, id: 2 });
    expect(parse(['monitor', '--json'])).toEqual({ command: 'monitor', json: true });
  });

  it('status and endpoint list ignore what follows; endpoints / show are aliases', () => {
    expect(parse(['status', 'extra'])).toEqual({ command: 'status', json: false });
    for (const argv of [['endpoint'], ['endpoint', 'list'], ['endpoint', 'show'], ['endpoints'], ['endpoints', 'list', 'x']]) {
      expect(parse(argv)).toEqual({ command: 'endpoint list', json: false });
    }
  });

  it('endpoint add: address, id, port, dev and flags in the order typed', () => {
    expect(parse(['endpoint', 'add', '10.0.0.1'])).toEqual({ command: 'endpoint add', json: false, options: { address: '10.0.0.1', flags: [] } });
    expect(parse(['endpoint', 'add', '10.0.0.1', 'signal', 'id', '3', 'port', '8080', 'dev', 'eth1', 'backup'])).toEqual({
      command: 'endpoint add', json: false, options: { address: '10.0.0.1', id: 3, port: 8080, ifname: 'eth1', flags: ['signal', 'backup'] },
    });
    expect(parse(['endpoint', 'add', 'fe80::1%lo', 'subflow', 'fullmesh', 'laminar', 'subflow'])).toEqual({
      command: 'endpoint add', json: false, options: { address: 'fe80::1%lo', flags: ['subflow', 'fullmesh', 'laminar', 'subflow'] },
    });
    // The address is the library's to check (exit 2 from its ERR_INVALID_IP_ADDRESS).
    expect(parse(['endpoint', 'add', 'id', 'id', '1'])).toMatchObject({ options: { address: 'id', id: 1 } });
    expect(parse(['endpoint', 'add', '10.0.0.1', 'id', '007'])).toMatchObject({ options: { id: 7 } });
  });

  it('endpoint add: flag words are the library\'s ENDPOINT_FLAGS but implicit', () => {
    expect(cliParse.ADD_FLAGS).toEqual(Object.keys(ENDPOINT_FLAGS).filter((f) => f !== 'implicit'));
    for (const f of cliParse.ADD_FLAGS) expect(parse(['endpoint', 'add', '10.0.0.1', f])).toMatchObject({ options: { flags: [f] } });
    expect(usageError('endpoint', 'add', '10.0.0.1', 'implicit')).toBe("unknown word 'implicit' for endpoint add");
    expect(USAGE).toContain(`FLAG: ${cliParse.ADD_FLAGS.join(' ')}`);
  });

  it('endpoint add: usage errors', () => {
    expect(usageError('endpoint', 'add')).toBe('endpoint add needs an ADDRESS');
    expect(usageError('endpoint', 'add', '10.0.0.1', 'id')).toBe('id needs a number, got nothing');
    expect(usageError('endpoint', 'add', '10.0.0.1', 'id', 'x')).toBe("id needs a number, got 'x'");
    expect(usageError('endpoint', 'add', '10.0.0.1', 'id', '-1')).toBe("id needs a number, got '-1'");
    expect(usageError('endpoint', 'add', '10.0.0.1', 'port', '1.5')).toBe("port needs a number, got '1.5'");
    expect(usageError('endpoint', 'add', '10.0.0.1', 'dev')).toBe('dev needs an interface name');
    expect(usageError('endpoint', 'add', '10.0.0.1', 'dev', '')).toBe('dev needs an interface name');
    expect(usageError('endpoint', 'add', '10.0.0.1', 'frob')).toBe("unknown word 'frob' for endpoint add");
  });

  it('endpoint delete / del and flush', () => {
    expect(parse(['endpoint', 'delete', 'id', '4'])).toEqual({ command: 'endpoint delete', json: false, id: 4 });
    expect(parse(['endpoint', 'del', 'id', '0'])).toEqual({ command: 'endpoint delete', json: false, id: 0 });
    expect(usageError('endpoint', 'delete')).toBe('endpoint delete needs id N');
    expect(usageError('endpoint', 'delete', '4')).toBe('endpoint delete needs id N');
    expect(usageError('endpoint', 'delete', 'id')).toBe('id needs a number, got nothing');
    expect(usageError('endpoint', 'delete', 'id', 'four')).toBe("id needs a number, got 'four'");
    expect(usageError('endpoint', 'delete', 'id', '4', 'extra')).toBe("unexpected 'extra' after endpoint delete id 4");
    expect(parse(['endpoint', 'flush'])).toEqual({ command: 'endpoint flush', json: false });
    expect(parse(['endpoints', 'flush', '--json'])).toEqual({ command: 'endpoint flush', json: true });
  });

  it('endpoint set / change: by id or address; the last word for a flag wins', () => {
    expect(parse(['endpoint', 'set', 'id', '3', 'backup'])).toEqual({ command: 'endpoint set', json: false, target: 3, changes: { backup: true } });
    expect(parse(['endpoint', 'change', '10.0.0.1', 'nobackup', 'fullmesh'])).toEqual({ command: 'endpoint set', json: false, target: '10.0.0.1', changes: { backup: false, fullmesh: true } });
    expect(parse(['endpoint', 'set', 'id', '3', 'backup', 'nofullmesh', 'nobackup'])).toMatchObject({ changes: { backup: false, fullmesh: false } });
    expect(usageError('endpoint', 'set')).toBe('endpoint set needs id N or an ADDRESS');
    expect(usageError('endpoint', 'set', 'id')).toBe('id needs a number, got nothing');
    expect(usageError('endpoint', 'set', 'id', 'x', 'backup')).toBe("id needs a number, got 'x'");
    expect(usageError('endpoint', 'set', 'id', '3')).toBe('endpoint set needs backup, nobackup, fullmesh or nofullmesh');
    expect(usageError('endpoint', 'set', '10.0.0.1')).toBe('endpoint set needs backup, nobackup, fullmesh or nofullmesh');
    expect(usageError('endpoint', 'set', 'id', '3', 'signal')).toBe("unknown word 'signal' for endpoint set");
  });

  it('unknown commands and subcommands', () => {
    expect(usageError('frobnicate')).toBe("unknown command 'frobnicate'");
    expect(usageError('endpoint', 'frob')).toBe("unknown endpoint command 'frob'");
    expect(usageError('limits', 'frob')).toBe("unknown limits command 'frob'");
  });

  it('limits, limits show, limits set', () => {
    expect(parse(['limits'])).toEqual({ command: 'limits', json: false });
    expect(parse(['limits', 'show', '--json'])).toEqual({ command: 'limits', json: true });
    expect(parse(['limits', 'set', 'subflows', '3', 'add_addr_accepted', '5'])).toEqual({ command: 'limits set', json: false, limits: { subflows: 3, addAddrAccepted: 5 } });
    expect(parse(['limits', 'set', 'add_addr_accepted', '1', 'add_addr_accepted', '2'])).toMatchObject({ limits: { addAddrAccepted: 2 } });
    // The range (0-8) is the library's to check.
    expect(parse(['limits', 'set', 'subflows', '12'])).toMatchObject({ limits: { subflows: 12 } });
    expect(usageError('limits', 'set')).toBe('limits set needs subflows N and/or add_addr_accepted N');
    expect(usageError('limits', 'set', 'subflows')).toBe('subflows needs a number, got nothing');
    expect(usageError('limits', 'set', 'subflows', 'x')).toBe("subflows needs a number, got 'x'");
    expect(usageError('limits', 'set', 'add_addr_accepted', '')).toBe("add_addr_accepted needs a number, got ''");
    expect(usageError('limits', 'set', 'frob', '1')).toBe("unknown word 'frob' for limits set");
  });

  it('monitor', () => {
    expect(parse(['monitor'])).toEqual({ command: 'monitor', json: false });
    expect(usageError('monitor', 'extra')).toBe("unexpected 'extra' after monitor");
  });

  it('dashboard: 127.0.0.1:8080 unless told; --port N, --port=N, --host H', () => {
    expect(parse(['dashboard'])).toEqual({ command: 'dashboard', json: false, port: 8080, host: '127.0.0.1' });
    expect(parse(['dashboard', '--port', '0', '--host', '::1'])).toEqual({ command: 'dashboard', json: false, port: 0, host: '::1' });
    expect(parse(['dashboard', '--port=9000', '--host=0.0.0.0'])).toMatchObject({ port: 9000, host: '0.0.0.0' });
    expect(usageError('dashboard', '--port')).toBe('--port needs a number, got nothing');
    expect(usageError('dashboard', '--port', '70000')).toBe("--port needs a number 0-65535, got '70000'");
    expect(usageError('dashboard', '--host')).toBe('--host needs an address');
    expect(usageError('dashboard', 'extra')).toBe("unknown word 'extra' for dashboard");
  });

  it('the help text lists the commands and the exit codes', () => {
    expect(USAGE).toMatch(/^Usage: mptcp <command> \[arguments\] \[--json\]\n/);
    for (const c of ['status', 'endpoint list', 'endpoint add ADDRESS', 'endpoint delete id N', 'endpoint flush', 'endpoint set (id N | ADDRESS)', 'limits set', 'monitor', 'dashboard [--port N] [--host HOST]']) expect(USAGE).toContain(c);
    expect(USAGE).toMatch(/Exit codes:\n {2}0 +success\n {2}1 +the kernel refused .*did not parse\n {2}2 +usage error/);
  });
});

const ep = (over: Partial<Endpoint> = {}): Endpoint => ({ id: 3, address: '10.0.0.1', family: 4, flags: ['signal'], ...over });

describe('format', () => {
  it('endpoint lines as ip mptcp endpoint show prints them', () => {
    expect(fmt.endpointLine(ep())).toBe('10.0.0.1 id 3 signal');
    expect(fmt.endpointLine(ep({ port: 8080, flags: ['signal', 'backup'], ifindex: 2, ifname: 'eth0' }))).toBe('10.0.0.1 port 8080 id 3 signal backup dev eth0');
    expect(fmt.endpointLine(ep({ flags: [], ifindex: 7 }))).toBe('10.0.0.1 id 3 ifindex 7');
    expect(fmt.endpointLine(ep({ address: 'fe80::1', family: 6, flags: ['subflow', 'implicit'], unknownFlags: 0x80000040 }))).toBe('fe80::1 id 3 subflow implicit rawflags 0x80000040');
    expect(fmt.endpointListText([])).toBe('(no endpoints)');
    expect(fmt.endpointListText([ep(), ep({ id: 4, address: '10.0.0.2', flags: ['subflow'] })])).toBe('10.0.0.1 id 3 signal\n10.0.0.2 id 4 subflow');
  });

  it('limits, delete and flush lines', () => {
    expect(fmt.limitsLine({ subflows: 2, addAddrAccepted: 8 })).toBe('subflows 2 add_addr_accepted 8');
    expect(fmt.deletedText(5)).toBe('deleted endpoint 5');
    expect(fmt.FLUSHED_TEXT).toBe('all endpoints deleted');
  });

  it('status lines', () => {
    const support = { available: true, reason: null, features: { tcpIsMptcp: true, mptcpInfo: true, fullInfo: false }, scope: null };
    expect(fmt.statusLines({ support, sysctls: { enabled: '1', path_manager: 'kernel' }, limits: { subflows: 1, addAddrAccepted: 5 }, endpoints: [ep({ id: 2 })] })).toEqual([
      'MPTCP: available',
      'switch: not loaded',
      'kernel features: tcpIsMptcp yes, mptcpInfo yes, fullInfo no',
      'sysctls:',
      '  net.mptcp.enabled = 1',
      '  net.mptcp.path_manager = kernel',
      'limits: subflows 1 add_addr_accepted 5',
      'endpoints: ',
      '  10.0.0.1 id 2 signal',
    ]);
    expect(fmt.statusLines({ support: { ...support, scope: 'clients' }, sysctls: {}, limits: { subflows: 0, addAddrAccepted: 0 }, endpoints: [] }).slice(1, 2)).toEqual(['switch: clients (mptcp/register, NODE_MPTCP)']);
    expect(fmt.statusLines({ support, sysctls: {}, limits: { subflows: 0, addAddrAccepted: 0 }, endpoints: [] }).slice(4)).toEqual(['limits: subflows 0 add_addr_accepted 0', 'endpoints: none']);
    const off = { available: false, reason: 'disabled' as const, code: 'ENOPROTOOPT', features: { tcpIsMptcp: false, mptcpInfo: false, fullInfo: false }, scope: 'off' as const };
    expect(fmt.statusLines({ support: off, sysctls: { enabled: '0' }, limits: null, endpoints: null, pathManagerError: 'genl mptcp_pm EPROTONOSUPPORT: no' })).toEqual([
      'MPTCP: unavailable (disabled)',
      'switch: off (mptcp/register, NODE_MPTCP)',
      'kernel features: tcpIsMptcp no, mptcpInfo no, fullInfo no',
      'sysctls:',
      '  net.mptcp.enabled = 0',
      'path manager: genl mptcp_pm EPROTONOSUPPORT: no',
    ]);
  });

  it('event lines as ip mptcp monitor prints them, and JSON', () => {
    const e: MptcpEvent = { type: 'created', token: 0x404b4e83, family: 4, localAddress: '10.0.1.1', localPort: 43674, remoteAddress: '10.0.1.2', remotePort: 38757, localId: 0, remoteId: 0, serverSide: false };
    expect(fmt.eventLine(e)).toBe('[created] token=404b4e83 locid=0 remid=0 saddr=10.0.1.1 daddr=10.0.1.2 sport=43674 dport=38757');
    expect(fmt.eventLine({ ...e, serverSide: true, token: 0x1f })).toBe('[created] token=0000001f locid=0 remid=0 saddr=10.0.1.1 daddr=10.0.1.2 sport=43674 dport=38757 server_side');
    expect(fmt.eventLine({ type: 'subflowClosed', token: 1, localId: 1, remoteId: 2, backup: false, ifindex: 3, error: 104, resetReason: 1, resetReasonName: 'mptcp-error' }))
      .toBe('[subflowClosed] token=00000001 locid=1 remid=2 backup=0 ifindex=3 error=104 reset_reason=mptcp-error');
    expect(fmt.eventLine({ type: 'subflowPriority', backup: true })).toBe('[subflowPriority] backup=1');
    expect(fmt.eventLine({ type: 'listenerCreated', family: 4, localAddress: '127.0.0.1', localPort: 5555 })).toBe('[listenerCreated] saddr=127.0.0.1 sport=5555');
    // The token as the text line (and ss -M, ip mptcp monitor) writes it.
    expect(JSON.parse(fmt.eventJson(e))).toEqual({ ...e, token: '404b4e83' });
    expect(fmt.eventJson({ type: 'listenerCreated', localPort: 1 })).toBe('{"type":"listenerCreated","localPort":1}');
    expect(fmt.eventJson(e)).not.toContain('\n');
  });

  it('monitor stderr lines: ready, overrun, warning', () => {
    expect(fmt.MONITOR_READY_TEXT).toBe('listening for MPTCP events (Ctrl+C stops)');
    expect(fmt.overrunLine(1)).toBe('mptcp: events lost: the kernel dropped events (receive buffer full; 1 overrun so far)');
    expect(fmt.overrunLine(3)).toBe('mptcp: events lost: the kernel dropped events (receive buffer full; 3 overruns so far)');
    expect(fmt.warningLine(new nl.NetlinkParseError('genl payload of 2 bytes'))).toBe('mptcp: malformed netlink message: genl payload of 2 bytes');
  });

  it('JSON: results indented, errors on one line without absent fields', () => {
    expect(fmt.resultJson({ subflows: 1, addAddrAccepted: 2 })).toBe('{\n  "subflows": 1,\n  "addAddrAccepted": 2\n}');
    expect(fmt.resultJson([])).toBe('[]');
    expect(fmt.errorJson({ code: 'EEXIST', message: 'm', kernelMessage: 'k' })).toBe('{"error":{"code":"EEXIST","message":"m","kernelMessage":"k"}}');
    expect(fmt.errorJson({ message: 'm' })).toBe('{"error":{"message":"m"}}');
  });
});

describe('errors: kind, exit code, message', () => {
  const { describeError, errorKind } = cliMain;

  it('the CLI\'s usage errors: 2, with a pointer to --help, text even under --json', () => {
    const err = new UsageError("unknown command 'x'");
    for (const json of [false, true]) expect(describeError(err, json)).toEqual({ kind: 'usage', exitCode: 2, text: "mptcp: unknown command 'x'\nTry 'mptcp --help'.\n" });
  });

  it('the library\'s argument errors: 2, with the library\'s message', () => {
    const cases = [
      errors.errInvalidArgType('idOrAddress', ['number', 'string'], null),
      errors.errOutOfRange('limits.subflows', 'an integer >= 0 and <= 8', 12),
      errors.errInvalidArgValue('options.flags', ['signal', 'fullmesh'], "cannot combine 'signal' and 'fullmesh'"),
      errors.errInvalidIpAddress('not-an-ip'),
      errors.errSocketBadPort('options.port', 70000),
    ];
    expect(cases.map((e) => e.code)).toEqual([...cliMain.ARGUMENT_ERROR_CODES]);
    for (const err of cases) {
      expect(errorKind(err)).toBe('argument');
      expect(describeError(err, false)).toEqual({ kind: 'argument', exitCode: 2, text: `mptcp: ${err.message}\n` });
      expect(JSON.parse(describeError(err, true).text)).toEqual({ error: { code: err.code, message: err.message } });
    }
  });

  it('kernel refusals (errno errors): 1, with the kernel\'s message', () => {
    const dup = nl.netlinkError(17, 'mptcp_pm add_addr', { kernelMessage: 'too many addresses or duplicate one' });
    expect(describeError(dup, false)).toEqual({ kind: 'refused', exitCode: 1, text: 'mptcp: mptcp_pm add_addr EEXIST: too many addresses or duplicate one\n' });
    expect(JSON.parse(describeError(dup, true).text)).toEqual({ error: { code: 'EEXIST', message: 'mptcp_pm add_addr EEXIST: too many addresses or duplicate one', kernelMessage: 'too many addresses or duplicate one' } });
    const perm = nl.netlinkError(1, 'mptcp_pm flush_addrs', { hint: 'managing MPTCP needs CAP_NET_ADMIN' });
    expect(describeError(perm, false)).toMatchObject({ kind: 'refused', exitCode: 1, text: expect.stringContaining('EPERM: operation not permitted (managing MPTCP needs CAP_NET_ADMIN)') });
    expect(errorKind(nl.netlinkError(4095, 'x'))).toBe('refused'); // an errno Node has no name for: code UNKNOWN
    expect(errorKind(Object.assign(new Error('no endpoint with id 7'), { code: 'ENOENT' }))).toBe('refused');
  });

  it('a malformed kernel reply: 1, with its own message', () => {
    const err = new nl.NetlinkParseError('nla_len 300 with 8 bytes left');
    expect(describeError(err, false)).toEqual({ kind: 'malformed', exitCode: 1, text: "mptcp: the kernel's reply did not parse: nla_len 300 with 8 bytes left\n" });
    expect(JSON.parse(describeError(err, true).text)).toEqual({ error: { code: 'ERR_MPTCP_NETLINK_MALFORMED', message: "the kernel's reply did not parse: nla_len 300 with 8 bytes left" } });
    // As the parser raises it.
    let raised: unknown;
    try {
      nl.parseAttrs(Buffer.from([0xff, 0, 1, 0]));
    } catch (e) {
      raised = e;
    }
    expect(raised).toBeInstanceOf(nl.NetlinkParseError);
    expect(describeError(raised, false)).toMatchObject({ kind: 'malformed', exitCode: 1, text: "mptcp: the kernel's reply did not parse: nla_len 255 with 4 bytes left\n" });
    // By its code too (a NetlinkParseError from another copy of the library).
    expect(errorKind(Object.assign(new Error('malformed netlink message: x'), { code: 'ERR_MPTCP_NETLINK_MALFORMED' }))).toBe('malformed');
  });

  it('anything else: 1, with its message', () => {
    expect(describeError(errors.errInvalidAddressFamily(5, 'h', 1), false)).toMatchObject({ kind: 'failed', exitCode: 1 });
    expect(describeError(new TypeError('boom'), false)).toEqual({ kind: 'failed', exitCode: 1, text: 'mptcp: boom\n' });
    expect(describeError('a string', true)).toEqual({ kind: 'failed', exitCode: 1, text: '{"error":{"message":"a string"}}\n' });
    expect(cliMain.exitCodeFor('failed')).toBe(1);
  });
});

/** A fake library: a path manager over an array, a scripted monitor; records the calls. */
function fakeLibrary(endpoints: Endpoint[] = [], over: Partial<PathManager> = {}) {
  const calls: unknown[][] = [];
  let limits = { subflows: 2, addAddrAccepted: 0 };
  const pm: PathManager = {
    list: async () => { calls.push(['list']); return endpoints.map((e) => ({ ...e })); },
    get: async (id) => { calls.push(['get', id]); return endpoints.find((e) => e.id === id) ?? null; },
    add: async (o) => { calls.push(['add', o]); const e = { id: o.id ?? 1, address: o.address, family: 4 as const, flags: o.flags ?? [] }; endpoints.push(e); return e; },
    delete: async (id) => { calls.push(['delete', id]); },
    flush: async () => { calls.push(['flush']); },
    setFlags: async (target, flags) => {
      calls.push(['setFlags', target, [...flags].sort()]);
      const e = endpoints.find((x) => x.id === target || x.address === target)!;
      e.flags = [...e.flags.filter((f) => f !== 'backup' && f !== 'fullmesh'), ...(['backup', 'fullmesh'] as const).filter((f) => flags.includes(f))];
    },
    getLimits: async () => { calls.push(['getLimits']); return limits; },
    setLimits: async (l) => { calls.push(['setLimits', l]); limits = { ...limits, ...l }; return limits; },
    ...over,
  };
  const mon = Object.assign(new EventEmitter(), { ready: Promise.resolve(), closed: false, close() { this.closed = true; } });
  const lib: Library = {
    pm,
    monitor: () => mon,
    support: () => ({ available: true, reason: null, features: { tcpIsMptcp: true, mptcpInfo: true, fullInfo: true }, scope: null }),
    sysctls: () => ({ enabled: '1' }),
    connections: async () => [],
    mib: () => null,
  };
  return { lib, calls, mon };
}

function fakeIo() {
  const io = { out: '', err: '', stop: null as null | (() => void) };
  return {
    io,
    sink: { stdout: (t: string) => { io.out += t; }, stderr: (t: string) => { io.err += t; }, onInterrupt: (s: () => void) => { io.stop = s; } },
  };
}

async function runFake(argv: string[], lib: Library) {
  const { io, sink } = fakeIo();
  const code = await cliMain.run(argv, sink, lib);
  return { code, stdout: io.out, stderr: io.err };
}

describe('run', () => {
  it('help on stdout; a usage error never reaches the library', async () => {
    const { lib, calls } = fakeLibrary();
    expect(await runFake(['--help'], lib)).toEqual({ code: 0, stdout: `${USAGE}\n`, stderr: '' });
    expect(await runFake([], lib)).toEqual({ code: 2, stdout: `${USAGE}\n`, stderr: '' });
    expect(await runFake(['endpoint', 'set', 'id', '3', 'frob', '--json'], lib)).toEqual({ code: 2, stdout: '', stderr: "mptcp: unknown word 'frob' for endpoint set\nTry 'mptcp --help'.\n" });
    expect(calls).toEqual([]);
  });

  it('endpoint list, add, delete, flush: text and JSON', async () => {
    const { lib, calls } = fakeLibrary([ep()]);
    expect(await runFake(['endpoint', 'list'], lib)).toEqual({ code: 0, stdout: '10.0.0.1 id 3 signal\n', stderr: '' });
    expect(JSON.parse((await runFake(['endpoint', 'list', '--json'], lib)).stdout)).toEqual([ep()]);
    expect(await runFake(['endpoint', 'add', '10.0.0.2', 'id', '4', 'subflow', 'dev', 'lo'], lib)).toMatchObject({ code: 0, stdout: '10.0.0.2 id 4 subflow\n' });
    expect(calls.at(-1)).toEqual(['add', { address: '10.0.0.2', id: 4, ifname: 'lo', flags: ['subflow'] }]);
    expect(await runFake(['endpoint', 'delete', 'id', '4'], lib)).toMatchObject({ code: 0, stdout: 'deleted endpoint 4\n' });
    expect(await runFake(['endpoint', 'delete', 'id', '4', '--json'], lib)).toMatchObject({ code: 0, stdout: '{\n  "deleted": 4\n}\n' });
    expect(await runFake(['endpoint', 'flush'], lib)).toMatchObject({ code: 0, stdout: 'all endpoints deleted\n' });
    expect(JSON.parse((await runFake(['endpoint', 'flush', '--json'], lib)).stdout)).toEqual({ flushed: true });
    expect(await runFake(['endpoints'], fakeLibrary().lib)).toMatchObject({ stdout: '(no endpoints)\n' });
  });

  it('endpoint set starts from the current changeable flags', async () => {
    const { lib, calls } = fakeLibrary([ep({ id: 4, address: '10.0.0.2', flags: ['subflow', 'backup'] }), ep({ id: 9, address: '10.0.0.3', flags: ['subflow', 'fullmesh'] })]);
    expect(await runFake(['endpoint', 'set', 'id', '4', 'nobackup'], lib)).toMatchObject({ code: 0, stdout: '10.0.0.2 id 4 subflow\n' });
    expect(calls.find((c) => c[0] === 'setFlags')).toEqual(['setFlags', 4, []]);
    expect(await runFake(['endpoint', 'set', '10.0.0.3', 'backup'], lib)).toMatchObject({ code: 0, stdout: '10.0.0.3 id 9 subflow backup fullmesh\n' });
    expect(calls.filter((c) => c[0] === 'setFlags').at(-1)).toEqual(['setFlags', '10.0.0.3', ['backup', 'fullmesh']]);
    expect(await runFake(['endpoint', 'set', 'id', '77', 'backup'], lib)).toEqual({ code: 1, stdout: '', stderr: 'mptcp: no endpoint with id 77\n' });
    expect(await runFake(['endpoint', 'set', '10.9.9.9', 'backup', '--json'], lib)).toEqual({ code: 1, stdout: '', stderr: '{"error":{"code":"ENOENT","message":"no endpoint for 10.9.9.9"}}\n' });
  });

  it('limits and limits set', async () => {
    const { lib, calls } = fakeLibrary();
    expect(await runFake(['limits'], lib)).toMatchObject({ code: 0, stdout: 'subflows 2 add_addr_accepted 0\n' });
    expect(await runFake(['limits', 'set', 'add_addr_accepted', '5', '--json'], lib)).toMatchObject({ code: 0, stdout: '{\n  "subflows": 2,\n  "addAddrAccepted": 5\n}\n' });
    expect(calls.at(-1)).toEqual(['setLimits', { addAddrAccepted: 5 }]);
  });

  it('status: text and JSON; a path-manager failure is reported in it', async () => {
    const { lib } = fakeLibrary([ep({ id: 2 })]);
    expect(await runFake(['status'], lib)).toEqual({
      code: 0, stderr: '',
      stdout: 'MPTCP: available\nswitch: not loaded\nkernel features: tcpIsMptcp yes, mptcpInfo yes, fullInfo yes\nsysctls:\n  net.mptcp.enabled = 1\nlimits: subflows 2 add_addr_accepted 0\nendpoints: \n  10.0.0.1 id 2 signal\n',
    });
    expect(Object.keys(JSON.parse((await runFake(['status', '--json'], lib)).stdout))).toEqual(['support', 'sysctls', 'limits', 'endpoints']);
    const broken = fakeLibrary([], { list: () => Promise.reject(new nl.NetlinkParseError('genl payload of 2 bytes')) }).lib;
    const s = await runFake(['status', '--json'], broken);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ limits: { subflows: 2 }, endpoints: null, pathManagerError: 'malformed netlink message: genl payload of 2 bytes' });
  });

  it('exit codes of commands failing in the library', async () => {
    const reject = (err: Error) => () => Promise.reject(err);
    const malformed = fakeLibrary([], { list: reject(new nl.NetlinkParseError('nlmsg_len 20 with 16 bytes left')) }).lib;
    expect(await runFake(['endpoint', 'list'], malformed)).toEqual({ code: 1, stdout: '', stderr: "mptcp: the kernel's reply did not parse: nlmsg_len 20 with 16 bytes left\n" });
    const badIp = fakeLibrary([], { add: reject(errors.errInvalidIpAddress('not-an-ip')) }).lib;
    expect(await runFake(['endpoint', 'add', 'not-an-ip'], badIp)).toEqual({ code: 2, stdout: '', stderr: 'mptcp: Invalid IP address: not-an-ip\n' });
    const range = fakeLibrary([], { setLimits: reject(errors.errOutOfRange('limits.subflows', 'an integer >= 0 and <= 8', 12)) }).lib;
    expect(await runFake(['limits', 'set', 'subflows', '12'], range)).toMatchObject({ code: 2 });
    const dup = fakeLibrary([], { add: reject(nl.netlinkError(17, 'mptcp_pm add_addr', { kernelMessage: 'too many addresses or duplicate one' })) }).lib;
    expect(await runFake(['endpoint', 'add', '10.0.0.1'], dup)).toMatchObject({ code: 1, stderr: expect.stringMatching(/EEXIST.*duplicate/) });
  });

  it('monitor: events on stdout, ready / overrun / warning on stderr, 0 when interrupted', async () => {
    const { lib, mon } = fakeLibrary();
    for (const json of [false, true]) {
      const { io, sink } = fakeIo();
      mon.removeAllListeners();
      mon.closed = false;
      const done = cliMain.run(json ? ['monitor', '--json'] : ['monitor'], sink, lib);
      await Promise.resolve();
      const e: MptcpEvent = { type: 'closed', token: 0xabc };
      mon.emit('ready');
      mon.emit('event', e);
      mon.emit('overrun', { overruns: 1 });
      mon.emit('warning', new nl.NetlinkParseError('genl payload of 2 bytes'));
      mon.emit('overrun', { overruns: 2 });
      mon.emit('event', e);
      io.stop!();
      expect(await done).toBe(0);
      expect(mon.closed).toBe(true);
      expect(io.out).toBe(json ? `${JSON.stringify({ ...e, token: '00000abc' })}\n`.repeat(2) : '[closed] token=00000abc\n'.repeat(2));
      expect(io.err).toBe([
        'listening for MPTCP events (Ctrl+C stops)',
        'mptcp: events lost: the kernel dropped events (receive buffer full; 1 overrun so far)',
        'mptcp: malformed netlink message: genl payload of 2 bytes',
        'mptcp: events lost: the kernel dropped events (receive buffer full; 2 overruns so far)',
        '',
      ].join('\n'));
    }
  });

  it('monitor: a failure is the command\'s error', async () => {
    const { lib, mon } = fakeLibrary();
    const done = runFake(['monitor'], lib);
    await Promise.resolve();
    mon.emit('error', nl.netlinkError(1, 'mptcp_pm join mptcp_pm_events', { hint: 'MPTCP events need CAP_NET_ADMIN' }));
    expect(await done).toEqual({ code: 1, stdout: '', stderr: 'mptcp: mptcp_pm join mptcp_pm_events EPERM: operation not permitted (MPTCP events need CAP_NET_ADMIN)\n' });
    // A failure before anything listens: ready rejects.
    const early = fakeLibrary();
    const failed = Promise.reject(nl.netlinkError(93, 'socket', { message: 'netlink is not available on this platform' }));
    failed.catch(() => {});
    early.lib.monitor = () => Object.assign(new EventEmitter(), { ready: failed, close() {} });
    expect(await runFake(['monitor'], early.lib)).toMatchObject({ code: 1, stderr: expect.stringContaining('EPROTONOSUPPORT: netlink is not available on this platform') });
  });

  it('readSysctls: sorted by name, trimmed; {} without the directory', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mptcp-sysctl-'));
    try {
      fs.writeFileSync(path.join(dir, 'scheduler'), 'default\n');
      fs.writeFileSync(path.join(dir, 'enabled'), '1\n');
      expect(Object.entries(cliMain.readSysctls(dir))).toEqual([['enabled', '1'], ['scheduler', 'default']]);
      expect(cliMain.readSysctls(path.join(dir, 'none'))).toEqual({});
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});

describe('bin/mptcp.js', () => {
  const node = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000 });

  it('is a shim over dist/cli/main.js', () => {
    expect(fs.readFileSync(bin, 'utf8')).toBe("#!/usr/bin/env node\nrequire('../dist/cli/main.js').main();\n");
    expect(fs.statSync(bin).mode & 0o111).not.toBe(0);
  });

  it('runs without root: --help, usage errors, argument errors', () => {
    expect(node('--help')).toMatchObject({ status: 0, stdout: `${USAGE}\n`, stderr: '' });
    expect(node()).toMatchObject({ status: 2, stdout: `${USAGE}\n` });
    expect(node('frobnicate')).toMatchObject({ status: 2, stdout: '', stderr: "mptcp: unknown command 'frobnicate'\nTry 'mptcp --help'.\n" });
    // Checked by the library before anything is sent to the kernel.
    expect(node('endpoint', 'add', 'not-an-ip', '--json')).toMatchObject({ status: 2, stderr: '{"error":{"code":"ERR_INVALID_IP_ADDRESS","message":"Invalid IP address: not-an-ip"}}\n' });
  });
});
