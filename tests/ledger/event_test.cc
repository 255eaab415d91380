// Tests of ledger/event.h: the JSON mapping of every kind, canonical bytes, validation errors, and
// the signed envelope.
#include "ledger/event.h"

#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cmath>
#include <limits>
#include <map>

#include "ledger/clock.h"
#include "ledger/event_schema.h"
#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::Event;
using shiplog::kMaxEventBytes;
using shiplog::ParseJsonText;
using shiplog::SignedEvent;
using shiplog::SigningKey;
namespace schema = shiplog::schema;
using ::testing::AnyOf;
using ::testing::HasSubstr;

// ---- helpers ----

std::string ToString(kj::ArrayPtr<const capnp::word> words) {
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// The canonical bytes of the event in `message`.
std::string Canonical(capnp::MallocMessageBuilder& message) {
  auto words = capnp::canonicalize(message.getRoot<schema::Event>().asReader());
  return ToString(words);
}

// Expects FromJson to refuse `j` with kInvalidArgument and a message matching `matcher`.
void ExpectInvalid(const json& j, const ::testing::Matcher<const std::string&>& matcher) {
  auto r = Event::FromJson(j);
  ASSERT_FALSE(r.ok()) << "accepted: " << j.dump();
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_THAT(r.status().message(), matcher) << "for " << j.dump();
}

json Without(json j, const std::string& field) {
  j.erase(field);
  return j;
}

json With(json j, const std::string& field, const json& value) {
  j[field] = value;
  return j;
}

// ---- kinds ----

TEST(EventKinds, NamesInSchemaOrder) {
  const std::vector<std::string> want = {
      "deploy.requested", "review",           "step.started",     "step.reported",
      "gate.result",      "backup.verified",  "traffic.shifted",  "rollback.started",
      "rollback.completed", "incident.opened", "incident.resolved", "maintenance.window",
      "waiver.granted",   "deploy.completed", "key.enrolled",     "key.revoked",
      "policy.activated", "ledger.genesis",   "policy.denied",    "enforcement.decided",
      "attestation.stored",
  };
  EXPECT_EQ(shiplog::EventKindNames(), want);
}

TEST(EventKinds, ExamplesCoverEveryKind) {
  std::vector<std::string> kinds;
  for (const json& j : AllKindExamples()) kinds.push_back(j.at("kind"));
  EXPECT_EQ(kinds, shiplog::EventKindNames()) << "add an example for each new kind to test_util.h";
}

// ---- FromJson of every kind ----

TEST(EventFromJson, EveryKindParsesWithItsCommonFields) {
  for (const json& j : AllKindExamples()) {
    SCOPED_TRACE(j.dump());
    auto e = Event::FromJson(j);
    ASSERT_OK(e);
    EXPECT_EQ(e->kind(), j.at("kind").get<std::string>());
    EXPECT_EQ(e->id(), j.at("id").get<std::string>());
    EXPECT_EQ(e->actor(), j.at("actor").get<std::string>());
    EXPECT_EQ(e->deployment(), j.value("deployment", std::string()));
    EXPECT_FALSE(e->bytes().empty());
    EXPECT_EQ(e->bytes().size() % 8, 0u) << "canonical bytes are whole words";
    EXPECT_LE(e->bytes().size(), kMaxEventBytes);
    EXPECT_OK(shiplog::ValidateEvent(e->reader()));
  }
}

TEST(EventFromJson, ToJsonFromJsonGivesIdenticalBytes) {
  for (const json& j : AllKindExamples()) {
    SCOPED_TRACE(j.dump());
    const Event e = MakeEvent(j);
    const json out = e.ToJson();
    EXPECT_EQ(out.at("kind"), j.at("kind"));
    auto again = Event::FromJson(out);
    ASSERT_OK(again) << out.dump();
    EXPECT_EQ(again->bytes(), e.bytes());
    EXPECT_EQ(again->ToJson(), out) << "ToJson is stable";
  }
}

// The codec reads each field at its offset in the message's sections. capnp's own reflection
// of the same bytes must find the same fields with the same values, whatever the canonical form
// trimmed (zero numbers, empty text) from the end of a section.
void ExpectReflectionAgrees(capnp::DynamicStruct::Reader s, const json& out,
                            const std::string& where) {
  using W = capnp::schema::Type::Which;
  namespace es = shiplog::event_schema;
  for (auto field : s.getSchema().getNonUnionFields()) {
    const std::string name = es::JsonFieldName(field);
    SCOPED_TRACE(where + "." + name);
    const bool shown = s.has(field, capnp::HasMode::NON_DEFAULT) ||
                       es::HasAnnotation(field, es::kRequiredAnnotation);
    ASSERT_EQ(out.contains(name), shown);
    if (!shown) continue;
    auto value = s.get(field);
    const json& got = out.at(name);
    switch (field.getType().which()) {
      case W::TEXT: EXPECT_EQ(got, std::string(value.as<capnp::Text>().cStr())); break;
      case W::BOOL: EXPECT_EQ(got, value.as<bool>()); break;
      case W::INT64:
        if (!es::HasAnnotation(field, es::kTimeAnnotation)) EXPECT_EQ(got, value.as<int64_t>());
        else EXPECT_EQ(got, shiplog::FormatTime(value.as<int64_t>()));
        break;
      case W::UINT8: case W::UINT16: case W::UINT32: case W::UINT64:
        EXPECT_EQ(got, value.as<uint64_t>());
        break;
      case W::FLOAT64: EXPECT_EQ(got, value.as<double>()); break;
      case W::ENUM: {
        KJ_IF_MAYBE(e, value.as<capnp::DynamicEnum>().getEnumerant()) {
          EXPECT_EQ(got, es::JsonEnumName(*e));
        } else {
          ADD_FAILURE() << "a valid event holds an enum the schema does not know";
        }
        break;
      }
      case W::STRUCT:
        ExpectReflectionAgrees(value.as<capnp::DynamicStruct>(), got, where + "." + name);
        break;
      case W::LIST: {
        auto list = value.as<capnp::DynamicList>();
        ASSERT_EQ(got.size(), list.size());
        for (auto item : list) {
          if (item.getType() == capnp::DynamicValue::TEXT) {
            EXPECT_NE(std::find(got.begin(), got.end(), std::string(item.as<capnp::Text>().cStr())),
                      got.end());
          } else {
            auto pair = item.as<capnp::DynamicStruct>();
            EXPECT_EQ(got.at(std::string(pair.get("name").as<capnp::Text>().cStr())),
                      pair.get("value").as<double>());
          }
        }
        break;
      }
      default: break;  // data: its encoding is checked by the round trips
    }
  }
}

TEST(EventFromJson, ToJsonAgreesWithCapnpReflection) {
  std::vector<json> events = AllKindExamples();
  json gate = GateResultJson("ci-bot", "smoke");
  gate["metrics"] = {{"error_rate", 0.25}, {"latency_p99_ms", 812.0}, {"zero", 0.0}};
  events.push_back(gate);
  // A required number at zero: trimmed from the section, still shown.
  events.push_back(TrafficShiftedJson("leon", 0));
  json bare = DeployRequestedJson("leon");  // only what is required: short sections
  for (const char* optional : {"changes", "planned_steps"}) bare.erase(optional);
  events.push_back(bare);
  for (const json& j : events) {
    SCOPED_TRACE(j.dump());
    const Event e = MakeEvent(j);
    capnp::DynamicStruct::Reader body =
        capnp::DynamicStruct::Reader(e.reader()).get("body").as<capnp::DynamicStruct>();
    KJ_IF_MAYBE(member, body.which()) {
      if (!member->getType().isStruct()) continue;
      ExpectReflectionAgrees(body.get(*member).as<capnp::DynamicStruct>(), e.ToJson(), e.kind().data());
    }
  }
}

// Every path into `value` (objects only, as the policy's dotted fields reach), with what it holds.
void CollectPaths(const json& value, const std::string& prefix,
                  std::vector<std::pair<std::string, json>>& out) {
  for (auto it = value.begin(); it != value.end(); ++it) {
    const std::string path = prefix.empty() ? it.key() : prefix + "." + it.key();
    out.emplace_back(path, it.value());
    if (it.value().is_object()) CollectPaths(it.value(), path, out);
  }
}

// Event::Field reads one field in place; it must give exactly what ToJson holds at the path,
// and nothing where ToJson holds nothing.
TEST(EventField, EveryPathReadsWhatToJsonHolds) {
  std::vector<json> events = AllKindExamples();
  json gate = GateResultJson("ci-bot", "smoke");
  gate["metrics"] = {{"error_rate", 0.25}, {"latency_p99_ms", 812.0}, {"zero", 0.0}};
  events.push_back(gate);
  events.push_back(TrafficShiftedJson("leon", 0));  // a required number at zero is still there
  json bare = DeployRequestedJson("leon");
  for (const char* optional : {"changes", "planned_steps"}) bare.erase(optional);
  events.push_back(bare);
  size_t paths = 0;
  for (const json& j : events) {
    SCOPED_TRACE(j.dump());
    const Event e = MakeEvent(j);
    const json whole = e.ToJson();
    std::vector<std::pair<std::string, json>> present;
    CollectPaths(whole, "", present);
    for (const auto& [path, value] : present) {
      SCOPED_TRACE(path);
      const std::optional<json> read = e.Field(path);
      ASSERT_TRUE(read.has_value());
      EXPECT_EQ(*read, value);
      // Text reads text and enums alone; times and keys are strings only in the JSON form.
      const std::string_view text = e.Text(path);
      if (!text.empty()) {
        EXPECT_EQ(json(std::string(text)), value);
      }
      ++paths;
    }
    for (const char* name : {"kind", "id", "actor", "deployment", "app", "environment", "step",
                             "status", "gate", "outcome", "subject", "verdict", "rule", "reason",
                             "strategy", "risk", "incident"}) {
      if (whole.contains(name)) {
        EXPECT_EQ(json(std::string(e.Text(name))), whole.at(name)) << name;
      }
    }
    // What ToJson leaves out, and paths past a scalar or into a list, hold nothing.
    for (const std::string& absent :
         {std::string("no_such_field"), std::string("kind.x"), std::string("actor."),
          std::string(""), std::string("."), std::string("metrics.absent"),
          std::string("changes.no_such_field"), std::string("planned_steps.0")}) {
      SCOPED_TRACE(absent);
      EXPECT_EQ(e.Field(absent).has_value(), whole.contains(absent));
    }
    for (const char* optional : {"deployment", "image", "changes", "metrics", "planned_steps"}) {
      if (!whole.contains(optional)) {
        EXPECT_FALSE(e.Field(optional).has_value()) << optional;
        EXPECT_EQ(e.Text(optional), "") << optional;
      }
    }
  }
  EXPECT_GT(paths, 100u) << "the examples reach too few fields to show anything";
}

// Copies share one message: as cheap as a pointer, and each reads the same fields.
TEST(EventField, CopiesReadTheSameEvent) {
  const Event original = MakeEvent(GateResultJson("ci-bot", "scan"));
  Event copy = original;
  Event assigned = MakeEvent(TrafficShiftedJson("leon", 5));
  assigned = copy;
  EXPECT_EQ(copy.bytes().data(), original.bytes().data());
  EXPECT_EQ(assigned.ToJson(), original.ToJson());
  EXPECT_EQ(assigned.Text("gate"), "scan");
}

TEST(EventFromJson, FromCanonicalRoundTrips) {
  for (const json& j : AllKindExamples()) {
    SCOPED_TRACE(j.dump());
    const Event e = MakeEvent(j);
    auto back = Event::FromCanonical(e.bytes());
    ASSERT_OK(back);
    EXPECT_EQ(back->bytes(), e.bytes());
    EXPECT_EQ(back->kind(), e.kind());
    EXPECT_EQ(back->ToJson(), e.ToJson());
  }
}

TEST(EventFromJson, FromCanonicalAcceptsUnalignedBuffer) {
  const Event e = MakeEvent(DeployRequestedJson("leon"));
  const std::string shifted = "x" + std::string(e.bytes());
  auto back = Event::FromCanonical(std::string_view(shifted).substr(1));
  ASSERT_OK(back);
  EXPECT_EQ(back->bytes(), e.bytes());
}

TEST(EventFromJson, KeyOrderAndEnumCaseDoNotChangeBytes) {
  json a = StepReportedJson("rutger", "staging", "READY");
  json b = a;
  b["status"] = "ready";
  json c = json::parse(a.dump());  // same content, independent object
  c["status"] = "Ready";
  const Event ea = MakeEvent(a), eb = MakeEvent(b), ec = MakeEvent(c);
  EXPECT_EQ(ea.bytes(), eb.bytes());
  EXPECT_EQ(ea.bytes(), ec.bytes());
}

TEST(EventFromJson, DeployRequestedFields) {
  const Event e = MakeEvent(DeployRequestedJson("leon"));
  auto body = e.reader().getBody();
  ASSERT_EQ(body.which(), schema::Event::Body::DEPLOY_REQUESTED);
  auto d = body.getDeployRequested();
  EXPECT_EQ(std::string(d.getApp().cStr()), "checkout");
  EXPECT_EQ(std::string(d.getEnvironment().cStr()), "production");
  EXPECT_EQ(std::string(d.getVersion().cStr()), "2.14.0");
  EXPECT_EQ(std::string(d.getImage().cStr()), kImage);
  EXPECT_EQ(d.getStrategy(), schema::Strategy::BLUE_GREEN);  // from "Blue-Green"
  EXPECT_EQ(d.getRisk(), schema::Risk::HIGH);
  auto c = d.getChanges();
  EXPECT_TRUE(c.getInfra());
  EXPECT_EQ(c.getDbMigration(), schema::Migration::ADDITIVE);
  EXPECT_TRUE(c.getReversible());
  EXPECT_EQ(std::string(c.getRecoveryDoc().cStr()), "https://wiki.example.com/runbooks/checkout-2.14");
  EXPECT_FALSE(c.getNetwork());
  EXPECT_TRUE(c.getCdn());
  EXPECT_EQ(c.getResourcesChanged(), 7u);
  ASSERT_EQ(d.getPlannedSteps().size(), 9u);
  EXPECT_EQ(std::string(d.getPlannedSteps()[0].cStr()), "orchestrate");
  EXPECT_EQ(std::string(d.getPlannedSteps()[8].cStr()), "backup-verify");

  const json out = e.ToJson();
  EXPECT_EQ(out.at("strategy"), "blue-green") << "enums are written kebab-case";
  EXPECT_EQ(out.at("risk"), "high");
  EXPECT_EQ(out.at("changes").at("db_migration"), "additive");
  EXPECT_EQ(out.at("changes").at("resources_changed"), 7);
  EXPECT_EQ(out.at("planned_steps").size(), 9u);
}

TEST(EventFromJson, StepReportedStatusIsCaseInsensitive) {
  const Event e = MakeEvent(StepReportedJson("rutger", "staging", "BLOCKED"));
  auto r = e.reader().getBody().getStepReported();
  EXPECT_EQ(r.getStatus(), schema::ReportStatus::BLOCKED);
  EXPECT_EQ(e.ToJson().at("status"), "blocked");
  json with_blockers = StepReportedJson("rutger", "staging", "FAILED");
  with_blockers["blockers"] = json::array({"quota exceeded", "pvc pending"});
  const Event failed = MakeEvent(with_blockers);
  auto f = failed.reader().getBody().getStepReported();
  EXPECT_EQ(f.getStatus(), schema::ReportStatus::FAILED);
  ASSERT_EQ(f.getBlockers().size(), 2u);
  EXPECT_EQ(std::string(f.getBlockers()[1].cStr()), "pvc pending");
}

TEST(EventFromJson, GateMetricsAreAJsonObject) {
  const Event e = MakeEvent(GateResultJson("ci-bot"));
  auto g = e.reader().getBody().getGateResult();
  EXPECT_EQ(g.getOutcome(), schema::Outcome::PASS);
  std::map<std::string, double> metrics;
  for (auto m : g.getMetrics()) metrics[m.getName().cStr()] = m.getValue();
  EXPECT_EQ(metrics, (std::map<std::string, double>{{"error_rate_delta", 0.04},
                                                     {"p99_latency_delta_ms", 35.0}}));
  const json out = e.ToJson().at("metrics");
  ASSERT_TRUE(out.is_object()) << out.dump();
  EXPECT_DOUBLE_EQ(out.at("error_rate_delta").get<double>(), 0.04);
  EXPECT_DOUBLE_EQ(out.at("p99_latency_delta_ms").get<double>(), 35.0);
}

TEST(EventFromJson, TimesAreRfc3339) {
  json j = EventJson("maintenance.window", "victoria", "",
                     {{"environment", "production"},
                      {"from", "2026-11-24T20:00:00+02:00"},
                      {"to", "2026-11-24T22:30:00.123456Z"}});
  const Event e = MakeEvent(j);
  auto w = e.reader().getBody().getMaintenanceWindow();
  EXPECT_EQ(w.getFrom(), kT0);
  EXPECT_EQ(w.getTo(), kT0 + (4 * 60 + 30) * shiplog::kMicrosPerMinute + 123456);
  const json out = e.ToJson();
  EXPECT_EQ(out.at("from"), "2026-11-24T18:00:00Z");
  EXPECT_EQ(out.at("to"), "2026-11-24T22:30:00.123456Z");
}

TEST(EventFromJson, HexKeys) {
  const std::string key = SigningKey::Generate().PublicKey();
  const Event e = MakeEvent(KeyEnrolledJson("admin", "leon", key, {"coordinator", "merge-approver"}));
  auto k = e.reader().getBody().getKeyEnrolled();
  auto data = k.getPublicKey();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(data.begin()), data.size()), key);
  ASSERT_EQ(k.getRoles().size(), 2u);
  EXPECT_EQ(e.ToJson().at("public_key"), shiplog::HexEncode(key));
  EXPECT_EQ(e.ToJson().at("roles"), json::array({"coordinator", "merge-approver"}));
}

TEST(EventFromJson, TrafficWeightBounds) {
  for (int w : {0, 5, 100}) {
    auto e = Event::FromJson(TrafficShiftedJson("leon", w));
    ASSERT_OK(e) << w;
    EXPECT_EQ(e->reader().getBody().getTrafficShifted().getWeight(), w);
  }
}

// nlohmann::json built in C++ holds 5 as number_integer, while parsed text holds number_unsigned.
// Both are the JSON number 5; FromJson takes a json value, so it must accept either.
TEST(EventFromJson, IntegerFieldsAcceptSignedJsonNumbers) {
  json t = TrafficShiftedJson("leon", 5);
  t["weight"] = static_cast<int64_t>(5);
  ASSERT_TRUE(t["weight"].is_number_integer() && !t["weight"].is_number_unsigned());
  auto e = Event::FromJson(t);
  ASSERT_OK(e);
  EXPECT_EQ(e->reader().getBody().getTrafficShifted().getWeight(), 5);

  json d = DeployRequestedJson("leon");
  d["changes"]["resources_changed"] = 7;  // int
  auto de = Event::FromJson(d);
  ASSERT_OK(de);
  EXPECT_EQ(de->reader().getBody().getDeployRequested().getChanges().getResourcesChanged(), 7u);
}

// Event::reader() is public: the policy fold, ToJson and the ledger read an event's fields as often
// as they need. Reading must not run out of a per-message budget and throw.
TEST(EventFromJson, FieldsCanBeReadRepeatedly) {
  const Event e = MakeEvent(DeployRequestedJson("leon"));
  int i = 0;
  try {
    const json first = e.ToJson();
    for (i = 1; i <= 20; ++i) {
      ASSERT_EQ(e.ToJson(), first) << i;
      auto d = e.reader().getBody().getDeployRequested();
      ASSERT_EQ(d.getPlannedSteps().size(), 9u) << i;
      ASSERT_EQ(std::string(d.getImage().cStr()), kImage) << i;
    }
  } catch (const kj::Exception& ex) {
    FAIL() << "reading the event's fields threw on round " << i << ": " << ex.getDescription().cStr();
  }
}

TEST(EventFromJson, OptionalFieldsMayBeOmitted) {
  EXPECT_OK(Event::FromJson(EventJson("deploy.completed", "leon", kDeployment)));
  EXPECT_OK(Event::FromJson(EventJson("step.started", "rutger", kDeployment, {{"step", "staging"}})));
  EXPECT_OK(Event::FromJson(EventJson("key.revoked", "admin", "",
                                      {{"public_key", shiplog::HexEncode(std::string(32, 'k'))}})));
}

TEST(EventFromJson, UnicodeTextRoundTrips) {
  json j = EventJson("review", "marta", kDeployment,
                     {{"subject", "merge"}, {"verdict", "approved"}, {"comment", "ok ✓ — zürich 東京"}});
  const Event e = MakeEvent(j);
  EXPECT_EQ(e.ToJson().at("comment"), "ok ✓ — zürich 東京");
  EXPECT_EQ(MakeEvent(e.ToJson()).bytes(), e.bytes());
}

// ---- FromJson errors ----

TEST(EventFromJsonErrors, MalformedJsonText) {
  auto r = ParseJsonText("{\"kind\": \"step.started\",\n \"step\": }");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), AnyOf(HasSubstr("line"), HasSubstr("column"),
                                          HasSubstr("byte"), HasSubstr("position"),
                                          HasSubstr("offset")))
      << "names where the syntax error is";
  EXPECT_FALSE(ParseJsonText("").ok());
  EXPECT_FALSE(ParseJsonText("{} {}").ok()) << "trailing content";
}

TEST(EventFromJsonErrors, ParseJsonTextAcceptsValidText) {
  auto r = ParseJsonText(StepStartedJson("rutger", "staging").dump());
  ASSERT_OK(r);
  EXPECT_EQ(r->at("step"), "staging");
}

TEST(EventFromJsonErrors, OversizedJsonText) {
  const std::string big =
      "{\"kind\": \"review\", \"comment\": \"" + std::string(kMaxEventBytes + 10, 'a') + "\"}";
  auto r = ParseJsonText(big);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  // A smaller limit applies too.
  EXPECT_FALSE(ParseJsonText("{\"a\": \"0123456789\"}", 8).ok());
  EXPECT_OK(ParseJsonText("{\"a\": 1}", 8));
}

TEST(EventFromJsonErrors, OversizedEvent) {
  const std::string content(kMaxEventBytes + 1024, 'p');
  json j = EventJson("policy.activated", "admin", "",
                     {{"name", "huge"},
                      {"content", content},
                      {"sha256", shiplog::HexEncode(shiplog::AsBytes(shiplog::Sha256(content)))}});
  auto r = Event::FromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST(EventFromJsonErrors, NotAnObject) {
  EXPECT_CODE(Event::FromJson(json::array({1, 2})), StatusCode::kInvalidArgument);
  EXPECT_CODE(Event::FromJson(json("step.started")), StatusCode::kInvalidArgument);
  EXPECT_CODE(Event::FromJson(json()), StatusCode::kInvalidArgument);
}

TEST(EventFromJsonErrors, MissingKind) {
  ExpectInvalid(Without(StepStartedJson("rutger", "staging"), "kind"), HasSubstr("kind"));
}

TEST(EventFromJsonErrors, KindNotAString) {
  ExpectInvalid(With(StepStartedJson("rutger", "staging"), "kind", 5), HasSubstr("kind"));
}

TEST(EventFromJsonErrors, UnknownKind) {
  ExpectInvalid(With(StepStartedJson("rutger", "staging"), "kind", "step.exploded"),
                HasSubstr("step.exploded"));
}

TEST(EventFromJsonErrors, MissingRequiredBodyField) {
  ExpectInvalid(Without(StepStartedJson("rutger", "staging"), "step"), NamesWord("step"));
  ExpectInvalid(Without(StepReportedJson("rutger", "staging"), "status"), HasSubstr("status"));
  ExpectInvalid(Without(GateResultJson("ci-bot"), "outcome"), HasSubstr("outcome"));
  ExpectInvalid(Without(DeployRequestedJson("leon"), "image"), HasSubstr("image"));
  ExpectInvalid(Without(TrafficShiftedJson("leon", 5), "weight"), HasSubstr("weight"));
  ExpectInvalid(EventJson("backup.verified", "otto", kDeployment, {{"scope", "db"}}),
                HasSubstr("backup_id"));
}

TEST(EventFromJsonErrors, MissingCommonField) {
  ExpectInvalid(Without(StepStartedJson("rutger", "staging"), "actor"), HasSubstr("actor"));
  ExpectInvalid(Without(StepStartedJson("rutger", "staging"), "id"), NamesWord("id"));
  ExpectInvalid(With(StepStartedJson("", "staging"), "actor", ""), HasSubstr("actor"));
}

TEST(EventFromJsonErrors, EmptyRequiredValues) {
  ExpectInvalid(EventJson("review", "marta", kDeployment, {{"subject", ""}, {"verdict", "approved"}}),
                HasSubstr("subject"));
  ExpectInvalid(KeyEnrolledJson("admin", "leon", std::string(32, 'k'), {}), HasSubstr("roles"));
  ExpectInvalid(With(DeployRequestedJson("leon"), "strategy", "unspecified"), HasSubstr("strategy"));
}

TEST(EventFromJsonErrors, UnknownField) {
  ExpectInvalid(With(StepStartedJson("rutger", "staging"), "stepp", "production"), HasSubstr("stepp"));
  json nested = DeployRequestedJson("leon");
  nested["changes"]["db_migraton"] = "none";
  ExpectInvalid(nested, HasSubstr("db_migraton"));
  // A field of another kind is unknown for this one.
  ExpectInvalid(With(StepStartedJson("rutger", "staging"), "weight", 5), HasSubstr("weight"));
}

TEST(EventFromJsonErrors, WrongType) {
  ExpectInvalid(With(TrafficShiftedJson("leon", 5), "weight", "ten"), HasSubstr("weight"));
  ExpectInvalid(With(TrafficShiftedJson("leon", 5), "weight", 25.5), HasSubstr("weight"));
  ExpectInvalid(With(StepReportedJson("rutger", "staging"), "details", 5), HasSubstr("details"));
  ExpectInvalid(With(StepReportedJson("rutger", "staging"), "blockers", "none"), HasSubstr("blockers"));
  ExpectInvalid(With(StepStartedJson("rutger", "staging"), "actor", json::array({"rutger"})),
                HasSubstr("actor"));
  json changes = DeployRequestedJson("leon");
  changes["changes"]["infra"] = "yes";
  ExpectInvalid(changes, HasSubstr("infra"));
  ExpectInvalid(With(DeployRequestedJson("leon"), "changes", "none"), HasSubstr("changes"));
  ExpectInvalid(With(EventJson("backup.verified", "otto", kDeployment,
                               {{"scope", "db"}, {"backup_id", "b1"}}),
                     "restore_tested", "true"),
                HasSubstr("restore_tested"));
}

TEST(EventFromJsonErrors, UnknownEnumValue) {
  ExpectInvalid(With(DeployRequestedJson("leon"), "strategy", "yolo"),
                AnyOf(HasSubstr("strategy"), HasSubstr("yolo")));
  ExpectInvalid(With(StepReportedJson("rutger", "staging"), "status", "DONE"),
                AnyOf(HasSubstr("status"), HasSubstr("DONE")));
}

TEST(EventFromJsonErrors, DeploymentScopedKindWithoutDeployment) {
  ExpectInvalid(Without(StepStartedJson("rutger", "staging"), "deployment"), HasSubstr("deployment"));
  ExpectInvalid(With(StepStartedJson("rutger", "staging"), "deployment", ""), HasSubstr("deployment"));
  ExpectInvalid(Without(TrafficShiftedJson("leon", 5), "deployment"), HasSubstr("deployment"));
  // Environment-wide kinds need none.
  EXPECT_OK(Event::FromJson(EventJson("incident.opened", "pagerduty", "",
                                      {{"environment", "production"}, {"incident", "INC-1"}})));
}

TEST(EventFromJsonErrors, TrafficWeightOutOfRange) {
  ExpectInvalid(TrafficShiftedJson("leon", 101), HasSubstr("weight"));
  ExpectInvalid(TrafficShiftedJson("leon", 256), HasSubstr("weight"));
  ExpectInvalid(TrafficShiftedJson("leon", -1), HasSubstr("weight"));
}

TEST(EventFromJsonErrors, NumberOutOfRangeForItsType) {
  json d = DeployRequestedJson("leon");
  d["changes"]["resources_changed"] = -3;
  ExpectInvalid(d, HasSubstr("resources_changed"));
  d["changes"]["resources_changed"] = 5000000000LL;  // > UInt32
  ExpectInvalid(d, HasSubstr("resources_changed"));
}

TEST(EventFromJsonErrors, MetricMustBeANumber) {
  json g = GateResultJson("ci-bot");
  g["metrics"]["error_rate_delta"] = "high";
  ExpectInvalid(g, AnyOf(HasSubstr("metrics"), HasSubstr("error_rate_delta")));
  g["metrics"] = json::array({0.1, 0.2});
  ExpectInvalid(g, HasSubstr("metrics"));
  g["metrics"] = {{"error_rate_delta", nullptr}};
  ExpectInvalid(g, AnyOf(HasSubstr("metrics"), HasSubstr("error_rate_delta")));
}

TEST(EventFromJsonErrors, BadTime) {
  json w = EventJson("maintenance.window", "victoria", "",
                     {{"environment", "production"}, {"from", "tonight"}, {"to", "2026-11-25T02:00:00Z"}});
  ExpectInvalid(w, HasSubstr("from"));
  w["from"] = 1795543200;  // a number is not an RFC 3339 string
  ExpectInvalid(w, HasSubstr("from"));
}

TEST(EventFromJsonErrors, BadHex) {
  json k = KeyEnrolledJson("admin", "leon", std::string(32, 'k'), {"deployer"});
  k["public_key"] = std::string(64, 'z');
  ExpectInvalid(k, HasSubstr("public_key"));
  k["public_key"] = "abc";
  ExpectInvalid(k, HasSubstr("public_key"));
}

// A key.enrolled that enrols something that is not an Ed25519 public key is nonsense; "sizes are
// within limits" (event.h) and the schema's "Ed25519, 32 bytes" say it is refused.
TEST(EventFromJsonErrors, EnrolledKeyMustBe32Bytes) {
  ExpectInvalid(KeyEnrolledJson("admin", "leon", std::string(31, 'k'), {"deployer"}),
                HasSubstr("public_key"));
  ExpectInvalid(KeyEnrolledJson("admin", "leon", std::string(33, 'k'), {"deployer"}),
                HasSubstr("public_key"));
}

// ---- canonical bytes ----

TEST(EventFromCanonical, RejectsTrailingWords) {
  const Event e = MakeEvent(StepStartedJson("rutger", "staging"));
  const std::string padded = std::string(e.bytes()) + std::string(8, '\0');
  EXPECT_CODE(Event::FromCanonical(padded), StatusCode::kInvalidArgument);
}

TEST(EventFromCanonical, RejectsGarbage) {
  EXPECT_CODE(Event::FromCanonical(""), StatusCode::kInvalidArgument);
  EXPECT_CODE(Event::FromCanonical("not capnp at all"), StatusCode::kInvalidArgument);
  EXPECT_CODE(Event::FromCanonical("odd"), StatusCode::kInvalidArgument);
  EXPECT_CODE(Event::FromCanonical(std::string(64, '\xff')), StatusCode::kInvalidArgument);
  EXPECT_CODE(Event::FromCanonical(std::string(64, '\0')), StatusCode::kInvalidArgument);
  const Event e = MakeEvent(StepStartedJson("rutger", "staging"));
  EXPECT_CODE(Event::FromCanonical(e.bytes().substr(0, e.bytes().size() - 8)),
              StatusCode::kInvalidArgument)
      << "truncated";
}

TEST(EventFromCanonical, RejectsFramedMessage) {
  // A valid Cap'n Proto message with a segment table is not the canonical form.
  const Event e = MakeEvent(StepStartedJson("rutger", "staging"));
  capnp::MallocMessageBuilder message;
  message.setRoot(e.reader());
  const std::string framed = ToString(capnp::messageToFlatArray(message));
  ASSERT_NE(framed, std::string(e.bytes()));
  EXPECT_CODE(Event::FromCanonical(framed), StatusCode::kInvalidArgument);
}

TEST(EventFromCanonical, EveryBitFlipIsRejectedOrChangesTheEvent) {
  // Never crashes, and never yields an event with the original bytes.
  const Event e = MakeEvent(StepReportedJson("rutger", "staging"));
  const std::string bytes(e.bytes());
  for (size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    auto r = Event::FromCanonical(FlipBit(bytes, bit));
    if (r.ok()) {
      EXPECT_NE(r->bytes(), e.bytes()) << bit;
      EXPECT_OK(shiplog::ValidateEvent(r->reader())) << bit;
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bit;
    }
  }
}

TEST(EventFromBuilder, AgreesWithFromJson) {
  capnp::MallocMessageBuilder message;
  auto ev = message.initRoot<schema::Event>();
  ev.setId("s-1");
  ev.setActor("rutger");
  ev.setDeployment(kDeployment);
  auto step = ev.initBody().initStepStarted();
  step.setStep("staging");
  step.setImage(kImage);

  auto built = Event::FromBuilder(ev.asReader());
  ASSERT_OK(built);
  auto parsed = Event::FromJson(EventJson("step.started", "rutger", kDeployment,
                                          {{"step", "staging"}, {"image", kImage}}, "s-1"));
  ASSERT_OK(parsed);
  EXPECT_EQ(built->bytes(), parsed->bytes());
  EXPECT_EQ(std::string(built->bytes()), Canonical(message));
}

TEST(EventFromBuilder, ValidatesLikeEveryDecode) {
  capnp::MallocMessageBuilder message;
  auto ev = message.initRoot<schema::Event>();
  ev.setId("s-2");
  ev.setDeployment(kDeployment);
  ev.initBody().initStepStarted().setStep("staging");  // no actor

  auto r = Event::FromBuilder(ev.asReader());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("actor"));
  EXPECT_FALSE(shiplog::ValidateEvent(ev.asReader()).ok());

  // The same message as canonical bytes from an untrusted source.
  auto c = Event::FromCanonical(Canonical(message));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr("actor"));
}

TEST(EventFromBuilder, RejectsWeightOver100) {
  capnp::MallocMessageBuilder message;
  auto ev = message.initRoot<schema::Event>();
  ev.setId("t-1");
  ev.setActor("leon");
  ev.setDeployment(kDeployment);
  ev.initBody().initTrafficShifted().setWeight(150);
  auto r = Event::FromCanonical(Canonical(message));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("weight"));
}

TEST(EventFromBuilder, RejectsNonFiniteMetric) {
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    capnp::MallocMessageBuilder message;
    auto ev = message.initRoot<schema::Event>();
    ev.setId("g-1");
    ev.setActor("ci-bot");
    ev.setDeployment(kDeployment);
    auto g = ev.initBody().initGateResult();
    g.setGate("analysis");
    g.setOutcome(schema::Outcome::PASS);
    auto m = g.initMetrics(1);
    m[0].setName("error_rate_delta");
    m[0].setValue(bad);
    auto r = Event::FromBuilder(ev.asReader());
    EXPECT_CODE(r, StatusCode::kInvalidArgument) << bad;
    EXPECT_CODE(Event::FromCanonical(Canonical(message)), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(EventCopy, CopiesOwnTheirBytes) {
  Event a = MakeEvent(StepStartedJson("rutger", "staging"));
  const std::string bytes(a.bytes());
  Event b = a;
  EXPECT_EQ(b.bytes(), bytes);
  Event c = MakeEvent(StepStartedJson("rutger", "production"));
  c = a;
  a = MakeEvent(GateResultJson("ci-bot"));
  EXPECT_EQ(b.bytes(), bytes);
  EXPECT_EQ(c.bytes(), bytes);
  EXPECT_EQ(c.kind(), "step.started");
  Event d = std::move(c);
  EXPECT_EQ(d.bytes(), bytes);
}

// ---- SignedEvent ----

class SignedEventTest : public ::testing::Test {
 protected:
  SigningKey key_ = SigningKey::Generate();
  Event event_ = MakeEvent(StepStartedJson("rutger", "production"));
  SignedEvent signed_ = SignedEvent::Sign(event_, key_);
};

TEST_F(SignedEventTest, SignFillsTheEnvelope) {
  EXPECT_EQ(signed_.scheme, shiplog::kSchemeEd25519Capnp);
  EXPECT_EQ(signed_.payload, event_.bytes());
  EXPECT_EQ(signed_.public_key, key_.PublicKey());
  EXPECT_EQ(signed_.signature, key_.Sign(event_.bytes()));
  EXPECT_TRUE(shiplog::VerifySignature(key_.PublicKey(), signed_.payload, signed_.signature));
  EXPECT_OK(signed_.VerifySignature());
}

TEST_F(SignedEventTest, FlippedBitsFailVerification) {
  for (size_t bit : {size_t{0}, signed_.payload.size() * 4, signed_.payload.size() * 8 - 1}) {
    SignedEvent s = signed_;
    s.payload = FlipBit(s.payload, bit);
    EXPECT_CODE(s.VerifySignature(), StatusCode::kBadSignature) << "payload bit " << bit;
  }
  for (size_t bit : {size_t{0}, size_t{255}, size_t{511}}) {
    SignedEvent s = signed_;
    s.signature = FlipBit(s.signature, bit);
    EXPECT_CODE(s.VerifySignature(), StatusCode::kBadSignature) << "signature bit " << bit;
  }
  for (size_t bit : {size_t{0}, size_t{128}, size_t{255}}) {
    SignedEvent s = signed_;
    s.public_key = FlipBit(s.public_key, bit);
    EXPECT_CODE(s.VerifySignature(), StatusCode::kBadSignature) << "public key bit " << bit;
  }
}

TEST_F(SignedEventTest, AnotherKeyFailsVerification) {
  SignedEvent s = signed_;
  s.public_key = SigningKey::Generate().PublicKey();
  EXPECT_CODE(s.VerifySignature(), StatusCode::kBadSignature);
}

TEST_F(SignedEventTest, WrongSchemeOrSizesFail) {
  SignedEvent s = signed_;
  s.scheme = "dsse-v1";
  EXPECT_FALSE(s.VerifySignature().ok());
  s = signed_;
  s.scheme = "";
  EXPECT_FALSE(s.VerifySignature().ok());
  s = signed_;
  s.signature.pop_back();
  EXPECT_FALSE(s.VerifySignature().ok());
  s = signed_;
  s.public_key.push_back('\0');
  EXPECT_FALSE(s.VerifySignature().ok());
  s = signed_;
  s.payload.clear();
  EXPECT_FALSE(s.VerifySignature().ok());
}

TEST_F(SignedEventTest, JsonRoundTrip) {
  const json j = signed_.ToJson();
  EXPECT_EQ(j.at("scheme"), std::string(shiplog::kSchemeEd25519Capnp));
  EXPECT_EQ(j.at("payload"), shiplog::Base64Encode(signed_.payload));
  EXPECT_EQ(j.at("public_key"), shiplog::HexEncode(signed_.public_key));
  EXPECT_EQ(j.at("signature"), shiplog::Base64Encode(signed_.signature));
  EXPECT_EQ(j.size(), 4u);

  auto back = SignedEvent::FromJson(j);
  ASSERT_OK(back);
  EXPECT_EQ(back->scheme, signed_.scheme);
  EXPECT_EQ(back->payload, signed_.payload);
  EXPECT_EQ(back->public_key, signed_.public_key);
  EXPECT_EQ(back->signature, signed_.signature);
  EXPECT_OK(back->VerifySignature());
  // Through text too, as it travels.
  auto parsed = ParseJsonText(j.dump());
  ASSERT_OK(parsed);
  auto again = SignedEvent::FromJson(*parsed);
  ASSERT_OK(again);
  EXPECT_EQ(again->payload, signed_.payload);
}

TEST_F(SignedEventTest, FromJsonRefusesAnythingElse) {
  const json good = signed_.ToJson();
  EXPECT_FALSE(SignedEvent::FromJson(With(good, "extra", 1)).ok()) << "unknown field";
  EXPECT_FALSE(SignedEvent::FromJson(Without(good, "signature")).ok()) << "missing signature";
  EXPECT_FALSE(SignedEvent::FromJson(Without(good, "payload")).ok()) << "missing payload";
  EXPECT_FALSE(SignedEvent::FromJson(With(good, "payload", "!!!not base64!!!")).ok());
  EXPECT_FALSE(SignedEvent::FromJson(With(good, "public_key", "xyz")).ok());
  EXPECT_FALSE(SignedEvent::FromJson(With(good, "signature", 42)).ok());
  EXPECT_FALSE(SignedEvent::FromJson(json::array()).ok());
  EXPECT_FALSE(SignedEvent::FromJson(StepStartedJson("rutger", "staging")).ok()) << "a bare event";
}

TEST_F(SignedEventTest, LooksLikeEnvelope) {
  EXPECT_TRUE(SignedEvent::LooksLikeEnvelope(signed_.ToJson()));
  EXPECT_FALSE(SignedEvent::LooksLikeEnvelope(StepStartedJson("rutger", "staging")));
  EXPECT_FALSE(SignedEvent::LooksLikeEnvelope(event_.ToJson()));
  EXPECT_FALSE(SignedEvent::LooksLikeEnvelope(json::array()));
  EXPECT_FALSE(SignedEvent::LooksLikeEnvelope(json("payload")));
  EXPECT_FALSE(SignedEvent::LooksLikeEnvelope(json::object()));
}

TEST_F(SignedEventTest, EveryKindSignsAndVerifies) {
  for (const json& j : AllKindExamples()) {
    SCOPED_TRACE(j.dump());
    const SignedEvent s = SignedEvent::Sign(MakeEvent(j), key_);
    EXPECT_OK(s.VerifySignature());
    auto back = SignedEvent::FromJson(s.ToJson());
    ASSERT_OK(back);
    auto e = Event::FromCanonical(back->payload);
    ASSERT_OK(e);
    EXPECT_EQ(e->kind(), j.at("kind").get<std::string>());
  }
}

// Regression (found by tests/fuzz/event_fuzz): a number too large for a double threw
// nlohmann's out_of_range out of ParseJsonText instead of returning a Status.
TEST(EventFromJsonErrors, NumberTooLargeForJsonIsAnError) {
  auto r = ParseJsonText("7e778");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("malformed JSON"));
}

// Text that is not UTF-8 can be signed in binary form but has no JSON form: refuse it on decode.
TEST(EventFromCanonical, RejectsTextThatIsNotUtf8) {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<shiplog::schema::Event>();
  event.setId("e1");
  event.setActor("rutger");
  event.setDeployment("checkout-1");
  const char bad[] = {'s', 't', '\xc3', '\x28', '\0'};  // an invalid two-byte sequence
  event.initBody().initStepStarted().setStep(bad);
  auto result = Event::FromBuilder(event.asReader());
  ASSERT_CODE(result, StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("'step' is not valid UTF-8"));

  event.getBody().getStepStarted().setStep("東京-staging ✓");
  EXPECT_OK(Event::FromBuilder(event.asReader()));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
