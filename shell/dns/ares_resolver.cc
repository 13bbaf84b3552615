#include "shell/dns/ares_resolver.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <sys/time.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <climits>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace connmgr {

namespace {

constexpr size_t kDnsHeaderBytes = 12;
constexpr size_t kMaxServerTextBytes = 64;
constexpr int kMaxTries = 16;
constexpr std::chrono::milliseconds kMaxTimeout = std::chrono::minutes(10);

int RecordTypeCode(DnsRecordType type) {
  switch (type) {
    case DnsRecordType::kA:
      return ns_t_a;
    case DnsRecordType::kAaaa:
      return ns_t_aaaa;
    case DnsRecordType::kTxt:
      return ns_t_txt;
  }
  return ns_t_a;
}

uint16_t ReadU16(const unsigned char* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

uint32_t ReadU32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Moves `*offset` past the (possibly compressed) name there, without following pointers.
bool SkipName(const unsigned char* message, size_t size, size_t* offset) {
  size_t pos = *offset;
  while (pos < size) {
    const uint8_t length = message[pos];
    if ((length & 0xC0) == 0xC0) {
      if (pos + 2 > size) return false;
      *offset = pos + 2;
      return true;
    }
    if ((length & 0xC0) != 0) return false;  // obsolete or unknown label types
    if (length == 0) {
      *offset = pos + 1;
      return true;
    }
    pos += 1 + size_t{length};
    if (pos - *offset > kAresMaxNameBytes) return false;
  }
  return false;
}

Duration TtlFromSeconds(int seconds) { return Duration::Seconds(std::max(seconds, 0)); }

absl::StatusOr<AresResolver::Answer> ParseAddresses(int family, const unsigned char* message,
                                                    int size) {
  AresResolver::Answer answer;
  int count = static_cast<int>(kAresMaxRecordsPerAnswer);
  int min_ttl = INT_MAX;
  char text[INET6_ADDRSTRLEN];
  if (family == AF_INET) {
    std::vector<ares_addrttl> found(kAresMaxRecordsPerAnswer);
    const int status = ares_parse_a_reply(message, size, nullptr, found.data(), &count);
    if (status != ARES_SUCCESS) return AresStatusToError(status);
    for (int i = 0; i < count; ++i) {
      if (inet_ntop(AF_INET, &found[i].ipaddr, text, sizeof(text)) == nullptr) continue;
      answer.records.emplace_back(text);
      min_ttl = std::min(min_ttl, found[i].ttl);
    }
  } else {
    std::vector<ares_addr6ttl> found(kAresMaxRecordsPerAnswer);
    const int status = ares_parse_aaaa_reply(message, size, nullptr, found.data(), &count);
    if (status != ARES_SUCCESS) return AresStatusToError(status);
    for (int i = 0; i < count; ++i) {
      if (inet_ntop(AF_INET6, &found[i].ip6addr, text, sizeof(text)) == nullptr) continue;
      answer.records.emplace_back(text);
      min_ttl = std::min(min_ttl, found[i].ttl);
    }
  }
  if (answer.records.empty()) return AresStatusToError(ARES_ENODATA);
  answer.ttl = TtlFromSeconds(min_ttl);
  return answer;
}

absl::StatusOr<AresResolver::Answer> ParseTxt(const unsigned char* message, int size) {
  ares_txt_ext* chunks = nullptr;
  const int status = ares_parse_txt_reply_ext(message, size, &chunks);
  if (status != ARES_SUCCESS) return AresStatusToError(status);
  std::unique_ptr<ares_txt_ext, void (*)(void*)> owned(chunks, &ares_free_data);
  AresResolver::Answer answer;
  bool dropping = false;
  for (const ares_txt_ext* chunk = chunks; chunk != nullptr; chunk = chunk->next) {
    if (chunk->record_start || answer.records.empty()) {
      dropping = answer.records.size() >= kAresMaxRecordsPerAnswer;
      if (!dropping) answer.records.emplace_back();
    }
    if (dropping) continue;
    answer.records.back().append(reinterpret_cast<const char*>(chunk->txt), chunk->length);
  }
  if (answer.records.empty()) return AresStatusToError(ARES_ENODATA);
  // ares_parse_txt_reply_ext reports no TTL: read it from the message.
  absl::StatusOr<uint32_t> ttl = MinAnswerTtlSeconds(message, static_cast<size_t>(size));
  if (!ttl.ok()) return AresStatusToError(ARES_EBADRESP);
  answer.ttl = Duration::Seconds(*ttl);
  return answer;
}

absl::StatusOr<AresResolver::Answer> ParseAnswer(DnsRecordType type, const unsigned char* message,
                                                 int size) {
  if (message == nullptr || size <= 0) return AresStatusToError(ARES_EBADRESP);
  switch (type) {
    case DnsRecordType::kA:
      return ParseAddresses(AF_INET, message, size);
    case DnsRecordType::kAaaa:
      return ParseAddresses(AF_INET6, message, size);
    case DnsRecordType::kTxt:
      return ParseTxt(message, size);
  }
  return AresStatusToError(ARES_EBADRESP);
}

void PostResult(boost::asio::io_context& io, AresResolver::Callback done,
                absl::StatusOr<AresResolver::Answer> result) {
  if (!done) return;
  boost::asio::post(io, [done = std::move(done), result = std::move(result)]() mutable {
    done(std::move(result));
  });
}

}  // namespace

absl::Status AresStatusToError(int ares_status) {
  switch (ares_status) {
    case ARES_SUCCESS:
      return absl::OkStatus();
    case ARES_ENOTFOUND:
      return absl::NotFoundError("NXDOMAIN");
    case ARES_ENODATA:
      return absl::NotFoundError("NODATA");
    case ARES_ESERVFAIL:
      return absl::UnavailableError("SERVFAIL");
    case ARES_EREFUSED:
      return absl::UnavailableError("REFUSED");
    case ARES_ENOTIMP:
      return absl::UnimplementedError("NOTIMP");
    case ARES_EFORMERR:
      return absl::InvalidArgumentError("FORMERR");
    case ARES_ETIMEOUT:
      return absl::DeadlineExceededError("timeout");
    case ARES_ECONNREFUSED:
      return absl::UnavailableError("connection refused");
    case ARES_EBADRESP:
      return absl::DataLossError("bad response");
    case ARES_EBADNAME:
      return absl::InvalidArgumentError("bad name");
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
      return absl::CancelledError("cancelled");
    case ARES_ENOMEM:
      return absl::ResourceExhaustedError("out of memory");
    default:
      return absl::UnknownError(ares_strerror(ares_status));
  }
}

absl::StatusOr<uint32_t> MinAnswerTtlSeconds(const unsigned char* message, size_t size) {
  auto malformed = [](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("DNS message: ", what));
  };
  if (message == nullptr || size < kDnsHeaderBytes) return malformed("shorter than a header");
  const uint16_t questions = ReadU16(message + 4);
  const uint16_t answers = ReadU16(message + 6);
  size_t offset = kDnsHeaderBytes;
  for (uint16_t i = 0; i < questions; ++i) {
    if (!SkipName(message, size, &offset)) return malformed("bad question name");
    if (size - offset < 4) return malformed("truncated question");
    offset += 4;  // type, class
  }
  if (answers == 0) return malformed("no answer");
  uint32_t min_ttl = std::numeric_limits<uint32_t>::max();
  for (uint16_t i = 0; i < answers; ++i) {
    if (!SkipName(message, size, &offset)) return malformed("bad answer name");
    if (size - offset < 10) return malformed("truncated answer");  // type, class, ttl, length
    uint32_t ttl = ReadU32(message + offset + 4);
    if (ttl > uint32_t{INT32_MAX}) ttl = 0;
    min_ttl = std::min(min_ttl, ttl);
    const uint16_t data_bytes = ReadU16(message + offset + 8);
    offset += 10;
    if (size - offset < data_bytes) return malformed("truncated answer data");
    offset += data_bytes;
  }
  return min_ttl;
}

struct AresResolver::PendingQuery {
  AresResolver* resolver;
  DnsRecordType type;
  Callback done;
};

struct AresResolver::SocketWatch {
  SocketWatch(boost::asio::io_context& io, ares_socket_t fd) : descriptor(io), fd(fd) {}
  // Unregisters the fd from the reactor without closing it: c-ares closes its own sockets.
  void Forget() {
    closed = true;
    if (descriptor.is_open()) descriptor.release();
  }

  boost::asio::posix::stream_descriptor descriptor;
  const ares_socket_t fd;
  bool want_read = false;
  bool want_write = false;
  bool read_armed = false;
  bool write_armed = false;
  bool closed = false;  // handlers still queued must not touch the resolver
};

absl::StatusOr<std::unique_ptr<AresResolver>> AresResolver::Create(boost::asio::io_context& io,
                                                                   const AresOptions& options) {
  if (options.timeout < std::chrono::milliseconds(1) || options.timeout > kMaxTimeout) {
    return absl::InvalidArgumentError(
        absl::StrCat("DNS timeout must be 1 ms to ", kMaxTimeout.count(), " ms"));
  }
  if (options.tries < 1 || options.tries > kMaxTries) {
    return absl::InvalidArgumentError(absl::StrCat("DNS tries must be 1 to ", kMaxTries));
  }
  if (options.max_queries_in_flight == 0) {
    return absl::InvalidArgumentError("max_queries_in_flight must be at least 1");
  }
  if (options.servers.size() > kAresMaxServers) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.servers.size(), " DNS servers, over the limit of ", kAresMaxServers));
  }
  for (const std::string& server : options.servers) {
    if (server.empty() || server.size() > kMaxServerTextBytes || absl::StrContains(server, ',') ||
        absl::StrContains(server, '\0')) {
      return absl::InvalidArgumentError(absl::StrCat("bad DNS server \"", server, "\""));
    }
  }

  static const int library_status = ares_library_init(ARES_LIB_INIT_ALL);
  if (library_status != ARES_SUCCESS) {
    return absl::InternalError(absl::StrCat("ares_library_init: ", ares_strerror(library_status)));
  }

  std::unique_ptr<AresResolver> resolver(new AresResolver(io, options.max_queries_in_flight));
  ares_options init = {};
  init.timeout = static_cast<int>(options.timeout.count());
  init.tries = options.tries;
  // Without it c-ares 1.18 skips a server that answers SERVFAIL or REFUSED and, once none is
  // left, reports the generic ECONNREFUSED; with it the query ends with the server's rcode.
  init.flags = ARES_FLAG_NOCHECKRESP;
  init.sock_state_cb = &AresResolver::OnSocketState;
  init.sock_state_cb_data = resolver.get();
  ares_channel channel = nullptr;
  const int status = ares_init_options(
      &channel, &init,
      ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB);
  if (status != ARES_SUCCESS) {
    return absl::InternalError(absl::StrCat("ares_init_options: ", ares_strerror(status)));
  }
  resolver->channel_ = channel;
  if (!options.servers.empty()) {
    const std::string csv = absl::StrJoin(options.servers, ",");
    const int set_status = ares_set_servers_ports_csv(channel, csv.c_str());
    if (set_status != ARES_SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad DNS servers \"", csv, "\": ", ares_strerror(set_status)));
    }
  }
  return resolver;
}

AresResolver::AresResolver(boost::asio::io_context& io, size_t max_queries_in_flight)
    : io_(io), max_queries_in_flight_(max_queries_in_flight), timer_(io) {}

AresResolver::~AresResolver() {
  *alive_ = false;
  // Completes every query with ARES_EDESTRUCTION and reports its sockets closed.
  if (channel_ != nullptr) ares_destroy(channel_);
  channel_ = nullptr;
  for (auto& [fd, watch] : watches_) watch->Forget();
  watches_.clear();
}

void AresResolver::Query(const std::string& name, DnsRecordType type, Callback done) {
  if (name.empty() || name.size() > kAresMaxNameBytes || absl::StrContains(name, '\0')) {
    PostResult(io_, std::move(done), AresStatusToError(ARES_EBADNAME));
    return;
  }
  if (queries_in_flight_ >= max_queries_in_flight_) {
    PostResult(io_, std::move(done), absl::ResourceExhaustedError("too many queries"));
    return;
  }
  ++queries_in_flight_;
  auto* pending = new PendingQuery{this, type, std::move(done)};
  // May call OnQueryDone at once (a name c-ares cannot encode, say), which frees `pending`.
  ares_query(channel_, name.c_str(), ns_c_in, RecordTypeCode(type), &AresResolver::OnQueryDone,
             pending);
  RearmTimer();
}

void AresResolver::CancelAll() {
  ares_cancel(channel_);
  RearmTimer();
}

void AresResolver::OnQueryDone(void* arg, int status, int /*timeouts*/, unsigned char* message,
                               int size) {
  std::unique_ptr<PendingQuery> pending(static_cast<PendingQuery*>(arg));
  AresResolver& self = *pending->resolver;
  --self.queries_in_flight_;
  absl::StatusOr<Answer> result = status == ARES_SUCCESS
                                      ? ParseAnswer(pending->type, message, size)
                                      : absl::StatusOr<Answer>(AresStatusToError(status));
  PostResult(self.io_, std::move(pending->done), std::move(result));
}

void AresResolver::OnSocketState(void* data, ares_socket_t fd, int readable, int writable) {
  static_cast<AresResolver*>(data)->WatchSocket(fd, readable != 0, writable != 0);
}

void AresResolver::WatchSocket(ares_socket_t fd, bool readable, bool writable) {
  auto it = watches_.find(fd);
  if (!readable && !writable) {  // c-ares is about to close the socket
    if (it == watches_.end()) return;
    it->second->Forget();
    watches_.erase(it);
    return;
  }
  if (it == watches_.end()) {
    auto watch = std::make_shared<SocketWatch>(io_, fd);
    boost::system::error_code error;
    watch->descriptor.assign(fd, error);
    // Unwatched, the socket's queries end by timeout.
    if (error) return;
    it = watches_.emplace(fd, std::move(watch)).first;
  }
  const std::shared_ptr<SocketWatch>& watch = it->second;
  watch->want_read = readable;
  watch->want_write = writable;
  if (readable && !watch->read_armed) ArmRead(watch);
  if (writable && !watch->write_armed) ArmWrite(watch);
}

void AresResolver::ArmRead(const std::shared_ptr<SocketWatch>& watch) {
  watch->read_armed = true;
  watch->descriptor.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                               [this, watch](const boost::system::error_code&) {
                                 if (watch->closed) return;
                                 watch->read_armed = false;
                                 ares_process_fd(channel_, watch->fd, ARES_SOCKET_BAD);
                                 if (!watch->closed && watch->want_read && !watch->read_armed)
                                   ArmRead(watch);
                                 RearmTimer();
                               });
}

void AresResolver::ArmWrite(const std::shared_ptr<SocketWatch>& watch) {
  watch->write_armed = true;
  watch->descriptor.async_wait(boost::asio::posix::stream_descriptor::wait_write,
                               [this, watch](const boost::system::error_code&) {
                                 if (watch->closed) return;
                                 watch->write_armed = false;
                                 ares_process_fd(channel_, ARES_SOCKET_BAD, watch->fd);
                                 if (!watch->closed && watch->want_write && !watch->write_armed)
                                   ArmWrite(watch);
                                 RearmTimer();
                               });
}

void AresResolver::RearmTimer() {
  timeval storage = {};
  const timeval* next = ares_timeout(channel_, nullptr, &storage);
  if (next == nullptr) {
    timer_.cancel();
    return;
  }
  timer_.expires_after(std::chrono::seconds(next->tv_sec) +
                       std::chrono::microseconds(next->tv_usec));
  timer_.async_wait([this, alive = alive_](const boost::system::error_code& error) {
    if (!*alive || error == boost::asio::error::operation_aborted) return;
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    RearmTimer();
  });
}

}  // namespace connmgr
