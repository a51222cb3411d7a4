// The `file` provider: appends one NDJSON record per delivery to
// <data_dir>/outbox/<channel>.ndjson (or the channel's "path").
//
// Exactly once across crashes: after each batch the file is fdatasync'ed and
// its size is checkpointed in the store together with the delivery updates.
// On start, anything after the checkpoint is a batch written but not
// recorded: its complete lines are reported by recover() (so they are marked
// delivered, not written again) and a torn last line is cut off.
#pragma once

#include "channel/provider.hpp"

namespace waymark {

class FileProvider : public Provider {
public:
  FileProvider(std::string channel, std::string path);
  ~FileProvider() override;
  Result<std::set<std::string>> recover(const Store& store) override;
  /// Appends every record, fdatasyncs once, reports all outcomes inline.
  void start(std::vector<DeliveryJob> jobs, const DeliveryDone& done) override;
  std::vector<std::pair<std::string, std::string>> checkpoint() override;

private:
  std::string channel_;
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace waymark
