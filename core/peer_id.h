// PeerId: a libp2p peer identity, held as its multihash bytes.
//
//   absl::StatusOr<PeerId> id =
//       PeerId::Parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
//   if (!id.ok()) return id.status();
//   id->ToString();     // the same base58btc text
//   id->ToCidString();  // "bafzaajaiaejcal72gwuz2or47oyxxn6b3rkwdmmkrxgkjxzy3rqt5kczyn7lcm3l"
//
// Only the two multihash functions libp2p uses are accepted: identity (0x00), which embeds a
// small protobuf-encoded public key, and sha2-256 (0x12) of a larger one. The embedded key is
// not decoded. A default-constructed PeerId is empty: it names no peer, compares below every
// real one, and prints as "". Parse and FromBytes never return an empty PeerId.
#ifndef CONNMGR_CORE_PEER_ID_H_
#define CONNMGR_CORE_PEER_ID_H_

#include <compare>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace connmgr {

class PeerId {
 public:
  // Longest multihash accepted: code, length and digest together.
  static constexpr size_t kMaxMultihashBytes = 128;
  // Longest text Parse looks at; every accepted multihash fits in fewer characters.
  static constexpr size_t kMaxTextChars = 256;

  PeerId() = default;
  PeerId(const PeerId&) = default;
  PeerId(PeerId&&) noexcept = default;
  // Ids are copied on every connection opened. InlinedVector's copy assignment goes element by
  // element (~170 instructions for a 38-byte id); its copy constructor copies an inline id in
  // one block and cannot fail, so an inline-sized id is assigned by rebuilding in place.
  PeerId& operator=(const PeerId& other) {
    if (this == &other) return *this;
    if (other.multihash_.size() > kInlineBytes) {
      multihash_ = other.multihash_;
      return *this;
    }
    std::destroy_at(&multihash_);
    std::construct_at(&multihash_, other.multihash_);
    return *this;
  }
  PeerId& operator=(PeerId&&) noexcept = default;

  // Accepts a base58btc multihash ("12D3KooW...", "Qm...", "16Uiu2...") or a CIDv1 with the
  // libp2p-key codec (0x72) in multibase base32 ('b' prefix) or base58btc ('z' prefix).
  static absl::StatusOr<PeerId> Parse(absl::string_view text);
  // The binary multihash, as found inside /p2p/ in a binary multiaddr.
  static absl::StatusOr<PeerId> FromBytes(absl::string_view multihash);

  // Base58btc multihash; "" when empty.
  std::string ToString() const;
  // "b" + base32(0x01 0x72 multihash); "" when empty.
  std::string ToCidString() const;

  absl::string_view bytes() const { return {multihash_.data(), multihash_.size()}; }
  bool is_empty() const { return multihash_.empty(); }

  friend bool operator==(const PeerId& a, const PeerId& b) { return a.bytes() == b.bytes(); }
  // Byte order (unsigned), as the multihashes compare.
  friend std::strong_ordering operator<=>(const PeerId& a, const PeerId& b) {
    return a.bytes().compare(b.bytes()) <=> 0;
  }

  // An inline-sized id is mixed as 8-byte words (the last one overlapping its predecessor)
  // and its length: a few multiplies, where hashing the bytes as a string runs a
  // general-purpose hash several times longer, and ids are hashed on nearly every input.
  // Every byte counts, so made-up ids (from gossiped /p2p/ addresses) collide no more often.
  template <typename H>
  friend H AbslHashValue(H h, const PeerId& p) {
    const size_t size = p.multihash_.size();
    if (size < 8 || size > kInlineBytes) return H::combine(std::move(h), p.bytes());
    const char* data = p.multihash_.data();
    auto word_at = [data](size_t offset) {
      uint64_t word;
      std::memcpy(&word, data + offset, sizeof(word));
      return word;
    };
    for (size_t offset = 0; offset + 8 < size; offset += 8) {
      h = H::combine(std::move(h), word_at(offset));
    }
    return H::combine(std::move(h), word_at(size - 8), size);
  }

 private:
  // Inline up to this many bytes: sha2-256 (34) and Ed25519 identity (38) multihashes, the
  // ids of nearly every libp2p peer, need no allocation; longer ones go to the heap.
  static constexpr size_t kInlineBytes = 40;
  static_assert(kInlineBytes % 8 == 0, "AbslHashValue mixes whole words");

  explicit PeerId(absl::string_view multihash) : multihash_(multihash.begin(), multihash.end()) {}

  absl::InlinedVector<char, kInlineBytes> multihash_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_PEER_ID_H_
