#include "ledger/proof.h"

#include <cstring>

namespace shiplog {
namespace {

Result<uint64_t> Uint(const nlohmann::json& json, const char* field) {
  if (!json.contains(field) || !json[field].is_number_unsigned()) {
    return Status::InvalidArgument(std::string("the proof needs \"") + field +
                                   "\" (a non-negative integer)");
  }
  return json[field].get<uint64_t>();
}

Result<Checkpoint> CheckpointField(const nlohmann::json& json, const char* field,
                                   std::string_view ledger_public_key) {
  if (!json.contains(field) || !json[field].is_string()) {
    return Status::InvalidArgument(std::string("the proof needs \"") + field +
                                   "\" (a checkpoint's note text)");
  }
  return Checkpoint::Open(json[field].get<std::string>(), ledger_public_key);
}

}  // namespace

std::vector<std::string> HashesToHex(const std::vector<merkle::Hash>& hashes) {
  std::vector<std::string> out;
  out.reserve(hashes.size());
  for (const auto& h : hashes) out.push_back(HexEncode(AsBytes(h)));
  return out;
}

Result<merkle::Hash> HashFromBytes(std::string_view bytes, const std::string& what) {
  merkle::Hash h{};
  if (bytes.size() != h.size()) return Status::InvalidArgument(what + " is not a 32-byte hash");
  std::memcpy(h.data(), bytes.data(), h.size());
  return h;
}

Result<std::vector<merkle::Hash>> HashesFromJson(const nlohmann::json& json,
                                                 const std::string& what) {
  if (!json.is_array() || json.size() > 64) {
    return Status::InvalidArgument(what + " is not a list of at most 64 hashes");
  }
  std::vector<merkle::Hash> out;
  for (size_t i = 0; i < json.size(); ++i) {
    std::string name = what + " entry " + std::to_string(i);
    if (!json[i].is_string()) return Status::InvalidArgument(name + " is not a hex string");
    auto bytes = HexDecode(json[i].get<std::string>());
    if (!bytes.ok()) return Status::InvalidArgument(name + " is not hex");
    SHIPLOG_ASSIGN_OR_RETURN(merkle::Hash h, HashFromBytes(*bytes, name));
    out.push_back(h);
  }
  return out;
}

// ---- inclusion ----

nlohmann::json InclusionProof::ToJson() const {
  return {{"type", "inclusion"},
          {"seq", seq},
          {"size", checkpoint.head.size},
          {"leaf_hash", HexEncode(AsBytes(leaf_hash))},
          {"proof", HashesToHex(path)},
          {"checkpoint", checkpoint.note}};
}

Result<InclusionProof> InclusionProof::FromJson(const nlohmann::json& json,
                                                std::string_view ledger_public_key) {
  if (!json.is_object() || json.value("type", "") != "inclusion") {
    return Status::InvalidArgument("not an inclusion proof (\"type\": \"inclusion\")");
  }
  InclusionProof proof;
  SHIPLOG_ASSIGN_OR_RETURN(proof.seq, Uint(json, "seq"));
  SHIPLOG_ASSIGN_OR_RETURN(uint64_t size, Uint(json, "size"));
  if (!json.contains("leaf_hash") || !json["leaf_hash"].is_string()) {
    return Status::InvalidArgument("the proof needs \"leaf_hash\" (hex)");
  }
  auto leaf = HexDecode(json["leaf_hash"].get<std::string>());
  if (!leaf.ok()) return Status::InvalidArgument("\"leaf_hash\" is not hex");
  SHIPLOG_ASSIGN_OR_RETURN(proof.leaf_hash, HashFromBytes(*leaf, "\"leaf_hash\""));
  SHIPLOG_ASSIGN_OR_RETURN(proof.path, HashesFromJson(json.value("proof", nlohmann::json()),
                                                      "\"proof\""));
  SHIPLOG_ASSIGN_OR_RETURN(proof.checkpoint,
                           CheckpointField(json, "checkpoint", ledger_public_key));
  if (proof.checkpoint.head.size != size) {
    return Status::InvalidArgument("\"size\" is " + std::to_string(size) +
                                   " but the checkpoint is at size " +
                                   std::to_string(proof.checkpoint.head.size));
  }
  return proof;
}

Status InclusionProof::Verify() const {
  const TreeHead& head = checkpoint.head;
  if (!merkle::VerifyInclusion(seq, head.size, leaf_hash, path, head.root)) {
    return Status::Corrupt("record " + std::to_string(seq) +
                           " is not proved in the checkpoint at size " +
                           std::to_string(head.size) +
                           ": the inclusion proof does not lead to its root");
  }
  return Status::Ok();
}

// ---- consistency ----

nlohmann::json ConsistencyProof::ToJson() const {
  return {{"type", "consistency"},
          {"from", old_checkpoint.head.size},
          {"to", new_checkpoint.head.size},
          {"proof", HashesToHex(path)},
          {"old_checkpoint", old_checkpoint.note},
          {"new_checkpoint", new_checkpoint.note}};
}

Result<ConsistencyProof> ConsistencyProof::FromJson(const nlohmann::json& json,
                                                    std::string_view ledger_public_key) {
  if (!json.is_object() || json.value("type", "") != "consistency") {
    return Status::InvalidArgument("not a consistency proof (\"type\": \"consistency\")");
  }
  ConsistencyProof proof;
  SHIPLOG_ASSIGN_OR_RETURN(uint64_t from, Uint(json, "from"));
  SHIPLOG_ASSIGN_OR_RETURN(uint64_t to, Uint(json, "to"));
  SHIPLOG_ASSIGN_OR_RETURN(proof.path, HashesFromJson(json.value("proof", nlohmann::json()),
                                                      "\"proof\""));
  SHIPLOG_ASSIGN_OR_RETURN(proof.old_checkpoint,
                           CheckpointField(json, "old_checkpoint", ledger_public_key));
  SHIPLOG_ASSIGN_OR_RETURN(proof.new_checkpoint,
                           CheckpointField(json, "new_checkpoint", ledger_public_key));
  if (proof.old_checkpoint.head.size != from || proof.new_checkpoint.head.size != to) {
    return Status::InvalidArgument("\"from\" and \"to\" do not match the checkpoints' sizes");
  }
  return proof;
}

Status ConsistencyProof::Verify() const {
  const TreeHead& old_head = old_checkpoint.head;
  const TreeHead& new_head = new_checkpoint.head;
  const std::string sizes =
      std::to_string(old_head.size) + " to " + std::to_string(new_head.size);
  if (old_head.origin != new_head.origin) {
    return Status::Corrupt("the checkpoints at sizes " + sizes + " name different logs");
  }
  if (!merkle::VerifyConsistency(old_head.size, new_head.size, old_head.root, new_head.root,
                                 path)) {
    return Status::Corrupt("the log from size " + sizes +
                           " is not consistent: the older checkpoint's tree is not a prefix of "
                           "the newer one's (history was rewritten)");
  }
  if (new_head.time < old_head.time) {
    return Status::Corrupt("the checkpoint at size " + std::to_string(new_head.size) +
                           " has a time before the one at size " + std::to_string(old_head.size));
  }
  return Status::Ok();
}

}  // namespace shiplog
