#include "tests/postgres/test_store.h"

#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "tests/postgres/postgres_server.h"

namespace shiplog::testing {

bool TestsUsePostgres() {
  static const bool postgres = [] {
    const char* store = std::getenv("SHIPLOG_TEST_STORE");
    const std::string_view name = store ? store : "";
    if (name.empty() || name == "rocksdb") return false;
    if (name == "postgresql") return true;
    throw std::runtime_error("SHIPLOG_TEST_STORE is '" + std::string(name) +
                             "': it takes rocksdb or postgresql");
  }();
  return postgres;
}

std::string NewTestStoreUrl() {
  return TestsUsePostgres() ? PostgresServer::Shared().CreateDatabase("ledger") : "";
}

}  // namespace shiplog::testing
