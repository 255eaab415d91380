// GET /v1/dora: the DORA metrics of a period (replay/dora.h), the JSON `shiplog dora` prints.
//
//   ?since=TIME (required, RFC 3339) &until=TIME (default: just after the ledger's time now)
//   &window=DURATION ("24h" by default) &app=A &environment=E
//
//   200  the report {"format": "shiplog-dora-v1", ...}
//   400  a parameter missing, malformed or unknown (the message names it), or a bad period
//   403  a reader limited to some deployments: the metrics aggregate over every deployment
//        (adapters/read_access.cc refuses such readers every route it does not name)
//   405  not GET;  503  too many reads waiting
//
// A signed read (the records group). It reads through the indexes on the reader pool, never on
// the sequencer.
#pragma once

#include "adapters/routes.h"

namespace shiplog::adapters {

// Answers `request` when its path is /v1/dora; false for any other path.
bool RouteDora(ServerState& state, const Request& request, const Respond& respond);

}  // namespace shiplog::adapters
