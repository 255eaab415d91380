// Tests of ledger/dsse.h against the published DSSE vectors (tests/vectors/dsse.json): PAE
// byte for byte, every Ed25519 envelope through the verifier, every negative refused, the spec's
// ECDSA example and a real Sigstore bundle's envelope refused as a scheme shiplog does not take.
#include "ledger/dsse.h"

#include <fstream>

#include "test_util.h"

#ifndef SHIPLOG_VECTORS_DIR
#error "SHIPLOG_VECTORS_DIR must point at tests/vectors"
#endif

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

namespace dsse = shiplog::dsse;
using ::testing::HasSubstr;

json LoadVector(const std::string& name) {
  const std::string path = std::string(SHIPLOG_VECTORS_DIR) + "/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return json::parse(in);
}

std::string Hex(const json& hex) {
  return Unwrap(shiplog::HexDecode(hex.get<std::string>()), "hex");
}

TEST(DssePae, MatchesEveryVector) {
  const json doc = LoadVector("dsse.json");
  ASSERT_EQ(doc.at("pae_vectors").size(), 3u);
  for (const json& v : doc.at("pae_vectors")) {
    EXPECT_EQ(dsse::Pae(v.at("payloadType").get<std::string>(), Hex(v.at("payload_hex"))),
              Hex(v.at("pae_hex")))
        << v.at("source");
  }
  const json& spec = doc.at("spec_example_ecdsa_p256");
  EXPECT_EQ(dsse::Pae(spec.at("payloadType").get<std::string>(),
                      spec.at("payload_utf8").get<std::string>()),
            spec.at("pae_ascii").get<std::string>());
}

TEST(DsseEnvelope, EveryEd25519FixtureVerifies) {
  const json fixtures = LoadVector("dsse.json").at("ed25519_fixtures");
  const std::string public_key = Hex(fixtures.at("public_key_raw_hex"));
  EXPECT_EQ(dsse::KeyId(public_key), fixtures.at("keyid").get<std::string>());
  ASSERT_EQ(fixtures.at("cases").size(), 6u);
  for (const json& c : fixtures.at("cases")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    auto envelope = dsse::Envelope::FromJson(c.at("envelope"));
    ASSERT_OK(envelope.status());
    EXPECT_EQ(envelope->payload_type, c.at("payloadType").get<std::string>());
    EXPECT_EQ(envelope->payload, Hex(c.at("payload_hex")));
    EXPECT_EQ(envelope->Pae(), Hex(c.at("pae_hex")));
    EXPECT_EQ(envelope->signatures.at(0).sig, Hex(c.at("signature_hex")));
    EXPECT_OK(dsse::Verify(*envelope, public_key));
    // The text form parses to the same envelope, and ToJson writes it back.
    auto reparsed = dsse::Envelope::Parse(envelope->ToJson().dump());
    ASSERT_OK(reparsed.status());
    EXPECT_EQ(reparsed->ToJson(), c.at("envelope"));
  }
}

TEST(DsseEnvelope, SigningReproducesTheFixtures) {
  const json fixtures = LoadVector("dsse.json").at("ed25519_fixtures");
  auto key = shiplog::SigningKey::FromSeed(Hex(fixtures.at("test_seed_hex")));
  ASSERT_OK(key.status());
  for (const json& c : fixtures.at("cases")) {
    dsse::Envelope signed_here =
        dsse::Sign(c.at("payloadType").get<std::string>(), Hex(c.at("payload_hex")), *key);
    EXPECT_EQ(signed_here.ToJson(), c.at("envelope")) << c.at("name");
  }
}

TEST(DsseEnvelope, EveryNegativeIsRefused) {
  const json fixtures = LoadVector("dsse.json").at("ed25519_fixtures");
  const std::string public_key = Hex(fixtures.at("public_key_raw_hex"));
  const std::string keyid = fixtures.at("keyid").get<std::string>();
  ASSERT_EQ(fixtures.at("negative").size(), 4u);
  for (const json& n : fixtures.at("negative")) {
    SCOPED_TRACE(n.at("desc").get<std::string>());
    ASSERT_FALSE(n.at("valid").get<bool>());
    const std::string sig =
        Unwrap(dsse::DecodeBase64(n.at("signature_b64").get<std::string>()), "sig");
    if (!n.contains("payloadType")) {
      // A PAE built with the character length: the signature over it must not verify as DSSE's.
      EXPECT_FALSE(shiplog::VerifySignature(public_key, Hex(n.at("pae_hex")), sig));
      continue;
    }
    dsse::Envelope envelope;
    envelope.payload_type = n.at("payloadType").get<std::string>();
    envelope.payload =
        Unwrap(dsse::DecodeBase64(n.at("payload_b64").get<std::string>()), "payload");
    envelope.signatures.push_back({keyid, sig});
    EXPECT_EQ(envelope.Pae(), Hex(n.at("pae_hex")));
    shiplog::Status verified = dsse::Verify(envelope, public_key);
    EXPECT_EQ(verified.code(), shiplog::StatusCode::kInvalidArgument);
    EXPECT_THAT(verified.message(), HasSubstr("does not verify over the envelope's PAE"));
  }
}

TEST(DsseEnvelope, TheSpecsEcdsaExampleIsNotAnEd25519Signature) {
  const json spec = LoadVector("dsse.json").at("spec_example_ecdsa_p256");
  json with_keyid = spec.at("envelope_reference_impl_with_keyid");
  with_keyid.erase("note");  // the vector file's remark, not an envelope field
  auto envelope = dsse::Envelope::FromJson(with_keyid);
  ASSERT_OK(envelope.status());
  EXPECT_EQ(envelope->payload, "hello world");
  EXPECT_EQ(envelope->Pae(), Hex(spec.at("pae_hex")));
  // Whatever Ed25519 key the keyid were taken to name, 64 bytes of r||s do not verify as its
  // signature; under another key's id the envelope simply has no signature by that key.
  const std::string some_key = shiplog::SigningKey::Generate().PublicKey();
  EXPECT_THAT(dsse::Verify(*envelope, some_key).message(), HasSubstr("no signature with keyid"));
  envelope->signatures[0].keyid = dsse::KeyId(some_key);
  EXPECT_THAT(dsse::Verify(*envelope, some_key).message(), HasSubstr("does not verify"));
}

TEST(DsseEnvelope, ARealSigstoreBundlesEcdsaSignatureIsRefusedAsUnsupported) {
  const json bundle = LoadVector("intoto/sigstore_staging_dsse_bundle.sigstore.json");
  auto envelope = dsse::Envelope::FromJson(bundle.at("dsseEnvelope"));
  ASSERT_OK(envelope.status());
  EXPECT_EQ(envelope->payload_type, dsse::kInTotoType);
  std::ifstream in(
      std::string(SHIPLOG_VECTORS_DIR) + "/intoto/sigstore_staging_dsse_statement.json",
      std::ios::binary);
  std::string statement((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(envelope->payload, statement);
  // Its signature is DER ECDSA (about 70 bytes), named by no keyid: refused, with the reason.
  ASSERT_EQ(envelope->signatures.size(), 1u);
  EXPECT_NE(envelope->signatures[0].sig.size(), shiplog::kSignatureSize);
  const std::string some_key = shiplog::SigningKey::Generate().PublicKey();
  envelope->signatures[0].keyid = dsse::KeyId(some_key);
  shiplog::Status verified = dsse::Verify(*envelope, some_key);
  EXPECT_THAT(verified.message(), HasSubstr("not an Ed25519 signature"));
}

TEST(DsseBase64, AcceptsBothAlphabetsAndRefusesNonCanonicalText) {
  const std::string bytes =
      "\xfb\xff\xfe"
      "ab";  // encodes with '+' / '/' in standard base64
  const std::string standard = shiplog::Base64Encode(bytes);
  ASSERT_NE(standard.find_first_of("+/"), std::string::npos);
  std::string url = standard;
  for (char& c : url) c = c == '+' ? '-' : c == '/' ? '_' : c;
  std::string url_unpadded = url;
  while (!url_unpadded.empty() && url_unpadded.back() == '=') url_unpadded.pop_back();
  for (const std::string& text : {standard, url, url_unpadded}) {
    EXPECT_EQ(Unwrap(dsse::DecodeBase64(text), text), bytes) << text;
  }
  // "aGk=" is "hi"; "aGl=" sets bits past the data, "aG k=" has a space, "aGk" lacks standard
  // padding but is a URL-safe text too, so it stands; a mixed alphabet does not.
  EXPECT_FALSE(dsse::DecodeBase64("aGl=").ok());
  EXPECT_FALSE(dsse::DecodeBase64("aG k=").ok());
  EXPECT_FALSE(dsse::DecodeBase64("aGk=\n").ok());
  EXPECT_FALSE(dsse::DecodeBase64("+_8=").ok());
  EXPECT_EQ(Unwrap(dsse::DecodeBase64("aGk"), "aGk"), "hi");
}

TEST(DsseEnvelope, RefusesMalformedEnvelopesNamingTheField) {
  auto refused = [](const json& j) { return dsse::Envelope::FromJson(j).status().message(); };
  const json good = {
      {"payloadType", "t"}, {"payload", "aGk="}, {"signatures", {{{"sig", "aGk="}}}}};
  EXPECT_OK(dsse::Envelope::FromJson(good).status());
  json j = good;
  j.erase("payloadType");
  EXPECT_THAT(refused(j), HasSubstr("payloadType"));
  j = good;
  j["payload"] = "aGl=";
  EXPECT_THAT(refused(j), HasSubstr("payload: not canonical base64"));
  j = good;
  j["signatures"] = json::array();
  EXPECT_THAT(refused(j), HasSubstr("non-empty list"));
  j = good;
  j["signatures"][0]["sig"] = "a b";
  EXPECT_THAT(refused(j), HasSubstr("signatures[0].sig"));
  j = good;
  j["signatures"][0]["cert"] = "x";
  EXPECT_THAT(refused(j), HasSubstr("unknown field \"cert\""));
  j = good;
  j["extra"] = 1;
  EXPECT_THAT(refused(j), HasSubstr("unknown field \"extra\""));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
