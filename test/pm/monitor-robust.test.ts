// mptcp.monitor() under stress and misuse, each case in a network namespace
// of the test's own: it keeps delivering after the kernel drops events (an
// overrun) and says so; a throwing listener is an uncaught exception, not a
// 'warning'; close() before it is subscribed is not an error.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labUnavailableReason } from '../lab/lab';

const reason = labUnavailableReason();
const child = path.join(__dirname, '..', 'fixtures', 'monitor-child.cjs');

let ns = '';
let counter = 0;

function run(scenario: string): Record<string, unknown> {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, child, scenario], { encoding: 'utf8', timeout: 25_000 });
  expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

describe.skipIf(reason !== null)('mptcp.monitor() robustness', () => {
  beforeEach(() => {
    ns = `mptcplab-${process.pid}-${950 + ++counter}-s`; // swept like a lab namespace if a run is killed
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  });
  afterEach(() => {
    if (ns) spawnSync('ip', ['netns', 'del', ns]);
    ns = '';
  });

  it('after an overrun it reports the loss and goes on delivering every later event, to listeners and to the iterator', () => {
    const r = run('overrun');
    expect(r.overruns).toBeGreaterThan(0);
    expect(r.overrunCounter).toBe(r.overruns);
    expect(r.errors).toEqual([]);
    expect(r.laterCreated).toBe(r.expected); // each later connection's 'created' arrived
    expect(r.iterated).toBe(r.delivered); // the for-await loop saw what the listeners saw
    expect(r.recvBufferSize).toBeGreaterThanOrEqual(4096);
  });

  it("a listener that throws is an uncaught exception, once per throw, and no 'warning'", () => {
    const r = run('throwing-listener');
    expect(r).toMatchObject({ sameAsThrown: true, firstCaught: 'listener bug', warnings: [] });
  });

  it("read with 'event' listeners only, nothing is kept for a later loop: it starts with the events from then on", () => {
    expect(run('late-iterator')).toEqual({ heardFirst: true, loopFirstPort: 'second' });
  });

  it("close() before the subscription completes: no 'error', ready resolves, 'close' is emitted", () => {
    expect(run('close-before-ready')).toEqual({ ready: 'resolved', errors: [], closed: true });
  });
});
