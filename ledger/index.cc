#include "ledger/index.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <nlohmann/json.hpp>

namespace shiplog {
namespace {

struct FieldName {
  IndexField field;
  char space;
  const char* words;  // how DescribeIndexKey names it
};

constexpr FieldName kFields[] = {
    {IndexField::kDeployment, 'd', "deployment"}, {IndexField::kActor, 'a', "actor"},
    {IndexField::kKind, 'k', "kind"},             {IndexField::kApp, 'p', "app"},
    {IndexField::kEnvironment, 'e', "environment"}, {IndexField::kRole, 'r', "role"},
    {IndexField::kStep, 's', "step"},             {IndexField::kImage, 'm', "image"},
    {IndexField::kOutcome, 'o', "decision"},      {IndexField::kSource, 'g', "source"},
};

std::string Text(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// The facets of one event, for itself or for the attempt a policy.denied holds.
struct Facets {
  std::vector<std::string> actors;
  std::string app, environment, step, image;
  std::string source;  // a request's "OWNER/REPO@COMMIT"
};

void AddEventFacets(const Event& event, Facets& facets) {
  facets.actors.emplace_back(event.actor());
  auto body = event.reader().getBody();
  switch (body.which()) {
    case schema::Event::Body::DEPLOY_REQUESTED: {
      auto r = body.getDeployRequested();
      facets.app = Text(r.getApp());
      facets.environment = Text(r.getEnvironment());
      facets.image = Text(r.getImage());
      if (r.hasSource()) facets.source = SourceKey(Text(r.getSource().getRepository()), Text(r.getSource().getCommit()));
      break;
    }
    case schema::Event::Body::REVIEW:
      facets.image = Text(body.getReview().getImage());
      break;
    case schema::Event::Body::STEP_STARTED:
      facets.step = Text(body.getStepStarted().getStep());
      facets.image = Text(body.getStepStarted().getImage());
      break;
    case schema::Event::Body::STEP_REPORTED:
      facets.step = Text(body.getStepReported().getStep());
      facets.image = Text(body.getStepReported().getImage());
      break;
    case schema::Event::Body::GATE_RESULT:
      facets.step = Text(body.getGateResult().getStep());
      facets.image = Text(body.getGateResult().getImage());
      break;
    case schema::Event::Body::INCIDENT_OPENED:
      facets.environment = Text(body.getIncidentOpened().getEnvironment());
      break;
    case schema::Event::Body::INCIDENT_RESOLVED:
      facets.environment = Text(body.getIncidentResolved().getEnvironment());
      break;
    case schema::Event::Body::MAINTENANCE_WINDOW:
      facets.environment = Text(body.getMaintenanceWindow().getEnvironment());
      break;
    default:
      break;
  }
}

// The attempt a policy.denied record holds; nullopt for other records (or one that does not
// decode, which Verify reports through the record's own checks).
std::optional<Event> DeniedAttempt(const StoredRecord& record) {
  if (record.event.kind() != "policy.denied") return std::nullopt;
  auto attempt =
      SignedEvent::OfDenial(record.event.reader().getBody().getPolicyDenied()).ReadEvent();
  if (!attempt.ok()) return std::nullopt;
  return std::move(attempt).value();
}

// Reads, without building the JSON value, what an intent's decision says of its outcome: whether
// the top-level "allowed" is true, and whether an item of the top-level "evidence" list is an
// object with a "waiver". A key given twice counts as its last, as in the parsed value. Every
// append indexes its decision, and parsing it into a value was 6% of the sequencer's time.
class DecisionOutcome final : public nlohmann::json_sax<nlohmann::json> {
 public:
  // "allowed" / "waived" for a decision that allowed the intent; none for any other text.
  static std::vector<std::string> Of(std::string_view decision) {
    // Text nested deeper than stored JSON may be (ParseStoredJson) says nothing, as before.
    if (!CheckJsonTextDepth(decision).ok()) return {};
    DecisionOutcome reader;
    if (!nlohmann::json::sax_parse(decision.begin(), decision.end(), &reader) || !reader.object_ ||
        !reader.allowed_) {
      return {};
    }
    if (reader.waived_) return {"allowed", "waived"};
    return {"allowed"};
  }

  bool null() override { return Value(false); }
  bool boolean(bool value) override { return Value(value); }
  bool number_integer(number_integer_t) override { return Value(false); }
  bool number_unsigned(number_unsigned_t) override { return Value(false); }
  bool number_float(number_float_t, const string_t&) override { return Value(false); }
  bool string(string_t&) override { return Value(false); }
  bool binary(binary_t&) override { return Value(false); }
  bool start_object(std::size_t) override {
    if (depth_ == 0) object_ = true;
    if (depth_ == 1) Value(false);
    // An item of the evidence list.
    if (depth_ == 2 && in_evidence_) item_ = true;
    ++depth_;
    return true;
  }
  bool key(string_t& key) override {
    if (depth_ == 1) top_key_ = key;
    if (depth_ == 3 && item_ && key == "waiver") waived_ = true;
    return true;
  }
  bool end_object() override {
    --depth_;
    if (depth_ == 2) item_ = false;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 1) {
      Value(false);
      if (top_key_ == "evidence") {
        in_evidence_ = true;
        waived_ = false;  // a later "evidence" replaces an earlier one
      }
    }
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    if (depth_ == 1) in_evidence_ = false;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  // A value (or the start of one) at the top level under top_key_.
  bool Value(bool value) {
    if (depth_ == 1) {
      if (top_key_ == "allowed") allowed_ = value;
      if (top_key_ == "evidence") waived_ = false;
    }
    return true;
  }

  size_t depth_ = 0;
  bool object_ = false;       // the top level is an object
  std::string top_key_;       // the last key read at the top level
  bool allowed_ = false;      // its "allowed" is true
  bool in_evidence_ = false;  // inside its "evidence" list
  bool item_ = false;         // inside an object item of that list
  bool waived_ = false;       // an item of the last "evidence" list has a "waiver"
};

std::vector<std::string> Outcomes(const StoredRecord& record) {
  if (record.event.kind() == "policy.denied") return {"denied"};
  if (record.event.kind() == "waiver.granted") return {"waived"};
  if (record.decision.empty()) return {};
  return DecisionOutcome::Of(record.decision);
}

}  // namespace

const std::vector<IndexField>& QueryIndexFields() {
  static const std::vector<IndexField> fields = [] {
    std::vector<IndexField> all;
    for (const FieldName& f : kFields) all.push_back(f.field);
    return all;
  }();
  return fields;
}

std::string IndexPrefix(IndexField field, std::string_view value) {
  char space = '?';
  for (const FieldName& f : kFields) {
    if (f.field == field) space = f.space;
  }
  std::string prefix = {space, '/'};
  prefix.append(value);
  prefix.push_back('\0');
  return prefix;
}

std::string EventIdKey(std::string_view actor, std::string_view id) {
  std::string key = "i/";
  key.append(actor);
  key.push_back('\0');
  key.append(id);
  return key;
}

uint64_t IndexKeySeq(std::string_view key) { return DecodeSeq(key.substr(key.size() - 8)); }

std::string DescribeIndexKey(std::string_view key) {
  for (const FieldName& f : kFields) {
    if (key.size() < 11 || key[0] != f.space || key[1] != '/') continue;
    std::string_view value = key.substr(2, key.size() - 11);
    return "the " + std::string(f.words) + " '" + std::string(value) +
           "' index entry of record " + std::to_string(IndexKeySeq(key));
  }
  if (key.substr(0, 2) == "i/") {
    std::string_view rest = key.substr(2);
    const size_t nul = rest.find('\0');
    return "the event-id index entry of '" + std::string(rest.substr(0, nul)) + "' id '" +
           std::string(rest.substr(nul == std::string_view::npos ? rest.size() : nul + 1)) + "'";
  }
  return "the index entry '" + std::string(key.substr(0, 2)) + "...'";
}

std::string SourceKey(std::string_view repository, std::string_view commit) {
  if (repository.empty() || commit.empty()) return "";
  // GitHub's repository names and commit ids are case-insensitive: one key for every spelling.
  std::string key = std::string(repository) + "@" + std::string(commit);
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

std::string_view ImageDigest(std::string_view image) {
  // glibc's memrchr reads from the end a vector at a time; the '@' of a pinned image is 71
  // characters from it, which string_view::rfind reads one by one (every decision and append).
  const void* at = image.empty() ? nullptr : memrchr(image.data(), '@', image.size());
  if (at == nullptr) return image;
  return image.substr(static_cast<const char*>(at) - image.data() + 1);
}

std::optional<DeploymentRequest> RequestOf(const StoredRecord& record) {
  std::optional<Event> attempt = DeniedAttempt(record);
  const Event& event = attempt ? *attempt : record.event;
  if (event.kind() != "deploy.requested") return std::nullopt;
  auto r = event.reader().getBody().getDeployRequested();
  return DeploymentRequest{Text(r.getApp()), Text(r.getEnvironment()), Text(r.getImage())};
}

std::vector<std::string> SignerRoles(const StoredRecord& record, const KeyRegistry& registry) {
  std::string public_key = record.signed_event.public_key;
  if (record.event.kind() == "policy.denied") {
    auto key = record.event.reader().getBody().getPolicyDenied().getPublicKey();
    public_key.assign(reinterpret_cast<const char*>(key.begin()), key.size());
  }
  const KeyInfo* signer = registry.Find(public_key);
  return signer ? signer->roles : std::vector<std::string>{};
}

std::vector<std::pair<std::string, std::string>> IndexEntries(const StoredRecord& record,
                                                              const IndexContext& context) {
  const Event& e = record.event;
  Facets facets;
  AddEventFacets(e, facets);
  const std::optional<Event> attempt = DeniedAttempt(record);
  if (attempt) AddEventFacets(*attempt, facets);
  if (context.request && facets.app.empty() && !e.deployment().empty()) {
    facets.app = context.request->app;
    facets.environment = context.request->environment;
  }
  const std::string_view subject_kind = attempt ? attempt->kind() : e.kind();
  if (facets.image.empty() && subject_kind == "step.started" && context.request) {
    facets.image = context.request->image;
  }

  const std::string seq = EncodeSeq(record.seq);
  std::vector<std::pair<std::string, std::string>> entries;
  entries.emplace_back(EventIdKey(e.actor(), e.id()), seq);
  auto add = [&](IndexField field, std::string_view value) {
    if (value.empty()) return;
    std::string key = IndexPrefix(field, value) + seq;
    for (const auto& entry : entries) {
      if (entry.first == key) return;
    }
    entries.emplace_back(std::move(key), "");
  };
  add(IndexField::kDeployment, e.deployment());
  for (const std::string& actor : facets.actors) add(IndexField::kActor, actor);
  add(IndexField::kKind, e.kind());
  add(IndexField::kApp, facets.app);
  add(IndexField::kEnvironment, facets.environment);
  for (const std::string& role : context.signer_roles) add(IndexField::kRole, role);
  add(IndexField::kStep, facets.step);
  add(IndexField::kImage, ImageDigest(facets.image));
  for (const std::string& outcome : Outcomes(record)) add(IndexField::kOutcome, outcome);
  add(IndexField::kSource, facets.source);
  return entries;
}

// ---- each deployment's request ----

void DeploymentRequests::Note(const StoredRecord& record) {
  const std::string_view deployment = record.event.deployment();
  if (deployment.empty()) return;
  auto it = known_.find(deployment);
  if (it != known_.end() && it->second) return;  // the first request stays
  std::optional<DeploymentRequest> request = RequestOf(record);
  if (!request) return;
  if (it != known_.end()) {
    it->second = std::move(request);
  } else if (store_ == nullptr) {
    known_.emplace(std::string(deployment), std::move(request));
  } else {
    // A lookup cache that has not seen the deployment asks the store whether an earlier request
    // is there; a batch's later records are then answered from memory, before it is committed.
    auto earlier = Find(deployment);
    if (earlier.ok() && !*earlier) known_[std::string(deployment)] = std::move(request);
  }
}

void DeploymentRequests::Trim() {
  if (known_.size() >= kMaxCached) known_.clear();
}

Result<std::optional<DeploymentRequest>> DeploymentRequests::Find(std::string_view deployment) {
  auto it = known_.find(deployment);
  if (it != known_.end()) return it->second;
  if (store_ == nullptr) return std::optional<DeploymentRequest>();
  std::optional<DeploymentRequest> found;
  Status status;
  SHIPLOG_RETURN_IF_ERROR(store_->ScanIndex(
      IndexPrefix(IndexField::kDeployment, deployment), "",
      [&](std::string_view key, std::string_view) {
        auto record = read_(IndexKeySeq(key));
        if (!record.ok()) {
          status = record.status();
          return false;
        }
        found = RequestOf(*record);
        return !found.has_value();
      }));
  SHIPLOG_RETURN_IF_ERROR(status);
  known_.emplace(std::string(deployment), found);
  return found;
}

// ---- the fold from the genesis ----

std::vector<std::pair<std::string, std::string>> IndexFold::Next(const StoredRecord& record) {
  IndexContext context;
  context.signer_roles = SignerRoles(record, registry_);
  if (!record.event.deployment().empty()) {
    // Without a store, Find answers from what was noted and cannot fail.
    context.request = requests_.Find(record.event.deployment()).value();
  }
  registry_.Apply(record.event, record.seq);
  requests_.Note(record);
  return IndexEntries(record, context);
}

}  // namespace shiplog
