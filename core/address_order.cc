#include "core/address_order.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace connmgr {
namespace {

constexpr int kOtherTransportRank = 6;

int TransportRank(Transport t) {
  switch (t) {
    case Transport::kTcp:
      return 0;
    case Transport::kWss:
      return 1;
    case Transport::kWs:
      return 2;
    case Transport::kWebRtc:
      return 3;
    case Transport::kWebRtcDirect:
      return 4;
    case Transport::kWebTransport:
      return 5;
    default:
      return kOtherTransportRank;
  }
}

// js-libp2p's circuit-relay address: relayed, and not WebRTC signalled over the relay.
bool IsCircuit(const Multiaddr& a) { return a.is_relayed() && a.transport() != Transport::kWebRtc; }

bool IsLoopback(const Multiaddr& a) {
  const std::optional<IpAddress> ip = a.ip();
  return ip && ip->IsLoopback();
}

bool IsPrivate(const Multiaddr& a) {
  const std::optional<IpAddress> ip = a.ip();
  return ip && ip->IsPrivate();
}

}  // namespace

// The default order's key, before the final tie-break by binary form.
static std::tuple<bool, bool, bool, bool, int> DefaultKey(const DialAddressInfo& x) {
  const bool circuit = IsCircuit(x.address);
  return std::make_tuple(IsLoopback(x.address), IsPrivate(x.address), circuit, !x.certified,
                         circuit ? kOtherTransportRank : TransportRank(x.address.transport()));
}

bool DefaultAddressLess(const DialAddressInfo& a, const DialAddressInfo& b) {
  const auto ka = DefaultKey(a), kb = DefaultKey(b);
  if (ka != kb) return ka < kb;
  return a.address < b.address;
}

absl::StatusOr<PreparedAddresses> PrepareDialAddresses(const PeerId& peer,
                                                       absl::Span<const Multiaddr> candidates,
                                                       size_t max_addresses,
                                                       const AddressFilters& filters) {
  std::vector<DialAddressInfo> infos;
  infos.reserve(candidates.size());
  for (const Multiaddr& a : candidates) infos.push_back(DialAddressInfo{a, false});
  return PrepareDialAddresses(peer, infos, max_addresses, filters);
}

absl::StatusOr<PreparedAddresses> PrepareDialAddresses(const PeerId& peer,
                                                       absl::Span<const DialAddressInfo> candidates,
                                                       size_t max_addresses,
                                                       const AddressFilters& filters) {
  PreparedAddresses out;
  std::vector<DialAddressInfo> kept;
  for (const DialAddressInfo& c : candidates) {
    if (std::optional<PeerId> named = c.address.peer_id(); named && *named != peer) {
      ++out.other_peer;
      continue;
    }
    DialAddressInfo a{c.address.WithPeerId(peer), c.certified};
    auto same = std::find_if(kept.begin(), kept.end(),
                             [&](const DialAddressInfo& k) { return k.address == a.address; });
    if (same != kept.end()) {
      same->certified = same->certified || a.certified;
      ++out.duplicates;
      continue;
    }
    kept.push_back(std::move(a));
  }
  const size_t considered = kept.size();
  for (const DialAddressInfo& a : kept) {
    if (filters.denied && filters.denied(a.address)) {
      ++out.denied;
    } else if (filters.backed_off && filters.backed_off(a.address)) {
      ++out.backed_off;
    } else {
      out.addresses.push_back(a);
    }
  }
  if (out.addresses.empty()) {
    if (considered == 0) {
      return absl::NotFoundError(absl::StrCat("no addresses for ", peer.ToString()));
    }
    if (out.denied == considered) {
      return absl::PermissionDeniedError(absl::StrCat("all ", considered, " addresses are denied"));
    }
    if (out.backed_off == considered) {
      return absl::UnavailableError(absl::StrCat("all ", considered, " addresses are backed off"));
    }
    return absl::UnavailableError(
        absl::StrCat("no address left: ", out.denied, " denied, ", out.backed_off, " backed off"));
  }
  if (filters.less) {
    std::stable_sort(out.addresses.begin(), out.addresses.end(), filters.less);
  } else {
    // Each key once, not once per comparison.
    std::vector<std::pair<std::tuple<bool, bool, bool, bool, int>, DialAddressInfo>> keyed;
    keyed.reserve(out.addresses.size());
    for (DialAddressInfo& a : out.addresses) keyed.emplace_back(DefaultKey(a), std::move(a));
    std::sort(keyed.begin(), keyed.end(), [](const auto& x, const auto& y) {
      if (x.first != y.first) return x.first < y.first;
      return x.second.address < y.second.address;
    });
    for (size_t i = 0; i < keyed.size(); ++i) out.addresses[i] = std::move(keyed[i].second);
  }
  if (out.addresses.size() > max_addresses) {
    out.over_cap = out.addresses.size() - max_addresses;
    out.addresses.resize(max_addresses);
  }
  return out;
}

namespace {

// What go-libp2p's ranker looks at in one address, from its components.
struct RankFacts {
  bool quic = false;  // quic or quic-v1 (WebTransport included)
  bool tcp = false;   // tcp (WS and WSS included)
  bool ip4 = false;
  bool ip6 = false;
  int score = 0;  // the sort key within a group, lower first
};

RankFacts Facts(const Multiaddr& a) {
  RankFacts f;
  bool quic_draft = false, quic_v1 = false, webtransport = false, webrtc_direct = false;
  std::optional<int> udp_port, tcp_port;
  for (const MultiaddrComponent& c : a.components()) {
    auto port = [&] {
      return c.value.size() == 2
                 ? (static_cast<uint8_t>(c.value[0]) << 8) | static_cast<uint8_t>(c.value[1])
                 : 0;
    };
    switch (c.protocol) {
      case Protocol::kIp4:
        f.ip4 = true;
        break;
      case Protocol::kIp6:
        f.ip6 = true;
        break;
      case Protocol::kTcp:
        if (!tcp_port) tcp_port = port();
        break;
      case Protocol::kUdp:
        if (!udp_port) udp_port = port();
        break;
      case Protocol::kQuic:
        quic_draft = true;
        break;
      case Protocol::kQuicV1:
        quic_v1 = true;
        break;
      case Protocol::kWebTransport:
        webtransport = true;
        break;
      case Protocol::kWebRtcDirect:
        webrtc_direct = true;
        break;
      default:
        break;
    }
  }
  f.quic = quic_draft || quic_v1;
  f.tcp = tcp_port.has_value();
  const int ip4_weight = f.ip4 ? 1 << 18 : 0;
  if (webtransport) {
    f.score = ip4_weight + (1 << 19) + udp_port.value_or(0);
  } else if (quic_draft) {
    f.score = ip4_weight + (1 << 17) + udp_port.value_or(0);
  } else if (quic_v1) {
    f.score = ip4_weight + udp_port.value_or(0);
  } else if (f.tcp) {
    f.score = ip4_weight + (1 << 20) + *tcp_port;
  } else if (webrtc_direct) {
    f.score = 1 << 21;
  } else {
    f.score = 1 << 30;
  }
  return f;
}

// go-libp2p's private group: the first component (after an ip6zone) is a private or loopback IP.
bool FirstComponentPrivate(const Multiaddr& a) {
  for (const MultiaddrComponent& c : a.components()) {
    if (c.protocol == Protocol::kIp6Zone) continue;
    if (c.protocol != Protocol::kIp4 && c.protocol != Protocol::kIp6) return false;
    const std::optional<IpAddress> ip = a.ip();
    return ip && ip->IsPrivate();
  }
  return false;
}

struct Ranked {
  size_t index;  // into the given addresses
  Duration delay;
};

// One group, ranked as go-libp2p's getAddrDelay does, appended to `out` in ranked order.
void RankGroup(absl::Span<const DialAddressInfo> addresses, std::vector<size_t> group,
               Duration step, Duration other_delay, Duration offset, std::vector<Ranked>& out) {
  if (group.empty()) return;
  std::vector<RankFacts> facts(addresses.size());
  for (size_t i : group) facts[i] = Facts(addresses[i].address);
  std::stable_sort(group.begin(), group.end(),
                   [&](size_t x, size_t y) { return facts[x].score < facts[y].score; });
  const auto& at = [&](size_t k) -> const RankFacts& { return facts[group[k]]; };
  const size_t n = group.size();
  // Moves the element at `from` to `to` (to < from), shifting the ones between.
  auto move_to = [&](size_t from, size_t to) {
    const auto at = [&](size_t i) { return group.begin() + static_cast<ptrdiff_t>(i); };
    std::rotate(at(to), at(from), at(from + 1));
  };
  bool eyeballs_quic = false, eyeballs_tcp = false;
  size_t after_quic = 0;
  if (at(0).quic && at(0).ip6) {
    for (size_t j = 1; j < n; ++j) {
      if (at(j).quic && at(j).ip4) {
        move_to(j, 1);
        eyeballs_quic = true;
        after_quic = j + 1;
        break;
      }
    }
  }
  size_t tcp_start = after_quic;
  while (tcp_start < n && !at(tcp_start).tcp) ++tcp_start;
  if (tcp_start < n && at(tcp_start).ip6) {
    for (size_t j = tcp_start + 1; j < n; ++j) {
      if (at(j).tcp && at(j).ip4) {
        move_to(j, tcp_start + 1);
        eyeballs_tcp = true;
        break;
      }
    }
  }
  Duration tcp_first = Duration::Zero(), last_quic_or_tcp = Duration::Zero();
  for (size_t k = 0; k < n; ++k) {
    Duration delay = Duration::Zero();
    if (at(k).quic) {
      if (k == 1) delay = step;
      if (k > 1) delay = eyeballs_quic ? step * 2 : step;
      last_quic_or_tcp = delay;
      tcp_first = delay + step;
    } else if (at(k).tcp) {
      if (k == tcp_start + 1) delay = step;
      if (k > tcp_start + 1) delay = eyeballs_tcp ? step * 2 : step;
      delay = delay + tcp_first;
      last_quic_or_tcp = delay;
    } else {
      delay = last_quic_or_tcp + other_delay;
    }
    out.push_back({group[k], offset + delay});
  }
}

}  // namespace

std::vector<ScheduledAddress> RankAddresses(absl::Span<const DialAddressInfo> addresses,
                                            const RankedDelays& delays) {
  std::vector<size_t> private_, public_, relayed, rest;
  for (size_t i = 0; i < addresses.size(); ++i) {
    const Multiaddr& a = addresses[i].address;
    if (a.is_relayed()) {
      relayed.push_back(i);
    } else if (FirstComponentPrivate(a)) {
      private_.push_back(i);
    } else if (a.ip()) {
      public_.push_back(i);
    } else {
      rest.push_back(i);
    }
  }
  std::vector<Ranked> ranked;
  ranked.reserve(addresses.size());
  const Duration relay_offset = public_.empty() ? Duration::Zero() : delays.relay_delay;
  RankGroup(addresses, private_, delays.private_delay, delays.private_other_delay, Duration::Zero(),
            ranked);
  RankGroup(addresses, public_, delays.public_delay, delays.public_other_delay, Duration::Zero(),
            ranked);
  RankGroup(addresses, relayed, delays.public_delay, delays.public_other_delay, relay_offset,
            ranked);
  const Duration last = ranked.empty() ? Duration::Zero() : ranked.back().delay;
  for (size_t i : rest) ranked.push_back({i, last + delays.public_other_delay});
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Ranked& x, const Ranked& y) { return x.delay < y.delay; });
  std::vector<ScheduledAddress> out;
  out.reserve(ranked.size());
  for (const Ranked& r : ranked) out.push_back({addresses[r.index], r.delay});
  return out;
}

}  // namespace connmgr
