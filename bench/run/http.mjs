// Phase 4 of the loopback benchmark: HTTP servers under autocannon, run
// under `mptcpize` so that the client side is MPTCP for both servers:
//   lib       mptcp.listen(http.createServer(handler))     (under test)
//   mptcpize  the same plain http program under `mptcpize run node`
//   mptcpize again  that program once more, as a server of its own: the
//             same program against itself (A/A), what this machine resolves
// Two kinds of load: keep-alive (autocannon's default) and
// connection-heavy (`Connection: close`, one request per connection: see
// bench/http-client.mjs). Servers pinned to CPU_RECV, one autocannon
// process (bench/http-client.mjs) to CPU_SEND for the whole phase. The
// servers take turns in short runs, in pairs, the order alternating, so
// that both see the machine as it is at that moment, and are replaced by
// fresh processes every CFG.httpRespawn rounds; the ratio's interval
// resamples whole process pairs. After every run the server says how many
// requests it answered, how many connections it accepted and how many of
// them were MPTCP, and how much CPU time it used (/proc/PID/schedstat).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonLineChild } from '../child.mjs';
import { blockBootstrapRatio, median, rotated } from '../common.mjs';
import { CFG, CPU_RECV, CPU_SEND, MPTCPIZE, MODES, TASKSET, log } from './config.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER = path.join(here, '..', 'http-server.mjs');
const CLIENT = path.join(here, '..', 'http-client.mjs');
const require = createRequire(import.meta.url);

/** The kinds of load: whether each request asks the server to close. */
export const HTTP_KINDS = {
  'keep-alive': false,
  'Connection: close': true,
};

function hasAutocannon() {
  try {
    require.resolve('autocannon');
    return true;
  } catch {
    return false;
  }
}

const pin = (cpu) => (TASKSET ? [TASKSET, '-c', String(cpu)] : []);
const bye = JSON.stringify({ cmd: 'exit' }) + '\n';

function startServer(mode) {
  const cmd = [...pin(CPU_RECV), ...mode.wrap, process.execPath, SERVER, mode.peer];
  return new JsonLineChild(`${mode.name} http server`, cmd, { bye });
}

/** The CPU time a process has used, ns (schedstat; else utime + stime at 100 Hz). */
function cpuNs(pid) {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 1e7;
  }
}

export async function httpPhase(result) {
  if (!hasAutocannon() || !MPTCPIZE || !MODES[1].available) {
    result.warnings.push(`HTTP phase skipped: ${!hasAutocannon() ? 'autocannon is not installed (npm install)' : 'mptcpize is not usable'}`);
    return;
  }
  const plain = MODES.find((m) => m.name === 'mptcpize');
  const modes = [MODES.find((m) => m.name === 'lib'), plain, { ...plain, name: 'mptcpize again' }];
  const servers = {};
  const runs = {};
  const client = new JsonLineChild('autocannon', [...pin(CPU_SEND), MPTCPIZE, 'run', process.execPath, CLIENT], { bye });
  const problems = [];
  const ready = {};
  const once = async (name, close, seconds) => {
    const c0 = cpuNs(ready[name].pid);
    const r = await client.request({ cmd: 'run', port: ready[name].port, seconds, connections: CFG.httpConnections, close }, 'run', (seconds + 60) * 1000);
    const cpu = cpuNs(ready[name].pid) - c0;
    const s = await servers[name].request({ cmd: 'stats' }, 'stats');
    return { ...r, cpuNs: cpu, served: s.requests, connections: s.connections, mptcp: s.mptcp };
  };
  // Fresh server processes, warmed up (one run per kind, not counted).
  const respawn = async () => {
    await Promise.all(Object.values(servers).map((s) => s.stop()));
    for (const mode of modes) servers[mode.name] = startServer(mode);
    for (const mode of modes) ready[mode.name] = await servers[mode.name].next('ready', 20_000);
    for (const close of Object.values(HTTP_KINDS)) for (const mode of modes) await once(mode.name, close, 1);
  };
  try {
    for (const mode of modes) runs[mode.name] = {};
    await client.next('ready', 20_000);
    for (let round = 0; round < CFG.httpRounds; round++) {
      if (round % CFG.httpRespawn === 0) await respawn();
      for (const [kind, close] of Object.entries(HTTP_KINDS)) {
        // Each server first, second and last in turn; every other round backwards.
        const order = round % 2 ? rotated(modes, round >> 1).reverse() : rotated(modes, round >> 1);
        for (const mode of order) {
          const r = await once(mode.name, close, CFG.httpSeconds);
          // What autocannon counted against what the server answered: never
          // fewer, and more only by the requests in flight (one per
          // connection) when this run stopped, and when the one before it
          // stopped if they reached the server after its count was read.
          if (r.served < r.requests || r.served > r.requests + 2 * CFG.httpConnections) {
            problems.push(`${mode.name} ${kind}: autocannon counted ${r.requests} responses, the server answered ${r.served}`);
          }
          if (close && Math.abs(r.connections - r.served) > 2 * CFG.httpConnections) {
            problems.push(`${mode.name} ${kind}: ${r.served} requests on ${r.connections} connections, not one per connection`);
          }
          (runs[mode.name][kind] ??= []).push({
            rps: r.rps, p50: r.p50, p90: r.p90, p99: r.p99, cpuPerRequestUs: r.cpuNs / 1e3 / Math.max(1, r.served),
            errors: r.errors + r.timeouts, non2xx: r.non2xx, connections: r.connections, mptcp: r.mptcp,
          });
        }
      }
      if ((round + 1) % 10 === 0 || round + 1 === CFG.httpRounds) log(`http: round ${round + 1}/${CFG.httpRounds} done`);
    }
  } finally {
    await Promise.all([client, ...Object.values(servers)].map((s) => s.stop()));
  }
  if (problems.length) {
    result.warnings.push(`HTTP: ${problems.length} run(s) where autocannon's count and the server's disagree, first: ${problems[0]}`);
  }
  const stats = {};
  for (const [name, byKind] of Object.entries(runs)) {
    stats[name] = {};
    for (const [kind, rs] of Object.entries(byKind)) {
      const col = (k) => rs.map((x) => x[k]);
      const sum = (k) => col(k).reduce((a, b) => a + b, 0);
      stats[name][kind] = {
        runs: rs.length, rps: median(col('rps')), rpsAll: col('rps'), p50: median(col('p50')), p90: median(col('p90')), p99: median(col('p99')),
        cpuPerRequestUs: median(col('cpuPerRequestUs')), cpuAll: col('cpuPerRequestUs'),
        errors: sum('errors'), non2xx: sum('non2xx'), connections: sum('connections'), mptcp: sum('mptcp'),
      };
    }
  }
  const ratios = {};
  const again = {};
  // Resampled by process pair: the runs of one set of server processes as one block.
  const ratio = (a, b) => ({
    rps: { ratio: a.rps / b.rps, ...blockBootstrapRatio(a.rpsAll, b.rpsAll, 0.5, CFG.httpRespawn) },
    cpu: { ratio: a.cpuPerRequestUs / b.cpuPerRequestUs, ...blockBootstrapRatio(a.cpuAll, b.cpuAll, 0.5, CFG.httpRespawn) },
    p50: a.p50 / b.p50, p99: a.p99 / b.p99,
  });
  for (const kind of Object.keys(HTTP_KINDS)) {
    ratios[kind] = ratio(stats.lib[kind], stats.mptcpize[kind]);
    again[kind] = ratio(stats['mptcpize again'][kind], stats.mptcpize[kind]);
  }
  const verified = {};
  for (const name of Object.keys(stats)) {
    const all = Object.values(stats[name]);
    const conns = all.reduce((n, s) => n + s.connections, 0);
    const mp = all.reduce((n, s) => n + s.mptcp, 0);
    verified[name] = { connections: conns, mptcp: mp, allMptcp: conns > 0 && mp === conns };
  }
  result.http = { seconds: CFG.httpSeconds, rounds: CFG.httpRounds, respawnEvery: CFG.httpRespawn, connections: CFG.httpConnections, stats, ratios, again, verified, countMismatches: problems.length };
}
