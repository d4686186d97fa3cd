// The public typings, checked by the TypeScript compiler: test/types/api-types.ts
// must compile, and each `@ts-expect-error` there must be a real error.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.join(__dirname, '..', '..');

describe('public typings', () => {
  it('accept what net accepts and reject misspelt or mistyped listen/connect options', () => {
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', '--types', 'node',
      '--module', 'commonjs', '--target', 'es2022', path.join(root, 'test', 'types', 'api-types.ts')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
