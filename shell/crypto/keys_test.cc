#include "shell/crypto/keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <secp256k1.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shell/noise/identity.h"

namespace connmgr::crypto {
namespace {

using ::testing::HasSubstr;

std::string Unhex(absl::string_view hex) { return absl::HexStringToBytes(hex); }

// Lines of whitespace-separated fields, '#' lines skipped.
std::vector<std::vector<std::string>> ReadTable(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    rows.push_back(absl::StrSplit(line, ' ', absl::SkipEmpty()));
  }
  return rows;
}

// The spec vectors' peer ids, computed independently (SHA-256 or identity multihash of the
// public key protobuf, base58btc) with Python's hashlib.
const std::map<std::string, std::string> kSpecPeerIds = {
    {"ed25519", "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"},
    {"secp256k1", "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY"},
    {"ecdsa", "QmVMT29id3TUASyfZZ6k9hmNyc2nYabCo4uMSpDw4zrgDk"},
    {"rsa", "QmaeANgBs1DTSxWSrPPtobgQuxW8XTfsS4ydbK4rCHzqxG"},
};

TEST(KeysTest, SpecVectorsDecodeReencodeAndGiveTheirPublicKeys) {
  const auto rows = ReadTable("shell/crypto/testdata/spec_vectors.txt");
  ASSERT_EQ(rows.size(), 4u) << "testdata missing";
  for (const auto& row : rows) {
    SCOPED_TRACE(row[0]);
    ASSERT_EQ(row.size(), 3u);
    const std::string private_protobuf = Unhex(row[1]);
    const std::string public_protobuf = Unhex(row[2]);
    absl::StatusOr<PrivateKey> key = PrivateKey::FromProtobuf(private_protobuf);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(KeyTypeName(key->type()), row[0]);
    EXPECT_EQ(key->ToProtobuf(), private_protobuf);
    EXPECT_EQ(key->PublicKeyProtobuf(), public_protobuf);
    absl::StatusOr<PublicKey> public_key = PublicKey::FromProtobuf(public_protobuf);
    ASSERT_TRUE(public_key.ok()) << public_key.status();
    EXPECT_EQ(*public_key, key->public_key());
    EXPECT_EQ(public_key->ToPeerId().ToString(), kSpecPeerIds.at(row[0]));
    EXPECT_EQ(key->peer_id(), public_key->ToPeerId());

    absl::StatusOr<std::string> signature = key->Sign("libp2p spec vector");
    ASSERT_TRUE(signature.ok()) << signature.status();
    EXPECT_TRUE(public_key->Verify("libp2p spec vector", *signature));
    EXPECT_FALSE(public_key->Verify("libp2p spec vectoR", *signature));
  }
}

TEST(KeysTest, SpecRsaVectorIs4096Bits) {
  const auto rows = ReadTable("shell/crypto/testdata/spec_vectors.txt");
  ASSERT_EQ(rows.size(), 4u);
  absl::StatusOr<PublicKey> rsa = PublicKey::FromProtobuf(Unhex(rows[3][2]));
  ASSERT_TRUE(rsa.ok()) << rsa.status();
  EXPECT_EQ(rsa->type(), KeyType::kRsa);
  EXPECT_EQ(rsa->bits(), 4096);
}

// Keys, peer ids and signatures made by js-libp2p's @libp2p/crypto 5.1.23
// (interop/js/gen_keys.mjs). Its ECDSA signatures are WebCrypto's 64-byte r || s, accepted
// beside the spec's DER.
TEST(KeysTest, JsGeneratedKeysDecodeAndTheirSignaturesVerify) {
  const auto rows = ReadTable("shell/crypto/testdata/js_keys.txt");
  ASSERT_EQ(rows.size(), 4u) << "testdata missing";
  std::map<std::string, std::string> expected_peer_ids = {
      // js makes no ECDSA peer id (see gen_keys.mjs); this one is the SHA-256 multihash of the
      // SubjectPublicKeyInfo protobuf, computed with `openssl ec -pubout` and Python's hashlib.
      {"ecdsa", "QmWw9Tj2cugwi8NFSiALbxQiuUCw1ra9pYoESU9pNB3mH3"}};
  for (const auto& row : rows) {
    SCOPED_TRACE(row[0]);
    ASSERT_EQ(row.size(), 6u);
    const std::string message = Unhex(row[4]);
    const std::string signature = Unhex(row[5]);
    absl::StatusOr<PrivateKey> key = PrivateKey::FromProtobuf(Unhex(row[1]));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(KeyTypeName(key->type()), row[0]);
    EXPECT_EQ(key->ToProtobuf(), Unhex(row[1]));
    absl::StatusOr<PublicKey> public_key = key->public_key();
    if (row[0] == "ecdsa") {
      // js-libp2p writes ECDSA public keys as SEQUENCE {1, [0] curve, [1] point} rather than the
      // spec's (and go-libp2p's) SubjectPublicKeyInfo: refused, with the rule named.
      EXPECT_THAT(PublicKey::FromProtobuf(Unhex(row[2])).status().message(),
                  HasSubstr("not a DER SubjectPublicKeyInfo"));
    } else {
      EXPECT_EQ(key->PublicKeyProtobuf(), Unhex(row[2]));
      public_key = PublicKey::FromProtobuf(Unhex(row[2]));
      ASSERT_TRUE(public_key.ok()) << public_key.status();
    }
    const std::string peer_id = row[3] == "-" ? expected_peer_ids.at(row[0]) : row[3];
    EXPECT_EQ(public_key->ToPeerId().ToString(), peer_id);
    EXPECT_TRUE(public_key->Verify(message, signature));
    std::string tampered = message;
    tampered[0] ^= 1;
    EXPECT_FALSE(public_key->Verify(tampered, signature));
    std::string bad_signature = signature;
    bad_signature[bad_signature.size() / 2] ^= 1;
    EXPECT_FALSE(public_key->Verify(message, bad_signature));
  }
}

TEST(KeysTest, GeneratedKeysOfEveryTypeSignVerifyAndRoundTrip) {
  for (KeyType type : {KeyType::kEd25519, KeyType::kSecp256k1, KeyType::kRsa, KeyType::kEcdsa}) {
    SCOPED_TRACE(KeyTypeName(type));
    absl::StatusOr<PrivateKey> key = PrivateKey::Generate(type);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(key->type(), type);
    absl::StatusOr<PrivateKey> again = PrivateKey::FromProtobuf(key->ToProtobuf());
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->peer_id(), key->peer_id());
    absl::StatusOr<std::string> signature = again->Sign("hello");
    ASSERT_TRUE(signature.ok());
    EXPECT_TRUE(key->public_key().Verify("hello", *signature));
    EXPECT_FALSE(key->public_key().Verify("hello!", *signature));
    EXPECT_FALSE(key->public_key().Verify("hello", ""));
    EXPECT_FALSE(key->public_key().Verify("hello", std::string(kMaxSignatureBytes + 1, 'x')));
  }
}

// The same secp256k1 signature with s replaced by n - s (the "high-S" form BIP 62 forbids but
// other libp2p implementations accept) still verifies; libsecp256k1 alone would refuse it.
TEST(KeysTest, Secp256k1HighSSignatureVerifies) {
  const PrivateKey key = PrivateKey::Generate(KeyType::kSecp256k1).value();
  const std::string der = key.Sign("message").value();
  secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
  secp256k1_ecdsa_signature sig;
  ASSERT_TRUE(secp256k1_ecdsa_signature_parse_der(
      ctx, &sig, reinterpret_cast<const unsigned char*>(der.data()), der.size()));
  unsigned char compact[64];
  secp256k1_ecdsa_signature_serialize_compact(ctx, compact, &sig);
  // s := n - s, with n the group order, big-endian.
  const std::string order =
      Unhex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = static_cast<uint8_t>(order[i]) - compact[32 + i] - borrow;
    borrow = d < 0;
    compact[32 + i] = static_cast<unsigned char>(d + (borrow ? 256 : 0));
  }
  secp256k1_ecdsa_signature high;
  ASSERT_TRUE(secp256k1_ecdsa_signature_parse_compact(ctx, &high, compact));
  unsigned char high_der[72];
  size_t high_length = sizeof(high_der);
  ASSERT_TRUE(secp256k1_ecdsa_signature_serialize_der(ctx, high_der, &high_length, &high));
  secp256k1_context_destroy(ctx);
  const std::string high_signature(reinterpret_cast<const char*>(high_der), high_length);
  ASSERT_NE(high_signature, der);
  EXPECT_TRUE(key.public_key().Verify("message", high_signature));
  EXPECT_FALSE(key.public_key().Verify("messagE", high_signature));
}

TEST(KeysTest, PeerIdPrefixesFollowTheMultihash) {
  EXPECT_TRUE(
      absl::StartsWith(PrivateKey::Generate(KeyType::kEd25519)->peer_id().ToString(), "12D3KooW"));
  EXPECT_TRUE(
      absl::StartsWith(PrivateKey::Generate(KeyType::kSecp256k1)->peer_id().ToString(), "16Uiu2"));
  EXPECT_TRUE(absl::StartsWith(PrivateKey::Generate(KeyType::kEcdsa)->peer_id().ToString(), "Qm"));
}

TEST(KeysTest, Ed25519IdentityConvertsToTheSameKey) {
  noise::Ed25519Identity::Seed seed{};
  seed[0] = 7;
  const noise::Ed25519Identity identity = noise::Ed25519Identity::FromSeed(seed);
  const PrivateKey key = identity;
  EXPECT_EQ(key.peer_id(), identity.peer_id());
  EXPECT_EQ(key.PublicKeyProtobuf(), identity.PublicKeyProtobuf());
  EXPECT_EQ(*key.Sign("m"), identity.Sign("m"));
}

TEST(KeysTest, LegacyEd25519PrivateKeyWithTheKeyTwiceIsAccepted) {
  const auto rows = ReadTable("shell/crypto/testdata/spec_vectors.txt");
  ASSERT_EQ(rows.size(), 4u);
  const std::string data = Unhex(rows[0][1]).substr(4);  // after 08 01 12 40
  ASSERT_EQ(data.size(), 64u);
  std::string legacy = noise::EncodePublicKeyProtobuf(KeyType::kEd25519, data + data.substr(32));
  absl::StatusOr<PrivateKey> key = PrivateKey::FromProtobuf(legacy);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->peer_id().ToString(), kSpecPeerIds.at("ed25519"));
  EXPECT_EQ(key->ToProtobuf(), Unhex(rows[0][1]));  // written back in the preferred form

  std::string mismatched = data + data.substr(32);
  mismatched.back() ^= 1;
  EXPECT_THAT(
      PrivateKey::FromProtobuf(noise::EncodePublicKeyProtobuf(KeyType::kEd25519, mismatched))
          .status()
          .message(),
      HasSubstr("two public keys differ"));
  std::string wrong_public = data;
  wrong_public.back() ^= 1;
  EXPECT_THAT(
      PrivateKey::FromProtobuf(noise::EncodePublicKeyProtobuf(KeyType::kEd25519, wrong_public))
          .status()
          .message(),
      HasSubstr("does not belong"));
}

// An RSA public key with a random odd modulus of `bits` bits and exponent `e` (no private
// part: enough to test what the decoder accepts).
std::string RsaSpki(int bits, BN_ULONG e_word, int e_bits = 0) {
  BIGNUM* n = BN_new();
  BN_rand(n, bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD);
  BIGNUM* e = BN_new();
  if (e_bits > 0) {
    BN_rand(e, e_bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD);
  } else {
    BN_set_word(e, e_word);
  }
  OSSL_PARAM_BLD* build = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_N, n);
  OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_E, e);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(build);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* key = nullptr;
  EVP_PKEY_fromdata_init(ctx);
  EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  unsigned char* der = nullptr;
  const int length = key != nullptr ? i2d_PUBKEY(key, &der) : 0;
  std::string out(reinterpret_cast<const char*>(der), length > 0 ? length : 0);
  OPENSSL_free(der);
  EVP_PKEY_free(key);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(build);
  BN_free(e);
  BN_free(n);
  return out;
}

TEST(KeysTest, RsaModulusOutside2048To8192BitsIsRefused) {
  for (int bits : {1024, 2047, 8193, 8200}) {
    SCOPED_TRACE(bits);
    const std::string spki = RsaSpki(bits, 65537);
    ASSERT_FALSE(spki.empty());
    absl::StatusOr<PublicKey> key = PublicKey::FromData(KeyType::kRsa, spki);
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(key.status().message(), HasSubstr("outside 2048..8192"));
  }
  for (int bits : {2048, 3072, 8192}) {
    SCOPED_TRACE(bits);
    absl::StatusOr<PublicKey> key = PublicKey::FromData(KeyType::kRsa, RsaSpki(bits, 65537));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(key->bits(), bits);
    EXPECT_TRUE(absl::StartsWith(key->ToPeerId().ToString(), "Qm"));
    EXPECT_LE(key->ToProtobuf().size(), kMaxPublicKeyBytes);
  }
}

TEST(KeysTest, RsaHugePublicExponentIsRefused) {
  absl::StatusOr<PublicKey> key = PublicKey::FromData(KeyType::kRsa, RsaSpki(2048, 0, 1024));
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(), HasSubstr("public exponent of 1024 bits"));
}

TEST(KeysTest, EcdsaKeyOffP256IsRefused) {
  EVP_PKEY* p384 = EVP_EC_gen("P-384");
  ASSERT_NE(p384, nullptr);
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(p384, &der);
  const std::string spki(reinterpret_cast<const char*>(der), length);
  OPENSSL_free(der);
  EVP_PKEY_free(p384);
  absl::StatusOr<PublicKey> key = PublicKey::FromData(KeyType::kEcdsa, spki);
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(), HasSubstr("not on the named curve P-256"));
  // The same DER under the RSA type is refused too.
  EXPECT_THAT(PublicKey::FromData(KeyType::kRsa, spki).status().message(),
              HasSubstr("not an RSA key"));
}

TEST(KeysTest, MalformedPublicKeysAreRefusedWithTheRule) {
  struct Case {
    std::string protobuf;
    absl::StatusCode code;
    std::string message;
  };
  const std::string ecdsa_spki = Unhex(ReadTable("shell/crypto/testdata/spec_vectors.txt")[2][2])
                                     .substr(4);  // after 08 03 12 5b
  ASSERT_EQ(ecdsa_spki.size(), 91u);
  const std::vector<Case> cases = {
      {"", absl::StatusCode::kInvalidArgument, "no Type field"},
      {std::string("\x08\x01", 2), absl::StatusCode::kInvalidArgument, "no Data field"},
      {noise::EncodePublicKeyProtobuf(static_cast<KeyType>(4), "x"),
       absl::StatusCode::kUnimplemented, "not a libp2p key type"},
      {noise::EncodePublicKeyProtobuf(KeyType::kEd25519, std::string(31, 'a')),
       absl::StatusCode::kInvalidArgument, "31 bytes, not 32"},
      {noise::EncodePublicKeyProtobuf(KeyType::kSecp256k1, "\x04" + std::string(64, 'a')),
       absl::StatusCode::kInvalidArgument, "compressed point"},
      {noise::EncodePublicKeyProtobuf(KeyType::kSecp256k1, "\x02" + std::string(32, '\xff')),
       absl::StatusCode::kInvalidArgument, "not a point on secp256k1"},
      {noise::EncodePublicKeyProtobuf(KeyType::kRsa, "not der"), absl::StatusCode::kInvalidArgument,
       "not a DER SubjectPublicKeyInfo"},
      {noise::EncodePublicKeyProtobuf(KeyType::kEcdsa, ecdsa_spki + "x"),
       absl::StatusCode::kInvalidArgument, "bytes after the DER key"},
      {noise::EncodePublicKeyProtobuf(KeyType::kRsa, std::string(kMaxPublicKeyBytes, 'a')),
       absl::StatusCode::kInvalidArgument, "more than the 1100 allowed"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<PublicKey> key = PublicKey::FromProtobuf(c.protobuf);
    EXPECT_EQ(key.status().code(), c.code) << c.message << ": " << key.status();
    EXPECT_THAT(key.status().message(), HasSubstr(c.message));
  }
}

TEST(KeysTest, KeyTypeNamesParse) {
  for (KeyType type : {KeyType::kEd25519, KeyType::kSecp256k1, KeyType::kRsa, KeyType::kEcdsa}) {
    EXPECT_EQ(*ParseKeyTypeName(KeyTypeName(type)), type);
  }
  EXPECT_THAT(ParseKeyTypeName("dsa").status().message(),
              HasSubstr("not one of ed25519, secp256k1, rsa, ecdsa"));
}

}  // namespace
}  // namespace connmgr::crypto
