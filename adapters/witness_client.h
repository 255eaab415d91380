// A client of the C2SP tlog-witness protocol (https://c2sp.org/tlog-witness): asks a witness to
// cosign the ledger's latest checkpoint and stores the cosignatures it returns
// (ledger/cosignature.h).
//
//   POST <witness>/add-checkpoint
//   old <size the witness last cosigned>\n <base64 consistency proof hash>\n ... \n <checkpoint>
//
// The client does not know the witness's last size: it asks with "old 0", and a witness that
// holds a tree answers 409 with that size (text/x.tlog.size), so the second request carries the
// consistency proof from it. A witness that holds a larger tree than the ledger's, or a different
// one, is a refusal naming it.
#pragma once

#include <vector>

#include "adapters/http_client.h"
#include "ledger/cosignature.h"
#include "ledger/ledger.h"

namespace shiplog::adapters {

// The add-checkpoint request body for `note` with the proof from `old_size`.
std::string AddCheckpointBody(uint64_t old_size, const std::vector<merkle::Hash>& proof,
                              const std::string& note);

// Has the witness at `witness` cosign `ledger`'s latest checkpoint, then stores its
// cosignatures by keys in `trusted` (lines by other keys are ignored, as the spec asks).
// kInvalidArgument (bad answers, untrusted or bad cosignatures) or kInternal (unreachable) naming
// the fault; nothing stored then. Each request starts from `base` (its TLS files: the CA to trust,
// a client certificate).
Result<std::vector<Cosignature>> RequestCosignatures(const Ledger& ledger, const ServerUrl& witness,
                                                     const std::vector<WitnessKey>& trusted,
                                                     const HttpCall& base = HttpCall());

}  // namespace shiplog::adapters
