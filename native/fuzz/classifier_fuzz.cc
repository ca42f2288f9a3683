// libFuzzer entry for the packet classifier and the Send indication parser; built by scripts in a later step, e.g.
//   clang++ -g -O1 -fsanitize=fuzzer,address,undefined -I../src classifier_fuzz.cc ../src/packet_class.cc
// The invariants asserted here are the ones the relay relies on before touching the payload.
#include <cstdlib>

#include "packet_class.h"

// How many inputs the Send parser accepted (reported by random_driver.cc).
unsigned long long g_send_accepted = 0;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const icegate::PacketClass c = icegate::ClassifyPacket(data, size);
  if (c.kind == icegate::PacketKind::kChannelData) {
    if (c.channel < icegate::kMinChannel || c.channel > icegate::kMaxChannel) abort();
    if (icegate::kChannelDataHeader + c.payload_length > size) abort();
  }
  if (c.kind == icegate::PacketKind::kStun && icegate::kStunHeader + c.payload_length != size) abort();

  // Send indications (RFC 8656 §11.4): the relay sends data[data_offset, +data_length) to the
  // parsed peer, so an accepted parse must stay inside the datagram and agree with the classifier.
  icegate::SendIndication send;
  const icegate::SendParse parsed = icegate::ParseSendIndication(data, size, &send);
  if (parsed != icegate::SendParse::kNotSend) {
    if (c.kind != icegate::PacketKind::kStun) abort();
    if (size < 2 || data[0] != 0x00 || data[1] != 0x16) abort();
  }
  if (parsed == icegate::SendParse::kOk) {
    if (send.address_length != 4 && send.address_length != 16) abort();
    if (send.data_offset < icegate::kStunHeader + 4) abort();
    if (static_cast<size_t>(send.data_offset) + send.data_length > size) abort();
    ++g_send_accepted;
  }
  return 0;
}
