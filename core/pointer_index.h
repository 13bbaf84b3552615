// PointerIndex: a hash set of pointers to records that stay where they are (a RecordPool's),
// looked up by a key each record holds. The set's slots are one pointer each, not whole
// records, and a lookup by key needs no record to compare against.
//
//   struct Peer { PeerId id; int connections = 0; };
//   PointerIndex<Peer, &Peer::id> peers;
//   peers.insert(&peer);
//   auto it = peers.find(peer_id);  // *it is &peer
//
// The key must not change while its record is in the set.
#ifndef CONNMGR_CORE_POINTER_INDEX_H_
#define CONNMGR_CORE_POINTER_INDEX_H_

#include <cstddef>
#include <type_traits>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"

namespace connmgr {

template <typename Record, auto kKey>
struct PointerIndexOps {
  using Key = std::remove_cvref_t<decltype(std::declval<const Record&>().*kKey)>;

  static const Key& KeyOf(const Key& key) { return key; }
  static const Key& KeyOf(const Record* record) { return record->*kKey; }

  struct Hash {
    using is_transparent = void;
    template <typename T>
    size_t operator()(const T& item) const {
      return absl::Hash<Key>()(KeyOf(item));
    }
  };
  struct Eq {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return KeyOf(a) == KeyOf(b);
    }
  };
};

template <typename Record, auto kKey>
using PointerIndex = absl::flat_hash_set<Record*, typename PointerIndexOps<Record, kKey>::Hash,
                                         typename PointerIndexOps<Record, kKey>::Eq>;

}  // namespace connmgr

#endif  // CONNMGR_CORE_POINTER_INDEX_H_
