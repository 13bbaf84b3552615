// Small vocabulary types shared by the core's modules: connection ids, directions, states.
#ifndef CONNMGR_CORE_TYPES_H_
#define CONNMGR_CORE_TYPES_H_

#include <compare>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace connmgr {

// Names one connection for its whole life. The core hands them out in increasing order from 1
// and never reuses one, so a stale id can always be told from a live one.
struct ConnectionId {
  uint64_t value = 0;

  friend auto operator<=>(const ConnectionId&, const ConnectionId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, ConnectionId id) {
    return H::combine(std::move(h), id.value);
  }
};

enum class Direction : uint8_t { kInbound, kOutbound };
inline constexpr int kDirectionCount = 2;

// pending → open → closing → closed. A connection may also go pending → closing (rejected
// or timed out before its upgrade) or straight to closed when its transport goes away.
enum class ConnectionState : uint8_t { kPending, kOpen, kClosing, kClosed };
inline constexpr int kLiveStateCount = 3;  // closed connections leave the table

inline absl::string_view DirectionName(Direction d) {
  return d == Direction::kInbound ? "inbound" : "outbound";
}

inline absl::string_view ConnectionStateName(ConnectionState s) {
  switch (s) {
    case ConnectionState::kPending:
      return "pending";
    case ConnectionState::kOpen:
      return "open";
    case ConnectionState::kClosing:
      return "closing";
    case ConnectionState::kClosed:
      return "closed";
  }
  return "unknown";
}

}  // namespace connmgr

#endif  // CONNMGR_CORE_TYPES_H_
