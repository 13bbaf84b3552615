// A node's persistent identity: its private key in a file, created on first use.
//
//   absl::StatusOr<PrivateKey> key = LoadOrCreateIdentity("/var/lib/node/identity",
//                                                         KeyType::kSecp256k1);
//
// The file holds exactly one libp2p PrivateKey protobuf (the encoding go-libp2p and js-libp2p
// store keys in: Type = 1, Data = 2; shell/crypto/keys.h) and nothing else. It is created with
// mode 0600 (O_EXCL: never over an existing file). A file that cannot be read, is not a regular
// file, is readable or writable by group or others, is larger than kMaxPrivateKeyBytes or does
// not decode is refused with an error naming the file and the problem; so is a file whose key
// type differs from the one asked for.
#ifndef CONNMGR_SHELL_CRYPTO_IDENTITY_FILE_H_
#define CONNMGR_SHELL_CRYPTO_IDENTITY_FILE_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "shell/crypto/keys.h"

namespace connmgr::crypto {

// Loads the key in `path`, or creates the file with a fresh key of `type` (Ed25519 when
// unset) if it does not exist. With `type` set, an existing key of another type is an error.
absl::StatusOr<PrivateKey> LoadOrCreateIdentity(const std::string& path,
                                                std::optional<KeyType> type);

// Reads an existing identity file (no creation).
absl::StatusOr<PrivateKey> LoadIdentity(const std::string& path);

}  // namespace connmgr::crypto

#endif  // CONNMGR_SHELL_CRYPTO_IDENTITY_FILE_H_
