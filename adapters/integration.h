// What the enforcement points (Kubernetes admission, GitHub's protection rule, Argo) share: the
// server's own signer, which records their answers as signed events like any agent's, and the
// policy's decision for an intent nobody signed yet.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "adapters/server.h"
#include "ledger/crypto.h"
#include "ledger/ledger.h"
#include "policy/engine.h"

namespace shiplog::adapters {

// The key `shiplog serve --integration-key FILE` names: enrolled in the ledger like any agent
// (the default pack's `enforcer` role may emit enforcement.decided and gate.result), so what the
// server records on an outside tool's behalf is signed, role-checked and verifiable.
struct IntegrationSigner {
  SigningKey key;
  std::string actor;  // the name it is enrolled under
};

// Reads the key file and finds its enrolled name: kUnknownKey when the ledger does not hold it
// (or it is revoked).
Result<std::shared_ptr<const IntegrationSigner>> LoadIntegrationSigner(const std::string& key_file,
                                                                       const Ledger& ledger);

// Signs `event` (a JSON event without "actor"; a random "id" when it has none) as the server's
// integration key and appends it through the pipeline; `done` runs once it is durable, refused
// (a repeated id: the first receipt with duplicate set; a different event under it: kConflict)
// or not built (kInvalidArgument). kFailedPrecondition when the server has no integration key, is
// not ready yet (the ledger is still being verified) or is shutting down.
void SubmitAsServer(ServerState& state, nlohmann::json event,
                    std::function<void(Result<Receipt>)> done);

// The policy's decision for `intent` (unsigned), as the role that would sign it gets it: the
// step's owner for step kinds, otherwise every role that may emit the kind. Records nothing;
// runs on the sequencer between batches. kFailedPrecondition when the ledger enforces no policy.
void DecideAsOwner(ServerState& state, Event intent,
                   std::function<void(Result<policy::Decision>)> done);

// The policy in force now (its declarations only: environments, roles, the chain); null when
// the ledger enforces none.
std::shared_ptr<const policy::Policy> PolicyInForce(const ServerState& state);

}  // namespace shiplog::adapters
