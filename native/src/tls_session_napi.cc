// Test wrapper: a TlsContext / TlsSession as JS externals, driven from a net.Socket in JS.
//   tlsContext(certPem: string, keyPem: string) -> ctx                 (throws on a bad pair)
//   tlsSession(ctx) -> session
//   tlsReceive(session, bytes: Buffer) -> { ok, plain: Buffer, cipher: Buffer, error? }
//   tlsSend(session, parts: Buffer[]) -> { ok, cipher: Buffer, error? }   (one SendV: ONE frame's parts)
//   tlsSendEach(session, frames: Buffer[]) -> { ok, cipher, error? }   (one Send per frame, one buffer)
//   tlsShutdown(session) -> Buffer                                      (our close_notify)
//   tlsState(session) -> { handshakeDone, peerClosed, protocol }
#include "tls_session_napi.h"

#include <sys/uio.h>

#include <memory>
#include <string>
#include <vector>

#include "tls_session.h"

namespace icegate {
namespace {

#define TLS_NAPI(env, call)                                 \
  do {                                                      \
    if ((call) != napi_ok) {                                \
      napi_throw_error((env), nullptr, "N-API call failed"); \
      return nullptr;                                       \
    }                                                       \
  } while (0)

struct ContextHolder {
  std::shared_ptr<TlsContext> ctx;
};

// The output vectors live with the session and are reused call after call, as the data plane
// would reuse its per-connection buffers.
struct SessionHolder {
  explicit SessionHolder(std::shared_ptr<TlsContext> ctx) : session(std::move(ctx)) {}
  TlsSession session;
  std::vector<uint8_t> plain;
  std::vector<uint8_t> cipher;
  std::vector<struct iovec> parts;
  std::string error;
};

template <typename T>
void DeleteHolder(napi_env, void* data, void*) {
  delete static_cast<T*>(data);
}

bool ReadString(napi_env env, napi_value value, std::string* out) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, value, nullptr, 0, &len) != napi_ok) return false;
  out->resize(len + 1);
  if (napi_get_value_string_utf8(env, value, &(*out)[0], len + 1, &len) != napi_ok) return false;
  out->resize(len);
  return true;
}

template <typename T>
T* Unwrap(napi_env env, napi_value value) {
  void* data = nullptr;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, value, &data) != napi_ok) {
    return nullptr;
  }
  return static_cast<T*>(data);
}

napi_value BufferOf(napi_env env, const std::vector<uint8_t>& bytes) {
  napi_value out;
  void* copy = nullptr;
  if (napi_create_buffer_copy(env, bytes.size(), bytes.empty() ? static_cast<const void*>("") : bytes.data(), &copy, &out) != napi_ok) {
    return nullptr;
  }
  return out;
}

napi_value Result(napi_env env, bool ok, const std::vector<uint8_t>* plain, const std::vector<uint8_t>& cipher,
                  const std::string& error) {
  napi_value out, flag, text;
  TLS_NAPI(env, napi_create_object(env, &out));
  TLS_NAPI(env, napi_get_boolean(env, ok, &flag));
  TLS_NAPI(env, napi_set_named_property(env, out, "ok", flag));
  if (plain != nullptr) TLS_NAPI(env, napi_set_named_property(env, out, "plain", BufferOf(env, *plain)));
  TLS_NAPI(env, napi_set_named_property(env, out, "cipher", BufferOf(env, cipher)));
  if (!ok) {
    TLS_NAPI(env, napi_create_string_utf8(env, error.data(), error.size(), &text));
    TLS_NAPI(env, napi_set_named_property(env, out, "error", text));
  }
  return out;
}

napi_value Context(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  TLS_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  std::string cert, key, error;
  if (argc < 2 || !ReadString(env, argv[0], &cert) || !ReadString(env, argv[1], &key)) {
    napi_throw_type_error(env, nullptr, "tlsContext(certPem: string, keyPem: string)");
    return nullptr;
  }
  std::shared_ptr<TlsContext> ctx = TlsContext::FromPem(cert, key, &error);
  if (!ctx) {
    napi_throw_error(env, nullptr, error.c_str());
    return nullptr;
  }
  napi_value out;
  auto* holder = new ContextHolder{std::move(ctx)};
  if (napi_create_external(env, holder, DeleteHolder<ContextHolder>, nullptr, &out) != napi_ok) {
    delete holder;
    napi_throw_error(env, nullptr, "N-API call failed");
    return nullptr;
  }
  return out;
}

napi_value Session(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  TLS_NAPI(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  ContextHolder* ctx = argc >= 1 ? Unwrap<ContextHolder>(env, argv[0]) : nullptr;
  if (ctx == nullptr) {
    napi_throw_type_error(env, nullptr, "tlsSession(ctx)");
    return nullptr;
  }
  napi_value out;
  auto* holder = new SessionHolder(ctx->ctx);
  if (napi_create_external(env, holder, DeleteHolder<SessionHolder>, nullptr, &out) != napi_ok) {
    delete holder;
    napi_throw_error(env, nullptr, "N-API call failed");
    return nullptr;
  }
  return out;
}

SessionHolder* SessionArg(napi_env env, napi_callback_info info, napi_value* second) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 1) return nullptr;
  if (second != nullptr) {
    if (argc < 2) return nullptr;
    *second = argv[1];
  }
  return Unwrap<SessionHolder>(env, argv[0]);
}

napi_value Receive(napi_env env, napi_callback_info info) {
  napi_value bytes;
  SessionHolder* s = SessionArg(env, info, &bytes);
  void* data = nullptr;
  size_t len = 0;
  if (s == nullptr || napi_get_buffer_info(env, bytes, &data, &len) != napi_ok) {
    napi_throw_type_error(env, nullptr, "tlsReceive(session, bytes: Buffer)");
    return nullptr;
  }
  s->plain.clear();
  s->cipher.clear();
  s->error.clear();
  const bool ok = s->session.Receive(static_cast<const uint8_t*>(data), len, &s->plain, &s->cipher, &s->error);
  return Result(env, ok, &s->plain, s->cipher, s->error);
}

// Fills s->parts with the Buffers of a JS array; false (a TypeError thrown) when it is not one.
bool ReadParts(napi_env env, napi_value list, SessionHolder* s, const char* usage) {
  uint32_t count = 0;
  if (napi_get_array_length(env, list, &count) != napi_ok) {
    napi_throw_type_error(env, nullptr, usage);
    return false;
  }
  s->parts.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    napi_value part;
    void* data = nullptr;
    size_t len = 0;
    if (napi_get_element(env, list, i, &part) != napi_ok || napi_get_buffer_info(env, part, &data, &len) != napi_ok) {
      napi_throw_type_error(env, nullptr, usage);
      return false;
    }
    s->parts[i] = {data, len};
  }
  return true;
}

napi_value Send(napi_env env, napi_callback_info info) {
  napi_value list;
  SessionHolder* s = SessionArg(env, info, &list);
  constexpr const char* kUsage = "tlsSend(session, parts: Buffer[])";
  if (s == nullptr) {
    napi_throw_type_error(env, nullptr, kUsage);
    return nullptr;
  }
  if (!ReadParts(env, list, s, kUsage)) return nullptr;
  s->cipher.clear();
  s->error.clear();
  const bool ok = s->session.SendV(s->parts.data(), s->parts.size(), &s->cipher, &s->error);
  return Result(env, ok, nullptr, s->cipher, s->error);
}

// What the data plane does with a burst of frames: one Send per frame (one record each), all the
// records appended to one write buffer.
napi_value SendEach(napi_env env, napi_callback_info info) {
  napi_value list;
  SessionHolder* s = SessionArg(env, info, &list);
  constexpr const char* kUsage = "tlsSendEach(session, frames: Buffer[])";
  if (s == nullptr) {
    napi_throw_type_error(env, nullptr, kUsage);
    return nullptr;
  }
  if (!ReadParts(env, list, s, kUsage)) return nullptr;
  s->cipher.clear();
  s->error.clear();
  bool ok = true;
  for (const struct iovec& frame : s->parts) {
    ok = s->session.Send(static_cast<const uint8_t*>(frame.iov_base), frame.iov_len, &s->cipher, &s->error);
    if (!ok) break;
  }
  return Result(env, ok, nullptr, s->cipher, s->error);
}

napi_value Shutdown(napi_env env, napi_callback_info info) {
  SessionHolder* s = SessionArg(env, info, nullptr);
  if (s == nullptr) {
    napi_throw_type_error(env, nullptr, "tlsShutdown(session)");
    return nullptr;
  }
  s->cipher.clear();
  s->session.Shutdown(&s->cipher);
  return BufferOf(env, s->cipher);
}

napi_value State(napi_env env, napi_callback_info info) {
  SessionHolder* s = SessionArg(env, info, nullptr);
  if (s == nullptr) {
    napi_throw_type_error(env, nullptr, "tlsState(session)");
    return nullptr;
  }
  napi_value out, value;
  const std::string protocol = s->session.protocol();
  TLS_NAPI(env, napi_create_object(env, &out));
  TLS_NAPI(env, napi_get_boolean(env, s->session.handshake_done(), &value));
  TLS_NAPI(env, napi_set_named_property(env, out, "handshakeDone", value));
  TLS_NAPI(env, napi_get_boolean(env, s->session.peer_closed(), &value));
  TLS_NAPI(env, napi_set_named_property(env, out, "peerClosed", value));
  TLS_NAPI(env, napi_create_string_utf8(env, protocol.data(), protocol.size(), &value));
  TLS_NAPI(env, napi_set_named_property(env, out, "protocol", value));
  return out;
}

}  // namespace

void InitTlsSession(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"tlsContext", nullptr, Context, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"tlsSession", nullptr, Session, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"tlsReceive", nullptr, Receive, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"tlsSend", nullptr, Send, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"tlsSendEach", nullptr, SendEach, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"tlsShutdown", nullptr, Shutdown, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"tlsState", nullptr, State, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace icegate
