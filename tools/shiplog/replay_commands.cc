// shiplog replay: a deployment's state and decisions at a past moment, or every recorded intent
// re-decided under another policy (replay/replay.h).
#include <iostream>

#include "replay/progress.h"
#include "replay/replay.h"
#include "ledger/terminal_text.h"
#include "adapters/http.h"
#include "tools/shiplog/cli.h"
#include "tools/shiplog/read_client.h"

namespace shiplog::cli {
namespace {

struct ReplayArgs {
  ReadSource source;
  std::string deployment;
  std::string at;
  std::string policy_file;
  std::string format = "text";
  bool all = false;
  std::string from;
  std::string to;
  uint64_t snapshot_every = 100000;
  bool whole_ledger = false;
  bool no_snapshots = false;
};

Result<Micros> ParseOptionTime(const std::string& option, const std::string& text) {
  auto time = ParseTime(text);
  if (!time.ok()) return time.status().Prefixed(option + " '" + text + "'");
  return time;
}

// Which of the two questions the arguments ask, or why they ask neither.
Status CheckModes(const ReplayArgs& a) {
  if (a.format != "text" && a.format != "json") {
    return Status::InvalidArgument("--format is text or json, not '" + a.format + "'");
  }
  if (a.all) {
    if (!a.deployment.empty() || !a.at.empty()) {
      return Status::InvalidArgument("--all replays every deployment: drop --deployment and --at");
    }
    if (a.policy_file.empty() || a.from.empty() || a.to.empty()) {
      return Status::InvalidArgument("--all needs --policy FILE, --from TIME and --to TIME");
    }
    return Status::Ok();
  }
  if (a.deployment.empty()) return Status::InvalidArgument("name a --deployment, or use --all");
  if (!a.from.empty() || !a.to.empty()) {
    return Status::InvalidArgument("--from and --to go with --all");
  }
  if (a.policy_file.empty() && a.at.empty()) {
    return Status::InvalidArgument("--at SEQ|TIME is needed without --policy");
  }
  return Status::Ok();
}

replay::ReplayOptions OptionsFor(const ReplayArgs& args, replay::ProgressLine& progress) {
  replay::ReplayOptions options;
  options.data_dir = args.source.dir;
  options.snapshot_every = args.snapshot_every;
  if (args.no_snapshots) options.data_dir.clear();  // no directory: none read, none written
  options.scope =
      args.whole_ledger ? replay::FoldScope::kWholeLedger : replay::FoldScope::kDeployment;
  options.warn = [](const std::string& message) {
    std::cerr << "shiplog: warning: " << TerminalText(message) << "\n";
  };
  options.progress = progress.Callback();
  return options;
}

int PrintOut(const std::string& format, const nlohmann::json& json, const std::string& text) {
  if (format == "json") {
    PrintJson(json);
  } else {
    // The text quotes event fields (reasons, waiver reasons, step and incident names).
    std::cout << TerminalText(text, Newlines::kKeep);
  }
  return kExitOk;
}

int RunPointInTime(const ReplayArgs& args, const Ledger& ledger) {
  auto moment = replay::ParseMoment(args.at, "--at");
  if (!moment.ok()) return Fail(moment.status());
  replay::ProgressLine progress("replay", moment->seq ? *moment->seq + 1 : ledger.size());
  auto replayed = replay::ReplayAt(ledger, args.deployment, *moment, OptionsFor(args, progress));
  progress.Finish();
  if (!replayed.ok()) return Fail(replayed.status());
  return PrintOut(args.format, replayed->ToJson(), replayed->ToText());
}

int RunCounterfactual(const ReplayArgs& args, const Ledger& ledger, const policy::Policy& other) {
  replay::CounterfactualScope scope;
  scope.deployment = args.deployment;
  if (!args.at.empty()) {
    auto moment = replay::ParseMoment(args.at, "--at");
    if (!moment.ok()) return Fail(moment.status());
    scope.through_seq = moment->seq;
    scope.to = moment->time;
  }
  if (args.all) {
    auto from = ParseOptionTime("--from", args.from);
    if (!from.ok()) return Fail(from.status());
    auto to = ParseOptionTime("--to", args.to);
    if (!to.ok()) return Fail(to.status());
    scope.from = *from;
    scope.to = *to;
  }
  replay::ProgressLine progress("replay", ledger.size());
  auto report = replay::ReplayUnderPolicy(ledger, other, scope, OptionsFor(args, progress));
  progress.Finish();
  if (!report.ok()) return Fail(report.status());
  return PrintOut(args.format, report->ToJson(), report->ToText());
}

// A point-in-time replay by the server (GET /v1/deployments/{id}?at=): the same JSON as --data.
// Counterfactual replay reads a policy file here and folds the whole history: --data only.
int RunServerReplay(const ReplayArgs& args) {
  if (!args.policy_file.empty()) {
    return Fail(Status::InvalidArgument(
        "--policy re-decides history on this machine: use --data with it, not --server"));
  }
  if (args.format != "json") {
    return Fail(Status::InvalidArgument(
        "with --server, a replay comes as --format json (the text form needs --data)"));
  }
  auto answer = ReadServerJson(args.source, "/v1/deployments/" +
                                                adapters::PercentEncode(args.deployment) +
                                                "?at=" + adapters::PercentEncode(args.at));
  if (!answer.ok()) return Fail(answer.status());
  PrintJson(*answer);
  return kExitOk;
}

int RunReplay(const ReplayArgs& args, Context& context) {
  Status modes = CheckModes(args);
  if (!modes.ok()) return Fail(modes);
  Status source = CheckReadSource(args.source);
  if (!source.ok()) return Fail(source);
  if (args.source.dir.empty()) return RunServerReplay(args);
  std::optional<policy::Policy> other;
  if (!args.policy_file.empty()) {
    auto parsed = ReadPolicy(args.policy_file);
    if (!parsed.ok()) return Fail(parsed.status());
    if (!parsed->policy) return ReportPolicyErrors(parsed->errors);
    other = std::move(*parsed->policy);
  }
  auto ledger = OpenLedger(args.source.dir, context, /*enforce=*/false);
  if (!ledger.ok()) return Fail(ledger.status());
  if (other) return RunCounterfactual(args, **ledger, *other);
  return RunPointInTime(args, **ledger);
}

}  // namespace

void AddReplayCommands(CLI::App& app, Context& context, Action& action) {
  auto args = std::make_shared<ReplayArgs>();
  auto* replay = app.add_subcommand(
      "replay",
      "What the ledger knew and decided at a past moment, from its records alone.\n"
      "  --deployment D --at SEQ|TIME: the deployment's and its environment's state and the\n"
      "    decision for each possible next intent, under the policy in force then. --at SEQ is\n"
      "    just after record SEQ was appended (decisions at its ledger time); --at TIME folds\n"
      "    every record with ledger time <= TIME (decisions at TIME).\n"
      "  --policy FILE: every recorded intent of D (or, with --all --from --to, of every\n"
      "    deployment in that time range) re-decided under FILE instead of the policies the log\n"
      "    activated; lists each decision that would change. History is kept as it happened:\n"
      "    nothing is appended, and a denied intent is never folded as a fact.\n"
      "A question about one deployment folds only the records that bear on it: its own, those of\n"
      "the deployments of its app, keys, policies, incidents and maintenance windows.");
  AddReadSourceOptions(replay, args->source);
  replay->add_option("--deployment", args->deployment, "The deployment");
  replay->add_option("--at", args->at, "A sequence number or an RFC 3339 ledger time");
  replay->add_option("--policy", args->policy_file, "Re-decide under this policy file");
  replay->add_flag("--all", args->all, "Every deployment's intents in --from..--to");
  replay->add_option("--from", args->from, "With --all: the first ledger time (RFC 3339)");
  replay->add_option("--to", args->to, "With --all: the last ledger time (RFC 3339)");
  replay->add_option("--format", args->format, "text (for people, the default) or json");
  replay->add_option("--snapshot-every", args->snapshot_every,
                     "Write a snapshot each time a replay folds past this many records "
                     "(DIR/snapshots; 0: never)");
  replay->add_flag("--whole-ledger", args->whole_ledger,
                   "Fold every record (from the nearest snapshot) for a one-deployment question: "
                   "the same answer, slower; for cross-checking");
  replay->add_flag("--no-snapshots", args->no_snapshots,
                   "Read no snapshot and write none: fold from the genesis (to cross-check the "
                   "snapshots, or to time a whole fold)");
  replay->callback([&action, &context, args] {
    action = [&context, args] { return RunReplay(*args, context); };
  });
}

}  // namespace shiplog::cli
