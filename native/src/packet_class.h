// Demultiplexes one datagram arriving on the TURN listening port (RFC 8656 §12, RFC 7983 §7).
// Pure function over bytes, no allocation: the libFuzzer target in fuzz/ drives it directly.
#pragma once
#include <cstddef>
#include <cstdint>

namespace icegate {

enum class PacketKind : uint8_t {
  kStun = 0,         // well-formed STUN header (RFC 8489 §5); handed to the TypeScript core
  kChannelData = 1,  // ChannelData with a valid number and length (RFC 8656 §12.4)
  kInvalid = 2,      // first byte claims STUN or ChannelData but the framing is wrong
  kOther = 3,        // anything else (DTLS, RTP, noise): not ours on a TURN port
};

enum class InvalidReason : uint8_t {
  kNone = 0,
  kTooShort = 1,           // fewer bytes than the fixed header
  kBadCookie = 2,          // STUN magic cookie missing (RFC 8489 §5)
  kBadStunLength = 3,      // length not a multiple of 4 or not matching the datagram
  kReservedChannel = 4,    // 0x5000-0x7FFF are reserved (RFC 8656 §12)
  kChannelTruncated = 5,   // length field longer than the bytes received
  kChannelTrailing = 6,    // more than 3 bytes after the payload: not padding (RFC 8656 §12.5)
};

struct PacketClass {
  PacketKind kind;
  InvalidReason reason;
  uint16_t channel;         // ChannelData only
  uint16_t payload_length;  // ChannelData: the length field; STUN: the message length field
};

// The ChannelData header is 4 bytes; a STUN header 20 (RFC 8656 §12.4, RFC 8489 §5).
constexpr size_t kChannelDataHeader = 4;
constexpr size_t kStunHeader = 20;
constexpr uint32_t kMagicCookie = 0x2112A442;

PacketClass ClassifyPacket(const uint8_t* data, size_t size);

}  // namespace icegate
