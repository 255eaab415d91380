// DORA metrics from the signed records: how often deployments complete, how long they take from
// request to completion, how many are followed by a rollback or an incident, and how long
// incidents take to resolve; per app and environment over a period, and per UTC day for charts.
//
// Everything is read from the records the ledger holds (each checked on read), through its
// indexes. A denied intent is a policy.denied record, never a deploy.requested or
// deploy.completed, so denied attempts never count. Times are ledger times; the answer is as of
// the ledger's size when ComputeDora starts (records appended meanwhile are not read).
//
// Definitions, for a period [since, until) and a window (24 h by default):
//   - A deployment belongs to the app and environment of its first deploy.requested record (an
//     allowed request: a denied one is a policy.denied). A deploy.completed without a recorded
//     request belongs to no app and is not counted; a deployment counts once, at its first
//     deploy.completed.
//   - Deployment frequency: the deployments whose deploy.completed record's ledger time is in
//     [since, until); per day, that count / the period's length in days ((until - since) in
//     seconds / 86400).
//   - Lead time: for each such completed deployment, its completed time minus its
//     deploy.requested time. Count, median (the middle value; the mean of the two middle values
//     for an even count), mean and p90 (nearest rank: the value at rank ceil(0.9 * n)), in
//     seconds.
//   - Change failure rate: a completed deployment D (app A, environment E, completed at t) failed
//     when, within the window after t (t < x <= t + window) AND before the next completed
//     deployment of A in E (by sequence number), the ledger holds a rollback.started of any
//     deployment of A in E (D itself included) or an incident.opened in E. The earliest such
//     record is what failed it. These records are looked for in the whole ledger, also after
//     `until`. rate = failed / completed; absent for no completed deployment.
//   - Time to restore: for each incident.opened in [since, until), the time to the first later
//     incident.resolved with the same environment and incident id (in the whole ledger); an
//     incident with none is unresolved. Count opened, resolved, unresolved, and median, mean and
//     p90 over the resolved ones, in seconds. Which incidents: those of the environment filter
//     when one is given; incidents carry an environment but no app, so with only an app filter,
//     those of the environments where that app completed a deployment in the period; with no
//     filter, all of them. A group's are its environment's (the same incident counts in each
//     group of that environment; once in the total).
//   - Groups: one per (app, environment) with a deployment completed in the period, by app then
//     environment; the total is over the filter. Days: every UTC day the period touches, with
//     the deployments completed that day, how many of those failed, and their median lead time.
//
// JSON (DoraReport::ToJson), a statistic over nothing is null:
//   {"format": "shiplog-dora-v1", "since", "until" (RFC 3339), "window_seconds",
//    "app"? , "environment"? (the filters given),
//    "total": METRICS,
//    "groups": [{"app", "environment", ...METRICS}],
//    "days": [{"day": "YYYY-MM-DD", "deployments", "failed", "lead_time_median_seconds"}]}
//   METRICS = {"deployments", "deployments_per_day",
//              "lead_time": {"count", "median_seconds", "mean_seconds", "p90_seconds"},
//              "change_failure": {"completed", "failed", "rate",
//                                 "failures": [{"deployment", "by_seq", "by_kind"}]},
//              "time_to_restore": {"opened", "resolved", "unresolved", "median_seconds",
//                                  "mean_seconds", "p90_seconds"}}
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "ledger/query_bounds.h"
#include "ledger/status.h"

namespace shiplog::replay {

constexpr Micros kDefaultDoraWindow = 24 * 60 * kMicrosPerMinute;
// The longest period one report covers (about ten years): its day series stays a few hundred
// kilobytes.
constexpr int64_t kMaxDoraDays = 3660;

// What to measure: the period [since, until) of ledger time, optionally one app and/or one
// environment (empty: all).
struct DoraQuery {
  Micros since = 0;
  Micros until = 0;
  Micros window = kDefaultDoraWindow;  // how long after a completion a failure counts; > 0
  std::string app;
  std::string environment;
};

// A statistic of durations; the optional ones are absent over nothing.
struct DurationStats {
  uint64_t count = 0;
  std::optional<double> median_seconds;
  std::optional<double> mean_seconds;
  std::optional<double> p90_seconds;
};

// A completed deployment that failed, and the record that failed it.
struct DoraFailure {
  std::string deployment;
  uint64_t by_seq = 0;
  std::string by_kind;  // "rollback.started" or "incident.opened"
};

// The four metrics over one set of deployments and incidents.
struct DoraMetrics {
  uint64_t deployments = 0;  // completed in the period; also the change failure's "completed"
  double deployments_per_day = 0;
  DurationStats lead_time;
  uint64_t failed = 0;
  std::optional<double> change_failure_rate;
  std::vector<DoraFailure> failures;  // in completion order
  uint64_t incidents_opened = 0;
  DurationStats time_to_restore;  // over the resolved ones: count is how many resolved
};

struct DoraGroup {
  std::string app;
  std::string environment;
  DoraMetrics metrics;
};

// One UTC day of the chart series.
struct DoraDay {
  Micros start = 0;  // 00:00:00 UTC
  uint64_t deployments = 0;
  uint64_t failed = 0;
  std::optional<double> lead_time_median_seconds;
};

struct DoraReport {
  DoraQuery query;
  DoraMetrics total;
  std::vector<DoraGroup> groups;
  std::vector<DoraDay> days;

  nlohmann::json ToJson() const;  // the form at the top of this file
};

// The metrics of `query` over `ledger`'s records. kInvalidArgument when until is not after
// since, the window is not positive, or the period is longer than kMaxDoraDays; a record that
// does not check out on read fails the whole answer (kCorrupt naming it).
Result<DoraReport> ComputeDora(const Ledger& ledger, const DoraQuery& query);

// The end of a period when none is given: the first whole second after the ledger's time now
// (Ledger::Now: a drill ledger's manual clock, else the clock's, never before the last record),
// so every record the ledger holds is inside it.
Micros DefaultDoraUntil(const Ledger& ledger);

// A duration as given, with the name it came under ("--window", "parameter window"); empty text
// when not given.
struct NamedDuration {
  std::string name;
  std::string text;
};

// `shiplog dora`'s options and GET /v1/dora's parameters, as given, each named so an error says
// which one is wrong.
struct DoraArguments {
  NamedTime since;       // required (RFC 3339)
  NamedTime until;       // DefaultDoraUntil when empty
  NamedDuration window;  // "24h", "30m", "2d" (ParseDuration); kDefaultDoraWindow when empty
  std::string app;
  std::string environment;
};

// The query the arguments ask for; kInvalidArgument naming the argument that is missing or
// wrong (ComputeDora's checks included, so a bad period is named here).
Result<DoraQuery> ParseDoraArguments(const DoraArguments& arguments, const Ledger& ledger);

}  // namespace shiplog::replay
