#include "shell/noise/protobuf.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace connmgr::noise {
namespace {

std::vector<ProtobufField> ReadAll(absl::string_view message, absl::Status* status,
                                   size_t max_bytes = kDefaultMaxProtobufMessageBytes) {
  ProtobufReader reader(message, max_bytes);
  std::vector<ProtobufField> fields;
  ProtobufField field;
  while (reader.Next(&field)) fields.push_back(field);
  *status = reader.status();
  return fields;
}

TEST(ProtobufTest, WritesAndReadsEveryWireType) {
  std::string message;
  AppendVarintField(1, 1, &message);
  AppendBytesField(2, "key", &message);
  AppendVarintField(kMaxProtobufFieldNumber, ~uint64_t{0}, &message);
  message += std::string("\x19\x01\x02\x03\x04\x05\x06\x07\x08", 9);  // field 3, fixed64
  message += std::string("\x25\x01\x00\x00\x80", 5);                  // field 4, fixed32
  EXPECT_EQ(message.substr(0, 7), std::string("\x08\x01\x12\x03key", 7));

  absl::Status status;
  const std::vector<ProtobufField> fields = ReadAll(message, &status);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(fields.size(), 5u);
  EXPECT_EQ(fields[0].number, 1u);
  EXPECT_EQ(fields[0].wire_type, WireType::kVarint);
  EXPECT_EQ(fields[0].varint, 1u);
  EXPECT_EQ(fields[1].number, 2u);
  EXPECT_EQ(fields[1].wire_type, WireType::kLengthDelimited);
  EXPECT_EQ(fields[1].bytes, "key");
  EXPECT_EQ(fields[2].number, kMaxProtobufFieldNumber);
  EXPECT_EQ(fields[2].varint, ~uint64_t{0});
  EXPECT_EQ(fields[3].wire_type, WireType::kFixed64);
  EXPECT_EQ(fields[3].varint, 0x0807060504030201u);
  EXPECT_EQ(fields[4].wire_type, WireType::kFixed32);
  EXPECT_EQ(fields[4].varint, 0x80000001u);
}

TEST(ProtobufTest, EmptyMessageHasNoFields) {
  absl::Status status;
  EXPECT_TRUE(ReadAll("", &status).empty());
  EXPECT_TRUE(status.ok());
}

TEST(ProtobufTest, VarintLimits) {
  std::string max;
  AppendProtobufVarint(~uint64_t{0}, &max);
  ASSERT_EQ(max.size(), kMaxProtobufVarintBytes);
  absl::string_view in = max;
  uint64_t value = 0;
  ASSERT_TRUE(ReadProtobufVarint(&in, &value));
  EXPECT_EQ(value, ~uint64_t{0});
  EXPECT_TRUE(in.empty());

  // 2^64 does not fit.
  const std::string overflow("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10);
  in = overflow;
  EXPECT_FALSE(ReadProtobufVarint(&in, &value));
  EXPECT_EQ(in.size(), overflow.size());

  const std::string eleven_bytes("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11);
  in = eleven_bytes;
  EXPECT_FALSE(ReadProtobufVarint(&in, &value));

  const std::string truncated("\x80\x80", 2);
  in = truncated;
  EXPECT_FALSE(ReadProtobufVarint(&in, &value));
  EXPECT_EQ(in.size(), 2u);
}

TEST(ProtobufTest, RefusesTruncatedInput) {
  std::string message;
  AppendBytesField(2, "0123456789", &message);
  for (size_t length = 1; length < message.size(); ++length) {
    SCOPED_TRACE(testing::Message() << "length " << length);
    absl::Status status;
    EXPECT_TRUE(ReadAll(message.substr(0, length), &status).empty());
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  }
  absl::Status status;
  ReadAll(std::string("\x08", 1), &status);  // varint field with no value
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  ReadAll(std::string("\x19\x01\x02", 3), &status);  // fixed64 with 2 of 8 bytes
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  ReadAll(std::string("\x25\x01", 2), &status);  // fixed32 with 1 of 4 bytes
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

TEST(ProtobufTest, RefusesOversizedInput) {
  absl::Status status;
  // A length far beyond the message.
  ReadAll(std::string("\x12\xff\xff\xff\xff\x0f", 6), &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  // A 2^63 length must not wrap around.
  ReadAll(std::string("\x12\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01xx", 13), &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  // A whole message over the reader's limit.
  std::string big;
  AppendBytesField(1, std::string(100, 'x'), &big);
  EXPECT_TRUE(ReadAll(big, &status, /*max_bytes=*/50).empty());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  ReadAll(big, &status, /*max_bytes=*/big.size());
  EXPECT_TRUE(status.ok());
}

TEST(ProtobufTest, RefusesBadTags) {
  absl::Status status;
  ReadAll(std::string("\x00\x01", 2), &status);  // field 0
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  ReadAll(std::string("\x0b", 1), &status);  // start group
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  ReadAll(std::string("\x0e\x00", 2), &status);  // wire type 6
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  ReadAll(std::string("\x80\x80\x80\x80\x80\x01\x00", 7), &status);  // field 2^32 / 8 > 2^29-1
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

TEST(ProtobufTest, StopsAtFirstErrorAndStaysStopped) {
  std::string message;
  AppendVarintField(1, 7, &message);
  message += "\x0e";
  AppendVarintField(1, 8, &message);
  ProtobufReader reader(message);
  ProtobufField field;
  ASSERT_TRUE(reader.Next(&field));
  EXPECT_EQ(field.varint, 7u);
  EXPECT_FALSE(reader.Next(&field));
  EXPECT_FALSE(reader.Next(&field));
  EXPECT_FALSE(reader.status().ok());
}

// Every byte string of length <= 2 parses or fails cleanly (ASan checks the "cleanly").
TEST(ProtobufTest, ShortGarbageIsSafe) {
  std::string input;
  for (int length = 1; length <= 2; ++length) {
    for (int value = 0; value < (1 << (8 * length)); ++value) {
      input.clear();
      for (int i = 0; i < length; ++i) input.push_back(static_cast<char>(value >> (8 * i)));
      absl::Status status;
      for (const ProtobufField& field : ReadAll(input, &status)) {
        EXPECT_LE(field.bytes.size(), input.size());
      }
    }
  }
}

}  // namespace
}  // namespace connmgr::noise
