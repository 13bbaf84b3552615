// SplitMix64: the core's only source of pseudo-randomness, seeded from the config, so every
// "random" choice (keyed net-group ranks, reconnect jitter) replays exactly.
//
//   SplitMix64 rng(config.random_seed);
//   uint64_t r = rng.Next();
//   uint64_t h = Mix64(value);  // a fixed, well-mixed function of `value`
#ifndef CONNMGR_CORE_RANDOM_H_
#define CONNMGR_CORE_RANDOM_H_

#include <cstdint>

namespace connmgr {

// SplitMix64's finaliser.
constexpr uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ull;
    return Mix64(state_);
  }
  uint8_t NextByte() { return static_cast<uint8_t>(Next() >> 56); }
  // Uniform in [0, n) for n > 0 (the modulo bias is below 2^-40 for the n the core uses).
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_RANDOM_H_
