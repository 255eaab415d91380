// in-toto Statement v1 (in-toto/attestation spec/v1/statement.md) and the predicates shiplog
// reads: what a signed statement from CI says, as the facts the policy folds.
//
//   SLSA provenance v1            https://slsa.dev/provenance/v1
//       -> gate.result {gate: build, outcome: pass}: the subject was built, by
//       runDetails.builder.id
//   test result v0.1              https://in-toto.io/attestation/test-result/v0.1
//       -> gate.result {gate: tests, outcome: pass (PASSED, WARNED) | fail (FAILED),
//                       metrics: {passed, warned, failed}}: counts of the listed tests
//   vulnerability scan            https://in-toto.io/attestation/vulns/v0.1,
//                                 https://cosign.sigstore.dev/attestation/vuln/v1
//       -> gate.result {gate: scan, outcome: pass, metrics: {critical, high, medium, low,
//                       negligible, unknown, total}}: the scan ran; the counts by severity are
//                       for the policy to judge (the default pack's R9 allows no critical one)
//   anything else
//       -> attestation.stored {predicate_type, subjects, statement_sha256}: kept, listable,
//          never satisfying a rule
//
// Each gate.result names one subject's digest as its image ("sha256:<hex>"), so a rule with
// same_image reads it for the deployment that applies that digest. Every subject must have a
// sha256 digest (64 lowercase hex); fields the spec does not define are ignored, as its parsing
// rules ask.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace shiplog::intoto {

inline constexpr std::string_view kSlsaProvenanceV1 = "https://slsa.dev/provenance/v1";
inline constexpr std::string_view kTestResultV01 =
    "https://in-toto.io/attestation/test-result/v0.1";
inline constexpr std::string_view kVulnsV01 = "https://in-toto.io/attestation/vulns/v0.1";
inline constexpr std::string_view kCosignVulnV1 = "https://cosign.sigstore.dev/attestation/vuln/v1";

struct Subject {
  std::string name;    // may be empty
  std::string sha256;  // 64 lowercase hex digits

  // "NAME@sha256:HEX", or "sha256:HEX" for an unnamed subject.
  std::string ToString() const;
};

struct Statement {
  std::vector<Subject> subjects;  // at least one
  std::string predicate_type;
  nlohmann::json predicate;  // an object (empty when the statement has none)
};

// Parses a statement's JSON text (ParseJsonText's limits), naming the first fault.
Result<Statement> ParseStatement(std::string_view payload);

// A fact a statement states, as the fields of a shiplog event (Event::FromJson's JSON form,
// without id, actor and deployment): one per subject for a predicate shiplog reads (each naming
// its subject's digest as "image"), or one attestation.stored for any other predicate.
// kInvalidArgument naming the fault for a known predicate whose required fields are missing.
Result<std::vector<nlohmann::json>> Facts(const Statement& statement,
                                          std::string_view statement_bytes);

}  // namespace shiplog::intoto
