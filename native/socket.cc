// Socket syscalls for MPTCP (and, for fallback, plain TCP) descriptors:
// socket(2), setsockopt(2), bind(2), listen(2), connect(2), dup3(2), close(2).
// Every descriptor is made non-blocking and close-on-exec at creation, since
// it is handed to libuv, which expects non-blocking fds. Results are
// numbers: >= 0 on success, -errno on failure (see binding.h).
#include "binding.h"

#if defined(__linux__)

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "mptcp_abi.h"

namespace mptcp_node {
namespace {

// Fills a sockaddr from an IP literal; IPv6 literals may carry a zone
// ("fe80::1%eth0" or "%3"). Returns the address length, or 0 if unparsable.
socklen_t FillSockaddr(int family, const std::string& address, int port, sockaddr_storage* ss) {
  std::memset(ss, 0, sizeof(*ss));
  if (family == 4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, address.c_str(), &sin->sin_addr) != 1) return 0;
    return sizeof(sockaddr_in);
  }
  if (family == 6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    std::string host = address;
    size_t pct = host.find('%');
    if (pct != std::string::npos) {
      std::string zone = host.substr(pct + 1);
      host.resize(pct);
      unsigned idx = if_nametoindex(zone.c_str());
      if (idx == 0) {
        char* end = nullptr;
        unsigned long n = std::strtoul(zone.c_str(), &end, 10);
        if (zone.empty() || *end != '\0') return 0;
        idx = static_cast<unsigned>(n);
      }
      sin6->sin6_scope_id = idx;
    }
    if (inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) != 1) return 0;
    return sizeof(sockaddr_in6);
  }
  return 0;
}

int Family(int f) { return f == 6 ? AF_INET6 : AF_INET; }

bool ArgsOk(const Napi::CallbackInfo& info, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!info[i].IsNumber() && !info[i].IsString()) {
      Napi::TypeError::New(info.Env(), "mptcp binding: bad argument").ThrowAsJavaScriptException();
      return false;
    }
  }
  return true;
}

Napi::Value Result(Napi::Env env, int rc) { return Napi::Number::New(env, rc < 0 ? -errno : rc); }

// socket(family, protocol) -> fd | -errno
Napi::Value Socket(const Napi::CallbackInfo& info) {
  if (!ArgsOk(info, 2)) return info.Env().Undefined();
  int family = ArgInt(info, 0);
  int protocol = ArgInt(info, 1);
  int fd = socket(Family(family), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  return Result(info.Env(), fd);
}

// setsockopt(fd, level, name, intValue) -> 0 | -errno
Napi::Value SetSockoptInt(const Napi::CallbackInfo& info) {
  if (!ArgsOk(info, 4)) return info.Env().Undefined();
  int value = ArgInt(info, 3);
  int rc = setsockopt(ArgInt(info, 0), ArgInt(info, 1), ArgInt(info, 2), &value, sizeof(value));
  return Result(info.Env(), rc);
}

// getsockopt(fd, level, name) -> intValue (>= 0) | -errno
Napi::Value GetSockoptInt(const Napi::CallbackInfo& info) {
  if (!ArgsOk(info, 3)) return info.Env().Undefined();
  int value = 0;
  socklen_t len = sizeof(value);
  int rc = getsockopt(ArgInt(info, 0), ArgInt(info, 1), ArgInt(info, 2), &value, &len);
  if (rc < 0) return Napi::Number::New(info.Env(), -errno);
  return Napi::Number::New(info.Env(), value);
}

// bind(fd, family, address, port) / connect(fd, family, address, port)
// -> 0 | -errno; connect on a non-blocking socket normally gives -EINPROGRESS.
template <bool kConnect>
Napi::Value AddressCall(const Napi::CallbackInfo& info) {
  if (!ArgsOk(info, 4) || !info[2].IsString()) {
    if (!info.Env().IsExceptionPending())
      Napi::TypeError::New(info.Env(), "mptcp binding: bad address").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  sockaddr_storage ss;
  socklen_t len = FillSockaddr(ArgInt(info, 1), info[2].As<Napi::String>().Utf8Value(), ArgInt(info, 3), &ss);
  if (len == 0) return Napi::Number::New(info.Env(), -EINVAL);
  int fd = ArgInt(info, 0);
  int rc;
  if (kConnect) {
    do {
      rc = connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
    } while (rc < 0 && errno == EINTR);
  } else {
    rc = bind(fd, reinterpret_cast<sockaddr*>(&ss), len);
  }
  return Result(info.Env(), rc);
}

// listen(fd, backlog) -> 0 | -errno
Napi::Value Listen(const Napi::CallbackInfo& info) {
  if (!ArgsOk(info, 2)) return info.Env().Undefined();
  return Result(info.Env(), listen(ArgInt(info, 0), ArgInt(info, 1)));
}

// dup3(oldfd, newfd) -> newfd | -errno; the copy is close-on-exec.
Napi::Value Dup3(const Napi::CallbackInfo& info) {
  if (!ArgsOk(info, 2)) return info.Env().Undefined();
  return Result(info.Env(), dup3(ArgInt(info, 0), ArgInt(info, 1), O_CLOEXEC));
}

// close(fd) -> 0 | -errno. EINTR is not retried: on Linux the fd is gone.
Napi::Value Close(const Napi::CallbackInfo& info) {
  if (!ArgsOk(info, 1)) return info.Env().Undefined();
  return Result(info.Env(), close(ArgInt(info, 0)));
}

}  // namespace

void InitSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("socket", Napi::Function::New(env, Socket, "socket"));
  exports.Set("setsockoptInt", Napi::Function::New(env, SetSockoptInt, "setsockoptInt"));
  exports.Set("getsockoptInt", Napi::Function::New(env, GetSockoptInt, "getsockoptInt"));
  exports.Set("bind", Napi::Function::New(env, AddressCall<false>, "bind"));
  exports.Set("connect", Napi::Function::New(env, AddressCall<true>, "connect"));
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
  exports.Set("dup3", Napi::Function::New(env, Dup3, "dup3"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));

  Napi::Object c = Napi::Object::New(env);
  c.Set("IPPROTO_MPTCP", mptcp_abi::kIpprotoMptcp);
  c.Set("IPPROTO_TCP", static_cast<int>(IPPROTO_TCP));
  c.Set("SOL_SOCKET", static_cast<int>(SOL_SOCKET));
  c.Set("SOL_TCP", mptcp_abi::kSolTcp);
  c.Set("SOL_MPTCP", mptcp_abi::kSolMptcp);
  c.Set("IPPROTO_IPV6", static_cast<int>(IPPROTO_IPV6));
  c.Set("SO_REUSEADDR", static_cast<int>(SO_REUSEADDR));
  c.Set("SO_REUSEPORT", static_cast<int>(SO_REUSEPORT));
  c.Set("SO_PROTOCOL", static_cast<int>(SO_PROTOCOL));
  c.Set("SO_ERROR", static_cast<int>(SO_ERROR));
  c.Set("IPV6_V6ONLY", static_cast<int>(IPV6_V6ONLY));
  c.Set("TCP_IS_MPTCP", mptcp_abi::kTcpIsMptcp);
  c.Set("TCP_NODELAY", static_cast<int>(TCP_NODELAY));
  c.Set("SO_KEEPALIVE", static_cast<int>(SO_KEEPALIVE));
  c.Set("TCP_KEEPIDLE", static_cast<int>(TCP_KEEPIDLE));
  c.Set("TCP_KEEPINTVL", static_cast<int>(TCP_KEEPINTVL));
  c.Set("TCP_KEEPCNT", static_cast<int>(TCP_KEEPCNT));
  c.Set("MPTCP_INFO", mptcp_abi::kMptcpInfo);
  c.Set("MPTCP_TCPINFO", mptcp_abi::kMptcpTcpInfo);
  c.Set("MPTCP_SUBFLOW_ADDRS", mptcp_abi::kMptcpSubflowAddrs);
  c.Set("MPTCP_FULL_INFO", mptcp_abi::kMptcpFullInfo);
  c.Set("EINPROGRESS", EINPROGRESS);
  exports.Set("constants", c);
}

}  // namespace mptcp_node

#else  // !__linux__: the package installs everywhere; MPTCP is reported unavailable.

namespace mptcp_node {
void InitSocket(Napi::Env, Napi::Object) {}
}  // namespace mptcp_node

#endif
