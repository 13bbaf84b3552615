#include "core/dns_resolver.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace connmgr {
namespace {

Multiaddr Addr(absl::string_view t) { return Multiaddr::Parse(t).value(); }
Instant S(int64_t s) { return Instant::FromNanoseconds(s * 1'000'000'000); }
const std::string kAlice = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
const std::string kBob = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

class DnsResolverTest : public testing::Test {
 protected:
  std::vector<DnsQuery> Queries() {
    std::vector<DnsQuery> out;
    while (auto q = dns_.PollQuery()) out.push_back(*q);
    return out;
  }
  // The single resolution waiting, as text or "error: <message>".
  std::vector<std::string> Result(uint64_t job) {
    std::optional<DnsResolution> r = dns_.PollResolution();
    EXPECT_TRUE(r.has_value());
    if (!r) return {};
    EXPECT_EQ(r->job, job);
    if (!r->addresses.ok()) return {"error: " + std::string(r->addresses.status().message())};
    std::vector<std::string> out;
    for (const Multiaddr& a : *r->addresses) out.push_back(a.ToString());
    return out;
  }
  void Answer(const DnsQuery& q, std::vector<std::string> records, int64_t ttl_s, Instant now) {
    ASSERT_TRUE(
        dns_.HandleAnswer(q.id, DnsAnswer{std::move(records), Duration::Seconds(ttl_s)}, now).ok());
  }

  DnsResolverOptions options_;
  DnsResolver dns_{options_};
};

TEST(DnsaddrTxtValueTest, ValueAfterFirstEqualsQuotesStripped) {
  EXPECT_EQ(DnsaddrTxtValue("dnsaddr=/ip4/1.2.3.4/tcp/1"), "/ip4/1.2.3.4/tcp/1");
  EXPECT_EQ(DnsaddrTxtValue("\"dnsaddr=/ip4/1.2.3.4\""), "/ip4/1.2.3.4");
  EXPECT_EQ(DnsaddrTxtValue("dnsaddr=\"/ip4/1.2.3.4\""), "/ip4/1.2.3.4");
  EXPECT_EQ(DnsaddrTxtValue("a=b=c"), "b=c");
  EXPECT_EQ(DnsaddrTxtValue("no equals sign"), std::nullopt);
}

TEST_F(DnsResolverTest, AddressWithoutDnsResolvesToItself) {
  ASSERT_TRUE(dns_.Start(1, Addr("/ip4/1.2.3.4/tcp/1"), S(0)).ok());
  EXPECT_TRUE(Queries().empty());
  EXPECT_EQ(Result(1), std::vector<std::string>{"/ip4/1.2.3.4/tcp/1"});
}

TEST_F(DnsResolverTest, Dns4Dns6AndDnsKeepTheRestOfTheAddress) {
  ASSERT_TRUE(dns_.Start(1, Addr("/dns/node.example/tcp/4001/p2p/" + kAlice), S(0)).ok());
  std::vector<DnsQuery> q = Queries();
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].name, "node.example");
  EXPECT_EQ(q[0].type, DnsRecordType::kA);
  EXPECT_EQ(q[1].type, DnsRecordType::kAaaa);
  Answer(q[0], {"1.2.3.4", "5.6.7.8"}, 60, S(0));
  EXPECT_FALSE(dns_.PollResolution().has_value());     // still waiting for AAAA
  Answer(q[1], {"2001:db8::1", "9.9.9.9"}, 60, S(0));  // an IPv4 in AAAA is skipped
  EXPECT_EQ(Result(1), (std::vector<std::string>{"/ip4/1.2.3.4/tcp/4001/p2p/" + kAlice,
                                                 "/ip4/5.6.7.8/tcp/4001/p2p/" + kAlice,
                                                 "/ip6/2001:db8::1/tcp/4001/p2p/" + kAlice}));
}

TEST_F(DnsResolverTest, DnsaddrRecursesAndKeepsOnlyTheAskedPeer) {
  ASSERT_TRUE(dns_.Start(1, Addr("/dnsaddr/boot.example/p2p/" + kAlice), S(0)).ok());
  std::vector<DnsQuery> q = Queries();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].name, "_dnsaddr.boot.example");
  EXPECT_EQ(q[0].type, DnsRecordType::kTxt);
  Answer(q[0],
         {"dnsaddr=/dnsaddr/eu.boot.example/p2p/" + kAlice,
          "dnsaddr=/ip4/1.1.1.1/tcp/1/p2p/" + kBob, "no-equals", "dnsaddr=not a multiaddr"},
         60, S(0));
  q = Queries();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].name, "_dnsaddr.eu.boot.example");
  Answer(q[0], {"\"dnsaddr=/dns4/n1.example/tcp/4001/p2p/" + kAlice + "\""}, 60, S(0));
  q = Queries();
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(q[0].name, "n1.example");
  Answer(q[0], {"3.3.3.3"}, 60, S(0));
  EXPECT_EQ(Result(1), std::vector<std::string>{"/ip4/3.3.3.3/tcp/4001/p2p/" + kAlice});
}

TEST_F(DnsResolverTest, LoopAndDepthOverrunFailClearly) {
  ASSERT_TRUE(dns_.Start(1, Addr("/dnsaddr/a.example"), S(0)).ok());
  Answer(Queries()[0], {"dnsaddr=/dnsaddr/b.example"}, 60, S(0));
  Answer(Queries()[0], {"dnsaddr=/dnsaddr/a.example"}, 60, S(0));
  EXPECT_EQ(Result(1),
            std::vector<std::string>{"error: dnsaddr loop: a.example -> b.example -> a.example"});
  DnsResolverOptions shallow;
  shallow.max_depth = 1;
  DnsResolver d(shallow);
  ASSERT_TRUE(d.Start(2, Addr("/dnsaddr/x.example"), S(0)).ok());
  ASSERT_TRUE(
      d.HandleAnswer(1, DnsAnswer{{"dnsaddr=/dnsaddr/y.example"}, Duration::Seconds(1)}, S(0))
          .ok());
  std::optional<DnsResolution> r = d.PollResolution();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->addresses.status().message(),
            "dnsaddr recursion deeper than max_depth (1) at y.example");
}

TEST_F(DnsResolverTest, CacheHitsExpireAtTheTtlAndFailuresAreCachedBriefly) {
  ASSERT_TRUE(dns_.Start(1, Addr("/dns4/n.example/tcp/1"), S(0)).ok());
  Answer(Queries()[0], {"1.2.3.4"}, 30, S(0));
  Result(1);
  ASSERT_TRUE(dns_.Start(2, Addr("/dns4/n.example/tcp/2"), S(30) - Duration::Nanoseconds(1)).ok());
  EXPECT_TRUE(Queries().empty());  // cached
  EXPECT_EQ(Result(2), std::vector<std::string>{"/ip4/1.2.3.4/tcp/2"});
  ASSERT_TRUE(dns_.Start(3, Addr("/dns4/n.example/tcp/3"), S(30)).ok());
  std::vector<DnsQuery> q = Queries();
  ASSERT_EQ(q.size(), 1u);  // expired: asked again
  ASSERT_TRUE(dns_.HandleAnswer(q[0].id, absl::UnavailableError("SERVFAIL"), S(30)).ok());
  EXPECT_EQ(Result(3),
            std::vector<std::string>{"error: DNS gave no address: n.example A: SERVFAIL"});
  ASSERT_TRUE(dns_.Start(4, Addr("/dns4/n.example/tcp/4"), S(39)).ok());
  EXPECT_TRUE(Queries().empty());  // the failure is cached for 10 s
  Result(4);
  ASSERT_TRUE(dns_.Start(5, Addr("/dns4/n.example/tcp/5"), S(40)).ok());
  EXPECT_EQ(Queries().size(), 1u);
}

TEST_F(DnsResolverTest, JobsShareAQueryAndCancelLeavesTheOther) {
  ASSERT_TRUE(dns_.Start(1, Addr("/dns4/n.example/tcp/1"), S(0)).ok());
  ASSERT_TRUE(dns_.Start(2, Addr("/dns4/n.example/tcp/2"), S(0)).ok());
  std::vector<DnsQuery> q = Queries();
  ASSERT_EQ(q.size(), 1u);
  dns_.Cancel(1);
  Answer(q[0], {"1.2.3.4"}, 60, S(0));
  EXPECT_EQ(Result(2), std::vector<std::string>{"/ip4/1.2.3.4/tcp/2"});
  EXPECT_FALSE(dns_.PollResolution().has_value());
  EXPECT_EQ(dns_.HandleAnswer(q[0].id, DnsAnswer{}, S(0)).code(), absl::StatusCode::kNotFound);
}

TEST(DnsResolverBoundsTest, CacheEvictsTheSoonestToExpireAndResultsAreCapped) {
  DnsResolverOptions o;
  o.cache_max_entries = 2;
  o.max_results = 3;
  DnsResolver d(o);
  for (uint64_t job = 1; job <= 3; ++job) {
    ASSERT_TRUE(d.Start(job, Addr("/dns4/n" + std::to_string(job) + ".example/tcp/1"), S(0)).ok());
    std::optional<DnsQuery> q = d.PollQuery();
    ASSERT_TRUE(d.HandleAnswer(q->id,
                               DnsAnswer{{"1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"},
                                         Duration::Seconds(100 - job)},
                               S(0))
                    .ok());
    std::optional<DnsResolution> r = d.PollResolution();
    EXPECT_EQ(r->addresses->size(), 3u);
  }
  EXPECT_EQ(d.cache_size(), 2u);
  ASSERT_TRUE(d.Start(9, Addr("/dns4/n1.example/tcp/1"), S(0)).ok());
  EXPECT_FALSE(d.PollQuery().has_value());  // n1 (ttl 99) stayed
  ASSERT_TRUE(d.Start(10, Addr("/dns4/n2.example/tcp/1"), S(0)).ok());
  EXPECT_TRUE(d.PollQuery().has_value());  // n2 (ttl 98, the soonest when n3 came) went
}

}  // namespace
}  // namespace connmgr
