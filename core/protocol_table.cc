#include "core/protocol_table.h"

#include <algorithm>

namespace connmgr {

ProtocolTable::ProtocolTable(size_t max_protocols, absl::Span<const std::string> pinned)
    : max_protocols_(max_protocols + pinned.size()) {
  entries_.push_back(Entry{std::string(kOtherName), {0, 0}, /*pinned=*/true, /*in_use=*/true});
  ids_.emplace(kOtherName, kOther);
  for (const std::string& name : pinned) {
    if (ids_.contains(name)) continue;
    ids_.emplace(name, static_cast<ProtocolId>(entries_.size()));
    entries_.push_back(Entry{name, {0, 0}, /*pinned=*/true, /*in_use=*/true});
  }
}

ProtocolId ProtocolTable::Acquire(absl::string_view name, Direction direction) {
  ProtocolId id = kOther;
  if (auto it = ids_.find(name); it != ids_.end()) {
    id = it->second;
  } else if (entries_.size() < max_protocols_ + 1) {
    id = static_cast<ProtocolId>(entries_.size());
    entries_.emplace_back();
  } else if (!free_ids_.empty() || ReuseIdle()) {
    id = free_ids_.back();
    free_ids_.pop_back();
  }
  Entry& entry = entries_[id];
  if (!entry.in_use) {
    entry.name = std::string(name);
    entry.in_use = true;
    ids_.emplace(entry.name, id);
  }
  ++entry.streams[static_cast<int>(direction)];
  return id;
}

void ProtocolTable::Release(ProtocolId id, Direction direction) {
  Entry& entry = entries_[id];
  --entry.streams[static_cast<int>(direction)];
  if (entry.pinned || has_streams(entry) || entry.idle_queued) return;
  entry.idle_queued = true;
  idle_ids_.push_back(id);
}

bool ProtocolTable::ReuseIdle() {
  while (!idle_ids_.empty()) {
    const ProtocolId id = idle_ids_.front();
    idle_ids_.pop_front();
    Entry& entry = entries_[id];
    entry.idle_queued = false;
    if (has_streams(entry)) continue;  // busy again since it went idle
    ids_.erase(entry.name);
    entry.name.clear();
    entry.in_use = false;
    free_ids_.push_back(id);
    return true;
  }
  return false;
}

std::optional<ProtocolId> ProtocolTable::Find(absl::string_view name) const {
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  return std::nullopt;
}

std::vector<ProtocolStreams> ProtocolTable::Snapshot() const {
  std::vector<ProtocolStreams> out;
  for (const Entry& e : entries_) {
    if (!e.in_use || (e.streams[0] == 0 && e.streams[1] == 0)) continue;
    out.push_back({e.name, e.streams[0], e.streams[1]});
  }
  std::sort(out.begin(), out.end(), [](const ProtocolStreams& a, const ProtocolStreams& b) {
    return a.protocol < b.protocol;
  });
  return out;
}

}  // namespace connmgr
