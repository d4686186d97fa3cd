// The Prometheus text exposition format (version 0.0.4), written without
// prom-client, and the standalone exporter `mptcp metrics` serves it from:
// /metrics as node_exporter does, / a small HTML page, anything else 404.
// Read-only (GET and HEAD), bound to 127.0.0.1 unless told otherwise.
import * as http from 'node:http';
import { families, snapshot, type Family } from './metrics-sample';

/** The exposition format's content type, as node_exporter and prom-client send it. */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** A sample value as the format writes it: integers as such, NaN, +Inf, -Inf. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Families in the text format: `# HELP`, `# TYPE`, then one line per sample; ends with a newline. */
export function formatFamilies(list: readonly Family[]): string {
  let out = '';
  for (const f of list) {
    out += `# HELP ${f.name} ${escapeHelp(f.help)}\n# TYPE ${f.name} ${f.type}\n`;
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
      out += `${f.name}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}\n`;
    }
  }
  return out;
}

/** This namespace's MPTCP metrics (MIB and connections) in the text format, read now. */
export async function exposition(): Promise<string> {
  return formatFamilies(families(await snapshot()));
}

const INDEX = `<!doctype html>
<html><head><title>MPTCP exporter</title></head>
<body><h1>MPTCP exporter</h1><p><a href="/metrics">Metrics</a></p></body></html>
`;

/**
 * The exporter's request handler: GET/HEAD /metrics (the text format, read
 * at request time), / (a link to it); 404 elsewhere, 405 for other methods.
 */
export function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  // A client that goes away mid-response must not take the exporter down.
  res.on('error', () => {});
  req.on('error', () => {});
  const url = (req.url ?? '/').split('?')[0];
  const send = (status: number, type: string, body: string, extra: http.OutgoingHttpHeaders = {}): void => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(405, 'text/plain; charset=utf-8', 'Method Not Allowed\n', { allow: 'GET, HEAD' });
    return;
  }
  if (url === '/metrics') {
    exposition().then(
      (body) => send(200, CONTENT_TYPE, body),
      (err: unknown) => send(500, 'text/plain; charset=utf-8', `error: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  } else if (url === '/') {
    send(200, 'text/html; charset=utf-8', INDEX);
  } else {
    send(404, 'text/plain; charset=utf-8', 'Not Found\n');
  }
}

/** An http.Server serving the exporter (not listening yet): `createExporter().listen(9464, '127.0.0.1')`. */
export function createExporter(): http.Server {
  const server = http.createServer(handle);
  // Broken clients (resets, garbage) close their own connection only.
  server.on('clientError', (_err, socket) => { socket.destroy(); });
  return server;
}
