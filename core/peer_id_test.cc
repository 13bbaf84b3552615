#include "core/peer_id.h"

#include <ostream>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash_testing.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace connmgr {

// Readable gtest failure output.
void PrintTo(const PeerId& peer, std::ostream* os) { *os << peer.ToString(); }

namespace {

// From the libp2p peer-id spec: a sha2-256 peer id and its CIDv1.
constexpr char kQm[] = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
constexpr char kQmCid[] = "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe";
constexpr char kQmMultihashHex[] =
    "12209dff3b17d74cf4d38a50d8b6383e92d181a10395a5e73a726dcccbd21bf6f0b9";
// An Ed25519 peer id: identity multihash of the protobuf PublicKey {Type: Ed25519, Data: 32 bytes}.
constexpr char kEd25519[] = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
constexpr char kEd25519MultihashHex[] =
    "0024"  // identity, 36 bytes
    "0801"  // field 1 (KeyType) = 1 (Ed25519)
    "1220"  // field 2 (Data), 32 bytes
    "2ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4df38dc613ea859c37eb1336b";

PeerId MustParse(absl::string_view text) {
  absl::StatusOr<PeerId> id = PeerId::Parse(text);
  EXPECT_TRUE(id.ok()) << id.status();
  return id.value_or(PeerId());
}

TEST(PeerIdTest, Sha256PeerId) {
  const PeerId id = MustParse(kQm);
  EXPECT_EQ(absl::BytesToHexString(id.bytes()), kQmMultihashHex);
  EXPECT_EQ(id.ToString(), kQm);
  EXPECT_EQ(id.ToCidString(), kQmCid);
  EXPECT_EQ(MustParse(kQmCid), id);
  EXPECT_EQ(MustParse("zdvgqC3jczfCwLUoSyWT8GLc5UZ9aG4RkAg7XAfidRbX9qVj6"), id);
  EXPECT_FALSE(id.is_empty());
}

TEST(PeerIdTest, Ed25519IdentityPeerId) {
  const PeerId id = MustParse(kEd25519);
  EXPECT_EQ(absl::BytesToHexString(id.bytes()), kEd25519MultihashHex);
  EXPECT_EQ(id.ToString(), kEd25519);
  EXPECT_EQ(id.ToCidString(), "bafzaajaiaejcal72gwuz2or47oyxxn6b3rkwdmmkrxgkjxzy3rqt5kczyn7lcm3l");
  EXPECT_EQ(MustParse(id.ToCidString()), id);
  EXPECT_EQ(MustParse("z5AanNVJCxnJ4fhdT9DsSUYvwjgHpsJ4pn4bueg8bvDe6b1tDj9rmdk"), id);
}

// A secp256k1 key (the curve's generator point, compressed) gives the familiar "16Uiu2HA" prefix.
TEST(PeerIdTest, Secp256k1IdentityPeerIdByConstruction) {
  const std::string multihash = absl::HexStringToBytes(
      "0025"  // identity, 37 bytes
      "0802"  // KeyType = 2 (Secp256k1)
      "1221"  // Data, 33 bytes
      "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
  absl::StatusOr<PeerId> id = PeerId::FromBytes(multihash);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->ToString(), "16Uiu2HAm3cuhhRL2msUuLF62KRSfneFDx94RsuouyW25Ho42cFMq");
  EXPECT_EQ(MustParse(id->ToString()), *id);
  EXPECT_EQ(MustParse(id->ToCidString()), *id);
}

TEST(PeerIdTest, FromBytesMatchesParse) {
  absl::StatusOr<PeerId> id = PeerId::FromBytes(absl::HexStringToBytes(kQmMultihashHex));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, MustParse(kQm));
}

TEST(PeerIdTest, DefaultIsEmpty) {
  const PeerId empty;
  EXPECT_TRUE(empty.is_empty());
  EXPECT_EQ(empty.ToString(), "");
  EXPECT_EQ(empty.ToCidString(), "");
  EXPECT_LT(empty, MustParse(kQm));
}

TEST(PeerIdTest, OrderingAndHash) {
  const PeerId ed = MustParse(kEd25519);
  const PeerId qm = MustParse(kQm);
  EXPECT_LT(ed, qm);  // 0x00 identity sorts before 0x12 sha2-256
  EXPECT_NE(ed, qm);
  EXPECT_EQ(qm, MustParse(kQmCid));
  EXPECT_TRUE(absl::VerifyTypeImplementsAbslHashCorrectly({PeerId(), ed, qm}));
}

// Every size an id can have (3 to 128 bytes: inline ones hashed as words, longer ones as a
// string), each with every single byte changed: all hash apart, and the hash is consistent.
TEST(PeerIdTest, HashCoversEveryByteOfEverySize) {
  std::vector<PeerId> ids;
  for (size_t digest = 1; digest + 2 <= PeerId::kMaxMultihashBytes; ++digest) {
    std::string multihash = absl::HexStringToBytes("00");
    multihash.push_back(static_cast<char>(digest));
    multihash.append(digest, 'k');
    ids.push_back(PeerId::FromBytes(multihash).value());
    for (size_t i = 2; i < multihash.size(); ++i) {
      std::string changed = multihash;
      changed[i] = 'j';
      ids.push_back(PeerId::FromBytes(changed).value());
    }
  }
  absl::flat_hash_set<size_t> hashes;
  for (const PeerId& id : ids) hashes.insert(absl::Hash<PeerId>()(id));
  EXPECT_EQ(hashes.size(), ids.size());
  EXPECT_TRUE(absl::VerifyTypeImplementsAbslHashCorrectly(
      std::vector<PeerId>(ids.begin(), ids.begin() + 300)));
}

TEST(PeerIdTest, AcceptsIdentityDigestsUpToTheCap) {
  std::string multihash = absl::HexStringToBytes("007e");
  multihash.append(126, 'k');
  ASSERT_EQ(multihash.size(), PeerId::kMaxMultihashBytes);
  absl::StatusOr<PeerId> id = PeerId::FromBytes(multihash);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(MustParse(id->ToString()), *id);
  EXPECT_EQ(MustParse(id->ToCidString()), *id);
}

TEST(PeerIdTest, CopyAssignmentBetweenInlineAndHeapIds) {
  std::string long_multihash = absl::HexStringToBytes("007e");
  long_multihash.append(126, 'k');
  const PeerId heap = PeerId::FromBytes(long_multihash).value();  // over the inline 40 bytes
  const PeerId sha = MustParse(kQm);
  const PeerId ed = MustParse(kEd25519);
  PeerId p;
  p = ed;  // empty <- inline
  EXPECT_EQ(p, ed);
  p = sha;  // inline <- shorter inline
  EXPECT_EQ(p, sha);
  EXPECT_EQ(p.bytes().size(), 34u);
  p = heap;  // inline <- heap
  EXPECT_EQ(p, heap);
  p = ed;  // heap <- inline
  EXPECT_EQ(p, ed);
  EXPECT_EQ(p.ToString(), kEd25519);
  const PeerId& same = p;
  p = same;  // self
  EXPECT_EQ(p, ed);
  p = PeerId();
  EXPECT_TRUE(p.is_empty());
}

struct RejectCase {
  std::string text;
  std::string error;
};

TEST(PeerIdTest, ParseRejects) {
  const RejectCase cases[] = {
      {"", "empty"},
      {"0xdeadbeef", "not a base58btc multihash"},
      {"12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5S0", "not valid base58btc"},
      {"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N ", "not valid base58btc"},
      // kEd25519 with its last character dropped: the length varint no longer matches.
      {"12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5S",
       "says 1055 digest bytes but 34 follow"},
      // base58(0x13 0x20 <digest of kQm>): sha2-512's code with a 32-byte digest.
      {"S5bkVKrx3anqtXsdRGhqejsXaHvgBu5wD9LoxUT2qDuo5z", "multihash code 0x13 is not accepted"},
      // base58(0x12 0x1f <31 bytes>).
      {"6PG83WXBcfTfq3L8WtWAkQ9LapHV3uhtDer6r9DJTxKod", "sha2-256 digest must be 32 bytes"},
      // base58(0x12 0x20 <31 bytes>): kQm's multihash truncated by one byte.
      {"6PL2TA1uhZJAYT2FVQ1SCJ55p5J3pcez8EiQjeQcTg8Ty", "says 32 digest bytes but 31 follow"},
      {"11", "identity multihash has an empty digest"},
      // kQmCid with the codec changed to dag-pb (0x70), and with versions 0 and 2.
      {"bafybeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe",
       "CID codec 0x70 is not libp2p-key (0x72)"},
      {"babzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe", "CID version 0"},
      {"bajzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe", "CID version 2"},
      {"bAFZBEIE5745RPV2M6TJYUUGYWY4D5EWRQGQQHFNF445HE3OMZPJBX5XQXE", "lowercase base32"},
      {"bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqx", "lowercase base32"},
      {"bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xq", "digest bytes"},
      {"b", "CID version is not a valid varint"},
      {"z", "CID version is not a valid varint"},
      {"z0", "not valid base58btc after 'z'"},
      {"f01721220", "not a base58btc multihash"},
      {std::string(257, '1'), "over the 256-character limit"},
      // Identity multihash with a 127-byte digest: 129 bytes in all.
      {"1Dznmm1ZDE9rYFyMyDofRRrZHVqnhrYcaQFqtFwwQt4yTrn4WdqYdkE1KvcArZRztUyZ9F4e1BMemiKgZHB627"
       "gtEHnai9NvgV5by6fsSQvjGoebiVMRcAwNQyvapgGneMM1uXFGxEmm6ZqsViHYmXWMBAvpPCdNvb8osKvu34oiKQiS",
       "multihash is 129 bytes, over the 128-byte limit"},
  };
  for (const RejectCase& c : cases) {
    absl::StatusOr<PeerId> id = PeerId::Parse(c.text);
    ASSERT_FALSE(id.ok()) << c.text;
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(id.status().message(), c.error)) << id.status();
  }
}

TEST(PeerIdTest, ErrorNamesTheInput) {
  EXPECT_EQ(PeerId::Parse("11").status().message(),
            "peer id \"11\": identity multihash has an empty digest");
}

TEST(PeerIdTest, FromBytesRejects) {
  const std::string qm = absl::HexStringToBytes(kQmMultihashHex);
  const RejectCase cases[] = {
      {"", "multihash is empty"},
      {"\x80", "hash code is not a valid varint"},
      {std::string(1, '\0'), "digest length is not a valid varint"},
      {"\x12\xa0", "digest length is not a valid varint"},
      {qm + "x", "says 32 digest bytes but 33 follow"},
      {qm.substr(0, 20), "says 32 digest bytes but 18 follow"},
      {"\x11\x14" + std::string(20, 'a'), "multihash code 0x11 is not accepted"},
      {"\xb2\x20" + std::string(32, 'a'), "multihash code 0x1032 is not accepted"},
      {std::string(129, '\0'), "129 bytes, over the 128-byte limit"},
  };
  for (const RejectCase& c : cases) {
    absl::StatusOr<PeerId> id = PeerId::FromBytes(c.text);
    ASSERT_FALSE(id.ok()) << absl::CHexEscape(c.text);
    EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(id.status().message(), c.error)) << id.status();
  }
}

}  // namespace
}  // namespace connmgr
