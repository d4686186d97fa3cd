// mptcp.metrics: MPTCP metrics for Prometheus. register() adds collectors to
// a prom-client Registry (prom-client is an optional peer dependency, loaded
// only by register()); exposition() and createExporter() write the text
// format themselves (the `mptcp metrics` exporter). Both read through
// metrics-sample.ts, so the series and their values are the same.
import * as net from 'node:net';
import { errInvalidArgType, errInvalidArgValue } from './errors';
import {
  mibDescriptors, NAMESPACE_DESCRIPTORS, readMib, SharedSampler, SOCKET_DESCRIPTORS, type FamilyDescriptor, type Sample,
} from './metrics-sample';
import { validateInteger, validateObject, validateString } from './validators';

export { CONTENT_TYPE, createExporter, exposition } from './metrics-text';
export { SERIES, mibSeriesName } from './metrics-sample';

/** What register() needs of a prom-client `Registry` (prom-client 13 or later). */
export interface RegistryLike {
  registerMetric(metric: unknown): void;
  getSingleMetric(name: string): unknown;
  removeSingleMetric(name: string): void;
}

/** Options of {@link register}. */
export interface RegisterOptions {
  /** At most this many sockets are tracked (label values of the per-socket series); default 100. */
  maxTrackedSockets?: number;
}

/** Options of {@link MptcpMetrics.track}. */
export interface TrackOptions {
  /** The socket's `connection` label; default `LOCAL:PORT->REMOTE:PORT` once connected. Unique among tracked sockets. */
  name?: string;
}

/** The collectors register() added: per-socket tracking, and removal. */
export interface MptcpMetrics {
  /** The series names registered. */
  readonly names: readonly string[];
  /**
   * Adds the socket's series (`mptcp_socket_*{connection="..."}`) until it
   * closes. Returns false, and warns once, when `maxTrackedSockets` sockets
   * are tracked already; true when tracked (or already tracked).
   */
  track(socket: net.Socket, options?: TrackOptions | string): boolean;
  /** Stops tracking the socket; false if it was not tracked. */
  untrack(socket: net.Socket): boolean;
  /** The sockets tracked now. */
  readonly tracked: number;
  /** Removes every collector from the registry and stops tracking. */
  unregister(): void;
}

interface PromMetric {
  reset(): void;
  set?(labels: Record<string, string>, value: number): void;
  inc?(labels: Record<string, string>, value: number): void;
}
type MetricCtor = new (config: Record<string, unknown>) => PromMetric;

function loadPromClient(): { Gauge: MetricCtor; Counter: MetricCtor; register: RegistryLike } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('prom-client') as { Gauge: MetricCtor; Counter: MetricCtor; register: RegistryLike };
  } catch (err) {
    const e = new Error("mptcp.metrics.register() needs prom-client, an optional peer dependency: npm install prom-client") as Error & { code: string; cause: unknown };
    e.code = 'MODULE_NOT_FOUND';
    e.cause = err;
    throw e;
  }
}

function endpoints(s: net.Socket): string | undefined {
  if (!s.remoteAddress || !s.localAddress) return undefined;
  const host = (a: string): string => (a.includes(':') ? `[${a}]` : a);
  return `${host(s.localAddress)}:${s.localPort}->${host(s.remoteAddress)}:${s.remotePort}`;
}

/**
 * Adds MPTCP collectors to a prom-client `Registry` (default: prom-client's
 * global `register`): the kernel's MPTCP MIB counters of this network
 * namespace (`mptcp_mib_*_total`), its MPTCP connections, listeners and
 * subflows (gauges), and the per-socket series of the sockets passed to
 * `track()`. Everything is read at scrape time, once per scrape.
 *
 * @example
 * const client = require('prom-client');
 * const m = mptcp.metrics.register(new client.Registry());
 * server.on('connection', (s) => m.track(s));
 */
export function register(registry?: RegistryLike, options: RegisterOptions = {}): MptcpMetrics {
  validateObject(options, 'options');
  const max = options.maxTrackedSockets === undefined ? 100 : validateInteger(options.maxTrackedSockets, 'options.maxTrackedSockets', 0, 1_000_000);
  const prom = loadPromClient();
  const reg = registry ?? prom.register;
  if (reg === null || typeof reg !== 'object' || typeof reg.registerMetric !== 'function' ||
      typeof reg.getSingleMetric !== 'function' || typeof reg.removeSingleMetric !== 'function') {
    throw errInvalidArgType('registry', ['Registry'], reg);
  }
  const tracked = new Map<net.Socket, { name?: string; onClose: () => void }>();
  const sampler = new SharedSampler(function* () {
    for (const [s, t] of tracked) {
      const label = t.name ?? endpoints(s);
      if (label !== undefined) yield [label, s] as [string, net.Socket];
    }
  });
  const descriptors: FamilyDescriptor[] = [...mibDescriptors(readMib()?.keys() ?? []), ...NAMESPACE_DESCRIPTORS, ...SOCKET_DESCRIPTORS];
  const taken = descriptors.find((d) => reg.getSingleMetric(d.name) !== undefined);
  if (taken) throw errInvalidArgValue('registry', '[Registry]', `already has a metric named ${taken.name} (mptcp.metrics.register() called twice?)`);

  for (const d of descriptors) {
    const labelled = d.labelNames.length > 0;
    const fill = function (this: PromMetric, samples: Sample[]): void {
      // An unlabelled counter the kernel did not report this time keeps its value.
      if (!labelled && samples.length === 0) return;
      this.reset();
      for (const s of samples) {
        if (d.type === 'gauge') this.set!(s.labels, s.value);
        else this.inc!(s.labels, s.value);
      }
    };
    const Ctor = d.type === 'gauge' ? prom.Gauge : prom.Counter;
    new Ctor({
      name: d.name,
      help: d.help,
      labelNames: [...d.labelNames],
      registers: [reg],
      async collect(this: PromMetric) {
        fill.call(this, d.pick(await sampler.sample()));
      },
    });
  }

  let warned = false;
  const untrack = (socket: net.Socket): boolean => {
    const t = tracked.get(socket);
    if (!t) return false;
    socket.removeListener('close', t.onClose);
    tracked.delete(socket);
    return true;
  };
  return {
    names: descriptors.map((d) => d.name),
    get tracked() { return tracked.size; },
    track(socket, opts) {
      if (!(socket instanceof net.Socket)) throw errInvalidArgType('socket', ['net.Socket'], socket);
      const o = typeof opts === 'string' ? { name: opts } : validateObject(opts ?? {}, 'options') as TrackOptions;
      if (o.name !== undefined) validateString(o.name, 'options.name');
      if (tracked.has(socket)) return true;
      if (socket.destroyed) return false; // no 'close' to come: nothing to track
      if (o.name !== undefined && [...tracked.values()].some((t) => t.name === o.name)) {
        throw errInvalidArgValue('options.name', o.name, 'is the name of another tracked socket');
      }
      if (tracked.size >= max) {
        if (!warned) {
          warned = true;
          process.emitWarning(`${max} sockets are tracked already (maxTrackedSockets): further sockets get no per-socket series`,
            { type: 'MptcpMetricsWarning', code: 'MPTCP_METRICS_CARDINALITY' });
        }
        return false;
      }
      const onClose = (): void => { untrack(socket); };
      tracked.set(socket, { name: o.name, onClose });
      socket.once('close', onClose);
      return true;
    },
    untrack(socket) {
      return untrack(socket);
    },
    unregister() {
      for (const s of [...tracked.keys()]) untrack(s);
      for (const d of descriptors) reg.removeSingleMetric(d.name);
    },
  };
}
