// Fuzzes a listening QUIC endpoint's packet path: the header reading that routes a datagram
// (shell/quic/demux.h), the connection-id table, admission's answer (the first byte picks
// accept or a stateless refusal for every Initial), and the server connections made from
// accepted Initials reading what follows. Input: a flag byte, then datagrams, each a 2-byte
// big-endian length and its bytes. Nothing may crash; the table holds only ids of connections
// that exist, a bounded number each.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "boost/asio/io_context.hpp"
#include "fuzz/fuzz_check.h"
#include "shell/crypto/keys.h"
#include "shell/quic/demux.h"
#include "shell/quic/endpoint.h"

namespace {

using boost::asio::ip::udp;
using connmgr::quic::DatagramKind;

constexpr size_t kMaxDatagrams = 16;
// Ids one connection may have routed: the client's first destination id, ours, and those
// NEW_CONNECTION_ID issues (ngtcp2 issues up to the peer's active_connection_id_limit, at most 8).
constexpr size_t kMaxRoutesPerConnection = 10;

std::shared_ptr<connmgr::quic::TlsCredentials> Credentials() {
  static const auto* credentials = new std::shared_ptr<connmgr::quic::TlsCredentials>(
      connmgr::quic::TlsCredentials::Create(
          connmgr::crypto::PrivateKey::Generate(connmgr::crypto::KeyType::kEd25519).value())
          .value());
  return *credentials;
}

void CheckHeader(const std::string& datagram) {
  const connmgr::quic::DatagramHeader h = connmgr::quic::ReadDatagramHeader(datagram);
  FUZZ_CHECK(h.dcid.size() <= NGTCP2_MAX_CIDLEN, "connection id longer than QUIC allows");
  if (h.kind == DatagramKind::kShort) {
    FUZZ_CHECK(h.dcid.size() == connmgr::quic::kConnectionIdBytes, "short header id length");
  }
  if (h.kind == DatagramKind::kInitial) {
    FUZZ_CHECK(h.initial.version == NGTCP2_PROTO_VER_V1, "an Initial of another version");
    FUZZ_CHECK(h.initial.dcid.datalen >= NGTCP2_MIN_INITIAL_DCIDLEN, "Initial id too short");
    FUZZ_CHECK(datagram.size() >= 1200, "an Initial in a datagram under 1200 bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool accept = (data[0] & 1) != 0;
  boost::asio::io_context io;
  std::vector<std::shared_ptr<connmgr::quic::Connection>> connections;
  std::shared_ptr<connmgr::quic::Endpoint> endpoint;
  endpoint = connmgr::quic::Endpoint::Open(
                 io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0), Credentials(),
                 [&](const connmgr::quic::InitialPacket& initial) {
                   if (!accept) return endpoint->Refuse(initial);
                   auto c = endpoint->Accept(initial, connmgr::quic::ConnectionLimits{}, {});
                   if (c.ok()) connections.push_back(*c);
                 })
                 .value();
  // Answers go to the discard port: nobody reads them.
  const udp::endpoint from(boost::asio::ip::make_address("127.0.0.1"), 9);
  size_t at = 1;
  for (size_t n = 0; n < kMaxDatagrams && at + 2 <= size; ++n) {
    const size_t length = std::min<size_t>((size_t{data[at]} << 8) | data[at + 1], size - at - 2);
    const std::string datagram(reinterpret_cast<const char*>(data) + at + 2, length);
    at += 2 + length;
    CheckHeader(datagram);
    endpoint->HandleDatagramForTest(from, datagram);
    size_t live = 0;
    for (const auto& c : connections) live += c->closed() ? 0 : 1;
    FUZZ_CHECK(endpoint->routes() <= live * kMaxRoutesPerConnection, "ids routed to nothing");
  }
  endpoint->Close();
  return 0;
}
