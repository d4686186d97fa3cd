// npm run demo: an MPTCP server and client on loopback through the public
// API, showing what a user wants to see: MPTCP support here, whether the
// connection negotiated MPTCP (both ends), and live getInfo / getSubflows
// figures while data flows. Ends by itself in a few seconds.
import mptcp from '../esm/index.mjs';

const SECONDS = Number(process.env.DEMO_SECONDS ?? 4);
const CHUNK = Buffer.alloc(256 * 1024, 0x6d);

function table(rows, head) {
  const cells = [head, ...rows].map((r) => r.map(String));
  const w = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) => `  ${r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ')}`;
  console.log(line(cells[0]));
  console.log(`  ${w.map((n) => '-'.repeat(n)).join('  ')}`);
  for (const r of cells.slice(1)) console.log(line(r));
}

const mb = (n) => (Number(n) / 1e6).toFixed(1);
const mbit = (bytes, ms) => ((Number(bytes) * 8) / (ms * 1000)).toFixed(0);

const s = mptcp.support();
console.log('\nMPTCP on this machine');
table([
  ['available', s.available ? 'yes' : `no (${s.reason}${s.code ? `, ${s.code}` : ''})`],
  ['TCP_IS_MPTCP (6.10+)', s.features.tcpIsMptcp ? 'yes' : 'no'],
  ['MPTCP_INFO (5.16+)', s.features.mptcpInfo ? 'yes' : 'no'],
  ['MPTCP_FULL_INFO (6.5+)', s.features.fullInfo ? 'yes' : 'no'],
], ['feature', 'value']);
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
table([
  ['client  isMptcp()', mptcp.isMptcp(client)],
  ['server  isMptcp() of accepted socket', serverSideMptcp],
  ['token (getInfo)', mptcp.getInfo(client)?.token.toString(16) ?? '-'],
], ['check', 'value']);

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
        mb(sent), mb(info?.bytesAcked ?? 0), mbit(sent - last.sent, now - last.t),
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
table([
  ['negotiated MPTCP (client / server)', `${mptcp.isMptcp(client)} / ${serverSideMptcp}`],
  ['MPTCP bytes sent / acked', finalInfo ? `${mb(finalInfo.bytesSent)} / ${mb(finalInfo.bytesAcked)} MB` : 'n/a (not MPTCP)'],
  ['server received', `${mb(received)} MB`],
  ['subflows now', subflows.length],
  ['MPTCP-level retransmits', finalInfo?.retransmits ?? 'n/a'],
], ['result', 'value']);
console.log('\n  Loopback has one path, so one subflow. Two paths and failover need network namespaces (root).');

client.destroy();
server.close();
