// Makes a fresh clone runnable before `npm run demo` and `npm test`: when
// the dependencies are not installed yet, `npm ci` (which also builds the
// addon and the TypeScript through this package's own install and prepare
// scripts); otherwise just the TypeScript build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
const args = existsSync(join(root, 'node_modules', 'typescript')) ? ['run', '-s', 'build:ts'] : ['ci', '--no-audit', '--no-fund'];
if (args[0] === 'ci') console.log('First run in this checkout: installing the dependencies and building (npm ci).');
const r = spawnSync(npm[0], [...npm.slice(1), ...args], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
