// Provider registry: maps a channel's "provider" to its implementation.
#include "channel/provider.hpp"

#include "channel/providers/file/file_provider.hpp"

namespace waymark {

Result<std::unique_ptr<Provider>> make_provider(const ChannelConfig& channel, const std::string& data_dir) {
  if (channel.provider == "file") {
    std::string path = data_dir + "/outbox/" + channel.name + ".ndjson";
    if (auto* p = channel.raw.if_contains("path"); p && p->is_string())
      path = std::string(p->get_string());
    return std::unique_ptr<Provider>(new FileProvider(channel.name, path));
  }
  return make_error("unsupported_provider", "provider '" + channel.provider + "' of channel '" + channel.name +
                                              "' is not available in this build");
}

}  // namespace waymark
