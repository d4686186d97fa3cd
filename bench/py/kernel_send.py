# The lab benchmark's kernel baseline, sending side (bench/lab/kernel.mjs runs
# it in the client namespace): python3 kernel_send.py HOST PORT SECONDS.
# Writes 256 KiB buffers on a raw MPTCP socket for the given seconds, then
# half-closes and waits for the sink to close. Prints one JSON line with
# MPTCP_INFO's mptcpi_subflows (extra subflows) read just before the half-close.
import json, socket, sys, time
host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
s.connect((host, port))
b = bytes(256 * 1024)
n = 0
end = time.monotonic() + secs
while time.monotonic() < end:
    n += s.send(b)
extra = None
try:
    extra = s.getsockopt(284, 1, 96)[0]
except OSError:
    pass
is_mp = s.getsockopt(6, 43)
s.shutdown(socket.SHUT_WR)
s.recv(1)
s.close()
print(json.dumps({"bytes": n, "isMptcp": bool(is_mp), "extraSubflows": extra}))
