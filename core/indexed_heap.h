// IndexedHeap: a min-heap in one vector whose items each record their slot in the heap (in a
// place `SlotOf` names, usually a field of the record the item points at), so any item can be
// removed or moved after its key changed in O(log n), and nothing allocates once the vector has
// grown. Binary unless `kArity` says otherwise: a 4-ary heap is half as deep, for more
// comparisons per level on the way down.
//
//   struct Due { Instant at; Record* record; };
//   struct DueBefore { bool operator()(const Due& a, const Due& b) const { return a.at < b.at; } };
//   struct DueSlot { uint32_t& operator()(const Due& d) const { return d.record->due_slot; } };
//   IndexedHeap<Due, DueBefore, DueSlot> heap;
//   heap.Push({at, &r});           // r.due_slot now holds its place
//   heap.Erase(r.due_slot);
//   if (!heap.empty() && heap.top().at <= now) heap.Pop();
//   heap.VisitInOrder(scratch, [](const Due& d) { return d.at < cutoff; });  // without popping
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

template <typename T, typename Before, typename SlotOf, size_t kArity = 2>
class IndexedHeap {
  static_assert(kArity >= 2);

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
  // Calls `visit(item)` for the items in `Before` order until it returns false, leaving the heap
  // as it is: the next item is always the least of the children of those visited, so the first
  // k cost O(k log k) whatever the size. `frontier` is the caller's scratch space (reused, so a
  // walk allocates nothing once it has grown; `expected`, how many the caller means to visit,
  // grows it once up front); `visit` must not change the heap.
  template <typename Visit>
  void VisitInOrder(std::vector<uint32_t>& frontier, Visit visit, size_t expected = 0) const {
    frontier.clear();
    if (items_.empty()) return;
    // Each item visited leaves at most kArity - 1 more waiting than before.
    frontier.reserve(std::min(items_.size(), (kArity - 1) * expected + 1));
    // A max-heap by `later` keeps the least pending slot at its front.
    auto later = [&](uint32_t a, uint32_t b) { return Before()(items_[b], items_[a]); };
    frontier.push_back(0);
    while (!frontier.empty()) {
      std::pop_heap(frontier.begin(), frontier.end(), later);
      const uint32_t slot = frontier.back();
      frontier.pop_back();
      if (!visit(items_[slot])) return;
      const size_t first = kArity * size_t{slot} + 1;
      for (size_t child = first; child < first + kArity; ++child) {
        if (child >= items_.size()) break;
        frontier.push_back(static_cast<uint32_t>(child));
        std::push_heap(frontier.begin(), frontier.end(), later);
      }
    }
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
    if (slot > 0 && Before()(items_[slot], items_[(slot - 1) / kArity])) {
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
      const size_t parent = (slot - 1) / kArity;
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
      const size_t first = kArity * slot + 1;
      if (first >= n) break;
      size_t child = first;
      for (size_t c = first + 1; c < std::min(first + kArity, n); ++c) {
        if (Before()(items_[c], items_[child])) child = c;
      }
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
