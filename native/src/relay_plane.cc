#include "relay_plane.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <pthread.h>
#include <stdio.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <netinet/tcp.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <system_error>

#include "packet_class.h"
#include "tls_session.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

namespace icegate {

namespace {

constexpr unsigned kBatch = 32;             // datagrams per recvmmsg
constexpr unsigned kBatchesPerWakeup = 8;   // then the next ready socket of this thread gets a turn
constexpr size_t kLazyWakeAt = 256;         // table pushes a quiet data thread may have pending (Post)
constexpr int kListenBufferBytes = 4 * 1024 * 1024;  // SO_RCVBUF/SO_SNDBUF of the listening sockets
constexpr size_t kBufferSize = 65536;       // any UDP datagram fits: no MSG_TRUNC
constexpr size_t kMaxUdpPayload = 65507;    // IPv4 limit; also applied to IPv6 for simplicity
constexpr size_t kHeaderRoom = 64;          // largest header: Data indication over IPv6 is 48
constexpr unsigned kMaxSegments = 64;       // UDP_MAX_SEGMENTS on older kernels
constexpr size_t kMaxGsoBytes = 60000;      // one GSO send must fit one UDP length field
constexpr size_t kMaxGsoSegment = 1400;     // below any path MTU the kernel would check it against
constexpr size_t kControlQueueMax = 4096;   // datagrams waiting for JS; beyond: dropped, counted
constexpr size_t kControlQueueBytes = 8u << 20;
constexpr uint16_t kDataIndication = 0x0017;  // RFC 8656 §17 (Data, indication class)
constexpr uint16_t kAttrXorPeerAddress = 0x0012;
constexpr uint16_t kAttrData = 0x0013;
constexpr uint64_t kWakeTag = 0;      // epoll tags: the eventfd, the listener, else a Relay*
constexpr uint64_t kListenerTag = 1;
constexpr uint64_t kStreamListenerTag = 2;  // a StreamConn* is tagged with its low bit set
constexpr size_t kMaxStreamFrame = 20 + 0xFFFC;  // largest frame: STUN header + 65532 (ChannelData: 65540)
constexpr size_t kStreamReadBytes = 65536;      // one read() per call
// A carried partial frame + one read; under TLS the read can also complete a record begun in the
// previous one (plaintext <= read + one record), hence the room for two records more.
constexpr size_t kStreamBufferBytes = kMaxStreamFrame + kStreamReadBytes + 2 * 16384;
constexpr unsigned kStreamReadsPerWakeup = 4;   // then the next ready socket gets a turn
constexpr unsigned kAcceptsPerWakeup = 64;
uint8_t kZeroPad[4] = {0, 0, 0, 0};

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

uint32_t GetU32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

const uint8_t* AddressBytes(const sockaddr_storage& sa, uint8_t* length) {
  if (sa.ss_family == AF_INET) {
    *length = 4;
    return reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(&sa)->sin_addr);
  }
  *length = 16;
  return reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(&sa)->sin6_addr);
}

uint16_t PortOf(const sockaddr_storage& sa) {
  if (sa.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&sa)->sin_port);
  return ntohs(reinterpret_cast<const sockaddr_in6*>(&sa)->sin6_port);
}

// Permission key: the peer's IP bytes (RFC 8656 §9: permissions ignore the port).
AddrKey IpKey(const uint8_t* bytes, uint8_t length) {
  AddrKey key;
  memcpy(key.bytes, bytes, length);
  key.length = length;
  return key;
}

AddrKey IpKey(const sockaddr_storage& sa) {
  uint8_t length;
  const uint8_t* bytes = AddressBytes(sa, &length);
  return IpKey(bytes, length);
}

// Transport address key: IP bytes then the port in network order.
AddrKey TransportKey(const uint8_t* bytes, uint8_t length, uint16_t port) {
  AddrKey key = IpKey(bytes, length);
  key.bytes[length] = static_cast<uint8_t>(port >> 8);
  key.bytes[length + 1] = static_cast<uint8_t>(port);
  key.length = static_cast<uint8_t>(length + 2);
  return key;
}

AddrKey TransportKey(const sockaddr_storage& sa) {
  uint8_t length;
  const uint8_t* bytes = AddressBytes(sa, &length);
  return TransportKey(bytes, length, PortOf(sa));
}

bool ParseIp(const std::string& ip, int* family, uint8_t bytes[16]) {
  if (inet_pton(AF_INET, ip.c_str(), bytes) == 1) {
    *family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, ip.c_str(), bytes) == 1) {
    *family = AF_INET6;
    return true;
  }
  return false;
}

// Builds the sockaddr for `ip`:`port` in `family`, mapping IPv4 into IPv6 for dual-stack sockets.
bool MakeSockaddr(int family, const std::string& ip, uint16_t port, sockaddr_storage* out, socklen_t* len) {
  int parsed_family;
  uint8_t bytes[16];
  if (!ParseIp(ip, &parsed_family, bytes)) return false;
  memset(out, 0, sizeof(*out));
  if (family == AF_INET) {
    if (parsed_family != AF_INET) return false;
    auto* in = reinterpret_cast<sockaddr_in*>(out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    memcpy(&in->sin_addr, bytes, 4);
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
    memcpy(a + 12, bytes, 4);
  } else {
    memcpy(&in6->sin6_addr, bytes, 16);
  }
  *len = sizeof(sockaddr_in6);
  return true;
}

// The address a socket of this plane binds for the IP literal `ip`: its family and sockaddr.
// False when `ip` is not an IP address literal.
bool BindAddress(const std::string& ip, uint16_t port, int* family, sockaddr_storage* sa, socklen_t* len) {
  uint8_t bytes[16];
  return ParseIp(ip, family, bytes) && MakeSockaddr(*family, ip, port, sa, len);
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
  uint8_t length;
  const uint8_t* address = AddressBytes(peer, &length);
  // The mask is the cookie followed by the transaction id (RFC 8489 §14.2).
  uint8_t mask[16];
  PutU32(mask, kMagicCookie);
  memcpy(mask + 4, txid, 12);
  for (size_t i = 0; i < address_length; ++i) a[8 + i] = static_cast<uint8_t>(address[i] ^ mask[i]);
  uint8_t* d = a + 4 + xor_peer_value;
  PutU16(d, kAttrData);
  PutU16(d + 2, static_cast<uint16_t>(payload_length));
  return kStunHeader + 4 + xor_peer_value + 4;
}

// The worker that owns a client: the hash the reuseport BPF program (ReuseportProgram) computes
// in the kernel, over the same fields. IPv4 (and IPv4-mapped IPv6, which arrives with an IPv4
// header on a dual-stack socket): address ^ port. IPv6: the four address words XORed, ^ port.
uint32_t ClientHash(const sockaddr_storage& sa) {
  uint32_t a;
  if (sa.ss_family == AF_INET) {
    a = GetU32(reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(&sa)->sin_addr));
  } else {
    const auto* b = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(&sa)->sin6_addr);
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (memcmp(b, kMapped, 12) == 0) {
      a = GetU32(b + 12);
    } else {
      a = GetU32(b) ^ GetU32(b + 4) ^ GetU32(b + 8) ^ GetU32(b + 12);
    }
  }
  return ((a ^ PortOf(sa)) * 0x9E3779B1u) >> 16;
}

// Classic BPF for SO_ATTACH_REUSEPORT_CBPF: returns the index of the socket (= worker) in the
// reuseport group. The kernel runs it with the packet data at the UDP payload; SKF_NET_OFF
// addresses the IP header. Mirrors ClientHash. (The IPv6 path assumes no extension headers; a
// packet that has them is steered elsewhere and simply reaches TypeScript, still correct.)
std::vector<sock_filter> ReuseportProgram(unsigned sockets) {
  const uint32_t net = static_cast<uint32_t>(SKF_NET_OFF);
  std::vector<sock_filter> p = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, net + 0),  // 0: version << 4 | ihl
      BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4),       // 1
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6, 10, 0),  // 2: IPv6 -> 13
      // IPv4: X = ihl * 4, the UDP header's offset.
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, net + 0),    // 3
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x0F),      // 4
      BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 2),         // 5
      BPF_STMT(BPF_MISC | BPF_TAX, 0),                // 6
      BPF_STMT(BPF_LD | BPF_H | BPF_IND, net + 0),    // 7: source port
      BPF_STMT(BPF_ST, 0),                            // 8
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, net + 12),   // 9: source address
      BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 0),         // 10
      BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),         // 11
      BPF_STMT(BPF_JMP | BPF_JA, 17),                 // 12: -> 30
      // IPv6: the source address words at 8..23, the source port at 40.
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, net + 8),    // 13
      BPF_STMT(BPF_ST, 0),                            // 14
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, net + 12),   // 15
      BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 0),         // 16
      BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),         // 17
      BPF_STMT(BPF_ST, 0),                            // 18
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, net + 16),   // 19
      BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 0),         // 20
      BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),         // 21
      BPF_STMT(BPF_ST, 0),                            // 22
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, net + 20),   // 23
      BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 0),         // 24
      BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),         // 25
      BPF_STMT(BPF_ST, 0),                            // 26
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, net + 40),   // 27
      BPF_STMT(BPF_LDX | BPF_W | BPF_MEM, 0),         // 28
      BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),         // 29
      // hash: ((a ^ port) * golden) >> 16, mod sockets.
      BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9E3779B1u),  // 30
      BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),           // 31
      BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, sockets),      // 32
      BPF_STMT(BPF_RET | BPF_A, 0),                      // 33
  };
  return p;
}

bool ProbeGso() {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const int size = 1200;
  const bool ok = setsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, sizeof(size)) == 0;
  close(fd);
  return ok;
}

enum class CommandType : uint8_t {
  kListen,
  kAttach,
  kSetClient,
  kSetPermissions,
  kSetChannels,
  kClose,
  kDetach,
  kStreamListen,  // fd: the TCP listening socket, polled by this thread (the acceptor)
  kStreamAdopt,   // fd, conn, client: an accepted connection this thread owns from now on
  kStreamAttach,  // relay, conn: the relay's peer data goes to that connection
  kStreamSend,    // conn, bytes: frames from TypeScript
  kStreamClose,   // conn
};

struct Command {
  CommandType type;
  Relay* relay = nullptr;
  int fd = -1;        // kListen
  bool poll = false;  // kListen: read from it too (else only send from it); kAttach: already polled
  sockaddr_storage client{};
  socklen_t client_len = 0;
  AddrKey client_key{};
  std::unordered_set<AddrKey, AddrKeyHash> permissions;
  std::unordered_map<AddrKey, uint16_t, AddrKeyHash> channels;
  std::unordered_map<uint16_t, Relay::Peer> peers;
  uint32_t conn = 0;           // stream commands
  std::vector<uint8_t> bytes;  // kStreamSend
};

// One datagram to send: up to three iovecs (header, payload in the receive buffer, padding).
enum class OutKind : uint8_t { kChannelData, kDataIndication, kToPeer };
struct OutDatagram {
  iovec iov[3];
  uint8_t iov_count;
  OutKind kind;
  uint32_t size;
  uint32_t payload;
  int fd;
  const sockaddr_storage* to;
  socklen_t to_len;
  Relay* relay;
};

bool SameDestination(const OutDatagram& a, const OutDatagram& b) {
  return a.to == b.to || (a.to_len == b.to_len && memcmp(a.to, b.to, a.to_len) == 0);
}

}  // namespace

// One TCP client connection, owned by one data thread (everything here is that thread's).
struct StreamConn {
  uint32_t id = 0;
  int fd = -1;
  sockaddr_storage client{};
  AddrKey ip_key{};                 // for the per-IP count
  std::vector<uint8_t> pending;     // the start of a frame not yet complete
  std::vector<uint8_t> out;         // bytes for the client not yet taken by the kernel
  size_t out_offset = 0;            // out[0, out_offset) already written
  bool polling_out = false;         // EPOLLOUT requested (the kernel's buffer was full)
  bool dirty = false;               // in the thread's flush list
  bool closed = false;
  bool announced = false;           // TypeScript heard of it (a frame went there)
  Relay* v4 = nullptr;              // the allocation's relays (RFC 8656 §7.2: one per family)
  Relay* v6 = nullptr;
  int64_t last_activity_ms = 0;     // a byte either way
  int64_t accepted_ms = 0;
  std::unique_ptr<TlsSession> tls;  // TURN over TLS: every byte in and out goes through it
  size_t queued() const { return out.size() - out_offset; }
};

namespace {
int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// RFC 8489 §5: class bits C1 C0 = 0 1 (indication); ChannelData has 0b01 as its first two bits.
bool IsRelayedData(const uint8_t* data, size_t size) {
  if (size == 0) return false;
  const unsigned top = data[0] >> 6;
  if (top == 1) return true;
  return top == 0 && size >= 2 && ((static_cast<unsigned>(data[0]) << 8 | data[1]) & 0x0110) == 0x0010;
}
}  // namespace

// One data thread: an epoll set over its listening socket and the relay sockets it owns.
class Worker {
 public:
  Worker(RelayPlane* plane, unsigned index, int send_fd, bool gso)
      : plane_(plane), index_(index), send_fd_(send_fd), gso_(gso), buffers_(new uint8_t[kBatch * kBufferSize]) {
    std::random_device rd;
    txid_state_ = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ 0x9E3779B97F4A7C15ULL;
  }

  ~Worker() {
    Stop();
    // Commands never applied: the relays they close are ours to free (the plane frees the rest).
    for (auto& command : queue_) {
      if (command.type == CommandType::kClose) Free(command.relay);
    }
    for (Relay* relay : graveyard_) Free(relay);
    for (auto& command : queue_) {
      if (command.type == CommandType::kStreamAdopt && command.fd >= 0) close(command.fd);
    }
    for (auto& entry : conns_) {
      close(entry.second->fd);
      delete entry.second;
    }
    for (StreamConn* conn : dead_conns_) delete conn;
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  bool Start(std::string* error) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0) {
      *error = strerror(errno);
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeTag;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error& e) {
      *error = e.what();
      return false;
    }
    return true;
  }

  void Stop() {
    if (!thread_.joinable()) return;
    stop_.store(true, std::memory_order_release);
    Wake();
    thread_.join();
  }

  /** CPU seconds this thread has used (its thread CPU clock); 0 before it started. */
  double CpuSeconds() {
    if (!thread_.joinable()) return 0;
    clockid_t clock;
    timespec ts;
    if (pthread_getcpuclockid(thread_.native_handle(), &clock) != 0 || clock_gettime(clock, &ts) != 0) return 0;
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  }

  /**
   * From the JS thread: queued, applied by this thread before it handles its next batch.
   * `lazy`: a table push that only matters to the datagrams this thread reads (setClient for its
   * own relay, setPermissions, setChannels, an attach whose socket the caller has already added to
   * this thread's epoll set). The thread applies every pending command after each epoll_wait and
   * after each recvmmsg that returned datagrams, before it looks at them, so such a push needs no
   * wake-up: the eventfd is written only once kLazyWakeAt commands wait (bounding the queue of a
   * quiet thread). Any other command (close, detach, streams) wakes the thread, as does a lazy
   * one queued behind it. Issue 19: one eventfd write and one data-thread wake-up fewer per
   * allocation.
   */
  void Post(Command&& command, bool lazy = false) {
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(command));
      pending_.store(true, std::memory_order_release);
      wake = !woken_ && (!lazy || queue_.size() >= kLazyWakeAt);
      if (wake) woken_ = true;
    }
    if (wake) Wake();
  }

  /** Adds a relay's socket to this thread's epoll set (any thread; epoll_ctl is thread-safe). */
  bool Poll(Relay* relay) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = reinterpret_cast<uint64_t>(relay);
    return epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, relay->fd, &ev) == 0;
  }

  PlaneCounters counters;

 private:
  void Wake() {
    const uint64_t one = 1;
    ssize_t ignored = write(wake_fd_, &one, sizeof(one));
    (void)ignored;
  }

  static void Free(Relay* relay) {
    if (relay->fd >= 0) close(relay->fd);
    delete relay;
  }

  void Run() {
    // Named so that top, perf and the benchmark's per-thread CPU split can tell the threads apart.
    char name[16];
    snprintf(name, sizeof(name), "icegate-data%u", index_ % 100);
    pthread_setname_np(pthread_self(), name);
    epoll_event events[64];
    while (!stop_.load(std::memory_order_acquire)) {
      // With stream connections the thread wakes for the idle sweep; else only for events.
      const int timeout = conns_.empty() ? -1 : SweepIntervalMs();
      const int n = epoll_wait(epoll_fd_, events, 64, timeout);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      // Reset the eventfd before taking the queue: a Post after the swap finds woken_ cleared and
      // writes it again, one before the swap is taken by it, so no wake-up is lost (Post writes
      // at most once per swap, and not at all for table pushes below kLazyWakeAt).
      for (int i = 0; i < n; ++i) {
        if (events[i].data.u64 == kWakeTag) {
          uint64_t value;
          ssize_t ignored = read(wake_fd_, &value, sizeof(value));
          (void)ignored;
        }
      }
      ApplyCommands();
      for (int i = 0; i < n && !stop_.load(std::memory_order_relaxed); ++i) {
        const uint64_t tag = events[i].data.u64;
        if (tag == kWakeTag) {
          continue;
        } else if (tag == kListenerTag) {
          DrainListener();
        } else if (tag == kStreamListenerTag) {
          Accept();
        } else if ((tag & 1) != 0) {
          auto* conn = reinterpret_cast<StreamConn*>(tag & ~static_cast<uint64_t>(1));
          if (!conn->closed) OnStream(conn, events[i].events);
        } else {
          auto* relay = reinterpret_cast<Relay*>(tag);
          // A relay detached in this round may already be the JS thread's: compare, never read.
          if (std::find(detached_.begin(), detached_.end(), relay) != detached_.end()) continue;
          if (!relay->closed) DrainRelay(relay);
        }
      }
      FlushStreams();
      if (!conns_.empty()) SweepIdle();
      for (Relay* relay : graveyard_) Free(relay);
      graveyard_.clear();
      detached_.clear();
      for (StreamConn* conn : dead_conns_) delete conn;
      dead_conns_.clear();
    }
  }

  void ApplyCommands() {
    std::vector<Command> commands;
    {
      std::lock_guard<std::mutex> lock(mu_);
      commands.swap(queue_);
      pending_.store(false, std::memory_order_relaxed);
      // Posts from now on wake the thread again; an eventfd written before the swap and not read
      // yet only costs one spurious wake-up.
      woken_ = false;
    }
    for (auto& command : commands) Apply(command);
  }

  void Unindex(Relay* relay) {
    if (!relay->has_client) return;
    const auto it = by_client_.find(relay->client_key);
    if (it == by_client_.end()) return;
    Relay*& slot = relay->family == AF_INET ? it->second.v4 : it->second.v6;
    if (slot == relay) slot = nullptr;
    if (it->second.v4 == nullptr && it->second.v6 == nullptr) by_client_.erase(it);
  }

  void Index(Relay* relay) {
    if (!relay->has_client) return;
    ClientEntry& entry = by_client_[relay->client_key];
    (relay->family == AF_INET ? entry.v4 : entry.v6) = relay;
  }

  void Apply(Command& c) {
    Relay* relay = c.relay;
    switch (c.type) {
      case CommandType::kListen: {
        send_fd_ = c.fd;
        if (c.poll) {
          listen_fd_ = c.fd;
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u64 = kListenerTag;
          epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev);
        }
        break;
      }
      case CommandType::kAttach: {
        Index(relay);
        if (!c.poll) Poll(relay);  // else SetClient has added it (after queueing this command)
        break;
      }
      case CommandType::kSetClient:
        Unindex(relay);
        relay->client = c.client;
        relay->client_len = c.client_len;
        relay->client_key = c.client_key;
        relay->has_client = true;
        Index(relay);
        break;
      case CommandType::kSetPermissions:
        relay->permissions.swap(c.permissions);
        break;
      case CommandType::kSetChannels:
        relay->channels.swap(c.channels);
        relay->peers_by_channel.swap(c.peers);
        break;
      case CommandType::kClose:
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, relay->fd, nullptr);
        Unindex(relay);
        if (relay->stream != nullptr) {
          if (relay->stream->v4 == relay) relay->stream->v4 = nullptr;
          if (relay->stream->v6 == relay) relay->stream->v6 = nullptr;
          relay->stream = nullptr;
        }
        relay->closed = true;
        graveyard_.push_back(relay);  // freed after this epoll round: events may still name it
        break;
      case CommandType::kDetach:
        // The relay whose batch DrainRelay holds: that batch is relayed first (the datagrams were
        // read from its socket and would otherwise be lost), then it is detached.
        if (relay == draining_) {
          detach_after_batch_ = true;
          break;
        }
        Detach(relay);
        break;
      case CommandType::kStreamListen: {
        stream_listen_fd_ = c.fd;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = kStreamListenerTag;
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev);
        break;
      }
      case CommandType::kStreamAdopt:
        Adopt(c.fd, c.conn, c.client);
        c.fd = -1;
        break;
      case CommandType::kStreamAttach: {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = reinterpret_cast<uint64_t>(relay);
        epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, relay->fd, &ev);
        const auto it = conns_.find(c.conn);
        // A connection already gone: the relay polls but has nobody to send to (dropped, counted)
        // until TypeScript, told of the close, closes it.
        if (it == conns_.end()) break;
        relay->stream = it->second;
        (relay->family == AF_INET ? it->second->v4 : it->second->v6) = relay;
        break;
      }
      case CommandType::kStreamSend: {
        const auto it = conns_.find(c.conn);
        if (it != conns_.end()) QueueFromCore(it->second, c.bytes.data(), c.bytes.size());
        break;
      }
      case CommandType::kStreamClose: {
        const auto it = conns_.find(c.conn);
        if (it != conns_.end()) CloseConn(it->second);
        break;
      }
    }
  }

  void Detach(Relay* relay) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, relay->fd, nullptr);
    Unindex(relay);
    detached_.push_back(relay);
    plane_->AckDetach(relay);  // from here on the JS thread owns it: not touched again
  }

  // Peer -> client (RFC 8656 §10, §11.6, §12.4-12.5).
  void DrainRelay(Relay* relay) {
    draining_ = relay;
    detach_after_batch_ = false;
    DrainRelayBatches(relay);
    draining_ = nullptr;
    // A detach that arrived while a batch was in hand: the batch went out, now the relay goes.
    if (detach_after_batch_) Detach(relay);
    detach_after_batch_ = false;
  }

  void DrainRelayBatches(Relay* relay) {
    mmsghdr in[kBatch];
    iovec in_iov[kBatch];
    sockaddr_storage peers[kBatch];
    OutDatagram out[kBatch];
    uint8_t headers[kBatch][kHeaderRoom];

    for (unsigned round = 0; round < kBatchesPerWakeup; ++round) {
      PrepareReceive(in, in_iov, peers);
      const int got = recvmmsg(relay->fd, in, kBatch, MSG_DONTWAIT, nullptr);
      if (got <= 0) return;  // EAGAIN: drained; other errors surface on the next wakeup
      // Table pushes queued before these datagrams were sent take effect now (see the header).
      // A detach of this relay waits for the end of the batch (Apply); a close drops the batch.
      if (pending_.load(std::memory_order_acquire)) {
        ApplyCommands();
        if (relay->closed) return;
      }
      Bump(counters.receive_batches);
      Bump(counters.received, static_cast<uint64_t>(got));

      unsigned n = 0;
      for (int i = 0; i < got; ++i) {
        const size_t length = in[i].msg_len;
        const sockaddr_storage& peer = peers[i];
        if (!relay->has_client && relay->stream == nullptr) {
          Bump(counters.dropped_no_client);
          continue;
        }
        // RFC 8656 §10: data from a peer without a permission is discarded silently.
        if (relay->permissions.find(IpKey(peer)) == relay->permissions.end()) {
          Bump(counters.dropped_no_permission);
          continue;
        }
        uint8_t* header = headers[n];
        size_t header_length;
        size_t pad = 0;
        const auto channel = relay->channels.find(TransportKey(peer));
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
        if (relay->stream != nullptr) {
          // A TCP client: the frame joins its connection's write queue, flushed at the end of
          // this epoll round (one write for everything its relays received). Over a stream,
          // ChannelData is padded to a multiple of 4 (RFC 8656 §12.5).
          if (as_channel) pad = (4 - (length & 3)) & 3;
          QueueRelayed(relay, header, header_length, static_cast<const uint8_t*>(in_iov[i].iov_base), length, pad,
                       as_channel);
          continue;
        }
        if (header_length + length + pad > kMaxUdpPayload) {
          Bump(counters.dropped_too_large);
          continue;
        }
        // Header, payload in place, padding: no copy of the payload.
        OutDatagram& o = out[n++];
        o.iov[0] = {header, header_length};
        o.iov[1] = {in_iov[i].iov_base, length};
        o.iov[2] = {kZeroPad, pad};
        o.iov_count = pad > 0 ? 3 : 2;
        o.kind = as_channel ? OutKind::kChannelData : OutKind::kDataIndication;
        o.size = static_cast<uint32_t>(header_length + length + pad);
        o.payload = static_cast<uint32_t>(length);
        o.fd = send_fd_;
        o.to = &relay->client;
        o.to_len = relay->client_len;
        o.relay = relay;
      }
      Flush(out, n);
      if (got < static_cast<int>(kBatch) || detach_after_batch_) return;
    }
  }

  // Client -> peer: ChannelData (RFC 8656 §12.6) and Send indications (§11.4) of a known client
  // go out of its relay socket; everything else goes to TypeScript.
  void DrainListener() {
    mmsghdr in[kBatch];
    iovec in_iov[kBatch];
    sockaddr_storage clients[kBatch];
    OutDatagram out[kBatch];
    sockaddr_storage send_peers[kBatch];

    for (unsigned round = 0; round < kBatchesPerWakeup; ++round) {
      PrepareReceive(in, in_iov, clients);
      const int got = recvmmsg(listen_fd_, in, kBatch, MSG_DONTWAIT, nullptr);
      if (got <= 0) return;
      if (pending_.load(std::memory_order_acquire)) ApplyCommands();
      Bump(counters.receive_batches);
      Bump(counters.client_received, static_cast<uint64_t>(got));

      unsigned n = 0;
      for (int i = 0; i < got; ++i) {
        const auto* data = static_cast<const uint8_t*>(in_iov[i].iov_base);
        const size_t size = in[i].msg_len;
        const PacketClass c = ClassifyPacket(data, size);
        if (c.kind == PacketKind::kInvalid) {
          Bump(counters.dropped_malformed);
          continue;
        }
        const ClientEntry* entry = nullptr;
        const bool maybe_send = c.kind == PacketKind::kStun && data[0] == 0x00 && data[1] == 0x16;
        if (c.kind == PacketKind::kChannelData || maybe_send) {
          const auto found = by_client_.find(TransportKey(clients[i]));
          if (found != by_client_.end()) entry = &found->second;
        }
        if (entry == nullptr) {
          ToControl(data, size, clients[i]);
          continue;
        }
        if (maybe_send) {
          // RFC 8656 §11.4 (receiving a Send indication): XOR-PEER-ADDRESS and DATA, no integrity.
          SendIndication send;
          Relay* relay = nullptr;
          if (ParseSendIndication(data, size, &send) == SendParse::kOk) {
            relay = send.address_length == 4 ? entry->v4 : entry->v6;
          }
          if (relay == nullptr) {
            ToControl(data, size, clients[i]);
            continue;
          }
          // No permission for the peer's IP: discarded silently (§11.4, §9).
          if (relay->permissions.find(IpKey(send.address, send.address_length)) == relay->permissions.end()) {
            Bump(counters.dropped_send_no_permission);
            continue;
          }
          sockaddr_storage& to = send_peers[n];
          memset(&to, 0, sizeof(to));
          socklen_t to_len;
          if (send.address_length == 4) {
            auto* in4 = reinterpret_cast<sockaddr_in*>(&to);
            in4->sin_family = AF_INET;
            in4->sin_port = htons(send.port);
            memcpy(&in4->sin_addr, send.address, 4);
            to_len = sizeof(sockaddr_in);
          } else {
            auto* in6 = reinterpret_cast<sockaddr_in6*>(&to);
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(send.port);
            memcpy(&in6->sin6_addr, send.address, 16);
            to_len = sizeof(sockaddr_in6);
          }
          Bump(counters.send_indications);
          AddToPeer(&out[n++], relay, const_cast<uint8_t*>(data) + send.data_offset, send.data_length, &to, to_len);
          continue;
        }
        // A dual allocation has one channel table per relay (family); the number is unique.
        Relay* relay = entry->v4;
        const Relay::Peer* peer = nullptr;
        if (relay != nullptr) {
          const auto found = relay->peers_by_channel.find(c.channel);
          if (found != relay->peers_by_channel.end()) peer = &found->second;
        }
        if (peer == nullptr && entry->v6 != nullptr) {
          relay = entry->v6;
          const auto found = relay->peers_by_channel.find(c.channel);
          if (found != relay->peers_by_channel.end()) peer = &found->second;
        }
        // RFC 8656 §12.6: ChannelData on a bound channel is relayed to its peer; only the peer ->
        // client direction is gated by a permission (§9), as in the core (src/turn/channel-data.ts).
        // The core keeps a channel's peer permission for at least the channel's lifetime (issue 16,
        // src/turn/channel-bind.ts), so a pushed table lists no channel without its permission.
        // A channel this table does not know goes to the core, which relays it if the channel is
        // bound there and discards it otherwise: the core answers ChannelBind before it pushes the
        // new table (native-sink.ts), and a client that uses the channel at once must not lose its
        // first ChannelData in between.
        if (peer == nullptr) {
          Bump(counters.dropped_unbound_channel);
          ToControl(data, size, clients[i]);
          continue;
        }
        AddToPeer(&out[n++], relay, const_cast<uint8_t*>(data) + kChannelDataHeader, c.payload_length,
                  &peer->address, peer->length);
      }
      Flush(out, n);
      if (!control_.empty()) plane_->PushControl(&control_, &counters);
      if (got < static_cast<int>(kBatch)) return;
    }
  }

  void AddToPeer(OutDatagram* o, Relay* relay, uint8_t* payload, size_t length, const sockaddr_storage* to,
                 socklen_t to_len) {
    o->iov[0] = {payload, length};
    o->iov_count = 1;
    o->kind = OutKind::kToPeer;
    o->size = static_cast<uint32_t>(length);
    o->payload = static_cast<uint32_t>(length);
    o->fd = relay->fd;
    o->to = to;
    o->to_len = to_len;
    o->relay = relay;
  }

  void ToControl(const uint8_t* data, size_t size, const sockaddr_storage& from) {
    control_.push_back(ControlPacket{std::vector<uint8_t>(data, data + size), from});
  }

  void PrepareReceive(mmsghdr* in, iovec* iov, sockaddr_storage* from) {
    for (unsigned i = 0; i < kBatch; ++i) {
      iov[i].iov_base = buffers_.get() + i * kBufferSize;
      iov[i].iov_len = kBufferSize;
      memset(&in[i].msg_hdr, 0, sizeof(in[i].msg_hdr));
      in[i].msg_hdr.msg_name = &from[i];
      in[i].msg_hdr.msg_namelen = sizeof(from[i]);
      in[i].msg_hdr.msg_iov = &iov[i];
      in[i].msg_hdr.msg_iovlen = 1;
    }
  }

  void Account(const OutDatagram& o) {
    Relay* relay = o.relay;
    switch (o.kind) {
      case OutKind::kChannelData:
        Bump(counters.sent_channel_data);
        break;
      case OutKind::kDataIndication:
        Bump(counters.sent_data_indication);
        break;
      case OutKind::kToPeer:
        Bump(counters.sent_to_peer);
        Bump(relay->packets_to_peer);
        Bump(relay->bytes_to_peer, o.payload);
        return;
    }
    Bump(relay->packets_to_client);
    Bump(relay->bytes_to_client, o.payload);
  }

  // Sends `n` datagrams: one sendmmsg per run leaving the same socket; with GSO, consecutive
  // datagrams of one size to one destination travel as one UDP_SEGMENT message.
  void Flush(OutDatagram* d, unsigned n) {
    mmsghdr msgs[kBatch];
    iovec iovs[kBatch * 3];
    unsigned first[kBatch];
    unsigned count[kBatch];
    alignas(cmsghdr) char control[kBatch][CMSG_SPACE(sizeof(uint16_t))];

    unsigned i = 0;
    while (i < n) {
      const int fd = d[i].fd;
      unsigned m = 0;
      unsigned iov_used = 0;
      unsigned j = i;
      while (j < n && d[j].fd == fd) {
        unsigned k = j + 1;
        if (gso_ && d[j].size <= kMaxGsoSegment) {
          size_t total = d[j].size;
          while (k < n && d[k].fd == fd && d[k].size == d[j].size && k - j < kMaxSegments &&
                 total + d[k].size <= kMaxGsoBytes && SameDestination(d[k], d[j])) {
            total += d[k].size;
            ++k;
          }
        }
        mmsghdr& msg = msgs[m];
        memset(&msg.msg_hdr, 0, sizeof(msg.msg_hdr));
        msg.msg_hdr.msg_name = const_cast<sockaddr_storage*>(d[j].to);
        msg.msg_hdr.msg_namelen = d[j].to_len;
        msg.msg_hdr.msg_iov = &iovs[iov_used];
        for (unsigned x = j; x < k; ++x) {
          for (unsigned v = 0; v < d[x].iov_count; ++v) iovs[iov_used++] = d[x].iov[v];
        }
        msg.msg_hdr.msg_iovlen = iov_used - static_cast<unsigned>(msg.msg_hdr.msg_iov - iovs);
        if (k - j > 1) {
          // UDP GSO: the kernel cuts the message into datagrams of d[j].size bytes.
          msg.msg_hdr.msg_control = control[m];
          msg.msg_hdr.msg_controllen = sizeof(control[m]);
          cmsghdr* cm = CMSG_FIRSTHDR(&msg.msg_hdr);
          cm->cmsg_level = SOL_UDP;
          cm->cmsg_type = UDP_SEGMENT;
          cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
          const uint16_t segment = static_cast<uint16_t>(d[j].size);
          memcpy(CMSG_DATA(cm), &segment, sizeof(segment));
        }
        first[m] = j;
        count[m] = k - j;
        ++m;
        j = k;
      }

      unsigned done = 0;
      while (done < m) {
        const int sent = sendmmsg(fd, msgs + done, m - done, MSG_DONTWAIT);
        Bump(counters.send_batches);
        if (sent < 0) {
          if (errno == EINTR) continue;
          const int error = errno;
          if (count[done] > 1 && (error == EINVAL || error == EIO || error == EOPNOTSUPP || error == ENOPROTOOPT)) {
            // The kernel refused GSO here (old kernel, odd device): send them one by one from now on.
            gso_ = false;
            Flush(d + first[done], count[done]);
          } else {
            // Skip what the kernel refused (full buffer, unreachable) and carry on.
            Bump(counters.send_errors, count[done]);
          }
          ++done;
          continue;
        }
        for (unsigned e = done; e < done + static_cast<unsigned>(sent); ++e) {
          if (count[e] > 1) Bump(counters.gso_sends);
          for (unsigned x = first[e]; x < first[e] + count[e]; ++x) Account(d[x]);
        }
        done += static_cast<unsigned>(sent);
      }
      i = j;
    }
  }


  // ---- TCP clients ----------------------------------------------------------------------------

  int SweepIntervalMs() const {
    const StreamOptions& o = plane_->stream_options();
    const int shortest = static_cast<int>(std::min(o.idle_ms, o.handshake_ms));
    return std::max(20, std::min(1000, shortest / 4));
  }

  // The acceptor (one thread): admission by the limits, then the connection goes to the thread
  // with the fewest connections, which owns it and its relays until it closes.
  void Accept() {
    for (unsigned k = 0; k < kAcceptsPerWakeup; ++k) {
      sockaddr_storage client{};
      socklen_t len = sizeof(client);
      const int fd = accept4(stream_listen_fd_, reinterpret_cast<sockaddr*>(&client), &len,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or an aborted connection / fd exhaustion: the next wake-up retries
      const RelayPlane::Admit admit = plane_->AdmitStream(IpKey(client));
      if (admit != RelayPlane::Admit::kOk) {
        Bump(admit == RelayPlane::Admit::kPerIp ? counters.stream_refused_per_ip : counters.stream_refused_max);
        close(fd);
        continue;
      }
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      Bump(counters.stream_accepted);
      unsigned target = 0;
      uint32_t least = UINT32_MAX;
      for (unsigned w = 0; w < plane_->worker_count(); ++w) {
        const uint32_t open = plane_->worker(w)->stream_count_.load(std::memory_order_relaxed);
        if (open < least) {
          least = open;
          target = w;
        }
      }
      // The id says its thread (low 6 bits; at most 64 threads), so commands find it directly.
      next_conn_seq_ = next_conn_seq_ >= (1u << 26) - 1 ? 1 : next_conn_seq_ + 1;
      const uint32_t id = (next_conn_seq_ << 6) | target;
      Worker* owner = plane_->worker(target);
      owner->stream_count_.fetch_add(1, std::memory_order_relaxed);
      if (owner == this) {
        Adopt(fd, id, client);
      } else {
        Command command;
        command.type = CommandType::kStreamAdopt;
        command.fd = fd;
        command.conn = id;
        command.client = client;
        owner->Post(std::move(command));
      }
    }
  }

  void Adopt(int fd, uint32_t id, const sockaddr_storage& client) {
    auto* conn = new StreamConn();
    conn->id = id;
    conn->fd = fd;
    conn->client = client;
    conn->ip_key = IpKey(client);
    conn->last_activity_ms = NowMs();
    conn->accepted_ms = conn->last_activity_ms;
    std::shared_ptr<TlsContext> tls = plane_->StreamTls();
    if (tls) conn->tls.reset(new TlsSession(std::move(tls)));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = reinterpret_cast<uint64_t>(conn) | 1;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    conns_[id] = conn;
  }

  void CloseConn(StreamConn* conn) {
    if (conn->closed) return;
    if (conn->tls && conn->tls->handshake_done()) {
      // Our close_notify, best effort: the socket closes right after.
      std::vector<uint8_t> notify;
      conn->tls->Shutdown(&notify);
      if (!notify.empty() && conn->queued() == 0) {
        ssize_t ignored = send(conn->fd, notify.data(), notify.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)ignored;
      }
    }
    conn->closed = true;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn->fd, nullptr);
    close(conn->fd);
    if (conn->v4 != nullptr) conn->v4->stream = nullptr;
    if (conn->v6 != nullptr) conn->v6->stream = nullptr;
    conns_.erase(conn->id);
    stream_count_.fetch_sub(1, std::memory_order_relaxed);
    plane_->ReleaseStream(conn->ip_key);
    Bump(counters.stream_closed);
    // TypeScript ends the allocation (clientGone); a connection it never heard of needs nothing.
    if (conn->announced) {
      ControlPacket packet;
      packet.from = conn->client;
      packet.event = ControlEvent::kStreamClosed;
      packet.conn = conn->id;
      control_.push_back(std::move(packet));
      plane_->PushControl(&control_, &counters);
    }
    dead_conns_.push_back(conn);  // freed after this round: events and the flush list may name it
  }

  void SweepIdle() {
    const int64_t now = NowMs();
    if (now - last_sweep_ms_ < SweepIntervalMs()) return;
    last_sweep_ms_ = now;
    const int64_t idle = plane_->stream_options().idle_ms;
    const int64_t handshake = plane_->stream_options().handshake_ms;
    std::vector<StreamConn*> idle_conns;
    std::vector<StreamConn*> slow_handshakes;
    for (auto& entry : conns_) {
      StreamConn* conn = entry.second;
      if (conn->tls && !conn->tls->handshake_done()) {
        if (now - conn->accepted_ms >= handshake) slow_handshakes.push_back(conn);
        continue;
      }
      // An idle connection with an allocation stays: its lifetime governs (stream-limits.ts).
      if (conn->v4 == nullptr && conn->v6 == nullptr && now - conn->last_activity_ms >= idle) {
        idle_conns.push_back(conn);
      }
    }
    for (StreamConn* conn : idle_conns) {
      Bump(counters.stream_closed_idle);
      CloseConn(conn);
    }
    for (StreamConn* conn : slow_handshakes) {
      Bump(counters.stream_tls_failures);  // the handshake timeout (TLS_HANDSHAKE_TIMEOUT's role)
      CloseConn(conn);
    }
  }

  void OnStream(StreamConn* conn, uint32_t events) {
    if ((events & EPOLLOUT) != 0) {
      FlushConn(conn);
      if (conn->closed) return;
    }
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) ReadConn(conn);
  }

  // Reads and frames (RFC 8489 §6.2.2 STUN: 20 + length; RFC 8656 §12.5 ChannelData: 4 + length
  // padded to 4). Complete frames are relayed or handed over; a partial one waits in `pending`.
  void ReadConn(StreamConn* conn) {
    if (!stream_buffer_) stream_buffer_.reset(new uint8_t[kStreamBufferBytes]);
    uint8_t* buf = stream_buffer_.get();
    for (unsigned r = 0; r < kStreamReadsPerWakeup; ++r) {
      const size_t carried = conn->pending.size();
      if (carried > 0) memcpy(buf, conn->pending.data(), carried);
      // TLS: the ciphertext goes to its own buffer, the plaintext after the carried bytes.
      uint8_t* target = buf + carried;
      if (conn->tls) {
        if (!tls_buffer_) tls_buffer_.reset(new uint8_t[kStreamReadBytes]);
        target = tls_buffer_.get();
      }
      ssize_t got = recv(conn->fd, target, kStreamReadBytes, MSG_DONTWAIT);
      if (got == 0) {
        CloseConn(conn);  // the client closed (or half-closed: TURN has no use for that)
        return;
      }
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        CloseConn(conn);  // reset, broken pipe: an ordinary end
        return;
      }
      conn->last_activity_ms = NowMs();
      const size_t read_bytes = static_cast<size_t>(got);
      bool peer_closed = false;
      if (conn->tls) {
        plain_.clear();
        std::string error;
        const size_t before = conn->out.size();
        const bool handshaken = conn->tls->handshake_done();
        if (!conn->tls->Receive(target, read_bytes, &plain_, &conn->out, &error)) {
          if (!handshaken) Bump(counters.stream_tls_failures);
          FlushConn(conn);  // the alert, best effort
          CloseConn(conn);
          return;
        }
        if (conn->out.size() != before) MarkDirty(conn);  // handshake messages, tickets
        if (carried + plain_.size() > kStreamBufferBytes) {
          Bump(counters.stream_closed_framing);  // cannot happen with records of 16 KiB; never overrun
          CloseConn(conn);
          return;
        }
        memcpy(buf + carried, plain_.data(), plain_.size());
        got = static_cast<ssize_t>(plain_.size());
        peer_closed = conn->tls->peer_closed();
      }
      if (pending_.load(std::memory_order_acquire)) {
        ApplyCommands();  // tables pushed before these bytes were sent (see the header)
        if (conn->closed) return;
      }
      const size_t total = carried + static_cast<size_t>(got);
      size_t used = 0;
      if (!CutFrames(conn, buf, total, &used)) return;  // closed for a framing error
      conn->pending.assign(buf + used, buf + total);
      if (conn->pending.empty() && conn->pending.capacity() > 4096) conn->pending.shrink_to_fit();
      if (peer_closed) {
        CloseConn(conn);  // close_notify: the client is done
        return;
      }
      if (read_bytes < kStreamReadBytes) return;
    }
  }

  // Cuts whole frames from buf[0, size); writes how many bytes they took. False when the stream is
  // not STUN/ChannelData any more (the connection is then closed, as the JS StreamDeframer does).
  bool CutFrames(StreamConn* conn, uint8_t* buf, size_t size, size_t* used) {
    OutDatagram out[kBatch];
    sockaddr_storage send_peers[kBatch];
    unsigned n = 0;
    size_t offset = 0;
    bool ok = true;
    while (size - offset >= 4) {
      uint8_t* frame = buf + offset;
      const unsigned top = frame[0] >> 6;
      const size_t length = static_cast<size_t>(frame[2]) << 8 | frame[3];
      size_t frame_size;
      if (top >= 2) {
        ok = false;
        break;
      }
      if (top == 0) {
        if (size - offset < 8) break;
        if (length % 4 != 0 || GetU32(frame + 4) != kMagicCookie) {
          ok = false;
          break;
        }
        frame_size = kStunHeader + length;
      } else {
        frame_size = kChannelDataHeader + ((length + 3) & ~static_cast<size_t>(3));
      }
      if (frame_size > size - offset) break;
      offset += frame_size;
      Bump(counters.stream_frames);
      if (n == kBatch) {
        Flush(out, n);
        n = 0;
      }
      if (top == 1) {
        const uint16_t channel = static_cast<uint16_t>(frame[0] << 8 | frame[1]);
        if (conn->v4 == nullptr && conn->v6 == nullptr) {
          StreamToControl(conn, frame, kChannelDataHeader + length);  // no allocation here: the core decides
          continue;
        }
        Relay* relay = conn->v4;
        const Relay::Peer* peer = nullptr;
        if (relay != nullptr) {
          const auto found = relay->peers_by_channel.find(channel);
          if (found != relay->peers_by_channel.end()) peer = &found->second;
        }
        if (peer == nullptr && conn->v6 != nullptr) {
          relay = conn->v6;
          const auto found = relay->peers_by_channel.find(channel);
          if (found != relay->peers_by_channel.end()) peer = &found->second;
        }
        if (peer == nullptr) {
          // Not in this table: the core relays it if it has just bound the channel (see above).
          Bump(counters.dropped_unbound_channel);
          StreamToControl(conn, frame, kChannelDataHeader + length);
          continue;
        }
        AddToPeer(&out[n++], relay, frame + kChannelDataHeader, length, &peer->address, peer->length);
        continue;
      }
      if (frame[0] == 0x00 && frame[1] == 0x16 && (conn->v4 != nullptr || conn->v6 != nullptr)) {
        SendIndication send;
        Relay* relay = nullptr;
        if (ParseSendIndication(frame, frame_size, &send) == SendParse::kOk) {
          relay = send.address_length == 4 ? conn->v4 : conn->v6;
        }
        if (relay != nullptr) {
          if (relay->permissions.find(IpKey(send.address, send.address_length)) == relay->permissions.end()) {
            Bump(counters.dropped_send_no_permission);  // RFC 8656 §11.4, §9
            continue;
          }
          sockaddr_storage& to = send_peers[n];
          socklen_t to_len;
          MakePeer(send, &to, &to_len);
          Bump(counters.send_indications);
          AddToPeer(&out[n++], relay, frame + send.data_offset, send.data_length, &to, to_len);
          continue;
        }
      }
      StreamToControl(conn, frame, frame_size);
    }
    Flush(out, n);
    if (!control_.empty()) plane_->PushControl(&control_, &counters);
    if (!ok) {
      Bump(counters.stream_closed_framing);
      CloseConn(conn);
      return false;
    }
    *used = offset;
    return true;
  }

  static void MakePeer(const SendIndication& send, sockaddr_storage* to, socklen_t* to_len) {
    memset(to, 0, sizeof(*to));
    if (send.address_length == 4) {
      auto* in4 = reinterpret_cast<sockaddr_in*>(to);
      in4->sin_family = AF_INET;
      in4->sin_port = htons(send.port);
      memcpy(&in4->sin_addr, send.address, 4);
      *to_len = sizeof(sockaddr_in);
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(to);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(send.port);
      memcpy(&in6->sin6_addr, send.address, 16);
      *to_len = sizeof(sockaddr_in6);
    }
  }

  void StreamToControl(StreamConn* conn, const uint8_t* data, size_t size) {
    conn->announced = true;
    ControlPacket packet;
    packet.data.assign(data, data + size);
    packet.from = conn->client;
    packet.event = ControlEvent::kStreamFrame;
    packet.conn = conn->id;
    control_.push_back(std::move(packet));
  }

  void MarkDirty(StreamConn* conn) {
    if (conn->dirty) return;
    conn->dirty = true;
    dirty_.push_back(conn);
  }

  // Peer data for a TCP client: dropped (counted) while its queue is over maxQueuedBytes.
  void QueueRelayed(Relay* relay, const uint8_t* header, size_t header_length, const uint8_t* payload,
                    size_t length, size_t pad, bool as_channel) {
    StreamConn* conn = relay->stream;
    if (conn->queued() >= plane_->stream_options().max_queued) {
      // Over the limit inside one round's batch: the kernel may still take it all. Only what the
      // kernel refuses counts against the client (as a JS socket's writableLength).
      FlushConn(conn);
      if (conn->closed) return;
      if (conn->queued() >= plane_->stream_options().max_queued) {
        Bump(counters.stream_dropped_to_client);
        return;
      }
    }
    if (conn->tls) {
      // One frame, one TLS record (docs/tls-records.md); records batch in the write buffer.
      iovec parts[3] = {{const_cast<uint8_t*>(header), header_length},
                        {const_cast<uint8_t*>(payload), length},
                        {kZeroPad, pad}};
      std::string error;
      if (!conn->tls->handshake_done() || !conn->tls->SendV(parts, pad > 0 ? 3 : 2, &conn->out, &error)) {
        Bump(counters.stream_dropped_to_client);
        return;
      }
    } else {
      conn->out.insert(conn->out.end(), header, header + header_length);
      conn->out.insert(conn->out.end(), payload, payload + length);
      conn->out.insert(conn->out.end(), kZeroPad, kZeroPad + pad);
    }
    MarkDirty(conn);
    Bump(as_channel ? counters.sent_channel_data : counters.sent_data_indication);
    Bump(relay->packets_to_client);
    Bump(relay->bytes_to_client, length);
  }

  // Frames written by the core (responses, and relayed data it sends itself): as StreamLink.
  void QueueFromCore(StreamConn* conn, const uint8_t* data, size_t size) {
    if (conn->closed || size == 0) return;
    if (conn->queued() >= plane_->stream_options().max_queued) FlushConn(conn);
    if (conn->closed) return;
    const size_t queued = conn->queued();
    if (queued >= plane_->stream_options().max_queued) {
      if (IsRelayedData(data, size)) {
        Bump(counters.stream_dropped_to_client);
        return;
      }
      if (queued >= plane_->stream_options().max_queued_hard) {
        Bump(counters.stream_closed_slow);
        CloseConn(conn);
        return;
      }
    }
    if (conn->tls) {
      std::string error;
      if (!conn->tls->handshake_done() || !conn->tls->Send(data, size, &conn->out, &error)) {
        CloseConn(conn);
        return;
      }
    } else {
      conn->out.insert(conn->out.end(), data, data + size);
    }
    MarkDirty(conn);
  }

  void FlushStreams() {
    for (StreamConn* conn : dirty_) {
      conn->dirty = false;
      if (!conn->closed) FlushConn(conn);
    }
    dirty_.clear();
  }

  // One send() for everything queued; what the kernel does not take waits for EPOLLOUT.
  void FlushConn(StreamConn* conn) {
    while (conn->queued() > 0) {
      const ssize_t sent = send(conn->fd, conn->out.data() + conn->out_offset, conn->queued(),
                                MSG_DONTWAIT | MSG_NOSIGNAL);
      Bump(counters.stream_writes);
      if (sent < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        CloseConn(conn);
        return;
      }
      conn->out_offset += static_cast<size_t>(sent);
      conn->last_activity_ms = NowMs();
    }
    const bool want_out = conn->queued() > 0;
    if (!want_out) {
      conn->out.clear();
      conn->out_offset = 0;
      if (conn->out.capacity() > 256 * 1024) conn->out.shrink_to_fit();
    } else if (conn->out_offset >= 65536 && conn->out_offset * 2 >= conn->out.size()) {
      conn->out.erase(conn->out.begin(), conn->out.begin() + static_cast<std::ptrdiff_t>(conn->out_offset));
      conn->out_offset = 0;
    }
    if (want_out != conn->polling_out) {
      conn->polling_out = want_out;
      epoll_event ev{};
      ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0);
      ev.data.u64 = reinterpret_cast<uint64_t>(conn) | 1;
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn->fd, &ev);
    }
  }

 public:
  std::atomic<uint32_t> stream_count_{0};  // connections this thread owns (the acceptor reads it)

 private:
  struct ClientEntry {
    Relay* v4 = nullptr;
    Relay* v6 = nullptr;
  };

  RelayPlane* plane_;
  unsigned index_;
  int send_fd_;
  int listen_fd_ = -1;
  bool gso_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Command> queue_;      // guarded by mu_
  bool woken_ = false;              // guarded by mu_: the eventfd was written since the last swap
  std::atomic<bool> pending_{false};
  // Everything below is this thread's only.
  // Default-initialised (not zeroed): a std::vector would write all 2 MiB at start and keep it
  // resident; untouched, only the pages recvmmsg fills (the first of each slot for small
  // datagrams) become resident, about 128 KiB per data thread at rest and under audio loads.
  std::unique_ptr<uint8_t[]> buffers_;
  uint64_t txid_state_;
  std::unordered_map<AddrKey, ClientEntry, AddrKeyHash> by_client_;
  std::vector<Relay*> graveyard_;
  std::vector<Relay*> detached_;
  Relay* draining_ = nullptr;        // the relay DrainRelay is reading, if any
  bool detach_after_batch_ = false;  // its detach was asked for meanwhile
  std::vector<ControlPacket> control_;
  // TCP clients.
  int stream_listen_fd_ = -1;  // the acceptor only
  uint32_t next_conn_seq_ = 0;
  std::unordered_map<uint32_t, StreamConn*> conns_;
  std::vector<StreamConn*> dirty_;       // queued bytes to flush at the end of this round
  std::vector<StreamConn*> dead_conns_;  // closed this round
  std::unique_ptr<uint8_t[]> stream_buffer_;  // a carried partial frame + one read
  std::unique_ptr<uint8_t[]> tls_buffer_;     // one read of ciphertext
  std::vector<uint8_t> plain_;                // its plaintext
  int64_t last_sweep_ms_ = 0;
};

RelayPlane::RelayPlane(uv_loop_t* loop, int listen_fd, const PlaneOptions& options)
    : listen_family_(AF_INET), js_listen_fd_(listen_fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  if (listen_fd >= 0 && getsockname(listen_fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    listen_family_ = sa.ss_family;
  }
  gso_ = options.gso && ProbeGso();
  const unsigned threads = std::max(1u, std::min(options.threads, 64u));
  for (unsigned i = 0; i < threads; ++i) workers_.emplace_back(new Worker(this, i, listen_fd, gso_));
  active_ = threads;
  for (auto& worker : workers_) {
    if (!worker->Start(&start_error_)) break;
  }
  async_ = new uv_async_t();
  uv_async_init(loop, async_, &RelayPlane::OnControlAsync);
  async_->data = this;
  // Only a plane with a listening socket keeps the process alive (as its dgram socket would).
  uv_unref(reinterpret_cast<uv_handle_t*>(async_));
}

RelayPlane::~RelayPlane() {
  // Join the data threads first: after this nothing else touches relays or the control queue.
  for (auto& worker : workers_) worker->Stop();
  workers_.clear();
  for (auto& entry : relays_) {
    if (entry.second->fd >= 0) close(entry.second->fd);
    delete entry.second;
  }
  relays_.clear();
  for (int fd : listen_fds_) close(fd);
  if (stream_listen_fd_ >= 0) close(stream_listen_fd_);
  async_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(async_), [](uv_handle_t* handle) {
    delete reinterpret_cast<uv_async_t*>(handle);
  });
}

Relay* RelayPlane::Find(uint32_t id) {
  auto it = relays_.find(id);
  return it == relays_.end() ? nullptr : it->second;
}

unsigned RelayPlane::OwnerOf(const sockaddr_storage& client) const {
  // With one listening socket (no steering) the thread that reads it must own every relay.
  if (!listen_fds_.empty() && !steering_) return 0;
  return ClientHash(client) % active_;
}

double RelayPlane::WorkerCpuSeconds(unsigned index) const {
  return index < workers_.size() ? workers_[index]->CpuSeconds() : 0;
}

bool RelayPlane::SetActiveWorkers(unsigned active, size_t* moved, std::string* error) {
  *moved = 0;
  if (active < 1 || active > workers_.size()) {
    *error = "active threads must be from 1 to " + std::to_string(workers_.size());
    return false;
  }
  // One listening socket read by thread 0 (no steering): thread 0 owns everything regardless.
  if ((!listen_fds_.empty() && !steering_) || active == active_) return true;
  active_ = active;
  // The relays whose owner changes under the new modulus: taken back from their old threads in
  // one round (every command posted, then one wait), then handed to their new ones.
  std::vector<Relay*> moving;
  for (auto& entry : relays_) {
    Relay* relay = entry.second;
    // A stream client's relay stays with its connection's thread.
    if (relay->owner < 0 || !relay->js_has_client || relay->js_stream_conn != 0) continue;
    if (static_cast<unsigned>(relay->owner) != OwnerOf(relay->js_client)) moving.push_back(relay);
  }
  for (Relay* relay : moving) {
    Command command;
    command.type = CommandType::kDetach;
    command.relay = relay;
    workers_[static_cast<size_t>(relay->owner)]->Post(std::move(command));
  }
  {
    std::unique_lock<std::mutex> lock(detach_mu_);
    const bool all = detach_cv_.wait_for(lock, std::chrono::seconds(5), [&moving] {
      return std::all_of(moving.begin(), moving.end(), [](const Relay* r) { return r->owner == -1; });
    });
    if (!all) {
      *error = "data thread did not answer";
      return false;
    }
  }
  for (Relay* relay : moving) {
    const unsigned worker = OwnerOf(relay->js_client);
    relay->owner = static_cast<int>(worker);
    Command command;
    command.type = CommandType::kAttach;
    command.relay = relay;
    workers_[worker]->Post(std::move(command));
  }
  *moved = moving.size();
  // Then the kernel's side: the group's program now returns ClientHash % active. Replacing it is
  // atomic; datagrams already queued on a thread's socket are read there (and, for a moved
  // client, given to TypeScript).
  if (listen_fds_.size() > 1) {
    std::vector<sock_filter> program = ReuseportProgram(active_);
    sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
    if (setsockopt(listen_fds_[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof(fprog)) != 0) {
      *error = std::string("SO_ATTACH_REUSEPORT_CBPF: ") + strerror(errno);
      return false;
    }
  }
  return true;
}

uint64_t RelayPlane::Sum(std::atomic<uint64_t> PlaneCounters::*field) const {
  uint64_t total = (js_counters_.*field).load(std::memory_order_relaxed);
  for (const auto& worker : workers_) total += (worker->counters.*field).load(std::memory_order_relaxed);
  return total;
}

uint64_t RelayPlane::WorkerCounter(unsigned index, std::atomic<uint64_t> PlaneCounters::*field) const {
  if (index >= workers_.size()) return 0;
  return (workers_[index]->counters.*field).load(std::memory_order_relaxed);
}

PlaneInfo RelayPlane::Info() const {
  const bool single = !listen_fds_.empty() && !steering_;
  return PlaneInfo{static_cast<unsigned>(workers_.size()), single ? 1u : active_, steering_ || workers_.size() == 1,
                   gso_};
}

uint32_t RelayPlane::OpenRelay(const std::string& ip, uint16_t port, uint16_t* bound_port, std::string* error,
                               int* sys_errno, int buffer_bytes) {
  if (sys_errno != nullptr) *sys_errno = 0;
  int family;
  sockaddr_storage sa;
  socklen_t len;
  if (!BindAddress(ip, port, &family, &sa, &len)) {
    *error = "not an IP address literal";
    return 0;
  }
  const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    if (sys_errno != nullptr) *sys_errno = errno;
    *error = strerror(errno);
    return 0;
  }
  if (family == AF_INET6) {
    // A relayed transport address has exactly one family (RFC 8656 §7.2 REQUESTED-ADDRESS-FAMILY).
    const int one = 1;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (buffer_bytes > 0) {
    // Issue 16: the default 212,992-byte buffer drops a peer's burst of ~1,000 datagrams.
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof(buffer_bytes));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0) {
    const int bind_errno = errno;  // EADDRINUSE / EACCES: the caller tries another port
    if (sys_errno != nullptr) *sys_errno = bind_errno;
    *error = strerror(bind_errno);
    close(fd);
    return 0;
  }
  if (port != 0) {
    *bound_port = port;  // the port asked for (the relay pool picks them; no getsockname needed)
  } else {
    sockaddr_storage bound{};
    socklen_t bound_len = sizeof(bound);
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
    *bound_port = PortOf(bound);
  }

  // Held by the JS thread until setClient says which data thread owns it. Until then its socket
  // is not polled: peer datagrams wait in the socket buffer and are judged by the tables in force
  // when the owner reads them.
  auto* relay = new Relay();
  relay->id = next_id_++;
  relay->fd = fd;
  relay->family = family;
  relays_[relay->id] = relay;
  return relay->id;
}

size_t RelayPlane::ChangedTraffic(std::vector<double>* out) {
  size_t changed = 0;
  for (auto& entry : relays_) {
    Relay* relay = entry.second;
    // What the data threads relayed; SendFromRelay's sends (js_*) are the caller's own, counted there.
    const uint64_t packets_to_client = relay->packets_to_client.load(std::memory_order_relaxed);
    const uint64_t bytes_to_client = relay->bytes_to_client.load(std::memory_order_relaxed);
    const uint64_t packets_to_peer = relay->packets_to_peer.load(std::memory_order_relaxed);
    const uint64_t bytes_to_peer = relay->bytes_to_peer.load(std::memory_order_relaxed);
    // All four only grow, so their sum changes whenever any of them does. A data thread may be
    // between two of its stores while we load (relaxed, no ordering between the counters): the
    // store we missed changes the sum, so the next call reports the relay again.
    const uint64_t key = packets_to_client + bytes_to_client + packets_to_peer + bytes_to_peer;
    if (key == relay->js_reported_key) continue;
    relay->js_reported_key = key;
    out->push_back(static_cast<double>(relay->id));
    out->push_back(static_cast<double>(packets_to_client));
    out->push_back(static_cast<double>(bytes_to_client));
    out->push_back(static_cast<double>(packets_to_peer));
    out->push_back(static_cast<double>(bytes_to_peer));
    ++changed;
  }
  return changed;
}

bool RelayPlane::DetachSync(Relay* relay, std::string* error) {
  Command command;
  command.type = CommandType::kDetach;
  command.relay = relay;
  workers_[static_cast<size_t>(relay->owner)]->Post(std::move(command));
  std::unique_lock<std::mutex> lock(detach_mu_);
  if (!detach_cv_.wait_for(lock, std::chrono::seconds(5), [relay] { return relay->owner == -1; })) {
    *error = "data thread did not answer";
    return false;
  }
  return true;
}

void RelayPlane::AckDetach(Relay* relay) {
  {
    std::lock_guard<std::mutex> lock(detach_mu_);
    relay->owner = -1;
  }
  detach_cv_.notify_all();
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
  const AddrKey key = TransportKey(client);
  // RFC 8656 §2.2: one allocation per client 5-tuple; a dual allocation (§7.2) has one relay per
  // family, so a second relay of the other family may share the client.
  uint32_t ClientRelays::*slot = relay->family == AF_INET ? &ClientRelays::v4 : &ClientRelays::v6;
  const auto owner = clients_.find(key);
  if (owner != clients_.end() && owner->second.*slot != 0 && owner->second.*slot != relay->id) {
    *error = "client already has an allocation";
    return false;
  }
  const unsigned worker = OwnerOf(client);
  if (relay->owner >= 0 && static_cast<unsigned>(relay->owner) == worker) {
    Command command;
    command.type = CommandType::kSetClient;
    command.relay = relay;
    command.client = client;
    command.client_len = client_len;
    command.client_key = key;
    workers_[worker]->Post(std::move(command), /*lazy=*/true);
  } else {
    // Unattached, or the new client belongs to another thread: take it back first (rare).
    if (relay->owner >= 0 && !DetachSync(relay, error)) return false;
    relay->client = client;
    relay->client_len = client_len;
    relay->client_key = key;
    relay->has_client = true;
    relay->owner = static_cast<int>(worker);
    Command command;
    command.type = CommandType::kAttach;
    command.relay = relay;
    command.poll = true;
    // Queued first, then polled: an event of this relay can only be seen by the owner after
    // epoll_wait, and the owner applies its pending commands (this attach) before it handles
    // that round's events. No wake-up: the socket's own events wake the owner (issue 19).
    workers_[worker]->Post(std::move(command), /*lazy=*/true);
    if (!workers_[worker]->Poll(relay)) {
      // Not expected (the fd is valid and new to this set): the owner tries itself, woken now
      // (indexing twice is harmless).
      Command retry;
      retry.type = CommandType::kAttach;
      retry.relay = relay;
      workers_[worker]->Post(std::move(retry));
    }
  }
  // The JS mirror of the client tables.
  if (relay->js_has_client && !(relay->js_client_key == key)) {
    const auto it = clients_.find(relay->js_client_key);
    if (it != clients_.end() && it->second.*slot == relay->id) {
      it->second.*slot = 0;
      if (it->second.v4 == 0 && it->second.v6 == 0) clients_.erase(it);
    }
  }
  clients_[key].*slot = relay->id;
  relay->js_client_key = key;
  relay->js_client = client;
  relay->js_has_client = true;
  return true;
}

bool RelayPlane::SetPermissions(uint32_t id, const std::vector<std::string>& ips, std::string* error) {
  Relay* relay = Find(id);
  if (relay == nullptr) {
    *error = "unknown relay";
    return false;
  }
  std::unordered_set<AddrKey, AddrKeyHash> next;
  for (const auto& ip : ips) {
    int family;
    uint8_t bytes[16];
    if (!ParseIp(ip, &family, bytes)) {
      *error = "not an IP address literal: " + ip;
      return false;
    }
    next.insert(IpKey(bytes, family == AF_INET ? 4 : 16));
  }
  if (relay->owner < 0) {
    relay->permissions.swap(next);
    return true;
  }
  Command command;
  command.type = CommandType::kSetPermissions;
  command.relay = relay;
  command.permissions.swap(next);
  workers_[static_cast<size_t>(relay->owner)]->Post(std::move(command), /*lazy=*/true);
  return true;
}

bool RelayPlane::SetChannels(uint32_t id, const std::vector<ChannelBinding>& bindings, std::string* error) {
  Relay* relay = Find(id);
  if (relay == nullptr) {
    *error = "unknown relay";
    return false;
  }
  std::unordered_map<AddrKey, uint16_t, AddrKeyHash> next;
  std::unordered_map<uint16_t, Relay::Peer> next_peers;
  for (const auto& b : bindings) {
    int family;
    uint8_t bytes[16];
    if (!ParseIp(b.ip, &family, bytes)) {
      *error = "not an IP address literal: " + b.ip;
      return false;
    }
    // The core's range (RFC 5766 §11: 0x4000-0x7FFF), which contains RFC 8656 §12's.
    if (b.channel < kMinChannel || b.channel > kMaxChannel) {
      *error = "channel number outside 0x4000-0x7FFF";
      return false;
    }
    Relay::Peer peer{};
    if (family != relay->family || !MakeSockaddr(relay->family, b.ip, b.port, &peer.address, &peer.length)) {
      *error = "peer address family differs from the relay's";
      return false;
    }
    next[TransportKey(bytes, family == AF_INET ? 4 : 16, b.port)] = b.channel;
    next_peers[b.channel] = peer;
  }
  if (relay->owner < 0) {
    relay->channels.swap(next);
    relay->peers_by_channel.swap(next_peers);
    return true;
  }
  Command command;
  command.type = CommandType::kSetChannels;
  command.relay = relay;
  command.channels.swap(next);
  command.peers.swap(next_peers);
  workers_[static_cast<size_t>(relay->owner)]->Post(std::move(command), /*lazy=*/true);
  return true;
}

bool RelayPlane::CloseRelay(uint32_t id) {
  Relay* relay = Find(id);
  if (relay == nullptr) return false;
  relays_.erase(id);
  uint32_t ClientRelays::*slot = relay->family == AF_INET ? &ClientRelays::v4 : &ClientRelays::v6;
  if (relay->js_has_client) {
    const auto it = clients_.find(relay->js_client_key);
    if (it != clients_.end() && it->second.*slot == id) {
      it->second.*slot = 0;
      if (it->second.v4 == 0 && it->second.v6 == 0) clients_.erase(it);
    }
  }
  if (relay->owner < 0) {
    close(relay->fd);
    delete relay;
    return true;
  }
  // The owner stops polling it, unindexes it and frees it (its socket closes with it).
  Command command;
  command.type = CommandType::kClose;
  command.relay = relay;
  workers_[static_cast<size_t>(relay->owner)]->Post(std::move(command));
  return true;
}

bool RelayPlane::OpenListener(const std::string& ip, uint16_t port, ControlPacketSink sink, void* context,
                              uint16_t* bound_port, std::string* error, int* sys_errno) {
  if (sys_errno != nullptr) *sys_errno = 0;
  if (!listen_fds_.empty()) {
    *error = "the plane already has a listening socket";
    return false;
  }
  int family;
  sockaddr_storage sa;
  socklen_t len;
  if (!BindAddress(ip, port, &family, &sa, &len)) {
    *error = "not an IP address literal";
    return false;
  }
  const size_t wanted = workers_.size();
  std::vector<int> fds;
  const auto fail = [&](const char* what) {
    if (sys_errno != nullptr) *sys_errno = errno;
    *error = std::string(what) + ": " + strerror(errno);
    for (int fd : fds) close(fd);
    return false;
  };
  // The same address N times: each data thread reads its own socket (SO_REUSEPORT).
  for (size_t i = 0; i < wanted; ++i) {
    const int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail("socket");
    fds.push_back(fd);
    const int one = 1;
    if (wanted > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) return fail("SO_REUSEPORT");
    // As the JS listener (src/transport/udp-listener.ts): room for a burst while the thread is
    // busy elsewhere (the kernel caps it at net.core.rmem_max / wmem_max; best effort). With one
    // active thread its socket takes every client's burst: at the 208 KiB default, uclient's
    // unpaced load overflowed it.
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kListenBufferBytes, sizeof(kListenBufferBytes));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kListenBufferBytes, sizeof(kListenBufferBytes));
    if (bind(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0) return fail("bind");
    if (i == 0) {
      sockaddr_storage bound{};
      socklen_t bound_len = sizeof(bound);
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
      *bound_port = PortOf(bound);
      // The others bind the port the first one got (port 0 = any free port).
      if (family == AF_INET) {
        reinterpret_cast<sockaddr_in*>(&sa)->sin_port = htons(*bound_port);
      } else {
        reinterpret_cast<sockaddr_in6*>(&sa)->sin6_port = htons(*bound_port);
      }
    }
  }
  steering_ = wanted == 1;
  if (wanted > 1) {
    // Socket i of the group is worker i: the program returns ClientHash % active (all N until
    // SetActiveWorkers says fewer).
    std::vector<sock_filter> program = ReuseportProgram(active_);
    sock_fprog fprog{static_cast<unsigned short>(program.size()), program.data()};
    steering_ = setsockopt(fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof(fprog)) == 0;
    if (!steering_) {
      // Without steering the kernel would spread one client over threads: use one socket, read
      // by thread 0, which then owns every relay.
      for (size_t i = 1; i < fds.size(); ++i) close(fds[i]);
      fds.resize(1);
    }
  }
  listen_fds_ = fds;
  listen_family_ = family;
  sink_ = sink;
  sink_context_ = context;
  uv_ref(reinterpret_cast<uv_handle_t*>(async_));
  for (size_t i = 0; i < workers_.size(); ++i) {
    Command command;
    command.type = CommandType::kListen;
    command.fd = fds[i < fds.size() ? i : 0];
    command.poll = i < fds.size();
    workers_[i]->Post(std::move(command));
  }
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
  const int fd = listen_fds_.empty() ? js_listen_fd_ : listen_fds_[0];
  if (sendto(fd, data, size, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), to_len) < 0) {
    Bump(js_counters_.send_errors);
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
  // The permission check is the caller's (the TypeScript core decided to send). The kernel
  // serialises this sendto with the owner thread's sends on the same socket.
  if (sendto(relay->fd, data, size, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&to), to_len) < 0) {
    Bump(js_counters_.send_errors);
    *error = strerror(errno);
    return false;
  }
  Bump(js_counters_.sent_to_peer);
  Bump(relay->js_packets_to_peer);
  Bump(relay->js_bytes_to_peer, size);
  return true;
}

void RelayPlane::PushControl(std::vector<ControlPacket>* packets, PlaneCounters* counters) {
  uint64_t queued = 0;
  uint64_t dropped = 0;
  {
    std::lock_guard<std::mutex> lock(control_mu_);
    for (auto& packet : *packets) {
      // A flood of STUN must not grow memory without bound while JS catches up. The end of a
      // connection is never dropped: its allocation must end.
      if (packet.event != ControlEvent::kStreamClosed &&
          (control_.size() >= kControlQueueMax || control_bytes_ + packet.data.size() > kControlQueueBytes)) {
        ++dropped;
        continue;
      }
      control_bytes_ += packet.data.size();
      control_.push_back(std::move(packet));
      ++queued;
    }
  }
  packets->clear();
  Bump(counters->handed_to_control, queued);
  Bump(counters->dropped_control_overflow, dropped);
  if (queued > 0) uv_async_send(async_);
}

void RelayPlane::OnControlAsync(uv_async_t* handle) {
  auto* plane = static_cast<RelayPlane*>(handle->data);
  if (plane == nullptr) return;
  plane->DrainControl();
  // closePlane() from inside a control callback is deferred to here (see addon.cc).
  if (plane->delete_after_dispatch_) delete plane;
}

// On the JS thread: the queued datagrams, oldest first, each to the TypeScript callback.
void RelayPlane::DrainControl() {
  std::vector<ControlPacket> batch;
  {
    std::lock_guard<std::mutex> lock(control_mu_);
    batch.swap(control_);
    control_bytes_ = 0;
  }
  dispatching_ = true;
  for (const auto& packet : batch) {
    if (delete_after_dispatch_) break;
    if (packet.event == ControlEvent::kDatagram) {
      if (sink_ != nullptr) sink_(sink_context_, packet.data.data(), packet.data.size(), packet.from);
    } else if (stream_sink_ != nullptr) {
      stream_sink_(stream_sink_context_, packet.event, packet.conn, packet.data.data(), packet.data.size(),
                   packet.from);
    }
  }
  dispatching_ = false;
}

// ---- TCP clients (JS thread side) ----------------------------------------------------------------

bool RelayPlane::OpenStreamListener(const std::string& ip, uint16_t port, const StreamOptions& options,
                                    StreamEventSink sink, void* context, uint16_t* bound_port, std::string* error,
                                    int* sys_errno) {
  if (sys_errno != nullptr) *sys_errno = 0;
  if (stream_listen_fd_ >= 0) {
    *error = "the plane already has a stream listener";
    return false;
  }
  int family;
  sockaddr_storage sa;
  socklen_t len;
  if (!BindAddress(ip, port, &family, &sa, &len)) {
    *error = "not an IP address literal";
    return false;
  }
  const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const auto fail = [&](const char* what) {
    if (sys_errno != nullptr) *sys_errno = errno;
    *error = std::string(what) + ": " + strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  };
  if (fd < 0) return fail("socket");
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // as Node's net.Server
  if (family == AF_INET6) {
    const int zero = 0;  // `::` also accepts IPv4 clients (dual stack), as the JS listener
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0) return fail("bind");
  if (listen(fd, 511) != 0) return fail("listen");
  if (port != 0) {
    *bound_port = port;  // the port asked for (the relay pool picks them; no getsockname needed)
  } else {
    sockaddr_storage bound{};
    socklen_t bound_len = sizeof(bound);
    getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
    *bound_port = PortOf(bound);
  }
  stream_listen_fd_ = fd;
  stream_options_ = options;
  stream_options_.handshake_ms = stream_handshake_ms_;
  stream_sink_ = sink;
  stream_sink_context_ = context;
  if (listen_fds_.empty()) listen_family_ = family;
  uv_ref(reinterpret_cast<uv_handle_t*>(async_));
  Command command;
  command.type = CommandType::kStreamListen;
  command.fd = fd;
  workers_[0]->Post(std::move(command));
  return true;
}

bool RelayPlane::SetStreamTls(const std::string& cert_pem, const std::string& key_pem, uint32_t handshake_ms,
                              std::string* error) {
  std::shared_ptr<TlsContext> context = TlsContext::FromPem(cert_pem, key_pem, error);
  if (!context) return false;
  std::lock_guard<std::mutex> lock(stream_mu_);
  stream_tls_ = std::move(context);
  if (stream_listen_fd_ < 0) stream_handshake_ms_ = handshake_ms;
  return true;
}

std::shared_ptr<TlsContext> RelayPlane::StreamTls() {
  std::lock_guard<std::mutex> lock(stream_mu_);
  return stream_tls_;
}

RelayPlane::Admit RelayPlane::AdmitStream(const AddrKey& ip) {
  std::lock_guard<std::mutex> lock(stream_mu_);
  if (stream_open_.load(std::memory_order_relaxed) >= stream_options_.max_connections) return Admit::kTooMany;
  uint32_t& count = stream_per_ip_[ip];
  if (count >= stream_options_.max_per_ip) {
    if (count == 0) stream_per_ip_.erase(ip);
    return Admit::kPerIp;
  }
  ++count;
  stream_open_.fetch_add(1, std::memory_order_relaxed);
  return Admit::kOk;
}

void RelayPlane::ReleaseStream(const AddrKey& ip) {
  std::lock_guard<std::mutex> lock(stream_mu_);
  stream_open_.fetch_sub(1, std::memory_order_relaxed);
  const auto it = stream_per_ip_.find(ip);
  if (it == stream_per_ip_.end()) return;
  if (--it->second == 0) stream_per_ip_.erase(it);
}

static unsigned StreamOwner(uint32_t conn) { return conn & 63u; }

bool RelayPlane::StreamSend(uint32_t conn, const uint8_t* data, size_t size, std::string* error) {
  const unsigned owner = StreamOwner(conn);
  if (conn == 0 || owner >= workers_.size() || stream_listen_fd_ < 0) {
    *error = "unknown stream connection";
    return false;
  }
  Command command;
  command.type = CommandType::kStreamSend;
  command.conn = conn;
  command.bytes.assign(data, data + size);
  workers_[owner]->Post(std::move(command));
  return true;
}

bool RelayPlane::StreamClose(uint32_t conn, std::string* error) {
  const unsigned owner = StreamOwner(conn);
  if (conn == 0 || owner >= workers_.size() || stream_listen_fd_ < 0) {
    *error = "unknown stream connection";
    return false;
  }
  Command command;
  command.type = CommandType::kStreamClose;
  command.conn = conn;
  workers_[owner]->Post(std::move(command));
  return true;
}

bool RelayPlane::SetStreamClient(uint32_t id, uint32_t conn, std::string* error) {
  Relay* relay = Find(id);
  if (relay == nullptr) {
    *error = "unknown relay";
    return false;
  }
  const unsigned owner = StreamOwner(conn);
  if (conn == 0 || owner >= workers_.size() || stream_listen_fd_ < 0) {
    *error = "unknown stream connection";
    return false;
  }
  if (relay->js_stream_conn == conn) return true;
  if (relay->owner >= 0) {
    *error = "relay already has a client";
    return false;
  }
  relay->js_stream_conn = conn;
  relay->owner = static_cast<int>(owner);
  Command command;
  command.type = CommandType::kStreamAttach;
  command.relay = relay;
  command.conn = conn;
  workers_[owner]->Post(std::move(command));
  return true;
}

}  // namespace icegate
