// Laws of the fold, checked with rapidcheck on random histories under the default pack with a
// two-person rule bound to the image and a code freeze added (so peak hours, approvals, image
// changes and revoked keys are in the histories too):
//   - the state folded one event at a time equals a fold of the same events from scratch;
//   - a decision depends only on the events, the policy and the time;
//   - interleaving two independent deployments' events does not change either one's decisions.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "ledger/crypto.h"
#include "policy/engine.h"

namespace shiplog::policy {
namespace {
namespace SHIPLOG_THIS_FILE {

using json = nlohmann::json;

const std::string kImage =
    "registry.example/app@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";
const std::map<std::string, std::string> kOwner = {
    {"orchestrate", "leon"}, {"build", "ci-bot"}, {"staging", "thijmen"}, {"production", "rutger"}};
const std::string kOtherImage =
    "registry.example/app@sha256:0000000000000000000000000000000000000000000000000000000000000002";
const std::map<std::string, std::vector<std::string>> kRoles = {
    {"leon", {"coordinator"}},      {"marta", {"merge-approver"}}, {"ci-bot", {"ci"}},
    {"thijmen", {"k8s-operator"}},  {"rutger", {"production-ops"}}, {"otto", {"backup"}},
    {"rm", {"release-manager"}},    {"victoria", {"security-reviewer"}},
    {"sam", {"security-reviewer"}}, {"anne", {"account-manager"}},  {"admin", {}}};
const std::vector<std::string> kReviewers = {"victoria", "sam", "anne"};

// Each actor's key, as hex: what approvals check against revocations.
std::string KeyOf(const std::string& actor) { return HexEncode(AsBytes(Sha256("key " + actor))); }

const Policy& DefaultPolicy() {
  static const Policy* policy = [] {
    std::string text = DefaultPolicyText();
    const std::string calendars = "calendars:\n";
    text.insert(text.find(calendars) + calendars.size(),
                "  freeze:\n"
                "    time_zone: Europe/Amsterdam\n"
                "    dates: [{from: 2026-11-26, to: 2026-11-26}]\n");
    text += "\n"
            "  - id: R40\n"
            "    name: two-person\n"
            "    on: {kind: step.started, step: production}\n"
            "    require:\n"
            "      - approvals:\n"
            "          count: 2\n"
            "          where: {subject: security, verdict: approved}\n"
            "          by_role: [security-reviewer, account-manager]\n"
            "          not_by: [requester, builder]\n"
            "  - id: R41\n"
            "    name: freeze\n"
            "    on: {kind: step.started, step: production}\n"
            "    require:\n"
            "      - outside_calendar: freeze\n";
    ParseResult parsed = ParsePolicy(text, "default.yaml");
    if (!parsed.policy) throw std::runtime_error(parsed.errors.front().ToString());
    return new Policy(std::move(*parsed.policy));
  }();
  return *policy;
}

// One event an agent submits, and how far the clock moved before it.
struct Step {
  std::string actor;
  json event;
  Micros advance = 0;
};

// A random event of deployment `d` (app `app`), the kind a busy deploy chain produces.
Step GenStep(const std::string& d, const std::string& app) {
  const std::vector<std::string> steps = {"orchestrate", "build", "staging", "production"};
  const std::string step = *rc::gen::elementOf(steps);
  Step s;
  // Mostly minutes; sometimes hours, into peak hours and the freeze and out again.
  s.advance = (*rc::gen::inRange(0, 20) +
               *rc::gen::elementOf(std::vector<int>{0, 0, 0, 0, 120, 600})) *
              kMicrosPerMinute;
  switch (*rc::gen::inRange(0, 13)) {
    case 0:
      s = {"leon", {{"kind", "deploy.requested"}, {"app", app}, {"environment", "production"},
                    {"version", "1"}, {"image", kImage}, {"strategy", "canary"}, {"risk", "low"},
                    {"planned_steps", steps}}, s.advance};
      break;
    case 1: s = {"marta", {{"kind", "review"}, {"subject", "merge"}, {"verdict", "approved"}}, s.advance}; break;
    case 2: s = {kOwner.at(step), {{"kind", "step.started"}, {"step", step}}, s.advance}; break;
    case 3:
      s = {kOwner.at(step), {{"kind", "step.reported"}, {"step", step},
                             {"status", *rc::gen::elementOf(std::vector<std::string>{
                                            "READY", "READY", "BLOCKED", "FAILED"})}}, s.advance};
      break;
    case 4:
      s = {"ci-bot", {{"kind", "gate.result"}, {"gate", "scan"}, {"outcome", "pass"},
                      {"image", kImage}}, s.advance};
      break;
    case 5: s = {"otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b"}}, s.advance}; break;
    case 6:
      s = {"rutger", {{"kind", "traffic.shifted"},
                      {"weight", *rc::gen::elementOf(std::vector<int>{5, 25, 50, 100})}}, s.advance};
      break;
    case 7: s = {"rm", {{"kind", "waiver.granted"}, {"rule", "R10"}, {"reason", "drill"}}, s.advance}; break;
    case 9:
    case 10:
      s = {*rc::gen::elementOf(kReviewers),
           {{"kind", "review"}, {"subject", "security"}, {"verdict", "approved"},
            {"image", *rc::gen::elementOf(std::vector<std::string>{kImage, kImage, kOtherImage})}},
           s.advance};
      break;
    case 11:
      s = {"thijmen", {{"kind", "step.started"}, {"step", "staging"}, {"image", kOtherImage}},
           s.advance};
      break;
    case 12:
      // Not about a deployment: returned without one.
      return {"admin", {{"kind", "key.revoked"}, {"public_key", KeyOf(*rc::gen::elementOf(kReviewers))}},
              s.advance};
    default: s = {"leon", {{"kind", "deploy.completed"}}, s.advance}; break;
  }
  s.event["deployment"] = d;
  return s;
}

// What a ledger keeps of an appended event, to fold again later.
struct Appended {
  uint64_t seq;
  Micros time;
  Event event;
  std::vector<std::string> roles;
  std::string signer;
};

// Appends like the ledger's sequencer: authority, decision, fold; a denied intent is not folded.
class Log {
 public:
  Log() : engine_(DefaultPolicy()) {}

  void Submit(const Step& s, int id) {
    now_ += s.advance;
    json e = s.event;
    e["actor"] = s.actor;
    e["id"] = "e" + std::to_string(id);
    Event event = std::move(Event::FromJson(e).value());
    const auto& roles = kRoles.at(s.actor);
    if (!engine_.CheckAuthority(event, roles).ok()) return;
    if (!engine_.Decide(event, roles, now_).allowed) return;
    engine_.Apply(++seq_, now_, event, roles, KeyOf(s.actor));
    appended_.push_back({seq_, now_, std::move(event), roles, KeyOf(s.actor)});
  }

  const Engine& engine() const { return engine_; }
  const std::vector<Appended>& appended() const { return appended_; }
  Micros now() const { return now_; }

 private:
  Engine engine_;
  std::vector<Appended> appended_;
  Micros now_ = 1795543200LL * kMicrosPerSecond;  // 2026-11-24T18:00:00Z, after peak hours
  uint64_t seq_ = 0;
};

Engine FoldFromScratch(const std::vector<Appended>& log) {
  Engine engine(DefaultPolicy());
  for (const Appended& a : log) engine.Apply(a.seq, a.time, a.event, a.roles, a.signer);
  return engine;
}

// Every next intent of deployment `d`, decided now: a fingerprint of what the state allows.
json Probe(const Engine& engine, const std::string& d, Micros now) {
  json out = json::array();
  auto decide = [&](const std::string& actor, json e) {
    e["actor"] = actor;
    e["id"] = "probe";
    e["deployment"] = d;
    Event event = std::move(Event::FromJson(e).value());
    out.push_back(engine.Decide(event, kRoles.at(actor), now).ToJson());
  };
  for (const auto& [step, owner] : kOwner) decide(owner, {{"kind", "step.started"}, {"step", step}});
  for (int w : {5, 25, 50, 100}) decide("rutger", {{"kind", "traffic.shifted"}, {"weight", w}});
  decide("leon", {{"kind", "deploy.completed"}});
  return out;
}

// A probe without sequence numbers: which intents are allowed, and which rules deny the others.
// (Interleaving renumbers events, so only the verdicts can be compared across orders.)
json Verdicts(const json& probe) {
  json out = json::array();
  for (const json& decision : probe) {
    json rules = json::array();
    for (const json& reason : decision["reasons"]) rules.push_back(reason["rule"]);
    out.push_back({decision["allowed"], rules});
  }
  return out;
}

RC_GTEST_PROP(FoldProperties, IncrementalFoldEqualsFullFold, ()) {
  const int n = *rc::gen::inRange(1, 40);
  Log log;
  for (int i = 0; i < n; ++i) {
    log.Submit(GenStep("d1", "checkout"), i);
    Engine scratch = FoldFromScratch(log.appended());
    RC_ASSERT(Probe(log.engine(), "d1", log.now()) == Probe(scratch, "d1", log.now()));
    // And a fold restored from the exported state (what a snapshot keeps) decides alike.
    Engine restored(DefaultPolicy());
    restored.RestoreState(log.engine().ExportState());
    RC_ASSERT(Probe(log.engine(), "d1", log.now()) == Probe(restored, "d1", log.now()));
  }
}

RC_GTEST_PROP(FoldProperties, DecisionsAreDeterministic, ()) {
  const int n = *rc::gen::inRange(1, 30);
  Log log;
  for (int i = 0; i < n; ++i) log.Submit(GenStep("d1", "checkout"), i);
  RC_ASSERT(Probe(log.engine(), "d1", log.now()) == Probe(log.engine(), "d1", log.now()));
  Engine again = FoldFromScratch(log.appended());
  RC_ASSERT(Probe(again, "d1", log.now()) == Probe(log.engine(), "d1", log.now()));
}

RC_GTEST_PROP(FoldProperties, IndependentDeploymentsDoNotAffectEachOther, ()) {
  const int n = *rc::gen::inRange(1, 25);
  std::vector<Step> a, b;
  for (int i = 0; i < n; ++i) a.push_back(GenStep("d1", "checkout"));
  for (int i = 0; i < n; ++i) b.push_back(GenStep("d2", "search"));
  // Time moves only between rounds, so both orders see the same clock at each event.
  for (auto* steps : {&a, &b}) {
    for (Step& s : *steps) s.advance = 0;
  }
  const std::vector<bool> a_first = *rc::gen::container<std::vector<bool>>(n, rc::gen::arbitrary<bool>());
  const std::vector<Micros> gaps = *rc::gen::container<std::vector<Micros>>(
      n, rc::gen::map(rc::gen::inRange(0, 20), [](int m) { return m * kMicrosPerMinute; }));
  Log one, other;
  for (int i = 0; i < n; ++i) {
    Step first = a_first[i] ? a[i] : b[i], second = a_first[i] ? b[i] : a[i];
    first.advance = gaps[i];
    one.Submit(first, 2 * i);
    one.Submit(second, 2 * i + 1);
    Step a_step = a[i];
    a_step.advance = gaps[i];
    other.Submit(a_step, 2 * i);
    other.Submit(b[i], 2 * i + 1);
  }
  for (const char* d : {"d1", "d2"}) {
    RC_ASSERT(Verdicts(Probe(one.engine(), d, one.now())) ==
              Verdicts(Probe(other.engine(), d, other.now())));
  }
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::policy
