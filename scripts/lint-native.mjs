// clang-format --dry-run -Werror over native/ (the style is .clang-format).
// Without clang-format the check cannot run: it says so, and fails under CI,
// where .ci/run installs it.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname, '..', 'native');
// native/ and its one subfolder, floor/ (the bench's C floor program).
const files = ['', 'floor'].flatMap((sub) => readdirSync(join(dir, sub)).filter((f) => /\.(cc|h)$/.test(f)).map((f) => join(dir, sub, f)));
const r = spawnSync('clang-format', ['--dry-run', '-Werror', ...files], { stdio: 'inherit' });
if (r.error) {
  console.log(`native/ formatting not checked: clang-format not found (apt-get install clang-format)`);
  process.exit(process.env.CI ? 1 : 0);
}
process.exit(r.status ?? 1);
