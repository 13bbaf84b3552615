#include "shell/endpoint.h"

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"

namespace connmgr::shell {

using boost::asio::ip::tcp;

absl::StatusOr<tcp::endpoint> TcpEndpointOf(const Multiaddr& address) {
  const Multiaddr direct = address.WithoutPeerId();
  const std::optional<IpAddress> ip = direct.ip();
  const std::optional<uint16_t> port = direct.port();
  if (!ip || !port || direct.transport() != Transport::kTcp || direct.components().size() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "address ", address.ToString(), ": the shell dials and listens on /ip4|ip6/.../tcp/N"));
  }
  boost::system::error_code ec;
  const boost::asio::ip::address asio_ip = boost::asio::ip::make_address(ip->ToString(), ec);
  if (ec)
    return absl::InvalidArgumentError(
        absl::StrCat("address ", address.ToString(), ": ", ec.message()));
  return tcp::endpoint(asio_ip, *port);
}

Multiaddr MultiaddrOf(const tcp::endpoint& endpoint) {
  boost::asio::ip::address ip = endpoint.address();
  if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
    ip = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, ip.to_v6());
  } else if (ip.is_v6()) {
    boost::asio::ip::address_v6 v6 = ip.to_v6();
    v6.scope_id(0);  // a multiaddr has no zone here
    ip = v6;
  }
  const std::string text =
      absl::StrCat(ip.is_v4() ? "/ip4/" : "/ip6/", ip.to_string(), "/tcp/", endpoint.port());
  return Multiaddr::Parse(text).value();  // an address Asio formatted always parses
}

Instant SteadyNow() {
  return Instant::FromNanoseconds(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::steady_clock::now().time_since_epoch())
                                      .count());
}

}  // namespace connmgr::shell
