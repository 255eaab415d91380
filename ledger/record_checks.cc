#include "ledger/record_checks.h"

namespace shiplog {

Status CheckRecordAuthority(const StoredRecord& record, const KeyRegistry& registry_before,
                            std::string_view ledger_public_key) {
  const bool by_ledger = record.signed_event.public_key == ledger_public_key;
  if (record.seq == 0) {
    if (record.event.kind() != "ledger.genesis" || !by_ledger) {
      return Status::Forbidden("it is not a genesis signed by this ledger's key");
    }
    return Status::Ok();
  }
  if (record.event.kind() == "policy.denied") {
    if (!by_ledger || record.event.actor() != kLedgerActor) {
      return Status::Forbidden("a policy.denied record not signed by this ledger");
    }
    return Status::Ok();
  }
  return registry_before.Authorize(record.event, record.signed_event.public_key);
}

}  // namespace shiplog
