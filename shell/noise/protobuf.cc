#include "shell/noise/protobuf.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace connmgr::noise {
namespace {

void AppendTag(uint32_t field_number, WireType wire_type, std::string* out) {
  AppendProtobufVarint((uint64_t{field_number} << 3) | static_cast<uint64_t>(wire_type), out);
}

// Reads `width` little-endian bytes.
uint64_t ReadLittleEndian(absl::string_view bytes, size_t width) {
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value |= uint64_t{static_cast<uint8_t>(bytes[i])} << (8 * i);
  }
  return value;
}

}  // namespace

void AppendProtobufVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

void AppendVarintField(uint32_t field_number, uint64_t value, std::string* out) {
  AppendTag(field_number, WireType::kVarint, out);
  AppendProtobufVarint(value, out);
}

void AppendBytesField(uint32_t field_number, absl::string_view bytes, std::string* out) {
  AppendTag(field_number, WireType::kLengthDelimited, out);
  AppendProtobufVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

bool ReadProtobufVarint(absl::string_view* in, uint64_t* out) {
  uint64_t value = 0;
  for (size_t i = 0; i < kMaxProtobufVarintBytes && i < in->size(); ++i) {
    const uint64_t group = static_cast<uint8_t>((*in)[i]) & 0x7f;
    // The tenth byte holds only the top bit of a 64-bit value.
    if (i == kMaxProtobufVarintBytes - 1 && group > 1) return false;
    value |= group << (7 * i);
    if ((static_cast<uint8_t>((*in)[i]) & 0x80) == 0) {
      in->remove_prefix(i + 1);
      *out = value;
      return true;
    }
  }
  return false;
}

ProtobufReader::ProtobufReader(absl::string_view message, size_t max_message_bytes)
    : rest_(message) {
  if (message.size() > max_message_bytes) {
    status_ = absl::InvalidArgumentError(absl::StrFormat(
        "protobuf message is %d bytes, over the %d-byte limit", message.size(), max_message_bytes));
    rest_ = {};
  }
}

bool ProtobufReader::Fail(absl::string_view what) {
  status_ = absl::InvalidArgumentError(absl::StrCat("malformed protobuf: ", what));
  rest_ = {};
  return false;
}

bool ProtobufReader::Next(ProtobufField* field) {
  if (!status_.ok() || rest_.empty()) return false;
  uint64_t tag = 0;
  if (!ReadProtobufVarint(&rest_, &tag)) return Fail("truncated or overlong field tag");
  const uint64_t number = tag >> 3;
  if (number == 0 || number > kMaxProtobufFieldNumber) {
    return Fail(absl::StrFormat("field number %d is out of range", number));
  }
  *field = ProtobufField{};
  field->number = static_cast<uint32_t>(number);
  switch (tag & 0x7) {
    case static_cast<uint64_t>(WireType::kVarint):
      field->wire_type = WireType::kVarint;
      if (!ReadProtobufVarint(&rest_, &field->varint)) {
        return Fail(absl::StrFormat("field %d: truncated or overlong varint", number));
      }
      return true;
    case static_cast<uint64_t>(WireType::kFixed64):
    case static_cast<uint64_t>(WireType::kFixed32): {
      const bool is_64 = (tag & 0x7) == static_cast<uint64_t>(WireType::kFixed64);
      const size_t width = is_64 ? 8 : 4;
      field->wire_type = is_64 ? WireType::kFixed64 : WireType::kFixed32;
      if (rest_.size() < width) {
        return Fail(absl::StrFormat("field %d: truncated %d-byte fixed value", number, width));
      }
      field->varint = ReadLittleEndian(rest_, width);
      rest_.remove_prefix(width);
      return true;
    }
    case static_cast<uint64_t>(WireType::kLengthDelimited): {
      field->wire_type = WireType::kLengthDelimited;
      uint64_t length = 0;
      if (!ReadProtobufVarint(&rest_, &length)) {
        return Fail(absl::StrFormat("field %d: truncated or overlong length", number));
      }
      if (length > rest_.size()) {
        return Fail(absl::StrFormat("field %d: says %d bytes but only %d remain", number, length,
                                    rest_.size()));
      }
      field->bytes = rest_.substr(0, static_cast<size_t>(length));
      rest_.remove_prefix(static_cast<size_t>(length));
      return true;
    }
    default:
      return Fail(absl::StrFormat("field %d: unsupported wire type %d", number, tag & 0x7));
  }
}

}  // namespace connmgr::noise
