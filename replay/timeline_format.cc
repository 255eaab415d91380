// The timeline as JSON (for tools) and as text (for people reading a post-mortem).
#include <iomanip>
#include <sstream>

#include "ledger/terminal_text.h"
#include "replay/timeline.h"

namespace shiplog::replay {
namespace {

using nlohmann::json;

double Seconds(Micros d) { return static_cast<double>(d) / kMicrosPerSecond; }

json EntryJson(const TimelineEntry& e) {
  json j = {{"seq", e.seq},
            {"time", FormatTime(e.time)},
            {"since_previous_seconds", Seconds(e.since_previous)},
            {"kind", e.kind},
            {"denied", e.denied},
            {"who", {{"name", e.who.name}, {"roles", e.who.roles}, {"public_key", e.who.public_key}}},
            {"step", e.step},
            {"summary", e.summary},
            {"fields", e.fields},
            {"signature", {{"ok", e.signature_ok}, {"status", e.signature}}}};
  if (e.decision) j["decision"] = e.decision->ToJson();
  if (e.waiver) {
    j["waiver"] = {{"rule", e.waiver->rule}, {"reason", e.waiver->reason},
                   {"holder", e.waiver->holder}};
  }
  if (e.soak) {
    j["soak_seconds"] = Seconds(*e.soak);
    j["soaked_step"] = e.soaked_step;
  }
  if (e.phase_held) j["phase_held_seconds"] = Seconds(*e.phase_held);
  return j;
}

template <typename T>
json Optional(const std::optional<T>& value) {
  return value ? json(*value) : json(nullptr);
}
json OptionalTime(const std::optional<Micros>& t) { return t ? json(FormatTime(*t)) : json(nullptr); }
json OptionalSeconds(const std::optional<Micros>& d) { return d ? json(Seconds(*d)) : json(nullptr); }

json StepJson(const StepSpan& s) {
  return {{"step", s.step},
          {"status", s.status},
          {"started_seq", Optional(s.started_seq)},
          {"started", OptionalTime(s.started)},
          {"ready_seq", Optional(s.ready_seq)},
          {"ready", OptionalTime(s.ready)},
          {"soak_seconds", OptionalSeconds(s.soak)},
          {"next_step", s.next_step}};
}

json PhaseJson(const CanaryPhase& p) {
  return {{"weight", p.weight},
          {"seq", p.seq},
          {"from", FormatTime(p.from)},
          {"held_seconds", OptionalSeconds(p.held)},
          {"until_seq", Optional(p.until_seq)}};
}

// ---- text ----

// Event text on one line, as a terminal shows it: controls, bidi overrides, line separators and
// invalid UTF-8 become visible escapes (ledger/terminal_text.h), so no event can forge a line of
// the post-mortem or reorder what a reader sees.
std::string OneLine(std::string_view text) { return TerminalText(text); }

std::string Roles(const std::vector<std::string>& roles) {
  std::string out;
  for (const std::string& role : roles) out += (out.empty() ? "" : ", ") + OneLine(role);
  return out;
}

// "allowed (R1 chain-order, R10 staging-soak waived by rm)" or "DENIED".
std::string Verdict(const TimelineEntry& e) {
  if (!e.decision) return e.denied ? "DENIED" : "";
  if (!e.decision->allowed) return "DENIED";
  std::string rules;
  for (const policy::Evidence& ev : e.decision->evidence) {
    rules += (rules.empty() ? "" : ", ") + OneLine(ev.rule) + " " + OneLine(ev.name);
    if (ev.waiver) rules += " WAIVED by " + OneLine(ev.waiver->actor);
  }
  return "allowed" + (rules.empty() ? std::string() : " (" + rules + ")");
}

void WriteEntry(std::ostream& out, const TimelineEntry& e) {
  const char* flag = e.denied ? "!! DENIED " : e.waiver ? "** WAIVER " : "   ";
  out << flag << std::left << std::setw(6) << ("#" + std::to_string(e.seq)) << " " << FormatTime(e.time) << "  +"
      << FormatDuration(e.since_previous) << "  " << OneLine(e.who.name);
  if (!e.who.roles.empty()) out << " [" << Roles(e.who.roles) << "]";
  out << "  " << OneLine(e.kind) << ": " << OneLine(e.summary);
  if (e.soak) out << " (" << OneLine(e.soaked_step) << " soaked " << FormatDuration(*e.soak) << ")";
  if (e.phase_held) out << " (held " << FormatDuration(*e.phase_held) << ")";
  const std::string verdict = Verdict(e);
  if (!verdict.empty() && !e.denied) out << "  -> " << verdict;
  if (!e.signature_ok) out << "  SIGNATURE INVALID: " << OneLine(e.signature);
  out << "\n";
  if (e.denied && e.decision) {
    for (const policy::Reason& r : e.decision->reasons) {
      out << "             " << OneLine(r.rule) << " " << OneLine(r.name) << ": "
          << OneLine(r.message) << "\n";
    }
  }
  if (e.waiver) {
    out << "             rule " << OneLine(e.waiver->rule) << " lifted for this deployment by "
        << OneLine(e.waiver->holder) << ", reason: " << OneLine(e.waiver->reason) << "\n";
  }
}

void WriteHeader(std::ostream& out, const Timeline& t) {
  out << "deployment " << OneLine(t.deployment);
  if (!t.app.empty()) {
    out << ": " << OneLine(t.app + " " + t.version + " to " + t.environment + " (" + t.image + ")");
  }
  out << "\n" << t.entries.size() << " events from " << FormatTime(t.started) << " to "
      << FormatTime(t.ended) << ", " << FormatDuration(t.duration()) << ", " << t.outcome << "; "
      << t.denials << " denied, " << t.waivers << " waivers, " << t.bad_signatures
      << " bad signatures\n";
  if (t.manual_clock) out << "note: a drill ledger on a manual clock; its times are not real\n";
  out << "\n";
}

void WriteMeasures(std::ostream& out, const Timeline& t) {
  bool any = false;
  for (const StepSpan& s : t.steps) {
    if (!s.soak) continue;
    if (!any) out << "\nsoaks (READY until the next step started):\n";
    any = true;
    out << "  " << OneLine(s.step) << " READY at #" << *s.ready_seq << " for "
        << FormatDuration(*s.soak) << " before " << OneLine(s.next_step) << " started\n";
  }
  if (!t.canary.empty()) out << "\ncanary phases:\n";
  for (const CanaryPhase& p : t.canary) {
    out << "  " << p.weight << "% from #" << p.seq << " "
        << (p.held ? "held " + FormatDuration(*p.held) + " until #" + std::to_string(*p.until_seq)
                   : std::string("still holding"))
        << "\n";
  }
  out << "\ntotal: " << FormatDuration(t.duration()) << "\n";
}

}  // namespace

nlohmann::json TimelineJson(const Timeline& t) {
  json entries = json::array(), steps = json::array(), canary = json::array();
  for (const TimelineEntry& e : t.entries) entries.push_back(EntryJson(e));
  for (const StepSpan& s : t.steps) steps.push_back(StepJson(s));
  for (const CanaryPhase& p : t.canary) canary.push_back(PhaseJson(p));
  return {{"format", "shiplog-timeline-v1"},
          {"deployment", t.deployment},
          {"app", t.app},
          {"environment", t.environment},
          {"version", t.version},
          {"image", t.image},
          {"planned_steps", t.planned_steps},
          {"manual_clock", t.manual_clock},
          {"started", FormatTime(t.started)},
          {"ended", FormatTime(t.ended)},
          {"duration_seconds", Seconds(t.duration())},
          {"duration", FormatDuration(t.duration())},
          {"outcome", t.outcome},
          {"denials", t.denials},
          {"waivers", t.waivers},
          {"bad_signatures", t.bad_signatures},
          {"entries", std::move(entries)},
          {"steps", std::move(steps)},
          {"canary", std::move(canary)}};
}

std::string TimelineText(const Timeline& t) {
  std::ostringstream out;
  WriteHeader(out, t);
  for (const TimelineEntry& e : t.entries) WriteEntry(out, e);
  WriteMeasures(out, t);
  return out.str();
}

}  // namespace shiplog::replay
