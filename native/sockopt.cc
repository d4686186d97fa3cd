// getsockopt(2) readers for the SOL_MPTCP options. They copy what the kernel
// returns into a caller-provided Uint8Array and report how many bytes the
// kernel wrote, so TypeScript can decode exactly the fields this kernel
// filled (a field past the returned length is absent, never 0). The caller
// reuses its buffer between calls, which keeps a read allocation-free.
// Size negotiation: kernel-abi.md section 4; include/uapi/linux/mptcp.h.
#include "binding.h"

#if defined(__linux__)

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

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

// The two calls below run once per isMptcp()/getInfo(), so they use the
// plain Node-API C interface: one napi call per argument, no wrapper objects.
int32_t FastFd(napi_env env, napi_value v) {
  int32_t fd = -1;
  if (napi_get_value_int32(env, v, &fd) != napi_ok) return -1;
  return fd;
}

napi_value FastNumber(napi_env env, int32_t n) {
  napi_value out = nullptr;
  napi_create_int32(env, n, &out);
  return out;
}

// tcpIsMptcp(fd) -> 0 | 1 | -errno: getsockopt(SOL_TCP, TCP_IS_MPTCP).
napi_value TcpIsMptcp(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 1)
    return FastNumber(env, -EINVAL);
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(FastFd(env, argv[0]), mptcp_abi::kSolTcp, mptcp_abi::kTcpIsMptcp, &value, &len) < 0)
    return FastNumber(env, -errno);
  return FastNumber(env, value);
}

// mptcpInfo(fd, buf) -> bytes written | -errno: getsockopt(SOL_MPTCP, MPTCP_INFO).
napi_value MptcpInfo(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2)
    return FastNumber(env, -EINVAL);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, nullptr, "mptcp binding: expected a Uint8Array");
    return nullptr;
  }
  socklen_t optlen = static_cast<socklen_t>(length);
  if (getsockopt(FastFd(env, argv[0]), mptcp_abi::kSolMptcp, mptcp_abi::kMptcpInfo, data, &optlen) < 0)
    return FastNumber(env, -errno);
  return FastNumber(env, static_cast<int32_t>(optlen));
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
  if (getsockopt(fd, mptcp_abi::kSolMptcp, optname, data, &optlen) < 0) return Napi::Number::New(info.Env(), -errno);
  return Napi::Number::New(info.Env(), optlen);
}

constexpr size_t kFullHead = sizeof(mptcp_abi::FullInfoHead) + mptcp_abi::kMptcpInfoSize;

// The buffer MPTCP_FULL_INFO needs for `capacity` subflows (capacity >= 0).
size_t FullInfoBytes(int32_t capacity) {
  return kFullHead + static_cast<size_t>(capacity) * (mptcp_abi::kSubflowInfoSize + mptcp_abi::kTcpInfoSize);
}

// getsockopt(MPTCP_FULL_INFO) into `data` (FullInfoBytes(capacity) long):
// bytes of head + mptcp_info written, or -errno.
int32_t ReadFullInfo(int fd, uint8_t* data, int32_t capacity) {
  const size_t sf_bytes = static_cast<size_t>(capacity) * mptcp_abi::kSubflowInfoSize;
  mptcp_abi::FullInfoHead h{};
  h.size_tcpinfo_user = mptcp_abi::kTcpInfoSize;
  h.size_sfinfo_user = mptcp_abi::kSubflowInfoSize;
  h.size_arrays_user = static_cast<uint32_t>(capacity);
  h.subflow_info = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data + kFullHead));
  h.tcp_info = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data + kFullHead + sf_bytes));
  std::memcpy(data, &h, sizeof(h));
  socklen_t optlen = static_cast<socklen_t>(kFullHead);
  if (getsockopt(fd, mptcp_abi::kSolMptcp, mptcp_abi::kMptcpFullInfo, data, &optlen) < 0) return -errno;
  return static_cast<int32_t>(optlen);
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
  if (capacity < 0 || len < FullInfoBytes(capacity)) return Napi::Number::New(info.Env(), -EINVAL);

  return Napi::Number::New(info.Env(), ReadFullInfo(fd, data, capacity));
}

// --- Scratch-buffer readers: the per-call hot path of getInfo() and
// getSubflows(). The caller registers one ArrayBuffer per Node environment
// (setScratch) and each read lands at its start, so a call passes only the
// descriptor: no typed-array lookup per call. The state hangs off the
// functions' data pointer, so worker threads each have their own.
struct Scratch {
  uint8_t* data = nullptr;
  size_t len = 0;
  napi_ref ref = nullptr;
  napi_env env = nullptr;
};

void FreeScratch(void* arg) {
  Scratch* s = static_cast<Scratch*>(arg);
  if (s->ref) napi_delete_reference(s->env, s->ref);
  delete s;
}

// setScratch(arrayBuffer): the buffer later scratch reads write into.
napi_value SetScratch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void* raw = nullptr;
  bool is_ab = false;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &raw) != napi_ok || argc < 1 ||
      napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab) {
    napi_throw_type_error(env, nullptr, "mptcp binding: expected an ArrayBuffer");
    return nullptr;
  }
  Scratch* s = static_cast<Scratch*>(raw);
  void* data = nullptr;
  size_t len = 0;
  napi_ref ref = nullptr;
  if (napi_get_arraybuffer_info(env, argv[0], &data, &len) != napi_ok ||
      napi_create_reference(env, argv[0], 1, &ref) != napi_ok) {
    napi_throw_error(env, nullptr, "mptcp binding: cannot keep the scratch buffer");
    return nullptr;
  }
  if (s->ref) napi_delete_reference(env, s->ref);
  s->data = static_cast<uint8_t*>(data);
  s->len = len;
  s->ref = ref;
  return nullptr;
}

// Reads the descriptor argument and the environment's scratch buffer.
bool ScratchArgs(napi_env env, napi_callback_info info, size_t want, napi_value* argv, Scratch** s) {
  size_t argc = want;
  void* raw = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &raw) != napi_ok || argc < want) return false;
  *s = static_cast<Scratch*>(raw);
  return (*s)->data != nullptr;
}

// mptcpInfoScratch(fd) -> bytes written at the scratch buffer's start | -errno.
napi_value MptcpInfoScratch(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Scratch* s = nullptr;
  if (!ScratchArgs(env, info, 1, argv, &s)) return FastNumber(env, -EINVAL);
  socklen_t optlen = static_cast<socklen_t>(s->len < mptcp_abi::kMptcpInfoSize ? s->len : mptcp_abi::kMptcpInfoSize);
  if (getsockopt(FastFd(env, argv[0]), mptcp_abi::kSolMptcp, mptcp_abi::kMptcpInfo, s->data, &optlen) < 0)
    return FastNumber(env, -errno);
  return FastNumber(env, static_cast<int32_t>(optlen));
}

// fullInfoScratch(fd, capacity) -> as fullInfo, into the scratch buffer.
napi_value FullInfoScratch(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Scratch* s = nullptr;
  if (!ScratchArgs(env, info, 2, argv, &s)) return FastNumber(env, -EINVAL);
  int32_t capacity = FastFd(env, argv[1]);
  if (capacity < 0 || s->len < FullInfoBytes(capacity)) return FastNumber(env, -EINVAL);
  return FastNumber(env, ReadFullInfo(FastFd(env, argv[0]), s->data, capacity));
}

}  // namespace

void InitSockopt(Napi::Env env, Napi::Object exports) {
  napi_value fn;
  napi_create_function(env, "mptcpInfo", NAPI_AUTO_LENGTH, MptcpInfo, nullptr, &fn);
  exports.Set("mptcpInfo", Napi::Value(env, fn));
  napi_create_function(env, "tcpIsMptcp", NAPI_AUTO_LENGTH, TcpIsMptcp, nullptr, &fn);
  exports.Set("tcpIsMptcp", Napi::Value(env, fn));
  exports.Set("subflowData", Napi::Function::New(env, SubflowData, "subflowData"));
  exports.Set("fullInfo", Napi::Function::New(env, FullInfo, "fullInfo"));
  Scratch* scratch = new Scratch();
  scratch->env = env;
  napi_add_env_cleanup_hook(env, FreeScratch, scratch);
  napi_create_function(env, "setScratch", NAPI_AUTO_LENGTH, SetScratch, scratch, &fn);
  exports.Set("setScratch", Napi::Value(env, fn));
  napi_create_function(env, "mptcpInfoScratch", NAPI_AUTO_LENGTH, MptcpInfoScratch, scratch, &fn);
  exports.Set("mptcpInfoScratch", Napi::Value(env, fn));
  napi_create_function(env, "fullInfoScratch", NAPI_AUTO_LENGTH, FullInfoScratch, scratch, &fn);
  exports.Set("fullInfoScratch", Napi::Value(env, fn));
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
