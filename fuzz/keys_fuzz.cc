// Fuzzes the libp2p key decoders (PublicKey and PrivateKey protobufs of every type, and the
// signature parsers behind Verify): no crash, and every accepted key re-encodes to bytes that
// decode to the same key and peer id. The first byte picks what the rest is fed to.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "shell/crypto/keys.h"

namespace {

using connmgr::crypto::KeyType;
using connmgr::crypto::PrivateKey;
using connmgr::crypto::PublicKey;

// One fixed key per type, whose Verify the fuzzer feeds signatures to.
const std::vector<PrivateKey>& Signers() {
  static const auto* signers = [] {
    auto* keys = new std::vector<PrivateKey>;
    for (KeyType type : {KeyType::kEd25519, KeyType::kSecp256k1, KeyType::kRsa, KeyType::kEcdsa}) {
      keys->push_back(*PrivateKey::Generate(type));
    }
    return keys;
  }();
  return *signers;
}

void CheckPublicKey(const PublicKey& key) {
  absl::StatusOr<PublicKey> again = PublicKey::FromProtobuf(key.ToProtobuf());
  FUZZ_CHECK(again.ok() && *again == key, "public key does not round trip");
  FUZZ_CHECK(again->ToPeerId() == key.ToPeerId(), "peer id changed");
  FUZZ_CHECK(!key.Verify("message", ""), "empty signature verified");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (selector % 3) {
    case 0:
      if (absl::StatusOr<PublicKey> key = PublicKey::FromProtobuf(input); key.ok()) {
        FUZZ_CHECK(key->ToProtobuf().size() <= connmgr::crypto::kMaxPublicKeyBytes, "too long");
        CheckPublicKey(*key);
      }
      break;
    case 1:
      if (absl::StatusOr<PrivateKey> key = PrivateKey::FromProtobuf(input); key.ok()) {
        absl::StatusOr<PrivateKey> again = PrivateKey::FromProtobuf(key->ToProtobuf());
        FUZZ_CHECK(again.ok() && again->peer_id() == key->peer_id(), "private key round trip");
        CheckPublicKey(key->public_key());
      }
      break;
    case 2: {
      const PrivateKey& signer = Signers()[(selector / 3) % Signers().size()];
      // A forged signature must never verify (the message is fixed, the signature is fuzzed).
      FUZZ_CHECK(!signer.public_key().Verify("fuzzed message", input), "forged signature");
      break;
    }
  }
  return 0;
}
