#include "shell/noise/xx_handshake.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shell/noise/test_util.h"

namespace connmgr::noise {
namespace {

// Noise_XX_25519_ChaChaPoly_SHA256 from the cacophony test vectors
// (github.com/haskell-cryptography/cacophony, vectors/cacophony.txt, commit 8ee9d41), the
// vector set snow and noise-c also check against.
constexpr char kPrologueHex[] = "4a6f686e2047616c74";  // "John Galt"
constexpr char kInitStaticHex[] =
    "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
constexpr char kInitEphemeralHex[] =
    "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
constexpr char kRespStaticHex[] =
    "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
constexpr char kRespEphemeralHex[] =
    "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
constexpr char kHandshakeHashHex[] =
    "c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e";

struct VectorMessage {
  const char* payload_hex;
  const char* ciphertext_hex;
};

// Messages 1-3 are the handshake; 4-6 are transport messages. Directions keep alternating, so
// message 4 goes from the responder to the initiator.
const VectorMessage kMessages[] = {
    {"4c756477696720766f6e204d69736573",
     "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e204d6973"
     "6573"},
    {"4d757272617920526f746862617264",
     "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cbad1f276e038c48378ffce2b6"
     "5285e08d6b68aaa3629a5a8639392490e5b9bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f"
     "8a0db50f8814c7194e83f23dbd8d162c9326ad"},
    {"462e20412e20486179656b",
     "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a80ae475b9df0f169ae80a89be0865"
     "b57f58c9fea0d4ec82a286427402f113e4b6ae769a1d95941d49b25030"},
    {"4361726c204d656e676572", "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df"},
    {"4a65616e2d426170746973746520536179",
     "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5"},
    {"457567656e2042f6686d20766f6e2042617765726b",
     "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f"},
};

XxHandshakeState VectorInitiator() {
  return XxHandshakeState(Role::kInitiator, Unhex(kPrologueHex),
                          UnhexArray<kDhKeyBytes>(kInitStaticHex),
                          UnhexArray<kDhKeyBytes>(kInitEphemeralHex));
}

XxHandshakeState VectorResponder() {
  return XxHandshakeState(Role::kResponder, Unhex(kPrologueHex),
                          UnhexArray<kDhKeyBytes>(kRespStaticHex),
                          UnhexArray<kDhKeyBytes>(kRespEphemeralHex));
}

TEST(X25519Test, Rfc7748PublicKeys) {
  // RFC 7748 section 6.1.
  EXPECT_EQ(HexArray(X25519PublicKey(UnhexArray<kDhKeyBytes>(
                "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"))),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(HexArray(X25519PublicKey(UnhexArray<kDhKeyBytes>(
                "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"))),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
}

TEST(XxHandshakeTest, CacophonyKnownAnswer) {
  XxHandshakeState initiator = VectorInitiator();
  XxHandshakeState responder = VectorResponder();

  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(testing::Message() << "handshake message " << i + 1);
    XxHandshakeState& writer = i % 2 == 0 ? initiator : responder;
    XxHandshakeState& reader = i % 2 == 0 ? responder : initiator;
    ASSERT_TRUE(writer.is_my_turn());
    ASSERT_FALSE(reader.is_my_turn());
    std::string message;
    ASSERT_TRUE(writer.WriteMessage(Unhex(kMessages[i].payload_hex), &message).ok());
    EXPECT_EQ(Hex(message), kMessages[i].ciphertext_hex);
    std::string payload;
    ASSERT_TRUE(reader.ReadMessage(message, &payload).ok());
    EXPECT_EQ(Hex(payload), kMessages[i].payload_hex);
  }

  ASSERT_TRUE(initiator.finished());
  ASSERT_TRUE(responder.finished());
  EXPECT_EQ(HexArray(initiator.handshake_hash()), kHandshakeHashHex);
  EXPECT_EQ(HexArray(responder.handshake_hash()), kHandshakeHashHex);
  EXPECT_EQ(initiator.remote_static(), responder.local_static_public());
  EXPECT_EQ(responder.remote_static(), initiator.local_static_public());

  TransportCiphers initiator_ciphers = initiator.Split();
  TransportCiphers responder_ciphers = responder.Split();
  for (size_t i = 3; i < 6; ++i) {
    SCOPED_TRACE(testing::Message() << "transport message " << i + 1);
    const bool from_initiator = i % 2 == 0;
    CipherState& send = from_initiator ? initiator_ciphers.send : responder_ciphers.send;
    CipherState& receive = from_initiator ? responder_ciphers.receive : initiator_ciphers.receive;
    std::string ciphertext;
    ASSERT_TRUE(send.EncryptWithAd("", Unhex(kMessages[i].payload_hex), &ciphertext).ok());
    EXPECT_EQ(Hex(ciphertext), kMessages[i].ciphertext_hex);
    std::string plaintext;
    ASSERT_TRUE(receive.DecryptWithAd("", ciphertext, &plaintext).ok());
    EXPECT_EQ(Hex(plaintext), kMessages[i].payload_hex);
  }
}

TEST(XxHandshakeTest, EveryTamperedByteOfMessage2FailsAndStaysFailed) {
  const std::string message2 = Unhex(kMessages[1].ciphertext_hex);
  for (size_t i = 0; i < message2.size(); ++i) {
    SCOPED_TRACE(testing::Message() << "byte " << i);
    XxHandshakeState initiator = VectorInitiator();
    std::string message1;
    ASSERT_TRUE(initiator.WriteMessage(Unhex(kMessages[0].payload_hex), &message1).ok());
    std::string tampered = message2;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    std::string payload;
    const absl::Status status = initiator.ReadMessage(tampered, &payload);
    EXPECT_FALSE(status.ok());
    EXPECT_TRUE(payload.empty());
    EXPECT_FALSE(initiator.is_my_turn());
    std::string message3;
    EXPECT_FALSE(initiator.WriteMessage("", &message3).ok());
    EXPECT_TRUE(message3.empty());
  }
}

TEST(XxHandshakeTest, TruncatedMessagesFail) {
  const std::string message2 = Unhex(kMessages[1].ciphertext_hex);
  for (size_t length : {size_t{0}, size_t{31}, size_t{32}, size_t{79}, size_t{95}}) {
    SCOPED_TRACE(testing::Message() << "length " << length);
    XxHandshakeState initiator = VectorInitiator();
    std::string message1;
    ASSERT_TRUE(initiator.WriteMessage("", &message1).ok());
    std::string payload;
    EXPECT_FALSE(initiator.ReadMessage(message2.substr(0, length), &payload).ok());
  }
  XxHandshakeState responder = VectorResponder();
  std::string payload;
  EXPECT_EQ(responder.ReadMessage(std::string(31, 'x'), &payload).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(XxHandshakeTest, OutOfTurnCallsAreRefused) {
  XxHandshakeState responder = VectorResponder();
  std::string message;
  EXPECT_EQ(responder.WriteMessage("", &message).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(message.empty());

  XxHandshakeState initiator = VectorInitiator();
  std::string payload;
  EXPECT_EQ(initiator.ReadMessage(std::string(32, 'x'), &payload).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(XxHandshakeTest, LowOrderRemoteEphemeralIsRefused) {
  XxHandshakeState initiator = VectorInitiator();
  XxHandshakeState responder = VectorResponder();
  std::string message1;
  ASSERT_TRUE(initiator.WriteMessage("", &message1).ok());
  // The all-zero point gives an all-zero shared secret, which libsodium reports.
  std::string payload;
  ASSERT_TRUE(responder.ReadMessage(std::string(32, '\0'), &payload).ok());
  std::string message2;
  EXPECT_EQ(responder.WriteMessage("", &message2).code(), absl::StatusCode::kInvalidArgument);
}

TEST(XxHandshakeTest, OversizedPayloadIsRefused) {
  XxHandshakeState initiator = VectorInitiator();
  std::string message;
  EXPECT_EQ(initiator.WriteMessage(std::string(kMaxNoiseMessageBytes, 'p'), &message).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(message.empty());
}

}  // namespace
}  // namespace connmgr::noise
