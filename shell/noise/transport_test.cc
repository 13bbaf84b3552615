#include "shell/noise/transport.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "shell/noise/test_util.h"

namespace connmgr::noise {
namespace {

constexpr size_t k200KiB = 204'800;

CipherState::Key TestKey() {
  return UnhexArray<kCipherKeyBytes>(
      "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
}

std::string Pattern(size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + i / 251) & 0xff);
  return out;
}

// Splits `wire` into frame bodies, checking each prefix.
std::vector<size_t> FrameBodySizes(absl::string_view wire) {
  std::vector<size_t> sizes;
  while (wire.size() >= kFrameLengthPrefixBytes) {
    const size_t body =
        (size_t{static_cast<uint8_t>(wire[0])} << 8) | static_cast<uint8_t>(wire[1]);
    sizes.push_back(body);
    wire.remove_prefix(kFrameLengthPrefixBytes + std::min(body, wire.size() - 2));
  }
  EXPECT_TRUE(wire.empty());
  return sizes;
}

TEST(FrameReaderTest, ByteAtATimeAndManyFramesPerChunk) {
  std::string wire;
  ASSERT_TRUE(AppendFrame("hello", &wire).ok());
  ASSERT_TRUE(AppendFrame("", &wire).ok());
  ASSERT_TRUE(AppendFrame(std::string(300, 'x'), &wire).ok());
  EXPECT_EQ(wire.substr(0, 7), std::string("\x00\x05hello", 7));

  FrameReader one_byte;
  std::vector<std::string> bodies;
  for (char c : wire) {
    absl::string_view input(&c, 1);
    while (std::optional<std::string> body = one_byte.Next(&input)) bodies.push_back(*body);
    EXPECT_TRUE(input.empty());
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"hello", "", std::string(300, 'x')}));
  EXPECT_EQ(one_byte.buffered_bytes(), 0u);

  FrameReader whole;
  bodies.clear();
  absl::string_view input = wire;
  while (std::optional<std::string> body = whole.Next(&input)) bodies.push_back(*body);
  EXPECT_EQ(bodies, (std::vector<std::string>{"hello", "", std::string(300, 'x')}));
}

TEST(FrameReaderTest, BuffersAtMostOneFrame) {
  std::string wire;
  ASSERT_TRUE(AppendFrame(std::string(kMaxFrameBodyBytes, 'm'), &wire).ok());
  ASSERT_EQ(wire.size(), kFrameLengthPrefixBytes + kMaxFrameBodyBytes);
  wire += std::string("\x00\x01z", 3);  // The start of another frame, already in the same chunk.
  FrameReader reader;
  absl::string_view input = absl::string_view(wire).substr(0, wire.size() - 4);
  EXPECT_FALSE(reader.Next(&input).has_value());
  EXPECT_EQ(reader.buffered_bytes(), kFrameLengthPrefixBytes + kMaxFrameBodyBytes - 1);
  input = absl::string_view(wire).substr(wire.size() - 4);
  std::optional<std::string> body = reader.Next(&input);
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(body->size(), kMaxFrameBodyBytes);
  EXPECT_EQ(input, std::string("\x00\x01z", 3)) << "the next frame is not consumed yet";
}

TEST(FrameReaderTest, AppendFrameRefusesOversizedBody) {
  std::string wire;
  EXPECT_EQ(AppendFrame(std::string(kMaxFrameBodyBytes + 1, 'o'), &wire).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(wire.empty());
}

TEST(TransportTest, RoundTripBothWaysInPartialChunks) {
  TransportEncoder encoder(CipherState{TestKey()});
  std::string wire;
  ASSERT_TRUE(encoder.Encode("first", &wire).ok());
  ASSERT_TRUE(encoder.Encode("second message", &wire).ok());
  ASSERT_TRUE(encoder.Encode("", &wire).ok());
  EXPECT_EQ(FrameBodySizes(wire), (std::vector<size_t>{5 + kAeadTagBytes, 14 + kAeadTagBytes}));

  std::string plaintext;
  for (size_t split = 0; split <= wire.size(); split += 3) {
    // Fresh decoders: the nonce must start at 0 for each attempt.
    TransportDecoder fresh(CipherState{TestKey()});
    plaintext.clear();
    ASSERT_TRUE(fresh.Decode(absl::string_view(wire).substr(0, split), &plaintext).ok());
    ASSERT_TRUE(fresh.Decode(absl::string_view(wire).substr(split), &plaintext).ok());
    EXPECT_EQ(plaintext, "firstsecond message");
    EXPECT_EQ(fresh.buffered_bytes(), 0u);
  }
}

TEST(TransportTest, LargePlaintextIsSplitIntoMaximalFrames) {
  const std::string message = Pattern(k200KiB);
  TransportEncoder encoder(CipherState{TestKey()});
  std::string wire;
  ASSERT_TRUE(encoder.Encode(message, &wire).ok());
  const size_t last = k200KiB - 3 * kMaxPlaintextBytesPerFrame;
  EXPECT_EQ(FrameBodySizes(wire), (std::vector<size_t>{kMaxFrameBodyBytes, kMaxFrameBodyBytes,
                                                       kMaxFrameBodyBytes, last + kAeadTagBytes}));
  EXPECT_EQ(encoder.cipher_for_test().nonce(), 4u);

  TransportDecoder decoder(CipherState{TestKey()});
  std::string plaintext;
  absl::string_view rest = wire;
  for (size_t chunk : {1, 2, 4093, 65536, 7, 70000}) {
    const absl::string_view piece = rest.substr(0, chunk);
    rest.remove_prefix(piece.size());
    ASSERT_TRUE(decoder.Decode(piece, &plaintext).ok());
    EXPECT_LE(decoder.buffered_bytes(), kFrameLengthPrefixBytes + kMaxFrameBodyBytes);
  }
  ASSERT_TRUE(decoder.Decode(rest, &plaintext).ok());
  EXPECT_EQ(plaintext.size(), message.size());
  EXPECT_TRUE(plaintext == message);
}

TEST(TransportTest, TamperedFrameFailsAndDecoderStaysFailed) {
  TransportEncoder encoder(CipherState{TestKey()});
  std::string wire;
  ASSERT_TRUE(encoder.Encode("good", &wire).ok());
  const size_t first_frame = wire.size();
  ASSERT_TRUE(encoder.Encode("bad", &wire).ok());
  ASSERT_TRUE(encoder.Encode("after", &wire).ok());
  wire[first_frame + kFrameLengthPrefixBytes] ^= 0x01;

  TransportDecoder decoder(CipherState{TestKey()});
  std::string plaintext;
  EXPECT_EQ(decoder.Decode(wire, &plaintext).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(plaintext, "good");
  std::string more;
  ASSERT_TRUE(encoder.Encode("later", &more).ok());
  EXPECT_EQ(decoder.Decode(more, &plaintext).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(plaintext, "good");
}

TEST(TransportTest, WrongKeyFails) {
  TransportEncoder encoder(CipherState{TestKey()});
  std::string wire;
  ASSERT_TRUE(encoder.Encode("secret", &wire).ok());
  CipherState::Key other = TestKey();
  other[0] ^= 1;
  TransportDecoder decoder{CipherState(other)};
  std::string plaintext;
  EXPECT_EQ(decoder.Decode(wire, &plaintext).code(), absl::StatusCode::kDataLoss);
}

TEST(TransportTest, FrameShorterThanTagFails) {
  std::string wire;
  ASSERT_TRUE(AppendFrame("", &wire).ok());
  TransportDecoder decoder(CipherState{TestKey()});
  std::string plaintext;
  EXPECT_EQ(decoder.Decode(wire, &plaintext).code(), absl::StatusCode::kInvalidArgument);
}

TEST(TransportTest, NonceExhaustionIsRefused) {
  TransportEncoder encoder(CipherState{TestKey()});
  encoder.mutable_cipher_for_test().SetNonceForTest(kReservedNonce - 1);
  std::string wire;
  // Two frames need two nonces; only one is left, so nothing is written.
  EXPECT_EQ(encoder.Encode(std::string(kMaxPlaintextBytesPerFrame + 1, 'n'), &wire).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(wire.empty());

  TransportEncoder last(CipherState{TestKey()});
  last.mutable_cipher_for_test().SetNonceForTest(kReservedNonce - 1);
  ASSERT_TRUE(last.Encode("last", &wire).ok());
  std::string refused;
  EXPECT_EQ(last.Encode("one too many", &refused).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(refused.empty());

  TransportDecoder decoder(CipherState{TestKey()});
  decoder.mutable_cipher_for_test().SetNonceForTest(kReservedNonce - 1);
  std::string plaintext;
  ASSERT_TRUE(decoder.Decode(wire, &plaintext).ok());
  EXPECT_EQ(plaintext, "last");
  CipherState at_reserved{TestKey()};
  at_reserved.SetNonceForTest(kReservedNonce);
  std::string out;
  EXPECT_EQ(at_reserved.DecryptWithAd("", std::string(20, 'c'), &out).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(TransportTest, GarbageIsRefusedSafely) {
  TransportDecoder decoder(CipherState{TestKey()});
  std::string plaintext;
  const std::string garbage = Pattern(1000);
  const absl::Status status = decoder.Decode(garbage, &plaintext);
  EXPECT_TRUE(status.ok() || status.code() == absl::StatusCode::kDataLoss ||
              status.code() == absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(plaintext.empty());
}

}  // namespace
}  // namespace connmgr::noise
