#include "core/peer_tags.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace connmgr {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? kInt64Max : kInt64Min;
  return r;
}

int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? kInt64Max : kInt64Min;
  return r;
}

int64_t SaturatingMul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return (a < 0) != (b < 0) ? kInt64Min : kInt64Max;
  return r;
}

std::string Quoted(absl::string_view name) {
  return absl::StrCat("\"", absl::CHexEscape(name), "\"");
}

absl::Status CheckPeer(const PeerId& peer) {
  if (peer.is_empty()) return absl::InvalidArgumentError("peer id is empty");
  return absl::OkStatus();
}

// `what` is "tag", "protection tag" or "decaying tag".
absl::Status CheckName(absl::string_view what, absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " name is empty"));
  if (name.size() > PeerTags::kMaxTagNameBytes) {
    return absl::InvalidArgumentError(absl::StrFormat("%s name is %d bytes, over the %d-byte limit",
                                                      what, name.size(),
                                                      PeerTags::kMaxTagNameBytes));
  }
  return absl::OkStatus();
}

// Orders a peer's tag list (sorted by name id) against a name id, for std::lower_bound.
constexpr auto kNameLess = [](const auto& tag, TagNames::Id name) { return tag.name < name; };

// The tag named `name` in a peer's (const or mutable) tag list, or nullptr.
template <typename TagList>
auto FindTag(TagList& tags, TagNames::Id name) -> decltype(&tags.begin()->tag) {
  auto t = std::lower_bound(tags.begin(), tags.end(), name, kNameLess);
  return t != tags.end() && t->name == name ? &t->tag : nullptr;
}

int64_t ApplyBump(const BumpPolicy& bump, int64_t value, int64_t delta) {
  switch (bump.kind) {
    case BumpPolicy::Kind::kSum:
      return SaturatingAdd(value, delta);
    case BumpPolicy::Kind::kSumBounded:
      return std::clamp(SaturatingAdd(value, delta), bump.min, bump.max);
    case BumpPolicy::Kind::kOverwrite:
      return delta;
  }
  return value;
}

}  // namespace

PeerTags::PeerTags(PeerTagsLimits limits)
    : limits_(std::move(limits)), names_(limits_.keep_alive_tag_prefix) {}

// --- Plain tags ---------------------------------------------------------------------------------

absl::Status PeerTags::SetTag(const PeerId& peer, absl::string_view tag, int64_t value) {
  return ChangePlainTag(peer, tag, value, /*add=*/false);
}

absl::Status PeerTags::AddToTag(const PeerId& peer, absl::string_view tag, int64_t delta) {
  return ChangePlainTag(peer, tag, delta, /*add=*/true);
}

void PeerTags::RemoveTag(const PeerId& peer, absl::string_view tag) {
  const std::optional<TagNames::Id> id = names_.Find(tag);
  if (!id.has_value()) return;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  auto t = it->second.LowerBound(*id);
  if (t == it->second.tags.end() || t->name != *id) return;
  EraseTag(peer, it->second, t);
  ForgetIfEmpty(it);
}

int64_t PeerTags::Value(const PeerId& peer) const {
  auto it = peers_.find(peer);
  return it == peers_.end() ? 0 : it->second.Value();
}

PeerTags::Standing PeerTags::StandingOf(const PeerId& peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return Standing{};
  return Standing{!it->second.protections.empty(), it->second.Value()};
}

std::optional<int64_t> PeerTags::TagValue(const PeerId& peer, absl::string_view tag) const {
  const std::optional<TagNames::Id> id = names_.Find(tag);
  if (!id.has_value()) return std::nullopt;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return std::nullopt;
  const Tag* t = it->second.Find(*id);
  if (t == nullptr) return std::nullopt;
  return t->value;
}

// --- Protection ---------------------------------------------------------------------------------

absl::Status PeerTags::Protect(const PeerId& peer, absl::string_view tag) {
  if (absl::Status s = CheckPeer(peer); !s.ok()) return s;
  if (absl::Status s = CheckName("protection tag", tag); !s.ok()) return s;
  auto it = peers_.find(peer);
  PeerState* state = it == peers_.end() ? nullptr : &it->second;
  if (state != nullptr && state->protections.contains(tag)) return absl::OkStatus();
  if (absl::Status s = CheckRoom(peer, tag, state, /*protection=*/true); !s.ok()) return s;
  peers_[peer].protections.emplace(tag);
  return absl::OkStatus();
}

bool PeerTags::Unprotect(const PeerId& peer, absl::string_view tag) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return false;
  if (auto p = it->second.protections.find(tag); p != it->second.protections.end()) {
    it->second.protections.erase(p);
  }
  const bool still_protected = !it->second.protections.empty();
  ForgetIfEmpty(it);
  return still_protected;
}

bool PeerTags::IsProtected(const PeerId& peer) const {
  auto it = peers_.find(peer);
  return it != peers_.end() && !it->second.protections.empty();
}

// --- Keep-alive ---------------------------------------------------------------------------------

bool PeerTags::HasKeepAlive(const PeerId& peer) const {
  auto it = peers_.find(peer);
  return it != peers_.end() && it->second.keep_alive_tags != 0;
}

void PeerTags::RemoveKeepAliveTags(const PeerId& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  PeerState& state = it->second;
  for (auto t = state.tags.begin(); t != state.tags.end() && state.keep_alive_tags != 0;) {
    if (names_.is_keep_alive(t->name)) {
      EraseTag(peer, state, t);  // the next tag moves into its place
    } else {
      ++t;
    }
  }
  ForgetIfEmpty(it);
}

void PeerTags::ForgetPeer(const PeerId& peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  PeerState& state = it->second;
  while (!state.tags.empty()) EraseTag(peer, state, state.tags.end() - 1);
  peers_.erase(it);
}

// --- Decaying tags ------------------------------------------------------------------------------

absl::Status PeerTags::RegisterDecayingTag(absl::string_view name, Duration interval,
                                           DecayPolicy decay, BumpPolicy bump, Instant now) {
  if (absl::Status s = CheckName("decaying tag", name); !s.ok()) return s;
  const std::string quoted = Quoted(name);
  if (kinds_.contains(name)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("decaying tag %s is already registered", quoted));
  }
  if (const std::optional<TagNames::Id> id = names_.Find(name); id.has_value()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "decaying tag %s: %d peers hold a plain tag of that name", quoted, names_.holds(*id)));
  }
  if (interval <= Duration::Zero()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "decaying tag %s: interval is %d ns; it must be positive", quoted, interval.nanoseconds()));
  }
  if (decay.amount < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "decaying tag %s: decay amount is %d; it must not be negative", quoted, decay.amount));
  }
  if (decay.percent_kept > 100) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "decaying tag %s: percent_kept is %d; it must be at most 100", quoted, decay.percent_kept));
  }
  if (decay.after < Duration::Zero()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("decaying tag %s: inactivity period is %d ns; it must not be negative",
                        quoted, decay.after.nanoseconds()));
  }
  if (bump.min > bump.max) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "decaying tag %s: bump bounds are min %d > max %d", quoted, bump.min, bump.max));
  }
  if (kinds_.size() >= kMaxDecayingTags) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("decaying tag %s: %d decaying tags are registered (kMaxDecayingTags = %d)",
                        quoted, kinds_.size(), kMaxDecayingTags));
  }
  now = Clamp(now);
  latest_ = now;
  DecayingKind kind{names_.Intern(name), interval, decay, bump, now, Instant::Never(), {}};
  names_.MarkDecaying(kind.name);
  kind.next_tick = kind.FirstTickAfter(now);
  kinds_.emplace(std::string(name), std::move(kind));
  return absl::OkStatus();
}

absl::Status PeerTags::Bump(const PeerId& peer, absl::string_view decaying_tag, int64_t delta,
                            Instant now) {
  if (absl::Status s = CheckPeer(peer); !s.ok()) return s;
  auto k = kinds_.find(decaying_tag);
  if (k == kinds_.end()) {
    return absl::NotFoundError(
        absl::StrFormat("decaying tag %s is not registered", Quoted(decaying_tag)));
  }
  DecayingKind& kind = k->second;
  now = Clamp(now);

  auto it = peers_.find(peer);
  PeerState* state = it == peers_.end() ? nullptr : &it->second;
  Tag* tag = nullptr;
  if (state != nullptr) tag = state->Find(kind.name);
  std::optional<int64_t> current;  // nullopt: a new instance starts from 0
  if (tag != nullptr) {
    current = Decayed(kind, *tag, now);
  } else if (absl::Status s = CheckRoom(peer, decaying_tag, state, /*protection=*/false); !s.ok()) {
    return s;
  }

  latest_ = now;
  // An empty kind has nothing pending: its schedule may skip to now.
  if (kind.holders.empty()) kind.next_tick = kind.FirstTickAfter(now);
  if (state == nullptr) state = &peers_[peer];
  if (tag == nullptr) {
    tag = &state->tags.insert(state->LowerBound(kind.name), NamedTag{kind.name, {}})->tag;
    names_.AddHold(kind.name);
    state->keep_alive_tags += names_.is_keep_alive(kind.name);
    kind.holders.insert(peer);
  }
  state->SetValue(*tag, ApplyBump(kind.bump, current.value_or(0), delta));
  tag->last_bump = now;
  tag->next_tick = kind.FirstTickAfter(now);
  return absl::OkStatus();
}

std::vector<PeerId> PeerTags::AdvanceTo(Instant now) {
  now = Clamp(now);
  latest_ = now;
  // Each touched peer's value before its first change, to report only real changes.
  absl::btree_map<PeerId, int64_t> value_before;
  for (auto& [name, kind] : kinds_) {
    if (kind.next_tick.is_never() || kind.next_tick > now) continue;
    const Instant next_tick = kind.FirstTickAfter(now);
    for (auto h = kind.holders.begin(); h != kind.holders.end();) {
      auto it = peers_.find(*h);
      PeerState& state = it->second;
      auto t = state.LowerBound(kind.name);
      const std::optional<int64_t> value = Decayed(kind, t->tag, now);
      t->tag.next_tick = next_tick;
      if (value == t->tag.value) {
        ++h;
        continue;
      }
      if (!value_before.contains(*h)) value_before.emplace(*h, state.Value());
      if (value.has_value()) {
        state.SetValue(t->tag, *value);
        ++h;
        continue;
      }
      state.exact_sum -= t->tag.value;
      state.keep_alive_tags -= names_.is_keep_alive(t->name);
      names_.Release(t->name);
      state.tags.erase(t);
      ForgetIfEmpty(it);
      h = kind.holders.erase(h);
    }
    kind.next_tick = next_tick;
  }
  std::vector<PeerId> changed;
  for (const auto& [peer, before] : value_before) {
    if (Value(peer) != before) changed.push_back(peer);
  }
  return changed;
}

// --- Internals ----------------------------------------------------------------------------------

Instant PeerTags::DecayingKind::LastTickAtOrBefore(Instant now) const {
  // Unsigned arithmetic: exact for any origin <= now, even across the int64 range.
  const uint64_t origin_ns = static_cast<uint64_t>(origin.nanoseconds());
  const uint64_t elapsed = static_cast<uint64_t>(now.nanoseconds()) - origin_ns;
  const uint64_t step = static_cast<uint64_t>(interval.nanoseconds());
  return Instant::FromNanoseconds(static_cast<int64_t>(origin_ns + elapsed / step * step));
}

Instant PeerTags::DecayingKind::FirstTickAfter(Instant now) const {
  if (decay.kind == DecayPolicy::Kind::kNone) return Instant::Never();
  return LastTickAtOrBefore(now) + interval;  // saturates to Never()
}

uint64_t PeerTags::DecayingKind::TicksFrom(Instant from, Instant now) const {
  if (from.is_never() || from > now) return 0;
  const uint64_t span = static_cast<uint64_t>(LastTickAtOrBefore(now).nanoseconds()) -
                        static_cast<uint64_t>(from.nanoseconds());
  return span / static_cast<uint64_t>(interval.nanoseconds()) + 1;
}

std::optional<int64_t> PeerTags::Decayed(const DecayingKind& kind, const Tag& tag, Instant now) {
  const uint64_t ticks = kind.TicksFrom(tag.next_tick, now);
  if (ticks == 0) return tag.value;
  const DecayPolicy& decay = kind.decay;
  switch (decay.kind) {
    case DecayPolicy::Kind::kNone:
      return tag.value;
    case DecayPolicy::Kind::kFixed: {
      // The value only falls (amount >= 0), so it is <= 0 after the last step iff it was after
      // some step, when it would have been removed.
      const int64_t steps =
          ticks > static_cast<uint64_t>(kInt64Max) ? kInt64Max : static_cast<int64_t>(ticks);
      const int64_t value = SaturatingSub(tag.value, SaturatingMul(steps, decay.amount));
      if (value <= 0) return std::nullopt;
      return value;
    }
    case DecayPolicy::Kind::kLinear: {
      // Each step with percent_kept < 100 lowers a positive value, at least geometrically, so
      // this stops at 0 after at most 3945 steps (99 %, from the largest int64).
      int64_t value = tag.value;
      for (uint64_t i = 0; i < ticks && value > 0; ++i) {
        value = static_cast<int64_t>(static_cast<__int128>(value) * decay.percent_kept / 100);
        if (decay.percent_kept == 100) break;
      }
      if (value <= 0) return std::nullopt;
      return value;
    }
    case DecayPolicy::Kind::kExpireWhenInactive:
      // The ticks are applied with no bump in between, so the last one decides.
      if (kind.LastTickAtOrBefore(now) >= tag.last_bump + decay.after) return std::nullopt;
      return tag.value;
  }
  return tag.value;
}

PeerTags::TagList::iterator PeerTags::PeerState::LowerBound(TagNames::Id name) {
  return std::lower_bound(tags.begin(), tags.end(), name, kNameLess);
}

PeerTags::Tag* PeerTags::PeerState::Find(TagNames::Id name) { return FindTag(tags, name); }

const PeerTags::Tag* PeerTags::PeerState::Find(TagNames::Id name) const {
  return FindTag(tags, name);
}

int64_t PeerTags::PeerState::Value() const {
  return static_cast<int64_t>(std::clamp<__int128>(exact_sum, static_cast<__int128>(kInt64Min),
                                                   static_cast<__int128>(kInt64Max)));
}

absl::Status PeerTags::CheckRoom(const PeerId& peer, absl::string_view tag, const PeerState* state,
                                 bool protection) const {
  const absl::string_view what = protection ? "protection tag" : "tag";
  if (state == nullptr) {
    if (peers_.size() >= limits_.max_tagged_peers) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%s %s: %d peers already hold tags or protections (max_tagged_peers = %d)", what,
          Quoted(tag), peers_.size(), limits_.max_tagged_peers));
    }
  }
  const size_t held = state == nullptr ? 0
                      : protection     ? state->protections.size()
                                       : state->tags.size();
  if (held >= limits_.max_tags_per_peer) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("%s %s: peer %s already holds %d %ss (max_tags_per_peer = %d)", what,
                        Quoted(tag), peer.ToString(), held, what, limits_.max_tags_per_peer));
  }
  return absl::OkStatus();
}

absl::Status PeerTags::CheckPlainTag(const PeerId& peer, absl::string_view tag,
                                     std::optional<TagNames::Id>* id) const {
  if (absl::Status s = CheckPeer(peer); !s.ok()) return s;
  if (absl::Status s = CheckName("tag", tag); !s.ok()) return s;
  *id = names_.Find(tag);
  if (id->has_value() && names_.is_decaying(**id)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("tag %s is a decaying tag; change it with Bump", Quoted(tag)));
  }
  return absl::OkStatus();
}

absl::Status PeerTags::ChangePlainTag(const PeerId& peer, absl::string_view tag, int64_t value,
                                      bool add) {
  std::optional<TagNames::Id> id;
  if (absl::Status s = CheckPlainTag(peer, tag, &id); !s.ok()) return s;
  auto it = peers_.find(peer);
  PeerState* state = it == peers_.end() ? nullptr : &it->second;
  if (state != nullptr && id.has_value()) {
    if (Tag* t = state->Find(*id); t != nullptr) {
      state->SetValue(*t, add ? SaturatingAdd(t->value, value) : value);
      return absl::OkStatus();
    }
  }
  if (absl::Status s = CheckRoom(peer, tag, state, /*protection=*/false); !s.ok()) return s;
  if (state == nullptr) state = &peers_[peer];
  TagNames::Id name = 0;
  if (id.has_value()) {
    name = *id;
    names_.AddHold(name);
  } else {
    name = names_.Intern(tag);
  }
  state->tags.insert(state->LowerBound(name), NamedTag{name, Tag{value, Instant(), Instant()}});
  state->keep_alive_tags += names_.is_keep_alive(name);
  state->exact_sum += value;
  return absl::OkStatus();
}

void PeerTags::EraseTag(const PeerId& peer, PeerState& state, TagList::iterator it) {
  if (names_.is_decaying(it->name)) {
    kinds_.find(names_.name(it->name))->second.holders.erase(peer);
  }
  state.exact_sum -= it->tag.value;
  state.keep_alive_tags -= names_.is_keep_alive(it->name);
  names_.Release(it->name);
  state.tags.erase(it);
}

void PeerTags::ForgetIfEmpty(PeerMap::iterator it) {
  if (it->second.empty()) peers_.erase(it);
}

}  // namespace connmgr
