// mptcp.metrics against independent oracles: the MIB series against
// /proc/net/netstat read before and after (this file's own parser), the
// connections gauge against ss -M, the exposition text against a strict
// parser and against a real Prometheus (Debian's prometheus package) that
// scrapes `mptcp metrics` and answers /api/v1/query. prom-client's Registry
// with the collectors; per-socket series bounded by maxTrackedSockets.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { byName, freePort, netstatMptcp, parseExposition, ssConnectionCount, startExporter } from '../helpers/metrics';
import { mptcp, recordingServer, skipReason, supported } from '../helpers/net';

const require = createRequire(import.meta.url);
const client = require('prom-client') as typeof import('prom-client');
const sample = require('../../dist/metrics-sample.js') as typeof import('../../lib/metrics-sample');

const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;

function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });
}

/** n MPTCP client connections to a library server on loopback; close() ends them all. */
async function openConnections(n: number): Promise<{ clients: net.Socket[]; rec: Awaited<ReturnType<typeof recordingServer>>; close(): Promise<void> }> {
  const rec = await recordingServer(() => mptcp.createServer(), [0, '127.0.0.1']);
  const clients = await Promise.all(Array.from({ length: n }, () => new Promise<net.Socket>((resolve, reject) => {
    const s = mptcp.connect(rec.port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  })));
  while (rec.sockets.length < n) await new Promise((r) => setTimeout(r, 10));
  return {
    clients, rec,
    async close() {
      await Promise.all(clients.map((c) => { c.destroy(); return c.closed ? undefined : once(c, 'close'); }));
      await rec.close();
    },
  };
}

/** Every MIB series against netstat: the kernel's fields, one series each, before <= value <= after. */
function checkMib(values: Map<string, number>, before: Record<string, number>, after: Record<string, number>): void {
  const fields = Object.keys(after);
  expect(fields.length).toBeGreaterThan(40);
  for (const f of fields) {
    const name = sample.mibSeriesName(f);
    expect(values.has(name), name).toBe(true);
    expect(values.get(name)!, name).toBeGreaterThanOrEqual(f === 'MPCurrEstab' ? 0 : before[f]);
    if (f !== 'MPCurrEstab') expect(values.get(name)!, name).toBeLessThanOrEqual(after[f]);
  }
  expect([...values.keys()].filter((n) => n.startsWith('mptcp_mib_'))).toHaveLength(fields.length);
}

describe('series names', () => {
  it('snake_case of every kernel field, distinct, _total for counters', () => {
    expect(sample.mibSeriesName('MPCapableSYNRX')).toBe('mptcp_mib_mp_capable_synrx_total');
    expect(sample.mibSeriesName('MPJoinSynAckHMacFailure')).toBe('mptcp_mib_mp_join_syn_ack_h_mac_failure_total');
    expect(sample.mibSeriesName('MPTCPRetrans')).toBe('mptcp_mib_mptcp_retrans_total');
    expect(sample.mibSeriesName('MD5SigFallback')).toBe('mptcp_mib_md5_sig_fallback_total');
    expect(sample.mibSeriesName('MPCurrEstab')).toBe('mptcp_mib_mp_curr_estab');
    const fields = Object.keys(netstatMptcp());
    const names = fields.map(sample.mibSeriesName);
    expect(new Set(names).size).toBe(fields.length);
    for (const n of names) expect(n).toMatch(/^mptcp_mib_[a-z0-9]+(_[a-z0-9]+)*$/);
  });
});

describe.skipIf(!supported)(`metrics${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('the exporter: /metrics in the text format, values as netstat and ss -M have them; / links it; 404 elsewhere', async () => {
    const exp = await startExporter();
    const conns = await openConnections(3);
    try {
      // Other test files open and close MPTCP connections in this namespace
      // meanwhile: a scrape is judged against ss's counts just before and
      // just after it, and retried (up to 10 times) when connections came
      // and went in between so that the count left that range.
      let before = netstatMptcp();
      let ssBefore = ssConnectionCount();
      let r = await get(`${exp.url}/metrics`);
      let after = netstatMptcp();
      let ssAfter = ssConnectionCount();
      const inRange = (): boolean => {
        const n = byName(parseExposition(r.body)).get('mptcp_connections') ?? -1;
        return n >= Math.min(ssBefore, ssAfter) && n <= Math.max(ssBefore, ssAfter);
      };
      for (let tries = 1; tries < 10 && r.status === 200 && !inRange(); tries++) {
        before = netstatMptcp();
        ssBefore = ssConnectionCount();
        r = await get(`${exp.url}/metrics`);
        after = netstatMptcp();
        ssAfter = ssConnectionCount();
      }
      expect(r.status).toBe(200);
      expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
      const parsed = parseExposition(r.body);
      const values = byName(parsed);
      checkMib(values, before, after);
      expect(parsed.types.get('mptcp_mib_mp_capable_synrx_total')).toBe('counter');
      expect(parsed.types.get('mptcp_connections')).toBe('gauge');
      expect(values.get('mptcp_connections')).toBeGreaterThanOrEqual(Math.min(ssBefore, ssAfter));
      expect(values.get('mptcp_connections')).toBeLessThanOrEqual(Math.max(ssBefore, ssAfter));
      expect(values.get('mptcp_connections')).toBeGreaterThanOrEqual(6);
      expect(values.get('mptcp_listeners')).toBeGreaterThanOrEqual(1);
      expect(values.get('mptcp_subflows')).toBeGreaterThanOrEqual(values.get('mptcp_connections')!);
      expect(parsed.samples.filter((s) => s.name === 'mptcp_collector_success').map((s) => s.value)).toEqual([1, 1]);

      const index = await get(`${exp.url}/`);
      expect(index.status).toBe(200);
      expect(index.type).toMatch(/^text\/html/);
      expect(index.body).toContain('href="/metrics"');
      for (const p of ['/metricsx', '/favicon.ico', '/api/v1/query']) expect((await get(`${exp.url}${p}`)).status).toBe(404);
      const post = await new Promise<number>((resolve, reject) => {
        const req = http.request(`${exp.url}/metrics`, { method: 'POST' }, (res) => { res.resume(); resolve(res.statusCode!); });
        req.on('error', reject);
        req.end('x');
      });
      expect(post).toBe(405);
    } finally {
      await conns.close();
      await exp.stop();
    }
  });

  it('the exporter survives clients that go away mid-request and mid-response', async () => {
    const exp = await startExporter();
    try {
      for (let i = 0; i < 30; i++) {
        const s = net.connect(exp.port, '127.0.0.1');
        await once(s, 'connect');
        s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n');
        if (i % 3 === 0) s.destroy();
        else if (i % 3 === 1) await new Promise<void>((r) => s.once('data', () => { s.resetAndDestroy(); r(); }));
        else { s.write('garbage\r\n\r\n'); s.destroy(); }
      }
      await new Promise((r) => setTimeout(r, 200));
      expect(exp.child.exitCode).toBeNull();
      const r = await get(`${exp.url}/metrics`);
      expect(r.status).toBe(200);
      parseExposition(r.body);
    } finally {
      await exp.stop();
    }
    expect(exp.child.exitCode).toBe(0);
  });

  it('prom-client: a Registry with the collectors; the same series as the exporter, values as netstat has them', async () => {
    const registry = new client.Registry();
    const m = mptcp.metrics.register(registry);
    const conns = await openConnections(2);
    try {
      const before = netstatMptcp();
      const text = await registry.metrics();
      const after = netstatMptcp();
      const parsed = parseExposition(text);
      checkMib(byName(parsed), before, after);
      expect(byName(parsed).get('mptcp_connections')).toBeGreaterThanOrEqual(4);
      // One sampling module: the exporter's families are prom-client's.
      const exported = parseExposition(await mptcp.metrics.exposition());
      expect([...exported.types.keys()].sort()).toEqual([...parsed.types.keys()].filter((n) => !n.startsWith('mptcp_socket_')).sort());
      for (const [n, t] of exported.types) expect(parsed.types.get(n), n).toBe(t);
      for (const [n, h] of exported.help) expect(parsed.help.get(n), n).toBe(h);
      // The MIB moved: these connections were counted.
      expect(after.MPCapableSYNRX).toBeGreaterThan(0);
      m.unregister();
      expect(await registry.metrics()).not.toContain('mptcp_');
      // Registered again after unregister; twice is refused without half-registering.
      const again = mptcp.metrics.register(registry);
      expect(() => mptcp.metrics.register(registry)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      again.unregister();
    } finally {
      await conns.close();
    }
  });

  it('per-socket series: opt-in by track(), at most maxTrackedSockets label values, one warning; gone when the socket closes', async () => {
    const registry = new client.Registry();
    const m = mptcp.metrics.register(registry, { maxTrackedSockets: 2 });
    const conns = await openConnections(4);
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => { if ((w as Error & { code?: string }).code === 'MPTCP_METRICS_CARDINALITY') warnings.push(w); };
    process.on('warning', onWarning);
    try {
      const [a, b, c, d] = conns.clients;
      expect((await registry.metrics())).not.toMatch(/^mptcp_socket_/m);
      expect(m.track(a, { name: 'alpha' })).toBe(true);
      expect(m.track(a, { name: 'alpha' })).toBe(true);
      expect(() => m.track(b, 'alpha')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
      expect(m.track(b)).toBe(true);
      expect(m.track(c, 'gamma')).toBe(false);
      expect(m.track(d, 'delta')).toBe(false);
      expect(m.tracked).toBe(2);
      await new Promise((r) => setImmediate(r));
      expect(warnings).toHaveLength(1);

      const payload = Buffer.alloc(100_000, 1);
      await new Promise<void>((resolve) => {
        let got = 0;
        a.on('data', (x: Buffer) => { got += x.length; if (got >= payload.length) resolve(); });
        a.write(payload);
      });
      const parsed = parseExposition(await registry.metrics());
      const socketSeries = parsed.samples.filter((s) => s.name.startsWith('mptcp_socket_'));
      const labels = new Set(socketSeries.map((s) => s.labels.connection));
      expect([...labels].sort()).toEqual(['alpha', `127.0.0.1:${b.localPort}->127.0.0.1:${conns.rec.port}`].sort());
      const of = (name: string, label: string): number | undefined => socketSeries.find((s) => s.name === name && s.labels.connection === label)?.value;
      expect(of('mptcp_socket_subflows', 'alpha')).toBe(1);
      const info = mptcp.getInfo(a)!;
      if (info.bytesSent !== undefined) {
        expect(of('mptcp_socket_bytes_sent_total', 'alpha')).toBeGreaterThanOrEqual(payload.length);
        expect(of('mptcp_socket_bytes_received_total', 'alpha')).toBeGreaterThanOrEqual(payload.length);
        expect(of('mptcp_socket_bytes_sent_total', 'alpha')).toBeLessThanOrEqual(Number(mptcp.getInfo(a)!.bytesSent));
      }
      expect(parsed.types.get('mptcp_socket_bytes_sent_total')).toBe('counter');

      a.destroy();
      await once(a, 'close');
      expect(m.tracked).toBe(1);
      expect(m.track(c, 'gamma')).toBe(true);
      const later = parseExposition(await registry.metrics()).samples.filter((s) => s.name === 'mptcp_socket_subflows');
      expect(later.map((s) => s.labels.connection).sort()).toEqual(['gamma', `127.0.0.1:${b.localPort}->127.0.0.1:${conns.rec.port}`].sort());
      expect(m.untrack(c)).toBe(true);
      expect(m.untrack(c)).toBe(false);
      expect(c.listenerCount('close')).toBeLessThan(5);
    } finally {
      process.off('warning', onWarning);
      m.unregister();
      await conns.close();
    }
  });

  it('bad input: Node-shaped errors', () => {
    const registry = new client.Registry();
    expect(() => mptcp.metrics.register({} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => mptcp.metrics.register(registry, { maxTrackedSockets: -1 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => mptcp.metrics.register(registry, { maxTrackedSockets: '3' as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => mptcp.metrics.register(registry, null as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    const m = mptcp.metrics.register(registry);
    expect(() => m.track({} as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(() => m.track(new net.Socket(), { name: 3 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    m.unregister();
  });
});

describe.skipIf(!supported || !hasPrometheus)(`a real Prometheus scraping mptcp metrics${!hasPrometheus ? ' (skipped: no prometheus binary: apt-get install prometheus)' : ''}`, () => {
  const dirs: string[] = [];
  afterAll(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

  it('has the MIB series with netstat values and the connections gauge ss -M shows', async () => {
    const exp = await startExporter();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mptcp-prom-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), [
      'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
      'scrape_configs:', '  - job_name: mptcp', '    static_configs:', `      - targets: ['127.0.0.1:${exp.port}']`, '',
    ].join('\n'));
    const promPort = await freePort();
    const prom = spawn('prometheus', [
      `--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    prom.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    const api = `http://127.0.0.1:${promPort}`;
    type Vector = { metric: Record<string, string>; value: [number, string] }[];
    const query = async (q: string): Promise<Vector> => {
      const r = await get(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
      const j = JSON.parse(r.body) as { status: string; data: { result: Vector } };
      expect(j.status).toBe('success');
      return j.data.result;
    };
    let conns: Awaited<ReturnType<typeof openConnections>> | undefined;
    try {
      for (let i = 0; ; i++) {
        const ok = await get(`${api}/-/ready`).then((r) => r.status === 200, () => false);
        if (ok) break;
        if (i > 150 || prom.exitCode !== null) throw new Error(`prometheus not ready: ${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const initial = netstatMptcp();
      conns = await openConnections(3);
      const before = netstatMptcp();
      expect(before.MPCapableSYNRX).toBeGreaterThanOrEqual(initial.MPCapableSYNRX + 3);
      const t0 = Date.now() / 1000;
      // A scrape that began after the connections were open.
      for (let i = 0; ; i++) {
        const r = await query('timestamp(mptcp_mib_mp_capable_synrx_total)');
        if (r.length && Number(r[0].value[1]) > t0 + 0.05) break;
        if (i > 100) throw new Error(`no scrape after the connections: ${JSON.stringify(r)} ${log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const mib = await query('{__name__=~"mptcp_mib_.*", job="mptcp"}');
      const after = netstatMptcp();
      checkMib(new Map(mib.map((s) => [s.metric.__name__, Number(s.value[1])])), before, after);
      expect(Number(mib.find((s) => s.metric.__name__ === 'mptcp_mib_mp_capable_synrx_total')!.value[1])).toBeGreaterThan(initial.MPCapableSYNRX);
      // The gauge matches ss -M within the scrape window (other tests may open connections meanwhile: retried).
      let last = '';
      for (let i = 0; ; i++) {
        const ssBefore = ssConnectionCount();
        const [c] = await query('mptcp_connections');
        await new Promise((r) => setTimeout(r, 1100));
        const ssAfter = ssConnectionCount();
        const v = Number(c.value[1]);
        last = `gauge ${v}, ss ${ssBefore}..${ssAfter}`;
        if (ssBefore === ssAfter && v === ssBefore) break;
        if (i > 10) throw new Error(`mptcp_connections never matched ss -M: ${last}`);
      }
      expect(Number((await query('mptcp_connections'))[0].value[1])).toBeGreaterThanOrEqual(6);
      const [up] = await query('up{job="mptcp"}');
      expect(up.value[1]).toBe('1');
      const rate = await query('rate(mptcp_mib_mptcp_retrans_total[1m])');
      expect(rate.length).toBeLessThanOrEqual(1);
      // Every expression of the Grafana dashboard is valid PromQL here, and those on the namespace's series have data.
      const dash = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'grafana-dashboard.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
      for (const p of dash.panels) {
        for (const t of p.targets) {
          const r = await query(t.expr.replaceAll('$instance', '.*').replaceAll('$__rate_interval', '1m'));
          if (!t.expr.includes('mptcp_socket_')) expect(r.length, `${p.title}: ${t.expr}`).toBeGreaterThan(0);
        }
      }
    } finally {
      await conns?.close();
      prom.kill('SIGTERM');
      if (prom.exitCode === null) await once(prom, 'exit');
      await exp.stop();
    }
  }, 60_000);
});
