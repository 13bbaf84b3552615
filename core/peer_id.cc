#include "core/peer_id.h"

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/encoding.h"

namespace connmgr {
namespace {

constexpr uint64_t kIdentityCode = 0x00;
constexpr uint64_t kSha256Code = 0x12;
constexpr uint64_t kCidVersion1 = 0x01;
constexpr uint64_t kLibp2pKeyCodec = 0x72;

// Returns what is wrong with `multihash` as a peer id, or "" if nothing is.
std::string MultihashProblem(absl::string_view multihash) {
  if (multihash.empty()) return "multihash is empty";
  if (multihash.size() > PeerId::kMaxMultihashBytes) {
    return absl::StrFormat("multihash is %d bytes, over the %d-byte limit", multihash.size(),
                           PeerId::kMaxMultihashBytes);
  }
  absl::string_view rest = multihash;
  uint64_t code = 0;
  uint64_t length = 0;
  if (!ReadUvarint(&rest, &code)) return "multihash hash code is not a valid varint";
  if (code != kIdentityCode && code != kSha256Code) {
    return absl::StrFormat(
        "multihash code 0x%02x is not accepted (only identity 0x00 and sha2-256 0x12)", code);
  }
  if (!ReadUvarint(&rest, &length)) return "multihash digest length is not a valid varint";
  if (length != rest.size()) {
    return absl::StrFormat("multihash says %d digest bytes but %d follow", length, rest.size());
  }
  if (code == kSha256Code && length != 32) {
    return absl::StrFormat("sha2-256 digest must be 32 bytes, not %d", length);
  }
  if (code == kIdentityCode && length == 0) return "identity multihash has an empty digest";
  return "";
}

// Decodes a multibase CIDv1 body to its multihash, or says why it cannot.
absl::StatusOr<std::string> CidMultihash(absl::string_view text) {
  std::optional<std::string> cid;
  if (text[0] == 'b') {
    const absl::string_view body = text.substr(1);
    if (body.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == absl::string_view::npos) {
      cid = Base32Decode(body);
    }
    if (!cid) return absl::InvalidArgumentError("CID is not valid lowercase base32 after 'b'");
  } else {
    cid = Base58Decode(text.substr(1));
    if (!cid) return absl::InvalidArgumentError("CID is not valid base58btc after 'z'");
  }
  absl::string_view rest = *cid;
  uint64_t version = 0;
  uint64_t codec = 0;
  if (!ReadUvarint(&rest, &version)) {
    return absl::InvalidArgumentError("CID version is not a valid varint");
  }
  if (version != kCidVersion1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("CID version %d is not supported (only CIDv1)", version));
  }
  if (!ReadUvarint(&rest, &codec)) {
    return absl::InvalidArgumentError("CID codec is not a valid varint");
  }
  if (codec != kLibp2pKeyCodec) {
    return absl::InvalidArgumentError(
        absl::StrFormat("CID codec 0x%02x is not libp2p-key (0x72)", codec));
  }
  return std::string(rest);
}

}  // namespace

absl::StatusOr<PeerId> PeerId::Parse(absl::string_view text) {
  if (text.size() > kMaxTextChars) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "peer id text is %d characters, over the %d-character limit", text.size(), kMaxTextChars));
  }
  auto error = [text](absl::string_view problem) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer id \"", absl::CHexEscape(text), "\": ", problem));
  };
  if (text.empty()) return error("empty");

  std::string multihash;
  // A base58btc identity multihash starts with a zero byte, hence '1'; 0x12 0x20 gives "Qm".
  if (text[0] == '1' || absl::StartsWith(text, "Qm")) {
    std::optional<std::string> decoded = Base58Decode(text);
    if (!decoded) return error("not valid base58btc");
    multihash = *std::move(decoded);
  } else if (text[0] == 'b' || text[0] == 'z') {
    absl::StatusOr<std::string> decoded = CidMultihash(text);
    if (!decoded.ok()) return error(decoded.status().message());
    multihash = *std::move(decoded);
  } else {
    // Not a peer id, but if it is a base58btc multihash, say what is wrong with it.
    std::optional<std::string> decoded = Base58Decode(text);
    std::string problem = decoded ? MultihashProblem(*decoded) : "";
    if (problem.empty()) {
      problem =
          "not a base58btc multihash (starting with \"1\" or \"Qm\") nor a CIDv1 (multibase "
          "prefix 'b' or 'z')";
    }
    return error(problem);
  }
  if (std::string problem = MultihashProblem(multihash); !problem.empty()) return error(problem);
  return PeerId(multihash);
}

absl::StatusOr<PeerId> PeerId::FromBytes(absl::string_view multihash) {
  if (std::string problem = MultihashProblem(multihash); !problem.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("peer id multihash (%d bytes): %s", multihash.size(), problem));
  }
  return PeerId(multihash);
}

std::string PeerId::ToString() const { return Base58Encode(bytes()); }

std::string PeerId::ToCidString() const {
  if (is_empty()) return "";
  std::string cid;
  AppendUvarint(kCidVersion1, &cid);
  AppendUvarint(kLibp2pKeyCodec, &cid);
  absl::StrAppend(&cid, bytes());
  return absl::StrCat("b", Base32Encode(cid));
}

}  // namespace connmgr
