# The lab benchmark's kernel baseline, receiving side (bench/lab/kernel.mjs
# runs it in the server namespace): accepts MPTCP connections on raw sockets,
# prints one JSON line per connection (receiver-side timing, as the agent's
# sink does), and exits when its stdin closes, so it never outlives the
# benchmark.
import json, os, socket, sys, threading, time
def watchdog():
    sys.stdin.read()
    os._exit(0)
threading.Thread(target=watchdog, daemon=True).start()
ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", 0))
ls.listen(8)
print(json.dumps({"type": "listening", "port": ls.getsockname()[1]}), flush=True)
def rcv_mss(s):
    # MPTCP_TCPINFO (SOL_MPTCP 284, 2): tcp_info of every subflow; tcpi_rcv_mss
    # (offset 20) is the payload of the segments actually received.
    try:
        import ctypes, struct
        libc = ctypes.CDLL(None, use_errno=True)
        size = 16 + 8 * 232
        b = ctypes.create_string_buffer(size)
        struct.pack_into("IIII", b, 0, 16, 0, 0, 232)
        ln = ctypes.c_uint32(size)
        if libc.getsockopt(s.fileno(), 284, 2, b, ctypes.byref(ln)) != 0:
            return None
        _, num, _, su = struct.unpack_from("IIII", b.raw, 0)
        return [struct.unpack_from("I", b.raw, 16 + i * su + 20)[0] for i in range(min(num, 8))]
    except Exception:
        return None
buf = bytearray(1 << 20)
while True:
    s, peer = ls.accept()
    n = 0; first = last = 0.0; gap = 0.0; mss = None
    while True:
        k = s.recv_into(buf)
        if not k:
            break
        t = time.monotonic()
        if n == 0:
            first = t
        elif t - last > gap:
            gap = t - last
        last = t
        n += k
        if mss is None and t - first > 1.0:
            mss = rcv_mss(s) or []
    is_mp = s.getsockopt(6, 43)
    print(json.dumps({"type": "received", "bytes": n, "ms": (last - first) * 1000, "maxGapMs": gap * 1000,
                      "isMptcp": bool(is_mp), "peer": peer[0], "rcvMss": mss}), flush=True)
    s.close()
