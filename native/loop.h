// Work on Node's event loop done safely from an addon that may be unloaded:
//
// - Poll: a uv_poll_t that frees itself once libuv has closed it, and that
//   holds back the environment's teardown (an async cleanup hook) until then.
//   A worker thread's environment can end, and its copy of this addon be
//   unloaded, right after the cleanup hooks return; a plain cleanup hook that
//   calls uv_close() would leave libuv a close callback inside unloaded code.
//
// - CallFromLoop: calls a JavaScript function from a libuv callback the way
//   Node calls its own handles' callbacks. An exception the function throws
//   (including an unhandled 'error' emitted from a nextTick it queued) is
//   reported as uncaught right away ('uncaughtException', else the process
//   ends), instead of staying pending in the Node-API environment and being
//   thrown later from an unrelated call. When JavaScript can no longer run
//   (worker.terminate(), environment teardown), nothing is called and no
//   Node-API failure is turned into a fatal error.
//
// Only the C Node-API is used on these paths: node-addon-api's wrappers turn a
// failed status into a fatal error, which is wrong while the environment is
// stopping.
#ifndef MPTCP_NODE_LOOP_H
#define MPTCP_NODE_LOOP_H

#include <napi.h>

#if defined(__linux__)
#include <uv.h>

namespace mptcp_node {

class Poll {
 public:
  // What a poll reports to its owner. Both run on the loop thread.
  class Owner {
   public:
    virtual ~Owner() = default;
    // libuv's callback (status < 0: libuv stopped the poll, see Restart).
    virtual void OnPoll(int status, int events) = 0;
    // The environment is being torn down: the poll is closing and must be
    // forgotten; no JavaScript may be called.
    virtual void OnTeardown() = 0;
  };

  // Starts polling `fd` for `events`. Returns null and sets *rc to a libuv
  // error on failure; nothing is left to release then.
  static Poll* Start(napi_env env, int fd, int events, Owner* owner, int* rc);

  // uv_poll_start again, after libuv stopped the poll on an error: 0 or a
  // libuv error.
  int Restart(int events);
  void Ref();
  void Unref();
  // Stops polling; the owner is never called again. The handle frees itself
  // when libuv is done with it; the pointer must not be used afterwards.
  void Close();

 private:
  Poll() = default;
  static void OnUvPoll(uv_poll_t* handle, int status, int events);
  static void OnUvClosed(uv_handle_t* handle);
  static void OnEnvTeardown(napi_async_cleanup_hook_handle hook, void* arg);

  uv_poll_t handle_{};
  napi_async_cleanup_hook_handle hook_ = nullptr;
  Owner* owner_ = nullptr;
  bool closing_ = false;
};

// Calls `fn` with `argv` on `recv` in `context` from a libuv callback.
// Returns true if it ran and returned normally.
bool CallFromLoop(napi_env env, napi_async_context context, napi_value recv, napi_value fn, size_t argc,
                  const napi_value* argv);

// The same with the receiver and the function given by reference: false as
// well when either reference is empty or its value is gone.
bool CallFromLoop(napi_env env, napi_async_context context, napi_ref recv, napi_ref fn, size_t argc,
                  const napi_value* argv);

}  // namespace mptcp_node

#endif  // __linux__
#endif
