// Seeded random addresses for the benchmarks: public-looking IPv4 and 2001::/16 IPv6.
#ifndef CONNMGR_BENCH_RANDOM_ADDRESSES_H_
#define CONNMGR_BENCH_RANDOM_ADDRESSES_H_

#include <array>
#include <cstdint>

#include "core/ip.h"
#include "core/random.h"

namespace connmgr {

inline IpAddress RandomV4(SplitMix64& rng) {
  const uint64_t r = rng.Next();
  return IpAddress::V4({static_cast<uint8_t>(r), static_cast<uint8_t>(r >> 8),
                        static_cast<uint8_t>(r >> 16), static_cast<uint8_t>(r >> 24)});
}

inline IpAddress RandomV6(SplitMix64& rng) {
  std::array<uint8_t, 16> b{0x20, 0x01};
  uint64_t r = rng.Next();
  for (int i = 2; i < 16; ++i) {
    if (i == 9) r = rng.Next();
    b[i] = static_cast<uint8_t>(r >> ((i % 8) * 8));
  }
  return IpAddress::V6(b);
}

}  // namespace connmgr

#endif  // CONNMGR_BENCH_RANDOM_ADDRESSES_H_
