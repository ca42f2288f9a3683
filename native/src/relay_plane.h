// Data plane on its own threads (RFC 8656), for UDP and TCP/TLS clients: peer -> client (§11.6 Data indications, §12.4
// ChannelData) and, when the plane owns the listening port, client -> peer (§12.6 ChannelData,
// §11.4 Send indications). Everything else goes to the TypeScript core.
//
// Threading (see native/README.md for the reasoning):
//  - N data threads ("workers"), each with its own epoll set, recvmmsg/sendmmsg batch buffers and
//    counters. The listening port is opened N times with SO_REUSEPORT; a classic BPF program on the
//    reuseport group picks the socket from a hash of the client's source address and port, and the
//    same hash (ClientWorker) says which worker owns that client's relay sockets. So one client's
//    datagrams, its allocation's tables and its relay sockets all live on one thread: no locks on
//    the per-packet path.
//  - The JS thread never touches a worker's tables. Table pushes (setClient, setPermissions,
//    setChannels, closeRelay) are built on the JS thread and posted to the owning worker's command
//    queue; the worker applies pending commands right after each recvmmsg returns and before it
//    looks at the batch. A datagram sent after the JS call returned can only be read by a recvmmsg
//    that returns after the command was queued, so it is handled with the new tables.
//  - Datagrams for TypeScript (STUN, unknown clients, odd Send indications) are copied into one
//    mutex-protected queue per plane (one lock per batch) and drained on the JS thread by a
//    uv_async_t, in batches, in arrival order.
//  - TCP/TLS clients (OpenStreamListener, issue 19): thread 0 accepts and hands each connection to
//    the least loaded thread, which then owns its framing, its write buffer (flushed once per epoll
//    round), its TLS session and its relays (SetStreamClient; never moved by SetActiveWorkers).
//    Frames for TypeScript and connection ends go through the same control queue; TypeScript
//    answers with StreamSend, a command to the owning thread.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace icegate {

/** Raw address bytes (4 or 16), optionally followed by a 2-byte port: permission and channel keys. */
struct AddrKey {
  uint8_t bytes[18];
  uint8_t length;
  bool operator==(const AddrKey& o) const { return length == o.length && memcmp(bytes, o.bytes, length) == 0; }
};
struct AddrKeyHash {
  size_t operator()(const AddrKey& k) const {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (uint8_t i = 0; i < k.length; ++i) h = (h ^ k.bytes[i]) * 1099511628211ULL;
    return static_cast<size_t>(h);
  }
};

/**
 * One thread's counters. Each is written by one thread only (load + store, no locked instruction)
 * and read by JS with relaxed loads; the plane sums all threads on read.
 */
struct PlaneCounters {
  std::atomic<uint64_t> received{0};              // datagrams read from relay sockets
  std::atomic<uint64_t> sent_channel_data{0};     // forwarded as ChannelData
  std::atomic<uint64_t> sent_data_indication{0};  // forwarded as Data indication
  std::atomic<uint64_t> dropped_no_permission{0};
  std::atomic<uint64_t> dropped_no_client{0};
  std::atomic<uint64_t> dropped_too_large{0};
  std::atomic<uint64_t> send_errors{0};
  std::atomic<uint64_t> receive_batches{0};  // recvmmsg calls that returned at least one datagram
  std::atomic<uint64_t> send_batches{0};     // sendmmsg / GSO sendmsg calls
  // Client -> peer (the plane's own listening sockets).
  std::atomic<uint64_t> client_received{0};          // datagrams read from the listening sockets
  std::atomic<uint64_t> sent_to_peer{0};             // payloads sent from a relay socket
  std::atomic<uint64_t> handed_to_control{0};        // STUN and unknown clients, given to TypeScript
  // ChannelData on a channel not in the relay's table: not relayed here but handed to the core,
  // which relays it if it bound the channel a moment ago and discards it otherwise (RFC 8656 §12.6).
  std::atomic<uint64_t> dropped_unbound_channel{0};
  std::atomic<uint64_t> dropped_malformed{0};        // classifier said invalid
  std::atomic<uint64_t> send_indications{0};         // Send indications relayed natively (§11.4)
  std::atomic<uint64_t> dropped_send_no_permission{0};  // Send indication to a peer without permission
  std::atomic<uint64_t> dropped_control_overflow{0};    // the queue to TypeScript was full
  std::atomic<uint64_t> gso_sends{0};                   // sendmsg calls carrying UDP_SEGMENT
  // TCP clients (the plane's stream listener, see StreamConn in relay_plane.cc).
  std::atomic<uint64_t> stream_accepted{0};          // connections admitted
  std::atomic<uint64_t> stream_closed{0};            // connections closed, for any reason
  std::atomic<uint64_t> stream_refused_per_ip{0};    // refused at accept: maxConnectionsPerIp
  std::atomic<uint64_t> stream_refused_max{0};       // refused at accept: maxConnections
  std::atomic<uint64_t> stream_frames{0};            // frames cut from client streams
  std::atomic<uint64_t> stream_dropped_to_client{0};  // relayed data dropped: queue over maxQueuedBytes
  std::atomic<uint64_t> stream_closed_idle{0};
  std::atomic<uint64_t> stream_closed_slow{0};     // queue over maxQueuedBytesHard
  std::atomic<uint64_t> stream_closed_framing{0};  // bytes that are neither STUN nor ChannelData
  std::atomic<uint64_t> stream_writes{0};          // send() calls towards clients
  std::atomic<uint64_t> stream_tls_failures{0};    // TLS handshakes that failed or timed out
};

/** Single-writer increment: only the owning thread calls it. */
inline void Bump(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

class RelayPlane;
class Worker;
struct StreamConn;
class TlsContext;

struct Relay {
  uint32_t id = 0;
  int fd = -1;
  int family = AF_INET;
  // -1 while the JS thread holds the relay (before setClient); else the owning worker's index.
  // Written by the JS thread, and by the owner only while the JS thread waits for a detach.
  int owner = -1;
  bool closed = false;  // owner thread: closed by a command, freed after the current epoll round
  bool has_client = false;  // a UDP client (the fields below); a stream client is `stream` instead
  // Owner thread: the TCP connection this relay's peer data goes to, or nullptr (none, or closed).
  StreamConn* stream = nullptr;
  // JS thread: the connection id given to SetStreamClient (0: a UDP relay). Such a relay stays on
  // its connection's thread: SetActiveWorkers never moves it.
  uint32_t js_stream_conn = 0;
  sockaddr_storage client{};
  socklen_t client_len = 0;
  AddrKey client_key{};  // client address bytes + port
  // The JS thread's own copy of the client key (the fields above belong to the owner once attached).
  AddrKey js_client_key{};
  sockaddr_storage js_client{};  // and address, to place the relay when the active threads change
  bool js_has_client = false;
  std::unordered_set<AddrKey, AddrKeyHash> permissions;  // peer IPs (RFC 8656 §9: by IP only)
  std::unordered_map<AddrKey, uint16_t, AddrKeyHash> channels;  // peer IP + port -> channel
  struct Peer {
    sockaddr_storage address;
    socklen_t length;
  };
  std::unordered_map<uint16_t, Peer> peers_by_channel;  // channel -> peer (client -> peer)
  // Per-allocation traffic for usage and quotas, payload bytes only. The owner writes the first
  // four; the JS thread writes the js_ pair (sendFromRelay). Read by JS at any time.
  std::atomic<uint64_t> packets_to_client{0};
  std::atomic<uint64_t> bytes_to_client{0};
  std::atomic<uint64_t> packets_to_peer{0};
  std::atomic<uint64_t> bytes_to_peer{0};
  std::atomic<uint64_t> js_packets_to_peer{0};
  std::atomic<uint64_t> js_bytes_to_peer{0};
  // JS thread only: the sum of the four totals last returned by ChangedTraffic.
  uint64_t js_reported_key = 0;
};


/** What a ControlPacket carries. */
enum class ControlEvent : uint8_t { kDatagram = 0, kStreamFrame = 1, kStreamClosed = 2 };

/** A datagram (or a stream frame, or a stream's end) for TypeScript, copied out of the buffers. */
struct ControlPacket {
  std::vector<uint8_t> data;
  sockaddr_storage from;
  ControlEvent event = ControlEvent::kDatagram;
  uint32_t conn = 0;  // stream events: the connection id
};

/** Receives the datagrams the native side does not handle, on the JS thread, in arrival order. */
using ControlPacketSink = void (*)(void* context, const uint8_t* data, size_t size, const sockaddr_storage& from);
/** Receives stream frames and stream ends (data empty), on the JS thread, in arrival order. */
using StreamEventSink = void (*)(void* context, ControlEvent event, uint32_t conn, const uint8_t* data, size_t size,
                                 const sockaddr_storage& from);

/** Limits of a stream listener (src/transport/stream-limits.ts). */
struct StreamOptions {
  uint32_t max_connections = 20000;
  uint32_t max_per_ip = 1000;
  uint32_t idle_ms = 30000;
  size_t max_queued = 256 * 1024;
  size_t max_queued_hard = 1024 * 1024;
  uint32_t handshake_ms = 10000;  // TLS only
};

struct PlaneOptions {
  unsigned threads = 1;
  bool gso = true;  // use UDP_SEGMENT when the kernel has it
};

/** What a plane ended up with, for tests and the README's figures. */
struct PlaneInfo {
  unsigned threads;
  unsigned active;  // threads that clients are steered to (SetActiveWorkers); the rest sleep
  bool steering;  // the reuseport BPF program is attached (else: one listening socket)
  bool gso;       // UDP_SEGMENT in use
};

class RelayPlane {
 public:
  /** `listen_fd`: a JS listening socket to send peer -> client datagrams from, or -1. */
  RelayPlane(uv_loop_t* loop, int listen_fd, const PlaneOptions& options);
  ~RelayPlane();
  /** Empty when every data thread started; else why not (the plane must then be deleted). */
  const std::string& start_error() const { return start_error_; }

  /**
   * Binds a relay socket; returns its id and writes the bound port, or 0 with `error` set (and
   * `sys_errno` to the failing call's errno, 0 when the failure is not the system's, e.g. a bad IP).
   * `buffer_bytes` > 0 sets SO_RCVBUF and SO_SNDBUF (TURN_RELAY_SOCKET_BUFFER; the kernel caps it
   * at net.core.rmem_max / wmem_max), so a peer's burst waits in the socket instead of being dropped.
   */
  uint32_t OpenRelay(const std::string& ip, uint16_t port, uint16_t* bound_port, std::string* error,
                     int* sys_errno = nullptr, int buffer_bytes = 0);
  bool SetClient(uint32_t id, const std::string& ip, uint16_t port, std::string* error);
  bool SetPermissions(uint32_t id, const std::vector<std::string>& ips, std::string* error);
  struct ChannelBinding {
    std::string ip;
    uint16_t port;
    uint16_t channel;
  };
  bool SetChannels(uint32_t id, const std::vector<ChannelBinding>& bindings, std::string* error);
  bool CloseRelay(uint32_t id);
  /** The relay (for its traffic counters), or nullptr for an unknown id. JS thread only. */
  const Relay* FindRelay(uint32_t id) const {
    const auto it = relays_.find(id);
    return it == relays_.end() ? nullptr : it->second;
  }

  /**
   * Appends, for every relay whose data threads relayed something since the previous call, 5
   * numbers: its id, then the data threads' cumulative packets/bytes to the client and packets/bytes
   * to peers (unlike relayTraffic, without SendFromRelay's sends, which the caller counted itself);
   * returns how many relays. One pass over the relays with relaxed loads, on the JS thread: the
   * core's once-a-second collection costs one call for all relays, and idle relays cost nothing.
   */
  size_t ChangedTraffic(std::vector<double>* out);

  /**
   * Steers clients to the first `active` data threads only (1..threads) and moves the relays whose
   * owner changes; the other threads sleep in epoll_wait at no cost. Fewer threads mean fewer
   * wake-ups at a light load (one thread picks up a burst in one wake-up where two would each wake
   * for their share), more threads mean more cores under a heavy one. Writes how many relays moved.
   * While a relay moves, its client's datagrams that reach the old thread go to TypeScript, which
   * relays them itself (the slow path, still correct); its peers' datagrams wait in its socket.
   */
  bool SetActiveWorkers(unsigned active, size_t* moved, std::string* error);
  /** CPU seconds data thread `index` has used (its own thread CPU clock), 0 if unknown. */
  double WorkerCpuSeconds(unsigned index) const;

  /** Opens the listening sockets (one per worker, SO_REUSEPORT); they replace `listen_fd`. */
  bool OpenListener(const std::string& ip, uint16_t port, ControlPacketSink sink, void* context,
                    uint16_t* bound_port, std::string* error, int* sys_errno = nullptr);
  /** Sends one datagram from the listening port (STUN responses written by TypeScript). */
  bool SendToClient(const std::string& ip, uint16_t port, const uint8_t* data, size_t size, std::string* error);
  /** Sends one datagram from relay `id` to a peer (what the TypeScript core relays itself). */
  bool SendFromRelay(uint32_t id, const std::string& ip, uint16_t port, const uint8_t* data, size_t size,
                     std::string* error);

  /**
   * Opens a TCP listening socket: accepted connections are owned by one data thread each (see
   * native/README.md), framed natively, and their ChannelData / Send indications relayed; other
   * frames and connection ends go to `sink`. One per plane.
   */
  bool OpenStreamListener(const std::string& ip, uint16_t port, const StreamOptions& options, StreamEventSink sink,
                          void* context, uint16_t* bound_port, std::string* error, int* sys_errno = nullptr);
  /**
   * Makes the stream listener TLS (before OpenStreamListener), or replaces its certificate (a
   * reload: connections accepted from now on use it). False with `error` for a bad pair.
   */
  bool SetStreamTls(const std::string& cert_pem, const std::string& key_pem, uint32_t handshake_ms,
                    std::string* error);
  /** The TLS context for a new connection, or nullptr for plain TCP. Any thread. */
  std::shared_ptr<TlsContext> StreamTls();
  /** Queues one whole frame to stream connection `conn` (dropped if it is gone). */
  bool StreamSend(uint32_t conn, const uint8_t* data, size_t size, std::string* error);
  /** Closes stream connection `conn` (its end is reported to the sink as for any close). */
  bool StreamClose(uint32_t conn, std::string* error);
  /** Makes relay `id` send its peer data to stream connection `conn`, on that connection's thread. */
  bool SetStreamClient(uint32_t id, uint32_t conn, std::string* error);
  /** Open stream connections (accepted, not yet closed). */
  uint64_t StreamConnections() const { return stream_open_.load(std::memory_order_relaxed); }
  const StreamOptions& stream_options() const { return stream_options_; }

  // Called by data threads: admission at accept (limits) and its undoing at close.
  enum class Admit { kOk, kTooMany, kPerIp };
  Admit AdmitStream(const AddrKey& ip);
  void ReleaseStream(const AddrKey& ip);
  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }
  Worker* worker(unsigned index) { return workers_[index].get(); }

  /** True while control packets are being handed to JS; closing then is deferred to the end. */
  bool dispatching() const { return dispatching_; }
  void RequestDeleteAfterDispatch() { delete_after_dispatch_ = true; }
  size_t RelayCount() const { return relays_.size(); }
  /** Sums every thread's counter `field` (and the JS thread's). */
  uint64_t Sum(std::atomic<uint64_t> PlaneCounters::*field) const;
  /** Per-worker counter `field`, worker `index`. */
  uint64_t WorkerCounter(unsigned index, std::atomic<uint64_t> PlaneCounters::*field) const;
  PlaneInfo Info() const;

  // Called by workers.
  void PushControl(std::vector<ControlPacket>* packets, PlaneCounters* counters);
  void AckDetach(Relay* relay);
  bool gso() const { return gso_; }

 private:
  static void OnControlAsync(uv_async_t* handle);
  void DrainControl();
  Relay* Find(uint32_t id);
  unsigned OwnerOf(const sockaddr_storage& client) const;
  bool DetachSync(Relay* relay, std::string* error);

  std::string start_error_;
  int listen_family_;
  int js_listen_fd_;            // the JS socket's fd given at creation, or -1 (not ours to close)
  std::vector<int> listen_fds_;  // ours, one per worker when steering, else one
  bool steering_ = false;
  bool gso_ = false;
  unsigned active_ = 1;  // JS thread only: OwnerOf shards clients over workers 0..active_-1
  std::vector<std::unique_ptr<Worker>> workers_;
  uint32_t next_id_ = 1;
  std::unordered_map<uint32_t, Relay*> relays_;  // JS thread only
  // JS-thread mirror of every worker's client table: client key -> relay ids by family, for
  // RFC 8656 §2.2 (one allocation per client 5-tuple; a dual allocation has one relay per family).
  struct ClientRelays {
    uint32_t v4 = 0;
    uint32_t v6 = 0;
  };
  std::unordered_map<AddrKey, ClientRelays, AddrKeyHash> clients_;
  PlaneCounters js_counters_;  // written by the JS thread only

  // Worker -> JS queue of control packets.
  std::mutex control_mu_;
  std::vector<ControlPacket> control_;
  size_t control_bytes_ = 0;
  uv_async_t* async_ = nullptr;  // freed in its close callback
  ControlPacketSink sink_ = nullptr;
  void* sink_context_ = nullptr;
  StreamEventSink stream_sink_ = nullptr;
  void* stream_sink_context_ = nullptr;
  int stream_listen_fd_ = -1;
  StreamOptions stream_options_;
  std::atomic<uint64_t> stream_open_{0};
  std::mutex stream_mu_;  // accept and close only: the per-IP counts
  std::unordered_map<AddrKey, uint32_t, AddrKeyHash> stream_per_ip_;
  std::shared_ptr<TlsContext> stream_tls_;  // guarded by stream_mu_
  uint32_t stream_handshake_ms_ = 10000;
  bool dispatching_ = false;
  bool delete_after_dispatch_ = false;

  // Detach handshake (JS thread waits; rare: only when a relay's client moves to another worker).
  std::mutex detach_mu_;
  std::condition_variable detach_cv_;
};

}  // namespace icegate
