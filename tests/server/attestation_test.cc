// Deploy-authorization attestations end to end: a deployment walked through the real server to
// an allowed production start, its attestation fetched over HTTP and from `shiplog attest`, and
// checked by an independent Python verifier (verify_attestation.py: PAE + Ed25519 from
// python3-nacl, the PEM from `shiplog key show --pem`, the RFC 6962 proof and the checkpoint's
// signed note) the way an admission controller would; changed envelopes refused; records that
// authorized nothing refused with a clear message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "ledger/crypto.h"
#include "tests/server/deploy_chain.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/shop/"
    "checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

bool Python3Available() {
  struct stat st;
  return std::string(SHIPLOG_PYTHON3).size() > 0 && ::stat(SHIPLOG_PYTHON3, &st) == 0;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

class AttestationTest : public ::testing::Test {
 protected:
  AttestationTest() : server_(ChainAgents()) {}

  // One deployment of kImage to an allowed production start (R10's soak waived, a backup
  // verified), with a denied production start on the way; remembers the seqs of interest.
  void SetUp() override {
    ActivateRenamedPolicy();
    server_.Start();
    const std::string d = "checkout-7";
    auto as = [&](const std::string& agent, json event) { Submit(agent, event, d); };
    WalkToStagingStart(as, ChainRequest("checkout", kImage));
    denied_ = Submit("rutger", {{"kind", "step.started"}, {"step", "production"}}, d,
                     403)["denial_receipt"]["seq"];
    as("thijmen", {{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}});
    fact_ = Submit("otto", {{"kind", "backup.verified"}, {"scope", "db"}, {"backup_id", "b-7"}},
                   d)["seq"];
    as("rm", {{"kind", "waiver.granted"}, {"rule", "R10"}, {"reason", "test: no soak"}});
    allowed_ = Submit("rutger", {{"kind", "step.started"}, {"step", "production"}}, d)["seq"];
  }

  // The default pack under another name, activated after the genesis: the attestation must
  // name the policy that decided, not the genesis's.
  void ActivateRenamedPolicy() {
    std::ifstream in(SHIPLOG_DEFAULT_POLICY_FILE);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t at = text.find("\nname: default\n");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 15, "\nname: checkout-prod\n");
    const std::string file = dir_ / "policy.yaml";
    WriteFile(file, text);
    ProcessResult r = server_.Shiplog({"policy", "activate", "--data", server_.data(),
                                       "--admin-key", server_.data() + "/admin.key", file});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    policy_seq_ = json::parse(r.out)["seq"];
  }

  json Submit(const std::string& agent, json event, const std::string& d, int expected = 200) {
    event["deployment"] = d;
    adapters::HttpReply reply =
        server_.Post("/v1/events", server_.Sign(agent, std::move(event)).dump());
    EXPECT_EQ(reply.status, expected) << reply.body;
    return json::parse(reply.body);
  }

  adapters::HttpReply Attestation(uint64_t seq) {
    return server_.Get("/v1/records/" + std::to_string(seq) + "/attestation");
  }

  ProcessResult Verify(const std::string& envelope_file) {
    return RunProcess({SHIPLOG_PYTHON3, VERIFY_ATTESTATION_SCRIPT, envelope_file, pem_, vkey_,
                       kImage, "production", "production"});
  }

  // Stops the server (the CLI needs the ledger to itself) and exports the key for the verifier.
  void StopAndExportKey() {
    ASSERT_EQ(server_.Stop(), 0);
    ProcessResult pem = server_.Shiplog({"key", "show", "--data", server_.data(), "--pem"});
    ASSERT_EQ(pem.exit_code, 0) << pem.err;
    pem_ = dir_ / "ledger.pem";
    WriteFile(pem_, pem.out);
    ProcessResult vkey =
        server_.Shiplog({"key", "show", "--data", server_.data(), "--note-verifier"});
    ASSERT_EQ(vkey.exit_code, 0) << vkey.err;
    vkey_ = vkey.out.substr(0, vkey.out.find('\n'));
  }

  ServerProcess server_;
  ScratchDir dir_;
  uint64_t policy_seq_ = 0, denied_ = 0, fact_ = 0, allowed_ = 0;
  std::string pem_, vkey_;
};

TEST_F(AttestationTest, AllowedProductionStartVerifiesInPythonBothWays) {
  if (!Python3Available()) GTEST_SKIP() << "python3 not found (tools/setup.sh installs it)";
  adapters::HttpReply http = Attestation(allowed_);
  ASSERT_EQ(http.status, 200) << http.body;
  StopAndExportKey();
  const std::string cli_file = dir_ / "cli.json", http_file = dir_ / "http.json";
  WriteFile(http_file, http.body);
  ProcessResult cli = server_.Shiplog(
      {"attest", "--data", server_.data(), "--seq", std::to_string(allowed_), "--out", cli_file});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  std::ifstream in(cli_file);
  EXPECT_EQ(json::parse(in), json::parse(http.body))
      << "nothing was appended in between: the same statement, and Ed25519 is deterministic";

  auto payload = Base64Decode(json::parse(http.body)["payload"].get<std::string>());
  ASSERT_TRUE(payload.ok());
  const json policy = json::parse(*payload)["predicate"]["policy"];
  EXPECT_EQ(policy["name"], "checkout-prod");
  EXPECT_EQ(policy["seq"], policy_seq_);

  for (const std::string& file : {http_file, cli_file}) {
    ProcessResult py = Verify(file);
    EXPECT_EQ(py.exit_code, 0) << file << ": " << py.out << py.err;
    EXPECT_THAT(py.out, HasSubstr("ok seq " + std::to_string(allowed_)));
    EXPECT_THAT(py.out, HasSubstr("manual_clock=True")) << "a drill ledger says so";
  }
}

// What an attacker would change: the predicate (another environment), the subject (another
// image), or the signature. Each is refused by the independent verifier.
TEST_F(AttestationTest, ChangedEnvelopesAreRefusedInPython) {
  if (!Python3Available()) GTEST_SKIP() << "python3 not found (tools/setup.sh installs it)";
  adapters::HttpReply http = Attestation(allowed_);
  ASSERT_EQ(http.status, 200) << http.body;
  StopAndExportKey();
  const json envelope = json::parse(http.body);
  auto refused = [&](json changed, const std::string& why) {
    const std::string file = dir_ / "changed.json";
    WriteFile(file, changed.dump());
    ProcessResult py = Verify(file);
    EXPECT_EQ(py.exit_code, 1) << why << ": " << py.out << py.err;
    EXPECT_THAT(py.out, HasSubstr("refused")) << why;
    return py.out;
  };
  // The payload's statement, changed and re-encoded under the original signature.
  auto decoded = Base64Decode(envelope["payload"].get<std::string>());
  ASSERT_TRUE(decoded.ok());
  json predicate_changed = json::parse(*decoded);
  predicate_changed["predicate"]["environment"] = "staging";
  json tampered = envelope;
  tampered["payload"] = Base64Encode(predicate_changed.dump());
  EXPECT_THAT(refused(tampered, "predicate"), HasSubstr("signature does not verify"));

  json subject_changed = json::parse(*decoded);
  subject_changed["subject"][0]["digest"]["sha256"] = std::string(64, '0');
  tampered["payload"] = Base64Encode(subject_changed.dump());
  EXPECT_THAT(refused(tampered, "subject"), HasSubstr("signature does not verify"));

  json sig_changed = envelope;
  std::string sig = sig_changed["signatures"][0]["sig"];
  sig[5] = sig[5] == 'A' ? 'B' : 'A';
  sig_changed["signatures"][0]["sig"] = sig;
  EXPECT_THAT(refused(sig_changed, "signature"), HasSubstr("signature does not verify"));

  // A genuine attestation checked against another image's digest is refused too.
  const std::string file = dir_ / "genuine.json";
  WriteFile(file, http.body);
  ProcessResult other = RunProcess({SHIPLOG_PYTHON3, VERIFY_ATTESTATION_SCRIPT, file, pem_, vkey_,
                                    "registry.example/shop/checkout@sha256:" + std::string(64, '1'),
                                    "production", "production"});
  EXPECT_EQ(other.exit_code, 1) << other.out;
  EXPECT_THAT(other.out, HasSubstr("subject is not the image"));
}

TEST_F(AttestationTest, RecordsThatAuthorizedNothingAreRefusedOverHttp) {
  adapters::HttpReply denied = Attestation(denied_);
  EXPECT_EQ(denied.status, 400);
  EXPECT_THAT(denied.body, HasSubstr("denied intent"));
  adapters::HttpReply fact = Attestation(fact_);
  EXPECT_EQ(fact.status, 400);
  EXPECT_THAT(fact.body, HasSubstr("backup.verified, not a step.started"));
  adapters::HttpReply past = Attestation(allowed_ + 100);
  EXPECT_EQ(past.status, 404);
  EXPECT_THAT(past.body, HasSubstr("no record " + std::to_string(allowed_ + 100)));
  EXPECT_EQ(server_.Get("/v1/records/x1/attestation").status, 400);
  // A read route answers an unsigned call with 401 whatever its method: the read check comes
  // first, so a caller without a key learns nothing of the routes.
  EXPECT_EQ(server_.Post("/v1/records/1/attestation", "{}").status, 401);
  EXPECT_EQ(server_.Get("/v1/records/1/attestation?pretty=1").status, 400);
}

TEST_F(AttestationTest, CliRefusesRecordsThatAuthorizedNothing) {
  ASSERT_EQ(server_.Stop(), 0);
  auto attest = [&](uint64_t seq) {
    return server_.Shiplog({"attest", "--data", server_.data(), "--seq", std::to_string(seq)});
  };
  ProcessResult denied = attest(denied_);
  EXPECT_EQ(denied.exit_code, 2);
  EXPECT_THAT(denied.err, HasSubstr("is a denied intent"));
  ProcessResult fact = attest(fact_);
  EXPECT_EQ(fact.exit_code, 2);
  EXPECT_THAT(fact.err, HasSubstr("is a backup.verified, not a step.started"));
  ProcessResult past = attest(allowed_ + 1);
  EXPECT_EQ(past.exit_code, 2);
  EXPECT_THAT(past.err, HasSubstr("no record " + std::to_string(allowed_ + 1)));
  EXPECT_TRUE(denied.out.empty() && fact.out.empty() && past.out.empty());
}

// The key's forms agree with one another: the PEM holds the hex key, the keyid is its SHA-256.
TEST_F(AttestationTest, KeyShowPrintsEveryFormWithLabels) {
  ASSERT_EQ(server_.Stop(), 0);
  ProcessResult all = server_.Shiplog({"key", "show", "--data", server_.data()});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  for (const char* label : {"public key (hex):", "DSSE keyid:", "note verifier key:",
                            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"}) {
    EXPECT_THAT(all.out, HasSubstr(label));
  }
  json forms =
      json::parse(server_.Shiplog({"key", "show", "--data", server_.data(), "--json"}).out);
  EXPECT_THAT(all.out, HasSubstr(forms["note_verifier_key"].get<std::string>()));
  ProcessResult agent =
      server_.Shiplog({"key", "show", "--key", server_.key("rutger") + ".pub", "--keyid"});
  EXPECT_EQ(agent.exit_code, 0) << agent.err;
  EXPECT_EQ(agent.out.size(), 65u);
  EXPECT_EQ(server_.Shiplog({"key", "show"}).exit_code, 2);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
