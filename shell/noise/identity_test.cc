#include "shell/noise/identity.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "shell/noise/test_util.h"

namespace connmgr::noise {
namespace {

// The Ed25519 key pair of the libp2p peer-ids spec's test vectors: its PrivateKey protobuf is
// 0801 1240 <seed> <public key>, its PublicKey protobuf is kSpecPublicKeyProtobufHex.
constexpr char kSpecSeedHex[] = "7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d";
constexpr char kSpecPublicKeyHex[] =
    "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
constexpr char kSpecPublicKeyProtobufHex[] =
    "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
// Base58btc of 0x00 0x24 + the PublicKey protobuf.
constexpr char kSpecPeerId[] = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";

Ed25519Identity SpecIdentity() {
  return Ed25519Identity::FromSeed(UnhexArray<kEd25519SeedBytes>(kSpecSeedHex));
}

TEST(IdentityTest, SpecKeyProtobufAndPeerId) {
  const Ed25519Identity identity = SpecIdentity();
  EXPECT_EQ(Hex(identity.public_key()), kSpecPublicKeyHex);
  EXPECT_EQ(Hex(identity.PublicKeyProtobuf()), kSpecPublicKeyProtobufHex);
  const std::string peer_id = identity.peer_id().ToString();
  EXPECT_TRUE(absl::StartsWith(peer_id, "12D3KooW")) << peer_id;
  EXPECT_EQ(peer_id, kSpecPeerId);
  EXPECT_EQ(Hex(identity.peer_id().bytes()), std::string("0024") + kSpecPublicKeyProtobufHex);
}

TEST(IdentityTest, PublicKeyProtobufRoundTrip) {
  const Ed25519Identity identity = SpecIdentity();
  absl::StatusOr<std::string> decoded =
      DecodeEd25519PublicKeyProtobuf(identity.PublicKeyProtobuf());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, identity.public_key());
  EXPECT_EQ(EncodePublicKeyProtobuf(KeyType::kEd25519, *decoded), identity.PublicKeyProtobuf());
}

TEST(IdentityTest, DecodeSkipsUnknownFieldsAndAcceptsAnyFieldOrder) {
  const std::string key = Unhex(kSpecPublicKeyHex);
  std::string reordered = "\x12\x20" + key + "\x18\x05" + "\x08\x01";
  absl::StatusOr<std::string> decoded = DecodeEd25519PublicKeyProtobuf(reordered);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, key);
}

TEST(IdentityTest, DecodeRefusesOtherKeyTypes) {
  for (KeyType type : {KeyType::kRsa, KeyType::kSecp256k1, KeyType::kEcdsa}) {
    absl::StatusOr<std::string> decoded =
        DecodeEd25519PublicKeyProtobuf(EncodePublicKeyProtobuf(type, std::string(33, 'k')));
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kUnimplemented);
    EXPECT_TRUE(absl::StrContains(decoded.status().message(), "only Ed25519"));
  }
}

TEST(IdentityTest, DecodeRefusesMalformedKeys) {
  const std::string key = Unhex(kSpecPublicKeyHex);
  const std::string cases[] = {
      "",
      std::string("\x08\x01", 2),                                     // no Data
      "\x12\x20" + key,                                               // no Type
      EncodePublicKeyProtobuf(KeyType::kEd25519, key.substr(0, 31)),  // short key
      EncodePublicKeyProtobuf(KeyType::kEd25519, key + "x"),          // long key
      std::string("\x0a\x01\x01", 3) + "\x12\x20" + key,              // Type not a varint
      std::string("\x08\x01\x10\x05", 4),                             // Data not bytes
      Unhex(kSpecPublicKeyProtobufHex).substr(0, 20),                 // truncated
      EncodePublicKeyProtobuf(KeyType::kEd25519, std::string(kMaxPublicKeyProtobufBytes, 'k')),
  };
  for (const std::string& input : cases) {
    SCOPED_TRACE(Hex(input));
    EXPECT_EQ(DecodeEd25519PublicKeyProtobuf(input).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(IdentityTest, SignAndVerify) {
  const Ed25519Identity identity = SpecIdentity();
  const std::string signature = identity.Sign("hello");
  ASSERT_EQ(signature.size(), kEd25519SignatureBytes);
  EXPECT_EQ(signature, SpecIdentity().Sign("hello")) << "Ed25519 signing is deterministic";
  EXPECT_TRUE(VerifyEd25519(identity.public_key(), "hello", signature));
  EXPECT_FALSE(VerifyEd25519(identity.public_key(), "hellp", signature));
  std::string bad = signature;
  bad[10] = static_cast<char>(bad[10] ^ 0x40);
  EXPECT_FALSE(VerifyEd25519(identity.public_key(), "hello", bad));
  EXPECT_FALSE(VerifyEd25519(identity.public_key(), "hello", signature.substr(0, 63)));
  EXPECT_FALSE(VerifyEd25519(identity.public_key().substr(1), "hello", signature));
  EXPECT_FALSE(VerifyEd25519(Ed25519Identity::Generate().public_key(), "hello", signature));
}

TEST(IdentityTest, GeneratedIdentitiesDiffer) {
  const Ed25519Identity a = Ed25519Identity::Generate();
  const Ed25519Identity b = Ed25519Identity::Generate();
  EXPECT_NE(a.public_key(), b.public_key());
  EXPECT_NE(a.peer_id(), b.peer_id());
  EXPECT_TRUE(VerifyEd25519(a.public_key(), "m", a.Sign("m")));
}

TEST(IdentityTest, LongPublicKeysAreHashedIntoThePeerId) {
  const std::string long_key = EncodePublicKeyProtobuf(KeyType::kRsa, std::string(270, 'r'));
  absl::StatusOr<PeerId> peer_id = PeerIdFromPublicKeyProtobuf(long_key);
  ASSERT_TRUE(peer_id.ok()) << peer_id.status();
  EXPECT_EQ(peer_id->bytes().substr(0, 2), std::string("\x12\x20", 2));
  EXPECT_EQ(peer_id->bytes().size(), 34u);
  EXPECT_TRUE(absl::StartsWith(peer_id->ToString(), "Qm"));

  const std::string inline_limit(kMaxInlinePublicKeyBytes, 'i');
  absl::StatusOr<PeerId> inlined = PeerIdFromPublicKeyProtobuf(inline_limit);
  ASSERT_TRUE(inlined.ok());
  EXPECT_EQ(inlined->bytes()[0], '\0');
  EXPECT_FALSE(PeerIdFromPublicKeyProtobuf("").ok());
}

}  // namespace
}  // namespace connmgr::noise
