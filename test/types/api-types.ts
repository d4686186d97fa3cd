// Compiled by test/unit/types.test.ts with tsc --noEmit: the public typings
// accept what net's typings accept and reject mistakes at compile time.
import * as http from 'node:http';
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

export { same, is };
