// Prints one closing line, "N passed, N failed, N skipped", so a CI log says
// plainly how many tests ran, preceded by one "FAILED" line per failed test
// (file, name, the error's first line), so the tail of a log names what
// failed. A test file that failed to load (or failed in a hook outside any
// test) counts as one failed test, so it cannot vanish from the count; so
// does a file whose tests did not all run (its worker died), and each error
// vitest caught outside the tests (an uncaught exception in a worker).
import type { Reporter, SerializedError, TestModule } from 'vitest/node';

function firstLine(errors: ReadonlyArray<{ message?: string }> | undefined): string {
  const m = errors?.[0]?.message ?? '';
  return m.split('\n')[0].slice(0, 300);
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError> = []): void {
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
      const notRun = tests.filter((t) => t.result().state === 'pending').length;
      if (notRun > 0) {
        failed++;
        lines.push(`FAILED ${m.relativeModuleId}: ${notRun} of its tests did not run`);
      }
      for (const t of tests) {
        const r = t.result();
        if (r.state === 'pending') continue;
        if (r.state === 'passed') passed++;
        else if (r.state === 'failed') {
          failed++;
          lines.push(`FAILED ${t.module.relativeModuleId} > ${t.fullName}: ${firstLine(r.errors)}`);
        } else skipped++;
      }
    }
    for (const e of unhandledErrors) {
      failed++;
      lines.push(`FAILED (outside any test): ${firstLine([e])}`);
    }
    if (lines.length) process.stdout.write(`\n${lines.join('\n')}\n`);
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
