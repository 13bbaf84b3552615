// libp2p keys of every type the peer-id spec names — Ed25519, secp256k1, RSA and ECDSA P-256 —
// with their PublicKey/PrivateKey protobuf encodings, peer ids and signatures. The primitives
// are Debian's: libsodium (Ed25519), libsecp256k1 (secp256k1), OpenSSL 3 libcrypto (RSA,
// ECDSA, SHA-256).
//
//   PrivateKey me = PrivateKey::Generate(KeyType::kSecp256k1).value();
//   std::string signature = me.Sign("message").value();
//   me.peer_id().ToString();                                   // "16Uiu2..."
//
//   absl::StatusOr<PublicKey> key = PublicKey::FromProtobuf(received_bytes);
//   if (key.ok() && key->Verify("message", signature)) ...
//
// Every decoder of peer-supplied bytes is bounded: protobufs longer than the limits below are
// refused before they are parsed, RSA keys must have 2048..8192-bit moduli, ECDSA keys must be
// on P-256, and a key must be in the spec's canonical encoding (the bytes its peer id is
// computed from), so one key has one peer id. Errors are kInvalidArgument naming the field and
// rule; kUnimplemented only for an unknown key type number.
#ifndef CONNMGR_SHELL_CRYPTO_KEYS_H_
#define CONNMGR_SHELL_CRYPTO_KEYS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/peer_id.h"
#include "shell/noise/identity.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace connmgr::crypto {

using KeyType = noise::KeyType;

// "rsa", "ed25519", "secp256k1", "ecdsa" (the names js-libp2p and go-libp2p use).
std::string KeyTypeName(KeyType type);
absl::StatusOr<KeyType> ParseKeyTypeName(absl::string_view name);

// RSA moduli outside this range are refused: below is weak, above makes every verification
// (and, for our own key, every handshake) needlessly slow — work a peer could make us do.
inline constexpr int kMinRsaBits = 2048;
inline constexpr int kMaxRsaBits = 8192;
// The longest PublicKey protobuf accepted: an RSA-8192 SubjectPublicKeyInfo is 1 062 bytes.
inline constexpr size_t kMaxPublicKeyBytes = 1100;
// The longest PrivateKey protobuf accepted: an RSA-8192 PKCS#1 key is about 4 700 bytes.
inline constexpr size_t kMaxPrivateKeyBytes = 5000;
// The longest signature looked at: an RSA-8192 signature is 1 024 bytes.
inline constexpr size_t kMaxSignatureBytes = 1024;

class PublicKey {
 public:
  // Decodes a PublicKey protobuf (Type = 1, Data = 2; unknown fields skipped).
  static absl::StatusOr<PublicKey> FromProtobuf(absl::string_view protobuf);
  // Decodes the Data field of a key of `type`.
  static absl::StatusOr<PublicKey> FromData(KeyType type, absl::string_view data);

  KeyType type() const { return type_; }
  // The Data field: 32 raw bytes (Ed25519), 33 compressed bytes (secp256k1), DER
  // SubjectPublicKeyInfo (RSA, ECDSA).
  const std::string& data() const { return data_; }
  // The canonical PublicKey protobuf.
  std::string ToProtobuf() const;
  // Identity multihash of the protobuf when it is at most 42 bytes, else its SHA-256.
  PeerId ToPeerId() const;
  // RSA: modulus bits; ECDSA: 256; Ed25519, secp256k1: 256.
  int bits() const { return bits_; }

  // True if `signature` is this key's signature of `message` (RSA: PKCS#1 v1.5 over SHA-256;
  // secp256k1 and ECDSA: DER over SHA-256; Ed25519: RFC 8032). Malformed is simply false.
  bool Verify(absl::string_view message, absl::string_view signature) const;

  friend bool operator==(const PublicKey& a, const PublicKey& b) {
    return a.type_ == b.type_ && a.data_ == b.data_;
  }

  struct Parsed;  // the library's form of the key (opaque here)

 private:
  PublicKey() = default;

  KeyType type_ = KeyType::kEd25519;
  std::string data_;
  int bits_ = 0;
  std::shared_ptr<const Parsed> parsed_;
};

class PrivateKey {
 public:
  // A fresh key from the operating system's random source: RSA keys are 2048 bits, ECDSA keys
  // are on P-256.
  static absl::StatusOr<PrivateKey> Generate(KeyType type);
  // Decodes a PrivateKey protobuf (Data: Ed25519 seed + public key, 64 bytes or the legacy 96;
  // secp256k1: 32 bytes; RSA: DER PKCS#1 RSAPrivateKey; ECDSA: DER SEC1 ECPrivateKey).
  static absl::StatusOr<PrivateKey> FromProtobuf(absl::string_view protobuf);
  // An Ed25519 identity as a key (implicit: an Ed25519Identity is accepted wherever a key is).
  PrivateKey(const noise::Ed25519Identity& identity);  // NOLINT(google-explicit-constructor)

  KeyType type() const { return public_key_.type(); }
  // The canonical PrivateKey protobuf (what --identity files hold).
  std::string ToProtobuf() const;
  const PublicKey& public_key() const { return public_key_; }
  std::string PublicKeyProtobuf() const { return public_key_.ToProtobuf(); }
  PeerId peer_id() const { return public_key_.ToPeerId(); }

  // This key's signature of `message`, as PublicKey::Verify checks it.
  absl::StatusOr<std::string> Sign(absl::string_view message) const;

  struct Secret;  // the library's form of the key (opaque here)

 private:
  PrivateKey(PublicKey public_key, std::shared_ptr<const Secret> secret)
      : public_key_(std::move(public_key)), secret_(std::move(secret)) {}

  PublicKey public_key_;
  std::shared_ptr<const Secret> secret_;
};

// The SubjectPublicKeyInfo DER of an OpenSSL key (EVP_PKEY), "" if it cannot be encoded: what
// libp2p signs for RSA and ECDSA keys and for the TLS certificate's key.
std::string DerPublicKey(evp_pkey_st* key);

}  // namespace connmgr::crypto

#endif  // CONNMGR_SHELL_CRYPTO_KEYS_H_
