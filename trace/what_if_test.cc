#include "trace/what_if.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "trace/trace_format.h"

namespace connmgr {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

PeerId Peer(int i) {
  std::string multihash = {'\x12', '\x20'};
  multihash.append(31, 'p');
  multihash.push_back(static_cast<char>(i));
  return PeerId::FromBytes(multihash).value();
}

Multiaddr Addr(const std::string& ip, int port = 4001) {
  return Multiaddr::Parse(absl::StrCat("/ip4/", ip, "/tcp/", port)).value();
}

Instant Ms(int64_t ms) { return Instant::FromNanoseconds(ms * 1'000'000); }

// A trace as a recorder writes it: header, then each input with what the core produced.
class Recorder {
 public:
  explicit Recorder(const Config& config)
      : core_(Core::Create(config).value()),
        writer_(config, [this](absl::string_view line) { absl::StrAppend(&text_, line, "\n"); }) {}
  uint64_t Handle(Instant at, const Input& input) {
    absl::StatusOr<ConnectionId> id = writer_.Handle(*core_, at, input);
    return id.ok() ? id->value : 0;
  }
  // An inbound connection from `ip` that completes its upgrade as peer `peer`.
  uint64_t Connect(Instant at, const std::string& ip, int peer) {
    const uint64_t id = Handle(at, InboundConnection{Addr(ip, 1000 + peer), Addr("192.0.2.1")});
    Handle(at, ConnectionUpgraded{ConnectionId{id}, Peer(peer)});
    return id;
  }
  const std::string& text() const { return text_; }
  Core& core() { return *core_; }

 private:
  std::unique_ptr<Core> core_;
  std::string text_;
  TraceWriter writer_;
};

WhatIfReport WhatIf(const std::string& trace, const Config& what_if, WhatIfOptions options = {}) {
  std::istringstream in(trace);
  absl::StatusOr<WhatIfReport> r = RunWhatIf(in, what_if, options);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : WhatIfReport{};
}

TEST(WhatIfTest, TheSameConfigGivesNoDifferenceOnEveryExample) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator("examples")) {
    if (e.path().extension() == ".jsonl") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 5u);
  for (const auto& path : files) {
    std::ifstream in(path);
    std::string header;
    std::getline(in, header);
    const Config recorded = DecodeTraceHeader(header).value();
    in.seekg(0);
    absl::StatusOr<WhatIfReport> r = RunWhatIf(in, recorded, {});
    ASSERT_TRUE(r.ok()) << path << ": " << r.status();
    EXPECT_EQ(r->divergent_steps, 0u) << path << "\n" << FormatWhatIf(*r);
    EXPECT_EQ(r->dropped_inputs, 0u) << path;
    EXPECT_EQ(r->unrecorded_dials, 0u) << path;
    EXPECT_GT(r->inputs, 0u) << path;
    EXPECT_EQ(r->recorded.metrics.counters, r->what_if.metrics.counters) << path;
    EXPECT_EQ(r->recorded.errors, r->what_if.errors) << path;
    EXPECT_THAT(FormatWhatIf(*r), HasSubstr("(the configs are the same)"));
  }
}

// Recorded with room for 10; the what-if node trims above 4 down to 3. By hand: the fifth
// connection to open makes 5 > 4, so the trim closes two, newest first (all idle, value 0,
// inbound): connections 5 and 4. The sixth makes 4: no trim. Later inputs about 4 and 5 are
// dropped; the rest apply.
TEST(WhatIfTest, ALowerWatermarkGivesExactlyThePrunesComputedByHand) {
  Config recorded;
  recorded.max_connections = 10;
  Recorder rec(recorded);
  for (int i = 1; i <= 6; ++i) {
    rec.Connect(Ms(int64_t{100} * i), absl::StrCat("203.0.113.", i), i);
  }
  rec.Handle(Ms(700), StreamOpened{ConnectionId{4}, 1, "/chat/1", Direction::kInbound});
  rec.Handle(Ms(800), TransportClosed{ConnectionId{5}});
  rec.Handle(Ms(900), TransportClosed{ConnectionId{2}});

  Config lower = recorded;
  lower.high_watermark = 4;
  lower.low_watermark = 3;
  WhatIfReport r = WhatIf(rec.text(), lower);
  EXPECT_EQ(r.recorded.metrics.counter(Counter::kPruned), 0u);
  EXPECT_EQ(r.what_if.metrics.counter(Counter::kPruned), 2u);
  EXPECT_EQ(r.what_if.metrics.counter(Counter::kTrims), 1u);
  EXPECT_EQ(r.inputs, 15u);
  EXPECT_EQ(r.dropped_inputs, 2u);  // the stream on 4 and the close of 5
  EXPECT_EQ(r.what_if.errors, 0u);
  EXPECT_EQ(r.recorded.metrics.peers, 4u);  // 6 connected, 5 and 2 closed
  EXPECT_EQ(r.what_if.metrics.peers, 3u);   // 4 and 5 pruned, 2 closed
  ASSERT_EQ(r.divergent_steps, 1u);
  ASSERT_EQ(r.divergences.size(), 1u);
  EXPECT_EQ(r.divergences[0].input, "connection_upgraded");
  EXPECT_THAT(r.divergences[0].recorded, ElementsAre());
  EXPECT_THAT(r.divergences[0].what_if,
              ElementsAre("connections_pruned conns=5,4", "close_connection conn=5 reason=pruned",
                          "close_connection conn=4 reason=pruned"));
}

TEST(WhatIfTest, ARefusedConnectionsLaterInputsAreDroppedNotErrors) {
  Config recorded;
  Recorder rec(recorded);
  rec.Connect(Ms(1), "198.51.100.7", 1);
  rec.Connect(Ms(2), "203.0.113.9", 2);
  rec.Handle(Ms(3), StreamOpened{ConnectionId{1}, 1, "/chat/1", Direction::kInbound});
  rec.Handle(Ms(4), StreamClosed{ConnectionId{1}, 1, "/chat/1", Direction::kInbound});
  rec.Handle(Ms(5), TransportClosed{ConnectionId{1}});

  Config deny = recorded;
  deny.deny_list = {IpPrefix::Parse("198.51.100.0/24").value()};
  WhatIfReport r = WhatIf(rec.text(), deny);
  EXPECT_EQ(r.what_if.errors, 0u);
  EXPECT_EQ(r.dropped_inputs, 4u);  // upgraded, stream opened, stream closed, closed
  EXPECT_EQ(r.what_if.metrics.rejected(RejectReason::kDenied), 1u);
  EXPECT_EQ(r.recorded.metrics.rejected(RejectReason::kDenied), 0u);
  EXPECT_EQ(r.what_if.metrics.counter(Counter::kConnectionsOpened), 1u);
  ASSERT_EQ(r.divergent_steps, 1u);
  EXPECT_THAT(r.divergences[0].recorded, ElementsAre("accept_connection conn=1"));
  EXPECT_THAT(r.divergences[0].what_if, ElementsAre("reject_connection conn=1 reason=denied"));
}

// The recording denied the address, so it never dialled; the what-if core dials, and that dial
// is answered as failed ("not recorded"), or as succeeded when asked to assume so.
TEST(WhatIfTest, UnrecordedDialsFailOrSucceedAsAsked) {
  Config recorded;
  recorded.deny_list = {IpPrefix::Parse("203.0.113.0/24").value()};
  Recorder rec(recorded);
  rec.Handle(Ms(1), DialRequest{7, Peer(1), {Addr("203.0.113.5")}, 50, false, Duration::Zero()});
  Config open;
  WhatIfReport failed = WhatIf(rec.text(), open);
  EXPECT_EQ(failed.unrecorded_dials, 1u);
  EXPECT_EQ(failed.what_if.metrics.dials(DialOutcome::kFailed), 1u);
  EXPECT_EQ(failed.recorded.metrics.dials(DialOutcome::kDenied), 1u);
  WhatIfReport succeeded = WhatIf(rec.text(), open, {.assume_dials_succeed = true});
  EXPECT_EQ(succeeded.unrecorded_dials, 1u);
  EXPECT_EQ(succeeded.what_if.metrics.dials(DialOutcome::kConnected), 1u);
  EXPECT_EQ(succeeded.what_if.metrics.peers, 1u);
}

// A recorded prune the what-if config avoids: the recorded transport_closed that completed it
// is not handed to the what-if core, so the keep-alive peer stays connected there.
TEST(WhatIfTest, ARaisedLimitKeepsThePeersTheRecordingPruned) {
  Config recorded;
  recorded.max_connections = 3;
  recorded.high_watermark = 2;
  recorded.low_watermark = 2;
  Recorder rec(recorded);
  rec.Handle(Ms(0), SetPeerTag{Peer(1), "keep-alive-app", 0});
  rec.Connect(Ms(1), "203.0.113.1", 2);
  rec.Connect(Ms(2), "203.0.113.2", 3);
  rec.Connect(Ms(3), "203.0.113.3", 1);  // the trim closes the newest: the keep-alive peer
  rec.Handle(Ms(4), TransportClosed{ConnectionId{3}});
  Config raised = recorded;
  raised.max_connections = 500;
  raised.high_watermark = 0;
  raised.low_watermark = 0;
  WhatIfReport r = WhatIf(rec.text(), raised);
  EXPECT_EQ(r.recorded.keep_alive_pruned, 1u);
  EXPECT_EQ(r.what_if.keep_alive_pruned, 0u);
  EXPECT_EQ(r.recorded.metrics.peers, 2u);
  EXPECT_EQ(r.what_if.metrics.peers, 3u);
  EXPECT_EQ(r.dropped_inputs, 1u);
  EXPECT_EQ(r.what_if.errors, 0u);
  const std::string text = FormatWhatIf(r);
  EXPECT_THAT(text, HasSubstr("max_connections: 3 -> 500"));
  EXPECT_THAT(text, HasSubstr("of keep-alive peers"));
  const nlohmann::ordered_json j = WhatIfToJson(r);
  EXPECT_EQ(j["divergent_steps"], r.divergent_steps);
  EXPECT_EQ(j["dropped_inputs"], 1u);
}

TEST(WhatIfTest, UpdateConfigAppliesWhatItChangesToTheOtherConfig) {
  Config recorded;
  recorded.max_connections = 100;
  Recorder rec(recorded);
  Config update = recorded;
  update.max_connections = 1;
  for (int i = 1; i <= 3; ++i) rec.Connect(Ms(i), absl::StrCat("203.0.113.", i), i);
  rec.Handle(Ms(10), UpdateConfig{update});
  Config other = recorded;
  other.inbound_rate_per_ip = {9, Duration::Seconds(1), 9};
  WhatIfReport r = WhatIf(rec.text(), other);
  EXPECT_EQ(r.what_if.errors, 0u);
  EXPECT_EQ(r.what_if.metrics.counter(Counter::kConfigUpdates), 1u);
  EXPECT_EQ(r.what_if.metrics.counter(Counter::kPruned), 2u);
  EXPECT_EQ(r.divergent_steps, 0u);
}

// The two questions of docs/trace-format.md, on the example traces.
TEST(WhatIfTest, ExamplesAnswerTheDocumentedQuestions) {
  std::ifstream keep_alive_trace("examples/what-if-keep-alive.jsonl");
  Config max500;
  max500.max_connections = 500;
  absl::StatusOr<WhatIfReport> r = RunWhatIf(keep_alive_trace, max500, {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->recorded.metrics.counter(Counter::kPruned), 6u);
  EXPECT_EQ(r->recorded.keep_alive_pruned, 3u);
  EXPECT_EQ(r->what_if.metrics.counter(Counter::kPruned), 0u);
  EXPECT_EQ(r->what_if.metrics.peers, 12u);
  EXPECT_EQ(r->divergent_steps, 2u);

  absl::StatusOr<std::string> flood = WhatIfFromFiles(
      "examples/what-if-deny.json", "examples/what-if-flood.jsonl", {}, /*json=*/true);
  ASSERT_TRUE(flood.ok()) << flood.status();
  const nlohmann::json j = nlohmann::json::parse(*flood);
  EXPECT_EQ(j["divergent_steps"], 71);
  EXPECT_EQ(j["dropped_inputs"], 115);
  bool saw_denied = false;
  for (const auto& row : j["summary"]) {
    if (row["figure"] == "rejected: denied") {
      saw_denied = true;
      EXPECT_EQ(row["recorded"], 0);
      EXPECT_EQ(row["what_if"], 60);
    }
    if (row["figure"] == "connections pruned") {
      EXPECT_EQ(row["recorded"], 55);
      EXPECT_EQ(row["what_if"], 0);
    }
  }
  EXPECT_TRUE(saw_denied);
  EXPECT_THAT(WhatIfFromFiles("examples/none.json", "examples/what-if-flood.jsonl", {}, false)
                  .status()
                  .message(),
              HasSubstr("examples/none.json"));
}

TEST(WhatIfTest, ErrorsNameTheLine) {
  Config c;
  std::istringstream none("");
  EXPECT_THAT(RunWhatIf(none, c, {}).status().message(), HasSubstr("no trace header"));
  std::istringstream bad(EncodeTraceHeader(c) + "\n{\"t\":0,\"in\":\"nonsense\"}\n");
  EXPECT_THAT(RunWhatIf(bad, c, {}).status().message(), HasSubstr("line 2"));
  Config invalid;
  invalid.max_connections = 0;
  std::istringstream ok(EncodeTraceHeader(c) + "\n");
  EXPECT_THAT(RunWhatIf(ok, invalid, {}).status().message(), HasSubstr("what-if config"));
}

}  // namespace
}  // namespace connmgr
