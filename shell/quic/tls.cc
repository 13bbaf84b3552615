#include "shell/quic/tls.h"

#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include <ctime>
#include <string>

#include "absl/strings/str_cat.h"
#include "shell/tls/certificate.h"

namespace connmgr::quic {
namespace {

constexpr char kAlpn[] = "libp2p";

// TLS 1.3 only, the AEADs and groups QUIC stacks use, no middlebox compatibility mode (RFC 9001
// 8.4).
constexpr char kPriorities[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:%DISABLE_TLS13_COMPAT_MODE";

std::string Pem(int (*write)(BIO*, void*), void* object) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "";
  std::string out;
  if (write(bio, object) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  return out;
}

int WriteCertificate(BIO* bio, void* x509) {
  return PEM_write_bio_X509(bio, static_cast<X509*>(x509));
}
int WriteKey(BIO* bio, void* key) {
  return PEM_write_bio_PrivateKey(bio, static_cast<EVP_PKEY*>(key), nullptr, nullptr, 0, nullptr,
                                  nullptr);
}

ngtcp2_conn* ConnOf(ngtcp2_crypto_conn_ref* ref) {
  return static_cast<HandshakePeer*>(ref->user_data)->conn;
}

// Called by GnuTLS when the peer's certificate arrives (both sides): one certificate, the
// libp2p checks, and the dialled peer when there is one. Non-zero aborts the handshake.
int VerifyPeer(gnutls_session_t session) {
  auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
  if (ref == nullptr) return GNUTLS_E_CERTIFICATE_ERROR;
  auto* peer = static_cast<HandshakePeer*>(ref->user_data);
  unsigned int count = 0;
  const gnutls_datum_t* chain = gnutls_certificate_get_peers(session, &count);
  if (chain == nullptr || count != 1) {
    peer->error = absl::StrCat("the peer presented ", count, " certificates, not one");
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  absl::StatusOr<crypto::PublicKey> key = tls::VerifyCertificateDer(
      absl::string_view(reinterpret_cast<const char*>(chain[0].data), chain[0].size),
      static_cast<int64_t>(std::time(nullptr)));
  if (!key.ok()) {
    peer->error = absl::StrCat("certificate: ", key.status().message());
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  const PeerId id = key->ToPeerId();
  if (peer->expected && *peer->expected != id) {
    peer->error =
        absl::StrCat("dialled ", peer->expected->ToString(), " but reached ", id.ToString());
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  peer->remote = id;
  return 0;
}

}  // namespace

HandshakePeer::HandshakePeer() : ref{&ConnOf, this} {}

absl::StatusOr<std::shared_ptr<TlsCredentials>> TlsCredentials::Create(
    const crypto::PrivateKey& identity) {
  absl::StatusOr<tls::Certificate> certificate = tls::Certificate::Create(identity);
  if (!certificate.ok()) return certificate.status();
  const std::string cert_pem = Pem(&WriteCertificate, certificate->x509());
  const std::string key_pem = Pem(&WriteKey, certificate->key());
  if (cert_pem.empty() || key_pem.empty()) {
    return absl::InternalError("quic tls: cannot encode the certificate as PEM");
  }
  gnutls_certificate_credentials_t credentials = nullptr;
  if (gnutls_certificate_allocate_credentials(&credentials) != 0) {
    return absl::ResourceExhaustedError("quic tls: gnutls credentials");
  }
  auto made = std::shared_ptr<TlsCredentials>(new TlsCredentials(credentials));
  gnutls_datum_t cert{reinterpret_cast<unsigned char*>(const_cast<char*>(cert_pem.data())),
                      static_cast<unsigned int>(cert_pem.size())};
  gnutls_datum_t key{reinterpret_cast<unsigned char*>(const_cast<char*>(key_pem.data())),
                     static_cast<unsigned int>(key_pem.size())};
  if (int rv = gnutls_certificate_set_x509_key_mem2(credentials, &cert, &key, GNUTLS_X509_FMT_PEM,
                                                    nullptr, 0);
      rv != 0) {
    return absl::InternalError(absl::StrCat("quic tls: load certificate: ", gnutls_strerror(rv)));
  }
  gnutls_certificate_set_verify_function(credentials, &VerifyPeer);
  return made;
}

TlsCredentials::~TlsCredentials() { gnutls_certificate_free_credentials(credentials_); }

absl::StatusOr<TlsSessionPtr> MakeTlsSession(const TlsCredentials& credentials, bool server,
                                             HandshakePeer* peer) {
  gnutls_session_t raw = nullptr;
  const unsigned int flags =
      server ? (GNUTLS_SERVER | GNUTLS_NO_AUTO_SEND_TICKET) : unsigned{GNUTLS_CLIENT};
  if (gnutls_init(&raw, flags) != 0) return absl::ResourceExhaustedError("quic tls: gnutls_init");
  TlsSessionPtr session(raw);
  const int configured = server ? ngtcp2_crypto_gnutls_configure_server_session(raw)
                                : ngtcp2_crypto_gnutls_configure_client_session(raw);
  if (configured != 0) return absl::InternalError("quic tls: ngtcp2 crypto setup");
  if (int rv = gnutls_priority_set_direct(raw, kPriorities, nullptr); rv != 0) {
    return absl::InternalError(absl::StrCat("quic tls: priorities: ", gnutls_strerror(rv)));
  }
  if (int rv = gnutls_credentials_set(raw, GNUTLS_CRD_CERTIFICATE, credentials.get()); rv != 0) {
    return absl::InternalError(absl::StrCat("quic tls: credentials: ", gnutls_strerror(rv)));
  }
  if (server) gnutls_certificate_server_set_request(raw, GNUTLS_CERT_REQUIRE);
  gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>(kAlpn)),
                      static_cast<unsigned int>(sizeof(kAlpn) - 1)};
  if (int rv = gnutls_alpn_set_protocols(raw, &alpn, 1, GNUTLS_ALPN_MANDATORY); rv != 0) {
    return absl::InternalError(absl::StrCat("quic tls: alpn: ", gnutls_strerror(rv)));
  }
  gnutls_session_set_ptr(raw, &peer->ref);
  return session;
}

}  // namespace connmgr::quic
