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

// js-libp2p's default order (its defaultAddressSorter), first dialled first: non-loopback before
// loopback, public before private, direct before circuit-relay, certified before not, then by
// transport — TCP, WSS, WS, WebRTC, WebRTC-direct, WebTransport, anything else (QUIC and
// circuit-relay addresses included, as in js-libp2p) — and finally by binary form, so equal
// keys still have one order (js-libp2p keeps the given order there: a deliberate difference).
// A WebRTC address signalled over a relay (/p2p-circuit/webrtc) is a WebRTC address, not a
// circuit-relay one, as in js-libp2p.
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

// go-libp2p's constants (p2p/net/swarm/dial_ranker.go). The Core sets the first two from
// ranked_public_delay and ranked_private_delay; all zero is go-libp2p's NoDelayDialRanker.
struct RankedDelays {
  Duration public_delay = Duration::Milliseconds(250);  // QUIC and TCP steps, public
  Duration private_delay = Duration::Milliseconds(30);  // QUIC and TCP steps, private
  Duration relay_delay = Duration::Milliseconds(500);   // relays, when a public address exists
  Duration public_other_delay = Duration::Seconds(1);   // other transports, after QUIC/TCP
  Duration private_other_delay = Duration::Milliseconds(100);
};

struct ScheduledAddress {
  DialAddressInfo address;
  Duration delay;  // after the dial begins
  friend bool operator==(const ScheduledAddress&, const ScheduledAddress&) = default;
};

// go-libp2p's DefaultDialRanker. Addresses split into relayed (any /p2p-circuit), private (the
// first component a private or loopback IP), public (any other with an IP) and the rest. A
// group with step d and other-delay o is sorted by (QUIC-v1 IPv6, QUIC-draft-29 IPv6, QUIC-v1
// IPv4, QUIC-draft-29 IPv4, WebTransport IPv6, WebTransport IPv4, TCP IPv6, TCP IPv4 — each by
// lowest port —, WebRTC-direct, anything else), keeping the given order among equals. Then
// happy eyeballs: when the first QUIC address is IPv6 the first IPv4 QUIC one moves second,
// and the same for TCP. QUIC addresses go at 0, d, then 2d (d when there was no IPv4 move);
// TCP ones the same way, starting d after the last QUIC one; anything else o after the last
// QUIC or TCP one. Private groups use private_delay and private_other_delay, the others
// public_delay and public_other_delay; relays start relay_delay late when a public address
// exists. The rest go public_other_delay after the last address of the last non-empty group.
// The result is sorted by delay; equal delays keep the ranked order (private, public, relayed,
// rest; within a group as sorted), which is the order they are dialled in.
std::vector<ScheduledAddress> RankAddresses(absl::Span<const DialAddressInfo> addresses,
                                            const RankedDelays& delays);

}  // namespace connmgr

#endif  // CONNMGR_CORE_ADDRESS_ORDER_H_
