// Registration entry points of each concern of the addon. Every function here
// returns a negative errno (never throws) for a runtime failure, as Node's own
// handles do; TypeScript turns the number into a Node-shaped error.
#ifndef MPTCP_NODE_BINDING_H
#define MPTCP_NODE_BINDING_H

#include <napi.h>

namespace mptcp_node {

void InitSocket(Napi::Env env, Napi::Object exports);
void InitSockopt(Napi::Env env, Napi::Object exports);
void InitPoller(Napi::Env env, Napi::Object exports);
void InitNetlink(Napi::Env env, Napi::Object exports);

// Shared argument helpers: the TypeScript layer validates user input, so a
// wrong type here is a bug in the library and is thrown as a TypeError.
int32_t ArgInt(const Napi::CallbackInfo& info, size_t i);

}  // namespace mptcp_node

#endif
