// The durable store: one LMDB environment under <data_dir>/lmdb. Only this
// module includes lmdb.h. One writer (the store actor) calls commit(); any
// thread may call the readers (each opens its own short read transaction).
//
// Layout (named databases; keys are bytes, "\0" separates parts, numbers are
// big-endian so keys sort by them):
//   customers    id                          -> 0x01, seq(8B), customer state JSON (seq: the
//                                               last log input the state covers)
//   aliases      old id                      -> canonical id
//   dedup        customer \0 messageId       -> at (8B)
//   timers       due(8B) customer \0 timerId -> ""
//   outbox       channel \0 seq(8B)          -> delivery record JSON (PRODUCT.md §7)
//   deliveries   delivery id                 -> status JSON {"status","channel","attempts","at","detail"}
//   journeys     id \0 version(4B)           -> journey JSON;  journey_meta: id -> {"latest","status","live"}
//                                               ("live": the version customers enter; absent = latest)
//   journey_versions id \0 version(4B)       -> {"author","created_at","live_at","approver"} (PRODUCT.md §11)
//   audit        at(8B) seq(8B)              -> audit entry JSON {"at","who","role","action","object","before","after"}
//   templates    id                          -> template JSON
//   stats        journey \0 version \0 step \0 counter -> int64 (8B)
//   inbox        customer \0 seq(8B)         -> in-app message JSON
//   meta         name                        -> value (clock, outbox_seq, log_seq, file offsets,
//                                               catalog_gen, catalog/<generation> -> catalog sources,
//                                               status_event \0 delivery id -> final status whose
//                                               "Message <Status>" event is not recorded yet)
//   log          seq(8B)                     -> customer \0 input (the input log, below)
//   snapseq      customer                    -> seq(8B): a merged-away customer's log inputs up
//                                               to this seq are covered (it has no state)
//
// The input log. A customer's state is not rewritten per event: the input
// (the event, or the timer that fired, with the instant and catalog generation
// it ran at) is appended to `log`, and the whole state is stored ("snapshot")
// only when snapshot_due() says so (limits.snapshot_every inputs that add up to
// the state's size, waymark/snapshot_policy.hpp), at passivation, on a merge, and when
// the log grows past limits.log_records_max. The engine is a pure function of
// (state, catalog, input, now) (tests/unit/replay_test.cpp), so a customer is
// its snapshot plus its logged inputs after the seq stored with it; outbox entries, timers,
// dedup keys and stats of an input are committed with its log record, so
// replay (src/store/recovery.cpp) recomputes only the state. The log is
// trimmed from the front behind the oldest input not yet covered by a snapshot.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <string>
#include <vector>

#include "waymark/engine.hpp"
#include "waymark/result.hpp"
#include "waymark/time.hpp"

namespace waymark {

struct TimerKey {
  Millis due = 0;
  std::string customer;
  std::string timer_id;
  bool operator<(const TimerKey& o) const {
    return std::tie(due, customer, timer_id) < std::tie(o.due, o.customer, o.timer_id);
  }
  bool operator==(const TimerKey& o) const {
    return due == o.due && customer == o.customer && timer_id == o.timer_id;
  }
};

struct OutboxRecord {
  std::string channel;
  uint64_t seq = 0;
  std::string record;  // JSON text
};

/// Everything one customer's event or timer changes, applied atomically with
/// the rest of its batch.
struct CustomerWrite {
  std::string customer;
  std::string state_json;                    // empty = state unchanged
  std::vector<std::string> erase_customers;  // records removed (merged ids)
  std::vector<std::string> aliases_from;     // these ids now resolve to `customer`
  std::vector<Delivery> deliveries;          // -> outbox + deliveries(status pending)
  std::vector<TimerKey> timers_set;
  std::vector<TimerKey> timers_cleared;
  // The input log (see above). A write carries either `state_json` (a
  // snapshot: it covers every input of the customer logged before it) or
  // `log_input` (one input to append), or neither (nothing changed).
  std::string log_input;
  // Whether the customer has a stored state (for customer_count()): its actor
  // knows; unknown makes the store look it up.
  enum class Stored : uint8_t { unknown, yes, no } stored = Stored::unknown;
  // Dedup keys (messageId, at) to store: the customer's inputs since its last
  // snapshot, stored with the snapshot (until then the log and the live actor
  // hold them).
  std::vector<std::pair<std::string, Millis>> dedup_ids;
  std::vector<StatDelta> stats;
  std::vector<std::string> meta_erase;  // meta names deleted with this write (EventMsg::settles)
  // Outcomes of the input (Decision::touches/conversions/arms), stored in this
  // write's transaction; replay recomputes state only and never carries them.
  std::vector<outcomes::Touch> touches;
  std::vector<outcomes::Conversion> conversions;
  std::vector<ArmDelta> arms;
  // The records' JSON, made by the writer's caller (the customer actor: off
  // the store's one writer thread) with prepare_outcomes(); the store makes
  // what is missing.
  std::vector<std::string> touch_json, conversion_json;
};

/// Fills w.touch_json / w.conversion_json from w.touches / w.conversions.
void prepare_outcomes(CustomerWrite& w);

/// A page of outcome records (touches or conversions) in [from, to), in time
/// order; `next` resumes after the last one ("" = done).
struct OutcomePage {
  std::vector<std::string> records;  // JSON text, one object each (the export line)
  std::string next;
};

/// One stored experiment counter of a journey (this node's customers; nodes'
/// counters add up).
struct ResultCounter {
  int version = 0;
  std::string arm;
  std::string counter;  // entered | converted | value_micros
  int64_t n = 0;
};

/// A delivery outcome to record. It applies only while its outbox entry
/// exists: an update for an entry erased meanwhile records nothing.
struct DeliveryUpdate {
  std::string channel;
  uint64_t seq = 0;        // outbox entry; removed when `final`
  std::string id;          // delivery id
  std::string status;      // delivered | failed | dead | unknown | pending(retry)
  int attempts = 0;
  std::string detail;
  bool final = true;
  // inbox provider: stored under inbox[inbox_customer \0 seq] in the same
  // transaction as this status (empty = nothing to store).
  std::string inbox_customer;
  std::string inbox_json;
  // When set on a final update, the store counts "delivery:<status>" for that
  // journey step (per-step sends by outcome in GET /api/journeys/{id}). A final
  // delivered / failed / dead also stores meta "status_event\0<id>" in the same
  // transaction: its "Message <Status>" event is owed (actors/status_events.cpp),
  // unless `owes_event` (below) is false.
  std::string journey;
  int version = 0;
  std::string step;
  // A waiting retry (not final): when it is due on the node clock, stored
  // with the status as "retry_at" so a restart keeps the wait (0 = none).
  Millis retry_at = 0;
  // False when no journey reacts to this final status's event
  // (waymark/event_interest.hpp): then none is owed.
  bool owes_event = true;
};

struct JourneyPut {
  std::string id;
  int version = 0;  // 0 = status change only
  std::string json;    // version `version`'s definition ("" = as stored: an approval)
  std::string status;  // active | paused | archived ("" = unchanged)
  int live = -1;       // the version customers enter from now (0 = none yet; -1 = unchanged)
  std::string info;    // version `version`'s record in journey_versions ("" = unchanged)
};

/// One audit entry (PRODUCT.md §11), stored under (at, seq).
struct AuditPut {
  Millis at = 0;
  std::string json;
};

struct Batch {
  std::vector<CustomerWrite> customers;
  std::vector<DeliveryUpdate> deliveries;
  std::vector<JourneyPut> journeys;
  std::vector<std::pair<std::string, std::string>> templates;  // id, json
  std::vector<std::pair<std::string, std::string>> meta;       // name, value
  std::vector<AuditPut> audit;                                 // written with the change they record
  std::vector<std::string> meta_erase;                         // names deleted (after the puts)
  bool empty() const {
    return customers.empty() && deliveries.empty() && journeys.empty() && templates.empty() && meta.empty() &&
           audit.empty() && meta_erase.empty();
  }
};

struct CommitResult {
  std::map<std::string, uint64_t> outbox_added;  // channel -> entries added
  Millis min_timer_due = 0;                      // earliest timer set (0 = none)
  std::vector<TimerKey> timers_deleted;
  size_t customers_written = 0;
};

/// One logged input not yet covered by its customer's snapshot.
struct LogRecord {
  uint64_t seq = 0;
  std::string customer;
  std::string input;  // as written in CustomerWrite::log_input
};

struct JourneyRecord {
  std::string id;
  int latest = 0;
  std::string status;
  std::vector<std::string> versions;  // JSON of version 1..latest
  int live = -1;                      // the version customers enter (-1: not recorded = latest)
};

/// A page of the audit log (Store::audit).
struct AuditPage {
  std::vector<std::string> entries;  // JSON texts, oldest first
  std::string next;                  // cursor after the last entry scanned ("" = the range is done)
};

/// One record of a partition hand-off (PRODUCT.md §9): a key and value of one
/// of the named databases, as stored (a customer's value is its state JSON).
struct HandoffRecord {
  enum Db : uint8_t { customers, aliases, dedup, timers, inbox, deliveries, outbox, touches, conversions,
                      outcome_index, end };
  uint8_t db = customers;
  std::string key;    // outbox: the channel only (the receiver numbers its own entries)
  std::string value;
};
/// A run of records of the partitions being handed to one member, in database
/// and key order; `next` continues after it ("" = this was the last).
struct HandoffChunk {
  std::vector<HandoffRecord> records;
  std::string next;
};
/// Which customer keys belong to the partitions being handed over.
using KeyTest = std::function<bool(std::string_view customer_key)>;

class Store {
public:
  /// Opens (creating) <dir>/lmdb. map_size_mb bounds the file size.
  static Result<std::unique_ptr<Store>> open(const std::string& dir, size_t map_size_mb);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // ---- writer (exactly one thread: the store actor) -------------------------
  Result<CommitResult> commit(const Batch& b);
  /// Removes dedup entries older than `before`; at most `max` per call. Returns removed.
  size_t prune_dedup(Millis before, size_t max);
  /// Deletes everything stored for a customer and the ids merged into it:
  /// profile, alias links, dedup keys, timers, outbox entries, delivery
  /// records, inbox, touches and conversions. Returns the number of entries
  /// removed. `audit` (when given) is the erasure's audit entry, written in
  /// the same transaction.
  Result<size_t> erase_customer(const std::string& id, const AuditPut* audit = nullptr);
  /// Logged inputs not covered by their customer's snapshot, in log order:
  /// every customer's (at start, after a crash), or one customer's (`only`,
  /// after its actor stopped without a snapshot). Writer thread only.
  std::vector<LogRecord> unsnapshotted(const std::string* only = nullptr) const;
  /// Deletes the meta entries with keys in [from, to) (old catalog generations
  /// once no logged input refers to them). Writer thread only. Returns how many.
  Result<size_t> erase_meta_range(const std::string& from, const std::string& to);
  /// Called once every input found in the log at open is covered (recovery):
  /// only then may commits trim the log. Writer thread only.
  void log_recovered();
  /// True when `customer` has logged inputs after its snapshot. Writer thread only.
  bool dirty(const std::string& customer) const;
  /// Customers with inputs logged more than `records` log entries ago, oldest
  /// first, at most `max`. Writer thread only.
  std::vector<std::string> oldest_dirty(uint64_t records, size_t max) const;
  /// Entries in the input log (any thread).
  uint64_t log_records() const;
  /// Fault injection for tests only (tests/actors/commit_failure_test.cpp;
  /// no production code calls it): the next commit that holds a write of
  /// `customer` fails with code "fault_injected" and writes nothing, as an
  /// aborted LMDB transaction would. Any thread.
  void fail_next_commit_of(const std::string& customer);
  /// Hand-off, receiving side (writer thread): stores a chunk exported by
  /// another member. A customer's state covers no input of this node's log;
  /// outbox entries get this node's next sequence numbers. Overwrites are
  /// idempotent (a chunk sent again after a crash stores the same bytes).
  Result<CommitResult> import_chunk(const HandoffChunk& chunk);
  /// Hand-off, sending side (writer thread): deletes every record export_chunk
  /// gives for `moving` (customers, aliases, dedup keys, timers, inbox,
  /// delivery records, outbox entries, touches and conversions, and their
  /// logged inputs). One transaction.
  /// An alias record (old id -> customer) moves, and is erased, only when
  /// neither id `stays` (it serves this node as a route or as the proof of a
  /// merge across members: actors/cluster_merge.cpp) and either is `moving`.
  Result<size_t> erase_moved(const KeyTest& moving, const KeyTest& stays);
  /// Rewrites the environment without its free pages (a compacting copy),
  /// swaps it in and zero-fills the old file, so deleted values are no longer
  /// readable anywhere in the data directory. Cost: proportional to the live
  /// data. Readers wait only for the swap itself.
  Result<bool> scrub();

  // ---- readers (any thread) --------------------------------------------------
  std::optional<std::string> get_customer(const std::string& id) const;
  /// What a customer actor needs when it starts, read in one transaction: the
  /// state, and whether any dedup key is stored under the id (when none is, the
  /// actor's own memory of messageIds is complete and it can skip LMDB reads).
  struct CustomerLoad {
    std::optional<std::string> state;
    bool dedup_keys = false;
  };
  CustomerLoad load_customer(const std::string& id) const;
  std::optional<std::string> resolve_alias(const std::string& id) const;
  std::optional<Millis> dedup_at(const std::string& customer, const std::string& message_id) const;
  /// Timers with due <= now in key order, after `after` (exclusive) when given.
  std::vector<TimerKey> due_timers(Millis now, size_t max, const TimerKey* after = nullptr) const;
  std::optional<Millis> next_timer_due() const;
  size_t timer_count() const;
  std::vector<OutboxRecord> outbox_scan(const std::string& channel, uint64_t after_seq, size_t max) const;
  /// Outbox entries of a channel / of all channels (O(1): counted at open and
  /// by the commits that put or delete entries; what LMDB holds, exactly).
  size_t outbox_depth(const std::string& channel) const;
  uint64_t outbox_entries() const;
  /// True while the outbox entry exists (erasure deletes a customer's entries).
  bool outbox_has(const std::string& channel, uint64_t seq) const;
  std::optional<std::string> delivery_status(const std::string& id) const;
  std::vector<JourneyRecord> journeys() const;
  std::vector<std::pair<std::string, std::string>> templates() const;
  /// stats of one journey: "version\0step\0counter" -> value
  std::map<std::string, int64_t> journey_stats(const std::string& journey) const;
  std::optional<std::string> meta(const std::string& name) const;
  /// The records of a journey's versions (journey_versions): version -> JSON.
  std::map<int, std::string> journey_versions(const std::string& id) const;
  /// Audit entries with from <= at < to, after `cursor` (a page's `next`, "" =
  /// from the start), oldest first: at most `limit` kept by `keep`, after
  /// scanning at most `scan_max` entries (both bound the work of one page).
  AuditPage audit(Millis from, Millis to, const std::string& cursor, size_t limit, size_t scan_max,
                  const std::function<bool(const std::string&)>& keep) const;
  /// Meta entries whose name starts with `prefix`, in name order, at most `max`.
  std::vector<std::pair<std::string, std::string>> meta_prefixed(const std::string& prefix, size_t max) const;
  /// How many meta names start with `prefix` (a cursor walk: time grows with
  /// the count, memory does not).
  size_t meta_count(const std::string& prefix) const;
  /// A customer's in-app messages (inbox provider), newest first, at most
  /// `max`; each is the JSON text {"id","journey","step","template","content","at","read"}.
  std::vector<std::string> inbox_list(const std::string& customer, size_t max = 100) const;
  size_t customer_count() const;
  /// Hand-off: the partitions (of `partitions`) of which this store holds
  /// any record export_chunk would move, among those `foreign` is true for
  /// (an alias record counts only when both its ids are foreign: both count).
  /// Scans the databases once (start-up).
  std::set<uint32_t> held_partitions(uint32_t partitions, const std::function<bool(uint32_t)>& foreign) const;
  /// Hand-off: up to `max` records of customers `moving` accepts, after
  /// `cursor` (a chunk's `next`; "" = from the start).
  /// (Alias records: see erase_moved.)
  Result<HandoffChunk> export_chunk(const KeyTest& moving, const KeyTest& stays, const std::string& cursor,
                                    size_t max) const;

  // ---- outcomes (PRODUCT.md §10; src/store/outcomes_store.cpp) ---------------
  enum class OutcomeKind : char { touch = 't', conversion = 'c' };
  /// Reads of every record committed so far (a customer's read also looks
  /// through the index entries not yet moved into the index: see below).
  static constexpr uint64_t kLive = UINT64_MAX;
  /// A record's index entry is written first to a small table in seq order
  /// (appended: no random page per record) and moved into the per-customer
  /// index in key order once a few thousand wait, or now: a bulk reader
  /// (attribution, CLV) calls this, then reads with the returned seq as
  /// `upto`: every record up to it is in the index, none after it is read,
  /// so its reads agree with each other while commits go on.
  Result<uint64_t> index_outcomes();
  /// Records of one kind with from <= at < to, in time order, at most `max`,
  /// resuming after the cursor `after` ("" = from the start); with `upto`,
  /// only those numbered up to it.
  OutcomePage outcome_page(OutcomeKind kind, Millis from, Millis to, const std::string& after, size_t max,
                           uint64_t upto = kLive) const;
  /// One customer's records of one kind with from <= at < to, in time order,
  /// at most `max` (the newest are dropped past it). kLive: every record
  /// (the waiting index entries are scanned: one customer's view); else only
  /// the indexed ones numbered up to `upto` (after index_outcomes()).
  std::vector<std::string> customer_outcomes(const std::string& customer, OutcomeKind kind, Millis from, Millis to,
                                             size_t max, uint64_t upto = kLive) const;
  /// Customers with indexed records, in id order, after `after`, at most
  /// `max` (after index_outcomes()).
  std::vector<std::string> outcome_customers(const std::string& after, size_t max) const;
  /// How many records of one kind this store holds.
  size_t outcome_count(OutcomeKind kind) const;
  /// The experiment counters of one journey.
  std::vector<ResultCounter> result_counters(const std::string& journey) const;

  struct Impl;

private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace waymark
