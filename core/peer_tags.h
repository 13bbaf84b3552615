// PeerTags: named integer tags on peers, protections, keep-alive marks and decaying tags; the
// value the connection manager ranks peers by.
//
//   PeerTags tags(PeerTagsLimits{});
//   tags.SetTag(peer, "bitswap", 20);             // create or replace
//   tags.AddToTag(peer, "bitswap", 5);            // 25
//   tags.Protect(peer, "kad-routing-table");      // never pruned while protected
//   tags.RegisterDecayingTag("gossip", Duration::Seconds(1), DecayPolicy::Linear(50),
//                            BumpPolicy::Sum(), now);
//   tags.Bump(peer, "gossip", 10, now);
//   tags.Value(peer);                              // 35: plain and decaying tags together
//   // later, whenever tags.NextDeadline() has come:
//   for (const PeerId& changed : tags.AdvanceTo(now)) Rerank(changed);
//
// A peer's value is the sum of its tags (plain and decaying), saturating at the int64 bounds.
// Tags and protections may be held by peers that are not connected. A peer that holds nothing
// is forgotten, so memory is bounded by `max_tagged_peers` peers with at most
// `max_tags_per_peer` tags and as many protection tags each.
//
// Names: plain and decaying tags share one namespace per peer. A name registered as a decaying
// tag changes only through Bump (SetTag and AddToTag refuse it), and a name held as a plain tag
// cannot be registered. Protection tags are a namespace of their own.
//
// Decaying tags (go-libp2p's decayer, minus its bug: expire-when-inactive tags do expire). A
// registered kind ticks every `interval` from its registration instant; each tick applies the
// decay policy to every instance of the kind. Decay happens only in AdvanceTo (and, for the
// bumped instance alone, in Bump), so between calls values reflect the decay applied so far.
// Cost: a tick costs O(instances of that kind), with an O(log) lookup per instance. Ticks
// missed between two AdvanceTo calls are applied together at no extra cost per tick: fixed
// decay and expiry take O(1) per instance however many ticks are due; linear decay iterates
// only until the value reaches 0, about log(value) / log(100 / percent_kept) steps at most
// (63 at 50 %, 3945 at 99 % from the largest int64; one at 100 %). AdvanceTo and NextDeadline
// also visit every registered kind (at most kMaxDecayingTags); Value costs O(tags of the peer).
//
// Time is passed in as `now`; a `now` earlier than one seen before (by AdvanceTo, Bump or
// RegisterDecayingTag) is treated as that latest instant, so decay is never undone.
#ifndef CONNMGR_CORE_PEER_TAGS_H_
#define CONNMGR_CORE_PEER_TAGS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/peer_id.h"
#include "core/tag_names.h"
#include "core/time.h"

namespace connmgr {

struct PeerTagsLimits {
  uint32_t max_tags_per_peer = 64;      // plain and decaying tags together; protections apart
  uint32_t max_tagged_peers = 100'000;  // peers holding any tag or protection
  std::string keep_alive_tag_prefix = "keep-alive";
};

// What each tick of a decaying tag does to an instance's value.
struct DecayPolicy {
  enum class Kind {
    kNone,                // never changes; the kind never ticks
    kFixed,               // subtract `amount` (>= 0)
    kLinear,              // keep `percent_kept` % (<= 100), rounding down
    kExpireWhenInactive,  // remove the instance at the first tick >= last bump + `after`
  };
  Kind kind = Kind::kNone;
  int64_t amount = 0;
  uint32_t percent_kept = 100;
  Duration after;

  static constexpr DecayPolicy None() { return DecayPolicy{}; }
  static constexpr DecayPolicy Fixed(int64_t amount) {
    return DecayPolicy{Kind::kFixed, amount, 100, Duration()};
  }
  static constexpr DecayPolicy Linear(uint32_t percent_kept) {
    return DecayPolicy{Kind::kLinear, 0, percent_kept, Duration()};
  }
  static constexpr DecayPolicy ExpireWhenInactive(Duration after) {
    return DecayPolicy{Kind::kExpireWhenInactive, 0, 100, after};
  }
  friend bool operator==(const DecayPolicy&, const DecayPolicy&) = default;
};

// How Bump combines an instance's value with the delta (a new instance starts from 0).
struct BumpPolicy {
  enum class Kind {
    kSum,         // value + delta
    kSumBounded,  // value + delta, clamped into [min, max]
    kOverwrite,   // delta
  };
  Kind kind = Kind::kSum;
  int64_t min = 0;
  int64_t max = 0;

  static constexpr BumpPolicy Sum() { return BumpPolicy{}; }
  static constexpr BumpPolicy SumBounded(int64_t min, int64_t max) {
    return BumpPolicy{Kind::kSumBounded, min, max};
  }
  static constexpr BumpPolicy Overwrite() { return BumpPolicy{Kind::kOverwrite, 0, 0}; }
  friend bool operator==(const BumpPolicy&, const BumpPolicy&) = default;
};

class PeerTags {
 public:
  // Longest tag name (plain, decaying or protection) accepted.
  static constexpr size_t kMaxTagNameBytes = 128;
  // Most decaying tag kinds that may be registered.
  static constexpr size_t kMaxDecayingTags = 1024;

  explicit PeerTags(PeerTagsLimits limits);

  // --- Plain tags ---
  // Errors (nothing changes): InvalidArgument for an empty peer id, an empty or over-long name
  // or a registered decaying tag name; ResourceExhausted when a new tag would exceed
  // `max_tags_per_peer` or a new peer `max_tagged_peers`.
  absl::Status SetTag(const PeerId& peer, absl::string_view tag, int64_t value);
  // Creates the tag at `delta`, or adds `delta` to it (saturating).
  absl::Status AddToTag(const PeerId& peer, absl::string_view tag, int64_t delta);
  // Removes a plain tag or the peer's instance of a decaying tag; no-op if absent.
  void RemoveTag(const PeerId& peer, absl::string_view tag);

  // The sum of the peer's tags, plain and decaying; 0 for unknown peers.
  int64_t Value(const PeerId& peer) const;
  // The value of one plain tag or decaying instance; nullopt if the peer does not hold it.
  std::optional<int64_t> TagValue(const PeerId& peer, absl::string_view tag) const;

  // --- Protection ---
  // A peer is protected while it holds at least one protection tag. Protect is idempotent per
  // tag; it fails like SetTag (the per-peer limit counts protection tags separately).
  absl::Status Protect(const PeerId& peer, absl::string_view tag);
  // Removes one protection tag; returns whether the peer is still protected afterwards.
  bool Unprotect(const PeerId& peer, absl::string_view tag);
  bool IsProtected(const PeerId& peer) const;

  // What pruning needs of a peer, in one lookup: IsProtected and Value.
  struct Standing {
    bool is_protected = false;
    int64_t value = 0;
  };
  Standing StandingOf(const PeerId& peer) const;

  // --- Keep-alive ---
  // Whether the peer holds a tag (plain or decaying) whose name starts with the keep-alive
  // prefix. O(1) after the peer lookup (a count kept as tags change).
  bool HasKeepAlive(const PeerId& peer) const;
  // Removes every keep-alive tag of the peer (after the reconnect logic's last retry).
  void RemoveKeepAliveTags(const PeerId& peer);

  // Drops every tag, decaying instance and protection of the peer.
  void ForgetPeer(const PeerId& peer);

  // --- Decaying tags ---
  // Registers a decaying tag kind; it ticks at now + interval, now + 2 × interval, ...
  // InvalidArgument for a bad or already registered name, a name held as a plain tag, a
  // non-positive interval, a negative fixed amount, percent_kept > 100, a negative `after`, or
  // min > max; ResourceExhausted beyond kMaxDecayingTags kinds.
  absl::Status RegisterDecayingTag(absl::string_view name, Duration interval, DecayPolicy decay,
                                   BumpPolicy bump, Instant now);
  // Applies the bump policy to the peer's instance of `decaying_tag`, creating it (from 0) if
  // absent; the instance's last bump becomes `now`. Decay of this instance due at or before
  // `now` that AdvanceTo has not applied yet is applied first (and may remove it, in which case
  // the bump starts a new one). NotFound for an unregistered name; InvalidArgument for an empty
  // peer id; ResourceExhausted for a new instance beyond the limits, as SetTag.
  absl::Status Bump(const PeerId& peer, absl::string_view decaying_tag, int64_t delta, Instant now);
  // Applies every decay step due at or before `now`, all missed ticks included; the result is
  // that of applying them in (tick instant, tag name) order. Fixed and linear decay remove an
  // instance whose value is <= 0 after a step. Returns the peers whose Value changed, sorted,
  // without duplicates. Decay that Bump applied is not reported (the caller knows it bumped).
  std::vector<PeerId> AdvanceTo(Instant now);
  // The earliest next tick of a kind that can change something (a kind with instances and a
  // decay policy other than kNone); Never() if there is none.
  Instant NextDeadline() const {
    Instant deadline = Instant::Never();
    for (const auto& [name, kind] : kinds_) {
      if (!kind.holders.empty()) deadline = std::min(deadline, kind.next_tick);
    }
    return deadline;
  }

  // Peers holding at least one tag, decaying instance or protection.
  size_t tagged_peer_count() const { return peers_.size(); }

 private:
  // A plain tag, or a decaying one (its name is a decaying kind's).
  struct Tag {
    int64_t value = 0;
    Instant last_bump;  // decaying only
    Instant next_tick;  // decaying only: the first tick of its kind not yet applied to it
  };
  struct NamedTag {
    TagNames::Id name;  // one hold on the name
    Tag tag;
  };
  // A peer's tags sorted by name id: most peers hold one or two, so a short sorted array of
  // integer keys (the first inline).
  using TagList = absl::InlinedVector<NamedTag, 1>;
  struct PeerState {
    TagList tags;
    absl::btree_set<std::string> protections;
    // The sum of the tags' values, exact in 128 bits (at most 2^32 tags), kept as they change.
    __int128 exact_sum = 0;
    uint32_t keep_alive_tags = 0;  // tags whose name starts with the keep-alive prefix

    bool empty() const { return tags.empty() && protections.empty(); }
    // The first tag whose name id is not less than `name`.
    TagList::iterator LowerBound(TagNames::Id name);
    // The tag named `name`, or nullptr.
    Tag* Find(TagNames::Id name);
    const Tag* Find(TagNames::Id name) const;
    // The sum clamped to int64: independent of the order of tags.
    int64_t Value() const;
    void SetValue(Tag& tag, int64_t value) {
      exact_sum += static_cast<__int128>(value) - tag.value;
      tag.value = value;
    }
  };
  struct DecayingKind {
    TagNames::Id name;  // one hold on the name, marked decaying
    Duration interval;
    DecayPolicy decay;
    BumpPolicy bump;
    Instant origin;     // registration instant; ticks at origin + k × interval, k >= 1
    Instant next_tick;  // no tick before this is pending for any instance; Never() for kNone
    absl::btree_set<PeerId> holders;

    // The latest tick at or before `now` (`origin` if none yet); `now` >= `origin`.
    Instant LastTickAtOrBefore(Instant now) const;
    // The first tick after `now`; Never() for kNone or past the end of time.
    Instant FirstTickAfter(Instant now) const;
    // How many ticks lie in [`from`, `now`]; `from` is a tick or Never().
    uint64_t TicksFrom(Instant from, Instant now) const;
  };
  using PeerMap = absl::flat_hash_map<PeerId, PeerState>;

  // OK, or ResourceExhausted if `peer` (`state`: nullptr for a new peer) has no room for one
  // more tag, or protection tag if `protection`.
  absl::Status CheckRoom(const PeerId& peer, absl::string_view tag, const PeerState* state,
                         bool protection) const;
  // The checks SetTag and AddToTag share: peer id, name, not a decaying tag. On success,
  // `*id` is the name's id if anything holds it.
  absl::Status CheckPlainTag(const PeerId& peer, absl::string_view tag,
                             std::optional<TagNames::Id>* id) const;
  // Sets a plain tag to `value` (`add`: adds `value` to it), creating one the limits allow.
  absl::Status ChangePlainTag(const PeerId& peer, absl::string_view tag, int64_t value, bool add);
  // Removes one tag entry, keeping the name holds and the kinds' holder sets up to date.
  void EraseTag(const PeerId& peer, PeerState& state, TagList::iterator it);
  // Forgets the peer if it holds nothing.
  void ForgetIfEmpty(PeerMap::iterator it);
  // The value of `tag` after the ticks of `kind` due at or before `now`; nullopt if removed.
  static std::optional<int64_t> Decayed(const DecayingKind& kind, const Tag& tag, Instant now);
  // max(now, the latest instant seen), without recording it.
  Instant Clamp(Instant now) const { return now < latest_ ? latest_ : now; }

  PeerTagsLimits limits_;
  PeerMap peers_;  // looked up only; never iterated
  // Every name a peer's tag or a decaying kind holds. A plain tag's name is held once per
  // holder, so such a name's holds count the peers that would block registering it.
  TagNames names_;
  absl::btree_map<std::string, DecayingKind> kinds_;
  Instant latest_ = Instant::FromNanoseconds(std::numeric_limits<int64_t>::min());
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_PEER_TAGS_H_
