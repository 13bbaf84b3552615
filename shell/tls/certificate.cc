#include "shell/tls/certificate.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace connmgr::tls {
namespace {

constexpr int kValidityYears = 100;
constexpr int kMaxCertificateKeyBits = 8192;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::string_view View(const ASN1_STRING* s) {
  return absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                           static_cast<size_t>(ASN1_STRING_length(s)));
}

absl::Status Unauthenticated(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("TLS certificate: ", why));
}

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("TLS certificate: ", why));
}

ASN1_OBJECT* ExtensionObject() {
  static ASN1_OBJECT* object = OBJ_txt2obj(kExtensionOid, /*no_name=*/1);
  return object;
}

// Critical extensions other than ours that a certificate may carry: their meaning is known
// (they constrain a CA or the key's use) and none of them changes what a self-signed libp2p
// certificate proves.
bool UnderstoodCriticalExtension(int nid) {
  return nid == NID_basic_constraints || nid == NID_key_usage || nid == NID_ext_key_usage;
}

}  // namespace

std::string EncodeSignedKey(const SignedKey& key) {
  STACK_OF(ASN1_TYPE)* sequence = sk_ASN1_TYPE_new_null();
  for (const std::string* field : {&key.public_key, &key.signature}) {
    ASN1_OCTET_STRING* octets = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(octets, Bytes(*field), static_cast<int>(field->size()));
    ASN1_TYPE* element = ASN1_TYPE_new();
    ASN1_TYPE_set(element, V_ASN1_OCTET_STRING, octets);
    sk_ASN1_TYPE_push(sequence, element);
  }
  unsigned char* out = nullptr;
  const int n = i2d_ASN1_SEQUENCE_ANY(sequence, &out);
  sk_ASN1_TYPE_pop_free(sequence, ASN1_TYPE_free);
  std::string der = n > 0 ? std::string(reinterpret_cast<const char*>(out), n) : "";
  OPENSSL_free(out);
  return der;
}

absl::StatusOr<SignedKey> DecodeSignedKey(absl::string_view der) {
  if (der.size() > kMaxSignedKeyBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "SignedKey: %d bytes, more than the %d allowed", der.size(), kMaxSignedKeyBytes));
  }
  const unsigned char* p = Bytes(der);
  STACK_OF(ASN1_TYPE)* sequence = d2i_ASN1_SEQUENCE_ANY(nullptr, &p, static_cast<long>(der.size()));
  ERR_clear_error();
  if (sequence == nullptr) return absl::InvalidArgumentError("SignedKey: not a DER SEQUENCE");
  absl::Status status;
  SignedKey key;
  if (p != Bytes(der) + der.size()) {
    status = absl::InvalidArgumentError("SignedKey: bytes after the SEQUENCE");
  } else if (sk_ASN1_TYPE_num(sequence) != 2) {
    status = absl::InvalidArgumentError(absl::StrFormat(
        "SignedKey: %d elements, not 2 (publicKey, signature)", sk_ASN1_TYPE_num(sequence)));
  } else {
    for (int i = 0; i < 2 && status.ok(); ++i) {
      const ASN1_TYPE* element = sk_ASN1_TYPE_value(sequence, i);
      if (ASN1_TYPE_get(element) != V_ASN1_OCTET_STRING) {
        status = absl::InvalidArgumentError(absl::StrCat(
            "SignedKey: ", i == 0 ? "publicKey" : "signature", " is not an OCTET STRING"));
        break;
      }
      (i == 0 ? key.public_key : key.signature) = std::string(View(element->value.octet_string));
    }
  }
  sk_ASN1_TYPE_pop_free(sequence, ASN1_TYPE_free);
  if (!status.ok()) return status;
  // Only the one encoding: BER variants (indefinite or long-form lengths) are refused.
  if (EncodeSignedKey(key) != der) {
    return absl::InvalidArgumentError("SignedKey: not in DER");
  }
  return key;
}

absl::StatusOr<Certificate> Certificate::Create(const crypto::PrivateKey& identity) {
  std::shared_ptr<EVP_PKEY> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  std::shared_ptr<X509> x509(X509_new(), X509_free);
  ERR_clear_error();
  if (key == nullptr || x509 == nullptr) {
    return absl::InternalError("TLS certificate: OpenSSL could not make a key");
  }
  absl::StatusOr<std::string> signature =
      identity.Sign(absl::StrCat(kSignaturePrefix, crypto::DerPublicKey(key.get())));
  if (!signature.ok()) return signature.status();
  const std::string extension_value =
      EncodeSignedKey(SignedKey{identity.PublicKeyProtobuf(), *signature});

  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial));
  serial >>= 1;  // positive
  X509* x = x509.get();
  X509_NAME* name = X509_NAME_new();
  const std::string serial_text = absl::StrCat(serial);
  ASN1_OCTET_STRING* octets = ASN1_OCTET_STRING_new();
  X509_EXTENSION* extension = nullptr;
  bool ok = X509_set_version(x, X509_VERSION_3) == 1 &&
            ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(x), -3600) != nullptr &&
            X509_time_adj_ex(X509_getm_notAfter(x), 365 * kValidityYears, 0, nullptr) != nullptr &&
            name != nullptr &&
            X509_NAME_add_entry_by_txt(name, "serialNumber", MBSTRING_ASC, Bytes(serial_text), -1,
                                       -1, 0) == 1 &&
            X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, name) == 1 &&
            X509_set_pubkey(x, key.get()) == 1 && octets != nullptr &&
            ASN1_OCTET_STRING_set(octets, Bytes(extension_value),
                                  static_cast<int>(extension_value.size())) == 1;
  if (ok) {
    extension = X509_EXTENSION_create_by_OBJ(nullptr, ExtensionObject(), /*crit=*/0, octets);
    ok = extension != nullptr && X509_add_ext(x, extension, -1) == 1 &&
         X509_sign(x, key.get(), EVP_sha256()) > 0;
  }
  X509_EXTENSION_free(extension);
  ASN1_OCTET_STRING_free(octets);
  X509_NAME_free(name);
  ERR_clear_error();
  if (!ok) return absl::InternalError("TLS certificate: OpenSSL could not build it");
  return Certificate(std::move(x509), std::move(key));
}

std::string Certificate::Der() const {
  unsigned char* out = nullptr;
  const int n = i2d_X509(x509_.get(), &out);
  std::string der = n > 0 ? std::string(reinterpret_cast<const char*>(out), n) : "";
  OPENSSL_free(out);
  return der;
}

absl::StatusOr<crypto::PublicKey> VerifyCertificate(X509* certificate, int64_t now_unix) {
  time_t now = static_cast<time_t>(now_unix);
  if (X509_cmp_time(X509_get0_notBefore(certificate), &now) != -1) {
    return Unauthenticated("not valid yet (NotBefore is in the future)");
  }
  if (X509_cmp_time(X509_get0_notAfter(certificate), &now) != 1) {
    return Unauthenticated("expired (NotAfter has passed)");
  }
  const ASN1_BIT_STRING* issuer_uid = nullptr;
  const ASN1_BIT_STRING* subject_uid = nullptr;
  X509_get0_uids(certificate, &issuer_uid, &subject_uid);
  if (issuer_uid != nullptr || subject_uid != nullptr) {
    return Malformed("carries the deprecated issuerUniqueID or subjectUniqueID");
  }
  EVP_PKEY* certificate_key = X509_get0_pubkey(certificate);
  ERR_clear_error();
  if (certificate_key == nullptr) return Malformed("its public key does not decode");
  if (EVP_PKEY_get_bits(certificate_key) > kMaxCertificateKeyBits) {
    return Malformed(absl::StrFormat("its key of %d bits exceeds %d",
                                     EVP_PKEY_get_bits(certificate_key), kMaxCertificateKeyBits));
  }
  if (X509_verify(certificate, certificate_key) != 1) {
    ERR_clear_error();
    return Unauthenticated("its self-signature does not verify");
  }

  const ASN1_OCTET_STRING* value = nullptr;
  for (int i = 0; i < X509_get_ext_count(certificate); ++i) {
    X509_EXTENSION* extension = X509_get_ext(certificate, i);
    const ASN1_OBJECT* object = X509_EXTENSION_get_object(extension);
    if (OBJ_cmp(object, ExtensionObject()) == 0) {
      if (value != nullptr) return Malformed("the libp2p extension appears twice");
      value = X509_EXTENSION_get_data(extension);
    } else if (X509_EXTENSION_get_critical(extension) &&
               !UnderstoodCriticalExtension(OBJ_obj2nid(object))) {
      return Malformed("carries a critical extension this endpoint does not understand");
    }
  }
  if (value == nullptr) return Malformed("has no libp2p public key extension");
  absl::StatusOr<SignedKey> signed_key = DecodeSignedKey(View(value));
  if (!signed_key.ok()) return Malformed(signed_key.status().message());
  absl::StatusOr<crypto::PublicKey> host_key =
      crypto::PublicKey::FromProtobuf(signed_key->public_key);
  if (!host_key.ok()) {
    return absl::Status(host_key.status().code(),
                        absl::StrCat("TLS certificate: ", host_key.status().message()));
  }
  if (!host_key->Verify(absl::StrCat(kSignaturePrefix, crypto::DerPublicKey(certificate_key)),
                        signed_key->signature)) {
    return Unauthenticated("the host key's signature over the certificate key does not verify");
  }
  return host_key;
}

absl::StatusOr<crypto::PublicKey> VerifyCertificateDer(absl::string_view der, int64_t now_unix) {
  if (der.size() > kMaxCertificateBytes) {
    return Malformed(
        absl::StrFormat("%d bytes, more than the %d allowed", der.size(), kMaxCertificateBytes));
  }
  const unsigned char* p = Bytes(der);
  X509* certificate = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  ERR_clear_error();
  if (certificate == nullptr) return Malformed("not a DER X.509 certificate");
  std::unique_ptr<X509, void (*)(X509*)> owned(certificate, X509_free);
  if (p != Bytes(der) + der.size()) return Malformed("bytes after the certificate");
  return VerifyCertificate(certificate, now_unix);
}

}  // namespace connmgr::tls
