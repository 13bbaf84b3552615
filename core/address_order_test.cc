#include "core/address_order.h"

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
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
  // Without an IPv4 move (no IPv6 first), everything after the first goes one step late.
  EXPECT_EQ(
      Schedule({"/ip4/10.0.0.1/tcp/1", "/ip4/10.0.0.2/tcp/1", "/ip4/10.0.0.3/tcp/1"}),
      (std::vector<std::pair<std::string, int64_t>>{
          {"/ip4/10.0.0.1/tcp/1", 0}, {"/ip4/10.0.0.2/tcp/1", 30}, {"/ip4/10.0.0.3/tcp/1", 30}}));
  const std::string relay =
      "/ip4/5.5.5.5/tcp/1/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN/p2p-circuit";
  EXPECT_EQ(Schedule({relay, "/ip4/1.1.1.1/tcp/1"}), (std::vector<std::pair<std::string, int64_t>>{
                                                         {"/ip4/1.1.1.1/tcp/1", 0}, {relay, 500}}));
  EXPECT_EQ(Schedule({relay}), (std::vector<std::pair<std::string, int64_t>>{{relay, 0}}));
}

// --- go-libp2p's ranker vectors (p2p/net/swarm/dial_ranker_test.go) ---------------------------
// Each case gives the addresses in the vector's input order and the (address, delay) pairs it
// expects; like the vector, the comparison sorts both by (delay, text). Peer ids are fixed ones
// where go-libp2p draws a random one; go-libp2p's /onion3 address (which this core does not
// parse) is replaced by another address without an IP, /memory/1, which the ranker treats the
// same way (neither relayed, private nor public).

using Delays = std::vector<std::pair<std::string, int64_t>>;

Delays SortedGo(Delays d) {
  std::sort(d.begin(), d.end(), [](const auto& x, const auto& y) {
    return std::tie(x.second, x.first) < std::tie(y.second, y.first);
  });
  return d;
}

Delays RankedGo(const std::vector<std::string>& texts, const RankedDelays& delays = {}) {
  Delays out;
  for (const ScheduledAddress& s : RankAddresses(Infos(texts), delays)) {
    out.push_back({s.address.address.ToString(), s.delay.nanoseconds() / 1'000'000});
  }
  return SortedGo(out);
}

constexpr int64_t kQuic = 250, kTcp = 250, kRelay = 500, kOther = 1000;  // go's Public*Delay
const std::string q1v1 = "/ip4/1.2.3.4/udp/1/quic-v1", q2v1 = "/ip4/1.2.3.4/udp/2/quic-v1",
                  q3v1 = "/ip4/1.2.3.4/udp/3/quic-v1", q4v1 = "/ip4/1.2.3.4/udp/4/quic-v1";
const std::string wt1 = "/ip4/1.2.3.4/udp/1/quic-v1/webtransport";
const std::string q1v16 = "/ip6/1::2/udp/1/quic-v1", q2v16 = "/ip6/1::2/udp/2/quic-v1",
                  q3v16 = "/ip6/1::2/udp/3/quic-v1";
const std::string t1 = "/ip4/1.2.3.5/tcp/1", t1v6 = "/ip6/1::2/tcp/1", t2 = "/ip4/1.2.3.4/tcp/2",
                  t3 = "/ip4/1.2.3.4/tcp/3";
const std::string wrtc1 = "/ip4/1.2.3.4/udp/1/webrtc-direct",
                  wrtc1v6 = "/ip6/1::2/udp/1/webrtc-direct";

TEST(GoRankerVectorsTest, NoDelayRanker) {
  // TestNoDelayDialRanker: every delay zero is go-libp2p's NoDelayDialRanker.
  const RankedDelays none{Duration::Zero(), Duration::Zero(), Duration::Zero(), Duration::Zero(),
                          Duration::Zero()};
  const std::string t1_ = "/ip4/1.2.3.5/tcp/1", wrtc = "/ip4/1.1.1.1/udp/1/webrtc-direct";
  EXPECT_EQ(RankedGo({q1v1, q2v1, q3v1, q4v1, q1v1, q2v1, q3v1, wt1, t1_, wrtc}, none),
            SortedGo({{q1v1, 0},
                      {q2v1, 0},
                      {q3v1, 0},
                      {q4v1, 0},
                      {q1v1, 0},
                      {q2v1, 0},
                      {q3v1, 0},
                      {wt1, 0},
                      {t1_, 0},
                      {wrtc, 0}}));
}

TEST(GoRankerVectorsTest, QuicDelay) {
  // TestDelayRankerQUICDelay.
  EXPECT_EQ(RankedGo({q1v1, q2v1, q3v1}), SortedGo({{q1v1, 0}, {q2v1, kQuic}, {q3v1, kQuic}}));
  EXPECT_EQ(RankedGo({q1v16, q2v16, q3v16}),
            SortedGo({{q1v16, 0}, {q2v16, kQuic}, {q3v16, kQuic}}));
  EXPECT_EQ(RankedGo({q1v16, q2v1}), SortedGo({{q1v16, 0}, {q2v1, kQuic}}));
  // Plain QUIC-v1 before WebTransport on the same host (issue 23, item 1).
  EXPECT_EQ(
      RankedGo({q1v16, q1v1, q2v1, q3v1, wt1}),
      SortedGo(
          {{q1v16, 0}, {q1v1, kQuic}, {q2v1, 2 * kQuic}, {q3v1, 2 * kQuic}, {wt1, 2 * kQuic}}));
  // WebTransport IPv4 is the first IPv4 QUIC address here, so it goes second.
  EXPECT_EQ(RankedGo({q1v16, q2v16, q3v16, wt1}),
            SortedGo({{q1v16, 0}, {wt1, kQuic}, {q2v16, 2 * kQuic}, {q3v16, 2 * kQuic}}));
}

TEST(GoRankerVectorsTest, TcpDelay) {
  // TestDelayRankerTCPDelay.
  EXPECT_EQ(RankedGo({q1v1, q1v16, q2v16, q3v16, q2v1, t1, t1v6, t2, t3}),
            SortedGo({{q1v16, 0},
                      {q1v1, kQuic},
                      {q2v16, 2 * kQuic},
                      {q3v16, 2 * kQuic},
                      {q2v1, 2 * kQuic},
                      {t1v6, 3 * kQuic},
                      {t1, 4 * kQuic},
                      {t2, 5 * kQuic},
                      {t3, 5 * kQuic}}));
  EXPECT_EQ(RankedGo({q1v1, t2, t1v6, t1}),
            SortedGo({{q1v1, 0}, {t1v6, kQuic}, {t1, 2 * kQuic}, {t2, 3 * kQuic}}));
  // Same-host TCP addresses by port, the lowest first (issue 23, item 2).
  EXPECT_EQ(RankedGo({q1v1, t2, t3, t1}),
            SortedGo({{q1v1, 0}, {t1, kTcp}, {t2, 2 * kQuic}, {t3, 2 * kTcp}}));
  EXPECT_EQ(RankedGo({q1v1, t1v6, t2}), SortedGo({{q1v1, 0}, {t1v6, kTcp}, {t2, 2 * kTcp}}));
  EXPECT_EQ(RankedGo({t1, t2, t1v6, t3}),
            SortedGo({{t1v6, 0}, {t1, kTcp}, {t2, 2 * kTcp}, {t3, 2 * kTcp}}));
  EXPECT_EQ(RankedGo({}), Delays{});
}

TEST(GoRankerVectorsTest, RelayDelay) {
  // TestDelayRankerRelay (the second relay rides QUIC draft-29).
  const std::string pid = "QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN";
  const std::string q1 = "/ip4/1.2.3.4/udp/1/quic-v1", q2 = "/ip4/1.2.3.4/udp/2/quic-v1";
  const std::string r1 = "/ip4/1.2.3.4/tcp/1/p2p-circuit/p2p/" + pid;
  const std::string r2 = "/ip4/1.2.3.4/udp/1/quic/p2p-circuit/p2p/" + pid;
  EXPECT_EQ(RankedGo({q1, q2, r1, r2}),
            SortedGo({{q1, 0}, {q2, kQuic}, {r2, kRelay}, {r1, kTcp + kRelay}}));
}

TEST(GoRankerVectorsTest, OtherTransportDelay) {
  // TestDelayRankerOtherTransportDelay (issue 23, item 3).
  const std::string no_ip = "/memory/1", only_ip = "/ip4/1.2.3.4";
  EXPECT_EQ(RankedGo({q1v1, q1v16, wrtc1, wrtc1v6, no_ip, only_ip}),
            SortedGo({{q1v16, 0},
                      {q1v1, kQuic},
                      {wrtc1, kQuic + kOther},
                      {wrtc1v6, kQuic + kOther},
                      {only_ip, kQuic + kOther},
                      {no_ip, kQuic + 2 * kOther}}));
  EXPECT_EQ(RankedGo({q1v1, t1, t1v6, wrtc1, wrtc1v6, no_ip, only_ip}),
            SortedGo({{q1v1, 0},
                      {t1v6, kQuic},
                      {t1, 2 * kQuic},
                      {wrtc1, 2 * kQuic + kOther},
                      {wrtc1v6, 2 * kQuic + kOther},
                      {only_ip, 2 * kQuic + kOther},
                      {no_ip, 2 * kQuic + 2 * kOther}}));
  EXPECT_EQ(RankedGo({no_ip}), SortedGo({{no_ip, kOther}}));
}

TEST(GoRankerVectorsTest, PrivateGroupUsesPrivateSteps) {
  // Not a go-libp2p vector: its private constants (30 ms steps, 100 ms for other transports),
  // and the groups ranked side by side.
  EXPECT_EQ(
      RankedGo({"/ip4/10.0.0.1/udp/1/webrtc-direct", "/ip4/10.0.0.1/tcp/1",
                "/ip4/10.0.0.1/udp/1/quic-v1", "/ip6/fc00::1/udp/1/quic-v1", "/ip4/1.2.3.4/tcp/1"}),
      SortedGo({{"/ip6/fc00::1/udp/1/quic-v1", 0},
                {"/ip4/1.2.3.4/tcp/1", 0},
                {"/ip4/10.0.0.1/udp/1/quic-v1", 30},
                {"/ip4/10.0.0.1/tcp/1", 60},
                {"/ip4/10.0.0.1/udp/1/webrtc-direct", 160}}));
}

TEST(GoRankerVectorsTest, EqualDelaysKeepTheRankedOrder) {
  // go-libp2p dials a batch in its ranked order; so does the core: by score (port), then the
  // given order among equal scores.
  std::vector<std::string> order;
  for (const ScheduledAddress& s :
       RankAddresses(Infos({"/ip4/1.2.3.4/udp/9/quic-v1", "/ip4/1.2.3.7/udp/3/quic-v1",
                            "/ip4/1.2.3.6/udp/3/quic-v1", "/ip4/1.2.3.5/udp/1/quic-v1"}),
                     RankedDelays{})) {
    order.push_back(s.address.address.ToString());
  }
  EXPECT_EQ(order,
            (std::vector<std::string>{"/ip4/1.2.3.5/udp/1/quic-v1", "/ip4/1.2.3.7/udp/3/quic-v1",
                                      "/ip4/1.2.3.6/udp/3/quic-v1", "/ip4/1.2.3.4/udp/9/quic-v1"}));
}

// --- js-libp2p's sorter vectors ----------------------------------------------------------------
// packages/libp2p/test/connection-manager/address-sorter.spec.ts and
// packages/utils/test/multiaddr/sorters.spec.ts. The vectors that shuffle their input are run
// over every permutation of it.

const std::string kJsA = "QmcrQZ6RJdpYuGvZqD5QEHAv6qX4BrQLJLQPQUrTrzdcgm";
const std::string kJsR = "QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN";

std::vector<std::string> FullTexts(const std::vector<DialAddressInfo>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const DialAddressInfo& a : v) out.push_back(a.address.ToString());
  return out;
}

// Sorts permutations of `in` — all of them up to 6 addresses, an evenly spread 720 or so
// beyond — and requires `expected` each time.
void ExpectJsOrder(const std::vector<DialAddressInfo>& in,
                   const std::vector<std::string>& expected) {
  std::vector<size_t> order(in.size());
  size_t total = 1;
  for (size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
    total *= i + 1;
  }
  const size_t stride = std::max<size_t>(1, total / 720);
  size_t n = 0;
  do {
    if (n++ % stride != 0) continue;
    std::vector<DialAddressInfo> sorted;
    sorted.reserve(order.size());
    for (size_t i : order) sorted.push_back(in[i]);
    std::sort(sorted.begin(), sorted.end(), DefaultAddressLess);
    ASSERT_EQ(FullTexts(sorted), expected);
  } while (std::next_permutation(order.begin(), order.end()));
}

DialAddressInfo Info(const std::string& text, bool certified) { return {Addr(text), certified}; }

TEST(JsSorterVectorsTest, PublicFirstCertifiedFirstRelayLast) {
  ExpectJsOrder({Info("/ip4/127.0.0.1/tcp/4000", false), Info("/ip4/30.0.0.1/tcp/4000", false)},
                {"/ip4/30.0.0.1/tcp/4000", "/ip4/127.0.0.1/tcp/4000"});
  ExpectJsOrder({Info("/ip4/30.0.0.1/tcp/4000", false), Info("/ip4/30.0.0.1/tcp/4001", true),
                 Info("/ip4/127.0.0.1/tcp/4001", true), Info("/ip4/127.0.0.1/tcp/4000", false)},
                {"/ip4/30.0.0.1/tcp/4001", "/ip4/30.0.0.1/tcp/4000", "/ip4/127.0.0.1/tcp/4001",
                 "/ip4/127.0.0.1/tcp/4000"});
  const std::string relay = "/ip4/30.0.0.1/tcp/4000/p2p/" + kJsR + "/p2p-circuit/p2p/" + kJsA;
  ExpectJsOrder({Info(relay, false), Info("/ip4/30.0.0.1/tcp/4000", false)},
                {"/ip4/30.0.0.1/tcp/4000", relay});
}

TEST(JsSorterVectorsTest, DefaultSort) {
  auto relay = [](const std::string& host, int port) {
    return "/ip4/" + host + "/tcp/" + std::to_string(port) + "/p2p/" + kJsR + "/p2p-circuit/p2p/" +
           kJsA;
  };
  ExpectJsOrder({Info("/ip4/127.0.0.1/tcp/4000", false), Info("/ip4/127.0.0.1/tcp/4001", true),
                 Info(relay("30.0.0.1", 4000), false), Info(relay("30.0.0.1", 4001), true),
                 Info(relay("127.0.0.1", 4000), false), Info("/ip4/30.0.0.1/tcp/4000", false),
                 Info("/ip4/30.0.0.1/tcp/4001", true), Info(relay("127.0.0.1", 4001), true)},
                {"/ip4/30.0.0.1/tcp/4001", "/ip4/30.0.0.1/tcp/4000", relay("30.0.0.1", 4001),
                 relay("30.0.0.1", 4000), "/ip4/127.0.0.1/tcp/4001", "/ip4/127.0.0.1/tcp/4000",
                 relay("127.0.0.1", 4001), relay("127.0.0.1", 4000)});
}

TEST(JsSorterVectorsTest, WebRtcOverRelayBeforeRelay) {
  // Issue 23, item 5.
  const std::string relay = "/ip4/30.0.0.1/tcp/4000/p2p/" + kJsR + "/p2p-circuit/p2p/" + kJsA;
  const std::string webrtc =
      "/ip4/30.0.0.1/tcp/4000/p2p/" + kJsR + "/p2p-circuit/webrtc/p2p/" + kJsA;
  ExpectJsOrder({Info(relay, false), Info(webrtc, false)}, {webrtc, relay});
}

TEST(JsSorterVectorsTest, ReliableTransportsFirst) {
  const std::string host = "/ip4/123.123.123.123";
  const std::string tcp = host + "/tcp/123/p2p/" + kJsA;
  const std::string ws = host + "/tcp/123/ws/p2p/" + kJsA;
  const std::string wss = host + "/tcp/123/wss/p2p/" + kJsA;
  const std::string webrtc = host + "/tcp/123/wss/p2p/" + kJsR + "/p2p-circuit/webrtc/p2p/" + kJsA;
  const std::string webrtc_direct = host + "/udp/123/webrtc-direct/p2p/" + kJsA;
  const std::string circuit = host + "/tcp/123/wss/p2p/" + kJsR + "/p2p-circuit/p2p/" + kJsA;
  const std::string webtransport = host + "/udp/123/quic-v1/webtransport/p2p/" + kJsR;
  ExpectJsOrder({Info(tcp, true), Info(ws, true), Info(wss, true), Info(webrtc, true),
                 Info(webrtc_direct, true), Info(circuit, true), Info(webtransport, true)},
                {tcp, wss, ws, webrtc, webrtc_direct, webtransport, circuit});
}

TEST(JsSorterVectorsTest, PublicThenLocalThenLoopback) {
  const std::string pub = "/ip4/80.123.123.123/tcp/123/p2p/" + kJsA;
  // 172.123.0.0 is outside 172.16.0.0/12: public, despite the vector's name for it.
  const std::string class_b = "/ip4/172.123.123.123/tcp/123/ws/p2p/" + kJsA;
  const std::string tcp_loopback = "/ip4/127.0.0.1/tcp/123/ws/p2p/" + kJsA;
  const std::string certhash = "/certhash/uEiCJOmJR6bCtNcRVjdcGXQGxr4L5oPjg4G02FP35aCwIog";
  const std::string webrtc_loopback =
      "/ip4/127.0.0.1/udp/43543/webrtc-direct" + certhash + "/p2p/" + kJsA;
  const std::string webrtc_class_b =
      "/ip4/172.20.0.4/udp/43543/webrtc-direct" + certhash + "/p2p/" + kJsA;
  ExpectJsOrder({Info(pub, true), Info(class_b, true), Info(tcp_loopback, true),
                 Info(webrtc_loopback, true), Info(webrtc_class_b, true)},
                {pub, class_b, webrtc_class_b, tcp_loopback, webrtc_loopback});
}

// sorters.spec.ts tests each comparator alone. Where js-libp2p's comparator says -1 the core
// orders the pair the same way whichever way round it is asked; where it says 0 (the criterion
// does not decide) the core falls through to later criteria — for these pairs, to its binary
// tie-break.
void ExpectBefore(const std::string& a, const std::string& b) {
  EXPECT_TRUE(DefaultAddressLess(Info(a, false), Info(b, false))) << a << " before " << b;
  EXPECT_FALSE(DefaultAddressLess(Info(b, false), Info(a, false))) << a << " before " << b;
}
void ExpectUndecided(const std::string& a, const std::string& b) {
  EXPECT_EQ(DefaultAddressLess(Info(a, false), Info(b, false)), Addr(a) < Addr(b)) << a << " " << b;
  EXPECT_EQ(DefaultAddressLess(Info(b, false), Info(a, false)), Addr(b) < Addr(a)) << a << " " << b;
}

TEST(JsSorterVectorsTest, Comparators) {
  const std::string host = "/ip4/123.123.123.123";
  // reliableTransportsFirst
  ExpectBefore(host + "/tcp/123", host + "/tcp/123/wss");
  ExpectBefore(host + "/tcp/123/wss", host + "/tcp/123/ws");
  ExpectBefore(host + "/udp/123/webrtc-direct/p2p/" + kJsA,
               host + "/udp/123/quic-v1/webtransport/p2p/" + kJsR);
  ExpectUndecided("/ip4/1.1.1.1/tcp/123", "/ip4/2.2.2.2/tcp/456");
  // loopbackAddressLast
  ExpectBefore(host + "/tcp/123", "/ip4/127.0.0.1/tcp/123");
  ExpectUndecided("/ip4/127.0.0.1/tcp/123", "/ip4/127.0.0.1/tcp/456");
  ExpectUndecided(host + "/tcp/123", "/ip4/200.0.0.1/tcp/456");
  // publicAddressesFirst
  ExpectBefore(host + "/tcp/123", "/ip4/192.168.0.1/tcp/123");
  ExpectUndecided("/ip4/192.168.0.1/tcp/123", "/ip4/10.0.0.1/tcp/456");
  // circuitRelayAddressesLast
  const std::string relayed = "/p2p/" + kJsR + "/p2p-circuit/p2p/" + kJsA;
  ExpectBefore(host + "/tcp/123/p2p/" + kJsA, host + "/tcp/123" + relayed);
  ExpectUndecided("/ip4/1.1.1.1/tcp/123" + relayed, "/ip4/2.2.2.2/tcp/456" + relayed);
  ExpectUndecided("/ip4/1.1.1.1/tcp/123", "/ip4/2.2.2.2/tcp/456");
}

TEST(JsSorterVectorsTest, DefaultMultiaddrSorter) {
  ExpectJsOrder(
      {Info("/ip4/127.0.0.1/tcp/123", false), Info("/ip4/192.168.0.1/tcp/123", false),
       Info("/ip4/123.123.123.123/tcp/123", false)},
      {"/ip4/123.123.123.123/tcp/123", "/ip4/192.168.0.1/tcp/123", "/ip4/127.0.0.1/tcp/123"});
  const std::string direct = "/ip4/123.123.123.123/tcp/123/p2p/" + kJsA;
  const std::string relay = "/ip4/123.123.123.123/tcp/123/p2p/" + kJsR + "/p2p-circuit/p2p/" + kJsA;
  ExpectJsOrder({Info(relay, false), Info(direct, false)}, {direct, relay});
  const std::string wss = "/ip4/123.123.123.123/tcp/123/wss/p2p/" + kJsA;
  const std::string webrtc_direct = "/ip4/123.123.123.123/udp/123/webrtc-direct/p2p/" + kJsA;
  ExpectJsOrder({Info(webrtc_direct, false), Info(wss, false), Info(direct, false)},
                {direct, wss, webrtc_direct});
}

}  // namespace
}  // namespace connmgr
