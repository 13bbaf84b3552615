// What the endpoint makes of a datagram from its header alone: a client's real Initial, the
// same cut short or with a short id, a short-header packet, an empty datagram.
#include "shell/quic/demux.h"

#include <string>
#include <vector>

#include "boost/asio/io_context.hpp"
#include "gtest/gtest.h"
#include "shell/crypto/keys.h"
#include "shell/quic/connection.h"

namespace connmgr::quic {
namespace {

// The first datagram a real client sends: its Initial, padded to 1 200 bytes.
std::string ClientInitial() {
  boost::asio::io_context io;
  std::vector<std::string> sent;
  ConnectionSetup setup;
  setup.credentials =
      TlsCredentials::Create(crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value())
          .value();
  setup.local = udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 1);
  setup.send = [&](const udp::endpoint&, absl::string_view d) { sent.emplace_back(d); };
  setup.route = [](const std::string&, bool) {};
  auto c = Connection::Dial(io, setup, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 2),
                            std::nullopt)
               .value();
  c->Start();
  c->Abandon();
  return sent.empty() ? "" : sent.front();
}

TEST(DemuxTest, AClientsFirstInitialWouldCreateAConnection) {
  const std::string initial = ClientInitial();
  ASSERT_GE(initial.size(), 1200u);
  const DatagramHeader h = ReadDatagramHeader(initial);
  EXPECT_EQ(h.kind, DatagramKind::kInitial);
  EXPECT_EQ(h.dcid.size(), kConnectionIdBytes);
  EXPECT_EQ(h.initial.version, NGTCP2_PROTO_VER_V1);
  EXPECT_EQ(CidKey(h.initial.dcid), h.dcid);
}

TEST(DemuxTest, AnInitialInASmallDatagramCreatesNothing) {
  // Under 1 200 bytes a client's Initial is invalid (RFC 9000 14.1): routed, never admitted.
  const DatagramHeader h = ReadDatagramHeader(ClientInitial().substr(0, 600));
  EXPECT_EQ(h.kind, DatagramKind::kLong);
}

TEST(DemuxTest, AnInitialWithAShortDestinationIdIsNeverAdmitted) {
  std::string initial = ClientInitial();
  // Byte 5 is the destination id's length: 7, one under the minimum (RFC 9000 7.2), with the
  // id's other 11 bytes cut out and the datagram padded back to its size.
  ASSERT_EQ(initial[5], static_cast<char>(kConnectionIdBytes));
  initial[5] = 7;
  initial.erase(6 + 7, kConnectionIdBytes - 7);
  initial.append(kConnectionIdBytes - 7, '\0');
  // ngtcp2_accept refuses this one itself (routed as a long header, admitted never); the demux
  // drops the ones it lets through (found by fuzzing).
  EXPECT_NE(ReadDatagramHeader(initial).kind, DatagramKind::kInitial);
}

TEST(DemuxTest, AShortHeaderCarriesOurIdLength) {
  const std::string packet = "\x40" + std::string(kConnectionIdBytes, 'i') + std::string(30, 'p');
  const DatagramHeader h = ReadDatagramHeader(packet);
  EXPECT_EQ(h.kind, DatagramKind::kShort);
  EXPECT_EQ(h.dcid, std::string(kConnectionIdBytes, 'i'));
}

TEST(DemuxTest, EmptyAndTruncatedDatagramsAreDropped) {
  EXPECT_EQ(ReadDatagramHeader("").kind, DatagramKind::kDrop);
  EXPECT_EQ(ReadDatagramHeader("\x40"
                               "abc")
                .kind,
            DatagramKind::kDrop);
  EXPECT_EQ(ReadDatagramHeader(ClientInitial().substr(0, 4)).kind, DatagramKind::kDrop);
}

}  // namespace
}  // namespace connmgr::quic
