// DnsResolver: the I/O-free DNS step of dialing. It turns /dns, /dns4, /dns6 and /dnsaddr
// multiaddrs into dialable ones by asking the caller (the shell, with c-ares) for records and
// reading its answers, with a bounded TTL cache.
//
//   DnsResolver dns(DnsResolverOptions{});
//   dns.Start(/*job=*/7, Multiaddr::Parse("/dnsaddr/bootstrap.libp2p.io/p2p/Qm...").value(), now);
//   while (auto q = dns.PollQuery()) resolve(q->id, q->name, q->type);   // later:
//   dns.HandleAnswer(query_id, DnsAnswer{{"dnsaddr=/ip4/1.2.3.4/tcp/4001/p2p/Qm..."}, ttl}, now);
//   while (auto r = dns.PollResolution()) use(r->job, r->addresses);
//
// Rules:
//  - /dns4/<name> asks A records, /dns6 AAAA, /dns both; each IP replaces the DNS component,
//    which must come first. /dnsaddr/<name> asks TXT records of "_dnsaddr.<name>": each
//    record's value is the text after its first '=', quotes around it stripped; records
//    without '=' or whose value is not a multiaddr are skipped. Values may be /dnsaddr or /dns*
//    again: resolved in turn, up to max_depth levels; a name met again on its own path is a
//    loop. When the address names a peer (/p2p/<id>), only records whose last /p2p/ is exactly
//    that peer are kept (js-libp2p's filter; a record without /p2p/ is dropped too).
//  - One query per (name, type) in flight, shared by every job waiting for it. Answers are
//    cached with their TTL (at most max_ttl) and failures for negative_ttl; at most
//    cache_max_entries, evicting the entry that expires first.
//  - Per job at most max_queries DNS queries (cached answers included) and max_results
//    addresses. A loop or depth overrun fails the job with a status that says so; a job that
//    finds no address fails with NotFound saying why.
#ifndef CONNMGR_CORE_DNS_RESOLVER_H_
#define CONNMGR_CORE_DNS_RESOLVER_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/multiaddr.h"
#include "core/peer_id.h"
#include "core/time.h"

namespace connmgr {

enum class DnsRecordType : uint8_t { kA, kAaaa, kTxt };
// "A", "AAAA", "TXT".
absl::string_view DnsRecordTypeName(DnsRecordType t);

struct DnsQuery {
  uint64_t id;
  std::string name;
  DnsRecordType type;
};

struct DnsAnswer {
  std::vector<std::string> records;  // A/AAAA: textual IPs; TXT: raw strings
  Duration ttl;
};

struct DnsResolution {
  uint64_t job;
  absl::StatusOr<std::vector<Multiaddr>> addresses;
};

struct DnsResolverOptions {
  uint32_t max_depth = 32;
  uint32_t cache_max_entries = 1'000;
  Duration negative_ttl = Duration::Seconds(10);
  Duration max_ttl = Duration::Minutes(60);
  uint32_t max_queries = 64;   // per job
  uint32_t max_results = 256;  // per job
};

// The value of a dnsaddr TXT record: after the first '=', with quotes around the record or
// around the value stripped; nullopt without '='.
std::optional<std::string> DnsaddrTxtValue(absl::string_view record);

class DnsResolver {
 public:
  explicit DnsResolver(const DnsResolverOptions& options) : options_(options) {}

  // Starts resolving `address` for `job` (the caller's id, unique among live jobs). An address
  // without DNS resolves at once to itself.
  absl::Status Start(uint64_t job, const Multiaddr& address, Instant now);
  // The answer to query `id`, or its failure. An unknown id is NotFound and changes nothing.
  absl::Status HandleAnswer(uint64_t id, absl::StatusOr<DnsAnswer> answer, Instant now);
  void Cancel(uint64_t job);

  std::optional<DnsQuery> PollQuery();
  std::optional<DnsResolution> PollResolution();

  size_t cache_size() const { return cache_.size(); }
  size_t jobs() const { return jobs_.size(); }
  size_t queries_in_flight() const { return queries_.size(); }

 private:
  using Key = std::pair<std::string, DnsRecordType>;
  // One address waiting to be expanded, with the dnsaddr names on its path.
  struct Task {
    uint64_t job;
    Multiaddr address;
    uint32_t depth;
    std::vector<std::string> path;
    DnsRecordType type;  // which answer this task waits for
  };
  struct Job {
    std::optional<PeerId> wanted;
    std::vector<Multiaddr> results;
    uint32_t waiting = 0;  // tasks waiting for an answer
    uint32_t queries = 0;
    absl::Status fatal;
    std::vector<std::string> notes;  // why candidates were dropped, for an empty result
  };
  struct CacheEntry {
    absl::StatusOr<std::vector<std::string>> records;
    Instant expires;
    uint64_t sequence;
  };
  struct Query {
    Key key;
    std::vector<Task> waiters;
  };

  void Expand(Job& job, Task task, Instant now);
  void Apply(Job& job, const Task& task, const absl::StatusOr<std::vector<std::string>>& records,
             Instant now);
  void AddResult(Job& job, const Multiaddr& address);
  void Note(Job& job, std::string note);
  void MaybeFinish(uint64_t id);
  void CachePut(const Key& key, absl::StatusOr<std::vector<std::string>> records, Instant expires);
  const CacheEntry* CacheGet(const Key& key, Instant now);

  DnsResolverOptions options_;
  uint64_t next_query_ = 1;
  uint64_t next_sequence_ = 0;
  std::map<uint64_t, Job> jobs_;  // references stay valid while tasks run
  absl::btree_map<uint64_t, Query> queries_;
  absl::btree_map<Key, uint64_t> in_flight_;
  absl::btree_map<Key, CacheEntry> cache_;
  absl::btree_set<std::tuple<Instant, uint64_t, Key>> cache_by_expiry_;
  std::deque<DnsQuery> outgoing_;
  std::deque<DnsResolution> finished_;
};

}  // namespace connmgr

#endif  // CONNMGR_CORE_DNS_RESOLVER_H_
