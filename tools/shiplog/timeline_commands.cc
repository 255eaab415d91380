// shiplog timeline
#include <iostream>

#include "replay/timeline.h"
#include "tools/shiplog/cli.h"

namespace shiplog::cli {
namespace {

struct TimelineArgs {
  std::string dir;
  std::string deployment;
  std::string format = "text";
  std::string out;
};

std::string Render(const replay::Timeline& timeline, const std::string& format) {
  if (format == "json") {
    return replay::TimelineJson(timeline).dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace) +
           "\n";
  }
  if (format == "html") return replay::TimelineHtml(timeline);
  return replay::TimelineText(timeline);
}

int RunTimeline(const TimelineArgs& args, Context& context) {
  auto ledger = OpenLedger(args.dir, context, /*enforce=*/false);
  if (!ledger.ok()) return Fail(ledger.status());
  auto timeline = replay::BuildTimeline(**ledger, args.deployment);
  if (!timeline.ok()) return Fail(timeline.status());
  const std::string text = Render(*timeline, args.format);
  if (args.out.empty()) {
    std::cout << text;
    return kExitOk;
  }
  Status written = WriteWhole(args.out, text);
  if (!written.ok()) return Fail(written);
  PrintJson({{"out", args.out},
             {"format", args.format},
             {"deployment", args.deployment},
             {"events", timeline->entries.size()},
             {"denials", timeline->denials},
             {"waivers", timeline->waivers},
             {"bad_signatures", timeline->bad_signatures}});
  return kExitOk;
}

}  // namespace

void AddTimelineCommands(CLI::App& app, Context& context, Action& action) {
  auto args = std::make_shared<TimelineArgs>();
  auto* timeline = app.add_subcommand(
      "timeline", "A deployment's events as a post-mortem: who did what, decisions, waivers, times");
  timeline->footer(
      "One entry per record of the deployment in ledger time: who signed it (name and roles as "
      "they stood then), what it did, the decision for each intent (the rules that applied, or "
      "every reason it was denied), every waiver with its reason and holder, whether its "
      "signatures check out, and the time since the previous event; then how long each step "
      "stood READY before the next started (staging's soak), how long each canary weight held, "
      "and the total. --format json is one object for tools; --format html is one "
      "self-contained page (no external assets) that opens from a file.");
  AddDataOption(timeline, args->dir);
  timeline->add_option("--deployment", args->deployment, "The deployment")->required();
  timeline->add_option("--format", args->format, "text (default), json or html")
      ->check(CLI::IsMember({"text", "json", "html"}));
  timeline->add_option("--out", args->out,
                       "Write to this file (whole, through FILE.tmp) instead of stdout; prints a "
                       "summary");
  timeline->callback([&action, &context, args] {
    action = [&context, args] { return RunTimeline(*args, context); };
  });
}

}  // namespace shiplog::cli
