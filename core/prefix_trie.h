// PrefixTrie: a set of bit strings up to 128 bits long answering "which members are prefixes
// of this key, and which is the longest?" by walking one path from the root.
//
//   PrefixTrie trie;
//   trie.Insert({0x0a00'0000'0000'0000, 0}, 8);     // the bits of 10.0.0.0/8
//   trie.LongestPrefixOf({0x0a01'0203'0000'0000, 0});  // 8
//
// The trie is path-compressed: one node per member and per point where members branch (at
// most 2n - 1 nodes), so a lookup visits at most one node per member on its path and never
// more than 129, compares whole words, hashes nothing and allocates nothing. Nodes live in
// one vector and are reused through a free list; its size stays at the most ever held.
//
// A large trie (at least `front_min_size` members) also keeps a front table indexed by a
// key's first 16 bits: each slot holds the longest member shorter than 16 bits on that path
// and the first node at depth 16 or more, so a lookup starts there instead of at the root
// (about 16 dependent node loads fewer at 100k random members; 512 KiB). Inserting or erasing
// a member of 16 bits or more recomputes one slot (a walk of at most 16 nodes); a shorter
// member rewrites one byte in each of the 2^(16 - length) slots it covers, at most 65 536 (a
// /0). Building the table walks every slot once.
#ifndef CONNMGR_CORE_PREFIX_TRIE_H_
#define CONNMGR_CORE_PREFIX_TRIE_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace connmgr {

class PrefixTrie {
 public:
  // A bit string, most significant bit first: bit 0 is the top bit of `high`.
  struct Key {
    uint64_t high = 0;
    uint64_t low = 0;
    friend bool operator==(const Key&, const Key&) = default;
  };
  static constexpr int kMaxLength = 128;
  static constexpr size_t kDefaultFrontMinSize = 8192;

  // The front table is built when the trie reaches `front_min_size` members and dropped when
  // it falls below half that.
  explicit PrefixTrie(size_t front_min_size = kDefaultFrontMinSize)
      : front_min_size_(front_min_size) {}

  // Adds the first `length` bits of `key` (later bits are ignored). False if present or if
  // `length` is outside 0..128.
  bool Insert(Key key, int length);
  // Removes exactly that member. False if absent.
  bool Erase(Key key, int length);
  bool Contains(Key key, int length) const;
  // The length of the longest member that is a prefix of `key`, or -1 if none is.
  int LongestPrefixOf(Key key) const;

  size_t size() const { return size_; }
  // Calls visit(key, length) for every member, in no particular order.
  template <typename Visit>
  void ForEach(Visit visit) const {
    for (const Node& n : nodes_) {
      if (n.member) visit(n.key, static_cast<int>(n.length));
    }
  }
  size_t memory_bytes() const {
    return nodes_.capacity() * sizeof(Node) + front_.capacity() * sizeof(FrontSlot);
  }

  // The first `length` bits of `key`, the rest zero.
  static Key Masked(Key key, int length);

 private:
  static constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
  struct Node {
    Key key;  // masked to length
    uint8_t length = 0;
    bool member = false;                 // false: a branch point (two children) or a free node
    uint32_t child[2] = {kNone, kNone};  // by the bit at `length`; child[0] links free nodes
  };

  static constexpr int kFrontBits = 16;
  struct FrontSlot {
    uint32_t node = kNone;  // the first node of length >= kFrontBits on the path, if in this slot
    int16_t longest = -1;   // the longest member shorter than kFrontBits on the path, or -1
  };

  // The link that points at a node: the root, or a parent's child on `side`.
  uint32_t& Link(uint32_t parent, int side) {
    return parent == kNone ? root_ : nodes_[parent].child[side];
  }
  uint32_t NewNode(Key key, int length, bool member);
  void FreeNode(uint32_t index);
  // Keeps the front table up to date after `key`/`length` (masked) was inserted or erased.
  void UpdateFront(Key key, int length, bool inserted);
  // The walk down `key`'s path through the nodes shorter than `limit`: the longest member
  // among them (-1 if none) and the first node of length >= `limit` reached (kNone if the path
  // ends or leaves `key` before; that node itself is not checked against `key`).
  struct Descent {
    uint32_t stop = kNone;
    int16_t longest = -1;
  };
  Descent Descend(Key key, int limit) const;
  // The slot for keys starting with the 16 bits `slot`.
  FrontSlot ComputeFrontSlot(uint32_t slot) const;

  size_t front_min_size_;
  std::vector<FrontSlot> front_;  // empty, or 2^kFrontBits slots
  std::vector<Node> nodes_;
  uint32_t root_ = kNone;
  uint32_t free_ = kNone;
  size_t size_ = 0;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_PREFIX_TRIE_H_
