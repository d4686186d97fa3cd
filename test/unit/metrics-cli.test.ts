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

describe('docs/grafana-dashboard.json', () => {
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const sample = require('../../dist/metrics-sample.js') as typeof import('../../lib/metrics-sample');
  const file = path.join(__dirname, '..', '..', 'docs', 'grafana-dashboard.json');
  interface Panel { title: string; datasource?: { uid?: string }; targets?: { expr: string; datasource?: { uid?: string } }[] }

  it('imports as is: JSON, schemaVersion >= 36, datasource from the DS_PROMETHEUS input', () => {
    const d = JSON.parse(fs.readFileSync(file, 'utf8')) as { schemaVersion: number; __inputs: { name: string; type: string; pluginId: string }[]; panels: Panel[] };
    expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(d.__inputs).toContainEqual(expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }));
    for (const p of d.panels) {
      expect(p.datasource?.uid, p.title).toBe('${DS_PROMETHEUS}');
      for (const t of p.targets ?? []) expect(t.datasource?.uid, p.title).toBe('${DS_PROMETHEUS}');
    }
    const titles = d.panels.map((p) => p.title.toLowerCase()).join(' | ');
    for (const w of ['connections', 'subflows', 'joins', 'fallbacks', 'retransmits']) expect(titles).toContain(w);
  });

  it("every expression names only series the exporter and register() produce; counters through rate()", () => {
    const d = JSON.parse(fs.readFileSync(file, 'utf8')) as { panels: Panel[] };
    // The MIB fields of every kernel the names cover: the ones named here are in net/mptcp/mib.c since 5.x.
    const mib = ['MPCapableSYNRX', 'MPCapableSYNTX', 'MPCapableFallbackACK', 'MPCapableFallbackSYNACK', 'MPFallbackTokenInit', 'MPTCPRetrans',
      'MPJoinNoTokenFound', 'MPJoinSynRx', 'MPJoinSynTx', 'MPJoinAckRx', 'MPJoinRejected', 'DSSCorruptionFallback'];
    const known = new Set([...mib.map(sample.mibSeriesName), ...sample.NAMESPACE_DESCRIPTORS.map((x) => x.name), ...sample.SOCKET_DESCRIPTORS.map((x) => x.name)]);
    const words = new Set(['rate', 'clamp_min', 'instance', 'connection', '__rate_interval']);
    let n = 0;
    for (const p of d.panels) {
      for (const t of p.targets ?? []) {
        const names = (t.expr.replace(/"[^"]*"/g, '').match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []).filter((w) => !words.has(w) && !/^\d/.test(w) && w !== 'm');
        expect(names.length, t.expr).toBeGreaterThan(0);
        for (const name of names) {
          expect(known.has(name), `${p.title}: ${name}`).toBe(true);
          if (name.endsWith('_total')) expect(t.expr, name).toMatch(new RegExp(`rate\\(${name}\\{`));
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(10);
  });
});
