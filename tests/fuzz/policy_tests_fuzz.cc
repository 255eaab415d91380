// libFuzzer target: the policy tests parser and runner (`shiplog policy test POLICY TESTS`), over
// the default pack. Whatever the text, RunPolicyTests gives a report or errors with a place and a
// message, never a crash; a report adds up (every test passed or failed, one or more mismatches
// per failed test) and its JSON forms serialize.
// Seeds: tests/fuzz/corpus/policy_tests (policy/default_tests.yaml and pieces of it).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "policy/policy.h"
#include "policy/policy_tests.h"

namespace {

namespace policy = shiplog::policy;

void Check(bool invariant) {
  if (!invariant) std::abort();
}

const policy::Policy& DefaultPack() {
  static const policy::Policy* pack = [] {
    policy::ParseResult parsed = policy::ParsePolicy(policy::DefaultPolicyText(), "default.yaml");
    Check(parsed.policy.has_value());
    return new policy::Policy(std::move(*parsed.policy));
  }();
  return *pack;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  policy::PolicyTestRun run = policy::RunPolicyTests(DefaultPack(), text, "fuzz.yaml");
  Check(run.report.has_value() != !run.errors.empty());
  for (const policy::PolicyError& error : run.errors) Check(!error.message.empty());
  if (!run.report) return 0;
  const policy::PolicyTestReport& report = *run.report;
  Check(report.tests == report.passed + report.failed);
  Check(report.mismatches.size() >= static_cast<size_t>(report.failed));
  Check(report.failed > 0 || report.mismatches.empty());
  (void)report.Summary().dump();
  for (const policy::PolicyTestMismatch& mismatch : report.mismatches) {
    // Test names and rule ids are the file's text: written out with invalid UTF-8 replaced.
    (void)mismatch.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    (void)mismatch.ToString();
  }
  return 0;
}
