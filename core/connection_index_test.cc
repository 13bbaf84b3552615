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

using Index = ConnectionIndex<Record>;
constexpr uint64_t kWindow = Index::kWindow;

class ConnectionIndexTest : public ::testing::Test {
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

TEST_F(ConnectionIndexTest, AnIdLeavingTheWindowStaysFindable) {
  Record* old = Add();  // id 1
  // Ids 2 .. kWindow + 1: the last one takes id 1's ring slot.
  for (uint64_t i = 0; i < kWindow; ++i) index_.Erase(Add()->id);
  EXPECT_EQ(index_.next_id(), kWindow + 2);
  EXPECT_EQ(index_.Find(old->id), old);
  EXPECT_EQ(index_.size(), 1u);
  EXPECT_EQ(Visited(), std::vector<uint64_t>{1});
  index_.Erase(old->id);
  EXPECT_EQ(index_.Find(old->id), nullptr);
  EXPECT_EQ(index_.size(), 0u);
}

TEST_F(ConnectionIndexTest, ASkippedIdAlsoMovesTheOldOneOut) {
  Record* old = Add();                                     // id 1, ring slot 1
  for (uint64_t i = 1; i < kWindow; ++i) index_.NextId();  // ids 2 .. kWindow, none indexed
  EXPECT_EQ(index_.NextId().value, kWindow + 1);           // slot 1 again, skipped
  EXPECT_EQ(index_.Find(old->id), old);
  EXPECT_EQ(index_.Find(ConnectionId{kWindow + 1}), nullptr);
  Record* next = Add();  // kWindow + 2
  EXPECT_EQ(index_.Find(next->id), next);
  EXPECT_EQ(Visited(), (std::vector<uint64_t>{1, kWindow + 2}));
}

// Random adds, skips and erases (some records live for many windows) against a std::map.
TEST_F(ConnectionIndexTest, MatchesAMapUnderRandomOperations) {
  SplitMix64 rng(7);
  std::map<uint64_t, Record*> model;
  for (int step = 0; step < 200'000; ++step) {
    const uint64_t op = rng.Below(10);
    if (op < 5) {
      Record* r = Add();
      model[r->id.value] = r;
    } else if (op < 6) {
      index_.NextId();
    } else if (!model.empty()) {
      // Erase mostly recent records, sometimes any: lifetimes from one step to many windows.
      auto it = rng.Below(4) == 0 ? model.lower_bound(rng.Below(index_.next_id()))
                                  : std::prev(model.end());
      if (it == model.end()) it = model.begin();
      index_.Erase(ConnectionId{it->first});
      model.erase(it);
    }
    if (step % 1000 == 0) {
      ASSERT_EQ(index_.size(), model.size());
      for (int probe = 0; probe < 20; ++probe) {
        const uint64_t id = rng.Below(index_.next_id() + 2);
        auto it = model.find(id);
        ASSERT_EQ(index_.Find(ConnectionId{id}), it == model.end() ? nullptr : it->second)
            << "id " << id << " at step " << step;
      }
    }
  }
  std::vector<uint64_t> ids;
  ids.reserve(model.size());
  for (const auto& [id, record] : model) ids.push_back(id);
  EXPECT_EQ(Visited(), ids);
  EXPECT_GT(index_.next_id(), 3 * kWindow);  // the run crossed several windows
}

}  // namespace
}  // namespace connmgr
