#include "shell/tls/session.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace connmgr::tls {
namespace {

using ::testing::HasSubstr;

struct Pair {
  std::unique_ptr<TlsSession> client;
  std::unique_ptr<TlsSession> server;
  std::string client_plaintext;
  std::string server_plaintext;
  absl::Status client_status;
  absl::Status server_status;

  // Carries bytes both ways until neither side has anything to send (bounded).
  void Pump() {
    for (int round = 0; round < 16; ++round) {
      const std::string to_server = client->PollSend();
      const std::string to_client = server->PollSend();
      if (to_server.empty() && to_client.empty()) return;
      if (!to_server.empty() && server_status.ok()) {
        server_status = server->HandleReceived(to_server, &server_plaintext);
      }
      if (!to_client.empty() && client_status.ok()) {
        client_status = client->HandleReceived(to_client, &client_plaintext);
      }
    }
  }
};

Pair Connect(const crypto::PrivateKey& client_key, const crypto::PrivateKey& server_key,
             std::optional<PeerId> expected) {
  Pair p;
  p.client = TlsSession::Create(TlsContext::Create(client_key).value(), TlsRole::kClient,
                                std::move(expected))
                 .value();
  p.server = TlsSession::Create(TlsContext::Create(server_key).value(), TlsRole::kServer).value();
  p.Pump();
  return p;
}

TEST(TlsSessionTest, EveryKeyTypeAuthenticatesBothWaysAndCarriesData) {
  using crypto::KeyType;
  std::vector<crypto::PrivateKey> keys;
  for (KeyType type : {KeyType::kEd25519, KeyType::kSecp256k1, KeyType::kRsa, KeyType::kEcdsa}) {
    keys.push_back(crypto::PrivateKey::Generate(type).value());
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    const crypto::PrivateKey& a = keys[i];
    const crypto::PrivateKey& b = keys[(i + 1) % keys.size()];
    SCOPED_TRACE(crypto::KeyTypeName(a.type()) + " -> " + crypto::KeyTypeName(b.type()));
    Pair p = Connect(a, b, b.peer_id());
    ASSERT_TRUE(p.client_status.ok()) << p.client_status;
    ASSERT_TRUE(p.server_status.ok()) << p.server_status;
    ASSERT_TRUE(p.client->done());
    ASSERT_TRUE(p.server->done());
    EXPECT_EQ(p.client->remote_peer(), b.peer_id());
    EXPECT_EQ(p.server->remote_peer(), a.peer_id());
    EXPECT_EQ(p.client->remote_key_type(), b.type());
    EXPECT_EQ(p.server->remote_key_type(), a.type());

    const std::string big(100 * 1024 + 7, 'z');
    ASSERT_TRUE(p.client->Encode("hello server").ok());
    ASSERT_TRUE(p.server->Encode(big).ok());
    p.Pump();
    EXPECT_EQ(p.server_plaintext, "hello server");
    EXPECT_EQ(p.client_plaintext, big);
  }
}

TEST(TlsSessionTest, ClientRefusesAnotherPeerThanExpected) {
  const auto a = crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value();
  const auto b = crypto::PrivateKey::Generate(crypto::KeyType::kSecp256k1).value();
  Pair p = Connect(a, b, a.peer_id());
  EXPECT_EQ(p.client_status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(p.client_status.message(), HasSubstr("not the expected"));
  EXPECT_FALSE(p.client->done());
  EXPECT_FALSE(p.server->done());
}

TEST(TlsSessionTest, GarbageIsRefusedAndErrorsAreFinal) {
  const auto a = crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value();
  auto server = TlsSession::Create(TlsContext::Create(a).value(), TlsRole::kServer).value();
  std::string plaintext;
  const absl::Status s = server->HandleReceived(
      "GET / HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(100, 'g'), &plaintext);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(server->HandleReceived("more", &plaintext), s);
  EXPECT_TRUE(plaintext.empty());
  EXPECT_EQ(server->Encode("x").code(), s.code());
}

TEST(TlsSessionTest, EncodeBeforeTheHandshakeIsRefused) {
  const auto a = crypto::PrivateKey::Generate(crypto::KeyType::kEd25519).value();
  auto client = TlsSession::Create(TlsContext::Create(a).value(), TlsRole::kClient).value();
  EXPECT_FALSE(client->PollSend().empty());  // the ClientHello
  EXPECT_EQ(client->Encode("early").code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace connmgr::tls
