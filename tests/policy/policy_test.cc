// The policy file: the default pack parses into the rules of DESIGN.md, a team's edits show in the
// Policy, and every mistake is reported at its file:line:column with what was expected.
#include "policy/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ledger/crypto.h"

namespace shiplog::policy {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

// A small valid policy; tests break one thing in it at a time.
const std::string kBase =
    "shiplog_policy: 1\n"                                                           // 1
    "name: team\n"                                                                  // 2
    "roles:\n"                                                                      // 3
    "  coordinator: [deploy.requested, step.started, step.reported, rollback.*]\n"  // 4
    "  merge-approver: [review]\n"                                                  // 5
    "chain:\n"                                                                      // 6
    "  - {step: orchestrate, owner: coordinator}\n"                                 // 7
    "  - {step: production, owner: coordinator}\n"                                  // 8
    "waivers:\n"                                                                    // 9
    "  roles: [merge-approver]\n"                                                   // 10
    "  never: [R1]\n"                                                               // 11
    "rules:\n"                                                                      // 12
    "  - id: R1\n"                                                                  // 13
    "    name: merge-approved\n"                                                    // 14
    "    on: {kind: step.started, step: orchestrate}\n"                             // 15
    "    require:\n"                                                                // 16
    "      - event: review\n"                                                       // 17
    "        where: {subject: merge, verdict: approved}\n"                          // 18
    "        by_role: merge-approver\n";                                            // 19

// `text` with its one occurrence of `from` replaced by `to`.
std::string Edit(const std::string& text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << "not unique: " << from;
  if (at == std::string::npos) return text;
  return text.substr(0, at) + to + text.substr(at + from.size());
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// "t.yaml:L:C:" of the first `needle` in `text` at or after `after`, counted independently of
// the parser: where an error about that token must point.
std::string At(const std::string& text, const std::string& needle, const std::string& after = "") {
  size_t pos = text.find(needle, after.empty() ? 0 : text.find(after));
  EXPECT_NE(pos, std::string::npos) << needle;
  int line = 1, column = 1;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "t.yaml:" + std::to_string(line) + ":" + std::to_string(column) + ":";
}

std::vector<std::string> Errors(const std::string& text) {
  ParseResult parsed = ParsePolicy(text, "t.yaml");
  EXPECT_EQ(parsed.policy.has_value(), parsed.errors.empty());
  std::vector<std::string> out;
  for (const auto& e : parsed.errors) out.push_back(e.ToString());
  return out;
}

// The one error `text` has.
std::string OnlyError(const std::string& text) {
  std::vector<std::string> errors = Errors(text);
  EXPECT_THAT(errors, SizeIs(1));
  return errors.empty() ? "" : errors.front();
}

Policy Parse(const std::string& text) {
  ParseResult parsed = ParsePolicy(text, "t.yaml");
  EXPECT_TRUE(parsed.errors.empty()) << parsed.errors.front().ToString();
  return parsed.policy ? *parsed.policy : Policy{};
}

std::string Sha256Hex(const std::string& text) { return HexEncode(AsBytes(Sha256(text))); }

// ---- the default pack ----

TEST(DefaultPack, ParsesWithoutErrors) {
  ParseResult parsed = ParsePolicy(DefaultPolicyText(), "default.yaml");
  for (const auto& e : parsed.errors) ADD_FAILURE() << e.ToString();
  ASSERT_TRUE(parsed.policy.has_value());
  EXPECT_EQ(parsed.policy->name, "default");
  EXPECT_EQ(parsed.policy->source, DefaultPolicyText());
  EXPECT_EQ(parsed.policy->sha256_hex, Sha256Hex(DefaultPolicyText()));
}

TEST(DefaultPack, HasRulesR1ToR18ButR17WithTheirSlugs) {
  // R17 is the waivers block, not a rule.
  Policy p = Parse(DefaultPolicyText());
  std::vector<std::pair<std::string, std::string>> rules;
  for (const Rule& r : p.rules) rules.emplace_back(r.id, r.name);
  EXPECT_THAT(rules, ElementsAre(std::pair<std::string, std::string>{"R1", "chain-order"},
                                 std::pair<std::string, std::string>{"R2", "halt"},
                                 std::pair<std::string, std::string>{"R3", "owner"},
                                 std::pair<std::string, std::string>{"R4", "merge-approved"},
                                 std::pair<std::string, std::string>{"R5", "one-at-a-time"},
                                 std::pair<std::string, std::string>{"R6", "no-incident"},
                                 std::pair<std::string, std::string>{"R7", "reversible-migration"},
                                 std::pair<std::string, std::string>{"R8", "blast-radius"},
                                 std::pair<std::string, std::string>{"R9", "immutable-image"},
                                 std::pair<std::string, std::string>{"R10", "staging-soak"},
                                 std::pair<std::string, std::string>{"R11", "security-review"},
                                 std::pair<std::string, std::string>{"R12", "backup-before-prod"},
                                 std::pair<std::string, std::string>{"R13", "same-image"},
                                 std::pair<std::string, std::string>{"R14", "maintenance-window"},
                                 std::pair<std::string, std::string>{"R15", "canary-phases"},
                                 std::pair<std::string, std::string>{"R16", "post-deploy-watch"},
                                 std::pair<std::string, std::string>{"R18", "peak-hours"}));
  EXPECT_EQ(p.FindRule("R17"), nullptr);
}

TEST(DefaultPack, ChainHasNineStepsInOrderWithOwners) {
  Policy p = Parse(DefaultPolicyText());
  std::vector<std::string> steps, owners;
  for (const ChainStep& s : p.chain) {
    steps.push_back(s.step);
    owners.push_back(s.owner);
  }
  EXPECT_THAT(steps, ElementsAre("orchestrate", "db-migration", "infrastructure", "build",
                                 "staging", "production", "network", "cdn", "backup-verify"));
  EXPECT_THAT(owners, ElementsAre("coordinator", "dba", "infra", "ci", "k8s-operator",
                                  "production-ops", "network", "edge", "backup"));
}

TEST(DefaultPack, WaiversAndRoles) {
  Policy p = Parse(DefaultPolicyText());
  EXPECT_THAT(p.waiver_roles, ElementsAre("release-manager"));
  EXPECT_THAT(p.never_waived, ElementsAre("R3"));
  EXPECT_TRUE(p.RoleMayEmit("release-manager", "waiver.granted"));
  EXPECT_TRUE(p.RoleMayEmit("coordinator", "rollback.completed"));
  EXPECT_TRUE(p.RoleMayEmit("merge-approver", "review"));
  EXPECT_FALSE(p.RoleMayEmit("merge-approver", "step.started"));
  EXPECT_FALSE(p.RoleMayEmit("nobody", "review"));
  EXPECT_TRUE(p.RoleMayEmit("enforcer", "enforcement.decided"));
  EXPECT_TRUE(p.RoleMayEmit("enforcer", "gate.result"));
  EXPECT_FALSE(p.RoleMayEmit("enforcer", "step.started"));
  EXPECT_TRUE(p.RoleMayEmit("account-manager", "review"));
  EXPECT_THAT(p.roles, SizeIs(17));
  EXPECT_TRUE(p.roles.at("auditor").empty());  // reads, emits nothing
}

TEST(DefaultPack, EnvironmentsBindNamespacesLabelsAndGithubEnvironments) {
  Policy p = Parse(DefaultPolicyText());
  ASSERT_THAT(p.environments, SizeIs(2));
  const EnvironmentBinding* production = p.EnvironmentForNamespace("production");
  ASSERT_NE(production, nullptr);
  EXPECT_EQ(production->name, "production");
  EXPECT_EQ(production->step, "production");
  EXPECT_EQ(production->namespace_label, "shiplog.dev/environment=production");
  EXPECT_EQ(p.EnvironmentForGithub("staging"), p.FindEnvironment("staging"));
  EXPECT_EQ(p.EnvironmentForGithub("staging")->step, "staging");
  EXPECT_EQ(p.EnvironmentForNamespace("kube-system"), nullptr);
  EXPECT_EQ(p.EnvironmentForGithub("Production"), nullptr) << "names match exactly";
}

TEST(DefaultPack, RulesCarryTheirRequirements) {
  Policy p = Parse(DefaultPolicyText());
  const Rule* soak = p.FindRule("staging-soak");
  ASSERT_NE(soak, nullptr);
  EXPECT_EQ(soak, p.FindRule("R10"));
  EXPECT_THAT(soak->on_kinds, ElementsAre("step.started"));
  EXPECT_THAT(soak->on_steps, ElementsAre("production"));
  ASSERT_THAT(soak->require, SizeIs(1));
  const Requirement& r = soak->require[0];
  EXPECT_EQ(r.type, Requirement::Type::kEvent);
  EXPECT_EQ(r.event.kind, "step.reported");
  EXPECT_EQ(r.older_than, 15 * kMicrosPerMinute);
  EXPECT_EQ(r.event.where.at("status").values, std::vector<std::string>{"ready"});
  ASSERT_THAT(r.unless_later, SizeIs(2));
  EXPECT_EQ(r.unless_later[0].where.at("status").op, ValueTest::Op::kOneOf);
  EXPECT_EQ(r.unless_later[1].kind, "gate.result");

  const Rule* blast = p.FindRule("R8");
  ASSERT_NE(blast, nullptr);
  const ValueTest& gt = blast->require[0].when_request.at("changes.resources_changed");
  EXPECT_EQ(gt.op, ValueTest::Op::kGreater);
  EXPECT_EQ(gt.number, 5);

  const Rule* migration = p.FindRule("R7");
  ASSERT_NE(migration, nullptr);
  EXPECT_EQ(migration->require[0].type, Requirement::Type::kAnyOf);
  EXPECT_EQ(migration->require[0].any_of[1].request.at("changes.recovery_doc").op,
            ValueTest::Op::kPresent);
  EXPECT_EQ(migration->require[1].by_role, "backup");
}

TEST(DefaultPack, CanaryPhasesAndAnalysis) {
  Policy p = Parse(DefaultPolicyText());
  const Rule* canary = p.FindRule("R15");
  ASSERT_NE(canary, nullptr);
  const Requirement& r = canary->require[0];
  EXPECT_EQ(r.type, Requirement::Type::kCanary);
  std::vector<uint32_t> weights;
  std::vector<Micros> holds;
  for (const auto& phase : r.phases) {
    weights.push_back(phase.weight);
    holds.push_back(phase.hold);
  }
  EXPECT_THAT(weights, ElementsAre(5, 25, 50, 100));
  EXPECT_THAT(holds,
              ElementsAre(15 * kMicrosPerMinute, 30 * kMicrosPerMinute, 60 * kMicrosPerMinute, 0));
  EXPECT_EQ(r.analysis.kind, "gate.result");
  EXPECT_EQ(r.analysis_metrics.at("error_rate_delta_pct").op, ValueTest::Op::kLess);
  EXPECT_DOUBLE_EQ(r.analysis_metrics.at("error_rate_delta_pct").number, 0.1);
  EXPECT_DOUBLE_EQ(r.analysis_metrics.at("p99_latency_delta_ms").number, 100);
}

// ---- a team's edits ----

TEST(TeamEdit, LongerSoakAndRenamedRoleAreReflected) {
  std::string text = Edit(DefaultPolicyText(),
                          "status: ready}\n        older_than: 15m\n        unless_later:\n"
                          "          - {event: step.reported, where: {step: staging",
                          "status: ready}\n        older_than: 30m\n        unless_later:\n"
                          "          - {event: step.reported, where: {step: staging");
  text = ReplaceAll(text, "release-manager", "change-manager");
  text = ReplaceAll(text, "k8s-operator", "kube-ops");
  Policy p = Parse(text);
  EXPECT_EQ(p.FindRule("staging-soak")->require[0].older_than, 30 * kMicrosPerMinute);
  EXPECT_EQ(p.FindRule("post-deploy-watch")->require[0].older_than, 15 * kMicrosPerMinute);
  EXPECT_THAT(p.waiver_roles, ElementsAre("change-manager"));
  EXPECT_TRUE(p.RoleMayEmit("change-manager", "waiver.granted"));
  EXPECT_EQ(p.roles.count("release-manager"), 0u);
  EXPECT_EQ(p.FindStep("staging")->owner, "kube-ops");
  EXPECT_NE(p.sha256_hex, Parse(DefaultPolicyText()).sha256_hex);
}

TEST(TeamEdit, RoleRenamedInOnePlaceOnlyIsAnError) {
  std::string text = Edit(DefaultPolicyText(), "  release-manager: [waiver.granted]",
                          "  change-manager: [waiver.granted]");
  EXPECT_THAT(Errors(text),
              ElementsAre(At(text, "release-manager: all", "reads:") +
                              " role 'release-manager' is not declared under roles",
                          At(text, "release-manager]", "waivers:") +
                              " role 'release-manager' is not declared under roles"));
}

TEST(TeamEdit, Sha256FollowsTheExactText) {
  Policy a = Parse(kBase);
  Policy b = Parse(kBase + "\n");
  EXPECT_EQ(a.sha256_hex, Sha256Hex(kBase));
  EXPECT_EQ(b.sha256_hex, Sha256Hex(kBase + "\n"));
  EXPECT_NE(a.sha256_hex, b.sha256_hex);
  EXPECT_EQ(a.source, kBase);
}

TEST(TeamEdit, RolesListGlobsExpandToKinds) {
  Policy p = Parse(kBase);
  EXPECT_THAT(p.roles.at("coordinator"),
              ElementsAre("deploy.requested", "step.started", "step.reported", "rollback.started",
                          "rollback.completed"));
}

// ---- errors, each at its place ----

TEST(Errors, UnknownKeyInARule) {
  std::string text = Edit(kBase, "    require:", "    requre:");
  EXPECT_THAT(Errors(text),
              ElementsAre(At(text, "id: R1") + " a rule needs 'require'",
                          At(text, "requre") + " unknown key 'requre' in a rule (expected one "
                                               "of: id, name, why, on, require)"));
}

TEST(Errors, UnknownKeysAtEveryLevel) {
  EXPECT_EQ(OnlyError(Edit(kBase, "name: team\n", "name: team\ncolour: blue\n")),
            "t.yaml:3:1: unknown key 'colour' in the policy (expected one of: shiplog_policy, "
            "name, description, roles, chain, environments, waivers, rules, reads, limits, "
            "calendars, checklists)");
  std::string text = Edit(kBase, "owner: coordinator}\n  - {step: production",
                          "owner: coordinator, after: x}\n  - {step: production");
  EXPECT_EQ(OnlyError(text), At(text, "after") +
                                 " unknown key 'after' in a chain step "
                                 "(expected one of: step, owner)");
  text = Edit(kBase, "  never: [R1]\n", "  never: [R1]\n  always: [R1]\n");
  EXPECT_THAT(OnlyError(text), StartsWith(At(text, "always") + " unknown key 'always' in waivers"));
  text =
      Edit(kBase, "step: orchestrate}\n    require", "step: orchestrate, when: now}\n    require");
  EXPECT_THAT(OnlyError(text), StartsWith(At(text, "when") + " unknown key 'when' in on"));
  text = Edit(kBase, "        by_role: merge-approver\n",
              "        by_role: merge-approver\n        unles_later: []\n");
  EXPECT_THAT(OnlyError(text),
              StartsWith(At(text, "unles_later") + " unknown key 'unles_later' in a requirement"));
}

TEST(Errors, UnknownEventKind) {
  std::string text = Edit(kBase, "{kind: step.started", "{kind: step.startd");
  std::string error = OnlyError(text);
  EXPECT_THAT(error, StartsWith("t.yaml:15:16: unknown event kind 'step.startd' (known: "));
  EXPECT_THAT(error, HasSubstr("deploy.requested, review, step.started, step.reported"));
}

TEST(Errors, UnknownKindInARoleAndAGlobMatchingNothing) {
  std::string text = Edit(kBase, "[review]\nchain", "[reviw, deploy.*, rollbck.*]\nchain");
  EXPECT_THAT(Errors(text),
              ElementsAre(StartsWith(At(text, "reviw") + " unknown event kind 'reviw'"),
                          StartsWith(At(text, "rollbck.*") +
                                     " the glob 'rollbck.*' matches no event kind")));
}

TEST(Errors, BadDuration) {
  std::string text = Edit(kBase, "        by_role: merge-approver\n",
                          "        by_role: merge-approver\n        older_than: 15\n");
  EXPECT_EQ(OnlyError(text), "t.yaml:20:21: expected a duration like 15m, 1h30m, 90s, got '15'");
}

TEST(Errors, StepNotInTheChain) {
  std::string text = Edit(kBase, "step: orchestrate}\n    require", "step: prod}\n    require");
  EXPECT_EQ(OnlyError(text),
            At(text, "prod}") + " step 'prod' is not in the chain (orchestrate, production)");
}

TEST(Errors, EnvironmentBindings) {
  const std::string text = Edit(kBase, "waivers:\n",
                                "environments:\n"
                                "  prod:\n"
                                "    step: prodution\n"
                                "    namespaces: [web, web]\n"
                                "    namespace_label: shiplog.dev/env\n"
                                "    github: [production]\n"
                                "  stage: {namespaces: web}\n"
                                "waivers:\n");
  EXPECT_THAT(Errors(text),
              ElementsAre(At(text, "step: prodution") +
                              " namespace 'web' is listed twice in environment 'prod'",
                          At(text, "prodution") +
                              " step 'prodution' is not in the chain (orchestrate, production)",
                          At(text, "shiplog.dev/env") +
                              " expected a namespace label as KEY=VALUE (e.g. "
                              "shiplog.dev/environment=production), got 'shiplog.dev/env'",
                          At(text, "github:") +
                              " unknown key 'github' in environment 'prod' (expected one of: "
                              "step, namespaces, namespace_label, github_environments)",
                          At(text, "{namespaces: web}") +
                              " environment 'stage' needs 'step': the chain step a deploy to it "
                              "applies",
                          At(text, "{namespaces: web}") +
                              " namespace 'web' is bound to both environment 'prod' and 'stage'"));
}

TEST(Approvals, ParseWithTheirDefaultsAndWarnWhenNoRoleCouldGiveThem) {
  const std::string approvals =
      "      - approvals:\n"
      "          count: 2\n"
      "          where: {verdict: approved}\n"
      "          by_role: [merge-approver]\n"
      "          not_by: [requester, builder]\n";
  std::string text = Edit(kBase,
                          "      - event: review\n"
                          "        where: {subject: merge, verdict: approved}\n"
                          "        by_role: merge-approver\n",
                          approvals);
  ParseResult parsed = ParsePolicy(text, "t.yaml");
  ASSERT_TRUE(parsed.errors.empty()) << parsed.errors.front().ToString();
  EXPECT_TRUE(parsed.warnings.empty());
  const Requirement& r = parsed.policy->rules.at(0).require.at(0);
  EXPECT_EQ(r.type, Requirement::Type::kApprovals);
  EXPECT_EQ(r.approvals, 2u);
  EXPECT_EQ(r.event.kind, "review");
  EXPECT_THAT(r.approver_roles, ElementsAre("merge-approver"));
  EXPECT_THAT(r.not_by, ElementsAre("requester", "builder"));

  // Coordinators may not emit review: these approvals can never be given.
  const std::string stuck = Edit(text, "by_role: [merge-approver]", "by_role: [coordinator]");
  ParseResult warned = ParsePolicy(stuck, "t.yaml");
  ASSERT_TRUE(warned.errors.empty());
  ASSERT_EQ(warned.warnings.size(), 1u);
  EXPECT_EQ(warned.warnings[0].ToString(),
            At(stuck, "2\n") + " 2 approvals can never be given: none of coordinator may emit "
                                "review");

  EXPECT_THAT(Errors(Edit(text, "count: 2", "count: 0")),
              ElementsAre(At(Edit(text, "count: 2", "count: 0"), "0\n") +
                          " approvals needs a count: a whole number 1..1000"));
  const std::string other = Edit(text, "not_by: [requester, builder]", "not_by: [reviewer]");
  EXPECT_THAT(Errors(other), ElementsAre(At(other, "reviewer]") +
                                         " unknown 'reviewer' in not_by (expected requester, "
                                         "builder)"));
  const std::string kind = Edit(text, "count: 2\n", "count: 2\n          event: waiver.granted\n");
  EXPECT_THAT(Errors(kind),
              ElementsAre(StartsWith(At(kind, "waiver.granted") +
                                     " approvals are bound to the image, so their kind needs an "
                                     "image field")));
}

TEST(Errors, StepOnlyForStepKinds) {
  std::string text = Edit(kBase, "{kind: step.started, step: orchestrate}",
                          "{kind: deploy.requested, step: orchestrate}");
  EXPECT_THAT(OnlyError(text),
              StartsWith(At(text, "step: orchestrate}") +
                         " on.step applies only to kinds with a step (step.started, "
                         "step.reported, gate.result, enforcement.decided); none of "
                         "deploy.requested has one"));
}

TEST(Errors, RoleNotDeclared) {
  std::string text = Edit(kBase, "by_role: merge-approver", "by_role: merge-aprover");
  EXPECT_EQ(OnlyError(text), "t.yaml:19:18: role 'merge-aprover' is not declared under roles");
  text = Edit(kBase, "{step: production, owner: coordinator}", "{step: production, owner: ops}");
  EXPECT_EQ(OnlyError(text), At(text, "ops}") + " role 'ops' is not declared under roles");
  text = Edit(kBase, "roles: [merge-approver]", "roles: [release-manager]");
  EXPECT_EQ(OnlyError(text),
            At(text, "release-manager") + " role 'release-manager' is not declared under roles");
}

TEST(Errors, DuplicateRuleIdAndName) {
  std::string second =
      "  - id: R1\n"
      "    name: merge-approved\n"
      "    on: {kind: deploy.requested}\n"
      "    require:\n"
      "      - builtin: one-at-a-time\n";
  std::string text = kBase + second;
  EXPECT_THAT(Errors(text),
              ElementsAre("t.yaml:20:9: duplicate rule id 'R1' (first at line 13)",
                          "t.yaml:21:11: duplicate rule name 'merge-approved' (first at line 14)"));
}

TEST(Errors, NeverWaivedRuleNotDefined) {
  std::string text = Edit(kBase, "never: [R1]", "never: [R1, R3]");
  EXPECT_EQ(OnlyError(text), "t.yaml:11:15: rule 'R3' in waivers.never is not defined");
  // A rule's name names it too; the Policy keeps its id.
  EXPECT_THAT(Parse(Edit(kBase, "never: [R1]", "never: [merge-approved]")).never_waived,
              ElementsAre("R1"));
}

TEST(Errors, UnknownBuiltin) {
  std::string text = kBase +
                     "  - id: R2\n"
                     "    name: halt\n"
                     "    on: {kind: step.started}\n"
                     "    require:\n"
                     "      - builtin: hault\n";
  EXPECT_EQ(OnlyError(text),
            "t.yaml:24:18: unknown builtin 'hault' (known: chain-order, halt, "
            "owner, one-at-a-time)");
}

TEST(Errors, WhereFieldsAndValuesAreCheckedAgainstTheKind) {
  std::string text = Edit(kBase, "{subject: merge, verdict: approved}",
                          "{subjet: merge, verdict: aproved, actor: marta}");
  EXPECT_THAT(Errors(text),
              ElementsAre(StartsWith(At(text, "subjet") + " unknown field 'subjet' in review "
                                                          "(known: id, actor, deployment, subject"),
                          At(text, "aproved") + " unknown value 'aproved' for field 'verdict' "
                                                "(expected one of: approved, rejected)"));
}

TEST(Errors, RequestPathsAreCheckedAgainstDeployRequested) {
  std::string text = Edit(kBase, "        by_role: merge-approver\n",
                          "        by_role: merge-approver\n"
                          "        if: {changes.db_migraton: destructive, risk: hihg, "
                          "changes.infra: {gt: 1}}\n");
  EXPECT_THAT(
      Errors(text),
      ElementsAre(StartsWith(At(text, "changes.db_migraton") +
                             " unknown field 'db_migraton' in deploy.requested field 'changes'"),
                  At(text, "hihg") + " unknown value 'hihg' for field 'risk' (expected one of: "
                                     "low, high)",
                  StartsWith(At(text, "{gt: 1}") + " field 'changes.infra' is not a number")));
  Policy p = Parse(Edit(kBase, "        by_role: merge-approver\n",
                        "        by_role: merge-approver\n"
                        "        if: {changes.db_migration: DESTRUCTIVE, risk: [low, high], "
                        "changes.resources_changed: {eq: 5}, app: present}\n"));
  const FieldTests& when = p.rules[0].require[0].when_request;
  EXPECT_EQ(when.at("changes.db_migration").op, ValueTest::Op::kEquals);
  EXPECT_EQ(when.at("risk").op, ValueTest::Op::kOneOf);
  EXPECT_EQ(when.at("changes.resources_changed").values, std::vector<std::string>{"5"});
  EXPECT_EQ(when.at("app").op, ValueTest::Op::kPresent);
}

TEST(Errors, MetricComparisons) {
  std::string text = kBase +
                     "  - id: R15\n"
                     "    name: canary\n"
                     "    on: {kind: traffic.shifted}\n"
                     "    require:\n"
                     "      - canary:\n"
                     "          phases: [{weight: 5, hold: 1m}, {weight: 100}]\n"
                     "          analysis:\n"
                     "            event: gate.result\n"
                     "            metrics: {a: {lt: x}, b: {below: 1}, c: 3, d: {ge: 2}}\n";
  EXPECT_THAT(Errors(text),
              ElementsAre(At(text, "x}") + " expected a number after 'lt', got 'x'",
                          StartsWith(At(text, "below") + " unknown key 'below' in a comparison "
                                                         "{lt|le|gt|ge|eq: NUMBER}"),
                          StartsWith(At(text, "3,") + " expected a comparison")));
}

TEST(Errors, CanaryPhases) {
  std::string rule =
      "  - id: R15\n"
      "    name: canary\n"
      "    on: {kind: traffic.shifted}\n"
      "    require:\n"
      "      - canary:\n"
      "          phases:\n"
      "            - {weight: 25, hold: 15m}\n"
      "            - {weight: 5, hold: 30m}\n"
      "            - {weight: 50}\n"
      "            - {weight: 90, hold: 1h}\n";
  std::string text = kBase + rule;
  EXPECT_THAT(
      Errors(text),
      ElementsAre(At(text, "5, hold: 30m") + " canary weights must increase: 5 after 25",
                  At(text, "{weight: 50}") + " a canary phase before the last needs a hold: a "
                                             "duration like 15m, above zero",
                  At(text, "90") + " the last canary phase must have weight 100, got 90",
                  At(text, "1h}") + " the last canary phase takes no hold: nothing comes after "
                                    "it"));
  text = kBase + Edit(Edit(Edit(rule, "{weight: 25", "{weight: 0"), "{weight: 90, hold: 1h}",
                           "{weight: 100}"),
                      "{weight: 50}", "{weight: 50, hold: 1h}");
  EXPECT_THAT(Errors(text),
              ElementsAre(At(text, "0, hold: 15m") + " expected a weight: a whole percent 1..100"));
  text = kBase + Edit(rule, "{weight: 90, hold: 1h}", "{weight: 100}");
  text = Edit(Edit(text, "{weight: 5, hold: 30m}", "{weight: 30, hold: soon}"), "{weight: 50}",
              "{weight: 50, hold: 1h}");
  EXPECT_THAT(Errors(text), ElementsAre(At(text, "soon") + " expected a duration like 15m, "
                                                           "1h30m, 90s, got 'soon'"));
}

TEST(Errors, RequirementNeedsExactlyOneForm) {
  std::string text =
      Edit(kBase, "      - event: review\n", "      - image_pinned: true\n        event: review\n");
  EXPECT_EQ(OnlyError(text), At(text, "event: review") +
                                 " a requirement has one form, but this one has both "
                                 "'image_pinned' and 'event'; write each as its own list entry");
  text = Edit(kBase, "      - event: review\n", "      - if: {risk: high}\n");
  EXPECT_THAT(Errors(text),
              ElementsAre(StartsWith(At(text, "if:") + " a requirement needs exactly one of: "
                                                       "builtin, event, request, any_of")));
  text = kBase +
         "  - id: R6\n"
         "    name: no-incident\n"
         "    on: {kind: step.started}\n"
         "    require:\n"
         "      - no_open_incident: production\n"
         "        older_than: 15m\n";
  EXPECT_EQ(OnlyError(text),
            At(text, "older_than") + " 'older_than' applies only to an 'event' requirement");
}

TEST(Errors, AnyOfNestsRequirements) {
  std::string text =
      kBase +
      "  - id: R7\n"
      "    name: migration\n"
      "    on: {kind: step.started}\n"
      "    require:\n"
      "      - any_of:\n"
      "          - request: {changes.reversible: true}\n"
      "          - any_of: [{request: {changes.recovery_doc: present}}, {bultin: x}]\n";
  EXPECT_THAT(
      Errors(text),
      ElementsAre(StartsWith(At(text, "{bultin") + " a requirement needs exactly one of"),
                  StartsWith(At(text, "bultin") + " unknown key 'bultin' in a requirement")));
  Policy p = Parse(Edit(text, ", {bultin: x}", ""));
  const Requirement& any = p.FindRule("R7")->require[0];
  ASSERT_THAT(any.any_of, SizeIs(2));
  EXPECT_EQ(any.any_of[1].any_of[0].request.at("changes.recovery_doc").op, ValueTest::Op::kPresent);
}

TEST(Errors, VersionAndNameAreRequired) {
  EXPECT_THAT(Errors(Edit(Edit(kBase, "shiplog_policy: 1\n", ""), "name: team\n", "")),
              ElementsAre("t.yaml:1:1: missing 'shiplog_policy: 1' (the policy format version)",
                          "t.yaml:1:1: missing 'name' (the policy's name)"));
  EXPECT_EQ(OnlyError(Edit(kBase, "shiplog_policy: 1", "shiplog_policy: 2")),
            "t.yaml:1:17: expected shiplog_policy: 1 (the only format version this shiplog "
            "reads), got '2'");
  EXPECT_EQ(OnlyError(Edit(kBase, "name: team", "name:")),
            "t.yaml:2:1: expected the policy's name, got nothing");
}

TEST(Errors, YamlSyntaxErrorHasItsPlace) {
  std::string text = Edit(kBase, "[merge-approver]\n  never", "[merge-approver\n  never");
  std::vector<std::string> errors = Errors(text);
  ASSERT_THAT(errors, SizeIs(1));
  EXPECT_THAT(errors[0], StartsWith("t.yaml:11:"));
  EXPECT_THAT(errors[0], HasSubstr("YAML syntax error"));
  EXPECT_THAT(Errors("a: [b\n"), ElementsAre(StartsWith("t.yaml:2:1: YAML syntax error")));
}

TEST(Errors, NotAPolicyAtAll) {
  EXPECT_THAT(Errors(""), ElementsAre(StartsWith("t.yaml:1:1: expected a policy: a mapping")));
  EXPECT_THAT(Errors("- a\n"), ElementsAre(HasSubstr("got a list")));
  // Deep nesting and odd bytes are errors, never crashes or exceptions.
  EXPECT_THAT(Errors(std::string(100000, '[')), SizeIs(1));
  EXPECT_THAT(Errors(std::string("\x01\x02\xff", 3)), SizeIs(1));
  EXPECT_THAT(Errors(std::string(200 * 1024, '#')), ElementsAre(HasSubstr("the limit is")));
}

TEST(Errors, EveryErrorIsReportedInFileOrder) {
  std::string text = kBase;
  text = Edit(text, "[review]", "[reviw]");
  text = Edit(text, "owner: coordinator}\n  - {step: production",
              "owner: coord}\n  - {step: production");
  text = Edit(text, "never: [R1]", "never: [R9]");
  text = Edit(text, "    require:", "    requre:");
  text = Edit(text, "by_role: merge-approver", "by_role: merge-aprover");
  std::vector<std::string> errors = Errors(text);
  EXPECT_THAT(errors, ElementsAre(StartsWith("t.yaml:5:20: unknown event kind 'reviw'"),
                                  StartsWith("t.yaml:7:32: role 'coord' is not declared"),
                                  StartsWith("t.yaml:11:11: rule 'R9' in waivers.never"),
                                  StartsWith("t.yaml:13:5: a rule needs 'require'"),
                                  StartsWith("t.yaml:16:5: unknown key 'requre'")));
}

TEST(Errors, DuplicateKeysAndRoles) {
  std::string text = Edit(kBase, "name: team\n", "name: team\nname: other\n");
  EXPECT_EQ(OnlyError(text), "t.yaml:3:1: duplicate key 'name' in the policy (first at line 2)");
  text = Edit(kBase, "  merge-approver: [review]\n",
              "  merge-approver: [review]\n  merge-approver: [review]\n");
  EXPECT_EQ(OnlyError(text), "t.yaml:6:3: duplicate role 'merge-approver'");
}

// ---- the value helpers ----

TEST(PolicyValue, ToStrings) {
  SourceLocation where{"p.yaml", 12, 7};
  EXPECT_EQ(where.ToString(), "p.yaml:12:7");
  EXPECT_EQ((PolicyError{where, "expected a duration"}).ToString(),
            "p.yaml:12:7: expected a duration");
}

TEST(PolicyValue, FindersAndRuleLocations) {
  Policy p = Parse(kBase);
  EXPECT_EQ(p.FindRule("merge-approved"), p.FindRule("R1"));
  EXPECT_EQ(p.FindRule("R1")->where.ToString(), "t.yaml:13:5");
  EXPECT_EQ(p.FindRule("R1")->require[0].where.ToString(), "t.yaml:17:9");
  EXPECT_EQ(p.FindRule("nope"), nullptr);
  ASSERT_NE(p.FindStep("production"), nullptr);
  EXPECT_EQ(p.FindStep("production")->owner, "coordinator");
  EXPECT_EQ(p.FindStep("staging"), nullptr);
}

// ---- reads: who may read from the server ----

TEST(Reads, TheDefaultPackPublishesProofsAndGivesAuditorsEverything) {
  auto parsed = ParsePolicy(DefaultPolicyText(), "default.yaml");
  ASSERT_TRUE(parsed.policy) << parsed.errors.front().ToString();
  const ReadAccess& reads = parsed.policy->reads;
  for (const char* group : {"health", "metrics", "proofs"}) EXPECT_TRUE(reads.IsPublic(group));
  EXPECT_TRUE(reads.ScopeOf({"auditor"}).all);
  EXPECT_TRUE(reads.ScopeOf({"admin"}).all);  // admin is no declared role, and reads everything
  const ReadScope ops = reads.ScopeOf({"production-ops"});
  EXPECT_FALSE(ops.all);
  EXPECT_TRUE(ops.CoversDeployment("checkout", "production"));
  EXPECT_FALSE(ops.CoversDeployment("checkout", "staging"));
  const ReadScope ci = reads.ScopeOf({"ci"});
  EXPECT_TRUE(ci.proofs);
  EXPECT_FALSE(ci.all);
  EXPECT_TRUE(ci.deployments.empty());
  // A key reads the union of its roles' grants.
  EXPECT_TRUE(reads.ScopeOf({"ci", "auditor"}).all);
  const ReadScope nothing = reads.ScopeOf({"no-such-role"});
  EXPECT_FALSE(nothing.all || nothing.proofs || !nothing.deployments.empty());
}

TEST(Reads, GrantsByAppAndEnvironmentAndAPublicList) {
  const std::string text = kBase +
                           "reads:\n"
                           "  public: [health]\n"
                           "  roles:\n"
                           "    coordinator: {apps: [checkout, search], environments: [staging]}\n"
                           "    merge-approver: {apps: [checkout]}\n";
  const Policy p = Parse(text);
  EXPECT_TRUE(p.reads.IsPublic("health"));
  EXPECT_FALSE(p.reads.IsPublic("metrics"));
  EXPECT_FALSE(p.reads.IsPublic("proofs"));
  const ReadScope both = p.reads.ScopeOf({"coordinator"});
  EXPECT_TRUE(both.CoversDeployment("search", "staging"));
  EXPECT_FALSE(both.CoversDeployment("search", "production"));
  EXPECT_FALSE(both.CoversDeployment("payments", "staging"));
  const ReadScope app = p.reads.ScopeOf({"merge-approver"});
  EXPECT_TRUE(app.CoversDeployment("checkout", "production"));
  EXPECT_FALSE(app.CoversDeployment("search", "production"));
  // With no reads: section, the transparency log and the probes stay public and only admins read.
  const Policy none = Parse(kBase);
  EXPECT_TRUE(none.reads.IsPublic("proofs"));
  EXPECT_FALSE(none.reads.ScopeOf({"coordinator"}).proofs);
}

TEST(Reads, EveryMistakeIsNamedWhereItIs) {
  const std::string text = kBase +
                           "reads:\n"
                           "  public: [health, helth]\n"
                           "  roles:\n"
                           "    coordinator: everything\n"
                           "    release-manager: all\n"
                           "    merge-approver: {}\n"
                           "  role: {}\n";
  EXPECT_THAT(Errors(text),
              ElementsAre(StartsWith(At(text, "helth") + " unknown route group 'helth'"),
                          StartsWith(At(text, "everything") +
                                     " expected what role 'coordinator' may read"),
                          StartsWith(At(text, "release-manager") +
                                     " role 'release-manager' is not declared"),
                          StartsWith(At(text, "{}") + " the reads of role 'merge-approver' name "
                                                      "no apps and no environments"),
                          StartsWith(At(text, "role: {}") + " unknown key 'role' in reads")));
  EXPECT_THAT(OnlyError(kBase + "reads:\n  public: [proofs, proofs]\n"),
              HasSubstr("'proofs' is listed twice"));
  EXPECT_THAT(OnlyError(kBase + "reads:\n  roles:\n    coordinator: {apps: [a], env: [b]}\n"),
              HasSubstr("unknown key 'env'"));
}

// ---- limits: ----

TEST(Limits, DefaultsKeyAndConnectionAndTheMostGenerousRole) {
  const Policy none = Parse(kBase);
  EXPECT_EQ(none.limits.connection.rate, Limits().connection.rate);
  EXPECT_EQ(none.limits.ForRoles({"coordinator"}).rate, Limits().key.rate);
  const Policy p = Parse(kBase +
                         "limits:\n"
                         "  connection: {rate: 100, burst: 150}\n"
                         "  key: {rate: 2.5}\n"
                         "  roles:\n"
                         "    coordinator: {rate: 10, burst: 10}\n"
                         "    admin: {rate: 40, burst: 5}\n"
                         "    merge-approver: off\n");
  EXPECT_EQ(p.limits.connection.rate, 100);
  EXPECT_EQ(p.limits.connection.burst, 150);
  EXPECT_EQ(p.limits.key.rate, 2.5);
  EXPECT_EQ(p.limits.key.burst, 5);  // twice the rate when not given
  EXPECT_EQ(p.limits.ForRoles({}).rate, 2.5);
  EXPECT_EQ(p.limits.ForRoles({"coordinator"}).rate, 10);
  EXPECT_EQ(p.limits.ForRoles({"coordinator", "admin"}).rate, 40);
  EXPECT_TRUE(p.limits.ForRoles({"coordinator", "merge-approver"}).off());
  EXPECT_FALSE(p.limits.key.off());
  EXPECT_TRUE(Parse(kBase + "limits:\n  connection: off\n").limits.connection.off());
}

TEST(Limits, EveryMistakeIsNamedWhereItIs) {
  auto error = [](const std::string& section, const std::string& needle) {
    const std::string text = kBase + "limits:\n" + section;
    const std::string e = OnlyError(text);
    EXPECT_THAT(e, StartsWith(At(text, needle, "limits:"))) << e;
    return e;
  };
  EXPECT_THAT(error("  conection: {rate: 1}\n", "conection"),
              HasSubstr("unknown key 'conection' in limits"));
  EXPECT_THAT(error("  key: {rate: 0}\n", "0"),
              HasSubstr("limits.key's rate as a number above 0 (for no limit, write off)"));
  EXPECT_THAT(error("  key: {rate: fast}\n", "fast"), HasSubstr("got 'fast'"));
  EXPECT_THAT(error("  key: {burst: 5}\n", "{burst"), HasSubstr("limits.key needs 'rate'"));
  EXPECT_THAT(error("  key: {rate: 5, brust: 5}\n", "brust"), HasSubstr("unknown key 'brust'"));
  EXPECT_THAT(error("  key: {rate: 5, burst: 0.5}\n", "0.5"),
              HasSubstr("burst must be at least 1"));
  EXPECT_THAT(error("  connection: unlimited\n", "unlimited"),
              HasSubstr("expected limits.connection as {rate: N, burst: N}"));
  EXPECT_THAT(error("  roles:\n    nobody: off\n", "nobody"), HasSubstr("'nobody' is not declared"));
  EXPECT_THAT(error("  roles:\n    coordinator: off\n    coordinator: {rate: 1}\n",
                    "coordinator: {"),
              HasSubstr("listed twice in limits.roles"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::policy
