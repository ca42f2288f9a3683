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

  // RFC 7983 §7: 0-3 is STUN, 64-79 is TURN ChannelData. RFC 5766 §11 let clients bind
  // 0x4000-0x7FFF, and its clients still do (coturn's turnutils_uclient picks from all of it); the
  // TypeScript core accepts that range (src/turn/channel-number.ts), so ChannelData is every first
  // byte 0x40-0x7F (the two top bits 0b01, as the core's dispatch tests).
  if (first <= 3) {
    if (size < kStunHeader) return Invalid(InvalidReason::kTooShort);
    if (ReadU32(data + 4) != kMagicCookie) return Invalid(InvalidReason::kBadCookie);
    const uint16_t length = ReadU16(data + 2);
    // RFC 8489 §5: attributes are 4-byte aligned, and over UDP one datagram is one message.
    if ((length & 3) != 0 || kStunHeader + length != size) return Invalid(InvalidReason::kBadStunLength);
    return PacketClass{PacketKind::kStun, InvalidReason::kNone, 0, length};
  }

  if ((first & 0xC0) == 0x40) {
    if (size < kChannelDataHeader) return Invalid(InvalidReason::kTooShort);
    // Every number with the top bits 0b01 is bindable (0x4000-0x7FFF, see packet_class.h).
    const uint16_t channel = ReadU16(data);
    const uint16_t length = ReadU16(data + 2);
    const size_t available = size - kChannelDataHeader;
    // RFC 8656 §12.6: a datagram too short for the length it claims is discarded. Bytes after the
    // data are ignored (padding is optional over UDP, §12.5, and nothing says more is an error),
    // as the TypeScript core ignores them (src/turn/channel-data.ts); only the data is relayed.
    if (length > available) return Invalid(InvalidReason::kChannelTruncated);
    return PacketClass{PacketKind::kChannelData, InvalidReason::kNone, channel, length};
  }

  return PacketClass{PacketKind::kOther, InvalidReason::kNone, 0, 0};
}

namespace {

struct CrcTable {
  uint32_t v[256];
  CrcTable() {
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      v[n] = c;
    }
  }
};
const CrcTable kCrc;

constexpr uint16_t kAttrXorPeerAddress = 0x0012;
constexpr uint16_t kAttrData = 0x0013;
constexpr uint16_t kAttrDontFragment = 0x001A;
constexpr uint16_t kAttrFingerprint = 0x8028;

}  // namespace

uint32_t Crc32(const uint8_t* data, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) crc = kCrc.v[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

SendParse ParseSendIndication(const uint8_t* data, size_t size, SendIndication* out) {
  // The same framing checks as the classifier (RFC 8489 §5), then the message type.
  if (size < kStunHeader || size > 0xFFFF + kStunHeader) return SendParse::kNotSend;
  if (ReadU16(data) != kSendIndication || ReadU32(data + 4) != kMagicCookie) return SendParse::kNotSend;
  const size_t length = ReadU16(data + 2);
  if ((length & 3) != 0 || kStunHeader + length != size) return SendParse::kNotSend;

  bool have_peer = false;
  bool have_data = false;
  size_t at = kStunHeader;
  while (at < size) {
    // Every attribute header and padded value lies inside the message (RFC 8489 §14).
    if (size - at < 4) return SendParse::kOdd;
    const uint16_t type = ReadU16(data + at);
    const size_t value_length = ReadU16(data + at + 2);
    const size_t padded = (value_length + 3) & ~static_cast<size_t>(3);
    if (padded > size - at - 4) return SendParse::kOdd;
    const uint8_t* value = data + at + 4;
    switch (type) {
      case kAttrXorPeerAddress: {
        // RFC 8489 §14.2: reserved byte, family, X-Port, X-Address; the mask is the cookie then
        // the transaction id.
        if (have_peer || value_length < 4) return SendParse::kOdd;
        const uint8_t family = value[1];
        const size_t address_length = family == 0x01 ? 4 : family == 0x02 ? 16 : 0;
        if (address_length == 0 || value_length != 4 + address_length) return SendParse::kOdd;
        out->address_length = static_cast<uint8_t>(address_length);
        out->port = static_cast<uint16_t>(ReadU16(value + 2) ^ (kMagicCookie >> 16));
        for (size_t i = 0; i < address_length; ++i) out->address[i] = value[4 + i] ^ data[4 + i];
        have_peer = true;
        break;
      }
      case kAttrData:
        if (have_data) return SendParse::kOdd;
        out->data_offset = static_cast<uint16_t>(at + 4);
        out->data_length = static_cast<uint16_t>(value_length);
        have_data = true;
        break;
      case kAttrDontFragment:
        // RFC 8656 §14.8: no value. Ignored, as the TypeScript core does (it cannot set DF either).
        if (value_length != 0) return SendParse::kOdd;
        break;
      case kAttrFingerprint: {
        // RFC 8489 §14.7: last, 4 bytes, CRC-32 of the message before it XOR 0x5354554e (with the
        // header length already counting the FINGERPRINT, as it does here).
        if (value_length != 4 || at + 8 != size) return SendParse::kOdd;
        if ((Crc32(data, at) ^ kFingerprintXor) != ReadU32(value)) return SendParse::kOdd;
        break;
      }
      default:
        // Unknown comprehension-required (0x0000-0x7FFF), MESSAGE-INTEGRITY and the like: TypeScript.
        if (type < 0x8000) return SendParse::kOdd;
        break;
    }
    at += 4 + padded;
  }
  return have_peer && have_data ? SendParse::kOk : SendParse::kOdd;
}

}  // namespace icegate
