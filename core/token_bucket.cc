#include "core/token_bucket.h"

#include <algorithm>
#include <cstdint>

namespace connmgr {

TokenBucket::TokenBucket(const RateLimit& rate, Instant now)
    : count_(rate.count),
      interval_ns_(static_cast<uint64_t>(std::max<int64_t>(rate.interval.nanoseconds(), 1))),
      burst_(std::max<uint32_t>(rate.burst, 1)),
      credit_(capacity()),
      last_(now) {}

TokenBucket::Units TokenBucket::CreditAt(Instant now) const {
  if (now <= last_) return credit_;
  const Units elapsed = static_cast<Units>(static_cast<uint64_t>(now.nanoseconds()) -
                                           static_cast<uint64_t>(last_.nanoseconds()));
  const Units missing = capacity() - credit_;
  // elapsed < 2^64 and count < 2^32: the product fits in 128 bits.
  const Units refill = elapsed * count_;
  return refill >= missing ? capacity() : credit_ + refill;
}

bool TokenBucket::TryTake(Instant now) {
  const Units credit = CreditAt(now);
  if (credit < cost()) return false;
  credit_ = credit - cost();
  last_ = std::max(last_, now);
  return true;
}

uint32_t TokenBucket::Available(Instant now) const {
  return static_cast<uint32_t>(CreditAt(now) / cost());
}

Instant TokenBucket::FullAt() const {
  const Units missing = capacity() - credit_;
  const Units ns = (missing + count_ - 1) / count_;
  return last_ + Duration::Nanoseconds(ns > INT64_MAX ? INT64_MAX : static_cast<int64_t>(ns));
}

}  // namespace connmgr
