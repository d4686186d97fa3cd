// Shared by the soak benchmark's modules (bench/soak.mjs, soak-monitor.mjs,
// soak-report.mjs): the worker processes (bench/soak-peer.mjs over IPC), the
// network namespace of the monitor phase, and the summaries of sample series.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from './common.mjs';

const PEER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'soak-peer.mjs');

export const MB = 1024 * 1024;
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --------------------------------------------------------------- workers ----

const children = new Set();

/** Killed on exit with the namespace (see cleanup()). */
export function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** A bench/soak-peer.mjs process (optionally inside a network namespace), driven over IPC. */
export class Worker {
  constructor(name, args, netns) {
    this.name = name;
    const node = [process.execPath, '--expose-gc', PEER, ...args];
    const cmd = netns ? ['ip', 'netns', 'exec', netns, ...node] : node;
    this.child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    children.add(this.child);
    this.stderr = '';
    this.nextId = 1;
    this.pending = new Map();
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-4000); });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, sig) => {
      children.delete(this.child);
      const err = new Error(`${name} worker exited (${code ?? sig}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      resolve();
    }));
    this.child.on('message', (msg) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`${name}: ${msg.error}`));
      else p.resolve(msg.value);
    });
    this.ready = new Promise((resolve, reject) => this.pending.set(0, { resolve, reject }));
  }

  request(cmd, args = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...args, cmd, id });
    });
  }

  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    this.child.disconnect();
    await this.exited;
    clearTimeout(t);
  }
}

function killChildren() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* gone */ }
  }
}

// ------------------------------------------------------- the namespace ----

const NS_PREFIX = 'mptcpsoak';
let liveNetns = null;

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function deleteNetns(name) {
  try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }); } catch { /* already gone */ }
}

/** A fresh network namespace with loopback up; namespaces left by dead runs are swept first. */
export function createNetns() {
  let names = [];
  try { names = readdirSync('/run/netns'); } catch { /* none yet */ }
  for (const ns of names) {
    const mm = new RegExp(`^${NS_PREFIX}-(\\d+)$`).exec(ns);
    if (mm && Number(mm[1]) !== process.pid && !alive(Number(mm[1]))) deleteNetns(ns);
  }
  const name = `${NS_PREFIX}-${process.pid}`;
  execFileSync('ip', ['netns', 'add', name]);
  liveNetns = name;
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

export function cleanup() {
  killChildren();
  if (liveNetns) deleteNetns(liveNetns);
  liveNetns = null;
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    cleanup();
    process.kill(process.pid, sig);
  });
}

/** Why the monitor phase cannot run here, or null. */
export function monitorUnavailableReason() {
  if (process.getuid?.() !== 0) return 'needs root (a network namespace of its own, CAP_NET_ADMIN for the monitor)';
  if (!which('ip')) return 'needs iproute2 (`ip`, also the count oracle `ip mptcp monitor`)';
  if (!existsSync('/proc/sys/net/mptcp/enabled')) return 'this kernel has no MPTCP';
  return null;
}

// ---------------------------------------------------------------- helpers ----

export const sum = (o) => Object.values(o ?? {}).reduce((a, b) => a + b, 0);
export const pick = (s) => ({ fds: s.fds, rss: s.rss, heapUsed: s.heapUsed, heapTotal: s.heapTotal, external: s.external });

/** Start / mid / end of a series of samples and the growth over each half. */
export function summarizeSeries(points) {
  const start = points[0];
  const mid = points[Math.floor((points.length - 1) / 2)];
  const end = points[points.length - 1];
  const d = (k, a, b) => b[k] - a[k];
  return {
    start: pick(start), mid: pick(mid), end: pick(end),
    midAt: mid.at,
    growth: {
      fds: d('fds', start, end), rss: d('rss', start, end), heapUsed: d('heapUsed', start, end),
      rssFirstHalf: d('rss', start, mid), rssSecondHalf: d('rss', mid, end),
      heapFirstHalf: d('heapUsed', start, mid), heapSecondHalf: d('heapUsed', mid, end),
    },
  };
}
