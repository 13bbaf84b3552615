// Drives the whole core from fuzz bytes: the first bytes choose a small config, the rest become
// an input sequence (props/input_generator.h). After every input the shared invariants
// (props/invariants.h) must hold.
#include <cstddef>
#include <cstdint>

#include "core/core.h"
#include "fuzz/fuzz_check.h"
#include "props/input_generator.h"
#include "props/invariants.h"

namespace {

class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  uint8_t Next() { return pos_ < size_ ? data_[pos_++] : 0; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

constexpr int kMaxInputs = 512;

// base + byte * step milliseconds, or an infinite duration for byte 255 (a timer whose deadline
// saturates the clock).
connmgr::Duration MillisecondsOrInfinite(uint8_t byte, int64_t base, int64_t step) {
  if (byte == 255) return connmgr::Duration::Infinite();
  return connmgr::Duration::Milliseconds(base + int64_t{byte} * step);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes bytes(data, size);
  connmgr::Config config;
  config.max_connections = 1 + bytes.Next() % 16;
  config.high_watermark = bytes.Next() % (config.max_connections + 1);
  config.low_watermark = bytes.Next() % (config.effective_high_watermark() + 1);
  config.max_connections_per_peer = 1 + bytes.Next() % 4;
  config.max_inbound_connections = bytes.Next() % (config.max_connections + 1);
  config.reject_outbound_over_max = bytes.Next() & 1;
  config.grace_period = MillisecondsOrInfinite(bytes.Next(), 0, 20);
  config.silence_period = connmgr::Duration::Milliseconds(int64_t{bytes.Next() % 4} * 500);
  config.max_incoming_pending_connections = 1 + bytes.Next() % 8;
  config.inbound_upgrade_timeout = MillisecondsOrInfinite(bytes.Next(), 1, 40);
  config.connection_close_timeout = MillisecondsOrInfinite(bytes.Next(), 1, 10);
  config.max_output_queue = 1 + bytes.Next() % 64;
  config.max_streams_per_connection = bytes.Next() % 5;
  config.stream_placement = bytes.Next() & 1 ? connmgr::StreamPlacement::kLeastLoaded
                                             : connmgr::StreamPlacement::kRoundRobin;
  config.peer_scope.streams = bytes.Next() % 4;
  config.peer_scope.memory_bytes = uint64_t{bytes.Next()} << 8;
  absl::StatusOr<std::unique_ptr<connmgr::Core>> core = connmgr::Core::Create(config);
  FUZZ_CHECK(core.ok(), core.status().ToString());

  connmgr::InputGenerator generator([&] { return bytes.Next(); }, config);
  connmgr::InvariantChecker checker(config);
  for (int i = 0; i < kMaxInputs && !bytes.empty(); ++i) {
    connmgr::TimedInput next = generator.Next();
    checker.Before(**core);
    absl::StatusOr<connmgr::ConnectionId> result = (*core)->Handle(next.at, next.input);
    generator.Observe(result, next.input);
    std::vector<connmgr::Output> outputs = connmgr::DrainAll(**core);
    absl::Status s = checker.Check(**core, next.at, next.input, result, outputs);
    FUZZ_CHECK(s.ok(), s.ToString());
  }
  return 0;
}
