#include "ledger/query_bounds.h"

#include <utility>

namespace shiplog {

Status SetTimeBounds(QueryFilter& filter, const NamedTime& since, const NamedTime& until) {
  for (auto [bound, value] : {std::make_pair(&since, &filter.since),
                              std::make_pair(&until, &filter.until)}) {
    if (bound->text.empty()) continue;
    auto time = ParseTime(bound->text);
    if (!time.ok()) return time.status().Prefixed(bound->name);
    *value = *time;
  }
  if (filter.since && filter.until && *filter.until <= *filter.since) {
    return Status::InvalidArgument(until.name + " " + until.text + " is not after " + since.name +
                                   " " + since.text);
  }
  return Status::Ok();
}

}  // namespace shiplog
