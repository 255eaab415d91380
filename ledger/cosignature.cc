#include "ledger/cosignature.h"

#include <cstdio>

#include "ledger/crypto.h"

namespace shiplog {
namespace {

constexpr char kCosignaturePrefix[] = "w/";
constexpr size_t kTimestampBytes = 8;
constexpr uint64_t kMaxTimestamp = (uint64_t{1} << 63) - 1;  // the spec's bound
// Tries of a cosignature commit that an append's commit came between (kConflict).
constexpr int kCommitTries = 16;

std::string CosignaturePrefix(uint64_t size) { return kCosignaturePrefix + EncodeSeq(size); }

std::string CosignatureKey(uint64_t size, const NoteSignature& signature) {
  std::string key = CosignaturePrefix(size) + signature.name;
  key += '\0';
  for (int shift = 24; shift >= 0; shift -= 8) key += static_cast<char>(signature.key_id >> shift);
  return key;
}

uint64_t ReadTimestamp(std::string_view bytes) {
  uint64_t value = 0;
  for (size_t i = 0; i < kTimestampBytes; ++i)
    value = (value << 8) | static_cast<uint8_t>(bytes[i]);
  return value;
}

std::string KeyIdHex(uint32_t id) {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", id);
  return hex;
}

// Checks one signature line of a note whose text is `text` against the trusted witnesses.
Result<Cosignature> CheckCosignature(const NoteSignature& signature, std::string_view text,
                                     const std::vector<WitnessKey>& trusted) {
  const WitnessKey* witness = nullptr;
  for (const WitnessKey& key : trusted) {
    if (key.name == signature.name && key.key_id == signature.key_id) witness = &key;
  }
  if (!witness) {
    return Status::InvalidArgument("the signature by '" + signature.name + "' (key id " +
                                   KeyIdHex(signature.key_id) +
                                   ") is not by a trusted witness key (--witness-key)");
  }
  if (signature.signature.size() != kTimestampBytes + kSignatureSize) {
    return Status::InvalidArgument("the cosignature by '" + signature.name +
                                   "' is not a timestamp and an Ed25519 signature");
  }
  const uint64_t timestamp = ReadTimestamp(signature.signature);
  if (timestamp > kMaxTimestamp) {
    return Status::InvalidArgument("the cosignature by '" + signature.name +
                                   "' has a timestamp above 2^63 - 1");
  }
  if (!VerifySignature(witness->public_key, CosignedMessage(text, timestamp),
                       std::string_view(signature.signature).substr(kTimestampBytes))) {
    return Status::InvalidArgument("the cosignature by '" + signature.name +
                                   "' does not verify over this checkpoint");
  }
  return Cosignature{signature.name, timestamp, signature.line};
}

// The note must be, in its text, the checkpoint the ledger signed at its size.
Result<Checkpoint> LedgerSigned(const Ledger& ledger, std::string_view note,
                                const std::string& text) {
  auto opened = Checkpoint::Open(note, ledger.public_key());
  if (!opened.ok()) {
    return Status::InvalidArgument("not a checkpoint of this ledger: " + opened.status().message());
  }
  auto ours = ledger.CheckpointAt(opened->head.size);
  if (!ours.ok()) {
    return Status::InvalidArgument("the ledger signed no checkpoint at size " +
                                   std::to_string(opened->head.size));
  }
  SHIPLOG_ASSIGN_OR_RETURN(SignedNote signed_note, SignedNote::Parse(ours->note));
  if (signed_note.text != text) {
    return Status::InvalidArgument("the note is not the checkpoint the ledger signed at size " +
                                   std::to_string(opened->head.size));
  }
  return std::move(ours).value();
}

// Writes index entries alone: a batch of no records at the current count. An append's commit
// may come between the count and the write (kConflict): read the count again.
Status CommitIndexPuts(Store& store, std::vector<std::pair<std::string, std::string>> puts) {
  StoreBatch batch;
  batch.index_puts = std::move(puts);
  Status last;
  for (int i = 0; i < kCommitTries; ++i) {
    SHIPLOG_ASSIGN_OR_RETURN(batch.first_seq, store.RecordCount());
    last = store.Commit(batch);
    if (last.code() != StatusCode::kConflict) return last;
  }
  return last;
}

}  // namespace

Result<WitnessKey> WitnessKey::Parse(std::string_view vkey) {
  const size_t first = vkey.find('+');
  const size_t second = first == std::string_view::npos ? first : vkey.find('+', first + 1);
  if (second == std::string_view::npos) {
    return Status::InvalidArgument("witness key '" + std::string(vkey) +
                                   "': want <name>+<hex key id>+<base64 key>");
  }
  WitnessKey key;
  key.name = std::string(vkey.substr(0, first));
  SHIPLOG_RETURN_IF_ERROR(CheckOrigin(key.name).Prefixed("witness key name"));
  auto typed = Base64Decode(vkey.substr(second + 1));
  if (!typed.ok() || typed->size() != 1 + kPublicKeySize) {
    return Status::InvalidArgument("witness key '" + key.name +
                                   "': the key is not base64 of a type byte and 32 bytes");
  }
  if (static_cast<uint8_t>((*typed)[0]) != kNoteCosignatureV1) {
    return Status::InvalidArgument("witness key '" + key.name + "': type " +
                                   std::to_string(static_cast<uint8_t>((*typed)[0])) +
                                   " is not 4 (Ed25519 cosignature/v1)");
  }
  key.public_key = typed->substr(1);
  key.key_id = NoteKeyId(key.name, key.public_key, kNoteCosignatureV1);
  if (vkey.substr(first + 1, second - first - 1) != KeyIdHex(key.key_id)) {
    return Status::InvalidArgument("witness key '" + key.name +
                                   "': the key id is not the one its name and key give (" +
                                   KeyIdHex(key.key_id) + ")");
  }
  return key;
}

Result<std::vector<WitnessKey>> ParseWitnessKeys(const std::vector<std::string>& vkeys) {
  std::vector<WitnessKey> keys;
  for (const std::string& vkey : vkeys) {
    SHIPLOG_ASSIGN_OR_RETURN(WitnessKey key, WitnessKey::Parse(vkey));
    keys.push_back(std::move(key));
  }
  return keys;
}

std::string CosignedMessage(std::string_view note_text, uint64_t timestamp) {
  return "cosignature/v1\ntime " + std::to_string(timestamp) + "\n" + std::string(note_text);
}

std::string CosignatureLine(std::string_view name, const SigningKey& witness_key,
                            std::string_view note_text, uint64_t timestamp) {
  std::string blob;
  for (int shift = 56; shift >= 0; shift -= 8) blob += static_cast<char>(timestamp >> shift);
  blob += witness_key.Sign(CosignedMessage(note_text, timestamp));
  return FormatNoteSignatureLine(name, NoteKeyId(name, witness_key.PublicKey(), kNoteCosignatureV1),
                                 blob);
}

Result<std::vector<Cosignature>> AddCosignatures(const Ledger& ledger, std::string_view note,
                                                 const std::vector<WitnessKey>& trusted) {
  SHIPLOG_ASSIGN_OR_RETURN(SignedNote parsed, SignedNote::Parse(note));
  SHIPLOG_ASSIGN_OR_RETURN(Checkpoint ours, LedgerSigned(ledger, note, parsed.text));
  const uint32_t ledger_id = NoteKeyId(ours.head.origin, ledger.public_key());
  std::vector<Cosignature> found;
  std::vector<std::pair<std::string, std::string>> puts;
  for (const NoteSignature& signature : parsed.signatures) {
    if (signature.name == ours.head.origin && signature.key_id == ledger_id) continue;
    SHIPLOG_ASSIGN_OR_RETURN(Cosignature cosignature,
                             CheckCosignature(signature, parsed.text, trusted));
    puts.emplace_back(CosignatureKey(ours.head.size, signature), cosignature.line);
    found.push_back(std::move(cosignature));
  }
  if (found.empty()) {
    return Status::InvalidArgument("the note carries no cosignature besides the ledger's");
  }
  SHIPLOG_RETURN_IF_ERROR(CommitIndexPuts(ledger.store(), std::move(puts)));
  return found;
}

Result<CosignedCheckpoint> WithCosignatures(Store& store, Checkpoint checkpoint) {
  CosignedCheckpoint out;
  Status status;
  const std::string prefix = CosignaturePrefix(checkpoint.head.size);
  SHIPLOG_RETURN_IF_ERROR(store.ScanIndex(prefix, "", [&](std::string_view, std::string_view line) {
    auto signature = line.empty() ? Result<NoteSignature>(Status::Corrupt("empty"))
                                  : ParseNoteSignatureLine(line.substr(0, line.size() - 1));
    if (!signature.ok() || signature->signature.size() < kTimestampBytes) {
      status = Status::Corrupt("a stored cosignature of checkpoint " +
                               std::to_string(checkpoint.head.size) + " is malformed");
      return false;
    }
    checkpoint.note += std::string(line);
    out.cosignatures.push_back(
        {signature->name, ReadTimestamp(signature->signature), std::string(line)});
    return true;
  }));
  SHIPLOG_RETURN_IF_ERROR(status);
  out.checkpoint = std::move(checkpoint);
  return out;
}

nlohmann::json CosignedCheckpoint::ToJson() const {
  nlohmann::json out = checkpoint.ToJson();
  out["cosignatures"] = nlohmann::json::array();
  for (const Cosignature& c : cosignatures) {
    out["cosignatures"].push_back({{"witness", c.witness}, {"timestamp", c.timestamp}});
  }
  return out;
}

}  // namespace shiplog
