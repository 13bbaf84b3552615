#include "props/input_generator.h"

#include <algorithm>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/variants.h"

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

// Fills one field of a generated input from its key and type: values the core will mostly
// accept, with empty and out-of-range ones mixed in so that errors are exercised too.
struct InputGenerator::FieldPicker {
  InputGenerator& gen;
  std::vector<Multiaddr> addresses = {};  // the input's `addresses`, picked before `certified`

  template <typename T>
  void operator()(const char* key, T& field) {
    Pick(absl::string_view(key), field);
  }
  template <typename T>
  void operator()(const char* key, T& field, OmitWhenZero) {
    Pick(absl::string_view(key), field);
  }

  void Pick(absl::string_view key, ConnectionId& v) {
    v = gen.Byte() < 32 ? ConnectionId{} : gen.PickConnection();
    (void)key;
  }
  void Pick(absl::string_view key, Multiaddr& v) {
    v = key == "local" ? Local() : Remote(gen.Byte());
  }
  void Pick(absl::string_view, PeerId& v) { v = Peer(gen.Byte()); }
  void Pick(absl::string_view, IpPrefix& v) { v = ListEntry(gen.Byte()); }
  void Pick(absl::string_view, Direction& v) { v = PickDirection(gen.Byte()); }
  void Pick(absl::string_view, bool& v) { v = (gen.Byte() & 1) != 0; }
  void Pick(absl::string_view, Config& v) { v = gen.ChangedConfig(); }
  void Pick(absl::string_view key, std::string& v) {
    if (key == "protocol") {
      v = StreamProtocol(gen.Byte());
    } else if (key == "tag") {
      v = TagName(gen.Byte());
    } else {
      v = gen.Byte() & 1 ? "refused" : "SERVFAIL";
    }
  }
  void Pick(absl::string_view key, int64_t& v) {
    v = static_cast<int64_t>(gen.Byte()) - (key == "delta" ? 128 : 64);
  }
  void Pick(absl::string_view key, uint64_t& v) {
    if (key == "bytes") {
      v = uint64_t{1} << (gen.Byte() % 24);
    } else if (key == "query") {
      v = 1 + gen.Byte() % 8;
    } else if (key == "stream") {
      v = gen.Byte() % 4;
    } else {
      v = 1 + gen.Byte() % 16;  // request ids
    }
  }
  void Pick(absl::string_view, uint32_t& v) { v = gen.Byte() + (gen.Byte() & 1); }  // to 256
  void Pick(absl::string_view key, Duration& v) {
    if (key == "timeout") {
      v = Duration::Milliseconds(int64_t{gen.Byte()} * 20);
    } else if (key == "ttl") {
      v = Duration::Seconds(gen.Byte() % 8);
    } else {
      v = Duration::Seconds(1 + gen.Byte() % 3);
    }
  }
  void Pick(absl::string_view key, std::vector<Multiaddr>& v) {
    if (key == "certified") {
      // Some of the addresses just picked, and now and then one that is not among them.
      for (const Multiaddr& a : addresses) {
        if (gen.Byte() & 1) v.push_back(a);
      }
      if (gen.Byte() < 16) v.push_back(DialTarget(gen.Byte()));
      return;
    }
    for (uint32_t i = 0, n = gen.Byte() % 4; i < n; ++i) v.push_back(DialTarget(gen.Byte()));
    addresses = v;
  }
  void Pick(absl::string_view, CloseReason& v) {
    // Mostly a plain transport close, sometimes the shell's reasons, rarely one it may not give.
    static constexpr CloseReason kReasons[] = {
        CloseReason::kProtocolError, CloseReason::kHandshakeFailed, CloseReason::kSlowReader,
        CloseReason::kMemoryLimit, CloseReason::kPruned};
    const uint32_t b = gen.Byte();
    v = b < 192 ? CloseReason::kTransport : kReasons[b % 5];
  }
  void Pick(absl::string_view, std::vector<std::string>& v) {
    v = {"1.2.3.4", "dnsaddr=/ip4/5.6.7.8/tcp/1"};
  }
  void Pick(absl::string_view, DecayPolicy& v) {
    static constexpr DecayPolicy kDecays[] = {DecayPolicy::Fixed(2), DecayPolicy::Linear(50),
                                              DecayPolicy::ExpireWhenInactive(Duration::Seconds(5)),
                                              DecayPolicy::None()};
    v = kDecays[gen.Byte() % 4];
  }
  void Pick(absl::string_view, BumpPolicy& v) {
    static constexpr BumpPolicy kBumps[] = {BumpPolicy::Sum(), BumpPolicy::SumBounded(0, 30),
                                            BumpPolicy::Overwrite()};
    v = kBumps[gen.Byte() % 3];
  }
};

TimedInput InputGenerator::Next() {
  constexpr uint32_t kKinds = std::variant_size_v<Input>;
  for (;;) {
    // Every kind of the Input list; inbound sockets twice as often; then a clock move.
    uint32_t op = Byte() % (kKinds + 2);
    if (op == kKinds) op = 0;  // InboundConnection is the list's first kind
    if (op <= kKinds - 1) {
      TimedInput next{now_, TimerExpired{}};
      uint32_t index = 0;
      ForEachAlternative<Input>([&]<typename T>(std::type_identity<T>) {
        if (index++ != op) return false;
        T in{};
        T::Fields(in, FieldPicker{*this});
        next.input = std::move(in);
        return true;
      });
      return next;
    }
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
      c.silence_period = Duration::Milliseconds(int64_t{v % 4} * 500);
      c.grace_period = Duration::Milliseconds(int64_t{v} * 20);
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
    config_ = *update->config;
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
