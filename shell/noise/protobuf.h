// A minimal Protocol Buffers wire-format reader and writer: enough for the small libp2p
// messages (PublicKey, NoiseHandshakePayload, identify) without generated code.
//
//   std::string message;
//   AppendVarintField(1, 1, &message);            // KeyType = Ed25519
//   AppendBytesField(2, raw_key, &message);       // Data
//
//   ProtobufReader reader(message);
//   ProtobufField field;
//   while (reader.Next(&field)) {
//     if (field.number == 2 && field.wire_type == WireType::kLengthDelimited) use(field.bytes);
//   }
//   if (!reader.status().ok()) return reader.status();
//
// The reader never reads past its input, never allocates, and stops at the first malformed
// field with a status saying what was wrong. Unknown fields are returned like any other, so
// skipping them is just not looking at them. Groups (wire types 3 and 4) are refused.
#ifndef CONNMGR_SHELL_NOISE_PROTOBUF_H_
#define CONNMGR_SHELL_NOISE_PROTOBUF_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace connmgr::noise {

enum class WireType : uint8_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kFixed32 = 5,
};

// A protobuf varint is at most 10 bytes (64 bits in 7-bit groups).
inline constexpr size_t kMaxProtobufVarintBytes = 10;
// Field numbers are 29 bits on the wire.
inline constexpr uint32_t kMaxProtobufFieldNumber = (uint32_t{1} << 29) - 1;
// The largest message a reader accepts unless told otherwise; every libp2p message we parse
// fits in one Noise message (65535 bytes).
inline constexpr size_t kDefaultMaxProtobufMessageBytes = size_t{64} * 1024;

// Appends the shortest encoding of `value`.
void AppendProtobufVarint(uint64_t value, std::string* out);
// Appends a tag with wire type varint, then `value`. `field_number` must be in
// [1, kMaxProtobufFieldNumber].
void AppendVarintField(uint32_t field_number, uint64_t value, std::string* out);
// Appends a tag with wire type length-delimited, the length, then `bytes`.
void AppendBytesField(uint32_t field_number, absl::string_view bytes, std::string* out);

// Reads one varint from the front of `*in` and advances past it. Returns false, leaving `*in`
// untouched, if it is truncated, longer than 10 bytes, or overflows 64 bits. Non-minimal
// encodings are accepted, as protobuf parsers do.
bool ReadProtobufVarint(absl::string_view* in, uint64_t* out);

struct ProtobufField {
  uint32_t number = 0;
  WireType wire_type = WireType::kVarint;
  // Set for kVarint; also holds the little-endian value of kFixed32 and kFixed64 fields.
  uint64_t varint = 0;
  // Set for kLengthDelimited: a view into the reader's input.
  absl::string_view bytes;
};

class ProtobufReader {
 public:
  // A message longer than `max_message_bytes` is refused outright.
  explicit ProtobufReader(absl::string_view message,
                          size_t max_message_bytes = kDefaultMaxProtobufMessageBytes);

  // Returns the next field, or false at the end of the message or at the first error; after
  // false, status() tells which.
  bool Next(ProtobufField* field);

  const absl::Status& status() const { return status_; }

 private:
  bool Fail(absl::string_view what);

  absl::string_view rest_;
  absl::Status status_;
};

}  // namespace connmgr::noise

#endif  // CONNMGR_SHELL_NOISE_PROTOBUF_H_
