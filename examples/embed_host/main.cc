// embed_host: two connmgr Hosts on loopback — one listens, the other dials it, opens a stream
// and gets its message echoed back — printing every event either host reports.
//
// A separate project that uses connmgr's shell as a library (see README.md, "Use it in your
// project"). Build it with Bazel (WORKSPACE, BUILD.bazel) or CMake (CMakeLists.txt). Include
// single Asio headers as here: <boost/asio.hpp> whole does not compile as C++20 with Boost 1.74.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <variant>

#include "boost/asio/io_context.hpp"
#include "boost/asio/steady_timer.hpp"
#include "shell/host.h"

namespace {

using connmgr::shell::Host;
using connmgr::shell::HostEvent;

constexpr char kEcho[] = "/embed/echo/1.0.0";

std::unique_ptr<Host> MakeHost(boost::asio::io_context& io, const char* name) {
  connmgr::shell::HostOptions options;
  options.config.max_connections = 16;
  connmgr::shell::Libp2pOptions libp2p;  // Noise XX with a new Ed25519 identity, Yamux
  libp2p.protocols = {kEcho};            // streams peers may open to this host
  options.libp2p = std::move(libp2p);
  absl::StatusOr<std::unique_ptr<Host>> host = Host::Create(io, std::move(options));
  if (!host.ok()) {
    std::fprintf(stderr, "%s: %s\n", name, std::string(host.status().message()).c_str());
    return nullptr;
  }
  (*host)->Subscribe([name](const HostEvent& e) {
    if (const auto* c = std::get_if<connmgr::PeerConnected>(&e)) {
      std::printf("%s: peer connected %s\n", name, c->peer.ToString().c_str());
    } else if (const auto* d = std::get_if<connmgr::PeerDisconnected>(&e)) {
      std::printf("%s: peer disconnected %s\n", name, d->peer.ToString().c_str());
    } else if (const auto* s = std::get_if<connmgr::shell::StreamEvent>(&e)) {
      std::printf("%s: stream %s %s (%s)\n", name, s->protocol.c_str(),
                  s->opened ? "opened" : "closed",
                  std::string(connmgr::DirectionName(s->direction)).c_str());
    } else if (const auto* l = std::get_if<connmgr::shell::ListenEvent>(&e)) {
      std::printf("%s: %s %s\n", name, l->listening ? "listening on" : "stopped listening on",
                  l->address.ToString().c_str());
    }
  });
  return *std::move(host);
}

}  // namespace

int main() {
  boost::asio::io_context io;
  std::unique_ptr<Host> server = MakeHost(io, "server");
  std::unique_ptr<Host> client = MakeHost(io, "client");
  if (!server || !client) return 1;

  // The server echoes whatever arrives on a stream.
  Host* raw_server = server.get();
  server->OnStreamData([raw_server](Host::StreamRef stream, std::string bytes) {
    raw_server->WriteStream(stream, std::move(bytes)).IgnoreError();
  });

  absl::StatusOr<connmgr::Multiaddr> bound =
      server->Listen(connmgr::Multiaddr::Parse("/ip4/127.0.0.1/tcp/0").value());
  if (!bound.ok()) {
    std::fprintf(stderr, "listen: %s\n", std::string(bound.status().message()).c_str());
    return 1;
  }

  int status = 1;
  const std::string message = "hello from the client";
  std::string echoed;
  client->OnStreamData([&](Host::StreamRef, std::string bytes) {
    echoed += bytes;
    if (echoed.size() < message.size()) return;
    std::printf("client: echoed \"%s\"\n", echoed.c_str());
    status = echoed == message ? 0 : 1;
    io.stop();
  });
  const connmgr::Multiaddr target = bound->WithPeerId(server->peer());
  absl::Status dial = client->Dial(target, [&](const connmgr::DialResult& r) {
    std::printf("client: dial %s: %s\n", target.ToString().c_str(),
                std::string(connmgr::DialOutcomeName(r.outcome)).c_str());
    if (r.outcome != connmgr::DialOutcome::kConnected) {
      io.stop();
      return;
    }
    client->OpenStream(server->peer(), kEcho, [&](absl::StatusOr<Host::StreamRef> stream) {
      if (!stream.ok()) {
        std::fprintf(stderr, "stream: %s\n", std::string(stream.status().message()).c_str());
        io.stop();
        return;
      }
      client->WriteStream(*stream, message).IgnoreError();
    });
  });
  if (!dial.ok()) {
    std::fprintf(stderr, "dial: %s\n", std::string(dial.message()).c_str());
    return 1;
  }

  // Everything above is asynchronous; give up after 10 seconds.
  boost::asio::steady_timer deadline(io, std::chrono::seconds(10));
  deadline.async_wait([&](const boost::system::error_code& ec) {
    if (!ec) {
      std::fprintf(stderr, "no echo within 10 s\n");
      io.stop();
    }
  });
  io.run();
  client->Close();
  server->Close();
  return status;
}
