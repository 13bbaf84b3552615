#include "core/tag_names.h"

#include <utility>

#include "absl/strings/match.h"

namespace connmgr {

TagNames::TagNames(std::string keep_alive_prefix)
    : keep_alive_prefix_(std::move(keep_alive_prefix)) {}

std::optional<TagNames::Id> TagNames::Find(absl::string_view name) const {
  auto it = ids_.find(name);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

TagNames::Id TagNames::Intern(absl::string_view name) {
  auto [it, inserted] = ids_.try_emplace(name, 0);
  if (!inserted) {
    AddHold(it->second);
    return it->second;
  }
  if (free_ids_.empty()) {
    it->second = static_cast<Id>(entries_.size());
    entries_.emplace_back();
  } else {
    it->second = free_ids_.back();
    free_ids_.pop_back();
  }
  Entry& entry = entries_[it->second];
  entry.name = std::string(name);
  entry.holds = 1;
  entry.keep_alive = absl::StartsWith(name, keep_alive_prefix_);
  entry.decaying = false;
  return it->second;
}

void TagNames::Release(Id id) {
  Entry& entry = entries_[id];
  if (--entry.holds != 0) return;
  ids_.erase(entry.name);
  entry.name.clear();
  entry.name.shrink_to_fit();
  free_ids_.push_back(id);
}

}  // namespace connmgr
