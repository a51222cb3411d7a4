// Provider registry: maps a channel's "provider" to its implementation.
#include "channel/provider.hpp"

#include "channel/providers/file/file_provider.hpp"
#include "channel/providers/inbox/inbox_provider.hpp"
#include "channel/providers/smtp/smtp_provider.hpp"
#include "channel/providers/webhook/webhook_provider.hpp"

namespace waymark {

const char* status_name(DeliveryOutcome::Status s) {
  switch (s) {
    case DeliveryOutcome::Status::delivered: return "delivered";
    case DeliveryOutcome::Status::retry: return "retry";
    case DeliveryOutcome::Status::failed: return "failed";
    case DeliveryOutcome::Status::unknown: return "unknown";
  }
  return "unknown";
}

Result<std::unique_ptr<Provider>> make_provider(const ChannelConfig& channel, const std::string& data_dir) {
  if (channel.provider == "file") {
    std::string path = channel.path.empty() ? data_dir + "/outbox/" + channel.name + ".ndjson" : channel.path;
    return std::unique_ptr<Provider>(new FileProvider(channel.name, path));
  }
  if (channel.provider == "inbox")
    return std::unique_ptr<Provider>(new InboxProvider());
  if (channel.provider == "webhook")
    return make_webhook_provider(channel);
  if (channel.provider == "smtp")
    return make_smtp_provider(channel);
  return make_error("unsupported_provider", "provider '" + channel.provider + "' of channel '" + channel.name +
                                              "' is not available in this build");
}

}  // namespace waymark
