// How events' outside names map onto schemas/event.capnp, by reflection: kinds, JSON field
// names, enum names and the annotations that shape the JSON form. One place, shared by the event
// codec (ledger/event.cc) and by whatever names event fields from outside (policy files), so the
// two can never disagree.
#pragma once

#include <capnp/schema.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace shiplog::event_schema {

// Annotation ids, as declared in schemas/event.capnp.
constexpr uint64_t kKindAnnotation = 0xe2f3e255bec9c20eull;
constexpr uint64_t kRequiredAnnotation = 0x8754f2ffa5f04998ull;
constexpr uint64_t kExpectedAnnotation = 0x9c3e5f7a1b2d4e60ull;
constexpr uint64_t kTimeAnnotation = 0xd554840beac30842ull;
constexpr uint64_t kHexAnnotation = 0xe0f1c7a4a2b6d3c1ull;
constexpr uint64_t kJsonMapAnnotation = 0xc6f4b8a9d1e2f3a5ull;
constexpr uint64_t kDeploymentScopedAnnotation = 0xb5a4c3d2e1f0a9b8ull;
constexpr uint64_t kDeploymentOptionalAnnotation = 0xa1b2c3d4e5f60718ull;

bool HasAnnotation(capnp::StructSchema::Field field, uint64_t id);

// "backupId" -> "backup_id".
std::string JsonFieldName(capnp::StructSchema::Field field);
// "blueGreen" -> "blue-green".
std::string JsonEnumName(capnp::EnumSchema::Enumerant enumerant);

// The Event struct, and its body union.
capnp::StructSchema EventStruct();
capnp::StructSchema BodyStruct();

// A body member's kind name: its $kind ("step.started").
std::string KindName(capnp::StructSchema::Field body_member);

// Every kind's body member, by kind name. Built once from the schema.
const std::map<std::string, capnp::StructSchema::Field>& KindMembers();

// The schema's facts about one field, read once, so that validating and printing a record reads
// its message's sections directly instead of walking the schema for every field of every record.
struct StructPlan;
struct FieldPlan {
  capnp::schema::Type::Which type;
  std::string json_name;
  uint32_t offset = 0;  // the slot's offset, in units of the type's size; a pointer's index
  bool required = false, expected = false, time = false, hex = false, json_map = false;
  const StructPlan* child = nullptr;    // a struct field's, or a list's element struct
  std::vector<std::string> enum_names;  // an enum's JSON names, by value
  const FieldPlan* map_name = nullptr;  // a $jsonMap list: the element's name and value fields
  const FieldPlan* map_value = nullptr;

  // Text, data, a struct or a list: the field is a pointer, its offset the pointer's index.
  bool is_pointer() const {
    using W = capnp::schema::Type::Which;
    return type == W::TEXT || type == W::DATA || type == W::STRUCT || type == W::LIST;
  }
};

struct StructPlan {
  std::vector<FieldPlan> fields;  // the struct's fields, in declaration order
  // The layout the schema gives the struct: what its fields own of it, so that bits or pointers
  // nothing owns can be found without copying the struct.
  uint32_t data_words = 0, pointers = 0;
  std::vector<uint64_t> owned_bits;   // per data word
  std::vector<bool> owned_pointers;   // per pointer
};

// One kind: its name, the body member's annotations and pointer, and its struct's fields.
struct KindPlan {
  std::string kind;
  bool deployment_scoped = false, deployment_optional = false;
  uint32_t pointer = 0;               // the member's pointer in the Event struct
  const StructPlan* fields = nullptr; // null for a kind that carries no struct
};

// The kind a body's discriminant selects; null for one this version does not know.
const KindPlan* KindPlanFor(uint16_t discriminant);

// The Event struct itself: its own fields (id, actor, deployment) and layout; the body's
// discriminant is among its owned bits, and every kind's member pointer among its pointers.
const StructPlan& EventPlan();

}  // namespace shiplog::event_schema
