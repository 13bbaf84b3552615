// A libp2p Ed25519 identity: the key pair a node signs with, the PublicKey protobuf its peers
// see, and the PeerId derived from it.
//
//   Ed25519Identity me = Ed25519Identity::FromSeed(seed);        // or ::Generate()
//   std::string signature = me.Sign("message");
//   bool ok = VerifyEd25519(me.public_key(), "message", signature);
//   me.peer_id().ToString();                                      // "12D3KooW..."
//
//   absl::StatusOr<std::string> key = DecodeEd25519PublicKeyProtobuf(received_bytes);
//
// Only Ed25519 keys are supported; a PublicKey protobuf of any other type is refused with
// kUnimplemented, a malformed one with kInvalidArgument.
#ifndef CONNMGR_SHELL_NOISE_IDENTITY_H_
#define CONNMGR_SHELL_NOISE_IDENTITY_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/peer_id.h"

namespace connmgr::noise {

inline constexpr size_t kEd25519SeedBytes = 32;
inline constexpr size_t kEd25519PublicKeyBytes = 32;
inline constexpr size_t kEd25519SignatureBytes = 64;

// libp2p KeyType enum values (peer-ids spec).
enum class KeyType : uint64_t {
  kRsa = 0,
  kEd25519 = 1,
  kSecp256k1 = 2,
  kEcdsa = 3,
};

// Longest PublicKey protobuf the decoder looks at: an RSA-4096 key is about 550 bytes, and
// anything bigger is not a key libp2p uses.
inline constexpr size_t kMaxPublicKeyProtobufBytes = 1024;
// A PublicKey protobuf up to this long is embedded in the PeerId (identity multihash); longer
// ones are hashed with SHA-256.
inline constexpr size_t kMaxInlinePublicKeyBytes = 42;

class Ed25519Identity {
 public:
  using Seed = std::array<uint8_t, kEd25519SeedBytes>;

  // Deterministic: the same seed always gives the same key pair (RFC 8032 private key).
  static Ed25519Identity FromSeed(const Seed& seed);
  // A fresh key pair from the operating system's random source.
  static Ed25519Identity Generate();

  Ed25519Identity(const Ed25519Identity& other) = default;
  Ed25519Identity& operator=(const Ed25519Identity& other) = default;
  ~Ed25519Identity();

  // The 32 raw public key bytes.
  const std::string& public_key() const { return public_key_; }
  // The public key as a libp2p PublicKey protobuf.
  std::string PublicKeyProtobuf() const;
  PeerId peer_id() const;

  // A 64-byte detached signature.
  std::string Sign(absl::string_view message) const;

  // The 32-byte private seed (what a PrivateKey protobuf stores, followed by the public key).
  Seed seed() const;

 private:
  Ed25519Identity() = default;

  // libsodium's layout: the seed followed by the public key.
  std::array<uint8_t, 64> secret_key_{};
  std::string public_key_;
};

// True if `signature` is a valid Ed25519 signature of `message` by `public_key` (32 raw bytes).
// Wrong-sized keys or signatures are simply invalid.
bool VerifyEd25519(absl::string_view public_key, absl::string_view message,
                   absl::string_view signature);

// The canonical PublicKey protobuf: field 1 (Type) then field 2 (Data).
std::string EncodePublicKeyProtobuf(KeyType type, absl::string_view key_data);

// Returns the 32 raw key bytes of an Ed25519 PublicKey protobuf. Both fields are required;
// unknown fields are skipped; a repeated field takes its last value, as protobuf does.
absl::StatusOr<std::string> DecodeEd25519PublicKeyProtobuf(absl::string_view protobuf);

// The PeerId of a PublicKey protobuf (of any key type; the bytes are not decoded).
absl::StatusOr<PeerId> PeerIdFromPublicKeyProtobuf(absl::string_view protobuf);

}  // namespace connmgr::noise

#endif  // CONNMGR_SHELL_NOISE_IDENTITY_H_
