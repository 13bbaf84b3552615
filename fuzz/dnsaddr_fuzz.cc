// Fuzzes the DNS step of dialing: the bytes are TXT records (one per line) for the record
// parser, and every answer a resolver gets while resolving a /dnsaddr address. Nothing may
// crash, and the bounds (queries per job, results, cache size) hold.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "core/dns_resolver.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines = absl::StrSplit(input, '\n');
  for (const std::string& line : lines) (void)connmgr::DnsaddrTxtValue(line);

  connmgr::DnsResolverOptions options;
  options.max_depth = 4;
  options.cache_max_entries = 8;
  options.max_queries = 16;
  options.max_results = 8;
  connmgr::DnsResolver dns(options);
  connmgr::Instant now = connmgr::Instant::FromNanoseconds(0);
  FUZZ_CHECK(dns.Start(1, connmgr::Multiaddr::Parse("/dnsaddr/a.example").value(), now).ok(),
             "start");
  size_t next_line = 0;
  int answered = 0;
  while (std::optional<connmgr::DnsQuery> q = dns.PollQuery()) {
    FUZZ_CHECK(++answered <= 16, "more queries than max_queries");
    // Each answer takes up to 3 lines of the input as records; a line "!" makes it a failure.
    std::vector<std::string> records;
    bool fail = false;
    for (int i = 0; i < 3 && next_line < lines.size(); ++i, ++next_line) {
      if (lines[next_line] == "!") fail = true;
      records.push_back(lines[next_line]);
    }
    now = now + connmgr::Duration::Seconds(1);
    absl::Status s =
        fail ? dns.HandleAnswer(q->id, absl::UnavailableError("fuzz"), now)
             : dns.HandleAnswer(q->id, connmgr::DnsAnswer{records, connmgr::Duration::Seconds(5)},
                                now);
    FUZZ_CHECK(s.ok(), s.ToString());
    FUZZ_CHECK(dns.cache_size() <= 8, "cache over its bound");
  }
  std::optional<connmgr::DnsResolution> r = dns.PollResolution();
  FUZZ_CHECK(r.has_value(), "every job finishes once its queries are answered");
  if (r->addresses.ok()) FUZZ_CHECK(r->addresses->size() <= 8, "results over max_results");
  FUZZ_CHECK(dns.jobs() == 0 && dns.queries_in_flight() == 0, "nothing left behind");
  return 0;
}
