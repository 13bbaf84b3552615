#include "shell/dns/dns_responder.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address_v4.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace connmgr {

namespace {

constexpr size_t kHeaderBytes = 12;
constexpr size_t kMaxNameWireBytes = 255;
constexpr size_t kMaxLabelBytes = 63;
constexpr size_t kMaxNames = 1024;
constexpr uint16_t kClassIn = 1;
constexpr uint16_t kFlagResponse = 0x8000;
constexpr uint16_t kFlagAuthoritative = 0x0400;
constexpr uint16_t kFlagTruncated = 0x0200;
constexpr uint16_t kFlagRecursionDesired = 0x0100;
constexpr uint16_t kQuestionPointer = 0xC000 | kHeaderBytes;

uint16_t ReadU16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

void AppendU16(std::vector<uint8_t>& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}

void AppendU32(std::vector<uint8_t>& out, uint32_t value) {
  AppendU16(out, static_cast<uint16_t>(value >> 16));
  AppendU16(out, static_cast<uint16_t>(value));
}

// Lowercase, without a trailing dot; empty when `name` is not a valid DNS name.
std::string NormalizeName(absl::string_view name) {
  if (absl::EndsWith(name, ".")) name.remove_suffix(1);
  if (name.empty() || name.size() + 2 > kMaxNameWireBytes) return "";
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty() || label.size() > kMaxLabelBytes) return "";
  }
  return absl::AsciiStrToLower(name);
}

// The header of a response to the query with `id` and `query_flags`.
std::vector<uint8_t> ResponseHeader(const uint8_t* id, uint16_t query_flags, uint16_t rcode,
                                    bool echo_question) {
  std::vector<uint8_t> out;
  out.push_back(id[0]);
  out.push_back(id[1]);
  const uint16_t opcode_bits = query_flags & 0x7800;
  AppendU16(out, kFlagResponse | opcode_bits | kFlagAuthoritative |
                     (query_flags & kFlagRecursionDesired) | rcode);
  AppendU16(out, echo_question ? 1 : 0);  // questions
  AppendU16(out, 0);                      // answers, patched later
  AppendU16(out, 0);                      // authority
  AppendU16(out, 0);                      // additional
  return out;
}

}  // namespace

DnsResponder::DnsResponder(boost::asio::io_context& io) : socket_(io) {}

DnsResponder::~DnsResponder() { *alive_ = false; }

absl::Status DnsResponder::Start() {
  boost::system::error_code error;
  const boost::asio::ip::udp::endpoint local(boost::asio::ip::address_v4::loopback(), 0);
  socket_.open(local.protocol(), error);
  if (!error) socket_.bind(local, error);
  if (error) return absl::UnavailableError(absl::StrCat("DNS responder: ", error.message()));
  port_ = socket_.local_endpoint(error).port();
  if (error) return absl::UnavailableError(absl::StrCat("DNS responder: ", error.message()));
  Receive();
  return absl::OkStatus();
}

std::string DnsResponder::server() const { return absl::StrCat("127.0.0.1:", port_); }

absl::Status DnsResponder::AddAddress(const std::string& name, const std::string& address,
                                      uint32_t ttl_seconds) {
  Record record{ns_t_a, ttl_seconds, {}};
  if (absl::StrContains(address, ':')) {
    record.type = ns_t_aaaa;
    record.data.resize(16);
    if (inet_pton(AF_INET6, address.c_str(), record.data.data()) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("\"", address, "\" is not an IPv6 address"));
    }
  } else {
    record.data.resize(4);
    if (inet_pton(AF_INET, address.c_str(), record.data.data()) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("\"", address, "\" is not an IPv4 address"));
    }
  }
  return Add(name, std::move(record));
}

absl::Status DnsResponder::AddTxt(const std::string& name, const std::vector<std::string>& strings,
                                  uint32_t ttl_seconds) {
  Record record{ns_t_txt, ttl_seconds, {}};
  for (const std::string& s : strings) {
    if (s.size() > kMaxTxtStringBytes) {
      return absl::InvalidArgumentError("a TXT character-string is at most 255 bytes");
    }
    record.data.push_back(static_cast<uint8_t>(s.size()));
    record.data.insert(record.data.end(), s.begin(), s.end());
  }
  if (record.data.empty()) return absl::InvalidArgumentError("a TXT record needs a string");
  return Add(name, std::move(record));
}

absl::Status DnsResponder::Add(const std::string& name, Record record) {
  const std::string key = NormalizeName(name);
  if (key.empty()) return absl::InvalidArgumentError(absl::StrCat("bad DNS name \"", name, "\""));
  if (!records_.contains(key) && records_.size() >= kMaxNames) {
    return absl::ResourceExhaustedError("too many names");
  }
  std::vector<Record>& records = records_[key];
  if (records.size() >= kMaxRecordsPerName) {
    return absl::ResourceExhaustedError(absl::StrCat("too many records for ", key));
  }
  records.push_back(std::move(record));
  return absl::OkStatus();
}

std::vector<uint8_t> DnsResponder::Respond(absl::Span<const uint8_t> query) const {
  if (query.size() < kHeaderBytes || mode_ == Mode::kDrop) return {};
  const uint8_t* q = query.data();
  const uint16_t flags = ReadU16(q + 2);
  if ((flags & kFlagResponse) != 0) return {};
  if ((flags & 0x7800) != 0) return ResponseHeader(q, flags, ns_r_notimpl, false);
  if (ReadU16(q + 4) != 1) return ResponseHeader(q, flags, ns_r_formerr, false);

  std::string name;
  size_t pos = kHeaderBytes;
  for (;;) {
    if (pos >= query.size() || pos - kHeaderBytes >= kMaxNameWireBytes) {
      return ResponseHeader(q, flags, ns_r_formerr, false);
    }
    const uint8_t length = q[pos++];
    if (length == 0) break;
    // Compression has no place in a lone question; other label types are obsolete.
    if (length > kMaxLabelBytes || query.size() - pos < length) {
      return ResponseHeader(q, flags, ns_r_formerr, false);
    }
    if (!name.empty()) name.push_back('.');
    name.append(reinterpret_cast<const char*>(q + pos), length);
    pos += length;
  }
  if (query.size() - pos < 4) return ResponseHeader(q, flags, ns_r_formerr, false);
  const uint16_t type = ReadU16(q + pos);
  const uint16_t qclass = ReadU16(q + pos + 2);
  pos += 4;

  auto respond = [&](uint16_t rcode) {
    std::vector<uint8_t> out = ResponseHeader(q, flags, rcode, true);
    out.insert(out.end(), q + kHeaderBytes, q + pos);
    return out;
  };
  if (mode_ == Mode::kServfail) return respond(ns_r_servfail);
  if (qclass != kClassIn) return respond(ns_r_refused);
  auto found = records_.find(absl::AsciiStrToLower(name));
  if (found == records_.end()) return respond(ns_r_nxdomain);

  std::vector<uint8_t> out = respond(ns_r_noerror);
  uint16_t answers = 0;
  for (const Record& record : found->second) {
    if (record.type != type) continue;
    AppendU16(out, kQuestionPointer);
    AppendU16(out, record.type);
    AppendU16(out, kClassIn);
    AppendU32(out, record.ttl_seconds);
    AppendU16(out, static_cast<uint16_t>(record.data.size()));
    out.insert(out.end(), record.data.begin(), record.data.end());
    ++answers;
  }
  if (out.size() > kMaxResponseBytes) {
    out = respond(ns_r_noerror);
    out[2] |= kFlagTruncated >> 8;
    return out;
  }
  out[6] = static_cast<uint8_t>(answers >> 8);
  out[7] = static_cast<uint8_t>(answers);
  return out;
}

void DnsResponder::Receive() {
  socket_.async_receive_from(
      boost::asio::buffer(query_buffer_), peer_,
      [this, alive = alive_](const boost::system::error_code& error, size_t bytes) {
        if (!*alive || error == boost::asio::error::operation_aborted) return;
        if (!error) {
          ++queries_received_;
          const std::vector<uint8_t> response =
              Respond(absl::MakeConstSpan(query_buffer_.data(), bytes));
          boost::system::error_code ignored;
          if (!response.empty()) socket_.send_to(boost::asio::buffer(response), peer_, 0, ignored);
        }
        Receive();
      });
}

}  // namespace connmgr
