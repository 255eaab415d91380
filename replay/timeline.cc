// Building a timeline: the deployment's records in ledger order, folded with the key records
// before them (KeyRegistry::Apply, as the ledger and the bundle fold them) so each entry names its
// signer as they stood then, and checked the way Ledger::Verify() checks a record
// (SignedEvent::VerifySignature and CheckRecordAuthority).
#include "replay/timeline.h"

#include <algorithm>
#include <map>
#include <utility>

#include "ledger/bundle.h"
#include "ledger/record_checks.h"

namespace shiplog::replay {
namespace {

using nlohmann::json;

constexpr char kSignatureValid[] = "valid";

bool IsKeyKind(std::string_view kind) {
  return kind == "ledger.genesis" || kind == "key.enrolled" || kind == "key.revoked";
}

// The decision a record carries, when it carries one that parses.
std::optional<policy::Decision> ParseDecision(const std::string& text) {
  if (text.empty()) return std::nullopt;
  auto decision =
      policy::Decision::FromJson(ParseStoredJson(text));
  if (!decision.ok()) return std::nullopt;
  return std::move(decision).value();
}

TimelineSigner SignerOf(const std::string& public_key, std::string_view actor,
                        const KeyRegistry& keys) {
  TimelineSigner who{std::string(actor), {}, HexEncode(public_key)};
  if (const KeyInfo* info = keys.Find(public_key)) {
    who.name = info->name;
    who.roles = info->roles;
  }
  return who;
}

// "registry.example/checkout@sha256:4f1c2a9e7b3d…": enough of the digest to tell images apart.
std::string ShortImage(const std::string& image) {
  const std::string marker = "@sha256:";
  const size_t at = image.find(marker);
  if (at == std::string::npos || image.size() <= at + marker.size() + 12) return image;
  return image.substr(0, at + marker.size() + 12) + "\u2026";
}

std::string Joined(const json& list, const char* separator) {
  std::string out;
  if (!list.is_array()) return out;
  for (const json& item : list) {
    out += (out.empty() ? "" : separator) + (item.is_string() ? item.get<std::string>() : item.dump());
  }
  return out;
}

std::string Text(const json& fields, const char* name) {
  auto it = fields.find(name);
  if (it == fields.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string WithImage(std::string text, const json& fields) {
  const std::string image = Text(fields, "image");
  return image.empty() ? text : text + " with image " + ShortImage(image);
}

std::string Metrics(const json& fields) {
  auto it = fields.find("metrics");
  if (it == fields.end() || !it->is_object() || it->empty()) return "";
  std::string out;
  for (const auto& item : it->items()) {
    out += (out.empty() ? " (" : ", ") + item.key() + " " + item.value().dump();
  }
  return out + ")";
}

std::string RequestSummary(const json& f) {
  std::string text = "requested " + Text(f, "app") + " " + Text(f, "version") + " to " +
                     Text(f, "environment") + " with image " + ShortImage(Text(f, "image")) +
                     " (" + Text(f, "strategy") + ", risk " + Text(f, "risk");
  const std::string steps = Joined(f.value("planned_steps", json::array()), " \u2192 ");
  return text + (steps.empty() ? "" : "; steps " + steps) + ")";
}

std::string ReportSummary(const json& f) {
  std::string status = Text(f, "status");
  std::transform(status.begin(), status.end(), status.begin(), ::toupper);  // as seed 000 writes it
  std::string text = "reported " + Text(f, "step") + " " + status;
  const std::string details = Text(f, "details");
  if (!details.empty()) text += ": " + details;
  const std::string blockers = Joined(f.value("blockers", json::array()), "; ");
  return blockers.empty() ? text : text + " (blockers: " + blockers + ")";
}

std::string WithComment(std::string text, const json& f, const char* name) {
  const std::string comment = Text(f, name);
  return comment.empty() ? text : text + ": " + comment;
}

// A short sentence saying what the event did (or tried to do, for a denial).
std::string Summarize(const std::string& kind, const json& f) {
  if (kind == "deploy.requested") return RequestSummary(f);
  if (kind == "review") {
    return WithComment(WithImage("review " + Text(f, "subject") + ": " + Text(f, "verdict"), f),
                       f, "comment");
  }
  if (kind == "step.started") return WithImage("started " + Text(f, "step"), f);
  if (kind == "step.reported") return ReportSummary(f);
  if (kind == "gate.result") {
    const std::string attested = f.contains("predicate_type") ? " (signed statement)" : "";
    return "gate " + Text(f, "gate") + ": " + Text(f, "outcome") + Metrics(f) + attested;
  }
  if (kind == "backup.verified") {
    return "backup " + Text(f, "backup_id") + " of " + Text(f, "scope") + " verified, " +
           (f.value("restore_tested", false) ? "restore tested" : "restore not tested");
  }
  if (kind == "traffic.shifted") return "shifted traffic to " + Text(f, "weight") + "%";
  if (kind == "rollback.started" || kind == "rollback.completed") {
    const std::string zone = Text(f, "zone");
    const std::string reason = Text(f, "reason");
    return std::string(kind == "rollback.started" ? "rollback started" : "rollback completed") +
           (zone.empty() ? "" : " in " + zone) + ": " +
           (reason.empty() ? "(no reason given)" : reason);
  }
  if (kind == "waiver.granted") return "waived " + Text(f, "rule");  // the reason is shown apart
  if (kind == "deploy.completed") return WithComment("completed the deployment", f, "summary");
  if (kind == "attestation.stored") return "evidence stored: " + Text(f, "predicate_type");
  return kind;
}

// The record's own signature and its signer's authority at that point.
Status CheckRecordSignature(const StoredRecord& record, const KeyRegistry& keys,
                            std::string_view ledger_key) {
  SHIPLOG_RETURN_IF_ERROR(record.signed_event.VerifySignature());
  return CheckRecordAuthority(record, keys, ledger_key);
}

void SetSignature(TimelineEntry& entry, const Status& status, const char* what) {
  if (status.ok() || !entry.signature_ok) return;  // keep the first failure
  entry.signature_ok = false;
  entry.signature = std::string(what) + ": " + status.message();
}

void FillFromEvent(TimelineEntry& entry, const Event& event, const TimelineSigner& who) {
  entry.kind = std::string(event.kind());
  entry.who = who;
  entry.fields = event.ToJson();
  entry.step = entry.fields.value("step", "");
  entry.summary = Summarize(entry.kind, entry.fields);
}

// A policy.denied record: the agent's attempt, its signature, and the reasons.
void FillDenial(TimelineEntry& entry, const StoredRecord& record, const KeyRegistry& keys) {
  auto body = record.event.reader().getBody().getPolicyDenied();
  SignedEvent attempt = SignedEvent::OfDenial(body);
  entry.denied = true;
  entry.decision = ParseDecision(body.getDecision());
  auto intent = attempt.ReadEvent();
  if (!intent.ok()) {
    FillFromEvent(entry, record.event, SignerOf(attempt.public_key, "", keys));
    entry.summary = "a denied intent that does not decode";
    SetSignature(entry, intent.status(), "the denied intent");
    return;
  }
  FillFromEvent(entry, *intent, SignerOf(attempt.public_key, intent->actor(), keys));
  entry.summary = "tried: " + entry.summary;
  SetSignature(entry, attempt.VerifySignature(), "the denied intent's signature");
  SetSignature(entry, keys.Authorize(*intent, attempt.public_key), "the denied intent's signer");
}

TimelineEntry MakeEntry(const StoredRecord& record, const KeyRegistry& keys,
                        std::string_view ledger_key) {
  TimelineEntry entry;
  entry.seq = record.seq;
  entry.time = record.ledger_time;
  entry.signature = kSignatureValid;
  SetSignature(entry, CheckRecordSignature(record, keys, ledger_key), "the record's signature");
  if (record.event.kind() == "policy.denied") {
    FillDenial(entry, record, keys);
    return entry;
  }
  FillFromEvent(entry, record.event,
                SignerOf(record.signed_event.public_key, record.event.actor(), keys));
  entry.decision = ParseDecision(record.decision);
  if (entry.kind == "waiver.granted") {
    entry.waiver = TimelineWaiver{Text(entry.fields, "rule"), Text(entry.fields, "reason"),
                                  entry.who.name};
  }
  return entry;
}

// ---- measuring across entries ----

class Measures {
 public:
  explicit Measures(Timeline& timeline) : t_(timeline) {}

  void Add(TimelineEntry& entry) {
    if (entry.denied) return;  // a refused intent changed nothing
    if (entry.kind == "step.started") StepStarted(entry);
    if (entry.kind == "step.reported") StepReported(entry);
    if (entry.kind == "traffic.shifted") Shifted(entry);
    if (entry.kind == "deploy.completed" || entry.kind == "rollback.started") EndPhase(entry);
  }

  // Copies each phase's length onto the shift that began it.
  void Finish() {
    for (const CanaryPhase& phase : t_.canary) {
      for (TimelineEntry& entry : t_.entries) {
        if (entry.seq == phase.seq) entry.phase_held = phase.held;
      }
    }
  }

 private:
  StepSpan& Span(const std::string& step) {
    for (StepSpan& span : t_.steps) {
      if (span.step == step) return span;
    }
    StepSpan span;
    span.step = step;
    t_.steps.push_back(std::move(span));
    return t_.steps.back();
  }

  void StepStarted(TimelineEntry& entry) {
    StepSpan* latest = nullptr;
    for (StepSpan& span : t_.steps) {
      if (span.step == entry.step || !span.ready || span.soak || span.status != "READY") continue;
      span.soak = entry.time - *span.ready;
      span.next_step = entry.step;
      if (latest == nullptr || *span.ready > *latest->ready) latest = &span;
    }
    if (latest) {
      entry.soak = latest->soak;
      entry.soaked_step = latest->step;
    }
    StepSpan& span = Span(entry.step);
    span.started_seq = entry.seq;
    span.started = entry.time;
    span.status = "started";
  }

  void StepReported(const TimelineEntry& entry) {
    StepSpan& span = Span(entry.step);
    span.status = entry.fields.value("status", "");
    std::transform(span.status.begin(), span.status.end(), span.status.begin(), ::toupper);
    span.soak.reset();
    span.next_step.clear();
    if (span.status == "READY") {
      span.ready_seq = entry.seq;
      span.ready = entry.time;
    }
  }

  void Shifted(const TimelineEntry& entry) {
    EndPhase(entry);
    CanaryPhase phase;
    phase.weight = entry.fields.value("weight", 0u);
    phase.seq = entry.seq;
    phase.from = entry.time;
    t_.canary.push_back(phase);
  }

  void EndPhase(const TimelineEntry& entry) {
    if (t_.canary.empty() || t_.canary.back().held) return;
    t_.canary.back().held = entry.time - t_.canary.back().from;
    t_.canary.back().until_seq = entry.seq;
  }

  Timeline& t_;
};

// The header comes from the first allowed deploy.requested; the outcome from the last end.
void NoteHeader(Timeline& timeline, const TimelineEntry& entry) {
  if (entry.denied) return;
  if (entry.kind == "deploy.requested" && timeline.app.empty()) {
    timeline.app = Text(entry.fields, "app");
    timeline.environment = Text(entry.fields, "environment");
    timeline.version = Text(entry.fields, "version");
    timeline.image = Text(entry.fields, "image");
    timeline.planned_steps = entry.fields.value("planned_steps", std::vector<std::string>{});
  }
  if (entry.kind == "deploy.completed") timeline.outcome = "completed";
  if (entry.kind == "rollback.completed") timeline.outcome = "rolled back";
}

// The seqs of the deployment's records and of the key records before its last one, in order:
// a plan of reads from the indexes alone, so no more than one record is held at a time.
Result<std::vector<uint64_t>> RecordPlan(const Ledger& ledger, const std::string& deployment) {
  std::vector<uint64_t> seqs;
  auto collect = [&seqs](uint64_t seq) {
    seqs.push_back(seq);
    return true;
  };
  QueryFilter own;
  own.deployment = deployment;
  SHIPLOG_RETURN_IF_ERROR(ledger.QuerySeqs(own, collect));
  if (seqs.empty()) {
    return Status::NotFound("the ledger holds no records of deployment '" + deployment + "'");
  }
  const uint64_t last = seqs.back();
  for (const char* kind : {"ledger.genesis", "key.enrolled", "key.revoked"}) {
    QueryFilter filter;
    filter.kind = kind;
    filter.to_seq = last;
    SHIPLOG_RETURN_IF_ERROR(ledger.QuerySeqs(filter, collect));
  }
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  return seqs;
}

// Folds entries one by one into the timeline's totals and measures, keeping only those in the
// page (all of them when there is no page).
class TimelineFold {
 public:
  TimelineFold(Timeline& timeline, std::optional<TimelinePage> page)
      : t_(timeline), page_(page), measures_(timeline) {
    if (page_) t_.page = TimelinePageInfo{page_->from_seq, page_->limit, 0, std::nullopt};
  }

  void Add(TimelineEntry entry) {
    if (first_) t_.started = entry.time;
    entry.since_previous = first_ ? 0 : entry.time - t_.ended;
    first_ = false;
    t_.ended = entry.time;
    measures_.Add(entry);
    NoteHeader(t_, entry);
    t_.denials += entry.denied;
    t_.waivers += entry.waiver.has_value();
    t_.bad_signatures += !entry.signature_ok;
    Keep(std::move(entry));
  }

  void Finish() {
    measures_.Finish();
    if (t_.outcome.empty()) t_.outcome = "in progress";
  }

 private:
  void Keep(TimelineEntry entry) {
    if (!page_) return t_.entries.push_back(std::move(entry));
    ++t_.page->total_entries;
    if (entry.seq < page_->from_seq) return;
    if (t_.entries.size() < page_->limit) return t_.entries.push_back(std::move(entry));
    if (!t_.page->next_from_seq) t_.page->next_from_seq = entry.seq;
  }

  Timeline& t_;
  std::optional<TimelinePage> page_;
  Measures measures_;
  bool first_ = true;
};

Result<Timeline> Build(const Ledger& ledger, const std::string& deployment,
                       std::optional<TimelinePage> page) {
  if (deployment.empty()) return Status::InvalidArgument("name the deployment (--deployment)");
  SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, RecordPlan(ledger, deployment));
  Timeline timeline;
  timeline.deployment = deployment;
  timeline.manual_clock = ledger.manual_clock();
  const std::string ledger_key = ledger.public_key();
  KeyRegistry keys;
  TimelineFold fold(timeline, page);
  for (uint64_t seq : seqs) {
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, ledger.Read(seq));
    if (record.event.deployment() == deployment) {
      fold.Add(MakeEntry(record, keys, ledger_key));
    } else if (IsKeyKind(record.event.kind())) {
      keys.Apply(record.event, seq);
    }
  }
  fold.Finish();
  return timeline;
}

}  // namespace

Result<Timeline> BuildTimeline(const Ledger& ledger, const std::string& deployment) {
  return Build(ledger, deployment, std::nullopt);
}

Result<Timeline> BuildTimeline(const Ledger& ledger, const std::string& deployment,
                               const TimelinePage& page) {
  if (page.limit == 0) return Status::InvalidArgument("a timeline page holds at least one entry");
  return Build(ledger, deployment, page);
}

json TimelinePageJson(const Timeline& timeline) {
  if (!timeline.page) return json();
  const TimelinePageInfo& page = *timeline.page;
  json out = {{"from", page.from_seq},
              {"limit", page.limit},
              {"entries", timeline.entries.size()},
              {"total_entries", page.total_entries}};
  if (page.next_from_seq) out["next_from"] = *page.next_from_seq;
  return out;
}

}  // namespace shiplog::replay
