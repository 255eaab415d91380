#include "ledger/key_registry.h"

#include <algorithm>

#include "ledger/dsse.h"

namespace shiplog {
namespace {

std::string ToString(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }
std::string ToString(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

bool IsAdminKind(schema::Event::Body::Which which) {
  using B = schema::Event::Body;
  return which == B::KEY_ENROLLED || which == B::KEY_REVOKED || which == B::POLICY_ACTIVATED;
}

}  // namespace

bool KeyInfo::HasRole(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

const KeyInfo* KeyRegistry::Find(std::string_view public_key) const {
  auto it = keys_.find(public_key);
  return it == keys_.end() ? nullptr : &it->second;
}

const KeyInfo* KeyRegistry::FindByKeyId(std::string_view keyid) const {
  auto it = public_key_by_keyid_.find(keyid);
  return it == public_key_by_keyid_.end() ? nullptr : Find(it->second);
}

Status KeyRegistry::Authorize(const Event& event, std::string_view public_key) const {
  using B = schema::Event::Body;
  auto body = event.reader().getBody();
  if (body.which() == B::LEDGER_GENESIS || body.which() == B::POLICY_DENIED) {
    return Status::Forbidden("a " + std::string(event.kind()) +
                             " event is written only by the ledger itself");
  }
  const KeyInfo* key = Find(public_key);
  if (key == nullptr) {
    return Status::UnknownKey("key " + HexEncode(public_key) + " is not enrolled in this ledger");
  }
  if (!key->active()) {
    return Status::UnknownKey("key " + HexEncode(public_key) + " of '" + key->name +
                              "' was revoked at sequence " + std::to_string(*key->revoked_seq));
  }
  if (event.actor() != key->name) {
    return Status::Forbidden("the event's actor is '" + std::string(event.actor()) +
                             "' but the key is enrolled for '" + key->name + "'");
  }
  if (IsAdminKind(body.which()) && !key->HasRole(kAdminRole)) {
    return Status::Forbidden("'" + key->name + "' does not hold the admin role needed for " +
                             std::string(event.kind()));
  }
  if (body.which() == B::KEY_ENROLLED) {
    auto enrolled = body.getKeyEnrolled();
    if (ToString(enrolled.getName()) == kLedgerActor) {
      return Status::Forbidden("the name '" + std::string(kLedgerActor) +
                               "' belongs to the ledger itself");
    }
    const KeyInfo* existing = Find(ToString(enrolled.getPublicKey()));
    if (existing != nullptr) {
      return Status::Conflict("key " + HexEncode(ToString(enrolled.getPublicKey())) +
                              " is already enrolled for '" + existing->name + "'" +
                              (existing->active() ? "" : " (and revoked)"));
    }
  }
  if (body.which() == B::KEY_REVOKED) {
    const KeyInfo* target = Find(ToString(body.getKeyRevoked().getPublicKey()));
    if (target == nullptr || !target->active()) {
      return Status::InvalidArgument("key " +
                                     HexEncode(ToString(body.getKeyRevoked().getPublicKey())) +
                                     (target == nullptr ? " is not enrolled" : " is already revoked"));
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> KeyRegistry::LiveRolesOf(std::string_view name) const {
  std::vector<std::string> roles;
  bool found = false;
  for (const auto& [key, info] : keys_) {
    if (info.name != name || !info.active()) continue;
    found = true;
    roles.insert(roles.end(), info.roles.begin(), info.roles.end());
  }
  if (!found) return Status::UnknownKey("no live key is enrolled for '" + std::string(name) + "'");
  return roles;
}

void KeyRegistry::Apply(const Event& event, uint64_t seq) {
  using B = schema::Event::Body;
  auto body = event.reader().getBody();
  switch (body.which()) {
    case B::LEDGER_GENESIS: {
      auto g = body.getLedgerGenesis();
      KeyInfo admin{ToString(g.getAdminKey()), ToString(g.getAdminName()),
                    {std::string(kAdminRole)}, seq, std::nullopt};
      public_key_by_keyid_[dsse::KeyId(admin.public_key)] = admin.public_key;
      keys_[admin.public_key] = admin;
      ++changes_;
      break;
    }
    case B::KEY_ENROLLED: {
      auto e = body.getKeyEnrolled();
      KeyInfo info{ToString(e.getPublicKey()), ToString(e.getName()), {}, seq, std::nullopt};
      for (auto role : e.getRoles()) info.roles.push_back(ToString(role));
      public_key_by_keyid_[dsse::KeyId(info.public_key)] = info.public_key;
      keys_[info.public_key] = info;
      ++changes_;
      break;
    }
    case B::KEY_REVOKED: {
      auto it = keys_.find(ToString(body.getKeyRevoked().getPublicKey()));
      if (it != keys_.end()) {
        it->second.revoked_seq = seq;
        ++changes_;
      }
      break;
    }
    default:
      break;
  }
}

}  // namespace shiplog
