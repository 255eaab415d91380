// shiplog sign | append | query
#include "ledger/dsse.h"
#include "ledger/intoto.h"
#include "ledger/key_file.h"
#include "ledger/query_bounds.h"
#include "tools/shiplog/cli.h"
#include "tools/shiplog/read_client.h"
#include "adapters/http.h"

namespace shiplog::cli {
namespace {

struct SignArgs {
  std::string key;
  std::string input = "-";
  bool dsse = false;
};

// A DSSE envelope for `json`: an in-toto statement as it is (application/vnd.in-toto+json), or
// a shiplog event, given an id when it has none (application/vnd.shiplog.event+json).
Result<dsse::Envelope> SignDsse(nlohmann::json json, const SigningKey& key) {
  if (json.is_object() && json.contains("_type")) {
    SHIPLOG_RETURN_IF_ERROR(intoto::ParseStatement(json.dump()).status());
    return dsse::Sign(std::string(dsse::kInTotoType), json.dump(), key);
  }
  if (json.is_object() && !json.contains("id")) json["id"] = RandomId();
  SHIPLOG_RETURN_IF_ERROR(Event::FromJson(json).status());
  return dsse::Sign(std::string(dsse::kShiplogEventType), json.dump(), key);
}

int RunSign(const SignArgs& args) {
  auto key = ReadKeyFile(args.key);
  if (!key.ok()) return Fail(key.status());
  auto json = ReadJsonInput(args.input, kMaxEventBytes * 2);
  if (!json.ok()) return Fail(json.status());
  if (args.dsse) {
    auto envelope = SignDsse(std::move(json).value(), *key);
    if (!envelope.ok()) return Fail(envelope.status());
    PrintJson(envelope->ToJson());
    return kExitOk;
  }
  auto signed_event = SignedEvent::SignJson(*json, *key);
  if (!signed_event.ok()) return Fail(signed_event.status());
  PrintJson(signed_event->ToJson());
  return kExitOk;
}

struct AppendArgs {
  std::string dir;
  std::string key;
  std::string deployment;
  std::string input = "-";
};

// A DSSE envelope's text is read by the ledger as it is (Ledger::CheckEnvelope) and kept.
int AppendEnvelope(Ledger& ledger, std::string text, const std::string& deployment) {
  auto checked = ledger.CheckEnvelope(std::move(text), deployment);
  if (!checked.ok()) return Fail(checked.status());
  std::vector<CheckedEvent> one;
  one.push_back(std::move(checked).value());
  return PrintAppended(ledger.AppendBatch(std::move(one)).front());
}

// A signed envelope is appended as it is; a bare event is signed with --key first, taking the
// key's enrolled name as actor when the event names none.
int RunAppend(const AppendArgs& args, Context& context) {
  auto text = ReadInput(args.input, kMaxEventBytes * 2);
  if (!text.ok()) return Fail(text.status());
  auto json = ParseJsonText(*text, kMaxEventBytes * 2);
  if (!json.ok()) return Fail(json.status().Prefixed(args.input == "-" ? "stdin" : args.input));
  const bool dsse_envelope = dsse::LooksLikeEnvelope(*json);
  if (!args.deployment.empty() && !dsse_envelope) {
    return Fail(Status::InvalidArgument(
        "--deployment names the deployment of an in-toto statement in a DSSE envelope; a shiplog "
        "event names its own"));
  }
  if (dsse_envelope && !args.key.empty()) {
    return Fail(Status::InvalidArgument("the input is already signed; drop --key"));
  }
  auto ledger = OpenLedger(args.dir, context, /*enforce=*/true);
  if (!ledger.ok()) return Fail(ledger.status());
  if (dsse_envelope) return AppendEnvelope(**ledger, std::move(text).value(), args.deployment);
  if (SignedEvent::LooksLikeEnvelope(*json)) {
    if (!args.key.empty()) {
      return Fail(Status::InvalidArgument("the input is already signed; drop --key"));
    }
    auto signed_event = SignedEvent::FromJson(*json);
    if (!signed_event.ok()) return Fail(signed_event.status());
    return AppendAndPrint(**ledger, *signed_event);
  }
  if (args.key.empty()) {
    return Fail(Status::InvalidArgument("the event is not signed: give --key FILE to sign it"));
  }
  auto key = ReadKeyFile(args.key);
  if (!key.ok()) return Fail(key.status());
  if (json->is_object() && !json->contains("actor")) {
    auto name = (*ledger)->EnrolledName(*key);
    if (!name.ok()) return Fail(name.status());
    (*json)["actor"] = *name;
  }
  auto signed_event = SignedEvent::SignJson(*json, *key);
  if (!signed_event.ok()) return Fail(signed_event.status());
  return AppendAndPrint(**ledger, *signed_event);
}

struct QueryArgs {
  ReadSource source;
  QueryFilter filter;
  std::string since;
  std::string until;
  bool count = false;
};

// The filter with the time bounds parsed; errors name the option.
Result<QueryFilter> FilterOf(const QueryArgs& args) {
  QueryFilter filter = args.filter;
  SHIPLOG_RETURN_IF_ERROR(
      SetTimeBounds(filter, {"--since", args.since}, {"--until", args.until}));
  return filter;
}

// GET /v1/query's target for the same filter (the server parses it as `query` does).
std::string QueryTarget(const QueryArgs& args) {
  const QueryFilter& f = args.filter;
  std::string target = "/v1/query";
  auto add = [&target](const char* name, const std::string& value) {
    if (value.empty()) return;
    target += (target.find('?') == std::string::npos ? "?" : "&") + std::string(name) + "=" +
              adapters::PercentEncode(value);
  };
  add("deployment", f.deployment);
  add("app", f.app);
  add("environment", f.environment);
  add("actor", f.actor);
  add("role", f.role);
  add("kind", f.kind);
  add("step", f.step);
  add("image", f.image);
  add("source", f.source);
  add("since", args.since);
  add("until", args.until);
  add("decision", f.decision);
  add("waivers", f.waivers ? "true" : "");
  add("from_seq", f.from_seq != 0 ? std::to_string(f.from_seq) : "");
  add("to_seq", f.to_seq ? std::to_string(*f.to_seq) : "");
  add("count", args.count ? "true" : "");
  return target;
}

int RunQuery(const QueryArgs& args, Context& context) {
  Status source = CheckReadSource(args.source);
  if (!source.ok()) return Fail(source);
  auto filter = FilterOf(args);
  if (!filter.ok()) return Fail(filter.status());
  if (!args.source.server.url.empty()) return RunServerRead(args.source, QueryTarget(args));
  auto ledger = OpenLedger(args.source.dir, context, /*enforce=*/false);
  if (!ledger.ok()) return Fail(ledger.status());
  if (args.count) {
    uint64_t count = 0;
    Status status = (*ledger)->QuerySeqs(*filter, [&](uint64_t) {
      ++count;
      return true;
    });
    if (!status.ok()) return Fail(status);
    PrintJson({{"count", count}});
    return kExitOk;
  }
  Status status = (*ledger)->Query(*filter, [](const StoredRecord& record) {
    PrintJson(record.ToJson());
    return true;
  });
  return status.ok() ? kExitOk : Fail(status);
}

struct CheckArgs {
  std::string dir;
  std::string deployment;
  std::string actor;
  std::string step;
  std::string image;
  std::optional<unsigned> weight;
  bool complete = false;
  std::string input;
};

// The intent to check, from the options or from an event file.
Result<Event> CheckedIntent(const CheckArgs& args) {
  nlohmann::json event;
  if (!args.input.empty()) {
    SHIPLOG_ASSIGN_OR_RETURN(event, ReadJsonInput(args.input, kMaxEventBytes * 2));
  } else if (!args.step.empty()) {
    event = {{"kind", "step.started"}, {"step", args.step}};
    if (!args.image.empty()) event["image"] = args.image;
  } else if (args.weight) {
    event = {{"kind", "traffic.shifted"}, {"weight", *args.weight}};
  } else if (args.complete) {
    event = {{"kind", "deploy.completed"}};
  } else {
    return Status::InvalidArgument("say what to check: --step, --weight, --complete or EVENT.json");
  }
  if (!event.is_object()) return Status::InvalidArgument("an event must be a JSON object");
  if (!args.deployment.empty()) event["deployment"] = args.deployment;
  if (!args.actor.empty()) event["actor"] = args.actor;
  if (!event.contains("id")) event["id"] = "check";
  return Event::FromJson(event);
}

int RunCheck(const CheckArgs& args, Context& context) {
  auto intent = CheckedIntent(args);
  if (!intent.ok()) return Fail(intent.status());
  auto ledger = OpenLedger(args.dir, context, /*enforce=*/true);
  if (!ledger.ok()) return Fail(ledger.status());
  auto roles = (*ledger)->keys().LiveRolesOf(intent->actor());
  if (!roles.ok()) return Fail(roles.status());
  auto decision = context.gate.Check(*intent, *roles, (*ledger)->Now());
  if (!decision.ok()) return Fail(decision.status());
  PrintJson(decision->ToJson());
  return decision->allowed ? kExitOk : kExitDenied;
}

}  // namespace

void AddEventCommands(CLI::App& app, Context& context, Action& action) {
  auto sign_args = std::make_shared<SignArgs>();
  auto* sign = app.add_subcommand(
      "sign", "Sign an event (JSON) for submission; prints the signed envelope");
  sign->add_option("--key", sign_args->key, "The agent's key file")->required();
  sign->add_option("event", sign_args->input,
                   "The event's JSON file (or, with --dsse, an in-toto statement), or - for stdin")
      ->capture_default_str();
  sign->add_flag("--dsse", sign_args->dsse,
                 "Print a DSSE envelope instead (payloadType application/vnd.shiplog.event+json, "
                 "or application/vnd.in-toto+json for a statement), keyid the key's SHA-256");
  sign->callback([&action, sign_args] { action = [sign_args] { return RunSign(*sign_args); }; });

  auto append_args = std::make_shared<AppendArgs>();
  auto* append = app.add_subcommand(
      "append", "Append an event: a signed envelope, or a bare event signed here with --key; "
                "prints the receipt");
  AddDataOption(append, append_args->dir);
  append->add_option("--key", append_args->key, "Sign a bare event with this key file");
  append->add_option("--deployment", append_args->deployment,
                     "For an in-toto statement in a DSSE envelope: the deployment it is evidence "
                     "for (its requested image must be one of the statement's subjects)");
  append->add_option("event", append_args->input, "The event's JSON file, or - for stdin")
      ->capture_default_str();
  append->callback([&action, &context, append_args] {
    action = [&context, append_args] { return RunAppend(*append_args, context); };
  });

  auto query_args = std::make_shared<QueryArgs>();
  auto* query = app.add_subcommand(
      "query", "Print the records matching every option given as JSON lines, in order; served "
               "by indexes, so it costs what its answer costs");
  QueryFilter& f = query_args->filter;
  AddReadSourceOptions(query, query_args->source);
  query->add_option("--deployment", f.deployment, "Only this deployment");
  query->add_option("--app", f.app,
                    "Only this app: its deploy.requested and every later record of its deployments");
  query->add_option("--environment", f.environment,
                    "Only this environment: its deployments' records, incidents and maintenance "
                    "windows");
  query->add_option("--actor", f.actor,
                    "Only this agent's events, and the denials of its attempts");
  query->add_option("--role", f.role,
                    "Only events signed by a key holding this role when appended (a denial: the "
                    "attempt's signer)");
  query->add_option("--kind", f.kind, "Only this kind (e.g. step.started)");
  query->add_option("--step", f.step,
                    "Only this step's step.started, step.reported and gate.result, and denied starts");
  query->add_option("--image", f.image,
                    "Only events naming this image digest (repo@sha256:... or sha256:...); a "
                    "step.started with no image applies its request's");
  query->add_option("--source", f.source,
                    "Only the deploy.requested records whose source is OWNER/REPO@COMMIT");
  query->add_option("--since", query_args->since, "Ledger time at or after TIME (RFC 3339)");
  query->add_option("--until", query_args->until, "Ledger time before TIME (RFC 3339)");
  query->add_option("--decision", f.decision,
                    "allowed: intents the policy allowed; denied: the policy.denied records")
      ->check(CLI::IsMember({"allowed", "denied"}));
  query->add_flag("--waivers", f.waivers,
                  "Only waiver.granted records and the intents a waiver allowed");
  query->add_option("--from-seq", f.from_seq, "First sequence number");
  query->add_option("--to-seq", f.to_seq, "Last sequence number (inclusive)");
  query->add_flag("--count", query_args->count, "Print only {\"count\": N}");
  query->callback([&action, &context, query_args] {
    action = [&context, query_args] { return RunQuery(*query_args, context); };
  });

  auto check_args = std::make_shared<CheckArgs>();
  auto* check = app.add_subcommand(
      "check", "The policy's decision on an intent, as if it were appended now; records nothing. "
               "Exit 0 allowed, 3 denied");
  AddDataOption(check, check_args->dir);
  check->add_option("--deployment", check_args->deployment, "The deployment");
  check->add_option("--actor", check_args->actor, "Who would act (an enrolled name)");
  check->add_option("--step", check_args->step, "Check starting this step");
  check->add_option("--image", check_args->image, "With --step: the image it would apply");
  check->add_option("--weight", check_args->weight, "Check shifting canary traffic to N%");
  check->add_flag("--complete", check_args->complete, "Check completing the deployment");
  check->add_option("event", check_args->input, "Or: any intent as JSON (a file, or - for stdin)");
  check->callback([&action, &context, check_args] {
    action = [&context, check_args] { return RunCheck(*check_args, context); };
  });

}

}  // namespace shiplog::cli
