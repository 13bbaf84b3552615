// DnsResponder: a tiny authoritative DNS server for tests. It answers UDP queries on a
// loopback port the OS picks, inside the test's boost::asio::io_context (no thread).
//
//   boost::asio::io_context io;
//   DnsResponder dns(io);
//   ASSERT_TRUE(dns.Start().ok());
//   dns.AddAddress("node.test", "10.0.0.1", /*ttl_seconds=*/300);
//   dns.AddTxt("_dnsaddr.node.test", {"dnsaddr=/ip4/10.0.0.1/tcp/1"}, 60);
//   resolver options: servers = {dns.server()}   // "127.0.0.1:<port>"
//
// Behaviour:
//  - A name with no record at all is NXDOMAIN; a known name without records of the asked type
//    is NOERROR with an empty answer (NODATA). Names compare case-insensitively, trailing dot
//    ignored. Answers carry AA, echo the question, and name it by a compression pointer.
//  - Mode kDrop ignores queries (to test timeouts); kServfail answers SERVFAIL to every query.
//  - Queries are parsed defensively: at most kMaxQueryBytes are read, datagrams shorter than a
//    header or that are responses are dropped, other malformed ones get FORMERR, opcodes other
//    than QUERY get NOTIMP. A response over kMaxResponseBytes is sent truncated (TC, no
//    answers), as plain DNS over UDP requires.
#ifndef CONNMGR_SHELL_DNS_DNS_RESPONDER_H_
#define CONNMGR_SHELL_DNS_DNS_RESPONDER_H_

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace connmgr {

class DnsResponder {
 public:
  enum class Mode { kAnswer, kDrop, kServfail };

  static constexpr size_t kMaxQueryBytes = 512;
  static constexpr size_t kMaxResponseBytes = 512;
  static constexpr size_t kMaxRecordsPerName = 64;
  static constexpr size_t kMaxTxtStringBytes = 255;

  explicit DnsResponder(boost::asio::io_context& io);
  ~DnsResponder();
  DnsResponder(const DnsResponder&) = delete;
  DnsResponder& operator=(const DnsResponder&) = delete;

  // Binds 127.0.0.1:0 and starts answering.
  absl::Status Start();
  // "127.0.0.1:<port>", for AresOptions::servers.
  std::string server() const;
  uint16_t port() const { return port_; }

  // One A or AAAA record, by the form of `address`.
  absl::Status AddAddress(const std::string& name, const std::string& address,
                          uint32_t ttl_seconds);
  // One TXT record made of `strings` (each a character-string of at most 255 bytes).
  absl::Status AddTxt(const std::string& name, const std::vector<std::string>& strings,
                      uint32_t ttl_seconds);

  void set_mode(Mode mode) { mode_ = mode; }
  size_t queries_received() const { return queries_received_; }

  // The response to `query`, or an empty vector when it must be dropped. Public for tests.
  std::vector<uint8_t> Respond(absl::Span<const uint8_t> query) const;

 private:
  struct Record {
    uint16_t type;
    uint32_t ttl_seconds;
    std::vector<uint8_t> data;  // RDATA in wire form
  };

  absl::Status Add(const std::string& name, Record record);
  void Receive();

  boost::asio::ip::udp::socket socket_;
  uint16_t port_ = 0;
  Mode mode_ = Mode::kAnswer;
  size_t queries_received_ = 0;
  std::map<std::string, std::vector<Record>> records_;  // by lowercase name, no trailing dot
  std::array<uint8_t, kMaxQueryBytes> query_buffer_{};
  boost::asio::ip::udp::endpoint peer_;
  // Cleared by the destructor; a receive handler already queued checks it first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace connmgr

#endif  // CONNMGR_SHELL_DNS_DNS_RESPONDER_H_
