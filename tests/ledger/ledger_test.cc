// Tests of ledger/ledger.h over a real RocksDB store in a temporary directory: genesis, enrolment,
// appends and receipts, duplicates and conflicts, authorization, revocation, the manual clock,
// queries, reopening, locking and verification.
#include "ledger/ledger.h"

#include <capnp/message.h>

#include <set>
#include <thread>

#include "ledger/canonical.h"
#include "schemas/record.capnp.h"

#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::InitOptions;
using shiplog::kMicrosPerMinute;
using shiplog::kMicrosPerSecond;
using shiplog::Ledger;
using shiplog::QueryFilter;
using shiplog::Receipt;
using shiplog::SignedEvent;
using shiplog::SigningKey;
using shiplog::StoredRecord;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using Seqs = std::vector<uint64_t>;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { t_.Create(); }

  Ledger& ledger() { return *t_.ledger; }

  std::vector<uint64_t> QuerySeqs(const QueryFilter& filter) {
    std::vector<uint64_t> seqs;
    Check(ledger().Query(filter, [&](const StoredRecord& r) {
      seqs.push_back(r.seq);
      return true;
    }), "Query");
    return seqs;
  }

  void ExpectVerifies() {
    auto report = ledger().Verify();
    ASSERT_OK(report);
    EXPECT_TRUE(report->ok) << report->problem;
    EXPECT_EQ(report->records, ledger().size());
    EXPECT_FALSE(report->first_bad_seq.has_value());
  }

  TestLedger t_;
  SigningKey leon_ = SigningKey::Generate();
  SigningKey rutger_ = SigningKey::Generate();
};

// ---- genesis and layout ----

TEST_F(LedgerTest, GenesisIsRecordZero) {
  EXPECT_EQ(ledger().size(), 1u);
  auto g = ledger().Read(0);
  ASSERT_OK(g);
  EXPECT_EQ(g->seq, 0u);
  EXPECT_EQ(g->event.kind(), "ledger.genesis");
  EXPECT_EQ(g->event.actor(), shiplog::kLedgerActor);
  EXPECT_EQ(g->ledger_time, kT0);
  EXPECT_FALSE(g->manual_clock);
  EXPECT_EQ(g->signed_event.public_key, ledger().public_key());
  EXPECT_OK(g->signed_event.VerifySignature());

  auto body = g->event.reader().getBody();
  ASSERT_EQ(body.which(), shiplog::schema::Event::Body::LEDGER_GENESIS);
  auto genesis = body.getLedgerGenesis();
  EXPECT_EQ(std::string(genesis.getAdminName().cStr()), "admin");
  auto admin_key = genesis.getAdminKey();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(admin_key.begin()), admin_key.size()),
            t_.admin.PublicKey());
  auto ledger_key = genesis.getLedgerKey();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ledger_key.begin()), ledger_key.size()),
            ledger().public_key());
  EXPECT_FALSE(genesis.getManualClock());
  EXPECT_EQ(genesis.getFormatVersion(), 1u);
  EXPECT_EQ(std::string(genesis.getOrigin().cStr()), ledger().origin());
  EXPECT_FALSE(ledger().origin().empty());
}

TEST_F(LedgerTest, DirectoryLayout) {
  EXPECT_TRUE(std::filesystem::is_directory(t_.dir() + "/db"));
  EXPECT_EQ(FileMode(t_.dir() + "/ledger.key"), 0600u);
  auto key = shiplog::ReadKeyFile(t_.dir() + "/ledger.key");
  ASSERT_OK(key);
  EXPECT_EQ(key->PublicKey(), ledger().public_key());
  auto pub = shiplog::ReadPublicKey(t_.dir() + "/ledger.key.pub");
  ASSERT_OK(pub);
  EXPECT_EQ(*pub, ledger().public_key());
}

TEST_F(LedgerTest, AdminIsEnrolledAtGenesis) {
  const auto keys = ledger().keys();
  const shiplog::KeyInfo* admin = keys.Find(t_.admin.PublicKey());
  ASSERT_NE(admin, nullptr);
  EXPECT_EQ(admin->name, "admin");
  EXPECT_TRUE(admin->HasRole(shiplog::kAdminRole));
  EXPECT_EQ(admin->enrolled_seq, 0u);
  EXPECT_TRUE(admin->active());
  EXPECT_EQ(keys.Find(leon_.PublicKey()), nullptr);
}

TEST_F(LedgerTest, InitRefusesADirectoryThatHoldsALedger) {
  t_.Close();
  EXPECT_FALSE(t_.Init().ok());
  ASSERT_OK(t_.Open());
  EXPECT_EQ(ledger().size(), 1u);
}

TEST(LedgerInit, CreatesMissingDirectory) {
  TempDir tmp;
  shiplog::FakeClock clock(kT0);
  SigningKey admin = SigningKey::Generate();
  InitOptions options;
  options.admin_public_key = admin.PublicKey();
  const std::string dir = tmp.Path("ledger");  // does not exist yet
  ASSERT_OK(Ledger::Init(dir, options, &clock));
  auto ledger = Ledger::Open(dir, &clock);
  ASSERT_OK(ledger);
  EXPECT_EQ((*ledger)->size(), 1u);
}

TEST(LedgerInit, RefusesBadAdminKey) {
  TempDir tmp;
  shiplog::FakeClock clock(kT0);
  InitOptions options;
  options.admin_public_key = "short";
  EXPECT_FALSE(Ledger::Init(tmp.path(), options, &clock).ok());
}

TEST(LedgerOpen, MissingLedgerIsNotFound) {
  TempDir tmp;
  shiplog::FakeClock clock(kT0);
  EXPECT_CODE(Ledger::Open(tmp.Path("nothing-here"), &clock), StatusCode::kNotFound);
  EXPECT_CODE(Ledger::Open(tmp.path(), &clock), StatusCode::kNotFound) << "an empty directory";
}

// ---- appends ----

TEST_F(LedgerTest, AdminEnrolsAnAgent) {
  const SignedEvent enrol =
      SignJson(KeyEnrolledJson("admin", "leon", leon_.PublicKey(), {"coordinator"}), t_.admin);
  auto receipt = ledger().Append(enrol);
  ASSERT_OK(receipt);
  EXPECT_EQ(receipt->seq, 1u);
  EXPECT_EQ(receipt->actor, "admin");
  EXPECT_FALSE(receipt->duplicate);

  const auto keys = ledger().keys();
  const shiplog::KeyInfo* leon = keys.Find(leon_.PublicKey());
  ASSERT_NE(leon, nullptr);
  EXPECT_EQ(leon->name, "leon");
  EXPECT_THAT(leon->roles, ElementsAre("coordinator"));
  EXPECT_TRUE(leon->HasRole("coordinator"));
  EXPECT_FALSE(leon->HasRole(shiplog::kAdminRole));
  EXPECT_EQ(leon->enrolled_seq, 1u);
  EXPECT_TRUE(leon->active());

  auto rec = ledger().Read(1);
  ASSERT_OK(rec);
  EXPECT_EQ(rec->event.kind(), "key.enrolled");
  EXPECT_EQ(rec->signed_event.public_key, t_.admin.PublicKey());
}

// tlog-tiles entry bundles give each entry a two-byte length, so no record may reach 64 KiB:
// an event under the event size limit that would make a larger record is refused, unstored.
TEST_F(LedgerTest, RefusesARecordThatWouldNotFitATileEntryBundle) {
  t_.Enroll("leon", leon_);
  json review = {{"kind", "review"}, {"id", "long"}, {"actor", "leon"}, {"deployment", "d"},
                 {"subject", "security"}, {"verdict", "approved"},
                 {"comment", std::string(70 * 1024, 'x')}};
  auto refused = ledger().Append(SignJson(review, leon_));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), shiplog::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("under 64 KiB"));
  EXPECT_EQ(ledger().size(), 2u);
  review["comment"] = std::string(60 * 1024, 'x');
  EXPECT_EQ(t_.Append(review, leon_).seq, 2u);
}

TEST_F(LedgerTest, AgentAppendsWithGaplessSeqAndClockTime) {
  t_.Enroll("leon", leon_);
  std::vector<Receipt> receipts;
  for (int i = 0; i < 5; ++i) {
    t_.clock.Advance(90 * kMicrosPerSecond);
    receipts.push_back(t_.Append(StepStartedJson("leon", "step-" + std::to_string(i)), leon_));
  }
  for (size_t i = 0; i < receipts.size(); ++i) {
    EXPECT_EQ(receipts[i].seq, 2 + i);
    EXPECT_EQ(receipts[i].ledger_time, kT0 + static_cast<Micros>(i + 1) * 90 * kMicrosPerSecond);
    EXPECT_EQ(receipts[i].actor, "leon");
    EXPECT_FALSE(receipts[i].manual_clock);
  }
  EXPECT_EQ(ledger().size(), 7u);

  std::vector<uint64_t> seqs;
  Micros last = 0;
  ASSERT_OK(ledger().Scan(0, [&](const StoredRecord& r) {
    seqs.push_back(r.seq);
    EXPECT_GE(r.ledger_time, last);
    last = r.ledger_time;
    return true;
  }));
  EXPECT_EQ(seqs, (Seqs{0, 1, 2, 3, 4, 5, 6}));
}

TEST_F(LedgerTest, LedgerTimeNeverGoesBackwards) {
  t_.Enroll("leon", leon_);
  t_.clock.Advance(10 * kMicrosPerMinute);
  const Receipt a = t_.Append(StepStartedJson("leon", "build"), leon_);
  EXPECT_EQ(a.ledger_time, kT0 + 10 * kMicrosPerMinute);
  t_.clock.Set(kT0 - 60 * kMicrosPerMinute);  // the machine's clock jumps back an hour
  EXPECT_EQ(ledger().Now(), a.ledger_time);
  const Receipt b = t_.Append(StepStartedJson("leon", "staging"), leon_);
  EXPECT_EQ(b.ledger_time, a.ledger_time);
  t_.clock.Set(kT0 + 20 * kMicrosPerMinute);
  EXPECT_EQ(ledger().Now(), kT0 + 20 * kMicrosPerMinute);
  const Receipt c = t_.Append(StepStartedJson("leon", "production"), leon_);
  EXPECT_EQ(c.ledger_time, kT0 + 20 * kMicrosPerMinute);
  ExpectVerifies();
}

// A rollback is never bounced for a missing detail (R17): its reason is asked for, not required,
// and the record says it was left out.
TEST_F(LedgerTest, ARollbackWithoutAReasonIsTakenAndItsRecordSaysSo) {
  t_.Enroll("leon", leon_);
  t_.Append(DeployRequestedJson("leon"), leon_);
  const Receipt bare = t_.Append(EventJson("rollback.completed", "leon", kDeployment, {}), leon_);
  auto record = ledger().Read(bare.seq);
  ASSERT_OK(record);
  EXPECT_EQ(record->ToJson()["missing"], json({"reason"}));
  const Receipt explained = t_.Append(
      EventJson("rollback.started", "leon", kDeployment, {{"reason", "smoke failed"}}), leon_);
  auto full = ledger().Read(explained.seq);
  ASSERT_OK(full);
  EXPECT_FALSE(full->ToJson().contains("missing"));
  ExpectVerifies();
}

TEST_F(LedgerTest, ReadReturnsTheExactSignedBytes) {
  t_.Enroll("leon", leon_);
  const SignedEvent s = SignJson(GateResultJson("leon"), leon_);
  const Receipt r = t_.Append(s);
  auto rec = ledger().Read(r.seq);
  ASSERT_OK(rec);
  EXPECT_EQ(rec->seq, r.seq);
  EXPECT_EQ(rec->ledger_time, r.ledger_time);
  EXPECT_EQ(rec->signed_event.scheme, s.scheme);
  EXPECT_EQ(rec->signed_event.payload, s.payload);
  EXPECT_EQ(rec->signed_event.public_key, s.public_key);
  EXPECT_EQ(rec->signed_event.signature, s.signature);
  EXPECT_EQ(rec->event.bytes(), s.payload);
  EXPECT_EQ(rec->leaf_hash, r.leaf_hash);
  EXPECT_EQ(rec->leaf_hash, std::string(shiplog::AsBytes(shiplog::Sha256WithPrefix(0x00, rec->entry))));

  const json j = rec->ToJson();
  EXPECT_EQ(j.at("seq"), r.seq);
  EXPECT_EQ(j.at("event").at("kind"), "gate.result");
  EXPECT_EQ(j.at("event").at("actor"), "leon");
}

TEST_F(LedgerTest, ReadPastTheEndIsNotFound) {
  EXPECT_CODE(ledger().Read(1), StatusCode::kNotFound);
  EXPECT_CODE(ledger().Read(UINT64_MAX), StatusCode::kNotFound);
}

// ---- receipts ----

TEST_F(LedgerTest, ReceiptFieldsAndProof) {
  t_.Enroll("leon", leon_);
  const json ev = StepReportedJson("leon", "staging");
  const SignedEvent s = SignJson(ev, leon_);
  const Receipt r = t_.Append(s);
  EXPECT_EQ(r.event_id, ev.at("id").get<std::string>());
  EXPECT_EQ(r.actor, "leon");
  EXPECT_EQ(r.ledger_key, ledger().public_key());
  EXPECT_EQ(r.payload_hash, std::string(shiplog::AsBytes(shiplog::Sha256(s.payload))));
  EXPECT_EQ(r.leaf_hash.size(), 32u);
  // The receipt carries the stored record's leaf input, which its fields are read from.
  auto stored = ledger().Read(r.seq);
  ASSERT_OK(stored);
  EXPECT_EQ(r.entry, stored->entry);
  EXPECT_EQ(r.leaf_hash, stored->leaf_hash);

  EXPECT_OK(r.Verify(ledger().public_key()));
  EXPECT_FALSE(r.Verify(SigningKey::Generate().PublicKey()).ok());
  EXPECT_FALSE(r.Verify(t_.admin.PublicKey()).ok());
  Receipt forged = r;
  forged.actor = "rutger";
  EXPECT_CODE(forged.Verify(ledger().public_key()), StatusCode::kCorrupt);
  Receipt altered = r;
  altered.entry = FlipBit(altered.entry, altered.entry.size() * 8 - 3);
  EXPECT_FALSE(altered.Verify(ledger().public_key()).ok());
  Receipt unsigned_root = r;
  unsigned_root.checkpoint = FlipBit(unsigned_root.checkpoint, 8 * unsigned_root.checkpoint.find('\n', unsigned_root.checkpoint.find('\n') + 1) + 9);
  EXPECT_FALSE(unsigned_root.Verify(ledger().public_key()).ok());
}

TEST_F(LedgerTest, ReceiptJsonRoundTripAndTamper) {
  t_.Enroll("leon", leon_);
  const Receipt r = t_.Append(StepStartedJson("leon", "staging"), leon_);
  const json j = r.ToJson();
  EXPECT_EQ(j.at("seq"), r.seq);
  auto back = Receipt::FromJson(j);
  ASSERT_OK(back);
  EXPECT_EQ(back->seq, r.seq);
  EXPECT_EQ(back->ledger_time, r.ledger_time);
  EXPECT_EQ(back->entry, r.entry);
  EXPECT_EQ(back->checkpoint, r.checkpoint);
  EXPECT_EQ(back->event_id, r.event_id);
  EXPECT_OK(back->Verify(ledger().public_key()));

  json lying = j;
  lying["seq"] = r.seq + 1;
  EXPECT_FALSE(Receipt::FromJson(lying).ok()) << "a field that disagrees with the entry";
  lying = j;
  lying["actor"] = "rutger";
  EXPECT_FALSE(Receipt::FromJson(lying).ok());
}

// The server answers every append with ToJsonText, written without building the JSON value: it
// must be ToJson printed, byte for byte, whatever the fields hold (a decision as the gate
// stores it: compact, keys sorted).
TEST_F(LedgerTest, ReceiptJsonTextIsItsJsonValuePrinted) {
  t_.Enroll("leon", leon_);
  const Receipt appended = t_.Append(StepStartedJson("leon", "staging"), leon_);
  ASSERT_FALSE(appended.inclusion_proof.empty());
  auto printed = [](const Receipt& r) {
    return r.ToJson().dump(-1, ' ', false, json::error_handler_t::replace);
  };
  EXPECT_EQ(appended.ToJsonText(), printed(appended));
  EXPECT_TRUE(json::parse(appended.ToJsonText()).is_object());

  std::vector<std::pair<std::string, Receipt>> variants;
  auto vary = [&](std::string what, const std::function<void(Receipt&)>& change) {
    Receipt r = appended;
    change(r);
    variants.emplace_back(std::move(what), std::move(r));
  };
  vary("a decision", [](Receipt& r) {
    r.decision = json{{"allowed", true},
                      {"reasons", json::array({{{"rule", "R4"}, {"text", "a \"quoted\" ü\n"}}})},
                      {"score", 0.1}}
                     .dump();
  });
  vary("denied, repeated, manual clock", [](Receipt& r) {
    r.decision = R"({"allowed":false})";
    r.denied = r.duplicate = r.manual_clock = true;
  });
  vary("escapes and non-ASCII", [](Receipt& r) {
    r.actor = "ü \"q\" \\ \x01\x1f\t\b\f\r\x7f — 🚀";
    r.event_id = "\n";
  });
  vary("not UTF-8 and NUL", [](Receipt& r) {
    r.actor = "bad \xff\xfe utf8 \xc0\x80";
    r.event_id = std::string("nul\0inside", 10);
    r.checkpoint += "\xed\xa0\x80";  // a surrogate
  });
  vary("a decision that is not JSON", [](Receipt& r) { r.decision = "{\"allowed\":"; });
  vary("a decision nested too deep",
       [](Receipt& r) { r.decision = std::string(100, '[') + std::string(100, ']'); });
  vary("no proof, an empty entry", [](Receipt& r) {
    r.inclusion_proof.clear();
    r.entry.clear();
  });
  for (const auto& [what, r] : variants) EXPECT_EQ(r.ToJsonText(), printed(r)) << what;
}

// A receipt comes from outside: the decision inside its entry is attacker text like any other.
// Nested 30,000 deep it once reached nlohmann's recursive compare and copy; now the nesting limit
// refuses it as it is read, and the receipt does not check out.
TEST_F(LedgerTest, AReceiptWhoseEntryHoldsADeeplyNestedDecisionIsRefused) {
  t_.Enroll("leon", leon_);
  const Receipt r = t_.Append(StepStartedJson("leon", "staging"), leon_);
  auto entry = Unwrap(shiplog::CanonicalMessage::Parse(r.entry, 1 << 20), "parse entry");
  capnp::MallocMessageBuilder changed;
  changed.setRoot(entry.Root<shiplog::schema::Entry>());
  const std::string deep = std::string(30000, '[') + std::string(30000, ']');
  changed.getRoot<shiplog::schema::Entry>().setDecision(deep);
  json j = r.ToJson();
  j["entry"] = shiplog::Base64Encode(
      shiplog::CanonicalBytes(changed.getRoot<shiplog::schema::Entry>().asReader()));
  j["decision"] = json::array();  // the field a lying receipt shows beside its entry
  EXPECT_TRUE(shiplog::ParseStoredJson(deep).is_discarded());
  auto back = Receipt::FromJson(j);
  EXPECT_FALSE(back.ok());
}

// ---- duplicates and conflicts ----

TEST_F(LedgerTest, SameSignedEventTwiceIsStoredOnce) {
  t_.Enroll("leon", leon_);
  const SignedEvent s = SignJson(StepStartedJson("leon", "staging"), leon_);
  const Receipt first = t_.Append(s);
  const uint64_t size = ledger().size();
  t_.clock.Advance(5 * kMicrosPerMinute);
  auto second = ledger().Append(s);
  ASSERT_OK(second);
  EXPECT_TRUE(second->duplicate);
  EXPECT_FALSE(first.duplicate);
  EXPECT_EQ(second->seq, first.seq);
  EXPECT_EQ(second->ledger_time, first.ledger_time);
  EXPECT_EQ(second->entry, first.entry);
  EXPECT_OK(second->Verify(ledger().public_key()));
  EXPECT_EQ(ledger().size(), size);
}

TEST_F(LedgerTest, SameActorAndIdWithOtherContentConflicts) {
  t_.Enroll("leon", leon_);
  t_.Append(StepStartedJson("leon", "staging"), leon_);
  json first = StepStartedJson("leon", "staging");
  first["id"] = "fixed-id";
  t_.Append(first, leon_);
  const uint64_t size = ledger().size();
  json other = first;
  other["step"] = "production";
  auto r = ledger().Append(SignJson(other, leon_));
  EXPECT_CODE(r, StatusCode::kConflict);
  EXPECT_EQ(ledger().size(), size);
}

TEST_F(LedgerTest, SameIdFromDifferentActorsIsFine) {
  t_.Enroll("leon", leon_);
  t_.Enroll("rutger", rutger_);
  json a = StepStartedJson("leon", "staging");
  a["id"] = "shared-id";
  json b = StepStartedJson("rutger", "staging");
  b["id"] = "shared-id";
  EXPECT_OK(ledger().Append(SignJson(a, leon_)));
  auto rb = ledger().Append(SignJson(b, rutger_));
  ASSERT_OK(rb);
  EXPECT_FALSE(rb->duplicate);
}

// A repeat is acknowledged only to a signer that could have sent it (issue 23): the payload of a
// stored event, re-signed by another key, gets the error its first append would have had.
SignedEvent ResignedBy(const SignedEvent& original, const SigningKey& key) {
  auto event = shiplog::Event::FromCanonical(original.payload);
  EXPECT_TRUE(event.ok());
  return SignedEvent::Sign(*event, key);
}

TEST_F(LedgerTest, RepeatResignedByAKeyThatIsNotEnrolledIsRefused) {
  t_.Enroll("leon", leon_);
  json fixed = StepStartedJson("leon", "staging");
  fixed["id"] = "fixed-id";
  const SignedEvent original = SignJson(fixed, leon_);
  t_.Append(original);
  const uint64_t size = ledger().size();
  SigningKey mallory = SigningKey::Generate();
  EXPECT_CODE(ledger().Append(ResignedBy(original, mallory)), StatusCode::kUnknownKey);
  // Nor does it learn that the id is taken: another payload under it is refused the same way.
  fixed["step"] = "production";
  EXPECT_CODE(ledger().Append(SignJson(fixed, mallory)), StatusCode::kUnknownKey);
  EXPECT_EQ(ledger().size(), size);
  // Its own signer still gets the duplicate.
  auto again = ledger().Append(original);
  ASSERT_OK(again);
  EXPECT_TRUE(again->duplicate);
}

TEST_F(LedgerTest, RepeatResignedByAnotherAgentIsForbidden) {
  t_.Enroll("leon", leon_);
  t_.Enroll("rutger", rutger_);
  const SignedEvent original = SignJson(StepStartedJson("leon", "staging"), leon_);
  t_.Append(original);
  EXPECT_CODE(ledger().Append(ResignedBy(original, rutger_)), StatusCode::kForbidden);
}

TEST_F(LedgerTest, RepeatFromARevokedKeyIsRefused) {
  t_.Enroll("leon", leon_);
  const SignedEvent original = SignJson(StepStartedJson("leon", "staging"), leon_);
  t_.Append(original);
  t_.Revoke(leon_);
  EXPECT_CODE(ledger().Append(original), StatusCode::kUnknownKey);
}

TEST_F(LedgerTest, RepeatedEnrolmentByItsAdminIsStillADuplicate) {
  const SignedEvent enrol =
      SignJson(KeyEnrolledJson("admin", "leon", leon_.PublicKey(), {"coordinator"}), t_.admin);
  t_.Append(enrol);
  auto again = ledger().Append(enrol);
  ASSERT_OK(again);
  EXPECT_TRUE(again->duplicate);
}

TEST_F(LedgerTest, RepeatWithinABatchResignedByAKeyThatIsNotEnrolledIsRefused) {
  t_.Enroll("leon", leon_);
  const SignedEvent original = SignJson(StepStartedJson("leon", "staging"), leon_);
  std::vector<shiplog::CheckedEvent> batch;
  for (const SignedEvent& s : {original, ResignedBy(original, SigningKey::Generate()), original}) {
    auto checked = shiplog::CheckEvent(s);
    ASSERT_OK(checked);
    batch.push_back(std::move(*checked));
  }
  auto out = ledger().AppendBatch(std::move(batch));
  ASSERT_EQ(out.size(), 3u);
  ASSERT_OK(out[0]);
  EXPECT_CODE(out[1], StatusCode::kUnknownKey);
  ASSERT_OK(out[2]);
  EXPECT_TRUE(out[2]->duplicate);
}

// ---- authentication and authorization ----

TEST_F(LedgerTest, UnknownKeyIsRefused) {
  SigningKey mallory = SigningKey::Generate();
  auto r = ledger().Append(SignJson(StepStartedJson("mallory", "production"), mallory));
  EXPECT_CODE(r, StatusCode::kUnknownKey);
  EXPECT_EQ(ledger().size(), 1u);
}

TEST_F(LedgerTest, ActorMustBeTheKeysName) {
  t_.Enroll("leon", leon_);
  t_.Enroll("rutger", rutger_);
  const uint64_t size = ledger().size();
  EXPECT_CODE(ledger().Append(SignJson(StepStartedJson("rutger", "production"), leon_)),
              StatusCode::kForbidden);
  EXPECT_CODE(ledger().Append(SignJson(StepStartedJson("shiplog", "production"), leon_)),
              StatusCode::kForbidden);
  EXPECT_CODE(ledger().Append(SignJson(StepStartedJson("admin", "production"), leon_)),
              StatusCode::kForbidden);
  EXPECT_EQ(ledger().size(), size);
}

TEST_F(LedgerTest, NonAdminCannotEnrolOrRevoke) {
  t_.Enroll("leon", leon_, {"coordinator", "deployer"});
  const uint64_t size = ledger().size();
  EXPECT_CODE(ledger().Append(SignJson(
                  KeyEnrolledJson("leon", "rutger", rutger_.PublicKey(), {"admin"}), leon_)),
              StatusCode::kForbidden);
  EXPECT_CODE(ledger().Append(SignJson(KeyRevokedJson("leon", t_.admin.PublicKey()), leon_)),
              StatusCode::kForbidden);
  const std::string policy = "rules: []\n";
  EXPECT_CODE(ledger().Append(SignJson(
                  EventJson("policy.activated", "leon", "",
                            {{"content", policy},
                             {"sha256", shiplog::HexEncode(shiplog::AsBytes(shiplog::Sha256(policy)))}}),
                  leon_)),
              StatusCode::kForbidden);
  EXPECT_EQ(ledger().size(), size);
  EXPECT_EQ(ledger().keys().Find(rutger_.PublicKey()), nullptr);
}

TEST_F(LedgerTest, AdminMayActivateAPolicy) {
  const std::string policy = "rules: []\n";
  auto r = ledger().Append(SignJson(
      EventJson("policy.activated", "admin", "",
                {{"name", "default"},
                 {"content", policy},
                 {"sha256", shiplog::HexEncode(shiplog::AsBytes(shiplog::Sha256(policy)))}}),
      t_.admin));
  EXPECT_OK(r);
}

TEST_F(LedgerTest, NobodyAppendsAGenesis) {
  const size_t size = ledger().size();
  json genesis = EventJson("ledger.genesis", "admin", "",
                           {{"ledger_key", shiplog::HexEncode(t_.admin.PublicKey())},
                            {"admin_name", "admin"},
                            {"admin_key", shiplog::HexEncode(leon_.PublicKey())},
                            {"format_version", 1}});
  EXPECT_FALSE(ledger().Append(SignJson(genesis, t_.admin)).ok());
  EXPECT_EQ(ledger().size(), size);
}

TEST_F(LedgerTest, SecondAdminMayEnrol) {
  SigningKey victoria = SigningKey::Generate();
  t_.Enroll("victoria", victoria, {"admin", "security"});
  auto r = ledger().Append(
      SignJson(KeyEnrolledJson("victoria", "leon", leon_.PublicKey(), {"coordinator"}), victoria));
  ASSERT_OK(r);
  EXPECT_NE(ledger().keys().Find(leon_.PublicKey()), nullptr);
}

TEST_F(LedgerTest, EnrolmentRules) {
  t_.Enroll("leon", leon_);
  const uint64_t size = ledger().size();
  // A live key is not enrolled again.
  EXPECT_FALSE(ledger().Append(SignJson(
      KeyEnrolledJson("admin", "leon2", leon_.PublicKey(), {"deployer"}), t_.admin)).ok());
  // Nobody may be called "shiplog".
  EXPECT_FALSE(ledger().Append(SignJson(
      KeyEnrolledJson("admin", "shiplog", rutger_.PublicKey(), {"deployer"}), t_.admin)).ok());
  // An unknown key cannot be revoked.
  EXPECT_FALSE(ledger().Append(SignJson(KeyRevokedJson("admin", rutger_.PublicKey()), t_.admin)).ok());
  EXPECT_EQ(ledger().size(), size);
}

TEST_F(LedgerTest, RevokedKeyIsRefusedButItsPastStaysValid) {
  t_.Enroll("leon", leon_);
  const Receipt before = t_.Append(StepReportedJson("leon", "staging"), leon_);
  const Receipt revoke = t_.Revoke(leon_);
  const uint64_t size = ledger().size();

  auto after = ledger().Append(SignJson(StepStartedJson("leon", "production"), leon_));
  EXPECT_CODE(after, StatusCode::kUnknownKey);
  EXPECT_EQ(ledger().size(), size);

  const auto keys = ledger().keys();
  const shiplog::KeyInfo* leon = keys.Find(leon_.PublicKey());
  ASSERT_NE(leon, nullptr);
  EXPECT_FALSE(leon->active());
  EXPECT_EQ(leon->revoked_seq, std::optional<uint64_t>(revoke.seq));

  auto old = ledger().Read(before.seq);
  ASSERT_OK(old);
  EXPECT_OK(old->signed_event.VerifySignature());
  ExpectVerifies();
}

TEST_F(LedgerTest, RevokedKeyCanBeEnrolledAgainAsNewEntry) {
  // Not required by the header; only checks it does not break the registry if allowed.
  t_.Enroll("leon", leon_);
  t_.Revoke(leon_);
  auto again = ledger().Append(
      SignJson(KeyEnrolledJson("admin", "leon", leon_.PublicKey(), {"deployer"}), t_.admin));
  if (again.ok()) {
    EXPECT_OK(ledger().Append(SignJson(StepStartedJson("leon", "build"), leon_)));
  }
  ExpectVerifies();
}

TEST_F(LedgerTest, BadSignatureIsRefusedAndNothingStored) {
  t_.Enroll("leon", leon_);
  const uint64_t size = ledger().size();
  SignedEvent s = SignJson(StepStartedJson("leon", "staging"), leon_);
  s.signature = FlipBit(s.signature, 42);
  EXPECT_CODE(ledger().Append(s), StatusCode::kBadSignature);
  SignedEvent p = SignJson(StepStartedJson("leon", "staging"), leon_);
  p.payload = FlipBit(p.payload, p.payload.size() * 8 - 9);
  EXPECT_CODE(ledger().Append(p), StatusCode::kBadSignature);
  // A signature by someone else's key, presented as leon's.
  SignedEvent q = SignJson(StepStartedJson("leon", "staging"), rutger_);
  q.public_key = leon_.PublicKey();
  EXPECT_CODE(ledger().Append(q), StatusCode::kBadSignature);
  EXPECT_EQ(ledger().size(), size);
  // The honest version still goes in afterwards.
  EXPECT_OK(ledger().Append(SignJson(StepStartedJson("leon", "staging"), leon_)));
}

TEST_F(LedgerTest, SignedGarbageIsInvalidArgument) {
  t_.Enroll("leon", leon_);
  const uint64_t size = ledger().size();
  SignedEvent s;
  s.scheme = std::string(shiplog::kSchemeEd25519Capnp);
  s.payload = std::string(64, '\x01');
  s.public_key = leon_.PublicKey();
  s.signature = leon_.Sign(s.payload);
  EXPECT_CODE(ledger().Append(s), StatusCode::kInvalidArgument);
  // Canonical bytes plus a trailing word, correctly signed.
  s.payload = std::string(MakeEvent(StepStartedJson("leon", "x")).bytes()) + std::string(8, '\0');
  s.signature = leon_.Sign(s.payload);
  EXPECT_CODE(ledger().Append(s), StatusCode::kInvalidArgument);
  EXPECT_EQ(ledger().size(), size);
}

TEST_F(LedgerTest, WrongSchemeIsRefused) {
  t_.Enroll("leon", leon_);
  SignedEvent s = SignJson(StepStartedJson("leon", "staging"), leon_);
  s.scheme = "dsse-v1";
  EXPECT_FALSE(ledger().Append(s).ok());
  EXPECT_EQ(ledger().size(), 2u);
}

// ---- manual clock ----

class ManualClockLedgerTest : public LedgerTest {
 protected:
  void SetUp() override {
    InitOptions options;
    options.manual_clock = true;
    options.manual_clock_start = kT0;
    t_.clock.Set(kT0 + 100 * 24 * 60 * kMicrosPerMinute);  // the machine's clock is elsewhere
    t_.Create(options);
  }
};

TEST_F(ManualClockLedgerTest, TimeMovesOnlyByHand) {
  EXPECT_TRUE(ledger().manual_clock());
  EXPECT_EQ(ledger().Now(), kT0);
  auto g = ledger().Read(0);
  ASSERT_OK(g);
  EXPECT_TRUE(g->manual_clock);
  EXPECT_TRUE(g->event.reader().getBody().getLedgerGenesis().getManualClock());
  EXPECT_EQ(g->ledger_time, kT0);

  t_.Enroll("leon", leon_);
  t_.clock.Advance(60 * kMicrosPerMinute);  // ignored
  EXPECT_EQ(ledger().Now(), kT0);
  const Receipt a = t_.Append(StepStartedJson("leon", "staging"), leon_);
  EXPECT_EQ(a.ledger_time, kT0);
  EXPECT_TRUE(a.manual_clock);
  EXPECT_OK(a.Verify(ledger().public_key()));

  ASSERT_OK(ledger().AdvanceClock(15 * kMicrosPerMinute));
  EXPECT_EQ(ledger().Now(), kT0 + 15 * kMicrosPerMinute);
  const Receipt b = t_.Append(StepReportedJson("leon", "staging"), leon_);
  EXPECT_EQ(b.ledger_time, kT0 + 15 * kMicrosPerMinute);
  EXPECT_TRUE(b.manual_clock);

  ASSERT_OK(ledger().SetClock(kT0 + 60 * kMicrosPerMinute));
  EXPECT_EQ(ledger().Now(), kT0 + 60 * kMicrosPerMinute);
  // Back, but not before the last record: allowed.
  ASSERT_OK(ledger().SetClock(kT0 + 30 * kMicrosPerMinute));
  EXPECT_EQ(ledger().Now(), kT0 + 30 * kMicrosPerMinute);
  // Before the last record: refused, and the clock stays.
  EXPECT_FALSE(ledger().SetClock(kT0 + 5 * kMicrosPerMinute).ok());
  EXPECT_EQ(ledger().Now(), kT0 + 30 * kMicrosPerMinute);

  auto rec = ledger().Read(b.seq);
  ASSERT_OK(rec);
  EXPECT_TRUE(rec->manual_clock);

  auto report = ledger().Verify();
  ASSERT_OK(report);
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_TRUE(report->manual_clock);
}

TEST_F(ManualClockLedgerTest, ClockSurvivesReopen) {
  ASSERT_OK(ledger().AdvanceClock(42 * kMicrosPerMinute));
  t_.Close();
  ASSERT_OK(t_.Open());
  EXPECT_TRUE(ledger().manual_clock());
  EXPECT_EQ(ledger().Now(), kT0 + 42 * kMicrosPerMinute);
}

TEST_F(LedgerTest, RealTimeLedgerRefusesManualClockMoves) {
  EXPECT_FALSE(ledger().manual_clock());
  EXPECT_FALSE(ledger().AdvanceClock(kMicrosPerMinute).ok());
  EXPECT_FALSE(ledger().SetClock(kT0 + kMicrosPerMinute).ok());
  EXPECT_EQ(ledger().Now(), kT0);
  auto report = ledger().Verify();
  ASSERT_OK(report);
  EXPECT_FALSE(report->manual_clock);
}

// ---- queries ----

class QueryTest : public LedgerTest {
 protected:
  void SetUp() override {
    LedgerTest::SetUp();
    t_.Enroll("leon", leon_);                                                   // 1
    t_.Enroll("rutger", rutger_);                                               // 2
    t_.Append(DeployRequestedJson("leon", "d1"), leon_);                        // 3
    t_.Append(StepStartedJson("rutger", "staging", "d1"), rutger_);             // 4
    t_.Append(DeployRequestedJson("leon", "d2"), leon_);                        // 5
    t_.Append(StepReportedJson("rutger", "staging", "READY", "d1"), rutger_);   // 6
    t_.Append(StepStartedJson("leon", "orchestrate", "d2"), leon_);             // 7
    t_.Append(EventJson("incident.opened", "leon", "",
                        {{"environment", "production"}, {"incident", "INC-1"}}),
              leon_);                                                           // 8
    t_.Append(StepStartedJson("rutger", "production", "d1"), rutger_);          // 9
  }
};

TEST_F(QueryTest, ByDeployment) {
  QueryFilter f;
  f.deployment = "d1";
  EXPECT_EQ(QuerySeqs(f), (Seqs{3, 4, 6, 9}));
  f.deployment = "d2";
  EXPECT_EQ(QuerySeqs(f), (Seqs{5, 7}));
  f.deployment = "d3";
  EXPECT_THAT(QuerySeqs(f), IsEmpty());
  f.deployment = "d";  // not a prefix match
  EXPECT_THAT(QuerySeqs(f), IsEmpty());
}

TEST_F(QueryTest, ByActor) {
  QueryFilter f;
  f.actor = "leon";
  EXPECT_EQ(QuerySeqs(f), (Seqs{3, 5, 7, 8}));
  f.actor = "admin";
  EXPECT_EQ(QuerySeqs(f), (Seqs{1, 2}));
  f.actor = "rutger";
  EXPECT_EQ(QuerySeqs(f), (Seqs{4, 6, 9}));
  f.actor = "leo";
  EXPECT_THAT(QuerySeqs(f), IsEmpty());
}

TEST_F(QueryTest, ByKind) {
  QueryFilter f;
  f.kind = "step.started";
  EXPECT_EQ(QuerySeqs(f), (Seqs{4, 7, 9}));
  f.kind = "key.enrolled";
  EXPECT_EQ(QuerySeqs(f), (Seqs{1, 2}));
  f.kind = "ledger.genesis";
  EXPECT_EQ(QuerySeqs(f), (Seqs{0}));
  f.kind = "step";
  EXPECT_THAT(QuerySeqs(f), IsEmpty());
}

TEST_F(QueryTest, BySeqRange) {
  QueryFilter f;
  f.from_seq = 4;
  f.to_seq = 7;
  EXPECT_EQ(QuerySeqs(f), (Seqs{4, 5, 6, 7}));
  f.from_seq = 8;
  f.to_seq.reset();
  EXPECT_EQ(QuerySeqs(f), (Seqs{8, 9}));
  f.from_seq = 0;
  f.to_seq = 0;
  EXPECT_EQ(QuerySeqs(f), (Seqs{0}));
}

TEST_F(QueryTest, Everything) {
  EXPECT_EQ(QuerySeqs(QueryFilter{}), (Seqs{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST_F(QueryTest, Combined) {
  QueryFilter f;
  f.deployment = "d1";
  f.kind = "step.started";
  EXPECT_EQ(QuerySeqs(f), (Seqs{4, 9}));
  f.actor = "leon";
  EXPECT_THAT(QuerySeqs(f), IsEmpty());
  f = QueryFilter{};
  f.actor = "rutger";
  f.from_seq = 5;
  f.to_seq = 8;
  EXPECT_EQ(QuerySeqs(f), (Seqs{6}));
  f = QueryFilter{};
  f.kind = "step.started";
  f.from_seq = 5;
  EXPECT_EQ(QuerySeqs(f), (Seqs{7, 9}));
}

TEST_F(QueryTest, VisitorStopsEarly) {
  QueryFilter f;
  f.deployment = "d1";
  std::vector<uint64_t> seen;
  ASSERT_OK(ledger().Query(f, [&](const StoredRecord& r) {
    seen.push_back(r.seq);
    return false;
  }));
  EXPECT_EQ(seen, (Seqs{3}));
}

TEST_F(QueryTest, RecordsMatchTheFilterFields) {
  QueryFilter f;
  f.deployment = "d1";
  ASSERT_OK(ledger().Query(f, [&](const StoredRecord& r) {
    EXPECT_EQ(r.event.deployment(), "d1");
    return true;
  }));
  f = QueryFilter{};
  f.kind = "deploy.requested";
  int n = 0;
  ASSERT_OK(ledger().Query(f, [&](const StoredRecord& r) {
    EXPECT_EQ(r.event.kind(), "deploy.requested");
    EXPECT_EQ(r.event.actor(), "leon");
    ++n;
    return true;
  }));
  EXPECT_EQ(n, 2);
}

TEST_F(QueryTest, SurvivesReopen) {
  t_.Close();
  ASSERT_OK(t_.Open());
  QueryFilter f;
  f.actor = "rutger";
  EXPECT_EQ(QuerySeqs(f), (Seqs{4, 6, 9}));
  t_.Append(StepReportedJson("rutger", "production", "READY", "d1"), rutger_);  // 10
  EXPECT_EQ(QuerySeqs(f), (Seqs{4, 6, 9, 10}));
}

// ---- reopening, locking, verification ----

TEST_F(LedgerTest, ReopenKeepsRecordsAndKeys) {
  t_.Enroll("leon", leon_);
  t_.Enroll("rutger", rutger_);
  std::vector<SignedEvent> appended;
  for (int i = 0; i < 3; ++i) {
    appended.push_back(SignJson(StepStartedJson("leon", "s" + std::to_string(i)), leon_));
    t_.Append(appended.back());
  }
  t_.Revoke(rutger_);
  const uint64_t size = ledger().size();
  const std::string ledger_key = ledger().public_key();
  const std::string origin = ledger().origin();

  t_.Close();
  ASSERT_OK(t_.Open());
  EXPECT_EQ(ledger().size(), size);
  EXPECT_EQ(ledger().public_key(), ledger_key);
  EXPECT_EQ(ledger().origin(), origin);
  for (size_t i = 0; i < appended.size(); ++i) {
    auto rec = ledger().Read(3 + i);
    ASSERT_OK(rec);
    EXPECT_EQ(rec->signed_event.payload, appended[i].payload);
  }
  const auto keys = ledger().keys();
  ASSERT_NE(keys.Find(leon_.PublicKey()), nullptr);
  EXPECT_TRUE(keys.Find(leon_.PublicKey())->active());
  ASSERT_NE(keys.Find(rutger_.PublicKey()), nullptr);
  EXPECT_FALSE(keys.Find(rutger_.PublicKey())->active());

  // The registry and the duplicate index were rebuilt or persisted.
  auto dup = ledger().Append(appended[1]);
  ASSERT_OK(dup);
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->seq, 4u);
  EXPECT_CODE(ledger().Append(SignJson(StepStartedJson("rutger", "x"), rutger_)),
              StatusCode::kUnknownKey);
  auto next = ledger().Append(SignJson(StepStartedJson("leon", "after-reopen"), leon_));
  ASSERT_OK(next);
  EXPECT_EQ(next->seq, size);
  ExpectVerifies();
}

TEST_F(LedgerTest, SecondOpenOfAnOpenLedgerFails) {
  auto second = Ledger::Open(t_.dir(), &t_.clock);
  ASSERT_FALSE(second.ok());
  EXPECT_FALSE(second.status().message().empty());
  EXPECT_THAT(second.status().message(),
              AnyOf(HasSubstr("lock"), HasSubstr("in use"), HasSubstr("another"), HasSubstr("already")));
  // The first one still works.
  EXPECT_OK(ledger().Append(SignJson(KeyEnrolledJson("admin", "leon", leon_.PublicKey(), {"x"}), t_.admin)));
}

TEST_F(LedgerTest, VerifyGoodLedger) {
  t_.Enroll("leon", leon_);
  t_.Enroll("rutger", rutger_);
  t_.Append(DeployRequestedJson("leon"), leon_);
  t_.Append(StepStartedJson("rutger", "staging"), rutger_);
  t_.Revoke(rutger_);
  t_.Append(GateResultJson("leon"), leon_);
  ExpectVerifies();
  auto report = ledger().Verify();
  ASSERT_OK(report);
  const json j = report->ToJson();
  EXPECT_EQ(j.at("ok"), true);
}

TEST(LedgerOverStore, OpenOverAnyStore) {
  TempDir tmp;
  shiplog::FakeClock clock(kT0);
  SigningKey ledger_key = SigningKey::Generate();
  SigningKey admin = SigningKey::Generate();
  InitOptions options;
  options.admin_name = "root";
  options.admin_public_key = admin.PublicKey();
  {
    auto store = Unwrap(shiplog::OpenRocksStore(tmp.Path("db"), true));
    ASSERT_OK(Ledger::WriteGenesis(*store, ledger_key, options, &clock));
    EXPECT_EQ(Unwrap(store->RecordCount()), 1u);
    EXPECT_FALSE(Ledger::WriteGenesis(*store, ledger_key, options, &clock).ok())
        << "the store is not empty";
  }
  {
    // Another ledger key did not sign this genesis.
    auto store = Unwrap(shiplog::OpenRocksStore(tmp.Path("db"), false));
    EXPECT_FALSE(Ledger::Open(std::move(store), SigningKey::Generate(), &clock).ok());
  }
  auto store = Unwrap(shiplog::OpenRocksStore(tmp.Path("db"), false));
  const std::string pub = ledger_key.PublicKey();
  auto ledger = Ledger::Open(std::move(store), std::move(ledger_key), &clock);
  ASSERT_OK(ledger);
  EXPECT_EQ((*ledger)->public_key(), pub);
  auto r = (*ledger)->Append(SignJson(KeyEnrolledJson("root", "leon", SigningKey::Generate().PublicKey(),
                                                      {"deployer"}), admin));
  ASSERT_OK(r);
  EXPECT_EQ(r->seq, 1u);
  EXPECT_OK(r->Verify(pub));
}

TEST_F(LedgerTest, ConcurrentAppendsAreSerialized) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5;
  std::vector<SigningKey> keys;
  for (int t = 0; t < kThreads; ++t) {
    keys.push_back(SigningKey::Generate());
    t_.Enroll("agent" + std::to_string(t), keys.back());
  }
  const uint64_t base = ledger().size();
  std::vector<std::vector<uint64_t>> seqs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = ledger().Append(
            SignJson(StepStartedJson("agent" + std::to_string(t), "s" + std::to_string(i)), keys[t]));
        if (r.ok()) seqs[t].push_back(r->seq);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<uint64_t> all;
  for (const auto& v : seqs) {
    EXPECT_EQ(v.size(), size_t{kPerThread});
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(*all.begin(), base);
  EXPECT_EQ(*all.rbegin(), base + kThreads * kPerThread - 1);
  EXPECT_EQ(ledger().size(), base + kThreads * kPerThread);
  ExpectVerifies();
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
