// Full libp2p connections per second between two connmgr hosts on loopback (TCP, Noise XX,
// Yamux; both hosts serve identify and ping, and identify runs on each connection as usual).
// bench/libp2p_churn.sh runs this and the same loop between two js-libp2p nodes, and prints the
// ratio.
//
//   ./bazelw run -c opt //bench:libp2p_churn -- --seconds=3
//       [--key-type=ed25519|secp256k1|rsa|ecdsa] [--security=noise|tls]
//
// --key-type gives both hosts identities of that type (what each handshake signs and
// verifies); --security the handshake (default noise).
//
// One io_context, one thread, both hosts on it (as the js side runs both nodes in one Node.js
// process). One cycle: host B dials host A (`Dial` of A's /ip4/127.0.0.1/tcp/P/p2p/A) and waits
// for DialResult connected; B closes the connection (`CloseConnection`); the cycle ends when both
// hosts report PeerDisconnected. Cycles run one after another (one connection at a time).
// Prints one line: `libp2p_churn side=connmgr cycles=N seconds=S per_s=R key_type=K security=P`.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "bench/timed_cycles.h"
#include "boost/asio/io_context.hpp"
#include "shell/crypto/keys.h"
#include "shell/host.h"

namespace connmgr {
namespace {

using shell::Host;
using shell::HostEvent;

std::unique_ptr<Host> MakeHost(boost::asio::io_context& io, int* disconnects,
                               crypto::KeyType key_type, const std::string& security) {
  shell::HostOptions o;
  o.config.inbound_rate_per_ip = {1'000'000, Duration::Seconds(1), 1'000'000};
  o.libp2p = shell::Libp2pOptions{};
  o.libp2p->identity = crypto::PrivateKey::Generate(key_type).value();
  o.libp2p->security_protocols = {security};
  std::unique_ptr<Host> host = Host::Create(io, std::move(o)).value();
  host->Subscribe([disconnects](const HostEvent& e) {
    if (std::holds_alternative<PeerDisconnected>(e)) ++*disconnects;
  });
  return host;
}

}  // namespace
}  // namespace connmgr

int main(int argc, char** argv) {
  using namespace connmgr;
  double seconds = 3;
  crypto::KeyType key_type = crypto::KeyType::kEd25519;
  std::string security = "noise";
  for (int i = 1; i < argc; ++i) {
    absl::string_view a = argv[i];
    bool ok = false;
    if (absl::ConsumePrefix(&a, "--seconds=")) {
      ok = absl::SimpleAtod(a, &seconds) && seconds > 0;
    } else if (absl::ConsumePrefix(&a, "--key-type=")) {
      absl::StatusOr<crypto::KeyType> t = crypto::ParseKeyTypeName(a);
      ok = t.ok();
      if (ok) key_type = *t;
    } else if (absl::ConsumePrefix(&a, "--security=")) {
      security = std::string(a);
      ok = security == "noise" || security == "tls";
    }
    if (!ok) {
      std::fprintf(stderr,
                   "usage: libp2p_churn [--seconds=S] [--key-type=ed25519|secp256k1|rsa|ecdsa] "
                   "[--security=noise|tls]\n");
      return 2;
    }
  }
  const std::string protocol = security == "tls" ? shell::kTlsProtocol : shell::kNoiseProtocol;
  boost::asio::io_context io;
  int a_disconnects = 0, b_disconnects = 0;
  std::unique_ptr<shell::Host> a = MakeHost(io, &a_disconnects, key_type, protocol);
  std::unique_ptr<shell::Host> b = MakeHost(io, &b_disconnects, key_type, protocol);
  const Multiaddr where =
      a->Listen(Multiaddr::Parse("/ip4/127.0.0.1/tcp/0").value()).value().WithPeerId(a->peer());

  auto run_until = [&](const std::function<bool()>& done) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      io.restart();
      io.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
  };
  // One connect + close cycle; false on failure.
  auto cycle = [&]() -> bool {
    std::optional<DialResult> result;
    const int a_before = a_disconnects, b_before = b_disconnects;
    if (!b->Dial(where, [&](const DialResult& r) { result = r; }).ok()) return false;
    if (!run_until([&] { return result.has_value(); })) return false;
    if (result->outcome != DialOutcome::kConnected) {
      std::fprintf(stderr, "libp2p_churn: dial: %s\n", result->detail.c_str());
      return false;
    }
    if (!b->CloseConnection(result->connection).ok()) return false;
    return run_until([&] { return a_disconnects > a_before && b_disconnects > b_before; });
  };

  const std::optional<CycleRate> rate = TimedCycles("libp2p_churn", seconds, cycle);
  if (!rate) return 1;
  std::printf(
      "libp2p_churn side=connmgr cycles=%llu seconds=%.2f per_s=%.1f key_type=%s "
      "security=%s\n",
      static_cast<unsigned long long>(rate->cycles), rate->seconds, rate->per_second(),
      crypto::KeyTypeName(key_type).c_str(), security.c_str());
  b->Close();
  a->Close();
  return 0;
}
