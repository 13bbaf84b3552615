#include "core/black_hole.h"

#include <optional>

namespace connmgr {

absl::string_view BlackHoleStateName(BlackHoleState s) {
  static constexpr absl::string_view kNames[] = {"probing", "allowed", "blocked"};
  return kNames[static_cast<int>(s)];
}

BlackHoleDetector::BlackHoleDetector(const BlackHoleOptions& options) : options_(options) {
  for (Counter& c : classes_) Reset(c);
}

void BlackHoleDetector::Reset(Counter& c) {
  c.ring.assign(options_.window, false);
  c.next = c.filled = c.successes = 0;
  c.requests = 0;
  c.state = BlackHoleState::kProbing;
}

int BlackHoleDetector::ClassesOf(const Multiaddr& address) const {
  if (!options_.enabled || address.is_relayed()) return 0;
  const std::optional<IpAddress> ip = address.ip();
  if (!ip || ip->IsPrivate() || ip->IsLoopback()) return 0;
  int classes = 0;
  for (const MultiaddrComponent& c : address.components()) {
    if (c.protocol == Protocol::kUdp) classes |= 1 << kUdp;
  }
  if (ip->Unmapped().is_v6()) classes |= 1 << kIpv6;
  return classes;
}

bool BlackHoleDetector::Allows(const Multiaddr& address) {
  const int classes = ClassesOf(address);
  bool allowed = true;
  for (int k = 0; k < 2; ++k) {
    if (!(classes & (1 << k))) continue;
    Counter& c = classes_[k];
    ++c.requests;
    if (c.state == BlackHoleState::kBlocked && c.requests % options_.probe_interval != 0) {
      allowed = false;
    }
  }
  return allowed;
}

void BlackHoleDetector::RecordResult(const Multiaddr& address, bool success) {
  const int classes = ClassesOf(address);
  for (int k = 0; k < 2; ++k) {
    if (!(classes & (1 << k))) continue;
    Counter& c = classes_[k];
    if (c.state == BlackHoleState::kBlocked && success) {
      Reset(c);
      continue;
    }
    if (c.filled == options_.window) {
      c.successes -= c.ring[c.next];
    } else {
      ++c.filled;
    }
    c.ring[c.next] = success;
    c.successes += success;
    c.next = (c.next + 1) % options_.window;
    if (c.filled < options_.window) {
      c.state = BlackHoleState::kProbing;
    } else {
      c.state = c.successes >= options_.min_successes ? BlackHoleState::kAllowed
                                                      : BlackHoleState::kBlocked;
    }
  }
}

}  // namespace connmgr
