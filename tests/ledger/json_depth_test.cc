// Tests of the nesting limit on JSON from outside (ledger/event.h: CheckJsonTextDepth,
// CheckJsonDepth, ParseJsonText), and of the readers of key and checkpoint files that use it.
#include <string>

#include "ledger/checkpoint.h"
#include "ledger/event.h"
#include "ledger/key_file.h"
#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::CheckJsonDepth;
using shiplog::CheckJsonTextDepth;
using shiplog::kMaxJsonDepth;
using shiplog::ParseJsonText;
using ::testing::HasSubstr;

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonDepth, TheLimitIsSixtyFourLevels) {
  EXPECT_EQ(kMaxJsonDepth, 64u);
  EXPECT_OK(CheckJsonTextDepth(Nested(64)));
  Status over = CheckJsonTextDepth(Nested(65));
  EXPECT_EQ(over.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(over.message(), HasSubstr("nested deeper than 64 levels"));
  EXPECT_THAT(over.message(), HasSubstr("at byte 64"));
}

TEST(JsonDepth, BracketsInsideStringsDoNotCount) {
  // Quotes escaped inside a string do not end it; an escaped backslash does not hide the quote.
  const std::string brackets =
      "\"" + std::string(100, '[') + "\\\"" + std::string(100, '{') + "\\\\\"";
  EXPECT_OK(CheckJsonTextDepth("[" + brackets + "]"));
  auto parsed = ParseJsonText("[" + brackets + "]");
  ASSERT_OK(parsed);
  EXPECT_TRUE(parsed->at(0).is_string());
  // After the string closes, brackets count again.
  EXPECT_FALSE(CheckJsonTextDepth("[" + brackets + "," + Nested(64) + "]").ok());
}

TEST(JsonDepth, ObjectsAndArraysCountAlike) {
  std::string text;
  for (int i = 0; i < 65; ++i) text += i % 2 ? "[" : "{\"k\":";
  for (int i = 64; i >= 0; --i) text += i % 2 ? "]" : "}";
  EXPECT_FALSE(CheckJsonTextDepth(text).ok());
  EXPECT_FALSE(ParseJsonText(text).ok());
}

TEST(JsonDepth, ParsedTreeAtTheLimitPassesAndDeeperTreesDoNot) {
  auto at = ParseJsonText(Nested(64));
  ASSERT_OK(at);
  EXPECT_OK(CheckJsonDepth(*at));
  EXPECT_FALSE(CheckJsonDepth(*at, 63).ok());
  EXPECT_OK(CheckJsonDepth(nlohmann::json(5), 0));  // a scalar has no nesting
}

TEST(JsonDepth, MalformedTextIsStillJudgedByTheParser) {
  auto r = ParseJsonText("[[1,]]");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("malformed JSON"));
}

class JsonDepthFiles : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    WriteFile(dir_.Path(name), text);  // mode 0600, as a key file must be
    return dir_.Path(name);
  }
  TempDir dir_;
};

TEST_F(JsonDepthFiles, DeepKeyFileIsRefusedNamingTheDepth) {
  auto key = shiplog::ReadKeyFile(Write("deep.key", "{\"type\":" + Nested(10'000) + "}"));
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(key.status().message(), HasSubstr("nested deeper than 64"));
  EXPECT_FALSE(shiplog::ReadPublicKey(Write("deep.pub", Nested(10'000))).ok());
}

TEST_F(JsonDepthFiles, DeepCheckpointJsonIsRefusedNamingTheDepth) {
  auto checkpoint = shiplog::Checkpoint::FromText("{\"checkpoint\":" + Nested(10'000) + "}",
                                                  std::string(32, 'k'));
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_THAT(checkpoint.status().message(), HasSubstr("nested deeper than 64"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
