// The `smtp` provider: one real mail per delivery through the channel's SMTP
// server (libcurl smtp:// on the provider's own multi thread, connections
// reused), optional STARTTLS (required when `starttls`: no fallback to clear)
// and AUTH; the server certificate is verified against the system store or
// the channel's `ca_file`.
//
// The mail: From = `from`, To = the record's `to`, Subject and body from the
// rendered template (`content.subject`, `content.body`, HTML), and
// `Message-ID: <KEY@waymark>` from the idempotency key, so a receiving system
// can drop a repeat.
//
// Outcomes: 250 after the data = delivered; 4xx replies and failures before
// the data was handed over = retry; 5xx = failed. A connection lost (or timed
// out) after the whole message was handed over but before the server's final
// reply = unknown: it may have been accepted, so it is not resent.
#pragma once

#include <memory>

#include "channel/provider.hpp"

namespace waymark {

Result<std::unique_ptr<Provider>> make_smtp_provider(const ChannelConfig& channel);

/// The RFC 5322 message for a record (CRLF line ends); error when `to` is
/// not a plain address (no CR/LF, angle brackets or spaces).
Result<std::string> smtp_message(const boost::json::object& record, const std::string& from);
/// "<KEY@waymark>" with characters outside [A-Za-z0-9._-] replaced by '_'.
std::string message_id_for(const std::string& key);

}  // namespace waymark
