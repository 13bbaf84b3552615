// Properties of dialing, over random sequences of dial requests, cancels, attempt results, DNS
// answers and time: never more than max_parallel_dials dial jobs, never two attempts to one
// peer from two jobs at once, the queue within its bound, and every accepted request answered
// by exactly one DialResult.
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "core/core.h"
#include "gtest/gtest.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"

namespace connmgr {
namespace {

const std::vector<PeerId>& Peers() {
  static const auto* peers = new std::vector<PeerId>{
      PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value(),
      PeerId::Parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA").value(),
      PeerId::Parse("QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN").value(),
  };
  return *peers;
}

const std::vector<Multiaddr>& Addresses() {
  static const auto* addrs = new std::vector<Multiaddr>{
      Multiaddr::Parse("/ip4/1.1.1.1/tcp/1").value(),
      Multiaddr::Parse("/ip4/1.1.1.2/tcp/1").value(),
      Multiaddr::Parse("/ip6/2001:db8::1/udp/1/quic-v1").value(),
      Multiaddr::Parse("/ip4/10.0.0.1/tcp/1").value(),
      Multiaddr::Parse("/dns4/node.example/tcp/1").value(),
      Multiaddr::Parse("/dnsaddr/boot.example").value(),
  };
  return *addrs;
}

RC_GTEST_PROP(DialProps, LimitsHoldAndEveryRequestGetsOneResult, ()) {
  Config config;
  config.max_parallel_dials = *rc::gen::inRange<uint32_t>(1, 4);
  config.max_dial_queue_length = config.max_parallel_dials + *rc::gen::inRange<uint32_t>(0, 4);
  config.dial_strategy = *rc::gen::element(DialStrategy::kSequential, DialStrategy::kRanked);
  config.max_outbound_pending_connections = *rc::gen::inRange<uint32_t>(1, 6);
  config.address_dial_timeout = Duration::Seconds(2);
  config.dial_timeout = Duration::Seconds(5);
  std::unique_ptr<Core> core = Core::Create(config).value();

  Instant now = Instant::FromNanoseconds(0);
  uint64_t next_request = 1;
  std::set<uint64_t> waiting;               // accepted requests without a result yet
  std::map<ConnectionId, PeerId> attempts;  // attempts in flight
  std::vector<uint64_t> queries;            // DNS queries not answered
  std::vector<ConnectionId> open;
  const int steps = *rc::gen::inRange(1, 120);
  for (int step = 0; step < steps; ++step) {
    absl::StatusOr<ConnectionId> r;
    switch (*rc::gen::inRange(0, 7)) {
      case 0:
      case 1: {
        const uint64_t request = next_request++;
        std::vector<Multiaddr> addrs = *rc::gen::container<std::vector<Multiaddr>>(
            *rc::gen::inRange<size_t>(0, 4), rc::gen::elementOf(Addresses()));
        r = core->Handle(now, DialRequest{request, *rc::gen::elementOf(Peers()), addrs,
                                          *rc::gen::element<uint32_t>(50, 75),
                                          *rc::gen::arbitrary<bool>(), Duration::Zero()});
        if (r.ok()) {
          waiting.insert(request);
        } else {
          RC_ASSERT(r.status().code() == absl::StatusCode::kResourceExhausted);
        }
        break;
      }
      case 2:
        if (!waiting.empty())
          core->Handle(now, CancelDial{*rc::gen::elementOf(waiting)}).IgnoreError();
        break;
      case 3:
      case 4:
        if (!attempts.empty()) {
          const ConnectionId c = rc::gen::elementOf(attempts).operator*().first;
          if (*rc::gen::arbitrary<bool>()) {
            RC_ASSERT(core->Handle(now, DialSucceeded{c}).ok());
          } else {
            RC_ASSERT(core->Handle(now, DialFailed{c, "refused"}).ok());
          }
        }
        break;
      case 5:
        if (!queries.empty()) {
          const uint64_t q = queries.front();
          queries.erase(queries.begin());
          if (*rc::gen::arbitrary<bool>()) {
            core->Handle(now,
                         DnsAnswered{
                             q, {"1.2.3.4", "dnsaddr=/ip4/5.5.5.5/tcp/1"}, Duration::Seconds(30)})
                .IgnoreError();
          } else {
            core->Handle(now, DnsFailed{q, "SERVFAIL"}).IgnoreError();
          }
        }
        break;
      default:
        now = now + Duration::Milliseconds(*rc::gen::inRange<int64_t>(1, 3'000));
        RC_ASSERT(core->Handle(now, TimerExpired{}).ok());
        break;
    }
    while (std::optional<Output> out = core->PollOutput()) {
      if (const auto* d = std::get_if<DialAddress>(&*out)) {
        attempts[d->connection] = d->peer;
      } else if (const auto* c = std::get_if<CancelDialAttempt>(&*out)) {
        RC_ASSERT(attempts.erase(c->connection) == 1u);
      } else if (const auto* closed = std::get_if<ConnectionClosed>(&*out)) {
        attempts.erase(closed->connection);
      } else if (const auto* opened = std::get_if<ConnectionOpened>(&*out)) {
        attempts.erase(opened->connection);
      } else if (const auto* q = std::get_if<ResolveDns>(&*out)) {
        queries.push_back(q->query);
      } else if (const auto* result = std::get_if<DialResult>(&*out)) {
        // Exactly one result per accepted request.
        RC_ASSERT(waiting.erase(result->request) == 1u);
      }
    }
    const Metrics m = core->GetMetrics();
    RC_ASSERT(m.dials_running <= config.max_parallel_dials);
    RC_ASSERT(m.dials_running + m.dials_queued <= config.max_dial_queue_length);
    RC_ASSERT(core->connections().pending_count(Direction::kOutbound) <=
              config.max_outbound_pending_connections);
    // One dial job per peer: attempts in flight for a peer all belong to one job, so the
    // number of peers with attempts never exceeds the running jobs.
    std::set<PeerId> dialled;
    for (const auto& [conn, peer] : attempts) dialled.insert(peer);
    RC_ASSERT(dialled.size() <= m.dials_running);
  }
  // Time passing answers everything still waiting: each request's own deadline.
  now = now + Duration::Seconds(60);
  RC_ASSERT(core->Handle(now, TimerExpired{}).ok());
  while (std::optional<Output> out = core->PollOutput()) {
    if (const auto* result = std::get_if<DialResult>(&*out)) {
      RC_ASSERT(waiting.erase(result->request) == 1u);
    }
  }
  RC_ASSERT(waiting.empty());
}

}  // namespace
}  // namespace connmgr
