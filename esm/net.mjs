// ES module entry of mptcp/net: node:net's exports, with the MPTCP ones of
// the CommonJS build (dist/net.js) in place of net's (a local export wins
// over `export *`), from the same single instance as require('mptcp/net').
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mnet = require('../dist/net.js');

export * from 'node:net';
export const { Socket, Server, Stream, createServer, connect, createConnection } = mnet;
export default mnet;
