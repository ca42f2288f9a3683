// HMAC-SHA1 and HMAC-SHA256 (RFC 2104) for the STUN control path: MESSAGE-INTEGRITY and
// MESSAGE-INTEGRITY-SHA256 (RFC 8489 sections 14.5 and 14.6) and the stateless nonce's MAC.
#ifndef ICEGATE_HMAC_H_
#define ICEGATE_HMAC_H_

#include <node_api.h>

#include <cstddef>
#include <cstdint>

namespace icegate {

/** A piece of the message to authenticate. */
struct HmacPart {
  const uint8_t* data;
  size_t size;
};

/** Digest sizes of the two algorithms. */
constexpr size_t kSha1Digest = 20;
constexpr size_t kSha256Digest = 32;

// HMAC of the concatenated parts under key; out receives kSha1Digest / kSha256Digest bytes.
void HmacSha1(const uint8_t* key, size_t key_size, const HmacPart* parts, size_t count, uint8_t* out);
void HmacSha256(const uint8_t* key, size_t key_size, const HmacPart* parts, size_t count, uint8_t* out);

// Adds hmacInto to exports (see hmac.cc).
void InitHmac(napi_env env, napi_value exports);

}  // namespace icegate

#endif  // ICEGATE_HMAC_H_
