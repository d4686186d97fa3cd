// Phase 4 of the lab benchmark: library connections churn (opened, closed
// once connected) across the lab while mptcp.monitor() in the client
// namespace counts what it is delivered; `ip mptcp monitor` in the same
// namespace counts the same events as the oracle (a lower count for the
// library would mean lost events).
import { spawn } from 'node:child_process';
import { QUICK, log } from './config.mjs';
import { Lab, sleep } from './kit.mjs';

export async function eventsPhase(result) {
  const n = QUICK ? 400 : 2000;
  const lab = await Lab.create({ paths: 2 });
  try {
    const [server, client] = await Promise.all([lab.agent('server'), lab.agent('client')]);
    const { port } = await server.request({ cmd: 'serve', kind: 'lib' });
    const ip = spawn('ip', ['netns', 'exec', lab.client, 'ip', 'mptcp', 'monitor'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let ipLines = 0;
    ip.stdout.setEncoding('utf8');
    ip.stdout.on('data', (d) => { ipLines += d.split('\n').length - 1; });
    const ipExit = new Promise((resolve) => ip.on('exit', resolve));
    await client.request({ cmd: 'countEvents' });
    await sleep(500); // ip mptcp monitor has no ready signal
    const churn = await client.request({ cmd: 'churn', host: lab.paths[0].serverAddress, port, n, concurrency: 8 }, 300_000);
    await sleep(1000); // let the last events arrive
    const counts = await client.request({ cmd: 'eventCounts' });
    ip.kill('SIGINT');
    await ipExit;
    const spanMs = counts.lastMs - counts.firstMs;
    result.events = {
      connections: n, churnMs: churn.ms, connectionsPerSec: n / (churn.ms / 1000),
      libEvents: counts.total, ipEvents: ipLines, byType: counts.byType,
      eventsPerSec: spanMs > 0 ? counts.total / (spanMs / 1000) : NaN,
      libOverIp: ipLines > 0 ? counts.total / ipLines : NaN,
    };
    log(`events: ${counts.total} delivered, ip saw ${ipLines}`);
  } finally {
    await lab.destroy();
  }
}
