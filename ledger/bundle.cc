// The audit bundle: exported from a ledger, verified with nothing but the ledger's key. Both
// sides build a record's readable fields with RecordJson() over the same fold of the records
// before it, so verification is "recompute and compare", never "trust what the file says".
#include "ledger/canonical.h"
#include "ledger/bundle.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "ledger/event.h"
#include "ledger/proof.h"
#include "ledger/record_checks.h"

namespace shiplog {
namespace {

using nlohmann::json;

constexpr char kDeploymentReason[] = "deployment";
constexpr char kKeyReason[] = "key";
constexpr char kPolicyReason[] = "policy";

// A member of a JSON object, or nullptr when `object` has none of that name.
const json* Field(const json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

bool IsKeyKind(std::string_view kind) {
  return kind == "ledger.genesis" || kind == "key.enrolled" || kind == "key.revoked";
}
bool IsPolicyKind(std::string_view kind) {
  return kind == "ledger.genesis" || kind == "policy.activated";
}
// The ledger's own records, signed by the ledger key rather than by an enrolled one.
bool IsLedgerSigned(const StoredRecord& record) {
  return record.seq == 0 || record.event.kind() == "policy.denied";
}

// Why `record` belongs in the bundle of `deployment`, in a fixed order; empty when it does not.
std::vector<std::string> InclusionReasons(const StoredRecord& record, std::string_view deployment) {
  std::vector<std::string> reasons;
  if (record.event.deployment() == deployment) reasons.emplace_back(kDeploymentReason);
  if (IsKeyKind(record.event.kind())) reasons.emplace_back(kKeyReason);
  if (IsPolicyKind(record.event.kind())) reasons.emplace_back(kPolicyReason);
  return reasons;
}

bool HasReason(const std::vector<std::string>& reasons, const char* reason) {
  return std::find(reasons.begin(), reasons.end(), reason) != reasons.end();
}

// What the records before the next one established: who held which key with which roles, and
// which policy record was in force.
class BundleFold {
 public:
  void Apply(const StoredRecord& record) {
    keys_.Apply(record.event, record.seq);
    if (IsPolicyKind(record.event.kind())) policy_seq_ = record.seq;
  }
  const KeyRegistry& keys() const { return keys_; }
  std::optional<uint64_t> policy_seq() const { return policy_seq_; }

 private:
  KeyRegistry keys_;
  std::optional<uint64_t> policy_seq_;
};

// Who signed `record`, as the fold knew them just before it.
json SignerJson(const StoredRecord& record, const BundleFold& before) {
  const std::string& key = record.signed_event.public_key;
  json signer = {{"public_key", HexEncode(key)}};
  if (IsLedgerSigned(record)) {
    signer["name"] = std::string(kLedgerActor);
    signer["roles"] = json::array();
  } else if (const KeyInfo* info = before.keys().Find(key)) {
    signer["name"] = info->name;
    signer["roles"] = info->roles;
  }
  return signer;
}

json DecisionJson(const std::string& decision) {
  // Stored text, but validated where it is used: unparseable or too deep stays a plain string.
  auto parsed = ParseJsonText(decision, decision.size());
  return parsed.ok() ? std::move(parsed).value() : json(decision);
}

// A bundle record: the entry and its inclusion proof, with the readable fields computed from the
// entry and the fold of the records before it.
json RecordJson(const StoredRecord& record, const std::vector<std::string>& reasons,
                const BundleFold& before, const std::vector<merkle::Hash>& proof) {
  json j = {{"seq", record.seq},
            {"included_as", reasons},
            {"entry", Base64Encode(record.entry)},
            {"inclusion_proof", HashesToHex(proof)},
            {"ledger_time", FormatTime(record.ledger_time)},
            {"event", record.event.ToJson()},
            {"signer", SignerJson(record, before)}};
  if (record.manual_clock) j["manual_clock"] = true;
  if (!record.decision.empty()) j["decision"] = DecisionJson(record.decision);
  if (HasReason(reasons, kDeploymentReason) && before.policy_seq()) {
    j["policy_seq"] = *before.policy_seq();
  }
  return j;
}

// ---- export ----

// {"from": M, "proof": [...]}: the log grew from the kept checkpoint `since` to `latest`.
Result<json> ConsistencyJson(const Ledger& ledger, const Checkpoint& since,
                             const Checkpoint& latest) {
  const TreeHead& kept = since.head;
  if (kept.origin != latest.head.origin) {
    return Status::InvalidArgument("the checkpoint given as since is of log '" + kept.origin +
                                   "', not of this ledger ('" + latest.head.origin + "')");
  }
  if (kept.size > latest.head.size) {
    return Status::InvalidArgument("the checkpoint given as since is at size " +
                                   std::to_string(kept.size) + ", beyond this ledger's size " +
                                   std::to_string(latest.head.size));
  }
  SHIPLOG_ASSIGN_OR_RETURN(ConsistencyProof proof,
                           ledger.ProveConsistency(kept.size, latest.head.size));
  return json{{"from", kept.size}, {"proof", HashesToHex(proof.path)}};
}

// ---- verification ----

// The bundle's top-level fields, checked for shape only.
struct BundleFields {
  std::string origin;
  std::string ledger_key_hex;
  std::string deployment;
  std::string checkpoint;
  const json* records = nullptr;
  const json* consistency = nullptr;  // absent unless exported with since
};

Result<std::string> StringField(const json& bundle, const char* name) {
  const json* value = Field(bundle, name);
  if (value == nullptr || !value->is_string() || value->get_ref<const std::string&>().empty()) {
    return Status::InvalidArgument(std::string("the bundle needs \"") + name + "\" (a string)");
  }
  return value->get<std::string>();
}

Status CheckConsistencyShape(const json& consistency) {
  const json* from = Field(consistency, "from");
  const json* proof = Field(consistency, "proof");
  if (from == nullptr || !from->is_number_unsigned() || proof == nullptr || !proof->is_array() ||
      consistency.size() != 2) {
    return Status::InvalidArgument(
        "the bundle's \"consistency\" must be {\"from\": size, \"proof\": [hex, ...]}");
  }
  return Status::Ok();
}

Result<BundleFields> ParseBundleFields(const json& bundle) {
  const json* format = Field(bundle, "format");
  if (format == nullptr || *format != std::string(kBundleFormat)) {
    return Status::InvalidArgument("not a shiplog bundle: \"format\" must be \"" +
                                   std::string(kBundleFormat) + "\"");
  }
  for (const auto& item : bundle.items()) {
    static const char* const kKnown[] = {"format",     "origin",  "ledger_key", "deployment",
                                         "checkpoint", "records", "consistency"};
    if (std::find(std::begin(kKnown), std::end(kKnown), item.key()) == std::end(kKnown)) {
      return Status::InvalidArgument("the bundle has an unknown field '" + item.key() + "'");
    }
  }
  BundleFields fields;
  SHIPLOG_ASSIGN_OR_RETURN(fields.origin, StringField(bundle, "origin"));
  SHIPLOG_ASSIGN_OR_RETURN(fields.ledger_key_hex, StringField(bundle, "ledger_key"));
  SHIPLOG_ASSIGN_OR_RETURN(fields.deployment, StringField(bundle, "deployment"));
  SHIPLOG_ASSIGN_OR_RETURN(fields.checkpoint, StringField(bundle, "checkpoint"));
  fields.records = Field(bundle, "records");
  if (fields.records == nullptr || !fields.records->is_array()) {
    return Status::InvalidArgument("the bundle needs \"records\" (a list)");
  }
  fields.consistency = Field(bundle, "consistency");
  if (fields.consistency) SHIPLOG_RETURN_IF_ERROR(CheckConsistencyShape(*fields.consistency));
  return fields;
}

// Decodes a record's entry and checks it is the record its "seq" says.
Result<StoredRecord> DecodeEntry(const json& given, uint64_t seq) {
  const json* entry = Field(given, "entry");
  if (entry == nullptr || !entry->is_string()) return Status::Corrupt("it has no \"entry\"");
  auto bytes = Base64Decode(entry->get<std::string>());
  if (!bytes.ok()) return Status::Corrupt("its entry is not base64");
  auto record = StoredRecord::FromEntry(std::move(bytes).value());
  if (!record.ok()) {
    return Status::Corrupt("its entry does not decode: " + record.status().message());
  }
  if (record->seq != seq) {
    return Status::Corrupt("its entry is that of record " + std::to_string(record->seq));
  }
  return record;
}

// A policy record's digest must be the SHA-256 of the policy text it carries.
Status CheckPolicyDigest(const Event& event) {
  auto body = event.reader().getBody();
  std::string text, digest;
  if (body.isLedgerGenesis()) {
    text = body.getLedgerGenesis().getPolicy();
    digest = BytesOf(body.getLedgerGenesis().getPolicySha256());
    if (text.empty() && digest.empty()) return Status::Ok();  // a ledger made without a policy
  } else {
    text = body.getPolicyActivated().getContent();
    digest = BytesOf(body.getPolicyActivated().getSha256());
  }
  if (digest != AsBytes(Sha256(text))) {
    return Status::Corrupt("its policy's sha256 is not the digest of the policy text it carries");
  }
  return Status::Ok();
}

// The first field in which a record differs from the one rebuilt from its verified entry.
Status CheckReadable(const json& given, const json& expected) {
  for (const auto& item : expected.items()) {
    const json* value = Field(given, item.key().c_str());
    if (value == nullptr || *value != item.value()) {
      return Status::Corrupt("its field '" + item.key() +
                             "' does not say what its verified entry says");
    }
  }
  for (const auto& item : given.items()) {
    if (!expected.contains(item.key())) {
      return Status::Corrupt("its field '" + item.key() + "' is not part of a bundle record");
    }
  }
  return Status::Ok();
}

class BundleVerifier {
 public:
  BundleVerifier(const BundleFields& fields, std::string_view ledger_key)
      : fields_(fields), ledger_key_(ledger_key) {
    report_.deployment = fields.deployment;
    report_.origin = fields.origin;
  }

  BundleReport Run(const std::optional<Checkpoint>& since);

 private:
  Status CheckCheckpoint();
  Status CheckSince(const Checkpoint& since);
  bool CheckRecordAt(size_t position);
  Status CheckRecord(const json& given, uint64_t seq);
  Result<std::vector<merkle::Hash>> CheckIncluded(const json& given,
                                                  const StoredRecord& record) const;
  Status CheckTime(const StoredRecord& record) const;
  Status CheckMembership(const StoredRecord& record, const std::vector<std::string>& reasons) const;
  Status CheckGenesis(const StoredRecord& record);
  void Accept(const StoredRecord& record, const std::vector<std::string>& reasons);

  // Record the failure of a record (returning false) or of a checkpoint (returning the report).
  bool FailRecord(std::optional<uint64_t> seq, std::string problem);
  BundleReport Failed(const char* checkpoint, const Status& status);

  const BundleFields& fields_;
  const std::string ledger_key_;
  BundleReport report_;
  Checkpoint checkpoint_;
  BundleFold fold_;
  std::optional<uint64_t> last_seq_;
  Micros last_time_ = 0;
};

BundleReport BundleVerifier::Run(const std::optional<Checkpoint>& since) {
  if (Status status = CheckCheckpoint(); !status.ok()) return Failed("bundle", status);
  if (since) {
    if (Status status = CheckSince(*since); !status.ok()) return Failed("since", status);
  }
  for (size_t i = 0; i < fields_.records->size(); ++i) {
    if (!CheckRecordAt(i)) return report_;
  }
  if (report_.records == 0) {
    FailRecord(0, "record 0 (the genesis) is missing: the bundle holds no records");
  } else if (report_.deployment_records == 0) {
    FailRecord(std::nullopt,
               "the bundle holds no record of deployment '" + fields_.deployment + "'");
  }
  return report_;
}

bool BundleVerifier::FailRecord(std::optional<uint64_t> seq, std::string problem) {
  report_.ok = false;
  report_.first_bad_seq = seq;
  report_.problem = std::move(problem);
  return false;
}

BundleReport BundleVerifier::Failed(const char* checkpoint, const Status& status) {
  report_.ok = false;
  report_.bad_checkpoint = checkpoint;
  report_.problem = status.message();
  return report_;
}

Status BundleVerifier::CheckCheckpoint() {
  auto checkpoint = Checkpoint::Open(fields_.checkpoint, ledger_key_);
  if (!checkpoint.ok()) return Status::Corrupt("the bundle's " + checkpoint.status().message());
  checkpoint_ = std::move(checkpoint).value();
  const TreeHead& head = checkpoint_.head;
  report_.checkpoint_size = head.size;
  report_.manual_clock = head.manual_clock;
  if (fields_.ledger_key_hex != HexEncode(ledger_key_)) {
    return Status::Corrupt("the bundle names ledger key " + fields_.ledger_key_hex +
                           ", not the key it is checked with (" + HexEncode(ledger_key_) + ")");
  }
  if (fields_.origin != head.origin) {
    return Status::Corrupt("the bundle names log '" + fields_.origin +
                           "' but its checkpoint is of '" + head.origin + "'");
  }
  return Status::Ok();
}

Status BundleVerifier::CheckSince(const Checkpoint& since) {
  auto kept = Checkpoint::Open(since.note, ledger_key_);
  if (!kept.ok()) return Status::Corrupt("the checkpoint you kept: " + kept.status().message());
  const uint64_t from = kept->head.size;
  const std::string at = "size " + std::to_string(from) + ", the checkpoint you kept";
  report_.since_size = from;
  if (kept->head.origin != checkpoint_.head.origin) {
    return Status::Corrupt("the checkpoint you kept is of log '" + kept->head.origin +
                           "', not of the bundle's '" + checkpoint_.head.origin + "'");
  }
  if (from > checkpoint_.head.size) {
    return Status::Corrupt("the checkpoint you kept (size " + std::to_string(from) +
                           ") is newer than the bundle's (size " +
                           std::to_string(checkpoint_.head.size) + "): export a new bundle");
  }
  const std::string again = ": export the bundle again with --since that checkpoint";
  if (fields_.consistency == nullptr) {
    return Status::Corrupt("the bundle holds no consistency proof from " + at + again);
  }
  const uint64_t proof_from = fields_.consistency->at("from").get<uint64_t>();
  if (proof_from != from) {
    return Status::Corrupt("the bundle's consistency proof is from size " +
                           std::to_string(proof_from) + ", not from " + at + again);
  }
  auto path = HashesFromJson(fields_.consistency->at("proof"), "the consistency proof");
  if (!path.ok()) return Status::Corrupt(path.status().message());
  ConsistencyProof proof{std::move(path).value(), std::move(kept).value(), checkpoint_};
  return proof.Verify();
}

// Checks the record at `position` of the list; false when it fails.
bool BundleVerifier::CheckRecordAt(size_t position) {
  const json& given = (*fields_.records)[position];
  const json* seq_json = Field(given, "seq");
  if (seq_json == nullptr || !seq_json->is_number_unsigned()) {
    return FailRecord(std::nullopt, "the record at position " + std::to_string(position) +
                                        " of the list has no \"seq\"");
  }
  const uint64_t seq = seq_json->get<uint64_t>();
  const std::string at = "record " + std::to_string(seq) + ": ";
  if (position == 0 && seq != 0) {
    return FailRecord(
        0, "record 0 (the genesis) is missing: the bundle starts at record " + std::to_string(seq));
  }
  if (last_seq_ && seq <= *last_seq_) {
    return FailRecord(seq, at + "it comes after record " + std::to_string(*last_seq_) +
                               ": a bundle's records are in ascending seq order, each once");
  }
  Status status = CheckRecord(given, seq);
  if (!status.ok()) return FailRecord(seq, at + status.message());
  last_seq_ = seq;
  return true;
}

Status BundleVerifier::CheckRecord(const json& given, uint64_t seq) {
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, DecodeEntry(given, seq));
  SHIPLOG_ASSIGN_OR_RETURN(std::vector<merkle::Hash> proof, CheckIncluded(given, record));
  SHIPLOG_RETURN_IF_ERROR(record.signed_event.VerifySignature());
  SHIPLOG_RETURN_IF_ERROR(CheckRecordAuthority(record, fold_.keys(), ledger_key_));
  SHIPLOG_RETURN_IF_ERROR(CheckTime(record));
  const std::vector<std::string> reasons = InclusionReasons(record, fields_.deployment);
  SHIPLOG_RETURN_IF_ERROR(CheckMembership(record, reasons));
  if (seq == 0) SHIPLOG_RETURN_IF_ERROR(CheckGenesis(record));
  if (IsPolicyKind(record.event.kind())) SHIPLOG_RETURN_IF_ERROR(CheckPolicyDigest(record.event));
  SHIPLOG_RETURN_IF_ERROR(CheckReadable(given, RecordJson(record, reasons, fold_, proof)));
  Accept(record, reasons);
  return Status::Ok();
}

Result<std::vector<merkle::Hash>> BundleVerifier::CheckIncluded(const json& given,
                                                                const StoredRecord& record) const {
  const TreeHead& head = checkpoint_.head;
  if (record.seq >= head.size) {
    return Status::Corrupt("it is beyond the checkpoint's tree of size " +
                           std::to_string(head.size));
  }
  const json* proof_json = Field(given, "inclusion_proof");
  auto path = HashesFromJson(proof_json ? *proof_json : json(), "its inclusion proof");
  if (!path.ok()) return Status::Corrupt(path.status().message());
  SHIPLOG_ASSIGN_OR_RETURN(merkle::Hash leaf, HashFromBytes(record.leaf_hash, "its leaf hash"));
  if (!merkle::VerifyInclusion(record.seq, head.size, leaf, *path, head.root)) {
    return Status::Corrupt("its inclusion proof does not lead from its entry to the root of the "
                           "checkpoint at size " + std::to_string(head.size) +
                           ": the entry or the proof was changed, or the checkpoint is of "
                           "another tree");
  }
  return path;
}

Status BundleVerifier::CheckTime(const StoredRecord& record) const {
  if (record.ledger_time < last_time_) {
    return Status::Corrupt("its ledger time " + FormatTime(record.ledger_time) +
                           " is before the previous record's " + FormatTime(last_time_) +
                           ": ledger time went backwards");
  }
  if (record.ledger_time > checkpoint_.head.time) {
    return Status::Corrupt("its ledger time " + FormatTime(record.ledger_time) +
                           " is after the checkpoint's " + FormatTime(checkpoint_.head.time));
  }
  if (record.manual_clock != checkpoint_.head.manual_clock) {
    return Status::Corrupt("its clock kind (manual or real) differs from the checkpoint's");
  }
  return Status::Ok();
}

Status BundleVerifier::CheckMembership(const StoredRecord& record,
                                       const std::vector<std::string>& reasons) const {
  if (!reasons.empty()) return Status::Ok();
  std::string_view owner = record.event.deployment();
  return Status::Corrupt(
      "it is a " + std::string(record.event.kind()) + " record of " +
      (owner.empty() ? "no deployment" : "deployment '" + std::string(owner) + "'") + ", not of '" +
      fields_.deployment + "', and no key or policy record");
}

// Record 0 names the ledger that signed everything else. CheckRecordAuthority() already made sure
// it is a genesis signed by the ledger key.
Status BundleVerifier::CheckGenesis(const StoredRecord& record) {
  auto genesis = record.event.reader().getBody().getLedgerGenesis();
  if (BytesOf(genesis.getLedgerKey()) != ledger_key_) {
    return Status::Corrupt("the genesis names another ledger key");
  }
  const std::string origin = genesis.getOrigin();
  if (origin != checkpoint_.head.origin) {
    return Status::Corrupt("the genesis names log '" + origin + "', but the checkpoint is of '" +
                           checkpoint_.head.origin + "'");
  }
  if (genesis.getManualClock() != checkpoint_.head.manual_clock) {
    return Status::Corrupt("the genesis and the checkpoint disagree on the clock kind");
  }
  return Status::Ok();
}

void BundleVerifier::Accept(const StoredRecord& record, const std::vector<std::string>& reasons) {
  ++report_.records;
  if (HasReason(reasons, kDeploymentReason)) ++report_.deployment_records;
  if (HasReason(reasons, kKeyReason)) ++report_.key_records;
  if (HasReason(reasons, kPolicyReason)) ++report_.policy_records;
  fold_.Apply(record);
  last_time_ = record.ledger_time;
}

}  // namespace

Result<std::map<uint64_t, StoredRecord>> DeploymentRecords(
    const Ledger& ledger, const std::string& deployment, std::optional<uint64_t> size,
    const std::vector<std::string>& context_kinds) {
  std::map<uint64_t, StoredRecord> selected;
  auto collect = [&](const StoredRecord& r) {
    selected.emplace(r.seq, r);
    return true;
  };
  QueryFilter own;
  own.deployment = deployment;
  if (size) own.to_seq = *size - 1;
  SHIPLOG_RETURN_IF_ERROR(ledger.Query(own, collect));
  if (selected.empty()) {
    return Status::NotFound("the ledger holds no records of deployment '" + deployment + "'");
  }
  const uint64_t last = selected.rbegin()->first;
  for (const std::string& kind : context_kinds) {
    QueryFilter filter;
    filter.kind = kind;
    filter.to_seq = last;
    SHIPLOG_RETURN_IF_ERROR(ledger.Query(filter, collect));
  }
  return selected;
}

nlohmann::json BundleReport::ToJson() const {
  json j = {{"ok", ok},
            {"deployment", deployment},
            {"origin", origin},
            {"records", records},
            {"deployment_records", deployment_records},
            {"key_records", key_records},
            {"policy_records", policy_records},
            {"checkpoint_size", checkpoint_size},
            {"manual_clock", manual_clock}};
  if (since_size) j["since_size"] = *since_size;
  if (first_bad_seq) j["first_bad_seq"] = *first_bad_seq;
  if (!bad_checkpoint.empty()) j["bad_checkpoint"] = bad_checkpoint;
  if (!problem.empty()) j["problem"] = problem;
  return j;
}

Result<nlohmann::json> ExportBundle(const Ledger& ledger, const std::string& deployment,
                                    const std::optional<Checkpoint>& since) {
  if (deployment.empty()) return Status::InvalidArgument("name the deployment to export");
  const Checkpoint checkpoint = ledger.LatestCheckpoint();
  const uint64_t size = checkpoint.head.size;
  SHIPLOG_ASSIGN_OR_RETURN(
      auto selected,
      DeploymentRecords(ledger, deployment, size,
                        {"ledger.genesis", "key.enrolled", "key.revoked", "policy.activated"}));
  json records = json::array();
  BundleFold fold;
  for (const auto& [seq, record] : selected) {
    SHIPLOG_ASSIGN_OR_RETURN(InclusionProof proof, ledger.ProveInclusion(seq, size));
    records.push_back(RecordJson(record, InclusionReasons(record, deployment), fold, proof.path));
    fold.Apply(record);
  }
  json bundle = {{"format", std::string(kBundleFormat)},
                 {"origin", checkpoint.head.origin},
                 {"ledger_key", HexEncode(ledger.public_key())},
                 {"deployment", deployment},
                 {"checkpoint", checkpoint.note},
                 {"records", std::move(records)}};
  if (since) {
    SHIPLOG_ASSIGN_OR_RETURN(bundle["consistency"], ConsistencyJson(ledger, *since, checkpoint));
  }
  return bundle;
}

Result<BundleReport> VerifyBundle(const nlohmann::json& bundle, std::string_view ledger_public_key,
                                  const std::optional<Checkpoint>& since) {
  if (ledger_public_key.size() != kPublicKeySize) {
    return Status::InvalidArgument("the ledger key must be 32 bytes");
  }
  SHIPLOG_ASSIGN_OR_RETURN(BundleFields fields, ParseBundleFields(bundle));
  return BundleVerifier(fields, ledger_public_key).Run(since);
}

}  // namespace shiplog
