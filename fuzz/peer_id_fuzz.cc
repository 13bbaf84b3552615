// Fuzzes peer id parsing (base58btc and CIDv1 text, binary multihash): no crash, and every
// accepted id round trips through both text forms and its bytes.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "core/peer_id.h"
#include "fuzz/fuzz_check.h"

namespace {

void CheckRoundTrips(const connmgr::PeerId& id) {
  absl::StatusOr<connmgr::PeerId> b58 = connmgr::PeerId::Parse(id.ToString());
  FUZZ_CHECK(b58.ok() && *b58 == id, id.ToString());
  absl::StatusOr<connmgr::PeerId> cid = connmgr::PeerId::Parse(id.ToCidString());
  FUZZ_CHECK(cid.ok() && *cid == id, id.ToCidString());
  absl::StatusOr<connmgr::PeerId> bytes = connmgr::PeerId::FromBytes(id.bytes());
  FUZZ_CHECK(bytes.ok() && *bytes == id, id.ToString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  if (absl::StatusOr<connmgr::PeerId> id = connmgr::PeerId::Parse(input); id.ok()) {
    FUZZ_CHECK(!id->is_empty(), "parsed an empty id");
    CheckRoundTrips(*id);
  }
  if (absl::StatusOr<connmgr::PeerId> id = connmgr::PeerId::FromBytes(input); id.ok()) {
    FUZZ_CHECK(id->bytes() == input, "bytes changed");
    CheckRoundTrips(*id);
  }
  return 0;
}
