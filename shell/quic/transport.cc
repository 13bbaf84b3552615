#include "shell/quic/transport.h"

#include "absl/strings/str_cat.h"
#include "shell/endpoint.h"

namespace connmgr::quic {

using boost::asio::ip::udp;

absl::StatusOr<std::shared_ptr<TlsCredentials>> Transport::credentials() {
  if (credentials_ == nullptr) {
    absl::StatusOr<std::shared_ptr<TlsCredentials>> made =
        TlsCredentials::Create(options_->identity);
    if (!made.ok()) return made.status();
    credentials_ = *std::move(made);
  }
  return credentials_;
}

absl::StatusOr<udp::endpoint> QuicEndpointOf(const Multiaddr& address) {
  const Multiaddr direct = address.WithoutPeerId();
  const std::optional<IpAddress> ip = direct.ip();
  const std::optional<uint16_t> port = direct.port();
  if (!ip || !port || direct.transport() != connmgr::Transport::kQuicV1 ||
      direct.components().size() != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "address ", address.ToString(), ": QUIC dials and listens on /ip4|ip6/.../udp/N/quic-v1"));
  }
  boost::system::error_code ec;
  const boost::asio::ip::address asio_ip = boost::asio::ip::make_address(ip->ToString(), ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("address ", address.ToString(), ": ", ec.message()));
  }
  return udp::endpoint(asio_ip, *port);
}

Multiaddr QuicMultiaddrOf(const udp::endpoint& endpoint) {
  // The TCP form's address text, with udp and quic-v1 in place of tcp.
  const Multiaddr tcp =
      shell::MultiaddrOf(boost::asio::ip::tcp::endpoint(endpoint.address(), endpoint.port()));
  const std::string ip = tcp.ToString().substr(0, tcp.ToString().rfind("/tcp/"));
  return Multiaddr::Parse(absl::StrCat(ip, "/udp/", endpoint.port(), "/quic-v1")).value();
}

}  // namespace connmgr::quic
