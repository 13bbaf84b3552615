#include "core/connection_index.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <vector>

#include "core/random.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

struct Record {
  ConnectionId id;
};

template <typename Index>
class IndexTest : public ::testing::Test {
 protected:
  // Takes the next id and indexes a new record under it.
  Record* Add() {
    const ConnectionId id = index_.NextId();
    records_.push_back(std::make_unique<Record>(Record{id}));
    index_.Insert(records_.back().get());
    return records_.back().get();
  }
  std::vector<uint64_t> Visited() const {
    std::vector<uint64_t> ids;
    index_.ForEach([&](const Record* r) { ids.push_back(r->id.value); });
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  Index index_;
  std::vector<std::unique_ptr<Record>> records_;
};

// Most tests use a ring of at most 128 ids, so that ids leave it after a few steps.
using SmallIndex = ConnectionIndex<Record, 128>;
using ConnectionIndexTest = IndexTest<SmallIndex>;
using FullSizeIndexTest = IndexTest<ConnectionIndex<Record>>;
static_assert(SmallIndex::kMinWindow == 64);
constexpr uint64_t kMinWindow = ConnectionIndex<Record>::kMinWindow;
constexpr uint64_t kMaxWindow = ConnectionIndex<Record>::kMaxWindow;

TEST_F(ConnectionIndexTest, IdsStartAtOneAndIncrease) {
  EXPECT_EQ(index_.next_id(), 1u);
  EXPECT_EQ(Add()->id.value, 1u);
  EXPECT_EQ(index_.NextId().value, 2u);  // skipped: never indexed
  EXPECT_EQ(Add()->id.value, 3u);
  EXPECT_EQ(index_.next_id(), 4u);
  EXPECT_EQ(index_.size(), 2u);
  EXPECT_EQ(index_.Find(ConnectionId{2}), nullptr);
  EXPECT_EQ(index_.Find(ConnectionId{0}), nullptr);
  EXPECT_EQ(index_.Find(ConnectionId{4}), nullptr);  // not handed out yet
  EXPECT_EQ(index_.Find(ConnectionId{UINT64_MAX}), nullptr);
}

TEST_F(ConnectionIndexTest, FindsAndErasesInsideTheWindow) {
  Record* a = Add();
  Record* b = Add();
  EXPECT_EQ(index_.Find(a->id), a);
  EXPECT_EQ(index_.Find(b->id), b);
  index_.Erase(a->id);
  EXPECT_EQ(index_.Find(a->id), nullptr);
  EXPECT_EQ(index_.Find(b->id), b);
  EXPECT_EQ(index_.size(), 1u);
  EXPECT_EQ(Visited(), std::vector<uint64_t>{2});
}

TEST_F(ConnectionIndexTest, AnIdLeavingTheRingStaysFindable) {
  Record* old = Add();  // id 1
  // Ids 2 .. 129, each closed at once. Id 65 would push id 1 out: the ring grows to 128 instead;
  // id 129, with the ring at its maximum, moves id 1 to the hash set.
  for (int i = 0; i < 64; ++i) index_.Erase(Add()->id);
  EXPECT_EQ(index_.window(), 128u);
  for (int i = 0; i < 64; ++i) index_.Erase(Add()->id);
  EXPECT_EQ(index_.next_id(), 130u);
  EXPECT_EQ(index_.window(), 128u);
  EXPECT_EQ(index_.Find(old->id), old);
  EXPECT_EQ(index_.size(), 1u);
  EXPECT_EQ(Visited(), std::vector<uint64_t>{1});
  index_.Erase(old->id);
  EXPECT_EQ(index_.Find(old->id), nullptr);
  EXPECT_EQ(index_.size(), 0u);
}

TEST_F(ConnectionIndexTest, ASkippedIdAlsoMovesTheOldOneOut) {
  Record* old = Add();                             // id 1, ring slot 1
  for (int i = 2; i <= 128; ++i) index_.NextId();  // ids 2 .. 128, none indexed
  EXPECT_EQ(index_.NextId().value, 129u);          // slot 1 again, skipped
  EXPECT_EQ(index_.Find(old->id), old);
  EXPECT_EQ(index_.Find(ConnectionId{129}), nullptr);
  Record* next = Add();  // 130
  EXPECT_EQ(index_.Find(next->id), next);
  EXPECT_EQ(Visited(), (std::vector<uint64_t>{1, 130}));
}

TEST_F(ConnectionIndexTest, ClosedIdsLeaveTheRingWithoutGrowingIt) {
  for (int i = 0; i < 1000; ++i) index_.Erase(Add()->id);
  index_.NextId();  // skipped ids too
  EXPECT_EQ(index_.window(), 64u);
  EXPECT_EQ(index_.size(), 0u);
}

TEST_F(FullSizeIndexTest, TheRingDoublesWhileItsOldestIdIsOpenUpToItsMaximum) {
  for (uint64_t i = 0; i < kMinWindow; ++i) Add();
  EXPECT_EQ(index_.window(), kMinWindow);
  Record* first_of_grown = Add();  // id 65 would push out id 1, still open
  EXPECT_EQ(index_.window(), 2 * kMinWindow);
  ASSERT_NE(index_.Find(ConnectionId{1}), nullptr);
  EXPECT_EQ(index_.Find(ConnectionId{1})->id.value, 1u);
  EXPECT_EQ(index_.Find(first_of_grown->id), first_of_grown);

  // None closes: the ring doubles until its maximum, then the oldest ids move out.
  while (index_.next_id() <= 3 * kMaxWindow) Add();
  EXPECT_EQ(index_.window(), kMaxWindow);
  EXPECT_EQ(index_.size(), 3 * kMaxWindow);
  for (uint64_t id = 1; id <= 3 * kMaxWindow; id += 97) {
    ASSERT_NE(index_.Find(ConnectionId{id}), nullptr) << "id " << id;
    ASSERT_EQ(index_.Find(ConnectionId{id})->id.value, id);
  }
  EXPECT_EQ(Visited().size(), 3 * kMaxWindow);
}

TEST_F(FullSizeIndexTest, TheRingStaysSmallWhenConnectionsCloseYoung) {
  std::vector<Record*> open;
  for (int i = 0; i < 100'000; ++i) {
    open.push_back(Add());
    if (open.size() > 20) {  // 20 open between steps, each closed 20 ids after it opened
      index_.Erase(open.front()->id);
      open.erase(open.begin());
    }
  }
  EXPECT_EQ(index_.window(), kMinWindow);
  EXPECT_EQ(index_.size(), 20u);
}

// Random adds, skips and erases (some records live for many windows) against a std::map, with
// a ring that reaches its maximum after one doubling and one that doubles six times.
template <typename Index>
using RandomIndexTest = IndexTest<Index>;
using RandomIndexTypes = ::testing::Types<SmallIndex, ConnectionIndex<Record, 4096>>;
TYPED_TEST_SUITE(RandomIndexTest, RandomIndexTypes);

TYPED_TEST(RandomIndexTest, MatchesAMapUnderRandomOperations) {
  auto& index = this->index_;
  SplitMix64 rng(7);
  std::map<uint64_t, Record*> model;
  for (int step = 0; step < 200'000; ++step) {
    const uint64_t op = rng.Below(10);
    if (op < 5) {
      Record* r = this->Add();
      model[r->id.value] = r;
    } else if (op < 6) {
      index.NextId();
    } else if (!model.empty()) {
      // Erase mostly recent records, sometimes any: lifetimes from one step to many windows.
      auto it = rng.Below(4) == 0 ? model.lower_bound(rng.Below(index.next_id()))
                                  : std::prev(model.end());
      if (it == model.end()) it = model.begin();
      index.Erase(ConnectionId{it->first});
      model.erase(it);
    }
    if (step % 1000 == 0) {
      ASSERT_EQ(index.size(), model.size());
      for (int probe = 0; probe < 20; ++probe) {
        const uint64_t id = rng.Below(index.next_id() + 2);
        auto it = model.find(id);
        ASSERT_EQ(index.Find(ConnectionId{id}), it == model.end() ? nullptr : it->second)
            << "id " << id << " at step " << step;
      }
    }
  }
  std::vector<uint64_t> ids;
  ids.reserve(model.size());
  for (const auto& [id, record] : model) ids.push_back(id);
  EXPECT_EQ(this->Visited(), ids);
  EXPECT_EQ(index.window(), TypeParam::kMaxWindow);  // ~20 000 open at the end
  EXPECT_GT(index.next_id(), 20 * index.window());   // ids crossed the ring many times
}

}  // namespace
}  // namespace connmgr
