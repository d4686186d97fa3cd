// See loop.h. Node-API: napi_add_async_cleanup_hook (NAPI_VERSION 8),
// napi_make_callback, napi_fatal_exception; libuv: uv_poll_t, uv_close.
#include "loop.h"

#if defined(__linux__)

namespace mptcp_node {

Poll* Poll::Start(napi_env env, int fd, int events, Owner* owner, int* rc) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    *rc = UV_EINVAL;
    return nullptr;
  }
  Poll* self = new Poll();
  self->owner_ = owner;
  *rc = uv_poll_init(loop, &self->handle_, fd);
  if (*rc != 0) {
    delete self;  // never initialised: nothing for libuv to close
    return nullptr;
  }
  self->handle_.data = self;
  *rc = uv_poll_start(&self->handle_, events, OnUvPoll);
  if (*rc == 0 && napi_add_async_cleanup_hook(env, OnEnvTeardown, self, &self->hook_) != napi_ok) {
    self->hook_ = nullptr;
    *rc = UV_ENOMEM;
  }
  if (*rc != 0) {
    self->owner_ = nullptr;
    self->Close();
    return nullptr;
  }
  return self;
}

int Poll::Restart(int events) {
  if (closing_) return UV_EBADF;
  return uv_poll_start(&handle_, events, OnUvPoll);
}

void Poll::Ref() {
  if (!closing_) uv_ref(reinterpret_cast<uv_handle_t*>(&handle_));
}

void Poll::Unref() {
  if (!closing_) uv_unref(reinterpret_cast<uv_handle_t*>(&handle_));
}

void Poll::Close() {
  if (closing_) return;
  closing_ = true;
  owner_ = nullptr;
  uv_poll_stop(&handle_);
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_), OnUvClosed);
}

void Poll::OnUvPoll(uv_poll_t* handle, int status, int events) {
  Poll* self = static_cast<Poll*>(handle->data);
  if (self->owner_ != nullptr) self->owner_->OnPoll(status, events);
}

void Poll::OnUvClosed(uv_handle_t* handle) {
  Poll* self = static_cast<Poll*>(handle->data);
  // Lets the environment's teardown go on (if it is waiting), now that libuv
  // holds nothing of this addon.
  if (self->hook_ != nullptr) napi_remove_async_cleanup_hook(self->hook_);
  delete self;
}

void Poll::OnEnvTeardown(napi_async_cleanup_hook_handle /*hook*/, void* arg) {
  Poll* self = static_cast<Poll*>(arg);
  if (self->closing_) return;  // already closing: OnUvClosed removes the hook
  Owner* owner = self->owner_;
  self->owner_ = nullptr;
  if (owner != nullptr) owner->OnTeardown();
  self->Close();
}

bool CallFromLoop(napi_env env, napi_async_context context, napi_ref recv_ref, napi_ref fn_ref, size_t argc,
                  const napi_value* argv) {
  napi_value recv = nullptr;
  napi_value fn = nullptr;
  if (recv_ref == nullptr || fn_ref == nullptr) return false;
  if (napi_get_reference_value(env, recv_ref, &recv) != napi_ok || recv == nullptr) return false;
  if (napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == nullptr) return false;
  return CallFromLoop(env, context, recv, fn, argc, argv);
}

bool CallFromLoop(napi_env env, napi_async_context context, napi_value recv, napi_value fn, size_t argc,
                  const napi_value* argv) {
  napi_value result;
  if (napi_make_callback(env, context, recv, fn, argc, argv, &result) == napi_ok) return true;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value error;
    if (napi_get_and_clear_last_exception(env, &error) == napi_ok) napi_fatal_exception(env, error);
  }
  return false;
}

}  // namespace mptcp_node

#endif  // __linux__
