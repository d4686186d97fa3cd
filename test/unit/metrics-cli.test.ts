// `mptcp metrics`: its grammar (lib/cli/parse.ts) and the exposition writer
// (lib/metrics-text.ts) without the kernel; the exporter itself runs in
// test/integration/metrics.test.ts.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseExposition } from '../helpers/metrics';

const require = createRequire(import.meta.url);
const { parse, USAGE, UsageError } = require('../../dist/cli/parse.js') as typeof import('../../lib/cli/parse');
const text = require('../../dist/metrics-text.js') as typeof import('../../lib/metrics-text');

describe('mptcp metrics: grammar', () => {
  it('defaults to 127.0.0.1:9464; --port and --host, also as --port=N', () => {
    expect(parse(['metrics'])).toEqual({ command: 'metrics', json: false, port: 9464, host: '127.0.0.1' });
    expect(parse(['metrics', '--port', '0', '--host', '::1'])).toMatchObject({ port: 0, host: '::1' });
    expect(parse(['metrics', '--port=9100', '--host=0.0.0.0'])).toMatchObject({ port: 9100, host: '0.0.0.0' });
    expect(USAGE).toMatch(/metrics \[--port N\] \[--host ADDRESS\]/);
  });

  it('usage errors', () => {
    for (const argv of [['metrics', '--port'], ['metrics', '--port', 'x'], ['metrics', '--port', '65536'], ['metrics', '--host'], ['metrics', 'extra'], ['metrics', '--host=']]) {
      expect(() => parse(argv), argv.join(' ')).toThrow(UsageError);
    }
  });
});

describe('text exposition', () => {
  it('escapes help and label values, writes NaN and infinities, parses back', () => {
    const out = text.formatFamilies([
      { name: 'a_total', help: 'back\\slash\nnewline', type: 'counter', labelNames: [], samples: [{ labels: {}, value: 3 }] },
      { name: 'b', help: 'b', type: 'gauge', labelNames: ['l'], samples: [
        { labels: { l: 'q"uote\\\n' }, value: NaN }, { labels: { l: 'x' }, value: Infinity }, { labels: { l: 'y' }, value: -Infinity },
      ] },
      { name: 'c', help: 'empty', type: 'gauge', labelNames: ['l'], samples: [] },
    ]);
    expect(out).toContain('# HELP a_total back\\\\slash\\nnewline\n');
    expect(out).toContain('b{l="q\\"uote\\\\\\n"} NaN\n');
    const p = parseExposition(out);
    expect(p.samples.map((s) => [s.name, s.labels, s.value])).toEqual([
      ['a_total', {}, 3], ['b', { l: 'q"uote\\\n' }, NaN], ['b', { l: 'x' }, Infinity], ['b', { l: 'y' }, -Infinity],
    ]);
    expect(p.types.get('c')).toBe('gauge');
  });
});
