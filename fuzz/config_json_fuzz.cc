// Fuzzes the JSON config reader: no crash, and every accepted config is valid and round trips.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "trace/config_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<connmgr::Config> config = connmgr::ParseConfigJson(input);
  if (!config.ok()) return 0;
  FUZZ_CHECK(config->Validate().ok(), config->Validate().ToString());
  const std::string text = connmgr::ConfigToJson(*config).dump();
  absl::StatusOr<connmgr::Config> again = connmgr::ParseConfigJson(text);
  FUZZ_CHECK(again.ok(), again.status().ToString());
  FUZZ_CHECK(*again == *config, text);
  return 0;
}
