// A netlink socket whose reads run on Node's own event loop: a uv_poll_t
// watches the descriptor for readability, and each datagram is handed to a
// JavaScript callback as a fresh Buffer. No thread, no blocking call: the
// descriptor is non-blocking and every recv uses MSG_DONTWAIT.
//
// Message building and parsing live in TypeScript (lib/netlink.ts), which
// validates every length; this file only moves bytes and reports errnos.
// Man pages: netlink(7), genetlink; libuv uv_poll_t.
#include "binding.h"

#if defined(__linux__)

#include <linux/netlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "loop.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

namespace mptcp_node {
namespace {

// Generic netlink messages of the path manager are small; a dump part is at
// most one page-sized skb per recv. 64 KiB plus MSG_TRUNC detection covers it.
constexpr size_t kRecvBuffer = 64 * 1024;

class NetlinkSocket : public Napi::ObjectWrap<NetlinkSocket>, public Poll::Owner {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NetlinkSocket",
                       {
                           InstanceMethod("open", &NetlinkSocket::Open),
                           InstanceMethod("send", &NetlinkSocket::Send),
                           InstanceMethod("addMembership", &NetlinkSocket::AddMembership),
                           InstanceMethod("dropMembership", &NetlinkSocket::DropMembership),
                           InstanceMethod("start", &NetlinkSocket::Start),
                           InstanceMethod("stop", &NetlinkSocket::StopJs),
                           InstanceMethod("close", &NetlinkSocket::CloseJs),
                           InstanceMethod("ref", &NetlinkSocket::RefJs),
                           InstanceMethod("unref", &NetlinkSocket::UnrefJs),
                           InstanceMethod("setReceiveBuffer", &NetlinkSocket::SetReceiveBuffer),
                           InstanceAccessor("portId", &NetlinkSocket::PortId, nullptr),
                           InstanceAccessor("fd", &NetlinkSocket::Fd, nullptr),
                           InstanceAccessor("failedSyscall", &NetlinkSocket::FailedSyscall, nullptr),
                       });
  }

  // new NetlinkSocket(onMessage(buffer | null, errno)); then open(protocol).
  explicit NetlinkSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "mptcp binding: expected a callback").ThrowAsJavaScriptException();
      return;
    }
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
  }

  ~NetlinkSocket() override { Release(false); }

 private:
  // open(protocol) -> 0 | -errno: socket(2), bind(2) to a kernel-chosen port
  // id, getsockname(2). On failure nothing is left open and `failedSyscall`
  // names the call that failed.
  Napi::Value Open(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int protocol = ArgInt(info, 0);
    if (env.IsExceptionPending()) return env.Undefined();
    if (fd_ >= 0) return Napi::Number::New(env, -EISCONN);
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0) return Fail(env, errno, "socket");
    int one = 1;
    // Extended acks carry the kernel's error strings; capped acks do not echo
    // the request back. Both are best effort (old kernels lack them).
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    sockaddr_nl addr{};
    addr.nl_family = AF_NETLINK;
    socklen_t len = sizeof(addr);
    const char* failed = nullptr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) {
      failed = "bind";
    } else if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
      failed = "getsockname";
    }
    if (failed != nullptr) {
      int err = errno;
      close(fd);
      return Fail(env, err, failed);
    }
    fd_ = fd;
    port_id_ = addr.nl_pid;
    context_ = std::make_unique<Napi::AsyncContext>(env, "MPTCPNETLINK", Value());
    buffer_.resize(kRecvBuffer);
    napi_add_env_cleanup_hook(env, OnEnvCleanup, this);
    cleanup_removed_ = false;
    return Napi::Number::New(env, 0);
  }

  Napi::Value Fail(Napi::Env env, int err, const char* syscall) {
    failed_syscall_ = syscall;
    return Napi::Number::New(env, -err);
  }

  Napi::Value FailedSyscall(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), failed_syscall_); }

  // send(Uint8Array) -> bytes sent | -errno. The destination is the kernel.
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) return Napi::Number::New(env, -EBADF);
    if (info.Length() < 1 || !info[0].IsTypedArray()) {
      Napi::TypeError::New(env, "mptcp binding: expected a Uint8Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint8Array buf = info[0].As<Napi::Uint8Array>();
    sockaddr_nl to{};
    to.nl_family = AF_NETLINK;
    ssize_t n;
    do {
      n = sendto(fd_, buf.Data(), buf.ByteLength(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    } while (n < 0 && errno == EINTR);
    return Napi::Number::New(env, n < 0 ? -errno : static_cast<double>(n));
  }

  Napi::Value Membership(const Napi::CallbackInfo& info, int op) {
    Napi::Env env = info.Env();
    int group = ArgInt(info, 0);
    if (env.IsExceptionPending()) return env.Undefined();
    if (fd_ < 0) return Napi::Number::New(env, -EBADF);
    int rc = setsockopt(fd_, SOL_NETLINK, op, &group, sizeof(group));
    return Napi::Number::New(env, rc < 0 ? -errno : 0);
  }
  Napi::Value AddMembership(const Napi::CallbackInfo& info) { return Membership(info, NETLINK_ADD_MEMBERSHIP); }
  Napi::Value DropMembership(const Napi::CallbackInfo& info) { return Membership(info, NETLINK_DROP_MEMBERSHIP); }

  // start() -> 0 | -errno: begin delivering datagrams to the callback.
  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) return Napi::Number::New(env, -EBADF);
    if (poll_ != nullptr) return Napi::Number::New(env, 0);
    int rc = 0;
    poll_ = Poll::Start(env, fd_, UV_READABLE, this, &rc);
    if (poll_ == nullptr) return Napi::Number::New(env, rc);
    if (!referenced_) poll_->Unref();
    Ref();  // alive while polling, even if JavaScript drops it
    return Napi::Number::New(env, 0);
  }

  // setReceiveBuffer(bytes) -> the size the kernel now uses | -errno.
  // SO_RCVBUFFORCE (CAP_NET_ADMIN) goes past net.core.rmem_max, as
  // `ip monitor` does; without the capability SO_RCVBUF is capped by it.
  Napi::Value SetReceiveBuffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int bytes = ArgInt(info, 0);
    if (env.IsExceptionPending()) return env.Undefined();
    if (fd_ < 0) return Napi::Number::New(env, -EBADF);
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0 &&
        setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0) {
      return Napi::Number::New(env, -errno);
    }
    int actual = 0;
    socklen_t len = sizeof(actual);
    if (getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &actual, &len) < 0) return Napi::Number::New(env, -errno);
    return Napi::Number::New(env, actual);
  }

  void OnPoll(int status, int /*events*/) override {
    napi_env env = Env();
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    Drain(env, status);
    napi_close_handle_scope(env, scope);
  }

  // Returns false once the callback threw or JavaScript cannot run.
  bool Drain(napi_env env, int status) {
    if (status < 0) {
      // libuv stops the poll on POLLERR. On a netlink socket that is an
      // overrun: the kernel dropped messages and set sk_err = ENOBUFS.
      // Reading SO_ERROR clears it; the loss is reported and polling resumes,
      // so the socket keeps delivering.
      int err = 0;
      socklen_t len = sizeof(err);
      bool cleared = getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0;
      if (!cleared) err = -status;
      int rc = cleared && poll_ != nullptr ? poll_->Restart(UV_READABLE) : UV_EBADF;
      if (!Deliver(env, nullptr, 0, err)) return false;
      if (rc != 0) {
        if (err != -rc) return Deliver(env, nullptr, 0, -rc);
        return true;
      }
    }
    // Drain what is queued, a bounded number of datagrams per wakeup so one
    // busy socket cannot starve the loop.
    for (int i = 0; i < 64 && fd_ >= 0 && poll_ != nullptr; i++) {
      ssize_t n;
      do {
        n = recv(fd_, buffer_.data(), buffer_.size(), MSG_DONTWAIT | MSG_TRUNC);
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        const int err = errno;  // the callback below may change errno
        if (err == EAGAIN || err == EWOULDBLOCK) return true;
        // ENOBUFS: the kernel dropped messages (a multicast burst). Reported,
        // and reading goes on.
        if (!Deliver(env, nullptr, 0, err)) return false;
        if (err != ENOBUFS) return true;
        continue;
      }
      if (static_cast<size_t>(n) > buffer_.size()) {
        // Truncated: grow for next time and report the loss.
        buffer_.resize(static_cast<size_t>(n));
        if (!Deliver(env, nullptr, 0, EMSGSIZE)) return false;
        continue;
      }
      if (!Deliver(env, buffer_.data(), static_cast<size_t>(n), 0)) return false;
    }
    return true;
  }

  // Hands one datagram (or an errno) to the callback; C Node-API only (see
  // loop.h). False if the callback threw or JavaScript cannot run.
  bool Deliver(napi_env env, const uint8_t* data, size_t len, int err) {
    if (callback_.IsEmpty() || !context_) return false;
    napi_value args[2];
    if (data != nullptr) {
      void* copy = nullptr;
      if (napi_create_buffer_copy(env, len, data, &copy, &args[0]) != napi_ok) return false;
    } else if (napi_get_null(env, &args[0]) != napi_ok) {
      return false;
    }
    if (napi_create_int32(env, err, &args[1]) != napi_ok) return false;
    return CallFromLoop(env, *context_, *this, callback_, 2, args);
  }

  // The environment is going away: the poll closes by itself; the
  // descriptor is closed here, and no JavaScript runs.
  void OnTeardown() override {
    poll_ = nullptr;
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  Napi::Value StopJs(const Napi::CallbackInfo& info) {
    StopPoll();
    return info.Env().Undefined();
  }

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    Release(true);
    return info.Env().Undefined();
  }

  Napi::Value RefJs(const Napi::CallbackInfo& info) {
    referenced_ = true;
    if (poll_ != nullptr) poll_->Ref();
    return info.Env().Undefined();
  }

  Napi::Value UnrefJs(const Napi::CallbackInfo& info) {
    referenced_ = false;
    if (poll_ != nullptr) poll_->Unref();
    return info.Env().Undefined();
  }

  Napi::Value PortId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), port_id_); }
  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  void StopPoll() {
    if (poll_ == nullptr) return;
    ClosePoll();
    Unref();
  }

  void ClosePoll() {
    poll_->Close();
    poll_ = nullptr;
  }

  // Stops polling and closes the descriptor; idempotent. From JavaScript
  // (close) or from the destructor / env teardown (no JavaScript then).
  void Release(bool fromJs) {
    if (poll_ != nullptr) {
      if (fromJs)
        StopPoll();
      else
        ClosePoll();
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
    if (!cleanup_removed_) {
      cleanup_removed_ = true;
      napi_remove_env_cleanup_hook(Env(), OnEnvCleanup, this);
    }
    if (fromJs) {
      callback_.Reset();
      context_.reset();
    }
  }

  static void OnEnvCleanup(void* arg) {
    NetlinkSocket* self = static_cast<NetlinkSocket*>(arg);
    self->cleanup_removed_ = true;  // the hook is being run; do not remove it
    if (self->poll_ != nullptr) self->ClosePoll();
    if (self->fd_ >= 0) {
      close(self->fd_);
      self->fd_ = -1;
    }
  }

  int fd_ = -1;
  uint32_t port_id_ = 0;
  const char* failed_syscall_ = "";
  bool referenced_ = true;
  bool cleanup_removed_ = true;  // no hook registered yet
  Poll* poll_ = nullptr;
  std::vector<uint8_t> buffer_;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

// ifNameToIndex(name) -> index | -errno, in the calling thread's network
// namespace (if_nametoindex(3)); ifIndexToName(index) -> name | -errno.
Napi::Value IfNameToIndex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "mptcp binding: expected a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.empty() || name.size() >= IF_NAMESIZE || name.find('\0') != std::string::npos)
    return Napi::Number::New(env, -ENODEV);
  unsigned idx = if_nametoindex(name.c_str());
  return Napi::Number::New(env, idx == 0 ? -errno : static_cast<double>(idx));
}

Napi::Value IfIndexToName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int idx = ArgInt(info, 0);
  if (env.IsExceptionPending()) return env.Undefined();
  char name[IF_NAMESIZE] = {0};
  if (idx <= 0 || if_indextoname(static_cast<unsigned>(idx), name) == nullptr)
    return Napi::Number::New(env, idx <= 0 ? -ENXIO : -errno);
  return Napi::String::New(env, name);
}

}  // namespace

void InitNetlink(Napi::Env env, Napi::Object exports) {
  exports.Set("NetlinkSocket", NetlinkSocket::Define(env));
  exports.Set("ifNameToIndex", Napi::Function::New(env, IfNameToIndex, "ifNameToIndex"));
  exports.Set("ifIndexToName", Napi::Function::New(env, IfIndexToName, "ifIndexToName"));
  exports.Set("NETLINK_GENERIC", Napi::Number::New(env, NETLINK_GENERIC));
  exports.Set("NETLINK_SOCK_DIAG", Napi::Number::New(env, NETLINK_SOCK_DIAG));
}

}  // namespace mptcp_node

#else

namespace mptcp_node {
void InitNetlink(Napi::Env, Napi::Object) {}
}  // namespace mptcp_node

#endif
