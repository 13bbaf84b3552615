// Dials by name on loopback: /dns4, /dns6 and /dnsaddr resolved by the c-ares resolver against
// a DNS responder written for the test.
#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "shell/ares_lookup.h"
#include "shell/dns/dns_responder.h"
#include "shell/host.h"
#include "shell/test_util.h"

namespace connmgr::shell {
namespace {

using testing_util::NthPeer;

Multiaddr Addr(absl::string_view text) { return Multiaddr::Parse(text).value(); }

class DnsDialTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(responder_.Start().ok());
    AresOptions dns;
    dns.servers = {responder_.server()};
    dns.timeout = std::chrono::milliseconds(500);
    resolver_ = AresResolver::Create(io_, dns).value();
    HostOptions target;
    target.peer = NthPeer(1);
    target_ = Host::Create(io_, std::move(target)).value();
    HostOptions dialer;
    dialer.peer = NthPeer(2);
    dialer.dns = LookupThrough(*resolver_);
    dialer_ = Host::Create(io_, std::move(dialer)).value();
  }

  DialResult DialAndWait(const Multiaddr& address) {
    std::optional<DialResult> result;
    EXPECT_TRUE(dialer_->Dial(address, [&](const DialResult& r) { result = r; }).ok());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!result && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(5));
    }
    return result.value_or(
        DialResult{0, PeerId(), ConnectionId{}, DialOutcome::kTimeout, "no answer"});
  }

  boost::asio::io_context io_;
  DnsResponder responder_{io_};
  std::unique_ptr<AresResolver> resolver_;
  std::unique_ptr<Host> target_;
  std::unique_ptr<Host> dialer_;
};

TEST_F(DnsDialTest, Dns4NameIsResolvedAndDialled) {
  const Multiaddr bound = target_->Listen(Addr("/ip4/127.0.0.1/tcp/0")).value();
  ASSERT_TRUE(responder_.AddAddress("node-a.test", "127.0.0.1", 300).ok());
  const DialResult r = DialAndWait(
      Addr(absl::StrCat("/dns4/node-a.test/tcp/", *bound.port(), "/p2p/", NthPeer(1).ToString())));
  EXPECT_EQ(r.outcome, DialOutcome::kConnected) << r.detail;
  EXPECT_EQ(target_->core().connections().open_count(), 1u);
}

TEST_F(DnsDialTest, Dns6NameIsResolvedAndDialled) {
  absl::StatusOr<Multiaddr> bound = target_->Listen(Addr("/ip6/::1/tcp/0"));
  if (!bound.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << bound.status();
  ASSERT_TRUE(responder_.AddAddress("node-a6.test", "::1", 300).ok());
  const DialResult r = DialAndWait(Addr(
      absl::StrCat("/dns6/node-a6.test/tcp/", *bound->port(), "/p2p/", NthPeer(1).ToString())));
  EXPECT_EQ(r.outcome, DialOutcome::kConnected) << r.detail;
}

TEST_F(DnsDialTest, DnsaddrIsFollowedToTheTargetsAddress) {
  const Multiaddr bound = target_->Listen(Addr("/ip4/127.0.0.1/tcp/0")).value();
  const std::string id = NthPeer(1).ToString();
  ASSERT_TRUE(responder_
                  .AddTxt("_dnsaddr.bootstrap.test",
                          {absl::StrCat("dnsaddr=/dnsaddr/nested.bootstrap.test/p2p/", id)}, 60)
                  .ok());
  ASSERT_TRUE(responder_
                  .AddTxt("_dnsaddr.nested.bootstrap.test",
                          {absl::StrCat("dnsaddr=", bound.ToString(), "/p2p/", id)}, 60)
                  .ok());
  const DialResult r = DialAndWait(Addr(absl::StrCat("/dnsaddr/bootstrap.test/p2p/", id)));
  EXPECT_EQ(r.outcome, DialOutcome::kConnected) << r.detail;
}

TEST_F(DnsDialTest, AnUnknownNameEndsTheDialWithNoAddresses) {
  const DialResult r =
      DialAndWait(Addr(absl::StrCat("/dns4/missing.test/tcp/1/p2p/", NthPeer(1).ToString())));
  EXPECT_EQ(r.outcome, DialOutcome::kNoAddresses) << r.detail;
  EXPECT_NE(r.detail.find("NXDOMAIN"), std::string::npos) << r.detail;
}

}  // namespace
}  // namespace connmgr::shell
