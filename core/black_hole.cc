#include "core/black_hole.h"

#include <algorithm>
#include <utility>

namespace connmgr {
namespace {

constexpr BlackHoleClass kClasses[] = {BlackHoleClass::kUdp, BlackHoleClass::kIpv6};

BlackHoleOptions Sanitized(BlackHoleOptions o) {
  o.window = std::clamp<uint32_t>(o.window, 1, BlackHoleDetector::kMaxWindow);
  o.probe_interval = std::max<uint32_t>(o.probe_interval, 1);
  return o;
}

}  // namespace

absl::string_view BlackHoleClassName(BlackHoleClass c) {
  switch (c) {
    case BlackHoleClass::kUdp:
      return "udp";
    case BlackHoleClass::kIpv6:
      return "ipv6";
  }
  return "unknown";
}

absl::string_view BlackHoleStateName(BlackHoleState s) {
  switch (s) {
    case BlackHoleState::kProbing:
      return "probing";
    case BlackHoleState::kAllowed:
      return "allowed";
    case BlackHoleState::kBlocked:
      return "blocked";
  }
  return "unknown";
}

BlackHoleDetector::BlackHoleDetector(BlackHoleOptions options) : options_(Sanitized(options)) {
  for (Counter& c : counters_) c.ring.assign((options_.window + 63) / 64, 0);
}

bool BlackHoleDetector::InClass(const Multiaddr& address, BlackHoleClass c) {
  if (address.is_relayed()) return false;
  const std::optional<IpAddress> ip = address.ip();
  if (!ip.has_value() || ip->IsPrivate()) return false;  // IsPrivate includes loopback
  switch (c) {
    case BlackHoleClass::kUdp: {
      const std::vector<MultiaddrComponent> parts = address.components();
      return std::any_of(parts.begin(), parts.end(),
                         [](const MultiaddrComponent& m) { return m.protocol == Protocol::kUdp; });
    }
    case BlackHoleClass::kIpv6:
      return ip->Unmapped().is_v6();
  }
  return false;
}

BlackHoleDetector::Verdict BlackHoleDetector::HandleRequest(Counter& c) const {
  ++c.requests;
  if (c.state == BlackHoleState::kAllowed) return Verdict::kAllow;
  if (c.state == BlackHoleState::kProbing || c.requests % options_.probe_interval == 0) {
    return Verdict::kPassThrough;
  }
  return Verdict::kRefuse;
}

BlackHoleFilter BlackHoleDetector::Filter(const Multiaddr& address) {
  BlackHoleFilter filter;
  if (!options_.enabled) return filter;
  bool pass_through = false;
  bool class_blocked = false;
  for (BlackHoleClass k : kClasses) {
    if (!InClass(address, k)) continue;
    Counter& c = counter(k);
    class_blocked = class_blocked || c.state == BlackHoleState::kBlocked;
    switch (HandleRequest(c)) {
      case Verdict::kAllow:
        break;
      case Verdict::kPassThrough:
        pass_through = true;
        break;
      case Verdict::kRefuse:
        if (!filter.blocked_class.has_value()) filter.blocked_class = k;
        break;
    }
  }
  if (pass_through) filter.blocked_class.reset();
  filter.allowed = !filter.blocked_class.has_value();
  filter.probe = filter.allowed && class_blocked;
  return filter;
}

void BlackHoleDetector::Reset(Counter& c) const {
  std::fill(c.ring.begin(), c.ring.end(), 0);
  c.next = c.results = c.successes = 0;
  c.requests = 0;
  c.state = BlackHoleState::kProbing;
}

void BlackHoleDetector::Record(Counter& c, bool success) const {
  if (success && c.state == BlackHoleState::kBlocked) {
    Reset(c);
    return;
  }
  uint64_t& word = c.ring[c.next / 64];
  const uint64_t bit = uint64_t{1} << (c.next % 64);
  if (c.results == options_.window) {
    if (word & bit) --c.successes;  // the oldest result leaves the window
  } else {
    ++c.results;
  }
  word = success ? (word | bit) : (word & ~bit);
  if (success) ++c.successes;
  c.next = c.next + 1 == options_.window ? 0 : c.next + 1;

  if (c.results < options_.window) {
    c.state = BlackHoleState::kProbing;
  } else if (c.successes >= options_.min_successes) {
    c.state = BlackHoleState::kAllowed;
  } else {
    c.state = BlackHoleState::kBlocked;
  }
}

void BlackHoleDetector::RecordResult(const Multiaddr& address, bool success) {
  if (!options_.enabled) return;
  for (BlackHoleClass k : kClasses) {
    if (InClass(address, k)) Record(counter(k), success);
  }
}

BlackHoleCounts BlackHoleDetector::counts(BlackHoleClass c) const {
  const Counter& k = counter(c);
  return BlackHoleCounts{k.results, k.successes, k.requests};
}

}  // namespace connmgr
