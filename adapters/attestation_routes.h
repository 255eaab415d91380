// GET /v1/records/{seq}/attestation: the deploy-authorization attestation of record `seq`
// (replay/attestation.h), the DSSE envelope `shiplog attest` prints, signed by the ledger key.
//
//   200  the envelope {"payload", "payloadType", "signatures": [{"keyid", "sig"}]}
//   400  the record is not an allowed step start applying a pinned image (the message says why),
//        or the seq is not a number
//   404  no such record;  405  not GET;  503  no ledger key loaded, or too many reads waiting
//
// The answer is read from the records on the reader pool, never on the sequencer.
#pragma once

#include "adapters/routes.h"

namespace shiplog::adapters {

// Answers `request` when its path is /v1/records/{seq}/attestation; false for any other path.
bool RouteAttestation(ServerState& state, const Request& request, const Respond& respond);

}  // namespace shiplog::adapters
