// A stand-in for libFuzzer where clang is absent (these machines have g++ only): feeds random and
// mutated-valid datagrams to LLVMFuzzerTestOneInput for a bounded time, under ASan and UBSan.
// Not coverage-guided; with clang, link classifier_fuzz.cc with -fsanitize=fuzzer instead.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "packet_class.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

extern unsigned long long g_send_accepted;

namespace {

uint64_t g_send_built = 0;

void PutU16(std::vector<uint8_t>* b, size_t at, uint16_t v) {
  (*b)[at] = static_cast<uint8_t>(v >> 8);
  (*b)[at + 1] = static_cast<uint8_t>(v);
}

// A Send indication built from random attributes (XOR-PEER-ADDRESS, DATA, DONT-FRAGMENT,
// FINGERPRINT, random types), then sometimes mutated: a byte flipped, the tail cut, a length off.
void MakeSendIndication(std::mt19937_64& rng, std::vector<uint8_t>* buf) {
  std::vector<uint8_t>& b = *buf;
  b.assign(20, 0);
  b[1] = 0x16;
  const uint8_t cookie[4] = {0x21, 0x12, 0xA4, 0x42};
  memcpy(b.data() + 4, cookie, 4);
  for (int i = 8; i < 20; ++i) b[i] = static_cast<uint8_t>(rng());
  const int attributes = static_cast<int>(rng() % 5);
  for (int a = 0; a < attributes; ++a) {
    static const uint16_t kTypes[] = {0x0012, 0x0013, 0x001A, 0x8028, 0x0008, 0x8022};
    const uint16_t type = (rng() % 8) < 6 ? kTypes[rng() % 6] : static_cast<uint16_t>(rng());
    size_t length;
    switch (type) {
      case 0x0012: length = (rng() & 1) ? 8 : 20; break;
      case 0x001A: length = 0; break;
      case 0x8028: length = 4; break;
      default: length = rng() % 40; break;
    }
    const size_t at = b.size();
    b.resize(at + 4 + ((length + 3) & ~static_cast<size_t>(3)));
    PutU16(&b, at, type);
    PutU16(&b, at + 2, static_cast<uint16_t>(length));
    for (size_t i = 0; i < length; ++i) b[at + 4 + i] = static_cast<uint8_t>(rng());
    if (type == 0x0012) b[at + 5] = (length == 8) ? 1 : 2;
  }
  PutU16(&b, 2, static_cast<uint16_t>(b.size() - 20));
  if (rng() & 1) {
    // A correct FINGERPRINT last (RFC 8489 §14.7), so the accepting path is reached too.
    const size_t at = b.size();
    b.resize(at + 8);
    PutU16(&b, 2, static_cast<uint16_t>(b.size() - 20));
    PutU16(&b, at, 0x8028);
    PutU16(&b, at + 2, 4);
    const uint32_t crc = icegate::Crc32(b.data(), at) ^ icegate::kFingerprintXor;
    PutU16(&b, at + 4, static_cast<uint16_t>(crc >> 16));
    PutU16(&b, at + 6, static_cast<uint16_t>(crc));
  }
  switch (rng() % 4) {
    case 0: b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
    case 1: b.resize(b.size() - (rng() % b.size())); break;
    case 2: PutU16(&b, 2, static_cast<uint16_t>(b.size() - 20 + 4 * (rng() % 3))); break;
    default: break;
  }
  ++g_send_built;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? atof(argv[1]) : 10.0;
  const uint64_t seed = argc > 2 ? strtoull(argv[2], nullptr, 10) : std::random_device{}();
  std::mt19937_64 rng(seed);
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t runs = 0;
  std::vector<uint8_t> buf;
  while (std::chrono::steady_clock::now() < end) {
    for (int batch = 0; batch < 4096; ++batch, ++runs) {
      const size_t size = rng() % 80;
      // Each input goes in its own heap block of exactly `size` bytes so ASan sees any overread.
      buf.assign(size, 0);
      for (auto& b : buf) b = static_cast<uint8_t>(rng());
      if (size >= 4 && (rng() & 1)) {
        // Bias toward the interesting prefixes: ChannelData numbers and STUN headers.
        if (rng() & 1) {
          buf[0] = static_cast<uint8_t>(0x40 | (rng() & 0x3F));
          const uint16_t length = static_cast<uint16_t>(size - 4 - (rng() % 6));
          buf[2] = static_cast<uint8_t>(length >> 8);
          buf[3] = static_cast<uint8_t>(length);
        } else if (size >= 8) {
          buf[0] = static_cast<uint8_t>(rng() & 3);
          const uint16_t length = static_cast<uint16_t>(size >= 20 ? size - 20 + (rng() % 3) : rng());
          buf[2] = static_cast<uint8_t>(length >> 8);
          buf[3] = static_cast<uint8_t>(length);
          const uint8_t cookie[4] = {0x21, 0x12, 0xA4, 0x42};
          memcpy(buf.data() + 4, cookie, 4);
        }
      }
      if (size >= 20 && (rng() % 3) == 0) MakeSendIndication(rng, &buf);
      const size_t final_size = buf.size();
      uint8_t* exact = static_cast<uint8_t*>(malloc(final_size == 0 ? 1 : final_size));
      if (final_size > 0) memcpy(exact, buf.data(), final_size);
      LLVMFuzzerTestOneInput(exact, final_size);
      free(exact);
    }
  }
  printf("classifier fuzz: %llu inputs (%llu Send indications built, %llu accepted by the parser) in %.1f s, "
         "seed %llu, no crash\n",
         static_cast<unsigned long long>(runs), static_cast<unsigned long long>(g_send_built), g_send_accepted,
         seconds, static_cast<unsigned long long>(seed));
  return 0;
}
