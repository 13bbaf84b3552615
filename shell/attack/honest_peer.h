// An honest libp2p peer for the attack tests: dials the node under attack once from a loopback
// address of its own, with short timeouts, and says whether it connected or why not.
//
//   HonestDial d = DialAsHonestPeer(io, node_address, "127.9.0.1", /*seed=*/10);
//   if (!d.connected) failures.push_back(d.failure);
#ifndef CONNMGR_SHELL_ATTACK_HONEST_PEER_H_
#define CONNMGR_SHELL_ATTACK_HONEST_PEER_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "boost/asio/io_context.hpp"
#include "shell/host.h"
#include "shell/test_util.h"

namespace connmgr::shell::attack {

struct HonestDial {
  bool connected = false;
  std::string failure;  // the dial's outcome and detail when it did not connect
};

// Runs `io` until the dial ends (at most 10 s), then closes the peer.
inline HonestDial DialAsHonestPeer(boost::asio::io_context& io, const Multiaddr& node,
                                   const std::string& source_ip, uint8_t seed) {
  HostOptions options;
  options.config.dial_timeout = Duration::Seconds(3);
  options.config.address_dial_timeout = Duration::Seconds(3);
  options.dial_source_ip = IpAddress::Parse(source_ip).value();
  Libp2pOptions libp2p;
  libp2p.identity = testing_util::IdentityFrom(seed);
  options.libp2p = std::move(libp2p);
  std::unique_ptr<Host> honest = Host::Create(io, std::move(options)).value();
  std::optional<DialResult> result;
  HonestDial out;
  if (!honest->Dial(node, [&](const DialResult& r) { result = r; }).ok() ||
      !testing_util::RunUntil(
          io, [&] { return result.has_value(); }, std::chrono::seconds(10))) {
    out.failure = "no dial result within 10 s";
  } else if (result->outcome == DialOutcome::kConnected) {
    out.connected = true;
  } else {
    out.failure = absl::StrCat(DialOutcomeName(result->outcome), ": ", result->detail);
  }
  honest->Close();
  return out;
}

struct HonestTally {
  int connected = 0;
  std::vector<std::string> failures;
};

// `attempts` dials one after another, `pause` apart, the i-th with identity seed `seed(i)`,
// stopping early once `give_up` has passed.
inline HonestTally DialRepeatedlyAsHonestPeer(boost::asio::io_context& io, const Multiaddr& node,
                                              const std::string& source_ip, int attempts,
                                              std::chrono::milliseconds pause,
                                              std::chrono::steady_clock::time_point give_up,
                                              const std::function<uint8_t(int)>& seed) {
  HonestTally tally;
  for (int i = 0; i < attempts && std::chrono::steady_clock::now() <= give_up; ++i) {
    HonestDial dial = DialAsHonestPeer(io, node, source_ip, seed(i));
    if (dial.connected) {
      ++tally.connected;
    } else {
      tally.failures.push_back(std::move(dial.failure));
    }
    const auto pause_until = std::chrono::steady_clock::now() + pause;
    testing_util::RunUntil(io, [&] { return std::chrono::steady_clock::now() >= pause_until; });
  }
  return tally;
}

}  // namespace connmgr::shell::attack

#endif  // CONNMGR_SHELL_ATTACK_HONEST_PEER_H_
