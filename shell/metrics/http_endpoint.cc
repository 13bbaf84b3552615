#include "shell/metrics/http_endpoint.h"

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace connmgr {
namespace {

using boost::asio::ip::tcp;
using boost::system::error_code;

constexpr absl::string_view kMetricsPath = "/metrics";
constexpr absl::string_view kMetricsContentType = "text/plain; version=0.0.4";
// After a failed accept (usually out of descriptors): wait this long rather than spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

struct RequestLine {
  absl::string_view method;
  absl::string_view path;  // the target without its query string
};

bool IsUpperCaseToken(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

bool IsOriginFormTarget(absl::string_view s) {
  if (s.empty() || s[0] != '/') return false;
  for (char c : s) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7F) return false;
  }
  return true;
}

// "METHOD SP /target SP HTTP/1.x" from the start of `head`. The headers decide nothing here, so
// they are not parsed.
std::optional<RequestLine> ParseRequestLine(absl::string_view head) {
  absl::string_view line = head.substr(0, head.find('\n'));
  absl::ConsumeSuffix(&line, "\r");
  const std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3) return std::nullopt;
  if (!IsUpperCaseToken(parts[0]) || !IsOriginFormTarget(parts[1])) return std::nullopt;
  if (parts[2] != "HTTP/1.1" && parts[2] != "HTTP/1.0") return std::nullopt;
  return RequestLine{parts[0], parts[1].substr(0, parts[1].find('?'))};
}

// Where the head ends (just past its blank line, "\r\n\r\n" or a bare "\n\n"), or npos. Only
// line ends at or after `from` are looked at.
size_t FindHeadEnd(absl::string_view received, size_t from) {
  for (size_t i = received.find('\n', from); i != absl::string_view::npos;
       i = received.find('\n', i + 1)) {
    if (i + 1 < received.size() && received[i + 1] == '\n') return i + 2;
    if (i + 2 < received.size() && received[i + 1] == '\r' && received[i + 2] == '\n') {
      return i + 3;
    }
  }
  return absl::string_view::npos;
}

std::string HttpResponse(absl::string_view status, absl::string_view content_type,
                         absl::string_view body, absl::string_view extra_headers = "") {
  return absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", content_type,
                      "\r\nContent-Length: ", body.size(), "\r\n", extra_headers,
                      "Connection: close\r\n\r\n", body);
}

std::string ErrorResponse(absl::string_view status, absl::string_view extra_headers = "") {
  return HttpResponse(status, "text/plain; charset=utf-8", absl::StrCat(status, "\n"),
                      extra_headers);
}

std::string EndpointText(const tcp::endpoint& endpoint) {
  const std::string ip = endpoint.address().to_string();
  return endpoint.address().is_v6() ? absl::StrCat("[", ip, "]:", endpoint.port())
                                    : absl::StrCat(ip, ":", endpoint.port());
}

}  // namespace

// Shared by the endpoint and every pending handler, so handlers that run after the endpoint is
// gone still find live objects.
struct MetricsHttpEndpoint::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& io, BodySupplier supplier, MetricsHttpLimits limits)
      : acceptor(io), accept_retry_timer(io), supplier(std::move(supplier)), limits(limits) {}

  void AcceptNext();
  void OnAccepted(const error_code& error, tcp::socket socket);
  void Stop();

  tcp::acceptor acceptor;
  boost::asio::steady_timer accept_retry_timer;
  BodySupplier supplier;
  MetricsHttpLimits limits;
  uint16_t port = 0;
  bool stopped = false;
  absl::flat_hash_set<Connection*> connections;  // each registers itself for its lifetime
};

// One accepted socket: read the head, answer, let the client close, done.
class MetricsHttpEndpoint::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<State> state, tcp::socket socket)
      : state_(std::move(state)),
        socket_(std::move(socket)),
        deadline_(socket_.get_executor()),
        head_(state_->limits.max_request_head_bytes, '\0') {
    state_->connections.insert(this);
  }
  ~Connection() { state_->connections.erase(this); }

  void Start() {
    ArmDeadline(state_->limits.read_timeout);
    ReadHead();
  }

  // Pending operations complete with operation_aborted, releasing this connection.
  void Close() {
    error_code ignored;
    socket_.close(ignored);
    deadline_.cancel();
  }

 private:
  void ArmDeadline(std::chrono::milliseconds timeout) {
    deadline_.expires_after(timeout);
    deadline_.async_wait([self = shared_from_this()](const error_code& error) {
      // A re-armed timer cancels the earlier wait; the expiry check covers a wait that had
      // already completed when it was re-armed.
      if (!error && self->deadline_.expiry() <= std::chrono::steady_clock::now()) self->Close();
    });
  }

  void ReadHead() {
    socket_.async_read_some(boost::asio::buffer(head_.data() + received_, head_.size() - received_),
                            [self = shared_from_this()](const error_code& error, size_t bytes) {
                              self->OnHeadBytes(error, bytes);
                            });
  }

  void OnHeadBytes(const error_code& error, size_t bytes) {
    if (error || !socket_.is_open()) {  // includes the client closing before its head ended
      Close();
      return;
    }
    const size_t search_from = received_ >= 2 ? received_ - 2 : 0;
    received_ += bytes;
    const absl::string_view received(head_.data(), received_);
    if (FindHeadEnd(received, search_from) != absl::string_view::npos) {
      Respond(Answer(received));
    } else if (received_ == head_.size()) {
      Respond(ErrorResponse("431 Request Header Fields Too Large"));
    } else {
      ReadHead();
    }
  }

  std::string Answer(absl::string_view head) const {
    const std::optional<RequestLine> request = ParseRequestLine(head);
    if (!request) return ErrorResponse("400 Bad Request");
    if (request->path != kMetricsPath) return ErrorResponse("404 Not Found");
    if (request->method != "GET") return ErrorResponse("405 Method Not Allowed", "Allow: GET\r\n");
    std::string body;
    try {
      body = state_->supplier();
    } catch (const std::exception&) {
      return ErrorResponse("500 Internal Server Error");
    }
    return HttpResponse("200 OK", kMetricsContentType, body);
  }

  void Respond(std::string response) {
    response_ = std::move(response);
    ArmDeadline(state_->limits.write_timeout);
    boost::asio::async_write(socket_, boost::asio::buffer(response_),
                             [self = shared_from_this()](const error_code& error, size_t) {
                               self->OnResponseWritten(error);
                             });
  }

  void OnResponseWritten(const error_code& error) {
    if (error || !socket_.is_open()) {
      Close();
      return;
    }
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    DiscardUntilClientCloses();
  }

  // Closing a socket with unread bytes (a request body, pipelined requests) resets it, and the
  // reset can destroy the answer before the client reads it.
  void DiscardUntilClientCloses() {
    socket_.async_read_some(boost::asio::buffer(discarded_),
                            [self = shared_from_this()](const error_code& error, size_t) {
                              if (error || !self->socket_.is_open()) {
                                self->Close();
                              } else {
                                self->DiscardUntilClientCloses();
                              }
                            });
  }

  std::shared_ptr<State> state_;
  tcp::socket socket_;
  boost::asio::steady_timer deadline_;
  std::string head_;  // max_request_head_bytes, of which received_ are filled
  size_t received_ = 0;
  std::string response_;
  std::array<char, 1024> discarded_;
};

void MetricsHttpEndpoint::State::AcceptNext() {
  acceptor.async_accept([self = shared_from_this()](const error_code& error, tcp::socket socket) {
    self->OnAccepted(error, std::move(socket));
  });
}

void MetricsHttpEndpoint::State::OnAccepted(const error_code& error, tcp::socket socket) {
  if (stopped || error == boost::asio::error::operation_aborted) return;
  if (error) {
    accept_retry_timer.expires_after(kAcceptRetryDelay);
    accept_retry_timer.async_wait([self = shared_from_this()](const error_code& timer_error) {
      if (!timer_error && !self->stopped) self->AcceptNext();
    });
    return;
  }
  if (connections.size() >= limits.max_connections) {
    error_code ignored;
    socket.close(ignored);
  } else {
    std::make_shared<Connection>(shared_from_this(), std::move(socket))->Start();
  }
  AcceptNext();
}

void MetricsHttpEndpoint::State::Stop() {
  if (stopped) return;
  stopped = true;
  error_code ignored;
  acceptor.close(ignored);
  accept_retry_timer.cancel();
  for (Connection* connection : connections) connection->Close();
}

absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> MetricsHttpEndpoint::Start(
    boost::asio::io_context& io, absl::string_view address, uint16_t port, BodySupplier supplier,
    MetricsHttpLimits limits) {
  if (!supplier) return absl::InvalidArgumentError("metrics endpoint: no body supplier");
  if (limits.max_request_head_bytes == 0 || limits.max_connections == 0) {
    return absl::InvalidArgumentError(
        "metrics endpoint: max_request_head_bytes and max_connections must be at least 1");
  }
  error_code error;
  const boost::asio::ip::address ip = boost::asio::ip::make_address(std::string(address), error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics endpoint: \"", address, "\" is not an IP address"));
  }
  const tcp::endpoint endpoint(ip, port);
  auto state = std::make_shared<State>(io, std::move(supplier), limits);
  const auto failed = [&](absl::string_view step) {
    return absl::UnavailableError(absl::StrCat("metrics endpoint: cannot ", step, " ",
                                               EndpointText(endpoint), ": ", error.message()));
  };
  state->acceptor.open(endpoint.protocol(), error);
  if (error) return failed("open a socket for");
  state->acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  if (error) return failed("set SO_REUSEADDR for");
  state->acceptor.bind(endpoint, error);
  if (error) return failed("bind to");
  state->acceptor.listen(boost::asio::socket_base::max_listen_connections, error);
  if (error) return failed("listen on");
  const tcp::endpoint bound = state->acceptor.local_endpoint(error);
  if (error) return failed("read the bound port of");
  state->port = bound.port();
  state->AcceptNext();
  return std::unique_ptr<MetricsHttpEndpoint>(new MetricsHttpEndpoint(std::move(state)));
}

MetricsHttpEndpoint::MetricsHttpEndpoint(std::shared_ptr<State> state) : state_(std::move(state)) {}

MetricsHttpEndpoint::~MetricsHttpEndpoint() { Stop(); }

uint16_t MetricsHttpEndpoint::port() const { return state_->port; }

size_t MetricsHttpEndpoint::open_connections() const { return state_->connections.size(); }

void MetricsHttpEndpoint::Stop() { state_->Stop(); }

}  // namespace connmgr
