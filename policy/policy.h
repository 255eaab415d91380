// Policy: a deploy team's rules as data, parsed from a policy file (YAML).
//
// The file format, by example, is policy/default.yaml (the default pack, R1-R17). Its grammar:
//
//   shiplog_policy: 1                  the format version (required)
//   name: TEXT                         (required)
//   description: TEXT                  (optional)
//   roles: {ROLE: [KIND, ...], ...}    event kinds each role may emit; KIND is an event kind name
//                                      (ledger/event.h EventKindNames()) or a prefix glob "rollback.*"
//   chain: [{step: STEP, owner: ROLE}, ...]      the steps in order; owners are declared roles
//   environments:                      where deploys happen, for the enforcement points
//     ENVIRONMENT:                     (adapters/: Kubernetes admission, GitHub, Argo)
//       step: STEP                     the chain step a deploy to it applies
//       namespaces: [NAMESPACE, ...]   Kubernetes namespaces it guards
//       namespace_label: KEY=VALUE     or: namespaces carrying this label (the webhook whose
//                                      namespaceSelector picks them calls /v1/admission/ENV)
//       github_environments: [NAME, ...]   GitHub environments that deploy to it
//     A namespace, label or GitHub environment belongs to one environment at most.
//   waivers: {roles: [ROLE, ...], never: [RULE_ID, ...]}
//   reads:                             who may read from `shiplog serve` (signed reads)
//     public: [GROUP, ...]             what answers unsigned: health (/healthz, /readyz), metrics,
//                                      proofs (checkpoints, proofs, tiles); all three if omitted
//     roles: {ROLE: GRANT, ...}        ROLE is declared under roles, or admin (which always reads
//                                      everything); a role not listed reads nothing
//   GRANT: all | proofs | {apps: [APP, ...], environments: [ENVIRONMENT, ...]}
//     all: every route; proofs: checkpoints, proofs, tiles, health and metrics only;
//     apps/environments: those too, and the deployments (their records, state, timelines,
//     attestations) of the listed apps in the listed environments (either list may be omitted:
//     any app, any environment)
//   limits:                            requests per second (`shiplog serve`; all optional)
//     connection: LIMIT                per client address, before any signature is checked
//     key: LIMIT                       per enrolled key, for its submissions and signed reads
//     roles: {ROLE: LIMIT, ...}        a key holding ROLE gets this instead (its most generous)
//   LIMIT: {rate: N, burst: N} (N > 0: tokens per second, and how many may come at once;
//     burst defaults to twice the rate) | off (no limit, written out so it is never an accident)
//   calendars:                         named time windows, for inside_calendar/outside_calendar
//     NAME:
//       time_zone: ZONE                an IANA zone of the system's tz database: Europe/Amsterdam
//       weekly: [{days: DAYS, from: "HH:MM", to: "HH:MM"}, ...]   local times; to is after from
//                                      (24:00 is the day's end); DAYS: [mon, tue, ...] or mon-fri
//       dates: [{from: DATE, to: DATE}, ...]   DATE is YYYY-MM-DD (from: its start, to: its end)
//                                      or YYYY-MM-DDTHH:MM (that minute, local, to exclusive)
//     At least one of weekly and dates.
//   checklists:                        named lists, for the checklist requirement
//     NAME:
//       - item: TEXT                   what is to be done, as people say it (unique in the list)
//         event: KIND                  done when the deployment holds such an event
//         where: {FIELD: VALUE_TEST, ...}   (optional) with these field values
//         by_role: ROLE                (optional) emitted by a holder of ROLE
//         same_image: true             (optional) naming the intent's image
//   rules: [RULE, ...]
//
//   RULE:
//     id: R<digits> or another identifier (unique)      name: kebab-case slug (unique)
//     why: TEXT                                          (optional: the rule in a sentence)
//     on:                               the events it judges:
//       kind: KIND | [KIND...]
//       step: STEP | [STEP...]          (optional) of the kinds with a step, only these steps;
//                                       kinds without one (deploy.requested) are judged whatever
//                                       their step would be. STEP must be in the chain
//       environment: ENV | [ENV...]     (optional) only deployments to these environments (the
//                                       request's environment); declared under environments when
//                                       that section is there
//     require: [REQUIREMENT, ...]       all must hold for an allow
//
//   REQUIREMENT: exactly one of the forms below, with optional
//     if: {REQUEST_FIELD: VALUE_TEST, ...}     applies only when the deployment's request matches
//     on: {kind: KIND | [KIND...]}             applies only to these of the rule's kinds
//   forms:
//     builtin: chain-order | halt | owner | one-at-a-time
//     event: KIND                      an event of this kind exists in the deployment with
//       where: {FIELD: VALUE_TEST, ...}      these field values (FIELD is the event's JSON name)
//       by_role: ROLE                        emitted by a holder of ROLE
//       same_image: true                     whose image is the intent's image
//       older_than: DURATION                 at least this long ago in ledger time
//       unless_later: [{event: KIND, where: {...}}, ...]   and none of these came after it
//     request: {REQUEST_FIELD: VALUE_TEST, ...}     the deployment's deploy.requested matches
//     any_of: [REQUIREMENT, ...]       at least one holds
//     no_open_incident: ENVIRONMENT
//     open_maintenance_window: ENVIRONMENT
//     image_pinned: true               the intent's image is "repo@sha256:<64 hex>"
//     approvals:                       N-of-M: COUNT distinct people (enrolled names, not keys)
//       count: COUNT                     gave an approval that names the intent's image digest,
//       event: KIND                      after the last change of the deployment's image, with a
//       where: {FIELD: VALUE_TEST, ...}  key not revoked since; KIND (default review) must have an
//       by_role: ROLE | [ROLE, ...]      image field; by_role: held by one of these roles;
//       not_by: [requester, builder]     not_by: not the deployment's requester, nor whoever
//                                        started or reported its build step
//     checklist: CHECKLIST             every item of the checklist is done; a denial lists exactly
//                                      the items that are not
//     inside_calendar: CALENDAR        the ledger's time is inside one of the calendar's windows
//     outside_calendar: CALENDAR       ... inside none of them
//     canary: {phases: [{weight: N, hold: DURATION}, ...],
//              analysis: {event: KIND, where: {...}, metrics: {NAME: {lt|le|gt|ge: NUMBER}}}}
//
//   VALUE_TEST: a scalar (equal, case-insensitive for enum names), a list of scalars (one of),
//     "present" (non-empty), or {lt|le|gt|ge|eq: NUMBER}.
//   REQUEST_FIELD: a deploy.requested field, nested with dots ("changes.db_migration").
//   DURATION: "15m", "1h30m", "90s" (ledger/clock.h ParseDuration).
//
// Unknown keys, unknown kinds, steps, roles and rule ids are errors, never ignored: a typo must
// not silently weaken a gate.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ledger/clock.h"
#include "ledger/status.h"

namespace date {
class time_zone;
}

namespace shiplog::policy {

// Where a thing was written, for messages: "policy.yaml:12:7".
struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based

  std::string ToString() const;
};

// One error found while reading a policy file.
struct PolicyError {
  SourceLocation where;
  std::string message;  // what was expected or wrong: "expected a duration like 15m, got '15'"

  std::string ToString() const;  // "policy.yaml:12:7: expected ..."
};

// A test of one field's value.
struct ValueTest {
  enum class Op { kEquals, kOneOf, kPresent, kLess, kLessOrEqual, kGreater, kGreaterOrEqual };
  Op op = Op::kEquals;
  std::vector<std::string> values;  // kEquals (one), kOneOf (several); scalars as text
  double number = 0;                // the comparisons; {eq: N} is kEquals with N's text ("5")
};

// FIELD -> test; FIELD is a JSON name, dotted for nested fields.
using FieldTests = std::map<std::string, ValueTest>;

// "an event of KIND matching WHERE": used by requirements and by unless_later.
struct EventMatch {
  std::string kind;
  FieldTests where;
};

struct CanaryPhase {
  uint32_t weight = 0;
  Micros hold = 0;  // 0 for the last phase
};

struct Requirement {
  enum class Type {
    kBuiltin,
    kEvent,
    kRequest,
    kAnyOf,
    kNoOpenIncident,
    kOpenMaintenanceWindow,
    kImagePinned,
    kCanary,
    kInsideCalendar,
    kOutsideCalendar,
    kApprovals,
    kChecklist,
  };
  Type type = Type::kBuiltin;
  SourceLocation where;

  FieldTests when_request;  // the `if:`; empty means always
  std::vector<std::string> on_kinds;  // the requirement's `on:`; empty means the rule's kinds

  std::string builtin;      // kBuiltin: chain-order | halt | owner | one-at-a-time

  EventMatch event;         // kEvent
  std::string by_role;
  bool same_image = false;
  Micros older_than = 0;
  std::vector<EventMatch> unless_later;

  FieldTests request;                 // kRequest
  std::vector<Requirement> any_of;    // kAnyOf
  std::string environment;            // kNoOpenIncident, kOpenMaintenanceWindow
  std::string calendar;               // kInsideCalendar, kOutsideCalendar
  std::string checklist;              // kChecklist

  // kApprovals: `approvals` distinct people's events matching `event`, each naming the intent's
  // image digest, given after the deployment's image last changed, by a key not revoked since.
  uint32_t approvals = 0;
  std::vector<std::string> approver_roles;  // a holder of one of these; empty: any role
  std::vector<std::string> not_by;          // "requester", "builder"

  std::vector<CanaryPhase> phases;     // kCanary
  EventMatch analysis;
  FieldTests analysis_metrics;
};

struct Rule {
  std::string id;    // "R10"
  std::string name;  // "staging-soak"
  std::string why;
  std::vector<std::string> on_kinds;
  std::vector<std::string> on_steps;  // empty: every step; judges only kinds with a step
  std::vector<std::string> on_environments;  // empty: every environment
  std::vector<Requirement> require;
  SourceLocation where;
};

struct ChainStep {
  std::string step;
  std::string owner;
};

// Where one environment's deploys happen outside shiplog, so an enforcement point knows which
// step's decision guards it.
struct EnvironmentBinding {
  std::string name;
  std::string step;
  std::vector<std::string> namespaces;
  std::string namespace_label;  // KEY=VALUE; empty when none
  std::vector<std::string> github_environments;
};

// What one role may read from the server (the reads: section).
struct ReadGrant {
  enum class Scope { kAll, kProofs, kDeployments };
  Scope scope = Scope::kProofs;
  std::vector<std::string> apps;          // kDeployments: empty means any app
  std::vector<std::string> environments;  // kDeployments: empty means any environment
};

// The route groups a policy may leave open to unsigned reads.
inline constexpr const char* kPublicReadGroups[] = {"health", "metrics", "proofs"};

// What a key holding some roles may read: the union of its roles' grants.
struct ReadScope {
  bool all = false;     // every route and record
  bool proofs = false;  // the proofs group and health and metrics (any grant gives these)
  std::vector<ReadGrant> deployments;  // kDeployments grants: a deployment matching one is readable

  // True when a deployment of `app` in `environment` is readable.
  bool CoversDeployment(const std::string& app, const std::string& environment) const;
};

struct ReadAccess {
  std::vector<std::string> public_groups = {"health", "metrics", "proofs"};
  std::map<std::string, ReadGrant> roles;

  bool IsPublic(const std::string& group) const;
  // The scope of a key holding `roles` (admin reads everything).
  ReadScope ScopeOf(const std::vector<std::string>& key_roles) const;
};

// One token bucket's setting (the limits: section); rate 0 is `off`.
struct RateLimit {
  double rate = 0;   // tokens per second
  double burst = 0;  // the most a bucket holds
  bool off() const { return rate <= 0; }
};

// Per-agent rate limits of the server. The defaults (a policy without limits:, or no policy) sit
// above what one server appends at all (about 10,000 events/s on the benchmark machine, all from
// one key and one address): they stop nothing that works, only a loop that would take the whole
// server; a team sets its agents' real rates in its policy.
struct Limits {
  RateLimit connection{20000, 40000};
  RateLimit key{20000, 40000};
  std::map<std::string, RateLimit> roles;

  // The limit of a key holding `key_roles`: its most generous role override (off wins), else key.
  RateLimit ForRoles(const std::vector<std::string>& key_roles) const;
};

// One item of a checklist: done when the deployment holds a matching event.
struct ChecklistItem {
  std::string item;      // what a person reads: "smoke tests passed in staging"
  EventMatch event;
  std::string by_role;   // emitted by a holder of this role; empty: any
  bool same_image = false;
  SourceLocation where;
};

// A weekly recurrence of a calendar: these days, from one local time of day to a later one.
struct WeeklyWindow {
  std::vector<int> days;  // 0 = Sunday .. 6 = Saturday
  int from_minute = 0;    // minutes after local midnight, inclusive
  int to_minute = 0;      // exclusive; 1440 is midnight at the day's end

  std::string ToString() const;  // "Mon,Tue 09:00-18:00"
};

// A span of local date-times (a code freeze), in minutes since 1970-01-01T00:00 on the
// calendar's own clock (not UTC).
struct DateSpan {
  int64_t from_minute = 0;  // inclusive
  int64_t to_minute = 0;    // exclusive

  std::string ToString() const;  // "2026-12-18 00:00 to 2027-01-05 00:00"
};

// A named set of time windows in one time zone (the calendars: section). Times are read on the
// zone's local clock from the system's tz database, so DST changes move the windows in UTC.
struct Calendar {
  std::string name;
  std::string time_zone;                  // an IANA name: "Europe/Amsterdam"
  const date::time_zone* zone = nullptr;  // the tz database's entry, found when parsing
  // The zone's UTC offsets from 1970 to 2200, read from `zone` once (PrepareOffsets): each entry
  // is (UTC second it starts, offset in seconds), ascending. Decisions read the offset here, a
  // binary search, not through the tz library's lookups.
  std::vector<std::pair<int64_t, int32_t>> offsets;
  std::vector<WeeklyWindow> weekly;
  std::vector<DateSpan> dates;

  // Fills `offsets` from `zone`.
  void PrepareOffsets();
  // Whether the instant `t` falls in one of the windows.
  bool Contains(Micros t) const;
  // The window holding `t`, written into `window` (returned), or null when none does.
  const std::string* WindowAt(Micros t, std::string* window) const;
  // "Tue 2026-11-24 11:00 Europe/Amsterdam": `t` on the calendar's clock, for messages.
  std::string LocalTime(Micros t) const;
};

// The tz database's zone named `name` ("Europe/Amsterdam"); null when it has none.
const date::time_zone* FindTimeZone(const std::string& name);
// Minutes since 1970-01-01T00:00 of a local date and time (a calendar's clock); nullopt for a
// date the calendar does not have (2027-02-30).
std::optional<int64_t> LocalMinutesSinceEpoch(int year, unsigned month, unsigned day, int hour,
                                              int minute);

// A parsed, checked policy. Plain data: the engine interprets it.
struct Policy {
  std::string name;
  std::string description;
  std::map<std::string, std::vector<std::string>> roles;  // role -> kinds (globs expanded)
  std::vector<ChainStep> chain;
  std::map<std::string, EnvironmentBinding> environments;
  std::vector<std::string> waiver_roles;
  std::vector<std::string> never_waived;  // rule ids
  std::map<std::string, Calendar> calendars;
  std::map<std::string, std::vector<ChecklistItem>> checklists;
  std::vector<Rule> rules;
  ReadAccess reads;
  Limits limits;
  std::string source;      // the file's text
  std::string sha256_hex;  // SHA-256 of `source`: decisions name the policy by it

  const Rule* FindRule(const std::string& id_or_name) const;
  const ChainStep* FindStep(const std::string& step) const;
  bool RoleMayEmit(const std::string& role, const std::string& kind) const;
  // The environment guarding a Kubernetes namespace / a GitHub environment; null when none.
  const EnvironmentBinding* EnvironmentForNamespace(const std::string& ns) const;
  const EnvironmentBinding* EnvironmentForGithub(const std::string& github_environment) const;
  const EnvironmentBinding* FindEnvironment(const std::string& name) const;
};

// Parses and checks a policy file's text. On failure returns every error found (not only the
// first), each with file:line:column; `file` is used in those locations.
struct ParseResult {
  std::optional<Policy> policy;
  std::vector<PolicyError> errors;
  // What parses but cannot work as written (approvals no listed role may give): `policy lint`
  // shows them; they do not stop the policy from being used.
  std::vector<PolicyError> warnings;
};
ParseResult ParsePolicy(const std::string& text, const std::string& file);

// The default pack (policy/default.yaml, compiled in).
const std::string& DefaultPolicyText();

}  // namespace shiplog::policy
