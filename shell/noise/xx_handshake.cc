#include "shell/noise/xx_handshake.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_format.h"

namespace connmgr::noise {
namespace {

static_assert(crypto_scalarmult_BYTES == kDhKeyBytes);
static_assert(crypto_scalarmult_SCALARBYTES == kDhKeyBytes);
static_assert(crypto_hash_sha256_BYTES == kHashBytes);
static_assert(crypto_auth_hmacsha256_BYTES == kHashBytes);
static_assert(sizeof(kNoiseProtocolName) - 1 == kHashBytes,
              "a 32-byte protocol name is used as h directly, unhashed");

using Hash = std::array<uint8_t, kHashBytes>;

absl::string_view View(const std::array<uint8_t, kDhKeyBytes>& bytes) {
  return absl::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void AppendBytes(absl::string_view bytes, std::string* out) {
  out->append(bytes.data(), bytes.size());
}

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Hash HmacSha256(const Hash& key, absl::string_view data1, absl::string_view data2 = {}) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  crypto_auth_hmacsha256_update(&state, Bytes(data1), data1.size());
  crypto_auth_hmacsha256_update(&state, Bytes(data2), data2.size());
  Hash out;
  crypto_auth_hmacsha256_final(&state, out.data());
  sodium_memzero(&state, sizeof(state));
  return out;
}

// Noise HKDF with two outputs (spec section 4.3).
void Hkdf2(const Hash& chaining_key, absl::string_view input_key_material, Hash* output1,
           Hash* output2) {
  Hash temp_key = HmacSha256(chaining_key, input_key_material);
  *output1 = HmacSha256(temp_key, "\x01");
  *output2 = HmacSha256(temp_key, View(*output1), "\x02");
  sodium_memzero(temp_key.data(), temp_key.size());
}

void InitSodiumOrDie() {
  if (sodium_init() < 0) std::abort();
}

}  // namespace

DhPublicKey X25519PublicKey(const DhPrivateKey& private_key) {
  InitSodiumOrDie();
  DhPublicKey public_key;
  // Fails only for a scalar that clamps to zero, which clamping makes impossible.
  if (crypto_scalarmult_base(public_key.data(), private_key.data()) != 0) std::abort();
  return public_key;
}

XxHandshakeState::XxHandshakeState(Role role, absl::string_view prologue,
                                   const DhPrivateKey& local_static,
                                   const DhPrivateKey& local_ephemeral)
    : role_(role),
      static_private_(local_static),
      static_public_(X25519PublicKey(local_static)),
      ephemeral_private_(local_ephemeral),
      ephemeral_public_(X25519PublicKey(local_ephemeral)) {
  std::memcpy(hash_.data(), kNoiseProtocolName, kHashBytes);
  chaining_key_ = hash_;
  MixHash(prologue);
}

XxHandshakeState::~XxHandshakeState() {
  sodium_memzero(static_private_.data(), static_private_.size());
  sodium_memzero(ephemeral_private_.data(), ephemeral_private_.size());
  sodium_memzero(chaining_key_.data(), chaining_key_.size());
}

bool XxHandshakeState::is_my_turn() const {
  if (!status_.ok() || next_message_ >= kMessageCount) return false;
  const bool initiator_writes = next_message_ % 2 == 0;
  return initiator_writes == (role_ == Role::kInitiator);
}

void XxHandshakeState::MixHash(absl::string_view data) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, hash_.data(), hash_.size());
  crypto_hash_sha256_update(&state, Bytes(data), data.size());
  crypto_hash_sha256_final(&state, hash_.data());
}

void XxHandshakeState::MixKey(const std::array<uint8_t, kDhKeyBytes>& input_key_material) {
  Hash key;
  Hkdf2(chaining_key_, View(input_key_material), &chaining_key_, &key);
  // HASHLEN is 32, the key length, so no truncation is needed.
  cipher_ = CipherState(key);
  sodium_memzero(key.data(), key.size());
}

absl::Status XxHandshakeState::EncryptAndHash(absl::string_view plaintext, std::string* out) {
  const size_t start = out->size();
  if (absl::Status status = cipher_.EncryptWithAd(View(hash_), plaintext, out); !status.ok()) {
    return status;
  }
  MixHash(absl::string_view(*out).substr(start));
  return absl::OkStatus();
}

absl::Status XxHandshakeState::DecryptAndHash(absl::string_view ciphertext, std::string* out) {
  if (absl::Status status = cipher_.DecryptWithAd(View(hash_), ciphertext, out); !status.ok()) {
    return status;
  }
  MixHash(ciphertext);
  return absl::OkStatus();
}

absl::Status XxHandshakeState::MixDh(const DhPrivateKey& local_private,
                                     const DhPublicKey& remote_public) {
  std::array<uint8_t, kDhKeyBytes> shared;
  if (crypto_scalarmult(shared.data(), local_private.data(), remote_public.data()) != 0) {
    return absl::InvalidArgumentError("remote Noise key is a low-order X25519 point");
  }
  MixKey(shared);
  sodium_memzero(shared.data(), shared.size());
  return absl::OkStatus();
}

absl::Status XxHandshakeState::Fail(absl::Status status) {
  status_ = status;
  return status;
}

absl::Status XxHandshakeState::WriteMessage(absl::string_view payload, std::string* message) {
  if (!status_.ok()) return status_;
  if (!is_my_turn()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "cannot write Noise handshake message %d: not this side's turn", next_message_ + 1));
  }
  std::string written;
  if (absl::Status status = WriteTokens(payload, &written); !status.ok()) return Fail(status);
  if (written.size() > kMaxNoiseMessageBytes) {
    return Fail(absl::InvalidArgumentError(
        absl::StrFormat("Noise handshake message would be %d bytes, over the %d-byte limit",
                        written.size(), kMaxNoiseMessageBytes)));
  }
  ++next_message_;
  message->append(written);
  return absl::OkStatus();
}

absl::Status XxHandshakeState::ReadMessage(absl::string_view message, std::string* payload) {
  if (!status_.ok()) return status_;
  if (next_message_ >= kMessageCount || is_my_turn()) {
    return Fail(absl::FailedPreconditionError(absl::StrFormat(
        "unexpected Noise handshake message %d: not the remote's turn", next_message_ + 1)));
  }
  if (message.size() > kMaxNoiseMessageBytes) {
    return Fail(absl::InvalidArgumentError(
        absl::StrFormat("Noise handshake message is %d bytes, over the %d-byte limit",
                        message.size(), kMaxNoiseMessageBytes)));
  }
  std::string read;
  if (absl::Status status = ReadTokens(message, &read); !status.ok()) return Fail(status);
  ++next_message_;
  payload->append(read);
  return absl::OkStatus();
}

absl::Status XxHandshakeState::WriteTokens(absl::string_view payload, std::string* message) {
  absl::Status status;
  switch (next_message_) {
    case 0:  // -> e
      AppendBytes(View(ephemeral_public_), message);
      MixHash(View(ephemeral_public_));
      break;
    case 1:  // <- e, ee, s, es   (responder: es = DH(s, re))
      AppendBytes(View(ephemeral_public_), message);
      MixHash(View(ephemeral_public_));
      status = MixDh(ephemeral_private_, remote_ephemeral_);
      if (status.ok()) status = EncryptAndHash(View(static_public_), message);
      if (status.ok()) status = MixDh(static_private_, remote_ephemeral_);
      break;
    case 2:  // -> s, se   (initiator: se = DH(s, re))
      status = EncryptAndHash(View(static_public_), message);
      if (status.ok()) status = MixDh(static_private_, remote_ephemeral_);
      break;
  }
  if (!status.ok()) return status;
  return EncryptAndHash(payload, message);
}

absl::Status XxHandshakeState::ReadTokens(absl::string_view message, std::string* payload) {
  const size_t encrypted_static_bytes = kDhKeyBytes + kAeadTagBytes;
  auto take_ephemeral = [&]() -> absl::Status {
    if (message.size() < kDhKeyBytes) {
      return absl::InvalidArgumentError("Noise handshake message too short for an ephemeral key");
    }
    std::memcpy(remote_ephemeral_.data(), message.data(), kDhKeyBytes);
    message.remove_prefix(kDhKeyBytes);
    MixHash(View(remote_ephemeral_));
    return absl::OkStatus();
  };
  auto take_static = [&]() -> absl::Status {
    if (message.size() < encrypted_static_bytes) {
      return absl::InvalidArgumentError("Noise handshake message too short for a static key");
    }
    std::string decrypted;
    absl::Status status = DecryptAndHash(message.substr(0, encrypted_static_bytes), &decrypted);
    if (!status.ok()) return status;
    std::memcpy(remote_static_.data(), decrypted.data(), kDhKeyBytes);
    has_remote_static_ = true;
    message.remove_prefix(encrypted_static_bytes);
    return absl::OkStatus();
  };

  absl::Status status;
  switch (next_message_) {
    case 0:  // -> e
      status = take_ephemeral();
      break;
    case 1:  // <- e, ee, s, es   (initiator: es = DH(e, rs))
      status = take_ephemeral();
      if (status.ok()) status = MixDh(ephemeral_private_, remote_ephemeral_);
      if (status.ok()) status = take_static();
      if (status.ok()) status = MixDh(ephemeral_private_, remote_static_);
      break;
    case 2:  // -> s, se   (responder: se = DH(e, rs))
      status = take_static();
      if (status.ok()) status = MixDh(ephemeral_private_, remote_static_);
      break;
  }
  if (!status.ok()) return status;
  return DecryptAndHash(message, payload);
}

TransportCiphers XxHandshakeState::Split() const {
  // Keys from an unfinished handshake would be neither secret nor shared.
  if (!finished()) std::abort();
  Hash initiator_to_responder;
  Hash responder_to_initiator;
  Hkdf2(chaining_key_, "", &initiator_to_responder, &responder_to_initiator);
  TransportCiphers ciphers;
  if (role_ == Role::kInitiator) {
    ciphers = {CipherState(initiator_to_responder), CipherState(responder_to_initiator)};
  } else {
    ciphers = {CipherState(responder_to_initiator), CipherState(initiator_to_responder)};
  }
  sodium_memzero(initiator_to_responder.data(), initiator_to_responder.size());
  sodium_memzero(responder_to_initiator.data(), responder_to_initiator.size());
  return ciphers;
}

}  // namespace connmgr::noise
