// MPTCP turned off (net.mptcp.enabled=0) in a network namespace of the
// test's own, with a child Node process running there: mode true falls back
// to TCP, 'require' reports the refusal. The host's namespace is untouched.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canNetns, skipReason, supported } from '../helpers/net';

const ns = `mptcp-t-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

describe.skipIf(!supported || !canNetns)(
  `MPTCP disabled by sysctl in a namespace${!canNetns ? ' (skipped: needs root and ip(8) for network namespaces)' : skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    beforeAll(() => {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.mptcp.enabled=0');
    });
    afterAll(() => {
      try { ip('netns', 'del', ns); } catch { /* already gone */ }
    });

    it('true falls back to TCP, require fails with ENOPROTOOPT, plain TCP unaffected', () => {
      const child = path.join(__dirname, '..', 'fixtures', 'disabled-child.cjs');
      const out = ip('netns', 'exec', ns, process.execPath, child);
      const r = JSON.parse(out.trim().split('\n').pop()!);
      expect(r.support).toMatchObject({ available: false, reason: 'disabled', code: 'ENOPROTOOPT' });
      expect(r.fallback).toEqual({ connected: true, isMptcp: false, info: null, subflows: [], echo: 'x' });
      expect(r.fallbackHostname).toEqual({ connected: true, isMptcp: false, info: null, subflows: [], echo: 'x' });
      expect(r.require).toMatchObject({ connected: false, code: 'ENOPROTOOPT', syscall: 'socket', reason: 'disabled', errno: -92 });
      expect(r.requireServer).toEqual({ listening: false, code: 'ENOPROTOOPT', syscall: 'socket', reason: 'disabled' });
      expect(r.plain).toEqual({ connected: true, isMptcp: false, info: null, subflows: [], echo: 'x' });
      // The host namespace still has MPTCP on.
      expect(execFileSync('sysctl', ['-n', 'net.mptcp.enabled'], { encoding: 'utf8' }).trim()).toBe('1');
    });
  },
);
