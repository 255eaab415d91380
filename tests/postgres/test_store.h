// Which store the ledger, policy-gate and server tests make their ledgers on: RocksDB, or
// PostgreSQL when SHIPLOG_TEST_STORE=postgresql (the ctest label "postgresql" runs the suites so).
#pragma once

#include <string>

namespace shiplog::testing {

// Whether SHIPLOG_TEST_STORE asks for PostgreSQL.
bool TestsUsePostgres();

// The store for a new test ledger: "" for RocksDB in its directory, or, under PostgreSQL, the URL
// of a new, empty database on the test process's server (PostgresServer::Shared()).
std::string NewTestStoreUrl();

}  // namespace shiplog::testing
