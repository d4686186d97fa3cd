// The lab never leaves namespaces behind: exit, crash, SIGTERM clean up in
// the process; a SIGKILLed run's namespaces are swept by the next one.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { labUnavailableReason, sweepStaleLabs } from './lab';

const reason = labUnavailableReason();
const child = path.join(__dirname, '..', 'fixtures', 'lab-child.cjs');
const exists = (ns: string): boolean => fs.existsSync(`/run/netns/${ns}`);

function start(how: string): Promise<{ names: { client: string; server: string }; done: Promise<void>; kill: () => void }> {
  const p = spawn(process.execPath, [child, how], { stdio: ['ignore', 'pipe', 'ignore'] });
  const done = new Promise<void>((resolve) => p.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let buf = '';
    p.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve({ names: JSON.parse(buf), done, kill: () => p.kill('SIGKILL') });
    });
    p.on('exit', (code) => reject(new Error(`lab child exited (${code}) before building the lab`)));
  });
}

describe.skipIf(reason !== null)('lab teardown', () => {
  for (const how of ['exit', 'throw', 'sigterm']) {
    it(`removes its namespaces when the process ends by ${how}`, async () => {
      const { names, done } = await start(how);
      await done;
      expect(exists(names.client)).toBe(false);
      expect(exists(names.server)).toBe(false);
    });
  }

  it("sweeps a SIGKILLed run's namespaces", async () => {
    const { names, done, kill } = await start('hang');
    expect(exists(names.client) && exists(names.server)).toBe(true);
    kill();
    await done;
    expect(exists(names.client)).toBe(true); // nothing ran at SIGKILL
    const swept = sweepStaleLabs();
    expect(swept).toEqual(expect.arrayContaining([names.client, names.server]));
    expect(exists(names.client) || exists(names.server)).toBe(false);
  });
});
