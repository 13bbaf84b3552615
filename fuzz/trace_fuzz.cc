// Fuzzes the trace reader: single lines (header and entries) and whole traces replayed through
// the core. No crash; accepted input lines re-encode to lines that decode to the same input.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "trace/trace_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  (void)connmgr::DecodeTraceHeader(input);
  if (absl::StatusOr<connmgr::TraceEntry> e = connmgr::DecodeTraceEntry(input);
      e.ok() && e->input.has_value()) {
    const std::string line = connmgr::EncodeTraceInput(e->at, *e->input);
    absl::StatusOr<connmgr::TraceEntry> again = connmgr::DecodeTraceEntry(line);
    FUZZ_CHECK(again.ok() && again->input == e->input && again->at == e->at, line);
  }
  size_t lines = 0;
  connmgr::TraceReplayer replayer([&](absl::string_view) { ++lines; });
  std::istringstream stream(input);
  (void)replayer.FeedStream(stream);
  return 0;
}
