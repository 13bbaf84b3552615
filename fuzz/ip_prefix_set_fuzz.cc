// Fuzzes IpPrefixSet as a data structure: bytes become insert, erase and lookup operations on a
// small set, checked after each against a naive list of prefixes.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <set>

#include "core/ip_prefix_set.h"
#include "fuzz/fuzz_check.h"

namespace {

// An address from 3 bytes: a family bit and a few varying bits, so that entries and lookups
// overlap often; IPv4-mapped IPv6 addresses are included.
connmgr::IpAddress AddressFrom(uint8_t a, uint8_t b, uint8_t c) {
  switch (a % 3) {
    case 0:
      return connmgr::IpAddress::V4({10, static_cast<uint8_t>(b & 3), c, static_cast<uint8_t>(b)});
    case 1:
      return connmgr::IpAddress::V6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10,
                                     static_cast<uint8_t>(b & 3), c, static_cast<uint8_t>(b)});
    default:
      return connmgr::IpAddress::V6({0x20, 0x01, 0x0d, 0xb8, static_cast<uint8_t>(b & 7), c, 0, 0,
                                     0, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(b)});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  connmgr::IpPrefixSet set(64);
  std::set<connmgr::IpPrefix> model;
  for (size_t i = 0; i + 5 <= size; i += 5) {
    const uint8_t op = data[i];
    const connmgr::IpAddress a = AddressFrom(data[i + 1], data[i + 2], data[i + 3]);
    const connmgr::IpPrefix p(a, data[i + 4] % (a.is_v4() ? 33 : 129));
    switch (op % 3) {
      case 0: {
        absl::StatusOr<bool> added = set.Insert(p);
        FUZZ_CHECK(added.ok() == (model.size() < 64 || model.contains(p)), p.ToString());
        if (added.ok()) FUZZ_CHECK(*added == model.insert(p).second, p.ToString());
        break;
      }
      case 1:
        FUZZ_CHECK(set.Erase(p) == (model.erase(p) == 1), p.ToString());
        break;
      default: {
        std::optional<connmgr::IpPrefix> expected;
        for (const connmgr::IpPrefix& m : model) {
          if (!m.Contains(a)) continue;
          // Compare specificity on a common scale: an IPv4 entry is 96 bits deeper as IPv6.
          const int depth = m.length() + (m.network().is_v4() ? 96 : 0);
          const int best =
              expected ? expected->length() + (expected->network().is_v4() ? 96 : 0) : -1;
          if (depth > best) expected = m;
        }
        FUZZ_CHECK(set.LongestMatch(a) == expected, a.ToString());
      }
    }
    FUZZ_CHECK(set.size() == model.size(), "size");
  }
  return 0;
}
