// Shared by the CLI's unit tests: the grammar as the package ships it.
import { createRequire } from 'node:module';
import { expect } from 'vitest';

const require = createRequire(import.meta.url);
export const cliParse = require('../../dist/cli/parse.js') as typeof import('../../lib/cli/parse');

/** The UsageError message parse throws for argv (fails the test if it does not throw one). */
export function usageError(...argv: string[]): string {
  try {
    cliParse.parse(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(cliParse.UsageError);
    return (err as Error).message;
  }
  throw new Error(`parse(${JSON.stringify(argv)}) did not throw`);
}
