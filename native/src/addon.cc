// Node-API surface of the native data plane. Thin: argument checks, then RelayPlane.
// Error codes are stable: NATIVE_BAD_ARGUMENT, NATIVE_CLOSED, NATIVE_RELAY, and for a bind that
// failed because of the address: NATIVE_ADDRESS_IN_USE (EADDRINUSE), NATIVE_ACCESS_DENIED
// (EACCES/EPERM, e.g. a privileged port) — callers pick another port on those, never by message.
#include <arpa/inet.h>
#include <errno.h>
#if defined(__GLIBC__)  // defined by errno.h's features.h
#include <malloc.h>
#endif
#include <node_api.h>
#include <sched.h>
#include <v8.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "hmac.h"
#include "packet_class.h"
#include "relay_plane.h"
#include "tls_session_napi.h"

namespace icegate {
namespace {

// The JS function receiving control packets. The reference is weak (the TS wrapper keeps the
// function alive): a strong one would form a cycle through the plane handle and never be freed.
struct ControlSink {
  napi_env env = nullptr;
  napi_ref callback = nullptr;
  napi_async_context async = nullptr;
};

struct PlaneBox {
  RelayPlane* plane;
  ControlSink* sink = nullptr;
  ControlSink* stream_sink = nullptr;  // openStreamListener's callback
  napi_env env = nullptr;
};

// At environment teardown (process exit, worker thread end) the data threads are joined even if
// JS never called closePlane; the box itself is freed by its finalizer.
void CleanupPlane(void* data) {
  auto* box = static_cast<PlaneBox*>(data);
  delete box->plane;
  box->plane = nullptr;
}

#define CHECK_NAPI(env, call)                                        \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      napi_throw_error((env), "NATIVE_BAD_ARGUMENT", "napi failure"); \
      return nullptr;                                                \
    }                                                                \
  } while (0)

napi_value Throw(napi_env env, const char* code, const std::string& message) {
  napi_throw_error(env, code, message.c_str());
  return nullptr;
}

// The code of a failed bind/socket call: the address ones get their own, the rest NATIVE_RELAY.
const char* BindErrorCode(int sys_errno) {
  if (sys_errno == EADDRINUSE) return "NATIVE_ADDRESS_IN_USE";
  if (sys_errno == EACCES || sys_errno == EPERM) return "NATIVE_ACCESS_DENIED";
  return "NATIVE_RELAY";
}

bool GetString(napi_env env, napi_value value, std::string* out) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, nullptr, 0, &length) != napi_ok) return false;
  out->resize(length + 1);
  if (napi_get_value_string_utf8(env, value, out->data(), length + 1, &length) != napi_ok) return false;
  out->resize(length);
  return true;
}

bool GetU32(napi_env env, napi_value value, uint32_t max, uint32_t* out) {
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok) return false;
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint32_t>(d))) return false;
  *out = static_cast<uint32_t>(d);
  return true;
}

napi_value Number(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

void SetNamed(napi_env env, napi_value object, const char* name, double v) {
  napi_set_named_property(env, object, name, Number(env, v));
}

// Reads argv[0] as a plane handle; throws NATIVE_CLOSED after closePlane.
RelayPlane* PlaneArg(napi_env env, napi_value value) {
  void* data = nullptr;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == nullptr) {
    napi_throw_error(env, "NATIVE_BAD_ARGUMENT", "expected a plane handle");
    return nullptr;
  }
  auto* box = static_cast<PlaneBox*>(data);
  if (box->plane == nullptr) napi_throw_error(env, "NATIVE_CLOSED", "plane is closed");
  return box->plane;
}

template <size_t N>
bool Args(napi_env env, napi_callback_info info, napi_value (&argv)[N]) {
  size_t argc = N;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < N) {
    napi_throw_error(env, "NATIVE_BAD_ARGUMENT", "missing arguments");
    return false;
  }
  return true;
}

// A Uint8Array's bytes (a Buffer is one); false, with nothing thrown, for anything else.
bool GetBytes(napi_env env, napi_value value, const uint8_t** data, size_t* length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  void* raw;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, nullptr, nullptr) != napi_ok) return false;
  if (type != napi_uint8_array) return false;
  *data = static_cast<const uint8_t*>(raw);
  return true;
}

napi_value Classify(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv)) return nullptr;
  const uint8_t* data;
  size_t length;
  if (!GetBytes(env, argv[0], &data, &length)) return Throw(env, "NATIVE_BAD_ARGUMENT", "expected a Uint8Array");
  const PacketClass c = ClassifyPacket(data, length);
  napi_value out;
  CHECK_NAPI(env, napi_create_object(env, &out));
  SetNamed(env, out, "kind", static_cast<double>(c.kind));
  SetNamed(env, out, "reason", static_cast<double>(c.reason));
  SetNamed(env, out, "channel", c.channel);
  SetNamed(env, out, "length", c.payload_length);
  return out;
}

// (data) -> { result: 0 ok | 1 not a Send indication | 2 hand to TypeScript, ip, port, offset, length }
napi_value ParseSend(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv)) return nullptr;
  const uint8_t* data;
  size_t length;
  if (!GetBytes(env, argv[0], &data, &length)) return Throw(env, "NATIVE_BAD_ARGUMENT", "expected a Uint8Array");
  SendIndication send{};
  const SendParse result = ParseSendIndication(data, length, &send);
  napi_value out;
  CHECK_NAPI(env, napi_create_object(env, &out));
  SetNamed(env, out, "result", static_cast<double>(result));
  if (result == SendParse::kOk) {
    char text[INET6_ADDRSTRLEN] = {0};
    inet_ntop(send.address_length == 4 ? AF_INET : AF_INET6, send.address, text, sizeof(text));
    napi_value ip;
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &ip);
    napi_set_named_property(env, out, "ip", ip);
    SetNamed(env, out, "port", send.port);
    SetNamed(env, out, "offset", send.data_offset);
    SetNamed(env, out, "length", send.data_length);
  }
  return out;
}

void FinalizePlane(napi_env env, void* data, void* /*hint*/) {
  auto* box = static_cast<PlaneBox*>(data);
  napi_remove_env_cleanup_hook(env, CleanupPlane, box);
  // Normally closePlane already ran; a forgotten plane still joins its threads and closes sockets.
  delete box->plane;
  for (ControlSink* sink : {box->sink, box->stream_sink}) {
    if (sink == nullptr) continue;
    napi_delete_reference(env, sink->callback);
    napi_async_destroy(env, sink->async);
    delete sink;
  }
  delete box;
}

// The text and port of an address, as the JS callbacks take it.
uint16_t AddressText(const sockaddr_storage& from, char (&text)[INET6_ADDRSTRLEN]) {
  if (from.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&from);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    return ntohs(in->sin_port);
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&from);
  inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
  return ntohs(in6->sin6_port);
}

// Stream events on the loop thread: (event, connId, frame | null, ip, port) to JS; event 1 is a
// frame (STUN, or ChannelData without its padding), 2 the end of the connection.
void DeliverStreamEvent(void* context, ControlEvent event, uint32_t conn, const uint8_t* data, size_t size,
                        const sockaddr_storage& from) {
  auto* sink = static_cast<ControlSink*>(context);
  napi_env env = sink->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback = nullptr;
  napi_get_reference_value(env, sink->callback, &callback);
  if (callback != nullptr) {
    char text[INET6_ADDRSTRLEN] = {0};
    const uint16_t port = AddressText(from, text);
    napi_value argv[5];
    napi_create_uint32(env, static_cast<uint32_t>(event), &argv[0]);
    napi_create_uint32(env, conn, &argv[1]);
    if (event == ControlEvent::kStreamFrame) {
      void* copy;
      napi_create_buffer_copy(env, size, data, &copy, &argv[2]);
    } else {
      napi_get_null(env, &argv[2]);
    }
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &argv[3]);
    napi_create_uint32(env, port, &argv[4]);
    napi_value receiver;
    napi_get_global(env, &receiver);
    napi_value result;
    if (napi_make_callback(env, sink->async, receiver, callback, 5, argv, &result) == napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

// Runs on the loop thread inside the listener's poll callback: (data, ip, port) to JS.
void DeliverControlPacket(void* context, const uint8_t* data, size_t size, const sockaddr_storage& from) {
  auto* sink = static_cast<ControlSink*>(context);
  napi_env env = sink->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback = nullptr;
  napi_get_reference_value(env, sink->callback, &callback);
  if (callback != nullptr) {
    char text[INET6_ADDRSTRLEN] = {0};
    uint16_t port;
    if (from.ss_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&from);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
      port = ntohs(in->sin_port);
    } else {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&from);
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
      port = ntohs(in6->sin6_port);
    }
    napi_value argv[3];
    void* copy;
    napi_value receiver;
    napi_get_global(env, &receiver);  // make_callback needs an object receiver
    napi_create_buffer_copy(env, size, data, &copy, &argv[0]);
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &argv[1]);
    napi_create_uint32(env, port, &argv[2]);
    napi_value result;
    // make_callback runs microtasks and async hooks as a dgram 'message' event would.
    if (napi_make_callback(env, sink->async, receiver, callback, 3, argv, &result) == napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

// Data threads when the caller does not say: one per core, at most 4.
unsigned DefaultThreads() {
  // The CPUs this process may run on (as os.availableParallelism()), else all of them.
  cpu_set_t set;
  unsigned cores = 0;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cores = static_cast<unsigned>(CPU_COUNT(&set));
  if (cores == 0) cores = std::thread::hardware_concurrency();
  return std::max(1u, std::min(cores == 0 ? 1u : cores, 4u));
}

// createPlane(fd, options?): options { threads?: 1..64, gso?: boolean }.
napi_value CreatePlane(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {nullptr, nullptr};
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 1) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "missing arguments");
  }
  int32_t fd;
  // -1: the plane will open its own listening socket (openListener).
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < -1) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected the listening socket's file descriptor or -1");
  }
  PlaneOptions options;
  options.threads = DefaultThreads();
  if (argc >= 2) {
    napi_valuetype type;
    napi_typeof(env, argv[1], &type);
    if (type == napi_object) {
      napi_value value;
      bool has = false;
      napi_has_named_property(env, argv[1], "threads", &has);
      if (has) {
        napi_get_named_property(env, argv[1], "threads", &value);
        napi_valuetype value_type;
        napi_typeof(env, value, &value_type);
        uint32_t threads;
        if (value_type != napi_undefined) {
          if (!GetU32(env, value, 64, &threads) || threads == 0) {
            return Throw(env, "NATIVE_BAD_ARGUMENT", "threads must be an integer from 1 to 64");
          }
          options.threads = threads;
        }
      }
      has = false;
      napi_has_named_property(env, argv[1], "gso", &has);
      if (has) {
        napi_get_named_property(env, argv[1], "gso", &value);
        bool gso;
        if (napi_get_value_bool(env, value, &gso) == napi_ok) options.gso = gso;
      }
    } else if (type != napi_undefined) {
      return Throw(env, "NATIVE_BAD_ARGUMENT", "options must be an object");
    }
  }
  uv_loop_t* loop;
  CHECK_NAPI(env, napi_get_uv_event_loop(env, &loop));
  auto* plane = new RelayPlane(loop, fd, options);
  if (!plane->start_error().empty()) {
    const std::string message = "could not start the data threads: " + plane->start_error();
    delete plane;
    return Throw(env, "NATIVE_RELAY", message);
  }
  auto* box = new PlaneBox{plane};
  box->env = env;
  napi_value out;
  if (napi_create_external(env, box, FinalizePlane, nullptr, &out) != napi_ok) {
    delete box->plane;
    delete box;
    return Throw(env, "NATIVE_BAD_ARGUMENT", "could not create the plane handle");
  }
  napi_add_env_cleanup_hook(env, CleanupPlane, box);
  return out;
}

napi_value ClosePlane(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv)) return nullptr;
  void* data = nullptr;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || data == nullptr) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected a plane handle");
  }
  auto* box = static_cast<PlaneBox*>(data);
  if (box->plane != nullptr && box->plane->dispatching()) {
    // Called from inside onPacket: the plane deletes itself when the dispatch unwinds.
    box->plane->RequestDeleteAfterDispatch();
  } else {
    delete box->plane;
  }
  box->plane = nullptr;
  return nullptr;
}

napi_value OpenListener(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv)) return nullptr;
  void* data = nullptr;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || data == nullptr) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected a plane handle");
  }
  auto* box = static_cast<PlaneBox*>(data);
  if (box->plane == nullptr) return Throw(env, "NATIVE_CLOSED", "plane is closed");
  std::string ip;
  uint32_t port;
  napi_valuetype type;
  napi_typeof(env, argv[3], &type);
  if (!GetString(env, argv[1], &ip) || !GetU32(env, argv[2], 65535, &port) || type != napi_function) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected (plane, ip, port, onPacket)");
  }
  if (box->sink != nullptr) return Throw(env, "NATIVE_RELAY", "the plane already has a listening socket");
  auto* sink = new ControlSink();
  sink->env = env;
  napi_value name;
  napi_create_string_utf8(env, "icegate:native-control-packet", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[3], 0, &sink->callback) != napi_ok ||
      napi_async_init(env, nullptr, name, &sink->async) != napi_ok) {
    delete sink;
    return Throw(env, "NATIVE_BAD_ARGUMENT", "could not keep the callback");
  }
  std::string error;
  uint16_t bound = 0;
  int sys_errno = 0;
  if (!box->plane->OpenListener(ip, static_cast<uint16_t>(port), DeliverControlPacket, sink, &bound, &error,
                                &sys_errno)) {
    napi_delete_reference(env, sink->callback);
    napi_async_destroy(env, sink->async);
    delete sink;
    return Throw(env, BindErrorCode(sys_errno), error);
  }
  box->sink = sink;
  napi_value out;
  CHECK_NAPI(env, napi_create_object(env, &out));
  SetNamed(env, out, "port", bound);
  return out;
}

bool GetNamedU32(napi_env env, napi_value object, const char* name, uint32_t max, uint32_t* out) {
  napi_value value;
  if (napi_get_named_property(env, object, name, &value) != napi_ok) return false;
  return GetU32(env, value, max, out) && *out > 0;
}

// openStreamListener(plane, ip, port, limits, onEvent) -> { port }. limits: { maxConnections,
// maxConnectionsPerIp, idleTimeoutMs, maxQueuedBytes, maxQueuedBytesHard } (positive integers).
napi_value OpenStreamListener(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!Args(env, info, argv)) return nullptr;
  void* data = nullptr;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || data == nullptr) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected a plane handle");
  }
  auto* box = static_cast<PlaneBox*>(data);
  if (box->plane == nullptr) return Throw(env, "NATIVE_CLOSED", "plane is closed");
  std::string ip;
  uint32_t port;
  napi_valuetype limits_type, callback_type;
  napi_typeof(env, argv[3], &limits_type);
  napi_typeof(env, argv[4], &callback_type);
  if (!GetString(env, argv[1], &ip) || !GetU32(env, argv[2], 65535, &port) || limits_type != napi_object ||
      callback_type != napi_function) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected (plane, ip, port, limits, onEvent)");
  }
  StreamOptions options;
  uint32_t queued, hard;
  if (!GetNamedU32(env, argv[3], "maxConnections", UINT32_MAX, &options.max_connections) ||
      !GetNamedU32(env, argv[3], "maxConnectionsPerIp", UINT32_MAX, &options.max_per_ip) ||
      !GetNamedU32(env, argv[3], "idleTimeoutMs", UINT32_MAX, &options.idle_ms) ||
      !GetNamedU32(env, argv[3], "maxQueuedBytes", 1u << 30, &queued) ||
      !GetNamedU32(env, argv[3], "maxQueuedBytesHard", 1u << 30, &hard) || hard < queued) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "limits must be positive integers (maxQueuedBytesHard >= maxQueuedBytes)");
  }
  options.max_queued = queued;
  options.max_queued_hard = hard;
  if (box->stream_sink != nullptr) return Throw(env, "NATIVE_RELAY", "the plane already has a stream listener");
  auto* sink = new ControlSink();
  sink->env = env;
  napi_value name;
  napi_create_string_utf8(env, "icegate:native-stream-event", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[4], 0, &sink->callback) != napi_ok ||
      napi_async_init(env, nullptr, name, &sink->async) != napi_ok) {
    delete sink;
    return Throw(env, "NATIVE_BAD_ARGUMENT", "could not keep the callback");
  }
  std::string error;
  uint16_t bound = 0;
  int sys_errno = 0;
  if (!box->plane->OpenStreamListener(ip, static_cast<uint16_t>(port), options, DeliverStreamEvent, sink, &bound,
                                      &error, &sys_errno)) {
    napi_delete_reference(env, sink->callback);
    napi_async_destroy(env, sink->async);
    delete sink;
    return Throw(env, BindErrorCode(sys_errno), error);
  }
  box->stream_sink = sink;
  napi_value out;
  CHECK_NAPI(env, napi_create_object(env, &out));
  SetNamed(env, out, "port", bound);
  return out;
}

// setStreamTls(plane, certPem, keyPem, handshakeTimeoutMs): the stream listener speaks TLS (call
// before openStreamListener), or its certificate is replaced (a reload; new connections use it).
napi_value SetStreamTls(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  std::string cert, key;
  uint32_t handshake_ms;
  if (!GetString(env, argv[1], &cert) || !GetString(env, argv[2], &key) ||
      !GetU32(env, argv[3], UINT32_MAX, &handshake_ms) || handshake_ms == 0) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected (plane, certPem, keyPem, handshakeTimeoutMs)");
  }
  std::string error;
  if (!plane->SetStreamTls(cert, key, handshake_ms, &error)) return Throw(env, "NATIVE_TLS", error);
  return nullptr;
}

// streamSend(plane, connId, data): one whole frame to a stream client (queued to its thread).
napi_value StreamSend(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  uint32_t conn;
  const uint8_t* bytes;
  size_t length;
  if (!GetU32(env, argv[1], UINT32_MAX, &conn) || !GetBytes(env, argv[2], &bytes, &length)) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected (plane, connId, Uint8Array)");
  }
  std::string error;
  if (!plane->StreamSend(conn, bytes, length, &error)) return Throw(env, "NATIVE_RELAY", error);
  return nullptr;
}

// streamClose(plane, connId): closes a stream connection (its end is reported as any other).
napi_value StreamClose(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  uint32_t conn;
  if (!GetU32(env, argv[1], UINT32_MAX, &conn)) return Throw(env, "NATIVE_BAD_ARGUMENT", "expected (plane, connId)");
  std::string error;
  if (!plane->StreamClose(conn, &error)) return Throw(env, "NATIVE_RELAY", error);
  return nullptr;
}

// setStreamClient(plane, relayId, connId): the relay's peer data goes to that stream connection.
napi_value SetStreamClient(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  uint32_t id, conn;
  if (!GetU32(env, argv[1], UINT32_MAX, &id) || !GetU32(env, argv[2], UINT32_MAX, &conn)) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected (plane, relayId, connId)");
  }
  std::string error;
  if (!plane->SetStreamClient(id, conn, &error)) return Throw(env, "NATIVE_RELAY", error);
  return nullptr;
}

napi_value SendFromRelay(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  uint32_t id, port;
  std::string ip;
  const uint8_t* bytes;
  size_t length;
  if (!GetU32(env, argv[1], UINT32_MAX, &id) || !GetString(env, argv[2], &ip) ||
      !GetU32(env, argv[3], 65535, &port) || !GetBytes(env, argv[4], &bytes, &length)) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected (plane, relayId, ip, port, Uint8Array)");
  }
  std::string error;
  if (!plane->SendFromRelay(id, ip, static_cast<uint16_t>(port), bytes, length, &error)) {
    return Throw(env, "NATIVE_RELAY", error);
  }
  return nullptr;
}

napi_value SendToClient(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  std::string ip;
  uint32_t port;
  const uint8_t* bytes;
  size_t length;
  if (!GetString(env, argv[1], &ip) || !GetU32(env, argv[2], 65535, &port) ||
      !GetBytes(env, argv[3], &bytes, &length)) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected (plane, ip, port, Uint8Array)");
  }
  std::string error;
  if (!plane->SendToClient(ip, static_cast<uint16_t>(port), bytes, length, &error)) {
    return Throw(env, "NATIVE_RELAY", error);
  }
  return nullptr;
}

napi_value OpenRelay(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  std::string ip;
  uint32_t port, buffer_bytes;
  if (!GetString(env, argv[1], &ip) || !GetU32(env, argv[2], 65535, &port) ||
      !GetU32(env, argv[3], 1u << 30, &buffer_bytes)) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected (plane, ip, port, bufferBytes)");
  }
  std::string error;
  uint16_t bound = 0;
  int sys_errno = 0;
  const uint32_t id = plane->OpenRelay(ip, static_cast<uint16_t>(port), &bound, &error, &sys_errno,
                                       static_cast<int>(buffer_bytes));
  if (id == 0) return Throw(env, BindErrorCode(sys_errno), error);
  // One number, id * 65536 + port (exact in a double: id < 2^32), not an object: its two named
  // properties (string-table lookups, map transitions) cost about 3 µs per allocation (issue 19).
  return Number(env, static_cast<double>(id) * 65536.0 + static_cast<double>(bound));
}

napi_value SetClient(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  uint32_t id, port;
  std::string ip;
  if (!GetU32(env, argv[1], UINT32_MAX, &id) || !GetString(env, argv[2], &ip) ||
      !GetU32(env, argv[3], 65535, &port)) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected (plane, relayId, ip, port)");
  }
  std::string error;
  if (!plane->SetClient(id, ip, static_cast<uint16_t>(port), &error)) return Throw(env, "NATIVE_RELAY", error);
  return nullptr;
}

napi_value SetPermissions(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  uint32_t id, count;
  bool is_array = false;
  napi_is_array(env, argv[2], &is_array);
  if (!GetU32(env, argv[1], UINT32_MAX, &id) || !is_array) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected (plane, relayId, ips[])");
  }
  CHECK_NAPI(env, napi_get_array_length(env, argv[2], &count));
  std::vector<std::string> ips(count);
  for (uint32_t i = 0; i < count; ++i) {
    napi_value element;
    CHECK_NAPI(env, napi_get_element(env, argv[2], i, &element));
    if (!GetString(env, element, &ips[i])) return Throw(env, "NATIVE_BAD_ARGUMENT", "ips must be strings");
  }
  std::string error;
  if (!plane->SetPermissions(id, ips, &error)) return Throw(env, "NATIVE_RELAY", error);
  return nullptr;
}

napi_value SetChannels(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  uint32_t id, count;
  bool is_array = false;
  napi_is_array(env, argv[2], &is_array);
  if (!GetU32(env, argv[1], UINT32_MAX, &id) || !is_array) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "expected (plane, relayId, bindings[])");
  }
  CHECK_NAPI(env, napi_get_array_length(env, argv[2], &count));
  std::vector<RelayPlane::ChannelBinding> bindings(count);
  for (uint32_t i = 0; i < count; ++i) {
    napi_value element, ip, port, channel;
    CHECK_NAPI(env, napi_get_element(env, argv[2], i, &element));
    uint32_t port_value, channel_value;
    if (napi_get_named_property(env, element, "ip", &ip) != napi_ok ||
        napi_get_named_property(env, element, "port", &port) != napi_ok ||
        napi_get_named_property(env, element, "channel", &channel) != napi_ok ||
        !GetString(env, ip, &bindings[i].ip) || !GetU32(env, port, 65535, &port_value) ||
        !GetU32(env, channel, 65535, &channel_value)) {
      return Throw(env, "NATIVE_BAD_ARGUMENT", "bindings are { ip, port, channel }");
    }
    bindings[i].port = static_cast<uint16_t>(port_value);
    bindings[i].channel = static_cast<uint16_t>(channel_value);
  }
  std::string error;
  if (!plane->SetChannels(id, bindings, &error)) return Throw(env, "NATIVE_RELAY", error);
  return nullptr;
}

napi_value CloseRelay(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  uint32_t id;
  if (!GetU32(env, argv[1], UINT32_MAX, &id)) return Throw(env, "NATIVE_BAD_ARGUMENT", "expected a relay id");
  napi_value out;
  CHECK_NAPI(env, napi_get_boolean(env, plane->CloseRelay(id), &out));
  return out;
}

napi_value Counters(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  const auto sum = [plane](std::atomic<uint64_t> PlaneCounters::*field) {
    return static_cast<double>(plane->Sum(field));
  };
  napi_value out;
  CHECK_NAPI(env, napi_create_object(env, &out));
  SetNamed(env, out, "received", sum(&PlaneCounters::received));
  SetNamed(env, out, "sentChannelData", sum(&PlaneCounters::sent_channel_data));
  SetNamed(env, out, "sentDataIndication", sum(&PlaneCounters::sent_data_indication));
  SetNamed(env, out, "droppedNoPermission", sum(&PlaneCounters::dropped_no_permission));
  SetNamed(env, out, "droppedNoClient", sum(&PlaneCounters::dropped_no_client));
  SetNamed(env, out, "droppedTooLarge", sum(&PlaneCounters::dropped_too_large));
  SetNamed(env, out, "sendErrors", sum(&PlaneCounters::send_errors));
  SetNamed(env, out, "receiveBatches", sum(&PlaneCounters::receive_batches));
  SetNamed(env, out, "sendBatches", sum(&PlaneCounters::send_batches));
  SetNamed(env, out, "clientReceived", sum(&PlaneCounters::client_received));
  SetNamed(env, out, "sentToPeer", sum(&PlaneCounters::sent_to_peer));
  SetNamed(env, out, "handedToControl", sum(&PlaneCounters::handed_to_control));
  SetNamed(env, out, "droppedUnboundChannel", sum(&PlaneCounters::dropped_unbound_channel));
  SetNamed(env, out, "droppedMalformed", sum(&PlaneCounters::dropped_malformed));
  SetNamed(env, out, "sendIndications", sum(&PlaneCounters::send_indications));
  SetNamed(env, out, "droppedSendNoPermission", sum(&PlaneCounters::dropped_send_no_permission));
  SetNamed(env, out, "droppedControlOverflow", sum(&PlaneCounters::dropped_control_overflow));
  SetNamed(env, out, "gsoSends", sum(&PlaneCounters::gso_sends));
  SetNamed(env, out, "relays", static_cast<double>(plane->RelayCount()));
  SetNamed(env, out, "streamConnections", static_cast<double>(plane->StreamConnections()));
  SetNamed(env, out, "streamAccepted", sum(&PlaneCounters::stream_accepted));
  SetNamed(env, out, "streamClosed", sum(&PlaneCounters::stream_closed));
  SetNamed(env, out, "streamRefusedPerIp", sum(&PlaneCounters::stream_refused_per_ip));
  SetNamed(env, out, "streamRefusedMax", sum(&PlaneCounters::stream_refused_max));
  SetNamed(env, out, "streamFrames", sum(&PlaneCounters::stream_frames));
  SetNamed(env, out, "streamDroppedToClient", sum(&PlaneCounters::stream_dropped_to_client));
  SetNamed(env, out, "streamClosedIdle", sum(&PlaneCounters::stream_closed_idle));
  SetNamed(env, out, "streamClosedSlow", sum(&PlaneCounters::stream_closed_slow));
  SetNamed(env, out, "streamClosedFraming", sum(&PlaneCounters::stream_closed_framing));
  SetNamed(env, out, "streamWrites", sum(&PlaneCounters::stream_writes));
  SetNamed(env, out, "streamTlsFailures", sum(&PlaneCounters::stream_tls_failures));
  return out;
}

napi_value RelayTraffic(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  uint32_t id;
  if (!GetU32(env, argv[1], UINT32_MAX, &id)) return Throw(env, "NATIVE_BAD_ARGUMENT", "expected a relay id");
  const Relay* relay = plane->FindRelay(id);
  if (relay == nullptr) return Throw(env, "NATIVE_RELAY", "unknown relay");
  napi_value out;
  CHECK_NAPI(env, napi_create_object(env, &out));
  SetNamed(env, out, "packetsToClient", static_cast<double>(relay->packets_to_client));
  SetNamed(env, out, "bytesToClient", static_cast<double>(relay->bytes_to_client));
  SetNamed(env, out, "packetsToPeer", static_cast<double>(relay->packets_to_peer + relay->js_packets_to_peer));
  SetNamed(env, out, "bytesToPeer", static_cast<double>(relay->bytes_to_peer + relay->js_bytes_to_peer));
  return out;
}

// changedRelayTraffic(plane) -> Float64Array: for each relay whose data threads relayed something
// since the previous call, 5 numbers: id, packetsToClient, bytesToClient, packetsToPeer,
// bytesToPeer, cumulative, as relayTraffic but without sendFromRelay's sends (the caller counted
// those). One call per collection for all relays of the plane.
napi_value ChangedRelayTraffic(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  std::vector<double> values;
  plane->ChangedTraffic(&values);
  void* data = nullptr;
  napi_value buffer, out;
  CHECK_NAPI(env, napi_create_arraybuffer(env, values.size() * sizeof(double), &data, &buffer));
  if (!values.empty()) memcpy(data, values.data(), values.size() * sizeof(double));
  CHECK_NAPI(env, napi_create_typedarray(env, napi_float64_array, values.size(), buffer, 0, &out));
  return out;
}

// setActiveThreads(plane, active) -> { moved }: clients steered to the first `active` data threads;
// the relays whose owner changed were moved (RelayPlane::SetActiveWorkers).
napi_value SetActiveThreads(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  uint32_t active;
  const unsigned threads = plane->Info().threads;
  if (!GetU32(env, argv[1], threads, &active) || active < 1) {
    return Throw(env, "NATIVE_BAD_ARGUMENT", "active threads must be an integer from 1 to " + std::to_string(threads));
  }
  size_t moved = 0;
  std::string error;
  if (!plane->SetActiveWorkers(active, &moved, &error)) return Throw(env, "NATIVE_RELAY", error);
  napi_value out;
  CHECK_NAPI(env, napi_create_object(env, &out));
  SetNamed(env, out, "moved", static_cast<double>(moved));
  return out;
}

// planeInfo(plane): { threads, active, steering, gso, workers: [{ received, clientReceived,
// sentToPeer, sentToClient, handedToControl, cpuSeconds }] } — how the plane is laid out, per data
// thread.
napi_value PlaneInfoOf(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!Args(env, info, argv)) return nullptr;
  RelayPlane* plane = PlaneArg(env, argv[0]);
  if (plane == nullptr) return nullptr;
  const PlaneInfo layout = plane->Info();
  napi_value out, workers, flag;
  CHECK_NAPI(env, napi_create_object(env, &out));
  SetNamed(env, out, "threads", layout.threads);
  SetNamed(env, out, "active", layout.active);
  napi_get_boolean(env, layout.steering, &flag);
  napi_set_named_property(env, out, "steering", flag);
  napi_get_boolean(env, layout.gso, &flag);
  napi_set_named_property(env, out, "gso", flag);
  CHECK_NAPI(env, napi_create_array_with_length(env, layout.threads, &workers));
  for (unsigned i = 0; i < layout.threads; ++i) {
    napi_value worker;
    CHECK_NAPI(env, napi_create_object(env, &worker));
    const auto get = [plane, i](std::atomic<uint64_t> PlaneCounters::*field) {
      return static_cast<double>(plane->WorkerCounter(i, field));
    };
    SetNamed(env, worker, "received", get(&PlaneCounters::received));
    SetNamed(env, worker, "clientReceived", get(&PlaneCounters::client_received));
    SetNamed(env, worker, "sentToPeer", get(&PlaneCounters::sent_to_peer));
    SetNamed(env, worker, "sentToClient",
             get(&PlaneCounters::sent_channel_data) + get(&PlaneCounters::sent_data_indication));
    SetNamed(env, worker, "handedToControl", get(&PlaneCounters::handed_to_control));
    SetNamed(env, worker, "cpuSeconds", plane->WorkerCpuSeconds(i));
    napi_set_element(env, workers, i, worker);
  }
  napi_set_named_property(env, out, "workers", workers);
  return out;
}

// trimMemory() -> boolean: gives the C heap's free pages back to the kernel (glibc malloc_trim(0):
// every arena, not only the top of the main heap). Start-up (module loading, V8's compile jobs on
// its worker threads) and closing many relays free memory that malloc otherwise keeps resident.
// true when pages were returned; false when there was nothing to return or the C library has no
// malloc_trim (musl).
napi_value TrimMemory(napi_env env, napi_callback_info /*info*/) {
#if defined(__GLIBC__)
  const bool released = malloc_trim(0) != 0;
#else
  const bool released = false;
#endif
  napi_value out;
  CHECK_NAPI(env, napi_get_boolean(env, released, &out));
  return out;
}

// The V8 heap collected as V8's memory reducer would collect an idle one (npm start turns the
// reducer off: it ran full collections under paced relay load). The addon's only calls outside
// Node-API. The caller runs ageIdleHeap a few times, each in its own turn of the event loop, then
// collectIdleGarbage; each blocks the JS thread for some tens of ms.
//
// ageIdleHeap() -> undefined: one full collection for critical memory pressure
// (Isolate::MemoryPressureNotification, synchronous on this thread). Each such collection ages
// the bytecode of functions that did not run since the previous one; V8 drops it once it is old
// (--bytecode-old-age, 5 collections in Node 20's V8), to be compiled again if ever called: the
// bytecode of start-up's functions (configuration, module bodies, loading the store). Only
// collections V8 schedules itself age bytecode, not LowMemoryNotification's forced ones.
napi_value AgeIdleHeap(napi_env env, napi_callback_info /*info*/) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->MemoryPressureNotification(v8::MemoryPressureLevel::kCritical);
  napi_value out;
  CHECK_NAPI(env, napi_get_undefined(env, &out));
  return out;
}

// collectIdleGarbage() -> undefined: Isolate::LowMemoryNotification, full collections that
// compact the old space and shrink the new space to its minimum.
napi_value CollectIdleGarbage(napi_env env, napi_callback_info /*info*/) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  if (isolate != nullptr) isolate->LowMemoryNotification();
  napi_value out;
  CHECK_NAPI(env, napi_get_undefined(env, &out));
  return out;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"parseSendIndication", nullptr, ParseSend, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"classify", nullptr, Classify, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"createPlane", nullptr, CreatePlane, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"closePlane", nullptr, ClosePlane, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"openRelay", nullptr, OpenRelay, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setClient", nullptr, SetClient, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setPermissions", nullptr, SetPermissions, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setChannels", nullptr, SetChannels, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"closeRelay", nullptr, CloseRelay, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"counters", nullptr, Counters, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"openListener", nullptr, OpenListener, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sendToClient", nullptr, SendToClient, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sendFromRelay", nullptr, SendFromRelay, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"planeInfo", nullptr, PlaneInfoOf, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setActiveThreads", nullptr, SetActiveThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"relayTraffic", nullptr, RelayTraffic, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"changedRelayTraffic", nullptr, ChangedRelayTraffic, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"openStreamListener", nullptr, OpenStreamListener, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"streamSend", nullptr, StreamSend, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"streamClose", nullptr, StreamClose, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setStreamClient", nullptr, SetStreamClient, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setStreamTls", nullptr, SetStreamTls, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"trimMemory", nullptr, TrimMemory, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"ageIdleHeap", nullptr, AgeIdleHeap, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"collectIdleGarbage", nullptr, CollectIdleGarbage, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  InitTlsSession(env, exports);
  InitHmac(env, exports);
  return exports;
}

}  // namespace
}  // namespace icegate

NAPI_MODULE(NODE_GYP_MODULE_NAME, icegate::Init)
