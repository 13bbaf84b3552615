#include "core/dns_resolver.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace connmgr {
namespace {

// The address with its leading DNS component replaced by `ip`; nullopt when the DNS component
// is not first or the result is not a valid multiaddr.
std::optional<Multiaddr> ReplaceDns(const Multiaddr& address, const Multiaddr::DnsName& dns,
                                    const IpAddress& ip) {
  const std::string text = address.ToString();
  const std::string prefix = absl::StrCat("/", ProtocolName(dns.protocol), "/", dns.name);
  if (!absl::StartsWith(text, prefix)) return std::nullopt;
  absl::StatusOr<Multiaddr> out = Multiaddr::Parse(
      absl::StrCat(ip.is_v4() ? "/ip4/" : "/ip6/", ip.ToString(), text.substr(prefix.size())));
  if (!out.ok()) return std::nullopt;
  return *std::move(out);
}

}  // namespace

absl::string_view DnsRecordTypeName(DnsRecordType t) {
  static constexpr absl::string_view kNames[] = {"A", "AAAA", "TXT"};
  return kNames[static_cast<int>(t)];
}

std::optional<std::string> DnsaddrTxtValue(absl::string_view record) {
  if (record.size() >= 2 && record.front() == '"' && record.back() == '"') {
    record = record.substr(1, record.size() - 2);
  }
  const size_t eq = record.find('=');
  if (eq == absl::string_view::npos) return std::nullopt;
  absl::string_view value = record.substr(eq + 1);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  return std::string(value);
}

absl::Status DnsResolver::Start(uint64_t id, const Multiaddr& address, Instant now) {
  if (jobs_.contains(id)) {
    return absl::InvalidArgumentError(absl::StrCat("dns job ", id, " is already running"));
  }
  Job& job = jobs_[id];
  job.wanted = address.peer_id();
  std::optional<Multiaddr::DnsName> dns = address.dns();
  const DnsRecordType first =
      dns && dns->protocol == Protocol::kDns6 ? DnsRecordType::kAaaa : DnsRecordType::kA;
  Expand(job, Task{id, address, 0, {}, first}, now);
  if (dns && dns->protocol == Protocol::kDns) {
    Expand(job, Task{id, address, 0, {}, DnsRecordType::kAaaa}, now);
  }
  MaybeFinish(id);
  return absl::OkStatus();
}

void DnsResolver::Expand(Job& job, Task task, Instant now) {
  if (!job.fatal.ok()) return;
  const std::optional<Multiaddr::DnsName> dns = task.address.dns();
  if (!dns) {
    AddResult(job, task.address);
    return;
  }
  Key key;
  if (dns->protocol == Protocol::kDnsAddr) {
    if (task.depth >= options_.max_depth) {
      job.fatal = absl::FailedPreconditionError(absl::StrCat(
          "dnsaddr recursion deeper than max_depth (", options_.max_depth, ") at ", dns->name));
      return;
    }
    if (std::find(task.path.begin(), task.path.end(), dns->name) != task.path.end()) {
      task.path.push_back(dns->name);
      job.fatal = absl::FailedPreconditionError(
          absl::StrCat("dnsaddr loop: ", absl::StrJoin(task.path, " -> ")));
      return;
    }
    task.path.push_back(dns->name);
    task.type = DnsRecordType::kTxt;
    key = {absl::StrCat("_dnsaddr.", dns->name), DnsRecordType::kTxt};
  } else {
    key = {dns->name, task.type};
  }
  if (job.queries >= options_.max_queries) {
    job.fatal = absl::ResourceExhaustedError(
        absl::StrCat("more than ", options_.max_queries, " DNS lookups for one address"));
    return;
  }
  ++job.queries;
  if (const CacheEntry* hit = CacheGet(key, now)) {
    const absl::StatusOr<std::vector<std::string>> records = hit->records;
    Apply(job, task, records, now);
    return;
  }
  ++job.waiting;
  auto flying = in_flight_.find(key);
  if (flying != in_flight_.end()) {
    queries_[flying->second].waiters.push_back(std::move(task));
    return;
  }
  const uint64_t id = next_query_++;
  in_flight_[key] = id;
  outgoing_.push_back(DnsQuery{id, key.first, key.second});
  Query& q = queries_[id];
  q.key = key;
  q.waiters.push_back(std::move(task));
}

void DnsResolver::Apply(Job& job, const Task& task,
                        const absl::StatusOr<std::vector<std::string>>& records, Instant now) {
  const Multiaddr::DnsName dns = *task.address.dns();
  if (!records.ok()) {
    Note(job, absl::StrCat(dns.name, " ", DnsRecordTypeName(task.type), ": ",
                           records.status().message()));
    return;
  }
  if (task.type != DnsRecordType::kTxt) {
    for (const std::string& r : *records) {
      absl::StatusOr<IpAddress> ip = IpAddress::Parse(r);
      if (!ip.ok() || ip->is_v4() != (task.type == DnsRecordType::kA)) {
        Note(job, absl::StrCat(dns.name, ": bad ", DnsRecordTypeName(task.type), " record"));
        continue;
      }
      if (std::optional<Multiaddr> a = ReplaceDns(task.address, dns, *ip)) {
        AddResult(job, *a);
      } else {
        Note(job, absl::StrCat(task.address.ToString(), ": the DNS component must come first"));
      }
    }
    if (records->empty())
      Note(job, absl::StrCat(dns.name, ": no ", DnsRecordTypeName(task.type), " records"));
    return;
  }
  size_t kept = 0;
  for (const std::string& r : *records) {
    std::optional<std::string> value = DnsaddrTxtValue(r);
    if (!value) continue;
    absl::StatusOr<Multiaddr> a = Multiaddr::Parse(*value);
    if (!a.ok()) continue;
    if (job.wanted && a->peer_id() != job.wanted) continue;
    ++kept;
    std::optional<Multiaddr::DnsName> next = a->dns();
    const DnsRecordType first =
        next && next->protocol == Protocol::kDns6 ? DnsRecordType::kAaaa : DnsRecordType::kA;
    Expand(job, Task{task.job, *a, task.depth + 1, task.path, first}, now);
    if (next && next->protocol == Protocol::kDns) {
      Expand(job, Task{task.job, *a, task.depth + 1, task.path, DnsRecordType::kAaaa}, now);
    }
  }
  if (kept == 0) {
    Note(job, absl::StrCat("_dnsaddr.", dns.name, ": no usable records",
                           job.wanted ? absl::StrCat(" for ", job.wanted->ToString()) : ""));
  }
}

void DnsResolver::AddResult(Job& job, const Multiaddr& address) {
  if (job.results.size() >= options_.max_results) return;
  if (std::find(job.results.begin(), job.results.end(), address) != job.results.end()) return;
  job.results.push_back(address);
}

void DnsResolver::Note(Job& job, std::string note) {
  if (job.notes.size() < 4) job.notes.push_back(std::move(note));
}

void DnsResolver::MaybeFinish(uint64_t id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  Job& job = it->second;
  if (!job.fatal.ok()) {
    finished_.push_back(DnsResolution{id, job.fatal});
  } else if (job.waiting > 0) {
    return;
  } else if (job.results.empty()) {
    finished_.push_back(
        DnsResolution{id, absl::NotFoundError(absl::StrCat("DNS gave no address: ",
                                                           absl::StrJoin(job.notes, "; ")))});
  } else {
    finished_.push_back(DnsResolution{id, std::move(job.results)});
  }
  jobs_.erase(it);
}

absl::Status DnsResolver::HandleAnswer(uint64_t id, absl::StatusOr<DnsAnswer> answer, Instant now) {
  auto it = queries_.find(id);
  if (it == queries_.end()) return absl::NotFoundError(absl::StrCat("no DNS query ", id));
  Query query = std::move(it->second);
  queries_.erase(it);
  in_flight_.erase(query.key);
  absl::StatusOr<std::vector<std::string>> records;
  if (answer.ok()) {
    const Duration ttl = std::clamp(answer->ttl, Duration::Zero(), options_.max_ttl);
    records = std::move(answer->records);
    CachePut(query.key, records, now + ttl);
  } else {
    records = answer.status();
    CachePut(query.key, records, now + options_.negative_ttl);
  }
  std::vector<uint64_t> touched;
  for (Task& task : query.waiters) {
    auto job = jobs_.find(task.job);
    if (job == jobs_.end()) continue;  // cancelled
    --job->second.waiting;
    Apply(job->second, task, records, now);
    touched.push_back(task.job);
  }
  for (uint64_t job : touched) MaybeFinish(job);
  return absl::OkStatus();
}

void DnsResolver::Cancel(uint64_t job) { jobs_.erase(job); }

std::optional<DnsQuery> DnsResolver::PollQuery() {
  if (outgoing_.empty()) return std::nullopt;
  DnsQuery q = std::move(outgoing_.front());
  outgoing_.pop_front();
  return q;
}

// GCC 12 at -O2 takes moving a StatusOr<std::vector<Multiaddr>> for a read of uninitialized
// memory (a known false positive of -Wmaybe-uninitialized).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
std::optional<DnsResolution> DnsResolver::PollResolution() {
  if (finished_.empty()) return std::nullopt;
  std::optional<DnsResolution> r(std::in_place, std::move(finished_.front()));
  finished_.pop_front();
  return r;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void DnsResolver::CachePut(const Key& key, absl::StatusOr<std::vector<std::string>> records,
                           Instant expires) {
  if (auto old = cache_.find(key); old != cache_.end()) {
    cache_by_expiry_.erase({old->second.expires, old->second.sequence, key});
    cache_.erase(old);
  }
  while (!cache_.empty() && cache_.size() >= options_.cache_max_entries) {
    const Key victim = std::get<2>(*cache_by_expiry_.begin());
    cache_by_expiry_.erase(cache_by_expiry_.begin());
    cache_.erase(victim);
  }
  if (options_.cache_max_entries == 0) return;
  const uint64_t seq = next_sequence_++;
  cache_.emplace(key, CacheEntry{std::move(records), expires, seq});
  cache_by_expiry_.insert({expires, seq, key});
}

const DnsResolver::CacheEntry* DnsResolver::CacheGet(const Key& key, Instant now) {
  auto it = cache_.find(key);
  if (it == cache_.end()) return nullptr;
  if (now >= it->second.expires) {
    cache_by_expiry_.erase({it->second.expires, it->second.sequence, key});
    cache_.erase(it);
    return nullptr;
  }
  return &it->second;
}

}  // namespace connmgr
