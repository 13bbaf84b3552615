// Transport: what a node's QUIC connections share — its libp2p options (identity, protocols,
// identify) and the TLS credentials made from the identity on first use — and the conversions
// between /ip4|ip6/A/udp/P/quic-v1 and UDP endpoints.
//
//   auto quic = std::make_shared<quic::Transport>(libp2p_upgrader->options());
//   DriverOptions options; options.quic = quic;   // the driver listens and dials quic-v1
#ifndef CONNMGR_SHELL_QUIC_TRANSPORT_H_
#define CONNMGR_SHELL_QUIC_TRANSPORT_H_

#include <memory>

#include "absl/status/statusor.h"
#include "boost/asio/ip/udp.hpp"
#include "core/multiaddr.h"
#include "shell/libp2p.h"
#include "shell/quic/tls.h"

namespace connmgr::quic {

class Transport {
 public:
  explicit Transport(std::shared_ptr<const shell::Libp2pOptions> options)
      : options_(std::move(options)) {}

  const std::shared_ptr<const shell::Libp2pOptions>& options() const { return options_; }
  // The node's certificate, made on the first call and kept.
  absl::StatusOr<std::shared_ptr<TlsCredentials>> credentials();

 private:
  std::shared_ptr<const shell::Libp2pOptions> options_;
  std::shared_ptr<TlsCredentials> credentials_;
};

// /ip4/A/udp/P/quic-v1 or /ip6/A/udp/P/quic-v1, with an optional trailing /p2p/<id>. Anything
// else is InvalidArgument naming the address.
absl::StatusOr<boost::asio::ip::udp::endpoint> QuicEndpointOf(const Multiaddr& address);
// /ip4|ip6/A/udp/P/quic-v1 (IPv4-mapped IPv6 shown as IPv4).
Multiaddr QuicMultiaddrOf(const boost::asio::ip::udp::endpoint& endpoint);

}  // namespace connmgr::quic

#endif  // CONNMGR_SHELL_QUIC_TRANSPORT_H_
