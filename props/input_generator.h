// Turns a stream of bytes into a sequence of core inputs with their instants.
//
// The fuzzers feed it fuzz data; the determinism test and benchmarks feed it a seeded PRNG.
// Every input kind the core has is reachable, ids are picked among those handed out so far
// (mostly live ones), and the clock moves in small steps, large jumps and occasional steps
// backwards.
//
//   InputGenerator gen([&] { return bytes.Next(); });
//   TimedInput next = gen.Next();
//   absl::StatusOr<ConnectionId> r = core.Handle(next.at, next.input);
//   gen.Observe(r, next.input);   // lets it pick real ids
#ifndef CONNMGR_PROPS_INPUT_GENERATOR_H_
#define CONNMGR_PROPS_INPUT_GENERATOR_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/config.h"
#include "core/input.h"
#include "core/random.h"
#include "core/time.h"

namespace connmgr {

struct TimedInput {
  Instant at;
  Input input;
};

class InputGenerator {
 public:
  // `config` is the core's: config changes are generated from the one in force.
  explicit InputGenerator(std::function<uint8_t()> next_byte, Config config = Config{})
      : next_byte_(std::move(next_byte)), config_(std::move(config)) {}

  TimedInput Next();
  // Reports what the core answered, so later inputs can name the connections it created.
  void Observe(const absl::StatusOr<ConnectionId>& result, const Input& input);

 private:
  struct FieldPicker;

  uint32_t Byte() { return next_byte_(); }
  uint32_t Short() { return (Byte() << 8) | Byte(); }
  ConnectionId PickConnection();
  // The config in force with one or two settings changed: mostly runtime-changeable ones,
  // sometimes one that is not, or a change that breaks a rule.
  Config ChangedConfig();

  std::function<uint8_t()> next_byte_;
  Config config_;
  Instant now_ = Instant::FromNanoseconds(0);
  uint64_t highest_id_ = 0;
  std::vector<ConnectionId> recent_;  // the last few created, most likely to be live
};

}  // namespace connmgr

#endif  // CONNMGR_PROPS_INPUT_GENERATOR_H_
