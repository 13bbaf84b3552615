// The Noise CipherState for ChaChaPoly (Noise spec rev. 34, sections 5.1 and 12.3): a
// ChaCha20-Poly1305 key and a 64-bit message counter used as the nonce. The handshake uses
// one while it runs; a finished handshake splits into two, one per direction.
//
//   CipherState send(key);
//   std::string wire;
//   if (absl::Status s = send.EncryptWithAd("", plaintext, &wire); !s.ok()) return s;
//
// Nonces are never reused: the counter only goes up, and the last value (2^64 - 1) is
// reserved by the spec, so a CipherState that has used 2^64 - 1 nonces refuses to go on
// (kResourceExhausted). A failed decryption does not advance the counter.
#ifndef CONNMGR_SHELL_NOISE_CIPHER_STATE_H_
#define CONNMGR_SHELL_NOISE_CIPHER_STATE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace connmgr::noise {

inline constexpr size_t kCipherKeyBytes = 32;
inline constexpr size_t kAeadTagBytes = 16;
// Nonce 2^64 - 1 is reserved by the Noise spec; this is the first nonce never used.
inline constexpr uint64_t kReservedNonce = std::numeric_limits<uint64_t>::max();

class CipherState {
 public:
  using Key = std::array<uint8_t, kCipherKeyBytes>;

  // No key: Encrypt and Decrypt copy bytes through unchanged, as the spec's empty CipherState.
  CipherState() = default;
  explicit CipherState(const Key& key) : key_(key), has_key_(true) {}
  CipherState(const CipherState&) = default;
  CipherState& operator=(const CipherState&) = default;
  ~CipherState();

  bool has_key() const { return has_key_; }
  // The nonce the next message will use.
  uint64_t nonce() const { return nonce_; }

  // Appends the ciphertext and its 16-byte tag to `*out`.
  absl::Status EncryptWithAd(absl::string_view associated_data, absl::string_view plaintext,
                             std::string* out);
  // Appends the plaintext to `*out`. kDataLoss if the tag does not verify (tampered or
  // wrong key), kInvalidArgument if the ciphertext is shorter than a tag.
  absl::Status DecryptWithAd(absl::string_view associated_data, absl::string_view ciphertext,
                             std::string* out);

  void SetNonceForTest(uint64_t nonce) { nonce_ = nonce; }

 private:
  absl::Status CheckNonce() const;

  Key key_{};
  bool has_key_ = false;
  uint64_t nonce_ = 0;
};

}  // namespace connmgr::noise

#endif  // CONNMGR_SHELL_NOISE_CIPHER_STATE_H_
