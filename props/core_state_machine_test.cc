// Model-based test of the whole core: rapidcheck generates sequences of every input kind, runs
// each through the real core and through ReferenceCore (props/reference_core.h), and after
// every input requires the same status, outputs, next deadline, connection table and metrics,
// and the shared invariants (props/invariants.h).
//
// A failure prints the seed and the shrunk input sequence; the sequence is also written as a
// replayable trace to $TEST_UNDECLARED_OUTPUTS_DIR/failing_trace.jsonl (docs/testing.md).
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "props/invariants.h"
#include "props/reference_core.h"
#include "rapidcheck.h"
#include "rapidcheck/gtest.h"
#include "rapidcheck/state.h"
#include "trace/trace_format.h"

namespace connmgr {
namespace {

const std::vector<std::string>& Remotes() {
  static const auto* remotes = new std::vector<std::string>{
      "/ip4/1.2.3.4/tcp/4001",
      "/ip4/10.0.0.7/tcp/4001",
      "/ip6/2001:db8::1/tcp/4001",
      "/ip6/2001:db8::2/udp/4001/quic-v1",
      "/ip4/1.2.3.9/tcp/4001",
      "/ip4/127.0.0.1/udp/4001/quic-v1",
      "/ip4/1.2.3.4/tcp/1/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N/p2p-circuit",
  };
  return *remotes;
}

const std::vector<PeerId>& Peers() {
  static const auto* peers = new std::vector<PeerId>{
      PeerId::Parse("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N").value(),
      PeerId::Parse("12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA").value(),
      PeerId::Parse("QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN").value(),
      PeerId(),  // invalid: exercises the input errors
  };
  return *peers;
}

const std::vector<std::string>& Protocols() {
  static const auto* protocols = new std::vector<std::string>{
      "/ipfs/id/1.0.0",
      "/ipfs/ping/1.0.0",
      "/chat/1.0.0",
      "/libp2p/dcutr",
      "",
      "/" + std::string(300, 'x'),
  };
  return *protocols;
}

struct Model {
  explicit Model(const Config& config) : reference(config) {}
  ReferenceCore reference;
  Instant now = Instant::FromNanoseconds(0);
};

struct Sut {
  explicit Sut(const Config& config)
      : core(Core::Create(config).value()),
        writer(config, [this](absl::string_view line) { absl::StrAppend(&trace, line, "\n"); }),
        checker(config) {}
  std::unique_ptr<Core> core;
  std::string trace;
  TraceWriter writer;
  InvariantChecker checker;
};

using CoreCommand = rc::state::Command<Model, Sut>;

void SaveFailingTrace(const std::string& trace) {
  const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  std::ofstream(std::string(dir ? dir : "/tmp") + "/failing_trace.jsonl") << trace;
}

std::string Describe(const std::vector<Output>& outputs) {
  std::string s;
  for (const Output& o : outputs) absl::StrAppend(&s, "\n  ", EncodeTraceOutput(Instant(), o));
  return s;
}

// Hands one input, at the model's current instant, to both implementations and compares.
struct HandInput : CoreCommand {
  Instant at;
  Input input;

  void apply(Model& m) const override {
    std::vector<Output> ignored;
    ConnectionId id;
    m.reference.Handle(at, input, &ignored, &id);
  }

  void run(const Model& m, Sut& s) const override {
    Model expected_model = m;
    std::vector<Output> expected;
    ConnectionId expected_id;
    const absl::StatusCode expected_code =
        expected_model.reference.Handle(at, input, &expected, &expected_id);

    s.checker.Before(*s.core);
    std::vector<Output> actual;
    absl::StatusOr<ConnectionId> result = s.writer.Handle(*s.core, at, input, &actual);

    std::string mismatch;
    if (result.status().code() != expected_code) {
      mismatch = absl::StrCat("status ", result.status().ToString(), ", reference code ",
                              absl::StatusCodeToString(expected_code));
    } else if (result.ok() && *result != expected_id) {
      mismatch = absl::StrCat("returned id ", result->value, ", reference ", expected_id.value);
    } else if (actual != expected) {
      mismatch = absl::StrCat("outputs", Describe(actual), "\nreference", Describe(expected));
    } else if (s.core->NextDeadline() != expected_model.reference.NextDeadline()) {
      mismatch =
          absl::StrCat("next deadline ", s.core->NextDeadline().nanoseconds(), ", reference ",
                       expected_model.reference.NextDeadline().nanoseconds());
    } else if (std::string t = CompareTable(*s.core, expected_model.reference); !t.empty()) {
      mismatch = t;
    } else if (std::string mt =
                   CompareMetrics(s.core->GetMetrics(), expected_model.reference.ExpectedMetrics());
               !mt.empty()) {
      mismatch = mt;
    } else if (absl::Status inv = s.checker.Check(*s.core, at, input, result, actual); !inv.ok()) {
      mismatch = std::string(inv.message());
    }
    if (!mismatch.empty()) {
      SaveFailingTrace(s.trace);
      RC_FAIL(mismatch);
    }
  }

  static std::string CompareTable(const Core& core, const ReferenceCore& reference) {
    std::vector<const Connection*> actual = core.connections().SortedForInspection();
    const auto& expected = reference.connections();
    if (actual.size() != expected.size()) {
      return absl::StrCat("table has ", actual.size(), " connections, reference ", expected.size());
    }
    for (size_t i = 0; i < actual.size(); ++i) {
      const Connection& a = *actual[i];
      const ReferenceCore::Conn& e = expected[i];
      if (a.id != e.id || a.direction != e.direction || a.state != e.state || a.peer != e.peer ||
          a.created_at != e.created_at || a.opened_at != e.opened_at ||
          a.closing_at != e.closing_at || a.stream_count() != e.streams.size() ||
          (a.state == ConnectionState::kClosing && a.close_reason != e.close_reason)) {
        return absl::StrCat("connection ", a.id.value, " differs from the reference (",
                            ConnectionStateName(a.state), " vs ", ConnectionStateName(e.state),
                            ")");
      }
    }
    return "";
  }

  static std::string CompareMetrics(const Metrics& a, const Metrics& e) {
    if (a.connections_by_state != e.connections_by_state) return "metrics: connections by state";
    if (a.peers != e.peers) return absl::StrCat("metrics: peers ", a.peers, " vs ", e.peers);
    if (a.streams_by_protocol != e.streams_by_protocol) return "metrics: streams by protocol";
    if (a.streams_inbound != e.streams_inbound || a.streams_outbound != e.streams_outbound) {
      return "metrics: stream totals";
    }
    if (a.streams_per_connection_p90 != e.streams_per_connection_p90) {
      return absl::StrCat("metrics: p90 ", a.streams_per_connection_p90, " vs ",
                          e.streams_per_connection_p90);
    }
    for (int i = 0; i < kCounterCount; ++i) {
      if (a.counters[i] != e.counters[i]) {
        return absl::StrCat("metrics: counter ", CounterName(static_cast<Counter>(i)), " ",
                            a.counters[i], " vs ", e.counters[i]);
      }
    }
    if (a.rejected_by_reason != e.rejected_by_reason) return "metrics: rejected by reason";
    if (a.closed_by_reason != e.closed_by_reason) return "metrics: closed by reason";
    if (a.streams_rejected_by_reason != e.streams_rejected_by_reason) {
      return "metrics: streams rejected by reason";
    }
    if (a.placements_by_outcome != e.placements_by_outcome) return "metrics: placements";
    if (a.memory_bytes != e.memory_bytes) return "metrics: memory bytes";
    if (a.dial_outcomes != e.dial_outcomes) return "metrics: dial outcomes";
    if (a.dials_running != e.dials_running || a.dials_queued != e.dials_queued) {
      return absl::StrCat("metrics: dials running/queued ", a.dials_running, "/", a.dials_queued,
                          " vs ", e.dials_running, "/", e.dials_queued);
    }
    if (a.dial_backoff_entries != e.dial_backoff_entries) {
      return absl::StrCat("metrics: dial backoff entries ", a.dial_backoff_entries, " vs ",
                          e.dial_backoff_entries);
    }
    if (a.dns_cache_entries != e.dns_cache_entries) {
      return absl::StrCat("metrics: DNS cache entries ", a.dns_cache_entries, " vs ",
                          e.dns_cache_entries);
    }
    return "";
  }

  void show(std::ostream& os) const override { os << EncodeTraceInput(at, input); }
};

// A connection id to name: usually a live one, sometimes a closed or never-issued one.
ConnectionId PickConnection(const Model& m) {
  const auto& live = m.reference.connections();
  if (!live.empty() && *rc::gen::inRange(0, 10) < 8) {
    return (*rc::gen::elementOf(live)).id;
  }
  return ConnectionId{*rc::gen::inRange<uint64_t>(0, m.reference.ids_handed_out() + 3)};
}

Multiaddr PickRemote() { return Multiaddr::Parse(*rc::gen::elementOf(Remotes())).value(); }
const Multiaddr& Local() {
  static const auto* local = new Multiaddr(Multiaddr::Parse("/ip4/10.0.0.1/tcp/4001").value());
  return *local;
}
Direction PickDirection() { return *rc::gen::element(Direction::kInbound, Direction::kOutbound); }

struct Inbound : HandInput {
  explicit Inbound(const Model& m) {
    at = m.now;
    input = InboundConnection{PickRemote(), Local()};
  }
};

struct Outbound : HandInput {
  explicit Outbound(const Model& m) {
    at = m.now;
    input = OutboundConnection{PickRemote(), Local(), *rc::gen::elementOf(Peers())};
  }
};

struct Upgrade : HandInput {
  explicit Upgrade(const Model& m) {
    at = m.now;
    input = ConnectionUpgraded{PickConnection(m), *rc::gen::elementOf(Peers())};
  }
};

struct CloseByTransport : HandInput {
  explicit CloseByTransport(const Model& m) {
    at = m.now;
    input = TransportClosed{PickConnection(m)};
  }
};

struct CloseByRequest : HandInput {
  explicit CloseByRequest(const Model& m) {
    at = m.now;
    input = CloseRequest{PickConnection(m)};
  }
};

struct OpenStream : HandInput {
  explicit OpenStream(const Model& m) {
    at = m.now;
    input = StreamOpened{PickConnection(m), *rc::gen::inRange<uint64_t>(1, 4),
                         *rc::gen::elementOf(Protocols()), PickDirection()};
  }
};

struct CloseStream : HandInput {
  explicit CloseStream(const Model& m) {
    at = m.now;
    input = StreamClosed{PickConnection(m), *rc::gen::inRange<uint64_t>(1, 4),
                         *rc::gen::elementOf(Protocols()), PickDirection()};
  }
};

struct Secure : HandInput {
  explicit Secure(const Model& m) {
    at = m.now;
    input = ConnectionSecured{PickConnection(m), *rc::gen::elementOf(Peers())};
  }
};

const std::vector<IpPrefix>& Prefixes() {
  static const auto* prefixes = new std::vector<IpPrefix>{
      IpPrefix::Parse("1.2.3.0/24").value(), IpPrefix::Parse("1.2.3.4").value(),
      IpPrefix::Parse("10.0.0.0/8").value(), IpPrefix::Parse("2001:db8::/32").value(),
      IpPrefix::Parse("127.0.0.1").value()};
  return *prefixes;
}

struct ChangeList : HandInput {
  explicit ChangeList(const Model& m) {
    at = m.now;
    const IpPrefix p = *rc::gen::elementOf(Prefixes());
    const PeerId peer = *rc::gen::elementOf(Peers());
    switch (*rc::gen::inRange(0, 6)) {
      case 0:
        input = DenyAddress{p};
        break;
      case 1:
        input = UndenyAddress{p};
        break;
      case 2:
        input = AllowAddress{p};
        break;
      case 3:
        input = UnallowAddress{p};
        break;
      case 4:
        input = DenyPeer{peer};
        break;
      default:
        input = UndenyPeer{peer};
        break;
    }
  }
};

struct Place : HandInput {
  explicit Place(const Model& m) {
    at = m.now;
    input = PlaceStream{*rc::gen::elementOf(Peers())};
  }
};

struct Reserve : HandInput {
  explicit Reserve(const Model& m) {
    at = m.now;
    ConnectionId conn = *rc::gen::inRange(0, 4) == 0 ? ConnectionId{} : PickConnection(m);
    // Not on a dial attempt: the core accepts it uncharged and never charges it when the
    // attempt opens (reported to the lead; issue 23 notes), which the reference does not copy.
    const std::vector<ConnectionId> attempts = m.reference.DialAttempts();
    if (std::find(attempts.begin(), attempts.end(), conn) != attempts.end()) conn = ConnectionId{};
    input = ReserveMemory{conn, *rc::gen::element<uint64_t>(1, 100, 1000, 5000, UINT64_MAX),
                          *rc::gen::element<uint32_t>(0, 127, 255, 256)};
  }
};

struct Release : HandInput {
  explicit Release(const Model& m) {
    at = m.now;
    const ConnectionId conn = *rc::gen::inRange(0, 4) == 0 ? ConnectionId{} : PickConnection(m);
    input = ReleaseMemory{conn, *rc::gen::element<uint64_t>(1, 100, 1000, 5000)};
  }
};

struct Timer : HandInput {
  explicit Timer(const Model& m) {
    at = m.now;
    input = TimerExpired{};
  }
};

struct TrimNow : HandInput {
  explicit TrimNow(const Model& m) {
    at = m.now;
    input = TrimOpenConnections{};
  }
};

const std::vector<std::string>& TagNames() {
  static const auto* tags = new std::vector<std::string>{"score", "keep-alive", "app", ""};
  return *tags;
}

struct SetTag : HandInput {
  explicit SetTag(const Model& m) {
    at = m.now;
    input = SetPeerTag{*rc::gen::elementOf(Peers()), *rc::gen::elementOf(TagNames()),
                       *rc::gen::inRange<int64_t>(-50, 100)};
  }
};

struct AddToTag : HandInput {
  explicit AddToTag(const Model& m) {
    at = m.now;
    input = AddToPeerTag{*rc::gen::elementOf(Peers()), *rc::gen::elementOf(TagNames()),
                         *rc::gen::inRange<int64_t>(-30, 30)};
  }
};

struct RemoveTag : HandInput {
  explicit RemoveTag(const Model& m) {
    at = m.now;
    input = RemovePeerTag{*rc::gen::elementOf(Peers()), *rc::gen::elementOf(TagNames())};
  }
};

struct Protect : HandInput {
  explicit Protect(const Model& m) {
    at = m.now;
    input = ProtectPeer{*rc::gen::elementOf(Peers()), *rc::gen::element<std::string>("a", "b", "")};
  }
};

struct Unprotect : HandInput {
  explicit Unprotect(const Model& m) {
    at = m.now;
    input = UnprotectPeer{*rc::gen::elementOf(Peers()), *rc::gen::element<std::string>("a", "b")};
  }
};

struct RegisterDecaying : HandInput {
  explicit RegisterDecaying(const Model& m) {
    at = m.now;
    const DecayPolicy decay =
        *rc::gen::element(DecayPolicy::Fixed(3), DecayPolicy::Linear(50),
                          DecayPolicy::ExpireWhenInactive(Duration::Seconds(20)),
                          DecayPolicy::None(), DecayPolicy::Linear(101));
    const BumpPolicy bump = *rc::gen::element(BumpPolicy::Sum(), BumpPolicy::SumBounded(0, 40),
                                              BumpPolicy::Overwrite());
    input =
        RegisterDecayingTag{*rc::gen::element<std::string>("recent", "keep-alive-decay", "score"),
                            Duration::Seconds(*rc::gen::element<int64_t>(1, 10, 0)), decay, bump};
  }
};

struct Bump : HandInput {
  explicit Bump(const Model& m) {
    at = m.now;
    input = BumpPeerTag{*rc::gen::elementOf(Peers()),
                        *rc::gen::element<std::string>("recent", "keep-alive-decay", "nope"),
                        *rc::gen::inRange<int64_t>(-10, 60)};
  }
};

// --- Dialing ---------------------------------------------------------------------------------
// Addresses outside every prefix the gating commands touch, so a dial's attempts are never
// gated while they run; public and private, IPv4 and IPv6, every transport the ranker tells
// apart, a relay, then names to resolve (kFirstDnsAddress on): /dns4, /dns6, /dns (two
// addresses share a name) and /dnsaddr.
constexpr size_t kFirstDnsAddress = 11;
const std::vector<std::string>& DialAddresses() {
  static const auto* addresses = new std::vector<std::string>{
      "/ip4/5.6.7.8/tcp/4001",
      "/ip4/5.6.7.8/udp/4001/quic-v1",
      "/ip4/5.6.7.8/udp/4002/quic-v1",
      "/ip6/2a00::1/udp/4001/quic-v1",
      "/ip6/2a00::1/tcp/4002",
      "/ip4/5.6.7.8/tcp/4003/ws",
      "/ip4/5.6.7.8/udp/4001/quic-v1/webtransport",
      "/ip4/5.6.7.9/udp/4001/webrtc-direct",
      "/ip4/192.168.1.5/tcp/4001",
      "/ip4/192.168.1.5/udp/4001/quic-v1",
      "/ip4/5.6.7.10/tcp/1/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN/p2p-circuit",
      "/dns4/a.example/tcp/4001",
      "/dns4/a.example/udp/4001/quic-v1",
      "/dns6/b.example/tcp/4001",
      "/dns/c.example/udp/4002/quic-v1",
      "/dnsaddr/boot.example",
      "/dnsaddr/eu.boot.example",
  };
  return *addresses;
}

std::vector<Multiaddr> PickDialAddresses() {
  std::vector<Multiaddr> out;
  const int n = *rc::gen::element(0, 1, 1, 2, 2, 3, 4);
  // Often from the first one or three only, so one address fails again and again (the
  // backoff grows); else from every IP address, or (0) from the names and the first address.
  const size_t pool = *rc::gen::element<size_t>(1, 1, 3, kFirstDnsAddress, 0);
  const size_t from = pool == 0 ? kFirstDnsAddress - 1 : 0;
  const size_t to = pool == 0 ? DialAddresses().size() : pool;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    out.push_back(Multiaddr::Parse(DialAddresses()[*rc::gen::inRange<size_t>(from, to)]).value());
  }
  return out;
}

uint64_t PickRequest() { return *rc::gen::inRange<uint64_t>(0, 6); }

struct Dial : HandInput {
  explicit Dial(const Model& m) {
    at = m.now;
    // Mostly the first peer: failures in a row pile up on one (peer, address).
    const PeerId peer = *rc::gen::inRange(0, 2) == 0 ? Peers()[0] : *rc::gen::elementOf(Peers());
    std::vector<Multiaddr> addresses = PickDialAddresses();
    // Some from a signed peer record (sorted first within their class), rarely one not asked.
    std::vector<Multiaddr> certified;
    for (const Multiaddr& a : addresses) {
      if (*rc::gen::inRange(0, 3) == 0) certified.push_back(a);
    }
    if (*rc::gen::inRange(0, 10) == 0) {
      certified.push_back(Multiaddr::Parse(*rc::gen::elementOf(DialAddresses())).value());
    }
    input = DialRequest{PickRequest(),
                        peer,
                        std::move(addresses),
                        *rc::gen::element<uint32_t>(50, 75, 10),
                        *rc::gen::inRange(0, 8) == 0,
                        Duration::Milliseconds(*rc::gen::element<int64_t>(0, 0, 700, 20'000, -1)),
                        std::move(certified)};
  }
};

struct Cancel : HandInput {
  explicit Cancel(const Model& m) {
    at = m.now;
    input = CancelDial{PickRequest()};
  }
};

// The shell's report on an attempt: mostly a live attempt, sometimes any connection.
struct AttemptResult : HandInput {
  explicit AttemptResult(const Model& m) {
    at = m.now;
    const std::vector<ConnectionId> attempts = m.reference.DialAttempts();
    const ConnectionId c = !attempts.empty() && *rc::gen::inRange(0, 10) < 8
                               ? *rc::gen::elementOf(attempts)
                               : PickConnection(m);
    switch (*rc::gen::inRange(0, 5)) {
      case 0:
      case 1:
        input = DialSucceeded{c};
        break;
      case 2:
        input = TransportClosed{c};
        break;
      default:
        input = DialFailed{c, *rc::gen::element<std::string>("refused", "")};
        break;
    }
  }
};

// Where a keep-alive peer is redialled (the tag commands give peers the "keep-alive" tag).
struct SetAddresses : HandInput {
  explicit SetAddresses(const Model& m) {
    at = m.now;
    input = SetPeerAddresses{*rc::gen::elementOf(Peers()), PickDialAddresses()};
  }
};

// --- DNS -----------------------------------------------------------------------------------------
// Records for the names above, outside the gated prefixes like the dial addresses, with
// records of the wrong type or no address.
const std::vector<std::string>& ARecords() {
  static const auto* records = new std::vector<std::string>{
      "5.6.7.8", "5.6.7.11", "192.168.1.5", "2a00::1", "not an ip",
  };
  return *records;
}

const std::vector<std::string>& AaaaRecords() {
  static const auto* records = new std::vector<std::string>{
      "2a00::1",
      "2a00::3",
      "::ffff:5.6.7.8",
      "5.6.7.8",
  };
  return *records;
}

// dnsaddr TXT records; "%" stands for a peer id. They point at IPs, at the names above
// (boot.example at itself: a loop), at a deeper chain, with and without /p2p/, quoted, and
// malformed.
const std::vector<std::string>& TxtRecords() {
  static constexpr char kRelay[] =
      "/ip4/5.6.7.10/tcp/1/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN";
  static const auto* records = new std::vector<std::string>{
      "dnsaddr=/ip4/5.6.7.8/tcp/4001/p2p/%",
      "dnsaddr=/ip6/2a00::1/udp/4001/quic-v1/p2p/%",
      "dnsaddr=/ip4/5.6.7.8/tcp/4001",
      "dnsaddr=/dns4/a.example/tcp/4001/p2p/%",
      "dnsaddr=/dns/c.example/udp/4002/quic-v1/p2p/%",
      "dnsaddr=/dnsaddr/eu.boot.example/p2p/%",
      "dnsaddr=/dnsaddr/boot.example/p2p/%",
      "dnsaddr=/dnsaddr/deep.example/p2p/%",
      "\"dnsaddr=/ip4/192.168.1.5/tcp/4001/p2p/%\"",
      "dnsaddr=\"/ip4/5.6.7.11/udp/4001/quic-v1/p2p/%\"",
      std::string("dnsaddr=") + kRelay + "/p2p-circuit/p2p/%",
      "dnsaddr=/ip4/5.6.7.8/tcp/4001/p2p-circuit/dns4/a.example/p2p/%",
      "no equals sign",
      "dnsaddr=not a multiaddr",
  };
  return *records;
}

std::vector<std::string> PickRecords(DnsRecordType type) {
  const int n = *rc::gen::element(0, 1, 1, 2, 3);
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    if (type == DnsRecordType::kA) {
      out.push_back(*rc::gen::elementOf(ARecords()));
    } else if (type == DnsRecordType::kAaaa) {
      out.push_back(*rc::gen::elementOf(AaaaRecords()));
    } else {
      std::string record = *rc::gen::elementOf(TxtRecords());
      // Mostly the peer dialled most (the right one then), sometimes another.
      const PeerId& peer =
          *rc::gen::inRange(0, 3) != 0 ? Peers()[0] : Peers()[1 + *rc::gen::inRange(0, 2)];
      if (size_t at = record.find('%'); at != std::string::npos) {
        record.replace(at, 1, peer.ToString());
      }
      out.push_back(std::move(record));
    }
  }
  return out;
}

// A query to answer: mostly one in flight, sometimes one answered before, never asked, or 0.
std::pair<uint64_t, DnsRecordType> PickQuery(const Model& m) {
  const std::vector<ResolveDns>& in_flight = m.reference.DnsQueriesInFlight();
  if (!in_flight.empty() && *rc::gen::inRange(0, 10) < 8) {
    const ResolveDns q = *rc::gen::elementOf(in_flight);
    return {q.query, q.type};
  }
  return {*rc::gen::inRange<uint64_t>(0, m.reference.DnsQueriesAsked() + 3),
          *rc::gen::element(DnsRecordType::kA, DnsRecordType::kAaaa, DnsRecordType::kTxt)};
}

struct AnswerDns : HandInput {
  explicit AnswerDns(const Model& m) {
    at = m.now;
    const auto [query, type] = PickQuery(m);
    // TTLs below and above the model's dns_max_ttl (3 s or 1 h), 0 and negative.
    input = DnsAnswered{query, PickRecords(type),
                        Duration::Milliseconds(*rc::gen::element<int64_t>(0, 1'000, 5'000, 30'000,
                                                                          2 * 3'600'000, -1'000))};
  }
};

struct FailDns : HandInput {
  explicit FailDns(const Model& m) {
    at = m.now;
    input = DnsFailed{PickQuery(m).first, *rc::gen::element<std::string>("SERVFAIL", "")};
  }
};

// Moves the model's clock: small steps, jumps past every deadline, and steps backwards (which
// the core must clamp). The next inputs carry the new instant.
struct AdvanceTime : CoreCommand {
  Duration delta;
  AdvanceTime() {
    delta =
        *rc::gen::oneOf(rc::gen::map(rc::gen::inRange<int64_t>(0, 2'000), Duration::Milliseconds),
                        rc::gen::map(rc::gen::inRange<int64_t>(5, 30), Duration::Seconds),
                        rc::gen::map(rc::gen::inRange<int64_t>(1, 48),
                                     [](int64_t h) { return Duration::Minutes(60 * h); }),
                        rc::gen::map(rc::gen::inRange<int64_t>(1, 5'000),
                                     [](int64_t ms) { return Duration::Milliseconds(-ms); }));
  }
  void apply(Model& m) const override { m.now = m.now + delta; }
  void run(const Model&, Sut&) const override {}
  void show(std::ostream& os) const override { os << "advance " << delta.nanoseconds() << "ns"; }
};

Config SmallConfig() {
  Config c;
  c.max_connections = *rc::gen::inRange<uint32_t>(1, 10);
  c.high_watermark = *rc::gen::inRange<uint32_t>(0, c.max_connections + 1);
  c.low_watermark = *rc::gen::inRange<uint32_t>(0, c.effective_high_watermark() + 1);
  c.max_inbound_connections =
      *rc::gen::element<uint32_t>(0, 0, std::min(2u, c.max_connections), c.max_connections);
  c.max_outbound_connections = *rc::gen::element<uint32_t>(0, 0, 1, c.max_connections);
  c.reject_outbound_over_max = *rc::gen::arbitrary<bool>();
  c.max_connections_per_peer = *rc::gen::inRange<uint32_t>(1, 4);
  c.max_incoming_pending_connections = *rc::gen::inRange<uint32_t>(1, 6);
  c.inbound_upgrade_timeout = Duration::Milliseconds(*rc::gen::inRange<int64_t>(1, 20'000));
  c.connection_close_timeout = Duration::Milliseconds(*rc::gen::inRange<int64_t>(1, 3'000));
  c.grace_period = Duration::Milliseconds(*rc::gen::element<int64_t>(0, 0, 500, 5'000));
  c.silence_period = Duration::Milliseconds(*rc::gen::element<int64_t>(0, 0, 300, 4'000));
  if (*rc::gen::inRange(0, 4) == 0) c.allow_list = {IpPrefix::Parse("10.0.0.0/8").value()};
  if (*rc::gen::inRange(0, 4) == 0) c.deny_list = {IpPrefix::Parse("1.2.3.9").value()};
  c.allow_only_mode = *rc::gen::inRange(0, 8) == 0;
  c.close_newly_denied_connections = *rc::gen::inRange(0, 4) != 0;
  c.max_list_entries = *rc::gen::element<uint32_t>(3, 1'000);
  c.inbound_rate_per_ip = *rc::gen::element(RateLimit{5, Duration::Seconds(1), 5},
                                            RateLimit{1, Duration::Seconds(2), 2}, RateLimit{});
  c.inbound_rate_per_ipv6_56 =
      *rc::gen::element(RateLimit{}, RateLimit{1, Duration::Seconds(1), 1});
  c.inbound_rate_global = *rc::gen::element(RateLimit{}, RateLimit{3, Duration::Seconds(1), 3});
  c.max_connections_per_ipv4_32 = *rc::gen::element<uint32_t>(8, 1, 2, 0);
  c.max_connections_per_ipv6_56 = *rc::gen::element<uint32_t>(8, 1);
  c.max_connections_per_ipv6_48 = *rc::gen::element<uint32_t>(64, 1);
  c.delayed_reject = Duration::Milliseconds(*rc::gen::element<int64_t>(0, 500));
  c.diversity_protected_connections =
      std::min(c.effective_low_watermark(), *rc::gen::element<uint32_t>(0, 0, 1, 2, 3));
  c.random_seed = *rc::gen::arbitrary<uint64_t>();
  c.pending_fair_share = *rc::gen::element(true, false);
  c.inbound_eviction = *rc::gen::element(false, true);
  c.inbound_eviction_rate = *rc::gen::element(RateLimit{1, Duration::Seconds(1), 5},
                                              RateLimit{1, Duration::Seconds(2), 1}, RateLimit{});
  if (*rc::gen::inRange(0, 3) == 0) {
    // Small resource scopes, consistent with the watermarks as Validate() requires.
    c.system_scope.connections =
        *rc::gen::element<uint64_t>(0, c.effective_high_watermark(), c.max_connections);
    c.system_scope.file_descriptors = *rc::gen::element<uint64_t>(0, 2, 6);
    c.transient_scope.connections_inbound = *rc::gen::element<uint64_t>(0, 1, 3);
    c.peer_scope.connections = *rc::gen::element<uint64_t>(0, c.max_connections_per_peer, 4);
    if (c.peer_scope.connections != 0 && c.peer_scope.connections < c.max_connections_per_peer) {
      c.peer_scope.connections = c.max_connections_per_peer;
    }
    c.peer_scope.connections_outbound = *rc::gen::element<uint64_t>(0, 1);
    if (c.peer_scope.connections == 0) c.peer_scope.connections_outbound = 0;
    c.system_scope.streams = *rc::gen::element<uint64_t>(0, 3, 8);
    c.peer_scope.streams_outbound = *rc::gen::element<uint64_t>(0, 1, 2);
    c.peer_scope.streams_inbound = *rc::gen::element<uint64_t>(0, 2);
    c.system_scope.memory_bytes = *rc::gen::element<uint64_t>(0, 4096, 100'000);
    c.transient_scope.memory_bytes = *rc::gen::element<uint64_t>(0, 2048);
    c.peer_scope.memory_bytes = *rc::gen::element<uint64_t>(0, 3000);
  }
  // A connection's memory budget; none when the tiny system budget could not hold one each.
  c.max_connection_send_bytes = *rc::gen::element<uint32_t>(1 << 20, 128 << 10);
  c.connection_memory_bytes =
      c.system_scope.memory_bytes != 0
          ? 0
          : *rc::gen::element<uint64_t>(4 << 20, c.max_connection_send_bytes + (384 << 10), 0);
  c.max_streams_per_connection = *rc::gen::element<uint32_t>(0, 1, 2, 3, 1024);
  c.stream_placement =
      *rc::gen::element(StreamPlacement::kRoundRobin, StreamPlacement::kLeastLoaded);
  c.dial_strategy = *rc::gen::element(DialStrategy::kSequential, DialStrategy::kRanked);
  c.max_parallel_dials = *rc::gen::inRange<uint32_t>(1, 4);
  c.max_dial_queue_length = c.max_parallel_dials + *rc::gen::element<uint32_t>(0, 2, 500);
  c.max_outbound_pending_connections = *rc::gen::element<uint32_t>(1, 2, 100);
  c.max_peer_addrs_to_dial = *rc::gen::element<uint32_t>(2, 25);
  c.dial_timeout = Duration::Milliseconds(*rc::gen::element<int64_t>(10'000, 1'500));
  c.address_dial_timeout =
      std::min(c.dial_timeout, Duration::Milliseconds(*rc::gen::element<int64_t>(6'000, 400)));
  c.black_hole_detection = false;
  // Short backoffs half the time, so redials after the third failure in a row (where a linear
  // and a quadratic formula first differ) fall inside the small clock steps.
  if (*rc::gen::arbitrary<bool>()) {
    c.dial_backoff_base = Duration::Milliseconds(200);
    c.dial_backoff_step = Duration::Milliseconds(300);
    c.dial_backoff_max = Duration::Seconds(*rc::gen::element<int64_t>(4, 300));
  }
  c.reconnect_retries = *rc::gen::element<uint32_t>(5, 2, 0);
  c.reconnect_jitter_percent = *rc::gen::element<uint32_t>(10, 0);
  c.max_parallel_reconnects =
      *rc::gen::element<uint32_t>(5, 1);  // not modelled (core/black_hole_test.cc)
  // Shallow dnsaddr chains, tiny caches, TTLs capped within the clock's small steps.
  c.dnsaddr_max_depth = *rc::gen::element<uint32_t>(32, 1, 2, 3);
  c.dns_cache_max_entries = *rc::gen::element<uint32_t>(1'000, 1, 2);
  c.dns_negative_ttl = Duration::Milliseconds(*rc::gen::element<int64_t>(10'000, 0, 700));
  c.dns_max_ttl = *rc::gen::element(Duration::Minutes(60), Duration::Seconds(3));
  RC_ASSERT(c.Validate().ok());
  return c;
}

RC_GTEST_PROP(CoreStateMachineTest, MatchesReferenceAndKeepsInvariants, ()) {
  const Config config = SmallConfig();
  Model model(config);
  Sut sut(config);
  if (*rc::gen::arbitrary<bool>()) {
    // Start half the runs with a decaying tag registered, so bumps and decay reach pruning.
    const Input registration = RegisterDecayingTag{"recent", Duration::Seconds(1),
                                                   DecayPolicy::Linear(50), BumpPolicy::Sum()};
    std::vector<Output> ignored;
    ConnectionId id;
    model.reference.Handle(model.now, registration, &ignored, &id);
    // Through the invariant checker too, so that it sees every instant the core saw.
    sut.checker.Before(*sut.core);
    std::vector<Output> outputs;
    const absl::StatusOr<ConnectionId> r =
        sut.writer.Handle(*sut.core, model.now, registration, &outputs);
    RC_ASSERT(r.ok());
    RC_ASSERT(sut.checker.Check(*sut.core, model.now, registration, r, outputs).ok());
  }
  rc::state::check(
      model, sut,
      rc::state::gen::execOneOfWithArgs<
          Inbound, Outbound, Upgrade, CloseByTransport, CloseByRequest, OpenStream, CloseStream,
          Timer, AdvanceTime, SetTag, RemoveTag, Protect, Unprotect, RegisterDecaying, Bump,
          AddToTag, Place, Reserve, Release, Secure, ChangeList, Dial, Dial, Cancel, AttemptResult,
          AttemptResult, SetAddresses, SetAddresses, TrimNow, AnswerDns, AnswerDns, FailDns>());
}

// Dialing alone: the same comparison with only the dial, DNS, reconnect and clock commands, so
// failures in a row, backoffs and reconnect waits build up within one case.
// One case in three runs, to keep the test within ~1.5x its former time.
RC_GTEST_PROP(CoreStateMachineTest, DialingMatchesReference, ()) {
  if (*rc::gen::inRange(0, 3) != 0) return;
  const Config config = SmallConfig();
  Model model(config);
  Sut sut(config);
  rc::state::check(
      model, sut,
      rc::state::gen::execOneOfWithArgs<Dial, Dial, Cancel, AttemptResult, AttemptResult,
                                        AttemptResult, SetAddresses, SetTag, Timer, AdvanceTime,
                                        AnswerDns, AnswerDns, FailDns>());
}

}  // namespace
}  // namespace connmgr
