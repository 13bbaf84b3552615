// Counts heap allocations made through operator new, for benchmarks that report allocations
// per input. Linking bench:allocation_counter replaces the global operator new/delete of the
// binary (they forward to malloc/free); nothing else changes.
//
//   const uint64_t before = AllocationCount();
//   ... work ...
//   const uint64_t allocations = AllocationCount() - before;
#ifndef CONNMGR_BENCH_ALLOCATION_COUNTER_H_
#define CONNMGR_BENCH_ALLOCATION_COUNTER_H_

#include <cstdint>

namespace connmgr {

// Allocations through any operator new since the program started (every thread).
uint64_t AllocationCount();

}  // namespace connmgr

#endif  // CONNMGR_BENCH_ALLOCATION_COUNTER_H_
