// Tests of ledger/crypto.h: RFC 8032 Ed25519 vectors, SHA-256 known answers, hex and base64.
#include "ledger/crypto.h"

#include <sodium.h>

#include <fstream>
#include <set>

#include "test_util.h"

#ifndef SHIPLOG_VECTORS_DIR
#error "SHIPLOG_VECTORS_DIR must point at tests/vectors"
#endif

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::Base64Decode;
using shiplog::Base64Encode;
using shiplog::HexDecode;
using shiplog::HexEncode;
using shiplog::SigningKey;
using ::testing::SizeIs;

std::string Hex(const std::string& hex) { return Unwrap(HexDecode(hex), "HexDecode(" + hex + ")"); }

json LoadRfc8032() {
  const std::string path = std::string(SHIPLOG_VECTORS_DIR) + "/ed25519_rfc8032.json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return json::parse(in);
}

TEST(Ed25519Rfc8032, PositiveVectors) {
  const json doc = LoadRfc8032();
  ASSERT_GE(doc.at("vectors").size(), 5u);
  for (const json& v : doc.at("vectors")) {
    SCOPED_TRACE(v.at("name").get<std::string>());
    const std::string seed = Hex(v.at("secret_key"));
    const std::string public_key = Hex(v.at("public_key"));
    const std::string message = Hex(v.at("message"));
    const std::string signature = Hex(v.at("signature"));
    ASSERT_EQ(message.size(), v.at("message_len").get<size_t>());

    auto key = SigningKey::FromSeed(seed);
    ASSERT_OK(key);
    EXPECT_EQ(HexEncode(key->PublicKey()), v.at("public_key").get<std::string>());
    EXPECT_EQ(key->Seed(), seed);
    EXPECT_EQ(HexEncode(key->Sign(message)), v.at("signature").get<std::string>());
    EXPECT_TRUE(shiplog::VerifySignature(public_key, message, signature));
  }
}

TEST(Ed25519Rfc8032, NegativeVectorsAreRejected) {
  const json doc = LoadRfc8032();
  ASSERT_GE(doc.at("negative").size(), 4u);
  for (const json& v : doc.at("negative")) {
    SCOPED_TRACE(v.at("desc").get<std::string>());
    ASSERT_FALSE(v.at("valid").get<bool>());
    EXPECT_FALSE(shiplog::VerifySignature(Hex(v.at("public_key")), Hex(v.at("message")),
                                          Hex(v.at("signature"))));
  }
}

TEST(Ed25519, FromSeedRejectsWrongLength) {
  EXPECT_FALSE(SigningKey::FromSeed("").ok());
  EXPECT_FALSE(SigningKey::FromSeed(std::string(31, 'x')).ok());
  EXPECT_FALSE(SigningKey::FromSeed(std::string(33, 'x')).ok());
  EXPECT_FALSE(SigningKey::FromSeed(std::string(64, 'x')).ok());
  EXPECT_CODE(SigningKey::FromSeed(std::string(31, 'x')), StatusCode::kInvalidArgument);
}

TEST(Ed25519, GeneratedKeysAreDistinctAndRoundTripThroughSeed) {
  SigningKey a = SigningKey::Generate();
  SigningKey b = SigningKey::Generate();
  EXPECT_THAT(a.PublicKey(), SizeIs(shiplog::kPublicKeySize));
  EXPECT_THAT(a.Seed(), SizeIs(shiplog::kSeedSize));
  EXPECT_NE(a.PublicKey(), b.PublicKey());
  EXPECT_NE(a.Seed(), b.Seed());

  auto again = SigningKey::FromSeed(a.Seed());
  ASSERT_OK(again);
  EXPECT_EQ(again->PublicKey(), a.PublicKey());
  EXPECT_EQ(again->Sign("deploy"), a.Sign("deploy"));  // Ed25519 is deterministic
}

TEST(Ed25519, SignVerifyAndTamper) {
  SigningKey key = SigningKey::Generate();
  const std::string message = "production apply READY";
  const std::string sig = key.Sign(message);
  ASSERT_THAT(sig, SizeIs(shiplog::kSignatureSize));
  EXPECT_TRUE(shiplog::VerifySignature(key.PublicKey(), message, sig));

  EXPECT_FALSE(shiplog::VerifySignature(key.PublicKey(), message + ".", sig));
  EXPECT_FALSE(shiplog::VerifySignature(SigningKey::Generate().PublicKey(), message, sig));
  for (size_t bit : {0u, 100u, 511u}) {
    EXPECT_FALSE(shiplog::VerifySignature(key.PublicKey(), message, FlipBit(sig, bit))) << bit;
  }
  // Wrong sizes are a plain "no", never a crash.
  EXPECT_FALSE(shiplog::VerifySignature(key.PublicKey(), message, sig.substr(0, 63)));
  EXPECT_FALSE(shiplog::VerifySignature(key.PublicKey(), message, sig + "x"));
  EXPECT_FALSE(shiplog::VerifySignature(key.PublicKey().substr(0, 31), message, sig));
  EXPECT_FALSE(shiplog::VerifySignature("", message, ""));
}

TEST(Ed25519, IsOwnSignatureAcceptsTheRfc8032Signatures) {
  const json doc = LoadRfc8032();
  std::vector<std::string> signatures;
  for (const json& v : doc.at("vectors")) signatures.push_back(Hex(v.at("signature")));
  size_t i = 0;
  for (const json& v : doc.at("vectors")) {
    SCOPED_TRACE(v.at("name").get<std::string>());
    auto key = SigningKey::FromSeed(Hex(v.at("secret_key")));
    ASSERT_OK(key);
    const std::string message = Hex(v.at("message"));
    EXPECT_TRUE(key->IsOwnSignature(message, signatures[i]));
    EXPECT_FALSE(key->IsOwnSignature(message, signatures[(i + 1) % signatures.size()]));
    EXPECT_FALSE(key->IsOwnSignature(message + "x", signatures[i]));
    ++i;
  }
}

// The key keeps what the check derives from its seed; a key moved, or moved into, checks as the
// original did.
TEST(Ed25519, IsOwnSignatureSurvivesAMove) {
  SigningKey key = SigningKey::Generate();
  const std::string sig = key.Sign("checkpoint\n");
  SigningKey moved(std::move(key));
  EXPECT_TRUE(moved.IsOwnSignature("checkpoint\n", sig));
  SigningKey assigned = SigningKey::Generate();
  assigned = std::move(moved);
  EXPECT_TRUE(assigned.IsOwnSignature("checkpoint\n", sig));
  EXPECT_FALSE(assigned.IsOwnSignature("checkpoint\n", assigned.Sign("another\n")));
}

// Every signature it accepts beyond Sign's needs the secret key to make: any one bit changed,
// another key's signature, another message, and S written unreduced (S + L, which VerifySignature
// also refuses) all fail.
TEST(Ed25519, IsOwnSignatureRefusesEveryOtherSignature) {
  SigningKey key = SigningKey::Generate();
  SigningKey other = SigningKey::Generate();
  for (const std::string& message : {std::string(), std::string("checkpoint\n"),
                                     std::string(1000, '\x7f')}) {
    const std::string sig = key.Sign(message);
    ASSERT_TRUE(key.IsOwnSignature(message, sig));
    for (size_t bit = 0; bit < 8 * sig.size(); ++bit) {
      ASSERT_FALSE(key.IsOwnSignature(message, FlipBit(sig, bit))) << "bit " << bit;
    }
    EXPECT_FALSE(key.IsOwnSignature(message, other.Sign(message)));
    EXPECT_FALSE(other.IsOwnSignature(message, sig));
    EXPECT_FALSE(key.IsOwnSignature(message + ".", sig));
    EXPECT_FALSE(key.IsOwnSignature(message, sig.substr(0, 63)));
    EXPECT_FALSE(key.IsOwnSignature(message, sig + "x"));

    // L, the order of the base point, little-endian; S < L, so S + L fits in 32 bytes.
    const std::string order = Hex("edd3f55c1a631258d69cf7a2def9de14" "00000000000000000000000000000010");
    std::string unreduced = sig;
    sodium_add(reinterpret_cast<unsigned char*>(unreduced.data()) + 32,
               reinterpret_cast<const unsigned char*>(order.data()), 32);
    EXPECT_FALSE(shiplog::VerifySignature(key.PublicKey(), message, unreduced));
    EXPECT_FALSE(key.IsOwnSignature(message, unreduced));
  }
}

TEST(Ed25519, MovedKeyStillSigns) {
  SigningKey a = SigningKey::Generate();
  const std::string pub = a.PublicKey();
  SigningKey b = std::move(a);
  EXPECT_EQ(b.PublicKey(), pub);
  EXPECT_TRUE(shiplog::VerifySignature(pub, "m", b.Sign("m")));
}

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(HexEncode(shiplog::AsBytes(shiplog::Sha256("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexEncode(shiplog::AsBytes(shiplog::Sha256(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, Rfc6962EmptyLeafHash) {
  EXPECT_EQ(HexEncode(shiplog::AsBytes(shiplog::Sha256WithPrefix(0x00, ""))),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
}

TEST(Sha256, WithPrefixIsHashOfPrefixByteAndData) {
  EXPECT_EQ(shiplog::Sha256WithPrefix(0x01, "ab"), shiplog::Sha256(std::string("\x01" "ab", 3)));
  EXPECT_EQ(HexEncode(shiplog::AsBytes(shiplog::Sha256WithPrefix(0x01, "ab"))),
            "170404e05440f45062c423052d5adcfb2c9d546ecfcb2022d6c34af474dbaf18");
  EXPECT_EQ(shiplog::Sha256WithPrefix(0x00, std::string("x\0y", 3)),
            shiplog::Sha256(std::string("\0x\0y", 4)));
  EXPECT_NE(shiplog::Sha256WithPrefix(0x00, "ab"), shiplog::Sha256WithPrefix(0x01, "ab"));
}

TEST(Hex, EncodesLowercase) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string("\x00\x01\xab\xff", 4)), "0001abff");
}

TEST(Hex, RoundTripsAllByteValues) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  const std::string hex = HexEncode(all);
  EXPECT_THAT(hex, SizeIs(512));
  auto back = HexDecode(hex);
  ASSERT_OK(back);
  EXPECT_EQ(*back, all);
}

TEST(Hex, RejectsBadInput) {
  for (const char* bad : {"abc", "0g", "zz", "0x00", " 00", "00 ", "-1"}) {
    auto r = HexDecode(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' decoded";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
  auto empty = HexDecode("");
  ASSERT_OK(empty);
  EXPECT_EQ(*empty, "");
}

TEST(Base64, Rfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},          {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    auto back = Base64Decode(encoded);
    ASSERT_OK(back);
    EXPECT_EQ(*back, plain);
  }
}

TEST(Base64, RoundTripsBinary) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(255 - i));
  for (size_t len = 0; len <= all.size(); len += 37) {
    auto back = Base64Decode(Base64Encode(all.substr(0, len)));
    ASSERT_OK(back);
    EXPECT_EQ(*back, all.substr(0, len));
  }
}

TEST(Base64, RejectsBadInput) {
  for (const char* bad : {"Zm9vY", "!!!!", "Zm9v!", "Z", "Zm9vYmFy====x"}) {
    auto r = Base64Decode(bad);
    EXPECT_FALSE(r.ok()) << "'" << bad << "' decoded";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(RandomId, Is32HexCharactersAndFresh) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string id = shiplog::RandomId();
    EXPECT_THAT(id, ::testing::MatchesRegex("[0-9a-f]{32}"));
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
