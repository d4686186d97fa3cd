// npm run demo: a tour of the library.
//
// As root on Linux (network namespaces available), this runs the two-path lab
// demo of examples/demo-lab.mjs: one MPTCP connection over two shaped links,
// live per-subflow throughput, then failover and rejoin when a path is cut
// and restored. Anywhere else, or with DEMO_LOOPBACK=1, it runs the loopback
// demo below: an MPTCP server and client on 127.0.0.1 through the public API,
// showing MPTCP support here, whether the connection negotiated MPTCP (both
// ends), and live getSnapshot figures while data flows. Either ends by itself.
import { createRequire } from 'node:module';
import mptcp from '../esm/index.mjs';
import { table, mb, mbitPerSec } from '../bench/common.mjs';

const require = createRequire(import.meta.url);

/** Why the lab demo cannot run here (a short reason), or null when it can. */
function whyNoLab() {
  if (process.env.DEMO_LOOPBACK === '1') return 'DEMO_LOOPBACK=1';
  try {
    return require('../dist/lab/lab.js').labUnavailableReason();
  } catch {
    return 'the lab helper is not built (npm run build:ts)';
  }
}

async function loopbackDemo() {
  const SECONDS = Number(process.env.DEMO_SECONDS ?? 4);
  const CHUNK = Buffer.alloc(256 * 1024, 0x6d);

  const s = mptcp.support();
  console.log('\nMPTCP on this machine');
  console.log(table(['feature', 'value'], [
    ['available', s.available ? 'yes' : `no (${s.reason}${s.code ? `, ${s.code}` : ''})`],
    ['TCP_IS_MPTCP (6.10+)', s.features.tcpIsMptcp ? 'yes' : 'no'],
    ['MPTCP_INFO (5.16+)', s.features.mptcpInfo ? 'yes' : 'no'],
    ['MPTCP_FULL_INFO (6.5+)', s.features.fullInfo ? 'yes' : 'no'],
  ], 'lr', 'plain'));
  if (!s.available) console.log('\n  Connections below fall back to plain TCP (mptcp: true is the default).');

  let received = 0;
  let serverSideMptcp = null;
  const server = mptcp.createServer((sock) => {
    serverSideMptcp = mptcp.isMptcp(sock);
    sock.on('data', (d) => { received += d.length; });
    sock.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();

  const client = mptcp.connect(port, '127.0.0.1');
  await new Promise((r, j) => { client.once('connect', r); client.once('error', j); });
  await new Promise((r) => setTimeout(r, 20));
  console.log(`\nConnection 127.0.0.1:${client.localPort} -> 127.0.0.1:${port}`);
  console.log(table(['check', 'value'], [
    ['client  isMptcp()', mptcp.isMptcp(client)],
    ['server  isMptcp() of accepted socket', serverSideMptcp],
    ['token (getInfo)', mptcp.getInfo(client)?.token.toString(16) ?? '-'],
  ], 'lr', 'plain'));

  let sending = true;
  const pump = () => { while (sending && client.write(CHUNK)); };
  client.on('drain', pump);
  pump();

  console.log(`\nLive figures while sending for ${SECONDS} s (getInfo = connection, getSubflows = each TCP subflow)`);
  const start = Date.now();
  let last = { t: start, sent: 0n };
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = Date.now();
      const snap = mptcp.getSnapshot(client);
      const info = snap?.info;
      const sent = info?.bytesSent ?? BigInt(client.bytesWritten);
      for (const sf of snap?.subflows ?? [{}]) {
        const row = [
          ((now - start) / 1000).toFixed(1),
          mb(sent), mb(info?.bytesAcked ?? 0), mbitPerSec(sent - last.sent, now - last.t).toFixed(0),
          info?.subflowsTotal ?? '-',
          sf.id ?? '-', sf.localAddress ? `${sf.localAddress}:${sf.localPort} > ${sf.remoteAddress}:${sf.remotePort}` : '-',
          sf.state ?? '-', sf.rtt ?? '-', sf.cwnd ?? '-', sf.bytesSent !== undefined ? mb(sf.bytesSent) : '-',
        ];
        console.log(`  t=${row[0]}s  sent ${row[1]} MB  acked ${row[2]} MB  ${row[3]} Mbit/s  subflows ${row[4]}  [#${row[5]} ${row[6]} ${row[7]} rtt ${row[8]} us cwnd ${row[9]} sent ${row[10]} MB]`);
      }
      last = { t: now, sent };
      if (now - start >= SECONDS * 1000) { clearInterval(timer); resolve(); }
    }, 500);
  });
  sending = false;

  const finalInfo = mptcp.getInfo(client);
  const subflows = mptcp.getSubflows(client);
  console.log('\nSummary');
  console.log(table(['result', 'value'], [
    ['negotiated MPTCP (client / server)', `${mptcp.isMptcp(client)} / ${serverSideMptcp}`],
    ['MPTCP bytes sent / acked', finalInfo ? `${mb(finalInfo.bytesSent)} / ${mb(finalInfo.bytesAcked)} MB` : 'n/a (not MPTCP)'],
    ['server received', `${mb(received)} MB`],
    ['subflows now', subflows.length],
    ['MPTCP-level retransmits', finalInfo?.retransmits ?? 'n/a'],
  ], 'lr', 'plain'));
  console.log('\n  Loopback has one path, so one subflow.');

  client.destroy();
  server.close();
}

const reason = whyNoLab();
if (reason === null) {
  const { runLabDemo } = await import('./demo-lab.mjs');
  try {
    await runLabDemo();
  } catch (err) {
    if (!err.labUnavailable) throw err;
    console.log(`\n  Could not build the two-path lab (${err.message}); running the loopback demo instead.`);
    await loopbackDemo();
  }
} else {
  await loopbackDemo();
  if (process.argv.includes('--dashboard')) console.log('  --dashboard shows the two-path lab, which needs root; try: sudo npm run demo -- --dashboard');
  console.log(reason === 'DEMO_LOOPBACK=1'
    ? '  Run without DEMO_LOOPBACK=1 (as root) for the two-path lab demo: aggregation, failover, rejoin.'
    : `  Run as root (sudo npm run demo) for the two-path lab demo: aggregation, failover, rejoin. Here, ${reason}.`);
}
