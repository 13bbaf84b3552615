#include "core/address_order.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace connmgr {
namespace {

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
      return 6;
  }
}

bool IsLoopback(const Multiaddr& a) {
  const std::optional<IpAddress> ip = a.ip();
  return ip && ip->IsLoopback();
}

bool IsPrivate(const Multiaddr& a) {
  const std::optional<IpAddress> ip = a.ip();
  return ip && ip->IsPrivate();
}

bool IsQuic(const Multiaddr& a) {
  const Transport t = a.transport();
  return t == Transport::kQuic || t == Transport::kQuicV1 || t == Transport::kWebTransport;
}

bool IsTcp(const Multiaddr& a) {
  const Transport t = a.transport();
  return t == Transport::kTcp || t == Transport::kWs || t == Transport::kWss;
}

bool IsIpv6(const Multiaddr& a) {
  const std::optional<IpAddress> ip = a.ip();
  return ip && ip->Unmapped().is_v6();
}

}  // namespace

// The default order's key, before the final tie-break by binary form.
static std::tuple<bool, bool, bool, bool, int> DefaultKey(const DialAddressInfo& x) {
  return std::make_tuple(IsLoopback(x.address), IsPrivate(x.address), x.address.is_relayed(),
                         !x.certified, TransportRank(x.address.transport()));
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

std::vector<ScheduledAddress> RankAddresses(absl::Span<const DialAddressInfo> addresses,
                                            const RankedDelays& delays) {
  struct Item {
    size_t index;
    Duration delay;
  };
  std::vector<Item> items;
  // Happy eyeballs within one transport family of one group, from `start`: IPv6 first; the
  // first IPv4 one step later when both are present; the rest one step after that.
  auto eyeballs = [&](const std::vector<size_t>& group, Duration start, Duration step) {
    std::vector<size_t> v6, v4;
    for (size_t i : group) (IsIpv6(addresses[i].address) ? v6 : v4).push_back(i);
    std::vector<size_t> ordered = v6;
    Duration last = start;
    if (!v6.empty() && !v4.empty()) {
      // The first IPv4 address goes second.
      ordered.insert(ordered.begin() + 1, v4.front());
      ordered.insert(ordered.end(), v4.begin() + 1, v4.end());
    } else {
      ordered.insert(ordered.end(), v4.begin(), v4.end());
    }
    for (size_t k = 0; k < ordered.size(); ++k) {
      const Duration d = start + step * static_cast<int64_t>(std::min<size_t>(k, 2));
      items.push_back({ordered[k], d});
      last = std::max(last, d);
    }
    return last;
  };
  auto rank_group = [&](const std::vector<size_t>& group, Duration offset, Duration step) {
    std::vector<size_t> quic, tcp, other;
    for (size_t i : group) {
      const Multiaddr& a = addresses[i].address;
      (IsQuic(a) ? quic : IsTcp(a) ? tcp : other).push_back(i);
    }
    Duration next = offset;
    if (!quic.empty()) next = eyeballs(quic, offset, step) + step;
    if (!tcp.empty()) next = eyeballs(tcp, next, step) + step;
    const Duration other_at = quic.empty() && tcp.empty() ? offset : next;
    for (size_t i : other) items.push_back({i, other_at});
  };
  std::vector<size_t> private_, public_, relayed;
  for (size_t i = 0; i < addresses.size(); ++i) {
    const Multiaddr& a = addresses[i].address;
    if (a.is_relayed()) {
      relayed.push_back(i);
    } else if (IsPrivate(a) || IsLoopback(a) || !a.ip()) {
      private_.push_back(i);
    } else {
      public_.push_back(i);
    }
  }
  rank_group(private_, Duration::Zero(), delays.private_delay);
  rank_group(public_, Duration::Zero(), delays.public_delay);
  rank_group(relayed, public_.empty() ? Duration::Zero() : delays.relay_delay, delays.public_delay);
  std::stable_sort(items.begin(), items.end(), [](const Item& x, const Item& y) {
    return std::tie(x.delay, x.index) < std::tie(y.delay, y.index);
  });
  std::vector<ScheduledAddress> out;
  out.reserve(items.size());
  for (const Item& it : items) out.push_back({addresses[it.index], it.delay});
  return out;
}

}  // namespace connmgr
