// Worker threads: the addon is loaded per worker and unloaded when a worker
// whose main thread never loaded it ends. Its libuv handles must be closed
// before that (an async cleanup hook), and no callback may call into
// JavaScript once the worker is stopping. Each scenario runs in a child
// process, so a crash (SIGSEGV, abort) shows as that child's exit status.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { skipReason, supported } from '../helpers/net';

const child = path.join(__dirname, '..', 'fixtures', 'worker-child.cjs');
const root = process.getuid?.() === 0;

interface WorkerResult { code: number; messages: Record<string, unknown>[] }

function run(scenario: string): WorkerResult[] {
  const r = spawnSync(process.execPath, [child, scenario], { encoding: 'utf8', timeout: 25_000 });
  expect({ status: r.status, signal: r.signal, stderr: r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as WorkerResult[];
}

describe.skipIf(!supported)('worker threads', () => {
  if (!supported) console.log(`worker tests skipped: ${skipReason}`);

  it('a worker that makes a pm call ends normally; the process does not crash when the addon is unloaded', () => {
    const [w] = run('pm');
    expect(w.code).toBe(0);
    expect(w.messages).toEqual([{ endpoints: expect.any(Number) }]);
  });

  it('the same with the addon loaded by the main thread too', () => {
    const [w] = run('main-too');
    expect(w.code).toBe(0);
    expect(w.messages).toEqual([{ endpoints: expect.any(Number) }]);
  });

  it('ten workers in a row, each loading the addon, with pm calls and connections', () => {
    const ws = run('ten-in-a-row');
    expect(ws).toHaveLength(10);
    for (const [i, w] of ws.entries()) {
      expect(w.code).toBe(0);
      expect(w.messages).toEqual([i % 2 ? { mptcp: true } : { endpoints: expect.any(Number) }]);
    }
  });

  it("getInfo's scratch buffer is per thread: a worker's readings and the main thread's, at the same time, are each their own", () => {
    const [w] = run('scratch');
    expect(w.code).toBe(0);
    const [inWorker, inMain] = w.messages as [Record<string, unknown>, Record<string, unknown>];
    // Raw calls before the worker has a buffer, with a wrong one, and with one too small for a subflow.
    expect(inWorker).toMatchObject({ before: [-22, -22], typeError: 'TypeError', small: [true, -22], full0: true, same: true, subflows: 1 });
    expect(inMain.mainSame).toBe(true);
    expect(inWorker.token).not.toBe(inMain.mainToken);
  });

  it('terminate() while a native connect attempt is in flight', () => {
    const [w] = run('connect-terminate');
    expect(w.code).toBe(1); // terminated
    expect(w.messages[0]).toEqual({ attempting: true });
  });

  it('terminate() while pm calls are in flight, ten workers in a row', () => {
    const ws = run('pm-terminate');
    expect(ws).toHaveLength(10);
    for (const w of ws) expect(w).toEqual({ code: 1, messages: [{ started: 8 }] });
  });

  it.skipIf(!root)('terminate() while a monitor is subscribed, ten workers in a row (root: CAP_NET_ADMIN)', () => {
    const ws = run('monitor-terminate');
    expect(ws).toHaveLength(10);
    for (const w of ws) expect(w).toEqual({ code: 1, messages: [{ ready: true }] });
  });
});
