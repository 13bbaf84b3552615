#include "props/input_generator.h"

#include <algorithm>
#include <string>

namespace connmgr {
namespace {

const Multiaddr& Remote(uint32_t i) {
  static const auto* remotes = new std::vector<Multiaddr>{
      Multiaddr::Parse("/ip4/1.2.3.4/tcp/4001").value(),
      Multiaddr::Parse("/ip4/10.0.0.7/tcp/4001").value(),
      Multiaddr::Parse("/ip6/2001:db8::1/tcp/4001").value(),
      Multiaddr::Parse("/ip4/127.0.0.1/udp/4001/quic-v1").value(),
      Multiaddr::Parse("/ip4/5.6.7.8/tcp/1/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N/"
                       "p2p-circuit")
          .value(),
      Multiaddr(),  // invalid: exercises input errors
  };
  return (*remotes)[i % remotes->size()];
}

const Multiaddr& DialTarget(uint32_t i) {
  static const auto* targets = new std::vector<Multiaddr>{
      Multiaddr::Parse("/ip4/1.2.3.4/tcp/4001").value(),
      Multiaddr::Parse("/ip6/2001:db8::1/udp/4001/quic-v1").value(),
      Multiaddr::Parse("/dns4/node.example/tcp/4001").value(),
      Multiaddr::Parse("/dnsaddr/boot.example").value(),
      Multiaddr::Parse("/ip4/10.0.0.7/tcp/4001").value(),
  };
  return (*targets)[i % targets->size()];
}

const IpPrefix& ListEntry(uint32_t i) {
  static const auto* entries = new std::vector<IpPrefix>{
      IpPrefix::Parse("1.2.3.0/24").value(), IpPrefix::Parse("10.0.0.0/8").value(),
      IpPrefix::Parse("2001:db8::/32").value(), IpPrefix::Parse("127.0.0.1").value()};
  return (*entries)[i % entries->size()];
}

const Multiaddr& Local() {
  static const auto* local = new Multiaddr(Multiaddr::Parse("/ip4/10.0.0.1/tcp/4001").value());
  return *local;
}

const PeerId& Peer(uint32_t i) {
  static const auto* peers = new std::vector<PeerId>{
      PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value(),
      PeerId::Parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA").value(),
      PeerId::Parse("QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN").value(),
      PeerId::Parse("QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC").value(),
      PeerId(),
  };
  return (*peers)[i % peers->size()];
}

const std::string& StreamProtocol(uint32_t i) {
  static const auto* protocols = new std::vector<std::string>{
      "/ipfs/id/1.0.0", "/ipfs/ping/1.0.0", "/chat/1.0.0", "/libp2p/dcutr", "/meshsub/1.1.0", "",
  };
  return (*protocols)[i % protocols->size()];
}

const std::string& TagName(uint32_t i) {
  static const auto* names = new std::vector<std::string>{"score", "keep-alive", "app", ""};
  return (*names)[i % names->size()];
}

Direction PickDirection(uint32_t b) { return b & 1 ? Direction::kOutbound : Direction::kInbound; }

}  // namespace

ConnectionId InputGenerator::PickConnection() {
  const uint32_t b = Byte();
  if (!recent_.empty() && b < 224) return recent_[b % recent_.size()];
  return ConnectionId{b % (highest_id_ + 3)};
}

TimedInput InputGenerator::Next() {
  for (;;) {
    const uint32_t op = Byte() % 28;
    switch (op) {
      case 0:
      case 1:
        return {now_, InboundConnection{Remote(Byte()), Local()}};
      case 2:
        return {now_, OutboundConnection{Remote(Byte()), Local(), Peer(Byte())}};
      case 3: {
        ConnectionId c = PickConnection();
        return {now_, ConnectionUpgraded{c, Peer(Byte())}};
      }
      case 4:
        return {now_, TransportClosed{PickConnection()}};
      case 5:
        return {now_, CloseRequest{PickConnection()}};
      case 6: {
        ConnectionId c = PickConnection();
        const uint32_t b = Byte();
        return {now_, StreamOpened{c, StreamProtocol(b >> 1), PickDirection(b)}};
      }
      case 7: {
        ConnectionId c = PickConnection();
        const uint32_t b = Byte();
        return {now_, StreamClosed{c, StreamProtocol(b >> 1), PickDirection(b)}};
      }
      case 8:
        return {now_, TimerExpired{}};
      case 10: {
        const PeerId& peer = Peer(Byte());
        const uint32_t b = Byte();
        return {now_, SetPeerTag{peer, TagName(b), static_cast<int64_t>(Byte()) - 64}};
      }
      case 11: {
        const PeerId& peer = Peer(Byte());
        return {now_, RemovePeerTag{peer, TagName(Byte())}};
      }
      case 12: {
        const PeerId& peer = Peer(Byte());
        return {now_, ProtectPeer{peer, TagName(Byte())}};
      }
      case 13: {
        const PeerId& peer = Peer(Byte());
        return {now_, UnprotectPeer{peer, TagName(Byte())}};
      }
      case 14: {
        static constexpr DecayPolicy kDecays[] = {
            DecayPolicy::Fixed(2), DecayPolicy::Linear(50),
            DecayPolicy::ExpireWhenInactive(Duration::Seconds(5)), DecayPolicy::None()};
        static constexpr BumpPolicy kBumps[] = {BumpPolicy::Sum(), BumpPolicy::SumBounded(0, 30),
                                                BumpPolicy::Overwrite()};
        const uint32_t b = Byte();
        return {now_, RegisterDecayingTag{TagName(b), Duration::Seconds(1 + b % 3),
                                          kDecays[(b >> 2) % 4], kBumps[(b >> 4) % 3]}};
      }
      case 15: {
        const PeerId& peer = Peer(Byte());
        return {now_, BumpPeerTag{peer, TagName(Byte()), static_cast<int64_t>(Byte() % 40)}};
      }
      case 16: {
        const PeerId& peer = Peer(Byte());
        return {now_, AddToPeerTag{peer, TagName(Byte()), static_cast<int64_t>(Byte()) - 128}};
      }
      case 17:
        return {now_, PlaceStream{Peer(Byte())}};
      case 18: {
        const ConnectionId c = Byte() < 64 ? ConnectionId{} : PickConnection();
        const uint32_t b = Byte();
        return {now_, ReserveMemory{c, uint64_t{1} << (b % 24), Byte() + (b >> 7)}};
      }
      case 19: {
        const ConnectionId c = Byte() < 64 ? ConnectionId{} : PickConnection();
        return {now_, ReleaseMemory{c, uint64_t{1} << (Byte() % 24)}};
      }
      case 20: {
        const PeerId& peer = Peer(Byte());
        return {now_, ConnectionSecured{PickConnection(), peer}};
      }
      case 21: {
        const uint32_t b = Byte();
        const IpPrefix& p = ListEntry(b >> 3);
        switch (b % 6) {
          case 0:
            return {now_, DenyAddress{p}};
          case 1:
            return {now_, UndenyAddress{p}};
          case 2:
            return {now_, AllowAddress{p}};
          case 3:
            return {now_, UnallowAddress{p}};
          case 4:
            return {now_, DenyPeer{Peer(b >> 3)}};
          default:
            return {now_, UndenyPeer{Peer(b >> 3)}};
        }
      }
      case 22: {
        const uint32_t b = Byte();
        std::vector<Multiaddr> addresses;
        for (uint32_t i = 0; i < b % 4; ++i) addresses.push_back(DialTarget(Byte()));
        return {now_, DialRequest{1 + Byte() % 16, Peer(b >> 2), std::move(addresses),
                                  b & 0x80 ? 75u : 50u, (b & 0x40) != 0,
                                  Duration::Milliseconds(Byte() * 20)}};
      }
      case 23:
        return {now_, CancelDial{1 + Byte() % 16}};
      case 24: {
        const ConnectionId c{1 + Byte() % (highest_id_ + 16)};
        if (Byte() & 1) return {now_, DialSucceeded{c}};
        return {now_, DialFailed{c, "refused"}};
      }
      case 25: {
        const uint64_t query = 1 + Byte() % 8;
        if (Byte() & 1) return {now_, DnsFailed{query, "SERVFAIL"}};
        return {now_, DnsAnswered{query,
                                  {"1.2.3.4", "dnsaddr=/ip4/5.6.7.8/tcp/1"},
                                  Duration::Seconds(Byte() % 8)}};
      }
      case 26: {
        const PeerId& peer = Peer(Byte());
        return {now_, SetPeerAddresses{peer, {DialTarget(Byte())}}};
      }
      case 27:
        return {now_, UpdateConfig{ChangedConfig()}};
      default: {
        // Move the clock, then generate the input that carries the new instant.
        const uint32_t kind = Byte() % 8;
        const int64_t amount = Short();
        if (kind < 5) {
          now_ = now_ + Duration::Milliseconds(amount % 2'000);
        } else if (kind < 7) {
          now_ = now_ + Duration::Seconds(amount % 120);
        } else {
          now_ = now_ - Duration::Milliseconds(amount % 5'000);
        }
        continue;
      }
    }
  }
}

Config InputGenerator::ChangedConfig() {
  Config c = config_;
  const uint32_t b = Byte();
  const uint32_t v = Byte();
  switch (b % 12) {
    case 0:
    case 1:
      c.max_connections = 1 + v % 16;
      c.high_watermark = std::min(c.high_watermark, c.max_connections);
      c.low_watermark = std::min(c.low_watermark, c.effective_high_watermark());
      c.max_inbound_connections = std::min(c.max_inbound_connections, c.max_connections);
      c.max_outbound_connections = std::min(c.max_outbound_connections, c.max_connections);
      c.diversity_protected_connections =
          std::min(c.diversity_protected_connections, c.effective_low_watermark());
      break;
    case 2:
      c.low_watermark = v % (c.effective_high_watermark() + 1);
      c.diversity_protected_connections =
          std::min(c.diversity_protected_connections, c.effective_low_watermark());
      break;
    case 3:
      c.max_incoming_pending_connections = 1 + v % 8;
      c.max_connections_per_peer = 1 + (v >> 3) % 4;
      break;
    case 4:
      c.inbound_rate_per_ip = {v % 4, Duration::Milliseconds(100 + (v >> 2) * 10), 1 + (v >> 6)};
      break;
    case 5:
      c.max_connections_per_ipv4_32 = v % 4;
      c.max_tracked_sources = 1 + (v >> 2) % 16;
      break;
    case 6:
      c.max_parallel_dials = 1 + v % 4;
      c.max_dial_queue_length = c.max_parallel_dials + (v >> 2) % 8;
      break;
    case 7:
      c.diversity_protected_connections = v % (c.effective_low_watermark() + 1);
      break;
    case 8:
      c.max_streams_per_connection = v % 5;
      c.stream_placement = v & 0x80 ? StreamPlacement::kLeastLoaded : StreamPlacement::kRoundRobin;
      break;
    case 9:
      c.silence_period = Duration::Milliseconds((v % 4) * 500);
      c.grace_period = Duration::Milliseconds(v * 20);
      break;
    case 10:
      c.random_seed = v;  // not runtime-changeable: refused unless unchanged
      break;
    default:
      c.low_watermark = c.effective_high_watermark() + 1 + v % 4;  // breaks a rule
      break;
  }
  return c;
}

void InputGenerator::Observe(const absl::StatusOr<ConnectionId>& result, const Input& input) {
  if (const auto* update = std::get_if<UpdateConfig>(&input); update != nullptr && result.ok()) {
    config_ = update->config;
  }
  if (!result.ok() || result->value <= highest_id_) return;
  if (!std::holds_alternative<InboundConnection>(input) &&
      !std::holds_alternative<OutboundConnection>(input)) {
    return;
  }
  highest_id_ = result->value;
  recent_.push_back(*result);
  if (recent_.size() > 16) recent_.erase(recent_.begin());
}

}  // namespace connmgr
