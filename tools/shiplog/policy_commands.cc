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
// The parser's own warnings come with their file:line:column.
nlohmann::json Warnings(const ParseResult& parsed, const std::string& path) {
  const Policy& p = *parsed.policy;
  const std::string file = path == "-" ? "stdin" : path;
  nlohmann::json warnings = nlohmann::json::array();
  std::vector<std::string> lines;
  if (p.rules.empty()) {
    warnings.push_back({{"file", file},
                        {"message", "the policy has no rules, so it allows every intent"}});
    lines.push_back(file + ": warning: the policy has no rules, so it allows every intent");
  }
  for (const auto& w : parsed.warnings) {
    warnings.push_back({{"file", file},
                        {"line", w.where.line},
                        {"column", w.where.column},
                        {"message", w.message}});
    lines.push_back(file + ":" + std::to_string(w.where.line) + ":" +
                    std::to_string(w.where.column) + ": warning: " + w.message);
  }
  for (const auto& line : lines) std::cerr << TerminalText(line) << "\n";
  return warnings;
}

int RunLint(const std::string& file) {
  auto parsed = ReadPolicy(file);
  if (!parsed.ok()) return Fail(parsed.status());
  if (!parsed->policy) return ReportPolicyErrors(parsed->errors);
  const Policy& p = *parsed->policy;
  nlohmann::json warnings = Warnings(*parsed, file);
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
    nlohmann::json on = {{"kind", rule.on_kinds}, {"step", rule.on_steps}};
    if (!rule.on_environments.empty()) on["environment"] = rule.on_environments;
    rules.push_back({{"id", rule.id}, {"name", rule.name}, {"why", rule.why}, {"on", on}});
  }
  nlohmann::json calendars = nlohmann::json::object();
  for (const auto& [name, calendar] : p.calendars) {
    nlohmann::json windows = nlohmann::json::array();
    for (const auto& w : calendar.weekly) windows.push_back(w.ToString());
    for (const auto& d : calendar.dates) windows.push_back(d.ToString());
    calendars[name] = {{"time_zone", calendar.time_zone}, {"windows", windows}};
  }
  return {
      {"name", p.name},         {"description", p.description},
      {"sha256", p.sha256_hex}, {"roles", p.roles},
      {"chain", chain},         {"waivers", {{"roles", p.waiver_roles}, {"never", p.never_waived}}},
      {"calendars", calendars}, {"rules", rules}};
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
  Warnings(*parsed, args.file);
  return AppendSignedBy(args.dir, args.admin_key, context,
                        {{"kind", "policy.activated"},
                         {"name", p.name},
                         {"content", p.source},
                         {"sha256", p.sha256_hex}});
}

struct TestArgs {
  std::string policy;
  std::string tests;
  bool coverage = false;
};

// The policy is linted first (a bad one fails like lint), then every test runs: one JSON line per
// mismatch and a summary line on stdout, a FILE:LINE line per mismatch on stderr.
int RunTest(const TestArgs& args) {
  auto parsed = ReadPolicy(args.policy);
  if (!parsed.ok()) return Fail(parsed.status());
  if (!parsed->policy) return ReportPolicyErrors(parsed->errors);
  auto text = ReadInput(args.tests, kMaxTestsFileBytes);
  if (!text.ok()) return Fail(text.status());
  policy::PolicyTestRun run =
      args.coverage ? policy::RunPolicyTestsWithCoverage(*parsed->policy, *text, args.tests)
                    : policy::RunPolicyTests(*parsed->policy, *text, args.tests);
  if (!run.report) return ReportPolicyErrors(run.errors);
  for (const auto& m : run.report->mismatches) {
    std::cerr << TerminalText(m.ToString()) << "\n";
    PrintJson(m.ToJson());
  }
  nlohmann::json summary = run.report->Summary();
  if (args.coverage) {
    // One line per branch not seen both ways, at the policy file's line: what a test should add.
    for (const auto& b : run.report->coverage) {
      if (b.covered()) continue;
      std::string missing = b.first_seen ? "" : b.first;
      if (!b.second_seen) missing += (missing.empty() ? "" : " or ") + b.second;
      std::cerr << TerminalText(args.policy + ":" + std::to_string(b.where.line) + ": " + b.rule +
                                " " + b.branch + ": never seen to " + missing)
                << "\n";
    }
    summary["coverage"] = run.report->CoverageJson();
  }
  PrintJson(summary);
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
  test->add_flag("--coverage", test_args->coverage,
                 "Also report, per rule, requirement, if and any_of arm, whether the tests saw "
                 "it both ways (allow and deny); each branch not seen both ways on stderr");
  test->callback([&action, test_args] { action = [test_args] { return RunTest(*test_args); }; });
}

}  // namespace shiplog::cli
