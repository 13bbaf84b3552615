// The libp2p TLS 1.3 handshake and record layer (libp2p specs, tls/tls.md), sans I/O, on
// OpenSSL 3 with memory BIOs: the driver feeds received bytes and sends what PollSend returns.
//
//   auto context = TlsContext::Create(identity_key).value();     // one per node: its certificate
//   auto tls = TlsSession::Create(context, TlsRole::kClient, expected_peer).value();
//   write(tls->PollSend());                                      // the ClientHello
//   while (!tls->done()) {
//     std::string plaintext;
//     if (absl::Status s = tls->HandleReceived(read_some(), &plaintext); !s.ok()) return close(s);
//     write(tls->PollSend());
//   }
//   tls->remote_peer();                      // from the peer's certificate extension
//   tls->Encode("bytes"); write(tls->PollSend());
//
// TLS 1.3 only, both sides present a certificate (the server requires the client's), ALPN
// "libp2p", no session tickets or resumption. A peer's certificate is checked by
// VerifyCertificate (certificate.h) inside the handshake; a client aborts on a peer other than
// the expected one. Errors are final.
#ifndef CONNMGR_SHELL_TLS_SESSION_H_
#define CONNMGR_SHELL_TLS_SESSION_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/peer_id.h"
#include "shell/crypto/keys.h"
#include "shell/tls/certificate.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace connmgr::tls {

inline constexpr char kAlpn[] = "libp2p";

enum class TlsRole { kClient, kServer };

// A node's TLS configuration: its certificate (made once, reused for every connection, as the
// spec allows) and OpenSSL's context.
class TlsContext {
 public:
  static absl::StatusOr<std::shared_ptr<TlsContext>> Create(const crypto::PrivateKey& identity);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }

 private:
  TlsContext(SSL_CTX* ctx, Certificate certificate)
      : ctx_(ctx), certificate_(std::move(certificate)) {}

  SSL_CTX* ctx_;
  Certificate certificate_;
};

class TlsSession {
 public:
  static absl::StatusOr<std::unique_ptr<TlsSession>> Create(
      std::shared_ptr<TlsContext> context, TlsRole role,
      std::optional<PeerId> expected_remote = std::nullopt);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Feeds bytes received from the peer. Application data (after the handshake, including any
  // that came with its last message) is appended to `plaintext`.
  absl::Status HandleReceived(absl::string_view bytes, std::string* plaintext);
  // Encrypts application data; only once done().
  absl::Status Encode(absl::string_view plaintext);
  // Drains the bytes to send.
  std::string PollSend();

  bool done() const { return done_; }
  const absl::Status& status() const { return status_; }
  // Set once the peer's certificate was verified.
  const PeerId& remote_peer() const { return remote_peer_; }
  std::optional<crypto::KeyType> remote_key_type() const { return remote_key_type_; }

  // Called by OpenSSL's certificate verification (an implementation detail).
  int VerifyPeerCertificate(void* store);

 private:
  TlsSession(std::shared_ptr<TlsContext> context, std::optional<PeerId> expected_remote)
      : context_(std::move(context)), expected_remote_(std::move(expected_remote)) {}

  absl::Status Fail(absl::Status status);
  absl::Status OpensslFailure(absl::string_view doing, int result);
  absl::Status ReadApplicationData(std::string* plaintext);

  std::shared_ptr<TlsContext> context_;
  std::optional<PeerId> expected_remote_;
  SSL* ssl_ = nullptr;
  void* read_bio_ = nullptr;   // BIO*, owned by ssl_
  void* write_bio_ = nullptr;  // BIO*, owned by ssl_
  bool done_ = false;
  absl::Status status_;
  absl::Status verify_error_;
  PeerId remote_peer_;
  std::optional<crypto::KeyType> remote_key_type_;
};

}  // namespace connmgr::tls

#endif  // CONNMGR_SHELL_TLS_SESSION_H_
