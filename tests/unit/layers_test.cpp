// The layering rules of the tree, checked on the sources themselves:
// include/ and src/ are pure C++ (no CAF), lmdb.h is included only by the
// store (src/store/), and the pure core does not reach into the actor shells.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

namespace {
namespace fs = std::filesystem;

struct Include {
  std::string file;  // relative to the source root
  int line = 0;
  std::string target;
};

/// Every #include of every C++ file under `dir` (relative to the source root).
std::vector<Include> includes_under(const std::string& dir) {
  static const std::regex include_re(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
  std::vector<Include> out;
  fs::path root(WAYMARK_SOURCE_DIR);
  for (auto& entry : fs::recursive_directory_iterator(root / dir)) {
    auto ext = entry.path().extension().string();
    if (!entry.is_regular_file() || (ext != ".hpp" && ext != ".cpp" && ext != ".h")) continue;
    std::ifstream in(entry.path());
    std::string text;
    int n = 0;
    std::smatch m;
    while (std::getline(in, text)) {
      ++n;
      if (std::regex_search(text, m, include_re))
        out.push_back({fs::relative(entry.path(), root).string(), n, m[1].str()});
    }
  }
  return out;
}

std::string where(const Include& i) { return i.file + ":" + std::to_string(i.line) + " includes " + i.target; }

TEST(Layers, TheCoreAndItsContractsIncludeNoCaf) {
  size_t seen = 0;
  for (const char* dir : {"include", "src"})
    for (auto& inc : includes_under(dir)) {
      ++seen;
      EXPECT_NE(inc.target.rfind("caf/", 0), 0u) << where(inc);
      EXPECT_NE(inc.target.rfind("actors/", 0), 0u) << where(inc);
    }
  EXPECT_GT(seen, 100u) << "the scan found too few includes to be looking at the tree";
}

TEST(Layers, OnlyTheStoreIncludesLmdb) {
  bool store_seen = false;
  for (const char* dir : {"include", "src", "actors"})
    for (auto& inc : includes_under(dir)) {
      if (inc.target != "lmdb.h") continue;
      EXPECT_EQ(inc.file.rfind("src/store/", 0), 0u) << where(inc);
      store_seen |= inc.file.rfind("src/store/", 0) == 0;
    }
  EXPECT_TRUE(store_seen) << "src/store no longer includes lmdb.h: update this test";
}

}  // namespace
