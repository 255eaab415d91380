// In-process helpers for the server's load tests: signing many events without a `shiplog sign`
// process each, and checking the receipts that come back against the ledger's public key.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "ledger/clock.h"
#include "ledger/event.h"
#include "ledger/key_file.h"
#include "ledger/ledger.h"

namespace shiplog::testing {

// A signing key read from an agent's key file, signing events in that agent's name.
class Agent {
 public:
  Agent(std::string name, const std::string& key_file) : name_(std::move(name)), key_(Load(key_file)) {}

  // `event` (which must carry an "id") signed as this agent.
  SignedEvent Sign(nlohmann::json event) const {
    event["actor"] = name_;
    auto built = Event::FromJson(event);
    if (!built.ok()) throw std::runtime_error("bad test event: " + built.status().ToString());
    return SignedEvent::Sign(*built, key_);
  }
  const std::string& name() const { return name_; }

 private:
  static SigningKey Load(const std::string& key_file) {
    auto key = ReadKeyFile(key_file);
    if (!key.ok()) throw std::runtime_error(key.status().ToString());
    return std::move(key).value();
  }
  std::string name_;
  SigningKey key_;
};

// The ledger's public key (32 raw bytes) from DATA/ledger.key.pub.
inline std::string LedgerPublicKey(const std::string& data_dir) {
  auto key = ReadPublicKey(data_dir + "/ledger.key.pub");
  if (!key.ok()) throw std::runtime_error(key.status().ToString());
  return std::move(key).value();
}

// A deploy request for a deployment of its own, of an app of its own (the default policy allows
// one deployment at a time per app and environment), which the policy allows a coordinator.
inline nlohmann::json DeployRequest(const std::string& id, const std::string& deployment) {
  return {{"id", id}, {"kind", "deploy.requested"}, {"deployment", deployment},
          {"app", deployment}, {"environment", "staging"}, {"version", "1.4.2"},
          {"image",
           "registry.example/checkout@sha256:"
           "4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b"},
          {"strategy", "rolling"}, {"risk", "low"},
          {"planned_steps", {"orchestrate", "build", "staging", "production"}}};
}

// The ids of the events stored at each sequence number, read with the server stopped (the store
// is locked while it runs).
class StoredLedger {
 public:
  explicit StoredLedger(const std::string& data_dir) {
    auto ledger = Ledger::OpenReadOnly(data_dir, &clock_);
    if (!ledger.ok()) throw std::runtime_error(ledger.status().ToString());
    ledger_ = std::move(ledger).value();
  }
  uint64_t size() const { return ledger_->size(); }
  // "" when there is no record at `seq`.
  std::string EventIdAt(uint64_t seq) const {
    auto record = ledger_->Read(seq);
    return record.ok() ? std::string(record->event.id()) : std::string();
  }

 private:
  SystemClock clock_;
  std::unique_ptr<Ledger> ledger_;
};

}  // namespace shiplog::testing
