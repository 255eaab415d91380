// ParsePolicy: a policy file's YAML into a checked Policy, or every error found in it.
//
// Two parts: what the event schema says a field path may be (by Cap'n Proto reflection on
// schemas/event.capnp, so a new kind or field needs no change here), and a walk over the YAML that
// checks every key and every reference against the grammar in policy.h. Errors are collected,
// never thrown, and reported in file order.
#include <capnp/schema.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <variant>

#include "ledger/crypto.h"
#include "ledger/event.h"
#include "ledger/event_schema.h"
#include "ledger/key_registry.h"
#include "policy/policy.h"
#include "policy/yaml_document.h"

namespace shiplog::policy {
namespace {

// A policy travels inside a policy.activated event or the genesis, whose record must stay under
// 64 KiB (a tlog-tiles entry bundle's limit, ledger_internal.h kMaxEntryBytes) with room to spare.
constexpr size_t kMaxPolicyBytes = 48 * 1024;
// Bounds on the walk, so aliases (&a / *a) cannot make a small file cost a lot.
constexpr int kMaxAnyOfDepth = 8;
constexpr int kMaxRequirements = 10000;

using event_schema::HasAnnotation;
using event_schema::JsonEnumName;
using event_schema::JsonFieldName;
using event_schema::kJsonMapAnnotation;

const char* const kBuiltins[] = {"chain-order", "halt", "owner", "one-at-a-time"};
const char* const kForms[] = {"builtin",
                              "event",
                              "request",
                              "any_of",
                              "no_open_incident",
                              "open_maintenance_window",
                              "image_pinned",
                              "canary",
                              "inside_calendar",
                              "outside_calendar",
                              "approvals",
                              "checklist"};
const char* const kWeekdays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
const char* const kEventModifiers[] = {"where", "by_role", "same_image", "older_than",
                                       "unless_later"};
const char* const kEnvelopeFields[] = {"id", "actor", "deployment"};

using capnp::StructSchema;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

template <size_t N>
std::vector<std::string> List(const char* const (&items)[N]) {
  return std::vector<std::string>(items, items + N);
}

// The names a section declares, for "not declared (these are)" messages.
template <typename Map>
std::vector<std::string> Keys(const Map& map) {
  std::vector<std::string> keys;
  for (const auto& entry : map) keys.push_back(entry.first);
  return keys;
}

// ---- the event schema ----

// Each kind's body struct, by its outside name.
const std::map<std::string, StructSchema>& KindStructs() {
  static const auto* const table = [] {
    auto* t = new std::map<std::string, StructSchema>();
    for (const auto& [kind, member] : event_schema::KindMembers()) {
      t->emplace(kind, member.getType().asStruct());
    }
    return t;
  }();
  return *table;
}

// What a field path leads to, as far as a value test cares.
struct FieldShape {
  enum class Type { kText, kBool, kNumber, kEnum, kList, kStruct, kAny };
  Type type = Type::kText;
  std::vector<std::string> enum_names;  // kEnum: kebab-case, without "unspecified"
};

FieldShape ShapeOf(capnp::Type type) {
  FieldShape shape;
  switch (type.which()) {
    case capnp::schema::Type::BOOL:
      shape.type = FieldShape::Type::kBool;
      break;
    case capnp::schema::Type::INT8:
    case capnp::schema::Type::INT16:
    case capnp::schema::Type::INT32:
    case capnp::schema::Type::INT64:
    case capnp::schema::Type::UINT8:
    case capnp::schema::Type::UINT16:
    case capnp::schema::Type::UINT32:
    case capnp::schema::Type::UINT64:
    case capnp::schema::Type::FLOAT32:
    case capnp::schema::Type::FLOAT64:
      shape.type = FieldShape::Type::kNumber;
      break;
    case capnp::schema::Type::ENUM:
      shape.type = FieldShape::Type::kEnum;
      for (auto e : type.asEnum().getEnumerants()) {
        std::string name = JsonEnumName(e);
        if (name != "unspecified") shape.enum_names.push_back(name);
      }
      break;
    case capnp::schema::Type::LIST:
      shape.type = FieldShape::Type::kList;
      break;
    case capnp::schema::Type::STRUCT:
      shape.type = FieldShape::Type::kStruct;
      break;
    default:
      shape.type = FieldShape::Type::kText;
      break;
  }
  return shape;
}

std::vector<std::string> FieldNames(StructSchema s) {
  std::vector<std::string> names;
  for (auto f : s.getFields()) names.push_back(JsonFieldName(f));
  return names;
}

std::vector<std::string> SplitDots(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = path.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(path.substr(start, dot - start));
  }
  parts.push_back(path.substr(start));
  return parts;
}

// The shape at `path` (JSON names, dotted) in the event `what` whose body is `s`, or a message
// saying which part is unknown. The envelope's id/actor/deployment exist for every kind.
std::variant<FieldShape, std::string> ResolveField(StructSchema s, const std::string& path,
                                                   const std::string& what) {
  std::vector<std::string> parts = SplitDots(path);
  if (parts.size() == 1 && Contains(List(kEnvelopeFields), path)) return FieldShape{};
  for (size_t i = 0; i < parts.size(); ++i) {
    std::optional<StructSchema::Field> found;
    for (auto field : s.getFields()) {
      if (JsonFieldName(field) == parts[i]) found = field;
    }
    if (!found) {
      std::string in = i == 0 ? what : what + " field '" + parts[i - 1] + "'";
      return "unknown field '" + parts[i] + "' in " + in +
             " (known: " + (i == 0 ? Join(List(kEnvelopeFields)) + ", " : std::string()) +
             Join(FieldNames(s)) + ")";
    }
    bool last = i + 1 == parts.size();
    FieldShape shape = ShapeOf(found->getType());
    if (last) return shape;
    if (HasAnnotation(*found, kJsonMapAnnotation) && i + 2 == parts.size()) {
      return FieldShape{FieldShape::Type::kAny, {}};  // a named entry of a {name: value} map
    }
    if (shape.type != FieldShape::Type::kStruct) {
      return "field '" + parts[i] + "' in " + what + " has no fields inside";
    }
    s = found->getType().asStruct();
  }
  return FieldShape{};
}

bool KindHasField(const std::string& kind, const std::string& field) {
  auto it = KindStructs().find(kind);
  return it != KindStructs().end() && Contains(FieldNames(it->second), field);
}

std::vector<std::string> KindsWithField(const std::string& field) {
  std::vector<std::string> kinds;
  for (const auto& kind : EventKindNames()) {
    if (KindHasField(kind, field)) kinds.push_back(kind);
  }
  return kinds;
}

// ---- scalars ----

// Role, step and environment names: what event.h allows for names, so they can be enrolled.
bool IsName(const std::string& s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string("._-:@/+").find(c) == std::string::npos) {
      return false;
    }
  }
  return true;
}

// "staging-soak": lowercase words joined by single dashes.
bool IsSlug(const std::string& s) {
  if (s.empty() || s.front() == '-' || s.back() == '-' || s.find("--") != std::string::npos) {
    return false;
  }
  for (char c : s) {
    if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-') return false;
  }
  return true;
}

// A field path: JSON names joined by dots ("changes.db_migration").
bool IsFieldPath(const std::string& s) {
  for (const auto& part : SplitDots(s)) {
    if (part.empty()) return false;
    for (char c : part) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    }
  }
  return true;
}

std::optional<double> ParseNumber(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

// "5" for 5.0, so an equality test reads like the event's JSON number.
std::string NumberText(double n, const std::string& written) {
  if (n == std::floor(n) && std::fabs(n) < 1e15) return std::to_string(static_cast<int64_t>(n));
  return written;
}

// ---- the walk ----

struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};
using Entries = std::map<std::string, Entry>;

// The mark of the node that starts last in the file, found in `latest`.
void LatestMark(const YAML::Node& node, std::optional<YAML::Mark>& latest) {
  const YAML::Mark mark = node.Mark();
  if (!mark.is_null() && (!latest || std::make_pair(mark.line, mark.column) >
                                         std::make_pair(latest->line, latest->column))) {
    latest = mark;
  }
  if (!node.IsSequence() && !node.IsMap()) return;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (node.IsMap()) {
      LatestMark(it->first, latest);
      LatestMark(it->second, latest);
    } else {
      LatestMark(*it, latest);
    }
  }
}

// Where a quoted string opens that is never closed, if one is. yaml-cpp reports "illegal EOF in
// scalar" only when the file ends mid-line; when it ends with a line break, it takes a quoted
// string still open there as closed at the end, swallowing every line after its opening quote. So
// the text is read again without its final line breaks: failing then with EOF_IN_SCALAR means a
// quote was left open, and it opened at the node of `root` that starts last (the open string runs
// to the end of the file, so no other node starts after it).
std::optional<YAML::Mark> UnclosedQuote(const std::string& text, const YAML::Node& root) {
  const size_t end = text.find_last_not_of("\r\n");
  if (end == std::string::npos || end + 1 == text.size()) return std::nullopt;  // no break at end
  try {
    YAML::Load(text.substr(0, end + 1));
    return std::nullopt;
  } catch (const YAML::Exception& e) {
    if (e.msg != YAML::ErrorMsg::EOF_IN_SCALAR) return std::nullopt;
    std::optional<YAML::Mark> latest;
    LatestMark(root, latest);
    return latest ? *latest : e.mark;
  }
}

class Parser : public YamlDocument {
 public:
  explicit Parser(std::string file) : YamlDocument(std::move(file)) {}

  ParseResult Parse(const std::string& text);

 private:
  // -- shapes --
  using YamlDocument::Where;
  Entries Fields(const YAML::Node& node, const std::string& what,
                 const std::vector<std::string>& allowed);
  std::vector<YAML::Node> ScalarOrSequence(const YAML::Node& node, const std::string& what);
  std::optional<std::string> Name(const YAML::Node& node, const std::string& what);
  std::optional<bool> Bool(const YAML::Node& node, const std::string& what);

  // -- references --
  std::optional<std::string> Kind(const YAML::Node& node);
  std::vector<std::string> KindOrGlob(const YAML::Node& node);
  std::optional<std::string> Role(const YAML::Node& node);
  std::optional<std::string> Step(const YAML::Node& node);
  std::optional<Micros> Duration(const YAML::Node& node);

  // -- value tests --
  std::optional<ValueTest> Test(const YAML::Node& node);
  std::optional<ValueTest> Comparison(const YAML::Node& node);
  void CheckTest(const YAML::Node& at, const std::string& field, const FieldShape& shape,
                 const ValueTest& test);
  FieldTests Tests(const YAML::Node& node, const std::string& what, StructSchema s,
                   const std::string& where_name);
  FieldTests Where(const YAML::Node& node, const std::string& kind);
  FieldTests Request(const YAML::Node& node);
  EventMatch Match(const Entries& fields, const YAML::Node& at);

  // -- the sections --
  void Top(const YAML::Node& root);
  void Version(const Entries& top, const YAML::Node& root);
  void Roles(const YAML::Node& node);
  void Chain(const YAML::Node& node);
  void Waivers(const YAML::Node& node);
  void Reads(const YAML::Node& node);
  void LimitsSection(const YAML::Node& node);
  std::optional<RateLimit> Limit(const YAML::Node& node, const std::string& what);
  std::optional<double> Positive(const YAML::Node& node, const std::string& what);
  std::optional<ReadGrant> Grant(const YAML::Node& node, const std::string& role);
  void Environments(const YAML::Node& node);
  std::vector<std::string> Names(const Entries& fields, const std::string& key,
                                 const std::string& what);
  void Calendars(const YAML::Node& node);
  void Checklists(const YAML::Node& node);
  std::optional<ChecklistItem> Item(const YAML::Node& node, const std::string& checklist);
  std::optional<WeeklyWindow> Weekly(const YAML::Node& node);
  std::optional<DateSpan> Dates(const YAML::Node& node);
  std::vector<int> Days(const YAML::Node& node);
  std::optional<int> TimeOfDay(const YAML::Node& node, bool end);
  std::optional<int64_t> LocalDateTime(const YAML::Node& node, bool end);
  void Rules(const YAML::Node& node);
  std::optional<Rule> ParseRule(const YAML::Node& node);
  std::string RuleId(const YAML::Node& node);
  std::string RuleName(const YAML::Node& node);
  void Require(const YAML::Node& node, Rule* rule);
  void On(const YAML::Node& node, Rule* rule);
  std::optional<std::string> EnvironmentName(const YAML::Node& node);
  void RequirementOn(const YAML::Node& node, const Rule& rule, Requirement* r);
  std::optional<Requirement> ParseRequirement(const YAML::Node& node, const Rule& rule,
                                              int depth);
  std::optional<std::string> FormOf(const Entries& fields, const YAML::Node& node);
  void Form(const std::string& form, const Entries& fields, const Rule& rule, int depth,
            Requirement* r);
  void EventForm(const Entries& fields, Requirement* r);
  void Canary(const YAML::Node& node, Requirement* r);
  void Approvals(const YAML::Node& node, Requirement* r);
  void Phases(const YAML::Node& node, Requirement* r);
  std::optional<CanaryPhase> Phase(const YAML::Node& node, uint32_t previous, bool last);
  void Analysis(const YAML::Node& node, Requirement* r);

  void Warn(const YAML::Node& at, std::string message) {
    warnings_.push_back(PolicyError{Where(at), std::move(message)});
  }

  Policy policy_;
  std::vector<PolicyError> warnings_;
  std::map<std::string, SourceLocation> rule_ids_;
  std::map<std::string, SourceLocation> rule_names_;
  int requirements_ = 0;
};

// The keys of a mapping, each checked against `allowed`; unknown and repeated keys are errors.
Entries Parser::Fields(const YAML::Node& node, const std::string& what,
                       const std::vector<std::string>& allowed) {
  Entries entries;
  if (!node.IsMap()) {
    Error(node,
          "expected " + what + " as a mapping (with " + Join(allowed) + "), got " + Describe(node));
    return entries;
  }
  for (const auto& [key, value] : Items(node)) {
    std::string name = key.IsScalar() ? key.Scalar() : "";
    if (!Contains(allowed, name)) {
      Error(key,
            "unknown key '" + name + "' in " + what + " (expected one of: " + Join(allowed) + ")");
    } else if (entries.count(name) != 0) {
      Error(key, "duplicate key '" + name + "' in " + what + " (first at line " +
                     std::to_string(Where(entries[name].key_node).line) + ")");
    } else {
      entries[name] = Entry{name, key, value};
    }
  }
  return entries;
}

const Entry* Find(const Entries& entries, const std::string& key) {
  auto it = entries.find(key);
  return it == entries.end() ? nullptr : &it->second;
}

std::vector<YAML::Node> Parser::ScalarOrSequence(const YAML::Node& node, const std::string& what) {
  if (node.IsScalar()) return {node};
  return Sequence(node, what);
}

std::optional<std::string> Parser::Name(const YAML::Node& node, const std::string& what) {
  auto text = Scalar(node, what);
  if (text && !IsName(*text)) {
    Error(node, "expected " + what + " (letters, digits and ._-:@/+), got '" + *text + "'");
    return std::nullopt;
  }
  return text;
}

std::optional<bool> Parser::Bool(const YAML::Node& node, const std::string& what) {
  std::string text = node.IsScalar() ? Lower(node.Scalar()) : "";
  if (text == "true") return true;
  if (text == "false") return false;
  Error(node, "expected true or false for " + what + ", got " + Describe(node));
  return std::nullopt;
}

std::optional<std::string> Parser::Kind(const YAML::Node& node) {
  auto kind = Scalar(node, "an event kind");
  if (!kind) return std::nullopt;
  if (KindStructs().count(*kind) == 0) {
    Error(node, "unknown event kind '" + *kind + "' (known: " + Join(EventKindNames()) + ")");
    return std::nullopt;
  }
  return kind;
}

// A kind, or a prefix glob ("rollback.*") expanded to the kinds it matches.
std::vector<std::string> Parser::KindOrGlob(const YAML::Node& node) {
  if (!node.IsScalar() || node.Scalar().empty() || node.Scalar().back() != '*') {
    auto kind = Kind(node);
    return kind ? std::vector<std::string>{*kind} : std::vector<std::string>{};
  }
  std::string prefix = node.Scalar().substr(0, node.Scalar().size() - 1);
  std::vector<std::string> kinds;
  for (const auto& kind : EventKindNames()) {
    if (kind.compare(0, prefix.size(), prefix) == 0) kinds.push_back(kind);
  }
  if (kinds.empty() || prefix.find('*') != std::string::npos) {
    Error(node, "the glob '" + node.Scalar() +
                    "' matches no event kind (known: " + Join(EventKindNames()) + ")");
  }
  return kinds;
}

std::optional<std::string> Parser::Role(const YAML::Node& node) {
  auto role = Scalar(node, "a role");
  if (role && policy_.roles.count(*role) == 0) {
    Error(node, "role '" + *role + "' is not declared under roles");
    return std::nullopt;
  }
  return role;
}

std::optional<std::string> Parser::Step(const YAML::Node& node) {
  auto step = Scalar(node, "a step of the chain");
  if (step && policy_.FindStep(*step) == nullptr) {
    std::vector<std::string> steps;
    for (const auto& s : policy_.chain) steps.push_back(s.step);
    Error(node, "step '" + *step + "' is not in the chain (" + Join(steps) + ")");
    return std::nullopt;
  }
  return step;
}

std::optional<Micros> Parser::Duration(const YAML::Node& node) {
  Result<Micros> d = node.IsScalar() ? ParseDuration(node.Scalar())
                                     : Result<Micros>(Status::InvalidArgument("not a scalar"));
  if (!d.ok()) {
    Error(node, "expected a duration like 15m, 1h30m, 90s, got " + Describe(node));
    return std::nullopt;
  }
  return *d;
}

// ---- value tests ----

std::optional<ValueTest> Parser::Comparison(const YAML::Node& node) {
  static const std::map<std::string, ValueTest::Op> kOps = {{"lt", ValueTest::Op::kLess},
                                                            {"le", ValueTest::Op::kLessOrEqual},
                                                            {"gt", ValueTest::Op::kGreater},
                                                            {"ge", ValueTest::Op::kGreaterOrEqual},
                                                            {"eq", ValueTest::Op::kEquals}};
  const std::string expected = "a comparison {lt|le|gt|ge|eq: NUMBER}";
  Entries fields = Fields(node, expected, {"lt", "le", "gt", "ge", "eq"});
  // Fields() has reported a non-mapping and unknown operators already.
  if (fields.size() > 1) {
    Error(node,
          "expected " + expected + " with one operator, got " + std::to_string(fields.size()));
  } else if (node.IsMap() && node.size() == 0) {
    Error(node, "expected " + expected + ", got an empty mapping");
  }
  if (fields.size() != 1) return std::nullopt;
  const Entry& entry = fields.begin()->second;
  auto number = entry.value.IsScalar() ? ParseNumber(entry.value.Scalar()) : std::nullopt;
  if (!number) {
    Error(entry.value, "expected a number after '" + entry.key + "', got " + Describe(entry.value));
    return std::nullopt;
  }
  ValueTest test;
  test.op = kOps.at(entry.key);
  test.number = *number;
  // eq is an equality test on the number's text, the way the engine compares scalars.
  if (test.op == ValueTest::Op::kEquals) test.values = {NumberText(*number, entry.value.Scalar())};
  return test;
}

std::optional<ValueTest> Parser::Test(const YAML::Node& node) {
  ValueTest test;
  if (node.IsMap()) return Comparison(node);
  if (node.IsScalar() && !node.Scalar().empty()) {
    test.op = node.Scalar() == "present" ? ValueTest::Op::kPresent : ValueTest::Op::kEquals;
    if (test.op == ValueTest::Op::kEquals) test.values = {node.Scalar()};
    return test;
  }
  if (node.IsSequence() && node.size() > 0) {
    test.op = ValueTest::Op::kOneOf;
    for (auto it = node.begin(); it != node.end(); ++it) {
      auto value = Scalar(*it, "a value (one of a list of scalars)");
      if (!value) return std::nullopt;
      test.values.push_back(*value);
    }
    return test;
  }
  Error(node,
        "expected a value test: a scalar, a list of scalars, present, or {lt|le|gt|ge|eq: "
        "NUMBER}, got " +
            Describe(node));
  return std::nullopt;
}

// Values the field can never hold are typos that would make a test silently never match.
void Parser::CheckTest(const YAML::Node& at, const std::string& field, const FieldShape& shape,
                       const ValueTest& test) {
  using Type = FieldShape::Type;
  bool comparison = test.op != ValueTest::Op::kEquals && test.op != ValueTest::Op::kOneOf &&
                    test.op != ValueTest::Op::kPresent;
  if (test.op == ValueTest::Op::kPresent) return;
  if (comparison || (test.op == ValueTest::Op::kEquals && at.IsMap())) {
    if (shape.type != Type::kNumber && shape.type != Type::kAny) {
      Error(at,
            "field '" + field + "' is not a number; compare it with a value, not lt/le/gt/ge/eq");
    }
    return;
  }
  for (const auto& value : test.values) {
    std::string problem;
    if (shape.type == Type::kEnum && !Contains(shape.enum_names, Lower(value))) {
      problem = "expected one of: " + Join(shape.enum_names);
    } else if (shape.type == Type::kBool && Lower(value) != "true" && Lower(value) != "false") {
      problem = "expected true or false";
    } else if (shape.type == Type::kNumber && !ParseNumber(value)) {
      problem = "expected a number";
    } else if (shape.type == Type::kList || shape.type == Type::kStruct) {
      problem = "a list or group of fields can only be tested with present";
    }
    if (!problem.empty()) {
      Error(at, "unknown value '" + value + "' for field '" + field + "' (" + problem + ")");
      return;
    }
  }
}

FieldTests Parser::Tests(const YAML::Node& node, const std::string& what, StructSchema s,
                         const std::string& where_name) {
  FieldTests tests;
  if (!node.IsMap()) {
    Error(node,
          "expected " + what + " as a mapping {FIELD: VALUE_TEST, ...}, got " + Describe(node));
    return tests;
  }
  for (const auto& [key, value] : Items(node)) {
    std::string field = key.IsScalar() ? key.Scalar() : "";
    if (!IsFieldPath(field)) {
      Error(key, "expected a field name in " + what +
                     " (a JSON name, dotted for nested fields), got " + Describe(key));
      continue;
    }
    auto shape = ResolveField(s, field, where_name);
    if (auto* problem = std::get_if<std::string>(&shape)) {
      Error(key, *problem);
      continue;
    }
    if (tests.count(field) != 0) {
      Error(key, "duplicate field '" + field + "' in " + what);
      continue;
    }
    auto test = Test(value);
    if (!test) continue;
    CheckTest(value, field, std::get<FieldShape>(shape), *test);
    tests[field] = *test;
  }
  return tests;
}

FieldTests Parser::Where(const YAML::Node& node, const std::string& kind) {
  return Tests(node, "where", KindStructs().at(kind), kind);
}

FieldTests Parser::Request(const YAML::Node& node) {
  return Tests(node, "a request test", KindStructs().at("deploy.requested"), "deploy.requested");
}

// {event: KIND, where: {...}}: the kind is read first, then where is checked against it.
EventMatch Parser::Match(const Entries& fields, const YAML::Node& at) {
  EventMatch match;
  const Entry* event = Find(fields, "event");
  const Entry* where = Find(fields, "where");
  if (event == nullptr) {
    Error(at, "missing 'event' (the event kind to look for)");
    return match;
  }
  auto kind = Kind(event->value);
  if (!kind) return match;
  if (*kind == "attestation.stored") {
    Error(event->value,
          "attestation.stored is opaque evidence (an in-toto predicate shiplog does not read): "
          "no rule can require or match it");
    return match;
  }
  match.kind = *kind;
  if (where != nullptr) match.where = Where(where->value, *kind);
  return match;
}

// ---- the sections ----

ParseResult Parser::Parse(const std::string& text) {
  if (text.size() > kMaxPolicyBytes) {
    Error(SourceLocation{file_, 1, 1}, "the policy is " + std::to_string(text.size()) +
                                           " bytes; the limit is " +
                                           std::to_string(kMaxPolicyBytes));
  } else {
    try {
      const YAML::Node root = YAML::Load(text);
      if (auto quote = UnclosedQuote(text, root)) {
        Error(Where(*quote), "YAML syntax error: a quoted string opened here is never closed (it "
                             "runs to the end of the file)");
      } else {
        Top(root);
      }
    } catch (const YAML::ParserException& e) {
      Error(Where(e.mark), "YAML syntax error: " + e.msg);
    } catch (const YAML::Exception& e) {
      Error(Where(e.mark), "cannot read the policy: " + e.msg);
    }
  }
  ParseResult result;
  std::stable_sort(errors_.begin(), errors_.end(), [](const PolicyError& a, const PolicyError& b) {
    return std::make_pair(a.where.line, a.where.column) <
           std::make_pair(b.where.line, b.where.column);
  });
  result.errors = std::move(errors_);
  result.warnings = std::move(warnings_);
  if (result.errors.empty()) {
    policy_.source = text;
    policy_.sha256_hex = HexEncode(AsBytes(Sha256(text)));
    result.policy = std::move(policy_);
  }
  return result;
}

void Parser::Top(const YAML::Node& root) {
  const std::vector<std::string> keys = {"shiplog_policy", "name",  "description",
                                         "roles",          "chain", "environments",
                                         "waivers",        "rules",        "reads",
                                         "limits",         "calendars",
                                         "checklists"};
  if (!root.IsMap()) {
    Error(root, "expected a policy: a mapping with " + Join(keys) + ", got " + Describe(root));
    return;
  }
  Entries top = Fields(root, "the policy", keys);
  Version(top, root);
  if (const Entry* name = Find(top, "name")) {
    if (auto text = Scalar(name->value, "the policy's name")) policy_.name = *text;
  } else {
    Error(root, "missing 'name' (the policy's name)");
  }
  if (const Entry* d = Find(top, "description")) {
    if (auto text = Scalar(d->value, "a description")) policy_.description = *text;
  }
  // Declarations before references: roles, then the chain, then rules, then waivers.
  if (const Entry* e = Find(top, "roles")) Roles(e->value);
  if (const Entry* e = Find(top, "chain")) Chain(e->value);
  if (const Entry* e = Find(top, "environments")) Environments(e->value);
  if (const Entry* e = Find(top, "calendars")) Calendars(e->value);
  if (const Entry* e = Find(top, "checklists")) Checklists(e->value);
  if (const Entry* e = Find(top, "rules")) Rules(e->value);
  if (const Entry* e = Find(top, "waivers")) Waivers(e->value);
  if (const Entry* e = Find(top, "reads")) Reads(e->value);
  if (const Entry* e = Find(top, "limits")) LimitsSection(e->value);
}

void Parser::Version(const Entries& top, const YAML::Node& root) {
  const Entry* version = Find(top, "shiplog_policy");
  if (version == nullptr) {
    Error(root, "missing 'shiplog_policy: 1' (the policy format version)");
  } else if (!version->value.IsScalar() || version->value.Scalar() != "1") {
    Error(version->value,
          "expected shiplog_policy: 1 (the only format version this shiplog "
          "reads), got " +
              Describe(version->value));
  }
}

void Parser::Roles(const YAML::Node& node) {
  if (!node.IsMap()) {
    Error(node, "expected roles as a mapping {ROLE: [KIND, ...], ...}, got " + Describe(node));
    return;
  }
  for (const auto& [key, value] : Items(node)) {
    auto role = Name(key, "a role name");
    if (!role) continue;
    if (policy_.roles.count(*role) != 0) {
      Error(key, "duplicate role '" + *role + "'");
      continue;
    }
    std::vector<std::string>& kinds = policy_.roles[*role];
    for (const YAML::Node& item : Sequence(value, "the event kinds of role '" + *role + "'")) {
      for (const auto& kind : KindOrGlob(item)) {
        if (!Contains(kinds, kind)) kinds.push_back(kind);
      }
    }
  }
}

void Parser::Chain(const YAML::Node& node) {
  for (const YAML::Node& item : Sequence(node, "the chain")) {
    Entries fields = Fields(item, "a chain step", {"step", "owner"});
    const Entry* step = Find(fields, "step");
    const Entry* owner = Find(fields, "owner");
    if (item.IsMap() && (step == nullptr || owner == nullptr)) {
      Error(item, "a chain step needs both 'step' and 'owner'");
    }
    if (step == nullptr || owner == nullptr) continue;
    auto name = Name(step->value, "a step name");
    auto role = Role(owner->value);
    if (!name) continue;
    if (policy_.FindStep(*name) != nullptr) {
      Error(step->value, "duplicate step '" + *name + "' in the chain");
      continue;
    }
    // Kept even with a bad owner, so rules naming the step are not reported as well.
    policy_.chain.push_back({*name, role.value_or("")});
  }
}

// The names listed under `key` (a scalar or a list), each checked as a name.
std::vector<std::string> Parser::Names(const Entries& fields, const std::string& key,
                                       const std::string& what) {
  std::vector<std::string> names;
  const Entry* entry = Find(fields, key);
  if (entry == nullptr) return names;
  for (const YAML::Node& item : ScalarOrSequence(entry->value, what)) {
    if (auto name = Name(item, what)) names.push_back(*name);
  }
  return names;
}

void Parser::Environments(const YAML::Node& node) {
  if (!node.IsMap()) {
    Error(node, "expected environments as a mapping {ENVIRONMENT: {step, namespaces, ...}}, got " +
                    Describe(node));
    return;
  }
  std::map<std::string, std::string> namespace_owner, github_owner, label_owner;
  for (const auto& [key, value] : Items(node)) {
    auto name = Name(key, "an environment name");
    if (!name) continue;
    if (policy_.environments.count(*name) != 0) {
      Error(key, "duplicate environment '" + *name + "'");
      continue;
    }
    const std::string what = "environment '" + *name + "'";
    Entries fields =
        Fields(value, what, {"step", "namespaces", "namespace_label", "github_environments"});
    EnvironmentBinding binding;
    binding.name = *name;
    if (const Entry* step = Find(fields, "step")) {
      binding.step = Step(step->value).value_or("");
    } else if (value.IsMap()) {
      Error(value, what + " needs 'step': the chain step a deploy to it applies");
    }
    binding.namespaces = Names(fields, "namespaces", "a Kubernetes namespace");
    binding.github_environments = Names(fields, "github_environments", "a GitHub environment");
    if (const Entry* label = Find(fields, "namespace_label")) {
      auto text = Scalar(label->value, "a namespace label KEY=VALUE");
      if (text && (text->find('=') == std::string::npos || text->front() == '=')) {
        Error(label->value, "expected a namespace label as KEY=VALUE (e.g. "
                            "shiplog.dev/environment=production), got '" + *text + "'");
      } else if (text) {
        binding.namespace_label = *text;
      }
    }
    // A structured binding cannot be captured in C++17 (clang refuses it): name it.
    const auto& where = value;
    auto claim = [&](std::map<std::string, std::string>& owners, const std::string& thing,
                     const std::string& kind) {
      auto [it, fresh] = owners.emplace(thing, *name);
      if (!fresh && it->second == *name) {
        Error(where, kind + " '" + thing + "' is listed twice in environment '" + *name + "'");
      } else if (!fresh) {
        Error(where, kind + " '" + thing + "' is bound to both environment '" + it->second +
                         "' and '" + *name + "'");
      }
    };
    for (const auto& ns : binding.namespaces) claim(namespace_owner, ns, "namespace");
    for (const auto& gh : binding.github_environments) claim(github_owner, gh, "GitHub environment");
    if (!binding.namespace_label.empty()) {
      claim(label_owner, binding.namespace_label, "namespace label");
    }
    policy_.environments.emplace(*name, std::move(binding));
  }
}

void Parser::Waivers(const YAML::Node& node) {
  Entries fields = Fields(node, "waivers", {"roles", "never"});
  if (const Entry* roles = Find(fields, "roles")) {
    for (const YAML::Node& item : Sequence(roles->value, "waivers.roles")) {
      if (auto role = Role(item)) policy_.waiver_roles.push_back(*role);
    }
  }
  if (const Entry* never = Find(fields, "never")) {
    for (const YAML::Node& item : Sequence(never->value, "waivers.never")) {
      auto id = Scalar(item, "a rule id");
      if (!id) continue;
      const Rule* rule = policy_.FindRule(*id);
      if (rule == nullptr) {
        Error(item, "rule '" + *id + "' in waivers.never is not defined");
      } else {
        policy_.never_waived.push_back(rule->id);  // a name is kept as the rule's id
      }
    }
  }
}

void Parser::Reads(const YAML::Node& node) {
  Entries fields = Fields(node, "reads", {"public", "roles"});
  if (const Entry* open = Find(fields, "public")) {
    policy_.reads.public_groups.clear();
    for (const YAML::Node& item : Sequence(open->value, "reads.public")) {
      auto group = Scalar(item, "a public route group");
      if (!group) continue;
      const std::vector<std::string> known(std::begin(kPublicReadGroups),
                                           std::end(kPublicReadGroups));
      if (!Contains(known, *group)) {
        Error(item, "unknown route group '" + *group + "' in reads.public (expected one of: " +
                        Join(known) + ")");
      } else if (policy_.reads.IsPublic(*group)) {
        Error(item, "route group '" + *group + "' is listed twice in reads.public");
      } else {
        policy_.reads.public_groups.push_back(*group);
      }
    }
  }
  const Entry* roles = Find(fields, "roles");
  if (roles == nullptr) return;
  if (!roles->value.IsMap()) {
    Error(roles->value, "expected reads.roles as a mapping {ROLE: all | proofs | {apps, "
                        "environments}}, got " + Describe(roles->value));
    return;
  }
  for (const auto& [key, value] : Items(roles->value)) {
    // admin is no declared role (the ledger gives it), but a policy may name it here.
    auto role = key.IsScalar() && key.Scalar() == kAdminRole ? std::optional(key.Scalar())
                                                              : Role(key);
    if (!role) continue;
    if (policy_.reads.roles.count(*role) != 0) {
      Error(key, "role '" + *role + "' is listed twice in reads.roles");
      continue;
    }
    if (auto grant = Grant(value, *role)) policy_.reads.roles.emplace(*role, std::move(*grant));
  }
}

// all | proofs | {apps: [...], environments: [...]}
std::optional<ReadGrant> Parser::Grant(const YAML::Node& node, const std::string& role) {
  ReadGrant grant;
  if (node.IsScalar() && (node.Scalar() == "all" || node.Scalar() == "proofs")) {
    grant.scope = node.Scalar() == "all" ? ReadGrant::Scope::kAll : ReadGrant::Scope::kProofs;
    return grant;
  }
  if (!node.IsMap()) {
    Error(node, "expected what role '" + role + "' may read: all, proofs or {apps: [...], "
                "environments: [...]}, got " + Describe(node));
    return std::nullopt;
  }
  Entries fields = Fields(node, "the reads of role '" + role + "'", {"apps", "environments"});
  grant.scope = ReadGrant::Scope::kDeployments;
  grant.apps = Names(fields, "apps", "an app");
  grant.environments = Names(fields, "environments", "an environment");
  if (Find(fields, "apps") == nullptr && Find(fields, "environments") == nullptr) {
    Error(node, "the reads of role '" + role + "' name no apps and no environments (for "
                "everything, write all)");
    return std::nullopt;
  }
  return grant;
}

void Parser::LimitsSection(const YAML::Node& node) {
  Entries fields = Fields(node, "limits", {"connection", "key", "roles"});
  if (const Entry* e = Find(fields, "connection")) {
    if (auto limit = Limit(e->value, "limits.connection")) policy_.limits.connection = *limit;
  }
  if (const Entry* e = Find(fields, "key")) {
    if (auto limit = Limit(e->value, "limits.key")) policy_.limits.key = *limit;
  }
  const Entry* roles = Find(fields, "roles");
  if (roles == nullptr) return;
  if (!roles->value.IsMap()) {
    Error(roles->value, "expected limits.roles as a mapping {ROLE: {rate: N, burst: N} | off}, "
                        "got " + Describe(roles->value));
    return;
  }
  for (const auto& [key, value] : Items(roles->value)) {
    auto role = key.IsScalar() && key.Scalar() == kAdminRole ? std::optional(key.Scalar())
                                                              : Role(key);
    if (!role) continue;
    if (policy_.limits.roles.count(*role) != 0) {
      Error(key, "role '" + *role + "' is listed twice in limits.roles");
      continue;
    }
    if (auto limit = Limit(value, "the limit of role '" + *role + "'")) {
      policy_.limits.roles.emplace(*role, *limit);
    }
  }
}

// {rate: N, burst: N} or off. A rate of 0 is refused: no limit is written `off`, on purpose.
std::optional<RateLimit> Parser::Limit(const YAML::Node& node, const std::string& what) {
  if (node.IsScalar() && node.Scalar() == "off") return RateLimit{};
  if (!node.IsMap()) {
    Error(node, "expected " + what + " as {rate: N, burst: N} (requests per second, and how "
                "many at once) or off, got " + Describe(node));
    return std::nullopt;
  }
  Entries fields = Fields(node, what, {"rate", "burst"});
  const Entry* rate = Find(fields, "rate");
  if (rate == nullptr) {
    Error(node, what + " needs 'rate' (requests per second; for no limit, write off)");
    return std::nullopt;
  }
  auto r = Positive(rate->value, what + "'s rate");
  if (!r) return std::nullopt;
  RateLimit limit{*r, *r * 2};
  if (const Entry* burst = Find(fields, "burst")) {
    auto b = Positive(burst->value, what + "'s burst");
    if (!b) return std::nullopt;
    if (*b < 1) {
      Error(burst->value, what + "'s burst must be at least 1 (one request), got " +
                              burst->value.Scalar());
      return std::nullopt;
    }
    limit.burst = *b;
  }
  return limit;
}

std::optional<double> Parser::Positive(const YAML::Node& node, const std::string& what) {
  auto text = Scalar(node, what);
  if (!text) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text->c_str(), &end);
  if (text->empty() || end != text->c_str() + text->size() || !std::isfinite(value) ||
      value <= 0) {
    Error(node, "expected " + what + " as a number above 0 (for no limit, write off), got '" +
                    *text + "'");
    return std::nullopt;
  }
  return value;
}

// ---- checklists ----

void Parser::Checklists(const YAML::Node& node) {
  if (!node.IsMap()) {
    Error(node, "expected checklists as a mapping {NAME: [{item: ..., event: ...}, ...], ...}, "
                "got " + Describe(node));
    return;
  }
  for (const auto& [key, value] : Items(node)) {
    auto name = Name(key, "a checklist name");
    if (!name) continue;
    if (policy_.checklists.count(*name) != 0) {
      Error(key, "duplicate checklist '" + *name + "'");
      continue;
    }
    std::vector<ChecklistItem>& items = policy_.checklists[*name];
    std::vector<YAML::Node> nodes = Sequence(value, "the items of checklist '" + *name + "'");
    if (value.IsSequence() && nodes.empty()) Error(value, "expected at least one item");
    for (const YAML::Node& item_node : nodes) {
      auto item = Item(item_node, *name);
      if (!item) continue;
      for (const ChecklistItem& earlier : items) {
        if (earlier.item == item->item) {
          Error(item_node, "duplicate item '" + item->item + "' in checklist '" + *name +
                               "' (first at line " + std::to_string(earlier.where.line) + ")");
        }
      }
      items.push_back(std::move(*item));
    }
  }
}

std::optional<ChecklistItem> Parser::Item(const YAML::Node& node, const std::string& checklist) {
  Entries fields =
      Fields(node, "a checklist item", {"item", "event", "where", "by_role", "same_image"});
  if (!node.IsMap()) return std::nullopt;
  ChecklistItem item;
  item.where = Where(node);
  const Entry* text = Find(fields, "item");
  if (text == nullptr) {
    Error(node, "a checklist item needs 'item' (what is to be done, in words)");
    return std::nullopt;
  }
  auto words = Scalar(text->value, "an item");
  if (!words) return std::nullopt;
  item.item = *words;
  const size_t errors_before = errors_.size();
  item.event = Match(fields, node);
  if (const Entry* role = Find(fields, "by_role")) {
    if (auto name = Role(role->value)) item.by_role = *name;
  }
  if (const Entry* same = Find(fields, "same_image")) {
    item.same_image = Bool(same->value, "same_image").value_or(false);
    if (item.same_image && !item.event.kind.empty() && !KindHasField(item.event.kind, "image")) {
      Error(same->key_node, "same_image needs a kind with an image (" +
                                Join(KindsWithField("image")) + "); '" + item.event.kind +
                                "' has none");
    }
  }
  if (errors_.size() != errors_before) return std::nullopt;
  // An item nobody may record can never be ticked: the checklist would block forever.
  bool emitted = false;
  for (const auto& [role, kinds] : policy_.roles) {
    if ((item.by_role.empty() || item.by_role == role) &&
        policy_.RoleMayEmit(role, item.event.kind)) {
      emitted = true;
    }
  }
  if (!emitted) {
    Warn(node, "item '" + item.item + "' of checklist '" + checklist + "' can never be done: " +
                   (item.by_role.empty() ? "no role" : "role " + item.by_role) + " may emit " +
                   item.event.kind);
  }
  return item;
}

// ---- calendars ----

void Parser::Calendars(const YAML::Node& node) {
  if (!node.IsMap()) {
    Error(node, "expected calendars as a mapping {NAME: {time_zone: ..., weekly: [...], "
                "dates: [...]}, ...}, got " + Describe(node));
    return;
  }
  for (const auto& [key, value] : Items(node)) {
    auto name = Name(key, "a calendar name");
    if (!name) continue;
    if (policy_.calendars.count(*name) != 0) {
      Error(key, "duplicate calendar '" + *name + "'");
      continue;
    }
    const std::string what = "calendar '" + *name + "'";
    Entries fields = Fields(value, what, {"time_zone", "weekly", "dates"});
    if (!value.IsMap()) continue;
    Calendar calendar;
    calendar.name = *name;
    if (const Entry* zone = Find(fields, "time_zone")) {
      if (auto text = Scalar(zone->value, "a time zone")) {
        calendar.time_zone = *text;
        calendar.zone = FindTimeZone(*text);
        calendar.PrepareOffsets();
        if (calendar.zone == nullptr) {
          Error(zone->value, "unknown time zone '" + *text +
                                 "' (not in the system's tz database; e.g. Europe/Amsterdam, "
                                 "America/New_York, UTC)");
        }
      }
    } else {
      Error(value, what + " needs 'time_zone' (e.g. Europe/Amsterdam)");
    }
    if (const Entry* weekly = Find(fields, "weekly")) {
      for (const YAML::Node& item : Sequence(weekly->value, what + "'s weekly windows")) {
        if (auto w = Weekly(item)) calendar.weekly.push_back(*w);
      }
    }
    if (const Entry* dates = Find(fields, "dates")) {
      for (const YAML::Node& item : Sequence(dates->value, what + "'s dates")) {
        if (auto span = Dates(item)) calendar.dates.push_back(*span);
      }
    }
    if (Find(fields, "weekly") == nullptr && Find(fields, "dates") == nullptr) {
      Error(value, what + " needs 'weekly' or 'dates' (its windows)");
    }
    policy_.calendars.emplace(*name, std::move(calendar));
  }
}

std::optional<WeeklyWindow> Parser::Weekly(const YAML::Node& node) {
  Entries fields = Fields(node, "a weekly window", {"days", "from", "to"});
  if (!node.IsMap()) return std::nullopt;
  const Entry* days = Find(fields, "days");
  const Entry* from = Find(fields, "from");
  const Entry* to = Find(fields, "to");
  if (days == nullptr || from == nullptr || to == nullptr) {
    Error(node, "a weekly window needs days, from and to ({days: mon-fri, from: \"09:00\", "
                "to: \"18:00\"})");
    return std::nullopt;
  }
  WeeklyWindow w;
  w.days = Days(days->value);
  auto start = TimeOfDay(from->value, false);
  auto end = TimeOfDay(to->value, true);
  if (w.days.empty() || !start || !end) return std::nullopt;
  w.from_minute = *start;
  w.to_minute = *end;
  if (w.to_minute <= w.from_minute) {
    Error(to->value, "the window ends (" + to->value.Scalar() + ") before it starts (" +
                         from->value.Scalar() +
                         "); a window past midnight is two windows, one each side of it");
    return std::nullopt;
  }
  return w;
}

// [mon, tue, ...] or a range "mon-fri" (it may wrap: "fri-mon").
std::vector<int> Parser::Days(const YAML::Node& node) {
  const auto day_index = [&](const YAML::Node& at, const std::string& text) -> std::optional<int> {
    for (int i = 0; i < 7; ++i) {
      if (Lower(text) == kWeekdays[i]) return i;
    }
    Error(at, "unknown day '" + text + "' (expected " + Join(List(kWeekdays)) +
                  ", or a range like mon-fri)");
    return std::nullopt;
  };
  std::vector<int> days;
  if (node.IsScalar() && node.Scalar().find('-') != std::string::npos) {
    const std::string text = node.Scalar();
    const size_t dash = text.find('-');
    auto first = day_index(node, text.substr(0, dash));
    auto last = first ? day_index(node, text.substr(dash + 1)) : std::nullopt;
    if (!first || !last) return {};
    for (int d = *first;; d = (d + 1) % 7) {
      days.push_back(d);
      if (d == *last) break;
    }
    return days;
  }
  for (const YAML::Node& item : ScalarOrSequence(node, "days")) {
    auto text = Scalar(item, "a day");
    if (!text) continue;
    if (auto d = day_index(item, *text)) {
      if (std::find(days.begin(), days.end(), *d) == days.end()) days.push_back(*d);
    }
  }
  return days;
}

// "HH:MM" as minutes after midnight; "24:00" only as an end.
std::optional<int> Parser::TimeOfDay(const YAML::Node& node, bool end) {
  const std::string text = node.IsScalar() ? node.Scalar() : "";
  int hour = -1, minute = -1;
  char rest = 0;
  const bool shaped = text.size() == 5 && text[2] == ':' &&
                      std::sscanf(text.c_str(), "%2d:%2d%c", &hour, &minute, &rest) == 2;
  const bool valid = shaped && minute >= 0 && minute < 60 &&
                     ((hour >= 0 && hour < 24) || (end && hour == 24 && minute == 0));
  if (!valid) {
    Error(node, std::string("expected a local time of day \"HH:MM\"") +
                    (end ? " (24:00 for the day's end)" : "") + ", got " + Describe(node));
    return std::nullopt;
  }
  return hour * 60 + minute;
}

// YYYY-MM-DD or YYYY-MM-DDTHH:MM, as minutes since 1970-01-01T00:00 on the calendar's clock. A
// date alone is its first minute, or as an end the first minute of the next day.
std::optional<int64_t> Parser::LocalDateTime(const YAML::Node& node, bool end) {
  const std::string text = node.IsScalar() ? node.Scalar() : "";
  int year = 0, month = 0, day = 0, hour = 0, minute = 0;
  char rest = 0;
  bool ok = false;
  if (text.size() == 10) {
    ok = std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &year, &month, &day, &rest) == 3;
  } else if (text.size() == 16 && text[10] == 'T') {
    ok = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d%c", &year, &month, &day, &hour, &minute,
                     &rest) == 5 &&
         hour < 24 && minute < 60;
  }
  const std::optional<int64_t> at =
      ok && year >= 1970 && month > 0 && day > 0
          ? LocalMinutesSinceEpoch(year, static_cast<unsigned>(month),
                                   static_cast<unsigned>(day), hour, minute)
          : std::nullopt;
  if (!at) {
    Error(node, "expected a local date YYYY-MM-DD or date and time YYYY-MM-DDTHH:MM, got " +
                    Describe(node));
    return std::nullopt;
  }
  const bool whole_day = text.size() == 10;
  return *at + (whole_day && end ? 1440 : 0);
}

std::optional<DateSpan> Parser::Dates(const YAML::Node& node) {
  Entries fields = Fields(node, "a date window", {"from", "to"});
  if (!node.IsMap()) return std::nullopt;
  const Entry* from = Find(fields, "from");
  const Entry* to = Find(fields, "to");
  if (from == nullptr || to == nullptr) {
    Error(node, "a date window needs from and to ({from: 2026-12-18, to: 2027-01-04})");
    return std::nullopt;
  }
  auto start = LocalDateTime(from->value, false);
  auto end = LocalDateTime(to->value, true);
  if (!start || !end) return std::nullopt;
  if (*end <= *start) {
    Error(to->value, "the window ends (" + to->value.Scalar() + ") before it starts (" +
                         from->value.Scalar() + ")");
    return std::nullopt;
  }
  return DateSpan{*start, *end};
}

void Parser::Rules(const YAML::Node& node) {
  for (const YAML::Node& item : Sequence(node, "rules")) {
    if (auto rule = ParseRule(item)) policy_.rules.push_back(std::move(*rule));
  }
}

std::optional<Rule> Parser::ParseRule(const YAML::Node& node) {
  Entries fields = Fields(node, "a rule", {"id", "name", "why", "on", "require"});
  if (!node.IsMap()) return std::nullopt;
  Rule rule;
  rule.where = Where(node);
  for (const char* required : {"id", "name", "on", "require"}) {
    if (Find(fields, required) == nullptr) {
      Error(node, std::string("a rule needs '") + required + "'");
    }
  }
  if (const Entry* id = Find(fields, "id")) rule.id = RuleId(id->value);
  if (const Entry* name = Find(fields, "name")) rule.name = RuleName(name->value);
  if (const Entry* why = Find(fields, "why")) {
    if (auto text = Scalar(why->value, "a sentence saying why")) rule.why = *text;
  }
  if (const Entry* on = Find(fields, "on")) On(on->value, &rule);
  if (const Entry* require = Find(fields, "require")) Require(require->value, &rule);
  // Kept even when it has errors (then no Policy is returned), so waivers.never can find it.
  return rule;
}

std::string Parser::RuleId(const YAML::Node& node) {
  auto id = Name(node, "a rule id such as R18");
  if (!id) return "";
  auto [first, fresh] = rule_ids_.emplace(*id, Where(node));
  if (!fresh) {
    Error(node, "duplicate rule id '" + *id + "' (first at line " +
                    std::to_string(first->second.line) + ")");
  }
  return *id;
}

std::string Parser::RuleName(const YAML::Node& node) {
  auto name = Scalar(node, "a rule name");
  if (!name) return "";
  if (!IsSlug(*name)) {
    Error(node, "expected a rule name in kebab-case like staging-soak, got '" + *name + "'");
    return "";
  }
  auto [first, fresh] = rule_names_.emplace(*name, Where(node));
  if (!fresh) {
    Error(node, "duplicate rule name '" + *name + "' (first at line " +
                    std::to_string(first->second.line) + ")");
  }
  return *name;
}

void Parser::Require(const YAML::Node& node, Rule* rule) {
  std::vector<YAML::Node> items = Sequence(node, "require");
  // A rule without requirements would allow everything it judges: surely a mistake.
  if (node.IsSequence() && items.empty()) {
    Error(node, "expected at least one requirement under require");
  }
  for (const YAML::Node& item : items) {
    if (auto r = ParseRequirement(item, *rule, 0)) rule->require.push_back(std::move(*r));
  }
}

void Parser::On(const YAML::Node& node, Rule* rule) {
  Entries fields = Fields(node, "on", {"kind", "step", "environment"});
  const Entry* kind = Find(fields, "kind");
  if (kind == nullptr) {
    if (node.IsMap()) Error(node, "on needs 'kind' (the event kinds the rule judges)");
    return;
  }
  for (const YAML::Node& item : ScalarOrSequence(kind->value, "on.kind")) {
    if (auto k = Kind(item)) rule->on_kinds.push_back(*k);
  }
  if (const Entry* env = Find(fields, "environment")) {
    for (const YAML::Node& item : ScalarOrSequence(env->value, "on.environment")) {
      if (auto e = EnvironmentName(item)) rule->on_environments.push_back(*e);
    }
  }
  const Entry* step = Find(fields, "step");
  if (step == nullptr) return;
  // A step narrows the step kinds; with none of them among the kinds it would narrow nothing.
  if (!rule->on_kinds.empty() &&
      std::none_of(rule->on_kinds.begin(), rule->on_kinds.end(),
                   [](const std::string& k) { return KindHasField(k, "step"); })) {
    Error(step->key_node, "on.step applies only to kinds with a step (" +
                              Join(KindsWithField("step")) + "); none of " +
                              Join(rule->on_kinds) + " has one");
    return;
  }
  for (const YAML::Node& item : ScalarOrSequence(step->value, "on.step")) {
    if (auto s = Step(item)) rule->on_steps.push_back(*s);
  }
}

// An environment a rule names: any name, or one declared under environments when the policy has
// that section (a typo there would make the rule judge nothing).
std::optional<std::string> Parser::EnvironmentName(const YAML::Node& node) {
  auto name = Name(node, "an environment");
  if (name && !policy_.environments.empty() && policy_.FindEnvironment(*name) == nullptr) {
    const std::vector<std::string> declared = Keys(policy_.environments);
    Error(node, "environment '" + *name + "' is not declared under environments (" +
                    Join(declared) + ")");
    return std::nullopt;
  }
  return name;
}

// A requirement's on: the rule's kinds it applies to.
void Parser::RequirementOn(const YAML::Node& node, const Rule& rule, Requirement* r) {
  Entries fields = Fields(node, "a requirement's on", {"kind"});
  const Entry* kind = Find(fields, "kind");
  if (kind == nullptr) {
    if (node.IsMap()) Error(node, "a requirement's on needs 'kind' (some of the rule's kinds)");
    return;
  }
  for (const YAML::Node& item : ScalarOrSequence(kind->value, "on.kind")) {
    auto k = Kind(item);
    if (!k) continue;
    if (!Contains(rule.on_kinds, *k)) {
      Error(item, "'" + *k + "' is not one of the kinds the rule judges (" +
                      Join(rule.on_kinds) + ")");
      continue;
    }
    r->on_kinds.push_back(*k);
  }
}

// ---- requirements ----

std::optional<Requirement> Parser::ParseRequirement(const YAML::Node& node, const Rule& rule,
                                                    int depth) {
  if (++requirements_ > kMaxRequirements || depth > kMaxAnyOfDepth) {
    Error(node, "too many or too deeply nested requirements (any_of nests at most " +
                    std::to_string(kMaxAnyOfDepth) + " deep)");
    return std::nullopt;
  }
  std::vector<std::string> allowed = {"if", "on"};
  for (const auto& list : {List(kForms), List(kEventModifiers)}) {
    allowed.insert(allowed.end(), list.begin(), list.end());
  }
  Entries fields = Fields(node, "a requirement", allowed);
  if (!node.IsMap()) return std::nullopt;
  size_t errors_before = errors_.size();
  Requirement r;
  r.where = Where(node);
  auto form = FormOf(fields, node);
  if (!form) return std::nullopt;
  if (const Entry* when = Find(fields, "if")) r.when_request = Request(when->value);
  if (const Entry* on = Find(fields, "on")) RequirementOn(on->value, rule, &r);
  Form(*form, fields, rule, depth, &r);
  if (errors_.size() != errors_before) return std::nullopt;
  return r;
}

// The one form key of a requirement; event modifiers belong to the event form only.
std::optional<std::string> Parser::FormOf(const Entries& fields, const YAML::Node& node) {
  std::vector<const Entry*> forms;
  for (const auto& form : List(kForms)) {
    if (const Entry* e = Find(fields, form)) forms.push_back(e);
  }
  if (forms.empty()) {
    Error(node, "a requirement needs exactly one of: " + Join(List(kForms)));
    return std::nullopt;
  }
  // Two forms in one entry: report at the later one, where the second was written.
  std::sort(forms.begin(), forms.end(), [this](const Entry* a, const Entry* b) {
    return Where(a->key_node).line * 10000 + Where(a->key_node).column <
           Where(b->key_node).line * 10000 + Where(b->key_node).column;
  });
  if (forms.size() > 1) {
    Error(forms[1]->key_node, "a requirement has one form, but this one has both '" +
                                  forms[0]->key + "' and '" + forms[1]->key +
                                  "'; write each as its own list entry");
    return std::nullopt;
  }
  bool ok = true;
  for (const auto& modifier : List(kEventModifiers)) {
    const Entry* e = Find(fields, modifier);
    if (e != nullptr && forms[0]->key != "event") {
      Error(e->key_node, "'" + modifier + "' applies only to an 'event' requirement");
      ok = false;
    }
  }
  return ok ? std::optional<std::string>(forms[0]->key) : std::nullopt;
}

void Parser::Form(const std::string& form, const Entries& fields, const Rule& rule, int depth,
                  Requirement* r) {
  const YAML::Node& value = fields.at(form).value;
  if (form == "builtin") {
    r->type = Requirement::Type::kBuiltin;
    auto name = Scalar(value, "a builtin");
    if (name && !Contains(List(kBuiltins), *name)) {
      Error(value, "unknown builtin '" + *name + "' (known: " + Join(List(kBuiltins)) + ")");
    } else if (name) {
      r->builtin = *name;
    }
  } else if (form == "event") {
    EventForm(fields, r);
  } else if (form == "request") {
    r->type = Requirement::Type::kRequest;
    r->request = Request(value);
    if (value.IsMap() && value.size() == 0) Error(value, "expected at least one request field");
  } else if (form == "any_of") {
    r->type = Requirement::Type::kAnyOf;
    std::vector<YAML::Node> items = Sequence(value, "any_of");
    if (value.IsSequence() && items.empty()) Error(value, "expected at least one requirement");
    for (const YAML::Node& item : items) {
      if (auto nested = ParseRequirement(item, rule, depth + 1)) {
        r->any_of.push_back(std::move(*nested));
      }
    }
  } else if (form == "no_open_incident" || form == "open_maintenance_window") {
    r->type = form == "no_open_incident" ? Requirement::Type::kNoOpenIncident
                                         : Requirement::Type::kOpenMaintenanceWindow;
    if (auto env = Name(value, "an environment")) r->environment = *env;
  } else if (form == "inside_calendar" || form == "outside_calendar") {
    r->type = form == "inside_calendar" ? Requirement::Type::kInsideCalendar
                                        : Requirement::Type::kOutsideCalendar;
    auto name = Scalar(value, "a calendar");
    if (name && policy_.calendars.count(*name) == 0) {
      const std::vector<std::string> declared = Keys(policy_.calendars);
      Error(value, "calendar '" + *name + "' is not declared under calendars" +
                       (declared.empty() ? std::string() : " (" + Join(declared) + ")"));
    } else if (name) {
      r->calendar = *name;
    }
  } else if (form == "checklist") {
    r->type = Requirement::Type::kChecklist;
    auto name = Scalar(value, "a checklist");
    if (name && policy_.checklists.count(*name) == 0) {
      const std::vector<std::string> declared = Keys(policy_.checklists);
      Error(value, "checklist '" + *name + "' is not declared under checklists" +
                       (declared.empty() ? std::string() : " (" + Join(declared) + ")"));
    } else if (name) {
      r->checklist = *name;
    }
  } else if (form == "approvals") {
    Approvals(value, r);
  } else if (form == "image_pinned") {
    r->type = Requirement::Type::kImagePinned;
    auto pinned = Bool(value, "image_pinned");
    if (pinned && !*pinned) Error(value, "image_pinned takes only true (leave it out otherwise)");
  } else {
    Canary(value, r);
  }
}

void Parser::EventForm(const Entries& fields, Requirement* r) {
  r->type = Requirement::Type::kEvent;
  const YAML::Node& at = fields.at("event").key_node;
  r->event = Match(fields, at);
  if (const Entry* role = Find(fields, "by_role")) {
    if (auto name = Role(role->value)) r->by_role = *name;
  }
  if (const Entry* same = Find(fields, "same_image")) {
    r->same_image = Bool(same->value, "same_image").value_or(false);
    if (r->same_image && !r->event.kind.empty() && !KindHasField(r->event.kind, "image")) {
      Error(same->key_node, "same_image needs a kind with an image (" +
                                Join(KindsWithField("image")) + "); '" + r->event.kind +
                                "' has none");
    }
  }
  if (const Entry* older = Find(fields, "older_than")) {
    if (auto d = Duration(older->value)) r->older_than = *d;
  }
  if (const Entry* unless = Find(fields, "unless_later")) {
    for (const YAML::Node& item : Sequence(unless->value, "unless_later")) {
      Entries match = Fields(item, "an unless_later entry", {"event", "where"});
      if (item.IsMap()) r->unless_later.push_back(Match(match, item));
    }
  }
}

void Parser::Approvals(const YAML::Node& node, Requirement* r) {
  r->type = Requirement::Type::kApprovals;
  Entries fields = Fields(node, "approvals", {"count", "event", "where", "by_role", "not_by"});
  if (!node.IsMap()) return;
  const Entry* count = Find(fields, "count");
  std::optional<double> n =
      count && count->value.IsScalar() ? ParseNumber(count->value.Scalar()) : std::nullopt;
  if (!n || *n != std::floor(*n) || *n < 1 || *n > 1000) {
    Error(count ? count->value : node, "approvals needs a count: a whole number 1..1000");
  } else {
    r->approvals = static_cast<uint32_t>(*n);
  }
  const Entry* event = Find(fields, "event");
  const Entry* where = Find(fields, "where");
  r->event.kind = "review";
  if (event != nullptr) {
    auto kind = Kind(event->value);
    if (!kind) return;
    if (!KindHasField(*kind, "image")) {
      Error(event->value, "approvals are bound to the image, so their kind needs an image field (" +
                              Join(KindsWithField("image")) + "); '" + *kind + "' has none");
      return;
    }
    r->event.kind = *kind;
  }
  if (where != nullptr) r->event.where = Where(where->value, r->event.kind);
  if (const Entry* roles = Find(fields, "by_role")) {
    for (const YAML::Node& item : ScalarOrSequence(roles->value, "by_role")) {
      if (auto role = Role(item)) r->approver_roles.push_back(*role);
    }
  }
  if (const Entry* not_by = Find(fields, "not_by")) {
    for (const YAML::Node& item : ScalarOrSequence(not_by->value, "not_by")) {
      auto who = Scalar(item, "requester or builder");
      if (!who) continue;
      if (*who != "requester" && *who != "builder") {
        Error(item, "unknown '" + *who + "' in not_by (expected requester, builder)");
        continue;
      }
      r->not_by.push_back(*who);
    }
  }
  // Approvals no role may give can never be counted: a policy that parses but blocks forever.
  const std::vector<std::string>& roles = r->approver_roles;
  std::vector<std::string> givers;
  for (const auto& [role, kinds] : policy_.roles) {
    const bool listed = roles.empty() || Contains(roles, role);
    if (listed && policy_.RoleMayEmit(role, r->event.kind)) givers.push_back(role);
  }
  if (givers.empty()) {
    Warn(count ? count->value : node,
         std::to_string(r->approvals) + " approvals can never be given: " +
             (roles.empty() ? "no role" : "none of " + Join(roles)) + " may emit " +
             r->event.kind);
  }
}

void Parser::Canary(const YAML::Node& node, Requirement* r) {
  r->type = Requirement::Type::kCanary;
  Entries fields = Fields(node, "canary", {"phases", "analysis"});
  if (const Entry* phases = Find(fields, "phases")) {
    Phases(phases->value, r);
  } else if (node.IsMap()) {
    Error(node, "canary needs 'phases'");
  }
  if (const Entry* analysis = Find(fields, "analysis")) Analysis(analysis->value, r);
}

// Weights 1..100, strictly increasing, ending at 100; every phase but the last is held.
void Parser::Phases(const YAML::Node& node, Requirement* r) {
  std::vector<YAML::Node> items = Sequence(node, "canary phases");
  if (node.IsSequence() && items.empty()) Error(node, "expected at least one canary phase");
  for (size_t i = 0; i < items.size(); ++i) {
    uint32_t previous = r->phases.empty() ? 0 : r->phases.back().weight;
    if (auto phase = Phase(items[i], previous, i + 1 == items.size())) r->phases.push_back(*phase);
  }
}

// One phase, after one of weight `previous` (0 for the first).
std::optional<CanaryPhase> Parser::Phase(const YAML::Node& node, uint32_t previous, bool last) {
  Entries fields = Fields(node, "a canary phase", {"weight", "hold"});
  if (!node.IsMap()) return std::nullopt;
  const Entry* weight = Find(fields, "weight");
  const Entry* hold = Find(fields, "hold");
  std::optional<double> w =
      weight && weight->value.IsScalar() ? ParseNumber(weight->value.Scalar()) : std::nullopt;
  if (!w || *w != std::floor(*w) || *w < 1 || *w > 100) {
    Error(weight ? weight->value : node, "expected a weight: a whole percent 1..100");
    return std::nullopt;
  }
  CanaryPhase phase;
  phase.weight = static_cast<uint32_t>(*w);
  if (phase.weight <= previous) {
    Error(weight->value, "canary weights must increase: " + std::to_string(phase.weight) +
                             " after " + std::to_string(previous));
  }
  if (last && phase.weight != 100) {
    Error(weight->value,
          "the last canary phase must have weight 100, got " + std::to_string(phase.weight));
  }
  std::optional<Micros> held = hold ? Duration(hold->value) : std::optional<Micros>(0);
  if (!held) return phase;  // Duration() said why
  phase.hold = *held;
  if (!last && phase.hold <= 0) {
    Error(hold ? hold->value : node,
          "a canary phase before the last needs a hold: a duration like 15m, above zero");
  }
  if (last && phase.hold > 0) {
    Error(hold->value, "the last canary phase takes no hold: nothing comes after it");
  }
  return phase;
}

void Parser::Analysis(const YAML::Node& node, Requirement* r) {
  Entries fields = Fields(node, "canary analysis", {"event", "where", "metrics"});
  if (!node.IsMap()) return;
  r->analysis = Match(fields, node);
  const Entry* metrics = Find(fields, "metrics");
  if (metrics == nullptr || r->analysis.kind.empty()) return;
  if (!metrics->value.IsMap()) {
    Error(metrics->value,
          "expected metrics as a mapping {NAME: {lt|le|gt|ge|eq: NUMBER}, ...}, "
          "got " +
              Describe(metrics->value));
    return;
  }
  for (const auto& [key, value] : Items(metrics->value)) {
    std::string name = key.IsScalar() ? key.Scalar() : "";
    auto shape =
        ResolveField(KindStructs().at(r->analysis.kind), "metrics." + name, r->analysis.kind);
    if (auto* problem = std::get_if<std::string>(&shape)) {
      Error(key, "metric '" + name + "': " + *problem);
      continue;
    }
    if (!value.IsMap()) {
      Error(value, "expected a comparison {lt|le|gt|ge|eq: NUMBER} for metric '" + name +
                       "', got " + Describe(value));
      continue;
    }
    if (auto test = Comparison(value)) r->analysis_metrics[name] = *test;
  }
}

}  // namespace

ParseResult ParsePolicy(const std::string& text, const std::string& file) {
  return Parser(file).Parse(text);
}

}  // namespace shiplog::policy
