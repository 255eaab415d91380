// Secondary indexes: which index entries a stored record has, in one place.
//
// The ledger writes these entries with the record at append, rewrites them all from the records
// when the stored index format is missing or older (Ledger::Open), and Ledger::Verify checks the
// stored entries against them. Key grammar (Store index keyspace); names never contain NUL
// (event.cc validates them), so NUL ends a name:
//   "i/" actor NUL id            -> EncodeSeq(seq)   idempotency: one record per (actor, id)
//   "d/" deployment NUL seq8     -> ""   the records of a deployment
//   "a/" actor NUL seq8          -> ""   an actor's records; a policy.denied also under the
//                                        actor of the denied attempt
//   "k/" kind NUL seq8           -> ""   a kind's records
//   "p/" app NUL seq8            -> ""   } a deploy.requested's own; every other record of a
//   "e/" environment NUL seq8    -> ""   } deployment takes its request's; incident.* and
//                                          maintenance.window their own environment
//   "r/" role NUL seq8           -> ""   each role of the signing key as it stood at that seq
//                                        (for a policy.denied: the denied attempt's signer)
//   "s/" step NUL seq8           -> ""   step.started, step.reported, gate.result with a step
//   "m/" digest NUL seq8         -> ""   the image digest ("sha256:..."); a step.started with
//                                        no image applies its request's
//   "o/" outcome NUL seq8        -> ""   "allowed": an intent whose decision allowed it;
//                                        "denied": a policy.denied record; "waived": a
//                                        waiver.granted, or an intent allowed by a waiver
//   "g/" repository@commit NUL seq8 -> "" a deploy.requested's source (what GitHub's
//                                        protection rule looks a deployment up by)
// A policy.denied is indexed under the step, image, app and environment of the attempt it holds.
// The deployment's request is its first deploy.requested, accepted or denied; records of a
// deployment before it have no app or environment.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/key_registry.h"
#include "ledger/ledger.h"
#include "ledger/status.h"
#include "ledger/store.h"

namespace shiplog {

// The version of the key grammar above, kept in meta "index_version". An older or missing one
// makes Ledger::Open rebuild every entry from the records.
constexpr uint32_t kIndexVersion = 3;
inline constexpr char kIndexVersionKey[] = "index_version";

// The indexed facets a query can name; each has its own key prefix.
enum class IndexField {
  kDeployment, kActor, kKind, kApp, kEnvironment, kRole, kStep, kImage, kOutcome, kSource
};

// Every field above: the ones Verify scans for entries no record produces.
const std::vector<IndexField>& QueryIndexFields();

// "d/" deployment NUL: the prefix of every entry for one value of a field.
std::string IndexPrefix(IndexField field, std::string_view value);
// "i/" actor NUL id.
std::string EventIdKey(std::string_view actor, std::string_view id);
// A person's words for an index key: "the app 'checkout' index entry of record 12".
std::string DescribeIndexKey(std::string_view key);
// The sequence number a query index key points at. REQUIRES: key.size() >= 8.
uint64_t IndexKeySeq(std::string_view key);

// The source index's value: "owner/repo@commit", lower case ("" when either is empty).
std::string SourceKey(std::string_view repository, std::string_view commit);

// The digest of an image reference: what follows its last '@' ("sha256:..."), or all of it.
std::string_view ImageDigest(std::string_view image);

// What a deployment's request says, for the records that come after it.
struct DeploymentRequest {
  std::string app;
  std::string environment;
  std::string image;
};

// The request `record` is, when it is a deploy.requested or a policy.denied holding one.
std::optional<DeploymentRequest> RequestOf(const StoredRecord& record);

// What the ledger knew when the record was appended, beyond the record itself.
struct IndexContext {
  std::vector<std::string> signer_roles;
  std::optional<DeploymentRequest> request;  // its deployment's request, when one came before
};

// The roles to index `record` under, from `registry` as it stood before the record.
std::vector<std::string> SignerRoles(const StoredRecord& record, const KeyRegistry& registry);

// Every index entry (key, value) of `record`, the event-id entry first; keys are distinct.
std::vector<std::pair<std::string, std::string>> IndexEntries(const StoredRecord& record,
                                                              const IndexContext& context);

// Each deployment's request. Fed every record in sequence order (Note), it answers from memory.
// Given a record reader, it also answers for deployments it has not seen, by reading the
// deployment's records through the "d/" index; those answers are cached (a bounded cache).
class DeploymentRequests {
 public:
  using ReadRecord = std::function<Result<StoredRecord>(uint64_t seq)>;

  DeploymentRequests() = default;  // fold mode: everything comes through Note()
  DeploymentRequests(Store* store, ReadRecord read) : store_(store), read_(std::move(read)) {}

  // `record` was appended after every record noted or looked up so far.
  void Note(const StoredRecord& record);
  // The request of `deployment` among the records so far.
  Result<std::optional<DeploymentRequest>> Find(std::string_view deployment);
  // Drops the cache when it has grown past its bound. Only when every record noted is in the
  // store: a lookup cache is the only place a record not yet committed is known.
  void Trim();

 private:
  static constexpr size_t kMaxCached = 16384;  // deployments; the cache is dropped when full
  Store* store_ = nullptr;
  ReadRecord read_;
  std::map<std::string, std::optional<DeploymentRequest>, std::less<>> known_;
};

// The index entries of records given in sequence order from the genesis, each with the context
// folded from the records before it (the key registry, each deployment's request): what a
// rebuild writes and what Verify expects.
class IndexFold {
 public:
  std::vector<std::pair<std::string, std::string>> Next(const StoredRecord& record);

 private:
  KeyRegistry registry_;
  DeploymentRequests requests_;
};

}  // namespace shiplog
