// The `shiplog` command end to end: the real binary on a temporary ledger.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/cli/process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

class CliTest : public ::testing::Test {
 protected:
  std::string data() const { return dir_ / "data"; }
  std::string Path(const std::string& name) const { return dir_ / name; }

  ProcessResult Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), ShiplogBinary());
    return RunProcess(args, input);
  }

  // Runs a command that must succeed and print one JSON object.
  json RunJson(std::vector<std::string> args, const std::string& input = "") {
    ProcessResult r = Run(args, input);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  void InitManual() {
    RunJson({"init", "--data", data(), "--manual-clock", "--clock-start", "2026-11-24T18:00:00Z"});
  }

  std::string Keygen(const std::string& name) {
    RunJson({"keygen", "--out", Path(name + ".key")});
    return Path(name + ".key");
  }

  // Makes a key for `name`, enrols it with `roles`, returns the key file.
  std::string Enroll(const std::string& name, const std::string& roles) {
    std::string key = Keygen(name);
    RunJson({"enroll", "--data", data(), "--admin-key", data() + "/admin.key", "--name", name,
             "--roles", roles, "--public-key", key + ".pub"});
    return key;
  }

  uint64_t Count() { return RunJson({"query", "--data", data(), "--count"})["count"]; }

  // A fact the default policy accepts from a holder of the ci role.
  static std::string GateResult(const std::string& actor, const std::string& id = "") {
    json e = {{"kind", "gate.result"}, {"deployment", "checkout-1"}, {"gate", "tests"},
              {"outcome", "pass"}, {"actor", actor}};
    if (!id.empty()) e["id"] = id;
    return e.dump();
  }

  ScratchDir dir_;
};

TEST_F(CliTest, EveryCommandHasHelp) {
  for (std::vector<std::string> cmd :
       {std::vector<std::string>{"--help"}, {"init", "--help"}, {"keygen", "--help"},
        {"enroll", "--help"}, {"revoke", "--help"}, {"sign", "--help"}, {"append", "--help"},
        {"query", "--help"}, {"verify", "--help"}, {"clock", "--help"},
        {"clock", "advance", "--help"}, {"clock", "set", "--help"}}) {
    ProcessResult r = Run(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd[0];
    EXPECT_THAT(r.out, HasSubstr("Usage")) << cmd[0];
  }
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Run({}).exit_code, 2);
  EXPECT_EQ(Run({"no-such-command"}).exit_code, 2);
  EXPECT_EQ(Run({"append"}).exit_code, 2);  // --data is required
}

TEST_F(CliTest, InitCreatesAProtectedLedgerAndRefusesASecondOne) {
  json out = RunJson({"init", "--data", data()});
  EXPECT_EQ(out["manual_clock"], false);
  EXPECT_EQ(out["admin_key_file"], data() + "/admin.key");
  struct stat st;
  ASSERT_EQ(::stat((data() + "/ledger.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((data() + "/admin.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  ProcessResult again = Run({"init", "--data", data()});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.err, HasSubstr("already holds a ledger"));

  json verify = RunJson({"verify", "--data", data()});
  EXPECT_EQ(verify["ok"], true);
  EXPECT_EQ(verify["records"], 1);
}

// Regression: a policy with a typo made init create the data directory before refusing.
TEST_F(CliTest, InitWithABadPolicyNamesTheErrorAndLeavesNothing) {
  WriteFile(Path("bad.yaml"), "shiplog_policy: 1\nname: x\nrulez: []\n");
  ProcessResult r = Run({"init", "--data", data(), "--policy", Path("bad.yaml")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("bad.yaml:3:1: unknown key 'rulez'"));
  struct stat st;
  EXPECT_NE(::stat(data().c_str(), &st), 0) << "the data directory was created";
}

TEST_F(CliTest, KeygenWritesPrivateKeyAndRefusesToOverwrite) {
  json out = RunJson({"keygen", "--out", Path("a.key")});
  EXPECT_EQ(out["public_key"].get<std::string>().size(), 64u);
  EXPECT_EQ(ReadFile(Path("a.key.pub")), out["public_key"].get<std::string>() + "\n");
  struct stat st;
  ASSERT_EQ(::stat(Path("a.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ProcessResult again = Run({"keygen", "--out", Path("a.key")});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.err, HasSubstr("already exists"));
}

TEST_F(CliTest, KeyFileReadableByOthersIsRefused) {
  InitManual();
  std::string key = Enroll("rutger", "ci");
  ::chmod(key.c_str(), 0644);
  ProcessResult r = Run({"append", "--data", data(), "--key", key, "-"}, GateResult("rutger"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("chmod 600"));
  EXPECT_EQ(Count(), 2u);  // genesis and the enrolment only
}

TEST_F(CliTest, AppendSignQueryVerifyOnAManualClockLedger) {
  InitManual();
  std::string key = Enroll("rutger", "ci");

  json first = RunJson({"append", "--data", data(), "--key", key, "-"}, GateResult("rutger"));
  EXPECT_EQ(first["seq"], 2);
  EXPECT_EQ(first["manual_clock"], true);
  EXPECT_EQ(first["ledger_time"], "2026-11-24T18:00:00Z");

  RunJson({"clock", "advance", "15m", "--data", data()});
  json signed_event = RunJson({"sign", "--key", key, "-"},
                              json({{"kind", "step.reported"},
                                    {"deployment", "checkout-1"},
                                    {"actor", "rutger"},
                                    {"step", "build"},
                                    {"status", "READY"}})
                                  .dump());
  EXPECT_EQ(signed_event["scheme"], "shiplog-ed25519-capnp-v1");
  WriteFile(Path("signed.json"), signed_event.dump());
  json second = RunJson({"append", "--data", data(), Path("signed.json")});
  EXPECT_EQ(second["seq"], 3);
  EXPECT_EQ(second["ledger_time"], "2026-11-24T18:15:00Z");

  // The same signed event again: stored once, the first receipt back.
  json repeat = RunJson({"append", "--data", data(), Path("signed.json")});
  EXPECT_EQ(repeat["seq"], 3);
  EXPECT_EQ(repeat["duplicate"], true);
  EXPECT_EQ(repeat["signature"], second["signature"]);
  EXPECT_EQ(Count(), 4u);

  ProcessResult q = Run({"query", "--data", data(), "--deployment", "checkout-1"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  std::istringstream lines(q.out);
  std::vector<json> records;
  for (std::string line; std::getline(lines, line);) records.push_back(json::parse(line));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["event"]["kind"], "gate.result");
  EXPECT_EQ(records[1]["event"]["status"], "ready");
  EXPECT_EQ(records[1]["seq"], 3);

  EXPECT_EQ(RunJson({"query", "--data", data(), "--kind", "key.enrolled", "--count"})["count"], 1);
  EXPECT_EQ(RunJson({"query", "--data", data(), "--actor", "rutger", "--count"})["count"], 2);
  EXPECT_EQ(RunJson({"query", "--data", data(), "--kind", "gate.result", "--count"})["count"], 1);
  EXPECT_EQ(RunJson({"query", "--data", data(), "--from-seq", "1", "--to-seq", "2", "--count"})
                ["count"], 2);

  ProcessResult verify = Run({"verify", "--data", data()});
  EXPECT_EQ(verify.exit_code, 0);
  json report = json::parse(verify.out);
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(report["records"], 4);
  EXPECT_EQ(report["manual_clock"], true);
  EXPECT_THAT(verify.err, HasSubstr("manual clock"));
}

TEST_F(CliTest, ClockCommandsGuardTime) {
  InitManual();
  std::string key = Enroll("rutger", "ci");
  RunJson({"clock", "set", "2026-11-24T20:00:00Z", "--data", data()});
  RunJson({"append", "--data", data(), "--key", key, "-"}, GateResult("rutger"));
  ProcessResult back = Run({"clock", "set", "2026-11-24T19:00:00Z", "--data", data()});
  EXPECT_EQ(back.exit_code, 2);
  EXPECT_THAT(back.err, HasSubstr("never goes backwards"));
  EXPECT_EQ(Run({"clock", "advance", "soon", "--data", data()}).exit_code, 2);
  EXPECT_EQ(RunJson({"clock", "show", "--data", data()})["ledger_time"], "2026-11-24T20:00:00Z");

  ScratchDir real;
  RunJson({"init", "--data", real / "data"});
  ProcessResult refused = Run({"clock", "advance", "15m", "--data", real / "data"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("system clock"));
}

struct BadInput {
  const char* name;
  std::string input;
  const char* message;
};

TEST_F(CliTest, BadEventsExitTwoNameTheProblemAndStoreNothing) {
  InitManual();
  std::string key = Enroll("rutger", "ci");
  const uint64_t before = Count();
  std::string oversized =
      json({{"kind", "step.started"}, {"deployment", "d"}, {"step", std::string(300000, 'x')}})
          .dump();
  for (const BadInput& bad : std::vector<BadInput>{
           {"malformed", "{\"kind\": \"step.started\",", "malformed JSON"},
           {"no kind", R"({"deployment":"d","step":"s"})", "no \"kind\""},
           {"unknown kind", R"({"kind":"step.exploded","deployment":"d"})", "unknown event kind"},
           {"missing field", R"({"kind":"step.started","deployment":"d"})", "'step'"},
           {"unknown field", R"({"kind":"step.started","deployment":"d","step":"s","stpe":"x"})",
            "unknown field 'stpe'"},
           {"no deployment", R"({"kind":"step.started","step":"s"})", "'deployment'"},
           {"wrong type", R"({"kind":"traffic.shifted","deployment":"d","weight":"five"})",
            "'weight'"},
           {"oversized", oversized, "limit"},
           {"someone else's name", GateResult("leon"), "enrolled for 'rutger'"},
       }) {
    ProcessResult r = Run({"append", "--data", data(), "--key", key, "-"}, bad.input);
    EXPECT_EQ(r.exit_code, 2) << bad.name << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr(bad.message)) << bad.name;
  }
  EXPECT_EQ(Count(), before);
}

TEST_F(CliTest, SignaturesAndKeysAreChecked) {
  InitManual();
  std::string rutger = Enroll("rutger", "ci");
  std::string stranger = Keygen("stranger");
  const uint64_t before = Count();

  json envelope = RunJson({"sign", "--key", rutger, "-"}, GateResult("rutger", "e1"));
  std::string sig = envelope["signature"];
  sig[0] = sig[0] == 'A' ? 'B' : 'A';
  envelope["signature"] = sig;
  ProcessResult bad_sig = Run({"append", "--data", data(), "-"}, envelope.dump());
  EXPECT_EQ(bad_sig.exit_code, 2);
  EXPECT_THAT(bad_sig.err, HasSubstr("signature does not verify"));

  ProcessResult unknown =
      Run({"append", "--data", data(), "--key", stranger, "-"}, GateResult("stranger"));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("not enrolled"));

  ProcessResult not_admin = Run({"enroll", "--data", data(), "--admin-key", rutger, "--name",
                                 "mallory", "--roles", "production", "--public-key",
                                 stranger + ".pub"});
  EXPECT_EQ(not_admin.exit_code, 2);
  EXPECT_THAT(not_admin.err, HasSubstr("admin role"));
  EXPECT_EQ(Count(), before);

  // A revoked key's later events are refused; its earlier ones stay valid.
  RunJson({"append", "--data", data(), "--key", rutger, "-"}, GateResult("rutger", "before"));
  RunJson({"revoke", "--data", data(), "--admin-key", data() + "/admin.key", "--public-key",
           rutger + ".pub", "--reason", "laptop lost"});
  ProcessResult revoked =
      Run({"append", "--data", data(), "--key", rutger, "-"}, GateResult("rutger", "after"));
  EXPECT_EQ(revoked.exit_code, 2);
  EXPECT_THAT(revoked.err, HasSubstr("revoked"));
  EXPECT_EQ(RunJson({"verify", "--data", data()})["ok"], true);
}

TEST_F(CliTest, ConflictingEventIdIsRefused) {
  InitManual();
  std::string key = Enroll("rutger", "ci");
  RunJson({"append", "--data", data(), "--key", key, "-"}, GateResult("rutger", "same-id"));
  json other = json::parse(GateResult("rutger", "same-id"));
  other["gate"] = "lint";
  ProcessResult r = Run({"append", "--data", data(), "--key", key, "-"}, other.dump());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("already used event id 'same-id'"));
}

// Changes one byte of a stored record behind the ledger's back.
void TamperWithRecord(const std::string& db_path, uint64_t seq) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const char* name : {rocksdb::kDefaultColumnFamilyName.c_str(), "records", "index", "meta"}) {
    families.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), db_path, families, &handles, &db).ok());
  std::string key(8, '\0');
  key[7] = static_cast<char>(seq);
  std::string value;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), handles[1], key, &value).ok());
  value[value.size() - 40] ^= 0x01;
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[1], key, value).ok());
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

TEST_F(CliTest, VerifyExitsFourAndNamesTheTamperedRecord) {
  InitManual();
  std::string key = Enroll("rutger", "ci");
  for (int i = 0; i < 3; ++i) {
    RunJson({"append", "--data", data(), "--key", key, "-"}, GateResult("rutger"));
  }
  TamperWithRecord(data() + "/db", 3);
  ProcessResult r = Run({"verify", "--data", data()});
  EXPECT_EQ(r.exit_code, 4);
  json report = json::parse(r.out);
  EXPECT_EQ(report["ok"], false);
  EXPECT_EQ(report["first_bad_seq"], 3);
  EXPECT_THAT(r.err, HasSubstr("record 3"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
