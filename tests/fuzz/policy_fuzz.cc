// libFuzzer target: the policy file parser (`shiplog policy lint` / `policy activate`, a
// policy.activated record). Whatever the text, ParsePolicy gives a policy or errors with a place
// and a message, never a crash. A policy that parses is named by the hash of its text, parses
// again to the same policy, and decides the default pack's deploy chain without crashing, with
// decisions that survive their JSON round trip (receipts and bundles carry them).
// Seeds: tests/fuzz/corpus/policy (the default pack and variants); dictionary policy.dict.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "ledger/crypto.h"
#include "policy/engine.h"
#include "policy/policy.h"
#include "tests/server/deploy_chain.h"

namespace {

using nlohmann::json;
namespace policy = shiplog::policy;

constexpr shiplog::Micros kStart = 1795543200LL * shiplog::kMicrosPerSecond;

void Check(bool invariant) {
  if (!invariant) std::abort();
}

// Walks the default pack's chain through `engine`: each event decided (intents) and folded when
// allowed, as the sequencer does.
void WalkChain(policy::Engine& engine) {
  const auto agents = shiplog::testing::ChainAgents();
  uint64_t seq = 0;
  shiplog::Micros now = kStart;
  auto as = [&](const std::string& agent, json fields) {
    fields["id"] = "e-" + std::to_string(++seq);
    fields["actor"] = agent;
    fields["deployment"] = "d-1";
    auto event = shiplog::Event::FromJson(fields);
    if (!event.ok()) return;
    const std::vector<std::string>& roles = agents.at(agent);
    now += 20 * shiplog::kMicrosPerMinute;
    if (!engine.CheckAuthority(*event, roles).ok()) return;
    if (policy::Engine::IsIntent(*event)) {
      const policy::Decision decision = engine.Decide(*event, roles, now);
      auto again = policy::Decision::FromJson(decision.ToJson());
      Check(again.ok() && again->ToJson() == decision.ToJson());
      if (!decision.allowed) return;
    }
    engine.Apply(seq, now, *event, roles);
  };
  const json request =
      shiplog::testing::ChainRequest("shop", "r.example/shop@sha256:" + std::string(64, 'a'));
  shiplog::testing::WalkToStagingStart(as, request);
  as("thijmen", {{"kind", "step.reported"}, {"step", "staging"}, {"status", "READY"}});
  as("otto", {{"kind", "backup.verified"},
              {"scope", "production"},
              {"backup_id", "b-1"},
              {"restore_tested", true}});
  as("rutger", {{"kind", "step.started"}, {"step", "production"}});
  as("rm", {{"kind", "waiver.granted"}, {"rule", "R10"}, {"reason", "fuzz"}});
  as("leon", {{"kind", "deploy.completed"}});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  policy::ParseResult parsed = policy::ParsePolicy(text, "fuzz.yaml");
  Check(parsed.policy.has_value() != !parsed.errors.empty());
  for (const policy::PolicyError& error : parsed.errors) {
    Check(!error.message.empty() && error.where.file == "fuzz.yaml");
  }
  if (!parsed.policy) return 0;
  Check(parsed.policy->source == text);
  Check(parsed.policy->sha256_hex == shiplog::HexEncode(shiplog::AsBytes(shiplog::Sha256(text))));
  policy::ParseResult again = policy::ParsePolicy(parsed.policy->source, "again.yaml");
  Check(again.policy && again.policy->rules.size() == parsed.policy->rules.size() &&
        again.policy->roles == parsed.policy->roles);
  policy::Engine engine(std::move(*parsed.policy));
  WalkChain(engine);
  return 0;
}
