// What connmgr_node prints per event, exactly: a hostile agent version (forged lines, terminal
// escapes, 60 KB) arrives by identify over a real Noise + Yamux connection and is printed as
// one escaped, capped line.
#include "shell/event_lines.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "shell/host.h"
#include "shell/test_util.h"

namespace connmgr::shell {
namespace {

using testing_util::IdentityFrom;

// Newlines that would start forged lines, ANSI clear-screen and cursor-home, then 60 KiB.
std::string HostileAgent() {
  return "evil/1.0\nconnected 12D3KooWForgedPeer\n\x1b[2J\x1b[Hpruned 250 connections" +
         std::string(size_t{60} * 1024, 'A');
}

// The 67 bytes before the padding print as 75 characters; 53 of the padding fill the line to
// 128; the other 61 387 bytes are cut.
std::string HostileAgentPrinted() {
  return R"(evil/1.0\nconnected 12D3KooWForgedPeer\n\x1b[2J\x1b[Hpruned 250 connections)" +
         std::string(53, 'A') + "...[61387 more bytes]";
}

TEST(EventLinesTest, IdentifyPrintsTheAgentEscapedAndCapped) {
  const PeerId peer = IdentityFrom(1).peer_id();
  IdentifyInfo info;
  info.agent_version = HostileAgent();
  info.protocols = {"/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"};
  EXPECT_EQ(
      EventLine(IdentifyEvent{peer, info}),
      absl::StrCat("identify ", peer.ToString(), ": \"", HostileAgentPrinted(), "\", 2 protocols"));
}

TEST(EventLinesTest, AHostileAgentSentOverLibp2pIsPrintedAsOneEscapedLine) {
  boost::asio::io_context io;
  std::vector<std::string> printed;  // outlives the hosts, which print as they close
  auto make = [&io](uint8_t seed, std::string agent) {
    HostOptions o;
    Libp2pOptions libp2p;
    libp2p.identity = IdentityFrom(seed);
    libp2p.agent_version = std::move(agent);
    o.libp2p = std::move(libp2p);
    return Host::Create(io, std::move(o)).value();
  };
  std::unique_ptr<Host> node = make(1, "connmgr/0.1.0");
  std::unique_ptr<Host> attacker = make(2, HostileAgent());
  node->Subscribe([&](const HostEvent& e) {
    if (std::optional<std::string> line = EventLine(e)) printed.push_back(*line);
  });
  const Multiaddr where = node->Listen(Multiaddr::Parse("/ip4/127.0.0.1/tcp/0").value())
                              .value()
                              .WithPeerId(node->peer());
  ASSERT_TRUE(attacker->Dial(where, [](const DialResult&) {}).ok());
  ASSERT_TRUE(testing_util::RunUntil(io, [&] { return printed.size() >= 2; }));
  ASSERT_EQ(printed.size(), 2u);
  EXPECT_EQ(printed[0], absl::StrCat("connected ", attacker->peer().ToString()));
  EXPECT_EQ(printed[1], absl::StrCat("identify ", attacker->peer().ToString(), ": \"",
                                     HostileAgentPrinted(), "\", 2 protocols"));
}

TEST(EventLinesTest, PeerAndPruneLines) {
  const PeerId peer = IdentityFrom(3).peer_id();
  EXPECT_EQ(EventLine(PeerConnected{peer}), absl::StrCat("connected ", peer.ToString()));
  EXPECT_EQ(EventLine(PeerDisconnected{peer}), absl::StrCat("disconnected ", peer.ToString()));
  ConnectionsPruned pruned;
  pruned.pruned.resize(3);
  pruned.open = 9;
  pruned.target = 8;
  EXPECT_EQ(EventLine(pruned), "pruned 3 connections (9 open, target 8)");
  EXPECT_EQ(EventLine(ListenEvent{Multiaddr::Parse("/ip4/127.0.0.1/tcp/1").value(), true}),
            std::nullopt);
}

TEST(EventLinesTest, ADialErrorQuotingThePeerIsEscaped) {
  const Multiaddr address = Multiaddr::Parse("/ip4/127.0.0.1/tcp/4001").value();
  DialResult result;
  result.outcome = DialOutcome::kFailed;
  result.detail = "negotiate: listener answered \"\x1b[31mna\nconnected x\" to \"/noise\"";
  EXPECT_EQ(
      DialResultLine(address, result),
      R"(dial /ip4/127.0.0.1/tcp/4001: failed (negotiate: listener answered \"\x1b[31mna\nconnected x\" to \"/noise\"))");
  result.outcome = DialOutcome::kConnected;
  result.detail.clear();
  EXPECT_EQ(DialResultLine(address, result), "dial /ip4/127.0.0.1/tcp/4001: connected");
}

}  // namespace
}  // namespace connmgr::shell
