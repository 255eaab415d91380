#include "replay/deployment_list.h"

#include <algorithm>
#include <iterator>
#include <set>

namespace shiplog::replay {
namespace {

using nlohmann::json;

// A request as the list reads it: an allowed deploy.requested, or a refused one (a policy.denied
// record of a deploy.requested attempt), whose own fields are all there is of it.
struct RequestRecord {
  std::string deployment;
  json fields;
  std::string actor;
  Micros time = 0;
};

// The request at `seq`; nullopt when that record is a denial of something else.
Result<std::optional<RequestRecord>> ReadRequestRecord(const Ledger& ledger, uint64_t seq) {
  SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, ledger.Read(seq));
  if (record.event.kind() == "deploy.requested") {
    return std::optional<RequestRecord>(RequestRecord{std::string(record.event.deployment()),
                                                      record.event.ToJson(),
                                                      std::string(record.event.actor()),
                                                      record.ledger_time});
  }
  if (record.event.kind() != "policy.denied") return std::optional<RequestRecord>();
  SignedEvent attempt = SignedEvent::OfDenial(record.event.reader().getBody().getPolicyDenied());
  auto intent = attempt.ReadEvent();
  if (!intent.ok() || intent->kind() != "deploy.requested") return std::optional<RequestRecord>();
  return std::optional<RequestRecord>(RequestRecord{std::string(intent->deployment()),
                                                    intent->ToJson(),
                                                    std::string(intent->actor()),
                                                    record.ledger_time});
}

// The sequence numbers `filter` matches, in order.
Result<std::vector<uint64_t>> MatchingSeqs(const Ledger& ledger, const QueryFilter& filter) {
  std::vector<uint64_t> seqs;
  SHIPLOG_RETURN_IF_ERROR(ledger.QuerySeqs(filter, [&seqs](uint64_t seq) {
    seqs.push_back(seq);
    return true;
  }));
  return seqs;
}

QueryFilter OfDeployment(const std::string& deployment) {
  QueryFilter filter;
  filter.deployment = deployment;
  return filter;
}

std::string FieldText(const json& fields, const char* name) {
  auto it = fields.find(name);
  return it != fields.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The records the list's first window reaches back, per row the page asks for: a deployment
// of the default chain writes about a dozen.
constexpr uint64_t kFirstWindowPerRow = 16;

class Lister {
 public:
  Lister(const Ledger& ledger, const DeploymentListFilter& filter)
      : ledger_(ledger), filter_(filter) {}

  // The requests among records [from, end) that the filter's time bounds hold, newest first:
  // allowed ones, and every denial (the refused requests are among them).
  Result<std::vector<uint64_t>> Candidates(uint64_t from, uint64_t end) const {
    std::vector<uint64_t> out;
    for (const QueryFilter& filter : CandidateFilters(from, end)) {
      SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, MatchingSeqs(ledger_, filter));
      out.insert(out.end(), seqs.begin(), seqs.end());
    }
    std::sort(out.begin(), out.end(), std::greater<>());
    return out;
  }

  // Whether records [0, end) hold any candidate.
  Result<bool> AnyCandidateBefore(uint64_t end) const {
    bool any = false;
    for (const QueryFilter& filter : CandidateFilters(0, end)) {
      if (any) break;
      SHIPLOG_RETURN_IF_ERROR(ledger_.QuerySeqs(filter, [&any](uint64_t) {
        any = true;
        return false;
      }));
    }
    return any;
  }

  // The summary of the deployment whose request is at `seq`, when this is its first request and
  // it matches the filter.
  Result<std::optional<DeploymentSummary>> Summarize(uint64_t seq) const {
    SHIPLOG_ASSIGN_OR_RETURN(std::optional<RequestRecord> request, ReadRequestRecord(ledger_, seq));
    if (!request || request->deployment.empty()) return std::optional<DeploymentSummary>();
    const std::string& id = request->deployment;
    SHIPLOG_ASSIGN_OR_RETURN(bool earlier, HasEarlierRequest(id, seq));
    if (earlier) return std::optional<DeploymentSummary>();  // listed at its first request

    QueryFilter all = OfDeployment(id);
    SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> records, MatchingSeqs(ledger_, all));
    QueryFilter denials = OfDeployment(id);
    denials.decision = "denied";
    SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> denied, MatchingSeqs(ledger_, denials));
    QueryFilter waivers = OfDeployment(id);
    waivers.waivers = true;
    SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> waived, MatchingSeqs(ledger_, waivers));
    QueryFilter allowed = OfDeployment(id);
    allowed.kind = "deploy.requested";
    SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> requests, MatchingSeqs(ledger_, allowed));

    DeploymentSummary summary;
    summary.deployment = id;
    summary.requested_seq = seq;
    summary.requested_at = request->time;
    summary.requested_by = request->actor;
    // The header is the first allowed request's, as the timeline's; a refused one's otherwise.
    json fields = request->fields;
    if (!requests.empty() && requests.front() != seq) {
      SHIPLOG_ASSIGN_OR_RETURN(std::optional<RequestRecord> first,
                               ReadRequestRecord(ledger_, requests.front()));
      if (first) fields = first->fields;
    }
    summary.app = FieldText(fields, "app");
    summary.environment = FieldText(fields, "environment");
    summary.version = FieldText(fields, "version");
    summary.image = FieldText(fields, "image");
    if (!filter_.app.empty() && summary.app != filter_.app) return std::optional<DeploymentSummary>();
    if (!filter_.environment.empty() && summary.environment != filter_.environment) {
      return std::optional<DeploymentSummary>();
    }

    summary.last_seq = records.empty() ? seq : records.back();
    summary.denials = denied.size();
    summary.waivers = waived.size();
    SHIPLOG_ASSIGN_OR_RETURN(summary.status, StatusOf(id, summary.last_seq, denied));
    if (!filter_.status.empty() && summary.status != filter_.status) {
      return std::optional<DeploymentSummary>();
    }
    if (!filter_.actor.empty()) {
      QueryFilter by = OfDeployment(id);
      by.actor = filter_.actor;
      bool signed_one = false;
      SHIPLOG_RETURN_IF_ERROR(ledger_.QuerySeqs(by, [&signed_one](uint64_t) {
        signed_one = true;
        return false;
      }));
      if (!signed_one) return std::optional<DeploymentSummary>();
    }
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord last, ledger_.Read(summary.last_seq));
    summary.last_at = last.ledger_time;
    return std::optional<DeploymentSummary>(std::move(summary));
  }

 private:
  // The two queries Candidates() reads, bounded to records [from, end). REQUIRES: from < end.
  std::vector<QueryFilter> CandidateFilters(uint64_t from, uint64_t end) const {
    QueryFilter allowed;
    allowed.kind = "deploy.requested";
    allowed.app = filter_.app;
    allowed.environment = filter_.environment;
    QueryFilter refused;
    refused.decision = "denied";
    for (QueryFilter* f : {&allowed, &refused}) {
      f->since = filter_.since;
      f->until = filter_.until;
      f->from_seq = from;
      f->to_seq = end - 1;
    }
    return {allowed, refused};
  }

  // Whether the deployment `id` was requested (allowed or refused) before `seq`.
  Result<bool> HasEarlierRequest(const std::string& id, uint64_t seq) const {
    if (seq == 0) return false;
    QueryFilter earlier = OfDeployment(id);
    earlier.to_seq = seq - 1;
    earlier.kind = "deploy.requested";
    SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> allowed, MatchingSeqs(ledger_, earlier));
    if (!allowed.empty()) return true;
    earlier.kind.clear();
    earlier.decision = "denied";
    SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> refused, MatchingSeqs(ledger_, earlier));
    for (uint64_t denial : refused) {
      SHIPLOG_ASSIGN_OR_RETURN(std::optional<RequestRecord> request, ReadRequestRecord(ledger_, denial));
      if (request) return true;
    }
    return false;
  }

  // See kDeploymentStatuses.
  Result<std::string> StatusOf(const std::string& id, uint64_t last_seq,
                               const std::vector<uint64_t>& denied) const {
    std::optional<uint64_t> completed, rolled_back;
    for (auto [kind, end] : {std::make_pair("deploy.completed", &completed),
                             std::make_pair("rollback.completed", &rolled_back)}) {
      QueryFilter ends = OfDeployment(id);
      ends.kind = kind;
      SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> seqs, MatchingSeqs(ledger_, ends));
      if (!seqs.empty()) *end = seqs.back();
    }
    if (completed || rolled_back) {
      const bool completed_last = completed && completed.value_or(0) >= rolled_back.value_or(0);
      return std::string(completed_last ? "completed" : "rolled back");
    }
    if (!denied.empty() && denied.back() == last_seq) return std::string("denied");
    return std::string("in progress");
  }

  const Ledger& ledger_;
  const DeploymentListFilter& filter_;
};

}  // namespace

Result<DeploymentList> ListDeployments(const Ledger& ledger, const DeploymentListFilter& filter) {
  if (filter.limit == 0) return Status::InvalidArgument("a deployment list's limit is at least 1");
  if (!filter.status.empty() &&
      std::find(std::begin(kDeploymentStatuses), std::end(kDeploymentStatuses), filter.status) ==
          std::end(kDeploymentStatuses)) {
    return Status::InvalidArgument("status '" + filter.status +
                                   "' is not one of: in progress, completed, rolled back, denied");
  }
  Lister lister(ledger, filter);
  DeploymentList list;
  // Newest first through windows of records that double as they go back from the page's end, so
  // that a page reads the requests back to its last one (about twice as many at most), not every
  // request the ledger holds: the first page of a 5M-record ledger took 92 ms when it did.
  uint64_t end = std::min(filter.before_seq.value_or(UINT64_MAX), ledger.size());
  uint64_t window = filter.limit > UINT64_MAX / kFirstWindowPerRow
                        ? UINT64_MAX
                        : kFirstWindowPerRow * filter.limit;
  while (end > 0) {
    const uint64_t from = end > window ? end - window : 0;
    SHIPLOG_ASSIGN_OR_RETURN(std::vector<uint64_t> candidates, lister.Candidates(from, end));
    for (size_t i = 0; i < candidates.size(); ++i) {
      SHIPLOG_ASSIGN_OR_RETURN(std::optional<DeploymentSummary> summary,
                               lister.Summarize(candidates[i]));
      if (!summary) continue;
      list.deployments.push_back(std::move(*summary));
      if (list.deployments.size() < filter.limit) continue;
      bool more = i + 1 < candidates.size();
      if (!more && from > 0) {
        SHIPLOG_ASSIGN_OR_RETURN(more, lister.AnyCandidateBefore(from));
      }
      if (more) list.next_before_seq = list.deployments.back().requested_seq;
      return list;
    }
    end = from;
    window = window > UINT64_MAX / 2 ? UINT64_MAX : window * 2;
  }
  return list;
}

json DeploymentListJson(const DeploymentList& list) {
  json deployments = json::array();
  for (const DeploymentSummary& d : list.deployments) {
    deployments.push_back({{"deployment", d.deployment},
                           {"app", d.app},
                           {"environment", d.environment},
                           {"version", d.version},
                           {"image", d.image},
                           {"requested_by", d.requested_by},
                           {"requested_seq", d.requested_seq},
                           {"requested_at", FormatTime(d.requested_at)},
                           {"status", d.status},
                           {"last_seq", d.last_seq},
                           {"last_at", FormatTime(d.last_at)},
                           {"denials", d.denials},
                           {"waivers", d.waivers}});
  }
  json out = {{"deployments", std::move(deployments)}};
  if (list.next_before_seq) out["next_before"] = *list.next_before_seq;
  return out;
}

}  // namespace shiplog::replay
