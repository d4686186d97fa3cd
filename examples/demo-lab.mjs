// The two-path lab demo (what `npm run demo` shows as root; also runnable as
// `sudo node examples/demo-lab.mjs`).
//
// It builds two network namespaces joined by two shaped links (the lab helper
// of test/lab/lab.ts), runs an MPTCP server in one and an MPTCP client in the
// other (both through this library), and sends data for three phases:
//
//   1. aggregation  both paths up: one connection, one subflow per path
//   2. failover     path 2 is cut: its subflow goes, path 1 carries everything
//   3. rejoin       path 2 comes back: the client opens a new subflow on it
//
// While data flows it shows, live, each subflow's throughput (from the
// bytesAcked deltas of mptcp.getSnapshot(), sampled in the client's
// namespace by test/lab/agent.mjs), its round-trip time, and the connection
// total. On a terminal the view is redrawn in place; in a pipe or CI log it
// prints one plain line a second. Then a summary: goodput per phase, bytes
// sent and received, checksums, and the longest stall the receiver saw.
// DEMO_PHASE_SECONDS (default 5) sets the length of each phase.
//
// With --dashboard (`npm run demo -- --dashboard`), the web dashboard
// (mptcp.dashboard()) runs inside the client namespace, on a unix socket
// (test/lab/dashboard-server.mjs); this process forwards
// http://127.0.0.1:DEMO_DASHBOARD_PORT (default 8080) of the root namespace to
// it and prints the address, then waits DEMO_DASHBOARD_WAIT seconds (default
// 10) for a browser before sending. Phases default to 15 s then.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { pathToFileURL } from 'node:url';
import { table, mb, mbitPerSec } from '../bench/common.mjs';

const require = createRequire(import.meta.url);
const { Lab } = require('../dist/lab/lab.js');

const RATE_MBIT = 40; // per path, shaped with tbf on both ends
const DASHBOARD = process.argv.includes('--dashboard');
const PHASE_MS = Number(process.env.DEMO_PHASE_SECONDS ?? (DASHBOARD ? 15 : 5)) * 1000;
const SAMPLE_MS = 250; // the agent samples getSnapshot() this often
const PHASES = [
  { name: 'aggregation', what: 'both paths up: one MPTCP connection, one subflow on each path' },
  { name: 'failover', what: 'path 2 cut (links down, address withdrawn): path 1 carries everything' },
  { name: 'rejoin', what: 'path 2 restored and announced again: the client opens a new subflow on it' },
  { name: 'done', what: 'transfer finished; waiting for the server to check what it received' },
];

const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;
const rate = (mbit) => `${mbit.toFixed(1).padStart(5)} Mbit/s`;
const rttText = (sf) => (sf.state === 'ESTABLISHED' ? `${(sf.rtt / 1000).toFixed(1)} ms` : sf.state); // rtt is in µs

// ---------------------------------------------------------------------------
// Recording: turns the agent's 'progress' samples into per-sample byte deltas
// for the connection and for each subflow, plus a list of events. Times are
// ms on the agent's clock (t = 0 when sending began).

class Recorder {
  samples = []; // { t, dt, phase, bytes, perSubflow: Map<key, bytes> }  (bytes acked during the sample)
  subflows = new Map(); // key -> { id, label, path, acked, rtt, state, present, joinedAt, closedAt }
  events = []; // { t, text }
  phase = 0; // the phase now
  phaseStarts = [0]; // when each phase began
  offset = performance.now(); // our clock minus the agent's, updated with each sample
  waiting = []; // { t, resolve } for reached()

  constructor(paths) { this.paths = paths; } // the lab's paths, to tell which one a subflow uses

  now() { return performance.now() - this.offset; }

  /** Resolves when a sample at or after `t` has been recorded (and drawn). */
  reached(t) {
    return new Promise((resolve) => this.waiting.push({ t, resolve }));
  }

  event(text, t = this.now()) {
    this.events.push({ t, text });
    this.onEvent?.();
  }

  setPhase(phase) {
    this.phase = phase;
    this.phaseStarts[phase] = this.now();
    this.onEvent?.();
  }

  /** Call after add() and drawing: lets the script move on at sample boundaries. */
  release(t) {
    for (const w of this.waiting.filter((x) => x.t <= t)) w.resolve();
    this.waiting = this.waiting.filter((x) => x.t > t);
  }

  /** One 'progress' message from the agent: { t, bytes, info, subflows } (bigints as strings). */
  add(msg) {
    this.offset = performance.now() - msg.t;
    const prev = this.samples.at(-1);
    const dt = msg.t - (prev?.t ?? 0);
    // MPTCP-level bytes acked: data the server has. (Bytes written if the connection fell back to TCP.)
    const acked = Number(msg.info?.bytesAcked ?? msg.bytes);
    const sample = { t: msg.t, dt, phase: this.phase, acked, bytes: acked - (prev?.acked ?? 0), perSubflow: new Map() };

    const seen = new Set();
    for (const sf of msg.subflows) {
      const key = `${sf.id}|${sf.localAddress}:${sf.localPort}|${sf.remoteAddress}:${sf.remotePort}`;
      seen.add(key);
      let s = this.subflows.get(key);
      if (!s) {
        s = {
          id: sf.id ?? this.subflows.size + 1,
          label: `#${sf.id ?? '?'} ${sf.localAddress} > ${sf.remoteAddress}`,
          path: this.paths.find((p) => p.clientAddress === sf.localAddress)?.index,
          acked: 0,
          joinedAt: msg.t,
        };
        this.subflows.set(key, s);
        this.event(`subflow ${s.label} (port ${sf.localPort} > ${sf.remotePort}) is up`, msg.t);
      }
      const sfAcked = Number(sf.bytesAcked ?? sf.bytesSent ?? 0);
      sample.perSubflow.set(key, sfAcked - s.acked);
      Object.assign(s, { acked: sfAcked, rtt: sf.rtt, state: sf.state, present: true });
    }
    for (const [key, s] of this.subflows) {
      if (s.present && !seen.has(key)) {
        s.present = false;
        s.closedAt = msg.t;
        this.event(`subflow ${s.label} closed`, msg.t);
      }
    }
    this.samples.push(sample);
  }

  /** Mbit/s of the connection (key undefined) or of one subflow over the last `n` samples. */
  rateOver(n, key) {
    const window = this.samples.slice(-n);
    const bytes = window.reduce((sum, s) => sum + (key === undefined ? s.bytes : s.perSubflow.get(key) ?? 0), 0);
    return mbitPerSec(bytes, window.reduce((sum, s) => sum + s.dt, 0));
  }

  /** Per phase: duration, goodput, and the Mbit/s of each subflow that carried data. */
  phaseStats() {
    return PHASES.slice(0, 3).map((p, phase) => {
      const samples = this.samples.filter((s) => s.phase === phase);
      if (samples.length === 0) return { ...p, samples };
      const dt = samples.reduce((sum, s) => sum + s.dt, 0);
      const perSubflow = [...this.subflows].map(([key, sf]) => ({
        sf, mbit: mbitPerSec(samples.reduce((sum, s) => sum + (s.perSubflow.get(key) ?? 0), 0), dt),
      })).filter((x) => x.mbit >= 0.05);
      return {
        ...p, samples, from: samples[0].t - samples[0].dt, to: samples.at(-1).t,
        goodput: mbitPerSec(samples.reduce((sum, s) => sum + s.bytes, 0), dt), perSubflow,
      };
    });
  }
}

// ---------------------------------------------------------------------------
// Views. LiveView redraws a block in place on a terminal (ANSI cursor moves);
// LogView prints one plain line a second plus one line per event.

const color = !process.env.NO_COLOR;
const paint = (code, s) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
const PHASE_COLOR = ['36', '33', '32', '2']; // cyan, yellow, green, dim
const SPARK = '▁▂▃▄▅▆▇█';
/** Colour escape sequences (ESC [ ... m), which take no room on screen. */
const SGR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** A horizontal bar `width` cells wide for value/max, with eighth-cell resolution. */
function bar(value, max, width) {
  const eighths = Math.round(Math.min(1, Math.max(0, value / max)) * width * 8);
  const body = '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
  return body + ' '.repeat(width - [...body].length);
}

/** One sparkline cell for value/max; '·' for present but idle. */
function spark(value, max) {
  if (value < max * 0.01) return '·';
  return SPARK[Math.min(SPARK.length - 1, Math.floor((value / max) * SPARK.length))];
}

class LiveView {
  height = 0; // lines drawn last time, to move back over them

  constructor(rec) {
    this.rec = rec;
    // Hide the cursor while redrawing, and bring it back on Ctrl+C. The lab
    // has its own handler (teardown, then re-raise); whichever runs last
    // re-raises the signal so that the process still ends.
    process.stdout.write('\x1b[?25l');
    for (const sig of ['SIGINT', 'SIGTERM']) {
      process.once(sig, () => {
        process.stdout.write('\x1b[?25h\n');
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
      });
    }
  }

  draw() {
    const { rec } = this;
    const cols = process.stdout.columns || 80;
    const lines = [];
    const phase = PHASES[rec.phase];
    const t = rec.samples.at(-1)?.t ?? 0;
    const title = rec.phase < 3 ? `phase ${rec.phase + 1}/3 ${phase.name}` : phase.name;
    lines.push(`  t = ${secs(t).padStart(6)}   ${paint(`1;${PHASE_COLOR[rec.phase]}`, title)}`);
    lines.push(`  ${phase.what}`);
    lines.push('');

    // Now: per-subflow and total throughput over the last second, on one scale.
    const barWidth = Math.max(10, Math.min(40, cols - 56));
    const max = RATE_MBIT * 2;
    lines.push(paint('2', `  ${'subflow'.padEnd(22)}  ${'rtt'.padStart(11)}  ${'throughput'.padStart(11)}  (bar: ${max} Mbit/s full)`));
    for (const [key, s] of rec.subflows) {
      if (!s.present) {
        lines.push(paint('2', `  ${s.label.padEnd(22)}  ${'closed'.padStart(11)}  ${'-'.padStart(11)}`));
        continue;
      }
      const mbit = rec.rateOver(4, key);
      lines.push(`  ${s.label.padEnd(22)}  ${rttText(s).padStart(11)}  ${rate(mbit)}  ${paint('36', bar(mbit, max, barWidth))}`);
    }
    const total = rec.rateOver(4);
    lines.push(`  ${paint('1', 'connection'.padEnd(22))}  ${''.padStart(11)}  ${paint('1', rate(total))}  ${paint('1', bar(total, max, barWidth))}`);
    lines.push('');

    // History: one column per sample, coloured by phase.
    const width = Math.max(10, cols - 8);
    const window = rec.samples.slice(-width);
    const row = (label, valueOf, full) => `  ${label.padEnd(4)} ${window.map((s) => {
      const v = valueOf(s);
      return v === undefined ? ' ' : paint(PHASE_COLOR[s.phase], spark(v, full));
    }).join('')}`;
    lines.push(paint('2', `  history: 1 column = ${SAMPLE_MS / 1000} s, full height = ${RATE_MBIT} Mbit/s (all: ${max})`));
    for (const [key, s] of rec.subflows) {
      lines.push(row(`#${s.id}`, (x) => (x.perSubflow.has(key) ? mbitPerSec(x.perSubflow.get(key), x.dt) : undefined), RATE_MBIT));
    }
    lines.push(row('all', (x) => mbitPerSec(x.bytes, x.dt), max));
    lines.push(`       ${window.map((s, i) => (i > 0 && window[i - 1].phase === s.phase ? '─' : String(s.phase + 1))).join('')}`);

    // The latest events, as many as the terminal has room for.
    const room = Math.max(1, Math.min(6, (process.stdout.rows || 24) - lines.length - 3));
    lines.push('');
    lines.push(paint('2', '  events'));
    for (const e of rec.events.slice(-room)) lines.push(`  ${secs(e.t).padStart(6)}  ${e.text}`);

    // Back to the top of the previous frame, redraw each line, clear what is left.
    // A line must not wrap, or moving up by `height` lines would land too low.
    const fit = (line) => {
      const visible = [...line.replace(SGR, '')];
      return visible.length < cols ? line : visible.slice(0, cols - 1).join('');
    };
    const up = this.height > 0 ? `\x1b[${this.height}F` : '';
    process.stdout.write(`${up}${lines.map((l) => `\x1b[2K${fit(l)}\n`).join('')}\x1b[J`);
    this.height = lines.length;
  }

  close() {
    this.draw();
    process.stdout.write('\x1b[?25h');
  }
}

class LogView {
  printedEvents = 0;
  lastSecond = 0;
  lastSamples = 0;
  lastPhase = -1;

  constructor(rec) { this.rec = rec; }

  draw() {
    const { rec } = this;
    if (rec.phase !== this.lastPhase) {
      this.lastPhase = rec.phase;
      const p = PHASES[rec.phase];
      console.log(`  --- ${rec.phase < 3 ? `phase ${rec.phase + 1}/3 ` : ''}${p.name}: ${p.what}`);
    }
    for (const e of rec.events.slice(this.printedEvents)) console.log(`  t=${secs(e.t).padStart(6)}  * ${e.text}`);
    this.printedEvents = rec.events.length;

    // One line a second, with rates over the samples since the previous line.
    // (The agent's timer may fire a little early: 999.8 ms counts as 1 s.)
    const t = rec.samples.at(-1)?.t ?? 0;
    const second = Math.floor(t / 1000 + 0.05);
    if (second <= this.lastSecond) return;
    this.lastSecond = second;
    const n = rec.samples.length - this.lastSamples;
    this.lastSamples = rec.samples.length;
    const parts = [`t=${secs(t).padStart(6)}  total ${rate(rec.rateOver(n))}`];
    for (const [key, s] of rec.subflows) {
      if (s.present) parts.push(`${s.label}  ${rate(rec.rateOver(n, key)).trim()}  rtt ${rttText(s)}`);
    }
    console.log(`  ${parts.join('  |  ')}`);
  }

  close() { this.draw(); }
}

// ---------------------------------------------------------------------------
// --dashboard: the page of the client namespace, reachable from this one.

async function startDashboard(lab) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mptcp-demo-'));
  const socketPath = path.join(dir, 'dashboard.sock');
  const script = fileURLToPath(new URL('../test/lab/dashboard-server.mjs', import.meta.url));
  const proc = lab.run('client', script, [socketPath]);
  await proc.waitFor((m) => m.type === 'ready', 20_000);
  // 127.0.0.1:PORT here -> the unix socket -> the dashboard in the client namespace.
  const forwarder = net.createServer((c) => {
    const u = net.connect(socketPath);
    c.pipe(u).pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
    c.on('close', () => u.destroy());
    u.on('close', () => c.destroy());
  });
  const port = Number(process.env.DEMO_DASHBOARD_PORT ?? 8080);
  await new Promise((resolve, reject) => {
    forwarder.once('error', reject);
    forwarder.listen(port, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${forwarder.address().port}/`,
    async close() {
      forwarder.close();
      await proc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------
// The demo.

export async function runLabDemo() {
  let lab;
  try {
    lab = await Lab.create({ paths: [{ rateMbit: RATE_MBIT }, { rateMbit: RATE_MBIT }] });
  } catch (err) {
    throw Object.assign(err, { labUnavailable: true }); // demo.mjs falls back to loopback
  }
  let view;
  let dash;
  try {
    const [p1, p2] = lab.paths;
    if (DASHBOARD) dash = await startDashboard(lab);
    console.log('\nMultipath TCP: two paths, one connection (network namespaces built for this run)\n');
    console.log('    client netns                            server netns');
    console.log(`    ${p1.clientAddress}  --- path 1, ${RATE_MBIT} Mbit/s ---  ${p1.serverAddress}  (the client connects here)`);
    console.log(`    ${p2.clientAddress}  --- path 2, ${RATE_MBIT} Mbit/s ---  ${p2.serverAddress}  (announced with ADD_ADDR)`);
    console.log('\n  Both ends of each link are shaped (tbf); a full queue adds up to 50 ms rtt.');

    const [server, client] = await Promise.all([lab.agent('server'), lab.agent('client')]);
    const { port } = await server.request({ cmd: 'serve', kind: 'lib' });
    const { conn, isMptcp } = await client.request({ cmd: 'connect', kind: 'lib', host: p1.serverAddress, port });
    console.log(`\n  mptcp.connect() to ${p1.serverAddress}:${port}: isMptcp() ${isMptcp ? 'true' : 'false (fell back to TCP: no subflows to show)'}`);
    if (dash) {
      const { info } = await client.request({ cmd: 'info', conn });
      const wait = Number(process.env.DEMO_DASHBOARD_WAIT ?? 10);
      console.log(`\n  Dashboard (the client namespace's view): ${dash.url}${info ? `#token=${info.token.toString(16)}` : ''}`);
      console.log(`  Open it in a browser; sending starts in ${wait} s.`);
      await new Promise((r) => setTimeout(r, wait * 1000));
    }
    const phaseS = PHASE_MS / 1000;
    console.log(`  Script: ${phaseS} s both paths, cut path 2, ${phaseS} s path 1 only, restore path 2, ${phaseS} s more.\n`);

    const rec = new Recorder(lab.paths);
    view = process.stdout.isTTY ? new LiveView(rec) : new LogView(rec);
    rec.onEvent = () => view.draw();
    client.on('message', (m) => {
      if (m.type !== 'progress') return;
      rec.add(m);
      view.draw();
      rec.release(m.t);
    });
    const received = server.waitFor((m) => m.type === 'received', 3 * PHASE_MS + 30_000);
    const sent = client.request({ cmd: 'send', conn, seconds: (3 * PHASE_MS) / 1000, sampleMs: SAMPLE_MS });

    // Phase 2: cut path 2. Both ends of the link go down, the server withdraws
    // its address (RM_ADDR) and the addresses go, as when a Wi-Fi link drops.
    // (Phases change right after a sample, so each sample lies in one phase.)
    await Promise.race([rec.reached(PHASE_MS), sent]);
    rec.setPhase(1);
    rec.event('path 2: link down on both ends');
    await lab.setLink(2, false);
    rec.event(`server withdraws ${p2.serverAddress} (RM_ADDR)`);
    await lab.withdraw(2);
    rec.event('path 2: addresses removed');
    await lab.setAddresses(2, false);

    // Phase 3: restore path 2 and announce it again (ADD_ADDR); the client's
    // path manager opens a new subflow to it.
    await Promise.race([rec.reached(2 * PHASE_MS), sent]);
    rec.setPhase(2);
    rec.event('path 2: addresses back, link up');
    await lab.setAddresses(2, true);
    await lab.setLink(2, true);
    rec.event(`server announces ${p2.serverAddress} again (ADD_ADDR)`);
    await lab.announce(2);

    const result = await sent;
    rec.setPhase(3);
    const got = await received;
    rec.event(`server: connection ended, ${mb(got.bytes)} MB received`);
    view.close();
    view = undefined;
    summary(rec, result, got);
  } finally {
    view?.close();
    await dash?.close();
    await lab.destroy();
  }
  console.log('  Lab namespaces removed.\n');
}

/** Samples come every SAMPLE_MS, so a change is known to within that. */
const within = (delay) => `within ${(Math.max(delay, SAMPLE_MS) / 1000).toFixed(2)} s of`;

function summary(rec, sent, got) {
  const stats = rec.phaseStats();
  // The server's clock starts at its first byte, close to the agent's t = 0.
  const stallPhase = rec.samples.find((s) => s.t >= got.maxGapAtMs + got.maxGapMs / 2)?.phase;
  console.log('\nPer phase (goodput: MPTCP-level data acked by the server)');
  console.log(table(['phase', 'time', 'goodput', 'subflows carrying data, Mbit/s'], stats.filter((p) => p.samples.length).map((p) => [
    p.name,
    `${(p.from / 1000).toFixed(1)}-${(p.to / 1000).toFixed(1)} s`,
    rate(p.goodput),
    p.perSubflow.map(({ sf, mbit }) => `#${sf.id} ${mbit.toFixed(1)} (path ${sf.path})`).join(', ') || '-',
  ]), 'lrrl', 'plain'));

  console.log('\nTransfer');
  console.log(table(['result', 'value'], [
    ['negotiated MPTCP (client / server)', `${sent.isMptcp} / ${got.isMptcp}`],
    ['bytes sent by the client', `${sent.bytes} (${mb(sent.bytes)} MB in ${secs(sent.ms)})`],
    ['bytes received by the server', `${got.bytes} (${mb(got.bytes)} MB)`],
    ['sha256 sent = received', sent.sha256 === got.sha256 ? `yes (${got.sha256.slice(0, 16)}...)` : `NO (${sent.sha256.slice(0, 16)} vs ${got.sha256.slice(0, 16)})`],
    ['longest stall at the receiver', `${got.maxGapMs.toFixed(0)} ms, from ${secs(got.maxGapAtMs)}${stallPhase !== undefined ? ` (${PHASES[stallPhase].name})` : ''}`],
    ['subflows ever used / at the end', `${rec.subflows.size} / ${got.subflowsAtEnd}`],
  ], 'll', 'plain'));

  // What happened, in words, from what was measured.
  const [, failover, rejoin] = stats;
  const onPath2 = [...rec.subflows.values()].filter((s) => s.path === 2);
  const closed = onPath2.filter((s) => s.closedAt !== undefined);
  const joined = onPath2.filter((s) => s.joinedAt > rec.phaseStarts[2]);
  const intact = sent.sha256 === got.sha256 && sent.bytes === got.bytes;
  console.log();
  console.log(intact ? '  One connection throughout: every byte arrived, in order.' : '  The data did NOT arrive intact.');
  if (closed.length) {
    console.log(`  Failover: #${closed[0].id} (path 2) closed ${within(closed[0].closedAt - rec.phaseStarts[1])} the cut; path 1 alone: ${rate(failover.goodput ?? 0).trim()}.`);
  }
  if (joined.length) {
    console.log(`  Rejoin: #${joined[0].id} (path 2) up ${within(joined[0].joinedAt - rec.phaseStarts[2])} the restore; both paths: ${rate(rejoin.goodput ?? 0).trim()}.`);
  }
}

// `node examples/demo-lab.mjs` runs it directly.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runLabDemo();
