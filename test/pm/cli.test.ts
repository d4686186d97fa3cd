// The `mptcp` command in a network namespace of the test's own, with
// iproute2 as the oracle: output, --json, --help and exit codes.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labUnavailableReason } from '../lab/lab';

const reason = labUnavailableReason();
const cli = path.join(__dirname, '..', '..', 'bin', 'mptcp.js');

let ns = '';
let counter = 0;

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, cli, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const ip = (...args: string[]): string => execFileSync('ip', ['-n', ns, 'mptcp', ...args], { encoding: 'utf8' });

describe.skipIf(reason !== null)('mptcp CLI', () => {
  beforeEach(() => {
    ns = `mptcplab-${process.pid}-${800 + ++counter}-s`;
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  });
  afterEach(() => {
    spawnSync('ip', ['netns', 'del', ns]);
  });

  it('endpoint add/list/set/delete/flush match ip mptcp', () => {
    expect(run('endpoint', 'add', '10.6.0.1', 'id', '3', 'signal', 'dev', 'lo')).toMatchObject({ code: 0, stdout: '10.6.0.1 id 3 signal dev lo\n' });
    expect(run('endpoint', 'add', '10.6.0.2', 'subflow', 'backup').code).toBe(0);
    expect(ip('endpoint', 'show')).toBe('10.6.0.1 id 3 signal dev lo \n10.6.0.2 id 4 subflow backup \n');
    ip('endpoint', 'add', '10.6.0.3', 'id', '9', 'subflow', 'fullmesh');
    const list = run('endpoint', 'list', '--json');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).map((e: { id: number; flags: string[] }) => [e.id, e.flags])).toEqual([[3, ['signal']], [4, ['subflow', 'backup']], [9, ['subflow', 'fullmesh']]]);
    expect(run('endpoint', 'set', 'id', '4', 'nobackup').stdout).toBe('10.6.0.2 id 4 subflow\n');
    expect(run('endpoint', 'set', '10.6.0.3', 'backup').stdout).toBe('10.6.0.3 id 9 subflow backup fullmesh\n');
    expect(run('endpoint', 'delete', 'id', '3').code).toBe(0);
    expect(ip('endpoint', 'show')).toBe('10.6.0.2 id 4 subflow \n10.6.0.3 id 9 subflow backup fullmesh \n');
    expect(run('endpoint', 'flush').code).toBe(0);
    expect(ip('endpoint', 'show')).toBe('');
  });

  it('limits and status', () => {
    expect(run('limits', 'set', 'subflows', '3', 'add_addr_accepted', '5')).toMatchObject({ code: 0, stdout: 'subflows 3 add_addr_accepted 5\n' });
    expect(ip('limits', 'show')).toBe('add_addr_accepted 5 subflows 3 \n');
    ip('limits', 'set', 'subflows', '1');
    expect(JSON.parse(run('limits', '--json').stdout)).toEqual({ subflows: 1, addAddrAccepted: 5 });
    ip('endpoint', 'add', '10.6.0.9', 'id', '2', 'signal');
    const status = run('status');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('MPTCP: available');
    expect(status.stdout).toContain('net.mptcp.enabled = 1');
    expect(status.stdout).toContain('limits: subflows 1 add_addr_accepted 5');
    expect(status.stdout).toContain('  10.6.0.9 id 2 signal');
    expect(JSON.parse(run('status', '--json').stdout)).toMatchObject({ support: { available: true }, limits: { subflows: 1 }, endpoints: [{ id: 2 }] });
  });

  it('exit codes: 1 for kernel refusals with its message, 2 for usage errors; --help', () => {
    ip('endpoint', 'add', '10.6.0.1', 'id', '1', 'signal');
    const dup = run('endpoint', 'add', '10.6.0.1');
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/EEXIST.*duplicate/);
    expect(run('endpoint', 'add', 'not-an-ip').code).toBe(2);
    expect(run('limits', 'set', 'subflows', '12')).toMatchObject({ code: 2 });
    expect(run('limits', 'set', 'subflows', 'x').stderr).toContain("subflows needs a number, got 'x'");
    expect(run('frobnicate')).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command 'frobnicate'") });
    expect(run('--help')).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: mptcp') });
    expect(run().code).toBe(2);
    const perm = spawnSync('nsenter', [`--net=/run/netns/${ns}`, '-S', '65534', '-G', '65534', process.execPath, cli, 'endpoint', 'flush'], { encoding: 'utf8' });
    expect(perm.status).toBe(1);
    expect(perm.stderr).toContain('CAP_NET_ADMIN');
  });
});
