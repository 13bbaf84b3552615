#include "shell/noise/identity.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "core/encoding.h"
#include "shell/noise/protobuf.h"

namespace connmgr::noise {
namespace {

constexpr uint32_t kKeyTypeField = 1;
constexpr uint32_t kKeyDataField = 2;
constexpr uint8_t kIdentityMultihashCode = 0x00;
constexpr uint8_t kSha256MultihashCode = 0x12;

static_assert(crypto_sign_SEEDBYTES == kEd25519SeedBytes);
static_assert(crypto_sign_PUBLICKEYBYTES == kEd25519PublicKeyBytes);
static_assert(crypto_sign_BYTES == kEd25519SignatureBytes);
static_assert(crypto_sign_SECRETKEYBYTES == 64);

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void InitSodiumOrDie() {
  // sodium_init is idempotent and thread-safe; it fails only when no random source exists.
  if (sodium_init() < 0) std::abort();
}

}  // namespace

Ed25519Identity Ed25519Identity::FromSeed(const Seed& seed) {
  InitSodiumOrDie();
  Ed25519Identity identity;
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_seed_keypair(public_key, identity.secret_key_.data(), seed.data());
  identity.public_key_.assign(reinterpret_cast<const char*>(public_key), sizeof(public_key));
  return identity;
}

Ed25519Identity Ed25519Identity::Generate() {
  InitSodiumOrDie();
  Seed seed;
  randombytes_buf(seed.data(), seed.size());
  Ed25519Identity identity = FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  return identity;
}

Ed25519Identity::~Ed25519Identity() { sodium_memzero(secret_key_.data(), secret_key_.size()); }

std::string Ed25519Identity::PublicKeyProtobuf() const {
  return EncodePublicKeyProtobuf(KeyType::kEd25519, public_key_);
}

PeerId Ed25519Identity::peer_id() const {
  // An Ed25519 PublicKey protobuf is always 36 bytes, which PeerId always accepts.
  return *PeerIdFromPublicKeyProtobuf(PublicKeyProtobuf());
}

std::string Ed25519Identity::Sign(absl::string_view message) const {
  std::string signature(kEd25519SignatureBytes, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr, Bytes(message),
                       message.size(), secret_key_.data());
  return signature;
}

Ed25519Identity::Seed Ed25519Identity::seed() const {
  Seed seed;
  std::copy_n(secret_key_.begin(), seed.size(), seed.begin());
  return seed;
}

bool VerifyEd25519(absl::string_view public_key, absl::string_view message,
                   absl::string_view signature) {
  if (public_key.size() != kEd25519PublicKeyBytes) return false;
  if (signature.size() != kEd25519SignatureBytes) return false;
  InitSodiumOrDie();
  return crypto_sign_verify_detached(Bytes(signature), Bytes(message), message.size(),
                                     Bytes(public_key)) == 0;
}

std::string EncodePublicKeyProtobuf(KeyType type, absl::string_view key_data) {
  std::string out;
  AppendVarintField(kKeyTypeField, static_cast<uint64_t>(type), &out);
  AppendBytesField(kKeyDataField, key_data, &out);
  return out;
}

absl::StatusOr<std::string> DecodeEd25519PublicKeyProtobuf(absl::string_view protobuf) {
  std::optional<uint64_t> type;
  std::optional<absl::string_view> data;
  ProtobufReader reader(protobuf, kMaxPublicKeyProtobufBytes);
  ProtobufField field;
  while (reader.Next(&field)) {
    if (field.number == kKeyTypeField) {
      if (field.wire_type != WireType::kVarint) {
        return absl::InvalidArgumentError("PublicKey Type field is not a varint");
      }
      type = field.varint;
    } else if (field.number == kKeyDataField) {
      if (field.wire_type != WireType::kLengthDelimited) {
        return absl::InvalidArgumentError("PublicKey Data field is not length-delimited");
      }
      data = field.bytes;
    }
  }
  if (!reader.status().ok()) return reader.status();
  if (!type) return absl::InvalidArgumentError("PublicKey has no Type field");
  if (!data) return absl::InvalidArgumentError("PublicKey has no Data field");
  if (*type != static_cast<uint64_t>(KeyType::kEd25519)) {
    return absl::UnimplementedError(
        absl::StrFormat("PublicKey type %d is not supported (only Ed25519, type 1)", *type));
  }
  if (data->size() != kEd25519PublicKeyBytes) {
    return absl::InvalidArgumentError(absl::StrFormat("Ed25519 public key is %d bytes, not %d",
                                                      data->size(), kEd25519PublicKeyBytes));
  }
  return std::string(*data);
}

absl::StatusOr<PeerId> PeerIdFromPublicKeyProtobuf(absl::string_view protobuf) {
  if (protobuf.empty()) return absl::InvalidArgumentError("PublicKey protobuf is empty");
  std::string multihash;
  if (protobuf.size() <= kMaxInlinePublicKeyBytes) {
    multihash.push_back(static_cast<char>(kIdentityMultihashCode));
    AppendUvarint(protobuf.size(), &multihash);
    multihash.append(protobuf.data(), protobuf.size());
  } else {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, Bytes(protobuf), protobuf.size());
    multihash.push_back(static_cast<char>(kSha256MultihashCode));
    multihash.push_back(static_cast<char>(crypto_hash_sha256_BYTES));
    multihash.append(reinterpret_cast<const char*>(digest), sizeof(digest));
  }
  return PeerId::FromBytes(multihash);
}

}  // namespace connmgr::noise
