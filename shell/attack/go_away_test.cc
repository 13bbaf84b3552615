// Attack 7 of issue 17: a Yamux protocol violation from an upgraded peer. The node must answer
// with a go-away frame carrying the protocol-error code, flushed before the socket shuts, and
// close the connection as protocol_error.
#include <chrono>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "shell/attack/attacker.h"
#include "shell/attack/node_under_attack.h"

namespace connmgr::shell::attack {
namespace {

using mux::FrameType;
using mux::GoAwayCode;

Deadline In(std::chrono::milliseconds d) { return std::chrono::steady_clock::now() + d; }

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  const Deadline deadline = In(limit);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

TEST(GoAwayTest, AYamuxViolationIsAnsweredWithAGoAwayBeforeTheSocketShuts) {
  NodeUnderAttack node{Config{}};
  // Several violations, each on a connection of its own.
  const std::vector<std::string> violations = {
      YamuxFrame(FrameType::kData, 0, 0, 0),                                // data on stream 0
      YamuxFrame(FrameType::kWindowUpdate, mux::kFlagSyn, 2, 0),            // the node's parity
      std::string("\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 12),  // version 1
  };
  for (size_t i = 0; i < violations.size(); ++i) {
    SCOPED_TRACE(i);
    AttackerOptions options;
    options.seed = static_cast<uint8_t>(10 + i);
    auto attacker = Attacker::Connect(node.address(), node.peer(), options);
    ASSERT_TRUE(attacker.ok()) << attacker.status();
    ASSERT_TRUE((*attacker)->Send(violations[i], In(std::chrono::seconds(2))));
    const AttackerRead read = (*attacker)->ReadUntilEnd(In(std::chrono::seconds(10)));
    ASSERT_TRUE(read.ended) << read.error;
    ASSERT_FALSE(read.frames.empty());
    // The node's own identify and ping streams may come first; the go-away comes last.
    const ReceivedFrame& last = read.frames.back();
    EXPECT_EQ(last.header.type, FrameType::kGoAway);
    EXPECT_EQ(last.header.stream_id, 0u);
    EXPECT_EQ(last.header.length, static_cast<uint32_t>(GoAwayCode::kProtocolError));
  }
  ASSERT_TRUE(
      WaitFor([&] { return node.closes().size() == violations.size(); }, std::chrono::seconds(10)));
  for (const auto& [id, reason] : node.closes()) {
    EXPECT_EQ(reason, CloseReason::kProtocolError) << "connection " << id;
  }
  // The operator is told why, one line per connection (well within the rate limit).
  const std::vector<std::string> log = node.log();
  ASSERT_EQ(log.size(), violations.size());
  for (const std::string& line : log) {
    EXPECT_TRUE(absl::StrContains(line, "protocol_error: yamux protocol error")) << line;
  }
}

}  // namespace
}  // namespace connmgr::shell::attack
