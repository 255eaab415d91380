// A forged-but-signed event for the untrusted-input tests of the CLI and the server: what an agent
// with a real key could send that no JSON event can express.
#pragma once

#include <capnp/message.h>

#include <stdexcept>
#include <string>

#include "ledger/canonical.h"
#include "ledger/event.h"
#include "ledger/key_file.h"
#include "schemas/event.capnp.h"

namespace shiplog::testing {

// A maintenance window signed with `key_file` (the incident commander "ic") whose "to" is a count
// of nanoseconds: as microseconds, a year near 59,000. Only canonical bytes can carry it; the JSON
// form cannot write it.
inline std::string FarFutureWindowEnvelope(const std::string& key_file) {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<schema::Event>();
  event.setId("window-far");
  event.setActor("ic");
  auto window = event.initBody().initMaintenanceWindow();
  window.setEnvironment("production");
  window.setFrom(1'795'000'000'000'000);    // 2026-11-18, in microseconds
  window.setTo(1'795'000'000'000'000'000);  // the same instant in nanoseconds
  auto key = ReadKeyFile(key_file);
  if (!key.ok()) throw std::runtime_error(key.status().ToString());
  SignedEvent signed_event;
  signed_event.scheme = std::string(kSchemeEd25519Capnp);
  signed_event.payload = CanonicalBytes(event.asReader());
  signed_event.public_key = key->PublicKey();
  signed_event.signature = key->Sign(signed_event.payload);
  return signed_event.ToJson().dump();
}

}  // namespace shiplog::testing
