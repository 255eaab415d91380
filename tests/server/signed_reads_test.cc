// Signed reads against the real server with the default pack's reads: section: every refusal a
// reader can meet (401 for the signature, 403 for the role), the scopes (everything, one
// environment's deployments, proofs only), the public routes, the refusal counters in /metrics,
// the CLI's `query --server --key` and an independent signer in Python (python3-nacl).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <sstream>

#include "adapters/http_signature.h"
#include "ledger/crypto.h"
#include "ledger/dsse.h"
#include "ledger/key_file.h"
#include "tests/server/deploy_chain.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

const std::string kImage =
    "registry.example/checkout@sha256:4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b";

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<json> Lines(const std::string& body) {
  std::vector<json> out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

std::set<std::string> DeploymentsIn(const std::string& query_body) {
  std::set<std::string> ids;
  for (const json& record : Lines(query_body)) {
    ids.insert(record["event"].value("deployment", std::string("(none)")));
  }
  return ids;
}

// One signed GET built by hand, so a test can sign one thing and send another.
struct ReadRequest {
  ReadRequest(std::string key, std::string wire_target, std::string covered_target = "")
      : key_file(std::move(key)),
        target(std::move(wire_target)),
        signed_target(std::move(covered_target)) {}

  std::string key_file;
  std::string target;         // what goes on the wire
  std::string signed_target;  // what the signature covers ("" = target)
  int64_t created_offset = 0;  // seconds from now
  int64_t date_offset = 0;
  std::string nonce;  // "" = a fresh one
};

class SignedReadsTest : public ::testing::Test {
 protected:
  static std::map<std::string, std::vector<std::string>> Agents() {
    auto agents = ChainAgents();
    agents["ava"] = {"auditor"};
    agents["gone"] = {"auditor"};
    return agents;
  }

  SignedReadsTest() : server_(Agents()) { InitCrypto(); }

  void SetUp() override {
    server_.Start();
    WalkToStagingStart([this](const std::string& agent, json event) { As(agent, "checkout-1", event); },
                       ChainRequest("checkout", kImage));
    staging_start_ = last_seq_;
    As("leon", "search-1",
       {{"kind", "deploy.requested"},
        {"app", "search"},
        {"environment", "staging"},
        {"version", "2.0.0"},
        {"image", "registry.example/search@sha256:" + std::string(64, 'a')},
        {"strategy", "rolling"},
        {"risk", "low"},
        {"planned_steps", {"orchestrate", "build", "staging"}}});
  }

  void As(const std::string& agent, const std::string& deployment, json event) {
    event["deployment"] = deployment;
    adapters::HttpReply reply = server_.Post("/v1/events", server_.Sign(agent, event).dump());
    ASSERT_EQ(reply.status, 200) << event.dump() << ": " << reply.body;
    last_seq_ = json::parse(reply.body)["seq"];
  }

  adapters::HttpReply Send(const ReadRequest& r, std::vector<std::pair<std::string, std::string>>*
                                                     sent_headers = nullptr) const {
    auto key = ReadKeyFile(r.key_file);
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    const int64_t now = UnixNow();
    const std::string date = adapters::HttpDate(now + r.date_offset);
    adapters::HttpCall call;
    call.target = r.target;
    call.headers =
        adapters::SignRequest({"GET", r.signed_target.empty() ? r.target : r.signed_target, date},
                              *key, now + r.created_offset, r.nonce.empty() ? RandomId() : r.nonce);
    call.headers.emplace_back("Date", date);
    if (sent_headers != nullptr) *sent_headers = call.headers;
    return Call(call);
  }

  adapters::HttpReply Call(const adapters::HttpCall& call) const {
    auto reply = adapters::Call({"127.0.0.1", std::to_string(server_.port()), "", false}, call);
    EXPECT_TRUE(reply.ok()) << reply.status().ToString();
    return reply.ok() ? std::move(reply).value() : adapters::HttpReply{};
  }

  // The refusal's message, checked to leak nothing of the records (it may repeat the request).
  static std::string RefusalMessage(const adapters::HttpReply& reply) {
    EXPECT_THAT(reply.body, Not(HasSubstr("registry.example")));
    EXPECT_THAT(reply.body, Not(HasSubstr("1.4.2")));
    return json::parse(reply.body)["error"].value("message", "");
  }

  uint64_t Refused(const std::string& reason) const {
    const std::string metrics = server_.GetUnsigned("/metrics").body;
    const std::string name = "shiplog_reads_refused_total{reason=\"" + reason + "\"} ";
    const size_t at = metrics.find(name);
    return at == std::string::npos ? 0 : std::stoull(metrics.substr(at + name.size()));
  }

  ServerProcess server_;
  uint64_t last_seq_ = 0;     // the seq of the last event As() appended
  uint64_t staging_start_ = 0;  // checkout-1's allowed staging start
};

TEST_F(SignedReadsTest, AnUnsignedReadIs401AndSaysHowToSign) {
  for (const char* target : {"/v1/query", "/v1/deployments/checkout-1",
                             "/v1/deployments/checkout-1/timeline", "/v1/records/1/attestation",
                             "/v1/whoami", "/v1/no-such-route"}) {
    adapters::HttpReply reply = server_.GetUnsigned(target);
    EXPECT_EQ(reply.status, 401) << target << ": " << reply.body;
    EXPECT_THAT(RefusalMessage(reply), HasSubstr("signed request")) << target;
    EXPECT_THAT(reply.headers["www-authenticate"], HasSubstr("Signature")) << target;
    EXPECT_THAT(reply.headers["accept-signature"], HasSubstr("\"@query\"")) << target;
  }
  EXPECT_EQ(Refused("unsigned"), 6u);
}

TEST_F(SignedReadsTest, PublicRoutesAnswerUnsigned) {
  for (const char* target : {"/healthz", "/readyz", "/metrics", "/v1/checkpoint", "/checkpoint",
                             "/v1/proofs/inclusion?seq=1"}) {
    EXPECT_EQ(server_.GetUnsigned(target).status, 200) << target;
  }
}

TEST_F(SignedReadsTest, AnAuditorReadsEverythingAndLearnsWhoItIs) {
  adapters::HttpReply query = server_.GetAs("ava", "/v1/query");
  ASSERT_EQ(query.status, 200) << query.body;
  EXPECT_EQ(DeploymentsIn(query.body), (std::set<std::string>{"(none)", "checkout-1", "search-1"}));
  EXPECT_EQ(server_.GetAs("ava", "/v1/deployments/checkout-1").status, 200);
  EXPECT_EQ(server_.GetAs("ava", "/v1/deployments/checkout-1/timeline").status, 200);

  adapters::HttpReply whoami = server_.GetAs("ava", "/v1/whoami");
  ASSERT_EQ(whoami.status, 200) << whoami.body;
  const json me = json::parse(whoami.body);
  EXPECT_EQ(me["name"], "ava");
  EXPECT_EQ(me["roles"], json::array({"auditor"}));
  EXPECT_EQ(me["reads"]["all"], true);
  auto key = ReadKeyFile(server_.key("ava"));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(me["keyid"], dsse::KeyId(key->PublicKey()));
}

TEST_F(SignedReadsTest, ATamperedRequestIs401) {
  // Signed for one app's records, sent for another's.
  adapters::HttpReply reply =
      Send({server_.key("ava"), "/v1/query?app=search", "/v1/query?app=checkout"});
  EXPECT_EQ(reply.status, 401);
  EXPECT_THAT(RefusalMessage(reply), HasSubstr("does not verify"));
  // The path too.
  reply = Send({server_.key("ava"), "/v1/deployments/checkout-1", "/v1/deployments/search-1"});
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(Refused("bad_signature"), 2u);
}

TEST_F(SignedReadsTest, AnotherKeyClaimingAnEnrolledKeyIdIs401) {
  // A key nobody enrolled, with the keyid of ava's key.
  ScratchDir scratch;
  const std::string stranger = scratch / "stranger.key";
  ASSERT_EQ(server_.Shiplog({"keygen", "--out", stranger}).exit_code, 0);
  adapters::HttpReply unknown = Send({stranger, "/v1/query"});
  EXPECT_EQ(unknown.status, 401);
  EXPECT_THAT(RefusalMessage(unknown), HasSubstr("not enrolled"));

  std::vector<std::pair<std::string, std::string>> headers;
  Send({stranger, "/v1/query"}, &headers);
  auto ava = ReadKeyFile(server_.key("ava"));
  auto mine = ReadKeyFile(stranger);
  ASSERT_TRUE(ava.ok() && mine.ok());
  std::string& input = headers[0].second;
  input.replace(input.find(dsse::KeyId(mine->PublicKey())), 64, dsse::KeyId(ava->PublicKey()));
  adapters::HttpCall call;
  call.target = "/v1/query";
  call.headers = headers;
  adapters::HttpReply forged = Call(call);
  EXPECT_EQ(forged.status, 401);
  EXPECT_THAT(RefusalMessage(forged), HasSubstr("does not verify"));
  EXPECT_EQ(Refused("unknown_key"), 2u);
}

TEST_F(SignedReadsTest, ARevokedKeyIs401FromItsRevocationOn) {
  ASSERT_EQ(server_.GetAs("gone", "/v1/query?kind=review").status, 200);
  auto gone = ReadKeyFile(server_.key("gone"));
  ASSERT_TRUE(gone.ok());
  ProcessResult revocation =
      server_.Shiplog({"sign", "--key", server_.admin_key(), "-"},
                      json({{"kind", "key.revoked"},
                            {"actor", "admin"},
                            {"public_key", HexEncode(gone->PublicKey())},
                            {"reason", "left the audit team"}})
                          .dump());
  ASSERT_EQ(revocation.exit_code, 0) << revocation.err;
  ASSERT_EQ(server_.Post("/v1/events", revocation.out).status, 200);

  adapters::HttpReply reply = server_.GetAs("gone", "/v1/query?kind=review");
  EXPECT_EQ(reply.status, 401);
  EXPECT_THAT(RefusalMessage(reply), HasSubstr("revoked"));
  EXPECT_EQ(Refused("revoked_key"), 1u);
}

TEST_F(SignedReadsTest, AReplayedNonceIs401) {
  std::vector<std::pair<std::string, std::string>> headers;
  ASSERT_EQ(Send({server_.key("ava"), "/v1/query?kind=review"}, &headers).status, 200);
  adapters::HttpCall again;
  again.target = "/v1/query?kind=review";
  again.headers = headers;
  adapters::HttpReply replay = Call(again);
  EXPECT_EQ(replay.status, 401);
  EXPECT_THAT(RefusalMessage(replay), HasSubstr("nonce"));
  // The same nonce in a new signature (another created time) is still the same nonce.
  ReadRequest resigned{server_.key("ava"), "/v1/query?kind=review"};
  resigned.created_offset = -1;
  resigned.nonce = "fixed-nonce";
  ASSERT_EQ(Send(resigned).status, 200);
  resigned.created_offset = 0;
  EXPECT_EQ(Send(resigned).status, 401);
  EXPECT_EQ(Refused("replayed"), 2u);
}

TEST_F(SignedReadsTest, AClockOutsideTheSkewIs401) {
  ReadRequest stale{server_.key("ava"), "/v1/query"};
  stale.created_offset = -301;
  adapters::HttpReply reply = Send(stale);
  EXPECT_EQ(reply.status, 401);
  EXPECT_THAT(RefusalMessage(reply), HasSubstr("created time"));

  ReadRequest future{server_.key("ava"), "/v1/query"};
  future.date_offset = 400;
  reply = Send(future);
  EXPECT_EQ(reply.status, 401);
  EXPECT_THAT(RefusalMessage(reply), HasSubstr("Date header"));
  EXPECT_EQ(Refused("expired"), 2u);

  ReadRequest within{server_.key("ava"), "/v1/query"};
  within.created_offset = -250;
  within.date_offset = 250;
  EXPECT_EQ(Send(within).status, 200);
}

TEST_F(SignedReadsTest, AMalformedSignatureIs401NamingWhatIsWrong) {
  adapters::HttpCall call;
  call.target = "/v1/query";
  call.headers = {{"Signature-Input", "sig1=(\"@method\");created=1"},
                  {"Signature", "sig1=:YQ==:"},
                  {"Date", adapters::HttpDate(UnixNow())}};
  adapters::HttpReply reply = Call(call);
  EXPECT_EQ(reply.status, 401);
  EXPECT_THAT(RefusalMessage(reply), HasSubstr("must cover exactly"));
  call.headers = {{"Signature-Input", "sig1=(\"@method\" \"@path\" \"@query\" \"date\");created=1"}};
  reply = Call(call);
  EXPECT_EQ(reply.status, 401);
  EXPECT_THAT(RefusalMessage(reply), HasSubstr("both Signature-Input and Signature"));
  EXPECT_EQ(Refused("malformed"), 2u);
}

TEST_F(SignedReadsTest, AStepOwnerReadsProofsButNotDeployments) {
  // otto (backup) holds a proofs-only grant.
  EXPECT_EQ(server_.GetAs("otto", "/v1/checkpoint").status, 200);
  EXPECT_EQ(server_.GetAs("otto", "/v1/whoami").status, 200);
  for (const char* target : {"/v1/query", "/v1/deployments/checkout-1",
                             "/v1/deployments/checkout-1/timeline", "/v1/records/1/attestation"}) {
    adapters::HttpReply reply = server_.GetAs("otto", target);
    EXPECT_EQ(reply.status, 403) << target << ": " << reply.body;
    EXPECT_THAT(RefusalMessage(reply), HasSubstr("may not read")) << target;
  }
  EXPECT_EQ(Refused("forbidden"), 4u);
}

TEST_F(SignedReadsTest, AnEnvironmentScopedReaderSeesOnlyItsEnvironment) {
  // thijmen (k8s-operator) reads staging's deployments; rutger (production-ops) production's.
  adapters::HttpReply staging = server_.GetAs("thijmen", "/v1/query");
  ASSERT_EQ(staging.status, 200) << staging.body;
  EXPECT_EQ(DeploymentsIn(staging.body), std::set<std::string>{"search-1"});
  adapters::HttpReply production = server_.GetAs("rutger", "/v1/query");
  ASSERT_EQ(production.status, 200) << production.body;
  EXPECT_EQ(DeploymentsIn(production.body), std::set<std::string>{"checkout-1"});
  // Counting leaks nothing either.
  const json all = json::parse(server_.GetAs("ava", "/v1/query?count=true").body);
  const json mine = json::parse(server_.GetAs("thijmen", "/v1/query?count=true").body);
  EXPECT_EQ(mine["count"].get<size_t>(), Lines(staging.body).size());
  EXPECT_LT(mine["count"].get<uint64_t>(), all["count"].get<uint64_t>());

  EXPECT_EQ(server_.GetAs("thijmen", "/v1/deployments/search-1/timeline").status, 200);
  EXPECT_EQ(server_.GetAs("thijmen", "/v1/deployments/checkout-1/timeline").status, 403);
  EXPECT_EQ(server_.GetAs("thijmen", "/v1/deployments/checkout-1").status, 403);
  // A deployment that does not exist is refused exactly like another team's: 403, not 404.
  EXPECT_EQ(server_.GetAs("thijmen", "/v1/deployments/nope-9").status, 403);
  EXPECT_EQ(server_.GetAs("ava", "/v1/deployments/nope-9").status, 404);
}

TEST_F(SignedReadsTest, TheCliSignsItsQueryAndPrintsWhatTheLedgerHolds) {
  ProcessResult remote = server_.Shiplog(
      {"query", "--server", server_.url(), "--key", server_.key("ava"), "--app", "checkout"});
  ASSERT_EQ(remote.exit_code, 0) << remote.err;
  ProcessResult refused = server_.Shiplog(
      {"query", "--server", server_.url(), "--key", server_.key("otto"), "--app", "checkout"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("403"));
  ProcessResult keyless = server_.Shiplog({"query", "--server", server_.url()});
  EXPECT_NE(keyless.exit_code, 0);
  EXPECT_THAT(keyless.err, HasSubstr("--key"));

  ASSERT_EQ(server_.Stop(), 0);
  ProcessResult local = server_.Shiplog({"query", "--data", server_.data(), "--app", "checkout"});
  ASSERT_EQ(local.exit_code, 0) << local.err;
  EXPECT_EQ(remote.out, local.out);
  EXPECT_FALSE(Lines(local.out).empty());
}

// timeline, replay, attest and checkpoint print from --server what they print from --data.
TEST_F(SignedReadsTest, TheCliReadCommandsPrintTheSameFromTheServer) {
  const std::string seq = std::to_string(staging_start_);
  const std::vector<std::vector<std::string>> commands = {
      {"timeline", "--deployment", "checkout-1", "--format", "json"},
      {"replay", "--deployment", "checkout-1", "--at", seq, "--format", "json"},
      {"attest", "--seq", seq},
      {"checkpoint"},
      {"checkpoint", "--note"},
      {"checkpoint", "--size", "3"},
  };
  std::vector<std::string> remote;
  for (std::vector<std::string> command : commands) {
    const bool is_public = command[0] == "checkpoint";
    command.insert(command.end(), {"--server", server_.url()});
    if (!is_public) command.insert(command.end(), {"--key", server_.key("ava")});
    ProcessResult r = server_.Shiplog(command);
    EXPECT_EQ(r.exit_code, 0) << command[0] << ": " << r.err;
    remote.push_back(r.out);
  }
  ProcessResult text = server_.Shiplog({"timeline", "--deployment", "checkout-1", "--server",
                                        server_.url(), "--key", server_.key("ava")});
  EXPECT_EQ(text.exit_code, 2);
  EXPECT_THAT(text.err, HasSubstr("--format json"));
  ProcessResult forbidden = server_.Shiplog({"attest", "--seq", seq, "--server", server_.url(),
                                             "--key", server_.key("thijmen")});
  EXPECT_NE(forbidden.exit_code, 0);
  EXPECT_THAT(forbidden.err, HasSubstr("403"));

  ASSERT_EQ(server_.Stop(), 0);
  for (size_t i = 0; i < commands.size(); ++i) {
    std::vector<std::string> command = commands[i];
    command.insert(command.end(), {"--data", server_.data()});
    ProcessResult local = server_.Shiplog(command);
    ASSERT_EQ(local.exit_code, 0) << command[0] << ": " << local.err;
    EXPECT_EQ(remote[i], local.out) << command[0];
    EXPECT_FALSE(local.out.empty());
  }
}

// export --server writes the bundle export --data writes; the server checks --since with its key.
TEST_F(SignedReadsTest, AnAuditorExportsABundleFromTheServer) {
  ScratchDir scratch;
  const std::string kept = scratch / "kept.note";
  ProcessResult note = server_.Shiplog({"checkpoint", "--note", "--server", server_.url()});
  ASSERT_EQ(note.exit_code, 0) << note.err;
  WriteFile(kept, note.out);
  As("thijmen", "checkout-1", {{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}});

  const std::vector<std::string> remote_args = {"export", "--deployment", "checkout-1", "--since",
                                                kept, "--server", server_.url(), "--key",
                                                server_.key("ava")};
  std::vector<std::string> args = remote_args;
  args.insert(args.end(), {"--out", scratch / "remote.json"});
  ProcessResult remote = server_.Shiplog(args);
  ASSERT_EQ(remote.exit_code, 0) << remote.err;
  const uint64_t kept_size = std::stoull(note.out.substr(note.out.find('\n') + 1));
  EXPECT_EQ(json::parse(remote.out)["since_size"], kept_size);

  // Another environment's reader: 403; a checkpoint this ledger never signed: refused, named.
  args = remote_args;
  args[args.size() - 1] = server_.key("thijmen");
  args.insert(args.end(), {"--out", scratch / "other.json"});
  ProcessResult forbidden = server_.Shiplog(args);
  EXPECT_NE(forbidden.exit_code, 0);
  EXPECT_THAT(forbidden.err, HasSubstr("403"));
  const std::string forged = scratch / "forged.note";
  std::string text = note.out;
  text[text.find('\n') + 1] = text[text.find('\n') + 1] == '9' ? '8' : '9';  // another size
  WriteFile(forged, text);
  args = remote_args;
  args[4] = forged;
  args.insert(args.end(), {"--out", scratch / "forged.json"});
  ProcessResult refused = server_.Shiplog(args);
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("parameter since"));

  ASSERT_EQ(server_.Stop(), 0);
  ProcessResult local =
      server_.Shiplog({"export", "--deployment", "checkout-1", "--since", kept, "--data",
                       server_.data(), "--out", scratch / "local.json"});
  ASSERT_EQ(local.exit_code, 0) << local.err;
  EXPECT_EQ(ReadFile(scratch / "remote.json"), ReadFile(scratch / "local.json"));
  ProcessResult verified =
      server_.Shiplog({"verify-bundle", scratch / "remote.json", "--ledger-key",
                       server_.data() + "/ledger.key.pub", "--since", kept});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

TEST_F(SignedReadsTest, APythonSignerIsAccepted) {
  if (std::string(SHIPLOG_PYTHON3).empty()) GTEST_SKIP() << "no python3";
  ProcessResult python = RunProcess({SHIPLOG_PYTHON3, SIGN_READ_SCRIPT, server_.url(),
                                     server_.key("ava"), "/v1/query?kind=review&actor=marta"});
  ASSERT_EQ(python.exit_code, 0) << python.err;
  EXPECT_EQ(python.out, server_.GetAs("ava", "/v1/query?kind=review&actor=marta").body);
}

// A browser may not set Date: the console signs "@method", "@path" and "@query" only, and its
// signed `created` dates the request.
TEST_F(SignedReadsTest, ASignatureWithoutDateIsAcceptedAsABrowserSendsIt) {
  if (std::string(SHIPLOG_PYTHON3).empty()) GTEST_SKIP() << "no python3";
  ProcessResult python =
      RunProcess({SHIPLOG_PYTHON3, SIGN_READ_SCRIPT, server_.url(), server_.key("ava"),
                  "/v1/query?kind=review&actor=marta", "--no-date"});
  ASSERT_EQ(python.exit_code, 0) << python.err;
  EXPECT_EQ(python.out, server_.GetAs("ava", "/v1/query?kind=review&actor=marta").body);

  // Without "date" nothing else is loosened: the signature still covers the query.
  const std::string base = std::string("\"@method\": GET\n\"@path\": /v1/query\n\"@query\": ?") +
                           "kind=review\n\"@signature-params\": ";
  adapters::SignatureInput input;
  input.label = "sig1";
  input.components = {"@method", "@path", "@query"};
  auto key = ReadKeyFile(server_.key("ava"));
  ASSERT_TRUE(key.ok());
  input.params = {{"created", UnixNow()},
                  {"keyid", dsse::KeyId(key->PublicKey())},
                  {"alg", std::string("ed25519")},
                  {"nonce", std::string("browser-nonce-1")}};
  const std::string signature = key->Sign(base + input.Serialize());
  adapters::HttpCall call;
  call.headers = {{"Signature-Input", input.HeaderValue()},
                  {"Signature", adapters::SignatureHeaderValue("sig1", signature)}};
  call.target = "/v1/query?kind=deploy.requested";
  adapters::HttpReply tampered = Call(call);
  EXPECT_EQ(tampered.status, 401);
  EXPECT_THAT(RefusalMessage(tampered), HasSubstr("does not verify"));
  call.target = "/v1/query?kind=review";
  EXPECT_EQ(Call(call).status, 200);

  // An old `created` is refused even though no Date says so.
  input.params[0].value = UnixNow() - 400;
  input.params[3].value = std::string("browser-nonce-2");
  call.headers = {{"Signature-Input", input.HeaderValue()},
                  {"Signature",
                   adapters::SignatureHeaderValue("sig1", key->Sign(base + input.Serialize()))}};
  adapters::HttpReply stale = Call(call);
  EXPECT_EQ(stale.status, 401);
  EXPECT_THAT(RefusalMessage(stale), HasSubstr("created time"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
