// getsockopt(2) readers for the SOL_MPTCP options. They copy what the kernel
// returns into a caller-provided Uint8Array and report how many bytes the
// kernel wrote, so TypeScript can decode exactly the fields this kernel
// filled (a field past the returned length is absent, never 0). The caller
// reuses its buffer between calls, which keeps a read allocation-free.
// Size negotiation: kernel-abi.md section 4; include/uapi/linux/mptcp.h.
#include "binding.h"

#if defined(__linux__)

#include <cerrno>
#include <cstring>
#include <sys/socket.h>

#include "mptcp_abi.h"

namespace mptcp_node {
namespace {

bool BufferArg(const Napi::CallbackInfo& info, size_t i, uint8_t** data, size_t* len) {
  if (info.Length() <= i || !info[i].IsTypedArray()) {
    Napi::TypeError::New(info.Env(), "mptcp binding: expected a Uint8Array").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Uint8Array a = info[i].As<Napi::Uint8Array>();
  *data = a.Data();
  *len = a.ByteLength();
  return true;
}

// mptcpInfo(fd, buf) -> bytes written | -errno
Napi::Value MptcpInfo(const Napi::CallbackInfo& info) {
  uint8_t* data;
  size_t len;
  int fd = ArgInt(info, 0);
  if (info.Env().IsExceptionPending() || !BufferArg(info, 1, &data, &len)) return info.Env().Undefined();
  socklen_t optlen = static_cast<socklen_t>(len);
  if (getsockopt(fd, mptcp_abi::kSolMptcp, mptcp_abi::kMptcpInfo, data, &optlen) < 0)
    return Napi::Number::New(info.Env(), -errno);
  return Napi::Number::New(info.Env(), optlen);
}

// subflowData(fd, optname, elemSize, buf) -> bytes written | -errno.
// For MPTCP_TCPINFO and MPTCP_SUBFLOW_ADDRS: a 16-byte mptcp_subflow_data
// header at buf[0], elements from byte 16 at the stride the kernel reports
// back in size_user.
Napi::Value SubflowData(const Napi::CallbackInfo& info) {
  uint8_t* data;
  size_t len;
  int fd = ArgInt(info, 0);
  int optname = ArgInt(info, 1);
  int elem = ArgInt(info, 2);
  if (info.Env().IsExceptionPending() || !BufferArg(info, 3, &data, &len)) return info.Env().Undefined();
  if (len < sizeof(mptcp_abi::SubflowData) || elem <= 0) return Napi::Number::New(info.Env(), -EINVAL);
  mptcp_abi::SubflowData head{};
  head.size_subflow_data = sizeof(head);
  head.size_user = static_cast<uint32_t>(elem);
  std::memcpy(data, &head, sizeof(head));
  socklen_t optlen = static_cast<socklen_t>(len);
  if (getsockopt(fd, mptcp_abi::kSolMptcp, optname, data, &optlen) < 0)
    return Napi::Number::New(info.Env(), -errno);
  return Napi::Number::New(info.Env(), optlen);
}

// fullInfo(fd, buf, capacity) -> bytes of head + mptcp_info written | -errno.
// Layout of buf: [0, 40) mptcp_full_info head as the kernel wrote it back,
// [40, 136) mptcp_info, then `capacity` mptcp_subflow_info entries, then
// `capacity` tcp_info entries. num_subflows (offset 16) is the real count:
// when it exceeds capacity the caller retries with a larger buffer.
Napi::Value FullInfo(const Napi::CallbackInfo& info) {
  uint8_t* data;
  size_t len;
  int fd = ArgInt(info, 0);
  if (info.Env().IsExceptionPending() || !BufferArg(info, 1, &data, &len)) return info.Env().Undefined();
  int capacity = ArgInt(info, 2);
  const size_t head = sizeof(mptcp_abi::FullInfoHead) + mptcp_abi::kMptcpInfoSize;
  const size_t sf_bytes = static_cast<size_t>(capacity) * mptcp_abi::kSubflowInfoSize;
  const size_t tcp_bytes = static_cast<size_t>(capacity) * mptcp_abi::kTcpInfoSize;
  if (capacity < 0 || len < head + sf_bytes + tcp_bytes) return Napi::Number::New(info.Env(), -EINVAL);

  mptcp_abi::FullInfoHead h{};
  h.size_tcpinfo_user = mptcp_abi::kTcpInfoSize;
  h.size_sfinfo_user = mptcp_abi::kSubflowInfoSize;
  h.size_arrays_user = static_cast<uint32_t>(capacity);
  h.subflow_info = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data + head));
  h.tcp_info = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data + head + sf_bytes));
  std::memcpy(data, &h, sizeof(h));
  socklen_t optlen = static_cast<socklen_t>(head);
  if (getsockopt(fd, mptcp_abi::kSolMptcp, mptcp_abi::kMptcpFullInfo, data, &optlen) < 0)
    return Napi::Number::New(info.Env(), -errno);
  return Napi::Number::New(info.Env(), optlen);
}

}  // namespace

void InitSockopt(Napi::Env env, Napi::Object exports) {
  exports.Set("mptcpInfo", Napi::Function::New(env, MptcpInfo, "mptcpInfo"));
  exports.Set("subflowData", Napi::Function::New(env, SubflowData, "subflowData"));
  exports.Set("fullInfo", Napi::Function::New(env, FullInfo, "fullInfo"));
  Napi::Object sizes = Napi::Object::New(env);
  sizes.Set("fullInfoHead", static_cast<uint32_t>(sizeof(mptcp_abi::FullInfoHead)));
  sizes.Set("mptcpInfo", mptcp_abi::kMptcpInfoSize);
  sizes.Set("tcpInfo", mptcp_abi::kTcpInfoSize);
  sizes.Set("subflowAddrs", mptcp_abi::kSubflowAddrsSize);
  sizes.Set("subflowInfo", mptcp_abi::kSubflowInfoSize);
  exports.Set("sizes", sizes);
}

}  // namespace mptcp_node

#else

namespace mptcp_node {
void InitSockopt(Napi::Env, Napi::Object) {}
}  // namespace mptcp_node

#endif
