// Module registration only; each concern lives in its own file.
#include "binding.h"

namespace mptcp_node {

int32_t ArgInt(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    NAPI_THROW(Napi::TypeError::New(info.Env(), "mptcp binding: expected an integer argument"), 0);
  }
  return info[i].As<Napi::Number>().Int32Value();
}

}  // namespace mptcp_node

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
#if defined(__linux__)
  exports.Set("platformSupported", Napi::Boolean::New(env, true));
#else
  exports.Set("platformSupported", Napi::Boolean::New(env, false));
#endif
  mptcp_node::InitSocket(env, exports);
  mptcp_node::InitSockopt(env, exports);
  mptcp_node::InitPoller(env, exports);
  mptcp_node::InitNetlink(env, exports);
  return exports;
}

NODE_API_MODULE(mptcp, Init)
