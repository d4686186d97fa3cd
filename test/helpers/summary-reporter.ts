// Prints one closing line, "N passed, N failed, N skipped", so a CI log says
// plainly how many tests ran, preceded by one "FAILED" line per failed test
// (file, name, the error's first line), so the tail of a log names what
// failed. A test file that failed to load (or failed in a hook outside any
// test) counts as one failed test, so it cannot vanish from the count.
import type { Reporter, TestModule } from 'vitest/node';

function firstLine(errors: ReadonlyArray<{ message?: string }> | undefined): string {
  const m = errors?.[0]?.message ?? '';
  return m.split('\n')[0].slice(0, 300);
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const lines: string[] = [];
    for (const m of modules) {
      const tests = [...m.children.allTests()];
      if (m.state() === 'failed' && !tests.some((t) => t.result().state === 'failed')) {
        failed++;
        lines.push(`FAILED ${m.relativeModuleId}: ${firstLine(m.errors())}`);
      }
      for (const t of tests) {
        const r = t.result();
        if (r.state === 'passed') passed++;
        else if (r.state === 'failed') {
          failed++;
          lines.push(`FAILED ${t.module.relativeModuleId} > ${t.fullName}: ${firstLine(r.errors)}`);
        } else skipped++;
      }
    }
    if (lines.length) process.stdout.write(`\n${lines.join('\n')}\n`);
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
