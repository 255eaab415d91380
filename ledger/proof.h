// Proofs a ledger hands out and anyone can check offline with nothing but the ledger's public
// key: that a record is in the log (inclusion) and that the log only grew between two
// checkpoints (consistency). The hashes are RFC 9162's, so any RFC 6962 verifier accepts them.
//
// JSON forms (hashes in hex, checkpoints as their signed-note text):
//   {"type": "inclusion", "seq": N, "size": M, "leaf_hash": "...", "proof": ["...", ...],
//    "checkpoint": "<note of size M>"}
//   {"type": "consistency", "from": M, "to": N, "proof": [...],
//    "old_checkpoint": "<note of size M>", "new_checkpoint": "<note of size N>"}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ledger/checkpoint.h"
#include "ledger/merkle.h"
#include "ledger/status.h"

namespace shiplog {

std::vector<std::string> HashesToHex(const std::vector<merkle::Hash>& hashes);
// Fails naming `what` when an entry is not 64 hex characters.
Result<std::vector<merkle::Hash>> HashesFromJson(const nlohmann::json& json, const std::string& what);
Result<merkle::Hash> HashFromBytes(std::string_view bytes, const std::string& what);

// Leaf `seq` is in the tree of the checkpoint.
struct InclusionProof {
  uint64_t seq = 0;
  merkle::Hash leaf_hash{};
  std::vector<merkle::Hash> path;
  Checkpoint checkpoint;  // of the tree the path leads to

  nlohmann::json ToJson() const;
  // Parses and checks the checkpoint's signature by `ledger_public_key`; Verify() does the rest.
  static Result<InclusionProof> FromJson(const nlohmann::json& json,
                                         std::string_view ledger_public_key);
  // kCorrupt when the path does not lead from the leaf to the checkpoint's root.
  Status Verify() const;
};

// The tree of `old_checkpoint` is a prefix of the tree of `new_checkpoint`.
struct ConsistencyProof {
  std::vector<merkle::Hash> path;
  Checkpoint old_checkpoint;
  Checkpoint new_checkpoint;

  nlohmann::json ToJson() const;
  static Result<ConsistencyProof> FromJson(const nlohmann::json& json,
                                           std::string_view ledger_public_key);
  // kCorrupt when the path does not prove the old tree a prefix of the new one, or the new
  // checkpoint's time is before the old one's.
  Status Verify() const;
};

}  // namespace shiplog
