// ThreadSanitizer stress of the threaded data plane without Node (V8 does not run under TSan):
// a libuv loop on the main thread plays the JS thread (table pushes, relay churn, client moves,
// changes of the active thread count,
// counter reads, control packets drained by the uv_async), while a sender thread floods the
// listening port and the relay sockets. Built and run by native/tsan/run-tsan.sh.
#include <arpa/inet.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "relay_plane.h"

using icegate::PlaneCounters;
using icegate::PlaneOptions;
using icegate::RelayPlane;

namespace {

int UdpSocket(uint16_t* port) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  *port = ntohs(sa.sin_port);
  const int big = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
  return fd;
}

void SendTo(int fd, uint16_t port, const uint8_t* data, size_t size) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  sendto(fd, data, size, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
}

void Drain(int fd) {
  uint8_t buf[2048];
  while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
  }
}

int g_control = 0;
void Sink(void*, const uint8_t*, size_t, const sockaddr_storage&) { ++g_control; }

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? atof(argv[1]) : 5.0;
  uv_loop_t loop;
  uv_loop_init(&loop);
  PlaneOptions options;
  options.threads = 3;
  auto* plane = new RelayPlane(&loop, -1, options);
  uint16_t listen_port = 0;
  std::string error;
  if (!plane->OpenListener("127.0.0.1", 0, Sink, nullptr, &listen_port, &error)) {
    fprintf(stderr, "listen: %s\n", error.c_str());
    return 1;
  }
  constexpr int kClients = 8;
  uint16_t client_ports[kClients];
  int clients[kClients];
  for (int i = 0; i < kClients; ++i) clients[i] = UdpSocket(&client_ports[i]);
  uint16_t peer_port;
  const int peer = UdpSocket(&peer_port);

  std::vector<uint32_t> relays(kClients);
  std::vector<std::atomic<uint16_t>> relay_ports(kClients);
  for (int i = 0; i < kClients; ++i) {
    uint16_t port;
    relays[i] = plane->OpenRelay("127.0.0.1", 0, &port, &error);
    relay_ports[i].store(port);
    plane->SetClient(relays[i], "127.0.0.1", client_ports[i], &error);
    plane->SetPermissions(relays[i], {"127.0.0.1"}, &error);
    plane->SetChannels(relays[i], {{"127.0.0.1", peer_port, static_cast<uint16_t>(0x4000 + i)}}, &error);
  }

  std::atomic<bool> stop{false};
  std::thread sender([&] {
    uint8_t channel_data[4 + 100] = {0x40, 0x00, 0x00, 100};
    uint8_t stun[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
    uint8_t payload[100] = {1};
    uint32_t k = 0;
    while (!stop.load()) {
      for (int i = 0; i < kClients; ++i) {
        channel_data[1] = static_cast<uint8_t>(i);
        SendTo(clients[i], listen_port, channel_data, sizeof(channel_data));
        SendTo(peer, relay_ports[i].load(), payload, sizeof(payload));
        // Rare: the control queue's mutex orders both threads, so frequent control packets would
        // hide races from TSan (checked: an injected race on a relay's table is reported).
        if ((++k & 4095) == 0) SendTo(clients[i], listen_port, stun, sizeof(stun));
      }
      Drain(peer);
      for (int i = 0; i < kClients; ++i) Drain(clients[i]);
    }
  });

  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t rounds = 0;
  while (std::chrono::steady_clock::now() < end) {
    ++rounds;
    uv_run(&loop, UV_RUN_NOWAIT);
    const int i = static_cast<int>(rounds % kClients);
    // Mostly table pushes; relay churn and client moves now and then (each sends a few
    // datagrams to the control queue, whose mutex would otherwise order the threads too often).
    const uint64_t phase = rounds % 50;
    switch (phase < 20 ? 0 : phase < 40 ? 1 : phase == 40 ? 2 : phase == 45 ? 3 : phase == 47 ? 5 : 4) {
      case 0:
        plane->SetPermissions(relays[i], rounds % 2 ? std::vector<std::string>{} : std::vector<std::string>{"127.0.0.1"},
                              &error);
        break;
      case 1:
        plane->SetChannels(relays[i], {{"127.0.0.1", peer_port, static_cast<uint16_t>(0x4000 + i)}}, &error);
        break;
      case 2: {
        // Churn: close a relay and open a fresh one for the same client.
        plane->CloseRelay(relays[i]);
        uint16_t port;
        relays[i] = plane->OpenRelay("127.0.0.1", 0, &port, &error);
        relay_ports[i].store(port);
        plane->SetPermissions(relays[i], {"127.0.0.1"}, &error);
        plane->SetClient(relays[i], "127.0.0.1", client_ports[i], &error);
        break;
      }
      case 3: {
        // Move a relay to another client and back (detach handshake when the thread differs).
        const int j = (i + 1) % kClients;
        plane->CloseRelay(relays[j]);
        uint16_t port;
        relays[j] = plane->OpenRelay("127.0.0.1", 0, &port, &error);
        relay_ports[j].store(port);
        plane->SetClient(relays[i], "127.0.0.1", client_ports[j], &error);
        plane->SetClient(relays[i], "127.0.0.1", client_ports[i], &error);
        plane->SetClient(relays[j], "127.0.0.1", client_ports[j], &error);
        break;
      }
      case 5: {
        // The ThreadScaler's move: steer to fewer or more threads while datagrams flow.
        size_t moved = 0;
        const unsigned threads = plane->Info().threads;
        plane->SetActiveWorkers(1 + static_cast<unsigned>((rounds / 50) % threads), &moved, &error);
        if (plane->WorkerCpuSeconds(0) < 0) return 2;
        break;
      }
      default: {
        const icegate::Relay* relay = plane->FindRelay(relays[i]);
        if (relay != nullptr && relay->packets_to_client.load(std::memory_order_relaxed) > (1ULL << 60)) return 2;
        if (plane->Sum(&PlaneCounters::received) > (1ULL << 60)) return 2;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const uint64_t forwarded = plane->Sum(&PlaneCounters::sent_to_peer);
  const uint64_t to_clients = plane->Sum(&PlaneCounters::sent_channel_data);
  // Close while the sender is still running, as JS may.
  delete plane;
  stop.store(true);
  sender.join();
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  printf("tsan plane stress: %llu table rounds, %llu to peers, %llu to clients, %d control packets\n",
         static_cast<unsigned long long>(rounds), static_cast<unsigned long long>(forwarded),
         static_cast<unsigned long long>(to_clients), g_control);
  return forwarded > 0 && to_clients > 0 && g_control > 0 ? 0 : 3;
}
