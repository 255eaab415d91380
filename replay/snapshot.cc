#include "replay/snapshot.h"

#include <capnp/serialize.h>
#include <fcntl.h>
#include <kj/exception.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "ledger/atomic_file.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "policy/policy_gate.h"
#include "schemas/snapshot.capnp.h"

namespace shiplog::replay {
namespace {

namespace snap = ::shiplog::schema::snapshot;
using nlohmann::json;
using policy::DeploymentState;
using policy::EngineState;
using policy::Fact;
using policy::StepStatus;

// ---- small conversions ----

std::string ToString(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

kj::ArrayPtr<const kj::byte> DataOf(std::string_view s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

capnp::Text::Reader TextOf(const std::string& s) { return capnp::Text::Reader(s.data(), s.size()); }

std::string FlatBytes(capnp::MessageBuilder& message) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// A flat message read with limits sized to its own length: a snapshot is untrusted bytes.
class FlatReader {
 public:
  explicit FlatReader(std::string_view bytes)
      : words_(kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word))) {
    std::memcpy(words_.begin(), bytes.data(), words_.size() * sizeof(capnp::word));
    capnp::ReaderOptions options;
    options.traversalLimitInWords = words_.size() * 2 + 1024;
    options.nestingLimit = 16;
    reader_ = std::make_unique<capnp::FlatArrayMessageReader>(words_.asPtr(), options);
  }
  template <typename T>
  typename T::Reader Root() { return reader_->getRoot<T>(); }

 private:
  kj::Array<capnp::word> words_;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader_;
};

// ---- the engine's state, out ----

void PutFact(const Fact& f, snap::Fact::Builder out) {
  out.setSeq(f.seq);
  out.setTime(f.time);
  out.setKind(TextOf(f.kind));
  out.setActor(TextOf(f.actor));
  auto roles = out.initRoles(f.roles.size());
  for (size_t i = 0; i < f.roles.size(); ++i) roles.set(i, TextOf(f.roles[i]));
  out.setFields(TextOf(f.event.ToJson().dump()));
  out.setImage(TextOf(f.image));
  out.setSigner(TextOf(f.signer));
}

void PutDeployment(const DeploymentState& d, snap::Deployment::Builder out) {
  out.setId(TextOf(d.id));
  out.setHasRequest(d.request.has_value());
  if (d.request) PutFact(*d.request, out.initRequest());
  out.setStatus(static_cast<snap::DeploymentStatus>(d.status));
  auto facts = out.initFacts(d.facts.size());
  for (size_t i = 0; i < d.facts.size(); ++i) PutFact(d.facts[i], facts[i]);
  auto steps = out.initSteps(d.steps.size());
  size_t i = 0;
  for (const auto& [name, s] : d.steps) {
    auto step = steps[i++];
    step.setName(TextOf(name));
    step.setStatus(static_cast<snap::StepStatus>(s.status));
    step.setStartedSeq(s.started_seq);
    step.setReportSeq(s.report_seq);
    step.setReadySince(s.ready_since);
    step.setImage(TextOf(s.image));
  }
  out.setHalted(d.halted_step.has_value());
  if (d.halted_step) out.setHaltedStep(TextOf(*d.halted_step));
  out.setCanaryWeight(d.canary_weight);
  out.setCanaryPhaseStart(d.canary_phase_start);
  out.setCanaryPhaseSeq(d.canary_phase_seq);
  auto waivers = out.initWaivers(d.waivers.size());
  i = 0;
  for (const auto& [rule, w] : d.waivers) {
    auto waiver = waivers[i++];
    waiver.setRule(TextOf(rule));
    waiver.setSeq(w.seq);
    waiver.setActor(TextOf(w.actor));
    waiver.setReason(TextOf(w.reason));
  }
}

void PutEnvironment(const policy::EnvironmentState& env, snap::Environment::Builder out) {
  size_t n = 0;
  for (const auto& [name, open] : env.open_incidents) n += open.size();
  auto incidents = out.initOpenIncidents(n);
  size_t i = 0;
  for (const auto& [name, open] : env.open_incidents) {
    for (const auto& [id, seq] : open) {
      incidents[i].setEnvironment(TextOf(name));
      incidents[i].setIncident(TextOf(id));
      incidents[i++].setSeq(seq);
    }
  }
  n = 0;
  for (const auto& [name, list] : env.windows) n += list.size();
  auto windows = out.initWindows(n);
  i = 0;
  for (const auto& [name, list] : env.windows) {
    for (const auto& w : list) {
      windows[i].setEnvironment(TextOf(name));
      windows[i].setSeq(w.seq);
      windows[i].setFrom(w.from);
      windows[i++].setTo(w.to);
    }
  }
  auto in_progress = out.initInProgress(env.in_progress.size());
  i = 0;
  for (const auto& [key, deployment] : env.in_progress) {
    in_progress[i].setApp(TextOf(key.first));
    in_progress[i].setEnvironment(TextOf(key.second));
    in_progress[i++].setDeployment(TextOf(deployment));
  }
  auto revoked = out.initRevokedKeys(env.revoked_keys.size());
  i = 0;
  for (const auto& [key, seq] : env.revoked_keys) {
    revoked[i].setPublicKey(TextOf(key));
    revoked[i++].setSeq(seq);
  }
}

void PutKeys(const KeyRegistry& keys, snap::Snapshot::Builder out) {
  auto list = out.initKeys(keys.keys().size());
  size_t i = 0;
  for (const auto& [public_key, info] : keys.keys()) {
    auto key = list[i++];
    key.setPublicKey(DataOf(public_key));
    key.setEnrolledSeq(info.enrolled_seq);
    key.setRevoked(info.revoked_seq.has_value());
    key.setRevokedSeq(info.revoked_seq.value_or(0));
  }
}

// ---- the engine's state, in ----

Result<Fact> GetFact(snap::Fact::Reader in) {
  // A snapshot file is read back from disk: parsed with the same limits as any outside JSON, and
  // checked as any event is.
  auto fields = ParseJsonText(in.getFields().cStr(), in.getFields().size());
  if (!fields.ok() || !fields->is_object()) {
    return Status::Corrupt("the fields of fact " + std::to_string(in.getSeq()) +
                           " are not a JSON object");
  }
  auto event = Event::FromJson(*fields);
  if (!event.ok()) {
    return Status::Corrupt("the fields of fact " + std::to_string(in.getSeq()) +
                           " are not an event: " + event.status().message());
  }
  Fact f(std::move(event).value());
  f.seq = in.getSeq();
  f.time = in.getTime();
  f.kind = in.getKind();
  f.actor = in.getActor();
  for (auto role : in.getRoles()) f.roles.emplace_back(role);
  f.signer = in.getSigner();
  f.image = in.getImage();
  return f;
}

Result<DeploymentState> GetDeployment(snap::Deployment::Reader in) {
  DeploymentState d;
  d.id = in.getId();
  if (in.getHasRequest()) { SHIPLOG_ASSIGN_OR_RETURN(d.request, GetFact(in.getRequest())); }
  if (static_cast<int>(in.getStatus()) > static_cast<int>(DeploymentState::Status::kRolledBack)) {
    return Status::Corrupt("deployment " + d.id + " has an unknown status");
  }
  d.status = static_cast<DeploymentState::Status>(in.getStatus());
  for (auto fact : in.getFacts()) {
    SHIPLOG_ASSIGN_OR_RETURN(Fact f, GetFact(fact));
    d.facts.push_back(std::move(f));
  }
  for (auto step : in.getSteps()) {
    if (static_cast<int>(step.getStatus()) > static_cast<int>(StepStatus::kFailed)) {
      return Status::Corrupt("a step of deployment " + d.id + " has an unknown status");
    }
    policy::StepState& s = d.steps[step.getName()];
    s.status = static_cast<StepStatus>(step.getStatus());
    s.started_seq = step.getStartedSeq();
    s.report_seq = step.getReportSeq();
    s.ready_since = step.getReadySince();
    s.image = step.getImage();
  }
  if (in.getHalted()) d.halted_step = std::string(in.getHaltedStep());
  d.canary_weight = in.getCanaryWeight();
  d.canary_phase_start = in.getCanaryPhaseStart();
  d.canary_phase_seq = in.getCanaryPhaseSeq();
  for (auto w : in.getWaivers()) {
    d.waivers[w.getRule()] = {w.getSeq(), w.getActor(), w.getReason()};
  }
  return d;
}

policy::EnvironmentState GetEnvironment(snap::Environment::Reader in) {
  policy::EnvironmentState env;
  for (auto i : in.getOpenIncidents()) {
    env.open_incidents[i.getEnvironment()][i.getIncident()] = i.getSeq();
  }
  for (auto w : in.getWindows()) {
    env.windows[w.getEnvironment()].push_back({w.getSeq(), w.getFrom(), w.getTo()});
  }
  for (auto p : in.getInProgress()) {
    env.in_progress[{p.getApp(), p.getEnvironment()}] = p.getDeployment();
  }
  for (auto k : in.getRevokedKeys()) env.revoked_keys[k.getPublicKey()] = k.getSeq();
  return env;
}

// The registry, re-folded from the key records the snapshot names; each must be a key record.
Result<KeyRegistry> KeysFromRecords(capnp::List<snap::Key>::Reader keys, uint64_t seq,
                                    const Ledger& ledger) {
  std::vector<uint64_t> seqs;
  for (auto key : keys) {
    seqs.push_back(key.getEnrolledSeq());
    if (key.getRevoked()) seqs.push_back(key.getRevokedSeq());
  }
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  KeyRegistry registry;
  for (uint64_t key_seq : seqs) {
    if (key_seq > seq) return Status::Corrupt("a key record is after the snapshot's seq");
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, ledger.Read(key_seq));
    const std::string_view kind = record.event.kind();
    if (kind != "ledger.genesis" && kind != "key.enrolled" && kind != "key.revoked") {
      return Status::Corrupt("record " + std::to_string(key_seq) + " named as a key record is a " +
                             std::string(kind));
    }
    registry.Apply(record.event, key_seq);
  }
  for (auto key : keys) {
    const KeyInfo* info = registry.Find(ToString(key.getPublicKey()));
    if (!info || info->enrolled_seq != key.getEnrolledSeq() ||
        info->revoked_seq.has_value() != key.getRevoked()) {
      return Status::Corrupt("the key records do not give the snapshot's registry");
    }
  }
  if (registry.keys().size() != keys.size()) {
    return Status::Corrupt("the key records do not give the snapshot's registry");
  }
  return registry;
}

// The policy in force, re-read from the record that carried it.
Result<std::unique_ptr<policy::Engine>> EngineFromRecords(snap::Snapshot::Reader s,
                                                          const Ledger& ledger) {
  auto in_force = s.getPolicy();
  if (!in_force.getPresent()) {
    if (s.getDeployments().size() > 0) {
      return Status::Corrupt("a snapshot without a policy holds deployments");
    }
    return std::unique_ptr<policy::Engine>();
  }
  if (in_force.getSeq() > s.getSeq()) return Status::Corrupt("the policy record is after the snapshot");
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, ledger.Read(in_force.getSeq()));
  auto policy = policy::PolicyFromEvent(record.event);
  if (!policy.ok()) return policy.status().Prefixed("the snapshot's policy record");
  if (policy->sha256_hex != std::string(in_force.getSha256())) {
    return Status::Corrupt("the snapshot's policy is not the one record " +
                           std::to_string(in_force.getSeq()) + " carries");
  }
  auto engine = std::make_unique<policy::Engine>(std::move(policy).value());
  EngineState state;
  for (auto d : s.getDeployments()) {
    SHIPLOG_ASSIGN_OR_RETURN(DeploymentState deployment, GetDeployment(d));
    std::string id = deployment.id;
    state.deployments.emplace(std::move(id), std::move(deployment));
  }
  state.environment = GetEnvironment(s.getEnvironment());
  engine->RestoreState(std::move(state));
  return engine;
}

// The snapshot belongs to this ledger and to this history.
Status CheckBinding(snap::Snapshot::Reader s, const Ledger& ledger) {
  if (s.getFormatVersion() < kOldestSnapshotFormatRead ||
      s.getFormatVersion() > kSnapshotFormatVersion) {
    return Status::InvalidArgument("snapshot format " + std::to_string(s.getFormatVersion()) +
                                   " is not one of " + std::to_string(kOldestSnapshotFormatRead) +
                                   ".." + std::to_string(kSnapshotFormatVersion));
  }
  if (std::string(s.getOrigin()) != ledger.origin() ||
      ToString(s.getLedgerKey()) != ledger.public_key()) {
    return Status::Corrupt("the snapshot is of another ledger");
  }
  if (s.getSeq() >= ledger.size()) {
    return Status::Corrupt("the snapshot is at seq " + std::to_string(s.getSeq()) +
                           " but the ledger has " + std::to_string(ledger.size()) + " records");
  }
  SHIPLOG_ASSIGN_OR_RETURN(Checkpoint checkpoint, ledger.CheckpointAt(s.getSeq() + 1));
  if (ToString(s.getTreeRoot()) != AsBytes(checkpoint.head.root)) {
    return Status::Corrupt("the snapshot's tree root is not the ledger's at size " +
                           std::to_string(s.getSeq() + 1) + ": the history differs");
  }
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord last, ledger.Read(s.getSeq()));
  if (last.ledger_time != s.getLastTime()) {
    return Status::Corrupt("the snapshot's last time is not record " +
                           std::to_string(s.getSeq()) + "'s");
  }
  return Status::Ok();
}

Result<LedgerFold> DecodeChecked(std::string_view bytes, const Ledger& ledger) {
  if (bytes.size() % sizeof(capnp::word) != 0 || bytes.empty()) {
    return Status::Corrupt("the snapshot file is not whole words");
  }
  FlatReader file(bytes);
  auto envelope = file.Root<snap::SnapshotFile>();
  if (envelope.getFormatVersion() < kOldestSnapshotFormatRead ||
      envelope.getFormatVersion() > kSnapshotFormatVersion) {
    return Status::InvalidArgument("snapshot file format " +
                                   std::to_string(envelope.getFormatVersion()) + " is not one of " +
                                   std::to_string(kOldestSnapshotFormatRead) + ".." +
                                   std::to_string(kSnapshotFormatVersion));
  }
  const std::string content = ToString(envelope.getContent());
  if (ToString(envelope.getSha256()) != AsBytes(Sha256(content))) {
    return Status::Corrupt("the snapshot's hash does not match its content");
  }
  if (content.empty() || content.size() % sizeof(capnp::word) != 0) {
    return Status::Corrupt("the snapshot's content is not whole words");
  }
  FlatReader inner(content);
  auto s = inner.Root<snap::Snapshot>();
  SHIPLOG_RETURN_IF_ERROR(CheckBinding(s, ledger));
  SHIPLOG_ASSIGN_OR_RETURN(KeyRegistry keys, KeysFromRecords(s.getKeys(), s.getSeq(), ledger));
  SHIPLOG_ASSIGN_OR_RETURN(auto engine, EngineFromRecords(s, ledger));
  std::optional<uint64_t> policy_seq;
  if (s.getPolicy().getPresent()) policy_seq = s.getPolicy().getSeq();
  return LedgerFold(s.getSeq() + 1, s.getLastTime(), std::move(keys), std::move(engine),
                    policy_seq);
}

}  // namespace

Result<std::string> EncodeSnapshot(const LedgerFold& fold, const Ledger& ledger) {
  if (fold.fixed_policy() || fold.next_seq() == 0) {
    return Status::InvalidArgument("only a fold of the log under its own policies is snapshotted");
  }
  const uint64_t seq = fold.next_seq() - 1;
  SHIPLOG_ASSIGN_OR_RETURN(Checkpoint checkpoint, ledger.CheckpointAt(seq + 1));
  capnp::MallocMessageBuilder message;
  auto s = message.initRoot<snap::Snapshot>();
  s.setFormatVersion(kSnapshotFormatVersion);
  s.setOrigin(TextOf(ledger.origin()));
  const std::string ledger_key = ledger.public_key();
  s.setLedgerKey(DataOf(ledger_key));
  s.setSeq(seq);
  s.setTreeRoot(DataOf(AsBytes(checkpoint.head.root)));
  s.setLastTime(fold.last_time());
  PutKeys(fold.keys(), s);
  if (const policy::Engine* engine = fold.engine()) {
    auto in_force = s.initPolicy();
    in_force.setPresent(true);
    in_force.setSeq(fold.policy_seq().value_or(0));
    in_force.setSha256(TextOf(engine->policy().sha256_hex));
    const EngineState state = engine->ExportState();
    auto deployments = s.initDeployments(state.deployments.size());
    size_t i = 0;
    for (const auto& [id, d] : state.deployments) PutDeployment(d, deployments[i++]);
    PutEnvironment(state.environment, s.initEnvironment());
  }
  const std::string content = FlatBytes(message);
  capnp::MallocMessageBuilder file_message;
  auto file = file_message.initRoot<snap::SnapshotFile>();
  file.setFormatVersion(kSnapshotFormatVersion);
  file.setContent(DataOf(content));
  file.setSha256(DataOf(AsBytes(Sha256(content))));
  return FlatBytes(file_message);
}

Result<LedgerFold> DecodeSnapshot(std::string_view bytes, const Ledger& ledger) {
  try {
    return DecodeChecked(bytes, ledger);
  } catch (const kj::Exception& e) {
    // A malformed message that got past the hash (or a hash that was recomputed).
    return Status::Corrupt(std::string("the snapshot does not decode: ") +
                           e.getDescription().cStr());
  }
}

// ---- files ----

SnapshotDir::SnapshotDir(const std::string& data_dir) : path_(data_dir + "/snapshots") {}

std::string SnapshotDir::PathFor(uint64_t seq) const {
  char name[32];
  std::snprintf(name, sizeof(name), "%020llu.snap", static_cast<unsigned long long>(seq));
  return path_ + "/" + name;
}

std::vector<uint64_t> SnapshotDir::List() const {
  std::vector<uint64_t> seqs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 25 || name.compare(20, 5, ".snap") != 0) continue;
    // Anyone who can write the directory picks the names: twenty digits can still overflow a
    // uint64 ("99999999999999999999.snap"), so parse checked and pass over what is not ours.
    uint64_t seq = 0;
    const auto [end, error] = std::from_chars(name.data(), name.data() + 20, seq);
    if (error != std::errc() || end != name.data() + 20) continue;
    seqs.push_back(seq);
  }
  std::sort(seqs.begin(), seqs.end());
  return seqs;
}

bool SnapshotDir::Has(uint64_t seq) const { return std::filesystem::exists(PathFor(seq)); }

Status SnapshotDir::Write(uint64_t seq, const std::string& bytes) const {
  std::error_code ec;
  std::filesystem::create_directories(path_, ec);
  if (ec) return Status::Internal("cannot create " + path_ + ": " + ec.message());
  // Through PathFor(seq).tmp, never following a link planted there (ledger/atomic_file.h).
  Status written = WriteFileAtomically(PathFor(seq), bytes, 0600);
  if (!written.ok()) return Status::Internal("cannot write a snapshot: " + written.message());
  return Status::Ok();
}

Result<std::string> SnapshotDir::Read(uint64_t seq) const {
  std::ifstream in(PathFor(seq), std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + PathFor(seq));
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace shiplog::replay
