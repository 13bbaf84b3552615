// What a js-libp2p 3.3.11 peer actually sent after the Noise handshake when connmgr dialled it
// (captured by //shell:interop_test's CapturesWhatAJsPeerSendsAfterTheHandshake into
// testdata/js_session_after_noise.bin): Yamux frames carrying multistream-select, identify and
// ping. Replayed into a client session that opened the same two streams connmgr opens (identify,
// then ping), it must decode without error, whole or a byte at a time.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "shell/mux/yamux.h"

namespace connmgr::mux {
namespace {

using Kind = YamuxEvent::Kind;

std::string Capture() {
  std::ifstream in("shell/mux/testdata/js_session_after_noise.bin", std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// (kind, stream) of each event, with the data of each stream concatenated.
struct Replay {
  std::vector<std::pair<Kind, uint32_t>> events;
  std::map<uint32_t, std::string> data;
};

Replay ReplayCapture(const std::string& capture, size_t chunk) {
  YamuxSession session = YamuxSession::Create(YamuxRole::kClient, YamuxLimits{}).value();
  EXPECT_EQ(session.OpenStream().value(), 1u);  // identify
  EXPECT_EQ(session.OpenStream().value(), 3u);  // ping
  Replay replay;
  Instant now = Instant::FromNanoseconds(0);
  for (size_t at = 0; at < capture.size(); at += chunk) {
    for (YamuxEvent& e : session.Feed(capture.substr(at, chunk), now)) {
      if (e.kind == Kind::kData) {
        replay.data[e.stream_id] += e.data;
        session.Consume(e.stream_id, e.data.size()).IgnoreError();
        if (!replay.events.empty() &&
            replay.events.back() == std::make_pair(Kind::kData, e.stream_id)) {
          continue;  // chunking splits data events; keep one per run
        }
      }
      replay.events.emplace_back(e.kind, e.stream_id);
    }
  }
  return replay;
}

TEST(JsCaptureTest, ACapturedJsSessionDecodes) {
  const std::string capture = Capture();
  ASSERT_GT(capture.size(), 100u) << "testdata missing";
  Replay whole = ReplayCapture(capture, capture.size());
  for (const auto& [kind, stream] : whole.events) {
    EXPECT_NE(kind, Kind::kSessionError) << "stream " << stream;
  }
  // js answered our identify (stream 1) with its identify message and ping (stream 3) with
  // multistream, and opened its own identify stream (2).
  EXPECT_TRUE(absl::StrContains(whole.data[1], "/multistream/1.0.0\n"));
  EXPECT_TRUE(absl::StrContains(whole.data[1], "js-libp2p/3.3.11"));
  EXPECT_TRUE(absl::StrContains(whole.data[3], "/ipfs/ping/1.0.0\n"));
  EXPECT_THAT(whole.events, ::testing::Contains(std::make_pair(Kind::kStreamOpened, 2u)));
  EXPECT_TRUE(absl::StrContains(whole.data[2], "/ipfs/id/1.0.0\n"));
  EXPECT_THAT(whole.events, ::testing::Contains(std::make_pair(Kind::kStreamHalfClosed, 1u)));
}

TEST(JsCaptureTest, AByteAtATimeGivesTheSameStreamsAndBytes) {
  const std::string capture = Capture();
  Replay whole = ReplayCapture(capture, capture.size());
  Replay bytewise = ReplayCapture(capture, 1);
  EXPECT_EQ(bytewise.data, whole.data);
  EXPECT_EQ(bytewise.events, whole.events);
}

}  // namespace
}  // namespace connmgr::mux
