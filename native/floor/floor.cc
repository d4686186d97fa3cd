// The per-call floor for `npm run bench`: the getsockopt(2) calls that
// isMptcp(), getInfo() and getSubflows() make, issued bare from C++ on an
// established MPTCP loopback connection of its own (one subflow, as the
// bench's JavaScript connection), with the same buffers and sizes the addon
// passes (native/sockopt.cc, native/mptcp_abi.h). Built with the addon
// (binding.gyp target mptcp_floor, build/Release/mptcp_floor; not part of
// the addon itself).
//
//   mptcp_floor WARM BATCHES PER
//
// Prints one JSON line: ns per call for each timed batch, per call kind.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../mptcp_abi.h"

namespace {

using mptcp_abi::FullInfoHead;

int Fail(const char* what) {
  std::fprintf(stderr, "mptcp_floor: %s: %s\n", what, std::strerror(errno));
  return 1;
}

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

int IsMptcp(int fd) {
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(fd, mptcp_abi::kSolTcp, mptcp_abi::kTcpIsMptcp, &value, &len) < 0) return -errno;
  return value;
}

uint8_t info_buf[mptcp_abi::kMptcpInfoSize];

int Info(int fd) {
  socklen_t len = sizeof(info_buf);
  if (getsockopt(fd, mptcp_abi::kSolMptcp, mptcp_abi::kMptcpInfo, info_buf, &len) < 0) return -errno;
  return static_cast<int>(len);
}

// The library's MPTCP_FULL_INFO buffer: head, mptcp_info, then room for 4
// subflows (lib/info.ts starts at capacity 4).
constexpr uint32_t kCap = 4;
constexpr size_t kHead = sizeof(FullInfoHead) + mptcp_abi::kMptcpInfoSize;
std::vector<uint8_t> full_buf(kHead + kCap * (mptcp_abi::kSubflowInfoSize + mptcp_abi::kTcpInfoSize));

int FullInfo(int fd) {
  uint8_t* data = full_buf.data();
  FullInfoHead h{};
  h.size_tcpinfo_user = mptcp_abi::kTcpInfoSize;
  h.size_sfinfo_user = mptcp_abi::kSubflowInfoSize;
  h.size_arrays_user = kCap;
  h.subflow_info = reinterpret_cast<uintptr_t>(data + kHead);
  h.tcp_info = reinterpret_cast<uintptr_t>(data + kHead + kCap * mptcp_abi::kSubflowInfoSize);
  std::memcpy(data, &h, sizeof(h));
  socklen_t len = static_cast<socklen_t>(kHead);
  if (getsockopt(fd, mptcp_abi::kSolMptcp, mptcp_abi::kMptcpFullInfo, data, &len) < 0) return -errno;
  return static_cast<int>(len);
}

template <typename F>
void Time(const char* name, F call, int fd, long warm, long batches, long per, bool last) {
  long sink = 0;
  for (long i = 0; i < warm; i++) sink += call(fd);
  std::printf("\"%s\":[", name);
  for (long b = 0; b < batches; b++) {
    uint64_t t0 = NowNs();
    for (long i = 0; i < per; i++) sink += call(fd);
    double ns = static_cast<double>(NowNs() - t0) / static_cast<double>(per);
    std::printf("%s%.2f", b ? "," : "", ns);
  }
  std::printf("]%s", last ? "" : ",");
  if (sink == 42) std::fprintf(stderr, " ");  // keeps the calls from being optimized out
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: mptcp_floor WARM BATCHES PER\n");
    return 2;
  }
  long warm = std::atol(argv[1]), batches = std::atol(argv[2]), per = std::atol(argv[3]);
  if (warm < 0 || batches < 1 || per < 1) {
    std::fprintf(stderr, "mptcp_floor: WARM >= 0, BATCHES >= 1, PER >= 1\n");
    return 2;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof(addr);
  int lfd = socket(AF_INET, SOCK_STREAM, mptcp_abi::kIpprotoMptcp);
  if (lfd < 0) return Fail("socket");
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) return Fail("bind");
  if (listen(lfd, 1) < 0) return Fail("listen");
  if (getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &alen) < 0) return Fail("getsockname");
  int cfd = socket(AF_INET, SOCK_STREAM, mptcp_abi::kIpprotoMptcp);
  if (cfd < 0) return Fail("socket");
  if (connect(cfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) return Fail("connect");
  int afd = accept(lfd, nullptr, nullptr);
  if (afd < 0) return Fail("accept");
  // One byte each way, as the bench's connection has carried data.
  char c = 'x';
  if (write(cfd, &c, 1) != 1 || read(afd, &c, 1) != 1 || write(afd, &c, 1) != 1 || read(cfd, &c, 1) != 1)
    return Fail("echo");
  if (IsMptcp(cfd) != 1) {
    std::fprintf(stderr, "mptcp_floor: the connection is not MPTCP\n");
    return 1;
  }
  if (Info(cfd) < 16 || FullInfo(cfd) < 0) return Fail("getsockopt");
  std::printf("{\"mptcp\":true,\"subflows\":%u,\"ns\":{",
              reinterpret_cast<FullInfoHead*>(full_buf.data())->num_subflows);
  Time("isMptcp", IsMptcp, cfd, warm, batches, per, false);
  Time("getInfo", Info, cfd, warm, batches, per, false);
  Time("getSubflows", FullInfo, cfd, warm, batches, per, true);
  std::printf("}}\n");
  close(afd);
  close(cfd);
  close(lfd);
  return 0;
}
