// Ledger: the signed, append-only log of deployment events.
//
// A ledger lives in a directory: db/ (the RocksDB store), ledger.key (its own Ed25519 key, 0600),
// ledger.key.pub (the public key auditors check receipts with) and checkpoint (the latest signed
// checkpoint, kept outside the database: ledger/witness.h). Record 0 is the genesis, signed by the
// ledger key, which enrols the first admin.
//
// An append checks, in this order, and stores nothing unless all pass: the envelope's scheme and
// signature; the event's canonical form and fields; the key is enrolled and not revoked; the
// actor is the key's name; the kind is one the key may emit (admin kinds need the admin role).
// Then the sequencer assigns the next sequence number and ledger time, and the record, its index
// entries and any key-registry change are committed in one atomic, fsynced write before the
// receipt is returned. The same signed event appended twice is stored once: the second append
// returns the first receipt.
//
// Every record is a leaf of the ledger's RFC 6962 Merkle tree (ledger/tree.h stores it), and
// every commit adds a checkpoint signed by the ledger key (ledger/checkpoint.h), after checking
// that the new tree is consistent with the last checkpoint and that time did not go backwards.
// Index keys "c/" size8 keep every checkpoint; receipts carry one and the inclusion proof. A
// checkpoint is never signed at a size already signed, and a ledger in a directory writes each
// commit's checkpoint to its witness file before answering: one whose database is behind the
// witness, or disagrees with it, has lost acknowledged records and does not open (kCorrupt).
//
// A ledger's records may instead live in a PostgreSQL database that several servers share
// (InitOptions::store; DIR/store then names it, and DIR keeps the key and the witness). Each batch
// then takes the database's append lock, folds what the other servers committed since this one
// last looked (CatchUp), and only then decides: every decision is made on the whole log, and
// the sequence stays gap-free whoever appends. A lost connection stops appends as a full disk
// does (kUnavailable) until Resume() reaches the database again and reads the state back.
//
// Thread safety: all methods may be called from any thread; appends are serialized by one mutex
// (the sequencer).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ledger/checkpoint.h"
#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "ledger/gate.h"
#include "ledger/key_registry.h"
#include "ledger/proof.h"
#include "ledger/status.h"
#include "ledger/store.h"
#include "ledger/tree.h"
#include "ledger/witness.h"

namespace shiplog {

class DeploymentRequests;  // ledger/index.h
struct DeploymentRequest;
struct IndexContext;

struct InitOptions {
  std::string admin_name = "admin";
  std::string admin_public_key;  // 32 raw bytes
  bool manual_clock = false;     // a drill ledger: time moves only by AdvanceClock/SetClock
  Micros manual_clock_start = 0; // its first time; when 0, the time of the Clock given to Init
  std::string origin;            // the log's name; "shiplog/<ledger key prefix>" when empty
  std::string policy;            // the policy file in force from the start (kept in the genesis)
  // A PostgreSQL URL (ledger/store.h, OpenPostgresStore): the records go to that database, which
  // must hold no ledger, and DIR/store names it. Empty: a RocksDB store in DIR/db.
  std::string store;
};

// A stored record, decoded and checked (canonical form, leaf hash, signature scheme).
struct StoredRecord {
  uint64_t seq = 0;
  Micros ledger_time = 0;
  bool manual_clock = false;
  SignedEvent signed_event;
  Event event;
  std::string decision;    // the gate's decision as JSON, when it judged the event
  std::string entry;       // canonicalize(Entry): the Merkle leaf input
  std::string leaf_hash;   // SHA-256(0x00 || entry), 32 raw bytes

  // Decodes a leaf input (canonicalize(Entry)) and computes its leaf hash; checks canonical form
  // and the event inside, not the signature.
  static Result<StoredRecord> FromEntry(std::string entry);

  // {"seq", "ledger_time", "leaf_hash", "event": {...}, "public_key", "signature"}
  nlohmann::json ToJson() const;
};

// The ledger's answer to an accepted append, which anyone can check offline with nothing but the
// ledger's public key. It is proved rather than signed on its own: `entry` is the record's leaf
// input and every readable field is read from it, the inclusion proof leads from the entry's leaf
// hash to the root of `checkpoint`, and the checkpoint is signed by the ledger key. So the one
// signature a commit makes covers every receipt of its batch (a signature per receipt cost the
// sequencer 40% of a signature check per event).
struct Receipt {
  uint64_t seq = 0;
  Micros ledger_time = 0;
  std::string leaf_hash;     // 32 raw bytes
  std::string event_id;
  std::string actor;
  bool manual_clock = false;
  std::string ledger_key;    // 32 raw bytes
  std::string payload_hash;  // SHA-256 of the signed event bytes
  std::string decision;      // the policy's decision as JSON, when the event was judged
  bool denied = false;       // a denied intent: seq is its policy.denied record
  std::string checkpoint;    // a checkpoint signed by the ledger key whose tree holds `seq`
  std::vector<merkle::Hash> inclusion_proof;  // the audit path of `seq` to that checkpoint
  std::string entry;         // canonicalize(Entry): the record's leaf input
  bool duplicate = false;    // this append was a repeat; the receipt is the first one's

  // The receipt of `record` (a policy.denied record's is `denied`), proved into `checkpoint`.
  static Receipt Of(const StoredRecord& record, std::string ledger_key, std::string checkpoint,
                    std::vector<merkle::Hash> inclusion_proof);
  nlohmann::json ToJson() const;
  // ToJson() printed compact with invalid UTF-8 replaced, without building the JSON value: what
  // the server answers every append with. The same bytes, but for a decision stored in another
  // form than the gate writes (a tampered record's), which is copied as it is when it is JSON.
  std::string ToJsonText() const;
  // The same as a Cap'n Proto message (schemas/record.capnp Receipt), for agents that send a lot.
  std::string ToCapnpMessage() const;
  // Parses a receipt's JSON: the fields come from its entry, and each readable field given must
  // say what the entry says (kCorrupt naming the first that does not).
  static Result<Receipt> FromJson(const nlohmann::json& json);
  // Checks, with nothing but `ledger_public_key` (32 raw bytes): the fields are the entry's, the
  // checkpoint's signature, and that the inclusion proof leads from the entry's leaf hash to the
  // checkpoint's root. Returns the checkpoint.
  Result<Checkpoint> Verify(std::string_view ledger_public_key) const;
};

// The answer of Verify(): either every record checked, or the first one that did not.
struct VerifyReport {
  bool ok = true;
  uint64_t records = 0;               // how many records were checked
  uint64_t checkpoints = 0;           // how many checkpoints were checked
  bool manual_clock = false;          // from the genesis
  std::optional<uint64_t> first_bad_seq;
  std::optional<uint64_t> bad_checkpoint;  // the size of the first checkpoint that did not match
  std::string problem;                // what was wrong with it

  nlohmann::json ToJson() const;
};

// How Verify() spreads its work. The report does not depend on it.
struct VerifyOptions {
  unsigned threads = 0;          // decoding records and checking signatures; 0: one per core
  size_t chunk_records = 4096;   // records read and checked together: what memory holds
};

// What Query() selects: records matching every field given; empty fields match everything.
// Each named field is a secondary index (ledger/index.h says what each one holds).
struct QueryFilter {
  std::string deployment;
  std::string actor;        // the record's actor; a policy.denied also matches its attempt's
  std::string kind;
  std::string app;          // a deployment's records match its request's app and environment
  std::string environment;
  std::string role;         // a role the signing key held when the record was appended
  std::string step;
  std::string image;        // an image reference or its digest ("sha256:..."): the digest matches
  std::string decision;     // "allowed" (intents allowed) or "denied" (policy.denied records)
  std::string source;       // "OWNER/REPO@COMMIT": the deploy.requested records with that source
                            // (in any letter case, as GitHub names repositories)
  bool waivers = false;     // waiver.granted records and intents a waiver allowed
  uint64_t from_seq = 0;
  std::optional<uint64_t> to_seq;     // inclusive
  std::optional<Micros> since;        // ledger time at or after
  std::optional<Micros> until;        // ledger time before
};

// A signed event whose signature checked out and whose payload parsed: the part of an append
// that needs no ordering, so a server does it on many threads before the sequencer.
struct CheckedEvent {
  SignedEvent signed_event;
  Event event;
  // The event is the fact an in-toto statement states (ledger/dsse_event.h): the append checks
  // that its deployment's requested image is the subject it is about.
  bool from_statement = false;
};
Result<CheckedEvent> CheckEvent(SignedEvent signed_event);

class Ledger {
 public:
  // Creates a new ledger in `dir` (made with its parents when missing; it must not hold a ledger):
  // the ledger key, the store and the genesis record. `clock` gives the genesis time unless the ledger is manual.
  static Status Init(const std::string& dir, const InitOptions& options, Clock* clock);

  // Makes `dir` a second home of the ledger already in the PostgreSQL database at `store_url`,
  // for another server over the same records: `ledger_key` must be the key its genesis names
  // (copied from the first home's ledger.key), and `dir` gets that key, DIR/store and a witness
  // that starts at the database's latest checkpoint. kInvalidArgument for another ledger's key.
  static Status Attach(const std::string& dir, const std::string& store_url,
                       const SigningKey& ledger_key);

  // Whether Init could make a new ledger in the PostgreSQL database at `store_url`: it answers,
  // and holds no ledger (kInvalidArgument naming the way to join one that is there).
  static Status CheckNewStore(const std::string& store_url);

  // Where the ledger in `dir` keeps its records: DIR/store's URL, or DIR/db.
  static Result<std::string> StoreLocation(const std::string& dir);

  // Opens the ledger in `dir`. `clock` must outlive the ledger; a manual-clock ledger never reads
  // it. Fails with kCorrupt, naming the record, when the genesis, the last record or a key record
  // does not check out: those are read to open; and naming the file, when the database is damaged
  // or holds fewer records than the checkpoint witness (or another tree) says were acknowledged.
  static Result<std::unique_ptr<Ledger>> Open(const std::string& dir, Clock* clock,
                                              AppendGate* gate = nullptr);

  // Opens the ledger in `dir` for reading only (`shiplog verify`): with the same checks as Open,
  // but no file in `dir` is written, created or removed; appends fail.
  static Result<std::unique_ptr<Ledger>> OpenReadOnly(const std::string& dir, Clock* clock);

  // Opens a ledger over any store (tests, other backends). The store must already hold a genesis
  // signed by `ledger_key`.
  // With a `gate`, every record is folded into it on open, and every append asks it first; the
  // gate must outlive the ledger.
  static Result<std::unique_ptr<Ledger>> Open(std::unique_ptr<Store> store, SigningKey ledger_key,
                                              Clock* clock, AppendGate* gate = nullptr);

  // Writes the genesis of a new ledger into an empty store.
  static Status WriteGenesis(Store& store, const SigningKey& ledger_key, const InitOptions& options,
                             Clock* clock);

  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Reads a DSSE envelope's text (ledger/dsse_event.h) into the event it stands for, ready for
  // AppendBatch: a signature's keyid names an enrolled, unrevoked key, that signature verifies
  // over PAE, and the payload is a shiplog event or an in-toto statement. For a statement,
  // `deployment` must have a request whose image is one of the statement's subjects: the fact
  // about that subject is the one returned. kInvalidArgument naming the fault; nothing changes.
  Result<CheckedEvent> CheckEnvelope(std::string envelope_text, std::string_view deployment) const;

  // Checks and appends one signed event; durable when it returns OK. An intent the gate denies is
  // recorded as a policy.denied record instead, and the receipt for that record comes back with
  // denied = true and the decision.
  Result<Receipt> Append(const SignedEvent& signed_event);

  // Appends `events` in order as one batch: each is checked and judged against the state the
  // ones before it left (an enrolment early in a batch authorises a key later in it), and every
  // record is written in one atomic store commit with one fsync and one signed checkpoint, which
  // every receipt proves its record into. out[i] answers events[i] exactly as Append would have:
  // an event refused, a repeat or a conflict does not stop the others. When the commit fails,
  // every event that was to be stored gets the error and the ledger refuses all later appends
  // (its state has moved past the disk's): see Writable() and Resume().
  std::vector<Result<Receipt>> AppendBatch(std::vector<CheckedEvent> events);

  // OK while appends are taken. After a failed commit, why they are not: kNoSpace while the disk
  // was full (Resume() takes them again); kInternal naming the failure for anything else, above
  // all a failed fsync, after which the ledger takes no append until it is reopened (ledger.cc,
  // StoppedBy, says why). Cheap while appends are taken: an atomic read, no lock.
  Status Writable() const;

  // After a commit failed for want of disk space: resumes the store, reads everything the failed
  // batch had folded in memory (key registry, tree, request cache, the gate's state) back from
  // the store as Open does, and takes appends again. OK when appends are taken (or never
  // stopped); kNoSpace while the store still cannot write; Writable()'s failure for a ledger that
  // stopped for another reason, which only reopening mends.
  Status Resume();

  // For a store other servers append to: folds what they committed since this ledger last
  // looked, so that size(), LatestCheckpoint() and the gate see the whole log. Appends do this
  // themselves under the append lock; a reader calls it before it answers. A no-op otherwise.
  Status Refresh();

  // The number of records, genesis included.
  uint64_t size() const;
  // The ledger's Ed25519 public key, 32 raw bytes.
  std::string public_key() const;
  bool manual_clock() const { return manual_clock_; }
  std::string origin() const { return origin_; }

  Result<StoredRecord> Read(uint64_t seq) const;

  // Visits records [from, end) in order; stops when `visit` returns false. `visit` runs on the
  // calling thread; past one chunk of records, a thread of the scan's own reads and decodes them
  // ahead of it, and reads nothing past `end`.
  using RecordVisitor = std::function<bool(const StoredRecord&)>;
  Status Scan(uint64_t from, const RecordVisitor& visit, uint64_t end = UINT64_MAX) const;

  // Visits the records that match `filter`, in sequence order. Costs what the result costs: a
  // time bound is a binary search over ledger time (which never decreases with seq), one named
  // field's index drives the scan (the most selective kind first: deployment, image, waivers,
  // denials, actor, app, step, environment, role, kind, allowed) and each other named field is
  // one point lookup in its index per candidate. kInvalidArgument for an unknown decision.
  Status Query(const QueryFilter& filter, const RecordVisitor& visit) const;

  // The record `actor` stored under event id `id` (the ledger keeps (actor, id) unique), or
  // nullopt: how an integration stores an outside thing once (a webhook delivery, an
  // AnalysisRun) under an id derived from it.
  Result<std::optional<StoredRecord>> FindEvent(std::string_view actor, std::string_view id) const;

  // The sequence numbers Query() would visit, in order, read from the indexes alone (no record
  // is read): what a count or a plan of later reads needs.
  using SeqVisitor = std::function<bool(uint64_t seq)>;
  Status QuerySeqs(const QueryFilter& filter, const SeqVisitor& visit) const;

  // True when Open found the index format missing or older and rebuilt the indexes.
  bool indexes_rebuilt() const { return indexes_rebuilt_; }

  // The latest checkpoint (its tree holds every record), or the one at `size`; kNotFound when
  // none was signed at that size.
  Checkpoint LatestCheckpoint() const;
  Result<Checkpoint> CheckpointAt(uint64_t size) const;

  // Visits the stored checkpoints in size order from `from_size`, checking each one's signature.
  using CheckpointVisitor = std::function<bool(const Checkpoint&)>;
  Status ScanCheckpoints(uint64_t from_size, const CheckpointVisitor& visit) const;

  // The proof that record `seq` is in the checkpoint at `size` (the latest when nullopt).
  Result<InclusionProof> ProveInclusion(uint64_t seq, std::optional<uint64_t> size) const;
  // The proof that the checkpoint at `from` is a prefix of the one at `to`.
  Result<ConsistencyProof> ProveConsistency(uint64_t from, uint64_t to) const;

  // The store under the ledger, for readers that serve stored records, tree nodes and
  // checkpoints without the sequencer's lock (ledger/tiles.h, ledger/cosignature.h). Records and
  // "c/" / "t/" entries are written once and never change, so such reads need no lock; nothing
  // may write the record keyspace or those index prefixes through it.
  Store& store() const { return *store_; }

  // The key registry as of the latest record.
  KeyRegistry keys() const;
  // The name `key` is enrolled under (the actor its events must carry); kUnknownKey when it is
  // not enrolled.
  Result<std::string> EnrolledName(const SigningKey& key) const;
  // One key's entry by dsse::KeyId, as of the last committed batch; nullopt when no key has that
  // id. For the server's per-request checks (signed reads, rate limits): it reads a published
  // copy of the registry under a lock of its own, never waiting on the ledger's lock, which a
  // batch holds through its fsync.
  std::optional<KeyInfo> KeyByKeyId(std::string_view keyid) const;

  // Ledger time now: the manual clock's time, or the injected clock's, never before the last
  // record's time.
  Micros Now() const;
  // Move a manual clock. Fails for a real-time ledger, and for a time before the last record.
  Status AdvanceClock(Micros by);
  Status SetClock(Micros to);

  // Re-checks every record: stored under its own sequence number with no gaps, canonical, leaf
  // hash, signature, the key enrolled and not revoked at that point, actor and admin authority,
  // ledger time never decreasing, and the genesis first. Checks the secondary indexes agree with
  // the records: every entry a record has is stored, and no query index entry points at a record
  // that does not have it. Recomputes the Merkle tree from the
  // records, compares it with every stored tree node and every checkpoint, and checks each
  // checkpoint's signature, time and origin. Names the first bad record or checkpoint.
  // `progress`, when given, is told the number of records checked now and then. Signatures are
  // checked on `options.threads` threads (ledger/verify.cc says how); memory stays bounded.
  // A ledger that fails is read twice: once to find that something is wrong, once to name it.
  Result<VerifyReport> Verify(const std::function<void(uint64_t)>& progress = {}) const;
  Result<VerifyReport> Verify(const VerifyOptions& options,
                              const std::function<void(uint64_t)>& progress = {}) const;

 private:
  Ledger(std::unique_ptr<Store> store, SigningKey ledger_key, Clock* clock, AppendGate* gate);
  // Open(dir) and OpenReadOnly(dir).
  static Result<std::unique_ptr<Ledger>> OpenDir(const std::string& dir, Clock* clock,
                                                 AppendGate* gate, bool read_only);
  // Load() reads the ledger's state from the store on open, in three parts: its size (checked
  // against the count last committed), the genesis (key, clock, origin) and what appends change
  // (last time, tree, latest checkpoint, manual clock, index version, key registry). Resume()
  // reads the first and the last again.
  Status Load();
  Status LoadSize();
  Status LoadGenesis();
  Status LoadState();
  // Reads every state in memory back from the store, as Open does (Resume()). REQUIRES: mu_ held.
  Status Reload();
  // Folds records [size_, count), which other writers of a shared store committed, into the
  // state, and takes the checkpoint at `count` as the latest. kCorrupt when the store holds fewer
  // than size_ records: acknowledged records are gone. REQUIRES: mu_ held.
  Status CatchUp(uint64_t count);
  // Appends stop for `why` (Writable()), or go on when it is OK. REQUIRES: mu_ held.
  void Refuse(Status why);
  std::unique_ptr<DeploymentRequests> EmptyRequestCache();
  // Compares the loaded store with the checkpoint witness in `dir` (ledger/witness.h): kCorrupt
  // when the store is behind it or disagrees with it. Creates the witness for a ledger made before
  // it existed, and brings a witness the last commit did not reach up to date.
  Status CheckWitness(const std::string& dir, bool read_only);
  // kCorrupt when a checkpoint is stored for a tree larger than the store's: records went missing.
  Status CheckNoLaterCheckpoint() const;
  // Rewrites every index entry from the records when the stored index version is missing or
  // older than kIndexVersion. REQUIRES: size_ set, not yet shared.
  Status RebuildIndexesIfOld();
  // The index context of `record`, appended after the records so far. REQUIRES: mu_ held.
  Result<IndexContext> AppendContext(const StoredRecord& record);
  // The first sequence number at or after `time` (size() when none): ledger time never decreases.
  Result<uint64_t> FirstSeqAtOrAfter(Micros time, uint64_t size) const;
  // The seqs [first, end) a filter's bounds allow; checks its decision.
  Result<std::pair<uint64_t, uint64_t>> QueryRange(const QueryFilter& filter) const;
  // Finds the first index entry no record produces; reports it in `report`.
  Status FindStrayIndexEntry(uint64_t expected_entries, VerifyReport& report) const;
  // Lets the gate restore itself from the records (gate_records_), else replays every record.
  Status ReplayIntoGate();
  class GateReader;
  struct PendingRecord;
  // Checks `checked` against the registry and the gate and adds its record (or its denial's) to
  // `batch` as the next sequence number, folding it into the state later events see (registry,
  // gate, requests, tree_, whose new subtrees go to `completed`). On an error nothing changed.
  // REQUIRES: mu_ held.
  Result<PendingRecord> Stage(CheckedEvent checked, StoreBatch& batch,
                              std::vector<TreeNodePut>& completed);
  // Signs the checkpoint for `next` (the tree after a batch that grew `before` by the subtrees
  // `completed`) once it checks out against the last one, and adds it to `batch`.
  // REQUIRES: mu_ held.
  Result<Checkpoint> SealBatch(const TreeFrontier& before, const TreeFrontier& next,
                               const std::vector<TreeNodePut>& completed, Micros time,
                               TreeReader& reader, StoreBatch& batch) const;
  // The policy.denied record for a denied intent, signed by the ledger.
  Result<Event> DenialEvent(const Event& denied, const SignedEvent& signed_event,
                            const std::string& decision) const;
  KeyInfo LedgerSigner() const;
  // The receipt for `record` with an inclusion proof to `checkpoint`; `reader` serves the tree.
  Result<Receipt> MakeReceipt(const StoredRecord& record, const Checkpoint& checkpoint,
                              TreeReader& reader) const;
  static Status IdConflict(const Event& event, uint64_t first_seq);
  // The request of `deployment` as of the records so far. REQUIRES: mu_ held.
  Result<std::optional<DeploymentRequest>> RequestOf(std::string_view deployment) const;
  Result<std::optional<Receipt>> FindDuplicate(const Event& event, const SignedEvent& signed_event) const;
  Micros NextLedgerTime() const;  // REQUIRES: mu_ held

  std::unique_ptr<Store> store_;
  SigningKey ledger_key_;
  Clock* clock_;
  AppendGate* gate_;
  std::unique_ptr<GateRecords> gate_records_;  // what gate_ reads of the records
  bool manual_clock_ = false;
  std::string origin_;

  mutable std::mutex mu_;
  uint64_t size_ = 0;              // GUARDED_BY(mu_)
  Micros last_time_ = 0;           // GUARDED_BY(mu_): the last record's ledger time
  Micros manual_now_ = 0;          // GUARDED_BY(mu_): a manual clock's time
  KeyRegistry registry_;           // GUARDED_BY(mu_)
  // registry_ as of the last commit (or open), for KeyByKeyId; replaced when a key changed.
  // REQUIRES: mu_ held to publish.
  void PublishKeys();
  mutable std::mutex published_keys_mu_;
  std::shared_ptr<const KeyRegistry> published_keys_;  // GUARDED_BY(published_keys_mu_)
  TreeFrontier tree_;              // GUARDED_BY(mu_): the tree of all size_ records
  Status broken_;                  // GUARDED_BY(mu_): set when a batch failed to commit
  std::atomic<bool> refusing_{false};  // !broken_.ok(), read without mu_ (Writable)
  Checkpoint latest_;              // GUARDED_BY(mu_): the checkpoint at size_
  std::unique_ptr<DeploymentRequests> requests_;  // GUARDED_BY(mu_): app/env for index entries
  std::unique_ptr<CheckpointWitness> witness_;    // GUARDED_BY(mu_): null for a bare store
  bool indexes_rebuilt_ = false;
  bool read_only_ = false;  // OpenReadOnly: nothing is written, not even an index rebuild
  // A writable home of a shared store: DIR/store, locked (flock) while this ledger is open, so
  // that two servers never share one home and its witness file.
  int home_lock_fd_ = -1;
};

}  // namespace shiplog
