// BlackHoleDetector: stops dialling a class of addresses — UDP or IPv6 — that never works from
// this node, probing now and then to notice when it starts working. go-libp2p's black-hole
// detection (p2p/net/swarm/black_hole_detector.go), one counter per class.
//
//   BlackHoleDetector holes(BlackHoleOptions{});
//   BlackHoleFilter f = holes.Filter(address);  // once per address about to be dialled
//   if (!f.allowed) skip(address);              // f.blocked_class says which class refused it
//   ...
//   holes.RecordResult(address, success);       // for every attempt that was dialled
//
// Classes. An address counts in UDP if it has a /udp component, and in IPv6 if its IP is IPv6
// (not IPv4-mapped, ::ffff:a.b.c.d, which goes over IPv4); /ip6/.../udp/... counts in both.
// Only public direct addresses count: private and loopback IPs (IpAddress::IsPrivate), relayed
// addresses (a relayed dial's outcome says more about the relay than about the path) and
// addresses without an IP (dns, unix, memory) are never counted nor refused.
//
// Each class, like go's BlackHoleSuccessCounter (with N split into `window` and
// `probe_interval`):
//  - Results: the last `window` results of dials to the class, a ring of bits.
//  - State, re-evaluated after each result: kProbing while fewer than `window` results are
//    held (the window must be full before anything is blocked); then kAllowed if at least
//    `min_successes` of them succeeded, otherwise kBlocked. kAllowed and kBlocked move back and
//    forth as results slide through the window.
//  - A success while kBlocked resets the class instead of entering the window: no results, no
//    requests, kProbing — every dial goes through until the window is full again.
//  - Requests: Filter counts one request per class of the address, in every state, numbered
//    from 1 since the start or the last reset (not since blocking). While kBlocked, request
//    number k goes through as a probe iff k is a multiple of `probe_interval`.
// An address in both classes goes through if a class it is in lets it through unconditionally
// (kProbing state, or this request is that class's probe); otherwise it is refused if either
// class refuses it (go: "allow all UDP addresses while probing irrespective of IPv6 black hole
// state" and vice versa).
//
// Unlike go, which counts one request per peer dial (per class with any address in it), Filter
// counts one per address asked about, so a probe is an address, not a peer dial.
// Disabled (`enabled` false): Filter allows everything, nothing is counted, states stay
// kProbing. Memory: `window` bits per class. Cost: O(1) per call.
#ifndef CONNMGR_CORE_BLACK_HOLE_H_
#define CONNMGR_CORE_BLACK_HOLE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/multiaddr.h"

namespace connmgr {

// Config::Validate checks the configured values (window >= 1, min_successes <= window,
// probe_interval >= 1). Here 0 counts as 1 for window and probe_interval, and window is capped
// at BlackHoleDetector::kMaxWindow.
struct BlackHoleOptions {
  bool enabled = true;
  uint32_t window = 100;          // results remembered per class
  uint32_t min_successes = 5;     // successes in a full window for the class to stay open
  uint32_t probe_interval = 100;  // while blocked, every probe_interval-th request goes through
};

enum class BlackHoleClass : uint8_t { kUdp, kIpv6 };
// "udp", "ipv6".
absl::string_view BlackHoleClassName(BlackHoleClass c);

enum class BlackHoleState : uint8_t { kProbing, kAllowed, kBlocked };
// "probing", "allowed", "blocked".
absl::string_view BlackHoleStateName(BlackHoleState s);

struct BlackHoleFilter {
  bool allowed = true;
  // Allowed although a class of the address is blocked: this request is a probe (or the other
  // class is probing).
  bool probe = false;
  // Set iff refused: the class that refused it, kUdp when both did.
  std::optional<BlackHoleClass> blocked_class;

  friend bool operator==(const BlackHoleFilter&, const BlackHoleFilter&) = default;
};

// One class's counters, for metrics and tests.
struct BlackHoleCounts {
  uint32_t results = 0;    // held in the window, at most `window`
  uint32_t successes = 0;  // among them
  uint64_t requests = 0;   // since the start or the last reset

  friend bool operator==(const BlackHoleCounts&, const BlackHoleCounts&) = default;
};

class BlackHoleDetector {
 public:
  static constexpr uint32_t kMaxWindow = 1 << 20;

  explicit BlackHoleDetector(BlackHoleOptions options);

  // Asked once per address about to be dialled; counts a request in each class of the address.
  BlackHoleFilter Filter(const Multiaddr& address);
  // Filter(address).allowed.
  bool Allows(const Multiaddr& address) { return Filter(address).allowed; }
  // The outcome of a dial attempt to `address` (not of a cancelled one).
  void RecordResult(const Multiaddr& address, bool success);

  BlackHoleState state(BlackHoleClass c) const { return counter(c).state; }
  BlackHoleCounts counts(BlackHoleClass c) const;

  // Whether `address` counts in class `c` (enabled or not).
  static bool InClass(const Multiaddr& address, BlackHoleClass c);

 private:
  // What one class says about one request (go's HandleRequest).
  enum class Verdict : uint8_t { kAllow, kPassThrough, kRefuse };

  struct Counter {
    std::vector<uint64_t> ring;  // `window` result bits, 1 = success
    uint32_t next = 0;           // slot of the next result; the oldest one once full
    uint32_t results = 0;
    uint32_t successes = 0;
    uint64_t requests = 0;
    BlackHoleState state = BlackHoleState::kProbing;
  };

  Counter& counter(BlackHoleClass c) { return counters_[static_cast<int>(c)]; }
  const Counter& counter(BlackHoleClass c) const { return counters_[static_cast<int>(c)]; }
  Verdict HandleRequest(Counter& c) const;
  void Record(Counter& c, bool success) const;
  void Reset(Counter& c) const;

  BlackHoleOptions options_;
  Counter counters_[2];
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_BLACK_HOLE_H_
