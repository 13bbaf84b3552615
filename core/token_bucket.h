// TokenBucket: an exact integer token bucket, refilled from the `now` passed in.
//
//   TokenBucket bucket(RateLimit{5, Duration::Seconds(1), 5}, now);  // 5 per second, burst 5
//   if (bucket.TryTake(now)) admit(); else refuse();              // a refusal takes nothing
//
// TokenCredit is the same bucket without its rate, for tables holding many buckets of one
// rate (the source limiter): the owner passes the rate to every call.
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

// A bucket's state: credit and the instant it was last brought up to date.
class TokenCredit {
 public:
  // Full at `now`.
  TokenCredit(const RateLimit& rate, Instant now);

  bool WouldAdmit(const RateLimit& rate, Instant now) const {
    return CreditAt(rate, now) >= Cost(rate);
  }
  bool TryTake(const RateLimit& rate, Instant now);
  uint32_t Available(const RateLimit& rate, Instant now) const;
  Instant FullAt(const RateLimit& rate) const;

 private:
  using Units = unsigned __int128;
  static uint64_t IntervalNs(const RateLimit& rate);
  static Units Cost(const RateLimit& rate) { return IntervalNs(rate); }
  static Units Capacity(const RateLimit& rate);
  Units CreditAt(const RateLimit& rate, Instant now) const;
  Units credit() const { return (static_cast<Units>(credit_high_) << 64) | credit_low_; }
  void set_credit(Units credit) {
    credit_high_ = static_cast<uint64_t>(credit >> 64);
    credit_low_ = static_cast<uint64_t>(credit);
  }

  // The 128-bit credit in two words: 8-byte alignment keeps table entries small.
  uint64_t credit_high_ = 0;
  uint64_t credit_low_ = 0;
  Instant last_;
};

class TokenBucket {
 public:
  // Starts full at `now`. `rate` must be enabled and valid.
  TokenBucket(const RateLimit& rate, Instant now);

  bool WouldAdmit(Instant now) const { return credit_.WouldAdmit(rate_, now); }
  // Takes one token if there is one; a refusal takes nothing.
  bool TryTake(Instant now) { return credit_.TryTake(rate_, now); }
  // Whole tokens available at `now`.
  uint32_t Available(Instant now) const { return credit_.Available(rate_, now); }
  // From this instant on the bucket is full again: it is then the same as a new one.
  Instant FullAt() const { return credit_.FullAt(rate_); }

 private:
  RateLimit rate_;
  TokenCredit credit_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_TOKEN_BUCKET_H_
