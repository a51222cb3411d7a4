// LMDB implementation of waymark::Store. See include/waymark/store.hpp for the
// layout. Durability: every commit() is one write transaction synced to disk
// (LMDB default), so whatever commit() returned ok for survives kill -9.
#include "waymark/store.hpp"
#include "waymark/json.hpp"
#include "waymark/cluster.hpp"
#include "waymark/outcomes/records.hpp"

#include <lmdb.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <unistd.h>
#include <fstream>
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <unordered_map>

namespace json = boost::json;

namespace waymark {

namespace {

std::string be64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8)
    s[i] = static_cast<char>(v & 0xff);
  return s;
}

uint64_t from_be64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::string be32(uint32_t v) { return be64(v).substr(4); }

// Timer due times may be negative in theory; shift so the order is kept.
std::string due_key(Millis due) { return be64(static_cast<uint64_t>(due) ^ (1ULL << 63)); }
Millis due_from(const char* p) { return static_cast<Millis>(from_be64(p) ^ (1ULL << 63)); }

std::string timer_key(const TimerKey& t) { return due_key(t.due) + t.customer + '\0' + t.timer_id; }

TimerKey parse_timer_key(const MDB_val& k) {
  TimerKey t;
  auto* p = static_cast<const char*>(k.mv_data);
  t.due = due_from(p);
  std::string rest(p + 8, k.mv_size - 8);
  auto z = rest.find('\0');
  t.customer = rest.substr(0, z);
  t.timer_id = z == std::string::npos ? "" : rest.substr(z + 1);
  return t;
}

// A stored customer state: 0x01, the seq of the last log input it covers
// (8B), then the state JSON. A value that starts with '{' is a state stored
// before the input log existed (it covers nothing).
constexpr char kStateTag = '\x01';

struct StoredState {
  uint64_t snapseq = 0;
  std::string_view json;
};

StoredState split_state(const void* data, size_t size) {
  auto* p = static_cast<const char*>(data);
  if (size >= 9 && p[0] == kStateTag)
    return {from_be64(p + 1), std::string_view(p + 9, size - 9)};
  return {0, std::string_view(p, size)};
}

MDB_val val(const std::string& s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
MDB_val val(const char* s) { return MDB_val{std::strlen(s), const_cast<char*>(s)}; }  // literals: no temporary string
MDB_val val(std::string&&) = delete;  // an MDB_val must not point into a temporary
std::string str(const MDB_val& v) { return std::string(static_cast<const char*>(v.mv_data), v.mv_size); }

/// Deletes entries from the cursor's current one (`rc` is the result of
/// positioning it) for as long as `more(key)` holds and at most `max`; counts
/// them in `removed`. Returns 0 or an LMDB error (running off the end is 0).
template <class More>
int delete_while(MDB_cursor* cur, int rc, More&& more, uint64_t max, uint64_t& removed) {
  MDB_val k, v;
  if (rc == 0)
    rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
  while (rc == 0 && removed < max && more(k)) {
    if ((rc = mdb_cursor_del(cur, 0)))
      break;
    ++removed;
    // After a delete the cursor already points at the next entry.
    rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
    if (rc == EINVAL)
      rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/// The JSON object stored under `key`, or an empty object.
json::object read_object(MDB_txn* txn, MDB_dbi dbi, const std::string& key) {
  MDB_val k = val(key), v;
  if (mdb_get(txn, dbi, &k, &v) != 0)
    return {};
  std::error_code ec;
  auto pv = parse_stored_json(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size), ec);
  return !ec && pv.is_object() ? pv.get_object() : json::object{};
}

/// What the engagement routes need of a delivery, kept with its status
/// (PRODUCT.md §10): the step it came from and its tracked links' targets.
void put_engagement_fields(json::object& st, const Delivery& dl) {
  st["journey"] = dl.journey;
  st["version"] = dl.version;
  st["step"] = dl.step;
  if (!dl.links.empty()) {
    json::array links;
    for (auto& l : dl.links)
      links.emplace_back(l);
    st["links"] = std::move(links);
  }
}

std::string status_event_key(const std::string& delivery_id) {
  return std::string("status_event") + '\0' + delivery_id;
}

/// The channel of an outbox key (channel \0 seq).
std::string outbox_channel(const MDB_val& key) {
  auto* p = static_cast<const char*>(key.mv_data);
  auto* z = static_cast<const char*>(std::memchr(p, '\0', key.mv_size));
  return std::string(p, z ? z : p + key.mv_size);
}

Error lmdb_error(const char* what, int rc) {
  return make_error(rc == MDB_MAP_FULL ? "map_full" : "store_error", std::string(what) + ": " + mdb_strerror(rc));
}

int put_value(MDB_txn* txn, MDB_dbi dbi, const std::string& key, const std::string& value) {
  MDB_val k = val(key), v = val(value);
  return mdb_put(txn, dbi, &k, &v, 0);
}

// Defined in store_outcomes.inc (after Impl).
int upgrade_outcome_layout(MDB_txn* txn, Store::Impl& d);
int index_pending(MDB_txn* txn, Store::Impl& d, size_t at_least);

}  // namespace

struct Store::Impl {
  MDB_env* env = nullptr;
  // fail_next_commit_of (tests only): `fault_armed` keeps the lock off the
  // commit path while nothing is injected.
  std::atomic<bool> fault_armed{false};
  std::mutex fault_mu;
  std::string fault_customer;
  bool take_fault(const Batch& b);
  MDB_dbi customers, aliases, dedup, timers, outbox, deliveries, journeys, journey_meta, templates, stats, inbox, meta,
    log, snapseq, journey_versions, audit, touches, conversions, outcome_index, results,
    outcome_pending;
  uint64_t outbox_seq = 0;
  uint64_t audit_seq = 0;  // the last audit entry's seq (meta "audit_seq")
  // Outcomes (store_outcomes.inc): records numbered by one sequence (meta
  // "outcome_seq").
  uint64_t outcome_seq = 0;
  // The input log (store.hpp). Writer thread only, except the atomics. The
  // last seq appended; the dirty map: each customer with logged inputs after
  // its stored state, with the first such seq and whether it has a stored
  // state at all (indexed both by customer and by seq, for the trim).
  uint64_t log_seq = 0;
  struct Dirty {
    uint64_t first = 0;
    bool stored = true;  // a snapshot exists (else it is a customer not yet in `customers`)
  };
  std::unordered_map<std::string, Dirty> dirty;
  std::map<uint64_t, std::string> dirty_by_seq;
  std::atomic<uint64_t> log_entries{0};
  std::atomic<int64_t> dirty_unstored{0};  // customers known only from the log
  // The dirty map starts empty: until recovery has covered what an earlier
  // run left in the log, nothing may be trimmed (log_recovered()).
  bool trim_ok = false;
  // Held by the writer from its commit until the dirty map matches it, and by
  // customer_count(), so the count never sees a snapshot twice.
  mutable std::mutex count_mu;
  // Outbox entries per channel: counted at open, then changed only by the
  // transactions that put or delete entries (after they are durable), so the
  // count is the outbox's, never a second tally that could race with it.
  mutable std::mutex outbox_mu;
  std::map<std::string, uint64_t> outbox_entries;
  void outbox_add(const std::map<std::string, int64_t>& delta) {
    std::lock_guard<std::mutex> g(outbox_mu);
    for (auto& [channel, n] : delta) {
      auto& c = outbox_entries[channel];
      c = n >= 0 ? c + static_cast<uint64_t>(n) : c - std::min<uint64_t>(c, static_cast<uint64_t>(-n));
    }
  }

  void clear_dirty(const std::string& c) {
    auto it = dirty.find(c);
    if (it == dirty.end())
      return;
    if (!it->second.stored)
      dirty_unstored.fetch_sub(1, std::memory_order_relaxed);
    dirty_by_seq.erase(it->second.first);
    dirty.erase(it);
  }
  void mark_dirty(const std::string& c, uint64_t seq, bool stored) {
    if (dirty.count(c))
      return;
    dirty[c] = Dirty{seq, stored};
    dirty_by_seq[seq] = c;
    if (!stored)
      dirty_unstored.fetch_add(1, std::memory_order_relaxed);
  }
  size_t map_size_mb = 0;
  std::string dir;                  // <data_dir>/lmdb
  // Readers and the writer hold it shared; scrub() swaps the environment
  // under it exclusively.
  mutable std::shared_mutex swap_mu;

  ~Impl() {
    if (env)
      mdb_env_close(env);
  }

  // Creates/opens the environment at `path` and its named databases.
  std::optional<Error> open_env(const std::string& path) {
  int rc = mdb_env_create(&this->env);
  if (rc)
    return lmdb_error("mdb_env_create", rc);
  mdb_env_set_maxdbs(this->env, 24);
  mdb_env_set_maxreaders(this->env, 512);
  mdb_env_set_mapsize(this->env, this->map_size_mb * size_t{1024} * 1024);
  // NOTLS: read transactions are not tied to threads (actors move between workers).
  rc = mdb_env_open(this->env, path.c_str(), MDB_NOTLS, 0644);
  if (rc)
    return lmdb_error(("mdb_env_open " + path).c_str(), rc);
  int stale = 0;
  mdb_reader_check(this->env, &stale);  // readers left by a killed process
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(this->env, nullptr, 0, &txn)))
    return lmdb_error("mdb_txn_begin", rc);
  struct {
    const char* name;
    MDB_dbi* dbi;
  } dbs[] = {{"customers", &this->customers}, {"aliases", &this->aliases},       {"dedup", &this->dedup},
             {"timers", &this->timers},       {"outbox", &this->outbox},         {"deliveries", &this->deliveries},
             {"journeys", &this->journeys},   {"journey_meta", &this->journey_meta}, {"templates", &this->templates},
             {"stats", &this->stats},         {"inbox", &this->inbox},           {"meta", &this->meta},
             {"log", &this->log},             {"snapseq", &this->snapseq},
             {"journey_versions", &this->journey_versions}, {"audit", &this->audit},
             {"touches", &this->touches},     {"conversions", &this->conversions},
             {"outcome_index", &this->outcome_index}, {"results", &this->results},
             {"outcome_pending", &this->outcome_pending}};
  for (auto& d : dbs)
    if ((rc = mdb_dbi_open(txn, d.name, MDB_CREATE, d.dbi))) {
      mdb_txn_abort(txn);
      return lmdb_error("mdb_dbi_open", rc);
    }
  MDB_val k = val("outbox_seq"), v;
  if (mdb_get(txn, this->meta, &k, &v) == 0 && v.mv_size == 8)
    this->outbox_seq = from_be64(static_cast<const char*>(v.mv_data));
  k = val("audit_seq");
  if (mdb_get(txn, this->meta, &k, &v) == 0 && v.mv_size == 8)
    this->audit_seq = from_be64(static_cast<const char*>(v.mv_data));
  k = val("log_seq");
  if (mdb_get(txn, this->meta, &k, &v) == 0 && v.mv_size == 8)
    this->log_seq = from_be64(static_cast<const char*>(v.mv_data));
  k = val("outcome_seq");
  if (mdb_get(txn, this->meta, &k, &v) == 0 && v.mv_size == 8)
    this->outcome_seq = from_be64(static_cast<const char*>(v.mv_data));
  MDB_cursor* cur = nullptr;
  if (mdb_cursor_open(txn, this->log, &cur) == 0) {
    if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
      this->log_seq = std::max(this->log_seq, from_be64(static_cast<const char*>(k.mv_data)));
    mdb_cursor_close(cur);
  }
  std::map<std::string, uint64_t> per_channel;
  if (mdb_cursor_open(txn, this->outbox, &cur) == 0) {
    for (int c = mdb_cursor_get(cur, &k, &v, MDB_FIRST); c == 0; c = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
      ++per_channel[outbox_channel(k)];
    mdb_cursor_close(cur);
  }
  {
    std::lock_guard<std::mutex> g(this->outbox_mu);
    this->outbox_entries = std::move(per_channel);
  }
  if ((rc = upgrade_outcome_layout(txn, *this)) || (rc = index_pending(txn, *this, 0))) {
    mdb_txn_abort(txn);
    return lmdb_error("outcome layout", rc);
  }
  MDB_stat ms;
  if (mdb_stat(txn, this->log, &ms) == 0)
    this->log_entries = ms.ms_entries;
  if (this->log_entries == 0)
    this->trim_ok = true;
  if ((rc = mdb_txn_commit(txn)))
    return lmdb_error("mdb_txn_commit", rc);
  return std::nullopt;
  }

  // RAII read transaction.
  struct Read {
    std::shared_lock<std::shared_mutex> lock;  // taken before env is read: scrub() swaps it
    MDB_txn* txn = nullptr;
    explicit Read(const Impl& d) : lock(d.swap_mu) {
      if (mdb_txn_begin(d.env, nullptr, MDB_RDONLY, &txn) != 0)
        txn = nullptr;
    }
    ~Read() {
      if (txn)
        mdb_txn_abort(txn);
    }
  };

  /// Calls fn(key after prefix, value) for every key of `dbi` starting with
  /// `prefix`, in key order, in one read transaction.
  void scan_prefix(MDB_dbi dbi, const std::string& prefix,
                   const std::function<void(const std::string&, const MDB_val&)>& fn) const {
    Read r(*this);
    MDB_cursor* cur;
    if (!r.txn || mdb_cursor_open(r.txn, dbi, &cur))
      return;
    MDB_val k = val(prefix), v;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      std::string key = str(k);
      if (key.compare(0, prefix.size(), prefix) != 0)
        break;
      fn(key.substr(prefix.size()), v);
    }
    mdb_cursor_close(cur);
  }

  std::optional<std::string> get(MDB_dbi dbi, const std::string& key) const {
    Read r(*this);
    if (!r.txn)
      return std::nullopt;
    MDB_val k = val(key), v;
    if (mdb_get(r.txn, dbi, &k, &v) != 0)
      return std::nullopt;
    return str(v);
  }
};

#include "store/store_outcomes.inc"

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::open(const std::string& dir, size_t map_size_mb) {
  auto impl = std::make_unique<Impl>();
  std::string path = dir + "/lmdb";
  ::mkdir(dir.c_str(), 0755);
  ::mkdir(path.c_str(), 0755);
  impl->map_size_mb = map_size_mb;
  impl->dir = path;
  if (auto e = impl->open_env(path))
    return *e;
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

bool Store::Impl::take_fault(const Batch& b) {
  if (!fault_armed.load(std::memory_order_acquire))
    return false;
  std::lock_guard<std::mutex> g(fault_mu);
  for (auto& w : b.customers)
    if (w.customer == fault_customer) {
      fault_armed.store(false, std::memory_order_release);
      return true;
    }
  return false;
}

void Store::fail_next_commit_of(const std::string& customer) {
  std::lock_guard<std::mutex> g(impl_->fault_mu);
  impl_->fault_customer = customer;
  impl_->fault_armed.store(true, std::memory_order_release);
}

Result<CommitResult> Store::commit(const Batch& b) {
  auto& d = *impl_;
  if (d.take_fault(b))
    return make_error("fault_injected", "injected commit failure (test)");
  std::shared_lock<std::shared_mutex> lock(d.swap_mu);
  CommitResult res;
  MDB_txn* txn;
  int rc = mdb_txn_begin(d.env, nullptr, 0, &txn);
  if (rc)
    return lmdb_error("mdb_txn_begin", rc);
  uint64_t seq = d.outbox_seq;
  auto fail = [&](const char* what, int code) -> Result<CommitResult> {
    mdb_txn_abort(txn);
    return lmdb_error(what, code);
  };
  auto put = [&](MDB_dbi dbi, const std::string& key, const std::string& value) {
    return put_value(txn, dbi, key, value);
  };
  auto del = [&](MDB_dbi dbi, const std::string& key) {
    MDB_val k = val(key);
    int r = mdb_del(txn, dbi, &k, nullptr);
    return r == MDB_NOTFOUND ? 0 : r;
  };
  std::map<std::string, int64_t> stat_add;
  std::map<std::string, int64_t> result_add;    // results key -> amount
  uint64_t oseq = d.outcome_seq;
  std::map<std::string, int64_t> outbox_delta;  // channel -> entries put minus deleted
  // A customer written more than once in a batch (several events in one group
  // commit) gets its last state only: the puts before it would be overwritten
  // in the same transaction anyway.
  std::unordered_map<std::string_view, size_t> last_state;
  for (size_t i = 0; i < b.customers.size(); ++i)
    if (!b.customers[i].state_json.empty())
      last_state[b.customers[i].customer] = i;
  // The input log: what this commit does to the dirty map, applied only once
  // the transaction is durable (a failed commit changes nothing).
  uint64_t lseq = d.log_seq;
  struct LogOp {
    bool clear;
    std::string customer;
    uint64_t seq;
    bool stored;
  };
  std::vector<LogOp> log_ops;
  std::unordered_map<std::string_view, bool> appended;  // customers given a record in this batch
  uint64_t trimmed = 0;
  if (d.trim_ok) {
    // Trim the front of the log behind the oldest uncovered input.
    uint64_t keep_from = d.dirty_by_seq.empty() ? d.log_seq + 1 : d.dirty_by_seq.begin()->first;
    MDB_cursor* cur;
    if ((rc = mdb_cursor_open(txn, d.log, &cur)))
      return fail("log cursor", rc);
    MDB_val k, v;
    // At most about twice what this commit appends: the log catches up on
    // its trim without one commit deleting a long stretch (ack latency).
    const uint64_t trim_max = 256 + 2 * b.customers.size();
    auto behind = [&](const MDB_val& key) {
      return key.mv_size == 8 && from_be64(static_cast<const char*>(key.mv_data)) < keep_from;
    };
    int crc = delete_while(cur, mdb_cursor_get(cur, &k, &v, MDB_FIRST), behind, trim_max, trimmed);
    mdb_cursor_close(cur);
    if (crc)
      return fail("log trim", crc);
  }
  for (size_t i = 0; i < b.customers.size(); ++i) {
    const CustomerWrite& w = b.customers[i];
    for (auto& id : w.erase_customers) {
      if ((rc = del(d.customers, id)))
        return fail("erase customer", rc);
      // Its logged inputs are covered (they live on in the merged state).
      if ((rc = put(d.snapseq, id, be64(lseq))))
        return fail("put snapseq", rc);
      log_ops.push_back(LogOp{true, id, 0, true});
    }
    for (auto& from : w.aliases_from)
      if ((rc = put(d.aliases, from, w.customer)))
        return fail("put alias", rc);
    for (auto& k : w.meta_erase)
      if ((rc = del(d.meta, k)))
        return fail("del meta", rc);
    auto ls = last_state.find(w.customer);
    if (!w.state_json.empty() && ls->second == i) {
      // The state and the log seq it covers in one put, written in place.
      MDB_val k = val(w.customer), v{9 + w.state_json.size(), nullptr};
      if ((rc = mdb_put(txn, d.customers, &k, &v, MDB_RESERVE)))
        return fail("put customer", rc);
      auto* out = static_cast<char*>(v.mv_data);
      out[0] = kStateTag;
      std::string seq_bytes = be64(lseq);
      std::memcpy(out + 1, seq_bytes.data(), 8);
      std::memcpy(out + 9, w.state_json.data(), w.state_json.size());
      log_ops.push_back(LogOp{true, w.customer, 0, true});
      ++res.customers_written;
    } else if (!w.log_input.empty() && (ls == last_state.end() || ls->second < i)) {
      // (inputs before a later snapshot in this batch are covered by it)
      bool stored = w.stored != CustomerWrite::Stored::no;
      if (w.stored == CustomerWrite::Stored::unknown && !d.dirty.count(w.customer) && !appended.count(w.customer)) {
        MDB_val k = val(w.customer), v;
        stored = mdb_get(txn, d.customers, &k, &v) == 0;
      }
      appended[w.customer] = true;
      ++lseq;
      std::string key = be64(lseq), value;
      value.reserve(w.customer.size() + 1 + w.log_input.size());
      value.append(w.customer).push_back('\0');
      value.append(w.log_input);
      MDB_val k = val(key), v = val(value);
      if ((rc = mdb_put(txn, d.log, &k, &v, MDB_APPEND)))
        return fail("append log", rc);
      log_ops.push_back(LogOp{false, w.customer, lseq, stored});
    }
    for (auto& [mid, at] : w.dedup_ids)
      if ((rc = put(d.dedup, w.customer + '\0' + mid, be64(static_cast<uint64_t>(at)))))
        return fail("put dedup", rc);
    // Sets before clears: timer ids are unique per customer, so a timer set and
    // cleared by the same trigger (an instance that left at once) is gone after.
    for (auto& t : w.timers_set) {
      if ((rc = put(d.timers, timer_key(t), "")))
        return fail("put timer", rc);
      if (res.min_timer_due == 0 || t.due < res.min_timer_due)
        res.min_timer_due = t.due;
    }
    for (auto& t : w.timers_cleared) {
      if ((rc = del(d.timers, timer_key(t))))
        return fail("del timer", rc);
      res.timers_deleted.push_back(t);
    }
    for (auto& dl : w.deliveries) {
      ++seq;
      if ((rc = put(d.outbox, dl.channel + '\0' + be64(seq), json::serialize(dl.to_json()))))
        return fail("put outbox", rc);
      json::object st{{"status", "pending"}, {"channel", dl.channel}, {"attempts", 0},
                      {"at", format_rfc3339(dl.at)}, {"customer", dl.customer}};
      put_engagement_fields(st, dl);
      if ((rc = put(d.deliveries, dl.id, json::serialize(st))))
        return fail("put delivery", rc);
      ++res.outbox_added[dl.channel];
      ++outbox_delta[dl.channel];
    }
    for (auto& s : w.stats)
      stat_add[s.journey + '\0' + std::to_string(s.version) + '\0' + s.step + '\0' + s.counter] += s.n;
    if ((rc = put_outcomes(txn, d, w, oseq, result_add)))
      return fail("put outcomes", rc);
  }
  for (auto& u : b.deliveries) {
    // An update whose outbox entry is gone (its customer was erased while the
    // gateway held the entry) records nothing: no status, inbox or stats.
    std::string okey = u.channel + '\0' + be64(u.seq);
    MDB_val ok = val(okey), ov;
    rc = u.final ? mdb_del(txn, d.outbox, &ok, nullptr) : mdb_get(txn, d.outbox, &ok, &ov);
    if (rc == MDB_NOTFOUND)
      continue;
    if (rc)
      return fail("del outbox", rc);
    if (u.final)
      --outbox_delta[u.channel];
    if (u.final && !u.journey.empty())
      stat_add[u.journey + '\0' + std::to_string(u.version) + '\0' + u.step + '\0' + "delivery:" + u.status] += 1;
    if (u.final && u.owes_event && (u.status == "delivered" || u.status == "failed" || u.status == "dead") &&
        (rc = put(d.meta, status_event_key(u.id), u.status)))
      return fail("put status event", rc);
    json::object st = read_object(txn, d.deliveries, u.id);
    st["status"] = u.status;
    st["channel"] = u.channel;
    st["attempts"] = u.attempts;
    if (!u.detail.empty())
      st["detail"] = u.detail;
    if (u.retry_at != 0 && !u.final)
      st["retry_at"] = u.retry_at;
    else
      st.erase("retry_at");
    if ((rc = put(d.deliveries, u.id, json::serialize(st))))
      return fail("put delivery status", rc);
    if (!u.inbox_json.empty() && (rc = put(d.inbox, u.inbox_customer + '\0' + be64(u.seq), u.inbox_json)))
      return fail("put inbox", rc);
  }
  for (auto& [key, n] : stat_add) {
    MDB_val k = val(key), v;
    int64_t cur = 0;
    if (mdb_get(txn, d.stats, &k, &v) == 0 && v.mv_size == 8)
      cur = static_cast<int64_t>(from_be64(static_cast<const char*>(v.mv_data)));
    if ((rc = put(d.stats, key, be64(static_cast<uint64_t>(cur + n)))))
      return fail("put stats", rc);
  }
  for (auto& [key, n] : result_add)
    if ((rc = add_counter(txn, d.results, key, n)))
      return fail("put results", rc);
  for (auto& j : b.journeys) {
    if (j.version > 0 && !j.json.empty() && (rc = put(d.journeys, j.id + '\0' + be32(j.version), j.json)))
      return fail("put journey", rc);
    if (j.version > 0 && !j.info.empty() && (rc = put(d.journey_versions, j.id + '\0' + be32(j.version), j.info)))
      return fail("put journey version", rc);
    json::object meta = read_object(txn, d.journey_meta, j.id);
    if (j.version > 0 && !j.json.empty())
      meta["latest"] = j.version;
    if (!j.status.empty())
      meta["status"] = j.status;
    if (j.live >= 0)
      meta["live"] = j.live;
    if ((rc = put(d.journey_meta, j.id, json::serialize(meta))))
      return fail("put journey meta", rc);
  }
  for (auto& [id, js] : b.templates)
    if ((rc = put(d.templates, id, js)))
      return fail("put template", rc);
  for (auto& [k, v] : b.meta)
    if ((rc = put(d.meta, k, v)))
      return fail("put meta", rc);
  uint64_t aseq = d.audit_seq;
  for (auto& a : b.audit)
    if ((rc = put(d.audit, due_key(a.at) + be64(++aseq), a.json)))
      return fail("put audit", rc);
  if (aseq != d.audit_seq && (rc = put(d.meta, "audit_seq", be64(aseq))))
    return fail("put audit_seq", rc);
  for (auto& k : b.meta_erase)
    if ((rc = del(d.meta, k)))
      return fail("del meta", rc);
  if (seq != d.outbox_seq && (rc = put(d.meta, "outbox_seq", be64(seq))))
    return fail("put outbox_seq", rc);
  if (lseq != d.log_seq && (rc = put(d.meta, "log_seq", be64(lseq))))
    return fail("put log_seq", rc);
  if (oseq != d.outcome_seq && (rc = put(d.meta, "outcome_seq", be64(oseq))))
    return fail("put outcome_seq", rc);
  if (oseq != d.outcome_seq && (rc = index_pending(txn, d, kPendingDrainAt)))
    return fail("index pending outcomes", rc);
  std::lock_guard<std::mutex> counting(d.count_mu);
  if ((rc = mdb_txn_commit(txn)))
    return lmdb_error("mdb_txn_commit", rc);
  d.outbox_seq = seq;
  d.audit_seq = aseq;
  d.outcome_seq = oseq;
  d.outbox_add(outbox_delta);
  d.log_entries.fetch_add(lseq - d.log_seq, std::memory_order_relaxed);
  d.log_entries.fetch_sub(std::min<uint64_t>(trimmed, d.log_entries.load()), std::memory_order_relaxed);
  d.log_seq = lseq;
  for (auto& op : log_ops) {
    if (op.clear)
      d.clear_dirty(op.customer);
    else
      d.mark_dirty(op.customer, op.seq, op.stored);
  }
  return res;
}

size_t Store::prune_dedup(Millis before, size_t max) {
  auto& d = *impl_;
  std::shared_lock<std::shared_mutex> lock(d.swap_mu);
  MDB_txn* txn;
  if (mdb_txn_begin(d.env, nullptr, 0, &txn))
    return 0;
  MDB_cursor* cur;
  if (mdb_cursor_open(txn, d.dedup, &cur)) {
    mdb_txn_abort(txn);
    return 0;
  }
  // Resume where the last sweep stopped so each call does bounded work.
  std::string resume;
  {
    MDB_val k = val("dedup_sweep"), v;
    if (mdb_get(txn, d.meta, &k, &v) == 0)
      resume = str(v);
  }
  MDB_val k = val(resume), v;
  int rc = resume.empty() ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  size_t removed = 0, seen = 0;
  std::string last;
  while (rc == 0 && seen < max) {
    ++seen;
    last = str(k);
    if (v.mv_size == 8 && static_cast<Millis>(from_be64(static_cast<const char*>(v.mv_data))) < before) {
      mdb_cursor_del(cur, 0);
      ++removed;
      rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
      if (rc == 0 && str(k) == last)
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
      continue;
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  std::string next = rc == 0 ? str(k) : std::string();
  mdb_cursor_close(cur);
  MDB_val mk = val("dedup_sweep"), mv = val(next);
  mdb_put(txn, d.meta, &mk, &mv, 0);
  if (mdb_txn_commit(txn))
    return 0;
  return removed;
}

std::optional<std::string> Store::get_customer(const std::string& id) const {
  Impl::Read r(*impl_);
  if (!r.txn)
    return std::nullopt;
  MDB_val k = val(id), v;
  if (mdb_get(r.txn, impl_->customers, &k, &v) != 0)
    return std::nullopt;
  return std::string(split_state(v.mv_data, v.mv_size).json);
}

Store::CustomerLoad Store::load_customer(const std::string& id) const {
  CustomerLoad out;
  out.dedup_keys = true;  // unknown (read failed): the caller must ask LMDB
  Impl::Read r(*impl_);
  if (!r.txn)
    return out;
  MDB_val k = val(id), v;
  if (mdb_get(r.txn, impl_->customers, &k, &v) == 0)
    out.state = std::string(split_state(v.mv_data, v.mv_size).json);
  MDB_cursor* cur;
  if (mdb_cursor_open(r.txn, impl_->dedup, &cur))
    return out;
  const std::string prefix = id + '\0';
  MDB_val dk = val(prefix), dv;
  out.dedup_keys = mdb_cursor_get(cur, &dk, &dv, MDB_SET_RANGE) == 0 && dk.mv_size >= prefix.size() &&
                   std::memcmp(dk.mv_data, prefix.data(), prefix.size()) == 0;
  mdb_cursor_close(cur);
  return out;
}
std::optional<std::string> Store::resolve_alias(const std::string& id) const { return impl_->get(impl_->aliases, id); }
std::optional<std::string> Store::delivery_status(const std::string& id) const {
  return impl_->get(impl_->deliveries, id);
}
std::optional<std::string> Store::meta(const std::string& name) const { return impl_->get(impl_->meta, name); }

std::optional<Millis> Store::dedup_at(const std::string& customer, const std::string& message_id) const {
  auto v = impl_->get(impl_->dedup, customer + '\0' + message_id);
  if (!v || v->size() != 8)
    return std::nullopt;
  return static_cast<Millis>(from_be64(v->data()));
}

std::vector<TimerKey> Store::due_timers(Millis now, size_t max, const TimerKey* after) const {
  std::vector<TimerKey> out;
  Impl::Read r(*impl_);
  MDB_cursor* cur;
  if (!r.txn || mdb_cursor_open(r.txn, impl_->timers, &cur))
    return out;
  std::string start = after ? timer_key(*after) : std::string();
  MDB_val k = val(start), v;
  int rc = after ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  if (rc == 0 && after && str(k) == start)
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  while (rc == 0 && out.size() < max && k.mv_size >= 8) {
    auto t = parse_timer_key(k);
    if (t.due > now)
      break;
    out.push_back(std::move(t));
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  return out;
}

std::optional<Millis> Store::next_timer_due() const {
  Impl::Read r(*impl_);
  MDB_cursor* cur;
  if (!r.txn || mdb_cursor_open(r.txn, impl_->timers, &cur))
    return std::nullopt;
  MDB_val k, v;
  std::optional<Millis> out;
  if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0 && k.mv_size >= 8)
    out = due_from(static_cast<const char*>(k.mv_data));
  mdb_cursor_close(cur);
  return out;
}

namespace {
size_t entries(const Store::Impl& d, MDB_dbi dbi) {
  Store::Impl::Read r(d);
  MDB_stat st;
  if (!r.txn || mdb_stat(r.txn, dbi, &st))
    return 0;
  return st.ms_entries;
}
}  // namespace

size_t Store::timer_count() const { return entries(*impl_, impl_->timers); }
size_t Store::customer_count() const {
  // plus the customers whose inputs are all still in the log (no snapshot yet)
  std::lock_guard<std::mutex> counting(impl_->count_mu);
  auto unstored = impl_->dirty_unstored.load(std::memory_order_relaxed);
  return entries(*impl_, impl_->customers) + static_cast<size_t>(std::max<int64_t>(0, unstored));
}

size_t Store::outcome_count(OutcomeKind kind) const {
  return entries(*impl_, kind == OutcomeKind::touch ? impl_->touches : impl_->conversions);
}

uint64_t Store::log_records() const { return impl_->log_entries.load(std::memory_order_relaxed); }

void Store::log_recovered() { impl_->trim_ok = true; }

Result<size_t> Store::erase_meta_range(const std::string& from, const std::string& to) {
  auto& d = *impl_;
  std::shared_lock<std::shared_mutex> lock(d.swap_mu);
  MDB_txn* txn;
  int rc = mdb_txn_begin(d.env, nullptr, 0, &txn);
  if (rc)
    return lmdb_error("mdb_txn_begin", rc);
  MDB_cursor* cur;
  if ((rc = mdb_cursor_open(txn, d.meta, &cur))) {
    mdb_txn_abort(txn);
    return lmdb_error("mdb_cursor_open", rc);
  }
  uint64_t removed = 0;
  MDB_val k = val(from), v;
  rc = delete_while(cur, mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE),
                    [&](const MDB_val& key) { return str(key) < to; }, UINT64_MAX, removed);
  mdb_cursor_close(cur);
  if (rc) {
    mdb_txn_abort(txn);
    return lmdb_error("erase meta", rc);
  }
  if ((rc = mdb_txn_commit(txn)))
    return lmdb_error("mdb_txn_commit", rc);
  return removed;
}

bool Store::dirty(const std::string& customer) const { return impl_->dirty.count(customer) > 0; }

std::vector<std::string> Store::oldest_dirty(uint64_t records, size_t max) const {
  auto& d = *impl_;
  std::vector<std::string> out;
  for (auto& [seq, c] : d.dirty_by_seq) {
    if (out.size() >= max || seq + records >= d.log_seq)
      break;
    out.push_back(c);
  }
  return out;
}

std::vector<LogRecord> Store::unsnapshotted(const std::string* only) const {
  auto& d = *impl_;
  std::vector<LogRecord> out;
  uint64_t from = 0;
  if (only) {
    auto it = d.dirty.find(*only);
    if (it == d.dirty.end())
      return out;
    from = it->second.first;
  }
  Impl::Read r(d);
  if (!r.txn)
    return out;
  MDB_cursor* cur;
  if (mdb_cursor_open(r.txn, d.log, &cur))
    return out;
  std::unordered_map<std::string, uint64_t> covered;  // customer -> snapseq
  std::string from_key = be64(from);
  MDB_val k = val(from_key), v;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 8)
      continue;
    auto* p = static_cast<const char*>(v.mv_data);
    auto* z = static_cast<const char*>(std::memchr(p, '\0', v.mv_size));
    if (!z)
      continue;
    std::string customer(p, z);
    if (only && customer != *only)
      continue;
    uint64_t seq = from_be64(static_cast<const char*>(k.mv_data));
    auto c = covered.find(customer);
    if (c == covered.end()) {
      // Covered up to the stored state's seq, or a merge's tombstone in snapseq.
      uint64_t snap = 0;
      MDB_val sk = val(customer), sv;
      if (mdb_get(r.txn, d.customers, &sk, &sv) == 0)
        snap = split_state(sv.mv_data, sv.mv_size).snapseq;
      if (mdb_get(r.txn, d.snapseq, &sk, &sv) == 0 && sv.mv_size == 8)
        snap = std::max(snap, from_be64(static_cast<const char*>(sv.mv_data)));
      c = covered.emplace(customer, snap).first;
    }
    if (seq <= c->second)
      continue;
    out.push_back(LogRecord{seq, std::move(customer), std::string(z + 1, p + v.mv_size)});
  }
  mdb_cursor_close(cur);
  return out;
}

std::vector<std::pair<std::string, std::string>> Store::meta_prefixed(const std::string& prefix, size_t max) const {
  std::vector<std::pair<std::string, std::string>> out;
  Impl::Read r(*impl_);
  MDB_cursor* cur;
  if (!r.txn || mdb_cursor_open(r.txn, impl_->meta, &cur))
    return out;
  MDB_val k = val(prefix), v;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && out.size() < max) {
    std::string key = str(k);
    if (key.compare(0, prefix.size(), prefix) != 0)
      break;
    out.emplace_back(std::move(key), str(v));
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  return out;
}

size_t Store::meta_count(const std::string& prefix) const {
  size_t n = 0;
  Impl::Read r(*impl_);
  MDB_cursor* cur;
  if (!r.txn || mdb_cursor_open(r.txn, impl_->meta, &cur))
    return 0;
  MDB_val k = val(prefix), v;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && k.mv_size >= prefix.size() && std::memcmp(k.mv_data, prefix.data(), prefix.size()) == 0) {
    ++n;
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  return n;
}

std::vector<OutboxRecord> Store::outbox_scan(const std::string& channel, uint64_t after_seq, size_t max) const {
  std::vector<OutboxRecord> out;
  Impl::Read r(*impl_);
  MDB_cursor* cur;
  if (!r.txn || mdb_cursor_open(r.txn, impl_->outbox, &cur))
    return out;
  std::string prefix = channel + '\0';
  std::string start = prefix + be64(after_seq + 1);
  MDB_val k = val(start), v;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  while (rc == 0 && out.size() < max) {
    std::string key = str(k);
    if (key.size() != prefix.size() + 8 || key.compare(0, prefix.size(), prefix) != 0)
      break;
    out.push_back(OutboxRecord{channel, from_be64(key.data() + prefix.size()), str(v)});
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  return out;
}

size_t Store::outbox_depth(const std::string& channel) const {
  std::lock_guard<std::mutex> g(impl_->outbox_mu);
  auto it = impl_->outbox_entries.find(channel);
  return it == impl_->outbox_entries.end() ? 0 : it->second;
}

uint64_t Store::outbox_entries() const {
  std::lock_guard<std::mutex> g(impl_->outbox_mu);
  uint64_t n = 0;
  for (auto& [channel, c] : impl_->outbox_entries)
    n += c;
  return n;
}

bool Store::outbox_has(const std::string& channel, uint64_t seq) const {
  return impl_->get(impl_->outbox, channel + '\0' + be64(seq)).has_value();
}

std::vector<JourneyRecord> Store::journeys() const {
  std::vector<JourneyRecord> out;
  Impl::Read r(*impl_);
  MDB_cursor* cur;
  if (!r.txn || mdb_cursor_open(r.txn, impl_->journey_meta, &cur))
    return out;
  MDB_val k, v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    JourneyRecord j;
    j.id = str(k);
    std::error_code ec;
    auto meta = parse_stored_json(str(v), ec);
    if (ec || !meta.is_object())
      continue;
    if (auto* l = meta.get_object().if_contains("latest"); l && l->is_int64())
      j.latest = static_cast<int>(l->get_int64());
    if (auto* s = meta.get_object().if_contains("status"); s && s->is_string())
      j.status = std::string(s->get_string());
    if (auto* l = meta.get_object().if_contains("live"); l && l->is_int64())
      j.live = static_cast<int>(l->get_int64());
    for (int ver = 1; ver <= j.latest; ++ver) {
      std::string key = j.id + '\0' + be32(ver);
      MDB_val jk = val(key), jv;
      j.versions.push_back(mdb_get(r.txn, impl_->journeys, &jk, &jv) == 0 ? str(jv) : std::string());
    }
    out.push_back(std::move(j));
  }
  mdb_cursor_close(cur);
  return out;
}

std::map<int, std::string> Store::journey_versions(const std::string& id) const {
  std::map<int, std::string> out;
  impl_->scan_prefix(impl_->journey_versions, id + '\0', [&](const std::string& rest, const MDB_val& v) {
    if (rest.size() == 4)  // version(4B)
      out[static_cast<int>(from_be64((std::string(4, '\0') + rest).data()))] = str(v);
  });
  return out;
}

namespace {

/// An audit page cursor: the last key scanned as hex (16 bytes: at, seq).
std::string hex_of(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<std::string> bytes_of_hex(const std::string& hex) {
  if (hex.size() != 32)
    return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nib = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    int hi = nib(hex[i]), lo = nib(hex[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

}  // namespace

AuditPage Store::audit(Millis from, Millis to, const std::string& cursor, size_t limit, size_t scan_max,
                       const std::function<bool(const std::string&)>& keep) const {
  AuditPage page;
  Impl::Read r(*impl_);
  MDB_cursor* cur;
  if (!r.txn || mdb_cursor_open(r.txn, impl_->audit, &cur))
    return page;
  std::string start = due_key(from);
  auto after = bytes_of_hex(cursor);
  if (after && *after >= start)
    start = *after;
  const std::string end = due_key(to);
  MDB_val k = val(start), v;
  size_t scanned = 0;
  std::string last;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    std::string key = str(k);
    if (after && key == *after)
      continue;
    if (key.size() != 16 || key.substr(0, 8) >= end)
      break;
    if (page.entries.size() >= limit || scanned >= scan_max) {
      page.next = hex_of(last);
      break;
    }
    ++scanned;
    last = key;
    std::string entry = str(v);
    if (keep(entry))
      page.entries.push_back(std::move(entry));
  }
  mdb_cursor_close(cur);
  return page;
}

std::vector<std::pair<std::string, std::string>> Store::templates() const {
  std::vector<std::pair<std::string, std::string>> out;
  Impl::Read r(*impl_);
  MDB_cursor* cur;
  if (!r.txn || mdb_cursor_open(r.txn, impl_->templates, &cur))
    return out;
  MDB_val k, v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
    out.emplace_back(str(k), str(v));
  mdb_cursor_close(cur);
  return out;
}

std::map<std::string, int64_t> Store::journey_stats(const std::string& journey) const {
  std::map<std::string, int64_t> out;
  impl_->scan_prefix(impl_->stats, journey + '\0', [&](const std::string& rest, const MDB_val& v) {
    if (v.mv_size == 8)
      out[rest] = static_cast<int64_t>(from_be64(static_cast<const char*>(v.mv_data)));
  });
  return out;
}

std::vector<std::string> Store::inbox_list(const std::string& customer, size_t max) const {
  std::vector<std::string> out;
  Impl::Read r(*impl_);
  MDB_cursor* cur;
  if (!r.txn || mdb_cursor_open(r.txn, impl_->inbox, &cur))
    return out;
  // Position just past the customer's last key (prefix + 0xff...), then walk back.
  std::string prefix = customer + '\0';
  std::string past = prefix + std::string(9, '\xff');
  MDB_val k = val(past), v;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
  for (; rc == 0 && out.size() < max; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
    std::string key = str(k);
    if (key.size() != prefix.size() + 8 || key.compare(0, prefix.size(), prefix) != 0)
      break;
    out.push_back(str(v));
  }
  mdb_cursor_close(cur);
  return out;
}

// ---- erasure --------------------------------------------------------------------

namespace {

bool has_prefix(const std::string& key, const std::string& prefix) {
  return key.size() >= prefix.size() && key.compare(0, prefix.size(), prefix) == 0;
}

/// The "customer" field of a JSON record, or "".
std::string customer_field(const MDB_val& v) {
  std::error_code ec;
  auto j = parse_stored_json(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size), ec);
  if (ec || !j.is_object())
    return {};
  auto* c = j.get_object().if_contains("customer");
  return c && c->is_string() ? std::string(c->get_string()) : std::string();
}

/// Deletes every entry of `dbi` for which `doomed(key, value)` holds.
int delete_where(MDB_txn* txn, MDB_dbi dbi, const std::function<bool(const std::string&, const MDB_val&)>& doomed,
                 size_t& removed) {
  MDB_cursor* cur;
  int rc = mdb_cursor_open(txn, dbi, &cur);
  if (rc)
    return rc;
  MDB_val k, v;
  rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  while (rc == 0) {
    if (doomed(str(k), v)) {
      if ((rc = mdb_cursor_del(cur, 0)))
        break;
      ++removed;
      // After a delete the cursor already points at the next entry.
      rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
      if (rc == MDB_NOTFOUND || rc == EINVAL)
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
      continue;
    }
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/// Overwrites a file with zeros (then syncs) so its old bytes are gone from
/// the blocks it held, not only unlinked.
void zero_file(const std::string& path) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  if (!f)
    return;
  f.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(f.tellg());
  f.seekp(0);
  std::string zeros(1 << 20, '\0');
  for (size_t done = 0; done < size; done += zeros.size())
    f.write(zeros.data(), static_cast<std::streamsize>(std::min(zeros.size(), size - done)));
  f.flush();
  f.close();
  if (FILE* fp = std::fopen(path.c_str(), "r+")) {
    ::fsync(::fileno(fp));
    std::fclose(fp);
  }
}

}  // namespace

Result<size_t> Store::erase_customer(const std::string& id, const AuditPut* audit) {
  auto& d = *impl_;
  std::shared_lock<std::shared_mutex> lock(d.swap_mu);
  MDB_txn* txn;
  int rc = mdb_txn_begin(d.env, nullptr, 0, &txn);
  if (rc)
    return lmdb_error("mdb_txn_begin", rc);
  size_t removed = 0;
  // Every id that resolves to this customer (merged anonymous ids) goes too.
  std::set<std::string> ids{id};
  rc = delete_where(txn, d.aliases, [&](const std::string& key, const MDB_val& v) {
    if (str(v) != id)
      return false;
    ids.insert(key);
    return true;
  }, removed);
  auto is_ours = [&](const std::string& c) { return ids.count(c) > 0; };
  auto prefixed = [&](const std::string& key, size_t offset) {
    for (auto& i : ids)
      if (key.size() > offset && has_prefix(key.substr(offset), i + '\0'))
        return true;
    return false;
  };
  if (!rc)
    rc = delete_where(txn, d.customers, [&](const std::string& key, const MDB_val&) { return is_ours(key); }, removed);
  if (!rc)
    rc = delete_where(txn, d.dedup, [&](const std::string& key, const MDB_val&) { return prefixed(key, 0); }, removed);
  if (!rc)
    rc = delete_where(txn, d.inbox, [&](const std::string& key, const MDB_val&) { return prefixed(key, 0); }, removed);
  if (!rc)
    rc = delete_where(txn, d.timers, [&](const std::string& key, const MDB_val&) { return prefixed(key, 8); }, removed);
  std::map<std::string, int64_t> outbox_delta;
  if (!rc)
    rc = delete_where(txn, d.outbox, [&](const std::string& key, const MDB_val& v) {
      if (!is_ours(customer_field(v)))
        return false;
      --outbox_delta[key.substr(0, key.find('\0'))];
      return true;
    }, removed);
  std::vector<std::string> delivery_ids;
  if (!rc)
    rc = delete_where(txn, d.deliveries, [&](const std::string& key, const MDB_val& v) {
      if (!is_ours(customer_field(v)))
        return false;
      delivery_ids.push_back(key);
      return true;
    }, removed);
  for (size_t i = 0; !rc && i < delivery_ids.size(); ++i) {  // their status events are no longer owed
    const std::string key = status_event_key(delivery_ids[i]);
    MDB_val k = val(key);
    rc = mdb_del(txn, d.meta, &k, nullptr);
    rc = rc == MDB_NOTFOUND ? 0 : rc;
  }
  // The input log holds raw events: the customer's records go too.
  size_t log_removed = 0;
  if (!rc)
    rc = delete_where(txn, d.log, [&](const std::string&, const MDB_val& v) {
      auto* p = static_cast<const char*>(v.mv_data);
      auto* z = static_cast<const char*>(std::memchr(p, '\0', v.mv_size));
      return z && is_ours(std::string(p, z));
    }, log_removed);
  if (!rc)
    rc = delete_where(txn, d.snapseq, [&](const std::string& key, const MDB_val&) { return is_ours(key); }, removed);
  uint64_t aseq = d.audit_seq;
  if (!rc && audit) {  // the erasure's audit entry, with it
    std::string key = due_key(audit->at) + be64(++aseq), seq = be64(aseq);
    MDB_val k = val(key), v = val(audit->json), sk = val("audit_seq"), sv = val(seq);
    rc = mdb_put(txn, d.audit, &k, &v, 0);
    if (!rc)
      rc = mdb_put(txn, d.meta, &sk, &sv, 0);
  }
  for (auto it = ids.begin(); !rc && it != ids.end(); ++it)
    rc = erase_outcomes(txn, d, *it, removed);
  if (rc) {
    mdb_txn_abort(txn);
    return lmdb_error("erase", rc);
  }
  std::lock_guard<std::mutex> counting(d.count_mu);
  if ((rc = mdb_txn_commit(txn)))
    return lmdb_error("mdb_txn_commit", rc);
  d.audit_seq = aseq;
  for (auto& i : ids)
    d.clear_dirty(i);
  d.outbox_add(outbox_delta);
  d.log_entries.fetch_sub(std::min<uint64_t>(log_removed, d.log_entries.load()), std::memory_order_relaxed);
  return removed + log_removed;
}

Result<bool> Store::scrub() {
  auto& d = *impl_;
  std::string fresh = d.dir + ".scrub", old = d.dir + ".old";
  std::filesystem::remove_all(fresh);
  std::filesystem::remove_all(old);
  std::filesystem::create_directories(fresh);
  // A compacting copy holds live pages only: freed pages, which still carry
  // deleted values, are not copied. Writers cannot run meanwhile (the caller
  // is the only writer); readers go on.
  int rc = mdb_env_copy2(d.env, fresh.c_str(), MDB_CP_COMPACT);
  if (rc)
    return lmdb_error("mdb_env_copy2", rc);
  std::unique_lock<std::shared_mutex> lock(d.swap_mu);
  mdb_env_close(d.env);
  d.env = nullptr;
  std::error_code ec;
  std::filesystem::rename(d.dir, old, ec);
  if (!ec)
    std::filesystem::rename(fresh, d.dir, ec);
  if (ec)
    return make_error("store_error", "scrub: swapping the environment failed: " + ec.message());
  if (auto e = d.open_env(d.dir))
    return *e;
  zero_file(old + "/data.mdb");
  std::filesystem::remove_all(old, ec);
  return true;
}

}  // namespace waymark

// ---- partition hand-off (PRODUCT.md §9) ----------------------------------------------

namespace waymark {

namespace {

/// The customer key a record of database `db` belongs to ("" = none).
std::string handoff_owner(uint8_t db, const MDB_val& k, const MDB_val& v) {
  std::string key = str(k);
  switch (db) {
    case HandoffRecord::customers:
    case HandoffRecord::aliases:
      return key;
    case HandoffRecord::dedup:
    case HandoffRecord::inbox:
      return key.substr(0, key.find('\0'));
    case HandoffRecord::timers:
      return key.size() > 8 ? key.substr(8, key.find('\0', 8) - 8) : std::string();
    case HandoffRecord::touches:
    case HandoffRecord::conversions:  // at(8B) seq(8B) customer
      return key.size() > 16 ? key.substr(16) : std::string();
    case HandoffRecord::outcome_index:  // customer \0 kind at seq
      return key.substr(0, key.find('\0'));
    default:
      return customer_field(v);
  }
}

MDB_dbi handoff_dbi(const Store::Impl& d, uint8_t db) {
  switch (db) {
    case HandoffRecord::customers: return d.customers;
    case HandoffRecord::aliases: return d.aliases;
    case HandoffRecord::dedup: return d.dedup;
    case HandoffRecord::timers: return d.timers;
    case HandoffRecord::inbox: return d.inbox;
    case HandoffRecord::deliveries: return d.deliveries;
    case HandoffRecord::touches: return d.touches;
    case HandoffRecord::conversions: return d.conversions;
    case HandoffRecord::outcome_index: return d.outcome_index;
    default: return d.outbox;
  }
}

}  // namespace

namespace {
/// The partitions of the customers with outcome records (one seek per
/// customer of the index `customer \0 ...`), among those `foreign` is true for.
void held_by_index(MDB_txn* txn, MDB_dbi index, uint32_t partitions, const std::function<bool(uint32_t)>& foreign,
                   std::set<uint32_t>& out) {
  MDB_cursor* cur;
  if (mdb_cursor_open(txn, index, &cur))
    return;
  MDB_val k, v;
  for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;) {
    std::string key = str(k);
    const std::string customer = key.substr(0, key.find('\0'));
    if (foreign(cluster::partition_of(customer, partitions)))
      out.insert(cluster::partition_of(customer, partitions));
    std::string past = customer + '\x01';
    k = val(past);
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  }
  mdb_cursor_close(cur);
}
}  // namespace

std::set<uint32_t> Store::held_partitions(uint32_t partitions, const std::function<bool(uint32_t)>& foreign) const {
  std::set<uint32_t> out;
  Impl::Read r(*impl_);
  if (!r.txn)
    return out;
  for (uint8_t db = 0; db < HandoffRecord::end; ++db) {
    if (db == HandoffRecord::touches || db == HandoffRecord::conversions)
      continue;  // every record has an index entry: the index names their customers
    if (db == HandoffRecord::outcome_index) {
      held_by_index(r.txn, impl_->outcome_index, partitions, foreign, out);
      continue;
    }
    MDB_cursor* cur;
    if (mdb_cursor_open(r.txn, handoff_dbi(*impl_, db), &cur))
      continue;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      auto owner = handoff_owner(db, k, v);
      if (owner.empty())
        continue;
      auto p = cluster::partition_of(owner, partitions);
      if (db == HandoffRecord::aliases) {
        auto pv = cluster::partition_of(str(v), partitions);
        if (foreign(p) && foreign(pv))
          out.insert({p, pv});
        continue;
      }
      if (foreign(p))
        out.insert(p);
    }
    mdb_cursor_close(cur);
  }
  return out;
}

namespace {
/// Whether a record moves: its customer is moving; an alias record when
/// either id is moving and neither stays.
bool record_moves(uint8_t db, const std::string& owner, const MDB_val& v, const KeyTest& moving, const KeyTest& stays) {
  if (owner.empty())
    return false;
  if (db != HandoffRecord::aliases)
    return moving(owner);
  std::string into = str(v);
  return (moving(owner) || moving(into)) && !stays(owner) && !stays(into);
}
}  // namespace

Result<HandoffChunk> Store::export_chunk(const KeyTest& moving, const KeyTest& stays, const std::string& cursor,
                                         size_t max) const {
  HandoffChunk out;
  Impl::Read r(*impl_);
  if (!r.txn)
    return make_error("lmdb", "read transaction");
  uint8_t db = cursor.empty() ? 0 : static_cast<uint8_t>(cursor[0]);
  std::string after = cursor.empty() ? std::string() : cursor.substr(1);
  // Past the named databases (db == end): the index entries still waiting
  // in the pending table (keyed by seq, the index key as value) go as
  // index records.
  for (; db <= HandoffRecord::end; ++db, after.clear()) {
    const bool pending = db == HandoffRecord::end;
    MDB_cursor* cur;
    if (int rc = mdb_cursor_open(r.txn, pending ? impl_->outcome_pending : handoff_dbi(*impl_, db), &cur))
      return lmdb_error("mdb_cursor_open", rc);
    MDB_val k = val(after), v;
    int rc = after.empty() ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0 && !after.empty() && str(k) == after)
      rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      if (pending) {
        std::string ikey = str(v);
        if (moving(ikey.substr(0, ikey.find('\0'))))
          out.records.push_back(HandoffRecord{HandoffRecord::outcome_index, std::move(ikey), std::string()});
      } else if (record_moves(db, handoff_owner(db, k, v), v, moving, stays)) {
        HandoffRecord rec{db, str(k), str(v)};
        if (db == HandoffRecord::customers)
          rec.value = std::string(split_state(v.mv_data, v.mv_size).json);
        if (db == HandoffRecord::outbox)
          rec.key = outbox_channel(k);
        out.records.push_back(std::move(rec));
      } else {
        continue;
      }
      if (out.records.size() >= max) {
        out.next = std::string(1, static_cast<char>(db)) + str(k);
        mdb_cursor_close(cur);
        return out;
      }
    }
    mdb_cursor_close(cur);
  }
  return out;
}

Result<CommitResult> Store::import_chunk(const HandoffChunk& chunk) {
  auto& d = *impl_;
  std::shared_lock<std::shared_mutex> lock(d.swap_mu);
  CommitResult res;
  MDB_txn* txn;
  int rc = mdb_txn_begin(d.env, nullptr, 0, &txn);
  if (rc)
    return lmdb_error("mdb_txn_begin", rc);
  uint64_t seq = d.outbox_seq, oseq = d.outcome_seq;
  std::map<std::string, int64_t> outbox_delta;
  for (auto& rec : chunk.records) {
    std::string key = rec.key, value = rec.value;
    if (rec.db == HandoffRecord::customers) {
      value = std::string(1, kStateTag) + be64(d.log_seq) + rec.value;
    } else if (rec.db == HandoffRecord::outbox) {
      key = rec.key + '\0' + be64(++seq);
      ++outbox_delta[rec.key];
      ++res.outbox_added[rec.key];
    } else if ((rec.db == HandoffRecord::touches || rec.db == HandoffRecord::conversions) && rec.key.size() > 16) {
      oseq = std::max(oseq, from_be64(rec.key.data() + 8));  // this node's next records sort after
    } else if (rec.db == HandoffRecord::timers && rec.key.size() >= 8) {
      auto due = due_from(rec.key.data());
      if (res.min_timer_due == 0 || due < res.min_timer_due)
        res.min_timer_due = due;
    }
    MDB_val k = val(key), v = val(value);
    if ((rc = mdb_put(txn, handoff_dbi(d, rec.db), &k, &v, 0)))
      break;
    if (rec.db == HandoffRecord::customers)
      ++res.customers_written;
  }
  if (!rc && seq != d.outbox_seq)
    rc = put_value(txn, d.meta, "outbox_seq", be64(seq));
  if (!rc && oseq != d.outcome_seq)
    rc = put_value(txn, d.meta, "outcome_seq", be64(oseq));
  if (rc) {
    mdb_txn_abort(txn);
    return lmdb_error("import", rc);
  }
  std::lock_guard<std::mutex> counting(d.count_mu);
  if ((rc = mdb_txn_commit(txn)))
    return lmdb_error("mdb_txn_commit", rc);
  d.outbox_seq = seq;
  d.outcome_seq = oseq;
  d.outbox_add(outbox_delta);
  return res;
}

Result<size_t> Store::erase_moved(const KeyTest& moving, const KeyTest& stays) {
  auto& d = *impl_;
  std::shared_lock<std::shared_mutex> lock(d.swap_mu);
  MDB_txn* txn;
  int rc = mdb_txn_begin(d.env, nullptr, 0, &txn);
  if (rc)
    return lmdb_error("mdb_txn_begin", rc);
  size_t removed = 0;
  std::map<std::string, int64_t> outbox_delta;
  std::set<std::string> customers;
  rc = index_pending(txn, d, 0);  // the moved customers' waiting index entries go with the index
  for (uint8_t db = 0; db < HandoffRecord::end && !rc; ++db)
    rc = delete_where(txn, handoff_dbi(d, db), [&](const std::string& key, const MDB_val& v) {
      MDB_val k = val(key);
      auto owner = handoff_owner(db, k, v);
      if (!record_moves(db, owner, v, moving, stays))
        return false;
      if (db == HandoffRecord::outbox)
        --outbox_delta[key.substr(0, key.find('\0'))];
      if (db == HandoffRecord::customers)
        customers.insert(owner);
      return true;
    }, removed);
  size_t log_removed = 0;
  if (!rc)
    rc = delete_where(txn, d.log, [&](const std::string&, const MDB_val& v) {
      auto* p = static_cast<const char*>(v.mv_data);
      auto* z = static_cast<const char*>(std::memchr(p, '\0', v.mv_size));
      return z && moving(std::string_view(p, static_cast<size_t>(z - p)));
    }, log_removed);
  if (!rc)
    rc = delete_where(txn, d.snapseq, [&](const std::string& key, const MDB_val&) { return moving(key); }, removed);
  if (rc) {
    mdb_txn_abort(txn);
    return lmdb_error("erase moved", rc);
  }
  std::lock_guard<std::mutex> counting(d.count_mu);
  if ((rc = mdb_txn_commit(txn)))
    return lmdb_error("mdb_txn_commit", rc);
  for (auto& c : customers)
    d.clear_dirty(c);
  d.outbox_add(outbox_delta);
  d.log_entries.fetch_sub(std::min<uint64_t>(log_removed, d.log_entries.load()), std::memory_order_relaxed);
  return removed + log_removed;
}

}  // namespace waymark
