#include "ledger/event_schema.h"

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

}  // namespace shiplog::event_schema
