// A private temporary directory under /tmp for one integration test: made by
// mkdtemp, removed (recursively) when the owner goes away, unless the
// environment variable WAYMARK_KEEP_TMP is set (for post-mortems).
#pragma once

#include <string>

namespace waymark::it {

class TempDir {
public:
  /// Creates /tmp/<prefix>XXXXXX. Aborts the test binary if /tmp is unusable.
  explicit TempDir(const std::string& prefix = "waymark-it-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// path() + "/" + relative
  std::string operator/(const std::string& relative) const { return path_ + "/" + relative; }

private:
  std::string path_;
};

/// Whole file as a string; empty when it cannot be read.
std::string read_file(const std::string& path);

/// Writes (truncates) `path`; false on failure.
bool write_file(const std::string& path, const std::string& content);

}  // namespace waymark::it
