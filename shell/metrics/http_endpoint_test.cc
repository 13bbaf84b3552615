#include "shell/metrics/http_endpoint.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using boost::asio::ip::tcp;
using boost::system::error_code;
using std::chrono::milliseconds;

constexpr absl::string_view kBody = "connmgr_up 1\n";
constexpr absl::string_view kOk =
    "HTTP/1.1 200 OK\r\n"
    "Content-Type: text/plain; version=0.0.4\r\n"
    "Content-Length: 13\r\n"
    "Connection: close\r\n"
    "\r\n"
    "connmgr_up 1\n";
constexpr absl::string_view kNotFound =
    "HTTP/1.1 404 Not Found\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 14\r\n"
    "Connection: close\r\n"
    "\r\n"
    "404 Not Found\n";
constexpr absl::string_view kMethodNotAllowed =
    "HTTP/1.1 405 Method Not Allowed\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 23\r\n"
    "Allow: GET\r\n"
    "Connection: close\r\n"
    "\r\n"
    "405 Method Not Allowed\n";
constexpr absl::string_view kBadRequest =
    "HTTP/1.1 400 Bad Request\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 16\r\n"
    "Connection: close\r\n"
    "\r\n"
    "400 Bad Request\n";
constexpr absl::string_view kHeadTooLarge =
    "HTTP/1.1 431 Request Header Fields Too Large\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 36\r\n"
    "Connection: close\r\n"
    "\r\n"
    "431 Request Header Fields Too Large\n";

constexpr milliseconds kPatience{10000};  // how long a test waits for something that must happen

tcp::endpoint Loopback(uint16_t port) { return {boost::asio::ip::address_v4::loopback(), port}; }

// Runs `io` until `done()` holds or `timeout` passes; returns done().
bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
              milliseconds timeout = kPatience) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(milliseconds(10));
  }
  return true;
}

// Connects, sends `request`, closes its sending side and returns all it reads until the server
// closes. The server runs on the same io_context.
std::string Fetch(boost::asio::io_context& io, uint16_t port, std::string request) {
  tcp::socket socket(io);
  std::string response;
  bool done = false;
  socket.async_connect(Loopback(port), [&](const error_code& error) {
    if (error) {
      done = true;
      return;
    }
    boost::asio::async_write(socket, boost::asio::buffer(request), [&](const error_code&, size_t) {
      // Even if the server refused the rest of a long request, its answer may be waiting.
      error_code ignored;
      socket.shutdown(tcp::socket::shutdown_send, ignored);
      boost::asio::async_read(socket, boost::asio::dynamic_buffer(response),
                              [&](const error_code&, size_t) { done = true; });
    });
  });
  const bool finished = RunUntil(io, [&] { return done; });
  EXPECT_TRUE(finished) << "no answer to " << request.substr(0, 80);
  if (!finished) {
    error_code ignored;
    socket.close(ignored);
    RunUntil(io, [&] { return done; });
  }
  return response;
}

// Connects, sends `partial` (possibly nothing) and then waits, reading, until the server closes.
class IdleClient {
 public:
  IdleClient(boost::asio::io_context& io, uint16_t port, std::string partial = "")
      : socket_(io), partial_(std::move(partial)) {
    socket_.async_connect(Loopback(port), [this](const error_code& error) {
      if (error) {
        finished_ = true;
        return;
      }
      connected_ = true;
      boost::asio::async_write(socket_, boost::asio::buffer(partial_),
                               [this](const error_code& write_error, size_t) {
                                 if (write_error) {
                                   finished_ = true;
                                   return;
                                 }
                                 WaitForServerClose();
                               });
    });
  }

  bool connected() const { return connected_; }
  bool finished() const { return finished_; }
  // The server closed the connection without sending anything.
  bool closed_by_server() const { return closed_by_server_; }

  // Closes the client's socket; its pending operation finishes on the next run of the io_context.
  void Leave() {
    error_code ignored;
    socket_.close(ignored);
  }

 private:
  void WaitForServerClose() {
    socket_.async_read_some(
        boost::asio::buffer(&byte_, 1), [this](const error_code& error, size_t bytes) {
          if (!error && bytes > 0) {
            ADD_FAILURE() << "the server sent bytes to an idle client";
          }
          closed_by_server_ =
              error == boost::asio::error::eof || error == boost::asio::error::connection_reset;
          finished_ = true;
        });
  }

  tcp::socket socket_;
  std::string partial_;
  char byte_ = 0;
  bool connected_ = false;
  bool finished_ = false;
  bool closed_by_server_ = false;
};

using IdleClients = std::vector<std::unique_ptr<IdleClient>>;

size_t Count(const IdleClients& clients, bool (IdleClient::*predicate)() const) {
  size_t n = 0;
  for (const auto& client : clients) n += (client.get()->*predicate)() ? 1 : 0;
  return n;
}

// Every client leaves and its handlers run, so none outlives the test.
void LeaveAll(boost::asio::io_context& io, IdleClients& clients) {
  for (auto& client : clients) client->Leave();
  EXPECT_TRUE(
      RunUntil(io, [&] { return Count(clients, &IdleClient::finished) == clients.size(); }));
}

long CountOpenFileDescriptors() {
  return std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                       std::filesystem::directory_iterator());
}

class MetricsHttpEndpointTest : public ::testing::Test {
 protected:
  std::unique_ptr<MetricsHttpEndpoint> StartEndpoint(MetricsHttpLimits limits = {}) {
    absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> endpoint = MetricsHttpEndpoint::Start(
        io_, "127.0.0.1", 0,
        [this] {
          ++scrapes_;
          return std::string(kBody);
        },
        limits);
    EXPECT_TRUE(endpoint.ok()) << endpoint.status();
    if (!endpoint.ok()) return nullptr;
    EXPECT_NE((*endpoint)->port(), 0);
    return *std::move(endpoint);
  }

  std::string Fetch(uint16_t port, std::string request) {
    return ::connmgr::Fetch(io_, port, std::move(request));
  }

  boost::asio::io_context io_;
  int scrapes_ = 0;
};

TEST_F(MetricsHttpEndpointTest, GetMetricsReturnsTheSuppliedBody) {
  auto endpoint = StartEndpoint();
  ASSERT_NE(endpoint, nullptr);
  EXPECT_EQ(Fetch(endpoint->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), kOk);
  EXPECT_EQ(scrapes_, 1);
  EXPECT_EQ(Fetch(endpoint->port(), "GET /metrics HTTP/1.1\r\n\r\n"), kOk);
  EXPECT_EQ(scrapes_, 2);
}

TEST_F(MetricsHttpEndpointTest, AcceptsQueryStringsHttp10AndBareLineFeeds) {
  auto endpoint = StartEndpoint();
  ASSERT_NE(endpoint, nullptr);
  EXPECT_EQ(Fetch(endpoint->port(), "GET /metrics?name[]=x HTTP/1.1\r\n\r\n"), kOk);
  EXPECT_EQ(Fetch(endpoint->port(), "GET /metrics HTTP/1.0\r\n\r\n"), kOk);
  EXPECT_EQ(Fetch(endpoint->port(), "GET /metrics HTTP/1.1\nAccept: */*\n\n"), kOk);
  EXPECT_EQ(scrapes_, 3);
}

TEST_F(MetricsHttpEndpointTest, OtherPathsAre404) {
  auto endpoint = StartEndpoint();
  ASSERT_NE(endpoint, nullptr);
  for (const char* path : {"/other", "/", "/metrics/", "/metricsx", "/Metrics"}) {
    EXPECT_EQ(Fetch(endpoint->port(), absl::StrCat("GET ", path, " HTTP/1.1\r\n\r\n")), kNotFound)
        << path;
  }
  EXPECT_EQ(scrapes_, 0);
}

TEST_F(MetricsHttpEndpointTest, OtherMethodsAre405) {
  auto endpoint = StartEndpoint();
  ASSERT_NE(endpoint, nullptr);
  EXPECT_EQ(Fetch(endpoint->port(), "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"),
            kMethodNotAllowed);
  for (const char* method : {"PUT", "DELETE", "HEAD", "OPTIONS"}) {
    EXPECT_EQ(Fetch(endpoint->port(), absl::StrCat(method, " /metrics HTTP/1.1\r\n\r\n")),
              kMethodNotAllowed)
        << method;
  }
  EXPECT_EQ(scrapes_, 0);
}

TEST_F(MetricsHttpEndpointTest, MalformedRequestLinesAre400) {
  auto endpoint = StartEndpoint();
  ASSERT_NE(endpoint, nullptr);
  for (const char* request : {
           "GET /metrics\r\n\r\n",
           "GET  /metrics HTTP/1.1\r\n\r\n",
           "get /metrics HTTP/1.1\r\n\r\n",
           "GET metrics HTTP/1.1\r\n\r\n",
           "GET /metrics HTTP/2.0\r\n\r\n",
           "GET /metrics HTTP/1.1 extra\r\n\r\n",
           "GET /met\x01rics HTTP/1.1\r\n\r\n",
           "\r\n\r\n",
       }) {
    EXPECT_EQ(Fetch(endpoint->port(), request), kBadRequest) << request;
  }
  EXPECT_EQ(scrapes_, 0);
}

TEST_F(MetricsHttpEndpointTest, HeadOverTheLimitIs431) {
  auto endpoint = StartEndpoint();
  ASSERT_NE(endpoint, nullptr);
  const std::string start = "GET /metrics HTTP/1.1\r\nX-Pad: ";
  const std::string end = "\r\n\r\n";
  const size_t limit = MetricsHttpLimits{}.max_request_head_bytes;
  ASSERT_EQ(limit, 8192u);

  const std::string fits = start + std::string(limit - start.size() - end.size(), 'a') + end;
  ASSERT_EQ(fits.size(), limit);
  EXPECT_EQ(Fetch(endpoint->port(), fits), kOk);

  const std::string one_over =
      start + std::string(limit + 1 - start.size() - end.size(), 'a') + end;
  EXPECT_EQ(Fetch(endpoint->port(), one_over), kHeadTooLarge);
  EXPECT_EQ(Fetch(endpoint->port(), start + std::string(100000, 'a')), kHeadTooLarge);
  EXPECT_EQ(scrapes_, 1);
}

TEST_F(MetricsHttpEndpointTest, SmallerHeadLimitIsHonoured) {
  MetricsHttpLimits limits;
  limits.max_request_head_bytes = 32;
  auto endpoint = StartEndpoint(limits);
  ASSERT_NE(endpoint, nullptr);
  EXPECT_EQ(Fetch(endpoint->port(), "GET /metrics HTTP/1.1\r\n\r\n"), kOk);  // 25 bytes
  EXPECT_EQ(Fetch(endpoint->port(), "GET /metrics HTTP/1.1\r\nHost: abc\r\n\r\n"), kHeadTooLarge);
}

TEST_F(MetricsHttpEndpointTest, GarbageGetsAnErrorOrAClose) {
  auto endpoint = StartEndpoint();
  ASSERT_NE(endpoint, nullptr);
  SplitMix64 rng(20240601);
  const std::vector<std::string> fragments = {
      "GET", " ", "/metrics", "HTTP/1.1",           "\r\n", "\n",
      "\r",  "?", ":",        std::string(1, '\0'), "\xff", "POST"};
  for (int round = 0; round < 200; ++round) {
    std::string garbage;
    const uint64_t length = rng.Below(4) == 0 ? rng.Below(16) : rng.Below(20000);
    while (garbage.size() < length) {
      if (rng.Below(2) == 0) {
        garbage += fragments[rng.Below(fragments.size())];
      } else {
        garbage += static_cast<char>(rng.NextByte());
      }
    }
    const std::string response = Fetch(endpoint->port(), garbage);
    if (response.empty()) continue;  // the head never ended: closed without an answer
    EXPECT_TRUE(response == kOk || response == kNotFound || response == kMethodNotAllowed ||
                response == kBadRequest || response == kHeadTooLarge)
        << "round " << round << ": " << response.substr(0, 80);
  }
  EXPECT_EQ(Fetch(endpoint->port(), "GET /metrics HTTP/1.1\r\n\r\n"), kOk);
  EXPECT_TRUE(RunUntil(io_, [&] { return endpoint->open_connections() == 0; }));
}

TEST_F(MetricsHttpEndpointTest, ConnectionsBeyondTheLimitAreClosedAtOnce) {
  MetricsHttpLimits limits;
  limits.read_timeout = std::chrono::minutes(1);
  auto endpoint = StartEndpoint(limits);
  ASSERT_NE(endpoint, nullptr);
  constexpr size_t kClients = 70;
  ASSERT_EQ(limits.max_connections, 64u);

  IdleClients clients;
  for (size_t i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<IdleClient>(io_, endpoint->port()));
  }
  EXPECT_TRUE(RunUntil(io_,
                       [&] {
                         return endpoint->open_connections() == 64 &&
                                Count(clients, &IdleClient::closed_by_server) == kClients - 64;
                       }))
      << endpoint->open_connections() << " open, " << Count(clients, &IdleClient::closed_by_server)
      << " refused";
  RunUntil(
      io_, [] { return false; }, milliseconds(200));  // nothing else happens
  EXPECT_EQ(Count(clients, &IdleClient::connected), kClients);
  EXPECT_EQ(endpoint->open_connections(), 64u);
  EXPECT_EQ(Count(clients, &IdleClient::closed_by_server), kClients - 64);

  // While full, a scrape is refused too; once one idle client leaves, it is served.
  EXPECT_EQ(Fetch(endpoint->port(), "GET /metrics HTTP/1.1\r\n\r\n"), "");
  for (auto& client : clients) {
    if (!client->finished()) {
      client->Leave();
      break;
    }
  }
  EXPECT_TRUE(RunUntil(io_, [&] { return endpoint->open_connections() == 63; }));
  EXPECT_EQ(Fetch(endpoint->port(), "GET /metrics HTTP/1.1\r\n\r\n"), kOk);

  LeaveAll(io_, clients);
  EXPECT_TRUE(RunUntil(io_, [&] { return endpoint->open_connections() == 0; }));
}

TEST_F(MetricsHttpEndpointTest, IdleConnectionIsClosedAtTheReadDeadline) {
  MetricsHttpLimits limits;
  limits.read_timeout = milliseconds(200);
  auto endpoint = StartEndpoint(limits);
  ASSERT_NE(endpoint, nullptr);
  const auto start = std::chrono::steady_clock::now();
  IdleClients clients;
  clients.push_back(std::make_unique<IdleClient>(io_, endpoint->port()));
  clients.push_back(
      std::make_unique<IdleClient>(io_, endpoint->port(), "GET /metrics HTTP/1.1\r\n"));
  EXPECT_TRUE(RunUntil(io_, [&] { return Count(clients, &IdleClient::finished) == 2; }));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(Count(clients, &IdleClient::closed_by_server), 2u);
  EXPECT_GE(elapsed, milliseconds(200));
  EXPECT_LT(elapsed, milliseconds(5000));
  EXPECT_TRUE(RunUntil(io_, [&] { return endpoint->open_connections() == 0; }));
  EXPECT_EQ(scrapes_, 0);
}

TEST_F(MetricsHttpEndpointTest, ClientThatNeverReadsIsClosedAtTheWriteDeadline) {
  MetricsHttpLimits limits;
  limits.write_timeout = milliseconds(200);
  const std::string huge_body(64 << 20, 'x');  // more than loopback's socket buffers hold
  absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> endpoint = MetricsHttpEndpoint::Start(
      // NOLINTNEXTLINE(performance-no-automatic-move): a captured reference, copied on purpose.
      io_, "127.0.0.1", 0, [&] { return huge_body; }, limits);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  tcp::socket client(io_);
  client.connect(Loopback((*endpoint)->port()));
  boost::asio::write(client, boost::asio::buffer(std::string("GET /metrics HTTP/1.1\r\n\r\n")));
  EXPECT_TRUE(RunUntil(io_, [&] { return (*endpoint)->open_connections() == 1; }));
  EXPECT_TRUE(RunUntil(io_, [&] { return (*endpoint)->open_connections() == 0; }));
}

TEST_F(MetricsHttpEndpointTest, SupplierThatThrowsGives500) {
  absl::StatusOr<std::unique_ptr<MetricsHttpEndpoint>> endpoint = MetricsHttpEndpoint::Start(
      io_, "127.0.0.1", 0, []() -> std::string { throw std::runtime_error("no snapshot"); });
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(Fetch((*endpoint)->port(), "GET /metrics HTTP/1.1\r\n\r\n"),
            "HTTP/1.1 500 Internal Server Error\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 26\r\n"
            "Connection: close\r\n"
            "\r\n"
            "500 Internal Server Error\n");
}

TEST_F(MetricsHttpEndpointTest, StartRefusesBadArguments) {
  const auto supplier = [] { return std::string(kBody); };
  EXPECT_EQ(MetricsHttpEndpoint::Start(io_, "localhost", 0, supplier).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsHttpEndpoint::Start(io_, "127.0.0.1", 0, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  MetricsHttpLimits no_connections;
  no_connections.max_connections = 0;
  EXPECT_EQ(
      MetricsHttpEndpoint::Start(io_, "127.0.0.1", 0, supplier, no_connections).status().code(),
      absl::StatusCode::kInvalidArgument);

  auto first = StartEndpoint();
  ASSERT_NE(first, nullptr);
  const absl::Status busy =
      MetricsHttpEndpoint::Start(io_, "127.0.0.1", first->port(), supplier).status();
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(busy.message(), ::testing::HasSubstr(absl::StrCat("127.0.0.1:", first->port())));
}

TEST_F(MetricsHttpEndpointTest, StopClosesEverythingAndLeaksNoDescriptors) {
  {
    tcp::socket warm_up(io_);  // the io_context's own descriptors exist from here on
    warm_up.open(tcp::v4());
  }
  const long descriptors_before = CountOpenFileDescriptors();
  {
    auto endpoint = StartEndpoint();
    ASSERT_NE(endpoint, nullptr);
    const uint16_t port = endpoint->port();
    EXPECT_EQ(Fetch(port, "GET /metrics HTTP/1.1\r\n\r\n"), kOk);

    IdleClients clients;
    for (int i = 0; i < 5; ++i) clients.push_back(std::make_unique<IdleClient>(io_, port));
    clients.push_back(std::make_unique<IdleClient>(io_, port, "GET /metrics HT"));
    ASSERT_TRUE(RunUntil(io_, [&] { return endpoint->open_connections() == 6; }));

    endpoint->Stop();
    endpoint->Stop();  // idempotent
    EXPECT_TRUE(RunUntil(io_, [&] { return Count(clients, &IdleClient::finished) == 6; }));
    EXPECT_EQ(Count(clients, &IdleClient::closed_by_server), 6u);
    EXPECT_TRUE(RunUntil(io_, [&] { return endpoint->open_connections() == 0; }));

    tcp::socket late(io_);
    error_code error;
    late.connect(Loopback(port), error);
    EXPECT_EQ(error, boost::asio::error::connection_refused);
    late.close();
    LeaveAll(io_, clients);
  }
  RunUntil(
      io_, [] { return false; }, milliseconds(50));
  EXPECT_EQ(CountOpenFileDescriptors(), descriptors_before);
}

TEST_F(MetricsHttpEndpointTest, DestroyingTheEndpointWithConnectionsOpenIsSafe) {
  IdleClients clients;
  {
    auto endpoint = StartEndpoint();
    ASSERT_NE(endpoint, nullptr);
    for (int i = 0; i < 3; ++i) {
      clients.push_back(std::make_unique<IdleClient>(io_, endpoint->port(), "GET /"));
    }
    ASSERT_TRUE(RunUntil(io_, [&] { return endpoint->open_connections() == 3; }));
  }
  EXPECT_TRUE(RunUntil(io_, [&] { return Count(clients, &IdleClient::finished) == 3; }));
  EXPECT_EQ(Count(clients, &IdleClient::closed_by_server), 3u);
}

}  // namespace
}  // namespace connmgr
