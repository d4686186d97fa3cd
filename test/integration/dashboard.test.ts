// mptcp.dashboard() as a request handler: plain http and express under a
// prefix, every asset served by the package, clear statuses for bad
// requests, and event streams that leave nothing behind when clients go:
// the server's listeners, the process's descriptors (the monitor's netlink
// socket among them), timers and subscriptions stay flat.
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { leakedSockets, mptcp, openFdTargets, skipReason, supported } from '../helpers/net';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

type Sse = { event: string; data: unknown }[];

/** Reads an event stream until `count` events arrived (or `until` holds); returns them. */
async function readEvents(url: string, count: number, until?: (events: Sse) => boolean): Promise<Sse> {
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const out: { event: string; data: unknown }[] = [];
  let buf = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (ev && data) out.push({ event: ev, data: JSON.parse(data) });
    }
    if (until ? until(out) : out.length >= count) break;
  }
  ac.abort();
  return out;
}

const settle = (ms = 100): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!supported)('dashboard handler', () => {
  if (skipReason) console.log(skipReason);

  it('plain http: the page, its scripts and uPlot from the package; 404, 405 and 400 with a message', async () => {
    const base = await serve(mptcp.dashboard());
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    // Every asset is relative and served here: nothing from another origin.
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(refs.sort()).toEqual(['app.js', 'style.css', 'uPlot.iife.min.js', 'uPlot.min.css']);
    for (const r of refs) {
      const res = await fetch(`${base}/${r}`);
      expect(res.status, r).toBe(200);
      expect((await res.text()).length, r).toBeGreaterThan(100);
    }
    expect(await (await fetch(`${base}/uPlot.iife.min.js`)).text()).toContain('uPlot');
    const nf = await fetch(`${base}/../../etc/passwd`);
    expect(nf.status).toBe(404);
    const post = await fetch(`${base}/api/pm`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(await post.text()).toMatch(/read-only/);
    const bad = await fetch(`${base}/events?token=nothex`);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/token must be 1 to 8 hex digits/);
    expect((await fetch(`${base}/api/connections?token=123456789`)).status).toBe(400);
    const head = await fetch(`${base}/events`, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-type')]).toEqual([200, 'text/event-stream; charset=utf-8']);
    const pm = (await (await fetch(`${base}/api/pm`)).json()) as { limits: { subflows: number } };
    expect(typeof pm.limits.subflows).toBe('number');
  });

  it('express under a prefix: /mptcp redirects to /mptcp/, the relative URLs resolve there, the stream sends a connection this process holds', async () => {
    const app = express();
    app.use('/mptcp', mptcp.dashboard({ intervalMs: 200 }));
    app.get('/', (_req, res) => { res.send('app'); });
    const base = await serve(app);
    const r = await fetch(`${base}/mptcp`, { redirect: 'manual' });
    expect(r.status).toBe(308);
    expect(r.headers.get('location')).toBe('/mptcp/');
    expect(await (await fetch(`${base}/mptcp/`)).text()).toContain('<title>MPTCP dashboard</title>');
    expect((await fetch(`${base}/mptcp/app.js`)).status).toBe(200);
    expect(await (await fetch(`${base}/`)).text()).toBe('app');

    // An MPTCP connection of our own, chosen by its token as ss -M prints it.
    const echo = mptcp.createServer((s) => s.pipe(s));
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const client = mptcp.connect((echo.address() as AddressInfo).port, '127.0.0.1');
    await once(client, 'connect');
    try {
      const token = (await mptcp.getInfo(client))!.token.toString(16);
      // Events of other MPTCP connections of this namespace may come first.
      const events = await readEvents(`${base}/mptcp/events?token=${token}`, 0, (ev) => ev.some((e) => e.event === 'connections') && ev.some((e) => e.event === 'pm'));
      const conns = events.find((e) => e.event === 'connections')!.data as { connections: { token: string }[]; selected: { token: string; subflows: unknown[] } };
      expect(conns.connections.map((c) => c.token)).toContain(token);
      expect(conns.selected.token).toBe(token);
      expect(conns.selected.subflows).toHaveLength(1);
      expect(events.some((e) => e.event === 'pm')).toBe(true);
    } finally {
      client.destroy();
      echo.close();
    }
  });

  it('streams opened and dropped 60 times: listeners, descriptors, timers and monitor subscriptions stay flat', async () => {
    const handler = mptcp.dashboard({ intervalMs: 100 });
    const server = http.createServer(handler);
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
    const listeners = (): number[] => server.eventNames().map((n) => server.listenerCount(n));
    const before = { listeners: listeners(), fds: openFdTargets() };
    for (let i = 0; i < 60; i++) {
      // Some wait for data, some hang up at once; a few in parallel.
      await Promise.all([
        readEvents(url, 1 + (i % 3)),
        (async () => {
          const ac = new AbortController();
          const p = fetch(url, { signal: ac.signal }).catch(() => null);
          ac.abort();
          await p;
        })(),
      ]);
    }
    for (let i = 0; i < 50 && handler.stats.streams > 0; i++) await settle(20);
    await settle(200);
    expect(handler.stats).toEqual({ streams: 0, timer: false, monitor: false });
    expect(listeners()).toEqual(before.listeners);
    // fetch's keep-alive pool holds connections (both ends are in this
    // process): the server hangs them up, and then nothing may be left.
    server.closeAllConnections();
    for (let i = 0; i < 50 && leakedSockets(before.fds).length > 0; i++) await settle(20);
    expect(leakedSockets(before.fds)).toEqual([]);
    // And the server still serves.
    expect((await fetch(url.replace('/events', '/api/pm'))).status).toBe(200);
  });
});
