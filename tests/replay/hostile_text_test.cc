// Event fields are an attacker's text. Every free-text field of every kind a deployment's
// timeline shows (found by walking schemas/event.capnp, so a field added later is covered without
// touching this test) holds script, markup and terminal-escape payloads, over a real ledger; the
// HTML page must hold no live markup from them and the text timeline no control character,
// bidirectional override or line separator from them.
#include <capnp/schema.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "ledger/event_schema.h"
#include "ledger/ledger.h"
#include "replay/timeline.h"
#include "tests/cli/process.h"

namespace shiplog::replay {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr Micros kStart = 1795543200LL * kMicrosPerSecond;  // 2026-11-24T18:00:00Z

// Closes a script, opens markup, clears the screen, retitles the terminal, reverses the text that
// follows and breaks the line without a newline.
const std::string kPayload =
    "</script><script>alert(1)</script><img src=x onerror=alert(1)>\"'&<!--"
    "\x1b[2J\x1b]0;owned\x07\xc2\x9b"
    "31m\xe2\x80\xae\xe2\x80\xa8";

// The payload marked with where it was put, so a test failure names the field.
std::string Hostile(const std::string& where) { return kPayload + "@" + where; }

json Fill(capnp::StructSchema schema, const std::string& where);

// A value for `field` that the event codec takes: attacker text wherever the schema allows text.
json FillField(capnp::StructSchema::Field field, const std::string& where) {
  using Which = capnp::schema::Type::Which;
  const capnp::Type type = field.getType();
  const std::string path = where + "." + event_schema::JsonFieldName(field);
  if (event_schema::HasAnnotation(field, event_schema::kTimeAnnotation)) {
    return "2026-11-24T19:00:00Z";
  }
  if (event_schema::HasAnnotation(field, event_schema::kHexAnnotation)) {
    return std::string(64, 'a');
  }
  if (event_schema::HasAnnotation(field, event_schema::kJsonMapAnnotation)) {
    return json{{"k", 1}};
  }
  switch (type.which()) {
    case Which::TEXT:
      return Hostile(path);
    case Which::BOOL:
      return true;
    case Which::ENUM: {
      auto enumerants = type.asEnum().getEnumerants();
      return event_schema::JsonEnumName(enumerants[enumerants.size() > 1 ? 1 : 0]);
    }
    case Which::STRUCT:
      return Fill(type.asStruct(), path);
    case Which::LIST: {
      const capnp::Type element = type.asList().getElementType();
      if (element.isText()) return json::array({Hostile(path + "[0]")});
      if (element.isStruct()) return json::array({Fill(element.asStruct(), path + "[0]")});
      return json::array();
    }
    case Which::DATA:
      return "";
    default:
      return 1;
  }
}

json Fill(capnp::StructSchema schema, const std::string& where) {
  json out = json::object();
  for (auto field : schema.getFields()) {
    out[event_schema::JsonFieldName(field)] = FillField(field, where);
  }
  return out;
}

// Kinds an agent signs about a deployment: what its timeline shows. (The ledger's own kinds,
// genesis and denials, carry no agent text of their own: a denial repeats its attempt's.)
std::vector<std::string> AgentDeploymentKinds() {
  std::vector<std::string> kinds;
  for (const auto& [kind, member] : event_schema::KindMembers()) {
    const bool scoped =
        event_schema::HasAnnotation(member, event_schema::kDeploymentScopedAnnotation) ||
        event_schema::HasAnnotation(member, event_schema::kDeploymentOptionalAnnotation);
    if (scoped && kind != "policy.denied") kinds.push_back(kind);
  }
  return kinds;
}

// Characters a terminal acts on: C0 and C1 controls other than the newline ending each line, and
// the Unicode line separators and bidirectional controls (as UTF-8).
std::vector<std::string> TerminalHazards(const std::string& text) {
  std::vector<std::string> found;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7f) found.push_back("byte " + std::to_string(c));
    if (c == 0xc2 && i + 1 < text.size()) {
      const unsigned char next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9f) found.push_back("C1 control");
    }
    if (c == 0xe2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80) {
      const unsigned char last = static_cast<unsigned char>(text[i + 2]);
      if (last == 0xa8 || last == 0xa9 || (last >= 0xaa && last <= 0xae)) {
        found.push_back("line separator or bidi control");
      }
    }
    if (c == 0xe2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x81) {
      const unsigned char last = static_cast<unsigned char>(text[i + 2]);
      if (last >= 0xa6 && last <= 0xa9) found.push_back("bidi isolate");
    }
  }
  return found;
}

// Whether `wanted` is one of the strings anywhere in `value`.
bool HoldsString(const json& value, const std::string& wanted) {
  if (value.is_string()) return value.get<std::string>() == wanted;
  if (!value.is_structured()) return false;  // a number iterates as itself
  for (const auto& item : value) {
    if (HoldsString(item, wanted)) return true;
  }
  return false;
}

class HostileTextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    InitOptions options;
    options.admin_public_key = admin_.PublicKey();
    options.manual_clock = true;
    options.manual_clock_start = kStart;
    ASSERT_TRUE(Ledger::Init(dir_ / "data", options, &clock_).ok());
    auto opened = Ledger::Open(dir_ / "data", &clock_, nullptr);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    ledger_ = std::move(opened).value();
    Append(admin_, {{"kind", "key.enrolled"},
                    {"actor", "admin"},
                    {"name", agent_name_},
                    {"public_key", HexEncode(agent_.PublicKey())},
                    {"roles", json::array({"coordinator"})}});
  }

  Status Append(const SigningKey& key, json event) {
    event["id"] = "e-" + std::to_string(++ids_);
    auto built = Event::FromJson(event);
    if (!built.ok()) return built.status();
    return ledger_->Append(SignedEvent::Sign(built.value(), key)).status();
  }

  // Appends one event of every kind an agent signs about `deployment`, every field attacker text.
  void AppendEveryKind(const std::string& deployment) {
    for (const std::string& kind : AgentDeploymentKinds()) {
      json event = Fill(event_schema::KindMembers().at(kind).getType().asStruct(), kind);
      event["kind"] = kind;
      event["actor"] = agent_name_;
      event["deployment"] = deployment;
      Status appended = Append(agent_, event);
      EXPECT_TRUE(appended.ok()) << kind << ": " << appended.ToString();
    }
  }

  testing::ScratchDir dir_;
  SystemClock clock_;
  SigningKey admin_ = SigningKey::Generate();
  SigningKey agent_ = SigningKey::Generate();
  // Names are restricted to letters, digits and ._-:@/+ when enrolled, so not free text.
  std::string agent_name_ = "agent";
  std::unique_ptr<Ledger> ledger_;
  int ids_ = 0;
};

TEST_F(HostileTextTest, TheHtmlTimelineHoldsNoMarkupFromAnyField) {
  const std::string deployment = "d-html";
  AppendEveryKind(deployment);
  auto timeline = BuildTimeline(*ledger_, deployment);
  ASSERT_TRUE(timeline.ok()) << timeline.status().ToString();
  ASSERT_EQ(timeline->entries.size(), AgentDeploymentKinds().size());

  const std::string html = TimelineHtml(*timeline);
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("alert(1)</script>")));
  EXPECT_THAT(html, Not(HasSubstr("<b onmouseover")));
  EXPECT_THAT(html, Not(HasSubstr("onerror=alert(1)>")));
  EXPECT_THAT(html, Not(HasSubstr("<!--")));
  // Shown, escaped: the payload did reach the page.
  EXPECT_THAT(html, HasSubstr("&lt;img src=x onerror=alert(1)&gt;"));
  // Only the page's own script elements open.
  size_t scripts = 0;
  for (size_t at = html.find("<script"); at != std::string::npos;
       at = html.find("<script", at + 1)) {
    ++scripts;
  }
  EXPECT_LE(scripts, 2u) << "a script element beyond the page's own";
}

TEST_F(HostileTextTest, TheTextTimelineHoldsNoTerminalControlFromAnyField) {
  const std::string deployment = "d-text";
  AppendEveryKind(deployment);
  auto timeline = BuildTimeline(*ledger_, deployment);
  ASSERT_TRUE(timeline.ok()) << timeline.status().ToString();

  const std::string text = TimelineText(*timeline);
  EXPECT_THAT(TerminalHazards(text), ::testing::IsEmpty()) << text;
  // Shown, escaped: the payloads did reach the text.
  EXPECT_THAT(text, HasSubstr("\\x1b[2J"));
  EXPECT_THAT(text, HasSubstr("\\u202e"));
}

TEST_F(HostileTextTest, TheJsonTimelineCarriesEveryFieldExactly) {
  // JSON is for programs: the text is kept as it was signed (escaped by JSON itself), so an
  // auditor's tool sees exactly what the agent wrote.
  const std::string deployment = "d-json";
  AppendEveryKind(deployment);
  auto timeline = BuildTimeline(*ledger_, deployment);
  ASSERT_TRUE(timeline.ok()) << timeline.status().ToString();
  EXPECT_TRUE(HoldsString(TimelineJson(*timeline), Hostile("review.comment")));
  EXPECT_TRUE(HoldsString(TimelineJson(*timeline), Hostile("deploy.requested.app")));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::replay
