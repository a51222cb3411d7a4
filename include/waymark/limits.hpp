// Every bound of the node in one place, unit last in the name (PRODUCT.md §8).
// Defaults are the documented ones; config key `limits.<name>` overrides each.
#pragma once

#include <cstddef>
#include <cstdint>

namespace waymark {

struct Limits {
  size_t line_bytes_max = 1 << 20;            // TCP line; over it: fatal
  size_t event_bytes_max = 32 * 1024;         // one event (TCP line or HTTP event)
  size_t request_bytes_max = 500 * 1024;      // one HTTP request body
  size_t json_depth_max = 64;                 // nesting of objects/arrays
  size_t connection_unacked_max = 65536;      // lines read but not acked, per connection
  size_t connections_max = 10000;             // open TCP connections
  size_t http_connections_max = 1000;         // open HTTP connections (at it, the longest idle is closed)
  int64_t connection_idle_s = 60;             // TCP/HTTP: nothing to do and nothing received for this long: close
  int64_t connection_incomplete_s = 10;       // TCP line / HTTP request begun and not complete (the first one:
                                              // counted from the accept, so a missing hello) after this: close
  size_t node_unacked_bytes_max = 64u << 20;  // input read on all connections and not acked; past it, reading pauses
                                              // (RSS grows ~7x this: parsed events in mailboxes; bench/README.md)
  size_t live_customers_max = 200000;         // live customer actors before passivation
  int64_t customer_idle_s = 300;              // idle customer actors passivate after this
  size_t history_events_max = 200;            // per customer history window (count)
  int64_t history_age_s = 90 * 86400;         // per customer history window (age)
  int64_t dedup_window_s = 86400;             // messageId dedup window
  size_t steps_per_event_max = 100;           // loop guard: steps executed per trigger
  size_t trace_entries_max = 100;             // decision trace kept per customer
  size_t deliveries_recent_max = 50;          // deliveries remembered per customer
  size_t outbox_warn_entries = 100000;        // outbox depth per channel that logs a warning
  size_t commit_batch_events_max = 8192;      // group commit: events per LMDB transaction
  int64_t commit_delay_us_max = 2000;         // group commit: extra wait to fill a batch
  size_t timers_in_flight_max = 20000;        // fired timers not yet committed
  size_t delivery_batch_max = 256;            // outbox entries a gateway takes per pull
  size_t map_size_mb = 4096;                  // LMDB map size (grows sparse on disk)
  size_t snapshot_every = 16;                 // input log: a customer's state is stored every N inputs
  size_t log_records_max = 200000;            // input log: past it, the oldest dirty customers snapshot
};

}  // namespace waymark
