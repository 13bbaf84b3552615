#include "shell/noise/transport.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_format.h"

namespace connmgr::noise {

absl::Status AppendFrame(absl::string_view body, std::string* out) {
  if (body.size() > kMaxFrameBodyBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "frame body is %d bytes, over the %d-byte limit", body.size(), kMaxFrameBodyBytes));
  }
  out->push_back(static_cast<char>(body.size() >> 8));
  out->push_back(static_cast<char>(body.size() & 0xff));
  out->append(body.data(), body.size());
  return absl::OkStatus();
}

std::optional<std::string> FrameReader::Next(absl::string_view* input) {
  if (buffer_.size() < kFrameLengthPrefixBytes) {
    const size_t take = std::min(kFrameLengthPrefixBytes - buffer_.size(), input->size());
    buffer_.append(input->data(), take);
    input->remove_prefix(take);
    if (buffer_.size() < kFrameLengthPrefixBytes) return std::nullopt;
  }
  const size_t body_bytes =
      (size_t{static_cast<uint8_t>(buffer_[0])} << 8) | static_cast<uint8_t>(buffer_[1]);
  const size_t frame_bytes = kFrameLengthPrefixBytes + body_bytes;
  const size_t take = std::min(frame_bytes - buffer_.size(), input->size());
  buffer_.append(input->data(), take);
  input->remove_prefix(take);
  if (buffer_.size() < frame_bytes) return std::nullopt;
  std::string body = buffer_.substr(kFrameLengthPrefixBytes);
  buffer_.clear();
  return body;
}

absl::Status TransportEncoder::Encode(absl::string_view plaintext, std::string* wire) {
  if (!status_.ok()) return status_;
  const uint64_t frames =
      (plaintext.size() + kMaxPlaintextBytesPerFrame - 1) / kMaxPlaintextBytesPerFrame;
  if (frames > kReservedNonce - cipher_.nonce()) {
    status_ = absl::ResourceExhaustedError(
        absl::StrFormat("Noise send nonce exhausted: %d frames needed, %d nonces left", frames,
                        kReservedNonce - cipher_.nonce()));
    return status_;
  }
  std::string ciphertext;
  while (!plaintext.empty()) {
    const absl::string_view piece = plaintext.substr(0, kMaxPlaintextBytesPerFrame);
    plaintext.remove_prefix(piece.size());
    ciphertext.clear();
    if (absl::Status status = cipher_.EncryptWithAd("", piece, &ciphertext); !status.ok()) {
      status_ = status;
      return status_;
    }
    // Cannot fail: piece.size() + tag <= kMaxFrameBodyBytes.
    AppendFrame(ciphertext, wire).IgnoreError();
  }
  return absl::OkStatus();
}

absl::Status TransportDecoder::Decode(absl::string_view bytes, std::string* plaintext) {
  if (!status_.ok()) return status_;
  while (std::optional<std::string> body = reader_.Next(&bytes)) {
    if (absl::Status status = cipher_.DecryptWithAd("", *body, plaintext); !status.ok()) {
      status_ = status;
      return status_;
    }
  }
  return absl::OkStatus();
}

}  // namespace connmgr::noise
