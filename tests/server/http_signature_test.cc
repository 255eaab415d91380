// HTTP Message Signatures (adapters/http_signature.h) on their own: RFC 9421's published Ed25519
// example (Appendix B.2.6) for the signature base and the signature, a round trip through what
// the CLI signs and the server checks, and the strict parser's refusals.
#include "adapters/http_signature.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ledger/crypto.h"

namespace shiplog::adapters {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;

// RFC 9421 Appendix B.1.4, test-key-ed25519: the JWK's "d" (the RFC 8032 seed) and "x".
constexpr char kTestKeySeed[] = "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU";
constexpr char kTestKeyPublic[] = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs";

// Appendix B.2.6, without RFC 8792's line wrapping.
constexpr char kB26Input[] =
    "sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" "
    "\"content-length\");created=1618884473;keyid=\"test-key-ed25519\"";
constexpr char kB26Base[] =
    "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n"
    "\"@method\": POST\n"
    "\"@path\": /foo\n"
    "\"@authority\": example.com\n"
    "\"content-type\": application/json\n"
    "\"content-length\": 18\n"
    "\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" "
    "\"content-length\");created=1618884473;keyid=\"test-key-ed25519\"";
constexpr char kB26Signature[] =
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRC"
    "w==:";

SigningKey TestKey() {
  auto seed = Base64Decode(kTestKeySeed, Base64Form::kUrlSafeUnpadded);
  EXPECT_TRUE(seed.ok()) << seed.status().ToString();
  auto key = SigningKey::FromSeed(*seed);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return std::move(key).value();
}

TEST(HttpSignatureTest, Rfc9421Ed25519ExampleBaseAndSignature) {
  InitCrypto();
  auto input = ParseSignatureInput(kB26Input);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  EXPECT_EQ(input->label, "sig-b26");
  EXPECT_EQ(input->components, (std::vector<std::string>{"date", "@method", "@path", "@authority",
                                                         "content-type", "content-length"}));
  EXPECT_EQ(input->IntParam("created"), 1618884473);
  EXPECT_EQ(input->StringParam("keyid"), "test-key-ed25519");
  EXPECT_EQ(input->HeaderValue(), kB26Input);  // serializes back to the same bytes

  auto base = SignatureBase(*input, {"Tue, 20 Apr 2021 02:07:55 GMT", "POST", "/foo",
                                     "example.com", "application/json", "18"});
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  EXPECT_EQ(*base, kB26Base);

  // Ed25519 is deterministic: signing the base with the RFC's key gives the RFC's signature.
  const SigningKey key = TestKey();
  EXPECT_EQ(Base64Encode(key.PublicKey()),
            Base64Encode(*Base64Decode(kTestKeyPublic, Base64Form::kUrlSafeUnpadded)));
  auto published = ParseSignatureHeader(kB26Signature);
  ASSERT_TRUE(published.ok()) << published.status().ToString();
  EXPECT_EQ(published->first, "sig-b26");
  EXPECT_EQ(key.Sign(*base), published->second);
  EXPECT_TRUE(VerifySignature(key.PublicKey(), *base, published->second));
  EXPECT_EQ(SignatureHeaderValue("sig-b26", published->second), kB26Signature);
}

TEST(HttpSignatureTest, WhatTheClientSignsTheServerRebuildsAndVerifies) {
  InitCrypto();
  const SigningKey key = SigningKey::Generate();
  const RequestParts request{"GET", "/v1/query?app=checkout&limit=5",
                             "Fri, 04 Dec 2026 19:00:00 GMT"};
  auto headers = SignRequest(request, key, 1796410800, "n-1");
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0].first, "Signature-Input");
  EXPECT_EQ(headers[1].first, "Signature");

  auto input = ParseSignatureInput(headers[0].second);
  ASSERT_TRUE(input.ok()) << input.status().ToString();
  EXPECT_EQ(input->StringParam("alg"), "ed25519");
  EXPECT_EQ(input->StringParam("nonce"), "n-1");
  auto values = ComponentValues(input->components, request);
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(*values, (std::vector<std::string>{"GET", "/v1/query", "?app=checkout&limit=5",
                                               "Fri, 04 Dec 2026 19:00:00 GMT"}));
  auto base = SignatureBase(*input, *values);
  ASSERT_TRUE(base.ok());
  auto signature = ParseSignatureHeader(headers[1].second);
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(VerifySignature(key.PublicKey(), *base, signature->second));

  // Another query string is another base: the signature does not carry over.
  auto other = ComponentValues(input->components, {"GET", "/v1/query?app=payments&limit=5",
                                                   "Fri, 04 Dec 2026 19:00:00 GMT"});
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(VerifySignature(key.PublicKey(), *SignatureBase(*input, *other), signature->second));
}

TEST(HttpSignatureTest, QueryIsAQuestionMarkAloneWhenThereIsNone) {
  auto values = ComponentValues({"@path", "@query"}, {"GET", "/v1/whoami", ""});
  ASSERT_TRUE(values.ok());
  EXPECT_EQ(*values, (std::vector<std::string>{"/v1/whoami", "?"}));
  auto unknown = ComponentValues({"@authority"}, {"GET", "/", ""});
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("@authority"));
}

TEST(HttpSignatureTest, TheParserRefusesWhatShiplogDoesNotUseNamingIt) {
  struct Case {
    const char* header;
    const char* named;
  };
  const Case cases[] = {
      {"sig1=(\"@method\");created=1;keyid=\"k\", sig2=(\"@path\")", "one"},
      {"sig1=(\"@method\");alg=ed25519", "token"},
      {"sig1=(\"@method\");created=1.5", "decimal"},
      {"sig1=(\"@method\");flag", "boolean"},
      {"sig1=(\"@query-param\";name=\"a\")", "parameter"},
      {"sig1=\"@method\"", "list"},
      {"sig1=(\"@method\"", "never closed"},
      {"", "empty"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseSignatureInput(c.header);
    ASSERT_FALSE(parsed.ok()) << c.header;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << c.header;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.named))
        << c.header << " -> " << parsed.status().message();
  }
  EXPECT_FALSE(ParseSignatureHeader("sig1=:not base64!:").ok());
  EXPECT_FALSE(ParseSignatureHeader("sig1=:YQ==:, sig2=:YQ==:").ok());
  EXPECT_FALSE(ParseSignatureHeader("sig1=YQ==").ok());
}

TEST(HttpSignatureTest, HttpDatesAreImfFixdateOnly) {
  EXPECT_EQ(HttpDate(1618884475), "Tue, 20 Apr 2021 02:07:55 GMT");
  EXPECT_EQ(ParseHttpDate("Tue, 20 Apr 2021 02:07:55 GMT").value(), 1618884475);
  EXPECT_FALSE(ParseHttpDate("Tuesday, 20-Apr-21 02:07:55 GMT").ok());  // RFC 850
  EXPECT_FALSE(ParseHttpDate("Tue Apr 20 02:07:55 2021").ok());         // asctime
  EXPECT_FALSE(ParseHttpDate("Tue, 20 Apr 2021 02:07:55 CET").ok());
  EXPECT_FALSE(ParseHttpDate("Tue, 31 Feb 2021 02:07:55 GMT").ok());
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::adapters
