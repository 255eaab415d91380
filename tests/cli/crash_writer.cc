// A child process for the crash test: appends events to a ledger as fast as it can and prints
// "<seq> <event id>" for each append that returned success, until it is killed.
#include <cstdio>
#include <string>

#include "ledger/key_file.h"
#include "ledger/ledger.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: crash_writer DATA_DIR KEY_FILE RUN_NAME\n");
    return 2;
  }
  shiplog::InitCrypto();
  shiplog::SystemClock clock;
  auto ledger = shiplog::Ledger::Open(argv[1], &clock);
  auto key = shiplog::ReadKeyFile(argv[2]);
  if (!ledger.ok() || !key.ok()) {
    std::fprintf(stderr, "crash_writer: cannot open the ledger or the key\n");
    return 1;
  }
  for (uint64_t i = 0;; ++i) {
    std::string id = std::string(argv[3]) + "-" + std::to_string(i);
    nlohmann::json event = {{"kind", "gate.result"}, {"id", id},        {"actor", "writer"},
                            {"deployment", "crash"}, {"gate", "tests"}, {"outcome", "pass"}};
    auto built = shiplog::Event::FromJson(event);
    auto receipt = (*ledger)->Append(shiplog::SignedEvent::Sign(*built, *key));
    if (!receipt.ok()) {
      std::fprintf(stderr, "crash_writer: %s\n", receipt.status().ToString().c_str());
      return 1;
    }
    std::printf("%llu %s\n", static_cast<unsigned long long>(receipt->seq), id.c_str());
    std::fflush(stdout);
  }
}
