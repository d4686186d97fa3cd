// Load generator of the benchmark's HTTP phase: autocannon, driven through
// its programmatic API from one long-lived process, over stdin/stdout (one
// JSON object per line). Spawned pinned to a CPU and under `mptcpize run`,
// so every connection it makes is MPTCP.
//
// One process for the whole phase, not one per run: the client is warm
// (compiled, its heap grown) before the first counted run and stays the
// same program for every server, so runs can be short and many, taking
// turns between the servers, and what differs between two runs is the
// server.
//
//   -> { cmd: 'run', port, seconds, connections, close }
//   <- { type: 'run', requests, seconds, rps, p50, p90, p99, errors, timeouts, non2xx }
import readline from 'node:readline';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

const send = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

/**
 * Connection-heavy load, one request per connection. Given only the
 * `Connection: close` header, autocannon 8 writes its next request on the
 * connection the server is closing as soon as a response is complete: the
 * server then closes with unread data (a reset, for MPTCP a fastclose that
 * can discard the response), and the unanswered request stays first in the
 * client's queue, so each later response is timed from an older request
 * (hundreds of ms). With reconnectRate 1 the client instead closes after
 * each response and connects anew, but autocannon 8 does not count the
 * response that triggers a reconnect; this hook counts it (status, bytes,
 * time from the request's write, the connect included) before the
 * reconnect. The HTTP phase checks the count against the server's.
 */
function onePerConnection(client) {
  const queue = client.pipelinedRequests;
  const terminate = queue.terminateRequest.bind(queue);
  let done;
  queue.terminateRequest = () => (done = terminate());
  const reset = client._resetConnection;
  client._resetConnection = function resetCounted() {
    if (done) this.emit('response', done.headers.statusCode, done.bytes, done.duration, this.rate);
    done = undefined;
    return reset.call(this);
  };
}

/** One autocannon run against 127.0.0.1:`port`. */
function run({ port, seconds, connections, close }) {
  return new Promise((resolve, reject) => {
    autocannon({
      url: `http://127.0.0.1:${port}/`,
      connections,
      duration: seconds,
      ...(close ? { headers: { connection: 'close' }, reconnectRate: 1, setupClient: onePerConnection } : {}),
    }, (err, r) => {
      if (err) reject(err);
      else resolve(r);
    });
  });
}

let busy = Promise.resolve();
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.cmd === 'exit') process.exit(0);
  if (cmd.cmd !== 'run') return;
  busy = busy.then(async () => {
    try {
      const r = await run(cmd);
      send({
        type: 'run', requests: r.requests.total, seconds: r.duration, rps: r.requests.total / r.duration,
        p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99,
        errors: r.errors, timeouts: r.timeouts, non2xx: r.non2xx,
      });
    } catch (err) {
      send({ type: 'error', where: 'autocannon', message: err.message });
    }
  });
}).on('close', () => process.exit(0));
send({ type: 'ready', pid: process.pid });
