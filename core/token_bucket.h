// TokenBucket: an exact integer token bucket, refilled from the `now` passed in.
//
//   TokenBucket bucket(RateLimit{5, Duration::Seconds(1), 5}, now);  // 5 per second, burst 5
//   if (bucket.TryTake(now)) admit(); else refuse();              // a refusal takes nothing
//
// Credit is counted in units of 1/count of a token-interval: a token costs `interval` units and
// every nanosecond adds `count` units, up to `burst` tokens, with 128-bit arithmetic, so "3 per
// second" gives exactly 3 tokens after exactly one second and nothing is lost to rounding. An
// earlier `now` than the last one refills nothing.
#ifndef CONNMGR_CORE_TOKEN_BUCKET_H_
#define CONNMGR_CORE_TOKEN_BUCKET_H_

#include <cstdint>

#include "core/time.h"

namespace connmgr {

// `count` events per `interval`, with at most `burst` at once. count == 0 switches it off.
// (Config::Validate checks a configured one: interval > 0 and burst >= 1 when count > 0.)
struct RateLimit {
  uint32_t count = 0;
  Duration interval = Duration::Seconds(1);
  uint32_t burst = 0;

  bool enabled() const { return count != 0; }
  friend bool operator==(const RateLimit&, const RateLimit&) = default;
};

class TokenBucket {
 public:
  // Starts full at `now`. `rate` must be enabled and valid.
  TokenBucket(const RateLimit& rate, Instant now);

  bool WouldAdmit(Instant now) const { return CreditAt(now) >= cost(); }
  // Takes one token if there is one; a refusal takes nothing.
  bool TryTake(Instant now);
  // Whole tokens available at `now`.
  uint32_t Available(Instant now) const;
  // From this instant on the bucket is full again: it is then the same as a new one.
  Instant FullAt() const;

 private:
  using Units = unsigned __int128;
  Units cost() const { return static_cast<Units>(interval_ns_); }
  Units capacity() const { return static_cast<Units>(burst_) * interval_ns_; }
  Units CreditAt(Instant now) const;

  uint64_t count_;
  uint64_t interval_ns_;
  uint32_t burst_;
  Units credit_;
  Instant last_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_TOKEN_BUCKET_H_
