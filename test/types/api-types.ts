// Compiled by test/unit/types.test.ts with tsc --noEmit: the public typings
// accept what net's typings accept and reject mistakes at compile time.
import * as http from 'node:http';
import * as https from 'node:https';
import type * as tls from 'node:tls';
import * as undici from 'undici';
import * as mptcp from '../../lib/index';

const server = mptcp.createServer();
server.listen(8080);
server.listen(8080, '::1', 511, () => {});
server.listen({ port: 0, host: 'localhost', reusePort: true, ipv6Only: false, mptcp: 'require' }, () => {});
server.listen('/tmp/socket.sock');
// @ts-expect-error a misspelt option
server.listen({ prot: 80 });
// @ts-expect-error reusePort is a boolean
server.listen({ port: 80, reusePort: 'yes' });
// @ts-expect-error mptcp is true, false or 'require'
server.listen({ port: 80, mptcp: 'always' });

const web = http.createServer();
const same: http.Server = mptcp.listen(web, 8080, () => {});
mptcp.listen(web, { port: 0, mptcp: true });
// @ts-expect-error not a listen option
mptcp.listen(web, { port: 0, backlogg: 5 });
// @ts-expect-error not a server
mptcp.listen({}, 8080);

const socket = mptcp.connect({ port: 80, host: 'example.test', mptcp: 'require' });
const is: boolean = mptcp.isMptcp(socket);
// @ts-expect-error connect options are typed
mptcp.connect({ port: 80, mptcp: 1 });

const agent: http.Agent = new mptcp.http.Agent({ keepAlive: true, maxSockets: 4, mptcp: 'require' });
const mode: mptcp.MptcpMode = agent instanceof mptcp.http.Agent ? agent.mptcp : true;
const secure: https.Agent = new mptcp.https.Agent({ ca: 'PEM', servername: 'example.test', maxCachedSessions: 10, mptcp: false });
const typed: mptcp.https.Agent = new mptcp.https.Agent();
const options: mptcp.http.AgentOptions = { keepAlive: true, mptcp: true };
const tlsSocket: tls.TLSSocket = typed.createConnection({ host: 'example.test', port: 443 });
// @ts-expect-error mptcp is true, false or 'require'
new mptcp.http.Agent({ mptcp: 'yes' });
// @ts-expect-error https.Agent options are typed
new mptcp.https.Agent({ rejectUnauthorised: false });

const connect: mptcp.Connector = mptcp.connector({ ca: 'PEM', allowH2: true, timeout: 5000, maxCachedSessions: 0, mptcp: 'require' });
const dispatchers = [
  new undici.Agent({ connect }),
  new undici.Pool('https://example.test', { connect: mptcp.connector({ rejectUnauthorized: false }) }),
  new undici.Client('http://example.test', { connect: mptcp.connector() }),
];
undici.setGlobalDispatcher(new undici.Agent({ connect: mptcp.connector() }));
// @ts-expect-error connector options are typed
mptcp.connector({ timeout: '5s' });

export { same, is, mode, secure, options, tlsSocket, dispatchers };
