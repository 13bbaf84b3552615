// Upgraders turn a raw TCP socket into a connection with a known peer: the step between the
// core's InboundConnection (or DialAddress) and ConnectionUpgraded (or DialSucceeded). The
// upgrade hands back a Session, which owns the connection's bytes from then on: it reads, runs
// the multiplexer and the protocols, and tells the driver about streams and the end.
//
// PlaintextUpgrader exchanges peer ids with no security and no streams: for tests and demos
// between connmgr nodes. The libp2p upgrader (multistream-select, Noise, Yamux) implements the
// same interface.
#ifndef CONNMGR_SHELL_UPGRADER_H_
#define CONNMGR_SHELL_UPGRADER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "boost/asio/ip/tcp.hpp"
#include "core/peer_id.h"
#include "core/time.h"
#include "core/types.h"
#include "shell/connection_memory.h"

namespace connmgr::shell {

// A stream of one session; ids are the multiplexer's.
using StreamId = uint32_t;

class Session {
 public:
  struct Events {
    // A stream negotiated `protocol` (inbound: opened by the peer).
    std::function<void(StreamId, const std::string& protocol, Direction)> stream_opened;
    // Bytes the peer wrote on a stream this side opened through OpenStream.
    std::function<void(StreamId, std::string bytes)> stream_data;
    // A stream the driver was told of ended (both sides closed it, or it was reset), with the
    // protocol and direction it was opened with.
    std::function<void(StreamId, const std::string& protocol, Direction)> stream_closed;
    // The connection ended: EOF, a socket error or a protocol violation. Called once.
    std::function<void(absl::Status why)> closed;
  };
  virtual ~Session() = default;

  // Starts reading. Events are called on the socket's executor.
  virtual void Start(Events events) = 0;
  // Opens an outbound stream and negotiates `protocol`; `done` gets the stream or why not.
  virtual void OpenStream(const std::string& protocol,
                          std::function<void(absl::StatusOr<StreamId>)> done) = 0;
  virtual absl::Status Write(StreamId stream, std::string bytes) = 0;
  virtual absl::Status CloseWrite(StreamId stream) = 0;
  // Resets a stream the core refused: it was never counted, so no stream_closed follows.
  virtual void ResetStream(StreamId stream) = 0;
  // Measures the round trip to the peer (the ping protocol), when the session has one.
  // NOLINTNEXTLINE(performance-unnecessary-value-param): a sink; overrides keep `done`.
  virtual void Ping(std::function<void(absl::StatusOr<Duration>)> done) {
    done(absl::UnimplementedError("ping: this connection has no ping protocol"));
  }
  // The last measured round trip to the peer, if the session measures one.
  virtual std::optional<Duration> round_trip() const { return std::nullopt; }
  // Stops all activity; the owner closes the socket.
  virtual void Close() = 0;
};

struct Upgraded {
  PeerId peer;
  std::unique_ptr<Session> session;
};

// What the driver hands each connection's upgrade: the connection's memory account with the
// core (transient while it upgrades, the connection's own once it opens) and the buffer budgets
// from the core's config (docs/configuration.md, "Connection memory and buffers").
struct ConnectionResources {
  std::shared_ptr<ConnectionMemory> memory;  // required
  uint32_t stream_receive_window = 256 * 1024;
  size_t max_send_bytes = size_t{1} << 20;
  Duration slow_reader_timeout = Duration::Seconds(5);
};

class Upgrader {
 public:
  using Done = std::function<void(absl::StatusOr<Upgraded>)>;
  virtual ~Upgrader() = default;

  // Runs the handshake on `socket` and calls `done` once, on the socket's executor, with the
  // remote peer and its session or why it failed (marked with a CloseReason,
  // shell/close_reason.h, when it was the peer's fault). `expected` (outbound) is the peer
  // dialled: another peer is an error. The upgrade and then the session hold their buffers
  // within `resources`. Closing the socket makes `done` fail. Deadlines are the core's (upgrade
  // timeout, address dial timeout), not the upgrader's.
  virtual void Upgrade(std::shared_ptr<boost::asio::ip::tcp::socket> socket, Direction direction,
                       std::optional<PeerId> expected, ConnectionResources resources,
                       Done done) = 0;
};

// Each side writes "/connmgr/plaintext/1\n", one length byte and its peer id's multihash, then
// reads the other's. Its sessions carry no streams: they watch for the end of the connection,
// reading into one 1 KiB buffer, and reserve no memory (tests and demos only).
class PlaintextUpgrader : public Upgrader {
 public:
  explicit PlaintextUpgrader(PeerId local) : local_(std::move(local)) {}

  void Upgrade(std::shared_ptr<boost::asio::ip::tcp::socket> socket, Direction direction,
               std::optional<PeerId> expected, ConnectionResources resources, Done done) override;

  const PeerId& local_peer() const { return local_; }

 private:
  PeerId local_;
};

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_UPGRADER_H_
