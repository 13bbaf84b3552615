// TagNames: the names of the tags peers hold, interned to small integer ids, so a peer's tags
// are stored and compared as integers and each name's bytes are kept once.
//
//   TagNames names("keep-alive");
//   TagNames::Id id = names.Intern("keep-alive-relay");  // one hold, the name created if new
//   names.Find("keep-alive-relay");                      // id
//   names.is_keep_alive(id);                             // true: starts with the prefix
//   names.Release(id);                                   // the last hold: name and id freed
//
// A name lives while it is held (each Intern or AddHold is one hold, each Release drops one),
// so memory follows the names held, never the names ever seen. A freed id is the next one
// handed out (last freed, first reused): ids depend only on the order of calls. Lookups by
// name cost one hash of the name; everything by id is an array access.
#ifndef CONNMGR_CORE_TAG_NAMES_H_
#define CONNMGR_CORE_TAG_NAMES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace connmgr {

class TagNames {
 public:
  using Id = uint32_t;

  explicit TagNames(std::string keep_alive_prefix);

  // The id of a held name; nullopt if nothing holds it.
  std::optional<Id> Find(absl::string_view name) const;
  // The id of `name`, created if no one holds it; adds one hold.
  Id Intern(absl::string_view name);
  // One more hold on a held id.
  void AddHold(Id id) { ++entries_[id].holds; }
  // Drops one hold; the last one frees the name and its id.
  void Release(Id id);

  absl::string_view name(Id id) const { return entries_[id].name; }
  uint32_t holds(Id id) const { return entries_[id].holds; }
  // Whether the name starts with the keep-alive prefix.
  bool is_keep_alive(Id id) const { return entries_[id].keep_alive; }
  // Whether the name is a decaying tag kind's (set once, kept until the name is freed).
  bool is_decaying(Id id) const { return entries_[id].decaying; }
  void MarkDecaying(Id id) { entries_[id].decaying = true; }

  // Names held.
  size_t size() const { return ids_.size(); }

 private:
  struct Entry {
    std::string name;
    uint32_t holds = 0;
    bool keep_alive = false;
    bool decaying = false;
  };

  std::string keep_alive_prefix_;
  absl::flat_hash_map<std::string, Id> ids_;  // looked up only; never iterated
  std::vector<Entry> entries_;                // by id; freed ones have no holds
  std::vector<Id> free_ids_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_TAG_NAMES_H_
