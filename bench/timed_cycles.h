// TimedCycles: the measured loop of the connection-churn benchmarks (libp2p_churn, quic_churn):
// 20 warm-up cycles, then as many cycles as fit in `seconds` of wall time.
//
//   std::optional<CycleRate> rate = TimedCycles("libp2p_churn", seconds, cycle);
//   if (!rate) return 1;  // a cycle failed; the reason is on stderr
//   std::printf("per_s=%.1f\n", rate->per_second());
#ifndef CONNMGR_BENCH_TIMED_CYCLES_H_
#define CONNMGR_BENCH_TIMED_CYCLES_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>

namespace connmgr {

struct CycleRate {
  uint64_t cycles = 0;
  double seconds = 0;
  double per_second() const { return static_cast<double>(cycles) / seconds; }
};

// `cycle()` returns false when a cycle fails; then nullopt (after a line on stderr naming `tool`).
template <typename Cycle>
std::optional<CycleRate> TimedCycles(const char* tool, double seconds, Cycle cycle) {
  constexpr int kWarmUpCycles = 20;
  for (int i = 0; i < kWarmUpCycles; ++i) {
    if (!cycle()) {
      std::fprintf(stderr, "%s: warm-up cycle %d failed\n", tool, i);
      return std::nullopt;
    }
  }
  CycleRate rate;
  const auto t0 = std::chrono::steady_clock::now();
  const auto until = t0 + std::chrono::microseconds(static_cast<int64_t>(seconds * 1e6));
  while (std::chrono::steady_clock::now() < until) {
    if (!cycle()) {
      std::fprintf(stderr, "%s: cycle %llu failed\n", tool,
                   static_cast<unsigned long long>(rate.cycles));
      return std::nullopt;
    }
    ++rate.cycles;
  }
  rate.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rate;
}

}  // namespace connmgr

#endif  // CONNMGR_BENCH_TIMED_CYCLES_H_
