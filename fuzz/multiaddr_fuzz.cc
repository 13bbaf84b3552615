// Fuzzes the multiaddr parsers (text and binary): no crash, and every accepted value round
// trips exactly through both forms.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "core/multiaddr.h"
#include "fuzz/fuzz_check.h"

namespace {

void CheckRoundTrips(const connmgr::Multiaddr& m) {
  absl::StatusOr<connmgr::Multiaddr> from_text = connmgr::Multiaddr::Parse(m.ToString());
  FUZZ_CHECK(from_text.ok(), from_text.status().ToString());
  FUZZ_CHECK(*from_text == m, m.ToString());
  FUZZ_CHECK(from_text->ToString() == m.ToString(), m.ToString());
  absl::StatusOr<connmgr::Multiaddr> from_bytes = connmgr::Multiaddr::FromBytes(m.ToBytes());
  FUZZ_CHECK(from_bytes.ok(), from_bytes.status().ToString());
  FUZZ_CHECK(*from_bytes == m, m.ToString());
  // The accessors must not crash on anything the parser accepts.
  (void)m.ip();
  (void)m.port();
  (void)m.transport();
  (void)m.is_relayed();
  (void)m.peer_id();
  (void)m.dns();
  (void)m.WithoutPeerId();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  if (absl::StatusOr<connmgr::Multiaddr> m = connmgr::Multiaddr::Parse(input); m.ok()) {
    CheckRoundTrips(*m);
  }
  if (absl::StatusOr<connmgr::Multiaddr> m = connmgr::Multiaddr::FromBytes(input); m.ok()) {
    FUZZ_CHECK(m->ToBytes() == input, "binary form is not canonical");
    CheckRoundTrips(*m);
  }
  return 0;
}
