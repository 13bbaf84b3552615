#include "shell/dns/ares_resolver.h"

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/dns_resolver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shell/dns/dns_responder.h"

namespace connmgr {
namespace {

using ::testing::ElementsAre;
using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kTestLimit = 10s;

int64_t Nanos(Duration d) { return d.nanoseconds(); }
int64_t SecondsNanos(int64_t s) { return Duration::Seconds(s).nanoseconds(); }

size_t OpenFds() {
  size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++count;
  }
  return count;
}

class AresResolverTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(responder_.Start().ok()); }

  std::unique_ptr<AresResolver> MakeResolver(std::chrono::milliseconds timeout = 2s,
                                             int tries = 2) {
    AresOptions options;
    options.servers = {responder_.server()};
    options.timeout = timeout;
    options.tries = tries;
    absl::StatusOr<std::unique_ptr<AresResolver>> resolver = AresResolver::Create(io_, options);
    EXPECT_TRUE(resolver.ok()) << resolver.status();
    return resolver.ok() ? std::move(*resolver) : nullptr;
  }

  // Runs the io_context until `finished` holds; false when kTestLimit passes first.
  bool RunUntil(const std::function<bool()>& finished) {
    const auto deadline = std::chrono::steady_clock::now() + kTestLimit;
    while (!finished()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.run_one_for(10ms);
    }
    return true;
  }

  void RunFor(std::chrono::milliseconds duration) {
    const auto deadline = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < deadline) io_.run_one_until(deadline);
  }

  absl::StatusOr<AresResolver::Answer> Resolve(AresResolver& resolver, const std::string& name,
                                               DnsRecordType type) {
    std::optional<absl::StatusOr<AresResolver::Answer>> result;
    int calls = 0;
    resolver.Query(name, type, [&](absl::StatusOr<AresResolver::Answer> answer) {
      ++calls;
      result = std::move(answer);
    });
    EXPECT_TRUE(RunUntil([&] { return result.has_value(); })) << name << " never completed";
    EXPECT_EQ(calls, 1);
    if (!result) return absl::InternalError("test: no result");
    return *result;
  }

  boost::asio::io_context io_;
  DnsResponder responder_{io_};
};

TEST_F(AresResolverTest, ResolvesARecordsWithTheSmallestTtl) {
  ASSERT_TRUE(responder_.AddAddress("node.test", "10.0.0.1", 300).ok());
  ASSERT_TRUE(responder_.AddAddress("node.test", "10.0.0.2", 120).ok());
  ASSERT_TRUE(responder_.AddAddress("node.test", "2001:db8::1", 5).ok());  // not asked for
  auto resolver = MakeResolver();
  absl::StatusOr<AresResolver::Answer> answer = Resolve(*resolver, "node.test", DnsRecordType::kA);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(answer->records, ElementsAre("10.0.0.1", "10.0.0.2"));
  EXPECT_EQ(Nanos(answer->ttl), SecondsNanos(120));
  EXPECT_EQ(resolver->queries_in_flight(), 0u);
}

TEST_F(AresResolverTest, ResolvesAaaaRecords) {
  ASSERT_TRUE(responder_.AddAddress("node6.test", "2001:db8::1", 70).ok());
  ASSERT_TRUE(responder_.AddAddress("node6.test", "::1", 50).ok());
  auto resolver = MakeResolver();
  absl::StatusOr<AresResolver::Answer> answer =
      Resolve(*resolver, "NODE6.test.", DnsRecordType::kAaaa);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(answer->records, ElementsAre("2001:db8::1", "::1"));
  EXPECT_EQ(Nanos(answer->ttl), SecondsNanos(50));
}

TEST_F(AresResolverTest, NameWithoutRecordsOfTheTypeIsNodata) {
  ASSERT_TRUE(responder_.AddAddress("node6.test", "2001:db8::1", 70).ok());
  auto resolver = MakeResolver();
  absl::StatusOr<AresResolver::Answer> answer = Resolve(*resolver, "node6.test", DnsRecordType::kA);
  EXPECT_EQ(answer.status(), absl::NotFoundError("NODATA"));
}

TEST_F(AresResolverTest, ResolvesTxtRecordsJoiningTheStringsOfEachRecord) {
  const std::string name = "_dnsaddr.bootstrap.test";
  ASSERT_TRUE(responder_.AddTxt(name, {"dnsaddr=/ip4/1.2.3.4/tcp/1"}, 600).ok());
  ASSERT_TRUE(responder_.AddTxt(name, {"dnsaddr=/ip4/5.6.7.8", "/tcp/2"}, 30).ok());
  ASSERT_TRUE(responder_.AddTxt(name, {"dnsaddr=", "/dnsaddr/", "other.test"}, 90).ok());
  auto resolver = MakeResolver();
  absl::StatusOr<AresResolver::Answer> answer = Resolve(*resolver, name, DnsRecordType::kTxt);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(answer->records,
              ElementsAre("dnsaddr=/ip4/1.2.3.4/tcp/1", "dnsaddr=/ip4/5.6.7.8/tcp/2",
                          "dnsaddr=/dnsaddr/other.test"));
  EXPECT_EQ(Nanos(answer->ttl), SecondsNanos(30));
  // The form the core reads.
  EXPECT_EQ(DnsaddrTxtValue(answer->records[1]), "/ip4/5.6.7.8/tcp/2");
}

TEST_F(AresResolverTest, TxtTtlAboveTheSignedRangeCountsAsZero) {
  ASSERT_TRUE(responder_.AddTxt("t.test", {"a=b"}, 0x80000000u).ok());
  auto resolver = MakeResolver();
  absl::StatusOr<AresResolver::Answer> answer = Resolve(*resolver, "t.test", DnsRecordType::kTxt);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(answer->records, ElementsAre("a=b"));
  EXPECT_EQ(Nanos(answer->ttl), 0);
}

TEST_F(AresResolverTest, UnknownNameIsNxdomain) {
  ASSERT_TRUE(responder_.AddAddress("node.test", "10.0.0.1", 300).ok());
  auto resolver = MakeResolver();
  absl::StatusOr<AresResolver::Answer> answer =
      Resolve(*resolver, "missing.test", DnsRecordType::kA);
  EXPECT_EQ(answer.status(), absl::NotFoundError("NXDOMAIN"));
}

TEST_F(AresResolverTest, ServfailIsReported) {
  ASSERT_TRUE(responder_.AddAddress("node.test", "10.0.0.1", 300).ok());
  responder_.set_mode(DnsResponder::Mode::kServfail);
  auto resolver = MakeResolver(200ms, 1);
  absl::StatusOr<AresResolver::Answer> answer = Resolve(*resolver, "node.test", DnsRecordType::kA);
  EXPECT_EQ(answer.status(), absl::UnavailableError("SERVFAIL"));
}

TEST_F(AresResolverTest, DroppedQueryTimesOut) {
  ASSERT_TRUE(responder_.AddAddress("node.test", "10.0.0.1", 300).ok());
  responder_.set_mode(DnsResponder::Mode::kDrop);
  auto resolver = MakeResolver(200ms, 1);
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<AresResolver::Answer> answer = Resolve(*resolver, "node.test", DnsRecordType::kA);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(answer.status(), absl::DeadlineExceededError("timeout"));
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 2s);
  EXPECT_EQ(responder_.queries_received(), 1u);
}

TEST_F(AresResolverTest, RetriesAfterATimeout) {
  ASSERT_TRUE(responder_.AddAddress("node.test", "10.0.0.1", 300).ok());
  responder_.set_mode(DnsResponder::Mode::kDrop);
  auto resolver = MakeResolver(100ms, 3);
  absl::StatusOr<AresResolver::Answer> answer = Resolve(*resolver, "node.test", DnsRecordType::kA);
  EXPECT_EQ(answer.status(), absl::DeadlineExceededError("timeout"));
  EXPECT_EQ(responder_.queries_received(), 3u);
}

TEST_F(AresResolverTest, ManyConcurrentQueriesEachGetTheirOwnAnswer) {
  constexpr int kQueries = 300;
  for (int i = 0; i < kQueries; ++i) {
    ASSERT_TRUE(responder_
                    .AddAddress(absl::StrCat("host", i, ".test"),
                                absl::StrCat("10.0.", i / 256, ".", i % 256), 1 + i)
                    .ok());
  }
  // Both ends share one thread, so a burst can overflow a socket's receive buffer: short
  // timeouts and several tries let c-ares resend what was dropped.
  auto resolver = MakeResolver(250ms, 4);
  std::vector<int> calls(kQueries, 0);
  int finished = 0;
  for (int i = 0; i < kQueries; ++i) {
    resolver->Query(absl::StrCat("host", i, ".test"), DnsRecordType::kA,
                    [&, i](absl::StatusOr<AresResolver::Answer> answer) {
                      ++calls[i];
                      ++finished;
                      ASSERT_TRUE(answer.ok()) << i << ": " << answer.status();
                      EXPECT_THAT(answer->records,
                                  ElementsAre(absl::StrCat("10.0.", i / 256, ".", i % 256)));
                      EXPECT_EQ(Nanos(answer->ttl), SecondsNanos(1 + i));
                    });
  }
  EXPECT_EQ(resolver->queries_in_flight(), static_cast<size_t>(kQueries));
  ASSERT_TRUE(RunUntil([&] { return finished == kQueries; }));
  for (int i = 0; i < kQueries; ++i) EXPECT_EQ(calls[i], 1) << i;
  EXPECT_EQ(resolver->queries_in_flight(), 0u);
  EXPECT_GE(responder_.queries_received(), static_cast<size_t>(kQueries));
}

TEST_F(AresResolverTest, CancelAllCallsEveryCallbackOnceFromTheIoContext) {
  responder_.set_mode(DnsResponder::Mode::kDrop);
  auto resolver = MakeResolver();
  constexpr int kQueries = 50;
  std::vector<int> calls(kQueries, 0);
  std::vector<absl::Status> statuses(kQueries);
  for (int i = 0; i < kQueries; ++i) {
    resolver->Query(absl::StrCat("q", i, ".test"), DnsRecordType::kTxt,
                    [&, i](const absl::StatusOr<AresResolver::Answer>& answer) {
                      ++calls[i];
                      statuses[i] = answer.status();
                    });
  }
  RunFor(20ms);  // let the queries reach the wire
  resolver->CancelAll();
  EXPECT_EQ(resolver->queries_in_flight(), 0u);
  for (int i = 0; i < kQueries; ++i) EXPECT_EQ(calls[i], 0) << "called inside CancelAll";
  RunFor(300ms);
  for (int i = 0; i < kQueries; ++i) {
    EXPECT_EQ(calls[i], 1) << i;
    EXPECT_EQ(statuses[i], absl::CancelledError("cancelled")) << i;
  }
  // Still usable afterwards.
  responder_.set_mode(DnsResponder::Mode::kAnswer);
  ASSERT_TRUE(responder_.AddAddress("after.test", "10.9.9.9", 9).ok());
  absl::StatusOr<AresResolver::Answer> answer = Resolve(*resolver, "after.test", DnsRecordType::kA);
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(answer->records, ElementsAre("10.9.9.9"));
}

TEST_F(AresResolverTest, DestroyingWithQueriesInFlightCancelsThem) {
  responder_.set_mode(DnsResponder::Mode::kDrop);
  auto resolver = MakeResolver(50ms, 2);
  constexpr int kQueries = 20;
  std::vector<int> calls(kQueries, 0);
  std::vector<absl::Status> statuses(kQueries);
  for (int i = 0; i < kQueries; ++i) {
    resolver->Query(absl::StrCat("q", i, ".test"), DnsRecordType::kA,
                    [&, i](const absl::StatusOr<AresResolver::Answer>& answer) {
                      ++calls[i];
                      statuses[i] = answer.status();
                    });
  }
  RunFor(20ms);
  resolver.reset();
  // Past the resolver's timeout: a stale timer or socket handler would run now.
  RunFor(300ms);
  for (int i = 0; i < kQueries; ++i) {
    EXPECT_EQ(calls[i], 1) << i;
    EXPECT_EQ(statuses[i], absl::CancelledError("cancelled")) << i;
  }
}

TEST_F(AresResolverTest, NoFileDescriptorLeakOverManyResolvers) {
  ASSERT_TRUE(responder_.AddAddress("node.test", "10.0.0.1", 300).ok());
  const size_t before = OpenFds();
  for (int cycle = 0; cycle < 200; ++cycle) {
    auto resolver = MakeResolver();
    ASSERT_NE(resolver, nullptr);
    int calls = 0;
    resolver->Query("node.test", DnsRecordType::kA,
                    [&](const absl::StatusOr<AresResolver::Answer>&) { ++calls; });
    if (cycle % 2 == 0) {
      ASSERT_TRUE(RunUntil([&] { return calls == 1; })) << cycle;
      resolver.reset();
    } else {
      resolver.reset();  // with the query in flight
      ASSERT_TRUE(RunUntil([&] { return calls == 1; })) << cycle;
    }
  }
  io_.poll();
  EXPECT_EQ(OpenFds(), before);
}

TEST_F(AresResolverTest, RejectsBadNamesAndTooManyQueries) {
  responder_.set_mode(DnsResponder::Mode::kDrop);
  AresOptions options;
  options.servers = {responder_.server()};
  options.max_queries_in_flight = 2;
  auto resolver = AresResolver::Create(io_, options);
  ASSERT_TRUE(resolver.ok()) << resolver.status();
  std::vector<absl::Status> statuses;
  auto record = [&](const absl::StatusOr<AresResolver::Answer>& answer) {
    statuses.push_back(answer.status());
  };
  (*resolver)->Query(std::string(300, 'a'), DnsRecordType::kA, record);
  (*resolver)->Query(std::string(64, 'a') + ".test", DnsRecordType::kA, record);  // label > 63
  (*resolver)->Query("one.test", DnsRecordType::kA, record);
  (*resolver)->Query("two.test", DnsRecordType::kA, record);
  (*resolver)->Query("three.test", DnsRecordType::kA, record);
  EXPECT_TRUE(statuses.empty()) << "called inside Query";
  ASSERT_TRUE(RunUntil([&] { return statuses.size() == 3; }));
  EXPECT_THAT(statuses, ElementsAre(absl::InvalidArgumentError("bad name"),
                                    absl::InvalidArgumentError("bad name"),
                                    absl::ResourceExhaustedError("too many queries")));
}

TEST(AresResolverCreateTest, RejectsBadOptions) {
  boost::asio::io_context io;
  AresOptions bad_server;
  bad_server.servers = {"not an address"};
  EXPECT_FALSE(AresResolver::Create(io, bad_server).ok());
  AresOptions no_tries;
  no_tries.tries = 0;
  EXPECT_FALSE(AresResolver::Create(io, no_tries).ok());
  AresOptions no_timeout;
  no_timeout.timeout = 0ms;
  EXPECT_FALSE(AresResolver::Create(io, no_timeout).ok());
  AresOptions too_many;
  too_many.servers.assign(kAresMaxServers + 1, "127.0.0.1");
  EXPECT_FALSE(AresResolver::Create(io, too_many).ok());
}

// --- Message parsing ---------------------------------------------------------------------

std::vector<uint8_t> TxtResponse(DnsResponder& responder) {
  // A query for "t.test" TXT, id 0x1234, RD.
  // clang-format off
  const std::vector<uint8_t> query = {
      0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
      1, 't', 4, 't', 'e', 's', 't', 0, 0, 16, 0, 1};
  // clang-format on
  return responder.Respond(query);
}

TEST(MinAnswerTtlSecondsTest, ReadsTheSmallestAnswerTtl) {
  boost::asio::io_context io;
  DnsResponder responder(io);
  ASSERT_TRUE(responder.AddTxt("t.test", {"x"}, 77).ok());
  ASSERT_TRUE(responder.AddTxt("t.test", {"y"}, 33).ok());
  const std::vector<uint8_t> response = TxtResponse(responder);
  absl::StatusOr<uint32_t> ttl = MinAnswerTtlSeconds(response.data(), response.size());
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 33u);
}

TEST(MinAnswerTtlSecondsTest, RejectsEveryTruncationAndSurvivesGarbage) {
  boost::asio::io_context io;
  DnsResponder responder(io);
  ASSERT_TRUE(responder.AddTxt("t.test", {"x"}, 77).ok());
  const std::vector<uint8_t> response = TxtResponse(responder);
  for (size_t size = 0; size < response.size(); ++size) {
    EXPECT_FALSE(MinAnswerTtlSeconds(response.data(), size).ok()) << size;
  }
  uint64_t state = 0x9E3779B97F4A7C15u;
  std::vector<uint8_t> garbage(64);
  for (int round = 0; round < 2000; ++round) {
    for (uint8_t& byte : garbage) {
      state = state * 6364136223846793005u + 1442695040888963407u;
      byte = static_cast<uint8_t>(state >> 56);
    }
    (void)MinAnswerTtlSeconds(garbage.data(), garbage.size());
  }
}

TEST(DnsResponderTest, AnswersWithACompressionPointerToTheQuestion) {
  boost::asio::io_context io;
  DnsResponder responder(io);
  ASSERT_TRUE(responder.AddTxt("t.test", {"x"}, 77).ok());
  const std::vector<uint8_t> response = TxtResponse(responder);
  // clang-format off
  const std::vector<uint8_t> expected = {
      0x12, 0x34, 0x85, 0x00, 0, 1, 0, 1, 0, 0, 0, 0,       // id, QR AA RD, 1 question, 1 answer
      1, 't', 4, 't', 'e', 's', 't', 0, 0, 16, 0, 1,        // question: t.test TXT IN
      0xC0, 12, 0, 16, 0, 1, 0, 0, 0, 77,                   // pointer to it, TXT, IN, TTL 77
      0, 2, 1, 'x'};                                        // RDATA: one string "x"
  // clang-format on
  EXPECT_EQ(response, expected);
}

TEST(DnsResponderTest, RejectsMalformedQueries) {
  boost::asio::io_context io;
  DnsResponder responder(io);
  ASSERT_TRUE(responder.AddTxt("t.test", {"x"}, 77).ok());
  EXPECT_TRUE(responder.Respond(std::vector<uint8_t>{1, 2, 3}).empty());
  // A compression pointer in the question: FORMERR (rcode 1), no question echoed.
  const std::vector<uint8_t> pointer = {0, 7, 0x01, 0,    0,  1, 0,  0, 0,
                                        0, 0, 0,    0xC0, 12, 0, 16, 0, 1};
  const std::vector<uint8_t> formerr = responder.Respond(pointer);
  ASSERT_EQ(formerr.size(), 12u);
  EXPECT_EQ(formerr[3] & 0x0F, 1);
  EXPECT_EQ(formerr[5], 0);
  uint64_t state = 1;
  std::vector<uint8_t> garbage(80);
  for (int round = 0; round < 2000; ++round) {
    for (uint8_t& byte : garbage) {
      state = state * 6364136223846793005u + 1442695040888963407u;
      byte = static_cast<uint8_t>(state >> 56);
    }
    garbage[2] &= 0x07;  // a query, opcode QUERY: reach the question parser
    garbage[4] = 0;
    garbage[5] = 1;
    const std::vector<uint8_t> response = responder.Respond(garbage);
    ASSERT_GE(response.size(), 12u);
    EXPECT_LE(response.size(), DnsResponder::kMaxResponseBytes);
  }
}

}  // namespace
}  // namespace connmgr
