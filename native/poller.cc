// A native connection attempt: a descriptor the attempt owns, and completion
// of its non-blocking connect(2) reported on Node's own event loop: a one-shot
// writable uv_poll_t (no thread, no blocking call). When the poll fires,
// SO_ERROR is read and passed to the JavaScript callback (0 = connected);
// libuv's own status is only a hint, as it can report UV_EBADF for a socket
// that did connect. The winner is moved onto its final descriptor number.
// Man pages: connect(2) (EINPROGRESS), getsockopt(2) SO_ERROR, dup3(2);
// libuv uv_poll_t.
#include "binding.h"

#if defined(__linux__)

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "loop.h"

namespace mptcp_node {
namespace {

// new Attempt(fd): one connection attempt, which owns its descriptor from
// then on. The descriptor is closed by close(), by moveTo() (after it has been
// duplicated onto its final number), when the environment is torn down, or,
// as a last resort, when the object is collected. Nothing else may close it,
// and no other code decides ownership by comparing descriptor numbers.
class Attempt : public Napi::ObjectWrap<Attempt>, public Poll::Owner {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Attempt",
                       {
                           InstanceMethod("watch", &Attempt::Watch),
                           InstanceMethod("moveTo", &Attempt::MoveTo),
                           InstanceMethod("close", &Attempt::CloseJs),
                           InstanceMethod("detach", &Attempt::Detach),
                           InstanceAccessor("fd", &Attempt::Fd, nullptr),
                       });
  }

  explicit Attempt(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Attempt>(info) { fd_ = ArgInt(info, 0); }

  ~Attempt() override { Release(); }

 private:
  // watch(callback(errno)) -> 0 | libuv error: a one-shot writable poll; the
  // callback runs once with SO_ERROR (0 = connected) unless close() or
  // moveTo() comes first.
  Napi::Value Watch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "mptcp binding: expected a callback").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (fd_ < 0) return Napi::Number::New(env, UV_EBADF);
    if (poll_ != nullptr) return Napi::Number::New(env, UV_EALREADY);
    int rc = 0;
    poll_ = Poll::Start(env, fd_, UV_WRITABLE, this, &rc);
    if (poll_ == nullptr) return Napi::Number::New(env, rc);
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(env, "MPTCPCONNECTWRAP", Value());
    Ref();  // alive while the poll is active, even if JavaScript drops it
    return Napi::Number::New(env, 0);
  }

  // moveTo(target) -> 0 | -errno: dup3(2) the connected descriptor onto
  // `target` (a descriptor the caller's handle owns and has not polled yet),
  // then close this one. The attempt owns nothing afterwards, even on error.
  Napi::Value MoveTo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int target = ArgInt(info, 0);
    if (env.IsExceptionPending()) return env.Undefined();
    if (fd_ < 0) return Napi::Number::New(env, -EBADF);
    StopWatch();
    int rc;
    do {
      rc = dup3(fd_, target, O_CLOEXEC);
    } while (rc < 0 && errno == EINTR);
    int err = rc < 0 ? errno : 0;
    Release();
    return Napi::Number::New(env, -err);
  }

  // detach() -> the descriptor | -1: stops watching and hands the
  // descriptor to the caller, who owns it from then on (to open a TCP handle
  // on it); the attempt owns nothing afterwards.
  Napi::Value Detach(const Napi::CallbackInfo& info) {
    StopWatch();
    int fd = fd_;
    fd_ = -1;
    return Napi::Number::New(info.Env(), fd);
  }

  Napi::Value CloseJs(const Napi::CallbackInfo& info) {
    StopWatch();
    Release();
    return info.Env().Undefined();
  }

  Napi::Value Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  void OnPoll(int status, int /*events*/) override {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err == 0 && status < 0 && status != UV_EBADF) err = -status;
    Finish(err);
  }

  // The environment is going away: the poll is closing by itself; the
  // descriptor is closed here, and no JavaScript runs.
  void OnTeardown() override {
    poll_ = nullptr;
    Release();
  }

  // Calls back once with the connect result. Only the C Node-API is used
  // (see loop.h): any failure means JavaScript cannot run any more.
  void Finish(int err) {
    napi_env env = Env();
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value fn = nullptr;
    napi_value recv = nullptr;
    napi_value arg = nullptr;
    napi_get_reference_value(env, callback_, &fn);
    napi_get_reference_value(env, *this, &recv);
    std::unique_ptr<Napi::AsyncContext> ctx = std::move(context_);
    StopWatch();
    if (fn != nullptr && recv != nullptr && ctx && napi_create_int32(env, err, &arg) == napi_ok) {
      CallFromLoop(env, *ctx, recv, fn, 1, &arg);
    }
    napi_close_handle_scope(env, scope);
  }

  void StopWatch() {
    if (poll_ == nullptr) return;
    poll_->Close();
    poll_ = nullptr;
    callback_.Reset();
    Unref();
  }

  // Closes the descriptor (after the poll, if any, has been closed).
  void Release() {
    if (poll_ != nullptr) {
      poll_->Close();
      poll_ = nullptr;
    }
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
  }

  int fd_ = -1;
  Poll* poll_ = nullptr;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace

void InitPoller(Napi::Env env, Napi::Object exports) { exports.Set("Attempt", Attempt::Define(env)); }

}  // namespace mptcp_node

#else

namespace mptcp_node {
void InitPoller(Napi::Env, Napi::Object) {}
}  // namespace mptcp_node

#endif
