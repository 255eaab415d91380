// The GitHub deployment protection rule, part by part: the webhook's HMAC, the App's RS256 JWT and
// installation tokens, https to the API, the delivery and the review, and the background poster,
// against a local double of api.github.com (tests/server/github_double.h). github_test.cc drives
// the whole route through the real server.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/pem.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <thread>

#include "adapters/github/app_jwt.h"
#include "adapters/github/delivery.h"
#include "adapters/github/github_api.h"
#include "adapters/github/review_poster.h"
#include "adapters/github/webhook_signature.h"
#include "tests/cli/process.h"
#include "tests/server/github_double.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using adapters::github::ApiEndpoint;
using adapters::github::AppKey;
using adapters::github::InstallationTokens;
using adapters::github::ReviewPoster;
using ::testing::HasSubstr;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr char kAppId[] = "424242";

// Polls `done` until it holds or `timeout` passes; its last answer.
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

// integrations.md, section 1: GitHub's own test vector for X-Hub-Signature-256.
constexpr char kVectorSecret[] = "It's a Secret to Everybody";
constexpr char kVectorPayload[] = "Hello, World!";
constexpr char kVectorSignature[] =
    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

TEST(GitHubWebhookSignature, MatchesGitHubsTestVector) {
  using adapters::github::HmacSha256Hex;
  using adapters::github::WebhookSignatureMatches;
  EXPECT_EQ(HmacSha256Hex(kVectorSecret, kVectorPayload), kVectorSignature);
  const std::string header = std::string("sha256=") + kVectorSignature;
  EXPECT_TRUE(WebhookSignatureMatches(kVectorSecret, kVectorPayload, header));
  std::string upper = header;
  for (size_t i = 7; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  EXPECT_TRUE(WebhookSignatureMatches(kVectorSecret, kVectorPayload, upper));
}

TEST(GitHubWebhookSignature, RefusesEverythingElse) {
  using adapters::github::WebhookSignatureMatches;
  const std::string header = std::string("sha256=") + kVectorSignature;
  EXPECT_FALSE(WebhookSignatureMatches("another secret", kVectorPayload, header));
  EXPECT_FALSE(WebhookSignatureMatches(kVectorSecret, "Hello, World?", header));
  EXPECT_FALSE(WebhookSignatureMatches(kVectorSecret, kVectorPayload, kVectorSignature));
  EXPECT_FALSE(WebhookSignatureMatches(kVectorSecret, kVectorPayload, header.substr(0, 70)));
  EXPECT_FALSE(WebhookSignatureMatches(kVectorSecret, kVectorPayload, header + "00"));
  EXPECT_FALSE(WebhookSignatureMatches(kVectorSecret, kVectorPayload, ""));
  EXPECT_FALSE(WebhookSignatureMatches(kVectorSecret, kVectorPayload,
                                       "sha1=" + std::string(kVectorSignature)));
}

TEST(GitHubAppKey, RefusesWhatIsNotAnRsaPrivateKey) {
  EXPECT_EQ(AppKey::FromPem("not a key").status().code(), StatusCode::kInvalidArgument);
  EVP_PKEY* ec = EVP_EC_gen("P-256");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, ec, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  auto key = AppKey::FromPem(std::string(data, static_cast<size_t>(size)));
  BIO_free(bio);
  EVP_PKEY_free(ec);
  ASSERT_FALSE(key.ok());
  EXPECT_THAT(key.status().message(), HasSubstr("not an RSA key"));
  EXPECT_EQ(AppKey::FromFile("/nonexistent/app.pem").status().code(), StatusCode::kNotFound);
}

// An App (its RSA key) and the double that knows its public key.
class GitHubAppTest : public ::testing::Test {
 protected:
  GitHubAppTest() : double_(app_.get(), kAppId) {}

  ApiEndpoint Api(const GitHubDouble& github, const std::string& ca_file = "") const {
    auto api = adapters::github::ParseApiEndpoint(github.url(), ca_file);
    if (!api.ok()) throw std::runtime_error(api.status().ToString());
    api->timeout = 5s;
    return *api;
  }
  AppKey Key(const RsaKeyPair& pair) const {
    auto key = AppKey::FromPem(pair.PrivatePem());
    if (!key.ok()) throw std::runtime_error(key.status().ToString());
    return std::move(key).value();
  }

  RsaKeyPair app_;
  GitHubDouble double_;
};

TEST_F(GitHubAppTest, TheAppJwtVerifiesUnderTheAppsPublicKey) {
  InstallationTokens tokens(Api(double_), kAppId, Key(app_));
  const auto before = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto token = tokens.Get(77);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_THAT(*token, HasSubstr("ghs_"));
  ASSERT_EQ(double_.jwt_claims().size(), 1u);
  const json claims = double_.jwt_claims()[0];
  EXPECT_EQ(claims["iss"], kAppId);
  EXPECT_NEAR(claims["iat"].get<int64_t>(), before - 60, 2);
  EXPECT_EQ(claims["exp"].get<int64_t>() - claims["iat"].get<int64_t>(), 600);
  const Received call = double_.requests().at(0);
  EXPECT_EQ(call.target, "/app/installations/77/access_tokens");
  EXPECT_EQ(call.headers.at("accept"), "application/vnd.github+json");
  EXPECT_EQ(call.headers.at("x-github-api-version"), "2022-11-28");
}

TEST_F(GitHubAppTest, AJwtSignedWithAnotherKeyIsRefused) {
  RsaKeyPair stranger;
  InstallationTokens tokens(Api(double_), kAppId, Key(stranger));
  auto token = tokens.Get(77);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().code(), StatusCode::kUnknownKey);
  EXPECT_THAT(token.status().message(), HasSubstr("401"));
  EXPECT_THAT(token.status().message(), HasSubstr("bad signature"));
  InstallationTokens wrong_app(Api(double_), "1", Key(app_));
  EXPECT_THAT(wrong_app.Get(77).status().message(), HasSubstr("wrong iss"));
}

TEST_F(GitHubAppTest, ATokenIsReusedUntilShortlyBeforeItExpires) {
  InstallationTokens tokens(Api(double_), kAppId, Key(app_));
  auto first = tokens.Get(77);
  auto again = tokens.Get(77);
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(*first, *again);
  EXPECT_EQ(double_.tokens_issued(), 1u);
  ASSERT_TRUE(tokens.Get(78).ok()) << "each installation has its own token";
  EXPECT_EQ(double_.tokens_issued(), 2u);
  // A token with less than the refresh margin left is not used again.
  double_.SetTokenLifetime(
      std::chrono::duration_cast<std::chrono::seconds>(InstallationTokens::kRefreshMargin - 1min));
  ASSERT_TRUE(tokens.Get(79).ok());
  ASSERT_TRUE(tokens.Get(79).ok());
  EXPECT_EQ(double_.tokens_issued(), 4u);
  EXPECT_EQ(tokens.minted(), 4u);
}

TEST_F(GitHubAppTest, ATokenMintedWhileGitHubIsDownIsARetryableFailure) {
  InstallationTokens tokens(Api(double_), kAppId, Key(app_));
  double_.FailNext(1, 503);
  auto token = tokens.Get(77);
  ASSERT_FALSE(token.ok());
  EXPECT_TRUE(adapters::github::Retryable(token.status())) << token.status().ToString();
  double_.GoDown();
  token = tokens.Get(77);
  ASSERT_FALSE(token.ok());
  EXPECT_TRUE(adapters::github::Retryable(token.status())) << token.status().ToString();
  double_.ComeUp();
  EXPECT_TRUE(tokens.Get(77).ok());
}

TEST(GitHubApiEndpoint, CallbackUrlsMustBeUnderTheApi) {
  auto api = adapters::github::ParseApiEndpoint("https://api.github.com/", "");
  ASSERT_TRUE(api.ok());
  EXPECT_EQ(api->base, "https://api.github.com");
  using adapters::github::TargetUnderApi;
  auto target = TargetUnderApi(
      *api, "https://api.github.com/repos/o/r/actions/runs/1/deployment_protection_rule");
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(*target, "/repos/o/r/actions/runs/1/deployment_protection_rule");
  EXPECT_FALSE(TargetUnderApi(*api, "https://api.github.com.evil.example/repos/o/r").ok());
  EXPECT_FALSE(TargetUnderApi(*api, "https://evil.example/repos/o/r").ok());
  EXPECT_FALSE(TargetUnderApi(*api, "http://api.github.com/repos/o/r").ok());
  EXPECT_FALSE(TargetUnderApi(*api, "https://api.github.com/").ok());
  EXPECT_FALSE(TargetUnderApi(*api, "https://api.github.com/repos/o r").ok());
  EXPECT_FALSE(TargetUnderApi(*api, "https://api.github.com/repos/o\r\nX-Evil: 1").ok());
  EXPECT_FALSE(adapters::github::ParseApiEndpoint("ftp://api.github.com", "").ok());
}

// The API over https: the peer is checked against the CA given (or the system's), by name.
class GitHubHttpsTest : public GitHubAppTest {
 protected:
  adapters::HttpCall Probe(const std::string& ca_file) const {
    adapters::HttpCall call;
    call.method = "POST";
    call.target = "/nowhere";
    call.headers = {{"X-GitHub-Api-Version", "2022-11-28"}};
    call.timeout = 5s;
    call.ca_file = ca_file;
    return call;
  }
  ScratchDir dir_;
};

TEST_F(GitHubHttpsTest, TheCertificateIsCheckedAgainstTheCaAndTheName) {
  const TestCertificate cert = MakeSelfSignedCertificate("localhost", /*include_loopback_ip=*/true);
  WriteFile(dir_ / "ca.pem", cert.cert_pem);
  GitHubDouble github(app_.get(), kAppId, &cert);
  auto url = adapters::ParseServerUrl(github.url());
  ASSERT_TRUE(url.ok());
  EXPECT_TRUE(url->tls);
  auto trusted = adapters::Call(*url, Probe(dir_ / "ca.pem"));
  ASSERT_TRUE(trusted.ok()) << trusted.status().ToString();
  EXPECT_EQ(trusted->status, 404);
  // The system's CAs do not know the double's certificate.
  auto untrusted = adapters::Call(*url, Probe(""));
  ASSERT_FALSE(untrusted.ok());
  EXPECT_THAT(untrusted.status().message(), HasSubstr("certificate"));
  // By name: localhost is in the certificate.
  auto by_name = adapters::ParseServerUrl("https://localhost:" + std::to_string(github.port()));
  ASSERT_TRUE(by_name.ok());
  auto named = adapters::Call(*by_name, Probe(dir_ / "ca.pem"));
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->status, 404);
  EXPECT_EQ(github.requests().size(), 2u) << "the refused handshake sent no request";
}

TEST_F(GitHubHttpsTest, ACertificateForAnotherNameIsRefused) {
  const TestCertificate cert = MakeSelfSignedCertificate("api.github.test", false);
  WriteFile(dir_ / "ca.pem", cert.cert_pem);
  GitHubDouble github(app_.get(), kAppId, &cert);
  auto url = adapters::ParseServerUrl(github.url());  // 127.0.0.1: not in the certificate
  ASSERT_TRUE(url.ok());
  auto reply = adapters::Call(*url, Probe(dir_ / "ca.pem"));
  ASSERT_FALSE(reply.ok());
  EXPECT_THAT(reply.status().message(), HasSubstr("mismatch"));
  EXPECT_TRUE(github.requests().empty());
  EXPECT_EQ(adapters::Call(*url, Probe(dir_ / "missing.pem")).status().code(),
            StatusCode::kNotFound);
}

// A GitHub that takes the connection and never answers: the call ends at its deadline with an
// error (retried by the poster), instead of holding the poster forever.
TEST(GitHubHttpClient, APeerThatNeverAnswersEndsTheCallAtItsDeadline) {
  const uint16_t port = PickFreePort();
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor silent(
      ioc, {boost::asio::ip::make_address("127.0.0.1"), port});  // listens, never accepts
  for (const std::string scheme : {"http", "https"}) {
    auto url = adapters::ParseServerUrl(scheme + "://127.0.0.1:" + std::to_string(port));
    ASSERT_TRUE(url.ok());
    adapters::HttpCall call;
    call.timeout = 300ms;
    auto reply = adapters::Call(*url, call);
    ASSERT_FALSE(reply.ok()) << scheme;
    EXPECT_EQ(reply.status().code(), StatusCode::kInternal);
    EXPECT_THAT(reply.status().message(), HasSubstr("timeout")) << reply.status().message();
  }
}

TEST_F(GitHubHttpsTest, TokensAndReviewsTravelOverHttps) {
  const TestCertificate cert = MakeSelfSignedCertificate("localhost", true);
  WriteFile(dir_ / "ca.pem", cert.cert_pem);
  GitHubDouble github(app_.get(), kAppId, &cert);
  InstallationTokens tokens(Api(github, dir_ / "ca.pem"), kAppId, Key(app_));
  auto token = tokens.Get(5);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  auto posted = adapters::github::PostJson(
      tokens.api(), "/repos/o/r/actions/runs/9/deployment_protection_rule", *token,
      {{"environment_name", "production"}, {"state", "rejected"}, {"comment", "no"}});
  ASSERT_TRUE(posted.ok()) << posted.status().ToString();
  EXPECT_EQ(posted->status, 204);
  ASSERT_EQ(github.reviews().size(), 1u);
  EXPECT_EQ(github.reviews()[0]["state"], "rejected");
}

// The poster, on its own: what it was handed reaches GitHub, through failures.
class ReviewPosterTest : public GitHubAppTest {
 protected:
  ReviewPosterTest() : tokens_(Api(double_), kAppId, Key(app_)) {}

  static adapters::github::Review MakeReview(const std::string& delivery,
                                             const std::string& state) {
    return {delivery,
            "/repos/o/r/actions/runs/9/deployment_protection_rule",
            5,
            {{"environment_name", "production"}, {"state", state}, {"comment", "why"}}};
  }
  static ReviewPoster::Options Fast() {
    ReviewPoster::Options options;
    options.first_retry = 20ms;
    options.max_retry = 100ms;
    options.max_attempts = 50;
    return options;
  }

  InstallationTokens tokens_;
};

TEST_F(ReviewPosterTest, RetriesThrough5xxAnd429UntilGitHubTakesIt) {
  ReviewPoster poster(tokens_, Fast());
  double_.FailNext(4, 503);
  poster.Post(MakeReview("d-1", "rejected"));
  ASSERT_TRUE(double_.WaitForReviews(1, 20s));
  double_.FailNext(2, 429);
  poster.Post(MakeReview("d-2", "approved"));
  ASSERT_TRUE(WaitUntil([&] { return poster.counts().posted == 2; }));
  ASSERT_EQ(double_.reviews().size(), 2u);
  EXPECT_EQ(double_.reviews()[0]["state"], "rejected") << "an outage never changes the review";
  EXPECT_EQ(double_.reviews()[1]["state"], "approved");
  const auto counts = poster.counts();
  EXPECT_EQ(counts.posted, 2u);
  EXPECT_EQ(counts.retried, 6u);
  EXPECT_EQ(counts.given_up, 0u);
}

TEST_F(ReviewPosterTest, WaitsOutGitHubBeingDown) {
  ReviewPoster poster(tokens_, Fast());
  double_.GoDown();
  poster.Post(MakeReview("d-1", "rejected"));
  // Kept down until at least two attempts have failed.
  ASSERT_TRUE(WaitUntil([&] { return poster.counts().retried >= 2; }));
  EXPECT_TRUE(double_.reviews().empty());
  double_.ComeUp();
  ASSERT_TRUE(double_.WaitForReviews(1, 20s));
  EXPECT_EQ(double_.reviews()[0]["state"], "rejected");
}

TEST_F(ReviewPosterTest, GivesUpAtOnceOnARefusalAndAfterTheBoundOnAnOutage) {
  ReviewPoster::Options options = Fast();
  options.max_attempts = 3;
  ReviewPoster poster(tokens_, options);
  ASSERT_TRUE(tokens_.Get(5).ok());  // so that the 422 answers the review itself
  double_.FailNext(1, 422);
  poster.Post(MakeReview("d-1", "approved"));
  ASSERT_TRUE(WaitUntil([&] { return poster.counts().given_up == 1; }));
  double_.FailNext(1000, 503);
  poster.Post(MakeReview("d-2", "approved"));
  ASSERT_TRUE(WaitUntil([&] { return poster.counts().given_up == 2; }));
  const auto counts = poster.counts();
  EXPECT_EQ(counts.given_up, 2u);
  EXPECT_EQ(counts.retried, 2u) << "d-1 was not retried; d-2 was tried 3 times";
  EXPECT_EQ(counts.posted, 0u);
  EXPECT_TRUE(double_.reviews().empty());
}

TEST(GitHubDelivery, ReadsTheDocumentedPayload) {
  auto delivery =
      adapters::github::ParseProtectionRuleDelivery(ExampleProtectionRuleDelivery().dump());
  ASSERT_TRUE(delivery.ok()) << delivery.status().ToString();
  EXPECT_EQ(delivery->action, "requested");
  EXPECT_EQ(delivery->environment, "production");
  EXPECT_EQ(delivery->repository, "Codertocat/Hello-World");
  EXPECT_EQ(delivery->sha, "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
  EXPECT_EQ(delivery->installation_id, 2311213);
  EXPECT_EQ(delivery->Source(), "Codertocat/Hello-World@f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
}

TEST(GitHubDelivery, NamesWhatIsMissingOrMalformed) {
  auto problem = [](const std::function<void(json&)>& change) {
    json body = ExampleProtectionRuleDelivery();
    change(body);
    auto delivery = adapters::github::ParseProtectionRuleDelivery(body.dump());
    return delivery.ok() ? std::string("parsed") : delivery.status().message();
  };
  EXPECT_THAT(problem([](json& b) { b["deployment"].erase("sha"); }), HasSubstr("deployment.sha"));
  EXPECT_THAT(problem([](json& b) { b["deployment"]["sha"] = "main"; }), HasSubstr("commit id"));
  EXPECT_THAT(problem([](json& b) { b.erase("environment"); }), HasSubstr("'environment'"));
  EXPECT_THAT(problem([](json& b) { b["environment"] = 7; }), HasSubstr("not a string"));
  EXPECT_THAT(problem([](json& b) { b["repository"]["full_name"] = "a/b/c"; }),
              HasSubstr("OWNER/REPO"));
  EXPECT_THAT(problem([](json& b) { b.erase("installation"); }), HasSubstr("installation"));
  EXPECT_THAT(problem([](json& b) { b["installation"]["id"] = "1"; }),
              HasSubstr("installation.id"));
  EXPECT_THAT(problem([](json& b) { b.erase("deployment_callback_url"); }),
              HasSubstr("deployment_callback_url"));
  EXPECT_THAT(problem([](json& b) { b = json::array(); }), HasSubstr("not an object"));
  EXPECT_EQ(problem([](json& b) {
              b = {{"action", "something-new"}};
            }),
            "parsed")
      << "another action is read, to be ignored";
  EXPECT_FALSE(adapters::github::ParseProtectionRuleDelivery("{not json").ok());
}

TEST(GitHubReviewComment, SaysTheVerdictTheReasonsAndLinksTheTimeline) {
  auto delivery =
      adapters::github::ParseProtectionRuleDelivery(ExampleProtectionRuleDelivery().dump());
  ASSERT_TRUE(delivery.ok());
  adapters::github::ReviewVerdict verdict;
  verdict.allowed = false;
  verdict.deployment = "hello world/7";
  verdict.step = "production";
  verdict.decision = {{"allowed", false},
                      {"reasons",
                       {{{"rule", "R12"},
                         {"name", "backup-before-prod"},
                         {"message", "no backup verified for this deployment"}}}}};
  const json body = adapters::github::ReviewBody(*delivery, verdict, "https://shiplog.example/");
  EXPECT_EQ(body["environment_name"], "production");
  EXPECT_EQ(body["state"], "rejected");
  const std::string comment = body["comment"];
  EXPECT_THAT(comment, HasSubstr("rejected"));
  EXPECT_THAT(comment, HasSubstr("R12 backup-before-prod"));
  EXPECT_THAT(comment, HasSubstr("no backup verified for this deployment"));
  EXPECT_THAT(
      comment,
      HasSubstr("(https://shiplog.example/v1/deployments/hello%20world%2F7/timeline?format=html)"));
}

TEST(GitHubReviewComment, AttackerTextIsInertAndTheCommentFitsGitHubsLimit) {
  auto delivery =
      adapters::github::ParseProtectionRuleDelivery(ExampleProtectionRuleDelivery().dump());
  ASSERT_TRUE(delivery.ok());
  adapters::github::ReviewVerdict verdict;
  verdict.deployment = "d-1";
  json reasons = json::array();
  reasons.push_back({{"rule", "R9"},
                     {"name", "immutable-image"},
                     {"message",
                      "image [click](https://evil.example) <img src=x> \x1b[2J\n"
                      "forged line"}});
  for (int i = 0; i < 40; ++i) {
    reasons.push_back(
        {{"rule", "R" + std::to_string(i)}, {"name", "rule"}, {"message", std::string(60, 'x')}});
  }
  verdict.decision = {{"allowed", false}, {"reasons", reasons}};
  const std::string comment =
      adapters::github::ReviewComment(*delivery, verdict, "https://s.example");
  EXPECT_LE(comment.size(), adapters::github::kMaxCommentBytes);
  EXPECT_THAT(comment, HasSubstr("\\[click\\]\\(https://evil.example\\)"));
  EXPECT_THAT(comment, HasSubstr("\\<img"));
  EXPECT_THAT(comment, ::testing::Not(HasSubstr("\x1b")));
  EXPECT_THAT(comment, HasSubstr(" more\n"));
  EXPECT_THAT(comment, HasSubstr("https://s.example/v1/deployments/d-1/timeline?format=html)"))
      << "the link is kept when reasons are cut";
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
