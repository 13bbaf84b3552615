// QUIC's TLS 1.3 handshake on GnuTLS (libp2p specs, quic and tls/tls.md): this node's libp2p
// certificate (shell/tls/certificate.h, made with OpenSSL and handed to GnuTLS as PEM), ALPN
// "libp2p", both sides presenting a certificate, and the peer's certificate checked by
// tls::VerifyCertificateDer inside the handshake so that the peer id is known when it ends.
//
//   auto credentials = TlsCredentials::Create(identity).value();   // once per node
//   HandshakePeer peer;                                             // lives with the connection
//   peer.conn = ngtcp2_connection;
//   auto session = MakeTlsSession(*credentials, /*server=*/true, &peer).value();
//   ngtcp2_conn_set_tls_native_handle(peer.conn, session.get());
//   ... after the handshake: peer.remote, or peer.error saying why it was refused.
#ifndef CONNMGR_SHELL_QUIC_TLS_H_
#define CONNMGR_SHELL_QUIC_TLS_H_

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/peer_id.h"
#include "shell/crypto/keys.h"

namespace connmgr::quic {

// This node's certificate and key in GnuTLS's form, shared by every QUIC connection.
class TlsCredentials {
 public:
  static absl::StatusOr<std::shared_ptr<TlsCredentials>> Create(const crypto::PrivateKey& identity);
  ~TlsCredentials();
  TlsCredentials(const TlsCredentials&) = delete;
  TlsCredentials& operator=(const TlsCredentials&) = delete;

  gnutls_certificate_credentials_t get() const { return credentials_; }

 private:
  explicit TlsCredentials(gnutls_certificate_credentials_t c) : credentials_(c) {}
  gnutls_certificate_credentials_t credentials_;
};

// What one connection's handshake learns about the peer; reachable from the GnuTLS session
// (ngtcp2's crypto backend finds the connection through `ref`, the verifier this struct).
struct HandshakePeer {
  HandshakePeer();
  ngtcp2_crypto_conn_ref ref;
  ngtcp2_conn* conn = nullptr;
  std::optional<PeerId> expected;  // outbound: the peer dialled
  std::optional<PeerId> remote;    // set once its certificate verified
  std::string error;               // why its certificate was refused
};

struct GnutlsSessionDeleter {
  void operator()(gnutls_session_t s) const { gnutls_deinit(s); }
};
using TlsSessionPtr = std::unique_ptr<gnutls_session_int, GnutlsSessionDeleter>;

// A GnuTLS session for one QUIC connection, wired to ngtcp2 (the caller then hands it to the
// connection with ngtcp2_conn_set_tls_native_handle). `peer` must outlive the session.
absl::StatusOr<TlsSessionPtr> MakeTlsSession(const TlsCredentials& credentials, bool server,
                                             HandshakePeer* peer);

}  // namespace connmgr::quic

#endif  // CONNMGR_SHELL_QUIC_TLS_H_
