// rapidcheck properties of the ledger:
//   (1) any sequence of valid events appended reads back byte-identical;
//   (2) sequence numbers have no gaps and ledger time never decreases;
//   (3) flipping any bit of any stored record is detected by Verify(), which names that record;
//   (4) swapping two stored records is detected and the lower one is named.
//
// Cost control: (1) and (2) share one ledger across all cases; (3) and (4) build one template
// ledger once and tamper with a copy of its directory per case.
#include <gtest/gtest.h>  // before rapidcheck/gtest.h, which uses it
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rocksdb/db.h>

#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::EncodeSeq;
using shiplog::Ledger;
using shiplog::Receipt;
using shiplog::SignedEvent;
using shiplog::SigningKey;
using shiplog::StoredRecord;

// ---- generators (called inside properties: each * picks a value) ----

std::string GenText(int max_len = 12) {
  static const std::vector<std::string> kAlphabet = {
      "a", "b", "c", "x", "y", "z", "0", "7", "-", "_", ".", " ", "/", "é", "✓", "東", "\"", "\\"};
  const int len = *rc::gen::inRange(1, max_len + 1);
  std::string s;
  for (int i = 0; i < len; ++i) s += *rc::gen::elementOf(kAlphabet);
  return s;
}

// An identifier (ids, actors, deployments): letters, digits and ._-:@/+ (event.cc's rule).
std::string GenIdent(int max_len = 12) {
  static const std::string kChars = "abcxyzABZ0179._-:@/+";
  const int len = *rc::gen::inRange(1, max_len + 1);
  std::string s;
  for (int i = 0; i < len; ++i) s += kChars[*rc::gen::inRange<size_t>(0, kChars.size())];
  return s;
}

std::string GenCase(const std::string& word) {
  std::string out = word;
  for (char& c : out) {
    if (*rc::gen::arbitrary<bool>()) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

// A valid event of a deployment-level kind for `actor`.
json GenEvent(const std::string& actor) {
  const std::string deployment = "dep-" + GenIdent(6);
  const int kind = *rc::gen::inRange(0, 11);
  switch (kind) {
    case 0:
      return EventJson("step.started", actor, deployment, {{"step", GenText()}, {"image", kImage}});
    case 1: {
      json blockers = json::array();
      const int n = *rc::gen::inRange(0, 3);
      for (int i = 0; i < n; ++i) blockers.push_back(GenText());
      return EventJson("step.reported", actor, deployment,
                       {{"step", GenText()},
                        {"status", GenCase(*rc::gen::elementOf(std::vector<std::string>{
                                       "ready", "blocked", "failed"}))},
                        {"details", GenText(30)},
                        {"blockers", blockers}});
    }
    case 2: {
      json metrics = json::object();
      const int n = *rc::gen::inRange(0, 4);
      for (int i = 0; i < n; ++i) {
        metrics["m" + std::to_string(i)] = *rc::gen::inRange(-100000, 100000) / 1000.0;
      }
      return EventJson("gate.result", actor, deployment,
                       {{"gate", GenText()},
                        {"outcome", *rc::gen::elementOf(std::vector<std::string>{"pass", "fail", "PASS"})},
                        {"metrics", metrics}});
    }
    case 3:
      return TrafficShiftedJson(actor, *rc::gen::inRange(0, 101), deployment);
    case 4:
      return EventJson("review", actor, deployment,
                       {{"subject", GenText()},
                        {"verdict", *rc::gen::elementOf(std::vector<std::string>{"approved", "rejected"})},
                        {"comment", GenText(40)}});
    case 5:
      return EventJson("rollback.started", actor, deployment, {{"zone", GenText()}, {"reason", GenText(30)}});
    case 6:
      return EventJson("backup.verified", actor, deployment,
                       {{"scope", GenText()}, {"backup_id", GenText()},
                        {"restore_tested", *rc::gen::arbitrary<bool>()}});
    case 7:
      return EventJson("incident.opened", actor, "",
                       {{"environment", GenText()}, {"incident", GenText()}});
    case 8: {
      const Micros from = kT0 + *rc::gen::inRange(0, 1000000) * shiplog::kMicrosPerSecond;
      return EventJson("maintenance.window", actor, "",
                       {{"environment", GenText()},
                        {"from", shiplog::FormatTime(from)},
                        {"to", shiplog::FormatTime(from + 3600 * shiplog::kMicrosPerSecond)}});
    }
    case 9:
      return EventJson("waiver.granted", actor, deployment, {{"rule", "R" + std::to_string(*rc::gen::inRange(1, 18))},
                                                             {"reason", GenText(30)}});
    default:
      return EventJson("deploy.completed", actor, deployment, {{"summary", GenText(20)}});
  }
}

// ---- (1) and (2): one ledger shared by every case ----

struct SharedLedger {
  SharedLedger() {
    t.Create();
    for (int i = 0; i < 3; ++i) {
      agents.push_back(SigningKey::Generate());
      names.push_back("agent" + std::to_string(i));
      t.Enroll(names.back(), agents.back());
    }
  }
  TestLedger t;
  std::vector<SigningKey> agents;
  std::vector<std::string> names;
};

std::unique_ptr<SharedLedger> g_shared;

SharedLedger& Shared() {
  if (!g_shared) g_shared = std::make_unique<SharedLedger>();
  return *g_shared;
}

RC_GTEST_PROP(LedgerProperties, AppendedEventsReadBackByteIdentical, ()) {
  SharedLedger& s = Shared();
  Ledger& ledger = *s.t.ledger;
  const int n = *rc::gen::inRange(1, 6);
  std::vector<std::pair<SignedEvent, Receipt>> appended;
  for (int i = 0; i < n; ++i) {
    const size_t who = *rc::gen::inRange<size_t>(0, s.agents.size());
    const json j = GenEvent(s.names[who]);
    auto event = shiplog::Event::FromJson(j);
    RC_ASSERT(event.ok());
    // The JSON form round trips to the same bytes.
    auto again = shiplog::Event::FromJson(event->ToJson());
    RC_ASSERT(again.ok());
    RC_ASSERT(again->bytes() == event->bytes());

    const SignedEvent signed_event = SignedEvent::Sign(*event, s.agents[who]);
    s.t.clock.Advance(*rc::gen::inRange(0, 120) * shiplog::kMicrosPerSecond);
    auto receipt = ledger.Append(signed_event);
    if (!receipt.ok()) RC_FAIL("append failed: " + receipt.status().ToString() + " for " + j.dump());
    RC_ASSERT(!receipt->duplicate);
    appended.emplace_back(signed_event, *receipt);
  }
  for (const auto& [signed_event, receipt] : appended) {
    auto rec = ledger.Read(receipt.seq);
    RC_ASSERT(rec.ok());
    RC_ASSERT(rec->signed_event.payload == signed_event.payload);
    RC_ASSERT(rec->signed_event.signature == signed_event.signature);
    RC_ASSERT(rec->signed_event.public_key == signed_event.public_key);
    RC_ASSERT(rec->event.bytes() == signed_event.payload);
    RC_ASSERT(rec->leaf_hash == receipt.leaf_hash);
    RC_ASSERT(rec->ledger_time == receipt.ledger_time);
    RC_ASSERT(receipt.Verify(ledger.public_key()).ok());
  }
}

RC_GTEST_PROP(LedgerProperties, SeqNumbersHaveNoGapsAndTimeNeverDecreases, ()) {
  SharedLedger& s = Shared();
  Ledger& ledger = *s.t.ledger;
  const uint64_t before = ledger.size();
  const int n = *rc::gen::inRange(1, 6);
  for (int i = 0; i < n; ++i) {
    const size_t who = *rc::gen::inRange<size_t>(0, s.agents.size());
    // The machine clock wanders both ways; ledger time must not.
    s.t.clock.Advance(*rc::gen::inRange(-300, 300) * shiplog::kMicrosPerSecond);
    auto receipt = ledger.Append(SignJson(GenEvent(s.names[who]), s.agents[who]));
    RC_ASSERT(receipt.ok());
    RC_ASSERT(receipt->seq == before + i);
  }
  RC_ASSERT(ledger.size() == before + n);

  uint64_t expected = 0;
  Micros last_time = INT64_MIN;
  bool ordered = true;
  const Status st = ledger.Scan(0, [&](const StoredRecord& r) {
    if (r.seq != expected || r.ledger_time < last_time) {
      ordered = false;
      return false;
    }
    ++expected;
    last_time = r.ledger_time;
    return true;
  });
  RC_ASSERT(st.ok());
  RC_ASSERT(ordered);
  RC_ASSERT(expected == ledger.size());
}

// ---- (3) and (4): tampering with a copy of a template ledger ----

struct TemplateLedger {
  TemplateLedger() {
    t.Create();
    SigningKey leon = SigningKey::Generate();
    SigningKey rutger = SigningKey::Generate();
    t.Enroll("leon", leon, {"coordinator"});
    t.Enroll("rutger", rutger, {"k8s-operator"});
    t.clock.Advance(shiplog::kMicrosPerMinute);
    t.Append(DeployRequestedJson("leon"), leon);
    t.Append(StepStartedJson("rutger", "staging"), rutger);
    t.clock.Advance(shiplog::kMicrosPerMinute);
    t.Append(StepReportedJson("rutger", "staging"), rutger);
    t.Append(GateResultJson("leon"), leon);
    t.Revoke(rutger);
    t.Append(TrafficShiftedJson("leon", 25), leon);
    t.Append(EventJson("incident.opened", "leon", "",
                       {{"environment", "production"}, {"incident", "INC-9"}}),
             leon);
    size = t.ledger->size();
    t.Close();
  }
  TestLedger t;
  uint64_t size = 0;
};

std::unique_ptr<TemplateLedger> g_template;

const TemplateLedger& Template() {
  if (!g_template) g_template = std::make_unique<TemplateLedger>();
  return *g_template;
}

// Closes the shared ledgers and removes their directories after the last test.
class SharedLedgersEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    g_shared.reset();
    g_template.reset();
  }
};
::testing::Environment* const kSharedLedgersEnvironment =
    ::testing::AddGlobalTestEnvironment(new SharedLedgersEnvironment);

// The RocksDB database of a ledger directory, opened directly with every column family.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    std::vector<std::string> names;
    Check(ToStatus(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names)), "list cfs");
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    Check(ToStatus(rocksdb::DB::Open(rocksdb::DBOptions(), path, cfs, &handles_, &db_)), "open raw db");
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "records") records_ = handles_[i];
    }
    if (records_ == nullptr) throw std::runtime_error("no records column family");
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    delete db_;
  }
  std::string Get(uint64_t seq) {
    std::string value;
    Check(ToStatus(db_->Get(rocksdb::ReadOptions(), records_, EncodeSeq(seq), &value)), "get");
    return value;
  }
  void Put(uint64_t seq, const std::string& value) {
    rocksdb::WriteOptions w;
    w.sync = true;
    Check(ToStatus(db_->Put(w, records_, EncodeSeq(seq), value)), "put");
  }

 private:
  static Status ToStatus(const rocksdb::Status& s) {
    return s.ok() ? Status::Ok() : Status::Internal(s.ToString());
  }
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* records_ = nullptr;
};

// A copy of the template ledger's directory.
std::unique_ptr<TempDir> CopyTemplate() {
  auto copy = std::make_unique<TempDir>();
  std::filesystem::copy(Template().t.dir(), copy->path(), std::filesystem::copy_options::recursive);
  return copy;
}

// After tampering with `bad_seq`: Open refuses with kCorrupt, or Verify() refuses with kCorrupt,
// or Verify() reports !ok naming `bad_seq`. Returns the ledger when Open accepted it.
std::unique_ptr<Ledger> CheckTamperDetected(const std::string& dir, uint64_t bad_seq,
                                            shiplog::Clock* clock) {
  auto ledger = Ledger::Open(dir, clock);
  if (!ledger.ok()) {
    RC_LOG() << "Open refused: " << ledger.status().ToString() << "\n";
    RC_TAG("Open refused");
    RC_ASSERT(ledger.status().code() == StatusCode::kCorrupt);
    return nullptr;
  }
  auto report = (*ledger)->Verify();
  if (!report.ok()) {
    RC_LOG() << "Verify refused: " << report.status().ToString() << "\n";
    RC_TAG("Verify refused");
    RC_ASSERT(report.status().code() == StatusCode::kCorrupt);
  } else {
    // A problem may quote the damaged bytes, which need not be UTF-8: print as the CLI does.
    RC_LOG() << "report: "
             << report->ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
             << "\n";
    RC_TAG("Verify named the record");
    RC_ASSERT(!report->ok);
    RC_ASSERT(report->first_bad_seq.has_value());
    RC_ASSERT(*report->first_bad_seq == bad_seq);
    RC_ASSERT(!report->problem.empty());
  }
  return std::move(ledger).value();
}

RC_GTEST_PROP(LedgerProperties, AnyFlippedBitInAStoredRecordIsDetected, ()) {
  const uint64_t size = Template().size;
  const uint64_t seq = *rc::gen::inRange<uint64_t>(0, size);
  auto copy = CopyTemplate();
  size_t bit = 0;
  {
    RawDb db(copy->path() + "/db");
    const std::string value = db.Get(seq);
    RC_ASSERT(!value.empty());
    bit = *rc::gen::inRange<size_t>(0, value.size() * 8);
    db.Put(seq, FlipBit(value, bit));
  }
  RC_LOG() << "flipped bit " << bit << " of record " << seq << "\n";
  shiplog::FakeClock clock(kT0 + 3600 * shiplog::kMicrosPerSecond);
  auto ledger = CheckTamperDetected(copy->path(), seq, &clock);
  if (ledger != nullptr) {
    // A plain read of that record re-checks it too.
    auto rec = ledger->Read(seq);
    if (rec.ok()) RC_FAIL("Read(" + std::to_string(seq) + ") accepted the tampered record");
    RC_ASSERT(rec.status().code() == StatusCode::kCorrupt);
  }
}

RC_GTEST_PROP(LedgerProperties, SwappedRecordsAreDetected, ()) {
  const uint64_t size = Template().size;
  const uint64_t a = *rc::gen::inRange<uint64_t>(0, size - 1);
  const uint64_t b = *rc::gen::inRange<uint64_t>(a + 1, size);
  auto copy = CopyTemplate();
  {
    RawDb db(copy->path() + "/db");
    const std::string va = db.Get(a);
    const std::string vb = db.Get(b);
    db.Put(a, vb);
    db.Put(b, va);
  }
  RC_LOG() << "swapped records " << a << " and " << b << "\n";
  shiplog::FakeClock clock(kT0 + 3600 * shiplog::kMicrosPerSecond);
  CheckTamperDetected(copy->path(), a, &clock);
}

// The untampered copy verifies: the properties above are about the tampering, not the copying.
TEST(LedgerProperties, UntamperedTemplateCopyVerifies) {
  auto copy = CopyTemplate();
  shiplog::FakeClock clock(kT0);
  auto ledger = Ledger::Open(copy->path(), &clock);
  ASSERT_OK(ledger);
  EXPECT_EQ((*ledger)->size(), Template().size);
  auto report = (*ledger)->Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->records, Template().size);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
