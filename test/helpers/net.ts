// Shared helpers for the integration tests: real sockets on loopback, every
// helper closes what it opens and waits for 'close'.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
/** The package as users get it (compiled dist/, loaded through its CommonJS entry). */
export const mptcp = require('../../dist/index.js') as typeof import('../../lib/index');

export const supported = mptcp.support().available;
export const skipReason = supported ? '' : `MPTCP unavailable here: ${mptcp.support().reason}`;

/** Whether an IPv6 loopback exists here. */
export const hasIPv6 = Object.values(os.networkInterfaces()).flat().some((i) => i?.address === '::1');

/** Whether this process can manage network namespaces (root, ip(8) present). */
export const canNetns = process.getuid?.() === 0 && (fs.existsSync("/usr/sbin/ip") || fs.existsSync("/sbin/ip") || fs.existsSync("/usr/bin/ip"));

export interface Recorder {
  server: net.Server;
  port: number;
  /** isMptcp() of each accepted socket, in accept order. */
  accepted: boolean[];
  /** Data received per connection, concatenated. */
  received: Buffer[];
  sockets: net.Socket[];
  close(): Promise<void>;
}

/**
 * An echo server that records, for each accepted socket, whether it is
 * MPTCP: the server-side proof that a client really used MPTCP.
 */
export async function recordingServer(
  make: () => net.Server = () => mptcp.createServer(),
  listenArgs: unknown[] = [0, '::'],
): Promise<Recorder> {
  const server = make();
  const rec: Recorder = {
    server, port: 0, accepted: [], received: [], sockets: [],
    async close() {
      for (const s of rec.sockets) s.destroy();
      if (server.listening) await new Promise<void>((r) => server.close(() => r()));
    },
  };
  server.on('connection', (s: net.Socket) => {
    rec.accepted.push(mptcp.isMptcp(s));
    rec.sockets.push(s);
    const i = rec.received.push(Buffer.alloc(0)) - 1;
    s.on('data', (d) => { rec.received[i] = Buffer.concat([rec.received[i], d]); s.write(d); });
    s.on('end', () => s.end());
    s.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    (server.listen as (...a: unknown[]) => void)(...listenArgs, () => resolve());
  });
  rec.port = (server.address() as net.AddressInfo).port;
  return rec;
}

/** Waits for 'connect', sends `payload`, reads it back, ends; returns the socket's isMptcp at connect time. */
export interface EchoResult {
  mptcp: boolean;
  data: Buffer;
  remoteFamily?: string;
  localAddress?: string;
  localPort?: number;
}

export async function echo(socket: net.Socket, payload: Buffer | string = 'ping'): Promise<EchoResult> {
  const body = Buffer.from(payload);
  if (socket.connecting) await once(socket, 'connect');
  const wasMptcp = mptcp.isMptcp(socket);
  const { remoteFamily, localAddress, localPort } = socket;
  const chunks: Buffer[] = [];
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= body.length) resolve();
    });
    socket.once('error', reject);
    socket.write(body);
  });
  socket.end();
  if (!socket.destroyed) await once(socket, 'close');
  return { mptcp: wasMptcp, data: Buffer.concat(chunks), remoteFamily, localAddress, localPort };
}

/** Waits until `socket` emits 'close'. */
export async function closed(socket: net.Socket): Promise<void> {
  if (socket.destroyed && (socket as net.Socket & { closed?: boolean }).closed) return;
  await once(socket, 'close');
}

/** Collects the 'error' (or null) and the list of events a socket emits until 'close'. */
export function trace(socket: net.Socket, events = ['lookup', 'connect', 'ready', 'timeout', 'error', 'close']): Promise<{ events: string[]; error: (Error & { code?: string; errno?: number; syscall?: string; address?: string; port?: number }) | null }> {
  const seen: string[] = [];
  let error: Error | null = null;
  for (const e of events) socket.on(e, (arg: unknown) => {
    seen.push(e);
    if (e === 'error') error = arg as Error;
    if (e === 'timeout') socket.destroy();
  });
  return new Promise((resolve) => socket.once('close', () => setImmediate(() => resolve({ events: seen, error }))));
}

/** What each open descriptor of this process refers to (`socket:[inode]`, a path...), by descriptor. */
export function openFdTargets(): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      out.set(fd, fs.readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed between the listing and the read (the listing's own descriptor, for one)
    }
  }
  return out;
}

/**
 * The descriptors open now that were not open, onto the same object, at
 * `before` (an openFdTargets() snapshot): what was leaked since. A
 * descriptor the process closed meanwhile (its runtime's, say) is no leak;
 * a new socket under a number freed meanwhile still shows, by its inode.
 */
export function leakedFds(before: Map<string, string>): string[] {
  const leaked: string[] = [];
  for (const [fd, target] of openFdTargets()) if (before.get(fd) !== target) leaked.push(`${fd} -> ${target}`);
  return leaked;
}

/**
 * leakedFds, sockets only: what the library could leak. Node itself may
 * open a descriptor of its own meanwhile (a file, a pipe, an eventfd), which
 * a bare count would take for a leak.
 */
export function leakedSockets(before: Map<string, string>): string[] {
  return leakedFds(before).filter((l) => l.includes('socket:'));
}

/**
 * A loopback TCP listener (a Python child) whose accept queue is full, so
 * that connects to it stay in SYN-SENT: a connect attempt in flight for as
 * long as a test needs. Reachable at 127.0.0.1 and ::ffff:127.0.0.1.
 */
export async function stuckListener(): Promise<{ port: number; stop: () => void }> {
  const { spawn } = await import('node:child_process');
  const py = spawn('python3', [new URL('../fixtures/stuck-listener.py', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    py.once('error', reject);
    py.stdout!.once('data', (d) => resolve({ port: Number(String(d).trim()), stop: () => py.stdin!.end() }));
  });
}

/**
 * The environment for a program that is not Node (curl, python3, mptcpize):
 * without the sanitizer preload of an ASan test run (LD_PRELOAD, ASAN_OPTIONS,
 * UBSAN_OPTIONS), which is meant for the addon, not for other binaries.
 */
export function externalEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (k !== 'LD_PRELOAD' && k !== 'ASAN_OPTIONS' && k !== 'UBSAN_OPTIONS') out[k] = v;
  return out;
}

let certCache: { key: Buffer; cert: Buffer } | null = null;

/** A self-signed certificate for localhost and 127.0.0.1 (openssl, made once per test file). */
export function selfSignedCert(): { key: Buffer; cert: Buffer } {
  if (certCache) return certCache;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mptcp-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'),
      '-out', path.join(dir, 'cert.pem'), '-subj', '/CN=localhost', '-days', '1',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore', env: externalEnv() });
    certCache = { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
    return certCache;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A port free right now on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}
