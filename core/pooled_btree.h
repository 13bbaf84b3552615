// B-tree sets and maps whose nodes come from a pool their owner keeps.
//
// absl's B-trees free a node as soon as it empties, so a set that a lone connection keeps
// entering and leaving (the timers, the pending groups) goes to the heap on every input. With a
// NodePool, freed nodes wait in the pool for the next insertion: after warm-up the containers
// allocate nothing, and their memory stays at the high-water mark of what they held.
//
//   NodePool pool_;                                  // declared before the containers
//   PooledBtreeSet<std::pair<Instant, ConnectionId>> timers_{&pool_};
//
// The pool (core/node_pool.h) keeps a free list per node size: single-threaded, like the core.
#ifndef CONNMGR_CORE_POOLED_BTREE_H_
#define CONNMGR_CORE_POOLED_BTREE_H_

#include <functional>
#include <memory_resource>
#include <utility>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "core/node_pool.h"

namespace connmgr {

template <typename Key, typename Compare = std::less<Key>>
using PooledBtreeSet = absl::btree_set<Key, Compare, std::pmr::polymorphic_allocator<Key>>;

template <typename Key, typename Value, typename Compare = std::less<Key>>
using PooledBtreeMap =
    absl::btree_map<Key, Value, Compare,
                    std::pmr::polymorphic_allocator<std::pair<const Key, Value>>>;

}  // namespace connmgr

#endif  // CONNMGR_CORE_POOLED_BTREE_H_
