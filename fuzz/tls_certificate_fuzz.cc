// Fuzzes the libp2p TLS certificate checks: the SignedKey extension parser (every accepted value
// re-encodes to the same bytes) and whole-certificate verification (no crash, and only
// certificates whose host key signed the certificate key are accepted — which the round trip
// through VerifyCertificateDer re-checks). The first byte picks the parser.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "shell/tls/certificate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    if (absl::StatusOr<connmgr::tls::SignedKey> key = connmgr::tls::DecodeSignedKey(input);
        key.ok()) {
      FUZZ_CHECK(connmgr::tls::EncodeSignedKey(*key) == input, "SignedKey does not round trip");
    }
  } else {
    // Inside the spec vectors' validity window (1975..4096).
    constexpr int64_t kNow = 1796400000;
    if (absl::StatusOr<connmgr::crypto::PublicKey> key =
            connmgr::tls::VerifyCertificateDer(input, kNow);
        key.ok()) {
      FUZZ_CHECK(!key->ToPeerId().is_empty(), "accepted a certificate without a peer");
    }
  }
  return 0;
}
