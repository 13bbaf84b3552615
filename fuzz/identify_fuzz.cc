// Fuzzes identify's message and the protobuf reader under it. Nothing may crash; lists stay
// bounded.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_check.h"
#include "shell/libp2p.h"
#include "shell/noise/protobuf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<connmgr::shell::IdentifyInfo> info = connmgr::shell::DecodeIdentify(input);
  if (info.ok()) {
    FUZZ_CHECK(info->protocols.size() <= 128, "unbounded protocol list");
    FUZZ_CHECK(info->listen_addresses.size() <= 128, "unbounded address list");
    // What decodes re-encodes and decodes to the same lists.
    absl::StatusOr<connmgr::shell::IdentifyInfo> again =
        connmgr::shell::DecodeIdentify(connmgr::shell::EncodeIdentify(*info));
    FUZZ_CHECK(again.ok() && again->protocols == info->protocols &&
                   again->listen_addresses == info->listen_addresses,
               "identify does not round-trip");
  }
  connmgr::noise::ProtobufReader reader(input);
  connmgr::noise::ProtobufField field;
  int fields = 0;
  while (reader.Next(&field))
    FUZZ_CHECK(++fields <= static_cast<int>(size), "more fields than bytes");
  return 0;
}
