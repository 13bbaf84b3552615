#include "shell/crypto/identity_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr::crypto {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
  unlink(path.c_str());
  return path;
}

void WriteFile(const std::string& path, const std::string& bytes, mode_t mode) {
  std::ofstream(path, std::ios::binary) << bytes;
  chmod(path.c_str(), mode);
}

TEST(IdentityFileTest, CreatedOnFirstRunWithMode0600AndLoadedAfter) {
  for (KeyType type : {KeyType::kEd25519, KeyType::kSecp256k1, KeyType::kRsa, KeyType::kEcdsa}) {
    SCOPED_TRACE(KeyTypeName(type));
    const std::string path = TempPath("identity-" + KeyTypeName(type));
    absl::StatusOr<PrivateKey> created = LoadOrCreateIdentity(path, type);
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_EQ(created->type(), type);
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(static_cast<size_t>(st.st_size), created->ToProtobuf().size());
    // A restart: the same peer, with or without the type asked for.
    absl::StatusOr<PrivateKey> again = LoadOrCreateIdentity(path, type);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->peer_id(), created->peer_id());
    EXPECT_EQ(LoadOrCreateIdentity(path, std::nullopt)->peer_id(), created->peer_id());
  }
}

TEST(IdentityFileTest, DefaultTypeIsEd25519) {
  const std::string path = TempPath("identity-default");
  absl::StatusOr<PrivateKey> key = LoadOrCreateIdentity(path, std::nullopt);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->type(), KeyType::kEd25519);
}

TEST(IdentityFileTest, FileReadableByOthersIsRefused) {
  const std::string path = TempPath("identity-0644");
  WriteFile(path, PrivateKey::Generate(KeyType::kEd25519)->ToProtobuf(), 0644);
  absl::StatusOr<PrivateKey> key = LoadOrCreateIdentity(path, std::nullopt);
  EXPECT_EQ(key.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(key.status().message(), AllOf(HasSubstr(path), HasSubstr("mode 0644")));
  chmod(path.c_str(), 0640);
  EXPECT_THAT(LoadIdentity(path).status().message(), HasSubstr("mode 0640"));
}

TEST(IdentityFileTest, MalformedFileIsRefusedNamingTheFileAndTheRule) {
  const std::string path = TempPath("identity-bad");
  WriteFile(path, "not a key", 0600);
  absl::StatusOr<PrivateKey> key = LoadOrCreateIdentity(path, std::nullopt);
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(),
              AllOf(HasSubstr(path), HasSubstr("not a libp2p private key")));
  // The malformed file is left alone, never replaced by a new key.
  std::ifstream in(path);
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(contents, "not a key");
}

TEST(IdentityFileTest, EmptyTooLargeDirectoryAndSymlinkAreRefused) {
  const std::string empty = TempPath("identity-empty");
  WriteFile(empty, "", 0600);
  EXPECT_THAT(LoadIdentity(empty).status().message(), HasSubstr("has no Type field"));

  const std::string large = TempPath("identity-large");
  WriteFile(large, std::string(kMaxPrivateKeyBytes + 1, 'x'), 0600);
  EXPECT_THAT(LoadIdentity(large).status().message(), HasSubstr("more than the 5000"));

  const std::string dir = TempPath("identity-dir");
  rmdir(dir.c_str());
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  EXPECT_THAT(LoadOrCreateIdentity(dir, std::nullopt).status().message(),
              HasSubstr("is not a regular file"));

  const std::string link = TempPath("identity-link");
  ASSERT_EQ(symlink(empty.c_str(), link.c_str()), 0);
  EXPECT_THAT(LoadOrCreateIdentity(link, std::nullopt).status().message(),
              AllOf(HasSubstr(link), HasSubstr("cannot open")));
}

TEST(IdentityFileTest, KeyOfAnotherTypeThanAskedIsRefused) {
  const std::string path = TempPath("identity-type");
  ASSERT_TRUE(LoadOrCreateIdentity(path, KeyType::kSecp256k1).ok());
  absl::StatusOr<PrivateKey> key = LoadOrCreateIdentity(path, KeyType::kRsa);
  EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(), HasSubstr("holds a secp256k1 key, not the rsa asked for"));
}

TEST(IdentityFileTest, MissingDirectoryIsAnError) {
  absl::StatusOr<PrivateKey> key =
      LoadOrCreateIdentity(TempPath("no-such-dir") + "/identity", std::nullopt);
  EXPECT_FALSE(key.ok());
  EXPECT_THAT(key.status().message(), HasSubstr("cannot create"));
}

}  // namespace
}  // namespace connmgr::crypto
