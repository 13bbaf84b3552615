// Invariants of the core, checked after every input by the model-based tests and the fuzzers.
//
//   InvariantChecker checker(config);
//   absl::StatusOr<ConnectionId> r = core.Handle(now, input);
//   std::vector<Output> outputs = DrainAll(core);
//   absl::Status broken = checker.Check(core, now, input, r, outputs);
//
// Each failure names the invariant and the values that broke it.
#ifndef CONNMGR_PROPS_INVARIANTS_H_
#define CONNMGR_PROPS_INVARIANTS_H_

#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/core.h"
#include "core/input.h"
#include "core/output.h"

namespace connmgr {

class InvariantChecker {
 public:
  explicit InvariantChecker(const Config& config)
      : config_(config),
        loosest_pending_limit_(config.max_incoming_pending_connections),
        loosest_stream_limit_(config.max_streams_per_connection),
        loosest_parallel_dials_(config.max_parallel_dials) {}

  // Call with the state of `core` before the input (for admission checks), then after.
  void Before(const Core& core);
  absl::Status Check(const Core& core, Instant now, const Input& input,
                     const absl::StatusOr<ConnectionId>& result,
                     const std::vector<Output>& outputs);

 private:
  absl::Status CheckOutputs(Instant now, const Input& input,
                            const absl::StatusOr<ConnectionId>& result,
                            const std::vector<Output>& outputs);
  // Dialing: every accepted DialRequest ends in exactly one dial_result, and while it waits its
  // deadline is armed; at most max_parallel_dials run; a failed (peer, address) is not
  // dialled again before the backoff its failures in a row earned ends, by the documented
  // formula (docs/design.md, "Dialing", 8): so backoff never shortens.
  absl::Status CheckDials(const Core& core, Instant now, const Input& input,
                          const absl::StatusOr<ConnectionId>& result,
                          const std::vector<Output>& outputs);
  // `trimmed_at_once`: the input lowered the limits, so no silence period holds a trim back.
  absl::Status CheckAggregates(const Core& core, bool trimmed_at_once) const;
  // May never be pruned: protected peer, allow-listed remote, grace period.
  static bool Exempt(const Core& core, const Connection& c);

  Config config_;  // in force: follows accepted UpdateConfig inputs
  // The highest limits ever in force (0: none): connections admitted under a looser limit stay.
  uint32_t loosest_pending_limit_;
  uint32_t loosest_stream_limit_;
  const Core* core_ = nullptr;
  uint64_t open_before_ = 0;
  Instant latest_now_ = Instant::FromNanoseconds(std::numeric_limits<int64_t>::min());
  uint64_t last_created_id_ = 0;
  absl::btree_set<ConnectionId> live_;      // accepted or opened, not yet closed
  absl::btree_set<ConnectionId> finished_;  // closed or rejected
  absl::btree_set<PeerId> connected_peers_;
  absl::btree_map<uint64_t, Instant> waiting_dials_;  // request -> its deadline
  uint32_t loosest_parallel_dials_;
  struct Failures {
    uint32_t in_a_row = 0;
    Instant last = Instant::Never();
    Duration backoff;  // after the last failure
    Duration max;      // dial_backoff_max then: the entry may expire after last + backoff + max
  };
  absl::btree_map<std::pair<PeerId, std::string>, Failures> failures_;  // (peer, address bytes)
};

// Takes every output the core has queued.
std::vector<Output> DrainAll(Core& core);

}  // namespace connmgr

#endif  // CONNMGR_PROPS_INVARIANTS_H_
