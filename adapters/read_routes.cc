// The read-only endpoints: checkpoints and proofs, deployments (state, replay, timeline) and
// queries. They read the ledger's store directly (RocksDB reads run alongside appends) and never
// touch the policy gate's state.
#include "adapters/routes.h"

namespace shiplog::adapters {

bool RouteRead(ServerState& state, const Request& request, const Respond& respond) {
  if (request.path == "/v1/checkpoint" && request.method == "GET") {
    respond(JsonResponse(200, state.ledger.LatestCheckpoint().ToJson()));
    return true;
  }
  return false;
}

}  // namespace shiplog::adapters
