#include "relay_plane.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <random>

#include "packet_class.h"

namespace icegate {

namespace {

constexpr unsigned kBatch = 32;             // datagrams per recvmmsg/sendmmsg
constexpr unsigned kBatchesPerWakeup = 8;   // then yield to the loop so JS is not starved
constexpr size_t kBufferSize = 65536;       // any UDP datagram fits: no MSG_TRUNC
constexpr size_t kMaxUdpPayload = 65507;    // IPv4 limit; also applied to IPv6 for simplicity
constexpr size_t kHeaderRoom = 64;          // largest header: Data indication over IPv6 is 48
constexpr uint16_t kDataIndication = 0x0017;  // RFC 8656 §17 (Data, indication class)
constexpr uint16_t kAttrXorPeerAddress = 0x0012;
constexpr uint16_t kAttrData = 0x0013;
const uint8_t kZeroPad[4] = {0, 0, 0, 0};

void PutU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void PutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// Raw address bytes of a peer, the key of the permission table (RFC 8656 §9: by IP only).
std::string AddressKey(const sockaddr_storage& sa) {
  if (sa.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&sa);
    return std::string(reinterpret_cast<const char*>(&in->sin_addr), 4);
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&sa);
  return std::string(reinterpret_cast<const char*>(&in6->sin6_addr), 16);
}

uint16_t PortOf(const sockaddr_storage& sa) {
  if (sa.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&sa)->sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&sa)->sin6_port);
}

// Channel key: address bytes then the port, so one peer transport address maps to one channel.
std::string ChannelKey(const std::string& address, uint16_t port) {
  std::string key = address;
  key.push_back(static_cast<char>(port >> 8));
  key.push_back(static_cast<char>(port & 0xFF));
  return key;
}

bool ParseIp(const std::string& ip, int* family, std::string* bytes) {
  uint8_t buf[16];
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) {
    *family = AF_INET;
    bytes->assign(reinterpret_cast<char*>(buf), 4);
    return true;
  }
  if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
    *family = AF_INET6;
    bytes->assign(reinterpret_cast<char*>(buf), 16);
    return true;
  }
  return false;
}

// Builds the sockaddr for `ip`:`port` in `family`, mapping IPv4 into IPv6 for dual-stack sockets.
bool MakeSockaddr(int family, const std::string& ip, uint16_t port, sockaddr_storage* out, socklen_t* len) {
  int parsed_family;
  std::string bytes;
  if (!ParseIp(ip, &parsed_family, &bytes)) return false;
  memset(out, 0, sizeof(*out));
  if (family == AF_INET) {
    if (parsed_family != AF_INET) return false;
    auto* in = reinterpret_cast<sockaddr_in*>(out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    memcpy(&in->sin_addr, bytes.data(), 4);
    *len = sizeof(sockaddr_in);
    return true;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port);
  if (parsed_family == AF_INET) {
    uint8_t* a = reinterpret_cast<uint8_t*>(&in6->sin6_addr);
    a[10] = 0xFF;
    a[11] = 0xFF;
    memcpy(a + 12, bytes.data(), 4);
  } else {
    memcpy(&in6->sin6_addr, bytes.data(), 16);
  }
  *len = sizeof(sockaddr_in6);
  return true;
}

// Writes a Data indication header with XOR-PEER-ADDRESS and the DATA attribute header
// (RFC 8656 §11.6, §18.3, §18.4; XOR encoding RFC 8489 §14.2). Returns its length.
size_t WriteDataIndicationHeader(uint8_t* out, const sockaddr_storage& peer, size_t payload_length,
                                 const uint8_t txid[12]) {
  const bool v6 = peer.ss_family == AF_INET6;
  const size_t address_length = v6 ? 16 : 4;
  const size_t xor_peer_value = 4 + address_length;
  const size_t padded = (payload_length + 3) & ~static_cast<size_t>(3);
  const size_t body = 4 + xor_peer_value + 4 + padded;
  PutU16(out, kDataIndication);
  PutU16(out + 2, static_cast<uint16_t>(body));
  PutU32(out + 4, kMagicCookie);
  memcpy(out + 8, txid, 12);
  uint8_t* a = out + kStunHeader;
  PutU16(a, kAttrXorPeerAddress);
  PutU16(a + 2, static_cast<uint16_t>(xor_peer_value));
  a[4] = 0;
  a[5] = v6 ? 0x02 : 0x01;
  PutU16(a + 6, static_cast<uint16_t>(PortOf(peer) ^ (kMagicCookie >> 16)));
  const std::string address = AddressKey(peer);
  // The mask is the cookie followed by the transaction id (RFC 8489 §14.2).
  uint8_t mask[16];
  PutU32(mask, kMagicCookie);
  memcpy(mask + 4, txid, 12);
  for (size_t i = 0; i < address_length; ++i) {
    a[8 + i] = static_cast<uint8_t>(static_cast<uint8_t>(address[i]) ^ mask[i]);
  }
  uint8_t* d = a + 4 + xor_peer_value;
  PutU16(d, kAttrData);
  PutU16(d + 2, static_cast<uint16_t>(payload_length));
  return kStunHeader + 4 + xor_peer_value + 4;
}

}  // namespace

RelayPlane::RelayPlane(uv_loop_t* loop, int listen_fd)
    : loop_(loop), listen_fd_(listen_fd), listen_family_(AF_INET), buffers_(kBatch * kBufferSize) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  if (getsockname(listen_fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) listen_family_ = sa.ss_family;
  std::random_device rd;
  txid_state_ = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ 0x9E3779B97F4A7C15ULL;
}

RelayPlane::~RelayPlane() { CloseAll(); }

Relay* RelayPlane::Find(uint32_t id) {
  auto it = relays_.find(id);
  return it == relays_.end() ? nullptr : it->second;
}

uint32_t RelayPlane::OpenRelay(const std::string& ip, uint16_t port, uint16_t* bound_port, std::string* error) {
  int family;
  std::string bytes;
  if (!ParseIp(ip, &family, &bytes)) {
    *error = "not an IP address literal";
    return 0;
  }
  sockaddr_storage sa;
  socklen_t len;
  MakeSockaddr(family, ip, port, &sa, &len);
  const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = strerror(errno);
    return 0;
  }
  if (family == AF_INET6) {
    // A relayed transport address has exactly one family (RFC 8656 §7.2 REQUESTED-ADDRESS-FAMILY).
    const int one = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0) {
    *error = strerror(errno);
    close(fd);
    return 0;
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  *bound_port = PortOf(bound);

  auto* relay = new Relay();
  relay->id = next_id_++;
  relay->fd = fd;
  relay->family = family;
  relay->plane = this;
  if (uv_poll_init(loop_, &relay->poll, fd) != 0) {
    *error = "uv_poll_init failed";
    close(fd);
    delete relay;
    return 0;
  }
  relay->poll.data = relay;
  uv_poll_start(&relay->poll, UV_READABLE, &RelayPlane::OnReadable);
  relays_[relay->id] = relay;
  return relay->id;
}

bool RelayPlane::SetClient(uint32_t id, const std::string& ip, uint16_t port, std::string* error) {
  Relay* relay = Find(id);
  if (relay == nullptr) {
    *error = "unknown relay";
    return false;
  }
  sockaddr_storage client;
  socklen_t client_len;
  if (!MakeSockaddr(listen_family_, ip, port, &client, &client_len)) {
    *error = "client address does not match the listening socket's family";
    return false;
  }
  const std::string key = ChannelKey(AddressKey(client), port);
  const auto owner = by_client_.find(key);
  // RFC 8656 §2.2: one allocation per client 5-tuple.
  if (owner != by_client_.end() && owner->second != relay) {
    *error = "client already has an allocation";
    return false;
  }
  if (!relay->client_key.empty()) by_client_.erase(relay->client_key);
  relay->client = client;
  relay->client_len = client_len;
  relay->client_key = key;
  by_client_[key] = relay;
  relay->has_client = true;
  return true;
}

bool RelayPlane::SetPermissions(uint32_t id, const std::vector<std::string>& ips, std::string* error) {
  Relay* relay = Find(id);
  if (relay == nullptr) {
    *error = "unknown relay";
    return false;
  }
  std::unordered_set<std::string> next;
  for (const auto& ip : ips) {
    int family;
    std::string bytes;
    if (!ParseIp(ip, &family, &bytes)) {
      *error = "not an IP address literal: " + ip;
      return false;
    }
    next.insert(bytes);
  }
  relay->permissions.swap(next);
  return true;
}

bool RelayPlane::SetChannels(uint32_t id, const std::vector<ChannelBinding>& bindings, std::string* error) {
  Relay* relay = Find(id);
  if (relay == nullptr) {
    *error = "unknown relay";
    return false;
  }
  std::unordered_map<std::string, uint16_t> next;
  std::unordered_map<uint16_t, Relay::Peer> next_peers;
  for (const auto& b : bindings) {
    int family;
    std::string bytes;
    if (!ParseIp(b.ip, &family, &bytes)) {
      *error = "not an IP address literal: " + b.ip;
      return false;
    }
    if (b.channel < 0x4000 || b.channel > 0x4FFF) {
      *error = "channel number outside 0x4000-0x4FFF";
      return false;
    }
    Relay::Peer peer{};
    if (family != relay->family || !MakeSockaddr(relay->family, b.ip, b.port, &peer.address, &peer.length)) {
      *error = "peer address family differs from the relay's";
      return false;
    }
    next[ChannelKey(bytes, b.port)] = b.channel;
    next_peers[b.channel] = peer;
  }
  relay->channels.swap(next);
  relay->peers_by_channel.swap(next_peers);
  return true;
}

bool RelayPlane::CloseRelay(uint32_t id) {
  Relay* relay = Find(id);
  if (relay == nullptr) return false;
  relays_.erase(id);
  if (!relay->client_key.empty()) by_client_.erase(relay->client_key);
  uv_poll_stop(&relay->poll);
  // The fd must outlive the poll handle; both go in the close callback.
  uv_close(reinterpret_cast<uv_handle_t*>(&relay->poll), [](uv_handle_t* handle) {
    auto* r = static_cast<Relay*>(handle->data);
    close(r->fd);
    delete r;
  });
  return true;
}

void RelayPlane::CloseAll() {
  std::vector<uint32_t> ids;
  ids.reserve(relays_.size());
  for (const auto& entry : relays_) ids.push_back(entry.first);
  for (uint32_t id : ids) CloseRelay(id);
  if (listener_ != nullptr) {
    uv_poll_stop(&listener_->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_->poll), [](uv_handle_t* handle) {
      auto* l = static_cast<Listener*>(handle->data);
      close(l->fd);
      delete l;
    });
    listener_ = nullptr;
    listen_fd_ = -1;
  }
}

bool RelayPlane::OpenListener(const std::string& ip, uint16_t port, ControlPacketSink sink, void* context,
                              uint16_t* bound_port, std::string* error) {
  if (listener_ != nullptr) {
    *error = "the plane already has a listening socket";
    return false;
  }
  int family;
  std::string bytes;
  if (!ParseIp(ip, &family, &bytes)) {
    *error = "not an IP address literal";
    return false;
  }
  sockaddr_storage sa;
  socklen_t len;
  MakeSockaddr(family, ip, port, &sa, &len);
  const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0) {
    *error = strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  *bound_port = PortOf(bound);
  auto* listener = new Listener();
  listener->fd = fd;
  listener->plane = this;
  if (uv_poll_init(loop_, &listener->poll, fd) != 0) {
    *error = "uv_poll_init failed";
    close(fd);
    delete listener;
    return false;
  }
  listener->poll.data = listener;
  uv_poll_start(&listener->poll, UV_READABLE, &RelayPlane::OnListenerReadable);
  listener_ = listener;
  listen_fd_ = fd;
  listen_family_ = family;
  sink_ = sink;
  sink_context_ = context;
  return true;
}

bool RelayPlane::SendToClient(const std::string& ip, uint16_t port, const uint8_t* data, size_t size,
                              std::string* error) {
  sockaddr_storage to;
  socklen_t to_len;
  if (!MakeSockaddr(listen_family_, ip, port, &to, &to_len)) {
    *error = "client address does not match the listening socket's family";
    return false;
  }
  if (sendto(listen_fd_, data, size, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), to_len) < 0) {
    counters_.send_errors.fetch_add(1, std::memory_order_relaxed);
    *error = strerror(errno);
    return false;
  }
  return true;
}

bool RelayPlane::SendFromRelay(uint32_t id, const std::string& ip, uint16_t port, const uint8_t* data, size_t size,
                               std::string* error) {
  Relay* relay = Find(id);
  if (relay == nullptr) {
    *error = "unknown relay";
    return false;
  }
  sockaddr_storage to;
  socklen_t to_len;
  if (!MakeSockaddr(relay->family, ip, port, &to, &to_len)) {
    *error = "peer address family differs from the relay's";
    return false;
  }
  // The permission check is the caller's (the TypeScript core decided to send).
  if (sendto(relay->fd, data, size, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), to_len) < 0) {
    counters_.send_errors.fetch_add(1, std::memory_order_relaxed);
    *error = strerror(errno);
    return false;
  }
  counters_.sent_to_peer.fetch_add(1, std::memory_order_relaxed);
  relay->packets_to_peer += 1;
  relay->bytes_to_peer += size;
  return true;
}

void RelayPlane::OnListenerReadable(uv_poll_t* handle, int status, int /*events*/) {
  if (status < 0) return;
  RelayPlane* plane = static_cast<Listener*>(handle->data)->plane;
  plane->DrainListener();
  // closePlane() from inside a control callback is deferred to here (see addon.cc).
  if (plane->delete_after_dispatch_) delete plane;
}

// Client -> peer: ChannelData of a known client on a bound channel goes out of the relay socket
// (RFC 8656 §12.6 receiving, §12.4 framing); STUN and unknown clients go to TypeScript.
void RelayPlane::DrainListener() {
  mmsghdr in[kBatch];
  iovec in_iov[kBatch];
  sockaddr_storage clients[kBatch];
  mmsghdr out[kBatch];
  iovec out_iov[kBatch];
  int out_fd[kBatch];
  Relay* out_relay[kBatch];
  unsigned control[kBatch];

  for (unsigned round = 0; round < kBatchesPerWakeup && listener_ != nullptr && !delete_after_dispatch_; ++round) {
    for (unsigned i = 0; i < kBatch; ++i) {
      in_iov[i].iov_base = buffers_.data() + i * kBufferSize;
      in_iov[i].iov_len = kBufferSize;
      memset(&in[i].msg_hdr, 0, sizeof(in[i].msg_hdr));
      in[i].msg_hdr.msg_name = &clients[i];
      in[i].msg_hdr.msg_namelen = sizeof(clients[i]);
      in[i].msg_hdr.msg_iov = &in_iov[i];
      in[i].msg_hdr.msg_iovlen = 1;
    }
    const int got = recvmmsg(listener_->fd, in, kBatch, MSG_DONTWAIT, nullptr);
    if (got <= 0) return;
    counters_.receive_batches.fetch_add(1, std::memory_order_relaxed);
    counters_.client_received.fetch_add(static_cast<uint64_t>(got), std::memory_order_relaxed);

    unsigned n = 0;
    unsigned controls = 0;
    for (int i = 0; i < got; ++i) {
      const auto* data = static_cast<const uint8_t*>(in_iov[i].iov_base);
      const size_t size = in[i].msg_len;
      const PacketClass c = ClassifyPacket(data, size);
      if (c.kind == PacketKind::kInvalid) {
        counters_.dropped_malformed.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      Relay* relay = nullptr;
      if (c.kind == PacketKind::kChannelData) {
        const auto owner = by_client_.find(ChannelKey(AddressKey(clients[i]), PortOf(clients[i])));
        if (owner != by_client_.end()) relay = owner->second;
      }
      if (relay == nullptr) {
        control[controls++] = static_cast<unsigned>(i);
        continue;
      }
      const auto peer = relay->peers_by_channel.find(c.channel);
      // A channel is only bound after a permission exists (§12.1), but both tables are pushed
      // separately, so the permission is checked again here.
      if (peer == relay->peers_by_channel.end() ||
          relay->permissions.find(AddressKey(peer->second.address)) == relay->permissions.end()) {
        counters_.dropped_unbound_channel.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      out_iov[n] = {const_cast<uint8_t*>(data) + kChannelDataHeader, c.payload_length};
      memset(&out[n].msg_hdr, 0, sizeof(out[n].msg_hdr));
      out[n].msg_hdr.msg_name = &peer->second.address;
      out[n].msg_hdr.msg_namelen = peer->second.length;
      out[n].msg_hdr.msg_iov = &out_iov[n];
      out[n].msg_hdr.msg_iovlen = 1;
      out_fd[n] = relay->fd;
      out_relay[n] = relay;
      ++n;
    }

    // One sendmmsg per run of datagrams leaving the same relay socket.
    unsigned start = 0;
    while (start < n) {
      unsigned end = start + 1;
      while (end < n && out_fd[end] == out_fd[start]) ++end;
      unsigned done = start;
      while (done < end) {
        const int sent = sendmmsg(out_fd[start], out + done, end - done, MSG_DONTWAIT);
        counters_.send_batches.fetch_add(1, std::memory_order_relaxed);
        if (sent < 0) {
          if (errno == EINTR) continue;
          counters_.send_errors.fetch_add(1, std::memory_order_relaxed);
          ++done;
          continue;
        }
        counters_.sent_to_peer.fetch_add(static_cast<uint64_t>(sent), std::memory_order_relaxed);
        for (unsigned k = done; k < done + static_cast<unsigned>(sent); ++k) {
          out_relay[k]->packets_to_peer += 1;
          out_relay[k]->bytes_to_peer += out_iov[k].iov_len;
        }
        done += static_cast<unsigned>(sent);
      }
      start = end;
    }

    // JS runs last, after the batch's native sends, because it may close relays or the plane.
    dispatching_ = true;
    for (unsigned k = 0; k < controls && !delete_after_dispatch_; ++k) {
      const unsigned i = control[k];
      counters_.handed_to_control.fetch_add(1, std::memory_order_relaxed);
      if (sink_ != nullptr) sink_(sink_context_, static_cast<const uint8_t*>(in_iov[i].iov_base), in[i].msg_len, clients[i]);
    }
    dispatching_ = false;
    if (got < static_cast<int>(kBatch)) return;
  }
}

void RelayPlane::OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  if (status < 0) return;
  auto* relay = static_cast<Relay*>(handle->data);
  relay->plane->Drain(relay);
}

void RelayPlane::Drain(Relay* relay) {
  mmsghdr in[kBatch];
  iovec in_iov[kBatch];
  sockaddr_storage peers[kBatch];
  mmsghdr out[kBatch];
  iovec out_iov[kBatch][3];
  uint8_t headers[kBatch][kHeaderRoom];
  bool is_channel[kBatch];
  size_t payload_length[kBatch];

  for (unsigned round = 0; round < kBatchesPerWakeup; ++round) {
    for (unsigned i = 0; i < kBatch; ++i) {
      in_iov[i].iov_base = buffers_.data() + i * kBufferSize;
      in_iov[i].iov_len = kBufferSize;
      memset(&in[i].msg_hdr, 0, sizeof(in[i].msg_hdr));
      in[i].msg_hdr.msg_name = &peers[i];
      in[i].msg_hdr.msg_namelen = sizeof(peers[i]);
      in[i].msg_hdr.msg_iov = &in_iov[i];
      in[i].msg_hdr.msg_iovlen = 1;
    }
    const int got = recvmmsg(relay->fd, in, kBatch, MSG_DONTWAIT, nullptr);
    if (got <= 0) return;  // EAGAIN: drained; other errors surface on the next wakeup
    counters_.receive_batches.fetch_add(1, std::memory_order_relaxed);
    counters_.received.fetch_add(static_cast<uint64_t>(got), std::memory_order_relaxed);

    unsigned n = 0;
    for (int i = 0; i < got; ++i) {
      const size_t length = in[i].msg_len;
      const sockaddr_storage& peer = peers[i];
      if (!relay->has_client) {
        counters_.dropped_no_client.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      const std::string address = AddressKey(peer);
      // RFC 8656 §10 (step "permission"): data from a peer without a permission is discarded silently.
      if (relay->permissions.find(address) == relay->permissions.end()) {
        counters_.dropped_no_permission.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      uint8_t* header = headers[n];
      size_t header_length;
      size_t pad = 0;
      const auto channel = relay->channels.find(ChannelKey(address, PortOf(peer)));
      const bool as_channel = channel != relay->channels.end();
      if (as_channel) {
        // RFC 8656 §12.4; over UDP the trailing padding is optional (§12.5), so none is sent.
        PutU16(header, channel->second);
        PutU16(header + 2, static_cast<uint16_t>(length));
        header_length = kChannelDataHeader;
      } else {
        // A transaction id for an indication is never matched, so a fast PRNG is enough here.
        uint8_t txid[12];
        for (int k = 0; k < 12; k += 4) {
          txid_state_ ^= txid_state_ << 13;
          txid_state_ ^= txid_state_ >> 7;
          txid_state_ ^= txid_state_ << 17;
          PutU32(txid + k, static_cast<uint32_t>(txid_state_));
        }
        header_length = WriteDataIndicationHeader(header, peer, length, txid);
        pad = (4 - (length & 3)) & 3;
      }
      if (header_length + length + pad > kMaxUdpPayload) {
        counters_.dropped_too_large.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      // Header, payload in place, padding: no copy of the payload.
      out_iov[n][0] = {header, header_length};
      out_iov[n][1] = {in_iov[i].iov_base, length};
      out_iov[n][2] = {const_cast<uint8_t*>(kZeroPad), pad};
      memset(&out[n].msg_hdr, 0, sizeof(out[n].msg_hdr));
      out[n].msg_hdr.msg_name = &relay->client;
      out[n].msg_hdr.msg_namelen = relay->client_len;
      out[n].msg_hdr.msg_iov = out_iov[n];
      out[n].msg_hdr.msg_iovlen = pad > 0 ? 3 : 2;
      is_channel[n] = as_channel;
      payload_length[n] = length;
      ++n;
    }

    unsigned done = 0;
    while (done < n) {
      const int sent = sendmmsg(listen_fd_, out + done, n - done, MSG_DONTWAIT);
      counters_.send_batches.fetch_add(1, std::memory_order_relaxed);
      if (sent < 0) {
        if (errno == EINTR) continue;
        // Skip the datagram the kernel refused (full buffer, unreachable) and carry on.
        counters_.send_errors.fetch_add(1, std::memory_order_relaxed);
        ++done;
        continue;
      }
      for (unsigned k = done; k < done + static_cast<unsigned>(sent); ++k) {
        (is_channel[k] ? counters_.sent_channel_data : counters_.sent_data_indication)
            .fetch_add(1, std::memory_order_relaxed);
        relay->packets_to_client += 1;
        relay->bytes_to_client += payload_length[k];
      }
      done += static_cast<unsigned>(sent);
    }
    if (got < static_cast<int>(kBatch)) return;
  }
}

}  // namespace icegate
