/**
 * The native addon's interface (native/*.cc). Every call returns a number:
 * `>= 0` on success and `-errno` on failure; nothing throws for a runtime
 * failure. Argument validation is the TypeScript layer's job.
 */
export interface NativeConstants {
  readonly IPPROTO_MPTCP: number;
  readonly IPPROTO_TCP: number;
  readonly SOL_SOCKET: number;
  readonly SOL_TCP: number;
  readonly SOL_MPTCP: number;
  readonly IPPROTO_IPV6: number;
  readonly SO_REUSEADDR: number;
  readonly SO_REUSEPORT: number;
  readonly SO_PROTOCOL: number;
  readonly SO_ERROR: number;
  readonly IPV6_V6ONLY: number;
  readonly TCP_IS_MPTCP: number;
  readonly TCP_NODELAY: number;
  readonly SO_KEEPALIVE: number;
  readonly TCP_KEEPIDLE: number;
  readonly TCP_KEEPINTVL: number;
  readonly TCP_KEEPCNT: number;
  readonly MPTCP_INFO: number;
  readonly MPTCP_TCPINFO: number;
  readonly MPTCP_SUBFLOW_ADDRS: number;
  readonly MPTCP_FULL_INFO: number;
  readonly EINPROGRESS: number;
}

/** Element sizes this build requests from the kernel (bytes). */
export interface NativeSizes {
  readonly fullInfoHead: number;
  readonly mptcpInfo: number;
  readonly tcpInfo: number;
  readonly subflowAddrs: number;
  readonly subflowInfo: number;
}

/**
 * One connection attempt, which owns its descriptor from construction on:
 * closed by close(), by moveTo(), at environment teardown, or when collected.
 */
export interface NativeAttempt {
  /** The owned descriptor, -1 once closed or moved. */
  readonly fd: number;
  /** One-shot writable poll: calls back once with SO_ERROR (0 = connected). 0 or a (negative) libuv error. */
  watch(callback: (err: number) => void): number;
  /** dup3(2) onto `target`, then closes its own descriptor (even on error): 0 or -errno. */
  moveTo(target: number): number;
  /** Stops watching (no callback) and closes the descriptor; safe to call more than once. */
  close(): void;
  /** Stops watching (no callback) and hands over the descriptor, now the caller's: the descriptor, or -1 if none. */
  detach(): number;
}

/** A netlink socket polled on Node's loop (native/netlink.cc). */
export interface NativeNetlinkSocket {
  /** socket(2) + bind(2) + getsockname(2): 0 or -errno (then `failedSyscall` names the call). */
  open(protocol: number): number;
  /** The syscall that made open() fail. */
  readonly failedSyscall: string;
  /** sendto(2) to the kernel: bytes sent or -errno. */
  send(message: Uint8Array): number;
  addMembership(group: number): number;
  dropMembership(group: number): number;
  /** Starts delivering datagrams to the callback: 0 or -errno. */
  start(): number;
  stop(): void;
  /** SO_RCVBUFFORCE, else SO_RCVBUF: the size the kernel now uses, or -errno. */
  setReceiveBuffer(bytes: number): number;
  /** Stops and closes the descriptor; safe to call more than once. */
  close(): void;
  ref(): void;
  unref(): void;
  readonly portId: number;
  readonly fd: number;
}

export interface NativeBinding {
  /** false on systems without MPTCP support in the addon (non-Linux builds). */
  readonly platformSupported: boolean;
  readonly constants: NativeConstants;
  readonly sizes: NativeSizes;
  /** socket(2), non-blocking and close-on-exec: fd or -errno. `family` is 4 or 6. */
  socket(family: 4 | 6, protocol: number): number;
  setsockoptInt(fd: number, level: number, name: number, value: number): number;
  /** The option's int value (>= 0) or -errno. */
  getsockoptInt(fd: number, level: number, name: number): number;
  bind(fd: number, family: 4 | 6, address: string, port: number): number;
  /** 0, -EINPROGRESS, or -errno. */
  connect(fd: number, family: 4 | 6, address: string, port: number): number;
  listen(fd: number, backlog: number): number;
  dup3(oldFd: number, newFd: number): number;
  close(fd: number): number;
  /** getsockopt(SOL_TCP, TCP_IS_MPTCP): 0, 1 or -errno (hot path of isMptcp). */
  tcpIsMptcp(this: void, fd: number): number;
  /** getsockopt(SOL_MPTCP, MPTCP_INFO) into buf: bytes written or -errno. */
  mptcpInfo(this: void, fd: number, buf: Uint8Array): number;
  /** MPTCP_TCPINFO / MPTCP_SUBFLOW_ADDRS into buf (16-byte header first): bytes or -errno. */
  subflowData(fd: number, optname: number, elemSize: number, buf: Uint8Array): number;
  /** MPTCP_FULL_INFO into buf (see native/sockopt.cc for the layout): bytes or -errno. */
  fullInfo(fd: number, buf: Uint8Array, capacity: number): number;
  /**
   * Registers this environment's scratch buffer: mptcpInfoScratch and
   * fullInfoScratch write at its start (the per-call path of getInfo and
   * getSubflows passes only the descriptor).
   */
  setScratch(this: void, buf: ArrayBuffer): void;
  /** MPTCP_INFO into the scratch buffer: bytes written or -errno (-EINVAL without one). */
  mptcpInfoScratch(this: void, fd: number): number;
  /** MPTCP_FULL_INFO into the scratch buffer, laid out as fullInfo's: bytes or -errno (-EINVAL when it is too small). */
  fullInfoScratch(this: void, fd: number, capacity: number): number;
  /** Takes ownership of `fd`. */
  Attempt: new (fd: number) => NativeAttempt;
  /** A netlink socket, not open yet (see open()); never throws for a runtime failure. */
  NetlinkSocket: new (onMessage: (datagram: Buffer | null, errno: number) => void) => NativeNetlinkSocket;
  readonly NETLINK_GENERIC: number;
  readonly NETLINK_SOCK_DIAG: number;
  /** if_nametoindex(3) in the caller's network namespace: index or -errno. */
  ifNameToIndex(name: string): number;
  /** if_indextoname(3): the name, or -errno. */
  ifIndexToName(index: number): string | number;
}
