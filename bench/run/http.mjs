// Phase 4 of the loopback benchmark: HTTP servers under autocannon, run
// under `mptcpize` so that the client side is MPTCP for both servers:
//   lib       mptcp.listen(http.createServer(handler))     (under test)
//   mptcpize  the same plain http program under `mptcpize run node`
// Two kinds of load: keep-alive (autocannon's default) and
// connection-heavy (`Connection: close`: the server closes after each
// response, autocannon reconnects). Servers pinned to CPU_RECV, autocannon
// to CPU_SEND; the servers take turns run by run. After every run the
// server says how many connections it accepted and how many were MPTCP.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonLineChild } from '../child.mjs';
import { blockBootstrapRatio, median, rotated } from '../common.mjs';
import { CFG, CPU_RECV, CPU_SEND, MPTCPIZE, MODES, TASKSET, log } from './config.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(here, '..', 'http-server.mjs');
const require = createRequire(import.meta.url);

/** The kinds of load, with the autocannon arguments that make them. */
export const HTTP_KINDS = {
  'keep-alive': [],
  'Connection: close': ['-H', 'Connection: close'],
};

function autocannonPath() {
  try {
    return path.join(path.dirname(require.resolve('autocannon/package.json')), 'autocannon.js');
  } catch {
    return null;
  }
}

const pin = (cpu) => (TASKSET ? [TASKSET, '-c', String(cpu)] : []);

function startServer(mode) {
  const cmd = [...pin(CPU_RECV), ...mode.wrap, process.execPath, SERVER, mode.peer];
  return new JsonLineChild(`${mode.name} http server`, cmd, { bye: JSON.stringify({ cmd: 'exit' }) + '\n' });
}

/** One autocannon run (under mptcpize) against `port`: its JSON result. */
function cannon(bin, port, kind, seconds) {
  const args = [...pin(CPU_SEND), MPTCPIZE, 'run', process.execPath, bin, '-j', '-d', String(seconds),
    '-c', String(CFG.httpConnections), ...HTTP_KINDS[kind], `http://127.0.0.1:${port}/`];
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8', timeout: (seconds + 60) * 1000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`autocannon: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(r.stdout);
}

export async function httpPhase(result) {
  const bin = autocannonPath();
  const modes = MODES.filter((m) => m.name !== 'tcp');
  if (!bin || !MPTCPIZE || !MODES[1].available) {
    result.warnings.push(`HTTP phase skipped: ${!bin ? 'autocannon is not installed (npm install)' : 'mptcpize is not usable'}`);
    return;
  }
  const servers = {};
  const runs = {};
  try {
    for (const mode of modes) {
      servers[mode.name] = startServer(mode);
      runs[mode.name] = {};
    }
    const ports = {};
    for (const mode of modes) ports[mode.name] = (await servers[mode.name].next('ready', 20_000)).port;
    // Warm-up: one short run per server and kind, not counted.
    for (const kind of Object.keys(HTTP_KINDS)) {
      for (const mode of modes) {
        cannon(bin, ports[mode.name], kind, 1);
        await servers[mode.name].request({ cmd: 'stats' }, 'stats');
      }
    }
    for (let round = 0; round < CFG.httpRounds; round++) {
      for (const kind of Object.keys(HTTP_KINDS)) {
        for (const mode of rotated(modes, round)) {
          const r = cannon(bin, ports[mode.name], kind, CFG.httpSeconds);
          const s = await servers[mode.name].request({ cmd: 'stats' }, 'stats');
          (runs[mode.name][kind] ??= []).push({
            rps: r.requests.average, p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99,
            errors: r.errors, non2xx: r.non2xx, connections: s.connections, mptcp: s.mptcp,
          });
        }
      }
      log(`http: round ${round + 1}/${CFG.httpRounds} done`);
    }
  } finally {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
  }
  const stats = {};
  for (const [name, byKind] of Object.entries(runs)) {
    stats[name] = {};
    for (const [kind, rs] of Object.entries(byKind)) {
      const col = (k) => rs.map((x) => x[k]);
      const sum = (k) => col(k).reduce((a, b) => a + b, 0);
      stats[name][kind] = {
        runs: rs.length, rps: median(col('rps')), rpsAll: col('rps'), p50: median(col('p50')), p90: median(col('p90')), p99: median(col('p99')),
        errors: sum('errors'), non2xx: sum('non2xx'), connections: sum('connections'), mptcp: sum('mptcp'),
      };
    }
  }
  const ratios = {};
  for (const kind of Object.keys(HTTP_KINDS)) {
    const a = stats.lib[kind];
    const b = stats.mptcpize[kind];
    ratios[kind] = {
      rps: { ratio: a.rps / b.rps, ...blockBootstrapRatio(a.rpsAll, b.rpsAll, 0.5, 1) }, // paired by round
      p50: a.p50 / b.p50, p99: a.p99 / b.p99,
    };
  }
  const verified = {};
  for (const name of Object.keys(stats)) {
    const all = Object.values(stats[name]);
    const conns = all.reduce((n, s) => n + s.connections, 0);
    const mp = all.reduce((n, s) => n + s.mptcp, 0);
    verified[name] = { connections: conns, mptcp: mp, allMptcp: conns > 0 && mp === conns };
  }
  result.http = { seconds: CFG.httpSeconds, rounds: CFG.httpRounds, connections: CFG.httpConnections, stats, ratios, verified };
}
