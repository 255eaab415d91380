// Timeline: one deployment's records as a person reads a post-mortem.
//
// BuildTimeline() reads the deployment's records (its policy.denied records too) and the key
// records before them, and turns each record into an entry: who signed it with the roles they
// held then, what it did in a sentence, the policy's decision for an intent (the rules that
// applied, or every reason it was denied), the waiver it granted or cited, whether its
// signatures check out, and the time since the previous entry. Across entries it measures what
// incident reviewers ask about: how long each step stood READY before the next one started
// (staging's soak), how long each canary weight held, and the whole run.
//
// Nothing here appends, reads the clock or trusts the text it shows: every string that came from
// an event is untrusted, and the HTML form escapes it wherever it goes (text, attributes, the
// embedded JSON).
//
// Formats, each of the same Timeline:
//   TimelineText  one line per entry (denials and waivers flagged, reasons indented), then the
//                 soaks, canary phases and totals;
//   TimelineJson  one object, field names stable for tools (see TimelineJson's comment);
//   TimelineHtml  one self-contained page (inline CSS and JS, no external assets): a lane per
//                 step, marks per event, details on hover and click.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "ledger/status.h"
#include "policy/engine.h"

namespace shiplog::replay {

// Who signed an entry, as the key registry stood just before it.
struct TimelineSigner {
  std::string name;                // the enrolled name; the event's actor when the key is unknown
  std::vector<std::string> roles;  // the roles the key held then
  std::string public_key;          // hex
};

// A waiver.granted entry: which rule was lifted, by whom, why.
struct TimelineWaiver {
  std::string rule;
  std::string reason;
  std::string holder;
};

struct TimelineEntry {
  uint64_t seq = 0;
  Micros time = 0;                     // ledger time
  Micros since_previous = 0;           // 0 for the first entry
  std::string kind;                    // the event's kind; for a denial, the denied intent's kind
  bool denied = false;                 // a policy.denied record: the intent was refused
  TimelineSigner who;                  // for a denial: the agent who tried, not the ledger
  std::string step;                    // the step it concerns, when it names one
  std::string summary;                 // "started production with image …@sha256:4f1c2a9e7b3d…"
  nlohmann::json fields;               // the event as JSON (the denied intent's, for a denial)
  std::optional<policy::Decision> decision;  // for intents: allowed with evidence, or reasons
  std::optional<TimelineWaiver> waiver;      // for waiver.granted
  bool signature_ok = true;            // every signature on the record checks out
  std::string signature;               // "valid", or what failed
  std::optional<Micros> soak;          // step.started: how long the step before stood READY
  std::string soaked_step;             // ... and which step that was
  std::optional<Micros> phase_held;    // traffic.shifted (allowed): until the next shift or end
};

// A step of the chain as the deployment ran it (from its latest start and READY report).
struct StepSpan {
  std::string step;
  std::optional<uint64_t> started_seq;
  std::optional<Micros> started;
  std::optional<uint64_t> ready_seq;   // the latest READY report
  std::optional<Micros> ready;
  std::string status;                  // the latest report's status, or "started"
  std::optional<Micros> soak;          // READY until the next step started (another step)
  std::string next_step;               // that next step
};

// A canary phase: one traffic weight from its shift until the next shift, or the end.
struct CanaryPhase {
  uint32_t weight = 0;
  uint64_t seq = 0;
  Micros from = 0;
  std::optional<Micros> held;          // unset while it is the last and the deployment runs on
  std::optional<uint64_t> until_seq;   // the record that ended it
};

// Which part of a timeline to keep: the entries from `from_seq` on, at most `limit` of them. The
// fold still reads every record of the deployment (steps, soaks, canary phases and totals are
// of the whole run), but holds only the page's entries, so memory is bounded by `limit`.
struct TimelinePage {
  uint64_t from_seq = 0;
  size_t limit = 500;
};

// Where a page sits in the whole timeline.
struct TimelinePageInfo {
  uint64_t from_seq = 0;
  size_t limit = 0;
  uint64_t total_entries = 0;             // entries of the whole deployment
  std::optional<uint64_t> next_from_seq;  // the next page's from_seq; unset on the last page
};

struct Timeline {
  std::string deployment;
  std::string app, environment, version, image;  // from the deploy.requested, when allowed
  std::vector<std::string> planned_steps;
  bool manual_clock = false;                     // a drill ledger: its times are not real
  std::vector<TimelineEntry> entries;            // in ledger order
  std::vector<StepSpan> steps;                   // in the order they first started
  std::vector<CanaryPhase> canary;
  Micros started = 0;                            // the first entry's time
  Micros ended = 0;                              // the last entry's time
  std::string outcome;                           // "completed", "rolled back" or "in progress"
  uint64_t denials = 0;
  uint64_t waivers = 0;
  uint64_t bad_signatures = 0;
  std::optional<TimelinePageInfo> page;  // set when built as a page: entries holds it

  Micros duration() const { return ended - started; }
};

// The timeline of `deployment` as of the ledger's last record. kNotFound when the ledger holds no
// record of it; kInvalidArgument when no deployment is named.
// Records are read one at a time, never all at once.
Result<Timeline> BuildTimeline(const Ledger& ledger, const std::string& deployment);
// The same timeline, with only `page`'s entries kept (Timeline::page says where it sits).
Result<Timeline> BuildTimeline(const Ledger& ledger, const std::string& deployment,
                               const TimelinePage& page);

// {"format": "shiplog-timeline-v1", "deployment", "app", "environment", "version", "image",
//  "planned_steps", "manual_clock", "started", "ended", "duration_seconds", "duration",
//  "outcome", "denials", "waivers", "bad_signatures",
//  "entries": [{"seq", "time", "since_previous_seconds", "kind", "denied",
//               "who": {"name", "roles", "public_key"}, "step", "summary", "fields",
//               "decision" (when judged), "waiver" (waiver.granted),
//               "signature": {"ok", "status"}, "soak_seconds" + "soaked_step" (when measured),
//               "phase_held_seconds" (canary shifts, when ended)}],
//  "steps": [{"step", "status", "started_seq", "started", "ready_seq", "ready",
//             "soak_seconds", "next_step"}],
//  "canary": [{"weight", "seq", "from", "held_seconds", "until_seq"}]}
// Times are RFC 3339; durations are seconds (numbers) with a readable twin where shown to people.
nlohmann::json TimelineJson(const Timeline& timeline);

// Where a page sits: {"from", "limit", "entries", "total_entries", "next_from" (unless last)}.
// The server adds it to a page's TimelineJson as "page".
nlohmann::json TimelinePageJson(const Timeline& timeline);

// The post-mortem as text, one line per entry.
std::string TimelineText(const Timeline& timeline);

// The self-contained HTML page; for a page of a timeline, with a link to the next page
// (a relative "?format=html&from=SEQ&limit=N", as the server's timeline endpoint takes).
std::string TimelineHtml(const Timeline& timeline);

// Escapes text for HTML element content and quoted attribute values.
std::string EscapeHtml(std::string_view text);

// Serializes `json` for a <script> element: no "<", ">", "&" or line separators survive
// unescaped, so no string inside can end the script or open a tag.
std::string JsonForScript(const nlohmann::json& json);

}  // namespace shiplog::replay
