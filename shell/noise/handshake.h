// The libp2p Noise handshake (libp2p specs, noise/README.md), sans I/O: XX over X25519,
// ChaChaPoly and SHA-256 with an empty prologue, framed with 2-byte lengths, each side proving
// its libp2p identity in its static-key message with a NoiseHandshakePayload
// {1: identity_key (PublicKey protobuf), 2: identity_sig (the identity key's signature over
// "noise-libp2p-static-key:" + its Noise static public key)}. Identity keys may be of any libp2p
// type (Ed25519, secp256k1, RSA, ECDSA P-256: shell/crypto/keys.h). Extensions (field 4) are
// neither sent nor required; received ones are ignored.
//
// How a driver runs it:
//
//   Handshake handshake = Handshake::Initiator(identity, HandshakeKeys::Random(), expected);
//   write(handshake.PollSend());                     // initiator: message 1
//   while (!handshake.done()) {
//     if (absl::Status s = handshake.HandleReceived(read_some()); !s.ok()) return close(s);
//     write(handshake.PollSend());                   // whatever became due, possibly nothing
//   }
//   PeerId remote = handshake.remote_peer();
//   TransportCiphers ciphers = handshake.Split();
//   TransportDecoder decoder(ciphers.receive);
//   decoder.Decode(handshake.TakeLeftover(), &plaintext);   // bytes that came with message 3
//
// PollSend must be drained after each HandleReceived, including the one that makes done()
// true (the initiator's message 3 is queued then). Errors are final.
#ifndef CONNMGR_SHELL_NOISE_HANDSHAKE_H_
#define CONNMGR_SHELL_NOISE_HANDSHAKE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/peer_id.h"
#include "shell/crypto/keys.h"
#include "shell/noise/identity.h"
#include "shell/noise/transport.h"
#include "shell/noise/xx_handshake.h"

namespace connmgr::noise {

inline constexpr char kStaticKeySignaturePrefix[] = "noise-libp2p-static-key:";

// The caller's randomness for one handshake.
struct HandshakeKeys {
  // The Noise static key. libp2p binds it to the identity by signature, so a fresh one per
  // handshake is fine and is what Random() gives.
  DhPrivateKey static_private{};
  DhPrivateKey ephemeral_private{};

  static HandshakeKeys Random();
};

// What a NoiseHandshakePayload says once checked.
struct VerifiedPayload {
  crypto::KeyType key_type = crypto::KeyType::kEd25519;
  std::string identity_public_key;  // the key's Data bytes (Ed25519: 32 raw bytes)
  PeerId peer_id;
};

// Builds this side's payload for a Noise static key.
absl::StatusOr<std::string> EncodeHandshakePayload(const crypto::PrivateKey& identity,
                                                   const DhPublicKey& noise_static_public);
// Decodes a remote's payload and checks its signature over `noise_static_public`.
// kInvalidArgument if malformed (or a key outside the limits of shell/crypto/keys.h),
// kUnimplemented for an unknown key type, kUnauthenticated if the signature does not verify.
absl::StatusOr<VerifiedPayload> VerifyHandshakePayload(absl::string_view payload,
                                                       const DhPublicKey& noise_static_public);

class Handshake {
 public:
  // Queues message 1 at once. With `expected_remote`, a responder proving any other identity
  // fails the handshake with kPermissionDenied.
  static Handshake Initiator(const crypto::PrivateKey& identity, const HandshakeKeys& keys,
                             std::optional<PeerId> expected_remote = std::nullopt);
  static Handshake Responder(const crypto::PrivateKey& identity, const HandshakeKeys& keys);

  Handshake(Handshake&&) = default;
  Handshake& operator=(Handshake&&) = default;

  // Feeds bytes received from the remote, in any chunking. Bytes after the last handshake
  // message are kept for TakeLeftover().
  absl::Status HandleReceived(absl::string_view bytes);
  // Drains the framed bytes to send.
  std::string PollSend();

  bool done() const { return done_; }
  const absl::Status& status() const { return status_; }
  Role role() const { return state_->role(); }

  // Set once the remote's payload has been verified; empty before.
  const PeerId& remote_peer() const { return remote_peer_; }
  const std::string& remote_identity_public_key() const { return remote_identity_public_key_; }
  crypto::KeyType remote_key_type() const { return remote_key_type_; }
  const HandshakeHash& handshake_hash() const { return state_->handshake_hash(); }

  // Received bytes that followed the final handshake message: the start of the transport
  // stream, to be fed to the TransportDecoder first.
  std::string TakeLeftover();
  // What the handshake holds between calls: a partial message, bytes to send, the leftover.
  size_t buffered_bytes() const {
    return reader_.buffered_bytes() + to_send_.size() + leftover_.size();
  }
  // The transport ciphers; only once done(). Call it once: both sides' first nonce is 0.
  TransportCiphers Split() const { return state_->Split(); }

 private:
  Handshake(Role role, const crypto::PrivateKey& identity, const HandshakeKeys& keys,
            std::optional<PeerId> expected_remote);

  absl::Status HandleMessage(absl::string_view message);
  absl::Status WriteMessage(absl::string_view payload);
  absl::Status AcceptRemotePayload(absl::string_view payload);

  // Heap-held so that Handshake moves cheaply and the key material is never copied.
  std::unique_ptr<XxHandshakeState> state_;
  std::string local_payload_;
  std::optional<PeerId> expected_remote_;
  FrameReader reader_;
  std::string to_send_;
  std::string leftover_;
  PeerId remote_peer_;
  std::string remote_identity_public_key_;
  crypto::KeyType remote_key_type_ = crypto::KeyType::kEd25519;
  absl::Status status_;
  bool done_ = false;
};

}  // namespace connmgr::noise

#endif  // CONNMGR_SHELL_NOISE_HANDSHAKE_H_
