// HTTP server of the benchmark's HTTP phase, driven by bench/run.mjs over
// stdin/stdout (one JSON object per line). Spawned pinned to a CPU, and for
// the mptcpize baseline under `mptcpize run`.
//
//   node bench/http-server.mjs lib   mptcp.listen(http.createServer(handler))
//   node bench/http-server.mjs net   http.createServer(handler).listen(), plain
//
// Both answer every request with the same 13-byte body. Both count the
// connections they accept and how many are MPTCP (isMptcp on the accepted
// socket, the same call in both, so the check costs both alike); `stats`
// reports and resets the counts.
import http from 'node:http';
import readline from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const m = require('../dist/index.js');
const mode = process.argv[2];
if (mode !== 'lib' && mode !== 'net') {
  process.stderr.write('usage: http-server.mjs <lib|net>\n');
  process.exit(2);
}

const BODY = Buffer.from('hello, world\n');
let connections = 0;
let mptcp = 0;
let requests = 0;
const server = http.createServer((req, res) => {
  requests++;
  res.setHeader('Content-Type', 'text/plain');
  res.setHeader('Content-Length', BODY.length);
  res.end(BODY);
});
server.on('connection', (socket) => {
  connections++;
  if (m.isMptcp(socket)) mptcp++;
});
const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
server.once('listening', () => send({ type: 'ready', port: server.address().port, pid: process.pid }));
if (mode === 'lib') m.listen(server, 0, '127.0.0.1');
else server.listen(0, '127.0.0.1');

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.cmd === 'stats') {
    send({ type: 'stats', connections, mptcp, requests });
    connections = 0;
    requests = 0;
    mptcp = 0;
  } else if (cmd.cmd === 'exit') process.exit(0);
}).on('close', () => process.exit(0));
