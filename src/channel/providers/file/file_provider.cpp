#include "channel/providers/file/file_provider.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "waymark/json.hpp"

namespace json = boost::json;

namespace waymark {

FileProvider::FileProvider(std::string channel, std::string path)
    : channel_(std::move(channel)), path_(std::move(path)) {}

FileProvider::~FileProvider() {
  if (fd_ >= 0)
    ::close(fd_);
}

Result<std::set<std::string>> FileProvider::recover(const Store& store) {
  auto slash = path_.rfind('/');
  if (slash != std::string::npos)
    ::mkdir(path_.substr(0, slash).c_str(), 0755);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0)
    return make_error("io_error", "open " + path_ + ": " + std::strerror(errno));
  struct stat sb {};
  ::fstat(fd_, &sb);
  uint64_t file_size = static_cast<uint64_t>(sb.st_size);
  uint64_t confirmed = 0;
  if (auto m = store.meta("file_offset:" + channel_))
    confirmed = std::stoull(*m);
  std::set<std::string> held;
  if (confirmed > file_size)
    confirmed = 0;  // file replaced by the operator: trust its content
  // Read what was written after the last checkpoint.
  std::string tail(file_size - confirmed, '\0');
  if (!tail.empty() && ::pread(fd_, tail.data(), tail.size(), static_cast<off_t>(confirmed)) < 0)
    return make_error("io_error", "read " + path_ + ": " + std::strerror(errno));
  size_t good = 0;
  for (size_t start = 0, nl; (nl = tail.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::error_code ec;
    auto v = parse_stored_json(std::string_view(tail.data() + start, nl - start), ec);
    if (!ec && v.is_object())
      if (auto* id = v.get_object().if_contains("id"); id && id->is_string())
        held.insert(std::string(id->get_string()));
    good = nl + 1;
  }
  if (good < tail.size()) {  // a torn line from a crash mid-write
    if (::ftruncate(fd_, static_cast<off_t>(confirmed + good)) != 0)
      return make_error("io_error", "truncate " + path_ + ": " + std::strerror(errno));
  }
  size_ = confirmed + good;
  return held;
}

void FileProvider::start(std::vector<DeliveryJob> jobs, const DeliveryDone& done) {
  std::string out;
  for (auto& j : jobs) {
    out += json::serialize(j.record);
    out += '\n';
  }
  DeliveryOutcome outcome{DeliveryOutcome::Status::delivered, "", 0, ""};
  size_t off = 0;
  while (off < out.size()) {
    auto n = ::write(fd_, out.data() + off, out.size() - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      // Cut back to the last good size; the whole batch is retried.
      outcome = DeliveryOutcome{DeliveryOutcome::Status::retry, std::string("write: ") + std::strerror(errno), 1000, ""};
      if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
      }
      break;
    }
    off += static_cast<size_t>(n);
  }
  if (outcome.status == DeliveryOutcome::Status::delivered) {
    ::fdatasync(fd_);
    size_ += out.size();
  }
  for (auto& j : jobs)
    done(j.seq, outcome);
}

std::vector<std::pair<std::string, std::string>> FileProvider::checkpoint() {
  return {{"file_offset:" + channel_, std::to_string(size_)}};
}

}  // namespace waymark
