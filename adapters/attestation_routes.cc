#include "adapters/attestation_routes.h"

#include <string>

#include "adapters/api_paths.h"
#include "replay/attestation.h"

namespace shiplog::adapters {
namespace {

Response Attestation(ServerState& state, const Request& request, const std::string& seq_text) {
  Status params = OnlyParams(request, {});
  if (!params.ok()) return ErrorResponse(params);
  const std::optional<uint64_t> seq = ParseSeq(seq_text);
  if (!seq) {
    return ErrorResponse(400, "invalid_argument",
                         "the record's seq is a non-negative integer, not '" + seq_text + "'");
  }
  if (!state.options.ledger_key) {
    return ErrorResponse(503, "unavailable", "this server has no ledger key to sign with");
  }
  auto envelope = replay::IssueAttestation(state.ledger, *seq, *state.options.ledger_key);
  if (!envelope.ok()) return ErrorResponse(envelope.status());
  Response r;
  r.body = DumpJson(envelope->ToJson());
  return r;
}

}  // namespace

bool RouteAttestation(ServerState& state, const Request& request, const Respond& respond) {
  std::optional<std::string> seq = AttestationSeqText(request.path);
  if (!seq) return false;
  if (request.method != "GET") {
    respond(ErrorResponse(405, "method_not_allowed",
                          request.path + " takes GET, not " + request.method));
    return true;
  }
  OnReaderPool(state, request, respond, &Attestation, std::move(*seq));
  return true;
}

}  // namespace shiplog::adapters
