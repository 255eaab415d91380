// Record checks: the rules every stored record must meet that do not depend on where the record
// is read from. Ledger::Verify() applies them to the whole log, and the offline bundle verifier
// (ledger/bundle.h) to the records a bundle carries, so both judge a record the same way.
#pragma once

#include <string_view>

#include "ledger/key_registry.h"
#include "ledger/ledger.h"
#include "ledger/status.h"

namespace shiplog {

// Checks that `record` was signed with the authority its place in the log needs: record 0 is a
// ledger.genesis signed by the ledger key; a policy.denied is the ledger's own, signed by the
// ledger key under the actor kLedgerActor; anything else is authorized by `registry_before`, the
// key registry as it stood just before the record. The message does not name the record (callers
// add "record N: "). The signature itself is SignedEvent::VerifySignature()'s to check.
Status CheckRecordAuthority(const StoredRecord& record, const KeyRegistry& registry_before,
                            std::string_view ledger_public_key);

}  // namespace shiplog
