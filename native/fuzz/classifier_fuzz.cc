// libFuzzer entry for the packet classifier; built by scripts in a later step, e.g.
//   clang++ -g -O1 -fsanitize=fuzzer,address,undefined -I../src classifier_fuzz.cc ../src/packet_class.cc
// The invariants asserted here are the ones the relay relies on before touching the payload.
#include <cstdlib>

#include "packet_class.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const icegate::PacketClass c = icegate::ClassifyPacket(data, size);
  if (c.kind == icegate::PacketKind::kChannelData) {
    if (c.channel < 0x4000 || c.channel > 0x4FFF) abort();
    if (icegate::kChannelDataHeader + c.payload_length > size) abort();
  }
  if (c.kind == icegate::PacketKind::kStun && icegate::kStunHeader + c.payload_length != size) abort();
  return 0;
}
