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
      kind->kind = KindName(member);
      kind->deployment_scoped = HasAnnotation(member, kDeploymentScopedAnnotation);
      kind->deployment_optional = HasAnnotation(member, kDeploymentOptionalAnnotation);
      kind->pointer = proto.getSlot().getOffset();
      if (member.getType().isStruct()) kind->fields = &PlanOf(member.getType().asStruct());
      const uint16_t discriminant = proto.getDiscriminantValue();
      if (kinds_.size() <= discriminant) kinds_.resize(discriminant + 1);
      kinds_[discriminant] = std::move(kind);
    }
    // The Event: its slots, the body's discriminant; which member's pointer is in use is the
    // reader's to check, since it depends on the kind.
    capnp::StructSchema event = EventStruct();
    SizeLayout(event_, event);
    for (auto field : event.getNonUnionFields()) {
      if (field.getProto().isSlot()) Own(event_, event_.fields.emplace_back(FieldPlanOf(field)));
    }
    OwnBits(event_, BodyStruct().getProto().getStruct().getDiscriminantOffset(), 16);
  }

  const StructPlan& Event() const { return event_; }

  const KindPlan* Kind(uint16_t discriminant) const {
    return discriminant < kinds_.size() ? kinds_[discriminant].get() : nullptr;
  }

 private:
  const StructPlan& PlanOf(capnp::StructSchema schema) {
    const uint64_t id = schema.getProto().getId();
    if (auto it = structs_.find(id); it != structs_.end()) return *it->second;
    auto* plan = structs_.emplace(id, std::make_unique<StructPlan>()).first->second.get();
    KJ_REQUIRE(schema.getUnionFields().size() == 0, "event structs below the body hold no union",
               schema.getProto().getDisplayName());
    SizeLayout(*plan, schema);
    for (auto field : schema.getNonUnionFields()) {
      plan->fields.push_back(FieldPlanOf(field));
      Own(*plan, plan->fields.back());
    }
    return *plan;
  }

  // The struct's sections as the schema sizes them, nothing owned yet.
  static void SizeLayout(StructPlan& plan, capnp::StructSchema schema) {
    plan.data_words = schema.getProto().getStruct().getDataWordCount();
    plan.pointers = schema.getProto().getStruct().getPointerCount();
    plan.owned_bits.assign(plan.data_words, 0);
    plan.owned_pointers.assign(plan.pointers, false);
  }

  // Marks what a field's slot holds as owned.
  static void Own(StructPlan& plan, const FieldPlan& f) {
    using W = capnp::schema::Type::Which;
    if (f.is_pointer()) {
      plan.owned_pointers.at(f.offset) = true;
      return;
    }
    switch (f.type) {
      case W::BOOL: return OwnBits(plan, f.offset, 1);
      case W::UINT8: return OwnBits(plan, f.offset, 8);
      case W::UINT16: case W::ENUM: return OwnBits(plan, f.offset, 16);
      case W::UINT32: return OwnBits(plan, f.offset, 32);
      default: return OwnBits(plan, f.offset, 64);  // Int64, UInt64, Float64
    }
  }

  // Marks `width` bits at slot `offset` (in units of `width`) as owned.
  static void OwnBits(StructPlan& plan, uint32_t offset, uint32_t width) {
    const uint64_t first = uint64_t{offset} * width;
    uint64_t& word = plan.owned_bits.at(first / 64);
    word |= (width == 64 ? ~uint64_t{0} : ((uint64_t{1} << width) - 1)) << (first % 64);
  }

  FieldPlan FieldPlanOf(capnp::StructSchema::Field field) {
    using W = capnp::schema::Type::Which;
    auto proto = field.getProto();
    // The readers in ledger/event.cc take every field at its zero default from plain slots.
    KJ_REQUIRE(proto.isSlot() && !proto.getSlot().getHadExplicitDefault(),
               "event fields are plain slots with zero defaults", proto.getName());
    FieldPlan f;
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
  StructPlan event_;
  std::map<uint64_t, std::unique_ptr<StructPlan>> structs_;
};

const Plans& ThePlans() {
  static const auto* const plans = new Plans();
  return *plans;
}

}  // namespace

const KindPlan* KindPlanFor(uint16_t discriminant) { return ThePlans().Kind(discriminant); }

const StructPlan& EventPlan() { return ThePlans().Event(); }

}  // namespace shiplog::event_schema
