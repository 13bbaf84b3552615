// A minimal HTTP/1.1 server for Prometheus scrapes: `GET /metrics` answers with what the supplier
// returns, as `text/plain; version=0.0.4`. It runs on the caller's io_context (no thread of its
// own), answers one request per connection and then closes it.
//
//   boost::asio::io_context io;
//   absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> endpoint = MetricsHttpEndpoint::Start(
//       io, "127.0.0.1", 9464, [&] { return FormatPrometheus(core.GetMetrics()); });
//   if (!endpoint.ok()) return endpoint.status();
//   io.run();
//
// Answers: 200 for GET /metrics (a query string is ignored), 404 for any other path, 405 for
// another method on /metrics, 400 for a malformed request line, 431 for a request head over
// the limit, 500 if the supplier throws. Request bodies are never read. Everything is bounded:
// the request head, the number of connections (more are closed as soon as accepted), and the
// time each connection may take.
#ifndef CONNMGR_SHELL_METRICS_HTTP_ENDPOINT_H_
#define CONNMGR_SHELL_METRICS_HTTP_ENDPOINT_H_

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace connmgr {

struct MetricsHttpLimits {
  size_t max_request_head_bytes = 8'192;  // request line + headers + blank line; more: 431
  size_t max_connections = 64;            // accepted beyond this: closed at once
  // From accept to the end of the request head; then the connection is closed without answer.
  std::chrono::milliseconds read_timeout{5000};
  // To send the answer and see the client close its side; then the connection is closed.
  std::chrono::milliseconds write_timeout{5000};
};

class MetricsHttpEndpoint {
 public:
  using BodySupplier = std::function<std::string()>;

  // Listens on `address` (an IPv4 or IPv6 literal) and `port` (0: the OS picks one, see port()).
  // `io` must outlive the endpoint. Both limits counts must be at least 1.
  static absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> Start(boost::asio::io_context& io,
                                                                    absl::string_view address,
                                                                    uint16_t port,
                                                                    BodySupplier supplier,
                                                                    MetricsHttpLimits limits = {});

  MetricsHttpEndpoint(const MetricsHttpEndpoint&) = delete;
  MetricsHttpEndpoint& operator=(const MetricsHttpEndpoint&) = delete;
  ~MetricsHttpEndpoint();  // Stop()

  uint16_t port() const;  // the bound port
  // Connections accepted and not yet gone (including those Stop() closed whose handlers have not
  // run yet).
  size_t open_connections() const;

  // Closes the listening socket and every connection; idempotent. Their pending handlers finish
  // (and release everything) the next time the io_context runs, or when it is destroyed.
  void Stop();

 private:
  struct State;
  class Connection;

  explicit MetricsHttpEndpoint(std::shared_ptr<State> state);

  std::shared_ptr<State> state_;
};

}  // namespace connmgr

#endif  // CONNMGR_SHELL_METRICS_HTTP_ENDPOINT_H_
