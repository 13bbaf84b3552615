#include "shell/memory_budget.h"

#include <unistd.h>

#include <algorithm>

namespace connmgr::shell {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kLeastSendQueue = uint64_t{16} << 10;  // Validate's lower bound

}  // namespace

MemoryBudget DeriveMemoryBudget(uint64_t physical_bytes, const Config& config) {
  const uint64_t connections = std::max<uint64_t>(1, config.max_connections);
  const uint64_t beside_send = uint64_t{config.stream_receive_window} + ShellConnectionOverhead();
  MemoryBudget b;
  b.physical = physical_bytes;
  b.system = config.system_scope.memory_bytes;
  if (b.system == 0) {
    b.system =
        std::max({128 * kMiB, physical_bytes / 8, connections * (beside_send + kLeastSendQueue)});
  }
  const uint64_t wanted =
      config.connection_memory_bytes == 0 ? 4 * kMiB : config.connection_memory_bytes;
  b.per_connection =
      std::max(std::min(wanted, b.system / connections), beside_send + kLeastSendQueue);
  b.send_queue = static_cast<uint32_t>(
      std::min<uint64_t>(config.max_connection_send_bytes, b.per_connection - beside_send));
  return b;
}

void ApplyMemoryBudget(const MemoryBudget& budget, Config* config) {
  if (config->system_scope.memory_bytes == 0) config->system_scope.memory_bytes = budget.system;
  if (config->connection_memory_bytes == 0) return;  // the user wants no per-connection limit
  config->connection_memory_bytes =
      std::min(config->connection_memory_bytes, budget.per_connection);
  config->max_connection_send_bytes =
      std::min(config->max_connection_send_bytes, budget.send_queue);
}

uint64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page_size <= 0) return 0;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_size);
}

}  // namespace connmgr::shell
