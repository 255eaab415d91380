// shiplog dora: the DORA metrics of a period, from the signed records (replay/dora.h).
#include <memory>
#include <string>
#include <utility>

#include "adapters/http.h"
#include "replay/dora.h"
#include "tools/shiplog/cli.h"
#include "tools/shiplog/read_client.h"

namespace shiplog::cli {
namespace {

struct DoraArgs {
  ReadSource source;
  std::string app;
  std::string environment;
  std::string since;
  std::string until;
  std::string window;
};

// GET /v1/dora's target for the same options; the server parses and checks them as --data does.
std::string DoraTarget(const DoraArgs& args) {
  std::string target = "/v1/dora?since=" + adapters::PercentEncode(args.since);
  for (auto [name, value] :
       {std::make_pair("until", &args.until), std::make_pair("window", &args.window),
        std::make_pair("app", &args.app), std::make_pair("environment", &args.environment)}) {
    if (!value->empty()) target += "&" + std::string(name) + "=" + adapters::PercentEncode(*value);
  }
  return target;
}

Result<nlohmann::json> DoraFromLedger(const DoraArgs& args, Context& context) {
  SHIPLOG_ASSIGN_OR_RETURN(auto ledger, OpenLedger(args.source.dir, context, /*enforce=*/false));
  replay::DoraArguments arguments;
  arguments.since = {"--since", args.since};
  arguments.until = {"--until", args.until};
  arguments.window = {"--window", args.window};
  arguments.app = args.app;
  arguments.environment = args.environment;
  SHIPLOG_ASSIGN_OR_RETURN(replay::DoraQuery query, replay::ParseDoraArguments(arguments, *ledger));
  SHIPLOG_ASSIGN_OR_RETURN(replay::DoraReport report, replay::ComputeDora(*ledger, query));
  return report.ToJson();
}

int RunDora(const DoraArgs& args, Context& context) {
  Status source = CheckReadSource(args.source);
  if (!source.ok()) return Fail(source);
  if (args.source.dir.empty()) return RunServerRead(args.source, DoraTarget(args));
  auto report = DoraFromLedger(args, context);
  if (!report.ok()) return Fail(report.status());
  PrintJson(*report);
  return kExitOk;
}

}  // namespace

void AddDoraCommand(CLI::App& app, Context& context, Action& action) {
  auto args = std::make_shared<DoraArgs>();
  auto* dora = app.add_subcommand(
      "dora",
      "DORA metrics of a period from the signed records: deployment frequency, lead time, "
      "change failure rate and time to restore, per app and environment and per day");
  dora->footer(
      "A deployment counts when its deploy.completed is in [--since, --until); its lead time runs "
      "from its deploy.requested. It failed when a rollback.started of its app and environment, "
      "or an incident.opened in its environment, follows within --window and before the next "
      "completed deployment there. Time to restore runs from each incident.opened in the period "
      "to its incident.resolved (incidents have no app: with --app alone, those of the "
      "environments the app deployed to). Denied intents never count. One JSON object "
      "(format shiplog-dora-v1, README \"DORA metrics\").");
  AddReadSourceOptions(dora, args->source);
  dora->add_option("--app", args->app, "Only this app's deployments");
  dora->add_option("--environment", args->environment,
                   "Only this environment's deployments and incidents");
  dora->add_option("--since", args->since, "The period's start, inclusive (RFC 3339)")->required();
  dora->add_option("--until", args->until,
                   "The period's end, exclusive (RFC 3339; default: just after the ledger's time "
                   "now, so every record counts)");
  dora->add_option("--window", args->window,
                   "How long after a completion a rollback or incident fails it (\"24h\", "
                   "\"30m\", \"2d\"; default 24h)");
  dora->callback(
      [&action, &context, args] { action = [&context, args] { return RunDora(*args, context); }; });
}

}  // namespace shiplog::cli
