#include "packet_class.h"

namespace icegate {

namespace {

uint16_t ReadU16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

uint32_t ReadU32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

PacketClass Invalid(InvalidReason reason) { return PacketClass{PacketKind::kInvalid, reason, 0, 0}; }

}  // namespace

PacketClass ClassifyPacket(const uint8_t* data, size_t size) {
  if (size == 0) return PacketClass{PacketKind::kOther, InvalidReason::kNone, 0, 0};
  const uint8_t first = data[0];

  // RFC 7983 §7: 0-3 is STUN, 64-79 is TURN ChannelData.
  if (first <= 3) {
    if (size < kStunHeader) return Invalid(InvalidReason::kTooShort);
    if (ReadU32(data + 4) != kMagicCookie) return Invalid(InvalidReason::kBadCookie);
    const uint16_t length = ReadU16(data + 2);
    // RFC 8489 §5: attributes are 4-byte aligned, and over UDP one datagram is one message.
    if ((length & 3) != 0 || kStunHeader + length != size) return Invalid(InvalidReason::kBadStunLength);
    return PacketClass{PacketKind::kStun, InvalidReason::kNone, 0, length};
  }

  if (first >= 64 && first <= 79) {
    if (size < kChannelDataHeader) return Invalid(InvalidReason::kTooShort);
    const uint16_t channel = ReadU16(data);
    // RFC 8656 §12: only 0x4000-0x4FFF may be bound; the first byte already excludes 0x5000+.
    if (channel > 0x4FFF) return Invalid(InvalidReason::kReservedChannel);
    const uint16_t length = ReadU16(data + 2);
    const size_t available = size - kChannelDataHeader;
    if (length > available) return Invalid(InvalidReason::kChannelTruncated);
    // RFC 8656 §12.5: over UDP padding is optional, so up to 3 trailing bytes are tolerated.
    if (available - length > 3) return Invalid(InvalidReason::kChannelTrailing);
    return PacketClass{PacketKind::kChannelData, InvalidReason::kNone, channel, length};
  }

  return PacketClass{PacketKind::kOther, InvalidReason::kNone, 0, 0};
}

}  // namespace icegate
