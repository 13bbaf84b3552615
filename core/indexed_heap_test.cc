#include "core/indexed_heap.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "core/random.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

struct Record {
  uint64_t key = 0;
  uint32_t slot = 0;
  bool in_heap = false;
};
struct Item {
  uint64_t key;
  Record* record;
};
struct Before {
  bool operator()(const Item& a, const Item& b) const { return a.key < b.key; }
};
struct SlotOf {
  uint32_t& operator()(const Item& item) const { return item.record->slot; }
};
using Heap = IndexedHeap<Item, Before, SlotOf>;

// The tests that walk and reshape heaps of many items run for both arities in use.
template <typename H>
class IndexedHeapArityTest : public ::testing::Test {};
using Arities = ::testing::Types<Heap, IndexedHeap<Item, Before, SlotOf, 4>>;
TYPED_TEST_SUITE(IndexedHeapArityTest, Arities);

TEST(IndexedHeapTest, PopsInKeyOrderAndEveryRecordKnowsItsSlot) {
  std::vector<Record> records(5);
  Heap heap;
  const uint64_t keys[] = {40, 10, 50, 20, 30};
  for (int i = 0; i < 5; ++i) {
    records[i].key = keys[i];
    heap.Push({keys[i], &records[i]});
  }
  for (const Record& r : records) EXPECT_EQ(heap.at(r.slot).record, &r);
  std::vector<uint64_t> popped;
  while (!heap.empty()) {
    popped.push_back(heap.top().key);
    heap.Pop();
  }
  EXPECT_EQ(popped, (std::vector<uint64_t>{10, 20, 30, 40, 50}));
}

TEST(IndexedHeapTest, EraseAndReplaceAtAnySlot) {
  std::vector<Record> records(4);
  Heap heap;
  for (int i = 0; i < 4; ++i) heap.Push({static_cast<uint64_t>(10 * (i + 1)), &records[i]});
  heap.Erase(records[1].slot);                      // 20 gone
  heap.Replace(records[3].slot, {5, &records[3]});  // 40 -> 5: to the top
  EXPECT_EQ(heap.top().record, &records[3]);
  heap.Replace(records[3].slot, {35, &records[3]});  // and down again
  std::vector<uint64_t> popped;
  while (!heap.empty()) {
    popped.push_back(heap.top().key);
    heap.Pop();
  }
  EXPECT_EQ(popped, (std::vector<uint64_t>{10, 30, 35}));
}

TEST(IndexedHeapTest, ReserveGrowsOnceForManyPushes) {
  std::vector<Record> records(1000);
  Heap heap;
  heap.Reserve(1000);
  const size_t capacity = heap.capacity();
  EXPECT_GE(capacity, 1000u);
  for (size_t i = 0; i < records.size(); ++i) heap.Push({i, &records[i]});
  EXPECT_EQ(heap.capacity(), capacity);
  heap.Reserve(1);  // full: at least doubles
  EXPECT_GE(heap.capacity(), 2 * capacity);
}

TYPED_TEST(IndexedHeapArityTest, VisitInOrderWalksEveryItemInKeyOrderAndCanStop) {
  std::vector<Record> records(300);
  TypeParam heap;
  std::vector<uint64_t> sorted;
  SplitMix64 rng(5);
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].key = (rng.Below(1000) << 32) | i;  // unique, in random order
    heap.Push({records[i].key, &records[i]});
    sorted.push_back(records[i].key);
  }
  heap.Erase(records[7].slot);
  sorted.erase(std::find(sorted.begin(), sorted.end(), records[7].key));
  std::sort(sorted.begin(), sorted.end());
  std::vector<uint32_t> frontier;
  std::vector<uint64_t> visited;
  heap.VisitInOrder(frontier, [&](const Item& item) {
    visited.push_back(item.key);
    return true;
  });
  EXPECT_EQ(visited, sorted);
  visited.clear();
  heap.VisitInOrder(frontier, [&](const Item& item) {
    visited.push_back(item.key);
    return visited.size() < 3;
  });
  EXPECT_EQ(visited, (std::vector<uint64_t>(sorted.begin(), sorted.begin() + 3)));
  EXPECT_EQ(heap.size(), records.size() - 1);  // the walk took nothing out
  // Told how many it will visit, the walk sizes its scratch space once.
  std::vector<uint32_t> sized;
  size_t capacity_at_first_visit = 0;
  size_t seen = 0;
  heap.VisitInOrder(
      sized,
      [&](const Item&) {
        if (seen == 0) capacity_at_first_visit = sized.capacity();
        EXPECT_EQ(sized.capacity(), capacity_at_first_visit);
        return ++seen < 100;
      },
      100);
  EXPECT_EQ(seen, 100u);
  EXPECT_EQ(sized.capacity(), capacity_at_first_visit);
  TypeParam empty;
  empty.VisitInOrder(frontier, [](const Item&) {
    ADD_FAILURE() << "an empty heap has nothing to visit";
    return true;
  });
}

// Random pushes, erases, re-keys and pops against an ordered set.
TYPED_TEST(IndexedHeapArityTest, MatchesAnOrderedSetUnderRandomOperations) {
  constexpr int kRecords = 200;
  std::vector<Record> records(kRecords);
  TypeParam heap;
  std::set<std::pair<uint64_t, int>> model;  // (key, record): keys are made unique below
  SplitMix64 rng(3);
  uint64_t next_key = 0;
  for (int step = 0; step < 20'000; ++step) {
    const int i = static_cast<int>(rng.Below(kRecords));
    Record& r = records[i];
    // Unique keys in random order: a random high part, a counter below.
    const uint64_t key = (rng.Below(1000) << 32) | next_key++;
    switch (rng.Below(4)) {
      case 0:
        if (r.in_heap) {
          model.erase({r.key, i});
          heap.Replace(r.slot, {key, &r});
        } else {
          heap.Push({key, &r});
          r.in_heap = true;
        }
        r.key = key;
        model.insert({key, i});
        break;
      case 1:
        if (r.in_heap) {
          model.erase({r.key, i});
          heap.Erase(r.slot);
          r.in_heap = false;
        }
        break;
      default:
        if (!model.empty()) {
          ASSERT_EQ(heap.top().record, &records[model.begin()->second]) << "step " << step;
          heap.top().record->in_heap = false;
          heap.Pop();
          model.erase(model.begin());
        }
        break;
    }
    ASSERT_EQ(heap.size(), model.size());
    for (const auto& [k, index] : model) {
      ASSERT_EQ(heap.at(records[index].slot).record, &records[index]) << "step " << step;
    }
  }
}

}  // namespace
}  // namespace connmgr
