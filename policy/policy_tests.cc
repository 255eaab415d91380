// RunPolicyTests: a tests file's YAML into checked timelines (every error with file:line:column,
// like policy_parser.cc), then each timeline driven through the engine the way the ledger's
// sequencer drives it.
#include "policy/policy_tests.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "ledger/event.h"
#include "ledger/event_schema.h"
#include "policy/yaml_document.h"

namespace shiplog::policy {
namespace {

using json = nlohmann::json;

// Bounds, so a small file (aliases: &a / *a) cannot cost a lot.
constexpr size_t kMaxTestsBytes = 4 * 1024 * 1024;
constexpr int kMaxEventDepth = 16;
constexpr int kMaxSteps = 100000;
constexpr int kMaxEventNodes = 1000000;  // over all events: aliases multiply breadth, not depth

// Built in place: GCC 12 at -O3 takes a braced PolicyError temporary's strings for uninitialized
// (-Wmaybe-uninitialized, a false positive) and a Release build with -Werror fails on it.
void AddError(std::vector<PolicyError>& errors, SourceLocation where, std::string message) {
  PolicyError& error = errors.emplace_back();
  error.where = std::move(where);
  error.message = std::move(message);
}

bool DeploymentScoped(const std::string& kind) {
  const auto& members = event_schema::KindMembers();
  auto it = members.find(kind);
  return it != members.end() &&
         event_schema::HasAnnotation(it->second, event_schema::kDeploymentScopedAnnotation);
}

// Plain scalars are typed as YAML's core schema reads them (true, 5, 0.1); quoted ones stay
// text, so `version: "1"` is the text the event schema wants.
json ScalarJson(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s == "null" || s == "~") return nullptr;
  bool numeric = !s.empty() && s.find_first_not_of("0123456789+-.eE") == std::string::npos;
  if (!numeric) return s;
  char* end = nullptr;
  errno = 0;
  long long integer = std::strtoll(s.c_str(), &end, 10);
  if (errno == 0 && end && *end == '\0') return integer;
  double number = std::strtod(s.c_str(), &end);
  if (end && *end == '\0' && std::isfinite(number)) return number;
  return s;
}

struct Step {
  enum class Type { kEvent, kAdvance, kAt, kRevoke };
  Type type = Type::kEvent;
  SourceLocation where;
  Micros time = 0;  // kAdvance: by how much; kAt: to when
  std::string actor;
  std::optional<Event> event;
  std::string expect = "allow";
  std::vector<std::string> rules;  // ids, sorted; empty: any deny
};

struct Test {
  std::string name;
  std::vector<Step> steps;
};

struct Plan {
  Micros start = 0;
  std::map<std::string, std::vector<std::string>> actors;
  std::string deployment;
  std::vector<Test> tests;
};

// ---- the walk ----

class TestsParser : public YamlDocument {
 public:
  TestsParser(const Policy& policy, std::string file)
      : YamlDocument(std::move(file)), policy_(policy) {}

  // The plan, or nullopt with errors() filled.
  std::optional<Plan> Parse(const std::string& text);

 private:
  std::map<std::string, YAML::Node> Fields(const YAML::Node& node, const std::string& what,
                                           const std::vector<std::string>& allowed);
  std::optional<Micros> Time(const YAML::Node& node);
  std::optional<Micros> Duration(const YAML::Node& node);
  std::optional<json> EventJson(const YAML::Node& node, int depth);

  void Top(const YAML::Node& root);
  void Version(const std::map<std::string, YAML::Node>& top, const YAML::Node& root);
  void Actors(const YAML::Node& node);
  void Tests(const YAML::Node& node);
  std::optional<Test> ParseTest(const YAML::Node& node);
  std::optional<Step> ParseStep(const YAML::Node& node);
  bool EventStep(const std::map<std::string, YAML::Node>& fields, Step* step);
  std::optional<Event> BuildEvent(const YAML::Node& node, const std::string& actor);
  void Expectation(const std::map<std::string, YAML::Node>& fields, Step* step);

  const Policy& policy_;
  Plan plan_;
  std::set<std::string> names_;
  int steps_ = 0;
  int event_nodes_ = 0;
};

// The keys of a mapping, each checked against `allowed`: a typo must be an error, not a skip.
std::map<std::string, YAML::Node> TestsParser::Fields(const YAML::Node& node,
                                                      const std::string& what,
                                                      const std::vector<std::string>& allowed) {
  std::map<std::string, YAML::Node> fields;
  if (!node.IsMap()) {
    Error(node,
          "expected " + what + " as a mapping (with " + Join(allowed) + "), got " + Describe(node));
    return fields;
  }
  for (const auto& [key, value] : Items(node)) {
    std::string name = key.IsScalar() ? key.Scalar() : "";
    if (!Contains(allowed, name)) {
      Error(key,
            "unknown key '" + name + "' in " + what + " (expected one of: " + Join(allowed) + ")");
    } else if (!fields.emplace(name, value).second) {
      Error(key, "duplicate key '" + name + "' in " + what);
    }
  }
  return fields;
}

std::optional<Micros> TestsParser::Time(const YAML::Node& node) {
  auto text = Scalar(node, "a time like 2026-11-24T10:00:00Z");
  if (!text) return std::nullopt;
  auto t = ParseTime(*text);
  if (!t.ok()) Error(node, "expected a time like 2026-11-24T10:00:00Z, got '" + *text + "'");
  return t.ok() ? std::optional<Micros>(*t) : std::nullopt;
}

std::optional<Micros> TestsParser::Duration(const YAML::Node& node) {
  auto text = Scalar(node, "a duration like 15m, 1h30m, 90s");
  if (!text) return std::nullopt;
  auto d = ParseDuration(*text);
  if (!d.ok()) Error(node, "expected a duration like 15m, 1h30m, 90s, got '" + *text + "'");
  return d.ok() ? std::optional<Micros>(*d) : std::nullopt;
}

// The event as JSON; Event::FromJson judges its fields, this only maps YAML onto JSON.
std::optional<json> TestsParser::EventJson(const YAML::Node& node, int depth) {
  if (depth > kMaxEventDepth) {
    Error(node, "the event nests deeper than " + std::to_string(kMaxEventDepth) + " levels");
    return std::nullopt;
  }
  if (++event_nodes_ > kMaxEventNodes) {
    Error(node, "the events hold more than " + std::to_string(kMaxEventNodes) + " values");
    return std::nullopt;
  }
  if (node.IsScalar()) return ScalarJson(node);
  if (!node.IsSequence() && !node.IsMap()) return json(nullptr);
  json out = node.IsMap() ? json::object() : json::array();
  for (auto it = node.begin(); it != node.end(); ++it) {
    auto value = EventJson(node.IsMap() ? it->second : *it, depth + 1);
    if (!value) return std::nullopt;
    if (node.IsSequence()) {
      out.push_back(std::move(*value));
    } else if (!it->first.IsScalar()) {
      Error(it->first, "expected a field name, got " + Describe(it->first));
      return std::nullopt;
    } else {
      out[it->first.Scalar()] = std::move(*value);
    }
  }
  return out;
}

// ---- the sections ----

std::optional<Plan> TestsParser::Parse(const std::string& text) {
  if (text.size() > kMaxTestsBytes) {
    AddError(errors_, {file_, 1, 1},
             "the tests file is " + std::to_string(text.size()) + " bytes; the limit is " +
                 std::to_string(kMaxTestsBytes));
  } else {
    try {
      Top(YAML::Load(text));
    } catch (const YAML::ParserException& e) {
      AddError(errors_, {file_, e.mark.line + 1, e.mark.column + 1}, "YAML syntax error: " + e.msg);
    } catch (const YAML::Exception& e) {
      AddError(errors_, {file_, e.mark.line + 1, e.mark.column + 1},
               "cannot read the tests: " + e.msg);
    }
  }
  std::stable_sort(errors_.begin(), errors_.end(), [](const PolicyError& a, const PolicyError& b) {
    return std::make_pair(a.where.line, a.where.column) <
           std::make_pair(b.where.line, b.where.column);
  });
  if (!errors_.empty()) return std::nullopt;
  return std::move(plan_);
}

void TestsParser::Top(const YAML::Node& root) {
  const std::vector<std::string> keys = {"shiplog_policy_tests", "start", "actors", "deployment",
                                         "tests"};
  if (!root.IsMap()) {
    Error(root, "expected policy tests: a mapping with " + Join(keys) + ", got " + Describe(root));
    return;
  }
  auto top = Fields(root, "the policy tests", keys);
  Version(top, root);
  if (top.count("start")) {
    if (auto t = Time(top["start"])) plan_.start = *t;
  } else {
    Error(root, "missing 'start' (the ledger time each test starts at)");
  }
  if (top.count("deployment")) {
    if (auto d = Scalar(top["deployment"], "a deployment id")) plan_.deployment = *d;
  }
  // Actors before tests: steps refer to them.
  if (top.count("actors")) Actors(top["actors"]);
  if (top.count("tests")) {
    Tests(top["tests"]);
  } else {
    Error(root, "missing 'tests'");
  }
}

void TestsParser::Version(const std::map<std::string, YAML::Node>& top, const YAML::Node& root) {
  auto it = top.find("shiplog_policy_tests");
  if (it == top.end()) {
    Error(root, "missing 'shiplog_policy_tests: 1' (the format version)");
  } else if (!it->second.IsScalar() || it->second.Scalar() != "1") {
    Error(it->second, "expected shiplog_policy_tests: 1, got " + Describe(it->second));
  }
}

void TestsParser::Actors(const YAML::Node& node) {
  if (!node.IsMap()) {
    Error(node, "expected actors as a mapping of name to roles, got " + Describe(node));
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    auto name = Scalar(it->first, "an actor's name");
    if (!name) continue;
    std::vector<std::string> roles;
    for (const YAML::Node& r : Sequence(it->second, "the actor's roles")) {
      auto role = Scalar(r, "a role");
      if (role && policy_.roles.count(*role) == 0) {
        Error(r, "role '" + *role + "' is not declared in the policy");
      } else if (role) {
        roles.push_back(*role);
      }
    }
    if (!plan_.actors.emplace(*name, roles).second) {
      Error(it->first, "duplicate actor '" + *name + "'");
    }
  }
}

void TestsParser::Tests(const YAML::Node& node) {
  for (const YAML::Node& item : Sequence(node, "the tests")) {
    if (auto test = ParseTest(item)) plan_.tests.push_back(std::move(*test));
  }
}

std::optional<Test> TestsParser::ParseTest(const YAML::Node& node) {
  auto fields = Fields(node, "a test", {"name", "steps"});
  if (!node.IsMap()) return std::nullopt;
  Test test;
  if (!fields.count("name")) {
    Error(node, "missing 'name' (the test's name)");
  } else if (auto name = Scalar(fields["name"], "the test's name")) {
    test.name = *name;
    if (!names_.insert(*name).second) Error(fields["name"], "duplicate test name '" + *name + "'");
  }
  if (!fields.count("steps")) {
    Error(node, "missing 'steps'");
    return test;
  }
  for (const YAML::Node& item : Sequence(fields["steps"], "the test's steps")) {
    if (++steps_ > kMaxSteps) {
      Error(item, "more than " + std::to_string(kMaxSteps) + " steps");
      break;
    }
    if (auto step = ParseStep(item)) test.steps.push_back(std::move(*step));
  }
  return test;
}

std::optional<Step> TestsParser::ParseStep(const YAML::Node& node) {
  auto fields =
      Fields(node, "a step", {"as", "event", "expect", "rules", "advance", "at", "revoke"});
  if (!node.IsMap()) return std::nullopt;
  Step step;
  step.where = Where(node);
  int forms = static_cast<int>(fields.count("event") + fields.count("advance") +
                               fields.count("at") + fields.count("revoke"));
  if (forms != 1) {
    Error(node, "a step is exactly one of: event (with as), advance, at, revoke");
    return std::nullopt;
  }
  if (fields.count("revoke")) {
    for (const char* key : {"as", "expect", "rules"}) {
      if (fields.count(key)) Error(fields[key], std::string("'") + key + "' goes with an event");
    }
    auto actor = Scalar(fields["revoke"], "an actor's name");
    if (!actor) return std::nullopt;
    if (plan_.actors.count(*actor) == 0) {
      Error(fields["revoke"], "actor '" + *actor + "' is not declared under actors");
      return std::nullopt;
    }
    step.type = Step::Type::kRevoke;
    step.actor = *actor;
    return step;
  }
  if (fields.count("advance") || fields.count("at")) {
    for (const char* key : {"as", "expect", "rules"}) {
      if (fields.count(key)) Error(fields[key], std::string("'") + key + "' goes with an event");
    }
    bool advance = fields.count("advance") != 0;
    step.type = advance ? Step::Type::kAdvance : Step::Type::kAt;
    auto t = advance ? Duration(fields["advance"]) : Time(fields["at"]);
    if (!t) return std::nullopt;
    step.time = *t;
    return step;
  }
  if (!EventStep(fields, &step)) return std::nullopt;
  return step;
}

bool TestsParser::EventStep(const std::map<std::string, YAML::Node>& fields, Step* step) {
  auto as = fields.find("as");
  if (as == fields.end()) {
    Error(fields.at("event"), "an event step needs 'as' (the actor who appends it)");
    return false;
  }
  auto actor = Scalar(as->second, "an actor's name");
  if (!actor) return false;
  if (plan_.actors.count(*actor) == 0) {
    Error(as->second, "actor '" + *actor + "' is not declared under actors");
    return false;
  }
  step->actor = *actor;
  Expectation(fields, step);
  step->event = BuildEvent(fields.at("event"), *actor);
  return step->event.has_value();
}

// The event as the ledger would receive it: the actor from `as`, an id, the default deployment.
std::optional<Event> TestsParser::BuildEvent(const YAML::Node& node, const std::string& actor) {
  if (!node.IsMap()) {
    Error(node, "expected the event as a mapping (kind and its fields), got " + Describe(node));
    return std::nullopt;
  }
  auto e = EventJson(node, 0);
  if (!e) return std::nullopt;
  if (e->contains("actor")) {
    Error(node, "the event's actor is given by the step's 'as', not by the event");
    return std::nullopt;
  }
  (*e)["actor"] = actor;
  if (!e->contains("id")) (*e)["id"] = "policy-test-" + std::to_string(steps_);
  std::string kind = (*e).value("kind", json()).is_string() ? (*e)["kind"].get<std::string>() : "";
  if (!e->contains("deployment") && !plan_.deployment.empty() && DeploymentScoped(kind)) {
    (*e)["deployment"] = plan_.deployment;
  }
  auto event = Event::FromJson(*e);
  if (!event.ok()) {
    Error(node, "invalid event: " + event.status().message());
    return std::nullopt;
  }
  return std::move(event).value();
}

void TestsParser::Expectation(const std::map<std::string, YAML::Node>& fields, Step* step) {
  if (auto it = fields.find("expect"); it != fields.end()) {
    auto expect = Scalar(it->second, "allow, deny or reject");
    if (expect && !Contains({"allow", "deny", "reject"}, *expect)) {
      Error(it->second, "expected allow, deny or reject, got '" + *expect + "'");
    } else if (expect) {
      step->expect = *expect;
    }
  }
  auto it = fields.find("rules");
  if (it == fields.end()) return;
  if (step->expect != "deny") {
    Error(it->second, "'rules' goes with expect: deny");
    return;
  }
  for (const YAML::Node& r : Sequence(it->second, "the failing rules")) {
    auto text = Scalar(r, "a rule id or name");
    const Rule* rule = text ? policy_.FindRule(*text) : nullptr;
    if (text && !rule) Error(r, "rule '" + *text + "' is not in the policy");
    if (rule && !Contains(step->rules, rule->id)) step->rules.push_back(rule->id);
  }
  std::sort(step->rules.begin(), step->rules.end());
}

// ---- the run ----

using Outcome = TimelineBackend::Outcome;

class EngineBackend final : public TimelineBackend {
 public:
  EngineBackend() = default;
  explicit EngineBackend(CoverageMap* coverage) : coverage_(coverage) {}

  Status Reset(const Policy& policy, Micros start,
               const std::map<std::string, std::vector<std::string>>& actors) override {
    engine_ = std::make_unique<Engine>(policy);
    revoked_.clear();
    now_ = start;
    seq_ = 0;
    actors_ = actors;
    return Status::Ok();
  }

  Status SetTime(Micros now) override {
    now_ = now;
    return Status::Ok();
  }

  Status Revoke(const std::string& actor) override {
    SHIPLOG_ASSIGN_OR_RETURN(Event revoked, Event::FromJson({{"kind", "key.revoked"},
                                                             {"id", "revoke-" + actor},
                                                             {"actor", "admin"},
                                                             {"public_key", KeyOf(actor)}}));
    engine_->Apply(++seq_, now_, revoked, {"admin"}, "");
    revoked_.insert(actor);
    return Status::Ok();
  }

  Result<Outcome> Append(const Event& event) override {
    const std::string actor(event.actor());
    const std::vector<std::string>& roles = actors_.at(actor);
    Outcome out;
    if (revoked_.count(actor) != 0) {  // a revoked key signs nothing the ledger takes
      out.got = "reject";
      out.authority = "unknown_key: the key of '" + actor + "' is revoked";
      return out;
    }
    Status authority = engine_->CheckAuthority(event, roles);
    if (!authority.ok()) {
      if (coverage_ != nullptr) NoteOwnerRefusal(event, authority);
      out.got = "reject";
      out.authority = authority.ToString();
      return out;
    }
    if (Engine::IsIntent(event)) out.decision = engine_->Decide(event, roles, now_, coverage_);
    out.got = out.decision.allowed ? "allow" : "deny";
    if (out.decision.allowed) engine_->Apply(++seq_, now_, event, roles, KeyOf(actor));
    return out;
  }

 private:
  // Each actor signs with a key of its own; the engine sees only its hex, so one made from the
  // name serves.
  static std::string KeyOf(const std::string& actor) {
    return HexEncode(AsBytes(Sha256("policy-test actor " + actor)));
  }

  // The owner builtin (R3) is enforced as authority, before any decision: a step refused to a
  // non-owner is that rule's deny.
  void NoteOwnerRefusal(const Event& event, const Status& authority) {
    const std::string_view kind = event.kind();
    if ((kind != "step.started" && kind != "step.reported") ||
        authority.code() != StatusCode::kForbidden ||
        authority.message().find("is owned by role") == std::string::npos) {
      return;
    }
    for (const Rule& rule : engine_->policy().rules) {
      for (size_t i = 0; i < rule.require.size(); ++i) {
        const Requirement& r = rule.require[i];
        if (r.type != Requirement::Type::kBuiltin || r.builtin != "owner") continue;
        (*coverage_)[rule.id].second = true;
        (*coverage_)[rule.id + "/require " + std::to_string(i + 1)].second = true;
      }
    }
  }

  std::set<std::string> revoked_;
  CoverageMap* coverage_ = nullptr;
  std::unique_ptr<Engine> engine_;
  std::map<std::string, std::vector<std::string>> actors_;
  Micros now_ = 0;
  uint64_t seq_ = 0;
};

std::vector<std::string> FailedRules(const Decision& d) {
  std::vector<std::string> ids;
  for (const Reason& r : d.reasons) {
    if (!Contains(ids, r.rule)) ids.push_back(r.rule);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool Matches(const Step& step, const Outcome& out) {
  if (out.got != step.expect) return false;
  return step.rules.empty() || FailedRules(out.decision) == step.rules;
}

// Runs one test from a fresh timeline; returns its mismatches.
Result<std::vector<PolicyTestMismatch>> RunTest(const Policy& policy, const Plan& plan,
                                                const Test& test, TimelineBackend& backend) {
  SHIPLOG_RETURN_IF_ERROR(backend.Reset(policy, plan.start, plan.actors));
  Micros now = plan.start;
  std::vector<PolicyTestMismatch> mismatches;
  for (size_t i = 0; i < test.steps.size(); ++i) {
    const Step& step = test.steps[i];
    if (step.type == Step::Type::kRevoke) {
      SHIPLOG_RETURN_IF_ERROR(backend.Revoke(step.actor));
      continue;
    }
    if (step.type != Step::Type::kEvent) {
      now = step.type == Step::Type::kAdvance ? now + step.time : step.time;
      SHIPLOG_RETURN_IF_ERROR(backend.SetTime(now));
      continue;
    }
    SHIPLOG_ASSIGN_OR_RETURN(Outcome out, backend.Append(*step.event));
    if (Matches(step, out)) continue;
    mismatches.push_back({test.name, static_cast<int>(i + 1), step.where, step.expect, step.rules,
                          out.got, FailedRules(out.decision), out.decision.reasons, out.authority,
                          step.event->ToJson()});
  }
  return mismatches;
}

std::string Bracketed(const std::vector<std::string>& rules) {
  return rules.empty() ? "" : " [" + Join(rules) + "]";
}

}  // namespace

json PolicyTestMismatch::ToJson() const {
  json reasons_json = json::array();
  for (const Reason& r : reasons) {
    reasons_json.push_back(
        {{"rule", r.rule}, {"name", r.name}, {"message", r.message}, {"considered", r.considered}});
  }
  json out = {{"test", test}, {"step", step},   {"line", where.line},      {"expected", expected},
              {"got", got},   {"rules", rules}, {"reasons", reasons_json}, {"event", event}};
  if (!expected_rules.empty()) out["expected_rules"] = expected_rules;
  if (!authority.empty()) out["authority"] = authority;
  return out;
}

std::string PolicyTestMismatch::ToString() const {
  std::string s = where.file + ":" + std::to_string(where.line) + ": test '" + test + "' step " +
                  std::to_string(step) + ": expected " + expected + Bracketed(expected_rules) +
                  ", got " + got + Bracketed(rules);
  if (!authority.empty()) s += " (" + authority + ")";
  return s;
}

json PolicyTestReport::Summary() const {
  return {{"tests", tests}, {"passed", passed}, {"failed", failed}};
}

std::unique_ptr<TimelineBackend> EngineTimeline() { return std::make_unique<EngineBackend>(); }

namespace {

// Each requirement (and its if, and its any_of arms, recursively) under `path`, in file order.
void RequirementBranches(const Rule& rule, const Requirement& r, const std::string& path,
                         const std::string& label, const CoverageMap& seen,
                         std::vector<BranchCoverage>& out) {
  auto add = [&](const std::string& key, const std::string& branch, const char* first,
                 const char* second) {
    auto it = seen.find(key);
    BranchCoverage b{rule.id, branch, r.where, first, second};
    if (it != seen.end()) {
      b.first_seen = it->second.first;
      b.second_seen = it->second.second;
    }
    out.push_back(std::move(b));
  };
  if (!r.when_request.empty()) add(path + "/if", label + " if", "match", "not match");
  add(path, label, "hold", "fail");
  for (size_t i = 0; i < r.any_of.size(); ++i) {
    const std::string n = std::to_string(i + 1);
    RequirementBranches(rule, r.any_of[i], path + "/any_of " + n, label + " any_of " + n, seen,
                        out);
  }
}

std::vector<BranchCoverage> Branches(const Policy& policy, const CoverageMap& seen) {
  std::vector<BranchCoverage> out;
  for (const Rule& rule : policy.rules) {
    BranchCoverage b{rule.id, "rule", rule.where, "allow", "deny"};
    if (auto it = seen.find(rule.id); it != seen.end()) {
      b.first_seen = it->second.first;
      b.second_seen = it->second.second;
    }
    out.push_back(std::move(b));
    for (size_t i = 0; i < rule.require.size(); ++i) {
      const std::string n = std::to_string(i + 1);
      RequirementBranches(rule, rule.require[i], rule.id + "/require " + n, "require " + n, seen,
                          out);
    }
  }
  return out;
}

}  // namespace

PolicyTestRun RunPolicyTestsWithCoverage(const Policy& policy, const std::string& text,
                                         const std::string& file) {
  CoverageMap seen;
  EngineBackend backend(&seen);
  PolicyTestRun run = RunPolicyTests(policy, text, file, &backend);
  if (run.report) run.report->coverage = Branches(policy, seen);
  return run;
}

json PolicyTestReport::CoverageJson() const {
  json uncovered = json::array();
  int covered = 0;
  for (const BranchCoverage& b : coverage) {
    if (b.covered()) {
      ++covered;
      continue;
    }
    json missing = json::array();
    if (!b.first_seen) missing.push_back(b.first);
    if (!b.second_seen) missing.push_back(b.second);
    uncovered.push_back(
        {{"rule", b.rule}, {"branch", b.branch}, {"line", b.where.line}, {"missing", missing}});
  }
  return {{"branches", coverage.size()}, {"covered", covered}, {"uncovered", uncovered}};
}

PolicyTestRun RunPolicyTests(const Policy& policy, const std::string& text, const std::string& file,
                             TimelineBackend* backend) {
  TestsParser parser(policy, file);
  PolicyTestRun run;
  std::optional<Plan> plan = parser.Parse(text);
  if (!plan) {
    run.errors = std::move(parser.errors());
    return run;
  }
  std::unique_ptr<TimelineBackend> engine_backend;
  if (!backend) {
    engine_backend = EngineTimeline();
    backend = engine_backend.get();
  }
  PolicyTestReport report;
  for (const Test& test : plan->tests) {
    auto result = RunTest(policy, *plan, test, *backend);
    if (!result.ok()) {
      AddError(run.errors, {file, 0, 0}, "test '" + test.name + "': " + result.status().ToString());
      return run;
    }
    std::vector<PolicyTestMismatch> mismatches = std::move(result).value();
    ++report.tests;
    ++(mismatches.empty() ? report.passed : report.failed);
    for (auto& m : mismatches) report.mismatches.push_back(std::move(m));
  }
  run.report = std::move(report);
  return run;
}

}  // namespace shiplog::policy
