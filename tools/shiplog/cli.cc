#include "tools/shiplog/cli.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "ledger/atomic_file.h"
#include "ledger/key_file.h"
#include "ledger/terminal_text.h"

namespace shiplog::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInternal:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kNoSpace:
    case StatusCode::kUnavailable: return kExitInternal;
    case StatusCode::kDenied: return kExitDenied;
    case StatusCode::kCorrupt: return kExitVerifyFailed;
    default: return kExitBadInput;
  }
}

int Fail(const Status& status) {
  // Messages quote what they reject (a field name, a kind, a file name): attacker text.
  std::cerr << "shiplog: " << TerminalText(status.message()) << " ["
            << StatusCodeName(status.code()) << "]\n";
  return ExitCodeFor(status);
}

void PrintJson(const nlohmann::json& json) {
  std::cout << json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

Result<std::string> ReadInput(const std::string& path, size_t max_bytes) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::NotFound("cannot read " + path);
    std::ostringstream buf;
    buf << in.rdbuf();
    text = buf.str();
  }
  if (text.size() > max_bytes) {
    return Status::InvalidArgument((path == "-" ? std::string("stdin") : path) + " is " +
                                   std::to_string(text.size()) + " bytes; the limit is " +
                                   std::to_string(max_bytes));
  }
  return text;
}

Result<nlohmann::json> ReadJsonInput(const std::string& path, size_t max_bytes) {
  SHIPLOG_ASSIGN_OR_RETURN(std::string text, ReadInput(path, max_bytes));
  auto json = ParseJsonText(text, max_bytes);
  if (!json.ok()) return json.status().Prefixed(path == "-" ? "stdin" : path);
  return json;
}

Result<Checkpoint> ReadCheckpointFile(const std::string& path, std::string_view ledger_key,
                                      const std::string& option) {
  constexpr size_t kMaxCheckpointFileBytes = 64 * 1024;
  auto text = ReadInput(path, kMaxCheckpointFileBytes);
  if (!text.ok()) return text.status().Prefixed(option);
  auto checkpoint = Checkpoint::FromText(*text, ledger_key);
  if (!checkpoint.ok()) return checkpoint.status().Prefixed(option + " " + path);
  return checkpoint;
}

Status WriteWhole(const std::string& path, const std::string& text) {
  return WriteFileAtomically(path, text, 0644);
}

void AddDataOption(CLI::App* command, std::string& dir) {
  command->add_option("--data", dir, "The ledger's directory")->required();
}

}  // namespace shiplog::cli

namespace shiplog::cli {

Result<std::unique_ptr<Ledger>> OpenLedger(const std::string& dir, Context& context,
                                           bool enforce) {
  auto ledger = Ledger::Open(dir, &context.clock, enforce ? &context.gate : nullptr);
  if (ledger.ok() && (*ledger)->indexes_rebuilt()) {
    std::cerr << "shiplog: warning: the ledger's indexes were missing or of an older format; "
                 "rebuilt them from the records\n";
  }
  return ledger;
}

int AppendSignedBy(const std::string& dir, const std::string& key_file, Context& context,
                   nlohmann::json event) {
  auto ledger = OpenLedger(dir, context, /*enforce=*/true);
  if (!ledger.ok()) return Fail(ledger.status());
  return AppendSignedBy(**ledger, key_file, std::move(event));
}

int AppendSignedBy(Ledger& ledger, const std::string& key_file, nlohmann::json event) {
  auto key = ReadKeyFile(key_file);
  if (!key.ok()) return Fail(key.status());
  auto name = ledger.EnrolledName(*key);
  if (!name.ok()) return Fail(name.status());
  event["actor"] = *name;
  auto signed_event = SignedEvent::SignJson(event, *key);
  if (!signed_event.ok()) return Fail(signed_event.status());
  return AppendAndPrint(ledger, *signed_event);
}

int AppendAndPrint(Ledger& ledger, const SignedEvent& signed_event) {
  return PrintAppended(ledger.Append(signed_event));
}

int PrintAppended(const Result<Receipt>& receipt) {
  if (!receipt.ok()) return Fail(receipt.status());
  nlohmann::json out = receipt->ToJson();
  if (!receipt->denied) {
    PrintJson(out);
    return kExitOk;
  }
  // The decision first, for the agent that must not act; the denial's receipt for its records.
  nlohmann::json decision = out["decision"];
  out.erase("decision");
  decision["denial_receipt"] = out;
  PrintJson(decision);
  std::string rules;
  for (const auto& reason : decision["reasons"]) {
    rules += (rules.empty() ? "" : ", ") + reason.value("rule", "") + " " + reason.value("name", "");
  }
  std::cerr << "shiplog: denied by policy: " << TerminalText(rules) << " (recorded as seq "
            << receipt->seq << ")\n";
  return kExitDenied;
}

}  // namespace shiplog::cli

namespace shiplog::cli {

Result<policy::ParseResult> ReadPolicy(const std::string& path) {
  if (path.empty()) return policy::ParsePolicy(policy::DefaultPolicyText(), "default.yaml");
  // Read with the bound of any input; ParsePolicy applies the tighter one a policy must meet.
  SHIPLOG_ASSIGN_OR_RETURN(std::string text, ReadInput(path, kMaxEventBytes));
  return policy::ParsePolicy(text, path);
}

int ReportPolicyErrors(const std::vector<policy::PolicyError>& found) {
  nlohmann::json errors = nlohmann::json::array();
  for (const auto& e : found) {
    std::cerr << TerminalText(e.ToString()) << "\n";
    errors.push_back({{"file", e.where.file},
                      {"line", e.where.line},
                      {"column", e.where.column},
                      {"message", e.message}});
  }
  PrintJson({{"ok", false}, {"errors", errors}});
  return kExitBadInput;
}

}  // namespace shiplog::cli
