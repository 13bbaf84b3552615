// Small, strict codecs shared by the multiformats types: unsigned varints, base58btc, base32
// and base64url.
//
//   std::string out;
//   AppendUvarint(421, &out);                    // "\xa5\x03"
//   absl::string_view in = out;
//   uint64_t code;
//   if (ReadUvarint(&in, &code)) ...             // code == 421, `in` is now empty
//   std::optional<std::string> raw = Base58Decode("StV1DL6CwTryKyV");  // "hello world"
//
// Decoders accept only the canonical form their encoder produces (no padding, no stray bits,
// no non-minimal varints), so decode-then-encode always gives back the input. They return
// std::nullopt instead of an error message; callers know what the text was supposed to be.
#ifndef CONNMGR_CORE_ENCODING_H_
#define CONNMGR_CORE_ENCODING_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace connmgr {

// multiformats unsigned-varint: little-endian base-128, at most 9 bytes, so at most 63 bits.
inline constexpr int kMaxUvarintBytes = 9;
inline constexpr uint64_t kMaxUvarint = (uint64_t{1} << 63) - 1;

// Appends the minimal encoding of `value`, which must not exceed kMaxUvarint.
void AppendUvarint(uint64_t value, std::string* out);

// Reads one varint from the front of `*in` and advances past it. Returns false, leaving `*in`
// untouched, if the input is truncated, longer than 9 bytes, or not minimally encoded.
bool ReadUvarint(absl::string_view* in, uint64_t* out);

// Bitcoin alphabet. Each leading zero byte becomes a leading '1' and back.
std::string Base58Encode(absl::string_view bytes);
// Decoding is quadratic, so inputs longer than kMaxBase58DecodeChars are rejected.
inline constexpr size_t kMaxBase58DecodeChars = 256;
std::optional<std::string> Base58Decode(absl::string_view text);

// RFC 4648 base32, lowercase, no padding. Decoding also accepts all-uppercase text (not mixed).
std::string Base32Encode(absl::string_view bytes);
std::optional<std::string> Base32Decode(absl::string_view text);

// RFC 4648 base64 with the URL-safe alphabet ('-', '_'), no padding.
std::string Base64UrlEncode(absl::string_view bytes);
std::optional<std::string> Base64UrlDecode(absl::string_view text);

}  // namespace connmgr

#endif  // CONNMGR_CORE_ENCODING_H_
