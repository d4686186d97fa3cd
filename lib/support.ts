// support(): can MPTCP sockets be made here, and which read-out options does
// this kernel have. What cannot change while the process lives (platform,
// addon, kernel features) is probed once; whether MPTCP is enabled is a
// per-namespace sysctl that can change, so that part is probed on each call
// (one socket(2) + close(2)).
import * as util from 'node:util';
import { getBinding } from './binding';
import { reasonForErrno, reasonWithoutAddon, type UnavailableReason } from './policy';
import { activeScope, type Scope } from './scope';

export type { UnavailableReason } from './policy';

/** Kernel read-out features, probed on an MPTCP socket. */
export interface SupportFeatures {
  /** `TCP_IS_MPTCP` (Linux 6.10+): the cheap "is this connection MPTCP" check. */
  readonly tcpIsMptcp: boolean;
  /** `SOL_MPTCP` / `MPTCP_INFO` (Linux 5.16+). */
  readonly mptcpInfo: boolean;
  /** `MPTCP_FULL_INFO` (Linux 6.5+): one consistent snapshot of all subflows. */
  readonly fullInfo: boolean;
}

/** Result of {@link support}. */
export interface SupportInfo {
  /** Whether an MPTCP socket can be created in this process's network namespace now. */
  readonly available: boolean;
  /** Why not, or null when available. */
  readonly reason: UnavailableReason | null;
  /** The errno code behind `reason`, when there is one (e.g. `ENOPROTOOPT`). */
  readonly code?: string;
  /** Which read-out options this kernel has; all false when not known. */
  readonly features: SupportFeatures;
  /**
   * The process-wide switch (`--import mptcp/register` / `--require
   * mptcp/register`): the scope NODE_MPTCP gave it (`'servers'`,
   * `'clients'`, `'all'`, `'off'`), or null when it is not loaded.
   */
  readonly scope: Scope | null;
}

const NONE: SupportFeatures = Object.freeze({ tcpIsMptcp: false, mptcpInfo: false, fullInfo: false });
let features: SupportFeatures | undefined;

function probeFeatures(fd: number): SupportFeatures {
  const b = getBinding()!;
  const c = b.constants;
  const isMptcp = b.getsockoptInt(fd, c.SOL_TCP, c.TCP_IS_MPTCP);
  const buf = new Uint8Array(b.sizes.fullInfoHead + b.sizes.mptcpInfo);
  const info = b.mptcpInfo(fd, buf.subarray(0, 16));
  const full = b.fullInfo(fd, buf, 0);
  return Object.freeze({ tcpIsMptcp: isMptcp >= 0, mptcpInfo: info >= 0, fullInfo: full >= 0 });
}

/** Kernel features, probed once (null when no MPTCP socket could be made yet). */
export function getFeatures(): SupportFeatures | null {
  if (features) return features;
  const b = getBinding();
  if (!b) return null;
  const fd = b.socket(4, b.constants.IPPROTO_MPTCP);
  if (fd < 0) return null;
  try {
    features = probeFeatures(fd);
  } finally {
    b.close(fd);
  }
  return features;
}

/**
 * Whether Multipath TCP sockets can be made here, why not, and which kernel
 * read-out options exist.
 *
 * @example
 * const { available, reason } = mptcp.support();
 * if (!available) console.log(`MPTCP unavailable: ${reason}`);
 */
export function support(): SupportInfo {
  const b = getBinding();
  const scope = activeScope();
  if (!b) return { available: false, reason: reasonWithoutAddon(), features: NONE, scope };
  const fd = b.socket(4, b.constants.IPPROTO_MPTCP);
  if (fd >= 0) {
    try {
      features ??= probeFeatures(fd);
    } finally {
      b.close(fd);
    }
    return { available: true, reason: null, features, scope };
  }
  return { available: false, reason: reasonForErrno(-fd), code: util.getSystemErrorName(fd), features: features ?? NONE, scope };
}
