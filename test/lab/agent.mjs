// The lab agent: runs inside a lab namespace (see lab.ts) and does what the
// parent asks over the IPC channel, through the library (kind 'lib') or plain
// node:net (kind 'net'). Every request carries an id; the reply carries
// replyTo. Unsolicited messages: { type: 'ready' }, { type: 'received', ... }
// when a sink connection ends, { type: 'progress', ... } while sending.
//
// Commands
//   serve   { kind, port?, host?, verify? }  -> { port }     sink server; each connection is registered
//           (verify: check every connection's stream against send's `pattern`; 'received' then
//           carries mismatches: [{ at, got, bytes }], runs of words that were not what was sent)
//   connect { kind, host, port, mptcp? }     -> { conn, isMptcp, localAddress, localPort }
//           (mptcp: the library's mode, true | false | 'require'; a refusal replies with its code)
//   send    { conn, bytes? | seconds?, sampleMs?, end?, pattern? } -> { bytes, sha256, ms, isMptcp }
//           (sha256: of everything sent on the connection so far; end defaults to true;
//           pattern: each 8-byte word is its own stream offset, a little-endian double)
//   end     { conn }                         -> {}          half-close (FIN) after pending writes
//   monitor { conn? }                        -> {}          mptcp.monitor() (for conn's socket only, if given),
//           each event forwarded as { type: 'mptcpEvent', event }, read with the async iterator
//   unmonitor {}                             -> {}
//   pm      { fn, conn?, args }              -> { value }   mptcp.pm[fn](conn's socket?, ...args)
//   countEvents {}                           -> {}          a monitor that only counts events by type
//   eventCounts {}                           -> { total, byType, firstMs, lastMs } and stops counting
//   churn   { host, port, n, concurrency }   -> { ms, opened } n library connections, each closed once connected
//   info    { conn }                         -> { isMptcp, info, subflows } (bigints as strings)
//   conns   {}                               -> { conns: [...ids] }
//   connections { options? }                 -> { list } mptcp.connections(options) in this namespace (bigints as strings)
//   subflowFlags { conn }                    -> { list } mptcp.getSubflowFlags(conn's socket)
//   close   { conn }                         -> {}
//   fds     {}                               -> { count, fds }  this process's open descriptors (/proc/self/fd)
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const mptcp = require('../../dist/index.js');

const conns = new Map();
let nextConn = 1;
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

const CHUNK = 256 * 1024;
const base = randomBytes(CHUNK);

function plain(value) {
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

function register(socket, role) {
  const id = nextConn++;
  conns.set(id, { socket, role, hash: createHash('sha256'), offset: 0 });
  socket.on('close', () => setTimeout(() => conns.delete(id), 60_000).unref());
  return id;
}

function snapshot(socket) {
  const snap = mptcp.getSnapshot(socket);
  return {
    isMptcp: mptcp.isMptcp(socket),
    info: snap ? plain(snap.info) : null,
    subflows: snap ? plain(snap.subflows) : [],
  };
}

/** Checks a stream against send's `pattern`; `mismatches` lists runs of words that differ. */
function patternChecker() {
  let offset = 0;
  let carry = Buffer.alloc(0);
  const mismatches = [];
  let run = null;
  return {
    mismatches,
    update(d) {
      const buf = carry.length ? Buffer.concat([carry, d]) : d;
      const words = Math.floor(buf.length / 8);
      for (let w = 0; w < words; w++, offset += 8) {
        const got = buf.readDoubleLE(w * 8);
        if (got === offset) {
          run = null;
        } else if (run && got === run.got + run.bytes) {
          run.bytes += 8;
        } else if (mismatches.length < 16) {
          run = { at: offset, got, bytes: 8 };
          mismatches.push(run);
        } else {
          run = null;
        }
      }
      carry = Buffer.from(buf.subarray(words * 8));
    },
  };
}

function serve({ kind = 'lib', port = 0, host = '0.0.0.0', verify = false }) {
  const onConnection = (c) => {
    const id = register(c, 'server');
    const hash = createHash('sha256');
    let bytes = 0;
    let first = 0;
    let last = 0;
    let maxGap = 0;
    let maxGapAt = 0;
    const bins = []; // bytes per 50 ms since the first byte
    const isMp = mptcp.isMptcp(c);
    const checker = verify ? patternChecker() : null;
    c.on('data', (d) => {
      checker?.update(d);
      const t = now();
      if (bytes === 0) first = t;
      else if (t - last > maxGap) {
        maxGap = t - last;
        maxGapAt = last - first;
      }
      last = t;
      bytes += d.length;
      hash.update(d);
      const bin = Math.floor((t - first) / 50);
      while (bins.length <= bin) bins.push(0);
      bins[bin] += d.length;
    });
    c.on('end', () => {
      const s = snapshot(c);
      process.send({
        type: 'received', conn: id, bytes, sha256: hash.digest('hex'), ms: last - first,
        maxGapMs: maxGap, maxGapAtMs: maxGapAt, bins, isMptcp: isMp, subflowsAtEnd: s.subflows.length,
        peer: `${c.remoteAddress}:${c.remotePort}`,
        ...(checker ? { mismatches: checker.mismatches } : {}),
      });
      c.end();
    });
    c.on('error', () => {});
  };
  const srv = kind === 'lib' ? mptcp.createServer(onConnection) : net.createServer(onConnection);
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, host, () => resolve({ port: srv.address().port }));
  });
}

function connect({ kind = 'lib', host, port, mptcp: mode }) {
  return new Promise((resolve, reject) => {
    const s = kind === 'lib' ? mptcp.connect({ host, port, ...(mode === undefined ? {} : { mptcp: mode }) }) : net.connect({ host, port });
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      s.resume();
      resolve({ conn: register(s, 'client'), isMptcp: mptcp.isMptcp(s), localAddress: s.localAddress, localPort: s.localPort });
    });
  });
}

function send({ conn, bytes, seconds, sampleMs = 0, end = true, pattern = false }) {
  const entry = conns.get(conn);
  if (!entry) throw new Error(`no connection ${conn}`);
  const s = entry.socket;
  const hash = entry.hash;
  const t0 = now();
  const limit = bytes ?? Infinity;
  const until = seconds ? t0 + seconds * 1000 : Infinity;
  let sent = 0;
  let index = 0;
  let sampler = null;
  if (sampleMs > 0) {
    sampler = setInterval(() => {
      process.send({ type: 'progress', conn, t: now() - t0, bytes: sent, ...snapshot(s) });
    }, sampleMs);
  }
  return new Promise((resolve, reject) => {
    const onError = (err) => {
      if (sampler) clearInterval(sampler);
      reject(err);
    };
    const finish = () => {
      s.off('error', onError);
      if (sampler) clearInterval(sampler);
      const result = { bytes: sent, sha256: hash.copy().digest('hex'), ms: now() - t0, isMptcp: mptcp.isMptcp(s) };
      if (end) s.end();
      resolve(result);
    };
    s.once('error', onError);
    const pump = () => {
      while (sent < limit && now() < until) {
        const n = Math.min(CHUNK, limit - sent);
        const chunk = Buffer.allocUnsafe(n);
        if (pattern) {
          // The words around [offset, offset + n), cut to the chunk (offset need not be a multiple of 8).
          const words = Buffer.allocUnsafe(n + 8);
          const first = entry.offset - (entry.offset % 8);
          for (let i = 0; i < n + 8; i += 8) words.writeDoubleLE(first + i, i);
          words.copy(chunk, 0, entry.offset - first, entry.offset - first + n);
        } else {
          base.copy(chunk, 0, 0, n);
          if (n >= 8) chunk.writeDoubleLE(index++, 0); // no two chunks alike: loss or reordering changes the hash
        }
        entry.offset += n;
        hash.update(chunk);
        sent += n;
        if (!s.write(chunk)) {
          s.once('drain', pump);
          return;
        }
      }
      // Everything handed to the kernel; wait until it is flushed from Node.
      if (s.writableLength === 0) finish();
      else s.once('drain', finish);
    };
    pump();
  });
}

let mon = null;
let counter = null;

const handlers = {
  monitor: async ({ conn }) => {
    mon?.close();
    const socket = conn === undefined ? undefined : conns.get(conn)?.socket;
    mon = mptcp.monitor(socket ? { socket } : {});
    await mon.ready;
    (async (m) => {
      for await (const event of m) process.send({ type: 'mptcpEvent', event });
      process.send({ type: 'mptcpEventEnd' });
    })(mon).catch((err) => process.send({ type: 'mptcpEventError', error: err.message }));
    return {};
  },
  pm: async ({ fn, conn, args = [] }) => {
    const target = conn === undefined ? [] : [conns.get(conn)?.socket];
    return { value: plain((await mptcp.pm[fn](...target, ...args)) ?? null) };
  },
  countEvents: async () => {
    counter?.mon.close();
    const c = { mon: mptcp.monitor(), total: 0, byType: {}, firstMs: 0, lastMs: 0 };
    c.mon.on('event', (e) => {
      const t = now();
      if (c.total++ === 0) c.firstMs = t;
      c.lastMs = t;
      c.byType[e.type] = (c.byType[e.type] ?? 0) + 1;
    });
    await c.mon.ready;
    counter = c;
    return {};
  },
  eventCounts: () => {
    const c = counter;
    counter = null;
    c?.mon.close();
    return c ? { total: c.total, byType: c.byType, firstMs: c.firstMs, lastMs: c.lastMs } : { total: 0, byType: {} };
  },
  churn: ({ host, port, n, concurrency = 8 }) => new Promise((resolve, reject) => {
    const t0 = now();
    let started = 0;
    let finished = 0;
    const one = () => {
      if (started >= n) return;
      started++;
      const s = mptcp.connect({ host, port });
      s.once('connect', () => s.destroy());
      s.once('error', reject);
      s.once('close', () => {
        if (++finished === n) resolve({ ms: now() - t0, opened: n });
        else one();
      });
    };
    for (let i = 0; i < Math.min(concurrency, n); i++) one();
  }),
  unmonitor: () => {
    mon?.close();
    mon = null;
    return {};
  },
  serve,
  connect,
  send,
  info: ({ conn }) => {
    const entry = conns.get(conn);
    if (!entry) throw new Error(`no connection ${conn}`);
    return snapshot(entry.socket);
  },
  connections: async ({ options }) => ({ list: plain(await mptcp.connections(options)) }),
  subflowFlags: async ({ conn }) => {
    const entry = conns.get(conn);
    if (!entry) throw new Error(`no connection ${conn}`);
    return { list: plain(await mptcp.getSubflowFlags(entry.socket)) };
  },
  conns: () => ({ conns: [...conns.entries()].map(([id, e]) => ({ id, role: e.role, peer: `${e.socket.remoteAddress}:${e.socket.remotePort}` })) }),
  end: ({ conn }) => {
    conns.get(conn)?.socket.end();
    return {};
  },
  close: ({ conn }) => {
    conns.get(conn)?.socket.destroy();
    return {};
  },
  fds: () => {
    const names = fs.readdirSync('/proc/self/fd');
    const fds = [];
    for (const n of names) {
      try {
        fds.push(`${n} -> ${fs.readlinkSync(`/proc/self/fd/${n}`)}`);
      } catch { /* the directory's own descriptor, closed by now */ }
    }
    return { count: fds.length, fds };
  },
};

process.on('message', async (msg) => {
  try {
    const h = handlers[msg.cmd];
    if (!h) throw new Error(`unknown command ${msg.cmd}`);
    const r = await h(msg);
    process.send({ ...r, replyTo: msg.id });
  } catch (err) {
    process.send({ replyTo: msg.id, error: err.message, code: err.code });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ type: 'ready', pid: process.pid });
