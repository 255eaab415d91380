// Checkpoint: a signed tree head, in the C2SP tlog-checkpoint signed-note format that
// transparency-log tooling reads (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note).
//
//   shiplog/1f2e3d4c5b6a7988             origin: the log's name, also the signing key's name
//   42                                   tree size, decimal
//   k7v8p0Qx...=                         base64 of the RFC 6962 root hash
//   time 2026-11-24T14:02:00.123456Z     extension line: the ledger time of the last record
//   manual-clock                         extension line, drill ledgers only
//                                        (blank line)
//   — shiplog/1f2e3d4c5b6a7988 AbCd...   em dash, key name, base64(key id || Ed25519 signature)
//
// The signature is pure Ed25519 over the note text (the lines above the blank line, each with its
// newline); key id = SHA-256(key name || 0x0A || 0x01 || public key)[:4]. The spec calls extension
// lines opaque: other tools verify the size and root and ignore them, while shiplog reads the time
// from them so it can check that checkpoint time never goes backwards.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/status.h"

namespace shiplog {

// What a checkpoint states about the log.
struct TreeHead {
  std::string origin;
  uint64_t size = 0;
  Sha256Digest root{};
  Micros time = 0;            // ledger time of the last record in the tree
  bool manual_clock = false;  // a drill ledger: its times are not real
};

struct Checkpoint {
  TreeHead head;
  std::string note;  // the whole signed note, text and signature line

  // Signs `head` with `key` under the key name head.origin.
  static Checkpoint Sign(const TreeHead& head, const SigningKey& key);

  // Parses a signed note and checks it: the text's form, and a signature line by
  // `ledger_public_key` (32 raw bytes) under the origin's name that verifies. Lines by other keys
  // are ignored, as the signed-note spec asks. Fails with kBadSignature when no line by that key
  // verifies, and kInvalidArgument when the note is malformed.
  static Result<Checkpoint> Open(std::string_view note, std::string_view ledger_public_key);

  // Open() for the holder of the ledger key, with Open()'s answers at a small part of the cost:
  // the ledger key's signature is checked as the key's own (SigningKey::IsOwnSignature, a tenth
  // of a verify) and verified only when it is not.
  static Result<Checkpoint> OpenOwn(std::string_view note, const SigningKey& ledger_key);

  // {"origin", "size", "root_hash" (hex), "time", "manual_clock", "checkpoint" (the note)}
  nlohmann::json ToJson() const;

  // Reads a checkpoint given as its note text or as the JSON that ToJson() prints.
  static Result<Checkpoint> FromText(std::string_view text, std::string_view ledger_public_key);
};

// The note text (no signature) for `head`.
std::string CheckpointText(const TreeHead& head);

// The signature type byte of a signed-note key: 0x01 for the log's Ed25519 note signatures,
// 0x04 for a witness's Ed25519 cosignature/v1 (c2sp.org/tlog-cosignature).
constexpr uint8_t kNoteEd25519 = 0x01;
constexpr uint8_t kNoteCosignatureV1 = 0x04;

// The signed-note key id of a key: SHA-256(name || 0x0A || type || public key)[:4].
uint32_t NoteKeyId(std::string_view key_name, std::string_view public_key,
                   uint8_t type = kNoteEd25519);

// The note verifier key (c2sp.org/signed-note "vkey") of the ledger's Ed25519 key under `name`
// (the checkpoint origin): "<name>+<8 hex digits of the key id>+<base64(0x01 || key)>", the one
// string transparency tools are configured with to check checkpoints.
std::string NoteVerifierKey(std::string_view name, std::string_view public_key);

// One signature line of a signed note: "— <name> base64(key id || signature)".
struct NoteSignature {
  std::string name;
  uint32_t key_id = 0;
  std::string signature;  // the bytes after the key id
  std::string line;       // the whole line with its newline, as it appeared
};

// "— <name> base64(key id || signature)\n".
std::string FormatNoteSignatureLine(std::string_view name, uint32_t key_id,
                                    std::string_view signature);
// Parses one signature line (without its newline); kInvalidArgument when malformed.
Result<NoteSignature> ParseNoteSignatureLine(std::string_view line);

// A signed note split into its text (each line with its newline, blank line excluded) and its
// signature lines, with the form checks of c2sp.org/signed-note; kInvalidArgument naming what is
// malformed. Says nothing of whether any signature verifies.
struct SignedNote {
  std::string text;
  std::vector<NoteSignature> signatures;

  static Result<SignedNote> Parse(std::string_view note);
};

// Refuses an origin that cannot be a note key name (empty, spaces, '+', control characters).
Status CheckOrigin(std::string_view origin);

}  // namespace shiplog
