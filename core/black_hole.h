// BlackHoleDetector: stops dialling a class of address (UDP, IPv6) that never works from here —
// go-libp2p's black-hole detection.
//
//   BlackHoleDetector holes(BlackHoleOptions{});
//   if (!holes.Allows(address)) skip(address);   // counts a request; every 100th is a probe
//   holes.RecordResult(address, success);
//
// Per class, over the results of the last `window` (100) dials of public addresses of that
// class: fewer than `window` results → probing (every dial allowed); at least `min_successes`
// (5) successes → allowed; otherwise blocked, and then only every `probe_interval`-th (100th)
// request of the class goes through as a probe. A success while blocked resets the class to
// probing with an empty window. Private and loopback addresses are never counted nor blocked;
// an IPv6 UDP address belongs to both classes and must pass both. Memory: one ring of
// `window` bits per class.
#ifndef CONNMGR_CORE_BLACK_HOLE_H_
#define CONNMGR_CORE_BLACK_HOLE_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/multiaddr.h"

namespace connmgr {

struct BlackHoleOptions {
  bool enabled = true;
  uint32_t window = 100;
  uint32_t min_successes = 5;
  uint32_t probe_interval = 100;
};

enum class BlackHoleState : uint8_t { kProbing, kAllowed, kBlocked };
absl::string_view BlackHoleStateName(BlackHoleState s);

class BlackHoleDetector {
 public:
  enum Class : uint8_t { kUdp = 0, kIpv6 = 1 };

  explicit BlackHoleDetector(const BlackHoleOptions& options);

  // Asked once per address about to be dialled; counts the request in each of its classes.
  bool Allows(const Multiaddr& address);
  void RecordResult(const Multiaddr& address, bool success);
  BlackHoleState state(Class c) const { return classes_[c].state; }

 private:
  struct Counter {
    std::vector<bool> ring;  // the last `window` results
    uint32_t next = 0;       // ring position to write
    uint32_t filled = 0;
    uint32_t successes = 0;
    uint64_t requests = 0;
    BlackHoleState state = BlackHoleState::kProbing;
  };
  // Which classes the address counts in (bit 0: UDP, bit 1: IPv6); 0 when not tracked.
  int ClassesOf(const Multiaddr& address) const;
  void Reset(Counter& c);

  BlackHoleOptions options_;
  Counter classes_[2];
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_BLACK_HOLE_H_
