// UDP data plane: peer -> client (RFC 8656 §11.6 Data indications, §12.4 ChannelData) and, when
// the plane owns the listening socket, client -> peer ChannelData (§12.6).
// Step one runs on the JS thread's libuv loop through uv_poll handles; the batching
// (recvmmsg in, sendmmsg out) is already the shape the per-core data threads will use.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace icegate {

/** Counters are relaxed atomics so a future data thread can bump them while JS reads. */
struct PlaneCounters {
  std::atomic<uint64_t> received{0};              // datagrams read from relay sockets
  std::atomic<uint64_t> sent_channel_data{0};     // forwarded as ChannelData
  std::atomic<uint64_t> sent_data_indication{0};  // forwarded as Data indication
  std::atomic<uint64_t> dropped_no_permission{0};
  std::atomic<uint64_t> dropped_no_client{0};
  std::atomic<uint64_t> dropped_too_large{0};
  std::atomic<uint64_t> send_errors{0};
  std::atomic<uint64_t> receive_batches{0};  // recvmmsg calls that returned at least one datagram
  std::atomic<uint64_t> send_batches{0};     // sendmmsg calls
  // Client -> peer (the plane's own listening socket).
  std::atomic<uint64_t> client_received{0};          // datagrams read from the listening socket
  std::atomic<uint64_t> sent_to_peer{0};             // ChannelData payloads sent from a relay socket
  std::atomic<uint64_t> handed_to_control{0};        // STUN and unknown clients, given to TypeScript
  std::atomic<uint64_t> dropped_unbound_channel{0};  // RFC 8656 §12.6: silently discarded
  std::atomic<uint64_t> dropped_malformed{0};        // classifier said invalid
};

class RelayPlane;

struct Relay {
  uint32_t id = 0;
  int fd = -1;
  int family = AF_INET;
  uv_poll_t poll{};
  RelayPlane* plane = nullptr;
  bool has_client = false;
  sockaddr_storage client{};
  socklen_t client_len = 0;
  // Keys are raw address bytes (4 or 16); channels add the 2-byte port, network order.
  std::unordered_set<std::string> permissions;
  std::unordered_map<std::string, uint16_t> channels;
  // The reverse table for client -> peer ChannelData: number -> peer transport address.
  struct Peer {
    sockaddr_storage address;
    socklen_t length;
  };
  std::unordered_map<uint16_t, Peer> peers_by_channel;
  std::string client_key;  // key in RelayPlane::by_client_, empty until SetClient
  // Per-allocation traffic for usage and quotas (the core's TrafficCounters), payload bytes only.
  uint64_t packets_to_client = 0;
  uint64_t bytes_to_client = 0;
  uint64_t packets_to_peer = 0;
  uint64_t bytes_to_peer = 0;
};

/** Receives the datagrams the native side does not handle (STUN, unknown clients), on the loop thread. */
using ControlPacketSink = void (*)(void* context, const uint8_t* data, size_t size, const sockaddr_storage& from);

struct Listener {
  int fd = -1;
  uv_poll_t poll{};
  RelayPlane* plane = nullptr;
};

class RelayPlane {
 public:
  /** `listen_fd` is the TURN listening socket whose address clients already talk to. */
  RelayPlane(uv_loop_t* loop, int listen_fd);
  ~RelayPlane();

  /** Binds a relay socket; returns its id and writes the bound port, or 0 with errno set. */
  uint32_t OpenRelay(const std::string& ip, uint16_t port, uint16_t* bound_port, std::string* error);
  bool SetClient(uint32_t id, const std::string& ip, uint16_t port, std::string* error);
  bool SetPermissions(uint32_t id, const std::vector<std::string>& ips, std::string* error);
  struct ChannelBinding {
    std::string ip;
    uint16_t port;
    uint16_t channel;
  };
  bool SetChannels(uint32_t id, const std::vector<ChannelBinding>& bindings, std::string* error);
  bool CloseRelay(uint32_t id);
  void CloseAll();
  /** The relay's traffic counters, or nullptr for an unknown id. */
  const Relay* FindRelay(uint32_t id) const {
    const auto it = relays_.find(id);
    return it == relays_.end() ? nullptr : it->second;
  }

  /** Opens the plane's own listening socket; it then replaces `listen_fd` for peer -> client. */
  bool OpenListener(const std::string& ip, uint16_t port, ControlPacketSink sink, void* context,
                    uint16_t* bound_port, std::string* error);
  /** Sends one datagram from the listening socket (STUN responses written by TypeScript). */
  bool SendToClient(const std::string& ip, uint16_t port, const uint8_t* data, size_t size, std::string* error);
  /** Sends one datagram from relay `id` to a peer (Send indications the TypeScript core handled). */
  bool SendFromRelay(uint32_t id, const std::string& ip, uint16_t port, const uint8_t* data, size_t size,
                     std::string* error);
  /** True while control packets are being handed to JS; closing then is deferred to the end. */
  bool dispatching() const { return dispatching_; }
  void RequestDeleteAfterDispatch() { delete_after_dispatch_ = true; }
  size_t RelayCount() const { return relays_.size(); }
  const PlaneCounters& counters() const { return counters_; }

 private:
  static void OnReadable(uv_poll_t* handle, int status, int events);
  static void OnListenerReadable(uv_poll_t* handle, int status, int events);
  void Drain(Relay* relay);
  void DrainListener();
  Relay* Find(uint32_t id);

  uv_loop_t* loop_;
  int listen_fd_;
  int listen_family_;
  uint32_t next_id_ = 1;
  uint64_t txid_state_;
  std::unordered_map<uint32_t, Relay*> relays_;
  PlaneCounters counters_;
  std::vector<uint8_t> buffers_;  // kBatch receive buffers, one contiguous block
  std::unordered_map<std::string, Relay*> by_client_;  // client address bytes + port -> relay
  Listener* listener_ = nullptr;
  ControlPacketSink sink_ = nullptr;
  void* sink_context_ = nullptr;
  bool dispatching_ = false;
  bool delete_after_dispatch_ = false;
};

}  // namespace icegate
