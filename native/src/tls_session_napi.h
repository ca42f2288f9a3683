// N-API face of TlsSession for tests (test/unit/native/tls-session.test.ts); the data plane uses
// the C++ classes directly.
#ifndef ICEGATE_TLS_SESSION_NAPI_H_
#define ICEGATE_TLS_SESSION_NAPI_H_

#include <node_api.h>

namespace icegate {
// Adds tlsContext, tlsSession, tlsReceive, tlsSend, tlsSendEach, tlsShutdown, tlsState to exports.
void InitTlsSession(napi_env env, napi_value exports);
}  // namespace icegate

#endif  // ICEGATE_TLS_SESSION_NAPI_H_
