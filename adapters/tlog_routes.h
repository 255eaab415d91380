// The transparency face of the server: the C2SP tlog-tiles read API and witness cosignatures.
//
//   GET  /checkpoint                  the latest checkpoint note (text/plain) with its stored
//                                     witness cosignature lines after the ledger's signature
//   GET  /tile/<L>/<N>[.p/<W>]        hash tiles          (ledger/tiles.h)
//   GET  /tile/entries/<N>[.p/<W>]    entry bundles
//   POST /v1/checkpoint/cosignatures  a checkpoint note with witness cosignature lines appended
//                                     (ledger/cosignature.h); stores them
//
// Reads never take the sequencer's lock: the latest checkpoint is the one stored for the store's
// record count (a commit writes records and checkpoint atomically), tiles are stored nodes and
// records. A tile is at most 256 point reads, so like proofs it answers on the I/O thread.
#pragma once

#include "adapters/http.h"
#include "adapters/routes.h"
#include "adapters/server.h"

namespace shiplog::adapters {

// Answers `request` when it is one of the routes above; false otherwise.
bool RouteTlog(ServerState& state, const Request& request, const Respond& respond);

}  // namespace shiplog::adapters
