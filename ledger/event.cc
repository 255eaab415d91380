// Event: canonical bytes, validation against the schema, and the JSON mapping by reflection.
#include "ledger/event.h"

#include <capnp/dynamic.h>
#include <capnp/schema.h>
#include <kj/exception.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <optional>

#include "ledger/canonical.h"
#include "ledger/event_schema.h"
#include "ledger/clock.h"
#include "ledger/dsse.h"
#include "ledger/dsse_event.h"

namespace shiplog {
namespace {

using namespace event_schema;  // the schema mapping: kinds, names, annotations

constexpr size_t kMaxNameBytes = 256;

using capnp::DynamicStruct;
using capnp::StructSchema;
using nlohmann::json;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// ---- JSON -> builder ----

class JsonReader {
 public:
  Status Fill(DynamicStruct::Builder target, const json& object, const std::string& where,
              const std::vector<std::string>& skip);

 private:
  Status SetField(DynamicStruct::Builder target, StructSchema::Field field, const json& value,
                  const std::string& where);
  Status SetList(DynamicStruct::Builder target, StructSchema::Field field, const json& value,
                 const std::string& where);
  Result<capnp::DynamicEnum> ParseEnum(capnp::EnumSchema schema, const json& value,
                                       const std::string& where);
};

Status TypeError(const std::string& where, const char* expected) {
  return Status::InvalidArgument("field '" + where + "' must be " + expected);
}

Status JsonReader::Fill(DynamicStruct::Builder target, const json& object,
                        const std::string& where, const std::vector<std::string>& skip) {
  if (!object.is_object()) return TypeError(where.empty() ? "event" : where, "a JSON object");
  StructSchema schema = target.getSchema();
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(skip.begin(), skip.end(), it.key()) != skip.end()) continue;
    std::string path = where.empty() ? it.key() : where + "." + it.key();
    bool found = false;
    for (auto field : schema.getNonUnionFields()) {
      if (JsonFieldName(field) != it.key()) continue;
      found = true;
      SHIPLOG_RETURN_IF_ERROR(SetField(target, field, it.value(), path));
    }
    if (!found) {
      std::string known;
      for (auto field : schema.getNonUnionFields()) {
        known += (known.empty() ? "" : ", ") + JsonFieldName(field);
      }
      return Status::InvalidArgument("unknown field '" + path + "' (known here: " + known + ")");
    }
  }
  // Numbers and booleans have no "empty" in the binary form, so presence is checked here.
  for (auto field : schema.getNonUnionFields()) {
    if (HasAnnotation(field, kRequiredAnnotation) && !object.contains(JsonFieldName(field))) {
      return Status::InvalidArgument("missing field '" + JsonFieldName(field) + "'");
    }
  }
  return Status::Ok();
}

Status JsonReader::SetField(DynamicStruct::Builder target, StructSchema::Field field,
                            const json& value, const std::string& where) {
  using W = capnp::schema::Type::Which;
  if (value.is_null()) return Status::Ok();
  capnp::Type type = field.getType();
  switch (type.which()) {
    case W::TEXT: {
      if (!value.is_string()) return TypeError(where, "a string");
      const auto& s = value.get_ref<const std::string&>();
      if (!s.empty()) target.set(field, capnp::Text::Reader(s.c_str(), s.size()));
      return Status::Ok();
    }
    case W::DATA: {
      if (!value.is_string()) return TypeError(where, "a string");
      auto raw = HasAnnotation(field, kHexAnnotation) ? HexDecode(value.get<std::string>())
                                                      : Base64Decode(value.get<std::string>());
      if (!raw.ok()) return raw.status().Prefixed("field '" + where + "'");
      if (!raw->empty()) {
        target.set(field, capnp::Data::Reader(reinterpret_cast<const kj::byte*>(raw->data()),
                                              raw->size()));
      }
      return Status::Ok();
    }
    case W::BOOL:
      if (!value.is_boolean()) return TypeError(where, "true or false");
      target.set(field, value.get<bool>());
      return Status::Ok();
    case W::INT64:
      if (HasAnnotation(field, kTimeAnnotation)) {
        if (!value.is_string()) return TypeError(where, "an RFC 3339 time string");
        auto t = ParseTime(value.get<std::string>());
        if (!t.ok()) return t.status().Prefixed("field '" + where + "'");
        target.set(field, *t);
        return Status::Ok();
      }
      if (!value.is_number_integer()) return TypeError(where, "an integer");
      target.set(field, value.get<int64_t>());
      return Status::Ok();
    case W::UINT8:
    case W::UINT16:
    case W::UINT32:
    case W::UINT64: {
      uint64_t max = type.which() == W::UINT8    ? 0xff
                     : type.which() == W::UINT16 ? 0xffff
                     : type.which() == W::UINT32 ? 0xffffffffull
                                                 : ~0ull;
      if (!value.is_number_integer() ||
          (value.is_number_unsigned() ? value.get<uint64_t>() > max : value.get<int64_t>() < 0 ||
                                                                       static_cast<uint64_t>(value.get<int64_t>()) > max)) {
        return Status::InvalidArgument("field '" + where + "' must be a whole number from 0 to " +
                                       std::to_string(max));
      }
      target.set(field, value.get<uint64_t>());
      return Status::Ok();
    }
    case W::FLOAT64:
      if (!value.is_number()) return TypeError(where, "a number");
      target.set(field, value.get<double>());
      return Status::Ok();
    case W::ENUM: {
      SHIPLOG_ASSIGN_OR_RETURN(auto e, ParseEnum(type.asEnum(), value, where));
      target.set(field, e);
      return Status::Ok();
    }
    case W::STRUCT:
      return Fill(target.init(field).as<DynamicStruct>(), value, where, {});
    case W::LIST:
      return SetList(target, field, value, where);
    default:
      return Status::Internal("field '" + where + "' has a type the JSON mapping does not cover");
  }
}

Status JsonReader::SetList(DynamicStruct::Builder target, StructSchema::Field field,
                           const json& value, const std::string& where) {
  capnp::Type element = field.getType().asList().getElementType();
  if (HasAnnotation(field, kJsonMapAnnotation)) {
    // {"name": number, ...} -> List({name, value})
    if (!value.is_object()) return TypeError(where, "a JSON object of names to numbers");
    if (value.empty()) return Status::Ok();
    auto list = target.init(field, value.size()).as<capnp::DynamicList>();
    uint32_t i = 0;
    for (auto it = value.begin(); it != value.end(); ++it, ++i) {
      if (!it.value().is_number()) return TypeError(where + "." + it.key(), "a number");
      auto item = list[i].as<DynamicStruct>();
      item.set("name", capnp::Text::Reader(it.key().c_str(), it.key().size()));
      item.set("value", it.value().get<double>());
    }
    return Status::Ok();
  }
  if (!value.is_array()) return TypeError(where, "a JSON array");
  if (value.empty()) return Status::Ok();
  if (element.which() != capnp::schema::Type::TEXT) {
    return Status::Internal("field '" + where + "': only lists of text map to JSON arrays");
  }
  auto list = target.init(field, value.size()).as<capnp::DynamicList>();
  for (uint32_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) return TypeError(where + "[" + std::to_string(i) + "]", "a string");
    const auto& s = value[i].get_ref<const std::string&>();
    list.set(i, capnp::Text::Reader(s.c_str(), s.size()));
  }
  return Status::Ok();
}

Result<capnp::DynamicEnum> JsonReader::ParseEnum(capnp::EnumSchema schema, const json& value,
                                                 const std::string& where) {
  std::string names;
  for (auto e : schema.getEnumerants()) {
    std::string name = JsonEnumName(e);
    if (value.is_string() && Lower(value.get<std::string>()) == name) return capnp::DynamicEnum(e);
    if (name != "unspecified") names += (names.empty() ? "" : ", ") + name;
  }
  return Status::InvalidArgument("field '" + where + "' must be one of: " + names);
}

// ---- reading a record's fields by plan ----

// A struct's fields are read from its sections at the offsets the plan keeps: a section shorter
// than the schema's (canonical form trims zeros and nulls) reads as the zero default.
using capnp::AnyStruct;

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "data sections are read in place");

template <typename T>
T DataField(AnyStruct::Reader s, uint32_t offset) {
  auto data = s.getDataSection();
  const size_t at = size_t{offset} * sizeof(T);
  T value{};
  if (at + sizeof(T) <= data.size()) std::memcpy(&value, data.begin() + at, sizeof(T));
  return value;
}

bool BoolField(AnyStruct::Reader s, uint32_t offset) {
  return (DataField<uint8_t>(s, offset / 8) >> (offset % 8)) & 1;
}

capnp::AnyPointer::Reader PointerField(AnyStruct::Reader s, uint32_t index) {
  auto pointers = s.getPointerSection();
  return index < pointers.size() ? pointers[index] : capnp::AnyPointer::Reader();
}

// A list of structs ($jsonMap's elements), read as laid out.
capnp::List<AnyStruct>::Reader StructListField(AnyStruct::Reader s, const FieldPlan& f) {
  auto pointer = PointerField(s, f.offset);
  if (pointer.isNull()) return {};
  return pointer.getAs<capnp::AnyList>().as<capnp::List<AnyStruct>>();
}

capnp::Text::Reader TextField(AnyStruct::Reader s, const FieldPlan& f) {
  return PointerField(s, f.offset).getAs<capnp::Text>();
}

// The field's bits as an unsigned number: what "set" means for numbers, booleans and enums.
uint64_t RawBits(AnyStruct::Reader s, const FieldPlan& f) {
  using W = capnp::schema::Type::Which;
  switch (f.type) {
    case W::BOOL: return BoolField(s, f.offset);
    case W::UINT8: return DataField<uint8_t>(s, f.offset);
    case W::UINT16: case W::ENUM: return DataField<uint16_t>(s, f.offset);
    case W::UINT32: return DataField<uint32_t>(s, f.offset);
    case W::INT64: case W::UINT64: case W::FLOAT64: return DataField<uint64_t>(s, f.offset);
    default: return 0;
  }
}

// Whether the field differs from its default: a non-null pointer, or non-zero bits.
bool FieldSet(AnyStruct::Reader s, const FieldPlan& f) {
  return f.is_pointer() ? !PointerField(s, f.offset).isNull() : RawBits(s, f) != 0;
}

size_t PointerSize(AnyStruct::Reader s, const FieldPlan& f) {
  using W = capnp::schema::Type::Which;
  auto p = PointerField(s, f.offset);
  switch (f.type) {
    case W::TEXT: return p.getAs<capnp::Text>().size();
    case W::DATA: return p.getAs<capnp::Data>().size();
    case W::LIST: return p.isNull() ? 0 : p.getAs<capnp::AnyList>().size();
    default: return 0;
  }
}

bool KnownEnum(AnyStruct::Reader s, const FieldPlan& f) {
  return DataField<uint16_t>(s, f.offset) < f.enum_names.size();
}

// An enum at "unspecified", or at a number the schema does not know.
bool IsUnspecified(AnyStruct::Reader s, const FieldPlan& f) {
  const uint16_t value = DataField<uint16_t>(s, f.offset);
  return value >= f.enum_names.size() || f.enum_names[value] == "unspecified";
}

// The event's body member struct: the pointer its kind selects.
AnyStruct::Reader MemberStruct(schema::Event::Reader event, const KindPlan& kind) {
  return PointerField(AnyStruct::Reader(event), kind.pointer).getAs<AnyStruct>();
}

const KindPlan* KindOf(schema::Event::Reader event) {
  return KindPlanFor(static_cast<uint16_t>(event.getBody().which()));
}

// ---- reader -> JSON ----

json ValueToJson(AnyStruct::Reader parent, const FieldPlan& f);

json StructToJson(const StructPlan& plan, AnyStruct::Reader s) {
  json out = json::object();
  for (const FieldPlan& f : plan.fields) {
    // Required fields always appear, even at their zero value (a traffic weight of 0).
    if (!f.required && !FieldSet(s, f)) continue;
    out[f.json_name] = ValueToJson(s, f);
  }
  return out;
}

json ValueToJson(AnyStruct::Reader parent, const FieldPlan& f) {
  using W = capnp::schema::Type::Which;
  switch (f.type) {
    case W::TEXT: {
      auto text = TextField(parent, f);
      return std::string(text.cStr(), text.size());
    }
    case W::DATA: {
      auto d = PointerField(parent, f.offset).getAs<capnp::Data>();
      std::string_view raw(reinterpret_cast<const char*>(d.begin()), d.size());
      return f.hex ? HexEncode(raw) : Base64Encode(raw);
    }
    case W::BOOL: return BoolField(parent, f.offset);
    case W::INT64: {
      const auto value = DataField<int64_t>(parent, f.offset);
      if (f.time) return FormatTime(value);
      return value;
    }
    case W::UINT8:
    case W::UINT16:
    case W::UINT32:
    case W::UINT64: return RawBits(parent, f);
    case W::FLOAT64: return DataField<double>(parent, f.offset);
    case W::ENUM: {
      const uint16_t value = DataField<uint16_t>(parent, f.offset);
      if (value < f.enum_names.size()) return f.enum_names[value];
      return value;
    }
    case W::STRUCT:
      return StructToJson(*f.child, PointerField(parent, f.offset).getAs<AnyStruct>());
    case W::LIST: {
      if (f.json_map) {
        json out = json::object();
        for (auto item : StructListField(parent, f)) {
          auto name = TextField(item, *f.map_name);
          out[std::string(name.cStr(), name.size())] = DataField<double>(item, f.map_value->offset);
        }
        return out;
      }
      json out = json::array();
      for (auto item : PointerField(parent, f.offset).getAs<capnp::List<capnp::Text>>()) {
        out.push_back(std::string(item.cStr(), item.size()));
      }
      return out;
    }
    default: return nullptr;
  }
}

// ---- validation ----

bool IsIdentifier(kj::StringPtr s) {
  if (s.size() == 0 || s.size() > kMaxNameBytes) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == ':' || c == '@' || c == '/' || c == '+';
    if (!ok) return false;
  }
  return true;
}

bool IsCleanUtf8(kj::StringPtr s) {
  return shiplog::IsCleanUtf8(std::string_view(s.cStr(), s.size()));
}

// Every text field, at any depth, is clean UTF-8.
Status CheckText(const StructPlan& plan, AnyStruct::Reader s) {
  using W = capnp::schema::Type::Which;
  for (const FieldPlan& f : plan.fields) {
    auto bad = [&] {
      return Status::InvalidArgument("field '" + f.json_name + "' is not valid UTF-8 text");
    };
    if (f.type == W::TEXT && !IsCleanUtf8(TextField(s, f))) return bad();
    if (f.type == W::STRUCT && FieldSet(s, f)) {
      SHIPLOG_RETURN_IF_ERROR(CheckText(*f.child, PointerField(s, f.offset).getAs<AnyStruct>()));
    }
    if (f.type == W::LIST && FieldSet(s, f)) {
      auto pointer = PointerField(s, f.offset);
      if (f.child == nullptr) {
        for (auto item : pointer.getAs<capnp::List<capnp::Text>>()) {
          if (!IsCleanUtf8(item)) return bad();
        }
      } else {
        for (auto item : StructListField(s, f)) {
          SHIPLOG_RETURN_IF_ERROR(CheckText(*f.child, item));
        }
      }
    }
  }
  return Status::Ok();
}

Status CheckRequired(const StructPlan& plan, AnyStruct::Reader s, const std::string& kind) {
  using W = capnp::schema::Type::Which;
  for (const FieldPlan& f : plan.fields) {
    if (f.type == W::ENUM) {
      if (!KnownEnum(s, f)) {
        return Status::InvalidArgument("event kind '" + kind + "': field '" + f.json_name +
                                       "' has a value the schema does not know");
      }
      if (f.required && IsUnspecified(s, f)) {
        return Status::InvalidArgument("event kind '" + kind + "' needs field '" + f.json_name +
                                       "'");
      }
      continue;
    }
    if (!f.required) continue;
    const bool present =
        f.type == W::TEXT || f.type == W::DATA || f.type == W::LIST ? PointerSize(s, f) > 0 : true;
    if (!present) {
      return Status::InvalidArgument("event kind '" + kind + "' needs field '" + f.json_name +
                                     "'");
    }
  }
  return Status::Ok();
}

// Whether a field holds something: non-empty text, data or list, an enum other than
// "unspecified", or anything else set.
bool FieldGiven(AnyStruct::Reader s, const FieldPlan& f) {
  using W = capnp::schema::Type::Which;
  switch (f.type) {
    case W::TEXT: case W::DATA: case W::LIST: return PointerSize(s, f) > 0;
    case W::ENUM: return !IsUnspecified(s, f);
    default: return FieldSet(s, f);
  }
}

// Every enum, at any depth, holds a value the schema knows: the JSON form can only name those.
Status CheckKnownEnums(const StructPlan& plan, AnyStruct::Reader s) {
  using W = capnp::schema::Type::Which;
  for (const FieldPlan& f : plan.fields) {
    if (f.type == W::ENUM && !KnownEnum(s, f)) {
      return Status::InvalidArgument("field '" + f.json_name +
                                     "' has a value the schema does not know");
    }
    if (f.type == W::STRUCT && FieldSet(s, f)) {
      SHIPLOG_RETURN_IF_ERROR(
          CheckKnownEnums(*f.child, PointerField(s, f.offset).getAs<AnyStruct>()));
    }
  }
  return Status::Ok();
}

// Every $time field, at any depth, is a time FormatTime and ParseTime round-trip: canonical bytes
// can carry any Int64, and a time the JSON form cannot write would break everything that reads
// the event back (the policy engine, replay, receipts).
Status CheckTimes(const StructPlan& plan, AnyStruct::Reader s) {
  using W = capnp::schema::Type::Which;
  for (const FieldPlan& f : plan.fields) {
    if (f.type == W::INT64 && f.time && !IsAcceptedTime(DataField<int64_t>(s, f.offset))) {
      return Status::InvalidArgument("field '" + f.json_name +
                                     "' is outside the accepted times, 0001-01-01T00:00:00Z to "
                                     "9999-12-31T23:59:59.999999Z");
    }
    if (f.type == W::STRUCT && FieldSet(s, f)) {
      SHIPLOG_RETURN_IF_ERROR(CheckTimes(*f.child, PointerField(s, f.offset).getAs<AnyStruct>()));
    }
  }
  return Status::Ok();
}

Status CheckKeySize(capnp::Data::Reader key, const char* field, size_t size) {
  if (key.size() != size) {
    return Status::InvalidArgument("field '" + std::string(field) + "' must be " +
                                   std::to_string(size) + " bytes, got " +
                                   std::to_string(key.size()));
  }
  return Status::Ok();
}

// What the schema alone cannot say about one kind's fields.
Status CheckKindRules(schema::Event::Body::Reader body) {
  using B = schema::Event::Body;
  switch (body.which()) {
    case B::GATE_RESULT: {
      // One canonical form: the JSON form is an object, so each name once, in byte order.
      std::string_view previous;
      bool first = true;
      for (auto m : body.getGateResult().getMetrics()) {
        if (m.getName().size() == 0) return Status::InvalidArgument("a gate metric has no name");
        const std::string_view name(m.getName().cStr(), m.getName().size());
        if (!first && !(previous < name)) {
          return Status::InvalidArgument("gate metric '" + std::string(name) +
                                         "' is repeated or out of order: metrics are one per "
                                         "name, in name order");
        }
        previous = name;
        first = false;
        if (!std::isfinite(m.getValue())) {
          return Status::InvalidArgument("gate metric '" + std::string(m.getName().cStr()) +
                                         "' is not a finite number");
        }
      }
      return Status::Ok();
    }
    case B::TRAFFIC_SHIFTED:
      if (body.getTrafficShifted().getWeight() > 100) {
        return Status::InvalidArgument("field 'weight' is a percentage: 0 to 100");
      }
      return Status::Ok();
    case B::MAINTENANCE_WINDOW: {
      auto w = body.getMaintenanceWindow();
      if (w.getFrom() >= w.getTo()) {
        return Status::InvalidArgument("maintenance window: 'from' must be before 'to'");
      }
      return Status::Ok();
    }
    case B::KEY_ENROLLED: {
      auto k = body.getKeyEnrolled();
      if (!IsIdentifier(k.getName())) {
        return Status::InvalidArgument("field 'name' must be 1-256 letters, digits or ._-:@/+");
      }
      for (auto role : k.getRoles()) {
        if (!IsIdentifier(role)) {
          return Status::InvalidArgument("role '" + std::string(role.cStr()) +
                                         "' must be 1-256 letters, digits or ._-:@/+");
        }
      }
      return CheckKeySize(k.getPublicKey(), "public_key", kPublicKeySize);
    }
    case B::KEY_REVOKED:
      return CheckKeySize(body.getKeyRevoked().getPublicKey(), "public_key", kPublicKeySize);
    case B::POLICY_ACTIVATED:
      return CheckKeySize(body.getPolicyActivated().getSha256(), "sha256", kSha256Size);
    case B::LEDGER_GENESIS: {
      auto g = body.getLedgerGenesis();
      SHIPLOG_RETURN_IF_ERROR(CheckKeySize(g.getLedgerKey(), "ledger_key", kPublicKeySize));
      if (g.hasPolicy()) {
        SHIPLOG_RETURN_IF_ERROR(CheckKeySize(g.getPolicySha256(), "policy_sha256", kSha256Size));
      }
      return CheckKeySize(g.getAdminKey(), "admin_key", kPublicKeySize);
    }
    case B::POLICY_DENIED:
      return CheckKeySize(body.getPolicyDenied().getPublicKey(), "public_key", kPublicKeySize);
    default:
      return Status::Ok();
  }
}

// ---- the schema's own copy ----

void CopyKnown(const DynamicStruct::Reader& from, DynamicStruct::Builder to);

// Copies one field as the schema sees it: bits the schema does not have are left behind.
void CopyField(const DynamicStruct::Reader& from, DynamicStruct::Builder to,
               StructSchema::Field field) {
  using W = capnp::schema::Type::Which;
  if (field.getProto().isGroup()) {
    CopyKnown(from.get(field).as<DynamicStruct>(), to.init(field).as<DynamicStruct>());
    return;
  }
  switch (field.getType().which()) {
    case W::STRUCT:
      if (from.has(field)) {
        CopyKnown(from.get(field).as<DynamicStruct>(), to.init(field).as<DynamicStruct>());
      }
      return;
    case W::LIST: {
      // Empty lists, text and data are the same as absent (as in the JSON form): written as null.
      if (!from.has(field) || from.get(field).as<capnp::DynamicList>().size() == 0) return;
      auto list = from.get(field).as<capnp::DynamicList>();
      auto out = to.init(field, list.size()).as<capnp::DynamicList>();
      for (uint32_t i = 0; i < list.size(); ++i) {
        if (list[i].getType() == capnp::DynamicValue::STRUCT) {
          CopyKnown(list[i].as<DynamicStruct>(), out[i].as<DynamicStruct>());
        } else {
          out.set(i, list[i]);
        }
      }
      return;
    }
    case W::TEXT:
      if (from.get(field).as<capnp::Text>().size() > 0) to.set(field, from.get(field));
      return;
    case W::DATA:
      if (from.get(field).as<capnp::Data>().size() > 0) to.set(field, from.get(field));
      return;
    default:  // numbers, booleans, enums, void
      to.set(field, from.get(field));
      return;
  }
}

void CopyKnown(const DynamicStruct::Reader& from, DynamicStruct::Builder to) {
  for (auto field : from.getSchema().getNonUnionFields()) CopyField(from, to, field);
  KJ_IF_MAYBE(member, from.which()) { CopyField(from, to, *member); }
}

// The one canonical form of an event: the bytes its fields alone make, with empty text, data and
// lists written as absent. Canonical bytes can carry more (bits no field owns in a data section,
// a longer data section or more pointers than the schema has, an empty text that is not null):
// the event would read the same, so two signed byte strings would be one event, and the JSON
// form could not give the bytes back.
std::string OneCanonicalForm(schema::Event::Reader event) {
  capnp::MallocMessageBuilder copy;
  CopyKnown(DynamicStruct::Reader(event), copy.initRoot<DynamicStruct>(EventStruct()));
  return CanonicalBytes(copy.getRoot<schema::Event>().asReader());
}

Status NotOneCanonicalForm() {
  return Status::InvalidArgument(
      "the event bytes carry data no field of the schema owns (not the event's one canonical "
      "form)");
}

// Whether a struct of canonical bytes holds only what OneCanonicalForm's copy would write: no
// bits or pointers that no field owns (a longer section than the schema's is one: canonical form
// trims zeros), no empty text, data or list written as present, and every list in the layout
// the copy writes for its type. The same answer as making the copy and comparing, without it,
// except for lists of structs: capnp reads their element count from part of the tag word and
// does not look at the rest, so a bit set there reads as the same list. An event with one is
// left to the copy (`struct_lists` is set).
bool OnlyKnown(const StructPlan& plan, AnyStruct::Reader s, bool& struct_lists);

bool OnlyKnownPointer(const FieldPlan& f, capnp::AnyPointer::Reader pointer, bool& struct_lists) {
  using W = capnp::schema::Type::Which;
  if (pointer.isNull()) return true;
  switch (f.type) {
    case W::TEXT: return pointer.getAs<capnp::Text>().size() > 0;
    case W::DATA: return pointer.getAs<capnp::Data>().size() > 0;
    case W::STRUCT: return OnlyKnown(*f.child, pointer.getAs<AnyStruct>(), struct_lists);
    case W::LIST: {
      auto list = pointer.getAs<capnp::AnyList>();
      if (list.size() == 0) return false;
      if (f.child != nullptr) {
        if (list.getElementSize() != capnp::ElementSize::INLINE_COMPOSITE) return false;
        struct_lists = true;
        for (auto item : list.as<capnp::List<AnyStruct>>()) {
          if (!OnlyKnown(*f.child, item, struct_lists)) return false;
        }
        return true;
      }
      // Text: the copy writes every element, an empty one as present.
      if (list.getElementSize() != capnp::ElementSize::POINTER) return false;
      for (auto item : list.as<capnp::List<capnp::AnyPointer>>()) {
        if (item.isNull()) return false;
        item.getAs<capnp::Text>();  // a text, or the bytes do not decode
      }
      return true;
    }
    default: return false;
  }
}

// The sections of `s` against the layout: sizes, then the bits and pointers nothing owns (but
// `member`, the Event's body member in use).
bool OnlyOwned(const StructPlan& plan, AnyStruct::Reader s,
               std::optional<uint32_t> member = std::nullopt) {
  auto data = s.getDataSection();
  auto pointers = s.getPointerSection();
  if (data.size() > size_t{plan.data_words} * 8 || pointers.size() > plan.pointers) return false;
  for (size_t word = 0; word * 8 < data.size(); ++word) {
    if (DataField<uint64_t>(s, word) & ~plan.owned_bits[word]) return false;
  }
  for (uint32_t i = 0; i < pointers.size(); ++i) {
    if (!plan.owned_pointers[i] && i != member && !pointers[i].isNull()) return false;
  }
  return true;
}

bool OnlyKnown(const StructPlan& plan, AnyStruct::Reader s, bool& struct_lists) {
  if (!OnlyOwned(plan, s)) return false;
  for (const FieldPlan& f : plan.fields) {
    if (!f.is_pointer()) continue;  // numbers, booleans, enums: their bits are their own
    if (!OnlyKnownPointer(f, PointerField(s, f.offset), struct_lists)) return false;
  }
  return true;
}

// The event by layout: its own fields, the body's one member (a struct the copy always writes
// when the kind has one) and nothing in the other members' pointers.
bool EventOnlyKnown(schema::Event::Reader event, bool& struct_lists) {
  const StructPlan& plan = EventPlan();
  const KindPlan* kind = KindOf(event);
  const AnyStruct::Reader root(event);
  if (kind == nullptr) return false;
  std::optional<uint32_t> member;
  if (kind->fields != nullptr) member = kind->pointer;
  if (!OnlyOwned(plan, root, member)) return false;
  for (const FieldPlan& f : plan.fields) {
    if (!OnlyKnownPointer(f, PointerField(root, f.offset), struct_lists)) return false;
  }
  if (kind->fields == nullptr) return true;
  auto body = PointerField(root, kind->pointer);
  return !body.isNull() && OnlyKnown(*kind->fields, body.getAs<AnyStruct>(), struct_lists);
}

Status SameAsTheCanonicalCopy(schema::Event::Reader event, std::string_view bytes) {
  return OneCanonicalForm(event) == bytes ? Status::Ok() : NotOneCanonicalForm();
}

Status CheckOnlyKnownFields(schema::Event::Reader event, std::string_view bytes) {
  bool struct_lists = false;
  if (!EventOnlyKnown(event, struct_lists)) return NotOneCanonicalForm();
  return struct_lists ? SameAsTheCanonicalCopy(event, bytes) : Status::Ok();
}

// What `check` says of an event's bytes, or kInvalidArgument when reading them threw: Cap'n
// Proto throws for bytes whose pointers do not decode.
template <typename Check>
Status UnlessUndecodable(Check&& check) {
  Status status;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&] { status = check(); })) {
    return Status::InvalidArgument("the event bytes do not decode: " +
                                   std::string(e->getDescription().cStr()));
  }
  return status;
}

}  // namespace

namespace internal {

Status CheckOnlyKnownFieldsByLayout(schema::Event::Reader event, std::string_view bytes) {
  return UnlessUndecodable([&] { return CheckOnlyKnownFields(event, bytes); });
}

Status CheckOnlyKnownFieldsByCopy(schema::Event::Reader event, std::string_view bytes) {
  return UnlessUndecodable([&] { return SameAsTheCanonicalCopy(event, bytes); });
}

}  // namespace internal

Status ValidateEvent(schema::Event::Reader event) {
  const KindPlan* plan = KindOf(event);
  if (plan == nullptr) return Status::InvalidArgument("the event has a kind this version does not know");
  const std::string& kind = plan->kind;
  if (!IsIdentifier(event.getId())) {
    return Status::InvalidArgument("field 'id' must be 1-256 letters, digits or ._-:@/+");
  }
  if (!IsIdentifier(event.getActor())) {
    return Status::InvalidArgument("field 'actor' must be 1-256 letters, digits or ._-:@/+");
  }
  if (plan->deployment_scoped && !IsIdentifier(event.getDeployment())) {
    return Status::InvalidArgument(
        "event kind '" + kind +
        "' needs field 'deployment' (1-256 letters, digits or ._-:@/+)");
  }
  if (plan->deployment_optional && event.hasDeployment() &&
      !IsIdentifier(event.getDeployment())) {
    return Status::InvalidArgument("field 'deployment' must be 1-256 letters, digits or ._-:@/+");
  }
  if (!plan->deployment_scoped && !plan->deployment_optional && event.hasDeployment()) {
    return Status::InvalidArgument("event kind '" + kind +
                                   "' is not about one deployment: remove field 'deployment'");
  }
  if (plan->fields != nullptr) {
    const StructPlan& fields = *plan->fields;
    const AnyStruct::Reader body = MemberStruct(event, *plan);
    SHIPLOG_RETURN_IF_ERROR(CheckRequired(fields, body, kind));
    Status checked = CheckText(fields, body);
    if (checked.ok()) checked = CheckTimes(fields, body);
    if (checked.ok()) checked = CheckKnownEnums(fields, body);
    // The kind goes in front of a failure only: built for every event, as each check's prefix,
    // it was two fifths of this function's time (a sixteenth of a replay's decoding).
    if (!checked.ok()) return checked.Prefixed("event kind '" + kind + "'");
  }
  return CheckKindRules(event.getBody());
}

std::vector<std::string> MissingExpectedFields(const Event& event) {
  std::vector<std::string> missing;
  const KindPlan* plan = KindOf(event.reader());
  if (plan == nullptr || plan->fields == nullptr) return missing;
  const AnyStruct::Reader body = MemberStruct(event.reader(), *plan);
  for (const FieldPlan& f : plan->fields->fields) {
    if (f.expected && !FieldGiven(body, f)) missing.push_back(f.json_name);
  }
  return missing;
}

std::vector<std::string> EventKindNames() {
  std::vector<std::string> names;
  for (auto member : BodyStruct().getUnionFields()) names.push_back(KindName(member));
  return names;
}

// ---- Event ----

struct Event::Impl {
  CanonicalMessage message;
  schema::Event::Reader root;
  // Found once when the event is decoded: every field read starts from them.
  const KindPlan* plan = nullptr;
  AnyStruct::Reader body;  // the kind's member struct; unset when the kind carries none
};

Event::Event(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Event::~Event() = default;
Event::Event(Event&&) noexcept = default;
Event& Event::operator=(Event&&) noexcept = default;
// A canonical message is read without amplification and without writing to it (its reader's
// traversal limit is unbounded, see CanonicalMessage::Parse), so copies share one.
Event::Event(const Event& other) = default;
Event& Event::operator=(const Event& other) = default;

Result<Event> Event::FromCanonical(std::string_view bytes) {
  return Decode(bytes, /*compare_canonical_form=*/true);
}

Result<Event> Event::FromCheckedCanonical(std::string_view bytes) {
  return Decode(bytes, /*compare_canonical_form=*/false);
}

Result<Event> Event::Decode(std::string_view bytes, bool compare_canonical_form) {
  auto message = CanonicalMessage::Parse(bytes, kMaxEventBytes);
  if (!message.ok()) return message.status().Prefixed("event");
  auto impl = std::make_unique<Impl>(Impl{std::move(message).value(), {}, nullptr, {}});
  SHIPLOG_RETURN_IF_ERROR(UnlessUndecodable([&] {
    impl->root = impl->message.Root<schema::Event>();
    SHIPLOG_RETURN_IF_ERROR(ValidateEvent(impl->root));
    if (compare_canonical_form) SHIPLOG_RETURN_IF_ERROR(CheckOnlyKnownFields(impl->root, bytes));
    impl->plan = KindOf(impl->root);  // ValidateEvent knows the kind
    if (impl->plan->fields != nullptr) impl->body = MemberStruct(impl->root, *impl->plan);
    return Status::Ok();
  }));
  return Event(std::move(impl));
}

Result<Event> Event::FromBuilder(schema::Event::Reader event) {
  std::string bytes;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&] { bytes = OneCanonicalForm(event); })) {
    return Status::InvalidArgument("cannot canonicalize the event: " +
                                   std::string(e->getDescription().cStr()));
  }
  // The bytes are the one canonical form by construction (the copy of a copy is the same copy),
  // so comparing them with a second copy would only repeat the work; parsing and field
  // validation still run.
  return FromCheckedCanonical(bytes);
}

Result<Event> Event::FromJson(const json& object) {
  if (!object.is_object()) return Status::InvalidArgument("an event must be a JSON object");
  // Before anything copies a part of the tree (the split below does), by recursion.
  SHIPLOG_RETURN_IF_ERROR(CheckJsonDepth(object).Prefixed("event"));
  auto kind_it = object.find("kind");
  if (kind_it == object.end() || !kind_it->is_string()) {
    return Status::InvalidArgument("the event has no \"kind\" (a string such as \"step.started\")");
  }
  const std::string kind = kind_it->get<std::string>();
  auto member = KindMembers().find(kind);
  if (member == KindMembers().end()) {
    std::string known;
    for (const auto& [name, _] : KindMembers()) known += (known.empty() ? "" : ", ") + name;
    return Status::InvalidArgument("unknown event kind '" + kind + "' (known: " + known + ")");
  }
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<schema::Event>();
  Status status;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&] {
    DynamicStruct::Builder dyn = root;
    JsonReader reader;
    // Top-level fields belong to Event; the rest to the kind's body struct.
    json top = json::object(), rest = json::object();
    for (auto it = object.begin(); it != object.end(); ++it) {
      if (it.key() == "kind") continue;
      bool is_top = EventStruct().findFieldByName(it.key()) != nullptr && it.key() != "body";
      (is_top ? top : rest)[it.key()] = it.value();
    }
    status = reader.Fill(dyn, top, "", {});
    if (!status.ok()) return;
    auto body = dyn.get("body").as<DynamicStruct>();
    if (member->second.getType().isStruct()) {
      status = reader.Fill(body.init(member->second).as<DynamicStruct>(), rest, "", {});
      if (!status.ok()) status = status.Prefixed("event kind '" + kind + "'");
    }
  })) {
    return Status::InvalidArgument("cannot build the event: " +
                                   std::string(e->getDescription().cStr()));
  }
  SHIPLOG_RETURN_IF_ERROR(status);
  return FromBuilder(root.asReader());
}

std::string_view Event::bytes() const { return impl_->message.bytes(); }

schema::Event::Reader Event::reader() const { return impl_->root; }
std::string_view Event::kind() const { return impl_->plan->kind; }
std::string_view Event::id() const {
  auto t = impl_->root.getId();
  return {t.cStr(), t.size()};
}
std::string_view Event::actor() const {
  auto t = impl_->root.getActor();
  return {t.cStr(), t.size()};
}
std::string_view Event::deployment() const {
  auto t = impl_->root.getDeployment();
  return {t.cStr(), t.size()};
}

json Event::ToJson() const {
  json out = json::object();
  out["kind"] = impl_->plan->kind;
  out["id"] = std::string(id());
  out["actor"] = std::string(actor());
  if (!deployment().empty()) out["deployment"] = std::string(deployment());
  const KindPlan* plan = impl_->plan;
  if (plan->fields != nullptr) out.update(StructToJson(*plan->fields, impl_->body));
  return out;
}

namespace {

// The field of `plan` that the JSON form names `name`, when StructToJson(plan, s) shows it (set,
// or required); else null.
const FieldPlan* ShownField(const StructPlan& plan, AnyStruct::Reader s, std::string_view name) {
  for (const FieldPlan& f : plan.fields) {
    if (f.json_name == name) return f.required || FieldSet(s, f) ? &f : nullptr;
  }
  return nullptr;
}

// The envelope's fields as ToJson shows them: "deployment" only when the event names one.
std::optional<std::string_view> EnvelopeField(const Event& event, std::string_view name) {
  if (name == "kind") return event.kind();
  if (name == "id") return event.id();
  if (name == "actor") return event.actor();
  if (name == "deployment" && !event.deployment().empty()) return event.deployment();
  return std::nullopt;
}

// Splits "a.b.c" into "a" and "b.c" ("" when there is no dot).
std::pair<std::string_view, std::string_view> FirstSegment(std::string_view path) {
  const size_t dot = path.find('.');
  if (dot == std::string_view::npos) return {path, {}};
  return {path.substr(0, dot), path.substr(dot + 1)};
}

// What StructToJson(plan, s) holds at `path`, built alone.
std::optional<json> FieldOfStruct(const StructPlan& plan, AnyStruct::Reader s,
                                  std::string_view path) {
  const auto [name, rest] = FirstSegment(path);
  const FieldPlan* f = ShownField(plan, s, name);
  if (f == nullptr) return std::nullopt;
  if (rest.empty() && path.size() == name.size()) return ValueToJson(s, *f);
  using W = capnp::schema::Type::Which;
  if (f->type == W::STRUCT) {
    return FieldOfStruct(*f->child, PointerField(s, f->offset).getAs<AnyStruct>(), rest);
  }
  if (f->json_map && rest.find('.') == std::string_view::npos) {
    std::optional<json> value;  // a name given twice keeps its last value, as in ToJson
    for (auto item : StructListField(s, *f)) {
      auto key = TextField(item, *f->map_name);
      if (std::string_view(key.cStr(), key.size()) == rest) {
        value = DataField<double>(item, f->map_value->offset);
      }
    }
    return value;
  }
  return std::nullopt;  // a scalar or a list has no fields
}

}  // namespace

std::optional<json> Event::Field(std::string_view path) const {
  // The kind's own fields are written over the envelope's in ToJson, so they are looked at first.
  const KindPlan* plan = impl_->plan;
  if (plan->fields != nullptr) {
    if (auto value = FieldOfStruct(*plan->fields, impl_->body, path)) {
      return value;
    }
  }
  if (auto text = EnvelopeField(*this, path)) return json(std::string(*text));
  return std::nullopt;
}

std::string_view Event::Text(std::string_view name) const {
  const KindPlan* plan = impl_->plan;
  if (plan->fields != nullptr) {
    const AnyStruct::Reader s = impl_->body;
    if (const FieldPlan* f = ShownField(*plan->fields, s, name)) {
      using W = capnp::schema::Type::Which;
      if (f->type == W::TEXT) {
        auto text = TextField(s, *f);
        return {text.cStr(), text.size()};
      }
      const uint16_t value = f->type == W::ENUM ? DataField<uint16_t>(s, f->offset) : 0;
      return f->type == W::ENUM && value < f->enum_names.size()
                 ? std::string_view(f->enum_names[value])
                 : std::string_view();
    }
  }
  return EnvelopeField(*this, name).value_or(std::string_view());
}

// ---- SignedEvent ----

SignedEvent SignedEvent::Sign(const Event& event, const SigningKey& key) {
  SignedEvent out;
  out.scheme = std::string(kSchemeEd25519Capnp);
  out.payload = std::string(event.bytes());
  out.public_key = key.PublicKey();
  out.signature = key.Sign(out.payload);
  return out;
}

Result<SignedEvent> SignedEvent::SignJson(nlohmann::json event, const SigningKey& key) {
  if (event.is_object() && !event.contains("id")) event["id"] = RandomId();
  SHIPLOG_ASSIGN_OR_RETURN(Event built, Event::FromJson(event));
  return Sign(built, key);
}

SignedEvent SignedEvent::OfDenial(schema::PolicyDenied::Reader denied) {
  SignedEvent out;
  out.scheme = denied.hasScheme() ? std::string(denied.getScheme().cStr())
                                  : std::string(kSchemeEd25519Capnp);
  out.payload = BytesOf(denied.getPayload());
  out.public_key = BytesOf(denied.getPublicKey());
  out.signature = BytesOf(denied.getSignature());
  out.event = BytesOf(denied.getEvent());
  return out;
}

std::string_view SignedEvent::EventBytes() const {
  return scheme == dsse::kScheme ? event : payload;
}

Result<Event> SignedEvent::ReadEvent() const { return Event::FromCanonical(EventBytes()); }

bool SignedEvent::SameSignedEvent(const SignedEvent& other) const {
  if (scheme != other.scheme) return false;
  if (scheme == dsse::kScheme) return event == other.event && signature == other.signature;
  return payload == other.payload;
}

Status SignedEvent::VerifySignature() const {
  if (scheme != kSchemeEd25519Capnp && scheme != dsse::kScheme) {
    return Status::InvalidArgument("unknown signature scheme '" + scheme + "' (this ledger takes " +
                                   std::string(kSchemeEd25519Capnp) + " and " +
                                   std::string(dsse::kScheme) + ")");
  }
  if (public_key.size() != kPublicKeySize) {
    return Status::InvalidArgument("the public key must be 32 bytes");
  }
  if (signature.size() != kSignatureSize) {
    return Status::BadSignature("the signature must be 64 bytes");
  }
  if (scheme == dsse::kScheme) return VerifyDsseSignedEvent(*this);
  if (!event.empty()) {
    return Status::InvalidArgument("a " + std::string(kSchemeEd25519Capnp) +
                                   " signed event carries no separate event");
  }
  if (!shiplog::VerifySignature(public_key, payload, signature)) {
    return Status::BadSignature("the signature does not verify for key " + HexEncode(public_key));
  }
  return Status::Ok();
}

json SignedEvent::ToJson() const {
  json out = {{"scheme", scheme},
              {"payload", Base64Encode(payload)},
              {"public_key", HexEncode(public_key)},
              {"signature", Base64Encode(signature)}};
  if (!event.empty()) out["event"] = Base64Encode(event);
  return out;
}

bool SignedEvent::LooksLikeEnvelope(const json& j) {
  return j.is_object() && j.contains("payload") && j.contains("signature");
}

Result<SignedEvent> SignedEvent::FromJson(const json& j) {
  if (!LooksLikeEnvelope(j)) {
    return Status::InvalidArgument("a signed event needs \"payload\" and \"signature\"");
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k != "scheme" && k != "payload" && k != "public_key" && k != "signature" && k != "event") {
      return Status::InvalidArgument("unknown field '" + k + "' in the signed event envelope");
    }
    if (!it.value().is_string()) {
      return Status::InvalidArgument("envelope field '" + k + "' must be a string");
    }
  }
  if (!j.contains("scheme") || !j.contains("public_key")) {
    return Status::InvalidArgument("a signed event needs \"scheme\" and \"public_key\"");
  }
  SignedEvent out;
  out.scheme = j["scheme"].get<std::string>();
  auto payload = Base64Decode(j["payload"].get<std::string>());
  if (!payload.ok()) return payload.status().Prefixed("envelope field 'payload'");
  auto key = HexDecode(j["public_key"].get<std::string>());
  if (!key.ok()) return key.status().Prefixed("envelope field 'public_key'");
  auto signature = Base64Decode(j["signature"].get<std::string>());
  if (!signature.ok()) return signature.status().Prefixed("envelope field 'signature'");
  out.payload = std::move(payload).value();
  out.public_key = std::move(key).value();
  out.signature = std::move(signature).value();
  if (j.contains("event")) {
    auto event = Base64Decode(j["event"].get<std::string>());
    if (!event.ok()) return event.status().Prefixed("envelope field 'event'");
    out.event = std::move(event).value();
  }
  return out;
}

namespace {

Status TooDeep(size_t max_depth, const std::string& where) {
  return Status::InvalidArgument("JSON nested deeper than " + std::to_string(max_depth) +
                                 " levels of arrays and objects" + where);
}

}  // namespace

Status CheckJsonTextDepth(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      // Inside a string only the closing quote matters; a backslash hides the next byte from it.
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return TooDeep(max_depth, " (at byte " + std::to_string(i) + ")");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return Status::Ok();
}

Status CheckJsonDepth(const json& root, size_t max_depth) {
  // Depth-first with an explicit stack: the tree may be the very thing that is too deep to
  // recurse over.
  std::vector<std::pair<const json*, size_t>> stack = {{&root, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    if (depth > max_depth) return TooDeep(max_depth, "");
    for (const auto& child : *node) {
      if (child.is_structured()) stack.emplace_back(&child, depth + 1);
    }
  }
  return Status::Ok();
}

Result<json> ParseJsonText(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) {
    return Status::InvalidArgument("the input is " + std::to_string(text.size()) +
                                   " bytes; the limit is " + std::to_string(max_bytes));
  }
  SHIPLOG_RETURN_IF_ERROR(CheckJsonTextDepth(text));
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    return Status::InvalidArgument("malformed JSON at byte " + std::to_string(e.byte) + ": " +
                                   e.what());
  } catch (const json::exception& e) {  // a number out of range, ...
    return Status::InvalidArgument(std::string("malformed JSON: ") + e.what());
  }
}

nlohmann::json ParseStoredJson(std::string_view text) {
  auto parsed = ParseJsonText(text, std::numeric_limits<size_t>::max());
  return parsed.ok() ? std::move(parsed).value() : nlohmann::json(nlohmann::json::value_t::discarded);
}

void AppendJsonString(std::string& out, std::string_view text) {
  if (!IsCleanUtf8(text)) {
    out += nlohmann::json(std::string(text))
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  size_t plain = 0;  // the start of the run of characters copied as they are
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text, plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        static constexpr char kDigits[] = "0123456789abcdef";
        const char escape[] = {'\\', 'u', '0', '0', kDigits[c >> 4], kDigits[c & 0xf]};
        out.append(escape, sizeof escape);
      }
    }
  }
  out.append(text, plain, text.size() - plain);
  out += '"';
}

bool IsCleanUtf8(std::string_view text) {
  static constexpr uint32_t kSmallest[] = {0, 0x80, 0x800, 0x10000};  // no overlong forms
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c == 0) return false;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t extra;
    uint32_t code;
    if ((c & 0xe0) == 0xc0) extra = 1, code = c & 0x1f;
    else if ((c & 0xf0) == 0xe0) extra = 2, code = c & 0x0f;
    else if ((c & 0xf8) == 0xf0) extra = 3, code = c & 0x07;
    else return false;
    if (static_cast<size_t>(end - p) <= extra) return false;
    for (size_t i = 1; i <= extra; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      code = code << 6 | (p[i] & 0x3f);
    }
    if (code < kSmallest[extra] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    p += extra + 1;
  }
  return true;
}

}  // namespace shiplog
