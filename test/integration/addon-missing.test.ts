// Without a loadable addon the package still works as plain net (mode true)
// and refuses in mode 'require', with support() saying why.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

describe('addon unavailable', () => {
  it('true behaves as plain net, require refuses with reason addon-unavailable', () => {
    const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'fixtures', 'addon-missing-child.cjs')], { encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r.support).toMatchObject({ available: false, reason: process.platform === 'linux' ? 'addon-unavailable' : 'platform' });
    expect(r.fallback).toEqual({ connected: true, isMptcp: false, info: null, subflows: [], echo: 'x' });
    expect(r.require).toMatchObject({ connected: false, code: 'EPROTONOSUPPORT', syscall: 'socket', reason: 'addon-unavailable' });
    expect(r.fallbackServer).toMatchObject({ listening: true });
    // Said once for the whole process (several connects and listens), with a code of its own and the reason.
    expect(r.warnings).toEqual([{ name: 'Warning', code: 'MPTCP_UNAVAILABLE', message: expect.stringMatching(/^MPTCP is off \((addon-unavailable|platform)\):.*plain TCP$/) }]);
    if (process.platform === 'linux') expect(r.warnings[0].message).toContain('simulated: no addon');
    expect(r.requireServer).toMatchObject({ listening: false, code: 'EPROTONOSUPPORT', syscall: 'socket', reason: 'addon-unavailable' });
    // The path manager says why, on Linux: the addon, not the platform.
    expect(r.pm).toMatchObject({ code: 'EPROTONOSUPPORT', syscall: 'socket' });
    expect(r.pm.message).toMatch(process.platform === 'linux' ? /native addon could not be loaded \(simulated: no addon/ : /not available on/);
  });
});
