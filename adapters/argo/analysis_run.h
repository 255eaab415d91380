// Evidence pinning for Argo Rollouts: an AnalysisRun (as `kubectl get analysisrun -o yaml` or
// `-o json` prints it) read into the one gate.result that shiplog keeps of it.
//
// Argo deletes old AnalysisRuns (argo-rollouts#1214), so the canary rule (R15) cannot rely on
// them being there at review time. Pinning copies a finished run's verdict and measured values
// into a signed gate.result:
//   id        "analysisrun:<metadata.uid>": the same run pinned twice is one record (the ledger
//             keeps (actor, id) unique and answers a repeat with the first receipt)
//   gate      "analysis"
//   outcome   pass when status.phase is Successful; fail for Failed, Error and Inconclusive. A
//             run still Pending or Running is refused: it has no verdict yet.
//   metrics   for each status.metricResults[] entry, its latest measurement's value when that
//             parses as a number (a Prometheus vector of one, "[0.05]", counts), under the
//             metric's name with '-' turned into '_' (so a metric named error_rate_delta_pct or
//             error-rate-delta-pct feeds the rule's error_rate_delta_pct)
//   deployment, image, step: see AnalysisRun below (and StepFromNamespace)
// The event is built from the run alone (no random id, no clock), so signing it twice with one
// key gives the same bytes.
//
// Everything in the document is outside text: the reader takes JSON through ParseJsonText and
// YAML through yaml-cpp with a size bound, a nesting bound and a bound on the nodes an alias may
// expand to, and names what is wrong when the document is not a finished AnalysisRun.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "ledger/status.h"
#include "policy/policy.h"

namespace shiplog::adapters::argo {

// The AnalysisRun arg, label or annotation that names the shiplog deployment, image and step.
inline constexpr char kDeploymentArg[] = "shiplog-deployment";
inline constexpr char kDeploymentLabel[] = "shiplog.dev/deployment";
inline constexpr char kImageArg[] = "shiplog-image";
inline constexpr char kImageLabel[] = "shiplog.dev/image";
inline constexpr char kStepArg[] = "shiplog-step";
inline constexpr char kStepLabel[] = "shiplog.dev/step";

// What shiplog reads from one finished AnalysisRun.
struct AnalysisRun {
  std::string uid;         // metadata.uid
  std::string name;        // metadata.name, for messages
  std::string namespace_;  // metadata.namespace ("" when the document has none)
  std::string phase;       // status.phase: Successful, Failed, Error or Inconclusive
  // From spec.args (kDeploymentArg...) or a label or annotation (kDeploymentLabel...); when
  // more than one names it they must agree. The deployment is required; image and step may be
  // empty (a caller may know the step from the namespace).
  std::string deployment;
  std::string image;
  std::string step;
  std::map<std::string, double> metrics;  // name ('-' as '_') -> latest numeric value

  bool passed() const { return phase == "Successful"; }
};

// Reads one AnalysisRun from `text`: JSON when its first non-blank character is '{', YAML
// otherwise. kInvalidArgument naming what is wrong: malformed text, not an AnalysisRun
// (apiVersion argoproj.io/..., kind AnalysisRun), no metadata.uid, no deployment named, a run
// not finished, a field of the wrong type.
Result<AnalysisRun> ReadAnalysisRun(std::string_view text, size_t max_bytes);

// When `run` names no step: the step of the environment its namespace is bound to in `policy`
// (environments:), if any. A failed analysis in staging then counts against staging (R10).
void StepFromNamespace(const policy::Policy& policy, AnalysisRun& run);

// The gate.result event for `run` (see the top of this file), without "actor": the signer adds
// its own name.
nlohmann::json GateResultEvent(const AnalysisRun& run);

// The event id a run is pinned under: "analysisrun:<uid>".
std::string PinnedEventId(const AnalysisRun& run);

}  // namespace shiplog::adapters::argo
