// A live, read-only web dashboard of this network namespace's MPTCP
// connections: a request handler for `http.createServer` or express
// (`app.use('/mptcp', mptcp.dashboard())`), and what `mptcp dashboard` serves.
//
//   GET  ./                 the page (lib/dashboard/index.html)
//   GET  ./app.js, ./style.css, ./uPlot.iife.min.js, ./uPlot.min.css
//   GET  ./api/connections  the connections now (JSON)
//   GET  ./api/pm           the path manager's endpoints and limits (JSON)
//   GET  ./events[?token=HEX]  Server-Sent Events: `connections` every
//        interval (with the chosen connection's subflows), `pm` when it
//        changes, `mptcp` for each path-manager event, `problem` on errors
//
// Every URL in the page is relative, so the handler works under any prefix.
// One sampling timer and one monitor subscription serve every open stream;
// both stop when the last stream closes.
import * as fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { connections as listConnections, type Connection } from './diag';
import { monitor as openMonitor, type Monitor, type MptcpEvent } from './monitor';
import * as pm from './pm';

/** Options of {@link dashboard}. */
export interface DashboardOptions {
  /** How often the streams get a sample, ms (default 1000, at least 100). */
  intervalMs?: number;
  /** How many path-manager events a new stream is sent first (default 200). */
  history?: number;
}

/** The dashboard's request handler, with a way to end its open streams. */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void;
  /** Ends every open event stream (the sampling timer and the monitor stop with the last one). */
  close(): void;
  /** @internal What is open now: event streams, sampling timer, monitor subscription. */
  readonly stats: { streams: number; timer: boolean; monitor: boolean };
}

/** The directory of the page's files (lib/dashboard, from dist/ or from lib/). */
function assetDir(): string {
  const fromDist = path.join(__dirname, '..', 'lib', 'dashboard');
  return fs.existsSync(fromDist) ? fromDist : path.join(__dirname, 'dashboard');
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** The page's files by URL path: the package's own, and uPlot's dist files from node_modules. */
function assets(): Map<string, string> {
  const dir = assetDir();
  const uplotDist = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  return new Map([
    ['/', path.join(dir, 'index.html')],
    ['/index.html', path.join(dir, 'index.html')],
    ['/app.js', path.join(dir, 'app.js')],
    ['/style.css', path.join(dir, 'style.css')],
    ['/uPlot.iife.min.js', path.join(uplotDist, 'uPlot.iife.min.js')],
    ['/uPlot.min.css', path.join(uplotDist, 'uPlot.min.css')],
  ]);
}

/** A token as `ss -M` prints it: lower-case hex, no padding. */
export function tokenHex(token: number): string {
  return token.toString(16);
}

/** @internal Parses `?token=`: 1-8 hex digits (an optional 0x). Throws a message for anything else. */
export function parseToken(text: string): number {
  const m = /^(?:0x)?([0-9a-f]{1,8})$/i.exec(text);
  if (!m) throw new Error(`token must be 1 to 8 hex digits (as ss -M prints it), got '${text.slice(0, 40)}'`);
  return parseInt(m[1], 16);
}

function jsonable(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
}

/** One connection as the page shows it. */
function summary(c: Connection): Record<string, unknown> {
  return {
    token: c.token === undefined ? null : tokenHex(c.token),
    family: c.family,
    state: c.state,
    localAddress: c.localAddress,
    localPort: c.localPort,
    remoteAddress: c.remoteAddress,
    remotePort: c.remotePort,
    subflowCount: c.subflows?.length ?? (c.info ? c.info.subflows + 1 : 0),
  };
}

function detail(c: Connection): Record<string, unknown> {
  return {
    ...summary(c),
    info: jsonable(c.info),
    subflows: (c.subflows ?? []).map((s) => ({
      localAddress: s.localAddress,
      localPort: s.localPort,
      remoteAddress: s.remoteAddress,
      remotePort: s.remotePort,
      localId: s.localId,
      remoteId: s.remoteId,
      backup: s.backup,
      state: s.state,
      rtt: s.rtt,
      bytesSent: s.bytesSent?.toString() ?? null,
      bytesAcked: s.bytesAcked?.toString() ?? null,
      bytesReceived: s.bytesReceived?.toString() ?? null,
    })),
  };
}

/** An event as the page gets it: `seq` counts up per handler, so a page that reconnects skips what it has. */
function eventJson(e: MptcpEvent, t: number, seq: number, run: string): Record<string, unknown> {
  return { ...e, run, seq, t, token: e.token === undefined ? null : tokenHex(e.token) };
}

interface Stream {
  res: ServerResponse;
  token: number | null;
  pmSent: string | null;
}

function plain(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(`${message}\n`);
}

function sendJson(res: ServerResponse, value: unknown): void {
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(value));
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function pmState(): Promise<Record<string, unknown>> {
  try {
    const [endpoints, limits] = await Promise.all([pm.list(), pm.getLimits()]);
    return { endpoints, limits };
  } catch (err) {
    return { endpoints: [], limits: null, error: messageOf(err) };
  }
}

/**
 * The dashboard as a request handler: `http.createServer(mptcp.dashboard())`,
 * or `app.use('/mptcp', mptcp.dashboard())` in express. Read-only: it only
 * answers GET and HEAD. It reads the namespace of the process it runs in.
 */
export function dashboard(options: DashboardOptions = {}): DashboardHandler {
  const intervalMs = Math.max(100, options.intervalMs ?? 1000);
  const historySize = Math.max(0, options.history ?? 200);
  const files = assets();
  const streams = new Set<Stream>();
  const history: Record<string, unknown>[] = [];
  let timer: NodeJS.Timeout | null = null;
  let mon: Monitor | null = null;
  let sampling = false;
  let lastPm: string | null = null;
  let seq = 0;
  const run = `${process.pid}-${Date.now().toString(36)}`; // a restarted server counts from 1 again

  const write = (s: Stream, event: string, data: unknown): void => {
    if (s.res.writableEnded || s.res.destroyed) return;
    s.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const broadcast = (event: string, data: unknown): void => {
    for (const s of streams) write(s, event, data);
  };

  const onEvent = (e: MptcpEvent): void => {
    const item = eventJson(e, Date.now(), ++seq, run);
    history.push(item);
    if (history.length > historySize) history.splice(0, history.length - historySize);
    broadcast('mptcp', item);
  };
  const onMonitorError = (err: Error): void => {
    broadcast('problem', { source: 'monitor', message: messageOf(err) });
    stopMonitor();
  };
  const onWarning = (err: Error): void => broadcast('problem', { source: 'monitor', message: messageOf(err) });
  const onOverrun = ({ overruns }: { overruns: number }): void =>
    broadcast('problem', { source: 'monitor', message: `events were lost (${overruns} overruns)` });

  function startMonitor(): void {
    if (mon) return;
    try {
      mon = openMonitor();
    } catch (err) {
      broadcast('problem', { source: 'monitor', message: messageOf(err) });
      return;
    }
    mon.on('event', onEvent);
    mon.on('error', onMonitorError);
    mon.on('warning', onWarning);
    mon.on('overrun', onOverrun);
    mon.ready.catch(() => { /* reported through 'error' */ });
  }
  function stopMonitor(): void {
    if (!mon) return;
    const m = mon;
    mon = null;
    m.off('event', onEvent);
    m.off('warning', onWarning);
    m.off('overrun', onOverrun);
    m.close();
    // A late error of the closed monitor has nowhere to go but here.
    m.off('error', onMonitorError);
    m.on('error', () => {});
  }

  async function sample(): Promise<void> {
    if (sampling) return;
    sampling = true;
    try {
      const t = Date.now();
      let list: Connection[] = [];
      let problem: string | null = null;
      try {
        list = await listConnections({ subflows: true });
      } catch (err) {
        problem = messageOf(err);
      }
      const pmNow = JSON.stringify(await pmState());
      lastPm = pmNow;
      const all = list.filter((c) => c.token !== undefined).map(summary);
      for (const s of streams) {
        const chosen = s.token === null ? undefined : list.find((c) => c.token === s.token);
        write(s, 'connections', { t, connections: all, selected: chosen ? detail(chosen) : null, error: problem });
        if (s.pmSent !== pmNow) {
          s.pmSent = pmNow;
          s.res.write(`event: pm\ndata: ${pmNow}\n\n`);
        }
      }
    } finally {
      sampling = false;
    }
  }

  function startTimer(): void {
    if (timer) return;
    timer = setInterval(() => { void sample(); }, intervalMs);
  }
  function stopTimer(): void {
    if (timer) clearInterval(timer);
    timer = null;
  }

  function drop(s: Stream): void {
    if (!streams.delete(s)) return;
    if (streams.size === 0) {
      stopTimer();
      stopMonitor();
    }
  }

  function openStream(req: IncomingMessage, res: ServerResponse, token: number | null): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 2000\n\n`);
    const s: Stream = { res, token, pmSent: null };
    streams.add(s);
    const done = (): void => drop(s);
    req.once('close', done);
    res.once('close', done);
    res.on('error', done);
    for (const item of history) write(s, 'mptcp', item);
    if (lastPm !== null) {
      s.pmSent = lastPm;
      res.write(`event: pm\ndata: ${lastPm}\n\n`);
    }
    startMonitor();
    startTimer();
    void sample();
  }

  const handler = ((req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): void => {
    try {
      const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
      const route = url.pathname;
      const known = files.has(route) || route === '/events' || route === '/api/connections' || route === '/api/pm';
      if (!known) {
        plain(res, 404, `not found: ${route}`);
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        plain(res, 405, `${req.method} not allowed: the dashboard is read-only (GET only)`, { Allow: 'GET, HEAD' });
        return;
      }
      const file = files.get(route);
      if (file) {
        // Mounted at /prefix (express strips it): the page's relative URLs need /prefix/.
        const original = (req as IncomingMessage & { originalUrl?: string }).originalUrl;
        if (route === '/' && original !== undefined) {
          const o = new URL(original, 'http://dashboard.invalid');
          if (!o.pathname.endsWith('/')) {
            res.writeHead(308, { Location: `${o.pathname}/${o.search}` });
            res.end();
            return;
          }
        }
        fs.readFile(file, (err, body) => {
          if (err) {
            plain(res, 500, `cannot read ${path.basename(file)}: ${err.message}`);
            return;
          }
          res.writeHead(200, {
            'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
            'Content-Length': body.length,
            'Cache-Control': 'no-cache',
          });
          res.end(req.method === 'HEAD' ? undefined : body);
        });
        return;
      }
      let token: number | null = null;
      const tokenText = url.searchParams.get('token');
      if (tokenText !== null && tokenText !== '') {
        try {
          token = parseToken(tokenText);
        } catch (err) {
          plain(res, 400, messageOf(err));
          return;
        }
      }
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'Content-Type': route === '/events' ? 'text/event-stream; charset=utf-8' : 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
        res.end();
        return;
      }
      if (route === '/events') {
        openStream(req, res, token);
        return;
      }
      if (route === '/api/pm') {
        void pmState().then((v) => sendJson(res, v));
        return;
      }
      listConnections({ subflows: true, token: token ?? undefined }).then(
        (list) => sendJson(res, list.filter((c) => c.token !== undefined).map(detail)),
        (err: unknown) => plain(res, 500, `connections: ${messageOf(err)}`),
      );
    } catch (err) {
      if (next) next(err);
      else if (!res.headersSent) plain(res, 500, messageOf(err));
      else res.destroy();
    }
  }) as DashboardHandler;

  Object.defineProperty(handler, 'stats', {
    get: () => ({ streams: streams.size, timer: timer !== null, monitor: mon !== null }),
  });
  handler.close = (): void => {
    for (const s of [...streams]) {
      s.res.end();
      drop(s);
    }
  };
  return handler;
}
