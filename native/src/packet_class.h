// Demultiplexes one datagram arriving on the TURN listening port (RFC 8656 §12, RFC 7983 §7).
// Pure function over bytes, no allocation: the libFuzzer target in fuzz/ drives it directly.
#pragma once
#include <cstddef>
#include <cstdint>

namespace icegate {

enum class PacketKind : uint8_t {
  kStun = 0,         // well-formed STUN header (RFC 8489 §5); handed to the TypeScript core
  kChannelData = 1,  // ChannelData with a bindable number and a valid length (RFC 8656 §12.4)
  kInvalid = 2,      // first byte claims STUN or ChannelData but the framing is wrong
  kOther = 3,        // anything else (DTLS, RTP, noise): not ours on a TURN port
};

enum class InvalidReason : uint8_t {
  kNone = 0,
  kTooShort = 1,           // fewer bytes than the fixed header
  kBadCookie = 2,          // STUN magic cookie missing (RFC 8489 §5)
  kBadStunLength = 3,      // length not a multiple of 4 or not matching the datagram
  kChannelTruncated = 4,   // length field longer than the bytes received (RFC 8656 §12.6)
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

// Channel numbers a client may bind: RFC 8656 §12 says 0x4000-0x4FFF, RFC 5766 §11 said
// 0x4000-0x7FFF; the TypeScript core takes the wider range (src/turn/channel-number.ts), so do we.
constexpr uint16_t kMinChannel = 0x4000;
constexpr uint16_t kMaxChannel = 0x7FFF;

PacketClass ClassifyPacket(const uint8_t* data, size_t size);

// A Send indication the data path can relay itself (RFC 8656 §11.4, §18.3-18.4).
struct SendIndication {
  uint8_t address_length;  // 4 (IPv4) or 16 (IPv6): the XOR-PEER-ADDRESS family
  uint8_t address[16];     // peer IP, network order, already un-XORed
  uint16_t port;           // peer port, host order
  uint16_t data_offset;    // DATA value: data + data_offset, data_length bytes
  uint16_t data_length;
};

enum class SendParse : uint8_t {
  kOk = 0,       // *out is filled; every offset in it is inside the datagram
  kNotSend = 1,  // not a well-framed Send indication (0x0016): the caller goes on as before
  kOdd = 2,      // a Send indication the native side will not decide: hand it to TypeScript
};

// Parses a Send indication from a client. Accepts exactly: one XOR-PEER-ADDRESS (family 1 or 2),
// one DATA, optional DONT-FRAGMENT (ignored, as the TypeScript core does), comprehension-optional
// attributes (ignored, RFC 8489 §14), and a FINGERPRINT that is last and correct (§14.7).
// Anything else — unknown comprehension-required attributes (RFC 8489 §6.3.2), MESSAGE-INTEGRITY,
// duplicates, bad lengths or padding — is kOdd. Pure and allocation-free; fuzzed in native/fuzz.
SendParse ParseSendIndication(const uint8_t* data, size_t size, SendIndication* out);

// CRC-32 (ISO-HDLC, as zlib) used by FINGERPRINT.
uint32_t Crc32(const uint8_t* data, size_t size);
constexpr uint32_t kFingerprintXor = 0x5354554e;
constexpr uint16_t kSendIndication = 0x0016;

}  // namespace icegate
