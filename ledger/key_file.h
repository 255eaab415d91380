// Key files: how a signing key is kept on disk.
//
// A key file is JSON {"type": "ed25519", "secret": "<64 hex: the 32-byte seed>", "public":
// "<64 hex>"}, written with mode 0600; FILE.pub beside it holds the public key as 64 hex
// characters and a newline. A key file that group or others can read is refused: a leaked secret
// key signs events in its holder's name.
#pragma once

#include <string>

#include "ledger/crypto.h"
#include "ledger/status.h"

namespace shiplog {

// Writes a new key pair to `path` (0600) and `path`.pub (0644). Refuses to overwrite either.
Status WriteNewKeyFile(const std::string& path, const SigningKey& key);

// Reads a key file; refuses one readable by group or others, or one whose public half does not
// match its secret.
Result<SigningKey> ReadKeyFile(const std::string& path);

// Reads a public key: a .pub file (64 hex characters), a key file's public half, or, when `arg`
// is not a file, 64 hex characters given directly. Returns 32 raw bytes.
Result<std::string> ReadPublicKey(const std::string& arg);

}  // namespace shiplog
