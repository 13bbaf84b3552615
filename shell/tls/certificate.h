// The libp2p TLS certificate (libp2p specs, tls/tls.md): a self-signed X.509 certificate on a
// fresh P-256 key, carrying the libp2p Public Key Extension (OID 1.3.6.1.4.1.53594.1.1) —
//   SignedKey ::= SEQUENCE { publicKey OCTET STRING, signature OCTET STRING }
// with the host's PublicKey protobuf and its signature over "libp2p-tls-handshake:" + the
// certificate key's DER SubjectPublicKeyInfo. OpenSSL 3 builds and parses the certificates.
//
//   absl::StatusOr<Certificate> mine = Certificate::Create(identity_key);
//   absl::StatusOr<crypto::PublicKey> peer = VerifyCertificateDer(received_der, now_unix);
//
// Verification follows the spec: one certificate, valid at `now`, a valid self-signature, the
// extension present exactly once, no other critical extension, the host key's signature valid.
#ifndef CONNMGR_SHELL_TLS_CERTIFICATE_H_
#define CONNMGR_SHELL_TLS_CERTIFICATE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "shell/crypto/keys.h"

typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;

namespace connmgr::tls {

inline constexpr char kExtensionOid[] = "1.3.6.1.4.1.53594.1.1";
inline constexpr char kSignaturePrefix[] = "libp2p-tls-handshake:";
// The longest certificate accepted from a peer (an RSA-8192 host key makes one of about 2.5 kB).
inline constexpr size_t kMaxCertificateBytes = size_t{8} * 1024;
// The longest SignedKey accepted: a PublicKey protobuf and a signature, each at their limits.
inline constexpr size_t kMaxSignedKeyBytes =
    crypto::kMaxPublicKeyBytes + crypto::kMaxSignatureBytes + 16;

struct SignedKey {
  std::string public_key;  // PublicKey protobuf
  std::string signature;
};

// DER of SignedKey.
std::string EncodeSignedKey(const SignedKey& key);
// Strict: exactly a SEQUENCE of two OCTET STRINGs, nothing after, at most kMaxSignedKeyBytes.
absl::StatusOr<SignedKey> DecodeSignedKey(absl::string_view der);

// This side's certificate and the key it was made with.
class Certificate {
 public:
  // Valid from an hour ago (clock skew) for 100 years, as go-libp2p's.
  static absl::StatusOr<Certificate> Create(const crypto::PrivateKey& identity);

  X509* x509() const { return x509_.get(); }
  EVP_PKEY* key() const { return key_.get(); }
  std::string Der() const;

 private:
  Certificate(std::shared_ptr<X509> x509, std::shared_ptr<EVP_PKEY> key)
      : x509_(std::move(x509)), key_(std::move(key)) {}

  std::shared_ptr<X509> x509_;
  std::shared_ptr<EVP_PKEY> key_;
};

// Checks a peer's certificate at `now_unix` (seconds) and returns the host key it proves.
// kUnauthenticated for a certificate that fails a check, kInvalidArgument if it is malformed.
absl::StatusOr<crypto::PublicKey> VerifyCertificate(X509* certificate, int64_t now_unix);
absl::StatusOr<crypto::PublicKey> VerifyCertificateDer(absl::string_view der, int64_t now_unix);

}  // namespace connmgr::tls

#endif  // CONNMGR_SHELL_TLS_CERTIFICATE_H_
