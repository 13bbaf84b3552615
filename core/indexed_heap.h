// IndexedHeap: a binary min-heap in one vector whose items each record their slot in the heap
// (in a place `SlotOf` names, usually a field of the record the item points at), so any item can
// be removed or moved after its key changed in O(log n), and nothing allocates once the vector
// has grown.
//
//   struct Due { Instant at; Record* record; };
//   struct DueBefore { bool operator()(const Due& a, const Due& b) const { return a.at < b.at; } };
//   struct DueSlot { uint32_t& operator()(const Due& d) const { return d.record->due_slot; } };
//   IndexedHeap<Due, DueBefore, DueSlot> heap;
//   heap.Push({at, &r});           // r.due_slot now holds its place
//   heap.Erase(r.due_slot);
//   if (!heap.empty() && heap.top().at <= now) heap.Pop();
//
// Items must be totally ordered by `Before` (no two equal) for the order they leave the heap in
// to be deterministic.
#ifndef CONNMGR_CORE_INDEXED_HEAP_H_
#define CONNMGR_CORE_INDEXED_HEAP_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace connmgr {

template <typename T, typename Before, typename SlotOf>
class IndexedHeap {
 public:
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  size_t capacity() const { return items_.capacity(); }
  const T& top() const { return items_.front(); }
  const T& at(uint32_t slot) const { return items_[slot]; }

  void Push(const T& item) {
    items_.push_back(item);
    SiftUp(items_.size() - 1);
  }
  void Pop() { Erase(0); }
  // Removes the item at `slot`: the last item takes its place, then moves up or down.
  void Erase(uint32_t slot) {
    const T last = items_.back();
    items_.pop_back();
    if (slot == items_.size()) return;
    items_[slot] = last;
    Fix(slot);
  }
  // Replaces the item at `slot` (its key changed) and moves it to its place.
  void Replace(uint32_t slot, const T& item) {
    items_[slot] = item;
    Fix(slot);
  }
  // Room for `n` more items without another allocation; grows geometrically, so a caller
  // reserving a little at a time never copies the heap each time.
  void Reserve(size_t n) {
    if (items_.size() + n > items_.capacity()) {
      items_.reserve(std::max(items_.size() + n, 2 * items_.capacity()));
    }
  }

 private:
  void Fix(size_t slot) {
    if (slot > 0 && Before()(items_[slot], items_[(slot - 1) / 2])) {
      SiftUp(slot);
    } else {
      SiftDown(slot);
    }
  }
  void Place(size_t slot, const T& item) {
    items_[slot] = item;
    SlotOf()(item) = static_cast<uint32_t>(slot);
  }
  void SiftUp(size_t slot) {
    const T moving = items_[slot];
    while (slot > 0) {
      const size_t parent = (slot - 1) / 2;
      if (!Before()(moving, items_[parent])) break;
      Place(slot, items_[parent]);
      slot = parent;
    }
    Place(slot, moving);
  }
  void SiftDown(size_t slot) {
    const T moving = items_[slot];
    const size_t n = items_.size();
    while (true) {
      size_t child = 2 * slot + 1;
      if (child >= n) break;
      if (child + 1 < n && Before()(items_[child + 1], items_[child])) ++child;
      if (!Before()(items_[child], moving)) break;
      Place(slot, items_[child]);
      slot = child;
    }
    Place(slot, moving);
  }

  std::vector<T> items_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_INDEXED_HEAP_H_
