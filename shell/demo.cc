#include "shell/demo.h"

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "core/random.h"
#include "shell/attack/attacker.h"
#include "shell/endpoint.h"
#include "shell/host.h"
#include "shell/live_table.h"

namespace connmgr::shell {
namespace {

using boost::asio::ip::tcp;

constexpr int kPeers = 20;
constexpr int kScoredPeers = 5;
constexpr int kKeepAlive = 3;
constexpr int kHostile = 4;
constexpr int kHogAddresses = 6;  // the idle-socket hog: 127.0.77.1-6
constexpr int kHogSocketsPerAddress = 2;

// A fixed Ed25519 identity per role and index, so a node that restarts keeps its peer id.
noise::Ed25519Identity DemoIdentity(uint8_t role, uint8_t index) {
  noise::Ed25519Identity::Seed seed{};
  seed[0] = role;
  seed[1] = index;
  return noise::Ed25519Identity::FromSeed(seed);
}
PeerId DemoPeer(uint8_t role, uint8_t index) { return DemoIdentity(role, index).peer_id(); }

// Every node speaks libp2p (Noise, Yamux, identify, ping).
Libp2pOptions DemoLibp2p(uint8_t role, uint8_t index) {
  Libp2pOptions o;
  o.identity = DemoIdentity(role, index);
  o.agent_version = "connmgr-demo/0.1.0";
  return o;
}

Multiaddr Addr(const std::string& text) { return Multiaddr::Parse(text).value(); }

Config HubConfig(uint64_t seed) {
  Config c;
  c.max_connections = 12;
  c.high_watermark = 10;
  c.low_watermark = 8;
  c.grace_period = Duration::Milliseconds(500);
  c.limit_loopback_sources = true;  // every node is on loopback here
  c.inbound_rate_per_ip = {2, Duration::Seconds(1), 3};
  c.max_connections_per_ipv4_32 = 2;
  c.deny_list = {IpPrefix::Parse("127.0.66.0/24").value()};
  c.reconnect_retry_interval = Duration::Milliseconds(400);
  c.reconnect_retries = 8;
  c.reconnect_jitter_percent = 10;
  c.dial_backoff_base = Duration::Milliseconds(200);  // short enough for reconnects to retry
  c.dial_backoff_step = Duration::Milliseconds(100);
  c.dial_backoff_max = Duration::Seconds(1);
  c.random_seed = seed;
  return c;
}

class Demo {
 public:
  Demo(boost::asio::io_context& io, const DemoOptions& options)
      : io_(io), options_(options), out_(*options.out), rng_(options.seed), ticker_(io) {}

  absl::Status Start() {
    HostOptions hub;
    hub.config = HubConfig(options_.seed);
    hub.libp2p = DemoLibp2p('h', 0);
    absl::StatusOr<std::unique_ptr<Host>> created = Host::Create(io_, std::move(hub));
    if (!created.ok()) return created.status();
    hub_ = *std::move(created);
    absl::StatusOr<Multiaddr> bound = hub_->Listen(Addr("/ip4/127.0.0.1/tcp/0"));
    if (!bound.ok()) return bound.status();
    hub_address_ = bound->WithPeerId(hub_->peer());
    absl::StatusOr<Multiaddr> quic = hub_->Listen(Addr("/ip4/127.0.0.1/udp/0/quic-v1"));
    if (!quic.ok()) return quic.status();
    hub_quic_address_ = quic->WithPeerId(hub_->peer());
    hub_->Subscribe([this](const HostEvent& e) { OnHubEvent(e); });

    keep_alive_.resize(kKeepAlive);
    for (int k = 0; k < kKeepAlive; ++k) {
      if (absl::Status s = StartKeepAlive(k, /*port=*/0); !s.ok()) return s;
      const PeerId peer = DemoPeer('k', static_cast<uint8_t>(k));
      names_[peer] = absl::StrCat("ka-", k + 1);
      hub_->SetPeerAddresses(peer, {keep_alive_[k].address}).IgnoreError();
      hub_->TagPeer(peer, "keep-alive", 100).IgnoreError();  // dials at once
    }
    peers_.resize(kPeers);
    for (int i = 0; i < kScoredPeers; ++i) {
      const PeerId peer = DemoPeer('p', static_cast<uint8_t>(i));
      hub_->TagPeer(peer, "score", int64_t{10} * (i + 1)).IgnoreError();
    }
    out_ << "connmgr demo: a hub node at " << hub_address_.ToString() << " and "
         << hub_quic_address_.ToString() << ", and " << kPeers + kKeepAlive + kHostile + 1
         << " other nodes on loopback, " << options_.length.nanoseconds() / 1'000'000'000
         << " s, all speaking libp2p (TCP with Noise and Yamux; every other peer over QUIC)\n"
         << "hub limits: max 12 connections, trim from 10 to 8, 2 sockets/s and 2 at once per "
            "address, deny 127.0.66.0/24, 10 pending sockets shared fairly by /24\n"
         << "attackers: a denied range, a flooder (127.0.0.200), an idle-socket hog "
            "(127.0.77.1-6) and a slow reader (127.0.88.1)\n\n"
         << LiveTableHeader() << "\n";
    started_ = std::chrono::steady_clock::now();
    Tick();
    return absl::OkStatus();
  }

  void PrintSummary() {
    const Metrics m = hub_->GetMetrics();
    out_ << "\nsummary (the hub)\n" << MetricsSummary(m);
    std::vector<std::string> values;
    for (const auto& [value, count] : pruned_values_)
      values.push_back(absl::StrCat(value, "×", count));
    out_ << "  pruned by value    " << (values.empty() ? "-" : absl::StrJoin(values, " "))
         << " (the scored and keep-alive peers are pruned last)\n";
    std::vector<std::string> waits;
    for (int64_t ms : reconnect_waits_ms_) waits.push_back(absl::StrCat(ms, " ms"));
    out_ << "  keep-alive peers   " << restarts_ << " restarts, back after "
         << (waits.empty() ? "-" : absl::StrJoin(waits, ", ")) << "\n";
    out_ << "  idle-socket hog    " << hog_sockets_ << " idle sockets from " << kHogAddresses
         << " addresses: " << m.closed(CloseReason::kPendingEvicted)
         << " evicted for rarer sources, " << m.closed(CloseReason::kUpgradeTimeout)
         << " timed out\n"
         << "  slow reader        " << slow_reader_connections_
         << " connections that never read: " << m.closed(CloseReason::kSlowReader)
         << " closed as slow_reader, " << m.closed(CloseReason::kMemoryLimit) << " for memory\n"
         << "  honest dials       " << honest_connected_ << " of " << honest_dials_
         << " connected meanwhile\n"
         << "  transports         " << opened_tcp_ << " connections over TCP, " << opened_quic_
         << " over QUIC\n";
  }

  void Stop() {
    stopping_ = true;
    if (slow_reader_.joinable()) slow_reader_.join();
    ticker_.cancel();
    for (auto& p : peers_) p.reset();
    for (auto& h : hostile_) h.reset();
    for (auto& k : keep_alive_) k.host.reset();
    flood_.clear();
    for (auto& socket : hog_) {
      boost::system::error_code ignored;
      socket->close(ignored);
    }
    if (hub_) hub_->Close();
  }

 private:
  struct KeepAlive {
    std::unique_ptr<Host> host;
    Multiaddr address;
    std::chrono::steady_clock::time_point lost_at;
  };

  double Elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

  absl::Status StartKeepAlive(int k, uint16_t port) {
    HostOptions o;
    o.libp2p = DemoLibp2p('k', static_cast<uint8_t>(k));
    absl::StatusOr<std::unique_ptr<Host>> host = Host::Create(io_, std::move(o));
    if (!host.ok()) return host.status();
    absl::StatusOr<Multiaddr> bound =
        (*host)->Listen(Addr(absl::StrCat("/ip4/127.0.0.", 50 + k, "/tcp/", port)));
    if (!bound.ok()) return bound.status();
    keep_alive_[k].host = *std::move(host);
    keep_alive_[k].address = *bound;
    return absl::OkStatus();
  }

  std::unique_ptr<Host> MakeDialer(uint8_t role, int index, const std::string& source_ip) {
    HostOptions o;
    o.libp2p = DemoLibp2p(role, static_cast<uint8_t>(index));
    o.dial_source_ip = IpAddress::Parse(source_ip).value();
    return Host::Create(io_, std::move(o)).value();
  }

  void DialHub(Host& host, bool honest = false, bool quic = false) {
    host.Dial(quic ? hub_quic_address_ : hub_address_,
              [this, honest](const DialResult& r) {
                if (!honest) return;
                ++honest_dials_;
                honest_connected_ += r.outcome == DialOutcome::kConnected;
              })
        .IgnoreError();
  }

  // The slow reader, on its own thread: a libp2p peer that sends on ping streams and never
  // reads the echoes, reconnecting whenever the hub closes it, until the demo stops.
  void RunSlowReader(const Multiaddr& hub, const PeerId& hub_peer) {
    using std::chrono::milliseconds;
    using std::chrono::steady_clock;
    const std::string payload(size_t{16} * 1024, 's');
    while (!stopping_) {
      attack::AttackerOptions options;
      options.seed = 88;
      options.source_ip = "127.0.88.1";
      options.timeout = milliseconds(2'000);
      absl::StatusOr<std::unique_ptr<attack::Attacker>> a =
          attack::Attacker::Connect(hub, hub_peer, options);
      if (!a.ok()) {
        std::this_thread::sleep_for(milliseconds(200));
        continue;
      }
      ++slow_reader_connections_;
      for (uint32_t stream = 1; stream <= 15; stream += 2) {
        (*a)->OpenStream(stream, "/ipfs/ping/1.0.0", steady_clock::now() + milliseconds(100));
      }
      for (uint32_t frame = 0; !stopping_ && !(*a)->PeerClosed(); ++frame) {
        (*a)->Send(attack::DataFrame(1 + 2 * (frame % 8), payload),
                   steady_clock::now() + milliseconds(20));
        std::this_thread::sleep_for(milliseconds(5));
      }
    }
  }

  // Reads (and drops) what the hub sends a hog socket, to notice when the hub closes it.
  void WatchHogSocket(int address, const std::shared_ptr<tcp::socket>& socket) {
    auto buffer = std::make_shared<std::array<char, 256>>();
    socket->async_read_some(
        boost::asio::buffer(*buffer),
        [this, address, socket, buffer](const boost::system::error_code& ec, size_t) {
          if (ec) {
            --hog_open_[address];
          } else {
            WatchHogSocket(address, socket);
          }
        });
  }

  // The idle-socket hog: each of its addresses keeps kHogSocketsPerAddress sockets open that
  // never send a byte, opening a new one as soon as the hub closes one.
  void RefillHog() {
    for (int a = 0; a < kHogAddresses; ++a) {
      while (hog_open_[a] < kHogSocketsPerAddress) {
        auto socket = std::make_shared<tcp::socket>(io_);
        boost::system::error_code ec;
        socket->open(tcp::v4(), ec);
        socket->bind(
            tcp::endpoint(boost::asio::ip::make_address(absl::StrCat("127.0.77.", a + 1)), 0), ec);
        if (ec) return;
        ++hog_open_[a];
        ++hog_sockets_;
        socket->async_connect(TcpEndpointOf(hub_address_).value(),
                              [this, a, socket](const boost::system::error_code& ec) {
                                if (ec) {
                                  --hog_open_[a];
                                } else {
                                  WatchHogSocket(a, socket);
                                }
                              });
        hog_.push_back(socket);
      }
    }
  }

  void OnHubEvent(const HostEvent& e) {
    if (const auto* opened = std::get_if<ConnectionOpened>(&e)) {
      if (const Connection* c = hub_->core().connections().Find(opened->connection)) {
        ++(c->remote.transport() == Transport::kQuicV1 ? opened_quic_ : opened_tcp_);
      }
    } else if (const auto* pruned = std::get_if<ConnectionsPruned>(&e)) {
      for (const PrunedConnection& p : pruned->pruned) ++pruned_values_[p.peer_value];
      Note(absl::StrCat("pruned ", pruned->pruned.size()));
    } else if (const auto* connected = std::get_if<PeerConnected>(&e)) {
      for (int k = 0; k < kKeepAlive; ++k) {
        if (connected->peer != DemoPeer('k', static_cast<uint8_t>(k)) ||
            keep_alive_[k].lost_at == std::chrono::steady_clock::time_point()) {
          continue;
        }
        const auto waited = std::chrono::steady_clock::now() - keep_alive_[k].lost_at;
        reconnect_waits_ms_.push_back(
            std::chrono::duration_cast<std::chrono::milliseconds>(waited).count());
        keep_alive_[k].lost_at = {};
        Note(absl::StrCat("ka-", k + 1, " reconnected"));
      }
    } else if (const auto* failed = std::get_if<ReconnectFailed>(&e)) {
      Note(absl::StrCat(names_[failed->peer], " given up"));
    }
  }

  void Note(const std::string& note) {
    if (!notes_.empty()) notes_ += ", ";
    notes_ += note;
  }

  // Every 100 ms: the script for this instant; every second: a row of the table.
  void Tick() {
    const int tenth = ticks_++;
    Script(tenth);
    if (tenth > 0 && tenth % 10 == 0) {
      out_ << LiveTableRow(Elapsed(), hub_->GetMetrics(), notes_) << "\n";
      out_.flush();
      notes_.clear();
    }
    if (tenth >= options_.length.nanoseconds() / 100'000'000) {
      io_.stop();
      return;
    }
    ticker_.expires_after(std::chrono::milliseconds(100));
    ticker_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Tick();
    });
  }

  void Script(int tenth) {
    // Peers arrive two a second; then one (unscored) restarts every second.
    if (tenth % 5 == 0 && tenth / 5 < kPeers) {
      const int i = tenth / 5;
      peers_[i] = MakeDialer('p', i, absl::StrCat("127.0.0.", 10 + i));
      DialHub(*peers_[i], /*honest=*/true, /*quic=*/i % 2 == 1);
    } else if (tenth >= kPeers * 5 && tenth % 10 == 3) {
      const int i = kScoredPeers + static_cast<int>(rng_.Next() % (kPeers - kScoredPeers));
      peers_[i] = MakeDialer('p', i, absl::StrCat("127.0.0.", 10 + i));
      DialHub(*peers_[i], /*honest=*/true, /*quic=*/i % 2 == 1);
    }
    if (tenth >= 20) RefillHog();
    if (tenth == 30) {
      slow_reader_ = std::thread(
          [this, hub = hub_address_, peer = hub_->peer()] { RunSlowReader(hub, peer); });
    }
    // Hostile nodes from the denied range, every two seconds.
    if (tenth % 20 == 7) {
      hostile_.resize(kHostile);
      for (int h = 0; h < kHostile; ++h) {
        hostile_[h] = MakeDialer('x', h, absl::StrCat("127.0.66.", h + 1));
        DialHub(*hostile_[h]);
      }
    }
    // The flooder: raw sockets from one address, each held 300 ms.
    if (tenth >= 30) {
      auto socket = std::make_shared<tcp::socket>(io_);
      boost::system::error_code ec;
      socket->open(tcp::v4(), ec);
      socket->bind(tcp::endpoint(boost::asio::ip::make_address("127.0.0.200"), 0), ec);
      if (!ec) {
        socket->async_connect(TcpEndpointOf(hub_address_).value(),
                              [](const boost::system::error_code&) {});
        flood_.push_back({socket, tenth + 3});
      }
      while (!flood_.empty() && flood_.front().second <= tenth) {
        boost::system::error_code ignored;
        flood_.front().first->close(ignored);
        flood_.erase(flood_.begin());
      }
    }
    // Keep-alive peers stop and come back.
    const int length_tenths = static_cast<int>(options_.length.nanoseconds() / 100'000'000);
    const std::pair<int, int> restarts[kKeepAlive] = {
        {length_tenths * 3 / 10, length_tenths * 4 / 10},
        {length_tenths * 5 / 10, length_tenths * 6 / 10},
        {length_tenths * 7 / 10, length_tenths * 85 / 100}};
    for (int k = 0; k < kKeepAlive; ++k) {
      if (tenth == restarts[k].first && keep_alive_[k].host) {
        keep_alive_[k].host.reset();
        keep_alive_[k].lost_at = std::chrono::steady_clock::now();
        ++restarts_;
        Note(absl::StrCat("ka-", k + 1, " stopped"));
      } else if (tenth == restarts[k].second && !keep_alive_[k].host) {
        if (StartKeepAlive(k, *keep_alive_[k].address.port()).ok()) {
          Note(absl::StrCat("ka-", k + 1, " back"));
        }
      }
    }
  }

  boost::asio::io_context& io_;
  DemoOptions options_;
  std::ostream& out_;
  SplitMix64 rng_;
  boost::asio::steady_timer ticker_;
  std::chrono::steady_clock::time_point started_;
  int ticks_ = 0;
  std::unique_ptr<Host> hub_;
  Multiaddr hub_address_;
  Multiaddr hub_quic_address_;
  uint64_t opened_tcp_ = 0;
  uint64_t opened_quic_ = 0;
  std::vector<std::unique_ptr<Host>> peers_;
  std::vector<std::unique_ptr<Host>> hostile_;
  std::vector<KeepAlive> keep_alive_;
  std::vector<std::pair<std::shared_ptr<tcp::socket>, int>> flood_;  // (socket, close at)
  std::vector<std::shared_ptr<tcp::socket>> hog_;
  std::array<int, kHogAddresses> hog_open_{};
  int hog_sockets_ = 0;
  std::thread slow_reader_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> slow_reader_connections_{0};
  int honest_dials_ = 0;
  int honest_connected_ = 0;
  absl::flat_hash_map<PeerId, std::string> names_;  // looked up only
  std::map<int64_t, int> pruned_values_;
  std::vector<int64_t> reconnect_waits_ms_;
  int restarts_ = 0;
  std::string notes_;
};

}  // namespace

int RunDemo(const DemoOptions& options) {
  boost::asio::io_context io;
  Demo demo(io, options);
  if (absl::Status s = demo.Start(); !s.ok()) {
    *options.out << "demo: " << s << "\n";
    return 1;
  }
  io.run();
  demo.PrintSummary();
  demo.Stop();
  io.restart();
  io.poll();
  return 0;
}

}  // namespace connmgr::shell
