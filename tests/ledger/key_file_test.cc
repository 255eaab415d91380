// Tests of ledger/key_file.h: key files on disk, their modes, and public key arguments.
#include "ledger/key_file.h"

#include <sys/stat.h>

#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::HexEncode;
using shiplog::ReadKeyFile;
using shiplog::ReadPublicKey;
using shiplog::SigningKey;
using shiplog::WriteNewKeyFile;
using ::testing::AnyOf;
using ::testing::HasSubstr;

class KeyFileTest : public ::testing::Test {
 protected:
  std::string KeyPath() const { return tmp_.Path("agent.key"); }
  std::string PubPath() const { return tmp_.Path("agent.key.pub"); }

  // A key file with the given JSON, mode 0600 (so only its content is wrong).
  std::string WriteRawKeyFile(const json& content) {
    const std::string path = tmp_.Path("raw.key");
    WriteFile(path, content.dump(), 0600);
    return path;
  }

  TempDir tmp_;
  SigningKey key_ = SigningKey::Generate();
};

TEST_F(KeyFileTest, WritesSecretFile0600AndPublicFile) {
  ASSERT_OK(WriteNewKeyFile(KeyPath(), key_));
  EXPECT_EQ(FileMode(KeyPath()), 0600u);
  EXPECT_EQ(ReadFile(PubPath()), HexEncode(key_.PublicKey()) + "\n");
  EXPECT_EQ(FileMode(PubPath()) & 0077, 0044u) << "FILE.pub is 0644";

  const json file = json::parse(ReadFile(KeyPath()));
  EXPECT_EQ(file.at("type"), "ed25519");
  EXPECT_EQ(file.at("secret"), HexEncode(key_.Seed()));
  EXPECT_EQ(file.at("public"), HexEncode(key_.PublicKey()));
}

TEST_F(KeyFileTest, SecretFileIs0600EvenWithPermissiveUmask) {
  const mode_t old = ::umask(0);
  const Status st = WriteNewKeyFile(KeyPath(), key_);
  ::umask(old);
  ASSERT_OK(st);
  EXPECT_EQ(FileMode(KeyPath()), 0600u);
}

TEST_F(KeyFileTest, ReadsBackTheSameKey) {
  ASSERT_OK(WriteNewKeyFile(KeyPath(), key_));
  auto read = ReadKeyFile(KeyPath());
  ASSERT_OK(read);
  EXPECT_EQ(read->PublicKey(), key_.PublicKey());
  EXPECT_EQ(read->Seed(), key_.Seed());
  EXPECT_EQ(read->Sign("x"), key_.Sign("x"));
}

TEST_F(KeyFileTest, RefusesToOverwriteKeyFile) {
  ASSERT_OK(WriteNewKeyFile(KeyPath(), key_));
  const std::string before = ReadFile(KeyPath());
  const std::string pub_before = ReadFile(PubPath());

  SigningKey other = SigningKey::Generate();
  EXPECT_FALSE(WriteNewKeyFile(KeyPath(), other).ok());
  EXPECT_EQ(ReadFile(KeyPath()), before);
  EXPECT_EQ(ReadFile(PubPath()), pub_before);
  auto read = ReadKeyFile(KeyPath());
  ASSERT_OK(read);
  EXPECT_EQ(read->PublicKey(), key_.PublicKey());
}

TEST_F(KeyFileTest, RefusesToOverwritePublicFile) {
  WriteFile(PubPath(), "precious\n", 0644);
  EXPECT_FALSE(WriteNewKeyFile(KeyPath(), key_).ok());
  EXPECT_EQ(ReadFile(PubPath()), "precious\n");
}

TEST_F(KeyFileTest, RefusesWorldReadableKeyFile) {
  ASSERT_OK(WriteNewKeyFile(KeyPath(), key_));
  ASSERT_EQ(::chmod(KeyPath().c_str(), 0644), 0);
  auto read = ReadKeyFile(KeyPath());
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(read.status().message(),
              AnyOf(HasSubstr("0600"), HasSubstr("644"), HasSubstr("permission"),
                    HasSubstr("mode"), HasSubstr("readable")));
  EXPECT_THAT(read.status().message(), HasSubstr("agent.key")) << "the error names the file";
}

TEST_F(KeyFileTest, RefusesGroupReadableKeyFile) {
  ASSERT_OK(WriteNewKeyFile(KeyPath(), key_));
  ASSERT_EQ(::chmod(KeyPath().c_str(), 0640), 0);
  EXPECT_FALSE(ReadKeyFile(KeyPath()).ok());
  ASSERT_EQ(::chmod(KeyPath().c_str(), 0604), 0);
  EXPECT_FALSE(ReadKeyFile(KeyPath()).ok());
  ASSERT_EQ(::chmod(KeyPath().c_str(), 0400), 0);
  EXPECT_OK(ReadKeyFile(KeyPath()));  // owner read-only is fine
}

TEST_F(KeyFileTest, MissingFileIsNotFound) {
  EXPECT_CODE(ReadKeyFile(tmp_.Path("nope.key")), StatusCode::kNotFound);
}

TEST_F(KeyFileTest, RefusesCorruptedFiles) {
  const std::string seed = HexEncode(key_.Seed());
  const std::string pub = HexEncode(key_.PublicKey());
  const std::string other_pub = HexEncode(SigningKey::Generate().PublicKey());

  // Sanity: the well-formed raw file is accepted, so the failures below are about content.
  ASSERT_OK(ReadKeyFile(WriteRawKeyFile({{"type", "ed25519"}, {"secret", seed}, {"public", pub}})));

  const std::vector<std::pair<std::string, json>> bad = {
      {"public half does not match", {{"type", "ed25519"}, {"secret", seed}, {"public", other_pub}}},
      {"wrong type", {{"type", "rsa"}, {"secret", seed}, {"public", pub}}},
      {"short secret", {{"type", "ed25519"}, {"secret", seed.substr(0, 62)}, {"public", pub}}},
      {"non-hex secret", {{"type", "ed25519"}, {"secret", std::string(64, 'z')}, {"public", pub}}},
      {"missing secret", {{"type", "ed25519"}, {"public", pub}}},
      {"not an object", json::array({seed, pub})},
  };
  for (const auto& [what, content] : bad) {
    EXPECT_FALSE(ReadKeyFile(WriteRawKeyFile(content)).ok()) << what;
  }

  const std::string garbage = tmp_.Path("garbage.key");
  WriteFile(garbage, "{\"type\": \"ed25519\", \"secret\": \"", 0600);
  EXPECT_FALSE(ReadKeyFile(garbage).ok()) << "truncated JSON";
  WriteFile(garbage, "", 0600);
  EXPECT_FALSE(ReadKeyFile(garbage).ok()) << "empty file";
}

TEST_F(KeyFileTest, ReadPublicKeyFromPubFile) {
  ASSERT_OK(WriteNewKeyFile(KeyPath(), key_));
  auto pub = ReadPublicKey(PubPath());
  ASSERT_OK(pub);
  EXPECT_EQ(*pub, key_.PublicKey());
}

TEST_F(KeyFileTest, ReadPublicKeyFromKeyFile) {
  ASSERT_OK(WriteNewKeyFile(KeyPath(), key_));
  auto pub = ReadPublicKey(KeyPath());
  ASSERT_OK(pub);
  EXPECT_EQ(*pub, key_.PublicKey());
}

TEST_F(KeyFileTest, ReadPublicKeyFromHexString) {
  auto pub = ReadPublicKey(HexEncode(key_.PublicKey()));
  ASSERT_OK(pub);
  EXPECT_EQ(*pub, key_.PublicKey());
}

TEST_F(KeyFileTest, ReadPublicKeyRejectsBadArguments) {
  EXPECT_FALSE(ReadPublicKey("").ok());
  EXPECT_FALSE(ReadPublicKey("abc").ok());
  EXPECT_FALSE(ReadPublicKey(std::string(64, 'z')).ok());
  EXPECT_FALSE(ReadPublicKey(HexEncode(key_.PublicKey()).substr(0, 62)).ok());
  EXPECT_FALSE(ReadPublicKey(tmp_.Path("missing.pub")).ok());

  const std::string bad_pub = tmp_.Path("bad.pub");
  WriteFile(bad_pub, "not a key\n", 0644);
  EXPECT_FALSE(ReadPublicKey(bad_pub).ok());
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
