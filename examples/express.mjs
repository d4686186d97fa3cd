// An express server over Multipath TCP that tells each client how it came in.
//
//   node examples/express.mjs [port]        (or PORT=...; default 8080, 0 picks a free port)
//   mptcpize run curl http://127.0.0.1:8080/    -> Hello over MPTCP (1 subflow)
//   curl http://127.0.0.1:8080/                 -> Hello over plain TCP
//
// The express app is unchanged: only the listen goes through mptcp.listen(),
// and the server accepts MPTCP and plain TCP clients alike. Per request it
// prints one line: the client, the request, whether the connection is MPTCP
// and, when it is, how many subflows (TCP paths) it has now.
import * as http from 'node:http';
import express from 'express';
import * as mptcp from 'mptcp';

const port = Number(process.argv[2] ?? process.env.PORT ?? 8080);

const app = express();
app.use((req, res) => {
  const overMptcp = mptcp.isMptcp(req.socket);
  const subflows = overMptcp ? mptcp.getSubflows(req.socket).length : 0;
  const client = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
  console.log(`${client} ${req.method} ${req.originalUrl} mptcp=${overMptcp}${overMptcp ? ` subflows=${subflows}` : ''}`);
  res.type('text/plain').send(overMptcp
    ? `Hello over MPTCP (${subflows} subflow${subflows === 1 ? '' : 's'})\n`
    : 'Hello over plain TCP\n');
});

const server = http.createServer(app);
server.on('error', (err) => {
  console.error(`cannot listen on port ${port}: ${err.message}`);
  process.exit(1);
});
mptcp.listen(server, port, () => {
  const s = mptcp.support();
  const how = s.available ? 'MPTCP' : `plain TCP (MPTCP unavailable: ${s.reason})`;
  console.log(`listening on port ${server.address().port} over ${how}`);
});
