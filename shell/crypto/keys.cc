#include "shell/crypto/keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <secp256k1.h>
#include <sodium.h>

#include <array>
#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "shell/noise/protobuf.h"

namespace connmgr::crypto {

struct PublicKey::Parsed {
  Parsed() = default;
  Parsed(const Parsed&) = delete;
  Parsed& operator=(const Parsed&) = delete;
  ~Parsed() { EVP_PKEY_free(pkey); }

  EVP_PKEY* pkey = nullptr;    // RSA, ECDSA
  secp256k1_pubkey secp256k1;  // secp256k1
};

struct PrivateKey::Secret {
  Secret() = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() {
    EVP_PKEY_free(pkey);
    OPENSSL_cleanse(secp256k1.data(), secp256k1.size());
  }

  std::optional<noise::Ed25519Identity> ed25519;
  std::array<unsigned char, 32> secp256k1{};
  EVP_PKEY* pkey = nullptr;  // RSA, ECDSA
};

namespace {

constexpr uint32_t kTypeField = 1;
constexpr uint32_t kDataField = 2;
constexpr size_t kSecp256k1PublicKeyBytes = 33;
constexpr size_t kSecp256k1PrivateKeyBytes = 32;
constexpr size_t kSecp256k1MaxDerSignatureBytes = 72;
// Public exponents above 2^32 are refused: a huge exponent makes each verification cost as
// much as a private-key operation (go's crypto/rsa draws the line at 2^31 - 1).
constexpr int kMaxRsaExponentBits = 33;
constexpr char kP256GroupName[] = "prime256v1";

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

void InitSodiumOrDie() {
  if (sodium_init() < 0) std::abort();
}

// One context for the process, randomised once (blinding for signing). After creation it is
// only read, which libsecp256k1 allows from any thread.
const secp256k1_context* Secp256k1Context() {
  static const secp256k1_context* context = [] {
    InitSodiumOrDie();
    secp256k1_context* c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    std::array<unsigned char, 32> seed;
    randombytes_buf(seed.data(), seed.size());
    if (c == nullptr || !secp256k1_context_randomize(c, seed.data())) std::abort();
    return c;
  }();
  return context;
}

std::array<unsigned char, 32> Sha256(absl::string_view message) {
  std::array<unsigned char, 32> digest{};
  unsigned int length = 0;
  if (EVP_Digest(message.data(), message.size(), digest.data(), &length, EVP_sha256(), nullptr) !=
          1 ||
      length != digest.size()) {
    std::abort();  // SHA-256 of a buffer in memory cannot fail
  }
  return digest;
}

std::string DerPrivateKey(EVP_PKEY* key) {
  unsigned char* out = nullptr;
  const int n = i2d_PrivateKey(key, &out);
  if (n <= 0) return "";
  std::string der(reinterpret_cast<const char*>(out), n);
  OPENSSL_clear_free(out, n);
  return der;
}

absl::Status InvalidKey(absl::string_view what, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", why));
}

// The key's algorithm, size and curve must be what the libp2p type says, within the limits.
absl::Status CheckOpensslKey(KeyType type, EVP_PKEY* key, absl::string_view what, int* bits) {
  if (type == KeyType::kRsa) {
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) return InvalidKey(what, "not an RSA key");
    *bits = EVP_PKEY_get_bits(key);
    if (*bits < kMinRsaBits || *bits > kMaxRsaBits) {
      return InvalidKey(what, absl::StrFormat("RSA modulus of %d bits is outside %d..%d", *bits,
                                              kMinRsaBits, kMaxRsaBits));
    }
    BIGNUM* e = nullptr;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
      return InvalidKey(what, "RSA key has no public exponent");
    }
    const int e_bits = BN_num_bits(e);
    BN_free(e);
    if (e_bits > kMaxRsaExponentBits) {
      return InvalidKey(what, absl::StrFormat("RSA public exponent of %d bits exceeds %d", e_bits,
                                              kMaxRsaExponentBits));
    }
    return absl::OkStatus();
  }
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return InvalidKey(what, "not an ECDSA key");
  char group[64] = {};
  size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     &length) != 1 ||
      absl::string_view(group, length) != kP256GroupName) {
    return InvalidKey(what, "ECDSA key is not on the named curve P-256");
  }
  *bits = 256;
  return absl::OkStatus();
}

struct KeyProtobuf {
  KeyType type;
  absl::string_view data;
};

absl::StatusOr<KeyProtobuf> DecodeKeyProtobuf(absl::string_view protobuf, size_t max_bytes,
                                              absl::string_view message) {
  if (protobuf.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrFormat("%s is %d bytes, more than the %d allowed",
                                                      message, protobuf.size(), max_bytes));
  }
  std::optional<uint64_t> type;
  std::optional<absl::string_view> data;
  noise::ProtobufReader reader(protobuf, max_bytes);
  noise::ProtobufField field;
  while (reader.Next(&field)) {
    if (field.number == kTypeField) {
      if (field.wire_type != noise::WireType::kVarint) {
        return absl::InvalidArgumentError(absl::StrCat(message, " Type field is not a varint"));
      }
      type = field.varint;
    } else if (field.number == kDataField) {
      if (field.wire_type != noise::WireType::kLengthDelimited) {
        return absl::InvalidArgumentError(
            absl::StrCat(message, " Data field is not length-delimited"));
      }
      data = field.bytes;
    }
  }
  if (!reader.status().ok()) {
    return absl::InvalidArgumentError(absl::StrCat(message, ": ", reader.status().message()));
  }
  if (!type) return absl::InvalidArgumentError(absl::StrCat(message, " has no Type field"));
  if (!data) return absl::InvalidArgumentError(absl::StrCat(message, " has no Data field"));
  if (*type > static_cast<uint64_t>(KeyType::kEcdsa)) {
    return absl::UnimplementedError(
        absl::StrFormat("%s Type %d is not a libp2p key type (0..3)", message, *type));
  }
  return KeyProtobuf{static_cast<KeyType>(*type), *data};
}

bool OpensslVerify(EVP_PKEY* key, absl::string_view message, absl::string_view signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, Bytes(signature), signature.size(), Bytes(message),
                                   message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

absl::StatusOr<std::string> OpensslSign(EVP_PKEY* key, absl::string_view message) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return absl::ResourceExhaustedError("sign: out of memory");
  std::string signature;
  size_t length = 0;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &length, Bytes(message), message.size()) == 1;
  if (ok) {
    signature.resize(length);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length,
                        Bytes(message), message.size()) == 1;
    signature.resize(length);
  }
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  if (!ok) return absl::InternalError("sign: OpenSSL refused to sign");
  return signature;
}

// An ECDSA P-256 signature as the 64 bytes r || s (IEEE P1363, what WebCrypto and so
// js-libp2p's ECDSA keys produce) re-encoded as the DER the spec prescribes; "" if it is not.
std::string P1363ToDer(absl::string_view signature) {
  constexpr size_t kHalf = 32;
  if (signature.size() != 2 * kHalf) return "";
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(Bytes(signature), kHalf, nullptr);
  BIGNUM* s = BN_bin2bn(Bytes(signature) + kHalf, kHalf, nullptr);
  std::string der;
  if (sig != nullptr && r != nullptr && s != nullptr && ECDSA_SIG_set0(sig, r, s) == 1) {
    r = s = nullptr;  // owned by sig now
    unsigned char* out = nullptr;
    const int n = i2d_ECDSA_SIG(sig, &out);
    if (n > 0) der.assign(reinterpret_cast<const char*>(out), n);
    OPENSSL_free(out);
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(sig);
  return der;
}

}  // namespace

std::string KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kRsa:
      return "rsa";
    case KeyType::kEd25519:
      return "ed25519";
    case KeyType::kSecp256k1:
      return "secp256k1";
    case KeyType::kEcdsa:
      return "ecdsa";
  }
  return "unknown";
}

absl::StatusOr<KeyType> ParseKeyTypeName(absl::string_view name) {
  for (KeyType type : {KeyType::kRsa, KeyType::kEd25519, KeyType::kSecp256k1, KeyType::kEcdsa}) {
    if (name == KeyTypeName(type)) return type;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("key type \"", name, "\" is not one of ed25519, secp256k1, rsa, ecdsa"));
}

// --- PublicKey -------------------------------------------------------------------------------

absl::StatusOr<PublicKey> PublicKey::FromProtobuf(absl::string_view protobuf) {
  absl::StatusOr<KeyProtobuf> decoded =
      DecodeKeyProtobuf(protobuf, kMaxPublicKeyBytes, "PublicKey");
  if (!decoded.ok()) return decoded.status();
  return FromData(decoded->type, decoded->data);
}

absl::StatusOr<PublicKey> PublicKey::FromData(KeyType type, absl::string_view data) {
  const std::string what = absl::StrCat("PublicKey Data (", KeyTypeName(type), ")");
  if (data.size() > kMaxPublicKeyBytes) {
    return InvalidKey(what,
                      absl::StrFormat("%d bytes, more than %d", data.size(), kMaxPublicKeyBytes));
  }
  PublicKey key;
  key.type_ = type;
  key.data_ = std::string(data);
  auto parsed = std::make_shared<Parsed>();
  switch (type) {
    case KeyType::kEd25519:
      if (data.size() != noise::kEd25519PublicKeyBytes) {
        return InvalidKey(
            what, absl::StrFormat("%d bytes, not %d", data.size(), noise::kEd25519PublicKeyBytes));
      }
      key.bits_ = 256;
      break;
    case KeyType::kSecp256k1: {
      if (data.size() != kSecp256k1PublicKeyBytes) {
        return InvalidKey(what, absl::StrFormat("%d bytes, not the %d of a compressed point",
                                                data.size(), kSecp256k1PublicKeyBytes));
      }
      if (!secp256k1_ec_pubkey_parse(Secp256k1Context(), &parsed->secp256k1, Bytes(data),
                                     data.size())) {
        return InvalidKey(what, "not a point on secp256k1");
      }
      key.bits_ = 256;
      break;
    }
    case KeyType::kRsa:
    case KeyType::kEcdsa: {
      const unsigned char* p = Bytes(data);
      parsed->pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(data.size()));
      ERR_clear_error();
      if (parsed->pkey == nullptr) return InvalidKey(what, "not a DER SubjectPublicKeyInfo");
      if (p != Bytes(data) + data.size()) return InvalidKey(what, "bytes after the DER key");
      if (absl::Status s = CheckOpensslKey(type, parsed->pkey, what, &key.bits_); !s.ok()) {
        return s;
      }
      if (DerPublicKey(parsed->pkey) != data) {
        return InvalidKey(what, "not in canonical DER (its peer id would be ambiguous)");
      }
      break;
    }
  }
  key.parsed_ = std::move(parsed);
  return key;
}

std::string PublicKey::ToProtobuf() const { return noise::EncodePublicKeyProtobuf(type_, data_); }

PeerId PublicKey::ToPeerId() const {
  // Every accepted key's protobuf is at most kMaxPublicKeyBytes, which PeerId accepts.
  return *noise::PeerIdFromPublicKeyProtobuf(ToProtobuf());
}

bool PublicKey::Verify(absl::string_view message, absl::string_view signature) const {
  if (signature.size() > kMaxSignatureBytes || parsed_ == nullptr) return false;
  switch (type_) {
    case KeyType::kEd25519:
      return noise::VerifyEd25519(data_, message, signature);
    case KeyType::kSecp256k1: {
      if (signature.size() > kSecp256k1MaxDerSignatureBytes) return false;
      secp256k1_ecdsa_signature sig;
      if (!secp256k1_ecdsa_signature_parse_der(Secp256k1Context(), &sig, Bytes(signature),
                                               signature.size())) {
        return false;
      }
      // libsecp256k1 verifies only lower-S signatures; other libp2p implementations accept
      // either form of the same signature, so normalise first.
      secp256k1_ecdsa_signature_normalize(Secp256k1Context(), &sig, &sig);
      const std::array<unsigned char, 32> digest = Sha256(message);
      return secp256k1_ecdsa_verify(Secp256k1Context(), &sig, digest.data(), &parsed_->secp256k1) ==
             1;
    }
    case KeyType::kRsa:
      return OpensslVerify(parsed_->pkey, message, signature);
    case KeyType::kEcdsa: {
      if (OpensslVerify(parsed_->pkey, message, signature)) return true;
      // js-libp2p signs ECDSA in WebCrypto's r || s form instead of DER: accepted too.
      const std::string der = P1363ToDer(signature);
      return !der.empty() && OpensslVerify(parsed_->pkey, message, der);
    }
  }
  return false;
}

// --- PrivateKey ------------------------------------------------------------------------------

PrivateKey::PrivateKey(const noise::Ed25519Identity& identity)
    : public_key_(*PublicKey::FromData(KeyType::kEd25519, identity.public_key())) {
  auto secret = std::make_shared<Secret>();
  secret->ed25519.emplace(identity);
  secret_ = std::move(secret);
}

absl::StatusOr<PrivateKey> PrivateKey::Generate(KeyType type) {
  switch (type) {
    case KeyType::kEd25519:
      return PrivateKey(noise::Ed25519Identity::Generate());
    case KeyType::kSecp256k1: {
      InitSodiumOrDie();
      auto secret = std::make_shared<Secret>();
      // A random 32-byte string is a valid key with probability 1 - 2^-128; a few tries bound
      // the loop without ever failing in practice.
      for (int attempt = 0; attempt < 8; ++attempt) {
        randombytes_buf(secret->secp256k1.data(), secret->secp256k1.size());
        if (secp256k1_ec_seckey_verify(Secp256k1Context(), secret->secp256k1.data())) {
          std::string protobuf = noise::EncodePublicKeyProtobuf(
              KeyType::kSecp256k1,
              absl::string_view(reinterpret_cast<const char*>(secret->secp256k1.data()),
                                secret->secp256k1.size()));
          absl::StatusOr<PrivateKey> key = FromProtobuf(protobuf);
          sodium_memzero(protobuf.data(), protobuf.size());
          return key;
        }
      }
      return absl::InternalError("secp256k1: no valid key from the random source");
    }
    case KeyType::kRsa:
    case KeyType::kEcdsa: {
      EVP_PKEY* pkey = type == KeyType::kRsa ? EVP_RSA_gen(kMinRsaBits) : EVP_EC_gen("P-256");
      ERR_clear_error();
      if (pkey == nullptr) return absl::InternalError("OpenSSL could not generate a key");
      std::string der = DerPrivateKey(pkey);
      EVP_PKEY_free(pkey);
      std::string protobuf = noise::EncodePublicKeyProtobuf(type, der);
      absl::StatusOr<PrivateKey> key = FromProtobuf(protobuf);
      OPENSSL_cleanse(der.data(), der.size());
      OPENSSL_cleanse(protobuf.data(), protobuf.size());
      return key;
    }
  }
  return absl::InvalidArgumentError("key type: unknown");
}

absl::StatusOr<PrivateKey> PrivateKey::FromProtobuf(absl::string_view protobuf) {
  absl::StatusOr<KeyProtobuf> decoded =
      DecodeKeyProtobuf(protobuf, kMaxPrivateKeyBytes, "PrivateKey");
  if (!decoded.ok()) return decoded.status();
  const KeyType type = decoded->type;
  const absl::string_view data = decoded->data;
  const std::string what = absl::StrCat("PrivateKey Data (", KeyTypeName(type), ")");
  auto secret = std::make_shared<Secret>();
  switch (type) {
    case KeyType::kEd25519: {
      constexpr size_t kSeed = noise::kEd25519SeedBytes;
      constexpr size_t kPublic = noise::kEd25519PublicKeyBytes;
      if (data.size() != kSeed + kPublic && data.size() != kSeed + 2 * kPublic) {
        return InvalidKey(what, absl::StrFormat("%d bytes, not %d (or the legacy %d)", data.size(),
                                                kSeed + kPublic, kSeed + 2 * kPublic));
      }
      const absl::string_view public_key = data.substr(kSeed, kPublic);
      if (data.size() == kSeed + 2 * kPublic && data.substr(kSeed + kPublic) != public_key) {
        return InvalidKey(what, "the legacy form's two public keys differ");
      }
      noise::Ed25519Identity::Seed seed;
      std::copy_n(Bytes(data), kSeed, seed.begin());
      noise::Ed25519Identity identity = noise::Ed25519Identity::FromSeed(seed);
      sodium_memzero(seed.data(), seed.size());
      if (identity.public_key() != public_key) {
        return InvalidKey(what, "the public key does not belong to the private key");
      }
      return PrivateKey(identity);
    }
    case KeyType::kSecp256k1: {
      if (data.size() != kSecp256k1PrivateKeyBytes) {
        return InvalidKey(
            what, absl::StrFormat("%d bytes, not %d", data.size(), kSecp256k1PrivateKeyBytes));
      }
      std::copy_n(Bytes(data), data.size(), secret->secp256k1.begin());
      secp256k1_pubkey point;
      if (!secp256k1_ec_seckey_verify(Secp256k1Context(), secret->secp256k1.data()) ||
          !secp256k1_ec_pubkey_create(Secp256k1Context(), &point, secret->secp256k1.data())) {
        return InvalidKey(what, "not a valid secp256k1 private key");
      }
      std::array<unsigned char, kSecp256k1PublicKeyBytes> compressed;
      size_t length = compressed.size();
      secp256k1_ec_pubkey_serialize(Secp256k1Context(), compressed.data(), &length, &point,
                                    SECP256K1_EC_COMPRESSED);
      absl::StatusOr<PublicKey> public_key = PublicKey::FromData(
          type, absl::string_view(reinterpret_cast<const char*>(compressed.data()), length));
      if (!public_key.ok()) return public_key.status();
      return PrivateKey(*std::move(public_key), std::move(secret));
    }
    case KeyType::kRsa:
    case KeyType::kEcdsa: {
      const unsigned char* p = Bytes(data);
      secret->pkey = d2i_PrivateKey(type == KeyType::kRsa ? EVP_PKEY_RSA : EVP_PKEY_EC, nullptr, &p,
                                    static_cast<long>(data.size()));
      ERR_clear_error();
      if (secret->pkey == nullptr) {
        return InvalidKey(what, type == KeyType::kRsa ? "not a DER PKCS#1 RSAPrivateKey"
                                                      : "not a DER SEC1 ECPrivateKey");
      }
      if (p != Bytes(data) + data.size()) return InvalidKey(what, "bytes after the DER key");
      int bits = 0;
      if (absl::Status s = CheckOpensslKey(type, secret->pkey, what, &bits); !s.ok()) return s;
      absl::StatusOr<PublicKey> public_key = PublicKey::FromData(type, DerPublicKey(secret->pkey));
      if (!public_key.ok()) return public_key.status();
      return PrivateKey(*std::move(public_key), std::move(secret));
    }
  }
  return absl::InvalidArgumentError("PrivateKey Type: unknown");
}

std::string PrivateKey::ToProtobuf() const {
  std::string data;
  switch (type()) {
    case KeyType::kEd25519: {
      const noise::Ed25519Identity::Seed seed = secret_->ed25519->seed();
      data.assign(reinterpret_cast<const char*>(seed.data()), seed.size());
      data += secret_->ed25519->public_key();
      break;
    }
    case KeyType::kSecp256k1:
      data.assign(reinterpret_cast<const char*>(secret_->secp256k1.data()),
                  secret_->secp256k1.size());
      break;
    case KeyType::kRsa:
    case KeyType::kEcdsa:
      data = DerPrivateKey(secret_->pkey);
      break;
  }
  std::string protobuf = noise::EncodePublicKeyProtobuf(type(), data);
  OPENSSL_cleanse(data.data(), data.size());
  return protobuf;
}

absl::StatusOr<std::string> PrivateKey::Sign(absl::string_view message) const {
  switch (type()) {
    case KeyType::kEd25519:
      return secret_->ed25519->Sign(message);
    case KeyType::kSecp256k1: {
      const std::array<unsigned char, 32> digest = Sha256(message);
      secp256k1_ecdsa_signature sig;
      if (!secp256k1_ecdsa_sign(Secp256k1Context(), &sig, digest.data(), secret_->secp256k1.data(),
                                nullptr, nullptr)) {
        return absl::InternalError("sign: libsecp256k1 refused to sign");
      }
      std::array<unsigned char, kSecp256k1MaxDerSignatureBytes> der;
      size_t length = der.size();
      secp256k1_ecdsa_signature_serialize_der(Secp256k1Context(), der.data(), &length, &sig);
      return std::string(reinterpret_cast<const char*>(der.data()), length);
    }
    case KeyType::kRsa:
    case KeyType::kEcdsa:
      return OpensslSign(secret_->pkey, message);
  }
  return absl::InternalError("sign: unknown key type");
}

std::string DerPublicKey(EVP_PKEY* key) {
  unsigned char* out = nullptr;
  const int n = i2d_PUBKEY(key, &out);
  if (n <= 0) return "";
  std::string der(reinterpret_cast<const char*>(out), n);
  OPENSSL_free(out);
  return der;
}

}  // namespace connmgr::crypto
