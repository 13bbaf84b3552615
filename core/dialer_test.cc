// The dialer and the reconnector without a Core: a fake host stands for the connection
// lifecycle the core owns (it opens every dialled connection and records every finish), so the
// dial and reconnect schedules are checked command by command.
#include "core/dialer.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/reconnector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

using ::testing::ElementsAre;

Instant At(int64_t seconds, int64_t ms = 0) {
  return Instant::FromNanoseconds(seconds * 1'000'000'000 + ms * 1'000'000);
}
Multiaddr Addr(absl::string_view text) { return Multiaddr::Parse(text).value(); }
const PeerId kPeer = PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value();
const Multiaddr kLocal = Addr("/ip4/10.0.0.1/tcp/4001");

class FakeHost : public DialerHost {
 public:
  explicit FakeHost(ConnectionTable& table) : table_(table) {}
  bool AdmitDialled(Connection& c, const PeerId& peer, Instant now) override {
    table_.Open(c, peer, now);
    opened.push_back(c.id);
    return true;
  }
  void Finish(ConnectionId id, CloseReason reason) override {
    table_.Remove(id);
    finished.push_back({id, reason});
  }
  std::vector<ConnectionId> opened;
  std::vector<std::pair<ConnectionId, CloseReason>> finished;

 private:
  ConnectionTable& table_;
};

class DialerTest : public ::testing::Test {
 protected:
  DialerTest() { Make(); }
  void Make() {
    table_ = std::make_unique<ConnectionTable>(config_.closable_protocols);
    tags_ = std::make_unique<PeerTags>(PeerTagsLimits{});
    scopes_ = std::make_unique<ResourceScopes>(config_.system_scope, config_.transient_scope,
                                               config_.peer_scope);
    outbox_ = std::make_unique<Outbox>();
    admission_ = std::make_unique<Admission>(config_, nullptr, *scopes_);
    pruner_ = std::make_unique<Pruner>(config_, *table_, *tags_, *outbox_);
    host_ = std::make_unique<FakeHost>(*table_);
    dialer_ =
        std::make_unique<Dialer>(config_, nullptr, *table_, timers_, *admission_, *outbox_, *host_);
    reconnector_ =
        std::make_unique<Reconnector>(config_, *table_, *tags_, *pruner_, *dialer_, *outbox_);
    dialer_->set_reconnector(reconnector_.get());
  }
  // The DialAddress commands and DialResult outcomes emitted since the last call, as text.
  std::vector<std::string> Drain() {
    std::vector<std::string> out;
    for (const Output& o : outbox_->pending()) {
      if (const auto* d = std::get_if<DialAddress>(&o)) {
        out.push_back(
            absl::StrCat("dial ", d->connection.value, " ", d->address.WithoutPeerId().ToString()));
      } else if (const auto* r = std::get_if<DialResult>(&o)) {
        out.push_back(absl::StrCat("result ", r->request, " ", DialOutcomeName(r->outcome)));
      }
    }
    outbox_->Clear();
    return out;
  }
  DialRequest Request(uint64_t id, const std::vector<std::string>& addresses) {
    DialRequest r{id, kPeer, {}, 50, false, Duration::Zero()};
    for (const std::string& a : addresses) r.addresses.push_back(Addr(a));
    return r;
  }
  void FailAttempt(ConnectionId id, Instant now) {
    ASSERT_TRUE(dialer_->On(now, DialFailed{id, "refused"}).ok());
  }

  Config config_;
  ConnectionTimers timers_;
  std::unique_ptr<ConnectionTable> table_;
  std::unique_ptr<PeerTags> tags_;
  std::unique_ptr<ResourceScopes> scopes_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<Admission> admission_;
  std::unique_ptr<Pruner> pruner_;
  std::unique_ptr<FakeHost> host_;
  std::unique_ptr<Dialer> dialer_;
  std::unique_ptr<Reconnector> reconnector_;
};

TEST_F(DialerTest, SequentialAttemptsThenConnected) {
  ASSERT_TRUE(dialer_->On(At(1), Request(7, {"/ip4/1.1.1.1/tcp/1", "/ip4/2.2.2.2/tcp/1"})).ok());
  EXPECT_THAT(Drain(), ElementsAre("dial 1 /ip4/1.1.1.1/tcp/1"));
  FailAttempt(ConnectionId{1}, At(2));
  EXPECT_THAT(Drain(), ElementsAre("dial 2 /ip4/2.2.2.2/tcp/1"));
  EXPECT_THAT(host_->finished,
              ElementsAre(std::make_pair(ConnectionId{1}, CloseReason::kDialFailed)));
  ASSERT_TRUE(dialer_->On(At(3), DialSucceeded{ConnectionId{2}}).ok());
  EXPECT_THAT(Drain(), ElementsAre("result 7 connected"));
  EXPECT_THAT(host_->opened, ElementsAre(ConnectionId{2}));
}

TEST_F(DialerTest, AFailedAddressIsBackedOffForTheNextRequest) {
  ASSERT_TRUE(dialer_->On(At(1), Request(1, {"/ip4/1.1.1.1/tcp/1"})).ok());
  Drain();
  FailAttempt(ConnectionId{1}, At(1));
  EXPECT_THAT(Drain(), ElementsAre("result 1 failed"));
  ASSERT_TRUE(dialer_->On(At(2), Request(2, {"/ip4/1.1.1.1/tcp/1"})).ok());
  EXPECT_THAT(Drain(), ElementsAre("result 2 backed_off"));
  // dial_backoff_base is 5 s: at +5 s the address is dialled again.
  dialer_->FireTimers(At(6));
  ASSERT_TRUE(dialer_->On(At(6), Request(3, {"/ip4/1.1.1.1/tcp/1"})).ok());
  EXPECT_THAT(Drain(), ElementsAre("dial 2 /ip4/1.1.1.1/tcp/1"));
}

TEST_F(DialerTest, AttemptTimesOutThroughItsConnectionTimer) {
  ASSERT_TRUE(dialer_->On(At(1), Request(1, {"/ip4/1.1.1.1/tcp/1"})).ok());
  Drain();
  EXPECT_EQ(timers_.Next(), At(1) + config_.address_dial_timeout);
}

TEST_F(DialerTest, ReconnectorRedialsAKeepAlivePeerOnItsSchedule) {
  config_.reconnect_jitter_percent = 0;
  Make();
  ASSERT_TRUE(tags_->SetTag(kPeer, "keep-alive", 1).ok());
  ASSERT_TRUE(reconnector_->On(At(0), SetPeerAddresses{kPeer, {Addr("/ip4/1.1.1.1/tcp/1")}}).ok());
  // Not connected, keep-alive and an address: dialled at once.
  EXPECT_THAT(Drain(), ElementsAre("dial 1 /ip4/1.1.1.1/tcp/1"));
  FailAttempt(ConnectionId{1}, At(0));
  Drain();
  // The next attempt waits reconnect_retry_interval × 2^1 = 2 s.
  EXPECT_EQ(dialer_->NextDeadline(), At(2));
}

}  // namespace
}  // namespace connmgr
