// A query's time bounds as text (an option's or a URL parameter's value), parsed into the filter
// the same way wherever they come from: `shiplog query --since/--until` and GET /v1/query.
#pragma once

#include <string>

#include "ledger/ledger.h"
#include "ledger/status.h"

namespace shiplog {

// One bound as written: the name it was given under ("--since", "since") and its RFC 3339 text
// (empty: unbounded).
struct NamedTime {
  std::string name;
  std::string text;
};

// Sets filter.since and filter.until from their text. kInvalidArgument naming the bound that is
// not a time, or both when `until` is not after `since`.
Status SetTimeBounds(QueryFilter& filter, const NamedTime& since, const NamedTime& until);

}  // namespace shiplog
