// The reviewers' console's files (adapters/console/), compiled into the binary by
// adapters/embed_console.cmake: `shiplog serve` answers /ui/ with no asset directory to deploy.
#pragma once

#include <string_view>
#include <vector>

namespace shiplog::adapters {

// One file of the console: its path under adapters/console/ ("index.html", "views/list.js"),
// its media type (from the extension) and its bytes.
struct ConsoleAsset {
  std::string_view name;
  std::string_view content_type;
  std::string_view body;
};

// Every file, sorted by name.
const std::vector<ConsoleAsset>& ConsoleAssets();

}  // namespace shiplog::adapters
