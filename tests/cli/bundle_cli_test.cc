// `shiplog export` and `shiplog verify-bundle` end to end: the real binary on a manual-clock
// ledger, the bundle checked with nothing but the ledger's public key file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "tests/cli/process.h"
#include "tests/cli/test_ledger.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

class BundleCliTest : public ::testing::Test {
 protected:
  // A ledger where rutger (ci) reported gates for checkout-1 and search-1, with a checkpoint kept
  // halfway (kept.json) as an auditor would.
  void SetUp() override {
    InitTestLedger(data());
    EnrollTestAgents(data(), {{"rutger", {"ci"}, Path("rutger.key")}});
    Gate("checkout-1", "tests");
    Gate("search-1", "tests");
    ProcessResult kept = Run({"checkpoint", "--data", data()});
    ASSERT_EQ(kept.exit_code, 0) << kept.err;
    WriteFile(Path("kept.json"), kept.out);
    AdvanceTestClock(data(), "5m");
    Gate("checkout-1", "scan");
  }

  std::string data() const { return dir_ / "data"; }
  std::string Path(const std::string& name) const { return dir_ / name; }
  std::string LedgerKey() const { return data() + "/ledger.key.pub"; }

  ProcessResult Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), ShiplogBinary());
    return RunProcess(args, input);
  }

  json Ok(std::vector<std::string> args, const std::string& input = "") {
    ProcessResult r = Run(args, input);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out);
  }

  // Made in this process: the ledger is setup here; export and verify-bundle are the programs.
  void Gate(const std::string& deployment, const std::string& gate) {
    AppendTestEvent(data(), Path("rutger.key"),
                    {{"kind", "gate.result"}, {"deployment", deployment}, {"gate", gate},
                     {"outcome", "pass"}});
  }

  json ExportCheckout(const std::string& out) {
    return Ok({"export", "--data", data(), "--deployment", "checkout-1", "--out", out, "--since",
               Path("kept.json")});
  }

  static bool Exists(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  ScratchDir dir_;
};

TEST_F(BundleCliTest, HelpDescribesBothCommands) {
  for (const char* command : {"export", "verify-bundle"}) {
    ProcessResult r = Run({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_THAT(r.out, HasSubstr("Usage")) << command;
    EXPECT_THAT(r.out, HasSubstr("--since")) << command;
  }
}

TEST_F(BundleCliTest, ExportThenVerifyWithOnlyThePublicKey) {
  json summary = ExportCheckout(Path("bundle.json"));
  EXPECT_EQ(summary["out"], Path("bundle.json"));
  EXPECT_EQ(summary["deployment"], "checkout-1");
  EXPECT_EQ(summary["deployment_records"], 2);
  EXPECT_EQ(summary["records"], 4);  // genesis, the enrolment and the two gates
  EXPECT_EQ(summary["checkpoint_size"], 5);
  EXPECT_EQ(summary["since_size"], 4);
  EXPECT_FALSE(Exists(Path("bundle.json.tmp")));

  ProcessResult r = Run({"verify-bundle", Path("bundle.json"), "--ledger-key", LedgerKey(),
                         "--since", Path("kept.json")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  json report = json::parse(r.out);
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(report["deployment"], "checkout-1");
  EXPECT_EQ(report["since_size"], 4);
  EXPECT_EQ(report["manual_clock"], true);
  EXPECT_THAT(r.err, HasSubstr("manual clock"));

  // The key as 64 hex characters works as well as the .pub file.
  std::string hex = ReadFile(LedgerKey()).substr(0, 64);
  EXPECT_EQ(Run({"verify-bundle", Path("bundle.json"), "--ledger-key", hex}).exit_code, 0);
}

TEST_F(BundleCliTest, ATamperedBundleExitsFourNamingTheRecord) {
  ExportCheckout(Path("bundle.json"));
  json bundle = json::parse(ReadFile(Path("bundle.json")));
  json& last = bundle["records"].back();
  ASSERT_EQ(last["event"]["gate"], "scan");
  last["event"]["outcome"] = "fail";
  WriteFile(Path("tampered.json"), bundle.dump());

  ProcessResult r = Run({"verify-bundle", Path("tampered.json"), "--ledger-key", LedgerKey()});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("verification failed: record 4: its field 'event'"));
  json report = json::parse(r.out);
  EXPECT_EQ(report["ok"], false);
  EXPECT_EQ(report["first_bad_seq"], 4);
}

TEST_F(BundleCliTest, AnotherLedgersKeyExitsFour) {
  ExportCheckout(Path("bundle.json"));
  Ok({"keygen", "--out", Path("stranger.key")});
  ProcessResult r =
      Run({"verify-bundle", Path("bundle.json"), "--ledger-key", Path("stranger.key.pub")});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("the bundle's checkpoint"));
}

TEST_F(BundleCliTest, SinceWithoutItsProofExitsFourAndSaysHowToExport) {
  Ok({"export", "--data", data(), "--deployment", "checkout-1", "--out", Path("bundle.json")});
  ProcessResult r = Run({"verify-bundle", Path("bundle.json"), "--ledger-key", LedgerKey(),
                         "--since", Path("kept.json")});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("--since"));
}

TEST_F(BundleCliTest, AKeptCheckpointOfAnotherLedgerExitsFour) {
  ExportCheckout(Path("bundle.json"));
  Ok({"init", "--data", Path("other")});
  ProcessResult other = Run({"checkpoint", "--data", Path("other")});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  WriteFile(Path("other-kept.json"), other.out);
  ProcessResult r = Run({"verify-bundle", Path("bundle.json"), "--ledger-key", LedgerKey(),
                         "--since", Path("other-kept.json")});
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(json::parse(r.out)["bad_checkpoint"], "since");
  // Exporting against it is refused before anything is written.
  ProcessResult refused = Run({"export", "--data", data(), "--deployment", "checkout-1", "--out",
                               Path("again.json"), "--since", Path("other-kept.json")});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_FALSE(Exists(Path("again.json")));
}

TEST_F(BundleCliTest, MalformedInputExitsTwo) {
  ExportCheckout(Path("bundle.json"));
  EXPECT_EQ(Run({"verify-bundle", Path("missing.json"), "--ledger-key", LedgerKey()}).exit_code, 2);
  EXPECT_EQ(Run({"verify-bundle", Path("bundle.json"), "--ledger-key", "zz"}).exit_code, 2);
  WriteFile(Path("not.json"), "this is not a bundle");
  ProcessResult r = Run({"verify-bundle", Path("not.json"), "--ledger-key", LedgerKey()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("malformed JSON"));
  WriteFile(Path("other.json"), R"({"format": "something-else"})");
  EXPECT_EQ(Run({"verify-bundle", Path("other.json"), "--ledger-key", LedgerKey()}).exit_code, 2);
  EXPECT_EQ(Run({"verify-bundle", Path("bundle.json")}).exit_code, 2);  // --ledger-key required
}

TEST_F(BundleCliTest, ExportRefusesToOverwriteUnlessForced) {
  ExportCheckout(Path("bundle.json"));
  WriteFile(Path("bundle.json"), "an earlier audit's bundle");
  ProcessResult again =
      Run({"export", "--data", data(), "--deployment", "checkout-1", "--out", Path("bundle.json")});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.err, HasSubstr("already exists"));
  EXPECT_EQ(ReadFile(Path("bundle.json")), "an earlier audit's bundle");

  Ok({"export", "--data", data(), "--deployment", "checkout-1", "--out", Path("bundle.json"),
      "--force"});
  EXPECT_EQ(Run({"verify-bundle", Path("bundle.json"), "--ledger-key", LedgerKey()}).exit_code, 0);
}

TEST_F(BundleCliTest, ExportOfAnUnknownDeploymentWritesNothing) {
  ProcessResult r =
      Run({"export", "--data", data(), "--deployment", "nope", "--out", Path("bundle.json")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("no records of deployment 'nope'"));
  EXPECT_FALSE(Exists(Path("bundle.json")));
  EXPECT_FALSE(Exists(Path("bundle.json.tmp")));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
