// AresResolver: the shell's DNS client. It runs c-ares inside an existing boost::asio::io_context
// with no thread of its own and answers the core's resolve_dns commands in the form the core's
// DNS answer inputs expect: A/AAAA records as textual IPs, TXT records as their text.
//
//   auto resolver = AresResolver::Create(io, AresOptions{.servers = {"127.0.0.1:5353"}}).value();
//   resolver->Query("_dnsaddr.bootstrap.libp2p.io", DnsRecordType::kTxt,
//                   [](absl::StatusOr<AresResolver::Answer> answer) {
//                     // answer->records and answer->ttl, or the failure's message
//                   });
//
// How it runs: c-ares reports the sockets it wants watched (ARES_OPT_SOCK_STATE_CB); each gets a
// stream_descriptor whose async_wait feeds readiness to ares_process_fd, and which is released,
// never closed, because c-ares owns the fd. One steady_timer, re-armed from ares_timeout after
// every step, drives retries and timeouts.
//
// Rules:
//  - `done` is called exactly once, always from a handler posted to the io_context, never from
//    inside Query, CancelAll or the destructor. So after CancelAll or destruction the
//    io_context must still run (or be polled) for the cancelled callbacks to arrive.
//  - The name is sent as given (ares_query): no search domains, no /etc/hosts.
//  - TXT: the character-strings of one record are joined without separator, one record per
//    entry, in answer order. A/AAAA: inet_ntop text ("1.2.3.4", "2001:db8::1").
//  - ttl is the smallest TTL in the answer section, CNAMEs included.
//  - Error messages are short tokens usable as a dns_failed input's error: "NXDOMAIN", "NODATA",
//    "SERVFAIL", "REFUSED", "timeout", "cancelled", ... (see AresStatusToError).
//  - One try waits `timeout`; c-ares doubles the wait on every further round over the servers.
//    A SERVFAIL, REFUSED or NOTIMP answer ends the query as such (ARES_FLAG_NOCHECKRESP): the
//    next server is not asked, because c-ares 1.18 would then report only "connection refused".
//  - Not thread-safe: use it from the io_context's thread only, and destroy it before the
//    io_context.
#ifndef CONNMGR_SHELL_DNS_ARES_RESOLVER_H_
#define CONNMGR_SHELL_DNS_ARES_RESOLVER_H_

#include <ares.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/dns_resolver.h"
#include "core/time.h"

namespace connmgr {

struct AresOptions {
  // "127.0.0.1", "127.0.0.1:5353", "[::1]:53"; empty means the system's resolv.conf.
  std::vector<std::string> servers;
  std::chrono::milliseconds timeout{2000};  // first try; at least 1 ms
  int tries = 2;                            // rounds over the servers; at least 1
  size_t max_queries_in_flight = 1024;      // further queries fail with "too many queries"
};

// Limits that do not depend on the caller.
inline constexpr size_t kAresMaxServers = 16;
inline constexpr size_t kAresMaxNameBytes = 255;         // a DNS name's wire-format limit
inline constexpr size_t kAresMaxRecordsPerAnswer = 256;  // further records are dropped

// The status for a c-ares result code, its message one of the short tokens above.
absl::Status AresStatusToError(int ares_status);

// The smallest TTL (seconds) over the answer section of the DNS message `message`, or
// InvalidArgument when the message is malformed or has no answer. TTLs with the top bit set
// count as 0 (RFC 2181 section 8).
absl::StatusOr<uint32_t> MinAnswerTtlSeconds(const unsigned char* message, size_t size);

class AresResolver {
 public:
  using Answer = DnsAnswer;  // core/dns_resolver.h: what DnsAnswered carries
  using Callback = std::function<void(absl::StatusOr<Answer>)>;

  static absl::StatusOr<std::unique_ptr<AresResolver>> Create(boost::asio::io_context& io,
                                                              const AresOptions& options);
  ~AresResolver();
  AresResolver(const AresResolver&) = delete;
  AresResolver& operator=(const AresResolver&) = delete;

  void Query(const std::string& name, DnsRecordType type, Callback done);
  // Every query in flight completes with a Cancelled status.
  void CancelAll();

  size_t queries_in_flight() const { return queries_in_flight_; }
  size_t sockets_watched() const { return watches_.size(); }

 private:
  struct PendingQuery;
  struct SocketWatch;

  AresResolver(boost::asio::io_context& io, size_t max_queries_in_flight);

  static void OnSocketState(void* data, ares_socket_t fd, int readable, int writable);
  static void OnQueryDone(void* arg, int status, int timeouts, unsigned char* message, int size);
  void WatchSocket(ares_socket_t fd, bool readable, bool writable);
  void ArmRead(const std::shared_ptr<SocketWatch>& watch);
  void ArmWrite(const std::shared_ptr<SocketWatch>& watch);
  void RearmTimer();

  boost::asio::io_context& io_;
  const size_t max_queries_in_flight_;
  ares_channel channel_ = nullptr;
  size_t queries_in_flight_ = 0;
  std::map<ares_socket_t, std::shared_ptr<SocketWatch>> watches_;
  boost::asio::steady_timer timer_;
  // Cleared by the destructor; handlers already queued check it before touching the resolver.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace connmgr

#endif  // CONNMGR_SHELL_DNS_ARES_RESOLVER_H_
