// Traces: a run of the core as JSON Lines, and replaying one (docs/trace-format.md).
//
// A trace is a header line holding the version and the whole config, then, in order, one line
// per input handed to the core, each followed by the outputs (or the error) it produced:
//
//   {"connmgr_trace":2,"config":{"max_connections":300,...}}
//   {"t":1000000000,"in":"inbound_connection","remote":"/ip4/1.2.3.4/tcp/5","local":"/ip4/..."}
//   {"t":1000000000,"out":"accept_connection","conn":1}
//
// Replaying reads the header and the inputs, ignores the recorded outputs, and writes the trace
// the core produces now: for a trace recorded by this build, byte for byte the same text.
#ifndef CONNMGR_TRACE_TRACE_FORMAT_H_
#define CONNMGR_TRACE_TRACE_FORMAT_H_

#include <functional>
#include <istream>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/config.h"
#include "core/core.h"
#include "core/input.h"
#include "core/output.h"

namespace connmgr {

// The version this build writes, and the oldest it still reads (docs/trace-format.md, "Versions").
inline constexpr int kTraceVersion = 3;
inline constexpr int kOldestTraceVersion = 1;
// Longer lines are refused: a trace from an untrusted source cannot exhaust memory.
inline constexpr size_t kMaxTraceLineBytes = 1 << 20;

std::string EncodeTraceHeader(const Config& config);
std::string EncodeTraceInput(Instant at, const Input& input);
std::string EncodeTraceOutput(Instant at, const Output& output);
std::string EncodeTraceError(Instant at, const absl::Status& status);

// Reads a header of any version this build reads; `version`, when given, receives its version.
absl::StatusOr<Config> DecodeTraceHeader(absl::string_view line, int* version = nullptr);

// A decoded line after the header: an input to replay, or a recorded output or error (which
// replay skips, since it derives them again).
struct TraceEntry {
  Instant at;
  std::optional<Input> input;  // nullopt for output and error lines
};
// Decodes a line of a trace of `version` (its header's).
absl::StatusOr<TraceEntry> DecodeTraceEntry(absl::string_view line, int version = kTraceVersion);

// Writes trace lines to a sink as a caller drives a core: the input, then whatever it produced.
class TraceWriter {
 public:
  using Sink = std::function<void(absl::string_view line)>;

  TraceWriter(const Config& config, Sink sink);

  // Hands `input` to `core`, writing the input line, then the error or every output drained
  // from the core. The outputs are also appended to `outputs` if it is not null.
  absl::StatusOr<ConnectionId> Handle(Core& core, Instant now, const Input& input,
                                      std::vector<Output>* outputs = nullptr);

 private:
  Sink sink_;
};

// Replays a trace line by line. Errors are "line N: problem".
class TraceReplayer {
 public:
  explicit TraceReplayer(TraceWriter::Sink sink) : sink_(std::move(sink)) {}

  absl::Status FeedLine(absl::string_view line);
  // Reads every line of `in` (each at most kMaxTraceLineBytes) and feeds it.
  absl::Status FeedStream(std::istream& in);

  // The core being driven: null until the header was read.
  const Core* core() const { return core_.get(); }
  int64_t lines() const { return line_number_; }

 private:
  absl::Status AtLine(const absl::Status& status) const;

  TraceWriter::Sink sink_;
  std::unique_ptr<Core> core_;
  std::optional<TraceWriter> writer_;
  int64_t line_number_ = 0;
  int version_ = kTraceVersion;  // the header's
};

}  // namespace connmgr

#endif  // CONNMGR_TRACE_TRACE_FORMAT_H_
