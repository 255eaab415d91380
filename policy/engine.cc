// The fold and the decisions. See engine.h for the contract and policy.h for the rule forms.
#include "policy/engine.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <optional>
#include <unordered_map>

#include "ledger/index.h"

namespace shiplog::policy {

bool IsPinnedDigest(std::string_view image) {
  size_t at = image.find("@sha256:");
  if (at == 0 || at == std::string::npos || image.size() != at + 8 + 64) return false;
  // Every decision about an artifact asks (R9): a table, not two ranges per character.
  static const std::array<bool, 256> kLowerHex = [] {
    std::array<bool, 256> hex{};
    for (char c : std::string_view("0123456789abcdef")) hex[static_cast<unsigned char>(c)] = true;
    return hex;
  }();
  return std::all_of(image.begin() + at + 8, image.end(),
                     [](char c) { return kLowerHex[static_cast<unsigned char>(c)]; });
}

namespace {

using json = nlohmann::json;

bool IsAdminOrLedgerKind(const std::string& kind) {
  return kind.rfind("key.", 0) == 0 || kind == "policy.activated" || kind == "ledger.genesis";
}

// ASCII case folding: event fields and policy values are compared case-insensitively in ASCII
// alone, and inline (std::tolower is a locale-aware call per character, on the decision's path).
char LowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return LowerAscii(x) == LowerAscii(y);
         });
}

// The key of the per-deployment value index: kind, top-level field and its value (lower case),
// written into `key` (reused, so a lookup does not allocate).
void ValueKeyInto(std::string& key, std::string_view kind, std::string_view field,
                  std::string_view value) {
  key.assign(kind);
  key += '\0';
  key.append(field);
  key += '\0';
  for (char c : value) key += LowerAscii(c);
}

// A field by dotted path ("changes.db_migration"); nullptr when absent.
const json* FieldAt(const json& fields, const std::string& path) {
  const json* at = &fields;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return at;
}

std::string ScalarText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

// Event JSON leaves zero values out, so an absent field equals its zero value.
bool IsZeroText(std::string_view s) {
  return s.empty() || EqualsIgnoreCase(s, "false") || s == "0" || EqualsIgnoreCase(s, "none") ||
         EqualsIgnoreCase(s, "unspecified");
}

bool Satisfies(const json* value, const ValueTest& test) {
  switch (test.op) {
    case ValueTest::Op::kPresent:
      return value && !(value->is_string() && value->get<std::string>().empty()) &&
             !(value->is_array() && value->empty()) && !(value->is_boolean() && !*value);
    case ValueTest::Op::kEquals:
    case ValueTest::Op::kOneOf: {
      if (!value) {
        return std::any_of(test.values.begin(), test.values.end(),
                           [](const std::string& want) { return IsZeroText(want); });
      }
      // A number is compared as a number ({eq: 0} matches a metric of 0.0); a string field
      // where it lies; other scalars by their text.
      if (value->is_number()) {
        const double actual = value->get<double>();
        return std::any_of(test.values.begin(), test.values.end(), [&](const std::string& want) {
          char* end = nullptr;
          const double wanted = std::strtod(want.c_str(), &end);
          return !want.empty() && end == want.c_str() + want.size() ? actual == wanted
                                                                    : ScalarText(*value) == want;
        });
      }
      const std::string text = value->is_string() ? std::string() : ScalarText(*value);
      const std::string& actual = value->is_string() ? value->get_ref<const std::string&>() : text;
      return std::any_of(test.values.begin(), test.values.end(),
                         [&](const std::string& want) { return EqualsIgnoreCase(actual, want); });
    }
    default: {
      double n = value && value->is_number() ? value->get<double>() : 0;
      if (value && !value->is_number()) return false;
      switch (test.op) {
        case ValueTest::Op::kLess: return n < test.number;
        case ValueTest::Op::kLessOrEqual: return n <= test.number;
        case ValueTest::Op::kGreater: return n > test.number;
        default: return n >= test.number;
      }
    }
  }
}

bool Matches(const json& fields, const FieldTests& tests) {
  for (const auto& [path, test] : tests) {
    if (!Satisfies(FieldAt(fields, path), test)) return false;
  }
  return true;
}

// A test the deployment's value index can answer: one value for a top-level field.
bool IsOneValueTest(const std::string& path, const ValueTest& test) {
  return test.op == ValueTest::Op::kEquals && test.values.size() == 1 &&
         path.find('.') == std::string::npos;
}

// The same tests on an event's JSON form, read field by field; a null event has no fields.
// `known(path)` is true for a test (a key of `tests`) the caller knows holds: it is not read.
template <typename Known>
bool Matches(const Event* event, const FieldTests& tests, Known known) {
  for (const auto& [path, test] : tests) {
    if (known(path)) continue;
    // Most tests compare a text or enum field with names (gate=scan, status=[blocked, failed]):
    // compared where it lies. A present text is never empty (the JSON form leaves empty text
    // out), so an empty one is absent or not text, and is read as JSON like every other test.
    const std::string_view text =
        event && (test.op == ValueTest::Op::kEquals || test.op == ValueTest::Op::kOneOf)
            ? event->Text(path)
            : std::string_view();
    if (!text.empty()) {
      if (std::none_of(test.values.begin(), test.values.end(),
                       [&](const std::string& want) { return EqualsIgnoreCase(text, want); })) {
        return false;
      }
      continue;
    }
    const std::optional<json> value = event ? event->Field(path) : std::nullopt;
    if (!Satisfies(value ? &*value : nullptr, test)) return false;
  }
  return true;
}

bool Matches(const Event* event, const FieldTests& tests) {
  return Matches(event, tests, [](const std::string&) { return false; });
}

// A field's string in the JSON form ("" when absent or not a string): text, enums, times, hex.
std::string StringField(const Event& event, std::string_view name) {
  std::optional<json> value = event.Field(name);
  return value && value->is_string() ? std::move(value->get_ref<std::string&>()) : std::string();
}

uint32_t Uint32Field(const Event& event, std::string_view name) {
  const std::optional<json> value = event.Field(name);
  return value && value->is_number_unsigned() ? value->get<uint32_t>() : 0;
}

std::string DescribeTest(const ValueTest& t) {
  switch (t.op) {
    case ValueTest::Op::kEquals: return "=" + (t.values.empty() ? "" : t.values[0]);
    case ValueTest::Op::kOneOf: {
      std::string s;
      for (const auto& v : t.values) s += (s.empty() ? "" : "|") + v;
      return "=" + s;
    }
    case ValueTest::Op::kPresent: return " present";
    case ValueTest::Op::kLess: return " < " + json(t.number).dump();
    case ValueTest::Op::kLessOrEqual: return " <= " + json(t.number).dump();
    case ValueTest::Op::kGreater: return " > " + json(t.number).dump();
    case ValueTest::Op::kGreaterOrEqual: return " >= " + json(t.number).dump();
  }
  return "";
}

std::string DescribeTests(const FieldTests& tests) {
  std::string s;
  for (const auto& [path, test] : tests) s += (s.empty() ? "" : " ") + path + DescribeTest(test);
  return s;
}

std::string DescribeMatch(const EventMatch& m) {
  return m.where.empty() ? m.kind : m.kind + " " + DescribeTests(m.where);
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// "staging has been READY for 14m12s" for step reports, else "<match> (seq N) is 14m12s old".
std::string DescribeAge(const EventMatch& m, const Fact& f, Micros age) {
  auto step = m.where.find("step"), status = m.where.find("status");
  if (m.kind == "step.reported" && step != m.where.end() && status != m.where.end() &&
      !step->second.values.empty() && !status->second.values.empty()) {
    return step->second.values[0] + " has been " + Upper(status->second.values[0]) + " for " +
           FormatDuration(age) + " (seq " + std::to_string(f.seq) + ")";
  }
  return DescribeMatch(m) + " (seq " + std::to_string(f.seq) + ") is " + FormatDuration(age) +
         " old";
}

// The result of one requirement.
struct RequirementOutcome {
  bool applied = true;  // false when its `if:` did not match
  bool ok = true;
  std::string message;
  std::vector<uint64_t> considered;
  std::vector<uint64_t> satisfied_by;
};

RequirementOutcome Fail(std::string message, std::vector<uint64_t> considered = {}) {
  RequirementOutcome o;
  o.ok = false;
  o.message = std::move(message);
  o.considered = std::move(considered);
  return o;
}

RequirementOutcome Pass(std::vector<uint64_t> by = {}) {
  RequirementOutcome o;
  o.satisfied_by = std::move(by);
  return o;
}

// What one decision looks at.
struct Intent {
  const Event& event;
  const std::string_view image;
  const std::string_view digest;  // ImageDigest(image)
  const std::string_view step;    // the step it starts or reports, else empty
  const DeploymentState* deployment;  // null when the deployment has no events yet
  Micros now;
  // The deciding policy's plan, whose value-index keys hold when the deployment's value index
  // holds that policy's fields (else null: the lookups work their keys out).
  const DecisionPlan* plan;
};

// A test Candidates looks up in the value index: one value for a top-level field, not a zero
// value (a test for one also matches facts that leave the field out, which the index lacks).
bool IsKeyedTest(const std::string& path, const ValueTest& test) {
  return IsOneValueTest(path, test) && !IsZeroText(test.values[0]);
}

// Calls `visit` on every event match the policy's rules and checklists look for.
template <typename Visit>
void ForEachEventMatch(const Policy& policy, Visit visit) {
  std::function<void(const Requirement&)> requirement = [&](const Requirement& r) {
    visit(r.event);
    visit(r.analysis);
    for (const EventMatch& m : r.unless_later) visit(m);
    for (const Requirement& option : r.any_of) requirement(option);
  };
  for (const Rule& rule : policy.rules) {
    for (const Requirement& r : rule.require) requirement(r);
  }
  for (const auto& [name, items] : policy.checklists) {
    for (const ChecklistItem& item : items) visit(item.event);
  }
}

bool HasStep(std::string_view kind) { return kind == "step.started" || kind == "step.reported"; }

bool Listed(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// The kinds Engine::IsIntent names, numbered for DecisionPlan's tables.
constexpr std::array<std::string_view, 4> kIntentKinds = {"deploy.requested", "step.started",
                                                         "traffic.shifted", "deploy.completed"};

std::optional<size_t> IntentIndex(std::string_view kind) {
  for (size_t i = 0; i < kIntentKinds.size(); ++i) {
    if (kIntentKinds[i] == kind) return i;
  }
  return std::nullopt;
}

}  // namespace

// What a decision reads of the policy, worked out when the engine takes it: which rules judge
// each intent, and each event match's keys into a deployment's value index, so that a decision
// compares no name it could have compared once. It points into the engine's policy.
struct DecisionPlan {
  static constexpr size_t kMaxValueKeys = 4;  // per event match; more tests are read as fields

  // rules[intent][slot]: the rules judging that intent kind (IntentIndex) in the policy's order;
  // slot i < chain.size() for a step of the chain, slot chain.size() for any other step or a
  // kind without one. The rules' environments are checked at each decision.
  std::array<std::vector<std::vector<const Rule*>>, kIntentKinds.size()> rules;
  // For each event match: ValueKeyInto's key for each of its one-value tests of a non-zero value
  // (the lookups Candidates makes), for a deployment indexed by the policy's own fields.
  struct ValueKey {
    const std::string* path;  // the test's field, in the match's `where`
    std::string key;
  };
  std::unordered_map<const EventMatch*, std::vector<ValueKey>> value_keys;

  explicit DecisionPlan(const Policy& policy) {
    const size_t slots = policy.chain.size() + 1;
    for (size_t intent = 0; intent < kIntentKinds.size(); ++intent) {
      const std::string_view kind = kIntentKinds[intent];
      rules[intent].resize(slots);
      for (size_t slot = 0; slot < slots; ++slot) {
        for (const Rule& rule : policy.rules) {
          if (!Listed(rule.on_kinds, kind)) continue;
          if (!rule.on_steps.empty() && HasStep(kind) &&
              (slot == policy.chain.size() || !Listed(rule.on_steps, policy.chain[slot].step))) {
            continue;
          }
          rules[intent][slot].push_back(&rule);
        }
      }
    }
    ForEachEventMatch(policy, [&](const EventMatch& m) {
      std::vector<ValueKey>& keys = value_keys[&m];
      for (const auto& [path, test] : m.where) {
        if (!IsKeyedTest(path, test)) continue;
        if (keys.size() == kMaxValueKeys) break;  // the rest are read from the facts
        ValueKey& key = keys.emplace_back();
        key.path = &path;
        ValueKeyInto(key.key, m.kind, path, test.values[0]);
      }
    });
  }

  const std::vector<const Rule*>& RulesFor(size_t intent, std::string_view kind,
                                           std::string_view step, const Policy& policy) const {
    size_t slot = policy.chain.size();
    if (HasStep(kind)) {
      for (size_t i = 0; i < policy.chain.size(); ++i) {
        if (policy.chain[i].step == step) {
          slot = i;
          break;
        }
      }
    }
    return rules[intent][slot];
  }

  // The keys of `m`, or null for a match this plan does not know.
  const std::vector<ValueKey>* ValueKeys(const EventMatch& m) const {
    auto it = value_keys.find(&m);
    return it == value_keys.end() ? nullptr : &it->second;
  }
};

// ---- plain data ----

bool Fact::HasRole(const std::string& role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

const char* StepStatusName(StepStatus status) {
  switch (status) {
    case StepStatus::kNotStarted: return "not started";
    case StepStatus::kStarted: return "started";
    case StepStatus::kReady: return "READY";
    case StepStatus::kBlocked: return "BLOCKED";
    case StepStatus::kFailed: return "FAILED";
  }
  return "?";
}

std::string DeploymentState::app() const {
  return request ? std::string(request->event.Text("app")) : "";
}

std::string DeploymentState::environment() const {
  return request ? std::string(request->event.Text("environment")) : "";
}

namespace {

// The steps a deploy.requested lists, read from its record; empty when it lists none (then every
// step of the chain is planned).
std::vector<std::string> ListedSteps(const std::optional<Fact>& request) {
  std::vector<std::string> listed;
  if (request) {
    auto body = request->event.reader().getBody();
    if (body.isDeployRequested()) {
      const auto names = body.getDeployRequested().getPlannedSteps();
      listed.reserve(names.size());
      for (capnp::Text::Reader name : names) listed.emplace_back(name.cStr(), name.size());
    }
  }
  return listed;
}

bool IsPlanned(const DeploymentState& d, std::string_view step) {
  return d.listed_steps.empty() ||
         std::find(d.listed_steps.begin(), d.listed_steps.end(), step) != d.listed_steps.end();
}

}  // namespace

std::vector<std::string> DeploymentState::planned_steps(const Policy& policy) const {
  std::vector<std::string> planned;
  for (const ChainStep& s : policy.chain) {
    if (IsPlanned(*this, s.step)) planned.push_back(s.step);
  }
  return planned;
}

ValueIndexFields ValueIndexFields::Of(const Policy& policy) {
  ValueIndexFields fields;
  // As Candidates looks them up: one-value equality tests on top-level fields.
  ForEachEventMatch(policy, [&](const EventMatch& m) {
    for (const auto& [path, test] : m.where) {
      if (IsOneValueTest(path, test)) fields.by_kind[m.kind].insert(path);
    }
  });
  return fields;
}

bool ValueIndexFields::Has(std::string_view kind, std::string_view field) const {
  auto it = by_kind.find(kind);
  return it != by_kind.end() && it->second.find(field) != it->second.end();
}

json Decision::ToJson() const {
  json reasons_json = json::array(), evidence_json = json::array();
  for (const Reason& r : reasons) {
    reasons_json.push_back({{"rule", r.rule}, {"name", r.name}, {"message", r.message},
                            {"considered", r.considered}});
  }
  for (const Evidence& e : evidence) {
    json item = {{"rule", e.rule}, {"name", e.name}, {"events", e.events}};
    if (e.waiver) {
      item["waiver"] = {{"seq", e.waiver->seq}, {"by", e.waiver->actor},
                        {"reason", e.waiver->reason}};
    }
    evidence_json.push_back(item);
  }
  return {{"allowed", allowed}, {"policy_sha256", policy_sha256}, {"reasons", reasons_json},
          {"evidence", evidence_json}};
}

namespace {

// Appends `,"key":` and `text` as a JSON string.
void AppendMember(std::string& out, std::string_view key, std::string_view text) {
  out += ",\"";
  out += key;
  out += "\":";
  AppendJsonString(out, text);
}

// Appends `seqs` as a JSON list of numbers.
void AppendSeqs(std::string& out, const std::vector<uint64_t>& seqs) {
  out += '[';
  for (size_t i = 0; i < seqs.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(seqs[i]);
  }
  out += ']';
}

}  // namespace

std::string Decision::ToJsonText() const {
  // The keys in ToJson's order: nlohmann::json sorts them.
  std::string out = allowed ? "{\"allowed\":true" : "{\"allowed\":false";
  out += ",\"evidence\":[";
  for (size_t i = 0; i < evidence.size(); ++i) {
    const Evidence& e = evidence[i];
    out += i > 0 ? ",{\"events\":" : "{\"events\":";
    AppendSeqs(out, e.events);
    AppendMember(out, "name", e.name);
    AppendMember(out, "rule", e.rule);
    if (e.waiver) {
      out += ",\"waiver\":{\"by\":";
      AppendJsonString(out, e.waiver->actor);
      AppendMember(out, "reason", e.waiver->reason);
      out += ",\"seq\":" + std::to_string(e.waiver->seq) + "}";
    }
    out += '}';
  }
  out += ']';
  AppendMember(out, "policy_sha256", policy_sha256);
  out += ",\"reasons\":[";
  for (size_t i = 0; i < reasons.size(); ++i) {
    const Reason& r = reasons[i];
    out += i > 0 ? ",{\"considered\":" : "{\"considered\":";
    AppendSeqs(out, r.considered);
    AppendMember(out, "message", r.message);
    AppendMember(out, "name", r.name);
    AppendMember(out, "rule", r.rule);
    out += '}';
  }
  out += "]}";
  return out;
}

namespace {

// Runs `read` on each object of the list `name` of `j` (absent: none).
template <typename Read>
Status ReadObjects(const json& j, const char* name, Read read) {
  auto it = j.find(name);
  if (it == j.end()) return Status::Ok();
  const std::string field = std::string("decision field '") + name + "'";
  if (!it->is_array()) return Status::InvalidArgument(field + " is not a list");
  for (const json& item : *it) {
    if (!item.is_object()) return Status::InvalidArgument(field + " holds a non-object");
    read(item);
  }
  return Status::Ok();
}

std::vector<uint64_t> SeqsOf(const json& item, const char* name) {
  std::vector<uint64_t> seqs;
  auto it = item.find(name);
  if (it == item.end() || !it->is_array()) return seqs;
  for (const json& seq : *it) {
    if (seq.is_number_unsigned()) seqs.push_back(seq.get<uint64_t>());
  }
  return seqs;
}

std::string TextOf(const json& item, const char* name) {
  auto it = item.find(name);
  return it != item.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<Decision> Decision::FromJson(const json& j) {
  if (!j.is_object() || !j.contains("allowed") || !j["allowed"].is_boolean()) {
    return Status::InvalidArgument("a decision needs \"allowed\" (true or false)");
  }
  Decision d;
  d.allowed = j["allowed"].get<bool>();
  d.policy_sha256 = TextOf(j, "policy_sha256");
  SHIPLOG_RETURN_IF_ERROR(ReadObjects(j, "reasons", [&](const json& r) {
    d.reasons.push_back(
        {TextOf(r, "rule"), TextOf(r, "name"), TextOf(r, "message"), SeqsOf(r, "considered")});
  }));
  SHIPLOG_RETURN_IF_ERROR(ReadObjects(j, "evidence", [&](const json& e) {
    Evidence evidence{TextOf(e, "rule"), TextOf(e, "name"), SeqsOf(e, "events"), std::nullopt};
    auto waiver = e.find("waiver");
    if (waiver != e.end() && waiver->is_object()) {
      auto seq = waiver->find("seq");
      const bool has_seq = seq != waiver->end() && seq->is_number_unsigned();
      evidence.waiver = Waiver{has_seq ? seq->get<uint64_t>() : 0, TextOf(*waiver, "by"),
                               TextOf(*waiver, "reason")};
    }
    d.evidence.push_back(std::move(evidence));
  }));
  return d;
}

// ---- the engine ----

Engine::Engine(Policy policy)
    : policy_(std::move(policy)),
      value_index_(std::make_shared<const ValueIndexFields>(ValueIndexFields::Of(policy_))),
      plan_(std::make_unique<const DecisionPlan>(policy_)) {}

Engine::~Engine() = default;
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;

void Engine::SetPolicy(Policy policy) {
  policy_ = std::move(policy);
  plan_ = std::make_unique<const DecisionPlan>(policy_);
  // Deployments already folded keep the index they have (lookups of other fields read the kind's
  // facts); those folded from now on index what this policy looks up.
  ValueIndexFields fields = ValueIndexFields::Of(policy_);
  if (!(fields == *value_index_)) {
    value_index_ = std::make_shared<const ValueIndexFields>(std::move(fields));
  }
}

bool Engine::IsIntent(const Event& event) { return IntentIndex(event.kind()).has_value(); }

const DeploymentState* Engine::FindDeployment(const std::string& id) const {
  auto it = deployments_.find(id);
  return it == deployments_.end() ? nullptr : &it->second;
}

std::string_view Engine::EffectiveImage(const Event& event, const DeploymentState* d) const {
  const std::string_view kind = event.kind();
  const std::string_view own = event.Text("image");
  if (!own.empty()) return own;
  if (d && kind == "step.reported") {
    auto step = d->steps.find(std::string(event.Text("step")));
    if (step != d->steps.end() && !step->second.image.empty()) return step->second.image;
  }
  bool about_the_artifact = kind == "step.started" || kind == "step.reported" ||
                            kind == "traffic.shifted" || kind == "deploy.completed";
  return about_the_artifact && d && d->request ? std::string_view(d->request->image)
                                                : std::string_view();
}

Fact Engine::MakeFact(uint64_t seq, Micros time, const Event& event,
                      std::vector<std::string> roles, std::string signer,
                      const DeploymentState* deployment) const {
  Fact f(event);
  f.signer = std::move(signer);
  f.seq = seq;
  f.time = time;
  f.kind = std::string(event.kind());
  f.actor = std::string(event.actor());
  f.roles = std::move(roles);
  f.image = std::string(EffectiveImage(event, deployment));
  return f;
}

Status Engine::CheckAuthority(const Event& event, const std::vector<std::string>& roles) const {
  const std::string kind(event.kind());
  if (IsAdminOrLedgerKind(kind)) return Status::Ok();
  bool may_emit = std::any_of(roles.begin(), roles.end(),
                              [&](const std::string& r) { return policy_.RoleMayEmit(r, kind); });
  if (!may_emit) {
    std::string allowed;
    for (const auto& [role, kinds] : policy_.roles) {
      if (policy_.RoleMayEmit(role, kind)) allowed += (allowed.empty() ? "" : ", ") + role;
    }
    return Status::Forbidden("'" + std::string(event.actor()) + "' holds no role that may emit " +
                             kind + " (roles that may: " + (allowed.empty() ? "none" : allowed) +
                             ")");
  }
  if (kind == "step.started" || kind == "step.reported") {
    const std::string step(event.Text("step"));
    const ChainStep* chain_step = policy_.FindStep(step);
    if (!chain_step) {
      return Status::InvalidArgument("step '" + step + "' is not in the policy's chain");
    }
    if (std::find(roles.begin(), roles.end(), chain_step->owner) == roles.end()) {
      const Rule* owner = policy_.FindRule("owner");
      return Status::Forbidden((owner ? owner->id + " " + owner->name + ": " : "") + "step '" +
                               step + "' is owned by role '" + chain_step->owner + "', which '" +
                               std::string(event.actor()) + "' does not hold");
    }
  }
  if (kind == "waiver.granted") {
    bool holder = std::any_of(roles.begin(), roles.end(), [&](const std::string& r) {
      return std::find(policy_.waiver_roles.begin(), policy_.waiver_roles.end(), r) !=
             policy_.waiver_roles.end();
    });
    if (!holder) {
      return Status::Forbidden("'" + std::string(event.actor()) + "' holds no waiver role");
    }
    const std::string named(event.Text("rule"));
    const Rule* rule = policy_.FindRule(named);
    if (!rule) {
      return Status::InvalidArgument("waiver names rule '" + named +
                                     "', which the policy does not have");
    }
    if (std::find(policy_.never_waived.begin(), policy_.never_waived.end(), rule->id) !=
        policy_.never_waived.end()) {
      return Status::Forbidden(rule->id + " " + rule->name + " may never be waived");
    }
  }
  return Status::Ok();
}

// ---- the fold ----

void Engine::Apply(uint64_t seq, Micros time, const Event& event, std::vector<std::string> roles,
                   std::string signer) {
  const std::string_view kind = event.kind();
  if (ApplyEnvironmentKind(seq, kind, event)) return;
  if (event.deployment().empty()) return;
  // Evidence counts only from its deployment's request on. A review, waiver, gate result, backup
  // or report recorded under a deployment id before anyone requested that deployment judged no
  // known change (the app, version and image come with the request): the ledger keeps it for
  // auditors, but it is folded into no state a rule reads. Otherwise an approval recorded ahead
  // under a name would satisfy R4 for whatever is later requested under that name.
  std::string id(event.deployment());
  auto known = deployments_.find(id);
  const bool request = kind == "deploy.requested";
  if (!request && (known == deployments_.end() || !known->second.request)) return;

  Fact fact = MakeFact(seq, time, event, std::move(roles), std::move(signer),
                       known == deployments_.end() ? nullptr : &known->second);
  if (known == deployments_.end()) {
    known = deployments_.emplace(id, DeploymentState{}).first;
    known->second.id = std::move(id);
  }
  DeploymentState& d = known->second;
  if (!d.value_index) d.value_index = value_index_;
  auto finish = [&](DeploymentState::Status status) {
    d.status = status;
    MarkFinished({d.app(), d.environment()}, d.id);
  };
  if (request) {
    d.request = fact;
    d.listed_steps = ListedSteps(d.request);
    d.status = DeploymentState::Status::kRequested;
    MarkInProgress({d.app(), d.environment()}, d.id);
  } else if (kind == "step.started") {
    StepState& s = d.steps[std::string(event.Text("step"))];
    if (s.status == StepStatus::kNotStarted || s.status == StepStatus::kReady) {
      s.status = StepStatus::kStarted;
    }
    s.started_seq = seq;
    s.image = fact.image;
  } else if (kind == "step.reported") {
    const std::string step(event.Text("step"));
    StepState& s = d.steps[step];
    const std::string_view status = event.Text("status");
    s.report_seq = seq;
    if (status == "ready") {
      s.status = StepStatus::kReady;
      s.ready_since = time;
      if (d.halted_step == step) d.halted_step.reset();
    } else {
      s.status = status == "blocked" ? StepStatus::kBlocked : StepStatus::kFailed;
      if (!d.halted_step) d.halted_step = step;
    }
  } else if (kind == "traffic.shifted") {
    d.canary_weight = Uint32Field(event, "weight");
    d.canary_phase_start = time;
    d.canary_phase_seq = seq;
  } else if (kind == "waiver.granted") {
    const Rule* rule = policy_.FindRule(std::string(event.Text("rule")));
    if (rule) d.waivers[rule->id] = {seq, fact.actor, std::string(event.Text("reason"))};
  } else if (kind == "deploy.completed") {
    finish(DeploymentState::Status::kCompleted);
  } else if (kind == "rollback.completed") {
    finish(DeploymentState::Status::kRolledBack);
  }
  d.facts.push_back(std::move(fact));
  IndexFact(d, d.facts.size() - 1);
}

bool Engine::ApplyEnvironmentKind(uint64_t seq, std::string_view kind, const Event& event) {
  auto f = [&event](std::string_view name) { return StringField(event, name); };
  if (kind == "incident.opened") {
    environment_.open_incidents[f("environment")][f("incident")] = seq;
    return true;
  }
  if (kind == "incident.resolved") {
    environment_.open_incidents[f("environment")].erase(f("incident"));
    return true;
  }
  if (kind == "key.revoked") {
    environment_.revoked_keys.emplace(f("public_key"), seq);
    return true;
  }
  if (kind == "maintenance.window") {
    // Event validation keeps window times inside what FormatTime/ParseTime round-trip, so both
    // parse; should one not, the window opens nothing (it can only ever allow), and this runs
    // past the point where staging may fail, so it must not fail itself.
    auto from = ParseTime(f("from")), to = ParseTime(f("to"));
    if (from.ok() && to.ok()) {
      environment_.windows[f("environment")].push_back({seq, *from, *to});
    }
    return true;
  }
  return false;
}

void Engine::MarkInProgress(const std::pair<std::string, std::string>& key, const std::string& id) {
  environment_.in_progress[key] = id;
}

void Engine::MarkFinished(const std::pair<std::string, std::string>& key, const std::string& id) {
  auto it = environment_.in_progress.find(key);
  if (it != environment_.in_progress.end() && it->second == id) environment_.in_progress.erase(it);
}

void Engine::ApplyToEnvironment(uint64_t seq, const Event& event, RequestKeys& requests) {
  const std::string kind(event.kind());
  const bool ends = kind == "deploy.completed" || kind == "rollback.completed";
  const bool environment_kind = kind == "incident.opened" || kind == "incident.resolved" ||
                                kind == "maintenance.window" || kind == "key.revoked";
  if (!environment_kind && kind != "deploy.requested" && !ends) return;
  if (ApplyEnvironmentKind(seq, kind, event)) return;
  const std::string id(event.deployment());
  if (id.empty()) return;
  if (kind == "deploy.requested") {
    auto& key = requests[id];
    key = {std::string(event.Text("app")), std::string(event.Text("environment"))};
    MarkInProgress(key, id);
    return;
  }
  // A deployment ended before any request: Apply reads an empty app and environment then.
  auto it = requests.find(id);
  MarkFinished(it == requests.end() ? std::make_pair(std::string(), std::string()) : it->second, id);
}

std::optional<DeploymentState> Engine::TakeDeployment(const std::string& id) {
  auto it = deployments_.find(id);
  if (it == deployments_.end()) return std::nullopt;
  std::optional<DeploymentState> taken(std::move(it->second));
  deployments_.erase(it);
  return taken;
}

void Engine::PutDeployment(DeploymentState state) {
  if (!state.value_index || !(*state.value_index == *value_index_)) {
    Reindex(state);
  } else {
    state.value_index = value_index_;  // the same fields: decisions may use the plan's keys
  }
  std::string id = state.id;
  deployments_.insert_or_assign(std::move(id), std::move(state));
}

void Engine::IndexFact(DeploymentState& d, size_t index) {
  const Fact& fact = d.facts[index];
  d.by_kind[fact.kind].push_back(index);
  if (!d.value_index) return;
  auto fields = d.value_index->by_kind.find(fact.kind);
  if (fields == d.value_index->by_kind.end()) return;
  // One key buffer for every field: most keys are in the index already, so the common case
  // allocates nothing past the fields' values.
  std::string key;
  for (const std::string& field : fields->second) {
    const std::optional<json> value = fact.event.Field(field);
    if (!value || !value->is_primitive()) continue;
    if (value->is_string()) {
      ValueKeyInto(key, fact.kind, field, value->get_ref<const std::string&>());
    } else {
      ValueKeyInto(key, fact.kind, field, ScalarText(*value));
    }
    if (auto found = d.by_value.find(key); found != d.by_value.end()) {
      found->second.push_back(index);
    } else {
      d.by_value.emplace(key, std::vector<size_t>{index});
    }
  }
}

EngineState Engine::ExportState() const { return {deployments_, environment_}; }

void Engine::RestoreState(EngineState state) {
  deployments_ = std::move(state.deployments);
  environment_ = std::move(state.environment);
  for (auto& [id, d] : deployments_) Reindex(d);
}

void Engine::Reindex(DeploymentState& d) const {
  d.value_index = value_index_;
  d.listed_steps = ListedSteps(d.request);
  d.by_kind.clear();
  d.by_value.clear();
  for (size_t i = 0; i < d.facts.size(); ++i) IndexFact(d, i);
}

// ---- the requirements ----

namespace {

std::string JoinNames(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// The facts that can match `m`: the shortest value-index list of its equality tests on top-level
// fields, or every fact of the kind. (A test for a zero value also matches facts that leave the
// field out, which the value index does not hold, so those use the kind's list.)
struct CandidateFacts {
  const std::vector<size_t>* facts;
  // With the plan's keys: the match's keys and each key's list. A fact in every list passes
  // every keyed test, which need not be read: a fact is listed under a key when its field's
  // value, as text in lower case, is the test's one value in lower case, and Satisfies holds for
  // exactly those (numbers print as the shortest text that reads back as the same number).
  const std::vector<DecisionPlan::ValueKey>* keys = nullptr;
  std::array<const std::vector<size_t>*, DecisionPlan::kMaxValueKeys> lists{};

  // Whether fact `index`, one of `facts`, is in every key's list (lists are in fact order).
  bool InEveryList(size_t index) const {
    for (size_t k = 0; keys != nullptr && k < keys->size(); ++k) {
      if (lists[k] != facts && !std::binary_search(lists[k]->begin(), lists[k]->end(), index)) {
        return false;
      }
    }
    return true;
  }
  bool Keyed(const std::string& path) const {
    for (size_t k = 0; keys != nullptr && k < keys->size(); ++k) {
      if ((*keys)[k].path == &path) return true;
    }
    return false;
  }
};

CandidateFacts Candidates(const Intent& in, const EventMatch& m) {
  static const std::vector<size_t> kNone;
  const DeploymentState& d = *in.deployment;
  auto kind = d.by_kind.find(m.kind);
  if (kind == d.by_kind.end()) return {&kNone};
  CandidateFacts best{&kind->second};
  if (const auto* keys = in.plan ? in.plan->ValueKeys(m) : nullptr) {
    for (size_t k = 0; k < keys->size(); ++k) {
      auto it = d.by_value.find((*keys)[k].key);
      if (it == d.by_value.end()) return {&kNone};
      best.lists[k] = &it->second;
      if (it->second.size() < best.facts->size()) best.facts = &it->second;
    }
    best.keys = keys;
    return best;
  }
  thread_local std::string key;
  for (const auto& [path, test] : m.where) {
    if (!IsKeyedTest(path, test) || !d.value_index || !d.value_index->Has(m.kind, path)) {
      continue;
    }
    ValueKeyInto(key, m.kind, path, test.values[0]);
    auto it = d.by_value.find(key);
    if (it == d.by_value.end()) return {&kNone};
    if (it->second.size() < best.facts->size()) best.facts = &it->second;
  }
  return best;
}

// Calls `visit` on each fact of the intent's deployment matching `m`, oldest first.
template <typename Visit>
void ForEachFact(const Intent& in, const EventMatch& m, Visit visit) {
  if (!in.deployment) return;
  const CandidateFacts candidates = Candidates(in, m);
  auto keyed = [&](const std::string& path) { return candidates.Keyed(path); };
  for (size_t i : *candidates.facts) {
    const Fact& f = in.deployment->facts[i];
    if (candidates.InEveryList(i) && Matches(&f.event, m.where, keyed)) visit(f);
  }
}

std::vector<const Fact*> FindFacts(const Intent& in, const EventMatch& m) {
  std::vector<const Fact*> found;
  ForEachFact(in, m, [&](const Fact& f) { found.push_back(&f); });
  return found;
}

const Fact* FirstLater(const Intent& in, const std::vector<EventMatch>& matches, uint64_t after) {
  const Fact* first = nullptr;
  for (const EventMatch& m : matches) {
    ForEachFact(in, m, [&](const Fact& f) {
      if (f.seq > after && (!first || f.seq < first->seq)) first = &f;
    });
  }
  return first;
}

// The same artifact is the same digest, however its repository is written: ImageDigest(f.image)
// is the intent's digest. Compared from the end, where the digest lies: the digest holds no '@',
// so it is f's whole image or follows its last '@'.
bool SameImage(const Fact& f, const Intent& in) {
  const std::string_view image = f.image, digest = in.digest;
  if (image.empty() || image.size() < digest.size()) return false;
  const size_t at = image.size() - digest.size();
  return image.compare(at, digest.size(), digest) == 0 && (at == 0 || image[at - 1] == '@');
}

RequirementOutcome EventRequirement(const Requirement& r, const Intent& in) {
  const Fact* latest = nullptr;  // the last fact that satisfies the match, role and image
  ForEachFact(in, r.event, [&](const Fact& f) {
    if ((r.by_role.empty() || f.HasRole(r.by_role)) && (!r.same_image || SameImage(f, in))) {
      latest = &f;
    }
  });
  if (latest == nullptr) {
    // A denial's account: every fact of the match was considered. Read again only here, so an
    // allow builds no list.
    std::vector<uint64_t> considered;
    ForEachFact(in, r.event, [&](const Fact& f) { considered.push_back(f.seq); });
    std::string what = "no " + DescribeMatch(r.event);
    if (!r.by_role.empty()) what += " by a holder of role " + r.by_role;
    if (r.same_image) what += " for image " + (in.image.empty() ? "(none)" : std::string(in.image));
    if (!considered.empty()) what += " (" + std::to_string(considered.size()) + " others considered)";
    return Fail(what, considered);
  }
  if (const Fact* later = FirstLater(in, r.unless_later, latest->seq)) {
    return Fail(DescribeMatch(r.event) + " at seq " + std::to_string(latest->seq) +
                    " was followed by " + later->kind + " " +
                    std::string(later->event.Text("status").empty() ? later->event.Text("outcome")
                                                                    : later->event.Text("status")) +
                    " at seq " + std::to_string(later->seq),
                {latest->seq, later->seq});
  }
  Micros age = in.now - latest->time;
  if (age < r.older_than) {
    return Fail(DescribeAge(r.event, *latest, age) + "; the policy needs " +
                    FormatDuration(r.older_than),
                {latest->seq});
  }
  return Pass({latest->seq});
}

// The seq from which the deployment's image has been what it is now: its request, or the latest
// start that named another digest than the one before it.
uint64_t ImageSince(const DeploymentState& d) {
  uint64_t since = d.request ? d.request->seq : 0;
  std::string current(d.request ? ImageDigest(d.request->image) : std::string_view());
  auto starts = d.by_kind.find("step.started");
  if (starts == d.by_kind.end()) return since;
  for (size_t i : starts->second) {
    const Fact& f = d.facts[i];
    const std::string_view digest = ImageDigest(f.image);
    if (!digest.empty() && digest != current) {
      current = std::string(digest);
      since = f.seq;
    }
  }
  return since;
}

// Who started or reported the deployment's build step.
std::vector<std::string> Builders(const DeploymentState& d) {
  std::vector<std::string> actors;
  for (const char* kind : {"step.started", "step.reported"}) {
    auto it = d.by_kind.find(kind);
    if (it == d.by_kind.end()) continue;
    for (size_t i : it->second) {
      const Fact& f = d.facts[i];
      if (f.event.Text("step") == "build" && !Listed(actors, f.actor)) {
        actors.push_back(f.actor);
      }
    }
  }
  return actors;
}

RequirementOutcome ApprovalsRequirement(const Requirement& r, const EnvironmentState& env,
                                        const Intent& in) {
  if (in.deployment == nullptr) return Fail("nothing can be approved before the request");
  const DeploymentState& d = *in.deployment;
  const std::string digest(in.digest);
  const uint64_t since = ImageSince(d);
  const std::string requester = d.request ? d.request->actor : "";
  const std::vector<std::string> builders =
      Listed(r.not_by, "builder") ? Builders(d) : std::vector<std::string>{};
  std::vector<std::string> counted_actors, not_counted;
  std::vector<uint64_t> counted, considered;
  const std::vector<const Fact*> found = FindFacts(in, r.event);
  // Newest first: a person's latest approval is the one that counts.
  for (auto it = found.rbegin(); it != found.rend(); ++it) {
    const Fact& f = **it;
    considered.push_back(f.seq);
    const std::string who = f.actor + " (seq " + std::to_string(f.seq) + ")";
    std::string why_not;
    if (Listed(counted_actors, f.actor)) {
      why_not = "approved already";
    } else if (f.seq <= since) {
      why_not = "came before the image last changed (seq " + std::to_string(since) + ")";
    } else if (digest.empty() || ImageDigest(f.image) != digest) {
      why_not = f.image.empty() ? "names no image" : "names another image (" + f.image + ")";
    } else if (!r.approver_roles.empty() &&
               std::none_of(r.approver_roles.begin(), r.approver_roles.end(),
                            [&](const std::string& role) { return f.HasRole(role); })) {
      why_not = "holds none of the roles " + JoinNames(r.approver_roles, ", ");
    } else if (Listed(r.not_by, "requester") && f.actor == requester) {
      why_not = "requested the deployment";
    } else if (Listed(builders, f.actor)) {
      why_not = "built the image";
    } else if (!f.signer.empty() && env.revoked_keys.count(f.signer) != 0) {
      why_not = "signed with a key revoked at seq " +
                std::to_string(env.revoked_keys.at(f.signer));
    }
    if (!why_not.empty()) {
      if (why_not != "approved already") not_counted.push_back(who + " " + why_not);
      continue;
    }
    counted_actors.push_back(f.actor);
    counted.push_back(f.seq);
  }
  if (counted.size() >= r.approvals) {
    std::sort(counted.begin(), counted.end());
    return Pass(counted);
  }
  std::string message = std::to_string(r.approvals) + " distinct approvals (" +
                        DescribeMatch(r.event) + " naming " +
                        (digest.empty() ? "the image" : digest) + ") needed, " +
                        std::to_string(counted.size()) + " given";
  if (!counted_actors.empty()) message += " (by " + JoinNames(counted_actors, ", ") + ")";
  if (!not_counted.empty()) message += "; not counted: " + JoinNames(not_counted, "; ");
  std::sort(considered.begin(), considered.end());
  return Fail(message, considered);
}

// Every item of the checklist done by an event of the deployment; a denial names the rest.
RequirementOutcome ChecklistRequirement(const Requirement& r, const Policy& policy,
                                        const Intent& in) {
  const std::vector<ChecklistItem>& items = policy.checklists.at(r.checklist);
  std::vector<uint64_t> done_by;
  std::vector<std::string> missing;
  for (const ChecklistItem& item : items) {
    const Fact* done = nullptr;
    ForEachFact(in, item.event, [&](const Fact& f) {
      if ((item.by_role.empty() || f.HasRole(item.by_role)) &&
          (!item.same_image || SameImage(f, in))) {
        done = &f;
      }
    });
    if (done != nullptr) {
      done_by.push_back(done->seq);
    } else {
      missing.push_back(item.item);
    }
  }
  if (missing.empty()) {
    std::sort(done_by.begin(), done_by.end());
    return Pass(done_by);
  }
  return Fail("checklist " + r.checklist + " is missing " + std::to_string(missing.size()) +
                  " of " + std::to_string(items.size()) + " items: " + JoinNames(missing, "; "),
              done_by);
}

RequirementOutcome CanaryRequirement(const Requirement& r, const Intent& in) {
  const DeploymentState& d = *in.deployment;
  const uint32_t want = Uint32Field(in.event, "weight"), now_at = d.canary_weight;
  if (want <= now_at) return Pass();  // holding or lowering traffic is always allowed
  size_t next = 0;
  while (next < r.phases.size() && r.phases[next].weight <= now_at) ++next;
  if (next == r.phases.size() || r.phases[next].weight != want) {
    std::string expected = next == r.phases.size() ? "no higher weight"
                                                    : std::to_string(r.phases[next].weight) + "%";
    return Fail("canary traffic goes from " + std::to_string(now_at) + "% to " + expected +
                    " next, not " + std::to_string(want) + "%",
                {d.canary_phase_seq});
  }
  if (next == 0) return Pass();
  const CanaryPhase& current = r.phases[next - 1];
  const Micros held = in.now - d.canary_phase_start;
  if (held < current.hold) {
    return Fail("the " + std::to_string(now_at) + "% phase has held for " + FormatDuration(held) +
                    "; the policy needs " + FormatDuration(current.hold),
                {d.canary_phase_seq});
  }
  for (const Fact* f : FindFacts(in, r.analysis)) {
    const std::optional<json> metrics = f->event.Field("metrics");
    if (f->seq > d.canary_phase_seq &&
        Matches(metrics && metrics->is_object() ? *metrics : json::object(), r.analysis_metrics)) {
      return Pass({d.canary_phase_seq, f->seq});
    }
  }
  return Fail("no passing analysis (" + DescribeMatch(r.analysis) +
                  (r.analysis_metrics.empty() ? "" : ", " + DescribeTests(r.analysis_metrics)) +
                  ") since the " + std::to_string(now_at) + "% phase began at seq " +
                  std::to_string(d.canary_phase_seq),
              {d.canary_phase_seq});
}

RequirementOutcome Builtin(const std::string& name, const Policy& policy,
                           const EnvironmentState& env, const Intent& in) {
  const DeploymentState* d = in.deployment;
  const std::string_view builtin = name;  // compared by length first
  if (builtin == "owner") return Pass();  // an authority check: Engine::CheckAuthority
  const std::string step(in.step);
  if (builtin == "one-at-a-time") {
    if (d && d->request) {
      return Fail("deployment " + d->id + " was already requested at seq " +
                      std::to_string(d->request->seq),
                  {d->request->seq});
    }
    auto it = env.in_progress.find(
        {std::string(in.event.Text("app")), std::string(in.event.Text("environment"))});
    if (it == env.in_progress.end()) return Pass();
    return Fail("deployment " + it->second + " of " + it->first.first + " to " + it->first.second +
                " is neither completed nor rolled back");
  }
  if (builtin == "halt") {
    if (!d || !d->halted_step || *d->halted_step == step) return Pass();
    const StepState& h = d->steps.at(*d->halted_step);
    return Fail("the chain is halted: " + *d->halted_step + " reported " +
                    StepStatusName(h.status) + " at seq " + std::to_string(h.report_seq) +
                    "; its owner must report READY before another step starts",
                {h.report_seq});
  }
  // chain-order: every planned step before this one is READY (DeploymentState::planned_steps,
  // walked in place: this runs on every step's start).
  if (policy.FindStep(step) == nullptr || !IsPlanned(*d, step)) {
    return Fail("step " + step + " is not planned for this deployment");
  }
  std::vector<uint64_t> ready;
  ready.reserve(policy.chain.size());
  for (const ChainStep& before : policy.chain) {
    if (before.step == step) break;
    if (!IsPlanned(*d, before.step)) continue;
    auto s = d->steps.find(before.step);
    if (s == d->steps.end() || s->second.status != StepStatus::kReady) {
      StepStatus status = s == d->steps.end() ? StepStatus::kNotStarted : s->second.status;
      return Fail(before.step + " comes before " + step + " and is " + StepStatusName(status) +
                      ", not READY",
                  s == d->steps.end() ? std::vector<uint64_t>{} : std::vector<uint64_t>{s->second.report_seq});
    }
    ready.push_back(s->second.report_seq);
  }
  return Pass(std::move(ready));
}

void Note(CoverageMap* coverage, const std::string& key, bool first) {
  BranchSeen& seen = (*coverage)[key];
  (first ? seen.first : seen.second) = true;
}

RequirementOutcome EvaluateOnce(const Requirement& r, const Policy& policy,
                                const EnvironmentState& env, const Intent& in,
                                CoverageMap* coverage, const std::string& path);

// One requirement's outcome; with `coverage`, noted under `path` (and its if and arms).
RequirementOutcome Evaluate(const Requirement& r, const Policy& policy,
                            const EnvironmentState& env, const Intent& in,
                            CoverageMap* coverage = nullptr, const std::string& path = "") {
  RequirementOutcome o = EvaluateOnce(r, policy, env, in, coverage, path);
  if (coverage != nullptr) {
    if (!r.when_request.empty() && (r.on_kinds.empty() ||
                                    Listed(r.on_kinds, in.event.kind()))) {
      Note(coverage, path + "/if", o.applied);
    }
    if (o.applied) Note(coverage, path, o.ok);
  }
  return o;
}

RequirementOutcome EvaluateOnce(const Requirement& r, const Policy& policy,
                                const EnvironmentState& env, const Intent& in,
                                CoverageMap* coverage, const std::string& path) {
  const Event* request = in.deployment && in.deployment->request ? &in.deployment->request->event
                         : in.event.kind() == "deploy.requested"   ? &in.event
                                                                   : nullptr;
  if ((!r.on_kinds.empty() && !Listed(r.on_kinds, in.event.kind())) ||
      (!r.when_request.empty() && !Matches(request, r.when_request))) {
    RequirementOutcome skipped;
    skipped.applied = false;
    return skipped;
  }
  switch (r.type) {
    case Requirement::Type::kBuiltin: return Builtin(r.builtin, policy, env, in);
    case Requirement::Type::kEvent: return EventRequirement(r, in);
    case Requirement::Type::kRequest:
      if (Matches(request, r.request)) return Pass();
      return Fail("the deployment's request does not have " + DescribeTests(r.request));
    case Requirement::Type::kAnyOf: {
      std::string failures;
      for (size_t i = 0; i < r.any_of.size(); ++i) {
        const Requirement& option = r.any_of[i];
        RequirementOutcome o =
            Evaluate(option, policy, env, in, coverage,
                     coverage ? path + "/any_of " + std::to_string(i + 1) : std::string());
        if (o.applied && o.ok) return o;
        if (o.applied) failures += (failures.empty() ? "" : "; and ") + o.message;
      }
      return Fail("none of the alternatives holds: " + failures);
    }
    case Requirement::Type::kNoOpenIncident: {
      auto it = env.open_incidents.find(r.environment);
      if (it == env.open_incidents.end() || it->second.empty()) return Pass();
      return Fail("incident " + it->second.begin()->first + " is open in " + r.environment +
                      " (seq " + std::to_string(it->second.begin()->second) + ")",
                  {it->second.begin()->second});
    }
    case Requirement::Type::kOpenMaintenanceWindow: {
      auto it = env.windows.find(r.environment);
      if (it != env.windows.end()) {
        for (const MaintenanceWindow& w : it->second) {
          if (w.from <= in.now && in.now < w.to) return Pass({w.seq});
        }
      }
      return Fail("no maintenance window is open for " + r.environment + " at " +
                  FormatTime(in.now));
    }
    case Requirement::Type::kImagePinned:
      if (IsPinnedDigest(in.image)) return Pass();
      return Fail("image '" + std::string(in.image) +
                  "' is not pinned by digest (repo@sha256:<64 hex>)");
    case Requirement::Type::kCanary: return CanaryRequirement(r, in);
    case Requirement::Type::kApprovals: return ApprovalsRequirement(r, env, in);
    case Requirement::Type::kChecklist: return ChecklistRequirement(r, policy, in);
    case Requirement::Type::kInsideCalendar:
    case Requirement::Type::kOutsideCalendar: {
      const Calendar& calendar = policy.calendars.at(r.calendar);
      std::string window;
      const bool inside = calendar.WindowAt(in.now, &window) != nullptr;
      const bool want_inside = r.type == Requirement::Type::kInsideCalendar;
      if (inside == want_inside) return Pass();
      return Fail(calendar.LocalTime(in.now) + " is " +
                  (inside ? "inside calendar " + r.calendar + " (" + window + ")"
                          : "outside every window of calendar " + r.calendar));
    }
  }
  return Fail("unknown requirement");
}

const Waiver* FindWaiver(const DeploymentState* d, const std::string& rule_id) {
  if (!d) return nullptr;
  auto it = d->waivers.find(rule_id);
  return it == d->waivers.end() ? nullptr : &it->second;
}

// Whether `rule`, which judges the intent's kind and step (DecisionPlan), judges its deployment's
// environment.
bool JudgesEnvironment(const Rule& rule, const Intent& in) {
  if (rule.on_environments.empty()) return true;
  // Read only for the rules that name environments: a decision's path stays as short as it was.
  const std::string_view environment = in.event.kind() == "deploy.requested"
                                           ? in.event.Text("environment")
                                           : in.deployment->request->event.Text("environment");
  return Listed(rule.on_environments, environment);
}

}  // namespace

Decision Engine::Decide(const Event& event, const std::vector<std::string>& roles, Micros now,
                        CoverageMap* coverage) const {
  Decision decision;
  decision.policy_sha256 = policy_.sha256_hex;
  if (!IsIntent(event)) return decision;
  const DeploymentState* d = FindDeployment(std::string(event.deployment()));
  const std::string_view kind = event.kind();
  if (kind != "deploy.requested" && (!d || !d->request)) {
    decision.allowed = false;
    decision.reasons.push_back({"deployment", "requested",
                                "deployment " + std::string(event.deployment()) +
                                    " has no deploy.requested; nothing happens before it",
                                {}});
    return decision;
  }
  const std::string_view image = EffectiveImage(event, d);
  const Intent intent{event,
                      image,
                      ImageDigest(image),
                      event.Text("step"),
                      d,
                      now,
                      d == nullptr || d->value_index == value_index_ ? plan_.get() : nullptr};
  const std::vector<const Rule*>& rules =
      plan_->RulesFor(*IntentIndex(kind), kind, intent.step, policy_);
  decision.evidence.reserve(rules.size());
  for (const Rule* judging : rules) {
    const Rule& rule = *judging;
    if (!JudgesEnvironment(rule, intent)) continue;
    // Written in place, and taken back when the rule does not apply or fails unwaived.
    Evidence& evidence = decision.evidence.emplace_back();
    evidence.rule = rule.id;
    evidence.name = rule.name;
    std::optional<Reason> failure;
    bool applied = false;
    for (size_t i = 0; i < rule.require.size(); ++i) {
      const Requirement& r = rule.require[i];
      RequirementOutcome o =
          Evaluate(r, policy_, environment_, intent, coverage,
                   coverage ? rule.id + "/require " + std::to_string(i + 1) : std::string());
      if (!o.applied) continue;
      applied = true;
      if (evidence.events.empty()) {
        evidence.events = std::move(o.satisfied_by);
      } else {
        evidence.events.insert(evidence.events.end(), o.satisfied_by.begin(), o.satisfied_by.end());
      }
      if (!o.ok && !failure) {
        failure = Reason{rule.id, rule.name, std::move(o.message), std::move(o.considered)};
      }
    }
    if (!applied) {
      decision.evidence.pop_back();
      continue;
    }
    if (failure) {
      const Waiver* waiver = FindWaiver(d, rule.id);
      if (!waiver) {
        decision.evidence.pop_back();
        if (coverage) Note(coverage, rule.id, false);
        decision.allowed = false;
        decision.reasons.push_back(std::move(*failure));
        continue;
      }
      evidence.waiver = *waiver;
    }
    if (coverage) Note(coverage, rule.id, true);
  }
  if (!decision.allowed) decision.evidence.clear();
  return decision;
}

}  // namespace shiplog::policy
