// Runs the real `waymark` binary with arguments, as a user would from a shell.
#pragma once

#include <string>

namespace waymark::it {

struct Run {
  int code = -1;    // exit status; -1 when it did not exit normally
  std::string out;  // stdout and stderr together
};

/// `waymark <args> 2>&1`, waited for.
Run waymark(const std::string& args);

}  // namespace waymark::it
