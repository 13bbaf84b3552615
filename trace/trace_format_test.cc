#include "trace/trace_format.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr {
namespace {

Multiaddr Addr(absl::string_view text) { return Multiaddr::Parse(text).value(); }
PeerId Peer(absl::string_view text) { return PeerId::Parse(text).value(); }
Instant At(int64_t ms) { return Instant::FromNanoseconds(ms * 1'000'000); }

const PeerId kAlice = Peer("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N");

std::vector<Input> EveryInputKind() {
  return {
      InboundConnection{Addr("/ip4/1.2.3.4/tcp/4001"), Addr("/ip4/10.0.0.1/tcp/4001")},
      OutboundConnection{Addr("/ip6/::1/udp/4001/quic-v1"), Addr("/ip6/::1/udp/9/quic-v1"), kAlice},
      ConnectionUpgraded{ConnectionId{1}, kAlice},
      TransportClosed{ConnectionId{2}},
      CloseRequest{ConnectionId{3}},
      StreamOpened{ConnectionId{4}, 1, "/ipfs/ping/1.0.0", Direction::kOutbound},
      StreamClosed{ConnectionId{4}, 1, "/ipfs/ping/1.0.0", Direction::kInbound},
      TimerExpired{},
      SetPeerTag{kAlice, "score", -42},
      RemovePeerTag{kAlice, "score"},
      ProtectPeer{kAlice, "bootstrap"},
      UnprotectPeer{kAlice, "bootstrap"},
      RegisterDecayingTag{"recent", Duration::Seconds(10), DecayPolicy::Linear(50),
                          BumpPolicy::SumBounded(-5, 100)},
      BumpPeerTag{kAlice, "recent", 7},
      AddToPeerTag{kAlice, "score", -3},
      PlaceStream{kAlice},
      ReserveMemory{ConnectionId{4}, 1 << 20, 127},
      ReleaseMemory{ConnectionId{}, 4096},
      ConnectionSecured{ConnectionId{5}, kAlice},
      DenyAddress{IpPrefix::Parse("10.0.0.0/8").value()},
      UndenyAddress{IpPrefix::Parse("2001:db8::/32").value()},
      AllowAddress{IpPrefix::Parse("1.2.3.4").value()},
      UnallowAddress{IpPrefix::Parse("::1").value()},
      DenyPeer{kAlice},
      UndenyPeer{kAlice},
      DialRequest{7,
                  kAlice,
                  {Addr("/ip4/1.2.3.4/tcp/1"), Addr("/dnsaddr/boot.example")},
                  75,
                  true,
                  Duration::Seconds(3)},
      CancelDial{7},
      DialSucceeded{ConnectionId{8}},
      DialFailed{ConnectionId{9}, "connection refused"},
      DnsAnswered{3, {"dnsaddr=/ip4/1.2.3.4/tcp/1", "x"}, Duration::Seconds(60)},
      DnsFailed{4, "SERVFAIL"},
      SetPeerAddresses{kAlice, {Addr("/ip4/1.2.3.4/tcp/1")}},
      UpdateConfig{[] {
        Config c;
        c.max_connections = 100;
        c.high_watermark = 200;  // invalid: a refused update must still round-trip
        return c;
      }()},
      TrimOpenConnections{},
  };
}

TEST(TraceFormatTest, EveryInputKindRoundTrips) {
  std::vector<Input> inputs = EveryInputKind();
  ASSERT_EQ(inputs.size(), std::variant_size_v<Input>);
  for (const Input& input : inputs) {
    const std::string line = EncodeTraceInput(At(5), input);
    absl::StatusOr<TraceEntry> entry = DecodeTraceEntry(line);
    ASSERT_TRUE(entry.ok()) << line << ": " << entry.status();
    EXPECT_EQ(entry->at, At(5));
    ASSERT_TRUE(entry->input.has_value());
    EXPECT_EQ(*entry->input, input) << line;
    EXPECT_EQ(EncodeTraceInput(At(5), *entry->input), line);
  }
}

TEST(TraceFormatTest, EmptyValuesOfRefusedInputsRoundTrip) {
  for (const Input& input :
       {Input(InboundConnection{Multiaddr(), Multiaddr()}),
        Input(OutboundConnection{Addr("/ip4/1.2.3.4/tcp/1"), Multiaddr(), PeerId()}),
        Input(ConnectionUpgraded{ConnectionId{1}, PeerId()}),
        Input(StreamOpened{ConnectionId{1}, 1, "", Direction::kInbound})}) {
    const std::string line = EncodeTraceInput(At(1), input);
    absl::StatusOr<TraceEntry> entry = DecodeTraceEntry(line);
    ASSERT_TRUE(entry.ok()) << line << ": " << entry.status();
    EXPECT_EQ(*entry->input, input) << line;
  }
}

TEST(TraceFormatTest, LinesHaveTheDocumentedShape) {
  EXPECT_EQ(EncodeTraceInput(At(1), InboundConnection{Addr("/ip4/1.2.3.4/tcp/5"),
                                                      Addr("/ip4/10.0.0.1/tcp/4001")}),
            R"({"t":1000000,"in":"inbound_connection","remote":"/ip4/1.2.3.4/tcp/5",)"
            R"("local":"/ip4/10.0.0.1/tcp/4001"})");
  EXPECT_EQ(
      EncodeTraceOutput(At(1), RejectConnection{ConnectionId{7}, RejectReason::kPendingLimit}),
      R"({"t":1000000,"out":"reject_connection","conn":7,"reason":"pending_limit"})");
  EXPECT_EQ(
      EncodeTraceOutput(At(2), ConnectionOpened{ConnectionId{1}, kAlice, Direction::kInbound}),
      R"({"t":2000000,"out":"connection_opened","conn":1,)"
      R"("peer":"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N","direction":"inbound"})");
  EXPECT_EQ(EncodeTraceError(At(3), absl::NotFoundError("close_request: no connection 9")),
            R"({"t":3000000,"error":"NOT_FOUND: close_request: no connection 9"})");
  EXPECT_EQ(EncodeTraceInput(At(4), TimerExpired{}), R"({"t":4000000,"in":"timer_expired"})");
  EXPECT_EQ(
      EncodeTraceOutput(
          At(5), ConnectionsPruned{4, 2, {PrunedConnection{ConnectionId{3}, kAlice, -1, 2, true}}}),
      R"({"t":5000000,"out":"connections_pruned","open":4,"target":2,"pruned":[{"conn":3,)"
      R"("peer":"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N","peer_value":-1,)"
      R"("streams":2,"busy":true}]})");
  EXPECT_EQ(
      EncodeTraceInput(At(6), SetPeerTag{kAlice, "keep-alive", 1}),
      R"({"t":6000000,"in":"set_peer_tag","peer":"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",)"
      R"("tag":"keep-alive","value":1})");
  EXPECT_EQ(
      EncodeTraceOutput(At(7),
                        ResetStream{ConnectionId{2}, 1, "/ipfs/ping/1.0.0", Direction::kInbound,
                                    StreamRejectReason::kConnectionStreamLimit}),
      R"({"t":7000000,"out":"reset_stream","conn":2,"stream":1,"protocol":"/ipfs/ping/1.0.0",)"
      R"("direction":"inbound","reason":"connection_stream_limit"})");
  EXPECT_EQ(EncodeTraceOutput(
                At(8), StreamPlaced{kAlice, ConnectionId{}, PlacementOutcome::kNotConnected}),
            R"({"t":8000000,"out":"stream_placed",)"
            R"("peer":"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N","conn":0,)"
            R"("outcome":"not_connected"})");
  EXPECT_EQ(EncodeTraceOutput(At(9), MemoryReservation{ConnectionId{3}, 4096, false}),
            R"({"t":9000000,"out":"memory_reservation","conn":3,"bytes":4096,"granted":false})");
  EXPECT_EQ(EncodeTraceInput(At(10), ReserveMemory{ConnectionId{3}, 4096, 200}),
            R"({"t":10000000,"in":"reserve_memory","conn":3,"bytes":4096,"priority":200})");
}

TEST(TraceFormatTest, OutputAndErrorLinesDecodeWithoutInput) {
  absl::StatusOr<TraceEntry> out =
      DecodeTraceEntry(R"({"t":9,"out":"accept_connection","conn":1})");
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out->input.has_value());
  absl::StatusOr<TraceEntry> err = DecodeTraceEntry(R"({"t":9,"error":"NOT_FOUND: x"})");
  ASSERT_TRUE(err.ok());
  EXPECT_FALSE(err->input.has_value());
}

struct BadLine {
  std::string line;
  std::string message;
};

class TraceLineErrorTest : public testing::TestWithParam<BadLine> {};

TEST_P(TraceLineErrorTest, NamesTheProblem) {
  absl::StatusOr<TraceEntry> entry = DecodeTraceEntry(GetParam().line);
  EXPECT_EQ(entry.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(entry.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, TraceLineErrorTest,
    testing::Values(
        BadLine{"not json", "not valid JSON"}, BadLine{"[]", "expected a JSON object"},
        BadLine{R"({"in":"timer_expired"})", "\"t\" is missing"},
        BadLine{R"({"t":"soon","in":"timer_expired"})",
                "\"t\": expected an integer count of nanoseconds"},
        BadLine{R"({"t":1})", "expected \"in\", \"out\" or \"error\""},
        BadLine{R"({"t":1,"in":"teleport"})", "unknown input kind \"teleport\""},
        BadLine{R"({"t":1,"in":"transport_closed"})", "transport_closed: \"conn\": missing"},
        BadLine{R"({"t":1,"in":"transport_closed","conn":-1})",
                "transport_closed: \"conn\": expected a positive integer"},
        BadLine{R"({"t":1,"in":"transport_closed","conn":1,"reason":"x"})",
                "transport_closed: \"reason\": unknown close reason"},
        BadLine{R"({"t":1,"in":"transport_closed","conn":1,"cause":"x"})",
                "transport_closed: unknown field \"cause\""},
        BadLine{R"({"t":1,"in":"set_peer_tag","peer":"","tag":"x","value":1.5})",
                "set_peer_tag: \"value\": expected an integer"},
        BadLine{R"({"t":1,"in":"set_peer_tag","peer":"","tag":"x","value":9223372036854775808})",
                "set_peer_tag: \"value\": out of range"},
        BadLine{R"({"t":1,"in":"stream_opened","conn":1,"protocol":"/p","direction":"inbound"})",
                "stream_opened: \"stream\": missing"},
        BadLine{
            R"({"t":1,"in":"stream_opened","conn":1,"stream":3,"protocol":"/p","direction":"up"})",
            "stream_opened: \"direction\": expected \"inbound\" or \"outbound\""},
        BadLine{R"({"t":1,"in":"connection_upgraded","conn":1,"peer":"nobody"})",
                "connection_upgraded: \"peer\": " +
                    std::string(PeerId::Parse("nobody").status().message())},
        BadLine{
            R"({"t":1,"in":"inbound_connection","remote":"/ip4/1.2.3/tcp/1","local":"/ip4/1.2.3.4/tcp/1"})",
            "inbound_connection: \"remote\": " +
                std::string(Multiaddr::Parse("/ip4/1.2.3/tcp/1").status().message())}));

TEST(TraceHeaderTest, RejectsWrongVersionAndMissingConfig) {
  EXPECT_EQ(DecodeTraceHeader(R"({"connmgr_trace":4,"config":{}})").status().message(),
            "trace version 4 is not supported (this build reads 1 to 3)");
  EXPECT_EQ(DecodeTraceHeader(R"({"connmgr_trace":0,"config":{}})").status().message(),
            "trace version 0 is not supported (this build reads 1 to 3)");
  int version = 0;
  ASSERT_TRUE(DecodeTraceHeader(R"({"connmgr_trace":1,"config":{}})", &version).ok());
  EXPECT_EQ(version, 1);
  EXPECT_EQ(DecodeTraceHeader(R"({"connmgr_trace":1})").status().message(),
            "header: \"config\" is missing");
  EXPECT_EQ(DecodeTraceHeader(R"({"t":1,"in":"timer_expired"})").status().message(),
            "not a trace header: the first line must hold \"connmgr_trace\" and \"config\"");
  EXPECT_EQ(
      DecodeTraceHeader(R"({"connmgr_trace":1,"config":{"max_connections":0}})").status().message(),
      "config: max_connections: must be at least 1");
}

TEST(TraceVersionTest, VersionThreeFieldsAreRefusedInOlderTraces) {
  const std::string close = R"({"t":1,"in":"transport_closed","conn":1,"reason":"slow_reader"})";
  absl::StatusOr<TraceEntry> v3 = DecodeTraceEntry(close, 3);
  ASSERT_TRUE(v3.ok()) << v3.status();
  EXPECT_EQ(v3->input, Input(TransportClosed{ConnectionId{1}, CloseReason::kSlowReader}));
  EXPECT_EQ(DecodeTraceEntry(close, 2).status().message(),
            "transport_closed: unknown field \"reason\"");
  const std::string dial =
      R"({"t":1,"in":"dial_request","request":1,"peer":"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N",)"
      R"("addresses":["/ip4/1.2.3.4/tcp/1"],"priority":50,"force":false,"timeout":"0",)"
      R"("certified":["/ip4/1.2.3.4/tcp/1"]})";
  absl::StatusOr<TraceEntry> with_certified = DecodeTraceEntry(dial, 3);
  ASSERT_TRUE(with_certified.ok()) << with_certified.status();
  ASSERT_TRUE(with_certified->input.has_value());
  EXPECT_EQ(std::get<DialRequest>(*with_certified->input).certified,
            std::vector<Multiaddr>{Addr("/ip4/1.2.3.4/tcp/1")});
  EXPECT_EQ(DecodeTraceEntry(dial, 2).status().message(),
            "dial_request: unknown field \"certified\"");
  // Written back, a plain transport close and a dial without certified addresses leave the
  // fields out, so they read the same in every version.
  EXPECT_EQ(EncodeTraceInput(Instant::FromNanoseconds(1), TransportClosed{ConnectionId{1}}),
            R"({"t":1,"in":"transport_closed","conn":1})");
}

// Drives a core through a scripted run, recording it.
std::string RecordScriptedRun() {
  Config config;
  config.max_incoming_pending_connections = 2;
  std::unique_ptr<Core> core = Core::Create(config).value();
  std::string trace;
  TraceWriter writer(config, [&](absl::string_view line) { absl::StrAppend(&trace, line, "\n"); });
  const Multiaddr local = Addr("/ip4/10.0.0.1/tcp/4001");
  auto handle = [&](int64_t ms, const Input& input) { (void)writer.Handle(*core, At(ms), input); };
  handle(0, InboundConnection{Addr("/ip4/1.2.3.4/tcp/1"), local});
  handle(1, InboundConnection{Addr("/ip4/1.2.3.5/tcp/1"), local});
  handle(2, InboundConnection{Addr("/ip4/1.2.3.6/tcp/1"), local});  // over the pending limit
  handle(3, ConnectionUpgraded{ConnectionId{1}, kAlice});
  handle(4, StreamOpened{ConnectionId{1}, 1, "/ipfs/id/1.0.0", Direction::kInbound});
  handle(5, StreamClosed{ConnectionId{1}, 1, "/nope", Direction::kInbound});  // an error line
  handle(10'001, TimerExpired{});  // connection 2's upgrade deadline
  handle(11'001, TimerExpired{});  // its close deadline: abort
  handle(12'000, CloseRequest{ConnectionId{1}});
  handle(11'000, TransportClosed{ConnectionId{1}});  // clock stepped back
  return trace;
}

std::string Replay(const std::string& trace) {
  std::string out;
  TraceReplayer replayer([&](absl::string_view line) { absl::StrAppend(&out, line, "\n"); });
  std::istringstream in(trace);
  absl::Status s = replayer.FeedStream(in);
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

TEST(TraceReplayTest, ReplayOfARecordedRunIsByteIdentical) {
  const std::string recorded = RecordScriptedRun();
  EXPECT_EQ(RecordScriptedRun(), recorded);  // the same run twice
  const std::string replayed = Replay(recorded);
  EXPECT_EQ(replayed, recorded);
  EXPECT_EQ(Replay(replayed), recorded);
  EXPECT_THAT(recorded,
              testing::HasSubstr(
                  R"({"t":2000000,"out":"reject_connection","conn":3,"reason":"pending_limit"})"));
  EXPECT_THAT(recorded,
              testing::HasSubstr(R"({"t":11001000000,"out":"abort_connection","conn":2})"));
  EXPECT_THAT(recorded, testing::HasSubstr(R"("error":"FAILED_PRECONDITION: stream_closed)"));
}

TEST(TraceReplayTest, InputsAloneReplayToTheFullTrace) {
  const std::string recorded = RecordScriptedRun();
  std::string inputs_only;
  std::istringstream in(recorded);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("\"out\":") == std::string::npos &&
        line.find("\"error\":") == std::string::npos) {
      absl::StrAppend(&inputs_only, line, "\n");
    }
  }
  EXPECT_EQ(Replay(inputs_only), recorded);
}

TEST(TraceReplayTest, ErrorsNameTheLine) {
  auto replay_error = [](const std::string& trace) {
    TraceReplayer replayer([](absl::string_view) {});
    std::istringstream in(trace);
    return std::string(replayer.FeedStream(in).message());
  };
  EXPECT_EQ(replay_error(""), "line 1: the trace is empty; it needs a header line");
  EXPECT_EQ(replay_error("{}\n"),
            "line 1: not a trace header: the first line must hold \"connmgr_trace\" and "
            "\"config\"");
  EXPECT_EQ(replay_error("{\"connmgr_trace\":1,\"config\":{}}\n{\"t\":1,\"in\":\"timer_expired\"}\n"
                         "{\"t\":2,\"in\":\"nap\"}\n"),
            "line 3: unknown input kind \"nap\"");
  EXPECT_EQ(replay_error("{\"connmgr_trace\":1,\"config\":{}}\n\n"), "line 2: not valid JSON");
  EXPECT_EQ(replay_error("{\"connmgr_trace\":1,\"config\":{}}\n" +
                         std::string(kMaxTraceLineBytes + 10, 'x') + "\n"),
            "line 2: longer than 1048576 bytes");
}

class ExampleTraceTest : public testing::TestWithParam<std::string> {};

TEST_P(ExampleTraceTest, ReplaysIdentically) {
  std::ifstream file(GetParam(), std::ios::binary);
  ASSERT_TRUE(file) << GetParam();
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(Replay(text.str()), text.str())
      << "regenerate with: ./bazelw run //trace:replay -- " << GetParam();
}

// The hand-written inputs of the examples are version 1 traces: replayed by this build, each
// gives its example (version 2) exactly — streams of a version 1 trace have id 0.
TEST_P(ExampleTraceTest, VersionOneInputReplaysToTheExample) {
  std::ifstream example(GetParam(), std::ios::binary);
  std::ifstream v1("examples/inputs/" + GetParam().substr(9), std::ios::binary);
  ASSERT_TRUE(example && v1) << GetParam();
  std::stringstream expected, input;
  expected << example.rdbuf();
  input << v1.rdbuf();
  ASSERT_TRUE(absl::StartsWith(input.str(), R"({"connmgr_trace":1,)"));
  EXPECT_EQ(Replay(input.str()), expected.str());
}

TEST(TraceVersionTest, VersionOneStreamsDecodeWithIdZeroAndRefuseAStreamField) {
  absl::StatusOr<TraceEntry> entry = DecodeTraceEntry(
      R"({"t":1,"in":"stream_closed","conn":2,"protocol":"/p","direction":"inbound"})", 1);
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(*entry->input, Input(StreamClosed{ConnectionId{2}, 0, "/p", Direction::kInbound}));
  EXPECT_EQ(
      DecodeTraceEntry(
          R"({"t":1,"in":"stream_closed","conn":2,"stream":1,"protocol":"/p","direction":"inbound"})",
          1)
          .status()
          .message(),
      "stream_closed: unknown field \"stream\"");
}

INSTANTIATE_TEST_SUITE_P(Examples, ExampleTraceTest,
                         testing::Values("examples/tour.jsonl", "examples/misuse.jsonl",
                                         "examples/streams.jsonl", "examples/dialing.jsonl",
                                         "examples/gating.jsonl", "examples/runtime.jsonl",
                                         "examples/reconnect.jsonl"),
                         [](const auto& info) {
                           std::string name = info.param.substr(9);
                           return name.substr(0, name.find('.'));
                         });

}  // namespace
}  // namespace connmgr
