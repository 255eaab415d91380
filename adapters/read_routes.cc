// The read-only endpoints: checkpoints and proofs, deployments (state, replay, timeline) and
// queries. They read the ledger's store directly (RocksDB reads run alongside appends) and never
// touch the policy gate's state, which belongs to the sequencer.
//
// Checkpoints and proofs are a few point reads and answer on the I/O thread. Deployments and
// queries can read a whole deployment or the whole log: they run on the reader pool (a full pool
// is a 503 with Retry-After), and their memory is bounded: a timeline is a page of entries
// (?from=SEQ&limit=N, linking to the next), a query streams a page of records per pull.
//
// Each endpoint names the parameters it takes; any other is a 400 naming it, so a typo never
// silently widens an answer.
#include <spdlog/spdlog.h>

#include <initializer_list>
#include <memory>
#include <vector>

#include "adapters/api_paths.h"
#include "adapters/read_access.h"
#include "adapters/routes.h"
#include "ledger/bundle.h"
#include "ledger/cosignature.h"
#include "ledger/query_bounds.h"
#include "replay/deployment_list.h"
#include "replay/replay.h"
#include "replay/timeline.h"

namespace shiplog::adapters {
namespace {

using nlohmann::json;

// Records a query reads per pull of its stream: enough to fill a chunk, few enough that a large
// answer is never held whole.
constexpr size_t kQueryPage = 256;
// Timeline entries per page unless ?limit= says otherwise, and the most one page may hold: an
// entry's JSON or HTML is about a kilobyte, so a page stays around a megabyte or less.
constexpr size_t kTimelineDefaultLimit = 500;
constexpr size_t kTimelineMaxLimit = 2000;
// Deployments per page of /v1/deployments unless ?limit= says otherwise, and the most.
constexpr size_t kDeploymentsDefaultLimit = 50;
constexpr size_t kDeploymentsMaxLimit = 200;

// Whether the signer of a read may see record `seq` (unsigned reads never reach the records).
Result<bool> Visible(const Ledger& ledger, const Reader* reader, uint64_t seq) {
  if (reader == nullptr) return true;
  return RecordVisible(ledger, *reader, seq);
}

Response JsonAnswer(const json& body) {
  Response r;
  r.body = DumpJson(body);
  return r;
}

}  // namespace

// Shared with the other routes (routes.h).
Status OnlyParams(const Request& request, std::initializer_list<const char*> known) {
  for (const auto& [name, value] : request.query) {
    bool ok = false;
    for (const char* k : known) ok = ok || name == k;
    if (ok) continue;
    std::string list;
    for (const char* k : known) list += std::string(list.empty() ? "" : ", ") + k;
    return Status::InvalidArgument("unknown parameter '" + name + "' for " + request.path +
                                   (list.empty() ? " (it takes none)" : " (it takes " + list + ")"));
  }
  return Status::Ok();
}

// The parameter `name` as a non-negative integer; nullopt when not given.
Result<std::optional<uint64_t>> UintParam(const Request& request, const std::string& name) {
  auto text = request.Param(name);
  if (!text) return std::optional<uint64_t>();
  if (text->empty() || text->size() > 19 ||
      text->find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("parameter " + name + " wants a non-negative integer, got '" +
                                   *text + "'");
  }
  return std::optional<uint64_t>(std::stoull(*text));
}

namespace {

Result<uint64_t> RequiredUint(const Request& request, const std::string& name) {
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<uint64_t> value, UintParam(request, name));
  if (!value) return Status::InvalidArgument("parameter " + name + " is required");
  return *value;
}

// "true" or "false" (absent: false).
Result<bool> FlagParam(const Request& request, const std::string& name) {
  auto text = request.Param(name);
  if (!text || *text == "false") return false;
  if (*text == "true") return true;
  return Status::InvalidArgument("parameter " + name + " is true or false, not '" + *text + "'");
}

Response CheckpointOf(ServerState& state, const Request& request) {
  Status params = OnlyParams(request, {"size"});
  if (!params.ok()) return ErrorResponse(params);
  auto size = UintParam(request, "size");
  if (!size.ok()) return ErrorResponse(size.status());
  auto checkpoint = *size ? state.ledger.CheckpointAt(**size)
                          : Result<shiplog::Checkpoint>(state.ledger.LatestCheckpoint());
  if (!checkpoint.ok()) return ErrorResponse(checkpoint.status());
  auto cosigned = WithCosignatures(state.ledger.store(), std::move(checkpoint).value());
  if (!cosigned.ok()) return ErrorResponse(cosigned.status());
  return JsonAnswer(cosigned->ToJson());
}

Response InclusionProofOf(ServerState& state, const Request& request) {
  Status params = OnlyParams(request, {"seq", "size"});
  if (!params.ok()) return ErrorResponse(params);
  auto seq = RequiredUint(request, "seq");
  if (!seq.ok()) return ErrorResponse(seq.status());
  auto size = UintParam(request, "size");
  if (!size.ok()) return ErrorResponse(size.status());
  auto proof = state.ledger.ProveInclusion(*seq, *size);
  if (!proof.ok()) return ErrorResponse(proof.status());
  return JsonAnswer(proof->ToJson());
}

Response ConsistencyProofOf(ServerState& state, const Request& request) {
  Status params = OnlyParams(request, {"from", "to"});
  if (!params.ok()) return ErrorResponse(params);
  auto from = RequiredUint(request, "from");
  if (!from.ok()) return ErrorResponse(from.status());
  auto to = RequiredUint(request, "to");
  if (!to.ok()) return ErrorResponse(to.status());
  auto proof = state.ledger.ProveConsistency(*from, *to);
  if (!proof.ok()) return ErrorResponse(proof.status());
  return JsonAnswer(proof->ToJson());
}

// The most records one /v1/records answers: a page of the console's.
constexpr size_t kMaxRecordsPerBatch = 1000;

// "1,5,9" as sequence numbers, in the order given.
Result<std::vector<uint64_t>> SeqList(const std::string& text) {
  std::vector<uint64_t> seqs;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    std::optional<uint64_t> seq = ParseSeq(item);
    if (!seq) {
      return Status::InvalidArgument("parameter seqs is sequence numbers separated by commas; '" +
                                     item.substr(0, 40) + "' is not one");
    }
    seqs.push_back(*seq);
    if (seqs.size() > kMaxRecordsPerBatch) {
      return Status::InvalidArgument("parameter seqs names more than " +
                                     std::to_string(kMaxRecordsPerBatch) + " records");
    }
    start = comma + 1;
  }
  return seqs;
}

// Records as a client that trusts nothing checks them (the console, adapters/console/verify.js):
// each one's leaf input, and its inclusion proof to one checkpoint, signed by the ledger key.
// The client decodes the entry itself and compares it with what it was shown.
Response RecordsWithProofs(ServerState& state, const Request& request, const std::string&) {
  Status params = OnlyParams(request, {"seqs", "size"});
  if (!params.ok()) return ErrorResponse(params);
  auto seqs = SeqList(request.Param("seqs").value_or(""));
  if (!seqs.ok()) return ErrorResponse(seqs.status());
  auto size = UintParam(request, "size");
  if (!size.ok()) return ErrorResponse(size.status());
  // One tree for every proof: the latest checkpoint's unless a size is named.
  auto checkpoint = *size ? state.ledger.CheckpointAt(**size)
                          : Result<shiplog::Checkpoint>(state.ledger.LatestCheckpoint());
  if (!checkpoint.ok()) return ErrorResponse(checkpoint.status());
  const uint64_t tree_size = checkpoint->head.size;
  json records = json::array();
  for (uint64_t seq : *seqs) {
    if (seq >= tree_size) {
      return ErrorResponse(404, "not_found",
                           "record " + std::to_string(seq) + " is not in the checkpoint of size " +
                               std::to_string(tree_size));
    }
    auto visible = Visible(state.ledger, request.reader.get(), seq);
    if (!visible.ok()) return ErrorResponse(visible.status());
    if (!*visible) {
      return ErrorResponse(403, "forbidden",
                           "the roles of key '" + request.reader->name + "' may not read record " +
                               std::to_string(seq));
    }
    auto record = state.ledger.Read(seq);
    if (!record.ok()) return ErrorResponse(record.status());
    auto proof = state.ledger.ProveInclusion(seq, tree_size);
    if (!proof.ok()) return ErrorResponse(proof.status());
    records.push_back({{"seq", seq},
                       {"entry", Base64Encode(record->entry)},
                       {"proof", HashesToHex(proof->path)}});
  }
  auto cosigned = WithCosignatures(state.ledger.store(), std::move(checkpoint).value());
  if (!cosigned.ok()) return ErrorResponse(cosigned.status());
  return JsonAnswer({{"checkpoint", cosigned->ToJson()}, {"records", std::move(records)}});
}

// The deployments, newest first, a page at a time (replay/deployment_list.h).
Response Deployments(ServerState& state, const Request& request, const std::string&) {
  Status params = OnlyParams(
      request, {"app", "environment", "status", "actor", "since", "until", "before", "limit"});
  if (!params.ok()) return ErrorResponse(params);
  replay::DeploymentListFilter filter;
  filter.app = request.Param("app").value_or("");
  filter.environment = request.Param("environment").value_or("");
  filter.status = request.Param("status").value_or("");
  filter.actor = request.Param("actor").value_or("");
  QueryFilter bounds;
  Status times = SetTimeBounds(bounds, {"parameter since", request.Param("since").value_or("")},
                               {"parameter until", request.Param("until").value_or("")});
  if (!times.ok()) return ErrorResponse(times);
  filter.since = bounds.since;
  filter.until = bounds.until;
  auto before = UintParam(request, "before");
  if (!before.ok()) return ErrorResponse(before.status());
  filter.before_seq = *before;
  auto limit = UintParam(request, "limit");
  if (!limit.ok()) return ErrorResponse(limit.status());
  filter.limit = limit->value_or(kDeploymentsDefaultLimit);
  if (filter.limit == 0 || filter.limit > kDeploymentsMaxLimit) {
    return ErrorResponse(400, "invalid_argument",
                         "parameter limit is 1 to " + std::to_string(kDeploymentsMaxLimit));
  }
  // A reader limited to some deployments sees those only; the list is filtered as a query is.
  auto list = replay::ListDeployments(state.ledger, filter);
  if (!list.ok()) return ErrorResponse(list.status());
  if (request.reader && !request.reader->scope.all) {
    std::vector<replay::DeploymentSummary> visible;
    for (replay::DeploymentSummary& d : list->deployments) {
      auto seen = Visible(state.ledger, request.reader.get(), d.requested_seq);
      if (!seen.ok()) return ErrorResponse(seen.status());
      if (*seen) visible.push_back(std::move(d));
    }
    list->deployments = std::move(visible);
  }
  return JsonAnswer(replay::DeploymentListJson(*list));
}

// The deployment's state and the decisions for its next intents at ?at=SEQ|TIME, or as of the
// latest record.
Response DeploymentState(ServerState& state, const Request& request, const std::string& id) {
  Status params = OnlyParams(request, {"at"});
  if (!params.ok()) return ErrorResponse(params);
  replay::Moment moment = replay::Moment::AtSeq(state.ledger.size() - 1);
  if (auto at = request.Param("at")) {
    auto parsed = replay::ParseMoment(*at, "parameter at");
    if (!parsed.ok()) return ErrorResponse(parsed.status());
    moment = *parsed;
  }
  replay::ReplayOptions options;
  options.data_dir = state.options.data_dir;
  options.warn = [](const std::string& message) { spdlog::warn("replay: {}", message); };
  auto replayed = replay::ReplayAt(state.ledger, id, moment, options);
  if (!replayed.ok()) return ErrorResponse(replayed.status());
  return JsonAnswer(replayed->ToJson());
}

// The page ?from=SEQ&limit=N asks for (from the first entry, kTimelineDefaultLimit entries).
Result<replay::TimelinePage> TimelinePageOf(const Request& request) {
  replay::TimelinePage page;
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<uint64_t> from, UintParam(request, "from"));
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<uint64_t> limit, UintParam(request, "limit"));
  page.from_seq = from.value_or(0);
  page.limit = limit.value_or(kTimelineDefaultLimit);
  if (page.limit == 0 || page.limit > kTimelineMaxLimit) {
    return Status::InvalidArgument("parameter limit is 1 to " + std::to_string(kTimelineMaxLimit) +
                                   ", not " + std::to_string(page.limit));
  }
  return page;
}

// The deployment's audit bundle, as `shiplog export` writes it; ?since= a checkpoint the client
// kept (its signed note, checked against this ledger's key) adds the proof that the log only grew.
Response DeploymentBundle(ServerState& state, const Request& request, const std::string& id) {
  Status params = OnlyParams(request, {"since"});
  if (!params.ok()) return ErrorResponse(params);
  std::optional<shiplog::Checkpoint> since;
  if (auto kept = request.Param("since")) {
    auto checkpoint = shiplog::Checkpoint::FromText(*kept, state.ledger.public_key());
    if (!checkpoint.ok()) return ErrorResponse(checkpoint.status().Prefixed("parameter since"));
    since = std::move(checkpoint).value();
  }
  auto bundle = ExportBundle(state.ledger, id, since);
  if (!bundle.ok()) return ErrorResponse(bundle.status());
  return JsonAnswer(*bundle);
}

Response DeploymentTimeline(ServerState& state, const Request& request, const std::string& id) {
  Status params = OnlyParams(request, {"format", "from", "limit"});
  if (!params.ok()) return ErrorResponse(params);
  const std::string format = request.Param("format").value_or("json");
  if (format != "json" && format != "html") {
    return ErrorResponse(400, "invalid_argument",
                         "parameter format is json or html, not '" + format + "'");
  }
  auto page = TimelinePageOf(request);
  if (!page.ok()) return ErrorResponse(page.status());
  auto timeline = replay::BuildTimeline(state.ledger, id, *page);
  if (!timeline.ok()) return ErrorResponse(timeline.status());
  if (format == "json") {
    json body = replay::TimelineJson(*timeline);
    body["page"] = replay::TimelinePageJson(*timeline);
    return JsonAnswer(body);
  }
  Response r;
  r.content_type = "text/html; charset=utf-8";
  r.body = replay::TimelineHtml(*timeline);
  return r;
}

// The filter a /v1/query asks for, with the same fields (and time parsing) as `shiplog query`.
Result<QueryFilter> QueryFilterOf(const Request& request) {
  QueryFilter filter;
  for (auto [name, field] : {std::make_pair("deployment", &filter.deployment),
                             std::make_pair("app", &filter.app),
                             std::make_pair("environment", &filter.environment),
                             std::make_pair("actor", &filter.actor),
                             std::make_pair("role", &filter.role),
                             std::make_pair("kind", &filter.kind),
                             std::make_pair("step", &filter.step),
                             std::make_pair("image", &filter.image),
                             std::make_pair("source", &filter.source),
                             std::make_pair("decision", &filter.decision)}) {
    *field = request.Param(name).value_or("");
  }
  SHIPLOG_ASSIGN_OR_RETURN(filter.waivers, FlagParam(request, "waivers"));
  SHIPLOG_ASSIGN_OR_RETURN(std::optional<uint64_t> from_seq, UintParam(request, "from_seq"));
  filter.from_seq = from_seq.value_or(0);
  SHIPLOG_ASSIGN_OR_RETURN(filter.to_seq, UintParam(request, "to_seq"));
  SHIPLOG_RETURN_IF_ERROR(SetTimeBounds(filter,
                                        {"parameter since", request.Param("since").value_or("")},
                                        {"parameter until", request.Param("until").value_or("")}));
  return filter;
}

// Pulls a query's records a page at a time: the next page's sequence numbers from the indexes
// (resuming after the last one sent), then those records. The answer is the records as of the
// request: records appended while it streams are not included.
// A reader limited to some deployments (adapters/read_access.h) sees only their records: the
// others are skipped as if they did not match.
class QueryStream {
 public:
  QueryStream(const Ledger& ledger, QueryFilter filter, std::shared_ptr<const Reader> reader)
      : ledger_(ledger), filter_(filter), reader_(std::move(reader)) {}

  // The next page's sequence numbers; empty once the answer is done.
  Status NextPage() {
    page_.clear();
    if (done_) return Status::Ok();
    Status visibility;
    Status status = ledger_.QuerySeqs(filter_, [this, &visibility](uint64_t seq) {
      auto visible = Visible(ledger_, reader_.get(), seq);
      if (!visible.ok()) visibility = visible.status();
      if (!visible.ok()) return false;
      if (*visible) page_.push_back(seq);
      return page_.size() < kQueryPage;
    });
    if (!status.ok()) return status;
    if (!visibility.ok()) return visibility;
    if (page_.size() < kQueryPage) {
      done_ = true;
    } else {
      filter_.from_seq = page_.back() + 1;
    }
    return Status::Ok();
  }

  // Fills `chunk` with the current page as JSON lines and reads the next; false when done. An
  // error after the headers went out ends the stream with one {"error": ...} line.
  bool Pull(std::string& chunk) {
    if (page_.empty()) return false;
    for (uint64_t seq : page_) {
      auto record = ledger_.Read(seq);
      if (!record.ok()) return Failed(record.status(), chunk);
      chunk += DumpJson(record->ToJson());
    }
    Status next = NextPage();
    if (!next.ok()) return Failed(next, chunk);
    return !page_.empty();
  }

 private:
  bool Failed(const Status& status, std::string& chunk) {
    spdlog::error("query stream stopped: {}", status.ToString());
    chunk += DumpJson(
        {{"error", {{"code", StatusCodeName(status.code())}, {"message", status.message()}}}});
    page_.clear();
    done_ = true;
    return false;
  }

  const Ledger& ledger_;
  QueryFilter filter_;
  std::shared_ptr<const Reader> reader_;
  std::vector<uint64_t> page_;
  bool done_ = false;
};

Response Query(ServerState& state, const Request& request) {
  Status params = OnlyParams(request, {"deployment", "app", "environment", "actor", "role", "kind",
                                       "step", "image", "source", "since", "until", "decision",
                                       "waivers",
                                       "from_seq", "to_seq", "count"});
  if (!params.ok()) return ErrorResponse(params);
  auto filter = QueryFilterOf(request);
  if (!filter.ok()) return ErrorResponse(filter.status());
  auto count_only = FlagParam(request, "count");
  if (!count_only.ok()) return ErrorResponse(count_only.status());
  // The answer as of now: appends during a long stream do not extend it.
  const uint64_t last = state.ledger.size() - 1;
  filter->to_seq = filter->to_seq ? std::min(*filter->to_seq, last) : last;
  if (*count_only) {
    uint64_t count = 0;
    Status visibility;
    Status status = state.ledger.QuerySeqs(*filter, [&](uint64_t seq) {
      auto visible = Visible(state.ledger, request.reader.get(), seq);
      if (!visible.ok()) visibility = visible.status();
      count += visible.ok() && *visible ? 1 : 0;
      return visible.ok();
    });
    if (status.ok()) status = visibility;
    if (!status.ok()) return ErrorResponse(status);
    return JsonAnswer({{"count", count}});
  }
  // The first page is read before answering, so a filter the ledger refuses is a plain 400.
  auto stream = std::make_shared<QueryStream>(state.ledger, *filter, request.reader);
  Status first = stream->NextPage();
  if (!first.ok()) return ErrorResponse(first);
  Response r;
  r.content_type = kJsonLines;
  r.stream = [stream](std::string& chunk) { return stream->Pull(chunk); };
  return r;
}

Response TooManyReads() {
  Response r = ErrorResponse(503, "unavailable", "too many reads in progress; retry later");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace

// Shared with the other routes (routes.h).
void OnReaderPool(ServerState& state, const Request& request, const Respond& respond,
                  Response (*read)(ServerState&, const Request&, const std::string&),
                  std::string id) {
  const bool queued = state.readers.TryRun([&state, request, respond, read, id = std::move(id)] {
    AnswerGuarded(respond, "a read", [&] { respond(read(state, request, id)); });
  });
  if (!queued) respond(TooManyReads());
}

namespace {

Response QueryOf(ServerState& state, const Request& request, const std::string&) {
  return Query(state, request);
}

}  // namespace

bool RouteRead(ServerState& state, const Request& request, const Respond& respond) {
  const std::string& path = request.path;
  const bool deployments = path.rfind(kDeploymentsPrefix, 0) == 0;
  if (path != "/v1/checkpoint" && path != "/v1/proofs/inclusion" &&
      path != "/v1/proofs/consistency" && path != "/v1/query" && path != "/v1/records" &&
      path != "/v1/deployments" && !deployments) {
    return false;
  }
  if (request.method != "GET") {
    respond(ErrorResponse(405, "method_not_allowed", path + " takes GET, not " + request.method));
    return true;
  }
  if (path == "/v1/checkpoint") {
    respond(CheckpointOf(state, request));
  } else if (path == "/v1/proofs/inclusion") {
    respond(InclusionProofOf(state, request));
  } else if (path == "/v1/proofs/consistency") {
    respond(ConsistencyProofOf(state, request));
  } else if (path == "/v1/query") {
    OnReaderPool(state, request, respond, QueryOf, "");
  } else if (path == "/v1/records") {
    OnReaderPool(state, request, respond, RecordsWithProofs, "");
  } else if (path == "/v1/deployments") {
    OnReaderPool(state, request, respond, Deployments, "");
  } else {
    std::optional<DeploymentPath> deployment = ParseDeploymentPath(path);
    if (!deployment) {
      respond(ErrorResponse(404, "not_found",
                            "no endpoint " + path +
                                " (GET /v1/deployments/{id}, /v1/deployments/{id}/timeline or "
                                "/v1/deployments/{id}/bundle)"));
    } else {
      auto answer = DeploymentState;
      if (deployment->view == DeploymentPath::View::kTimeline) answer = DeploymentTimeline;
      if (deployment->view == DeploymentPath::View::kBundle) answer = DeploymentBundle;
      OnReaderPool(state, request, respond, answer, std::move(deployment->id));
    }
  }
  return true;
}

}  // namespace shiplog::adapters
