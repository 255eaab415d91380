// The PostgreSQL store's schema migrations (schemas/postgresql/NNN_name.sql), compiled into the
// library by ledger/CMakeLists.txt. Private to ledger/pg_store.cc.
#pragma once

#include <vector>

namespace shiplog::internal {

struct PgMigration {
  int version;       // NNN of the file's name: the schema version once it is applied
  const char* name;  // the file's name, for messages
  const char* sql;   // the file's text, run in one transaction
};

// Every migration, in version order.
const std::vector<PgMigration>& PgMigrations();

}  // namespace shiplog::internal
