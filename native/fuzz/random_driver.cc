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

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

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
      uint8_t* exact = static_cast<uint8_t*>(malloc(size == 0 ? 1 : size));
      if (size > 0) memcpy(exact, buf.data(), size);
      LLVMFuzzerTestOneInput(exact, size);
      free(exact);
    }
  }
  printf("classifier fuzz: %llu inputs in %.1f s, seed %llu, no crash\n", static_cast<unsigned long long>(runs),
         seconds, static_cast<unsigned long long>(seed));
  return 0;
}
