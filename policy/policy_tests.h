// Policy tests: scripted timelines a team writes for its own policy, run like unit tests
// (`shiplog policy test POLICY TESTS`).
//
// The file format, by example, is policy/default_tests.yaml. Its grammar:
//
//   shiplog_policy_tests: 1                 the format version (required)
//   start: TIME                             ledger time at the start of each test (required)
//   actors: {NAME: [ROLE, ...], ...}        who signs the events, in roles the policy declares
//   deployment: ID                          default "deployment" of deployment-scoped events
//   tests:
//     - name: TEXT                          unique
//       steps: [STEP, ...]
//
//   STEP: exactly one of
//     {as: NAME, event: {kind: KIND, ...}, expect: allow | deny | reject, rules: [RULE, ...]}
//         the event is appended by NAME; expect defaults to allow; rules (ids or names) only with
//         deny: exactly these rules fail
//     {advance: DURATION}                   move ledger time forward
//     {at: TIME}                            set ledger time
//     {revoke: NAME}                        an admin revokes NAME's key: what NAME approved stops
//                                           counting, and NAME's later events are rejected
//
// Each step runs as the ledger would append it: authority (not OK: "reject"), then for intents
// the decision at the current time ("allow" or "deny"; facts are "allow"); allowed events are
// folded into the state, denied and rejected ones are not. Each test starts from a fresh engine.
// Unknown keys, actors, roles and rules are errors, like in a policy file.
#pragma once

#include <nlohmann/json.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/engine.h"
#include "policy/policy.h"

namespace shiplog::policy {

// A step whose outcome was not the expected one.
struct PolicyTestMismatch {
  std::string test;
  int step = 0;                     // 1-based index in the test's steps
  SourceLocation where;             // the step in the tests file
  std::string expected;             // allow | deny | reject
  std::vector<std::string> expected_rules;
  std::string got;
  std::vector<std::string> rules;   // the rule ids that failed
  std::vector<Reason> reasons;      // the decision's reasons
  std::string authority;            // for a reject: why authority was refused
  nlohmann::json event;             // the event as it was built

  nlohmann::json ToJson() const;
  // "tests.yaml:12:9: test 'NAME' step 3: expected deny [R10], got allow"
  std::string ToString() const;
};

// One branch of the policy and whether the tests saw it both ways (`policy test --coverage`).
struct BranchCoverage {
  std::string rule;     // "R7"
  std::string branch;   // "rule", "require 2", "require 2 if", "require 1 any_of 2"
  SourceLocation where;
  std::string first;    // the outcomes it has: "allow"/"deny", "holds"/"fails",
  std::string second;   // "matches"/"does not match"
  bool first_seen = false;
  bool second_seen = false;

  bool covered() const { return first_seen && second_seen; }
};

struct PolicyTestReport {
  int tests = 0;
  int passed = 0;
  int failed = 0;
  std::vector<PolicyTestMismatch> mismatches;  // in file order
  std::vector<BranchCoverage> coverage;       // every branch in file order, when asked for

  nlohmann::json Summary() const;  // {"tests":N,"passed":P,"failed":F}
  // {"branches":N,"covered":C,"uncovered":[{"rule","branch","line","missing"}...]}
  nlohmann::json CoverageJson() const;
};

// Either a report, or every error found in the tests file (file:line:column), like ParseResult.
struct PolicyTestRun {
  std::optional<PolicyTestReport> report;
  std::vector<PolicyError> errors;
};

// Where a test's steps are appended. The default is the pure engine; a test suite can run the
// same timelines through a real ledger (tests/policy/ledger_timeline_test.cc does).
class TimelineBackend {
 public:
  struct Outcome {
    std::string got;        // allow | deny | reject
    Decision decision;      // for allow and deny
    std::string authority;  // for reject: why
  };
  virtual ~TimelineBackend() = default;
  // Starts an empty timeline under `policy` at ledger time `start`, with these actors (name ->
  // roles) able to sign.
  virtual Status Reset(const Policy& policy, Micros start,
                       const std::map<std::string, std::vector<std::string>>& actors) = 0;
  virtual Status SetTime(Micros now) = 0;
  // Appends `event` (its actor is one of the actors) at the current time.
  virtual Result<Outcome> Append(const Event& event) = 0;
  // An admin revokes `actor`'s key at the current time.
  virtual Status Revoke(const std::string& actor) = 0;
};

// The pure engine as a timeline: authority, decision, fold, as the ledger's sequencer does.
std::unique_ptr<TimelineBackend> EngineTimeline();

// Parses the tests file `text` (named `file` in messages) against `policy` and runs every test on
// `backend` (the engine when null). A backend failure (not an outcome) is reported as an error.
PolicyTestRun RunPolicyTests(const Policy& policy, const std::string& text,
                             const std::string& file, TimelineBackend* backend = nullptr);

// RunPolicyTests on the engine, noting which branches every decision exercised: the report's
// coverage lists each rule, requirement, if and any_of arm with whether it was seen both ways.
PolicyTestRun RunPolicyTestsWithCoverage(const Policy& policy, const std::string& text,
                                         const std::string& file);

}  // namespace shiplog::policy
