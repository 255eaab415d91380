// The promise: "the same proofs verify with any RFC 6962 verifier". A few lines of
// Python's hashlib (tests/cli/rfc6962_verify.py, written from RFC 9162 2.1.3.2 and 2.1.4.2)
// check the proofs `shiplog proof inclusion` and `proof consistency` print for a ledger of 40
// records, at many sizes, against the roots on the checkpoint notes; and refuse changed ones.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <functional>
#include <set>

#include "ledger/clock.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "ledger/ledger.h"
#include "tests/cli/process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr uint64_t kRecords = 40;

bool Python3Available() {
  struct stat st;
  return std::string(SHIPLOG_PYTHON3).size() > 0 && ::stat(SHIPLOG_PYTHON3, &st) == 0;
}

class Rfc6962PythonTest : public ::testing::Test {
 protected:
  // One drill ledger for the suite, built through the library (fast); the proofs come from the
  // real binary.
  static void SetUpTestSuite() {
    InitCrypto();
    dir_ = new ScratchDir;
    FakeClock clock(1795543200LL * kMicrosPerSecond);
    SigningKey admin = SigningKey::Generate();
    SigningKey agent = SigningKey::Generate();
    InitOptions options;
    options.admin_public_key = admin.PublicKey();
    options.manual_clock = true;
    Status init = Ledger::Init(data(), options, &clock);
    if (!init.ok()) throw std::runtime_error(init.ToString());
    auto ledger = Ledger::Open(data(), &clock);
    if (!ledger.ok()) throw std::runtime_error(ledger.status().ToString());
    auto sign = [](const json& j, const SigningKey& key) {
      return SignedEvent::Sign(Event::FromJson(j).value(), key);
    };
    auto enrolled = (*ledger)->Append(
        sign({{"kind", "key.enrolled"}, {"id", "enrol-ci"}, {"actor", "admin"}, {"name", "ci"},
              {"public_key", HexEncode(agent.PublicKey())}, {"roles", {"ci"}}},
             admin));
    if (!enrolled.ok()) throw std::runtime_error(enrolled.status().ToString());
    for (uint64_t seq = 2; seq < kRecords; ++seq) {
      if (!(*ledger)->AdvanceClock(kMicrosPerMinute).ok()) throw std::runtime_error("clock");
      auto r = (*ledger)->Append(sign({{"kind", "gate.result"},
                                       {"id", "gate-" + std::to_string(seq)},
                                       {"actor", "ci"},
                                       {"deployment", "checkout-1"},
                                       {"gate", "tests"},
                                       {"outcome", "pass"}},
                                      agent));
      if (!r.ok()) throw std::runtime_error(r.status().ToString());
    }
  }
  static void TearDownTestSuite() { delete dir_; }

  void SetUp() override {
    if (!Python3Available()) GTEST_SKIP() << "python3 not found (tools/setup.sh installs it)";
  }

  static std::string data() { return *dir_ / "data"; }

  // Runs `shiplog proof ...` and saves what it printed; returns the file.
  std::string SaveProof(const std::vector<std::string>& args, const std::string& name) {
    std::vector<std::string> argv = {ShiplogBinary(), "proof"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--data", data()});
    ProcessResult r = RunProcess(argv);
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    const std::string file = work_ / (name + ".json");
    WriteFile(file, r.out);
    return file;
  }

  std::string Inclusion(uint64_t seq, uint64_t size) {
    return SaveProof({"inclusion", "--seq", std::to_string(seq), "--size", std::to_string(size)},
                     "inclusion-" + std::to_string(seq) + "-" + std::to_string(size));
  }
  std::string Consistency(uint64_t from, uint64_t to) {
    return SaveProof({"consistency", "--from", std::to_string(from), "--to", std::to_string(to)},
                     "consistency-" + std::to_string(from) + "-" + std::to_string(to));
  }

  // Runs the Python verifier on `files`.
  ProcessResult Python(const std::vector<std::string>& files) {
    std::vector<std::string> argv = {SHIPLOG_PYTHON3, RFC6962_VERIFY_SCRIPT};
    argv.insert(argv.end(), files.begin(), files.end());
    return RunProcess(argv);
  }

  // A copy of the proof in `file` changed by `edit`, saved under a new name.
  std::string Edited(const std::string& file, const std::string& name,
                     const std::function<void(json&)>& edit) {
    json doc = json::parse(ReadFile(file));
    edit(doc);
    const std::string out = work_ / (name + ".json");
    WriteFile(out, doc.dump());
    return out;
  }

  static std::string ChangeHex(std::string hex, size_t at) {
    hex[at] = hex[at] == 'f' ? '0' : 'f';
    return hex;
  }

  static ScratchDir* dir_;
  ScratchDir work_;
};
ScratchDir* Rfc6962PythonTest::dir_ = nullptr;

// Sizes that are and are not powers of two, and their neighbours.
const std::vector<uint64_t> kSizes = {1, 2, 3, 4, 7, 8, 9, 13, 16, 17, 31, 32, 33, 40};

TEST_F(Rfc6962PythonTest, InclusionProofsVerifyWithHashlib) {
  std::vector<std::string> files;
  for (uint64_t size : kSizes) {
    for (uint64_t seq : std::set<uint64_t>{0, size / 2, size - 1}) files.push_back(Inclusion(seq, size));
  }
  ASSERT_GE(files.size(), 30u);
  ProcessResult r = Python(files);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("FAIL")));
  EXPECT_THAT(r.out, HasSubstr("ok "));
  EXPECT_THAT(r.out, HasSubstr("inclusion of 20 in 40"));
}

TEST_F(Rfc6962PythonTest, ConsistencyProofsVerifyWithHashlib) {
  std::vector<std::string> files;
  for (uint64_t from : kSizes) {
    for (uint64_t to : std::set<uint64_t>{from + 1, from % 2 ? uint64_t{33} : uint64_t{32}, 40}) {
      if (from <= to && to <= kRecords) files.push_back(Consistency(from, to));
    }
  }
  ASSERT_GE(files.size(), 30u);
  ProcessResult r = Python(files);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("FAIL")));
  EXPECT_THAT(r.out, HasSubstr("consistency from 13 to 33"));
}

// The script refuses what it should: otherwise the passes above would prove nothing.
TEST_F(Rfc6962PythonTest, ChangedProofsAreRefusedByHashlib) {
  const std::string inclusion = Inclusion(21, 37);
  const std::string consistency = Consistency(13, 37);
  ASSERT_EQ(Python({inclusion, consistency}).exit_code, 0);

  const std::vector<std::pair<std::string, std::function<void(json&)>>> bad_inclusions = {
      {"path-entry", [](json& d) { d["proof"][1] = ChangeHex(d["proof"][1], 9); }},
      {"last-entry", [](json& d) { d["proof"].back() = ChangeHex(d["proof"].back(), 0); }},
      {"leaf", [](json& d) { d["leaf_hash"] = ChangeHex(d["leaf_hash"], 63); }},
      {"index", [](json& d) { d["seq"] = 20; }},
      {"dropped-entry", [](json& d) { d["proof"].erase(d["proof"].size() - 1); }},
      {"size", [](json& d) { d["size"] = 36; }},
      {"root", [](json& d) {
         std::string note = d["checkpoint"];
         const size_t root = note.find('\n', note.find('\n') + 1) + 1;
         note[root + 4] = note[root + 4] == 'A' ? 'B' : 'A';
         d["checkpoint"] = note;
       }},
  };
  // One run of the script over every changed document: each line must be a FAIL.
  std::vector<std::string> bad_files;
  for (const auto& [name, edit] : bad_inclusions) {
    bad_files.push_back(Edited(inclusion, "bad-inclusion-" + name, edit));
  }

  const std::vector<std::pair<std::string, std::function<void(json&)>>> bad_consistencies = {
      {"first-entry", [](json& d) { d["proof"][0] = ChangeHex(d["proof"][0], 3); }},
      {"last-entry", [](json& d) { d["proof"].back() = ChangeHex(d["proof"].back(), 30); }},
      {"swapped", [](json& d) {
         std::swap(d["old_checkpoint"], d["new_checkpoint"]);
         std::swap(d["from"], d["to"]);
       }},
      {"old-root", [](json& d) {
         std::string note = d["old_checkpoint"];
         const size_t root = note.find('\n', note.find('\n') + 1) + 1;
         note[root + 7] = note[root + 7] == 'A' ? 'B' : 'A';
         d["old_checkpoint"] = note;
       }},
      {"no-path", [](json& d) { d["proof"] = json::array(); }},
  };
  for (const auto& [name, edit] : bad_consistencies) {
    bad_files.push_back(Edited(consistency, "bad-consistency-" + name, edit));
  }
  WriteFile(work_ / "garbage.json", "not json");
  bad_files.push_back(work_ / "garbage.json");
  ProcessResult r = Python(bad_files);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  for (const std::string& file : bad_files) {
    EXPECT_THAT(r.out, HasSubstr("FAIL " + file + ":")) << r.out;
  }
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("ok "))) << r.out;

  // One bad document among good ones fails the run.
  const std::string bad = Edited(inclusion, "bad-among-good",
                                 [](json& d) { d["proof"][0] = ChangeHex(d["proof"][0], 1); });
  EXPECT_EQ(Python({inclusion, bad, consistency}).exit_code, 1);
}

// The two verifiers agree: what hashlib refuses, `shiplog verify-proof` refuses too.
TEST_F(Rfc6962PythonTest, ShiplogAgreesWithHashlib) {
  const std::string good = Inclusion(5, 33);
  const std::string bad =
      Edited(good, "agree-bad", [](json& d) { d["proof"][0] = ChangeHex(d["proof"][0], 2); });
  const std::string key = data() + "/ledger.key.pub";
  EXPECT_EQ(RunProcess({ShiplogBinary(), "verify-proof", good, "--ledger-key", key}).exit_code, 0);
  EXPECT_EQ(Python({good}).exit_code, 0);
  EXPECT_EQ(RunProcess({ShiplogBinary(), "verify-proof", bad, "--ledger-key", key}).exit_code, 4);
  EXPECT_EQ(Python({bad}).exit_code, 1);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
