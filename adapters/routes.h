// The server's endpoints (adapters/openapi.yaml documents each):
//
//   POST /v1/events                      submit a signed event (`shiplog sign`'s output, or a
//                                        Cap'n Proto SignedEvent): the receipt (200), or the
//                                        decision with reasons (403, the denial is recorded)
//   POST /v1/check                       the decision for an intent, recording nothing
//   GET  /v1/checkpoint                  the latest signed checkpoint, with its cosignatures
//   GET  /checkpoint, /tile/..., POST /v1/checkpoint/cosignatures   tlog-tiles and witnesses
//                                        (adapters/tlog_routes.h)
//   GET  /v1/proofs/inclusion?seq=&size= and /v1/proofs/consistency?from=&to=
//   GET  /v1/deployments/{id}            state and next decisions now; ?at=SEQ|TIME for replay
//   GET  /v1/deployments/{id}/timeline   JSON, or ?format=html for the page
//   GET  /v1/query?deployment=&app=...   the records, streamed as JSON lines; &count=true
//   GET  /v1/deployments                 the deployments, newest first, with where each stands
//   GET  /v1/records?seqs=               records' leaf inputs with inclusion proofs (the console)
//   GET  /v1/stream                      the live feed, Server-Sent Events (adapters/event_feed.h)
//   GET  /v1/dora?since=&until=&window=  DORA metrics from the signed records (adapters/dora_routes.h)
//   GET  /ui/                            the reviewers' console (adapters/console_routes.h)
//   GET  /v1/records/{seq}/attestation   the deploy-authorization attestation of an allowed
//                                        step start (adapters/attestation_routes.h)
//   POST /v1/github/deployment-protection-rule   GitHub's deployment_protection_rule webhook
//                                        (adapters/github/protection_rule.h)
//   POST /v1/admission[/ENVIRONMENT]     a Kubernetes ValidatingAdmissionWebhook's AdmissionReview
//                                        (adapters/kubernetes/admission.h)
//   GET  /v1/argo/canary, POST /v1/argo/analysisruns   Argo Rollouts (adapters/argo/argo_routes.h)
//   GET  /healthz, /readyz, /metrics
//
// Errors are {"error": {"code", "message"}} with 400 (bad input), 401 (bad signature, unknown
// key), 403 (not allowed, or denied), 404, 405, 409 (an event id reused), 413 (too large), 503
// (not ready, shutting down; too many reads waiting, with Retry-After), 500 (a bug, logged).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>

#include "adapters/http.h"
#include "adapters/server.h"

namespace shiplog::adapters {

using Respond = std::function<void(Response)>;

// Answers `request` through `respond`, exactly once, now or later (from another thread). The
// server's `respond` ignores every call after the first, so a last-resort 500 after a partial
// failure can never answer twice.
void Route(ServerState& state, const Request& request, Respond respond);

// Runs `answer` (which calls `respond`); if it throws, logs what threw and responds 500
// (InternalErrorResponse). For code that runs off the I/O thread (pool, sequencer, reader pool),
// where nothing else would catch: one bad request must not take the server down.
void AnswerGuarded(const Respond& respond, const char* what, const std::function<void()>& answer);

// The read-only endpoints under /v1 other than events and check (adapters/read_routes.cc);
// false when `request` is not one of them.
bool RouteRead(ServerState& state, const Request& request, const Respond& respond);

// Runs `read` (with `id`, the part of the path it names) on the reader pool and responds with
// what it answers (500 if it throws), or 503 with Retry-After at once when the pool is full:
// how a read that may touch many records stays off the I/O threads and the sequencer.
void OnReaderPool(ServerState& state, const Request& request, const Respond& respond,
                  Response (*read)(ServerState&, const Request&, const std::string&),
                  std::string id);

// OK while the server takes appends; else why not: kFailedPrecondition while it is still
// verifying the ledger or shutting down, or the ledger's own reason (Ledger::Writable: kNoSpace
// while its disk is full, kInternal after a failed write). Every way in to the pipeline asks it.
Status AppendsOpen(const ServerState& state);
// The answer for a server whose appends are not open (AppendsOpen): 507 no_space while the disk
// is full, else 503 unavailable; the message names the cause.
Response NotReady(const ServerState& state);

// Refuses (kInvalidArgument naming it) a query parameter not in `known`, so a typo never
// silently widens an answer.
Status OnlyParams(const Request& request, std::initializer_list<const char*> known);
// The query parameter `name` as a non-negative integer; nullopt when not given.
Result<std::optional<uint64_t>> UintParam(const Request& request, const std::string& name);

}  // namespace shiplog::adapters
