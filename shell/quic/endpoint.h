// Endpoint: one UDP socket on the io_context and the QUIC connections it carries, found by the
// destination connection id of each datagram (shell/quic/demux.h) in a bounded table. A
// listening endpoint hands each Initial that would create a connection to `on_initial` — before
// any crypto — and the owner (the driver, asking the core) answers Accept or Refuse. A refused
// client gets a stateless CONNECTION_CLOSE with CONNECTION_REFUSED and nothing is kept. A
// dialling endpoint (no on_initial) carries the one connection it dialled.
//
//   auto e = Endpoint::Open(io, udp::endpoint(address, 4001), credentials, on_initial).value();
//   on_initial = [&](const InitialPacket& p) { admitted ? e->Accept(p, limits) : e->Refuse(p); };
//   auto c = e->Dial(remote, limits, expected_peer).value();
//
// Datagrams are read kMaxDatagramsPerTurn at a time before yielding to other handlers.
#ifndef CONNMGR_SHELL_QUIC_ENDPOINT_H_
#define CONNMGR_SHELL_QUIC_ENDPOINT_H_

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/udp.hpp"
#include "shell/quic/connection.h"
#include "shell/quic/demux.h"

namespace connmgr::quic {

// A client's first Initial, held while the owner decides.
struct InitialPacket {
  udp::endpoint remote;
  ngtcp2_pkt_hd header;
  std::string datagram;
};

class Endpoint : public std::enable_shared_from_this<Endpoint> {
 public:
  // Connection ids routed at once (each connection holds a few); beyond, new Initials are
  // refused.
  static constexpr size_t kMaxRoutes = size_t{1} << 16;
  static constexpr size_t kMaxDatagramBytes = 65'527;
  static constexpr int kMaxDatagramsPerTurn = 64;

  using OnInitial = std::function<void(const InitialPacket&)>;

  // Binds `local` (port 0: any free port). `on_initial` empty: no inbound connections.
  static absl::StatusOr<std::shared_ptr<Endpoint>> Open(boost::asio::io_context& io,
                                                        const udp::endpoint& local,
                                                        std::shared_ptr<TlsCredentials> credentials,
                                                        OnInitial on_initial);
  ~Endpoint();
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // Starts reading datagrams.
  void Start();
  // Makes the server connection for `initial` and hands it the datagram.
  absl::StatusOr<std::shared_ptr<Connection>> Accept(const InitialPacket& initial,
                                                     const ConnectionLimits& limits,
                                                     Connection::Events events);
  // Answers `initial` with CONNECTION_CLOSE (CONNECTION_REFUSED), keeping no state.
  void Refuse(const InitialPacket& initial);
  absl::StatusOr<std::shared_ptr<Connection>> Dial(const udp::endpoint& remote,
                                                   const ConnectionLimits& limits,
                                                   std::optional<PeerId> expected,
                                                   Connection::Events events);
  // Handles `datagram` as if it had arrived from `from` (fuzz targets and tests).
  void HandleDatagramForTest(const udp::endpoint& from, absl::string_view datagram) {
    OnDatagram(from, datagram);
  }
  // Closes the socket; the connections it carried are abandoned.
  void Close();

  const udp::endpoint& local() const { return local_; }
  size_t routes() const { return routes_.size(); }
  // Initials refused here because the table was full, and datagrams dropped unread.
  uint64_t refused_full() const { return refused_full_; }
  uint64_t dropped() const { return dropped_; }

 private:
  // Connection id → its connection (the slot is filled once the connection exists).
  using Slot = std::shared_ptr<std::weak_ptr<Connection>>;

  Endpoint(boost::asio::io_context& io, std::shared_ptr<TlsCredentials> credentials,
           OnInitial on_initial);
  void ReadNext();
  void OnDatagram(const udp::endpoint& from, absl::string_view datagram);
  ConnectionSetup Setup(const ConnectionLimits& limits, const Slot& slot);
  void Send(const udp::endpoint& to, absl::string_view datagram);

  boost::asio::io_context& io_;
  udp::socket socket_;
  udp::endpoint local_;
  std::shared_ptr<TlsCredentials> credentials_;
  OnInitial on_initial_;
  absl::flat_hash_map<std::string, Slot> routes_;
  std::array<char, kMaxDatagramBytes> buffer_;
  udp::endpoint sender_;
  bool closed_ = false;
  uint64_t refused_full_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace connmgr::quic

#endif  // CONNMGR_SHELL_QUIC_ENDPOINT_H_
