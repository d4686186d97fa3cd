// The lab benchmark's kernel baseline: a Python 3 sender and sink on raw MPTCP
// sockets (bench/py/kernel_send.py, bench/py/kernel_sink.py), what the kernel
// alone achieves with no Node and no library in the way.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonLineChild } from '../child.mjs';
import { which } from '../common.mjs';

const PY = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'py');
const SINK = path.join(PY, 'kernel_sink.py');
const SEND = path.join(PY, 'kernel_send.py');

/**
 * The real Python 3 interpreter (not a pyenv shim: the sink's pid must be the
 * interpreter's, and shims cost startup time), if it can make an MPTCP socket.
 */
export function findPython() {
  const py = which('python3');
  if (!py) return { available: false, reason: 'python3 not found' };
  const r = spawnSync(py, ['-c', 'import sys,socket\nsocket.socket(2,1,262).close()\nprint(sys.executable)\nprint(sys.version.split()[0])'],
    { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return { available: false, reason: `python3 cannot open an MPTCP socket: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}` };
  const [exe, version] = r.stdout.trim().split('\n');
  return { available: true, path: exe || py, version };
}

/**
 * Starts the sink in the server namespace of a withLab() context (which stops
 * it: the sink exits when its stdin closes) and waits until it listens; its
 * `port` is set and next('received') gives each connection's figures.
 */
export async function startKernelSink(ctx, python) {
  const sink = new JsonLineChild('python sink', ['ip', 'netns', 'exec', ctx.lab.nsOf('server'), python, '-u', SINK],
    { stderrMax: 4096, tail: 2, graceMs: 1000 });
  ctx.extras.push(sink);
  sink.port = (await sink.next('listening', 20_000)).port;
  return sink;
}

/** Runs the sender in the client namespace for `seconds`: { bytes, isMptcp, extraSubflows }. */
export async function kernelSend(lab, python, host, port, seconds) {
  const r = await lab.exec('client', [python, SEND, host, String(port), String(seconds)], (seconds + 60) * 1000);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
