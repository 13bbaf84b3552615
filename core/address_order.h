// Address preparation and ordering for dialing a peer: which of its addresses are dialled, in
// which order, and — with the ranked strategy — when.
//
//   AddressFilters filters{.denied = ..., .backed_off = ...};
//   absl::StatusOr<PreparedAddresses> p =
//       PrepareDialAddresses(peer, candidates, /*max_addresses=*/25, filters);
//   std::vector<ScheduledAddress> plan = RankAddresses(p->addresses, RankedDelays{});
//
// Everything is decided from parsed multiaddr components, never by substring matching.
#ifndef CONNMGR_CORE_ADDRESS_ORDER_H_
#define CONNMGR_CORE_ADDRESS_ORDER_H_

#include <cstddef>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "core/multiaddr.h"
#include "core/peer_id.h"
#include "core/time.h"

namespace connmgr {

struct DialAddressInfo {
  Multiaddr address;
  bool certified = false;  // from a signed peer record
  friend bool operator==(const DialAddressInfo&, const DialAddressInfo&) = default;
};

// js-libp2p's default order, first dialled first: non-loopback before loopback, public before
// private, direct before relayed, certified before not, then by transport — TCP, WSS, WS,
// WebRTC, WebRTC-direct, WebTransport, anything else (QUIC included: js-libp2p has none) —
// and finally by binary form, so equal keys still have one order.
bool DefaultAddressLess(const DialAddressInfo& a, const DialAddressInfo& b);
// A user ordering replaces the default: a strict weak order.
using AddressLess = std::function<bool(const DialAddressInfo&, const DialAddressInfo&)>;

struct AddressFilters {
  std::function<bool(const Multiaddr&)> denied;      // the gater refuses the address
  std::function<bool(const Multiaddr&)> backed_off;  // in backoff, or a black-holed class
  AddressLess less;                                  // empty: DefaultAddressLess
};

struct PreparedAddresses {
  std::vector<DialAddressInfo> addresses;  // ordered, at most max_addresses
  size_t other_peer = 0;                   // dropped: their /p2p/ names another peer
  size_t duplicates = 0;
  size_t denied = 0;
  size_t backed_off = 0;
  size_t over_cap = 0;
};

// Appends /p2p/<peer>, drops other peers' addresses, deduplicates, drops denied then backed-off
// ones, orders, caps. When nothing is left the status says why: NotFound "no addresses for
// <peer>", PermissionDenied "all N addresses are denied", Unavailable "all N addresses are
// backed off" (or, mixed, "no address left: N denied, M backed off", Unavailable).
absl::StatusOr<PreparedAddresses> PrepareDialAddresses(const PeerId& peer,
                                                       absl::Span<const Multiaddr> candidates,
                                                       size_t max_addresses,
                                                       const AddressFilters& filters);
absl::StatusOr<PreparedAddresses> PrepareDialAddresses(const PeerId& peer,
                                                       absl::Span<const DialAddressInfo> candidates,
                                                       size_t max_addresses,
                                                       const AddressFilters& filters);

struct RankedDelays {
  Duration public_delay = Duration::Milliseconds(250);
  Duration private_delay = Duration::Milliseconds(30);
  Duration relay_delay = Duration::Milliseconds(500);
};

struct ScheduledAddress {
  DialAddressInfo address;
  Duration delay;  // after the dial begins
  friend bool operator==(const ScheduledAddress&, const ScheduledAddress&) = default;
};

// go-libp2p's happy-eyeballs ranking. Addresses split into private (and loopback), public and
// relayed groups; within a group with step d (private_delay, else public_delay): QUIC first,
// IPv6 before IPv4 but with the first IPv4 address second (happy eyeballs): the first at 0, the
// second at d, the rest at 2d; then TCP (plain, WS, WSS) the same way starting d after the last
// QUIC; then anything else d after that. Relayed addresses start relay_delay late when a public
// direct address exists. The result is sorted by (delay, given order).
std::vector<ScheduledAddress> RankAddresses(absl::Span<const DialAddressInfo> addresses,
                                            const RankedDelays& delays);

}  // namespace connmgr

#endif  // CONNMGR_CORE_ADDRESS_ORDER_H_
