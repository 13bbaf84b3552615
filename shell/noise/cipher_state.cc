#include "shell/noise/cipher_state.h"

#include <sodium.h>

namespace connmgr::noise {
namespace {

static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == kCipherKeyBytes);
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kAeadTagBytes);
static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12);

using Nonce = std::array<unsigned char, crypto_aead_chacha20poly1305_ietf_NPUBBYTES>;

// Noise's ChaChaPoly nonce: 32 zero bits, then the counter as 64 bits little-endian.
Nonce NoiseNonce(uint64_t counter) {
  Nonce nonce{};
  for (size_t i = 0; i < 8; ++i) nonce[4 + i] = static_cast<unsigned char>(counter >> (8 * i));
  return nonce;
}

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

CipherState::~CipherState() { sodium_memzero(key_.data(), key_.size()); }

absl::Status CipherState::CheckNonce() const {
  if (nonce_ == kReservedNonce) {
    return absl::ResourceExhaustedError("Noise cipher nonce exhausted (2^64 - 1 messages)");
  }
  return absl::OkStatus();
}

absl::Status CipherState::EncryptWithAd(absl::string_view associated_data,
                                        absl::string_view plaintext, std::string* out) {
  if (!has_key_) {
    out->append(plaintext.data(), plaintext.size());
    return absl::OkStatus();
  }
  if (absl::Status status = CheckNonce(); !status.ok()) return status;
  const Nonce nonce = NoiseNonce(nonce_);
  const size_t start = out->size();
  out->resize(start + plaintext.size() + kAeadTagBytes);
  unsigned long long written = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(reinterpret_cast<unsigned char*>(out->data() + start),
                                            &written, Bytes(plaintext), plaintext.size(),
                                            Bytes(associated_data), associated_data.size(), nullptr,
                                            nonce.data(), key_.data());
  out->resize(start + written);
  ++nonce_;
  return absl::OkStatus();
}

absl::Status CipherState::DecryptWithAd(absl::string_view associated_data,
                                        absl::string_view ciphertext, std::string* out) {
  if (!has_key_) {
    out->append(ciphertext.data(), ciphertext.size());
    return absl::OkStatus();
  }
  if (absl::Status status = CheckNonce(); !status.ok()) return status;
  if (ciphertext.size() < kAeadTagBytes) {
    return absl::InvalidArgumentError("Noise ciphertext is shorter than its 16-byte tag");
  }
  const Nonce nonce = NoiseNonce(nonce_);
  const size_t start = out->size();
  out->resize(start + ciphertext.size() - kAeadTagBytes);
  unsigned long long written = 0;
  if (crypto_aead_chacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out->data() + start), &written, nullptr,
          Bytes(ciphertext), ciphertext.size(), Bytes(associated_data), associated_data.size(),
          nonce.data(), key_.data()) != 0) {
    out->resize(start);
    return absl::DataLossError("Noise message failed authentication");
  }
  out->resize(start + written);
  ++nonce_;
  return absl::OkStatus();
}

}  // namespace connmgr::noise
