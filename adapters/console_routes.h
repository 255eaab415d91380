// The reviewers' console (adapters/console/README.md): GET /ui/ and its files, compiled into the
// binary (adapters/console_assets.h). The files are code, never data: the page reads the ledger
// through the signed JSON API like any other client and checks what it is shown itself, so they
// are public (read_access.cc), and sent with a Content-Security-Policy that allows no inline
// script, no other origin and no framing, so an event field that slipped into markup could not
// run.
#pragma once

#include "adapters/routes.h"

namespace shiplog::adapters {

// Answers /ui, /ui/ and /ui/<file> (/ui/schema.json: adapters/console_schema.h); false for any
// other path.
bool RouteConsole(ServerState& state, const Request& request, const Respond& respond);

}  // namespace shiplog::adapters
