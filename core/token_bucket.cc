#include "core/token_bucket.h"

#include <algorithm>
#include <cstdint>

namespace connmgr {

uint64_t TokenCredit::IntervalNs(const RateLimit& rate) {
  return static_cast<uint64_t>(std::max<int64_t>(rate.interval.nanoseconds(), 1));
}

TokenCredit::Units TokenCredit::Capacity(const RateLimit& rate) {
  return static_cast<Units>(std::max<uint32_t>(rate.burst, 1)) * IntervalNs(rate);
}

TokenCredit::TokenCredit(const RateLimit& rate, Instant now) : last_(now) {
  set_credit(Capacity(rate));
}

TokenCredit::Units TokenCredit::CreditAt(const RateLimit& rate, Instant now) const {
  if (now <= last_) return credit();
  const Units elapsed = static_cast<Units>(static_cast<uint64_t>(now.nanoseconds()) -
                                           static_cast<uint64_t>(last_.nanoseconds()));
  const Units missing = Capacity(rate) - credit();
  // elapsed < 2^64 and count < 2^32: the product fits in 128 bits.
  const Units refill = elapsed * rate.count;
  return refill >= missing ? Capacity(rate) : credit() + refill;
}

bool TokenCredit::TryTake(const RateLimit& rate, Instant now) {
  const Units credit = CreditAt(rate, now);
  if (credit < Cost(rate)) return false;
  set_credit(credit - Cost(rate));
  last_ = std::max(last_, now);
  return true;
}

uint32_t TokenCredit::Available(const RateLimit& rate, Instant now) const {
  return static_cast<uint32_t>(CreditAt(rate, now) / Cost(rate));
}

Instant TokenCredit::FullAt(const RateLimit& rate) const {
  const Units missing = Capacity(rate) - credit();
  const Units ns = (missing + rate.count - 1) / rate.count;
  return last_ + Duration::Nanoseconds(ns > INT64_MAX ? INT64_MAX : static_cast<int64_t>(ns));
}

TokenBucket::TokenBucket(const RateLimit& rate, Instant now) : rate_(rate), credit_(rate, now) {}

}  // namespace connmgr
