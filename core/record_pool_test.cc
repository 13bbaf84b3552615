#include "core/record_pool.h"

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

}  // namespace
}  // namespace connmgr
