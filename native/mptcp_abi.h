// Kernel ABI for Multipath TCP, defined here rather than taken from the build
// machine's headers: linux-libc-dev is often older than the kernel the addon
// runs on (6.1 headers lack TCP_IS_MPTCP, MPTCP_FULL_INFO and every
// mptcp_info field after csum_enabled). Layouts follow include/uapi/linux/mptcp.h
// of Linux 6.18; the version each item appeared in is noted beside it.
#ifndef MPTCP_NODE_ABI_H
#define MPTCP_NODE_ABI_H

#include <cstddef>
#include <cstdint>

namespace mptcp_abi {

constexpr int kIpprotoMptcp = 262;  // v5.6
constexpr int kSolMptcp = 284;      // kernel-internal, glibc >= 2.32
constexpr int kSolTcp = 6;
constexpr int kTcpIsMptcp = 43;  // v6.10, SOL_TCP

constexpr int kMptcpInfo = 1;          // v5.16
constexpr int kMptcpTcpInfo = 2;       // v5.16
constexpr int kMptcpSubflowAddrs = 3;  // v5.16
constexpr int kMptcpFullInfo = 4;      // v6.5

// struct mptcp_subflow_data (v5.16): header of MPTCP_TCPINFO and
// MPTCP_SUBFLOW_ADDRS; the element array starts at size_subflow_data.
struct SubflowData {
  uint32_t size_subflow_data;
  uint32_t num_subflows;
  uint32_t size_kernel;
  uint32_t size_user;
} __attribute__((aligned(8)));
static_assert(sizeof(SubflowData) == 16, "mptcp_subflow_data is 16 bytes");

// struct mptcp_full_info (v6.5). The mptcp_info tail is left as raw bytes:
// it is decoded in TypeScript, which knows which fields a given length holds.
struct FullInfoHead {
  uint32_t size_tcpinfo_kernel;
  uint32_t size_tcpinfo_user;
  uint32_t size_sfinfo_kernel;
  uint32_t size_sfinfo_user;
  uint32_t num_subflows;
  uint32_t size_arrays_user;
  uint64_t subflow_info;  // user pointer, zero-extended on 32-bit
  uint64_t tcp_info;      // user pointer
} __attribute__((aligned(8)));
static_assert(sizeof(FullInfoHead) == 40, "mptcp_full_info head is 40 bytes");
static_assert(offsetof(FullInfoHead, subflow_info) == 24, "layout");

// Element sizes this build asks for. The kernel clamps a larger request to its
// own size and reports the clamped size back; smaller kernels return less.
constexpr uint32_t kMptcpInfoSize = 96;      // 6.10+ (48 on 5.16, 80 on 6.5, 88 on 6.8)
constexpr uint32_t kTcpInfoSize = 280;       // 6.18 (232 on 6.1)
constexpr uint32_t kSubflowAddrsSize = 256;  // two 128-byte sockaddr unions
constexpr uint32_t kSubflowInfoSize = 264;   // u32 id, pad, mptcp_subflow_addrs

}  // namespace mptcp_abi

#endif
