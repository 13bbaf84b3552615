#include "shell/tls/session.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"

namespace connmgr::tls {
namespace {

// ALPN's wire form: one length byte, then the name.
constexpr unsigned char kAlpnWire[] = {6, 'l', 'i', 'b', 'p', '2', 'p'};
// A TLS record's plaintext is at most 16 KiB.
constexpr size_t kRecordBytes = size_t{16} * 1024;

int SessionIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

BIO* AsBio(void* p) { return static_cast<BIO*>(p); }

int VerifyCallback(X509_STORE_CTX* store, void*) {
  SSL* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* session =
      ssl != nullptr ? static_cast<TlsSession*>(SSL_get_ex_data(ssl, SessionIndex())) : nullptr;
  if (session == nullptr) return 0;
  return session->VerifyPeerCertificate(store);
}

// The server picks "libp2p" among the client's offers (js-libp2p also offers muxers for the
// inlined negotiation, which this side does not use) and aborts without it, as the spec says.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
               unsigned int in_length, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kAlpnWire, sizeof(kAlpnWire), in, in_length) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

std::string OpensslErrors() {
  std::string out;
  for (int i = 0; i < 4; ++i) {
    const unsigned long e = ERR_get_error();
    if (e == 0) break;
    std::array<char, 256> text;
    ERR_error_string_n(e, text.data(), text.size());
    absl::StrAppend(&out, out.empty() ? "" : "; ", text.data());
  }
  ERR_clear_error();
  return out;
}

}  // namespace

absl::StatusOr<std::shared_ptr<TlsContext>> TlsContext::Create(const crypto::PrivateKey& identity) {
  absl::StatusOr<Certificate> certificate = Certificate::Create(identity);
  if (!certificate.ok()) return certificate.status();
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr) return absl::InternalError("TLS: OpenSSL could not make a context");
  const bool ok = SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
                  SSL_CTX_set_max_proto_version(ctx, 0) == 1 &&
                  SSL_CTX_use_certificate(ctx, certificate->x509()) == 1 &&
                  SSL_CTX_use_PrivateKey(ctx, certificate->key()) == 1 &&
                  SSL_CTX_check_private_key(ctx) == 1 && SSL_CTX_set_num_tickets(ctx, 0) == 1;
  if (!ok) {
    SSL_CTX_free(ctx);
    return absl::InternalError(absl::StrCat("TLS: context setup: ", OpensslErrors()));
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  // Bounds what a peer's Certificate message may make OpenSSL hold.
  SSL_CTX_set_max_cert_list(ctx, 2 * kMaxCertificateBytes);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx, VerifyCallback, nullptr);
  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);
  return std::shared_ptr<TlsContext>(new TlsContext(ctx, *std::move(certificate)));
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

absl::StatusOr<std::unique_ptr<TlsSession>> TlsSession::Create(std::shared_ptr<TlsContext> context,
                                                               TlsRole role,
                                                               std::optional<PeerId> expected) {
  SSL_CTX* ctx = context->ctx();
  std::unique_ptr<TlsSession> session(new TlsSession(std::move(context), std::move(expected)));
  session->ssl_ = SSL_new(ctx);
  BIO* read_bio = BIO_new(BIO_s_mem());
  BIO* write_bio = BIO_new(BIO_s_mem());
  if (session->ssl_ == nullptr || read_bio == nullptr || write_bio == nullptr) {
    BIO_free(read_bio);
    BIO_free(write_bio);
    return absl::InternalError("TLS: OpenSSL could not make a session");
  }
  // An empty memory BIO reports "retry later", not end of file.
  BIO_set_mem_eof_return(read_bio, -1);
  SSL_set_bio(session->ssl_, read_bio, write_bio);
  session->read_bio_ = read_bio;
  session->write_bio_ = write_bio;
  SSL_set_ex_data(session->ssl_, SessionIndex(), session.get());
  if (role == TlsRole::kClient) {
    SSL_set_connect_state(session->ssl_);
    // No SNI: the spec reserves it (and clients must not send one).
    if (SSL_set_alpn_protos(session->ssl_, kAlpnWire, sizeof(kAlpnWire)) != 0) {
      return absl::InternalError("TLS: cannot set ALPN");
    }
    const int r = SSL_do_handshake(session->ssl_);  // queues the ClientHello
    if (r != 1 && SSL_get_error(session->ssl_, r) != SSL_ERROR_WANT_READ) {
      return session->OpensslFailure("ClientHello", r);
    }
  } else {
    SSL_set_accept_state(session->ssl_);
  }
  return session;
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

int TlsSession::VerifyPeerCertificate(void* store_ptr) {
  auto* store = static_cast<X509_STORE_CTX*>(store_ptr);
  X509* certificate = X509_STORE_CTX_get0_cert(store);
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_untrusted(store);
  if (certificate == nullptr || (chain != nullptr && sk_X509_num(chain) != 1)) {
    verify_error_ = absl::UnauthenticatedError("TLS: the peer must send exactly one certificate");
  } else {
    absl::StatusOr<crypto::PublicKey> key =
        VerifyCertificate(certificate, static_cast<int64_t>(std::time(nullptr)));
    if (!key.ok()) {
      verify_error_ = key.status();
    } else if (expected_remote_ && key->ToPeerId() != *expected_remote_) {
      verify_error_ = absl::PermissionDeniedError(
          absl::StrCat("TLS handshake reached peer ", key->ToPeerId().ToString(),
                       ", not the expected ", expected_remote_->ToString()));
    } else {
      remote_peer_ = key->ToPeerId();
      remote_key_type_ = key->type();
      return 1;
    }
  }
  X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
  return 0;
}

absl::Status TlsSession::Fail(absl::Status status) {
  if (status_.ok()) status_ = std::move(status);
  return status_;
}

absl::Status TlsSession::OpensslFailure(absl::string_view doing, int result) {
  const int error = SSL_get_error(ssl_, result);
  if (!verify_error_.ok()) {
    ERR_clear_error();
    return Fail(verify_error_);
  }
  if (error == SSL_ERROR_ZERO_RETURN) {
    return Fail(absl::UnavailableError("TLS: the peer closed the connection"));
  }
  return Fail(absl::UnavailableError(absl::StrCat("TLS ", doing, ": ", OpensslErrors())));
}

absl::Status TlsSession::HandleReceived(absl::string_view bytes, std::string* plaintext) {
  if (!status_.ok()) return status_;
  while (!bytes.empty()) {
    const int n = BIO_write(AsBio(read_bio_), bytes.data(), static_cast<int>(bytes.size()));
    if (n <= 0) return Fail(absl::InternalError("TLS: cannot buffer received bytes"));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  if (!done_) {
    const int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      if (SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ) return absl::OkStatus();
      return OpensslFailure("handshake", r);
    }
    if (remote_peer_.is_empty()) {
      return Fail(absl::UnauthenticatedError("TLS: the peer's certificate was never checked"));
    }
    done_ = true;
  }
  return ReadApplicationData(plaintext);
}

absl::Status TlsSession::ReadApplicationData(std::string* plaintext) {
  // Everything buffered is read now, so the read BIO never holds more than one socket read.
  std::array<char, kRecordBytes> buffer;
  while (true) {
    const int n = SSL_read(ssl_, buffer.data(), static_cast<int>(buffer.size()));
    if (n > 0) {
      plaintext->append(buffer.data(), static_cast<size_t>(n));
      continue;
    }
    const int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_READ) return absl::OkStatus();
    return OpensslFailure("read", n);
  }
}

absl::Status TlsSession::Encode(absl::string_view plaintext) {
  if (!status_.ok()) return status_;
  if (!done_) return absl::FailedPreconditionError("TLS: encode before the handshake is done");
  while (!plaintext.empty()) {
    const size_t chunk = std::min(plaintext.size(), kRecordBytes);
    const int n = SSL_write(ssl_, plaintext.data(), static_cast<int>(chunk));
    if (n <= 0) return OpensslFailure("write", n);
    plaintext.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

std::string TlsSession::PollSend() {
  BIO* bio = AsBio(write_bio_);
  const size_t pending = BIO_ctrl_pending(bio);
  std::string out(pending, '\0');
  if (pending > 0) {
    const int n = BIO_read(bio, out.data(), static_cast<int>(pending));
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  return out;
}

}  // namespace connmgr::tls
