#include "core/pointer_index.h"

#include <string>
#include <vector>

#include "core/record_pool.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

struct Peer {
  std::string id;
  int connections = 0;
};

TEST(PointerIndexTest, FindsEachRecordByItsKey) {
  RecordPool<Peer> pool;
  PointerIndex<Peer, &Peer::id> index;
  std::vector<Peer*> peers;
  for (int i = 0; i < 1000; ++i) {
    Peer* p = pool.New();
    p->id = "peer-" + std::to_string(i);
    p->connections = i;
    EXPECT_TRUE(index.insert(p).second);
    peers.push_back(p);
  }
  EXPECT_EQ(index.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    auto it = index.find(std::string("peer-") + std::to_string(i));
    ASSERT_NE(it, index.end());
    EXPECT_EQ(*it, peers[i]);
    EXPECT_EQ((*it)->connections, i);
  }
  EXPECT_EQ(index.find(std::string("peer-1000")), index.end());
}

TEST(PointerIndexTest, ARecordWithAnIndexedKeyIsNotInsertedTwice) {
  Peer a{"same", 1};
  Peer b{"same", 2};
  PointerIndex<Peer, &Peer::id> index;
  EXPECT_TRUE(index.insert(&a).second);
  auto [it, inserted] = index.insert(&b);
  EXPECT_FALSE(inserted);
  EXPECT_EQ(*it, &a);
}

TEST(PointerIndexTest, ErasesByKeyOrByRecord) {
  Peer a{"a", 0};
  Peer b{"b", 0};
  Peer c{"c", 0};
  PointerIndex<Peer, &Peer::id> index = {&a, &b, &c};
  EXPECT_EQ(index.erase(std::string("b")), 1u);
  EXPECT_EQ(index.erase(&c), 1u);
  EXPECT_EQ(index.erase(std::string("b")), 0u);
  EXPECT_EQ(index.size(), 1u);
  EXPECT_TRUE(index.contains(std::string("a")));
  EXPECT_FALSE(index.contains(&b));
}

}  // namespace
}  // namespace connmgr
