#include "support/cli.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>

namespace waymark::it {

Run waymark(const std::string& args) {
  Run r;
  std::string cmd = std::string(WAYMARK_BIN) + " " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p)
    return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace waymark::it
