// The dashboard served on a unix socket from inside a lab namespace (run with
// lab.run). Unix sockets live in the filesystem, which network namespaces
// share, so a process in another namespace can reach the page through it:
// `npm run demo -- --dashboard` forwards 127.0.0.1:PORT of the root namespace
// to this socket. Replies { type: 'ready' } once listening.
//   node dashboard-server.mjs SOCKET_PATH
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mptcp = require('../../dist/index.js');

const socketPath = process.argv[2];
fs.rmSync(socketPath, { force: true });
const handler = mptcp.dashboard();
const server = http.createServer(handler);
server.listen(socketPath, () => process.send?.({ type: 'ready' }));
process.on('disconnect', () => {
  handler.close();
  server.close();
  server.closeAllConnections();
  fs.rmSync(socketPath, { force: true });
});
