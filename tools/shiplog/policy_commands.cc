// shiplog policy lint | show | activate | test
#include <iostream>

#include "ledger/event.h"
#include "ledger/terminal_text.h"
#include "policy/policy.h"
#include "policy/policy_tests.h"
#include "tools/shiplog/cli.h"

namespace shiplog::cli {
namespace {

using policy::ParseResult;
using policy::Policy;

// Tests files never travel in an event; RunPolicyTests applies the same bound.
constexpr size_t kMaxTestsFileBytes = 4 * 1024 * 1024;
// Failing policy tests exit like a failed verification: the input was fine, the check was not.
constexpr int kExitTestsFailed = kExitVerifyFailed;


// What is valid but almost surely not meant, each printed on stderr as "FILE: warning: ..." and
// returned for the JSON output. A policy without rules allows every intent.
nlohmann::json Warnings(const Policy& p, const std::string& path) {
  const std::string file = path == "-" ? "stdin" : path;
  nlohmann::json warnings = nlohmann::json::array();
  if (p.rules.empty()) {
    warnings.push_back({{"file", file},
                        {"message", "the policy has no rules, so it allows every intent"}});
  }
  for (const auto& w : warnings) {
    std::cerr << TerminalText(file + ": warning: " + w["message"].get<std::string>()) << "\n";
  }
  return warnings;
}

int RunLint(const std::string& file) {
  auto parsed = ReadPolicy(file);
  if (!parsed.ok()) return Fail(parsed.status());
  if (!parsed->policy) return ReportPolicyErrors(parsed->errors);
  const Policy& p = *parsed->policy;
  nlohmann::json warnings = Warnings(p, file);
  PrintJson({{"ok", true},
             {"name", p.name},
             {"sha256", p.sha256_hex},
             {"rules", p.rules.size()},
             {"warnings", warnings}});
  return kExitOk;
}

nlohmann::json Summary(const Policy& p) {
  nlohmann::json chain = nlohmann::json::array();
  for (const auto& step : p.chain) chain.push_back({{"step", step.step}, {"owner", step.owner}});
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& rule : p.rules) {
    rules.push_back({{"id", rule.id},
                     {"name", rule.name},
                     {"why", rule.why},
                     {"on", {{"kind", rule.on_kinds}, {"step", rule.on_steps}}}});
  }
  return {
      {"name", p.name},         {"description", p.description},
      {"sha256", p.sha256_hex}, {"roles", p.roles},
      {"chain", chain},         {"waivers", {{"roles", p.waiver_roles}, {"never", p.never_waived}}},
      {"rules", rules}};
}

// Without a file: the default pack's text, verbatim, so `policy show > mine.yaml` starts a policy.
int RunShow(const std::string& file) {
  if (file.empty()) {
    std::cout << policy::DefaultPolicyText();
    return kExitOk;
  }
  auto parsed = ReadPolicy(file);
  if (!parsed.ok()) return Fail(parsed.status());
  if (!parsed->policy) return ReportPolicyErrors(parsed->errors);
  PrintJson(Summary(*parsed->policy));
  return kExitOk;
}

struct ActivateArgs {
  std::string dir;
  std::string admin_key;
  std::string file;
};

// An admin-signed policy.activated carrying the file's text and hash; the ledger's policy gate
// lints it again before it is stored, and judges every later intent by it.
int RunActivate(const ActivateArgs& args, Context& context) {
  auto parsed = ReadPolicy(args.file);
  if (!parsed.ok()) return Fail(parsed.status());
  if (!parsed->policy) return ReportPolicyErrors(parsed->errors);
  const Policy& p = *parsed->policy;
  Warnings(p, args.file);
  return AppendSignedBy(args.dir, args.admin_key, context,
                        {{"kind", "policy.activated"},
                         {"name", p.name},
                         {"content", p.source},
                         {"sha256", p.sha256_hex}});
}

struct TestArgs {
  std::string policy;
  std::string tests;
};

// The policy is linted first (a bad one fails like lint), then every test runs: one JSON line per
// mismatch and a summary line on stdout, a FILE:LINE line per mismatch on stderr.
int RunTest(const TestArgs& args) {
  auto parsed = ReadPolicy(args.policy);
  if (!parsed.ok()) return Fail(parsed.status());
  if (!parsed->policy) return ReportPolicyErrors(parsed->errors);
  auto text = ReadInput(args.tests, kMaxTestsFileBytes);
  if (!text.ok()) return Fail(text.status());
  policy::PolicyTestRun run = policy::RunPolicyTests(*parsed->policy, *text, args.tests);
  if (!run.report) return ReportPolicyErrors(run.errors);
  for (const auto& m : run.report->mismatches) {
    std::cerr << TerminalText(m.ToString()) << "\n";
    PrintJson(m.ToJson());
  }
  PrintJson(run.report->Summary());
  return run.report->failed == 0 ? kExitOk : kExitTestsFailed;
}

}  // namespace

void AddPolicyCommands(CLI::App& app, Context& context, Action& action) {
  auto* group = app.add_subcommand("policy", "Policy files: check, read and activate them");
  group->require_subcommand(1);

  auto lint_file = std::make_shared<std::string>();
  auto* lint = group->add_subcommand(
      "lint", "Check a policy file; every error is printed as FILE:LINE:COL: message (exit 2)");
  lint->add_option("file", *lint_file, "The policy file, or - for stdin")->required();
  lint->callback([&action, lint_file] { action = [lint_file] { return RunLint(*lint_file); }; });

  auto show_file = std::make_shared<std::string>();
  auto* show = group->add_subcommand(
      "show",
      "Without FILE, print the default policy pack (a starting point for your own); with "
      "FILE, check it and print a JSON summary");
  show->add_option("file", *show_file, "A policy file to summarise");
  show->callback([&action, show_file] { action = [show_file] { return RunShow(*show_file); }; });

  auto activate_args = std::make_shared<ActivateArgs>();
  auto* activate = group->add_subcommand(
      "activate", "Make a policy file the ledger's active policy (an admin-signed policy.activated)");
  AddDataOption(activate, activate_args->dir);
  activate->add_option("--admin-key", activate_args->admin_key, "The admin's key file")->required();
  activate->add_option("file", activate_args->file, "The policy file")->required();
  activate->callback([&action, &context, activate_args] {
    action = [&context, activate_args] { return RunActivate(*activate_args, context); };
  });

  auto test_args = std::make_shared<TestArgs>();
  auto* test = group->add_subcommand(
      "test",
      "Run a policy's tests (scripted timelines with expected allow/deny/reject); exit 4 when "
      "any fails, 2 on a bad policy or tests file");
  test->add_option("policy", test_args->policy, "The policy file")->required();
  test->add_option("tests", test_args->tests, "The tests file (policy/policy_tests.h)")->required();
  test->callback([&action, test_args] { action = [test_args] { return RunTest(*test_args); }; });
}

}  // namespace shiplog::cli
