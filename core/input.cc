#include "core/input.h"

#include <type_traits>

namespace connmgr {

absl::string_view InputName(const Input& input) {
  return std::visit([](const auto& in) { return std::decay_t<decltype(in)>::kKind; }, input);
}

}  // namespace connmgr
