// The Noise_XX_25519_ChaChaPoly_SHA256 handshake as the Noise Protocol Framework (rev. 34)
// defines it, with no libp2p in it: arbitrary prologue and payloads, caller-chosen keys.
// Handshake (handshake.h) runs the libp2p flavour on top of it; the known-answer test drives
// this class directly.
//
//   XX:  -> e
//        <- e, ee, s, es
//        -> s, se
//
//   XxHandshakeState initiator(Role::kInitiator, prologue, static_key, ephemeral_key);
//   std::string message;
//   initiator.WriteMessage(payload, &message);      // message 1, to the responder
//   ...
//   initiator.ReadMessage(reply, &payload);         // message 2
//   initiator.WriteMessage(payload, &message);      // message 3; now finished()
//   TransportCiphers ciphers = initiator.Split();
//
// Randomness comes from the caller: both private keys are arguments. Any error (a message out
// of turn, too short, failing authentication, a low-order DH key) is final: every later call
// returns the same status.
#ifndef CONNMGR_SHELL_NOISE_XX_HANDSHAKE_H_
#define CONNMGR_SHELL_NOISE_XX_HANDSHAKE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "shell/noise/cipher_state.h"

namespace connmgr::noise {

inline constexpr size_t kDhKeyBytes = 32;
inline constexpr size_t kHashBytes = 32;
// Noise caps every message, handshake or transport, at 65535 bytes.
inline constexpr size_t kMaxNoiseMessageBytes = 65535;
inline constexpr char kNoiseProtocolName[] = "Noise_XX_25519_ChaChaPoly_SHA256";

using DhPrivateKey = std::array<uint8_t, kDhKeyBytes>;
using DhPublicKey = std::array<uint8_t, kDhKeyBytes>;
using HandshakeHash = std::array<uint8_t, kHashBytes>;

enum class Role { kInitiator, kResponder };

// The two transport directions from one side's point of view.
struct TransportCiphers {
  CipherState send;
  CipherState receive;
};

// The X25519 public key of `private_key` (clamped as RFC 7748 says).
DhPublicKey X25519PublicKey(const DhPrivateKey& private_key);

class XxHandshakeState {
 public:
  XxHandshakeState(Role role, absl::string_view prologue, const DhPrivateKey& local_static,
                   const DhPrivateKey& local_ephemeral);
  XxHandshakeState(const XxHandshakeState&) = delete;
  XxHandshakeState& operator=(const XxHandshakeState&) = delete;
  ~XxHandshakeState();

  // Appends the next handshake message carrying `payload` to `*message`.
  // kFailedPrecondition if it is the other side's turn or the handshake is over;
  // kInvalidArgument if the message would exceed kMaxNoiseMessageBytes.
  absl::Status WriteMessage(absl::string_view payload, std::string* message);
  // Processes the remote's next handshake message and appends its payload to `*payload`.
  absl::Status ReadMessage(absl::string_view message, std::string* payload);

  // True when the next step is WriteMessage (false once finished or failed).
  bool is_my_turn() const;
  bool finished() const { return next_message_ == kMessageCount && status_.ok(); }
  const absl::Status& status() const { return status_; }

  Role role() const { return role_; }
  const DhPublicKey& local_static_public() const { return static_public_; }
  // Known after message 2 (initiator) or message 3 (responder).
  bool has_remote_static() const { return has_remote_static_; }
  const DhPublicKey& remote_static() const { return remote_static_; }
  // h: after finished(), identical on both sides and unique to this handshake.
  const HandshakeHash& handshake_hash() const { return hash_; }

  // The transport ciphers; only after finished().
  TransportCiphers Split() const;

 private:
  static constexpr int kMessageCount = 3;

  void MixHash(absl::string_view data);
  void MixKey(const std::array<uint8_t, kDhKeyBytes>& input_key_material);
  absl::Status EncryptAndHash(absl::string_view plaintext, std::string* out);
  absl::Status DecryptAndHash(absl::string_view ciphertext, std::string* out);
  // MixKey(DH(local_private, remote_public)); fails on a low-order remote key.
  absl::Status MixDh(const DhPrivateKey& local_private, const DhPublicKey& remote_public);
  absl::Status Fail(absl::Status status);

  absl::Status WriteTokens(absl::string_view payload, std::string* message);
  absl::Status ReadTokens(absl::string_view message, std::string* payload);

  Role role_;
  int next_message_ = 0;
  absl::Status status_;

  std::array<uint8_t, kHashBytes> chaining_key_{};
  HandshakeHash hash_{};
  CipherState cipher_;

  DhPrivateKey static_private_;
  DhPublicKey static_public_;
  DhPrivateKey ephemeral_private_;
  DhPublicKey ephemeral_public_;
  DhPublicKey remote_static_{};
  DhPublicKey remote_ephemeral_{};
  bool has_remote_static_ = false;
};

}  // namespace connmgr::noise

#endif  // CONNMGR_SHELL_NOISE_XX_HANDSHAKE_H_
