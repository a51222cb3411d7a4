// The web console's files (console/), embedded into the binary at build time
// by cmake/embed_console.cmake (PRODUCT.md §11: served by the node, no outside
// address at run time).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace waymark {

struct ConsoleAsset {
  std::string_view name;          // file name in console/, e.g. "app.js"
  std::string_view content_type;  // by extension
  std::string_view etag;          // quoted: "\"<16 hex of SHA-256>\""
  const unsigned char* data;
  size_t size;
};

/// Every embedded file, sorted by name.
const std::vector<ConsoleAsset>& console_assets();

}  // namespace waymark
