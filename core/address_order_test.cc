#include "core/address_order.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace connmgr {
namespace {

Multiaddr Addr(absl::string_view t) { return Multiaddr::Parse(t).value(); }
const PeerId kAlice = PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value();
const PeerId kBob = PeerId::Parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA").value();
const std::string kAliceSuffix = "/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";

std::vector<std::string> Texts(const std::vector<DialAddressInfo>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const DialAddressInfo& a : v) out.push_back(a.address.WithoutPeerId().ToString());
  return out;
}

std::vector<DialAddressInfo> Infos(const std::vector<std::string>& texts) {
  std::vector<DialAddressInfo> out;
  out.reserve(texts.size());
  for (const std::string& t : texts) out.push_back({Addr(t), false});
  return out;
}

TEST(AddressOrderTest, DefaultOrderOverEveryKindAndTransport) {
  std::vector<DialAddressInfo> in = Infos({
      "/ip4/127.0.0.1/tcp/1",
      "/ip4/10.0.0.1/tcp/1",
      "/ip4/1.1.1.1/tcp/1/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN/p2p-circuit",
      "/ip4/1.1.1.1/udp/1/quic-v1",
      "/ip4/1.1.1.1/udp/1/quic-v1/webtransport",
      "/ip4/1.1.1.1/udp/1/webrtc-direct",
      "/ip4/1.1.1.1/tcp/2/ws",
      "/ip4/1.1.1.1/tcp/3/tls/ws",
      "/ip4/1.1.1.1/tcp/4/wss",
      "/ip4/1.1.1.1/tcp/5",
      "/ip6/2001:db8::1/tcp/5",
  });
  in.push_back({Addr("/ip4/9.9.9.9/tcp/9/ws"), true});  // certified beats transport rank
  std::sort(in.begin(), in.end(), DefaultAddressLess);
  EXPECT_EQ(Texts(in),
            (std::vector<std::string>{
                "/ip4/9.9.9.9/tcp/9/ws",
                "/ip4/1.1.1.1/tcp/5",
                "/ip6/2001:db8::1/tcp/5",
                "/ip4/1.1.1.1/tcp/3/tls/ws",
                "/ip4/1.1.1.1/tcp/4/wss",
                "/ip4/1.1.1.1/tcp/2/ws",
                "/ip4/1.1.1.1/udp/1/webrtc-direct",
                "/ip4/1.1.1.1/udp/1/quic-v1/webtransport",
                "/ip4/1.1.1.1/udp/1/quic-v1",
                "/ip4/1.1.1.1/tcp/1/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN/p2p-circuit",
                "/ip4/10.0.0.1/tcp/1",
                "/ip4/127.0.0.1/tcp/1",
            }));
}

TEST(AddressOrderTest, OrderDoesNotDependOnInputOrder) {
  std::vector<DialAddressInfo> in =
      Infos({"/ip4/1.1.1.1/tcp/1", "/ip4/1.1.1.2/tcp/1", "/ip4/1.1.1.1/tcp/2/ws",
             "/ip4/10.0.0.1/tcp/1", "/ip6/2001:db8::1/tcp/1", "/ip4/1.1.1.0/tcp/7"});
  std::sort(in.begin(), in.end(), DefaultAddressLess);
  const std::vector<std::string> expected = Texts(in);
  std::vector<DialAddressInfo> perm = in;
  std::sort(perm.begin(), perm.end(), [](const DialAddressInfo& a, const DialAddressInfo& b) {
    return a.address < b.address;
  });
  do {
    std::vector<DialAddressInfo> sorted = perm;
    std::sort(sorted.begin(), sorted.end(), DefaultAddressLess);
    ASSERT_EQ(Texts(sorted), expected);
  } while (std::next_permutation(
      perm.begin(), perm.end(),
      [](const DialAddressInfo& a, const DialAddressInfo& b) { return a.address < b.address; }));
}

TEST(AddressOrderTest, PreparationAppendsPeerDropsOthersMergesDuplicatesAndCaps) {
  std::vector<Multiaddr> in = {
      Addr("/ip4/1.1.1.1/tcp/1"), Addr("/ip4/1.1.1.1/tcp/1" + kAliceSuffix),
      Addr("/ip4/2.2.2.2/tcp/1/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA")};
  for (int i = 0; i < 40; ++i) in.push_back(Addr("/ip4/3.3.3." + std::to_string(i) + "/tcp/1"));
  absl::StatusOr<PreparedAddresses> p = PrepareDialAddresses(kAlice, in, 25, {});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->addresses.size(), 25u);
  EXPECT_EQ(p->other_peer, 1u);
  EXPECT_EQ(p->duplicates, 1u);
  EXPECT_EQ(p->over_cap, 16u);
  EXPECT_EQ(p->addresses[0].address.ToString(), "/ip4/1.1.1.1/tcp/1" + kAliceSuffix);
}

TEST(AddressOrderTest, EmptyResultsSayWhy) {
  AddressFilters deny_all{[](const Multiaddr&) { return true; }, nullptr, nullptr};
  AddressFilters backoff_all{nullptr, [](const Multiaddr&) { return true; }, nullptr};
  AddressFilters deny_tcp1{[](const Multiaddr& a) { return a.port() == 1; },
                           [](const Multiaddr&) { return true; }, nullptr};
  const std::vector<Multiaddr> two = {Addr("/ip4/1.1.1.1/tcp/1"), Addr("/ip4/1.1.1.1/tcp/2")};
  EXPECT_EQ(PrepareDialAddresses(kAlice, std::vector<Multiaddr>{}, 25, {}).status(),
            absl::NotFoundError("no addresses for " + kAlice.ToString()));
  EXPECT_EQ(PrepareDialAddresses(kBob, {Addr("/ip4/1.1.1.1/tcp/1" + kAliceSuffix)}, 25, {})
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(PrepareDialAddresses(kAlice, two, 25, deny_all).status(),
            absl::PermissionDeniedError("all 2 addresses are denied"));
  EXPECT_EQ(PrepareDialAddresses(kAlice, two, 25, backoff_all).status(),
            absl::UnavailableError("all 2 addresses are backed off"));
  EXPECT_EQ(PrepareDialAddresses(kAlice, two, 25, deny_tcp1).status(),
            absl::UnavailableError("no address left: 1 denied, 1 backed off"));
}

TEST(AddressOrderTest, UserOrderReplacesTheDefault) {
  AddressFilters f;
  f.less = [](const DialAddressInfo& a, const DialAddressInfo& b) { return b.address < a.address; };
  absl::StatusOr<PreparedAddresses> p = PrepareDialAddresses(
      kAlice, {Addr("/ip4/127.0.0.1/tcp/1"), Addr("/ip4/1.1.1.1/tcp/1")}, 25, f);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Texts(p->addresses),
            (std::vector<std::string>{"/ip4/127.0.0.1/tcp/1", "/ip4/1.1.1.1/tcp/1"}));
}

std::vector<std::pair<std::string, int64_t>> Schedule(const std::vector<std::string>& texts) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const ScheduledAddress& s : RankAddresses(Infos(texts), RankedDelays{})) {
    out.push_back({s.address.address.ToString(), s.delay.nanoseconds() / 1'000'000});
  }
  return out;
}

TEST(AddressOrderTest, RankedPublicQuicBeforeTcpWithHappyEyeballs) {
  EXPECT_EQ(Schedule({"/ip4/1.1.1.1/tcp/1", "/ip6/2001:db8::1/tcp/1", "/ip4/1.1.1.1/udp/1/quic-v1",
                      "/ip6/2001:db8::1/udp/1/quic-v1", "/ip4/1.1.1.2/udp/1/quic-v1"}),
            (std::vector<std::pair<std::string, int64_t>>{
                {"/ip6/2001:db8::1/udp/1/quic-v1", 0},
                {"/ip4/1.1.1.1/udp/1/quic-v1", 250},
                {"/ip4/1.1.1.2/udp/1/quic-v1", 500},
                {"/ip6/2001:db8::1/tcp/1", 750},
                {"/ip4/1.1.1.1/tcp/1", 1000},
            }));
}

TEST(AddressOrderTest, RankedPrivateUsesTheShortStepAndRelaysWaitForDirect) {
  EXPECT_EQ(
      Schedule({"/ip4/10.0.0.1/tcp/1", "/ip4/10.0.0.2/tcp/1", "/ip4/10.0.0.3/tcp/1"}),
      (std::vector<std::pair<std::string, int64_t>>{
          {"/ip4/10.0.0.1/tcp/1", 0}, {"/ip4/10.0.0.2/tcp/1", 30}, {"/ip4/10.0.0.3/tcp/1", 60}}));
  const std::string relay =
      "/ip4/5.5.5.5/tcp/1/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN/p2p-circuit";
  EXPECT_EQ(Schedule({relay, "/ip4/1.1.1.1/tcp/1"}), (std::vector<std::pair<std::string, int64_t>>{
                                                         {"/ip4/1.1.1.1/tcp/1", 0}, {relay, 500}}));
  EXPECT_EQ(Schedule({relay}), (std::vector<std::pair<std::string, int64_t>>{{relay, 0}}));
}

}  // namespace
}  // namespace connmgr
