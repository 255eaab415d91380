#include "tests/fuzz/fuzz_ledger.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "ledger/store.h"
#include "policy/policy.h"
#include "tests/server/deploy_chain.h"

namespace shiplog::fuzz {
namespace {

// 2026-11-24T18:00:00Z, the time the tests' ledgers start at.
constexpr Micros kStart = 1795543200LL * kMicrosPerSecond;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fuzz ledger: %s\n", what.c_str());
  std::abort();
}

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) Die(r.status().ToString());
  return std::move(r).value();
}
void Must(const Status& s) {
  if (!s.ok()) Die(s.ToString());
}

std::string MakeTempDir() {
  std::string path = (std::filesystem::temp_directory_path() / "shiplog-fuzz-XXXXXX").string();
  if (!mkdtemp(path.data())) Die("cannot make a temporary directory");
  return path;
}

}  // namespace

SigningKey FuzzLedger::KeyOf(const std::string& name) {
  return Must(SigningKey::FromSeed(AsBytes(Sha256("shiplog fuzz key " + name))));
}

SigningKey FuzzLedger::LedgerKey() {
  return Must(SigningKey::FromSeed(
      AsBytes(Sha256("shiplog fuzz ledger key " + policy::DefaultPolicyText()))));
}

FuzzLedger& FuzzLedger::Get() {
  // Never destroyed: the targets may still be answering on pool threads at exit.
  static FuzzLedger* fixture = new FuzzLedger();
  return *fixture;
}

FuzzLedger::FuzzLedger() : data_dir_(MakeTempDir()) {
  static std::string removed_at_exit;
  removed_at_exit = data_dir_;
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(removed_at_exit, ignored);
  });
  InitCrypto();
  SigningKey ledger_key = LedgerKey();
  ledger_public_key_ = ledger_key.PublicKey();
  InitOptions options;
  options.admin_public_key = KeyOf("admin").PublicKey();
  options.manual_clock = true;
  options.manual_clock_start = kStart;
  options.policy = policy::DefaultPolicyText();
  auto store = Must(OpenRocksStore(data_dir_ + "/db", true));
  Must(Ledger::WriteGenesis(*store, ledger_key, options, &unused_clock_));
  ledger_ = Must(Ledger::Open(std::move(store), std::move(ledger_key), &unused_clock_, &gate_));
  for (const auto& [name, roles] : testing::ChainAgents()) {
    Append("admin", {{"kind", "key.enrolled"},
                     {"name", name},
                     {"public_key", HexEncode(KeyOf(name).PublicKey())},
                     {"roles", roles}});
  }
  const auto request =
      testing::ChainRequest("shop", "registry.example/shop@sha256:" + std::string(64, 'a'));
  testing::WalkToStagingStart(
      [this](const std::string& agent, nlohmann::json event) {
        event["deployment"] = kDeployment;
        Append(agent, std::move(event));
      },
      request);
  const SignedEvent staging_ready = Append("thijmen", {{"kind", "step.reported"},
                                                       {"deployment", kDeployment},
                                                       {"step", "staging"},
                                                       {"status", "READY"}});
  stored_signed_event_ = staging_ready.ToJson();
  stored_event_ = Must(Event::FromCanonical(staging_ready.payload)).ToJson();
  // Too early for R10's soak and with no backup (R12): recorded as a denial.
  Append("rutger", {{"kind", "step.started"}, {"deployment", kDeployment}, {"step", "production"}});
}

SignedEvent FuzzLedger::Append(const std::string& agent, nlohmann::json event) {
  event["id"] = "fuzz-" + std::to_string(++ids_);
  event["actor"] = agent;
  const SignedEvent signed_event = SignedEvent::Sign(Must(Event::FromJson(event)), KeyOf(agent));
  Must(ledger_->Append(signed_event));
  Must(ledger_->AdvanceClock(kMicrosPerMinute));
  return signed_event;
}

}  // namespace shiplog::fuzz
