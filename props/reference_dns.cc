#include "props/reference_dns.h"

#include <algorithm>
#include <tuple>

#include "core/ip.h"

namespace connmgr {
namespace {

std::string TypeName(DnsRecordType type) {
  switch (type) {
    case DnsRecordType::kA:
      return "A";
    case DnsRecordType::kAaaa:
      return "AAAA";
    case DnsRecordType::kTxt:
      return "TXT";
  }
  return "?";
}

std::string Unquoted(const std::string& s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

// A dnsaddr TXT record's value: after the first '=', quotes around the record and around the
// value stripped.
std::optional<std::string> TxtValue(const std::string& record) {
  const std::string unquoted = Unquoted(record);
  const size_t eq = unquoted.find('=');
  if (eq == std::string::npos) return std::nullopt;
  return Unquoted(unquoted.substr(eq + 1));
}

// The address with its DNS component, which must be the first, replaced by `ip`.
std::optional<Multiaddr> WithIp(const Multiaddr& address, const IpAddress& ip) {
  const std::vector<MultiaddrComponent> parts = address.components();
  const Multiaddr::DnsName dns = *address.dns();
  if (parts.empty() || parts[0].protocol != dns.protocol) return std::nullopt;
  const std::string first = "/" + std::string(ProtocolName(dns.protocol)) + "/" + dns.name;
  const std::string rest = address.ToString().substr(first.size());
  absl::StatusOr<Multiaddr> out =
      Multiaddr::Parse((ip.is_v4() ? "/ip4/" : "/ip6/") + ip.ToString() + rest);
  if (!out.ok()) return std::nullopt;
  return *out;
}

std::string Joined(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i == 0 ? "" : separator) + parts[i];
  return out;
}

}  // namespace

ReferenceDns::Resolution* ReferenceDns::Find(uint64_t resolution) {
  for (Resolution& r : resolutions_) {
    if (r.id == resolution) return &r;
  }
  return nullptr;
}

void ReferenceDns::Start(uint64_t resolution, const Multiaddr& address, Instant now,
                         std::vector<ResolveDns>* asked) {
  resolutions_.push_back(Resolution{resolution, address.peer_id(), {}, {}, 0, 0, ""});
  Resolution& r = resolutions_.back();
  LookAll(r, Lookup{resolution, address, 0, {}, DnsRecordType::kA}, address, now, asked);
  MaybeFinish(resolution);
}

void ReferenceDns::LookAll(Resolution& r, const Lookup& from, const Multiaddr& address, Instant now,
                           std::vector<ResolveDns>* asked) {
  Lookup next = from;
  next.address = address;
  const std::optional<Multiaddr::DnsName> dns = address.dns();
  // /dns asks A, then AAAA; /dns6 AAAA; /dns4 A; /dnsaddr TXT (Look turns it into TXT).
  next.type = dns && dns->protocol == Protocol::kDns6 ? DnsRecordType::kAaaa : DnsRecordType::kA;
  Look(r, next, now, asked);
  if (dns && dns->protocol == Protocol::kDns) {
    next.type = DnsRecordType::kAaaa;
    Look(r, next, now, asked);
  }
}

void ReferenceDns::Look(Resolution& r, Lookup lookup, Instant now, std::vector<ResolveDns>* asked) {
  if (!r.fatal.empty()) return;
  const std::optional<Multiaddr::DnsName> dns = lookup.address.dns();
  if (!dns) {
    Found(r, lookup.address);
    return;
  }
  std::string name = dns->name;
  if (dns->protocol == Protocol::kDnsAddr) {
    if (lookup.depth >= max_depth_) {
      r.fatal = "dnsaddr recursion deeper than max_depth (" + std::to_string(max_depth_) + ") at " +
                dns->name;
      return;
    }
    const bool loop =
        std::find(lookup.path.begin(), lookup.path.end(), dns->name) != lookup.path.end();
    lookup.path.push_back(dns->name);
    if (loop) {
      r.fatal = "dnsaddr loop: " + Joined(lookup.path, " -> ");
      return;
    }
    lookup.type = DnsRecordType::kTxt;
    name = "_dnsaddr." + dns->name;
  }
  if (r.lookups >= kMaxLookups) {
    r.fatal = "more than " + std::to_string(kMaxLookups) + " DNS lookups for one address";
    return;
  }
  ++r.lookups;
  if (std::optional<Records> cached = CacheGet(name, lookup.type, now)) {
    Use(r, lookup, *cached, now, asked);
    return;
  }
  ++r.waiting;
  lookup.query = 0;
  for (const ResolveDns& q : in_flight_) {
    if (q.name == name && q.type == lookup.type) lookup.query = q.query;
  }
  if (lookup.query == 0) {
    lookup.query = next_query_++;
    in_flight_.push_back(ResolveDns{lookup.query, name, lookup.type});
    asked->push_back(in_flight_.back());
  }
  waiting_.push_back(std::move(lookup));
}

void ReferenceDns::Use(Resolution& r, const Lookup& lookup, const Records& answer, Instant now,
                       std::vector<ResolveDns>* asked) {
  const Multiaddr::DnsName dns = *lookup.address.dns();
  const std::string type = TypeName(lookup.type);
  if (answer.failure) {
    Note(r, dns.name + " " + type + ": " + *answer.failure);
    return;
  }
  if (lookup.type != DnsRecordType::kTxt) {
    for (const std::string& record : answer.records) {
      absl::StatusOr<IpAddress> ip = IpAddress::Parse(record);
      if (!ip.ok() || ip->is_v4() != (lookup.type == DnsRecordType::kA)) {
        Note(r, dns.name + ": bad " + type + " record");
      } else if (std::optional<Multiaddr> a = WithIp(lookup.address, *ip)) {
        Found(r, *a);
      } else {
        Note(r, lookup.address.ToString() + ": the DNS component must come first");
      }
    }
    if (answer.records.empty()) Note(r, dns.name + ": no " + type + " records");
    return;
  }
  size_t usable = 0;
  for (const std::string& record : answer.records) {
    const std::optional<std::string> value = TxtValue(record);
    if (!value) continue;
    absl::StatusOr<Multiaddr> a = Multiaddr::Parse(*value);
    if (!a.ok()) continue;
    // Only the wanted peer's records (js-libp2p's filter): one without /p2p/ is dropped too.
    if (r.wanted && a->peer_id() != r.wanted) continue;
    ++usable;
    Lookup deeper = lookup;
    deeper.depth = lookup.depth + 1;
    LookAll(r, deeper, *a, now, asked);
  }
  if (usable == 0) {
    Note(r, "_dnsaddr." + dns.name + ": no usable records" +
                (r.wanted ? " for " + r.wanted->ToString() : ""));
  }
}

void ReferenceDns::Found(Resolution& r, const Multiaddr& address) {
  if (r.found.size() >= kMaxAddresses) return;
  if (std::find(r.found.begin(), r.found.end(), address) == r.found.end()) {
    r.found.push_back(address);
  }
}

void ReferenceDns::Note(Resolution& r, std::string note) {
  if (r.notes.size() < 4) r.notes.push_back(std::move(note));
}

void ReferenceDns::MaybeFinish(uint64_t resolution) {
  Resolution* r = Find(resolution);
  if (r == nullptr) return;
  if (!r->fatal.empty()) {
    finished_.push_back({resolution, {}, r->fatal});
  } else if (r->waiting > 0) {
    return;
  } else if (r->found.empty()) {
    finished_.push_back({resolution, {}, "DNS gave no address: " + Joined(r->notes, "; ")});
  } else {
    finished_.push_back({resolution, r->found, ""});
  }
  Cancel(resolution);
}

bool ReferenceDns::Answer(uint64_t query, const Records& answer, Duration ttl, Instant now,
                          std::vector<ResolveDns>* asked) {
  auto q = std::find_if(in_flight_.begin(), in_flight_.end(),
                        [&](const ResolveDns& x) { return x.query == query; });
  if (q == in_flight_.end()) return false;
  const ResolveDns answered = *q;
  in_flight_.erase(q);
  // Answers for their TTL (never below 0 nor above dns_max_ttl), failures for dns_negative_ttl.
  const Duration kept =
      answer.failure ? negative_ttl_ : std::min(std::max(ttl, Duration::Zero()), max_ttl_);
  CachePut(answered.name, answered.type, answer, now + kept);
  std::vector<Lookup> served;
  for (const Lookup& l : waiting_) {
    if (l.query == query) served.push_back(l);
  }
  std::erase_if(waiting_, [&](const Lookup& l) { return l.query == query; });
  std::vector<uint64_t> touched;
  for (const Lookup& l : served) {
    Resolution* r = Find(l.resolution);
    if (r == nullptr) continue;  // its dial ended
    --r->waiting;
    Use(*r, l, answer, now, asked);
    touched.push_back(l.resolution);
  }
  for (uint64_t id : touched) MaybeFinish(id);
  return true;
}

void ReferenceDns::Cancel(uint64_t resolution) {
  std::erase_if(resolutions_, [&](const Resolution& r) { return r.id == resolution; });
}

std::vector<ReferenceDns::Finished> ReferenceDns::TakeFinished() {
  std::vector<Finished> out;
  out.swap(finished_);
  return out;
}

// An entry past its expiry is a miss, and leaves the cache when looked up.
std::optional<ReferenceDns::Records> ReferenceDns::CacheGet(const std::string& name,
                                                            DnsRecordType type, Instant now) {
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    if (it->name != name || it->type != type) continue;
    if (now >= it->expires) {
      cache_.erase(it);
      return std::nullopt;
    }
    return it->answer;
  }
  return std::nullopt;
}

// A new answer replaces the name's old one; when full, the entry that expires first (of two
// expiring together, the older) makes room.
void ReferenceDns::CachePut(const std::string& name, DnsRecordType type, const Records& answer,
                            Instant expires) {
  std::erase_if(cache_, [&](const Cached& c) { return c.name == name && c.type == type; });
  while (!cache_.empty() && cache_.size() >= cache_max_entries_) {
    cache_.erase(
        std::min_element(cache_.begin(), cache_.end(), [](const Cached& a, const Cached& b) {
          return std::tie(a.expires, a.sequence) < std::tie(b.expires, b.sequence);
        }));
  }
  cache_.push_back(Cached{name, type, answer, expires, next_sequence_++});
}

}  // namespace connmgr
