#include "core/record_pool.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace connmgr {
namespace {

struct Record {
  int number = 0;
  std::string name;
};

TEST(RecordPoolTest, HandsOutDistinctDefaultRecordsAndCountsThem) {
  RecordPool<Record> pool;
  std::set<Record*> seen;
  for (size_t i = 0; i < 3 * RecordPool<Record>::kChunkRecords + 1; ++i) {
    Record* r = pool.New();
    EXPECT_EQ(r->number, 0);
    EXPECT_TRUE(r->name.empty());
    r->number = static_cast<int>(i);
    EXPECT_TRUE(seen.insert(r).second);
  }
  EXPECT_EQ(pool.live(), 3 * RecordPool<Record>::kChunkRecords + 1);
}

TEST(RecordPoolTest, ADeletedRecordIsResetAndReusedWhereItWas) {
  RecordPool<Record> pool;
  Record* a = pool.New();
  Record* b = pool.New();
  a->number = 7;
  a->name = std::string(100, 'x');  // on the heap: the reset must free it
  pool.Delete(a);
  EXPECT_EQ(pool.live(), 1u);
  Record* again = pool.New();
  EXPECT_EQ(again, a);  // the storage is reused, records never move
  EXPECT_EQ(again->number, 0);
  EXPECT_TRUE(again->name.empty());
  EXPECT_NE(again, b);
  EXPECT_EQ(pool.live(), 2u);
}

TEST(RecordPoolTest, RecordsLeftAtTeardownAreDestroyedOnceAndDeletedOnesNot) {
  auto tracker = std::make_shared<int>(0);
  struct Holder {
    std::shared_ptr<int> held;
  };
  {
    RecordPool<Holder> pool;
    std::vector<Holder*> records;
    for (size_t i = 0; i < RecordPool<Holder>::kChunkRecords + 10; ++i) {
      records.push_back(pool.New());
      records.back()->held = tracker;
    }
    EXPECT_EQ(tracker.use_count(), 1 + static_cast<long>(records.size()));
    for (size_t i = 0; i < records.size(); i += 2) pool.Delete(records[i]);  // every other one
    EXPECT_EQ(tracker.use_count(), 1 + static_cast<long>(records.size() / 2));
    EXPECT_EQ(pool.live(), records.size() / 2);
  }
  EXPECT_EQ(tracker.use_count(), 1);  // the live half released by the pool's teardown
}

TEST(RecordPoolTest, DeletingEverythingThenRefillingReusesTheSameSlots) {
  RecordPool<Record> pool;
  std::set<Record*> first;
  std::vector<Record*> records;
  for (size_t i = 0; i < 2 * RecordPool<Record>::kChunkRecords; ++i) {
    records.push_back(pool.New());
    first.insert(records.back());
  }
  for (Record* r : records) pool.Delete(r);
  EXPECT_EQ(pool.live(), 0u);
  std::set<Record*> second;
  for (size_t i = 0; i < records.size(); ++i) second.insert(pool.New());
  EXPECT_EQ(second, first);  // no new chunk: the freed slots served every New
  EXPECT_EQ(pool.live(), records.size());
}

}  // namespace
}  // namespace connmgr
