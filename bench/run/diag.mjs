// Phase 5 of the loopback benchmark: mptcp.connections() with many MPTCP
// connections open in the namespace (BENCH_DIAG_CONNS, default 10,000:
// twice as many MPTCP sockets, one end in a child process, the other here),
// against the way an operator asks today: one `ss -Mni` process. Whole
// table, and one connection picked by port (the library's filter is
// compiled to inet_diag bytecode, as ss compiles `sport = :P`).
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import readline from 'node:readline';
import { envNumber } from '../common.mjs';
import { QUICK, SS, log } from './config.mjs';
import { usStats } from './calls.mjs';

const require = createRequire(import.meta.url);
const m = require('../../dist/index.js');

const SERVER = `
  const m = require(${JSON.stringify(require.resolve('../../dist/index.js'))});
  const held = [];
  const s = m.createServer((c) => { held.push(c); c.on('error', () => {}); });
  s.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => console.log(s.address().port));
  process.stdin.on('end', () => process.exit(0)).resume();`;

async function openMany(port, n) {
  const sockets = [];
  let next = 0;
  const one = () => new Promise((resolve, reject) => {
    const s = m.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  const worker = async () => {
    while (next < n) {
      next++;
      sockets.push(await one());
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return sockets;
}

const run = (args) => new Promise((resolve, reject) =>
  execFile(SS, args, { maxBuffer: 512 << 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));

async function timed(fn, rounds) {
  const us = [];
  let last;
  for (let i = 0; i < rounds; i++) {
    const t0 = process.hrtime.bigint();
    last = await fn();
    us.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  return { stats: usStats(us), last };
}

export async function diagPhase(result) {
  if (!SS) {
    result.warnings.push('connections() not measured: no ss (iproute2) for the baseline');
    return;
  }
  const n = envNumber('BENCH_DIAG_CONNS', QUICK ? 2000 : 10_000);
  const rounds = QUICK ? 5 : 10;
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  let sockets = [];
  try {
    const [line] = await once(readline.createInterface({ input: child.stdout }), 'line');
    const port = Number(line);
    log(`connections(): opening ${n} MPTCP connections`);
    const t0 = Date.now();
    sockets = await openMany(port, n);
    log(`connections(): ${n} open in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, 500));
    const pick = sockets[Math.floor(sockets.length / 2)].localPort;

    const all = await timed(() => m.connections(), rounds);
    const allSs = await timed(() => run(['-HMni']), rounds);
    const one = await timed(() => m.connections({ port: pick }), rounds);
    const oneSs = await timed(() => run(['-HMni', `( sport = :${pick} or dport = :${pick} )`]), rounds);
    const withSubflows = await timed(() => m.connections({ port: pick, subflows: true }), rounds);
    const ssLines = allSs.last.split('\n').filter((l) => /^\S/.test(l)).length;
    result.diag = {
      unit: 'ms/call', connections: n, mptcpSockets: all.last.length, ssSockets: ssLines, rounds, picked: one.last.length,
      stats: {
        'connections() (whole table)': all.stats,
        'ref: one `ss -Mni` process (whole table)': allSs.stats,
        'connections({ port })': one.stats,
        'ref: one `ss -Mni sport/dport = :P` process': oneSs.stats,
        'connections({ port, subflows: true })': withSubflows.stats,
      },
    };
    log('connections(): done');
  } catch (err) {
    result.warnings.push(`connections() not measured: ${err.message}`);
  } finally {
    for (const s of sockets) s.destroy();
    child.stdin.end();
    await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
    child.kill('SIGKILL');
  }
}
