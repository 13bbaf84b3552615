#include "shell/tls/certificate.h"

#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr::tls {
namespace {

using ::testing::HasSubstr;

// Inside the spec vectors' validity (1975..4096); own certificates are checked at the real time.
constexpr int64_t kNow = 1796400000;

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

TEST(CertificateTest, SpecVectorsGiveTheirPeerIdsAndTheInvalidOneIsRefused) {
  const auto rows = ReadTable("shell/tls/testdata/spec_certificates.txt");
  ASSERT_EQ(rows.size(), 4u) << "testdata missing";
  for (const auto& row : rows) {
    SCOPED_TRACE(row[0]);
    absl::StatusOr<crypto::PublicKey> key =
        VerifyCertificateDer(absl::HexStringToBytes(row[1]), kNow);
    if (row[0] == "invalid") {
      EXPECT_EQ(key.status().code(), absl::StatusCode::kUnauthenticated);
      EXPECT_THAT(key.status().message(), HasSubstr("signature over the certificate key"));
    } else {
      ASSERT_TRUE(key.ok()) << key.status();
      EXPECT_EQ(key->ToPeerId().ToString(), row[0]);
    }
  }
}

TEST(CertificateTest, OwnCertificatesOfEveryKeyTypeVerify) {
  for (crypto::KeyType type : {crypto::KeyType::kEd25519, crypto::KeyType::kSecp256k1,
                               crypto::KeyType::kRsa, crypto::KeyType::kEcdsa}) {
    SCOPED_TRACE(crypto::KeyTypeName(type));
    const crypto::PrivateKey identity = crypto::PrivateKey::Generate(type).value();
    absl::StatusOr<Certificate> certificate = Certificate::Create(identity);
    ASSERT_TRUE(certificate.ok()) << certificate.status();
    const std::string der = certificate->Der();
    EXPECT_LE(der.size(), kMaxCertificateBytes);
    absl::StatusOr<crypto::PublicKey> key =
        VerifyCertificateDer(der, static_cast<int64_t>(std::time(nullptr)));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(key->ToPeerId(), identity.peer_id());
    EXPECT_EQ(key->type(), type);
  }
}

TEST(CertificateTest, ValidityWindowIsChecked) {
  const crypto::PrivateKey identity =
      crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value();
  const std::string der = Certificate::Create(identity)->Der();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  EXPECT_TRUE(VerifyCertificateDer(der, now).ok());
  EXPECT_THAT(VerifyCertificateDer(der, now - int64_t{2} * 3600).status().message(),
              HasSubstr("not valid yet"));
  EXPECT_THAT(VerifyCertificateDer(der, now + 101LL * 365 * 86400).status().message(),
              HasSubstr("expired"));
}

TEST(CertificateTest, TamperedOrMalformedCertificatesAreRefused) {
  const crypto::PrivateKey identity =
      crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value();
  std::string der = Certificate::Create(identity)->Der();
  std::string tampered = der;
  tampered[tampered.size() - 80] ^= 1;  // inside the signed part or the signature
  EXPECT_FALSE(VerifyCertificateDer(tampered, kNow).ok());
  EXPECT_THAT(VerifyCertificateDer(der + "x", kNow).status().message(),
              HasSubstr("bytes after the certificate"));
  EXPECT_THAT(VerifyCertificateDer("junk", kNow).status().message(),
              HasSubstr("not a DER X.509 certificate"));
  EXPECT_THAT(
      VerifyCertificateDer(std::string(kMaxCertificateBytes + 1, '0'), kNow).status().message(),
      HasSubstr("more than the 8192 allowed"));
}

TEST(CertificateTest, SignedKeyRoundTripsAndOnlyDerIsAccepted) {
  const SignedKey key{"public key protobuf", std::string(64, 's')};
  const std::string der = EncodeSignedKey(key);
  absl::StatusOr<SignedKey> decoded = DecodeSignedKey(der);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->public_key, key.public_key);
  EXPECT_EQ(decoded->signature, key.signature);

  EXPECT_THAT(DecodeSignedKey(der + std::string(1, '\0')).status().message(),
              HasSubstr("bytes after"));
  EXPECT_THAT(DecodeSignedKey("").status().message(), HasSubstr("not a DER SEQUENCE"));
  // SEQUENCE { OCTET STRING "a" }: one element.
  EXPECT_THAT(DecodeSignedKey(std::string("\x30\x03\x04\x01\x61", 5)).status().message(),
              HasSubstr("1 elements, not 2"));
  // SEQUENCE { INTEGER 1, OCTET STRING "a" }.
  EXPECT_THAT(
      DecodeSignedKey(std::string("\x30\x06\x02\x01\x01\x04\x01\x61", 8)).status().message(),
      HasSubstr("publicKey is not an OCTET STRING"));
  // The same two strings with a long-form length byte (BER, not DER).
  EXPECT_THAT(
      DecodeSignedKey(std::string("\x30\x81\x06\x04\x01\x61\x04\x01\x62", 9)).status().message(),
      HasSubstr("not in DER"));
  EXPECT_THAT(DecodeSignedKey(std::string(kMaxSignedKeyBytes + 1, '0')).status().message(),
              HasSubstr("allowed"));
}

}  // namespace
}  // namespace connmgr::tls
