#include "core/input.h"

#include <iterator>

namespace connmgr {

absl::string_view InputName(const Input& input) {
  // In the order of the Input variant's alternatives.
  static constexpr absl::string_view kNames[] = {
      "inbound_connection",    "outbound_connection", "connection_upgraded", "transport_closed",
      "close_request",         "stream_opened",       "stream_closed",       "timer_expired",
      "set_peer_tag",          "remove_peer_tag",     "protect_peer",        "unprotect_peer",
      "register_decaying_tag", "bump_peer_tag",       "add_to_peer_tag",     "place_stream",
      "reserve_memory",        "release_memory",      "connection_secured",  "deny_address",
      "undeny_address",        "allow_address",       "unallow_address",     "deny_peer",
      "undeny_peer",           "dial_request",        "cancel_dial",         "dial_succeeded",
      "dial_failed",           "dns_answered",        "dns_failed",          "set_peer_addresses",
      "update_config",
  };
  static_assert(std::size(kNames) == std::variant_size_v<Input>);
  return kNames[input.index()];
}

}  // namespace connmgr
