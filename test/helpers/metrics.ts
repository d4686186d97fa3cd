// Helpers for the metrics tests: the independent oracles (/proc/net/netstat
// read here with its own parser, ss -M), a strict exposition-format line
// parser, and the `mptcp metrics` exporter run as a child process.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';

export const bin = path.join(__dirname, '..', '..', 'bin', 'mptcp.js');

/** /proc/net/netstat's MPTcpExt pair, by the kernel's field names (this file's own reading of it). */
export function netstatMptcp(): Record<string, number> {
  const lines = fs.readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('MPTcpExt:'));
  if (lines.length !== 2) return {};
  const names = lines[0].trim().split(' ').slice(1);
  const values = lines[1].trim().split(' ').slice(1).map(Number);
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}

/** `ss -HM` over every state but listening and close: the MPTCP connections iproute2 sees in this namespace. */
export function ssConnectionCount(): number {
  return execFileSync('ss', ['-HMn', 'state', 'all', 'exclude', 'listening', 'exclude', 'close'], { encoding: 'utf8' }).split('\n').filter((l) => l.trim()).length;
}

export interface ParsedSample { name: string; labels: Record<string, string>; value: number }
export interface Parsed { samples: ParsedSample[]; types: Map<string, string>; help: Map<string, string> }

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?,?\\})? (NaN|[+-]Inf|[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?)(?: -?\\d+)?$`);

/**
 * Parses the text exposition format (0.0.4) strictly: every line is a
 * `# HELP`, a `# TYPE` (before the family's samples, once), another comment
 * or a sample; throws naming the first line that is none of these.
 */
export function parseExposition(text: string): Parsed {
  const out: Parsed = { samples: [], types: new Map(), help: new Map() };
  if (text.length && !text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const seen = new Set<string>();
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue;
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line))) {
      out.help.set(m[1], m[2]);
    } else if ((m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line))) {
      if (out.types.has(m[1]) || seen.has(m[1])) throw new Error(`line ${i + 1}: TYPE for ${m[1]} repeated or after its samples`);
      out.types.set(m[1], m[2]);
    } else if (line.startsWith('#')) {
      continue;
    } else if ((m = SAMPLE.exec(line))) {
      const labels: Record<string, string> = {};
      for (const l of (m[2] ?? '').matchAll(new RegExp(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\]|\\\\.)*)"`, 'g'))) {
        labels[l[1]] = l[2].replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
      }
      seen.add(m[1]);
      out.samples.push({ name: m[1], labels, value: Number(m[3].replace('Inf', 'Infinity')) });
    } else {
      throw new Error(`line ${i + 1} is not in the exposition format: ${JSON.stringify(line)}`);
    }
  }
  return out;
}

/** The unlabelled samples by name. */
export function byName(p: Parsed): Map<string, number> {
  return new Map(p.samples.filter((s) => !Object.keys(s.labels).length).map((s) => [s.name, s.value]));
}

/** The exporter as a child process (`mptcp metrics --port 0`), once it says where it listens. */
export async function startExporter(args: string[] = ['--port', '0']): Promise<{ child: ChildProcess; port: number; url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [bin, 'metrics', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stderr! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exporter exited ${code}`)));
  });
  const m = /^serving (http:\/\/\S+:(\d+))\/metrics$/.exec(line);
  if (!m) throw new Error(`unexpected exporter line: ${line}`);
  return {
    child, port: Number(m[2]), url: m[1],
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A port nothing listens on now (for a child to bind). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}
