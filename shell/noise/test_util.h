// Hex helpers for the noise tests.
#ifndef CONNMGR_SHELL_NOISE_TEST_UTIL_H_
#define CONNMGR_SHELL_NOISE_TEST_UTIL_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"

namespace connmgr::noise {

inline std::string Unhex(absl::string_view hex) { return absl::HexStringToBytes(hex); }
inline std::string Hex(absl::string_view bytes) { return absl::BytesToHexString(bytes); }

template <size_t N>
std::array<uint8_t, N> UnhexArray(absl::string_view hex) {
  const std::string bytes = Unhex(hex);
  std::array<uint8_t, N> out{};
  for (size_t i = 0; i < N && i < bytes.size(); ++i) out[i] = static_cast<uint8_t>(bytes[i]);
  return out;
}

template <size_t N>
std::string HexArray(const std::array<uint8_t, N>& bytes) {
  return Hex(absl::string_view(reinterpret_cast<const char*>(bytes.data()), N));
}

}  // namespace connmgr::noise

#endif  // CONNMGR_SHELL_NOISE_TEST_UTIL_H_
