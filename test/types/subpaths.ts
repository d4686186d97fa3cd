// Compiled by test/unit/package.test.ts with tsc --module node16: the
// typings of every subpath as a user's TypeScript resolves them through the
// package's "exports" (dist/*.d.ts).
import * as mptcp from 'mptcp';
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the CommonJS form users of mptcp/net write
import net = require('mptcp/net');
import 'mptcp/register';
import type * as nodeNet from 'node:net';

const socket = new net.Socket();
const asNet: nodeNet.Socket = socket;
socket.connect({ port: 1, host: 'localhost', mptcp: 'require' });
socket.connect(1, '127.0.0.1', () => {});
const server: nodeNet.Server = net.createServer({ mptcp: true }, (s) => s.end());
server.listen({ port: 0, reusePort: true });
const client = net.connect({ port: 1, host: 'localhost', mptcp: false });
const negotiated: boolean = mptcp.isMptcp(client);
const scope: 'servers' | 'clients' | 'all' | 'off' | null = mptcp.support().scope;
const family: number = net.isIP('::1');
const list: nodeNet.BlockList = new net.BlockList();
// @ts-expect-error mptcp is true, false or 'require'
net.connect({ port: 1, mptcp: 'always' });
// @ts-expect-error mptcp is true, false or 'require'
net.createServer({ mptcp: 'yes' });
void [negotiated, scope, family, list, asNet];
