// Test helpers shared by the core's tests: addresses, peers, instants, and a fixture that
// drives one Core and drains its outputs.
#ifndef CONNMGR_CORE_CORE_TEST_UTIL_H_
#define CONNMGR_CORE_CORE_TEST_UTIL_H_

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "core/core.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace testing_util {

inline Multiaddr Addr(absl::string_view text) { return Multiaddr::Parse(text).value(); }
inline PeerId Peer(absl::string_view text) { return PeerId::Parse(text).value(); }
inline Instant At(int64_t seconds, int64_t ms = 0) {
  return Instant::FromNanoseconds(seconds * 1'000'000'000 + ms * 1'000'000);
}

inline const PeerId kAlice = Peer("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");
inline const PeerId kBob = Peer("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
inline const Multiaddr kLocal = Addr("/ip4/10.0.0.1/tcp/4001");

class CoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reset(Config{}); }

  void Reset(Config config) { core_ = Core::Create(std::move(config)).value(); }

  std::vector<Output> Drain() {
    std::vector<Output> out;
    while (std::optional<Output> o = core_->PollOutput()) out.push_back(std::move(*o));
    return out;
  }

  ConnectionId Inbound(Instant now, absl::string_view remote = "/ip4/1.2.3.4/tcp/5000") {
    return core_->Handle(now, InboundConnection{Addr(remote), kLocal}).value();
  }

  // An inbound connection that is accepted and upgraded; its outputs are drained.
  ConnectionId OpenInbound(Instant now, const PeerId& peer) {
    ConnectionId id = Inbound(now);
    EXPECT_TRUE(core_->Handle(now, ConnectionUpgraded{id, peer}).ok());
    Drain();
    return id;
  }

  // An outbound connection the embedder dialled; its outputs are drained.
  ConnectionId OpenOutbound(Instant now, const PeerId& peer,
                            absl::string_view remote = "/ip4/1.2.3.4/tcp/4001") {
    ConnectionId id = core_->Handle(now, OutboundConnection{Addr(remote), kLocal, peer}).value();
    Drain();
    return id;
  }

  std::unique_ptr<Core> core_;
};

}  // namespace testing_util
}  // namespace connmgr

#endif  // CONNMGR_CORE_CORE_TEST_UTIL_H_
