// Conversions between multiaddrs and Asio TCP endpoints, and the shell's clock.
#ifndef CONNMGR_SHELL_ENDPOINT_H_
#define CONNMGR_SHELL_ENDPOINT_H_

#include "absl/status/statusor.h"
#include "boost/asio/ip/tcp.hpp"
#include "core/multiaddr.h"
#include "core/time.h"

namespace connmgr::shell {

// /ip4/A/tcp/P or /ip6/A/tcp/P, with an optional trailing /p2p/<id>. Anything else (DNS names,
// other transports) is InvalidArgument naming the address.
absl::StatusOr<boost::asio::ip::tcp::endpoint> TcpEndpointOf(const Multiaddr& address);

// /ip4/A/tcp/P or /ip6/A/tcp/P (IPv4-mapped IPv6 shown as IPv4).
Multiaddr MultiaddrOf(const boost::asio::ip::tcp::endpoint& endpoint);

// The monotonic clock handed to the core: std::chrono::steady_clock in nanoseconds.
Instant SteadyNow();

}  // namespace connmgr::shell

#endif  // CONNMGR_SHELL_ENDPOINT_H_
