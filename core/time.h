// Instants and durations for the core: signed 64-bit nanoseconds, saturating arithmetic.
//
// The core never reads a clock. Every input carries `now` as an `Instant`, an opaque count of
// nanoseconds since an epoch of the caller's choosing (usually its monotonic clock's start).
// `Instant::Never()` is the one reserved value: a deadline that never comes.
//
//   Instant deadline = now + Duration::Seconds(10);
//   if (now >= deadline) ...
//
// Arithmetic saturates instead of overflowing, so `Instant::Never() + d` stays `Never()` and a
// huge duration from a config file cannot wrap into the past.
#ifndef CONNMGR_CORE_TIME_H_
#define CONNMGR_CORE_TIME_H_

#include <compare>
#include <cstdint>
#include <limits>

namespace connmgr {

namespace time_internal {
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

constexpr int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kMax : kMin;
  return r;
}
constexpr int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? kMax : kMin;
  return r;
}
constexpr int64_t SaturatingMul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return (a < 0) != (b < 0) ? kMin : kMax;
  return r;
}
}  // namespace time_internal

class Duration {
 public:
  constexpr Duration() = default;
  static constexpr Duration Nanoseconds(int64_t n) { return Duration(n); }
  static constexpr Duration Microseconds(int64_t n) {
    return Duration(time_internal::SaturatingMul(n, 1'000));
  }
  static constexpr Duration Milliseconds(int64_t n) {
    return Duration(time_internal::SaturatingMul(n, 1'000'000));
  }
  static constexpr Duration Seconds(int64_t n) {
    return Duration(time_internal::SaturatingMul(n, 1'000'000'000));
  }
  static constexpr Duration Minutes(int64_t n) {
    return Duration(time_internal::SaturatingMul(n, 60'000'000'000));
  }
  static constexpr Duration Zero() { return Duration(0); }
  static constexpr Duration Infinite() { return Duration(time_internal::kMax); }

  constexpr int64_t nanoseconds() const { return ns_; }
  constexpr bool is_infinite() const { return ns_ == time_internal::kMax; }

  constexpr Duration operator+(Duration o) const {
    return Duration(time_internal::SaturatingAdd(ns_, o.ns_));
  }
  constexpr Duration operator-(Duration o) const {
    return Duration(time_internal::SaturatingSub(ns_, o.ns_));
  }
  constexpr Duration operator*(int64_t k) const {
    return Duration(time_internal::SaturatingMul(ns_, k));
  }
  constexpr auto operator<=>(const Duration&) const = default;

 private:
  constexpr explicit Duration(int64_t ns) : ns_(ns) {}
  int64_t ns_ = 0;
};

class Instant {
 public:
  constexpr Instant() = default;
  static constexpr Instant FromNanoseconds(int64_t ns) { return Instant(ns); }
  // The deadline that never comes; compares after every other instant.
  static constexpr Instant Never() { return Instant(time_internal::kMax); }

  constexpr int64_t nanoseconds() const { return ns_; }
  constexpr bool is_never() const { return ns_ == time_internal::kMax; }

  constexpr Instant operator+(Duration d) const {
    if (is_never()) return *this;
    return Instant(time_internal::SaturatingAdd(ns_, d.nanoseconds()));
  }
  constexpr Instant operator-(Duration d) const {
    if (is_never()) return *this;
    return Instant(time_internal::SaturatingSub(ns_, d.nanoseconds()));
  }
  // The time from `earlier` to this instant (negative when `earlier` is later).
  constexpr Duration operator-(Instant earlier) const {
    return Duration::Nanoseconds(time_internal::SaturatingSub(ns_, earlier.ns_));
  }
  constexpr auto operator<=>(const Instant&) const = default;

 private:
  constexpr explicit Instant(int64_t ns) : ns_(ns) {}
  int64_t ns_ = 0;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_TIME_H_
