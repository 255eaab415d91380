// The Argo Rollouts endpoints (adapters/openapi.yaml documents both):
//
//   GET  /v1/argo/canary?deployment=D[&weight=W]
//        A `web` metric provider for an AnalysisTemplate: the policy's decision for a
//        traffic.shifted of deployment D to W% (default: the canary rule's next phase after the
//        weight last recorded), as {"allowed", "deployment", "weight", "current_weight",
//        "reasons", "evidence", "policy_sha256"}. Records nothing. Argo counts a non-2xx answer
//        as an Error, not a Failure, so every decision, a denial or an unknown deployment
//        included, is a 200; only bad parameters are a 400.
//   POST /v1/argo/analysisruns
//        Pins a finished AnalysisRun (JSON or YAML; adapters/argo/analysis_run.h) as one
//        gate.result signed by the server's integration key: the receipt (200; a run pinned
//        before answers its first receipt with "duplicate": true), 400 naming what is wrong
//        with the run, 503 when the server has no integration key. A run that names no step
//        gets the one its namespace's environment is bound to (the policy's environments:).
#pragma once

#include "adapters/routes.h"

namespace shiplog::adapters::argo {

// Answers `request` when it is one of the endpoints above; false when it is not.
bool RouteArgo(ServerState& state, const Request& request, const Respond& respond);

}  // namespace shiplog::adapters::argo
