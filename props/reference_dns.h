// ReferenceDns: the DNS step of dialing as ReferenceCore models it, written from the rules in
// core/dns_resolver.h and docs/design.md ("Dialing", 5; "Bounds") with plain vectors and full
// scans, sharing no code with core/dns_resolver.cc.
//
//   ReferenceDns dns(config);
//   std::vector<ResolveDns> asked;
//   dns.Start(/*resolution=*/1, Multiaddr::Parse("/dnsaddr/boot.example/p2p/Qm...").value(),
//             now, &asked);                              // asked: the queries to send
//   dns.Answer(asked[0].query, ReferenceDns::Records{{"dnsaddr=/ip4/1.2.3.4/tcp/1/p2p/Qm..."}},
//              Duration::Seconds(30), now, &asked);
//   for (const ReferenceDns::Finished& f : dns.TakeFinished()) use(f.resolution, f.addresses);
//
// Resolutions finish in the order the rules reach their end (an address without DNS, or all
// answers cached, at Start; else at the answer that completes them); queries are asked in the
// order lookups miss the cache and find no query of the same name and type in flight.
#ifndef CONNMGR_PROPS_REFERENCE_DNS_H_
#define CONNMGR_PROPS_REFERENCE_DNS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/multiaddr.h"
#include "core/output.h"
#include "core/peer_id.h"
#include "core/time.h"

namespace connmgr {

class ReferenceDns {
 public:
  // An answer's records, or its failure (`failure` set: the failure's message).
  struct Records {
    std::vector<std::string> records;
    std::optional<std::string> failure;
  };
  struct Finished {
    uint64_t resolution;
    std::vector<Multiaddr> addresses;  // when `error` is empty
    std::string error;                 // why the resolution failed
  };

  explicit ReferenceDns(const Config& config)
      : max_depth_(config.dnsaddr_max_depth),
        cache_max_entries_(config.dns_cache_max_entries),
        negative_ttl_(config.dns_negative_ttl),
        max_ttl_(config.dns_max_ttl) {}

  // Starts resolving `address`; the queries it needs are appended to `asked`.
  void Start(uint64_t resolution, const Multiaddr& address, Instant now,
             std::vector<ResolveDns>* asked);
  // The answer to query `query` (`ttl` unused for a failure). False when no such query is in
  // flight (nothing changes then).
  bool Answer(uint64_t query, const Records& answer, Duration ttl, Instant now,
              std::vector<ResolveDns>* asked);
  // The resolution's dial ended: it never finishes. Its queries stay in flight.
  void Cancel(uint64_t resolution);
  // Finished resolutions, in the order they finished; each is handed out once.
  std::vector<Finished> TakeFinished();

  // Queries asked and not yet answered, in the order asked.
  const std::vector<ResolveDns>& in_flight() const { return in_flight_; }
  uint64_t queries_asked() const { return next_query_ - 1; }
  size_t cache_entries() const { return cache_.size(); }

 private:
  // docs/design.md, "Bounds": per resolution 64 lookups and 256 addresses.
  static constexpr uint32_t kMaxLookups = 64;
  static constexpr size_t kMaxAddresses = 256;

  // One address to look up, for one resolution, with the dnsaddr names on its way there.
  struct Lookup {
    uint64_t resolution;
    Multiaddr address;
    uint32_t depth;
    std::vector<std::string> path;
    DnsRecordType type;
    uint64_t query = 0;  // the query it waits for
  };
  struct Resolution {
    uint64_t id;
    std::optional<PeerId> wanted;
    std::vector<Multiaddr> found;
    std::vector<std::string> notes;
    uint32_t waiting = 0;
    uint32_t lookups = 0;
    std::string fatal;
  };
  struct Cached {
    std::string name;
    DnsRecordType type;
    Records answer;
    Instant expires;
    uint64_t sequence;
  };

  Resolution* Find(uint64_t resolution);
  // Looks up `address`'s DNS name for the resolution: from the cache, or by joining or asking
  // a query.
  void Look(Resolution& r, Lookup lookup, Instant now, std::vector<ResolveDns>* asked);
  // Each way an address record's value can ask further: A, AAAA, both (/dns) or TXT.
  void LookAll(Resolution& r, const Lookup& from, const Multiaddr& address, Instant now,
               std::vector<ResolveDns>* asked);
  void Use(Resolution& r, const Lookup& lookup, const Records& answer, Instant now,
           std::vector<ResolveDns>* asked);
  void Found(Resolution& r, const Multiaddr& address);
  void Note(Resolution& r, std::string note);
  void MaybeFinish(uint64_t resolution);
  std::optional<Records> CacheGet(const std::string& name, DnsRecordType type, Instant now);
  void CachePut(const std::string& name, DnsRecordType type, const Records& answer,
                Instant expires);

  uint32_t max_depth_;
  uint32_t cache_max_entries_;
  Duration negative_ttl_;
  Duration max_ttl_;
  std::vector<Resolution> resolutions_;
  std::vector<Lookup> waiting_;  // every lookup waiting for a query, oldest first
  std::vector<ResolveDns> in_flight_;
  std::vector<Cached> cache_;
  std::vector<Finished> finished_;
  uint64_t next_query_ = 1;
  uint64_t next_sequence_ = 0;
};

}  // namespace connmgr

#endif  // CONNMGR_PROPS_REFERENCE_DNS_H_
