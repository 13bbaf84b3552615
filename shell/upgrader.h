// Upgraders turn a raw TCP socket into a connection with a known peer: the step between the
// core's InboundConnection (or DialAddress) and ConnectionUpgraded (or DialSucceeded).
//
// PlaintextUpgrader exchanges peer ids with no security at all: for tests and demos between
// connmgr nodes. The libp2p upgrader (Noise + Yamux) implements the same interface.
#ifndef CONNMGR_SHELL_UPGRADER_H_
#define CONNMGR_SHELL_UPGRADER_H_

#include <functional>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "boost/asio/ip/tcp.hpp"
#include "core/peer_id.h"
#include "core/types.h"

namespace connmgr::shell {

class Upgrader {
 public:
  using Done = std::function<void(absl::StatusOr<PeerId>)>;
  virtual ~Upgrader() = default;

  // Runs the handshake on `socket` and calls `done` once, on the socket's executor, with the
  // remote peer or why it failed. `expected` (outbound) is the peer dialled: another peer is an
  // error. Closing the socket makes `done` fail. Deadlines are the core's (upgrade timeout,
  // address dial timeout), not the upgrader's.
  virtual void Upgrade(std::shared_ptr<boost::asio::ip::tcp::socket> socket, Direction direction,
                       std::optional<PeerId> expected, Done done) = 0;
};

// Each side writes "/connmgr/plaintext/1\n", one length byte and its peer id's multihash, then
// reads the other's.
class PlaintextUpgrader : public Upgrader {
 public:
  explicit PlaintextUpgrader(PeerId local) : local_(std::move(local)) {}

  void Upgrade(std::shared_ptr<boost::asio::ip::tcp::socket> socket, Direction direction,
               std::optional<PeerId> expected, Done done) override;

  const PeerId& local_peer() const { return local_; }

 private:
  PeerId local_;
};

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_UPGRADER_H_
