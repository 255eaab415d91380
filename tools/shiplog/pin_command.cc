// shiplog pin analysisrun: keeps an Argo Rollouts AnalysisRun's verdict as a signed gate.result
// before Argo deletes the run (adapters/argo/analysis_run.h says what is recorded).
//
// Three ways to sign it:
//   --data DIR --key K                   a local ledger, signed with K under its enrolled name
//   --server URL --key K                 signed here with K under the name the server has
//                                        enrolled it with, submitted to the server
//   --server URL                         the run is sent to POST /v1/argo/analysisruns and the
//                                        server signs it with its integration key
// A run naming no step gets the step its namespace is bound to by the policy's environments:
// in the first and last ways (which read the policy), and none in the second.
// The event id is the run's uid, so pinning one run again prints the first receipt (with
// "duplicate": true) and records nothing new.
#include "adapters/argo/analysis_run.h"
#include "ledger/event.h"
#include "ledger/key_file.h"
#include "tools/shiplog/cli.h"
#include "tools/shiplog/server_client.h"

namespace shiplog::cli {
namespace {

// A run with many metrics and kept measurements is larger than one event, but not by much.
constexpr size_t kMaxAnalysisRunBytes = 4 * kMaxEventBytes;

struct PinArgs {
  std::string dir;
  ServerTarget server;
  std::string key;
  std::string input = "-";
};

Status CheckWhere(const PinArgs& args) {
  if (args.dir.empty() == args.server.url.empty()) {
    return Status::InvalidArgument("give --data DIR (a local ledger) or --server URL, not both");
  }
  if (!args.dir.empty() && args.key.empty()) {
    return Status::InvalidArgument("--data needs --key FILE to sign with");
  }
  return Status::Ok();
}

// Signed here with the user's key under its enrolled name, submitted to the server.
int SubmitSigned(const PinArgs& args, const ServerEndpoint& url,
                 const adapters::argo::AnalysisRun& run) {
  auto key = ReadKeyFile(args.key);
  if (!key.ok()) return Fail(key.status());
  auto name = EnrolledNameAt(url, *key);
  if (!name.ok()) return Fail(name.status());
  nlohmann::json event = adapters::argo::GateResultEvent(run);
  event["actor"] = *name;
  auto signed_event = SignedEvent::SignJson(event, *key);
  if (!signed_event.ok()) return Fail(signed_event.status());
  auto answer = PostSignedEvent(url, signed_event->ToJson(), adapters::HttpCall().timeout);
  return answer.ok() ? PrintServerAnswer(*answer) : Fail(answer.status());
}

// The run as read, for the server to sign with its integration key.
int SendToServer(const ServerEndpoint& url, std::string text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  const bool json = first != std::string::npos && text[first] == '{';
  auto answer =
      PostToServer(url, "/v1/argo/analysisruns", json ? "application/json" : "application/yaml",
                   std::move(text), adapters::HttpCall().timeout);
  return answer.ok() ? PrintServerAnswer(*answer) : Fail(answer.status());
}

// Signed with the user's key into a local ledger; a run naming no step gets its namespace's.
int AppendLocally(const PinArgs& args, Context& context, adapters::argo::AnalysisRun run) {
  auto ledger = OpenLedger(args.dir, context, /*enforce=*/true);
  if (!ledger.ok()) return Fail(ledger.status());
  if (auto policy = context.gate.policy_in_force()) {
    adapters::argo::StepFromNamespace(*policy, run);
  }
  return AppendSignedBy(**ledger, args.key, adapters::argo::GateResultEvent(run));
}

int RunPin(const PinArgs& args, Context& context) {
  Status where = CheckWhere(args);
  if (!where.ok()) return Fail(where);
  auto text = ReadInput(args.input, kMaxAnalysisRunBytes);
  if (!text.ok()) return Fail(text.status());
  // Read here in every mode, so a bad document is refused before anything is sent or opened.
  auto run = adapters::argo::ReadAnalysisRun(*text, kMaxAnalysisRunBytes);
  if (!run.ok()) return Fail(run.status().Prefixed(args.input == "-" ? "stdin" : args.input));
  if (!args.dir.empty()) return AppendLocally(args, context, *run);
  auto url = ResolveServer(args.server);
  if (!url.ok()) return Fail(url.status());
  if (!args.key.empty()) return SubmitSigned(args, *url, *run);
  return SendToServer(*url, std::move(text).value());
}

}  // namespace

void AddPinCommands(CLI::App& app, Context& context, Action& action) {
  auto* group = app.add_subcommand(
      "pin", "Keep evidence that its tool will delete, as signed records in the ledger");
  group->require_subcommand(1);

  auto args = std::make_shared<PinArgs>();
  auto* run = group->add_subcommand(
      "analysisrun",
      "Record a finished Argo Rollouts AnalysisRun (YAML or JSON, as `kubectl get analysisrun "
      "NAME -o yaml` prints it) as one gate.result (gate analysis) for the deployment it names "
      "(arg shiplog-deployment, or label/annotation shiplog.dev/deployment); pinning a run again "
      "records nothing new. Prints the receipt");
  run->add_option("--data", args->dir, "A local ledger's directory");
  AddServerOptions(run, &args->server, "--server",
                   "Or: a server's URL, e.g. https://shiplog.internal:7478");
  run->add_option("--key", args->key,
                  "Sign with this key file (an enrolled key that may emit "
                  "gate.result)");
  run->add_option("analysisrun", args->input, "The AnalysisRun's file, or - for stdin")
      ->capture_default_str();
  run->callback(
      [&action, &context, args] { action = [&context, args] { return RunPin(*args, context); }; });
}

}  // namespace shiplog::cli
