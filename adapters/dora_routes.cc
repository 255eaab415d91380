#include "adapters/dora_routes.h"

#include <string>

#include "replay/dora.h"

namespace shiplog::adapters {
namespace {

constexpr char kDoraPath[] = "/v1/dora";

Response DoraAnswer(ServerState& state, const Request& request, const std::string&) {
  Status params = OnlyParams(request, {"since", "until", "window", "app", "environment"});
  if (!params.ok()) return ErrorResponse(params);
  auto param = [&request](const char* name) { return request.Param(name).value_or(""); };
  replay::DoraArguments arguments;
  arguments.since = {"parameter since", param("since")};
  arguments.until = {"parameter until", param("until")};
  arguments.window = {"parameter window", param("window")};
  arguments.app = param("app");
  arguments.environment = param("environment");
  auto query = replay::ParseDoraArguments(arguments, state.ledger);
  if (!query.ok()) return ErrorResponse(query.status());
  auto report = replay::ComputeDora(state.ledger, *query);
  if (!report.ok()) return ErrorResponse(report.status());
  Response r;
  r.body = DumpJson(report->ToJson());
  return r;
}

}  // namespace

bool RouteDora(ServerState& state, const Request& request, const Respond& respond) {
  if (request.path != kDoraPath) return false;
  if (request.method != "GET") {
    respond(ErrorResponse(405, "method_not_allowed",
                          request.path + " takes GET, not " + request.method));
    return true;
  }
  OnReaderPool(state, request, respond, &DoraAnswer, "");
  return true;
}

}  // namespace shiplog::adapters
