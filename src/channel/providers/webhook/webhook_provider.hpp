// The `webhook` provider: POSTs the PRODUCT.md §7 record as JSON to the
// channel's `url` with header `Idempotency-Key: <id>` (the same on every
// attempt), over keep-alive connections of one libcurl multi handle.
//
// Outcomes: 2xx delivered; 408, 429, 5xx and transport errors (refused,
// reset, timeouts) retry, honouring Retry-After (seconds or HTTP date);
// other statuses (3xx are not followed, 4xx) fail. Unless `allow_private`,
// every address libcurl is about to connect to is checked and a private,
// loopback or link-local one fails the delivery (no request is sent).
// https receivers are verified against the system store or the channel's
// `ca_file`; a certificate that does not verify is a transport error (retry).
#pragma once

#include <memory>

#include "channel/provider.hpp"

namespace waymark {

Result<std::unique_ptr<Provider>> make_webhook_provider(const ChannelConfig& channel);

/// Retry-After header value -> milliseconds from `now_s` (epoch seconds); 0 when absent or unparseable.
int64_t parse_retry_after_ms(const std::string& value, int64_t now_s);

}  // namespace waymark
