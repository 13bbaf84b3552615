#include "shell/crypto/identity_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace connmgr::crypto {
namespace {

absl::Status FileError(const std::string& path, absl::StatusCode code, absl::string_view why) {
  return absl::Status(code, absl::StrCat("identity file ", path, ": ", why));
}

absl::Status ErrnoError(const std::string& path, absl::string_view doing, int error) {
  const absl::StatusCode code = error == EACCES || error == EPERM
                                    ? absl::StatusCode::kPermissionDenied
                                    : absl::StatusCode::kFailedPrecondition;
  return FileError(path, code, absl::StrCat(doing, ": ", std::strerror(error)));
}

// Closes the descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::Status WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError(std::strerror(n < 0 ? errno : EIO));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<PrivateKey> Create(const std::string& path, KeyType type) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate(type);
  if (!key.ok()) return key.status();
  Fd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return ErrnoError(path, "cannot create", errno);
  // The umask may only remove bits; make sure the mode is exactly 0600.
  if (fchmod(fd.get(), 0600) != 0) return ErrnoError(path, "cannot set mode 0600", errno);
  std::string protobuf = key->ToProtobuf();
  absl::Status written = WriteAll(fd.get(), protobuf);
  std::fill(protobuf.begin(), protobuf.end(), '\0');
  if (!written.ok()) {
    unlink(path.c_str());
    return FileError(path, absl::StatusCode::kUnavailable,
                     absl::StrCat("cannot write: ", written.message()));
  }
  if (fsync(fd.get()) != 0) return ErrnoError(path, "cannot sync", errno);
  return key;
}

}  // namespace

absl::StatusOr<PrivateKey> LoadIdentity(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoError(path, "cannot open", errno);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoError(path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) {
    return FileError(path, absl::StatusCode::kFailedPrecondition, "is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    return FileError(path, absl::StatusCode::kPermissionDenied,
                     absl::StrFormat("mode %04o lets group or others access the private key; "
                                     "chmod 600 it",
                                     st.st_mode & 07777));
  }
  if (st.st_size > static_cast<off_t>(kMaxPrivateKeyBytes)) {
    return FileError(path, absl::StatusCode::kInvalidArgument,
                     absl::StrFormat("%d bytes, more than the %d a private key takes", st.st_size,
                                     kMaxPrivateKeyBytes));
  }
  std::string bytes(kMaxPrivateKeyBytes + 1, '\0');
  size_t length = 0;
  while (length < bytes.size()) {
    const ssize_t n = read(fd.get(), bytes.data() + length, bytes.size() - length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(path, "cannot read", errno);
    if (n == 0) break;
    length += static_cast<size_t>(n);
  }
  bytes.resize(length);
  if (length > kMaxPrivateKeyBytes) {
    return FileError(path, absl::StatusCode::kInvalidArgument, "grew past the size limit");
  }
  absl::StatusOr<PrivateKey> key = PrivateKey::FromProtobuf(bytes);
  std::fill(bytes.begin(), bytes.end(), '\0');
  if (!key.ok()) {
    return FileError(path, absl::StatusCode::kInvalidArgument,
                     absl::StrCat("not a libp2p private key: ", key.status().message()));
  }
  return key;
}

absl::StatusOr<PrivateKey> LoadOrCreateIdentity(const std::string& path,
                                                std::optional<KeyType> type) {
  if (path.empty()) return absl::InvalidArgumentError("identity file: the path is empty");
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return ErrnoError(path, "cannot stat", errno);
    return Create(path, type.value_or(KeyType::kEd25519));
  }
  absl::StatusOr<PrivateKey> key = LoadIdentity(path);
  if (!key.ok()) return key.status();
  if (type && key->type() != *type) {
    return FileError(path, absl::StatusCode::kInvalidArgument,
                     absl::StrCat("holds a ", KeyTypeName(key->type()), " key, not the ",
                                  KeyTypeName(*type), " asked for"));
  }
  return key;
}

}  // namespace connmgr::crypto
