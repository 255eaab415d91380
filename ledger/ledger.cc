// The ledger: checks, sequences and durably stores signed events.
//
// Index key grammar (Store index keyspace):
//   "i/", "d/", "a/", "k/", "p/", "e/", "r/", "s/", "m/", "o/"   a record's entries (ledger/index.h)
//   "c/" size8                   -> signed note      the checkpoint of the tree of that size
//   "t/" level index8            -> 32-byte hash     a complete subtree's root (ledger/tree.h)
// Meta keys:
//   "record_count"     EncodeSeq(n): the count after the last commit (tail truncation shows)
//   "manual_clock_now" decimal microseconds: a manual clock's time
//   "index_version"    decimal kIndexVersion: the key grammar the index entries follow
//   "witness"          "1": the ledger keeps a checkpoint witness file, which must be there
#include "ledger/ledger.h"

#include <capnp/serialize.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "ledger/atomic_file.h"
#include "ledger/canonical.h"
#include "ledger/dsse.h"
#include "ledger/dsse_event.h"
#include "ledger/index.h"
#include "ledger/backup.h"
#include "ledger/key_file.h"
#include "ledger/ledger_internal.h"
#include "ledger/record_checks.h"
#include "schemas/record.capnp.h"

namespace shiplog {
namespace {

using internal::CheckpointKey;
using internal::DecodeRecord;
using internal::kMaxEntryBytes;
using internal::kMaxRecordBytes;
using internal::kRecordCountKey;

using internal::kManualClockKey;
constexpr char kWitnessKey[] = "witness";
constexpr char kWitnessFile[] = "/checkpoint";
// DIR/store: the URL of the database that holds a ledger's records, when not DIR/db.
constexpr char kStoreFile[] = "/store";
// How the checks that find acknowledged records gone end their message; Open(dir) then names the
// write-ahead log they were lost from.
constexpr char kMissingRecords[] = "missing from the database";
constexpr size_t kMaxReceiptBytes = 64 * 1024;  // a receipt's entry at most

capnp::Data::Reader DataOf(std::string_view s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}
capnp::Text::Reader TextOf(std::string_view s) { return capnp::Text::Reader(s.data(), s.size()); }

// The record and its index entries (ledger/index.h) for one event at `seq`.
void AddToBatch(StoreBatch& batch, const StoredRecord& record, const IndexContext& context) {
  capnp::MallocMessageBuilder message;
  auto r = message.initRoot<schema::Record>();
  r.setEntry(DataOf(record.entry));
  r.setLeafHash(DataOf(record.leaf_hash));
  batch.records.push_back(CanonicalBytes(r.asReader()));
  for (auto& entry : IndexEntries(record, context)) batch.index_puts.push_back(std::move(entry));
}

// Builds the stored form of an event appended at `seq` and `time`.
StoredRecord MakeRecord(uint64_t seq, Micros time, bool manual, SignedEvent signed_event,
                        Event event, const std::string& decision) {
  capnp::MallocMessageBuilder message;
  auto entry = message.initRoot<schema::Entry>();
  entry.setSeq(seq);
  entry.setLedgerTime(time);
  entry.setManualClock(manual);
  if (!decision.empty()) entry.setDecision(TextOf(decision));
  auto se = entry.initEvent();
  se.setScheme(TextOf(signed_event.scheme));
  se.setPayload(DataOf(signed_event.payload));
  se.setPublicKey(DataOf(signed_event.public_key));
  se.setSignature(DataOf(signed_event.signature));
  if (!signed_event.event.empty()) se.setEvent(DataOf(signed_event.event));
  StoredRecord record{seq,      time, manual, std::move(signed_event), std::move(event),
                      decision, {},   {}};
  record.entry = CanonicalBytes(entry.asReader());
  record.leaf_hash = std::string(AsBytes(Sha256WithPrefix(0x00, record.entry)));
  return record;
}

Result<Micros> ParseMicros(const std::string& text) {
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used == text.size()) return static_cast<Micros>(v);
  } catch (const std::exception&) {
  }
  return Status::Corrupt("the stored manual clock '" + text + "' is not a number");
}

// A stored index version at or after this binary's (a newer binary's is left alone).
bool IndexVersionIsCurrent(const std::string& stored) {
  char* end = nullptr;
  const unsigned long version = std::strtoul(stored.c_str(), &end, 10);
  return end != stored.c_str() && *end == '\0' && version >= kIndexVersion;
}

}  // namespace

namespace internal {

std::string CheckpointKey(uint64_t size) { return "c/" + EncodeSeq(size); }

Result<StoredRecord> DecodeRecord(uint64_t seq, std::string_view value, EventCheck event_check) {
  auto fail = [seq](const std::string& what) {
    return Status::Corrupt("record " + std::to_string(seq) + ": " + what);
  };
  auto message = CanonicalMessage::ParseInPlace(value, kMaxRecordBytes);
  if (!message.ok()) return fail(message.status().message());
  std::string entry_bytes, leaf_hash;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&] {
    auto record = message->Root<schema::Record>();
    entry_bytes = BytesOf(record.getEntry());
    leaf_hash = BytesOf(record.getLeafHash());
  })) {
    return fail(std::string("does not decode: ") + e->getDescription().cStr());
  }
  auto decoded = DecodeEntry(std::move(entry_bytes), event_check);
  if (!decoded.ok()) return fail(decoded.status().message());
  if (leaf_hash != decoded->leaf_hash) return fail("the leaf hash does not match the entry's bytes");
  if (decoded->seq != seq) return fail("it holds sequence number " + std::to_string(decoded->seq));
  return decoded;
}

Result<Checkpoint> OpenStoredCheckpoint(uint64_t size, std::string_view note,
                                        const SigningKey& ledger_key, std::string_view origin) {
  auto checkpoint = Checkpoint::OpenOwn(note, ledger_key);
  if (!checkpoint.ok()) {
    return Status::Corrupt("the stored " + checkpoint.status().message());
  }
  if (checkpoint->head.size != size || checkpoint->head.origin != origin) {
    return Status::Corrupt("the checkpoint stored for size " + std::to_string(size) +
                           " is one for size " + std::to_string(checkpoint->head.size) +
                           " of '" + checkpoint->head.origin + "'");
  }
  return checkpoint;
}

}  // namespace internal

// ---- JSON forms ----

Result<StoredRecord> StoredRecord::FromEntry(std::string entry) {
  return internal::DecodeEntry(std::move(entry), internal::EventCheck::kFull);
}

Result<StoredRecord> internal::DecodeEntry(std::string entry, EventCheck event_check) {
  // Reads `entry` in place; read only before `entry` moves into the record below.
  auto message = CanonicalMessage::ParseInPlace(entry, kMaxRecordBytes);
  if (!message.ok()) return message.status().Prefixed("entry");
  uint64_t seq = 0;
  Micros time = 0;
  bool manual = false;
  std::string decision;
  SignedEvent signed_event;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&] {
    auto root = message->Root<schema::Entry>();
    seq = root.getSeq();
    time = root.getLedgerTime();
    manual = root.getManualClock();
    decision = root.getDecision();
    auto se = root.getEvent();
    signed_event.scheme = se.getScheme();
    signed_event.payload = BytesOf(se.getPayload());
    signed_event.public_key = BytesOf(se.getPublicKey());
    signed_event.signature = BytesOf(se.getSignature());
    signed_event.event = BytesOf(se.getEvent());
  })) {
    return Status::Corrupt(std::string("the entry does not decode: ") + e->getDescription().cStr());
  }
  auto event = event_check == EventCheck::kFull
                    ? signed_event.ReadEvent()
                    : Event::FromCheckedCanonical(signed_event.EventBytes());
  if (!event.ok()) return Status::Corrupt(event.status().message());
  std::string leaf_hash(AsBytes(merkle::LeafHash(entry)));
  return StoredRecord{seq,      time,          manual,          std::move(signed_event),
                      std::move(event).value(), std::move(decision), std::move(entry),
                      std::move(leaf_hash)};
}

nlohmann::json StoredRecord::ToJson() const {
  nlohmann::json j = {{"seq", seq},
                      {"ledger_time", FormatTime(ledger_time)},
                      {"leaf_hash", HexEncode(leaf_hash)},
                      {"event", event.ToJson()},
                      {"public_key", HexEncode(signed_event.public_key)},
                      {"signature", Base64Encode(signed_event.signature)}};
  if (manual_clock) j["manual_clock"] = true;
  if (auto missing = MissingExpectedFields(event); !missing.empty()) j["missing"] = missing;
  if (!decision.empty()) {
    j["decision"] = ParseStoredJson(decision);
  }
  return j;
}

Receipt Receipt::Of(const StoredRecord& record, std::string ledger_key, std::string checkpoint,
                    std::vector<merkle::Hash> inclusion_proof) {
  Receipt out;
  out.seq = record.seq;
  out.ledger_time = record.ledger_time;
  out.leaf_hash = record.leaf_hash;
  out.event_id = record.event.id();
  out.actor = record.event.actor();
  out.manual_clock = record.manual_clock;
  out.ledger_key = std::move(ledger_key);
  out.payload_hash = std::string(AsBytes(Sha256(record.signed_event.payload)));
  out.decision = record.decision;
  out.denied = record.event.kind() == "policy.denied";
  out.checkpoint = std::move(checkpoint);
  out.inclusion_proof = std::move(inclusion_proof);
  out.entry = record.entry;
  return out;
}

nlohmann::json Receipt::ToJson() const {
  nlohmann::json j = {{"seq", seq},
                      {"ledger_time", FormatTime(ledger_time)},
                      {"leaf_hash", HexEncode(leaf_hash)},
                      {"event_id", event_id},
                      {"actor", actor},
                      {"manual_clock", manual_clock},
                      {"ledger_key", HexEncode(ledger_key)},
                      {"payload_hash", HexEncode(payload_hash)},
                      {"checkpoint", checkpoint},
                      {"inclusion_proof", HashesToHex(inclusion_proof)},
                      {"entry", Base64Encode(entry)}};
  if (duplicate) j["duplicate"] = true;
  if (denied) j["denied"] = true;
  if (!decision.empty()) {
    j["decision"] = ParseStoredJson(decision);
  }
  return j;
}

std::string Receipt::ToJsonText() const {
  // The gate stores a decision as nlohmann::json's own compact text (policy/policy_gate.cc),
  // which ToJson would parse and print back unchanged, so it is copied. One that ParseStoredJson
  // refuses (a tampered record's) is left to ToJson.
  if (!decision.empty() &&
      (!CheckJsonTextDepth(decision).ok() || !nlohmann::json::accept(decision))) {
    return ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  // The keys in ToJson's order (nlohmann::json sorts them).
  std::string out;
  out.reserve(entry.size() * 4 / 3 + checkpoint.size() + 96 * inclusion_proof.size() + 512);
  out += "{\"actor\":";
  AppendJsonString(out, actor);
  out += ",\"checkpoint\":";
  AppendJsonString(out, checkpoint);
  if (!decision.empty()) {
    out += ",\"decision\":";
    out += decision;
  }
  if (denied) out += ",\"denied\":true";
  if (duplicate) out += ",\"duplicate\":true";
  out += ",\"entry\":\"";
  out += Base64Encode(entry);
  out += "\",\"event_id\":";
  AppendJsonString(out, event_id);
  out += ",\"inclusion_proof\":[";
  for (size_t i = 0; i < inclusion_proof.size(); ++i) {
    out += i == 0 ? "\"" : ",\"";
    out += HexEncode(AsBytes(inclusion_proof[i]));
    out += '"';
  }
  out += "],\"leaf_hash\":\"";
  out += HexEncode(leaf_hash);
  out += "\",\"ledger_key\":\"";
  out += HexEncode(ledger_key);
  out += "\",\"ledger_time\":";
  AppendJsonString(out, FormatTime(ledger_time));
  out += manual_clock ? ",\"manual_clock\":true" : ",\"manual_clock\":false";
  out += ",\"payload_hash\":\"";
  out += HexEncode(payload_hash);
  out += "\",\"seq\":";
  out += std::to_string(seq);
  out += '}';
  return out;
}

std::string Receipt::ToCapnpMessage() const {
  capnp::MallocMessageBuilder message;
  auto r = message.initRoot<schema::Receipt>();
  r.setSeq(seq);
  r.setLedgerTime(ledger_time);
  r.setLeafHash(DataOf(leaf_hash));
  r.setEventId(TextOf(event_id));
  r.setActor(TextOf(actor));
  r.setManualClock(manual_clock);
  r.setLedgerKey(DataOf(ledger_key));
  r.setPayloadHash(DataOf(payload_hash));
  if (!decision.empty()) r.setDecision(TextOf(decision));
  r.setDenied(denied);
  r.setCheckpoint(TextOf(checkpoint));
  auto proof = r.initInclusionProof(inclusion_proof.size());
  for (size_t i = 0; i < inclusion_proof.size(); ++i) {
    proof.set(i, DataOf(AsBytes(inclusion_proof[i])));
  }
  r.setEntry(DataOf(entry));
  r.setDuplicate(duplicate);
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

namespace {

// The first field of `given` that says something else than `derived` (the entry's receipt).
Status FieldsMatchEntry(const nlohmann::json& given, const nlohmann::json& derived) {
  for (auto it = given.begin(); it != given.end(); ++it) {
    if (derived.contains(it.key()) && derived[it.key()] != it.value()) {
      return Status::Corrupt("receipt field '" + it.key() + "' does not match its entry");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Receipt> Receipt::FromJson(const nlohmann::json& j) {
  auto text = [&j](const char* field) { return j.contains(field) && j[field].is_string(); };
  if (!j.is_object() || !text("entry") || !text("checkpoint") || !text("ledger_key") ||
      !j.contains("inclusion_proof")) {
    return Status::InvalidArgument(
        "a receipt needs \"entry\" (base64), \"checkpoint\", \"ledger_key\" and "
        "\"inclusion_proof\"");
  }
  SHIPLOG_ASSIGN_OR_RETURN(std::string entry, Base64Decode(j["entry"].get<std::string>()));
  if (entry.size() > kMaxReceiptBytes) {
    return Status::InvalidArgument("the receipt's entry is over " +
                                   std::to_string(kMaxReceiptBytes) + " bytes");
  }
  auto record = StoredRecord::FromEntry(std::move(entry));
  if (!record.ok()) return Status::Corrupt("the receipt's " + record.status().message());
  auto ledger_key = HexDecode(j["ledger_key"].get<std::string>());
  if (!ledger_key.ok() || ledger_key->size() != kPublicKeySize) {
    return Status::InvalidArgument("the receipt's \"ledger_key\" is not 32 bytes of hex");
  }
  SHIPLOG_ASSIGN_OR_RETURN(auto proof, HashesFromJson(j["inclusion_proof"], "\"inclusion_proof\""));
  Receipt out = Of(*record, std::move(ledger_key).value(), j["checkpoint"].get<std::string>(),
                   std::move(proof));
  out.duplicate = j.contains("duplicate") && j["duplicate"] == true;
  SHIPLOG_RETURN_IF_ERROR(FieldsMatchEntry(j, out.ToJson()));
  return out;
}

Result<Checkpoint> Receipt::Verify(std::string_view ledger_public_key) const {
  if (ledger_key != ledger_public_key) {
    return Status::BadSignature("the receipt names ledger key " + HexEncode(ledger_key) +
                                ", not " + HexEncode(ledger_public_key));
  }
  // Every field must be the entry's: the proof and the signature below vouch for the entry only.
  auto record = StoredRecord::FromEntry(entry);
  if (!record.ok()) return Status::Corrupt("the receipt's " + record.status().message());
  Receipt derived = Of(*record, ledger_key, checkpoint, inclusion_proof);
  derived.duplicate = duplicate;
  SHIPLOG_RETURN_IF_ERROR(FieldsMatchEntry(ToJson(), derived.ToJson()));
  SHIPLOG_ASSIGN_OR_RETURN(Checkpoint cp, Checkpoint::Open(checkpoint, ledger_public_key));
  SHIPLOG_ASSIGN_OR_RETURN(merkle::Hash leaf, HashFromBytes(record->leaf_hash, "the leaf hash"));
  InclusionProof proof{seq, leaf, inclusion_proof, cp};
  SHIPLOG_RETURN_IF_ERROR(proof.Verify());
  return cp;
}

nlohmann::json VerifyReport::ToJson() const {
  nlohmann::json j = {{"ok", ok},
                      {"records", records},
                      {"checkpoints", checkpoints},
                      {"manual_clock", manual_clock}};
  if (first_bad_seq) j["first_bad_seq"] = *first_bad_seq;
  if (bad_checkpoint) j["bad_checkpoint"] = *bad_checkpoint;
  if (!problem.empty()) j["problem"] = problem;
  return j;
}

// ---- creating and opening ----

Status Ledger::WriteGenesis(Store& store, const SigningKey& ledger_key, const InitOptions& options,
                            Clock* clock) {
  SHIPLOG_ASSIGN_OR_RETURN(uint64_t count, store.RecordCount());
  if (count != 0) return Status::InvalidArgument("the store already holds a ledger");
  if (options.admin_public_key.size() != kPublicKeySize) {
    return Status::InvalidArgument("the admin public key must be 32 bytes");
  }
  std::string origin = options.origin.empty()
                           ? "shiplog/" + HexEncode(ledger_key.PublicKey()).substr(0, 16)
                           : options.origin;
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<schema::Event>();
  event.setId("genesis");
  event.setActor(TextOf(kLedgerActor));
  auto genesis = event.initBody().initLedgerGenesis();
  genesis.setLedgerKey(DataOf(ledger_key.PublicKey()));
  genesis.setAdminName(TextOf(options.admin_name));
  genesis.setAdminKey(DataOf(options.admin_public_key));
  genesis.setManualClock(options.manual_clock);
  genesis.setFormatVersion(1);
  genesis.setOrigin(TextOf(origin));
  if (!options.policy.empty()) {
    genesis.setPolicy(TextOf(options.policy));
    genesis.setPolicySha256(DataOf(std::string(AsBytes(Sha256(options.policy)))));
  }
  SHIPLOG_ASSIGN_OR_RETURN(Event built, Event::FromBuilder(event.asReader()));

  Micros time = options.manual_clock && options.manual_clock_start != 0
                    ? options.manual_clock_start
                    : clock->NowMicros();
  SignedEvent signed_event = SignedEvent::Sign(built, ledger_key);
  StoreBatch batch;
  batch.first_seq = 0;
  StoredRecord record =
      MakeRecord(0, time, options.manual_clock, std::move(signed_event), std::move(built), "");
  AddToBatch(batch, record, IndexContext{});
  TreeFrontier tree;
  std::vector<TreeNodePut> completed;
  SHIPLOG_ASSIGN_OR_RETURN(merkle::Hash leaf, HashFromBytes(record.leaf_hash, "leaf hash"));
  tree.Append(leaf, &completed);
  batch.index_puts.insert(batch.index_puts.end(), completed.begin(), completed.end());
  SHIPLOG_RETURN_IF_ERROR(CheckOrigin(origin));
  Checkpoint first =
      Checkpoint::Sign(TreeHead{origin, 1, tree.Root(), time, options.manual_clock}, ledger_key);
  batch.index_puts.emplace_back(CheckpointKey(1), first.note);
  batch.meta_puts.emplace_back(kRecordCountKey, EncodeSeq(1));
  batch.meta_puts.emplace_back(kIndexVersionKey, std::to_string(kIndexVersion));
  if (options.manual_clock) batch.meta_puts.emplace_back(kManualClockKey, std::to_string(time));
  return store.Commit(batch);
}

namespace {

std::string Plural(uint64_t n, const char* one) {
  return std::to_string(n) + " " + one + (n == 1 ? "" : "s");
}

// Where acknowledged records that are missing from the database went: its write-ahead log.
std::string LostRecordsHint(const std::string& db) {
  const std::vector<std::string> logs = RocksWriteAheadLogs(db);
  if (logs.empty()) return "; the database has no write-ahead log left (" + db + "/*.log was removed)";
  std::string hint = "; its write-ahead log was damaged, cut short or removed:";
  for (const std::string& log : logs) hint += " " + log;
  return hint;
}
}

namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// A new ledger home: `dir` made (with its parents) when missing, holding no ledger yet.
Status MakeHome(const std::string& dir) {
  if (Exists(dir + "/db") || Exists(dir + kStoreFile)) {
    return Status::InvalidArgument(dir + " already holds a ledger");
  }
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return Status::InvalidArgument("cannot create " + dir + ": " + error.message());
  ::chmod(dir.c_str(), 0700);
  return Status::Ok();
}

// A new home's files: `dir` (see MakeHome), the ledger key, an empty witness, and DIR/store
// naming `store_url` when one is given.
Status WriteHomeFiles(const std::string& dir, const std::string& store_url,
                      const SigningKey& ledger_key) {
  SHIPLOG_RETURN_IF_ERROR(MakeHome(dir));
  SHIPLOG_RETURN_IF_ERROR(WriteNewKeyFile(dir + "/ledger.key", ledger_key));
  SHIPLOG_RETURN_IF_ERROR(CheckpointWitness::Create(dir + kWitnessFile));
  if (store_url.empty()) return Status::Ok();
  return WriteFileAtomically(dir + kStoreFile, store_url + "\n", 0600);
}

// A shared store that must hold no ledger yet, before any file of the new home is made.
Result<std::unique_ptr<Store>> OpenEmptySharedStore(const std::string& url) {
  SHIPLOG_ASSIGN_OR_RETURN(auto store, OpenPostgresStore(url, StoreAccess::kCreate));
  SHIPLOG_ASSIGN_OR_RETURN(uint64_t count, store->RecordCount());
  if (count != 0) {
    return Status::InvalidArgument(
        "the database " + RedactedUrl(url) + " already holds a ledger of " +
        std::to_string(count) +
        " records; to run another server over it, give that ledger's key: `shiplog init --data "
        "DIR --store URL --ledger-key FIRST_DIR/ledger.key`");
  }
  return store;
}

}  // namespace

namespace internal {

Result<std::unique_ptr<Store>> CreateHome(const std::string& dir, const std::string& store_url,
                                          const SigningKey& ledger_key) {
  std::unique_ptr<Store> store;
  if (!store_url.empty()) {
    SHIPLOG_ASSIGN_OR_RETURN(store, OpenEmptySharedStore(store_url));
  }
  SHIPLOG_RETURN_IF_ERROR(WriteHomeFiles(dir, store_url, ledger_key));
  if (store) return store;
  return OpenRocksStore(dir + "/db", /*create=*/true);
}

Status StartWitness(const std::string& dir, Store& store, const Checkpoint& latest,
                    std::string_view ledger_public_key) {
  SHIPLOG_RETURN_IF_ERROR(store.PutMeta(kWitnessKey, "1"));
  SHIPLOG_ASSIGN_OR_RETURN(auto witness,
                           CheckpointWitness::Open(dir + kWitnessFile, ledger_public_key, false));
  return witness->Record(latest);
}

}  // namespace internal

Status Ledger::Init(const std::string& dir, const InitOptions& options, Clock* clock) {
  if (!options.origin.empty()) SHIPLOG_RETURN_IF_ERROR(CheckOrigin(options.origin));
  SigningKey ledger_key = SigningKey::Generate();
  SHIPLOG_ASSIGN_OR_RETURN(auto store, internal::CreateHome(dir, options.store, ledger_key));
  SHIPLOG_RETURN_IF_ERROR(WriteGenesis(*store, ledger_key, options, clock));
  SHIPLOG_ASSIGN_OR_RETURN(auto genesis_checkpoint, store->GetIndex(CheckpointKey(1)));
  if (!genesis_checkpoint) return Status::Internal("the genesis checkpoint was not stored");
  SHIPLOG_ASSIGN_OR_RETURN(Checkpoint first, Checkpoint::Open(*genesis_checkpoint,
                                                              ledger_key.PublicKey()));
  return internal::StartWitness(dir, *store, first, ledger_key.PublicKey());
}

Status Ledger::Attach(const std::string& dir, const std::string& store_url,
                      const SigningKey& ledger_key) {
  SHIPLOG_ASSIGN_OR_RETURN(auto store, OpenPostgresStore(store_url, StoreAccess::kReadWrite));
  // Opening checks the genesis names this key, and reads the latest checkpoint.
  SystemClock unused_clock;  // no append is made
  SHIPLOG_ASSIGN_OR_RETURN(SigningKey copy, SigningKey::FromSeed(ledger_key.Seed()));
  auto ledger = Ledger::Open(std::move(store), std::move(copy), &unused_clock, nullptr);
  if (!ledger.ok() && ledger.status().message().find("ledger key does not match") !=
                          std::string::npos) {
    return Status::InvalidArgument("the ledger in " + RedactedUrl(store_url) +
                                   " was made with another ledger key than the one given");
  }
  SHIPLOG_RETURN_IF_ERROR(ledger.status());
  SHIPLOG_RETURN_IF_ERROR(WriteHomeFiles(dir, store_url, ledger_key));
  SHIPLOG_ASSIGN_OR_RETURN(auto witness, CheckpointWitness::Open(dir + kWitnessFile,
                                                                 ledger_key.PublicKey(), false));
  return witness->Record((*ledger)->LatestCheckpoint());
}

Status Ledger::CheckNewStore(const std::string& store_url) {
  return OpenEmptySharedStore(store_url).status();
}

Result<std::string> Ledger::StoreLocation(const std::string& dir) {
  if (Exists(dir + kStoreFile)) {
    std::ifstream in(dir + kStoreFile);
    std::string url;
    std::getline(in, url);
    while (!url.empty() && (url.back() == '\n' || url.back() == ' ')) url.pop_back();
    if (!IsPostgresUrl(url)) {
      return Status::Corrupt(dir + kStoreFile + " does not hold a PostgreSQL URL");
    }
    return url;
  }
  if (Exists(dir + "/db")) return dir + "/db";
  return Status::NotFound("no ledger in " + dir + " (create one with `shiplog init --data " +
                          dir + "`)");
}

Result<std::unique_ptr<Ledger>> Ledger::Open(const std::string& dir, Clock* clock,
                                             AppendGate* gate) {
  return OpenDir(dir, clock, gate, /*read_only=*/false);
}

Result<std::unique_ptr<Ledger>> Ledger::OpenReadOnly(const std::string& dir, Clock* clock) {
  return OpenDir(dir, clock, nullptr, /*read_only=*/true);
}

Result<std::unique_ptr<Ledger>> Ledger::OpenDir(const std::string& dir, Clock* clock,
                                                AppendGate* gate, bool read_only) {
  SHIPLOG_ASSIGN_OR_RETURN(const std::string location, StoreLocation(dir));
  const bool shared = IsPostgresUrl(location);
  // A writable open of RocksDB replays its write-ahead log into a new table and removes the log:
  // a damaged store must be found out before that, while the evidence is still there.
  if (!read_only && !shared) SHIPLOG_RETURN_IF_ERROR(OpenDir(dir, clock, nullptr, true).status());
  SHIPLOG_ASSIGN_OR_RETURN(SigningKey key, ReadKeyFile(dir + "/ledger.key"));
  std::unique_ptr<Store> store;
  if (shared) {
    SHIPLOG_ASSIGN_OR_RETURN(store, OpenPostgresStore(location, read_only ? StoreAccess::kReadOnly
                                                                         : StoreAccess::kReadWrite));
  } else {
    SHIPLOG_ASSIGN_OR_RETURN(store, read_only ? OpenRocksStoreReadOnly(location)
                                              : OpenRocksStore(location, /*create=*/false));
  }
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(store), std::move(key), clock, gate));
  ledger->read_only_ = read_only;
  if (shared && !read_only) {
    ledger->home_lock_fd_ = ::open((dir + kStoreFile).c_str(), O_RDONLY | O_CLOEXEC);
    if (ledger->home_lock_fd_ < 0 || ::flock(ledger->home_lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      return Status::Internal("the ledger home " + dir +
                              " is in use by another shiplog process; every server over a shared "
                              "database needs a home of its own (`shiplog init --data DIR --store "
                              "URL --ledger-key FIRST_DIR/ledger.key`)");
    }
  }
  Status loaded = ledger->Load();
  if (loaded.ok()) loaded = ledger->CheckWitness(dir, read_only);
  if (!loaded.ok() && !shared && loaded.code() == StatusCode::kCorrupt &&
      loaded.message().find(kMissingRecords) != std::string::npos) {
    return Status::Corrupt(loaded.message() + LostRecordsHint(dir + "/db"));
  }
  SHIPLOG_RETURN_IF_ERROR(loaded);
  if (gate) SHIPLOG_RETURN_IF_ERROR(ledger->ReplayIntoGate());
  return ledger;
}

Status Ledger::CheckWitness(const std::string& dir, bool read_only) {
  const std::string path = dir + kWitnessFile;
  auto opened = CheckpointWitness::Open(path, ledger_key_.PublicKey(), read_only);
  SHIPLOG_ASSIGN_OR_RETURN(auto marked, store_->GetMeta(kWitnessKey));
  if (!opened.ok() && opened.status().code() == StatusCode::kNotFound) {
    if (marked) {
      return Status::Corrupt("the checkpoint witness " + path +
                             " is missing: nothing can show whether records were lost");
    }
    if (read_only) return Status::Ok();  // a ledger from before the witness: made on next write
    // A ledger made before the witness existed: it starts from what the store holds now.
    SHIPLOG_RETURN_IF_ERROR(CheckpointWitness::Create(path));
    SHIPLOG_ASSIGN_OR_RETURN(opened, CheckpointWitness::Open(path, ledger_key_.PublicKey(), false));
    SHIPLOG_RETURN_IF_ERROR((*opened)->Record(latest_));
    SHIPLOG_RETURN_IF_ERROR(store_->PutMeta(kWitnessKey, "1"));
  }
  SHIPLOG_ASSIGN_OR_RETURN(witness_, std::move(opened));
  if (!witness_->latest()) {
    return Status::Corrupt("the checkpoint witness " + path + " holds no checkpoint");
  }
  const Checkpoint& witnessed = *witness_->latest();
  SHIPLOG_RETURN_IF_ERROR(CheckHolds(*this, witnessed, path));
  // The last commit's witness write did not happen (a crash between the two): catch up.
  if (witnessed.head.size < size_ && !read_only) return witness_->Record(latest_);
  return Status::Ok();
}

Status CheckHolds(const Ledger& ledger, const Checkpoint& checkpoint, const std::string& shown_by) {
  return internal::CheckHoldsAt(ledger, ledger.size(), checkpoint, shown_by);
}

Status internal::CheckHoldsAt(const Ledger& ledger, uint64_t size, const Checkpoint& checkpoint,
                              const std::string& shown_by) {
  const uint64_t shown = checkpoint.head.size;
  if (shown > size) {
    return Status::Corrupt("the database holds " + Plural(size, "record") + " but " + shown_by +
                           " shows " + Plural(shown, "record") + " acknowledged: records " +
                           std::to_string(size) + " to " + std::to_string(shown - 1) + " are " +
                           kMissingRecords);
  }
  auto stored = ledger.CheckpointAt(shown);
  if (!stored.ok() || stored->head.root != checkpoint.head.root) {
    return Status::Corrupt("the database's tree at size " + std::to_string(shown) +
                           " is not the one " + shown_by +
                           " shows signed: acknowledged records are " + kMissingRecords +
                           " or were replaced");
  }
  return Status::Ok();
}

Status Ledger::CheckNoLaterCheckpoint() const {
  // Other servers of a shared store sign later checkpoints as they append.
  if (store_->Shared()) return Status::Ok();
  Status found;
  SHIPLOG_RETURN_IF_ERROR(store_->ScanIndex(
      "c/", CheckpointKey(size_ + 1), [&](std::string_view key, std::string_view) {
        found = Status::Corrupt("a checkpoint is stored for a tree of " +
                                std::to_string(DecodeSeq(key.substr(2))) +
                                " records, but the database holds " + Plural(size_, "record") +
                                ": acknowledged records are " + kMissingRecords);
        return false;
      }));
  return found;
}

Result<std::unique_ptr<Ledger>> Ledger::Open(std::unique_ptr<Store> store, SigningKey ledger_key,
                                             Clock* clock, AppendGate* gate) {
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(store), std::move(ledger_key), clock, gate));
  SHIPLOG_RETURN_IF_ERROR(ledger->Load());
  if (gate) SHIPLOG_RETURN_IF_ERROR(ledger->ReplayIntoGate());
  return ledger;
}

Ledger::Ledger(std::unique_ptr<Store> store, SigningKey ledger_key, Clock* clock,
               AppendGate* gate)
    : store_(std::move(store)), ledger_key_(std::move(ledger_key)), clock_(clock), gate_(gate) {
  requests_ = EmptyRequestCache();
}

std::unique_ptr<DeploymentRequests> Ledger::EmptyRequestCache() {
  return std::make_unique<DeploymentRequests>(store_.get(),
                                              [this](uint64_t seq) { return Read(seq); });
}

KeyInfo Ledger::LedgerSigner() const {
  return KeyInfo{ledger_key_.PublicKey(), std::string(kLedgerActor), {}, 0, std::nullopt};
}

// The gate's view of the committed records: the store and its indexes, read without mu_.
class Ledger::GateReader final : public GateRecords {
 public:
  explicit GateReader(const Ledger& ledger) : ledger_(ledger) {}

  Status KindSeqs(std::string_view kind, const SeqVisitor& visit) const override {
    return Seqs(IndexPrefix(IndexField::kKind, kind), visit);
  }
  Status DeploymentSeqs(std::string_view deployment, const SeqVisitor& visit) const override {
    return Seqs(IndexPrefix(IndexField::kDeployment, deployment), visit);
  }
  Result<Record> Read(uint64_t seq) const override {
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord r, ledger_.Read(seq));
    return Record{r.seq, r.ledger_time, std::move(r.event), std::move(r.signed_event.public_key)};
  }

 private:
  // Only the records folded so far: other servers of a shared store may have committed more,
  // which CatchUp folds later, in order.
  Status Seqs(const std::string& prefix, const SeqVisitor& visit) const {
    return ledger_.store_->ScanIndex(prefix, "", [&](std::string_view key, std::string_view) {
      const uint64_t seq = IndexKeySeq(key);
      return seq < ledger_.size_ && visit(seq);
    });
  }
  const Ledger& ledger_;
};

// The gate's state is the fold of the whole log; each record is folded with its signer as the
// registry stood when it was appended.
Status Ledger::ReplayIntoGate() {
  gate_records_ = std::make_unique<GateReader>(*this);
  SHIPLOG_ASSIGN_OR_RETURN(bool restored, gate_->Restore(*gate_records_));
  if (restored) return Status::Ok();
  KeyRegistry registry;
  const KeyInfo ledger_signer = LedgerSigner();
  return Scan(0, [&](const StoredRecord& r) {
    const KeyInfo* signer = registry.Find(r.signed_event.public_key);
    gate_->Appended(r.seq, r.ledger_time, r.event, signer ? *signer : ledger_signer);
    registry.Apply(r.event, r.seq);
    return true;
  }, size_);
}

Ledger::~Ledger() {
  if (home_lock_fd_ >= 0) ::close(home_lock_fd_);
}

Status Ledger::RebuildIndexesIfOld() {
  SHIPLOG_ASSIGN_OR_RETURN(auto version, store_->GetMeta(kIndexVersionKey));
  if (version && IndexVersionIsCurrent(*version)) return Status::Ok();
  if (read_only_) return Status::Ok();  // Verify reports the index entries that disagree
  // Written in batches of about this many entries with no records; the version goes with the
  // last, so a crash part way leaves the version old and the next Open starts again.
  constexpr size_t kBatchEntries = 50000;
  IndexFold fold;
  StoreBatch batch;
  batch.first_seq = size_;
  Status status;
  SHIPLOG_RETURN_IF_ERROR(Scan(0, [&](const StoredRecord& r) {
    for (auto& entry : fold.Next(r)) batch.index_puts.push_back(std::move(entry));
    if (batch.index_puts.size() < kBatchEntries) return true;
    status = store_->Commit(batch);
    batch.index_puts.clear();
    return status.ok();
  }));
  SHIPLOG_RETURN_IF_ERROR(status);
  batch.meta_puts.emplace_back(kIndexVersionKey, std::to_string(kIndexVersion));
  SHIPLOG_RETURN_IF_ERROR(store_->Commit(batch));
  indexes_rebuilt_ = true;
  return Status::Ok();
}

Status Ledger::Load() {
  SHIPLOG_RETURN_IF_ERROR(LoadSize());
  SHIPLOG_RETURN_IF_ERROR(LoadGenesis());
  return LoadState();
}

Status Ledger::LoadSize() {
  SHIPLOG_ASSIGN_OR_RETURN(size_, store_->RecordCount());
  if (size_ == 0) return Status::Corrupt("the ledger has no genesis record");
  // Appending to a truncated ledger would sign new checkpoints over the missing records' sizes.
  SHIPLOG_ASSIGN_OR_RETURN(auto count, store_->GetMeta(kRecordCountKey));
  // Another server may commit between the two reads of a shared store: then the setting, read
  // second, is ahead. It is never behind: both are written in one transaction.
  const bool shared_ahead = store_->Shared() && count && count->size() == 8 &&
                            DecodeSeq(*count) > size_;
  if (!shared_ahead && (!count || count->size() != 8 || DecodeSeq(*count) != size_)) {
    const uint64_t recorded = count && count->size() == 8 ? DecodeSeq(*count) : 0;
    return Status::Corrupt("the ledger recorded " + std::to_string(recorded) +
                           " records but holds " + std::to_string(size_) +
                           (recorded > size_ ? ": records " + std::to_string(size_) + " to " +
                                                   std::to_string(recorded - 1) +
                                                   " are missing from the end"
                                             : ""));
  }
  return Status::Ok();
}

Status Ledger::LoadGenesis() {
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord genesis, Read(0));
  if (genesis.event.kind() != "ledger.genesis") {
    return Status::Corrupt("record 0 is not a ledger.genesis");
  }
  auto g = genesis.event.reader().getBody().getLedgerGenesis();
  if (BytesOf(g.getLedgerKey()) != ledger_key_.PublicKey() ||
      genesis.signed_event.public_key != ledger_key_.PublicKey()) {
    return Status::Corrupt("the ledger key does not match the one in the genesis record");
  }
  SHIPLOG_RETURN_IF_ERROR(genesis.signed_event.VerifySignature().Prefixed("genesis record"));
  manual_clock_ = g.getManualClock();
  origin_ = g.getOrigin();
  return Status::Ok();
}

Status Ledger::LoadState() {
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord last, Read(size_ - 1));
  last_time_ = last.ledger_time;
  // The tree's right edge must give the root the latest checkpoint signed.
  SHIPLOG_ASSIGN_OR_RETURN(tree_, TreeFrontier::Load(*store_, size_));
  auto latest = CheckpointAt(size_);
  if (!latest.ok() && latest.status().code() == StatusCode::kNotFound) {
    return Status::Corrupt("no signed checkpoint covers the ledger's " + std::to_string(size_) +
                           " records: checkpoints were removed, or records added without one");
  }
  SHIPLOG_ASSIGN_OR_RETURN(latest_, std::move(latest));
  SHIPLOG_RETURN_IF_ERROR(CheckNoLaterCheckpoint());
  if (tree_.Root() != latest_.head.root) {
    return Status::Corrupt("the stored tree's root at size " + std::to_string(size_) +
                           " is not the one its checkpoint signed (run `shiplog verify`)");
  }
  if (manual_clock_) {
    SHIPLOG_ASSIGN_OR_RETURN(auto stored, store_->GetMeta(kManualClockKey));
    if (!stored) return Status::Corrupt("a manual-clock ledger without its clock setting");
    SHIPLOG_ASSIGN_OR_RETURN(manual_now_, ParseMicros(*stored));
  }
  SHIPLOG_RETURN_IF_ERROR(RebuildIndexesIfOld());
  // The registry is a fold of the key events, found through the kind index.
  std::vector<uint64_t> seqs;
  for (const char* kind : {"ledger.genesis", "key.enrolled", "key.revoked"}) {
    SHIPLOG_RETURN_IF_ERROR(store_->ScanIndex(IndexPrefix(IndexField::kKind, kind), "",
                                              [&](std::string_view key, std::string_view) {
                                                const uint64_t seq =
                                                    DecodeSeq(key.substr(key.size() - 8));
                                                if (seq < size_) seqs.push_back(seq);
                                                return true;
                                              }));
  }
  std::sort(seqs.begin(), seqs.end());
  for (uint64_t seq : seqs) {
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, Read(seq));
    registry_.Apply(record.event, seq);
  }
  PublishKeys();
  return Status::Ok();
}

// ---- appending ----

namespace {

// Why appends stop after a commit failed with `failure`. A full disk is waited out: Resume()
// reads the state back from the store once space is freed. Any other failure, above all a failed
// fsync, stops appends until the ledger is reopened. After a failed fsync the kernel may have
// dropped the pages it could not write and still report the next fsync a success (PostgreSQL's
// "fsyncgate", 2018), so what the files hold is no longer known to this process; reopening reads
// back what is on disk and checks it against the checkpoint witness.
Status StoppedBy(const Status& failure, const char* what = "an append batch failed to commit") {
  if (failure.code() == StatusCode::kNoSpace) {
    return Status::NoSpace("the ledger's disk is full (" + failure.message() +
                           "); appends resume once space is freed");
  }
  if (failure.code() == StatusCode::kUnavailable) {
    return Status::Unavailable("the ledger's database cannot be reached (" + failure.message() +
                               "); appends resume once it answers again, and an event sent "
                               "again is stored once");
  }
  return Status::Internal(std::string(what) + " (" + failure.message() +
                          "); nothing more is appended until you reopen the ledger (restart "
                          "the server once the disk is fixed, then run `shiplog verify`)");
}

}  // namespace

void Ledger::Refuse(Status why) {
  broken_ = std::move(why);
  refusing_.store(!broken_.ok(), std::memory_order_release);
}

Status Ledger::Writable() const {
  if (!refusing_.load(std::memory_order_acquire)) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  return broken_;
}

Status Ledger::Resume() {
  std::lock_guard<std::mutex> lock(mu_);
  if (broken_.code() != StatusCode::kNoSpace && broken_.code() != StatusCode::kUnavailable) {
    return broken_;
  }
  if (Status resumed = store_->Resume(); !resumed.ok()) {
    if (resumed.code() == StatusCode::kNoSpace || resumed.code() == StatusCode::kUnavailable) {
      Refuse(StoppedBy(resumed));
    }
    return resumed;
  }
  if (gate_ && !gate_->Reset()) {
    Refuse(Status::Internal("the store writes again, but the policy gate cannot drop the "
                            "batch that failed: reopen the ledger"));
    return broken_;
  }
  // The failed batch moved every state in memory past the store's: read them again, as on open.
  if (Status loaded = Reload(); !loaded.ok()) {
    // Still full (an index rebuild writes) or unreachable is waited out again; nothing else is.
    Refuse(StoppedBy(loaded, "reading the ledger back from its store failed"));
    return broken_;
  }
  Refuse(Status::Ok());
  return Status::Ok();
}

Status Ledger::Reload() {
  registry_ = KeyRegistry();
  requests_ = EmptyRequestCache();
  SHIPLOG_RETURN_IF_ERROR(LoadSize());
  SHIPLOG_RETURN_IF_ERROR(LoadState());
  // The store came back without what this server acknowledged (a standby that was not
  // synchronous, promoted): appending would sign new checkpoints over the gap.
  if (witness_ && witness_->latest()) {
    // Under mu_ (Resume holds it): the size is size_, not size().
    SHIPLOG_RETURN_IF_ERROR(
        internal::CheckHoldsAt(*this, size_, *witness_->latest(), witness_->path()));
  }
  if (gate_) SHIPLOG_RETURN_IF_ERROR(ReplayIntoGate());
  return Status::Ok();
}

Status Ledger::CatchUp(uint64_t count) {
  if (count < size_) {
    return Status::Corrupt("the database holds " + Plural(count, "record") + " but this server " +
                           "has seen " + Plural(size_, "record") + ": records " +
                           std::to_string(count) + " to " + std::to_string(size_ - 1) +
                           " were acknowledged and are " + kMissingRecords +
                           " (was a standby that was not synchronous promoted?)");
  }
  if (manual_clock_) {
    // `shiplog clock` or another server may have moved a drill's clock.
    SHIPLOG_ASSIGN_OR_RETURN(auto stored, store_->GetMeta(kManualClockKey));
    if (stored) {
      SHIPLOG_ASSIGN_OR_RETURN(Micros now, ParseMicros(*stored));
      manual_now_ = std::max(manual_now_, now);
    }
  }
  if (count == size_) return Status::Ok();
  const KeyInfo ledger_signer = LedgerSigner();
  std::vector<TreeNodePut> stored_nodes;  // the writer stored them; not needed here
  Status folded;
  SHIPLOG_RETURN_IF_ERROR(Scan(size_, [&](const StoredRecord& r) {
    if (r.seq != size_) {
      folded = Status::Corrupt("record " + std::to_string(size_) + " is " + kMissingRecords);
      return false;
    }
    auto leaf = HashFromBytes(r.leaf_hash, "leaf hash");
    if (!leaf.ok()) {
      folded = leaf.status();
      return false;
    }
    const KeyInfo* known = registry_.Find(r.signed_event.public_key);
    const KeyInfo signer = known ? *known : ledger_signer;
    stored_nodes.clear();
    tree_.Append(*leaf, &stored_nodes);
    size_ = r.seq + 1;
    last_time_ = r.ledger_time;
    registry_.Apply(r.event, r.seq);
    requests_->Note(r);
    if (gate_) gate_->Appended(r.seq, r.ledger_time, r.event, signer);
    return true;
  }, count));
  SHIPLOG_RETURN_IF_ERROR(folded);
  if (size_ != count) {
    return Status::Corrupt("records " + std::to_string(size_) + " to " +
                           std::to_string(count - 1) + " are " + kMissingRecords);
  }
  SHIPLOG_ASSIGN_OR_RETURN(latest_, CheckpointAt(size_));
  if (tree_.Root() != latest_.head.root) {
    return Status::Corrupt("the checkpoint at size " + std::to_string(size_) +
                           " does not sign the tree of the records (run `shiplog verify`)");
  }
  PublishKeys();
  requests_->Trim();
  if (gate_) gate_->Committed();
  return Status::Ok();
}

Status Ledger::Refresh() {
  if (!store_->Shared()) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  if (!broken_.ok()) return Status::Ok();  // reads serve what was folded; Resume reloads
  SHIPLOG_ASSIGN_OR_RETURN(uint64_t count, store_->RecordCount());
  Status caught = CatchUp(count);
  if (caught.code() == StatusCode::kCorrupt) Refuse(StoppedBy(caught, "reading the log failed"));
  return caught;
}

Micros Ledger::NextLedgerTime() const {
  Micros now = manual_clock_ ? manual_now_ : clock_->NowMicros();
  return std::max(now, last_time_);
}

Status Ledger::IdConflict(const Event& event, uint64_t first_seq) {
  return Status::Conflict("'" + std::string(event.actor()) + "' already used event id '" +
                          std::string(event.id()) + "' for a different event (sequence " +
                          std::to_string(first_seq) + ")");
}

namespace {

// Whether the holder of `public_key` may be told anything of an event already stored under
// `event`'s actor and id (its receipt, or that the id is taken): the checks Stage's
// KeyRegistry::Authorize makes of the signer, with the same errors (not enrolled or revoked:
// kUnknownKey; another actor's, a ledger kind, an admin kind without the admin role: kForbidden).
// Not its checks of what an admin event asks for: those held when the event was first appended,
// and a repeated key.enrolled finds its key enrolled by itself.
Status AuthorizeRepeat(const KeyRegistry& registry, const Event& event,
                       std::string_view public_key) {
  using B = schema::Event::Body;
  const B::Which which = event.reader().getBody().which();
  if (which == B::LEDGER_GENESIS || which == B::POLICY_DENIED) {
    return Status::Forbidden("a " + std::string(event.kind()) +
                             " event is written only by the ledger itself");
  }
  const KeyInfo* key = registry.Find(public_key);
  if (key == nullptr || !key->active()) return registry.Authorize(event, public_key);
  if (event.actor() != key->name) return registry.Authorize(event, public_key);
  const bool admin_kind =
      which == B::KEY_ENROLLED || which == B::KEY_REVOKED || which == B::POLICY_ACTIVATED;
  if (admin_kind && !key->HasRole(kAdminRole)) return registry.Authorize(event, public_key);
  return Status::Ok();
}

}  // namespace

Result<std::optional<Receipt>> Ledger::FindDuplicate(const Event& event,
                                                     const SignedEvent& signed_event) const {
  SHIPLOG_ASSIGN_OR_RETURN(auto seq, store_->GetIndex(EventIdKey(event.actor(), event.id())));
  if (!seq) return std::optional<Receipt>();
  // A repeat is acknowledged only to a signer that could have sent it: a key that is not
  // enrolled must not get 200 for re-signing a payload it copied from a receipt or a bundle.
  SHIPLOG_RETURN_IF_ERROR(AuthorizeRepeat(registry_, event, signed_event.public_key));
  if (seq->size() != 8) return Status::Corrupt("an id index entry is not a sequence number");
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord first, Read(DecodeSeq(*seq)));
  if (!first.signed_event.SameSignedEvent(signed_event)) return IdConflict(event, first.seq);
  TreeReader reader(*store_);
  reader.Add(tree_.Nodes());
  SHIPLOG_ASSIGN_OR_RETURN(Receipt receipt, MakeReceipt(first, latest_, reader));
  receipt.duplicate = true;
  return std::optional<Receipt>(std::move(receipt));
}

Result<std::optional<StoredRecord>> Ledger::FindEvent(std::string_view actor,
                                                     std::string_view id) const {
  SHIPLOG_ASSIGN_OR_RETURN(auto seq, store_->GetIndex(EventIdKey(actor, id)));
  if (!seq) return std::optional<StoredRecord>();
  if (seq->size() != 8) return Status::Corrupt("an id index entry is not a sequence number");
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, Read(DecodeSeq(*seq)));
  return std::optional<StoredRecord>(std::move(record));
}

namespace {

bool IsStatementEnvelope(const SignedEvent& signed_event) {
  if (signed_event.scheme != dsse::kScheme) return false;
  auto envelope = dsse::Envelope::Parse(signed_event.payload);
  return envelope.ok() && envelope->payload_type == dsse::kInTotoType;
}

// OK when `fact`, read from an in-toto statement, is about the image `deployment`'s request
// applies: a statement is evidence for the artifact its subjects name, so it may join only a
// deployment of one of them.
Status StatementAppliesTo(const Event& fact, const std::optional<DeploymentRequest>& request) {
  const std::string deployment(fact.deployment());
  if (!request) {
    return Status::InvalidArgument("deployment '" + deployment +
                                   "' has no deploy.requested: a statement is evidence for the "
                                   "image a requested deployment applies");
  }
  const std::string digest(ImageDigest(request->image));
  const nlohmann::json fields = fact.ToJson();
  std::vector<std::string> about;
  if (fact.kind() == "gate.result") about.push_back(fields.value("image", ""));
  for (const auto& subject : fields.value("subjects", nlohmann::json::array())) {
    about.push_back(subject.get<std::string>());
  }
  for (const std::string& image : about) {
    if (ImageDigest(image) == digest) return Status::Ok();
  }
  return Status::InvalidArgument("the statement's subjects do not include deployment '" +
                                 deployment + "''s image " + digest);
}

}  // namespace

Result<CheckedEvent> CheckEvent(SignedEvent signed_event) {
  SHIPLOG_RETURN_IF_ERROR(signed_event.VerifySignature());
  SHIPLOG_ASSIGN_OR_RETURN(Event event, signed_event.ReadEvent());
  const bool from_statement = IsStatementEnvelope(signed_event);
  return CheckedEvent{std::move(signed_event), std::move(event), from_statement};
}

Result<CheckedEvent> Ledger::CheckEnvelope(std::string envelope_text,
                                           std::string_view deployment) const {
  SHIPLOG_ASSIGN_OR_RETURN(dsse::Envelope envelope, dsse::Envelope::Parse(envelope_text));
  if (envelope.payload_type != dsse::kShiplogEventType &&
      envelope.payload_type != dsse::kInTotoType) {
    // EnvelopeEvents names the types taken; ask it before any key is looked for.
    return EnvelopeEvents(envelope, "", deployment).status();
  }
  if (std::none_of(envelope.signatures.begin(), envelope.signatures.end(),
                   [](const dsse::Signature& s) { return s.sig.size() == kSignatureSize; })) {
    return Status::InvalidArgument(
        "no signature in the envelope is an Ed25519 signature (64 bytes; the first is " +
        std::to_string(envelope.signatures.front().sig.size()) +
        ", as ECDSA and RSA signatures are): shiplog takes DSSE envelopes signed with enrolled "
        "Ed25519 keys only");
  }
  const KeyRegistry registry = keys();
  const KeyInfo* signer = nullptr;
  std::string signature;  // the first signature whose keyid names a live key
  for (const dsse::Signature& s : envelope.signatures) {
    for (const auto& [public_key, info] : registry.keys()) {
      if (info.active() && dsse::KeyId(public_key) == s.keyid) signer = &info;
    }
    if (signer) {
      signature = s.sig;
      break;
    }
  }
  if (!signer) {
    return Status::InvalidArgument(
        "no signature's keyid names an enrolled, unrevoked key (shiplog names a key by the hex "
        "SHA-256 of its 32 raw bytes, as `shiplog key show` prints it)");
  }
  SHIPLOG_RETURN_IF_ERROR(dsse::Verify(envelope, signer->public_key));
  SHIPLOG_ASSIGN_OR_RETURN(std::vector<Event> candidates,
                           EnvelopeEvents(envelope, signer->name, deployment));
  const bool from_statement = envelope.payload_type == dsse::kInTotoType;
  std::optional<Event> chosen;
  if (!from_statement) {
    chosen = std::move(candidates.front());
  } else {
    std::optional<DeploymentRequest> request;
    {
      std::lock_guard<std::mutex> lock(mu_);
      SHIPLOG_ASSIGN_OR_RETURN(request, RequestOf(deployment));
    }
    Status applies;
    for (Event& candidate : candidates) {
      applies = StatementAppliesTo(candidate, request);
      if (applies.ok()) {
        chosen = std::move(candidate);
        break;
      }
    }
    SHIPLOG_RETURN_IF_ERROR(applies);
    if (!chosen) return Status::Internal("an in-toto statement stood for no fact");
  }
  SignedEvent signed_event = DsseSignedEvent(std::move(envelope_text), signer->public_key,
                                             std::move(signature), *chosen);
  return CheckedEvent{std::move(signed_event), std::move(*chosen), from_statement};
}

Result<std::optional<DeploymentRequest>> Ledger::RequestOf(std::string_view deployment) const {
  return requests_->Find(deployment);
}

Result<Receipt> Ledger::Append(const SignedEvent& signed_event) {
  SHIPLOG_ASSIGN_OR_RETURN(CheckedEvent checked, CheckEvent(signed_event));
  std::vector<CheckedEvent> one;
  one.push_back(std::move(checked));
  return std::move(AppendBatch(std::move(one)).front());
}

// One record of a batch being built: stored with the others under one fsync.
struct Ledger::PendingRecord {
  StoredRecord record;
  bool denied = false;  // the policy.denied record of a denied intent
};

std::vector<Result<Receipt>> Ledger::AppendBatch(std::vector<CheckedEvent> events) {
  std::vector<Result<Receipt>> out(events.size(), Result<Receipt>(Status::Internal("not appended")));
  std::vector<PendingRecord> pending;
  // out[i] answers events[i] with pending[*which[i]] (a repeat within the batch: its first).
  std::vector<std::optional<size_t>> which(events.size());
  std::vector<bool> repeat(events.size(), false);
  Checkpoint checkpoint;
  std::vector<TreeNodePut> nodes;  // enough of the tree to prove every pending record
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!broken_.ok()) {
      for (auto& r : out) r = broken_;
      return out;
    }
    // A shared store's append lock, held from before the catch-up until the commit ends it; a
    // batch that stores nothing lets it go here.
    struct Unlock {
      Store& store;
      ~Unlock() { store.UnlockAppends(); }
    } unlock{*store_};
    if (store_->Shared()) {
      auto count = store_->LockAppends();
      Status caught = count.ok() ? CatchUp(*count) : count.status();
      if (!caught.ok()) {
        // A lost connection is waited out; records gone from the database stop appends.
        if (caught.code() == StatusCode::kUnavailable || caught.code() == StatusCode::kCorrupt) {
          Refuse(StoppedBy(caught, "reading the log before an append failed"));
        }
        for (auto& r : out) r = broken_.ok() ? caught : broken_;
        return out;
      }
    }
    const TreeFrontier before = tree_;
    StoreBatch batch;
    batch.first_seq = size_;
    std::vector<TreeNodePut> completed;
    std::map<std::string, size_t> ids;  // EventIdKey -> index into pending, for this batch
    for (size_t i = 0; i < events.size(); ++i) {
      CheckedEvent& e = events[i];
      const std::string id_key = EventIdKey(e.event.actor(), e.event.id());
      if (auto it = ids.find(id_key); it != ids.end()) {
        const StoredRecord& first = pending[it->second].record;
        if (Status signer = AuthorizeRepeat(registry_, e.event, e.signed_event.public_key);
            !signer.ok()) {
          out[i] = signer;
        } else if (first.signed_event.payload != e.signed_event.payload) {
          out[i] = IdConflict(e.event, first.seq);
        } else {
          which[i] = it->second;
          repeat[i] = true;
        }
        continue;
      }
      auto duplicate = FindDuplicate(e.event, e.signed_event);
      if (!duplicate.ok() || *duplicate) {
        out[i] = duplicate.ok() ? Result<Receipt>(std::move(**duplicate))
                                : Result<Receipt>(duplicate.status());
        continue;
      }
      auto staged = Stage(std::move(e), batch, completed);
      if (!staged.ok()) {
        out[i] = staged.status();
        continue;
      }
      if (!staged->denied) ids.emplace(id_key, pending.size());
      which[i] = pending.size();
      pending.push_back(std::move(*staged));
    }
    if (pending.empty()) return out;

    TreeReader reader(*store_);
    auto sealed = SealBatch(before, tree_, completed, last_time_, reader, batch);
    Status committed = sealed.status();
    if (committed.ok()) {
      batch.meta_puts.emplace_back(kRecordCountKey, EncodeSeq(size_));
      committed = store_->Commit(batch);
    }
    // Durable outside the database too before any receipt: see ledger/witness.h.
    if (committed.ok() && witness_) committed = witness_->Record(*sealed);
    if (!committed.ok()) {
      // The registry, the gate and the request cache already hold the batch: nothing may be
      // appended on top of a state the disk does not have.
      Refuse(StoppedBy(committed));
      for (size_t i = 0; i < events.size(); ++i) {
        if (which[i]) out[i] = broken_;
      }
      return out;
    }
    latest_ = *sealed;
    PublishKeys();
    checkpoint = latest_;
    nodes = before.Nodes();
    nodes.insert(nodes.end(), completed.begin(), completed.end());
    requests_->Trim();
    if (gate_) gate_->Committed();
  }
  // Receipts are signed outside the sequencer: the records and their tree are durable now.
  TreeReader reader(*store_);
  reader.Add(nodes);
  std::vector<std::optional<Result<Receipt>>> made(pending.size());
  for (size_t i = 0; i < events.size(); ++i) {
    if (!which[i]) continue;
    auto& receipt = made[*which[i]];
    if (!receipt) {
      const PendingRecord& p = pending[*which[i]];
      receipt = MakeReceipt(p.record, checkpoint, reader);
    }
    out[i] = *receipt;
    if (repeat[i] && out[i].ok()) out[i]->duplicate = true;
  }
  return out;
}

Result<Ledger::PendingRecord> Ledger::Stage(CheckedEvent checked, StoreBatch& batch,
                                            std::vector<TreeNodePut>& completed) {
  SignedEvent& signed_event = checked.signed_event;
  Event& event = checked.event;
  SHIPLOG_RETURN_IF_ERROR(registry_.Authorize(event, signed_event.public_key));
  if (checked.from_statement) {
    SHIPLOG_ASSIGN_OR_RETURN(auto request, RequestOf(event.deployment()));
    SHIPLOG_RETURN_IF_ERROR(StatementAppliesTo(event, request));
  }
  KeyInfo signer = *registry_.Find(signed_event.public_key);
  const Micros time = NextLedgerTime();
  AppendGate::Verdict verdict;
  if (gate_) verdict = gate_->Admit(event, signer, time);
  SHIPLOG_RETURN_IF_ERROR(verdict.status);
  const uint64_t seq = size_;
  if (verdict.denied) {
    SHIPLOG_ASSIGN_OR_RETURN(Event denial, DenialEvent(event, signed_event, verdict.decision));
    signed_event = SignedEvent::Sign(denial, ledger_key_);
    event = std::move(denial);
    signer = LedgerSigner();
  }
  StoredRecord record = MakeRecord(seq, time, manual_clock_, std::move(signed_event),
                                   std::move(event), verdict.decision);
  if (record.entry.size() > kMaxEntryBytes) {
    return Status::InvalidArgument(
        "the record would be " + std::to_string(record.entry.size()) +
        " bytes; a record must be under 64 KiB, so that every entry fits a tlog-tiles entry "
        "bundle (make the event smaller)");
  }
  SHIPLOG_ASSIGN_OR_RETURN(IndexContext context, AppendContext(record));
  SHIPLOG_ASSIGN_OR_RETURN(merkle::Hash leaf, HashFromBytes(record.leaf_hash, "leaf hash"));
  // Nothing below fails: the record joins the batch and the state the batch's later events see.
  AddToBatch(batch, record, context);
  tree_.Append(leaf, &completed);
  size_ = seq + 1;
  last_time_ = time;
  registry_.Apply(record.event, seq);
  requests_->Note(record);
  if (gate_) gate_->Appended(seq, time, record.event, signer);
  return PendingRecord{std::move(record), verdict.denied};
}

Result<IndexContext> Ledger::AppendContext(const StoredRecord& record) {
  IndexContext context;
  context.signer_roles = SignerRoles(record, registry_);
  if (!record.event.deployment().empty()) {
    SHIPLOG_ASSIGN_OR_RETURN(context.request, requests_->Find(record.event.deployment()));
  }
  return context;
}

Result<Checkpoint> Ledger::SealBatch(const TreeFrontier& before, const TreeFrontier& next,
                                     const std::vector<TreeNodePut>& completed, Micros time,
                                     TreeReader& reader, StoreBatch& batch) const {
  const TreeHead& last = latest_.head;
  TreeHead head{origin_, next.size(), next.Root(), time, manual_clock_};
  if (head.time < last.time) {
    return Status::Internal("refusing to sign a checkpoint at " + FormatTime(head.time) +
                            ": the last one is at " + FormatTime(last.time));
  }
  // Prove the new tree extends the one last signed, from the nodes in hand: the old right edge
  // and what this batch completed.
  reader.Add(before.Nodes());
  reader.Add(completed);
  std::vector<merkle::Hash> proof =
      merkle::ConsistencyProof(last.size, head.size, reader.AsSubtreeRoot());
  SHIPLOG_RETURN_IF_ERROR(reader.status());
  if (!merkle::VerifyConsistency(last.size, head.size, last.root, head.root, proof)) {
    return Status::Corrupt("refusing to sign a checkpoint at size " + std::to_string(head.size) +
                           ": the tree is not consistent with the checkpoint at size " +
                           std::to_string(last.size) + " (run `shiplog verify`)");
  }
  // A signed checkpoint is never replaced: one already at this size, or beyond it, means records
  // went missing.
  SHIPLOG_ASSIGN_OR_RETURN(auto existing, store_->GetIndex(CheckpointKey(head.size)));
  if (existing) {
    return Status::Corrupt("refusing to sign a second checkpoint at size " +
                           std::to_string(head.size) + " (run `shiplog verify`)");
  }
  if (witness_ && witness_->latest() && witness_->latest()->head.size >= head.size) {
    return Status::Corrupt("refusing to sign a checkpoint at size " + std::to_string(head.size) +
                           ": " + witness_->path() + " already holds one at size " +
                           std::to_string(witness_->latest()->head.size));
  }
  Checkpoint checkpoint = Checkpoint::Sign(head, ledger_key_);
  batch.index_puts.insert(batch.index_puts.end(), completed.begin(), completed.end());
  batch.index_puts.emplace_back(CheckpointKey(head.size), checkpoint.note);
  return checkpoint;
}

Result<Event> Ledger::DenialEvent(const Event& denied, const SignedEvent& signed_event,
                                  const std::string& decision) const {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<schema::Event>();
  // The denial's id names the attempt; the intent's own (actor, id) stays free for a retry.
  std::string id = "denied:" + HexEncode(AsBytes(Sha256(signed_event.payload))).substr(0, 32) +
                   ":" + std::to_string(size_);
  event.setId(TextOf(id));
  event.setActor(TextOf(kLedgerActor));
  event.setDeployment(TextOf(denied.deployment()));
  auto body = event.initBody().initPolicyDenied();
  body.setPayload(DataOf(signed_event.payload));
  body.setPublicKey(DataOf(signed_event.public_key));
  body.setSignature(DataOf(signed_event.signature));
  body.setDecision(TextOf(decision));
  if (signed_event.scheme != kSchemeEd25519Capnp) {
    body.setScheme(TextOf(signed_event.scheme));
    body.setEvent(DataOf(signed_event.event));
  }
  return Event::FromBuilder(event.asReader());
}

Result<Receipt> Ledger::MakeReceipt(const StoredRecord& record, const Checkpoint& checkpoint,
                                    TreeReader& reader) const {
  std::vector<merkle::Hash> path =
      merkle::InclusionProof(record.seq, checkpoint.head.size, reader.AsSubtreeRoot());
  SHIPLOG_RETURN_IF_ERROR(reader.status());
  return Receipt::Of(record, ledger_key_.PublicKey(), checkpoint.note, std::move(path));
}

// ---- reading ----

uint64_t Ledger::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return size_;
}

std::string Ledger::public_key() const { return ledger_key_.PublicKey(); }

KeyRegistry Ledger::keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return registry_;
}

Result<std::string> Ledger::EnrolledName(const SigningKey& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  const KeyInfo* info = registry_.Find(key.PublicKey());
  if (info == nullptr) {
    return Status::UnknownKey("key " + HexEncode(key.PublicKey()) + " is not enrolled in this ledger");
  }
  return info->name;
}

std::optional<KeyInfo> Ledger::KeyByKeyId(std::string_view keyid) const {
  std::shared_ptr<const KeyRegistry> keys;
  {
    std::lock_guard<std::mutex> lock(published_keys_mu_);
    keys = published_keys_;
  }
  const KeyInfo* info = keys ? keys->FindByKeyId(keyid) : nullptr;
  if (info == nullptr) return std::nullopt;
  return *info;
}

void Ledger::PublishKeys() {
  std::lock_guard<std::mutex> lock(published_keys_mu_);
  if (published_keys_ && published_keys_->changes() == registry_.changes()) return;
  published_keys_ = std::make_shared<const KeyRegistry>(registry_);
}

Result<StoredRecord> Ledger::Read(uint64_t seq) const {
  SHIPLOG_ASSIGN_OR_RETURN(auto value, store_->GetRecord(seq));
  if (!value) return Status::NotFound("no record " + std::to_string(seq));
  return DecodeRecord(seq, *value, internal::EventCheck::kOwnRecord);
}

namespace {

// A run of records a scan has read: their bytes as the store gave them, then, once one of the
// scan's two threads has decoded them, the records.
struct RecordChunk {
  static constexpr size_t kRecords = 64;

  enum class State { kRead, kDecoding, kDecoded };

  void Add(uint64_t seq, std::string_view value) {
    bytes.append(value);
    seqs.push_back(seq);
    ends.push_back(bytes.size());
  }
  bool full() const { return seqs.size() == kRecords; }

  // Decodes every record it read, or those before the first that does not decode (`status`
  // then says why, and the scan ends after them).
  void Decode() {
    records.reserve(seqs.size());
    size_t begin = 0;
    for (size_t i = 0; i < seqs.size(); ++i) {
      auto record = internal::DecodeRecord(
          seqs[i], std::string_view(bytes).substr(begin, ends[i] - begin),
          internal::EventCheck::kOwnRecord);
      if (!record.ok()) {
        status = record.status();
        break;
      }
      records.push_back(std::move(record).value());
      begin = ends[i];
    }
  }

  // Visits the decoded records in order; the decoding's failure after them. `going` is set false
  // when `visit` stops the scan.
  Status Visit(const Ledger::RecordVisitor& visit, bool* going = nullptr) const {
    for (const StoredRecord& record : records) {
      if (!visit(record)) {
        if (going) *going = false;
        return Status::Ok();
      }
    }
    return status;
  }

  State state = State::kRead;  // guarded by RecordChunks' lock while the chunk is queued
  std::string bytes;           // the values read, end to end
  std::vector<uint64_t> seqs;
  std::vector<size_t> ends;    // where each value ends in `bytes`
  std::vector<StoredRecord> records;
  Status status;
};

// The chunks of a scan between the thread that reads them and the thread that visits them.
// Reading a record costs about 1.1 µs, decoding it 2.0 and replay's fold of it 1.45 (perf), so
// neither thread may decode them all: the reader reads ahead, the visitor decodes the chunk it
// comes to if nobody has, and the reader, its queue full, decodes the newest nobody has claimed.
// Whoever is idle decodes, and the two cores stay busy.
class RecordChunks {
 public:
  static constexpr size_t kChunksAhead = 8;  // chunks queued before the reader stops reading

  // Queues a chunk the reader read; while the queue is full, decodes chunks nobody has claimed,
  // or waits. False once the visitor has stopped, so the reader stops too. Frees the chunks the
  // visitor handed back on the thread that allocated most of them: glibc's malloc (the sanitized
  // builds') frees into the allocating thread's arena under its lock, and freeing on the
  // visitor's thread made a replay slower on two threads than on one.
  bool Push(std::unique_ptr<RecordChunk> chunk) {
    std::deque<std::unique_ptr<RecordChunk>> spent;
    std::unique_lock<std::mutex> lock(mu_);
    spent.swap(spent_);
    while (chunks_.size() >= kChunksAhead && !stopped_) {
      if (!DecodeOneUnclaimed(lock)) room_.wait(lock);
    }
    if (stopped_) return false;
    chunks_.push_back(std::move(chunk));
    ready_.notify_one();
    return true;
  }

  // The reader's last call, with how its scan ended: it decodes what nobody has claimed yet.
  void Finish(Status status) {
    std::unique_lock<std::mutex> lock(mu_);
    status_ = std::move(status);
    finished_ = true;
    ready_.notify_one();
    while (!stopped_ && DecodeOneUnclaimed(lock)) {
    }
  }

  // The next chunk in order, decoded, after handing back `spent` (the one visited); null once
  // the reader has finished and every chunk was taken.
  std::unique_ptr<RecordChunk> Pop(std::unique_ptr<RecordChunk> spent) {
    std::unique_lock<std::mutex> lock(mu_);
    if (spent && !finished_) spent_.push_back(std::move(spent));
    ready_.wait(lock, [&] {
      return chunks_.empty() ? finished_ : chunks_.front()->state != RecordChunk::State::kDecoding;
    });
    if (chunks_.empty()) return nullptr;
    std::unique_ptr<RecordChunk> chunk = std::move(chunks_.front());
    chunks_.pop_front();
    room_.notify_one();
    if (chunk->state == RecordChunk::State::kRead) {
      lock.unlock();
      chunk->Decode();
    }
    return chunk;
  }

  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    room_.notify_one();
  }

  // How the reader's scan ended. REQUIRES: Pop() returned null.
  Status status() const {
    std::lock_guard<std::mutex> lock(mu_);
    return status_;
  }

 private:
  // Claims the newest queued chunk nobody is decoding, the last the visitor will come to, and
  // decodes it outside the lock; false when there is none. (The oldest would often be the one
  // the visitor takes next, and it would wait for it.)
  bool DecodeOneUnclaimed(std::unique_lock<std::mutex>& lock) {
    auto unclaimed = std::find_if(chunks_.rbegin(), chunks_.rend(), [](const auto& chunk) {
      return chunk->state == RecordChunk::State::kRead;
    });
    if (unclaimed == chunks_.rend()) return false;
    RecordChunk& chunk = **unclaimed;  // stays queued, and so alive, until it is decoded
    chunk.state = RecordChunk::State::kDecoding;
    lock.unlock();
    chunk.Decode();
    lock.lock();
    chunk.state = RecordChunk::State::kDecoded;
    ready_.notify_one();
    return true;
  }

  mutable std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<std::unique_ptr<RecordChunk>> chunks_;
  std::deque<std::unique_ptr<RecordChunk>> spent_;  // visited, for the reader to free
  Status status_;
  bool finished_ = false;
  bool stopped_ = false;
};

}  // namespace

Status Ledger::Scan(uint64_t from, const RecordVisitor& visit, uint64_t end) const {
  if (end <= from) return Status::Ok();
  if (end - from <= RecordChunk::kRecords) {
    // A chunk or less (a catch-up with another server's commit, a short query): no thread.
    RecordChunk chunk;
    SHIPLOG_RETURN_IF_ERROR(store_->ScanRecords(from, [&](uint64_t seq, std::string_view value) {
      if (seq >= end) return false;
      chunk.Add(seq, value);
      return true;
    }));
    chunk.Decode();
    return chunk.Visit(visit);
  }
  RecordChunks chunks;
  std::thread reader([&] {
    auto chunk = std::make_unique<RecordChunk>();
    Status read = store_->ScanRecords(from, [&](uint64_t seq, std::string_view value) {
      if (seq >= end) return false;
      chunk->Add(seq, value);
      if (!chunk->full()) return true;
      return chunks.Push(std::exchange(chunk, std::make_unique<RecordChunk>()));
    });
    if (!chunk->seqs.empty()) chunks.Push(std::move(chunk));
    chunks.Finish(std::move(read));
  });
  // The reader is stopped and joined on every way out, a visitor's exception among them.
  struct StopAndJoin {
    RecordChunks& chunks;
    std::thread& reader;
    ~StopAndJoin() {
      chunks.Stop();
      reader.join();
    }
  } stop_and_join{chunks, reader};
  std::unique_ptr<RecordChunk> chunk;
  bool going = true;
  while (going && (chunk = chunks.Pop(std::move(chunk)))) {
    SHIPLOG_RETURN_IF_ERROR(chunk->Visit(visit, &going));
  }
  return going ? chunks.status() : Status::Ok();
}

namespace {

// The index prefixes a filter names, the one to drive the scan first: fields whose values
// usually hold few records (a deployment, an image, waivers, denials) before broad ones.
std::vector<std::string> QueryPrefixes(const QueryFilter& filter) {
  std::vector<std::string> prefixes;
  auto add = [&](IndexField field, std::string_view value) {
    if (!value.empty()) prefixes.push_back(IndexPrefix(field, value));
  };
  add(IndexField::kDeployment, filter.deployment);
  add(IndexField::kImage, ImageDigest(filter.image));
  if (const size_t at = filter.source.rfind('@'); at != std::string::npos) {
    add(IndexField::kSource,
        SourceKey(filter.source.substr(0, at), filter.source.substr(at + 1)));
  } else {
    add(IndexField::kSource, filter.source);
  }
  if (filter.waivers) add(IndexField::kOutcome, "waived");
  if (filter.decision == "denied") add(IndexField::kOutcome, "denied");
  add(IndexField::kActor, filter.actor);
  add(IndexField::kApp, filter.app);
  add(IndexField::kStep, filter.step);
  add(IndexField::kEnvironment, filter.environment);
  add(IndexField::kRole, filter.role);
  add(IndexField::kKind, filter.kind);
  if (filter.decision == "allowed") add(IndexField::kOutcome, "allowed");
  return prefixes;
}

}  // namespace

Result<uint64_t> Ledger::FirstSeqAtOrAfter(Micros time, uint64_t size) const {
  uint64_t low = 0, high = size;
  while (low < high) {
    const uint64_t mid = low + (high - low) / 2;
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, Read(mid));
    if (record.ledger_time < time) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return low;
}

Result<std::pair<uint64_t, uint64_t>> Ledger::QueryRange(const QueryFilter& filter) const {
  if (!filter.decision.empty() && filter.decision != "allowed" && filter.decision != "denied") {
    return Status::InvalidArgument("a decision is 'allowed' or 'denied', not '" +
                                   filter.decision + "'");
  }
  const uint64_t size = this->size();
  uint64_t first = filter.from_seq;
  uint64_t end = size;
  if (filter.to_seq && *filter.to_seq < size) end = *filter.to_seq + 1;
  if (filter.since) {
    SHIPLOG_ASSIGN_OR_RETURN(uint64_t since, FirstSeqAtOrAfter(*filter.since, size));
    first = std::max(first, since);
  }
  if (filter.until) {
    SHIPLOG_ASSIGN_OR_RETURN(uint64_t until, FirstSeqAtOrAfter(*filter.until, size));
    end = std::min(end, until);
  }
  return std::make_pair(first, std::max(first, end));
}

Status Ledger::QuerySeqs(const QueryFilter& filter, const SeqVisitor& visit) const {
  SHIPLOG_ASSIGN_OR_RETURN(auto range, QueryRange(filter));
  const auto [first, end] = range;
  const std::vector<std::string> prefixes = QueryPrefixes(filter);
  if (prefixes.empty()) {
    for (uint64_t seq = first; seq < end && visit(seq); ++seq) {
    }
    return Status::Ok();
  }
  if (first >= end) return Status::Ok();
  Status status;
  const std::string& driver = prefixes.front();
  SHIPLOG_RETURN_IF_ERROR(store_->ScanIndex(
      driver, driver + EncodeSeq(first), [&, end = end](std::string_view key, std::string_view) {
        const uint64_t seq = IndexKeySeq(key);
        if (seq >= end) return false;
        const std::string seq_bytes = EncodeSeq(seq);
        for (size_t i = 1; i < prefixes.size(); ++i) {
          auto entry = store_->GetIndex(prefixes[i] + seq_bytes);
          if (!entry.ok()) {
            status = entry.status();
            return false;
          }
          if (!*entry) return true;
        }
        return visit(seq);
      }));
  return status;
}

Status Ledger::Query(const QueryFilter& filter, const RecordVisitor& visit) const {
  if (QueryPrefixes(filter).empty()) {
    // Every record of a range: one sequential scan, not a point read per record.
    SHIPLOG_ASSIGN_OR_RETURN(auto range, QueryRange(filter));
    const auto [first, end] = range;
    if (first >= end) return Status::Ok();
    return Scan(first, visit, end);
  }
  Status status;
  SHIPLOG_RETURN_IF_ERROR(QuerySeqs(filter, [&](uint64_t seq) {
    auto record = Read(seq);
    if (!record.ok()) {
      status = record.status();
      return false;
    }
    return visit(*record);
  }));
  return status;
}

// ---- checkpoints and proofs ----

Checkpoint Ledger::LatestCheckpoint() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

Result<Checkpoint> Ledger::CheckpointAt(uint64_t size) const {
  SHIPLOG_ASSIGN_OR_RETURN(auto note, store_->GetIndex(CheckpointKey(size)));
  if (!note) return Status::NotFound("no checkpoint was signed at size " + std::to_string(size));
  return internal::OpenStoredCheckpoint(size, *note, ledger_key_, origin_);
}

Status Ledger::ScanCheckpoints(uint64_t from_size, const CheckpointVisitor& visit) const {
  Status status;
  SHIPLOG_RETURN_IF_ERROR(store_->ScanIndex(
      "c/", CheckpointKey(from_size), [&](std::string_view key, std::string_view) {
        auto checkpoint = CheckpointAt(DecodeSeq(key.substr(2)));
        if (!checkpoint.ok()) {
          status = checkpoint.status();
          return false;
        }
        return visit(*checkpoint);
      }));
  return status;
}

Result<InclusionProof> Ledger::ProveInclusion(uint64_t seq, std::optional<uint64_t> size) const {
  Checkpoint checkpoint = LatestCheckpoint();
  if (size && *size != checkpoint.head.size) {
    if (*size > checkpoint.head.size) {
      return Status::NotFound("the ledger holds " + std::to_string(checkpoint.head.size) +
                              " records, fewer than " + std::to_string(*size));
    }
    SHIPLOG_ASSIGN_OR_RETURN(checkpoint, CheckpointAt(*size));
  }
  if (seq >= checkpoint.head.size) {
    return Status::NotFound("record " + std::to_string(seq) + " is not in the tree of size " +
                            std::to_string(checkpoint.head.size));
  }
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, Read(seq));
  InclusionProof proof;
  proof.seq = seq;
  SHIPLOG_ASSIGN_OR_RETURN(proof.leaf_hash, HashFromBytes(record.leaf_hash, "leaf hash"));
  TreeReader reader(*store_);
  proof.path = merkle::InclusionProof(seq, checkpoint.head.size, reader.AsSubtreeRoot());
  SHIPLOG_RETURN_IF_ERROR(reader.status());
  proof.checkpoint = std::move(checkpoint);
  return proof;
}

Result<ConsistencyProof> Ledger::ProveConsistency(uint64_t from, uint64_t to) const {
  if (from == 0 || from > to) {
    return Status::InvalidArgument("a consistency proof needs 0 < from <= to (got " +
                                   std::to_string(from) + " and " + std::to_string(to) + ")");
  }
  ConsistencyProof proof;
  SHIPLOG_ASSIGN_OR_RETURN(proof.old_checkpoint, CheckpointAt(from));
  SHIPLOG_ASSIGN_OR_RETURN(proof.new_checkpoint, CheckpointAt(to));
  TreeReader reader(*store_);
  proof.path = merkle::ConsistencyProof(from, to, reader.AsSubtreeRoot());
  SHIPLOG_RETURN_IF_ERROR(reader.status());
  return proof;
}

// ---- time ----

Micros Ledger::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return NextLedgerTime();
}

Status Ledger::AdvanceClock(Micros by) {
  if (by < 0) return Status::InvalidArgument("the clock only moves forward");
  Micros to;
  {
    std::lock_guard<std::mutex> lock(mu_);
    to = manual_now_ + by;
  }
  return SetClock(to);
}

Status Ledger::SetClock(Micros to) {
  if (!manual_clock_) {
    return Status::InvalidArgument(
        "this ledger runs on the system clock; only a ledger made with `init --manual-clock` "
        "takes its time from `shiplog clock`");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (to < last_time_) {
    return Status::InvalidArgument("cannot set the clock to " + FormatTime(to) +
                                   ": the last record is at " + FormatTime(last_time_) +
                                   " and ledger time never goes backwards");
  }
  SHIPLOG_RETURN_IF_ERROR(store_->PutMeta(kManualClockKey, std::to_string(to)));
  manual_now_ = to;
  return Status::Ok();
}

}  // namespace shiplog
