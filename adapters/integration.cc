#include "adapters/integration.h"

#include "adapters/routes.h"
#include "ledger/key_file.h"

namespace shiplog::adapters {
namespace {

// The roles an unsigned `intent` is judged with: see DecideAsOwner.
std::vector<std::string> SignerRolesFor(const policy::Policy& policy, const Event& intent) {
  const std::string kind(intent.kind());
  if (kind == "step.started" || kind == "step.reported") {
    const nlohmann::json fields = intent.ToJson();
    const policy::ChainStep* step = policy.FindStep(fields.value("step", std::string()));
    if (step != nullptr) return {step->owner};
  }
  std::vector<std::string> roles;
  for (const auto& [role, kinds] : policy.roles) {
    if (policy.RoleMayEmit(role, kind)) roles.push_back(role);
  }
  return roles;
}

}  // namespace

Result<std::shared_ptr<const IntegrationSigner>> LoadIntegrationSigner(const std::string& key_file,
                                                                       const Ledger& ledger) {
  auto read = ReadKeyFile(key_file);
  if (!read.ok()) return read.status().Prefixed("--integration-key");
  SigningKey key = std::move(read).value();
  const KeyRegistry keys = ledger.keys();
  const KeyInfo* info = keys.Find(key.PublicKey());
  if (info == nullptr || !info->active()) {
    return Status::UnknownKey("--integration-key " + key_file + ": key " +
                              HexEncode(key.PublicKey()) +
                              " is not enrolled in this ledger (enrol it with the enforcer role)");
  }
  return std::shared_ptr<const IntegrationSigner>(
      std::make_shared<IntegrationSigner>(IntegrationSigner{std::move(key), info->name}));
}

void SubmitAsServer(ServerState& state, nlohmann::json event,
                    std::function<void(Result<Receipt>)> done) {
  const IntegrationSigner* signer = state.options.integration.get();
  if (signer == nullptr) {
    return done(
        Status::FailedPrecondition("this server has no integration key to record with (shiplog "
                                   "serve --integration-key FILE)"));
  }
  // Appends wait until every record has been verified, as a submitted event does.
  if (Status open = AppendsOpen(state); !open.ok()) return done(open);
  event["actor"] = signer->actor;
  if (!event.contains("id")) event["id"] = RandomId();
  auto built = Event::FromJson(event);
  if (!built.ok()) return done(built.status());
  state.pipeline.Submit(SignedEvent::Sign(*built, signer->key), std::move(done));
}

void DecideAsOwner(ServerState& state, Event intent,
                   std::function<void(Result<policy::Decision>)> done) {
  if (state.gate == nullptr) {
    return done(Status::FailedPrecondition("this ledger enforces no policy"));
  }
  state.pipeline.RunInSequence([&state, intent = std::move(intent), done = std::move(done)] {
    const policy::Engine* engine = state.gate->engine();
    if (engine == nullptr)
      return done(Status::FailedPrecondition("the ledger has no policy in force"));
    done(state.gate->Check(intent, SignerRolesFor(engine->policy(), intent), state.ledger.Now()));
  });
}

std::shared_ptr<const policy::Policy> PolicyInForce(const ServerState& state) {
  return state.gate == nullptr ? nullptr : state.gate->policy_in_force();
}

}  // namespace shiplog::adapters
