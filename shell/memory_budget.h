// The memory budget: the system scope's memory limit derived from the machine, as go-libp2p's
// resource manager does (an eighth of physical memory, at least 128 MiB), and each connection's
// budget made to fit it, so that max_connections connections at their budget never exceed it.
//
//   MemoryBudget budget = DeriveMemoryBudget(PhysicalMemoryBytes(), config);
//   ApplyMemoryBudget(budget, &config);  // fills system_scope.memory_bytes when it is 0
//
// With M the physical memory and C = max_connections:
//
//   system          = max(128 MiB, M / 8), and at least C × the least a connection needs
//                     (stream_receive_window + 16 KiB of send queue + 128 KiB of buffers)
//   per connection  = min(connection_memory_bytes, system / C)
//   send queue      = min(max_connection_send_bytes, per connection − window − 128 KiB)
//
// On a 24 GiB machine with the defaults: 3 GiB, 4 MiB and 1 MiB (the defaults kept); on 1 GiB:
// 128 MiB, 447 392 B and 54 176 B. A system limit the user set is kept, and the per-connection
// fields are lowered only as far as it requires.
#ifndef CONNMGR_SHELL_MEMORY_BUDGET_H_
#define CONNMGR_SHELL_MEMORY_BUDGET_H_

#include <cstdint>

#include "core/config.h"

namespace connmgr::shell {

struct MemoryBudget {
  uint64_t physical = 0;  // the machine's memory it was derived from
  uint64_t system = 0;
  uint64_t per_connection = 0;
  uint32_t send_queue = 0;
  friend bool operator==(const MemoryBudget&, const MemoryBudget&) = default;
};

// `config` gives max_connections, the stream window and the per-connection fields to fit; its
// system_scope.memory_bytes, when set, is the system budget to fit them in.
MemoryBudget DeriveMemoryBudget(uint64_t physical_bytes, const Config& config);

// Sets system_scope.memory_bytes when it is 0, and lowers connection_memory_bytes and
// max_connection_send_bytes to the budget's (a connection_memory_bytes of 0, no limit, stays).
void ApplyMemoryBudget(const MemoryBudget& budget, Config* config);

// The machine's physical memory (sysconf); 0 when unknown.
uint64_t PhysicalMemoryBytes();

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_MEMORY_BUDGET_H_
