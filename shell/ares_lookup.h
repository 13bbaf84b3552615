// Plugs the c-ares resolver into a driver or host: the DnsLookup that asks `resolver`.
//
//   AresOptions dns;
//   dns.servers = {"127.0.0.1:5353"};
//   auto resolver = AresResolver::Create(io, dns).value();
//   options.dns = shell::LookupThrough(*resolver);   // the resolver must outlive the host
#ifndef CONNMGR_SHELL_ARES_LOOKUP_H_
#define CONNMGR_SHELL_ARES_LOOKUP_H_

#include <utility>

#include "shell/dns/ares_resolver.h"
#include "shell/driver.h"

namespace connmgr::shell {

inline DnsLookup LookupThrough(AresResolver& resolver) {
  return [&resolver](const std::string& name, DnsRecordType type,
                     std::function<void(absl::StatusOr<DnsAnswer>)> done) {
    resolver.Query(name, type, std::move(done));
  };
}

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_ARES_LOOKUP_H_
