// ConsoleSchemaJson: the compiled schemas, read by reflection, as the JSON the console's verifier
// decodes records with (console_schema.h describes the format).
#include "adapters/console_schema.h"

#include <capnp/schema.h>

#include <cstdio>
#include <deque>
#include <set>
#include <string>
#include <utility>

#include "ledger/dsse.h"
#include "ledger/event.h"
#include "ledger/event_schema.h"
#include "schemas/event.capnp.h"
#include "schemas/record.capnp.h"

namespace shiplog::adapters {
// The library compiles in unity batches: a named namespace keeps these helpers apart from the
// batch's other files' own.
namespace {
namespace console_schema {

using nlohmann::json;
using event_schema::HasAnnotation;
using event_schema::JsonEnumName;
using event_schema::JsonFieldName;
using event_schema::KindName;
using W = capnp::schema::Type::Which;

// "schemas/event.capnp:Event.body" -> "Event.body": unique across our two files, stable as long
// as nothing is renamed (and renaming a struct changes no byte of any record).
std::string NameOf(capnp::Schema schema) {
  const std::string display = schema.getProto().getDisplayName();
  const size_t colon = display.find(':');
  return colon == std::string::npos ? display : display.substr(colon + 1);
}

std::string IdOf(capnp::Schema schema) {
  char id[19];
  std::snprintf(id, sizeof id, "0x%016llx",
                static_cast<unsigned long long>(schema.getProto().getId()));
  return id;
}

const char* TypeName(W which) {
  switch (which) {
    case W::VOID: return "void";
    case W::BOOL: return "bool";
    case W::INT8: return "int8";
    case W::INT16: return "int16";
    case W::INT32: return "int32";
    case W::INT64: return "int64";
    case W::UINT8: return "uint8";
    case W::UINT16: return "uint16";
    case W::UINT32: return "uint32";
    case W::UINT64: return "uint64";
    case W::FLOAT32: return "float32";
    case W::FLOAT64: return "float64";
    case W::TEXT: return "text";
    case W::DATA: return "data";
    case W::LIST: return "list";
    case W::ENUM: return "enum";
    case W::STRUCT: return "struct";
    case W::INTERFACE: return "interface";
    case W::ANY_POINTER: return "any_pointer";
  }
  return "unknown";
}

// Walks the structs and enums reachable from the roots, each described once.
class SchemaWriter {
 public:
  void AddStruct(capnp::StructSchema schema) {
    if (seen_.insert(schema.getProto().getId()).second) pending_.push_back(schema);
  }

  json Finish() {
    while (!pending_.empty()) {
      capnp::StructSchema next = pending_.front();
      pending_.pop_front();
      structs_[NameOf(next)] = StructJson(next);
    }
    return {{"structs", structs_}, {"enums", enums_}};
  }

 private:
  json StructJson(capnp::StructSchema schema) {
    auto node = schema.getProto().getStruct();
    json fields = json::array();
    for (auto field : schema.getFields()) fields.push_back(FieldJson(field));
    json out = {{"id", IdOf(schema)},
                {"data_words", node.getDataWordCount()},
                {"pointers", node.getPointerCount()},
                {"discriminant_count", node.getDiscriminantCount()},
                {"fields", std::move(fields)}};
    if (node.getDiscriminantCount() > 0) out["discriminant_offset"] = node.getDiscriminantOffset();
    return out;
  }

  json FieldJson(capnp::StructSchema::Field field) {
    auto proto = field.getProto();
    json out = {{"name", JsonFieldName(field)}, {"capnp_name", std::string(proto.getName())}};
    if (proto.isGroup()) {
      out["type"] = "group";
      out["struct"] = Reference(field.getType());
    } else {
      out.update(TypeJson(field.getType()));
      out["offset"] = proto.getSlot().getOffset();
      json fallback = DefaultJson(proto.getSlot().getDefaultValue());
      if (!fallback.is_null()) out["default"] = std::move(fallback);
    }
    if (proto.getDiscriminantValue() != capnp::schema::Field::NO_DISCRIMINANT) {
      out["discriminant"] = proto.getDiscriminantValue();
    }
    AddAnnotations(field, out);
    return out;
  }

  // {"type", and "struct", "enum" or "element" where the type names one}.
  json TypeJson(capnp::Type type) {
    json out = {{"type", TypeName(type.which())}};
    if (type.isStruct()) out["struct"] = Reference(type);
    if (type.isEnum()) out["enum"] = Reference(type);
    if (type.isList()) out["element"] = TypeJson(type.asList().getElementType());
    return out;
  }

  // Queues a struct or records an enum, and names it.
  std::string Reference(capnp::Type type) {
    if (type.isStruct()) {
      AddStruct(type.asStruct());
      return NameOf(type.asStruct());
    }
    capnp::EnumSchema schema = type.asEnum();
    const std::string name = NameOf(schema);
    if (!enums_.contains(name)) {
      json names = json::array();
      for (auto enumerant : schema.getEnumerants()) names.push_back(JsonEnumName(enumerant));
      enums_[name] = {{"id", IdOf(schema)}, {"enumerants", std::move(names)}};
    }
    return name;
  }

  // A number or bool field's default when it is not zero (the wire holds value XOR default);
  // "unsupported" for a pointer field with a default, which no decoder of ours reads.
  static json DefaultJson(capnp::schema::Value::Reader value) {
    using V = capnp::schema::Value::Which;
    switch (value.which()) {
      case V::BOOL: return value.getBool() ? json(true) : json();
      case V::INT8: return value.getInt8() ? json(value.getInt8()) : json();
      case V::INT16: return value.getInt16() ? json(value.getInt16()) : json();
      case V::INT32: return value.getInt32() ? json(value.getInt32()) : json();
      case V::INT64: return value.getInt64() ? json(std::to_string(value.getInt64())) : json();
      case V::UINT8: return value.getUint8() ? json(value.getUint8()) : json();
      case V::UINT16: return value.getUint16() ? json(value.getUint16()) : json();
      case V::UINT32: return value.getUint32() ? json(value.getUint32()) : json();
      case V::UINT64: return value.getUint64() ? json(std::to_string(value.getUint64())) : json();
      case V::FLOAT32: return value.getFloat32() != 0 ? json(value.getFloat32()) : json();
      case V::FLOAT64: return value.getFloat64() != 0 ? json(value.getFloat64()) : json();
      case V::ENUM: return value.getEnum() ? json(value.getEnum()) : json();
      case V::TEXT: return value.hasText() ? json("unsupported") : json();
      case V::DATA: return value.hasData() ? json("unsupported") : json();
      case V::LIST: return value.hasList() ? json("unsupported") : json();
      case V::STRUCT: return value.hasStruct() ? json("unsupported") : json();
      default: return json();
    }
  }

  static void AddAnnotations(capnp::StructSchema::Field field, json& out) {
    namespace es = event_schema;
    static const std::pair<uint64_t, const char*> kFlags[] = {
        {es::kHexAnnotation, "hex"},
        {es::kTimeAnnotation, "time"},
        {es::kJsonMapAnnotation, "json_map"},
        {es::kRequiredAnnotation, "required"},
        {es::kExpectedAnnotation, "expected"},
        {es::kDeploymentScopedAnnotation, "deployment_scoped"},
        {es::kDeploymentOptionalAnnotation, "deployment_optional"}};
    for (const auto& [id, name] : kFlags) {
      if (HasAnnotation(field, id)) out[name] = true;
    }
    if (HasAnnotation(field, es::kKindAnnotation)) out["kind"] = KindName(field);
  }

  std::set<uint64_t> seen_;
  std::deque<capnp::StructSchema> pending_;
  json structs_ = json::object();
  json enums_ = json::object();
};

}  // namespace console_schema
}  // namespace

nlohmann::json ConsoleSchemaJson() {
  using console_schema::NameOf;
  using nlohmann::json;
  console_schema::SchemaWriter writer;
  const capnp::StructSchema entry = capnp::Schema::from<schema::Entry>();
  writer.AddStruct(entry);
  const capnp::StructSchema event = event_schema::EventStruct();
  writer.AddStruct(event);
  json out = {{"format", "shiplog-console-schema-v1"},
              {"entry", NameOf(entry)},
              {"event", NameOf(event)},
              {"schemes", {{"capnp", std::string(kSchemeEd25519Capnp)},
                           {"dsse", std::string(dsse::kScheme)}}},
              {"dsse_payload_types", {{"shiplog_event", std::string(dsse::kShiplogEventType)},
                                      {"in_toto", std::string(dsse::kInTotoType)}}}};
  out.update(writer.Finish());
  return out;
}

}  // namespace shiplog::adapters
