// shiplog timeline
#include <iostream>

#include "adapters/http.h"
#include "replay/timeline.h"
#include "tools/shiplog/cli.h"
#include "tools/shiplog/read_client.h"

namespace shiplog::cli {
namespace {

struct TimelineArgs {
  ReadSource source;
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

// The server's timeline answer is paged (a bounded reply each); every field but the entries is
// the whole deployment's, so the pages' entries joined give the whole timeline, as --data does.
Result<nlohmann::json> ServerTimeline(const TimelineArgs& args) {
  constexpr size_t kPageLimit = 2000;  // the server's largest page
  const std::string base = "/v1/deployments/" + adapters::PercentEncode(args.deployment) +
                           "/timeline?limit=" + std::to_string(kPageLimit);
  SHIPLOG_ASSIGN_OR_RETURN(nlohmann::json whole, ReadServerJson(args.source, base));
  nlohmann::json page = whole["page"];
  whole.erase("page");
  while (page.is_object() && page.contains("next_from")) {
    const std::string from = page["next_from"].dump();
    SHIPLOG_ASSIGN_OR_RETURN(nlohmann::json next,
                             ReadServerJson(args.source, base + "&from=" + from));
    if (!next["entries"].is_array() || next["entries"].empty()) {
      return Status::Internal("the server's timeline page from " + from + " holds no entries");
    }
    for (nlohmann::json& entry : next["entries"]) whole["entries"].push_back(std::move(entry));
    page = next["page"];
  }
  return whole;
}

// The timeline as --format asks, and the summary --out prints.
struct Rendered {
  std::string text;
  nlohmann::json summary;
};

Result<Rendered> RenderFromLedger(const TimelineArgs& args, Context& context) {
  SHIPLOG_ASSIGN_OR_RETURN(auto ledger, OpenLedger(args.source.dir, context, /*enforce=*/false));
  SHIPLOG_ASSIGN_OR_RETURN(replay::Timeline timeline,
                           replay::BuildTimeline(*ledger, args.deployment));
  return Rendered{Render(timeline, args.format),
                  {{"events", timeline.entries.size()},
                   {"denials", timeline.denials},
                   {"waivers", timeline.waivers},
                   {"bad_signatures", timeline.bad_signatures}}};
}

Result<Rendered> RenderFromServer(const TimelineArgs& args) {
  if (args.format != "json") {
    return Status::InvalidArgument(
        "with --server, the timeline comes as --format json (text and html are drawn from the "
        "ledger itself with --data; the server's page is "
        "/v1/deployments/{id}/timeline?format=html)");
  }
  SHIPLOG_ASSIGN_OR_RETURN(nlohmann::json whole, ServerTimeline(args));
  nlohmann::json summary = {{"events", whole["entries"].size()},
                            {"denials", whole["denials"]},
                            {"waivers", whole["waivers"]},
                            {"bad_signatures", whole["bad_signatures"]}};
  return Rendered{whole.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                  std::move(summary)};
}

int RunTimeline(const TimelineArgs& args, Context& context) {
  Status source = CheckReadSource(args.source);
  if (!source.ok()) return Fail(source);
  auto rendered =
      args.source.dir.empty() ? RenderFromServer(args) : RenderFromLedger(args, context);
  if (!rendered.ok()) return Fail(rendered.status());
  if (args.out.empty()) {
    std::cout << rendered->text;
    return kExitOk;
  }
  Status written = WriteWhole(args.out, rendered->text);
  if (!written.ok()) return Fail(written);
  nlohmann::json summary = {
      {"out", args.out}, {"format", args.format}, {"deployment", args.deployment}};
  summary.update(rendered->summary);
  PrintJson(summary);
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
  AddReadSourceOptions(timeline, args->source);
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
