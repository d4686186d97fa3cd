// The library's whole MPTCP policy, in one place: the `mptcp` option every
// entry point takes, which socket(2) errnos mean "this kernel or namespace
// refuses MPTCP" (fall back, or fail in 'require' mode), the reason
// support() and refusal errors report for each, and the socket creation that
// applies it. support(), connect() and listen() all ask this module.
import { constants as os } from 'node:os';
import type { NativeBinding } from '../types/binding';
import { errInvalidArgValue, exceptionWithHostPort, type SystemError } from './errors';

/**
 * Why MPTCP sockets cannot be made here: `'disabled'` (net.mptcp.enabled=0),
 * `'unsupported'` (a kernel without MPTCP), `'platform'` (not Linux),
 * `'addon-unavailable'` (the native addon cannot be loaded), `'error'`
 * (socket(2) failed for another reason just now, e.g. EMFILE: see `code`).
 */
export type UnavailableReason = 'disabled' | 'unsupported' | 'platform' | 'addon-unavailable' | 'error';

/**
 * `true` (default): MPTCP, falling back to TCP when the kernel refuses MPTCP
 * sockets; `'require'`: MPTCP or an error; `false`: plain TCP.
 */
export type MptcpMode = boolean | 'require';

/** errnos of socket(2) that mean MPTCP is unavailable here (kernel-abi.md 2.1). */
const REFUSAL_ERRNOS = new Set<number>([os.errno.EINVAL, os.errno.EPROTONOSUPPORT, os.errno.ENOPROTOOPT]);

/** Whether a socket(2) errno means the kernel refuses MPTCP sockets. */
export function isRefusal(errno: number): boolean {
  return REFUSAL_ERRNOS.has(errno);
}

/** support()'s reason for a failed MPTCP socket(2). */
export function reasonForErrno(errno: number): UnavailableReason {
  if (errno === os.errno.ENOPROTOOPT) return 'disabled';
  return isRefusal(errno) ? 'unsupported' : 'error';
}

/** The reason when there is no addon to make MPTCP sockets with. */
export function reasonWithoutAddon(): UnavailableReason {
  return process.platform === 'linux' ? 'addon-unavailable' : 'platform';
}

/** Validates the `mptcp` option (undefined means true). */

export function validateMode(value: unknown, name: string): MptcpMode {
  if (value === undefined) return true;
  if (value === true || value === false || value === 'require') return value;
  throw errInvalidArgValue(name, value, "must be true, false or 'require'");
}

export interface OpenedSocket {
  /** The descriptor, or -1 on failure. */
  fd: number;
  /** Whether the descriptor is an IPPROTO_MPTCP socket. */
  mptcp: boolean;
  /** Positive errno on failure, 0 on success. */
  errno: number;
  /** True when the failure is MPTCP being refused in 'require' mode. */
  refused: boolean;
}

/** Creates a stream socket for `family` honouring `mode`. */
export function openStream(b: NativeBinding, family: 4 | 6, mode: MptcpMode): OpenedSocket {
  if (mode !== false) {
    const fd = b.socket(family, b.constants.IPPROTO_MPTCP);
    if (fd >= 0) return { fd, mptcp: true, errno: 0, refused: false };
    if (!isRefusal(-fd)) return { fd: -1, mptcp: false, errno: -fd, refused: false };
    if (mode === 'require') return { fd: -1, mptcp: false, errno: -fd, refused: true };
  }
  const fd = b.socket(family, b.constants.IPPROTO_TCP);
  if (fd >= 0) return { fd, mptcp: false, errno: 0, refused: false };
  return { fd: -1, mptcp: false, errno: -fd, refused: false };
}

/**
 * The error for MPTCP refused in 'require' mode. Shaped like net's system
 * errors, with syscall 'socket' and the support() reason.
 */
export function refusalError(errno: number, reason: string, address?: string, port?: number): SystemError & { reason: string } {
  const err = exceptionWithHostPort(errno, 'socket', address, port) as SystemError & { reason: string };
  err.message += ` (MPTCP required: ${reason})`;
  err.reason = reason;
  return err;
}
