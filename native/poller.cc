// Completion of a non-blocking connect(2), reported on Node's own event loop:
// a one-shot writable uv_poll_t on the connecting descriptor (no thread, no
// blocking call). When the poll fires, SO_ERROR is read and passed to the
// JavaScript callback (0 = connected); libuv's own status is only a hint, as
// it can report UV_EBADF for a socket that did connect. The watcher never
// closes the descriptor: ownership stays with the TypeScript caller.
// Man pages: connect(2) (EINPROGRESS), getsockopt(2) SO_ERROR; libuv uv_poll_t.
#include "binding.h"

#if defined(__linux__)

#include <cerrno>
#include <memory>
#include <sys/socket.h>
#include <uv.h>

namespace mptcp_node {
namespace {

class Watcher : public Napi::ObjectWrap<Watcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Watcher", {InstanceMethod("stop", &Watcher::StopJs)});
  }

  // new Watcher(fd, callback(errno)); throws only on programming errors.
  explicit Watcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Watcher>(info) {
    Napi::Env env = info.Env();
    fd_ = ArgInt(info, 0);
    if (env.IsExceptionPending()) return;
    if (info.Length() < 2 || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "mptcp binding: expected a callback").ThrowAsJavaScriptException();
      return;
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "mptcp binding: no event loop").ThrowAsJavaScriptException();
      return;
    }
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    context_ = std::make_unique<Napi::AsyncContext>(env, "MPTCPCONNECTWRAP", Value());
    poll_ = new uv_poll_t;
    int rc = uv_poll_init(loop, poll_, fd_);
    if (rc != 0) {
      delete poll_;  // never initialised: nothing for libuv to close
      poll_ = nullptr;
    } else {
      poll_->data = this;
      rc = uv_poll_start(poll_, UV_WRITABLE, OnPoll);
      if (rc != 0) CloseHandle();
    }
    if (rc != 0) {
      // The caller still owns the fd and closes it.
      Napi::Error e = Napi::Error::New(env, uv_strerror(rc));
      e.Set("errno", Napi::Number::New(env, rc));
      e.Set("code", Napi::String::New(env, uv_err_name(rc)));
      e.ThrowAsJavaScriptException();
      return;
    }
    napi_add_env_cleanup_hook(env, OnEnvCleanup, this);
    Ref();  // alive while the poll is active, even if JavaScript drops it
  }

 private:
  static void OnPoll(uv_poll_t* handle, int status, int /*events*/) {
    Watcher* self = static_cast<Watcher*>(handle->data);
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err == 0 && status < 0 && status != UV_EBADF) err = -status;
    self->Finish(err);
  }

  void Finish(int err) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::FunctionReference cb = std::move(callback_);
    std::unique_ptr<Napi::AsyncContext> ctx = std::move(context_);
    Stop();
    if (!cb.IsEmpty() && ctx) {
      cb.MakeCallback(Value(), {Napi::Number::New(env, err)}, *ctx);
    }
  }

  Napi::Value StopJs(const Napi::CallbackInfo& info) {
    Stop();
    return info.Env().Undefined();
  }

  void Stop() {
    if (poll_ == nullptr) return;
    napi_remove_env_cleanup_hook(Env(), OnEnvCleanup, this);
    CloseHandle();
    callback_.Reset();
    Unref();
  }

  void CloseHandle() {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }

  // The environment is going away (worker exit): release the handle without
  // calling into JavaScript.
  static void OnEnvCleanup(void* arg) {
    Watcher* self = static_cast<Watcher*>(arg);
    if (self->poll_ != nullptr) self->CloseHandle();
  }

  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference callback_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace

void InitPoller(Napi::Env env, Napi::Object exports) {
  exports.Set("Watcher", Watcher::Define(env));
}

}  // namespace mptcp_node

#else

namespace mptcp_node {
void InitPoller(Napi::Env, Napi::Object) {}
}  // namespace mptcp_node

#endif
