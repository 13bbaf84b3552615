#include "shell/noise/handshake.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "shell/noise/protobuf.h"
#include "shell/noise/test_util.h"
#include "shell/noise/transport.h"

namespace connmgr::noise {
namespace {

Ed25519Identity IdentityFromByte(uint8_t byte) {
  Ed25519Identity::Seed seed;
  seed.fill(byte);
  return Ed25519Identity::FromSeed(seed);
}

HandshakeKeys KeysFromByte(uint8_t byte) {
  HandshakeKeys keys;
  keys.static_private.fill(byte);
  keys.ephemeral_private.fill(static_cast<uint8_t>(byte + 1));
  return keys;
}

std::string Framed(absl::string_view body) {
  std::string wire;
  EXPECT_TRUE(AppendFrame(body, &wire).ok());
  return wire;
}

std::string Unframed(absl::string_view wire) {
  FrameReader reader;
  std::optional<std::string> body = reader.Next(&wire);
  EXPECT_TRUE(body.has_value());
  EXPECT_TRUE(wire.empty());
  return body.value_or("");
}

class HandshakeTest : public testing::Test {
 protected:
  const Ed25519Identity alice_ = IdentityFromByte(0xa1);
  const Ed25519Identity bob_ = IdentityFromByte(0xb0);
  const Ed25519Identity mallory_ = IdentityFromByte(0x66);
};

TEST_F(HandshakeTest, FullHandshakeThenTransportBothWays) {
  Handshake initiator = Handshake::Initiator(alice_, KeysFromByte(1), bob_.peer_id());
  Handshake responder = Handshake::Responder(bob_, KeysFromByte(3));

  const std::string message1 = initiator.PollSend();
  EXPECT_EQ(message1.size(), kFrameLengthPrefixBytes + kDhKeyBytes);
  ASSERT_TRUE(responder.HandleReceived(message1).ok());
  EXPECT_FALSE(responder.done());
  const std::string message2 = responder.PollSend();
  ASSERT_FALSE(message2.empty());
  EXPECT_TRUE(responder.PollSend().empty());

  ASSERT_TRUE(initiator.HandleReceived(message2).ok());
  ASSERT_TRUE(initiator.done());
  EXPECT_EQ(initiator.remote_peer(), bob_.peer_id());
  EXPECT_EQ(initiator.remote_identity_public_key(), bob_.public_key());
  const std::string message3 = initiator.PollSend();
  ASSERT_FALSE(message3.empty());

  // The initiator's first transport frame rides in the same chunk as message 3.
  TransportCiphers alice_ciphers = initiator.Split();
  TransportEncoder alice_sends(alice_ciphers.send);
  TransportDecoder alice_receives(alice_ciphers.receive);
  std::string alice_wire = message3;
  ASSERT_TRUE(alice_sends.Encode("hello bob", &alice_wire).ok());

  ASSERT_TRUE(responder.HandleReceived(alice_wire).ok());
  ASSERT_TRUE(responder.done());
  EXPECT_EQ(responder.remote_peer(), alice_.peer_id());
  EXPECT_EQ(responder.remote_identity_public_key(), alice_.public_key());
  EXPECT_TRUE(responder.PollSend().empty());
  EXPECT_EQ(initiator.handshake_hash(), responder.handshake_hash());

  TransportCiphers bob_ciphers = responder.Split();
  TransportEncoder bob_sends(bob_ciphers.send);
  TransportDecoder bob_receives(bob_ciphers.receive);
  std::string bob_plaintext;
  ASSERT_TRUE(bob_receives.Decode(responder.TakeLeftover(), &bob_plaintext).ok());
  EXPECT_EQ(bob_plaintext, "hello bob");

  std::string bob_wire;
  ASSERT_TRUE(bob_sends.Encode("hello alice", &bob_wire).ok());
  std::string alice_plaintext;
  ASSERT_TRUE(alice_receives.Decode(bob_wire, &alice_plaintext).ok());
  EXPECT_EQ(alice_plaintext, "hello alice");

  // A frame sent one way cannot be read as the other way's.
  std::string reflected;
  ASSERT_TRUE(alice_sends.Encode("ping", &reflected).ok());
  std::string ignored;
  EXPECT_EQ(alice_receives.Decode(reflected, &ignored).code(), absl::StatusCode::kDataLoss);
}

TEST_F(HandshakeTest, DeterministicKeysGiveDeterministicBytes) {
  Handshake a = Handshake::Initiator(alice_, KeysFromByte(1));
  Handshake b = Handshake::Initiator(alice_, KeysFromByte(1));
  EXPECT_EQ(a.PollSend(), b.PollSend());
}

TEST_F(HandshakeTest, ByteAtATimeDelivery) {
  Handshake initiator = Handshake::Initiator(alice_, KeysFromByte(5));
  Handshake responder = Handshake::Responder(bob_, KeysFromByte(7));
  auto deliver = [](const std::string& wire, Handshake& to) {
    for (char c : wire) ASSERT_TRUE(to.HandleReceived(absl::string_view(&c, 1)).ok());
  };
  deliver(initiator.PollSend(), responder);
  deliver(responder.PollSend(), initiator);
  deliver(initiator.PollSend(), responder);
  ASSERT_TRUE(initiator.done());
  ASSERT_TRUE(responder.done());
  EXPECT_EQ(initiator.remote_peer(), bob_.peer_id());
  EXPECT_EQ(responder.remote_peer(), alice_.peer_id());
  EXPECT_TRUE(responder.TakeLeftover().empty());
}

TEST_F(HandshakeTest, TamperedMessage2FailsAndStaysFailed) {
  Handshake initiator = Handshake::Initiator(alice_, KeysFromByte(1));
  Handshake responder = Handshake::Responder(bob_, KeysFromByte(3));
  ASSERT_TRUE(responder.HandleReceived(initiator.PollSend()).ok());
  std::string message2 = responder.PollSend();
  message2[message2.size() - 5] ^= 0x20;  // inside the encrypted payload
  EXPECT_EQ(initiator.HandleReceived(message2).code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(initiator.done());
  EXPECT_TRUE(initiator.PollSend().empty());
  EXPECT_TRUE(initiator.remote_peer().is_empty());
  EXPECT_EQ(initiator.HandleReceived("more").code(), absl::StatusCode::kDataLoss);
}

TEST_F(HandshakeTest, TamperedMessage3Fails) {
  Handshake initiator = Handshake::Initiator(alice_, KeysFromByte(1));
  Handshake responder = Handshake::Responder(bob_, KeysFromByte(3));
  ASSERT_TRUE(responder.HandleReceived(initiator.PollSend()).ok());
  ASSERT_TRUE(initiator.HandleReceived(responder.PollSend()).ok());
  std::string message3 = initiator.PollSend();
  message3[kFrameLengthPrefixBytes + 3] ^= 0x01;  // inside the encrypted static key
  EXPECT_EQ(responder.HandleReceived(message3).code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(responder.done());
  EXPECT_TRUE(responder.remote_peer().is_empty());
}

TEST_F(HandshakeTest, UnexpectedPeerIdFails) {
  Handshake initiator = Handshake::Initiator(alice_, KeysFromByte(1), mallory_.peer_id());
  Handshake responder = Handshake::Responder(bob_, KeysFromByte(3));
  ASSERT_TRUE(responder.HandleReceived(initiator.PollSend()).ok());
  const absl::Status status = initiator.HandleReceived(responder.PollSend());
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(status.message().find(bob_.peer_id().ToString()), std::string::npos) << status;
  EXPECT_FALSE(initiator.done());
  EXPECT_TRUE(initiator.PollSend().empty()) << "message 3 must not be sent to the wrong peer";
}

// A responder that runs the Noise handshake itself, with a payload of the test's choosing.
absl::Status InitiatorVerdictOnPayload(const crypto::PrivateKey& initiator_identity,
                                       absl::string_view responder_payload) {
  Handshake initiator = Handshake::Initiator(initiator_identity, KeysFromByte(1));
  const HandshakeKeys responder_keys = KeysFromByte(3);
  XxHandshakeState responder(Role::kResponder, "", responder_keys.static_private,
                             responder_keys.ephemeral_private);
  std::string ignored;
  EXPECT_TRUE(responder.ReadMessage(Unframed(initiator.PollSend()), &ignored).ok());
  std::string message2;
  EXPECT_TRUE(responder.WriteMessage(responder_payload, &message2).ok());
  return initiator.HandleReceived(Framed(message2));
}

TEST_F(HandshakeTest, SignatureOverAnotherStaticKeyFails) {
  const DhPublicKey other_static = X25519PublicKey(KeysFromByte(9).static_private);
  EXPECT_EQ(
      InitiatorVerdictOnPayload(alice_, EncodeHandshakePayload(bob_, other_static).value()).code(),
      absl::StatusCode::kUnauthenticated);
}

TEST_F(HandshakeTest, SignatureByAnotherKeyFails) {
  const DhPublicKey responder_static = X25519PublicKey(KeysFromByte(3).static_private);
  std::string payload;
  AppendBytesField(1, bob_.PublicKeyProtobuf(), &payload);
  AppendBytesField(2,
                   mallory_.Sign(std::string(kStaticKeySignaturePrefix) +
                                 std::string(responder_static.begin(), responder_static.end())),
                   &payload);
  EXPECT_EQ(InitiatorVerdictOnPayload(alice_, payload).code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(HandshakeTest, CorrectPayloadWithExtensionsIsAccepted) {
  const DhPublicKey responder_static = X25519PublicKey(KeysFromByte(3).static_private);
  std::string payload = EncodeHandshakePayload(bob_, responder_static).value();
  std::string extensions;
  AppendBytesField(2, "/yamux/1.0.0", &extensions);
  AppendBytesField(4, extensions, &payload);
  EXPECT_TRUE(InitiatorVerdictOnPayload(alice_, payload).ok());
}

TEST_F(HandshakeTest, MalformedPayloadsFail) {
  const DhPublicKey responder_static = X25519PublicKey(KeysFromByte(3).static_private);
  std::string missing_signature;
  AppendBytesField(1, bob_.PublicKeyProtobuf(), &missing_signature);
  std::string rsa_key;
  AppendBytesField(1, EncodePublicKeyProtobuf(KeyType::kRsa, std::string(270, 'r')), &rsa_key);
  AppendBytesField(2, std::string(kEd25519SignatureBytes, 's'), &rsa_key);

  EXPECT_EQ(InitiatorVerdictOnPayload(alice_, "").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InitiatorVerdictOnPayload(alice_, "\xff").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(InitiatorVerdictOnPayload(alice_, missing_signature).code(),
            absl::StatusCode::kInvalidArgument);
  // An RSA "key" that is not DER: malformed, named as such.
  EXPECT_EQ(InitiatorVerdictOnPayload(alice_, rsa_key).code(), absl::StatusCode::kInvalidArgument);
  std::string unknown_type;
  AppendBytesField(1, EncodePublicKeyProtobuf(static_cast<KeyType>(7), "k"), &unknown_type);
  AppendBytesField(2, "s", &unknown_type);
  EXPECT_EQ(InitiatorVerdictOnPayload(alice_, unknown_type).code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(VerifyHandshakePayload(std::string("\x08\x01", 2), responder_static).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(HandshakeTest, ResponderChecksInitiatorSignature) {
  Handshake responder = Handshake::Responder(bob_, KeysFromByte(3));
  const HandshakeKeys initiator_keys = KeysFromByte(1);
  XxHandshakeState initiator(Role::kInitiator, "", initiator_keys.static_private,
                             initiator_keys.ephemeral_private);
  std::string message;
  ASSERT_TRUE(initiator.WriteMessage("", &message).ok());
  ASSERT_TRUE(responder.HandleReceived(Framed(message)).ok());
  std::string payload;
  ASSERT_TRUE(initiator.ReadMessage(Unframed(responder.PollSend()), &payload).ok());
  const DhPublicKey wrong_static = X25519PublicKey(KeysFromByte(9).static_private);
  message.clear();
  ASSERT_TRUE(
      initiator.WriteMessage(EncodeHandshakePayload(alice_, wrong_static).value(), &message).ok());
  EXPECT_EQ(responder.HandleReceived(Framed(message)).code(), absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(responder.done());
}

TEST_F(HandshakeTest, GarbageFromTheRemoteIsRefused) {
  Handshake responder = Handshake::Responder(bob_, KeysFromByte(3));
  EXPECT_EQ(responder.HandleReceived(Framed("short")).code(), absl::StatusCode::kInvalidArgument);

  Handshake initiator = Handshake::Initiator(alice_, KeysFromByte(1));
  initiator.PollSend();
  EXPECT_FALSE(initiator.HandleReceived(Framed(std::string(200, 'g'))).ok());
}

TEST_F(HandshakeTest, RandomKeysWork) {
  Handshake initiator = Handshake::Initiator(alice_, HandshakeKeys::Random(), bob_.peer_id());
  Handshake responder = Handshake::Responder(bob_, HandshakeKeys::Random());
  ASSERT_TRUE(responder.HandleReceived(initiator.PollSend()).ok());
  ASSERT_TRUE(initiator.HandleReceived(responder.PollSend()).ok());
  ASSERT_TRUE(responder.HandleReceived(initiator.PollSend()).ok());
  EXPECT_TRUE(initiator.done());
  EXPECT_TRUE(responder.done());
}

// Every libp2p key type on either side: each proves its identity, each learns the other's
// peer id and key type, and a wrong expected peer is refused.
TEST(HandshakeKeyTypesTest, EveryKeyTypeHandshakesWithEveryOther) {
  using crypto::KeyType;
  std::vector<crypto::PrivateKey> keys;
  for (KeyType type : {KeyType::kEd25519, KeyType::kSecp256k1, KeyType::kRsa, KeyType::kEcdsa}) {
    keys.push_back(crypto::PrivateKey::Generate(type).value());
  }
  for (const crypto::PrivateKey& a : keys) {
    for (const crypto::PrivateKey& b : keys) {
      SCOPED_TRACE(crypto::KeyTypeName(a.type()) + " -> " + crypto::KeyTypeName(b.type()));
      Handshake initiator = Handshake::Initiator(a, HandshakeKeys::Random(), b.peer_id());
      Handshake responder = Handshake::Responder(b, HandshakeKeys::Random());
      ASSERT_TRUE(responder.HandleReceived(initiator.PollSend()).ok());
      ASSERT_TRUE(initiator.HandleReceived(responder.PollSend()).ok());
      ASSERT_TRUE(responder.HandleReceived(initiator.PollSend()).ok());
      ASSERT_TRUE(initiator.done() && responder.done());
      EXPECT_EQ(initiator.remote_peer(), b.peer_id());
      EXPECT_EQ(responder.remote_peer(), a.peer_id());
      EXPECT_EQ(initiator.remote_key_type(), b.type());
      EXPECT_EQ(responder.remote_key_type(), a.type());
      EXPECT_EQ(responder.remote_identity_public_key(), a.public_key().data());

      Handshake wrong = Handshake::Initiator(a, HandshakeKeys::Random(), a.peer_id());
      Handshake other = Handshake::Responder(b, HandshakeKeys::Random());
      ASSERT_TRUE(other.HandleReceived(wrong.PollSend()).ok());
      if (a.peer_id() != b.peer_id()) {
        EXPECT_EQ(wrong.HandleReceived(other.PollSend()).code(),
                  absl::StatusCode::kPermissionDenied);
      }
    }
  }
}

}  // namespace
}  // namespace connmgr::noise
