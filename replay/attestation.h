// Deploy-authorization attestations: "this image was authorized for this step by the ledger's
// policy", as an in-toto Statement v1 in a DSSE envelope signed by the ledger key, so the
// admission controllers clusters already run (Sigstore policy-controller, Kyverno verifyImages,
// `cosign verify-attestation`) can check it with nothing but the ledger's public key (PEM).
//
// One is issued for a record that is an allowed intent applying an image: a step.started the
// policy allowed, whose image (its own, else its deployment's request's, as the policy reads it)
// is pinned by a sha256 digest. The statement (README "Attestations" documents each field):
//
//   {"_type": "https://in-toto.io/Statement/v1",
//    "subject": [{"name": "<repository, the image before '@'>", "digest": {"sha256": "<hex>"}}],
//    "predicateType": kDeployAuthorizationPredicate,
//    "predicate": {"deployment", "app", "environment", "version", "image", "step", "actor",
//                  "seq", "ledger_time", "manual_clock", ["drill": "<warning>"],
//                  "policy": {"name", "sha256", "seq"}, "decision": <the stored decision>,
//                  "receipt": <Receipt::ToJson(), proved into the latest checkpoint>,
//                  "ledger": {"origin", "public_key", "keyid", "note_verifier_key"}}}
//
// Everything in it is read from the ledger's records, so the same seq gives the same statement
// until the ledger grows (the receipt proves the record into the latest checkpoint).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "ledger/crypto.h"
#include "ledger/dsse.h"
#include "ledger/ledger.h"
#include "ledger/status.h"

namespace shiplog::replay {

// The predicate type of a deploy authorization.
inline constexpr std::string_view kDeployAuthorizationPredicate =
    "https://shiplog.dev/attestation/deploy-authorization/v1";

// The statement for record `seq`. kNotFound when there is no such record; kInvalidArgument
// naming why when it is not an allowed intent applying a pinned image (a denied intent, a fact,
// an intent no policy judged, an image without a sha256 digest).
Result<nlohmann::json> DeployAuthorization(const Ledger& ledger, uint64_t seq);

// The ledger's own signing key, from the ledger's directory (DIR/ledger.key, 0600): what
// attestations are signed with.
Result<SigningKey> ReadLedgerKey(const std::string& dir);

// The statement for `seq` in a DSSE envelope (payloadType application/vnd.in-toto+json) signed
// by `ledger_key`; kInvalidArgument when that is not the ledger's key.
Result<dsse::Envelope> IssueAttestation(const Ledger& ledger, uint64_t seq,
                                        const SigningKey& ledger_key);

}  // namespace shiplog::replay
