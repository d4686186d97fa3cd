// A two-path (or N-path) network lab on the real kernel, for tests,
// benchmarks and the demo.
//
//   client netns  ==== path 1: c1 <-> s1, 10.0.1.1/24 <-> 10.0.1.2/24 ====  server netns
//                 ==== path 2: c2 <-> s2, 10.0.2.1/24 <-> 10.0.2.2/24 ====
//                 ...
//
// Each path is a veth pair with its own subnet, optionally limited with tbf on
// both ends (there is no netem here). The client connects to the server's
// path-1 address; the server announces its other addresses (in-kernel path
// manager `signal` endpoints, optionally `backup`), and the client joins them.
// This is the recipe of kernel-abi.md section 9, which needs no policy routing.
//
// Limits and endpoints are set with the library's own path-manager API, through
// the `mptcp` command (bin/mptcp.js) run inside each namespace.
//
// Node scripts run inside a namespace as child processes (`ip netns exec`),
// with an IPC channel back to the caller. Teardown always happens: names are
// unique per run (prefix-pid-counter), labs are deleted on destroy(), on
// process exit and on SIGINT/SIGTERM, and create() sweeps namespaces left by
// runs whose process is gone.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';

const PREFIX = 'mptcplab';

/** One path's settings. */
export interface PathSpec {
  /** tbf rate on both ends of the path, Mbit/s; unlimited when absent. */
  rateMbit?: number;
  /** The server announces this path's address as a backup endpoint (paths 2..N). */
  backup?: boolean;
}

export interface LabOptions {
  /** Number of paths (default 2), or one spec per path. */
  paths?: number | PathSpec[];
  /** Default rate for paths without one, Mbit/s. */
  rateMbit?: number;
  /** MTU of every veth (default 1500). */
  mtu?: number;
  /** Whether the server announces paths 2..N (default true; never with a userspace server PM). */
  announce?: boolean;
  /** Namespaces whose path manager is the userspace one (net.mptcp.path_manager). */
  userspacePm?: Side[];
}

export interface LabPath {
  /** 1-based. */
  index: number;
  clientIf: string;
  serverIf: string;
  clientAddress: string;
  serverAddress: string;
  rateMbit?: number;
  backup: boolean;
  /** Server endpoint id while the address is announced. */
  endpointId?: number;
}

export type Side = 'client' | 'server';

export interface RunResult { stdout: string; stderr: string }

/** Why the lab cannot run here, or null when it can. */
export function labUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'the lab needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the lab needs root (network namespaces, veth, tc)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'the lab needs iproute2 (`ip`)';
  }
  if (!fs.existsSync('/proc/sys/net/mptcp/enabled')) return 'this kernel has no MPTCP';
  return null;
}

function run(cmd: string, args: string[], timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const e = err as Error & { stderr?: string };
        e.message = `${cmd} ${args.join(' ')}: ${stderr.trim() || e.message}`;
        e.stderr = stderr;
        reject(e);
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

function listNetns(): string[] {
  try {
    return fs.readdirSync('/run/netns');
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes lab namespaces whose creating process is gone. Returns their names. */
export function sweepStaleLabs(): string[] {
  const swept: string[] = [];
  for (const ns of listNetns()) {
    const m = new RegExp(`^${PREFIX}-(\\d+)-\\d+-[cs]$`).exec(ns);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      swept.push(ns);
    } catch { /* already gone */ }
  }
  return swept;
}

const live = new Set<Lab>();
let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const lab of live) lab.destroySync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const lab of live) lab.destroySync();
      process.kill(process.pid, sig);
    });
  }
}

let counter = 0;

/** A process running inside one of the lab's namespaces, with an IPC channel. */
export class LabProcess extends EventEmitter {
  readonly child: ChildProcess;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  stderr = '';
  exited: Promise<number | null>;

  constructor(child: ChildProcess) {
    super();
    this.child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-8192);
    });
    child.on('message', (msg: Record<string, unknown>) => {
      const id = msg.replyTo as number | undefined;
      if (id !== undefined && this.pending.has(id)) {
        const p = this.pending.get(id)!;
        this.pending.delete(id);
        if (msg.error) p.reject(Object.assign(new Error(String(msg.error)), msg));
        else p.resolve(msg);
      } else {
        this.emit('message', msg);
      }
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code) => {
        for (const p of this.pending.values()) p.reject(new Error(`lab process exited (${code}) before replying: ${this.stderr.trim()}`));
        this.pending.clear();
        resolve(code);
      });
    });
  }

  /** Sends a command and waits for the reply carrying `replyTo`. */
  request<T = Record<string, unknown>>(msg: Record<string, unknown>, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`lab request ${JSON.stringify(msg.cmd)} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v as T); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.child.send({ ...msg, id });
    });
  }

  /** Resolves with the first message matching `pred`. */
  waitFor(pred: (msg: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('message', on);
        reject(new Error('lab: timed out waiting for a message'));
      }, timeoutMs);
      const on = (m: Record<string, unknown>): void => {
        if (!pred(m)) return;
        clearTimeout(timer);
        this.off('message', on);
        resolve(m);
      };
      this.on('message', on);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

export class Lab {
  readonly name: string;
  readonly client: string;
  readonly server: string;
  readonly paths: LabPath[];
  readonly mtu: number;
  private processes = new Set<LabProcess>();
  private destroyed = false;

  private constructor(name: string, paths: LabPath[], mtu: number) {
    this.name = name;
    this.client = `${name}-c`;
    this.server = `${name}-s`;
    this.paths = paths;
    this.mtu = mtu;
  }

  /** Builds the namespaces, links, addresses, shaping, limits and endpoints. */
  static async create(options: LabOptions = {}): Promise<Lab> {
    const reason = labUnavailableReason();
    if (reason) throw new Error(reason);
    sweepStaleLabs();
    installExitHooks();
    const specs: PathSpec[] = typeof options.paths === 'number' || options.paths === undefined
      ? Array.from({ length: (options.paths as number | undefined) ?? 2 }, () => ({}))
      : options.paths;
    if (specs.length < 1 || specs.length > 8) throw new RangeError('a lab has 1 to 8 paths');
    const paths: LabPath[] = specs.map((s, i) => ({
      index: i + 1,
      clientIf: `c${i + 1}`,
      serverIf: `s${i + 1}`,
      clientAddress: `10.0.${i + 1}.1`,
      serverAddress: `10.0.${i + 1}.2`,
      rateMbit: s.rateMbit ?? options.rateMbit,
      backup: Boolean(s.backup),
    }));
    const lab = new Lab(`${PREFIX}-${process.pid}-${++counter}`, paths, options.mtu ?? 1500);
    live.add(lab);
    try {
      await lab.build(options.announce ?? true, options.userspacePm ?? []);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  nsOf(side: Side): string {
    return side === 'client' ? this.client : this.server;
  }

  /** Runs a command inside a namespace. */
  exec(side: Side, args: string[], timeoutMs?: number): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.nsOf(side), ...args], timeoutMs);
  }

  /** Runs the library's `mptcp` command inside a namespace. */
  mptcp(side: Side, args: string[]): Promise<RunResult> {
    return this.exec(side, [process.execPath, path.join(repoRoot(), 'bin', 'mptcp.js'), ...args]);
  }

  /** Runs `ip -n <ns> ...`. */
  ip(side: Side, args: string[]): Promise<RunResult> {
    return run('ip', ['-n', this.nsOf(side), ...args]);
  }

  private async build(announce: boolean, userspacePm: Side[]): Promise<void> {
    await run('ip', ['netns', 'add', this.client]);
    await run('ip', ['netns', 'add', this.server]);
    for (const side of userspacePm) await this.exec(side, ['sysctl', '-q', '-w', 'net.mptcp.path_manager=userspace']);
    for (const side of ['client', 'server'] as const) await this.ip(side, ['link', 'set', 'lo', 'up']);
    for (const p of this.paths) {
      await run('ip', ['link', 'add', p.clientIf, 'netns', this.client, 'mtu', String(this.mtu), 'type', 'veth',
        'peer', 'name', p.serverIf, 'netns', this.server, 'mtu', String(this.mtu)]);
      await this.ip('client', ['addr', 'add', `${p.clientAddress}/24`, 'dev', p.clientIf]);
      await this.ip('server', ['addr', 'add', `${p.serverAddress}/24`, 'dev', p.serverIf]);
      await this.ip('client', ['link', 'set', p.clientIf, 'up']);
      await this.ip('server', ['link', 'set', p.serverIf, 'up']);
      if (p.rateMbit) {
        for (const [side, dev] of [['client', p.clientIf], ['server', p.serverIf]] as const) {
          await this.exec(side, ['tc', 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', `${p.rateMbit}mbit`,
            'burst', `${Math.max(64, Math.ceil(this.mtu * 4 / 1024))}kb`, 'latency', '50ms']);
        }
      }
    }
    const n = this.paths.length;
    await this.mptcp('server', ['limits', 'set', 'subflows', String(Math.max(n, 2)), 'add_addr_accepted', '0']);
    await this.mptcp('client', ['limits', 'set', 'subflows', String(Math.max(n, 2)), 'add_addr_accepted', String(Math.max(n, 2))]);
    if (announce && !userspacePm.includes('server')) for (const p of this.paths.slice(1)) await this.announce(p.index);
  }

  path(index: number): LabPath {
    const p = this.paths[index - 1];
    if (!p) throw new RangeError(`no path ${index}`);
    return p;
  }

  /** The server announces path `index`'s address (a `signal` endpoint, `backup` if so flagged). */
  async announce(index: number): Promise<void> {
    const p = this.path(index);
    const id = 10 + index;
    const args = ['endpoint', 'add', p.serverAddress, 'id', String(id), 'dev', p.serverIf, 'signal'];
    if (p.backup) args.push('backup');
    await this.mptcp('server', args);
    p.endpointId = id;
  }

  /**
   * The server withdraws path `index`'s address (endpoint deleted: RM_ADDR,
   * its subflows close). Does nothing for a path that is not announced, such
   * as path 1, the address the client connects to.
   */
  async withdraw(index: number): Promise<void> {
    const p = this.path(index);
    if (p.endpointId === undefined) return;
    await this.mptcp('server', ['endpoint', 'delete', 'id', String(p.endpointId)]);
    p.endpointId = undefined;
  }

  /** Sets both ends of a path down or up. */
  async setLink(index: number, up: boolean): Promise<void> {
    const p = this.path(index);
    const state = up ? 'up' : 'down';
    await this.ip('client', ['link', 'set', p.clientIf, state]);
    await this.ip('server', ['link', 'set', p.serverIf, state]);
  }

  /** Removes (or re-adds) both addresses of a path. */
  async setAddresses(index: number, present: boolean): Promise<void> {
    const p = this.path(index);
    const verb = present ? 'add' : 'del';
    await this.ip('client', ['addr', verb, `${p.clientAddress}/24`, 'dev', p.clientIf]);
    await this.ip('server', ['addr', verb, `${p.serverAddress}/24`, 'dev', p.serverIf]);
  }

  /**
   * Starts `node <script> ...args` inside a namespace with an IPC channel
   * (process.send / 'message' in the script).
   */
  run(side: Side, script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): LabProcess {
    if (this.destroyed) throw new Error('lab destroyed');
    const child = spawn('ip', ['netns', 'exec', this.nsOf(side), process.execPath, script, ...args], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      env: { ...process.env, ...env },
    });
    const lp = new LabProcess(child);
    this.processes.add(lp);
    void lp.exited.then(() => this.processes.delete(lp));
    return lp;
  }

  /** Starts the standard agent (test/lab/agent.mjs) and waits until it is ready. */
  async agent(side: Side): Promise<LabProcess> {
    const lp = this.run(side, path.join(agentDir(), 'agent.mjs'));
    await lp.waitFor((m) => m.type === 'ready', 20_000);
    return lp;
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.processes].map((p) => p.stop()));
    for (const ns of [this.client, this.server]) {
      try {
        await run('ip', ['netns', 'del', ns]);
      } catch { /* not created */ }
    }
    live.delete(this);
  }

  /** Synchronous teardown for exit handlers. */
  destroySync(): void {
    for (const p of this.processes) {
      try { p.child.kill('SIGKILL'); } catch { /* gone */ }
    }
    for (const ns of [this.client, this.server]) {
      try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* gone */ }
    }
    this.destroyed = true;
    live.delete(this);
  }
}

/** The repository root, from test/lab or from dist/lab. */
function repoRoot(): string {
  return path.resolve(__dirname, '..', '..');
}

/** The directory holding agent.mjs (this file's directory, compiled or not). */
function agentDir(): string {
  const here = __dirname;
  if (fs.existsSync(path.join(here, 'agent.mjs'))) return here;
  return path.resolve(here, '..', '..', 'test', 'lab');
}
