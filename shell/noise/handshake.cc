#include "shell/noise/handshake.h"

#include <sodium.h>

#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "shell/noise/protobuf.h"

namespace connmgr::noise {
namespace {

constexpr uint32_t kIdentityKeyField = 1;
constexpr uint32_t kIdentitySigField = 2;

std::string SignedStaticKey(const DhPublicKey& noise_static_public) {
  return absl::StrCat(kStaticKeySignaturePrefix,
                      absl::string_view(reinterpret_cast<const char*>(noise_static_public.data()),
                                        noise_static_public.size()));
}

}  // namespace

HandshakeKeys HandshakeKeys::Random() {
  if (sodium_init() < 0) std::abort();
  HandshakeKeys keys;
  randombytes_buf(keys.static_private.data(), keys.static_private.size());
  randombytes_buf(keys.ephemeral_private.data(), keys.ephemeral_private.size());
  return keys;
}

absl::StatusOr<std::string> EncodeHandshakePayload(const crypto::PrivateKey& identity,
                                                   const DhPublicKey& noise_static_public) {
  absl::StatusOr<std::string> signature = identity.Sign(SignedStaticKey(noise_static_public));
  if (!signature.ok()) return signature.status();
  std::string payload;
  AppendBytesField(kIdentityKeyField, identity.PublicKeyProtobuf(), &payload);
  AppendBytesField(kIdentitySigField, *signature, &payload);
  return payload;
}

absl::StatusOr<VerifiedPayload> VerifyHandshakePayload(absl::string_view payload,
                                                       const DhPublicKey& noise_static_public) {
  std::optional<absl::string_view> identity_key;
  std::optional<absl::string_view> identity_sig;
  ProtobufReader reader(payload, kMaxNoiseMessageBytes);
  ProtobufField field;
  while (reader.Next(&field)) {
    if (field.number != kIdentityKeyField && field.number != kIdentitySigField) continue;
    if (field.wire_type != WireType::kLengthDelimited) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "Noise handshake payload field %d is not length-delimited", field.number));
    }
    (field.number == kIdentityKeyField ? identity_key : identity_sig) = field.bytes;
  }
  if (!reader.status().ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Noise handshake payload: ", reader.status().message()));
  }
  if (!identity_key)
    return absl::InvalidArgumentError("Noise handshake payload has no identity_key");
  if (!identity_sig)
    return absl::InvalidArgumentError("Noise handshake payload has no identity_sig");

  absl::StatusOr<crypto::PublicKey> public_key = crypto::PublicKey::FromProtobuf(*identity_key);
  if (!public_key.ok()) {
    return absl::Status(public_key.status().code(), absl::StrCat("Noise handshake identity_key: ",
                                                                 public_key.status().message()));
  }
  if (!public_key->Verify(SignedStaticKey(noise_static_public), *identity_sig)) {
    return absl::UnauthenticatedError(
        "Noise handshake identity_sig does not verify against identity_key and the static key");
  }
  return VerifiedPayload{public_key->type(), public_key->data(), public_key->ToPeerId()};
}

Handshake::Handshake(Role role, const crypto::PrivateKey& identity, const HandshakeKeys& keys,
                     std::optional<PeerId> expected_remote)
    : state_(std::make_unique<XxHandshakeState>(role, /*prologue=*/"", keys.static_private,
                                                keys.ephemeral_private)),
      expected_remote_(std::move(expected_remote)) {
  absl::StatusOr<std::string> payload =
      EncodeHandshakePayload(identity, state_->local_static_public());
  if (payload.ok()) {
    local_payload_ = *std::move(payload);
  } else {
    status_ = payload.status();
  }
}

Handshake Handshake::Initiator(const crypto::PrivateKey& identity, const HandshakeKeys& keys,
                               std::optional<PeerId> expected_remote) {
  Handshake handshake(Role::kInitiator, identity, keys, std::move(expected_remote));
  // Message 1 carries no payload: it would travel unencrypted.
  if (handshake.status_.ok()) handshake.status_ = handshake.WriteMessage("");
  return handshake;
}

Handshake Handshake::Responder(const crypto::PrivateKey& identity, const HandshakeKeys& keys) {
  return Handshake(Role::kResponder, identity, keys, std::nullopt);
}

absl::Status Handshake::HandleReceived(absl::string_view bytes) {
  if (!status_.ok()) return status_;
  while (!done_) {
    std::optional<std::string> message = reader_.Next(&bytes);
    if (!message) break;
    status_ = HandleMessage(*message);
    if (!status_.ok()) return status_;
  }
  if (done_) leftover_.append(bytes.data(), bytes.size());
  return absl::OkStatus();
}

std::string Handshake::PollSend() { return std::exchange(to_send_, std::string()); }

std::string Handshake::TakeLeftover() { return std::exchange(leftover_, std::string()); }

absl::Status Handshake::WriteMessage(absl::string_view payload) {
  std::string message;
  if (absl::Status status = state_->WriteMessage(payload, &message); !status.ok()) return status;
  return AppendFrame(message, &to_send_);
}

absl::Status Handshake::HandleMessage(absl::string_view message) {
  std::string payload;
  if (absl::Status status = state_->ReadMessage(message, &payload); !status.ok()) return status;
  if (role() == Role::kResponder && !state_->has_remote_static()) {
    // Message 1: any payload is unauthenticated, so it is ignored.
    return WriteMessage(local_payload_);
  }
  if (absl::Status status = AcceptRemotePayload(payload); !status.ok()) return status;
  if (role() == Role::kInitiator) {
    if (absl::Status status = WriteMessage(local_payload_); !status.ok()) return status;
  }
  done_ = state_->finished();
  return absl::OkStatus();
}

absl::Status Handshake::AcceptRemotePayload(absl::string_view payload) {
  absl::StatusOr<VerifiedPayload> verified =
      VerifyHandshakePayload(payload, state_->remote_static());
  if (!verified.ok()) return verified.status();
  if (expected_remote_ && verified->peer_id != *expected_remote_) {
    return absl::PermissionDeniedError(
        absl::StrFormat("Noise handshake reached peer %s, not the expected %s",
                        verified->peer_id.ToString(), expected_remote_->ToString()));
  }
  remote_peer_ = std::move(verified->peer_id);
  remote_identity_public_key_ = std::move(verified->identity_public_key);
  remote_key_type_ = verified->key_type;
  return absl::OkStatus();
}

}  // namespace connmgr::noise
