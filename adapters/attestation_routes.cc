#include "adapters/attestation_routes.h"

#include <string>

#include "adapters/api_paths.h"
#include "replay/attestation.h"

namespace shiplog::adapters {
namespace {

// The {seq} of /v1/records/{seq}/attestation, as text; nullopt for any other path.
std::optional<std::string> SeqOfPath(const std::string& path) {
  const size_t min = kRecordsPrefix.size() + kAttestationSuffix.size();
  if (path.size() <= min || path.compare(0, kRecordsPrefix.size(), kRecordsPrefix) != 0 ||
      path.compare(path.size() - kAttestationSuffix.size(), std::string::npos,
                   kAttestationSuffix) != 0) {
    return std::nullopt;
  }
  return path.substr(kRecordsPrefix.size(), path.size() - min);
}

Response Attestation(ServerState& state, const Request& request, const std::string& seq_text) {
  Status params = OnlyParams(request, {});
  if (!params.ok()) return ErrorResponse(params);
  if (seq_text.empty() || seq_text.size() > 19 ||
      seq_text.find_first_not_of("0123456789") != std::string::npos) {
    return ErrorResponse(400, "invalid_argument",
                         "the record's seq is a non-negative integer, not '" + seq_text + "'");
  }
  if (!state.options.ledger_key) {
    return ErrorResponse(503, "unavailable", "this server has no ledger key to sign with");
  }
  auto envelope =
      replay::IssueAttestation(state.ledger, std::stoull(seq_text), *state.options.ledger_key);
  if (!envelope.ok()) return ErrorResponse(envelope.status());
  Response r;
  r.body = DumpJson(envelope->ToJson());
  return r;
}

}  // namespace

bool RouteAttestation(ServerState& state, const Request& request, const Respond& respond) {
  std::optional<std::string> seq = SeqOfPath(request.path);
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
