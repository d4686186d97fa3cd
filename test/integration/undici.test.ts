// undici (Node's fetch engine) reaches an MPTCP server over MPTCP through a
// custom connector built on mptcp.connect.
import { once } from 'node:events';
import * as http from 'node:http';
import type * as net from 'node:net';
import { Agent, fetch, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { mptcp, skipReason, supported } from '../helpers/net';

describe.skipIf(!supported)(`undici over MPTCP${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('request() and fetch() with an MPTCP connector', async () => {
    const seen: boolean[] = [];
    const server = http.createServer((req, res) => { seen.push(mptcp.isMptcp(req.socket)); res.end(`via ${req.url}`); });
    mptcp.listen(server, 0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    const dispatcher = new Agent({
      connect: (opts, cb) => {
        const s = mptcp.connect({ host: opts.hostname, port: Number(opts.port) });
        s.once('connect', () => cb(null, s));
        s.once('error', (e) => cb(e, null));
      },
    });
    const r = await request(`http://127.0.0.1:${port}/request`, { dispatcher });
    expect(await r.body.text()).toBe('via /request');
    const f = await fetch(`http://127.0.0.1:${port}/fetch`, { dispatcher });
    expect(await f.text()).toBe('via /fetch');
    expect(seen).toEqual([true, true]);
    await dispatcher.close();
    await new Promise((res) => server.close(res));
  });
});
