// Witness cosignatures on the ledger's checkpoints (c2sp.org/tlog-cosignature, Ed25519
// "cosignature/v1"), so an auditor need not trust the ledger's key alone: a witness that checked
// the log only grew signs the checkpoint, and the ledger keeps and shows what it signed.
//
// A cosignature is a signed-note signature line on the checkpoint,
//
//   — <witness name> base64(key id || u64 big-endian timestamp || Ed25519 signature)
//
// key id = SHA-256(name || 0x0A || 0x04 || public key)[:4], and the signature covers
//
//   "cosignature/v1\n" "time <timestamp>\n" <the checkpoint's note text, every line>
//
// Witnesses are named by note verifier keys, "<name>+<hex key id>+<base64(0x04 || key)>".
//
// Stored in the Store's index keyspace, beside the checkpoints:
//   "w/" size8 name 0x00 keyid4  -> the signature line (with its newline)
// the index rather than meta because a reader lists a checkpoint's cosignatures by prefix without
// knowing the witness keys; a later cosignature by the same witness of the same checkpoint
// replaces the earlier one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/checkpoint.h"
#include "ledger/ledger.h"
#include "ledger/status.h"
#include "ledger/store.h"

namespace shiplog {

// A witness key the ledger is told to trust.
struct WitnessKey {
  std::string name;
  std::string public_key;  // 32 raw bytes
  uint32_t key_id = 0;

  // Parses a note verifier key of type 0x04 (cosignature/v1); kInvalidArgument naming the fault
  // (a key id that does not match name and key, a key of another type).
  static Result<WitnessKey> Parse(std::string_view vkey);
};

// Parse() of each of `vkeys` (the repeated --witness-key option).
Result<std::vector<WitnessKey>> ParseWitnessKeys(const std::vector<std::string>& vkeys);

// One verified cosignature.
struct Cosignature {
  std::string witness;     // the witness key's name
  uint64_t timestamp = 0;  // POSIX seconds, as the witness signed it
  std::string line;        // the signature line with its newline
};

// What a witness signs for `note_text` at `timestamp`.
std::string CosignedMessage(std::string_view note_text, uint64_t timestamp);

// The signature line `witness_key` (its seed's key pair) makes under `name` for a checkpoint's
// note text: how a witness cosigns (tests, drills).
std::string CosignatureLine(std::string_view name, const SigningKey& witness_key,
                            std::string_view note_text, uint64_t timestamp);

// Checks `note` (a checkpoint note with cosignature lines after the ledger's) and stores its
// cosignatures: the note must carry the ledger's signature and be the checkpoint the ledger
// signed at its size; every other line must be a cosignature by one of `trusted` that verifies.
// kInvalidArgument naming the fault, and nothing stored, otherwise. Safe alongside appends.
Result<std::vector<Cosignature>> AddCosignatures(const Ledger& ledger, std::string_view note,
                                                 const std::vector<WitnessKey>& trusted);

// The checkpoint with its stored cosignature lines appended to the note (after the ledger's
// signature), and their witnesses and times.
struct CosignedCheckpoint {
  Checkpoint checkpoint;  // note: the ledger's note with the cosignature lines
  std::vector<Cosignature> cosignatures;

  // Checkpoint::ToJson() and "cosignatures": [{"witness", "timestamp"}].
  nlohmann::json ToJson() const;
};
Result<CosignedCheckpoint> WithCosignatures(Store& store, Checkpoint checkpoint);

}  // namespace shiplog
