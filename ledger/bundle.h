// Audit bundle: one deployment's records in one file, with everything an auditor needs to check
// them offline with nothing but the ledger's public key.
//
// Format "shiplog-bundle-v1", one JSON object:
//   {"format": "shiplog-bundle-v1",
//    "origin": "<the log's name>", "ledger_key": "<64 hex>", "deployment": "<D>",
//    "checkpoint": "<the latest checkpoint's signed note>",
//    "consistency": {"from": M, "proof": ["<hex>", ...]},        only when exported with since
//    "records": [record, ...]}                                    ascending seq, no repeats
//   record = {"seq": N,
//             "included_as": ["deployment" | "key" | "policy", ...],   why it is in the bundle
//             "entry": "<base64: the exact Merkle leaf input, canonicalize(Entry)>",
//             "inclusion_proof": ["<hex>", ...],          its audit path to the checkpoint
//             readable fields, for a person; each is recomputed from the entry on verification:
//             "ledger_time": "<RFC 3339>", "manual_clock": true (drill ledgers only),
//             "event": {the event as JSON}, "signer": {"name", "roles", "public_key"} as the
//             signing key stood just before the record, "decision": {...} (when one was made),
//             "policy_seq": P (deployment records: the policy record in force)}
//
// The records are every record of the deployment (its policy.denied records too) and every key
// record (ledger.genesis, key.enrolled, key.revoked) and policy record (ledger.genesis,
// policy.activated) before the deployment's last record: enough to re-check who could sign what
// and under which policy. The bundle proves each record is in the log; it cannot prove that no
// record was left out, which only the whole log (`shiplog verify`) shows.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/checkpoint.h"
#include "ledger/ledger.h"
#include "ledger/status.h"

namespace shiplog {

constexpr std::string_view kBundleFormat = "shiplog-bundle-v1";

// What VerifyBundle() found: every check passed, or the first one that did not.
struct BundleReport {
  bool ok = true;
  std::string deployment;
  std::string origin;
  uint64_t records = 0;                   // records checked
  uint64_t deployment_records = 0;        // of those: the deployment's own
  uint64_t key_records = 0;               // genesis, key.enrolled, key.revoked
  uint64_t policy_records = 0;            // genesis, policy.activated
  uint64_t checkpoint_size = 0;           // the tree size of the bundle's checkpoint
  std::optional<uint64_t> since_size;     // the kept checkpoint the log was proved to extend
  bool manual_clock = false;              // a drill ledger: its times are not real
  std::optional<uint64_t> first_bad_seq;  // the record that failed a check
  std::string bad_checkpoint;             // "bundle" or "since" when a checkpoint failed
  std::string problem;                    // a sentence naming what failed: "record 12: ..."

  nlohmann::json ToJson() const;
};

// The records of `deployment` in the tree of `size` (every one when nullopt), with the records of
// `context_kinds` (key records, policy records) before its last one, by seq: what a reader of the
// deployment needs to know who signed and under which policy. kNotFound when it has no records.
Result<std::map<uint64_t, StoredRecord>> DeploymentRecords(
    const Ledger& ledger, const std::string& deployment, std::optional<uint64_t> size,
    const std::vector<std::string>& context_kinds);

// Builds the bundle of `deployment` against the ledger's latest checkpoint. With `since` (a
// checkpoint of this log an auditor kept), adds the proof that the log only grew from it.
// kNotFound when the deployment has no records; kInvalidArgument when `since` is not of this
// log or is newer than it.
Result<nlohmann::json> ExportBundle(const Ledger& ledger, const std::string& deployment,
                                    const std::optional<Checkpoint>& since);

// Checks a bundle with nothing but `ledger_public_key` (32 raw bytes): the checkpoint's signature
// and origin; for every record, that its entry decodes to its seq, is proved in the checkpoint,
// is signed, and had the authority it needs as of its seq (the bundle's key records folded in
// order); that ledger time never goes backwards; that record 0 is this ledger's genesis; that the
// records are the deployment's or key and policy records; and that every readable field says what
// the verified entry says. With `since`: its signature, and the bundle's consistency proof from
// its size to the bundle's checkpoint.
// A failed check is a report with ok = false; an error Result means the input is not a bundle
// (kInvalidArgument: not an object, another format, a field of the wrong type).
Result<BundleReport> VerifyBundle(const nlohmann::json& bundle, std::string_view ledger_public_key,
                                  const std::optional<Checkpoint>& since);

}  // namespace shiplog
