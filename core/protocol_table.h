// Interns stream protocol names and counts the open streams of each, per direction.
//
// Protocol names come from remote peers, so the table is bounded: once `max_protocols` names
// have open streams, further names are counted under the shared "(other)" entry. A name whose
// last stream closed keeps its entry only until a new name needs the slot (the least recently
// idle is reused first; pinned names, the closable protocols, are never reused), so a peer
// cycling through junk names takes no room from names with open streams, and the names a node
// uses all the time (identify, ping) are not copied again on every stream.
//
//   ProtocolTable table(/*max_protocols=*/1024, {"/ipfs/id/1.0.0"});
//   ProtocolId id = table.Acquire("/ipfs/ping/1.0.0", Direction::kOutbound);
//   table.Release(id, Direction::kOutbound);
#ifndef CONNMGR_CORE_PROTOCOL_TABLE_H_
#define CONNMGR_CORE_PROTOCOL_TABLE_H_

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "core/types.h"

namespace connmgr {

using ProtocolId = uint32_t;

struct ProtocolStreams {
  std::string protocol;
  uint64_t inbound = 0;
  uint64_t outbound = 0;

  friend bool operator==(const ProtocolStreams&, const ProtocolStreams&) = default;
};

class ProtocolTable {
 public:
  static constexpr ProtocolId kOther = 0;
  static constexpr absl::string_view kOtherName = "(other)";

  ProtocolTable(size_t max_protocols, absl::Span<const std::string> pinned);

  // Counts one more open stream of `name` in `direction`; returns the id to release it with.
  ProtocolId Acquire(absl::string_view name, Direction direction);
  // Counts one stream of `id` in `direction` closed. The count must be positive.
  void Release(ProtocolId id, Direction direction);

  // The id `name` is counted under right now, if it has an entry (open streams, pinned, or idle
  // and not reused yet).
  std::optional<ProtocolId> Find(absl::string_view name) const;
  bool is_pinned(ProtocolId id) const { return entries_[id].pinned; }
  const std::string& name(ProtocolId id) const { return entries_[id].name; }

  // Every protocol with open streams, sorted by name.
  std::vector<ProtocolStreams> Snapshot() const;

 private:
  struct Entry {
    std::string name;
    std::array<uint64_t, kDirectionCount> streams = {0, 0};
    bool pinned = false;
    bool in_use = false;       // holds a name (open streams, pinned, or idle)
    bool idle_queued = false;  // in idle_ids_ (it may have streams again since)
  };
  bool has_streams(const Entry& e) const { return e.streams[0] != 0 || e.streams[1] != 0; }
  // Frees the least recently idle entry still without streams; false if there is none.
  bool ReuseIdle();

  size_t max_protocols_;
  std::vector<Entry> entries_;  // indexed by ProtocolId; entries_[kOther] is "(other)"
  std::vector<ProtocolId> free_ids_;
  // Entries whose streams all closed, oldest first; an entry appears at most once, so this
  // holds at most max_protocols_ ids.
  std::deque<ProtocolId> idle_ids_;
  absl::flat_hash_map<std::string, ProtocolId> ids_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_PROTOCOL_TABLE_H_
