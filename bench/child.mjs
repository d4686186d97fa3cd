// A child process that answers with one JSON object per line on stdout: the
// loopback benchmark's peers (bench/peer.mjs) and the lab's kernel-baseline
// sink (bench/py/kernel_sink.py). A line { type: 'error', where, message }
// fails whatever is being waited for.
import { spawn } from 'node:child_process';
import readline from 'node:readline';

export class JsonLineChild {
  /**
   * `name` names the child in errors; `cmd` is its argv. Options: stderrMax,
   * the characters of stderr kept; tail, the stderr lines quoted when it
   * exits; graceMs, how long stop() waits before SIGKILL; bye, the last line
   * stop() writes before closing stdin (none: just close it).
   */
  constructor(name, cmd, { stderrMax = Infinity, tail = 3, graceMs = 2000, bye } = {}) {
    this.name = name;
    this.graceMs = graceMs;
    this.bye = bye;
    this.child = spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.queue = [];
    this.waiters = [];
    this.stderr = '';
    this.exited = false;
    this.child.stderr.on('data', (d) => { this.stderr = (this.stderr + d).slice(-stderrMax); });
    this.child.on('exit', (code, sig) => {
      this.exited = true;
      const err = new Error(`${name} exited (${code ?? sig}): ${this.stderr.trim().split('\n').slice(-tail).join(' | ')}`);
      for (const w of this.waiters.splice(0)) w.reject(err);
    });
    this.child.on('error', (err) => { for (const w of this.waiters.splice(0)) w.reject(err); });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      let msg;
      try { msg = JSON.parse(line); } catch { return; }
      const i = this.waiters.findIndex((w) => w.type === msg.type || msg.type === 'error');
      if (i < 0) this.queue.push(msg);
      else if (msg.type === 'error') this.waiters.splice(i, 1)[0].reject(this.failure(msg));
      else this.waiters.splice(i, 1)[0].resolve(msg);
    });
  }

  failure(msg) {
    return new Error(`${this.name}: ${msg.where}: ${msg.message}`);
  }

  /** The next message of this type (queued or still to come). */
  next(type, timeoutMs = 60_000) {
    const i = this.queue.findIndex((q) => q.type === type || q.type === 'error');
    if (i >= 0) {
      const [msg] = this.queue.splice(i, 1);
      return msg.type === 'error' ? Promise.reject(this.failure(msg)) : Promise.resolve(msg);
    }
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited: ${this.stderr.trim()}`));
    return new Promise((resolve, reject) => {
      const w = { type };
      const timer = setTimeout(() => {
        const j = this.waiters.indexOf(w);
        if (j >= 0) this.waiters.splice(j, 1);
        reject(new Error(`${this.name}: timed out waiting for ${type}`));
      }, timeoutMs);
      w.resolve = (v) => { clearTimeout(timer); resolve(v); };
      w.reject = (e) => { clearTimeout(timer); reject(e); };
      this.waiters.push(w);
    });
  }

  /** Writes one command line and waits for the reply of `type`. */
  request(cmd, type, timeoutMs) {
    this.child.stdin.write(JSON.stringify(cmd) + '\n');
    return this.next(type, timeoutMs);
  }

  stop() {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.child.kill('SIGKILL'); }, this.graceMs);
      this.child.once('exit', () => { clearTimeout(t); resolve(); });
      try { this.child.stdin.end(this.bye); } catch { this.child.kill(); }
    });
  }
}
