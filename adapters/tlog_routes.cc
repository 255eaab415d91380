#include "adapters/tlog_routes.h"

#include <utility>

#include "ledger/cosignature.h"
#include "ledger/tiles.h"

namespace shiplog::adapters {
namespace {

constexpr char kTilePrefix[] = "/tile/";
constexpr char kCosignaturesPath[] = "/v1/checkpoint/cosignatures";
constexpr char kText[] = "text/plain; charset=utf-8";
constexpr char kOctets[] = "application/octet-stream";
// A full tile never changes. A partial one does not either, but the spec lets a log drop it once
// the full tile exists, so clients keep it only briefly; the checkpoint moves with every commit.
constexpr char kImmutable[] = "public, max-age=31536000, immutable";
constexpr char kPartial[] = "public, max-age=60";
constexpr char kNoCache[] = "no-cache";

Response Bytes(const char* content_type, std::string body, const char* cache_control) {
  Response r;
  r.content_type = content_type;
  r.body = std::move(body);
  r.headers.emplace_back("Cache-Control", cache_control);
  return r;
}

// The latest checkpoint without the sequencer's lock: a commit writes its records and their
// checkpoint in one atomic batch, so the checkpoint at the stored record count always exists.
Result<Checkpoint> LatestStoredCheckpoint(const Ledger& ledger) {
  SHIPLOG_ASSIGN_OR_RETURN(uint64_t size, ledger.store().RecordCount());
  return ledger.CheckpointAt(size);
}

Response CheckpointNote(const ServerState& state) {
  auto checkpoint = LatestStoredCheckpoint(state.ledger);
  if (!checkpoint.ok()) return ErrorResponse(checkpoint.status());
  auto cosigned = WithCosignatures(state.ledger.store(), std::move(checkpoint).value());
  if (!cosigned.ok()) return ErrorResponse(cosigned.status());
  return Bytes(kText, cosigned->checkpoint.note, kNoCache);
}

Response Tile(const ServerState& state, const std::string& path) {
  auto tile = tiles::ParseTilePath(std::string_view(path).substr(sizeof(kTilePrefix) - 1));
  if (!tile.ok()) return ErrorResponse(tile.status());
  // Read the size once: the tile is checked against a tree the store really held.
  auto size = state.ledger.store().RecordCount();
  if (!size.ok()) return ErrorResponse(size.status());
  Status in_tree = tiles::CheckInTree(*tile, *size);
  if (!in_tree.ok()) return ErrorResponse(in_tree);
  auto bytes = tiles::ReadTile(state.ledger.store(), *tile);
  if (!bytes.ok()) return ErrorResponse(bytes.status());
  return Bytes(kOctets, std::move(bytes).value(), tile->partial() ? kPartial : kImmutable);
}

Response StoreCosignatures(const ServerState& state, const Request& request) {
  if (state.options.witness_keys.empty()) {
    return ErrorResponse(400, "invalid_argument",
                         "this server trusts no witness keys (serve --witness-key VKEY)");
  }
  auto added = AddCosignatures(state.ledger, request.body, state.options.witness_keys);
  if (!added.ok()) return ErrorResponse(added.status());
  nlohmann::json witnesses = nlohmann::json::array();
  for (const Cosignature& c : *added) {
    witnesses.push_back({{"witness", c.witness}, {"timestamp", c.timestamp}});
  }
  Response r = JsonResponse(200, {{"stored", witnesses}});
  r.log_note = std::to_string(added->size()) + " cosignature(s)";
  return r;
}

}  // namespace

bool RouteTlog(ServerState& state, const Request& request, const Respond& respond) {
  const std::string& path = request.path;
  const bool tile = path.rfind(kTilePrefix, 0) == 0;
  if (path != "/checkpoint" && path != kCosignaturesPath && !tile) return false;
  const char* method = path == kCosignaturesPath ? "POST" : "GET";
  if (request.method != method) {
    respond(ErrorResponse(405, "method_not_allowed",
                          path + " takes " + method + ", not " + request.method));
    return true;
  }
  Status params = OnlyParams(request, {});
  if (!params.ok()) {
    respond(ErrorResponse(params));
  } else if (path == kCosignaturesPath) {
    respond(StoreCosignatures(state, request));
  } else if (tile) {
    respond(Tile(state, path));
  } else {
    respond(CheckpointNote(state));
  }
  return true;
}

}  // namespace shiplog::adapters
