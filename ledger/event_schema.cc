#include "ledger/event_schema.h"

#include <memory>

#include "schemas/event.capnp.h"

namespace shiplog::event_schema {
namespace {

std::string FromCamel(kj::StringPtr name, char separator) {
  std::string out;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back(separator);
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

bool HasAnnotation(capnp::StructSchema::Field field, uint64_t id) {
  for (auto a : field.getProto().getAnnotations()) {
    if (a.getId() == id) return true;
  }
  return false;
}

std::string JsonFieldName(capnp::StructSchema::Field field) {
  return FromCamel(field.getProto().getName(), '_');
}

std::string JsonEnumName(capnp::EnumSchema::Enumerant enumerant) {
  return FromCamel(enumerant.getProto().getName(), '-');
}

capnp::StructSchema EventStruct() { return capnp::Schema::from<schema::Event>(); }

capnp::StructSchema BodyStruct() {
  return EventStruct().getFieldByName("body").getType().asStruct();
}

std::string KindName(capnp::StructSchema::Field body_member) {
  for (auto a : body_member.getProto().getAnnotations()) {
    if (a.getId() == kKindAnnotation) return a.getValue().getText();
  }
  return body_member.getProto().getName();
}

const std::map<std::string, capnp::StructSchema::Field>& KindMembers() {
  // Immutable after construction; never destroyed, so safe to use from static destructors too.
  static const auto* const table = [] {
    auto* t = new std::map<std::string, capnp::StructSchema::Field>();
    for (auto member : BodyStruct().getUnionFields()) t->emplace(KindName(member), member);
    return t;
  }();
  return *table;
}

namespace {

// Every kind's plan and the structs they reach, built once and never destroyed (as KindMembers).
class Plans {
 public:
  Plans() {
    for (auto member : BodyStruct().getUnionFields()) {
      auto proto = member.getProto();
      KJ_REQUIRE(proto.isSlot(), "a body member is a slot", proto.getName());
      auto kind = std::make_unique<KindPlan>();
      kind->member = member;
      kind->kind = KindName(member);
      kind->deployment_scoped = HasAnnotation(member, kDeploymentScopedAnnotation);
      kind->deployment_optional = HasAnnotation(member, kDeploymentOptionalAnnotation);
      kind->pointer = proto.getSlot().getOffset();
      if (member.getType().isStruct()) kind->fields = &PlanOf(member.getType().asStruct());
      const uint16_t discriminant = proto.getDiscriminantValue();
      if (kinds_.size() <= discriminant) kinds_.resize(discriminant + 1);
      kinds_[discriminant] = std::move(kind);
    }
  }

  const KindPlan* Kind(uint16_t discriminant) const {
    return discriminant < kinds_.size() ? kinds_[discriminant].get() : nullptr;
  }

 private:
  const StructPlan& PlanOf(capnp::StructSchema schema) {
    const uint64_t id = schema.getProto().getId();
    if (auto it = structs_.find(id); it != structs_.end()) return *it->second;
    auto* plan = structs_.emplace(id, std::make_unique<StructPlan>()).first->second.get();
    for (auto field : schema.getNonUnionFields()) plan->fields.push_back(FieldPlanOf(field));
    return *plan;
  }

  FieldPlan FieldPlanOf(capnp::StructSchema::Field field) {
    using W = capnp::schema::Type::Which;
    auto proto = field.getProto();
    // The readers in ledger/event.cc take every field at its zero default from plain slots.
    KJ_REQUIRE(proto.isSlot() && !proto.getSlot().getHadExplicitDefault(),
               "event fields are plain slots with zero defaults", proto.getName());
    FieldPlan f;
    f.field = field;
    f.type = field.getType().which();
    f.json_name = JsonFieldName(field);
    f.offset = proto.getSlot().getOffset();
    f.required = HasAnnotation(field, kRequiredAnnotation);
    f.expected = HasAnnotation(field, kExpectedAnnotation);
    f.time = HasAnnotation(field, kTimeAnnotation);
    f.hex = HasAnnotation(field, kHexAnnotation);
    f.json_map = HasAnnotation(field, kJsonMapAnnotation);
    switch (f.type) {
      case W::TEXT: case W::DATA: case W::BOOL: case W::INT64: case W::UINT8: case W::UINT16:
      case W::UINT32: case W::UINT64: case W::FLOAT64:
        break;
      case W::ENUM:
        for (auto e : field.getType().asEnum().getEnumerants()) {
          f.enum_names.push_back(JsonEnumName(e));
        }
        break;
      case W::STRUCT:
        f.child = &PlanOf(field.getType().asStruct());
        break;
      case W::LIST: {
        auto element = field.getType().asList().getElementType();
        if (element.isStruct()) f.child = &PlanOf(element.asStruct());
        else KJ_REQUIRE(element.isText(), "event lists hold text or structs", proto.getName());
        if (f.json_map) {
          KJ_REQUIRE(f.child != nullptr, "a $jsonMap list holds structs", proto.getName());
          for (const FieldPlan& e : f.child->fields) {
            if (e.json_name == "name" && e.type == W::TEXT) f.map_name = &e;
            if (e.json_name == "value" && e.type == W::FLOAT64) f.map_value = &e;
          }
          KJ_REQUIRE(f.map_name && f.map_value, "a $jsonMap element has a name and a value",
                     proto.getName());
        }
        break;
      }
      default:
        KJ_FAIL_REQUIRE("an event field has a type the codec does not read", proto.getName());
    }
    return f;
  }

  std::vector<std::unique_ptr<KindPlan>> kinds_;
  std::map<uint64_t, std::unique_ptr<StructPlan>> structs_;
};

}  // namespace

const KindPlan* KindPlanFor(uint16_t discriminant) {
  static const auto* const plans = new Plans();
  return plans->Kind(discriminant);
}

}  // namespace shiplog::event_schema
