// Small helpers over std::variant used to build the core's kind lists from their parts.
#ifndef CONNMGR_CORE_VARIANTS_H_
#define CONNMGR_CORE_VARIANTS_H_

#include <optional>
#include <type_traits>
#include <variant>

namespace connmgr {

// VariantConcat<std::variant<A, B>, std::variant<C>>::type is std::variant<A, B, C>.
template <typename... Variants>
struct VariantConcat;
template <typename... As, typename... Bs>
struct VariantConcat<std::variant<As...>, std::variant<Bs...>> {
  using type = std::variant<As..., Bs...>;
};

// Whether T is one of the alternatives of Variant.
template <typename T, typename Variant>
inline constexpr bool kIsAlternativeOf = false;
template <typename T, typename... As>
inline constexpr bool kIsAlternativeOf<T, std::variant<As...>> = (std::is_same_v<T, As> || ...);

// The alternative `from` holds, as a `To` when `To` has it; nullopt otherwise.
template <typename To, typename From>
std::optional<To> NarrowVariant(const From& from) {
  return std::visit(
      [](const auto& v) -> std::optional<To> {
        if constexpr (kIsAlternativeOf<std::decay_t<decltype(v)>, To>) {
          return To(v);
        } else {
          return std::nullopt;
        }
      },
      from);
}

// Calls `f(std::type_identity<Alternative>{})` for every alternative of Variant, in order, until
// it returns true. Returns whether one did.
template <typename Variant, typename F>
bool ForEachAlternative(F&& f) {
  return [&]<size_t... I>(std::index_sequence<I...>) {
    return (f(std::type_identity<std::variant_alternative_t<I, Variant>>{}) || ...);
  }
  (std::make_index_sequence<std::variant_size_v<Variant>>{});
}

}  // namespace connmgr

#endif  // CONNMGR_CORE_VARIANTS_H_
