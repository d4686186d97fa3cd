// Benchmark peer process, driven by bench/run.mjs over stdin/stdout (one JSON
// object per line). Spawned pinned to a CPU with taskset, and for the
// "mptcpize" baseline under `mptcpize run`.
//
//   node bench/peer.mjs server <lib|net>   sink + echo servers on 127.0.0.1
//   node bench/peer.mjs client <lib|net>   sender / latency / per-call / memory client
//
// lib: mptcp.createServer / mptcp.connect (the library under test).
// net: node:net unchanged (plain TCP, or MPTCP when run under mptcpize).
// floor: the library's server; the client connects as the library does at
// the least (see makeFloorDial), for the connect-latency floor.
// The library is always loaded, in net mode only to check with isMptcp()
// whether the connections really were MPTCP.
import net from 'node:net';
import readline from 'node:readline';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const m = require('../dist/index.js');

const [role, mode] = process.argv.slice(2);
if (!['server', 'client'].includes(role) || !['lib', 'net', 'floor'].includes(mode)) {
  process.stderr.write('usage: peer.mjs <server|client> <lib|net|floor>\n');
  process.exit(2);
}
const HOST = '127.0.0.1';
const now = process.hrtime.bigint;

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function listen(listener) {
  return new Promise((resolve, reject) => {
    const srv = mode === 'net' ? net.createServer(listener) : m.createServer(listener);
    srv.once('error', reject);
    srv.listen(0, HOST, () => resolve(srv));
  });
}

/**
 * The floor of the library's way of connecting: net's own connect on a TCP
 * handle opened on an MPTCP descriptor the addon made, and nothing else (no
 * argument handling, no fallback, no mode). What the library adds to it is
 * the library's cost; what it costs over mptcpize'd net is the cost of
 * making the descriptor up front instead of inside libuv's connect. Its
 * constructor options start with the four properties net's constructor
 * sets on its copy, as the library's do (lib/connect.ts, ctorBase): on
 * Node 20 that spares V8's slow path for properties added to a spread
 * copy, which net.connect itself pays.
 */
let floorDial = null;
function makeFloorDial() {
  const b = require('../dist/binding.js').getBinding();
  const ni = require('../dist/node-internals.js');
  const netConnect = ni.netOriginals(net).connect;
  const { IPPROTO_MPTCP } = b.constants;
  // Teach the library the TCP handle class, as its first connect does.
  const first = new net.Socket({ fd: b.socket(4, IPPROTO_MPTCP), manualStart: true, readable: false, writable: false });
  ni.learnTcpHandleClass(first);
  first.destroy();
  return (port) => {
    const handle = ni.tcpHandleOn(b.socket(4, IPPROTO_MPTCP));
    const s = new net.Socket({ allowHalfOpen: false, emitClose: false, autoDestroy: true, decodeStrings: false, port, host: HOST, handle, manualStart: true });
    netConnect.call(s, { port, host: HOST });
    return s;
  };
}

/** A connect the way `kind` connects: 'lib', 'floor' or 'net'. */
function dialAs(kind, port, host = HOST) {
  if (kind === 'lib') return m.connect({ port, host });
  if (kind === 'floor') return (floorDial ??= makeFloorDial())(port);
  return net.connect({ port, host });
}

function dial(port, host = HOST) {
  return dialAs(mode, port, host);
}

// ---------------------------------------------------------------- server ----

async function server() {
  // Sink: counts bytes until the peer's FIN, reports the rate seen by the
  // receiver (first data byte to end of stream), then closes.
  const sink = await listen((c) => {
    const mptcp = m.isMptcp(c);
    let bytes = 0;
    let t0 = 0n;
    c.on('data', (d) => {
      if (bytes === 0) t0 = now();
      bytes += d.length;
    });
    c.on('end', () => {
      const ns = Number(now() - t0);
      send({ type: 'sink', bytes, ns, mptcp });
      c.end();
    });
    c.on('error', (err) => send({ type: 'error', where: 'sink', message: err.message }));
  });
  // Echo: echoes what it gets; remembers whether the first connection was MPTCP.
  let echoChecked = 0;
  let echoMptcp = 0;
  const echo = await listen((c) => {
    if (echoChecked < 4) {
      echoChecked++;
      if (m.isMptcp(c)) echoMptcp++;
    }
    c.on('data', (d) => c.write(d));
    c.on('error', () => {});
  });
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const cmd = JSON.parse(line);
    if (cmd.cmd === 'echoStats') send({ type: 'echoStats', checked: echoChecked, mptcp: echoMptcp });
    else if (cmd.cmd === 'exit') process.exit(0);
  }).on('close', () => process.exit(0));
  send({ type: 'ready', sink: sink.address().port, echo: echo.address().port, pid: process.pid });
}

// ---------------------------------------------------------------- client ----

function sendBulk(port, total, chunk) {
  return new Promise((resolve, reject) => {
    const buf = Buffer.alloc(chunk, 0x61);
    const s = dial(port);
    let sent = 0;
    let mptcp = null;
    let t0 = 0n;
    const pump = () => {
      while (sent < total) {
        const n = Math.min(chunk, total - sent);
        sent += n;
        if (!s.write(n === chunk ? buf : buf.subarray(0, n))) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    s.on('connect', () => {
      mptcp = m.isMptcp(s);
      t0 = now();
      pump();
    });
    s.resume();
    s.on('error', reject);
    s.on('close', () => resolve({ type: 'sent', bytes: sent, ns: Number(now() - t0), mptcp }));
  });
}

/**
 * One sequential connect + 1-byte echo + close. Resolves with the µs from the
 * connect call to 'close', and to 'connect'.
 */
const ONE = Buffer.from('x');
function pingOnce(port, check, host, kind = mode) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    let tc = t0;
    const s = dialAs(kind, port, host);
    let mptcp = null;
    s.on('connect', () => {
      tc = now();
      if (check) mptcp = m.isMptcp(s);
      s.write(ONE);
    });
    s.once('data', () => s.destroy());
    s.on('error', reject);
    s.on('close', () => resolve([Number(now() - t0) / 1e3, Number(tc - t0) / 1e3, mptcp]));
  });
}

async function latency(port, n, host, skip = 0) {
  const us = new Array(n);
  const connectUs = new Array(n);
  let mptcp = null;
  for (let i = 0; i < skip; i++) await pingOnce(port, false, host);
  for (let i = 0; i < n; i++) {
    const [t, tc, mp] = await pingOnce(port, i === 0, host);
    if (i === 0) mptcp = mp;
    us[i] = t;
    connectUs[i] = tc;
  }
  return { type: 'latency', us, connectUs, mptcp };
}

/**
 * Connects of several kinds in one process, taking turns in runs of
 * `block` consecutive connects of a kind (1 by default: connect by
 * connect), the kinds in a fresh random order each round (a fixed or
 * rotating order has each kind follow the same other kind), until each has
 * made n. Run under `mptcpize run`, 'net' is mptcpize'd net and 'lib' the
 * library (its explicit IPPROTO_MPTCP passes mptcpize's wrapper
 * unchanged), so the two are compared in the same process, heap and
 * moment, with no process effects between them. Taking turns, each kind's
 * code runs with caches filled by the others': the kind with the most code
 * of its own (the library) pays for a sharing that a program connecting
 * one way does not have (BENCH_LAT_BLOCK sets longer runs).
 */
async function latencyPaired(port, n, host, kinds, block = 1, skip = 0) {
  const us = {};
  const connectUs = {};
  const mptcp = {};
  for (const k of kinds) {
    us[k] = [];
    connectUs[k] = [];
    mptcp[k] = null;
  }
  const order = [...kinds];
  for (let i = 0; i < skip; i++) for (const k of kinds) await pingOnce(port, false, host, k);
  for (let done = 0; done < n; done += block) {
    for (let j = order.length - 1; j > 0; j--) {
      const r = Math.floor(Math.random() * (j + 1));
      [order[j], order[r]] = [order[r], order[j]];
    }
    const count = Math.min(block, n - done);
    for (const k of order) {
      for (let i = 0; i < count; i++) {
        const [t, tc, mp] = await pingOnce(port, done === 0 && i === 0, host, k);
        if (done === 0 && i === 0) mptcp[k] = mp;
        us[k].push(t);
        connectUs[k].push(tc);
      }
    }
  }
  return { type: 'latencyPaired', us, connectUs, mptcp };
}

let callSock = null;
function callSocket(port) {
  if (callSock) return Promise.resolve(callSock);
  return new Promise((resolve, reject) => {
    const s = dial(port);
    s.on('connect', () => resolve((callSock = s)));
    s.on('error', reject);
    s.resume();
  });
}

/**
 * Per-call cost of fn(socket): warm-up, then `batches` timed batches of
 * `per` calls; ns per call for each batch. Each function gets a timing loop
 * compiled on its own (new Function), so that every call site is
 * monomorphic, as in a program that calls one of them in a loop: one shared
 * loop would see all the functions and all their result types, and charge
 * each row the cost of a megamorphic call. The sink only tests the result.
 */
function timeCalls(fn, s, warm, batches, per) {
  const loop = new Function('fn', 's', 'n', 'now', `
    let keep = 0;
    const t0 = now();
    for (let i = 0; i < n; i++) if (fn(s)) keep++;
    return [Number(now() - t0) / n, keep];`);
  let keep = loop(fn, s, warm, now)[1];
  const ns = [];
  for (let b = 0; b < batches; b++) {
    const [t, k] = loop(fn, s, per, now);
    ns.push(t);
    keep += k;
  }
  return { ns, keep };
}

async function calls(port, warm, batches, per) {
  const s = await callSocket(port);
  const out = { type: 'calls', mptcp: m.isMptcp(s), subflows: m.getSubflows(s).length, infoKeys: Object.keys(m.getInfo(s) ?? {}).length, results: {} };
  // The N-API floor: the addon's own calls that the three functions make,
  // bare, on the same descriptor (what no JavaScript wrapper can go under).
  // getInfo() above has registered the scratch buffer they write into.
  // Each addon function is taken out of the exports object first, as
  // lib/info.ts does: that object is in dictionary mode, and a load from it
  // in the loop would be charged to the floor.
  const binding = require('../dist/binding.js').getBinding();
  const { tcpIsMptcp, mptcpInfoScratch, fullInfoScratch } = binding;
  const fd = s._handle.fd;
  // The floor of a call that returns the struct: the addon's call and the
  // library's decode of what it read into the scratch buffer, nothing else
  // (no socket check, no descriptor lookup), through the same local
  // bindings as the library's (lib/info.ts, Calls).
  const { decodeMptcpInfoAt } = require('../dist/decode.js');
  const { readFull } = require('../dist/info.js');
  const scratch = binding.setScratch[Symbol.for('mptcp.scratch')];
  const local = { fullInfoScratch, sizes: binding.sizes, setScratch: binding.setScratch };
  const { isMptcp, getInfo, getSubflows } = m;
  const fns = {
    isMptcp: (x) => isMptcp(x),
    getInfo: (x) => getInfo(x),
    getSubflows: (x) => getSubflows(x),
    'napi: tcpIsMptcp': () => tcpIsMptcp(fd) === 1,
    'napi: mptcpInfoScratch': () => mptcpInfoScratch(fd) > 0,
    'napi: fullInfoScratch': () => fullInfoScratch(fd, 4) > 0,
    'napi + decode: mptcpInfoScratch': () => { const n = mptcpInfoScratch(fd); return n >= 16 ? decodeMptcpInfoAt(scratch.views, 0, n) : null; },
    'napi + decode: fullInfoScratch': () => readFull(local, fd),
    // References, not targets. A getsockname(2) through Node's own TCP handle
    // (net caches address(), so the handle is called as net does):
    'ref: handle.getsockname': (x) => { const o = {}; x._handle.getsockname(o); return o; },
    // Reference: one bare syscall through a Node built-in.
    'ref: process.getegid': () => process.getegid() >= 0,
  };
  for (const [name, fn] of Object.entries(fns)) out.results[name] = timeCalls(fn, s, warm, batches, per).ns;
  return out;
}

/** Keeps one connection open so run.mjs can look at it with `ss`. */
let held = null;
function hold(port) {
  return new Promise((resolve, reject) => {
    const s = dial(port);
    s.on('connect', () => {
      held = s;
      resolve({ type: 'held', localPort: s.localPort, mptcp: m.isMptcp(s) });
    });
    s.on('error', reject);
    s.resume();
  });
}

/** A full garbage collection, for the memory phase (no --expose-gc flag needed). */
let gcFn = null;
function fullGc() {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc');
  }
  gcFn();
  gcFn();
}

/**
 * Opens `n` connections to `port` (at most 256 connecting at a time) and
 * holds them all open; reports how many were MPTCP and the heap and RSS
 * per connection over the second half of them: measured (after a full GC)
 * once half are open and once all are, so that what the process grows by
 * once (code, caches, the young generation's growth) is not counted. Then
 * closes them.
 */
async function holdMany(port, n) {
  const sockets = [];
  let mptcp = 0;
  let half = null;
  await new Promise((resolve, reject) => {
    let started = 0;
    let connected = 0;
    const more = () => {
      while (started - connected < 256 && started < n) {
        if (started === n >> 1) {
          // Take the mid-point reading once the first half are all open.
          if (connected < started) return;
          fullGc();
          half = process.memoryUsage();
        }
        started++;
        const s = dial(port);
        sockets.push(s);
        s.on('error', reject);
        s.once('connect', () => {
          connected++;
          if (m.isMptcp(s)) mptcp++;
          if (connected === n) resolve();
          else more();
        });
      }
    };
    more();
  });
  fullGc();
  const after = process.memoryUsage();
  for (const s of sockets) {
    s.removeAllListeners('error');
    s.on('error', () => {});
    s.destroy();
  }
  const counted = n - (n >> 1);
  return {
    type: 'heldMany', n: sockets.length, mptcp,
    heapPerConn: (after.heapUsed - half.heapUsed) / counted,
    rssPerConn: (after.rss - half.rss) / counted,
  };
}

async function client() {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('close', () => process.exit(0));
  for await (const line of rl) {
    const cmd = JSON.parse(line);
    try {
      if (cmd.cmd === 'send') send(await sendBulk(cmd.port, cmd.bytes, cmd.chunk));
      else if (cmd.cmd === 'latency') send(await latency(cmd.port, cmd.n, cmd.host, cmd.skip));
      else if (cmd.cmd === 'latencyPaired') send(await latencyPaired(cmd.port, cmd.n, cmd.host, cmd.kinds, cmd.block, cmd.skip));
      else if (cmd.cmd === 'calls') send(await calls(cmd.port, cmd.warm, cmd.batches, cmd.per));
      else if (cmd.cmd === 'hold') send(await hold(cmd.port));
      else if (cmd.cmd === 'holdMany') send(await holdMany(cmd.port, cmd.n));
      else if (cmd.cmd === 'release') { held?.destroy(); held = null; send({ type: 'released' }); }
      else if (cmd.cmd === 'exit') process.exit(0);
    } catch (err) {
      send({ type: 'error', where: cmd.cmd, message: err.message });
    }
  }
}

if (role === 'server') server();
else { send({ type: 'ready', pid: process.pid }); client(); }
