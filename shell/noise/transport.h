// libp2p Noise framing (libp2p specs, noise/README.md, "Wire format"): every Noise message,
// handshake or transport, travels as a 2-byte big-endian length followed by that many bytes.
// After the handshake each frame's body is one ChaChaPoly ciphertext, so it carries at most
// 65535 - 16 bytes of plaintext.
//
//   TransportEncoder encoder(ciphers.send);
//   std::string wire;
//   if (absl::Status s = encoder.Encode(plaintext, &wire); !s.ok()) return s;
//   socket.write(wire);
//
//   TransportDecoder decoder(ciphers.receive);
//   std::string plaintext;
//   if (absl::Status s = decoder.Decode(received_chunk, &plaintext); !s.ok()) close();
//
// Readers keep at most one partial frame (2 + 65535 bytes) between calls, whatever the
// remote sends. Errors are final: a decoder or encoder that failed once keeps failing.
#ifndef CONNMGR_SHELL_NOISE_TRANSPORT_H_
#define CONNMGR_SHELL_NOISE_TRANSPORT_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "shell/noise/cipher_state.h"
#include "shell/noise/xx_handshake.h"

namespace connmgr::noise {

inline constexpr size_t kFrameLengthPrefixBytes = 2;
inline constexpr size_t kMaxFrameBodyBytes = kMaxNoiseMessageBytes;
inline constexpr size_t kMaxPlaintextBytesPerFrame = kMaxFrameBodyBytes - kAeadTagBytes;

// Appends the length prefix and `body`. kInvalidArgument if `body` exceeds kMaxFrameBodyBytes.
absl::Status AppendFrame(absl::string_view body, std::string* out);

// Cuts a byte stream into frame bodies.
//
//   absl::string_view input = chunk;
//   while (std::optional<std::string> body = reader.Next(&input)) Handle(*body);
//   // `input` is now empty; a partial frame, if any, waits in the reader.
class FrameReader {
 public:
  // Consumes bytes from the front of `*input` until one frame is complete and returns its
  // body; consumes all of `*input` and returns nullopt if no frame completes.
  std::optional<std::string> Next(absl::string_view* input);

  // Bytes of a partial frame (prefix included) held since the last complete one.
  size_t buffered_bytes() const { return buffer_.size(); }

 private:
  std::string buffer_;
};

class TransportEncoder {
 public:
  explicit TransportEncoder(const CipherState& send) : cipher_(send) {}

  // Encrypts `plaintext` into ceil(size / kMaxPlaintextBytesPerFrame) frames appended to
  // `*wire`; empty plaintext appends nothing. kResourceExhausted, appending nothing, if the
  // nonces left cannot cover every frame.
  absl::Status Encode(absl::string_view plaintext, std::string* wire);

  const CipherState& cipher_for_test() const { return cipher_; }
  CipherState& mutable_cipher_for_test() { return cipher_; }

 private:
  CipherState cipher_;
  absl::Status status_;
};

class TransportDecoder {
 public:
  explicit TransportDecoder(const CipherState& receive) : cipher_(receive) {}

  // Feeds received bytes, in any chunking, and appends the plaintext of every frame they
  // complete to `*plaintext`. On a frame that fails authentication (kDataLoss), is shorter
  // than a tag (kInvalidArgument) or needs the reserved nonce (kResourceExhausted), the
  // plaintext of the frames before it has already been appended; nothing after it is.
  absl::Status Decode(absl::string_view bytes, std::string* plaintext);

  size_t buffered_bytes() const { return reader_.buffered_bytes(); }
  CipherState& mutable_cipher_for_test() { return cipher_; }

 private:
  CipherState cipher_;
  FrameReader reader_;
  absl::Status status_;
};

}  // namespace connmgr::noise

#endif  // CONNMGR_SHELL_NOISE_TRANSPORT_H_
