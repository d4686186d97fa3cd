// fetch() over Multipath TCP, printing the connection's subflows.
//
//   node examples/fetch.mjs [url]
//
// With no URL it starts an MPTCP HTTP server of its own on 127.0.0.1 and
// fetches from it. Node's built-in fetch is undici's: giving the npm
// `undici` package's setGlobalDispatcher an Agent whose connect function is
// mptcp.connector() puts every fetch() of the process on MPTCP (`node
// --import mptcp/register` with NODE_MPTCP=clients does it too, for every
// outgoing connection). The connector here is wrapped only to keep the
// connection, so that its subflows can be printed.
import * as http from 'node:http';
import * as mptcp from 'mptcp';
import { Agent, setGlobalDispatcher } from 'undici';

const connect = mptcp.connector();
const sockets = [];
setGlobalDispatcher(new Agent({
  connect: (options, callback) => connect(options, (err, socket) => {
    if (socket) sockets.push(socket);
    callback(err, socket);
  }),
}));

let server = null;
let url = process.argv[2];
if (!url) {
  server = http.createServer((req, res) => res.end(`served over ${mptcp.isMptcp(req.socket) ? 'MPTCP' : 'plain TCP'}\n`));
  await new Promise((resolve) => mptcp.listen(server, 0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${server.address().port}/`;
}

const res = await fetch(url);
const body = await res.text();
console.log(`GET ${url} -> ${res.status}, ${body.length} bytes${server ? `: ${body.trim()}` : ''}`);
const socket = sockets.at(-1);
if (!socket) {
  console.log('no connection was made');
} else if (!mptcp.isMptcp(socket)) {
  console.log(`plain TCP: ${mptcp.support().available ? 'the server does not speak MPTCP' : `MPTCP unavailable here (${mptcp.support().reason})`}`);
} else {
  const subflows = mptcp.getSubflows(socket);
  console.log(`MPTCP, ${subflows.length} subflow${subflows.length === 1 ? '' : 's'}:`);
  for (const s of subflows) {
    console.log(`  ${s.localAddress}:${s.localPort} -> ${s.remoteAddress}:${s.remotePort} ${s.state} rtt ${s.rtt} us cwnd ${s.cwnd} sent ${s.bytesSent} B received ${s.bytesReceived} B`);
  }
}
server?.close();
await new Promise((r) => setImmediate(r));
process.exit(0);
