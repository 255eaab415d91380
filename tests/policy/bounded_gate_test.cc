// The policy gate holds a bounded cache of deployments and rebuilds the others from their records
// (policy_gate.h). The property: over random event streams appended in random batches, with the
// ledger reopened now and then, a gate that may hold only two deployments makes every decision,
// refusal and receipt exactly as the plain fold of every record does, and `check` answers alike.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <filesystem>

#include "tests/postgres/postgres_server.h"
#include "tests/postgres/test_store.h"
#include "tests/replay/replay_test_util.h"

namespace shiplog::policy {
namespace {
namespace SHIPLOG_THIS_FILE {

using replay_test::json;
using replay_test::kActors;
using replay_test::RandomEvent;

constexpr int kDeployments = 6;

// A RandomEvent for any of the deployments, which share two apps, plus rollbacks, maintenance
// windows and waivers of one-at-a-time, so that in-progress state crosses deployments.
json StreamEvent(int minutes, int id) {
  const int n = *rc::gen::inRange(1, kDeployments + 1);
  const int pick = *rc::gen::inRange(0, 13);
  const int step_pick = *rc::gen::inRange(0, 8);
  const std::string d = "d-" + std::to_string(n);
  json event;
  switch (pick) {
    case 10:
      event = {{"kind", "rollback.completed"}, {"actor", "thijmen"}, {"deployment", d},
               {"reason", "error rate"}};
      break;
    case 11: {
      const Micros from = replay_test::kStart + *rc::gen::inRange(0, 600) * kMicrosPerMinute;
      event = {{"kind", "maintenance.window"}, {"actor", "ic"}, {"environment", "production"},
               {"from", FormatTime(from)}, {"to", FormatTime(from + 60 * kMicrosPerMinute)}};
      break;
    }
    case 12:
      event = {{"kind", "waiver.granted"}, {"actor", "rm"}, {"deployment", d}, {"rule", "R5"},
               {"reason", "a second train"}};
      break;
    default:
      event = RandomEvent(pick, n, step_pick, minutes, *rc::gen::element("a1", "a2"));
  }
  event["id"] = "e-" + std::to_string(id);
  return event;
}

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) throw std::runtime_error(r.status().ToString());
  return std::move(r).value();
}
void Must(const Status& s) {
  if (!s.ok()) throw std::runtime_error(s.ToString());
}

// One ledger directory opened with a gate of the given options.
struct GatedLedger {
  GatedLedger(std::string dir, PolicyGate::Options options) : dir(std::move(dir)), options(options) {
    Reopen();
  }
  void Reopen() {
    ledger.reset();
    gate = std::make_unique<PolicyGate>(options);
    ledger = Must(Ledger::Open(dir, &unused_clock, gate.get()));
  }
  std::string dir;
  PolicyGate::Options options;
  SystemClock unused_clock;  // a manual-clock ledger never reads it
  std::unique_ptr<PolicyGate> gate;
  std::unique_ptr<Ledger> ledger;
};

std::string Answer(const Result<Receipt>& r) {
  return r.ok() ? r->ToJson().dump() : r.status().ToString();
}

std::string Answer(const Result<Decision>& d) {
  return d.ok() ? d->ToJson().dump() : d.status().ToString();
}

RC_GTEST_PROP(BoundedGateProperty, DecidesAsThePlainFold, ()) {
  InitCrypto();
  testing::ScratchDir dir;
  SystemClock clock;
  SigningKey admin = SigningKey::Generate();
  InitOptions init;
  init.admin_public_key = admin.PublicKey();
  init.manual_clock = true;
  init.manual_clock_start = replay_test::kStart;
  init.policy = replay_test::DefaultPolicy().source;
  init.store = shiplog::testing::NewTestStoreUrl();
  Must(Ledger::Init(dir / "plain", init, &clock));
  // The same ledger key and genesis in both, so their receipts can be compared byte for byte.
  std::filesystem::copy(dir / "plain", dir / "bounded", std::filesystem::copy_options::recursive);
  if (!init.store.empty()) {  // on PostgreSQL: a copy of the database too, for the copied home
    const std::string name = init.store.substr(init.store.rfind('/') + 1);
    shiplog::testing::PostgresServer::Shared().Query(
        "postgres", "CREATE DATABASE " + name + "_bounded TEMPLATE " + name);
    testing::WriteFile(dir / "bounded/store", init.store + "_bounded\n");
  }

  PolicyGate::Options plain_options;
  plain_options.restore_from_indexes = false;
  PolicyGate::Options bounded_options;
  bounded_options.max_deployments = 2;
  bounded_options.max_facts = *rc::gen::inRange<size_t>(0, 12);
  GatedLedger plain(dir / "plain", plain_options), bounded(dir / "bounded", bounded_options);

  std::map<std::string, SigningKey> keys;
  auto append_both = [&](std::vector<SignedEvent> batch) {
    std::vector<CheckedEvent> one, other;
    for (const SignedEvent& e : batch) {
      one.push_back(Must(CheckEvent(e)));
      other.push_back(Must(CheckEvent(e)));
    }
    auto a = plain.ledger->AppendBatch(std::move(one));
    auto b = bounded.ledger->AppendBatch(std::move(other));
    for (size_t i = 0; i < a.size(); ++i) RC_ASSERT(Answer(a[i]) == Answer(b[i]));
  };
  for (const auto& [name, roles] : kActors) {
    SigningKey key = SigningKey::Generate();
    Event enroll = Must(Event::FromJson({{"kind", "key.enrolled"}, {"id", "enroll-" + name},
                                         {"actor", "admin"}, {"name", name},
                                         {"public_key", HexEncode(key.PublicKey())},
                                         {"roles", roles}}));
    append_both({SignedEvent::Sign(enroll, admin)});
    keys.emplace(name, std::move(key));
  }

  const int batches = *rc::gen::inRange(1, 30);
  int ids = 0;
  for (int b = 0; b < batches; ++b) {
    std::vector<SignedEvent> batch;
    const int size = *rc::gen::inRange(1, 5);
    for (int i = 0; i < size; ++i) {
      // Now and then an event repeats one of the batch, or its id.
      const int id = *rc::gen::inRange(0, 8) == 0 && ids > 0 ? ids : ++ids;
      Event event = Must(Event::FromJson(StreamEvent(*rc::gen::inRange(0, 40), id)));
      batch.push_back(SignedEvent::Sign(event, keys.at(std::string(event.actor()))));
    }
    append_both(std::move(batch));
    if (*rc::gen::inRange(0, 3) == 0) {
      const Micros by = *rc::gen::inRange(0, 40) * kMicrosPerMinute;
      Must(plain.ledger->AdvanceClock(by));
      Must(bounded.ledger->AdvanceClock(by));
    }
    if (*rc::gen::inRange(0, 6) == 0) bounded.Reopen();
    if (*rc::gen::inRange(0, 4) == 0) {
      Event intent = Must(Event::FromJson(StreamEvent(0, 0)));
      auto roles = plain.ledger->keys().LiveRolesOf(intent.actor());
      RC_ASSERT(roles.ok());
      RC_ASSERT(Answer(plain.gate->Check(intent, *roles, plain.ledger->Now())) ==
                Answer(bounded.gate->Check(intent, *roles, bounded.ledger->Now())));
    }
    // Trimmed after each commit; a batch refused whole, or a check, may add what it read.
    RC_ASSERT(bounded.gate->deployments_held() <= 2 + 5 + 1);
  }
  RC_ASSERT(plain.gate->engine()->environment().in_progress ==
            bounded.gate->engine()->environment().in_progress);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::policy
