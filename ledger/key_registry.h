// KeyRegistry: who may sign, as of a point in the log.
//
// Keys and roles are events (ledger.genesis enrols the first admin; key.enrolled and key.revoked
// are admin-signed), so the registry is a fold of those events: the ledger keeps it current on
// append, and `verify` rebuilds it from the records and checks every signature against the
// registry as it stood when that record was appended.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/event.h"
#include "ledger/status.h"

namespace shiplog {

// The name of the role that may enrol and revoke keys and activate policies.
constexpr std::string_view kAdminRole = "admin";
// The actor name of the ledger's own events (genesis, later denials). No agent may take it.
constexpr std::string_view kLedgerActor = "shiplog";

struct KeyInfo {
  std::string public_key;  // 32 raw bytes
  std::string name;
  std::vector<std::string> roles;
  uint64_t enrolled_seq = 0;
  std::optional<uint64_t> revoked_seq;

  bool HasRole(std::string_view role) const;
  bool active() const { return !revoked_seq.has_value(); }
};

class KeyRegistry {
 public:
  // The key's entry, enrolled or revoked; nullptr when it was never enrolled.
  const KeyInfo* Find(std::string_view public_key) const;
  // The same by dsse::KeyId of the key (hex SHA-256 of its bytes), as signed reads name it.
  const KeyInfo* FindByKeyId(std::string_view keyid) const;

  // Checks that `event`, signed by `public_key`, may be appended as of now: the key is enrolled
  // and not revoked, the event's actor is the key's name, and admin kinds come from an admin.
  // Also checks what an admin event asks for (no re-enrolment of a live key, no revoking an
  // unknown key, no agent called "shiplog").
  Status Authorize(const Event& event, std::string_view public_key) const;

  // Applies a ledger.genesis, key.enrolled or key.revoked event appended at `seq`; other kinds
  // are ignored. REQUIRES: Authorize() accepted it.
  void Apply(const Event& event, uint64_t seq);

  const std::map<std::string, KeyInfo, std::less<>>& keys() const { return keys_; }
  // Counts the Apply() calls that changed a key (an enrolment, a revocation): a holder of a copy
  // knows when to take a new one.
  uint64_t changes() const { return changes_; }

  // The roles of every live key enrolled under `name` (what an unsigned intent of that actor is
  // checked with); kUnknownKey when none is.
  Result<std::vector<std::string>> LiveRolesOf(std::string_view name) const;

 private:
  // By raw public key; std::less<> finds a key by its view, without a copy (Find runs for every
  // append and every record a replay folds).
  std::map<std::string, KeyInfo, std::less<>> keys_;
  std::map<std::string, std::string, std::less<>> public_key_by_keyid_;
  uint64_t changes_ = 0;
};

}  // namespace shiplog
