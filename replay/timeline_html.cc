// The timeline as one self-contained HTML page: inline CSS and JS, no external assets, opens from
// a file. Every event string is untrusted: it goes into the page through EscapeHtml (element text
// and quoted attributes) or JsonForScript (the data the script reads), and the script writes it
// into the page with textContent only.
#include <algorithm>
#include <map>
#include <sstream>

#include "replay/timeline.h"

namespace shiplog::replay {
namespace {

constexpr int kStepPixels = 34;     // every event gets at least this much room
constexpr int kTimePixels = 900;    // the whole duration spreads over this much more
constexpr int kTrackMargin = 40;

constexpr char kStyle[] = R"css(
:root{--ok:#2f7d32;--deny:#c62828;--waive:#ef8f00;--ink:#1d2330;--muted:#5d6778;--line:#d9dee7}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);margin:0;background:#f7f8fb}
header{padding:16px 24px;background:#fff;border-bottom:1px solid var(--line)}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.meta,.stats{margin:2px 0;color:var(--muted)}
.drill{color:var(--waive);font-weight:600}
main{padding:0 24px 48px}
.legend{display:flex;gap:16px;flex-wrap:wrap;margin:12px 0;color:var(--muted)}
.legend span{display:inline-flex;align-items:center;gap:6px}
.timeline{overflow-x:auto;background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 0}
.lane{display:flex;align-items:center;border-bottom:1px dashed var(--line);min-height:40px}
.lane:last-child{border-bottom:0}
.lane-name{flex:0 0 150px;padding:0 12px;font-weight:600;position:sticky;left:0;background:#fff;z-index:2;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.track{position:relative;height:40px;flex:0 0 auto}
.mark{position:absolute;top:8px;width:24px;height:24px;margin-left:-12px;border:2px solid var(--ok);background:#e8f5e9;color:var(--ink);font-size:9px;padding:0;cursor:pointer;border-radius:3px}
.mark.k-gate{transform:rotate(45deg);border-radius:2px}
.mark.k-gate span{display:inline-block;transform:rotate(-45deg)}
.mark.k-review{border-radius:50%}
.mark.k-fail{border-color:var(--deny);background:#fff}
.mark.denied{border-color:var(--deny);background:var(--deny);color:#fff;font-weight:700}
.mark.waiver{border-color:var(--waive);background:repeating-linear-gradient(45deg,#ffe0b2 0 4px,#fff 4px 8px);border-width:3px}
.mark.badsig{outline:3px dotted var(--deny);outline-offset:2px}
.mark:hover,.mark:focus,.mark.selected{z-index:3;box-shadow:0 0 0 3px #90caf9}
.layout{display:grid;grid-template-columns:minmax(0,1fr) 380px;gap:16px;align-items:start}
#details{position:sticky;top:8px;background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 16px;min-height:120px}
#details dl{display:grid;grid-template-columns:110px 1fr;gap:4px 8px;margin:0}
#details dt{color:var(--muted)}#details dd{margin:0;overflow-wrap:anywhere}
#details pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f3f4f7;padding:8px;border-radius:4px;max-height:320px;overflow:auto}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
tr{cursor:pointer}tr.selected{background:#e3f2fd}
tr.denied td{background:#ffebee}tr.denied td.verdict{color:var(--deny);font-weight:700}
tr.waiver td{background:#fff3e0}tr.waiver td.verdict{color:var(--waive);font-weight:700}
.reasons{margin:2px 0 0;padding-left:18px;color:var(--deny)}
.sig-bad{color:var(--deny);font-weight:700}
.num{font-variant-numeric:tabular-nums;white-space:nowrap}
)css";

// Reads the embedded data and shows an event's fields on hover, focus or click; writes only with
// textContent, so no event string is ever parsed as markup.
constexpr char kScript[] = R"js(
(function(){
  var data = JSON.parse(document.getElementById('timeline-data').textContent);
  var bySeq = {};
  data.entries.forEach(function(e){ bySeq[e.seq] = e; });
  var panel = document.getElementById('details');
  function el(tag, text, cls){ var n = document.createElement(tag); if (text !== undefined) n.textContent = String(text); if (cls) n.className = cls; return n; }
  function row(dl, name, value, cls){ dl.appendChild(el('dt', name)); dl.appendChild(el('dd', value, cls)); }
  function seconds(s){ if (s === undefined || s === null) return ''; var m = Math.floor(s/60), r = Math.round((s - m*60)*1000)/1000; return (m ? m + 'm' : '') + (r || !m ? r + 's' : ''); }
  function decisionText(d){
    if (!d) return '';
    if (!d.allowed) return 'DENIED: ' + d.reasons.map(function(r){ return r.rule + ' ' + r.name + ': ' + r.message; }).join(' | ');
    return 'allowed: ' + d.evidence.map(function(v){ return v.rule + ' ' + v.name + (v.waiver ? ' (waived by ' + v.waiver.by + ': ' + v.waiver.reason + ')' : ''); }).join(', ');
  }
  function show(seq){
    var e = bySeq[seq]; if (!e) return;
    panel.textContent = '';
    panel.appendChild(el('h2', '#' + e.seq + ' ' + e.kind + (e.denied ? ' (denied)' : '')));
    var dl = el('dl');
    row(dl, 'sequence', e.seq);
    row(dl, 'ledger time', e.time);
    row(dl, 'since previous', seconds(e.since_previous_seconds));
    row(dl, 'who', e.who.name + (e.who.roles.length ? ' [' + e.who.roles.join(', ') + ']' : ''));
    row(dl, 'key', e.who.public_key);
    row(dl, 'summary', e.summary);
    if (e.decision) row(dl, 'decision', decisionText(e.decision), e.decision.allowed ? '' : 'sig-bad');
    if (e.waiver) row(dl, 'waiver', e.waiver.rule + ' lifted by ' + e.waiver.holder + ': ' + e.waiver.reason);
    if (e.soak_seconds !== undefined) row(dl, 'soak', e.soaked_step + ' READY ' + seconds(e.soak_seconds));
    if (e.phase_held_seconds !== undefined) row(dl, 'phase held', seconds(e.phase_held_seconds));
    row(dl, 'signature', e.signature.ok ? 'valid' : e.signature.status, e.signature.ok ? '' : 'sig-bad');
    panel.appendChild(dl);
    panel.appendChild(el('h2', 'fields'));
    panel.appendChild(el('pre', JSON.stringify(e.fields, null, 2)));
    document.querySelectorAll('.selected').forEach(function(n){ n.classList.remove('selected'); });
    document.querySelectorAll('[data-seq="' + Number(seq) + '"]').forEach(function(n){ n.classList.add('selected'); });
  }
  document.querySelectorAll('[data-seq]').forEach(function(n){
    var seq = n.getAttribute('data-seq');
    n.addEventListener('click', function(){ show(seq); });
    if (n.classList.contains('mark')) {
      n.addEventListener('mouseenter', function(){ show(seq); });
      n.addEventListener('focus', function(){ show(seq); });
    }
  });
})();
)js";

std::string Esc(std::string_view text) { return EscapeHtml(text); }

// The lane an entry is drawn in: its step, or a lane for what it is about.
std::string LaneOf(const TimelineEntry& e) {
  if (!e.step.empty()) return e.step;
  if (e.kind == "deploy.requested" || e.kind == "deploy.completed") return "deployment";
  if (e.kind == "review") return "reviews";
  if (e.kind == "gate.result") return "gates";
  if (e.kind == "backup.verified") return "backup";
  if (e.kind == "traffic.shifted") return "traffic";
  if (e.kind == "waiver.granted") return "waivers";
  if (e.kind == "rollback.started" || e.kind == "rollback.completed") return "rollback";
  return e.kind;
}

// Lanes in the order a reader expects: the deployment, its reviews, the planned steps in chain
// order, then the rest as they first appear.
std::vector<std::string> Lanes(const Timeline& t) {
  std::vector<std::string> lanes = {"deployment", "reviews"};
  lanes.insert(lanes.end(), t.planned_steps.begin(), t.planned_steps.end());
  for (const TimelineEntry& e : t.entries) lanes.push_back(LaneOf(e));
  std::vector<std::string> used;
  for (const std::string& lane : lanes) {
    const bool drawn = std::any_of(t.entries.begin(), t.entries.end(),
                                   [&](const TimelineEntry& e) { return LaneOf(e) == lane; });
    if (drawn && std::find(used.begin(), used.end(), lane) == used.end()) used.push_back(lane);
  }
  return used;
}

std::string ShapeClass(const TimelineEntry& e) {
  std::string shape = e.kind == "gate.result" ? "k-gate" : e.kind == "review" ? "k-review" : "k-step";
  const std::string outcome = e.fields.value("outcome", e.fields.value("verdict", ""));
  const std::string status = e.fields.value("status", "");
  if (outcome == "fail" || outcome == "rejected" || status == "blocked" || status == "failed" ||
      status == "BLOCKED" || status == "FAILED") {
    shape += " k-fail";
  }
  if (e.denied) shape += " denied";
  if (e.waiver) shape += " waiver";
  if (!e.signature_ok) shape += " badsig";
  return shape;
}

std::string VerdictText(const TimelineEntry& e) {
  if (e.denied) return "DENIED";
  if (e.waiver) return "WAIVER " + e.waiver->rule;
  if (e.decision) return e.decision->allowed ? "allowed" : "DENIED";
  return "";
}

std::string Tooltip(const TimelineEntry& e) {
  std::string text = "#" + std::to_string(e.seq) + " " + FormatTime(e.time) + " " + e.who.name +
                     " " + e.kind + ": " + e.summary;
  const std::string verdict = VerdictText(e);
  if (!verdict.empty()) text += " \u2014 " + verdict;
  return text + " \u2014 signature " + (e.signature_ok ? "valid" : "INVALID");
}

int MarkLeft(const Timeline& t, size_t index, const TimelineEntry& e) {
  const Micros span = std::max<Micros>(t.duration(), 1);
  const double share = static_cast<double>(e.time - t.started) / static_cast<double>(span);
  return kTrackMargin / 2 + static_cast<int>(index) * kStepPixels +
         static_cast<int>(share * kTimePixels);
}

void WriteMark(std::ostream& out, const Timeline& t, size_t index) {
  const TimelineEntry& e = t.entries[index];
  out << "<button type=\"button\" class=\"mark " << ShapeClass(e) << "\" data-seq=\"" << e.seq
      << "\" style=\"left:" << MarkLeft(t, index, e) << "px\" title=\"" << Esc(Tooltip(e))
      << "\" aria-label=\"" << Esc(Tooltip(e)) << "\"><span>"
      << (e.denied ? "\u2715" : e.waiver ? "W" : std::to_string(e.seq)) << "</span></button>";
}

void WriteLanes(std::ostream& out, const Timeline& t) {
  const int width = static_cast<int>(t.entries.size()) * kStepPixels + kTimePixels + kTrackMargin;
  out << "<section class=\"timeline\" aria-label=\"timeline\">\n";
  for (const std::string& lane : Lanes(t)) {
    out << "<div class=\"lane\"><div class=\"lane-name\" title=\"" << Esc(lane) << "\">"
        << Esc(lane) << "</div><div class=\"track\" style=\"width:" << width << "px\">";
    for (size_t i = 0; i < t.entries.size(); ++i) {
      if (LaneOf(t.entries[i]) == lane) WriteMark(out, t, i);
    }
    out << "</div></div>\n";
  }
  out << "</section>\n";
}

void WriteDecisionCell(std::ostream& out, const TimelineEntry& e) {
  out << "<td class=\"verdict\">" << Esc(VerdictText(e));
  if (e.denied && e.decision) {
    out << "<ul class=\"reasons\">";
    for (const policy::Reason& r : e.decision->reasons) {
      out << "<li>" << Esc(r.rule + " " + r.name + ": " + r.message) << "</li>";
    }
    out << "</ul>";
  }
  if (e.waiver) out << "<div>" << Esc("by " + e.waiver->holder + ": " + e.waiver->reason) << "</div>";
  out << "</td>";
}

void WriteRow(std::ostream& out, const TimelineEntry& e) {
  const char* cls = e.denied ? "denied" : e.waiver ? "waiver" : "";
  std::string who = e.who.name;
  for (size_t i = 0; i < e.who.roles.size(); ++i) who += (i ? ", " : " [") + e.who.roles[i];
  if (!e.who.roles.empty()) who += "]";
  out << "<tr id=\"seq-" << e.seq << "\" class=\"" << cls << "\" data-seq=\"" << e.seq << "\">"
      << "<td class=\"num\">#" << e.seq << "</td><td class=\"num\">" << Esc(FormatTime(e.time))
      << "</td><td class=\"num\">+" << Esc(FormatDuration(e.since_previous)) << "</td><td>"
      << Esc(who) << "</td><td>" << Esc(e.kind) << "</td><td>" << Esc(e.summary);
  if (e.soak) out << " (" << Esc(e.soaked_step) << " soaked " << Esc(FormatDuration(*e.soak)) << ")";
  if (e.phase_held) out << " (held " << Esc(FormatDuration(*e.phase_held)) << ")";
  out << "</td>";
  WriteDecisionCell(out, e);
  out << "<td class=\"" << (e.signature_ok ? "" : "sig-bad") << "\">"
      << Esc(e.signature_ok ? "valid" : e.signature) << "</td></tr>\n";
}

void WriteTable(std::ostream& out, const Timeline& t) {
  out << "<h2>Events</h2>\n<table><thead><tr><th>seq</th><th>ledger time</th><th>since</th>"
         "<th>who</th><th>kind</th><th>what</th><th>decision</th><th>signature</th></tr></thead>"
         "<tbody>\n";
  for (const TimelineEntry& e : t.entries) WriteRow(out, e);
  out << "</tbody></table>\n";
}

void WriteHtmlMeasures(std::ostream& out, const Timeline& t) {
  out << "<h2>Soaks and canary phases</h2>\n<ul>";
  for (const StepSpan& s : t.steps) {
    if (!s.soak) continue;
    out << "<li>" << Esc(s.step + " READY at #" + std::to_string(*s.ready_seq) + " for " +
                         FormatDuration(*s.soak) + " before " + s.next_step + " started")
        << "</li>";
  }
  for (const CanaryPhase& p : t.canary) {
    out << "<li>" << Esc("canary " + std::to_string(p.weight) + "% from #" + std::to_string(p.seq) +
                         (p.held ? " held " + FormatDuration(*p.held) : " still holding"))
        << "</li>";
  }
  out << "<li>" << Esc("total " + FormatDuration(t.duration())) << "</li></ul>\n";
}

void WriteHtmlHeader(std::ostream& out, const Timeline& t) {
  out << "<header><h1>Deployment " << Esc(t.deployment) << "</h1>\n";
  if (!t.app.empty()) {
    out << "<p class=\"meta\">" << Esc(t.app + " " + t.version + " to " + t.environment) << " \u00b7 "
        << Esc(t.image) << "</p>\n";
  }
  out << "<p class=\"stats\">"
      << Esc(std::to_string(t.page ? t.page->total_entries : t.entries.size()) + " events from " +
             FormatTime(t.started) + " to " + FormatTime(t.ended) + " (" +
             FormatDuration(t.duration()) + "), " + t.outcome + "; " + std::to_string(t.denials) +
             " denied, " + std::to_string(t.waivers) + " waivers, " +
             std::to_string(t.bad_signatures) + " bad signatures")
      << "</p>\n";
  if (t.manual_clock) {
    out << "<p class=\"drill\">A drill ledger on a manual clock: its times are not real.</p>\n";
  }
  out << "</header>\n";
}

// A page of a long timeline says which entries it shows and links to the next page, so no answer
// has to hold the whole deployment.
void WritePageNav(std::ostream& out, const Timeline& t) {
  if (!t.page) return;
  out << "<nav class=\"meta\">";
  if (t.entries.empty()) {
    out << "No events from #" << t.page->from_seq << ".";
  } else {
    out << "Events #" << t.entries.front().seq << " to #" << t.entries.back().seq << " ("
        << t.entries.size() << " of " << t.page->total_entries << ").";
  }
  if (t.page->next_from_seq) {
    out << " <a rel=\"next\" href=\"?format=html&amp;from=" << *t.page->next_from_seq
        << "&amp;limit=" << t.page->limit << "\">Next page</a>";
  }
  out << "</nav>\n";
}

constexpr char kLegend[] =
    "<div class=\"legend\"><span><button type=\"button\" class=\"mark k-step\" disabled "
    "style=\"position:static;margin:0\"></button>step or intent</span>"
    "<span><button type=\"button\" class=\"mark k-gate\" disabled "
    "style=\"position:static;margin:0\"></button>gate</span>"
    "<span><button type=\"button\" class=\"mark k-review\" disabled "
    "style=\"position:static;margin:0\"></button>review</span>"
    "<span><button type=\"button\" class=\"mark denied\" disabled "
    "style=\"position:static;margin:0\"></button>denied</span>"
    "<span><button type=\"button\" class=\"mark waiver\" disabled "
    "style=\"position:static;margin:0\"></button>waiver</span>"
    "<span>hover or click an event for its fields</span></div>\n";

}  // namespace

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string JsonForScript(const nlohmann::json& json) {
  // ensure_ascii escapes every non-ASCII character, U+2028 and U+2029 included; the three
  // characters that could close the script or open markup can only occur inside JSON strings,
  // where \uXXXX means the same.
  const std::string text =
      json.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default: out += c;
    }
  }
  return out;
}

std::string TimelineHtml(const Timeline& t) {
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      << "<title>shiplog timeline: " << Esc(t.deployment) << "</title>\n<style>" << kStyle
      << "</style>\n</head>\n<body>\n";
  WriteHtmlHeader(out, t);
  out << "<main>\n";
  WritePageNav(out, t);
  out << kLegend;
  WriteLanes(out, t);
  out << "<div class=\"layout\"><div>\n";
  WriteTable(out, t);
  WriteHtmlMeasures(out, t);
  out << "</div>\n<aside id=\"details\" aria-live=\"polite\"><p>Hover over or click an event to "
         "see its fields, signature status and sequence number.</p></aside></div>\n</main>\n";
  out << "<script type=\"application/json\" id=\"timeline-data\">" << JsonForScript(TimelineJson(t))
      << "</script>\n<script>" << kScript << "</script>\n</body>\n</html>\n";
  return out.str();
}

}  // namespace shiplog::replay
