// Node's private fields the library relies on (lib/node-internals.ts): each
// must exist and behave as the library expects on the Node running the tests
// (CI runs the suite on Node 20, 22, 24 and 26). A failure here names the
// field that changed.
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const internals = require('../../dist/node-internals.js') as typeof import('../../lib/node-internals');

describe(`Node ${process.version} internals used by the library`, () => {
  it('net.Server#_listeningId: a number, bumped by listen() and by close()', () => {
    const server = net.createServer();
    const g0 = internals.listeningGeneration(server);
    expect(g0, 'net.Server#_listeningId is gone: close() during a listen lookup would no longer win').toEqual(expect.any(Number));
    server.listen(0, '127.0.0.1');
    const g1 = internals.listeningGeneration(server)!;
    expect(g1).not.toBe(g0);
    server.close();
    expect(internals.listeningGeneration(server)).not.toBe(g1);
  });
});
