#include "core/prefix_trie.h"

#include <algorithm>
#include <bit>

#include "core/ip.h"

namespace connmgr {
namespace {

int BitAt(const PrefixTrie::Key& key, int i) {
  return static_cast<int>(i < 64 ? (key.high >> (63 - i)) & 1 : (key.low >> (127 - i)) & 1);
}

// How many leading bits `a` and `b` share (128 if equal).
int CommonLength(const PrefixTrie::Key& a, const PrefixTrie::Key& b) {
  if (const uint64_t x = a.high ^ b.high; x != 0) return std::countl_zero(x);
  if (const uint64_t y = a.low ^ b.low; y != 0) return 64 + std::countl_zero(y);
  return 128;
}

}  // namespace

PrefixTrie::Key PrefixTrie::Masked(Key key, int length) {
  // The same bits as a 128-bit IPv6 prefix: its shortening masks them.
  const PackedPrefix bits = PackedPrefix{key.high, key.low, kMaxLength, true}.Shortened(length);
  return {bits.high, bits.low};
}

uint32_t PrefixTrie::NewNode(Key key, int length, bool member) {
  uint32_t index = free_;
  if (index != kNone) {
    free_ = nodes_[index].child[0];
  } else {
    index = static_cast<uint32_t>(nodes_.size());
    nodes_.emplace_back();
  }
  nodes_[index] = Node{key, static_cast<uint8_t>(length), member, {kNone, kNone}};
  return index;
}

void PrefixTrie::FreeNode(uint32_t index) {
  nodes_[index] = Node{};
  nodes_[index].child[0] = free_;
  free_ = index;
}

bool PrefixTrie::Insert(Key key, int length) {
  if (length < 0 || length > kMaxLength) return false;
  key = Masked(key, length);
  uint32_t parent = kNone;
  int side = 0;
  for (;;) {
    const uint32_t at = Link(parent, side);
    if (at == kNone) {
      const uint32_t leaf = NewNode(key, length, true);
      Link(parent, side) = leaf;
      break;
    }
    const Key at_key = nodes_[at].key;
    const int at_length = nodes_[at].length;
    const int common = std::min({CommonLength(key, at_key), length, at_length});
    if (common == at_length) {
      if (at_length == length) {  // the node is this prefix
        if (nodes_[at].member) return false;
        nodes_[at].member = true;
        break;
      }
      parent = at;  // the node is a prefix of the key: go down
      side = BitAt(key, at_length);
      continue;
    }
    // The node is not a prefix of the key: the new member goes above it, as its parent when
    // it is a prefix of the node, or beside it under a new branch point.
    if (common == length) {
      const uint32_t member = NewNode(key, length, true);
      nodes_[member].child[BitAt(at_key, length)] = at;
      Link(parent, side) = member;
      break;
    }
    const uint32_t fork = NewNode(Masked(key, common), common, false);
    const uint32_t leaf = NewNode(key, length, true);
    nodes_[fork].child[BitAt(key, common)] = leaf;
    nodes_[fork].child[BitAt(at_key, common)] = at;
    Link(parent, side) = fork;
    break;
  }
  ++size_;
  UpdateFront(key, length, /*inserted=*/true);
  return true;
}

bool PrefixTrie::Erase(Key key, int length) {
  if (length < 0 || length > kMaxLength) return false;
  key = Masked(key, length);
  uint32_t grandparent = kNone;
  int grandparent_side = 0;
  uint32_t parent = kNone;
  int side = 0;
  uint32_t at = root_;
  while (at != kNone) {
    const Node& n = nodes_[at];
    if (n.length > length || CommonLength(key, n.key) < n.length) return false;
    if (n.length == length) break;
    grandparent = parent;
    grandparent_side = side;
    parent = at;
    side = BitAt(key, n.length);
    at = n.child[side];
  }
  if (at == kNone || !nodes_[at].member) return false;
  --size_;
  Node& n = nodes_[at];
  n.member = false;
  if (n.child[0] == kNone || n.child[1] == kNone) {  // else it stays as a branch point
    const uint32_t only = n.child[0] != kNone ? n.child[0] : n.child[1];
    Link(parent, side) = only;
    FreeNode(at);
    if (only == kNone && parent != kNone && !nodes_[parent].member) {
      // The parent was a branch point with two children and has one left: splice it out too.
      const Node& p = nodes_[parent];
      Link(grandparent, grandparent_side) = p.child[0] != kNone ? p.child[0] : p.child[1];
      FreeNode(parent);
    }
  }
  UpdateFront(key, length, /*inserted=*/false);
  return true;
}

// Why one slot, or only the slots' `longest`, is enough: a slot points only at a node whose
// first 16 bits are the slot's (another slot's walk fails at such a node, as it would from the
// root). Nodes of 16 bits or more under a slot change only when a member under that slot is
// inserted or erased; nodes shorter than 16 bits that a change adds or splices out are branch
// points or the member itself, which move no slot's first deep node and change no `longest`
// but the member's own.
void PrefixTrie::UpdateFront(Key key, int length, bool inserted) {
  if (front_.empty()) {
    if (!inserted || size_ < front_min_size_) return;
    front_.resize(size_t{1} << kFrontBits);
    for (uint32_t slot = 0; slot < front_.size(); ++slot) front_[slot] = ComputeFrontSlot(slot);
    return;
  }
  if (!inserted && size_ < front_min_size_ / 2) {
    front_ = std::vector<FrontSlot>();  // frees its memory
    return;
  }
  const uint32_t first = static_cast<uint32_t>(key.high >> (64 - kFrontBits));
  if (length >= kFrontBits) {
    front_[first] = ComputeFrontSlot(first);
    return;
  }
  // The slots it covers share the path down to it. A slot whose longest short member was the
  // erased one has none between it and 16 bits, so it falls back to the longest above it.
  const int16_t above = inserted ? int16_t{-1} : Descend(key, length).longest;
  const uint32_t covered = uint32_t{1} << (kFrontBits - length);
  for (uint32_t slot = first; slot < first + covered; ++slot) {
    int16_t& longest = front_[slot].longest;
    if (inserted) {
      longest = std::max<int16_t>(longest, static_cast<int16_t>(length));
    } else if (longest == length) {
      longest = above;
    }
  }
}

PrefixTrie::Descent PrefixTrie::Descend(Key key, int limit) const {
  Descent d;
  for (uint32_t at = root_; at != kNone;) {
    const Node& n = nodes_[at];
    if (n.length >= limit) {
      d.stop = at;
      break;
    }
    if (CommonLength(key, n.key) < n.length) break;
    if (n.member) d.longest = n.length;
    at = n.child[BitAt(key, n.length)];
  }
  return d;
}

PrefixTrie::FrontSlot PrefixTrie::ComputeFrontSlot(uint32_t slot) const {
  const Key key{uint64_t{slot} << (64 - kFrontBits), 0};
  const Descent d = Descend(key, kFrontBits);
  const bool in_slot = d.stop != kNone && CommonLength(key, nodes_[d.stop].key) >= kFrontBits;
  return FrontSlot{in_slot ? d.stop : kNone, d.longest};
}

bool PrefixTrie::Contains(Key key, int length) const {
  if (length < 0 || length > kMaxLength) return false;
  key = Masked(key, length);
  uint32_t at = root_;
  while (at != kNone) {
    const Node& n = nodes_[at];
    if (n.length > length || CommonLength(key, n.key) < n.length) return false;
    if (n.length == length) return n.member;
    at = n.child[BitAt(key, n.length)];
  }
  return false;
}

int PrefixTrie::LongestPrefixOf(Key key) const {
  int longest = -1;
  uint32_t at = root_;
  if (!front_.empty()) {
    const FrontSlot& front = front_[key.high >> (64 - kFrontBits)];
    longest = front.longest;
    at = front.node;
  }
  while (at != kNone) {
    const Node& n = nodes_[at];
    if (CommonLength(key, n.key) < n.length) break;
    if (n.member) longest = n.length;
    if (n.length == kMaxLength) break;
    at = n.child[BitAt(key, n.length)];
  }
  return longest;
}

}  // namespace connmgr
