#include "replay/dora.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "ledger/index.h"

namespace shiplog::replay {
namespace {

using nlohmann::json;

constexpr Micros kMicrosPerDay = 86400 * kMicrosPerSecond;
constexpr std::string_view kDeployCompleted = "deploy.completed";
constexpr std::string_view kDeployRequested = "deploy.requested";
constexpr std::string_view kRollbackStarted = "rollback.started";
constexpr std::string_view kIncidentOpened = "incident.opened";
constexpr std::string_view kIncidentResolved = "incident.resolved";

// A deployment completed in the period, as the metrics read it.
struct Completion {
  std::string deployment;
  std::string app;
  std::string environment;
  uint64_t seq = 0;  // its deploy.completed
  Micros requested_at = 0;
  Micros completed_at = 0;
  std::optional<DoraFailure> failure;

  Micros lead_time() const { return completed_at - requested_at; }
};

// An incident opened in the period.
struct OpenedIncident {
  std::string environment;
  std::string incident;
  uint64_t seq = 0;
  Micros opened_at = 0;
  std::optional<Micros> resolved_at;
};

std::string CapnpText(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

// Every index query of one report stops at the record that was last when it started, so records
// appended while it runs never make it inconsistent.
class DoraIndex {
 public:
  explicit DoraIndex(const Ledger& ledger) : ledger_(ledger), last_(ledger.size() - 1) {}

  const Ledger& ledger() const { return ledger_; }

  // The matching seqs, in order, while `visit` returns true.
  Status Visit(QueryFilter filter, const Ledger::SeqVisitor& visit) const {
    filter.to_seq = filter.to_seq ? std::min(*filter.to_seq, last_) : last_;
    return ledger_.QuerySeqs(filter, visit);
  }

  Result<std::vector<uint64_t>> All(const QueryFilter& filter) const {
    std::vector<uint64_t> seqs;
    SHIPLOG_RETURN_IF_ERROR(Visit(filter, [&](uint64_t seq) {
      seqs.push_back(seq);
      return true;
    }));
    return seqs;
  }

  Result<std::optional<uint64_t>> First(const QueryFilter& filter) const {
    std::optional<uint64_t> first;
    SHIPLOG_RETURN_IF_ERROR(Visit(filter, [&](uint64_t seq) {
      first = seq;
      return false;
    }));
    return first;
  }

 private:
  const Ledger& ledger_;
  const uint64_t last_;
};

QueryFilter OfKind(std::string_view kind) {
  QueryFilter filter;
  filter.kind = std::string(kind);
  return filter;
}

QueryFilter KindOfDeployment(std::string_view kind, const std::string& deployment) {
  QueryFilter filter = OfKind(kind);
  filter.deployment = deployment;
  return filter;
}

// The completion at `seq` (a deploy.completed in the period), or nullopt when it does not count:
// not its deployment's first completion, no recorded request, or outside the app or environment
// asked for (the index's app and environment are the first request's, allowed or denied; the
// request read here is the allowed one the definition names).
Result<std::optional<Completion>> CompletionAt(const DoraIndex& index, uint64_t seq,
                                               const DoraQuery& query) {
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord completed, index.ledger().Read(seq));
  const std::string deployment(completed.event.deployment());
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<uint64_t> first,
                           index.First(KindOfDeployment(kDeployCompleted, deployment)));
  if (first != seq) return std::optional<Completion>();
  QueryFilter requests = KindOfDeployment(kDeployRequested, deployment);
  requests.to_seq = seq;
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<uint64_t> request_seq, index.First(requests));
  if (!request_seq) return std::optional<Completion>();
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord request, index.ledger().Read(*request_seq));
  std::optional<DeploymentRequest> asked = RequestOf(request);
  if (!asked) {
    return Status::Internal("record " + std::to_string(*request_seq) +
                            " is indexed as a deploy.requested but is not one");
  }
  if ((!query.app.empty() && asked->app != query.app) ||
      (!query.environment.empty() && asked->environment != query.environment)) {
    return std::optional<Completion>();
  }
  Completion c;
  c.deployment = deployment;
  c.app = asked->app;
  c.environment = asked->environment;
  c.seq = seq;
  c.requested_at = request.ledger_time;
  c.completed_at = completed.ledger_time;
  return std::optional<Completion>(std::move(c));
}

// The deployments completed in the period, in completion order.
Result<std::vector<Completion>> CompletionsIn(const DoraIndex& index, const DoraQuery& query) {
  QueryFilter filter = OfKind(kDeployCompleted);
  filter.app = query.app;
  filter.environment = query.environment;
  filter.since = query.since;
  filter.until = query.until;
  SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, index.All(filter));
  std::vector<Completion> completions;
  for (uint64_t seq : seqs) {
    SHIPLOG_ASSIGN_OR_RETURN(std::optional<Completion> c, CompletionAt(index, seq, query));
    if (c) completions.push_back(std::move(*c));
  }
  return completions;
}

// The first record `filter` matches that `wanted` accepts, reading each candidate; nullopt when
// none does.
Result<std::optional<StoredRecord>> FirstRecordWhere(
    const DoraIndex& index, const QueryFilter& filter,
    const std::function<bool(const StoredRecord&)>& wanted) {
  std::optional<StoredRecord> found;
  Status read;
  SHIPLOG_RETURN_IF_ERROR(index.Visit(filter, [&](uint64_t seq) {
    auto record = index.ledger().Read(seq);
    if (!record.ok()) read = record.status();
    if (!record.ok()) return false;
    if (!wanted(*record)) return true;
    found = std::move(record).value();
    return false;
  }));
  SHIPLOG_RETURN_IF_ERROR(read);
  return found;
}

// The seq of the next deploy.completed of another deployment of the same app and environment
// after `c`, if any: where the search for what failed `c` stops.
Result<std::optional<uint64_t>> NextCompletion(const DoraIndex& index, const Completion& c) {
  QueryFilter filter = OfKind(kDeployCompleted);
  filter.app = c.app;
  filter.environment = c.environment;
  filter.from_seq = c.seq + 1;
  // A repeat completion of the same deployment does not end the search.
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<StoredRecord> next,
                           FirstRecordWhere(index, filter, [&c](const StoredRecord& r) {
                             return r.event.deployment() != c.deployment;
                           }));
  return next ? std::optional<uint64_t>(next->seq) : std::nullopt;
}

// What failed `c`, if anything: the earliest rollback.started of its app and environment or
// incident.opened in its environment within the window after it and before the next completion.
Result<std::optional<DoraFailure>> FailureOf(const DoraIndex& index, const Completion& c,
                                             Micros window) {
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<uint64_t> next, NextCompletion(index, c));
  QueryFilter bounds;
  bounds.from_seq = c.seq + 1;
  if (next) bounds.to_seq = *next - 1;
  bounds.since = c.completed_at + 1;  // strictly after the completion
  // Through completed_at + window inclusive (until is exclusive), saturated at the last time.
  const Micros horizon = window > kMaxTime - c.completed_at ? kMaxTime : c.completed_at + window;
  bounds.until = horizon + 1;

  QueryFilter rollbacks = bounds;
  rollbacks.kind = std::string(kRollbackStarted);
  rollbacks.app = c.app;
  rollbacks.environment = c.environment;
  QueryFilter incidents = bounds;
  incidents.kind = std::string(kIncidentOpened);
  incidents.environment = c.environment;
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<uint64_t> rollback, index.First(rollbacks));
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<uint64_t> incident, index.First(incidents));
  if (!rollback && !incident) return std::optional<DoraFailure>();
  const bool by_rollback = rollback && (!incident || *rollback < *incident);
  return std::optional<DoraFailure>(
      DoraFailure{c.deployment, by_rollback ? *rollback : *incident,
                  std::string(by_rollback ? kRollbackStarted : kIncidentOpened)});
}

// The environment and incident id of an incident.opened or incident.resolved record.
std::pair<std::string, std::string> IncidentNames(const StoredRecord& record) {
  const auto body = record.event.reader().getBody();
  const auto incident =
      body.isIncidentOpened() ? body.getIncidentOpened() : body.getIncidentResolved();
  return {CapnpText(incident.getEnvironment()), CapnpText(incident.getIncident())};
}

// When `opened` was resolved: the first later incident.resolved of its environment and id.
Result<std::optional<Micros>> ResolvedAt(const DoraIndex& index, const OpenedIncident& opened) {
  QueryFilter filter = OfKind(kIncidentResolved);
  filter.environment = opened.environment;
  filter.from_seq = opened.seq + 1;
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<StoredRecord> resolved,
                           FirstRecordWhere(index, filter, [&opened](const StoredRecord& r) {
                             return IncidentNames(r).second == opened.incident;
                           }));
  return resolved ? std::optional<Micros>(resolved->ledger_time) : std::nullopt;
}

// The incidents opened in the period in `environment` (every environment when empty).
Status AddIncidentsOpened(const DoraIndex& index, const DoraQuery& query,
                          const std::string& environment, std::vector<OpenedIncident>& out) {
  QueryFilter filter = OfKind(kIncidentOpened);
  filter.environment = environment;
  filter.since = query.since;
  filter.until = query.until;
  SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, index.All(filter));
  for (uint64_t seq : seqs) {
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, index.ledger().Read(seq));
    OpenedIncident opened;
    std::tie(opened.environment, opened.incident) = IncidentNames(record);
    opened.seq = seq;
    opened.opened_at = record.ledger_time;
    SHIPLOG_ASSIGN_OR_RETURN(opened.resolved_at, ResolvedAt(index, opened));
    out.push_back(std::move(opened));
  }
  return Status::Ok();
}

// The incidents the filter covers (see the header): its environment's; with only an app, those
// of the environments the app's completions went to; else all.
Result<std::vector<OpenedIncident>> IncidentsFor(const DoraIndex& index, const DoraQuery& query,
                                                 const std::vector<Completion>& completions) {
  std::vector<OpenedIncident> incidents;
  if (!query.environment.empty() || query.app.empty()) {
    SHIPLOG_RETURN_IF_ERROR(AddIncidentsOpened(index, query, query.environment, incidents));
    return incidents;
  }
  std::set<std::string> environments;
  for (const Completion& c : completions) environments.insert(c.environment);
  for (const std::string& environment : environments) {
    SHIPLOG_RETURN_IF_ERROR(AddIncidentsOpened(index, query, environment, incidents));
  }
  std::sort(incidents.begin(), incidents.end(),
            [](const OpenedIncident& a, const OpenedIncident& b) { return a.seq < b.seq; });
  return incidents;
}

double DurationSeconds(Micros micros) { return static_cast<double>(micros) / kMicrosPerSecond; }

// Median (the mean of the middle two for an even count), mean and nearest-rank p90.
DurationStats StatsOf(std::vector<Micros> durations) {
  DurationStats stats;
  stats.count = durations.size();
  if (durations.empty()) return stats;
  std::sort(durations.begin(), durations.end());
  const size_t n = durations.size();
  const double middle = DurationSeconds(durations[n / 2]);
  stats.median_seconds = n % 2 == 1 ? middle : (DurationSeconds(durations[n / 2 - 1]) + middle) / 2;
  double sum = 0;
  for (Micros d : durations) sum += DurationSeconds(d);
  stats.mean_seconds = sum / n;
  const size_t rank = (9 * n + 9) / 10;  // ceil(0.9 * n), in integers
  stats.p90_seconds = DurationSeconds(durations[rank - 1]);
  return stats;
}

DoraMetrics MetricsOf(const std::vector<const Completion*>& completions,
                      const std::vector<const OpenedIncident*>& incidents, const DoraQuery& query) {
  DoraMetrics m;
  m.deployments = completions.size();
  m.deployments_per_day =
      static_cast<double>(m.deployments) * kMicrosPerDay / (query.until - query.since);
  std::vector<Micros> lead_times;
  for (const Completion* c : completions) {
    lead_times.push_back(c->lead_time());
    if (c->failure) m.failures.push_back(*c->failure);
  }
  m.lead_time = StatsOf(std::move(lead_times));
  m.failed = m.failures.size();
  if (m.deployments > 0) {
    m.change_failure_rate = static_cast<double>(m.failed) / m.deployments;
  }
  m.incidents_opened = incidents.size();
  std::vector<Micros> restore_times;
  for (const OpenedIncident* i : incidents) {
    if (i->resolved_at) restore_times.push_back(*i->resolved_at - i->opened_at);
  }
  m.time_to_restore = StatsOf(std::move(restore_times));
  return m;
}

// The multiple of `unit` at or before `t` (times before 1970 are negative: round down, not
// toward zero).
Micros FloorTo(Micros t, Micros unit) {
  Micros units = t / unit;
  if (t % unit < 0) --units;
  return units * unit;
}

// 00:00:00 UTC of the day `t` is in.
Micros DayStart(Micros t) { return FloorTo(t, kMicrosPerDay); }

std::vector<DoraDay> DaysOf(const std::vector<Completion>& completions, const DoraQuery& query) {
  std::map<Micros, std::vector<const Completion*>> by_day;
  for (const Completion& c : completions) by_day[DayStart(c.completed_at)].push_back(&c);
  std::vector<DoraDay> days;
  for (Micros day = DayStart(query.since); day < query.until; day += kMicrosPerDay) {
    DoraDay d;
    d.start = day;
    std::vector<Micros> lead_times;
    for (const Completion* c : by_day[day]) {
      ++d.deployments;
      d.failed += c->failure ? 1 : 0;
      lead_times.push_back(c->lead_time());
    }
    d.lead_time_median_seconds = StatsOf(std::move(lead_times)).median_seconds;
    days.push_back(d);
  }
  return days;
}

DoraReport Aggregate(const DoraQuery& query, const std::vector<Completion>& completions,
                     const std::vector<OpenedIncident>& incidents) {
  std::vector<const Completion*> all_completions;
  std::map<std::pair<std::string, std::string>, std::vector<const Completion*>> by_group;
  for (const Completion& c : completions) {
    all_completions.push_back(&c);
    by_group[{c.app, c.environment}].push_back(&c);
  }
  std::vector<const OpenedIncident*> all_incidents;
  std::map<std::string, std::vector<const OpenedIncident*>> by_environment;
  for (const OpenedIncident& i : incidents) {
    all_incidents.push_back(&i);
    by_environment[i.environment].push_back(&i);
  }
  DoraReport report;
  report.query = query;
  report.total = MetricsOf(all_completions, all_incidents, query);
  for (const auto& [group, members] : by_group) {
    report.groups.push_back(
        {group.first, group.second, MetricsOf(members, by_environment[group.second], query)});
  }
  report.days = DaysOf(completions, query);
  return report;
}

Status CheckQuery(const DoraQuery& query) {
  if (!IsAcceptedTime(query.since) || !IsAcceptedTime(query.until)) {
    return Status::InvalidArgument("a period's ends are times of the years 0001 to 9999");
  }
  if (query.until <= query.since) {
    return Status::InvalidArgument("until " + FormatTime(query.until) + " is not after since " +
                                   FormatTime(query.since));
  }
  if (query.window <= 0) return Status::InvalidArgument("the window must be longer than 0s");
  if (query.until - query.since > kMaxDoraDays * kMicrosPerDay) {
    return Status::InvalidArgument("a period is at most " + std::to_string(kMaxDoraDays) +
                                   " days; " + FormatTime(query.since) + " to " +
                                   FormatTime(query.until) + " is longer");
  }
  return Status::Ok();
}

json OrNull(const std::optional<double>& value) { return value ? json(*value) : json(nullptr); }

json StatsJson(const DurationStats& s) {
  return {{"median_seconds", OrNull(s.median_seconds)},
          {"mean_seconds", OrNull(s.mean_seconds)},
          {"p90_seconds", OrNull(s.p90_seconds)}};
}

json MetricsJson(const DoraMetrics& m) {
  json failures = json::array();
  for (const DoraFailure& f : m.failures) {
    failures.push_back(
        {{"deployment", f.deployment}, {"by_seq", f.by_seq}, {"by_kind", f.by_kind}});
  }
  json lead_time = StatsJson(m.lead_time);
  lead_time["count"] = m.lead_time.count;
  json restore = StatsJson(m.time_to_restore);
  restore["opened"] = m.incidents_opened;
  restore["resolved"] = m.time_to_restore.count;
  restore["unresolved"] = m.incidents_opened - m.time_to_restore.count;
  return {{"deployments", m.deployments},
          {"deployments_per_day", m.deployments_per_day},
          {"lead_time", std::move(lead_time)},
          {"change_failure",
           {{"completed", m.deployments},
            {"failed", m.failed},
            {"rate", OrNull(m.change_failure_rate)},
            {"failures", std::move(failures)}}},
          {"time_to_restore", std::move(restore)}};
}

}  // namespace

Result<DoraReport> ComputeDora(const Ledger& ledger, const DoraQuery& query) {
  SHIPLOG_RETURN_IF_ERROR(CheckQuery(query));
  const DoraIndex index(ledger);
  SHIPLOG_ASSIGN_OR_RETURN(std::vector<Completion> completions, CompletionsIn(index, query));
  for (Completion& c : completions) {
    SHIPLOG_ASSIGN_OR_RETURN(c.failure, FailureOf(index, c, query.window));
  }
  SHIPLOG_ASSIGN_OR_RETURN(std::vector<OpenedIncident> incidents,
                           IncidentsFor(index, query, completions));
  return Aggregate(query, completions, incidents);
}

json DoraReport::ToJson() const {
  json out = {{"format", "shiplog-dora-v1"},
              {"since", FormatTime(query.since)},
              {"until", FormatTime(query.until)},
              {"window_seconds", DurationSeconds(query.window)}};
  if (!query.app.empty()) out["app"] = query.app;
  if (!query.environment.empty()) out["environment"] = query.environment;
  out["total"] = MetricsJson(total);
  out["groups"] = json::array();
  for (const DoraGroup& g : groups) {
    json group = {{"app", g.app}, {"environment", g.environment}};
    group.update(MetricsJson(g.metrics));
    out["groups"].push_back(std::move(group));
  }
  out["days"] = json::array();
  for (const DoraDay& d : days) {
    out["days"].push_back({{"day", FormatTime(d.start).substr(0, 10)},
                           {"deployments", d.deployments},
                           {"failed", d.failed},
                           {"lead_time_median_seconds", OrNull(d.lead_time_median_seconds)}});
  }
  return out;
}

Micros DefaultDoraUntil(const Ledger& ledger) {
  return FloorTo(ledger.Now(), kMicrosPerSecond) + kMicrosPerSecond;
}

Result<DoraQuery> ParseDoraArguments(const DoraArguments& arguments, const Ledger& ledger) {
  if (arguments.since.text.empty()) {
    const std::string example = "RFC 3339, e.g. 2026-11-01T00:00:00Z";
    return Status::InvalidArgument(arguments.since.name + " is required (" + example + ")");
  }
  QueryFilter bounds;
  SHIPLOG_RETURN_IF_ERROR(SetTimeBounds(bounds, arguments.since, arguments.until));
  DoraQuery query;
  query.since = *bounds.since;
  query.until = bounds.until ? *bounds.until : DefaultDoraUntil(ledger);
  if (query.until <= query.since) {
    return Status::InvalidArgument(arguments.since.name + " " + arguments.since.text +
                                   " is not before the ledger's time now (" +
                                   FormatTime(ledger.Now()) + "), the default " +
                                   arguments.until.name);
  }
  if (!arguments.window.text.empty()) {
    auto window = ParseDuration(arguments.window.text);
    if (!window.ok()) {
      return window.status().Prefixed(arguments.window.name + " '" + arguments.window.text + "'");
    }
    if (*window <= 0) {
      return Status::InvalidArgument(arguments.window.name + " must be longer than 0s");
    }
    query.window = *window;
  }
  query.app = arguments.app;
  query.environment = arguments.environment;
  SHIPLOG_RETURN_IF_ERROR(CheckQuery(query));
  return query;
}

}  // namespace shiplog::replay
