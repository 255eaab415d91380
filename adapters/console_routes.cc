#include "adapters/console_routes.h"

#include <algorithm>

#include "adapters/console_assets.h"
#include "adapters/console_schema.h"

namespace shiplog::adapters {
namespace {

constexpr std::string_view kConsolePrefix = "/ui/";

// Scripts, styles, images and API calls from this origin only; nothing inline, no plugins, no
// framing (clickjacking), no <base> rewriting links.
constexpr char kContentSecurityPolicy[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const ConsoleAsset* FindAsset(std::string_view name) {
  const std::vector<ConsoleAsset>& assets = ConsoleAssets();
  auto it = std::lower_bound(assets.begin(), assets.end(), name,
                             [](const ConsoleAsset& a, std::string_view n) { return a.name < n; });
  return it != assets.end() && it->name == name ? &*it : nullptr;
}

Response Asset(const ConsoleAsset& asset) {
  Response r;
  r.content_type = std::string(asset.content_type);
  r.body = std::string(asset.body);
  r.headers = {{"Content-Security-Policy", kContentSecurityPolicy},
               {"X-Content-Type-Options", "nosniff"},
               {"Referrer-Policy", "no-referrer"},
               {"Cache-Control", "no-cache"}};
  return r;
}

}  // namespace

bool RouteConsole(ServerState&, const Request& request, const Respond& respond) {
  const std::string& path = request.path;
  if (path != "/ui" && path.compare(0, kConsolePrefix.size(), kConsolePrefix) != 0) return false;
  if (request.method != "GET") {
    respond(ErrorResponse(405, "method_not_allowed", path + " takes GET, not " + request.method));
    return true;
  }
  if (path == "/ui") {
    Response r;
    r.status = 308;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "the console is at /ui/\n";
    r.headers = {{"Location", "/ui/"}};
    respond(std::move(r));
    return true;
  }
  std::string_view name = std::string_view(path).substr(kConsolePrefix.size());
  if (name.empty()) name = "index.html";
  if (name == "schema.json") {
    // Made from the compiled schemas, so the page's decoder reads exactly what this binary writes.
    static const std::string kSchema = DumpJson(ConsoleSchemaJson());
    respond(Asset({"schema.json", kJson, kSchema}));
    return true;
  }
  const ConsoleAsset* asset = FindAsset(name);
  if (asset == nullptr) {
    respond(ErrorResponse(404, "not_found", "the console has no file " + path.substr(0, 200)));
  } else {
    respond(Asset(*asset));
  }
  return true;
}

}  // namespace shiplog::adapters
