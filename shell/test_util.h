// Helpers shared by the shell's tests: distinct peers and identities, and running an
// io_context until something happened.
#ifndef CONNMGR_SHELL_TEST_UTIL_H_
#define CONNMGR_SHELL_TEST_UTIL_H_

#include <fcntl.h>
#include <sys/resource.h>

#include <chrono>
#include <functional>
#include <string>

#include "boost/asio/io_context.hpp"
#include "core/peer_id.h"
#include "shell/noise/identity.h"

namespace connmgr::shell::testing_util {

// The i-th of many distinct peer ids (identity multihashes), for plaintext hosts.
inline PeerId NthPeer(uint32_t i) {
  std::string multihash = {'\x00', '\x04'};
  for (int shift = 24; shift >= 0; shift -= 8) multihash.push_back(static_cast<char>(i >> shift));
  return PeerId::FromBytes(multihash).value();
}

// A fixed Ed25519 identity: every seed byte `seed`.
inline noise::Ed25519Identity IdentityFrom(uint8_t seed) {
  noise::Ed25519Identity::Seed bytes{};
  bytes.fill(seed);
  return noise::Ed25519Identity::FromSeed(bytes);
}

// Runs `io` until `done` holds; false if `limit` passed first.
inline bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
                     std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Sets this process's soft RLIMIT_NOFILE for a scope and restores the one before when it ends.
// The hard limit is never touched (lowering it could not be undone).
class ScopedSoftFdLimit {
 public:
  explicit ScopedSoftFdLimit(rlim_t soft) {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    ok_ = setrlimit(RLIMIT_NOFILE, &lowered) == 0;
  }
  ~ScopedSoftFdLimit() { setrlimit(RLIMIT_NOFILE, &saved_); }
  ScopedSoftFdLimit(const ScopedSoftFdLimit&) = delete;
  ScopedSoftFdLimit& operator=(const ScopedSoftFdLimit&) = delete;
  bool ok() const { return ok_; }

 private:
  rlimit saved_{};
  bool ok_ = false;
};

// The lowest descriptor number this process does not use: a soft limit there makes the next
// socket, file or accept fail with EMFILE while every open descriptor keeps working.
inline int LowestFreeFd() {
  int fd = 0;
  while (fcntl(fd, F_GETFD) != -1) ++fd;
  return fd;
}

}  // namespace connmgr::shell::testing_util

#endif  // CONNMGR_SHELL_TEST_UTIL_H_
