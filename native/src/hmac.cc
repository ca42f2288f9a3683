// HMAC (RFC 2104) over OpenSSL's SHA-1 and SHA-256 block functions, the ones of the Node process
// that loads the addon. Issue 19: each authenticated Allocate computes four MACs (the nonce issued
// with the 401 and checked on the signed request, MESSAGE-INTEGRITY checked and then written on the
// response). Node's createHmac builds a JS Hmac object, a C++ wrapper and an OpenSSL 3 MAC context
// (a provider lookup) for each, about 2 µs; here the same MAC is the hash compressions alone,
// written into a buffer the caller already has, with no allocation.
//
//   hmacInto(algorithm: 1 | 256, key: Buffer, out: Buffer, outOffset, outLength, ...parts)
//     parts: one to three Buffers or strings (UTF-8), hashed in order as one message.
//     Writes the first outLength bytes of the MAC at out[outOffset]; returns undefined.
//     Throws NATIVE_BAD_ARGUMENT for anything else (unknown algorithm, a range outside out,
//     outLength 0 or longer than the digest, a part of another type).
//
// test/unit/native/hmac.test.ts checks it against node:crypto for random keys and messages.

// SHA1_Init and the others are deprecated in OpenSSL 3 in favour of EVP, whose per-call context
// is what this file avoids; they remain in the OpenSSL 3.0 and 3.5 that Node 20 and 24 carry.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "hmac.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cstring>
#include <string>

namespace icegate {
namespace {

constexpr size_t kBlock = 64;  // the block size of SHA-1 and SHA-256
constexpr size_t kMaxParts = 3;

struct Sha1 {
  using Ctx = SHA_CTX;
  static constexpr size_t kDigest = kSha1Digest;
  static void Init(Ctx* c) { SHA1_Init(c); }
  static void Update(Ctx* c, const uint8_t* d, size_t n) { SHA1_Update(c, d, n); }
  static void Final(uint8_t* out, Ctx* c) { SHA1_Final(out, c); }
};

struct Sha256 {
  using Ctx = SHA256_CTX;
  static constexpr size_t kDigest = kSha256Digest;
  static void Init(Ctx* c) { SHA256_Init(c); }
  static void Update(Ctx* c, const uint8_t* d, size_t n) { SHA256_Update(c, d, n); }
  static void Final(uint8_t* out, Ctx* c) { SHA256_Final(out, c); }
};

template <typename H>
void Hmac(const uint8_t* key, size_t key_size, const HmacPart* parts, size_t count, uint8_t* out) {
  // K0: the key, or its hash when longer than a block, zero-padded to a block.
  uint8_t k0[kBlock] = {};
  typename H::Ctx ctx;
  if (key_size > kBlock) {
    H::Init(&ctx);
    H::Update(&ctx, key, key_size);
    H::Final(k0, &ctx);
  } else if (key_size > 0) {
    std::memcpy(k0, key, key_size);
  }
  uint8_t pad[kBlock];
  for (size_t i = 0; i < kBlock; ++i) pad[i] = k0[i] ^ 0x36;
  uint8_t inner[H::kDigest];
  H::Init(&ctx);
  H::Update(&ctx, pad, kBlock);
  for (size_t i = 0; i < count; ++i) H::Update(&ctx, parts[i].data, parts[i].size);
  H::Final(inner, &ctx);
  for (size_t i = 0; i < kBlock; ++i) pad[i] = k0[i] ^ 0x5c;
  H::Init(&ctx);
  H::Update(&ctx, pad, kBlock);
  H::Update(&ctx, inner, H::kDigest);
  H::Final(out, &ctx);
  // The key's traces do not outlive the call.
  OPENSSL_cleanse(k0, sizeof(k0));
  OPENSSL_cleanse(pad, sizeof(pad));
  OPENSSL_cleanse(inner, sizeof(inner));
  OPENSSL_cleanse(&ctx, sizeof(ctx));
}

napi_value Fail(napi_env env, const char* message) {
  napi_throw_error(env, "NATIVE_BAD_ARGUMENT", message);
  return nullptr;
}

bool BufferArg(napi_env env, napi_value value, uint8_t** data, size_t* size) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer) return false;
  void* raw = nullptr;
  if (napi_get_buffer_info(env, value, &raw, size) != napi_ok) return false;
  *data = static_cast<uint8_t*>(raw);
  return true;
}

bool IntegerArg(napi_env env, napi_value value, size_t max, size_t* out) {
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok) return false;
  if (!(d >= 0 && d <= static_cast<double>(max)) || d != static_cast<double>(static_cast<size_t>(d))) return false;
  *out = static_cast<size_t>(d);
  return true;
}

napi_value HmacInto(napi_env env, napi_callback_info info) {
  size_t argc = 5 + kMaxParts + 1;
  napi_value argv[5 + kMaxParts + 1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return Fail(env, "napi failure");
  if (argc < 6) return Fail(env, "expected (algorithm, key, out, outOffset, outLength, ...parts)");
  if (argc > 5 + kMaxParts) return Fail(env, "at most three parts");
  size_t algorithm = 0;
  if (!IntegerArg(env, argv[0], 256, &algorithm) || (algorithm != 1 && algorithm != 256)) {
    return Fail(env, "algorithm must be 1 (SHA-1) or 256 (SHA-256)");
  }
  const size_t digest = algorithm == 1 ? kSha1Digest : kSha256Digest;
  uint8_t* key = nullptr;
  size_t key_size = 0;
  if (!BufferArg(env, argv[1], &key, &key_size)) return Fail(env, "key must be a Buffer");
  uint8_t* out = nullptr;
  size_t out_size = 0;
  if (!BufferArg(env, argv[2], &out, &out_size)) return Fail(env, "out must be a Buffer");
  size_t offset = 0;
  size_t length = 0;
  if (!IntegerArg(env, argv[3], out_size, &offset) || !IntegerArg(env, argv[4], digest, &length) || length == 0 ||
      offset + length > out_size) {
    return Fail(env, "outOffset and outLength must give 1 to the digest's size bytes inside out");
  }
  HmacPart parts[kMaxParts];
  std::string texts[kMaxParts];
  const size_t count = argc - 5;
  for (size_t i = 0; i < count; ++i) {
    napi_value part = argv[5 + i];
    napi_valuetype type;
    if (napi_typeof(env, part, &type) != napi_ok) return Fail(env, "napi failure");
    if (type == napi_string) {
      size_t n = 0;
      if (napi_get_value_string_utf8(env, part, nullptr, 0, &n) != napi_ok) return Fail(env, "napi failure");
      texts[i].resize(n + 1);
      if (napi_get_value_string_utf8(env, part, texts[i].data(), n + 1, &n) != napi_ok) {
        return Fail(env, "napi failure");
      }
      parts[i] = {reinterpret_cast<const uint8_t*>(texts[i].data()), n};
      continue;
    }
    uint8_t* data = nullptr;
    size_t size = 0;
    if (!BufferArg(env, part, &data, &size)) return Fail(env, "each part must be a Buffer or a string");
    parts[i] = {data, size};
  }
  uint8_t mac[kSha256Digest];
  if (algorithm == 1) {
    HmacSha1(key, key_size, parts, count, mac);
  } else {
    HmacSha256(key, key_size, parts, count, mac);
  }
  // out may be one of the parts (the builder signs the message it writes into): the MAC is
  // complete before any byte of out changes.
  std::memcpy(out + offset, mac, length);
  OPENSSL_cleanse(mac, sizeof(mac));
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

}  // namespace

void HmacSha1(const uint8_t* key, size_t key_size, const HmacPart* parts, size_t count, uint8_t* out) {
  Hmac<Sha1>(key, key_size, parts, count, out);
}

void HmacSha256(const uint8_t* key, size_t key_size, const HmacPart* parts, size_t count, uint8_t* out) {
  Hmac<Sha256>(key, key_size, parts, count, out);
}

void InitHmac(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"hmacInto", nullptr, HmacInto, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}

}  // namespace icegate
